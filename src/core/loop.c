#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 64

struct sig_handler {
	void (*cb)(struct ht_loop *loop, int signo, void *arg);
	void *arg;
};

struct ht_loop {
	int epfd;
	bool stop;
	ht_time now;

	struct ht_timer **heap;
	size_t heap_len, heap_cap;

	struct ht_defer *defer_head, **defer_tail;

	/* The batch being dispatched, so ht_io_stop() can void stale events. */
	struct epoll_event events[MAX_EVENTS];
	int nevents, cur;

	int sigfd;
	sigset_t sigmask;
	struct ht_io sig_io;
	struct sig_handler sig[_NSIG];
};

ht_time ht_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ht_time)ts.tv_sec * HT_SECONDS + (ht_time)ts.tv_nsec;
}

int ht_loop_new(struct ht_loop **out)
{
	struct ht_loop *loop = calloc(1, sizeof(*loop));

	*out = NULL;
	if (loop == NULL)
		return -ENOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int err = -errno;

		free(loop);
		return err;
	}
	loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	loop->defer_tail = &loop->defer_head;
	loop->now = ht_now();
	*out = loop;
	return 0;
}

void ht_loop_free(struct ht_loop *loop)
{
	if (loop == NULL)
		return;
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	close(loop->epfd);
	free(loop->heap);
	free(loop);
}

void ht_loop_stop(struct ht_loop *loop)
{
	loop->stop = true;
}

ht_time ht_loop_now(const struct ht_loop *loop)
{
	return loop->now;
}

/* ---- file descriptors -------------------------------------------------- */

int ht_io_start(struct ht_loop *loop, struct ht_io *io, int fd, uint32_t events,
		void (*cb)(struct ht_loop *, struct ht_io *, uint32_t), void *arg)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};

	io->fd = fd;
	io->events = events;
	io->cb = cb;
	io->arg = arg;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		io->active = false;
		return -errno;
	}
	io->active = true;
	return 0;
}

int ht_io_modify(struct ht_loop *loop, struct ht_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};

	if (!io->active)
		return -EINVAL;
	if (io->events == events)
		return 0;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) != 0)
		return -errno;
	io->events = events;
	return 0;
}

void ht_io_stop(struct ht_loop *loop, struct ht_io *io)
{
	if (!io->active)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->active = false;
	/* The owner may free io right after this: forget its pending events. */
	for (int i = loop->cur + 1; i < loop->nevents; i++) {
		if (loop->events[i].data.ptr == io)
			loop->events[i].data.ptr = NULL;
	}
}

/* ---- timers: a binary min-heap on deadline ------------------------------ */

static void heap_place(struct ht_loop *loop, size_t i, struct ht_timer *t)
{
	loop->heap[i] = t;
	t->heap_idx = i;
}

static void heap_up(struct ht_loop *loop, size_t i)
{
	struct ht_timer *t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (loop->heap[parent]->deadline <= t->deadline)
			break;
		heap_place(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_place(loop, i, t);
}

static void heap_down(struct ht_loop *loop, size_t i)
{
	struct ht_timer *t = loop->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= loop->heap_len)
			break;
		if (c + 1 < loop->heap_len && loop->heap[c + 1]->deadline < loop->heap[c]->deadline)
			c++;
		if (t->deadline <= loop->heap[c]->deadline)
			break;
		heap_place(loop, i, loop->heap[c]);
		i = c;
	}
	heap_place(loop, i, t);
}

void ht_timer_init(struct ht_timer *t, void (*cb)(struct ht_loop *, struct ht_timer *), void *arg)
{
	t->deadline = HT_TIME_NEVER;
	t->heap_idx = SIZE_MAX;
	t->cb = cb;
	t->arg = arg;
}

void ht_timer_cancel(struct ht_loop *loop, struct ht_timer *t)
{
	size_t i = t->heap_idx;
	struct ht_timer *last;

	if (i == SIZE_MAX)
		return;
	t->heap_idx = SIZE_MAX;
	last = loop->heap[--loop->heap_len];
	if (last == t)
		return;
	heap_place(loop, i, last);
	heap_up(loop, i);
	heap_down(loop, last->heap_idx);
}

int ht_timer_set(struct ht_loop *loop, struct ht_timer *t, ht_time deadline)
{
	if (t->heap_idx != SIZE_MAX)
		ht_timer_cancel(loop, t);
	if (loop->heap_len == loop->heap_cap) {
		size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
		struct ht_timer **heap = realloc(loop->heap, cap * sizeof(*heap));

		if (heap == NULL)
			return -ENOMEM;
		loop->heap = heap;
		loop->heap_cap = cap;
	}
	t->deadline = deadline;
	heap_place(loop, loop->heap_len++, t);
	heap_up(loop, t->heap_idx);
	return 0;
}

static void run_timers(struct ht_loop *loop)
{
	while (loop->heap_len > 0 && loop->heap[0]->deadline <= loop->now && !loop->stop) {
		struct ht_timer *t = loop->heap[0];

		ht_timer_cancel(loop, t);
		t->cb(loop, t);
	}
}

/* ---- deferred callbacks -------------------------------------------------- */

void ht_defer_init(struct ht_defer *d, void (*cb)(struct ht_loop *, struct ht_defer *), void *arg)
{
	d->next = NULL;
	d->queued = false;
	d->cb = cb;
	d->arg = arg;
}

void ht_defer_queue(struct ht_loop *loop, struct ht_defer *d)
{
	if (d->queued)
		return;
	d->queued = true;
	d->next = NULL;
	*loop->defer_tail = d;
	loop->defer_tail = &d->next;
}

void ht_defer_cancel(struct ht_loop *loop, struct ht_defer *d)
{
	struct ht_defer **pp;

	if (!d->queued)
		return;
	for (pp = &loop->defer_head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			if (loop->defer_tail == &d->next)
				loop->defer_tail = pp;
			break;
		}
	}
	d->queued = false;
	d->next = NULL;
}

static void run_deferred(struct ht_loop *loop)
{
	/* Callbacks may queue more work (including themselves): keep going until
	 * the list is empty, which is what "after this batch" means. */
	while (loop->defer_head != NULL) {
		struct ht_defer *d = loop->defer_head;

		loop->defer_head = d->next;
		if (loop->defer_head == NULL)
			loop->defer_tail = &loop->defer_head;
		d->queued = false;
		d->next = NULL;
		d->cb(loop, d);
	}
}

/* ---- signals -------------------------------------------------------------- */

static void on_signalfd(struct ht_loop *loop, struct ht_io *io, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		struct sig_handler *h;

		if (si.ssi_signo >= _NSIG)
			continue;
		h = &loop->sig[si.ssi_signo];
		if (h->cb != NULL)
			h->cb(loop, (int)si.ssi_signo, h->arg);
	}
}

int ht_loop_on_signal(struct ht_loop *loop, int signo,
		      void (*cb)(struct ht_loop *loop, int signo, void *arg), void *arg)
{
	int fd, err;

	if (signo <= 0 || signo >= _NSIG)
		return -EINVAL;
	sigaddset(&loop->sigmask, signo);
	/* Blocked so that only the signalfd sees it. */
	if ((err = pthread_sigmask(SIG_BLOCK, &loop->sigmask, NULL)) != 0)
		return -err;
	fd = signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (loop->sigfd < 0) {
		loop->sigfd = fd;
		err = ht_io_start(loop, &loop->sig_io, fd, EPOLLIN, on_signalfd, NULL);
		if (err != 0)
			return err;
	}
	loop->sig[signo].cb = cb;
	loop->sig[signo].arg = arg;
	return 0;
}

/* ---- the loop ------------------------------------------------------------- */

static int next_timeout_ms(const struct ht_loop *loop)
{
	ht_time d;

	if (loop->defer_head != NULL)
		return 0;
	if (loop->heap_len == 0)
		return -1;
	d = loop->heap[0]->deadline;
	if (d <= loop->now)
		return 0;
	/* Round up: waking early only to find nothing due costs a spin. */
	d = (d - loop->now + HT_MS - 1) / HT_MS;
	return d > 60000 ? 60000 : (int)d;
}

int ht_loop_run(struct ht_loop *loop)
{
	loop->stop = false;
	while (!loop->stop) {
		int n = epoll_wait(loop->epfd, loop->events, MAX_EVENTS, next_timeout_ms(loop));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		loop->now = ht_now();
		loop->nevents = n;
		for (loop->cur = 0; loop->cur < n && !loop->stop; loop->cur++) {
			struct ht_io *io = loop->events[loop->cur].data.ptr;

			if (io != NULL && io->active)
				io->cb(loop, io, loop->events[loop->cur].events);
		}
		loop->nevents = 0;
		loop->cur = 0;
		run_timers(loop);
		run_deferred(loop);
	}
	return 0;
}
