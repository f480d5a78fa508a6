/* Unit tests for src/quic/dgq.c with simulated time: one flow keeps its
 * order, a sparse flow's packet passes the bulk queue (and still keeps
 * its own order), the sparse ring cannot starve the bulk, the bulk ring is
 * bounded, and CoDel drops at the bulk head only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "quic/conn.h"
#include "quic/dgq.h"

#define MS HT_MS

static struct ht_qdgram *pkt(uint32_t flow, uint8_t id, ht_time t)
{
	struct ht_qdgram *d = malloc(sizeof(*d) + 1);

	assert_non_null(d);
	d->t = t;
	d->flow = flow;
	d->len = 1;
	d->data[0] = id;
	return d;
}

/* The id of the next packet at now (and remove it); -1 when empty. */
static int next(struct ht_dgq *q, ht_time now)
{
	struct ht_qdgram *d = ht_dgq_peek(q, now, 0);
	int id;

	if (d == NULL)
		return -1;
	id = d->data[0];
	ht_dgq_pop(q);
	free(d);
	return id;
}

static void test_one_flow_in_order(void **state)
{
	struct ht_dgq q;

	(void)state;
	assert_int_equal(ht_dgq_init(&q, 16, 5 * MS, 100 * MS), 0);
	for (uint8_t i = 0; i < 10; i++)
		assert_true(ht_dgq_push(&q, pkt(7, i, 0)));
	assert_int_equal(ht_dgq_len(&q), 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(next(&q, MS), i);
	assert_int_equal(next(&q, MS), -1);
	/* Unknown flow (0) never takes the sparse ring. */
	assert_true(ht_dgq_push(&q, pkt(0, 1, 0)));
	assert_int_equal(q.slen, 0);
	ht_dgq_free(&q);
}

static void test_sparse_first(void **state)
{
	struct ht_dgq q;

	(void)state;
	assert_int_equal(ht_dgq_init(&q, 64, 5 * MS, 100 * MS), 0);
	for (uint8_t i = 0; i < 20; i++)
		assert_true(ht_dgq_push(&q, pkt(1, i, 0))); /* a bulk burst */
	assert_true(ht_dgq_push(&q, pkt(2, 100, 0)));       /* a ping */
	assert_true(ht_dgq_push(&q, pkt(2, 101, 0)));       /* its flow is queued now */
	assert_int_equal(next(&q, MS), 0);  /* flow 1's first went sparse */
	assert_int_equal(next(&q, MS), 100);
	for (int i = 1; i < 20; i++)
		assert_int_equal(next(&q, MS), i);
	assert_int_equal(next(&q, MS), 101); /* behind the bulk: order of flow 2 kept */
	/* Once its flow has nothing queued, a packet is sparse again. */
	assert_true(ht_dgq_push(&q, pkt(1, 30, 0)));
	assert_true(ht_dgq_push(&q, pkt(1, 31, 0)));
	assert_true(ht_dgq_push(&q, pkt(2, 102, 0)));
	assert_int_equal(next(&q, MS), 30);
	assert_int_equal(next(&q, MS), 102);
	assert_int_equal(next(&q, MS), 31);
	assert_int_equal(q.sparse_sent, 4);
	ht_dgq_free(&q);
}

static void test_sparse_cannot_starve_bulk(void **state)
{
	struct ht_dgq q;
	size_t blen;

	(void)state;
	assert_int_equal(ht_dgq_init(&q, 64, 5 * MS, 100 * MS), 0);
	assert_true(ht_dgq_push(&q, pkt(1, 0, 0)));
	assert_true(ht_dgq_push(&q, pkt(1, 1, 0)));
	assert_true(ht_dgq_push(&q, pkt(1, 2, 0)));
	/* Many flows, one packet each: the sparse ring is bounded and
	 * served at most HT_DGQ_SPARSE_RUN in a row while the bulk waits. */
	for (uint32_t f = 10; f < 10 + 2 * HT_DGQ_SPARSE; f++)
		assert_true(ht_dgq_push(&q, pkt(f, 50, 0)));
	assert_int_equal(q.slen, HT_DGQ_SPARSE);
	blen = q.blen;
	for (int i = 0; i < 2 * (HT_DGQ_SPARSE_RUN + 1); i++)
		assert_true(next(&q, MS) >= 0);
	assert_int_equal(blen - q.blen, 2);
	assert_int_equal(q.slen, HT_DGQ_SPARSE - 2 * HT_DGQ_SPARSE_RUN);
	ht_dgq_free(&q);
}

static void test_bounded(void **state)
{
	struct ht_dgq q;
	struct ht_qdgram *d;

	(void)state;
	assert_int_equal(ht_dgq_init(&q, 4, 5 * MS, 100 * MS), 0);
	for (uint8_t i = 0; i < 5; i++) /* the first goes sparse */
		assert_true(ht_dgq_push(&q, pkt(1, i, 0)));
	d = pkt(1, 9, 0);
	assert_false(ht_dgq_push(&q, d));
	free(d);
	ht_dgq_free(&q); /* frees the 5 queued packets */
	assert_int_equal(ht_dgq_init(&q, 0, 5 * MS, 100 * MS), HT_QERR_NOMEM);
}

/* A lowered limit refuses new bulk packets but keeps those queued; the
 * limit never exceeds the slots or drops below one. */
static void test_limit(void **state)
{
	struct ht_dgq q;
	struct ht_qdgram *d;

	(void)state;
	assert_int_equal(ht_dgq_init(&q, 8, 5 * MS, 100 * MS), 0);
	for (uint8_t i = 0; i < 7; i++) /* 1 sparse + 6 bulk */
		assert_true(ht_dgq_push(&q, pkt(1, i, 0)));
	ht_dgq_set_limit(&q, 4);
	d = pkt(1, 9, 0);
	assert_false(ht_dgq_push(&q, d));
	assert_int_equal(q.blen, 6);
	ht_dgq_set_limit(&q, 100);
	assert_int_equal(q.limit, 8);
	assert_true(ht_dgq_push(&q, d));
	assert_int_equal(q.blen, 7);
	ht_dgq_set_limit(&q, 0);
	assert_int_equal(q.limit, 1);
	ht_dgq_free(&q);
}

static void test_codel_on_bulk(void **state)
{
	struct ht_dgq q;
	unsigned sent = 0;
	ht_time now;

	(void)state;
	assert_int_equal(ht_dgq_init(&q, 256, 5 * MS, 100 * MS), 0);
	/* A standing bulk queue: 30 packets, each 30 ms old when it leaves. */
	for (now = 1000 * MS; now < 1400 * MS; now += MS) {
		while (ht_dgq_len(&q) < 30)
			assert_true(ht_dgq_push(&q, pkt(1, 1, now - 30 * MS)));
		if (next(&q, now) >= 0)
			sent++;
	}
	assert_true(q.codel.drops > 0);
	assert_int_equal(sent, 400);
	/* A sparse packet as old is not dropped: CoDel is not asked. */
	assert_true(ht_dgq_push(&q, pkt(2, 7, now - 30 * MS)));
	assert_int_equal(next(&q, now), 7);
	ht_dgq_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_flow_in_order),
		cmocka_unit_test(test_sparse_first),
		cmocka_unit_test(test_sparse_cannot_starve_bulk),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_codel_on_bulk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
