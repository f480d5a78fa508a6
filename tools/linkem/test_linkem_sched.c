/* Unit tests for the linkem scheduling core, in simulated time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "frame.h"
#include "linksched.h"

#define MS (1000000ULL)
#define US (1000ULL)

static struct lk_params params(void)
{
	struct lk_params p = {.limit = 10000};

	return p;
}

static void test_bad_params(void **state)
{
	struct lk_sched s;
	struct lk_params p = params();

	(void)state;
	p.limit = 0;
	assert_int_equal(lk_sched_init(&s, &p, 1), -22);
	p = params();
	p.loss = 1.5;
	assert_int_equal(lk_sched_init(&s, &p, 1), -22);
	p.loss = -0.1;
	assert_int_equal(lk_sched_init(&s, &p, 1), -22);
}

static void test_delay_exact(void **state)
{
	struct lk_sched s;
	struct lk_params p = params();
	uint32_t c;
	uint64_t when, t0 = 5 * LK_NS_PER_SEC;

	(void)state;
	p.delay_ns = 20 * MS + 250 * US; /* fractional ms */
	assert_int_equal(lk_sched_init(&s, &p, 1), 0);
	for (uint32_t i = 0; i < 100; i++)
		assert_int_equal(lk_sched_offer(&s, 1514, t0 + i * 10 * US, i),
				 LK_QUEUED);
	assert_true(lk_sched_next(&s, &when));
	assert_int_equal(when, t0 + p.delay_ns);
	/* Nothing leaves a nanosecond early. */
	assert_false(lk_sched_pop(&s, t0 + p.delay_ns - 1, &c, NULL));
	for (uint32_t i = 0; i < 100; i++) {
		uint64_t due = t0 + i * 10 * US + p.delay_ns;

		assert_false(lk_sched_pop(&s, due - 1, &c, NULL));
		assert_true(lk_sched_pop(&s, due, &c, &when));
		assert_int_equal(c, i);
		assert_int_equal(when, due);
	}
	assert_false(lk_sched_next(&s, &when));
	assert_int_equal(s.c.rx, 100);
	lk_sched_free(&s);
}

static void run_jitter(bool reorder, uint64_t *max_extra, unsigned *reordered)
{
	struct lk_sched s;
	struct lk_params p = params();
	uint64_t prev = 0, t0 = LK_NS_PER_SEC, when;
	uint32_t c, expect = 0;
	unsigned n = 5000;
	uint64_t *arr = calloc(n, sizeof(*arr));

	assert_non_null(arr);
	p.delay_ns = 10 * MS;
	p.jitter_ns = 5 * MS;
	p.reorder = reorder;
	assert_int_equal(lk_sched_init(&s, &p, 42), 0);
	/* One frame every 100 us: jitter (5 ms) spans many frames, so without
	 * the no-reorder rule frames would overtake each other. */
	for (unsigned i = 0; i < n; i++) {
		arr[i] = t0 + i * 100 * US;
		assert_int_equal(lk_sched_offer(&s, 100, arr[i], i), LK_QUEUED);
	}
	*max_extra = 0;
	*reordered = 0;
	while (lk_sched_pop(&s, UINT64_MAX, &c, &when)) {
		uint64_t extra = when - arr[c] - p.delay_ns;

		assert_true(when >= arr[c] + p.delay_ns);
		if (!reorder)
			assert_true(when >= prev);
		if (c != expect)
			(*reordered)++;
		/* Without reorder a frame may also wait for an earlier one,
		 * which left at most jitter after its own arrival: the total
		 * extra is still within jitter. */
		assert_true(extra <= p.jitter_ns);
		if (extra > *max_extra)
			*max_extra = extra;
		prev = when;
		expect = c + 1;
	}
	lk_sched_free(&s);
	free(arr);
}

static void test_jitter_no_reorder(void **state)
{
	uint64_t max_extra;
	unsigned reordered;

	(void)state;
	run_jitter(false, &max_extra, &reordered);
	assert_int_equal(reordered, 0);
	assert_true(max_extra <= 5 * MS);
	assert_true(max_extra > 4 * MS); /* the jitter is really used */
}

static void test_jitter_reorder(void **state)
{
	uint64_t max_extra;
	unsigned reordered;

	(void)state;
	run_jitter(true, &max_extra, &reordered);
	assert_true(reordered > 100);
	assert_true(max_extra <= 5 * MS);
}

static void test_jitter_spread(void **state)
{
	struct lk_sched s;
	struct lk_params p = params();
	uint64_t when, sum = 0, lo = UINT64_MAX, hi = 0;
	uint32_t c;
	const unsigned n = 20000;

	(void)state;
	p.jitter_ns = 2 * MS;
	p.limit = n;
	assert_int_equal(lk_sched_init(&s, &p, 7), 0);
	/* Frames 1 s apart never wait for each other: each sees raw jitter. */
	for (unsigned i = 0; i < n; i++) {
		uint64_t t = (uint64_t)i * LK_NS_PER_SEC;

		assert_int_equal(lk_sched_offer(&s, 60, t, i), LK_QUEUED);
		assert_true(lk_sched_pop(&s, UINT64_MAX, &c, &when));
		when -= t;
		sum += when;
		lo = when < lo ? when : lo;
		hi = when > hi ? when : hi;
	}
	/* Uniform on [0, 2 ms]: mean 1 ms, extremes near both ends. */
	assert_true(sum / n > 980 * US && sum / n < 1020 * US);
	assert_true(lo < 10 * US);
	assert_true(hi > 1990 * US && hi <= 2 * MS);
	lk_sched_free(&s);
}

static void test_rate_spacing(void **state)
{
	struct lk_sched s;
	struct lk_params p = params();
	uint64_t when, prev = 0, t0 = 3 * LK_NS_PER_SEC;
	uint32_t c;

	(void)state;
	p.rate_bps = 12000000; /* 1500 B = 12000 bit = 1 ms */
	p.delay_ns = 5 * MS;
	assert_int_equal(lk_sched_init(&s, &p, 1), 0);
	/* A burst of 50 frames arriving at once leaves 1 ms apart. */
	for (uint32_t i = 0; i < 50; i++)
		assert_int_equal(lk_sched_offer(&s, 1500, t0, i), LK_QUEUED);
	for (uint32_t i = 0; i < 50; i++) {
		assert_true(lk_sched_pop(&s, UINT64_MAX, &c, &when));
		assert_int_equal(c, i);
		assert_int_equal(when, t0 + (i + 1) * MS + p.delay_ns);
		if (i)
			assert_int_equal(when - prev, MS);
		prev = when;
	}
	/* After the serialiser went idle a frame pays only its own time. */
	assert_int_equal(lk_sched_offer(&s, 750, t0 + LK_NS_PER_SEC, 99),
			 LK_QUEUED);
	assert_true(lk_sched_pop(&s, UINT64_MAX, &c, &when));
	assert_int_equal(when, t0 + LK_NS_PER_SEC + MS / 2 + p.delay_ns);
	lk_sched_free(&s);
}

static void test_rate_long_run(void **state)
{
	struct lk_sched s;
	struct lk_params p = params();
	uint64_t when = 0;
	uint32_t c;

	(void)state;
	p.rate_bps = 200000000; /* 200 Mbit/s, 1514 B frames */
	p.limit = 100;
	assert_int_equal(lk_sched_init(&s, &p, 1), 0);
	/* Offered at 2x the rate, 1 s long: the queue fills and tail drops, the
	 * frames that leave do so at exactly the rate. */
	uint64_t sent_bits = 0, last = 0;

	for (uint64_t t = 0; t < LK_NS_PER_SEC; t += 30280) {
		while (lk_sched_pop(&s, t, &c, &when)) {
			sent_bits += 1514 * 8;
			last = when;
		}
		(void)lk_sched_offer(&s, 1514, t, 0);
	}
	assert_true(s.c.drop_queue > 10000);
	/* rate = bits / time within 0.1 % */
	double rate = (double)sent_bits * 1e9 / (double)last;

	assert_true(rate > 199.8e6 && rate < 200.2e6);
	lk_sched_free(&s);
}

static void test_loss_fraction(void **state)
{
	const double pcts[] = {0.5, 5.0, 30.0};

	(void)state;
	for (unsigned k = 0; k < 3; k++) {
		struct lk_sched s;
		struct lk_params p = params();
		uint32_t c;
		const unsigned n = 100000;

		p.loss = pcts[k] / 100.0;
		assert_int_equal(lk_sched_init(&s, &p, 1234 + k), 0);
		for (unsigned i = 0; i < n; i++) {
			(void)lk_sched_offer(&s, 100, i, i);
			while (lk_sched_pop(&s, i, &c, NULL))
				;
		}
		double want = p.loss * n, got = (double)s.c.drop_loss;

		assert_int_equal(s.c.rx, n);
		assert_true(got > want * 0.9 && got < want * 1.1);
		assert_int_equal(s.c.drop_queue, 0);
		lk_sched_free(&s);
	}
}

static void test_loss_extremes_and_seed(void **state)
{
	struct lk_sched s, t;
	struct lk_params p = params();
	uint32_t c;

	(void)state;
	p.loss = 1.0;
	assert_int_equal(lk_sched_init(&s, &p, 9), 0);
	for (unsigned i = 0; i < 1000; i++)
		assert_int_equal(lk_sched_offer(&s, 100, i, i), LK_DROP_LOSS);
	lk_sched_free(&s);

	p.loss = 0.0;
	assert_int_equal(lk_sched_init(&s, &p, 9), 0);
	for (unsigned i = 0; i < 1000; i++) {
		assert_int_equal(lk_sched_offer(&s, 100, i, i), LK_QUEUED);
		assert_true(lk_sched_pop(&s, i, &c, NULL));
	}
	lk_sched_free(&s);

	/* Same seed, same losses. */
	p.loss = 0.1;
	assert_int_equal(lk_sched_init(&s, &p, 77), 0);
	assert_int_equal(lk_sched_init(&t, &p, 77), 0);
	for (unsigned i = 0; i < 10000; i++) {
		assert_int_equal(lk_sched_offer(&s, 100, i, i),
				 lk_sched_offer(&t, 100, i, i));
		while (lk_sched_pop(&s, i, &c, NULL))
			;
		while (lk_sched_pop(&t, i, &c, NULL))
			;
	}
	lk_sched_free(&s);
	lk_sched_free(&t);
}

static void test_queue_limit(void **state)
{
	struct lk_sched s;
	struct lk_params p = params();
	uint32_t c;

	(void)state;
	p.limit = 8;
	p.delay_ns = MS;
	assert_int_equal(lk_sched_init(&s, &p, 1), 0);
	for (uint32_t i = 0; i < 8; i++)
		assert_int_equal(lk_sched_offer(&s, 100, 0, i), LK_QUEUED);
	/* Tail drop: the newcomer goes, the queued frames stay. */
	assert_int_equal(lk_sched_offer(&s, 100, 0, 8), LK_DROP_QUEUE);
	assert_int_equal(lk_sched_offer(&s, 100, 0, 9), LK_DROP_QUEUE);
	assert_int_equal(s.c.drop_queue, 2);
	assert_int_equal(lk_sched_len(&s), 8);
	assert_true(lk_sched_pop(&s, MS, &c, NULL));
	assert_int_equal(c, 0);
	assert_int_equal(lk_sched_offer(&s, 100, MS, 10), LK_QUEUED);
	for (uint32_t i = 1; i < 8; i++) {
		assert_true(lk_sched_pop(&s, 2 * MS, &c, NULL));
		assert_int_equal(c, i);
	}
	assert_true(lk_sched_pop(&s, 2 * MS, &c, NULL));
	assert_int_equal(c, 10);
	lk_sched_free(&s);
}

static void test_down_drops_everything(void **state)
{
	struct lk_sched s;
	struct lk_params p = params();
	uint32_t c, n = 0;
	uint64_t when;

	(void)state;
	p.delay_ns = 10 * MS;
	p.rate_bps = 1000000;
	assert_int_equal(lk_sched_init(&s, &p, 1), 0);
	for (uint32_t i = 0; i < 20; i++)
		assert_int_equal(lk_sched_offer(&s, 1000, 0, i), LK_QUEUED);
	lk_sched_set_down(&s, true);
	while (lk_sched_flush(&s, &c))
		n++;
	assert_int_equal(n, 20);
	assert_int_equal(s.c.drop_down, 20);
	for (uint32_t i = 0; i < 100; i++)
		assert_int_equal(lk_sched_offer(&s, 1000, MS, i), LK_DROP_DOWN);
	assert_false(lk_sched_next(&s, &when));
	assert_int_equal(s.c.drop_down, 120);
	assert_int_equal(s.c.rx, 120);
	/* Up again: the serialiser backlog from before is forgotten. */
	lk_sched_set_down(&s, false);
	assert_int_equal(lk_sched_offer(&s, 1000, 500 * MS, 1), LK_QUEUED);
	assert_true(lk_sched_pop(&s, UINT64_MAX, &c, &when));
	assert_int_equal(when, 500 * MS + 8 * MS + 10 * MS);
	lk_sched_free(&s);
}

/* Ethernet + IPv4 (20) + TCP (32) headers, 64 KiB of payload in 1448-byte
 * segments. */
static void test_gso_wire_len(void **state)
{
	uint8_t f[128] = {0};
	uint32_t len = 14 + 20 + 32 + 45 * 1448;

	(void)state;
	f[12] = 0x08;
	f[13] = 0x00;
	f[14] = 0x45;
	f[14 + 9] = 6;
	f[14 + 20 + 12] = 8 << 4;
	assert_int_equal(lk_frame_hdr_len(f, sizeof(f)), 66);
	assert_int_equal(lk_frame_wire_len(f, sizeof(f), len, 1448),
			 45 * (66 + 1448));
	/* A last short segment. */
	assert_int_equal(lk_frame_wire_len(f, sizeof(f), len + 100, 1448),
			 45 * (66 + 1448) + 66 + 100);
	/* No GSO: the frame itself. */
	assert_int_equal(lk_frame_wire_len(f, sizeof(f), 1514, 0), 1514);
	/* VLAN + IPv6 + UDP */
	uint8_t g[128] = {0};

	g[12] = 0x81;
	g[16] = 0x86;
	g[17] = 0xdd;
	g[18 + 6] = 17;
	assert_int_equal(lk_frame_hdr_len(g, sizeof(g)), 18 + 40 + 8);
	/* Unknown protocol: counted as one frame. */
	g[18 + 6] = 50;
	assert_int_equal(lk_frame_hdr_len(g, sizeof(g)), 0);
	assert_int_equal(lk_frame_wire_len(g, sizeof(g), 9000, 1400), 9000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_delay_exact),
		cmocka_unit_test(test_jitter_no_reorder),
		cmocka_unit_test(test_jitter_reorder),
		cmocka_unit_test(test_jitter_spread),
		cmocka_unit_test(test_rate_spacing),
		cmocka_unit_test(test_rate_long_run),
		cmocka_unit_test(test_loss_fraction),
		cmocka_unit_test(test_loss_extremes_and_seed),
		cmocka_unit_test(test_queue_limit),
		cmocka_unit_test(test_down_drops_everything),
		cmocka_unit_test(test_gso_wire_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
