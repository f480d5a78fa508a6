/* hatun — a connection's outgoing DATAGRAM queue: bounded, managed by
 * sojourn time (CoDel, codel.h), with sparse flows served first.
 *
 * Two rings.  A small packet (HT_QDGRAM_SPARSE_MAX, conn.h) whose flow (a
 * hash the tunnel layer computes from the inner packet's addresses and
 * ports; 0 = unknown) has nothing queued goes to the short `sparse` ring; every other packet goes to the `bulk`
 * ring, behind its flow's earlier packets, so a flow's order is kept.  The
 * sparse ring is served first — at most HT_DGQ_SPARSE_RUN packets in a row
 * while bulk packets wait, so a crowd of "sparse" flows cannot starve the
 * bulk — which is fq_codel's new-flow priority reduced to what a tunnel
 * needs: a ping, a DNS query, a VoIP or game packet, an interactive
 * keystroke do not wait behind a bulk transfer's queue (which CoDel keeps
 * around its target, 5 ms, but a single TCP flow's sawtooth holds there at
 * 5-20 ms).  CoDel manages the bulk ring; the sparse ring holds at most
 * one packet per flow and is never standing.
 *
 * Sans-I/O: the caller passes the clock and the path's standing queue
 * (pathq.h) and allocates the packets (struct ht_qdgram, one allocation
 * each); the queue frees those it drops.
 */
#ifndef HATUN_QUIC_DGQ_H
#define HATUN_QUIC_DGQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "quic/codel.h"

#define HT_DGQ_FLOWS 256     /* flow buckets (hash % HT_DGQ_FLOWS) */
#define HT_DGQ_SPARSE 32     /* sparse ring size */
#define HT_DGQ_SPARSE_RUN 8  /* sparse packets in a row while bulk waits */

struct ht_qdgram {
	ht_time t;     /* enqueued (CoDel sojourn) */
	uint32_t flow; /* 0: unknown, always bulk */
	size_t len;
	uint8_t data[];
};

struct ht_dgq {
	struct ht_qdgram **bulk; /* cap slots */
	size_t bhead, blen, cap;
	size_t limit; /* bulk packets taken (<= cap; ht_dgq_set_limit) */
	struct ht_qdgram *sparse[HT_DGQ_SPARSE];
	size_t shead, slen;
	uint16_t queued[HT_DGQ_FLOWS]; /* packets queued per flow bucket */
	unsigned run;                  /* sparse packets served in a row */
	bool next_sparse;              /* what ht_dgq_peek returned */
	struct ht_codel codel;
	uint64_t sparse_sent; /* packets that took the sparse ring */
};

/* cap: bulk ring slots (> 0), all usable until ht_dgq_set_limit.  0 or
 * HT_QERR_NOMEM. */
int ht_dgq_init(struct ht_dgq *q, size_t cap, ht_time target, ht_time interval);
/* Take at most n bulk packets (clamped to 1..cap); packets already queued
 * beyond a lowered limit stay. */
void ht_dgq_set_limit(struct ht_dgq *q, size_t n);
void ht_dgq_free(struct ht_dgq *q); /* frees the queued packets too */

static inline size_t ht_dgq_len(const struct ht_dgq *q)
{
	return q->blen + q->slen;
}

/* Queue d (d->t and d->flow set by the caller).  False: full (d is not
 * taken). */
bool ht_dgq_push(struct ht_dgq *q, struct ht_qdgram *d);

/* The packet to send next at now, after CoDel dropped (and freed) what
 * waited through a standing queue at the bulk head; NULL: empty.  It stays
 * queued until ht_dgq_pop. */
struct ht_qdgram *ht_dgq_peek(struct ht_dgq *q, ht_time now, ht_time path_delay);

/* Remove the packet ht_dgq_peek returned (the caller frees it). */
void ht_dgq_pop(struct ht_dgq *q);

#endif
