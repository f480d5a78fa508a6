/* Unit tests of src/tunnel/dnscache.c: TTL cap, negative caching, no caching
 * of failures, case-insensitive names, bounded size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tunnel/dnscache.h"

static const uint8_t A1[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
#define T0 (1000 * HT_SECONDS)

static void test_ttl(void **state)
{
	static struct dnscache c;
	uint8_t rep = 99, a[16];

	(void)state;
	dnscache_init(&c);
	assert_false(dnscache_get(&c, "www.example.com", 15, T0, &rep, a));
	dnscache_put(&c, "www.example.com", 15, 0, A1, 60, T0);
	assert_true(dnscache_get(&c, "WWW.Example.COM.", 16, T0 + 59 * HT_SECONDS, &rep, a));
	assert_int_equal(rep, 0);
	assert_memory_equal(a, A1, 16);
	assert_false(dnscache_get(&c, "www.example.com", 15, T0 + 60 * HT_SECONDS, &rep, a));
	/* capped at 300 s */
	dnscache_put(&c, "big.example", 11, 0, A1, 86400, T0);
	assert_true(dnscache_get(&c, "big.example", 11, T0 + 299 * HT_SECONDS, &rep, a));
	assert_false(dnscache_get(&c, "big.example", 11, T0 + 300 * HT_SECONDS, &rep, a));
	/* TTL 0: not cached */
	dnscache_put(&c, "zero.example", 12, 0, A1, 0, T0);
	assert_false(dnscache_get(&c, "zero.example", 12, T0, &rep, a));
}

static void test_negative(void **state)
{
	static struct dnscache c;
	uint8_t rep = 99, a[16];

	(void)state;
	dnscache_init(&c);
	dnscache_put(&c, "nx.example", 10, 4, NULL, 3600, T0);
	assert_true(dnscache_get(&c, "nx.example", 10, T0 + 9 * HT_SECONDS, &rep, a));
	assert_int_equal(rep, 4);
	assert_false(dnscache_get(&c, "nx.example", 10, T0 + 10 * HT_SECONDS, &rep, a));
	/* general failures are never cached */
	dnscache_put(&c, "fail.example", 12, 1, NULL, 3600, T0);
	assert_false(dnscache_get(&c, "fail.example", 12, T0, &rep, a));
	/* a newer answer replaces the old one */
	dnscache_put(&c, "nx.example", 10, 4, NULL, 0, T0);
	dnscache_put(&c, "nx.example", 10, 0, A1, 100, T0);
	assert_true(dnscache_get(&c, "nx.example", 10, T0 + 50 * HT_SECONDS, &rep, a));
	assert_int_equal(rep, 0);
}

static void test_bounded(void **state)
{
	static struct dnscache c;
	uint8_t rep, a[16];
	char name[32];
	int live = 0;

	(void)state;
	dnscache_init(&c);
	for (int i = 0; i < 3 * (int)DNSCACHE_SIZE; i++) {
		int n = snprintf(name, sizeof(name), "h%d.example", i);

		dnscache_put(&c, name, (size_t)n, 0, A1, 10 + (uint32_t)i, T0);
	}
	for (int i = 0; i < 3 * (int)DNSCACHE_SIZE; i++) {
		int n = snprintf(name, sizeof(name), "h%d.example", i);

		live += dnscache_get(&c, name, (size_t)n, T0, &rep, a);
	}
	assert_int_equal(live, DNSCACHE_SIZE);
	/* the longest-lived entries survived */
	assert_true(dnscache_get(&c, "h383.example", 12, T0, &rep, a));
	/* names that cannot be cached */
	dnscache_put(&c, "", 0, 0, A1, 10, T0);
	assert_false(dnscache_get(&c, ".", 1, T0, &rep, a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
