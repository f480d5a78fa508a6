/* hatun — the client's access paths and its tunneling session (issue 5,
 * docs/protocol/sessions.md "The client side").
 *
 * One QUIC connection per access network (`--path SPEC`: a source address
 * and/or an interface), all to the same concentrator, joined into one
 * session: the first connection whose handshake completes sends New
 * Session, every other one Join Session with the ID it got.  Start-up
 * never waits for a particular path.
 *
 *  - Stream mode: a new tunnelled TCP connection goes on the connection the
 *    scheduler picks (ht_cpaths_stream_conn) and stays there.  When a
 *    path fails (liveness.h: nothing came back for a few RTTs), its
 *    connection migrates to the best surviving path (QUIC connection
 *    migration) so its streams go on; it then carries no new traffic and
 *    closes once its streams are done, while the failed path reconnects
 *    on its own (backoff) and joins again.
 *  - Datagram mode: ht_cpaths_pick_dgram says which connection(s) a
 *    packet goes on; only connections in the session count.
 *
 * With no --path there is one path over the default route and no liveness
 * timer: the connection lives and reconnects exactly as a single tunnel.
 *
 * Connections have a slot (0 .. HT_CPATHS_CONNS-1) that the datagram
 * layer uses as the reorder buffer's path index.
 */
#ifndef HATUN_TUNNEL_CPATHS_H
#define HATUN_TUNNEL_CPATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/loop.h"
#include "quic/conn.h"
#include "tunnel/liveness.h"
#include "tunnel/pathspec.h"
#include "tunnel/sched.h"

#define HT_CPATHS_MAX 4u   /* --path */
#define HT_CPATHS_CONNS 8u /* the concentrator's limit per session */

struct ht_cpaths;
struct ht_dgclient;
struct ht_status;
struct ht_tls_config;

struct ht_cpaths_hooks {
	/* A connection can take new streams now (handshake done, 0-RTT, or a
	 * stream limit lifted). */
	void (*streams_ready)(void *arg);
	/* Connection qc is gone: the streams on it are lost (the last call
	 * that names qc). */
	void (*conn_gone)(void *arg, struct ht_qconn *qc);
};

struct ht_cpaths_config {
	struct sockaddr_storage server;
	socklen_t server_len;
	const char *server_str; /* for log lines */
	struct ht_tls_config *tls;
	const char *ticket_file;
	struct ht_qconn_settings set; /* for every connection */
	struct ht_pathspec path[HT_CPATHS_MAX];
	size_t npath; /* 0: one path over the default route */
	enum ht_sched_policy policy;
	struct ht_liveness_config live;
};

int ht_cpaths_new(struct ht_cpaths **out, struct ht_loop *loop, const struct ht_cpaths_config *cfg,
		  const struct ht_cpaths_hooks *hooks, void *arg, char *err, size_t errlen);
/* The datagram layer (control stream configuration, datagrams); may be
 * NULL-free: it is always there, with or without a device. */
void ht_cpaths_set_dgclient(struct ht_cpaths *ps, struct ht_dgclient *dg);
/* Connect every path. */
void ht_cpaths_start(struct ht_cpaths *ps);
/* Close every connection (CONNECTION_CLOSE); no reconnects after this. */
void ht_cpaths_shutdown(struct ht_cpaths *ps);
void ht_cpaths_free(struct ht_cpaths *ps);

/* The connection a new tunnelled TCP connection should go on: handshake
 * done (or able to send 0-RTT), its path alive, not draining.  NULL when
 * none. */
struct ht_qconn *ht_cpaths_stream_conn(struct ht_cpaths *ps);
/* Is any connection up (for log lines and timeouts)? */
bool ht_cpaths_up(const struct ht_cpaths *ps);

/* The connections (slot bits) a datagram of len bytes goes on; 0: none in
 * the session. */
uint32_t ht_cpaths_pick_dgram(struct ht_cpaths *ps, size_t len);
struct ht_qconn *ht_cpaths_conn(const struct ht_cpaths *ps, unsigned slot);
/* Several paths (the datagram layer reorders only then). */
bool ht_cpaths_multi(const struct ht_cpaths *ps);

/* One status line per connection (path name, state, stats). */
int ht_cpaths_status(struct ht_cpaths *ps, struct ht_status *st);

#endif
