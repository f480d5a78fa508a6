/* hatun — per-stream state of a QUIC connection: the id table, the
 * bounded send buffer that ngtcp2 reads from until ACK, and the ready ring
 * the writer takes streams from in round robin. */
#include <stdlib.h>
#include <string.h>

#include "quic/conn_int.h"

static size_t bucket_of(const struct ht_qconn *c, int64_t id)
{
	/* Ids of one kind step by 4; the low two bits are the kind. */
	uint64_t u = (uint64_t)id;

	return (size_t)((u >> 2) ^ (u << 5)) & (c->nbuckets - 1);
}

struct ht_qstream *ht_qstream_find(struct ht_qconn *c, int64_t id)
{
	if (c->nbuckets == 0)
		return NULL;
	for (struct ht_qstream *s = c->sbuckets[bucket_of(c, id)]; s != NULL; s = s->hnext) {
		if (s->id == id)
			return s;
	}
	return NULL;
}

static int grow(struct ht_qconn *c)
{
	size_t n = c->nbuckets ? c->nbuckets * 2 : 16, old = c->nbuckets;
	struct ht_qstream **b = calloc(n, sizeof(*b)), **ob = c->sbuckets;

	if (b == NULL)
		return -1;
	c->sbuckets = b;
	c->nbuckets = n;
	for (size_t i = 0; i < old; i++) {
		struct ht_qstream *s = ob[i], *next;

		for (; s != NULL; s = next) {
			size_t k = bucket_of(c, s->id);

			next = s->hnext;
			s->hnext = b[k];
			b[k] = s;
		}
	}
	free(ob);
	return 0;
}

struct ht_qstream *ht_qstream_new(struct ht_qconn *c, int64_t id)
{
	struct ht_qstream *s;
	size_t k;

	if (c->nstreams >= c->nbuckets && grow(c) != 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->id = id;
	k = bucket_of(c, id);
	s->hnext = c->sbuckets[k];
	c->sbuckets[k] = s;
	c->nstreams++;
	c->nuni += (id & 2) != 0;
	return s;
}

static struct ht_qchunk *chunk_get(struct ht_qconn *c)
{
	struct ht_qchunk *k = c->chunk_cache;

	if (k == NULL)
		return malloc(sizeof(*k));
	c->chunk_cache = k->next;
	c->nchunk_cache--;
	return k;
}

static void chunk_put(struct ht_qconn *c, struct ht_qchunk *k)
{
	if (c->nchunk_cache >= HT_QCHUNK_CACHE) {
		free(k);
		return;
	}
	k->next = c->chunk_cache;
	c->chunk_cache = k;
	c->nchunk_cache++;
}

static void free_chunks(struct ht_qconn *c, struct ht_qstream *s)
{
	struct ht_qchunk *k = s->head, *next;

	for (; k != NULL; k = next) {
		next = k->next;
		chunk_put(c, k);
	}
	s->head = s->tail = NULL;
	s->head_off = s->tail_used = 0;
}

void ht_qstream_free(struct ht_qconn *c, struct ht_qstream *s)
{
	struct ht_qstream **pp = &c->sbuckets[bucket_of(c, s->id)];

	for (; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			c->nstreams--;
			c->nuni -= (s->id & 2) != 0;
			break;
		}
	}
	ht_qstream_ready_del(c, s);
	if (s->in_notify) {
		struct ht_qstream **np = &c->notify;

		for (; *np != NULL; np = &(*np)->nnext) {
			if (*np == s) {
				*np = s->nnext;
				break;
			}
		}
	}
	free_chunks(c, s);
	free(s);
}

void ht_qstream_free_all(struct ht_qconn *c)
{
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct ht_qstream *s = c->sbuckets[i], *next;

		for (; s != NULL; s = next) {
			next = s->hnext;
			free_chunks(c, s);
			free(s);
		}
	}
	ht_qstream_release(c);
	while (c->chunk_cache != NULL) {
		struct ht_qchunk *k = c->chunk_cache;

		c->chunk_cache = k->next;
		free(k);
	}
	c->nchunk_cache = 0;
	free(c->sbuckets);
	c->sbuckets = NULL;
	c->nbuckets = c->nstreams = c->nuni = 0;
	c->ready = NULL;
	c->notify = NULL;
}

/* The cap bounds the bytes ngtcp2 has not taken yet.  Bytes it took stay
 * (in their chunks) until ACKed: those are bounded by the peer's flow-
 * control window and our cwnd, not by the cap — otherwise one stream could
 * never move more than cap per RTT. */
size_t ht_qstream_room(const struct ht_qconn *c, const struct ht_qstream *s)
{
	uint64_t used = s->end - s->sent;

	if (s->fin_queued || s->wr_shut || used >= c->set.stream_sndbuf)
		return 0;
	return (size_t)(c->set.stream_sndbuf - used);
}

size_t ht_qstream_append(struct ht_qconn *c, struct ht_qstream *s, const uint8_t *d, size_t n)
{
	size_t room = ht_qstream_room(c, s), done = 0;

	if (n > room)
		n = room;
	while (done < n) {
		size_t l;

		if (s->tail == NULL || s->tail_used == HT_QSTREAM_CHUNK) {
			struct ht_qchunk *k = chunk_get(c);

			if (k == NULL)
				break;
			k->next = NULL;
			if (s->tail != NULL)
				s->tail->next = k;
			else
				s->head = k;
			s->tail = k;
			s->tail_used = 0;
		}
		l = HT_QSTREAM_CHUNK - s->tail_used;
		if (l > n - done)
			l = n - done;
		memcpy(s->tail->data + s->tail_used, d + done, l);
		s->tail_used += l;
		done += l;
	}
	s->end += done;
	return done;
}

void ht_qstream_release(struct ht_qconn *c)
{
	while (c->nresv > 0)
		chunk_put(c, c->resv[--c->nresv]);
}

/* The tail's free part, then whole chunks held in c->resv until commit. */
size_t ht_qstream_reserve(struct ht_qconn *c, struct ht_qstream *s, struct iovec *iov,
			  size_t niov, size_t max)
{
	size_t room = ht_qstream_room(c, s), n = 0;

	ht_qstream_release(c);
	if (max > room)
		max = room;
	if (max > 0 && n < niov && s->tail != NULL && s->tail_used < HT_QSTREAM_CHUNK) {
		size_t l = HT_QSTREAM_CHUNK - s->tail_used;

		iov[n].iov_base = s->tail->data + s->tail_used;
		iov[n].iov_len = l < max ? l : max;
		max -= iov[n].iov_len;
		n++;
	}
	while (max > 0 && n < niov && c->nresv < HT_QCONN_RESERVE_IOV) {
		struct ht_qchunk *k = chunk_get(c);

		if (k == NULL)
			break;
		c->resv[c->nresv++] = k;
		iov[n].iov_base = k->data;
		iov[n].iov_len = max < HT_QSTREAM_CHUNK ? max : HT_QSTREAM_CHUNK;
		max -= iov[n].iov_len;
		n++;
	}
	return n;
}

/* Append the first n reserved bytes (the caller wrote them in place). */
size_t ht_qstream_commit(struct ht_qconn *c, struct ht_qstream *s, size_t n)
{
	size_t done = 0, i = 0;

	if (n > ht_qstream_room(c, s))
		n = ht_qstream_room(c, s);
	while (done < n) {
		size_t l;

		if (s->tail == NULL || s->tail_used == HT_QSTREAM_CHUNK) {
			struct ht_qchunk *k;

			if (i >= c->nresv)
				break;
			k = c->resv[i];
			c->resv[i++] = NULL;
			k->next = NULL;
			if (s->tail != NULL)
				s->tail->next = k;
			else
				s->head = k;
			s->tail = k;
			s->tail_used = 0;
		}
		l = HT_QSTREAM_CHUNK - s->tail_used;
		if (l > n - done)
			l = n - done;
		s->tail_used += l;
		done += l;
	}
	/* Unused reserved chunks go back (keep the order of what is left). */
	for (size_t j = i; j < c->nresv; j++)
		chunk_put(c, c->resv[j]);
	c->nresv = 0;
	s->end += done;
	return done;
}

void ht_qstream_acked(struct ht_qconn *c, struct ht_qstream *s, uint64_t len)
{
	s->acked += len;
	while (len > 0 && s->head != NULL) {
		size_t avail = (s->head == s->tail ? s->tail_used : HT_QSTREAM_CHUNK) - s->head_off;

		if (len < avail) {
			s->head_off += (size_t)len;
			break;
		}
		len -= avail;
		if (s->head == s->tail) {
			/* Everything written so far is acknowledged: start over. */
			s->head_off = s->tail_used;
			break;
		}
		struct ht_qchunk *k = s->head;

		s->head = k->next;
		s->head_off = 0;
		chunk_put(c, k);
	}
	if (s->head != NULL && s->head == s->tail && s->head_off == s->tail_used &&
	    s->acked == s->end) {
		chunk_put(c, s->head);
		s->head = s->tail = NULL;
		s->head_off = s->tail_used = 0;
	}
}

size_t ht_qstream_unsent(const struct ht_qstream *s, ngtcp2_vec *v, size_t nv, size_t *bytes)
{
	uint64_t skip = s->sent - s->acked;
	size_t off = s->head_off, n = 0, total = 0;
	const struct ht_qchunk *k = s->head;

	while (k != NULL && n < nv) {
		size_t lim = k == s->tail ? s->tail_used : HT_QSTREAM_CHUNK;
		size_t avail = lim - off;

		if (skip >= avail) {
			skip -= avail;
		} else {
			v[n].base = (uint8_t *)k->data + off + skip;
			v[n].len = avail - (size_t)skip;
			total += v[n].len;
			n++;
			skip = 0;
		}
		k = k->next;
		off = 0;
	}
	*bytes = total;
	return n;
}

bool ht_qstream_has_unsent(const struct ht_qstream *s)
{
	return !s->wr_shut && (s->sent < s->end || (s->fin_queued && !s->fin_sent));
}

void ht_qstream_ready_add(struct ht_qconn *c, struct ht_qstream *s)
{
	if (s->in_ready)
		return;
	s->in_ready = true;
	if (c->ready == NULL) {
		s->rprev = s->rnext = s;
		c->ready = s;
		return;
	}
	/* Insert before the current head: the end of the round. */
	s->rnext = c->ready;
	s->rprev = c->ready->rprev;
	s->rprev->rnext = s;
	c->ready->rprev = s;
}

void ht_qstream_ready_del(struct ht_qconn *c, struct ht_qstream *s)
{
	if (!s->in_ready)
		return;
	s->in_ready = false;
	if (s->rnext == s) {
		c->ready = NULL;
	} else {
		s->rprev->rnext = s->rnext;
		s->rnext->rprev = s->rprev;
		if (c->ready == s)
			c->ready = s->rnext;
	}
	s->rprev = s->rnext = NULL;
}
