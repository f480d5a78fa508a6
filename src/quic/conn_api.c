/* hatun — the stream / datagram / getter half of the connection API
 * (conn.h).  Nothing here calls ngtcp2's read or write functions: these
 * run from anywhere, including inside ops callbacks, and leave the
 * sending to the connection's per-batch flush. */
#include <stdlib.h>
#include <string.h>

#include "quic/conn_int.h"

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

	if (ht_qconn_is_gone(c) || c->close_requested) {
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

	if (ht_qconn_is_gone(c) || c->close_requested)
		return HT_QERR_CLOSED;
	rv = ngtcp2_conn_open_bidi_stream(c->conn, &id, NULL);
	if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED)
		return HT_QERR_STREAM_LIMIT;
	if (rv != 0)
		return rv == NGTCP2_ERR_NOMEM ? HT_QERR_NOMEM : HT_QERR_INTERNAL;
	s = ht_qstream_new(c, id);
	if (s == NULL) {
		(void)ngtcp2_conn_shutdown_stream(c->conn, id, 0);
		ht_qconn_queue_flush(c);
		return HT_QERR_NOMEM;
	}
	(void)ngtcp2_conn_set_stream_user_data(c->conn, id, s);
	*sid = id;
	return 0;
}

int ht_qconn_open_uni(struct ht_qconn *c, int64_t *sid)
{
	struct ht_qstream *s;
	int64_t id;
	int rv;

	if (ht_qconn_is_gone(c) || c->close_requested)
		return HT_QERR_CLOSED;
	if (!c->hs_done)
		return HT_QERR_STATE;
	rv = ngtcp2_conn_open_uni_stream(c->conn, &id, NULL);
	if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED)
		return HT_QERR_STREAM_LIMIT;
	if (rv != 0)
		return rv == NGTCP2_ERR_NOMEM ? HT_QERR_NOMEM : HT_QERR_INTERNAL;
	s = ht_qstream_new(c, id);
	if (s == NULL) {
		(void)ngtcp2_conn_shutdown_stream(c->conn, id, 0);
		ht_qconn_queue_flush(c);
		return HT_QERR_NOMEM;
	}
	s->rd_shut = true; /* nothing arrives on our own uni stream */
	(void)ngtcp2_conn_set_stream_user_data(c->conn, id, s);
	*sid = id;
	return 0;
}

void ht_qconn_uni_opened(struct ht_qconn *c, int64_t sid)
{
	struct ht_qstream *s = ht_qstream_find(c, sid);

	if (s == NULL)
		return;
	s->wr_shut = true; /* the peer's stream: we cannot send on it */
	if (c->ops != NULL && c->ops->uni_stream_open != NULL) {
		c->ops->uni_stream_open(c, c->user, sid);
		return;
	}
	/* Nobody reads it: STOP_SENDING, and its bytes' credit goes back. */
	if (ngtcp2_conn_shutdown_stream_read(c->conn, sid, 0) == 0) {
		s->rd_shut = true;
		ht_qconn_release_rx(c, s);
		ht_qconn_queue_flush(c);
	}
}

int ht_qconn_stream_set_user(struct ht_qconn *c, int64_t sid, void *user)
{
	int err = 0;
	struct ht_qstream *s = api_stream(c, sid, &err);

	if (s == NULL)
		return user == NULL ? 0 : err;
	s->user = user;
	return 0;
}

void *ht_qconn_stream_user(struct ht_qconn *c, int64_t sid)
{
	struct ht_qstream *s = ht_qstream_find(c, sid);

	return s != NULL ? s->user : NULL;
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
		ht_qconn_queue_flush(c);
	}
	return (ssize_t)n;
}

int ht_qconn_stream_reserve(struct ht_qconn *c, int64_t sid, struct iovec *iov, int niov,
			    size_t max)
{
	int err = 0;
	struct ht_qstream *s = api_stream(c, sid, &err);
	size_t n;

	if (s == NULL)
		return err;
	if (s->fin_queued || s->wr_shut)
		return HT_QERR_STATE;
	n = niov > 0 ? ht_qstream_reserve(c, s, iov, (size_t)niov, max) : 0;
	if (n == 0 && max > 0)
		s->want_writable = true;
	return (int)n;
}

ssize_t ht_qconn_stream_commit(struct ht_qconn *c, int64_t sid, size_t n)
{
	int err = 0;
	struct ht_qstream *s = api_stream(c, sid, &err);
	size_t done;

	if (s == NULL) {
		ht_qstream_release(c);
		return err;
	}
	done = ht_qstream_commit(c, s, n);
	if (done < n)
		s->want_writable = true;
	if (done > 0 && !s->blocked) {
		ht_qstream_ready_add(c, s);
		ht_qconn_queue_flush(c);
	}
	return (ssize_t)done;
}

size_t ht_qconn_stream_send_room(struct ht_qconn *c, int64_t sid)
{
	int err;
	struct ht_qstream *s = api_stream(c, sid, &err);
	size_t room;

	if (s == NULL)
		return 0;
	room = ht_qstream_room(c, s);
	/* A writer that reads exactly the room never makes a short send:
	 * finding no room is its backpressure signal too. */
	if (room == 0 && !s->fin_queued && !s->wr_shut)
		s->want_writable = true;
	return room;
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
	ht_qconn_queue_flush(c);
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
	ht_qconn_release_rx(c, s);
	ht_qconn_queue_flush(c);
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
	ht_qconn_release_rx(c, s);
	ht_qconn_queue_flush(c);
	return 0;
}

int ht_qconn_send_datagram_flow(struct ht_qconn *c, const uint8_t *data, size_t len,
				uint32_t flow)
{
	const ngtcp2_transport_params *rp;
	struct ht_qdgram *d;

	if (ht_qconn_is_gone(c) || c->close_requested)
		return HT_QERR_CLOSED;
	rp = ngtcp2_conn_get_remote_transport_params(c->conn);
	if (!c->hs_done || rp == NULL || rp->max_datagram_frame_size == 0)
		return HT_QERR_STATE;
	if (len + 8 > rp->max_datagram_frame_size ||
	    len + HT_QDGRAM_PKT_OVERHEAD(ngtcp2_conn_get_dcid(c->conn)->datalen) >
		    ngtcp2_conn_get_path_max_tx_udp_payload_size(c->conn))
		return HT_QERR_TOO_BIG;
	if (!c->dq_on) {
		int rv = ht_dgq_init(&c->dq, c->set.max_dgram_queue ? c->set.max_dgram_queue : HT_QDGRAM_QUEUE_MAX,
				     c->dq_target != 0 ? c->dq_target : HT_QDGRAM_TARGET,
				     HT_QDGRAM_INTERVAL);

		if (rv < 0)
			return rv;
		ht_dgq_set_limit(&c->dq, HT_QDGRAM_QUEUE_MIN);
		ht_pathq_init(&c->dq_pathq, HT_QDGRAM_INTERVAL, HT_QDGRAM_BASE_SPAN,
			      HT_QDGRAM_MIN_SAMPLES);
		c->dq_on = true;
	}
	if ((d = malloc(sizeof(*d) + len)) == NULL)
		return HT_QERR_NOMEM;
	d->len = len;
	d->t = ht_now();
	d->flow = flow;
	memcpy(d->data, data, len);
	if (!ht_dgq_push(&c->dq, d)) {
		free(d);
		return HT_QERR_FULL;
	}
	ht_qconn_queue_flush(c);
	return 0;
}

void ht_qconn_set_dgram_target(struct ht_qconn *c, ht_time target)
{
	c->dq_target = target;
	if (c->dq_on)
		c->dq.codel.target = target != 0 ? target : HT_QDGRAM_TARGET;
}

int ht_qconn_send_datagram(struct ht_qconn *c, const uint8_t *data, size_t len)
{
	return ht_qconn_send_datagram_flow(c, data, len, 0);
}

size_t ht_qconn_max_datagram(struct ht_qconn *c, bool nominal)
{
	const ngtcp2_transport_params *rp;
	size_t path, frame, over;

	if (ht_qconn_is_gone(c) || !c->hs_done)
		return 0;
	rp = ngtcp2_conn_get_remote_transport_params(c->conn);
	if (rp == NULL || rp->max_datagram_frame_size <= 8)
		return 0;
	/* The same bounds as ht_qconn_send_datagram. */
	path = nominal ? ngtcp2_conn_get_max_tx_udp_payload_size(c->conn)
		       : ngtcp2_conn_get_path_max_tx_udp_payload_size(c->conn);
	frame = (size_t)rp->max_datagram_frame_size - 8;
	over = HT_QDGRAM_PKT_OVERHEAD(ngtcp2_conn_get_dcid(c->conn)->datalen);
	path = path > over ? path - over : 0;
	return path < frame ? path : frame;
}

const char *ht_qconn_alpn(const struct ht_qconn *c)
{
	return c->tls.alpn;
}

const uint8_t *ht_qconn_peer_fingerprint(const struct ht_qconn *c)
{
	return c->tls.peer_ok ? c->tls.peer_fp : NULL;
}

socklen_t ht_qconn_peer_addr(const struct ht_qconn *c, struct sockaddr_storage *ss)
{
	const ngtcp2_path *p;

	if (c->conn == NULL)
		return 0;
	p = ngtcp2_conn_get_path(c->conn);
	if (p == NULL || p->remote.addrlen == 0 || p->remote.addrlen > sizeof(*ss))
		return 0;
	memcpy(ss, p->remote.addr, p->remote.addrlen);
	return (socklen_t)p->remote.addrlen;
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
	st->dgram_codel_drops = c->dq.codel.drops;
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

void ht_qconn_get_pathinfo(struct ht_qconn *c, struct ht_qconn_pathinfo *pi)
{
	ngtcp2_conn_stat cs;
	ngtcp2_tstamp tx;

	memset(pi, 0, sizeof(*pi));
	pi->dgram_queued = c->dq_on ? ht_dgq_len(&c->dq) : 0;
	pi->path_queue = c->dq_on ? ht_pathq_delay(&c->dq_pathq, ht_now()) : 0;
	pi->streams_bidi = c->nstreams - c->nuni;
	pi->last_rx = c->last_rx;
	pi->bytes_sent = c->bytes_sent;
	pi->bytes_received = c->bytes_received;
	if (c->conn == NULL)
		return;
	ngtcp2_conn_get_conn_stat(c->conn, &cs);
	pi->srtt = cs.smoothed_rtt;
	pi->rttvar = cs.rttvar;
	pi->min_rtt = cs.min_rtt == UINT64_MAX ? 0 : cs.min_rtt;
	pi->cwnd = cs.cwnd;
	pi->bytes_in_flight = cs.bytes_in_flight;
	/* ngtcp2 keeps UINT64_MAX for "never". */
	tx = cs.last_tx_pkt_ts[NGTCP2_PKTNS_ID_APPLICATION];
	pi->last_tx_eliciting = tx == UINT64_MAX ? 0 : (ht_time)tx;
}

void ht_qconn_ping(struct ht_qconn *c)
{
	if (c->conn == NULL || c->state != QC_OPEN || !c->hs_done)
		return;
	/* ngtcp2 0.12 has no call to send a PING: an expired keep-alive makes
	 * the next packet written carry one; ht_qc_conn_write restores the
	 * real timeout after that packet. */
	c->ping_now = true;
	ngtcp2_conn_set_keep_alive_timeout(c->conn, 1);
	ht_qconn_queue_flush(c);
}

void ht_qconn_set_keep_alive(struct ht_qconn *c, ht_time timeout)
{
	c->set.keep_alive = timeout;
	if (c->conn == NULL || c->state != QC_OPEN || c->ping_now)
		return; /* a pending ht_qconn_ping restores it after its packet */
	ngtcp2_conn_set_keep_alive_timeout(c->conn, timeout); /* 0: off */
	ht_qc_arm_timer(c, false);
}
