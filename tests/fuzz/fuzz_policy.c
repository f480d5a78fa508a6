/* libFuzzer harness for src/proto/policy.c.
 *
 * The input is a program of operations on one policy object:
 *   op & 3 == 0/1/2   add to allow / deny / own; bit 2 selects the string:
 *                     raw  (len byte, then that many input bytes) or
 *                     built (family, address, prefix length, mask flag →
 *                     "addr/len" formatted with inet_ntop, valid or not);
 *   op & 3 == 3       check an address: a fresh one (mapped or IPv6 from the
 *                     input) or one inside a rule already added, with
 *                     random host bits; then a port.
 * Oracles (abort() on failure):
 *  1. ht_policy_parse_cidr(): an accepted prefix has no host bits, a length
 *     <= 128, v4 exactly when it lies in ::ffff:0:0/96 with length >= 96,
 *     and formats back to a string that parses to the same prefix;
 *  2. add_*: nothing is added on error; HT_ERR_DUPLICATE exactly for a
 *     prefix already in that list, HT_ERR_NOBUF exactly when it is full;
 *  3. ht_policy_check() agrees with a bit-by-bit reference model of the
 *     documented rules;
 *  4. an address inside a deny prefix of maximal length (/32, /128) is
 *     always denied.
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
#include "proto/policy.h"

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reference matcher: one bit at a time, families kept apart. */
static bool ref_match(const struct ht_prefix *p, const uint8_t a[16])
{
	if (p->v4 != is_mapped(a))
		return false;
	for (unsigned i = 0; i < p->len; i++)
		if (bit(p->addr, i) != bit(a, i))
			return false;
	return true;
}

static int ref_longest(const struct ht_prefix *l, size_t n, const uint8_t a[16])
{
	int best = -1;

	for (size_t i = 0; i < n; i++)
		if (ref_match(&l[i], a) && l[i].len > best)
			best = l[i].len;
	return best;
}

struct model {
	struct ht_prefix allow[HT_POLICY_MAX_ALLOW], deny[HT_POLICY_MAX_DENY],
	    own[HT_POLICY_MAX_OWN];
	size_t n_allow, n_deny, n_own;
};

static enum ht_policy_verdict ref_check(const struct model *m, const uint8_t a[16], uint16_t port)
{
	unsigned cls = ht_addr_classify(a);
	int al, dl;

	if (port == 0 || (cls & (HT_ADDR_UNSPECIFIED | HT_ADDR_LOOPBACK | HT_ADDR_MULTICAST |
	                         HT_ADDR_BROADCAST | HT_ADDR_LINKLOCAL)))
		return HT_POLICY_DENY_SPECIAL;
	if (ref_longest(m->own, m->n_own, a) >= 0)
		return HT_POLICY_DENY_OWN;
	al = ref_longest(m->allow, m->n_allow, a);
	dl = ref_longest(m->deny, m->n_deny, a);
	if (dl >= 0 && dl >= al)
		return HT_POLICY_DENY_RULE;
	if (al >= 0)
		return HT_POLICY_ALLOW;
	return m->n_allow == 0 ? HT_POLICY_ALLOW : HT_POLICY_DENY_NOT_ALLOWED;
}

static void format_prefix(char *s, size_t cap, const struct ht_prefix *p)
{
	char a[INET6_ADDRSTRLEN];

	if (p->v4) {
		check(inet_ntop(AF_INET, p->addr + 12, a, sizeof(a)) != NULL);
		snprintf(s, cap, "%s/%u", a, (unsigned)p->len - 96);
	} else {
		check(inet_ntop(AF_INET6, p->addr, a, sizeof(a)) != NULL);
		snprintf(s, cap, "%s/%u", a, (unsigned)p->len);
	}
}

/* Oracle 1. */
static int parse_checked(struct ht_prefix *p, const char *s, size_t len)
{
	struct ht_prefix again;
	char buf[96];
	int r = ht_policy_parse_cidr(p, s, len);

	check(r == HT_OK || r == HT_ERR_BAD_VALUE);
	if (r != HT_OK)
		return r;
	check(p->len <= 128);
	check(p->v4 == (is_mapped(p->addr) && p->len >= 96));
	for (unsigned i = p->len; i < 128; i++)
		check(bit(p->addr, i) == 0);
	format_prefix(buf, sizeof(buf), p);
	check(ht_policy_parse_cidr(&again, buf, strlen(buf)) == HT_OK);
	check(again.len == p->len && again.v4 == p->v4 && memcmp(again.addr, p->addr, 16) == 0);
	return r;
}

/* A CIDR string from structured input: often valid, often not. */
static size_t build_cidr(struct in *in, char *s, size_t cap)
{
	uint8_t f = take(in), a[16] = {0}, plen = take(in);
	char txt[INET6_ADDRSTRLEN];
	unsigned max = (f & 1) ? 32 : 128, len;

	take_n(in, a, (f & 1) ? 4 : 16);
	len = (f & 2) ? plen % (max + 1) : plen; /* sometimes out of range */
	if (f & 4) {                             /* clear the host bits: a valid prefix */
		for (unsigned i = len; i < max; i++)
			a[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
	}
	if (f & 8 && !(f & 1)) { /* IPv4-mapped in IPv6 notation */
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
	}
	check(inet_ntop((f & 1) ? AF_INET : AF_INET6, a, txt, sizeof(txt)) != NULL);
	if (f & 16)
		return (size_t)snprintf(s, cap, "%s", txt);
	return (size_t)snprintf(s, cap, "%s/%u", txt, len);
}

static bool in_list(const struct ht_prefix *l, size_t n, const struct ht_prefix *p)
{
	for (size_t i = 0; i < n; i++)
		if (l[i].len == p->len && l[i].v4 == p->v4 && memcmp(l[i].addr, p->addr, 16) == 0)
			return true;
	return false;
}

/* Oracle 2. */
static void add(struct ht_policy *pol, struct model *m, unsigned which, const char *s, size_t len)
{
	static const size_t max[3] = {HT_POLICY_MAX_ALLOW, HT_POLICY_MAX_DENY, HT_POLICY_MAX_OWN};
	struct ht_prefix *l = which == 0 ? m->allow : which == 1 ? m->deny : m->own;
	size_t *n = which == 0 ? &m->n_allow : which == 1 ? &m->n_deny : &m->n_own;
	const size_t *pn = which == 0 ? &pol->n_allow : which == 1 ? &pol->n_deny : &pol->n_own;
	struct ht_prefix p;
	int pr = parse_checked(&p, s, len), r;

	switch (which) {
	case 0:
		r = ht_policy_add_allow(pol, s, len);
		break;
	case 1:
		r = ht_policy_add_deny(pol, s, len);
		break;
	default:
		r = ht_policy_add_own_address(pol, s, len);
		break;
	}
	if (pr != HT_OK) {
		check(r == pr);
	} else if (in_list(l, *n, &p)) {
		check(r == HT_ERR_DUPLICATE);
	} else if (*n == max[which]) {
		check(r == HT_ERR_NOBUF);
	} else {
		check(r == HT_OK);
		l[(*n)++] = p;
	}
	check(*pn == *n);
}

/* An address to check: fresh, or inside a rule with random host bits. */
static void pick_addr(struct in *in, const struct model *m, uint8_t a[16])
{
	uint8_t f = take(in);
	const struct ht_prefix *p = NULL;
	uint8_t rnd[16];

	take_n(in, rnd, 16);
	if ((f & 3) == 0) {
		memcpy(a, rnd, 16);
		return;
	}
	if ((f & 3) == 1) {
		static const uint8_t v4[4] = {0};

		ht_addr_map_v4(a, v4);
		memcpy(a + 12, rnd, 4);
		return;
	}
	switch (f & 0x0c) {
	case 0:
		p = m->n_allow ? &m->allow[f % m->n_allow] : NULL;
		break;
	case 4:
		p = m->n_deny ? &m->deny[f % m->n_deny] : NULL;
		break;
	default:
		p = m->n_own ? &m->own[f % m->n_own] : NULL;
		break;
	}
	if (p == NULL) {
		memcpy(a, rnd, 16);
		return;
	}
	memcpy(a, p->addr, 16);
	for (unsigned i = p->len; i < 128; i++)
		if (bit(rnd, i))
			a[i / 8] |= (uint8_t)(0x80u >> (i % 8));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ht_policy pol;
	static struct model m;
	/* Long programs add little and cost a lot under the reference model. */
	struct in in = {data, size < 2048 ? size : 2048};
	unsigned filled = 0;

	ht_policy_init(&pol);
	memset(&m, 0, sizeof(m));
	while (in.n > 0) {
		uint8_t op = take(&in);
		char s[128];
		size_t len;

		if ((op & 3) != 3) {
			if (op & 4) {
				len = build_cidr(&in, s, sizeof(s));
			} else {
				len = take(&in) % 64;
				len = len < in.n ? len : in.n;
				memcpy(s, in.p, len);
				in.p += len;
				in.n -= len;
			}
			add(&pol, &m, op & 3, s, len);
			/* Bulk-fill a list to reach its capacity quickly (once). */
			if ((op & 0xf8) == 0xf8 && (op & 4) && !(filled & (1u << (op & 3)))) {
				filled |= 1u << (op & 3);
				for (unsigned i = 0; i < 260; i++) {
					int k =
					    snprintf(s, sizeof(s), "2001:db8:%x:%x::/64", i, op);

					add(&pol, &m, op & 3, s, (size_t)k);
				}
			}
		} else {
			uint8_t a[16];
			uint16_t port;
			enum ht_policy_verdict v;

			pick_addr(&in, &m, a);
			port = (uint16_t)(take(&in) << 8);
			port |= take(&in);
			v = ht_policy_check(&pol, a, port);
			/* Oracle 3. */
			check(v == ref_check(&m, a, port));
			check(ht_policy_verdict_str(v) != NULL);
			/* Oracle 4. */
			for (size_t i = 0; i < m.n_deny; i++)
				if (m.deny[i].len == 128 && memcmp(m.deny[i].addr, a, 16) == 0)
					check(v != HT_POLICY_ALLOW);
			if (port != 0)
				for (size_t i = 0; i < m.n_deny; i++)
					if (m.deny[i].len == 128)
						check(ht_policy_check(&pol, m.deny[i].addr, port) !=
						      HT_POLICY_ALLOW);
		}
	}
	return 0;
}
