/* hatun — ICMP and ICMPv6 error messages (RFC 792, RFC 4443).
 *
 * Two users: stream mode carries the ICMP message that made a TCP connect
 * fail in an Error TLV (code "ICMP packet received", quic-tunnel-00 §7.1.4),
 * and the client decodes it to give the application the real reason; the
 * datagram mode answers packets that do not fit the tunnel with ICMP
 * Fragmentation Needed / ICMPv6 Packet Too Big.  Only error messages are
 * handled; the quoted packet (the offending packet's headers) is opaque.
 */
#ifndef HATUN_PROTO_ICMP_H
#define HATUN_PROTO_ICMP_H

#include <stddef.h>
#include <stdint.h>

#define ICMP_HDR_SIZE 8u /* type, code, checksum, 4 bytes of "rest of header" */

/* ICMPv4 error types and the codes hatun names. */
enum {
	ICMP4_DEST_UNREACH = 3,
	ICMP4_SOURCE_QUENCH = 4,
	ICMP4_REDIRECT = 5,
	ICMP4_TIME_EXCEEDED = 11,
	ICMP4_PARAM_PROBLEM = 12,

	ICMP4_NET_UNREACH = 0,
	ICMP4_HOST_UNREACH = 1,
	ICMP4_PROT_UNREACH = 2,
	ICMP4_PORT_UNREACH = 3,
	ICMP4_FRAG_NEEDED = 4,
	ICMP4_NET_PROHIBITED = 9,
	ICMP4_HOST_PROHIBITED = 10,
	ICMP4_ADMIN_PROHIBITED = 13,
};

/* ICMPv6 error types and codes. */
enum {
	ICMP6_DEST_UNREACH = 1,
	ICMP6_PACKET_TOO_BIG = 2,
	ICMP6_TIME_EXCEEDED = 3,
	ICMP6_PARAM_PROBLEM = 4,

	ICMP6_NO_ROUTE = 0,
	ICMP6_ADMIN_PROHIBITED = 1,
	ICMP6_BEYOND_SCOPE = 2,
	ICMP6_ADDR_UNREACH = 3,
	ICMP6_PORT_UNREACH = 4,
	ICMP6_REJECT_ROUTE = 6,
};

struct icmp_msg {
	int family; /* 4 or 6 */
	uint8_t type, code;
	uint32_t info;          /* the 4 "rest of header" bytes: MTU for PTB/FRAG_NEEDED */
	const uint8_t *quoted;  /* the quoted offending packet, into the parsed buffer */
	size_t quoted_len;
};

/* What an ICMP error means for a connection attempt: one answer per class so
 * that every entry point (SOCKS reply, Convert error) maps it the same way. */
enum icmp_reason {
	ICMP_REASON_NET_UNREACH,  /* no route to the network */
	ICMP_REASON_HOST_UNREACH, /* host or address unreachable */
	ICMP_REASON_REFUSED,      /* port / protocol unreachable: nothing listens */
	ICMP_REASON_PROHIBITED,   /* administratively prohibited */
	ICMP_REASON_TTL,          /* time exceeded */
	ICMP_REASON_OTHER,
};

/* Decode an ICMP (family 4) or ICMPv6 (family 6) error message.  The
 * checksum is not verified: the message was checked by the kernel that
 * received it and reaches here inside an authenticated tunnel.
 * Returns bytes consumed (= len), or
 *   HT_ERR_TRUNCATED  fewer than 8 bytes;
 *   HT_ERR_BAD_TYPE   not an error message type of that family;
 *   HT_ERR_INVAL      bad family or NULL pointers. */
int icmp_parse(struct icmp_msg *out, int family, const uint8_t *buf, size_t len);

/* Classify a parsed error (see enum icmp_reason). */
enum icmp_reason icmp_reason(const struct icmp_msg *m);

/* Build an ICMP / ICMPv6 error message at buf: header with info, then the
 * first quoted_len bytes of the quoted packet, truncated so that the whole
 * message is at most max_len bytes (576 - 20 - 8 for IPv4, 1280 - 40 - 8 for
 * IPv6 per RFC 792/4443; the caller chooses).  The checksum is computed; for
 * ICMPv6 it covers the pseudo-header with src and dst (16 bytes each; the
 * IPv6 header the message will be sent in), ignored for ICMPv4 (may be NULL).
 * Returns bytes written, or HT_ERR_NOBUF (cap < 8), HT_ERR_INVAL. */
int icmp_build(uint8_t *buf, size_t cap, size_t max_len, int family, uint8_t type,
	       uint8_t code, uint32_t info, const uint8_t *quoted, size_t quoted_len,
	       const uint8_t *src, const uint8_t *dst);

/* Build the IPv4 (20 bytes) or IPv6 (40 bytes) header plus the first 8 bytes
 * of a TCP header that an ICMP error quotes, for when the kernel reports the
 * error but not the quoted packet (IP_RECVERR on a TCP socket gives the TCP
 * header bytes and the addresses).  Addresses are 16 bytes (IPv4-mapped for
 * family 4).  tcp8 may be NULL (ports only, sequence number 0).
 * Returns bytes written, or HT_ERR_NOBUF, HT_ERR_INVAL. */
int icmp_build_quote_tcp(uint8_t *buf, size_t cap, int family, const uint8_t src[16],
			 const uint8_t dst[16], uint16_t sport, uint16_t dport,
			 const uint8_t *tcp8);

#endif
