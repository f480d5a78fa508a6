/* Unit tests for src/convert/cvrelay.c on AF_UNIX stream socket pairs
 * (splice works on them as on TCP): both relay modes (splice, copy) move
 * preloaded bytes and a stream in order, bound what they hold (a reader
 * that does not read stops the relay reading), relay EOF as a half-close,
 * and report the end when both directions are done. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "convert/cvrelay.h"

#define STREAM (1024 * 1024)

struct rig {
	int app, peer;   /* the outer ends: app <-> fd0, fd1 <-> peer */
	int fd0, fd1;
	struct cv_relay r;
};

static void rig_open(struct rig *g, unsigned copy_mask)
{
	int a[2], b[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b), 0);
	g->app = a[0];
	g->fd0 = a[1];
	g->fd1 = b[0];
	g->peer = b[1];
	assert_int_equal(cv_relay_init(&g->r, g->fd0, g->fd1, copy_mask), 0);
}

static void rig_close(struct rig *g)
{
	cv_relay_close(&g->r);
	close(g->app);
	close(g->fd0);
	close(g->fd1);
	close(g->peer);
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

/* Preload + 1 MiB app -> peer, then EOF; peer -> app a short answer and
 * EOF; every byte checked at the far end. */
static void stream_both_ways(unsigned copy_mask)
{
	static uint8_t buf[65536];
	static const char pre[] = "early bytes";
	struct rig g;
	size_t sent = 0, got = 0, plen = sizeof(pre) - 1;
	bool app_eof = false, peer_eof = false;
	int rc = 1, failed;

	rig_open(&g, copy_mask);
	assert_int_equal(g.r.d[0].copy, (copy_mask & 1) != 0);
	assert_int_equal(g.r.d[1].copy, (copy_mask & 2) != 0);
	assert_int_equal(cv_relay_preload(&g.r, 0, (const uint8_t *)pre, plen), 0);
	for (int spin = 0; spin < 100000 && rc == 1; spin++) {
		if (sent < STREAM) {
			size_t n = STREAM - sent < sizeof(buf) ? STREAM - sent : sizeof(buf);

			for (size_t i = 0; i < n; i++)
				buf[i] = pattern(sent + i);
			ssize_t w = write(g.app, buf, n);

			if (w > 0)
				sent += (size_t)w;
			else
				assert_int_equal(errno, EAGAIN);
			if (sent == STREAM) {
				assert_int_equal(shutdown(g.app, SHUT_WR), 0);
				assert_int_equal(write(g.peer, "ok", 2), 2);
				assert_int_equal(shutdown(g.peer, SHUT_WR), 0);
			}
		}
		rc = cv_relay_pump(&g.r, &failed);
		assert_true(rc >= 0);
		assert_true(g.r.d[0].held <= g.r.cap && g.r.d[1].held <= g.r.cap);
		for (;;) {
			ssize_t n = read(g.peer, buf, sizeof(buf));

			if (n == 0)
				peer_eof = true;
			if (n <= 0)
				break;
			for (ssize_t i = 0; i < n; i++, got++) {
				uint8_t want = got < plen ? (uint8_t)pre[got] : pattern(got - plen);

				if (buf[i] != want)
					fail_msg("byte %zu: %u, not %u", got, buf[i], want);
			}
		}
		ssize_t n = read(g.app, buf, sizeof(buf));

		if (n == 0)
			app_eof = true;
		else if (n > 0)
			assert_memory_equal(buf, "ok", 2);
	}
	assert_int_equal(rc, 0);
	while (!peer_eof || !app_eof) {
		ssize_t n = read(g.peer, buf, sizeof(buf));

		if (n == 0)
			peer_eof = true;
		got += n > 0 ? (size_t)n : 0;
		if (read(g.app, buf, sizeof(buf)) == 0)
			app_eof = true;
	}
	assert_int_equal(got, plen + STREAM);
	assert_int_equal(g.r.d[0].bytes, plen + STREAM);
	assert_int_equal(g.r.d[1].bytes, 2);
	rig_close(&g);
}

static void splice_stream(void **state)
{
	(void)state;
	stream_both_ways(0);
}

static void copy_stream(void **state)
{
	(void)state;
	stream_both_ways(3);
}

static void mixed_stream(void **state)
{
	(void)state;
	stream_both_ways(1);
	stream_both_ways(2);
}

/* A peer that does not read: the relay fills its buffer, stops asking for
 * EPOLLIN on the source, and keeps what it holds within cap. */
static void backpressure(unsigned copy_mask)
{
	static uint8_t buf[65536];
	struct rig g;
	int failed;

	memset(buf, 0xab, sizeof(buf));
	rig_open(&g, copy_mask);
	for (int i = 0; i < 200; i++) {
		(void)write(g.app, buf, sizeof(buf));
		assert_int_equal(cv_relay_pump(&g.r, &failed), 1);
	}
	assert_int_equal(g.r.d[0].held, g.r.cap);
	assert_false(g.r.want[0] & EPOLLIN);
	assert_true(g.r.want[1] & EPOLLOUT);
	rig_close(&g);
}

static void splice_backpressure(void **state)
{
	(void)state;
	backpressure(0);
}

static void copy_backpressure(void **state)
{
	(void)state;
	backpressure(3);
}

static void preload_bound(void **state)
{
	struct rig g;
	uint8_t *big;

	(void)state;
	for (unsigned mask = 0; mask <= 3; mask += 3) {
		rig_open(&g, mask);
		big = calloc(1, g.r.cap + 1);
		assert_non_null(big);
		assert_int_equal(cv_relay_preload(&g.r, 0, big, g.r.cap + 1), -ENOBUFS);
		assert_int_equal(cv_relay_preload(&g.r, 0, big, g.r.cap), 0);
		assert_int_equal(cv_relay_preload(&g.r, 0, big, 1), -ENOBUFS);
		free(big);
		rig_close(&g);
	}
}

static void reset_reported(void **state)
{
	struct rig g;
	int failed = -1;

	(void)state;
	rig_open(&g, 3);
	close(g.peer);
	g.peer = open("/dev/null", O_RDONLY);
	assert_int_equal(write(g.app, "x", 1), 1);
	assert_true(cv_relay_pump(&g.r, &failed) < 0);
	assert_int_equal(failed, 1);
	rig_close(&g);
}

static void copy_switch(void **state)
{
	(void)state;
	unsetenv("HATUN_CONVERT_COPY");
	/* Into an MPTCP socket: copy.  Direction 0 writes to fd1. */
	assert_int_equal(cv_relay_copy_mask(false, false), 0);
	assert_int_equal(cv_relay_copy_mask(false, true), 1);
	assert_int_equal(cv_relay_copy_mask(true, false), 2);
	assert_int_equal(cv_relay_copy_mask(true, true), 3);
	setenv("HATUN_CONVERT_COPY", "1", 1);
	assert_int_equal(cv_relay_copy_mask(false, false), 3);
	setenv("HATUN_CONVERT_COPY", "0", 1);
	assert_int_equal(cv_relay_copy_mask(true, true), 0);
	unsetenv("HATUN_CONVERT_COPY");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(splice_stream),
		cmocka_unit_test(copy_stream),
		cmocka_unit_test(mixed_stream),
		cmocka_unit_test(splice_backpressure),
		cmocka_unit_test(copy_backpressure),
		cmocka_unit_test(preload_bound),
		cmocka_unit_test(reset_reported),
		cmocka_unit_test(copy_switch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
