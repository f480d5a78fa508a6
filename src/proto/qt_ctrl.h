/* hatun — QUIC tunnel control TLVs (draft-piraux-quic-tunnel-01 §6-7.1,
 * wire-formats.md §2.4).
 *
 * Each endpoint's first unidirectional stream is its control stream (client:
 * stream 2, concentrator: stream 3).  The client sends New Session or Join
 * Session; the concentrator answers New Session with a Session ID TLV, and a
 * Join with a bare FIN (success) or RESET_STREAM (failure).  Under ALPN
 * qt-01 each control stream carries exactly one TLV and then FIN; under
 * hatun's `qt` profile the stream stays open for hatun's extension TLVs
 * (qt_ext.h: qt_ctrl_conn_feed hands them over with QT_CTRL_FEED_EXT), but
 * the session negotiation still happens once, and since no FIN can say a
 * Join succeeded, the concentrator confirms it with a Session ID TLV
 * echoing the joined ID (the client checks that it is the same).
 *
 * Pure codecs: no allocation, no I/O.  docs/protocol/quic-tunnel.md has the
 * reaction table.
 */
#ifndef HATUN_PROTO_QT_CTRL_H
#define HATUN_PROTO_QT_CTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Control TLV types of -01 (renumbered in -03: do not mix versions). */
enum {
	QT_CTRL_NEW_SESSION = 0x00,  /* client only, Length 0 */
	QT_CTRL_SESSION_ID = 0x01,   /* concentrator only, Length N */
	QT_CTRL_JOIN_SESSION = 0x02, /* client only, Length N */
	/* hatun's own control TLVs (ALPN `qt` only) will be numbered from
	 * QT_CTRL_EXT_FIRST up, clear of every draft version's 0x00-0x03. */
	QT_CTRL_EXT_FIRST = 0x40,
};

/* RESET_STREAM application error codes (-01 §7.1.3, 62-bit space). */
enum {
	QT_CTRL_UNKNOWN_ERROR = 0x0,
	QT_CTRL_UNKNOWN_SESSION_ID = 0x1,
	QT_CTRL_CONFLICTING_STATE = 0x2,
};

#define QT_CTRL_HDR_SIZE 2u
#define QT_CTRL_SESSION_ID_MAX 255u  /* Length is 8 bits */
#define QT_CTRL_SESSION_ID_HATUN 16u /* what hatun's concentrator issues */
#define QT_CTRL_TLV_MAX_SIZE 257u

/* Control stream IDs (RFC 9000 numbering: first uni stream of each side). */
#define QT_CTRL_STREAM_CLIENT 2u
#define QT_CTRL_STREAM_CONCENTRATOR 3u

enum qt_ctrl_role {
	QT_CTRL_CLIENT = 0,
	QT_CTRL_CONCENTRATOR = 1,
};

enum qt_ctrl_profile {
	QT_CTRL_PROFILE_01 = 0, /* ALPN qt-01: one TLV, then FIN */
	QT_CTRL_PROFILE_QT = 1, /* ALPN qt: stream stays open for extensions */
};

/* One decoded control TLV.  id points into the parsed buffer. */
struct qt_ctrl_tlv {
	uint8_t type;
	uint8_t len;       /* the Length field */
	const uint8_t *id; /* Session ID / Join Session: the Session ID */
	size_t id_len;
};

/* The control stream ID of an endpoint with this role (2 or 3). */
uint64_t qt_ctrl_stream_id(enum qt_ctrl_role role);

/* True for stream 2 or 3, the only streams that may carry control TLVs. */
bool qt_ctrl_is_control_stream(uint64_t stream_id);

/* Decode the control TLV at the start of buf, sent by `sender`.  tlv->type is
 * set whenever buf is non-empty and tlv->len once 2 bytes are there, so an
 * unknown type can be logged (or, later, skipped: it is 2 + len bytes).
 * Returns bytes consumed (> 0), or
 *   HT_ERR_NEED_MORE     buf holds a prefix of a TLV (or is empty);
 *   HT_ERR_BAD_TYPE      not a -01 control type (needs 2 bytes);
 *   HT_ERR_WRONG_SENDER  this role may not send this type (needs 1 byte);
 *   HT_ERR_BAD_LENGTH    New Session with Length != 0, Session ID or Join
 *                        Session with Length 0 (an empty ID identifies
 *                        nothing; 1..255 are accepted);
 *   HT_ERR_INVAL         tlv is NULL, buf is NULL with len > 0, or sender is
 *                        not a role. */
int qt_ctrl_parse(struct qt_ctrl_tlv *tlv, const uint8_t *buf, size_t len,
                  enum qt_ctrl_role sender);

/* Serializers: bytes written, or HT_ERR_NOBUF (nothing written), HT_ERR_INVAL
 * (NULL pointer; empty Session ID), HT_ERR_TOO_LONG (Session ID > 255). */
int qt_ctrl_write_new_session(uint8_t *buf, size_t cap);
int qt_ctrl_write_session_id(uint8_t *buf, size_t cap, const uint8_t *id, size_t id_len);
int qt_ctrl_write_join_session(uint8_t *buf, size_t cap, const uint8_t *id, size_t id_len);
/* Any of the three from a struct; also HT_ERR_BAD_TYPE for another type. */
int qt_ctrl_write(uint8_t *buf, size_t cap, const struct qt_ctrl_tlv *tlv);

/* Per-connection control state: what this endpoint sent on its control
 * stream and the receive side of the peer's control stream.  Initialise
 * with qt_ctrl_conn_init(); fields other than the documented ones are
 * private. */
struct qt_ctrl_conn {
	uint8_t role;           /* enum qt_ctrl_role of THIS endpoint */
	uint8_t profile;        /* enum qt_ctrl_profile */
	uint8_t sent;           /* 0 or the negotiation TLV type we sent + 1 */
	uint8_t received;       /* 0 or the negotiation TLV type received + 1 */
	bool fin;               /* the peer's control stream is finished */
	bool joined;            /* client: Join answered (bare FIN; `qt`: Session ID) */
	int err;                /* sticky error, or 0 */
	uint16_t have;          /* bytes of a partial TLV in buf */
	uint8_t session_id_len; /* Session ID / Join Session value */
	uint8_t session_id[QT_CTRL_SESSION_ID_MAX];
	uint8_t buf[QT_CTRL_TLV_MAX_SIZE];
};

void qt_ctrl_conn_init(struct qt_ctrl_conn *c, enum qt_ctrl_role local_role,
                       enum qt_ctrl_profile profile);

/* Record that this endpoint is about to send a control TLV of `type`.
 * Returns HT_OK, or
 *   HT_ERR_WRONG_SENDER  our role may not send it;
 *   HT_ERR_ORDER         a second negotiation (client), or a Session ID that
 *                        answers no New Session / a second one
 *                        (concentrator);
 *   HT_ERR_BAD_TYPE      not a control type. */
int qt_ctrl_conn_on_send(struct qt_ctrl_conn *c, uint8_t type);

/* qt_ctrl_conn_feed's "the rest is extension TLVs" result. */
#define QT_CTRL_FEED_EXT 2

/* Feed the next read of the PEER's control stream (fin: it ends there).
 * Delivers at most one TLV per call: *consumed says how much of data was
 * used; call again with the rest.
 * Returns
 *   1  *out holds a TLV (its id points into c->session_id, stable until
 *      qt_ctrl_conn_init()); c->session_id holds the negotiated ID;
 *   0  everything consumed, no TLV complete (or a clean FIN, c->fin set;
 *      for a client whose Join is answered by a bare FIN, c->joined set);
 *   QT_CTRL_FEED_EXT (2)  profile `qt`, the negotiation TLV already
 *      delivered, and data or FIN given: nothing consumed; these bytes and
 *      everything after them (and the FIN) go to qt_ext_asm_feed (qt_ext.h),
 *      whose errors get the same reaction.  Under `qt` a FIN that arrives
 *      with the negotiation TLV is left for this call too;
 *   HT_ERR_TRUNCATED    FIN inside a TLV; FIN on an empty client control
 *                       stream; FIN from the concentrator without the
 *                       Session ID our New Session asked for;
 *   HT_ERR_TRAILING     qt-01: bytes after the one TLV; any profile: bytes
 *                       after FIN;
 *   HT_ERR_ORDER        a second negotiation TLV, or a Session ID that no
 *                       New Session of ours asked for;
 *   HT_ERR_BAD_TYPE, HT_ERR_WRONG_SENDER, HT_ERR_BAD_LENGTH as
 *                       qt_ctrl_parse() (out->type holds the type);
 *   HT_ERR_INVAL        NULL pointer.
 * Errors are sticky. */
int qt_ctrl_conn_feed(struct qt_ctrl_conn *c, const uint8_t *data, size_t len, bool fin,
                      size_t *consumed, struct qt_ctrl_tlv *out);

/* RESET_STREAM (or STOP_SENDING) application code for a control-stream
 * error: HT_ERR_ORDER → QT_CTRL_CONFLICTING_STATE (a negotiation this
 * connection's state cannot take); every other error → QT_CTRL_UNKNOWN_ERROR.
 * QT_CTRL_UNKNOWN_SESSION_ID comes from the session table, not the codec. */
uint64_t qt_ctrl_reset_code(int err);

#endif
