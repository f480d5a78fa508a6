/* hatun — the path's standing queue from RTT samples (pathq.h). */
#include "quic/pathq.h"

#include <string.h>

void ht_pathq_init(struct ht_pathq *q, ht_time window, ht_time base_span,
		   uint32_t min_samples)
{
	memset(q, 0, sizeof(*q));
	q->window = window >= HT_PATHQ_BUCKETS ? window : HT_PATHQ_BUCKETS;
	q->base_span = base_span > 0 ? base_span : 1;
	q->min_samples = min_samples;
}

static ht_time min_nonzero(ht_time a, ht_time b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

void ht_pathq_sample(struct ht_pathq *q, ht_time now, ht_time rtt)
{
	uint64_t slot = now / (q->window / HT_PATHQ_BUCKETS);
	uint64_t span = now / q->base_span;
	unsigned b = (unsigned)(slot % HT_PATHQ_BUCKETS);

	if (rtt == 0)
		return;
	q->last = rtt;
	if (q->n[b] == 0 || q->slot[b] != slot) {
		q->slot[b] = slot;
		q->n[b] = 0;
	}
	q->n[b]++;
	/* A new span: the one that ended becomes the previous one (forgotten
	 * if it is not the span just before). */
	if (q->base_cur == 0 || span != q->base_span_no) {
		q->base_prev = q->base_cur != 0 && span == q->base_span_no + 1 ? q->base_cur : 0;
		q->base_cur = rtt;
		q->base_span_no = span;
	} else if (rtt < q->base_cur) {
		q->base_cur = rtt;
	}
}

ht_time ht_pathq_delay(const struct ht_pathq *q, ht_time now)
{
	uint64_t slot = now / (q->window / HT_PATHQ_BUCKETS);
	ht_time base = min_nonzero(q->base_cur, q->base_prev);
	uint32_t n = 0;

	for (unsigned b = 0; b < HT_PATHQ_BUCKETS; b++) {
		/* Only the last HT_PATHQ_BUCKETS slots, the current one included. */
		if (q->n[b] == 0 || q->slot[b] > slot || slot - q->slot[b] >= HT_PATHQ_BUCKETS)
			continue;
		n += q->n[b];
	}
	/* n > 0: the latest sample is inside the window. */
	if (n < q->min_samples || n == 0 || q->last <= base)
		return 0;
	return q->last - base;
}
