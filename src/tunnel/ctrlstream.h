/* hatun — the quic-tunnel control streams of one connection (-01 §6-7.1).
 *
 * Each endpoint's first unidirectional stream is its control stream
 * (client 2, concentrator 3).  This module owns both ends of that pair for
 * one ht_qconn: it opens ours, sends the session negotiation TLV and
 * hatun's extension TLVs on it, and feeds the peer's through qt_ctrl (the
 * negotiation) and then, under ALPN `qt`, qt_ext (datagram-config.md).
 *
 * What runs over it:
 *   - the negotiation: New Session / Join Session → Session ID / bare FIN
 *     (the owner decides through ops.negotiate, so the multipath session
 *     table of issue 5 plugs in there without touching this module);
 *   - `qt` only: Address Request → configuration (datagram mode), and the
 *     client's Path Preference (sessions.md).
 * Under `qt-01` each side sends its one TLV and FIN; under `qt-00` there
 * are no control streams (the peer's uni streams are refused).
 *
 * Errors (bad TLVs, a reset control stream) get the reaction of
 * quic-tunnel.md §3 / datagram-config.md §3: STOP_SENDING on the peer's
 * stream and RESET_STREAM on ours with qt_ctrl_reset_code(), then
 * ops.failed; the owner decides whether the connection survives.
 *
 * Memory: the struct is embedded in the owner's per-connection object
 * (~2.4 KB: the two partial-TLV buffers and one configuration being
 * assembled); nothing is allocated.  Sends are bounded: a configuration is
 * at most QT_EXT_CONFIG_MAX_SIZE bytes and the stream's send buffer
 * (256 KiB) takes it whole, so a short write is an error, never a queue.
 */
#ifndef HATUN_TUNNEL_CTRLSTREAM_H
#define HATUN_TUNNEL_CTRLSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/qt_ctrl.h"
#include "proto/qt_ext.h"
#include "quic/conn.h"

struct ht_ctrl;

struct ht_ctrl_ops {
	/* Concentrator: the client's New Session (t->type 0x00) or Join
	 * Session (0x02, t->id / t->id_len).  Return 0 to accept: for New
	 * Session fill id (≤ 255 bytes) and *id_len with the Session ID to
	 * answer; a Join is answered by a bare FIN under qt-01 and by nothing
	 * under `qt` (the stream stays open).  Return a QT_CTRL_* code to
	 * refuse (RESET_STREAM with it on our control stream). */
	uint64_t (*negotiate)(struct ht_ctrl *k, void *user, const struct qt_ctrl_tlv *t,
			      uint8_t *id, size_t *id_len);
	/* Client: the concentrator's Session ID (or, joined, id_len 0). */
	void (*session)(struct ht_ctrl *k, void *user, const uint8_t *id, size_t id_len);
	/* `qt`, concentrator: an Address Request. */
	void (*request)(struct ht_ctrl *k, void *user, const struct qt_ext_request *r);
	/* `qt`, concentrator: the client's Path Preference for this
	 * connection (may be NULL: ignored). */
	void (*path_pref)(struct ht_ctrl *k, void *user, const struct qt_ext_path_pref *p);
	/* `qt`, client: a whole, checked configuration. */
	void (*config)(struct ht_ctrl *k, void *user, const struct qt_ext_config *c);
	/* The control streams failed (err: HT_ERR_* or HT_QERR_*; what: a
	 * phrase for the log).  The streams are already reset. */
	void (*failed)(struct ht_ctrl *k, void *user, int err, const char *what);
};

struct ht_ctrl {
	struct ht_qconn *qc;
	const struct ht_ctrl_ops *ops;
	void *user;
	uint8_t role;    /* enum qt_ctrl_role of this endpoint */
	bool active;     /* qt-01 or qt negotiated: control streams exist */
	bool ext;        /* ALPN qt: extension TLVs allowed */
	bool ext_phase;  /* the peer's negotiation TLV is behind us */
	bool failed;
	int64_t own_sid; /* -1 until opened */
	uint8_t join_len; /* client: the Session ID we asked to join (0: none) */
	uint8_t join_id[QT_CTRL_SESSION_ID_MAX];
	int64_t peer_sid;
	uint64_t peer_reset; /* the code of the peer's RESET_STREAM, UINT64_MAX: none */
	uint64_t ext_ignored; /* comprehension-optional TLVs skipped */
	struct qt_ctrl_conn neg;
	struct qt_ext_asm asm_;
};

/* Bind to qc once its handshake is done (the ALPN is known): `qt` and
 * `qt-01` activate the control streams, `qt-00` leaves them off. */
void ht_ctrl_init(struct ht_ctrl *k, struct ht_qconn *qc, enum qt_ctrl_role role,
		  const struct ht_ctrl_ops *ops, void *user);

/* Client: open stream 2 and send New Session, then (`qt` only, req not
 * NULL) an Address Request in the same write.  HT_ERR_UNSUPPORTED under
 * qt-00; HT_QERR_* from the connection. */
int ht_ctrl_client_start(struct ht_ctrl *k, const struct qt_ext_request *req);

/* Client, on a further connection of a session (issue 5): open stream 2
 * and send Join Session with id, then (`qt` only, req not NULL) an Address
 * Request.  ops.session(NULL, 0) reports success (a bare FIN under qt-01,
 * the ID echoed in a Session ID TLV under `qt`); a refusal arrives as
 * ops.failed.  HT_ERR_UNSUPPORTED under qt-00, HT_ERR_INVAL for an empty
 * or too long id. */
int ht_ctrl_client_join(struct ht_ctrl *k, const uint8_t *id, size_t id_len,
			const struct qt_ext_request *req);

/* `qt`: send a further Address Request (client) or a whole configuration
 * (concentrator, after the Session ID).  HT_ERR_UNSUPPORTED when the
 * profile has no extensions; HT_ERR_ORDER before the negotiation. */
int ht_ctrl_send_request(struct ht_ctrl *k, const struct qt_ext_request *req);
int ht_ctrl_send_config(struct ht_ctrl *k, const struct qt_ext_config *cfg);
/* `qt`, client, after the negotiation: this connection's Path Preference
 * (the session's scheduler, backup, weight). */
int ht_ctrl_send_path_pref(struct ht_ctrl *k, const struct qt_ext_path_pref *p);

/* Route the connection's stream events here first: each returns true when
 * sid is the peer's control stream (or ours) and the event was handled. */
bool ht_ctrl_on_uni_open(struct ht_ctrl *k, int64_t sid);
bool ht_ctrl_on_data(struct ht_ctrl *k, int64_t sid, const uint8_t *data, size_t len, bool fin);
bool ht_ctrl_on_reset(struct ht_ctrl *k, int64_t sid, uint64_t app_error);
bool ht_ctrl_on_closed(struct ht_ctrl *k, int64_t sid);

#endif
