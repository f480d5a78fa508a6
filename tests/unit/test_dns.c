/* Unit tests for src/proto/dns.c.
 *
 * Names under example.com / example.net, addresses from 192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32 only.  Every message is
 * parsed from an exact-size heap copy so that ASan sees any read past it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dns.h"
#include "proto/err.h"
#include "proto/socks5.h" /* the REP values only: enum dns_outcome must equal them */
#include "proto/wire.h"

#define ID 0x1234u
#define WWW "www.example.com"

/* ---- a tiny message assembler ------------------------------------------- */

struct m {
	uint8_t b[2048];
	size_t n;
};

static size_t put(struct m *m, const void *p, size_t n)
{
	size_t at = m->n;

	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
	return at;
}

static size_t u8(struct m *m, uint8_t v)
{
	return put(m, &v, 1);
}

static size_t u16(struct m *m, uint16_t v)
{
	uint8_t b[2];

	ht_put16(b, v);
	return put(m, b, 2);
}

static size_t u32(struct m *m, uint32_t v)
{
	uint8_t b[4];

	ht_put32(b, v);
	return put(m, b, 4);
}

/* Labels of a dotted name, without the terminating root label. */
static size_t labels(struct m *m, const char *name)
{
	size_t at = m->n;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);

		u8(m, (uint8_t)n);
		put(m, name, n);
		name += n + (dot ? 1 : 0);
	}
	return at;
}

/* A whole uncompressed name. */
static size_t wname(struct m *m, const char *name)
{
	size_t at = labels(m, name);

	u8(m, 0);
	return at;
}

static size_t ptr(struct m *m, size_t target)
{
	return u16(m, (uint16_t)(0xc000u | target));
}

static void hdr(struct m *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
                uint16_t ar)
{
	m->n = 0;
	u16(m, id);
	u16(m, flags);
	u16(m, qd);
	u16(m, an);
	u16(m, ns);
	u16(m, ar);
}

/* Header (QR RD RA, rcode) and the question; returns the QNAME offset (12). */
static size_t start(struct m *m, uint16_t rcode, uint16_t an, const char *qname, uint16_t qtype)
{
	size_t q;

	hdr(m, ID, (uint16_t)(0x8180u | rcode), 1, an, 0, 0);
	q = wname(m, qname);
	u16(m, qtype);
	u16(m, DNS_CLASS_IN);
	return q;
}

/* TYPE CLASS TTL RDLENGTH RDATA, after an owner name. */
static void rr(struct m *m, uint16_t type, uint32_t ttl, const void *rdata, uint16_t rdlen)
{
	u16(m, type);
	u16(m, DNS_CLASS_IN);
	u32(m, ttl);
	u16(m, rdlen);
	put(m, rdata, rdlen);
}

static void rr_a(struct m *m, uint32_t ttl, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	const uint8_t v4[4] = {a, b, c, d};

	rr(m, DNS_TYPE_A, ttl, v4, 4);
}

static void rr_aaaa(struct m *m, uint32_t ttl, uint16_t last)
{
	uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};

	ht_put16(v6 + 14, last);
	rr(m, DNS_TYPE_AAAA, ttl, v6, 16);
}

/* With HATUN_DNS_SEED_DIR set, every response parsed at the top level of a
 * test is written there as a fuzz_dns seed: a selector byte (QTYPE bit 0,
 * name index bits 1-3 in fuzz_dns.c's list) and the message. */
static bool in_prefix_loop;

static void dump_seed(const uint8_t *b, size_t n, const char *name, uint16_t qtype)
{
	static const char *const names[8] = {
	    "www.example.com", "web.example.net", "cdn.example.net", "a.b.c.example.com.",
	    "c0.example.com",  "nx.example.com",  "api.example.net", "WwW.eXample.COM",
	};
	const char *dir = getenv("HATUN_DNS_SEED_DIR");
	uint32_t h = 2166136261u;
	char path[512];
	uint8_t sel;
	FILE *f;
	int idx = -1;

	if (dir == NULL || in_prefix_loop)
		return;
	for (int i = 0; i < 8; i++)
		if (strcmp(names[i], name) == 0)
			idx = i;
	if (idx < 0)
		return;
	sel = (uint8_t)((qtype == DNS_TYPE_AAAA ? 1 : 0) | idx << 1);
	h = (h ^ sel) * 16777619u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	snprintf(path, sizeof(path), "%s/unit-%08x", dir, (unsigned)h);
	f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(&sel, 1, 1, f);
	fwrite(b, 1, n, f);
	fclose(f);
}

/* Parse b[0..n) from an exact-size heap copy. */
static int parse_bytes(const uint8_t *b, size_t n, uint16_t id, const char *name, uint16_t qtype,
                       struct dns_answer *a)
{
	uint8_t *copy = malloc(n ? n : 1);
	int rc;

	assert_non_null(copy);
	if (n)
		memcpy(copy, b, n);
	dump_seed(b, n, name, qtype);
	rc = dns_response_parse(copy, n, id, name, strlen(name), qtype, a);
	free(copy);
	return rc;
}

static int parse(const struct m *m, const char *name, uint16_t qtype, struct dns_answer *a)
{
	return parse_bytes(m->b, m->n, ID, name, qtype, a);
}

/* Every proper prefix of a complete answer is an error (and never a read
 * past its end). */
static void every_prefix_fails(const uint8_t *b, size_t n, const char *name, uint16_t qtype)
{
	in_prefix_loop = true;
	for (size_t i = 0; i < n; i++) {
		struct dns_answer a;
		int rc = parse_bytes(b, i, ID, name, qtype, &a);

		if (rc >= 0)
			fail_msg("prefix %zu of %zu parsed (result %d)", i, n, (int)a.result);
		assert_int_equal(a.naddr, 0);
	}
	in_prefix_loop = false;
}

static void assert_v4(const uint8_t a[16], uint8_t w, uint8_t x, uint8_t y, uint8_t z)
{
	const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, w, x, y, z};

	assert_memory_equal(a, want, 16);
}

static void assert_v6(const uint8_t a[16], uint16_t last)
{
	uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8};

	ht_put16(want + 14, last);
	assert_memory_equal(a, want, 16);
}

/* ---- names --------------------------------------------------------------- */

static void test_name_encode(void **state)
{
	uint8_t w[DNS_NAME_MAX + 10];
	char text[300];
	static const uint8_t www[] = {3,   'w', 'w', 'w', 7,   'e', 'x', 'a', 'm',
	                              'p', 'l', 'e', 3,   'c', 'o', 'm', 0};

	(void)state;
	assert_int_equal(dns_name_encode(w, sizeof(w), WWW, strlen(WWW)), 17);
	assert_memory_equal(w, www, 17);
	assert_int_equal(dns_name_encode(w, sizeof(w), "www.example.com.", 16), 17);
	assert_memory_equal(w, www, 17);
	/* The length is what counts, not a NUL. */
	assert_int_equal(dns_name_encode(w, sizeof(w), "www.example.comXYZ", 15), 17);
	assert_memory_equal(w, www, 17);
	assert_int_equal(dns_name_encode(w, sizeof(w), "a", 1), 3);

	assert_int_equal(dns_name_encode(w, sizeof(w), "", 0), HT_ERR_BAD_LENGTH);
	assert_int_equal(dns_name_encode(w, sizeof(w), ".", 1), HT_ERR_BAD_LENGTH);
	assert_int_equal(dns_name_encode(w, sizeof(w), "..", 2), HT_ERR_BAD_LENGTH);
	assert_int_equal(dns_name_encode(w, sizeof(w), ".a", 2), HT_ERR_BAD_LENGTH);
	assert_int_equal(dns_name_encode(w, sizeof(w), "a..b", 4), HT_ERR_BAD_LENGTH);
	assert_int_equal(dns_name_encode(w, sizeof(w), "a.b..", 5), HT_ERR_BAD_LENGTH);
	assert_int_equal(dns_name_encode(w, sizeof(w), "a\0b", 3), HT_ERR_BAD_VALUE);
	assert_int_equal(dns_name_encode(w, sizeof(w), "a\nb.example.com", 15), HT_ERR_BAD_VALUE);
	assert_int_equal(dns_name_encode(w, sizeof(w), "a\x1f", 2), HT_ERR_BAD_VALUE);
	assert_int_equal(dns_name_encode(w, sizeof(w), "a\x7f", 2), HT_ERR_BAD_VALUE);
	/* Not LDH, but accepted: space, '_', '\', UTF-8. */
	assert_int_equal(dns_name_encode(w, sizeof(w), "_a b\\.example.com", 17), 19);
	assert_int_equal(dns_name_encode(w, sizeof(w), "\xc3\xa9.example.com", 14), 16);
	assert_int_equal(dns_name_encode(NULL, 10, "a", 1), HT_ERR_INVAL);
	assert_int_equal(dns_name_encode(w, 10, NULL, 1), HT_ERR_INVAL);
	for (size_t cap = 0; cap < 17; cap++)
		assert_int_equal(dns_name_encode(w, cap, WWW, strlen(WWW)), HT_ERR_NOBUF);

	/* Labels of 63 and 64 bytes. */
	memset(text, 'a', 64);
	memcpy(text + 63, ".example.com", 12);
	assert_int_equal(dns_name_encode(w, sizeof(w), text, 75), 64 + 13);
	memset(text, 'a', 64);
	memcpy(text + 64, ".example.com", 12);
	assert_int_equal(dns_name_encode(w, sizeof(w), text, 76), HT_ERR_BAD_LENGTH);

	/* 255 wire bytes (253 characters) is the maximum. */
	memset(text, 'a', sizeof(text));
	text[63] = text[127] = text[191] = '.';
	assert_int_equal(dns_name_encode(w, sizeof(w), text, 253), 255);
	assert_int_equal(w[254], 0);
	assert_int_equal(dns_name_encode(w, sizeof(w), text, 254), HT_ERR_TOO_LONG);
	text[253] = '.';
	assert_int_equal(dns_name_encode(w, sizeof(w), text, 254), 255); /* trailing dot */
	/* DNS_NAME_MAX is always enough. */
	assert_int_equal(dns_name_encode(w, DNS_NAME_MAX, text, 254), 255);
}

static void test_name_to_text(void **state)
{
	uint8_t w[DNS_NAME_MAX];
	char t[DNS_NAME_TEXT_MAX];
	static const uint8_t odd[] = {3, 'a', '.', 1, 1, '\\', 0};
	static const uint8_t root[] = {0};
	static const uint8_t bad[] = {3, 'a', 'b'};
	int n;

	(void)state;
	n = dns_name_encode(w, sizeof(w), "WwW.Example.com.", 16);
	assert_int_equal(dns_name_to_text(t, sizeof(t), w, (size_t)n), 15);
	assert_string_equal(t, "WwW.Example.com");
	assert_int_equal(dns_name_to_text(t, sizeof(t), odd, sizeof(odd)), 11);
	assert_string_equal(t, "a\\046\\001.\\");
	assert_int_equal(dns_name_to_text(t, sizeof(t), root, 1), 1);
	assert_string_equal(t, ".");
	assert_int_equal(dns_name_to_text(t, sizeof(t), bad, sizeof(bad)), HT_ERR_BAD_VALUE);
	assert_int_equal(dns_name_to_text(t, sizeof(t), w, (size_t)n - 1), HT_ERR_BAD_VALUE);
	assert_int_equal(dns_name_to_text(t, sizeof(t), w, (size_t)n + 0), 15);
	for (size_t cap = 0; cap <= 15; cap++)
		assert_int_equal(dns_name_to_text(t, cap, w, (size_t)n), HT_ERR_NOBUF);
	assert_int_equal(dns_name_to_text(t, 16, w, (size_t)n), 15);
}

static void test_name_unpack(void **state)
{
	struct m m;
	uint8_t out[DNS_NAME_MAX];
	size_t olen, a, b, c;

	(void)state;
	hdr(&m, ID, 0x8180, 0, 0, 0, 0);
	a = wname(&m, "example.com"); /* 12 */
	b = labels(&m, "www");        /* 25 */
	ptr(&m, a);                   /*  "www" + -> example.com */
	c = labels(&m, "a.b");
	ptr(&m, b); /*  "a.b" + -> www -> example.com */
	assert_int_equal(dns_name_unpack(m.b, m.n, c, out, &olen), 6);
	assert_int_equal(olen, 4 + 4 + 8 + 4 + 1);
	assert_memory_equal(out, "\1a\1b\3www\7example\3com", olen);
	assert_int_equal(dns_name_unpack(m.b, m.n, b, out, &olen), 6);
	assert_int_equal(dns_name_unpack(m.b, m.n, a, out, &olen), 13);
	/* Every cut is truncated. */
	for (size_t i = c; i < m.n; i++)
		assert_int_equal(dns_name_unpack(m.b, i, c, out, &olen), HT_ERR_TRUNCATED);
	/* Self, forward and header pointers; pointer into the run it ends. */
	m.n = 12;
	a = ptr(&m, 12);
	assert_int_equal(dns_name_unpack(m.b, m.n, a, out, &olen), HT_ERR_BAD_VALUE);
	m.n = 12;
	a = ptr(&m, 14);
	wname(&m, "example.com");
	assert_int_equal(dns_name_unpack(m.b, m.n, a, out, &olen), HT_ERR_BAD_VALUE);
	m.n = 12;
	a = labels(&m, "x");
	ptr(&m, 4);
	assert_int_equal(dns_name_unpack(m.b, m.n, a, out, &olen), HT_ERR_BAD_VALUE);
	m.n = 12;
	a = labels(&m, "x");
	ptr(&m, a); /* "x" then back to "x": a loop through a backwards pointer */
	assert_int_equal(dns_name_unpack(m.b, m.n, a, out, &olen), HT_ERR_BAD_VALUE);
	/* Label types 01 and 10 (a 64-byte "label"). */
	m.n = 12;
	u8(&m, 0x40);
	assert_int_equal(dns_name_unpack(m.b, m.n, 12, out, &olen), HT_ERR_BAD_VALUE);
	m.n = 12;
	u8(&m, 0x80);
	u8(&m, 0);
	assert_int_equal(dns_name_unpack(m.b, m.n, 12, out, &olen), HT_ERR_BAD_VALUE);
	assert_int_equal(dns_name_unpack(NULL, 0, 0, out, &olen), HT_ERR_INVAL);
}

static void test_name_unpack_too_long(void **state)
{
	struct m m;
	uint8_t out[DNS_NAME_MAX];
	char l63[64];
	size_t olen, prev;

	(void)state;
	memset(l63, 'a', 63);
	l63[63] = '\0';
	/* 63-byte labels chained by pointers: 4 of them are 257 bytes. */
	hdr(&m, ID, 0x8180, 0, 0, 0, 0);
	prev = wname(&m, l63);
	for (int i = 0; i < 3; i++) {
		size_t at = labels(&m, l63);

		ptr(&m, prev);
		prev = at;
	}
	assert_int_equal(dns_name_unpack(m.b, m.n, prev, out, &olen), HT_ERR_TOO_LONG);
	/* Three are 193 bytes and fine. */
	assert_int_equal(dns_name_unpack(m.b, m.n, prev - 65 - 1, out, &olen), 66);
	assert_int_equal(olen, 193);
}

/* ---- queries and framing -------------------------------------------------- */

static void test_query_layout(void **state)
{
	/* RFC 1035 §4.1: ID 0x1234; QR=0 OPCODE=0 AA=0 TC=0 RD=1 | RA=0 Z=0
	 * RCODE=0; QDCOUNT 1, AN/NS/AR 0; QNAME 3www7example3com0; QTYPE A (1);
	 * QCLASS IN (1). */
	static const uint8_t want[] = {
	    0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0x00, 0x03, 'w',  'w',  'w',  0x07, 'e',  'x',  'a',  'm',  'p',
	    'l',  'e',  0x03, 'c',  'o',  'm',  0x00, 0x00, 0x01, 0x00, 0x01,
	};
	uint8_t buf[DNS_QUERY_MAX];

	(void)state;
	assert_int_equal(sizeof(want), 33);
	assert_int_equal(dns_query_build(buf, sizeof(buf), ID, WWW, strlen(WWW), DNS_TYPE_A, false),
	                 33);
	assert_memory_equal(buf, want, 33);
	/* TCP: the same message behind its length, 0x0021. */
	assert_int_equal(dns_query_build(buf, sizeof(buf), ID, WWW, strlen(WWW), DNS_TYPE_A, true),
	                 35);
	assert_int_equal(buf[0], 0x00);
	assert_int_equal(buf[1], 0x21);
	assert_memory_equal(buf + 2, want, 33);
	assert_int_equal(dns_tcp_frame_len(buf, 35), 35);
	/* AAAA differs in QTYPE only (28 = 0x001c). */
	assert_int_equal(
	    dns_query_build(buf, sizeof(buf), ID, WWW ".", strlen(WWW) + 1, DNS_TYPE_AAAA, false),
	    33);
	assert_memory_equal(buf, want, 29);
	assert_int_equal(buf[29], 0x00);
	assert_int_equal(buf[30], 0x1c);
	for (size_t cap = 0; cap < 35; cap++)
		assert_int_equal(dns_query_build(buf, cap, ID, WWW, strlen(WWW), DNS_TYPE_A, true),
		                 HT_ERR_NOBUF);
	assert_int_equal(
	    dns_query_build(buf, sizeof(buf), ID, WWW, strlen(WWW), DNS_TYPE_CNAME, false),
	    HT_ERR_INVAL);
	assert_int_equal(dns_query_build(NULL, 10, ID, WWW, strlen(WWW), DNS_TYPE_A, false),
	                 HT_ERR_INVAL);
	assert_int_equal(dns_query_build(buf, sizeof(buf), ID, "a..b", 4, DNS_TYPE_A, false),
	                 HT_ERR_BAD_LENGTH);
	assert_int_equal(dns_query_build(buf, sizeof(buf), ID, "a\tb", 3, DNS_TYPE_A, false),
	                 HT_ERR_BAD_VALUE);
}

static void test_tcp_frame_len(void **state)
{
	uint8_t buf[64] = {0x00, 0x0c};

	(void)state;
	assert_int_equal(dns_tcp_frame_len(NULL, 0), HT_ERR_NEED_MORE);
	assert_int_equal(dns_tcp_frame_len(NULL, 1), HT_ERR_INVAL);
	for (size_t i = 0; i < 14; i++)
		assert_int_equal(dns_tcp_frame_len(buf, i), HT_ERR_NEED_MORE);
	assert_int_equal(dns_tcp_frame_len(buf, 14), 14);
	assert_int_equal(dns_tcp_frame_len(buf, 64), 14); /* the next message follows */
	buf[1] = 11;
	assert_int_equal(dns_tcp_frame_len(buf, 2), HT_ERR_BAD_LENGTH);
	buf[1] = 0;
	assert_int_equal(dns_tcp_frame_len(buf, 64), HT_ERR_BAD_LENGTH);
	buf[0] = 0xff;
	buf[1] = 0xff;
	assert_int_equal(dns_tcp_frame_len(buf, 64), HT_ERR_NEED_MORE);
}

/* ---- responses ------------------------------------------------------------ */

/* www.example.com A 192.0.2.1, TTL 3600, the answer's owner a pointer to
 * the question (c0 0c). */
static const uint8_t one_a[] = {
    0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* header */
    0x03, 'w',  'w',  'w',  0x07, 'e',  'x',  'a',  'm',  'p',  'l',  'e',
    0x03, 'c',  'o',  'm',  0x00, 0x00, 0x01, 0x00, 0x01, /* question */
    0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x04,
    0xc0, 0x00, 0x02, 0x01, /* answer */
};

static void test_one_a(void **state)
{
	struct dns_answer a;

	(void)state;
	assert_int_equal(parse_bytes(one_a, sizeof(one_a), ID, WWW, DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.result, DNS_RESULT_ADDRESSES);
	assert_int_equal(a.rcode, 0);
	assert_int_equal(a.naddr, 1);
	assert_int_equal(a.naddr_seen, 1);
	assert_v4(a.addr[0], 192, 0, 2, 1);
	assert_int_equal(a.ttl, 3600);
	assert_int_equal(a.cname_hops, 0);
	assert_int_equal(dns_outcome(HT_OK, &a), DNS_OUTCOME_OK);
	/* Trailing dot and 0x20 case in the name we asked for. */
	assert_int_equal(parse_bytes(one_a, sizeof(one_a), ID, "WwW.eXample.COM.", DNS_TYPE_A, &a),
	                 HT_OK);
	assert_int_equal(a.naddr, 1);
	/* Asked AAAA: the question does not match. */
	assert_int_equal(parse_bytes(one_a, sizeof(one_a), ID, WWW, DNS_TYPE_AAAA, &a),
	                 HT_ERR_MISMATCH);
	every_prefix_fails(one_a, sizeof(one_a), WWW, DNS_TYPE_A);
}

static void test_header_checks(void **state)
{
	uint8_t b[sizeof(one_a)];
	struct dns_answer a;

	(void)state;
	assert_int_equal(parse_bytes(one_a, sizeof(one_a), ID + 1, WWW, DNS_TYPE_A, &a),
	                 HT_ERR_MISMATCH);
	assert_int_equal(parse_bytes(one_a, sizeof(one_a), ID, "www.example.net", DNS_TYPE_A, &a),
	                 HT_ERR_MISMATCH);
	assert_int_equal(parse_bytes(one_a, sizeof(one_a), ID, "ww.example.com", DNS_TYPE_A, &a),
	                 HT_ERR_MISMATCH);
	assert_int_equal(parse_bytes(one_a, sizeof(one_a), ID, "www.example.com.x", DNS_TYPE_A, &a),
	                 HT_ERR_MISMATCH);
	memcpy(b, one_a, sizeof(b));
	b[2] = 0x01; /* QR = 0: a query */
	assert_int_equal(parse_bytes(b, sizeof(b), ID, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_VALUE);
	memcpy(b, one_a, sizeof(b));
	b[2] = 0x81 | (2 << 3); /* OPCODE 2 (STATUS) */
	assert_int_equal(parse_bytes(b, sizeof(b), ID, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_VALUE);
	memcpy(b, one_a, sizeof(b));
	b[5] = 2; /* QDCOUNT 2 */
	assert_int_equal(parse_bytes(b, sizeof(b), ID, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_VALUE);
	b[5] = 0; /* QDCOUNT 0 with NOERROR */
	assert_int_equal(parse_bytes(b, sizeof(b), ID, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_VALUE);
	memcpy(b, one_a, sizeof(b));
	b[32] = 3; /* QCLASS CH */
	assert_int_equal(parse_bytes(b, sizeof(b), ID, WWW, DNS_TYPE_A, &a), HT_ERR_MISMATCH);
	memcpy(b, one_a, sizeof(b));
	b[14] = 'W'; /* 0x20 randomisation by the resolver */
	b[22] = 'L';
	assert_int_equal(parse_bytes(b, sizeof(b), ID, WWW, DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.naddr, 1);
	memcpy(b, one_a, sizeof(b));
	b[3] = 0x90; /* Z, AD, CD bits are ignored */
	b[2] = 0x85; /* AA */
	assert_int_equal(parse_bytes(b, sizeof(b), ID, WWW, DNS_TYPE_A, &a), HT_OK);
	/* Caller errors. */
	assert_int_equal(dns_response_parse(one_a, sizeof(one_a), ID, WWW, strlen(WWW), 5, &a),
	                 HT_ERR_INVAL);
	assert_int_equal(dns_response_parse(one_a, sizeof(one_a), ID, "a..b", 4, 1, &a),
	                 HT_ERR_INVAL);
	assert_int_equal(dns_response_parse(NULL, 0, ID, WWW, strlen(WWW), 1, &a), HT_ERR_INVAL);
	assert_int_equal(dns_response_parse(one_a, sizeof(one_a), ID, WWW, strlen(WWW), 1, NULL),
	                 HT_ERR_INVAL);
	assert_int_equal(dns_outcome(HT_ERR_MISMATCH, &a), DNS_OUTCOME_GENERAL_FAILURE);
}

static void test_several_aaaa(void **state)
{
	struct m m;
	struct dns_answer a;

	(void)state;
	start(&m, 0, 3, WWW, DNS_TYPE_AAAA);
	ptr(&m, 12);
	rr_aaaa(&m, 300, 1);
	ptr(&m, 12);
	rr_aaaa(&m, 120, 2);
	ptr(&m, 12);
	rr_aaaa(&m, 600, 3);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_AAAA, &a), HT_OK);
	assert_int_equal(a.result, DNS_RESULT_ADDRESSES);
	assert_int_equal(a.naddr, 3);
	assert_v6(a.addr[0], 1);
	assert_v6(a.addr[1], 2);
	assert_v6(a.addr[2], 3);
	assert_int_equal(a.ttl, 120);
	every_prefix_fails(m.b, m.n, WWW, DNS_TYPE_AAAA);
}

/* www.example.com CNAME web.example.net, web.example.net CNAME
 * cdn.example.net, cdn.example.net A ×2, in the worst order, with records of
 * other types, other owners and another class interleaved. */
static void build_chain(struct m *m)
{
	size_t web, cdn, exnet;
	struct m tmp;

	start(m, 0, 8, WWW, DNS_TYPE_A);
	/* cdn.example.net AAAA (not asked) — spelled out, then reused. */
	cdn = wname(m, "cdn.example.net");
	exnet = cdn + 4;
	rr_aaaa(m, 5, 9);
	/* cdn A 198.51.100.7, TTL 900 */
	ptr(m, cdn);
	rr_a(m, 900, 198, 51, 100, 7);
	/* web.example.net CNAME cdn.example.net (RDATA: a pointer) TTL 700 */
	web = labels(m, "web");
	ptr(m, exnet);
	tmp.n = 0;
	ptr(&tmp, cdn);
	rr(m, DNS_TYPE_CNAME, 700, tmp.b, 2);
	/* a TXT record of the question's name (type 16): ignored */
	ptr(m, 12);
	rr(m, 16, 1,
	   "\x03"
	   "abc",
	   4);
	/* www.example.com CNAME web.example.net TTL 800 */
	ptr(m, 12);
	tmp.n = 0;
	ptr(&tmp, web);
	rr(m, DNS_TYPE_CNAME, 800, tmp.b, 2);
	/* an A record of another name: ignored, though its TTL is lowest */
	wname(m, "other.example.net");
	rr_a(m, 1, 203, 0, 113, 9);
	/* class CH, same owner and type: ignored */
	ptr(m, cdn);
	u16(m, DNS_TYPE_A);
	u16(m, 3);
	u32(m, 2);
	u16(m, 4);
	put(m, "\xcb\x00\x71\x0a", 4);
	/* cdn A 198.51.100.8, TTL 1000 */
	ptr(m, cdn);
	rr_a(m, 1000, 198, 51, 100, 8);
}

static void test_cname_chain(void **state)
{
	struct m m;
	struct dns_answer a;

	(void)state;
	build_chain(&m);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.result, DNS_RESULT_ADDRESSES);
	assert_int_equal(a.cname_hops, 2);
	assert_int_equal(a.naddr, 2);
	assert_v4(a.addr[0], 198, 51, 100, 7);
	assert_v4(a.addr[1], 198, 51, 100, 8);
	assert_int_equal(a.ttl, 700); /* min of CNAME 800, 700 and A 900, 1000 */
	every_prefix_fails(m.b, m.n, WWW, DNS_TYPE_A);
	/* The same message asked for a name that is a link of the chain: the
	 * question does not match. */
	assert_int_equal(parse(&m, "web.example.net", DNS_TYPE_A, &a), HT_ERR_MISMATCH);
}

static void test_cname_rules(void **state)
{
	struct m m, tmp;
	struct dns_answer a;
	size_t at;

	(void)state;
	/* A CNAME to a name with no A: NODATA, hops counted. */
	start(&m, 0, 1, WWW, DNS_TYPE_A);
	ptr(&m, 12);
	tmp.n = 0;
	wname(&tmp, "www.example.net");
	rr(&m, DNS_TYPE_CNAME, 60, tmp.b, (uint16_t)tmp.n);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.result, DNS_RESULT_NODATA);
	assert_int_equal(a.naddr, 0);
	assert_int_equal(dns_outcome(HT_OK, &a), DNS_OUTCOME_HOST_UNREACHABLE);

	/* CNAME and A for the same owner (forbidden): the CNAME wins. */
	start(&m, 0, 2, WWW, DNS_TYPE_A);
	ptr(&m, 12);
	rr_a(&m, 60, 192, 0, 2, 1);
	ptr(&m, 12);
	tmp.n = 0;
	wname(&tmp, "www.example.net");
	rr(&m, DNS_TYPE_CNAME, 60, tmp.b, (uint16_t)tmp.n);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.result, DNS_RESULT_NODATA);

	/* CNAME RDATA with a byte after the name, or a name running out of it. */
	start(&m, 0, 1, WWW, DNS_TYPE_A);
	ptr(&m, 12);
	tmp.n = 0;
	wname(&tmp, "www.example.net");
	u8(&tmp, 0);
	rr(&m, DNS_TYPE_CNAME, 60, tmp.b, (uint16_t)tmp.n);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_LENGTH);
	start(&m, 0, 2, WWW, DNS_TYPE_A);
	ptr(&m, 12);
	tmp.n = 0;
	wname(&tmp, "www.example.net");
	rr(&m, DNS_TYPE_CNAME, 60, tmp.b, (uint16_t)(tmp.n - 1));
	ptr(&m, 12);
	rr_a(&m, 60, 192, 0, 2, 1);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_LENGTH);
	/* CNAME RDATA with a forward pointer. */
	start(&m, 0, 1, WWW, DNS_TYPE_A);
	ptr(&m, 12);
	at = m.n + 10;
	tmp.n = 0;
	ptr(&tmp, at + 2);
	rr(&m, DNS_TYPE_CNAME, 60, tmp.b, 2);
	wname(&m, "www.example.net");
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_VALUE);
}

/* A chain of n CNAMEs c0.example.com → c1 → ... → cn, then cn A. */
static void build_long_chain(struct m *m, unsigned n, bool loop)
{
	char name[32];
	struct m tmp;

	start(m, 0, (uint16_t)(n + 1), "c0.example.com", DNS_TYPE_A);
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "c%u.example.com", i);
		wname(m, name);
		snprintf(name, sizeof(name), "c%u.example.com", loop && i + 1 == n ? 0 : i + 1);
		tmp.n = 0;
		wname(&tmp, name);
		rr(m, DNS_TYPE_CNAME, 100 + i, tmp.b, (uint16_t)tmp.n);
	}
	snprintf(name, sizeof(name), "c%u.example.com", n);
	wname(m, name);
	rr_a(m, 50, 203, 0, 113, 1);
}

static void test_cname_limits(void **state)
{
	struct m m;
	struct dns_answer a;

	(void)state;
	build_long_chain(&m, DNS_CNAME_MAX, false);
	assert_int_equal(parse(&m, "c0.example.com", DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.cname_hops, DNS_CNAME_MAX);
	assert_int_equal(a.naddr, 1);
	assert_v4(a.addr[0], 203, 0, 113, 1);
	assert_int_equal(a.ttl, 50);
	build_long_chain(&m, DNS_CNAME_MAX + 1, false);
	assert_int_equal(parse(&m, "c0.example.com", DNS_TYPE_A, &a), HT_ERR_TOO_LONG);
	assert_int_equal(a.naddr, 0);
	assert_int_equal(a.cname_hops, 0);
	assert_int_equal(dns_outcome(HT_ERR_TOO_LONG, &a), DNS_OUTCOME_GENERAL_FAILURE);
	build_long_chain(&m, 2, true); /* c0 → c1 → c0 */
	assert_int_equal(parse(&m, "c0.example.com", DNS_TYPE_A, &a), HT_ERR_TOO_LONG);
	build_long_chain(&m, 1, true); /* c0 → c0 */
	assert_int_equal(parse(&m, "c0.example.com", DNS_TYPE_A, &a), HT_ERR_TOO_LONG);
}

static void test_rcodes(void **state)
{
	struct m m;
	struct dns_answer a;

	(void)state;
	/* NXDOMAIN with the SOA in the authority section (not read). */
	start(&m, DNS_RCODE_NXDOMAIN, 0, "nx.example.com", DNS_TYPE_A);
	m.b[9] = 1; /* NSCOUNT */
	wname(&m, "example.com");
	rr(&m, 6, 900, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22);
	assert_int_equal(parse(&m, "nx.example.com", DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.result, DNS_RESULT_NXDOMAIN);
	assert_int_equal(a.rcode, 3);
	assert_int_equal(a.naddr, 0);
	assert_int_equal(dns_outcome(HT_OK, &a), DNS_OUTCOME_HOST_UNREACHABLE);
	assert_int_equal(parse(&m, "nx.example.net", DNS_TYPE_A, &a), HT_ERR_MISMATCH);

	/* NOERROR, no answer: NODATA. */
	start(&m, 0, 0, WWW, DNS_TYPE_AAAA);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_AAAA, &a), HT_OK);
	assert_int_equal(a.result, DNS_RESULT_NODATA);
	assert_int_equal(dns_outcome(HT_OK, &a), DNS_OUTCOME_HOST_UNREACHABLE);
	every_prefix_fails(m.b, m.n, WWW, DNS_TYPE_AAAA);

	/* SERVFAIL and REFUSED with the question; FORMERR without it. */
	start(&m, DNS_RCODE_SERVFAIL, 0, WWW, DNS_TYPE_A);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.result, DNS_RESULT_FAILURE);
	assert_int_equal(a.rcode, 2);
	assert_int_equal(dns_outcome(HT_OK, &a), DNS_OUTCOME_GENERAL_FAILURE);
	assert_int_equal(parse(&m, "x.example.com", DNS_TYPE_A, &a), HT_ERR_MISMATCH);
	start(&m, DNS_RCODE_REFUSED, 0, WWW, DNS_TYPE_A);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.result, DNS_RESULT_FAILURE);
	assert_int_equal(a.rcode, 5);
	hdr(&m, ID, 0x8181, 0, 0, 0, 0);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.result, DNS_RESULT_FAILURE);
	assert_int_equal(a.rcode, 1);
	hdr(&m, ID, 0x8183, 0, 0, 0, 0); /* NXDOMAIN must carry the question */
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_VALUE);
	/* RCODE 15 (unassigned). */
	start(&m, 15, 0, WWW, DNS_TYPE_A);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.result, DNS_RESULT_FAILURE);
	assert_int_equal(a.rcode, 15);
}

static void test_truncated_bit(void **state)
{
	struct m m;
	struct dns_answer a;

	(void)state;
	start(&m, 0, 0, WWW, DNS_TYPE_A);
	m.b[2] |= 0x02;
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.result, DNS_RESULT_TRUNCATED);
	assert_int_equal(dns_outcome(HT_OK, &a), DNS_OUTCOME_GENERAL_FAILURE);
	/* The header alone is enough to know; the rest may be cut anywhere. */
	m.n = 12;
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.result, DNS_RESULT_TRUNCATED);
	m.b[1]++;
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_MISMATCH);
}

static void test_compression_attacks(void **state)
{
	struct m m;
	struct dns_answer a;
	size_t at;

	(void)state;
	/* Answer owner pointing at itself. */
	start(&m, 0, 1, WWW, DNS_TYPE_A);
	at = m.n;
	ptr(&m, at);
	rr_a(&m, 60, 192, 0, 2, 1);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_VALUE);
	/* Two pointers pointing at each other. */
	start(&m, 0, 2, WWW, DNS_TYPE_A);
	at = m.n;
	ptr(&m, at + 16);
	rr_a(&m, 60, 192, 0, 2, 1);
	ptr(&m, at);
	rr_a(&m, 60, 192, 0, 2, 2);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_VALUE);
	/* A label, then a pointer back to that label: a loop going backwards. */
	start(&m, 0, 1, WWW, DNS_TYPE_A);
	at = labels(&m, "www");
	ptr(&m, at);
	rr_a(&m, 60, 192, 0, 2, 1);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_VALUE);
	/* A forward pointer to a valid name. */
	start(&m, 0, 1, WWW, DNS_TYPE_A);
	at = m.n;
	ptr(&m, at + 16); /* to the name right after this record */
	rr_a(&m, 60, 192, 0, 2, 1);
	wname(&m, "x");
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_VALUE);
	/* A pointer into the header. */
	start(&m, 0, 1, WWW, DNS_TYPE_A);
	ptr(&m, 2);
	rr_a(&m, 60, 192, 0, 2, 1);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_VALUE);
	/* A pointer in the question (nothing valid to point at). */
	hdr(&m, ID, 0x8180, 1, 0, 0, 0);
	ptr(&m, 0);
	u16(&m, 1);
	u16(&m, 1);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_VALUE);
	/* A label length over 63 in an answer owner. */
	start(&m, 0, 1, WWW, DNS_TYPE_A);
	u8(&m, 64);
	for (int i = 0; i < 64; i++)
		u8(&m, 'a');
	u8(&m, 0);
	rr_a(&m, 60, 192, 0, 2, 1);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_VALUE);
	/* ... and in the question. */
	hdr(&m, ID, 0x8180, 1, 0, 0, 0);
	u8(&m, 0x41);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_VALUE);
}

static void test_record_errors(void **state)
{
	struct m m;
	struct dns_answer a;

	(void)state;
	/* A with 5 bytes of RDATA, even for another owner. */
	start(&m, 0, 1, WWW, DNS_TYPE_A);
	wname(&m, "other.example.com");
	rr(&m, DNS_TYPE_A, 60, "\xc0\x00\x02\x01\x00", 5);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_LENGTH);
	/* AAAA with 4. */
	start(&m, 0, 1, WWW, DNS_TYPE_A);
	ptr(&m, 12);
	rr(&m, DNS_TYPE_AAAA, 60, "\xc0\x00\x02\x01", 4);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_BAD_LENGTH);
	/* RDLENGTH past the end. */
	start(&m, 0, 1, WWW, DNS_TYPE_A);
	ptr(&m, 12);
	rr_a(&m, 60, 192, 0, 2, 1);
	m.b[m.n - 5] = 5;
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_TRUNCATED);
	/* ANCOUNT larger than the records present. */
	start(&m, 0, 2, WWW, DNS_TYPE_A);
	ptr(&m, 12);
	rr_a(&m, 60, 192, 0, 2, 1);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_ERR_TRUNCATED);
	assert_int_equal(a.naddr, 0);
	/* Header shorter than 12. */
	assert_int_equal(parse_bytes(one_a, 11, ID, WWW, DNS_TYPE_A, &a), HT_ERR_TRUNCATED);
}

static void test_many_and_ttl(void **state)
{
	struct m m;
	struct dns_answer a;

	(void)state;
	start(&m, 0, 12, WWW, DNS_TYPE_A);
	for (uint8_t i = 0; i < 12; i++) {
		ptr(&m, 12);
		rr_a(&m, i == 10 ? 7u : 1000u + i, 192, 0, 2, (uint8_t)(10 + i));
	}
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.naddr, DNS_ADDR_MAX);
	assert_int_equal(a.naddr_seen, 12);
	for (unsigned i = 0; i < DNS_ADDR_MAX; i++)
		assert_v4(a.addr[i], 192, 0, 2, (uint8_t)(10 + i));
	assert_int_equal(a.ttl, 7); /* the minimum counts records beyond the array */
	every_prefix_fails(m.b, m.n, WWW, DNS_TYPE_A);

	/* RFC 2181 §8: a TTL with the top bit set is 0. */
	start(&m, 0, 2, WWW, DNS_TYPE_A);
	ptr(&m, 12);
	rr_a(&m, 0x80000000u, 192, 0, 2, 1);
	ptr(&m, 12);
	rr_a(&m, 30, 192, 0, 2, 2);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.ttl, 0);
	start(&m, 0, 1, WWW, DNS_TYPE_A);
	ptr(&m, 12);
	rr_a(&m, 0x7fffffffu, 192, 0, 2, 1);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.ttl, 0x7fffffffu);
}

static void test_trailing_sections_ignored(void **state)
{
	struct m m;
	struct dns_answer a;

	(void)state;
	start(&m, 0, 1, WWW, DNS_TYPE_A);
	m.b[11] = 3; /* ARCOUNT 3, garbage instead */
	ptr(&m, 12);
	rr_a(&m, 60, 192, 0, 2, 1);
	u8(&m, 0xc0);
	u8(&m, 0xff);
	assert_int_equal(parse(&m, WWW, DNS_TYPE_A, &a), HT_OK);
	assert_int_equal(a.naddr, 1);
}

static void test_outcome(void **state)
{
	struct dns_answer a;

	(void)state;
	/* The values are the SOCKS5 REP codes. */
	assert_int_equal(DNS_OUTCOME_OK, SOCKS5_REP_SUCCEEDED);
	assert_int_equal(DNS_OUTCOME_GENERAL_FAILURE, SOCKS5_REP_GENERAL_FAILURE);
	assert_int_equal(DNS_OUTCOME_HOST_UNREACHABLE, SOCKS5_REP_HOST_UNREACHABLE);
	memset(&a, 0, sizeof(a));
	assert_int_equal(dns_outcome(HT_OK, NULL), DNS_OUTCOME_GENERAL_FAILURE);
	a.result = DNS_RESULT_ADDRESSES; /* without addresses: inconsistent */
	assert_int_equal(dns_outcome(HT_OK, &a), DNS_OUTCOME_GENERAL_FAILURE);
	a.naddr = 1;
	assert_int_equal(dns_outcome(HT_OK, &a), DNS_OUTCOME_OK);
	assert_int_equal(dns_outcome(HT_ERR_TRUNCATED, &a), DNS_OUTCOME_GENERAL_FAILURE);
	a.result = DNS_RESULT_TRUNCATED;
	assert_int_equal(dns_outcome(HT_OK, &a), DNS_OUTCOME_GENERAL_FAILURE);
	a.result = DNS_RESULT_NXDOMAIN;
	assert_int_equal(dns_outcome(HT_OK, &a), DNS_OUTCOME_HOST_UNREACHABLE);

	assert_int_equal(dns_outcome_merge(DNS_OUTCOME_OK, DNS_OUTCOME_GENERAL_FAILURE),
	                 DNS_OUTCOME_OK);
	assert_int_equal(dns_outcome_merge(DNS_OUTCOME_HOST_UNREACHABLE, DNS_OUTCOME_OK),
	                 DNS_OUTCOME_OK);
	assert_int_equal(
	    dns_outcome_merge(DNS_OUTCOME_GENERAL_FAILURE, DNS_OUTCOME_HOST_UNREACHABLE),
	    DNS_OUTCOME_HOST_UNREACHABLE);
	assert_int_equal(
	    dns_outcome_merge(DNS_OUTCOME_GENERAL_FAILURE, DNS_OUTCOME_GENERAL_FAILURE),
	    DNS_OUTCOME_GENERAL_FAILURE);
}

/* A query, its TCP framing and a response built by echoing it. */
static void test_query_response_round_trip(void **state)
{
	uint8_t q[DNS_QUERY_MAX + 16], *msg;
	struct dns_answer a;
	int n, f;

	(void)state;
	n = dns_query_build(q, DNS_QUERY_MAX, 0xbeef, "api.example.net", 15, DNS_TYPE_AAAA, true);
	assert_int_equal(n, 2 + 12 + 17 + 4);
	f = dns_tcp_frame_len(q, (size_t)n);
	assert_int_equal(f, n);
	msg = q + 2;
	msg[2] |= 0x80; /* QR */
	msg[7] = 1;     /* ANCOUNT */
	memcpy(q + n,
	       "\xc0\x0c\x00\x1c\x00\x01\x00\x00\x00\x3c\x00\x10"
	       "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x42",
	       28);
	assert_int_equal(
	    parse_bytes(msg, (size_t)n - 2 + 28, 0xbeef, "api.example.net", DNS_TYPE_AAAA, &a),
	    HT_OK);
	assert_int_equal(a.naddr, 1);
	assert_v6(a.addr[0], 0x42);
	assert_int_equal(a.ttl, 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_encode),
	    cmocka_unit_test(test_name_to_text),
	    cmocka_unit_test(test_name_unpack),
	    cmocka_unit_test(test_name_unpack_too_long),
	    cmocka_unit_test(test_query_layout),
	    cmocka_unit_test(test_tcp_frame_len),
	    cmocka_unit_test(test_one_a),
	    cmocka_unit_test(test_header_checks),
	    cmocka_unit_test(test_several_aaaa),
	    cmocka_unit_test(test_cname_chain),
	    cmocka_unit_test(test_cname_rules),
	    cmocka_unit_test(test_cname_limits),
	    cmocka_unit_test(test_rcodes),
	    cmocka_unit_test(test_truncated_bit),
	    cmocka_unit_test(test_compression_attacks),
	    cmocka_unit_test(test_record_errors),
	    cmocka_unit_test(test_many_and_ttl),
	    cmocka_unit_test(test_trailing_sections_ignored),
	    cmocka_unit_test(test_outcome),
	    cmocka_unit_test(test_query_response_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
