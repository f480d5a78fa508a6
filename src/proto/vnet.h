/* hatun — TUN offloads in software (issue 4): the virtio-net header a TUN
 * device speaks with IFF_VNET_HDR, the split of a GSO "super-packet" read
 * from the TUN into packets that fit a QUIC DATAGRAM frame (TSO for TCP,
 * USO for UDP), and the opposite: coalescing consecutive TCP segments of
 * one flow into one super-packet for a single TUN write (GRO).
 *
 * Why: a TUN device costs one syscall per packet, about 0.24 M/s on this
 * machine (2.3 Gbit/s of 1228-byte packets).  With TUNSETOFFLOAD
 * (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 [| TUN_F_USO4 | TUN_F_USO6]) one
 * read returns up to 64 KiB of one TCP flow and one write takes as much.
 *
 * The header is read and written little-endian: the TUN module sets
 * TUNSETVNETLE so this holds on every host.  Pure: no I/O, no allocation.
 */
#ifndef HATUN_PROTO_VNET_H
#define HATUN_PROTO_VNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HT_VNET_HDR_LEN 10u

/* flags */
#define HT_VNET_F_NEEDS_CSUM 1u
#define HT_VNET_F_DATA_VALID 2u
/* gso_type */
#define HT_VNET_GSO_NONE 0u
#define HT_VNET_GSO_TCPV4 1u
#define HT_VNET_GSO_UDP 3u /* UFO: IP fragmentation, not supported */
#define HT_VNET_GSO_TCPV6 4u
#define HT_VNET_GSO_UDP_L4 5u
#define HT_VNET_GSO_ECN 0x80u

#define HT_VNET_MAX_SEGS 64u /* what the kernel builds at most (64 KiB / 1 KiB) */

struct ht_vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

/* HT_OK, or HT_ERR_TRUNCATED (len < HT_VNET_HDR_LEN). */
int ht_vnet_hdr_parse(struct ht_vnet_hdr *h, const uint8_t *buf, size_t len);
void ht_vnet_hdr_write(uint8_t *buf, const struct ht_vnet_hdr *h);

/* One output packet of ht_vnet_split: out + off, len bytes. */
struct ht_vnet_seg {
	size_t off, len;
};

/* Split the IP packet pkt (what followed header h in a TUN read) into
 * packets carrying at most h->gso_size bytes of TCP or UDP payload each,
 * written one after the other into out, each preceded by `headroom` bytes
 * left for the caller (the 4-byte datagram header).  Every output packet
 * is complete: IPv4 total length, ID (+1 per segment) and header checksum,
 * IPv6 payload length, TCP sequence number and flags (FIN and PSH on the
 * last segment only, CWR on the first only), and the TCP / UDP checksum
 * computed in full.  GSO_NONE gives one packet, its partial checksum
 * completed when NEEDS_CSUM is set.
 * Returns the number of packets (>= 1), or
 *   HT_ERR_INVAL        NULL pointer, gso_size 0 with a GSO type;
 *   HT_ERR_TRUNCATED    headers longer than the packet; IP length fields
 *                       that disagree with len;
 *   HT_ERR_UNSUPPORTED  UFO (GSO_UDP), IPv6 extension headers, an IPv4
 *                       fragment, a GSO type that does not match the
 *                       packet's IP version or protocol;
 *   HT_ERR_BAD_VALUE    csum_start / csum_offset outside the packet;
 *   HT_ERR_NOBUF        out too small, or more than max_segs packets. */
int ht_vnet_split(const struct ht_vnet_hdr *h, const uint8_t *pkt, size_t len, uint8_t *out,
		  size_t cap, size_t headroom, struct ht_vnet_seg *segs, size_t max_segs);

/* GRO: TCP segments of one flow, in order, merged into one super-packet
 * for one TUN write.  The buffer given to ht_gro_init receives the vnet
 * header followed by the packet.  Segments merge when they continue the
 * same flow (addresses, ports, IP version; IPv4 without options and not
 * fragmented, same TTL/TOS/DF; IPv6 same class, flow label, hop limit),
 * carry the same ACK number, window and TCP options byte for byte, only
 * ACK (and PSH on the last), the next sequence number, and every one but
 * the last carries exactly the first one's payload size. */
struct ht_gro {
	uint8_t *buf; /* HT_VNET_HDR_LEN + packet */
	size_t cap;
	size_t len;     /* bytes of packet in buf (after the vnet header) */
	unsigned count; /* segments merged */
	unsigned l3, l4;  /* IP header length, TCP header length */
	uint16_t mss;
	uint32_t next_seq;
	bool closed;    /* a short or PSH segment ended it */
	bool v6;
};

/* buf: at least HT_VNET_HDR_LEN + 65535 bytes for full merging; smaller
 * buffers merge less. */
void ht_gro_init(struct ht_gro *g, uint8_t *buf, size_t cap);

/* Add one IP packet.  Returns
 *   1  taken (merged, or started the super-packet);
 *   0  it does not continue this super-packet: ht_gro_finish() first
 *      (write that), then add it again;
 *   HT_ERR_UNSUPPORTED  not a mergeable TCP segment (other protocols, any
 *      flag but ACK/PSH, options...) and nothing is pending: write it
 *      alone with a zero vnet header (ht_vnet_hdr_write of {0}).
 * A packet that is not mergeable while something is pending returns 0. */
int ht_gro_add(struct ht_gro *g, const uint8_t *pkt, size_t len);

/* Close the super-packet: lengths, IPv4 header checksum, and for a merge
 * of several segments a GSO vnet header (TCPV4/TCPV6, gso_size = the
 * first payload size, NEEDS_CSUM with the pseudo-header sum in the TCP
 * checksum field, for the kernel to finish).  Returns the bytes to write
 * from g->buf (header included), 0 when empty; the state is reset. */
size_t ht_gro_finish(struct ht_gro *g);

/* RFC 1071 helpers (also used by the tests). */
uint32_t ht_csum_partial(const uint8_t *p, size_t n, uint32_t sum);
uint16_t ht_csum_fold(uint32_t sum);

#endif
