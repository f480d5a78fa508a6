/* hatun — classification of the 16-byte addresses the wire formats carry.
 *
 * The QUIC tunnel and Convert formats carry every address as IPv6, IPv4 in
 * IPv4-mapped form (::ffff:a.b.c.d, RFC 4291).  Codecs use this to reject
 * what the specification calls malformed; the policy layer uses it for what
 * the operator forbids.  Mapped addresses are classified by their IPv4 value.
 */
#ifndef HATUN_PROTO_ADDR_H
#define HATUN_PROTO_ADDR_H

#include <stdbool.h>
#include <stdint.h>

enum {
	HT_ADDR_V4MAPPED = 1u << 0,    /* ::ffff:0:0/96 */
	HT_ADDR_UNSPECIFIED = 1u << 1, /* ::, 0.0.0.0/8 */
	HT_ADDR_LOOPBACK = 1u << 2,    /* ::1, 127.0.0.0/8 */
	HT_ADDR_MULTICAST = 1u << 3,   /* ff00::/8, 224.0.0.0/4 */
	HT_ADDR_BROADCAST = 1u << 4,   /* 255.255.255.255 */
	HT_ADDR_LINKLOCAL = 1u << 5,   /* fe80::/10, 169.254.0.0/16 */
};

/* What the stream-mode and Convert formats call malformed (RFC 6890 special
 * purpose addresses that can never be a remote peer). */
#define HT_ADDR_FORBIDDEN_ON_WIRE \
	(HT_ADDR_UNSPECIFIED | HT_ADDR_LOOPBACK | HT_ADDR_MULTICAST | HT_ADDR_BROADCAST)

/* Bitmask of HT_ADDR_* flags for a 16-byte address. */
unsigned ht_addr_classify(const uint8_t a[16]);

static inline bool ht_addr_forbidden_on_wire(const uint8_t a[16])
{
	return (ht_addr_classify(a) & HT_ADDR_FORBIDDEN_ON_WIRE) != 0;
}

/* Write the IPv4-mapped form of a 4-byte IPv4 address into out. */
void ht_addr_map_v4(uint8_t out[16], const uint8_t v4[4]);

#endif
