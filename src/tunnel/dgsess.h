/* hatun — the datagram side of one tunneling session at the concentrator
 * (issue 5, docs/protocol/sessions.md): the session's connections (its
 * members, one per client access network), the downstream path scheduler,
 * the per-session Packet Tag, and the upstream reorder buffer.
 *
 *   downstream  ht_dgsess_pick: which member(s) a packet goes on (ht_sched,
 *               min-rtt; each member's srtt / cwnd / bytes in flight (and
 *               queued datagrams) refreshed from its connection at most once per
 *               HT_DGSESS_REFRESH, its liveness from what it received), then
 *               ht_dgsess_next_tag: one tag per packet for the whole session
 *               (copies of one packet share it, the receiver drops them).
 *   upstream    ht_dgsess_receive: a tagged packet from any member goes
 *               through ht_reorder and comes out of ops.deliver in tag order.
 *               A packet delivered at once is not copied; one that must
 *               wait is copied into the session's bounded store (the
 *               reorder's slots + 2 buffers, grown to the largest packet
 *               held), since the received bytes live only during the call.
 *
 * Pure: the owner (dgram_router.c) passes the time, does all I/O through
 * ops and its own ht_dg_send, and arms a timer for ht_dgsess_deadline().
 * A member's path index (for ht_sched and ht_reorder) is its slot here.
 */
#ifndef HATUN_TUNNEL_DGSESS_H
#define HATUN_TUNNEL_DGSESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "tunnel/sched.h"
#include "tunnel/sessions.h"
#include "tunnel/status.h"

#define HT_DGSESS_MEMBERS HT_SESSION_CONNS_MAX
#define HT_DGSESS_REFRESH HT_MS /* path statistics are read at most this often, */
#define HT_DGSESS_REFRESH_PICKS 8 /* and at least every this many packets */
#define HT_DGSESS_DELAYS (10 * HT_MS) /* members' delays told to the reorder buffer */
#define HT_DGSESS_PATH_QUEUE (5 * HT_MS) /* the scheduler's path_queue_max here */

/* What the owner reports about a member's connection. */
struct ht_dgsess_pathinfo {
	ht_time srtt, rttvar, min_rtt; /* min_rtt 0: none yet */
	uint64_t cwnd, in_flight;  /* bytes */
	uint64_t queued;           /* DATAGRAM frames waiting in its queue */
	ht_time path_queue;        /* the standing queue on its path, 0: none */
	uint64_t rx_count;         /* grows when anything arrives on it */
};

struct ht_dgsess_ops {
	/* An upstream packet, in tag order (or late, after its gap was given
	 * up).  from: the member user pointer it arrived on, NULL if that
	 * member has left since.  pkt is valid during the call only. */
	void (*deliver)(void *arg, void *from, const uint8_t *pkt, size_t len);
	/* Fill pi for member (called by ht_dgsess_pick, not per packet). */
	void (*path)(void *arg, void *member, struct ht_dgsess_pathinfo *pi);
	/* How much longer than CoDel's target the member's DATAGRAM queue may
	 * stand (ht_sched_queue_slack), after each refresh; NULL: not told. */
	void (*queue_slack)(void *arg, void *member, ht_time slack);
};

struct ht_dgsess;

/* NULL: out of memory.  Nothing is allocated for reordering until the
 * first upstream packet. */
struct ht_dgsess *ht_dgsess_new(const struct ht_dgsess_ops *ops, void *arg);
/* Packets still held are dropped. */
void ht_dgsess_free(struct ht_dgsess *s);
/* The session's number, for log lines. */
void ht_dgsess_set_id(struct ht_dgsess *s, uint64_t id);

/* A connection joined: its slot (path index), or HT_ERR_NOBUF (all
 * HT_DGSESS_MEMBERS taken), HT_ERR_INVAL (member NULL).  mtu: the
 * largest packet it carries (0: no datagrams; it is never picked).  When
 * it is the only member after the session had none (the client lost every
 * path and came back), the reorder buffer starts afresh: its sender may
 * have restarted its tags. */
int ht_dgsess_join(struct ht_dgsess *s, void *member, unsigned mtu, ht_time now);
/* It left: never picked again, no longer holds gaps back; packets it
 * delivered that are still held go out with from NULL. */
void ht_dgsess_leave(struct ht_dgsess *s, int slot, ht_time now);
void ht_dgsess_set_mtu(struct ht_dgsess *s, int slot, unsigned mtu);
/* The client's Path Preference for a member (sessions.md): a backup member
 * carries nothing while a primary one works; weight for `weighted`; the
 * policy is the session's (the latest one received wins). */
void ht_dgsess_set_pref(struct ht_dgsess *s, int slot, enum ht_sched_policy policy, bool backup,
			uint32_t weight);
/* The member in slot, or NULL. */
void *ht_dgsess_member(const struct ht_dgsess *s, unsigned slot);
unsigned ht_dgsess_members(const struct ht_dgsess *s);
/* The session's MTU: the smallest of its members' (0: none carries
 * datagrams), so a packet that fits goes on any of them. */
unsigned ht_dgsess_mtu(const struct ht_dgsess *s);

/* Downstream: the members a packet of len bytes goes on, as a bit mask
 * (bit i = slot i); 0 when none can take it.  Members whose path failed
 * (nothing received for a few RTTs while datagrams were unanswered) are
 * left out unless every member failed. */
uint32_t ht_dgsess_pick(struct ht_dgsess *s, size_t len, ht_time now);
/* The session's next downstream Packet Tag (taken). */
uint16_t ht_dgsess_next_tag(struct ht_dgsess *s);

/* Upstream: a packet with its tag arrived on the member in slot; flags:
 * what the caller knows of it for the reorder buffer (HT_REORDER_SMALL,
 * HT_REORDER_UNORDERED; ht_dg_reorder_flags). */
void ht_dgsess_receive(struct ht_dgsess *s, int slot, uint16_t tag, unsigned flags,
		       const uint8_t *pkt, size_t len, ht_time now);
/* When ht_dgsess_tick must run (a gap's deadline), or HT_TIME_NEVER. */
ht_time ht_dgsess_deadline(const struct ht_dgsess *s);
void ht_dgsess_tick(struct ht_dgsess *s, ht_time now);

/* Status of the member in slot (id and conns are the owner's to fill). */
void ht_dgsess_status(const struct ht_dgsess *s, int slot, struct ht_status_sess *out);

#endif
