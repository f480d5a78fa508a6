/* hatun — what `hatun status` shows: a snapshot of a running client,
 * concentrator or Transport Converter, and its two renderings (text for
 * people, one JSON object for scripts).  Pure: the owner fills struct
 * ht_status, the renderers only format (hand-written JSON with RFC 8259
 * string escaping). */
#ifndef HATUN_TUNNEL_STATUS_H
#define HATUN_TUNNEL_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "proto/convert.h"
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
	/* client with --path: liveness (tunnel/liveness.h) */
	uint32_t path_failures, path_false_alarms;
	ht_time quick_timeout;         /* the quick rule's current timeout (0: n/a) */
	char zero_rtt[12];             /* "", "offered", "accepted", "rejected" */
	struct ht_qconn_stats st;
	uint64_t tcp_open;             /* tunnelled TCP connections on it now */
	bool dgram;                    /* datagram mode: the fields below */
	char addrs[160];               /* tunnel addresses, space-separated */
	struct ht_dg_counters dg;
	struct ht_status_sess sess;    /* sess.id 0: in no session */
};

/* One converted connection (issue 6): at the converter a client's
 * connection and its upstream leg; at the convert client an
 * application's connection and its leg to the converter or, directly, to
 * the destination. */
struct ht_status_cvconn {
	char client[64];   /* the client's (application's) address:port */
	char dest[64];     /* the destination (Remote Peer) */
	char state[12];    /* converter: "header", "connecting", "relay"; client: "socks", ... */
	bool via_conv;     /* client: through the converter (false: direct) */
	bool mptcp;        /* the converter's client leg / the client's converter leg is MPTCP */
	unsigned subflows; /* ... and its subflows (MPTCP_INFO: the initial one + joins) */
	/* converter: the upstream leg ("" yet): "MPTCP", "TCP fallback" (an
	 * MPTCP connect answered as TCP), "TCP cached" (plain TCP: known
	 * TCP-only), "TCP" (the client asked no MPTCP) */
	char server[16];
	bool tfo;          /* converter: the upstream SYN carried data */
	uint64_t up, down; /* bytes relayed client -> destination, destination -> client */
	ht_time age;
};

/* Rendering lists at most this many connections (the counts are whole). */
#define HT_STATUS_CV_LIST 2000u

/* The Transport Converter (`hatun converter`, or `--convert-listen` in a
 * concentrator). */
struct ht_status_conv {
	char listen[64];
	bool mptcp;                       /* the listener is MPTCP */
	struct ht_status_cvconn *conns;   /* up to HT_STATUS_CV_LIST of them */
	size_t nconns;
	uint64_t open, header, connecting, relaying; /* connections now, by state */
	uint64_t max_conns, max_pending;  /* --max-conns, --max-pending-per-client */
	uint64_t accepted, bootstraps, converted, closed;
	uint64_t bytes_up, bytes_down;    /* closed and open connections */
	uint64_t refused;                 /* Error TLVs answered (sent or not) */
	uint64_t errors[CV_NCODES];       /* ... by code, cv_error_codes order */
	uint64_t errors_unsent;           /* rate limit (--error-rate) or full socket: reset only */
	uint64_t cap_conns, cap_pending;  /* Resource Exceeded by --max-conns / per client */
	uint64_t reset_unread;            /* over the accept slack: reset before reading */
	uint64_t not_convert;             /* not a Convert stream / client's Error: reset */
	uint64_t upstream_tcp;            /* plain-TCP upstreams to destinations known TCP-only */
	uint64_t tcp_dests;               /* such destinations remembered now */
};

/* A destination the convert client reaches directly (its MPTCP cache). */
struct ht_status_cvdest {
	char dest[64];
	ht_time expires_in;
};

/* `hatun client --transport convert`. */
struct ht_status_cvc {
	char converter[64];
	bool bootstrapped, disabled; /* disabled: interference (§6) or no reply, all direct */
	unsigned suspect;            /* consecutive suspect replies */
	uint64_t converted, direct, failed;
	struct ht_status_cvconn *conns; /* open ones, up to HT_STATUS_CV_LIST */
	size_t nconns, open;
	struct ht_status_cvdest *dests; /* MPTCP-capable destinations (cache) */
	size_t ndests;
};

/* The client's mixed mode (--server and --converter): where connections
 * went, per rule (--convert-dest / --tunnel-dest, in order). */
#define HT_STATUS_ROUTE_RULES 64u
struct ht_status_route {
	char spec[80];  /* canonical SPEC */
	bool convert;   /* --convert-dest (else --tunnel-dest) */
	uint64_t hits;
};

struct ht_status_routes {
	bool default_convert;          /* --transport for unmatched destinations */
	uint64_t default_hits;         /* connections no rule matched */
	uint64_t tunnel, convert;      /* connections each transport took */
	uint64_t fallback;             /* routed to the converter, taken by the tunnel:
					  it was disabled, or refused the SYN */
	uint64_t names;                /* host names: always the tunnel */
	struct ht_status_route rule[HT_STATUS_ROUTE_RULES];
	size_t nrules;
};

struct ht_status {
	const char *role; /* "client", "concentrator", "converter" */
	ht_time uptime;
	struct ht_status_conn *conns;
	size_t nconns;
	uint64_t tcp_open, tcp_total, tcp_refused; /* tunnelled TCP connections */
	uint64_t dns_sent, dns_cache_hits;         /* client with --dns */
	char tun[IFNAMSIZ];                        /* datagram mode: the device, "" */
	struct ht_dg_counters dg;                  /* device-side drops (concentrator) */
	struct ht_status_conv *conv;               /* a converter runs here; NULL none */
	struct ht_status_cvc *cvc;                 /* the convert client; NULL */
	struct ht_status_routes *routes;           /* client, mixed mode (tunnel + cvc); NULL */
};

/* Free what a filler allocated (conns, conv, cvc and their lists). */
void ht_status_release(struct ht_status *st);

/* Render st into a malloc'ed NUL-terminated buffer (*out, length *len).
 * Returns 0, or -1 (out of memory, over HT_STATUS_MAX). */
int ht_status_text(const struct ht_status *st, char **out, size_t *len);
int ht_status_json(const struct ht_status *st, char **out, size_t *len);

/* JSON string escaping of s (len bytes) into out (NUL-terminated); returns
 * the characters written, or -1 when cap is too small.  Control characters,
 * '"' and '\' are escaped, other bytes go as they are. */
int ht_json_escape(char *out, size_t cap, const char *s, size_t len);

#endif
