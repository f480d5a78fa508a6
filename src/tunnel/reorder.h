/* hatun — the receive-side reorder buffer of a multipath tunneling session
 * (datagram mode, issue 5).  Pure: the caller passes the time, owns the
 * packets (reorder only keeps pointers), and does all I/O.
 *
 * The sender tags every datagram of a session with a 16-bit sequence number
 * (the Packet Tag, quic-tunnel-01 §4) and spreads them over the session's
 * connections.  The receiver releases them in tag order, but never stalls
 * for long on a missing tag:
 *
 *  - Watermark: each QUIC connection delivers its datagrams roughly in the
 *    order they were sent.  Once every live path has delivered a tag after
 *    the missing one, the missing one is lost, not late: skip it at once.
 *    A loss therefore costs about one packet interval on the slowest path,
 *    not a timeout, so one flow's loss does not hold up the others.
 *  - Deadline: a gap is never held longer than `wait` after the first
 *    packet behind it arrived.  `wait` adapts to the delays that filling
 *    packets actually needed (a decaying maximum, i.e. about the paths'
 *    one-way delay difference), grows when a packet arrives after its gap
 *    was given up, never drops below the spread of the paths' one-way
 *    delays the caller reports, and stays within [wait_min, wait_max].
 *  - A packet whose gap was given up is still delivered (late) when it
 *    arrives: the inner TCP prefers a reordered segment to a loss.
 *  - Small packets may overtake the bulk queued on their own connection
 *    (the sender's DATAGRAM queue serves sparse flows first, dgq.h): the
 *    caller marks those it expects to (pure TCP ACKs) HT_REORDER_SMALL,
 *    and while a path carries other packets only those move its
 *    watermark.  Packets ahead of the bulk made the watermark give up the
 *    bulk's tags before they came: 2,454 of 36,000 packets of an 8-flow
 *    download arrived "late", each a reordering the inner TCP answered
 *    with a retransmission (then bulk packets themselves jumped the
 *    queue; now only DATAGRAMs up to HT_QDGRAM_SPARSE_MAX bytes may).
 *  - Packets whose order does not matter (a pure TCP ACK: the sender
 *    ignores one older than what it has) are marked HT_REORDER_UNORDERED
 *    and go out at once; their tags count as released.  Held behind a
 *    gap, the ACKs of a download waited up to the reorder wait, which made
 *    the inner senders' clocks bursty and their RTT longer.
 *  - Duplicates (the `redundant` scheduler sends small packets on every
 *    path) are dropped: a 65,536-bit map remembers which tags went out.
 *  - Bounded: `slots` packets at most; a packet further ahead than that
 *    forces the window forward, releasing what it passes.
 *
 * Tags use serial arithmetic (RFC 1982 style on 16 bits): "after" means
 * within the next 32,768 values, so wrap-around needs no special case.
 */
#ifndef HATUN_TUNNEL_REORDER_H
#define HATUN_TUNNEL_REORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

#define HT_REORDER_PATHS 8u
#define HT_REORDER_SLOTS_MAX 8192u

enum ht_reorder_verdict {
	HT_REORDER_HELD = 0,    /* reorder keeps pkt; it comes back from pop */
	HT_REORDER_DELIVER = 1, /* deliver pkt now, then drain pop() */
	HT_REORDER_DROP = 2,    /* duplicate (or overflow backlog): free pkt */
};

struct ht_reorder_stats {
	uint64_t in_order;  /* delivered without waiting */
	uint64_t reordered; /* held, then delivered in order */
	uint64_t late;      /* arrived after its gap was given up; delivered */
	uint64_t dup;       /* dropped duplicates */
	uint64_t lost;      /* gaps skipped by the watermark rule */
	uint64_t timed_out; /* gaps skipped at the deadline */
	uint64_t forced;    /* gaps skipped because the window was full */
	uint64_t passed;    /* HT_REORDER_UNORDERED packets sent on at once */
};

/* What the caller knows of a packet, for ht_reorder_push_flags(). */
#define HT_REORDER_SMALL 1u     /* may have overtaken larger ones on its path */
#define HT_REORDER_UNORDERED 2u /* its order does not matter: deliver at once */

struct ht_reorder_config {
	unsigned slots;     /* power of two, 16 .. HT_REORDER_SLOTS_MAX */
	ht_time wait_init;  /* first hold time, before any measurement */
	ht_time wait_min, wait_max;
	ht_time path_live;  /* a path that delivered nothing for this long no
	                       longer counts for the watermark */
};

struct ht_reorder;

/* Defaults: 1024 slots, wait 20 ms in [2 ms, 200 ms], paths live 250 ms. */
void ht_reorder_config_default(struct ht_reorder_config *cfg);

/* NULL on a bad config (slots not a power of two in range, wait_min >
 * wait_max) or out of memory. */
struct ht_reorder *ht_reorder_new(const struct ht_reorder_config *cfg);

/* Frees the buffer, not the packets: drain with ht_reorder_flush() first. */
void ht_reorder_free(struct ht_reorder *r);

/* Offer a received packet with its tag, arriving on path `path` (index of
 * the session's connection, < HT_REORDER_PATHS; others are accepted but
 * play no part in the watermark).  After any verdict, call ht_reorder_pop()
 * until it returns NULL: a packet may have unblocked others. */
enum ht_reorder_verdict ht_reorder_push(struct ht_reorder *r, uint16_t tag, unsigned path,
					ht_time now, void *pkt);
/* The same with HT_REORDER_* flags (ht_reorder_push: none).  An
 * HT_REORDER_UNORDERED packet is never HELD: DELIVER (also when it fills
 * the gap at the head, and then pop() may release others) or DROP. */
enum ht_reorder_verdict ht_reorder_push_flags(struct ht_reorder *r, uint16_t tag, unsigned path,
					      unsigned flags, ht_time now, void *pkt);

/* The next packet that may be delivered at `now`, in tag order, or NULL. */
void *ht_reorder_pop(struct ht_reorder *r, ht_time now);

/* When pop() may next return something without a new push, or
 * HT_TIME_NEVER.  Arm a timer for it. */
ht_time ht_reorder_deadline(const struct ht_reorder *r);

/* Take the held packets out, in tag order, one per call, regardless of
 * gaps (teardown).  NULL when empty. */
void *ht_reorder_flush(struct ht_reorder *r);

/* A connection joined the session and will carry datagrams: until it
 * delivers one (or path_live passes) it holds back every gap, so that its
 * first packets are not taken for lost.  A path never announced counts
 * from its first delivery on. */
void ht_reorder_path_up(struct ht_reorder *r, unsigned path, ht_time now);

/* A path went away: it no longer holds back the watermark. */
void ht_reorder_path_down(struct ht_reorder *r, unsigned path);

/* The path's one-way delay estimate (0: unknown).  The wait never drops
 * below the spread of the active paths' estimates (plus a quarter): a
 * packet of the slower path is still on its way that long after the
 * nearer path's packets behind it arrived, whatever the fill delays
 * measured while only the nearer path carried traffic said. */
void ht_reorder_set_path_delay(struct ht_reorder *r, unsigned path, ht_time one_way);

unsigned ht_reorder_held(const struct ht_reorder *r);
ht_time ht_reorder_wait(const struct ht_reorder *r);
const struct ht_reorder_stats *ht_reorder_stats(const struct ht_reorder *r);

#endif
