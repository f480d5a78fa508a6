/* hatun — the client's datagram mode (`--tun`, `--tap`).
 *
 * The device is created at start (down until the first configuration) and
 * kept across reconnects, so applications see one stable interface.  The
 * session's connections (cpaths.h) carry the control streams: each asks
 * with the Address Request built here (the addresses it had before as
 * preferences) and hands the configuration that comes back to
 * ht_dgclient_config, applied once (datagram-config.md): host addresses,
 * MTU, the routes it announces, the --route prefixes and, with
 * --full-tunnel, 0/1 + 128/1 and ::/1 + 8000::/1 through the device plus a
 * host route to the concentrator over the access network.
 *
 * Packets read from the device get the session's next Packet Tag and go
 * on the connection(s) the path scheduler picks.  With several paths,
 * received datagrams go through the reorder buffer (reorder.h) back into
 * tag order before the device; with one they go straight to it.
 */
#ifndef HATUN_TUNNEL_DGRAM_CLIENT_H
#define HATUN_TUNNEL_DGRAM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/loop.h"
#include "quic/conn.h"
#include "tunnel/pathspec.h"

#define HT_DGC_MAX_ROUTES 32

struct ht_cpaths;
struct ht_dgclient;
struct ht_status;
struct ht_status_conn;

struct ht_dgclient_config {
	const char *tun; /* device name; NULL: control stream only */
	bool tap;        /* --tap: a TAP device, Ethernet frames (0x6558) */
	struct {
		uint8_t addr[16];
		uint8_t plen; /* the version's own bits */
	} route[HT_DGC_MAX_ROUTES]; /* --route */
	size_t nroute;
	bool full_tunnel;
	struct sockaddr_storage server; /* for the --full-tunnel host route */
	socklen_t server_len;
	struct ht_cpaths *paths; /* the session's connections (required) */
	/* --path specs, for the --full-tunnel check of each path's route */
	const struct ht_pathspec *path_spec;
	size_t npath_spec;
};

int ht_dgclient_new(struct ht_dgclient **out, struct ht_loop *loop,
		    const struct ht_dgclient_config *cfg, char *err, size_t errlen);
/* Removes the routes it added (the device goes with its descriptor). */
void ht_dgclient_free(struct ht_dgclient *d);

/* For each connection's control stream: false when there is nothing to
 * ask for (no device). */
struct qt_ext_request;
struct qt_ext_config;
bool ht_dgclient_address_request(const struct ht_dgclient *d, struct qt_ext_request *req);
/* A configuration arrived on qc (the same for every connection of a
 * session: applied once). */
void ht_dgclient_config(struct ht_dgclient *d, struct ht_qconn *qc, const struct qt_ext_config *c);
/* Connection `slot` joined the session (datagrams may use it) / left it. */
void ht_dgclient_conn_in(struct ht_dgclient *d, unsigned slot, struct ht_qconn *qc);
void ht_dgclient_conn_out(struct ht_dgclient *d, unsigned slot);
/* A DATAGRAM frame received on connection `slot`. */
void ht_dgclient_datagram(struct ht_dgclient *d, unsigned slot, const uint8_t *data, size_t len);

/* Status: the device into st, the session's addresses and counters into
 * its first connection line (st->conns[0]). */
void ht_dgclient_status(const struct ht_dgclient *d, struct ht_status *st);

#endif
