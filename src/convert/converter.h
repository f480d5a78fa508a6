/* hatun — the Transport Converter (draft-ietf-tcpm-converters-02, seed 004;
 * docs/protocol/convert.md "Converter").
 *
 * One MPTCP listening socket with TCP Fast Open (server cookies), plain TCP
 * when the kernel has no MPTCP.  Every accepted connection starts with a
 * Convert message (read with the codec, src/proto/convert.h); a Bootstrap
 * is answered with Supported TCP Extension Services, a Connect with a
 * non-blocking connect to the Remote Peer — over MPTCP when the client came
 * over MPTCP or asked for it, so an MPTCP server is reached natively, unless
 * the destination answered MPTCP as TCP not long ago (cvcache) — then
 * the reply (fixed header + Extended TCP Header rebuilt from TCP_INFO /
 * MPTCP_INFO) and a splice() relay both ways.  Every failure is answered
 * with the Error TLV its cause names, then a reset (SO_LINGER 0).
 */
#ifndef HATUN_CONVERT_CONVERTER_H
#define HATUN_CONVERT_CONVERTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "proto/policy.h"

#define HT_CONV_MAX_CLIENT_NETS 64
#define HT_CONVERT_DEFAULT_PORT 5124 /* no IANA port: hatun's default */

struct ht_converter;

struct ht_converter_config {
	uint8_t listen_addr[16]; /* IPv6 or IPv4-mapped */
	uint16_t listen_port;
	/* Destinations (the concentrator's policy module); the converter
	 * adds its own addresses to it and keeps them current — unless
	 * own_kept: the caller does (`--convert-listen` in a concentrator,
	 * whose policy it is).  Owned by the caller, outlives the converter. */
	struct ht_policy *policy;
	bool own_kept;
	/* --allow-client: clients outside every prefix get Not Authorized;
	 * none = every client. */
	struct ht_prefix clients[HT_CONV_MAX_CLIENT_NETS];
	size_t nclients;
	size_t max_conns;            /* connecting + relaying; beyond: Resource Exceeded */
	size_t max_pending_per_client; /* upstream connects in progress per client address */
	ht_time connect_timeout;     /* upstream connect; then Network Failure */
	ht_time header_timeout;      /* the Convert message must be complete by then */
	ht_time idle_timeout;        /* relay with no byte either way: reset; 0 = none */
	unsigned errors_per_second;  /* Error TLVs sent per second (burst 2x); beyond: bare reset */
	/* A destination that answered an MPTCP connect as plain TCP is
	 * reached over plain TCP for this long (a fallen-back MPTCP socket
	 * still pays MPTCP's send path); 0 = always MPTCP. */
	ht_time tcp_cache_ttl;
};

/* The defaults of `hatun converter` (listen address and policy left out):
 * 4096 connections, 64 connects pending per client, 10 s to connect, 10 s
 * for the message, 600 s idle, 100 Error TLVs a second, TCP-only
 * destinations remembered 600 s. */
void ht_converter_config_defaults(struct ht_converter_config *cfg);

/* Open the listener.  Returns 0, or -1 with a one-line reason in err. */
int ht_converter_new(struct ht_converter **out, struct ht_loop *loop,
		     const struct ht_converter_config *cfg, char *err, size_t errlen);

/* Close the listener and reset every connection (SIGTERM). */
void ht_converter_shutdown(struct ht_converter *cv);
void ht_converter_free(struct ht_converter *cv);

/* Connections alive (any state), for the exit check. */
size_t ht_converter_live(const struct ht_converter *cv);

/* The converter's part of a `hatun status` snapshot (tunnel/status.h):
 * *out is malloc'ed with its connection list (at most HT_STATUS_CV_LIST,
 * MPTCP_INFO read per connection); ht_status_release frees it.  0 or -1. */
struct ht_status;
struct ht_status_conv;
int ht_converter_status_conv(const struct ht_converter *cv, struct ht_status_conv **out);
/* An ht_control_fill_fn for `hatun converter` (arg: the converter). */
int ht_converter_status(void *arg, struct ht_status *st);

#endif
