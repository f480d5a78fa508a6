/* Unit tests for src/proto/demux.c with real-looking datagrams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proto/demux.h"

/* RFC 5769 §2.1 sample request. */
static const uint8_t stun_req[] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
	0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
	0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
	0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
	0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
	0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* Start of a QUIC v1 Initial (RFC 9001 Appendix A.2 client Initial header):
 * 0xc3, version 1, DCID len 8, DCID, SCID len 0, token len 0, length... */
static const uint8_t quic_initial[] = {
	0xc3, 0x00, 0x00, 0x00, 0x01, 0x08, 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51,
	0x57, 0x08, 0x00, 0x00, 0x44, 0x9e, 0x00, 0x00, 0x00, 0x02,
};

/* 1-RTT short header: 0x40 | key phase | pn length, 8-byte DCID, PN, payload. */
static const uint8_t quic_short[] = {
	0x43, 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08, 0x00, 0x00, 0x00,
	0x01, 0xde, 0xad, 0xbe, 0xef, 0x12, 0x34, 0x56, 0x78,
};

/* DTLS 1.2 ClientHello record header: content type 22 (handshake). */
static const uint8_t dtls_hello[] = {
	0x16, 0xfe, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x3c, 0x01, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* RTP version 2, PT 96, seq 1, timestamp, SSRC. */
static const uint8_t rtp[] = {
	0x80, 0x60, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x12, 0x34, 0x56, 0x78,
	0xaa, 0xbb, 0xcc, 0xdd,
};

static void test_real_packets(void **state)
{
	(void)state;
	assert_int_equal(demux_classify(stun_req, sizeof(stun_req)), DEMUX_STUN);
	assert_true(demux_is_stun(stun_req, sizeof(stun_req)));
	assert_int_equal(demux_classify(quic_initial, sizeof(quic_initial)), DEMUX_QUIC);
	assert_int_equal(demux_classify(quic_short, sizeof(quic_short)), DEMUX_QUIC);
	assert_int_equal(demux_classify(dtls_hello, sizeof(dtls_hello)), DEMUX_DROP);
	assert_int_equal(demux_classify(rtp, sizeof(rtp)), DEMUX_DROP);
	assert_int_equal(demux_classify(stun_req, 0), DEMUX_DROP);
	assert_int_equal(demux_classify(NULL, 0), DEMUX_DROP);
	assert_int_equal(demux_classify(NULL, 20), DEMUX_DROP);
}

static void test_stun_shape(void **state)
{
	uint8_t buf[sizeof(stun_req) + 4];

	(void)state;
	/* Truncated, padded, or with a wrong cookie or length: dropped. */
	assert_int_equal(demux_classify(stun_req, sizeof(stun_req) - 4), DEMUX_DROP);
	assert_int_equal(demux_classify(stun_req, 19), DEMUX_DROP);
	memcpy(buf, stun_req, sizeof(stun_req));
	memset(buf + sizeof(stun_req), 0, 4);
	assert_int_equal(demux_classify(buf, sizeof(buf)), DEMUX_DROP);
	buf[3] = 0x5c; /* now the length matches */
	assert_int_equal(demux_classify(buf, sizeof(buf)), DEMUX_STUN);
	buf[3] = 0x5b; /* not a multiple of 4 */
	assert_int_equal(demux_classify(buf, sizeof(buf)), DEMUX_DROP);
	buf[3] = 0x5c;
	buf[7] ^= 1; /* RFC 3489 message without the cookie */
	assert_int_equal(demux_classify(buf, sizeof(buf)), DEMUX_DROP);
	buf[7] ^= 1;
	/* Every first byte 0-3 is STUN (methods 0x100-0xFFF are reserved
	 * so that 0-3 stays STUN's range). */
	buf[0] = 0x03;
	assert_int_equal(demux_classify(buf, sizeof(buf)), DEMUX_STUN);
	buf[0] = 0x04;
	assert_int_equal(demux_classify(buf, sizeof(buf)), DEMUX_DROP);
	/* Bare 20-byte header, Message Length 0. */
	memcpy(buf, stun_req, 20);
	buf[3] = 0;
	assert_int_equal(demux_classify(buf, 20), DEMUX_STUN);
}

/* The first-octet table on a datagram too short to be STUN. */
static void test_first_octet_table(void **state)
{
	unsigned b;

	(void)state;
	for (b = 0; b < 256; b++) {
		uint8_t d[8] = {(uint8_t)b, 0x12, 0x34};
		enum demux_class want;

		if (b >= 64 && b <= 127)
			want = DEMUX_QUIC; /* short header (and TURN 64-79) */
		else if (b >= 192)
			want = DEMUX_QUIC; /* long header */
		else
			want = DEMUX_DROP; /* STUN-shaped 0-3 fails, ZRTP, DTLS, RTP/RTCP */
		assert_int_equal(demux_classify(d, sizeof(d)), want);
		assert_int_equal(demux_classify(d, 1), want);
	}
	/* A Version Negotiation packet with the fixed bit clear is dropped. */
	{
		static const uint8_t vn[] = {0x80, 0, 0, 0, 0, 0, 0};

		assert_int_equal(demux_classify(vn, sizeof(vn)), DEMUX_DROP);
	}
	/* A greased short header (RFC 9287) would be lost: why hatun never
	 * negotiates grease_quic_bit on a multiplexed socket. */
	{
		uint8_t greased[sizeof(quic_short)];

		memcpy(greased, quic_short, sizeof(greased));
		greased[0] &= (uint8_t)~0x40u;
		assert_int_equal(demux_classify(greased, sizeof(greased)), DEMUX_DROP);
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(demux_class_name(DEMUX_STUN), "stun");
	assert_string_equal(demux_class_name(DEMUX_QUIC), "quic");
	assert_string_equal(demux_class_name(DEMUX_DROP), "drop");
	assert_string_equal(demux_class_name((enum demux_class)7), "drop");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_packets),
		cmocka_unit_test(test_stun_shape),
		cmocka_unit_test(test_first_octet_table),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
