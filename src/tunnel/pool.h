/* hatun — tunnel address pools (`--pool 4:CIDR`, `--pool 6:CIDR`).
 *
 * Each authenticated client gets one host address per pool, stable per
 * client certificate fingerprint across reconnects and concentrator
 * restarts without any stored state: the address is the first free one of
 * a deterministic probe sequence derived from the fingerprint (a 64-bit
 * hash of fingerprint ‖ probe number, reduced to the pool's host range).
 * Same fingerprint, same pool → same first probe; a collision moves the
 * later client to its next probe, and it keeps that address while the
 * concentrator runs (leases are sticky: a released lease stays reserved
 * for its fingerprint and is only taken back when a new client's probes
 * find nothing free).  The first host (.1 / ::1 of the prefix) is the
 * concentrator's own tunnel address; IPv4 network and broadcast
 * addresses are never handed out.
 *
 * Addresses are 16 bytes, IPv4 in IPv4-mapped form.  A lease has an owner
 * pointer (the client connection) while it is in use: that is the
 * concentrator's routing table (destination address → connection) and its
 * ingress filter (source address → must be the sender's lease).
 */
#ifndef HATUN_TUNNEL_POOL_H
#define HATUN_TUNNEL_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quic/identity.h"

struct ht_pool;

/* Parse "4:CIDR" / "6:CIDR" (the --pool argument).  The version must match
 * the address; host bits must be 0; IPv4 /8../30, IPv6 /64../126 (at least
 * 2 client addresses, at most 2^64 hosts).  Returns 0, or -1 with a
 * reason in err. */
int ht_pool_parse(const char *arg, int *version, uint8_t prefix[16], uint8_t *plen, char *err,
		  size_t errlen);

/* Parse an IPv4 or IPv6 CIDR prefix ("192.0.2.0/24", "2001:db8::/32") with
 * no host bits set; plen counts the version's own bits.  Returns 0 or -1. */
int ht_cidr_parse(const char *s, uint8_t addr[16], uint8_t *plen);

/* A pool over prefix/plen (as ht_pool_parse checked it).  NULL: no memory. */
struct ht_pool *ht_pool_new(int version, const uint8_t prefix[16], uint8_t plen);
void ht_pool_free(struct ht_pool *p);

int ht_pool_version(const struct ht_pool *p);
uint8_t ht_pool_plen(const struct ht_pool *p);
void ht_pool_prefix(const struct ht_pool *p, uint8_t out[16]);
/* The concentrator's own address in the pool (first host). */
void ht_pool_gateway(const struct ht_pool *p, uint8_t out[16]);
/* True when a is inside the pool's prefix. */
bool ht_pool_contains(const struct ht_pool *p, const uint8_t a[16]);

/* Lease an address for fingerprint fp to owner (not NULL).  The same
 * fingerprint gets the same address again; if another connection of the
 * same fingerprint holds it, the new one takes it over (the older one is a
 * dead connection not yet timed out, or a duplicate: the newest wins).
 * Returns 0 with the address in out, or HT_ERR_NOBUF (pool exhausted),
 * HT_QERR_NOMEM. */
int ht_pool_lease(struct ht_pool *p, const uint8_t fp[HT_FP_LEN], void *owner, uint8_t out[16]);

/* The owner's connection ended: the lease stays reserved for its
 * fingerprint (no-op if another owner took it over meanwhile). */
void ht_pool_release(struct ht_pool *p, const uint8_t a[16], void *owner);

/* The connection that holds a now, or NULL. */
void *ht_pool_owner(const struct ht_pool *p, const uint8_t a[16]);

/* Leases in use / reserved in total. */
size_t ht_pool_active(const struct ht_pool *p);
size_t ht_pool_leases(const struct ht_pool *p);

#endif
