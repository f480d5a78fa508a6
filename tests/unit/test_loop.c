/* Unit tests for the event loop (src/core/loop.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/loop.h"

struct rec {
	int order[16];
	int n;
	struct ht_timer t[8];
};

static void on_timer(struct ht_loop *loop, struct ht_timer *t)
{
	struct rec *r = t->arg;

	r->order[r->n++] = (int)(t - r->t);
	if (r->n == 4)
		ht_loop_stop(loop);
}

static void test_timers_fire_in_deadline_order(void **state)
{
	struct ht_loop *loop;
	struct rec r = {0};
	ht_time now;
	/* Armed out of order; #5 is cancelled; #2 re-armed later than first set. */
	static const int ms[] = {30, 10, 1, 20, 40, 5};

	(void)state;
	assert_int_equal(ht_loop_new(&loop), 0);
	now = ht_now();
	for (int i = 0; i < 6; i++) {
		ht_timer_init(&r.t[i], on_timer, &r);
		assert_int_equal(ht_timer_set(loop, &r.t[i], now + (ht_time)ms[i] * HT_MS), 0);
	}
	ht_timer_cancel(loop, &r.t[5]);
	assert_false(ht_timer_armed(&r.t[5]));
	assert_int_equal(ht_timer_set(loop, &r.t[2], now + 25 * HT_MS), 0);
	assert_int_equal(ht_loop_run(loop), 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.order[0], 1); /* 10 ms */
	assert_int_equal(r.order[1], 3); /* 20 ms */
	assert_int_equal(r.order[2], 2); /* 25 ms */
	assert_int_equal(r.order[3], 0); /* 30 ms */
	assert_true(ht_now() - now >= 30 * HT_MS);
	assert_true(ht_timer_armed(&r.t[4]));
	ht_loop_free(loop);
}

struct pipe_ctx {
	struct ht_io a, b;
	int fds[2];
	int reads;
	struct ht_defer d;
	int deferred;
};

static void on_defer(struct ht_loop *loop, struct ht_defer *d)
{
	struct pipe_ctx *c = d->arg;

	c->deferred++;
	ht_loop_stop(loop);
}

static void on_readable(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct pipe_ctx *c = io->arg;
	char buf[16];

	assert_true(ev & EPOLLIN);
	assert_true(read(io->fd, buf, sizeof(buf)) > 0);
	c->reads++;
	/* Queued twice: runs once, after the batch. */
	ht_defer_queue(loop, &c->d);
	ht_defer_queue(loop, &c->d);
}

static void test_io_and_defer(void **state)
{
	struct ht_loop *loop;
	struct pipe_ctx c = {0};

	(void)state;
	assert_int_equal(ht_loop_new(&loop), 0);
	assert_int_equal(pipe(c.fds), 0);
	ht_defer_init(&c.d, on_defer, &c);
	assert_int_equal(ht_io_start(loop, &c.a, c.fds[0], EPOLLIN, on_readable, &c), 0);
	assert_int_equal(write(c.fds[1], "x", 1), 1);
	assert_int_equal(ht_loop_run(loop), 0);
	assert_int_equal(c.reads, 1);
	assert_int_equal(c.deferred, 1);
	ht_io_stop(loop, &c.a);
	ht_io_stop(loop, &c.a); /* idempotent */
	close(c.fds[0]);
	close(c.fds[1]);
	ht_loop_free(loop);
}

/* Two readable fds in one batch; the first callback stops the second handle:
 * its pending event must not be dispatched. */
struct stop_ctx {
	struct ht_io io[2];
	int fds[2][2];
	int calls;
	struct ht_timer t;
};

static void on_stop_other(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct stop_ctx *c = io->arg;

	(void)ev;
	c->calls++;
	ht_io_stop(loop, &c->io[io == &c->io[0] ? 1 : 0]);
	ht_io_stop(loop, io);
}

static void on_stop_timer(struct ht_loop *loop, struct ht_timer *t)
{
	(void)t;
	ht_loop_stop(loop);
}

static void test_stop_voids_pending_events(void **state)
{
	struct ht_loop *loop;
	struct stop_ctx c = {0};

	(void)state;
	assert_int_equal(ht_loop_new(&loop), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pipe(c.fds[i]), 0);
		assert_int_equal(write(c.fds[i][1], "x", 1), 1);
		assert_int_equal(ht_io_start(loop, &c.io[i], c.fds[i][0], EPOLLIN, on_stop_other, &c), 0);
	}
	ht_timer_init(&c.t, on_stop_timer, &c);
	assert_int_equal(ht_timer_set(loop, &c.t, ht_now() + 20 * HT_MS), 0);
	assert_int_equal(ht_loop_run(loop), 0);
	assert_int_equal(c.calls, 1);
	for (int i = 0; i < 2; i++) {
		close(c.fds[i][0]);
		close(c.fds[i][1]);
	}
	ht_loop_free(loop);
}

static void on_sig(struct ht_loop *loop, int signo, void *arg)
{
	*(int *)arg = signo;
	ht_loop_stop(loop);
}

static void test_signal(void **state)
{
	struct ht_loop *loop;
	int got = 0;

	(void)state;
	assert_int_equal(ht_loop_new(&loop), 0);
	assert_int_equal(ht_loop_on_signal(loop, SIGUSR1, on_sig, &got), 0);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(ht_loop_run(loop), 0);
	assert_int_equal(got, SIGUSR1);
	ht_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_deadline_order),
		cmocka_unit_test(test_io_and_defer),
		cmocka_unit_test(test_stop_voids_pending_events),
		cmocka_unit_test(test_signal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
