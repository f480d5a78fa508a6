/* hatun — the concentrator's datagram mode: a TUN device, the address
 * pools, and the routing between the device and the clients' connections
 * (quic-tunnel-01 §4, §8.2; docs/protocol/datagram-config.md).
 *
 *   device → destination address → the client holding it (pool lease) →
 *            DATAGRAM (Protocol Type ‖ Packet Tag) on its connection
 *   client DATAGRAM → parse → ingress filter (source must be one of the
 *            client's addresses) → another client (only with
 *            --allow-client-to-client) or the device (the kernel routes)
 *
 * Every client connection has one ht_dgpeer, embedded in the
 * concentrator's per-connection object: it carries the control streams
 * (ctrlstream.h) under every ALPN, so the session negotiation of issue 5
 * has its place even without --tun.  Each connection is a member of one
 * tunneling session (sessions.h); the session, not the connection, owns
 * the addresses, the downstream Packet Tag, the choice of the connection a
 * packet goes on and the order upstream packets leave in (dgsess.h).  A
 * session with one connection behaves as that connection alone.
 */
#ifndef HATUN_TUNNEL_DGRAM_ROUTER_H
#define HATUN_TUNNEL_DGRAM_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "proto/qt_ext.h"
#include "quic/identity.h"
#include "tunnel/ctrlstream.h"
#include "tunnel/dgram.h"
#include "tunnel/sessions.h"

struct ht_dgrouter;
struct ht_status_conn;

struct ht_dgrouter_config {
	const char *tun; /* device name; NULL: no IP service */
	bool tap;        /* --tap: the device is a TAP, frames (0x6558) are bridged */
	struct {
		int version;
		uint8_t prefix[16];
		uint8_t plen;
	} pool[2];
	size_t npool;
	uint8_t dns[QT_EXT_MAX_DNS][16]; /* resolvers announced to clients */
	size_t ndns;
	bool allow_c2c; /* --allow-client-to-client */
	bool nat;       /* --nat: install the masquerade rule */
	unsigned mtu;   /* the tunnel MTU all connections aim at */
	size_t max_sessions; /* tunneling sessions at once (0: 4096) */
	ht_time session_linger; /* a session outlives its last connection (0: 30 s) */
};

/* A tunneling session's datagram state (dgram_router.c): hung on
 * ht_session.user, it holds the pool leases and the session's dgsess. */
struct ht_dgr_sess;

/* One client connection's datagram-mode state. */
struct ht_dgpeer {
	struct ht_dgrouter *r;
	struct ht_qconn *qc;
	uint8_t fp[HT_FP_LEN];
	struct ht_ctrl ctrl;
	bool ctrl_ready; /* ht_ctrl_init ran (handshake done) */
	enum qt_dgram_profile prof;
	unsigned mtu;             /* this connection's tunnel MTU */
	struct ht_session *sess;  /* the tunneling session it created or joined */
	struct ht_dgr_sess *ds;   /* that session's datagram state (sess->user) */
	int slot;                 /* its path index in the session; -1: none */
	struct ht_dg_counters ctr;
};

/* Open the device, give it the pools' first addresses and routes, install
 * the NAT rule if asked.  cfg->tun NULL: a router without IP service (it
 * still answers Address Requests, with no addresses).  Returns 0 or -1
 * with a reason in err. */
int ht_dgrouter_new(struct ht_dgrouter **out, struct ht_loop *loop,
		    const struct ht_dgrouter_config *cfg, char *err, size_t errlen);
void ht_dgrouter_free(struct ht_dgrouter *r);

/* A connection was accepted (handshake done): the peer's control streams. */
void ht_dgpeer_init(struct ht_dgpeer *p, struct ht_dgrouter *r, struct ht_qconn *qc,
		    const uint8_t fp[HT_FP_LEN]);
/* Its connection is gone: it leaves its session (the session keeps its
 * addresses while it lingers, docs/protocol/sessions.md). */
void ht_dgpeer_release(struct ht_dgpeer *p);
/* A DATAGRAM frame from it. */
void ht_dgpeer_on_datagram(struct ht_dgpeer *p, const uint8_t *data, size_t len);

/* Status: the peer's addresses ("10.8.0.7 2001:db8:8::7") and counters. */
void ht_dgpeer_status(const struct ht_dgpeer *p, struct ht_status_conn *c);
/* Status: its session (c->sess), in any mode. */
void ht_dgpeer_session_status(const struct ht_dgpeer *p, struct ht_status_conn *c);
/* The device name ("" without) and counters not tied to a client. */
const char *ht_dgrouter_tun(const struct ht_dgrouter *r);
void ht_dgrouter_counters(const struct ht_dgrouter *r, struct ht_dg_counters *c);

#endif
