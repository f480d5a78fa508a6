/* libFuzzer harness for src/proto/route_rule.c (with policy.c's CIDR
 * parser).
 *
 * The input is a program of operations on one rule list:
 *   op & 1 == 0   add a rule (via = bit 1): bit 2 selects the string: raw
 *                 (a length byte, then that many input bytes) or built
 *                 (any / IPv4 / IPv6, brackets or not, with a port or a
 *                 range or none, valid or not);
 *   op & 1 == 1   match an address (fresh, or inside a rule with random
 *                 host bits) and a port.
 * Oracles (abort() on failure):
 *  1. parse returns only the documented codes; an accepted rule has
 *     port_lo <= port_hi, a prefix without host bits, and formats to a
 *     string that parses back to the very same rule;
 *  2. add grows the list by one exactly on HT_OK, HT_ERR_NOBUF exactly when
 *     it is full, nothing changes on error;
 *  3. match returns what a bit-by-bit first-match reference model says.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/addr.h"
#include "proto/err.h"
#include "proto/route_rule.h"

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool ref_rule(const struct ht_route_rule *r, const uint8_t a[16], uint16_t port)
{
	if (port < r->port_lo || port > r->port_hi)
		return false;
	if (r->any)
		return true;
	if (r->pfx.v4 != is_mapped(a))
		return false;
	for (unsigned i = 0; i < r->pfx.len; i++)
		if (bit(r->pfx.addr, i) != bit(a, i))
			return false;
	return true;
}

/* Oracle 1. */
static int parse_checked(struct ht_route_rule *r, const char *s, size_t len)
{
	struct ht_route_rule again;
	char buf[HT_ROUTE_SPEC_STRLEN];
	const char *why = NULL;
	int rc = ht_route_rule_parse(r, s, len, &why), n;

	if (rc != HT_OK) {
		check(rc == HT_ERR_TOO_LONG || rc == HT_ERR_BAD_ADDRESS || rc == HT_ERR_BAD_VALUE);
		check(why != NULL);
		return rc;
	}
	check(r->port_lo <= r->port_hi);
	if (!r->any) {
		check(r->pfx.len <= 128);
		for (unsigned i = r->pfx.len; i < 128; i++)
			check(bit(r->pfx.addr, i) == 0);
	}
	n = ht_route_rule_format(r, buf, sizeof(buf));
	check(n > 0 && (size_t)n == strlen(buf));
	check(ht_route_rule_parse(&again, buf, (size_t)n, NULL) == HT_OK);
	check(memcmp(&again, r, sizeof(again)) == 0);
	return rc;
}

static size_t build_spec(struct in *in, char *s, size_t cap)
{
	uint8_t f = take(in), g = take(in), a[16] = {0}, plen = take(in);
	uint16_t lo = (uint16_t)(take(in) << 8 | take(in)), hi = (uint16_t)(take(in) << 8 | take(in));
	char txt[INET6_ADDRSTRLEN], addr[96], ports[24] = "";
	bool v4 = f & 1;
	unsigned max = v4 ? 32 : 128, len;

	take_n(in, a, v4 ? 4 : 16);
	len = (f & 2) ? plen % (max + 1) : plen;
	if (f & 4)
		for (unsigned i = len; i < max; i++)
			a[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
	check(inet_ntop(v4 ? AF_INET : AF_INET6, a, txt, sizeof(txt)) != NULL);
	if (g & 1)
		snprintf(addr, sizeof(addr), "any");
	else if (f & 8)
		snprintf(addr, sizeof(addr), "%s", txt);
	else
		snprintf(addr, sizeof(addr), "%s/%u", txt, len);
	if (g & 2)
		snprintf(ports, sizeof(ports), ":%u", (g & 8) ? lo : lo % 1024);
	else if (g & 4)
		snprintf(ports, sizeof(ports), ":%u-%u", lo, hi);
	if (g & 16)
		return (size_t)snprintf(s, cap, "[%s]%s", addr, ports);
	return (size_t)snprintf(s, cap, "%s%s", addr, ports);
}

static void pick_addr(struct in *in, const struct ht_route_rules *rs, uint8_t a[16])
{
	uint8_t f = take(in), rnd[16];
	const struct ht_route_rule *r;

	take_n(in, rnd, 16);
	if ((f & 3) == 0 || rs->n == 0) {
		memcpy(a, rnd, 16);
		return;
	}
	if ((f & 3) == 1) {
		static const uint8_t z[4] = {0};

		ht_addr_map_v4(a, z);
		memcpy(a + 12, rnd, 4);
		return;
	}
	r = &rs->rule[f % rs->n];
	if (r->any) {
		memcpy(a, rnd, 16);
		return;
	}
	memcpy(a, r->pfx.addr, 16);
	for (unsigned i = r->pfx.len; i < 128; i++)
		if (bit(rnd, i))
			a[i / 8] |= (uint8_t)(0x80u >> (i % 8));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ht_route_rules rs;
	struct in in = {data, size < 4096 ? size : 4096};

	ht_route_rules_init(&rs);
	while (in.n > 0) {
		uint8_t op = take(&in);

		if ((op & 1) == 0) {
			char s[128];
			size_t len, before = rs.n;
			struct ht_route_rule r;
			enum ht_route_via via = (op & 2) ? HT_ROUTE_CONVERT : HT_ROUTE_TUNNEL;
			int pr, rc;

			if (op & 4) {
				len = build_spec(&in, s, sizeof(s));
			} else {
				len = take(&in) % 80;
				len = len < in.n ? len : in.n;
				memcpy(s, in.p, len);
				in.p += len;
				in.n -= len;
			}
			pr = parse_checked(&r, s, len);
			rc = ht_route_rules_add(&rs, via, s, len, NULL);
			/* Oracle 2. */
			if (pr != HT_OK) {
				check(rc == pr && rs.n == before);
			} else if (before == HT_ROUTE_MAX_RULES) {
				check(rc == HT_ERR_NOBUF && rs.n == before);
			} else {
				check(rc == HT_OK && rs.n == before + 1);
				r.via = (uint8_t)via;
				check(memcmp(&rs.rule[before], &r, sizeof(r)) == 0);
			}
		} else {
			uint8_t a[16];
			uint16_t port;
			int want = -1;

			pick_addr(&in, &rs, a);
			port = (uint16_t)(take(&in) << 8);
			port |= take(&in);
			for (size_t i = 0; i < rs.n && want < 0; i++)
				if (ref_rule(&rs.rule[i], a, port))
					want = (int)i;
			/* Oracle 3. */
			check(ht_route_rules_match(&rs, a, port) == want);
		}
	}
	return 0;
}
