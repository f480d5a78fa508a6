/* hatun — the client side of stream mode.
 *
 * QUIC connections to the concentrator (its certificate pinned), one per
 * access path, joined into one tunneling session (cpaths.h); with one path
 * re-established with capped exponential backoff when it dies.  Entry
 * points accept TCP connections: -L forwards and a SOCKS5 server.  Each
 * TCP connection gets a bidirectional stream carrying TCP Connect + End and
 * then, at once, the bytes (no wait for Connect OK).  Connections that
 * cannot get a stream yet (connection down, the concentrator's stream
 * limit reached) wait in a bounded queue, each with a deadline.
 */
#ifndef HATUN_TUNNEL_CLIENT_H
#define HATUN_TUNNEL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/loop.h"
#include "proto/route_rule.h"
#include "quic/identity.h"
#include "tunnel/cpaths.h"
#include "tunnel/dgram_client.h"
#include "tunnel/handoff.h"
#include "tunnel/spec.h"

struct ht_client;

struct ht_client_config {
	struct sockaddr_storage server; /* the concentrator (resolved) */
	socklen_t server_len;
	const char *cert, *key;
	uint8_t pin[HT_FP_LEN];
	bool have_pin;           /* false: --ca only */
	const char *ca;          /* --ca FILE: accept a server certificate it signed */
	const char *server_name; /* --server's host (name or IP text), checked with --ca */
	const struct ht_fwd *fwd; /* -L */
	size_t nfwd;
	bool socks;
	struct ht_hostport socks_listen;
	uint16_t transparent_port; /* --transparent: TPROXY listeners, 0 = none */
	bool dns; /* resolve names through the tunnel at dns_server */
	struct ht_hostport dns_server;
	ht_time idle_timeout;  /* per tunnelled connection; 0 = none */
	ht_time queue_timeout; /* longest wait for a stream */
	size_t queue_max;      /* connections waiting for a stream */
	ht_time quic_idle_timeout; /* QUIC connection idle timeout; 0 = default (30 s) */
	ht_time keep_alive;        /* PING interval when idle; 0 = default (10 s) */
	bool no_keep_alive;        /* --keepalive 0 */
	const char *ticket_file;   /* session tickets for 0-RTT; NULL: none */
	struct ht_dgclient_config dgram; /* --tun, --route, --full-tunnel */
	struct ht_pathspec path[HT_CPATHS_MAX]; /* --path: the access networks */
	size_t npath;                           /* 0: one path, the default route */
	enum ht_sched_policy sched;             /* --scheduler */
	unsigned fail_rtts;                     /* --path-timeout RTTS; 0: default (4) */
	/* The mixed mode (--converter with --server): connections whose
	 * destination is an address go where the first matching rule says
	 * (rules: --convert-dest / --tunnel-dest, in order; none: the
	 * default, --transport); those for the converter are handed over
	 * through `handoff` (the CLI wires it to the convert client) unless
	 * it is not usable, then they take the tunnel.  Host names always
	 * take the tunnel.  handoff NULL: everything takes the tunnel. */
	const struct ht_handoff_ops *handoff;
	struct ht_route_rules rules;
	bool default_convert;
};

/* Open the listeners and start connecting.  Returns 0, or -1 with a
 * one-line reason in err. */
int ht_client_new(struct ht_client **out, struct ht_loop *loop,
		  const struct ht_client_config *cfg, char *err, size_t errlen);

/* Stop accepting, reset every tunnelled connection, close the QUIC
 * connection with CONNECTION_CLOSE.  Run the loop until
 * ht_qconn_live_count() is 0 (the closing period), then free. */
void ht_client_shutdown(struct ht_client *cl);
void ht_client_free(struct ht_client *cl);

/* A tunnel/handoff.h adopt operation, arg the client: the connection
 * (destination an address) goes through the tunnel as if one of our
 * listeners had accepted it, h->early sent behind the Connect; a SOCKS
 * client gets its reply from Connect OK / the Error TLV.  Counted as a
 * converter connection taken by the tunnel. */
int ht_client_adopt(void *arg, const struct ht_handoff *h);

/* A status snapshot (tunnel/status.h; an ht_control_fill_fn, arg the
 * client): the QUIC connection to the concentrator and the counters. */
struct ht_status;
int ht_client_status(void *arg, struct ht_status *st);

#endif
