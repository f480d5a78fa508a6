/* hatun — QUIC connection: ngtcp2 callbacks, the read path, the batched
 * (GSO) write path, timers, closing.  Streams' buffers are in stream.c,
 * the listener and CID routing in server.c.
 *
 * Re-entrancy rules (why this file is shaped the way it is):
 * - ngtcp2 callbacks and upper-layer ops run inside ngtcp2_conn_read_pkt;
 *   neither may call ngtcp2's read/write functions.  The API functions in
 *   conn.h therefore only touch buffers, flow-control counters and stream
 *   state, and queue `flush` (a ht_defer) which writes once per batch.
 * - A connection is freed only from its timer callback (end of the
 *   closing/draining period, idle or handshake timeout) or by an explicit
 *   ht_qconn_abort/destroy — never below a read or a callback, so no
 *   caller ever holds a dangling pointer.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "core/log.h"
#include "proto/err.h"
#include "quic/conn_int.h"

#define RX_SLOTS 8
#define WRITABLE_MIN 16384  /* report stream_writable once this much is free */

#define CALL(c, fn, ...)                                                                   \
	do {                                                                               \
		if ((c)->ops != NULL && (c)->ops->fn != NULL)                              \
			(c)->ops->fn((c), (c)->user, __VA_ARGS__);                         \
	} while (0)

void ht_qc_conn_write(struct ht_qconn *c);
void ht_qc_arm_timer(struct ht_qconn *c, bool from_timer);

const char *ht_qerr_str(int err)
{
	switch (err) {
	case HT_QERR_STREAM_LIMIT: return "stream limit reached";
	case HT_QERR_NO_STREAM: return "no such stream";
	case HT_QERR_CLOSED: return "connection closed";
	case HT_QERR_STATE: return "not possible in this state";
	case HT_QERR_NOMEM: return "out of memory";
	case HT_QERR_TOO_BIG: return "datagram too big";
	case HT_QERR_FULL: return "datagram queue full";
	case HT_QERR_INTERNAL: return "internal error";
	default: return ht_strerror(err);
	}
}

void ht_qconn_settings_default(struct ht_qconn_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->max_streams_bidi = 100;
	s->stream_window = 1 << 20;
	s->conn_window = 16 << 20;
	s->idle_timeout = 30 * HT_SECONDS;
	s->keep_alive = 10 * HT_SECONDS;
	s->handshake_timeout = 10 * HT_SECONDS;
	s->stream_sndbuf = 256 << 10;
	s->cc = HT_QCC_CUBIC;
	s->max_udp_payload = 1452;
	s->max_dgram_queue = HT_QDGRAM_QUEUE_MAX;
	s->max_streams_uni = 0;
	s->uni_stream_window = 64 * 1024;
}

static _Thread_local size_t live_conns;
static _Thread_local struct ht_qconn *live_head;

size_t ht_qconn_live_count(void)
{
	return live_conns;
}

static void live_link(struct ht_qconn *c)
{
	c->live_prev = NULL;
	c->live_next = live_head;
	if (live_head != NULL)
		live_head->live_prev = c;
	live_head = c;
	live_conns++;
}

static void live_unlink(struct ht_qconn *c)
{
	if (c->live_prev != NULL)
		c->live_prev->live_next = c->live_next;
	else
		live_head = c->live_next;
	if (c->live_next != NULL)
		c->live_next->live_prev = c->live_prev;
	live_conns--;
}

size_t ht_qconn_reap_closed(void)
{
	struct ht_qconn *c = live_head, *next;
	size_t n = 0;

	/* Only connections the upper layer was told are gone: nobody else
	 * holds a pointer to them. */
	for (; c != NULL; c = next) {
		next = c->live_next;
		if (c->closed_reported) {
			ht_qc_conn_free(c);
			n++;
		}
	}
	return n;
}

bool ht_qconn_is_gone(const struct ht_qconn *c)
{
	return c->state >= QC_CLOSING || c->closed_reported;
}

void ht_qconn_queue_flush(struct ht_qconn *c)
{
	if (!ht_qconn_is_gone(c))
		ht_defer_queue(c->loop, &c->flush);
}

/* ---- closing and freeing ---------------------------------------------------- */

void ht_qc_conn_free(struct ht_qconn *c)
{
	ht_timer_cancel(c->loop, &c->timer);
	ht_defer_cancel(c->loop, &c->flush);
	if (c->srv != NULL)
		ht_server_conn_gone(c->srv, c);
	ht_io_stop(c->loop, &c->io);
	if (c->sock == &c->own_sock)
		ht_udp_close(&c->own_sock);
	if (c->rx != NULL) {
		ht_udp_rx_free(c->rx);
		free(c->rx);
	}
	ht_qstream_free_all(c);
	if (c->dq_on)
		ht_dgq_free(&c->dq);
	if (c->conn != NULL)
		ngtcp2_conn_del(c->conn);
	ht_tls_session_deinit(&c->tls);
	free(c->ticket_file);
	free(c->txbuf);
	free(c->close_pkt);
	live_unlink(c);
	free(c);
}

void ht_qc_report_closed(struct ht_qconn *c, enum ht_qconn_close_reason reason, bool app,
			  uint64_t code, const char *text)
{
	const struct ht_qconn_ops *ops = c->ops;
	struct ht_qconn_close_info info = {reason, app, code, text};

	if (c->closed_reported)
		return;
	c->closed_reported = true;
	c->ops = NULL;
	ht_log(reason == HT_QCLOSE_ERROR ? HT_LOG_WARN : HT_LOG_INFO, "quic",
	       "%s connection closed: %s (%s error 0x%llx)", c->is_server ? "server" : "client",
	       text, app ? "application" : "transport", (unsigned long long)code);
	if (ops != NULL && ops->closed != NULL)
		ops->closed(c, c->user, &info);
}

/* Stay for 3 PTO (RFC 9000 10.2) so late packets find us, then free. */
void ht_qc_linger(struct ht_qconn *c, enum ht_qconn_state st)
{
	ht_time pto = c->conn != NULL ? ngtcp2_conn_get_pto(c->conn) : 100 * HT_MS;

	c->state = st;
	ht_defer_cancel(c->loop, &c->flush);
	c->tx_blocked = false; /* a refused batch is moot now */
	if (ht_timer_set(c->loop, &c->timer, ht_loop_now(c->loop) + 3 * pto) != 0)
		ht_timer_set(c->loop, &c->timer, 0); /* no memory: free at once */
}

void ht_qc_send_close_pkt(struct ht_qconn *c)
{
	if (c->close_pkt != NULL)
		(void)ht_udp_send(c->sock, &c->remote, &c->local, c->close_pkt, c->close_pkt_len,
				  c->close_pkt_len);
}

void ht_qc_conn_close_with(struct ht_qconn *c, const ngtcp2_connection_close_error *ccerr,
			    enum ht_qconn_close_reason reason, const char *text)
{
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	ngtcp2_ssize n;

	if (c->state >= QC_CLOSING)
		return;
	ngtcp2_path_storage_zero(&ps);
	n = ngtcp2_conn_write_connection_close(c->conn, &ps.path, &pi, c->txbuf, c->txcap, ccerr,
					       ht_now());
	if (n > 0 && (c->close_pkt = malloc((size_t)n)) != NULL) {
		memcpy(c->close_pkt, c->txbuf, (size_t)n);
		c->close_pkt_len = (size_t)n;
		memcpy(&c->local.ss, ps.path.local.addr, ps.path.local.addrlen);
		c->local.len = ps.path.local.addrlen;
		memcpy(&c->remote.ss, ps.path.remote.addr, ps.path.remote.addrlen);
		c->remote.len = ps.path.remote.addrlen;
		ht_qc_send_close_pkt(c);
	}
	ht_qc_linger(c, QC_CLOSING);
	ht_qc_report_closed(c, reason, ccerr->type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION,
		      ccerr->error_code, text);
}

/* A local error (ngtcp2 liberr): close with the matching transport error. */
void ht_qc_conn_fail(struct ht_qconn *c, int liberr)
{
	ngtcp2_connection_close_error ccerr;
	char text[96];

	if (liberr == NGTCP2_ERR_CRYPTO)
		ngtcp2_connection_close_error_set_transport_error_tls_alert(
			&ccerr, ngtcp2_conn_get_tls_alert(c->conn), NULL, 0);
	else
		ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, liberr, NULL, 0);
	snprintf(text, sizeof(text), "%s: %s", c->hs_done ? "error" : "handshake failed",
		 ngtcp2_strerror(liberr));
	ht_qc_conn_close_with(c, &ccerr, c->hs_done ? HT_QCLOSE_ERROR : HT_QCLOSE_HANDSHAKE, text);
}

/* The peer closed (or reset) the connection: drain silently. */
void ht_qc_conn_drain(struct ht_qconn *c)
{
	ngtcp2_connection_close_error ccerr;
	char text[96];

	ngtcp2_conn_get_connection_close_error(c->conn, &ccerr);
	ht_qc_linger(c, QC_DRAINING);
	if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT &&
	    ccerr.error_code >= 0x100 && ccerr.error_code < 0x200)
		snprintf(text, sizeof(text), "peer closed: TLS alert %u",
			 (unsigned)(ccerr.error_code - 0x100));
	else
		snprintf(text, sizeof(text), "peer closed");
	ht_qc_report_closed(c, c->hs_done ? HT_QCLOSE_PEER : HT_QCLOSE_HANDSHAKE,
		      ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION,
		      ccerr.error_code, text);
}

void ht_qconn_close(struct ht_qconn *c, uint64_t app_error)
{
	if (c == NULL || ht_qconn_is_gone(c) || c->close_requested)
		return;
	c->close_requested = true;
	c->close_app_error = app_error;
	ht_defer_queue(c->loop, &c->flush);
}

void ht_qconn_abort(struct ht_qconn *c)
{
	if (c != NULL)
		ht_qc_conn_free(c);
}

void ht_qconn_destroy(struct ht_qconn *c)
{
	ht_qc_report_closed(c, HT_QCLOSE_LOCAL, false, 0, "shut down");
	ht_qc_conn_free(c);
}

/* ---- ngtcp2 callbacks ------------------------------------------------------- */

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref)
{
	return ((struct ht_qconn *)ref->user_data)->conn;
}

static void cb_rand(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx)
{
	(void)ctx;
	(void)gnutls_rnd(GNUTLS_RND_NONCE, dest, len);
}

static void format_addr(const ngtcp2_addr *a, char *out, size_t len)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(a->addr, a->addrlen, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(out, len, "?");
	else if (a->addr->sa_family == AF_INET6)
		snprintf(out, len, "[%s]:%s", host, serv);
	else
		snprintf(out, len, "%s:%s", host, serv);
}

/* A path other than the handshake's was validated: at a server, the
 * peer's address changed (NAT rebinding, a client's migration), which an
 * operator would otherwise never see; at a client, its own migration. */
static int cb_path_validation(ngtcp2_conn *conn, uint32_t flags, const ngtcp2_path *path,
			      ngtcp2_path_validation_result res, void *user)
{
	struct ht_qconn *c = user;
	char local[NI_MAXHOST + NI_MAXSERV + 4], remote[NI_MAXHOST + NI_MAXSERV + 4];
	bool ok = res == NGTCP2_PATH_VALIDATION_RESULT_SUCCESS;

	(void)conn;
	(void)flags;
	format_addr(&path->local, local, sizeof(local));
	format_addr(&path->remote, remote, sizeof(remote));
	if (c->is_server)
		ht_log(ok ? HT_LOG_INFO : HT_LOG_WARN, "quic", "server connection: peer %s %s", remote,
		       ok ? "validated, its address changed" : "failed path validation");
	else
		ht_log(ok ? HT_LOG_INFO : HT_LOG_WARN, "quic", "client connection: path %s -> %s %s",
		       local, remote, ok ? "validated" : "failed validation");
	return 0;
}

static int cb_get_new_cid(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen,
			  void *user)
{
	struct ht_qconn *c = user;

	(void)conn;
	for (int tries = 0; tries < 4; tries++) {
		if (gnutls_rnd(GNUTLS_RND_RANDOM, cid->data, cidlen) != 0)
			return NGTCP2_ERR_CALLBACK_FAILURE;
		cid->datalen = cidlen;
		if (c->srv == NULL)
			return gnutls_rnd(GNUTLS_RND_RANDOM, token, NGTCP2_STATELESS_RESET_TOKENLEN) ==
					       0
				       ? 0
				       : NGTCP2_ERR_CALLBACK_FAILURE;
		if (ngtcp2_crypto_generate_stateless_reset_token(token, c->sr_secret,
								 c->sr_secretlen, cid) != 0)
			return NGTCP2_ERR_CALLBACK_FAILURE;
		if (ht_server_cid_add(c->srv, c, cid->data, cidlen) == 0)
			return 0;
	}
	return NGTCP2_ERR_CALLBACK_FAILURE;
}

static int cb_remove_cid(ngtcp2_conn *conn, const ngtcp2_cid *cid, void *user)
{
	struct ht_qconn *c = user;

	(void)conn;
	if (c->srv != NULL)
		ht_server_cid_remove(c->srv, cid->data, cid->datalen);
	return 0;
}

static int cb_handshake_completed(ngtcp2_conn *conn, void *user)
{
	struct ht_qconn *c = user;
	char fp[HT_FP_STRLEN + 1];
	int refuse;

	(void)conn;
	/* A resumed session carried no certificate: check the remembered one. */
	if (ht_tls_session_finish(&c->tls) != 0 ||
	    (!c->tls.peer_ok && ht_tls_session_check_resumed(&c->tls) != 0))
		return NGTCP2_ERR_CALLBACK_FAILURE;
	ht_fingerprint_format(c->tls.peer_fp, fp);
	ht_log(HT_LOG_DEBUG, "quic", "%s handshake complete, alpn %s, peer %s%s",
	       c->is_server ? "server" : "client", c->tls.alpn, fp,
	       ht_tls_session_resumed(&c->tls) ? ", resumed" : "");
	if (c->set.keep_alive > 0)
		ngtcp2_conn_set_keep_alive_timeout(c->conn, c->set.keep_alive);
	if (!c->is_server)
		return ht_qc_early_client_done(c) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
	c->state = QC_OPEN;
	/* Accepted already when 0-RTT stream data came (conn_0rtt.c). */
	refuse = c->early == HT_QEARLY_ACCEPTED ? 0 : ht_server_conn_established(c->srv, c);
	if (refuse != 0) {
		ht_qconn_close(c, (uint64_t)refuse);
		return 0;
	}
	if (ht_tls_session_send_ticket(&c->tls) != 0)
		ht_log(HT_LOG_WARN, "quic", "could not send a session ticket");
	c->hs_done = true;
	if (c->ops != NULL && c->ops->handshake_done != NULL)
		c->ops->handshake_done(c, c->user);
	return 0;
}

static int cb_handshake_confirmed(ngtcp2_conn *conn, void *user)
{
	struct ht_qconn *c = user;

	(void)conn;
	if (c->is_server || c->hs_done)
		return 0;
	c->state = QC_OPEN;
	c->hs_done = true;
	if (c->ops != NULL && c->ops->handshake_done != NULL)
		c->ops->handshake_done(c, c->user);
	return 0;
}

static struct ht_qstream *stream_for(struct ht_qconn *c, int64_t sid, void *suser)
{
	struct ht_qstream *s = suser;

	if (s != NULL)
		return s;
	s = ht_qstream_find(c, sid);
	if (s == NULL && (s = ht_qstream_new(c, sid)) != NULL)
		(void)ngtcp2_conn_set_stream_user_data(c->conn, sid, s);
	return s;
}

static int cb_stream_open(ngtcp2_conn *conn, int64_t sid, void *user)
{
	struct ht_qconn *c = user;

	(void)conn;
	/* A stream before the handshake completed is 0-RTT (conn_0rtt.c). */
	if (c->is_server && !c->hs_done && ht_qc_early_server_accept(c) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	if (stream_for(c, sid, NULL) == NULL)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	if (!ngtcp2_is_bidi_stream(sid)) {
		/* ngtcp2 enforces settings.max_streams_uni (conn_api.c). */
		ht_qconn_uni_opened(c, sid);
		return 0;
	}
	CALL(c, stream_open, sid);
	return 0;
}

void ht_qconn_release_rx(struct ht_qconn *c, struct ht_qstream *s)
{
	if (s->rx_released)
		return;
	s->rx_released = true;
	if (s->delivered > s->consumed)
		ngtcp2_conn_extend_max_offset(c->conn, s->delivered - s->consumed);
	s->consumed = s->delivered;
}

static int cb_recv_stream_data(ngtcp2_conn *conn, uint32_t flags, int64_t sid, uint64_t offset,
			       const uint8_t *data, size_t len, void *user, void *suser)
{
	struct ht_qconn *c = user;
	struct ht_qstream *s = stream_for(c, sid, suser);
	bool fin = (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0;

	(void)offset;
	if (s == NULL)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	s->delivered += len;
	if (s->rd_shut || s->rx_released || c->ops == NULL || c->ops->stream_data == NULL) {
		/* Nobody will consume: give the credit straight back. */
		s->consumed += len;
		ngtcp2_conn_extend_max_stream_offset(conn, sid, len);
		ngtcp2_conn_extend_max_offset(conn, len);
		return 0;
	}
	c->ops->stream_data(c, c->user, sid, data, len, fin);
	return 0;
}

void ht_qc_notify_add(struct ht_qconn *c, struct ht_qstream *s)
{
	if (!s->in_notify) {
		s->in_notify = true;
		s->nnext = c->notify;
		c->notify = s;
	}
	ht_qconn_queue_flush(c);
}

static int cb_acked(ngtcp2_conn *conn, int64_t sid, uint64_t offset, uint64_t len, void *user,
		    void *suser)
{
	struct ht_qconn *c = user;
	struct ht_qstream *s = suser;

	(void)conn;
	(void)sid;
	(void)offset;
	if (s == NULL)
		return 0;
	ht_qstream_acked(c, s, len);
	return 0;
}

/* ngtcp2 took bytes of s: tell a blocked writer once enough room is free. */
void ht_qc_maybe_writable(struct ht_qconn *c, struct ht_qstream *s)
{
	size_t want = c->set.stream_sndbuf / 4 < WRITABLE_MIN ? c->set.stream_sndbuf / 4
							     : WRITABLE_MIN;

	if (s->want_writable && ht_qstream_room(c, s) >= (want ? want : 1)) {
		s->want_writable = false;
		s->notify_writable = true;
		ht_qc_notify_add(c, s);
	}
}

static int cb_stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t sid, uint64_t app_error,
			   void *user, void *suser)
{
	struct ht_qconn *c = user;
	struct ht_qstream *s = suser != NULL ? suser : ht_qstream_find(c, sid);
	bool peer_stopped;

	if (ngtcp2_is_bidi_stream(sid) && !ngtcp2_conn_is_local_stream(conn, sid))
		ngtcp2_conn_extend_max_streams_bidi(conn, 1);
	if (s == NULL)
		return 0;
	ht_qconn_release_rx(c, s);
	c->lost_closed += ngtcp2_conn_get_stream_loss_count(conn, sid);
	s->closing = true;
	/* ngtcp2 0.12 has no callback for a received STOP_SENDING: if our
	 * direction ended without FIN+ACK and not by our own reset, the peer
	 * stopped it. */
	peer_stopped = !s->wr_shut && !s->stop_reported && !(s->fin_sent && s->acked == s->end);
	if (peer_stopped) {
		s->stop_reported = true;
		CALL(c, stream_stop_sending, sid,
		     (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET)
			     ? app_error
			     : HT_QCONN_APP_ERROR_UNKNOWN);
	}
	CALL(c, stream_closed, sid);
	ht_qstream_free(c, s);
	return 0;
}

static int cb_stream_reset(ngtcp2_conn *conn, int64_t sid, uint64_t final_size,
			   uint64_t app_error, void *user, void *suser)
{
	struct ht_qconn *c = user;

	(void)conn;
	(void)final_size;
	(void)suser;
	CALL(c, stream_reset, sid, app_error);
	return 0;
}

static int cb_extend_max_stream_data(ngtcp2_conn *conn, int64_t sid, uint64_t max_data,
				     void *user, void *suser)
{
	struct ht_qconn *c = user;
	struct ht_qstream *s = suser;

	(void)conn;
	(void)sid;
	(void)max_data;
	if (s != NULL && s->blocked) {
		s->blocked = false;
		if (ht_qstream_has_unsent(s)) {
			ht_qstream_ready_add(c, s);
			ht_qconn_queue_flush(c);
		}
	}
	return 0;
}

static int cb_extend_max_local_bidi(ngtcp2_conn *conn, uint64_t max_streams, void *user)
{
	struct ht_qconn *c = user;

	(void)conn;
	(void)max_streams;
	if (c->ops != NULL && c->ops->streams_available != NULL)
		c->ops->streams_available(c, c->user);
	return 0;
}

static int cb_recv_datagram(ngtcp2_conn *conn, uint32_t flags, const uint8_t *data, size_t len,
			    void *user)
{
	struct ht_qconn *c = user;

	(void)conn;
	(void)flags;
	CALL(c, datagram, data, len);
	return 0;
}

__attribute__((format(printf, 2, 3))) static void ngtcp2_log(void *user, const char *fmt, ...)
{
	va_list ap;

	(void)user;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const ngtcp2_callbacks CALLBACKS = {
	.client_initial = ngtcp2_crypto_client_initial_cb,
	.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb,
	.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,
	.handshake_completed = cb_handshake_completed,
	.encrypt = ngtcp2_crypto_encrypt_cb,
	.decrypt = ngtcp2_crypto_decrypt_cb,
	.hp_mask = ngtcp2_crypto_hp_mask_cb,
	.recv_stream_data = cb_recv_stream_data,
	.acked_stream_data_offset = cb_acked,
	.stream_open = cb_stream_open,
	.stream_close = cb_stream_close,
	.recv_retry = ngtcp2_crypto_recv_retry_cb,
	.extend_max_local_streams_bidi = cb_extend_max_local_bidi,
	.rand = cb_rand,
	.get_new_connection_id = cb_get_new_cid,
	.remove_connection_id = cb_remove_cid,
	.update_key = ngtcp2_crypto_update_key_cb,
	.stream_reset = cb_stream_reset,
	.extend_max_stream_data = cb_extend_max_stream_data,
	.handshake_confirmed = cb_handshake_confirmed,
	.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
	.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
	.recv_datagram = cb_recv_datagram,
	.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
	.version_negotiation = ngtcp2_crypto_version_negotiation_cb,
	.path_validation = cb_path_validation,
};

static void fill_settings(const struct ht_qconn *c, ngtcp2_settings *st,
			  ngtcp2_transport_params *p)
{
	ngtcp2_settings_default(st);
	st->initial_ts = ht_now();
	st->cc_algo = c->set.cc == HT_QCC_BBR2	 ? NGTCP2_CC_ALGO_BBR2
		      : c->set.cc == HT_QCC_RENO ? NGTCP2_CC_ALGO_RENO
						 : NGTCP2_CC_ALGO_CUBIC;
	st->max_tx_udp_payload_size = c->set.max_udp_payload;
	st->no_tx_udp_payload_size_shaping = c->set.fixed_udp_payload;
	st->handshake_timeout = c->set.handshake_timeout;
	st->log_printf = c->set.ngtcp2_debug ? ngtcp2_log : NULL;
	/* No window auto-tuning: the windows are the bound on what the upper
	 * layer may hold unconsumed. */
	st->max_window = 0;
	st->max_stream_window = 0;

	ngtcp2_transport_params_default(p);
	p->initial_max_stream_data_bidi_local = c->set.stream_window;
	p->initial_max_stream_data_bidi_remote = c->set.stream_window;
	p->initial_max_stream_data_uni = c->set.max_streams_uni ? c->set.uni_stream_window : 0;
	p->initial_max_data = c->set.conn_window;
	p->initial_max_streams_bidi = c->set.max_streams_bidi;
	p->initial_max_streams_uni = c->set.max_streams_uni;
	p->max_idle_timeout = c->set.idle_timeout;
	p->active_connection_id_limit = 4;
	p->max_datagram_frame_size = 65535;
}

/* ---- construction ------------------------------------------------------------- */

void ht_qc_on_timer(struct ht_loop *loop, struct ht_timer *t);
void ht_qc_on_flush(struct ht_loop *loop, struct ht_defer *d);

static struct ht_qconn *conn_alloc(struct ht_loop *loop, const struct ht_qconn_settings *set)
{
	struct ht_qconn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	live_link(c);
	c->loop = loop;
	if (set != NULL)
		c->set = *set;
	else
		ht_qconn_settings_default(&c->set);
	if (c->set.stream_sndbuf == 0)
		c->set.stream_sndbuf = 256 << 10;
	if (c->set.max_udp_payload < 1200)
		c->set.max_udp_payload = 1200;
	if (c->set.max_udp_payload > 1500 * 6)
		c->set.max_udp_payload = 1500 * 6;
	c->own_sock.fd = -1;
	ht_timer_init(&c->timer, ht_qc_on_timer, c);
	ht_defer_init(&c->flush, ht_qc_on_flush, c);
	/* One GSO batch: up to 64 KiB worth of max-size packets. */
	c->txcap = HT_UDP_MAX_GSO_BYTES / c->set.max_udp_payload * c->set.max_udp_payload;
	c->txbuf = malloc(c->txcap);
	if (c->txbuf == NULL) {
		live_unlink(c);
		free(c);
		return NULL;
	}
	return c;
}

static int conn_finish_setup(struct ht_qconn *c, const struct ht_tls_config *tls)
{
	if (ht_tls_session_init(&c->tls, tls, get_conn, c) != 0)
		return HT_ERR_CRYPTO;
	ngtcp2_conn_set_tls_native_handle(c->conn, c->tls.session);
	/* keep-alive starts at handshake completion (cb_handshake_completed):
	 * during a 0-RTT handshake ngtcp2 0.12.1 would send it as a PING-only
	 * 0-RTT packet, which it pads too little and aborts on (conn_0rtt.c). */
	return 0;
}

void ht_qc_on_client_io(struct ht_loop *loop, struct ht_io *io, uint32_t events);

int ht_qconn_connect(struct ht_qconn **out, struct ht_loop *loop,
		     const struct ht_qconn_client_args *a)
{
	struct ht_udp_opts uo = {0};
	ngtcp2_settings st;
	ngtcp2_transport_params p;
	ngtcp2_cid dcid, scid;
	ngtcp2_path path;
	struct ht_qconn *c;
	int rv;

	*out = NULL;
	if (a == NULL || a->remote == NULL || a->tls == NULL ||
	    ht_tls_config_role(a->tls) != HT_TLS_CLIENT)
		return HT_ERR_INVAL;
	c = conn_alloc(loop, a->set);
	if (c == NULL)
		return HT_QERR_NOMEM;
	c->ops = a->ops;
	c->user = a->user;
	uo.bind = a->local;
	uo.bind_len = a->local_len;
	uo.peer = a->remote;
	uo.peer_len = a->remote_len;
	uo.ifname = a->ifname;
	uo.no_gso = c->set.no_gso;
	uo.no_gro = c->set.no_gro;
	if ((rv = ht_udp_open(&c->own_sock, &uo)) != 0)
		goto fail;
	c->sock = &c->own_sock;
	c->local = c->own_sock.local;
	memcpy(&c->remote.ss, a->remote, a->remote_len);
	c->remote.len = a->remote_len;
	if ((c->rx = calloc(1, sizeof(*c->rx))) == NULL || ht_udp_rx_init(c->rx, RX_SLOTS) != 0) {
		free(c->rx);
		c->rx = NULL;
		rv = HT_QERR_NOMEM;
		goto fail;
	}
	dcid.datalen = 18;
	scid.datalen = HT_QCONN_SCID_LEN;
	if (gnutls_rnd(GNUTLS_RND_RANDOM, dcid.data, dcid.datalen) != 0 ||
	    gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen) != 0) {
		rv = HT_ERR_CRYPTO;
		goto fail;
	}
	fill_settings(c, &st, &p);
	path.local.addr = (ngtcp2_sockaddr *)&c->local.ss;
	path.local.addrlen = c->local.len;
	path.remote.addr = (ngtcp2_sockaddr *)&c->remote.ss;
	path.remote.addrlen = c->remote.len;
	path.user_data = NULL;
	if (ngtcp2_conn_client_new(&c->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &CALLBACKS,
				   &st, &p, NULL, c) != 0) {
		c->conn = NULL;
		rv = HT_QERR_NOMEM;
		goto fail;
	}
	if ((rv = conn_finish_setup(c, a->tls)) != 0 ||
	    (rv = ht_qc_ticket_setup(c, a->ticket_file, a->tls)) != 0)
		goto fail;
	if ((rv = ht_io_start(loop, &c->io, c->own_sock.fd, EPOLLIN, ht_qc_on_client_io, c)) != 0)
		goto fail;
	ht_defer_queue(loop, &c->flush); /* the Initial */
	*out = c;
	return 0;
fail:
	ht_qc_conn_free(c);
	return rv;
}

int ht_qconn_server_new(struct ht_qconn **out, struct ht_server *srv, struct ht_loop *loop,
			struct ht_udp_sock *sock, const ngtcp2_pkt_hd *hd,
			const struct ht_udp_addr *local, const struct ht_udp_addr *remote,
			const struct ht_tls_config *tls, const struct ht_qconn_settings *set,
			const uint8_t *sr_secret, size_t sr_secretlen)
{
	ngtcp2_settings st;
	ngtcp2_transport_params p;
	ngtcp2_cid scid;
	ngtcp2_path path;
	struct ht_qconn *c;
	int rv;

	*out = NULL;
	c = conn_alloc(loop, set);
	if (c == NULL)
		return HT_QERR_NOMEM;
	c->is_server = true;
	c->sock = sock;
	c->local = *local;
	c->remote = *remote;
	c->sr_secret = sr_secret;
	c->sr_secretlen = sr_secretlen;
	c->srv = srv;
	c->half_open = true;
	fill_settings(c, &st, &p);
	p.original_dcid = hd->dcid;
	scid.datalen = HT_QCONN_SCID_LEN;
	rv = HT_ERR_CRYPTO;
	if (gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen) != 0 ||
	    ngtcp2_crypto_generate_stateless_reset_token(p.stateless_reset_token, sr_secret,
							 sr_secretlen, &scid) != 0)
		goto fail;
	p.stateless_reset_token_present = 1;
	path.local.addr = (ngtcp2_sockaddr *)&c->local.ss;
	path.local.addrlen = c->local.len;
	path.remote.addr = (ngtcp2_sockaddr *)&c->remote.ss;
	path.remote.addrlen = c->remote.len;
	path.user_data = NULL;
	if (ngtcp2_conn_server_new(&c->conn, &hd->scid, &scid, &path, hd->version, &CALLBACKS, &st,
				   &p, NULL, c) != 0) {
		c->conn = NULL;
		rv = HT_QERR_NOMEM;
		goto fail;
	}
	if ((rv = conn_finish_setup(c, tls)) != 0)
		goto fail;
	/* Route both the client's original DCID and our first SCID to c. */
	if (ht_server_cid_add(srv, c, hd->dcid.data, hd->dcid.datalen) != 0 ||
	    ht_server_cid_add(srv, c, scid.data, scid.datalen) != 0) {
		rv = HT_QERR_NOMEM;
		goto fail;
	}
	*out = c;
	return 0;
fail:
	ht_qc_conn_free(c); /* ht_server_conn_gone drops any CID added */
	return rv;
}
