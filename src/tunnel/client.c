/* hatun — the client side of stream mode (client.h). */
#include "tunnel/client.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/log.h"
#include "proto/addr.h"
#include "proto/err.h"
#include "proto/qt_stream.h"
#include "proto/socks5.h"
#include "quic/conn.h"
#include "quic/tls.h"
#include "tunnel/cpaths.h"
#include "tunnel/relay.h"
#include "tunnel/resolver.h"
#include "tunnel/status.h"
#include "tunnel/tcp.h"

#define SOCKS_BUF (SOCKS5_GREETING_MAX + SOCKS5_MSG_MAX)
#define SOCKS_HANDSHAKE_TIMEOUT (10 * HT_SECONDS)
#define ACCEPTS_PER_EVENT 64

enum { KIND_FWD, KIND_SOCKS, KIND_DNS, KIND_TPROXY };

enum cli_state {
	ST_SOCKS_GREETING, /* reading the method greeting */
	ST_SOCKS_REQUEST,  /* reading the CONNECT request */
	ST_RESOLVING,      /* the destination's name is being resolved */
	ST_QUEUED,         /* waiting for a stream */
	ST_WAIT_OK,        /* stream open, Connect sent, waiting for Connect OK */
	ST_RELAY,
};

struct ht_client;

struct cli_relay {
	struct ht_relay r; /* first member */
	struct ht_client *cl;
	uint8_t kind;
	uint8_t st;
	bool socks_replied;
	struct cli_relay *qprev, *qnext; /* the wait queue */
	bool queued;
	uint8_t *sbuf; /* SOCKS handshake bytes, then early data (freed after) */
	size_t slen;
	struct ht_lookup *lookup; /* while ST_RESOLVING */
};

struct cli_listener {
	struct ht_client *cl;
	struct ht_io io;
	int fd;
	uint8_t kind;
	const struct ht_fwd *fwd;
};

struct ht_client {
	struct ht_loop *loop;
	struct ht_client_config cfg;
	struct ht_fwd *fwd;
	struct ht_tls_config *tls;
	struct ht_cpaths *paths; /* the QUIC connections, one per access path */
	bool stopping;
	struct cli_listener *ls;
	size_t nls;
	struct ht_relay *relays; /* every relay */
	struct cli_relay *qhead, *qtail;
	size_t qlen;
	struct ht_resolver *rs; /* --dns */
	struct ht_dgclient *dg; /* control stream, datagram mode */
	ht_time started;
	uint64_t tcp_total, tcp_refused;
	char server_str[64];
	/* The mixed mode (cfg.handoff): where connections went. */
	uint64_t rule_hits[HT_ROUTE_MAX_RULES], default_hits;
	uint64_t to_tunnel, to_convert, fallback, names;
};

static const struct ht_relay_hooks cli_hooks;
static void drain_queue(struct ht_client *cl);

/* ---- the relay objects -------------------------------------------------------- */

static void queue_del(struct ht_client *cl, struct cli_relay *cr)
{
	if (!cr->queued)
		return;
	if (cr->qprev != NULL)
		cr->qprev->qnext = cr->qnext;
	else
		cl->qhead = cr->qnext;
	if (cr->qnext != NULL)
		cr->qnext->qprev = cr->qprev;
	else
		cl->qtail = cr->qprev;
	cr->qprev = cr->qnext = NULL;
	cr->queued = false;
	cl->qlen--;
}

static void queue_add(struct ht_client *cl, struct cli_relay *cr, bool front)
{
	cr->queued = true;
	if (front) {
		cr->qprev = NULL;
		cr->qnext = cl->qhead;
		if (cl->qhead != NULL)
			cl->qhead->qprev = cr;
		else
			cl->qtail = cr;
		cl->qhead = cr;
	} else {
		cr->qnext = NULL;
		cr->qprev = cl->qtail;
		if (cl->qtail != NULL)
			cl->qtail->qnext = cr;
		else
			cl->qhead = cr;
		cl->qtail = cr;
	}
	cl->qlen++;
}

static void hook_done(struct ht_relay *r)
{
	struct cli_relay *cr = (struct cli_relay *)r;
	struct ht_client *cl = cr->cl;

	queue_del(cl, cr);
	if (cr->lookup != NULL)
		ht_lookup_cancel(cr->lookup);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		cl->relays = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	free(cr->sbuf);
	free(cr);
}

static void socks_reply(struct cli_relay *cr, uint8_t rep)
{
	uint8_t buf[SOCKS5_REPLY_V6_SIZE];
	int n;

	if (cr->kind != KIND_SOCKS || cr->socks_replied || cr->r.fd < 0)
		return;
	cr->socks_replied = true;
	n = socks5_write_reply(buf, sizeof(buf), rep, NULL, 0);
	/* A fresh socket has room for 10 bytes; a short write is a dead peer. */
	if (n > 0)
		(void)send(cr->r.fd, buf, (size_t)n, MSG_NOSIGNAL);
}

/* The connection request failed: SOCKS gets its reply and a FIN, a forward
 * gets a RST (the application sees "connection reset", as if the
 * destination had refused). */
static void cli_fail(struct cli_relay *cr, uint8_t rep, const char *reason)
{
	unsigned how = HT_RELAY_RESET_STREAM;

	cr->cl->tcp_refused++;

	if (cr->kind == KIND_SOCKS && !cr->socks_replied)
		socks_reply(cr, rep);
	else
		how |= HT_RELAY_RST_TCP;
	if (cr->kind == KIND_SOCKS)
		ht_log(HT_LOG_INFO, "client", "%s failed: %s; SOCKS reply %u (%s)", cr->r.name,
		       reason, rep, socks5_rep_str(rep));
	else
		ht_log(HT_LOG_INFO, "client", "%s failed: %s; connection reset", cr->r.name,
		       reason);
	ht_relay_close(&cr->r, how | HT_RELAY_QUIET, reason);
}

static int hook_header(struct ht_relay *r, const struct qt_stream_info *info)
{
	struct cli_relay *cr = (struct cli_relay *)r;

	if (info->seen & QT_SEEN_ERROR) {
		const uint8_t *pl = info->error_payload_len ? info->error_payload : NULL;

		cli_fail(cr,
			 ht_socks_rep_for_error(info->error_code, pl, info->error_payload_len,
						r->dst.addr),
			 ht_error_tlv_str(info->error_code, pl, info->error_payload_len,
					  r->dst.addr));
		return -1;
	}
	socks_reply(cr, SOCKS5_REP_SUCCEEDED);
	cr->st = ST_RELAY;
	r->tcp_write = true;
	ht_log(HT_LOG_INFO, "relay", "%s opened", r->name);
	return 0;
}

static void hook_header_error(struct ht_relay *r, int err, const struct qt_stream_parser *p)
{
	struct cli_relay *cr = (struct cli_relay *)r;
	char why[96];

	if (p->info.seen & QT_SEEN_ERROR) {
		const struct qt_stream_info *info = &p->info;
		const uint8_t *pl = info->error_payload_len ? info->error_payload : NULL;

		cli_fail(cr,
			 ht_socks_rep_for_error(info->error_code, pl, info->error_payload_len,
						r->dst.addr),
			 ht_error_tlv_str(info->error_code, pl, info->error_payload_len,
					  r->dst.addr));
		return;
	}
	snprintf(why, sizeof(why), "bad answer from the concentrator (%s)", ht_strerror(err));
	cli_fail(cr, SOCKS5_REP_GENERAL_FAILURE, why);
}

static void hook_early_reset(struct ht_relay *r, uint64_t app_error)
{
	(void)app_error;
	/* RESET_STREAM before Connect OK: the destination answered the SYN with
	 * a RST (docs/protocol/quic-tunnel.md §2.4). */
	cli_fail((struct cli_relay *)r, SOCKS5_REP_CONN_REFUSED, "connection refused");
}

static void hook_timeout(struct ht_relay *r)
{
	struct cli_relay *cr = (struct cli_relay *)r;

	if (cr->st == ST_QUEUED)
		cli_fail(cr, SOCKS5_REP_GENERAL_FAILURE,
			 ht_cpaths_up(cr->cl->paths) ? "no stream available in time" : "tunnel down");
	else if (cr->st == ST_SOCKS_GREETING || cr->st == ST_SOCKS_REQUEST)
		ht_relay_close(r, HT_RELAY_QUIET, "SOCKS handshake timeout");
	else
		cli_fail(cr, SOCKS5_REP_GENERAL_FAILURE, "timeout");
}

static void start_stream(struct cli_relay *cr);

/* ---- the mixed mode: the tunnel or the converter -------------------------------- */

/* The destination (an address) is known: with cfg.handoff, the first
 * matching rule or the default says which transport takes the connection.
 * Returns true when it was handed to the converter: cr is gone then (its
 * socket belongs to the convert client, the SOCKS bytes behind the request
 * were copied); false when it stays here for the tunnel. */
static bool route_away(struct cli_relay *cr)
{
	struct ht_client *cl = cr->cl;
	const struct ht_handoff_ops *ho = cl->cfg.handoff;
	struct ht_relay *r = &cr->r;
	struct ht_handoff h;
	char why[24];
	bool conv;
	int i;

	if (ho == NULL)
		return false;
	i = ht_route_rules_match(&cl->cfg.rules, r->dst.addr, r->dst.port);
	if (i >= 0) {
		cl->rule_hits[i]++;
		conv = cl->cfg.rules.rule[i].via == HT_ROUTE_CONVERT;
		snprintf(why, sizeof(why), "rule %d", i + 1);
	} else {
		cl->default_hits++;
		conv = cl->cfg.default_convert;
		snprintf(why, sizeof(why), "default");
	}
	if (conv && !ho->usable(ho->arg)) {
		cl->fallback++;
		cl->to_tunnel++;
		ht_log(HT_LOG_DEBUG, "client", "%s: via the tunnel (%s: converter disabled)", r->name,
		       why);
		return false;
	}
	if (!conv) {
		cl->to_tunnel++;
		ht_log(HT_LOG_DEBUG, "client", "%s: via the tunnel (%s)", r->name, why);
		return false;
	}
	cl->to_convert++;
	ht_log(HT_LOG_DEBUG, "client", "%s: via the converter (%s)", r->name, why);
	memset(&h, 0, sizeof(h));
	h.fd = r->fd;
	h.kind = cr->kind == KIND_SOCKS    ? HT_HANDOFF_SOCKS
		 : cr->kind == KIND_TPROXY ? HT_HANDOFF_TPROXY
					   : HT_HANDOFF_FWD;
	memcpy(h.dst, r->dst.addr, 16);
	h.port = r->dst.port;
	h.early = cr->sbuf;
	h.elen = cr->slen;
	/* The socket leaves this relay: out of our epoll set, and not ours
	 * to close any more. */
	(void)ht_relay_watch(r, 0);
	r->fd = -1;
	(void)ho->adopt(ho->arg, &h);
	ht_relay_close(r, HT_RELAY_QUIET, "handed to the converter");
	return true;
}

/* A connection the convert client gives back (tunnel/handoff.h): nothing
 * of it reached a converter. */
int ht_client_adopt(void *arg, const struct ht_handoff *h)
{
	struct ht_client *cl = arg;
	struct cli_relay *cr = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	uint8_t a16[16];
	uint16_t port = 0;
	char src[64], dst[64];

	if (!cl->stopping)
		cr = calloc(1, sizeof(*cr));
	if (cr == NULL || (h->elen > 0 && (cr->sbuf = malloc(h->elen)) == NULL)) {
		uint8_t out[SOCKS5_REPLY_V6_SIZE];
		int n = socks5_write_reply(out, sizeof(out), SOCKS5_REP_GENERAL_FAILURE, NULL, 0);

		free(cr);
		cl->tcp_refused++;
		if (h->kind == HT_HANDOFF_SOCKS && n > 0)
			(void)send(h->fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
		ht_tcp_close_reset(h->fd);
		return -1;
	}
	cr->cl = cl;
	cr->kind = h->kind == HT_HANDOFF_SOCKS    ? KIND_SOCKS
		   : h->kind == HT_HANDOFF_TPROXY ? KIND_TPROXY
						  : KIND_FWD;
	ht_relay_init(&cr->r, cl->loop, &cli_hooks, cl->cfg.idle_timeout);
	ht_relay_set_fd(&cr->r, h->fd);
	cr->r.next = cl->relays;
	if (cl->relays != NULL)
		cl->relays->prev = &cr->r;
	cl->relays = &cr->r;
	if (h->elen > 0)
		memcpy(cr->sbuf, h->early, h->elen);
	cr->slen = h->elen;
	memcpy(cr->r.dst.addr, h->dst, 16);
	cr->r.dst.port = h->port;
	if (getpeername(h->fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    ht_sockaddr_to16((struct sockaddr *)&ss, sl, a16, &port) != 0)
		memset(a16, 0, sizeof(a16));
	snprintf(cr->r.name, sizeof(cr->r.name), "%s%.50s -> %.50s",
		 cr->kind == KIND_SOCKS ? "socks " : cr->kind == KIND_TPROXY ? "tproxy " : "",
		 ht_addr16_str(a16, port, src, sizeof(src)),
		 ht_addr16_str(h->dst, h->port, dst, sizeof(dst)));
	cl->fallback++;
	cl->to_tunnel++;
	ht_log(HT_LOG_DEBUG, "client", "%s: via the tunnel (%s)", cr->r.name,
	       h->why != NULL ? h->why : "handed back");
	start_stream(cr);
	return 0;
}

/* ---- host names ----------------------------------------------------------------- */

static void resolved(void *arg, uint8_t rep, const uint8_t addr[16], const char *why)
{
	struct cli_relay *cr = arg;
	struct ht_relay *r = &cr->r;
	char a[64];

	cr->lookup = NULL;
	if (rep != 0) {
		cli_fail(cr, rep, why);
		return;
	}
	memcpy(r->dst.addr, addr, 16);
	ht_log(HT_LOG_DEBUG, "client", "%s: resolved to %s", r->name,
	       ht_addr16_str(addr, r->dst.port, a, sizeof(a)));
	start_stream(cr);
}

/* The destination is a name: resolve it through the tunnel (never here),
 * then start_stream.  The relay's name already says where to. */
static void resolve_then_start(struct cli_relay *cr, const char *name, size_t len)
{
	struct ht_client *cl = cr->cl;
	const char *why = "";
	uint8_t rep, addr[16];
	int rv;

	if (cl->cfg.handoff != NULL) {
		/* The concentrator resolves; the converter takes addresses only. */
		cl->names++;
		cl->to_tunnel++;
		ht_log(HT_LOG_DEBUG, "client", "%s: via the tunnel (host name)", cr->r.name);
	}
	if (cl->rs == NULL) {
		cli_fail(cr, SOCKS5_REP_GENERAL_FAILURE,
			 "host names need --dns (a resolver reached through the tunnel)");
		return;
	}
	cr->st = ST_RESOLVING;
	rv = ht_resolver_lookup(cl->rs, name, len, resolved, cr, &cr->lookup, &rep, addr, &why);
	if (rv == 1) {
		if (rep != 0) {
			cli_fail(cr, rep, "cached: no such host");
			return;
		}
		memcpy(cr->r.dst.addr, addr, 16);
		start_stream(cr);
	} else if (rv < 0) {
		cli_fail(cr, rep, why);
	}
}

/* The resolver's tunnelled connection: an ordinary relay to --dns. */
static int open_dns_conn(void *owner, int fd)
{
	struct ht_client *cl = owner;
	struct cli_relay *cr = calloc(1, sizeof(*cr));
	char a[64];

	if (cr == NULL) {
		close(fd);
		return -1;
	}
	cr->cl = cl;
	cr->kind = KIND_DNS;
	ht_relay_init(&cr->r, cl->loop, &cli_hooks, cl->cfg.idle_timeout);
	ht_relay_set_fd(&cr->r, fd);
	cr->r.next = cl->relays;
	if (cl->relays != NULL)
		cl->relays->prev = &cr->r;
	cl->relays = &cr->r;
	memcpy(cr->r.dst.addr, cl->cfg.dns_server.addr, 16);
	cr->r.dst.port = cl->cfg.dns_server.port;
	snprintf(cr->r.name, sizeof(cr->r.name), "dns -> %s",
		 ht_addr16_str(cr->r.dst.addr, cr->r.dst.port, a, sizeof(a)));
	start_stream(cr);
	return 0;
}

/* ---- SOCKS5 handshake --------------------------------------------------------- */

/* Returns true while the handshake needs more bytes (r alive); false once
 * it moved on or r ended. */
static bool socks_input(struct cli_relay *cr)
{
	struct ht_relay *r = &cr->r;
	struct socks5_greeting g;
	struct socks5_request q;
	uint8_t out[SOCKS5_METHOD_REPLY_SIZE];
	char dst[64];
	int n;

	if (cr->st == ST_SOCKS_GREETING) {
		n = socks5_parse_greeting(&g, cr->sbuf, cr->slen);
		if (n == HT_ERR_NEED_MORE)
			return true;
		if (n < 0) {
			ht_relay_close(r, HT_RELAY_QUIET, "bad SOCKS greeting");
			return false;
		}
		(void)socks5_write_method_reply(out, sizeof(out),
						g.no_auth ? SOCKS5_METHOD_NO_AUTH
							  : SOCKS5_METHOD_NONE_ACCEPTABLE);
		if (send(r->fd, out, sizeof(out), MSG_NOSIGNAL) != (ssize_t)sizeof(out) ||
		    !g.no_auth) {
			ht_relay_close(r, HT_RELAY_QUIET, "SOCKS: no acceptable method");
			return false;
		}
		memmove(cr->sbuf, cr->sbuf + n, cr->slen - (size_t)n);
		cr->slen -= (size_t)n;
		cr->st = ST_SOCKS_REQUEST;
	}
	n = socks5_parse_request(&q, cr->sbuf, cr->slen);
	if (n == HT_ERR_NEED_MORE)
		return true;
	if (n < 0) {
		int rep = socks5_error_rep(SOCKS5_STAGE_REQUEST, n);

		cr->st = ST_SOCKS_REQUEST;
		if (rep != SOCKS5_NO_REPLY)
			socks_reply(cr, (uint8_t)rep);
		ht_log(HT_LOG_INFO, "client", "%s: bad SOCKS request (%s)", r->name, ht_strerror(n));
		ht_relay_close(r, HT_RELAY_QUIET, "bad SOCKS request");
		return false;
	}
	r->dst.port = q.dst.port;
	ht_relay_watch(r, 0);
	ht_relay_set_deadline(r, HT_TIME_NEVER);
	if (q.dst.atyp == SOCKS5_ATYP_DOMAIN) {
		char name[256];
		size_t len = q.dst.name_len;

		memcpy(name, q.dst.name, len);
		name[len] = '\0';
		snprintf(r->name + strlen(r->name), sizeof(r->name) - strlen(r->name), " -> %.60s:%u",
			 name, q.dst.port);
		memmove(cr->sbuf, cr->sbuf + n, cr->slen - (size_t)n);
		cr->slen -= (size_t)n;
		resolve_then_start(cr, name, len);
		return false;
	}
	memcpy(r->dst.addr, q.dst.addr, 16);
	snprintf(r->name + strlen(r->name), sizeof(r->name) - strlen(r->name), " -> %s",
		 ht_addr16_str(r->dst.addr, r->dst.port, dst, sizeof(dst)));
	/* Bytes behind the request (an optimistic client) go after End. */
	memmove(cr->sbuf, cr->sbuf + n, cr->slen - (size_t)n);
	cr->slen -= (size_t)n;
	if (!route_away(cr))
		start_stream(cr);
	return false;
}

static void hook_owner_io(struct ht_relay *r, uint32_t ev)
{
	struct cli_relay *cr = (struct cli_relay *)r;
	ssize_t n;

	(void)ev;
	if (cr->st != ST_SOCKS_GREETING && cr->st != ST_SOCKS_REQUEST)
		return;
	n = recv(r->fd, cr->sbuf + cr->slen, SOCKS_BUF - cr->slen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ht_relay_close(r, HT_RELAY_QUIET, "SOCKS client went away");
		return;
	}
	cr->slen += (size_t)n;
	if (socks_input(cr) && cr->slen == SOCKS_BUF)
		ht_relay_close(r, HT_RELAY_QUIET, "SOCKS handshake too long");
}

static const struct ht_relay_hooks cli_hooks = {
	.header = hook_header,
	.header_error = hook_header_error,
	.early_reset = hook_early_reset,
	.timeout = hook_timeout,
	.owner_io = hook_owner_io,
	.done = hook_done,
};

/* ---- streams ------------------------------------------------------------------ */

/* Open a stream for cr, or queue it.  Returns 1 when queued for the stream
 * limit, 0 otherwise (opened, queued for the connection, or failed). */
static int try_open(struct cli_relay *cr, bool front)
{
	struct ht_client *cl = cr->cl;
	uint8_t hdr[QT_TLV_CONNECT_SIZE + QT_TLV_END_SIZE];
	struct ht_qconn *qc = ht_cpaths_stream_conn(cl->paths);
	int64_t sid;
	int rv = HT_QERR_CLOSED;

	/* The path scheduler places it; the stream never moves. */
	if (qc != NULL)
		rv = ht_qconn_open_bidi(qc, &sid);
	if (rv == HT_QERR_STREAM_LIMIT || rv == HT_QERR_CLOSED) {
		if (!cr->queued && cl->qlen >= cl->cfg.queue_max) {
			cli_fail(cr, SOCKS5_REP_GENERAL_FAILURE, "wait queue full");
			return 0;
		}
		if (!cr->queued) {
			cr->st = ST_QUEUED;
			queue_add(cl, cr, front);
			ht_relay_set_deadline(&cr->r, ht_loop_now(cl->loop) + cl->cfg.queue_timeout);
		}
		return rv == HT_QERR_STREAM_LIMIT;
	}
	queue_del(cl, cr);
	if (rv != 0) {
		cli_fail(cr, SOCKS5_REP_GENERAL_FAILURE, ht_qerr_str(rv));
		return 0;
	}
	if (ht_relay_attach(&cr->r, qc, sid, false) != 0) {
		(void)ht_qconn_stream_reset(qc, sid, QT_STREAM_RESET_TCP_CONNECTION_RESET);
		cli_fail(cr, SOCKS5_REP_GENERAL_FAILURE, "out of memory");
		return 0;
	}
	ht_relay_set_deadline(&cr->r, HT_TIME_NEVER);
	/* TCP Connect + End, then the bytes at once: no wait for Connect OK.
	 * Plain Connect, not Extended Connect: the local source is the
	 * client's private business (docs/protocol/quic-tunnel.md §2.4). */
	(void)qt_tlv_write_connect(hdr, sizeof(hdr), &cr->r.dst);
	(void)qt_tlv_write_end(hdr + QT_TLV_CONNECT_SIZE, sizeof(hdr) - QT_TLV_CONNECT_SIZE);
	if (ht_relay_send_raw(&cr->r, hdr, sizeof(hdr), false) != 0 ||
	    (cr->slen > 0 && ht_relay_send_raw(&cr->r, cr->sbuf, cr->slen, false) != 0)) {
		cli_fail(cr, SOCKS5_REP_GENERAL_FAILURE, "stream refused the header");
		return 0;
	}
	cr->r.up += cr->slen;
	free(cr->sbuf);
	cr->sbuf = NULL;
	cr->slen = 0;
	cr->st = ST_WAIT_OK;
	cl->tcp_total++;
	(void)ht_relay_start(&cr->r, false, true);
	return 0;
}

static void start_stream(struct cli_relay *cr)
{
	/* Loopback, unspecified, multicast and broadcast destinations cannot
	 * be named in a TCP Connect (quic-tunnel-00 §7.1.1): refuse them here,
	 * as the concentrator's policy would (REP 2). */
	if (ht_addr_forbidden_on_wire(cr->r.dst.addr)) {
		cli_fail(cr, SOCKS5_REP_NOT_ALLOWED, "destination cannot be tunnelled");
		return;
	}
	(void)try_open(cr, false);
}

static void drain_queue(struct ht_client *cl)
{
	while (cl->qhead != NULL && ht_cpaths_stream_conn(cl->paths) != NULL) {
		struct cli_relay *cr = cl->qhead;

		queue_del(cl, cr);
		if (try_open(cr, true) == 1)
			break;
	}
}

/* ---- listeners ---------------------------------------------------------------- */

static void on_accept(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct cli_listener *l = io->arg;
	struct ht_client *cl = l->cl;

	(void)loop;
	(void)ev;
	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct cli_relay *cr;
		uint8_t a16[16];
		uint16_t port = 0;
		char src[64], dst[64];
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				ht_log(HT_LOG_WARN, "client", "accept: %s", strerror(errno));
			return;
		}
		cr = calloc(1, sizeof(*cr));
		if (cr == NULL || (l->kind == KIND_SOCKS && (cr->sbuf = malloc(SOCKS_BUF)) == NULL)) {
			free(cr);
			ht_tcp_close_reset(fd);
			continue;
		}
		cr->cl = cl;
		cr->kind = l->kind;
		ht_relay_init(&cr->r, cl->loop, &cli_hooks, cl->cfg.idle_timeout);
		ht_relay_set_fd(&cr->r, fd);
		cr->r.next = cl->relays;
		if (cl->relays != NULL)
			cl->relays->prev = &cr->r;
		cl->relays = &cr->r;
		if (ht_sockaddr_to16((struct sockaddr *)&ss, sl, a16, &port) != 0)
			memset(a16, 0, sizeof(a16));
		ht_addr16_str(a16, port, src, sizeof(src));
		if (l->kind == KIND_TPROXY) {
			/* TPROXY: the accepted socket's local address is the
			 * original destination. */
			struct sockaddr_storage ls;
			socklen_t ll = sizeof(ls);

			if (getsockname(fd, (struct sockaddr *)&ls, &ll) != 0 ||
			    ht_sockaddr_to16((struct sockaddr *)&ls, ll, cr->r.dst.addr,
					     &cr->r.dst.port) != 0) {
				ht_relay_close(&cr->r, HT_RELAY_QUIET | HT_RELAY_RST_TCP,
					       "getsockname failed");
				continue;
			}
			snprintf(cr->r.name, sizeof(cr->r.name), "tproxy %.50s -> %.50s", src,
				 ht_addr16_str(cr->r.dst.addr, cr->r.dst.port, dst, sizeof(dst)));
			if (!route_away(cr))
				start_stream(cr);
			continue;
		}
		if (l->kind == KIND_FWD) {
			const struct ht_hostport *d = &l->fwd->dst;

			memcpy(cr->r.dst.addr, d->addr, 16);
			cr->r.dst.port = d->port;
			snprintf(cr->r.name, sizeof(cr->r.name), "%.50s -> %.56s", src,
				 d->is_name ? d->name : ht_addr16_str(d->addr, d->port, dst, sizeof(dst)));
			if (d->is_name) {
				resolve_then_start(cr, d->name, strlen(d->name));
				continue;
			}
			if (!route_away(cr))
				start_stream(cr);
			continue;
		}
		snprintf(cr->r.name, sizeof(cr->r.name), "socks %s", src);
		cr->st = ST_SOCKS_GREETING;
		ht_relay_set_deadline(&cr->r, ht_loop_now(cl->loop) + SOCKS_HANDSHAKE_TIMEOUT);
		if (ht_relay_watch(&cr->r, EPOLLIN) != 0)
			ht_relay_close(&cr->r, HT_RELAY_QUIET, "epoll failed");
	}
}

static int listen_on(const struct ht_hostport *hp, bool transparent, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = ht_sockaddr_from16(&ss, hp->addr, hp->port);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	char a[64];

	if (fd < 0)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* IP_TRANSPARENT: accept connections to any address that nftables
	 * TPROXY steers to this socket (needs CAP_NET_ADMIN). */
	if (transparent &&
	    setsockopt(fd, ss.ss_family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
		       ss.ss_family == AF_INET6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one,
		       sizeof(one)) != 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "cannot listen on %s: %s",
		 ht_addr16_str(hp->addr, hp->port, a, sizeof(a)), strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* ---- the QUIC connections (cpaths.h) ------------------------------------------ */

static void on_streams_ready(void *arg)
{
	drain_queue(arg);
}

/* Connection qc is gone: the tunnelled connections on it lose their
 * stream (those still waiting for Connect OK get their failure reply). */
static void on_conn_gone(void *arg, struct ht_qconn *qc)
{
	struct ht_client *cl = arg;
	struct ht_relay *r, *next;

	for (r = cl->relays; r != NULL; r = next) {
		struct cli_relay *cr = (struct cli_relay *)r;

		next = r->next;
		if (r->qc != qc)
			continue;
		if (cr->st == ST_WAIT_OK) {
			r->qc = NULL;
			r->sid = -1;
			cli_fail(cr, SOCKS5_REP_GENERAL_FAILURE, "tunnel connection lost");
		} else if (cr->st == ST_RELAY) {
			ht_relay_conn_lost(r, "tunnel connection lost");
		}
	}
}

static const struct ht_cpaths_hooks cli_paths_hooks = {
	.streams_ready = on_streams_ready,
	.conn_gone = on_conn_gone,
};

static int paths_new(struct ht_client *cl, char *err, size_t errlen)
{
	const struct ht_client_config *cfg = &cl->cfg;
	struct ht_cpaths_config pc;

	memset(&pc, 0, sizeof(pc));
	pc.server = cfg->server;
	pc.server_len = cfg->server_len;
	pc.server_str = cl->server_str;
	pc.tls = cl->tls;
	pc.ticket_file = cfg->ticket_file;
	ht_qconn_settings_default(&pc.set);
	if (cfg->quic_idle_timeout > 0)
		pc.set.idle_timeout = cfg->quic_idle_timeout;
	if (cfg->keep_alive > 0 || cfg->no_keep_alive)
		pc.set.keep_alive = cfg->keep_alive;
	pc.set.ngtcp2_debug = getenv("HATUN_NGTCP2_DEBUG") != NULL;
	pc.set.max_streams_uni = 1; /* the concentrator's control stream (-01 §7.1) */
	pc.set.fixed_udp_payload = cfg->dgram.tun != NULL;
	if (cfg->npath > HT_CPATHS_MAX) {
		snprintf(err, errlen, "at most %u --path", HT_CPATHS_MAX);
		return -1;
	}
	memcpy(pc.path, cfg->path, cfg->npath * sizeof(cfg->path[0]));
	pc.npath = cfg->npath;
	pc.policy = cfg->sched;
	ht_liveness_config_default(&pc.live);
	if (cfg->fail_rtts > 0)
		pc.live.fail_rtts = cfg->fail_rtts;
	return ht_cpaths_new(&cl->paths, cl->loop, &pc, &cli_paths_hooks, cl, err, errlen);
}

/* ---- set-up ------------------------------------------------------------------- */

int ht_client_new(struct ht_client **out, struct ht_loop *loop,
		  const struct ht_client_config *cfg, char *err, size_t errlen)
{
	struct ht_client *cl = calloc(1, sizeof(*cl));
	uint8_t a16[16];
	uint16_t port = 0;

	*out = NULL;
	if (cl == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cl->loop = loop;
	cl->cfg = *cfg;
	cl->started = ht_loop_now(loop);
	if (ht_sockaddr_to16((const struct sockaddr *)&cfg->server, cfg->server_len, a16, &port) ==
	    0)
		ht_addr16_str(a16, port, cl->server_str, sizeof(cl->server_str));
	if (cfg->nfwd > 0) {
		cl->fwd = calloc(cfg->nfwd, sizeof(*cl->fwd));
		if (cl->fwd == NULL)
			goto nomem;
		memcpy(cl->fwd, cfg->fwd, cfg->nfwd * sizeof(*cl->fwd));
		cl->cfg.fwd = cl->fwd;
	}
	cl->ls = calloc(cfg->nfwd + 3, sizeof(*cl->ls));
	if (cl->ls == NULL)
		goto nomem;
	if (cfg->dns && ht_resolver_new(&cl->rs, loop, open_dns_conn, cl) != 0)
		goto nomem;
	if (ht_tls_config_new(&cl->tls, HT_TLS_CLIENT, cfg->cert, cfg->key,
			      (const uint8_t(*)[HT_FP_LEN]) & cl->cfg.pin, cfg->have_pin ? 1 : 0, err,
			      errlen) != 0)
		goto fail;
	if (cfg->ca != NULL && (ht_tls_config_set_ca(cl->tls, cfg->ca, err, errlen) != 0 ||
				ht_tls_config_set_peer_name(cl->tls, cfg->server_name) != 0)) {
		if (err[0] == '\0')
			snprintf(err, errlen, "--ca needs the --server name");
		goto fail;
	}
	if (paths_new(cl, err, errlen) != 0)
		goto fail;
	cl->cfg.dgram.server = cfg->server;
	cl->cfg.dgram.server_len = cfg->server_len;
	cl->cfg.dgram.paths = cl->paths;
	cl->cfg.dgram.path_spec = cl->cfg.path;
	cl->cfg.dgram.npath_spec = cl->cfg.npath;
	if (ht_dgclient_new(&cl->dg, loop, &cl->cfg.dgram, err, errlen) != 0)
		goto fail;
	ht_cpaths_set_dgclient(cl->paths, cl->dg);
	for (size_t i = 0; i <= cfg->nfwd; i++) {
		struct cli_listener *l = &cl->ls[cl->nls];
		const struct ht_hostport *hp;
		char a[64], d[300];

		if (i == cfg->nfwd && !cfg->socks)
			break;
		hp = i < cfg->nfwd ? &cl->fwd[i].bind : &cfg->socks_listen;
		l->cl = cl;
		l->kind = i < cfg->nfwd ? KIND_FWD : KIND_SOCKS;
		l->fwd = i < cfg->nfwd ? &cl->fwd[i] : NULL;
		l->fd = listen_on(hp, false, err, errlen);
		if (l->fd < 0)
			goto fail;
		cl->nls++;
		if (ht_io_start(loop, &l->io, l->fd, EPOLLIN, on_accept, l) != 0) {
			snprintf(err, errlen, "epoll: %s", strerror(errno));
			goto fail;
		}
		if (l->kind == KIND_FWD) {
			const struct ht_hostport *dh = &l->fwd->dst;

			if (dh->is_name)
				snprintf(d, sizeof(d), "%s:%u", dh->name, dh->port);
			else
				ht_addr16_str(dh->addr, dh->port, d, sizeof(d));
			ht_log(HT_LOG_INFO, "client", "forwarding %s -> %s %s",
			       ht_addr16_str(hp->addr, hp->port, a, sizeof(a)), d,
			       cfg->handoff != NULL && !dh->is_name ? "(tunnel or converter by the rules)"
								    : "through the tunnel");
		} else {
			ht_log(HT_LOG_INFO, "client", "SOCKS5 server on %s",
			       ht_addr16_str(hp->addr, hp->port, a, sizeof(a)));
		}
	}
	for (int v6 = 0; cfg->transparent_port != 0 && v6 <= 1; v6++) {
		struct cli_listener *l = &cl->ls[cl->nls];
		struct ht_hostport any = {.port = cfg->transparent_port};
		char a[64];

		if (!v6)
			any.addr[10] = any.addr[11] = 0xff; /* 0.0.0.0 */
		l->cl = cl;
		l->kind = KIND_TPROXY;
		l->fd = listen_on(&any, true, err, errlen);
		if (l->fd < 0)
			goto fail;
		cl->nls++;
		if (ht_io_start(loop, &l->io, l->fd, EPOLLIN, on_accept, l) != 0) {
			snprintf(err, errlen, "epoll: %s", strerror(errno));
			goto fail;
		}
		ht_log(HT_LOG_INFO, "client",
		       "transparent proxy (TPROXY) on %s: redirected TCP goes through the %s",
		       ht_addr16_str(any.addr, any.port, a, sizeof(a)),
		       cfg->handoff != NULL ? "tunnel or the converter by the rules" : "tunnel");
	}
	ht_cpaths_start(cl->paths);
	*out = cl;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	ht_client_free(cl);
	return -1;
}

void ht_client_shutdown(struct ht_client *cl)
{
	cl->stopping = true;
	for (size_t i = 0; i < cl->nls; i++) {
		ht_io_stop(cl->loop, &cl->ls[i].io);
		close(cl->ls[i].fd);
	}
	cl->nls = 0;
	while (cl->relays != NULL)
		ht_relay_close(cl->relays, HT_RELAY_RST_TCP | HT_RELAY_RESET_STREAM,
			       "shutting down");
	ht_resolver_free(cl->rs);
	cl->rs = NULL;
	if (cl->paths != NULL)
		ht_cpaths_shutdown(cl->paths);
}

void ht_client_free(struct ht_client *cl)
{
	if (cl == NULL)
		return;
	if (!cl->stopping)
		ht_client_shutdown(cl);
	free(cl->ls);
	free(cl->fwd);
	ht_cpaths_free(cl->paths);
	ht_dgclient_free(cl->dg);
	ht_tls_config_free(cl->tls);
	free(cl);
}

/* The mixed mode's part of the snapshot: per-rule hits. */
static int routes_status(const struct ht_client *cl, struct ht_status *st)
{
	struct ht_status_routes *v = calloc(1, sizeof(*v));
	const struct ht_route_rules *rs = &cl->cfg.rules;

	st->routes = v;
	if (v == NULL)
		return -1;
	v->default_convert = cl->cfg.default_convert;
	v->default_hits = cl->default_hits;
	v->tunnel = cl->to_tunnel;
	v->convert = cl->to_convert;
	v->fallback = cl->fallback;
	v->names = cl->names;
	for (size_t i = 0; i < rs->n && i < HT_STATUS_ROUTE_RULES; i++) {
		if (ht_route_rule_format(&rs->rule[i], v->rule[i].spec, sizeof(v->rule[i].spec)) < 0)
			snprintf(v->rule[i].spec, sizeof(v->rule[i].spec), "?");
		v->rule[i].convert = rs->rule[i].via == HT_ROUTE_CONVERT;
		v->rule[i].hits = cl->rule_hits[i];
		v->nrules++;
	}
	return 0;
}

int ht_client_status(void *arg, struct ht_status *st)
{
	struct ht_client *cl = arg;

	st->role = "client";
	st->uptime = ht_loop_now(cl->loop) - cl->started;
	st->tcp_total = cl->tcp_total;
	st->tcp_refused = cl->tcp_refused;
	for (struct ht_relay *r = cl->relays; r != NULL; r = r->next)
		st->tcp_open += ((struct cli_relay *)r)->st >= ST_WAIT_OK;
	if (cl->rs != NULL) {
		size_t inflight;

		ht_resolver_counts(cl->rs, &st->dns_cache_hits, &st->dns_sent, &inflight);
	}
	if (ht_cpaths_status(cl->paths, st) != 0)
		return -1;
	/* Before the first handshake: the pinned fingerprint. */
	for (size_t i = 0; i < st->nconns; i++)
		if (st->conns[i].fp[0] == '\0' && cl->cfg.have_pin)
			ht_fingerprint_format(cl->cfg.pin, st->conns[i].fp);
	ht_dgclient_status(cl->dg, st);
	return cl->cfg.handoff != NULL ? routes_status(cl, st) : 0;
}
