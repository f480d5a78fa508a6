/* hatun — the concentrator side of stream mode (quic-tunnel-00 §7.1).
 *
 * A QUIC listener with mutual TLS (client certificates pinned by
 * fingerprint).  Every bidirectional stream a client opens is one TCP
 * connection: the concentrator parses the client's TLV header (Connect or
 * Extended Connect, End), checks the destination against its policy,
 * connects, answers Connect OK + End and relays (relay.h).  Failures
 * become the Error TLV of docs/protocol/quic-tunnel.md §2.4.
 */
#ifndef HATUN_TUNNEL_CONCENTRATOR_H
#define HATUN_TUNNEL_CONCENTRATOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/loop.h"
#include "proto/policy.h"
#include "quic/identity.h"
#include "tunnel/dgram_router.h"

struct ht_conc;

struct ht_conc_config {
	struct sockaddr_storage listen;
	socklen_t listen_len;
	const char *cert, *key;
	const uint8_t (*allow)[HT_FP_LEN]; /* client fingerprints */
	size_t nallow;
	const char *allow_ca; /* PEM CA file: clients it signed are accepted too; NULL: none */
	const struct ht_policy *policy; /* allow/deny prefixes; copied, own addresses added */
	uint64_t max_streams;           /* concurrent TCP connections per client */
	size_t max_clients;
	ht_time connect_timeout, idle_timeout;
	ht_time quic_idle_timeout; /* QUIC connection idle timeout; 0 = default (30 s) */
	ht_time keep_alive;        /* PING interval when idle; 0 = default (10 s) */
	bool no_keep_alive;        /* --keepalive 0 */
	struct ht_dgrouter_config dgram; /* datagram mode (--tun, --pool, ...) */
	bool no_upstream_tfo;      /* --no-upstream-tfo: no data in the upstream SYN */
	bool no_tickets;           /* --no-session-tickets: no resumption, no 0-RTT */
};

/* Load the identity, enumerate our own addresses (getifaddrs) into the
 * policy, bind and listen.  Returns 0, or -1 with a one-line reason in err. */
int ht_conc_new(struct ht_conc **out, struct ht_loop *loop, const struct ht_conc_config *cfg,
		char *err, size_t errlen);

/* Close every client connection with CONNECTION_CLOSE and reset every
 * relay; the loop should run a little longer for the packets to leave. */
void ht_conc_shutdown(struct ht_conc *cc);

/* Free everything (not from inside a callback). */
void ht_conc_free(struct ht_conc *cc);

/* The concentrator's destination policy, its own addresses kept current
 * (tunnel/ownaddr): what a converter in the same process
 * (`--convert-listen`) checks destinations against.  Lives as long as cc. */
struct ht_policy *ht_conc_policy(struct ht_conc *cc);

/* A status snapshot (tunnel/status.h; an ht_control_fill_fn, arg the
 * concentrator): one entry per client connection, and the counters. */
struct ht_status;
int ht_conc_status(void *arg, struct ht_status *st);

#endif
