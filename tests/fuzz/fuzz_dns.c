/* libFuzzer harness for src/proto/dns.c.
 *
 * Input: byte 0 chooses the query the rest answers — bit 0 the QTYPE (A /
 * AAAA), bits 1-3 one of eight names (those of the unit tests), bit 4
 * whether the expected ID is taken from the message itself (so that the
 * fuzzer gets past the ID check) or is 0x1234; bits 5-7 an offset for the
 * name decompressor.  Bytes 1.. are the DNS message (no TCP prefix), and
 * also a presentation-form name.  The seeds are written by test_dns with
 * HATUN_DNS_SEED_DIR set.
 * Oracles (abort() on failure):
 *  1. dns_response_parse() returns HT_OK or a documented error, never
 *     HT_ERR_INVAL; naddr <= DNS_ADDR_MAX and <= naddr_seen; result
 *     ADDRESSES exactly when naddr > 0; nothing is returned on error;
 *  2. TTL: every returned address is the RDATA of an answer record of the
 *     asked type with TTL >= the minimum, and the minimum is the TTL of some
 *     answer record of the asked type or CNAME (found by an independent
 *     walk of the answer section);
 *  3. an accepted response parses the same with bytes appended (the
 *     authority and additional sections are not read) and with the expected
 *     name in another case;
 *  4. a name that dns_name_unpack() accepts is at most 255 bytes, lies
 *     within the message and prints with dns_name_to_text();
 *  5. dns_tcp_frame_len() on the bytes is NEED_MORE, BAD_LENGTH or
 *     2 + the prefix, within the input;
 *  6. round trip: the bytes as a name, if dns_name_encode() accepts them,
 *     print back as themselves (without a trailing dot) and re-encode to the
 *     same wire form; a query built for the name, turned into a response
 *     with one answer, parses back to that answer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/addr.h"
#include "proto/dns.h"
#include "proto/err.h"
#include "proto/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static const char *const names[8] = {
    "www.example.com", "web.example.net", "cdn.example.net", "a.b.c.example.com.",
    "c0.example.com",  "nx.example.com",  "api.example.net", "WwW.eXample.COM",
};

static bool rc_documented(int rc)
{
	return rc == HT_OK || rc == HT_ERR_TRUNCATED || rc == HT_ERR_MISMATCH ||
	       rc == HT_ERR_BAD_VALUE || rc == HT_ERR_BAD_LENGTH || rc == HT_ERR_TOO_LONG;
}

/* Oracle 2: an independent walk of the answer section. */
static void check_ttl(const uint8_t *msg, size_t len, uint16_t qtype, const struct dns_answer *a)
{
	uint8_t name[DNS_NAME_MAX];
	size_t off = DNS_HEADER_SIZE, nlen;
	unsigned ancount = ht_get16(msg + 6);
	bool min_seen = false;
	int n;

	check(a->ttl <= 0x7fffffffu);
	n = dns_name_unpack(msg, len, off, name, &nlen);
	check(n > 0);
	off += (size_t)n + 4;
	for (unsigned i = 0; i < ancount; i++) {
		uint16_t type, class, rdlen;
		uint32_t ttl;

		n = dns_name_unpack(msg, len, off, name, &nlen);
		check(n > 0 && len - off >= (size_t)n + 10);
		off += (size_t)n;
		type = ht_get16(msg + off);
		class = ht_get16(msg + off + 2);
		ttl = ht_get32(msg + off + 4);
		if (ttl > 0x7fffffffu)
			ttl = 0;
		rdlen = ht_get16(msg + off + 8);
		off += 10;
		check(len - off >= rdlen);
		if (class == DNS_CLASS_IN && (type == qtype || type == DNS_TYPE_CNAME) &&
		    ttl == a->ttl)
			min_seen = true;
		off += rdlen;
	}
	check(min_seen);
	/* Each returned address: some record of qtype with that RDATA, TTL >= min. */
	for (size_t k = 0; k < a->naddr; k++) {
		bool found = false;

		off = DNS_HEADER_SIZE;
		off += (size_t)dns_name_unpack(msg, len, off, name, &nlen) + 4;
		for (unsigned i = 0; i < ancount && !found; i++) {
			uint8_t addr[16];
			uint16_t rdlen;

			off += (size_t)dns_name_unpack(msg, len, off, name, &nlen);
			rdlen = ht_get16(msg + off + 8);
			if (ht_get16(msg + off) == qtype &&
			    ht_get16(msg + off + 2) == DNS_CLASS_IN) {
				uint32_t ttl = ht_get32(msg + off + 4);

				if (ttl > 0x7fffffffu)
					ttl = 0;
				if (qtype == DNS_TYPE_A)
					ht_addr_map_v4(addr, msg + off + 10);
				else
					memcpy(addr, msg + off + 10, 16);
				found = memcmp(addr, a->addr[k], 16) == 0 && ttl >= a->ttl;
			}
			off += 10 + (size_t)rdlen;
		}
		check(found);
	}
}

static void response(uint8_t sel, const uint8_t *msg, size_t len)
{
	uint16_t qtype = (sel & 1) ? DNS_TYPE_AAAA : DNS_TYPE_A;
	const char *name = names[(sel >> 1) & 7];
	size_t name_len = strlen(name);
	uint16_t id = (sel & 16) && len >= 2 ? ht_get16(msg) : 0x1234;
	struct dns_answer a, b;
	char upper[64];
	uint8_t *longer;
	int rc = dns_response_parse(msg, len, id, name, name_len, qtype, &a);

	check(rc_documented(rc));
	check(a.naddr <= DNS_ADDR_MAX && a.naddr <= a.naddr_seen);
	check(a.cname_hops <= DNS_CNAME_MAX);
	if (rc < 0) {
		check(a.naddr == 0 && a.naddr_seen == 0 && a.cname_hops == 0);
		check(dns_outcome(rc, &a) == DNS_OUTCOME_GENERAL_FAILURE);
		return;
	}
	check((a.result == DNS_RESULT_ADDRESSES) == (a.naddr > 0));
	check((dns_outcome(rc, &a) == DNS_OUTCOME_OK) == (a.naddr > 0));
	if (a.result == DNS_RESULT_ADDRESSES)
		check_ttl(msg, len, qtype, &a);
	else
		check(a.ttl == 0 && a.naddr_seen == 0);

	/* Oracle 3. */
	longer = malloc(len + 7);
	check(longer != NULL);
	memcpy(longer, msg, len);
	memset(longer + len, 0xc0, 7);
	rc = dns_response_parse(longer, len + 7, id, name, name_len, qtype, &b);
	free(longer);
	check(rc == HT_OK && memcmp(&a, &b, sizeof(a)) == 0);
	for (size_t i = 0; i < name_len; i++)
		upper[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
	rc = dns_response_parse(msg, len, id, upper, name_len, qtype, &b);
	check(rc == HT_OK && memcmp(&a, &b, sizeof(a)) == 0);
}

/* Oracle 4. */
static void unpack(const uint8_t *msg, size_t len, size_t off)
{
	uint8_t w[DNS_NAME_MAX];
	char t[DNS_NAME_TEXT_MAX];
	size_t wlen;
	int n = dns_name_unpack(msg, len, off, w, &wlen);

	if (n < 0) {
		check(n == HT_ERR_TRUNCATED || n == HT_ERR_BAD_VALUE || n == HT_ERR_TOO_LONG);
		return;
	}
	check(n >= 1 && (size_t)n <= len - off && wlen >= 1 && wlen <= DNS_NAME_MAX);
	check(dns_name_to_text(t, sizeof(t), w, wlen) >= 1);
}

/* Oracle 6. */
static void round_trip(const uint8_t *s, size_t n)
{
	uint8_t w[DNS_NAME_MAX], w2[DNS_NAME_MAX], q[DNS_QUERY_MAX + 32], u[DNS_NAME_MAX];
	char t[DNS_NAME_TEXT_MAX];
	struct dns_answer a;
	size_t ulen, plain;
	int wn, tn, qn;
	static const uint8_t ans[] = {0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	                              0x01, 0x2c, 0x00, 0x04, 198,  51,   100,  1};

	if (n > 300)
		n = 300;
	plain = n;
	wn = dns_name_encode(w, sizeof(w), (const char *)s, n);
	if (wn < 0) {
		check(wn == HT_ERR_BAD_LENGTH || wn == HT_ERR_TOO_LONG || wn == HT_ERR_BAD_VALUE);
		return;
	}
	check(wn >= 3 && wn <= (int)DNS_NAME_MAX);
	if (s[n - 1] == '.')
		plain--;
	tn = dns_name_to_text(t, sizeof(t), w, (size_t)wn);
	check(tn >= 0 && (size_t)tn == plain && memcmp(t, s, plain) == 0);
	check(dns_name_encode(w2, sizeof(w2), t, (size_t)tn) == wn);
	check(memcmp(w, w2, (size_t)wn) == 0);

	/* The query, through the TCP framing, answered. */
	qn = dns_query_build(q, DNS_QUERY_MAX, 0xabcd, (const char *)s, n, DNS_TYPE_A, true);
	check(qn == (int)(2 + DNS_HEADER_SIZE + 4) + wn);
	check(dns_tcp_frame_len(q, (size_t)qn) == qn);
	check(dns_tcp_frame_len(q, (size_t)qn - 1) == HT_ERR_NEED_MORE);
	check(dns_name_unpack(q + 2, (size_t)qn - 2, DNS_HEADER_SIZE, u, &ulen) == wn);
	check(ulen == (size_t)wn && memcmp(u, w, ulen) == 0);
	q[2 + 2] |= 0x80;
	q[2 + 7] = 1;
	memcpy(q + qn, ans, sizeof(ans));
	check(dns_response_parse(q + 2, (size_t)qn - 2 + sizeof(ans), 0xabcd, (const char *)s, n,
	                         DNS_TYPE_A, &a) == HT_OK);
	check(a.result == DNS_RESULT_ADDRESSES && a.naddr == 1 && a.ttl == 300);
	check(a.addr[0][10] == 0xff && a.addr[0][12] == 198 && a.addr[0][15] == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *msg;
	size_t len;
	int f;

	if (size < 1)
		return 0;
	msg = data + 1;
	len = size - 1;
	response(data[0], msg, len);
	if (len > 0)
		unpack(msg, len, ((size_t)(data[0] >> 5) * 13) % len);
	if (len > DNS_HEADER_SIZE)
		unpack(msg, len, DNS_HEADER_SIZE);
	f = dns_tcp_frame_len(data, size);
	check(f == HT_ERR_NEED_MORE || f == HT_ERR_BAD_LENGTH ||
	      (f >= 2 + (int)DNS_HEADER_SIZE && (size_t)f <= size && f == 2 + (int)ht_get16(data)));
	round_trip(msg, len);
	return 0;
}
