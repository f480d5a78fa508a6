/* hatun — path scheduler of a tunneling session (sched.h). */
#include "tunnel/sched.h"

#include <string.h>

#include "proto/err.h"

static const char *const policy_names[] = {
	[HT_SCHED_MIN_RTT] = "min-rtt",
	[HT_SCHED_WEIGHTED] = "weighted",
	[HT_SCHED_REDUNDANT] = "redundant",
	[HT_SCHED_BACKUP_ONLY] = "backup-only",
};

void ht_sched_init(struct ht_sched *s, enum ht_sched_policy policy)
{
	memset(s, 0, sizeof(*s));
	s->policy = policy;
	s->redundant_max = HT_SCHED_REDUNDANT_MAX;
	s->path_queue_max = HT_SCHED_PATH_QUEUE;
}

int ht_sched_policy_parse(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(policy_names) / sizeof(policy_names[0]); i++)
		if (strcmp(name, policy_names[i]) == 0)
			return (int)i;
	return HT_ERR_BAD_VALUE;
}

const char *ht_sched_policy_name(enum ht_sched_policy policy)
{
	if ((unsigned)policy < sizeof(policy_names) / sizeof(policy_names[0]))
		return policy_names[policy];
	return "?";
}

/* The candidates: usable primaries, or usable backups when there is no
 * usable primary.  Returns a bit mask. */
static uint32_t candidates(const struct ht_sched *s)
{
	uint32_t prim = 0, back = 0;
	unsigned i;

	for (i = 0; i < s->n && i < HT_SCHED_PATHS; i++) {
		if (!s->path[i].usable)
			continue;
		if (s->path[i].backup)
			back |= 1u << i;
		else
			prim |= 1u << i;
	}
	return prim != 0 ? prim : back;
}

/* Room on path i: window, our own queue, and the path's standing queue,
 * which on a nearer path may stand longer by the slack its DATAGRAM
 * queue's CoDel allows. */
static bool has_room(const struct ht_sched *s, unsigned i, size_t len)
{
	const struct ht_sched_path *p = &s->path[i];

	return p->in_flight + len <= p->cwnd && p->queued < HT_SCHED_BACKLOG &&
	       p->path_queue <= s->path_queue_max + ht_sched_queue_slack(s, i);
}

/* A path this many times farther (min_rtt) than the nearest is not
 * spilled onto (sessions.md, "Scheduling"). */
#define FAR_PATH_RATIO 4

/* The smallest known min_rtt among `set`, 0 if none is known. */
static ht_time nearest_min_rtt(const struct ht_sched *s, uint32_t set)
{
	ht_time near = 0;

	for (unsigned i = 0; i < HT_SCHED_PATHS; i++)
		if ((set & (1u << i)) && s->path[i].min_rtt != 0 &&
		    (near == 0 || s->path[i].min_rtt < near))
			near = s->path[i].min_rtt;
	return near;
}

/* Lowest srtt among `set`, preferring paths with room for len; -1 if the
 * set is empty.  Ties go to the earlier (preferred) path.  A path whose
 * min_rtt is over FAR_PATH_RATIO x the nearest one's takes no spill-over:
 * one flow spread over both would get the far path's RTT for the little
 * it adds (10 ms + 80 ms links: 42 Mbit/s spread, 47 on the near path
 * alone), so the packet waits in the nearest full path's queue. */
static int lowest_rtt(const struct ht_sched *s, uint32_t set, size_t len)
{
	int best = -1, best_room = -1;
	ht_time near = nearest_min_rtt(s, set);
	unsigned i;

	for (i = 0; i < HT_SCHED_PATHS; i++) {
		if (!(set & (1u << i)))
			continue;
		if (best < 0 || s->path[i].srtt < s->path[best].srtt)
			best = (int)i;
		if (near != 0 && s->path[i].min_rtt > FAR_PATH_RATIO * near)
			continue;
		if (has_room(s, i, len) &&
		    (best_room < 0 || s->path[i].srtt < s->path[best_room].srtt))
			best_room = (int)i;
	}
	return best_room >= 0 ? best_room : best;
}

/* The lowest min_rtt among `set` (ties to the lower srtt, then the earlier
 * path); a path with no RTT sample yet only if none has one. */
static int nearest(const struct ht_sched *s, uint32_t set)
{
	int best = -1;

	for (unsigned i = 0; i < HT_SCHED_PATHS; i++) {
		const struct ht_sched_path *p = &s->path[i], *b;

		if (!(set & (1u << i)) || p->min_rtt == 0)
			continue;
		b = best >= 0 ? &s->path[best] : NULL;
		if (b == NULL || p->min_rtt < b->min_rtt ||
		    (p->min_rtt == b->min_rtt && p->srtt < b->srtt))
			best = (int)i;
	}
	return best >= 0 ? best : lowest_rtt(s, set, 0);
}

/* Smooth weighted round robin (each candidate gains its weight, the
 * richest is picked and pays the total): an even interleaving, not
 * bursts, which keeps the receiver's reorder buffer short. */
static int weighted(struct ht_sched *s, uint32_t set, size_t len)
{
	uint32_t room = 0;
	int64_t total = 0;
	int best = -1;
	unsigned i;

	for (i = 0; i < HT_SCHED_PATHS; i++)
		if ((set & (1u << i)) && has_room(s, i, len))
			room |= 1u << i;
	if (room != 0)
		set = room;
	for (i = 0; i < HT_SCHED_PATHS; i++) {
		struct ht_sched_path *p = &s->path[i];
		int64_t w = p->weight != 0 ? p->weight : 1;

		if (!(set & (1u << i)))
			continue;
		p->credit += w;
		total += w;
		if (best < 0 || p->credit > s->path[best].credit)
			best = (int)i;
	}
	if (best >= 0)
		s->path[best].credit -= total;
	return best;
}

static int first_of(uint32_t set)
{
	return set != 0 ? __builtin_ctz(set) : -1;
}

static void placed(struct ht_sched *s, uint32_t mask, size_t len)
{
	unsigned i;

	for (i = 0; i < HT_SCHED_PATHS; i++) {
		if (!(mask & (1u << i)))
			continue;
		s->path[i].in_flight += len;
		s->picks[i]++;
	}
}

uint32_t ht_sched_pick(struct ht_sched *s, size_t len)
{
	uint32_t set = candidates(s), mask = 0;
	int i = -1;

	if (set == 0)
		return 0;
	switch (s->policy) {
	case HT_SCHED_REDUNDANT:
		if (len <= s->redundant_max) {
			mask = set;
			break;
		}
		i = len <= HT_SCHED_SMALL ? nearest(s, set) : lowest_rtt(s, set, len);
		break;
	case HT_SCHED_WEIGHTED:
		i = weighted(s, set, len);
		break;
	case HT_SCHED_BACKUP_ONLY:
		i = first_of(set);
		break;
	case HT_SCHED_MIN_RTT:
	default:
		i = len <= HT_SCHED_SMALL ? nearest(s, set) : lowest_rtt(s, set, len);
		break;
	}
	if (i >= 0)
		mask = 1u << i;
	placed(s, mask, len);
	return mask;
}

ht_time ht_sched_queue_slack(const struct ht_sched *s, unsigned i)
{
	uint32_t set = candidates(s);
	ht_time near = nearest_min_rtt(s, set), far = 0;

	if (i >= HT_SCHED_PATHS || !(set & (1u << i)) || s->path[i].min_rtt == 0)
		return 0;
	for (unsigned k = 0; k < HT_SCHED_PATHS; k++)
		if ((set & (1u << k)) && s->path[k].min_rtt > far &&
		    s->path[k].min_rtt <= FAR_PATH_RATIO * near)
			far = s->path[k].min_rtt;
	return far > s->path[i].min_rtt ? (far - s->path[i].min_rtt) / 2 : 0;
}

/* (streams + 1) * srtt / cwnd compared without division: a lower load
 * per unit of rate wins. */
static int least_loaded(const struct ht_sched *s, uint32_t set)
{
	unsigned __int128 best_score = 0;
	int best = -1;
	unsigned i;

	for (i = 0; i < HT_SCHED_PATHS; i++) {
		const struct ht_sched_path *p = &s->path[i];
		unsigned __int128 score, other;

		if (!(set & (1u << i)))
			continue;
		/* score_i < score_best  <=>  a_i * c_best < a_best * c_i */
		score = (unsigned __int128)(p->streams + 1u) * (p->srtt + 1u);
		if (best >= 0) {
			const struct ht_sched_path *b = &s->path[best];

			other = best_score * (p->cwnd + 1u);
			score *= (b->cwnd + 1u);
			if (score > other || (score == other && p->srtt >= b->srtt))
				continue;
		}
		best = (int)i;
		best_score = (unsigned __int128)(p->streams + 1u) * (p->srtt + 1u);
	}
	return best;
}

int ht_sched_pick_stream(struct ht_sched *s)
{
	uint32_t set = candidates(s);

	if (set == 0)
		return -1;
	switch (s->policy) {
	case HT_SCHED_WEIGHTED:
		return weighted(s, set, 0);
	case HT_SCHED_BACKUP_ONLY:
		return first_of(set);
	case HT_SCHED_MIN_RTT:
	case HT_SCHED_REDUNDANT:
	default:
		return least_loaded(s, set);
	}
}
