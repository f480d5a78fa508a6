/* hatun — the datagram side of one tunneling session (dgsess.h). */
#include "tunnel/dgsess.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "proto/err.h"
#include "tunnel/liveness.h"
#include "tunnel/reorder.h"
#include "tunnel/sched.h"

_Static_assert(HT_DGSESS_MEMBERS <= HT_SCHED_PATHS, "a member is a scheduler path");
_Static_assert(HT_DGSESS_MEMBERS <= HT_REORDER_PATHS, "a member is a reorder path");

/* One upstream packet in the reorder buffer.  pkt points at the bytes of
 * the datagram being received (only during ht_dgsess_receive) or at buf,
 * once it had to wait (stored). */
struct held {
	const uint8_t *pkt;
	size_t len;
	uint8_t *buf;
	size_t cap;
	int slot;    /* the member it arrived on; -1 once that one left */
	bool in_use; /* in the reorder buffer */
	bool stored;
	struct held *next; /* free list */
};

struct member {
	void *user; /* NULL: a free slot */
	unsigned mtu;
	struct ht_liveness live;
	enum ht_path_state shown; /* the state last logged */
	uint64_t rx_seen;         /* rx_count at the last refresh */
	bool sent;                /* a datagram went on it since then */
};

struct ht_dgsess {
	const struct ht_dgsess_ops *ops;
	void *arg;
	uint64_t id; /* for log lines */
	struct member m[HT_DGSESS_MEMBERS];
	unsigned nmembers;
	uint16_t tag;
	struct ht_sched sched;
	ht_time refreshed; /* 0: refresh at the next pick */
	unsigned picks_since; /* packets placed since */
	/* upstream, allocated with the first packet */
	struct ht_reorder *ro;
	struct held *held, *free_held;
	unsigned nheld;
	struct ht_reorder_stats ro_past; /* of reorder buffers started afresh */
	ht_time delays_at;               /* members' delays last told to ro */
};

struct ht_dgsess *ht_dgsess_new(const struct ht_dgsess_ops *ops, void *arg)
{
	struct ht_dgsess *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->ops = ops;
	s->arg = arg;
	ht_sched_init(&s->sched, HT_SCHED_MIN_RTT);
	/* The concentrator's bottleneck toward the client is remote; a
	 * download spilled too late at the client's 20 ms (one run in four
	 * got one path's worth, 45-51 Mbit/s of 2 x 50). */
	s->sched.path_queue_max = HT_DGSESS_PATH_QUEUE;
	return s;
}

void ht_dgsess_set_id(struct ht_dgsess *s, uint64_t id)
{
	s->id = id;
}

/* ---- upstream: the reorder buffer and its store ------------------------------------ */

static int reorder_start(struct ht_dgsess *s, ht_time now)
{
	struct ht_reorder_config cfg;

	ht_reorder_config_default(&cfg);
	s->ro = ht_reorder_new(&cfg);
	/* At most slots + 1 packets are held (the window and one beyond),
	 * and one more is being offered. */
	s->nheld = cfg.slots + 2;
	s->held = calloc(s->nheld, sizeof(*s->held));
	if (s->ro == NULL || s->held == NULL) {
		ht_reorder_free(s->ro);
		free(s->held);
		s->ro = NULL;
		s->held = NULL;
		return HT_ERR_NOBUF;
	}
	for (unsigned i = 0; i < s->nheld; i++)
		s->held[i].next = i + 1 < s->nheld ? &s->held[i + 1] : NULL;
	s->free_held = &s->held[0];
	for (unsigned i = 0; i < HT_DGSESS_MEMBERS; i++)
		if (s->m[i].user != NULL)
			ht_reorder_path_up(s->ro, i, now);
	return 0;
}

static void put_back(struct ht_dgsess *s, struct held *h)
{
	h->in_use = false;
	h->stored = false;
	h->pkt = NULL;
	h->next = s->free_held;
	s->free_held = h;
}

/* Out of the reorder buffer: to the owner, then back to the free list.
 * A packet that could not be stored (no memory) has len 0: lost. */
static void release(struct ht_dgsess *s, struct held *h)
{
	void *from = h->slot >= 0 ? s->m[h->slot].user : NULL;

	if (h->pkt != NULL && h->len > 0)
		s->ops->deliver(s->arg, from, h->pkt, h->len);
	put_back(s, h);
}

static void drain(struct ht_dgsess *s, ht_time now)
{
	void *h;

	while ((h = ht_reorder_pop(s->ro, now)) != NULL)
		release(s, h);
}

/* The packet must outlive the receive call: copy it into its buffer. */
static void store(struct held *h)
{
	if (h->cap < h->len) {
		size_t cap = h->len < 2048 ? 2048 : h->len;
		uint8_t *b = realloc(h->buf, cap);

		if (b == NULL) {
			h->pkt = NULL;
			h->len = 0;
			h->stored = true;
			return;
		}
		h->buf = b;
		h->cap = cap;
	}
	memcpy(h->buf, h->pkt, h->len);
	h->pkt = h->buf;
	h->stored = true;
}

static void ro_stats_add(struct ht_reorder_stats *sum, const struct ht_reorder_stats *st)
{
	sum->in_order += st->in_order;
	sum->reordered += st->reordered;
	sum->late += st->late;
	sum->dup += st->dup;
	sum->lost += st->lost;
	sum->timed_out += st->timed_out;
	sum->forced += st->forced;
	sum->passed += st->passed;
}

/* Every packet still held goes out in tag order (from NULL when its
 * member left), then the buffer and its store are freed. */
static void reorder_stop(struct ht_dgsess *s, bool deliver)
{
	void *h;

	if (s->ro == NULL)
		return;
	while ((h = ht_reorder_flush(s->ro)) != NULL) {
		if (deliver)
			release(s, h);
		else
			put_back(s, h);
	}
	ro_stats_add(&s->ro_past, ht_reorder_stats(s->ro));
	ht_reorder_free(s->ro);
	s->ro = NULL;
	for (unsigned i = 0; i < s->nheld; i++)
		free(s->held[i].buf);
	free(s->held);
	s->held = NULL;
	s->free_held = NULL;
	s->nheld = 0;
}

/* The members' one-way delays (half their smoothed RTT) into the
 * reorder buffer, which holds a gap at least their spread. */
static void tell_delays(struct ht_dgsess *s, ht_time now)
{
	if (s->delays_at != 0 && now < s->delays_at + HT_DGSESS_DELAYS)
		return;
	s->delays_at = now != 0 ? now : 1;
	for (unsigned i = 0; i < HT_DGSESS_MEMBERS; i++) {
		struct ht_dgsess_pathinfo pi;

		if (s->m[i].user == NULL)
			continue;
		memset(&pi, 0, sizeof(pi));
		s->ops->path(s->arg, s->m[i].user, &pi);
		ht_reorder_set_path_delay(s->ro, i, pi.srtt / 2);
	}
}

void ht_dgsess_receive(struct ht_dgsess *s, int slot, uint16_t tag, unsigned flags,
		       const uint8_t *pkt, size_t len, ht_time now)
{
	struct held *h;

	if (s->ro == NULL && reorder_start(s, now) != 0) {
		/* no memory for order: deliver as it comes */
		s->ops->deliver(s->arg, slot >= 0 ? s->m[slot].user : NULL, pkt, len);
		return;
	}
	if (s->nmembers > 1)
		tell_delays(s, now);
	h = s->free_held;
	if (h == NULL) { /* cannot happen: nheld bounds what reorder holds */
		s->ops->deliver(s->arg, slot >= 0 ? s->m[slot].user : NULL, pkt, len);
		return;
	}
	s->free_held = h->next;
	h->pkt = pkt;
	h->len = len;
	h->slot = slot;
	h->in_use = true;
	h->stored = false;
	switch (ht_reorder_push_flags(s->ro, tag, slot >= 0 ? (unsigned)slot : HT_REORDER_PATHS,
				      flags, now, h)) {
	case HT_REORDER_DELIVER:
		release(s, h);
		break;
	case HT_REORDER_DROP:
		put_back(s, h);
		break;
	case HT_REORDER_HELD:
	default:
		break;
	}
	drain(s, now);
	/* Still waiting after the drain: the bytes go away with the call. */
	if (h->in_use && !h->stored)
		store(h);
}

ht_time ht_dgsess_deadline(const struct ht_dgsess *s)
{
	return s->ro != NULL ? ht_reorder_deadline(s->ro) : HT_TIME_NEVER;
}

void ht_dgsess_tick(struct ht_dgsess *s, ht_time now)
{
	if (s->ro != NULL)
		drain(s, now);
}

/* ---- members ---------------------------------------------------------------------- */

int ht_dgsess_join(struct ht_dgsess *s, void *member, unsigned mtu, ht_time now)
{
	struct ht_liveness_config lc;
	struct member *m = NULL;
	unsigned i;

	for (i = 0; i < HT_DGSESS_MEMBERS && m == NULL; i++)
		if (s->m[i].user == NULL)
			m = &s->m[i];
	if (member == NULL)
		return HT_ERR_INVAL;
	if (m == NULL)
		return HT_ERR_NOBUF;
	i = (unsigned)(m - s->m);
	if (s->nmembers == 0)
		reorder_stop(s, true);
	memset(m, 0, sizeof(*m));
	m->user = member;
	m->mtu = mtu;
	ht_liveness_config_default(&lc);
	ht_liveness_init(&m->live, &lc, false, now);
	ht_liveness_established(&m->live, now);
	m->shown = m->live.state;
	memset(&s->sched.path[i], 0, sizeof(s->sched.path[i]));
	s->sched.picks[i] = 0;
	if (s->sched.n < i + 1)
		s->sched.n = i + 1;
	if (s->ro != NULL)
		ht_reorder_path_up(s->ro, i, now);
	s->nmembers++;
	s->refreshed = 0;
	return (int)i;
}

void ht_dgsess_leave(struct ht_dgsess *s, int slot, ht_time now)
{
	(void)now;
	if (slot < 0 || slot >= (int)HT_DGSESS_MEMBERS || s->m[slot].user == NULL)
		return;
	s->m[slot].user = NULL;
	s->sched.path[slot].usable = false;
	s->nmembers--;
	if (s->ro != NULL) {
		ht_reorder_path_down(s->ro, (unsigned)slot);
		for (unsigned i = 0; i < s->nheld; i++)
			if (s->held[i].in_use && s->held[i].slot == slot)
				s->held[i].slot = -1;
	}
	s->refreshed = 0;
}

void ht_dgsess_set_mtu(struct ht_dgsess *s, int slot, unsigned mtu)
{
	if (slot >= 0 && slot < (int)HT_DGSESS_MEMBERS && s->m[slot].user != NULL)
		s->m[slot].mtu = mtu;
	s->refreshed = 0;
}

void ht_dgsess_set_pref(struct ht_dgsess *s, int slot, enum ht_sched_policy policy, bool backup,
			uint32_t weight)
{
	if (slot < 0 || slot >= (int)HT_DGSESS_MEMBERS || s->m[slot].user == NULL)
		return;
	s->sched.policy = policy;
	s->sched.path[slot].backup = backup;
	s->sched.path[slot].weight = weight;
	s->refreshed = 0;
}

void *ht_dgsess_member(const struct ht_dgsess *s, unsigned slot)
{
	return slot < HT_DGSESS_MEMBERS ? s->m[slot].user : NULL;
}

unsigned ht_dgsess_members(const struct ht_dgsess *s)
{
	return s->nmembers;
}

unsigned ht_dgsess_mtu(const struct ht_dgsess *s)
{
	unsigned mtu = 0;

	for (unsigned i = 0; i < HT_DGSESS_MEMBERS; i++)
		if (s->m[i].user != NULL && s->m[i].mtu > 0 && (mtu == 0 || s->m[i].mtu < mtu))
			mtu = s->m[i].mtu;
	return mtu;
}

/* ---- downstream ------------------------------------------------------------------- */

/* The members' connection state into the scheduler, and their liveness:
 * a member that was sent datagrams and received nothing for a few RTTs
 * (or, while busy, for 2 x min_rtt after a short silence: liveness.h)
 * has failed (its link is down) until anything arrives on it again. */
static void refresh(struct ht_dgsess *s, ht_time now)
{
	uint32_t cand = 0, alive = 0;

	for (unsigned i = 0; i < HT_DGSESS_MEMBERS; i++) {
		struct member *m = &s->m[i];
		struct ht_sched_path *p = &s->sched.path[i];
		struct ht_dgsess_pathinfo pi;

		p->usable = false;
		if (m->user == NULL || m->mtu == 0)
			continue;
		memset(&pi, 0, sizeof(pi));
		s->ops->path(s->arg, m->user, &pi);
		p->srtt = pi.srtt;
		p->min_rtt = pi.min_rtt;
		p->cwnd = pi.cwnd;
		/* what waits in our queue is as good as in flight */
		p->in_flight = pi.in_flight + pi.queued * m->mtu;
		p->queued = pi.queued > UINT32_MAX ? UINT32_MAX : (unsigned)pi.queued;
		/* A remote bottleneck (the access router's shaper toward the
		 * client) queues there, not here: the window, grown into that
		 * queue, would keep every packet on the nearest path (a
		 * download got one path's worth, 39-45 of 2 x 50 Mbit/s). */
		p->path_queue = pi.path_queue;
		if (pi.rx_count != m->rx_seen) {
			m->rx_seen = pi.rx_count;
			ht_liveness_on_rx(&m->live, now);
		}
		/* Sending: ACKs stop at once when the link dies, so the quick
		 * rule applies (our datagrams are the probe). */
		if (m->sent) {
			ht_liveness_on_tx(&m->live, now);
			ht_liveness_on_data(&m->live, now);
		}
		m->sent = false;
		ht_liveness_on_rtt(&m->live, pi.srtt, pi.rttvar, pi.min_rtt);
		(void)ht_liveness_tick(&m->live, now); /* reconnecting is the client's */
		if (m->live.state != m->shown) {
			ht_log(m->live.state == HT_PATH_FAILED ? HT_LOG_WARN : HT_LOG_INFO, "session",
			       "session #%llu: path %u %s", (unsigned long long)s->id, i,
			       m->live.state == HT_PATH_FAILED ? "failed: nothing received"
							       : "works again");
			m->shown = m->live.state;
		}
		cand |= 1u << i;
		if (m->live.state != HT_PATH_FAILED)
			alive |= 1u << i;
	}
	/* Every path failed: better try them all than drop everything. */
	if (alive == 0)
		alive = cand;
	for (unsigned i = 0; i < HT_DGSESS_MEMBERS; i++)
		s->sched.path[i].usable = (alive >> i) & 1u;
	for (unsigned i = 0; s->ops->queue_slack != NULL && i < HT_DGSESS_MEMBERS; i++)
		if (s->m[i].user != NULL && s->m[i].mtu != 0)
			s->ops->queue_slack(s->arg, s->m[i].user, ht_sched_queue_slack(&s->sched, i));
	s->refreshed = now != 0 ? now : 1;
	s->picks_since = 0;
}

uint32_t ht_dgsess_pick(struct ht_dgsess *s, size_t len, ht_time now)
{
	uint32_t mask;

	/* Loop time stands still while a device burst (up to 64 reads, each
	 * up to 45 TSO segments) is placed: refresh every few packets too, or
	 * the whole burst lands on one path and overflows its queue. */
	if (s->refreshed == 0 || now >= s->refreshed + HT_DGSESS_REFRESH ||
	    ++s->picks_since >= HT_DGSESS_REFRESH_PICKS)
		refresh(s, now);
	mask = ht_sched_pick(&s->sched, len);
	for (unsigned i = 0; i < HT_DGSESS_MEMBERS; i++)
		if ((mask >> i) & 1u)
			s->m[i].sent = true;
	return mask;
}

uint16_t ht_dgsess_next_tag(struct ht_dgsess *s)
{
	return s->tag++;
}

/* ---- status, teardown --------------------------------------------------------------- */

void ht_dgsess_status(const struct ht_dgsess *s, int slot, struct ht_status_sess *out)
{
	out->conns = s->nmembers;
	out->path = slot;
	out->path_state[0] = '\0';
	out->picks = out->picks_total = 0;
	for (unsigned i = 0; i < HT_SCHED_PATHS; i++)
		out->picks_total += s->sched.picks[i];
	if (slot >= 0 && slot < (int)HT_DGSESS_MEMBERS && s->m[slot].user != NULL) {
		out->picks = s->sched.picks[slot];
		snprintf(out->path_state, sizeof(out->path_state), "%s",
			 s->m[slot].mtu == 0 ? "no datagrams"
					     : ht_path_state_name(s->m[slot].live.state));
	}
	out->ro = s->ro_past;
	out->reorder = true;
	out->held = 0;
	out->wait = 0;
	if (s->ro != NULL) {
		ro_stats_add(&out->ro, ht_reorder_stats(s->ro));
		out->held = ht_reorder_held(s->ro);
		out->wait = ht_reorder_wait(s->ro);
	}
}

void ht_dgsess_free(struct ht_dgsess *s)
{
	if (s == NULL)
		return;
	reorder_stop(s, false);
	free(s);
}
