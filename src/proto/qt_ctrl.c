/* hatun — QUIC tunnel control TLVs (-01) and the per-connection control
 * state.  See qt_ctrl.h for the API and docs/protocol/quic-tunnel.md. */
#include "qt_ctrl.h"

#include <string.h>

#include "err.h"

uint64_t qt_ctrl_stream_id(enum qt_ctrl_role role)
{
	return role == QT_CTRL_CLIENT ? QT_CTRL_STREAM_CLIENT : QT_CTRL_STREAM_CONCENTRATOR;
}

bool qt_ctrl_is_control_stream(uint64_t stream_id)
{
	return stream_id == QT_CTRL_STREAM_CLIENT || stream_id == QT_CTRL_STREAM_CONCENTRATOR;
}

/* Who may send a known type; -1 for a type -01 does not define.  hatun's
 * extension TLVs (QT_CTRL_EXT_FIRST and up, ALPN `qt` only) get their row
 * here when they are specified. */
static int allowed_sender(uint8_t type)
{
	switch (type) {
	case QT_CTRL_NEW_SESSION:
	case QT_CTRL_JOIN_SESSION:
		return QT_CTRL_CLIENT;
	case QT_CTRL_SESSION_ID:
		return QT_CTRL_CONCENTRATOR;
	default:
		return -1;
	}
}

int qt_ctrl_parse(struct qt_ctrl_tlv *tlv, const uint8_t *buf, size_t len, enum qt_ctrl_role sender)
{
	int who;
	size_t total;

	if (tlv == NULL || (buf == NULL && len > 0) ||
	    (sender != QT_CTRL_CLIENT && sender != QT_CTRL_CONCENTRATOR))
		return HT_ERR_INVAL;
	memset(tlv, 0, sizeof(*tlv));
	if (len < 1)
		return HT_ERR_NEED_MORE;
	tlv->type = buf[0];
	who = allowed_sender(tlv->type);
	if (who >= 0 && who != (int)sender)
		return HT_ERR_WRONG_SENDER;
	if (len < QT_CTRL_HDR_SIZE)
		return HT_ERR_NEED_MORE;
	tlv->len = buf[1];
	if (who < 0)
		return HT_ERR_BAD_TYPE;
	if (tlv->type == QT_CTRL_NEW_SESSION ? tlv->len != 0 : tlv->len == 0)
		return HT_ERR_BAD_LENGTH;
	total = QT_CTRL_HDR_SIZE + tlv->len;
	if (len < total)
		return HT_ERR_NEED_MORE;
	if (tlv->len > 0) {
		tlv->id = buf + QT_CTRL_HDR_SIZE;
		tlv->id_len = tlv->len;
	}
	return (int)total;
}

int qt_ctrl_write_new_session(uint8_t *buf, size_t cap)
{
	if (buf == NULL)
		return HT_ERR_INVAL;
	if (cap < QT_CTRL_HDR_SIZE)
		return HT_ERR_NOBUF;
	buf[0] = QT_CTRL_NEW_SESSION;
	buf[1] = 0;
	return QT_CTRL_HDR_SIZE;
}

static int write_id(uint8_t *buf, size_t cap, uint8_t type, const uint8_t *id, size_t id_len)
{
	if (buf == NULL || id == NULL || id_len == 0)
		return HT_ERR_INVAL;
	if (id_len > QT_CTRL_SESSION_ID_MAX)
		return HT_ERR_TOO_LONG;
	if (cap < QT_CTRL_HDR_SIZE + id_len)
		return HT_ERR_NOBUF;
	buf[0] = type;
	buf[1] = (uint8_t)id_len;
	memmove(buf + QT_CTRL_HDR_SIZE, id, id_len); /* id may alias buf */
	return (int)(QT_CTRL_HDR_SIZE + id_len);
}

int qt_ctrl_write_session_id(uint8_t *buf, size_t cap, const uint8_t *id, size_t id_len)
{
	return write_id(buf, cap, QT_CTRL_SESSION_ID, id, id_len);
}

int qt_ctrl_write_join_session(uint8_t *buf, size_t cap, const uint8_t *id, size_t id_len)
{
	return write_id(buf, cap, QT_CTRL_JOIN_SESSION, id, id_len);
}

int qt_ctrl_write(uint8_t *buf, size_t cap, const struct qt_ctrl_tlv *tlv)
{
	if (tlv == NULL)
		return HT_ERR_INVAL;
	switch (tlv->type) {
	case QT_CTRL_NEW_SESSION:
		return qt_ctrl_write_new_session(buf, cap);
	case QT_CTRL_SESSION_ID:
	case QT_CTRL_JOIN_SESSION:
		return write_id(buf, cap, tlv->type, tlv->id, tlv->id_len);
	default:
		return HT_ERR_BAD_TYPE;
	}
}

/* ---- per-connection state ----------------------------------------------- */

void qt_ctrl_conn_init(struct qt_ctrl_conn *c, enum qt_ctrl_role local_role,
                       enum qt_ctrl_profile profile)
{
	memset(c, 0, sizeof(*c));
	c->role = (uint8_t)local_role;
	c->profile = (uint8_t)profile;
}

static int fail(struct qt_ctrl_conn *c, int err)
{
	c->err = err;
	return err;
}

int qt_ctrl_conn_on_send(struct qt_ctrl_conn *c, uint8_t type)
{
	int who;

	if (c == NULL)
		return HT_ERR_INVAL;
	who = allowed_sender(type);
	if (who < 0)
		return HT_ERR_BAD_TYPE;
	if (who != c->role)
		return HT_ERR_WRONG_SENDER;
	/* One negotiation per connection (-01 §6), in each direction. */
	if (c->sent)
		return HT_ERR_ORDER;
	/* Session ID answers New Session; under `qt` it also confirms a Join
	 * (the same ID echoed: the control stream stays open, so there is no
	 * FIN to say it, docs/protocol/sessions.md). */
	if (type == QT_CTRL_SESSION_ID && c->received != QT_CTRL_NEW_SESSION + 1 &&
	    !(c->profile == QT_CTRL_PROFILE_QT && c->received == QT_CTRL_JOIN_SESSION + 1))
		return HT_ERR_ORDER;
	c->sent = (uint8_t)(type + 1);
	return HT_OK;
}

/* Per-connection rules for one well-formed TLV from the peer. */
static int accept_tlv(struct qt_ctrl_conn *c, const struct qt_ctrl_tlv *t)
{
	if (c->received)
		return HT_ERR_ORDER; /* a second negotiation */
	if (t->type == QT_CTRL_SESSION_ID && c->sent != QT_CTRL_NEW_SESSION + 1 &&
	    !(c->profile == QT_CTRL_PROFILE_QT && c->sent == QT_CTRL_JOIN_SESSION + 1))
		return HT_ERR_ORDER; /* answers nothing we asked */
	if (t->type == QT_CTRL_SESSION_ID && c->sent == QT_CTRL_JOIN_SESSION + 1)
		c->joined = true; /* `qt`: the Join confirmed (the caller checks the ID) */
	c->received = (uint8_t)(t->type + 1);
	c->session_id_len = (uint8_t)t->id_len;
	if (t->id_len > 0)
		memcpy(c->session_id, t->id, t->id_len);
	return 0;
}

/* The peer's control stream ended cleanly: did it say all it had to? */
static int on_fin(struct qt_ctrl_conn *c)
{
	if (c->have > 0)
		return HT_ERR_TRUNCATED;
	if (c->role == QT_CTRL_CONCENTRATOR && !c->received)
		return HT_ERR_TRUNCATED;
	if (c->role == QT_CTRL_CLIENT && !c->received) {
		if (c->sent == QT_CTRL_NEW_SESSION + 1)
			return HT_ERR_TRUNCATED;
		if (c->sent == QT_CTRL_JOIN_SESSION + 1)
			c->joined = true;
	}
	c->fin = true;
	return 0;
}

/* Bytes still missing from the partial TLV in c->buf. */
static size_t missing(const struct qt_ctrl_conn *c)
{
	size_t want =
	    c->have < QT_CTRL_HDR_SIZE ? QT_CTRL_HDR_SIZE : QT_CTRL_HDR_SIZE + (size_t)c->buf[1];

	return want - c->have;
}

int qt_ctrl_conn_feed(struct qt_ctrl_conn *c, const uint8_t *data, size_t len, bool fin,
                      size_t *consumed, struct qt_ctrl_tlv *out)
{
	enum qt_ctrl_role sender;
	size_t pos = 0;
	int r;

	if (c == NULL || consumed == NULL || out == NULL || (data == NULL && len > 0))
		return HT_ERR_INVAL;
	*consumed = 0;
	memset(out, 0, sizeof(*out));
	if (c->err)
		return c->err;
	if (c->fin)
		return len > 0 ? fail(c, HT_ERR_TRAILING) : 0;
	sender = c->role == QT_CTRL_CLIENT ? QT_CTRL_CONCENTRATOR : QT_CTRL_CLIENT;

	/* `qt`: after the negotiation TLV the stream belongs to hatun's
	 * extension TLVs (qt_ext_asm_feed, datagram-config.md §3), FIN
	 * included; the codecs stay independent, the caller switches. */
	if (c->profile == QT_CTRL_PROFILE_QT && c->received)
		return len > 0 || fin ? QT_CTRL_FEED_EXT : 0;

	while (pos < len) {
		/* -01: "MUST close the control stream" right after its TLV. */
		if (c->profile == QT_CTRL_PROFILE_01 && c->received)
			return fail(c, HT_ERR_TRAILING);
		if (c->have == 0) {
			r = qt_ctrl_parse(out, data + pos, len - pos, sender);
			if (r == HT_ERR_NEED_MORE) {
				memcpy(c->buf, data + pos, len - pos);
				c->have = (uint16_t)(len - pos);
				pos = len;
				break;
			}
			if (r > 0)
				pos += (size_t)r;
		} else {
			size_t n = missing(c);

			if (n > len - pos)
				n = len - pos;
			memcpy(c->buf + c->have, data + pos, n);
			c->have = (uint16_t)(c->have + n);
			pos += n;
			r = qt_ctrl_parse(out, c->buf, c->have, sender);
			if (r == HT_ERR_NEED_MORE)
				continue;
			c->have = 0;
		}
		if (r < 0)
			return fail(c, r);
		/* An extension TLV (0x40-0x7F) before the negotiation TLV was
		 * refused by qt_ctrl_parse (HT_ERR_BAD_TYPE); after it, `qt`
		 * hands the rest over (above). */
		r = accept_tlv(c, out);
		if (r < 0)
			return fail(c, r);
		/* Hand out a copy that outlives the caller's read buffer. */
		out->id = out->id_len > 0 ? c->session_id : NULL;
		*consumed = pos;
		/* Under `qt` a FIN here belongs to the extension phase: the
		 * next call returns QT_CTRL_FEED_EXT and the assembler sees it. */
		if (pos == len && fin && c->profile == QT_CTRL_PROFILE_01 && (r = on_fin(c)) < 0)
			return fail(c, r);
		return 1;
	}
	*consumed = pos;
	if (fin && (r = on_fin(c)) < 0)
		return fail(c, r);
	return 0;
}

uint64_t qt_ctrl_reset_code(int err)
{
	return err == HT_ERR_ORDER ? QT_CTRL_CONFLICTING_STATE : QT_CTRL_UNKNOWN_ERROR;
}
