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
#define RX_ROUNDS 8         /* recvmmsg calls per readable event */
#define WRITE_ROUNDS 16     /* send quanta per flush before yielding */
#define MAX_VEC 16
#define WRITABLE_MIN 16384  /* report stream_writable once this much is free */

#define CALL(c, fn, ...)                                                                   \
	do {                                                                               \
		if ((c)->ops != NULL && (c)->ops->fn != NULL)                              \
			(c)->ops->fn((c), (c)->user, __VA_ARGS__);                         \
	} while (0)

static void conn_write(struct ht_qconn *c);
static void arm_timer(struct ht_qconn *c, bool from_timer);

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
	s->max_dgram_queue = 128;
}

static _Thread_local size_t live_conns;

size_t ht_qconn_live_count(void)
{
	return live_conns;
}

static bool is_gone(const struct ht_qconn *c)
{
	return c->state >= QC_CLOSING || c->closed_reported;
}

static void queue_flush(struct ht_qconn *c)
{
	if (!is_gone(c))
		ht_defer_queue(c->loop, &c->flush);
}

/* ---- closing and freeing ---------------------------------------------------- */

static void conn_free(struct ht_qconn *c)
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
	for (size_t i = 0; i < c->dq_len; i++)
		free(c->dq[(c->dq_head + i) % c->dq_cap]);
	free(c->dq);
	if (c->conn != NULL)
		ngtcp2_conn_del(c->conn);
	ht_tls_session_deinit(&c->tls);
	free(c->txbuf);
	free(c->close_pkt);
	free(c);
	live_conns--;
}

static void report_closed(struct ht_qconn *c, enum ht_qconn_close_reason reason, bool app,
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
static void linger(struct ht_qconn *c, enum ht_qconn_state st)
{
	ht_time pto = c->conn != NULL ? ngtcp2_conn_get_pto(c->conn) : 100 * HT_MS;

	c->state = st;
	ht_defer_cancel(c->loop, &c->flush);
	c->tx_blocked = false; /* a refused batch is moot now */
	if (ht_timer_set(c->loop, &c->timer, ht_loop_now(c->loop) + 3 * pto) != 0)
		ht_timer_set(c->loop, &c->timer, 0); /* no memory: free at once */
}

static void send_close_pkt(struct ht_qconn *c)
{
	if (c->close_pkt != NULL)
		(void)ht_udp_send(c->sock, &c->remote, &c->local, c->close_pkt, c->close_pkt_len,
				  c->close_pkt_len);
}

static void conn_close_with(struct ht_qconn *c, const ngtcp2_connection_close_error *ccerr,
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
		send_close_pkt(c);
	}
	linger(c, QC_CLOSING);
	report_closed(c, reason, ccerr->type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION,
		      ccerr->error_code, text);
}

/* A local error (ngtcp2 liberr): close with the matching transport error. */
static void conn_fail(struct ht_qconn *c, int liberr)
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
	conn_close_with(c, &ccerr, c->hs_done ? HT_QCLOSE_ERROR : HT_QCLOSE_HANDSHAKE, text);
}

/* The peer closed (or reset) the connection: drain silently. */
static void conn_drain(struct ht_qconn *c)
{
	ngtcp2_connection_close_error ccerr;
	char text[96];

	ngtcp2_conn_get_connection_close_error(c->conn, &ccerr);
	linger(c, QC_DRAINING);
	if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT &&
	    ccerr.error_code >= 0x100 && ccerr.error_code < 0x200)
		snprintf(text, sizeof(text), "peer closed: TLS alert %u",
			 (unsigned)(ccerr.error_code - 0x100));
	else
		snprintf(text, sizeof(text), "peer closed");
	report_closed(c, c->hs_done ? HT_QCLOSE_PEER : HT_QCLOSE_HANDSHAKE,
		      ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION,
		      ccerr.error_code, text);
}

void ht_qconn_close(struct ht_qconn *c, uint64_t app_error)
{
	if (c == NULL || is_gone(c) || c->close_requested)
		return;
	c->close_requested = true;
	c->close_app_error = app_error;
	ht_defer_queue(c->loop, &c->flush);
}

void ht_qconn_abort(struct ht_qconn *c)
{
	if (c != NULL)
		conn_free(c);
}

void ht_qconn_destroy(struct ht_qconn *c)
{
	report_closed(c, HT_QCLOSE_LOCAL, false, 0, "shut down");
	conn_free(c);
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
	if (ht_tls_session_finish(&c->tls) != 0 || !c->tls.peer_ok)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	ht_fingerprint_format(c->tls.peer_fp, fp);
	ht_log(HT_LOG_DEBUG, "quic", "%s handshake complete, alpn %s, peer %s",
	       c->is_server ? "server" : "client", c->tls.alpn, fp);
	if (!c->is_server)
		return 0; /* the client waits for HANDSHAKE_DONE (confirmation) */
	c->state = QC_OPEN;
	refuse = ht_server_conn_established(c->srv, c);
	if (refuse != 0) {
		ht_qconn_close(c, (uint64_t)refuse);
		return 0;
	}
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
	if (!ngtcp2_is_bidi_stream(sid))
		return 0; /* we allow no uni streams; ngtcp2 enforces the limit */
	if (stream_for(c, sid, NULL) == NULL)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	CALL(c, stream_open, sid);
	return 0;
}

static void release_rx(struct ht_qconn *c, struct ht_qstream *s)
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

static void notify_add(struct ht_qconn *c, struct ht_qstream *s)
{
	if (!s->in_notify) {
		s->in_notify = true;
		s->nnext = c->notify;
		c->notify = s;
	}
	queue_flush(c);
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
static void maybe_writable(struct ht_qconn *c, struct ht_qstream *s)
{
	size_t want = c->set.stream_sndbuf / 4 < WRITABLE_MIN ? c->set.stream_sndbuf / 4
							     : WRITABLE_MIN;

	if (s->want_writable && ht_qstream_room(c, s) >= (want ? want : 1)) {
		s->want_writable = false;
		s->notify_writable = true;
		notify_add(c, s);
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
	release_rx(c, s);
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
			queue_flush(c);
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
	st->handshake_timeout = c->set.handshake_timeout;
	st->log_printf = c->set.ngtcp2_debug ? ngtcp2_log : NULL;
	/* No window auto-tuning: the windows are the bound on what the upper
	 * layer may hold unconsumed. */
	st->max_window = 0;
	st->max_stream_window = 0;

	ngtcp2_transport_params_default(p);
	p->initial_max_stream_data_bidi_local = c->set.stream_window;
	p->initial_max_stream_data_bidi_remote = c->set.stream_window;
	p->initial_max_stream_data_uni = 0;
	p->initial_max_data = c->set.conn_window;
	p->initial_max_streams_bidi = c->set.max_streams_bidi;
	p->initial_max_streams_uni = 0;
	p->max_idle_timeout = c->set.idle_timeout;
	p->active_connection_id_limit = 4;
	p->max_datagram_frame_size = 65535;
}

/* ---- construction ------------------------------------------------------------- */

static void on_timer(struct ht_loop *loop, struct ht_timer *t);
static void on_flush(struct ht_loop *loop, struct ht_defer *d);

static struct ht_qconn *conn_alloc(struct ht_loop *loop, const struct ht_qconn_settings *set)
{
	struct ht_qconn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	live_conns++;
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
	ht_timer_init(&c->timer, on_timer, c);
	ht_defer_init(&c->flush, on_flush, c);
	/* One GSO batch: up to 64 KiB worth of max-size packets. */
	c->txcap = HT_UDP_MAX_GSO_BYTES / c->set.max_udp_payload * c->set.max_udp_payload;
	c->txbuf = malloc(c->txcap);
	if (c->txbuf == NULL) {
		free(c);
		live_conns--;
		return NULL;
	}
	return c;
}

static int conn_finish_setup(struct ht_qconn *c, const struct ht_tls_config *tls)
{
	if (ht_tls_session_init(&c->tls, tls, get_conn, c) != 0)
		return HT_ERR_CRYPTO;
	ngtcp2_conn_set_tls_native_handle(c->conn, c->tls.session);
	if (c->set.keep_alive > 0)
		ngtcp2_conn_set_keep_alive_timeout(c->conn, c->set.keep_alive);
	return 0;
}

static void on_client_io(struct ht_loop *loop, struct ht_io *io, uint32_t events);

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
	if ((rv = conn_finish_setup(c, a->tls)) != 0)
		goto fail;
	if ((rv = ht_io_start(loop, &c->io, c->own_sock.fd, EPOLLIN, on_client_io, c)) != 0)
		goto fail;
	ht_defer_queue(loop, &c->flush); /* the Initial */
	*out = c;
	return 0;
fail:
	conn_free(c);
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
	conn_free(c); /* ht_server_conn_gone drops any CID added */
	return rv;
}

/* ---- read path ------------------------------------------------------------------ */

int ht_qconn_input(struct ht_qconn *c, const struct ht_udp_addr *local,
		   const struct ht_udp_addr *remote, const uint8_t *data, size_t len)
{
	ngtcp2_path path;
	ngtcp2_pkt_info pi = {0};
	int rv;

	if (c->state == QC_CLOSING) {
		/* Repeat CONNECTION_CLOSE on input, backing off (1, 2, 4, ...). */
		c->close_rx++;
		if ((c->close_rx & (c->close_rx - 1)) == 0)
			send_close_pkt(c);
		return 0;
	}
	if (c->state == QC_DRAINING)
		return 0;
	path.local.addr = (ngtcp2_sockaddr *)&local->ss;
	path.local.addrlen = local->len;
	path.remote.addr = (ngtcp2_sockaddr *)&remote->ss;
	path.remote.addrlen = remote->len;
	path.user_data = NULL;
	c->bytes_received += len;
	c->pkts_received++;
	rv = ngtcp2_conn_read_pkt(c->conn, &path, &pi, data, len, ht_now());
	switch (rv) {
	case 0:
		queue_flush(c);
		break;
	case NGTCP2_ERR_DRAINING:
		conn_drain(c);
		break;
	case NGTCP2_ERR_DROP_CONN:
	case NGTCP2_ERR_RETRY:
		linger(c, QC_DRAINING);
		report_closed(c, HT_QCLOSE_ERROR, false, 0, "dropped by the QUIC stack");
		break;
	case NGTCP2_ERR_DISCARD_PKT:
		break;
	default:
		conn_fail(c, rv);
		break;
	}
	return 0;
}

static void on_client_io(struct ht_loop *loop, struct ht_io *io, uint32_t events)
{
	struct ht_qconn *c = io->arg;

	(void)loop;
	if ((events & EPOLLOUT) && c->tx_blocked)
		ht_qconn_tx_resume(c);
	if (!(events & (EPOLLIN | EPOLLERR)))
		return;
	for (int round = 0; round < RX_ROUNDS; round++) {
		int n = ht_udp_recv(c->sock, c->rx);

		if (n < 0 && n != -ECONNREFUSED)
			ht_log(HT_LOG_DEBUG, "quic", "recv: %s", strerror(-n));
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct ht_udp_msg *m = &c->rx->msg[i];

			for (size_t off = 0; off < m->len; off += m->seg) {
				size_t l = m->len - off < m->seg ? m->len - off : m->seg;

				ht_qconn_input(c, &m->local, &m->remote, m->data + off, l);
			}
		}
		if ((unsigned)n < c->rx->nslots)
			break;
	}
}

/* ---- write path ------------------------------------------------------------------- */

static void wait_writable(struct ht_qconn *c)
{
	if (c->srv != NULL)
		ht_server_wait_tx(c->srv, c);
	else
		(void)ht_io_modify(c->loop, &c->io, EPOLLIN | EPOLLOUT);
}

/* Hand txbuf[off, off+len) to the kernel as packets of seg bytes.  Returns
 * true if the socket is full (the rest is kept as the pending batch). */
static bool send_batch(struct ht_qconn *c, size_t off, size_t len, size_t seg,
		       const struct ht_udp_addr *local, const struct ht_udp_addr *remote)
{
	ssize_t n = ht_udp_send(c->sock, remote, local, c->txbuf + off, len, seg);

	if (n == (ssize_t)len)
		return false;
	if (n == -EAGAIN || n == -EWOULDBLOCK || n == -ENOBUFS || (n >= 0 && (size_t)n < len)) {
		size_t sent = n > 0 ? (size_t)n : 0;

		c->pend_off = off + sent;
		c->pend_len = len - sent;
		c->pend_seg = seg;
		c->pend_local = *local;
		c->pend_remote = *remote;
		c->tx_blocked = true;
		wait_writable(c);
		return true;
	}
	/* Any other error (unreachable, refused...): the packets are lost;
	 * QUIC's loss recovery and idle timeout deal with it. */
	ht_log(HT_LOG_DEBUG, "quic", "send: %s", strerror((int)-n));
	return false;
}

void ht_qconn_tx_resume(struct ht_qconn *c)
{
	ssize_t n;

	if (!c->tx_blocked)
		return;
	n = ht_udp_send(c->sock, &c->pend_remote, &c->pend_local, c->txbuf + c->pend_off,
			c->pend_len, c->pend_seg);
	if (n >= 0 && (size_t)n < c->pend_len) {
		c->pend_off += (size_t)n;
		c->pend_len -= (size_t)n;
		wait_writable(c);
		return;
	}
	if (n == -EAGAIN || n == -EWOULDBLOCK || n == -ENOBUFS) {
		wait_writable(c);
		return;
	}
	c->tx_blocked = false;
	if (c->srv == NULL)
		(void)ht_io_modify(c->loop, &c->io, EPOLLIN);
	conn_write(c);
	arm_timer(c, false);
}

static void path_to_addrs(const ngtcp2_path *p, struct ht_udp_addr *local,
			  struct ht_udp_addr *remote)
{
	memcpy(&local->ss, p->local.addr, p->local.addrlen);
	local->len = p->local.addrlen;
	memcpy(&remote->ss, p->remote.addr, p->remote.addrlen);
	remote->len = p->remote.addrlen;
}

static bool same_path(const ngtcp2_path *p, const struct ht_udp_addr *local,
		      const struct ht_udp_addr *remote)
{
	return p->local.addrlen == local->len && p->remote.addrlen == remote->len &&
	       memcmp(p->local.addr, &local->ss, local->len) == 0 &&
	       memcmp(p->remote.addr, &remote->ss, remote->len) == 0;
}

/* Which stream (or datagram) goes into the next packet; returns the
 * ngtcp2 result.  *wlen reports stream bytes taken. */
static ngtcp2_ssize write_one(struct ht_qconn *c, ngtcp2_path *path, ngtcp2_pkt_info *pi,
			      uint8_t *p, size_t max, bool streams_ok, ht_time ts, bool *again)
{
	ngtcp2_vec v[MAX_VEC];
	ngtcp2_ssize n, wlen = -1;
	struct ht_qstream *s;
	size_t nv, bytes;
	bool fin;

	*again = false;
	if (c->dq_len > 0) {
		struct ht_qdgram *d = c->dq[c->dq_head];
		ngtcp2_vec dv = {d->data, d->len};
		int accepted = 0;

		n = ngtcp2_conn_writev_datagram(c->conn, path, pi, p, max, &accepted,
						NGTCP2_WRITE_DATAGRAM_FLAG_MORE, 0, &dv, 1, ts);
		if (accepted || n == NGTCP2_ERR_INVALID_ARGUMENT || n == NGTCP2_ERR_INVALID_STATE) {
			free(d);
			c->dq_head = (c->dq_head + 1) % c->dq_cap;
			c->dq_len--;
		}
		if (n == NGTCP2_ERR_WRITE_MORE || n == NGTCP2_ERR_INVALID_ARGUMENT ||
		    n == NGTCP2_ERR_INVALID_STATE) {
			*again = true;
			return 0;
		}
		return n;
	}
	s = streams_ok ? c->ready : NULL;
	if (s == NULL)
		return ngtcp2_conn_writev_stream(c->conn, path, pi, p, max, NULL,
						 NGTCP2_WRITE_STREAM_FLAG_NONE, -1, NULL, 0, ts);
	nv = ht_qstream_unsent(s, v, MAX_VEC, &bytes);
	fin = s->fin_queued && !s->fin_sent && s->sent + bytes == s->end;
	n = ngtcp2_conn_writev_stream(c->conn, path, pi, p, max, &wlen,
				      NGTCP2_WRITE_STREAM_FLAG_MORE |
					      (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0),
				      s->id, v, nv, ts);
	if (wlen >= 0) {
		s->sent += (uint64_t)wlen;
		if (fin && s->sent == s->end)
			s->fin_sent = true;
		maybe_writable(c, s);
	}
	switch (n) {
	case NGTCP2_ERR_STREAM_DATA_BLOCKED:
		s->blocked = true;
		ht_qstream_ready_del(c, s);
		*again = true;
		return 0;
	case NGTCP2_ERR_STREAM_SHUT_WR:
	case NGTCP2_ERR_STREAM_NOT_FOUND:
		/* The peer sent STOP_SENDING (ngtcp2 answered with RESET_STREAM). */
		ht_qstream_ready_del(c, s);
		if (!s->wr_shut && !s->stop_reported) {
			s->stop_reported = true;
			s->notify_stop = true;
			notify_add(c, s);
		}
		s->wr_shut = true;
		*again = true;
		return 0;
	default:
		break;
	}
	if (!ht_qstream_has_unsent(s))
		ht_qstream_ready_del(c, s);
	else if (c->ready == s)
		c->ready = s->rnext; /* round robin, one packet's worth each */
	if (n == NGTCP2_ERR_WRITE_MORE) {
		*again = true;
		return 0;
	}
	return n;
}

static void close_app(struct ht_qconn *c)
{
	ngtcp2_connection_close_error ccerr;

	ngtcp2_connection_close_error_set_application_error(&ccerr, c->close_app_error, NULL, 0);
	conn_close_with(c, &ccerr, HT_QCLOSE_LOCAL, "closed locally");
}

static void conn_write(struct ht_qconn *c)
{
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	struct ht_udp_addr blocal, bremote;
	size_t max, seg = 0, blen = 0, nseg = 0, maxsegs;
	ht_time ts;

	if (c->state >= QC_CLOSING || c->tx_blocked)
		return;
	if (c->close_requested) {
		close_app(c);
		return;
	}
	ngtcp2_path_storage_zero(&ps);
	max = ngtcp2_conn_get_max_tx_udp_payload_size(c->conn);
	if (max > c->txcap)
		max = c->txcap;
	for (int round = 0; round < WRITE_ROUNDS; round++) {
		size_t npkts = 0, quantum = ngtcp2_conn_get_send_quantum(c->conn);
		bool done = false;

		maxsegs = quantum / max;
		if (maxsegs < 1)
			maxsegs = 1;
		if (maxsegs > HT_UDP_MAX_GSO_SEGS)
			maxsegs = HT_UDP_MAX_GSO_SEGS;
		ts = ht_now();
		while (npkts < maxsegs) {
			bool again;
			ngtcp2_ssize n;

			if (blen + max > c->txcap) {
				if (send_batch(c, 0, blen, seg, &blocal, &bremote))
					return;
				blen = nseg = 0;
			}
			n = write_one(c, &ps.path, &pi, c->txbuf + blen, max, true, ts, &again);
			if (again)
				continue;
			if (n < 0) {
				ht_log(HT_LOG_WARN, "quic", "write: %s", ngtcp2_strerror((int)n));
				conn_fail(c, (int)n);
				return;
			}
			if (n == 0) {
				done = true;
				break;
			}
			npkts++;
			c->bytes_sent += (uint64_t)n;
			c->pkts_sent++;
			if (nseg > 0 && ((size_t)n > seg || !same_path(&ps.path, &blocal, &bremote))) {
				/* Cannot join the batch (a PMTU probe or another path):
				 * send the batch, then this packet on its own. */
				if (send_batch(c, 0, blen, seg, &blocal, &bremote))
					return; /* this packet is dropped: counts as lost */
				memmove(c->txbuf, c->txbuf + blen, (size_t)n);
				blen = nseg = 0;
			}
			if (nseg == 0) {
				path_to_addrs(&ps.path, &blocal, &bremote);
				seg = (size_t)n;
			}
			blen += (size_t)n;
			nseg++;
			/* A short packet must be the batch's last. */
			if ((size_t)n < seg || nseg == HT_UDP_MAX_GSO_SEGS) {
				if (send_batch(c, 0, blen, seg, &blocal, &bremote))
					return;
				blen = nseg = 0;
			}
		}
		if (nseg > 0) {
			if (send_batch(c, 0, blen, seg, &blocal, &bremote))
				break;
			blen = nseg = 0;
		}
		ngtcp2_conn_update_pkt_tx_time(c->conn, ts);
		if (done)
			return;
	}
	/* More to send but we used our share of this batch: come back after
	 * the next poll so reads (ACKs) are not starved. */
	if (!c->tx_blocked)
		ht_timer_set(c->loop, &c->timer, ht_loop_now(c->loop));
}

/* ---- timers and the per-batch flush ------------------------------------------------- */

static void arm_timer(struct ht_qconn *c, bool from_timer)
{
	ht_time exp, now = ht_loop_now(c->loop);

	if (c->state >= QC_CLOSING)
		return;
	exp = ngtcp2_conn_get_expiry(c->conn);
	if (exp == UINT64_MAX) {
		ht_timer_cancel(c->loop, &c->timer);
		return;
	}
	if (from_timer && exp <= now)
		exp = now + 1; /* never re-fire within one run of the timer heap */
	if (ht_timer_armed(&c->timer) && c->timer.deadline <= now && !from_timer)
		return; /* a yield is pending: keep it */
	if (ht_timer_set(c->loop, &c->timer, exp) != 0)
		ht_log(HT_LOG_ERROR, "quic", "cannot arm connection timer");
}

static void on_timer(struct ht_loop *loop, struct ht_timer *t)
{
	struct ht_qconn *c = t->arg;
	int rv;

	(void)loop;
	if (c->state >= QC_CLOSING) {
		conn_free(c); /* the closing / draining period is over */
		return;
	}
	rv = ngtcp2_conn_handle_expiry(c->conn, ht_now());
	if (rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
		bool idle = rv == NGTCP2_ERR_IDLE_CLOSE && c->hs_done;

		report_closed(c, idle ? HT_QCLOSE_IDLE : HT_QCLOSE_HANDSHAKE, false, 0,
			      idle ? "idle timeout" : "handshake timeout");
		conn_free(c);
		return;
	}
	if (rv != 0) {
		conn_fail(c, rv);
		return;
	}
	conn_write(c);
	arm_timer(c, true);
}

static void run_notifications(struct ht_qconn *c)
{
	while (c->notify != NULL && !is_gone(c)) {
		struct ht_qstream *s = c->notify;

		c->notify = s->nnext;
		s->nnext = NULL;
		s->in_notify = false;
		if (s->notify_stop) {
			s->notify_stop = false;
			CALL(c, stream_stop_sending, s->id, HT_QCONN_APP_ERROR_UNKNOWN);
		}
		if (s->notify_writable && !s->closing) {
			s->notify_writable = false;
			CALL(c, stream_writable, s->id);
		}
	}
}

static void on_flush(struct ht_loop *loop, struct ht_defer *d)
{
	struct ht_qconn *c = d->arg;

	(void)loop;
	if (c->state >= QC_CLOSING)
		return;
	run_notifications(c);
	conn_write(c);
	arm_timer(c, false);
}

/* ---- the API ------------------------------------------------------------------------- */

void ht_qconn_set_ops(struct ht_qconn *c, const struct ht_qconn_ops *ops, void *user)
{
	if (c->closed_reported)
		return;
	c->ops = ops;
	c->user = user;
}

void *ht_qconn_user(const struct ht_qconn *c)
{
	return c->user;
}

static struct ht_qstream *api_stream(struct ht_qconn *c, int64_t sid, int *err)
{
	struct ht_qstream *s;

	if (is_gone(c) || c->close_requested) {
		*err = HT_QERR_CLOSED;
		return NULL;
	}
	s = ht_qstream_find(c, sid);
	if (s == NULL || s->closing) {
		*err = HT_QERR_NO_STREAM;
		return NULL;
	}
	return s;
}

int ht_qconn_open_bidi(struct ht_qconn *c, int64_t *sid)
{
	struct ht_qstream *s;
	int64_t id;
	int rv;

	if (is_gone(c) || c->close_requested)
		return HT_QERR_CLOSED;
	rv = ngtcp2_conn_open_bidi_stream(c->conn, &id, NULL);
	if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED)
		return HT_QERR_STREAM_LIMIT;
	if (rv != 0)
		return rv == NGTCP2_ERR_NOMEM ? HT_QERR_NOMEM : HT_QERR_INTERNAL;
	s = ht_qstream_new(c, id);
	if (s == NULL) {
		(void)ngtcp2_conn_shutdown_stream(c->conn, id, 0);
		queue_flush(c);
		return HT_QERR_NOMEM;
	}
	(void)ngtcp2_conn_set_stream_user_data(c->conn, id, s);
	*sid = id;
	return 0;
}

ssize_t ht_qconn_stream_send(struct ht_qconn *c, int64_t sid, const uint8_t *data, size_t len,
			     bool fin)
{
	int err = 0;
	struct ht_qstream *s = api_stream(c, sid, &err);
	size_t n;

	if (s == NULL)
		return err;
	if (s->fin_queued || s->wr_shut)
		return HT_QERR_STATE;
	n = len > 0 ? ht_qstream_append(c, s, data, len) : 0;
	if (n < len)
		s->want_writable = true;
	else if (fin)
		s->fin_queued = true;
	if ((n > 0 || s->fin_queued) && !s->blocked) {
		ht_qstream_ready_add(c, s);
		queue_flush(c);
	}
	return (ssize_t)n;
}

size_t ht_qconn_stream_send_room(struct ht_qconn *c, int64_t sid)
{
	int err;
	struct ht_qstream *s = api_stream(c, sid, &err);

	return s != NULL ? ht_qstream_room(c, s) : 0;
}

int ht_qconn_stream_consumed(struct ht_qconn *c, int64_t sid, size_t n)
{
	int err = 0;
	struct ht_qstream *s = api_stream(c, sid, &err);

	if (s == NULL)
		return err;
	if (s->rx_released)
		return 0;
	if (n > s->delivered - s->consumed)
		n = (size_t)(s->delivered - s->consumed);
	if (n == 0)
		return 0;
	s->consumed += n;
	(void)ngtcp2_conn_extend_max_stream_offset(c->conn, sid, n);
	ngtcp2_conn_extend_max_offset(c->conn, n);
	queue_flush(c);
	return 0;
}

int ht_qconn_stream_reset(struct ht_qconn *c, int64_t sid, uint64_t app_error)
{
	int err = 0;
	struct ht_qstream *s = api_stream(c, sid, &err);

	if (s == NULL)
		return err;
	if (ngtcp2_conn_shutdown_stream(c->conn, sid, app_error) != 0)
		return HT_QERR_INTERNAL;
	s->wr_shut = s->rd_shut = true;
	ht_qstream_ready_del(c, s);
	release_rx(c, s);
	queue_flush(c);
	return 0;
}

int ht_qconn_stream_stop_sending(struct ht_qconn *c, int64_t sid, uint64_t app_error)
{
	int err = 0;
	struct ht_qstream *s = api_stream(c, sid, &err);

	if (s == NULL)
		return err;
	if (ngtcp2_conn_shutdown_stream_read(c->conn, sid, app_error) != 0)
		return HT_QERR_INTERNAL;
	s->rd_shut = true;
	release_rx(c, s);
	queue_flush(c);
	return 0;
}

int ht_qconn_send_datagram(struct ht_qconn *c, const uint8_t *data, size_t len)
{
	const ngtcp2_transport_params *rp;
	struct ht_qdgram *d;

	if (is_gone(c) || c->close_requested)
		return HT_QERR_CLOSED;
	rp = ngtcp2_conn_get_remote_transport_params(c->conn);
	if (!c->hs_done || rp == NULL || rp->max_datagram_frame_size == 0)
		return HT_QERR_STATE;
	/* Frame type + length + short header + AEAD tag must fit one packet. */
	if (len + 8 > rp->max_datagram_frame_size ||
	    len + 64 > ngtcp2_conn_get_path_max_tx_udp_payload_size(c->conn))
		return HT_QERR_TOO_BIG;
	if (c->dq == NULL) {
		c->dq_cap = c->set.max_dgram_queue ? c->set.max_dgram_queue : 128;
		if ((c->dq = calloc(c->dq_cap, sizeof(*c->dq))) == NULL)
			return HT_QERR_NOMEM;
	}
	if (c->dq_len == c->dq_cap)
		return HT_QERR_FULL;
	if ((d = malloc(sizeof(*d) + len)) == NULL)
		return HT_QERR_NOMEM;
	d->len = len;
	memcpy(d->data, data, len);
	c->dq[(c->dq_head + c->dq_len) % c->dq_cap] = d;
	c->dq_len++;
	queue_flush(c);
	return 0;
}

const char *ht_qconn_alpn(const struct ht_qconn *c)
{
	return c->tls.alpn;
}

const uint8_t *ht_qconn_peer_fingerprint(const struct ht_qconn *c)
{
	return c->tls.peer_ok ? c->tls.peer_fp : NULL;
}

bool ht_qconn_is_server(const struct ht_qconn *c)
{
	return c->is_server;
}

bool ht_qconn_handshake_done(const struct ht_qconn *c)
{
	return c->hs_done;
}

void ht_qconn_get_stats(struct ht_qconn *c, struct ht_qconn_stats *st)
{
	ngtcp2_conn_stat cs;

	memset(st, 0, sizeof(*st));
	st->bytes_sent = c->bytes_sent;
	st->bytes_received = c->bytes_received;
	st->pkts_sent = c->pkts_sent;
	st->pkts_received = c->pkts_received;
	st->streams_open = c->nstreams;
	st->lost_pkts = c->lost_closed;
	if (c->conn == NULL)
		return;
	ngtcp2_conn_get_conn_stat(c->conn, &cs);
	st->smoothed_rtt = cs.smoothed_rtt;
	st->min_rtt = cs.min_rtt;
	st->latest_rtt = cs.latest_rtt;
	st->cwnd = cs.cwnd;
	st->bytes_in_flight = cs.bytes_in_flight;
	st->delivery_rate = cs.delivery_rate_sec;
	for (size_t i = 0; i < c->nbuckets; i++) {
		for (struct ht_qstream *s = c->sbuckets[i]; s != NULL; s = s->hnext)
			st->lost_pkts += ngtcp2_conn_get_stream_loss_count(c->conn, s->id);
	}
}
