/* linkem scheduling core: one direction of an emulated link.
 *
 * Sans-I/O and clock-free: the caller offers a frame (its wire length and the
 * current CLOCK_MONOTONIC time in ns) and gets a verdict; frames it accepts are
 * identified by an opaque 32-bit cookie (the I/O layer's slab slot) and come
 * back from lk_sched_pop() once their departure time has passed.
 *
 * Model, per frame, in this order (the same order as a real link):
 *   1. link down            -> LK_DROP_DOWN
 *   2. Bernoulli loss       -> LK_DROP_LOSS   (loss before the queue, so lost
 *                                              frames do not use the rate)
 *   3. queue full (limit)   -> LK_DROP_QUEUE  (tail drop; the limit counts
 *                                              every frame held, serialising
 *                                              or in the delay line, as netem)
 *   4. serialisation: starts when the previous frame has left the "wire",
 *      lasts wire_len * 8 / rate
 *   5. propagation: + delay + uniform [0, jitter]
 *   6. no reordering unless reorder is set: departure = max(previous, 5.)
 */
#ifndef LINKEM_LINKSCHED_H
#define LINKEM_LINKSCHED_H

#include <stdbool.h>
#include <stdint.h>

#define LK_NS_PER_SEC 1000000000ULL
#define LK_LIMIT_MAX 1000000u

struct lk_params {
	uint64_t delay_ns;
	uint64_t jitter_ns;   /* extra delay drawn uniformly from [0, jitter_ns] */
	double loss;          /* probability in [0, 1] */
	uint64_t rate_bps;    /* bits per second, 0 = unlimited */
	uint32_t limit;       /* frames held at most, 1..LK_LIMIT_MAX */
	bool reorder;         /* let jitter reorder frames */
};

enum lk_verdict {
	LK_QUEUED = 0,
	LK_DROP_DOWN,
	LK_DROP_LOSS,
	LK_DROP_QUEUE,
};

struct lk_counters {
	uint64_t rx;         /* frames offered */
	uint64_t tx;         /* frames sent (counted by the I/O layer) */
	uint64_t drop_loss;
	uint64_t drop_queue;
	uint64_t drop_down;  /* offered while down, or flushed by going down */
};

struct lk_ent {
	uint64_t when;  /* departure time, ns */
	uint64_t seq;   /* tie break: equal times leave in arrival order */
	uint32_t cookie;
};

struct lk_sched {
	struct lk_params p;
	uint64_t loss_thresh;  /* lost iff prng < loss_thresh (unless loss_all) */
	bool loss_all;
	uint64_t prng;         /* splitmix64 state */
	uint64_t wire_free;    /* when the serialiser is next idle, ns */
	uint64_t last_when;    /* departure of the latest frame (no-reorder) */
	uint64_t seq;
	bool down;
	struct lk_ent *heap;   /* min-heap on (when, seq), p.limit entries */
	uint32_t n;
	struct lk_counters c;
};

/* 0 or -EINVAL (bad parameters) / -ENOMEM. */
int lk_sched_init(struct lk_sched *s, const struct lk_params *p, uint64_t seed);
void lk_sched_free(struct lk_sched *s);

/* Offers one frame of wire_len bytes arriving at now. On LK_QUEUED the cookie
 * is held until lk_sched_pop() or lk_sched_flush() returns it. */
enum lk_verdict lk_sched_offer(struct lk_sched *s, uint32_t wire_len,
			       uint64_t now, uint32_t cookie);

/* Earliest departure time, or false if nothing is queued. */
bool lk_sched_next(const struct lk_sched *s, uint64_t *when);

/* Pops the next frame due at or before now. */
bool lk_sched_pop(struct lk_sched *s, uint64_t now, uint32_t *cookie,
		  uint64_t *when);

/* Pops any queued frame regardless of time (for flushing); counts it as
 * dropped because the link went down. */
bool lk_sched_flush(struct lk_sched *s, uint32_t *cookie);

/* Link down: offers are dropped; the caller flushes the queue. Link up:
 * serialiser and ordering state restart from idle. */
void lk_sched_set_down(struct lk_sched *s, bool down);

/* Frames queued now. */
static inline uint32_t lk_sched_len(const struct lk_sched *s)
{
	return s->n;
}

/* Next value of a splitmix64 stream (exposed for tests). */
uint64_t lk_prng_next(uint64_t *state);

#endif
