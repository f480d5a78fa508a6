/* Unit tests of src/tunnel/sessions.c: create / join / leave / expire, the
 * identity check, malformed IDs, bounds, and many sessions coming and
 * going (the open-addressing table never loses one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/err.h"
#include "tunnel/sessions.h"

#define T0 (1000 * HT_SECONDS)
#define LINGER (30 * HT_SECONDS)

static const uint8_t ALICE[32] = {0xa1};
static const uint8_t BOB[32] = {0xb0};

static void id_of(uint8_t id[16], unsigned n)
{
	unsigned x = n * 2654435761u;

	memset(id, 0, 16);
	memcpy(id, &x, sizeof(x)); /* the table hashes the first 8 bytes */
	memcpy(id + 8, &n, sizeof(n));
}

static void test_init_bounds(void **state)
{
	struct ht_session_table t;

	(void)state;
	assert_int_equal(ht_session_table_init(&t, 0, LINGER), HT_ERR_INVAL);
	assert_int_equal(ht_session_table_init(&t, (1u << 20) + 1, LINGER), HT_ERR_INVAL);
	assert_int_equal(ht_session_table_init(&t, 4, LINGER), HT_OK);
	ht_session_table_free(&t);
}

static void test_create_join_leave(void **state)
{
	struct ht_session_table t;
	struct ht_session *s, *j;
	uint8_t id[16], other[16];
	int i;

	(void)state;
	assert_int_equal(ht_session_table_init(&t, 4, LINGER), HT_OK);
	id_of(id, 1);
	id_of(other, 2);
	assert_int_equal(ht_session_create(&t, id, ALICE, T0, &s), HT_SESSION_OK);
	assert_int_equal(s->conns, 1);
	assert_int_equal(s->serial, 1);
	assert_int_equal(ht_session_create(&t, id, BOB, T0, &j), HT_SESSION_COLLISION);
	assert_null(j);

	assert_int_equal(ht_session_join(&t, id, 16, ALICE, T0, &j), HT_SESSION_OK);
	assert_ptr_equal(j, s);
	assert_int_equal(s->conns, 2);
	/* another identity, a wrong ID, a short or long ID */
	assert_int_equal(ht_session_join(&t, id, 16, BOB, T0, &j), HT_SESSION_NOT_OWNER);
	assert_null(j);
	assert_int_equal(ht_session_join(&t, other, 16, ALICE, T0, &j), HT_SESSION_UNKNOWN);
	assert_int_equal(ht_session_join(&t, id, 15, ALICE, T0, &j), HT_SESSION_UNKNOWN);
	assert_int_equal(ht_session_join(&t, id, 17, ALICE, T0, &j), HT_SESSION_UNKNOWN);
	assert_int_equal(ht_session_join(&t, NULL, 16, ALICE, T0, &j), HT_SESSION_UNKNOWN);
	/* at most HT_SESSION_CONNS_MAX connections */
	for (i = 2; i < (int)HT_SESSION_CONNS_MAX; i++)
		assert_int_equal(ht_session_join(&t, id, 16, ALICE, T0, &j), HT_SESSION_OK);
	assert_int_equal(ht_session_join(&t, id, 16, ALICE, T0, &j), HT_SESSION_FULL);
	ht_session_table_free(&t);
}

static int gone_count;

static void on_gone(struct ht_session *s, void *arg)
{
	(void)arg;
	assert_int_equal(s->conns, 0);
	gone_count++;
}

static void test_linger_and_expiry(void **state)
{
	struct ht_session_table t;
	struct ht_session *s, *j;
	uint8_t id[16];

	(void)state;
	assert_int_equal(ht_session_table_init(&t, 4, LINGER), HT_OK);
	id_of(id, 7);
	ht_session_create(&t, id, ALICE, T0, &s);
	assert_int_equal(ht_session_next_expiry(&t), HT_TIME_NEVER);
	ht_session_leave(&t, s, T0 + HT_SECONDS);
	assert_int_equal(s->expires, T0 + HT_SECONDS + LINGER);
	assert_int_equal(ht_session_next_expiry(&t), T0 + HT_SECONDS + LINGER);
	/* back within the linger time: the same session */
	assert_int_equal(ht_session_join(&t, id, 16, ALICE, T0 + 10 * HT_SECONDS, &j),
			 HT_SESSION_OK);
	assert_ptr_equal(j, s);
	assert_int_equal(s->expires, 0);
	ht_session_leave(&t, s, T0 + 20 * HT_SECONDS);
	ht_session_leave(&t, s, T0 + 20 * HT_SECONDS); /* extra leave: ignored */
	/* after it: unknown, even before the sweep */
	assert_int_equal(ht_session_join(&t, id, 16, ALICE, T0 + 50 * HT_SECONDS, &j),
			 HT_SESSION_UNKNOWN);
	/* its ID drawn again before the sweep: taken (the sweep's callback
	 * must run first), then free */
	assert_int_equal(ht_session_create(&t, id, BOB, T0 + 50 * HT_SECONDS, &j),
			 HT_SESSION_COLLISION);
	gone_count = 0;
	assert_int_equal(ht_session_expire(&t, T0 + 49 * HT_SECONDS, on_gone, NULL), 0);
	assert_int_equal(ht_session_expire(&t, T0 + 50 * HT_SECONDS, on_gone, NULL), 1);
	assert_int_equal(gone_count, 1);
	assert_int_equal(t.count, 0);
	assert_int_equal(ht_session_create(&t, id, BOB, T0 + 50 * HT_SECONDS, &j), HT_SESSION_OK);
	ht_session_table_free(&t);
}

static void test_full_table(void **state)
{
	struct ht_session_table t;
	struct ht_session *s;
	uint8_t id[16];
	unsigned i;

	(void)state;
	assert_int_equal(ht_session_table_init(&t, 3, LINGER), HT_OK);
	for (i = 0; i < 3; i++) {
		id_of(id, i);
		assert_int_equal(ht_session_create(&t, id, ALICE, T0, &s), HT_SESSION_OK);
	}
	id_of(id, 3);
	assert_int_equal(ht_session_create(&t, id, ALICE, T0, &s), HT_SESSION_FULL);
	ht_session_table_free(&t);
}

/* Sessions with colliding home slots come and go; every live one stays
 * findable (backward-shift deletion keeps the probe chains whole). */
static void test_churn(void **state)
{
	enum { CAP = 64, ROUNDS = 20000 };
	static struct ht_session *live[CAP * 4];
	struct ht_session_table t;
	struct ht_session *s;
	unsigned i, n, seed = 1;
	uint8_t id[16];
	static bool alive[CAP * 4];

	(void)state;
	assert_int_equal(ht_session_table_init(&t, CAP, 0), HT_OK);
	for (n = 0; n < ROUNDS; n++) {
		seed = seed * 1103515245u + 12345u;
		i = (seed >> 16) % (CAP * 4);
		id_of(id, i);
		/* crowd the home slots: only 8 distinct first bytes */
		id[0] = (uint8_t)(i & 7);
		memset(id + 1, 0, 7);
		if (alive[i]) {
			assert_int_equal(ht_session_join(&t, id, 16, ALICE, T0, &s), HT_SESSION_OK);
			s->conns = 1;
			ht_session_leave(&t, s, T0);
			assert_int_equal(ht_session_expire(&t, T0, NULL, NULL), 1);
			alive[i] = false;
		} else if (t.count < CAP) {
			assert_int_equal(ht_session_create(&t, id, ALICE, T0, &live[i]), HT_SESSION_OK);
			alive[i] = true;
		}
		if (n % 1000 == 0) {
			unsigned k, count = 0;

			for (k = 0; k < CAP * 4; k++) {
				id_of(id, k);
				id[0] = (uint8_t)(k & 7);
				memset(id + 1, 0, 7);
				if (alive[k]) {
					count++;
					assert_int_equal(
						ht_session_join(&t, id, 16, ALICE, T0, &s),
						HT_SESSION_OK);
					ht_session_leave(&t, s, T0);
				} else {
					assert_int_equal(
						ht_session_join(&t, id, 16, ALICE, T0, &s),
						HT_SESSION_UNKNOWN);
				}
			}
			assert_int_equal(count, t.count);
		}
	}
	ht_session_table_free(&t);
}

/* A session's pointer survives other sessions leaving the table (entries
 * behind them in a probe chain move; the sessions do not). */
static void test_pointers_stable(void **state)
{
	struct ht_session_table t;
	struct ht_session *a, *b, *j;
	uint8_t ida[16] = {0}, idb[16] = {0};

	(void)state;
	assert_int_equal(ht_session_table_init(&t, 4, 0), HT_OK);
	ida[15] = 1; /* same home slot (first 8 bytes zero), different IDs */
	idb[15] = 2;
	assert_int_equal(ht_session_create(&t, ida, ALICE, T0, &a), HT_SESSION_OK);
	assert_int_equal(ht_session_create(&t, idb, BOB, T0, &b), HT_SESSION_OK);
	b->user = &t;
	ht_session_leave(&t, a, T0);
	assert_int_equal(ht_session_expire(&t, T0, NULL, NULL), 1);
	assert_ptr_equal(b->user, &t); /* b is where it was */
	assert_int_equal(ht_session_join(&t, idb, 16, BOB, T0, &j), HT_SESSION_OK);
	assert_ptr_equal(j, b);
	ht_session_table_free(&t); /* frees b too (ASan checks) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_bounds),
		cmocka_unit_test(test_create_join_leave),
		cmocka_unit_test(test_linger_and_expiry),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_pointers_stable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
