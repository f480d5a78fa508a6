/* hatun — the queueing delay a connection's packets meet on the path, for
 * CoDel (codel.h) on the outgoing DATAGRAM queue.
 *
 * Why: a UDP socket has no TCP Small Queues, so QUIC's loss-based
 * congestion control fills whatever queue sits at the bottleneck — often
 * the tbf / modem of the access link, not hatun's own DATAGRAM queue,
 * which stays nearly empty.  CoDel on that queue then never sees the
 * delay every tunnelled flow suffers.  This estimator measures the
 * bottleneck's standing queue from RTT samples, and the DATAGRAM queue's
 * CoDel adds it to each packet's sojourn, so its drops act as an AQM for
 * the path's queue too.
 *
 * The estimate is the latest RTT sample minus the base RTT (the minimum
 * over the last ~2 x `base_span`, so a route that gets longer is learnt
 * within that time instead of counting as a queue for ever).  CoDel's own
 * rule — a queue is standing when every sojourn it sees stays above
 * target for an interval — then tells a standing queue from a burst.  (A
 * minimum over the last window, tried first, added that window to the
 * feedback delay: a download through a remote 50 Mbit/s shaper measured
 * +17 / +25 ms added instead of +11 / +14.)  It is 0 unless the last
 * `window` held at least `min_samples` samples: on an idle or sparse
 * connection samples are old, few, and include the peer's ACK delay (up
 * to its max_ack_delay, 25 ms by default), which is not a queue; with
 * dense traffic the peer acknowledges every second packet at once.
 *
 * Sans-I/O: the caller passes the clock and the RTT samples (ngtcp2's
 * latest_rtt, not adjusted by ACK delay).
 */
#ifndef HATUN_QUIC_PATHQ_H
#define HATUN_QUIC_PATHQ_H

#include <stdint.h>

#include "core/loop.h"

#define HT_PATHQ_BUCKETS 4 /* the window in quarters: a sliding count */

struct ht_pathq {
	ht_time window, base_span;
	uint32_t min_samples;
	/* Samples per slot of window / HT_PATHQ_BUCKETS (slot number = now /
	 * slot length, kept in bucket slot % HT_PATHQ_BUCKETS); the last
	 * HT_PATHQ_BUCKETS slots are the window. */
	uint64_t slot[HT_PATHQ_BUCKETS];
	uint32_t n[HT_PATHQ_BUCKETS]; /* 0: bucket empty */
	ht_time last;                 /* the latest sample */
	/* Base RTT: minimum of the current and the previous span (0: none). */
	uint64_t base_span_no;
	ht_time base_cur, base_prev;
};

void ht_pathq_init(struct ht_pathq *q, ht_time window, ht_time base_span,
		   uint32_t min_samples);

/* One RTT sample (> 0) taken at now. */
void ht_pathq_sample(struct ht_pathq *q, ht_time now, ht_time rtt);

/* The path's standing queue at now: 0 when it has none or too few recent
 * samples to tell. */
ht_time ht_pathq_delay(const struct ht_pathq *q, ht_time now);

#endif
