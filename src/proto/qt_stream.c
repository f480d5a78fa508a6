/* hatun — QUIC tunnel stream-mode TLVs: codec and per-stream header parser.
 * See qt_stream.h for the API and docs/protocol/quic-tunnel.md for the rules. */
#include "qt_stream.h"

#include <string.h>

#include "addr.h"
#include "err.h"
#include "wire.h"

enum {
	ST_HEADER = 0, /* inside the TLV header */
	ST_BYTESTREAM, /* End seen: everything is TCP payload */
	ST_CLOSING,    /* "Error..., End" seen: only FIN may follow */
	ST_FAILED,
};

/* ---- one TLV ------------------------------------------------------------ */

/* The only Length each fixed-size type may carry; -1 for variable. */
static int fixed_len(uint8_t type)
{
	switch (type) {
	case QT_TLV_CONNECT:
		return QT_TLV_CONNECT_LEN;
	case QT_TLV_EXT_CONNECT:
		return QT_TLV_EXT_CONNECT_LEN;
	case QT_TLV_CONNECT_OK:
		return 0;
	case QT_TLV_END:
		return 0;
	default:
		return -1;
	}
}

static bool known_type(uint8_t type)
{
	return fixed_len(type) >= 0 || type == QT_TLV_ERROR;
}

static void get_peer(struct qt_peer *peer, const uint8_t *p)
{
	peer->port = ht_get16(p);
	memcpy(peer->addr, p + 2, 16);
}

static uint8_t *put_peer(uint8_t *p, const struct qt_peer *peer)
{
	p = ht_put16(p, peer->port);
	memcpy(p, peer->addr, 16);
	return p + 16;
}

int qt_tlv_parse(struct qt_tlv *tlv, const uint8_t *buf, size_t len)
{
	size_t total;

	if (tlv == NULL || (buf == NULL && len > 0))
		return HT_ERR_INVAL;
	memset(tlv, 0, sizeof(*tlv));
	if (len < 1)
		return HT_ERR_NEED_MORE;
	tlv->type = buf[0];
	if (!known_type(tlv->type))
		return HT_ERR_BAD_TYPE;
	if (len < QT_TLV_HDR_SIZE)
		return HT_ERR_NEED_MORE;
	tlv->len = buf[1];
	if (tlv->type == QT_TLV_ERROR ? tlv->len < QT_TLV_ERROR_MIN_LEN
	                              : tlv->len != fixed_len(tlv->type))
		return HT_ERR_BAD_LENGTH;
	total = QT_TLV_HDR_SIZE + tlv->len;
	if (len < total)
		return HT_ERR_NEED_MORE;

	if (tlv->type == QT_TLV_CONNECT || tlv->type == QT_TLV_EXT_CONNECT) {
		/* The remote and local address rules are the same (Decision #1). */
		get_peer(&tlv->remote, buf + 2);
		if (ht_addr_forbidden_on_wire(tlv->remote.addr))
			return HT_ERR_BAD_ADDRESS;
	}
	if (tlv->type == QT_TLV_EXT_CONNECT) {
		/* No padding: Local Peer Port at 20, Local Peer IP at 22. */
		get_peer(&tlv->local, buf + 20);
		if (ht_addr_forbidden_on_wire(tlv->local.addr))
			return HT_ERR_BAD_ADDRESS;
	}
	if (tlv->type == QT_TLV_ERROR) {
		tlv->error_code = ht_get16(buf + 2);
		tlv->payload_len = tlv->len - QT_TLV_ERROR_MIN_LEN;
		tlv->payload = tlv->payload_len > 0 ? buf + 4 : NULL;
	}
	return (int)total;
}

int qt_tlv_write_connect(uint8_t *buf, size_t cap, const struct qt_peer *remote)
{
	uint8_t *p = buf;

	if (buf == NULL || remote == NULL)
		return HT_ERR_INVAL;
	if (ht_addr_forbidden_on_wire(remote->addr))
		return HT_ERR_BAD_ADDRESS;
	if (cap < QT_TLV_CONNECT_SIZE)
		return HT_ERR_NOBUF;
	*p++ = QT_TLV_CONNECT;
	*p++ = QT_TLV_CONNECT_LEN;
	put_peer(p, remote);
	return QT_TLV_CONNECT_SIZE;
}

int qt_tlv_write_ext_connect(uint8_t *buf, size_t cap, const struct qt_peer *remote,
                             const struct qt_peer *local)
{
	uint8_t *p = buf;

	if (buf == NULL || remote == NULL || local == NULL)
		return HT_ERR_INVAL;
	if (ht_addr_forbidden_on_wire(remote->addr) || ht_addr_forbidden_on_wire(local->addr))
		return HT_ERR_BAD_ADDRESS;
	if (cap < QT_TLV_EXT_CONNECT_SIZE)
		return HT_ERR_NOBUF;
	*p++ = QT_TLV_EXT_CONNECT;
	*p++ = QT_TLV_EXT_CONNECT_LEN;
	p = put_peer(p, remote);
	put_peer(p, local);
	return QT_TLV_EXT_CONNECT_SIZE;
}

static int write_empty(uint8_t *buf, size_t cap, uint8_t type)
{
	if (buf == NULL)
		return HT_ERR_INVAL;
	if (cap < QT_TLV_HDR_SIZE)
		return HT_ERR_NOBUF;
	buf[0] = type;
	buf[1] = 0;
	return QT_TLV_HDR_SIZE;
}

int qt_tlv_write_connect_ok(uint8_t *buf, size_t cap)
{
	return write_empty(buf, cap, QT_TLV_CONNECT_OK);
}

int qt_tlv_write_end(uint8_t *buf, size_t cap)
{
	return write_empty(buf, cap, QT_TLV_END);
}

int qt_tlv_write_error(uint8_t *buf, size_t cap, uint16_t code, const uint8_t *payload,
                       size_t payload_len)
{
	if (buf == NULL || (payload == NULL && payload_len > 0))
		return HT_ERR_INVAL;
	if (payload_len > QT_TLV_ERROR_PAYLOAD_MAX)
		return HT_ERR_TOO_LONG;
	if (cap < 4 + payload_len)
		return HT_ERR_NOBUF;
	buf[0] = QT_TLV_ERROR;
	buf[1] = (uint8_t)(QT_TLV_ERROR_MIN_LEN + payload_len);
	ht_put16(buf + 2, code);
	if (payload_len > 0)
		memmove(buf + 4, payload, payload_len); /* payload may alias buf */
	return (int)(4 + payload_len);
}

int qt_tlv_write_error_icmp(uint8_t *buf, size_t cap, const uint8_t *icmp, size_t icmp_len)
{
	if (icmp_len > QT_TLV_ERROR_PAYLOAD_MAX)
		icmp_len = QT_TLV_ERROR_PAYLOAD_MAX;
	return qt_tlv_write_error(buf, cap, QT_ERR_ICMP, icmp, icmp_len);
}

int qt_tlv_write(uint8_t *buf, size_t cap, const struct qt_tlv *tlv)
{
	if (tlv == NULL)
		return HT_ERR_INVAL;
	switch (tlv->type) {
	case QT_TLV_CONNECT:
		return qt_tlv_write_connect(buf, cap, &tlv->remote);
	case QT_TLV_EXT_CONNECT:
		return qt_tlv_write_ext_connect(buf, cap, &tlv->remote, &tlv->local);
	case QT_TLV_CONNECT_OK:
		return qt_tlv_write_connect_ok(buf, cap);
	case QT_TLV_ERROR:
		return qt_tlv_write_error(buf, cap, tlv->error_code, tlv->payload,
		                          tlv->payload_len);
	case QT_TLV_END:
		return qt_tlv_write_end(buf, cap);
	default:
		return HT_ERR_BAD_TYPE;
	}
}

/* ---- the per-stream header ---------------------------------------------- */

void qt_stream_parser_init(struct qt_stream_parser *p, bool peer_opened)
{
	memset(p, 0, sizeof(*p));
	p->peer_opened = peer_opened;
	p->state = ST_HEADER;
}

static int fail(struct qt_stream_parser *p, int err)
{
	p->state = ST_FAILED;
	p->err = err;
	return err;
}

/* Apply the per-stream rules of -00 §7.1 to one well-formed TLV. */
static int apply(struct qt_stream_parser *p, const struct qt_tlv *t)
{
	struct qt_stream_info *in = &p->info;

	switch (t->type) {
	case QT_TLV_CONNECT:
	case QT_TLV_EXT_CONNECT:
		/* Sent only on streams the sender opened (Decision #1). */
		if (!p->peer_opened)
			return HT_ERR_WRONG_SENDER;
		if (in->seen & QT_SEEN_ERROR)
			return HT_ERR_ORDER;
		if (in->seen & (QT_SEEN_CONNECT | QT_SEEN_EXT_CONNECT))
			return HT_ERR_DUPLICATE;
		in->seen |= t->type == QT_TLV_CONNECT ? QT_SEEN_CONNECT : QT_SEEN_EXT_CONNECT;
		in->remote = t->remote;
		in->local = t->local;
		return 0;
	case QT_TLV_CONNECT_OK:
		/* Sent only on streams the peer of the sender opened, i.e. ours. */
		if (p->peer_opened)
			return HT_ERR_WRONG_SENDER;
		if (in->seen & QT_SEEN_ERROR)
			return HT_ERR_ORDER;
		if (in->seen & QT_SEEN_CONNECT_OK)
			return HT_ERR_DUPLICATE;
		in->seen |= QT_SEEN_CONNECT_OK;
		return 0;
	case QT_TLV_ERROR:
		if (!(in->seen & QT_SEEN_ERROR)) {
			in->seen |= QT_SEEN_ERROR;
			in->error_code = t->error_code;
			in->error_payload_len = (uint8_t)t->payload_len;
			if (t->payload_len > 0)
				memcpy(in->error_payload, t->payload, t->payload_len);
		}
		if (in->error_count < UINT8_MAX)
			in->error_count++;
		return 0;
	case QT_TLV_END:
		/* A header that asks for nothing (peer stream) or answers nothing
		 * (our stream) leaves the bytestream without a TCP connection. */
		if (p->peer_opened && !(in->seen & (QT_SEEN_CONNECT | QT_SEEN_EXT_CONNECT)))
			return HT_ERR_ORDER;
		if (!p->peer_opened && !(in->seen & (QT_SEEN_CONNECT_OK | QT_SEEN_ERROR)))
			return HT_ERR_ORDER;
		in->seen |= QT_SEEN_END;
		p->state = (in->seen & QT_SEEN_ERROR) ? ST_CLOSING : ST_BYTESTREAM;
		return 0;
	default:
		return HT_ERR_BAD_TYPE; /* unreachable: qt_tlv_parse() filtered it */
	}
}

/* Header bytes still missing from the partial TLV in p->buf. */
static size_t missing(const struct qt_stream_parser *p)
{
	size_t want =
	    p->have < QT_TLV_HDR_SIZE ? QT_TLV_HDR_SIZE : QT_TLV_HDR_SIZE + (size_t)p->buf[1];

	return want - p->have;
}

int qt_stream_parser_feed(struct qt_stream_parser *p, const uint8_t *data, size_t len, bool fin)
{
	size_t pos = 0;
	struct qt_tlv t;
	int r;

	if (p == NULL || (data == NULL && len > 0))
		return HT_ERR_INVAL;
	if (p->state == ST_FAILED)
		return p->err;
	if (p->state == ST_BYTESTREAM)
		return 0;
	if (p->state == ST_CLOSING)
		return len > 0 ? fail(p, HT_ERR_TRAILING) : 0;

	while (pos < len && p->state == ST_HEADER) {
		if (p->have == 0) {
			/* Common case: the whole TLV is in this read, parse in place. */
			r = qt_tlv_parse(&t, data + pos, len - pos);
			if (r == HT_ERR_NEED_MORE) {
				/* Less than one TLV (<= 256 bytes) is left. */
				memcpy(p->buf, data + pos, len - pos);
				p->have = (uint16_t)(len - pos);
				pos = len;
				break;
			}
		} else {
			size_t n = missing(p);

			if (n > len - pos)
				n = len - pos;
			memcpy(p->buf + p->have, data + pos, n);
			p->have = (uint16_t)(p->have + n);
			pos += n;
			r = qt_tlv_parse(&t, p->buf, p->have);
			if (r == HT_ERR_NEED_MORE)
				continue;
			if (r >= 0)
				r = 0; /* already advanced past the copied bytes */
			p->have = 0;
		}
		if (r < 0) {
			p->bad_type = t.type;
			return fail(p, r);
		}
		pos += (size_t)r;
		r = apply(p, &t);
		if (r < 0) {
			p->bad_type = t.type;
			return fail(p, r);
		}
	}

	switch (p->state) {
	case ST_HEADER:
		return fin ? fail(p, HT_ERR_TRUNCATED) : HT_ERR_NEED_MORE;
	case ST_CLOSING:
		return pos < len ? fail(p, HT_ERR_TRAILING) : (int)pos;
	default:
		return (int)pos;
	}
}

uint16_t qt_stream_error_code(int err)
{
	switch (err) {
	case HT_ERR_BAD_TYPE:
		return QT_ERR_UNKNOWN_TLV;
	case HT_ERR_BAD_LENGTH:
	case HT_ERR_BAD_ADDRESS:
		return QT_ERR_MALFORMED_TLV;
	default:
		return QT_ERR_PROTOCOL_VIOLATION;
	}
}

int qt_stream_write_reject(uint8_t *buf, size_t cap, const struct qt_stream_parser *p)
{
	uint16_t code;
	int n, m;

	/* On a stream we opened our own header (Connect, End) is already out:
	 * no Error TLV can follow it, the caller resets the stream instead. */
	if (buf == NULL || p == NULL || p->state != ST_FAILED || !p->peer_opened)
		return HT_ERR_INVAL;
	code = qt_stream_error_code(p->err);
	/* Size check first so that nothing is written on HT_ERR_NOBUF. */
	if (cap < (code == QT_ERR_UNKNOWN_TLV ? 5u : 4u) + QT_TLV_END_SIZE)
		return HT_ERR_NOBUF;
	n = qt_tlv_write_error(buf, cap, code, &p->bad_type, code == QT_ERR_UNKNOWN_TLV ? 1 : 0);
	if (n < 0)
		return n;
	m = qt_tlv_write_end(buf + n, cap - (size_t)n);
	return m < 0 ? m : n + m;
}
