/* hatun — status snapshots and their renderings (status.h). */
#include "tunnel/status.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sbuf {
	char *p;
	size_t len, cap;
	bool bad;
};

static void put(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->bad)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->bad = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap * 2;
		char *p;

		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		if (cap > HT_STATUS_MAX || (p = realloc(b->p, cap)) == NULL) {
			b->bad = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

static int begin(struct sbuf *b)
{
	b->len = 0;
	b->cap = 1024;
	b->bad = false;
	b->p = malloc(b->cap);
	if (b->p == NULL)
		return -1;
	b->p[0] = '\0';
	return 0;
}

static int end(struct sbuf *b, char **out, size_t *len)
{
	if (b->bad) {
		free(b->p);
		return -1;
	}
	*out = b->p;
	*len = b->len;
	return 0;
}

int ht_json_escape(char *out, size_t cap, const char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[8];
		size_t n;

		if (c == '"' || c == '\\')
			n = (size_t)snprintf(e, sizeof(e), "\\%c", c);
		else if (c == '\n')
			n = (size_t)snprintf(e, sizeof(e), "\\n");
		else if (c < 0x20 || c == 0x7f)
			n = (size_t)snprintf(e, sizeof(e), "\\u%04x", c);
		else {
			e[0] = (char)c;
			n = 1;
		}
		if (o + n + 1 > cap)
			return -1;
		memcpy(out + o, e, n);
		o += n;
	}
	if (o + 1 > cap)
		return -1;
	out[o] = '\0';
	return (int)o;
}

static const char *human_bytes(uint64_t v, char *buf, size_t len)
{
	static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double d = (double)v;
	int u = 0;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", d, unit[u]);
	return buf;
}

static void put_str(struct sbuf *b, const char *key, const char *v)
{
	char e[6 * 160 + 1];

	if (ht_json_escape(e, sizeof(e), v, strnlen(v, 160)) < 0)
		e[0] = '\0';
	put(b, "\"%s\":\"%s\"", key, e);
}

/* "datagrams":{...}: what went through and what was dropped, by reason. */
static void put_dg(struct sbuf *b, const struct ht_dg_counters *d)
{
	put(b,
	    "\"datagrams\":{\"sent\":%llu,\"sent_bytes\":%llu,\"received\":%llu,"
	    "\"received_bytes\":%llu,\"icmp_sent\":%llu,\"mss_clamped\":%llu,\"dropped\":{",
	    (unsigned long long)d->tx_pkts, (unsigned long long)d->tx_bytes,
	    (unsigned long long)d->rx_pkts, (unsigned long long)d->rx_bytes,
	    (unsigned long long)d->icmp_sent, (unsigned long long)d->mss_clamped);
	for (int i = 0; i < HT_DG_NDROP; i++)
		put(b, "%s\"%s\":%llu", i ? "," : "", ht_dg_drop_name(i),
		    (unsigned long long)d->drop[i]);
	put(b, "}}");
}

static void text_dg(struct sbuf *b, const char *indent, const struct ht_dg_counters *d)
{
	bool any = false;

	put(b, "%sdatagrams sent %llu  received %llu  icmp sent %llu  mss clamped %llu\n", indent,
	    (unsigned long long)d->tx_pkts, (unsigned long long)d->rx_pkts,
	    (unsigned long long)d->icmp_sent, (unsigned long long)d->mss_clamped);
	for (int i = 0; i < HT_DG_NDROP; i++) {
		if (d->drop[i] == 0)
			continue;
		put(b, "%s%s %s %llu", any ? "  " : indent, any ? "" : "dropped:", ht_dg_drop_name(i),
		    (unsigned long long)d->drop[i]);
		any = true;
	}
	if (any)
		put(b, "\n");
}

/* "session":{...}: the connection's tunneling session (issue 5).  The
 * client fills only the reorder figures (id 0: it has no session number). */
static void put_sess(struct sbuf *b, const struct ht_status_sess *s)
{
	put(b, ",\"session\":{\"id\":%llu,\"connections\":%u,\"path\":%d,",
	    (unsigned long long)s->id, s->conns, s->path);
	put_str(b, "path_state", s->path_state);
	put(b, ",\"picks\":%llu,\"picks_total\":%llu", (unsigned long long)s->picks,
	    (unsigned long long)s->picks_total);
	if (s->reorder)
		put(b,
		    ",\"reorder\":{\"in_order\":%llu,\"passed\":%llu,\"reordered\":%llu,"
		    "\"late\":%llu,\"duplicates\":%llu,\"lost\":%llu,\"timed_out\":%llu,"
		    "\"forced\":%llu,\"held\":%u,\"wait_ms\":%.3f}",
		    (unsigned long long)s->ro.in_order, (unsigned long long)s->ro.passed,
		    (unsigned long long)s->ro.reordered,
		    (unsigned long long)s->ro.late, (unsigned long long)s->ro.dup,
		    (unsigned long long)s->ro.lost, (unsigned long long)s->ro.timed_out,
		    (unsigned long long)s->ro.forced, s->held, (double)s->wait / 1e6);
	put(b, "}");
}

static void text_sess(struct sbuf *b, const struct ht_status_sess *s)
{
	if (s->id != 0)
		put(b, "    session #%llu  path %d of %u  %s  share %.0f%%\n",
		    (unsigned long long)s->id, s->path, s->conns,
		    s->path_state[0] ? s->path_state : "-",
		    s->picks_total ? 100.0 * (double)s->picks / (double)s->picks_total : 0.0);
	if (s->reorder)
		put(b,
		    "    reorder: in order %llu  passed %llu  reordered %llu  late %llu  "
		    "duplicates %llu  lost %llu  timed out %llu  forced %llu  held %u  "
		    "wait %.1f ms\n",
		    (unsigned long long)s->ro.in_order, (unsigned long long)s->ro.passed,
		    (unsigned long long)s->ro.reordered,
		    (unsigned long long)s->ro.late, (unsigned long long)s->ro.dup,
		    (unsigned long long)s->ro.lost, (unsigned long long)s->ro.timed_out,
		    (unsigned long long)s->ro.forced, s->held, (double)s->wait / 1e6);
}

void ht_status_release(struct ht_status *st)
{
	free(st->conns);
	st->conns = NULL;
	if (st->conv != NULL)
		free(st->conv->conns);
	free(st->conv);
	st->conv = NULL;
	if (st->cvc != NULL) {
		free(st->cvc->conns);
		free(st->cvc->dests);
	}
	free(st->cvc);
	st->cvc = NULL;
	free(st->routes);
	st->routes = NULL;
}

/* ---- converted connections (issue 6) ----------------------------------------------- */

static void put_cvconn(struct sbuf *b, const struct ht_status_cvconn *c, bool at_client)
{
	put(b, "{");
	put_str(b, "client", c->client);
	put(b, ",");
	put_str(b, "destination", c->dest);
	put(b, ",");
	put_str(b, "state", c->state);
	if (at_client)
		put(b, ",\"via\":\"%s\",\"converter_mptcp\":%s", c->via_conv ? "converter" : "direct",
		    c->mptcp ? "true" : "false");
	else
		put(b, ",\"client_mptcp\":%s", c->mptcp ? "true" : "false");
	put(b, ",\"subflows\":%u,", c->subflows);
	if (!at_client) {
		put_str(b, "server", c->server);
		put(b, ",\"tfo\":%s,", c->tfo ? "true" : "false");
	}
	put(b, "\"bytes_up\":%llu,\"bytes_down\":%llu,\"age_s\":%.3f}", (unsigned long long)c->up,
	    (unsigned long long)c->down, (double)c->age / 1e9);
}

static void text_cvconn(struct sbuf *b, const struct ht_status_cvconn *c, bool at_client)
{
	char h1[32], h2[32];

	put(b, "  %s -> %s  %s  age %.1f s\n", c->client, c->dest, c->state,
	    (double)c->age / 1e9);
	if (at_client)
		put(b, "    %s (%s, %u subflow%s)", c->via_conv ? "via the converter" : "direct",
		    c->mptcp ? "MPTCP" : "TCP", c->subflows, c->subflows == 1 ? "" : "s");
	else
		put(b, "    client %s, %u subflow%s  server %s%s", c->mptcp ? "MPTCP" : "TCP",
		    c->subflows, c->subflows == 1 ? "" : "s", c->server[0] ? c->server : "-",
		    c->tfo ? ", TFO" : "");
	put(b, "  up %s  down %s\n", human_bytes(c->up, h1, sizeof(h1)),
	    human_bytes(c->down, h2, sizeof(h2)));
}

static void put_conv(struct sbuf *b, const struct ht_status_conv *v)
{
	put(b, ",\"converter\":{");
	put_str(b, "listen", v->listen);
	put(b,
	    ",\"mptcp\":%s,\"open\":%llu,\"header\":%llu,\"connecting\":%llu,\"relaying\":%llu,"
	    "\"max_conns\":%llu,\"max_pending_per_client\":%llu,\"accepted\":%llu,"
	    "\"bootstraps\":%llu,\"converted\":%llu,\"closed\":%llu,\"bytes_up\":%llu,"
	    "\"bytes_down\":%llu,\"refused\":%llu,\"errors\":[",
	    v->mptcp ? "true" : "false", (unsigned long long)v->open, (unsigned long long)v->header,
	    (unsigned long long)v->connecting, (unsigned long long)v->relaying,
	    (unsigned long long)v->max_conns, (unsigned long long)v->max_pending,
	    (unsigned long long)v->accepted, (unsigned long long)v->bootstraps,
	    (unsigned long long)v->converted, (unsigned long long)v->closed,
	    (unsigned long long)v->bytes_up, (unsigned long long)v->bytes_down,
	    (unsigned long long)v->refused);
	for (int i = 0; i < CV_NCODES; i++)
		put(b, "%s{\"code\":%u,\"name\":\"%s\",\"count\":%llu}", i ? "," : "",
		    cv_error_codes[i], cv_error_name(cv_error_codes[i]),
		    (unsigned long long)v->errors[i]);
	put(b,
	    "],\"errors_unsent\":%llu,\"refused_max_conns\":%llu,"
	    "\"refused_max_pending_per_client\":%llu,\"reset_unread\":%llu,"
	    "\"not_convert\":%llu,\"upstream_plain_tcp\":%llu,\"tcp_only_destinations\":%llu,"
	    "\"connections\":[",
	    (unsigned long long)v->errors_unsent, (unsigned long long)v->cap_conns,
	    (unsigned long long)v->cap_pending, (unsigned long long)v->reset_unread,
	    (unsigned long long)v->not_convert, (unsigned long long)v->upstream_tcp,
	    (unsigned long long)v->tcp_dests);
	for (size_t i = 0; i < v->nconns; i++) {
		put(b, "%s", i ? "," : "");
		put_cvconn(b, &v->conns[i], false);
	}
	put(b, "]}");
}

static void text_conv(struct sbuf *b, const struct ht_status_conv *v)
{
	char h1[32], h2[32];
	bool any = false;

	put(b, "converter %s (%s)\n", v->listen,
	    v->mptcp ? "MPTCP + TFO" : "TCP + TFO: no MPTCP in this kernel");
	put(b,
	    "  connections: %llu open (%llu relaying, %llu connecting, %llu reading the message)"
	    "  caps: --max-conns %llu, --max-pending-per-client %llu\n",
	    (unsigned long long)v->open, (unsigned long long)v->relaying,
	    (unsigned long long)v->connecting, (unsigned long long)v->header,
	    (unsigned long long)v->max_conns, (unsigned long long)v->max_pending);
	put(b, "  accepted %llu  bootstraps %llu  converted %llu  closed %llu  up %s  down %s\n",
	    (unsigned long long)v->accepted, (unsigned long long)v->bootstraps,
	    (unsigned long long)v->converted, (unsigned long long)v->closed,
	    human_bytes(v->bytes_up, h1, sizeof(h1)), human_bytes(v->bytes_down, h2, sizeof(h2)));
	put(b, "  refused %llu", (unsigned long long)v->refused);
	for (int i = 0; i < CV_NCODES; i++) {
		if (v->errors[i] == 0)
			continue;
		put(b, "%s%s (%u) %llu", any ? ", " : ": ", cv_error_name(cv_error_codes[i]),
		    cv_error_codes[i], (unsigned long long)v->errors[i]);
		any = true;
	}
	put(b, "\n");
	put(b,
	    "  caps hit: --max-conns %llu, --max-pending-per-client %llu, reset unread %llu;"
	    "  Error TLVs not sent %llu;  not Convert %llu\n",
	    (unsigned long long)v->cap_conns, (unsigned long long)v->cap_pending,
	    (unsigned long long)v->reset_unread, (unsigned long long)v->errors_unsent,
	    (unsigned long long)v->not_convert);
	put(b, "  plain-TCP upstreams %llu (destinations known not to speak MPTCP: %llu now)\n",
	    (unsigned long long)v->upstream_tcp, (unsigned long long)v->tcp_dests);
	for (size_t i = 0; i < v->nconns; i++)
		text_cvconn(b, &v->conns[i], false);
	if (v->nconns < v->open)
		put(b, "  ... %llu more not listed\n", (unsigned long long)(v->open - v->nconns));
}

static void put_cvc(struct sbuf *b, const struct ht_status_cvc *v)
{
	put(b, ",\"convert\":{");
	put_str(b, "converter", v->converter);
	put(b,
	    ",\"bootstrapped\":%s,\"disabled\":%s,\"suspect\":%u,\"open\":%zu,\"converted\":%llu,"
	    "\"direct\":%llu,\"failed\":%llu,\"mptcp_destinations\":[",
	    v->bootstrapped ? "true" : "false", v->disabled ? "true" : "false", v->suspect, v->open,
	    (unsigned long long)v->converted, (unsigned long long)v->direct,
	    (unsigned long long)v->failed);
	for (size_t i = 0; i < v->ndests; i++) {
		put(b, "%s{", i ? "," : "");
		put_str(b, "destination", v->dests[i].dest);
		put(b, ",\"expires_s\":%.3f}", (double)v->dests[i].expires_in / 1e9);
	}
	put(b, "],\"connections\":[");
	for (size_t i = 0; i < v->nconns; i++) {
		put(b, "%s", i ? "," : "");
		put_cvconn(b, &v->conns[i], true);
	}
	put(b, "]}");
}

static void text_cvc(struct sbuf *b, const struct ht_status_cvc *v, bool mixed)
{
	put(b, "transport: convert, converter %s (%s)\n", v->converter,
	    v->disabled && mixed ? "DISABLED: interference or no reply, its destinations take "
				   "the tunnel"
	    : v->disabled       ? "DISABLED: interference or no reply, connecting directly"
	    : v->bootstrapped   ? "in use"
				: "not bootstrapped yet");
	put(b, "  connections: %zu open; %llu converted, %llu direct, %llu failed", v->open,
	    (unsigned long long)v->converted, (unsigned long long)v->direct,
	    (unsigned long long)v->failed);
	if (v->suspect > 0)
		put(b, "; %u suspect replies in a row", v->suspect);
	put(b, "\n  MPTCP-capable destinations (reached directly): %zu\n", v->ndests);
	for (size_t i = 0; i < v->ndests; i++)
		put(b, "    %s  expires in %.0f s\n", v->dests[i].dest,
		    (double)v->dests[i].expires_in / 1e9);
	for (size_t i = 0; i < v->nconns; i++)
		text_cvconn(b, &v->conns[i], true);
	if (v->nconns < v->open)
		put(b, "  ... %zu more not listed\n", v->open - v->nconns);
}

static void put_routes(struct sbuf *b, const struct ht_status_routes *v)
{
	put(b,
	    ",\"routing\":{\"default\":\"%s\",\"default_hits\":%llu,\"tunnel\":%llu,"
	    "\"convert\":%llu,\"fallback\":%llu,\"names\":%llu,\"rules\":[",
	    v->default_convert ? "convert" : "tunnel", (unsigned long long)v->default_hits,
	    (unsigned long long)v->tunnel, (unsigned long long)v->convert,
	    (unsigned long long)v->fallback, (unsigned long long)v->names);
	for (size_t i = 0; i < v->nrules; i++) {
		put(b, "%s{", i ? "," : "");
		put_str(b, "spec", v->rule[i].spec);
		put(b, ",\"via\":\"%s\",\"hits\":%llu}", v->rule[i].convert ? "convert" : "tunnel",
		    (unsigned long long)v->rule[i].hits);
	}
	put(b, "]}");
}

static void text_routes(struct sbuf *b, const struct ht_status_routes *v)
{
	put(b,
	    "routing: %llu through the tunnel, %llu through the converter; %llu of the "
	    "converter's through the tunnel (disabled or refused), %llu host names through the tunnel\n",
	    (unsigned long long)v->tunnel, (unsigned long long)v->convert,
	    (unsigned long long)v->fallback, (unsigned long long)v->names);
	for (size_t i = 0; i < v->nrules; i++)
		put(b, "  rule %zu  %-7s  %s  %llu hits\n", i + 1,
		    v->rule[i].convert ? "convert" : "tunnel", v->rule[i].spec,
		    (unsigned long long)v->rule[i].hits);
	put(b, "  default %-7s  %llu hits\n", v->default_convert ? "convert" : "tunnel",
	    (unsigned long long)v->default_hits);
}

/* The QUIC tunnel's part: not for a converter or a pure convert client. */
static bool has_tunnel(const struct ht_status *st)
{
	return strcmp(st->role, "converter") != 0 && (st->cvc == NULL || st->routes != NULL);
}

int ht_status_json(const struct ht_status *st, char **out, size_t *len)
{
	struct sbuf b;

	if (begin(&b) != 0)
		return -1;
	put(&b, "{");
	put_str(&b, "role", st->role);
	put(&b, ",\"uptime_s\":%.3f", (double)st->uptime / 1e9);
	if (st->conv != NULL)
		put_conv(&b, st->conv);
	if (st->cvc != NULL)
		put_cvc(&b, st->cvc);
	if (st->routes != NULL)
		put_routes(&b, st->routes);
	if (!has_tunnel(st)) {
		put(&b, "}\n");
		return end(&b, out, len);
	}
	put(&b, ",\"tcp\":{\"open\":%llu,\"total\":%llu,\"refused\":%llu}",
	    (unsigned long long)st->tcp_open, (unsigned long long)st->tcp_total,
	    (unsigned long long)st->tcp_refused);
	if (strcmp(st->role, "client") == 0)
		put(&b, ",\"dns\":{\"lookups\":%llu,\"cache_hits\":%llu}",
		    (unsigned long long)st->dns_sent, (unsigned long long)st->dns_cache_hits);
	if (st->tun[0] != '\0') {
		put(&b, ",");
		put_str(&b, "tun", st->tun);
		put(&b, ",\"device\":{");
		put_dg(&b, &st->dg);
		put(&b, "}");
	}
	put(&b, ",\"connections\":[");
	for (size_t i = 0; i < st->nconns; i++) {
		const struct ht_status_conn *c = &st->conns[i];

		put(&b, "%s{", i ? "," : "");
		if (c->path[0] != '\0') {
			put_str(&b, "path", c->path);
			put(&b, ",\"share_pct\":%d,\"failures\":%u,\"false_alarms\":%u,"
			    "\"quick_timeout_ms\":%.1f,",
			    c->share_pct, c->path_failures, c->path_false_alarms,
			    (double)c->quick_timeout / 1e6);
		}
		put_str(&b, "peer", c->peer);
		put(&b, ",");
		put_str(&b, "fingerprint", c->fp);
		put(&b, ",");
		put_str(&b, "alpn", c->alpn);
		put(&b, ",");
		put_str(&b, "state", c->state);
		put(&b, ",");
		put_str(&b, "zero_rtt", c->zero_rtt);
		put(&b,
		    ",\"srtt_ms\":%.3f,\"cwnd\":%llu,\"bytes_sent\":%llu,\"bytes_received\":%llu,"
		    "\"lost_packets\":%llu,\"streams\":%llu,\"tcp_open\":%llu",
		    (double)c->st.smoothed_rtt / 1e6, (unsigned long long)c->st.cwnd,
		    (unsigned long long)c->st.bytes_sent, (unsigned long long)c->st.bytes_received,
		    (unsigned long long)c->st.lost_pkts, (unsigned long long)c->st.streams_open,
		    (unsigned long long)c->tcp_open);
		if (c->dgram) {
			put(&b, ",");
			put_str(&b, "addresses", c->addrs);
			put(&b, ",");
			put_dg(&b, &c->dg);
		}
		if (c->sess.id != 0 || c->sess.reorder)
			put_sess(&b, &c->sess);
		put(&b, "}");
	}
	put(&b, "]}\n");
	return end(&b, out, len);
}

int ht_status_text(const struct ht_status *st, char **out, size_t *len)
{
	struct sbuf b;
	unsigned long long up = (unsigned long long)(st->uptime / HT_SECONDS);
	char h1[32], h2[32];

	if (begin(&b) != 0)
		return -1;
	put(&b, "role: %s\nuptime: %llud %02lluh%02llum%02llus\n", st->role, up / 86400,
	    up / 3600 % 24, up / 60 % 60, up % 60);
	if (st->routes != NULL)
		text_routes(&b, st->routes);
	if (st->cvc != NULL)
		text_cvc(&b, st->cvc, st->routes != NULL);
	if (!has_tunnel(st)) {
		if (st->conv != NULL)
			text_conv(&b, st->conv);
		return end(&b, out, len);
	}
	put(&b, "tunnelled tcp: %llu open, %llu total, %llu refused\n",
	    (unsigned long long)st->tcp_open, (unsigned long long)st->tcp_total,
	    (unsigned long long)st->tcp_refused);
	if (strcmp(st->role, "client") == 0)
		put(&b, "dns: %llu lookups through the tunnel, %llu cache hits\n",
		    (unsigned long long)st->dns_sent, (unsigned long long)st->dns_cache_hits);
	if (st->tun[0] != '\0') {
		put(&b, "tun %s\n", st->tun);
		text_dg(&b, "  ", &st->dg);
	}
	put(&b, "quic connections: %zu\n", st->nconns);
	for (size_t i = 0; i < st->nconns; i++) {
		const struct ht_status_conn *c = &st->conns[i];

		if (c->path[0] != '\0' && c->share_pct >= 0)
			put(&b, "  path %s: peer %s (%s)  share %d%%\n", c->path, c->peer, c->state,
			    c->share_pct);
		else if (c->path[0] != '\0')
			put(&b, "  path %s: peer %s (%s)\n", c->path, c->peer, c->state);
		else
			put(&b, "  peer %s (%s)\n", c->peer, c->state);
		put(&b, "    fingerprint %s\n", c->fp[0] ? c->fp : "-");
		put(&b, "    alpn %s%s%s  srtt %.2f ms  cwnd %llu  lost %llu packets\n",
		    c->alpn[0] ? c->alpn : "-", c->zero_rtt[0] ? "  0-RTT " : "", c->zero_rtt,
		    (double)c->st.smoothed_rtt / 1e6,
		    (unsigned long long)c->st.cwnd, (unsigned long long)c->st.lost_pkts);
		put(&b, "    sent %s  received %s  streams %llu  tcp open %llu\n",
		    human_bytes(c->st.bytes_sent, h1, sizeof(h1)),
		    human_bytes(c->st.bytes_received, h2, sizeof(h2)),
		    (unsigned long long)c->st.streams_open, (unsigned long long)c->tcp_open);
		if (c->dgram) {
			put(&b, "    addresses %s\n", c->addrs[0] ? c->addrs : "-");
			text_dg(&b, "    ", &c->dg);
		}
		if (c->path[0] != '\0' && c->quick_timeout != 0)
			put(&b, "    liveness: failed %u times (%u false alarms), quick timeout %.0f ms\n",
			    c->path_failures, c->path_false_alarms, (double)c->quick_timeout / 1e6);
		if (c->sess.id != 0 || c->sess.reorder)
			text_sess(&b, &c->sess);
	}
	if (st->conv != NULL)
		text_conv(&b, st->conv);
	return end(&b, out, len);
}
