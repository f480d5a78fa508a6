/* hatun — the client's access paths and its tunneling session (cpaths.h). */
#include "tunnel/cpaths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "proto/addr.h"
#include "proto/err.h"
#include "proto/qt_ctrl.h"
#include "tunnel/ctrlstream.h"
#include "tunnel/dgram_client.h"
#include "tunnel/relay.h"
#include "tunnel/status.h"
#include "tunnel/tcp.h"

#define BACKOFF_MIN (250 * HT_MS) /* one path: reconnect backoff, as before */
#define BACKOFF_MAX (30 * HT_SECONDS)
#define TICK (25 * HT_MS)             /* several paths: how often liveness looks */
#define TICK_BUSY (5 * HT_MS)         /* ... while a path receives (the quick rule) */
#define SCHED_REFRESH (1 * HT_MS)     /* the scheduler's view of the windows, */
#define SCHED_REFRESH_PICKS 8         /* at least this often (a TSO burst) */
#define REJOIN_MAX (25 * HT_SECONDS)  /* below the concentrator's 30 s linger */
#define PATH_KEEPALIVE (1 * HT_SECONDS)
#define BUSY_KEEPALIVE_MIN (30 * HT_MS)
#define BUSY_BYTES 4096 /* received in a tick: more than PINGs and ACKs */
#define PATH_HANDSHAKE_TIMEOUT (4 * HT_SECONDS)
#define DGRAM_GUESS 1200 /* bytes per queued DATAGRAM, for the scheduler */

struct cp_conn {
	struct ht_cpaths *ps;
	struct ht_qconn *qc; /* NULL: a free slot */
	unsigned slot;
	int home;         /* the path it was opened on */
	int path;         /* the path whose network it runs over now */
	bool up;          /* handshake done */
	bool negotiating; /* our New Session / Join is out */
	bool waiting;     /* up, waiting for the session ID to join */
	bool in_session;  /* New Session answered or Join confirmed */
	bool dg_in;       /* announced to the datagram layer */
	bool draining;    /* migrated off its failed path: no new traffic */
	bool ctrl_on;
	struct ht_ctrl ctrl;
	ht_time seen_rx, seen_tx;
	uint64_t rx_mark;    /* bytes received at the last tick */
	ht_time busy_until;  /* received data recently: probe silence quickly */
	ht_time ka;          /* the keep-alive set on the connection now */
	uint64_t bytes_mark; /* bytes sent + received at the last share update */
	int share;           /* % of the session's bytes over the last second */
};

struct cp_path {
	struct ht_pathspec spec;
	struct sockaddr_storage local;
	socklen_t local_len;
	int conn; /* its own connection's slot, -1: none */
	struct ht_liveness live;
};

struct ht_cpaths {
	struct ht_loop *loop;
	struct ht_cpaths_config cfg;
	const struct ht_cpaths_hooks *hooks;
	void *arg;
	struct ht_dgclient *dg;
	struct cp_path path[HT_CPATHS_MAX];
	unsigned npath;
	bool multi, stopping;
	struct cp_conn conn[HT_CPATHS_CONNS];
	struct ht_timer tick; /* several paths: liveness; one: reconnect */
	ht_time backoff;      /* one path */
	struct ht_sched sched;
	ht_time sched_at;
	unsigned picks_since; /* datagrams placed since sched_at */
	uint8_t sid[QT_CTRL_SESSION_ID_MAX];
	size_t sid_len;
	ht_time session_lost; /* the last connection in the session went (0: not) */
	bool new_pending;     /* a New Session is out */
	ht_time share_at;     /* last update of the connections' shares */
};

static const struct ht_qconn_ops cp_ops;
static const struct ht_ctrl_ops cp_ctrl_ops;

static const char *path_name(const struct ht_cpaths *ps, int i)
{
	return i >= 0 && ps->path[i].spec.name[0] != '\0' ? ps->path[i].spec.name : "default";
}

static unsigned conns_in_session(const struct ht_cpaths *ps)
{
	unsigned n = 0;

	for (unsigned i = 0; i < HT_CPATHS_CONNS; i++)
		n += ps->conn[i].qc != NULL && ps->conn[i].in_session;
	return n;
}

/* ---- connecting ------------------------------------------------------------------- */

static void schedule_single_reconnect(struct ht_cpaths *ps)
{
	if (ps->stopping)
		return;
	ht_log(HT_LOG_INFO, "client", "reconnecting to %s in %llu ms", ps->cfg.server_str,
	       (unsigned long long)(ps->backoff / HT_MS));
	(void)ht_timer_set(ps->loop, &ps->tick, ht_loop_now(ps->loop) + ps->backoff);
	ps->backoff *= 2;
	if (ps->backoff > BACKOFF_MAX)
		ps->backoff = BACKOFF_MAX;
}

static void path_connect(struct ht_cpaths *ps, unsigned i)
{
	struct cp_path *p = &ps->path[i];
	struct ht_qconn_client_args a = {
		.remote = (const struct sockaddr *)&ps->cfg.server,
		.remote_len = ps->cfg.server_len,
		.tls = ps->cfg.tls,
		.ops = &cp_ops,
		.ticket_file = ps->cfg.ticket_file,
		.set = &ps->cfg.set,
	};
	struct cp_conn *c = NULL;
	int rv;

	if (ps->stopping || p->conn >= 0)
		return;
	for (unsigned s = 0; s < HT_CPATHS_CONNS && c == NULL; s++)
		if (ps->conn[s].qc == NULL)
			c = &ps->conn[s];
	if (c == NULL) {
		/* Every slot holds a connection still draining streams. */
		ht_log(HT_LOG_WARN, "client", "path %s: %u connections open, waiting",
		       path_name(ps, (int)i), HT_CPATHS_CONNS);
		ht_liveness_closed(&p->live, ht_loop_now(ps->loop));
		return;
	}
	memset(c, 0, sizeof(*c));
	c->ps = ps;
	c->slot = (unsigned)(c - ps->conn);
	c->home = c->path = (int)i;
	a.user = c;
	if (p->local_len > 0) {
		a.local = (const struct sockaddr *)&p->local;
		a.local_len = p->local_len;
	}
	if (p->spec.dev[0] != '\0')
		a.ifname = p->spec.dev;
	rv = ht_qconn_connect(&c->qc, ps->loop, &a);
	if (rv != 0) {
		c->qc = NULL;
		ht_log(HT_LOG_WARN, "client", "%s%s%scannot connect to %s: %s",
		       ps->multi ? "path " : "", ps->multi ? path_name(ps, (int)i) : "",
		       ps->multi ? ": " : "", ps->cfg.server_str,
		       rv < 0 && rv > -4096 ? strerror(-rv) : ht_qerr_str(rv));
		if (ps->multi)
			ht_liveness_closed(&p->live, ht_loop_now(ps->loop));
		else
			schedule_single_reconnect(ps);
		return;
	}
	p->conn = (int)c->slot;
	/* Resuming: streams may go in 0-RTT (docs/QUIC.md). */
	if (ht_qconn_can_open_early(c->qc))
		ps->hooks->streams_ready(ps->arg);
}

/* ---- the session ------------------------------------------------------------------ */

/* The concentrator schedules the session's downstream datagrams: tell it
 * our policy and this path's backup flag and weight (sessions.md, "Path
 * Preference"; a concentrator that does not know the TLV skips it). */
static int send_path_pref(struct ht_cpaths *ps, struct cp_conn *c)
{
	static const uint8_t wire[] = {
	    [HT_SCHED_MIN_RTT] = QT_EXT_SCHED_MIN_RTT,
	    [HT_SCHED_WEIGHTED] = QT_EXT_SCHED_WEIGHTED,
	    [HT_SCHED_REDUNDANT] = QT_EXT_SCHED_REDUNDANT,
	    [HT_SCHED_BACKUP_ONLY] = QT_EXT_SCHED_BACKUP_ONLY,
	};
	const struct ht_pathspec *spec = &ps->path[c->home].spec;
	struct qt_ext_path_pref pref = {
	    .scheduler = wire[ps->cfg.policy],
	    .backup = spec->backup,
	    .weight = (uint16_t)spec->weight, /* ht_pathspec_parse: 1 .. 1000 */
	};

	return ht_ctrl_send_path_pref(&c->ctrl, &pref);
}

static void negotiate(struct cp_conn *c)
{
	struct ht_cpaths *ps = c->ps;
	struct qt_ext_request req;
	bool have_req = ht_dgclient_address_request(ps->dg, &req);
	ht_time now = ht_loop_now(ps->loop);
	int rv;

	if (ps->sid_len > 0 && ps->session_lost != 0 && now - ps->session_lost > REJOIN_MAX)
		ps->sid_len = 0; /* expired at the concentrator by now */
	if (ps->sid_len > 0) {
		rv = ht_ctrl_client_join(&c->ctrl, ps->sid, ps->sid_len, have_req ? &req : NULL);
	} else if (ps->new_pending) {
		c->waiting = true; /* join once the ID is known */
		return;
	} else {
		rv = ht_ctrl_client_start(&c->ctrl, have_req ? &req : NULL);
		ps->new_pending = rv == 0;
	}
	c->waiting = false;
	if (rv == 0 && ps->multi && c->ctrl.ext)
		rv = send_path_pref(ps, c);
	if (rv != 0) {
		ht_log(HT_LOG_WARN, "client", "path %s: cannot open the control stream: %s",
		       path_name(ps, c->path), rv <= -1000 ? ht_qerr_str(rv) : ht_strerror(rv));
		ht_qconn_close(c->qc, 0);
		return;
	}
	c->negotiating = true;
}

static void path_established(struct ht_cpaths *ps, struct cp_conn *c)
{
	struct cp_path *p = &ps->path[c->home];

	if (p->conn == (int)c->slot && p->live.state == HT_PATH_VALIDATING)
		ht_liveness_established(&p->live, ht_loop_now(ps->loop));
	if (!c->dg_in) {
		c->dg_in = true;
		ht_dgclient_conn_in(ps->dg, c->slot, c->qc);
	}
}

static void on_session(struct ht_ctrl *k, void *user, const uint8_t *id, size_t len)
{
	struct cp_conn *c = user;
	struct ht_cpaths *ps = c->ps;

	(void)k;
	c->negotiating = false;
	c->in_session = true;
	ps->session_lost = 0;
	if (len > 0) {
		memcpy(ps->sid, id, len);
		ps->sid_len = len;
		ps->new_pending = false;
		ht_log(HT_LOG_INFO, "client", "%s%s%stunneling session started (ID of %zu bytes)",
		       ps->multi ? "path " : "", ps->multi ? path_name(ps, c->path) : "",
		       ps->multi ? ": " : "", len);
		for (unsigned i = 0; i < HT_CPATHS_CONNS; i++)
			if (ps->conn[i].qc != NULL && ps->conn[i].waiting)
				negotiate(&ps->conn[i]);
	} else {
		ht_log(HT_LOG_INFO, "client", "path %s: joined the session (%u connections)",
		       path_name(ps, c->path), conns_in_session(ps));
	}
	path_established(ps, c);
}

static void on_config(struct ht_ctrl *k, void *user, const struct qt_ext_config *cfg)
{
	struct cp_conn *c = user;

	(void)k;
	ht_dgclient_config(c->ps->dg, c->qc, cfg);
}

static void on_ctrl_failed(struct ht_ctrl *k, void *user, int err, const char *what)
{
	struct cp_conn *c = user;
	struct ht_cpaths *ps = c->ps;

	ht_log(HT_LOG_WARN, "client", "path %s: control stream: %s (%s); closing the connection",
	       path_name(ps, c->path), what,
	       err <= -1000 ? ht_qerr_str(err) : ht_strerror(err));
	/* A Join refused as unknown: the session expired (every path was down
	 * for longer than the linger).  The next connection starts a new one. */
	if (k->join_len > 0 && k->peer_reset == QT_CTRL_UNKNOWN_SESSION_ID &&
	    conns_in_session(ps) == 0)
		ps->sid_len = 0;
	ht_qconn_close(c->qc, 0);
}

static const struct ht_ctrl_ops cp_ctrl_ops = {
	.session = on_session,
	.config = on_config,
	.failed = on_ctrl_failed,
};

/* ---- QUIC events -------------------------------------------------------------------- */

static void on_handshake_done(struct ht_qconn *qc, void *user)
{
	struct cp_conn *c = user;
	struct ht_cpaths *ps = c->ps;
	enum ht_qconn_early e = ht_qconn_early_state(qc);

	c->up = true;
	ps->backoff = BACKOFF_MIN;
	ht_log(HT_LOG_INFO, "client", "%s%s%stunnel to %s up (alpn %s%s)", ps->multi ? "path " : "",
	       ps->multi ? path_name(ps, c->path) : "", ps->multi ? ": " : "", ps->cfg.server_str,
	       ht_qconn_alpn(qc),
	       e == HT_QEARLY_ACCEPTED	 ? ", 0-RTT accepted"
	       : e == HT_QEARLY_REJECTED ? ", 0-RTT rejected"
					 : "");
	ht_ctrl_init(&c->ctrl, qc, QT_CTRL_CLIENT, &cp_ctrl_ops, c);
	c->ctrl_on = true;
	if (!c->ctrl.active) {
		/* qt-00: no control streams, hence no sessions. */
		if (ps->multi)
			ht_log(HT_LOG_WARN, "client",
			       "path %s: ALPN %s has no sessions: the paths cannot be bonded",
			       path_name(ps, c->path), ht_qconn_alpn(qc));
		c->in_session = true;
		path_established(ps, c);
	} else {
		negotiate(c);
	}
	ps->hooks->streams_ready(ps->arg);
}

static void on_closed(struct ht_qconn *qc, void *user, const struct ht_qconn_close_info *info)
{
	struct cp_conn *c = user;
	struct ht_cpaths *ps = c->ps;
	struct cp_path *p = &ps->path[c->home];
	bool was_new = c->negotiating && c->ctrl.join_len == 0;

	if (c->home != c->path)
		ht_log(HT_LOG_INFO, "client",
		       "path %s: its connection (moved to path %s) closed: %s", path_name(ps, c->home),
		       path_name(ps, c->path), info->text != NULL ? info->text : "closed");
	else
		ht_log(ps->stopping ? HT_LOG_INFO : HT_LOG_WARN, "client", "%s%s%stunnel to %s %s: %s",
		       ps->multi ? "path " : "", ps->multi ? path_name(ps, c->path) : "",
		       ps->multi ? ": " : "", ps->cfg.server_str, c->up ? "lost" : "not established",
		       info->text != NULL ? info->text : "closed");
	ps->hooks->conn_gone(ps->arg, qc);
	if (c->dg_in)
		ht_dgclient_conn_out(ps->dg, c->slot);
	if (p->conn == (int)c->slot) {
		p->conn = -1;
		if (ps->multi && !ps->stopping)
			ht_liveness_closed(&p->live, ht_loop_now(ps->loop));
	}
	memset(c, 0, sizeof(*c));
	/* The scheduler's view may still hold this slot as usable until its
	 * next refresh: drop it now, before another packet is placed. */
	ps->sched.path[c - ps->conn].usable = false;
	ps->sched_at = 0;
	if (conns_in_session(ps) == 0 && ps->sid_len > 0 && ps->session_lost == 0)
		ps->session_lost = ht_loop_now(ps->loop);
	if (was_new) {
		ps->new_pending = false;
		for (unsigned i = 0; i < HT_CPATHS_CONNS; i++)
			if (ps->conn[i].qc != NULL && ps->conn[i].waiting) {
				negotiate(&ps->conn[i]);
				break;
			}
	}
	if (!ps->multi)
		schedule_single_reconnect(ps);
}

static void on_stream_open(struct ht_qconn *qc, void *user, int64_t sid)
{
	(void)user;
	/* The concentrator has no reason to open streams towards us. */
	(void)ht_qconn_stream_reset(qc, sid, QT_STREAM_RESET_TCP_CONNECTION_RESET);
}

static void on_uni_open(struct ht_qconn *qc, void *user, int64_t sid)
{
	struct cp_conn *c = user;

	if (!c->ctrl_on || !ht_ctrl_on_uni_open(&c->ctrl, sid))
		(void)ht_qconn_stream_stop_sending(qc, sid, 0);
}

static void on_stream_data(struct ht_qconn *qc, void *user, int64_t sid, const uint8_t *data,
			   size_t len, bool fin)
{
	struct cp_conn *c = user;

	if (c->ctrl_on && ht_ctrl_on_data(&c->ctrl, sid, data, len, fin))
		return;
	ht_relay_on_stream_data(qc, user, sid, data, len, fin);
}

static void on_stream_reset(struct ht_qconn *qc, void *user, int64_t sid, uint64_t code)
{
	struct cp_conn *c = user;

	if (c->ctrl_on && ht_ctrl_on_reset(&c->ctrl, sid, code))
		return;
	ht_relay_on_stream_reset(qc, user, sid, code);
}

static void on_stream_stop(struct ht_qconn *qc, void *user, int64_t sid, uint64_t code)
{
	struct cp_conn *c = user;

	if (c->ctrl_on && ht_ctrl_on_closed(&c->ctrl, sid))
		return;
	ht_relay_on_stream_stop(qc, user, sid, code);
}

static void on_stream_closed(struct ht_qconn *qc, void *user, int64_t sid)
{
	struct cp_conn *c = user;

	if (c->ctrl_on && ht_ctrl_on_closed(&c->ctrl, sid))
		return;
	ht_relay_on_stream_closed(qc, user, sid);
}

static void on_streams_available(struct ht_qconn *qc, void *user)
{
	struct cp_conn *c = user;

	(void)qc;
	c->ps->hooks->streams_ready(c->ps->arg);
}

static void on_datagram(struct ht_qconn *qc, void *user, const uint8_t *data, size_t len)
{
	struct cp_conn *c = user;

	(void)qc;
	ht_dgclient_datagram(c->ps->dg, c->slot, data, len);
}

static const struct ht_qconn_ops cp_ops = {
	.handshake_done = on_handshake_done,
	.stream_open = on_stream_open,
	.uni_stream_open = on_uni_open,
	.stream_data = on_stream_data,
	.stream_reset = on_stream_reset,
	.stream_stop_sending = on_stream_stop,
	.stream_writable = ht_relay_on_stream_writable,
	.stream_closed = on_stream_closed,
	.datagram = on_datagram,
	.streams_available = on_streams_available,
	.closed = on_closed,
};

/* ---- liveness (several paths) ------------------------------------------------------------ */

/* The surviving path a failed path's connection moves to: alive, its own
 * connection up, the lowest RTT; primary paths before backup ones. */
static int best_surviving_path(struct ht_cpaths *ps, unsigned failed)
{
	int best = -1;
	bool best_backup = true;
	ht_time best_rtt = 0;

	for (unsigned i = 0; i < ps->npath; i++) {
		struct cp_path *p = &ps->path[i];
		struct ht_qconn_pathinfo pi;

		if (i == failed || p->conn < 0 || !ps->conn[p->conn].up ||
		    (p->live.state != HT_PATH_ACTIVE && p->live.state != HT_PATH_STANDBY))
			continue;
		ht_qconn_get_pathinfo(ps->conn[p->conn].qc, &pi);
		if (best < 0 || (best_backup && !p->spec.backup) ||
		    (best_backup == p->spec.backup && pi.srtt < best_rtt)) {
			best = (int)i;
			best_backup = p->spec.backup;
			best_rtt = pi.srtt;
		}
	}
	return best;
}

static void path_failed(struct ht_cpaths *ps, unsigned i)
{
	struct cp_path *p = &ps->path[i];
	struct cp_conn *c = p->conn >= 0 ? &ps->conn[p->conn] : NULL;
	struct ht_qconn_pathinfo pi;
	int to;
	int rv;

	ht_log(HT_LOG_WARN, "client", "path %s failed: nothing received for %llu ms (%s)",
	       path_name(ps, (int)i),
	       (unsigned long long)((ht_loop_now(ps->loop) - p->live.last_rx) / HT_MS),
	       p->live.quick_failed != 0 ? "busy, then silent, PING unanswered"
					 : "ack-eliciting packets unanswered");
	if (c == NULL || !c->up)
		return;
	if (c->dg_in) {
		c->dg_in = false;
		ht_dgclient_conn_out(ps->dg, c->slot);
	}
	ps->sched_at = 0; /* the scheduler sees the failure at the next packet */
	to = best_surviving_path(ps, i);
	if (to < 0) {
		/* Nowhere to go: the connection stays, and the path revives the
		 * moment anything arrives on it again. */
		ht_log(HT_LOG_WARN, "client", "path %s: no other path works, waiting", path_name(ps, (int)i));
		return;
	}
	ht_qconn_get_pathinfo(c->qc, &pi);
	if (pi.streams_bidi == 0) {
		ht_qconn_close(c->qc, 0); /* nothing to save; on_closed frees the slot */
		return;
	}
	rv = ht_qconn_migrate(c->qc,
			      ps->path[to].local_len > 0 ? (const struct sockaddr *)&ps->path[to].local
							 : NULL,
			      ps->path[to].local_len,
			      ps->path[to].spec.dev[0] != '\0' ? ps->path[to].spec.dev : NULL);
	if (rv != 0) {
		ht_log(HT_LOG_WARN, "client", "path %s: cannot move its %zu streams to %s: %s",
		       path_name(ps, (int)i), pi.streams_bidi, path_name(ps, to),
		       rv <= -1000 ? ht_qerr_str(rv) : ht_strerror(rv));
		ht_qconn_close(c->qc, 0);
		return;
	}
	ht_log(HT_LOG_INFO, "client", "path %s: its %zu streams move to path %s (connection migration)",
	       path_name(ps, (int)i), pi.streams_bidi, path_name(ps, to));
	c->path = to;
	c->draining = true;
	p->conn = -1; /* the path reconnects on its own */
}

static void feed_liveness(struct ht_cpaths *ps, struct cp_conn *c, ht_time now)
{
	struct cp_path *p = &ps->path[c->home];
	struct ht_qconn_pathinfo pi;
	ht_time ka;
	bool rx, tx;

	ht_qconn_get_pathinfo(c->qc, &pi);
	if (pi.srtt > 0)
		ht_liveness_on_rtt(&p->live, pi.srtt, pi.rttvar, pi.min_rtt);
	/* Sampled every TICK: the latest send and receive since the last look,
	 * in time order (a send answered before we looked needs no timer). */
	rx = pi.last_rx > c->seen_rx;
	tx = pi.last_tx_eliciting > c->seen_tx;
	if (rx)
		ht_liveness_on_rx(&p->live, pi.last_rx);
	if (tx && pi.last_tx_eliciting > pi.last_rx)
		ht_liveness_on_tx(&p->live, pi.last_tx_eliciting);
	c->seen_rx = pi.last_rx;
	c->seen_tx = pi.last_tx_eliciting;
	/* A path that receives data sends only ACKs, which prove nothing when
	 * the link dies.  While it is busy, the quick rule asks at once when
	 * it goes silent (liveness.h, HT_LIVE_PROBE); ngtcp2's keep-alive
	 * after 2 RTTs of silence stays as the fallback (no min_rtt yet, a
	 * second silence without new data); an idle path is probed every
	 * second. */
	if (pi.bytes_received - c->rx_mark > BUSY_BYTES) {
		c->busy_until = now + HT_SECONDS;
		ht_liveness_on_data(&p->live, now);
	}
	c->rx_mark = pi.bytes_received;
	ka = PATH_KEEPALIVE;
	if (now < c->busy_until) {
		ka = 2 * (pi.srtt > 0 ? pi.srtt : 100 * HT_MS);
		ka = ka < BUSY_KEEPALIVE_MIN ? BUSY_KEEPALIVE_MIN : ka > PATH_KEEPALIVE ? PATH_KEEPALIVE : ka;
	}
	if (ka != c->ka) {
		c->ka = ka;
		ht_qconn_set_keep_alive(c->qc, ka);
	}
}

/* Each connection's share of the bytes over the last second (status). */
static void update_shares(struct ht_cpaths *ps, ht_time now)
{
	uint64_t delta[HT_CPATHS_CONNS] = {0}, total = 0;

	for (unsigned s = 0; s < HT_CPATHS_CONNS; s++) {
		struct cp_conn *c = &ps->conn[s];
		struct ht_qconn_pathinfo pi;

		if (c->qc == NULL)
			continue;
		ht_qconn_get_pathinfo(c->qc, &pi);
		delta[s] = pi.bytes_sent + pi.bytes_received - c->bytes_mark;
		c->bytes_mark = pi.bytes_sent + pi.bytes_received;
		total += delta[s];
	}
	for (unsigned s = 0; s < HT_CPATHS_CONNS; s++)
		ps->conn[s].share = total > 0 ? (int)(delta[s] * 100 / total) : 0;
	ps->share_at = now;
}

static void on_tick(struct ht_loop *loop, struct ht_timer *t)
{
	struct ht_cpaths *ps = t->arg;
	ht_time now = ht_loop_now(loop);
	bool busy = false;

	if (ps->stopping)
		return;
	if (!ps->multi) {
		unsigned i = 0;

		path_connect(ps, i); /* the one path's reconnect timer */
		return;
	}
	for (unsigned i = 0; i < ps->npath; i++) {
		struct cp_path *p = &ps->path[i];
		struct cp_conn *c = p->conn >= 0 ? &ps->conn[p->conn] : NULL;
		enum ht_path_state before = p->live.state;

		if (c != NULL && c->up)
			feed_liveness(ps, c, now);
		busy |= c != NULL && now < c->busy_until;
		if (before == HT_PATH_FAILED && p->live.state != HT_PATH_FAILED && c != NULL &&
		    c->in_session && !c->dg_in) {
			ht_log(HT_LOG_INFO, "client", "path %s is back", path_name(ps, (int)i));
			path_established(ps, c);
			ps->hooks->streams_ready(ps->arg);
		}
		switch (ht_liveness_tick(&p->live, now)) {
		case HT_LIVE_FAILED:
			path_failed(ps, i);
			break;
		case HT_LIVE_RECONNECT:
			if (p->conn < 0) {
				ht_liveness_restart(&p->live, now);
				path_connect(ps, i);
			}
			break;
		case HT_LIVE_PROBE: /* a busy path went silent: ask it now */
			if (c != NULL)
				ht_qconn_ping(c->qc);
			break;
		case HT_LIVE_PING: /* ngtcp2's keep-alive sends it (PATH_KEEPALIVE) */
		case HT_LIVE_NONE:
		default:
			break;
		}
	}
	if (now - ps->share_at >= HT_SECONDS)
		update_shares(ps, now);
	/* A migrated connection leaves once its streams are done. */
	for (unsigned s = 0; s < HT_CPATHS_CONNS; s++) {
		struct cp_conn *c = &ps->conn[s];
		struct ht_qconn_pathinfo pi;

		if (c->qc == NULL || !c->draining)
			continue;
		ht_qconn_get_pathinfo(c->qc, &pi);
		if (pi.streams_bidi == 0) {
			c->draining = false; /* close once */
			ht_qconn_close(c->qc, 0);
		}
	}
	(void)ht_timer_set(loop, t, now + (busy ? TICK_BUSY : TICK));
}

/* ---- scheduling ------------------------------------------------------------------------ */

static bool conn_usable(const struct ht_cpaths *ps, const struct cp_conn *c)
{
	const struct cp_path *p;

	if (c->qc == NULL || c->draining)
		return false;
	if (!ps->multi)
		return true;
	p = &ps->path[c->path];
	return p->live.state != HT_PATH_FAILED;
}

/* A multipath session's DATAGRAM queues stand longer on its nearer paths
 * (ht_sched_queue_slack). */
static void dgram_targets(struct ht_cpaths *ps)
{
	for (unsigned s = 0; s < HT_CPATHS_CONNS; s++)
		if (ps->sched.path[s].usable)
			ht_qconn_set_dgram_target(ps->conn[s].qc, HT_QDGRAM_TARGET +
								  ht_sched_queue_slack(&ps->sched, s));
}

static void sched_refresh(struct ht_cpaths *ps, bool streams)
{
	uint64_t top = 0;

	for (unsigned s = 0; s < HT_CPATHS_CONNS; s++) {
		struct cp_conn *c = &ps->conn[s];
		struct ht_sched_path *sp = &ps->sched.path[s];
		struct ht_qconn_pathinfo pi;

		sp->usable = conn_usable(ps, c) &&
			     (streams ? c->up || ht_qconn_can_open_early(c->qc) : c->dg_in);
		if (!sp->usable)
			continue;
		ht_qconn_get_pathinfo(c->qc, &pi);
		sp->backup = ps->multi && ps->path[c->path].spec.backup;
		sp->weight = ps->multi ? ps->path[c->path].spec.weight : 1;
		sp->srtt = pi.srtt;
		sp->min_rtt = pi.min_rtt;
		sp->cwnd = pi.cwnd;
		sp->in_flight = pi.bytes_in_flight + pi.dgram_queued * DGRAM_GUESS;
		sp->queued = pi.dgram_queued > UINT32_MAX ? UINT32_MAX : (unsigned)pi.dgram_queued;
		sp->path_queue = pi.path_queue;
		sp->streams = (unsigned)pi.streams_bidi;
		if (sp->cwnd > top)
			top = sp->cwnd;
	}
	/* Stream placement weighs paths by cwnd / srtt, but a window is only
	 * learnt by carrying traffic: an idle path still has its initial one.
	 * Count every path as having at least half the largest window, so an
	 * idle path gets connections and learns its own. */
	for (unsigned s = 0; streams && s < HT_CPATHS_CONNS; s++)
		if (ps->sched.path[s].usable && ps->sched.path[s].cwnd < top / 2)
			ps->sched.path[s].cwnd = top / 2;
	if (!streams && ps->multi)
		dgram_targets(ps);
	ps->sched_at = ht_loop_now(ps->loop);
	ps->picks_since = 0;
}

struct ht_qconn *ht_cpaths_stream_conn(struct ht_cpaths *ps)
{
	int s;

	sched_refresh(ps, true);
	s = ht_sched_pick_stream(&ps->sched);
	return s >= 0 ? ps->conn[s].qc : NULL;
}

uint32_t ht_cpaths_pick_dgram(struct ht_cpaths *ps, size_t len)
{
	/* The windows and the queues change with every ACK and every write;
	 * between refreshes the scheduler adds what it placed itself.  The
	 * loop time stands still while a TUN burst (up to 64 reads, each up
	 * to 45 segments) is placed: refresh every few packets too. */
	if (ht_loop_now(ps->loop) - ps->sched_at >= SCHED_REFRESH || ps->sched_at == 0 ||
	    ++ps->picks_since >= SCHED_REFRESH_PICKS)
		sched_refresh(ps, false);
	return ht_sched_pick(&ps->sched, len);
}

struct ht_qconn *ht_cpaths_conn(const struct ht_cpaths *ps, unsigned slot)
{
	return slot < HT_CPATHS_CONNS ? ps->conn[slot].qc : NULL;
}

bool ht_cpaths_multi(const struct ht_cpaths *ps)
{
	return ps->multi;
}

bool ht_cpaths_up(const struct ht_cpaths *ps)
{
	for (unsigned s = 0; s < HT_CPATHS_CONNS; s++)
		if (ps->conn[s].qc != NULL && ps->conn[s].up)
			return true;
	return false;
}

/* ---- set-up ------------------------------------------------------------------------------ */

int ht_cpaths_new(struct ht_cpaths **out, struct ht_loop *loop, const struct ht_cpaths_config *cfg,
		  const struct ht_cpaths_hooks *hooks, void *arg, char *err, size_t errlen)
{
	struct ht_cpaths *ps = calloc(1, sizeof(*ps));
	ht_time now = ht_loop_now(loop);

	*out = NULL;
	if (ps == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (cfg->npath > HT_CPATHS_MAX) {
		snprintf(err, errlen, "at most %u --path", HT_CPATHS_MAX);
		free(ps);
		return -1;
	}
	ps->loop = loop;
	ps->cfg = *cfg;
	ps->hooks = hooks;
	ps->arg = arg;
	ps->backoff = BACKOFF_MIN;
	ps->npath = cfg->npath > 0 ? (unsigned)cfg->npath : 1;
	ps->multi = cfg->npath >= 2;
	ht_timer_init(&ps->tick, on_tick, ps);
	ht_sched_init(&ps->sched, cfg->policy);
	ps->sched.n = HT_CPATHS_CONNS;
	if (ps->multi) {
		/* A PING after a second of silence keeps every path checked. */
		ps->cfg.set.keep_alive = PATH_KEEPALIVE;
		ps->cfg.set.handshake_timeout = PATH_HANDSHAKE_TIMEOUT;
	}
	for (unsigned i = 0; i < ps->npath; i++) {
		struct cp_path *p = &ps->path[i];

		p->conn = -1;
		if (cfg->npath > 0)
			p->spec = cfg->path[i];
		if (p->spec.has_src) {
			p->local_len = ht_sockaddr_from16(&p->local, p->spec.src, 0);
			/* The server's family decides: a v4 path to a v6 server
			 * cannot work. */
			if (p->local.ss_family != cfg->server.ss_family) {
				snprintf(err, errlen, "--path %s: its address is not of the server's family",
					 p->spec.name);
				free(ps);
				return -1;
			}
		}
		ht_liveness_init(&p->live, &cfg->live, p->spec.backup, now);
	}
	*out = ps;
	return 0;
}

void ht_cpaths_set_dgclient(struct ht_cpaths *ps, struct ht_dgclient *dg)
{
	ps->dg = dg;
}

void ht_cpaths_start(struct ht_cpaths *ps)
{
	for (unsigned i = 0; i < ps->npath; i++)
		path_connect(ps, i);
	if (ps->multi)
		(void)ht_timer_set(ps->loop, &ps->tick, ht_loop_now(ps->loop) + TICK);
}

void ht_cpaths_shutdown(struct ht_cpaths *ps)
{
	ps->stopping = true;
	ht_timer_cancel(ps->loop, &ps->tick);
	for (unsigned s = 0; s < HT_CPATHS_CONNS; s++)
		if (ps->conn[s].qc != NULL)
			ht_qconn_close(ps->conn[s].qc, 0);
}

void ht_cpaths_free(struct ht_cpaths *ps)
{
	if (ps == NULL)
		return;
	ht_timer_cancel(ps->loop, &ps->tick);
	free(ps);
}

static uint64_t bidi_streams(struct ht_qconn *qc)
{
	struct ht_qconn_pathinfo pi;

	ht_qconn_get_pathinfo(qc, &pi);
	return pi.streams_bidi;
}

int ht_cpaths_status(struct ht_cpaths *ps, struct ht_status *st)
{
	unsigned n = 0;

	st->conns = calloc(HT_CPATHS_CONNS + HT_CPATHS_MAX, sizeof(*st->conns));
	if (st->conns == NULL)
		return -1;
	/* Every path, with its connection (or its state while it has none),
	 * then the connections that moved off a failed path. */
	for (unsigned i = 0; i < ps->npath; i++) {
		struct cp_path *p = &ps->path[i];
		struct ht_status_conn *sc = &st->conns[n++];
		struct cp_conn *c = p->conn >= 0 ? &ps->conn[p->conn] : NULL;

		snprintf(sc->peer, sizeof(sc->peer), "%s", ps->cfg.server_str);
		if (ps->multi)
			snprintf(sc->path, sizeof(sc->path), "%s", path_name(ps, (int)i));
		snprintf(sc->state, sizeof(sc->state), "%s",
			 ps->multi ? ht_path_state_name(p->live.state)
			 : c != NULL && c->up ? "up"
			 : c != NULL	      ? "connecting"
					      : "down");
		if (ps->multi) {
			sc->path_failures = p->live.failures;
			sc->path_false_alarms = p->live.false_alarms;
			sc->quick_timeout = p->live.min_rtt != 0 ? ht_liveness_quick_timeout(&p->live) : 0;
		}
		if (c == NULL)
			continue;
		if (ht_qconn_peer_fingerprint(c->qc) != NULL)
			ht_fingerprint_format(ht_qconn_peer_fingerprint(c->qc), sc->fp);
		snprintf(sc->alpn, sizeof(sc->alpn), "%s", ht_qconn_alpn(c->qc));
		snprintf(sc->zero_rtt, sizeof(sc->zero_rtt), "%s",
			 ht_qconn_early_str(ht_qconn_early_state(c->qc)));
		ht_qconn_get_stats(c->qc, &sc->st);
		sc->share_pct = ps->multi ? c->share : -1;
		sc->tcp_open = bidi_streams(c->qc);
	}
	for (unsigned s = 0; s < HT_CPATHS_CONNS; s++) {
		struct cp_conn *c = &ps->conn[s];
		struct ht_status_conn *sc;

		if (c->qc == NULL || ps->path[c->home].conn == (int)s)
			continue;
		sc = &st->conns[n++];
		snprintf(sc->peer, sizeof(sc->peer), "%s", ps->cfg.server_str);
		snprintf(sc->path, sizeof(sc->path), "%s>%s", path_name(ps, c->home),
			 path_name(ps, c->path));
		snprintf(sc->state, sizeof(sc->state), "%s", c->draining ? "migrated" : "closing");
		sc->share_pct = c->share;
		snprintf(sc->alpn, sizeof(sc->alpn), "%s", ht_qconn_alpn(c->qc));
		ht_qconn_get_stats(c->qc, &sc->st);
		sc->tcp_open = bidi_streams(c->qc);
	}
	st->nconns = n;
	return 0;
}
