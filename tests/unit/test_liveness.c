/* Unit tests of src/tunnel/liveness.c: failure within a few RTTs of
 * silence, PING probes of idle and standby paths, revival, reconnect
 * backoff, the quick rule for a busy path and its false-alarm backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tunnel/liveness.h"

#define T0 (50 * HT_SECONDS)

static void up(struct ht_liveness *l, bool backup)
{
	struct ht_liveness_config c;

	ht_liveness_config_default(&c);
	ht_liveness_init(l, &c, backup, T0);
	assert_int_equal(l->state, HT_PATH_VALIDATING);
	assert_int_equal(ht_liveness_deadline(l), HT_TIME_NEVER);
	ht_liveness_established(l, T0);
	ht_liveness_on_rtt(l, 40 * HT_MS, 5 * HT_MS, 0);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(ht_path_state_name(HT_PATH_VALIDATING), "validating");
	assert_string_equal(ht_path_state_name(HT_PATH_ACTIVE), "active");
	assert_string_equal(ht_path_state_name(HT_PATH_STANDBY), "standby");
	assert_string_equal(ht_path_state_name(HT_PATH_FAILED), "failed");
}

/* 40 ms RTT, 5 ms rttvar: failed 180 ms after an unanswered send. */
static void test_fails_within_rtts(void **state)
{
	struct ht_liveness l;
	ht_time t = T0 + HT_SECONDS / 2;

	(void)state;
	up(&l, false);
	assert_int_equal(l.state, HT_PATH_ACTIVE);
	assert_int_equal(ht_liveness_fail_timeout(&l), 180 * HT_MS);
	/* traffic flowing: sends answered */
	ht_liveness_on_tx(&l, t);
	ht_liveness_on_rx(&l, t + 40 * HT_MS);
	assert_int_equal(ht_liveness_tick(&l, t + 300 * HT_MS), HT_LIVE_NONE);
	/* the link dies: sends, no answers */
	t += 50 * HT_MS;
	ht_liveness_on_tx(&l, t);
	ht_liveness_on_tx(&l, t + 10 * HT_MS); /* later sends don't reset the clock */
	assert_int_equal(ht_liveness_deadline(&l), t + 180 * HT_MS);
	assert_int_equal(ht_liveness_tick(&l, t + 179 * HT_MS), HT_LIVE_NONE);
	assert_int_equal(ht_liveness_tick(&l, t + 180 * HT_MS), HT_LIVE_FAILED);
	assert_int_equal(l.state, HT_PATH_FAILED);
	assert_int_equal(l.failures, 1);
	/* the link comes back before any reconnect: revived */
	ht_liveness_on_rx(&l, t + 200 * HT_MS);
	assert_int_equal(l.state, HT_PATH_ACTIVE);
}

static void test_clamps(void **state)
{
	struct ht_liveness l;

	(void)state;
	up(&l, false);
	ht_liveness_on_rtt(&l, 1 * HT_MS, 0, 0);
	assert_int_equal(ht_liveness_fail_timeout(&l), 150 * HT_MS);
	ht_liveness_on_rtt(&l, 2 * HT_SECONDS, 0, 0);
	assert_int_equal(ht_liveness_fail_timeout(&l), 3 * HT_SECONDS);
	ht_liveness_on_rtt(&l, 0, 0, 0); /* unknown: RFC 9002's 333 ms */
	assert_int_equal(ht_liveness_fail_timeout(&l), 1332 * HT_MS);
}

static void test_idle_probe(void **state)
{
	struct ht_liveness l, b;

	(void)state;
	up(&l, false);
	assert_int_equal(ht_liveness_deadline(&l), T0 + HT_SECONDS);
	assert_int_equal(ht_liveness_tick(&l, T0 + HT_SECONDS - 1), HT_LIVE_NONE);
	assert_int_equal(ht_liveness_tick(&l, T0 + HT_SECONDS), HT_LIVE_PING);
	ht_liveness_on_tx(&l, T0 + HT_SECONDS); /* the PING */
	assert_int_equal(ht_liveness_tick(&l, T0 + HT_SECONDS + 1), HT_LIVE_NONE);
	assert_int_equal(ht_liveness_tick(&l, T0 + HT_SECONDS + 180 * HT_MS), HT_LIVE_FAILED);

	up(&b, true);
	assert_int_equal(b.state, HT_PATH_STANDBY);
	assert_int_equal(ht_liveness_tick(&b, T0 + HT_SECONDS), HT_LIVE_NONE);
	assert_int_equal(ht_liveness_tick(&b, T0 + 5 * HT_SECONDS), HT_LIVE_PING);
}

static void test_reconnect_backoff(void **state)
{
	struct ht_liveness l;
	ht_time t = T0 + HT_SECONDS;

	(void)state;
	up(&l, false);
	ht_liveness_closed(&l, t);
	assert_int_equal(l.state, HT_PATH_FAILED);
	ht_liveness_closed(&l, t); /* once */
	assert_int_equal(l.failures, 1);
	assert_int_equal(ht_liveness_deadline(&l), t + 250 * HT_MS);
	assert_int_equal(ht_liveness_tick(&l, t + 249 * HT_MS), HT_LIVE_NONE);
	assert_int_equal(ht_liveness_tick(&l, t + 250 * HT_MS), HT_LIVE_RECONNECT);
	ht_liveness_restart(&l, t + 250 * HT_MS);
	assert_int_equal(l.state, HT_PATH_VALIDATING);
	/* that attempt fails: 500 ms, then 1 s, ... up to 10 s */
	ht_liveness_closed(&l, t + HT_SECONDS);
	assert_int_equal(ht_liveness_deadline(&l), t + HT_SECONDS + 500 * HT_MS);
	for (int i = 0; i < 10; i++) {
		ht_time at = ht_liveness_deadline(&l);

		assert_int_equal(ht_liveness_tick(&l, at), HT_LIVE_RECONNECT);
		ht_liveness_restart(&l, at);
		ht_liveness_closed(&l, at);
	}
	assert_int_equal(l.retry_wait, 10 * HT_SECONDS);
	/* success resets the backoff */
	ht_liveness_restart(&l, t + 100 * HT_SECONDS);
	ht_liveness_established(&l, t + 100 * HT_SECONDS);
	assert_int_equal(l.retry_wait, 250 * HT_MS);
}

/* A busy path (40 ms min RTT, srtt 140 ms from its own queue) goes
 * silent: probed after 10 ms, failed 2 x 40 + 140 / 8 = 97.5 ms after the
 * probe, long before the normal 4 x srtt + 4 x rttvar. */
static void test_quick_rule(void **state)
{
	struct ht_liveness l;
	ht_time t = T0 + 100 * HT_MS;

	(void)state;
	up(&l, false);
	ht_liveness_on_rtt(&l, 140 * HT_MS, 10 * HT_MS, 40 * HT_MS);
	ht_liveness_on_data(&l, t);
	ht_liveness_on_rx(&l, t);
	assert_int_equal(ht_liveness_quick_timeout(&l), 97 * HT_MS + HT_MS / 2);
	assert_int_equal(ht_liveness_deadline(&l), t + 10 * HT_MS);
	assert_int_equal(ht_liveness_tick(&l, t + 9 * HT_MS), HT_LIVE_NONE);
	assert_int_equal(ht_liveness_tick(&l, t + 10 * HT_MS), HT_LIVE_PROBE);
	/* once per silence */
	assert_int_equal(ht_liveness_tick(&l, t + 11 * HT_MS), HT_LIVE_NONE);
	assert_int_equal(ht_liveness_deadline(&l), t + 107 * HT_MS + HT_MS / 2);
	assert_int_equal(ht_liveness_tick(&l, t + 107 * HT_MS), HT_LIVE_NONE);
	assert_int_equal(ht_liveness_tick(&l, t + 108 * HT_MS), HT_LIVE_FAILED);
	assert_int_equal(l.state, HT_PATH_FAILED);

	/* An answer to the probe ends it: no failure. */
	up(&l, false);
	ht_liveness_on_rtt(&l, 140 * HT_MS, 10 * HT_MS, 40 * HT_MS);
	ht_liveness_on_data(&l, t);
	ht_liveness_on_rx(&l, t);
	assert_int_equal(ht_liveness_tick(&l, t + 30 * HT_MS), HT_LIVE_PROBE);
	ht_liveness_on_rx(&l, t + 70 * HT_MS);
	assert_int_equal(ht_liveness_tick(&l, t + 75 * HT_MS), HT_LIVE_NONE);
	/* answered, and no data since: not asked again */
	assert_int_equal(ht_liveness_tick(&l, t + 200 * HT_MS), HT_LIVE_NONE);
	/* new data, then silence: asked again */
	ht_liveness_on_data(&l, t + 210 * HT_MS);
	ht_liveness_on_rx(&l, t + 210 * HT_MS);
	assert_int_equal(ht_liveness_tick(&l, t + 220 * HT_MS), HT_LIVE_PROBE);
	assert_int_equal(l.state, HT_PATH_ACTIVE);
	/* busy means data in the last second: later only the idle probe */
	ht_liveness_on_rx(&l, t + 230 * HT_MS);
	assert_int_equal(ht_liveness_tick(&l, t + 1300 * HT_MS), HT_LIVE_PING);

	/* Not busy, or no min RTT yet: only the normal rule. */
	up(&l, false);
	ht_liveness_on_rtt(&l, 140 * HT_MS, 10 * HT_MS, 40 * HT_MS);
	ht_liveness_on_rx(&l, t);
	assert_int_equal(ht_liveness_tick(&l, t + 500 * HT_MS), HT_LIVE_NONE);
	ht_liveness_on_data(&l, t + 550 * HT_MS);
	ht_liveness_on_rtt(&l, 140 * HT_MS, 10 * HT_MS, 0);
	assert_int_equal(ht_liveness_tick(&l, t + 600 * HT_MS), HT_LIVE_NONE);

	/* A long min RTT waits a quarter of it before probing; the peer's ACK
	 * delay is at most 25 ms. */
	up(&l, false);
	ht_liveness_on_rtt(&l, 300 * HT_MS, 10 * HT_MS, 200 * HT_MS);
	ht_liveness_on_data(&l, t);
	ht_liveness_on_rx(&l, t);
	assert_int_equal(ht_liveness_quick_timeout(&l), 425 * HT_MS);
	assert_int_equal(ht_liveness_tick(&l, t + 49 * HT_MS), HT_LIVE_NONE);
	assert_int_equal(ht_liveness_tick(&l, t + 50 * HT_MS), HT_LIVE_PROBE);
}

/* A path failed by the quick rule and back within 2 s was a false alarm:
 * its quick timeout doubles each time, up to the normal timeout, and
 * halves again after a minute without one. */
static void test_quick_false_alarm(void **state)
{
	struct ht_liveness l;
	ht_time t = T0 + 100 * HT_MS, normal;

	(void)state;
	up(&l, false);
	ht_liveness_on_rtt(&l, 140 * HT_MS, 10 * HT_MS, 40 * HT_MS);
	normal = ht_liveness_fail_timeout(&l);
	assert_int_equal(normal, 600 * HT_MS);
	for (int i = 0; i < 3; i++) {
		ht_liveness_on_data(&l, t);
		ht_liveness_on_rx(&l, t);
		assert_int_equal(ht_liveness_tick(&l, t + 20 * HT_MS), HT_LIVE_PROBE);
		t += 20 * HT_MS + ht_liveness_quick_timeout(&l);
		assert_int_equal(ht_liveness_tick(&l, t), HT_LIVE_FAILED);
		/* the old connection's late packet: the path was alive */
		ht_liveness_on_rx(&l, t + 50 * HT_MS);
		assert_int_equal(l.state, HT_PATH_ACTIVE);
		t += HT_SECONDS;
	}
	assert_int_equal(l.false_alarms, 3);
	assert_int_equal(ht_liveness_quick_timeout(&l), normal); /* 8 x 97.5 ms, capped */
	/* a real outage: back after 5 s, not a false alarm */
	ht_liveness_on_data(&l, t);
	ht_liveness_on_rx(&l, t);
	assert_int_equal(ht_liveness_tick(&l, t + 20 * HT_MS), HT_LIVE_PROBE);
	t += 20 * HT_MS + ht_liveness_quick_timeout(&l);
	assert_int_equal(ht_liveness_tick(&l, t), HT_LIVE_FAILED);
	ht_liveness_restart(&l, t + 250 * HT_MS);
	ht_liveness_established(&l, t + 5 * HT_SECONDS);
	assert_int_equal(l.false_alarms, 3);
	/* a minute later the scale starts to come down */
	t += 5 * HT_SECONDS + 61 * HT_SECONDS;
	ht_liveness_on_rx(&l, t);
	(void)ht_liveness_tick(&l, t);
	assert_int_equal(l.quick_scale, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_fails_within_rtts),
		cmocka_unit_test(test_clamps),
		cmocka_unit_test(test_idle_probe),
		cmocka_unit_test(test_reconnect_backoff),
		cmocka_unit_test(test_quick_rule),
		cmocka_unit_test(test_quick_false_alarm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
