/* hatun — the client's per-destination transport rules (sans-I/O).
 *
 * `hatun client --convert-dest SPEC --tunnel-dest SPEC ...` (also config
 * file keys) build ONE ordered list; the first rule that matches a
 * destination (address and port) says whether its connection goes through
 * the QUIC tunnel or the Transport Converter; no match → the client's
 * `--transport`.  SPEC:
 *
 *   any                  every address of both families, every port
 *   any:PORTS            every address, those ports
 *   CIDR4[:PORTS]        198.51.100.0/24, 198.51.100.7 (= /32), 198.51.100.7:443
 *   CIDR6                2001:db8::/32, 2001:db8::1 (= /128): no port
 *   [CIDR6][:PORTS]      [2001:db8::/32]:80-90, [2001:db8::1]
 *   PORTS                P or LO-HI, decimal 1-65535 without leading zeros,
 *                        LO <= HI
 *
 * CIDRs are ht_policy_parse_cidr()'s (proto/policy.h): strict dotted
 * decimal, no host bits, families kept apart (an IPv4 rule matches only
 * IPv4(-mapped) destinations, an IPv6 rule only IPv6 ones; "any" both).
 *
 * The list is plain storage the caller owns (~2.5 KiB), bounded by
 * HT_ROUTE_MAX_RULES; no allocation, no I/O.
 */
#ifndef HATUN_PROTO_ROUTE_RULE_H
#define HATUN_PROTO_ROUTE_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/policy.h"

#define HT_ROUTE_MAX_RULES 64u
/* Longest SPEC accepted, without a terminator: "[" CIDR6 "]:" 5 "-" 5. */
#define HT_ROUTE_SPEC_MAX (HT_POLICY_CIDR_MAX + 14u)
/* A buffer that holds any formatted rule with its terminator. */
#define HT_ROUTE_SPEC_STRLEN 80u

enum ht_route_via {
	HT_ROUTE_TUNNEL = 0,  /* the QUIC tunnel (stream mode) */
	HT_ROUTE_CONVERT = 1, /* the Transport Converter */
};

struct ht_route_rule {
	struct ht_prefix pfx;     /* unused when any */
	bool any;                 /* every address, both families */
	uint16_t port_lo, port_hi; /* inclusive; 0-65535 when SPEC names no port */
	uint8_t via;              /* enum ht_route_via */
};

struct ht_route_rules {
	struct ht_route_rule rule[HT_ROUTE_MAX_RULES];
	size_t n;
};

void ht_route_rules_init(struct ht_route_rules *rs);

/* Parse one SPEC (s need not be terminated).  out->via is left
 * HT_ROUTE_TUNNEL.  Returns HT_OK, or
 *   HT_ERR_TOO_LONG     longer than HT_ROUTE_SPEC_MAX;
 *   HT_ERR_BAD_ADDRESS  the address part is not a CIDR (or empty, or "[...]"
 *                       around an IPv4 one, or an unclosed "[");
 *   HT_ERR_BAD_VALUE    the port part: not a port 1-65535, a range LO > HI,
 *                       an IPv6 CIDR with a port but no brackets, bytes
 *                       after "]" that are not ":PORTS", a NUL inside;
 *   HT_ERR_INVAL        out NULL, or s NULL with len > 0.
 * *why (may be NULL) gets a constant one-line reason on error. */
int ht_route_rule_parse(struct ht_route_rule *out, const char *s, size_t len, const char **why);

/* Parse SPEC and append it with `via`.  On error nothing is added.  Same
 * returns, plus HT_ERR_NOBUF when the list already has HT_ROUTE_MAX_RULES
 * and HT_ERR_INVAL for rs NULL or an unknown via. */
int ht_route_rules_add(struct ht_route_rules *rs, enum ht_route_via via, const char *s, size_t len,
		       const char **why);

/* The index of the first rule matching addr16 (IPv4-mapped for IPv4) and
 * port, or -1 when none does (also for rs or addr16 NULL). */
int ht_route_rules_match(const struct ht_route_rules *rs, const uint8_t addr16[16], uint16_t port);

/* The canonical SPEC of r ("any", "198.51.100.7/32:443",
 * "[2001:db8::/32]:80-90", "2001:db8::/32"), which parses back to the same
 * rule.  Returns its length, or HT_ERR_NOBUF (cap too small; out is then
 * ""), HT_ERR_INVAL. */
int ht_route_rule_format(const struct ht_route_rule *r, char *out, size_t cap);

/* "tunnel" or "convert"; never NULL. */
const char *ht_route_via_str(enum ht_route_via v);

#endif
