#include "convert/converter.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "convert/cvcache.h"
#include "convert/cvrelay.h"
#include "convert/cvsock.h"
#include "core/log.h"
#include "proto/convert.h"
#include "proto/err.h"
#include "tunnel/ownaddr.h"
#include "tunnel/status.h"
#include "tunnel/tcp.h"

/* Bytes read while waiting for the Convert message: the message (<= 1020)
 * and whatever the client sent behind it in the same segments; the rest
 * waits in the socket. */
#define IN_CAP 4096
#define ACCEPTS_PER_EVENT 64
#define PENDING_BUCKETS 256
/* Sockets beyond max_conns still accepted, to read the message and answer
 * Resource Exceeded; beyond this slack they are reset unread. */
#define ACCEPT_SLACK(max) ((max) / 8 + 16)

enum conn_state {
	ST_HEADER,     /* reading the Convert message */
	ST_CONNECTING, /* upstream connect in progress */
	ST_RELAY,
};

struct pending_ent {
	struct pending_ent *next;
	uint8_t addr[16];
	size_t n;
};

struct cv_conn {
	struct ht_converter *cv;
	struct cv_conn *prev, *next;
	uint8_t st;
	bool counted;             /* in cv->active */
	bool c_mptcp, s_mptcp;    /* the client's / server's connection is MPTCP */
	bool s_native, s_tfo;     /* the server spoke MPTCP; the upstream SYN carried data */
	bool s_known_tcp;         /* plain TCP upstream: the destination is in cv->tcp_only */
	bool bootstrap;           /* the message had a Bootstrap TLV */
	int cfd, sfd;
	struct ht_io cio, sio;
	struct ht_timer timer;
	struct pending_ent *pend; /* while counted as pending for its client */
	uint8_t caddr[16];
	uint16_t cport;
	uint8_t dst[16];
	uint16_t dport;
	enum cv_form form;
	uint8_t *in;              /* ST_HEADER .. relay start */
	size_t inlen, msglen, early_sent;
	struct cv_relay relay;
	bool relay_on;
	ht_time accepted, started, last_io; /* started: the relay */
	char name[128];
};

struct ht_converter {
	struct ht_loop *loop;
	struct ht_converter_config cfg;
	int lfd;
	bool l_mptcp;
	struct ht_io lio;
	struct cv_conn *conns;
	size_t nconns, active;
	struct pending_ent *pending[PENDING_BUCKETS];
	/* Error TLV token bucket (tokens scaled by 1000 per second). */
	ht_time tb_last;
	uint64_t tb_tokens;
	uint64_t suppressed; /* Error TLVs not sent (rate limit) */
	struct ht_ownaddr *own; /* keeps the policy's own addresses current */
	ht_time log_last; /* the current second of refusal log lines */
	unsigned log_lines;
	uint64_t log_skipped;
	ht_time started;
	/* The counters of `hatun status` (accepted, refused, ...; bytes of
	 * closed connections); its lists and live figures stay empty here. */
	struct ht_status_conv n;
	/* Destinations that answered an MPTCP connect as TCP (--tcp-cache-ttl). */
	struct cv_cache tcp_only;
};

/* ---- helpers --------------------------------------------------------------------- */

static bool prefix_has(const struct ht_prefix *p, const uint8_t a[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	bool v4 = memcmp(a, mapped, 12) == 0;
	size_t full = p->len / 8, bits = p->len % 8;

	if (p->v4 != v4)
		return false;
	if (memcmp(p->addr, a, full) != 0)
		return false;
	return bits == 0 || ((p->addr[full] ^ a[full]) & (uint8_t)(0xff << (8 - bits))) == 0;
}

static bool client_allowed(const struct ht_converter *cv, const uint8_t a[16])
{
	if (cv->cfg.nclients == 0)
		return true;
	for (size_t i = 0; i < cv->cfg.nclients; i++)
		if (prefix_has(&cv->cfg.clients[i], a))
			return true;
	return false;
}

static unsigned bucket_of(const uint8_t a[16])
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ a[i]) * 16777619u;
	return h % PENDING_BUCKETS;
}

/* Count c as pending for its client.  false: the client is at its cap. */
static bool pending_take(struct ht_converter *cv, struct cv_conn *c)
{
	unsigned b = bucket_of(c->caddr);
	struct pending_ent *e;

	for (e = cv->pending[b]; e != NULL; e = e->next)
		if (memcmp(e->addr, c->caddr, 16) == 0)
			break;
	if (e == NULL) {
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return false;
		memcpy(e->addr, c->caddr, 16);
		e->next = cv->pending[b];
		cv->pending[b] = e;
	}
	if (e->n >= cv->cfg.max_pending_per_client) {
		if (e->n == 0) {
			cv->pending[b] = e->next;
			free(e);
		}
		return false;
	}
	e->n++;
	c->pend = e;
	return true;
}

static void pending_release(struct ht_converter *cv, struct cv_conn *c)
{
	struct pending_ent *e = c->pend, **pp;

	if (e == NULL)
		return;
	c->pend = NULL;
	if (--e->n > 0)
		return;
	for (pp = &cv->pending[bucket_of(e->addr)]; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	free(e);
}

/* Token bucket for Error TLVs (draft §4.2.2: SHOULD be rate-limited). */
static bool error_token(struct ht_converter *cv)
{
	ht_time now = ht_loop_now(cv->loop);
	uint64_t cap = 2000ull * cv->cfg.errors_per_second;

	cv->tb_tokens += (now - cv->tb_last) / HT_MS * cv->cfg.errors_per_second;
	if (cv->tb_tokens > cap)
		cv->tb_tokens = cap;
	cv->tb_last = now;
	if (cv->tb_tokens < 1000) {
		cv->suppressed++;
		return false;
	}
	cv->tb_tokens -= 1000;
	return true;
}

/* Refusal log lines: at most 20 in a second (a burst of them is logged,
 * not one per 50 ms), then one line saying how many were skipped. */
static bool log_token(struct ht_converter *cv)
{
	ht_time now = ht_loop_now(cv->loop);

	if (now - cv->log_last >= HT_SECONDS) {
		if (cv->log_skipped > 0)
			ht_log(HT_LOG_INFO, "converter", "%llu refusal log lines skipped",
			       (unsigned long long)cv->log_skipped);
		cv->log_skipped = 0;
		cv->log_lines = 0;
		cv->log_last = now;
	}
	if (cv->log_lines < 20) {
		cv->log_lines++;
		return true;
	}
	cv->log_skipped++;
	return false;
}

/* ---- connection life ------------------------------------------------------------- */

static void conn_free(struct cv_conn *c, bool reset, const char *why)
{
	struct ht_converter *cv = c->cv;

	ht_io_stop(cv->loop, &c->cio);
	ht_io_stop(cv->loop, &c->sio);
	ht_timer_cancel(cv->loop, &c->timer);
	pending_release(cv, c);
	if (c->st == ST_RELAY && why != NULL) {
		struct cv_tcp_facts f;

		/* Subflows as MPTCP_INFO counts them: the initial one + joins. */
		if (!c->c_mptcp || cv_tcp_facts_get(c->cfd, true, &f) != 0)
			memset(&f, 0, sizeof(f));
		ht_log(HT_LOG_INFO, "converter",
		       "%s: closed (%s), %llu bytes up, %llu down, %.3f s, client subflows %u",
		       c->name, why, (unsigned long long)c->relay.d[0].bytes,
		       (unsigned long long)c->relay.d[1].bytes,
		       (double)(ht_loop_now(cv->loop) - c->started) / HT_SECONDS,
		       f.mptcp_active ? f.subflows + 1u : 1u);
	}
	if (c->st == ST_RELAY) {
		cv->n.closed++;
		cv->n.bytes_up += c->relay.d[0].bytes;
		cv->n.bytes_down += c->relay.d[1].bytes;
	}
	if (c->relay_on)
		cv_relay_close(&c->relay);
	if (c->cfd >= 0) {
		if (reset)
			ht_tcp_close_reset(c->cfd);
		else
			close(c->cfd);
	}
	if (c->sfd >= 0) {
		if (reset)
			ht_tcp_close_reset(c->sfd);
		else
			close(c->sfd);
	}
	free(c->in);
	if (c->counted)
		cv->active--;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		cv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	cv->nconns--;
	free(c);
}

/* Answer with one Error TLV (unless rate-limited) and reset. */
static void refuse(struct cv_conn *c, uint8_t code, const uint8_t *value, size_t n,
		   const char *why)
{
	struct ht_converter *cv = c->cv;
	uint8_t msg[CV_MAX_LEN];
	struct cv_builder b;
	bool sent = false;
	int len;

	if (error_token(cv) && cv_build_begin(&b, msg, sizeof(msg), c->form) == 0 &&
	    cv_build_add_error(&b, code, value, n) == 0 && (len = cv_build_finish(&b)) > 0) {
		/* A fresh socket's send buffer takes ~1 KiB at once; what it
		 * does not take is lost with the reset anyway. */
		sent = send(c->cfd, msg, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT) == len;
	}
	cv->n.refused++;
	if (cv_error_index(code) >= 0)
		cv->n.errors[cv_error_index(code)]++;
	if (!sent)
		cv->n.errors_unsent++;
	if (log_token(cv))
		ht_log(HT_LOG_INFO, "converter", "%s: refused: %s (error %u%s)", c->name, why,
		       code, sent ? "" : ", not sent");
	conn_free(c, true, NULL);
}

/* Refuse a connect that failed upstream. */
static void refuse_connect(struct cv_conn *c, const struct ht_tcp_failure *f,
			   enum cv_fail_when when)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	uint8_t code, value;
	bool has;
	char why[160];

	cv_connect_error(f, when, memcmp(c->dst, mapped, 12) != 0, &code, &value, &has);
	snprintf(why, sizeof(why), "%s %s%s (%s%s)", cv_error_name(code),
		 when == CV_FAIL_TIMEOUT ? "connect timeout" : strerror(f->err),
		 f->outcome == HT_TCP_ICMP ? ", ICMP" : "", c->s_mptcp ? "MPTCP" : "TCP",
		 when == CV_FAIL_AT_ONCE ? ", at once" : "");
	refuse(c, code, &value, has ? 1 : 0, why);
}

static void relay_io(struct ht_loop *loop, struct ht_io *io, uint32_t ev);
static void conn_timer(struct ht_loop *loop, struct ht_timer *t);

static void relay_update(struct cv_conn *c, uint32_t ev)
{
	struct ht_converter *cv = c->cv;
	int failed = -1, rc = cv_relay_pump(&c->relay, &failed);
	struct ht_io *io[2] = {&c->cio, &c->sio};

	if (rc < 0) {
		char why[96];

		snprintf(why, sizeof(why), "%s %s", failed == 0 ? "client" : "server",
			 strerror(-rc));
		conn_free(c, true, why);
		return;
	}
	if (rc == 0) {
		conn_free(c, false, "both sides closed");
		return;
	}
	if (ev & EPOLLERR) {
		conn_free(c, true, "socket error");
		return;
	}
	c->last_io = ht_loop_now(cv->loop);
	for (int i = 0; i < 2; i++) {
		/* A socket we neither read nor write any more (EOF read, FIN
		 * sent) would report EPOLLHUP for ever: stop watching it. */
		if (c->relay.d[i].eof && c->relay.d[1 - i].done) {
			ht_io_stop(cv->loop, io[i]);
			continue;
		}
		if (ht_io_modify(cv->loop, io[i], c->relay.want[i]) != 0) {
			conn_free(c, true, "epoll failed");
			return;
		}
	}
}

static void relay_io(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	(void)loop;
	relay_update(io->arg, ev);
}

/* Upstream connected: reply, then relay. */
static void connected(struct cv_conn *c)
{
	struct ht_converter *cv = c->cv;
	struct cv_tcp_facts facts;
	uint8_t msg[CV_MAX_LEN], opts[64];
	static const uint8_t kinds[] = {4, 8, 30, 34};
	struct cv_builder b;
	int olen, len;

	pending_release(cv, c);
	if (cv_tcp_facts_get(c->sfd, c->s_mptcp, &facts) != 0)
		memset(&facts, 0, sizeof(facts));
	olen = cv_ext_opts_build(&facts, opts, sizeof(opts));
	if (olen < 0 || cv_build_begin(&b, msg, sizeof(msg), c->form) != 0 ||
	    (c->bootstrap && cv_build_add_supported(&b, kinds, sizeof(kinds)) != 0) ||
	    cv_build_add_ext_tcp_hdr(&b, opts, (size_t)olen) != 0 ||
	    (len = cv_build_finish(&b)) < 0) {
		conn_free(c, true, NULL);
		return;
	}
	if (send(c->cfd, msg, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT) != len) {
		ht_log(HT_LOG_INFO, "converter", "%s: client gone before the reply", c->name);
		conn_free(c, true, NULL);
		return;
	}
	if (cv_relay_init(&c->relay, c->cfd, c->sfd,
			  cv_relay_copy_mask(c->c_mptcp, c->s_mptcp)) != 0) {
		c->relay_on = true;
		conn_free(c, true, NULL);
		return;
	}
	c->relay_on = true;
	c->s_native = facts.mptcp_active;
	c->s_tfo = facts.have_tcp_info && (facts.tcpi_options & TCPI_OPT_SYN_DATA);
	/* An MPTCP connect the server answered as TCP: plain TCP next time. */
	if (c->s_mptcp && !c->s_native && cv->cfg.tcp_cache_ttl > 0)
		cv_cache_put(&cv->tcp_only, c->dst, c->dport, ht_loop_now(cv->loop));
	cv->n.converted++;
	if (cv_relay_preload(&c->relay, 0, c->in + c->msglen + c->early_sent,
			     c->inlen - c->msglen - c->early_sent) != 0) {
		conn_free(c, true, NULL);
		return;
	}
	free(c->in);
	c->in = NULL;
	c->st = ST_RELAY;
	c->started = c->last_io = ht_loop_now(cv->loop);
	ht_timer_cancel(cv->loop, &c->timer);
	if (cv->cfg.idle_timeout > 0)
		(void)ht_timer_set(cv->loop, &c->timer, c->last_io + cv->cfg.idle_timeout);
	ht_log(HT_LOG_INFO, "converter",
	       "%s: open (client %s, server %s%s, subflows %u, relay up %s down %s)", c->name,
	       c->c_mptcp ? "MPTCP" : "TCP",
	       c->s_native	  ? "MPTCP"
	       : c->s_mptcp	  ? "TCP (MPTCP fell back)"
	       : c->s_known_tcp ? "TCP (known not to speak MPTCP)"
				  : "TCP",
	       c->s_tfo ? ", TFO" : "",
	       facts.subflows, c->relay.d[0].copy ? "copy" : "splice",
	       c->relay.d[1].copy ? "copy" : "splice");
	c->cio.cb = relay_io;
	c->sio.cb = relay_io;
	relay_update(c, 0);
}

static void upstream_io(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct cv_conn *c = io->arg;
	struct ht_tcp_failure f;
	enum ht_tcp_outcome o;

	(void)loop;
	(void)ev;
	o = ht_tcp_connect_result(c->sfd, c->dst, c->dport, &f);
	if (o == HT_TCP_IN_PROGRESS)
		return;
	if (o != HT_TCP_CONNECTED) {
		refuse_connect(c, &f, CV_FAIL_ASYNC);
		return;
	}
	connected(c);
}

/* The client's socket while the upstream connect runs: only its death
 * matters (reads wait for the relay). */
static void client_wait_io(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct cv_conn *c = io->arg;

	(void)loop;
	if (ev & (EPOLLERR | EPOLLHUP))
		conn_free(c, true, NULL);
}

static bool opts_list(const uint8_t *opts, size_t len, uint8_t kind)
{
	struct cv_opt_iter it;
	struct cv_opt o;

	cv_opt_iter_init(&it, opts, len);
	while (cv_opt_next(&it, &o) == 1)
		if (o.kind == kind)
			return true;
	return false;
}

static void start_connect(struct cv_conn *c, const struct cv_msg *m)
{
	struct ht_converter *cv = c->cv;
	struct ht_tcp_failure f;
	enum ht_tcp_outcome o;
	enum ht_policy_verdict v;
	uint8_t kind = 0, back_off = 1;
	char d[64];
	bool mptcp, tfo;
	int rc;

	memcpy(c->dst, m->connect.addr, 16);
	c->dport = m->connect.port;
	snprintf(c->name + strlen(c->name), sizeof(c->name) - strlen(c->name), " -> %s",
		 ht_addr16_str(c->dst, c->dport, d, sizeof(d)));
	rc = cv_opts_check(m->connect.opts, m->connect.opts_len, &kind);
	if (rc == HT_ERR_UNSUPPORTED) {
		refuse(c, CV_E_UNSUPPORTED_TCP_OPTION, &kind, 1, "TCP option refused");
		return;
	}
	if (rc != 0) {
		refuse(c, CV_E_MALFORMED, c->in, c->msglen, ht_strerror(rc));
		return;
	}
	v = ht_policy_check(cv->cfg.policy, c->dst, c->dport);
	if (!ht_policy_allowed(v)) {
		refuse(c, CV_E_NOT_AUTHORIZED, NULL, 0, ht_policy_verdict_str(v));
		return;
	}
	if (cv->active >= cv->cfg.max_conns) {
		cv->n.cap_conns++;
		refuse(c, CV_E_RESOURCE_EXCEEDED, &back_off, 1, "--max-conns reached");
		return;
	}
	if (!pending_take(cv, c)) {
		cv->n.cap_pending++;
		refuse(c, CV_E_RESOURCE_EXCEEDED, &back_off, 1, "--max-pending-per-client reached");
		return;
	}
	cv->active++;
	c->counted = true;
	/* MPTCP upstream when the client came over MPTCP or asked for it
	 * (§4.1: MP_CAPABLE SHOULD be added if the incoming SYN had it; §7:
	 * do not offer the server options the client did not). */
	mptcp = c->c_mptcp || opts_list(m->connect.opts, m->connect.opts_len, 30);
	/* ... except toward a destination that answered MPTCP as TCP within
	 * --tcp-cache-ttl: an MPTCP socket fallen back to TCP still costs
	 * MPTCP's send path (docs/protocol/convert.md "Relay cost"). */
	if (mptcp && cv_cache_has(&cv->tcp_only, c->dst, c->dport, ht_loop_now(cv->loop))) {
		mptcp = false;
		c->s_known_tcp = true;
		cv->n.upstream_tcp++;
	}
	tfo = opts_list(m->connect.opts, m->connect.opts_len, 34);
	o = cv_connect(c->dst, c->dport, mptcp, tfo, c->in + c->msglen, c->inlen - c->msglen,
		       &c->early_sent, &c->sfd, &c->s_mptcp, &f);
	if (o != HT_TCP_IN_PROGRESS && o != HT_TCP_CONNECTED) {
		refuse_connect(c, &f, CV_FAIL_AT_ONCE);
		return;
	}
	if (c->s_mptcp)
		cv_mptcp_fix_rcvbuf(c->sfd);
	c->st = ST_CONNECTING;
	c->cio.cb = client_wait_io;
	if (ht_io_modify(cv->loop, &c->cio, 0) != 0 ||
	    ht_io_start(cv->loop, &c->sio, c->sfd, EPOLLOUT, upstream_io, c) != 0) {
		conn_free(c, true, NULL);
		return;
	}
	(void)ht_timer_set(cv->loop, &c->timer, ht_loop_now(cv->loop) + cv->cfg.connect_timeout);
	if (o == HT_TCP_CONNECTED)
		connected(c);
}

/* The whole message is in c->in (or it is broken): act on it. */
static void handle_message(struct cv_conn *c, int n, const struct cv_msg *m)
{
	static const uint8_t versions[] = {CV_VERSION};
	struct ht_converter *cv = c->cv;
	int code;

	c->form = m->hdr.form;
	if (n >= 0)
		n = cv_msg_check_sender(m, true) == HT_ERR_WRONG_SENDER ? HT_ERR_WRONG_SENDER : n;
	if (n < 0) {
		size_t echo = c->inlen;

		code = cv_err_to_code(n);
		if (code == CV_NO_REPLY) {
			cv->n.not_convert++;
			if (log_token(cv))
				ht_log(HT_LOG_INFO, "converter", "%s: not a Convert stream (%s): reset",
				       c->name, ht_strerror(n));
			conn_free(c, true, NULL);
			return;
		}
		if (m->hdr.total_len > 0 && m->hdr.total_len < echo)
			echo = m->hdr.total_len;
		if (code == CV_E_UNSUPPORTED_VERSION)
			refuse(c, (uint8_t)code, versions, sizeof(versions), "version");
		else
			refuse(c, (uint8_t)code, c->in, echo, ht_strerror(n));
		return;
	}
	c->msglen = (size_t)n;
	if (!client_allowed(cv, c->caddr)) {
		refuse(c, CV_E_NOT_AUTHORIZED, NULL, 0, "client not in --allow-client");
		return;
	}
	if (m->present & CV_HAS_ERROR) {
		cv->n.not_convert++;
		if (log_token(cv))
			ht_log(HT_LOG_INFO, "converter", "%s: client sent Error %u: reset", c->name,
			       m->error.code);
		conn_free(c, true, NULL);
		return;
	}
	c->bootstrap = (m->present & CV_HAS_BOOTSTRAP) != 0;
	if (c->bootstrap)
		cv->n.bootstraps++;
	if (m->present & CV_HAS_CONNECT) {
		start_connect(c, m);
		return;
	}
	if (c->bootstrap) {
		static const uint8_t kinds[] = {4, 8, 30, 34};
		uint8_t msg[64];
		struct cv_builder b;
		int len;

		if (cv_build_begin(&b, msg, sizeof(msg), c->form) == 0 &&
		    cv_build_add_supported(&b, kinds, sizeof(kinds)) == 0 &&
		    (len = cv_build_finish(&b)) > 0)
			(void)send(c->cfd, msg, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
		ht_log(HT_LOG_DEBUG, "converter", "%s: bootstrap answered", c->name);
	}
	/* Bootstrap only, or an empty message: nothing to convert; FIN. */
	conn_free(c, false, NULL);
}

static void header_io(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct cv_conn *c = io->arg;
	struct cv_msg m;
	ssize_t r;
	int n;

	(void)loop;
	(void)ev;
	r = recv(c->cfd, c->in + c->inlen, IN_CAP - c->inlen, 0);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		/* Gone before a whole message (a truncated header ends here
		 * when the client shuts its side): Malformed if it sent
		 * anything, else nothing to answer. */
		if (c->inlen > 0 && r == 0) {
			n = cv_parse(c->in, c->inlen, &m);
			if (n == HT_ERR_NEED_MORE) {
				c->form = m.hdr.form;
				refuse(c, CV_E_MALFORMED, c->in, c->inlen, "message cut by EOF");
				return;
			}
		}
		conn_free(c, true, NULL);
		return;
	}
	c->inlen += (size_t)r;
	n = cv_parse(c->in, c->inlen, &m);
	if (n == HT_ERR_NEED_MORE)
		return; /* IN_CAP > CV_MAX_LEN: a message always fits */
	handle_message(c, n, &m);
}

static void conn_timer(struct ht_loop *loop, struct ht_timer *t)
{
	struct cv_conn *c = t->arg;
	struct ht_tcp_failure f = {.outcome = HT_TCP_NET_FAILURE, .err = ETIMEDOUT};
	struct cv_msg m;

	switch (c->st) {
	case ST_HEADER:
		if (c->inlen > 0) {
			(void)cv_parse(c->in, c->inlen, &m);
			c->form = m.hdr.form;
			refuse(c, CV_E_MALFORMED, c->in, c->inlen, "message incomplete at timeout");
		} else {
			conn_free(c, true, NULL);
		}
		return;
	case ST_CONNECTING:
		refuse_connect(c, &f, CV_FAIL_TIMEOUT);
		return;
	default:
		if (ht_loop_now(loop) - c->last_io >= c->cv->cfg.idle_timeout) {
			conn_free(c, true, "idle timeout");
			return;
		}
		(void)ht_timer_set(loop, t, c->last_io + c->cv->cfg.idle_timeout);
		return;
	}
}

/* ---- listener -------------------------------------------------------------------- */

static bool is_mptcp_conn(int fd)
{
	struct cv_tcp_facts f;

	return cv_tcp_facts_get(fd, true, &f) == 0 && f.mptcp_active;
}

static void on_accept(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct ht_converter *cv = io->arg;

	(void)ev;
	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct cv_conn *c;
		char a[64];
		int one = 1;
		int fd = accept4(cv->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				ht_log(HT_LOG_WARN, "converter", "accept: %s", strerror(errno));
			return;
		}
		c = NULL;
		if (cv->nconns < cv->cfg.max_conns + ACCEPT_SLACK(cv->cfg.max_conns) &&
		    (c = calloc(1, sizeof(*c))) != NULL && (c->in = malloc(IN_CAP)) == NULL) {
			free(c);
			c = NULL;
		}
		if (c == NULL) {
			cv->n.reset_unread++;
			if (log_token(cv))
				ht_log(HT_LOG_WARN, "converter", "%zu connections: reset unread",
				       cv->nconns);
			ht_tcp_close_reset(fd);
			continue;
		}
		cv->n.accepted++;
		c->cv = cv;
		c->cfd = fd;
		c->sfd = -1;
		c->accepted = ht_loop_now(loop);
		c->st = ST_HEADER;
		c->cio.fd = c->sio.fd = -1;
		ht_timer_init(&c->timer, conn_timer, c);
		if (ht_sockaddr_to16((struct sockaddr *)&ss, sl, c->caddr, &c->cport) != 0)
			memset(c->caddr, 0, 16);
		c->c_mptcp = cv->l_mptcp && is_mptcp_conn(fd);
		if (c->c_mptcp)
			cv_mptcp_fix_rcvbuf(fd);
		snprintf(c->name, sizeof(c->name), "%s",
			 ht_addr16_str(c->caddr, c->cport, a, sizeof(a)));
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->next = cv->conns;
		if (cv->conns != NULL)
			cv->conns->prev = c;
		cv->conns = c;
		cv->nconns++;
		if (ht_io_start(loop, &c->cio, fd, EPOLLIN, header_io, c) != 0 ||
		    ht_timer_set(loop, &c->timer, ht_loop_now(loop) + cv->cfg.header_timeout) != 0) {
			conn_free(c, true, NULL);
			continue;
		}
		/* With TFO the message came in the SYN: read it now. */
		header_io(loop, &c->cio, EPOLLIN);
	}
}

void ht_converter_config_defaults(struct ht_converter_config *cfg)
{
	cfg->max_conns = 4096;
	cfg->max_pending_per_client = 64;
	cfg->connect_timeout = 10 * HT_SECONDS;
	cfg->header_timeout = 10 * HT_SECONDS;
	cfg->idle_timeout = 600 * HT_SECONDS;
	cfg->errors_per_second = 100;
	cfg->tcp_cache_ttl = 600 * HT_SECONDS;
}

int ht_converter_new(struct ht_converter **out, struct ht_loop *loop,
		     const struct ht_converter_config *cfg, char *err, size_t errlen)
{
	struct ht_converter *cv = calloc(1, sizeof(*cv));
	int backlog = cfg->max_conns < 1024 ? 1024 : (int)(cfg->max_conns > 65535 ? 65535 : cfg->max_conns);
	char a[64];

	*out = NULL;
	if (cv == NULL) {
		ht_errbuf(err, errlen, "out of memory");
		return -1;
	}
	cv->loop = loop;
	cv->cfg = *cfg;
	cv->lio.fd = -1;
	cv->tb_last = cv->started = ht_loop_now(loop);
	ht_addr16_str(cfg->listen_addr, cfg->listen_port, cv->n.listen, sizeof(cv->n.listen));
	cv->n.max_conns = cfg->max_conns;
	cv->n.max_pending = cfg->max_pending_per_client;
	cv_cache_init(&cv->tcp_only, cfg->tcp_cache_ttl);
	cv->tb_tokens = 2000ull * cfg->errors_per_second;
	/* Our own addresses are refused as destinations, kept current as
	 * they come and go (tunnel/ownaddr, as the concentrator does). */
	if (!cfg->own_kept && ht_ownaddr_new(&cv->own, loop, cv->cfg.policy, err, errlen) != 0) {
		if (cv->own == NULL) {
			free(cv);
			return -1;
		}
		ht_log(HT_LOG_WARN, "converter",
		       "%s: addresses added later are not refused until a restart", err);
		err[0] = '\0';
	}
	/* The TFO queue as long as the backlog: an overflow makes an MPTCP
	 * connection fall back to TCP (docs/protocol/convert.md). */
	cv->lfd = cv_listen(cfg->listen_addr, cfg->listen_port, backlog, backlog, &cv->l_mptcp, err,
			    errlen);
	if (cv->lfd < 0 || ht_io_start(loop, &cv->lio, cv->lfd, EPOLLIN, on_accept, cv) != 0) {
		if (cv->lfd >= 0) {
			ht_errbuf(err, errlen, "epoll failed");
			close(cv->lfd);
		}
		ht_ownaddr_free(cv->own);
		free(cv);
		return -1;
	}
	ht_log(HT_LOG_INFO, "converter", "listening on %s (%s, TCP Fast Open)",
	       ht_addr16_str(cfg->listen_addr, cfg->listen_port, a, sizeof(a)),
	       cv->l_mptcp ? "MPTCP" : "TCP only: no MPTCP in this kernel");
	*out = cv;
	return 0;
}

void ht_converter_shutdown(struct ht_converter *cv)
{
	if (cv == NULL)
		return;
	if (cv->lfd >= 0) {
		ht_io_stop(cv->loop, &cv->lio);
		close(cv->lfd);
		cv->lfd = -1;
	}
	while (cv->conns != NULL)
		conn_free(cv->conns, true, "shutdown");
}

void ht_converter_free(struct ht_converter *cv)
{
	if (cv == NULL)
		return;
	ht_converter_shutdown(cv);
	for (int b = 0; b < PENDING_BUCKETS; b++) {
		while (cv->pending[b] != NULL) {
			struct pending_ent *e = cv->pending[b];

			cv->pending[b] = e->next;
			free(e);
		}
	}
	if (cv->suppressed > 0)
		ht_log(HT_LOG_INFO, "converter", "%llu Error TLVs suppressed by the rate limit",
		       (unsigned long long)cv->suppressed);
	ht_ownaddr_free(cv->own);
	free(cv);
}

size_t ht_converter_live(const struct ht_converter *cv)
{
	return cv != NULL ? cv->nconns : 0;
}

/* ---- hatun status ---------------------------------------------------------------- */

static void conn_status(const struct cv_conn *c, ht_time now, struct ht_status_cvconn *o)
{
	static const char *const state[] = {"header", "connecting", "relay"};
	int n;

	ht_addr16_str(c->caddr, c->cport, o->client, sizeof(o->client));
	if (c->st != ST_HEADER)
		ht_addr16_str(c->dst, c->dport, o->dest, sizeof(o->dest));
	else
		snprintf(o->dest, sizeof(o->dest), "-");
	snprintf(o->state, sizeof(o->state), "%s", state[c->st]);
	o->mptcp = c->c_mptcp;
	o->subflows = 1;
	if (c->c_mptcp && (n = cv_mptcp_subflows(c->cfd)) > 0)
		o->subflows = (unsigned)n;
	o->age = now - c->accepted;
	if (c->st == ST_RELAY) {
		snprintf(o->server, sizeof(o->server), "%s",
			 c->s_native	  ? "MPTCP"
			 : c->s_mptcp	  ? "TCP fallback"
			 : c->s_known_tcp ? "TCP cached"
					  : "TCP");
		o->tfo = c->s_tfo;
		o->up = c->relay.d[0].bytes;
		o->down = c->relay.d[1].bytes;
	}
}

int ht_converter_status_conv(const struct ht_converter *cv, struct ht_status_conv **out)
{
	struct ht_status_conv *v = calloc(1, sizeof(*v));
	size_t cap = cv->nconns < HT_STATUS_CV_LIST ? cv->nconns : HT_STATUS_CV_LIST;
	ht_time now = ht_loop_now(cv->loop);

	*out = v;
	if (v == NULL)
		return -1;
	*v = cv->n;
	v->mptcp = cv->l_mptcp;
	v->tcp_dests = cv_cache_count(&cv->tcp_only, now);
	if (cap > 0 && (v->conns = calloc(cap, sizeof(*v->conns))) == NULL)
		return -1;
	for (const struct cv_conn *c = cv->conns; c != NULL; c = c->next) {
		v->open++;
		if (c->st == ST_HEADER)
			v->header++;
		else if (c->st == ST_CONNECTING)
			v->connecting++;
		else
			v->relaying++;
		if (c->st == ST_RELAY) {
			v->bytes_up += c->relay.d[0].bytes;
			v->bytes_down += c->relay.d[1].bytes;
		}
		if (v->nconns < cap)
			conn_status(c, now, &v->conns[v->nconns++]);
	}
	return 0;
}

int ht_converter_status(void *arg, struct ht_status *st)
{
	struct ht_converter *cv = arg;

	st->role = "converter";
	st->uptime = ht_loop_now(cv->loop) - cv->started;
	return ht_converter_status_conv(cv, &st->conv);
}
