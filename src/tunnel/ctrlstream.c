/* hatun — the quic-tunnel control streams of one connection (ctrlstream.h). */
#include "tunnel/ctrlstream.h"

#include <string.h>

#include "core/log.h"
#include "proto/err.h"

void ht_ctrl_init(struct ht_ctrl *k, struct ht_qconn *qc, enum qt_ctrl_role role,
		  const struct ht_ctrl_ops *ops, void *user)
{
	const char *alpn = ht_qconn_alpn(qc);

	memset(k, 0, sizeof(*k));
	k->qc = qc;
	k->ops = ops;
	k->user = user;
	k->role = (uint8_t)role;
	k->own_sid = -1;
	k->peer_reset = UINT64_MAX;
	k->peer_sid = (int64_t)qt_ctrl_stream_id(role == QT_CTRL_CLIENT ? QT_CTRL_CONCENTRATOR
									 : QT_CTRL_CLIENT);
	k->ext = strcmp(alpn, "qt") == 0;
	k->active = k->ext || strcmp(alpn, "qt-01") == 0;
	qt_ctrl_conn_init(&k->neg, role, k->ext ? QT_CTRL_PROFILE_QT : QT_CTRL_PROFILE_01);
	qt_ext_asm_init(&k->asm_, role);
}

/* The reaction to every control-stream error: STOP_SENDING on the peer's,
 * RESET_STREAM on ours, with the same code; then tell the owner once. */
static void fail(struct ht_ctrl *k, int err, uint64_t code, const char *what)
{
	if (k->failed)
		return;
	k->failed = true;
	(void)ht_qconn_stream_stop_sending(k->qc, k->peer_sid, code);
	if (k->own_sid >= 0)
		(void)ht_qconn_stream_reset(k->qc, k->own_sid, code);
	if (k->ops->failed != NULL)
		k->ops->failed(k, k->user, err, what);
}

/* Open our control stream (its id must be the draft's: we open no other
 * unidirectional stream before it). */
static int open_own(struct ht_ctrl *k)
{
	int rv;

	if (k->own_sid >= 0)
		return 0;
	rv = ht_qconn_open_uni(k->qc, &k->own_sid);
	if (rv != 0) {
		k->own_sid = -1;
		return rv;
	}
	if ((uint64_t)k->own_sid != qt_ctrl_stream_id(k->role)) {
		ht_log(HT_LOG_ERROR, "ctrl", "our control stream got id %lld, not %llu",
		       (long long)k->own_sid, (unsigned long long)qt_ctrl_stream_id(k->role));
		return HT_QERR_INTERNAL;
	}
	return 0;
}

/* All or nothing: the bytes fit the send buffer or the stream is broken. */
static int send_all(struct ht_ctrl *k, const uint8_t *b, size_t n, bool fin)
{
	ssize_t w;
	int rv = open_own(k);

	if (rv != 0)
		return rv;
	w = ht_qconn_stream_send(k->qc, k->own_sid, b, n, fin);
	if (w < 0)
		return (int)w;
	return (size_t)w == n ? 0 : HT_QERR_FULL;
}

int ht_ctrl_client_start(struct ht_ctrl *k, const struct qt_ext_request *req)
{
	uint8_t buf[2 + QT_EXT_TLV_MAX_SIZE];
	int n, m = 0, rv;

	if (!k->active)
		return HT_ERR_UNSUPPORTED;
	if ((rv = qt_ctrl_conn_on_send(&k->neg, QT_CTRL_NEW_SESSION)) != HT_OK)
		return rv;
	n = qt_ctrl_write_new_session(buf, sizeof(buf));
	if (k->ext && req != NULL) {
		m = qt_ext_write_addr_request(buf + n, sizeof(buf) - (size_t)n, req);
		if (m < 0)
			return m;
	}
	/* qt-01: the one TLV, then FIN (-01 §7.1). */
	return send_all(k, buf, (size_t)(n + m), !k->ext);
}

int ht_ctrl_client_join(struct ht_ctrl *k, const uint8_t *id, size_t id_len,
			const struct qt_ext_request *req)
{
	uint8_t buf[QT_CTRL_TLV_MAX_SIZE + QT_EXT_TLV_MAX_SIZE];
	int n, m = 0, rv;

	if (!k->active)
		return HT_ERR_UNSUPPORTED;
	if (id == NULL || id_len == 0 || id_len > QT_CTRL_SESSION_ID_MAX)
		return HT_ERR_INVAL;
	if ((rv = qt_ctrl_conn_on_send(&k->neg, QT_CTRL_JOIN_SESSION)) != HT_OK)
		return rv;
	n = qt_ctrl_write_join_session(buf, sizeof(buf), id, id_len);
	if (n < 0)
		return n;
	if (k->ext && req != NULL) {
		m = qt_ext_write_addr_request(buf + n, sizeof(buf) - (size_t)n, req);
		if (m < 0)
			return m;
	}
	memcpy(k->join_id, id, id_len);
	k->join_len = (uint8_t)id_len;
	return send_all(k, buf, (size_t)(n + m), !k->ext);
}

/* After the negotiation, `qt` only: n bytes of extension TLVs in buf, or
 * the writer's error. */
static int send_ext(struct ht_ctrl *k, const uint8_t *buf, int n)
{
	if (!k->ext)
		return HT_ERR_UNSUPPORTED;
	if (k->neg.sent == 0 || k->failed)
		return HT_ERR_ORDER;
	return n < 0 ? n : send_all(k, buf, (size_t)n, false);
}

int ht_ctrl_send_request(struct ht_ctrl *k, const struct qt_ext_request *req)
{
	uint8_t buf[QT_EXT_TLV_MAX_SIZE];

	return send_ext(k, buf, qt_ext_write_addr_request(buf, sizeof(buf), req));
}

int ht_ctrl_send_config(struct ht_ctrl *k, const struct qt_ext_config *cfg)
{
	uint8_t buf[QT_EXT_CONFIG_MAX_SIZE];

	return send_ext(k, buf, qt_ext_write_config(buf, sizeof(buf), cfg));
}

int ht_ctrl_send_path_pref(struct ht_ctrl *k, const struct qt_ext_path_pref *p)
{
	uint8_t buf[QT_EXT_TLV_MAX_SIZE];

	return send_ext(k, buf, qt_ext_write_path_pref(buf, sizeof(buf), p));
}

/* Concentrator: the client's negotiation TLV arrived. */
static void answer(struct ht_ctrl *k, const struct qt_ctrl_tlv *t)
{
	uint8_t id[QT_CTRL_SESSION_ID_MAX], buf[QT_CTRL_TLV_MAX_SIZE];
	size_t id_len = 0;
	uint64_t code = k->ops->negotiate != NULL
				? k->ops->negotiate(k, k->user, t, id, &id_len)
				: QT_CTRL_UNKNOWN_ERROR;
	int n, rv;

	if (code != 0) {
		/* Refused (e.g. UNKNOWN_SESSION_ID): reset our control stream. */
		ht_log(HT_LOG_INFO, "ctrl", "%s refused with RESET_STREAM 0x%llx",
		       t->type == QT_CTRL_JOIN_SESSION ? "Join Session" : "New Session",
		       (unsigned long long)code);
		if (open_own(k) == 0)
			(void)ht_qconn_stream_reset(k->qc, k->own_sid, code);
		k->failed = true;
		return;
	}
	if (t->type == QT_CTRL_JOIN_SESSION && !k->ext) {
		k->neg.sent = QT_CTRL_JOIN_SESSION + 1; /* answered: a bare FIN */
		rv = send_all(k, NULL, 0, true);
	} else if (t->type == QT_CTRL_JOIN_SESSION) {
		/* `qt`: the stream stays open, so the Join is confirmed by the
		 * joined ID echoed in a Session ID TLV (sessions.md). */
		if ((rv = qt_ctrl_conn_on_send(&k->neg, QT_CTRL_SESSION_ID)) != HT_OK)
			goto out;
		n = qt_ctrl_write_session_id(buf, sizeof(buf), t->id, t->id_len);
		rv = n < 0 ? n : send_all(k, buf, (size_t)n, false);
	} else {
		if ((rv = qt_ctrl_conn_on_send(&k->neg, QT_CTRL_SESSION_ID)) != HT_OK)
			goto out;
		n = qt_ctrl_write_session_id(buf, sizeof(buf), id, id_len);
		rv = n < 0 ? n : send_all(k, buf, (size_t)n, !k->ext);
	}
out:
	if (rv != 0)
		fail(k, rv, QT_CTRL_UNKNOWN_ERROR, "cannot answer the negotiation");
}

static void ext_feed(struct ht_ctrl *k, const uint8_t *data, size_t len, bool fin)
{
	size_t pos = 0, used;
	struct qt_ext_msg m, *msg = &m;
	int r;

	do {
		r = qt_ext_asm_feed(&k->asm_, data + pos, len - pos, fin, &used, msg);
		pos += used;
		if (r < 0) {
			ht_log(HT_LOG_WARN, "ctrl", "bad extension TLV on control stream %lld: %s",
			       (long long)k->peer_sid, ht_strerror(r));
			fail(k, r, qt_ctrl_reset_code(r), "bad extension TLV");
			return;
		}
		if (r == 1 && msg->type == QT_EXT_ADDR_REQUEST && k->ops->request != NULL)
			k->ops->request(k, k->user, &msg->req);
		else if (r == 1 && msg->type == QT_EXT_PATH_PREF && k->ops->path_pref != NULL)
			k->ops->path_pref(k, k->user, &msg->pref);
		else if (r == 1 && msg->type == QT_EXT_CONFIG_DONE && k->ops->config != NULL)
			k->ops->config(k, k->user, &msg->cfg);
		if (k->failed)
			return;
	} while (r == 1 && pos < len);
	k->ext_ignored = k->asm_.ignored;
}

bool ht_ctrl_on_data(struct ht_ctrl *k, int64_t sid, const uint8_t *data, size_t len, bool fin)
{
	struct qt_ctrl_tlv t;
	size_t pos = 0, used;
	int r;

	if (sid != k->peer_sid || !k->active)
		return false;
	ht_log(HT_LOG_DEBUG, "ctrl", "control stream %lld: %zu bytes%s", (long long)sid, len,
	       fin ? ", FIN" : "");
	/* The bytes are consumed as they are parsed: the stream window
	 * (64 KiB) bounds what the peer can have in flight, our state is the
	 * fixed buffers of the two parsers. */
	(void)ht_qconn_stream_consumed(k->qc, sid, len);
	if (k->failed)
		return true;
	while (!k->ext_phase) {
		r = qt_ctrl_conn_feed(&k->neg, data + pos, len - pos, fin, &used, &t);
		pos += used;
		if (r < 0) {
			ht_log(HT_LOG_WARN, "ctrl", "bad control TLV (type 0x%02x) on stream %lld: %s",
			       t.type, (long long)sid, ht_strerror(r));
			fail(k, r, qt_ctrl_reset_code(r), "bad control TLV");
			return true;
		}
		if (r == QT_CTRL_FEED_EXT) {
			k->ext_phase = true;
			break;
		}
		if (r == 1) {
			if (k->role == QT_CTRL_CONCENTRATOR) {
				answer(k, &t);
			} else if (k->join_len > 0) {
				/* `qt`: the Join confirmed by its ID echoed */
				if (t.id_len != k->join_len ||
				    memcmp(t.id, k->join_id, k->join_len) != 0) {
					ht_log(HT_LOG_WARN, "ctrl",
					       "Join Session answered with another Session ID");
					fail(k, HT_ERR_MISMATCH, QT_CTRL_CONFLICTING_STATE,
					     "Join answered with another Session ID");
					return true;
				}
				if (k->ops->session != NULL)
					k->ops->session(k, k->user, NULL, 0);
			} else if (k->ops->session != NULL) {
				k->ops->session(k, k->user, t.id, t.id_len);
			}
			if (k->failed)
				return true;
			if (k->ext && pos == len && !fin)
				k->ext_phase = true; /* the rest, when it comes */
			continue;
		}
		/* 0: all consumed (or a clean FIN). */
		if (k->neg.joined && k->ops->session != NULL)
			k->ops->session(k, k->user, NULL, 0);
		return true;
	}
	if (pos < len || fin)
		ext_feed(k, data + pos, len - pos, fin);
	return true;
}

bool ht_ctrl_on_uni_open(struct ht_ctrl *k, int64_t sid)
{
	if (sid != k->peer_sid || !k->active) {
		/* qt-00, or a second uni stream (the limit is 1, so only a
		 * peer that ignores it): nothing to read there. */
		(void)ht_qconn_stream_stop_sending(k->qc, sid, QT_CTRL_UNKNOWN_ERROR);
		return sid == k->peer_sid;
	}
	return true;
}

bool ht_ctrl_on_reset(struct ht_ctrl *k, int64_t sid, uint64_t app_error)
{
	if (sid != k->peer_sid || !k->active)
		return false;
	if (!k->failed) {
		k->peer_reset = app_error;
		ht_log(HT_LOG_WARN, "ctrl", "the peer reset its control stream (0x%llx)",
		       (unsigned long long)app_error);
		fail(k, HT_ERR_TRUNCATED, app_error, "control stream reset by the peer");
	}
	return true;
}

bool ht_ctrl_on_closed(struct ht_ctrl *k, int64_t sid)
{
	return k->active && (sid == k->peer_sid || sid == k->own_sid);
}
