/* Unit tests of src/tunnel/sched.c: each policy's choice, backups only
 * without a usable primary, spill-over when the fast path's window is full,
 * weights, redundancy for small packets, stream placement by load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/err.h"
#include "tunnel/sched.h"

static void two_paths(struct ht_sched *s, enum ht_sched_policy pol)
{
	ht_sched_init(s, pol);
	s->n = 2;
	s->path[0] = (struct ht_sched_path){.usable = true, .srtt = 40 * HT_MS, .cwnd = 100000};
	s->path[1] = (struct ht_sched_path){.usable = true, .srtt = 20 * HT_MS, .cwnd = 100000};
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(ht_sched_policy_parse("min-rtt"), HT_SCHED_MIN_RTT);
	assert_int_equal(ht_sched_policy_parse("weighted"), HT_SCHED_WEIGHTED);
	assert_int_equal(ht_sched_policy_parse("redundant"), HT_SCHED_REDUNDANT);
	assert_int_equal(ht_sched_policy_parse("backup-only"), HT_SCHED_BACKUP_ONLY);
	assert_int_equal(ht_sched_policy_parse("fastest"), HT_ERR_BAD_VALUE);
	assert_int_equal(ht_sched_policy_parse(NULL), HT_ERR_BAD_VALUE);
	assert_string_equal(ht_sched_policy_name(HT_SCHED_BACKUP_ONLY), "backup-only");
}

static void test_min_rtt_spills_over(void **state)
{
	struct ht_sched s;
	int i, on1 = 0, on0 = 0;

	(void)state;
	two_paths(&s, HT_SCHED_MIN_RTT);
	/* 100 kB of window on the 20 ms path: about 83 packets, then path 0 */
	for (i = 0; i < 120; i++) {
		uint32_t m = ht_sched_pick(&s, 1200);

		assert_true(m == 1u || m == 2u);
		if (m == 2u) {
			assert_int_equal(on0, 0); /* no interleaving before full */
			on1++;
		} else {
			on0++;
		}
	}
	assert_int_equal(on1, 83);
	assert_int_equal(on0, 37);
	/* both full: the lower RTT again */
	s.path[0].in_flight = s.path[0].cwnd;
	assert_int_equal(ht_sched_pick(&s, 1200), 2u);
}

/* A backlog in the path's own queue, or a standing queue on the path (a
 * remote bottleneck), is no room whatever the window says. */
static void test_min_rtt_full_by_queues(void **state)
{
	struct ht_sched s;

	(void)state;
	two_paths(&s, HT_SCHED_MIN_RTT);
	assert_int_equal(ht_sched_pick(&s, 1200), 2u);
	s.path[1].queued = HT_SCHED_BACKLOG;
	assert_int_equal(ht_sched_pick(&s, 1200), 1u);
	s.path[1].queued = HT_SCHED_BACKLOG - 1;
	assert_int_equal(ht_sched_pick(&s, 1200), 2u);
	s.path[1].path_queue = HT_SCHED_PATH_QUEUE + 1;
	assert_int_equal(ht_sched_pick(&s, 1200), 1u);
	s.path[1].path_queue = HT_SCHED_PATH_QUEUE;
	assert_int_equal(ht_sched_pick(&s, 1200), 2u);
}

/* Small packets go on the path with the lowest base RTT, whatever its
 * smoothed RTT (the other direction's queue) or room; without any base
 * RTT, on the lowest smoothed RTT. */
static void test_small_on_nearest(void **state)
{
	struct ht_sched s;

	(void)state;
	two_paths(&s, HT_SCHED_MIN_RTT);
	assert_int_equal(ht_sched_pick(&s, HT_SCHED_SMALL), 2u);
	s.path[0].min_rtt = 20 * HT_MS;
	s.path[1].min_rtt = 40 * HT_MS;
	s.path[0].srtt = 140 * HT_MS; /* a download's queue on path 0 */
	s.path[1].srtt = 90 * HT_MS;
	assert_int_equal(ht_sched_pick(&s, 60), 1u);
	assert_int_equal(ht_sched_pick(&s, HT_SCHED_SMALL), 1u);
	assert_int_equal(ht_sched_pick(&s, HT_SCHED_SMALL + 1), 2u);
	s.path[0].path_queue = 60 * HT_MS;
	s.path[0].in_flight = s.path[0].cwnd;
	assert_int_equal(ht_sched_pick(&s, 60), 1u);
	s.path[0].usable = false;
	assert_int_equal(ht_sched_pick(&s, 60), 2u);
	/* redundant: copies up to its limit, then the nearest */
	s.path[0].usable = true;
	s.policy = HT_SCHED_REDUNDANT;
	assert_int_equal(ht_sched_pick(&s, 60), 3u);
	assert_int_equal(ht_sched_pick(&s, HT_SCHED_REDUNDANT_MAX + 1), 1u);
}

/* The nearer path's queue may stand half the RTT difference longer; not
 * for the farthest path, a backup, a path beyond the far-path guard, or
 * an unknown RTT. */
static void test_queue_slack(void **state)
{
	struct ht_sched s;

	(void)state;
	two_paths(&s, HT_SCHED_MIN_RTT);
	s.path[0].min_rtt = 40 * HT_MS;
	s.path[1].min_rtt = 80 * HT_MS;
	assert_int_equal(ht_sched_queue_slack(&s, 0), 20 * HT_MS);
	assert_int_equal(ht_sched_queue_slack(&s, 1), 0);
	assert_int_equal(ht_sched_queue_slack(&s, HT_SCHED_PATHS), 0);
	s.path[1].backup = true;
	assert_int_equal(ht_sched_queue_slack(&s, 0), 0);
	s.path[1].backup = false;
	s.path[1].min_rtt = 200 * HT_MS; /* over 4 x: no spill, no slack */
	assert_int_equal(ht_sched_queue_slack(&s, 0), 0);
	s.path[1].min_rtt = 80 * HT_MS;
	s.path[1].usable = false;
	assert_int_equal(ht_sched_queue_slack(&s, 0), 0);
	s.path[1].usable = true;
	s.path[0].min_rtt = 0;
	assert_int_equal(ht_sched_queue_slack(&s, 0), 0);
}

/* A path over 4 x farther (min_rtt) than the nearest takes no spill-over
 * (one flow would get its RTT); at 4 x or less it does. */
static void test_min_rtt_far_path(void **state)
{
	struct ht_sched s;

	(void)state;
	two_paths(&s, HT_SCHED_MIN_RTT);
	/* path 1 is the near one (20 ms); path 0 at 8 x */
	s.path[1].min_rtt = 20 * HT_MS;
	s.path[0].min_rtt = 160 * HT_MS;
	s.path[1].in_flight = s.path[1].cwnd; /* full */
	assert_int_equal(ht_sched_pick(&s, 1200), 2u); /* waits in its queue */
	/* 4 x: spilled onto as before */
	s.path[0].min_rtt = 80 * HT_MS;
	assert_int_equal(ht_sched_pick(&s, 1200), 1u);
	/* the near one gone: the far one carries everything */
	s.path[0].min_rtt = 160 * HT_MS;
	s.path[1].usable = false;
	assert_int_equal(ht_sched_pick(&s, 1200), 1u);
	/* no min_rtt known yet: no guard */
	s.path[1].usable = true;
	s.path[1].min_rtt = 0;
	assert_int_equal(ht_sched_pick(&s, 1200), 1u);
}

static void test_backup_only_when_needed(void **state)
{
	struct ht_sched s;

	(void)state;
	two_paths(&s, HT_SCHED_MIN_RTT);
	s.path[1].backup = true; /* faster, but a backup */
	assert_int_equal(ht_sched_pick(&s, 100), 1u);
	assert_int_equal(ht_sched_pick_stream(&s), 0);
	s.path[0].usable = false;
	assert_int_equal(ht_sched_pick(&s, 100), 2u);
	s.path[1].usable = false;
	assert_int_equal(ht_sched_pick(&s, 100), 0u);
	assert_int_equal(ht_sched_pick_stream(&s), -1);
}

static void test_weighted(void **state)
{
	struct ht_sched s;
	int i, n[2] = {0, 0}, run = 0, max_run = 0, last = -1;

	(void)state;
	two_paths(&s, HT_SCHED_WEIGHTED);
	s.path[0].weight = 3;
	s.path[1].weight = 1;
	s.path[0].cwnd = s.path[1].cwnd = UINT64_MAX / 2;
	for (i = 0; i < 400; i++) {
		int p = ht_sched_pick(&s, 1200) == 1u ? 0 : 1;

		n[p]++;
		run = p == last ? run + 1 : 1;
		last = p;
		if (run > max_run)
			max_run = run;
	}
	assert_int_equal(n[0], 300);
	assert_int_equal(n[1], 100);
	assert_true(max_run <= 3); /* interleaved, not in bursts */
}

static void test_redundant(void **state)
{
	struct ht_sched s;

	(void)state;
	two_paths(&s, HT_SCHED_REDUNDANT);
	assert_int_equal(ht_sched_pick(&s, 80), 3u);
	assert_int_equal(ht_sched_pick(&s, HT_SCHED_REDUNDANT_MAX), 3u);
	assert_int_equal(ht_sched_pick(&s, 1200), 2u);
	assert_int_equal(s.picks[0], 2);
	assert_int_equal(s.picks[1], 3);
}

static void test_backup_only_policy(void **state)
{
	struct ht_sched s;
	int i;

	(void)state;
	two_paths(&s, HT_SCHED_BACKUP_ONLY);
	for (i = 0; i < 200; i++)
		assert_int_equal(ht_sched_pick(&s, 1200), 1u); /* full or not */
	s.path[0].usable = false;
	assert_int_equal(ht_sched_pick(&s, 1200), 2u);
	s.path[0].usable = true;
	assert_int_equal(ht_sched_pick(&s, 1200), 1u);
}

/* Eight connections over two equal-rate paths: four each; over a path with
 * twice the rate: about two thirds there. */
static void test_stream_placement(void **state)
{
	struct ht_sched s;
	int i, p;

	(void)state;
	two_paths(&s, HT_SCHED_MIN_RTT);
	s.path[0].cwnd = 2 * s.path[1].cwnd; /* same rate: 2x window, 2x RTT */
	for (i = 0; i < 8; i++) {
		p = ht_sched_pick_stream(&s);
		assert_true(p == 0 || p == 1);
		s.path[p].streams++;
	}
	assert_int_equal(s.path[0].streams, 4);
	assert_int_equal(s.path[1].streams, 4);

	two_paths(&s, HT_SCHED_MIN_RTT);
	s.path[1].cwnd = 2 * s.path[0].cwnd; /* path 1: 4x the rate */
	for (i = 0; i < 10; i++) {
		p = ht_sched_pick_stream(&s);
		s.path[p].streams++;
	}
	assert_int_equal(s.path[1].streams, 8);
	assert_int_equal(s.path[0].streams, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_min_rtt_spills_over),
		cmocka_unit_test(test_min_rtt_far_path),
		cmocka_unit_test(test_min_rtt_full_by_queues),
		cmocka_unit_test(test_small_on_nearest),
		cmocka_unit_test(test_queue_slack),
		cmocka_unit_test(test_backup_only_when_needed),
		cmocka_unit_test(test_weighted),
		cmocka_unit_test(test_redundant),
		cmocka_unit_test(test_backup_only_policy),
		cmocka_unit_test(test_stream_placement),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
