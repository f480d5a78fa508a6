/* hatun — the client's per-destination transport rules.  See route_rule.h. */
#include "proto/route_rule.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/err.h"

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void ht_route_rules_init(struct ht_route_rules *rs)
{
	if (rs != NULL)
		memset(rs, 0, sizeof(*rs));
}

static int fail(const char **why, const char *text, int code)
{
	if (why != NULL)
		*why = text;
	return code;
}

/* Decimal 1..65535, no sign, no leading zero. */
static bool parse_port(uint16_t *out, const char *s, size_t len)
{
	unsigned v = 0;

	if (len == 0 || len > 5 || s[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* PORTS after the ':' : "P" or "LO-HI". */
static int parse_ports(struct ht_route_rule *r, const char *s, size_t len, const char **why)
{
	const char *dash = memchr(s, '-', len);
	size_t lo_len = dash != NULL ? (size_t)(dash - s) : len;

	if (!parse_port(&r->port_lo, s, lo_len))
		return fail(why, "the port is not 1-65535", HT_ERR_BAD_VALUE);
	r->port_hi = r->port_lo;
	if (dash == NULL)
		return HT_OK;
	if (!parse_port(&r->port_hi, dash + 1, len - lo_len - 1))
		return fail(why, "the range's last port is not 1-65535", HT_ERR_BAD_VALUE);
	if (r->port_lo > r->port_hi)
		return fail(why, "the port range is reversed (LO-HI with LO <= HI)",
			    HT_ERR_BAD_VALUE);
	return HT_OK;
}

int ht_route_rule_parse(struct ht_route_rule *out, const char *s, size_t len, const char **why)
{
	struct ht_route_rule r;
	const char *addr = s, *colon;
	size_t alen = len, rest;
	bool bracket = false;
	int rc;

	if (out == NULL || (s == NULL && len > 0))
		return fail(why, "invalid arguments", HT_ERR_INVAL);
	memset(out, 0, sizeof(*out));
	if (len > HT_ROUTE_SPEC_MAX)
		return fail(why, "too long", HT_ERR_TOO_LONG);
	if (len > 0 && memchr(s, '\0', len) != NULL)
		return fail(why, "a NUL byte inside", HT_ERR_BAD_VALUE);
	memset(&r, 0, sizeof(r));
	r.port_hi = 65535;
	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (close == NULL)
			return fail(why, "'[' without ']'", HT_ERR_BAD_ADDRESS);
		bracket = true;
		addr = s + 1;
		alen = (size_t)(close - addr);
		rest = len - alen - 2;
		if (rest > 0 && close[1] != ':')
			return fail(why, "after ']' only ':PORT' or ':LO-HI' may follow",
				    HT_ERR_BAD_VALUE);
		if (rest == 1)
			return fail(why, "the port is not 1-65535", HT_ERR_BAD_VALUE);
		colon = rest > 0 ? close + 1 : NULL;
	} else {
		/* Without brackets a second ':' means IPv6 notation: no port. */
		colon = memchr(s, ':', len);
		if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) != NULL)
			colon = NULL;
		if (colon != NULL)
			alen = (size_t)(colon - s);
	}
	if (!bracket && colon == NULL) {
		const char *slash = memchr(s, '/', len);

		if (slash != NULL && memchr(slash, ':', len - (size_t)(slash - s)) != NULL)
			return fail(why, "an IPv6 CIDR with a port needs brackets: [CIDR]:PORT",
				    HT_ERR_BAD_VALUE);
	}
	if (!bracket && alen == 3 && memcmp(addr, "any", 3) == 0) {
		r.any = true;
	} else {
		if (alen == 0)
			return fail(why, "no address (a CIDR, an address or 'any')", HT_ERR_BAD_ADDRESS);
		if (ht_policy_parse_cidr(&r.pfx, addr, alen) != HT_OK)
			return fail(why,
				    "not an IPv4/IPv6 CIDR or address (no host bits, no leading "
				    "zeros), nor 'any'",
				    HT_ERR_BAD_ADDRESS);
		if (bracket && memchr(addr, ':', alen) == NULL)
			return fail(why, "brackets are for IPv6 only", HT_ERR_BAD_ADDRESS);
	}
	if (colon != NULL) {
		rc = parse_ports(&r, colon + 1, len - (size_t)(colon - s) - 1, why);
		if (rc != HT_OK)
			return rc;
	}
	*out = r;
	return HT_OK;
}

int ht_route_rules_add(struct ht_route_rules *rs, enum ht_route_via via, const char *s, size_t len,
		       const char **why)
{
	struct ht_route_rule r;
	int rc;

	if (rs == NULL || (via != HT_ROUTE_TUNNEL && via != HT_ROUTE_CONVERT))
		return fail(why, "invalid arguments", HT_ERR_INVAL);
	rc = ht_route_rule_parse(&r, s, len, why);
	if (rc != HT_OK)
		return rc;
	if (rs->n >= HT_ROUTE_MAX_RULES)
		return fail(why, "too many rules", HT_ERR_NOBUF);
	r.via = (uint8_t)via;
	rs->rule[rs->n++] = r;
	return HT_OK;
}

static bool prefix_match(const struct ht_prefix *p, const uint8_t a[16])
{
	unsigned full = p->len / 8, rest = p->len % 8;
	bool v4 = memcmp(a, v4mapped_prefix, 12) == 0;

	if (p->v4 != v4 || memcmp(p->addr, a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((p->addr[full] ^ a[full]) & (uint8_t)(0xffu << (8 - rest))) == 0;
}

int ht_route_rules_match(const struct ht_route_rules *rs, const uint8_t addr16[16], uint16_t port)
{
	if (rs == NULL || addr16 == NULL)
		return -1;
	for (size_t i = 0; i < rs->n && i < HT_ROUTE_MAX_RULES; i++) {
		const struct ht_route_rule *r = &rs->rule[i];

		if (port < r->port_lo || port > r->port_hi)
			continue;
		if (r->any || prefix_match(&r->pfx, addr16))
			return (int)i;
	}
	return -1;
}

int ht_route_rule_format(const struct ht_route_rule *r, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN], ports[16] = "";
	bool has_port = r != NULL && (r->port_lo != 0 || r->port_hi != 65535);
	int n;

	if (r == NULL || out == NULL || cap == 0)
		return HT_ERR_INVAL;
	if (has_port && r->port_lo == r->port_hi)
		snprintf(ports, sizeof(ports), ":%u", r->port_lo);
	else if (has_port)
		snprintf(ports, sizeof(ports), ":%u-%u", r->port_lo, r->port_hi);
	if (r->any)
		n = snprintf(out, cap, "any%s", ports);
	else if (r->pfx.v4 && inet_ntop(AF_INET, r->pfx.addr + 12, a, sizeof(a)) != NULL)
		n = snprintf(out, cap, "%s/%u%s", a, (unsigned)r->pfx.len - 96, ports);
	else if (!r->pfx.v4 && inet_ntop(AF_INET6, r->pfx.addr, a, sizeof(a)) != NULL)
		n = snprintf(out, cap, has_port ? "[%s/%u]%s" : "%s/%u%s", a, (unsigned)r->pfx.len,
			     ports);
	else
		n = -1;
	if (n < 0 || (size_t)n >= cap) {
		out[0] = '\0';
		return HT_ERR_NOBUF;
	}
	return n;
}

const char *ht_route_via_str(enum ht_route_via v)
{
	return v == HT_ROUTE_CONVERT ? "convert" : "tunnel";
}
