/* Unit tests for src/quic/pathq.c with simulated time: a standing queue
 * is measured (the latest sample above the base), sparse or old samples
 * (an idle connection, ACK delay) count as nothing, and a longer route
 * becomes the base within two spans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "quic/pathq.h"

#define MS HT_MS
#define WINDOW (100 * MS)
#define SPAN (2000 * MS)

/* One sample per ms from `from` to `to` of rtt. */
static void feed(struct ht_pathq *q, ht_time from, ht_time to, ht_time rtt)
{
	for (ht_time t = from; t < to; t += MS)
		ht_pathq_sample(q, t, rtt);
}

static void test_standing_queue(void **state)
{
	struct ht_pathq q;

	(void)state;
	ht_pathq_init(&q, WINDOW, SPAN, 8);
	assert_int_equal(ht_pathq_delay(&q, 1000 * MS), 0);
	feed(&q, 1000 * MS, 1200 * MS, 20 * MS); /* the base: 20 ms */
	assert_int_equal(ht_pathq_delay(&q, 1200 * MS), 0);
	feed(&q, 1200 * MS, 1400 * MS, 35 * MS); /* a 15 ms standing queue */
	assert_int_equal(ht_pathq_delay(&q, 1400 * MS), 15 * MS);
	/* It follows the latest sample: CoDel's persistence rule, not
	 * pathq, tells a burst from a standing queue. */
	ht_pathq_sample(&q, 1400 * MS, 21 * MS);
	assert_int_equal(ht_pathq_delay(&q, 1400 * MS), 1 * MS);
	feed(&q, 1401 * MS, 1450 * MS, 35 * MS);
	assert_int_equal(ht_pathq_delay(&q, 1450 * MS), 15 * MS);
	/* Below the base (a shorter route): no queue, and the new base. */
	ht_pathq_sample(&q, 1450 * MS, 18 * MS);
	assert_int_equal(ht_pathq_delay(&q, 1450 * MS), 0);
	ht_pathq_sample(&q, 1451 * MS, 20 * MS);
	assert_int_equal(ht_pathq_delay(&q, 1451 * MS), 2 * MS);
}

static void test_sparse_and_idle(void **state)
{
	struct ht_pathq q;

	(void)state;
	ht_pathq_init(&q, WINDOW, SPAN, 8);
	feed(&q, 1000 * MS, 1100 * MS, 20 * MS);
	/* A ping every 200 ms whose ACK waited 25 ms at the peer: few
	 * samples per window, never a queue. */
	for (ht_time t = 1300 * MS; t < 3000 * MS; t += 200 * MS) {
		ht_pathq_sample(&q, t, 45 * MS);
		assert_int_equal(ht_pathq_delay(&q, t), 0);
		assert_int_equal(ht_pathq_delay(&q, t + 100 * MS), 0);
	}
	/* Dense samples with a queue, then silence: the estimate ends with
	 * the window (reset when idle). */
	feed(&q, 3000 * MS, 3200 * MS, 40 * MS);
	assert_true(ht_pathq_delay(&q, 3200 * MS) > 0);
	assert_int_equal(ht_pathq_delay(&q, 3300 * MS), 0);
	assert_int_equal(ht_pathq_delay(&q, 9000 * MS), 0);
}

static void test_route_change(void **state)
{
	struct ht_pathq q;
	ht_time t;

	(void)state;
	ht_pathq_init(&q, WINDOW, SPAN, 8);
	feed(&q, 0, 1000 * MS, 20 * MS);
	/* The route gets 30 ms longer: a "queue" at first ... */
	feed(&q, 1000 * MS, 1200 * MS, 50 * MS);
	assert_int_equal(ht_pathq_delay(&q, 1200 * MS), 30 * MS);
	/* ... but the old base is forgotten within two spans. */
	feed(&q, 1200 * MS, 1000 * MS + 2 * SPAN, 50 * MS);
	t = 1000 * MS + 2 * SPAN;
	assert_int_equal(ht_pathq_delay(&q, t), 0);
	/* Samples of 0 (none yet) are ignored. */
	ht_pathq_sample(&q, t, 0);
	assert_int_equal(ht_pathq_delay(&q, t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_standing_queue),
		cmocka_unit_test(test_sparse_and_idle),
		cmocka_unit_test(test_route_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
