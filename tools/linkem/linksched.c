/* linkem scheduling core; see linksched.h for the model. */
#include "linksched.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t lk_prng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int lk_sched_init(struct lk_sched *s, const struct lk_params *p, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	if (p->limit == 0 || p->limit > LK_LIMIT_MAX || !(p->loss >= 0.0) ||
	    p->loss > 1.0)
		return -EINVAL;
	s->p = *p;
	/* 2^64 * loss, computed in double: the error (< 2^-52 relative) is far
	 * below anything a loss measurement could see. */
	if (p->loss >= 1.0)
		s->loss_all = true;
	else
		s->loss_thresh = (uint64_t)ldexp(p->loss, 64);
	s->prng = seed;
	s->heap = calloc(p->limit, sizeof(*s->heap));
	if (!s->heap)
		return -ENOMEM;
	return 0;
}

void lk_sched_free(struct lk_sched *s)
{
	free(s->heap);
	s->heap = NULL;
	s->n = 0;
}

static bool ent_before(const struct lk_ent *a, const struct lk_ent *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_push(struct lk_sched *s, const struct lk_ent *e)
{
	uint32_t i = s->n++;

	while (i > 0) {
		uint32_t up = (i - 1) / 2;

		if (!ent_before(e, &s->heap[up]))
			break;
		s->heap[i] = s->heap[up];
		i = up;
	}
	s->heap[i] = *e;
}

static void heap_pop(struct lk_sched *s)
{
	struct lk_ent last = s->heap[--s->n];
	uint32_t i = 0;

	for (;;) {
		uint32_t l = 2 * i + 1, m = i;
		const struct lk_ent *best = &last;

		if (l < s->n && ent_before(&s->heap[l], best)) {
			m = l;
			best = &s->heap[l];
		}
		if (l + 1 < s->n && ent_before(&s->heap[l + 1], best))
			m = l + 1;
		if (m == i)
			break;
		s->heap[i] = s->heap[m];
		i = m;
	}
	if (s->n > 0)
		s->heap[i] = last;
}

/* Serialisation time of len bytes: len * 8 / rate, in ns, rounded up so that a
 * long run never exceeds the configured rate. */
static uint64_t ser_ns(uint64_t rate_bps, uint32_t len)
{
	uint64_t bits = (uint64_t)len * 8;

	if (rate_bps == 0)
		return 0;
	return (bits * LK_NS_PER_SEC + rate_bps - 1) / rate_bps;
}

enum lk_verdict lk_sched_offer(struct lk_sched *s, uint32_t wire_len,
			       uint64_t now, uint32_t cookie)
{
	struct lk_ent e;
	uint64_t start, when;

	s->c.rx++;
	if (s->down) {
		s->c.drop_down++;
		return LK_DROP_DOWN;
	}
	/* Draw for every frame, even at 0 %, so that one seed gives the same
	 * jitter sequence whatever the loss setting. */
	if (s->loss_all || lk_prng_next(&s->prng) < s->loss_thresh) {
		s->c.drop_loss++;
		return LK_DROP_LOSS;
	}
	if (s->n >= s->p.limit) {
		s->c.drop_queue++;
		return LK_DROP_QUEUE;
	}
	start = s->wire_free > now ? s->wire_free : now;
	s->wire_free = start + ser_ns(s->p.rate_bps, wire_len);
	when = s->wire_free + s->p.delay_ns;
	if (s->p.jitter_ns)
		when += lk_prng_next(&s->prng) % (s->p.jitter_ns + 1);
	if (!s->p.reorder) {
		if (when < s->last_when)
			when = s->last_when;
		s->last_when = when;
	}
	e.when = when;
	e.seq = s->seq++;
	e.cookie = cookie;
	heap_push(s, &e);
	return LK_QUEUED;
}

bool lk_sched_next(const struct lk_sched *s, uint64_t *when)
{
	if (s->n == 0)
		return false;
	*when = s->heap[0].when;
	return true;
}

bool lk_sched_pop(struct lk_sched *s, uint64_t now, uint32_t *cookie,
		  uint64_t *when)
{
	if (s->n == 0 || s->heap[0].when > now)
		return false;
	*cookie = s->heap[0].cookie;
	if (when)
		*when = s->heap[0].when;
	heap_pop(s);
	return true;
}

bool lk_sched_flush(struct lk_sched *s, uint32_t *cookie)
{
	if (s->n == 0)
		return false;
	*cookie = s->heap[0].cookie;
	heap_pop(s);
	s->c.drop_down++;
	return true;
}

void lk_sched_set_down(struct lk_sched *s, bool down)
{
	s->down = down;
	if (!down) {
		s->wire_free = 0;
		s->last_when = 0;
	}
}
