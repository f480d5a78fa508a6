/* Unit tests of src/tunnel/status.c: JSON string escaping and the shape of
 * both renderings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
	c.sess.ro.passed = 9;
	c.sess.ro.lost = 2;
	assert_int_equal(ht_status_json(&st, &out, &len), 0);
	assert_non_null(strstr(out, "\"session\":{\"id\":7,\"connections\":2,\"path\":1,"
				    "\"path_state\":\"active\",\"picks\":25,\"picks_total\":100,"));
	assert_non_null(strstr(out, "\"passed\":9,\"reordered\":40,"));
	assert_non_null(strstr(out, "\"lost\":2,"));
	assert_non_null(strstr(out, "\"held\":3,\"wait_ms\":12.500}}"));
	free(out);
	assert_int_equal(ht_status_text(&st, &out, &len), 0);
	assert_non_null(strstr(out, "session #7  path 1 of 2  active  share 25%"));
	assert_non_null(strstr(out, "reordered 40"));
	assert_non_null(strstr(out, "wait 12.5 ms"));
	free(out);
	/* the multipath client: no session number, only its reorder figures */
	c.sess.id = 0;
	assert_int_equal(ht_status_json(&st, &out, &len), 0);
	assert_non_null(strstr(out, "\"session\":{\"id\":0,"));
	assert_non_null(strstr(out, "\"reordered\":40,"));
	free(out);
	assert_int_equal(ht_status_text(&st, &out, &len), 0);
	assert_null(strstr(out, "session #"));
	assert_non_null(strstr(out, "reorder: in order 0  passed 9  reordered 40"));
	free(out);
	/* no session: no session fields */
	c.sess.reorder = false;
	assert_int_equal(ht_status_json(&st, &out, &len), 0);
	assert_null(strstr(out, "\"session\""));
	free(out);
}

/* A converter's snapshot: no tunnel section, its connections and its
 * counters by Error code, in both renderings; a release frees it. */
static void test_render_converter(void **state)
{
	struct ht_status st = {.role = "converter", .uptime = 5 * HT_SECONDS};
	struct ht_status_conv *v = calloc(1, sizeof(*v));
	char *out;
	size_t len;

	(void)state;
	assert_non_null(v);
	v->conns = calloc(1, sizeof(*v->conns));
	assert_non_null(v->conns);
	snprintf(v->listen, sizeof(v->listen), "198.51.100.1:5124");
	v->mptcp = true;
	v->open = v->relaying = 1;
	v->nconns = 1;
	v->refused = 3;
	v->upstream_tcp = 4;
	v->tcp_dests = 1;
	v->errors[cv_error_index(CV_E_NOT_AUTHORIZED)] = 2;
	v->errors[cv_error_index(CV_E_NETWORK_FAILURE)] = 1;
	v->conns[0] = (struct ht_status_cvconn){.client = "192.0.2.2:40000",
						.dest = "203.0.113.10:9001",
						.state = "relay",
						.mptcp = true,
						.subflows = 2,
						.server = "MPTCP",
						.up = 1024,
						.down = 3 << 20,
						.age = 1500 * HT_MS};
	st.conv = v;
	assert_int_equal(ht_status_json(&st, &out, &len), 0);
	assert_non_null(strstr(out, "\"role\":\"converter\""));
	assert_null(strstr(out, "\"tcp\":"));
	assert_non_null(strstr(out, "\"converter\":{\"listen\":\"198.51.100.1:5124\",\"mptcp\":true,"));
	assert_non_null(strstr(out, "{\"code\":32,\"name\":\"Not Authorized\",\"count\":2}"));
	assert_non_null(strstr(out, "\"client\":\"192.0.2.2:40000\",\"destination\":"
				    "\"203.0.113.10:9001\",\"state\":\"relay\",\"client_mptcp\":true,"
				    "\"subflows\":2,\"server\":\"MPTCP\",\"tfo\":false,"
				    "\"bytes_up\":1024,\"bytes_down\":3145728,\"age_s\":1.500}"));
	assert_non_null(strstr(out, "\"upstream_plain_tcp\":4,\"tcp_only_destinations\":1,"));
	assert_int_equal(out[len - 1], '\n');
	free(out);
	assert_int_equal(ht_status_text(&st, &out, &len), 0);
	assert_null(strstr(out, "quic connections"));
	assert_non_null(strstr(out, "converter 198.51.100.1:5124 (MPTCP + TFO)"));
	assert_non_null(strstr(out, "refused 3: Not Authorized (32) 2, Network Failure (65) 1\n"));
	assert_non_null(strstr(out, "plain-TCP upstreams 4 (destinations known not to speak MPTCP: 1 now)"));
	assert_non_null(strstr(out, "192.0.2.2:40000 -> 203.0.113.10:9001  relay"));
	assert_non_null(strstr(out, "client MPTCP, 2 subflows  server MPTCP  up 1.0 KiB  down 3.0 MiB"));
	free(out);
	ht_status_release(&st);
	assert_null(st.conv);
}

/* The convert client: the converter's state and the MPTCP cache. */
static void test_render_cvclient(void **state)
{
	struct ht_status st = {.role = "client"};
	struct ht_status_cvc *v = calloc(1, sizeof(*v));
	char *out;
	size_t len;

	(void)state;
	assert_non_null(v);
	v->dests = calloc(1, sizeof(*v->dests));
	assert_non_null(v->dests);
	snprintf(v->converter, sizeof(v->converter), "198.51.100.1:5124");
	v->disabled = true;
	v->ndests = 1;
	snprintf(v->dests[0].dest, sizeof(v->dests[0].dest), "203.0.113.10:9000");
	v->dests[0].expires_in = 30 * HT_SECONDS;
	st.cvc = v;
	assert_int_equal(ht_status_json(&st, &out, &len), 0);
	assert_null(strstr(out, "\"dns\":"));
	assert_non_null(strstr(out, "\"disabled\":true,"));
	assert_non_null(strstr(out, "\"mptcp_destinations\":[{\"destination\":"
				    "\"203.0.113.10:9000\",\"expires_s\":30.000}]"));
	free(out);
	assert_int_equal(ht_status_text(&st, &out, &len), 0);
	assert_non_null(strstr(out, "DISABLED: interference or no reply"));
	assert_non_null(strstr(out, "203.0.113.10:9000  expires in 30 s"));
	free(out);
	ht_status_release(&st);
	assert_null(st.cvc);
}

/* The mixed mode: the rules with their hits, the convert client and the
 * tunnel in one snapshot. */
static void test_render_routes(void **state)
{
	struct ht_status st = {.role = "client"};
	struct ht_status_cvc *v = calloc(1, sizeof(*v));
	struct ht_status_routes *r = calloc(1, sizeof(*r));
	char *out;
	size_t len;

	(void)state;
	assert_non_null(v);
	assert_non_null(r);
	snprintf(v->converter, sizeof(v->converter), "198.51.100.1:5124");
	v->disabled = true;
	r->default_hits = 4;
	r->tunnel = 6;
	r->convert = 3;
	r->fallback = 2;
	r->names = 1;
	r->nrules = 2;
	snprintf(r->rule[0].spec, sizeof(r->rule[0].spec), "203.0.113.2/32:8080");
	r->rule[0].convert = true;
	r->rule[0].hits = 5;
	snprintf(r->rule[1].spec, sizeof(r->rule[1].spec), "any");
	st.cvc = v;
	st.routes = r;
	st.tcp_total = 9;
	assert_int_equal(ht_status_json(&st, &out, &len), 0);
	assert_non_null(strstr(out, "\"routing\":{\"default\":\"tunnel\",\"default_hits\":4,"
				    "\"tunnel\":6,\"convert\":3,\"fallback\":2,\"names\":1,\"rules\":["
				    "{\"spec\":\"203.0.113.2/32:8080\",\"via\":\"convert\",\"hits\":5},"
				    "{\"spec\":\"any\",\"via\":\"tunnel\",\"hits\":0}]}"));
	assert_non_null(strstr(out, "\"convert\":{\"converter\":"));
	assert_non_null(strstr(out, "\"tcp\":{\"open\":0,\"total\":9,"));
	free(out);
	assert_int_equal(ht_status_text(&st, &out, &len), 0);
	assert_non_null(strstr(out, "routing: 6 through the tunnel, 3 through the converter; 2 of "
				    "the converter's through the tunnel (disabled or refused), 1 host names"));
	assert_non_null(strstr(out, "  rule 1  convert  203.0.113.2/32:8080  5 hits\n"));
	assert_non_null(strstr(out, "  rule 2  tunnel   any  0 hits\n"));
	assert_non_null(strstr(out, "  default tunnel   4 hits\n"));
	assert_non_null(strstr(out, "DISABLED: interference or no reply, its destinations take "
				    "the tunnel"));
	assert_non_null(strstr(out, "tunnelled tcp: 0 open, 9 total"));
	free(out);
	ht_status_release(&st);
	assert_null(st.routes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_render_session),
		cmocka_unit_test(test_render_converter),
		cmocka_unit_test(test_render_cvclient),
		cmocka_unit_test(test_render_routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
