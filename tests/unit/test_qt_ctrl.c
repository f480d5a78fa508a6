/* Unit tests for src/proto/qt_ctrl.c: quic-tunnel-01 control TLVs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proto/err.h"
#include "proto/qt_ctrl.h"

static const uint8_t new_session[] = {0x00, 0x00};
/* A 16-byte Session ID as hatun issues them. */
static const uint8_t session_id[] = {0x01, 0x10, 0x5e, 0x55, 0x10, 0x4e, 0x00, 0x01, 0x02,
                                     0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b};
static const uint8_t join[] = {0x02, 0x10, 0x5e, 0x55, 0x10, 0x4e, 0x00, 0x01, 0x02,
                               0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b};

static void test_stream_ids(void **state)
{
	(void)state;
	assert_int_equal(qt_ctrl_stream_id(QT_CTRL_CLIENT), 2);
	assert_int_equal(qt_ctrl_stream_id(QT_CTRL_CONCENTRATOR), 3);
	assert_true(qt_ctrl_is_control_stream(2));
	assert_true(qt_ctrl_is_control_stream(3));
	assert_false(qt_ctrl_is_control_stream(0));
	assert_false(qt_ctrl_is_control_stream(6)); /* the client's second uni stream */
	assert_false(qt_ctrl_is_control_stream(7));
	assert_false(qt_ctrl_is_control_stream(2 + (1ull << 62)));
}

static void test_write(void **state)
{
	uint8_t b[300], id[256];
	struct qt_ctrl_tlv t = {0};

	(void)state;
	memset(id, 0x5a, sizeof(id));
	assert_int_equal(qt_ctrl_write_new_session(b, 2), 2);
	assert_memory_equal(b, new_session, 2);
	assert_int_equal(qt_ctrl_write_new_session(b, 1), HT_ERR_NOBUF);
	assert_int_equal(qt_ctrl_write_session_id(b, sizeof(b), session_id + 2, 16), 18);
	assert_memory_equal(b, session_id, 18);
	assert_int_equal(qt_ctrl_write_join_session(b, sizeof(b), join + 2, 16), 18);
	assert_memory_equal(b, join, 18);
	assert_int_equal(qt_ctrl_write_join_session(b, 17, join + 2, 16), HT_ERR_NOBUF);
	assert_int_equal(qt_ctrl_write_session_id(b, sizeof(b), id, 255), 257);
	assert_int_equal(b[1], 255);
	assert_int_equal(qt_ctrl_write_session_id(b, sizeof(b), id, 256), HT_ERR_TOO_LONG);
	assert_int_equal(qt_ctrl_write_session_id(b, sizeof(b), id, 0), HT_ERR_INVAL);
	assert_int_equal(qt_ctrl_write_join_session(b, sizeof(b), NULL, 4), HT_ERR_INVAL);
	assert_int_equal(qt_ctrl_write_new_session(NULL, 2), HT_ERR_INVAL);
	t.type = QT_CTRL_JOIN_SESSION;
	t.id = id;
	t.id_len = 1;
	assert_int_equal(qt_ctrl_write(b, sizeof(b), &t), 3);
	t.type = QT_CTRL_EXT_FIRST;
	assert_int_equal(qt_ctrl_write(b, sizeof(b), &t), HT_ERR_BAD_TYPE);
}

static void test_parse(void **state)
{
	struct qt_ctrl_tlv t;

	(void)state;
	assert_int_equal(qt_ctrl_parse(&t, new_session, 2, QT_CTRL_CLIENT), 2);
	assert_int_equal(t.type, QT_CTRL_NEW_SESSION);
	assert_null(t.id);
	assert_int_equal(qt_ctrl_parse(&t, session_id, 18, QT_CTRL_CONCENTRATOR), 18);
	assert_int_equal(t.type, QT_CTRL_SESSION_ID);
	assert_int_equal(t.id_len, 16);
	assert_ptr_equal(t.id, session_id + 2);
	assert_int_equal(qt_ctrl_parse(&t, join, sizeof(join), QT_CTRL_CLIENT), 18);
	assert_int_equal(t.type, QT_CTRL_JOIN_SESSION);
	for (size_t n = 0; n < sizeof(join); n++)
		assert_int_equal(qt_ctrl_parse(&t, join, n, QT_CTRL_CLIENT), HT_ERR_NEED_MORE);
	/* One-byte IDs are accepted on receipt. */
	assert_int_equal(qt_ctrl_parse(&t, (const uint8_t[]){0x02, 0x01, 0x77}, 3, QT_CTRL_CLIENT),
	                 3);
	assert_int_equal(qt_ctrl_parse(NULL, join, 2, QT_CTRL_CLIENT), HT_ERR_INVAL);
	assert_int_equal(qt_ctrl_parse(&t, join, 2, (enum qt_ctrl_role)7), HT_ERR_INVAL);
}

static void test_parse_errors(void **state)
{
	struct qt_ctrl_tlv t;

	(void)state;
	/* Sender rules, known after one byte. */
	assert_int_equal(qt_ctrl_parse(&t, new_session, 1, QT_CTRL_CONCENTRATOR),
	                 HT_ERR_WRONG_SENDER);
	assert_int_equal(qt_ctrl_parse(&t, join, 1, QT_CTRL_CONCENTRATOR), HT_ERR_WRONG_SENDER);
	assert_int_equal(qt_ctrl_parse(&t, session_id, 18, QT_CTRL_CLIENT), HT_ERR_WRONG_SENDER);
	assert_int_equal(t.type, QT_CTRL_SESSION_ID);
	/* Lengths. */
	assert_int_equal(qt_ctrl_parse(&t, (const uint8_t[]){0x00, 0x01, 0x00}, 3, QT_CTRL_CLIENT),
	                 HT_ERR_BAD_LENGTH);
	assert_int_equal(qt_ctrl_parse(&t, (const uint8_t[]){0x01, 0x00}, 2, QT_CTRL_CONCENTRATOR),
	                 HT_ERR_BAD_LENGTH);
	assert_int_equal(qt_ctrl_parse(&t, (const uint8_t[]){0x02, 0x00}, 2, QT_CTRL_CLIENT),
	                 HT_ERR_BAD_LENGTH);
	/* Unknown types: -02's Access Report 0x03, a hatun extension slot. */
	assert_int_equal(qt_ctrl_parse(&t, (const uint8_t[]){0x03}, 1, QT_CTRL_CLIENT),
	                 HT_ERR_NEED_MORE);
	assert_int_equal(
	    qt_ctrl_parse(&t, (const uint8_t[]){0x03, 0x02, 0x11, 0x01}, 4, QT_CTRL_CLIENT),
	    HT_ERR_BAD_TYPE);
	assert_int_equal(t.type, 0x03);
	assert_int_equal(t.len, 2);
	assert_int_equal(qt_ctrl_parse(&t, (const uint8_t[]){0x40, 0x00}, 2, QT_CTRL_CONCENTRATOR),
	                 HT_ERR_BAD_TYPE);
	assert_int_equal(t.type, QT_CTRL_EXT_FIRST);
}

/* Feed a whole stream to c in one read; collect at most one TLV. */
static int feed(struct qt_ctrl_conn *c, const uint8_t *b, size_t n, bool fin,
                struct qt_ctrl_tlv *out)
{
	size_t used;
	int r = qt_ctrl_conn_feed(c, b, n, fin, &used, out);

	if (r == 1)
		assert_true(used <= n);
	return r;
}

static void test_new_session_flow(void **state)
{
	struct qt_ctrl_conn cli, con;
	struct qt_ctrl_tlv t;

	(void)state;
	qt_ctrl_conn_init(&cli, QT_CTRL_CLIENT, QT_CTRL_PROFILE_01);
	qt_ctrl_conn_init(&con, QT_CTRL_CONCENTRATOR, QT_CTRL_PROFILE_01);
	assert_int_equal(qt_ctrl_conn_on_send(&cli, QT_CTRL_NEW_SESSION), HT_OK);
	/* Concentrator gets "00 00" + FIN on stream 2. */
	assert_int_equal(feed(&con, new_session, 2, true, &t), 1);
	assert_int_equal(t.type, QT_CTRL_NEW_SESSION);
	assert_true(con.fin);
	assert_int_equal(qt_ctrl_conn_on_send(&con, QT_CTRL_SESSION_ID), HT_OK);
	assert_int_equal(qt_ctrl_conn_on_send(&con, QT_CTRL_SESSION_ID), HT_ERR_ORDER);
	/* Client gets the Session ID byte by byte, then FIN. */
	for (size_t i = 0; i < sizeof(session_id); i++) {
		size_t used;
		int r = qt_ctrl_conn_feed(&cli, session_id + i, 1, false, &used, &t);

		assert_int_equal(used, 1);
		assert_int_equal(r, i + 1 < sizeof(session_id) ? 0 : 1);
	}
	assert_int_equal(t.type, QT_CTRL_SESSION_ID);
	assert_int_equal(t.id_len, 16);
	assert_memory_equal(t.id, session_id + 2, 16);
	assert_int_equal(cli.session_id_len, 16);
	assert_int_equal(feed(&cli, NULL, 0, true, &t), 0);
	assert_true(cli.fin);
	assert_false(cli.joined);
	/* Anything after FIN. */
	assert_int_equal(feed(&cli, new_session, 1, false, &t), HT_ERR_TRAILING);
}

static void test_join_flow(void **state)
{
	struct qt_ctrl_conn cli, con;
	struct qt_ctrl_tlv t;

	(void)state;
	qt_ctrl_conn_init(&cli, QT_CTRL_CLIENT, QT_CTRL_PROFILE_01);
	qt_ctrl_conn_init(&con, QT_CTRL_CONCENTRATOR, QT_CTRL_PROFILE_01);
	assert_int_equal(qt_ctrl_conn_on_send(&cli, QT_CTRL_JOIN_SESSION), HT_OK);
	assert_int_equal(feed(&con, join, sizeof(join), true, &t), 1);
	assert_int_equal(t.type, QT_CTRL_JOIN_SESSION);
	assert_memory_equal(con.session_id, join + 2, 16);
	/* A Join is answered by a bare FIN, not a Session ID. */
	assert_int_equal(qt_ctrl_conn_on_send(&con, QT_CTRL_SESSION_ID), HT_ERR_ORDER);
	assert_int_equal(feed(&cli, NULL, 0, true, &t), 0);
	assert_true(cli.joined);
}

/* `qt`: the stream stays open, so a Join is confirmed by the ID echoed in
 * a Session ID TLV; under qt-01 that would be out of order. */
static void test_join_flow_qt(void **state)
{
	struct qt_ctrl_conn cli, con;
	struct qt_ctrl_tlv t;

	(void)state;
	qt_ctrl_conn_init(&cli, QT_CTRL_CLIENT, QT_CTRL_PROFILE_QT);
	qt_ctrl_conn_init(&con, QT_CTRL_CONCENTRATOR, QT_CTRL_PROFILE_QT);
	assert_int_equal(qt_ctrl_conn_on_send(&cli, QT_CTRL_JOIN_SESSION), HT_OK);
	assert_int_equal(feed(&con, join, sizeof(join), false, &t), 1);
	assert_int_equal(qt_ctrl_conn_on_send(&con, QT_CTRL_SESSION_ID), HT_OK);
	assert_int_equal(qt_ctrl_conn_on_send(&con, QT_CTRL_SESSION_ID), HT_ERR_ORDER);
	assert_int_equal(feed(&cli, session_id, sizeof(session_id), false, &t), 1);
	assert_int_equal(t.type, QT_CTRL_SESSION_ID);
	assert_memory_equal(t.id, session_id + 2, 16);
	assert_true(cli.joined);
	assert_false(cli.fin);
	/* whatever follows is hatun's extension phase */
	assert_int_equal(feed(&cli, new_session, 2, false, &t), QT_CTRL_FEED_EXT);
}

static void test_conn_violations(void **state)
{
	struct qt_ctrl_conn c;
	struct qt_ctrl_tlv t;
	size_t used;
	uint8_t two[4] = {0x00, 0x00, 0x00, 0x00};

	(void)state;
	/* qt-01: one TLV, then FIN; a second TLV is trailing. */
	qt_ctrl_conn_init(&c, QT_CTRL_CONCENTRATOR, QT_CTRL_PROFILE_01);
	assert_int_equal(qt_ctrl_conn_feed(&c, two, 4, false, &used, &t), 1);
	assert_int_equal(used, 2);
	assert_int_equal(qt_ctrl_conn_feed(&c, two + 2, 2, false, &used, &t), HT_ERR_TRAILING);
	assert_int_equal(qt_ctrl_conn_feed(&c, NULL, 0, true, &used, &t), HT_ERR_TRAILING);
	assert_int_equal(qt_ctrl_reset_code(HT_ERR_TRAILING), QT_CTRL_UNKNOWN_ERROR);
	/* qt: the stream stays open; what follows the negotiation TLV is
	 * handed to the extension assembler (which refuses a second
	 * negotiation with HT_ERR_ORDER, test_qt_ext). */
	qt_ctrl_conn_init(&c, QT_CTRL_CONCENTRATOR, QT_CTRL_PROFILE_QT);
	assert_int_equal(qt_ctrl_conn_feed(&c, two, 4, false, &used, &t), 1);
	assert_int_equal(used, 2);
	assert_int_equal(qt_ctrl_conn_feed(&c, two + 2, 2, false, &used, &t), QT_CTRL_FEED_EXT);
	assert_int_equal(used, 0);
	assert_int_equal(qt_ctrl_conn_feed(&c, NULL, 0, false, &used, &t), 0);
	assert_int_equal(qt_ctrl_conn_feed(&c, NULL, 0, true, &used, &t), QT_CTRL_FEED_EXT);
	assert_false(c.fin);
	assert_int_equal(qt_ctrl_reset_code(HT_ERR_ORDER), QT_CTRL_CONFLICTING_STATE);
	/* qt: a FIN with the negotiation TLV is left for the extension phase. */
	qt_ctrl_conn_init(&c, QT_CTRL_CONCENTRATOR, QT_CTRL_PROFILE_QT);
	assert_int_equal(feed(&c, new_session, 2, true, &t), 1);
	assert_false(c.fin);
	assert_int_equal(feed(&c, NULL, 0, true, &t), QT_CTRL_FEED_EXT);
	qt_ctrl_conn_init(&c, QT_CTRL_CONCENTRATOR, QT_CTRL_PROFILE_QT);
	assert_int_equal(feed(&c, new_session, 2, false, &t), 1);
	assert_int_equal(feed(&c, join, sizeof(join), false, &t), QT_CTRL_FEED_EXT);
	/* Empty client control stream. */
	qt_ctrl_conn_init(&c, QT_CTRL_CONCENTRATOR, QT_CTRL_PROFILE_01);
	assert_int_equal(feed(&c, NULL, 0, true, &t), HT_ERR_TRUNCATED);
	assert_int_equal(feed(&c, NULL, 0, true, &t), HT_ERR_TRUNCATED); /* sticky */
	/* FIN inside a TLV. */
	qt_ctrl_conn_init(&c, QT_CTRL_CONCENTRATOR, QT_CTRL_PROFILE_01);
	assert_int_equal(feed(&c, join, 10, true, &t), HT_ERR_TRUNCATED);
	/* New Session answered by a bare FIN. */
	qt_ctrl_conn_init(&c, QT_CTRL_CLIENT, QT_CTRL_PROFILE_01);
	assert_int_equal(qt_ctrl_conn_on_send(&c, QT_CTRL_NEW_SESSION), HT_OK);
	assert_int_equal(feed(&c, NULL, 0, true, &t), HT_ERR_TRUNCATED);
	/* A Session ID nobody asked for (we joined, or sent nothing). */
	qt_ctrl_conn_init(&c, QT_CTRL_CLIENT, QT_CTRL_PROFILE_01);
	assert_int_equal(qt_ctrl_conn_on_send(&c, QT_CTRL_JOIN_SESSION), HT_OK);
	assert_int_equal(feed(&c, session_id, sizeof(session_id), true, &t), HT_ERR_ORDER);
	assert_int_equal(t.type, QT_CTRL_SESSION_ID);
	qt_ctrl_conn_init(&c, QT_CTRL_CLIENT, QT_CTRL_PROFILE_01);
	assert_int_equal(feed(&c, session_id, sizeof(session_id), true, &t), HT_ERR_ORDER);
	/* Wrong sender on the wire: the concentrator sending New Session. */
	qt_ctrl_conn_init(&c, QT_CTRL_CLIENT, QT_CTRL_PROFILE_01);
	assert_int_equal(feed(&c, new_session, 2, true, &t), HT_ERR_WRONG_SENDER);
	assert_int_equal(qt_ctrl_reset_code(HT_ERR_WRONG_SENDER), QT_CTRL_UNKNOWN_ERROR);
	/* Unknown type: the caller sees which. */
	qt_ctrl_conn_init(&c, QT_CTRL_CONCENTRATOR, QT_CTRL_PROFILE_QT);
	assert_int_equal(feed(&c, (const uint8_t[]){0x41, 0x00}, 2, false, &t), HT_ERR_BAD_TYPE);
	assert_int_equal(t.type, 0x41);
	/* Session ID of length 0 (client side). */
	qt_ctrl_conn_init(&c, QT_CTRL_CLIENT, QT_CTRL_PROFILE_01);
	assert_int_equal(qt_ctrl_conn_on_send(&c, QT_CTRL_NEW_SESSION), HT_OK);
	assert_int_equal(feed(&c, (const uint8_t[]){0x01, 0x00}, 2, true, &t), HT_ERR_BAD_LENGTH);
	assert_int_equal(feed(&c, NULL, 0, false, NULL), HT_ERR_INVAL);
}

static void test_on_send(void **state)
{
	struct qt_ctrl_conn c;

	(void)state;
	qt_ctrl_conn_init(&c, QT_CTRL_CLIENT, QT_CTRL_PROFILE_QT);
	assert_int_equal(qt_ctrl_conn_on_send(&c, QT_CTRL_SESSION_ID), HT_ERR_WRONG_SENDER);
	assert_int_equal(qt_ctrl_conn_on_send(&c, 0x40), HT_ERR_BAD_TYPE);
	assert_int_equal(qt_ctrl_conn_on_send(&c, QT_CTRL_NEW_SESSION), HT_OK);
	assert_int_equal(qt_ctrl_conn_on_send(&c, QT_CTRL_JOIN_SESSION), HT_ERR_ORDER);
	assert_int_equal(qt_ctrl_conn_on_send(&c, QT_CTRL_NEW_SESSION), HT_ERR_ORDER);
	qt_ctrl_conn_init(&c, QT_CTRL_CONCENTRATOR, QT_CTRL_PROFILE_01);
	assert_int_equal(qt_ctrl_conn_on_send(&c, QT_CTRL_NEW_SESSION), HT_ERR_WRONG_SENDER);
	assert_int_equal(qt_ctrl_conn_on_send(&c, QT_CTRL_JOIN_SESSION), HT_ERR_WRONG_SENDER);
	assert_int_equal(qt_ctrl_conn_on_send(&c, QT_CTRL_SESSION_ID), HT_ERR_ORDER);
	assert_int_equal(qt_ctrl_conn_on_send(NULL, QT_CTRL_SESSION_ID), HT_ERR_INVAL);
}

static void test_codes(void **state)
{
	(void)state;
	assert_int_equal(QT_CTRL_UNKNOWN_ERROR, 0);
	assert_int_equal(QT_CTRL_UNKNOWN_SESSION_ID, 1);
	assert_int_equal(QT_CTRL_CONFLICTING_STATE, 2);
	assert_int_equal(qt_ctrl_reset_code(HT_ERR_BAD_LENGTH), QT_CTRL_UNKNOWN_ERROR);
	assert_int_equal(qt_ctrl_reset_code(HT_ERR_TRUNCATED), QT_CTRL_UNKNOWN_ERROR);
	assert_int_equal(qt_ctrl_reset_code(HT_ERR_BAD_TYPE), QT_CTRL_UNKNOWN_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stream_ids),
	    cmocka_unit_test(test_write),
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_new_session_flow),
	    cmocka_unit_test(test_join_flow),
	    cmocka_unit_test(test_join_flow_qt),
	    cmocka_unit_test(test_conn_violations),
	    cmocka_unit_test(test_on_send),
	    cmocka_unit_test(test_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
