/* Unit tests for src/proto/policy.c: the concentrator's destination policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/addr.h"
#include "proto/err.h"
#include "proto/policy.h"

/* One policy object per test: it is ~10 KiB, too big for comfort on the
 * stack of every helper. */
static struct ht_policy pol;

/* "192.0.2.1" → ::ffff:192.0.2.1, "2001:db8::1" → itself. */
static void A(uint8_t out[16], const char *s)
{
	uint8_t v4[4];

	if (inet_pton(AF_INET, s, v4) == 1) {
		ht_addr_map_v4(out, v4);
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

static enum ht_policy_verdict check_s(const char *addr)
{
	uint8_t a[16];

	A(a, addr);
	return ht_policy_check(&pol, a, 443);
}

static int add_allow(const char *s)
{
	return ht_policy_add_allow(&pol, s, strlen(s));
}

static int add_deny(const char *s)
{
	return ht_policy_add_deny(&pol, s, strlen(s));
}

static int add_own(const char *s)
{
	return ht_policy_add_own_address(&pol, s, strlen(s));
}

static int parse(struct ht_prefix *p, const char *s)
{
	return ht_policy_parse_cidr(p, s, strlen(s));
}

static int setup(void **state)
{
	(void)state;
	ht_policy_init(&pol);
	return 0;
}

static void test_empty_allows(void **state)
{
	(void)state;
	assert_int_equal(check_s("192.0.2.1"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("2001:db8::1"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("::ffff:203.0.113.5"), HT_POLICY_ALLOW);
}

/* Each special class, in IPv4 (mapped, as the tunnel carries it) and IPv6
 * form; the mapped forms are classified by their IPv4 value. */
static void test_special(void **state)
{
	static const char *const special[] = {
	    /* unspecified */
	    "0.0.0.0",
	    "0.1.2.3",
	    "0.255.255.255",
	    "::",
	    "::ffff:0.0.0.0",
	    /* loopback */
	    "127.0.0.1",
	    "127.255.255.254",
	    "::1",
	    "::ffff:127.0.0.1",
	    /* multicast */
	    "224.0.0.1",
	    "239.255.255.250",
	    "ff02::1",
	    "ff0e::1",
	    "::ffff:224.0.0.251",
	    /* broadcast */
	    "255.255.255.255",
	    "::ffff:255.255.255.255",
	    /* link-local */
	    "169.254.0.1",
	    "169.254.169.254",
	    "fe80::1",
	    "febf::1",
	    "::ffff:169.254.169.254",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		assert_int_equal(check_s(special[i]), HT_POLICY_DENY_SPECIAL);
	/* Special beats any allow rule. */
	assert_int_equal(add_allow("0.0.0.0/0"), HT_OK);
	assert_int_equal(add_allow("::/0"), HT_OK);
	assert_int_equal(add_allow("127.0.0.1"), HT_OK);
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		assert_int_equal(check_s(special[i]), HT_POLICY_DENY_SPECIAL);
	/* Neighbours that are not special. */
	assert_int_equal(check_s("1.0.0.0"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("126.255.255.255"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("128.0.0.0"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("169.253.255.255"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("255.255.255.254"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("::2"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("fec0::1"), HT_POLICY_ALLOW);
	/* IPv4-compatible ::a.b.c.d is IPv6 here, not 127.0.0.1. */
	assert_int_equal(check_s("::127.0.0.1"), HT_POLICY_ALLOW);
}

static void test_port_zero_and_null(void **state)
{
	uint8_t a[16];

	(void)state;
	A(a, "192.0.2.1");
	assert_int_equal(ht_policy_check(&pol, a, 0), HT_POLICY_DENY_SPECIAL);
	assert_int_equal(ht_policy_check(&pol, a, 1), HT_POLICY_ALLOW);
	assert_int_equal(ht_policy_check(&pol, a, 65535), HT_POLICY_ALLOW);
	assert_int_equal(ht_policy_check(NULL, a, 80), HT_POLICY_DENY_SPECIAL);
	assert_int_equal(ht_policy_check(&pol, NULL, 80), HT_POLICY_DENY_SPECIAL);
}

static void test_own(void **state)
{
	uint8_t a[16];

	(void)state;
	assert_int_equal(add_own("192.0.2.10"), HT_OK);
	assert_int_equal(add_own("2001:db8:1::/64"), HT_OK);
	A(a, "198.51.100.1");
	assert_int_equal(ht_policy_add_own_addr16(&pol, a), HT_OK);
	A(a, "2001:db8:ffff::7");
	assert_int_equal(ht_policy_add_own_addr16(&pol, a), HT_OK);
	assert_int_equal(ht_policy_add_own_addr16(&pol, a), HT_ERR_DUPLICATE);
	assert_int_equal(pol.n_own, 4);

	assert_int_equal(check_s("192.0.2.10"), HT_POLICY_DENY_OWN);
	assert_int_equal(check_s("::ffff:192.0.2.10"), HT_POLICY_DENY_OWN);
	assert_int_equal(check_s("192.0.2.11"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("198.51.100.1"), HT_POLICY_DENY_OWN);
	assert_int_equal(check_s("2001:db8:1::42"), HT_POLICY_DENY_OWN);
	assert_int_equal(check_s("2001:db8:2::42"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("2001:db8:ffff::7"), HT_POLICY_DENY_OWN);
	/* Own beats allow, even the most specific. */
	assert_int_equal(add_allow("192.0.2.10/32"), HT_OK);
	assert_int_equal(check_s("192.0.2.10"), HT_POLICY_DENY_OWN);
	/* Special beats own. */
	assert_int_equal(add_own("127.0.0.1"), HT_OK);
	assert_int_equal(check_s("127.0.0.1"), HT_POLICY_DENY_SPECIAL);
	assert_int_equal(ht_policy_add_own_addr16(NULL, a), HT_ERR_INVAL);
	assert_int_equal(ht_policy_add_own_addr16(&pol, NULL), HT_ERR_INVAL);
}

static void test_deny(void **state)
{
	(void)state;
	assert_int_equal(add_deny("198.51.100.0/24"), HT_OK);
	assert_int_equal(add_deny("2001:db8:bad::/48"), HT_OK);
	assert_int_equal(check_s("198.51.100.0"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("198.51.100.255"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("::ffff:198.51.100.9"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("198.51.101.0"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("198.51.99.255"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("2001:db8:bad:1::1"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("2001:db8:bae::1"), HT_POLICY_ALLOW);
}

/* Longest prefix wins, both ways, several levels deep. */
static void test_nesting(void **state)
{
	(void)state;
	assert_int_equal(add_deny("203.0.113.0/24"), HT_OK);
	assert_int_equal(add_allow("203.0.113.128/25"), HT_OK);
	assert_int_equal(add_deny("203.0.113.200/30"), HT_OK);
	assert_int_equal(add_allow("203.0.113.201/32"), HT_OK);
	assert_int_equal(check_s("203.0.113.1"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("203.0.113.127"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("203.0.113.128"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("203.0.113.199"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("203.0.113.200"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("203.0.113.201"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("203.0.113.202"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("203.0.113.204"), HT_POLICY_ALLOW);
	/* Allow list non-empty: outside every rule is refused. */
	assert_int_equal(check_s("192.0.2.1"), HT_POLICY_DENY_NOT_ALLOWED);
	assert_int_equal(check_s("2001:db8::1"), HT_POLICY_DENY_NOT_ALLOWED);

	/* IPv6, the other way round: allow broad, deny inside, allow deeper. */
	assert_int_equal(add_allow("2001:db8::/32"), HT_OK);
	assert_int_equal(add_deny("2001:db8:1::/48"), HT_OK);
	assert_int_equal(add_allow("2001:db8:1:2::/64"), HT_OK);
	assert_int_equal(check_s("2001:db8::1"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("2001:db8:1::1"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("2001:db8:1:2::1"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("2001:db9::1"), HT_POLICY_DENY_NOT_ALLOWED);

	/* The same prefix in both lists: deny wins. */
	assert_int_equal(add_allow("198.51.100.0/24"), HT_OK);
	assert_int_equal(add_deny("198.51.100.0/24"), HT_OK);
	assert_int_equal(check_s("198.51.100.1"), HT_POLICY_DENY_RULE);
}

/* Non-octet prefix lengths match bit-exactly. */
static void test_odd_lengths(void **state)
{
	(void)state;
	assert_int_equal(add_deny("192.0.2.64/27"), HT_OK); /* .64-.95 */
	assert_int_equal(check_s("192.0.2.63"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("192.0.2.64"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("192.0.2.95"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("192.0.2.96"), HT_POLICY_ALLOW);
	assert_int_equal(add_deny("2001:db8:8000::/33"), HT_OK);
	assert_int_equal(check_s("2001:db8:7fff::1"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("2001:db8:8000::1"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("2001:db8:ffff::1"), HT_POLICY_DENY_RULE);
	assert_int_equal(add_deny("2001:db8::1:2/127"), HT_OK);
	assert_int_equal(check_s("2001:db8::1:3"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("2001:db8::1:4"), HT_POLICY_ALLOW);
}

/* Families do not leak: ::/0 is all IPv6 and no IPv4; 0.0.0.0/0 the reverse;
 * an IPv6-notation mapped prefix is the IPv4 rule it spells. */
static void test_families(void **state)
{
	struct ht_prefix p;

	(void)state;
	assert_int_equal(add_deny("::/0"), HT_OK);
	assert_int_equal(check_s("2001:db8::1"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("192.0.2.1"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("::ffff:192.0.2.1"), HT_POLICY_ALLOW);
	/* ::ffff:0:0/95 is an IPv6 rule too, though it covers the mapped block. */
	assert_int_equal(add_deny("::fffe:0:0/95"), HT_OK);
	assert_int_equal(check_s("192.0.2.1"), HT_POLICY_ALLOW);
	ht_policy_init(&pol);
	assert_int_equal(add_deny("0.0.0.0/0"), HT_OK);
	assert_int_equal(check_s("192.0.2.1"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("2001:db8::1"), HT_POLICY_ALLOW);
	ht_policy_init(&pol);
	assert_int_equal(add_deny("::ffff:192.0.2.0/120"), HT_OK);
	assert_int_equal(add_deny("192.0.2.0/24"), HT_ERR_DUPLICATE); /* the same rule */
	assert_int_equal(check_s("192.0.2.9"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("192.0.3.9"), HT_POLICY_ALLOW);
	assert_int_equal(parse(&p, "::ffff:0:0/96"), HT_OK);
	assert_true(p.v4);
	assert_int_equal(p.len, 96);
	assert_int_equal(parse(&p, "0.0.0.0/0"), HT_OK);
	assert_true(p.v4);
	assert_int_equal(p.len, 96);
	/* NAT64 64:ff9b::/96 is IPv6 here. */
	assert_int_equal(check_s("64:ff9b::c000:201"), HT_POLICY_ALLOW);
}

static void test_parse(void **state)
{
	struct ht_prefix p;
	uint8_t a[16];

	(void)state;
	assert_int_equal(parse(&p, "203.0.113.0/24"), HT_OK);
	A(a, "203.0.113.0");
	assert_memory_equal(p.addr, a, 16);
	assert_int_equal(p.len, 120);
	assert_true(p.v4);
	assert_int_equal(parse(&p, "192.0.2.7"), HT_OK);
	assert_int_equal(p.len, 128);
	assert_true(p.v4);
	assert_int_equal(parse(&p, "2001:db8::/32"), HT_OK);
	A(a, "2001:db8::");
	assert_memory_equal(p.addr, a, 16);
	assert_int_equal(p.len, 32);
	assert_false(p.v4);
	assert_int_equal(parse(&p, "2001:db8::5"), HT_OK);
	assert_int_equal(p.len, 128);
	assert_int_equal(parse(&p, "::/0"), HT_OK);
	assert_int_equal(p.len, 0);
	assert_false(p.v4);
	assert_int_equal(parse(&p, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128"), HT_OK);
	assert_int_equal(parse(&p, "::ffff:198.51.100.7"), HT_OK);
	assert_true(p.v4);
	/* Not NUL-terminated: only len bytes are read. */
	assert_int_equal(ht_policy_parse_cidr(&p, "192.0.2.0/24garbage", 12), HT_OK);
	assert_int_equal(p.len, 96 + 24);
	assert_int_equal(ht_policy_parse_cidr(NULL, "::", 2), HT_ERR_INVAL);
	assert_int_equal(ht_policy_parse_cidr(&p, NULL, 2), HT_ERR_INVAL);
	assert_int_equal(ht_policy_parse_cidr(&p, NULL, 0), HT_ERR_BAD_VALUE);
}

static void test_bad_cidr(void **state)
{
	static const char *const bad[] = {
	    "",
	    "abc",
	    "1.2.3.4/33",
	    "2001:db8::/129",
	    "10.0.0.1/8",
	    "192.0.2.1/24",
	    "2001:db8::1/32",
	    "::ffff:192.0.2.1/120",
	    "/24",
	    "192.0.2.0/",
	    "192.0.2.0//24",
	    "192.0.2.0/24/8",
	    "192.0.2.0/024",
	    "192.0.2.0/+24",
	    "192.0.2.0/-1",
	    "192.0.2.0/ 24",
	    " 192.0.2.0/24",
	    "192.0.2.0/24 ",
	    "192.0.2",
	    "192.0.2.0.1",
	    "192.0.2.256",
	    "192.0.02.1",
	    "0x7f.0.0.1",
	    "1.2.3.4.",
	    ".1.2.3.4",
	    "1..2.3",
	    "1.2.3.1000",
	    "fe80::1%eth0",
	    "2001:db8:::1",
	    "2001:db8::g",
	    "2001:db8::/1000",
	    "::/",
	    "/",
	    "192.0.2.0/4294967320",
	    "2001:db8::/32x",
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/1280",
	};
	struct ht_prefix p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(&p, bad[i]) != HT_ERR_BAD_VALUE)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(add_allow(bad[i]), HT_ERR_BAD_VALUE);
		assert_int_equal(add_deny(bad[i]), HT_ERR_BAD_VALUE);
		assert_int_equal(add_own(bad[i]), HT_ERR_BAD_VALUE);
	}
	/* Nothing was added. */
	assert_int_equal(pol.n_allow, 0);
	assert_int_equal(pol.n_deny, 0);
	assert_int_equal(pol.n_own, 0);
	/* An embedded NUL. */
	assert_int_equal(ht_policy_parse_cidr(&p, "192.0.2.0\0/24", 13), HT_ERR_BAD_VALUE);
	assert_int_equal(ht_policy_add_allow(NULL, "::", 2), HT_ERR_INVAL);
	assert_int_equal(ht_policy_add_deny(NULL, "::", 2), HT_ERR_INVAL);
	assert_int_equal(ht_policy_add_own_address(NULL, "::", 2), HT_ERR_INVAL);
}

static void test_capacity(void **state)
{
	char s[64];

	(void)state;
	for (unsigned i = 0; i < HT_POLICY_MAX_ALLOW; i++) {
		snprintf(s, sizeof(s), "2001:db8:%x::/48", i);
		assert_int_equal(add_allow(s), HT_OK);
	}
	assert_int_equal(add_allow("2001:db8:ffff::/48"), HT_ERR_NOBUF);
	assert_int_equal(add_allow("2001:db8:0::/48"), HT_ERR_DUPLICATE);
	assert_int_equal(add_allow("abc"), HT_ERR_BAD_VALUE);
	assert_int_equal(pol.n_allow, HT_POLICY_MAX_ALLOW);
	for (unsigned i = 0; i < HT_POLICY_MAX_DENY; i++) {
		snprintf(s, sizeof(s), "198.51.%u.0/24", i);
		assert_int_equal(add_deny(s), HT_OK);
	}
	assert_int_equal(add_deny("203.0.113.0/24"), HT_ERR_NOBUF);
	for (unsigned i = 0; i < HT_POLICY_MAX_OWN; i++) {
		snprintf(s, sizeof(s), "192.0.2.%u", i);
		assert_int_equal(add_own(s), HT_OK);
	}
	assert_int_equal(add_own("192.0.2.200"), HT_ERR_NOBUF);
	assert_int_equal(pol.n_own, HT_POLICY_MAX_OWN);
	/* The full policy still answers. */
	assert_int_equal(check_s("2001:db8:ff::1"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("2001:db8:100::1"), HT_POLICY_DENY_NOT_ALLOWED);
	assert_int_equal(check_s("198.51.100.1"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("192.0.2.63"), HT_POLICY_DENY_OWN);
	assert_int_equal(check_s("192.0.2.64"), HT_POLICY_DENY_NOT_ALLOWED);
}

static void test_verdict_str(void **state)
{
	(void)state;
	assert_string_equal(ht_policy_verdict_str(HT_POLICY_ALLOW), "allow");
	assert_string_equal(ht_policy_verdict_str(HT_POLICY_DENY_SPECIAL), "deny-special");
	assert_string_equal(ht_policy_verdict_str(HT_POLICY_DENY_OWN), "deny-own");
	assert_string_equal(ht_policy_verdict_str(HT_POLICY_DENY_RULE), "deny-rule");
	assert_string_equal(ht_policy_verdict_str(HT_POLICY_DENY_NOT_ALLOWED), "deny-not-allowed");
	assert_non_null(ht_policy_verdict_str((enum ht_policy_verdict)42));
	assert_true(ht_policy_allowed(HT_POLICY_ALLOW));
	assert_false(ht_policy_allowed(HT_POLICY_DENY_RULE));
}

static void test_sockaddr(void **state)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_storage ss;
	uint8_t a[16], want[16];
	uint16_t port = 0;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(8443);
	inet_pton(AF_INET, "192.0.2.33", &sin.sin_addr);
	assert_int_equal(
	    ht_policy_addr16_from_sockaddr(a, &port, (struct sockaddr *)&sin, sizeof(sin)), HT_OK);
	A(want, "192.0.2.33");
	assert_memory_equal(a, want, 16);
	assert_int_equal(port, 8443);
	assert_int_equal(
	    ht_policy_addr16_from_sockaddr(a, NULL, (struct sockaddr *)&sin, sizeof(sin) - 1),
	    HT_ERR_TRUNCATED);

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(53);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6.sin6_addr);
	assert_int_equal(
	    ht_policy_addr16_from_sockaddr(a, &port, (struct sockaddr *)&sin6, sizeof(sin6)),
	    HT_OK);
	assert_int_equal(port, 53);
	/* A mapped loopback is caught, whichever family it came in. */
	assert_int_equal(ht_policy_check(&pol, a, port), HT_POLICY_DENY_SPECIAL);
	inet_pton(AF_INET6, "2001:db8::53", &sin6.sin6_addr);
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &sin6, sizeof(sin6));
	assert_int_equal(
	    ht_policy_addr16_from_sockaddr(a, NULL, (struct sockaddr *)&ss, sizeof(ss)), HT_OK);
	A(want, "2001:db8::53");
	assert_memory_equal(a, want, 16);
	assert_int_equal(
	    ht_policy_addr16_from_sockaddr(a, NULL, (struct sockaddr *)&sin6, sizeof(sin6) - 1),
	    HT_ERR_TRUNCATED);
	ss.ss_family = AF_UNIX;
	assert_int_equal(
	    ht_policy_addr16_from_sockaddr(a, NULL, (struct sockaddr *)&ss, sizeof(ss)),
	    HT_ERR_BAD_TYPE);
	assert_int_equal(ht_policy_addr16_from_sockaddr(a, NULL, (struct sockaddr *)&ss, 1),
	                 HT_ERR_TRUNCATED);
	assert_int_equal(
	    ht_policy_addr16_from_sockaddr(NULL, NULL, (struct sockaddr *)&ss, sizeof(ss)),
	    HT_ERR_INVAL);
	assert_int_equal(ht_policy_addr16_from_sockaddr(a, NULL, NULL, sizeof(ss)), HT_ERR_INVAL);
}

/* The examples of docs/POLICY.md. */
static void test_doc_examples(void **state)
{
	(void)state;
	assert_int_equal(add_allow("0.0.0.0/0"), HT_OK);
	assert_int_equal(add_allow("::/0"), HT_OK);
	assert_int_equal(add_deny("198.51.100.0/24"), HT_OK);
	assert_int_equal(add_allow("198.51.100.128/28"), HT_OK);
	assert_int_equal(add_deny("2001:db8:5::/48"), HT_OK);
	assert_int_equal(check_s("198.51.100.7"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("198.51.100.130"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("203.0.113.9"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("2001:db8:5::1"), HT_POLICY_DENY_RULE);
	assert_int_equal(check_s("127.0.0.1"), HT_POLICY_DENY_SPECIAL);

	ht_policy_init(&pol);
	assert_int_equal(add_deny("198.51.100.0/24"), HT_OK);
	assert_int_equal(add_allow("198.51.100.128/28"), HT_OK);
	assert_int_equal(check_s("203.0.113.9"), HT_POLICY_DENY_NOT_ALLOWED);

	ht_policy_init(&pol);
	assert_int_equal(add_allow("192.0.2.10"), HT_OK);
	assert_int_equal(add_allow("2001:db8::10"), HT_OK);
	assert_int_equal(check_s("192.0.2.10"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("2001:db8::10"), HT_POLICY_ALLOW);
	assert_int_equal(check_s("192.0.2.11"), HT_POLICY_DENY_NOT_ALLOWED);
	assert_int_equal(check_s("127.0.0.1"), HT_POLICY_DENY_SPECIAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_empty_allows, setup),
	    cmocka_unit_test_setup(test_special, setup),
	    cmocka_unit_test_setup(test_port_zero_and_null, setup),
	    cmocka_unit_test_setup(test_own, setup),
	    cmocka_unit_test_setup(test_deny, setup),
	    cmocka_unit_test_setup(test_nesting, setup),
	    cmocka_unit_test_setup(test_odd_lengths, setup),
	    cmocka_unit_test_setup(test_families, setup),
	    cmocka_unit_test_setup(test_parse, setup),
	    cmocka_unit_test_setup(test_bad_cidr, setup),
	    cmocka_unit_test_setup(test_capacity, setup),
	    cmocka_unit_test_setup(test_verdict_str, setup),
	    cmocka_unit_test_setup(test_sockaddr, setup),
	    cmocka_unit_test_setup(test_doc_examples, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
