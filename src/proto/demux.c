/* hatun — first-octet demultiplexing of STUN and QUIC (see demux.h). */
#include "proto/demux.h"

#include "proto/wire.h"

#define STUN_HDR 20
#define STUN_COOKIE 0x2112A442u
#define QUIC_FIXED_BIT 0x40u

bool demux_is_stun(const uint8_t *buf, size_t len)
{
	size_t body;

	if (buf == NULL || len < STUN_HDR || buf[0] > 3)
		return false;
	if (ht_get32(buf + 4) != STUN_COOKIE)
		return false;
	body = ht_get16(buf + 2);
	/* The length test matters as much as the cookie: 32 random bits alone
	 * would let one QUIC-looking datagram in 2^32 be misread. */
	return body % 4 == 0 && len - STUN_HDR == body;
}

enum demux_class demux_classify(const uint8_t *buf, size_t len)
{
	if (buf == NULL || len == 0)
		return DEMUX_DROP;
	/* 0-3 is STUN's range; what fails the STUN shape there is not QUIC
	 * either (0x40 is clear), so it is dropped, not guessed at. */
	if (buf[0] <= 3)
		return demux_is_stun(buf, len) ? DEMUX_STUN : DEMUX_DROP;
	/* Both QUIC header forms set the fixed bit (RFC 9000 §17). */
	if (buf[0] & QUIC_FIXED_BIT)
		return DEMUX_QUIC;
	return DEMUX_DROP;
}

const char *demux_class_name(enum demux_class c)
{
	switch (c) {
	case DEMUX_STUN:
		return "stun";
	case DEMUX_QUIC:
		return "quic";
	default:
		return "drop";
	}
}
