/* hatun — destination policy.  See policy.h. */
#include "policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "err.h"

#define SPECIAL_CLASSES                                                                            \
	(HT_ADDR_UNSPECIFIED | HT_ADDR_LOOPBACK | HT_ADDR_MULTICAST | HT_ADDR_BROADCAST |          \
	 HT_ADDR_LINKLOCAL)

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void ht_policy_init(struct ht_policy *p)
{
	if (p != NULL)
		memset(p, 0, sizeof(*p));
}

/* ---- parsing ------------------------------------------------------------ */

/* Strict dotted decimal: exactly four parts of 1-3 digits, 0..255, no
 * leading zeros (inet_aton would read "010" as octal 8 and "1.2" as
 * 1.0.0.2; an operator means neither). */
static bool parse_v4(uint8_t out[4], const char *s, size_t len)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		size_t start = i;

		if (part > 0) {
			if (i >= len || s[i] != '.')
				return false;
			start = ++i;
		}
		while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return false;
		out[part] = (uint8_t)v;
	}
	return i == len;
}

static bool parse_v6(uint8_t out[16], const char *s, size_t len)
{
	char buf[HT_POLICY_CIDR_MAX + 1];

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1;
}

/* Decimal 0..max, no sign, no leading zero, at most 3 digits. */
static bool parse_plen(unsigned *out, const char *s, size_t len, unsigned max)
{
	unsigned v = 0;

	if (len == 0 || len > 3 || (s[0] == '0' && len > 1))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool host_bits_zero(const uint8_t a[16], unsigned len)
{
	for (unsigned i = len / 8; i < 16; i++) {
		uint8_t mask = i == len / 8 ? (uint8_t)(0xffu >> (len % 8)) : 0xffu;

		if (a[i] & mask)
			return false;
	}
	return true;
}

int ht_policy_parse_cidr(struct ht_prefix *out, const char *s, size_t len)
{
	const char *slash;
	size_t alen;
	unsigned plen;
	struct ht_prefix p;

	if (out == NULL || (s == NULL && len > 0))
		return HT_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (len == 0 || len > HT_POLICY_CIDR_MAX || memchr(s, '\0', len) != NULL)
		return HT_ERR_BAD_VALUE;
	memset(&p, 0, sizeof(p));
	slash = memchr(s, '/', len);
	alen = slash != NULL ? (size_t)(slash - s) : len;
	if (memchr(s, ':', alen) != NULL) {
		if (!parse_v6(p.addr, s, alen))
			return HT_ERR_BAD_VALUE;
		plen = 128;
		if (slash != NULL && !parse_plen(&plen, slash + 1, len - alen - 1, 128))
			return HT_ERR_BAD_VALUE;
		/* ::ffff:a.b.c.d/n with n >= 96 is the IPv4 rule it spells. */
		p.v4 = plen >= 96 && memcmp(p.addr, v4mapped_prefix, 12) == 0;
	} else {
		uint8_t v4[4];

		if (!parse_v4(v4, s, alen))
			return HT_ERR_BAD_VALUE;
		plen = 32;
		if (slash != NULL && !parse_plen(&plen, slash + 1, len - alen - 1, 32))
			return HT_ERR_BAD_VALUE;
		ht_addr_map_v4(p.addr, v4);
		plen += 96;
		p.v4 = true;
	}
	if (!host_bits_zero(p.addr, plen))
		return HT_ERR_BAD_VALUE;
	p.len = (uint8_t)plen;
	*out = p;
	return HT_OK;
}

/* ---- building ----------------------------------------------------------- */

static bool same_prefix(const struct ht_prefix *a, const struct ht_prefix *b)
{
	return a->len == b->len && a->v4 == b->v4 && memcmp(a->addr, b->addr, 16) == 0;
}

static int add_prefix(struct ht_prefix *list, size_t *n, size_t max, const struct ht_prefix *p)
{
	for (size_t i = 0; i < *n; i++)
		if (same_prefix(&list[i], p))
			return HT_ERR_DUPLICATE;
	if (*n >= max)
		return HT_ERR_NOBUF;
	list[(*n)++] = *p;
	return HT_OK;
}

static int add_cidr(struct ht_prefix *list, size_t *n, size_t max, const char *s, size_t len)
{
	struct ht_prefix p;
	int r = ht_policy_parse_cidr(&p, s, len);

	return r < 0 ? r : add_prefix(list, n, max, &p);
}

int ht_policy_add_allow(struct ht_policy *p, const char *s, size_t len)
{
	if (p == NULL)
		return HT_ERR_INVAL;
	return add_cidr(p->allow, &p->n_allow, HT_POLICY_MAX_ALLOW, s, len);
}

int ht_policy_add_deny(struct ht_policy *p, const char *s, size_t len)
{
	if (p == NULL)
		return HT_ERR_INVAL;
	return add_cidr(p->deny, &p->n_deny, HT_POLICY_MAX_DENY, s, len);
}

int ht_policy_add_own_address(struct ht_policy *p, const char *s, size_t len)
{
	if (p == NULL)
		return HT_ERR_INVAL;
	return add_cidr(p->own, &p->n_own, HT_POLICY_MAX_OWN, s, len);
}

int ht_policy_add_own_addr16(struct ht_policy *p, const uint8_t addr16[16])
{
	struct ht_prefix pfx;

	if (p == NULL || addr16 == NULL)
		return HT_ERR_INVAL;
	memset(&pfx, 0, sizeof(pfx));
	memcpy(pfx.addr, addr16, 16);
	pfx.len = 128;
	pfx.v4 = memcmp(addr16, v4mapped_prefix, 12) == 0;
	return add_prefix(p->own, &p->n_own, HT_POLICY_MAX_OWN, &pfx);
}

/* ---- checking ----------------------------------------------------------- */

static bool prefix_match(const struct ht_prefix *p, const uint8_t a[16], bool v4)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	if (p->v4 != v4 || memcmp(p->addr, a, full) != 0)
		return false;
	return rest == 0 || ((p->addr[full] ^ a[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

/* Length of the longest prefix in list matching a, or -1. */
static int longest_match(const struct ht_prefix *list, size_t n, const uint8_t a[16], bool v4)
{
	int best = -1;

	for (size_t i = 0; i < n; i++)
		if ((int)list[i].len > best && prefix_match(&list[i], a, v4))
			best = list[i].len;
	return best;
}

enum ht_policy_verdict ht_policy_check(const struct ht_policy *p, const uint8_t addr16[16],
                                       uint16_t port)
{
	unsigned cls;
	bool v4;
	int allow, deny;

	if (p == NULL || addr16 == NULL || port == 0)
		return HT_POLICY_DENY_SPECIAL;
	cls = ht_addr_classify(addr16);
	if (cls & SPECIAL_CLASSES)
		return HT_POLICY_DENY_SPECIAL;
	v4 = (cls & HT_ADDR_V4MAPPED) != 0;
	if (longest_match(p->own, p->n_own, addr16, v4) >= 0)
		return HT_POLICY_DENY_OWN;
	allow = longest_match(p->allow, p->n_allow, addr16, v4);
	deny = longest_match(p->deny, p->n_deny, addr16, v4);
	if (deny >= 0 && deny >= allow)
		return HT_POLICY_DENY_RULE;
	if (allow >= 0)
		return HT_POLICY_ALLOW;
	return p->n_allow == 0 ? HT_POLICY_ALLOW : HT_POLICY_DENY_NOT_ALLOWED;
}

const char *ht_policy_verdict_str(enum ht_policy_verdict v)
{
	switch (v) {
	case HT_POLICY_ALLOW:
		return "allow";
	case HT_POLICY_DENY_SPECIAL:
		return "deny-special";
	case HT_POLICY_DENY_OWN:
		return "deny-own";
	case HT_POLICY_DENY_RULE:
		return "deny-rule";
	case HT_POLICY_DENY_NOT_ALLOWED:
		return "deny-not-allowed";
	}
	return "deny-unknown";
}

int ht_policy_addr16_from_sockaddr(uint8_t out[16], uint16_t *port, const struct sockaddr *sa,
                                   size_t salen)
{
	sa_family_t family;

	if (out == NULL || sa == NULL)
		return HT_ERR_INVAL;
	if (salen < offsetof(struct sockaddr, sa_family) + sizeof(family))
		return HT_ERR_TRUNCATED;
	/* memcpy, not casts: the caller's storage may be any sockaddr_*. */
	memcpy(&family, (const uint8_t *)sa + offsetof(struct sockaddr, sa_family), sizeof(family));
	if (family == AF_INET) {
		struct sockaddr_in sin;

		if (salen < sizeof(sin))
			return HT_ERR_TRUNCATED;
		memcpy(&sin, sa, sizeof(sin));
		ht_addr_map_v4(out, (const uint8_t *)&sin.sin_addr.s_addr);
		if (port != NULL)
			*port = ntohs(sin.sin_port);
		return HT_OK;
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 sin6;

		if (salen < sizeof(sin6))
			return HT_ERR_TRUNCATED;
		memcpy(&sin6, sa, sizeof(sin6));
		memcpy(out, sin6.sin6_addr.s6_addr, 16);
		if (port != NULL)
			*port = ntohs(sin6.sin6_port);
		return HT_OK;
	}
	return HT_ERR_BAD_TYPE;
}
