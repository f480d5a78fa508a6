/* qt_rawclient — a test tool: speak raw bytes on a tunnel stream.
 *
 *   qt_rawclient SERVER:PORT PIN CERT KEY [options] [HEX...]
 *
 * Connects to a hatun concentrator with a real identity (mutual TLS, the
 * concentrator pinned), opens one bidirectional stream per HEX argument
 * (or one stream for all of them with --one-stream), writes the bytes as
 * given, then reports on stdout, one line each, in this order:
 *
 *   alpn <negotiated>
 *   stream <sid> data <hex of everything received>     (omitted if none)
 *   stream <sid> fin | reset <code> | stop_sending <code> | closed | open
 *   conn closed <reason text>                          (if it closed)
 *
 * With --uni the streams are unidirectional (the first one is the
 * client's control stream, 2), and the concentrator's control stream (3)
 * is accepted and reported like the others ("open" if it is still open
 * when --wait ends). A HEX argument written "bidi:HEX" opens a
 * bidirectional stream even with --uni (a data stream beside the control
 * stream, on the same connection; streams open in argument order).
 *
 * Options:
 *   --uni          unidirectional streams (control TLVs, issue 5)
 *   --fin          FIN after the bytes (default: leave the stream open)
 *   --fin-after S  FIN only after S seconds (a FIN that arrives late)
 *   --alpn NAME    offer only this ALPN (qt-01: no stream mode)
 *   --wait S       give up waiting for the streams after S s (default 5)
 *
 * Exit: 0 when it got as far as reporting, 1 when the connection could not
 * be made, 2 on bad arguments.  Only for tests: it trusts its arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"
#include "quic/conn.h"
#include "quic/identity.h"
#include "quic/tls.h"
#include "tunnel/spec.h"
#include "tunnel/tcp.h"

#define MAX_STREAMS 16
#define QT_CONC_CTRL_SID 3
#define MAX_BYTES 4096

struct rstream {
	int64_t sid;
	uint8_t out[MAX_BYTES];
	size_t out_len;
	uint8_t in[MAX_BYTES];
	size_t in_len;
	bool fin_sent, done, bidi;
	char end[64];
};

struct raw {
	struct ht_loop *loop;
	struct ht_qconn *qc;
	struct rstream st[MAX_STREAMS];
	size_t nst;
	bool fin, up, closed, stopping, uni;
	ht_time wait, fin_after, linger_until;
	struct ht_timer t_wait, t_fin, t_linger;
	char closed_why[256];
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex, spaces and ':' ignored; -1 on a bad digit or overflow. */
static int parse_hex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	int hi = -1;

	for (; *s != '\0'; s++) {
		int v;

		if (*s == ' ' || *s == ':')
			continue;
		if ((v = hexval((unsigned char)*s)) < 0)
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (*len == cap)
			return -1;
		out[(*len)++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi < 0 ? 0 : -1;
}

static struct rstream *find(struct raw *rw, int64_t sid)
{
	for (size_t i = 0; i < rw->nst; i++)
		if (rw->st[i].sid == sid)
			return &rw->st[i];
	return NULL;
}

/* The concentrator's unidirectional streams (its control stream) are
 * reported like ours, from whichever event shows them first (a stream
 * reset before any data arrives as RESET_STREAM only). */
static struct rstream *track(struct raw *rw, int64_t sid)
{
	struct rstream *s = find(rw, sid);

	if (s != NULL || (sid & 3) != 3 || rw->nst == MAX_STREAMS)
		return s;
	s = &rw->st[rw->nst++];
	memset(s, 0, sizeof(*s));
	s->sid = sid;
	s->fin_sent = true;
	return s;
}

static void finish(struct raw *rw)
{
	if (rw->stopping)
		return;
	rw->stopping = true;
	if (rw->qc != NULL && !rw->closed)
		ht_qconn_close(rw->qc, 0);
	else
		ht_loop_stop(rw->loop);
}

static void check_done(struct raw *rw)
{
	for (size_t i = 0; i < rw->nst; i++)
		if (!rw->st[i].done)
			return;
	if (rw->uni && find(rw, QT_CONC_CTRL_SID) == NULL)
		return; /* the concentrator's control stream is still to come */
	finish(rw);
}

/* what: "fin", "closed", "reset", "stop_sending"; code printed unless
 * HT_QCONN_APP_ERROR_UNKNOWN. */
static void set_end(struct raw *rw, struct rstream *s, const char *what, uint64_t code)
{
	if (s == NULL || s->done)
		return;
	if (code == HT_QCONN_APP_ERROR_UNKNOWN)
		snprintf(s->end, sizeof(s->end), "%s", what);
	else
		snprintf(s->end, sizeof(s->end), "%s %llu", what, (unsigned long long)code);
	s->done = true;
	check_done(rw);
}

static void send_fins(struct raw *rw)
{
	for (size_t i = 0; i < rw->nst; i++) {
		struct rstream *s = &rw->st[i];

		if (!s->fin_sent && !s->done && rw->qc != NULL &&
		    ht_qconn_stream_send(rw->qc, s->sid, NULL, 0, true) == 0)
			s->fin_sent = true;
	}
}

static void on_fin_timer(struct ht_loop *loop, struct ht_timer *t)
{
	(void)loop;
	send_fins(t->arg);
}

/* After the close: the connection lingers for its closing period. */
static void on_linger_timer(struct ht_loop *loop, struct ht_timer *t)
{
	struct raw *rw = t->arg;

	if (ht_qconn_live_count() == 0 || ht_loop_now(loop) >= rw->linger_until) {
		ht_loop_stop(loop);
		return;
	}
	(void)ht_timer_set(loop, t, ht_loop_now(loop) + 10 * HT_MS);
}

static void on_wait_timer(struct ht_loop *loop, struct ht_timer *t)
{
	(void)loop;
	finish(t->arg);
}

static void on_handshake_done(struct ht_qconn *c, void *user)
{
	struct raw *rw = user;

	rw->up = true;
	printf("alpn %s\n", ht_qconn_alpn(c));
	for (size_t i = 0; i < rw->nst; i++) {
		struct rstream *s = &rw->st[i];
		ssize_t n;

		if ((rw->uni && !s->bidi ? ht_qconn_open_uni(c, &s->sid)
					 : ht_qconn_open_bidi(c, &s->sid)) != 0) {
			snprintf(s->end, sizeof(s->end), "not opened");
			s->done = true;
			continue;
		}
		n = ht_qconn_stream_send(c, s->sid, s->out, s->out_len,
					 rw->fin && rw->fin_after == 0);
		if (n != (ssize_t)s->out_len)
			fprintf(stderr, "qt_rawclient: stream %lld: short send %zd\n",
				(long long)s->sid, n);
		s->fin_sent = rw->fin && rw->fin_after == 0;
	}
	if (rw->fin && rw->fin_after > 0)
		(void)ht_timer_set(rw->loop, &rw->t_fin, ht_loop_now(rw->loop) + rw->fin_after);
	(void)ht_timer_set(rw->loop, &rw->t_wait, ht_loop_now(rw->loop) + rw->wait);
	check_done(rw);
}

static void on_stream_data(struct ht_qconn *c, void *user, int64_t sid, const uint8_t *data,
			   size_t len, bool fin)
{
	struct raw *rw = user;
	struct rstream *s = track(rw, sid);

	(void)ht_qconn_stream_consumed(c, sid, len);
	if (s == NULL)
		return;
	for (size_t i = 0; i < len && s->in_len < sizeof(s->in); i++)
		s->in[s->in_len++] = data[i];
	if (fin)
		set_end(rw, s, "fin", HT_QCONN_APP_ERROR_UNKNOWN);
}

static void on_uni_open(struct ht_qconn *c, void *user, int64_t sid)
{
	(void)c;
	(void)track(user, sid);
}

static void on_stream_reset(struct ht_qconn *c, void *user, int64_t sid, uint64_t code)
{
	(void)c;
	set_end(user, track(user, sid), "reset", code);
}

static void on_stream_stop(struct ht_qconn *c, void *user, int64_t sid, uint64_t code)
{
	(void)c;
	set_end(user, find(user, sid), "stop_sending", code);
}

static void on_stream_closed(struct ht_qconn *c, void *user, int64_t sid)
{
	(void)c;
	set_end(user, find(user, sid), "closed", HT_QCONN_APP_ERROR_UNKNOWN);
}

static void on_closed(struct ht_qconn *c, void *user, const struct ht_qconn_close_info *info)
{
	struct raw *rw = user;

	(void)c;
	rw->closed = true;
	rw->qc = NULL;
	snprintf(rw->closed_why, sizeof(rw->closed_why), "%s",
		 info->text != NULL ? info->text : "closed");
	if (info->app && info->reason == HT_QCLOSE_PEER)
		snprintf(rw->closed_why, sizeof(rw->closed_why), "peer app error %llu %s",
			 (unsigned long long)info->error_code, info->text != NULL ? info->text : "");
	ht_loop_stop(rw->loop);
}

static const struct ht_qconn_ops raw_ops = {
	.handshake_done = on_handshake_done,
	.uni_stream_open = on_uni_open,
	.stream_data = on_stream_data,
	.stream_reset = on_stream_reset,
	.stream_stop_sending = on_stream_stop,
	.stream_closed = on_stream_closed,
	.closed = on_closed,
};

static int usage(void)
{
	fprintf(stderr, "usage: qt_rawclient SERVER:PORT PIN CERT KEY [--fin] [--fin-after S]"
			" [--alpn NAME] [--wait S] [--one-stream] [--uni] [bidi:]HEX...\n");
	return 2;
}

int main(int argc, char **argv)
{
	static struct raw rw;
	struct ht_tls_config *tls = NULL;
	struct ht_hostport hp;
	struct sockaddr_storage ss;
	struct ht_qconn_client_args a = {0};
	struct ht_qconn_settings set;
	uint8_t pin[HT_FP_LEN];
	const char *why, *alpn = NULL;
	char err[256];
	bool one = false;
	int rc = 1;

	if (argc < 5 || ht_hostport_parse(argv[1], false, 443, &hp, &why) != 0 ||
	    ht_fingerprint_parse(argv[2], pin) != 0)
		return usage();
	rw.wait = 5 * HT_SECONDS;
	for (int i = 5; i < argc; i++) {
		if (strcmp(argv[i], "--fin") == 0) {
			rw.fin = true;
		} else if (strcmp(argv[i], "--uni") == 0) {
			rw.uni = true;
		} else if (strcmp(argv[i], "--one-stream") == 0) {
			one = true;
		} else if (strcmp(argv[i], "--fin-after") == 0 && i + 1 < argc) {
			rw.fin = true;
			rw.fin_after = (ht_time)(atof(argv[++i]) * 1e9);
		} else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc) {
			rw.wait = (ht_time)(atof(argv[++i]) * 1e9);
		} else if (strcmp(argv[i], "--alpn") == 0 && i + 1 < argc) {
			alpn = argv[++i];
		} else {
			struct rstream *s;
			const char *hex = argv[i];

			if (rw.nst == 0 || !one) {
				if (rw.nst == MAX_STREAMS)
					return usage();
				rw.nst++;
			}
			s = &rw.st[rw.nst - 1];
			if (strncmp(hex, "bidi:", 5) == 0) {
				s->bidi = true;
				hex += 5;
			}
			if (parse_hex(hex, s->out, sizeof(s->out), &s->out_len) != 0) {
				fprintf(stderr, "qt_rawclient: bad hex '%s'\n", argv[i]);
				return 2;
			}
		}
	}
	if (rw.nst == 0)
		return usage();
	if (ht_tls_config_new(&tls, HT_TLS_CLIENT, argv[3], argv[4],
			      (const uint8_t(*)[HT_FP_LEN])pin, 1, err, sizeof(err)) != 0) {
		fprintf(stderr, "qt_rawclient: %s\n", err);
		return 1;
	}
	if (alpn != NULL && ht_tls_config_set_alpn(tls, alpn) != 0) {
		ht_tls_config_free(tls);
		return usage();
	}
	if (ht_loop_new(&rw.loop) != 0)
		goto out;
	ht_timer_init(&rw.t_wait, on_wait_timer, &rw);
	ht_timer_init(&rw.t_fin, on_fin_timer, &rw);
	a.remote_len = ht_sockaddr_from16(&ss, hp.addr, hp.port);
	a.remote = (const struct sockaddr *)&ss;
	a.tls = tls;
	ht_qconn_settings_default(&set);
	set.max_streams_uni = 1; /* the concentrator's control stream */
	a.set = &set;
	a.ops = &raw_ops;
	a.user = &rw;
	if (ht_qconn_connect(&rw.qc, rw.loop, &a) != 0) {
		fprintf(stderr, "qt_rawclient: cannot connect\n");
		goto out_loop;
	}
	(void)ht_loop_run(rw.loop);
	if (rw.up) {
		for (size_t i = 0; i < rw.nst; i++) {
			struct rstream *s = &rw.st[i];

			if (s->in_len > 0) {
				printf("stream %lld data ", (long long)s->sid);
				for (size_t j = 0; j < s->in_len; j++)
					printf("%02x", s->in[j]);
				printf("\n");
			}
			printf("stream %lld %s\n", (long long)s->sid,
			       s->end[0] != '\0' ? s->end : "open");
		}
		rc = 0;
	}
	if (rw.closed)
		printf("conn closed %s\n", rw.closed_why);
	fflush(stdout);
	ht_timer_cancel(rw.loop, &rw.t_wait);
	ht_timer_cancel(rw.loop, &rw.t_fin);
	if (rw.qc != NULL)
		ht_qconn_abort(rw.qc);
	if (ht_qconn_live_count() > 0) {
		rw.linger_until = ht_loop_now(rw.loop) + 2 * HT_SECONDS;
		ht_timer_init(&rw.t_linger, on_linger_timer, &rw);
		(void)ht_timer_set(rw.loop, &rw.t_linger, ht_loop_now(rw.loop));
		(void)ht_loop_run(rw.loop);
		ht_timer_cancel(rw.loop, &rw.t_linger);
	}
out_loop:
	ht_loop_free(rw.loop);
out:
	ht_tls_config_free(tls);
	return rc;
}
