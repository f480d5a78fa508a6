/* hatun — IP packet helpers for datagram mode (ippkt.h). */
#include "tunnel/ippkt.h"

#include <string.h>

#include "proto/err.h"
#include "proto/icmp.h"

#define PROTO_TCP 6
#define PROTO_ICMP 1
#define PROTO_ICMPV6 58
#define TCP_OPT_MSS 2

static const uint8_t MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int ht_ippkt_addrs(const uint8_t *pkt, size_t len, uint8_t src[16], uint8_t dst[16])
{
	if (len >= 20 && pkt[0] >> 4 == 4) {
		memcpy(src, MAPPED, 12);
		memcpy(dst, MAPPED, 12);
		memcpy(src + 12, pkt + 12, 4);
		memcpy(dst + 12, pkt + 16, 4);
		return 4;
	}
	if (len >= 40 && pkt[0] >> 4 == 6) {
		memcpy(src, pkt + 8, 16);
		memcpy(dst, pkt + 24, 16);
		return 6;
	}
	return 0;
}

uint16_t ht_ippkt_csum(const uint8_t *buf, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)buf[i] << 8 | buf[i + 1];
	if (i < len)
		sum += (uint32_t)buf[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#define PROTO_UDP 17
#define ETH_HLEN 14

/* FNV-1a, 32 bits. */
static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

uint32_t ht_ippkt_flow_hash(const uint8_t *pkt, size_t len, bool ether)
{
	uint32_t h = 2166136261u;
	size_t off;
	uint8_t proto;

	if (ether) {
		uint16_t type;

		if (len < ETH_HLEN)
			return 0;
		type = (uint16_t)(pkt[12] << 8 | pkt[13]);
		if (type != 0x0800 && type != 0x86dd) {
			h = fnv(h, pkt, ETH_HLEN); /* the MAC pair and EtherType */
			return h != 0 ? h : 1;
		}
		pkt += ETH_HLEN;
		len -= ETH_HLEN;
	}
	if (len >= 20 && pkt[0] >> 4 == 4) {
		off = (size_t)(pkt[0] & 0xf) * 4;
		proto = pkt[9];
		h = fnv(h, pkt + 12, 8);
		if ((pkt[6] & 0x1f) != 0 || pkt[7] != 0 || off < 20)
			off = len; /* a non-first fragment (or a bad header): no ports */
	} else if (len >= 40 && pkt[0] >> 4 == 6) {
		off = 40;
		proto = pkt[6];
		h = fnv(h, pkt + 8, 32);
	} else {
		return 0;
	}
	h = fnv(h, &proto, 1);
	if ((proto == PROTO_TCP || proto == PROTO_UDP) && off + 4 <= len)
		h = fnv(h, pkt + off, 4);
	return h != 0 ? h : 1;
}

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10
#define TCP_URG 0x20

bool ht_ippkt_tcp_pure_ack(const uint8_t *pkt, size_t len, bool ether)
{
	size_t ip_len, off, doff;

	if (ether) {
		uint16_t type = len >= ETH_HLEN ? (uint16_t)(pkt[12] << 8 | pkt[13]) : 0;

		if (type != 0x0800 && type != 0x86dd)
			return false;
		pkt += ETH_HLEN;
		len -= ETH_HLEN;
	}
	if (len >= 20 && pkt[0] >> 4 == 4) {
		off = (size_t)(pkt[0] & 0xf) * 4;
		ip_len = (size_t)pkt[2] << 8 | pkt[3];
		if (pkt[9] != PROTO_TCP || (pkt[6] & 0x3f) != 0 || pkt[7] != 0 || off < 20)
			return false;
	} else if (len >= 40 && pkt[0] >> 4 == 6) {
		off = 40;
		ip_len = 40 + ((size_t)pkt[4] << 8 | pkt[5]);
		if (pkt[6] != PROTO_TCP)
			return false;
	} else {
		return false;
	}
	if (ip_len > len || off + 20 > ip_len)
		return false;
	doff = (size_t)(pkt[off + 12] >> 4) * 4;
	return doff >= 20 && off + doff == ip_len && (pkt[off + 13] & TCP_ACK) &&
	       !(pkt[off + 13] & (TCP_FIN | TCP_SYN | TCP_RST | TCP_URG));
}

/* The TCP header of pkt (no extension headers, first fragment only), or NULL. */
static uint8_t *tcp_of(uint8_t *pkt, size_t len, size_t *tlen, int *v)
{
	size_t off;

	if (len >= 20 && pkt[0] >> 4 == 4) {
		off = (size_t)(pkt[0] & 0xf) * 4;
		/* Not a fragment: MF clear and offset 0; a header length below
		 * 20 would put "TCP" inside the IP header (found by fuzz_ippkt:
		 * the clamp then broke the pseudo-header's checksum). */
		if (pkt[9] != PROTO_TCP || (pkt[6] & 0x3f) != 0 || pkt[7] != 0 || off < 20)
			return NULL;
		*v = 4;
	} else if (len >= 40 && pkt[0] >> 4 == 6) {
		off = 40;
		if (pkt[6] != PROTO_TCP)
			return NULL;
		*v = 6;
	} else {
		return NULL;
	}
	if (off + 20 > len)
		return NULL;
	*tlen = len - off;
	return pkt + off;
}

/* RFC 1624: HC' = ~(~HC + ~m + m'). */
static void csum_replace16(uint8_t *csum, uint16_t old, uint16_t new)
{
	uint32_t s = (uint16_t)~((uint32_t)csum[0] << 8 | csum[1]);

	s += (uint16_t)~old;
	s += new;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	s = (uint16_t)~s;
	csum[0] = (uint8_t)(s >> 8);
	csum[1] = (uint8_t)s;
}

bool ht_ippkt_clamp_mss(uint8_t *pkt, size_t len, unsigned mtu)
{
	size_t tlen, hlen;
	int v = 0;
	uint8_t *t = tcp_of(pkt, len, &tlen, &v);
	unsigned limit;

	if (t == NULL || !(t[13] & 0x02)) /* SYN */
		return false;
	limit = mtu - (v == 4 ? 40u : 60u);
	hlen = (size_t)(t[12] >> 4) * 4;
	if (hlen < 20 || hlen > tlen)
		return false;
	for (size_t i = 20; i < hlen;) {
		uint8_t kind = t[i];

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= hlen || t[i + 1] < 2 || i + t[i + 1] > hlen)
			break;
		if (kind == TCP_OPT_MSS && t[i + 1] == 4) {
			uint16_t mss = (uint16_t)(t[i + 2] << 8 | t[i + 3]);

			if (mss <= limit)
				return false;
			t[i + 2] = (uint8_t)(limit >> 8);
			t[i + 3] = (uint8_t)limit;
			/* The checksum sums 16-bit words from the TCP header's
			 * start: the value is one word, or straddles two. */
			if ((i + 2) % 2 == 0) {
				csum_replace16(t + 16, mss, (uint16_t)limit);
			} else {
				uint8_t next = i + 4 < tlen ? t[i + 4] : 0;

				csum_replace16(t + 16, (uint16_t)(t[i + 1] << 8 | (mss >> 8)),
					       (uint16_t)(t[i + 1] << 8 | (limit >> 8)));
				csum_replace16(t + 16, (uint16_t)((mss & 0xff) << 8 | next),
					       (uint16_t)((limit & 0xff) << 8 | next));
			}
			return true;
		}
		i += t[i + 1];
	}
	return false;
}

int ht_ippkt_too_big(uint8_t *out, size_t cap, const uint8_t *pkt, size_t len, unsigned mtu,
		     const uint8_t self[16])
{
	uint8_t src[16], dst[16];
	int v = ht_ippkt_addrs(pkt, len, src, dst), n;
	size_t ih = v == 6 ? 40 : 20;

	if (v == 0 || cap < ih + ICMP_HDR_SIZE)
		return v == 0 ? 0 : HT_ERR_NOBUF;
	if (v == 4) {
		size_t ihl = (size_t)(pkt[0] & 0xf) * 4;

		if (!(pkt[6] & 0x40) || (pkt[6] & 0x1f) != 0 || pkt[7] != 0)
			return 0; /* no DF, or not the first fragment */
		if (pkt[9] == PROTO_ICMP && ihl < len && pkt[ihl] != 0 && pkt[ihl] != 8)
			return 0; /* an ICMP error (anything but echo) */
		n = icmp_build(out + ih, cap - ih, 576 - 20, 4, ICMP4_DEST_UNREACH,
			       ICMP4_FRAG_NEEDED, mtu & 0xffff, pkt, len, NULL, NULL);
		if (n < 0)
			return n;
		memset(out, 0, 20);
		out[0] = 0x45;
		out[2] = (uint8_t)((20 + n) >> 8);
		out[3] = (uint8_t)(20 + n);
		out[6] = 0x40; /* DF */
		out[8] = 64;
		out[9] = PROTO_ICMP;
		memcpy(out + 12, self + 12, 4);
		memcpy(out + 16, src + 12, 4);
		n += 20;
		uint16_t c = ht_ippkt_csum(out, 20, 0);

		out[10] = (uint8_t)(c >> 8);
		out[11] = (uint8_t)c;
		return n;
	}
	if (pkt[6] == PROTO_ICMPV6 && len > 40 && pkt[40] < 128)
		return 0; /* an ICMPv6 error */
	n = icmp_build(out + 40, cap - 40, 1280 - 40, 6, ICMP6_PACKET_TOO_BIG, 0, mtu, pkt, len,
		       self, src);
	if (n < 0)
		return n;
	memset(out, 0, 40);
	out[0] = 0x60;
	out[4] = (uint8_t)(n >> 8);
	out[5] = (uint8_t)n;
	out[6] = PROTO_ICMPV6;
	out[7] = 64;
	memcpy(out + 8, self, 16);
	memcpy(out + 24, src, 16);
	return n + 40;
}
