/* Unit tests for src/tunnel/pool.c: --pool parsing, stable leases per
 * fingerprint, collisions, take-over, exhaustion and reclaim. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proto/err.h"
#include "tunnel/pool.h"

static void fp_of(uint8_t fp[HT_FP_LEN], unsigned n)
{
	memset(fp, 0, HT_FP_LEN);
	fp[0] = (uint8_t)n;
	fp[1] = (uint8_t)(n >> 8);
}

static void test_parse(void **state)
{
	uint8_t p[16], plen, a[16];
	char err[128];
	int v;

	(void)state;
	assert_int_equal(ht_pool_parse("4:10.8.0.0/24", &v, p, &plen, err, sizeof(err)), 0);
	assert_int_equal(v, 4);
	assert_int_equal(plen, 24);
	assert_int_equal(p[10], 0xff);
	assert_int_equal(p[12], 10);
	assert_int_equal(ht_pool_parse("6:2001:db8:8::/64", &v, p, &plen, err, sizeof(err)), 0);
	assert_int_equal(v, 6);
	assert_int_equal(ht_pool_parse("4:10.8.0.1/24", &v, p, &plen, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "host bits"));
	assert_int_equal(ht_pool_parse("4:10.8.0.0/31", &v, p, &plen, err, sizeof(err)), -1);
	assert_int_equal(ht_pool_parse("6:2001:db8::/48", &v, p, &plen, err, sizeof(err)), -1);
	assert_int_equal(ht_pool_parse("6:10.8.0.0/24", &v, p, &plen, err, sizeof(err)), -1);
	assert_int_equal(ht_pool_parse("4:2001:db8::/64", &v, p, &plen, err, sizeof(err)), -1);
	assert_int_equal(ht_pool_parse("10.8.0.0/24", &v, p, &plen, err, sizeof(err)), -1);
	assert_int_equal(ht_cidr_parse("0.0.0.0/0", a, &plen), 0);
	assert_int_equal(plen, 0);
	assert_int_equal(ht_cidr_parse("2001:db8::/32", a, &plen), 0);
	assert_int_equal(ht_cidr_parse("192.0.2.1/24", a, &plen), -1);
	assert_int_equal(ht_cidr_parse("192.0.2.0/33", a, &plen), -1);
}

static void test_stable(void **state)
{
	uint8_t p[16], plen, fp[HT_FP_LEN], a[16], b[16], gw[16];
	char err[128];
	int v, owner1, owner2;
	struct ht_pool *pl, *pl2;

	(void)state;
	assert_int_equal(ht_pool_parse("4:10.8.0.0/24", &v, p, &plen, err, sizeof(err)), 0);
	pl = ht_pool_new(v, p, plen);
	pl2 = ht_pool_new(v, p, plen);
	assert_non_null(pl);
	ht_pool_gateway(pl, gw);
	assert_int_equal(gw[15], 1);
	fp_of(fp, 7);
	assert_int_equal(ht_pool_lease(pl, fp, &owner1, a), 0);
	assert_true(ht_pool_contains(pl, a));
	assert_true(a[15] >= 2 && a[15] <= 254);
	assert_ptr_equal(ht_pool_owner(pl, a), &owner1);
	/* Released, leased again: the same address; so in another pool
	 * object (a restarted concentrator). */
	ht_pool_release(pl, a, &owner1);
	assert_null(ht_pool_owner(pl, a));
	assert_int_equal(ht_pool_lease(pl, fp, &owner2, b), 0);
	assert_memory_equal(a, b, 16);
	assert_int_equal(ht_pool_lease(pl2, fp, &owner1, b), 0);
	assert_memory_equal(a, b, 16);
	/* A second connection of the same fingerprint takes it over. */
	assert_int_equal(ht_pool_lease(pl, fp, &owner1, b), 0);
	assert_ptr_equal(ht_pool_owner(pl, a), &owner1);
	ht_pool_release(pl, a, &owner2); /* the old owner's release: no-op */
	assert_ptr_equal(ht_pool_owner(pl, a), &owner1);
	assert_int_equal(ht_pool_active(pl), 1);
	ht_pool_free(pl);
	ht_pool_free(pl2);
}

static void test_full(void **state)
{
	uint8_t p[16], plen, fp[HT_FP_LEN], a[16], seen[256] = {0};
	char err[128];
	int v, owner;
	struct ht_pool *pl;

	(void)state;
	/* /29: hosts .2 .. .6 (5 addresses). */
	assert_int_equal(ht_pool_parse("4:10.8.0.0/29", &v, p, &plen, err, sizeof(err)), 0);
	pl = ht_pool_new(v, p, plen);
	for (unsigned i = 0; i < 5; i++) {
		fp_of(fp, i + 1);
		assert_int_equal(ht_pool_lease(pl, fp, &owner, a), 0);
		assert_true(a[15] >= 2 && a[15] <= 6);
		assert_int_equal(seen[a[15]], 0);
		seen[a[15]] = 1;
	}
	fp_of(fp, 100);
	assert_int_equal(ht_pool_lease(pl, fp, &owner, a), HT_ERR_NOBUF);
	/* Fingerprint 1 leaves: its reserved address is taken back for 100. */
	fp_of(fp, 1);
	assert_int_equal(ht_pool_lease(pl, fp, &owner, a), 0);
	ht_pool_release(pl, a, &owner);
	fp_of(fp, 100);
	assert_int_equal(ht_pool_lease(pl, fp, &owner, a), 0);
	assert_int_equal(ht_pool_leases(pl), 5);
	ht_pool_free(pl);
}

static void test_v6(void **state)
{
	uint8_t p[16], plen, fp[HT_FP_LEN], a[16], b[16];
	char err[128];
	int v, owner;
	struct ht_pool *pl;

	(void)state;
	assert_int_equal(ht_pool_parse("6:2001:db8:50::/64", &v, p, &plen, err, sizeof(err)), 0);
	pl = ht_pool_new(v, p, plen);
	for (unsigned i = 0; i < 1000; i++) {
		fp_of(fp, i);
		assert_int_equal(ht_pool_lease(pl, fp, &owner, a), 0);
		assert_true(ht_pool_contains(pl, a));
		assert_memory_equal(a, p, 8);
	}
	fp_of(fp, 3);
	assert_int_equal(ht_pool_lease(pl, fp, &owner, a), 0);
	assert_int_equal(ht_pool_lease(pl, fp, &owner, b), 0);
	assert_memory_equal(a, b, 16);
	assert_int_equal(ht_pool_leases(pl), 1000);
	ht_pool_free(pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_stable),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_v6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
