/* hatun — the concentrator's destination policy (sans-I/O).
 *
 * Decides whether the concentrator may open a TCP connection to an address
 * on a client's behalf.  It is consulted with the address actually about to
 * be connected to — after name resolution, for every address tried — never
 * with a name.  In order:
 *
 *   1. DENY_SPECIAL      addresses a proxy must never reach, whatever the
 *                        rules say: unspecified (0.0.0.0/8, ::), loopback
 *                        (127.0.0.0/8, ::1), multicast (224.0.0.0/4,
 *                        ff00::/8), broadcast (255.255.255.255), link-local
 *                        (169.254.0.0/16, fe80::/10) — ht_addr_classify() —
 *                        and port 0;
 *   2. DENY_OWN          inside one of the concentrator's own prefixes;
 *   3. the longest matching allow or deny prefix decides: a /24 allow inside
 *      a /8 deny allows its /24, a /32 deny inside a /16 allow denies its
 *      host; on a tie (the same prefix in both lists) deny wins;
 *      → ALLOW or DENY_RULE;
 *   4. no prefix matches: ALLOW if the allow list is empty, otherwise
 *      DENY_NOT_ALLOWED.
 *
 * Addresses are 16 bytes, IPv4 in IPv4-mapped form (::ffff:a.b.c.d), so one
 * matcher serves both families; but the families do not leak into each
 * other: an IPv4 rule matches only IPv4(-mapped) addresses and an IPv6 rule
 * only non-mapped ones, so "::/0" is every IPv6 address and no IPv4 one.  An
 * IPv6-notation prefix inside ::ffff:0:0/96 of length >= 96 is the IPv4 rule
 * it spells ("::ffff:192.0.2.0/120" = "192.0.2.0/24").  The IPv4-compatible
 * form ::a.b.c.d (deprecated, RFC 4291 §2.5.5.1) and NAT64 prefixes such as
 * 64:ff9b::/96 (RFC 6052) are NOT treated as IPv4: they are IPv6 addresses
 * here, matched only by IPv6 rules.
 *
 * The policy object is plain storage the caller owns (about 10 KiB): no
 * allocation, no I/O, no globals.  Build it once, then share it read-only.
 */
#ifndef HATUN_PROTO_POLICY_H
#define HATUN_PROTO_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

#define HT_POLICY_MAX_ALLOW 256u
#define HT_POLICY_MAX_DENY 256u
#define HT_POLICY_MAX_OWN 64u

/* Longest CIDR string accepted, without a terminator
 * ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128"). */
#define HT_POLICY_CIDR_MAX 49u

/* A prefix in the 16-byte space: IPv4 prefixes as ::ffff:a.b.c.d/(96 + n). */
struct ht_prefix {
	uint8_t addr[16]; /* host bits are zero */
	uint8_t len;      /* 0..128; 96..128 for IPv4 */
	bool v4;          /* an IPv4 prefix: matches only IPv4-mapped addresses */
};

struct ht_policy {
	struct ht_prefix allow[HT_POLICY_MAX_ALLOW];
	struct ht_prefix deny[HT_POLICY_MAX_DENY];
	struct ht_prefix own[HT_POLICY_MAX_OWN];
	size_t n_allow, n_deny, n_own;
};

enum ht_policy_verdict {
	HT_POLICY_ALLOW = 0,
	HT_POLICY_DENY_SPECIAL,     /* special-purpose address or port 0 */
	HT_POLICY_DENY_OWN,         /* one of the concentrator's own addresses */
	HT_POLICY_DENY_RULE,        /* the longest matching prefix is a deny */
	HT_POLICY_DENY_NOT_ALLOWED, /* allow list non-empty, nothing matched */
};

/* An empty policy: allows everything but the special and own addresses. */
void ht_policy_init(struct ht_policy *p);

/* Parse "a.b.c.d/n" (n 0..32), "x:x::x/n" (n 0..128), or a bare address
 * (a host prefix: /32, /128).  Strict: dotted-decimal IPv4 with four parts
 * and no leading zeros, IPv6 as inet_pton(3) takes it (no zone "%eth0"),
 * decimal prefix length without sign, spaces or leading zeros, and no host
 * bits set ("10.0.0.1/8" is refused: operators typo, and silently masking
 * would turn a host rule into a network rule).
 * Returns HT_OK, or HT_ERR_BAD_VALUE (anything else, including "" and a NUL
 * inside s), HT_ERR_INVAL (out NULL, s NULL with len > 0). */
int ht_policy_parse_cidr(struct ht_prefix *out, const char *s, size_t len);

/* Add a CIDR (ht_policy_parse_cidr syntax) to a list.  On error nothing is
 * added.  Returns HT_OK, or
 *   HT_ERR_BAD_VALUE  not a valid CIDR;
 *   HT_ERR_DUPLICATE  the very same prefix is already in that list (harmless;
 *                     worth a warning);
 *   HT_ERR_NOBUF      that list is full;
 *   HT_ERR_INVAL      p NULL, s NULL with len > 0. */
int ht_policy_add_allow(struct ht_policy *p, const char *s, size_t len);
int ht_policy_add_deny(struct ht_policy *p, const char *s, size_t len);
int ht_policy_add_own_address(struct ht_policy *p, const char *s, size_t len);

/* Add one of the concentrator's own addresses in 16-byte form (from
 * getifaddrs() via ht_policy_addr16_from_sockaddr()).  Same returns. */
int ht_policy_add_own_addr16(struct ht_policy *p, const uint8_t addr16[16]);

/* The verdict for connecting to addr16 (IPv4-mapped for IPv4) port `port`.
 * p NULL or addr16 NULL → HT_POLICY_DENY_SPECIAL (fail closed). */
enum ht_policy_verdict ht_policy_check(const struct ht_policy *p, const uint8_t addr16[16],
                                       uint16_t port);

static inline bool ht_policy_allowed(enum ht_policy_verdict v)
{
	return v == HT_POLICY_ALLOW;
}

/* "allow", "deny-special", "deny-own", "deny-rule", "deny-not-allowed";
 * never NULL. */
const char *ht_policy_verdict_str(enum ht_policy_verdict v);

/* The canonical 16-byte form and port (host order) of a sockaddr_in
 * (→ ::ffff:a.b.c.d) or sockaddr_in6 (copied; an IPv4-mapped one is already
 * canonical).  port may be NULL.  Returns HT_OK, or HT_ERR_BAD_TYPE (another
 * family), HT_ERR_TRUNCATED (salen too small for the family), HT_ERR_INVAL
 * (NULL arguments). */
int ht_policy_addr16_from_sockaddr(uint8_t out[16], uint16_t *port, const struct sockaddr *sa,
                                   size_t salen);

#endif
