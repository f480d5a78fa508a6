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

/* A connection of a multipath session: its path and the session's
 * reorder counters, in both renderings. */
static void test_render_session(void **state)
{
	struct ht_status_conn c = {.peer = "192.0.2.1:443", .fp = "sha256:00", .alpn = "qt",
				   .state = "up"};
	struct ht_status st = {.role = "concentrator", .conns = &c, .nconns = 1};
	char *out;
	size_t len;

	(void)state;
	c.sess = (struct ht_status_sess){.id = 7, .conns = 2, .path = 1, .path_state = "active",
					 .picks = 25, .picks_total = 100, .reorder = true,
					 .held = 3, .wait = 12500000};
	c.sess.ro.reordered = 40;
	c.sess.ro.lost = 2;
	assert_int_equal(ht_status_json(&st, &out, &len), 0);
	assert_non_null(strstr(out, "\"session\":{\"id\":7,\"connections\":2,\"path\":1,"
				    "\"path_state\":\"active\",\"picks\":25,\"picks_total\":100,"));
	assert_non_null(strstr(out, "\"reordered\":40,"));
	assert_non_null(strstr(out, "\"lost\":2,"));
	assert_non_null(strstr(out, "\"held\":3,\"wait_ms\":12.500}}"));
	free(out);
	assert_int_equal(ht_status_text(&st, &out, &len), 0);
	assert_non_null(strstr(out, "session #7  path 1 of 2  active  share 25%"));
	assert_non_null(strstr(out, "reordered 40"));
	assert_non_null(strstr(out, "wait 12.5 ms"));
	free(out);
	/* no session: no session fields */
	c.sess.id = 0;
	assert_int_equal(ht_status_json(&st, &out, &len), 0);
	assert_null(strstr(out, "\"session\""));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_render_session),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
