/* hatun — the concentrator's table of tunneling sessions (quic-tunnel-01
 * §6, §7.1; issue 5).  Pure: the caller passes the time and the random
 * Session ID (from a CSPRNG: gnutls_rnd(GNUTLS_RND_KEY, ...)), and maps the
 * results to control-stream reactions.
 *
 * - A session belongs to the client identity that created it (the SHA-256
 *   fingerprint of its certificate).  A Join naming it from any other
 *   identity is refused exactly like an unknown ID, so that the answer
 *   tells a stranger nothing (docs/protocol/sessions.md), and logged.
 * - A session lives while it has connections, then `linger` more (a client
 *   that lost every path can come back to the same session, its addresses
 *   and its Packet Tag space), then expires: its ID is never valid again.
 * - Bounded: `cap` sessions, HT_SESSION_CONNS_MAX connections each.
 */
#ifndef HATUN_TUNNEL_SESSIONS_H
#define HATUN_TUNNEL_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

#define HT_SESSION_ID_LEN 16u    /* 128 bits, what hatun issues */
#define HT_SESSION_OWNER_LEN 32u /* SHA-256 fingerprint */
#define HT_SESSION_CONNS_MAX 8u

enum ht_session_result {
	HT_SESSION_OK = 0,
	HT_SESSION_UNKNOWN,   /* no such ID (or expired, or malformed) */
	HT_SESSION_NOT_OWNER, /* the ID exists, but for another identity */
	HT_SESSION_FULL,      /* the table, or the session's connections */
	HT_SESSION_COLLISION, /* create: the random ID is taken; draw again */
	HT_SESSION_NOMEM,
};

struct ht_session {
	uint8_t id[HT_SESSION_ID_LEN];
	uint8_t owner[HT_SESSION_OWNER_LEN];
	unsigned conns;  /* connections in the session now */
	ht_time created;
	ht_time expires; /* 0 while it has connections */
	uint64_t serial; /* a small number for logs, unique per table */
	void *user;      /* the layer above's session object */
};

/* Sessions are allocated one by one, so a struct ht_session * stays valid
 * until the session expires (the table itself moves only pointers). */
struct ht_session_table {
	size_t cap, count, mask;
	ht_time linger;
	uint64_t next_serial;
	struct ht_session **slot; /* mask + 1 entries, open addressing */
};

/* Returns HT_OK, or HT_ERR_INVAL (cap 0 or above 1 << 20), or
 * HT_ERR_NOBUF (out of memory).  _free frees every session left (their
 * user pointers are the caller's business). */
int ht_session_table_init(struct ht_session_table *t, size_t cap, ht_time linger);
void ht_session_table_free(struct ht_session_table *t);

/* New Session: a session with this random ID, owned by `owner`, with one
 * connection.  HT_SESSION_COLLISION when a session with that ID is still
 * in the table (even expired, until ht_session_expire removes it). */
enum ht_session_result ht_session_create(struct ht_session_table *t,
					 const uint8_t id[HT_SESSION_ID_LEN],
					 const uint8_t owner[HT_SESSION_OWNER_LEN], ht_time now,
					 struct ht_session **out);

/* Join Session: adds a connection to the session named by id (any length
 * from the wire: only HT_SESSION_ID_LEN can match). */
enum ht_session_result ht_session_join(struct ht_session_table *t, const uint8_t *id,
				       size_t id_len,
				       const uint8_t owner[HT_SESSION_OWNER_LEN], ht_time now,
				       struct ht_session **out);

/* The live session named by id (for log lines), or NULL. */
const struct ht_session *ht_session_lookup(const struct ht_session_table *t, const uint8_t *id,
					   size_t id_len, ht_time now);

/* A connection of s closed.  The last one starts the linger time. */
void ht_session_leave(struct ht_session_table *t, struct ht_session *s, ht_time now);

/* Remove (and free) the sessions whose time is up, calling gone(s, arg)
 * for each just before (s->user is still there to free).  Returns how
 * many. */
size_t ht_session_expire(struct ht_session_table *t, ht_time now,
			 void (*gone)(struct ht_session *s, void *arg), void *arg);

/* When the next session expires, or HT_TIME_NEVER. */
ht_time ht_session_next_expiry(const struct ht_session_table *t);

#endif
