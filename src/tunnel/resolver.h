/* hatun — host names resolved THROUGH the tunnel (docs/protocol/dns.md).
 *
 * A lookup is one tunnelled TCP connection to the resolver (--dns): the
 * resolver keeps one end of a socketpair, and the owner (the client) turns
 * the other end into an ordinary tunnelled connection (a relay with TCP
 * Connect to the resolver's address), exactly like a -L connection.  On its
 * end the resolver writes two pipelined DNS-over-TCP queries, A and AAAA
 * (RFC 7766 §6.2.1.1), and reads the answers.  One connection per lookup:
 * no connection state to keep or retry, and the cache below makes repeated
 * names free.  Nothing is ever resolved on the local network.
 *
 * Answer: the first address of the A answer, else the first of the AAAA
 * answer (the concentrator's IPv4 reachability is the common case; an
 * IPv6-only name still works).  Failures map to SOCKS REP codes with
 * dns_outcome() / dns_outcome_merge(): 4 (host unreachable) for NXDOMAIN or
 * no address, 1 (general failure) for anything else, a timeout included.
 *
 * Bounds: HT_RESOLVER_MAX_INFLIGHT lookups at once (beyond: REP 1 at once),
 * HT_RESOLVER_TIMEOUT per lookup, responses up to HT_RESOLVER_RXMAX bytes,
 * a DNSCACHE_SIZE entry cache (TTL capped at 300 s, negative 10 s).
 */
#ifndef HATUN_TUNNEL_RESOLVER_H
#define HATUN_TUNNEL_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

#define HT_RESOLVER_MAX_INFLIGHT 64u
#define HT_RESOLVER_TIMEOUT (5 * HT_SECONDS)
#define HT_RESOLVER_RXMAX 8192u

struct ht_resolver;
struct ht_lookup;

/* The outcome: rep 0 and the address (IPv4-mapped for IPv4), or the SOCKS
 * REP of the failure and a short reason for a log line. */
typedef void (*ht_lookup_cb)(void *arg, uint8_t rep, const uint8_t addr[16], const char *why);

/* The owner carries fd (the resolver's connection) through the tunnel;
 * returns 0, or -1 when it could not (it closed fd then). */
typedef int (*ht_resolver_open_fn)(void *owner, int fd);

int ht_resolver_new(struct ht_resolver **out, struct ht_loop *loop, ht_resolver_open_fn open,
		    void *owner);
void ht_resolver_free(struct ht_resolver *rs);

/* Resolve name (len bytes, not NUL-terminated).  Returns
 *   1  answered from the cache: *rep, addr set, cb never called;
 *   0  in progress: *lk is the handle, cb(arg, ...) runs exactly once later
 *      unless ht_lookup_cancel(*lk) runs first;
 *  -1  failed at once: *rep and *why say why (bad name, too many lookups). */
int ht_resolver_lookup(struct ht_resolver *rs, const char *name, size_t len, ht_lookup_cb cb,
		       void *arg, struct ht_lookup **lk, uint8_t *rep, uint8_t addr[16],
		       const char **why);

/* Forget a lookup in progress (its callback will not run). */
void ht_lookup_cancel(struct ht_lookup *lk);

/* Cache hits / lookups sent / in flight, for status. */
void ht_resolver_counts(const struct ht_resolver *rs, uint64_t *hits, uint64_t *sent,
			size_t *inflight);

#endif
