/* hatun — the QUIC listener: one UDP socket on ADDR:PORT, a table of
 * connections keyed by every connection ID we issued (the first SCID, the
 * client's original DCID, and each NEW_CONNECTION_ID), Version Negotiation
 * for unknown versions, stateless resets for unknown short-header
 * packets, caps on connections and on half-open (unauthenticated) ones.
 *
 * Each packet is handed to ngtcp2 with its true path (local address from
 * IP_PKTINFO, remote from recvmsg), so NAT rebinding and client migration
 * are validated by ngtcp2 and answered from the right address.
 */
#ifndef HATUN_QUIC_SERVER_H
#define HATUN_QUIC_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/loop.h"
#include "quic/conn.h"

struct ht_server;
struct ht_tls_config;

struct ht_server_ops {
	/* A client completed the handshake (its certificate passed the pin
	 * check).  Set the connection's ops/user with ht_qconn_set_ops.
	 * Return 0 to keep it, or an application error code (> 0) to close it
	 * with.  Called from inside the packet processing: do not free the
	 * server here. */
	int (*accept)(struct ht_server *srv, struct ht_qconn *c, void *arg);
};

struct ht_server_settings {
	size_t max_conns;     /* established + half-open; default 1024 */
	size_t max_half_open; /* handshakes in progress; default 100 */
	bool stateless_reset; /* answer unknown short-header packets; default true */
	struct ht_qconn_settings conn;
	int bufsize;          /* socket buffers, 0 = 8 MiB */
};
void ht_server_settings_default(struct ht_server_settings *s);

/* Bind and start listening.  tls must be a server config and outlive the
 * server.  Returns 0, -errno, or HT_QERR_NOMEM. */
int ht_server_new(struct ht_server **out, struct ht_loop *loop, const struct sockaddr *addr,
		  socklen_t addrlen, const struct ht_tls_config *tls,
		  const struct ht_server_settings *set, const struct ht_server_ops *ops, void *arg);

/* Close every connection (ops.closed with HT_QCLOSE_LOCAL, no
 * CONNECTION_CLOSE sent) and the socket.  Not from inside a callback. */
void ht_server_free(struct ht_server *srv);

/* The bound address (to learn an ephemeral port). */
int ht_server_local_addr(const struct ht_server *srv, struct sockaddr_storage *ss,
			 socklen_t *len);

struct ht_server_stats {
	uint64_t conns, half_open; /* now */
	uint64_t accepted;          /* handshakes completed and accepted */
	uint64_t initials_dropped;  /* over a cap, or not a valid Initial */
	uint64_t vn_sent, resets_sent;
};
void ht_server_get_stats(const struct ht_server *srv, struct ht_server_stats *st);

#endif
