/* Unit tests of src/tunnel/status.c: JSON string escaping and the shape of
 * both renderings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tunnel/status.h"

static void test_escape(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(ht_json_escape(out, sizeof(out), "a\"b\\c\n\x01\x7f", 8), 21);
	assert_string_equal(out, "a\\\"b\\\\c\\n\\u0001\\u007f");
	assert_int_equal(ht_json_escape(out, 4, "abcd", 4), -1);
	assert_int_equal(ht_json_escape(out, 5, "abcd", 4), 4);
}

static void test_render(void **state)
{
	struct ht_status_conn c = {.peer = "192.0.2.1:443", .fp = "sha256:00", .alpn = "qt",
				   .state = "up\"x"};
	struct ht_status st = {.role = "client", .uptime = 90 * HT_SECONDS, .conns = &c, .nconns = 1,
			       .tcp_open = 2, .tcp_total = 3, .tcp_refused = 1};
	char *out;
	size_t len;

	(void)state;
	c.st.smoothed_rtt = 1500000;
	c.st.bytes_sent = 2048;
	assert_int_equal(ht_status_json(&st, &out, &len), 0);
	assert_int_equal(strlen(out), len);
	assert_non_null(strstr(out, "\"role\":\"client\""));
	assert_non_null(strstr(out, "\"state\":\"up\\\"x\""));
	assert_non_null(strstr(out, "\"srtt_ms\":1.500"));
	assert_non_null(strstr(out, "\"tcp\":{\"open\":2,\"total\":3,\"refused\":1}"));
	free(out);
	assert_int_equal(ht_status_text(&st, &out, &len), 0);
	assert_non_null(strstr(out, "uptime: 0d 00h01m30s"));
	assert_non_null(strstr(out, "sent 2.0 KiB"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
