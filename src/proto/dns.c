/* hatun — minimal DNS stub codec (see dns.h). */
#include <string.h>

#include "proto/addr.h"
#include "proto/dns.h"
#include "proto/err.h"
#include "proto/wire.h"

/* Header flag bits (RFC 1035 §4.1.1), in the 16-bit flags word. */
#define DNS_F_QR 0x8000u
#define DNS_F_OPCODE 0x7800u
#define DNS_F_TC 0x0200u
#define DNS_F_RD 0x0100u
#define DNS_F_RCODE 0x000fu

#define DNS_RR_FIXED 10u /* TYPE CLASS TTL RDLENGTH */

static bool bad_text_byte(uint8_t c)
{
	return c < 0x20 || c == 0x7f; /* NUL and the control characters */
}

int dns_name_encode(uint8_t *out, size_t cap, const char *name, size_t name_len)
{
	const uint8_t *s = (const uint8_t *)name;
	size_t o = 0, i = 0;

	if (out == NULL || name == NULL)
		return HT_ERR_INVAL;
	if (name_len == 0)
		return HT_ERR_BAD_LENGTH;
	/* One trailing dot is the root label made explicit. */
	if (s[name_len - 1] == '.')
		name_len--;
	if (name_len == 0)
		return HT_ERR_BAD_LENGTH; /* "." alone: the root is no host name */
	while (i <= name_len) {
		size_t start = i, n;

		while (i < name_len && s[i] != '.') {
			if (bad_text_byte(s[i]))
				return HT_ERR_BAD_VALUE;
			i++;
		}
		n = i - start;
		if (n == 0)
			return HT_ERR_BAD_LENGTH;
		if (n > DNS_LABEL_MAX)
			return HT_ERR_BAD_LENGTH;
		/* The label, and at least the root label after it. */
		if (o + 1 + n + 1 > DNS_NAME_MAX)
			return HT_ERR_TOO_LONG;
		if (o + 1 + n + 1 > cap)
			return HT_ERR_NOBUF;
		out[o++] = (uint8_t)n;
		memcpy(out + o, s + start, n);
		o += n;
		i++; /* past the dot, or past the end */
	}
	out[o++] = 0;
	return (int)o;
}

int dns_name_unpack(const uint8_t *msg, size_t len, size_t off, uint8_t out[DNS_NAME_MAX],
                    size_t *out_len)
{
	size_t pos = off, run = off, o = 0, used = 0;
	unsigned ptrs = 0;

	if (msg == NULL || out == NULL || out_len == NULL)
		return HT_ERR_INVAL;
	*out_len = 0;
	for (;;) {
		uint8_t b;

		if (pos >= len)
			return HT_ERR_TRUNCATED;
		b = msg[pos];
		if ((b & 0xc0u) == 0xc0u) {
			size_t target;

			if (pos + 2 > len)
				return HT_ERR_TRUNCATED;
			target = (size_t)ht_get16(msg + pos) & 0x3fffu;
			/* Strictly before the run this pointer ends: every jump
			 * goes backwards, so the walk terminates. */
			if (target >= run || target < DNS_HEADER_SIZE)
				return HT_ERR_BAD_VALUE;
			if (++ptrs > DNS_PTR_MAX)
				return HT_ERR_BAD_VALUE;
			if (used == 0)
				used = pos + 2 - off;
			pos = run = target;
			continue;
		}
		if ((b & 0xc0u) != 0)
			return HT_ERR_BAD_VALUE; /* 01 (EDNS0 extended) / 10: reserved */
		if (pos + 1 + b > len)
			return HT_ERR_TRUNCATED;
		if (o + 1 + b > DNS_NAME_MAX)
			return HT_ERR_TOO_LONG;
		memcpy(out + o, msg + pos, 1 + (size_t)b);
		o += 1 + (size_t)b;
		pos += 1 + (size_t)b;
		if (b == 0)
			break;
	}
	if (used == 0)
		used = pos - off;
	*out_len = o;
	return (int)used;
}

int dns_name_to_text(char *out, size_t cap, const uint8_t *wire, size_t wire_len)
{
	size_t i = 0, o = 0;

	if (out == NULL || wire == NULL)
		return HT_ERR_INVAL;
	if (cap == 0)
		return HT_ERR_NOBUF;
	for (;;) {
		uint8_t n;

		if (i >= wire_len)
			return HT_ERR_BAD_VALUE;
		n = wire[i++];
		if (n == 0)
			break;
		if (n > DNS_LABEL_MAX || n > wire_len - i)
			return HT_ERR_BAD_VALUE;
		if (o > 0) {
			if (o + 1 >= cap)
				return HT_ERR_NOBUF;
			out[o++] = '.';
		}
		for (uint8_t k = 0; k < n; k++, i++) {
			uint8_t c = wire[i];

			if (c == '.' || bad_text_byte(c)) {
				if (o + 4 >= cap)
					return HT_ERR_NOBUF;
				out[o++] = '\\';
				out[o++] = (char)('0' + c / 100);
				out[o++] = (char)('0' + c / 10 % 10);
				out[o++] = (char)('0' + c % 10);
			} else {
				if (o + 1 >= cap)
					return HT_ERR_NOBUF;
				out[o++] = (char)c;
			}
		}
	}
	if (i != wire_len || wire_len > DNS_NAME_MAX)
		return HT_ERR_BAD_VALUE;
	if (o == 0) {
		if (cap < 2)
			return HT_ERR_NOBUF;
		out[o++] = '.';
	}
	out[o] = '\0';
	return (int)o;
}

int dns_query_build(uint8_t *buf, size_t cap, uint16_t id, const char *name, size_t name_len,
                    uint16_t qtype, bool tcp_framing)
{
	uint8_t qname[DNS_NAME_MAX];
	size_t pre = tcp_framing ? DNS_TCP_PREFIX : 0, total;
	uint8_t *p;
	int n;

	if (buf == NULL || (qtype != DNS_TYPE_A && qtype != DNS_TYPE_AAAA))
		return HT_ERR_INVAL;
	n = dns_name_encode(qname, sizeof(qname), name, name_len);
	if (n < 0)
		return n;
	total = pre + DNS_HEADER_SIZE + (size_t)n + 4;
	if (total > cap)
		return HT_ERR_NOBUF;
	p = buf;
	if (tcp_framing)
		p = ht_put16(p, (uint16_t)(total - pre));
	p = ht_put16(p, id);
	p = ht_put16(p, DNS_F_RD);
	p = ht_put16(p, 1); /* QDCOUNT */
	p = ht_put16(p, 0); /* ANCOUNT */
	p = ht_put16(p, 0); /* NSCOUNT */
	p = ht_put16(p, 0); /* ARCOUNT */
	memcpy(p, qname, (size_t)n);
	p += n;
	p = ht_put16(p, qtype);
	ht_put16(p, DNS_CLASS_IN);
	return (int)total;
}

int dns_tcp_frame_len(const uint8_t *buf, size_t len)
{
	size_t n;

	if (buf == NULL && len > 0)
		return HT_ERR_INVAL;
	if (len < DNS_TCP_PREFIX)
		return HT_ERR_NEED_MORE;
	n = ht_get16(buf);
	if (n < DNS_HEADER_SIZE)
		return HT_ERR_BAD_LENGTH;
	if (len < DNS_TCP_PREFIX + n)
		return HT_ERR_NEED_MORE;
	return (int)(DNS_TCP_PREFIX + n);
}

/* Wire names, ASCII case-insensitively (RFC 4343); label length bytes are
 * below 'A' and compare as themselves. */
static bool name_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		uint8_t x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y + 32);
		if (x != y)
			return false;
	}
	return true;
}

/* RFC 2181 §8: a TTL with the top bit set is treated as zero. */
static uint32_t rr_ttl(const uint8_t *p)
{
	uint32_t t = ht_get32(p);

	return t > 0x7fffffffu ? 0 : t;
}

/* One pass over the answer section at msg[off], ancount records: collect the
 * addresses of qtype owned by cur (into out, from scratch) and find the first
 * CNAME owned by cur (its target into next, *found).  Every record is
 * checked the same way in every pass, so the first pass finds any error. */
static int answer_pass(const uint8_t *msg, size_t len, size_t off, unsigned ancount, uint16_t qtype,
                       const uint8_t *cur, size_t cur_len, struct dns_answer *out, uint32_t *ttl,
                       uint8_t next[DNS_NAME_MAX], size_t *next_len, bool *found)
{
	uint32_t cname_ttl = 0;

	*found = false;
	out->naddr = 0;
	out->naddr_seen = 0;
	*ttl = UINT32_MAX; /* the CNAME's if found, else the addresses' minimum */
	for (unsigned i = 0; i < ancount; i++) {
		uint8_t owner[DNS_NAME_MAX], target[DNS_NAME_MAX];
		size_t owner_len, target_len, rdlen;
		uint16_t type, class;
		uint32_t t;
		bool mine;
		int n = dns_name_unpack(msg, len, off, owner, &owner_len);

		if (n < 0)
			return n;
		off += (size_t)n;
		if (len - off < DNS_RR_FIXED)
			return HT_ERR_TRUNCATED;
		type = ht_get16(msg + off);
		class = ht_get16(msg + off + 2);
		t = rr_ttl(msg + off + 4);
		rdlen = ht_get16(msg + off + 8);
		off += DNS_RR_FIXED;
		if (len - off < rdlen)
			return HT_ERR_TRUNCATED;
		if (class != DNS_CLASS_IN) {
			off += rdlen;
			continue;
		}
		mine = name_eq(owner, owner_len, cur, cur_len);
		if (type == DNS_TYPE_CNAME) {
			n = dns_name_unpack(msg, off + rdlen, off, target, &target_len);
			if (n == HT_ERR_TRUNCATED || (n >= 0 && (size_t)n != rdlen))
				return HT_ERR_BAD_LENGTH;
			if (n < 0)
				return n;
			if (mine && !*found) {
				cname_ttl = t;
				/* A name with a CNAME has no other data (RFC 1034
				 * §3.6.2): the CNAME wins over addresses. */
				*found = true;
				memcpy(next, target, target_len);
				*next_len = target_len;
			}
		} else if (type == DNS_TYPE_A || type == DNS_TYPE_AAAA) {
			if (rdlen != (type == DNS_TYPE_A ? 4u : 16u))
				return HT_ERR_BAD_LENGTH;
			if (mine && type == qtype) {
				if (out->naddr < DNS_ADDR_MAX) {
					if (type == DNS_TYPE_A)
						ht_addr_map_v4(out->addr[out->naddr], msg + off);
					else
						memcpy(out->addr[out->naddr], msg + off, 16);
					out->naddr++;
				}
				out->naddr_seen++;
				if (t < *ttl)
					*ttl = t;
			}
		}
		off += rdlen;
	}
	if (*found) {
		out->naddr = out->naddr_seen = 0;
		*ttl = cname_ttl;
	}
	return HT_OK;
}

int dns_response_parse(const uint8_t *msg, size_t len, uint16_t id, const char *name,
                       size_t name_len, uint16_t qtype, struct dns_answer *out)
{
	uint8_t qname[DNS_NAME_MAX], got[DNS_NAME_MAX], cur[DNS_NAME_MAX], next[DNS_NAME_MAX];
	size_t qname_len, got_len, cur_len, next_len = 0, off;
	unsigned flags, qdcount, ancount;
	uint32_t chain_ttl = UINT32_MAX;
	int n;

	if (out == NULL)
		return HT_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (msg == NULL || (qtype != DNS_TYPE_A && qtype != DNS_TYPE_AAAA))
		return HT_ERR_INVAL;
	n = dns_name_encode(qname, sizeof(qname), name, name_len);
	if (n < 0)
		return HT_ERR_INVAL;
	qname_len = (size_t)n;

	if (len < DNS_HEADER_SIZE)
		return HT_ERR_TRUNCATED;
	flags = ht_get16(msg + 2);
	out->rcode = (uint8_t)(flags & DNS_F_RCODE);
	if (!(flags & DNS_F_QR) || (flags & DNS_F_OPCODE) != 0)
		return HT_ERR_BAD_VALUE;
	if (ht_get16(msg) != id)
		return HT_ERR_MISMATCH;
	if (flags & DNS_F_TC) {
		out->result = DNS_RESULT_TRUNCATED;
		return HT_OK;
	}
	qdcount = ht_get16(msg + 4);
	ancount = ht_get16(msg + 6);
	/* FORMERR, REFUSED and friends may come without the question. */
	if (qdcount == 0 && out->rcode != DNS_RCODE_NOERROR && out->rcode != DNS_RCODE_NXDOMAIN) {
		out->result = DNS_RESULT_FAILURE;
		return HT_OK;
	}
	if (qdcount != 1)
		return HT_ERR_BAD_VALUE;

	n = dns_name_unpack(msg, len, DNS_HEADER_SIZE, got, &got_len);
	if (n < 0)
		return n;
	off = DNS_HEADER_SIZE + (size_t)n;
	if (len - off < 4)
		return HT_ERR_TRUNCATED;
	if (!name_eq(got, got_len, qname, qname_len) || ht_get16(msg + off) != qtype ||
	    ht_get16(msg + off + 2) != DNS_CLASS_IN)
		return HT_ERR_MISMATCH;
	off += 4;

	if (out->rcode == DNS_RCODE_NXDOMAIN) {
		out->result = DNS_RESULT_NXDOMAIN;
		return HT_OK;
	}
	if (out->rcode != DNS_RCODE_NOERROR) {
		out->result = DNS_RESULT_FAILURE;
		return HT_OK;
	}

	memcpy(cur, qname, qname_len);
	cur_len = qname_len;
	for (;;) {
		uint32_t ttl;
		bool found;

		n = answer_pass(msg, len, off, ancount, qtype, cur, cur_len, out, &ttl, next,
		                &next_len, &found);
		if (n < 0) {
			out->naddr = out->naddr_seen = 0;
			out->cname_hops = 0;
			return n;
		}
		if (!found) {
			if (out->naddr_seen == 0) {
				out->result = DNS_RESULT_NODATA;
				return HT_OK;
			}
			out->result = DNS_RESULT_ADDRESSES;
			out->ttl = ttl < chain_ttl ? ttl : chain_ttl;
			return HT_OK;
		}
		if (out->cname_hops == DNS_CNAME_MAX) {
			out->cname_hops = 0;
			return HT_ERR_TOO_LONG; /* a loop, or just too long */
		}
		out->cname_hops++;
		if (ttl < chain_ttl)
			chain_ttl = ttl;
		memcpy(cur, next, next_len);
		cur_len = next_len;
	}
}

enum dns_outcome dns_outcome(int rc, const struct dns_answer *a)
{
	if (rc != HT_OK || a == NULL)
		return DNS_OUTCOME_GENERAL_FAILURE;
	switch (a->result) {
	case DNS_RESULT_ADDRESSES:
		return a->naddr > 0 ? DNS_OUTCOME_OK : DNS_OUTCOME_GENERAL_FAILURE;
	case DNS_RESULT_NODATA:
	case DNS_RESULT_NXDOMAIN:
		return DNS_OUTCOME_HOST_UNREACHABLE;
	case DNS_RESULT_FAILURE:
	case DNS_RESULT_TRUNCATED:
		break;
	}
	return DNS_OUTCOME_GENERAL_FAILURE;
}

enum dns_outcome dns_outcome_merge(enum dns_outcome x, enum dns_outcome y)
{
	if (x == DNS_OUTCOME_OK || y == DNS_OUTCOME_OK)
		return DNS_OUTCOME_OK;
	if (x == DNS_OUTCOME_HOST_UNREACHABLE || y == DNS_OUTCOME_HOST_UNREACHABLE)
		return DNS_OUTCOME_HOST_UNREACHABLE;
	return DNS_OUTCOME_GENERAL_FAILURE;
}
