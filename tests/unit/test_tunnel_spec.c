/* Unit tests of src/tunnel/spec.c: HOST:PORT and -L parsing, numbers and
 * durations, and the Error TLV -> SOCKS5 REP mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/icmp.h"
#include "proto/qt_stream.h"
#include "proto/socks5.h"
#include "tunnel/spec.h"

static const uint8_t v4_192_0_2_1[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
static const uint8_t v6_db8_1[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

static void test_hostport(void **state)
{
	struct ht_hostport h;
	const char *why;

	(void)state;
	assert_int_equal(ht_hostport_parse("192.0.2.1:80", false, 0, &h, &why), 0);
	assert_false(h.is_name);
	assert_memory_equal(h.addr, v4_192_0_2_1, 16);
	assert_int_equal(h.port, 80);
	assert_int_equal(ht_hostport_parse("[2001:db8::1]:443", false, 0, &h, &why), 0);
	assert_memory_equal(h.addr, v6_db8_1, 16);
	assert_int_equal(h.port, 443);
	/* default port */
	assert_int_equal(ht_hostport_parse("192.0.2.1", false, 1080, &h, &why), 0);
	assert_int_equal(h.port, 1080);
	assert_int_equal(ht_hostport_parse("2001:db8::1", false, 53, &h, &why), 0);
	assert_int_equal(h.port, 53);
	assert_int_equal(ht_hostport_parse("[2001:db8::1]", false, 53, &h, &why), 0);
	assert_int_equal(ht_hostport_parse("192.0.2.1", false, 0, &h, &why), -1);
	/* names */
	assert_int_equal(ht_hostport_parse("example.com:8080", true, 0, &h, &why), 0);
	assert_true(h.is_name);
	assert_string_equal(h.name, "example.com");
	assert_int_equal(ht_hostport_parse("example.com:8080", false, 0, &h, &why), -1);
	assert_int_equal(ht_hostport_parse("bad..name:1", true, 0, &h, &why), -1);
	assert_int_equal(ht_hostport_parse("-:1", true, 0, &h, &why), 0); /* labels are lenient */
	assert_int_equal(ht_hostport_parse("a b:1", true, 0, &h, &why), -1);
	/* ports */
	assert_int_equal(ht_hostport_parse("192.0.2.1:0", false, 0, &h, &why), -1);
	assert_int_equal(ht_hostport_parse("192.0.2.1:65536", false, 0, &h, &why), -1);
	assert_int_equal(ht_hostport_parse("192.0.2.1:65535", false, 0, &h, &why), 0);
	assert_int_equal(ht_hostport_parse("192.0.2.1:+1", false, 0, &h, &why), -1);
	assert_int_equal(ht_hostport_parse("192.0.2.1:", false, 0, &h, &why), -1);
	assert_int_equal(ht_hostport_parse("", false, 80, &h, &why), -1);
	assert_int_equal(ht_hostport_parse("[2001:db8::1", false, 80, &h, &why), -1);
	assert_int_equal(ht_hostport_parse("[192.0.2.1]:80", false, 0, &h, &why), -1);
	assert_int_equal(ht_hostport_parse("1:2:3", true, 0, &h, &why), -1);
}

static void test_fwd(void **state)
{
	struct ht_fwd f;
	const char *why;
	static const uint8_t lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};

	(void)state;
	assert_int_equal(ht_fwd_parse("8080:192.0.2.1:80", &f, &why), 0);
	assert_memory_equal(f.bind.addr, lo, 16);
	assert_int_equal(f.bind.port, 8080);
	assert_memory_equal(f.dst.addr, v4_192_0_2_1, 16);
	assert_int_equal(f.dst.port, 80);
	assert_int_equal(ht_fwd_parse("0.0.0.0:8080:[2001:db8::1]:443", &f, &why), 0);
	assert_int_equal(f.bind.port, 8080);
	assert_memory_equal(f.dst.addr, v6_db8_1, 16);
	assert_int_equal(f.dst.port, 443);
	assert_int_equal(ht_fwd_parse("[::1]:8080:example.org:443", &f, &why), 0);
	assert_true(f.dst.is_name);
	assert_string_equal(f.dst.name, "example.org");
	assert_int_equal(ht_fwd_parse("8080:192.0.2.1", &f, &why), -1);
	assert_int_equal(ht_fwd_parse("x:8080:192.0.2.1:80", &f, &why), -1);    /* bind is no name */
	assert_int_equal(ht_fwd_parse("0:192.0.2.1:80", &f, &why), -1);
	assert_int_equal(ht_fwd_parse("8080:192.0.2.1:0", &f, &why), -1);
	assert_int_equal(ht_fwd_parse("8080:2001:db8::1:80", &f, &why), -1);   /* brackets */
	assert_int_equal(ht_fwd_parse("1:2:8080:192.0.2.1:80", &f, &why), -1);
}

static void test_numbers(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(ht_parse_u64("256", 1, 1000, &v), 0);
	assert_int_equal(v, 256);
	assert_int_equal(ht_parse_u64("0", 1, 1000, &v), -1);
	assert_int_equal(ht_parse_u64("1001", 1, 1000, &v), -1);
	assert_int_equal(ht_parse_u64("-1", 0, 1000, &v), -1);
	assert_int_equal(ht_parse_u64("12a", 0, 1000, &v), -1);
	assert_int_equal(ht_parse_u64("99999999999999999999", 0, UINT64_MAX, &v), -1);
	assert_int_equal(ht_parse_seconds("10", 3600, &v), 0);
	assert_int_equal(v, 10000000000ull);
	assert_int_equal(ht_parse_seconds("0.5", 3600, &v), 0);
	assert_int_equal(v, 500000000ull);
	assert_int_equal(ht_parse_seconds("0.001", 3600, &v), 0);
	assert_int_equal(v, 1000000ull);
	assert_int_equal(ht_parse_seconds("0", 3600, &v), -1);
	assert_int_equal(ht_parse_seconds("0.0001", 3600, &v), -1);
	assert_int_equal(ht_parse_seconds("3600.5", 3600, &v), -1);
	assert_int_equal(ht_parse_seconds("1.", 3600, &v), -1);
	assert_int_equal(ht_parse_seconds(".5", 3600, &v), -1);
	assert_int_equal(ht_parse_seconds("1s", 3600, &v), -1);
}

static size_t icmp_of(uint8_t *buf, int family, uint8_t type, uint8_t code)
{
	uint8_t quoted[48];
	int q = icmp_build_quote_tcp(quoted, sizeof(quoted), family,
				     family == 4 ? v4_192_0_2_1 : v6_db8_1,
				     family == 4 ? v4_192_0_2_1 : v6_db8_1, 1000, 80, NULL);
	int n = icmp_build(buf, 64, 64, family, type, code, 0, quoted, (size_t)q,
			   family == 4 ? v4_192_0_2_1 : v6_db8_1, family == 4 ? v4_192_0_2_1 : v6_db8_1);

	assert_true(q > 0 && n > 0);
	return (size_t)n;
}

static void test_socks_rep(void **state)
{
	uint8_t m[64];
	size_t n;

	(void)state;
	assert_int_equal(ht_socks_rep_for_error(QT_ERR_NETWORK_FAILURE, NULL, 0, v4_192_0_2_1),
			 SOCKS5_REP_HOST_UNREACHABLE);
	assert_int_equal(ht_socks_rep_for_error(QT_ERR_PROTOCOL_VIOLATION, NULL, 0, v4_192_0_2_1),
			 SOCKS5_REP_GENERAL_FAILURE);
	assert_int_equal(ht_socks_rep_for_error(0x77, NULL, 0, v4_192_0_2_1),
			 SOCKS5_REP_GENERAL_FAILURE);
	assert_int_equal(ht_socks_rep_for_error(QT_ERR_ICMP, NULL, 0, v4_192_0_2_1),
			 SOCKS5_REP_GENERAL_FAILURE);
	n = icmp_of(m, 4, ICMP4_DEST_UNREACH, ICMP4_NET_UNREACH);
	assert_int_equal(ht_socks_rep_for_error(QT_ERR_ICMP, m, n, v4_192_0_2_1),
			 SOCKS5_REP_NET_UNREACHABLE);
	n = icmp_of(m, 4, ICMP4_DEST_UNREACH, ICMP4_HOST_UNREACH);
	assert_int_equal(ht_socks_rep_for_error(QT_ERR_ICMP, m, n, v4_192_0_2_1),
			 SOCKS5_REP_HOST_UNREACHABLE);
	assert_string_equal(ht_error_tlv_str(QT_ERR_ICMP, m, n, v4_192_0_2_1),
			    "Error 0x1 ICMP host unreachable");
	n = icmp_of(m, 4, ICMP4_DEST_UNREACH, ICMP4_PORT_UNREACH);
	assert_int_equal(ht_socks_rep_for_error(QT_ERR_ICMP, m, n, v4_192_0_2_1),
			 SOCKS5_REP_CONN_REFUSED);
	n = icmp_of(m, 4, ICMP4_DEST_UNREACH, ICMP4_ADMIN_PROHIBITED);
	assert_int_equal(ht_socks_rep_for_error(QT_ERR_ICMP, m, n, v4_192_0_2_1),
			 SOCKS5_REP_NOT_ALLOWED);
	n = icmp_of(m, 6, ICMP6_DEST_UNREACH, ICMP6_ADMIN_PROHIBITED);
	assert_int_equal(ht_socks_rep_for_error(QT_ERR_ICMP, m, n, v6_db8_1),
			 SOCKS5_REP_NOT_ALLOWED);
	n = icmp_of(m, 6, ICMP6_DEST_UNREACH, ICMP6_ADDR_UNREACH);
	assert_int_equal(ht_socks_rep_for_error(QT_ERR_ICMP, m, n, v6_db8_1),
			 SOCKS5_REP_HOST_UNREACHABLE);
	n = icmp_of(m, 6, ICMP6_TIME_EXCEEDED, 0);
	assert_int_equal(ht_socks_rep_for_error(QT_ERR_ICMP, m, n, v6_db8_1),
			 SOCKS5_REP_TTL_EXPIRED);
	/* truncated ICMP payload */
	assert_int_equal(ht_socks_rep_for_error(QT_ERR_ICMP, m, 3, v6_db8_1),
			 SOCKS5_REP_GENERAL_FAILURE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_fwd),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_socks_rep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
