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

/* "session":{...}: the connection's tunneling session (issue 5). */
static void put_sess(struct sbuf *b, const struct ht_status_sess *s)
{
	put(b, ",\"session\":{\"id\":%llu,\"connections\":%u,\"path\":%d,",
	    (unsigned long long)s->id, s->conns, s->path);
	put_str(b, "path_state", s->path_state);
	put(b, ",\"picks\":%llu,\"picks_total\":%llu", (unsigned long long)s->picks,
	    (unsigned long long)s->picks_total);
	if (s->reorder)
		put(b,
		    ",\"reorder\":{\"in_order\":%llu,\"reordered\":%llu,\"late\":%llu,"
		    "\"duplicates\":%llu,\"lost\":%llu,\"timed_out\":%llu,\"forced\":%llu,"
		    "\"held\":%u,\"wait_ms\":%.3f}",
		    (unsigned long long)s->ro.in_order, (unsigned long long)s->ro.reordered,
		    (unsigned long long)s->ro.late, (unsigned long long)s->ro.dup,
		    (unsigned long long)s->ro.lost, (unsigned long long)s->ro.timed_out,
		    (unsigned long long)s->ro.forced, s->held, (double)s->wait / 1e6);
	put(b, "}");
}

static void text_sess(struct sbuf *b, const struct ht_status_sess *s)
{
	put(b, "    session #%llu  path %d of %u  %s  share %.0f%%\n", (unsigned long long)s->id,
	    s->path, s->conns, s->path_state[0] ? s->path_state : "-",
	    s->picks_total ? 100.0 * (double)s->picks / (double)s->picks_total : 0.0);
	if (s->reorder)
		put(b,
		    "    reorder: in order %llu  reordered %llu  late %llu  duplicates %llu  "
		    "lost %llu  timed out %llu  forced %llu  held %u  wait %.1f ms\n",
		    (unsigned long long)s->ro.in_order, (unsigned long long)s->ro.reordered,
		    (unsigned long long)s->ro.late, (unsigned long long)s->ro.dup,
		    (unsigned long long)s->ro.lost, (unsigned long long)s->ro.timed_out,
		    (unsigned long long)s->ro.forced, s->held, (double)s->wait / 1e6);
}

int ht_status_json(const struct ht_status *st, char **out, size_t *len)
{
	struct sbuf b;

	if (begin(&b) != 0)
		return -1;
	put(&b, "{");
	put_str(&b, "role", st->role);
	put(&b, ",\"uptime_s\":%.3f", (double)st->uptime / 1e9);
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
			put(&b, ",\"share_pct\":%d,", c->share_pct);
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
		if (c->sess.id != 0)
			put_sess(&b, &c->sess);
		put(&b, "}");
	}
	put(&b, "]}\n");
	return end(&b, out, len);
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

int ht_status_text(const struct ht_status *st, char **out, size_t *len)
{
	struct sbuf b;
	unsigned long long up = (unsigned long long)(st->uptime / HT_SECONDS);
	char h1[32], h2[32];

	if (begin(&b) != 0)
		return -1;
	put(&b, "role: %s\nuptime: %llud %02lluh%02llum%02llus\n", st->role, up / 86400,
	    up / 3600 % 24, up / 60 % 60, up % 60);
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
		if (c->sess.id != 0)
			text_sess(&b, &c->sess);
	}
	return end(&b, out, len);
}
