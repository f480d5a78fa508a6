/* Unit tests for src/proto/route_rule.c: the client's per-destination
 * transport rules (--convert-dest / --tunnel-dest). */
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
#include "proto/route_rule.h"

static struct ht_route_rules rs;

static void A(uint8_t out[16], const char *s)
{
	uint8_t v4[4];

	if (inet_pton(AF_INET, s, v4) == 1) {
		ht_addr_map_v4(out, v4);
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

static int match(const char *addr, uint16_t port)
{
	uint8_t a[16];

	A(a, addr);
	return ht_route_rules_match(&rs, a, port);
}

static int add(enum ht_route_via via, const char *s)
{
	const char *why = NULL;
	int rc = ht_route_rules_add(&rs, via, s, strlen(s), &why);

	if (rc != HT_OK)
		assert_non_null(why);
	return rc;
}

static int parse_why(const char *s, const char **why)
{
	struct ht_route_rule r;

	*why = NULL;
	return ht_route_rule_parse(&r, s, strlen(s), why);
}

/* Every valid SPEC formats to its canonical form, which parses back. */
static void test_parse_valid_canonical(void **state)
{
	static const struct {
		const char *in, *canon;
	} v[] = {
	    {"any", "any"},
	    {"any:443", "any:443"},
	    {"any:1-65535", "any:1-65535"},
	    {"198.51.100.0/24", "198.51.100.0/24"},
	    {"198.51.100.7", "198.51.100.7/32"},
	    {"198.51.100.7:443", "198.51.100.7/32:443"},
	    {"198.51.100.0/24:80-90", "198.51.100.0/24:80-90"},
	    {"0.0.0.0/0:22", "0.0.0.0/0:22"},
	    {"2001:db8::/32", "2001:db8::/32"},
	    {"2001:db8::1", "2001:db8::1/128"},
	    {"[2001:db8::/32]:80-90", "[2001:db8::/32]:80-90"},
	    {"[2001:db8::1]:443", "[2001:db8::1/128]:443"},
	    {"[2001:db8::1]", "2001:db8::1/128"},
	    {"::/0", "::/0"},
	    {"::ffff:192.0.2.0/120", "192.0.2.0/24"},
	    {"[::ffff:192.0.2.0/120]:5", "192.0.2.0/24:5"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct ht_route_rule r, again;
		char out[HT_ROUTE_SPEC_STRLEN];
		const char *why = NULL;

		assert_int_equal(ht_route_rule_parse(&r, v[i].in, strlen(v[i].in), &why), HT_OK);
		assert_int_equal(ht_route_rule_format(&r, out, sizeof(out)), (int)strlen(v[i].canon));
		assert_string_equal(out, v[i].canon);
		assert_int_equal(ht_route_rule_parse(&again, out, strlen(out), NULL), HT_OK);
		assert_memory_equal(&again, &r, sizeof(r));
	}
}

/* Malformed SPECs get the precise code and a reason. */
static void test_parse_malformed(void **state)
{
	static const struct {
		const char *in;
		int code;
		const char *why_has;
	} v[] = {
	    {"", HT_ERR_BAD_ADDRESS, "no address"},
	    {":443", HT_ERR_BAD_ADDRESS, "no address"},
	    {"198.51.100.1/24", HT_ERR_BAD_ADDRESS, "CIDR"},   /* host bits */
	    {"198.51.100.007", HT_ERR_BAD_ADDRESS, "CIDR"},    /* leading zeros */
	    {"198.51.100.0/33", HT_ERR_BAD_ADDRESS, "CIDR"},
	    {"example.com:443", HT_ERR_BAD_ADDRESS, "CIDR"},
	    {"ANY", HT_ERR_BAD_ADDRESS, "CIDR"},
	    {"[any]:443", HT_ERR_BAD_ADDRESS, "CIDR"},
	    {"[198.51.100.0/24]:80", HT_ERR_BAD_ADDRESS, "IPv6 only"},
	    {"[2001:db8::/32:80", HT_ERR_BAD_ADDRESS, "without ']'"},
	    {"[]:80", HT_ERR_BAD_ADDRESS, "no address"},
	    {"198.51.100.7:0", HT_ERR_BAD_VALUE, "port"},
	    {"198.51.100.7:65536", HT_ERR_BAD_VALUE, "port"},
	    {"198.51.100.7:080", HT_ERR_BAD_VALUE, "port"},
	    {"198.51.100.7:", HT_ERR_BAD_VALUE, "port"},
	    {"198.51.100.7:http", HT_ERR_BAD_VALUE, "port"},
	    {"198.51.100.7:90-80", HT_ERR_BAD_VALUE, "reversed"},
	    {"198.51.100.7:80-", HT_ERR_BAD_VALUE, "last port"},
	    {"198.51.100.7:80-90-100", HT_ERR_BAD_VALUE, "last port"},
	    {"any:-5", HT_ERR_BAD_VALUE, "port"},
	    {"2001:db8::/32:80", HT_ERR_BAD_VALUE, "brackets"},
	    {"[2001:db8::/32]80", HT_ERR_BAD_VALUE, "after ']'"},
	    {"[2001:db8::/32]:", HT_ERR_BAD_VALUE, "port"},
	    {"[2001:db8::1%eth0]", HT_ERR_BAD_ADDRESS, "CIDR"},
	    {"[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128]:65535-65535x", HT_ERR_TOO_LONG,
	     "too long"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *why;
		int rc = parse_why(v[i].in, &why);

		if (rc != v[i].code || why == NULL || strstr(why, v[i].why_has) == NULL)
			fail_msg("'%s': got %d (%s), want %d (%s)", v[i].in, rc,
				 why ? why : "(null)", v[i].code, v[i].why_has);
	}
	{
		struct ht_route_rule r;
		const char nul[] = "198.51.100.7\0:80";

		assert_int_equal(ht_route_rule_parse(&r, nul, sizeof(nul) - 1, NULL), HT_ERR_BAD_VALUE);
		assert_int_equal(ht_route_rule_parse(NULL, "any", 3, NULL), HT_ERR_INVAL);
		assert_int_equal(ht_route_rule_parse(&r, NULL, 3, NULL), HT_ERR_INVAL);
	}
}

/* First match wins, in the order given, across both kinds. */
static void test_match_order(void **state)
{
	(void)state;
	ht_route_rules_init(&rs);
	assert_int_equal(add(HT_ROUTE_TUNNEL, "198.51.100.7:443"), HT_OK);
	assert_int_equal(add(HT_ROUTE_CONVERT, "198.51.100.0/24"), HT_OK);
	assert_int_equal(add(HT_ROUTE_TUNNEL, "198.51.0.0/16"), HT_OK);
	assert_int_equal(add(HT_ROUTE_CONVERT, "any:8080"), HT_OK);
	assert_int_equal(match("198.51.100.7", 443), 0);
	assert_int_equal(match("198.51.100.7", 444), 1);
	assert_int_equal(match("198.51.100.200", 443), 1);
	assert_int_equal(match("198.51.7.1", 443), 2);
	assert_int_equal(match("198.51.7.1", 8080), 2);
	assert_int_equal(match("203.0.113.1", 8080), 3);
	assert_int_equal(match("2001:db8::1", 8080), 3);
	assert_int_equal(match("203.0.113.1", 80), -1);
	assert_int_equal(rs.rule[0].via, HT_ROUTE_TUNNEL);
	assert_int_equal(rs.rule[1].via, HT_ROUTE_CONVERT);
	assert_string_equal(ht_route_via_str(HT_ROUTE_CONVERT), "convert");
	assert_string_equal(ht_route_via_str(HT_ROUTE_TUNNEL), "tunnel");
}

/* IPv4 rules match IPv4 destinations only, IPv6 rules IPv6 only; "any"
 * both. */
static void test_families(void **state)
{
	(void)state;
	ht_route_rules_init(&rs);
	assert_int_equal(add(HT_ROUTE_CONVERT, "0.0.0.0/0"), HT_OK);
	assert_int_equal(match("192.0.2.1", 1), 0);
	assert_int_equal(match("2001:db8::1", 1), -1);
	assert_int_equal(match("::ffff:192.0.2.1", 1), 0);
	ht_route_rules_init(&rs);
	assert_int_equal(add(HT_ROUTE_CONVERT, "::/0"), HT_OK);
	assert_int_equal(match("192.0.2.1", 1), -1);
	assert_int_equal(match("2001:db8::1", 1), 0);
	ht_route_rules_init(&rs);
	assert_int_equal(add(HT_ROUTE_CONVERT, "[2001:db8:40::/48]:80-90"), HT_OK);
	assert_int_equal(add(HT_ROUTE_TUNNEL, "any"), HT_OK);
	assert_int_equal(match("2001:db8:40::2", 80), 0);
	assert_int_equal(match("2001:db8:40:ffff::2", 90), 0);
	assert_int_equal(match("2001:db8:40::2", 91), 1);
	assert_int_equal(match("2001:db8:41::2", 85), 1);
	assert_int_equal(match("192.0.2.1", 85), 1);
	/* A prefix length that is not a multiple of 8. */
	ht_route_rules_init(&rs);
	assert_int_equal(add(HT_ROUTE_CONVERT, "198.51.100.128/25"), HT_OK);
	assert_int_equal(match("198.51.100.128", 1), 0);
	assert_int_equal(match("198.51.100.255", 1), 0);
	assert_int_equal(match("198.51.100.127", 1), -1);
}

static void test_port_ranges(void **state)
{
	(void)state;
	ht_route_rules_init(&rs);
	assert_int_equal(add(HT_ROUTE_CONVERT, "any:80-90"), HT_OK);
	assert_int_equal(add(HT_ROUTE_CONVERT, "any:65535"), HT_OK);
	assert_int_equal(add(HT_ROUTE_CONVERT, "any:1"), HT_OK);
	assert_int_equal(match("192.0.2.1", 79), -1);
	assert_int_equal(match("192.0.2.1", 80), 0);
	assert_int_equal(match("192.0.2.1", 90), 0);
	assert_int_equal(match("192.0.2.1", 91), -1);
	assert_int_equal(match("192.0.2.1", 65535), 1);
	assert_int_equal(match("192.0.2.1", 1), 2);
	assert_int_equal(match("192.0.2.1", 0), -1);
}

/* The list is bounded; a failed add adds nothing. */
static void test_bounds(void **state)
{
	char s[32];
	const char *why = NULL;
	uint8_t a[16];

	(void)state;
	ht_route_rules_init(&rs);
	for (unsigned i = 0; i < HT_ROUTE_MAX_RULES; i++) {
		snprintf(s, sizeof(s), "198.51.100.%u", i);
		assert_int_equal(add(HT_ROUTE_CONVERT, s), HT_OK);
	}
	assert_int_equal(ht_route_rules_add(&rs, HT_ROUTE_TUNNEL, "any", 3, &why), HT_ERR_NOBUF);
	assert_string_equal(why, "too many rules");
	assert_int_equal(rs.n, HT_ROUTE_MAX_RULES);
	assert_int_equal(match("198.51.100.63", 5), 63);
	ht_route_rules_init(&rs);
	assert_int_equal(add(HT_ROUTE_CONVERT, "198.51.100.7:x"), HT_ERR_BAD_VALUE);
	assert_int_equal(rs.n, 0);
	assert_int_equal(ht_route_rules_add(NULL, HT_ROUTE_TUNNEL, "any", 3, NULL), HT_ERR_INVAL);
	assert_int_equal(ht_route_rules_add(&rs, (enum ht_route_via)7, "any", 3, NULL),
			 HT_ERR_INVAL);
	A(a, "192.0.2.1");
	assert_int_equal(ht_route_rules_match(NULL, a, 1), -1);
	assert_int_equal(ht_route_rules_match(&rs, NULL, 1), -1);
	{
		struct ht_route_rule r;
		char small[8];

		assert_int_equal(ht_route_rule_parse(&r, "198.51.100.0/24:80-90", 21, NULL), HT_OK);
		assert_int_equal(ht_route_rule_format(&r, small, sizeof(small)), HT_ERR_NOBUF);
		assert_string_equal(small, "");
		assert_int_equal(ht_route_rule_format(NULL, small, sizeof(small)), HT_ERR_INVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid_canonical),
	    cmocka_unit_test(test_parse_malformed),
	    cmocka_unit_test(test_match_order),
	    cmocka_unit_test(test_families),
	    cmocka_unit_test(test_port_ranges),
	    cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
