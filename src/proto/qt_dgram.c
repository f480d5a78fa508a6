/* hatun — QUIC tunnel datagram payloads.  See qt_dgram.h. */
#include "qt_dgram.h"

#include <string.h>

#include "err.h"
#include "wire.h"

size_t qt_dgram_hdr_size(enum qt_dgram_profile profile)
{
	return profile == QT_DGRAM_TAGGED ? QT_DGRAM_HDR_SIZE : 0;
}

int qt_dgram_profile_from_alpn(const uint8_t *alpn, size_t len)
{
	if (alpn == NULL)
		return HT_ERR_UNSUPPORTED;
	if (len == 5 && memcmp(alpn, "qt-00", 5) == 0)
		return QT_DGRAM_RAW;
	if ((len == 5 && memcmp(alpn, "qt-01", 5) == 0) || (len == 2 && memcmp(alpn, "qt", 2) == 0))
		return QT_DGRAM_TAGGED;
	return HT_ERR_UNSUPPORTED;
}

/* The datagram must be exactly one packet: no shorter than its header says
 * (it would be cut), no longer (a tunnel endpoint would have to guess what
 * the extra bytes are; the kernel would silently trim them). */
static int check_ipv4(const uint8_t *p, size_t len)
{
	size_t ihl, total;

	if (len < QT_IPV4_MIN_HDR)
		return HT_ERR_TRUNCATED;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	total = ht_get16(p + 2);
	if (ihl < QT_IPV4_MIN_HDR || ihl > len || total < ihl || total > len)
		return HT_ERR_TRUNCATED;
	return total < len ? HT_ERR_TRAILING : HT_OK;
}

static int check_ipv6(const uint8_t *p, size_t len)
{
	size_t total;

	if (len < QT_IPV6_HDR)
		return HT_ERR_TRUNCATED;
	/* Jumbograms (Payload Length 0) cannot fit a QUIC datagram. */
	total = QT_IPV6_HDR + ht_get16(p + 4);
	if (total > len)
		return HT_ERR_TRUNCATED;
	return total < len ? HT_ERR_TRAILING : HT_OK;
}

static int check_payload(uint16_t proto, const uint8_t *p, size_t len)
{
	switch (proto) {
	case QT_ETHERTYPE_IPV4:
		if (len > 0 && (p[0] >> 4) != 4)
			return HT_ERR_MISMATCH;
		return check_ipv4(p, len);
	case QT_ETHERTYPE_IPV6:
		if (len > 0 && (p[0] >> 4) != 6)
			return HT_ERR_MISMATCH;
		return check_ipv6(p, len);
	case QT_ETHERTYPE_TEB:
		return len < QT_ETH_HDR ? HT_ERR_TRUNCATED : HT_OK;
	default:
		return HT_ERR_UNSUPPORTED;
	}
}

int qt_dgram_parse(struct qt_dgram *d, enum qt_dgram_profile profile, const uint8_t *buf,
                   size_t len)
{
	if (d == NULL || (buf == NULL && len > 0))
		return HT_ERR_INVAL;
	memset(d, 0, sizeof(*d));
	switch (profile) {
	case QT_DGRAM_RAW:
		if (len < 1)
			return HT_ERR_TRUNCATED;
		switch (buf[0] >> 4) {
		case 4:
			d->proto = QT_ETHERTYPE_IPV4;
			break;
		case 6:
			d->proto = QT_ETHERTYPE_IPV6;
			break;
		default:
			return HT_ERR_BAD_VERSION;
		}
		d->pkt = buf;
		d->pkt_len = len;
		break;
	case QT_DGRAM_TAGGED:
		if (len < QT_DGRAM_HDR_SIZE)
			return HT_ERR_TRUNCATED;
		d->proto = ht_get16(buf);
		d->tag = ht_get16(buf + 2);
		d->pkt = buf + QT_DGRAM_HDR_SIZE;
		d->pkt_len = len - QT_DGRAM_HDR_SIZE;
		break;
	default:
		return HT_ERR_INVAL;
	}
	return check_payload(d->proto, d->pkt, d->pkt_len);
}

int qt_dgram_encap(uint8_t *frame, size_t headroom, uint16_t proto, uint16_t tag)
{
	uint8_t *h;

	if (frame == NULL || headroom > (size_t)INT32_MAX)
		return HT_ERR_INVAL;
	if (headroom < QT_DGRAM_HDR_SIZE)
		return HT_ERR_NOBUF;
	h = frame + headroom - QT_DGRAM_HDR_SIZE;
	ht_put16(h, proto);
	ht_put16(h + 2, tag);
	return (int)(headroom - QT_DGRAM_HDR_SIZE);
}
