/* Pure helpers over raw Ethernet frames (no I/O). */
#ifndef LINKEM_FRAME_H
#define LINKEM_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* Length of the Ethernet (+ up to two VLAN tags), IPv4/IPv6 and TCP/UDP
 * headers at the start of f (cap bytes readable), or 0 if the frame is not
 * one of those or is too short to tell. */
uint32_t lk_frame_hdr_len(const uint8_t *f, size_t cap);

/* Bytes the frame occupies on the wire. A GSO super-frame (gso_size != 0) of
 * len bytes leaves as segments of gso_size payload bytes, each carrying its
 * own copy of the headers; the rate is charged for all of them. */
uint32_t lk_frame_wire_len(const uint8_t *f, size_t cap, uint32_t len,
			   uint32_t gso_size);

#endif
