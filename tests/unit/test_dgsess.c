/* Unit tests of src/tunnel/dgsess.c, the concentrator's per-session
 * datagram state: upstream packets from several members leave in tag order
 * (in-order ones without a copy, held ones copied so the caller's buffer
 * may be reused), gaps end at the watermark or the deadline, a member that
 * leaves no longer holds gaps back, a session that lost every connection
 * starts its reorder buffer afresh; downstream picks go to the lowest-RTT
 * member with window room, skip a member whose path failed, and share one
 * Packet Tag per packet; the session MTU is its members' smallest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/err.h"
#include "tunnel/dgsess.h"

#define T0 (100 * HT_SECONDS)
#define MAXD 64

struct member {
	int id;
	struct ht_dgsess_pathinfo pi;
};

struct out {
	void *from;
	const uint8_t *ptr;
	uint8_t first; /* the packet's first byte: our packets are tagged there */
	size_t len;
};

static struct out outs[MAXD];
static size_t nout;

static void deliver(void *arg, void *from, const uint8_t *pkt, size_t len)
{
	(void)arg;
	assert_true(nout < MAXD);
	outs[nout].from = from;
	outs[nout].ptr = pkt;
	outs[nout].first = pkt[0];
	outs[nout].len = len;
	nout++;
}

static void path(void *arg, void *m, struct ht_dgsess_pathinfo *pi)
{
	(void)arg;
	*pi = ((struct member *)m)->pi;
}

static const struct ht_dgsess_ops ops = {.deliver = deliver, .path = path};

static struct member A = {.id = 1}, B = {.id = 2};

static int setup(void **state)
{
	(void)state;
	nout = 0;
	memset(outs, 0, sizeof(outs));
	A.pi = (struct ht_dgsess_pathinfo){.srtt = 10 * HT_MS, .cwnd = 12000};
	B.pi = (struct ht_dgsess_pathinfo){.srtt = 30 * HT_MS, .cwnd = 12000};
	return 0;
}

/* A packet whose first byte is its tag's low byte, in buf. */
static void rx(struct ht_dgsess *s, int slot, uint16_t tag, uint8_t *buf, ht_time now)
{
	memset(buf, 0, 100);
	buf[0] = (uint8_t)tag;
	ht_dgsess_receive(s, slot, tag, 0, buf, 100, now);
}

static void test_one_member_in_order_no_copy(void **state)
{
	struct ht_dgsess *s = ht_dgsess_new(&ops, NULL);
	uint8_t buf[100];
	struct ht_status_sess st;

	(void)state;
	assert_int_equal(ht_dgsess_join(s, &A, 1400, T0), 0);
	for (uint16_t t = 65530; t != 6; t++) { /* across the wrap */
		rx(s, 0, t, buf, T0 + t);
		assert_ptr_equal(outs[nout - 1].ptr, buf); /* not copied */
		assert_ptr_equal(outs[nout - 1].from, &A);
		assert_int_equal(outs[nout - 1].first, (uint8_t)t);
	}
	assert_int_equal(nout, 12);
	/* one path: a loss is skipped by the next packet, nothing waits */
	rx(s, 0, 8, buf, T0 + HT_SECONDS);
	assert_int_equal(nout, 13);
	assert_int_equal(outs[12].first, 8);
	assert_int_equal(ht_dgsess_deadline(s), HT_TIME_NEVER);
	ht_dgsess_status(s, 0, &st);
	assert_true(st.reorder);
	assert_int_equal(st.ro.lost, 2); /* 6 and 7 */
	assert_int_equal(st.held, 0);
	ht_dgsess_free(s);
}

static void test_two_members_reorder_copies(void **state)
{
	struct ht_dgsess *s = ht_dgsess_new(&ops, NULL);
	uint8_t buf[100];

	(void)state;
	assert_int_equal(ht_dgsess_join(s, &A, 1400, T0), 0);
	assert_int_equal(ht_dgsess_join(s, &B, 1400, T0), 1);
	rx(s, 0, 0, buf, T0 + HT_MS);
	rx(s, 1, 1, buf, T0 + 2 * HT_MS);
	assert_int_equal(nout, 2);
	/* 3 and 4 on A before 2 on B: held, and copied (buf is reused) */
	rx(s, 0, 3, buf, T0 + 3 * HT_MS);
	rx(s, 0, 4, buf, T0 + 4 * HT_MS);
	assert_int_equal(nout, 2);
	assert_int_not_equal(ht_dgsess_deadline(s), HT_TIME_NEVER);
	rx(s, 1, 2, buf, T0 + 5 * HT_MS);
	assert_int_equal(nout, 5);
	assert_int_equal(outs[2].first, 2);
	assert_ptr_equal(outs[2].from, &B);
	assert_int_equal(outs[3].first, 3);
	assert_ptr_not_equal(outs[3].ptr, buf);
	assert_ptr_equal(outs[3].from, &A);
	assert_int_equal(outs[4].first, 4);
	assert_int_equal(outs[4].len, 100);
	/* a copy (redundant scheduling) of 4 on B: dropped */
	rx(s, 1, 4, buf, T0 + 6 * HT_MS);
	assert_int_equal(nout, 5);
	ht_dgsess_free(s);
}

static void test_deadline_and_leave(void **state)
{
	struct ht_dgsess *s = ht_dgsess_new(&ops, NULL);
	uint8_t buf[100];
	ht_time dl;

	(void)state;
	assert_int_equal(ht_dgsess_join(s, &A, 1400, T0), 0);
	assert_int_equal(ht_dgsess_join(s, &B, 1400, T0), 1);
	rx(s, 0, 0, buf, T0);
	rx(s, 1, 1, buf, T0);
	/* B delivered 1; 2 is missing, 3 arrives on B: A may still bring 2 */
	rx(s, 1, 3, buf, T0 + HT_MS);
	assert_int_equal(nout, 2);
	dl = ht_dgsess_deadline(s);
	assert_int_equal(dl, T0 + HT_MS + 20 * HT_MS); /* the first wait */
	ht_dgsess_tick(s, dl - 1);
	assert_int_equal(nout, 2);
	/* B leaves while its 3 is held: released later with from NULL */
	ht_dgsess_leave(s, 1, T0 + 2 * HT_MS);
	ht_dgsess_tick(s, dl);
	assert_int_equal(nout, 3);
	assert_int_equal(outs[2].first, 3);
	assert_null(outs[2].from);
	assert_int_equal(ht_dgsess_members(s), 1);
	/* A alone: its next packets flow at once */
	rx(s, 0, 5, buf, dl + HT_MS);
	assert_int_equal(nout, 4);
	ht_dgsess_free(s);
}

static void test_rejoin_starts_afresh(void **state)
{
	struct ht_dgsess *s = ht_dgsess_new(&ops, NULL);
	uint8_t buf[100];
	struct ht_status_sess st;

	(void)state;
	assert_int_equal(ht_dgsess_join(s, &A, 1400, T0), 0);
	for (uint16_t t = 1000; t < 1010; t++)
		rx(s, 0, t, buf, T0);
	ht_dgsess_leave(s, 0, T0 + HT_SECONDS);
	assert_int_equal(ht_dgsess_members(s), 0);
	assert_int_equal(ht_dgsess_mtu(s), 0);
	/* the client came back within the linger, its tags restarted at 0 */
	assert_int_equal(ht_dgsess_join(s, &B, 1400, T0 + 2 * HT_SECONDS), 0);
	rx(s, 0, 0, buf, T0 + 2 * HT_SECONDS);
	rx(s, 0, 1, buf, T0 + 2 * HT_SECONDS);
	assert_int_equal(nout, 12);
	assert_ptr_equal(outs[11].from, &B);
	ht_dgsess_status(s, 0, &st);
	assert_int_equal(st.ro.in_order, 12); /* the old buffer's count kept */
	assert_int_equal(st.ro.dup + st.ro.late, 0);
	ht_dgsess_free(s);
}

static void test_pick_min_rtt_and_failure(void **state)
{
	struct ht_dgsess *s = ht_dgsess_new(&ops, NULL);
	struct ht_status_sess st;
	ht_time now = T0;
	int on[2] = {0, 0};

	(void)state;
	assert_int_equal(ht_dgsess_pick(s, 1000, now), 0u); /* no member */
	assert_int_equal(ht_dgsess_join(s, &A, 1400, now), 0);
	assert_int_equal(ht_dgsess_join(s, &B, 1300, now), 1);
	assert_int_equal(ht_dgsess_mtu(s), 1300);
	/* 12 kB of window on the 10 ms path: it fills first, then B.  A
	 * picked packet waits in its connection's queue (what the real one
	 * reports), and the view is refreshed every few picks. */
	for (int i = 0; i < 20; i++) {
		uint32_t m = ht_dgsess_pick(s, 1000, now);

		assert_true(m == 1u || m == 2u);
		assert_true(i >= 8 || m == 1u);
		on[m == 2u]++;
		(m == 1u ? &A : &B)->pi.queued++;
	}
	assert_true(on[0] >= 8 && on[0] <= 12);
	assert_int_equal(on[0] + on[1], 20);
	A.pi.queued = B.pi.queued = 0; /* written and acknowledged */
	/* A's acknowledgements come back, B's too: A again */
	now += 5 * HT_MS;
	A.pi.rx_count = 10;
	B.pi.rx_count = 10;
	assert_int_equal(ht_dgsess_pick(s, 1000, now), 1u);
	/* A goes silent: after 4 RTTs (150 ms at least) it failed */
	for (int i = 1; i <= 40; i++) {
		now += 5 * HT_MS;
		B.pi.rx_count += 1;
		(void)ht_dgsess_pick(s, 1000, now);
	}
	assert_int_equal(ht_dgsess_pick(s, 1000, now + 5 * HT_MS), 2u);
	ht_dgsess_status(s, 0, &st);
	assert_string_equal(st.path_state, "failed");
	assert_int_equal(st.conns, 2);
	/* anything from A: it works again */
	A.pi.rx_count++;
	assert_int_equal(ht_dgsess_pick(s, 1000, now + 10 * HT_MS), 1u);
	ht_dgsess_status(s, 0, &st);
	assert_string_equal(st.path_state, "active");
	assert_true(st.picks > 0 && st.picks < st.picks_total);
	/* B silent and failed too, A as well: try both rather than drop */
	ht_dgsess_leave(s, 0, now);
	assert_int_equal(ht_dgsess_mtu(s), 1300);
	for (int i = 0; i < 100; i++)
		(void)ht_dgsess_pick(s, 1000, now + (ht_time)i * 10 * HT_MS);
	ht_dgsess_status(s, 1, &st);
	assert_string_equal(st.path_state, "failed");
	assert_int_equal(ht_dgsess_pick(s, 1000, now + 2 * HT_SECONDS), 2u);
	ht_dgsess_free(s);
}

/* A remote bottleneck: the near path's window has plenty of room (it grew
 * into the shaper's queue) but its standing queue says it is full: the
 * packets spill to the far path; once the queue is gone, back to near. */
static void test_pick_spills_on_path_queue(void **state)
{
	struct ht_dgsess *s = ht_dgsess_new(&ops, NULL);
	ht_time now = T0;

	(void)state;
	A.pi.cwnd = B.pi.cwnd = 1 << 20;
	assert_int_equal(ht_dgsess_join(s, &A, 1400, now), 0);
	assert_int_equal(ht_dgsess_join(s, &B, 1400, now), 1);
	assert_int_equal(ht_dgsess_pick(s, 1000, now), 1u);
	A.pi.path_queue = HT_DGSESS_PATH_QUEUE + HT_MS;
	now += 2 * HT_MS;
	assert_int_equal(ht_dgsess_pick(s, 1000, now), 2u);
	A.pi.path_queue = HT_DGSESS_PATH_QUEUE;
	now += 2 * HT_MS;
	assert_int_equal(ht_dgsess_pick(s, 1000, now), 1u);
	ht_dgsess_free(s);
}

static void test_mtu_zero_never_picked_and_tags(void **state)
{
	struct ht_dgsess *s = ht_dgsess_new(&ops, NULL);

	(void)state;
	assert_int_equal(ht_dgsess_join(s, &A, 0, T0), 0); /* no DATAGRAM support */
	assert_int_equal(ht_dgsess_mtu(s), 0);
	assert_int_equal(ht_dgsess_pick(s, 100, T0), 0u);
	assert_int_equal(ht_dgsess_join(s, &B, 1200, T0), 1);
	assert_int_equal(ht_dgsess_pick(s, 100, T0), 2u);
	assert_int_equal(ht_dgsess_mtu(s), 1200);
	ht_dgsess_set_mtu(s, 0, 1100);
	assert_int_equal(ht_dgsess_mtu(s), 1100);
	assert_int_equal(ht_dgsess_join(s, NULL, 1200, T0), HT_ERR_INVAL);
	for (int i = 2; i < (int)HT_DGSESS_MEMBERS; i++)
		assert_int_equal(ht_dgsess_join(s, &A, 1200, T0), i);
	assert_int_equal(ht_dgsess_join(s, &A, 1200, T0), HT_ERR_NOBUF);
	assert_int_equal(ht_dgsess_next_tag(s), 0);
	assert_int_equal(ht_dgsess_next_tag(s), 1);
	ht_dgsess_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_one_member_in_order_no_copy, setup),
		cmocka_unit_test_setup(test_two_members_reorder_copies, setup),
		cmocka_unit_test_setup(test_deadline_and_leave, setup),
		cmocka_unit_test_setup(test_rejoin_starts_afresh, setup),
		cmocka_unit_test_setup(test_pick_min_rtt_and_failure, setup),
		cmocka_unit_test_setup(test_pick_spills_on_path_queue, setup),
		cmocka_unit_test_setup(test_mtu_zero_never_picked_and_tags, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
