/* hatun — TUN offloads in software (vnet.h). */
#include "proto/vnet.h"

#include <string.h>

#include "proto/err.h"
#include "proto/wire.h"

#define IPPROTO_TCP_ 6u
#define IPPROTO_UDP_ 17u
#define TCP_FIN 0x01u
#define TCP_SYN 0x02u
#define TCP_RST 0x04u
#define TCP_PSH 0x08u
#define TCP_ACK 0x10u
#define TCP_URG 0x20u
#define TCP_ECE 0x40u
#define TCP_CWR 0x80u

static uint16_t get16le(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

int ht_vnet_hdr_parse(struct ht_vnet_hdr *h, const uint8_t *buf, size_t len)
{
	if (h == NULL || buf == NULL)
		return HT_ERR_INVAL;
	if (len < HT_VNET_HDR_LEN)
		return HT_ERR_TRUNCATED;
	h->flags = buf[0];
	h->gso_type = buf[1];
	h->hdr_len = get16le(buf + 2);
	h->gso_size = get16le(buf + 4);
	h->csum_start = get16le(buf + 6);
	h->csum_offset = get16le(buf + 8);
	return HT_OK;
}

void ht_vnet_hdr_write(uint8_t *buf, const struct ht_vnet_hdr *h)
{
	buf[0] = h->flags;
	buf[1] = h->gso_type;
	put16le(buf + 2, h->hdr_len);
	put16le(buf + 4, h->gso_size);
	put16le(buf + 6, h->csum_start);
	put16le(buf + 8, h->csum_offset);
}

/* 16-bit big-endian words summed in 32-bit chunks into 64 bits: a 64 KiB
 * packet cannot overflow it, and it is about four times fewer additions
 * than word by word. */
uint32_t ht_csum_partial(const uint8_t *p, size_t n, uint32_t sum)
{
	uint64_t s = sum;

	for (; n >= 4; p += 4, n -= 4)
		s += ht_get32(p);
	if (n >= 2) {
		s += ht_get16(p);
		p += 2;
		n -= 2;
	}
	if (n == 1)
		s += (uint32_t)p[0] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16) + ((s >> 32) << 16);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

uint16_t ht_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The pseudo-header sum of RFC 793 / RFC 8200 §8.1 (not folded). */
static uint32_t pseudo_sum(const uint8_t *ip, bool v6, uint8_t proto, size_t l4len)
{
	uint32_t s;

	if (v6) {
		s = ht_csum_partial(ip + 8, 32, 0);
		s += (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff) + proto;
	} else {
		s = ht_csum_partial(ip + 12, 8, 0);
		s += (uint32_t)l4len + proto;
	}
	return s;
}

static void ipv4_fix(uint8_t *ip, size_t l3, size_t total, uint16_t id)
{
	ht_put16(ip + 2, (uint16_t)total);
	ht_put16(ip + 4, id);
	ht_put16(ip + 10, 0);
	ht_put16(ip + 10, ht_csum_fold(ht_csum_partial(ip, l3, 0)));
}

/* The IP and transport header layout of pkt.  *l3: IP header length;
 * *proto; *v6.  Checks the IP length fields against len. */
static int ip_layout(const uint8_t *pkt, size_t len, size_t *l3, uint8_t *proto, bool *v6)
{
	if (len < 1)
		return HT_ERR_TRUNCATED;
	switch (pkt[0] >> 4) {
	case 4:
		if (len < 20)
			return HT_ERR_TRUNCATED;
		*l3 = (size_t)(pkt[0] & 0x0f) * 4;
		if (*l3 < 20 || *l3 > len || ht_get16(pkt + 2) != len)
			return HT_ERR_TRUNCATED;
		if ((ht_get16(pkt + 6) & 0x3fff) != 0)
			return HT_ERR_UNSUPPORTED; /* a fragment */
		*proto = pkt[9];
		*v6 = false;
		return HT_OK;
	case 6:
		if (len < 40)
			return HT_ERR_TRUNCATED;
		if ((size_t)ht_get16(pkt + 4) + 40 != len)
			return HT_ERR_TRUNCATED;
		*l3 = 40;
		*proto = pkt[6];
		*v6 = true;
		return HT_OK;
	default:
		return HT_ERR_UNSUPPORTED;
	}
}

static int complete_partial(const struct ht_vnet_hdr *h, uint8_t *p, size_t len)
{
	size_t at = (size_t)h->csum_start + h->csum_offset;

	if (h->csum_start >= len || at + 2 > len)
		return HT_ERR_BAD_VALUE;
	/* the field holds the pseudo-header sum: sum over it and fold */
	ht_put16(p + at, ht_csum_fold(ht_csum_partial(p + h->csum_start,
						      len - h->csum_start, 0)));
	return HT_OK;
}

int ht_vnet_split(const struct ht_vnet_hdr *h, const uint8_t *pkt, size_t len, uint8_t *out,
		  size_t cap, size_t headroom, struct ht_vnet_seg *segs, size_t max_segs)
{
	size_t l3, l4, hdrs, payload, mss, nseg, i, at;
	uint8_t proto, gso;
	bool v6, tcp;
	uint32_t seq = 0;
	uint16_t id;
	int rc;

	if (h == NULL || pkt == NULL || out == NULL || segs == NULL || max_segs == 0)
		return HT_ERR_INVAL;
	gso = (uint8_t)(h->gso_type & ~HT_VNET_GSO_ECN);
	if (gso == HT_VNET_GSO_NONE) {
		if (headroom + len > cap)
			return HT_ERR_NOBUF;
		memcpy(out + headroom, pkt, len);
		if (h->flags & HT_VNET_F_NEEDS_CSUM) {
			rc = complete_partial(h, out + headroom, len);
			if (rc != HT_OK)
				return rc;
		}
		segs[0].off = headroom;
		segs[0].len = len;
		return 1;
	}
	if (gso == HT_VNET_GSO_UDP)
		return HT_ERR_UNSUPPORTED;
	if (gso != HT_VNET_GSO_TCPV4 && gso != HT_VNET_GSO_TCPV6 && gso != HT_VNET_GSO_UDP_L4)
		return HT_ERR_UNSUPPORTED;
	if (h->gso_size == 0)
		return HT_ERR_INVAL;
	rc = ip_layout(pkt, len, &l3, &proto, &v6);
	if (rc != HT_OK)
		return rc;
	tcp = gso != HT_VNET_GSO_UDP_L4;
	if ((tcp && proto != IPPROTO_TCP_) || (!tcp && proto != IPPROTO_UDP_) ||
	    (gso == HT_VNET_GSO_TCPV4 && v6) || (gso == HT_VNET_GSO_TCPV6 && !v6))
		return HT_ERR_UNSUPPORTED;
	if (tcp) {
		if (l3 + 20 > len)
			return HT_ERR_TRUNCATED;
		l4 = (size_t)(pkt[l3 + 12] >> 4) * 4;
		if (l4 < 20 || l3 + l4 > len)
			return HT_ERR_TRUNCATED;
		seq = ht_get32(pkt + l3 + 4);
	} else {
		l4 = 8;
		if (l3 + l4 > len)
			return HT_ERR_TRUNCATED;
	}
	hdrs = l3 + l4;
	payload = len - hdrs;
	mss = h->gso_size;
	nseg = payload == 0 ? 1 : (payload + mss - 1) / mss;
	if (nseg > max_segs)
		return HT_ERR_NOBUF;
	if (nseg * (headroom + hdrs) + payload > cap)
		return HT_ERR_NOBUF;
	id = v6 ? 0 : ht_get16(pkt + 4);
	at = 0;
	for (i = 0; i < nseg; i++) {
		size_t off = i * mss, n = payload - off < mss ? payload - off : mss;
		uint8_t *ip = out + at + headroom, *th = ip + l3;
		size_t l4len = l4 + n;
		uint32_t sum;

		memcpy(ip, pkt, hdrs);
		memcpy(ip + hdrs, pkt + hdrs + off, n);
		if (v6)
			ht_put16(ip + 4, (uint16_t)l4len);
		else
			ipv4_fix(ip, l3, l3 + l4len, (uint16_t)(id + i));
		if (tcp) {
			ht_put32(th + 4, seq + (uint32_t)off);
			if (i + 1 < nseg)
				th[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
			if (i > 0)
				th[13] &= (uint8_t)~TCP_CWR;
			ht_put16(th + 16, 0);
			sum = pseudo_sum(ip, v6, IPPROTO_TCP_, l4len);
			ht_put16(th + 16, ht_csum_fold(ht_csum_partial(th, l4len, sum)));
		} else {
			uint16_t c;

			ht_put16(th + 4, (uint16_t)l4len);
			ht_put16(th + 6, 0);
			sum = pseudo_sum(ip, v6, IPPROTO_UDP_, l4len);
			c = ht_csum_fold(ht_csum_partial(th, l4len, sum));
			ht_put16(th + 6, c == 0 ? 0xffff : c); /* 0 means "none" */
		}
		segs[i].off = at + headroom;
		segs[i].len = hdrs + n;
		at += headroom + hdrs + n;
	}
	return (int)nseg;
}

/* ---- GRO -------------------------------------------------------------------- */

void ht_gro_init(struct ht_gro *g, uint8_t *buf, size_t cap)
{
	memset(g, 0, sizeof(*g));
	g->buf = buf;
	g->cap = cap;
}

/* The TCP segment's layout if it can take part in a merge at all. */
static bool mergeable(const uint8_t *pkt, size_t len, size_t *l3, size_t *l4, bool *v6)
{
	uint8_t proto;

	if (ip_layout(pkt, len, l3, &proto, v6) != HT_OK || proto != IPPROTO_TCP_)
		return false;
	if (!*v6 && *l3 != 20)
		return false; /* IPv4 options */
	if (*l3 + 20 > len)
		return false;
	*l4 = (size_t)(pkt[*l3 + 12] >> 4) * 4;
	if (*l4 < 20 || *l3 + *l4 > len)
		return false;
	/* only ACK, and PSH (which ends the merge) */
	return (pkt[*l3 + 13] & (uint8_t)~(TCP_ACK | TCP_PSH)) == 0 &&
	       (pkt[*l3 + 13] & TCP_ACK) != 0;
}

/* pkt continues the pending super-packet's flow with identical headers
 * but for the fields that change per segment. */
static bool same_flow(const struct ht_gro *g, const uint8_t *pkt, size_t l3, size_t l4, bool v6)
{
	const uint8_t *p0 = g->buf + HT_VNET_HDR_LEN;

	if (v6 != g->v6 || l3 != g->l3 || l4 != g->l4)
		return false;
	if (v6) {
		/* version, class, flow label; next header, hop limit, addresses */
		if (memcmp(p0, pkt, 4) != 0 || memcmp(p0 + 6, pkt + 6, 34) != 0)
			return false;
	} else {
		/* version/IHL, TOS; flags (DF); TTL, protocol; addresses */
		if (p0[0] != pkt[0] || p0[1] != pkt[1] || p0[6] != pkt[6] ||
		    memcmp(p0 + 8, pkt + 8, 2) != 0 || memcmp(p0 + 12, pkt + 12, 8) != 0)
			return false;
	}
	/* ports; ack; data offset; window; urgent; options */
	return memcmp(p0 + l3, pkt + l3, 4) == 0 && memcmp(p0 + l3 + 8, pkt + l3 + 8, 5) == 0 &&
	       memcmp(p0 + l3 + 14, pkt + l3 + 14, 2) == 0 &&
	       memcmp(p0 + l3 + 18, pkt + l3 + 18, l4 - 18) == 0;
}

int ht_gro_add(struct ht_gro *g, const uint8_t *pkt, size_t len)
{
	size_t l3, l4, n;
	bool v6;
	uint8_t *p0 = g->buf + HT_VNET_HDR_LEN;

	if (!mergeable(pkt, len, &l3, &l4, &v6))
		return g->count > 0 ? 0 : HT_ERR_UNSUPPORTED;
	n = len - l3 - l4;
	if (g->count == 0) {
		if (n == 0 || HT_VNET_HDR_LEN + len > g->cap)
			return HT_ERR_UNSUPPORTED; /* pure ACKs: nothing to merge */
		memcpy(p0, pkt, len);
		g->len = len;
		g->count = 1;
		g->l3 = (unsigned)l3;
		g->l4 = (unsigned)l4;
		g->v6 = v6;
		g->mss = (uint16_t)n;
		g->next_seq = ht_get32(pkt + l3 + 4) + (uint32_t)n;
		g->closed = (pkt[l3 + 13] & TCP_PSH) != 0;
		return 1;
	}
	if (g->closed || n == 0 || n > g->mss || g->count >= HT_VNET_MAX_SEGS ||
	    g->len + n > 65535 || HT_VNET_HDR_LEN + g->len + n > g->cap ||
	    ht_get32(pkt + l3 + 4) != g->next_seq || !same_flow(g, pkt, l3, l4, v6))
		return 0;
	memcpy(p0 + g->len, pkt + l3 + l4, n);
	g->len += n;
	g->count++;
	g->next_seq += (uint32_t)n;
	if (pkt[l3 + 13] & TCP_PSH) {
		p0[l3 + 13] |= TCP_PSH;
		g->closed = true;
	}
	if (n < g->mss)
		g->closed = true;
	return 1;
}

size_t ht_gro_finish(struct ht_gro *g)
{
	struct ht_vnet_hdr h = {0};
	uint8_t *ip = g->buf + HT_VNET_HDR_LEN;
	size_t out;

	if (g->count == 0)
		return 0;
	if (g->count > 1) {
		size_t l4len = g->len - g->l3;

		if (g->v6)
			ht_put16(ip + 4, (uint16_t)l4len);
		else
			ipv4_fix(ip, g->l3, g->len, ht_get16(ip + 4));
		/* CHECKSUM_PARTIAL: the kernel (or the NIC) finishes it */
		ht_put16(ip + g->l3 + 16,
			 (uint16_t)~ht_csum_fold(pseudo_sum(ip, g->v6, IPPROTO_TCP_, l4len)));
		h.flags = HT_VNET_F_NEEDS_CSUM;
		h.gso_type = (uint8_t)(g->v6 ? HT_VNET_GSO_TCPV6 : HT_VNET_GSO_TCPV4);
		h.hdr_len = (uint16_t)(g->l3 + g->l4);
		h.gso_size = g->mss;
		h.csum_start = (uint16_t)g->l3;
		h.csum_offset = 16;
	}
	ht_vnet_hdr_write(g->buf, &h);
	out = HT_VNET_HDR_LEN + g->len;
	g->len = 0;
	g->count = 0;
	g->closed = false;
	return out;
}
