/* Unit tests for src/proto/convert.c: byte vectors of wire-formats.md §5,
 * every receive-side MUST, the builder's Value rules, piecewise arrival. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proto/addr.h"
#include "proto/convert.h"
#include "proto/err.h"

#define V4MAPPED(a, b, c, d) 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d

static const uint8_t ex_connect[] = {
	0x01, 0x06, 0x00, 0x00, 0x0A, 0x05, 0x01, 0xBB, V4MAPPED(192, 0, 2, 1),
};
static const uint8_t ex_connect_mptcp[] = {
	0x01, 0x07, 0x00, 0x00, 0x0A, 0x06, 0x01, 0xBB, V4MAPPED(192, 0, 2, 1),
	0x1E, 0x02, 0x00, 0x00,
};
static const uint8_t ex_not_auth[] = {0x01, 0x02, 0x00, 0x00, 0x1E, 0x01, 0x20, 0x00};
static const uint8_t ex_bootstrap[] = {0x01, 0x02, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00};
static const uint8_t ex_supported[] = {
	0x01, 0x03, 0x00, 0x00, 0x15, 0x02, 0x00, 0x00, 0x1E, 0x00, 0x00, 0x00,
};
static const uint8_t addr_192_0_2_1[16] = {V4MAPPED(192, 0, 2, 1)};

/* Parse a whole vector and insist that it consumes all of it. */
static void parse_ok(const uint8_t *b, size_t len, struct cv_msg *m)
{
	assert_int_equal(cv_parse(b, len, m), (int)len);
}

static int parse_rc(const uint8_t *b, size_t len)
{
	struct cv_msg m;

	return cv_parse(b, len, &m);
}

static void test_example_connect(void **state)
{
	struct cv_msg m;
	struct cv_builder b;
	uint8_t out[64];

	(void)state;
	parse_ok(ex_connect, sizeof(ex_connect), &m);
	assert_int_equal(m.hdr.form, CV_FORM_02);
	assert_int_equal(m.present, CV_HAS_CONNECT);
	assert_int_equal(m.connect.port, 443);
	assert_memory_equal(m.connect.addr, addr_192_0_2_1, 16);
	assert_int_equal(m.connect.opts_len, 0);
	assert_int_equal(cv_msg_check_sender(&m, true), 0);
	assert_int_equal(cv_msg_check_sender(&m, false), HT_ERR_WRONG_SENDER);

	assert_int_equal(cv_build_begin(&b, out, sizeof(out), CV_FORM_02), 0);
	assert_int_equal(cv_build_add_connect(&b, 443, addr_192_0_2_1, NULL, 0), 0);
	assert_int_equal(cv_build_finish(&b), sizeof(ex_connect));
	assert_memory_equal(out, ex_connect, sizeof(ex_connect));
}

static void test_example_connect_mptcp(void **state)
{
	static const uint8_t mp[] = {0x1E, 0x02};
	struct cv_msg m;
	struct cv_builder b;
	struct cv_opt_iter it;
	struct cv_opt o;
	uint8_t out[64], refused = 0;

	(void)state;
	parse_ok(ex_connect_mptcp, sizeof(ex_connect_mptcp), &m);
	assert_int_equal(m.connect.port, 443);
	assert_int_equal(m.connect.opts_len, 2);
	assert_memory_equal(m.connect.opts, mp, 2);
	cv_opt_iter_init(&it, m.connect.opts, m.connect.opts_len);
	assert_int_equal(cv_opt_next(&it, &o), 1);
	assert_int_equal(o.kind, 30);
	assert_int_equal(o.value_len, 0);
	assert_int_equal(cv_opt_next(&it, &o), 0);
	assert_int_equal(cv_opt_next(&it, &o), 0);
	assert_int_equal(cv_opts_check(m.connect.opts, m.connect.opts_len, &refused), 0);

	assert_int_equal(cv_build_begin(&b, out, sizeof(out), CV_FORM_02), 0);
	assert_int_equal(cv_build_add_connect(&b, 443, addr_192_0_2_1, mp, sizeof(mp)), 0);
	assert_int_equal(cv_build_finish(&b), sizeof(ex_connect_mptcp));
	assert_memory_equal(out, ex_connect_mptcp, sizeof(ex_connect_mptcp));
}

static void test_example_not_authorized(void **state)
{
	struct cv_msg m;
	struct cv_builder b;
	uint8_t out[16];

	(void)state;
	parse_ok(ex_not_auth, sizeof(ex_not_auth), &m);
	assert_int_equal(m.present, CV_HAS_ERROR);
	assert_int_equal(m.error.code, CV_E_NOT_AUTHORIZED);
	assert_int_equal(m.error.value_len, 0);
	assert_int_equal(cv_msg_check_sender(&m, false), 0);
	assert_int_equal(cv_msg_check_sender(&m, true), 0);

	assert_int_equal(cv_build_begin(&b, out, sizeof(out), CV_FORM_02), 0);
	assert_int_equal(cv_build_add_error(&b, CV_E_NOT_AUTHORIZED, NULL, 0), 0);
	assert_int_equal(cv_build_finish(&b), sizeof(ex_not_auth));
	assert_memory_equal(out, ex_not_auth, sizeof(ex_not_auth));
}

static void test_bootstrap_and_supported(void **state)
{
	static const uint8_t mptcp = 30;
	struct cv_msg m;
	struct cv_builder b;
	uint8_t out[16];

	(void)state;
	parse_ok(ex_bootstrap, sizeof(ex_bootstrap), &m);
	assert_int_equal(m.present, CV_HAS_BOOTSTRAP);
	assert_int_equal(cv_build_begin(&b, out, sizeof(out), CV_FORM_02), 0);
	assert_int_equal(cv_build_add_bootstrap(&b), 0);
	assert_int_equal(cv_build_finish(&b), sizeof(ex_bootstrap));
	assert_memory_equal(out, ex_bootstrap, sizeof(ex_bootstrap));

	parse_ok(ex_supported, sizeof(ex_supported), &m);
	assert_int_equal(m.present, CV_HAS_SUPPORTED);
	assert_int_equal(m.supported.n, 1);
	assert_int_equal(m.supported.kinds[0], 30);
	assert_int_equal(cv_msg_check_sender(&m, true), HT_ERR_WRONG_SENDER);
	assert_int_equal(cv_build_begin(&b, out, sizeof(out), CV_FORM_02), 0);
	assert_int_equal(cv_build_add_supported(&b, &mptcp, 1), 0);
	assert_int_equal(cv_build_finish(&b), sizeof(ex_supported));
	assert_memory_equal(out, ex_supported, sizeof(ex_supported));
}

static void test_rfc8803_form(void **state)
{
	static const uint8_t info[] = {0x01, 0x02, 0x22, 0x63, 0x01, 0x01, 0x00, 0x00};
	struct cv_msg m;
	struct cv_builder b;
	uint8_t out[16];

	(void)state;
	parse_ok(info, sizeof(info), &m);
	assert_int_equal(m.hdr.form, CV_FORM_RFC8803);
	assert_int_equal(m.hdr.version, 1);
	assert_int_equal(m.hdr.total_len, 8);
	assert_int_equal(m.present, CV_HAS_BOOTSTRAP); /* Info TLV */
	assert_int_equal(cv_build_begin(&b, out, sizeof(out), CV_FORM_RFC8803), 0);
	assert_int_equal(cv_build_add_bootstrap(&b), 0);
	assert_int_equal(cv_build_finish(&b), sizeof(info));
	assert_memory_equal(out, info, sizeof(info));
}

static void test_header_errors(void **state)
{
	uint8_t h[8] = {0x01, 0x02, 0x00, 0x01, 0x01, 0x01, 0x00, 0x00};
	struct cv_hdr hdr;
	struct cv_msg m;

	(void)state;
	assert_int_equal(parse_rc(h, sizeof(h)), HT_ERR_BAD_MAGIC);
	h[2] = 0x63;
	h[3] = 0x22; /* byte-swapped magic */
	assert_int_equal(parse_rc(h, sizeof(h)), HT_ERR_BAD_MAGIC);
	h[2] = 0x22;
	h[3] = 0x63;
	h[0] = 0; /* version 0 is reserved */
	assert_int_equal(cv_parse(h, sizeof(h), &m), HT_ERR_BAD_VERSION);
	assert_int_equal(m.hdr.form, CV_FORM_RFC8803);
	h[0] = 2;
	h[1] = 0; /* a bad version wins over its Total Length */
	assert_int_equal(cv_hdr_parse(h, 4, &hdr), HT_ERR_BAD_VERSION);
	assert_int_equal(hdr.version, 2);
	h[0] = 1;
	assert_int_equal(cv_hdr_parse(h, 4, &hdr), HT_ERR_BAD_LENGTH);
	assert_int_equal(hdr.form, CV_FORM_RFC8803);
	h[2] = h[3] = 0;
	assert_int_equal(parse_rc(h, sizeof(h)), HT_ERR_BAD_LENGTH);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(cv_hdr_parse(h, i, &hdr), HT_ERR_NEED_MORE);
	/* A header-only message is empty but valid. */
	h[1] = 1;
	assert_int_equal(parse_rc(h, 4), 4);
}

static void test_need_more_every_prefix(void **state)
{
	const uint8_t *vec[] = {ex_connect, ex_connect_mptcp, ex_not_auth, ex_bootstrap,
				ex_supported};
	const size_t len[] = {sizeof(ex_connect), sizeof(ex_connect_mptcp),
			      sizeof(ex_not_auth), sizeof(ex_bootstrap), sizeof(ex_supported)};
	uint8_t stream[64];

	(void)state;
	for (size_t v = 0; v < sizeof(vec) / sizeof(vec[0]); v++) {
		for (size_t i = 0; i < len[v]; i++)
			assert_int_equal(parse_rc(vec[v], i), HT_ERR_NEED_MORE);
		/* Bytes after Total Length are the relayed stream, not ours. */
		memcpy(stream, vec[v], len[v]);
		memset(stream + len[v], 0xAB, sizeof(stream) - len[v]);
		assert_int_equal(parse_rc(stream, sizeof(stream)), (int)len[v]);
	}
}

static void test_tlv_framing_errors(void **state)
{
	uint8_t zero_len[] = {0x01, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
	uint8_t past[] = {0x01, 0x02, 0x00, 0x00, 0x1E, 0x02, 0x20, 0x00, 0, 0, 0, 0};
	uint8_t dup[] = {0x01, 0x03, 0x00, 0x00, 0x01, 0x01, 0, 0, 0x01, 0x01, 0, 0};
	uint8_t type[] = {0x01, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};
	uint8_t boot_len[] = {0x01, 0x03, 0x00, 0x00, 0x01, 0x02, 0, 0, 0, 0, 0, 0};
	uint8_t short_connect[8 + 16] = {0x01, 0x06, 0, 0, 0x0A, 0x04};

	(void)state;
	assert_int_equal(parse_rc(zero_len, sizeof(zero_len)), HT_ERR_BAD_LENGTH);
	/* Total Length 2 but the TLV claims 2 words: runs past the message
	 * even though the buffer holds the bytes. */
	assert_int_equal(parse_rc(past, sizeof(past)), HT_ERR_TRUNCATED);
	assert_int_equal(parse_rc(dup, sizeof(dup)), HT_ERR_DUPLICATE);
	assert_int_equal(parse_rc(type, sizeof(type)), HT_ERR_BAD_TYPE);
	type[4] = 0x16; /* RFC 8803 Cookie TLV: not implemented */
	assert_int_equal(parse_rc(type, sizeof(type)), HT_ERR_BAD_TYPE);
	type[4] = 0xC0; /* private use */
	assert_int_equal(parse_rc(type, sizeof(type)), HT_ERR_BAD_TYPE);
	type[4] = 0x15; /* with Length 1: an empty kind list is fine */
	assert_int_equal(parse_rc(type, sizeof(type)), 8);
	assert_int_equal(parse_rc(boot_len, sizeof(boot_len)), HT_ERR_BAD_LENGTH);
	assert_int_equal(parse_rc(short_connect, sizeof(short_connect)), HT_ERR_BAD_LENGTH);
}

static void test_connect_address(void **state)
{
	uint8_t msg[24];
	static const uint8_t bad[][16] = {
		{V4MAPPED(127, 0, 0, 1)},  {V4MAPPED(0, 0, 0, 0)},
		{V4MAPPED(224, 0, 0, 1)},  {V4MAPPED(255, 255, 255, 255)},
		{0},                       {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
	};
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	struct cv_builder b;
	struct cv_msg m;
	uint8_t out[64];

	(void)state;
	memcpy(msg, ex_connect, sizeof(msg));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(msg + 8, bad[i], 16);
		assert_int_equal(parse_rc(msg, sizeof(msg)), HT_ERR_BAD_ADDRESS);
		assert_int_equal(cv_build_begin(&b, out, sizeof(out), CV_FORM_02), 0);
		assert_int_equal(cv_build_add_connect(&b, 80, bad[i], NULL, 0), HT_ERR_BAD_ADDRESS);
	}
	memcpy(msg + 8, v6, 16);
	parse_ok(msg, sizeof(msg), &m);
	assert_memory_equal(m.connect.addr, v6, 16);
}

/* A Connect TLV to 192.0.2.1:443 whose options word is o[0..3]. */
static int connect_with_opts(const uint8_t o[4])
{
	uint8_t msg[28];

	memcpy(msg, ex_connect_mptcp, 24);
	memcpy(msg + 24, o, 4);
	return parse_rc(msg, sizeof(msg));
}

static void test_connect_options(void **state)
{
	static const uint8_t nop[4] = {0x01, 0x1E, 0x02, 0x00};
	static const uint8_t len1[4] = {0x1E, 0x01, 0x00, 0x00};
	static const uint8_t past[4] = {0x22, 0x06, 0xAA, 0xBB};
	static const uint8_t after_pad[4] = {0x1E, 0x02, 0x00, 0x05};
	static const uint8_t eol[4] = {0x00, 0x00, 0x00, 0x00};
	static const uint8_t tfo[4] = {0x22, 0x04, 0xAA, 0xBB};
	static const uint8_t half[4] = {0x22, 0x03, 0xAA, 0x1E};
	struct cv_msg m;
	uint8_t msg[28];

	(void)state;
	assert_int_equal(connect_with_opts(nop), HT_ERR_BAD_VALUE);
	assert_int_equal(connect_with_opts(len1), HT_ERR_BAD_LENGTH);
	assert_int_equal(connect_with_opts(past), HT_ERR_TRUNCATED);
	assert_int_equal(connect_with_opts(after_pad), HT_ERR_TRAILING);
	/* A lone kind at the end cannot hold its Length byte. */
	assert_int_equal(connect_with_opts(half), HT_ERR_TRUNCATED);
	/* An all-zero word is padding: an empty list. */
	assert_int_equal(connect_with_opts(eol), 28);
	memcpy(msg, ex_connect_mptcp, 24);
	memcpy(msg + 24, tfo, 4);
	parse_ok(msg, sizeof(msg), &m);
	assert_int_equal(m.connect.opts_len, 4);
	assert_int_equal(cv_err_to_code(HT_ERR_TRAILING), CV_E_MALFORMED);
}

static void test_supported_errors(void **state)
{
	uint8_t msg[12] = {0x01, 0x03, 0, 0, 0x15, 0x02, 0, 0, 0x1E, 0x02, 0, 0};
	struct cv_msg m;

	(void)state;
	assert_int_equal(parse_rc(msg, sizeof(msg)), HT_ERR_BAD_VALUE);
	msg[9] = 0x01;
	assert_int_equal(parse_rc(msg, sizeof(msg)), HT_ERR_BAD_VALUE);
	msg[9] = 0x00;
	msg[10] = 0x22; /* non-zero after padding started */
	assert_int_equal(parse_rc(msg, sizeof(msg)), HT_ERR_TRAILING);
	msg[9] = 0x04;
	msg[11] = 0x08;
	msg[10] = 0x22;
	parse_ok(msg, sizeof(msg), &m);
	assert_int_equal(m.supported.n, 4);
	msg[6] = msg[7] = 0xFF; /* Unassigned: ignored on receipt */
	parse_ok(msg, sizeof(msg), &m);
}

static void test_error_values(void **state)
{
	uint8_t e[12] = {0x01, 0x03, 0, 0, 0x1E, 0x02, 0, 0, 0, 0, 0, 0};
	struct cv_msg m;

	(void)state;
	/* Unsupported Version with no version listed. */
	assert_int_equal(parse_rc(e, sizeof(e)), HT_ERR_BAD_VALUE);
	e[7] = 1;
	e[8] = 2;
	parse_ok(e, sizeof(e), &m);
	assert_int_equal(m.error.value_len, 2);
	e[10] = 3; /* after the padding */
	assert_int_equal(parse_rc(e, sizeof(e)), HT_ERR_TRAILING);
	memset(e + 6, 0, 6);

	e[6] = CV_E_NOT_AUTHORIZED;
	parse_ok(e, sizeof(e), &m);
	e[9] = 1;
	assert_int_equal(parse_rc(e, sizeof(e)), HT_ERR_BAD_VALUE);
	e[6] = CV_E_CONNECTION_RESET;
	assert_int_equal(parse_rc(e, sizeof(e)), HT_ERR_BAD_VALUE);
	e[9] = 0;

	e[6] = CV_E_UNSUPPORTED_TCP_OPTION;
	e[7] = 29;
	parse_ok(e, sizeof(e), &m);
	assert_int_equal(m.error.value_len, 1);
	assert_int_equal(m.error.value[0], 29);
	e[8] = 28; /* two kinds: only RFC 8803 returns a list */
	assert_int_equal(parse_rc(e, sizeof(e)), HT_ERR_BAD_VALUE);
	e[2] = 0x22;
	e[3] = 0x63;
	parse_ok(e, sizeof(e), &m);
	assert_int_equal(m.error.value_len, 2);
	e[2] = e[3] = 0;
	e[8] = 0;

	for (uint8_t c = CV_E_RESOURCE_EXCEEDED; c <= CV_E_NETWORK_FAILURE; c++) {
		e[6] = c;
		e[7] = 0; /* back-off 0 is allowed */
		parse_ok(e, sizeof(e), &m);
		assert_int_equal(m.error.value_len, 1);
		e[11] = 7;
		assert_int_equal(parse_rc(e, sizeof(e)), HT_ERR_TRAILING);
		e[11] = 0;
	}
	e[6] = CV_E_DEST_UNREACHABLE;
	e[7] = 3; /* ICMP port unreachable */
	parse_ok(e, sizeof(e), &m);
	assert_int_equal(m.error.value[0], 3);

	e[6] = 0x99; /* unknown code: raw value kept */
	parse_ok(e, sizeof(e), &m);
	assert_int_equal(m.error.code, 0x99);
	assert_int_equal(m.error.value_len, 5);

	/* RFC 8803 echo: the byte before the echo must be zero. */
	e[2] = 0x22;
	e[3] = 0x63;
	e[6] = CV_E_MALFORMED;
	e[7] = 0;
	e[8] = 0x01;
	parse_ok(e, sizeof(e), &m);
	assert_int_equal(m.error.value_len, 4);
	assert_int_equal(m.error.value[0], 0x01);
	e[7] = 5;
	assert_int_equal(parse_rc(e, sizeof(e)), HT_ERR_BAD_VALUE);
}

static void test_ext_tcp_hdr(void **state)
{
	static const uint8_t opts[8] = {0x1E, 0x0C, 0x01, 0x81, 0x01, 0x02, 0x03, 0x04};
	static const uint8_t msg[] = {0x01, 0x04, 0, 0, 0x14, 0x03, 0xFF, 0xFF,
				      0x1E, 0x0C, 0x01, 0x81, 0x01, 0x02, 0x03, 0x04};
	struct cv_msg m;
	struct cv_builder b;
	uint8_t out[32];

	(void)state;
	parse_ok(msg, sizeof(msg), &m); /* Unassigned ignored on receipt */
	assert_int_equal(m.present, CV_HAS_EXT_TCP_HDR);
	assert_int_equal(m.ext_tcp_hdr.len, 8);
	assert_memory_equal(m.ext_tcp_hdr.data, opts, 8);
	assert_int_equal(cv_build_begin(&b, out, sizeof(out), CV_FORM_02), 0);
	assert_int_equal(cv_build_add_ext_tcp_hdr(&b, opts, 8), 0);
	assert_int_equal(cv_build_finish(&b), 16);
	assert_memory_equal(out + 8, opts, 8);
	assert_int_equal(out[6], 0);
	assert_int_equal(out[7], 0);
}

static void test_err_to_code(void **state)
{
	(void)state;
	assert_int_equal(cv_err_to_code(HT_ERR_BAD_VERSION), CV_E_UNSUPPORTED_VERSION);
	assert_int_equal(cv_err_to_code(HT_ERR_BAD_LENGTH), CV_E_MALFORMED);
	assert_int_equal(cv_err_to_code(HT_ERR_TRUNCATED), CV_E_MALFORMED);
	assert_int_equal(cv_err_to_code(HT_ERR_BAD_VALUE), CV_E_MALFORMED);
	assert_int_equal(cv_err_to_code(HT_ERR_DUPLICATE), CV_E_MALFORMED);
	assert_int_equal(cv_err_to_code(HT_ERR_BAD_ADDRESS), CV_E_MALFORMED);
	assert_int_equal(cv_err_to_code(HT_ERR_BAD_TYPE), CV_E_UNSUPPORTED_MESSAGE);
	assert_int_equal(cv_err_to_code(HT_ERR_WRONG_SENDER), CV_E_UNSUPPORTED_MESSAGE);
	assert_int_equal(cv_err_to_code(HT_ERR_UNSUPPORTED), CV_E_UNSUPPORTED_TCP_OPTION);
	assert_int_equal(cv_err_to_code(HT_ERR_BAD_MAGIC), CV_NO_REPLY);
	assert_int_equal(cv_err_to_code(HT_ERR_NEED_MORE), CV_NO_REPLY);
	assert_int_equal(cv_err_to_code(HT_ERR_NOBUF), CV_NO_REPLY);
}

static void test_option_policy(void **state)
{
	static const uint8_t ao[] = {0x1E, 0x02, 29, 0x04, 0x01, 0x02};
	static const uint8_t ignored[] = {0x02, 0x04, 0x05, 0xB4, 0x03, 0x03, 0x07};
	uint8_t refused = 0;

	(void)state;
	for (unsigned k = 0; k < 6; k++)
		if (k != 4)
			assert_int_equal(cv_opt_policy((uint8_t)k), CV_OPT_IGNORE);
	assert_int_equal(cv_opt_policy(4), CV_OPT_PASS);
	assert_int_equal(cv_opt_policy(8), CV_OPT_PASS);
	assert_int_equal(cv_opt_policy(30), CV_OPT_PASS);
	assert_int_equal(cv_opt_policy(34), CV_OPT_PASS);
	assert_int_equal(cv_opt_policy(29), CV_OPT_REFUSE);
	assert_int_equal(cv_opt_policy(28), CV_OPT_REFUSE);
	assert_true(cv_opt_announceable(30));
	assert_false(cv_opt_announceable(29));
	assert_false(cv_opt_announceable(2));
	assert_false(cv_opt_announceable(3));
	assert_false(cv_opt_announceable(5));
	assert_int_equal(cv_opts_check(ao, sizeof(ao), &refused), HT_ERR_UNSUPPORTED);
	assert_int_equal(refused, 29);
	refused = 0;
	assert_int_equal(cv_opts_check(ignored, sizeof(ignored), &refused), 0);
	assert_int_equal(refused, 0);
}

static void test_builder_limits(void **state)
{
	static uint8_t big[CV_MAX_LEN + 8];
	static const uint8_t two[] = {29, 28};
	static const uint8_t bad_opts[] = {0x1E, 0x02, 0x00, 0x00};
	static const uint8_t trunc_opts[] = {0x1E, 0x03};
	static const uint8_t kinds_bad[] = {30, 2};
	uint8_t out[CV_MAX_LEN + 16], v = 0;
	struct cv_builder b;
	struct cv_msg m;

	(void)state;
	assert_int_equal(cv_build_begin(&b, out, 3, CV_FORM_02), HT_ERR_NOBUF);
	assert_int_equal(cv_build_begin(&b, NULL, 8, CV_FORM_02), HT_ERR_INVAL);
	assert_int_equal(cv_build_add_bootstrap(&b), HT_ERR_INVAL);
	assert_int_equal(cv_build_begin(&b, out, 8, 7), HT_ERR_INVAL);

	assert_int_equal(cv_build_begin(&b, out, 8, CV_FORM_02), 0);
	assert_int_equal(cv_build_add_connect(&b, 1, addr_192_0_2_1, NULL, 0), HT_ERR_NOBUF);
	assert_int_equal(cv_build_add_bootstrap(&b), 0);
	assert_int_equal(cv_build_add_bootstrap(&b), HT_ERR_DUPLICATE);
	assert_int_equal(cv_build_finish(&b), 8);

	assert_int_equal(cv_build_begin(&b, out, sizeof(out), CV_FORM_02), 0);
	assert_int_equal(cv_build_add_ext_tcp_hdr(&b, big, CV_MAX_LEN - 8 + 1), HT_ERR_TOO_LONG);
	assert_int_equal(cv_build_add_ext_tcp_hdr(&b, big, CV_MAX_LEN - 8), 0);
	assert_int_equal(cv_build_add_bootstrap(&b), HT_ERR_TOO_LONG);
	assert_int_equal(cv_build_finish(&b), CV_MAX_LEN);
	assert_int_equal(out[1], 255);
	parse_ok(out, CV_MAX_LEN, &m);

	assert_int_equal(cv_build_begin(&b, out, sizeof(out), CV_FORM_02), 0);
	assert_int_equal(cv_build_add_connect(&b, 1, addr_192_0_2_1, bad_opts, 4), HT_ERR_INVAL);
	assert_int_equal(cv_build_add_connect(&b, 1, addr_192_0_2_1, trunc_opts, 2), HT_ERR_TRUNCATED);
	assert_int_equal(cv_build_add_connect(&b, 1, NULL, NULL, 0), HT_ERR_INVAL);
	assert_int_equal(cv_build_add_supported(&b, kinds_bad, 2), HT_ERR_INVAL);
	assert_int_equal(cv_build_add_supported(&b, NULL, 1), HT_ERR_INVAL);
	/* Failed adds left nothing behind. */
	assert_int_equal(cv_build_finish(&b), 4);

	/* The Value rule of each code. */
	assert_int_equal(cv_build_add_error(&b, CV_E_UNSUPPORTED_VERSION, NULL, 0), HT_ERR_INVAL);
	assert_int_equal(cv_build_add_error(&b, CV_E_UNSUPPORTED_VERSION, &v, 1), HT_ERR_INVAL);
	assert_int_equal(cv_build_add_error(&b, CV_E_NOT_AUTHORIZED, &v, 1), HT_ERR_INVAL);
	assert_int_equal(cv_build_add_error(&b, CV_E_CONNECTION_RESET, &v, 1), HT_ERR_INVAL);
	assert_int_equal(cv_build_add_error(&b, CV_E_UNSUPPORTED_TCP_OPTION, two, 2), HT_ERR_INVAL);
	assert_int_equal(cv_build_add_error(&b, CV_E_UNSUPPORTED_TCP_OPTION, &v, 1), HT_ERR_INVAL);
	assert_int_equal(cv_build_add_error(&b, CV_E_RESOURCE_EXCEEDED, NULL, 0), HT_ERR_INVAL);
	assert_int_equal(cv_build_add_error(&b, CV_E_NETWORK_FAILURE, two, 2), HT_ERR_INVAL);
	assert_int_equal(cv_build_add_error(&b, CV_E_DEST_UNREACHABLE, NULL, 0), HT_ERR_INVAL);
	assert_int_equal(cv_build_add_error(&b, 3, NULL, 0), HT_ERR_INVAL);
	assert_int_equal(cv_build_add_error(&b, CV_E_MALFORMED, NULL, 5), HT_ERR_INVAL);
	assert_int_equal(cv_build_finish(&b), 4);

	/* A list of unsupported kinds is an RFC 8803 thing. */
	assert_int_equal(cv_build_begin(&b, out, sizeof(out), CV_FORM_RFC8803), 0);
	assert_int_equal(cv_build_add_error(&b, CV_E_UNSUPPORTED_TCP_OPTION, two, 2), 0);
	assert_int_equal(cv_build_finish(&b), 12);
	assert_int_equal(out[7], 29);
	assert_int_equal(out[8], 28);
}

/* The code table the converter's status counts by. */
static void test_error_names(void **state)
{
	(void)state;
	for (int i = 0; i < CV_NCODES; i++) {
		assert_int_equal(cv_error_index(cv_error_codes[i]), i);
		assert_string_not_equal(cv_error_name(cv_error_codes[i]), "?");
	}
	assert_string_equal(cv_error_name(CV_E_NOT_AUTHORIZED), "Not Authorized");
	assert_string_equal(cv_error_name(CV_E_DEST_UNREACHABLE), "Destination Unreachable");
	assert_int_equal(cv_error_index(0x42), -1);
	assert_string_equal(cv_error_name(0x42), "?");
}

static void test_error_replies(void **state)
{
	static const uint8_t versions[] = {1};
	static const uint8_t unsup_ver[] = {0x01, 0x02, 0, 0, 0x1E, 0x01, 0x00, 0x01};
	/* A Bootstrap TLV with Length 0 in each form, and the Malformed
	 * Message answer in the same form. */
	static const uint8_t bad02[] = {0x01, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
	static const uint8_t rep02[] = {0x01, 0x04, 0x00, 0x00, 0x1E, 0x03, 0x01,
					0x01, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00};
	static const uint8_t bad8803[] = {0x01, 0x02, 0x22, 0x63, 0x01, 0x00, 0x00, 0x00};
	static const uint8_t rep8803[] = {0x01, 0x04, 0x22, 0x63, 0x1E, 0x03, 0x01, 0x00,
					  0x01, 0x02, 0x22, 0x63, 0x01, 0x00, 0x00, 0x00};
	static const uint8_t b64[] = {30};
	struct cv_builder b;
	struct cv_msg m;
	uint8_t out[64];
	int rc;

	(void)state;
	assert_int_equal(cv_build_begin(&b, out, sizeof(out), CV_FORM_02), 0);
	assert_int_equal(cv_build_add_error(&b, CV_E_UNSUPPORTED_VERSION, versions, 1), 0);
	assert_int_equal(cv_build_finish(&b), sizeof(unsup_ver));
	assert_memory_equal(out, unsup_ver, sizeof(unsup_ver));

	rc = cv_parse(bad02, sizeof(bad02), &m);
	assert_int_equal(cv_err_to_code(rc), CV_E_MALFORMED);
	assert_int_equal(cv_build_begin(&b, out, sizeof(out), m.hdr.form), 0);
	assert_int_equal(cv_build_add_error(&b, CV_E_MALFORMED, bad02, sizeof(bad02)), 0);
	assert_int_equal(cv_build_finish(&b), sizeof(rep02));
	assert_memory_equal(out, rep02, sizeof(rep02));
	parse_ok(out, sizeof(rep02), &m);
	assert_int_equal(m.error.value_len, 9); /* echo plus one padding byte */
	assert_memory_equal(m.error.value, bad02, sizeof(bad02));

	rc = cv_parse(bad8803, sizeof(bad8803), &m);
	assert_int_equal(cv_err_to_code(rc), CV_E_MALFORMED);
	assert_int_equal(m.hdr.form, CV_FORM_RFC8803);
	assert_int_equal(cv_build_begin(&b, out, sizeof(out), m.hdr.form), 0);
	assert_int_equal(cv_build_add_error(&b, CV_E_MALFORMED, bad8803, sizeof(bad8803)), 0);
	assert_int_equal(cv_build_finish(&b), sizeof(rep8803));
	assert_memory_equal(out, rep8803, sizeof(rep8803));
	parse_ok(out, sizeof(rep8803), &m);
	assert_int_equal(m.error.value_len, 8);
	assert_memory_equal(m.error.value, bad8803, sizeof(bad8803));

	/* Back-off 30 s, Resource Exceeded. */
	assert_int_equal(cv_build_begin(&b, out, sizeof(out), CV_FORM_02), 0);
	assert_int_equal(cv_build_add_error(&b, CV_E_RESOURCE_EXCEEDED, b64, 1), 0);
	assert_int_equal(cv_build_finish(&b), 8);
	assert_int_equal(out[6], 0x40);
	assert_int_equal(out[7], 30);
}

static void test_echo_truncation(void **state)
{
	static uint8_t recv[CV_MAX_LEN + 100];
	uint8_t out[CV_MAX_LEN];
	struct cv_builder b;
	struct cv_msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(recv); i++)
		recv[i] = (uint8_t)(i | 1);
	for (int form = CV_FORM_02; form <= CV_FORM_RFC8803; form++) {
		assert_int_equal(cv_build_begin(&b, out, sizeof(out), (enum cv_form)form), 0);
		assert_int_equal(cv_build_add_bootstrap(&b), 0);
		assert_int_equal(cv_build_add_error(&b, CV_E_UNSUPPORTED_MESSAGE, recv, sizeof(recv)), 0);
		assert_int_equal(cv_build_finish(&b), CV_MAX_LEN);
		parse_ok(out, CV_MAX_LEN, &m);
		assert_int_equal(m.error.value_len, CV_MAX_LEN - 8 - 3 - (size_t)form);
		assert_memory_equal(m.error.value, recv, m.error.value_len);
	}
	/* No room for even the one-word Error TLV. */
	assert_int_equal(cv_build_begin(&b, out, sizeof(out), CV_FORM_02), 0);
	assert_int_equal(cv_build_add_ext_tcp_hdr(&b, recv, CV_MAX_LEN - 8), 0);
	assert_int_equal(cv_build_add_error(&b, CV_E_MALFORMED, recv, 4), HT_ERR_TOO_LONG);
	/* A caller buffer below 1020 bytes is the caller's problem: NOBUF. */
	assert_int_equal(cv_build_begin(&b, out, 64, CV_FORM_02), 0);
	assert_int_equal(cv_build_add_error(&b, CV_E_MALFORMED, recv, 200), HT_ERR_NOBUF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_connect),
		cmocka_unit_test(test_example_connect_mptcp),
		cmocka_unit_test(test_example_not_authorized),
		cmocka_unit_test(test_bootstrap_and_supported),
		cmocka_unit_test(test_rfc8803_form),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_need_more_every_prefix),
		cmocka_unit_test(test_tlv_framing_errors),
		cmocka_unit_test(test_connect_address),
		cmocka_unit_test(test_connect_options),
		cmocka_unit_test(test_supported_errors),
		cmocka_unit_test(test_error_values),
		cmocka_unit_test(test_ext_tcp_hdr),
		cmocka_unit_test(test_err_to_code),
		cmocka_unit_test(test_option_policy),
		cmocka_unit_test(test_builder_limits),
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_error_replies),
		cmocka_unit_test(test_echo_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
