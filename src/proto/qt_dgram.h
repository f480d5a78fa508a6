/* hatun — QUIC tunnel datagram-mode payloads (draft-piraux-quic-tunnel-00
 * §4 and -01 §4; wire-formats.md §1.1, §2.2).
 *
 * Two encodings of the Datagram Data of a QUIC DATAGRAM frame, chosen by the
 * negotiated ALPN:
 *   RAW    (qt-00)       the whole payload is one IP packet; the family is
 *                        the version nibble.
 *   TAGGED (qt-01, qt)   Protocol Type (16, an EtherType) | Packet Tag (16) |
 *                        packet, running to the end of the datagram.
 *
 * The sender never copies a packet: it reserves QT_DGRAM_HDR_SIZE bytes of
 * headroom in front of it and qt_dgram_encap() writes the header there.
 * Pure codecs: no allocation, no I/O.
 */
#ifndef HATUN_PROTO_QT_DGRAM_H
#define HATUN_PROTO_QT_DGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QT_DGRAM_HDR_SIZE 4u

/* Protocol Types hatun handles (IANA ETHER TYPES). */
#define QT_ETHERTYPE_IPV4 0x0800u
#define QT_ETHERTYPE_IPV6 0x86ddu
#define QT_ETHERTYPE_TEB 0x6558u /* Transparent Ethernet Bridging (RFC 1701) */

#define QT_IPV4_MIN_HDR 20u
#define QT_IPV6_HDR 40u
#define QT_ETH_HDR 14u

enum qt_dgram_profile {
	QT_DGRAM_RAW = 0,    /* ALPN qt-00 */
	QT_DGRAM_TAGGED = 1, /* ALPN qt-01 and qt */
};

/* A decoded datagram; pkt points into the parsed buffer. */
struct qt_dgram {
	uint16_t proto; /* Protocol Type; for RAW, inferred from the version */
	uint16_t tag;   /* Packet Tag; 0 for RAW */
	const uint8_t *pkt;
	size_t pkt_len;
};

/* Header bytes the profile puts in front of each packet: 0 or 4. */
size_t qt_dgram_hdr_size(enum qt_dgram_profile profile);

/* Datagram profile of a negotiated ALPN ("qt-00" → RAW; "qt-01", "qt" →
 * TAGGED).  Returns the profile (>= 0) or HT_ERR_UNSUPPORTED. */
int qt_dgram_profile_from_alpn(const uint8_t *alpn, size_t len);

/* Decode the Datagram Data of one DATAGRAM frame.  On HT_ERR_UNSUPPORTED the
 * fields are still filled in so the caller can count drops per type.
 * Returns HT_OK, or
 *   HT_ERR_TRUNCATED    TAGGED shorter than its 4-byte header; an IPv4
 *                       packet under 20 bytes, with IHL < 5, IHL*4 > length,
 *                       or a Total Length below IHL*4 or above what is
 *                       there; an IPv6 packet under 40 bytes or whose
 *                       Payload Length runs past the end; an Ethernet frame
 *                       under 14 bytes; an empty RAW datagram;
 *   HT_ERR_TRAILING     bytes after the IP Total Length / IPv6 Payload
 *                       Length (the datagram is exactly one packet);
 *   HT_ERR_MISMATCH     TAGGED IPv4 / IPv6 whose version nibble disagrees;
 *   HT_ERR_BAD_VERSION  RAW whose version nibble is neither 4 nor 6;
 *   HT_ERR_UNSUPPORTED  TAGGED with another Protocol Type (drop, count);
 *   HT_ERR_INVAL        d is NULL, buf NULL with len > 0, bad profile. */
int qt_dgram_parse(struct qt_dgram *d, enum qt_dgram_profile profile, const uint8_t *buf,
                   size_t len);

/* Write the TAGGED header into the headroom of a packet in place.  frame is
 * the start of the caller's buffer, the packet sits at frame + headroom.
 * Returns the offset in frame where the Datagram Data starts (headroom - 4),
 * or HT_ERR_NOBUF (headroom < 4), HT_ERR_INVAL (frame NULL, headroom over
 * INT32_MAX). */
int qt_dgram_encap(uint8_t *frame, size_t headroom, uint16_t proto, uint16_t tag);

/* ---- Packet Tag serial-number arithmetic (RFC 1982, SERIAL_BITS = 16) ----
 * Tags wrap at 65536.  Two tags exactly 32768 apart are incomparable (RFC
 * 1982 leaves it undefined): neither qt_tag_lt() nor qt_tag_gt() holds.  A
 * reorder window must stay well under 32768 tags. */

/* a + n, wrapping. */
static inline uint16_t qt_tag_add(uint16_t a, uint16_t n)
{
	return (uint16_t)(a + n);
}

/* How many steps forward from `from` to `to` (0..65535). */
static inline uint16_t qt_tag_fwd(uint16_t from, uint16_t to)
{
	return (uint16_t)(to - from);
}

/* Signed distance a - b in -32768..32767 (-32768 for the incomparable pair). */
static inline int qt_tag_diff(uint16_t a, uint16_t b)
{
	uint16_t d = (uint16_t)(a - b);

	return d < 0x8000u ? (int)d : (int)d - 0x10000;
}

/* a comes before b. */
static inline bool qt_tag_lt(uint16_t a, uint16_t b)
{
	uint16_t d = (uint16_t)(b - a);

	return d != 0 && d < 0x8000u;
}

/* a comes after b. */
static inline bool qt_tag_gt(uint16_t a, uint16_t b)
{
	return qt_tag_lt(b, a);
}

#endif
