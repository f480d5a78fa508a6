/* Unit tests for src/proto/qt_stream.c: stream-mode TLVs of quic-tunnel-00. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proto/addr.h"
#include "proto/err.h"
#include "proto/qt_stream.h"

/* ::ffff:192.0.2.1 port 443 */
#define V4_192_0_2_1 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1
/* 2001:db8::1 */
#define V6_DOC 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1

/* quic-tunnel-00 Figure 5: TCP Connect at offset 0, End at 20, bytestream at 22. */
static const uint8_t fig5[] = {
    0x00, 0x12, 0x01, 0xbb, V4_192_0_2_1, 0xff, 0x00, 'G', 'E', 'T',  ' ',  '/',
    ' ',  'H',  'T',  'T',  'P',          '/',  '1',  '.', '1', '\r', '\n',
};

/* The concentrator's reply on the same stream: 02 00 ff 00 <payload>. */
static const uint8_t reply[] = {0x02, 0x00, 0xff, 0x00, 'H', 'T', 'T', 'P'};

static struct qt_peer peer(const uint8_t a[16], uint16_t port)
{
	struct qt_peer p;

	memcpy(p.addr, a, 16);
	p.port = port;
	return p;
}

static const uint8_t a_v4[16] = {V4_192_0_2_1};
static const uint8_t a_v6[16] = {V6_DOC};

/* Feed a whole buffer to a fresh parser in one read. */
static int feed_all(struct qt_stream_parser *p, bool peer_opened, const uint8_t *b, size_t n,
                    bool fin)
{
	qt_stream_parser_init(p, peer_opened);
	return qt_stream_parser_feed(p, b, n, fin);
}

/* ---- serializers -------------------------------------------------------- */

static void test_write_connect(void **state)
{
	uint8_t b[64];
	struct qt_peer r = peer(a_v4, 443);

	(void)state;
	assert_int_equal(qt_tlv_write_connect(b, sizeof(b), &r), 20);
	assert_memory_equal(b, fig5, 20);
	assert_int_equal(qt_tlv_write_connect(b, 19, &r), HT_ERR_NOBUF);
	assert_int_equal(qt_tlv_write_connect(NULL, 64, &r), HT_ERR_INVAL);
	assert_int_equal(qt_tlv_write_connect(b, 64, NULL), HT_ERR_INVAL);
	r.addr[12] = 127;
	assert_int_equal(qt_tlv_write_connect(b, sizeof(b), &r), HT_ERR_BAD_ADDRESS);
}

static void test_write_ext_connect_unaligned(void **state)
{
	uint8_t b[64];
	struct qt_peer r = peer(a_v6, 80), l = peer(a_v4, 0xabcd);
	struct qt_tlv t;

	(void)state;
	memset(b, 0xee, sizeof(b));
	assert_int_equal(qt_tlv_write_ext_connect(b, sizeof(b), &r, &l), 38);
	assert_int_equal(b[0], 0x01);
	assert_int_equal(b[1], 36);
	assert_int_equal(b[2], 0x00);
	assert_int_equal(b[3], 80);
	assert_memory_equal(b + 4, a_v6, 16);
	/* No padding: Local Peer Port at 20, Local Peer IP at 22. */
	assert_int_equal(b[20], 0xab);
	assert_int_equal(b[21], 0xcd);
	assert_memory_equal(b + 22, a_v4, 16);
	assert_int_equal(b[38], 0xee);
	assert_int_equal(qt_tlv_parse(&t, b, 38), 38);
	assert_int_equal(t.type, QT_TLV_EXT_CONNECT);
	assert_int_equal(t.remote.port, 80);
	assert_int_equal(t.local.port, 0xabcd);
	assert_memory_equal(t.local.addr, a_v4, 16);
	assert_int_equal(qt_tlv_write_ext_connect(b, 37, &r, &l), HT_ERR_NOBUF);
	l.addr[12] = 224; /* local must obey the same rules (Decision #1) */
	assert_int_equal(qt_tlv_write_ext_connect(b, sizeof(b), &r, &l), HT_ERR_BAD_ADDRESS);
	assert_int_equal(qt_tlv_write_ext_connect(b, sizeof(b), &r, NULL), HT_ERR_INVAL);
}

static void test_write_small(void **state)
{
	uint8_t b[4];

	(void)state;
	assert_int_equal(qt_tlv_write_connect_ok(b, 2), 2);
	assert_int_equal(b[0], 0x02);
	assert_int_equal(b[1], 0x00);
	assert_int_equal(qt_tlv_write_end(b, 2), 2);
	assert_int_equal(b[0], 0xff);
	assert_int_equal(b[1], 0x00);
	assert_int_equal(qt_tlv_write_end(b, 1), HT_ERR_NOBUF);
	assert_int_equal(qt_tlv_write_connect_ok(b, 0), HT_ERR_NOBUF);
	assert_int_equal(qt_tlv_write_end(NULL, 2), HT_ERR_INVAL);
}

static void test_write_error(void **state)
{
	uint8_t b[300], pl[300];
	struct qt_tlv t;

	(void)state;
	for (size_t i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)i;
	assert_int_equal(qt_tlv_write_error(b, sizeof(b), QT_ERR_NETWORK_FAILURE, NULL, 0), 4);
	assert_memory_equal(b, ((const uint8_t[]){0x03, 0x02, 0x00, 0x03}), 4);
	assert_int_equal(qt_tlv_write_error(b, sizeof(b), 0x1234, pl, 253), 257);
	assert_int_equal(b[1], 255);
	assert_int_equal(qt_tlv_parse(&t, b, 257), 257);
	assert_int_equal(t.error_code, 0x1234);
	assert_int_equal(t.payload_len, 253);
	assert_memory_equal(t.payload, pl, 253);
	assert_int_equal(qt_tlv_write_error(b, sizeof(b), 0, pl, 254), HT_ERR_TOO_LONG);
	assert_int_equal(qt_tlv_write_error(b, 10, 0, pl, 7), HT_ERR_NOBUF);
	assert_int_equal(qt_tlv_write_error(b, 11, 0, pl, 7), 11);
	assert_int_equal(qt_tlv_write_error(b, sizeof(b), 0, NULL, 1), HT_ERR_INVAL);
}

static void test_write_error_icmp_truncates(void **state)
{
	uint8_t b[300], icmp[576];
	struct qt_tlv t;

	(void)state;
	for (size_t i = 0; i < sizeof(icmp); i++)
		icmp[i] = (uint8_t)(i * 7);
	assert_int_equal(qt_tlv_write_error_icmp(b, sizeof(b), icmp, sizeof(icmp)), 257);
	assert_int_equal(qt_tlv_parse(&t, b, 257), 257);
	assert_int_equal(t.error_code, QT_ERR_ICMP);
	assert_int_equal(t.payload_len, 253);
	assert_memory_equal(t.payload, icmp, 253);
	assert_int_equal(qt_tlv_write_error_icmp(b, sizeof(b), icmp, 28), 32);
	assert_int_equal(b[1], 30);
	/* The truncation follows the TLV limit, not the buffer. */
	assert_int_equal(qt_tlv_write_error_icmp(b, 100, icmp, sizeof(icmp)), HT_ERR_NOBUF);
}

static void test_write_generic(void **state)
{
	uint8_t b[64];
	struct qt_tlv t = {.type = QT_TLV_CONNECT, .remote = peer(a_v4, 443)};

	(void)state;
	assert_int_equal(qt_tlv_write(b, sizeof(b), &t), 20);
	assert_memory_equal(b, fig5, 20);
	t.type = 0x07;
	assert_int_equal(qt_tlv_write(b, sizeof(b), &t), HT_ERR_BAD_TYPE);
	assert_int_equal(qt_tlv_write(b, sizeof(b), NULL), HT_ERR_INVAL);
}

/* ---- one-TLV parser ----------------------------------------------------- */

static void test_parse_connect(void **state)
{
	struct qt_tlv t;

	(void)state;
	assert_int_equal(qt_tlv_parse(&t, fig5, sizeof(fig5)), 20);
	assert_int_equal(t.type, QT_TLV_CONNECT);
	assert_int_equal(t.len, 18);
	assert_int_equal(t.remote.port, 443);
	assert_memory_equal(t.remote.addr, a_v4, 16);
	assert_int_equal(ht_addr_classify(t.remote.addr), HT_ADDR_V4MAPPED);
	/* Every proper prefix asks for more. */
	for (size_t n = 0; n < 20; n++)
		assert_int_equal(qt_tlv_parse(&t, fig5, n), HT_ERR_NEED_MORE);
	assert_int_equal(qt_tlv_parse(&t, fig5 + 20, 2), 2);
	assert_int_equal(t.type, QT_TLV_END);
	assert_int_equal(qt_tlv_parse(NULL, fig5, 2), HT_ERR_INVAL);
	assert_int_equal(qt_tlv_parse(&t, NULL, 2), HT_ERR_INVAL);
}

static void test_parse_bad_type(void **state)
{
	static const uint8_t types[] = {0x04, 0x05, 0x40, 0x80, 0xfe};
	struct qt_tlv t;

	(void)state;
	for (size_t i = 0; i < sizeof(types); i++) {
		uint8_t b[1] = {types[i]};

		/* Known bad after one byte: no need to wait for the Length. */
		assert_int_equal(qt_tlv_parse(&t, b, 1), HT_ERR_BAD_TYPE);
		assert_int_equal(t.type, types[i]);
		assert_int_equal(qt_stream_error_code(HT_ERR_BAD_TYPE), QT_ERR_UNKNOWN_TLV);
	}
}

static void test_parse_bad_length(void **state)
{
	static const uint8_t cases[][2] = {
	    {0x00, 17}, {0x00, 19},  {0x00, 0}, {0x01, 35}, {0x01, 37}, {0x01, 18},
	    {0x02, 1},  {0x02, 255}, {0xff, 1}, {0xff, 2},  {0x03, 0},  {0x03, 1},
	};
	struct qt_tlv t;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(qt_tlv_parse(&t, cases[i], 2), HT_ERR_BAD_LENGTH);
		assert_int_equal(t.type, cases[i][0]);
	}
	assert_int_equal(qt_stream_error_code(HT_ERR_BAD_LENGTH), QT_ERR_MALFORMED_TLV);
}

static void test_parse_bad_address(void **state)
{
	static const uint8_t bad[][16] = {
	    {0},                                                    /* :: */
	    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},       /* ::1 */
	    {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, /* ff02::1 */
	    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1},
	    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 224, 0, 0, 1},
	    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 255, 255, 255, 255},
	    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0},
	};
	uint8_t b[38];
	struct qt_tlv t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* Remote in Connect. */
		memcpy(b, fig5, 20);
		memcpy(b + 4, bad[i], 16);
		assert_int_equal(qt_tlv_parse(&t, b, 20), HT_ERR_BAD_ADDRESS);
		/* Remote, then Local, in Extended Connect. */
		b[0] = 0x01;
		b[1] = 36;
		b[20] = 0;
		b[21] = 1;
		memcpy(b + 22, a_v6, 16);
		assert_int_equal(qt_tlv_parse(&t, b, 38), HT_ERR_BAD_ADDRESS);
		memcpy(b + 4, a_v6, 16);
		memcpy(b + 22, bad[i], 16);
		assert_int_equal(qt_tlv_parse(&t, b, 38), HT_ERR_BAD_ADDRESS);
		memcpy(b + 22, a_v4, 16);
		assert_int_equal(qt_tlv_parse(&t, b, 38), 38);
	}
	/* Link-local is a policy matter, not malformed. */
	memcpy(b, fig5, 20);
	memcpy(b + 4, ((const uint8_t[]){0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}),
	       16);
	assert_int_equal(qt_tlv_parse(&t, b, 20), 20);
	assert_int_equal(qt_stream_error_code(HT_ERR_BAD_ADDRESS), QT_ERR_MALFORMED_TLV);
}

/* ---- the stream header parser ------------------------------------------- */

static void check_fig5_info(const struct qt_stream_parser *p)
{
	assert_int_equal(p->info.seen, QT_SEEN_CONNECT | QT_SEEN_END);
	assert_int_equal(p->info.remote.port, 443);
	assert_memory_equal(p->info.remote.addr, a_v4, 16);
}

static void test_fig5_whole(void **state)
{
	struct qt_stream_parser p;

	(void)state;
	assert_int_equal(feed_all(&p, true, fig5, sizeof(fig5), false), 22);
	check_fig5_info(&p);
	/* Later reads are all bytestream. */
	assert_int_equal(qt_stream_parser_feed(&p, fig5, sizeof(fig5), false), 0);
	assert_int_equal(qt_stream_parser_feed(&p, NULL, 0, true), 0);
	/* Exactly the header, bytestream in the next read. */
	assert_int_equal(feed_all(&p, true, fig5, 22, false), 22);
	assert_int_equal(qt_stream_parser_feed(&p, fig5 + 22, 5, false), 0);
	/* Header and FIN at once: an empty bytestream. */
	assert_int_equal(feed_all(&p, true, fig5, 22, true), 22);
}

static void test_fig5_byte_by_byte(void **state)
{
	struct qt_stream_parser p;

	(void)state;
	qt_stream_parser_init(&p, true);
	for (size_t i = 0; i < sizeof(fig5); i++) {
		int r = qt_stream_parser_feed(&p, fig5 + i, 1, false);

		if (i < 21) {
			assert_int_equal(r, HT_ERR_NEED_MORE);
			/* The Connect is visible as soon as it is complete. */
			assert_int_equal(p.info.seen != 0, i >= 19);
		} else if (i == 21) {
			assert_int_equal(r, 1); /* End was the whole read */
		} else {
			assert_int_equal(r, 0);
		}
	}
	check_fig5_info(&p);
}

static void test_fig5_every_split(void **state)
{
	struct qt_stream_parser p;

	(void)state;
	/* One split anywhere. */
	for (size_t s = 0; s <= sizeof(fig5); s++) {
		int r1, r2;

		qt_stream_parser_init(&p, true);
		r1 = qt_stream_parser_feed(&p, fig5, s, false);
		r2 = qt_stream_parser_feed(&p, fig5 + s, sizeof(fig5) - s, false);
		if (s < 22) {
			assert_int_equal(r1, HT_ERR_NEED_MORE);
			assert_int_equal(r2, (int)(22 - s));
		} else {
			assert_int_equal(r1, 22);
			assert_int_equal(r2, 0);
		}
		check_fig5_info(&p);
	}
	/* Two splits anywhere: the bytestream starts at absolute offset 22. */
	for (size_t s = 0; s <= sizeof(fig5); s++) {
		for (size_t u = s; u <= sizeof(fig5); u++) {
			const size_t cut[4] = {0, s, u, sizeof(fig5)};
			size_t start = 0;
			bool found = false;

			qt_stream_parser_init(&p, true);
			for (int k = 0; k < 3; k++) {
				int r = qt_stream_parser_feed(&p, fig5 + cut[k],
				                              cut[k + 1] - cut[k], k == 2);

				if (r >= 0 && !found) {
					found = true;
					start = cut[k] + (size_t)r;
				} else if (!found) {
					assert_int_equal(r, HT_ERR_NEED_MORE);
				}
			}
			assert_true(found);
			assert_int_equal(start, 22);
			check_fig5_info(&p);
		}
	}
}

static void test_concentrator_reply(void **state)
{
	struct qt_stream_parser p;

	(void)state;
	/* The client opened the stream: the reply is Connect OK, End, data. */
	assert_int_equal(feed_all(&p, false, reply, sizeof(reply), false), 4);
	assert_int_equal(p.info.seen, QT_SEEN_CONNECT_OK | QT_SEEN_END);
	for (size_t s = 0; s <= sizeof(reply); s++) {
		qt_stream_parser_init(&p, false);
		int r1 = qt_stream_parser_feed(&p, reply, s, false);
		int r2 = qt_stream_parser_feed(&p, reply + s, sizeof(reply) - s, true);

		assert_int_equal(s < 4 ? r2 + (int)s : r1, 4);
	}
	/* The same bytes on a peer-opened stream break the origin rule. */
	assert_int_equal(feed_all(&p, true, reply, sizeof(reply), false), HT_ERR_WRONG_SENDER);
	assert_int_equal(qt_stream_error_code(p.err), QT_ERR_PROTOCOL_VIOLATION);
}

static void test_ext_connect_stream(void **state)
{
	struct qt_stream_parser p;
	struct qt_peer r = peer(a_v6, 22), l = peer(a_v4, 50000);
	uint8_t b[64];
	int n;

	(void)state;
	n = qt_tlv_write_ext_connect(b, sizeof(b), &r, &l);
	n += qt_tlv_write_end(b + n, sizeof(b) - (size_t)n);
	assert_int_equal(n, 40);
	assert_int_equal(feed_all(&p, true, b, 40, false), 40);
	assert_int_equal(p.info.seen, QT_SEEN_EXT_CONNECT | QT_SEEN_END);
	assert_int_equal(p.info.local.port, 50000);
	assert_memory_equal(p.info.local.addr, a_v4, 16);
	assert_memory_equal(p.info.remote.addr, a_v6, 16);
}

static void test_error_then_end(void **state)
{
	/* Error(ICMP, 3-byte payload), Error(Network Failure), End. */
	static const uint8_t b[] = {0x03, 0x05, 0x00, 0x01, 0xaa, 0xbb, 0xcc,
	                            0x03, 0x02, 0x00, 0x03, 0xff, 0x00, 'x'};
	struct qt_stream_parser p;

	(void)state;
	assert_int_equal(feed_all(&p, false, b, 13, true), 13);
	assert_int_equal(p.info.seen, QT_SEEN_ERROR | QT_SEEN_END);
	assert_int_equal(p.info.error_code, QT_ERR_ICMP); /* the first one */
	assert_int_equal(p.info.error_payload_len, 3);
	assert_memory_equal(p.info.error_payload, b + 4, 3);
	assert_int_equal(p.info.error_count, 2);
	/* Error payload split across reads is reassembled. */
	qt_stream_parser_init(&p, false);
	for (size_t i = 0; i < 13; i++)
		assert_int_equal(qt_stream_parser_feed(&p, b + i, 1, false),
		                 i < 12 ? HT_ERR_NEED_MORE : 1);
	assert_memory_equal(p.info.error_payload, b + 4, 3);
	/* After Error..., End the sender MUST FIN: data is a violation. */
	assert_int_equal(feed_all(&p, false, b, sizeof(b), false), HT_ERR_TRAILING);
	assert_int_equal(qt_stream_parser_feed(&p, NULL, 0, true), HT_ERR_TRAILING);
	assert_int_equal(feed_all(&p, false, b, 13, false), 13);
	assert_int_equal(qt_stream_parser_feed(&p, NULL, 0, false), 0);
	assert_int_equal(qt_stream_parser_feed(&p, b, 1, false), HT_ERR_TRAILING);
	assert_int_equal(qt_stream_error_code(HT_ERR_TRAILING), QT_ERR_PROTOCOL_VIOLATION);
	/* On a peer stream, Connect then Error then End is accepted. */
	{
		uint8_t c[40];

		memcpy(c, fig5, 20);
		memcpy(c + 20, b + 7, 6);
		assert_int_equal(feed_all(&p, true, c, 26, true), 26);
		assert_int_equal(p.info.seen, QT_SEEN_CONNECT | QT_SEEN_ERROR | QT_SEEN_END);
	}
}

struct violation {
	const char *what;
	bool peer_opened;
	uint8_t bytes[64];
	size_t len;
	bool fin;
	int err;
	uint16_t code;
};

#define CONNECT_V4 0x00, 0x12, 0x01, 0xbb, V4_192_0_2_1
#define EXT_V4 0x01, 0x24, 0x01, 0xbb, V4_192_0_2_1, 0x00, 0x50, V6_DOC
#define SESSION_ID16 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16

/* One row per violation reads better as a table. */
/* clang-format off */
static const struct violation violations[] = {
	{"Connect on our stream", false, {CONNECT_V4, 0xff, 0}, 22, false,
	 HT_ERR_WRONG_SENDER, QT_ERR_PROTOCOL_VIOLATION},
	{"Ext Connect on our stream", false, {EXT_V4, 0xff, 0}, 40, false,
	 HT_ERR_WRONG_SENDER, QT_ERR_PROTOCOL_VIOLATION},
	{"Connect OK on peer stream", true, {0x02, 0, 0xff, 0}, 4, false,
	 HT_ERR_WRONG_SENDER, QT_ERR_PROTOCOL_VIOLATION},
	{"two Connects", true, {CONNECT_V4, CONNECT_V4}, 40, false,
	 HT_ERR_DUPLICATE, QT_ERR_PROTOCOL_VIOLATION},
	{"Connect then Ext Connect", true, {CONNECT_V4, EXT_V4}, 58, false,
	 HT_ERR_DUPLICATE, QT_ERR_PROTOCOL_VIOLATION},
	{"Ext Connect then Connect", true, {EXT_V4, CONNECT_V4}, 58, false,
	 HT_ERR_DUPLICATE, QT_ERR_PROTOCOL_VIOLATION},
	{"two Connect OK", false, {0x02, 0, 0x02, 0}, 4, false,
	 HT_ERR_DUPLICATE, QT_ERR_PROTOCOL_VIOLATION},
	{"Connect OK after Error", false, {0x03, 0x02, 0, 3, 0x02, 0}, 6, false,
	 HT_ERR_ORDER, QT_ERR_PROTOCOL_VIOLATION},
	{"Connect after Error", true, {0x03, 0x02, 0, 3, CONNECT_V4}, 24, false,
	 HT_ERR_ORDER, QT_ERR_PROTOCOL_VIOLATION},
	{"End without Connect (peer stream)", true, {0xff, 0}, 2, false,
	 HT_ERR_ORDER, QT_ERR_PROTOCOL_VIOLATION},
	{"Error, End without Connect (peer stream)", true, {0x03, 0x02, 0, 2, 0xff, 0}, 6,
	 true, HT_ERR_ORDER, QT_ERR_PROTOCOL_VIOLATION},
	{"End without answer (our stream)", false, {0xff, 0, 'a'}, 3, false,
	 HT_ERR_ORDER, QT_ERR_PROTOCOL_VIOLATION},
	{"FIN before End", true, {CONNECT_V4}, 20, true,
	 HT_ERR_TRUNCATED, QT_ERR_PROTOCOL_VIOLATION},
	{"FIN inside a TLV", true, {CONNECT_V4}, 11, true,
	 HT_ERR_TRUNCATED, QT_ERR_PROTOCOL_VIOLATION},
	{"FIN on an empty stream", true, {0}, 0, true,
	 HT_ERR_TRUNCATED, QT_ERR_PROTOCOL_VIOLATION},
	{"data after Error, End", false, {0x03, 0x02, 0, 3, 0xff, 0, 'd'}, 7, false,
	 HT_ERR_TRAILING, QT_ERR_PROTOCOL_VIOLATION},
	{"unknown type", true, {CONNECT_V4, 0x07, 0x00, 0xff, 0}, 24, false,
	 HT_ERR_BAD_TYPE, QT_ERR_UNKNOWN_TLV},
	{"Connect Length 17", true, {0x00, 0x11}, 2, false,
	 HT_ERR_BAD_LENGTH, QT_ERR_MALFORMED_TLV},
	{"End with a value", true, {CONNECT_V4, 0xff, 0x01, 0x00}, 23, false,
	 HT_ERR_BAD_LENGTH, QT_ERR_MALFORMED_TLV},
	{"loopback destination", true, {0x00, 0x12, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					 0, 0, 0, 1, 0xff, 0}, 22, false,
	 HT_ERR_BAD_ADDRESS, QT_ERR_MALFORMED_TLV},
	/* quic-tunnel-01's control TLVs on a data stream (they MUST NOT be
	 * sent there): read as stream-mode TLVs, whose types 0x00-0x02 have
	 * fixed lengths 18 / 36 / 0, so hatun's 16-byte Session IDs and
	 * New Session's empty value are Malformed on either end's stream
	 * (docs/protocol/sessions.md "Control TLVs on a data stream"). */
	{"New Session on a data stream (peer's)", true, {0x00, 0x00}, 2, false,
	 HT_ERR_BAD_LENGTH, QT_ERR_MALFORMED_TLV},
	{"New Session on a data stream (ours)", false, {0x00, 0x00}, 2, false,
	 HT_ERR_BAD_LENGTH, QT_ERR_MALFORMED_TLV},
	{"Session ID on a data stream (peer's)", true, {0x01, 0x10, SESSION_ID16}, 18, false,
	 HT_ERR_BAD_LENGTH, QT_ERR_MALFORMED_TLV},
	{"Session ID on a data stream (ours)", false, {0x01, 0x10, SESSION_ID16}, 18, false,
	 HT_ERR_BAD_LENGTH, QT_ERR_MALFORMED_TLV},
	{"Join Session on a data stream (peer's)", true, {0x02, 0x10, SESSION_ID16}, 18, false,
	 HT_ERR_BAD_LENGTH, QT_ERR_MALFORMED_TLV},
	{"Join Session on a data stream (ours)", false, {0x02, 0x10, SESSION_ID16}, 18, false,
	 HT_ERR_BAD_LENGTH, QT_ERR_MALFORMED_TLV},
};
/* clang-format on */

static void test_violations(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(violations) / sizeof(violations[0]); i++) {
		const struct violation *v = &violations[i];
		struct qt_stream_parser p;
		int r;

		print_message("  %s\n", v->what);
		/* Whole. */
		r = feed_all(&p, v->peer_opened, v->bytes, v->len, v->fin);
		assert_int_equal(r, v->err);
		assert_int_equal(qt_stream_error_code(r), v->code);
		/* Sticky. */
		assert_int_equal(qt_stream_parser_feed(&p, v->bytes, v->len, false), v->err);
		/* Byte by byte: the same verdict. */
		qt_stream_parser_init(&p, v->peer_opened);
		r = HT_ERR_NEED_MORE;
		for (size_t k = 0; k < v->len && (r == HT_ERR_NEED_MORE || r >= 0); k++)
			r = qt_stream_parser_feed(&p, v->bytes + k, 1, false);
		if (v->fin && (r == HT_ERR_NEED_MORE || r >= 0))
			r = qt_stream_parser_feed(&p, NULL, 0, true);
		assert_int_equal(r, v->err);
	}
}

static void test_reject_reply(void **state)
{
	static const uint8_t unknown[] = {0x42, 0x00};
	uint8_t b[16];
	struct qt_stream_parser p;

	(void)state;
	assert_int_equal(feed_all(&p, true, unknown, 2, false), HT_ERR_BAD_TYPE);
	assert_int_equal(p.bad_type, 0x42);
	assert_int_equal(qt_stream_write_reject(b, sizeof(b), &p), 7);
	assert_memory_equal(b, ((const uint8_t[]){0x03, 0x03, 0x00, 0x00, 0x42, 0xff, 0x00}), 7);
	assert_int_equal(qt_stream_write_reject(b, 6, &p), HT_ERR_NOBUF);
	/* Malformed: no payload. */
	assert_int_equal(feed_all(&p, true, (const uint8_t[]){0x00, 0x11}, 2, false),
	                 HT_ERR_BAD_LENGTH);
	assert_int_equal(qt_stream_write_reject(b, sizeof(b), &p), 6);
	assert_memory_equal(b, ((const uint8_t[]){0x03, 0x02, 0x00, 0x02, 0xff, 0x00}), 6);
	/* Protocol violation. */
	assert_int_equal(feed_all(&p, true, (const uint8_t[]){0xff, 0x00}, 2, false), HT_ERR_ORDER);
	assert_int_equal(qt_stream_write_reject(b, sizeof(b), &p), 6);
	assert_memory_equal(b, ((const uint8_t[]){0x03, 0x02, 0x00, 0x04, 0xff, 0x00}), 6);
	/* Nothing to reject. */
	assert_int_equal(feed_all(&p, true, fig5, sizeof(fig5), false), 22);
	assert_int_equal(qt_stream_write_reject(b, sizeof(b), &p), HT_ERR_INVAL);
	/* On our own stream our header is out: reset instead, no Error TLV. */
	assert_int_equal(feed_all(&p, false, (const uint8_t[]){0xff, 0x00}, 2, false),
	                 HT_ERR_ORDER);
	assert_int_equal(qt_stream_write_reject(b, sizeof(b), &p), HT_ERR_INVAL);
}

static void test_codes(void **state)
{
	(void)state;
	assert_int_equal(QT_STREAM_RESET_TCP_CONNECTION_RESET, 0);
	assert_int_equal(qt_stream_error_code(HT_ERR_WRONG_SENDER), QT_ERR_PROTOCOL_VIOLATION);
	assert_int_equal(qt_stream_error_code(HT_ERR_DUPLICATE), QT_ERR_PROTOCOL_VIOLATION);
	assert_int_equal(qt_stream_error_code(HT_ERR_ORDER), QT_ERR_PROTOCOL_VIOLATION);
	assert_int_equal(qt_stream_error_code(HT_ERR_TRUNCATED), QT_ERR_PROTOCOL_VIOLATION);
	assert_int_equal(QT_ERR_UNKNOWN_TLV, 0);
	assert_int_equal(QT_ERR_ICMP, 1);
	assert_int_equal(QT_ERR_MALFORMED_TLV, 2);
	assert_int_equal(QT_ERR_NETWORK_FAILURE, 3);
	assert_int_equal(QT_ERR_PROTOCOL_VIOLATION, 4);
	assert_int_equal(qt_stream_parser_feed(NULL, NULL, 0, false), HT_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_connect),
	    cmocka_unit_test(test_write_ext_connect_unaligned),
	    cmocka_unit_test(test_write_small),
	    cmocka_unit_test(test_write_error),
	    cmocka_unit_test(test_write_error_icmp_truncates),
	    cmocka_unit_test(test_write_generic),
	    cmocka_unit_test(test_parse_connect),
	    cmocka_unit_test(test_parse_bad_type),
	    cmocka_unit_test(test_parse_bad_length),
	    cmocka_unit_test(test_parse_bad_address),
	    cmocka_unit_test(test_fig5_whole),
	    cmocka_unit_test(test_fig5_byte_by_byte),
	    cmocka_unit_test(test_fig5_every_split),
	    cmocka_unit_test(test_concentrator_reply),
	    cmocka_unit_test(test_ext_connect_stream),
	    cmocka_unit_test(test_error_then_end),
	    cmocka_unit_test(test_violations),
	    cmocka_unit_test(test_reject_reply),
	    cmocka_unit_test(test_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
