/* hatun — the concentrator side of stream mode (concentrator.h). */
#include "tunnel/concentrator.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/log.h"
#include "proto/err.h"
#include "proto/icmp.h"
#include "proto/qt_stream.h"
#include "quic/server.h"
#include "quic/tls.h"
#include "tunnel/dgram_router.h"
#include "tunnel/ownaddr.h"
#include "tunnel/relay.h"
#include "tunnel/status.h"
#include "tunnel/tcp.h"

struct conc_peer;

struct conc_relay {
	struct ht_relay r; /* first member */
	struct conc_peer *peer;
	bool connecting;
	bool tfo_wait; /* TFO cookie held, the SYN waits for the first bytes */
};

/* How long a SYN that may carry data (TCP Fast Open) waits for the client's
 * first bytes when End came without them: they are usually one packet
 * behind.  Protocols where the server speaks first pay this once per
 * connection (docs/protocol/quic-tunnel.md §2.7). */
#define TFO_WAIT (1 * HT_MS)

struct conc_peer {
	struct ht_conc *cc;
	struct ht_qconn *qc;
	struct conc_peer *prev, *next;
	struct ht_relay *relays;
	size_t nrelays;
	uint64_t streams;
	char fp[HT_FP_STRLEN + 1];
	struct ht_dgpeer dg; /* control streams and datagram mode */
};

struct ht_conc {
	struct ht_loop *loop;
	struct ht_tls_config *tls;
	struct ht_server *srv;
	struct ht_policy *policy;
	struct ht_dgrouter *dgr;
	struct conc_peer *peers;
	size_t npeers;
	ht_time connect_timeout, idle_timeout;
	ht_time started;
	uint64_t tcp_total, tcp_refused;
	bool upstream_tfo; /* first bytes in the SYN (ht_tcp_connect_tfo) */
	struct ht_ownaddr *own; /* keeps policy's own addresses current */
};

/* ---- relays ------------------------------------------------------------------ */

static void relay_unlink(struct conc_relay *cr)
{
	struct conc_peer *p = cr->peer;

	if (p == NULL)
		return;
	if (cr->r.prev != NULL)
		cr->r.prev->next = cr->r.next;
	else
		p->relays = cr->r.next;
	if (cr->r.next != NULL)
		cr->r.next->prev = cr->r.prev;
	p->nrelays--;
	cr->peer = NULL;
}

static void hook_done(struct ht_relay *r)
{
	struct conc_relay *cr = (struct conc_relay *)r;

	relay_unlink(cr);
	free(cr);
}

/* Error TLV (+ End + FIN): the connection request failed.  The relay ends
 * without a reset: the client reads the reason, then resets its side. */
static void send_error(struct conc_relay *cr, const uint8_t *tlv, int tlv_len, const char *why)
{
	uint8_t buf[QT_TLV_MAX_SIZE + QT_TLV_END_SIZE];
	size_t n = 0;

	cr->peer->cc->tcp_refused++;
	if (tlv_len > 0) {
		memcpy(buf, tlv, (size_t)tlv_len);
		n = (size_t)tlv_len;
	}
	n += (size_t)qt_tlv_write_end(buf + n, sizeof(buf) - n);
	(void)ht_relay_send_raw(&cr->r, buf, n, true);
	ht_relay_close(&cr->r, HT_RELAY_QUIET, why);
}

static void fail_network(struct conc_relay *cr, const char *why)
{
	uint8_t tlv[8];
	int n = qt_tlv_write_error(tlv, sizeof(tlv), QT_ERR_NETWORK_FAILURE, NULL, 0);

	ht_log(HT_LOG_INFO, "conc", "%s failed: %s; sent Error 0x3 Network Failure", cr->r.name,
	       why);
	send_error(cr, tlv, n, why);
}

static void fail_icmp(struct conc_relay *cr, const struct ht_tcp_failure *f)
{
	uint8_t tlv[QT_TLV_MAX_SIZE];
	int n = qt_tlv_write_error_icmp(tlv, sizeof(tlv), f->icmp, f->icmp_len);

	ht_log(HT_LOG_INFO, "conc",
	       "%s failed: ICMP%s type %u code %u (%s); sent Error 0x1 ICMP packet received",
	       cr->r.name, f->icmp_family == 6 ? "v6" : "", f->icmp[0], f->icmp[1],
	       strerror(f->err));
	send_error(cr, tlv, n, "icmp");
}

/* Policy refusal: quic-tunnel-00 has no "not allowed" code, so the
 * concentrator answers as a filtering router would, with a synthesized
 * ICMP "administratively prohibited" in an Error 0x1 (quic-tunnel.md
 * §2.4).  The client maps it to SOCKS REP 2. */
static void fail_policy(struct conc_relay *cr, enum ht_policy_verdict v)
{
	uint8_t quoted[48], icmp[64], tlv[QT_TLV_MAX_SIZE], zero[16] = {0};
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const uint8_t *dst = cr->r.dst.addr;
	bool v4 = memcmp(dst, mapped, sizeof(mapped)) == 0;
	int fam = v4 ? 4 : 6, q, n, t;

	if (v4)
		zero[10] = zero[11] = 0xff;
	q = icmp_build_quote_tcp(quoted, sizeof(quoted), fam, zero, dst, 0, cr->r.dst.port, NULL);
	n = icmp_build(icmp, sizeof(icmp), sizeof(icmp), fam,
		       v4 ? ICMP4_DEST_UNREACH : ICMP6_DEST_UNREACH,
		       v4 ? ICMP4_ADMIN_PROHIBITED : ICMP6_ADMIN_PROHIBITED, 0, quoted,
		       q > 0 ? (size_t)q : 0, dst, zero);
	t = qt_tlv_write_error_icmp(tlv, sizeof(tlv), icmp, n > 0 ? (size_t)n : 0);
	ht_log(HT_LOG_INFO, "conc",
	       "%s refused by policy (%s); sent Error 0x1 with ICMP administratively prohibited",
	       cr->r.name, ht_policy_verdict_str(v));
	send_error(cr, tlv, t, "policy");
}

static void connected(struct conc_relay *cr)
{
	uint8_t hdr[QT_TLV_CONNECT_OK_SIZE + QT_TLV_END_SIZE];

	cr->connecting = false;
	ht_relay_set_deadline(&cr->r, HT_TIME_NEVER);
	(void)qt_tlv_write_connect_ok(hdr, sizeof(hdr));
	(void)qt_tlv_write_end(hdr + 2, sizeof(hdr) - 2);
	if (ht_relay_send_raw(&cr->r, hdr, sizeof(hdr), false) != 0) {
		ht_relay_close(&cr->r, HT_RELAY_RST_TCP | HT_RELAY_RESET_STREAM,
			       "stream gone before Connect OK");
		return;
	}
	ht_log(HT_LOG_INFO, "relay", "%s opened", cr->r.name);
	(void)ht_relay_start(&cr->r, true, true);
}

static void connect_outcome(struct conc_relay *cr, enum ht_tcp_outcome o,
			    const struct ht_tcp_failure *f)
{
	switch (o) {
	case HT_TCP_CONNECTED:
		connected(cr);
		break;
	case HT_TCP_IN_PROGRESS:
		break;
	case HT_TCP_REFUSED:
		ht_log(HT_LOG_INFO, "conc", "%s failed: connection refused; stream reset",
		       cr->r.name);
		cr->peer->cc->tcp_refused++;
		ht_relay_close(&cr->r, HT_RELAY_RESET_STREAM | HT_RELAY_QUIET, "refused");
		break;
	case HT_TCP_ICMP:
		fail_icmp(cr, f);
		break;
	case HT_TCP_NET_FAILURE:
		fail_network(cr, strerror(f->err));
		break;
	}
}

/* Send the deferred SYN with the pending bytes that fit in it, then wait
 * for the connection as after any connect.  false: the relay ended. */
static bool tfo_send_syn(struct conc_relay *cr)
{
	struct ht_relay *r = &cr->r;
	struct ht_tcp_failure f;
	enum ht_tcp_outcome o;
	size_t len, sent;
	const uint8_t *data = ht_relay_pending(r, &len);

	cr->tfo_wait = false;
	o = ht_tcp_send_syn(r->fd, data, len, &sent, &f);
	if (sent > 0) {
		ht_relay_pending_written(r, sent);
		ht_log(HT_LOG_DEBUG, "conc", "%s: %zu bytes in the SYN (TCP Fast Open)", r->name,
		       sent);
	}
	if (o != HT_TCP_IN_PROGRESS) {
		close(r->fd);
		r->fd = -1;
		connect_outcome(cr, o, &f);
		return false;
	}
	if (ht_relay_watch(r, EPOLLOUT) != 0) {
		ht_relay_close(r, HT_RELAY_RST_TCP | HT_RELAY_RESET_STREAM, "epoll failed");
		return false;
	}
	ht_relay_set_deadline(r, ht_loop_now(r->loop) + cr->peer->cc->connect_timeout);
	return true;
}

static void hook_owner_data(struct ht_relay *r)
{
	struct conc_relay *cr = (struct conc_relay *)r;

	if (cr->tfo_wait)
		(void)tfo_send_syn(cr);
}

static void hook_owner_io(struct ht_relay *r, uint32_t ev)
{
	struct conc_relay *cr = (struct conc_relay *)r;
	struct ht_tcp_failure f;
	enum ht_tcp_outcome o;

	(void)ev;
	if (!cr->connecting)
		return;
	o = ht_tcp_connect_result(r->fd, r->dst.addr, r->dst.port, &f);
	if (o == HT_TCP_IN_PROGRESS)
		return;
	if (o != HT_TCP_CONNECTED) {
		ht_relay_watch(r, 0);
		close(r->fd);
		r->fd = -1;
	}
	connect_outcome(cr, o, &f);
}

static void hook_timeout(struct ht_relay *r)
{
	struct conc_relay *cr = (struct conc_relay *)r;

	if (cr->tfo_wait) {
		(void)tfo_send_syn(cr);
		return;
	}
	if (cr->connecting) {
		ht_relay_watch(r, 0);
		close(r->fd);
		r->fd = -1;
		fail_network(cr, "connect timeout");
		return;
	}
	ht_relay_close(r, HT_RELAY_RST_TCP | HT_RELAY_RESET_STREAM, "timeout");
}

static int hook_header(struct ht_relay *r, const struct qt_stream_info *info)
{
	struct conc_relay *cr = (struct conc_relay *)r;
	struct ht_conc *cc = cr->peer->cc;
	struct ht_tcp_failure f;
	enum ht_policy_verdict v;
	enum ht_tcp_outcome o;
	char dst[64];
	int fd;

	r->dst = info->remote;
	snprintf(r->name, sizeof(r->name), "%.15s stream %lld -> %s", cr->peer->fp + 7,
		 (long long)r->sid, ht_addr16_str(r->dst.addr, r->dst.port, dst, sizeof(dst)));
	/* Connect ... Error ... End: legal (quic-tunnel.md §2.3), but the
	 * opener withdrew its own request; nothing is connected. */
	if (info->error_count > 0) {
		ht_log(HT_LOG_WARN, "conc",
		       "%s: the request carries Error 0x%x from the client; not connected, "
		       "stream reset",
		       r->name, info->error_code);
		cc->tcp_refused++;
		ht_relay_close(r, HT_RELAY_RESET_STREAM | HT_RELAY_QUIET, "request withdrawn");
		return -1;
	}
	v = ht_policy_check(cc->policy, r->dst.addr, r->dst.port);
	if (!ht_policy_allowed(v)) {
		fail_policy(cr, v);
		return -1;
	}
	/* Bytes after End wait (unconsumed, bounded by the stream window)
	 * until the connection is up, except those that ride in the SYN
	 * (TCP Fast Open, docs/protocol/quic-tunnel.md §2.7). */
	if (cc->upstream_tfo)
		o = ht_tcp_connect_tfo(r->dst.addr, r->dst.port, &fd, &cr->tfo_wait, &f);
	else
		o = ht_tcp_connect(r->dst.addr, r->dst.port, &fd, &f);
	if (o == HT_TCP_IN_PROGRESS || o == HT_TCP_CONNECTED)
		ht_relay_set_fd(r, fd);
	if (o == HT_TCP_IN_PROGRESS) {
		cr->connecting = true;
		if (cr->tfo_wait) {
			size_t n;

			/* The SYN waits for the client's first bytes: here
			 * already, or within TFO_WAIT (owner_data), or it
			 * leaves without (hook_timeout). */
			(void)ht_relay_watch(r, 0);
			(void)ht_relay_pending(r, &n);
			if (n > 0)
				return tfo_send_syn(cr) ? 0 : -1;
			ht_relay_set_deadline(r, ht_loop_now(r->loop) + TFO_WAIT);
			return 0;
		}
		if (ht_relay_watch(r, EPOLLOUT) != 0) {
			ht_relay_close(r, HT_RELAY_RST_TCP | HT_RELAY_RESET_STREAM, "epoll failed");
			return -1;
		}
		ht_relay_set_deadline(r, ht_loop_now(r->loop) + cc->connect_timeout);
		return 0;
	}
	connect_outcome(cr, o, &f);
	return r->closed ? -1 : 0;
}

static void hook_header_error(struct ht_relay *r, int err, const struct qt_stream_parser *p)
{
	struct conc_relay *cr = (struct conc_relay *)r;
	uint8_t buf[16];
	int n = qt_stream_write_reject(buf, sizeof(buf), p);

	ht_log(HT_LOG_WARN, "conc", "%.15s stream %lld: bad header (%s); sent Error 0x%x, End, FIN",
	       cr->peer->fp + 7, (long long)r->sid, ht_strerror(err), qt_stream_error_code(err));
	if (n > 0)
		(void)ht_relay_send_raw(r, buf, (size_t)n, true);
	ht_relay_close(r, HT_RELAY_QUIET, "bad header");
}

static const struct ht_relay_hooks conc_hooks = {
	.header = hook_header,
	.header_error = hook_header_error,
	.timeout = hook_timeout,
	.owner_io = hook_owner_io,
	.owner_data = hook_owner_data,
	.done = hook_done,
};

/* ---- QUIC connection events --------------------------------------------------- */

static void on_stream_open(struct ht_qconn *c, void *user, int64_t sid)
{
	struct conc_peer *p = user;
	struct conc_relay *cr;

	/* qt-01 has no stream mode (docs/PROTOCOL.md Decision 2): its
	 * bidirectional streams carry nothing hatun could read, not even an
	 * Error TLV.  Each is refused with RESET_STREAM + STOP_SENDING 0x0
	 * (UNKNOWN_ERROR in -01's table); the connection stays up for what
	 * qt-01 does carry (quic-tunnel.md §2.5). */
	if (strcmp(ht_qconn_alpn(c), "qt-01") == 0) {
		ht_log(HT_LOG_WARN, "conc",
		       "%.15s stream %lld: no stream mode under alpn qt-01; stream reset (0x0)",
		       p->fp + 7, (long long)sid);
		(void)ht_qconn_stream_reset(c, sid, 0);
		return;
	}
	cr = calloc(1, sizeof(*cr));
	if (cr == NULL) {
		(void)ht_qconn_stream_reset(c, sid, QT_STREAM_RESET_TCP_CONNECTION_RESET);
		return;
	}
	ht_relay_init(&cr->r, p->cc->loop, &conc_hooks, p->cc->idle_timeout);
	snprintf(cr->r.name, sizeof(cr->r.name), "%.15s stream %lld", p->fp + 7, (long long)sid);
	cr->peer = p;
	cr->r.next = p->relays;
	if (p->relays != NULL)
		p->relays->prev = &cr->r;
	p->relays = &cr->r;
	p->nrelays++;
	p->streams++;
	p->cc->tcp_total++;
	if (ht_relay_attach(&cr->r, c, sid, true) != 0) {
		(void)ht_qconn_stream_reset(c, sid, QT_STREAM_RESET_TCP_CONNECTION_RESET);
		ht_relay_close(&cr->r, HT_RELAY_QUIET, "out of memory");
	}
}

static void peer_free(struct conc_peer *p, const char *why)
{
	struct ht_conc *cc = p->cc;

	while (p->relays != NULL)
		ht_relay_conn_lost(p->relays, why);
	ht_dgpeer_release(&p->dg);
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		cc->peers = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	cc->npeers--;
	free(p);
}

static void on_closed(struct ht_qconn *c, void *user, const struct ht_qconn_close_info *info)
{
	struct conc_peer *p = user;

	(void)c;
	ht_log(HT_LOG_INFO, "conc", "client %s disconnected: %s (%llu streams)", p->fp,
	       info->text != NULL ? info->text : "closed", (unsigned long long)p->streams);
	peer_free(p, "tunnel connection lost");
}

/* The control streams (2 and 3) go to the peer's ht_ctrl, the rest are
 * relays. */
static void on_peer_stream_closed(struct ht_qconn *c, void *user, int64_t sid)
{
	struct conc_peer *p = user;

	if (ht_ctrl_on_closed(&p->dg.ctrl, sid))
		return;
	ht_relay_on_stream_closed(c, user, sid);
}

static void on_peer_stream_data(struct ht_qconn *c, void *user, int64_t sid, const uint8_t *data,
				size_t len, bool fin)
{
	struct conc_peer *p = user;

	if (ht_ctrl_on_data(&p->dg.ctrl, sid, data, len, fin))
		return;
	ht_relay_on_stream_data(c, user, sid, data, len, fin);
}

static void on_peer_stream_reset(struct ht_qconn *c, void *user, int64_t sid, uint64_t code)
{
	struct conc_peer *p = user;

	if (ht_ctrl_on_reset(&p->dg.ctrl, sid, code))
		return;
	ht_relay_on_stream_reset(c, user, sid, code);
}

static void on_peer_stream_stop(struct ht_qconn *c, void *user, int64_t sid, uint64_t code)
{
	struct conc_peer *p = user;

	if (ht_ctrl_on_closed(&p->dg.ctrl, sid))
		return; /* our control stream: the peer's reset of its own follows */
	ht_relay_on_stream_stop(c, user, sid, code);
}

static void on_peer_uni_open(struct ht_qconn *c, void *user, int64_t sid)
{
	struct conc_peer *p = user;

	(void)c;
	(void)ht_ctrl_on_uni_open(&p->dg.ctrl, sid);
}

static void on_peer_datagram(struct ht_qconn *c, void *user, const uint8_t *data, size_t len)
{
	struct conc_peer *p = user;

	(void)c;
	ht_dgpeer_on_datagram(&p->dg, data, len);
}

static const struct ht_qconn_ops peer_ops = {
	.stream_open = on_stream_open,
	.uni_stream_open = on_peer_uni_open,
	.stream_data = on_peer_stream_data,
	.stream_reset = on_peer_stream_reset,
	.stream_stop_sending = on_peer_stream_stop,
	.stream_writable = ht_relay_on_stream_writable,
	.stream_closed = on_peer_stream_closed,
	.datagram = on_peer_datagram,
	.closed = on_closed,
};

static int on_accept(struct ht_server *srv, struct ht_qconn *c, void *arg)
{
	struct ht_conc *cc = arg;
	const uint8_t *fp = ht_qconn_peer_fingerprint(c);
	struct conc_peer *p;

	(void)srv;
	if (fp == NULL)
		return 1;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return 1;
	p->cc = cc;
	p->qc = c;
	ht_fingerprint_format(fp, p->fp);
	ht_dgpeer_init(&p->dg, cc->dgr, c, fp);
	p->next = cc->peers;
	if (cc->peers != NULL)
		cc->peers->prev = p;
	cc->peers = p;
	cc->npeers++;
	ht_qconn_set_ops(c, &peer_ops, p);
	ht_log(HT_LOG_INFO, "conc", "client %s connected (alpn %s%s)", p->fp, ht_qconn_alpn(c),
	       ht_qconn_early_state(c) == HT_QEARLY_ACCEPTED ? ", 0-RTT" : "");
	return 0;
}

static const struct ht_server_ops server_ops = {.accept = on_accept};

/* ---- set-up ------------------------------------------------------------------- */

int ht_conc_new(struct ht_conc **out, struct ht_loop *loop, const struct ht_conc_config *cfg,
		char *err, size_t errlen)
{
	struct ht_server_settings set;
	struct ht_dgrouter_config dgc;
	struct ht_conc *cc;
	char a[80];
	uint8_t a16[16];
	uint16_t port = 0;
	int rv;

	*out = NULL;
	cc = calloc(1, sizeof(*cc));
	if (cc == NULL || (cc->policy = malloc(sizeof(*cc->policy))) == NULL) {
		free(cc);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cc->loop = loop;
	cc->started = ht_loop_now(loop);
	cc->connect_timeout = cfg->connect_timeout;
	cc->idle_timeout = cfg->idle_timeout;
	cc->upstream_tfo = !cfg->no_upstream_tfo && ht_tcp_fastopen_client_enabled();
	if (!cfg->no_upstream_tfo && !cc->upstream_tfo)
		ht_log(HT_LOG_INFO, "conc",
		       "no TCP Fast Open to destinations: net.ipv4.tcp_fastopen has the client "
		       "bit (1) off");
	if (cfg->policy != NULL)
		memcpy(cc->policy, cfg->policy, sizeof(*cc->policy));
	else
		ht_policy_init(cc->policy);
	if (ht_ownaddr_new(&cc->own, loop, cc->policy, err, errlen) != 0) {
		if (cc->own == NULL)
			goto fail;
		ht_log(HT_LOG_WARN, "conc", "%s: addresses added later are not refused until a restart",
		       err);
		err[0] = '\0';
	}
	if (ht_tls_config_new(&cc->tls, HT_TLS_SERVER, cfg->cert, cfg->key, cfg->allow, cfg->nallow,
			      err, errlen) != 0)
		goto fail;
	if (cfg->allow_ca != NULL && ht_tls_config_set_ca(cc->tls, cfg->allow_ca, err, errlen) != 0)
		goto fail;
	if (!cfg->no_tickets && ht_tls_config_enable_resumption(cc->tls, err, errlen) != 0)
		goto fail;
	ht_server_settings_default(&set);
	dgc = cfg->dgram;
	if (dgc.mtu == 0) /* the DATAGRAM payload a full-size packet carries */
		dgc.mtu = (unsigned)set.conn.max_udp_payload -
			  HT_QDGRAM_PKT_OVERHEAD(HT_QCONN_CID_LEN) - QT_DGRAM_HDR_SIZE;
	if (ht_dgrouter_new(&cc->dgr, loop, &dgc, err, errlen) != 0)
		goto fail;
	set.max_conns = cfg->max_clients;
	set.conn.max_streams_bidi = cfg->max_streams;
	set.conn.max_streams_uni = 1; /* the client's control stream (-01 §7.1) */
	set.conn.fixed_udp_payload = dgc.tun != NULL;
	if (cfg->quic_idle_timeout > 0)
		set.conn.idle_timeout = cfg->quic_idle_timeout;
	if (cfg->keep_alive > 0 || cfg->no_keep_alive)
		set.conn.keep_alive = cfg->keep_alive;
	set.conn.ngtcp2_debug = getenv("HATUN_NGTCP2_DEBUG") != NULL;
	rv = ht_server_new(&cc->srv, loop, (const struct sockaddr *)&cfg->listen, cfg->listen_len,
			   cc->tls, &set, &server_ops, cc);
	if (rv != 0) {
		snprintf(err, errlen, "cannot listen: %s",
			 rv == HT_QERR_NOMEM ? ht_qerr_str(rv) : strerror(-rv));
		goto fail;
	}
	if (ht_sockaddr_to16((const struct sockaddr *)&cfg->listen, cfg->listen_len, a16, &port) ==
	    0)
		ht_log(HT_LOG_INFO, "conc",
		       "listening on %s (udp), %zu client fingerprints allowed, %llu streams per client",
		       ht_addr16_str(a16, port, a, sizeof(a)), cfg->nallow,
		       (unsigned long long)cfg->max_streams);
	*out = cc;
	return 0;
fail:
	ht_dgrouter_free(cc->dgr);
	ht_tls_config_free(cc->tls);
	ht_ownaddr_free(cc->own);
	free(cc->policy);
	free(cc);
	return -1;
}

void ht_conc_shutdown(struct ht_conc *cc)
{
	for (struct conc_peer *p = cc->peers; p != NULL; p = p->next) {
		while (p->relays != NULL)
			ht_relay_close(p->relays, HT_RELAY_RST_TCP | HT_RELAY_RESET_STREAM,
				       "shutting down");
		ht_qconn_close(p->qc, 0);
	}
}

void ht_conc_free(struct ht_conc *cc)
{
	if (cc == NULL)
		return;
	ht_server_free(cc->srv); /* ops.closed frees each peer */
	while (cc->peers != NULL)
		peer_free(cc->peers, "shutting down");
	ht_dgrouter_free(cc->dgr);
	ht_tls_config_free(cc->tls);
	ht_ownaddr_free(cc->own);
	free(cc->policy);
	free(cc);
}

struct ht_policy *ht_conc_policy(struct ht_conc *cc)
{
	return cc->policy;
}

int ht_conc_status(void *arg, struct ht_status *st)
{
	struct ht_conc *cc = arg;
	size_t i = 0;

	st->role = "concentrator";
	st->uptime = ht_loop_now(cc->loop) - cc->started;
	st->tcp_total = cc->tcp_total;
	st->tcp_refused = cc->tcp_refused;
	snprintf(st->tun, sizeof(st->tun), "%s", ht_dgrouter_tun(cc->dgr));
	ht_dgrouter_counters(cc->dgr, &st->dg);
	st->conns = calloc(cc->npeers + 1, sizeof(*st->conns));
	if (st->conns == NULL)
		return -1;
	for (struct conc_peer *p = cc->peers; p != NULL && i < cc->npeers; p = p->next, i++) {
		struct ht_status_conn *c = &st->conns[i];
		struct sockaddr_storage ss;
		socklen_t sl = ht_qconn_peer_addr(p->qc, &ss);
		uint8_t a16[16];
		uint16_t port;

		if (sl > 0 && ht_sockaddr_to16((struct sockaddr *)&ss, sl, a16, &port) == 0)
			ht_addr16_str(a16, port, c->peer, sizeof(c->peer));
		else
			snprintf(c->peer, sizeof(c->peer), "?");
		snprintf(c->fp, sizeof(c->fp), "%s", p->fp);
		snprintf(c->alpn, sizeof(c->alpn), "%s", ht_qconn_alpn(p->qc));
		snprintf(c->zero_rtt, sizeof(c->zero_rtt), "%s",
			 ht_qconn_early_str(ht_qconn_early_state(p->qc)));
		snprintf(c->state, sizeof(c->state), "up");
		ht_qconn_get_stats(p->qc, &c->st);
		c->tcp_open = p->nrelays;
		st->tcp_open += p->nrelays;
		if (st->tun[0] != '\0')
			ht_dgpeer_status(&p->dg, c);
		ht_dgpeer_session_status(&p->dg, c);
	}
	st->nconns = i;
	return 0;
}
