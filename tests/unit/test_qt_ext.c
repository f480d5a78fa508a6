/* Unit tests for src/proto/qt_ext.c: hatun's address-assignment TLVs on the
 * QUIC tunnel control stream (docs/protocol/datagram-config.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proto/addr.h"
#include "proto/err.h"
#include "proto/qt_ext.h"

#define C QT_CTRL_CLIENT
#define S QT_CTRL_CONCENTRATOR

/* Address Request: any IPv4 address, any IPv6 address. */
static const uint8_t req_any[] = {
    0x40, 0x18,                                                          /* type, Length 24 */
    0x04, 0x00, 0x00, 0x00, 0x00, 0x20,                                  /* 4, 0.0.0.0, /32 */
    0x06, 0,    0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 6, :: */
    0x80,                                                                /* /128 */
};
/* Address Request: 10.8.0.5 preferred. */
static const uint8_t req_pref[] = {0x40, 0x06, 0x04, 0x0a, 0x08, 0x00, 0x05, 0x20};
static const uint8_t req_none[] = {0x40, 0x00};

static const uint8_t assign4[] = {0x41, 0x06, 0x04, 0x0a, 0x08, 0x00, 0x02, 0x20};
static const uint8_t assign6[] = {0x41, 0x12, 0x06, 0x20, 0x01, 0x0d, 0xb8, 0, 0,    0,
                                  0,    0,    0,    0,    0,    0,    0,    0, 0x02, 0x80};
static const uint8_t mtu1280[] = {0x42, 0x02, 0x05, 0x00};
static const uint8_t dns4[] = {0x43, 0x05, 0x04, 0x0a, 0x08, 0x00, 0x01};
static const uint8_t route4_all[] = {0x44, 0x06, 0x04, 0, 0, 0, 0, 0x00};
static const uint8_t route6_all[] = {0x44, 0x12, 0x06, 0, 0, 0, 0, 0, 0, 0,
                                     0,    0,    0,    0, 0, 0, 0, 0, 0, 0x00};
static const uint8_t done[] = {0x45, 0x00};

/* The full configuration: two addresses, MTU, DNS, full tunnel, Done, in
 * the order qt_ext_write_config() emits. */
static uint8_t full[128];
static size_t full_len;

static void cat(const uint8_t *p, size_t n)
{
	memcpy(full + full_len, p, n);
	full_len += n;
}

static int setup_full(void **state)
{
	(void)state;
	full_len = 0;
	cat(assign4, sizeof(assign4));
	cat(assign6, sizeof(assign6));
	cat(mtu1280, sizeof(mtu1280));
	cat(dns4, sizeof(dns4));
	cat(route4_all, sizeof(route4_all));
	cat(route6_all, sizeof(route6_all));
	cat(done, sizeof(done));
	return 0;
}

static struct qt_ext_prefix v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t len)
{
	struct qt_ext_prefix p = {.version = 4, .len = len};

	ht_addr_map_v4(p.addr, (const uint8_t[]){a, b, c, d});
	return p;
}

static struct qt_ext_prefix v6(uint16_t w0, uint16_t w7, uint8_t len)
{
	struct qt_ext_prefix p = {.version = 6, .len = len};

	p.addr[0] = (uint8_t)(w0 >> 8);
	p.addr[1] = (uint8_t)w0;
	p.addr[14] = (uint8_t)(w7 >> 8);
	p.addr[15] = (uint8_t)w7;
	return p;
}

static struct qt_ext_config expected_full(void)
{
	struct qt_ext_config c;

	memset(&c, 0, sizeof(c));
	c.addr[c.naddr++] = v4(10, 8, 0, 2, 32);
	c.addr[c.naddr++] = v6(0x2001, 2, 128);
	c.addr[1].addr[2] = 0x0d;
	c.addr[1].addr[3] = 0xb8;
	c.mtu = 1280;
	c.dns[c.ndns++] = v4(10, 8, 0, 1, 32);
	c.route[c.nroute++] = v4(0, 0, 0, 0, 0);
	c.route[c.nroute++] = v6(0, 0, 0);
	return c;
}

/* Feed buf in the given chunk sizes (0-terminated list, the rest in one
 * piece); collect at most one message; return the final verdict. */
static int feed_chunks(struct qt_ext_asm *a, const uint8_t *buf, size_t len, const size_t *chunks,
                       bool fin, struct qt_ext_msg *msg, int *nmsg)
{
	size_t pos = 0;
	int v = 0;

	*nmsg = 0;
	while (pos < len || (fin && !a->fin && a->err == 0)) {
		size_t n = (chunks && *chunks) ? *chunks++ : len - pos;
		size_t off = 0;

		if (n > len - pos)
			n = len - pos;
		for (;;) {
			struct qt_ext_msg m;
			size_t used;

			v = qt_ext_asm_feed(a, buf ? buf + pos + off : NULL, n - off,
			                    fin && pos + n == len, &used, &m);
			off += used;
			if (v < 0)
				return v;
			if (v == 1) {
				*msg = m;
				(*nmsg)++;
				if (off < n)
					continue;
			}
			break;
		}
		pos += n;
		if (pos == len && (!fin || a->fin))
			break;
	}
	return v < 0 ? v : 0;
}

static void test_tlv_vectors(void **state)
{
	struct {
		const uint8_t *b;
		size_t n;
		enum qt_ctrl_role sender;
	} v[] = {
	    {req_any, sizeof(req_any), C},
	    {req_pref, sizeof(req_pref), C},
	    {req_none, sizeof(req_none), C},
	    {assign4, sizeof(assign4), S},
	    {assign6, sizeof(assign6), S},
	    {mtu1280, sizeof(mtu1280), S},
	    {dns4, sizeof(dns4), S},
	    {route4_all, sizeof(route4_all), S},
	    {route6_all, sizeof(route6_all), S},
	    {done, sizeof(done), S},
	};
	struct qt_ext_tlv t;
	uint8_t out[QT_EXT_TLV_MAX_SIZE];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(qt_ext_parse(&t, v[i].b, v[i].n, v[i].sender), (int)v[i].n);
		assert_int_equal(t.type, v[i].b[0]);
		assert_int_equal(qt_ext_write(out, sizeof(out), &t), (int)v[i].n);
		assert_memory_equal(out, v[i].b, v[i].n);
		for (size_t n = 0; n < v[i].n; n++)
			assert_int_equal(qt_ext_write(out, n, &t), HT_ERR_NOBUF);
		for (size_t n = 0; n < v[i].n; n++)
			assert_int_equal(qt_ext_parse(&t, v[i].b, n, v[i].sender),
			                 HT_ERR_NEED_MORE);
		/* The other role may not send it (seen on the first byte). */
		assert_int_equal(qt_ext_parse(&t, v[i].b, 1, v[i].sender == C ? S : C),
		                 HT_ERR_WRONG_SENDER);
	}
	/* Decoded forms. */
	assert_int_equal(qt_ext_parse(&t, req_any, sizeof(req_any), C), 26);
	assert_int_equal(t.req.n, 2);
	assert_int_equal(t.req.want[0].version, 4);
	assert_int_equal(t.req.want[0].len, 32);
	assert_int_equal(t.req.want[0].addr[10], 0xff); /* IPv4-mapped */
	assert_int_equal(t.req.want[1].version, 6);
	assert_int_equal(t.req.want[1].len, 128);
	assert_int_equal(qt_ext_parse(&t, mtu1280, 4, S), 4);
	assert_int_equal(t.mtu, 1280);
	assert_int_equal(qt_ext_parse(&t, dns4, sizeof(dns4), S), 7);
	assert_int_equal(t.p.len, 32);
	assert_int_equal(t.p.addr[15], 1);
	/* Trailing bytes belong to the next TLV. */
	assert_int_equal(qt_ext_parse(&t, full, full_len, S), 8);
}

static void test_writers(void **state)
{
	uint8_t b[300];
	struct qt_ext_prefix p = v4(10, 8, 0, 2, 32);
	struct qt_ext_request r = {0};

	(void)state;
	assert_int_equal(qt_ext_write_addr_assign(b, sizeof(b), &p), 8);
	assert_memory_equal(b, assign4, 8);
	assert_int_equal(qt_ext_write_addr_assign(b, 7, &p), HT_ERR_NOBUF);
	assert_int_equal(qt_ext_write_tunnel_mtu(b, sizeof(b), 1280), 4);
	assert_memory_equal(b, mtu1280, 4);
	assert_int_equal(qt_ext_write_tunnel_mtu(b, 3, 1280), HT_ERR_NOBUF);
	assert_int_equal(qt_ext_write_tunnel_mtu(b, 4, 575), HT_ERR_BAD_VALUE);
	assert_int_equal(qt_ext_write_tunnel_mtu(b, 4, 65535), 4);
	assert_int_equal(qt_ext_write_config_done(b, 2), 2);
	assert_memory_equal(b, done, 2);
	assert_int_equal(qt_ext_write_config_done(b, 1), HT_ERR_NOBUF);
	p = v4(10, 8, 0, 1, 32);
	assert_int_equal(qt_ext_write_dns_server(b, sizeof(b), &p), 7);
	assert_memory_equal(b, dns4, 7);
	p.len = 0; /* DNS entries carry the full length */
	assert_int_equal(qt_ext_write_dns_server(b, sizeof(b), &p), HT_ERR_INVAL);
	p = v4(0, 0, 0, 0, 0);
	assert_int_equal(qt_ext_write_route(b, sizeof(b), &p), 8);
	assert_memory_equal(b, route4_all, 8);
	p = v6(0, 0, 0);
	assert_int_equal(qt_ext_write_route(b, sizeof(b), &p), 20);
	assert_memory_equal(b, route6_all, 20);
	/* Requests. */
	assert_int_equal(qt_ext_write_addr_request(b, sizeof(b), &r), 2);
	assert_memory_equal(b, req_none, 2);
	r.want[r.n++] = v4(0, 0, 0, 0, 32);
	r.want[r.n++] = v6(0, 0, 128);
	assert_int_equal(qt_ext_write_addr_request(b, sizeof(b), &r), 26);
	assert_memory_equal(b, req_any, 26);
	assert_int_equal(qt_ext_write_addr_request(b, 25, &r), HT_ERR_NOBUF);
	r.want[1] = r.want[0];
	assert_int_equal(qt_ext_write_addr_request(b, sizeof(b), &r), HT_ERR_DUPLICATE);
	r.n = QT_EXT_MAX_ADDRS + 1;
	assert_int_equal(qt_ext_write_addr_request(b, sizeof(b), &r), HT_ERR_TOO_LONG);
	/* The writers refuse what the parser refuses. */
	p = v4(127, 0, 0, 1, 32);
	assert_int_equal(qt_ext_write_addr_assign(b, sizeof(b), &p), HT_ERR_BAD_ADDRESS);
	p = v4(10, 8, 0, 1, 24);
	assert_int_equal(qt_ext_write_route(b, sizeof(b), &p), HT_ERR_BAD_VALUE);
	p = v4(10, 8, 0, 0, 33);
	assert_int_equal(qt_ext_write_route(b, sizeof(b), &p), HT_ERR_BAD_VALUE);
	p = v4(10, 8, 0, 0, 24);
	p.version = 6; /* a mapped address called IPv6 */
	assert_int_equal(qt_ext_write_route(b, sizeof(b), &p), HT_ERR_BAD_ADDRESS);
	p = v6(0x2001, 0, 64);
	p.version = 4; /* an IPv6 address called IPv4 */
	assert_int_equal(qt_ext_write_route(b, sizeof(b), &p), HT_ERR_INVAL);
	p.version = 5;
	assert_int_equal(qt_ext_write_route(b, sizeof(b), &p), HT_ERR_BAD_VALUE);
	assert_int_equal(qt_ext_write_route(NULL, 20, &p), HT_ERR_INVAL);
	assert_int_equal(qt_ext_write_route(b, 20, NULL), HT_ERR_INVAL);
	assert_int_equal(qt_ext_write_addr_request(b, 20, NULL), HT_ERR_INVAL);
	assert_int_equal(qt_ext_write_tunnel_mtu(NULL, 4, 1500), HT_ERR_INVAL);
	assert_int_equal(qt_ext_write_config_done(NULL, 2), HT_ERR_INVAL);
	assert_int_equal(qt_ext_write(b, 2, NULL), HT_ERR_INVAL);
}

static void test_parse_errors(void **state)
{
	struct qt_ext_tlv t;
	/* {bytes, len, sender, expected} */
	struct {
		uint8_t b[24];
		size_t n;
		enum qt_ctrl_role sender;
		int want;
	} v[] = {
	    /* types */
	    {{0x46, 0x00}, 2, S, HT_ERR_BAD_TYPE},
	    {{0x46}, 1, S, HT_ERR_NEED_MORE}, /* type reported with its Length */
	    {{0x7f, 0x00}, 2, C, HT_ERR_BAD_TYPE},
	    {{0x00, 0x00}, 2, C, HT_ERR_BAD_TYPE}, /* New Session is qt_ctrl's */
	    {{0xff, 0x00}, 2, S, HT_ERR_BAD_TYPE},
	    /* senders */
	    {{0x41}, 1, C, HT_ERR_WRONG_SENDER},
	    {{0x45}, 1, C, HT_ERR_WRONG_SENDER},
	    {{0x40}, 1, S, HT_ERR_WRONG_SENDER},
	    /* lengths, detected on byte 2 */
	    {{0x41, 0x05}, 2, S, HT_ERR_BAD_LENGTH},
	    {{0x41, 0x11}, 2, S, HT_ERR_BAD_LENGTH},
	    {{0x44, 0x07}, 2, S, HT_ERR_BAD_LENGTH},
	    {{0x43, 0x06}, 2, S, HT_ERR_BAD_LENGTH},
	    {{0x42, 0x01}, 2, S, HT_ERR_BAD_LENGTH},
	    {{0x42, 0x04}, 2, S, HT_ERR_BAD_LENGTH},
	    {{0x45, 0x01}, 2, S, HT_ERR_BAD_LENGTH},
	    /* Length and Version disagree */
	    {{0x43, 0x11, 0x04}, 19, S, HT_ERR_BAD_LENGTH},
	    {{0x43, 0x05, 0x06, 1, 2, 3, 4}, 7, S, HT_ERR_BAD_LENGTH},
	    {{0x41, 0x06, 0x06, 1, 2, 3, 4, 0x20}, 8, S, HT_ERR_BAD_LENGTH},
	    {{0x40, 0x07, 0x04, 10, 0, 0, 5, 32, 0x04}, 9, C, HT_ERR_BAD_LENGTH},
	    {{0x40, 0x05, 0x04, 10, 0, 0, 5}, 7, C, HT_ERR_BAD_LENGTH},
	    /* values */
	    {{0x41, 0x06, 0x05, 10, 8, 0, 2, 32}, 8, S, HT_ERR_BAD_VALUE}, /* version 5 */
	    {{0x41, 0x06, 0x04, 10, 8, 0, 2, 33}, 8, S, HT_ERR_BAD_VALUE}, /* /33 */
	    {{0x41, 0x06, 0x04, 10, 8, 0, 2, 0}, 8, S, HT_ERR_BAD_VALUE},  /* /0 host bits */
	    {{0x41, 0x06, 0x04, 10, 8, 0, 2, 24}, 8, S, HT_ERR_BAD_VALUE}, /* host bits */
	    {{0x41, 0x06, 0x04, 10, 8, 0, 0, 24}, 8, S, 8},                /* a /24 */
	    {{0x44, 0x06, 0x04, 10, 8, 0, 1, 31}, 8, S, HT_ERR_BAD_VALUE}, /* host bit */
	    {{0x44, 0x06, 0x04, 10, 8, 0, 0, 23}, 8, S, 8},                /* 10.8.0.0/23 */
	    {{0x44, 0x06, 0x04, 10, 9, 0, 0, 15}, 8, S, HT_ERR_BAD_VALUE}, /* 10.9/15 */
	    {{0x42, 0x02, 0x02, 0x3f}, 4, S, HT_ERR_BAD_VALUE},            /* MTU 575 */
	    {{0x42, 0x02, 0x02, 0x40}, 4, S, 4},                           /* MTU 576 */
	    {{0x42, 0x02, 0xff, 0xff}, 4, S, 4},                           /* MTU 65535 */
	    {{0x40, 0x06, 0x04, 0, 0, 0, 0, 0}, 8, C, HT_ERR_BAD_VALUE},   /* any /0 */
	    {{0x40, 0x06, 0x04, 10, 0, 0, 5, 24}, 8, C, HT_ERR_BAD_VALUE}, /* host bits */
	    {{0x40, 0x06, 0x04, 0, 0, 0, 0, 24}, 8, C, 8},                 /* any /24 */
	    /* addresses */
	    {{0x41, 0x06, 0x04, 127, 0, 0, 1, 32}, 8, S, HT_ERR_BAD_ADDRESS},
	    {{0x41, 0x06, 0x04, 0, 0, 0, 1, 32}, 8, S, HT_ERR_BAD_ADDRESS},
	    {{0x41, 0x06, 0x04, 224, 0, 0, 1, 32}, 8, S, HT_ERR_BAD_ADDRESS},
	    {{0x41, 0x06, 0x04, 255, 255, 255, 255, 32}, 8, S, HT_ERR_BAD_ADDRESS},
	    {{0x41, 0x06, 0x04, 169, 254, 0, 1, 32}, 8, S, 8}, /* link-local: allowed */
	    {{0x43, 0x05, 0x04, 127, 0, 0, 53}, 7, S, HT_ERR_BAD_ADDRESS},
	    {{0x43, 0x05, 0x04, 0, 0, 0, 0}, 7, S, HT_ERR_BAD_ADDRESS},
	    {{0x43, 0x11, 0x06, 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
	     19,
	     S,
	     HT_ERR_BAD_ADDRESS},
	    {{0x43, 0x11, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 8, 0, 1},
	     19,
	     S,
	     HT_ERR_BAD_ADDRESS}, /* IPv4-mapped as IPv6 */
	    {{0x40, 0x06, 0x04, 127, 0, 0, 1, 32}, 8, C, HT_ERR_BAD_ADDRESS},
	    {{0x44, 0x06, 0x04, 127, 0, 0, 0, 8}, 8, S, HT_ERR_BAD_ADDRESS},
	    {{0x44, 0x06, 0x04, 224, 0, 0, 0, 4}, 8, S, HT_ERR_BAD_ADDRESS},
	    {{0x44, 0x06, 0x04, 169, 254, 0, 0, 16}, 8, S, HT_ERR_BAD_ADDRESS},
	    {{0x44, 0x06, 0x04, 0, 0, 0, 0, 8}, 8, S, 8}, /* 0/8: allowed */
	    {{0x44, 0x12, 0x06, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10},
	     20,
	     S,
	     HT_ERR_BAD_ADDRESS},
	    {{0x44, 0x12, 0x06, 0xff, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8},
	     20,
	     S,
	     HT_ERR_BAD_ADDRESS},
	    {{0x44, 0x12, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 128},
	     20,
	     S,
	     HT_ERR_BAD_ADDRESS}, /* ::1/128 */
	    {{0x44, 0x12, 0x06, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 129},
	     20,
	     S,
	     HT_ERR_BAD_VALUE},
	    {{0x44, 0x12, 0x06, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32},
	     20,
	     S,
	     20},
	    {{0x44, 0x12, 0x06, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 28},
	     20,
	     S,
	     HT_ERR_BAD_VALUE},
	};
	uint8_t req9[2 + 9 * 6], req_dup[14];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int r = qt_ext_parse(&t, v[i].b, v[i].n, v[i].sender);

		if (r != v[i].want)
			fail_msg("vector %zu (%02x %02x %02x..): got %d, want %d", i, v[i].b[0],
			         v[i].b[1], v[i].b[3], r, v[i].want);
	}
	/* Type and Length are passed up with a BAD_TYPE, for the log. */
	assert_int_equal(qt_ext_parse(&t, (const uint8_t[]){0x50, 0x09}, 2, S), HT_ERR_BAD_TYPE);
	assert_int_equal(t.type, 0x50);
	assert_int_equal(t.len, 9);
	/* Nine request entries. */
	req9[0] = QT_EXT_ADDR_REQUEST;
	req9[1] = 9 * 6;
	for (int i = 0; i < 9; i++)
		memcpy(req9 + 2 + 6 * i, (const uint8_t[]){4, 10, 0, 0, (uint8_t)(i + 1), 32}, 6);
	assert_int_equal(qt_ext_parse(&t, req9, sizeof(req9) - 6, C), HT_ERR_NEED_MORE);
	req9[1] = 8 * 6;
	assert_int_equal(qt_ext_parse(&t, req9, sizeof(req9), C), (int)sizeof(req9) - 6);
	assert_int_equal(t.req.n, 8);
	req9[1] = 9 * 6;
	assert_int_equal(qt_ext_parse(&t, req9, sizeof(req9), C), HT_ERR_TOO_LONG);
	memcpy(req_dup, (const uint8_t[]){0x40, 12, 4, 0, 0, 0, 0, 32, 4, 0, 0, 0, 0, 32}, 14);
	assert_int_equal(qt_ext_parse(&t, req_dup, sizeof(req_dup), C), HT_ERR_DUPLICATE);
	/* Arguments. */
	assert_int_equal(qt_ext_parse(NULL, done, 2, S), HT_ERR_INVAL);
	assert_int_equal(qt_ext_parse(&t, NULL, 2, S), HT_ERR_INVAL);
	assert_int_equal(qt_ext_parse(&t, done, 2, (enum qt_ctrl_role)7), HT_ERR_INVAL);
	assert_int_equal(qt_ext_parse(&t, NULL, 0, S), HT_ERR_NEED_MORE);
	assert_true(qt_ext_is_ext_type(0x40));
	assert_true(qt_ext_is_ext_type(0x7f));
	assert_false(qt_ext_is_ext_type(0x3f));
	assert_false(qt_ext_is_ext_type(0x80));
}

static void check_full(const struct qt_ext_msg *m)
{
	struct qt_ext_config want = expected_full();

	assert_int_equal(m->type, QT_EXT_CONFIG_DONE);
	assert_true(qt_ext_config_equal(&m->cfg, &want));
}

static void test_config_feeds(void **state)
{
	struct qt_ext_asm a;
	struct qt_ext_msg m;
	int n;
	size_t ones[128];

	(void)state;
	/* Whole. */
	qt_ext_asm_init(&a, C);
	assert_int_equal(feed_chunks(&a, full, full_len, NULL, false, &m, &n), 0);
	assert_int_equal(n, 1);
	check_full(&m);
	assert_int_equal(a.messages, 1);
	/* Byte by byte. */
	for (size_t i = 0; i < full_len; i++)
		ones[i] = 1;
	qt_ext_asm_init(&a, C);
	assert_int_equal(feed_chunks(&a, full, full_len, ones, true, &m, &n), 0);
	assert_int_equal(n, 1);
	check_full(&m);
	assert_true(a.fin);
	/* Split at every offset, and in three at every pair. */
	for (size_t i = 0; i <= full_len; i++) {
		size_t two[] = {i, 0};

		qt_ext_asm_init(&a, C);
		assert_int_equal(feed_chunks(&a, full, full_len, i ? two : NULL, true, &m, &n), 0);
		assert_int_equal(n, 1);
		check_full(&m);
		for (size_t j = 1; i > 0 && j + i <= full_len; j++) {
			size_t three[] = {i, j, 0};

			qt_ext_asm_init(&a, C);
			assert_int_equal(feed_chunks(&a, full, full_len, three, false, &m, &n), 0);
			assert_int_equal(n, 1);
			check_full(&m);
		}
	}
	/* Another order, then a re-configuration on the same stream. */
	{
		uint8_t b[256];
		size_t len = 0, pos = 0, used;
		int k = 0;

#define PUT(x) (memcpy(b + len, x, sizeof(x)), len += sizeof(x))
		PUT(route6_all);
		PUT(dns4);
		PUT(mtu1280);
		PUT(assign6);
		PUT(route4_all);
		PUT(assign4);
		PUT(done);
		PUT(assign4);
		PUT(mtu1280);
		PUT(done);
#undef PUT
		qt_ext_asm_init(&a, C);
		while (pos < len) {
			int r = qt_ext_asm_feed(&a, b + pos, len - pos, false, &used, &m);

			assert_int_equal(r, 1);
			pos += used;
			assert_int_equal(m.type, QT_EXT_CONFIG_DONE);
			if (k++ == 0) {
				assert_int_equal(m.cfg.naddr, 2);
				assert_int_equal(m.cfg.addr[0].version, 6); /* as received */
				assert_int_equal(m.cfg.nroute, 2);
			} else {
				assert_int_equal(m.cfg.naddr, 1);
				assert_int_equal(m.cfg.nroute, 0);
				assert_int_equal(m.cfg.ndns, 0);
			}
		}
		assert_int_equal(k, 2);
	}
}

static void test_request_feed(void **state)
{
	struct qt_ext_asm a;
	struct qt_ext_msg m;
	uint8_t b[64];
	size_t len = 0, used;
	int n;

	(void)state;
	memcpy(b, req_any, sizeof(req_any));
	len = sizeof(req_any);
	memcpy(b + len, req_pref, sizeof(req_pref));
	len += sizeof(req_pref);
	qt_ext_asm_init(&a, S);
	assert_int_equal(qt_ext_asm_feed(&a, b, len, true, &used, &m), 1);
	assert_int_equal(used, sizeof(req_any));
	assert_int_equal(m.type, QT_EXT_ADDR_REQUEST);
	assert_int_equal(m.req.n, 2);
	assert_int_equal(qt_ext_asm_feed(&a, b + used, len - used, true, &used, &m), 1);
	assert_int_equal(m.req.n, 1);
	assert_int_equal(m.req.want[0].addr[15], 5);
	assert_true(a.fin);
	assert_int_equal(qt_ext_asm_feed(&a, NULL, 0, true, &used, &m), 0);
	/* Byte by byte. */
	{
		size_t ones[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		                 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};

		qt_ext_asm_init(&a, S);
		assert_int_equal(feed_chunks(&a, req_any, sizeof(req_any), ones, false, &m, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(m.req.n, 2);
	}
	/* A concentrator type from the client. */
	qt_ext_asm_init(&a, S);
	assert_int_equal(qt_ext_asm_feed(&a, done, 2, false, &used, &m), HT_ERR_WRONG_SENDER);
}

/* Feed bytes to a fresh client assembler; return the verdict at the end. */
static int client_verdict(const uint8_t *b, size_t n, bool fin)
{
	struct qt_ext_asm a;
	struct qt_ext_msg m;
	int k;

	qt_ext_asm_init(&a, C);
	return feed_chunks(&a, b, n, NULL, fin, &m, &k);
}

static void test_assembler_errors(void **state)
{
	uint8_t b[2048];
	size_t len;
	struct qt_ext_asm a;
	struct qt_ext_msg m;
	size_t used;

	(void)state;
	/* Negotiation TLVs again; other draft types; unknown types. */
	assert_int_equal(client_verdict((const uint8_t[]){0x01}, 1, false), HT_ERR_ORDER);
	assert_int_equal(client_verdict((const uint8_t[]){0x00, 0x00}, 2, false), HT_ERR_ORDER);
	assert_int_equal(client_verdict((const uint8_t[]){0x03, 0x02, 0, 0}, 4, false),
	                 HT_ERR_BAD_TYPE);
	assert_int_equal(client_verdict((const uint8_t[]){0x80}, 1, false), HT_ERR_BAD_TYPE);
	assert_int_equal(client_verdict((const uint8_t[]){0x5f, 0x00}, 2, false), HT_ERR_BAD_TYPE);
	assert_int_equal(client_verdict((const uint8_t[]){0x40}, 1, false), HT_ERR_WRONG_SENDER);
	/* Unknown 0x60-0x7F are skipped, even inside a configuration. */
	len = 0;
	memcpy(b, (const uint8_t[]){0x61, 0x03, 1, 2, 3, 0x7f, 0x00}, 7);
	len = 7;
	memcpy(b + len, full, full_len);
	len += full_len;
	memcpy(b + len - 2, (const uint8_t[]){0x70, 0x01, 0xaa, 0x45, 0x00}, 5);
	len += 3;
	qt_ext_asm_init(&a, C);
	assert_int_equal(qt_ext_asm_feed(&a, b, len, false, &used, &m), 1);
	assert_int_equal(used, len);
	assert_int_equal(a.ignored, 3);
	assert_int_equal(m.cfg.naddr, 2);
	/* Missing MTU; MTU twice. */
	len = 0;
	memcpy(b, assign4, 8);
	memcpy(b + 8, done, 2);
	assert_int_equal(client_verdict(b, 10, false), HT_ERR_TRUNCATED);
	assert_int_equal(client_verdict(done, 2, false), HT_ERR_TRUNCATED);
	memcpy(b, mtu1280, 4);
	memcpy(b + 4, mtu1280, 4);
	assert_int_equal(client_verdict(b, 8, false), HT_ERR_DUPLICATE);
	/* IPv6 with an MTU under 1280. */
	memcpy(b, assign6, 20);
	memcpy(b + 20, (const uint8_t[]){0x42, 0x02, 0x04, 0xff, 0x45, 0x00}, 6);
	assert_int_equal(client_verdict(b, 26, false), HT_ERR_BAD_VALUE);
	/* An IPv4-only configuration may use 576. */
	memcpy(b, assign4, 8);
	memcpy(b + 8, (const uint8_t[]){0x42, 0x02, 0x02, 0x40, 0x45, 0x00}, 6);
	assert_int_equal(client_verdict(b, 14, false), 0);
	/* An IPv6 route (or DNS server) without an IPv6 address. */
	memcpy(b, assign4, 8);
	memcpy(b + 8, mtu1280, 4);
	memcpy(b + 12, route6_all, 20);
	memcpy(b + 32, done, 2);
	assert_int_equal(client_verdict(b, 34, false), HT_ERR_MISMATCH);
	memcpy(b, assign6, 20);
	memcpy(b + 20, mtu1280, 4);
	memcpy(b + 24, dns4, 7);
	memcpy(b + 31, done, 2);
	assert_int_equal(client_verdict(b, 33, false), HT_ERR_MISMATCH);
	/* Duplicates. */
	memcpy(b, assign4, 8);
	memcpy(b + 8, assign4, 8);
	assert_int_equal(client_verdict(b, 16, false), HT_ERR_DUPLICATE);
	memcpy(b, dns4, 7);
	memcpy(b + 7, dns4, 7);
	assert_int_equal(client_verdict(b, 14, false), HT_ERR_DUPLICATE);
	memcpy(b, route4_all, 8);
	memcpy(b + 8, route4_all, 8);
	assert_int_equal(client_verdict(b, 16, false), HT_ERR_DUPLICATE);
	/* Bounds: 9 addresses, 5 DNS servers, 65 routes. */
	len = 0;
	for (int i = 0; i < 9; i++, len += 8)
		memcpy(b + len, (const uint8_t[]){0x41, 6, 4, 10, 8, 0, (uint8_t)(i + 1), 32}, 8);
	assert_int_equal(client_verdict(b, len - 8, false), 0);
	assert_int_equal(client_verdict(b, len, false), HT_ERR_TOO_LONG);
	len = 0;
	for (int i = 0; i < 5; i++, len += 7)
		memcpy(b + len, (const uint8_t[]){0x43, 5, 4, 10, 8, 0, (uint8_t)(i + 1)}, 7);
	assert_int_equal(client_verdict(b, len - 7, false), 0);
	assert_int_equal(client_verdict(b, len, false), HT_ERR_TOO_LONG);
	len = 0;
	for (int i = 0; i < 65; i++, len += 8)
		memcpy(b + len, (const uint8_t[]){0x44, 6, 4, 10, (uint8_t)i, 0, 0, 16}, 8);
	assert_int_equal(client_verdict(b, len - 8, false), 0);
	assert_int_equal(client_verdict(b, len, false), HT_ERR_TOO_LONG);
	/* FIN inside a TLV, inside a configuration; data after FIN. */
	assert_int_equal(client_verdict(full, 5, true), HT_ERR_TRUNCATED);
	assert_int_equal(client_verdict(full, 8, true), HT_ERR_TRUNCATED);
	assert_int_equal(client_verdict(full, full_len - 2, true), HT_ERR_TRUNCATED);
	assert_int_equal(client_verdict(full, full_len - 1, true), HT_ERR_TRUNCATED);
	assert_int_equal(client_verdict(full, full_len, true), 0);
	assert_int_equal(client_verdict(NULL, 0, true), 0);
	qt_ext_asm_init(&a, C);
	assert_int_equal(qt_ext_asm_feed(&a, full, full_len, true, &used, &m), 1);
	assert_true(a.fin);
	assert_int_equal(qt_ext_asm_feed(&a, done, 2, false, &used, &m), HT_ERR_TRAILING);
	/* Sticky. */
	assert_int_equal(qt_ext_asm_feed(&a, NULL, 0, false, &used, &m), HT_ERR_TRAILING);
	assert_int_equal(a.err, HT_ERR_TRAILING);
	/* A bad TLV after a good configuration: the first is delivered. */
	memcpy(b, full, full_len);
	memcpy(b + full_len, (const uint8_t[]){0x41, 0x06, 0x04, 127, 0, 0, 1, 32}, 8);
	qt_ext_asm_init(&a, C);
	assert_int_equal(qt_ext_asm_feed(&a, b, full_len + 8, false, &used, &m), 1);
	assert_int_equal(used, full_len);
	assert_int_equal(qt_ext_asm_feed(&a, b + used, 8, false, &used, &m), HT_ERR_BAD_ADDRESS);
	/* Arguments. */
	assert_int_equal(qt_ext_asm_feed(NULL, b, 1, false, &used, &m), HT_ERR_INVAL);
	assert_int_equal(qt_ext_asm_feed(&a, NULL, 1, false, &used, &m), HT_ERR_INVAL);
	assert_int_equal(qt_ext_asm_feed(&a, b, 1, false, NULL, &m), HT_ERR_INVAL);
	assert_int_equal(qt_ext_asm_feed(&a, b, 1, false, &used, NULL), HT_ERR_INVAL);
}

static void test_config_writer(void **state)
{
	struct qt_ext_config c = expected_full(), d;
	uint8_t b[QT_EXT_CONFIG_MAX_SIZE];
	struct qt_ext_asm a;
	struct qt_ext_msg m;
	size_t used;
	int n;

	(void)state;
	n = qt_ext_write_config(b, sizeof(b), &c);
	assert_int_equal(n, (int)full_len);
	assert_memory_equal(b, full, full_len);
	for (size_t cap = 0; cap < full_len; cap++)
		assert_int_equal(qt_ext_write_config(b, cap, &c), HT_ERR_NOBUF);
	/* The largest configuration fits QT_EXT_CONFIG_MAX_SIZE and round-trips. */
	memset(&c, 0, sizeof(c));
	for (unsigned i = 0; i < QT_EXT_MAX_ADDRS; i++)
		c.addr[c.naddr++] = v6(0x2001, (uint16_t)(i + 1), 128);
	for (unsigned i = 0; i < QT_EXT_MAX_DNS; i++)
		c.dns[c.ndns++] = v6(0x2001, (uint16_t)(0x53 + i), 128);
	for (unsigned i = 0; i < QT_EXT_MAX_ROUTES; i++) {
		c.route[c.nroute] = v6(0x2001, 0, 64);
		c.route[c.nroute].addr[7] = (uint8_t)i;
		c.nroute++;
	}
	c.mtu = 1400;
	n = qt_ext_write_config(b, sizeof(b), &c);
	assert_int_equal(n, (int)QT_EXT_CONFIG_MAX_SIZE);
	qt_ext_asm_init(&a, C);
	assert_int_equal(qt_ext_asm_feed(&a, b, (size_t)n, false, &used, &m), 1);
	assert_int_equal(used, (size_t)n);
	assert_true(qt_ext_config_equal(&m.cfg, &c));
	/* The writer applies the receiver's rules. */
	d = c;
	d.mtu = 1279;
	assert_int_equal(qt_ext_write_config(b, sizeof(b), &d), HT_ERR_BAD_VALUE);
	d.mtu = 0;
	assert_int_equal(qt_ext_write_config(b, sizeof(b), &d), HT_ERR_TRUNCATED);
	d = c;
	d.nroute = QT_EXT_MAX_ROUTES + 1;
	assert_int_equal(qt_ext_write_config(b, sizeof(b), &d), HT_ERR_TOO_LONG);
	d = c;
	d.addr[1] = d.addr[0];
	assert_int_equal(qt_ext_write_config(b, sizeof(b), &d), HT_ERR_DUPLICATE);
	d = c;
	d.naddr = 0;
	assert_int_equal(qt_ext_write_config(b, sizeof(b), &d), HT_ERR_MISMATCH);
	d = c;
	d.route[3].len = 8;
	assert_int_equal(qt_ext_write_config(b, sizeof(b), &d), HT_ERR_BAD_VALUE);
	assert_int_equal(qt_ext_write_config(NULL, 10, &c), HT_ERR_INVAL);
	assert_int_equal(qt_ext_write_config(b, 10, NULL), HT_ERR_INVAL);
	assert_int_equal(qt_ext_config_check(NULL), HT_ERR_INVAL);
	/* A configuration with no addresses (nothing routed). */
	memset(&d, 0, sizeof(d));
	d.mtu = 1500;
	assert_int_equal(qt_ext_write_config(b, sizeof(b), &d), 6);
	assert_memory_equal(b, ((const uint8_t[]){0x42, 0x02, 0x05, 0xdc, 0x45, 0x00}), 6);
}

/* Path Preference (0x60, client only): vectors, writer, and the
 * concentrator's assembler delivering it between Address Requests. */
static void test_path_pref(void **state)
{
	static const uint8_t pref[] = {0x60, 0x04, 0x01, 0x01, 0x00, 0x0a};
	struct qt_ext_path_pref p = {.scheduler = QT_EXT_SCHED_WEIGHTED, .backup = true, .weight = 10};
	struct qt_ext_tlv t;
	struct qt_ext_asm a;
	struct qt_ext_msg m;
	uint8_t b[64];
	size_t used;

	(void)state;
	assert_int_equal(qt_ext_parse(&t, pref, sizeof(pref), C), 6);
	assert_int_equal(t.type, QT_EXT_PATH_PREF);
	assert_int_equal(t.pref.scheduler, QT_EXT_SCHED_WEIGHTED);
	assert_true(t.pref.backup);
	assert_int_equal(t.pref.weight, 10);
	assert_int_equal(qt_ext_write_path_pref(b, sizeof(b), &p), 6);
	assert_memory_equal(b, pref, 6);
	assert_int_equal(qt_ext_write(b, sizeof(b), &t), 6);
	assert_memory_equal(b, pref, 6);
	assert_int_equal(qt_ext_write_path_pref(b, 5, &p), HT_ERR_NOBUF);
	/* reserved flag bits must be 0 */
	assert_int_equal(qt_ext_parse(&t, (const uint8_t[]){0x60, 4, 0, 0x02, 0, 1}, 6, C),
	                 HT_ERR_BAD_VALUE);
	/* errors */
	assert_int_equal(qt_ext_parse(&t, pref, 1, S), HT_ERR_WRONG_SENDER);
	assert_int_equal(qt_ext_parse(&t, (const uint8_t[]){0x60, 3, 0, 0, 1}, 5, C),
	                 HT_ERR_BAD_LENGTH);
	assert_int_equal(qt_ext_parse(&t, (const uint8_t[]){0x60, 4, 4, 0, 0, 1}, 6, C),
	                 HT_ERR_BAD_VALUE);
	assert_int_equal(qt_ext_parse(&t, (const uint8_t[]){0x60, 4, 0, 0, 0, 0}, 6, C),
	                 HT_ERR_BAD_VALUE);
	assert_int_equal(qt_ext_parse(&t, (const uint8_t[]){0x60, 4, 0, 0, 0x03, 0xe9}, 6, C),
	                 HT_ERR_BAD_VALUE);
	assert_int_equal(qt_ext_parse(&t, pref, 5, C), HT_ERR_NEED_MORE);
	p.weight = 0;
	assert_int_equal(qt_ext_write_path_pref(b, sizeof(b), &p), HT_ERR_BAD_VALUE);
	p.weight = 1;
	p.scheduler = 9;
	assert_int_equal(qt_ext_write_path_pref(b, sizeof(b), &p), HT_ERR_BAD_VALUE);
	/* the concentrator's assembler: split anywhere, then a request */
	qt_ext_asm_init(&a, S);
	assert_int_equal(qt_ext_asm_feed(&a, pref, 3, false, &used, &m), 0);
	assert_int_equal(used, 3);
	memcpy(b, pref + 3, 3);
	memcpy(b + 3, (const uint8_t[]){0x40, 0x00}, 2);
	assert_int_equal(qt_ext_asm_feed(&a, b, 5, false, &used, &m), 1);
	assert_int_equal(used, 3);
	assert_int_equal(m.type, QT_EXT_PATH_PREF);
	assert_int_equal(m.pref.weight, 10);
	assert_int_equal(qt_ext_asm_feed(&a, b + 3, 2, false, &used, &m), 1);
	assert_int_equal(m.type, QT_EXT_ADDR_REQUEST);
	/* a client's assembler: a concentrator may not send it */
	qt_ext_asm_init(&a, C);
	assert_int_equal(qt_ext_asm_feed(&a, pref, sizeof(pref), false, &used, &m),
	                 HT_ERR_WRONG_SENDER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_tlv_vectors, setup_full),
	    cmocka_unit_test(test_writers),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test_setup(test_config_feeds, setup_full),
	    cmocka_unit_test(test_request_feed),
	    cmocka_unit_test(test_path_pref),
	    cmocka_unit_test_setup(test_assembler_errors, setup_full),
	    cmocka_unit_test_setup(test_config_writer, setup_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
