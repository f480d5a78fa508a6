/* hatun — what `hatun status` shows: a snapshot of a running client or
 * concentrator, and its two renderings (text for people, one JSON object
 * for scripts).  Pure: the owner fills struct ht_status, the renderers
 * only format (hand-written JSON with RFC 8259 string escaping). */
#ifndef HATUN_TUNNEL_STATUS_H
#define HATUN_TUNNEL_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "quic/conn.h"
#include "quic/identity.h"
#include "tunnel/dgram.h"
#include "tunnel/reorder.h"

#define HT_STATUS_MAX (1u << 20) /* rendered output cap, bytes */

/* The tunneling session a connection belongs to (issue 5): its place in it
 * and, in datagram mode, the session's scheduler and reorder buffer (the
 * reorder figures are the session's, the same on each of its connections). */
struct ht_status_sess {
	uint64_t id;                  /* the session's number (#N in the logs); 0: none */
	unsigned conns;               /* its connections now */
	int path;                     /* this connection's path index in it */
	char path_state[16];          /* "active", "failed", ... ("" unknown) */
	uint64_t picks, picks_total;  /* downstream packets placed on it / on all */
	bool reorder;                 /* the fields below are filled */
	struct ht_reorder_stats ro;
	unsigned held;                /* packets waiting in the reorder buffer now */
	ht_time wait;                 /* its current hold time for a gap */
};

struct ht_status_conn {
	char peer[64];                 /* "192.0.2.1:443" */
	char fp[HT_FP_STRLEN + 1];     /* the peer's fingerprint ("" unknown) */
	char alpn[16];
	char path[40];                 /* client with --path: the access path ("" none) */
	char state[16];                /* "up", "connecting"; with paths "active", ... */
	int share_pct;                 /* client with --path: datagrams it carried, % (-1: n/a) */
	char zero_rtt[12];             /* "", "offered", "accepted", "rejected" */
	struct ht_qconn_stats st;
	uint64_t tcp_open;             /* tunnelled TCP connections on it now */
	bool dgram;                    /* datagram mode: the fields below */
	char addrs[160];               /* tunnel addresses, space-separated */
	struct ht_dg_counters dg;
	struct ht_status_sess sess;    /* sess.id 0: in no session */
};

struct ht_status {
	const char *role; /* "client", "concentrator" */
	ht_time uptime;
	struct ht_status_conn *conns;
	size_t nconns;
	uint64_t tcp_open, tcp_total, tcp_refused; /* tunnelled TCP connections */
	uint64_t dns_sent, dns_cache_hits;         /* client with --dns */
	char tun[IFNAMSIZ];                        /* datagram mode: the device, "" */
	struct ht_dg_counters dg;                  /* device-side drops (concentrator) */
};

/* Render st into a malloc'ed NUL-terminated buffer (*out, length *len).
 * Returns 0, or -1 (out of memory, over HT_STATUS_MAX). */
int ht_status_text(const struct ht_status *st, char **out, size_t *len);
int ht_status_json(const struct ht_status *st, char **out, size_t *len);

/* JSON string escaping of s (len bytes) into out (NUL-terminated); returns
 * the characters written, or -1 when cap is too small.  Control characters,
 * '"' and '\' are escaped, other bytes go as they are. */
int ht_json_escape(char *out, size_t cap, const char *s, size_t len);

#endif
