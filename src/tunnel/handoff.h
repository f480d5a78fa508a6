/* hatun — handing an accepted application connection from the QUIC
 * client's entry points to another client transport.
 *
 * Used by `hatun client --server ... --converter ...` (the per-destination
 * choice, proto/route_rule.h): the QUIC client (tunnel/client.c) owns the
 * -L, SOCKS5 and TPROXY listeners; once a connection's destination is known
 * and its rule says "convert", the client hands the socket to the convert
 * client (convert/cvclient.c, ht_cvclient_adopt), which continues exactly
 * where its own listeners would.  The way back (ht_client_adopt): a
 * connection the convert client cannot give to the converter without any
 * byte of it having reached one — the converter disabled meanwhile, or its
 * SYN refused — goes to the tunnel.  The tunnel layer does not link the
 * convert layer: the CLI wires the two through these operations.
 */
#ifndef HATUN_TUNNEL_HANDOFF_H
#define HATUN_TUNNEL_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ht_handoff_kind {
	HT_HANDOFF_FWD,    /* -L: nothing read yet */
	HT_HANDOFF_SOCKS,  /* SOCKS5: request read, the client waits for its reply */
	HT_HANDOFF_TPROXY, /* --transparent: nothing read yet */
};

struct ht_handoff {
	int fd; /* the application's socket (non-blocking, not in any epoll set) */
	enum ht_handoff_kind kind;
	uint8_t dst[16]; /* IPv4-mapped for IPv4 */
	uint16_t port;
	const uint8_t *early; /* bytes already read from the application (SOCKS:
				 behind its request; -L / TPROXY: its first
				 bytes), copied before adopt returns */
	size_t elen;
	const char *why; /* for the log line: "converter refused", ...; NULL */
};

struct ht_handoff_ops {
	void *arg;
	/* false: the other transport cannot take connections now (the
	 * converter was disabled); the caller keeps the connection.  NULL
	 * where nobody asks (the way back to the tunnel). */
	bool (*usable)(void *arg);
	/* Take h->fd.  Ownership passes with the call whatever the result:
	 * the callee answers the application (the SOCKS reply, success or
	 * error; a reset for -L / TPROXY) and closes the socket.  Returns 0
	 * when it took the connection on (it answers later failures), -1
	 * when it could not (out of memory, epoll: answered and closed). */
	int (*adopt)(void *arg, const struct ht_handoff *h);
};

#endif
