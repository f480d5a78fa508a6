/* hatun — the event loop: epoll for file descriptors, a binary heap of
 * timers, signalfd for signals, and deferred callbacks that run once per
 * iteration after I/O (used to batch QUIC writes: many reads, one flush).
 *
 * One loop per thread; nothing here blocks except epoll_wait.  The handles
 * (ht_io, ht_timer, ht_defer) are embedded in the objects that own them, so
 * the loop allocates nothing per connection; the owner must stop a handle
 * before freeing it.  Stopping a handle from inside any callback is safe,
 * including handles with events still pending in the current batch.
 */
#ifndef HATUN_CORE_LOOP_H
#define HATUN_CORE_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t ht_time; /* nanoseconds, CLOCK_MONOTONIC */
#define HT_MS ((ht_time)1000000)
#define HT_SECONDS ((ht_time)1000000000)
#define HT_TIME_NEVER UINT64_MAX

ht_time ht_now(void);

struct ht_loop;

struct ht_io {
	int fd;
	uint32_t events; /* EPOLLIN | EPOLLOUT | ... */
	void (*cb)(struct ht_loop *loop, struct ht_io *io, uint32_t events);
	void *arg;
	bool active;
};

struct ht_timer {
	ht_time deadline;
	size_t heap_idx; /* SIZE_MAX when not armed */
	void (*cb)(struct ht_loop *loop, struct ht_timer *t);
	void *arg;
};

struct ht_defer {
	struct ht_defer *next;
	bool queued;
	void (*cb)(struct ht_loop *loop, struct ht_defer *d);
	void *arg;
};

/* Returns 0, or -errno. */
int ht_loop_new(struct ht_loop **out);
void ht_loop_free(struct ht_loop *loop);

/* Run until ht_loop_stop().  Returns 0, or -errno if epoll fails. */
int ht_loop_run(struct ht_loop *loop);
void ht_loop_stop(struct ht_loop *loop);

/* The loop's idea of now, refreshed after each epoll_wait (cheap). */
ht_time ht_loop_now(const struct ht_loop *loop);

/* Watch fd for events; cb(loop, io, revents).  Returns 0 or -errno. */
int ht_io_start(struct ht_loop *loop, struct ht_io *io, int fd, uint32_t events,
		void (*cb)(struct ht_loop *, struct ht_io *, uint32_t), void *arg);
int ht_io_modify(struct ht_loop *loop, struct ht_io *io, uint32_t events);
/* Stop watching (does not close the fd).  Safe on a stopped handle. */
void ht_io_stop(struct ht_loop *loop, struct ht_io *io);

void ht_timer_init(struct ht_timer *t, void (*cb)(struct ht_loop *, struct ht_timer *),
		   void *arg);
/* Arm (or re-arm) for an absolute deadline.  Returns 0 or -ENOMEM. */
int ht_timer_set(struct ht_loop *loop, struct ht_timer *t, ht_time deadline);
void ht_timer_cancel(struct ht_loop *loop, struct ht_timer *t);
static inline bool ht_timer_armed(const struct ht_timer *t)
{
	return t->heap_idx != SIZE_MAX;
}

void ht_defer_init(struct ht_defer *d, void (*cb)(struct ht_loop *, struct ht_defer *),
		   void *arg);
/* Run cb once after the current batch of I/O; queuing twice runs it once. */
void ht_defer_queue(struct ht_loop *loop, struct ht_defer *d);
void ht_defer_cancel(struct ht_loop *loop, struct ht_defer *d);

/* Deliver signo through the loop (blocks it for the thread, uses signalfd).
 * Returns 0 or -errno.  At most one callback per signal. */
int ht_loop_on_signal(struct ht_loop *loop, int signo,
		      void (*cb)(struct ht_loop *loop, int signo, void *arg), void *arg);

#endif
