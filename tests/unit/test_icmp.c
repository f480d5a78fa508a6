/* Unit tests for src/proto/icmp.c. Reference checksums computed
 * independently (RFC 1071 in Python) for the same bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proto/addr.h"
#include "proto/err.h"
#include "proto/icmp.h"

static const uint8_t v6src[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t v6dst[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

static void test_v4_port_unreach_vector(void **state)
{
	uint8_t buf[64];
	static const uint8_t want[] = {0x03, 0x03, 0xfc, 0xfc, 0, 0, 0, 0};
	struct icmp_msg m;

	(void)state;
	assert_int_equal(icmp_build(buf, sizeof(buf), 548, 4, ICMP4_DEST_UNREACH,
				    ICMP4_PORT_UNREACH, 0, NULL, 0, NULL, NULL), 8);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(icmp_parse(&m, 4, buf, 8), 8);
	assert_int_equal(m.type, 3);
	assert_int_equal(m.code, 3);
	assert_null(m.quoted);
	assert_int_equal(icmp_reason(&m), ICMP_REASON_REFUSED);
}

static void test_v6_ptb_vector(void **state)
{
	uint8_t quoted[40], buf[128];
	struct icmp_msg m;

	(void)state;
	for (int i = 0; i < 40; i++)
		quoted[i] = (uint8_t)i;
	assert_int_equal(icmp_build(buf, sizeof(buf), 1232, 6, ICMP6_PACKET_TOO_BIG, 0, 1280,
				    quoted, sizeof(quoted), v6src, v6dst), 48);
	assert_int_equal(buf[2], 0x1f);
	assert_int_equal(buf[3], 0x8f);
	assert_int_equal(icmp_parse(&m, 6, buf, 48), 48);
	assert_int_equal(m.info, 1280);
	assert_int_equal(m.quoted_len, 40);
	assert_memory_equal(m.quoted, quoted, 40);
	assert_int_equal(icmp_reason(&m), ICMP_REASON_OTHER);
}

static void test_truncation_to_max_len(void **state)
{
	uint8_t quoted[1500], buf[2000];

	(void)state;
	memset(quoted, 0xab, sizeof(quoted));
	/* RFC 792 style: 576 - 20 (IP) = 556 bytes of ICMP at most. */
	assert_int_equal(icmp_build(buf, sizeof(buf), 556, 4, ICMP4_DEST_UNREACH,
				    ICMP4_FRAG_NEEDED, 1400, quoted, sizeof(quoted), NULL, NULL),
			 556);
	assert_int_equal(icmp_build(buf, 100, 556, 4, ICMP4_DEST_UNREACH, ICMP4_FRAG_NEEDED,
				    1400, quoted, sizeof(quoted), NULL, NULL),
			 HT_ERR_NOBUF);
	assert_int_equal(icmp_build(buf, 4, 556, 4, 3, 3, 0, NULL, 0, NULL, NULL), HT_ERR_NOBUF);
	assert_int_equal(icmp_build(buf, 64, 556, 6, 1, 4, 0, NULL, 0, NULL, v6dst), HT_ERR_INVAL);
	assert_int_equal(icmp_build(buf, 64, 556, 5, 1, 4, 0, NULL, 0, NULL, NULL), HT_ERR_INVAL);
}

static void test_parse_errors(void **state)
{
	struct icmp_msg m;
	static const uint8_t echo_req[8] = {8, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t v6_echo[8] = {128, 0, 0, 0, 0, 0, 0, 0};

	(void)state;
	assert_int_equal(icmp_parse(&m, 4, echo_req, 7), HT_ERR_TRUNCATED);
	assert_int_equal(icmp_parse(&m, 4, echo_req, 8), HT_ERR_BAD_TYPE);
	assert_int_equal(icmp_parse(&m, 6, v6_echo, 8), HT_ERR_BAD_TYPE);
	assert_int_equal(icmp_parse(&m, 6, echo_req, 0), HT_ERR_TRUNCATED);
	assert_int_equal(icmp_parse(&m, 3, echo_req, 8), HT_ERR_INVAL);
	assert_int_equal(icmp_parse(NULL, 4, echo_req, 8), HT_ERR_INVAL);
}

static void test_reasons(void **state)
{
	static const struct {
		int family;
		uint8_t type, code;
		enum icmp_reason want;
	} cases[] = {
		{4, 3, 0, ICMP_REASON_NET_UNREACH},  {4, 3, 1, ICMP_REASON_HOST_UNREACH},
		{4, 3, 2, ICMP_REASON_REFUSED},      {4, 3, 13, ICMP_REASON_PROHIBITED},
		{4, 11, 0, ICMP_REASON_TTL},         {4, 3, 4, ICMP_REASON_OTHER},
		{6, 1, 0, ICMP_REASON_NET_UNREACH},  {6, 1, 3, ICMP_REASON_HOST_UNREACH},
		{6, 1, 4, ICMP_REASON_REFUSED},      {6, 1, 1, ICMP_REASON_PROHIBITED},
		{6, 3, 0, ICMP_REASON_TTL},          {6, 4, 0, ICMP_REASON_OTHER},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct icmp_msg m = {.family = cases[i].family, .type = cases[i].type,
				     .code = cases[i].code};

		assert_int_equal(icmp_reason(&m), cases[i].want);
	}
}

static void test_quote_tcp(void **state)
{
	uint8_t src[16], dst[16], buf[64];
	static const uint8_t a[4] = {192, 0, 2, 1}, b[4] = {198, 51, 100, 7};

	(void)state;
	ht_addr_map_v4(src, a);
	ht_addr_map_v4(dst, b);
	assert_int_equal(icmp_build_quote_tcp(buf, sizeof(buf), 4, src, dst, 40000, 443, NULL), 28);
	assert_int_equal(buf[0], 0x45);
	assert_int_equal(buf[9], 6);
	assert_int_equal(buf[10], 0x8e); /* header checksum */
	assert_int_equal(buf[11], 0x94);
	assert_memory_equal(buf + 12, a, 4);
	assert_memory_equal(buf + 16, b, 4);
	assert_int_equal(buf[20] << 8 | buf[21], 40000);
	assert_int_equal(buf[22] << 8 | buf[23], 443);
	assert_int_equal(icmp_build_quote_tcp(buf, sizeof(buf), 6, v6src, v6dst, 1, 2, NULL), 48);
	assert_int_equal(buf[0], 0x60);
	assert_memory_equal(buf + 8, v6src, 16);
	assert_int_equal(icmp_build_quote_tcp(buf, 47, 6, v6src, v6dst, 1, 2, NULL), HT_ERR_NOBUF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_port_unreach_vector),
		cmocka_unit_test(test_v6_ptb_vector),
		cmocka_unit_test(test_truncation_to_max_len),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_quote_tcp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
