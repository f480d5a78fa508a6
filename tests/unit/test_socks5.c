/* Unit tests for src/proto/socks5.c: the SOCKS5 (RFC 1928) entry point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "proto/addr.h"
#include "proto/err.h"
#include "proto/socks5.h"

#define LEN(a) sizeof(a)

/* Every strict prefix of a complete message is HT_ERR_NEED_MORE; so is an
 * empty buffer.  Adding bytes after it changes nothing. */
static void prefixes_need_more_greeting(const uint8_t *b, size_t n)
{
	struct socks5_greeting g;
	uint8_t more[SOCKS5_GREETING_MAX + 8];

	for (size_t i = 0; i < n; i++)
		assert_int_equal(socks5_parse_greeting(&g, b, i), HT_ERR_NEED_MORE);
	memcpy(more, b, n);
	memset(more + n, 0xaa, 8);
	assert_int_equal(socks5_parse_greeting(&g, more, n + 8), (int)n);
}

static void prefixes_need_more_request(const uint8_t *b, size_t n)
{
	struct socks5_request r;
	uint8_t more[SOCKS5_MSG_MAX + 8];

	for (size_t i = 0; i < n; i++)
		assert_int_equal(socks5_parse_request(&r, b, i), HT_ERR_NEED_MORE);
	memcpy(more, b, n);
	memset(more + n, 0x05, 8);
	assert_int_equal(socks5_parse_request(&r, more, n + 8), (int)n);
}

static void test_greeting(void **state)
{
	static const uint8_t noauth[] = {0x05, 0x01, 0x00};
	static const uint8_t several[] = {0x05, 0x03, 0x02, 0x01, 0x00};
	static const uint8_t userpass[] = {0x05, 0x01, 0x02};
	static const uint8_t gssapi_up[] = {0x05, 0x02, 0x01, 0x02};
	struct socks5_greeting g;

	(void)state;
	assert_int_equal(socks5_parse_greeting(&g, noauth, LEN(noauth)), 3);
	assert_true(g.no_auth);
	assert_int_equal(g.nmethods, 1);
	assert_ptr_equal(g.methods, noauth + 2);
	prefixes_need_more_greeting(noauth, LEN(noauth));

	assert_int_equal(socks5_parse_greeting(&g, several, LEN(several)), 5);
	assert_true(g.no_auth);
	assert_int_equal(g.nmethods, 3);
	prefixes_need_more_greeting(several, LEN(several));

	assert_int_equal(socks5_parse_greeting(&g, userpass, LEN(userpass)), 3);
	assert_false(g.no_auth);
	assert_int_equal(socks5_parse_greeting(&g, gssapi_up, LEN(gssapi_up)), 4);
	assert_false(g.no_auth);
	prefixes_need_more_greeting(gssapi_up, LEN(gssapi_up));
}

static void test_greeting_max(void **state)
{
	uint8_t b[SOCKS5_GREETING_MAX];
	struct socks5_greeting g;

	(void)state;
	b[0] = 5;
	b[1] = 255;
	for (int i = 0; i < 255; i++)
		b[2 + i] = (uint8_t)(i + 1); /* 0x01..0xff: no 0x00 */
	assert_int_equal(socks5_parse_greeting(&g, b, sizeof(b)), 257);
	assert_false(g.no_auth);
	b[2 + 254] = 0x00; /* the last one */
	assert_int_equal(socks5_parse_greeting(&g, b, sizeof(b)), 257);
	assert_true(g.no_auth);
	assert_int_equal(g.nmethods, 255);
	prefixes_need_more_greeting(b, sizeof(b));
}

static void test_greeting_errors(void **state)
{
	static const uint8_t socks4[] = {0x04, 0x01, 0x00, 0x50, 192, 0, 2, 1, 0};
	static const uint8_t http[] = "GET / HTTP/1.1\r\n";
	static const uint8_t zero[] = {0x05, 0x00};
	struct socks5_greeting g;

	(void)state;
	/* Decided by the first byte: no waiting for more. */
	assert_int_equal(socks5_parse_greeting(&g, socks4, 1), HT_ERR_BAD_VERSION);
	assert_int_equal(socks5_parse_greeting(&g, socks4, LEN(socks4)), HT_ERR_BAD_VERSION);
	assert_int_equal(socks5_parse_greeting(&g, http, LEN(http) - 1), HT_ERR_BAD_VERSION);
	assert_int_equal(socks5_parse_greeting(&g, zero, LEN(zero)), HT_ERR_BAD_LENGTH);
	assert_int_equal(socks5_parse_greeting(&g, zero, 1), HT_ERR_NEED_MORE);
	assert_int_equal(socks5_parse_greeting(NULL, zero, 2), HT_ERR_INVAL);
	assert_int_equal(socks5_parse_greeting(&g, NULL, 2), HT_ERR_INVAL);
	assert_int_equal(socks5_parse_greeting(&g, NULL, 0), HT_ERR_NEED_MORE);
	/* Every greeting error closes the connection without a reply. */
	assert_int_equal(socks5_error_rep(SOCKS5_STAGE_GREETING, HT_ERR_BAD_VERSION),
	                 SOCKS5_NO_REPLY);
	assert_int_equal(socks5_error_rep(SOCKS5_STAGE_GREETING, HT_ERR_BAD_LENGTH),
	                 SOCKS5_NO_REPLY);
	assert_int_equal(socks5_error_rep(SOCKS5_STAGE_GREETING, HT_ERR_NEED_MORE),
	                 SOCKS5_NO_REPLY);
}

static void test_method_reply(void **state)
{
	uint8_t b[4];
	uint8_t m = 0x42;

	(void)state;
	assert_int_equal(socks5_write_method_reply(b, sizeof(b), SOCKS5_METHOD_NO_AUTH), 2);
	assert_memory_equal(b, ((const uint8_t[]){0x05, 0x00}), 2);
	assert_int_equal(socks5_parse_method_reply(&m, b, 2), 2);
	assert_int_equal(m, 0x00);
	assert_int_equal(socks5_write_method_reply(b, sizeof(b), SOCKS5_METHOD_NONE_ACCEPTABLE), 2);
	assert_memory_equal(b, ((const uint8_t[]){0x05, 0xff}), 2);
	assert_int_equal(socks5_parse_method_reply(&m, b, 2), 2);
	assert_int_equal(m, 0xff);
	assert_int_equal(socks5_parse_method_reply(&m, b, 1), HT_ERR_NEED_MORE);
	assert_int_equal(socks5_parse_method_reply(&m, b, 0), HT_ERR_NEED_MORE);
	b[0] = 4;
	assert_int_equal(socks5_parse_method_reply(&m, b, 1), HT_ERR_BAD_VERSION);
	assert_int_equal(socks5_parse_method_reply(NULL, b, 2), HT_ERR_INVAL);
	assert_int_equal(socks5_write_method_reply(b, 1, 0), HT_ERR_NOBUF);
	assert_int_equal(socks5_write_method_reply(NULL, 2, 0), HT_ERR_INVAL);
}

static void test_write_greeting(void **state)
{
	static const uint8_t methods[] = {0x00, 0x02};
	uint8_t b[SOCKS5_GREETING_MAX + 1], many[256] = {0};
	struct socks5_greeting g;

	(void)state;
	assert_int_equal(socks5_write_greeting(b, sizeof(b), methods, 2), 4);
	assert_memory_equal(b, ((const uint8_t[]){0x05, 0x02, 0x00, 0x02}), 4);
	assert_int_equal(socks5_parse_greeting(&g, b, 4), 4);
	assert_true(g.no_auth);
	assert_memory_equal(g.methods, methods, 2);
	assert_int_equal(socks5_write_greeting(b, 3, methods, 2), HT_ERR_NOBUF);
	assert_int_equal(socks5_write_greeting(b, sizeof(b), methods, 0), HT_ERR_INVAL);
	assert_int_equal(socks5_write_greeting(b, sizeof(b), many, 256), HT_ERR_INVAL);
	assert_int_equal(socks5_write_greeting(b, sizeof(b), many, 255), 257);
	assert_int_equal(socks5_write_greeting(b, sizeof(b), NULL, 1), HT_ERR_INVAL);
}

/* CONNECT 192.0.2.1:443, as curl --socks5 sends it. */
static const uint8_t req_v4[] = {0x05, 0x01, 0x00, 0x01, 192, 0, 2, 1, 0x01, 0xbb};
/* CONNECT [2001:db8::1]:8080 */
static const uint8_t req_v6[] = {0x05, 0x01, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 0,    0,
                                 0,    0,    0,    0,    0,    0,    0,    0,    1, 0x1f, 0x90};
/* CONNECT example.com:80 (curl --socks5-hostname) */
static const uint8_t req_dom[] = {0x05, 0x01, 0x00, 0x03, 11,  'e', 'x', 'a',  'm',
                                  'p',  'l',  'e',  '.',  'c', 'o', 'm', 0x00, 0x50};

static void test_request_ipv4(void **state)
{
	struct socks5_request r;
	uint8_t want[16];

	(void)state;
	ht_addr_map_v4(want, (const uint8_t[]){192, 0, 2, 1});
	assert_int_equal(socks5_parse_request(&r, req_v4, LEN(req_v4)), 10);
	assert_int_equal(r.cmd, SOCKS5_CMD_CONNECT);
	assert_int_equal(r.rsv, 0);
	assert_int_equal(r.dst.atyp, SOCKS5_ATYP_IPV4);
	assert_memory_equal(r.dst.addr, want, 16);
	assert_int_equal(r.dst.port, 443);
	assert_null(r.dst.name);
	assert_int_equal(r.dst.name_len, 0);
	prefixes_need_more_request(req_v4, LEN(req_v4));
}

static void test_request_ipv6(void **state)
{
	struct socks5_request r;

	(void)state;
	assert_int_equal(socks5_parse_request(&r, req_v6, LEN(req_v6)), 22);
	assert_int_equal(r.dst.atyp, SOCKS5_ATYP_IPV6);
	assert_memory_equal(r.dst.addr, req_v6 + 4, 16);
	assert_int_equal(r.dst.port, 8080);
	assert_null(r.dst.name);
	prefixes_need_more_request(req_v6, LEN(req_v6));
}

static void test_request_domain(void **state)
{
	static const uint8_t zero16[16];
	uint8_t b[SOCKS5_MSG_MAX];
	struct socks5_request r;

	(void)state;
	assert_int_equal(socks5_parse_request(&r, req_dom, LEN(req_dom)), 18);
	assert_int_equal(r.dst.atyp, SOCKS5_ATYP_DOMAIN);
	assert_ptr_equal(r.dst.name, req_dom + 5);
	assert_int_equal(r.dst.name_len, 11);
	assert_memory_equal(r.dst.name, "example.com", 11);
	assert_memory_equal(r.dst.addr, zero16, 16);
	assert_int_equal(r.dst.port, 80);
	prefixes_need_more_request(req_dom, LEN(req_dom));

	/* The longest name, 255 bytes; one byte names are fine too. */
	memcpy(b, (const uint8_t[]){0x05, 0x01, 0x00, 0x03, 255}, 5);
	memset(b + 5, 'a', 255);
	b[260] = 0x01;
	b[261] = 0xbb;
	assert_int_equal(socks5_parse_request(&r, b, SOCKS5_MSG_MAX), (int)SOCKS5_MSG_MAX);
	assert_int_equal(r.dst.name_len, 255);
	assert_int_equal(r.dst.port, 443);
	prefixes_need_more_request(b, SOCKS5_MSG_MAX);
	b[4] = 1;
	assert_int_equal(socks5_parse_request(&r, b, 8), 8);
	assert_int_equal(r.dst.name_len, 1);
	assert_int_equal(r.dst.port, 0x6161);
}

static void test_request_lenient_rsv(void **state)
{
	uint8_t b[LEN(req_v4)];
	struct socks5_request r;

	(void)state;
	memcpy(b, req_v4, sizeof(b));
	b[2] = 0x7f;
	assert_int_equal(socks5_parse_request(&r, b, sizeof(b)), 10);
	assert_int_equal(r.rsv, 0x7f);
	assert_int_equal(r.dst.port, 443);
}

static void test_request_errors(void **state)
{
	uint8_t b[64];
	struct socks5_request r;

	(void)state;
	/* VER */
	memcpy(b, req_v4, LEN(req_v4));
	b[0] = 0x04;
	assert_int_equal(socks5_parse_request(&r, b, 1), HT_ERR_BAD_VERSION);
	assert_int_equal(socks5_parse_request(&r, b, LEN(req_v4)), HT_ERR_BAD_VERSION);
	/* CMD: BIND, UDP ASSOCIATE, unknown — decided at byte 2, cmd reported. */
	for (unsigned cmd = 0; cmd < 256; cmd++) {
		if (cmd == SOCKS5_CMD_CONNECT)
			continue;
		memcpy(b, req_v4, LEN(req_v4));
		b[1] = (uint8_t)cmd;
		assert_int_equal(socks5_parse_request(&r, b, 2), HT_ERR_UNSUPPORTED);
		assert_int_equal(socks5_parse_request(&r, b, LEN(req_v4)), HT_ERR_UNSUPPORTED);
		assert_int_equal(r.cmd, cmd);
	}
	/* ATYP */
	for (unsigned atyp = 0; atyp < 256; atyp++) {
		if (atyp == 1 || atyp == 3 || atyp == 4)
			continue;
		memcpy(b, req_v4, LEN(req_v4));
		b[3] = (uint8_t)atyp;
		assert_int_equal(socks5_parse_request(&r, b, 4), HT_ERR_BAD_TYPE);
		assert_int_equal(socks5_parse_request(&r, b, LEN(req_v4)), HT_ERR_BAD_TYPE);
		assert_int_equal(r.dst.atyp, atyp);
	}
	/* Domain of length 0 */
	memcpy(b, ((const uint8_t[]){0x05, 0x01, 0x00, 0x03, 0x00, 0x00, 0x50}), 7);
	assert_int_equal(socks5_parse_request(&r, b, 5), HT_ERR_BAD_LENGTH);
	assert_int_equal(socks5_parse_request(&r, b, 7), HT_ERR_BAD_LENGTH);
	/* Domain with a NUL: "a.example\0b.example" must not be cut short. */
	memcpy(b, req_dom, LEN(req_dom));
	b[5 + 7] = 0x00;
	assert_int_equal(socks5_parse_request(&r, b, LEN(req_dom) - 1), HT_ERR_NEED_MORE);
	assert_int_equal(socks5_parse_request(&r, b, LEN(req_dom)), HT_ERR_BAD_VALUE);
	b[5] = 0x00;
	b[5 + 7] = 'e';
	assert_int_equal(socks5_parse_request(&r, b, LEN(req_dom)), HT_ERR_BAD_VALUE);
	/* Arguments */
	assert_int_equal(socks5_parse_request(NULL, req_v4, LEN(req_v4)), HT_ERR_INVAL);
	assert_int_equal(socks5_parse_request(&r, NULL, 3), HT_ERR_INVAL);
	assert_int_equal(socks5_parse_request(&r, NULL, 0), HT_ERR_NEED_MORE);
}

static void test_error_rep(void **state)
{
	(void)state;
	assert_int_equal(socks5_error_rep(SOCKS5_STAGE_REQUEST, HT_ERR_BAD_VERSION),
	                 SOCKS5_NO_REPLY);
	assert_int_equal(socks5_error_rep(SOCKS5_STAGE_REQUEST, HT_ERR_NEED_MORE), SOCKS5_NO_REPLY);
	assert_int_equal(socks5_error_rep(SOCKS5_STAGE_REQUEST, HT_ERR_UNSUPPORTED),
	                 SOCKS5_REP_CMD_NOT_SUPPORTED);
	assert_int_equal(socks5_error_rep(SOCKS5_STAGE_REQUEST, HT_ERR_BAD_TYPE),
	                 SOCKS5_REP_ATYP_NOT_SUPPORTED);
	assert_int_equal(socks5_error_rep(SOCKS5_STAGE_REQUEST, HT_ERR_BAD_LENGTH),
	                 SOCKS5_REP_GENERAL_FAILURE);
	assert_int_equal(socks5_error_rep(SOCKS5_STAGE_REQUEST, HT_ERR_BAD_VALUE),
	                 SOCKS5_REP_GENERAL_FAILURE);
	assert_int_equal(socks5_error_rep(SOCKS5_STAGE_REQUEST, HT_ERR_INVAL),
	                 SOCKS5_REP_GENERAL_FAILURE);
	assert_int_equal(socks5_error_rep(SOCKS5_STAGE_REQUEST, 10), SOCKS5_NO_REPLY);
	assert_int_equal(socks5_error_rep(SOCKS5_STAGE_REQUEST, HT_OK), SOCKS5_NO_REPLY);

	assert_int_equal(socks5_rep_from_errno(ECONNREFUSED), SOCKS5_REP_CONN_REFUSED);
	assert_int_equal(socks5_rep_from_errno(ENETUNREACH), SOCKS5_REP_NET_UNREACHABLE);
	assert_int_equal(socks5_rep_from_errno(EHOSTUNREACH), SOCKS5_REP_HOST_UNREACHABLE);
	assert_int_equal(socks5_rep_from_errno(ETIMEDOUT), SOCKS5_REP_HOST_UNREACHABLE);
	assert_int_equal(socks5_rep_from_errno(EPERM), SOCKS5_REP_NOT_ALLOWED);
	assert_int_equal(socks5_rep_from_errno(EMFILE), SOCKS5_REP_GENERAL_FAILURE);

	/* The REP values are RFC 1928's. */
	assert_int_equal(SOCKS5_REP_SUCCEEDED, 0);
	assert_int_equal(SOCKS5_REP_GENERAL_FAILURE, 1);
	assert_int_equal(SOCKS5_REP_NOT_ALLOWED, 2);
	assert_int_equal(SOCKS5_REP_NET_UNREACHABLE, 3);
	assert_int_equal(SOCKS5_REP_HOST_UNREACHABLE, 4);
	assert_int_equal(SOCKS5_REP_CONN_REFUSED, 5);
	assert_int_equal(SOCKS5_REP_TTL_EXPIRED, 6);
	assert_int_equal(SOCKS5_REP_CMD_NOT_SUPPORTED, 7);
	assert_int_equal(SOCKS5_REP_ATYP_NOT_SUPPORTED, 8);
	for (int rep = -1; rep <= 9; rep++)
		assert_non_null(socks5_rep_str(rep));
	assert_string_equal(socks5_rep_str(SOCKS5_REP_NOT_ALLOWED),
	                    "connection not allowed by ruleset");
	assert_string_equal(socks5_rep_str(9), "unassigned");
}

static void test_write_reply(void **state)
{
	static const uint8_t fail_v4[] = {0x05, 0x07, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
	uint8_t b[32], bnd[16];
	struct socks5_reply rp;

	(void)state;
	/* Failure reply: 0.0.0.0:0 */
	assert_int_equal(socks5_write_reply(b, sizeof(b), SOCKS5_REP_CMD_NOT_SUPPORTED, NULL, 0),
	                 10);
	assert_memory_equal(b, fail_v4, 10);
	/* Success with an IPv4 bound address: written as ATYP 1. */
	ht_addr_map_v4(bnd, (const uint8_t[]){198, 51, 100, 7});
	assert_int_equal(socks5_write_reply(b, sizeof(b), SOCKS5_REP_SUCCEEDED, bnd, 40000), 10);
	assert_memory_equal(
	    b, ((const uint8_t[]){0x05, 0x00, 0x00, 0x01, 198, 51, 100, 7, 0x9c, 0x40}), 10);
	assert_int_equal(socks5_parse_reply(&rp, b, 10), 10);
	assert_int_equal(rp.rep, 0);
	assert_int_equal(rp.bnd.atyp, SOCKS5_ATYP_IPV4);
	assert_memory_equal(rp.bnd.addr, bnd, 16);
	assert_int_equal(rp.bnd.port, 40000);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(socks5_parse_reply(&rp, b, i), HT_ERR_NEED_MORE);
	assert_int_equal(socks5_write_reply(b, 9, 0, bnd, 1), HT_ERR_NOBUF);
	/* IPv6: ATYP 4, 22 bytes. */
	memcpy(bnd, req_v6 + 4, 16);
	assert_int_equal(socks5_write_reply(b, sizeof(b), SOCKS5_REP_SUCCEEDED, bnd, 8080), 22);
	assert_memory_equal(b + 3, req_v6 + 3, 19);
	assert_int_equal(b[1], 0);
	assert_int_equal(socks5_parse_reply(&rp, b, 22), 22);
	assert_memory_equal(rp.bnd.addr, bnd, 16);
	assert_int_equal(socks5_write_reply(b, 21, 0, bnd, 1), HT_ERR_NOBUF);
	assert_int_equal(socks5_write_reply(NULL, 32, 0, bnd, 1), HT_ERR_INVAL);
	/* Reply parser: a domain BND, a bad ATYP, every REP value. */
	assert_int_equal(socks5_parse_reply(&rp, req_dom, LEN(req_dom)), 18);
	assert_int_equal(rp.rep, 1);
	assert_int_equal(rp.bnd.name_len, 11);
	memcpy(b, fail_v4, 10);
	b[3] = 2;
	assert_int_equal(socks5_parse_reply(&rp, b, 10), HT_ERR_BAD_TYPE);
	b[3] = 1;
	b[1] = 0xee;
	assert_int_equal(socks5_parse_reply(&rp, b, 10), 10);
	assert_int_equal(rp.rep, 0xee);
	b[0] = 0;
	assert_int_equal(socks5_parse_reply(&rp, b, 10), HT_ERR_BAD_VERSION);
}

static void roundtrip_request(const uint8_t *in, size_t n)
{
	struct socks5_request r, r2;
	uint8_t out[SOCKS5_MSG_MAX];

	assert_int_equal(socks5_parse_request(&r, in, n), (int)n);
	assert_int_equal(socks5_write_request(out, sizeof(out), &r), (int)n);
	assert_memory_equal(out, in, n);
	assert_int_equal(socks5_write_request(out, n - 1, &r), HT_ERR_NOBUF);
	assert_int_equal(socks5_parse_request(&r2, out, n), (int)n);
	assert_int_equal(r2.dst.atyp, r.dst.atyp);
	assert_memory_equal(r2.dst.addr, r.dst.addr, 16);
	assert_int_equal(r2.dst.port, r.dst.port);
	assert_int_equal(r2.dst.name_len, r.dst.name_len);
}

static void test_roundtrip(void **state)
{
	struct socks5_request r;
	uint8_t out[SOCKS5_MSG_MAX];

	(void)state;
	roundtrip_request(req_v4, LEN(req_v4));
	roundtrip_request(req_v6, LEN(req_v6));
	roundtrip_request(req_dom, LEN(req_dom));

	/* write_request refuses what parse_request would refuse. */
	memset(&r, 0, sizeof(r));
	r.cmd = SOCKS5_CMD_CONNECT;
	r.dst.atyp = SOCKS5_ATYP_IPV4; /* but addr is :: — not mapped */
	assert_int_equal(socks5_write_request(out, sizeof(out), &r), HT_ERR_INVAL);
	r.dst.atyp = SOCKS5_ATYP_DOMAIN;
	assert_int_equal(socks5_write_request(out, sizeof(out), &r), HT_ERR_INVAL);
	r.dst.name = (const uint8_t *)"a\0b";
	r.dst.name_len = 3;
	assert_int_equal(socks5_write_request(out, sizeof(out), &r), HT_ERR_INVAL);
	r.dst.name_len = 256;
	assert_int_equal(socks5_write_request(out, sizeof(out), &r), HT_ERR_INVAL);
	r.dst.atyp = 2;
	assert_int_equal(socks5_write_request(out, sizeof(out), &r), HT_ERR_INVAL);
	assert_int_equal(socks5_write_request(out, sizeof(out), NULL), HT_ERR_INVAL);
	r.dst.atyp = SOCKS5_ATYP_IPV6;
	assert_int_equal(socks5_write_request(NULL, sizeof(out), &r), HT_ERR_INVAL);
}

/* A whole conversation as the server sees it, arriving in one read with the
 * client's first data right behind the request (an optimistic client). */
static void test_pipelined(void **state)
{
	uint8_t in[64], out[32];
	size_t n = 0, off = 0;
	struct socks5_greeting g;
	struct socks5_request r;
	int c;

	(void)state;
	memcpy(in, (const uint8_t[]){0x05, 0x01, 0x00}, 3);
	n = 3;
	memcpy(in + n, req_v4, LEN(req_v4));
	n += LEN(req_v4);
	memcpy(in + n, "GET /", 5);
	n += 5;
	c = socks5_parse_greeting(&g, in, n);
	assert_int_equal(c, 3);
	assert_true(g.no_auth);
	off += (size_t)c;
	c = socks5_parse_request(&r, in + off, n - off);
	assert_int_equal(c, 10);
	off += (size_t)c;
	assert_int_equal(n - off, 5);
	assert_memory_equal(in + off, "GET /", 5);
	assert_int_equal(
	    socks5_write_reply(out, sizeof(out), SOCKS5_REP_SUCCEEDED, r.dst.addr, r.dst.port), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_greeting),
	    cmocka_unit_test(test_greeting_max),
	    cmocka_unit_test(test_greeting_errors),
	    cmocka_unit_test(test_method_reply),
	    cmocka_unit_test(test_write_greeting),
	    cmocka_unit_test(test_request_ipv4),
	    cmocka_unit_test(test_request_ipv6),
	    cmocka_unit_test(test_request_domain),
	    cmocka_unit_test(test_request_lenient_rsv),
	    cmocka_unit_test(test_request_errors),
	    cmocka_unit_test(test_error_rep),
	    cmocka_unit_test(test_write_reply),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_pipelined),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
