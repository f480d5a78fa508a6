/* hatun — the stream <-> TCP relay (relay.h). */
#include "tunnel/relay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/log.h"
#include "proto/err.h"
#include "tunnel/tcp.h"

#define READ_CHUNK 65536u
#define READS_PER_EVENT 4
#define PEND_MIN 65536u

static size_t live_relays;

size_t ht_relay_live_count(void)
{
	return live_relays;
}

static void relay_timer_cb(struct ht_loop *loop, struct ht_timer *t);
static void relay_io_cb(struct ht_loop *loop, struct ht_io *io, uint32_t ev);
static void relay_wflush_cb(struct ht_loop *loop, struct ht_defer *d);

void ht_relay_init(struct ht_relay *r, struct ht_loop *loop, const struct ht_relay_hooks *hooks,
		   ht_time idle_timeout)
{
	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->hooks = hooks;
	r->sid = -1;
	r->fd = -1;
	r->io.fd = -1;
	r->idle_timeout = idle_timeout;
	r->deadline = HT_TIME_NEVER;
	r->started = r->last_active = ht_loop_now(loop);
	ht_timer_init(&r->timer, relay_timer_cb, r);
	ht_defer_init(&r->wflush, relay_wflush_cb, r);
	live_relays++;
}

static void arm_timer(struct ht_relay *r)
{
	ht_time t = r->deadline;

	if (r->idle_timeout > 0 && r->last_active + r->idle_timeout < t)
		t = r->last_active + r->idle_timeout;
	if (t == HT_TIME_NEVER)
		ht_timer_cancel(r->loop, &r->timer);
	else if (!ht_timer_armed(&r->timer) || r->timer.deadline > t)
		(void)ht_timer_set(r->loop, &r->timer, t);
}

int ht_relay_attach(struct ht_relay *r, struct ht_qconn *qc, int64_t sid, bool peer_opened)
{
	int rv;

	r->hdr = malloc(sizeof(*r->hdr));
	if (r->hdr == NULL)
		return HT_QERR_NOMEM;
	qt_stream_parser_init(r->hdr, peer_opened);
	rv = ht_qconn_stream_set_user(qc, sid, r);
	if (rv != 0) {
		free(r->hdr);
		r->hdr = NULL;
		return rv;
	}
	r->qc = qc;
	r->sid = sid;
	r->last_active = ht_loop_now(r->loop);
	arm_timer(r);
	return 0;
}

void ht_relay_set_deadline(struct ht_relay *r, ht_time deadline)
{
	r->deadline = deadline;
	if (deadline == HT_TIME_NEVER)
		ht_timer_cancel(r->loop, &r->timer);
	arm_timer(r);
}

static void detach(struct ht_relay *r, bool reset)
{
	if (r->qc != NULL && r->sid >= 0) {
		if (reset)
			(void)ht_qconn_stream_reset(r->qc, r->sid, QT_STREAM_RESET_TCP_CONNECTION_RESET);
		(void)ht_qconn_stream_set_user(r->qc, r->sid, NULL);
	}
	r->qc = NULL;
	r->sid = -1;
}

void ht_relay_close(struct ht_relay *r, unsigned how, const char *reason)
{
	if (r->closed)
		return;
	r->closed = true;
	ht_io_stop(r->loop, &r->io);
	ht_timer_cancel(r->loop, &r->timer);
	ht_defer_cancel(r->loop, &r->wflush);
	if (r->qc != NULL && HT_LOG_ENABLED(HT_LOG_DEBUG)) {
		struct ht_qconn_stats st;

		ht_qconn_get_stats(r->qc, &st);
		ht_log(HT_LOG_DEBUG, "relay",
		       "%s: quic srtt %llu us cwnd %llu in flight %llu lost %llu sent %llu recv %llu; pending %zu",
		       r->name, (unsigned long long)(st.smoothed_rtt / 1000),
		       (unsigned long long)st.cwnd, (unsigned long long)st.bytes_in_flight,
		       (unsigned long long)st.lost_pkts, (unsigned long long)st.bytes_sent,
		       (unsigned long long)st.bytes_received, r->pend_len);
	}
	if (r->fd >= 0) {
		if (how & HT_RELAY_RST_TCP)
			ht_tcp_close_reset(r->fd);
		else
			close(r->fd);
		r->fd = -1;
	}
	detach(r, (how & HT_RELAY_RESET_STREAM) != 0);
	free(r->hdr);
	r->hdr = NULL;
	free(r->pend);
	r->pend = NULL;
	r->pend_len = r->pend_cap = r->pend_off = 0;
	if (!(how & HT_RELAY_QUIET)) {
		ht_time d = ht_loop_now(r->loop) - r->started;

		ht_log(HT_LOG_INFO, "relay",
		       "%s closed: %llu bytes tcp->quic, %llu bytes quic->tcp, %llu.%03llu s, %s",
		       r->name, (unsigned long long)r->up, (unsigned long long)r->down,
		       (unsigned long long)(d / HT_SECONDS),
		       (unsigned long long)(d % HT_SECONDS / HT_MS), reason);
	}
	live_relays--;
	r->hooks->done(r);
}

void ht_relay_conn_lost(struct ht_relay *r, const char *reason)
{
	r->qc = NULL;
	r->sid = -1;
	ht_relay_close(r, HT_RELAY_RST_TCP, reason);
}

/* Recompute what to watch on the socket.  A socket nobody needs is not
 * watched at all, so a level-triggered EPOLLHUP cannot spin. */
static void update_events(struct ht_relay *r)
{
	uint32_t ev = 0;

	if (r->fd < 0 || r->closed)
		return;
	if (r->owner_io)
		return;
	if (r->tcp_read && !r->tx_fin && r->qc != NULL &&
	    ht_qconn_stream_send_room(r->qc, r->sid) > 0)
		ev |= EPOLLIN;
	if (r->pend_len > 0 && r->tcp_write)
		ev |= EPOLLOUT;
	if (ev == 0) {
		ht_io_stop(r->loop, &r->io);
		return;
	}
	if (r->io.active)
		(void)ht_io_modify(r->loop, &r->io, ev);
	else if (ht_io_start(r->loop, &r->io, r->fd, ev, relay_io_cb, r) != 0)
		ht_relay_close(r, HT_RELAY_RST_TCP | HT_RELAY_RESET_STREAM, "epoll failed");
}

int ht_relay_set_fd(struct ht_relay *r, int fd)
{
	r->fd = fd;
	return 0;
}

int ht_relay_watch(struct ht_relay *r, uint32_t events)
{
	r->owner_io = true;
	if (events == 0) {
		ht_io_stop(r->loop, &r->io);
		return 0;
	}
	if (r->io.active)
		return ht_io_modify(r->loop, &r->io, events);
	return ht_io_start(r->loop, &r->io, r->fd, events, relay_io_cb, r);
}

/* Both directions finished cleanly: close the socket with FIN. */
static bool check_done(struct ht_relay *r)
{
	if (r->closed)
		return true;
	if (r->tx_fin && r->wr_shut && r->pend_len == 0) {
		ht_relay_close(r, 0, "closed by both ends");
		return true;
	}
	return false;
}

static void tcp_error(struct ht_relay *r, int e)
{
	char why[64];

	snprintf(why, sizeof(why), "tcp %s", e == ECONNRESET || e == EPIPE ? "reset" : strerror(e));
	ht_relay_close(r, HT_RELAY_RST_TCP | HT_RELAY_RESET_STREAM, why);
}

static void consumed(struct ht_relay *r, size_t n)
{
	if (n > 0 && r->qc != NULL && r->sid >= 0)
		(void)ht_qconn_stream_consumed(r->qc, r->sid, n);
}

static void shut_wr(struct ht_relay *r)
{
	if (r->wr_shut || r->fd < 0 || !r->tcp_write)
		return;
	r->wr_shut = true;
	(void)shutdown(r->fd, SHUT_WR);
}

/* Write pending bytes.  Returns false if r ended. */
static bool flush_pending(struct ht_relay *r)
{
	while (r->pend_len > 0) {
		ssize_t n = send(r->fd, r->pend + r->pend_off, r->pend_len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			tcp_error(r, errno);
			return false;
		}
		r->pend_off += (size_t)n;
		r->pend_len -= (size_t)n;
		r->down += (size_t)n;
		r->last_active = ht_loop_now(r->loop);
		consumed(r, (size_t)n);
	}
	if (r->pend_len == 0) {
		free(r->pend);
		r->pend = NULL;
		r->pend_cap = r->pend_off = 0;
		if (r->rx_fin)
			shut_wr(r);
	}
	return !check_done(r);
}

static int pend_append(struct ht_relay *r, const uint8_t *d, size_t len)
{
	if (r->pend_off > 0 && r->pend_off + r->pend_len + len > r->pend_cap) {
		memmove(r->pend, r->pend + r->pend_off, r->pend_len);
		r->pend_off = 0;
	}
	if (r->pend_len + len > r->pend_cap) {
		size_t cap = r->pend_cap ? r->pend_cap * 2 : PEND_MIN;
		uint8_t *p;

		while (cap < r->pend_len + len)
			cap *= 2;
		p = realloc(r->pend, cap);
		if (p == NULL)
			return -1;
		r->pend = p;
		r->pend_cap = cap;
	}
	memcpy(r->pend + r->pend_off + r->pend_len, d, len);
	r->pend_len += len;
	return 0;
}

/* Bytestream from the stream (after the header).  The bytes of one loop
 * batch (every QUIC packet read in it) are gathered in r->pend and written
 * with one send() when the batch ends: one syscall per ~1.4 KB packet was
 * the concentrator's main cost.  pend stays bounded by the stream's flow-
 * control window, since bytes are reported consumed only once written. */
static void deliver(struct ht_relay *r, const uint8_t *data, size_t len, bool fin)
{
	bool was_empty = r->pend_len == 0;

	if (fin)
		r->rx_fin = true;
	if (len > 0 && pend_append(r, data, len) != 0) {
		ht_relay_close(r, HT_RELAY_RST_TCP | HT_RELAY_RESET_STREAM, "out of memory");
		return;
	}
	if (len > 0 && r->owner_io && r->hooks->owner_data != NULL) {
		r->hooks->owner_data(r);
		if (r->closed)
			return;
	}
	/* Not empty before: a flush is queued already, or the socket is full
	 * and EPOLLOUT will flush. */
	if (r->tcp_write && r->fd >= 0 && (was_empty || fin))
		ht_defer_queue(r->loop, &r->wflush);
	if (r->wflush.queued)
		return; /* relay_wflush_cb updates the events */
	if (check_done(r))
		return;
	update_events(r);
}

static void relay_wflush_cb(struct ht_loop *loop, struct ht_defer *d)
{
	struct ht_relay *r = d->arg;

	(void)loop;
	if (r->closed || r->fd < 0 || !r->tcp_write)
		return;
	if (!flush_pending(r))
		return;
	update_events(r);
}

int ht_relay_start(struct ht_relay *r, bool write, bool read)
{
	r->tcp_write = write;
	r->tcp_read = read;
	r->owner_io = false;
	if (r->tcp_write && r->pend_len > 0 && !flush_pending(r))
		return -1;
	if (r->tcp_write && r->rx_fin && r->pend_len == 0) {
		shut_wr(r);
		if (check_done(r))
			return -1;
	}
	update_events(r);
	return r->closed ? -1 : 0;
}

const uint8_t *ht_relay_pending(const struct ht_relay *r, size_t *len)
{
	*len = r->pend_len;
	return r->pend != NULL ? r->pend + r->pend_off : NULL;
}

void ht_relay_pending_written(struct ht_relay *r, size_t n)
{
	if (n > r->pend_len)
		n = r->pend_len;
	r->pend_off += n;
	r->pend_len -= n;
	r->down += n;
	consumed(r, n);
}

int ht_relay_send_raw(struct ht_relay *r, const uint8_t *buf, size_t len, bool fin)
{
	ssize_t n;

	if (r->qc == NULL || r->sid < 0)
		return -1;
	n = ht_qconn_stream_send(r->qc, r->sid, buf, len, fin);
	return n == (ssize_t)len ? 0 : -1;
}

/* TCP -> stream: readv() straight into the stream's send buffer (no bounce
 * copy), up to READ_CHUNK per call. */
static void tcp_readable(struct ht_relay *r)
{
	for (int i = 0; i < READS_PER_EVENT; i++) {
		struct iovec iov[HT_QCONN_RESERVE_IOV];
		size_t room = 0;
		ssize_t n;
		int niov = ht_qconn_stream_reserve(r->qc, r->sid, iov, HT_QCONN_RESERVE_IOV,
						   READ_CHUNK);

		if (niov <= 0)
			break;
		for (int k = 0; k < niov; k++)
			room += iov[k].iov_len;
		do
			n = readv(r->fd, iov, niov);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			int e = errno;

			(void)ht_qconn_stream_commit(r->qc, r->sid, 0);
			if (n < 0 && (e == EAGAIN || e == EWOULDBLOCK))
				break;
			if (n < 0) {
				tcp_error(r, e);
				return;
			}
		}
		if (n == 0) {
			r->tx_fin = true;
			if (ht_qconn_stream_send(r->qc, r->sid, NULL, 0, true) < 0) {
				ht_relay_close(r, HT_RELAY_RST_TCP | HT_RELAY_RESET_STREAM,
					       "stream refused FIN");
				return;
			}
			if (check_done(r))
				return;
			break;
		}
		if (ht_qconn_stream_commit(r->qc, r->sid, (size_t)n) != n) {
			ht_relay_close(r, HT_RELAY_RST_TCP | HT_RELAY_RESET_STREAM,
				       "stream send failed");
			return;
		}
		r->up += (size_t)n;
		r->last_active = ht_loop_now(r->loop);
		if ((size_t)n < room)
			break;
	}
	update_events(r);
}

static void relay_io_cb(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct ht_relay *r = io->arg;

	(void)loop;
	if (r->owner_io) {
		r->hooks->owner_io(r, ev);
		return;
	}
	if ((ev & EPOLLERR) && !(ev & (EPOLLIN | EPOLLOUT))) {
		int e = 0;
		socklen_t l = sizeof(e);

		(void)getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &e, &l);
		tcp_error(r, e ? e : ECONNRESET);
		return;
	}
	if ((ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && r->pend_len > 0 && r->tcp_write) {
		if (!flush_pending(r))
			return;
	}
	if ((ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) && r->tcp_read && !r->tx_fin && r->qc != NULL) {
		tcp_readable(r);
		return;
	}
	update_events(r);
}

static void relay_timer_cb(struct ht_loop *loop, struct ht_timer *t)
{
	struct ht_relay *r = t->arg;
	ht_time now = ht_loop_now(loop);

	if (r->deadline != HT_TIME_NEVER && now >= r->deadline) {
		r->deadline = HT_TIME_NEVER;
		r->hooks->timeout(r);
		return;
	}
	if (r->idle_timeout > 0 && now >= r->last_active + r->idle_timeout) {
		ht_relay_close(r, HT_RELAY_RST_TCP | HT_RELAY_RESET_STREAM, "idle timeout");
		return;
	}
	arm_timer(r);
}

/* ---- stream events ------------------------------------------------------------ */

void ht_relay_on_stream_data(struct ht_qconn *c, void *user, int64_t sid, const uint8_t *data,
			     size_t len, bool fin)
{
	struct ht_relay *r = ht_qconn_stream_user(c, sid);
	int rc;

	(void)user;
	if (r == NULL) {
		(void)ht_qconn_stream_consumed(c, sid, len);
		return;
	}
	if (len > 0)
		r->last_active = ht_loop_now(r->loop);
	if (r->hdr != NULL) {
		rc = qt_stream_parser_feed(r->hdr, data, len, fin);
		if (rc == HT_ERR_NEED_MORE) {
			consumed(r, len);
			return;
		}
		if (rc < 0) {
			consumed(r, len);
			r->hooks->header_error(r, rc, r->hdr);
			return;
		}
		struct qt_stream_info info = r->hdr->info;

		consumed(r, (size_t)rc);
		free(r->hdr);
		r->hdr = NULL;
		/* The bytes behind End go to the pending buffer before the
		 * header hook runs, so that the concentrator can put them in
		 * its SYN (TCP Fast Open, ht_relay_pending). */
		deliver(r, data + rc, len - (size_t)rc, fin);
		if (r->closed || r->hooks->header(r, &info) != 0 || r->closed)
			return;
		/* The hook may have opened the way to the socket (the client
		 * on Connect OK): write what waits, or the FIN. */
		if (r->tcp_write && r->fd >= 0 && (r->pend_len > 0 || r->rx_fin))
			ht_defer_queue(r->loop, &r->wflush);
		else if (!check_done(r))
			update_events(r);
		return;
	}
	deliver(r, data, len, fin);
}

static void stream_aborted(struct ht_qconn *c, int64_t sid, uint64_t app_error, const char *what)
{
	struct ht_relay *r = ht_qconn_stream_user(c, sid);
	char why[64];

	if (r == NULL)
		return;
	if (r->hdr != NULL && r->hooks->early_reset != NULL) {
		r->hooks->early_reset(r, app_error);
		return;
	}
	if (app_error == HT_QCONN_APP_ERROR_UNKNOWN)
		snprintf(why, sizeof(why), "%s received", what);
	else
		snprintf(why, sizeof(why), "%s 0x%llx received", what, (unsigned long long)app_error);
	ht_relay_close(r, HT_RELAY_RST_TCP | HT_RELAY_RESET_STREAM, why);
}

void ht_relay_on_stream_reset(struct ht_qconn *c, void *user, int64_t sid, uint64_t app_error)
{
	(void)user;
	stream_aborted(c, sid, app_error, "RESET_STREAM");
}

void ht_relay_on_stream_stop(struct ht_qconn *c, void *user, int64_t sid, uint64_t app_error)
{
	(void)user;
	stream_aborted(c, sid, app_error, "STOP_SENDING");
}

void ht_relay_on_stream_writable(struct ht_qconn *c, void *user, int64_t sid)
{
	struct ht_relay *r = ht_qconn_stream_user(c, sid);

	(void)user;
	if (r != NULL && !r->closed)
		update_events(r);
}

void ht_relay_on_stream_closed(struct ht_qconn *c, void *user, int64_t sid)
{
	struct ht_relay *r = ht_qconn_stream_user(c, sid);

	(void)user;
	if (r == NULL)
		return;
	(void)ht_qconn_stream_set_user(c, sid, NULL);
	r->qc = NULL;
	r->sid = -1;
	if (!r->rx_fin || !r->tx_fin) {
		ht_relay_close(r, HT_RELAY_RST_TCP, "stream closed");
		return;
	}
	if (!check_done(r))
		update_events(r);
}
