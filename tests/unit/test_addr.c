/* Unit tests for src/proto/addr.c and the shared error strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proto/addr.h"
#include "proto/err.h"
#include "proto/wire.h"

static void v4(uint8_t out[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	const uint8_t q[4] = {a, b, c, d};

	ht_addr_map_v4(out, q);
}

static void test_v4_mapped(void **state)
{
	uint8_t a[16];

	(void)state;
	v4(a, 192, 0, 2, 1);
	assert_int_equal(ht_addr_classify(a), HT_ADDR_V4MAPPED);
	assert_false(ht_addr_forbidden_on_wire(a));
	v4(a, 127, 0, 0, 1);
	assert_int_equal(ht_addr_classify(a), HT_ADDR_V4MAPPED | HT_ADDR_LOOPBACK);
	v4(a, 0, 0, 0, 0);
	assert_true(ht_addr_classify(a) & HT_ADDR_UNSPECIFIED);
	v4(a, 224, 0, 0, 251);
	assert_true(ht_addr_classify(a) & HT_ADDR_MULTICAST);
	v4(a, 239, 255, 255, 255);
	assert_true(ht_addr_forbidden_on_wire(a));
	v4(a, 255, 255, 255, 255);
	assert_true(ht_addr_classify(a) & HT_ADDR_BROADCAST);
	v4(a, 169, 254, 1, 1);
	assert_int_equal(ht_addr_classify(a), HT_ADDR_V4MAPPED | HT_ADDR_LINKLOCAL);
	assert_false(ht_addr_forbidden_on_wire(a)); /* policy, not malformed */
}

static void test_v6(void **state)
{
	uint8_t a[16] = {0};

	(void)state;
	assert_int_equal(ht_addr_classify(a), HT_ADDR_UNSPECIFIED);
	a[15] = 1;
	assert_int_equal(ht_addr_classify(a), HT_ADDR_LOOPBACK);
	a[15] = 2; /* ::2 is not special here */
	assert_int_equal(ht_addr_classify(a), 0);
	memset(a, 0, sizeof(a));
	a[0] = 0xff;
	a[1] = 0x02;
	assert_int_equal(ht_addr_classify(a), HT_ADDR_MULTICAST);
	a[0] = 0xfe;
	a[1] = 0x80;
	assert_int_equal(ht_addr_classify(a), HT_ADDR_LINKLOCAL);
	a[1] = 0xc0; /* fec0::/10 is not link-local */
	assert_int_equal(ht_addr_classify(a), 0);
	a[0] = 0x20;
	a[1] = 0x01;
	a[2] = 0x0d;
	a[3] = 0xb8;
	assert_int_equal(ht_addr_classify(a), 0);
}

static void test_wire_helpers(void **state)
{
	uint8_t b[8];

	(void)state;
	ht_put16(b, 0x1234);
	assert_int_equal(ht_get16(b), 0x1234);
	ht_put32(b, 0xdeadbeef);
	assert_int_equal(b[0], 0xde);
	assert_int_equal(ht_get32(b), 0xdeadbeef);
	ht_put64(b, 0x0102030405060708ull);
	assert_true(ht_get64(b) == 0x0102030405060708ull);
	assert_int_equal(ht_pad4(0), 0);
	assert_int_equal(ht_pad4(1), 4);
	assert_int_equal(ht_pad4(4), 4);
	assert_int_equal(ht_pad4(5), 8);
}

static void test_strerror(void **state)
{
	(void)state;
	for (int e = 0; e > HT_ERR__LAST; e--) {
		assert_non_null(ht_strerror(e));
		assert_string_not_equal(ht_strerror(e), "unknown error");
	}
	assert_string_equal(ht_strerror(-1000), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_mapped),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_wire_helpers),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
