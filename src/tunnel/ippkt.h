/* hatun — what datagram mode needs to know about and do to an IP packet:
 * its addresses, TCP MSS clamping, and the ICMP "too big" answer from the
 * tunnel endpoint.  Pure functions over caller buffers (no I/O, no
 * allocation); the packet was already checked by qt_dgram_parse or comes
 * from the kernel's TUN device.
 */
#ifndef HATUN_TUNNEL_IPPKT_H
#define HATUN_TUNNEL_IPPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Version (4 / 6) and addresses (16 bytes, IPv4-mapped) of an IP packet.
 * Returns the version, or 0 when the packet is too short for its header. */
int ht_ippkt_addrs(const uint8_t *pkt, size_t len, uint8_t src[16], uint8_t dst[16]);

/* If pkt is a TCP SYN (IPv4 or IPv6 without extension headers, not a
 * fragment) carrying an MSS option above the largest segment an MTU of mtu
 * can carry (mtu - 40 for IPv4, mtu - 60 for IPv6), lower it and fix the
 * TCP checksum incrementally (RFC 1624).  Returns true when it changed. */
bool ht_ippkt_clamp_mss(uint8_t *pkt, size_t len, unsigned mtu);

/* Build, at out, a whole IP packet from `self` (the tunnel endpoint's
 * address of the packet's family) to the source of pkt: ICMP Fragmentation
 * Needed (IPv4, RFC 1191) or ICMPv6 Packet Too Big (RFC 4443) with the MTU,
 * quoting as much of pkt as the minimum MTU allows.  Nothing is due for an
 * ICMP error (never answer an error), an IPv4 packet without DF (a router
 * would fragment it; the tunnel cannot, so the caller drops and counts it)
 * or a non-first IPv4 fragment.  Returns the length, 0 when no answer is
 * due, or HT_ERR_NOBUF. */
int ht_ippkt_too_big(uint8_t *out, size_t cap, const uint8_t *pkt, size_t len, unsigned mtu,
		     const uint8_t self[16]);

/* A hash of the packet's flow (addresses, protocol, and the TCP / UDP
 * ports unless a non-first IPv4 fragment), never 0; 0 when pkt is not an
 * IPv4 / IPv6 packet.  `ether`: pkt is an Ethernet frame (TAP mode): the
 * IP packet inside it, else its MAC addresses and EtherType.  For the
 * DATAGRAM queue's sparse-flow priority (quic/dgq.h). */
uint32_t ht_ippkt_flow_hash(const uint8_t *pkt, size_t len, bool ether);

/* pkt is a TCP segment with no payload and no SYN, FIN, RST or URG: an
 * acknowledgment (or a window update) whose order among its flow's ACKs
 * does not matter to the TCP that receives it — one older than what it
 * already has is ignored.  IPv4 (first fragment only) or IPv6 without
 * extension headers; lengths from the IP header (an Ethernet frame's
 * padding is not payload).  `ether` as for ht_ippkt_flow_hash. */
bool ht_ippkt_tcp_pure_ack(const uint8_t *pkt, size_t len, bool ether);

/* Internet checksum of buf folded with a running sum (host order). */
uint16_t ht_ippkt_csum(const uint8_t *buf, size_t len, uint32_t sum);

#endif
