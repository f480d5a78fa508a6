/* hatun — a bounded, expiring set of destinations (address:port).  Two
 * users: the Convert client's MPTCP-capable destinations
 * (draft-ietf-tcpm-converters-02 §3.3: a client that learns from the
 * Extended TCP Header that a server speaks MPTCP connects to it directly
 * next time), and the converter's destinations that answered an MPTCP
 * connect as plain TCP (reached over plain TCP until the entry expires:
 * docs/protocol/convert.md "Upstream").  Sans-I/O: the caller passes the
 * time.  A fixed array (CV_CACHE_SLOTS entries, no allocation); an entry
 * expires after the caller's ttl; a full cache replaces the entry that
 * expires first.
 */
#ifndef HATUN_CONVERT_CVCACHE_H
#define HATUN_CONVERT_CVCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

#define CV_CACHE_SLOTS 256

struct cv_cache_ent {
	uint8_t addr[16];
	uint16_t port;
	ht_time expires; /* 0 = free */
};

struct cv_cache {
	struct cv_cache_ent e[CV_CACHE_SLOTS];
	ht_time ttl;
};

void cv_cache_init(struct cv_cache *c, ht_time ttl);

/* Remember addr:port as MPTCP-capable until now + ttl (refreshes). */
void cv_cache_put(struct cv_cache *c, const uint8_t addr[16], uint16_t port, ht_time now);

/* Whether addr:port is known MPTCP-capable (and not expired) at now. */
bool cv_cache_has(const struct cv_cache *c, const uint8_t addr[16], uint16_t port, ht_time now);

/* Forget addr:port (a direct connection to it failed or fell back). */
void cv_cache_del(struct cv_cache *c, const uint8_t addr[16], uint16_t port);

/* Entries not expired at now. */
size_t cv_cache_count(const struct cv_cache *c, ht_time now);

#endif
