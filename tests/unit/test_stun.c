/* Unit tests for src/proto/stun.c: the RFC 5769 test vectors (verified and
 * rebuilt byte for byte), every parser error path, and an ICE check request /
 * response round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <nettle/md5.h>

#include "proto/addr.h"
#include "proto/err.h"
#include "proto/stun.h"
#include "proto/wire.h"

/* RFC 5769 test vector data. */
static const char rfc_password[] = "VOkJxbRl1RmTxUk/WvJxBt";
static const uint8_t rfc_txid[12] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
				     0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

/* §2.1 Sample Request (SOFTWARE "STUN test client", USERNAME "evtj:h6vY"). */
static const uint8_t rfc_req[] = {
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

/* §2.2 Sample IPv4 Response (SOFTWARE "test vector", 192.0.2.1:32853). */
static const uint8_t rfc_resp4[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
	0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* §2.3 Sample IPv6 Response (2001:db8:1234:5678:11:2233:4455:6677 port 32853). */
static const uint8_t rfc_resp6[] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
	0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
	0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
	0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

/* §2.4 Sample Request with Long-Term Authentication. */
static const uint8_t rfc_lt[] = {
	0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33,
	0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12,
	0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83,
	0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00, 0x15, 0x00, 0x1c,
	0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36,
	0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79,
	0x36, 0x34, 0x73, 0x41, 0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d,
	0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x08, 0x00, 0x14,
	0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02, 0xb8, 0xe0, 0x71,
	0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66,
};
/* "マトリックス" in UTF-8; the password after SASLprep is "TheMatrIX". */
static const uint8_t lt_user[18] = {0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88,
				    0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83,
				    0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9};
static const char lt_realm[] = "example.org";
static const char lt_nonce[] = "f//499k954d6OL34oL9FSTvy64sA";
static const char lt_pass[] = "TheMatrIX";

static const uint8_t *pw(void)
{
	return (const uint8_t *)rfc_password;
}

static void test_type_encoding(void **state)
{
	unsigned m, c;

	(void)state;
	assert_int_equal(stun_type(STUN_METHOD_BINDING, STUN_CLASS_REQUEST), STUN_BINDING_REQUEST);
	assert_int_equal(stun_type(STUN_METHOD_BINDING, STUN_CLASS_INDICATION),
			 STUN_BINDING_INDICATION);
	assert_int_equal(stun_type(STUN_METHOD_BINDING, STUN_CLASS_SUCCESS), STUN_BINDING_SUCCESS);
	assert_int_equal(stun_type(STUN_METHOD_BINDING, STUN_CLASS_ERROR), STUN_BINDING_ERROR);
	assert_int_equal(stun_type(0x1000, STUN_CLASS_REQUEST), 0xFFFF);
	for (m = 0; m <= 0xFFF; m++) {
		for (c = 0; c < 4; c++) {
			uint16_t t = stun_type((uint16_t)m, (enum stun_class)c);

			assert_int_equal(t & 0xC000, 0);
			assert_int_equal(stun_type_method(t), m);
			assert_int_equal(stun_type_class(t), c);
		}
	}
}

static void test_rfc5769_request(void **state)
{
	uint8_t out[sizeof(rfc_req)], bad[sizeof(rfc_req)];
	struct stun_builder b;
	struct stun_msg m;
	uint32_t prio;
	uint64_t tie;

	(void)state;
	assert_int_equal(stun_parse(&m, rfc_req, sizeof(rfc_req)), HT_OK);
	assert_int_equal(m.type, STUN_BINDING_REQUEST);
	assert_int_equal(m.method, STUN_METHOD_BINDING);
	assert_int_equal(m.cls, STUN_CLASS_REQUEST);
	assert_memory_equal(m.txid, rfc_txid, 12);
	assert_non_null(stun_get(&m, STUN_SLOT_USERNAME));
	assert_int_equal(m.attr[STUN_SLOT_USERNAME].len, 9);
	assert_memory_equal(m.attr[STUN_SLOT_USERNAME].value, "evtj:h6vY", 9);
	assert_int_equal(m.attr[STUN_SLOT_SOFTWARE].len, 16);
	assert_memory_equal(m.attr[STUN_SLOT_SOFTWARE].value, "STUN test client", 16);
	assert_int_equal(stun_decode_u32(stun_get(&m, STUN_SLOT_PRIORITY), &prio), HT_OK);
	assert_int_equal(prio, 0x6e0001ff);
	assert_int_equal(stun_decode_u64(stun_get(&m, STUN_SLOT_ICE_CONTROLLED), &tie), HT_OK);
	assert_true(tie == 0x932ff9b151263b36ull);
	assert_null(stun_get(&m, STUN_SLOT_ICE_CONTROLLING));
	assert_null(stun_get(&m, STUN_SLOT_USE_CANDIDATE));
	assert_int_equal(m.n_unknown, 0);
	assert_int_equal(stun_check_integrity(&m, pw(), strlen(rfc_password)), HT_OK);
	assert_int_equal(stun_check_integrity(&m, (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBu", 22),
			 HT_ERR_INTEGRITY);
	assert_int_equal(stun_check_fingerprint(&m), HT_OK);

	/* The RFC pads with spaces; everything else is rebuilt bit for bit. */
	assert_int_equal(stun_build_init(&b, out, sizeof(out), STUN_BINDING_REQUEST, rfc_txid), HT_OK);
	b.pad_byte = 0x20;
	assert_int_equal(stun_add_software(&b, "STUN test client", 16), HT_OK);
	assert_int_equal(stun_add_priority(&b, 0x6e0001ff), HT_OK);
	assert_int_equal(stun_add_ice_role(&b, false, 0x932ff9b151263b36ull), HT_OK);
	assert_int_equal(stun_add_username(&b, "evtj:h6vY", 9), HT_OK);
	assert_int_equal(stun_add_integrity(&b, pw(), strlen(rfc_password)), HT_OK);
	assert_int_equal(stun_add_fingerprint(&b), HT_OK);
	assert_int_equal(b.len, sizeof(rfc_req));
	assert_memory_equal(out, rfc_req, sizeof(rfc_req));

	/* A flipped bit before MESSAGE-INTEGRITY breaks both checks. */
	memcpy(bad, rfc_req, sizeof(bad));
	bad[30] ^= 0x01;
	assert_int_equal(stun_parse(&m, bad, sizeof(bad)), HT_OK);
	assert_int_equal(stun_check_integrity(&m, pw(), strlen(rfc_password)), HT_ERR_INTEGRITY);
	assert_int_equal(stun_check_fingerprint(&m), HT_ERR_FINGERPRINT);
	/* A corrupted FINGERPRINT value leaves MESSAGE-INTEGRITY valid. */
	memcpy(bad, rfc_req, sizeof(bad));
	bad[sizeof(bad) - 1] ^= 0x80;
	assert_int_equal(stun_parse(&m, bad, sizeof(bad)), HT_OK);
	assert_int_equal(stun_check_integrity(&m, pw(), strlen(rfc_password)), HT_OK);
	assert_int_equal(stun_check_fingerprint(&m), HT_ERR_FINGERPRINT);
	/* The HMAC value itself corrupted. */
	memcpy(bad, rfc_req, sizeof(bad));
	bad[sizeof(bad) - 9] ^= 0x04;
	assert_int_equal(stun_parse(&m, bad, sizeof(bad)), HT_OK);
	assert_int_equal(stun_check_integrity(&m, pw(), strlen(rfc_password)), HT_ERR_INTEGRITY);
}

static void check_response(const uint8_t *msg, size_t len, const struct stun_addr *want)
{
	uint8_t out[128];
	struct stun_builder b;
	struct stun_addr got;
	struct stun_msg m;

	assert_int_equal(stun_parse(&m, msg, len), HT_OK);
	assert_int_equal(m.type, STUN_BINDING_SUCCESS);
	assert_int_equal(m.cls, STUN_CLASS_SUCCESS);
	assert_memory_equal(m.attr[STUN_SLOT_SOFTWARE].value, "test vector", 11);
	assert_int_equal(stun_decode_xor_addr(stun_get(&m, STUN_SLOT_XOR_MAPPED_ADDRESS), m.txid,
					      &got), HT_OK);
	assert_int_equal(got.family, want->family);
	assert_int_equal(got.port, want->port);
	assert_memory_equal(got.ip, want->ip, 16);
	assert_int_equal(stun_check_integrity(&m, pw(), strlen(rfc_password)), HT_OK);
	assert_int_equal(stun_check_fingerprint(&m), HT_OK);

	assert_int_equal(stun_build_init(&b, out, sizeof(out), STUN_BINDING_SUCCESS, rfc_txid), HT_OK);
	b.pad_byte = 0x20;
	assert_int_equal(stun_add_software(&b, "test vector", 11), HT_OK);
	assert_int_equal(stun_add_xor_addr(&b, want), HT_OK);
	assert_int_equal(stun_add_integrity(&b, pw(), strlen(rfc_password)), HT_OK);
	assert_int_equal(stun_add_fingerprint(&b), HT_OK);
	assert_int_equal(b.len, len);
	assert_memory_equal(out, msg, len);
}

static void test_rfc5769_ipv4_response(void **state)
{
	static const uint8_t ip[4] = {192, 0, 2, 1};
	struct stun_addr a = {.family = STUN_FAMILY_IPV4, .port = 32853};

	(void)state;
	ht_addr_map_v4(a.ip, ip);
	check_response(rfc_resp4, sizeof(rfc_resp4), &a);
}

static void test_rfc5769_ipv6_response(void **state)
{
	struct stun_addr a = {
		.family = STUN_FAMILY_IPV6,
		.port = 32853,
		.ip = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
		       0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77},
	};

	(void)state;
	check_response(rfc_resp6, sizeof(rfc_resp6), &a);
}

static void test_rfc5769_long_term(void **state)
{
	static const uint8_t txid[12] = {0x78, 0xad, 0x34, 0x33, 0xc6, 0xad,
					 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e};
	uint8_t key[MD5_DIGEST_SIZE], out[sizeof(rfc_lt)];
	struct stun_builder b;
	struct md5_ctx md5;
	struct stun_msg m;

	(void)state;
	md5_init(&md5);
	md5_update(&md5, sizeof(lt_user), lt_user);
	md5_update(&md5, 1, (const uint8_t *)":");
	md5_update(&md5, strlen(lt_realm), (const uint8_t *)lt_realm);
	md5_update(&md5, 1, (const uint8_t *)":");
	md5_update(&md5, strlen(lt_pass), (const uint8_t *)lt_pass);
	md5_digest(&md5, sizeof(key), key);

	assert_int_equal(stun_parse(&m, rfc_lt, sizeof(rfc_lt)), HT_OK);
	assert_int_equal(m.type, STUN_BINDING_REQUEST);
	assert_int_equal(m.attr[STUN_SLOT_USERNAME].len, sizeof(lt_user));
	assert_memory_equal(m.attr[STUN_SLOT_USERNAME].value, lt_user, sizeof(lt_user));
	assert_int_equal(m.attr[STUN_SLOT_NONCE].len, strlen(lt_nonce));
	assert_memory_equal(m.attr[STUN_SLOT_NONCE].value, lt_nonce, strlen(lt_nonce));
	assert_int_equal(m.attr[STUN_SLOT_REALM].len, strlen(lt_realm));
	assert_memory_equal(m.attr[STUN_SLOT_REALM].value, lt_realm, strlen(lt_realm));
	assert_null(stun_get(&m, STUN_SLOT_FINGERPRINT));
	assert_int_equal(stun_check_integrity(&m, key, sizeof(key)), HT_OK);
	assert_int_equal(stun_check_integrity(&m, (const uint8_t *)lt_pass, strlen(lt_pass)),
			 HT_ERR_INTEGRITY);
	assert_int_equal(stun_check_fingerprint(&m), HT_ERR_FINGERPRINT);

	assert_int_equal(stun_build_init(&b, out, sizeof(out), STUN_BINDING_REQUEST, txid), HT_OK);
	assert_int_equal(stun_add_username(&b, lt_user, sizeof(lt_user)), HT_OK);
	assert_int_equal(stun_add_raw(&b, STUN_ATTR_NONCE, lt_nonce, strlen(lt_nonce)), HT_OK);
	assert_int_equal(stun_add_raw(&b, STUN_ATTR_REALM, lt_realm, strlen(lt_realm)), HT_OK);
	assert_int_equal(stun_add_integrity(&b, key, sizeof(key)), HT_OK);
	assert_int_equal(b.len, sizeof(rfc_lt));
	assert_memory_equal(out, rfc_lt, sizeof(rfc_lt));
}

/* A copy of the RFC request with one byte changed must fail with want. */
static void expect_mutation(size_t at, uint8_t val, int want)
{
	uint8_t buf[sizeof(rfc_req)];
	struct stun_msg m;

	memcpy(buf, rfc_req, sizeof(buf));
	buf[at] = val;
	assert_int_equal(stun_parse(&m, buf, sizeof(buf)), want);
	if (want != HT_OK)
		assert_null(m.buf); /* the struct is cleared on failure */
}

static void test_header_errors(void **state)
{
	uint8_t big[sizeof(rfc_req) + 4];
	struct stun_msg m;

	(void)state;
	assert_int_equal(stun_parse(&m, rfc_req, 19), HT_ERR_TRUNCATED);
	assert_int_equal(stun_parse(&m, NULL, 0), HT_ERR_TRUNCATED);
	assert_int_equal(stun_parse(NULL, rfc_req, sizeof(rfc_req)), HT_ERR_INVAL);
	expect_mutation(0, 0x40, HT_ERR_BAD_TYPE);  /* QUIC short header bit */
	expect_mutation(0, 0x80, HT_ERR_BAD_TYPE);
	expect_mutation(4, 0x22, HT_ERR_BAD_MAGIC); /* RFC 3489 has no cookie */
	expect_mutation(7, 0x43, HT_ERR_BAD_MAGIC);
	expect_mutation(3, 0x57, HT_ERR_BAD_LENGTH); /* not a multiple of 4 */
	expect_mutation(3, 0x5c, HT_ERR_TRUNCATED);  /* longer than the datagram */
	expect_mutation(3, 0x54, HT_ERR_TRAILING);   /* shorter than the datagram */
	assert_int_equal(stun_check_header(rfc_req, sizeof(rfc_req) - 4), HT_ERR_TRUNCATED);
	memcpy(big, rfc_req, sizeof(rfc_req));
	memset(big + sizeof(rfc_req), 0, 4);
	assert_int_equal(stun_parse(&m, big, sizeof(big)), HT_ERR_TRAILING);
	assert_int_equal(stun_parse(&m, rfc_req, 20), HT_ERR_TRUNCATED);
	/* A bare header is a valid empty message. */
	memcpy(big, rfc_req, 20);
	big[3] = 0;
	assert_int_equal(stun_parse(&m, big, 20), HT_OK);
	assert_null(stun_get(&m, STUN_SLOT_USERNAME));
}

static void test_attribute_errors(void **state)
{
	(void)state;
	/* SOFTWARE length 0x10 -> 0x50 runs past the end. */
	expect_mutation(23, 0x50, HT_ERR_TRUNCATED);
	/* Last attribute (FINGERPRINT) claims 8 bytes. */
	expect_mutation(sizeof(rfc_req) - 5, 0x08, HT_ERR_TRUNCATED);
	expect_mutation(sizeof(rfc_req) - 5, 0x00, HT_ERR_BAD_LENGTH);
	/* PRIORITY length 4 -> 0: bad fixed length; padding shifts the rest. */
	expect_mutation(43, 0x00, HT_ERR_BAD_LENGTH);
	/* ICE-CONTROLLED length 8 -> 4. */
	expect_mutation(51, 0x04, HT_ERR_BAD_LENGTH);
	/* MESSAGE-INTEGRITY length 20 -> 16. */
	expect_mutation(79, 0x10, HT_ERR_BAD_LENGTH);
	/* PRIORITY retyped as USE-CANDIDATE, which must be empty. */
	expect_mutation(41, 0x25, HT_ERR_BAD_LENGTH);
	/* PRIORITY retyped as ERROR-CODE: class 0 is out of range. */
	expect_mutation(41, 0x09, HT_ERR_BAD_VALUE);
	/* PRIORITY retyped as MAPPED-ADDRESS: family 0x00 is unknown. */
	expect_mutation(41, 0x01, HT_ERR_BAD_VALUE);
	/* SOFTWARE retyped as FINGERPRINT: length 16 is wrong. */
	expect_mutation(21, 0x28, HT_ERR_BAD_LENGTH);
	/* PRIORITY retyped as 0x8024: comprehension-optional, skipped. */
	expect_mutation(40, 0x80, HT_OK);
}

static int parse_one(uint16_t type, const void *val, size_t len)
{
	uint8_t buf[128];
	struct stun_builder b;
	struct stun_msg m;

	assert_int_equal(stun_build_init(&b, buf, sizeof(buf), STUN_BINDING_SUCCESS, rfc_txid), HT_OK);
	assert_int_equal(stun_add_raw(&b, type, val, len), HT_OK);
	return stun_parse(&m, buf, b.len);
}

static void test_address_errors(void **state)
{
	static const uint8_t v4_long[12] = {0, 1, 0, 80, 1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t v6_short[8] = {0, 2, 0, 80, 1, 2, 3, 4};
	static const uint8_t v4_junk[8] = {0xff, 1, 0, 80, 1, 2, 3, 4};

	(void)state;
	assert_int_equal(parse_one(STUN_ATTR_XOR_MAPPED_ADDRESS, v4_long, 12), HT_ERR_BAD_LENGTH);
	assert_int_equal(parse_one(STUN_ATTR_MAPPED_ADDRESS, v6_short, 8), HT_ERR_BAD_LENGTH);
	assert_int_equal(parse_one(STUN_ATTR_ALTERNATE_SERVER, v4_long, 3), HT_ERR_BAD_LENGTH);
	/* The first byte is reserved and ignored. */
	assert_int_equal(parse_one(STUN_ATTR_MAPPED_ADDRESS, v4_junk, 8), HT_OK);
	assert_int_equal(parse_one(STUN_ATTR_UNKNOWN_ATTRIBUTES, v4_long, 3), HT_ERR_BAD_LENGTH);
	assert_int_equal(parse_one(STUN_ATTR_ERROR_CODE, v4_long, 3), HT_ERR_BAD_LENGTH);
	assert_int_equal(parse_one(STUN_ATTR_ICE_CONTROLLING, v4_long, 12), HT_ERR_BAD_LENGTH);
	assert_int_equal(stun_decode_addr(NULL, NULL), HT_ERR_INVAL);
	assert_int_equal(stun_decode_u32(NULL, NULL), HT_ERR_INVAL);
}

static void test_fingerprint_not_last(void **state)
{
	uint8_t buf[sizeof(rfc_req)];
	struct stun_msg m;

	(void)state;
	memcpy(buf, rfc_req, sizeof(buf));
	/* PRIORITY (0x0024, len 4) becomes a FINGERPRINT in the middle. */
	buf[40] = 0x80;
	buf[41] = 0x28;
	assert_int_equal(stun_parse(&m, buf, sizeof(buf)), HT_ERR_ORDER);
	assert_int_equal(stun_error_response_for(HT_ERR_ORDER), STUN_ERR_BAD_REQUEST);
}

static void test_username_too_long(void **state)
{
	static uint8_t buf[20 + 4 + 516];
	static const uint8_t hdr[8] = {0x00, 0x01, 0x02, 0x08, 0x21, 0x12, 0xa4, 0x42};
	struct stun_builder b;
	struct stun_msg m;

	(void)state;
	memset(buf, 'u', sizeof(buf));
	memcpy(buf, hdr, sizeof(hdr));
	buf[20] = 0x00;
	buf[21] = 0x06;
	buf[22] = 0x02;
	buf[23] = 0x01; /* 513 bytes */
	assert_int_equal(stun_parse(&m, buf, sizeof(buf)), HT_ERR_TOO_LONG);
	buf[23] = 0x00; /* 512 bytes: the limit */
	buf[3] = 0x04;
	assert_int_equal(stun_parse(&m, buf, 20 + 4 + 512), HT_OK);
	assert_int_equal(m.attr[STUN_SLOT_USERNAME].len, 512);
	assert_int_equal(stun_build_init(&b, buf, sizeof(buf), STUN_BINDING_REQUEST, rfc_txid),
			 HT_OK);
	assert_int_equal(stun_add_username(&b, buf, 513), HT_ERR_TOO_LONG);
}

static void test_ignored_after_integrity(void **state)
{
	uint8_t buf[sizeof(rfc_lt) + 16];
	uint8_t key[MD5_DIGEST_SIZE];
	struct md5_ctx md5;
	struct stun_msg m;

	(void)state;
	md5_init(&md5);
	md5_update(&md5, sizeof(lt_user), lt_user);
	md5_update(&md5, 1, (const uint8_t *)":");
	md5_update(&md5, strlen(lt_realm), (const uint8_t *)lt_realm);
	md5_update(&md5, 1, (const uint8_t *)":");
	md5_update(&md5, strlen(lt_pass), (const uint8_t *)lt_pass);
	md5_digest(&md5, sizeof(key), key);

	/* Append an unknown comprehension-required attribute and a PRIORITY
	 * after MESSAGE-INTEGRITY: both are ignored, the MAC still checks. */
	memcpy(buf, rfc_lt, sizeof(rfc_lt));
	memcpy(buf + sizeof(rfc_lt),
	       "\x7f\xff\x00\x04"
	       "abcd"
	       "\x00\x24\x00\x04"
	       "\x01\x02\x03\x04",
	       16);
	ht_put16(buf + 2, (uint16_t)(sizeof(buf) - 20));
	assert_int_equal(stun_parse(&m, buf, sizeof(buf)), HT_OK);
	assert_int_equal(m.n_unknown, 0);
	assert_null(stun_get(&m, STUN_SLOT_PRIORITY));
	assert_int_equal(stun_check_integrity(&m, key, sizeof(key)), HT_OK);
}

static void test_unknown_and_duplicates(void **state)
{
	static const uint8_t one[4] = {0, 0, 0, 1}, two[4] = {0, 0, 0, 2};
	uint8_t buf[256];
	struct stun_builder b;
	struct stun_msg m;
	uint32_t prio;
	unsigned i;

	(void)state;
	assert_int_equal(stun_build_init(&b, buf, sizeof(buf), STUN_BINDING_REQUEST, rfc_txid), HT_OK);
	assert_int_equal(stun_add_raw(&b, 0x7777, "x", 1), HT_OK);
	assert_int_equal(stun_add_raw(&b, STUN_ATTR_PRIORITY, one, 4), HT_OK);
	assert_int_equal(stun_add_raw(&b, 0x8888, NULL, 0), HT_OK); /* optional: skipped */
	assert_int_equal(stun_add_raw(&b, 0x7777, NULL, 0), HT_OK); /* listed once */
	assert_int_equal(stun_add_raw(&b, STUN_ATTR_PRIORITY, two, 4), HT_OK);
	assert_int_equal(stun_add_raw(&b, 0x001C, NULL, 0), HT_OK); /* MI-SHA256 */
	/* The duplicate is not validated: only the first instance counts. */
	assert_int_equal(stun_add_raw(&b, STUN_ATTR_USE_CANDIDATE, NULL, 0), HT_OK);
	assert_int_equal(stun_add_raw(&b, STUN_ATTR_USE_CANDIDATE, "x", 1), HT_OK);
	assert_int_equal(stun_parse(&m, buf, b.len), HT_OK);
	assert_int_equal(m.n_unknown, 2);
	assert_int_equal(m.unknown[0], 0x7777);
	assert_int_equal(m.unknown[1], 0x001C);
	assert_int_equal(stun_decode_u32(stun_get(&m, STUN_SLOT_PRIORITY), &prio), HT_OK);
	assert_int_equal(prio, 1);

	/* More distinct unknowns than the list holds: counted, not stored. */
	assert_int_equal(stun_build_init(&b, buf, sizeof(buf), STUN_BINDING_REQUEST, rfc_txid), HT_OK);
	for (i = 0; i < STUN_MAX_UNKNOWN + 3; i++)
		assert_int_equal(stun_add_raw(&b, (uint16_t)(0x4000 + i), NULL, 0), HT_OK);
	assert_int_equal(stun_parse(&m, buf, b.len), HT_OK);
	assert_int_equal(m.n_unknown, STUN_MAX_UNKNOWN + 3);
	assert_int_equal(m.unknown[STUN_MAX_UNKNOWN - 1], 0x4000 + STUN_MAX_UNKNOWN - 1);
}

/* RFC 8445 §7.1.1 check from L to R: USERNAME "RFRAG:LFRAG", key = RPASS. */
static const char rpass[] = "0123456789abcdefRPASS";
static const uint8_t ice_txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static size_t build_ice_check(uint8_t *buf, size_t cap)
{
	struct stun_builder b;

	assert_int_equal(stun_build_init(&b, buf, cap, STUN_BINDING_REQUEST, ice_txid), HT_OK);
	assert_int_equal(stun_add_username(&b, "RFRAG:LFRAG", 11), HT_OK);
	assert_int_equal(stun_add_priority(&b, 0x6e7fffff), HT_OK);
	assert_int_equal(stun_add_ice_role(&b, true, 0x0102030405060708ull), HT_OK);
	assert_int_equal(stun_add_use_candidate(&b), HT_OK);
	assert_int_equal(stun_add_integrity(&b, (const uint8_t *)rpass, strlen(rpass)), HT_OK);
	assert_int_equal(stun_add_fingerprint(&b), HT_OK);
	return b.len;
}

static void test_ice_check_roundtrip(void **state)
{
	static const uint8_t ip[4] = {198, 51, 100, 7};
	uint8_t req[128], resp[128];
	struct stun_addr mapped = {.family = STUN_FAMILY_IPV4, .port = 4433}, got;
	struct stun_builder b;
	struct stun_msg m;
	uint32_t prio;
	uint64_t tie;
	size_t n;

	(void)state;
	n = build_ice_check(req, sizeof(req));
	/* wire-formats.md §3.5: 20 + (4 + pad(11)) + 8 + 12 + 24 + 8 + 4. */
	assert_int_equal(n, 20 + 16 + 8 + 12 + 24 + 8 + 4);
	assert_int_equal(stun_parse(&m, req, n), HT_OK);
	assert_int_equal(m.type, STUN_BINDING_REQUEST);
	assert_memory_equal(m.attr[STUN_SLOT_USERNAME].value, "RFRAG:LFRAG", 11);
	assert_int_equal(stun_decode_u32(stun_get(&m, STUN_SLOT_PRIORITY), &prio), HT_OK);
	assert_int_equal(prio, 0x6e7fffff);
	assert_int_equal(stun_decode_u64(stun_get(&m, STUN_SLOT_ICE_CONTROLLING), &tie), HT_OK);
	assert_true(tie == 0x0102030405060708ull);
	assert_null(stun_get(&m, STUN_SLOT_ICE_CONTROLLED));
	assert_non_null(stun_get(&m, STUN_SLOT_USE_CANDIDATE));
	assert_int_equal(stun_check_integrity(&m, (const uint8_t *)rpass, strlen(rpass)), HT_OK);
	assert_int_equal(stun_check_integrity(&m, (const uint8_t *)"LPASS", 5), HT_ERR_INTEGRITY);
	assert_int_equal(stun_check_fingerprint(&m), HT_OK);

	/* The success response echoes the transaction ID, carries no USERNAME. */
	ht_addr_map_v4(mapped.ip, ip);
	assert_int_equal(stun_build_init(&b, resp, sizeof(resp), STUN_BINDING_SUCCESS, m.txid), HT_OK);
	assert_int_equal(stun_add_xor_addr(&b, &mapped), HT_OK);
	assert_int_equal(stun_add_integrity(&b, (const uint8_t *)rpass, strlen(rpass)), HT_OK);
	assert_int_equal(stun_add_fingerprint(&b), HT_OK);
	assert_int_equal(b.len, 20 + 12 + 24 + 8);
	assert_int_equal(stun_parse(&m, resp, b.len), HT_OK);
	assert_int_equal(m.cls, STUN_CLASS_SUCCESS);
	assert_memory_equal(m.txid, ice_txid, 12);
	assert_null(stun_get(&m, STUN_SLOT_USERNAME));
	assert_int_equal(stun_decode_xor_addr(stun_get(&m, STUN_SLOT_XOR_MAPPED_ADDRESS), m.txid,
					      &got), HT_OK);
	assert_int_equal(got.family, STUN_FAMILY_IPV4);
	assert_int_equal(got.port, 4433);
	assert_memory_equal(got.ip, mapped.ip, 16);
	/* Read as a plain MAPPED-ADDRESS the value is still masked. */
	assert_int_equal(stun_decode_addr(stun_get(&m, STUN_SLOT_XOR_MAPPED_ADDRESS), &got), HT_OK);
	assert_int_equal(got.port, 4433 ^ 0x2112);
	assert_int_equal(stun_check_integrity(&m, (const uint8_t *)rpass, strlen(rpass)), HT_OK);
	assert_int_equal(stun_check_fingerprint(&m), HT_OK);

	/* Keepalive: Binding Indication with FINGERPRINT only. */
	assert_int_equal(stun_build_init(&b, resp, sizeof(resp), STUN_BINDING_INDICATION, ice_txid),
			 HT_OK);
	assert_int_equal(stun_add_fingerprint(&b), HT_OK);
	assert_int_equal(stun_parse(&m, resp, b.len), HT_OK);
	assert_int_equal(m.cls, STUN_CLASS_INDICATION);
	assert_int_equal(stun_check_fingerprint(&m), HT_OK);
	assert_int_equal(stun_check_integrity(&m, NULL, 0), HT_ERR_INTEGRITY);
}

static void test_error_responses(void **state)
{
	static const uint16_t unk[3] = {0x7777, 0x001C, 0x0030};
	uint8_t buf[256];
	uint16_t types[4];
	struct stun_builder b;
	struct stun_error e;
	struct stun_msg m;
	size_t n;

	(void)state;
	assert_int_equal(stun_build_init(&b, buf, sizeof(buf), STUN_BINDING_ERROR, ice_txid), HT_OK);
	assert_int_equal(stun_add_error(&b, STUN_ERR_UNKNOWN_ATTRIBUTE, "Unknown Attribute", 17),
			 HT_OK);
	assert_int_equal(stun_add_unknown(&b, unk, 3), HT_OK);
	assert_int_equal(stun_add_integrity(&b, (const uint8_t *)rpass, strlen(rpass)), HT_OK);
	assert_int_equal(stun_add_fingerprint(&b), HT_OK);
	assert_int_equal(stun_parse(&m, buf, b.len), HT_OK);
	assert_int_equal(m.cls, STUN_CLASS_ERROR);
	assert_int_equal(stun_decode_error(stun_get(&m, STUN_SLOT_ERROR_CODE), &e), HT_OK);
	assert_int_equal(e.code, 420);
	assert_int_equal(e.reason_len, 17);
	assert_memory_equal(e.reason, "Unknown Attribute", 17);
	assert_int_equal(m.attr[STUN_SLOT_UNKNOWN_ATTRIBUTES].len, 6);
	assert_int_equal(stun_decode_unknown(stun_get(&m, STUN_SLOT_UNKNOWN_ATTRIBUTES), types, 2, &n),
			 HT_OK);
	assert_int_equal(n, 3);
	assert_int_equal(types[0], 0x7777);
	assert_int_equal(types[1], 0x001C);

	assert_int_equal(stun_build_init(&b, buf, sizeof(buf), STUN_BINDING_ERROR, ice_txid), HT_OK);
	assert_int_equal(stun_add_error(&b, STUN_ERR_ROLE_CONFLICT, NULL, 0), HT_OK);
	assert_int_equal(stun_add_error(&b, 299, NULL, 0), HT_ERR_INVAL);
	assert_int_equal(stun_add_error(&b, 700, NULL, 0), HT_ERR_INVAL);
	assert_int_equal(stun_parse(&m, buf, b.len), HT_OK);
	assert_int_equal(stun_decode_error(stun_get(&m, STUN_SLOT_ERROR_CODE), &e), HT_OK);
	assert_int_equal(e.code, 487);
	assert_int_equal(e.reason_len, 0);
	/* Number 100 in class 4 is not a code. */
	buf[20 + 4 + 3] = 100;
	assert_int_equal(stun_parse(&m, buf, b.len), HT_ERR_BAD_VALUE);

	assert_int_equal(stun_decode_error(NULL, &e), HT_ERR_INVAL);
	assert_int_equal(stun_error_response_for(HT_ERR_INTEGRITY), 401);
	assert_int_equal(stun_error_response_for(HT_ERR_FINGERPRINT), 0);
	assert_int_equal(stun_error_response_for(HT_ERR_TOO_LONG), 400);
}

static void test_builder_bounds(void **state)
{
	uint8_t buf[64], full[128];
	struct stun_builder b;
	struct stun_addr a = {.family = STUN_FAMILY_IPV4};
	size_t cap, n;

	(void)state;
	assert_int_equal(stun_build_init(&b, buf, 19, STUN_BINDING_REQUEST, ice_txid), HT_ERR_NOBUF);
	assert_int_equal(stun_build_init(&b, buf, sizeof(buf), 0x4001, ice_txid), HT_ERR_INVAL);
	/* Every prefix of the ICE check's buffer: NOBUF, then success. */
	n = build_ice_check(full, sizeof(full));
	for (cap = 20; cap < n; cap++) {
		struct stun_builder t;
		int rc = HT_OK;

		assert_int_equal(stun_build_init(&t, buf, cap, STUN_BINDING_REQUEST, ice_txid), HT_OK);
		if (rc == HT_OK)
			rc = stun_add_username(&t, "RFRAG:LFRAG", 11);
		if (rc == HT_OK)
			rc = stun_add_priority(&t, 0x6e7fffff);
		if (rc == HT_OK)
			rc = stun_add_ice_role(&t, true, 0x0102030405060708ull);
		if (rc == HT_OK)
			rc = stun_add_use_candidate(&t);
		if (rc == HT_OK)
			rc = stun_add_integrity(&t, (const uint8_t *)rpass, strlen(rpass));
		if (rc == HT_OK)
			rc = stun_add_fingerprint(&t);
		assert_int_equal(rc, HT_ERR_NOBUF);
		assert_true(t.len <= cap);
		/* What was written is still a complete message. */
		assert_int_equal(stun_check_header(buf, t.len), HT_OK);
	}

	assert_int_equal(stun_build_init(&b, buf, sizeof(buf), STUN_BINDING_REQUEST, ice_txid), HT_OK);
	assert_int_equal(stun_add_raw(&b, STUN_ATTR_MESSAGE_INTEGRITY, buf, 20), HT_ERR_INVAL);
	assert_int_equal(stun_add_raw(&b, STUN_ATTR_FINGERPRINT, buf, 4), HT_ERR_INVAL);
	assert_int_equal(stun_add_raw(&b, 0x7000, NULL, 1), HT_ERR_INVAL);
	assert_int_equal(stun_add_xor_addr(&b, &a), HT_ERR_INVAL); /* not v4-mapped */
	a.family = 3;
	assert_int_equal(stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &a), HT_ERR_INVAL);
	assert_int_equal(stun_add_integrity(&b, NULL, 0), HT_OK);
	assert_int_equal(stun_add_priority(&b, 1), HT_ERR_ORDER);
	assert_int_equal(stun_add_integrity(&b, NULL, 0), HT_ERR_ORDER);
	assert_int_equal(stun_add_fingerprint(&b), HT_OK);
	assert_int_equal(stun_add_fingerprint(&b), HT_ERR_ORDER);
	assert_int_equal(b.len, 20 + 24 + 8);
}

static void test_message_length_limit(void **state)
{
	static uint8_t buf[20 + 0xFFFC + 64], text[800];
	struct stun_builder b;
	struct stun_msg m;
	size_t i;

	(void)state;
	assert_int_equal(stun_build_init(&b, buf, sizeof(buf), STUN_BINDING_INDICATION, ice_txid),
			 HT_OK);
	/* 85 attributes of 4 + 760 bytes fill 64940 of 65532: 592 left. */
	for (i = 0; i < 85; i++)
		assert_int_equal(stun_add_raw(&b, (uint16_t)(0x8100 + i), text, 760), HT_OK);
	assert_int_equal(stun_add_software(&b, text, 760), HT_ERR_TOO_LONG);
	assert_int_equal(stun_add_software(&b, text, 764), HT_ERR_TOO_LONG);
	assert_int_equal(stun_add_raw(&b, 0x8000, text, 0xFFFC - 85 * 764 - 12), HT_OK);
	assert_int_equal(stun_add_fingerprint(&b), HT_OK);
	assert_int_equal(b.len, 20 + 0xFFFC);
	assert_int_equal(stun_add_use_candidate(&b), HT_ERR_ORDER);
	/* FINGERPRINT sits beyond offset 65535. */
	assert_int_equal(stun_parse(&m, buf, b.len), HT_OK);
	assert_true(m.attr[STUN_SLOT_FINGERPRINT].off > 0xFFFF);
	assert_int_equal(stun_check_fingerprint(&m), HT_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_encoding),
		cmocka_unit_test(test_rfc5769_request),
		cmocka_unit_test(test_rfc5769_ipv4_response),
		cmocka_unit_test(test_rfc5769_ipv6_response),
		cmocka_unit_test(test_rfc5769_long_term),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_attribute_errors),
		cmocka_unit_test(test_address_errors),
		cmocka_unit_test(test_fingerprint_not_last),
		cmocka_unit_test(test_username_too_long),
		cmocka_unit_test(test_ignored_after_integrity),
		cmocka_unit_test(test_unknown_and_duplicates),
		cmocka_unit_test(test_ice_check_roundtrip),
		cmocka_unit_test(test_error_responses),
		cmocka_unit_test(test_builder_bounds),
		cmocka_unit_test(test_message_length_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
