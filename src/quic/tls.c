#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "core/log.h"
#include "proto/err.h"

/* TLS 1.3 only.  AES-128-GCM first: GnuTLS uses AES-NI/PCLMUL for it and
 * it is ~10x faster than its ChaCha20-Poly1305 here; AES-256-GCM and
 * ChaCha20 stay for peers that insist.  QUIC forbids the middlebox
 * compatibility mode. */
static const char PRIORITY[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:"
			       "-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
			       "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:"
			       "%DISABLE_TLS13_COMPAT_MODE";

static const gnutls_datum_t ALPNS[] = {
	{(unsigned char *)"qt", 2},
	{(unsigned char *)"qt-01", 5},
	{(unsigned char *)"qt-00", 5},
};
#define NALPNS (sizeof(ALPNS) / sizeof(ALPNS[0]))

struct ht_tls_config {
	enum ht_tls_role role;
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	uint8_t (*pins)[HT_FP_LEN];
	size_t npins, pins_cap;
	bool ca; /* also accept peers whose certificate chains to the trust list */
	char *peer_name; /* client + CA: the name the server certificate must carry */
	gnutls_datum_t alpn_one; /* ht_tls_config_set_alpn: offer only this */
	char alpn_buf[HT_TLS_ALPN_MAX + 1];
	/* Server: session tickets and 0-RTT (ht_tls_config_enable_resumption). */
	gnutls_datum_t ticket_key;
	gnutls_anti_replay_t anti_replay;
	struct replay_slot *replay; /* REPLAY_SLOTS entries */
};

/* GnuTLS's 0-RTT anti-replay keeps a window of ClientHello times itself
 * and asks the application to remember the tickets' binders seen inside
 * it: a second ClientHello with the same key inside the window loses its
 * early data (the handshake continues in 1-RTT).  The table is bounded:
 * when every slot is live, new early data is refused, never accepted
 * unchecked. */
#define REPLAY_SLOTS 8192u
#define REPLAY_KEY_MAX 64u
struct replay_slot {
	time_t expires; /* 0: free */
	uint8_t keylen;
	uint8_t key[REPLAY_KEY_MAX];
};
/* Window of the anti-replay check, ms.  GnuTLS allows early data only for
 * tickets issued since its recording period began, and starts a new period
 * at the first check more than a window after the last start: with its
 * 10 s default a ticket older than a few seconds would almost never carry
 * 0-RTT on a busy concentrator.  One hour: a client restarted within the
 * hour after its last ticket gets 0-RTT; entries live as long, so the table
 * holds REPLAY_SLOTS early handshakes per hour (then 1-RTT only). */
#define REPLAY_WINDOW_MS 3600000u

static bool pin_allowed(const struct ht_tls_config *cfg, const uint8_t fp[HT_FP_LEN])
{
	for (size_t i = 0; i < cfg->npins; i++) {
		if (memcmp(cfg->pins[i], fp, HT_FP_LEN) == 0)
			return true;
	}
	return false;
}

/* Check the peer's leaf certificate (the one just received, or the one a
 * resumed session remembers) against the pins, then the CA trust list.
 * Sets ts->peer_fp / peer_fp_set / peer_ok; 0 = accepted, -1 = refused
 * (logged). */
static int check_peer(struct ht_tls_session *ts, gnutls_session_t session, bool resumed)
{
	const gnutls_datum_t *certs;
	unsigned int ncerts = 0;
	gnutls_x509_crt_t crt = NULL;
	size_t idlen = HT_FP_LEN;
	char fps[HT_FP_STRLEN + 1];
	const char *who, *how = resumed ? " (resumed session)" : "";

	if (ts == NULL || ts->cfg == NULL)
		return -1;
	who = ts->cfg->role == HT_TLS_SERVER ? "client" : "server";
	if (gnutls_certificate_type_get2(session, GNUTLS_CTYPE_PEERS) != GNUTLS_CRT_X509 ||
	    (certs = gnutls_certificate_get_peers(session, &ncerts)) == NULL || ncerts == 0) {
		ht_log(HT_LOG_WARN, "quic", "refused %s%s: no certificate offered", who, how);
		return -1;
	}
	if (gnutls_x509_crt_init(&crt) < 0)
		return -1;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, ts->peer_fp, &idlen) < 0 ||
	    idlen != HT_FP_LEN) {
		gnutls_x509_crt_deinit(crt);
		ht_log(HT_LOG_WARN, "quic", "refused %s certificate%s: cannot parse it", who, how);
		return -1;
	}
	gnutls_x509_crt_deinit(crt);
	ts->peer_fp_set = true;
	if (!pin_allowed(ts->cfg, ts->peer_fp)) {
		unsigned int status = 0;
		gnutls_datum_t why = {NULL, 0};

		/* The CA mode: the chain must verify against the trust list (no
		 * name check: a client is its key, not a host name). */
		/* A server is also checked against the name the client dialled
		 * (--server, a host name or an IP address: its SAN). */
		if (ts->cfg->ca &&
		    gnutls_certificate_verify_peers3(
			    session, ts->cfg->role == HT_TLS_CLIENT ? ts->cfg->peer_name : NULL,
			    &status) == 0 &&
		    status == 0)
			goto accepted;
		ht_fingerprint_format(ts->peer_fp, fps);
		if (ts->cfg->ca)
			gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
		if (ts->cfg->role == HT_TLS_SERVER)
			ht_log(HT_LOG_WARN, "quic",
			       "refused client certificate %s%s (not in --allow list%s%s)", fps, how,
			       ts->cfg->ca ? "; --allow-ca: " : "",
			       ts->cfg->ca && why.data != NULL ? (const char *)why.data : "");
		else if (ts->cfg->ca)
			ht_log(HT_LOG_WARN, "quic",
			       "refused server certificate %s%s (not pinned; --ca, name %s: %s)", fps,
			       how, ts->cfg->peer_name != NULL ? ts->cfg->peer_name : "-",
			       why.data != NULL ? (const char *)why.data : "not verified");
		else
			ht_log(HT_LOG_WARN, "quic",
			       "refused server certificate %s%s (does not match the pinned "
			       "fingerprint)",
			       fps, how);
		gnutls_free(why.data);
		return -1;
	}
accepted:
	ts->peer_ok = true;
	return 0;
}

/* GnuTLS calls this once the peer's Certificate (and CertificateVerify,
 * i.e. proof of the key) has been received.  Non-zero aborts the
 * handshake with a bad_certificate alert.  A resumed session sends no
 * certificate: ht_tls_session_check_resumed does the same check then. */
static int verify_peer(gnutls_session_t session)
{
	return check_peer(gnutls_session_get_ptr(session), session, false);
}

int ht_tls_config_new(struct ht_tls_config **out, enum ht_tls_role role, const char *cert_file,
		      const char *key_file, const uint8_t (*pins)[HT_FP_LEN], size_t npins,
		      char *err, size_t errlen)
{
	struct ht_tls_config *cfg;
	const char *errpos = NULL;
	int ret;

	*out = NULL;
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL) {
		ht_errbuf(err, errlen, "out of memory");
		return -1;
	}
	cfg->role = role;
	if ((ret = gnutls_certificate_allocate_credentials(&cfg->cred)) < 0) {
		ht_errbuf(err, errlen, "credentials: %s", gnutls_strerror(ret));
		goto fail;
	}
	if ((ret = gnutls_certificate_set_x509_key_file(cfg->cred, cert_file, key_file,
							 GNUTLS_X509_FMT_PEM)) < 0) {
		ht_errbuf(err, errlen, "%s / %s: %s", cert_file, key_file, gnutls_strerror(ret));
		goto fail;
	}
	gnutls_certificate_set_verify_function(cfg->cred, verify_peer);
	if ((ret = gnutls_priority_init2(&cfg->prio, PRIORITY, &errpos, 0)) < 0) {
		ht_errbuf(err, errlen, "priority \"%s\": %s", errpos ? errpos : "",
		       gnutls_strerror(ret));
		goto fail;
	}
	for (size_t i = 0; i < npins; i++) {
		if (ht_tls_config_add_pin(cfg, pins[i]) != 0) {
			ht_errbuf(err, errlen, "out of memory");
			goto fail;
		}
	}
	*out = cfg;
	return 0;
fail:
	ht_tls_config_free(cfg);
	return -1;
}

void ht_tls_config_free(struct ht_tls_config *cfg)
{
	if (cfg == NULL)
		return;
	if (cfg->prio != NULL)
		gnutls_priority_deinit(cfg->prio);
	if (cfg->cred != NULL)
		gnutls_certificate_free_credentials(cfg->cred);
	if (cfg->anti_replay != NULL)
		gnutls_anti_replay_deinit(cfg->anti_replay);
	if (cfg->ticket_key.data != NULL) {
		gnutls_memset(cfg->ticket_key.data, 0, cfg->ticket_key.size);
		gnutls_free(cfg->ticket_key.data);
	}
	free(cfg->replay);
	free(cfg->peer_name);
	free(cfg->pins);
	free(cfg);
}

int ht_tls_config_add_pin(struct ht_tls_config *cfg, const uint8_t fp[HT_FP_LEN])
{
	if (cfg == NULL || fp == NULL)
		return HT_ERR_INVAL;
	if (pin_allowed(cfg, fp))
		return 0;
	if (cfg->npins == cfg->pins_cap) {
		size_t cap = cfg->pins_cap ? cfg->pins_cap * 2 : 4;
		uint8_t(*p)[HT_FP_LEN] = realloc(cfg->pins, cap * sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		cfg->pins = p;
		cfg->pins_cap = cap;
	}
	memcpy(cfg->pins[cfg->npins++], fp, HT_FP_LEN);
	return 0;
}

int ht_tls_config_set_ca(struct ht_tls_config *cfg, const char *ca_file, char *err, size_t errlen)
{
	int n;

	if (cfg == NULL || ca_file == NULL)
		return HT_ERR_INVAL;
	n = gnutls_certificate_set_x509_trust_file(cfg->cred, ca_file, GNUTLS_X509_FMT_PEM);
	if (n < 0) {
		ht_errbuf(err, errlen, "%s: %s", ca_file, gnutls_strerror(n));
		return HT_ERR_CRYPTO;
	}
	if (n == 0) {
		ht_errbuf(err, errlen, "%s: no CA certificate in it", ca_file);
		return HT_ERR_BAD_VALUE;
	}
	cfg->ca = true;
	return 0;
}

bool ht_tls_config_may_accept(const struct ht_tls_config *cfg, const uint8_t fp[HT_FP_LEN])
{
	return pin_allowed(cfg, fp) || cfg->ca;
}

static bool is_ip_literal(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int ht_tls_config_set_peer_name(struct ht_tls_config *cfg, const char *name)
{
	char *n;

	if (cfg == NULL || name == NULL || name[0] == '\0' || cfg->role != HT_TLS_CLIENT)
		return HT_ERR_INVAL;
	n = strdup(name);
	if (n == NULL)
		return -ENOMEM;
	free(cfg->peer_name);
	cfg->peer_name = n;
	return 0;
}

enum ht_tls_role ht_tls_config_role(const struct ht_tls_config *cfg)
{
	return cfg->role;
}

static int ticket_hook(gnutls_session_t session, unsigned int htype, unsigned int when,
		       unsigned int incoming, const gnutls_datum_t *msg);
static bool is_ip_literal(const char *s);

int ht_tls_session_init(struct ht_tls_session *ts, const struct ht_tls_config *cfg,
			ngtcp2_crypto_get_conn get_conn, void *user)
{
	bool server = cfg->role == HT_TLS_SERVER;
	bool resume = server ? cfg->ticket_key.data != NULL : true;
	unsigned int flags = (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_END_OF_EARLY_DATA;
	int ret;

	/* Tickets: a server with a ticket key sends one after the handshake
	 * (ht_tls_session_send_ticket, not automatically: the 1-RTT keys must
	 * be in place); a client always accepts them and may send early data
	 * when it resumes (ht_tls_session_set_ticket). */
	if (resume)
		flags |= GNUTLS_ENABLE_EARLY_DATA | (server ? GNUTLS_NO_AUTO_SEND_TICKET : 0);
	else
		flags |= GNUTLS_NO_TICKETS;

	memset(ts, 0, sizeof(*ts));
	ts->cfg = cfg;
	ts->conn_ref.get_conn = get_conn;
	ts->conn_ref.user_data = user;
	if ((ret = gnutls_init(&ts->session, flags)) < 0) {
		ts->session = NULL;
		goto fail;
	}
	if ((server ? ngtcp2_crypto_gnutls_configure_server_session(ts->session)
		    : ngtcp2_crypto_gnutls_configure_client_session(ts->session)) != 0) {
		ret = GNUTLS_E_INTERNAL_ERROR;
		goto fail;
	}
	if ((ret = gnutls_priority_set(ts->session, cfg->prio)) < 0 ||
	    (ret = gnutls_credentials_set(ts->session, GNUTLS_CRD_CERTIFICATE, cfg->cred)) < 0 ||
	    (ret = gnutls_alpn_set_protocols(ts->session,
						cfg->alpn_one.size > 0 ? &cfg->alpn_one : ALPNS,
						cfg->alpn_one.size > 0 ? 1 : NALPNS,
						GNUTLS_ALPN_MANDATORY)) <
		    0)
		goto fail;
	if (server) {
		gnutls_certificate_server_set_request(ts->session, GNUTLS_CERT_REQUIRE);
		/* With --allow-ca the request would name the CAs, and a client
		 * whose certificate no listed CA issued (a pinned self-signed one)
		 * would then send none: ask for any certificate, decide here. */
		gnutls_certificate_send_x509_rdn_sequence(ts->session, 1);
		if (resume) {
			if ((ret = gnutls_session_ticket_enable_server(ts->session,
								       &cfg->ticket_key)) < 0)
				goto fail;
			gnutls_anti_replay_enable(ts->session, cfg->anti_replay);
			/* QUIC: the ticket's early-data limit must say "any"
			 * (RFC 9001 §4.6.1); QUIC flow control bounds 0-RTT. */
			(void)gnutls_record_set_max_early_data_size(ts->session, 0xffffffffu);
		}
	} else {
		gnutls_handshake_set_hook_function(ts->session, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
						   GNUTLS_HOOK_POST, ticket_hook);
		/* SNI only for a host name (RFC 6066 §3: no IP literals). */
		if (cfg->peer_name != NULL && !is_ip_literal(cfg->peer_name) &&
		    (ret = gnutls_server_name_set(ts->session, GNUTLS_NAME_DNS, cfg->peer_name,
						  strlen(cfg->peer_name))) < 0)
			goto fail;
	}
	/* The verify callback and ngtcp2_crypto both start from this pointer. */
	gnutls_session_set_ptr(ts->session, &ts->conn_ref);
	return 0;
fail:
	ht_log(HT_LOG_ERROR, "quic", "TLS session setup: %s", gnutls_strerror(ret));
	ht_tls_session_deinit(ts);
	return HT_ERR_CRYPTO;
}

void ht_tls_session_deinit(struct ht_tls_session *ts)
{
	if (ts->session != NULL) {
		gnutls_deinit(ts->session);
		ts->session = NULL;
	}
}

int ht_tls_session_finish(struct ht_tls_session *ts)
{
	gnutls_datum_t p;

	if (gnutls_alpn_get_selected_protocol(ts->session, &p) < 0 || p.size == 0 ||
	    p.size > HT_TLS_ALPN_MAX)
		return HT_ERR_MISMATCH;
	memcpy(ts->alpn, p.data, p.size);
	ts->alpn[p.size] = '\0';
	return 0;
}

int ht_tls_config_set_alpn(struct ht_tls_config *cfg, const char *alpn)
{
	size_t n = alpn != NULL ? strlen(alpn) : 0;

	if (n == 0 || n > HT_TLS_ALPN_MAX)
		return HT_ERR_INVAL;
	memcpy(cfg->alpn_buf, alpn, n + 1);
	cfg->alpn_one.data = (unsigned char *)cfg->alpn_buf;
	cfg->alpn_one.size = (unsigned)n;
	return 0;
}

/* ---- session tickets and 0-RTT ------------------------------------------------- */

static int replay_add(void *ptr, time_t exp, const gnutls_datum_t *key, const gnutls_datum_t *data)
{
	struct ht_tls_config *cfg = ptr;
	struct replay_slot *free_slot = NULL;
	time_t now = time(NULL);
	size_t klen = key->size < REPLAY_KEY_MAX ? key->size : REPLAY_KEY_MAX;

	(void)data;
	for (size_t i = 0; i < REPLAY_SLOTS; i++) {
		struct replay_slot *sl = &cfg->replay[i];

		if (sl->expires != 0 && sl->expires < now)
			sl->expires = 0;
		if (sl->expires == 0) {
			if (free_slot == NULL)
				free_slot = sl;
			continue;
		}
		if (sl->keylen == klen && memcmp(sl->key, key->data, klen) == 0) {
			ht_log(HT_LOG_WARN, "quic", "0-RTT replay refused (ticket binder seen before)");
			return GNUTLS_E_DB_ENTRY_EXISTS;
		}
	}
	if (free_slot == NULL) {
		ht_log(HT_LOG_WARN, "quic", "0-RTT refused: anti-replay table full (%u entries)",
		       REPLAY_SLOTS);
		return GNUTLS_E_DB_ENTRY_EXISTS;
	}
	free_slot->expires = exp > now ? exp : now + 1;
	free_slot->keylen = (uint8_t)klen;
	memcpy(free_slot->key, key->data, klen);
	return 0;
}

int ht_tls_config_enable_resumption(struct ht_tls_config *cfg, char *err, size_t errlen)
{
	int ret;

	if (cfg == NULL || cfg->role != HT_TLS_SERVER)
		return HT_ERR_INVAL;
	if (cfg->ticket_key.data != NULL)
		return 0;
	cfg->replay = calloc(REPLAY_SLOTS, sizeof(*cfg->replay));
	if (cfg->replay == NULL) {
		ht_errbuf(err, errlen, "out of memory");
		return HT_ERR_CRYPTO;
	}
	/* One ticket key per process: a restarted concentrator cannot read
	 * the tickets of the previous one, so its clients do a full handshake
	 * (and their 0-RTT is rejected) once. */
	if ((ret = gnutls_session_ticket_key_generate(&cfg->ticket_key)) < 0 ||
	    (ret = gnutls_anti_replay_init(&cfg->anti_replay)) < 0) {
		ht_errbuf(err, errlen, "session tickets: %s", gnutls_strerror(ret));
		free(cfg->replay);
		cfg->replay = NULL;
		if (cfg->ticket_key.data != NULL)
			gnutls_free(cfg->ticket_key.data);
		cfg->ticket_key.data = NULL;
		return HT_ERR_CRYPTO;
	}
	gnutls_anti_replay_set_window(cfg->anti_replay, REPLAY_WINDOW_MS);
	gnutls_anti_replay_set_add_function(cfg->anti_replay, replay_add);
	gnutls_anti_replay_set_ptr(cfg->anti_replay, cfg);
	return 0;
}

static int ticket_hook(gnutls_session_t session, unsigned int htype, unsigned int when,
		       unsigned int incoming, const gnutls_datum_t *msg)
{
	const ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(session);
	struct ht_tls_session *ts = (struct ht_tls_session *)ref;
	gnutls_datum_t data = {NULL, 0};

	(void)when;
	(void)msg;
	if (htype != GNUTLS_HANDSHAKE_NEW_SESSION_TICKET || !incoming || ts == NULL ||
	    ts->on_ticket == NULL)
		return 0;
	if (gnutls_session_get_data2(session, &data) < 0)
		return 0; /* no ticket kept: the next start is a full handshake */
	ts->on_ticket(ts->ticket_arg, data.data, data.size);
	gnutls_free(data.data);
	return 0;
}

int ht_tls_session_set_ticket(struct ht_tls_session *ts, const uint8_t *data, size_t len)
{
	if (ts->cfg->role != HT_TLS_CLIENT || len == 0 || len > UINT32_MAX)
		return HT_ERR_INVAL;
	if (gnutls_session_set_data(ts->session, data, len) < 0)
		return HT_ERR_BAD_VALUE;
	ts->ticket_set = true;
	return 0;
}

int ht_tls_session_send_ticket(struct ht_tls_session *ts)
{
	if (ts->cfg->role != HT_TLS_SERVER || ts->cfg->ticket_key.data == NULL)
		return 0;
	return gnutls_session_ticket_send(ts->session, 1, 0) < 0 ? HT_ERR_CRYPTO : 0;
}

bool ht_tls_session_resumed(const struct ht_tls_session *ts)
{
	return gnutls_session_is_resumed(ts->session) != 0;
}

bool ht_tls_session_early_accepted(const struct ht_tls_session *ts)
{
	return (gnutls_session_get_flags(ts->session) & GNUTLS_SFLAGS_EARLY_DATA) != 0;
}

int ht_tls_session_check_resumed(struct ht_tls_session *ts)
{
	if (ts->peer_ok)
		return 0;
	return check_peer(ts, ts->session, true) == 0 ? 0 : HT_ERR_CRYPTO;
}
