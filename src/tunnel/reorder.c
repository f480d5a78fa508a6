/* hatun — receive-side reorder buffer of a tunneling session (reorder.h). */
#include "tunnel/reorder.h"

#include <stdlib.h>
#include <string.h>

#define TAG_HALF 32768u

struct slot {
	void *pkt;
	ht_time arrived;
	uint16_t tag;
	bool used;
	bool passed; /* delivered at once (HT_REORDER_UNORDERED): skip it */
};

struct path_state {
	uint16_t max_tag;   /* the latest tag this path delivered */
	uint16_t max_large; /* the latest tag of a packet not HT_REORDER_SMALL */
	bool active;        /* up: it counts for the watermark while live */
	bool fresh;         /* up, but nothing delivered yet: holds every gap */
	bool large;         /* max_large is set */
	ht_time last;       /* when */
	ht_time large_last; /* when max_large was */
	ht_time delay;      /* one-way delay estimate (0: unknown) */
};

struct ht_reorder {
	struct ht_reorder_config cfg;
	unsigned mask;
	bool started;
	uint16_t first; /* the first tag seen: older ones are not "late" */
	uint16_t next;  /* the tag to release next */
	unsigned held;

	/* One packet further ahead than the window: waits until pop() has
	 * moved the window up to it (drain_to is the new first tag). */
	bool has_overflow;
	uint16_t overflow_tag, drain_to;
	ht_time overflow_arrived;
	void *overflow;

	ht_time wait;     /* current hold time for a gap */
	ht_time fill_max; /* decaying maximum of the waits gaps needed */
	ht_time decay_at;
	bool measured;

	struct path_state path[HT_REORDER_PATHS];
	struct ht_reorder_stats st;
	uint64_t sent_map[65536u / 64u]; /* tags released (past half only) */
	/* Tags the deadline gave up (past half only): a late packet makes the
	 * wait grow only if it is one of these.  A gap the watermark gave up
	 * and whose packet came after all says a path delivered out of its
	 * own order (a sparse flow's packet served before the bulk queued on
	 * the same connection), not that the wait was short: growing the wait
	 * for that drove it to wait_max within seconds of a bulk upload with
	 * a ping beside it, and every gap the watermark could not settle then
	 * stalled the whole session for 200 ms. */
	uint64_t timed_map[65536u / 64u];
	ht_time timed_at;   /* when the deadline last gave gaps up */
	ht_time timed_hold; /* how long the packet behind them had waited then */
	struct slot slot[];
};

/* a comes after b in serial arithmetic. */
static bool tag_after(uint16_t a, uint16_t b)
{
	uint16_t d = (uint16_t)(a - b);
	return d != 0 && d < TAG_HALF;
}

static bool bit_get(const uint64_t *map, uint16_t t)
{
	return (map[t >> 6] >> (t & 63u)) & 1u;
}

static void bit_set(uint64_t *map, uint16_t t)
{
	map[t >> 6] |= (uint64_t)1 << (t & 63u);
}

static void bit_clear(uint64_t *map, uint16_t t)
{
	map[t >> 6] &= ~((uint64_t)1 << (t & 63u));
}

static bool map_get(const struct ht_reorder *r, uint16_t t)
{
	return bit_get(r->sent_map, t);
}

static void map_set(struct ht_reorder *r, uint16_t t)
{
	bit_set(r->sent_map, t);
}

/* Move the window one tag on.  The tag that thereby enters the "future"
 * half had its bits from the previous lap: clear them, so the maps only
 * ever describe the past half. */
static void advance(struct ht_reorder *r)
{
	r->next++;
	bit_clear(r->sent_map, (uint16_t)(r->next + TAG_HALF - 1u));
	bit_clear(r->timed_map, (uint16_t)(r->next + TAG_HALF - 1u));
}

/* The spread of the active paths' one-way delays, with a quarter's
 * margin: a gap behind a packet of the nearest path is not given up
 * while its own packet can simply still be on the slower path. */
static ht_time delay_floor(const struct ht_reorder *r)
{
	ht_time lo = HT_TIME_NEVER, hi = 0;

	for (unsigned i = 0; i < HT_REORDER_PATHS; i++) {
		const struct path_state *p = &r->path[i];

		if (!p->active || p->delay == 0)
			continue;
		if (p->delay < lo)
			lo = p->delay;
		if (p->delay > hi)
			hi = p->delay;
	}
	return hi > lo ? (hi - lo) + (hi - lo) / 4 : 0;
}

static void set_wait(struct ht_reorder *r)
{
	ht_time w = r->fill_max + r->fill_max / 4 + HT_MS;
	ht_time floor = delay_floor(r);

	if (!r->measured)
		w = r->cfg.wait_init;
	if (w < floor)
		w = floor;
	if (w < r->cfg.wait_min)
		w = r->cfg.wait_min;
	if (w > r->cfg.wait_max)
		w = r->cfg.wait_max;
	r->wait = w;
}

/* The maximum forgets a quarter per second, so a path that got faster
 * stops costing its old delay within a few seconds. */
static void decay(struct ht_reorder *r, ht_time now)
{
	int n = 0;

	while (now >= r->decay_at + HT_SECONDS && n++ < 16) {
		r->fill_max -= r->fill_max / 4;
		r->decay_at += HT_SECONDS;
	}
	if (now >= r->decay_at + HT_SECONDS)
		r->decay_at = now;
	set_wait(r);
}

static void note_fill(struct ht_reorder *r, ht_time needed, ht_time now)
{
	decay(r, now);
	if (!r->measured || needed > r->fill_max)
		r->fill_max = needed;
	r->measured = true;
	set_wait(r);
}

/* A packet came after the deadline gave its gap up: the wait was too
 * short by how late it came.  The gap would have needed the hold the
 * deadline gave it plus that lateness (measured from the latest give-up,
 * so a packet of an older one counts less, never more): the wait takes
 * that as a fill delay.  It used to grow by half for every late packet,
 * which compounded over the packets of one slow burst (each of them
 * late) and reached wait_max, 200 ms, within one stall of the slow path. */
static void note_late(struct ht_reorder *r, ht_time now)
{
	ht_time needed = r->timed_hold + (now - r->timed_at);

	decay(r, now);
	if (!r->measured || needed > r->fill_max)
		r->fill_max = needed;
	r->measured = true;
	set_wait(r);
}

/* Offset (1 .. slots-1) of the first held packet after next, or 0. */
static unsigned first_held(const struct ht_reorder *r)
{
	unsigned off;

	if (r->held == 0)
		return 0;
	for (off = 1; off <= r->mask; off++)
		if (r->slot[(uint16_t)(r->next + off) & r->mask].used)
			return off;
	return 0;
}

/* Every live path has delivered a tag after t, so t is not in flight on
 * any of them.  A path that carries large packets testifies by those
 * only: its small ones may have been sent ahead of its queue. */
static bool gap_lost(const struct ht_reorder *r, uint16_t t, ht_time now)
{
	unsigned i, live = 0;

	for (i = 0; i < HT_REORDER_PATHS; i++) {
		const struct path_state *p = &r->path[i];
		bool by_large;

		if (!p->active || now > p->last + r->cfg.path_live)
			continue;
		live++;
		by_large = p->large && now <= p->large_last + r->cfg.path_live;
		if (p->fresh || !tag_after(by_large ? p->max_large : p->max_tag, t))
			return false;
	}
	return live > 0;
}

static void path_seen(struct path_state *p, uint16_t tag, unsigned flags, ht_time now)
{
	if (!p->active || p->fresh) {
		p->max_tag = tag;
		p->large = false;
	} else if (tag_after(tag, p->max_tag)) {
		p->max_tag = tag;
	}
	if (!(flags & HT_REORDER_SMALL) && (!p->large || tag_after(tag, p->max_large))) {
		p->max_large = tag;
		p->large = true;
	}
	if (!(flags & HT_REORDER_SMALL))
		p->large_last = now;
	p->active = true;
	p->fresh = false;
	p->last = now;
}

void ht_reorder_config_default(struct ht_reorder_config *cfg)
{
	cfg->slots = 1024;
	cfg->wait_init = 20 * HT_MS;
	cfg->wait_min = 2 * HT_MS;
	cfg->wait_max = 200 * HT_MS;
	cfg->path_live = 250 * HT_MS;
}

struct ht_reorder *ht_reorder_new(const struct ht_reorder_config *cfg)
{
	struct ht_reorder *r;

	if (cfg == NULL || cfg->slots < 16 || cfg->slots > HT_REORDER_SLOTS_MAX ||
	    (cfg->slots & (cfg->slots - 1)) != 0 || cfg->wait_min > cfg->wait_max ||
	    cfg->wait_max == 0)
		return NULL;
	r = calloc(1, sizeof(*r) + (size_t)cfg->slots * sizeof(struct slot));
	if (r == NULL)
		return NULL;
	r->cfg = *cfg;
	r->mask = cfg->slots - 1;
	set_wait(r);
	return r;
}

void ht_reorder_free(struct ht_reorder *r)
{
	free(r);
}

static void store(struct ht_reorder *r, uint16_t tag, ht_time arrived, void *pkt)
{
	struct slot *s = &r->slot[tag & r->mask];

	s->pkt = pkt;
	s->arrived = arrived;
	s->tag = tag;
	s->used = true;
	r->held++;
}

enum ht_reorder_verdict ht_reorder_push(struct ht_reorder *r, uint16_t tag, unsigned path,
					ht_time now, void *pkt)
{
	return ht_reorder_push_flags(r, tag, path, 0, now, pkt);
}

enum ht_reorder_verdict ht_reorder_push_flags(struct ht_reorder *r, uint16_t tag, unsigned path,
					      unsigned flags, ht_time now, void *pkt)
{
	struct slot *s;
	uint16_t d;

	if (path < HT_REORDER_PATHS)
		path_seen(&r->path[path], tag, flags, now);
	if (!r->started) {
		r->started = true;
		r->first = tag;
		r->next = tag;
		r->decay_at = now;
	}
	d = (uint16_t)(tag - r->next);
	s = &r->slot[tag & r->mask];
	if (d >= TAG_HALF) {
		if (map_get(r, tag)) {
			r->st.dup++;
			return HT_REORDER_DROP;
		}
		map_set(r, tag);
		r->st.late++;
		if (tag_after(tag, r->first) && bit_get(r->timed_map, tag)) {
			bit_clear(r->timed_map, tag);
			note_late(r, now); /* the deadline gave its gap up too early */
		}
		return HT_REORDER_DELIVER;
	}
	if (d <= r->mask && s->used) {
		/* Two tags in the window never share a slot: same tag. */
		r->st.dup++;
		return HT_REORDER_DROP;
	}
	if (r->has_overflow && tag == r->overflow_tag) {
		r->st.dup++;
		return HT_REORDER_DROP;
	}
	if (d == 0) {
		unsigned off = first_held(r);

		if (off != 0)
			note_fill(r, now - r->slot[(uint16_t)(r->next + off) & r->mask].arrived, now);
		map_set(r, tag);
		advance(r);
		r->st.in_order++;
		return HT_REORDER_DELIVER;
	}
	if (d <= r->mask) {
		store(r, tag, now, pkt);
		if (!(flags & HT_REORDER_UNORDERED))
			return HT_REORDER_HELD;
		/* Its slot stays as a marker: the tag is released. */
		s->pkt = NULL;
		s->passed = true;
		r->st.passed++;
		return HT_REORDER_DELIVER;
	}
	if (flags & HT_REORDER_UNORDERED) {
		/* Beyond the window: no slot to remember it by.  Should its
		 * tag's turn come, it is a gap like a lost packet's. */
		r->st.passed++;
		return HT_REORDER_DELIVER;
	}
	if (r->has_overflow) {
		r->st.dup++; /* the caller did not drain: refuse rather than grow */
		return HT_REORDER_DROP;
	}
	r->has_overflow = true;
	r->overflow = pkt;
	r->overflow_tag = tag;
	r->overflow_arrived = now;
	r->drain_to = (uint16_t)(tag - r->mask);
	return HT_REORDER_HELD;
}

static void *take_next(struct ht_reorder *r)
{
	struct slot *s = &r->slot[r->next & r->mask];
	void *pkt = s->pkt;

	s->used = false;
	s->passed = false;
	s->pkt = NULL;
	r->held--;
	map_set(r, r->next);
	advance(r);
	return pkt;
}

void *ht_reorder_pop(struct ht_reorder *r, ht_time now)
{
	for (;;) {
		unsigned off;

		if (r->held == 0 && !r->has_overflow)
			return NULL;
		if (r->slot[r->next & r->mask].used) {
			if (r->slot[r->next & r->mask].passed) {
				(void)take_next(r);
				continue;
			}
			r->st.reordered++;
			return take_next(r);
		}
		if (r->has_overflow) {
			if (tag_after(r->drain_to, r->next)) {
				r->st.forced++;
				advance(r);
				continue;
			}
			r->has_overflow = false;
			store(r, r->overflow_tag, r->overflow_arrived, r->overflow);
			r->overflow = NULL;
			continue;
		}
		off = first_held(r);
		if (now >= r->slot[(uint16_t)(r->next + off) & r->mask].arrived + r->wait) {
			r->timed_at = now;
			r->timed_hold = now - r->slot[(uint16_t)(r->next + off) & r->mask].arrived;
			r->st.timed_out += off;
			while (off-- > 0) {
				bit_set(r->timed_map, r->next);
				advance(r);
			}
			continue;
		}
		while (off > 0 && gap_lost(r, r->next, now)) {
			r->st.lost++;
			advance(r);
			off--;
		}
		if (off > 0)
			return NULL;
	}
}

ht_time ht_reorder_deadline(const struct ht_reorder *r)
{
	unsigned off;

	if (r->has_overflow)
		return 0;
	off = first_held(r);
	if (off == 0)
		return r->held > 0 ? 0 : HT_TIME_NEVER;
	return r->slot[(uint16_t)(r->next + off) & r->mask].arrived + r->wait;
}

void *ht_reorder_flush(struct ht_reorder *r)
{
	while (r->held > 0) {
		while (!r->slot[r->next & r->mask].used)
			advance(r);
		if (!r->slot[r->next & r->mask].passed)
			return take_next(r);
		(void)take_next(r); /* a marker: its packet went already */
	}
	if (r->has_overflow) {
		void *pkt = r->overflow;

		r->has_overflow = false;
		r->overflow = NULL;
		while (r->next != r->overflow_tag)
			advance(r);
		map_set(r, r->next);
		advance(r);
		return pkt;
	}
	return NULL;
}

void ht_reorder_path_up(struct ht_reorder *r, unsigned path, ht_time now)
{
	if (path < HT_REORDER_PATHS) {
		r->path[path].active = true;
		r->path[path].fresh = true;
		r->path[path].last = now;
	}
}

void ht_reorder_path_down(struct ht_reorder *r, unsigned path)
{
	if (path < HT_REORDER_PATHS) {
		r->path[path].active = false;
		r->path[path].fresh = false;
		r->path[path].large = false;
		r->path[path].delay = 0;
		set_wait(r);
	}
}

void ht_reorder_set_path_delay(struct ht_reorder *r, unsigned path, ht_time one_way)
{
	if (path < HT_REORDER_PATHS && r->path[path].delay != one_way) {
		r->path[path].delay = one_way;
		set_wait(r);
	}
}

unsigned ht_reorder_held(const struct ht_reorder *r)
{
	return r->held + (r->has_overflow ? 1u : 0u);
}

ht_time ht_reorder_wait(const struct ht_reorder *r)
{
	return r->wait;
}

const struct ht_reorder_stats *ht_reorder_stats(const struct ht_reorder *r)
{
	return &r->st;
}
