/* Loopback tests for src/quic: TLS pinning, streams, flow control coupling,
 * stream limits, idle timeout, version negotiation, and an informational
 * throughput figure.  One process, one ht_loop, 127.0.0.1 / ::1 only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "proto/err.h"
#include "quic/conn.h"
#include "quic/identity.h"
#include "quic/server.h"
#include "quic/tls.h"
#include "quic/udp.h"

#define MAXS 16

/* ---- fixtures ------------------------------------------------------------------ */

static struct ht_loop *loop;
static char tmpdir[64];
static char crt[3][160], key[3][160];
static uint8_t fp[3][HT_FP_LEN]; /* 0 server, 1 client, 2 stranger */
enum { SRV = 0, CLI = 1, EVIL = 2 };

static int group_setup(void **state)
{
	static const char *names[] = {"srv", "cli", "evil"};
	char err[256], fps[HT_FP_STRLEN + 1], dir[128];

	(void)state;
	ht_log_set_level(getenv("HT_DEBUG") ? HT_LOG_DEBUG : HT_LOG_INFO);
	strcpy(tmpdir, "/tmp/hatun-quic-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	for (int i = 0; i < 3; i++) {
		snprintf(dir, sizeof(dir), "%s/%s", tmpdir, names[i]);
		if (mkdir(dir, 0700) != 0 || ht_identity_generate(dir, false, fps, err, sizeof(err)) != 0 ||
		    ht_fingerprint_parse(fps, fp[i]) != 0)
			return -1;
		snprintf(crt[i], sizeof(crt[i]), "%s/" HT_IDENTITY_CERT_FILE, dir);
		snprintf(key[i], sizeof(key[i]), "%s/" HT_IDENTITY_KEY_FILE, dir);
	}
	return ht_loop_new(&loop);
}

static struct ht_tls_config *cfgs[64];
static int ncfgs;

static void keep_cfg(struct ht_tls_config *cfg)
{
	assert_true(ncfgs < 64);
	cfgs[ncfgs++] = cfg;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	for (int i = 0; i < ncfgs; i++)
		ht_tls_config_free(cfgs[i]);
	ht_loop_free(loop);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct ht_tls_config *tls(enum ht_tls_role role, int self, int pin)
{
	struct ht_tls_config *cfg = NULL;
	char err[256];

	assert_int_equal(ht_tls_config_new(&cfg, role, crt[self], key[self],
					   (const uint8_t(*)[HT_FP_LEN])fp[pin], 1, err, sizeof(err)),
			 0);
	return cfg;
}

/* ---- a scripted upper layer ------------------------------------------------------ */

struct tstream {
	int64_t sid;
	uint64_t tx_total, tx_done, rx, unconsumed;
	bool tx_fin, rx_fin, rx_bad, reset, closed, reply_on_fin;
	uint64_t reset_code;
};

struct side {
	struct ht_qconn *c;
	bool hs, closed, consume, streams_avail;
	struct ht_qconn_close_info ci;
	uint64_t reply_bytes; /* server: bytes to send on each peer stream */
	bool reply_after_fin;
	struct tstream st[MAXS];
	int nst;
};

/* Stream bytes are a pseudo-random sequence of prime period, offset by the
 * stream id: any reordering, loss or cross-stream mix-up shows.  Kept in a
 * table so generation and checking are memcpy/memcmp (fast under ASan). */
#define PERIOD 65521u
static uint8_t ptab[PERIOD + 65536];

static const uint8_t *pattern_at(int64_t sid, uint64_t off)
{
	static bool init;

	if (!init) {
		uint32_t x = 2463534242u;

		for (size_t i = 0; i < sizeof(ptab); i++) {
			if (i < PERIOD) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				ptab[i] = (uint8_t)x;
			} else {
				ptab[i] = ptab[i - PERIOD];
			}
		}
		init = true;
	}
	return &ptab[(off + (uint64_t)sid * 7919u) % PERIOD];
}

static struct tstream *ts_get(struct side *s, int64_t sid)
{
	for (int i = 0; i < s->nst; i++) {
		if (s->st[i].sid == sid)
			return &s->st[i];
	}
	if (s->nst == MAXS)
		return NULL;
	memset(&s->st[s->nst], 0, sizeof(s->st[0]));
	s->st[s->nst].sid = sid;
	return &s->st[s->nst++];
}

static void pump(struct side *s, struct tstream *t)
{
	while (t->tx_done < t->tx_total) {
		size_t n = t->tx_total - t->tx_done < 65536 ? t->tx_total - t->tx_done : 65536;
		ssize_t k;

		k = ht_qconn_stream_send(s->c, t->sid, pattern_at(t->sid, t->tx_done), n,
					 t->tx_done + n == t->tx_total);
		assert_true(k >= 0);
		t->tx_done += (uint64_t)k;
		if ((size_t)k < n)
			return;
		if (t->tx_done == t->tx_total)
			t->tx_fin = true;
	}
	if (!t->tx_fin) {
		assert_int_equal(ht_qconn_stream_send(s->c, t->sid, NULL, 0, true), 0);
		t->tx_fin = true;
	}
}

static void on_hs(struct ht_qconn *c, void *user)
{
	struct side *s = user;

	(void)c;
	s->hs = true;
}

static void on_open(struct ht_qconn *c, void *user, int64_t sid)
{
	struct side *s = user;
	struct tstream *t = ts_get(s, sid);

	(void)c;
	assert_non_null(t);
	t->tx_total = s->reply_bytes;
	t->reply_on_fin = s->reply_after_fin;
	if (!t->reply_on_fin)
		pump(s, t);
}

static void on_data(struct ht_qconn *c, void *user, int64_t sid, const uint8_t *d, size_t len,
		    bool fin)
{
	struct side *s = user;
	struct tstream *t = ts_get(s, sid);

	assert_non_null(t);
	for (size_t off = 0; off < len; off += 65536) {
		size_t l = len - off < 65536 ? len - off : 65536;

		if (memcmp(d + off, pattern_at(sid, t->rx + off), l) != 0)
			t->rx_bad = true;
	}
	t->rx += len;
	if (s->consume)
		assert_int_equal(ht_qconn_stream_consumed(c, sid, len), 0);
	else
		t->unconsumed += len;
	if (fin) {
		t->rx_fin = true;
		if (t->reply_on_fin) {
			t->reply_on_fin = false;
			pump(s, t);
		}
	}
}

static void on_reset(struct ht_qconn *c, void *user, int64_t sid, uint64_t code)
{
	struct tstream *t = ts_get(user, sid);

	(void)c;
	t->reset = true;
	t->reset_code = code;
}

static void on_writable(struct ht_qconn *c, void *user, int64_t sid)
{
	struct side *s = user;

	(void)c;
	pump(s, ts_get(s, sid));
}

static void on_sclosed(struct ht_qconn *c, void *user, int64_t sid)
{
	(void)c;
	ts_get(user, sid)->closed = true;
}

static void on_avail(struct ht_qconn *c, void *user)
{
	(void)c;
	((struct side *)user)->streams_avail = true;
}

static void on_closed(struct ht_qconn *c, void *user, const struct ht_qconn_close_info *ci)
{
	struct side *s = user;

	(void)c;
	s->closed = true;
	s->ci = *ci;
	s->c = NULL;
}

static const struct ht_qconn_ops OPS = {
	.handshake_done = on_hs,
	.stream_open = on_open,
	.stream_data = on_data,
	.stream_reset = on_reset,
	.stream_writable = on_writable,
	.stream_closed = on_sclosed,
	.streams_available = on_avail,
	.closed = on_closed,
};

/* The server side: one struct side per accepted connection. */
struct srvctx {
	struct side sides[4];
	int n;
	uint64_t reply_bytes;
	bool reply_after_fin, consume;
};

static int on_accept(struct ht_server *srv, struct ht_qconn *c, void *arg)
{
	struct srvctx *x = arg;
	struct side *s = &x->sides[x->n++];

	(void)srv;
	memset(s, 0, sizeof(*s));
	s->c = c;
	s->consume = x->consume;
	s->reply_bytes = x->reply_bytes;
	s->reply_after_fin = x->reply_after_fin;
	ht_qconn_set_ops(c, &OPS, s);
	return 0;
}

static const struct ht_server_ops SRV_OPS = {.accept = on_accept};

/* ---- running the loop until something holds ----------------------------------------- */

struct waiter {
	struct ht_timer t;
	bool (*cond)(void *);
	void *arg;
	ht_time deadline;
	bool met;
};

static void on_poll(struct ht_loop *l, struct ht_timer *t)
{
	struct waiter *w = t->arg;

	if (w->cond != NULL && w->cond(w->arg)) {
		w->met = true;
		ht_loop_stop(l);
		return;
	}
	if (ht_loop_now(l) >= w->deadline) {
		ht_loop_stop(l);
		return;
	}
	ht_timer_set(l, t, ht_loop_now(l) + 2 * HT_MS);
}

static bool run_until(bool (*cond)(void *), void *arg, ht_time timeout)
{
	struct waiter w = {.cond = cond, .arg = arg, .deadline = ht_now() + timeout};

	ht_timer_init(&w.t, on_poll, &w);
	ht_timer_set(loop, &w.t, ht_now());
	ht_loop_run(loop);
	ht_timer_cancel(loop, &w.t);
	return w.met;
}

static void run_for(ht_time d)
{
	(void)run_until(NULL, NULL, d);
}

static bool all_freed(void *arg)
{
	(void)arg;
	return ht_qconn_live_count() == 0;
}

/* ---- a client + server pair ------------------------------------------------------------ */

struct pair {
	struct ht_server *srv;
	struct ht_tls_config *stls, *ctls;
	struct srvctx sx;
	struct side cli;
	struct ht_server_settings sset;
	struct ht_qconn_settings cset;
};

static void pair_start(struct pair *p, int family, int cli_pin, int srv_allow)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl = sizeof(ss);
	struct ht_qconn_client_args a = {0};

	p->stls = tls(HT_TLS_SERVER, SRV, srv_allow);
	p->ctls = tls(HT_TLS_CLIENT, CLI, cli_pin);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sl = sizeof(*sin6);
	}
	assert_int_equal(ht_server_new(&p->srv, loop, (struct sockaddr *)&ss, sl, p->stls, &p->sset,
				       &SRV_OPS, &p->sx),
			 0);
	sl = sizeof(ss);
	assert_int_equal(ht_server_local_addr(p->srv, &ss, &sl), 0);
	a.remote = (struct sockaddr *)&ss;
	a.remote_len = sl;
	a.tls = p->ctls;
	a.set = &p->cset;
	a.ops = &OPS;
	a.user = &p->cli;
	assert_int_equal(ht_qconn_connect(&p->cli.c, loop, &a), 0);
}

static void pair_defaults(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	ht_server_settings_default(&p->sset);
	ht_qconn_settings_default(&p->cset);
	p->cli.consume = true;
	p->sx.consume = true;
}

static bool pair_up(void *arg)
{
	struct pair *p = arg;

	return p->cli.hs && p->sx.n == 1 && p->sx.sides[0].hs;
}

static bool pair_gone(void *arg)
{
	struct pair *p = arg;
	struct ht_server_stats st;

	ht_server_get_stats(p->srv, &st);
	return p->cli.closed && st.conns == 0;
}

static void pair_stop(struct pair *p)
{
	if (p->cli.c != NULL && !p->cli.closed) {
		ht_qconn_close(p->cli.c, 0);
		assert_true(run_until(pair_gone, p, 5 * HT_SECONDS));
	}
	ht_server_free(p->srv);
	/* A client in its closing period (3 PTO, ~3 s before any RTT sample)
	 * frees itself while the next tests run; test_no_leaks checks that
	 * everything went.  Its TLS configs must outlive it. */
	keep_cfg(p->stls);
	keep_cfg(p->ctls);
}

/* ---- the tests ----------------------------------------------------------------------- */

static void handshake_family(int family)
{
	struct pair p;
	const uint8_t *f;

	pair_defaults(&p);
	pair_start(&p, family, SRV, CLI);
	assert_true(run_until(pair_up, &p, 5 * HT_SECONDS));
	assert_string_equal(ht_qconn_alpn(p.cli.c), "qt");
	assert_string_equal(ht_qconn_alpn(p.sx.sides[0].c), "qt");
	assert_non_null(f = ht_qconn_peer_fingerprint(p.cli.c));
	assert_memory_equal(f, fp[SRV], HT_FP_LEN);
	assert_non_null(f = ht_qconn_peer_fingerprint(p.sx.sides[0].c));
	assert_memory_equal(f, fp[CLI], HT_FP_LEN);
	assert_true(ht_qconn_is_server(p.sx.sides[0].c));
	ht_qconn_close(p.cli.c, 0);
	assert_true(run_until(pair_gone, &p, 5 * HT_SECONDS));
	assert_int_equal(p.cli.ci.reason, HT_QCLOSE_LOCAL);
	assert_true(p.sx.sides[0].closed);
	assert_int_equal(p.sx.sides[0].ci.reason, HT_QCLOSE_PEER);
	assert_true(p.sx.sides[0].ci.app);
	pair_stop(&p);
}

static void test_handshake_v4(void **state)
{
	(void)state;
	handshake_family(AF_INET);
}

static void test_handshake_v6(void **state)
{
	(void)state;
	handshake_family(AF_INET6);
}

static void test_client_wrong_pin(void **state)
{
	struct pair p;
	struct ht_server_stats st;

	(void)state;
	pair_defaults(&p);
	fprintf(stderr, "[ expect a 'refused server certificate' line ]\n");
	pair_start(&p, AF_INET, EVIL, CLI);
	assert_true(run_until(pair_gone, &p, 5 * HT_SECONDS));
	assert_false(p.cli.hs);
	assert_int_equal(p.cli.ci.reason, HT_QCLOSE_HANDSHAKE);
	assert_int_equal(p.cli.ci.error_code, 0x100 + 42); /* bad_certificate */
	ht_server_get_stats(p.srv, &st);
	assert_int_equal(st.accepted, 0);
	assert_int_equal(p.sx.n, 0);
	pair_stop(&p);
}

static void test_server_refuses_client(void **state)
{
	struct pair p;
	struct ht_server_stats st;

	(void)state;
	pair_defaults(&p);
	fprintf(stderr, "[ expect a 'refused client certificate' line ]\n");
	pair_start(&p, AF_INET, SRV, EVIL);
	assert_true(run_until(pair_gone, &p, 5 * HT_SECONDS));
	assert_false(p.cli.hs);
	assert_int_equal(p.cli.ci.reason, HT_QCLOSE_HANDSHAKE);
	ht_server_get_stats(p.srv, &st);
	assert_int_equal(st.accepted, 0);
	assert_int_equal(st.half_open, 0);
	pair_stop(&p);
}

struct bulk {
	struct pair *p;
	int n;
};

static bool bulk_done(void *arg)
{
	struct bulk *b = arg;
	struct side *s;

	if (b->p->sx.n != 1)
		return false;
	s = &b->p->sx.sides[0];
	if (b->p->cli.nst != b->n || s->nst != b->n)
		return false;
	for (int i = 0; i < b->n; i++) {
		if (!b->p->cli.st[i].closed || !s->st[i].closed || !b->p->cli.st[i].rx_fin ||
		    !s->st[i].rx_fin)
			return false;
	}
	return true;
}

static void test_streams_8x4MiB(void **state)
{
	struct pair p;
	struct bulk b = {&p, 8};
	const uint64_t size = 4 << 20;
	struct side *s;

	(void)state;
	pair_defaults(&p);
	p.sx.reply_bytes = size;
	pair_start(&p, AF_INET, SRV, CLI);
	assert_true(run_until(pair_up, &p, 5 * HT_SECONDS));
	for (int i = 0; i < 8; i++) {
		int64_t sid;
		struct tstream *t;

		assert_int_equal(ht_qconn_open_bidi(p.cli.c, &sid), 0);
		t = ts_get(&p.cli, sid);
		t->tx_total = size;
		pump(&p.cli, t);
	}
	assert_true(run_until(bulk_done, &b, 30 * HT_SECONDS));
	s = &p.sx.sides[0];
	for (int i = 0; i < 8; i++) {
		assert_int_equal(p.cli.st[i].rx, size);
		assert_int_equal(s->st[i].rx, size);
		assert_false(p.cli.st[i].rx_bad);
		assert_false(s->st[i].rx_bad);
	}
	pair_stop(&p);
}

static bool some_rx(void *arg)
{
	struct pair *p = arg;

	return p->cli.nst > 0 && p->cli.st[0].rx > (1 << 20) && p->sx.n == 1 &&
	       p->sx.sides[0].nst > 0 && p->sx.sides[0].st[0].rx > (1 << 20);
}

/* Connection migration (issue 5): halfway through 8 MiB each way the client
 * moves to a socket on 127.0.0.2; the stream completes intact and the
 * server now sees the new address. */
static void test_migration(void **state)
{
	struct pair p;
	struct bulk b = {&p, 1};
	const uint64_t size = 8 << 20;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sockaddr_storage ss;
	struct tstream *t;
	int64_t sid;

	(void)state;
	pair_defaults(&p);
	p.sx.reply_bytes = size;
	pair_start(&p, AF_INET, SRV, CLI);
	assert_true(run_until(pair_up, &p, 5 * HT_SECONDS));
	assert_int_equal(ht_qconn_migrate(p.sx.sides[0].c, NULL, 0, NULL), HT_ERR_INVAL);
	assert_int_equal(ht_qconn_open_bidi(p.cli.c, &sid), 0);
	t = ts_get(&p.cli, sid);
	t->tx_total = size;
	pump(&p.cli, t);
	assert_true(run_until(some_rx, &p, 10 * HT_SECONDS));
	sin.sin_addr.s_addr = htonl(0x7f000002); /* 127.0.0.2 */
	assert_int_equal(ht_qconn_migrate(p.cli.c, (struct sockaddr *)&sin, sizeof(sin), NULL), 0);
	assert_true(run_until(bulk_done, &b, 30 * HT_SECONDS));
	assert_int_equal(p.cli.st[0].rx, size);
	assert_int_equal(p.sx.sides[0].st[0].rx, size);
	assert_false(p.cli.st[0].rx_bad);
	assert_false(p.sx.sides[0].st[0].rx_bad);
	assert_true(ht_qconn_peer_addr(p.sx.sides[0].c, &ss) > 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr), 0x7f000002);
	pair_stop(&p);
}

static bool first_rx_fin(void *arg)
{
	struct side *s = arg;

	return s->nst > 0 && s->st[0].rx_fin;
}

static void test_half_close(void **state)
{
	struct pair p;
	int64_t sid;
	struct tstream *t;

	(void)state;
	pair_defaults(&p);
	p.sx.reply_bytes = 1 << 20;
	p.sx.reply_after_fin = true; /* the server answers only after our FIN */
	pair_start(&p, AF_INET, SRV, CLI);
	assert_true(run_until(pair_up, &p, 5 * HT_SECONDS));
	assert_int_equal(ht_qconn_open_bidi(p.cli.c, &sid), 0);
	t = ts_get(&p.cli, sid);
	t->tx_total = 100000;
	pump(&p.cli, t);
	assert_true(run_until(first_rx_fin, &p.cli, 10 * HT_SECONDS));
	assert_int_equal(p.cli.st[0].rx, 1 << 20);
	assert_false(p.cli.st[0].rx_bad);
	assert_int_equal(p.sx.sides[0].st[0].rx, 100000);
	pair_stop(&p);
}

static bool srv_saw_reset(void *arg)
{
	struct pair *p = arg;

	return p->sx.n == 1 && p->sx.sides[0].nst == 1 && p->sx.sides[0].st[0].reset;
}

static void test_reset_stream(void **state)
{
	struct pair p;
	int64_t sid;

	(void)state;
	pair_defaults(&p);
	pair_start(&p, AF_INET, SRV, CLI);
	assert_true(run_until(pair_up, &p, 5 * HT_SECONDS));
	assert_int_equal(ht_qconn_open_bidi(p.cli.c, &sid), 0);
	assert_int_equal(ht_qconn_stream_send(p.cli.c, sid, (const uint8_t *)"\x00\x07", 2, false),
			 2);
	run_for(50 * HT_MS);
	assert_int_equal(ht_qconn_stream_reset(p.cli.c, sid, 0), 0);
	assert_true(run_until(srv_saw_reset, &p, 5 * HT_SECONDS));
	assert_int_equal(p.sx.sides[0].st[0].reset_code, 0);
	pair_stop(&p);
}

struct bp {
	struct pair *p;
	uint64_t last;
	int still;
};

/* True once nothing moved for ~100 ms. */
static bool bp_stalled(void *arg)
{
	struct bp *b = arg;
	uint64_t now = b->p->cli.st[0].tx_done + (b->p->sx.n ? b->p->sx.sides[0].st[0].rx : 0);

	if (now != b->last) {
		b->last = now;
		b->still = 0;
		return false;
	}
	return ++b->still > 50;
}

static bool bp_done(void *arg)
{
	struct pair *p = arg;

	return p->sx.n == 1 && p->sx.sides[0].nst == 1 && p->sx.sides[0].st[0].rx_fin;
}

static void test_backpressure(void **state)
{
	struct pair p;
	struct bp b = {&p, 0, 0};
	const uint64_t window = 256 << 10, cap = 128 << 10, total = 4 << 20;
	struct side *s;
	struct tstream *t;
	int64_t sid;

	(void)state;
	pair_defaults(&p);
	p.sset.conn.stream_window = window;
	p.sset.conn.conn_window = 4 * window;
	p.cset.stream_sndbuf = cap;
	p.sx.consume = false; /* the server's "TCP socket" is stuck */
	pair_start(&p, AF_INET, SRV, CLI);
	assert_true(run_until(pair_up, &p, 5 * HT_SECONDS));
	assert_int_equal(ht_qconn_open_bidi(p.cli.c, &sid), 0);
	t = ts_get(&p.cli, sid);
	t->tx_total = total;
	pump(&p.cli, t);
	assert_true(run_until(bp_stalled, &b, 10 * HT_SECONDS));
	s = &p.sx.sides[0];
	print_message("backpressure: sender accepted %llu, receiver holds %llu (window %llu + "
		      "cap %llu)\n",
		      (unsigned long long)t->tx_done, (unsigned long long)s->st[0].rx,
		      (unsigned long long)window, (unsigned long long)cap);
	assert_true(s->st[0].rx <= window);
	assert_true(t->tx_done <= window + cap);
	assert_true(t->tx_done >= window); /* and it did fill the pipe */
	/* Nothing more fits (a little room below the writable threshold may
	 * show after the last ACKs, but never past window + cap). */
	assert_true(t->tx_done + ht_qconn_stream_send_room(p.cli.c, sid) <= window + cap);
	/* The receiver drains: everything flows to the end. */
	s->consume = true;
	assert_int_equal(ht_qconn_stream_consumed(s->c, sid, s->st[0].unconsumed), 0);
	assert_true(run_until(bp_done, &p, 20 * HT_SECONDS));
	assert_int_equal(s->st[0].rx, total);
	assert_false(s->st[0].rx_bad);
	pair_stop(&p);
}

static bool avail_and_closed(void *arg)
{
	struct pair *p = arg;

	return p->cli.nst > 0 && p->cli.st[0].closed;
}

static void test_stream_limit(void **state)
{
	struct pair p;
	int64_t sid[5];

	(void)state;
	pair_defaults(&p);
	p.sset.conn.max_streams_bidi = 4;
	pair_start(&p, AF_INET, SRV, CLI);
	assert_true(run_until(pair_up, &p, 5 * HT_SECONDS));
	for (int i = 0; i < 4; i++) {
		assert_int_equal(ht_qconn_open_bidi(p.cli.c, &sid[i]), 0);
		ts_get(&p.cli, sid[i]);
	}
	assert_int_equal(ht_qconn_open_bidi(p.cli.c, &sid[4]), HT_QERR_STREAM_LIMIT);
	/* Finish stream 0 both ways (the server replies FIN to FIN). */
	p.sx.sides[0].reply_after_fin = true;
	p.cli.streams_avail = false;
	assert_int_equal(ht_qconn_stream_send(p.cli.c, sid[0], NULL, 0, true), 0);
	assert_true(run_until(avail_and_closed, &p, 5 * HT_SECONDS));
	run_for(20 * HT_MS); /* MAX_STREAMS follows the server-side close */
	assert_true(p.cli.streams_avail);
	assert_int_equal(ht_qconn_open_bidi(p.cli.c, &sid[4]), 0);
	assert_int_equal(ht_qconn_open_bidi(p.cli.c, &sid[4]), HT_QERR_STREAM_LIMIT);
	pair_stop(&p);
}

static bool srv_closed(void *arg)
{
	struct pair *p = arg;
	struct ht_server_stats st;

	ht_server_get_stats(p->srv, &st);
	return p->sx.n == 1 && p->sx.sides[0].closed && st.conns == 0;
}

static bool cli_closed(void *arg)
{
	return ((struct pair *)arg)->cli.closed;
}

static void test_idle_timeout(void **state)
{
	struct pair p, q;

	(void)state;
	/* The client vanishes: the server frees its side. */
	pair_defaults(&p);
	p.sset.conn.idle_timeout = 1 * HT_SECONDS;
	p.cset.idle_timeout = 1 * HT_SECONDS;
	pair_start(&p, AF_INET, SRV, CLI);
	assert_true(run_until(pair_up, &p, 5 * HT_SECONDS));
	ht_qconn_abort(p.cli.c);
	p.cli.c = NULL;
	p.cli.closed = true;
	assert_true(run_until(srv_closed, &p, 5 * HT_SECONDS));
	assert_int_equal(p.sx.sides[0].ci.reason, HT_QCLOSE_IDLE);
	pair_stop(&p);

	/* The server vanishes (keep-alive on): the client gives up. */
	pair_defaults(&q);
	q.sset.conn.idle_timeout = 1 * HT_SECONDS;
	q.cset.idle_timeout = 1 * HT_SECONDS;
	q.cset.keep_alive = 200 * HT_MS;
	pair_start(&q, AF_INET6, SRV, CLI);
	assert_true(run_until(pair_up, &q, 5 * HT_SECONDS));
	ht_server_free(q.srv); /* gone without a word (no CONNECTION_CLOSE) */
	q.srv = NULL;
	assert_true(run_until(cli_closed, &q, 5 * HT_SECONDS));
	assert_int_equal(q.cli.ci.reason, HT_QCLOSE_IDLE);
	pair_stop(&q);
}

static void test_stateless_reset(void **state)
{
	struct pair p;
	struct ht_server_stats st;
	uint8_t data[200] = {0};
	int64_t sid;

	(void)state;
	pair_defaults(&p);
	pair_start(&p, AF_INET, SRV, CLI);
	assert_true(run_until(pair_up, &p, 5 * HT_SECONDS));
	/* The server loses the connection's state but keeps listening. */
	ht_qconn_abort(p.sx.sides[0].c);
	assert_int_equal(ht_qconn_open_bidi(p.cli.c, &sid), 0);
	assert_int_equal(ht_qconn_stream_send(p.cli.c, sid, data, sizeof(data), false),
			 (ssize_t)sizeof(data));
	assert_true(run_until(cli_closed, &p, 5 * HT_SECONDS));
	assert_int_equal(p.cli.ci.reason, HT_QCLOSE_PEER);
	ht_server_get_stats(p.srv, &st);
	assert_true(st.resets_sent >= 1);
	pair_stop(&p);
}

static void test_version_negotiation(void **state)
{
	struct pair p;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	uint8_t pkt[1200] = {0}, buf[512];
	int fd;
	ssize_t n = -1;

	(void)state;
	pair_defaults(&p);
	pair_start(&p, AF_INET, SRV, CLI);
	assert_true(run_until(pair_up, &p, 5 * HT_SECONDS));
	assert_int_equal(ht_server_local_addr(p.srv, &ss, &sl), 0);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	pkt[0] = 0xc0;
	memcpy(pkt + 1, "\xba\xba\xba\xba", 4); /* an unknown version */
	pkt[5] = 8;
	memset(pkt + 6, 0x11, 8); /* DCID */
	pkt[14] = 8;
	memset(pkt + 15, 0x22, 8); /* SCID */
	assert_int_equal(sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&ss, sl),
			 (ssize_t)sizeof(pkt));
	for (int i = 0; i < 100 && n < 0; i++) {
		run_for(5 * HT_MS);
		n = recv(fd, buf, sizeof(buf), 0);
	}
	close(fd);
	assert_true(n >= 7 + 16 + 4);
	assert_true(buf[0] & 0x80);
	assert_memory_equal(buf + 1, "\0\0\0\0", 4); /* version 0 = VN */
	assert_int_equal(buf[5], 8);
	assert_memory_equal(buf + 6, pkt + 15, 8); /* DCID = our SCID */
	pair_stop(&p);
}

static bool thr_done(void *arg)
{
	struct pair *p = arg;

	return p->sx.n == 1 && p->sx.sides[0].nst == 1 && p->sx.sides[0].st[0].rx_fin;
}

static void throughput(bool gso)
{
	struct pair p;
	struct tstream *t;
	struct ht_udp_counters c0, c1;
	struct ht_qconn_stats st;
	const uint64_t total = 64ull << 20;
	int64_t sid;
	ht_time t0, t1;

	pair_defaults(&p);
	p.cset.no_gso = p.cset.no_gro = !gso;
	p.sset.conn.no_gso = p.sset.conn.no_gro = !gso;
	pair_start(&p, AF_INET, SRV, CLI);
	assert_true(run_until(pair_up, &p, 5 * HT_SECONDS));
	assert_int_equal(ht_qconn_open_bidi(p.cli.c, &sid), 0);
	t = ts_get(&p.cli, sid);
	t->tx_total = total;
	ht_udp_get_counters(&c0);
	t0 = ht_now();
	pump(&p.cli, t);
	assert_true(run_until(thr_done, &p, 60 * HT_SECONDS));
	t1 = ht_now();
	ht_udp_get_counters(&c1);
	ht_qconn_get_stats(p.cli.c, &st);
	assert_int_equal(p.sx.sides[0].st[0].rx, total);
	assert_false(p.sx.sides[0].st[0].rx_bad);
	print_message("throughput (%s): 64 MiB in %.2f s = %.1f MB/s; %llu pkts in %llu sendmsg, "
		      "%llu pkts in %llu recvmmsg; srtt %.3f ms, cwnd %llu, lost %llu\n",
		      gso ? "GSO+GRO" : "no GSO/GRO", (double)(t1 - t0) / 1e9,
		      (double)total / ((double)(t1 - t0) / 1e9) / 1e6,
		      (unsigned long long)(c1.send_pkts - c0.send_pkts),
		      (unsigned long long)(c1.send_calls - c0.send_calls),
		      (unsigned long long)(c1.recv_pkts - c0.recv_pkts),
		      (unsigned long long)(c1.recv_calls - c0.recv_calls),
		      (double)st.smoothed_rtt / 1e6, (unsigned long long)st.cwnd,
		      (unsigned long long)st.lost_pkts);
	pair_stop(&p);
}

static void test_throughput(void **state)
{
	(void)state;
	throughput(true);
	if (getenv("HT_QUIC_NOGSO") != NULL)
		throughput(false);
}

static void test_no_leaks(void **state)
{
	(void)state;
	assert_true(run_until(all_freed, NULL, 10 * HT_SECONDS));
	assert_int_equal(ht_qconn_live_count(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_v4),
		cmocka_unit_test(test_handshake_v6),
		cmocka_unit_test(test_client_wrong_pin),
		cmocka_unit_test(test_server_refuses_client),
		cmocka_unit_test(test_streams_8x4MiB),
		cmocka_unit_test(test_migration),
		cmocka_unit_test(test_half_close),
		cmocka_unit_test(test_reset_stream),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_stream_limit),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_stateless_reset),
		cmocka_unit_test(test_version_negotiation),
		cmocka_unit_test(test_throughput),
		cmocka_unit_test(test_no_leaks),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
