/* hatun — the path scheduler of a multipath tunneling session (issue 5).
 * Pure: the caller refreshes each path's state (from ngtcp2's connection
 * statistics) and asks where a packet, or a new TCP connection, goes.
 *
 * Paths are the session's QUIC connections, one per access network, in
 * the order the user configured them.  A path is `usable` once validated
 * and while alive; a `backup` path is used only while no primary path is
 * usable.  Policies (docs/protocol/sessions.md):
 *
 *   min-rtt      the lowest-RTT path with room for the packet, then the
 *                next; when none has room, the lowest-RTT one (its
 *                connection queues and paces).  The default: it fills the
 *                fast path first and spills over, so bonding is never
 *                slower than the best path alone.  A path has room while
 *                its window does, its own DATAGRAM queue holds fewer than
 *                HT_SCHED_BACKLOG packets, and the path has no standing
 *                queue over path_queue_max plus its queue slack.  Small packets (at most
 *                HT_SCHED_SMALL bytes) go on the path with the lowest
 *                base RTT (min_rtt) regardless of room; see
 *                ht_sched_pick.
 *   weighted     smooth weighted round robin over the paths with room
 *                (over all usable ones when none has room), by `weight`.
 *   redundant    packets of at most redundant_max bytes go on every usable
 *                path (the receiver drops the copies); larger ones as
 *                min-rtt.  For latency-critical traffic.
 *   backup-only  active/standby: everything on the first usable primary
 *                path in configured order; the others carry nothing until
 *                it fails.  No aggregation.
 */
#ifndef HATUN_TUNNEL_SCHED_H
#define HATUN_TUNNEL_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

#define HT_SCHED_PATHS 8u
#define HT_SCHED_REDUNDANT_MAX 300u /* bytes: ACKs, DNS, VoIP, games */
#define HT_SCHED_SMALL 512u /* bytes: the DATAGRAM queue's sparse limit (quic/conn.h) */
#define HT_SCHED_BACKLOG 16u /* datagrams in a path's own queue: it is full */
#define HT_SCHED_PATH_QUEUE (20 * HT_MS) /* path_queue_max by default */

enum ht_sched_policy {
	HT_SCHED_MIN_RTT = 0,
	HT_SCHED_WEIGHTED,
	HT_SCHED_REDUNDANT,
	HT_SCHED_BACKUP_ONLY,
};

struct ht_sched_path {
	/* set by the caller */
	bool usable;
	bool backup;
	uint32_t weight; /* weighted policy; 0 counts as 1 */
	ht_time srtt;
	ht_time min_rtt;    /* 0: unknown (no far-path guard) */
	uint64_t cwnd;      /* bytes */
	uint64_t in_flight; /* bytes, with those in its own queue; ht_sched_pick
	                       adds what it places */
	unsigned queued;    /* datagrams waiting in its own queue */
	ht_time path_queue; /* the standing queue on the path (quic/pathq.h),
	                       0: none or unknown */
	unsigned streams;   /* tunnelled TCP connections it carries now */
	/* private */
	int64_t credit;
};

struct ht_sched {
	enum ht_sched_policy policy;
	unsigned n; /* paths in use: path[0 .. n-1] */
	size_t redundant_max;
	/* A path whose standing queue is longer than this (plus its queue
	 * slack) has no room; HT_SCHED_PATH_QUEUE unless the owner knows
	 * better (dgsess: docs/protocol/sessions.md, "Room"). */
	ht_time path_queue_max;
	struct ht_sched_path path[HT_SCHED_PATHS];
	uint64_t picks[HT_SCHED_PATHS]; /* packets placed per path */
};

void ht_sched_init(struct ht_sched *s, enum ht_sched_policy policy);

/* "min-rtt", "weighted", "redundant", "backup-only" -> policy (>= 0), or
 * HT_ERR_BAD_VALUE. */
int ht_sched_policy_parse(const char *name);
const char *ht_sched_policy_name(enum ht_sched_policy policy);

/* The paths a datagram of len bytes goes on, as a bit mask (bit i = path
 * i); more than one bit only under `redundant`.  0 when no path is usable.
 * Adds len to the chosen paths' in_flight.
 *
 * Under min-rtt (and redundant's larger packets) a packet of at most
 * HT_SCHED_SMALL bytes goes on the usable path with the lowest min_rtt,
 * room or not: such packets are ACKs, pings, DNS, keystrokes, which load
 * no path, and its connection's DATAGRAM queue serves them before its bulk
 * (quic/dgq.h).  Ranking them by smoothed RTT sent the ACKs of a download
 * to whichever path's *downstream* queue was shorter at the moment (the
 * RTT holds both directions' queues): a third of them took the far path,
 * and the ACK stream came back reordered. */
uint32_t ht_sched_pick(struct ht_sched *s, size_t len);

/* The path a new tunnelled TCP connection is placed on (stream mode: its
 * stream never moves), or -1 when no path is usable.  Under min-rtt and
 * redundant: the path with the most estimated rate (cwnd / srtt) per
 * connection it would carry, so that eight bulk flows spread over the
 * links in proportion to what they deliver; ties go to the lower RTT. */
int ht_sched_pick_stream(struct ht_sched *s);

/* How much longer than CoDel's target path i's DATAGRAM queue may stand:
 * half the min_rtt difference to the farthest usable primary path that a
 * flow is spread over (the candidates ht_sched_pick uses: primaries, or
 * backups when no primary works; the far-path guard's paths do not
 * count), 0 for that path, paths that are no candidates and unknown RTTs.  On a nearer path such a queue adds
 * nothing to what a spread flow sees — the receiver's reorder buffer holds
 * its packets that long for the farther path's anyway — while CoDel's
 * 5 ms there cut a single Cubic flow before it could fill both paths
 * (2 x 50 Mbit/s, 20 / 40 ms one way: ~27-50 Mbit/s, ~78-83 with it). */
ht_time ht_sched_queue_slack(const struct ht_sched *s, unsigned i);

#endif
