#include "icmp.h"

#include <string.h>

#include "err.h"
#include "wire.h"

static int is_error_type(int family, uint8_t type)
{
	if (family == 4)
		return type == ICMP4_DEST_UNREACH || type == ICMP4_SOURCE_QUENCH ||
		       type == ICMP4_REDIRECT || type == ICMP4_TIME_EXCEEDED ||
		       type == ICMP4_PARAM_PROBLEM;
	/* ICMPv6 error messages are types 0-127 (RFC 4443 §2.1); 1-4 defined. */
	return type >= ICMP6_DEST_UNREACH && type <= ICMP6_PARAM_PROBLEM;
}

int icmp_parse(struct icmp_msg *out, int family, const uint8_t *buf, size_t len)
{
	if (out == NULL || (buf == NULL && len > 0) || (family != 4 && family != 6))
		return HT_ERR_INVAL;
	if (len < ICMP_HDR_SIZE)
		return HT_ERR_TRUNCATED;
	if (!is_error_type(family, buf[0]))
		return HT_ERR_BAD_TYPE;
	out->family = family;
	out->type = buf[0];
	out->code = buf[1];
	out->info = ht_get32(buf + 4);
	out->quoted = len > ICMP_HDR_SIZE ? buf + ICMP_HDR_SIZE : NULL;
	out->quoted_len = len - ICMP_HDR_SIZE;
	return (int)len;
}

enum icmp_reason icmp_reason(const struct icmp_msg *m)
{
	if (m->family == 4) {
		if (m->type == ICMP4_TIME_EXCEEDED)
			return ICMP_REASON_TTL;
		if (m->type != ICMP4_DEST_UNREACH)
			return ICMP_REASON_OTHER;
		switch (m->code) {
		case ICMP4_NET_UNREACH:
		case 6: /* destination network unknown */
		case 11: /* network unreachable for ToS */
			return ICMP_REASON_NET_UNREACH;
		case ICMP4_HOST_UNREACH:
		case 7: /* destination host unknown */
		case 12: /* host unreachable for ToS */
			return ICMP_REASON_HOST_UNREACH;
		case ICMP4_PROT_UNREACH:
		case ICMP4_PORT_UNREACH:
			return ICMP_REASON_REFUSED;
		case ICMP4_NET_PROHIBITED:
		case ICMP4_HOST_PROHIBITED:
		case ICMP4_ADMIN_PROHIBITED:
			return ICMP_REASON_PROHIBITED;
		default:
			return ICMP_REASON_OTHER;
		}
	}
	if (m->type == ICMP6_TIME_EXCEEDED)
		return ICMP_REASON_TTL;
	if (m->type != ICMP6_DEST_UNREACH)
		return ICMP_REASON_OTHER;
	switch (m->code) {
	case ICMP6_NO_ROUTE:
	case ICMP6_REJECT_ROUTE:
		return ICMP_REASON_NET_UNREACH;
	case ICMP6_ADDR_UNREACH:
	case ICMP6_BEYOND_SCOPE:
		return ICMP_REASON_HOST_UNREACH;
	case ICMP6_PORT_UNREACH:
		return ICMP_REASON_REFUSED;
	case ICMP6_ADMIN_PROHIBITED:
	case 5: /* source address failed ingress/egress policy */
		return ICMP_REASON_PROHIBITED;
	default:
		return ICMP_REASON_OTHER;
	}
}

/* RFC 1071 one's-complement sum, continued from sum. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (; n >= 2; p += 2, n -= 2)
		sum += ht_get16(p);
	if (n == 1)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int icmp_build(uint8_t *buf, size_t cap, size_t max_len, int family, uint8_t type,
	       uint8_t code, uint32_t info, const uint8_t *quoted, size_t quoted_len,
	       const uint8_t *src, const uint8_t *dst)
{
	size_t n;
	uint32_t sum = 0;

	if (buf == NULL || (family != 4 && family != 6) || (quoted == NULL && quoted_len > 0) ||
	    (family == 6 && (src == NULL || dst == NULL)) || max_len < ICMP_HDR_SIZE)
		return HT_ERR_INVAL;
	if (cap < ICMP_HDR_SIZE)
		return HT_ERR_NOBUF;
	n = quoted_len;
	if (n > max_len - ICMP_HDR_SIZE)
		n = max_len - ICMP_HDR_SIZE;
	if (n > cap - ICMP_HDR_SIZE)
		return HT_ERR_NOBUF;
	if (n > 0)
		memmove(buf + ICMP_HDR_SIZE, quoted, n);
	buf[0] = type;
	buf[1] = code;
	ht_put16(buf + 2, 0);
	ht_put32(buf + 4, info);
	n += ICMP_HDR_SIZE;
	if (family == 6) {
		uint8_t tail[8] = {0};

		/* Pseudo-header: src, dst, upper-layer length, next header 58. */
		sum = csum_add(sum, src, 16);
		sum = csum_add(sum, dst, 16);
		ht_put32(tail, (uint32_t)n);
		tail[7] = 58;
		sum = csum_add(sum, tail, sizeof(tail));
	}
	sum = csum_add(sum, buf, n);
	ht_put16(buf + 2, csum_fold(sum));
	return (int)n;
}

int icmp_build_quote_tcp(uint8_t *buf, size_t cap, int family, const uint8_t src[16],
			 const uint8_t dst[16], uint16_t sport, uint16_t dport,
			 const uint8_t *tcp8)
{
	size_t iplen = family == 4 ? 20 : 40;
	uint8_t *t;

	if (buf == NULL || src == NULL || dst == NULL || (family != 4 && family != 6))
		return HT_ERR_INVAL;
	if (cap < iplen + 8)
		return HT_ERR_NOBUF;
	memset(buf, 0, iplen);
	if (family == 4) {
		buf[0] = 0x45;
		ht_put16(buf + 2, 20 + 20); /* a bare SYN: IP + minimal TCP header */
		buf[8] = 64;                /* TTL */
		buf[9] = 6;                 /* TCP */
		memcpy(buf + 12, src + 12, 4);
		memcpy(buf + 16, dst + 12, 4);
		ht_put16(buf + 10, csum_fold(csum_add(0, buf, 20)));
	} else {
		buf[0] = 0x60;
		ht_put16(buf + 4, 20); /* payload length */
		buf[6] = 6;            /* next header: TCP */
		buf[7] = 64;           /* hop limit */
		memcpy(buf + 8, src, 16);
		memcpy(buf + 24, dst, 16);
	}
	t = buf + iplen;
	if (tcp8 != NULL) {
		memcpy(t, tcp8, 8);
	} else {
		ht_put16(t, sport);
		ht_put16(t + 2, dport);
		ht_put32(t + 4, 0);
	}
	return (int)(iplen + 8);
}
