/* hatun — the client side of the 0-RTT TCP Convert protocol
 * (`hatun client --transport convert`; docs/protocol/convert.md "Client").
 *
 * The entry points of stream mode (-L forwards, a SOCKS5 server,
 * --transparent TPROXY listeners) with a Transport Converter instead of a
 * QUIC tunnel: each accepted connection becomes one MPTCP connection to
 * the converter whose SYN carries the Convert header, the Connect TLV and
 * the first bytes (TCP_FASTOPEN_CONNECT), then a splice() relay.  One
 * Bootstrap per converter at start; converters whose replies show
 * middlebox interference (§6) are disabled; destinations that the
 * Extended TCP Header shows to speak MPTCP are remembered (bounded,
 * expiring) and reached directly next time (§3.3).
 */
#ifndef HATUN_CONVERT_CVCLIENT_H
#define HATUN_CONVERT_CVCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/loop.h"
#include "tunnel/handoff.h"
#include "tunnel/spec.h"

struct ht_cvclient;

struct ht_cvclient_config {
	struct sockaddr_storage converter; /* resolved */
	socklen_t converter_len;
	const struct ht_fwd *fwd; /* -L */
	size_t nfwd;
	bool socks;
	struct ht_hostport socks_listen;
	uint16_t transparent_port; /* 0 = none */
	ht_time convert_timeout;   /* converter reply deadline */
	ht_time idle_timeout;      /* relay idle; 0 = none */
	ht_time cache_ttl;         /* MPTCP-capable destinations */
	unsigned interference_max; /* consecutive suspect replies before disabling */
	/* The mixed mode (`--server` and `--converter`): connections come
	 * from the QUIC client's entry points (ht_cvclient_adopt), and a
	 * disabled converter's destinations go through the tunnel, not
	 * directly (said so in the disable line). */
	bool mixed;
	/* The mixed mode's way back to the tunnel (ht_client_adopt): for a
	 * connection handed over while the converter was being disabled, and
	 * one whose SYN the converter refused (RST, ICMP unreachable: none of
	 * its bytes reached it).  NULL: those fail / go directly as in the
	 * convert-only mode.  A converter that accepted the connection but
	 * did not answer in time is not retried (the request may have gone
	 * on to the destination). */
	const struct ht_handoff_ops *fallback;
	/* The first --path's address (--mptcp-endpoints): every connection
	 * of its family is bound to it (port 0), so that the initial subflow
	 * leaves by that link and the endpoints take the others.  0 = none. */
	struct sockaddr_storage source;
	socklen_t source_len;
};

int ht_cvclient_new(struct ht_cvclient **out, struct ht_loop *loop,
		    const struct ht_cvclient_config *cfg, char *err, size_t errlen);
void ht_cvclient_shutdown(struct ht_cvclient *cl);

/* The tunnel/handoff.h operations, arg the ht_cvclient.  usable: false once
 * the converter is disabled (§6 interference or no reply).  adopt: the
 * connection continues as if one of our own listeners had accepted it:
 * -L / TPROXY wait for the first bytes, then connect; SOCKS connects at
 * once, the reply sent when the converter answers (or fails). */
bool ht_cvclient_usable(void *arg);
int ht_cvclient_adopt(void *arg, const struct ht_handoff *h);
void ht_cvclient_free(struct ht_cvclient *cl);

/* An ht_control_fill_fn (tunnel/control.h) for `hatun status`: the
 * converter's state, the MPTCP-capable destination cache, the open
 * connections. */
struct ht_status;
int ht_cvclient_status(void *arg, struct ht_status *st);

#endif
