/* hatun — the client's control stream and datagram mode (`--tun`).
 *
 * On every connection to the concentrator the client opens its control
 * stream and sends New Session (quic-tunnel-01 §6); under ALPN `qt` with
 * --tun it adds an Address Request (the addresses it had before as
 * preferences) and applies the configuration that comes back
 * (datagram-config.md): host addresses, MTU, the routes it announces, the
 * --route prefixes and, with --full-tunnel, 0/1 + 128/1 and ::/1 + 8000::/1
 * through the device plus a host route to the concentrator over the
 * access network.  Packets then flow device ↔ DATAGRAM frames.
 *
 * The device is created at start (down until the first configuration) and
 * kept across reconnects, so applications see one stable interface.
 */
#ifndef HATUN_TUNNEL_DGRAM_CLIENT_H
#define HATUN_TUNNEL_DGRAM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/loop.h"
#include "quic/conn.h"

#define HT_DGC_MAX_ROUTES 32

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
};

int ht_dgclient_new(struct ht_dgclient **out, struct ht_loop *loop,
		    const struct ht_dgclient_config *cfg, char *err, size_t errlen);
/* Removes the routes it added (the device goes with its descriptor). */
void ht_dgclient_free(struct ht_dgclient *d);

/* The connection's handshake is done: control stream, Address Request. */
void ht_dgclient_conn_up(struct ht_dgclient *d, struct ht_qconn *qc);
/* It is gone (no calls on qc after this). */
void ht_dgclient_conn_down(struct ht_dgclient *d);

/* Stream events of the connection: true when they were the control
 * streams' (handled here). */
bool ht_dgclient_uni_open(struct ht_dgclient *d, struct ht_qconn *qc, int64_t sid);
bool ht_dgclient_stream_data(struct ht_dgclient *d, int64_t sid, const uint8_t *data, size_t len,
			     bool fin);
bool ht_dgclient_stream_reset(struct ht_dgclient *d, int64_t sid, uint64_t code);
bool ht_dgclient_stream_closed(struct ht_dgclient *d, int64_t sid);
void ht_dgclient_datagram(struct ht_dgclient *d, const uint8_t *data, size_t len);

/* Status: device, addresses and counters into st and its connection c. */
void ht_dgclient_status(const struct ht_dgclient *d, struct ht_status *st,
			struct ht_status_conn *c);

#endif
