/* hatun — the outgoing DATAGRAM queue (dgq.h). */
#include "quic/dgq.h"

#include <stdlib.h>
#include <string.h>

#include "quic/conn.h"

int ht_dgq_init(struct ht_dgq *q, size_t cap, ht_time target, ht_time interval)
{
	memset(q, 0, sizeof(*q));
	if (cap == 0 || (q->bulk = calloc(cap, sizeof(*q->bulk))) == NULL)
		return HT_QERR_NOMEM;
	q->cap = q->limit = cap;
	ht_codel_init(&q->codel, target, interval);
	return 0;
}

void ht_dgq_set_limit(struct ht_dgq *q, size_t n)
{
	q->limit = n < 1 ? 1 : n > q->cap ? q->cap : n;
}

void ht_dgq_free(struct ht_dgq *q)
{
	for (size_t i = 0; i < q->blen; i++)
		free(q->bulk[(q->bhead + i) % q->cap]);
	for (size_t i = 0; i < q->slen; i++)
		free(q->sparse[(q->shead + i) % HT_DGQ_SPARSE]);
	free(q->bulk);
	memset(q, 0, sizeof(*q));
}

bool ht_dgq_push(struct ht_dgq *q, struct ht_qdgram *d)
{
	uint16_t *n = &q->queued[d->flow % HT_DGQ_FLOWS];

	if (d->flow != 0 && d->len <= HT_QDGRAM_SPARSE_MAX && *n == 0 && q->slen < HT_DGQ_SPARSE) {
		q->sparse[(q->shead + q->slen) % HT_DGQ_SPARSE] = d;
		q->slen++;
		q->sparse_sent++;
	} else {
		if (q->blen >= q->limit)
			return false;
		q->bulk[(q->bhead + q->blen) % q->cap] = d;
		q->blen++;
	}
	if (*n < UINT16_MAX)
		(*n)++;
	return true;
}

static struct ht_qdgram *bulk_take(struct ht_dgq *q)
{
	struct ht_qdgram *d = q->bulk[q->bhead];

	q->bhead = (q->bhead + 1) % q->cap;
	q->blen--;
	return d;
}

static void unqueued(struct ht_dgq *q, const struct ht_qdgram *d)
{
	uint16_t *n = &q->queued[d->flow % HT_DGQ_FLOWS];

	if (*n > 0)
		(*n)--;
}

struct ht_qdgram *ht_dgq_peek(struct ht_dgq *q, ht_time now, ht_time path_delay)
{
	/* CoDel at the bulk head; the sparse ring's packets never stand in
	 * it and do not count as left behind. */
	while (q->blen > 0 &&
	       ht_codel_drop(&q->codel, now, q->bulk[q->bhead]->t, q->blen - 1, path_delay)) {
		struct ht_qdgram *d = bulk_take(q);

		unqueued(q, d);
		free(d);
	}
	q->next_sparse = q->slen > 0 && (q->blen == 0 || q->run < HT_DGQ_SPARSE_RUN);
	if (q->next_sparse)
		return q->sparse[q->shead];
	return q->blen > 0 ? q->bulk[q->bhead] : NULL;
}

void ht_dgq_pop(struct ht_dgq *q)
{
	struct ht_qdgram *d;

	if (q->next_sparse && q->slen > 0) {
		d = q->sparse[q->shead];
		q->shead = (q->shead + 1) % HT_DGQ_SPARSE;
		q->slen--;
		q->run++;
	} else if (q->blen > 0) {
		d = bulk_take(q);
		q->run = 0;
	} else {
		return;
	}
	q->next_sparse = false;
	unqueued(q, d);
}
