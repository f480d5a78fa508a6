/* hatun — a small bounded cache of name -> (SOCKS outcome, address) for the
 * resolver (resolver.h).  Pure: the caller passes the time; no allocation
 * (the entries live in the struct), no I/O.
 *
 * - Names are compared ASCII case-insensitively, a trailing dot ignored.
 * - Positive answers live min(ttl, DNSCACHE_TTL_MAX) seconds; negative ones
 *   (host unreachable: NXDOMAIN / NODATA) DNSCACHE_NEG_TTL seconds; general
 *   failures are never cached (the next lookup asks again).
 * - A TTL of 0 is not cached.  When full, the entry closest to expiry (an
 *   expired one first) is replaced.
 */
#ifndef HATUN_TUNNEL_DNSCACHE_H
#define HATUN_TUNNEL_DNSCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

#define DNSCACHE_SIZE 128u
#define DNSCACHE_NAME_MAX 253u
#define DNSCACHE_TTL_MAX 300u /* seconds */
#define DNSCACHE_NEG_TTL 10u  /* seconds */

struct dnscache_entry {
	ht_time expires; /* 0: free */
	uint8_t rep;     /* SOCKS REP: 0 ok, 4 host unreachable */
	uint8_t addr[16];
	uint8_t name_len;
	char name[DNSCACHE_NAME_MAX];
};

struct dnscache {
	struct dnscache_entry e[DNSCACHE_SIZE];
	uint64_t hits, misses;
};

void dnscache_init(struct dnscache *c);

/* Store an outcome (rep 0 with addr, or 4) for name, ttl in seconds (only
 * read for rep 0).  Other reps, empty or too long names are ignored. */
void dnscache_put(struct dnscache *c, const char *name, size_t len, uint8_t rep,
		  const uint8_t addr[16], uint32_t ttl, ht_time now);

/* Look name up: true with *rep (and addr when *rep is 0) on a live entry. */
bool dnscache_get(struct dnscache *c, const char *name, size_t len, ht_time now, uint8_t *rep,
		  uint8_t addr[16]);

#endif
