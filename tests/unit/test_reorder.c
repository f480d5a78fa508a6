/* Unit tests of src/tunnel/reorder.c: in-order release, wrap-around, the
 * watermark rule (a loss costs no timeout), the deadline, late and
 * duplicate packets, the bounded window, the adaptive wait, and a property
 * check with FIFO paths interleaved at random. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tunnel/reorder.h"

#define T0 (100 * HT_SECONDS)

/* Packets are the tags themselves, boxed so that NULL is never a packet. */
static uint16_t box[65536];

static void *P(uint16_t tag)
{
	box[tag] = tag;
	return &box[tag];
}

static int tag_of(void *p)
{
	return p == NULL ? -1 : *(uint16_t *)p;
}

static struct ht_reorder *mk(unsigned slots)
{
	struct ht_reorder_config c;

	ht_reorder_config_default(&c);
	c.slots = slots;
	return ht_reorder_new(&c);
}

static void test_config(void **state)
{
	struct ht_reorder_config c;

	(void)state;
	ht_reorder_config_default(&c);
	c.slots = 1000;
	assert_null(ht_reorder_new(&c));
	c.slots = 8;
	assert_null(ht_reorder_new(&c));
	c.slots = 16;
	c.wait_min = c.wait_max + 1;
	assert_null(ht_reorder_new(&c));
	assert_null(ht_reorder_new(NULL));
}

static void test_in_order(void **state)
{
	struct ht_reorder *r = mk(64);
	uint16_t t;

	(void)state;
	for (t = 10; t < 100; t++) {
		assert_int_equal(ht_reorder_push(r, t, 0, T0, P(t)), HT_REORDER_DELIVER);
		assert_null(ht_reorder_pop(r, T0));
	}
	assert_int_equal(ht_reorder_stats(r)->in_order, 90);
	assert_int_equal(ht_reorder_deadline(r), HT_TIME_NEVER);
	ht_reorder_free(r);
}

static void test_swap_and_wrap(void **state)
{
	struct ht_reorder *r = mk(64);

	(void)state;
	/* 65534, then 0 before 65535: 0 waits, then follows 65535. */
	assert_int_equal(ht_reorder_push(r, 65534, 0, T0, P(65534)), HT_REORDER_DELIVER);
	assert_int_equal(ht_reorder_push(r, 65533, 1, T0, P(65533)), HT_REORDER_DELIVER);
	assert_int_equal(ht_reorder_push(r, 0, 0, T0, P(0)), HT_REORDER_HELD);
	assert_null(ht_reorder_pop(r, T0)); /* path 1 may still carry 65535 */
	assert_int_equal(ht_reorder_push(r, 65535, 1, T0 + HT_MS, P(65535)), HT_REORDER_DELIVER);
	assert_int_equal(tag_of(ht_reorder_pop(r, T0 + HT_MS)), 0);
	assert_null(ht_reorder_pop(r, T0 + HT_MS));
	assert_int_equal(ht_reorder_stats(r)->reordered, 1);
	assert_int_equal(ht_reorder_stats(r)->lost, 0);
	ht_reorder_free(r);
}

/* One path: a gap behind a later tag of the same path is a loss. */
static void test_single_path_loss_is_immediate(void **state)
{
	struct ht_reorder *r = mk(64);

	(void)state;
	assert_int_equal(ht_reorder_push(r, 0, 0, T0, P(0)), HT_REORDER_DELIVER);
	assert_int_equal(ht_reorder_push(r, 2, 0, T0, P(2)), HT_REORDER_HELD);
	assert_int_equal(tag_of(ht_reorder_pop(r, T0)), 2);
	assert_int_equal(ht_reorder_stats(r)->lost, 1);
	ht_reorder_free(r);
}

/* Two paths: the gap waits while the other path may still carry it, and
 * goes as soon as that path shows a later tag. */
static void test_watermark_two_paths(void **state)
{
	struct ht_reorder *r = mk(64);

	(void)state;
	assert_int_equal(ht_reorder_push(r, 0, 1, T0, P(0)), HT_REORDER_DELIVER);
	assert_int_equal(ht_reorder_push(r, 2, 0, T0, P(2)), HT_REORDER_HELD);
	assert_int_equal(ht_reorder_push(r, 3, 0, T0, P(3)), HT_REORDER_HELD);
	assert_null(ht_reorder_pop(r, T0 + HT_MS));
	assert_int_equal(ht_reorder_push(r, 4, 1, T0 + 2 * HT_MS, P(4)), HT_REORDER_HELD);
	assert_int_equal(tag_of(ht_reorder_pop(r, T0 + 2 * HT_MS)), 2);
	assert_int_equal(tag_of(ht_reorder_pop(r, T0 + 2 * HT_MS)), 3);
	assert_int_equal(tag_of(ht_reorder_pop(r, T0 + 2 * HT_MS)), 4);
	assert_null(ht_reorder_pop(r, T0 + 2 * HT_MS));
	assert_int_equal(ht_reorder_stats(r)->lost, 1);
	assert_int_equal(ht_reorder_stats(r)->timed_out, 0);
	ht_reorder_free(r);
}

/* A small packet may have been sent ahead of its connection's queue: on a
 * path that carries large packets it says nothing of what that path still
 * has in flight.  On a path of small packets only, it does. */
static void test_watermark_small_overtakes(void **state)
{
	struct ht_reorder *r = mk(64);
	const unsigned S = HT_REORDER_SMALL;

	(void)state;
	assert_int_equal(ht_reorder_push(r, 0, 0, T0, P(0)), HT_REORDER_DELIVER);
	assert_int_equal(ht_reorder_push(r, 1, 1, T0, P(1)), HT_REORDER_DELIVER);
	/* 2 and 3 are queued (large) on path 0; 4, small, overtook them */
	assert_int_equal(ht_reorder_push_flags(r, 4, 0, S, T0 + HT_MS, P(4)), HT_REORDER_HELD);
	assert_int_equal(ht_reorder_push(r, 5, 1, T0 + HT_MS, P(5)), HT_REORDER_HELD);
	assert_null(ht_reorder_pop(r, T0 + HT_MS));
	assert_int_equal(ht_reorder_push(r, 2, 0, T0 + 2 * HT_MS, P(2)), HT_REORDER_DELIVER);
	assert_null(ht_reorder_pop(r, T0 + 2 * HT_MS));
	assert_int_equal(ht_reorder_push(r, 3, 0, T0 + 2 * HT_MS, P(3)), HT_REORDER_DELIVER);
	assert_int_equal(tag_of(ht_reorder_pop(r, T0 + 2 * HT_MS)), 4);
	assert_int_equal(tag_of(ht_reorder_pop(r, T0 + 2 * HT_MS)), 5);
	assert_int_equal(ht_reorder_stats(r)->lost, 0);
	/* a large packet after a lost one still settles it at once */
	assert_int_equal(ht_reorder_push(r, 7, 0, T0 + 3 * HT_MS, P(7)), HT_REORDER_HELD);
	assert_int_equal(ht_reorder_push(r, 8, 1, T0 + 3 * HT_MS, P(8)), HT_REORDER_HELD);
	assert_int_equal(tag_of(ht_reorder_pop(r, T0 + 3 * HT_MS)), 7);
	assert_int_equal(tag_of(ht_reorder_pop(r, T0 + 3 * HT_MS)), 8);
	assert_int_equal(ht_reorder_stats(r)->lost, 1);
	ht_reorder_free(r);

	/* paths that carry small packets only: those are the evidence */
	r = mk(64);
	ht_reorder_push_flags(r, 0, 0, S, T0, P(0));
	ht_reorder_push_flags(r, 1, 1, S, T0, P(1));
	assert_int_equal(ht_reorder_push_flags(r, 3, 0, S, T0, P(3)), HT_REORDER_HELD);
	assert_int_equal(ht_reorder_push_flags(r, 4, 1, S, T0, P(4)), HT_REORDER_HELD);
	assert_int_equal(tag_of(ht_reorder_pop(r, T0)), 3);
	assert_int_equal(ht_reorder_stats(r)->lost, 1);
	ht_reorder_free(r);
}

/* A packet whose order does not matter goes at once; its tag is released
 * (no gap waits for it, a copy of it is a duplicate), and it never comes
 * back from pop() or flush(). */
static void test_unordered_passes(void **state)
{
	struct ht_reorder *r = mk(64);
	const unsigned U = HT_REORDER_UNORDERED;

	(void)state;
	/* path 1 delivered 0: any gap may still be on it */
	assert_int_equal(ht_reorder_push(r, 0, 1, T0, P(0)), HT_REORDER_DELIVER);
	assert_int_equal(ht_reorder_push(r, 2, 0, T0, P(2)), HT_REORDER_HELD);
	assert_int_equal(ht_reorder_push_flags(r, 3, 0, U, T0, P(3)), HT_REORDER_DELIVER);
	assert_int_equal(ht_reorder_push_flags(r, 3, 0, U, T0, P(3)), HT_REORDER_DROP);
	assert_int_equal(ht_reorder_push(r, 5, 0, T0, P(5)), HT_REORDER_HELD);
	assert_null(ht_reorder_pop(r, T0));
	assert_int_equal(ht_reorder_push(r, 1, 0, T0 + HT_MS, P(1)), HT_REORDER_DELIVER);
	assert_int_equal(tag_of(ht_reorder_pop(r, T0 + HT_MS)), 2);
	assert_null(ht_reorder_pop(r, T0 + HT_MS)); /* 3 went already, 4 is missing */
	/* in order and far ahead: delivered too */
	assert_int_equal(ht_reorder_push_flags(r, 4, 0, U, T0 + HT_MS, P(4)), HT_REORDER_DELIVER);
	assert_int_equal(tag_of(ht_reorder_pop(r, T0 + HT_MS)), 5);
	assert_int_equal(ht_reorder_push_flags(r, 900, 0, U, T0 + HT_MS, P(900)),
			 HT_REORDER_DELIVER);
	assert_int_equal(ht_reorder_stats(r)->passed, 2);
	assert_int_equal(ht_reorder_push(r, 7, 0, T0 + HT_MS, P(7)), HT_REORDER_HELD);
	assert_int_equal(ht_reorder_push_flags(r, 8, 0, U, T0 + HT_MS, P(8)), HT_REORDER_DELIVER);
	assert_int_equal(ht_reorder_held(r), 2);
	assert_int_equal(tag_of(ht_reorder_flush(r)), 7);
	assert_null(ht_reorder_flush(r));
	assert_int_equal(ht_reorder_held(r), 0);
	ht_reorder_free(r);
}

/* A path that went quiet stops holding gaps back (path_live), and a path
 * reported down stops at once. */
static void test_dead_path(void **state)
{
	struct ht_reorder *r = mk(64);

	(void)state;
	ht_reorder_push(r, 0, 1, T0, P(0));
	ht_reorder_push(r, 2, 0, T0 + 10 * HT_MS, P(2));
	assert_null(ht_reorder_pop(r, T0 + 10 * HT_MS));
	ht_reorder_path_down(r, 1);
	assert_int_equal(tag_of(ht_reorder_pop(r, T0 + 10 * HT_MS)), 2);
	ht_reorder_free(r);
}

static void test_deadline(void **state)
{
	struct ht_reorder *r = mk(64);
	ht_time w, dl;

	(void)state;
	ht_reorder_push(r, 0, 1, T0, P(0));
	ht_reorder_push(r, 2, 0, T0 + HT_MS, P(2));
	w = ht_reorder_wait(r);
	assert_int_equal(w, 20 * HT_MS); /* wait_init */
	dl = ht_reorder_deadline(r);
	assert_int_equal(dl, T0 + HT_MS + w);
	assert_null(ht_reorder_pop(r, dl - 1));
	/* keep path 1 live but behind: it delivered tag 0 only */
	assert_int_equal(tag_of(ht_reorder_pop(r, dl)), 2);
	assert_int_equal(ht_reorder_stats(r)->timed_out, 1);
	assert_int_equal(ht_reorder_deadline(r), HT_TIME_NEVER);

	/* 1 arrives after all: delivered late, and the wait grows */
	assert_int_equal(ht_reorder_push(r, 1, 1, dl + HT_MS, P(1)), HT_REORDER_DELIVER);
	assert_int_equal(ht_reorder_stats(r)->late, 1);
	assert_true(ht_reorder_wait(r) > w);
	/* and a second copy of it is a duplicate */
	assert_int_equal(ht_reorder_push(r, 1, 0, dl + HT_MS, P(1)), HT_REORDER_DROP);
	assert_int_equal(ht_reorder_stats(r)->dup, 1);
	ht_reorder_free(r);
}

/* A gap the watermark gave up whose packet comes after all (a path that
 * delivered out of its own order: a sparse flow's packet served before
 * the bulk on the same connection) is late, but the wait does not grow:
 * the deadline was not at fault.  Repeated, growing it would reach
 * wait_max and stall every gap the watermark cannot settle that long. */
static void test_late_after_watermark_keeps_wait(void **state)
{
	struct ht_reorder *r = mk(64);
	ht_time w;

	(void)state;
	w = ht_reorder_wait(r);
	for (uint16_t t = 0; t < 40; t += 4) {
		ht_time now = T0 + (ht_time)t * HT_MS;

		/* t on path 1; path 0 overtakes with t+2 and t+3 (its sparse
		 * packet), path 1 shows t+3 too: t+1 is taken for lost */
		ht_reorder_push(r, t, 1, now, P(t));
		ht_reorder_push(r, (uint16_t)(t + 2), 0, now, P(t + 2));
		ht_reorder_push(r, (uint16_t)(t + 3), 1, now, P(t + 3));
		while (ht_reorder_pop(r, now) != NULL) {
		}
		/* ... then t+1 arrives on path 0 */
		assert_int_equal(ht_reorder_push(r, (uint16_t)(t + 1), 0, now, P(t + 1)),
				 HT_REORDER_DELIVER);
	}
	assert_int_equal(ht_reorder_stats(r)->late, 10);
	assert_int_equal(ht_reorder_stats(r)->lost, 10);
	assert_int_equal(ht_reorder_stats(r)->timed_out, 0);
	assert_int_equal(ht_reorder_wait(r), w);
	ht_reorder_free(r);
}

/* Ten gaps given up by one deadline, their packets all 2 ms late: the
 * wait becomes what they needed (the 20 ms hold + 2 ms, x 1.25 + 1 ms),
 * once, not half as much again per late packet (1.5^10 = 58 x). */
static void test_late_burst_grows_wait_once(void **state)
{
	struct ht_reorder *r = mk(64);
	ht_time dl;

	(void)state;
	ht_reorder_push(r, 0, 1, T0, P(0));
	ht_reorder_push(r, 11, 0, T0, P(11));
	dl = ht_reorder_deadline(r);
	assert_int_equal(dl, T0 + 20 * HT_MS);
	assert_int_equal(tag_of(ht_reorder_pop(r, dl)), 11);
	assert_int_equal(ht_reorder_stats(r)->timed_out, 10);
	for (uint16_t t = 1; t <= 10; t++)
		assert_int_equal(ht_reorder_push(r, t, 1, dl + 2 * HT_MS, P(t)),
				 HT_REORDER_DELIVER);
	assert_int_equal(ht_reorder_stats(r)->late, 10);
	assert_int_equal(ht_reorder_wait(r), 22 * HT_MS + 22 * HT_MS / 4 + HT_MS);
	ht_reorder_free(r);
}

static void test_duplicates(void **state)
{
	struct ht_reorder *r = mk(64);

	(void)state;
	assert_int_equal(ht_reorder_push(r, 5, 0, T0, P(5)), HT_REORDER_DELIVER);
	assert_int_equal(ht_reorder_push(r, 5, 1, T0, P(5)), HT_REORDER_DROP);
	ht_reorder_push(r, 7, 1, T0, P(7));
	assert_int_equal(ht_reorder_push(r, 7, 0, T0, P(7)), HT_REORDER_DROP);
	/* 6 on path 0 releases 7; the copy of 6 on path 1 is dropped */
	assert_int_equal(ht_reorder_push(r, 6, 0, T0, P(6)), HT_REORDER_DELIVER);
	assert_int_equal(ht_reorder_push(r, 6, 1, T0, P(6)), HT_REORDER_DROP);
	assert_int_equal(tag_of(ht_reorder_pop(r, T0)), 7);
	assert_int_equal(ht_reorder_stats(r)->dup, 3);
	ht_reorder_free(r);
}

/* The fill delay a gap needed sets the wait: about 1.25 x + 1 ms. */
static void test_adaptive_wait(void **state)
{
	struct ht_reorder *r = mk(64);

	(void)state;
	ht_reorder_push(r, 0, 1, T0, P(0));
	ht_reorder_push(r, 2, 0, T0, P(2));
	ht_reorder_push(r, 1, 1, T0 + 8 * HT_MS, P(1));
	assert_int_equal(tag_of(ht_reorder_pop(r, T0 + 8 * HT_MS)), 2);
	assert_int_equal(ht_reorder_wait(r), 11 * HT_MS);
	/* it decays when nothing needs it any more, down to wait_min */
	ht_reorder_push(r, 3, 0, T0 + 60 * HT_SECONDS, P(3));
	ht_reorder_push(r, 5, 0, T0 + 60 * HT_SECONDS, P(5));
	ht_reorder_push(r, 4, 1, T0 + 60 * HT_SECONDS, P(4));
	assert_int_equal(tag_of(ht_reorder_pop(r, T0 + 60 * HT_SECONDS)), 5);
	assert_int_equal(ht_reorder_wait(r), 2 * HT_MS);
	ht_reorder_free(r);
}

/* The paths' reported one-way delays set a floor under the wait: fills
 * measured while only the near path carried gaps (1 ms) do not make the
 * buffer give up the far path's packets, which trail by the delay spread. */
static void test_delay_floor(void **state)
{
	struct ht_reorder *r = mk(64);

	(void)state;
	ht_reorder_path_up(r, 0, T0);
	ht_reorder_path_up(r, 1, T0);
	ht_reorder_push(r, 0, 1, T0, P(0));
	ht_reorder_push(r, 2, 0, T0, P(2));
	ht_reorder_push(r, 1, 0, T0 + HT_MS, P(1));
	assert_int_equal(tag_of(ht_reorder_pop(r, T0 + HT_MS)), 2);
	assert_int_equal(ht_reorder_wait(r), 2 * HT_MS + HT_MS / 4);
	ht_reorder_set_path_delay(r, 0, 10 * HT_MS);
	ht_reorder_set_path_delay(r, 1, 26 * HT_MS);
	assert_int_equal(ht_reorder_wait(r), 20 * HT_MS); /* 16 ms spread + 1/4 */
	/* a gap behind path 0 waits the floor, not the measured 2.25 ms */
	ht_reorder_push(r, 4, 0, T0 + 2 * HT_MS, P(4));
	assert_int_equal(ht_reorder_deadline(r), T0 + 22 * HT_MS);
	assert_null(ht_reorder_pop(r, T0 + 18 * HT_MS));
	assert_int_equal(ht_reorder_push(r, 3, 1, T0 + 18 * HT_MS, P(3)), HT_REORDER_DELIVER);
	assert_int_equal(tag_of(ht_reorder_pop(r, T0 + 18 * HT_MS)), 4);
	assert_int_equal(ht_reorder_stats(r)->timed_out, 0);
	/* that fill (16 ms) is now measured; a far path slowing down raises
	 * the floor, and its leaving takes the floor away */
	assert_int_equal(ht_reorder_wait(r), 21 * HT_MS);
	ht_reorder_set_path_delay(r, 1, 90 * HT_MS);
	assert_int_equal(ht_reorder_wait(r), 100 * HT_MS);
	ht_reorder_path_down(r, 1);
	assert_int_equal(ht_reorder_wait(r), 21 * HT_MS);
	ht_reorder_free(r);
}

/* A tag beyond the window moves it on, releasing what it passes. */
static void test_overflow(void **state)
{
	struct ht_reorder *r = mk(16);

	(void)state;
	ht_reorder_push(r, 0, 1, T0, P(0));
	assert_int_equal(ht_reorder_push(r, 3, 0, T0, P(3)), HT_REORDER_HELD);
	assert_int_equal(ht_reorder_push(r, 40, 0, T0, P(40)), HT_REORDER_HELD);
	assert_int_equal(ht_reorder_held(r), 2);
	assert_int_equal(ht_reorder_deadline(r), 0);
	assert_int_equal(tag_of(ht_reorder_pop(r, T0)), 3);
	assert_null(ht_reorder_pop(r, T0)); /* 40 now waits in the window */
	assert_int_equal(ht_reorder_held(r), 1);
	assert_int_equal(ht_reorder_stats(r)->forced, 23);
	assert_int_equal(tag_of(ht_reorder_flush(r)), 40);
	assert_null(ht_reorder_flush(r));
	ht_reorder_free(r);
}

static void test_flush_in_order(void **state)
{
	struct ht_reorder *r = mk(64);

	(void)state;
	ht_reorder_push(r, 0, 1, T0, P(0));
	ht_reorder_push(r, 9, 0, T0, P(9));
	ht_reorder_push(r, 4, 0, T0, P(4));
	ht_reorder_push(r, 6, 0, T0, P(6));
	assert_int_equal(tag_of(ht_reorder_flush(r)), 4);
	assert_int_equal(tag_of(ht_reorder_flush(r)), 6);
	assert_int_equal(tag_of(ht_reorder_flush(r)), 9);
	assert_null(ht_reorder_flush(r));
	ht_reorder_free(r);
}

/* Property: tags sent in order over three FIFO paths, interleaved at random
 * on arrival, come out exactly once and in order, across several wraps,
 * with nothing counted lost, as long as no deadline passes. */
static void test_random_fifo_paths(void **state)
{
	enum { N = 200000, PATHS = 3 };
	static uint16_t q[PATHS][N];
	size_t head[PATHS] = {0}, tail[PATHS] = {0};
	struct ht_reorder *r = mk(4096);
	uint16_t expect = 7, t = 7;
	uint64_t got = 0, sent = 0;
	unsigned seed = 12345;
	void *p;

	(void)state;
	for (unsigned k = 0; k < PATHS; k++)
		ht_reorder_path_up(r, k, T0);
	while (got < N) {
		unsigned k;

		seed = seed * 1103515245u + 12345u;
		k = (seed >> 16) % (PATHS + 1);
		if (k == PATHS) {
			/* send: onto a path chosen at random, unless too far ahead */
			if (sent < N && sent - got < 3000) {
				unsigned path = (seed >> 8) % PATHS;
				q[path][tail[path]++] = t++;
				sent++;
			}
			continue;
		}
		if (head[k] == tail[k])
			continue;
		{
			uint16_t tag = q[k][head[k]++];
			enum ht_reorder_verdict v = ht_reorder_push(r, tag, k, T0, P(tag));

			assert_int_not_equal(v, HT_REORDER_DROP);
			if (v == HT_REORDER_DELIVER) {
				assert_int_equal(tag, expect);
				expect++;
				got++;
			}
		}
		while ((p = ht_reorder_pop(r, T0)) != NULL) {
			assert_int_equal(tag_of(p), expect);
			expect++;
			got++;
		}
	}
	assert_int_equal(ht_reorder_stats(r)->lost, 0);
	assert_int_equal(ht_reorder_stats(r)->timed_out, 0);
	assert_int_equal(ht_reorder_stats(r)->late, 0);
	ht_reorder_free(r);
}

/* Two paths with 10 ms and 30 ms one-way delay, 1% loss on each, one
 * packet every 100 us: every packet that was not lost comes out exactly
 * once, the ones in order never wait longer than wait_max, and after the
 * first gaps have taught it the delay difference the buffer stops giving
 * up on packets that were only slow. */
struct ev {
	ht_time at;
	uint16_t tag;
	uint8_t path;
};

static int ev_cmp(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->tag < y->tag ? -1 : (x->tag > y->tag);
}

static void test_lossy_two_paths(void **state)
{
	enum { N = 50000 };
	static struct ev ev[N];
	static uint8_t out[N];
	struct ht_reorder *r = mk(1024);
	size_t n = 0, i, delivered = 0, lost = 0;
	unsigned seed = 99;
	void *p;

	(void)state;
	for (i = 0; i < N; i++) {
		unsigned path;

		seed = seed * 1103515245u + 12345u;
		path = (seed >> 16) & 1u;
		if ((seed >> 8) % 100 == 0) {
			lost++;
			continue;
		}
		ev[n].at = T0 + (ht_time)i * 100000 + (path ? 30 : 10) * HT_MS;
		ev[n].tag = (uint16_t)i; /* N < 65536: tag = index */
		ev[n].path = (uint8_t)path;
		n++;
	}
	qsort(ev, n, sizeof(ev[0]), ev_cmp);
	ht_reorder_path_up(r, 0, T0);
	ht_reorder_path_up(r, 1, T0);
	for (i = 0; i < n; i++) {
		ht_time now = ev[i].at;

		while ((p = ht_reorder_pop(r, now)) != NULL) {
			assert_int_equal(out[tag_of(p)]++, 0);
			delivered++;
		}
		if (ht_reorder_push(r, ev[i].tag, ev[i].path, now, P(ev[i].tag)) ==
		    HT_REORDER_DELIVER) {
			assert_int_equal(out[ev[i].tag]++, 0);
			delivered++;
		}
		while ((p = ht_reorder_pop(r, now)) != NULL) {
			assert_int_equal(out[tag_of(p)]++, 0);
			delivered++;
		}
	}
	while ((p = ht_reorder_flush(r)) != NULL) {
		assert_int_equal(out[tag_of(p)]++, 0);
		delivered++;
	}
	assert_int_equal(delivered, N - lost);
	{
		const struct ht_reorder_stats *st = ht_reorder_stats(r);

		print_message("lost %llu timed out %llu late %llu, wait %llu us\n",
			      (unsigned long long)st->lost, (unsigned long long)st->timed_out,
			      (unsigned long long)st->late,
			      (unsigned long long)(ht_reorder_wait(r) / 1000));
	}
	/* a wrong guess costs a late packet, never a lost one; few of them */
	assert_true(ht_reorder_stats(r)->late < 20);
	assert_true(ht_reorder_wait(r) >= 20 * HT_MS && ht_reorder_wait(r) <= 40 * HT_MS);
	ht_reorder_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_swap_and_wrap),
		cmocka_unit_test(test_single_path_loss_is_immediate),
		cmocka_unit_test(test_watermark_two_paths),
		cmocka_unit_test(test_dead_path),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_adaptive_wait),
		cmocka_unit_test(test_late_after_watermark_keeps_wait),
		cmocka_unit_test(test_late_burst_grows_wait_once),
		cmocka_unit_test(test_delay_floor),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_flush_in_order),
		cmocka_unit_test(test_random_fifo_paths),
		cmocka_unit_test(test_lossy_two_paths),
		cmocka_unit_test(test_watermark_small_overtakes),
		cmocka_unit_test(test_unordered_passes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
