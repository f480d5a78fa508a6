/* hatun — the concentrator's table of tunneling sessions (sessions.h). */
#include "tunnel/sessions.h"

#include <stdlib.h>
#include <string.h>

#include "proto/err.h"

/* IDs are uniformly random: their first bytes are the hash. */
static size_t home(const struct ht_session_table *t, const uint8_t *id)
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	return (size_t)h & t->mask;
}

/* Constant time, so that probing for IDs learns nothing from timing. */
static bool same(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= (uint8_t)(a[i] ^ b[i]);
	return d == 0;
}

/* The slot holding id, or the empty slot where its probe chain ends. */
static size_t find_slot(const struct ht_session_table *t, const uint8_t *id)
{
	size_t i = home(t, id);

	while (t->slot[i] != NULL) {
		if (same(t->slot[i]->id, id, HT_SESSION_ID_LEN))
			return i;
		i = (i + 1) & t->mask;
	}
	return i;
}

static struct ht_session *find(const struct ht_session_table *t, const uint8_t *id)
{
	return t->slot[find_slot(t, id)];
}

/* Linear probing with backward-shift deletion: no tombstones, so lookups
 * never slow down as sessions come and go. */
static void erase(struct ht_session_table *t, struct ht_session *s)
{
	size_t hole = find_slot(t, s->id), i = hole;

	for (;;) {
		size_t h;

		i = (i + 1) & t->mask;
		if (t->slot[i] == NULL)
			break;
		h = home(t, t->slot[i]->id);
		/* slot i may move into the hole unless its home lies
		 * cyclically in (hole, i] */
		if (((i - h) & t->mask) >= ((i - hole) & t->mask)) {
			t->slot[hole] = t->slot[i];
			hole = i;
		}
	}
	t->slot[hole] = NULL;
	t->count--;
	free(s);
}

int ht_session_table_init(struct ht_session_table *t, size_t cap, ht_time linger)
{
	size_t n = 16;

	memset(t, 0, sizeof(*t));
	if (cap == 0 || cap > ((size_t)1 << 20))
		return HT_ERR_INVAL;
	while (n < 2 * cap) /* load factor <= 1/2 */
		n <<= 1;
	t->slot = calloc(n, sizeof(*t->slot));
	if (t->slot == NULL)
		return HT_ERR_NOBUF;
	t->cap = cap;
	t->mask = n - 1;
	t->linger = linger;
	t->next_serial = 1;
	return HT_OK;
}

void ht_session_table_free(struct ht_session_table *t)
{
	size_t i;

	for (i = 0; t->slot != NULL && i <= t->mask; i++)
		free(t->slot[i]);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

static bool expired(const struct ht_session *s, ht_time now)
{
	return s->conns == 0 && now >= s->expires;
}

enum ht_session_result ht_session_create(struct ht_session_table *t,
					 const uint8_t id[HT_SESSION_ID_LEN],
					 const uint8_t owner[HT_SESSION_OWNER_LEN], ht_time now,
					 struct ht_session **out)
{
	struct ht_session *s;

	*out = NULL;
	/* The ID is taken even by an expired session not yet swept: it goes
	 * only through ht_session_expire, whose callback frees what the
	 * layer above hung on it.  The caller draws another ID. */
	if (find(t, id) != NULL)
		return HT_SESSION_COLLISION;
	if (t->count >= t->cap)
		return HT_SESSION_FULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return HT_SESSION_NOMEM;
	t->slot[find_slot(t, id)] = s;
	memcpy(s->id, id, HT_SESSION_ID_LEN);
	memcpy(s->owner, owner, HT_SESSION_OWNER_LEN);
	s->conns = 1;
	s->created = now;
	s->expires = 0;
	s->serial = t->next_serial++;
	t->count++;
	*out = s;
	return HT_SESSION_OK;
}

enum ht_session_result ht_session_join(struct ht_session_table *t, const uint8_t *id,
				       size_t id_len,
				       const uint8_t owner[HT_SESSION_OWNER_LEN], ht_time now,
				       struct ht_session **out)
{
	struct ht_session *s;

	*out = NULL;
	if (id == NULL || id_len != HT_SESSION_ID_LEN)
		return HT_SESSION_UNKNOWN;
	s = find(t, id);
	if (s == NULL || expired(s, now))
		return HT_SESSION_UNKNOWN;
	if (!same(s->owner, owner, HT_SESSION_OWNER_LEN))
		return HT_SESSION_NOT_OWNER;
	if (s->conns >= HT_SESSION_CONNS_MAX)
		return HT_SESSION_FULL;
	s->conns++;
	s->expires = 0;
	*out = s;
	return HT_SESSION_OK;
}

const struct ht_session *ht_session_lookup(const struct ht_session_table *t, const uint8_t *id,
					   size_t id_len, ht_time now)
{
	const struct ht_session *s;

	if (id == NULL || id_len != HT_SESSION_ID_LEN)
		return NULL;
	s = find(t, id);
	return s != NULL && !expired(s, now) ? s : NULL;
}

void ht_session_leave(struct ht_session_table *t, struct ht_session *s, ht_time now)
{
	if (s == NULL || s->conns == 0)
		return;
	if (--s->conns == 0)
		s->expires = now + t->linger;
}

size_t ht_session_expire(struct ht_session_table *t, ht_time now,
			 void (*gone)(struct ht_session *s, void *arg), void *arg)
{
	size_t i = 0, n = 0;

	/* erase() may shift a later entry into slot i: look at i again. */
	while (i <= t->mask) {
		struct ht_session *s = t->slot[i];

		if (s != NULL && expired(s, now)) {
			if (gone != NULL)
				gone(s, arg);
			erase(t, s);
			n++;
			continue;
		}
		i++;
	}
	return n;
}

ht_time ht_session_next_expiry(const struct ht_session_table *t)
{
	ht_time next = HT_TIME_NEVER;
	size_t i;

	for (i = 0; i <= t->mask; i++)
		if (t->slot[i] != NULL && t->slot[i]->conns == 0 && t->slot[i]->expires < next)
			next = t->slot[i]->expires;
	return next;
}
