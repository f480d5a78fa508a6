/* hatun — the connection's I/O: the read path (datagrams into ngtcp2),
 * the batched write path (ngtcp2 packets into GSO batches, EAGAIN kept as a
 * pending batch), the expiry timer and the once-per-batch flush. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "core/log.h"
#include "quic/conn_int.h"

#define RX_ROUNDS 8     /* recvmmsg calls per readable event */
#define WRITE_ROUNDS 16 /* send quanta per flush before yielding to the poll */
#define MAX_VEC 16

#define CALL(c, fn, ...)                                                                   \
	do {                                                                               \
		if ((c)->ops != NULL && (c)->ops->fn != NULL)                              \
			(c)->ops->fn((c), (c)->user, __VA_ARGS__);                         \
	} while (0)

/* ---- read path ------------------------------------------------------------------ */

/* Feed a new RTT sample, if the packet just read brought one, to the
 * estimate of the path's standing queue (pathq.h) that the DATAGRAM
 * queue's CoDel adds to each sojourn. */
static void pathq_sample(struct ht_qconn *c, ht_time ts)
{
	ngtcp2_conn_stat cs;

	ngtcp2_conn_get_conn_stat(c->conn, &cs);
	if (cs.latest_rtt == c->dq_rtt_seen || cs.latest_rtt == 0)
		return;
	c->dq_rtt_seen = cs.latest_rtt;
	ht_pathq_sample(&c->dq_pathq, ts, cs.latest_rtt);
}

int ht_qconn_input(struct ht_qconn *c, const struct ht_udp_addr *local,
		   const struct ht_udp_addr *remote, const uint8_t *data, size_t len)
{
	ngtcp2_path path;
	ngtcp2_pkt_info pi = {0};
	ht_time ts = ht_now();
	int rv;

	if (c->state == QC_CLOSING) {
		/* Repeat CONNECTION_CLOSE on input, backing off (1, 2, 4, ...). */
		c->close_rx++;
		if ((c->close_rx & (c->close_rx - 1)) == 0)
			ht_qc_send_close_pkt(c);
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
	c->last_rx = ts;
	rv = ngtcp2_conn_read_pkt(c->conn, &path, &pi, data, len, ts);
	switch (rv) {
	case 0:
		if (c->dq_on)
			pathq_sample(c, ts);
		ht_qconn_queue_flush(c);
		break;
	case NGTCP2_ERR_DRAINING:
		ht_qc_conn_drain(c);
		break;
	case NGTCP2_ERR_DROP_CONN:
	case NGTCP2_ERR_RETRY:
		ht_qc_linger(c, QC_DRAINING);
		ht_qc_report_closed(c, HT_QCLOSE_ERROR, false, 0, "dropped by the QUIC stack");
		break;
	case NGTCP2_ERR_DISCARD_PKT:
		break;
	default:
		ht_qc_conn_fail(c, rv);
		break;
	}
	return 0;
}

void ht_qc_on_client_io(struct ht_loop *loop, struct ht_io *io, uint32_t events)
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
	ht_qc_conn_write(c);
	ht_qc_arm_timer(c, false);
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
	struct ht_qdgram *d = NULL;
	bool fin;

	*again = false;
	/* The next datagram, after CoDel dropped those that waited through a
	 * standing queue (ours and the path's). */
	if (c->dq_on && ht_dgq_len(&c->dq) > 0)
		d = ht_dgq_peek(&c->dq, ts, ht_pathq_delay(&c->dq_pathq, ts));
	if (d != NULL) {
		ngtcp2_vec dv = {d->data, d->len};
		int accepted = 0;

		n = ngtcp2_conn_writev_datagram(c->conn, path, pi, p, max, &accepted,
						NGTCP2_WRITE_DATAGRAM_FLAG_MORE, 0, &dv, 1, ts);
		if (accepted || n == NGTCP2_ERR_INVALID_ARGUMENT || n == NGTCP2_ERR_INVALID_STATE) {
			ht_dgq_pop(&c->dq);
			free(d);
		}
		if (n == NGTCP2_ERR_WRITE_MORE || n == NGTCP2_ERR_INVALID_ARGUMENT ||
		    n == NGTCP2_ERR_INVALID_STATE) {
			*again = true;
			return 0;
		}
		return n;
	}
	s = streams_ok ? c->ready : NULL;
	if (s != NULL && c->early == HT_QEARLY_OFFERED && !ngtcp2_conn_get_handshake_completed(c->conn))
		s = ht_qc_early_pick(c);
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
		ht_qc_maybe_writable(c, s);
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
			ht_qc_notify_add(c, s);
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

/* Datagram mode, re-tuned every HT_TXQ_RETUNE: the DATAGRAM queue limit
 * (below), and a client's own socket: hold at most ~4 ms of the
 * delivery rate in the local qdisc and device (SO_SNDBUF), and send
 * batches of ~1 ms — what TCP Small Queues and TSO autosizing do for a TCP
 * socket.  A UDP socket has neither, so QUIC's congestion window would
 * fill a bottleneck qdisc on this host (a shaper on the access link)
 * where neither the tunnelled flows nor CoDel can see it; held back, the
 * queue forms in the DATAGRAM queue instead, where CoDel manages it and
 * sparse flows pass it (dgq.h).  The delivery rate is ngtcp2's maximum of
 * the last rounds, so this never holds the sender below what the path
 * delivered.  4 ms, not TSQ's 1-2: with
 * 2 ms (min 16 KiB) 4 tunnelled flows lost ~4 % of a 50 Mbit/s link on a
 * loaded machine (the qdisc ran dry while the process waited for a CPU);
 * 4 ms gave the link rate back for ~1 ms more delay under load. */
#define HT_TXQ_RETUNE (100 * HT_MS)
#define HT_TXQ_SNDBUF_MIN (32 * 1024)
#define HT_TXQ_SNDBUF_MAX (8 << 20)
static void tune_dgram_queues(struct ht_qconn *c)
{
	ngtcp2_conn_stat cs;
	ht_time now = ht_loop_now(c->loop);
	uint64_t want;

	if (!c->dq_on || now - c->txq_tuned < HT_TXQ_RETUNE)
		return;
	c->txq_tuned = now;
	ngtcp2_conn_get_conn_stat(c->conn, &cs);
	if (cs.delivery_rate_sec == 0)
		return;
	/* The DATAGRAM queue takes CoDel's interval worth of the delivery
	 * rate: a tunnelled flow's slow start overshoots by up to a round
	 * trip of data, and a queue that fills before CoDel's first drop
	 * (100 ms above target) cuts it with a burst of tail drops instead
	 * (one flow over two 50 Mbit/s paths: 128 slots, 2,300-4,700 tail
	 * drops per 10 s; 512: 50-300).  Never below the 128 it starts with,
	 * so memory grows only with a path's rate (~1.3 MB at 100 Mbit/s). */
	want = cs.delivery_rate_sec / (HT_SECONDS / HT_QDGRAM_INTERVAL) / c->set.max_udp_payload;
	ht_dgq_set_limit(&c->dq, want > HT_QDGRAM_QUEUE_MIN ? (size_t)want : HT_QDGRAM_QUEUE_MIN);
	if (c->srv != NULL)
		return; /* a server shares its socket: no per-connection buffer */
	c->txq_batch = (size_t)(cs.delivery_rate_sec / 1000); /* 1 ms */
	want = cs.delivery_rate_sec / 250;                    /* 4 ms */
	if (want < HT_TXQ_SNDBUF_MIN)
		want = HT_TXQ_SNDBUF_MIN;
	if (want > HT_TXQ_SNDBUF_MAX)
		want = HT_TXQ_SNDBUF_MAX;
	ht_udp_set_sndbuf(c->sock, (int)want);
}

static void close_app(struct ht_qconn *c)
{
	ngtcp2_connection_close_error ccerr;

	ngtcp2_connection_close_error_set_application_error(&ccerr, c->close_app_error, NULL, 0);
	ht_qc_conn_close_with(c, &ccerr, HT_QCLOSE_LOCAL, "closed locally");
}

void ht_qc_conn_write(struct ht_qconn *c)
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
	tune_dgram_queues(c);
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
		if (c->txq_batch > 0 && maxsegs > c->txq_batch / max)
			maxsegs = c->txq_batch / max > 2 ? c->txq_batch / max : 2;
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
				ht_qc_conn_fail(c, (int)n);
				return;
			}
			if (n == 0) {
				done = true;
				break;
			}
			npkts++;
			if (c->ping_now) { /* ht_qconn_ping: this packet carries it */
				c->ping_now = false;
				ngtcp2_conn_set_keep_alive_timeout(c->conn, c->set.keep_alive);
			}
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

void ht_qc_arm_timer(struct ht_qconn *c, bool from_timer)
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

void ht_qc_on_timer(struct ht_loop *loop, struct ht_timer *t)
{
	struct ht_qconn *c = t->arg;
	int rv;

	(void)loop;
	if (c->state >= QC_CLOSING) {
		ht_qc_conn_free(c); /* the closing / draining period is over */
		return;
	}
	rv = ngtcp2_conn_handle_expiry(c->conn, ht_now());
	if (rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
		bool idle = rv == NGTCP2_ERR_IDLE_CLOSE && c->hs_done;

		ht_qc_report_closed(c, idle ? HT_QCLOSE_IDLE : HT_QCLOSE_HANDSHAKE, false, 0,
			      idle ? "idle timeout" : "handshake timeout");
		ht_qc_conn_free(c);
		return;
	}
	if (rv != 0) {
		ht_qc_conn_fail(c, rv);
		return;
	}
	ht_qc_conn_write(c);
	ht_qc_arm_timer(c, true);
}

static void run_notifications(struct ht_qconn *c)
{
	while (c->notify != NULL && !ht_qconn_is_gone(c)) {
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

void ht_qc_on_flush(struct ht_loop *loop, struct ht_defer *d)
{
	struct ht_qconn *c = d->arg;

	(void)loop;
	if (c->state >= QC_CLOSING)
		return;
	run_notifications(c);
	ht_qc_conn_write(c);
	ht_qc_arm_timer(c, false);
}
