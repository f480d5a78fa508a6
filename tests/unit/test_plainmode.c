/* Unit tests for src/proto/plainmode.c: the four lengths, D and U bits,
 * reserved flags, other kinds and subtypes, options blocks around it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proto/err.h"
#include "proto/plainmode.h"

#define SUB PM_SUBTYPE_DEFAULT

/* Destination 192.0.2.1, IPv4, no port, D = 0, U = 0. */
static const uint8_t opt8[] = {0x1E, 0x08, 0xF0, 0x00, 192, 0, 2, 1};
/* Source 198.51.100.7:5000, D = 1, U = 1. */
static const uint8_t opt10[] = {0x1E, 0x0A, 0xFC, 0x00, 198, 51, 100, 7, 0x13, 0x88};
/* Destination 2001:db8::1, U = 1. */
static const uint8_t opt20[] = {0x1E, 0x14, 0xF4, 0x00, 0x20, 0x01, 0x0d, 0xb8,
				0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
/* Source [2001:db8::2]:443, D = 1. */
static const uint8_t opt22[] = {0x1E, 0x16, 0xF8, 0x00, 0x20, 0x01, 0x0d, 0xb8,
				0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x01, 0xBB};

static void roundtrip(const uint8_t *v, size_t len, uint8_t sub)
{
	struct pm_opt o;
	uint8_t out[PM_MAX_LEN];

	assert_int_equal(pm_parse(v, len, sub, &o), (int)len);
	assert_int_equal(pm_opt_len(&o), len);
	assert_int_equal(pm_write(out, sizeof(out), sub, &o), (int)len);
	assert_memory_equal(out, v, len);
	assert_int_equal(pm_write(out, len - 1, sub, &o), HT_ERR_NOBUF);
}

static void test_four_lengths(void **state)
{
	static const uint8_t v4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
	struct pm_opt o;

	(void)state;
	assert_int_equal(pm_parse(opt8, sizeof(opt8), SUB, &o), 8);
	assert_false(o.v6);
	assert_false(o.has_port);
	assert_false(o.source);
	assert_false(o.udp);
	assert_memory_equal(o.addr, v4, 16);

	assert_int_equal(pm_parse(opt10, sizeof(opt10), SUB, &o), 10);
	assert_false(o.v6);
	assert_true(o.has_port);
	assert_int_equal(o.port, 5000);
	assert_true(o.source);
	assert_true(o.udp);
	assert_int_equal(o.addr[15], 7);

	assert_int_equal(pm_parse(opt20, sizeof(opt20), SUB, &o), 20);
	assert_true(o.v6);
	assert_false(o.has_port);
	assert_false(o.source);
	assert_true(o.udp);
	assert_memory_equal(o.addr, opt20 + 4, 16);

	assert_int_equal(pm_parse(opt22, sizeof(opt22), SUB, &o), 22);
	assert_true(o.v6);
	assert_true(o.has_port);
	assert_int_equal(o.port, 443);
	assert_true(o.source);
	assert_false(o.udp);

	roundtrip(opt8, sizeof(opt8), SUB);
	roundtrip(opt10, sizeof(opt10), SUB);
	roundtrip(opt20, sizeof(opt20), SUB);
	roundtrip(opt22, sizeof(opt22), SUB);
}

static void test_reserved_flags_ignored(void **state)
{
	uint8_t v[sizeof(opt10)], out[PM_MAX_LEN];
	struct pm_opt o;

	(void)state;
	memcpy(v, opt10, sizeof(v));
	v[2] |= 0x03;
	v[3] = 0xFF; /* all ten reserved bits set */
	assert_int_equal(pm_parse(v, sizeof(v), SUB, &o), 10);
	assert_int_equal(o.reserved, 0x3FF);
	assert_true(o.source);
	assert_true(o.udp);
	/* ...and never sent. */
	assert_int_equal(pm_write(out, sizeof(out), SUB, &o), 10);
	assert_memory_equal(out, opt10, sizeof(opt10));
}

static void test_configured_subtype(void **state)
{
	uint8_t v[sizeof(opt8)];
	struct pm_opt o;

	(void)state;
	memcpy(v, opt8, sizeof(v));
	v[2] = 0x80 | 0x08; /* subtype 8, D = 1 */
	assert_int_equal(pm_parse(v, sizeof(v), SUB, &o), HT_ERR_BAD_TYPE);
	assert_int_equal(pm_parse(v, sizeof(v), 8, &o), 8);
	assert_true(o.source);
	roundtrip(v, sizeof(v), 8);
	assert_int_equal(pm_parse(v, sizeof(v), 16, &o), HT_ERR_INVAL);
	assert_int_equal(pm_write(v, sizeof(v), 16, &o), HT_ERR_INVAL);
}

static void test_parse_errors(void **state)
{
	uint8_t v[PM_MAX_LEN + 2];
	struct pm_opt o;

	(void)state;
	memcpy(v, opt8, sizeof(opt8));
	v[0] = 29;
	assert_int_equal(pm_parse(v, 8, SUB, &o), HT_ERR_BAD_TYPE);
	v[0] = 30;
	assert_int_equal(pm_parse(v, 0, SUB, &o), HT_ERR_TRUNCATED);
	assert_int_equal(pm_parse(v, 1, SUB, &o), HT_ERR_TRUNCATED);
	assert_int_equal(pm_parse(v, 7, SUB, &o), HT_ERR_TRUNCATED);
	assert_int_equal(pm_parse(v, 9, SUB, &o), HT_ERR_TRAILING);
	v[1] = 2;
	assert_int_equal(pm_parse(v, 2, SUB, &o), HT_ERR_BAD_LENGTH);
	/* Every Length but 8, 10, 20, 22 is wrong for our subtype. */
	memset(v, 0, sizeof(v));
	v[0] = 30;
	v[2] = 0xF0;
	for (unsigned l = 3; l <= sizeof(v); l++) {
		int want = (l == 8 || l == 10 || l == 20 || l == 22) ? (int)l : HT_ERR_BAD_LENGTH;

		v[1] = (uint8_t)l;
		assert_int_equal(pm_parse(v, l, SUB, &o), want);
	}
	/* A shorter MP_CAPABLE-like option of another subtype is not ours. */
	v[1] = 12;
	v[2] = 0x01;
	assert_int_equal(pm_parse(v, 12, SUB, &o), HT_ERR_BAD_TYPE);
}

static void test_write_rules(void **state)
{
	struct pm_opt o;
	uint8_t out[PM_MAX_LEN];

	(void)state;
	memset(&o, 0, sizeof(o));
	o.addr[15] = 1; /* ::1 is not IPv4-mapped */
	assert_int_equal(pm_write(out, sizeof(out), SUB, &o), HT_ERR_INVAL);
	o.v6 = true;
	o.reserved = 0x3FF;
	assert_int_equal(pm_write(out, sizeof(out), SUB, &o), 20);
	assert_int_equal(out[2], 0xF0);
	assert_int_equal(out[3], 0x00);
}

static void test_find_in_block(void **state)
{
	/* NOP NOP MSS(4) | MP_CAPABLE-ish (subtype 0, len 4) | plain mode 10 |
	 * NOP NOP | Timestamps(10) | EOL + junk padding */
	uint8_t blk[40] = {0x01, 0x01, 0x02, 0x04, 0x05, 0xB4, 0x1E, 0x04, 0x01, 0x81};
	size_t at = 99, n = 10;
	struct pm_opt o;

	(void)state;
	memcpy(blk + n, opt10, sizeof(opt10));
	n += sizeof(opt10);
	blk[n++] = 0x01;
	blk[n++] = 0x01;
	blk[n++] = 0x08;
	blk[n++] = 0x0A;
	n += 8;
	blk[n++] = 0x00; /* EOL */
	blk[n++] = 0xAB; /* after EOL: not parsed */
	assert_int_equal(pm_find(blk, n, SUB, &o, &at), 1);
	assert_int_equal(at, 10);
	assert_int_equal(o.port, 5000);
	assert_true(o.source);

	/* Without it: a distinct "not found". */
	assert_int_equal(pm_find(blk, 10, SUB, &o, &at), 0);
	assert_int_equal(pm_find(blk, 0, SUB, &o, &at), 0);
	/* The same block read with another configured subtype. */
	assert_int_equal(pm_find(blk, n, 0x8, &o, &at), 0);

	/* Malformed blocks. */
	assert_int_equal(pm_find(blk, 3, SUB, &o, &at), HT_ERR_TRUNCATED);  /* MSS cut */
	assert_int_equal(pm_find(blk, 5, SUB, &o, &at), HT_ERR_TRUNCATED);
	assert_int_equal(pm_find(blk, 15, SUB, &o, &at), HT_ERR_TRUNCATED); /* ours cut */
	blk[3] = 1;
	assert_int_equal(pm_find(blk, n, SUB, &o, &at), HT_ERR_BAD_LENGTH);
	blk[3] = 4;
	blk[11] = 9; /* our option with a bad Length */
	assert_int_equal(pm_find(blk, n, SUB, &o, &at), HT_ERR_BAD_LENGTH);
	blk[11] = 10;
}

static void test_find_duplicate_and_others(void **state)
{
	uint8_t blk[40];
	size_t n = 0, at;
	struct pm_opt o;

	(void)state;
	/* Another MPTCP option of Length 2 and one of Length 3 are skipped. */
	blk[n++] = 0x1E;
	blk[n++] = 0x02;
	blk[n++] = 0x1E;
	blk[n++] = 0x03;
	blk[n++] = 0x20;
	memcpy(blk + n, opt20, sizeof(opt20));
	n += sizeof(opt20);
	assert_int_equal(pm_find(blk, n, SUB, &o, &at), 1);
	assert_int_equal(at, 5);
	assert_true(o.v6);
	memcpy(blk + n, opt8, sizeof(opt8));
	n += sizeof(opt8);
	assert_int_equal(pm_find(blk, n, SUB, &o, &at), HT_ERR_DUPLICATE);
	assert_int_equal(pm_find(blk, n, 16, &o, &at), HT_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_four_lengths),
		cmocka_unit_test(test_reserved_flags_ignored),
		cmocka_unit_test(test_configured_subtype),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_write_rules),
		cmocka_unit_test(test_find_in_block),
		cmocka_unit_test(test_find_duplicate_and_others),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
