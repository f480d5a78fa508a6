/* Unit tests for src/quic/codel.c with simulated time: no drop for a
 * short burst, drops once a standing queue outlives the interval, a rising
 * drop rate, the end of dropping when the queue drains, and a standing
 * queue on the path (path_delay) that makes even our last packet go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "quic/codel.h"

#define MS HT_MS

static void test_burst_passes(void **state)
{
	struct ht_codel c;

	(void)state;
	ht_codel_init(&c, 5 * MS, 100 * MS);
	/* 50 ms of 20 ms-old packets: above target, but not for an interval. */
	for (ht_time now = 1000 * MS; now < 1050 * MS; now += MS)
		assert_false(ht_codel_drop(&c, now, now - 20 * MS, 10, 0));
	/* Below target resets the clock. */
	assert_false(ht_codel_drop(&c, 1051 * MS, 1050 * MS, 10, 0));
	for (ht_time now = 1052 * MS; now < 1140 * MS; now += MS)
		assert_false(ht_codel_drop(&c, now, now - 20 * MS, 10, 0));
	/* The last packet in the queue is never dropped. */
	assert_false(ht_codel_drop(&c, 2000 * MS, 1000 * MS, 0, 0));
	assert_int_equal(c.drops, 0);
}

static void test_standing_queue(void **state)
{
	struct ht_codel c;
	ht_time first = 0, now;
	unsigned drops_first_200 = 0, drops_next_200 = 0;

	(void)state;
	ht_codel_init(&c, 5 * MS, 100 * MS);
	/* One packet per ms, each 30 ms old: a standing queue. */
	for (now = 1000 * MS; now < 1600 * MS; now += MS) {
		if (ht_codel_drop(&c, now, now - 30 * MS, 30, 0)) {
			if (first == 0)
				first = now;
			if (now < first + 200 * MS)
				drops_first_200++;
			else if (now < first + 400 * MS)
				drops_next_200++;
		}
	}
	/* First drop one interval after the queue became persistent. */
	assert_true(first >= 1100 * MS && first <= 1101 * MS);
	/* interval / sqrt(n): the drop rate rises. */
	assert_true(drops_first_200 >= 3);
	assert_true(drops_next_200 > drops_first_200);
	assert_true(c.dropping);
	/* The queue drains: dropping stops at once. */
	assert_false(ht_codel_drop(&c, now, now - MS, 3, 0));
	assert_false(c.dropping);
}

static void test_path_queue(void **state)
{
	struct ht_codel c;
	ht_time now, first = 0;

	(void)state;
	ht_codel_init(&c, 5 * MS, 100 * MS);
	/* Our queue holds one fresh packet at a time (left 0): spared
	 * without a path queue ... */
	for (now = 1000 * MS; now < 1300 * MS; now += MS)
		assert_false(ht_codel_drop(&c, now, now, 0, 2 * MS));
	/* ... not with a 15 ms standing queue on the path: the first drop
	 * one interval after it became persistent. */
	for (now = 1300 * MS; now < 1500 * MS; now += MS) {
		if (ht_codel_drop(&c, now, now, 0, 15 * MS) && first == 0)
			first = now;
	}
	assert_true(first >= 1400 * MS && first <= 1401 * MS);
	/* The path queue drains: dropping stops. */
	assert_false(ht_codel_drop(&c, now, now, 0, MS));
	assert_false(c.dropping);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_passes),
		cmocka_unit_test(test_standing_queue),
		cmocka_unit_test(test_path_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
