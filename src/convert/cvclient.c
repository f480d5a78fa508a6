#include "convert/cvclient.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "convert/cvcache.h"
#include "convert/cvrelay.h"
#include "convert/cvsock.h"
#include "core/log.h"
#include "proto/addr.h"
#include "proto/convert.h"
#include "proto/err.h"
#include "proto/socks5.h"
#include "tunnel/status.h"
#include "tunnel/tcp.h"

#define SOCKS_BUF (SOCKS5_GREETING_MAX + SOCKS5_MSG_MAX)
#define SOCKS_HANDSHAKE_TIMEOUT (10 * HT_SECONDS)
#define ACCEPTS_PER_EVENT 64
#define MAX_LISTENERS 66
/* -L / --transparent: how long to wait for the application's first bytes
 * before connecting, so that they ride in the SYN with the Convert message
 * (clients speak first in most protocols; a server-first one pays this). */
#define FIRST_BYTES_WAIT (2 * HT_MS)
#define EARLY_MAX 1200 /* first bytes taken into the SYN (the kernel sends what fits) */

enum { KIND_FWD, KIND_SOCKS, KIND_TPROXY };

enum cc_state {
	CC_FIRST_BYTES, /* -L / TPROXY: waiting FIRST_BYTES_WAIT for the first bytes */
	CC_SOCKS_GREETING,
	CC_SOCKS_REQUEST,
	CC_CONNECTING, /* converter: message being sent / reply awaited; direct: connect */
	CC_RELAY,
};

struct cc_listener {
	struct ht_cvclient *cl;
	struct ht_io io;
	int fd;
	uint8_t kind;
	const struct ht_fwd *fwd;
};

struct cc_conn {
	struct ht_cvclient *cl;
	struct cc_conn *prev, *next;
	uint8_t kind, st;
	bool direct;      /* to the destination itself, not through the converter */
	bool tfo;         /* the Convert message went with TCP_FASTOPEN_CONNECT */
	bool c_mptcp;     /* cfd is an IPPROTO_MPTCP socket */
	int afd, cfd;     /* application side, converter (or destination) side */
	struct ht_io aio, cio;
	struct ht_timer timer;
	uint8_t dst[16];
	uint16_t dport;
	uint8_t *buf;     /* SOCKS handshake, then the outgoing Convert message + early bytes */
	size_t len, off;
	size_t early_sent; /* application bytes sent with the Convert message */
	struct cv_relay relay;
	bool relay_on;
	ht_time started, last_io;
	uint8_t caddr[16]; /* the application's address */
	uint16_t cport;
	char name[128];
};

struct ht_cvclient {
	struct ht_loop *loop;
	struct ht_cvclient_config cfg;
	struct cc_listener ls[MAX_LISTENERS];
	size_t nls;
	struct cc_conn *conns;
	size_t nconns;
	ht_time started;
	struct cv_cache cache;
	/* The converter. */
	char conv_str[64];
	bool bootstrapped, disabled, no_tfo;
	unsigned suspect; /* consecutive replies showing interference */
	int bfd;          /* bootstrap connection */
	struct ht_io bio;
	struct ht_timer btimer;
	uint64_t converted, direct, failed;
};

static bool is_v6(const uint8_t a[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, mapped, 12) != 0;
}

/* ---- connection life --------------------------------------------------------- */

static void cc_free(struct cc_conn *c, bool reset, const char *why)
{
	struct ht_cvclient *cl = c->cl;

	ht_io_stop(cl->loop, &c->aio);
	ht_io_stop(cl->loop, &c->cio);
	ht_timer_cancel(cl->loop, &c->timer);
	if (c->st == CC_RELAY && why != NULL)
		ht_log(HT_LOG_DEBUG, "client", "%s: closed (%s), %llu bytes up, %llu down", c->name,
		       why, (unsigned long long)c->relay.d[0].bytes,
		       (unsigned long long)c->relay.d[1].bytes);
	else if (why != NULL)
		ht_log(HT_LOG_INFO, "client", "%s: %s", c->name, why);
	if (c->relay_on)
		cv_relay_close(&c->relay);
	if (c->afd >= 0) {
		if (reset)
			ht_tcp_close_reset(c->afd);
		else
			close(c->afd);
	}
	if (c->cfd >= 0) {
		if (reset)
			ht_tcp_close_reset(c->cfd);
		else
			close(c->cfd);
	}
	free(c->buf);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		cl->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	cl->nconns--;
	free(c);
}

static void socks_reply(struct cc_conn *c, uint8_t rep)
{
	uint8_t out[SOCKS5_REPLY_V6_SIZE];
	int n = socks5_write_reply(out, sizeof(out), rep, NULL, 0);

	if (n > 0)
		(void)send(c->afd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* The connection failed before the relay: a SOCKS client hears why, the
 * others get a reset (the application sees the destination refuse). */
static void cc_fail(struct cc_conn *c, uint8_t rep, const char *why)
{
	c->cl->failed++;
	if (c->kind == KIND_SOCKS && c->st == CC_CONNECTING)
		socks_reply(c, rep);
	cc_free(c, true, why);
}

/* A reply (or its absence) that suggests something between us and the
 * converter interferes (§6), or that the converter does not answer: after
 * interference_max in a row the converter is no longer used; destinations
 * are then reached directly.  The disable line names the last cause, so
 * that an unreachable converter is not reported as a middlebox. */
static void converter_suspect(struct ht_cvclient *cl, const char *what)
{
	cl->suspect++;
	cl->no_tfo = true; /* next time: a plain handshake, then the message */
	ht_log(HT_LOG_WARN, "client", "converter %s: %s (%u in a row)", cl->conv_str, what,
	       cl->suspect);
	if (cl->suspect >= cl->cfg.interference_max && !cl->disabled) {
		cl->disabled = true;
		ht_log(HT_LOG_WARN, "client",
		       "converter %s disabled after %u suspect connections in a row (last: %s); %s",
		       cl->conv_str, cl->suspect, what,
		       cl->cfg.mixed ? "its destinations go through the QUIC tunnel"
				     : "connecting directly");
	}
}

static void converter_fine(struct ht_cvclient *cl)
{
	cl->suspect = 0;
	cl->no_tfo = false;
}

/* The mixed mode: the connection goes through the QUIC tunnel instead
 * (cfg.fallback), with the application's bytes read so far.  Only when
 * none of it reached a converter.  Returns false without a way back;
 * true when c is gone (its application socket now the tunnel's). */
static bool hand_back(struct cc_conn *c, const uint8_t *early, size_t elen, const char *why)
{
	const struct ht_handoff_ops *fb = c->cl->cfg.fallback;
	struct ht_handoff h;

	if (fb == NULL || c->afd < 0)
		return false;
	memset(&h, 0, sizeof(h));
	h.fd = c->afd;
	h.kind = c->kind == KIND_SOCKS    ? HT_HANDOFF_SOCKS
		 : c->kind == KIND_TPROXY ? HT_HANDOFF_TPROXY
					  : HT_HANDOFF_FWD;
	memcpy(h.dst, c->dst, 16);
	h.port = c->dport;
	h.early = early;
	h.elen = elen;
	h.why = why;
	ht_log(HT_LOG_INFO, "client", "%s: %s; through the QUIC tunnel instead", c->name, why);
	/* Out of our epoll set first: the tunnel registers the same fd. */
	ht_io_stop(c->cl->loop, &c->aio);
	c->afd = -1;
	(void)fb->adopt(fb->arg, &h); /* copies early */
	cc_free(c, true, NULL);
	return true;
}

/* The connection to the converter failed in a way that proves the
 * converter took none of its bytes: refused or unreachable during the
 * handshake (the kernel reports these only before the connection is
 * established). */
static bool refused_before_accept(int err)
{
	return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH;
}

/* The application bytes that went (or were to go) with the Convert
 * message: the tail of c->buf. */
static const uint8_t *early_of(const struct cc_conn *c)
{
	return c->buf + (c->len - c->early_sent);
}

static void relay_update(struct cc_conn *c, uint32_t ev)
{
	struct ht_cvclient *cl = c->cl;
	struct ht_io *io[2] = {&c->aio, &c->cio};
	int failed = -1, rc = cv_relay_pump(&c->relay, &failed);

	if (rc < 0) {
		char why[96];

		snprintf(why, sizeof(why), "%s %s", failed == 0 ? "application" : "peer",
			 strerror(-rc));
		cc_free(c, true, why);
		return;
	}
	if (rc == 0) {
		cc_free(c, false, "both sides closed");
		return;
	}
	if (ev & EPOLLERR) {
		cc_free(c, true, "socket error");
		return;
	}
	c->last_io = ht_loop_now(cl->loop);
	for (int i = 0; i < 2; i++) {
		if (c->relay.d[i].eof && c->relay.d[1 - i].done) {
			ht_io_stop(cl->loop, io[i]);
			continue;
		}
		if (ht_io_modify(cl->loop, io[i], c->relay.want[i]) != 0) {
			cc_free(c, true, "epoll failed");
			return;
		}
	}
}

static void relay_io(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	(void)loop;
	relay_update(io->arg, ev);
}

static void start_relay(struct cc_conn *c, const uint8_t *pending, size_t n)
{
	struct ht_cvclient *cl = c->cl;

	c->relay_on = true;
	if (cv_relay_init(&c->relay, c->afd, c->cfd, cv_relay_copy_mask(false, c->c_mptcp)) != 0 ||
	    cv_relay_preload(&c->relay, 0, pending, n) != 0) {
		cc_fail(c, SOCKS5_REP_GENERAL_FAILURE, "relay setup failed");
		return;
	}
	/* The relay counts what it moves; the first bytes went before it. */
	c->relay.d[0].bytes = c->early_sent;
	if (c->kind == KIND_SOCKS)
		socks_reply(c, SOCKS5_REP_SUCCEEDED);
	free(c->buf);
	c->buf = NULL;
	c->st = CC_RELAY;
	c->last_io = ht_loop_now(cl->loop);
	ht_timer_cancel(cl->loop, &c->timer);
	if (cl->cfg.idle_timeout > 0)
		(void)ht_timer_set(cl->loop, &c->timer, c->last_io + cl->cfg.idle_timeout);
	c->aio.cb = relay_io;
	c->cio.cb = relay_io;
	if (!c->aio.active && ht_io_start(cl->loop, &c->aio, c->afd, 0, relay_io, c) != 0) {
		cc_free(c, true, "epoll failed");
		return;
	}
	relay_update(c, 0);
}

/* ---- the converter's reply ----------------------------------------------------- */

/* Check §6 on a converted connection that the converter accepted: with a
 * cookie the SYN data must have been acknowledged, and MPTCP must not have
 * been stripped (on 6.18 an MPTCP connection whose SYN data is refused also
 * falls back to TCP).  Only a clean TFO connection clears the suspicion; a
 * clean plain one just lets the next connection try TFO again. */
static void check_interference(struct cc_conn *c)
{
	struct ht_cvclient *cl = c->cl;
	struct cv_tcp_facts f;

	if (cv_tcp_facts_get(c->cfd, true, &f) != 0)
		return;
	if (!f.mptcp_active) {
		converter_suspect(cl, "MPTCP fell back to TCP on the way (option stripped?)");
		return;
	}
	if (c->tfo && cl->bootstrapped && !(f.tcpi_options & TCPI_OPT_SYN_DATA)) {
		converter_suspect(cl, "SYN payload not acknowledged");
		return;
	}
	if (c->tfo)
		converter_fine(cl);
	else
		cl->no_tfo = false;
}

static void reply_io(struct ht_loop *loop, struct ht_io *io, uint32_t ev);

static void read_reply(struct cc_conn *c)
{
	struct ht_cvclient *cl = c->cl;
	uint8_t in[CV_MAX_LEN];
	struct cv_msg m;
	ssize_t r = recv(c->cfd, in, sizeof(in), MSG_PEEK);
	int n;
	char why[160];

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		int e = r < 0 ? errno : 0;

		snprintf(why, sizeof(why), "converter closed before replying (%s)",
			 r == 0 ? "EOF" : strerror(e));
		if (r < 0 && refused_before_accept(e)) {
			converter_suspect(cl, "connect failed");
			snprintf(why, sizeof(why), "converter unreachable: %s", strerror(e));
			if (!hand_back(c, early_of(c), c->early_sent, why))
				cc_fail(c, SOCKS5_REP_GENERAL_FAILURE, why);
			return;
		}
		converter_suspect(cl, "connection ended without a Convert reply");
		cc_fail(c, SOCKS5_REP_GENERAL_FAILURE, why);
		return;
	}
	n = cv_parse(in, (size_t)r, &m);
	if (n == HT_ERR_NEED_MORE)
		return;
	if (n >= 0 && cv_msg_check_sender(&m, false) != 0)
		n = HT_ERR_WRONG_SENDER;
	if (n < 0) {
		snprintf(why, sizeof(why), "converter reply unreadable (%s)", ht_strerror(n));
		converter_suspect(cl, "reply not a Convert message");
		cc_fail(c, SOCKS5_REP_GENERAL_FAILURE, why);
		return;
	}
	if (recv(c->cfd, in, (size_t)n, 0) != n) {
		cc_fail(c, SOCKS5_REP_GENERAL_FAILURE, "converter socket failed");
		return;
	}
	if (m.present & CV_HAS_ERROR) {
		uint8_t rep = cv_error_socks_rep(m.error.code, m.error.value, m.error.value_len,
						 is_v6(c->dst));

		snprintf(why, sizeof(why), "converter refused: error %u (SOCKS REP %u)", m.error.code,
			 rep);
		cc_fail(c, rep, why);
		return;
	}
	if (m.present & CV_HAS_EXT_TCP_HDR) {
		struct cv_opt_iter it;
		struct cv_opt o;
		bool mp = false;

		cv_opt_iter_init(&it, m.ext_tcp_hdr.data, m.ext_tcp_hdr.len);
		while (cv_opt_next(&it, &o) == 1)
			mp = mp || o.kind == 30;
		if (mp && !cv_cache_has(&cl->cache, c->dst, c->dport, ht_loop_now(cl->loop))) {
			cv_cache_put(&cl->cache, c->dst, c->dport, ht_loop_now(cl->loop));
			ht_log(HT_LOG_INFO, "client",
			       "%s: the server speaks MPTCP: direct connections from now on",
			       c->name);
		}
	}
	check_interference(c);
	cl->converted++;
	ht_log(HT_LOG_DEBUG, "client", "%s: converted%s", c->name, c->tfo ? " (TFO)" : "");
	start_relay(c, NULL, 0);
}

/* Writing the Convert message (+ early bytes), then waiting for the reply. */
static void send_more(struct cc_conn *c)
{
	struct ht_cvclient *cl = c->cl;
	ssize_t w;

	while (c->off < c->len) {
		w = send(c->cfd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
		if (w < 0) {
			/* TCP_FASTOPEN_CONNECT without a cookie, or a plain
			 * connect: not connected yet; EPOLLOUT says when. */
			if (errno == EAGAIN || errno == EINPROGRESS || errno == ENOTCONN ||
			    errno == EINTR)
				return;
			char why[96];
			int e = errno;

			snprintf(why, sizeof(why), "converter unreachable: %s", strerror(e));
			if (c->direct) {
				cc_fail(c, socks5_rep_from_errno(e), why);
				return;
			}
			converter_suspect(cl, "connect failed");
			/* Nothing sent yet: a refused handshake. */
			if (c->off == 0 && refused_before_accept(e) &&
			    hand_back(c, early_of(c), c->early_sent, why))
				return;
			cc_fail(c, SOCKS5_REP_GENERAL_FAILURE, why);
			return;
		}
		c->off += (size_t)w;
	}
	if (ht_io_modify(cl->loop, &c->cio, EPOLLIN) != 0)
		cc_fail(c, SOCKS5_REP_GENERAL_FAILURE, "epoll failed");
}

static void reply_io(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct cc_conn *c = io->arg;

	(void)loop;
	if (c->off < c->len) {
		send_more(c);
		return;
	}
	(void)ev;
	read_reply(c);
}

/* A direct connection (cache hit, or the converter disabled). */
static void direct_io(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct cc_conn *c = io->arg;
	struct ht_tcp_failure f;
	enum ht_tcp_outcome o = ht_tcp_connect_result(c->cfd, c->dst, c->dport, &f);

	(void)loop;
	(void)ev;
	if (o == HT_TCP_IN_PROGRESS)
		return;
	if (o != HT_TCP_CONNECTED) {
		/* Forget the destination: next time through the converter. */
		cv_cache_del(&c->cl->cache, c->dst, c->dport);
		cc_fail(c, socks5_rep_from_errno(f.err), "direct connect failed");
		return;
	}
	start_relay(c, c->buf, c->len);
}

static void start_connect(struct cc_conn *c, const uint8_t *early, size_t elen);

/* The first bytes came, or FIRST_BYTES_WAIT passed: connect with what is
 * there. */
static void take_first_bytes(struct cc_conn *c)
{
	uint8_t early[EARLY_MAX];
	ssize_t n = recv(c->afd, early, sizeof(early), MSG_DONTWAIT);

	if (n == 0) {
		cc_free(c, false, NULL); /* the application left at once */
		return;
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		cc_free(c, true, NULL);
		return;
	}
	ht_timer_cancel(c->cl->loop, &c->timer);
	if (ht_io_modify(c->cl->loop, &c->aio, 0) != 0) {
		cc_free(c, true, "epoll failed");
		return;
	}
	c->st = CC_CONNECTING;
	start_connect(c, early, n > 0 ? (size_t)n : 0);
}

static void first_io(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	(void)loop;
	(void)ev;
	take_first_bytes(io->arg);
}

static void cc_timer(struct ht_loop *loop, struct ht_timer *t)
{
	struct cc_conn *c = t->arg;

	switch (c->st) {
	case CC_FIRST_BYTES:
		take_first_bytes(c);
		return;
	case CC_SOCKS_GREETING:
	case CC_SOCKS_REQUEST:
		cc_free(c, true, "SOCKS handshake timeout");
		return;
	case CC_CONNECTING:
		if (!c->direct)
			converter_suspect(c->cl, "no Convert reply in time");
		cc_fail(c, SOCKS5_REP_GENERAL_FAILURE,
			c->direct ? "direct connect timeout" : "no Convert reply in time");
		return;
	default:
		if (ht_loop_now(loop) - c->last_io >= c->cl->cfg.idle_timeout) {
			cc_free(c, true, "idle timeout");
			return;
		}
		(void)ht_timer_set(loop, t, c->last_io + c->cl->cfg.idle_timeout);
	}
}

/* cfg.source, when the socket is of its family: the initial subflow's
 * source address (the port stays the kernel's choice, made at connect:
 * IP_BIND_ADDRESS_NO_PORT, best effort).  0, or -1 with errno. */
static int bind_source(const struct ht_cvclient *cl, int fd, int family)
{
	int one = 1;

	if (cl->cfg.source_len == 0 || cl->cfg.source.ss_family != family)
		return 0;
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	return bind(fd, (const struct sockaddr *)&cl->cfg.source, cl->cfg.source_len);
}

/* The destination is known: connect, through the converter or directly. */
static void start_connect(struct cc_conn *c, const uint8_t *early, size_t elen)
{
	struct ht_cvclient *cl = c->cl;
	ht_time now = ht_loop_now(cl->loop);
	uint8_t *msg;
	struct cv_builder b;
	char d[64];
	int n, fd, one = 1;
	bool mp;

	snprintf(c->name + strlen(c->name), sizeof(c->name) - strlen(c->name), " -> %s",
		 ht_addr16_str(c->dst, c->dport, d, sizeof(d)));
	if (ht_addr_forbidden_on_wire(c->dst)) {
		c->st = CC_CONNECTING;
		cc_fail(c, SOCKS5_REP_NOT_ALLOWED, "destination cannot be converted");
		return;
	}
	/* Handed over just before the converter was disabled (the -L first
	 * bytes wait): its destinations take the tunnel now. */
	if (cl->disabled && hand_back(c, early, elen, "converter disabled"))
		return;
	msg = malloc(CV_MAX_LEN + (SOCKS_BUF > EARLY_MAX ? SOCKS_BUF : EARLY_MAX));
	if (msg == NULL) {
		cc_fail(c, SOCKS5_REP_GENERAL_FAILURE, "out of memory");
		return;
	}
	c->direct = cl->disabled || cv_cache_has(&cl->cache, c->dst, c->dport, now);
	c->len = 0;
	if (!c->direct) {
		/* Connect TLV asking for MPTCP (kind 30, no content) and TFO
		 * (34, empty: the converter's kernel requests or uses its own
		 * cookie), so the first bytes may ride in the upstream SYN too. */
		static const uint8_t opts[] = {30, 2, 34, 2};

		if (cv_build_begin(&b, msg, CV_MAX_LEN, CV_FORM_02) != 0 ||
		    cv_build_add_connect(&b, c->dport, c->dst, opts, sizeof(opts)) != 0 ||
		    (n = cv_build_finish(&b)) < 0) {
			free(msg);
			cc_fail(c, SOCKS5_REP_GENERAL_FAILURE, "cannot build the Connect message");
			return;
		}
		c->len = (size_t)n;
	}
	if (elen > 0)
		memcpy(msg + c->len, early, elen);
	c->len += elen;
	/* Direct: the relay sends (and counts) them from its preload. */
	c->early_sent = c->direct ? 0 : elen;
	c->off = 0;
	free(c->buf);
	c->buf = msg;
	c->st = CC_CONNECTING;

	struct sockaddr_storage ss;
	socklen_t sl;

	if (c->direct)
		sl = ht_sockaddr_from16(&ss, c->dst, c->dport);
	else {
		memcpy(&ss, &cl->cfg.converter, cl->cfg.converter_len);
		sl = cl->cfg.converter_len;
	}
	fd = cv_socket(ss.ss_family, true, &mp);
	if (fd < 0) {
		cc_fail(c, SOCKS5_REP_GENERAL_FAILURE, "socket failed");
		return;
	}
	c->cfd = fd;
	c->c_mptcp = mp;
	if (bind_source(cl, fd, ss.ss_family) != 0) {
		char why[96];

		snprintf(why, sizeof(why), "bind to the first --path's address: %s", strerror(errno));
		cc_fail(c, SOCKS5_REP_GENERAL_FAILURE, why);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (mp)
		cv_mptcp_fix_rcvbuf(fd);
	c->tfo = !c->direct && !cl->no_tfo;
	if (c->tfo)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
		char why[96];
		int e = errno;

		snprintf(why, sizeof(why), "%s connect: %s", c->direct ? "direct" : "converter",
			 strerror(e));
		if (!c->direct) {
			converter_suspect(cl, "connect failed at once");
			if (hand_back(c, early_of(c), c->early_sent, why))
				return;
		}
		cc_fail(c, c->direct ? socks5_rep_from_errno(e) : SOCKS5_REP_GENERAL_FAILURE, why);
		return;
	}
	(void)ht_timer_set(cl->loop, &c->timer, now + cl->cfg.convert_timeout);
	if (c->direct) {
		cl->direct++;
		ht_log(HT_LOG_DEBUG, "client", "%s: direct (%s)", c->name,
		       cl->disabled ? "converter disabled" : "server speaks MPTCP");
		if (ht_io_start(cl->loop, &c->cio, fd, EPOLLOUT, direct_io, c) != 0)
			cc_fail(c, SOCKS5_REP_GENERAL_FAILURE, "epoll failed");
		return;
	}
	if (ht_io_start(cl->loop, &c->cio, fd, EPOLLOUT, reply_io, c) != 0) {
		cc_fail(c, SOCKS5_REP_GENERAL_FAILURE, "epoll failed");
		return;
	}
	/* With TFO_CONNECT and a cookie this send puts the message in the SYN. */
	send_more(c);
}

/* ---- SOCKS5 ------------------------------------------------------------------ */

static void socks_io(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct cc_conn *c = io->arg;
	struct socks5_greeting g;
	struct socks5_request q;
	uint8_t out[SOCKS5_METHOD_REPLY_SIZE];
	ssize_t r;
	int n;

	(void)loop;
	(void)ev;
	r = recv(c->afd, c->buf + c->len, SOCKS_BUF - c->len, 0);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		cc_free(c, false, NULL);
		return;
	}
	c->len += (size_t)r;
	if (c->st == CC_SOCKS_GREETING) {
		n = socks5_parse_greeting(&g, c->buf, c->len);
		if (n == HT_ERR_NEED_MORE)
			return;
		if (n < 0) {
			cc_free(c, true, "bad SOCKS greeting");
			return;
		}
		(void)socks5_write_method_reply(out, sizeof(out),
						g.no_auth ? SOCKS5_METHOD_NO_AUTH
							  : SOCKS5_METHOD_NONE_ACCEPTABLE);
		if (send(c->afd, out, sizeof(out), MSG_NOSIGNAL) != (ssize_t)sizeof(out) ||
		    !g.no_auth) {
			cc_free(c, true, "SOCKS: no acceptable method");
			return;
		}
		memmove(c->buf, c->buf + n, c->len - (size_t)n);
		c->len -= (size_t)n;
		c->st = CC_SOCKS_REQUEST;
	}
	n = socks5_parse_request(&q, c->buf, c->len);
	if (n == HT_ERR_NEED_MORE) {
		if (c->len == SOCKS_BUF)
			cc_free(c, true, "SOCKS handshake too long");
		return;
	}
	c->st = CC_CONNECTING; /* from here a failure is a SOCKS reply */
	if (n < 0) {
		int rep = socks5_error_rep(SOCKS5_STAGE_REQUEST, n);

		if (rep != SOCKS5_NO_REPLY)
			socks_reply(c, (uint8_t)rep);
		cc_free(c, true, "bad SOCKS request");
		return;
	}
	if (q.dst.atyp == SOCKS5_ATYP_DOMAIN) {
		/* No resolver here: the application resolves (socks5 vs socks5h). */
		cc_fail(c, SOCKS5_REP_ATYP_NOT_SUPPORTED, "SOCKS domain names not supported with --transport convert");
		return;
	}
	memcpy(c->dst, q.dst.addr, 16);
	c->dport = q.dst.port;
	if (ht_io_modify(c->cl->loop, &c->aio, 0) != 0) {
		cc_free(c, true, "epoll failed");
		return;
	}
	{
		/* Bytes behind the request (an optimistic client) ride along. */
		uint8_t early[SOCKS_BUF];
		size_t elen = c->len - (size_t)n;

		memcpy(early, c->buf + n, elen);
		start_connect(c, early, elen);
	}
}

/* ---- listeners ----------------------------------------------------------------- */

/* A connection object for the accepted socket fd (owned by it from here;
 * cc_free closes it), linked in; NULL when out of memory (fd untouched). */
static struct cc_conn *cc_new(struct ht_cvclient *cl, int fd, uint8_t kind,
			      const struct sockaddr *peer, socklen_t peer_len)
{
	struct cc_conn *c = calloc(1, sizeof(*c));
	char src[64];

	if (c == NULL)
		return NULL;
	c->cl = cl;
	c->kind = kind;
	c->afd = fd;
	c->cfd = -1;
	c->started = ht_loop_now(cl->loop);
	ht_timer_init(&c->timer, cc_timer, c);
	c->next = cl->conns;
	if (cl->conns != NULL)
		cl->conns->prev = c;
	cl->conns = c;
	cl->nconns++;
	if (ht_sockaddr_to16(peer, peer_len, c->caddr, &c->cport) != 0)
		memset(c->caddr, 0, sizeof(c->caddr));
	ht_addr16_str(c->caddr, c->cport, src, sizeof(src));
	snprintf(c->name, sizeof(c->name), "%s%.60s", kind == KIND_SOCKS ? "socks " : "", src);
	return c;
}

static void on_accept(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct cc_listener *l = io->arg;
	struct ht_cvclient *cl = l->cl;

	(void)ev;
	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct cc_conn *c;
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				ht_log(HT_LOG_WARN, "client", "accept: %s", strerror(errno));
			return;
		}
		c = cc_new(cl, fd, l->kind, (struct sockaddr *)&ss, sl);
		if (c == NULL || (l->kind == KIND_SOCKS && (c->buf = malloc(SOCKS_BUF)) == NULL)) {
			if (c != NULL)
				cc_free(c, true, NULL);
			else
				ht_tcp_close_reset(fd);
			continue;
		}
		if (l->kind == KIND_SOCKS) {
			c->st = CC_SOCKS_GREETING;
			if (ht_io_start(loop, &c->aio, fd, EPOLLIN, socks_io, c) != 0 ||
			    ht_timer_set(loop, &c->timer, ht_loop_now(loop) + SOCKS_HANDSHAKE_TIMEOUT) != 0)
				cc_free(c, true, "epoll failed");
			continue;
		}
		if (l->kind == KIND_TPROXY) {
			struct sockaddr_storage ls;
			socklen_t ll = sizeof(ls);

			if (getsockname(fd, (struct sockaddr *)&ls, &ll) != 0 ||
			    ht_sockaddr_to16((struct sockaddr *)&ls, ll, c->dst, &c->dport) != 0) {
				cc_free(c, true, "getsockname failed");
				continue;
			}
		} else {
			memcpy(c->dst, l->fwd->dst.addr, 16);
			c->dport = l->fwd->dst.port;
		}
		c->st = CC_FIRST_BYTES;
		if (ht_io_start(loop, &c->aio, fd, EPOLLIN, first_io, c) != 0 ||
		    ht_timer_set(loop, &c->timer, ht_loop_now(loop) + FIRST_BYTES_WAIT) != 0)
			cc_free(c, true, "epoll failed");
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
	if (transparent &&
	    setsockopt(fd, ss.ss_family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
		       ss.ss_family == AF_INET6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one,
		       sizeof(one)) != 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0)
		goto fail;
	return fd;
fail:
	ht_errbuf(err, errlen, "cannot listen on %s: %s",
		  ht_addr16_str(hp->addr, hp->port, a, sizeof(a)), strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int add_listener(struct ht_cvclient *cl, const struct ht_hostport *hp, uint8_t kind,
			const struct ht_fwd *fwd, char *err, size_t errlen)
{
	struct cc_listener *l = &cl->ls[cl->nls];

	if (cl->nls == MAX_LISTENERS) {
		ht_errbuf(err, errlen, "too many listeners");
		return -1;
	}
	l->fd = listen_on(hp, kind == KIND_TPROXY, err, errlen);
	if (l->fd < 0)
		return -1;
	l->cl = cl;
	l->kind = kind;
	l->fwd = fwd;
	cl->nls++;
	if (ht_io_start(cl->loop, &l->io, l->fd, EPOLLIN, on_accept, l) != 0) {
		ht_errbuf(err, errlen, "epoll failed");
		return -1;
	}
	return 0;
}

/* ---- connections handed over by the QUIC client (the mixed mode) --------------- */

bool ht_cvclient_usable(void *arg)
{
	const struct ht_cvclient *cl = arg;

	return !cl->disabled;
}

int ht_cvclient_adopt(void *arg, const struct ht_handoff *h)
{
	static const uint8_t kinds[] = {[HT_HANDOFF_FWD] = KIND_FWD,
					[HT_HANDOFF_SOCKS] = KIND_SOCKS,
					[HT_HANDOFF_TPROXY] = KIND_TPROXY};
	struct ht_cvclient *cl = arg;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	uint8_t kind = kinds[h->kind];
	struct cc_conn *c;

	if (getpeername(h->fd, (struct sockaddr *)&ss, &sl) != 0)
		sl = 0; /* the name says "::" then; the connection goes on */
	c = cc_new(cl, h->fd, kind, (struct sockaddr *)&ss, sl);
	if (c == NULL) {
		uint8_t out[SOCKS5_REPLY_V6_SIZE];
		int n = socks5_write_reply(out, sizeof(out), SOCKS5_REP_GENERAL_FAILURE, NULL, 0);

		cl->failed++;
		if (h->kind == HT_HANDOFF_SOCKS && n > 0)
			(void)send(h->fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
		ht_tcp_close_reset(h->fd);
		return -1;
	}
	memcpy(c->dst, h->dst, 16);
	c->dport = h->port;
	if (kind == KIND_SOCKS) {
		/* From here a failure is a SOCKS reply (cc_fail). */
		c->st = CC_CONNECTING;
		start_connect(c, h->early, h->elen);
		return 0;
	}
	c->st = CC_FIRST_BYTES;
	if (ht_io_start(cl->loop, &c->aio, c->afd, EPOLLIN, first_io, c) != 0 ||
	    ht_timer_set(cl->loop, &c->timer, ht_loop_now(cl->loop) + FIRST_BYTES_WAIT) != 0) {
		cc_free(c, true, "epoll failed");
		return -1;
	}
	return 0;
}

/* ---- bootstrap ------------------------------------------------------------------- */

static void bootstrap_end(struct ht_cvclient *cl)
{
	ht_io_stop(cl->loop, &cl->bio);
	ht_timer_cancel(cl->loop, &cl->btimer);
	if (cl->bfd >= 0)
		close(cl->bfd);
	cl->bfd = -1;
}

static void bootstrap_io(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	static const uint8_t msg[] = {1, 2, 0, 0, 1, 1, 0, 0};
	struct ht_cvclient *cl = io->arg;
	uint8_t in[CV_MAX_LEN];
	struct cv_msg m;
	ssize_t r;
	int n;

	(void)loop;
	(void)ev;
	if (io->events & EPOLLOUT) {
		r = send(cl->bfd, msg, sizeof(msg), MSG_NOSIGNAL);
		if (r < 0 && (errno == EAGAIN || errno == EINPROGRESS || errno == ENOTCONN))
			return;
		if (r != (ssize_t)sizeof(msg) || ht_io_modify(cl->loop, &cl->bio, EPOLLIN) != 0) {
			ht_log(HT_LOG_WARN, "client", "converter %s: bootstrap failed: %s",
			       cl->conv_str, r < 0 ? strerror(errno) : "short write");
			bootstrap_end(cl);
		}
		return;
	}
	r = recv(cl->bfd, in, sizeof(in), MSG_PEEK);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	n = r > 0 ? cv_parse(in, (size_t)r, &m) : HT_ERR_TRUNCATED;
	if (n == HT_ERR_NEED_MORE)
		return;
	if (n < 0 || !(m.present & CV_HAS_SUPPORTED)) {
		ht_log(HT_LOG_WARN, "client", "converter %s: bootstrap: no Supported Services (%s)",
		       cl->conv_str, n < 0 ? ht_strerror(n) : "other reply");
	} else {
		bool mp = false;

		for (size_t i = 0; i < m.supported.n; i++)
			mp = mp || m.supported.kinds[i] == 30;
		cl->bootstrapped = true;
		ht_log(HT_LOG_INFO, "client", "converter %s bootstrapped: %zu services%s",
		       cl->conv_str, m.supported.n, mp ? ", MPTCP" : ", no MPTCP (!)");
	}
	bootstrap_end(cl);
}

static void bootstrap_timeout(struct ht_loop *loop, struct ht_timer *t)
{
	struct ht_cvclient *cl = t->arg;

	(void)loop;
	ht_log(HT_LOG_WARN, "client", "converter %s: no bootstrap reply", cl->conv_str);
	bootstrap_end(cl);
}

/* A connection with an empty TFO option (TCP_FASTOPEN_CONNECT without a
 * cookie: the kernel asks for one) carrying the Bootstrap TLV. */
static void bootstrap_start(struct ht_cvclient *cl)
{
	bool mp;
	int one = 1;

	cl->bfd = cv_socket(cl->cfg.converter.ss_family, true, &mp);
	if (cl->bfd < 0)
		return;
	(void)setsockopt(cl->bfd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one));
	if (bind_source(cl, cl->bfd, cl->cfg.converter.ss_family) != 0 ||
	    (connect(cl->bfd, (struct sockaddr *)&cl->cfg.converter, cl->cfg.converter_len) != 0 &&
	     errno != EINPROGRESS) ||
	    ht_io_start(cl->loop, &cl->bio, cl->bfd, EPOLLOUT, bootstrap_io, cl) != 0) {
		ht_log(HT_LOG_WARN, "client", "converter %s: bootstrap: %s", cl->conv_str,
		       strerror(errno));
		bootstrap_end(cl);
		return;
	}
	(void)ht_timer_set(cl->loop, &cl->btimer, ht_loop_now(cl->loop) + cl->cfg.convert_timeout);
}

/* ---- object ---------------------------------------------------------------------- */

int ht_cvclient_new(struct ht_cvclient **out, struct ht_loop *loop,
		    const struct ht_cvclient_config *cfg, char *err, size_t errlen)
{
	struct ht_cvclient *cl = calloc(1, sizeof(*cl));
	struct ht_hostport hp;
	uint8_t a16[16];
	uint16_t port;

	*out = NULL;
	if (cl == NULL) {
		ht_errbuf(err, errlen, "out of memory");
		return -1;
	}
	cl->loop = loop;
	cl->cfg = *cfg;
	cl->bfd = -1;
	cl->started = ht_loop_now(loop);
	ht_timer_init(&cl->btimer, bootstrap_timeout, cl);
	cv_cache_init(&cl->cache, cfg->cache_ttl);
	if (ht_sockaddr_to16((const struct sockaddr *)&cfg->converter, cfg->converter_len, a16,
			     &port) == 0)
		ht_addr16_str(a16, port, cl->conv_str, sizeof(cl->conv_str));
	for (size_t i = 0; i < cfg->nfwd; i++)
		if (add_listener(cl, &cfg->fwd[i].bind, KIND_FWD, &cfg->fwd[i], err, errlen) != 0)
			goto fail;
	if (cfg->socks && add_listener(cl, &cfg->socks_listen, KIND_SOCKS, NULL, err, errlen) != 0)
		goto fail;
	if (cfg->transparent_port != 0) {
		memset(&hp, 0, sizeof(hp));
		hp.port = cfg->transparent_port;
		hp.addr[10] = hp.addr[11] = 0xff; /* 0.0.0.0 */
		if (add_listener(cl, &hp, KIND_TPROXY, NULL, err, errlen) != 0)
			goto fail;
		memset(hp.addr, 0, 16); /* :: */
		if (add_listener(cl, &hp, KIND_TPROXY, NULL, err, errlen) != 0)
			goto fail;
	}
	bootstrap_start(cl);
	ht_log(HT_LOG_INFO, "client", "converting through %s (MPTCP, TCP Fast Open)", cl->conv_str);
	*out = cl;
	return 0;
fail:
	ht_cvclient_free(cl);
	return -1;
}

void ht_cvclient_shutdown(struct ht_cvclient *cl)
{
	if (cl == NULL)
		return;
	for (size_t i = 0; i < cl->nls; i++) {
		ht_io_stop(cl->loop, &cl->ls[i].io);
		if (cl->ls[i].fd >= 0)
			close(cl->ls[i].fd);
		cl->ls[i].fd = -1;
	}
	cl->nls = 0;
	bootstrap_end(cl);
	while (cl->conns != NULL)
		cc_free(cl->conns, true, NULL);
}

void ht_cvclient_free(struct ht_cvclient *cl)
{
	if (cl == NULL)
		return;
	ht_cvclient_shutdown(cl);
	ht_log(HT_LOG_INFO, "client", "%llu converted, %llu direct, %llu failed",
	       (unsigned long long)cl->converted, (unsigned long long)cl->direct,
	       (unsigned long long)cl->failed);
	free(cl);
}

/* ---- hatun status ---------------------------------------------------------------- */

static void conn_status(const struct cc_conn *c, ht_time now, struct ht_status_cvconn *o)
{
	static const char *const state[] = {"first bytes", "socks", "socks", "connecting",
					    "relay"};
	struct cv_tcp_facts f;

	ht_addr16_str(c->caddr, c->cport, o->client, sizeof(o->client));
	if (c->st >= CC_CONNECTING)
		ht_addr16_str(c->dst, c->dport, o->dest, sizeof(o->dest));
	else
		snprintf(o->dest, sizeof(o->dest), "-");
	snprintf(o->state, sizeof(o->state), "%s", state[c->st]);
	o->via_conv = !c->direct;
	o->subflows = 1;
	if (c->cfd >= 0 && c->c_mptcp && cv_tcp_facts_get(c->cfd, true, &f) == 0 &&
	    f.mptcp_active) {
		o->mptcp = true;
		o->subflows = f.subflows + 1u;
	}
	if (c->st == CC_RELAY) {
		o->up = c->relay.d[0].bytes;
		o->down = c->relay.d[1].bytes;
	}
	o->age = now - c->started;
}

int ht_cvclient_status(void *arg, struct ht_status *st)
{
	struct ht_cvclient *cl = arg;
	ht_time now = ht_loop_now(cl->loop);
	size_t cap = cl->nconns < HT_STATUS_CV_LIST ? cl->nconns : HT_STATUS_CV_LIST;
	struct ht_status_cvc *v = calloc(1, sizeof(*v));

	st->role = "client";
	st->uptime = now - cl->started;
	st->cvc = v;
	if (v == NULL || (cap > 0 && (v->conns = calloc(cap, sizeof(*v->conns))) == NULL) ||
	    (v->dests = calloc(CV_CACHE_SLOTS, sizeof(*v->dests))) == NULL)
		return -1;
	snprintf(v->converter, sizeof(v->converter), "%s", cl->conv_str);
	v->bootstrapped = cl->bootstrapped;
	v->disabled = cl->disabled;
	v->suspect = cl->suspect;
	v->converted = cl->converted;
	v->direct = cl->direct;
	v->failed = cl->failed;
	v->open = cl->nconns;
	for (const struct cc_conn *c = cl->conns; c != NULL && v->nconns < cap; c = c->next)
		conn_status(c, now, &v->conns[v->nconns++]);
	for (size_t i = 0; i < CV_CACHE_SLOTS; i++) {
		const struct cv_cache_ent *e = &cl->cache.e[i];

		if (e->expires <= now)
			continue; /* free or expired */
		ht_addr16_str(e->addr, e->port, v->dests[v->ndests].dest,
			      sizeof(v->dests[v->ndests].dest));
		v->dests[v->ndests++].expires_in = e->expires - now;
	}
	return 0;
}
