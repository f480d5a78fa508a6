/* hatun — TLS 1.3 for QUIC (GnuTLS + ngtcp2_crypto_gnutls): mutual
 * authentication by pinned public keys.
 *
 * A config (one per listener or per client role) holds our certificate and
 * key, the set of peer fingerprints we accept (SHA-256 over the peer
 * certificate's SubjectPublicKeyInfo, see identity.h) and a precompiled
 * priority.  Each QUIC connection owns one ht_tls_session made from it.
 *
 * Authentication: the server REQUIRES a client certificate; each side
 * checks the peer's leaf certificate only against the pin set, in the
 * GnuTLS verify callback, so a refused peer fails the handshake (TLS alert
 * bad_certificate -> QUIC CRYPTO_ERROR 0x12a) and one log line names the
 * offered fingerprint.  No CA chain is consulted: self-signed identities
 * are the model; ht_tls_config_set_ca() adds a CA trust list beside them.
 *
 * ALPN: the client offers "qt", "qt-01", "qt-00" in that order; the server
 * accepts any of them (client preference wins).
 *
 * Resumption/0-RTT (docs/QUIC.md "Session tickets and 0-RTT"): a server
 * config with ht_tls_config_enable_resumption() has a per-process ticket
 * key and GnuTLS's anti-replay; its sessions send one ticket after the
 * handshake (ht_tls_session_send_ticket).  Clients always accept tickets
 * (on_ticket hands them up) and resume with ht_tls_session_set_ticket().
 * A resumed handshake carries no certificate: the peer's identity is the
 * one the ticket remembers, checked again against the pins / CA by
 * ht_tls_session_check_resumed().
 */
#ifndef HATUN_QUIC_TLS_H
#define HATUN_QUIC_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "quic/identity.h"

enum ht_tls_role {
	HT_TLS_CLIENT = 0,
	HT_TLS_SERVER = 1,
};

#define HT_TLS_ALPN_MAX 15 /* longest ALPN we offer + slack, without NUL */

struct ht_tls_config;

/* The per-connection TLS state.  conn_ref MUST stay the first member: the
 * GnuTLS session pointer points at it (ngtcp2_crypto needs that) and the
 * verify callback finds the ht_tls_session from it. */
struct ht_tls_session {
	ngtcp2_crypto_conn_ref conn_ref;
	gnutls_session_t session;
	const struct ht_tls_config *cfg;
	uint8_t peer_fp[HT_FP_LEN];
	bool peer_fp_set;     /* a certificate was offered (accepted or not) */
	bool peer_ok;         /* ... and it passed verification */
	char alpn[HT_TLS_ALPN_MAX + 1];
	/* Client: a NewSessionTicket arrived; data is the resumption state
	 * (gnutls_session_get_data2), valid during the call. */
	void (*on_ticket)(void *arg, const uint8_t *data, size_t len);
	void *ticket_arg;
	bool ticket_set; /* client: resuming (ht_tls_session_set_ticket) */
};

/* Load cert+key (PEM) and make a config.  pins: npins 32-byte fingerprints
 * (copied; more can be added with ht_tls_config_add_pin).  Returns 0, or -1
 * with a one-line reason in err. */
int ht_tls_config_new(struct ht_tls_config **out, enum ht_tls_role role, const char *cert_file,
		      const char *key_file, const uint8_t (*pins)[HT_FP_LEN], size_t npins,
		      char *err, size_t errlen);
void ht_tls_config_free(struct ht_tls_config *cfg);

/* Add one pin.  Returns 0, or HT_ERR_INVAL / -ENOMEM.  Not safe while a
 * handshake using cfg is in progress on another thread (configs are per
 * loop/thread). */
int ht_tls_config_add_pin(struct ht_tls_config *cfg, const uint8_t fp[HT_FP_LEN]);

/* Offer / accept only this ALPN instead of qt, qt-01, qt-00 (test tools).
 * 0 or HT_ERR_INVAL (empty or longer than HT_TLS_ALPN_MAX). */
int ht_tls_config_set_alpn(struct ht_tls_config *cfg, const char *alpn);

/* The PKI alternative to pins (--allow-ca, client --ca): also accept a peer
 * whose certificate chains to a CA in ca_file (PEM, one or more), valid
 * now; for a server no name check — the client's identity stays its key
 * fingerprint; a client checks ht_tls_config_set_peer_name's name.  Pins still
 * work beside it.  Returns 0, or HT_ERR_CRYPTO / HT_ERR_BAD_VALUE (no CA in
 * the file) / HT_ERR_INVAL with a one-line reason in err. */
int ht_tls_config_set_ca(struct ht_tls_config *cfg, const char *ca_file, char *err,
			 size_t errlen);

enum ht_tls_role ht_tls_config_role(const struct ht_tls_config *cfg);
/* fp would be accepted without looking at a chain: pinned, or a CA is
 * configured (then the chain is checked at the handshake). */
bool ht_tls_config_may_accept(const struct ht_tls_config *cfg, const uint8_t fp[HT_FP_LEN]);

/* Client with a CA (ht_tls_config_set_ca, `hatun client --ca`): the server
 * certificate must also carry this name (the --server host name, or its IP
 * address as an iPAddress SAN; GnuTLS's RFC 6125 rules), and a host name is
 * sent as SNI.  Pinned certificates are accepted without a name check.
 * 0, HT_ERR_INVAL or -ENOMEM. */
int ht_tls_config_set_peer_name(struct ht_tls_config *cfg, const char *name);

/* Create the GnuTLS session for one QUIC connection, configured for ngtcp2
 * (client or server by the config's role).  get_conn/user fill conn_ref.
 * Returns 0, or HT_ERR_CRYPTO (logged). */
int ht_tls_session_init(struct ht_tls_session *ts, const struct ht_tls_config *cfg,
			ngtcp2_crypto_get_conn get_conn, void *user);
void ht_tls_session_deinit(struct ht_tls_session *ts);

/* Server: issue session tickets (per-process key) and accept 0-RTT with
 * GnuTLS's anti-replay.  Returns 0, or HT_ERR_CRYPTO with a reason. */
int ht_tls_config_enable_resumption(struct ht_tls_config *cfg, char *err, size_t errlen);

/* Client, before the handshake: resume the session in data (from
 * on_ticket).  0, HT_ERR_INVAL or HT_ERR_BAD_VALUE (GnuTLS refused it). */
int ht_tls_session_set_ticket(struct ht_tls_session *ts, const uint8_t *data, size_t len);
/* Server, handshake complete: send one NewSessionTicket (no-op without
 * resumption).  0 or HT_ERR_CRYPTO. */
int ht_tls_session_send_ticket(struct ht_tls_session *ts);
bool ht_tls_session_resumed(const struct ht_tls_session *ts);
/* Client: the server accepted our early data.  Server: we accepted the
 * client's (valid once the ClientHello was processed). */
bool ht_tls_session_early_accepted(const struct ht_tls_session *ts);
/* A resumed session's peer (no certificate on the wire): check the
 * certificate the ticket remembers as a fresh one would be.  0 (also when
 * already verified) or HT_ERR_CRYPTO (refused, logged). */
int ht_tls_session_check_resumed(struct ht_tls_session *ts);

/* After the handshake: fill ts->alpn from the negotiated protocol.
 * Returns 0 or HT_ERR_MISMATCH if none was negotiated. */
int ht_tls_session_finish(struct ht_tls_session *ts);

#endif
