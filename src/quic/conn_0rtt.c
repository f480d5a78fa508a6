/* hatun — session tickets and 0-RTT for ht_qconn (docs/QUIC.md "Session
 * tickets and 0-RTT").
 *
 * Client: the ticket file keeps what a restarted client needs to send
 * 0-RTT: the server's fingerprint (the ticket is used only while that
 * server is still pinned, or with a CA configured: the resumed handshake
 * checks the remembered chain and name again), the server's transport parameters (the limits
 * 0-RTT must respect, RFC 9000 §7.4.1) and GnuTLS's resumption data.
 * Layout, all lengths big-endian:
 *
 *   "HTQTICK1" (8) | fingerprint (32) | tp_len (4) | transport parameters
 *   (ngtcp2 encoding, EncryptedExtensions form) | sess_len (4) | session
 *
 * written 0600 to PATH.tmp and renamed over PATH, at most TICKET_MAX bytes.
 *
 * When the server rejects the early data, ngtcp2 forgets every stream
 * opened in 0-RTT (ngtcp2_conn_early_data_rejected); the streams' send
 * buffers still hold every byte (nothing is released before it is
 * acknowledged), so the same stream IDs are opened again, in order, and
 * everything is sent again in 1-RTT.  The upper layer sees nothing.
 *
 * Server: a connection that receives 0-RTT stream data is accepted at that
 * moment (the identity is the one the ticket remembers, checked against
 * the current pins / CA like a fresh certificate), so the tunnelled
 * connection starts half a round trip after the client sent it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "proto/err.h"
#include "proto/wire.h"
#include "quic/conn_int.h"

#define TICKET_MAGIC "HTQTICK1"
#define TICKET_MAX 16384u

enum ht_qconn_early ht_qconn_early_state(const struct ht_qconn *c)
{
	return (enum ht_qconn_early)c->early;
}

const char *ht_qconn_early_str(enum ht_qconn_early e)
{
	switch (e) {
	case HT_QEARLY_OFFERED:
		return "offered";
	case HT_QEARLY_ACCEPTED:
		return "accepted";
	case HT_QEARLY_REJECTED:
		return "rejected";
	case HT_QEARLY_NONE:
		break;
	}
	return "";
}

bool ht_qconn_can_open_early(const struct ht_qconn *c)
{
	return c->early == HT_QEARLY_OFFERED && !ht_qconn_is_gone(c) && !c->close_requested;
}

/* ---- the ticket file ------------------------------------------------------------ */

static void ticket_write(struct ht_qconn *c, const uint8_t *sess, size_t slen)
{
	const ngtcp2_transport_params *tp = ngtcp2_conn_get_remote_transport_params(c->conn);
	uint8_t *buf = NULL;
	char tmp[4096 + 8];
	ngtcp2_ssize tlen;
	size_t len = 0;
	int fd = -1;
	ssize_t n;

	if (tp == NULL || !c->tls.peer_ok || slen > TICKET_MAX)
		return;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", c->ticket_file) >= sizeof(tmp))
		return;
	buf = malloc(TICKET_MAX + 64);
	if (buf == NULL)
		return;
	memcpy(buf, TICKET_MAGIC, 8);
	memcpy(buf + 8, c->tls.peer_fp, HT_FP_LEN);
	len = 8 + HT_FP_LEN + 4;
	tlen = ngtcp2_encode_transport_params(buf + len, TICKET_MAX - len,
					      NGTCP2_TRANSPORT_PARAMS_TYPE_ENCRYPTED_EXTENSIONS, tp);
	if (tlen < 0 || len + (size_t)tlen + 4 + slen > TICKET_MAX + 64)
		goto out;
	ht_put32(buf + len - 4, (uint32_t)tlen);
	len += (size_t)tlen;
	ht_put32(buf + len, (uint32_t)slen);
	len += 4;
	memcpy(buf + len, sess, slen);
	len += slen;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ht_log(HT_LOG_WARN, "quic", "ticket file %s: %s", tmp, strerror(errno));
		goto out;
	}
	n = write(fd, buf, len);
	if (n != (ssize_t)len || fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		ht_log(HT_LOG_WARN, "quic", "ticket file %s: write failed", tmp);
		(void)unlink(tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, c->ticket_file) != 0) {
		ht_log(HT_LOG_WARN, "quic", "ticket file %s: %s", c->ticket_file, strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	ht_log(HT_LOG_DEBUG, "quic", "session ticket saved in %s (%zu bytes)", c->ticket_file, len);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
}

static void on_ticket(void *arg, const uint8_t *data, size_t len)
{
	struct ht_qconn *c = arg;

	if (c->ticket_file != NULL && c->conn != NULL)
		ticket_write(c, data, len);
}

/* Read PATH; on success resume with it and allow 0-RTT.  Any problem
 * (missing, short, foreign, for another server) just means a full
 * handshake: logged at debug level, not an error. */
static void ticket_load(struct ht_qconn *c, const struct ht_tls_config *tls)
{
	uint8_t *buf = malloc(TICKET_MAX + 64);
	ngtcp2_transport_params tp;
	const char *why = NULL;
	size_t len = 0, tlen, slen;
	ssize_t n;
	int fd;

	if (buf == NULL)
		return;
	fd = open(c->ticket_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		why = errno == ENOENT ? "no ticket yet" : strerror(errno);
		goto out;
	}
	while (len < TICKET_MAX + 64 && (n = read(fd, buf + len, TICKET_MAX + 64 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len < 8 + HT_FP_LEN + 8 || memcmp(buf, TICKET_MAGIC, 8) != 0) {
		why = "not a ticket file";
		goto out;
	}
	if (!ht_tls_config_may_accept(tls, buf + 8)) {
		why = "issued by a server that is not pinned now";
		goto out;
	}
	tlen = ht_get32(buf + 8 + HT_FP_LEN);
	if (tlen > len - (8 + HT_FP_LEN + 8)) {
		why = "truncated";
		goto out;
	}
	slen = ht_get32(buf + 8 + HT_FP_LEN + 4 + tlen);
	if (slen != len - (8 + HT_FP_LEN + 8 + tlen)) {
		why = "truncated";
		goto out;
	}
	if (ngtcp2_decode_transport_params(&tp, NGTCP2_TRANSPORT_PARAMS_TYPE_ENCRYPTED_EXTENSIONS,
					   buf + 8 + HT_FP_LEN + 4, tlen) != 0) {
		why = "bad transport parameters";
		goto out;
	}
	if (ht_tls_session_set_ticket(&c->tls, buf + 8 + HT_FP_LEN + 8 + tlen, slen) != 0) {
		why = "GnuTLS refused the session data";
		goto out;
	}
	ngtcp2_conn_set_early_remote_transport_params(c->conn, &tp);
	c->early = HT_QEARLY_OFFERED;
	ht_log(HT_LOG_DEBUG, "quic", "resuming with the ticket in %s: 0-RTT offered",
	       c->ticket_file);
out:
	if (why != NULL)
		ht_log(HT_LOG_DEBUG, "quic", "ticket file %s: %s; full handshake", c->ticket_file,
		       why);
	free(buf);
}

int ht_qc_ticket_setup(struct ht_qconn *c, const char *path, const struct ht_tls_config *tls)
{
	if (path == NULL || path[0] == '\0')
		return 0;
	c->ticket_file = strdup(path);
	if (c->ticket_file == NULL)
		return HT_QERR_NOMEM;
	c->tls.on_ticket = on_ticket;
	c->tls.ticket_arg = c;
	ticket_load(c, tls);
	return 0;
}

/* ---- 0-RTT outcome ---------------------------------------------------------------- */

/* Open again, with the same IDs, the streams ngtcp2 forgot when the
 * server rejected 0-RTT, and queue their bytes from the start.  Only
 * bidirectional ones: ht_qconn_open_uni waits for the handshake, so no
 * unidirectional stream of ours can exist in 0-RTT. */
static int early_reopen(struct ht_qconn *c)
{
	int64_t max = -1;

	for (size_t i = 0; i < c->nbuckets; i++) {
		for (struct ht_qstream *s = c->sbuckets[i]; s != NULL; s = s->hnext) {
			if ((s->id & 3) == 0 && s->id > max)
				max = s->id;
		}
	}
	for (int64_t id = 0; id <= max; id += 4) {
		struct ht_qstream *s = ht_qstream_find(c, id);
		int64_t nid = -1;
		int rv = ngtcp2_conn_open_bidi_stream(c->conn, &nid, s);

		if (rv != 0 || nid != id) {
			ht_log(HT_LOG_WARN, "quic",
			       "0-RTT rejected and stream %lld cannot be opened again (%s)",
			       (long long)id, rv != 0 ? ngtcp2_strerror(rv) : "other ID");
			return rv != 0 ? rv : NGTCP2_ERR_INTERNAL;
		}
		if (s == NULL || s->wr_shut) {
			/* Gone or reset by us meanwhile: nothing to resend. */
			(void)ngtcp2_conn_shutdown_stream(c->conn, id, 0);
			continue;
		}
		s->sent = s->acked;
		s->fin_sent = false;
		s->blocked = false;
		if (ht_qstream_has_unsent(s))
			ht_qstream_ready_add(c, s);
	}
	ht_qconn_queue_flush(c);
	return 0;
}

/* ngtcp2 0.12.1 pads a small 0-RTT packet as if it had a short header and
 * then aborts on its own assertion (ngtcp2_ppe_final: too few bytes for
 * the header-protection sample; ngtcp2 issue 901, fixed in 0.19).  A 0-RTT
 * packet carrying only a FIN, a reset or a few bytes is that small.  So
 * while 0-RTT is on, a stream is written only when it has at least
 * EARLY_MIN_BYTES unsent bytes (a STREAM frame that size fills the sample
 * whatever else the packet holds); smaller remainders wait for the
 * handshake (1-RTT).  A Connect header alone is 22 bytes. */
#define EARLY_MIN_BYTES 20u

struct ht_qstream *ht_qc_early_pick(struct ht_qconn *c)
{
	struct ht_qstream *s = c->ready;

	if (s == NULL)
		return NULL;
	do {
		if (s->end - s->sent >= EARLY_MIN_BYTES)
			return s;
		s = s->rnext;
	} while (s != NULL && s != c->ready);
	return NULL;
}

int ht_qc_early_client_done(struct ht_qconn *c)
{
	int rv;

	if (c->early != HT_QEARLY_OFFERED)
		return 0;
	if (ht_tls_session_early_accepted(&c->tls)) {
		c->early = HT_QEARLY_ACCEPTED;
		ht_log(HT_LOG_DEBUG, "quic", "0-RTT accepted by the server");
		return 0;
	}
	c->early = HT_QEARLY_REJECTED;
	ht_log(HT_LOG_DEBUG, "quic", "0-RTT rejected by the server: %zu streams sent again",
	       c->nstreams);
	rv = ngtcp2_conn_early_data_rejected(c->conn);
	if (rv != 0)
		return rv;
	return early_reopen(c);
}

int ht_qc_early_server_accept(struct ht_qconn *c)
{
	int refuse;

	if (c->early != HT_QEARLY_NONE || c->hs_done)
		return 0;
	if (ht_tls_session_finish(&c->tls) != 0 || ht_tls_session_check_resumed(&c->tls) != 0)
		return -1;
	c->early = HT_QEARLY_ACCEPTED;
	ht_log(HT_LOG_DEBUG, "quic", "server: 0-RTT data from a resumed session, alpn %s",
	       c->tls.alpn);
	refuse = ht_server_conn_established(c->srv, c);
	if (refuse != 0)
		ht_qconn_close(c, (uint64_t)refuse);
	return 0;
}
