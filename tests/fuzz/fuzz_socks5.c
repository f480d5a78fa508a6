/* libFuzzer harness for src/proto/socks5.c.
 *
 * The input is given to every parser (greeting, request, method reply,
 * reply): they all start with VER, so one corpus serves them all.
 * Oracles (abort() on failure):
 *  1. stream consistency: every prefix of the input gives HT_ERR_NEED_MORE
 *     or the full input's result; a message of n bytes gives NEED_MORE on
 *     every shorter prefix and n on every longer one;
 *  2. round trip: an accepted greeting / request / reply, written back,
 *     is the input's first n bytes (RSV written as 0) and parses back to the
 *     same fields; a reply written from a parsed address with
 *     socks5_write_reply() parses back to that address and port;
 *  3. the request and reply parsers agree on a CONNECT (same layout);
 *  4. socks5_error_rep() of any request error is a REP code or NO_REPLY,
 *     and NO_REPLY exactly for BAD_VERSION.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/addr.h"
#include "proto/err.h"
#include "proto/socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

typedef int (*parse_fn)(const uint8_t *buf, size_t len);

static int p_greeting(const uint8_t *b, size_t n)
{
	struct socks5_greeting g;

	return socks5_parse_greeting(&g, b, n);
}

static int p_request(const uint8_t *b, size_t n)
{
	struct socks5_request r;

	return socks5_parse_request(&r, b, n);
}

static int p_reply(const uint8_t *b, size_t n)
{
	struct socks5_reply r;

	return socks5_parse_reply(&r, b, n);
}

static int p_method(const uint8_t *b, size_t n)
{
	uint8_t m;

	return socks5_parse_method_reply(&m, b, n);
}

/* Oracle 1.  Messages are at most SOCKS5_MSG_MAX bytes, so prefixes beyond
 * that add nothing. */
static void stream_consistent(parse_fn f, const uint8_t *b, size_t n)
{
	int full = f(b, n);
	size_t lim = n < SOCKS5_MSG_MAX + 1 ? n : SOCKS5_MSG_MAX + 1;

	check(full != 0);
	check(full < 0 || (size_t)full <= n);
	check(full <= (int)SOCKS5_MSG_MAX);
	for (size_t i = 0; i < lim; i++) {
		int r = f(b, i);

		if (full > 0)
			check(i < (size_t)full ? r == HT_ERR_NEED_MORE : r == full);
		else
			check(r == HT_ERR_NEED_MORE || r == full);
	}
}

static void same_addr(const struct socks5_addr *a, const struct socks5_addr *b)
{
	check(a->atyp == b->atyp);
	check(memcmp(a->addr, b->addr, 16) == 0);
	check(a->port == b->port);
	check(a->name_len == b->name_len);
	check(a->name_len == 0 || memcmp(a->name, b->name, a->name_len) == 0);
}

/* The input bytes of an accepted message, RSV zeroed. */
static void same_bytes_rsv0(const uint8_t *out, const uint8_t *in, size_t n)
{
	check(out[0] == in[0] && out[1] == in[1] && out[2] == 0);
	check(memcmp(out + 3, in + 3, n - 3) == 0);
}

/* Oracle 2, a written reply for a parsed IP address. */
static void reply_for(const struct socks5_addr *a)
{
	uint8_t out[SOCKS5_MSG_MAX];
	struct socks5_reply rp;
	int w, r;
	bool mapped = (ht_addr_classify(a->addr) & HT_ADDR_V4MAPPED) != 0;

	if (a->atyp == SOCKS5_ATYP_DOMAIN)
		return;
	w = socks5_write_reply(out, sizeof(out), SOCKS5_REP_SUCCEEDED, a->addr, a->port);
	check(w == (mapped ? (int)SOCKS5_REPLY_V4_SIZE : (int)SOCKS5_REPLY_V6_SIZE));
	check(socks5_write_reply(out, (size_t)w - 1, 0, a->addr, a->port) == HT_ERR_NOBUF);
	r = socks5_parse_reply(&rp, out, (size_t)w);
	check(r == w);
	check(rp.rep == SOCKS5_REP_SUCCEEDED && rp.rsv == 0);
	check(rp.bnd.atyp == (mapped ? SOCKS5_ATYP_IPV4 : SOCKS5_ATYP_IPV6));
	check(memcmp(rp.bnd.addr, a->addr, 16) == 0 && rp.bnd.port == a->port);
}

static void greeting(const uint8_t *b, size_t n)
{
	struct socks5_greeting g, g2;
	uint8_t out[SOCKS5_GREETING_MAX];
	int r = socks5_parse_greeting(&g, b, n), w;

	check(socks5_error_rep(SOCKS5_STAGE_GREETING, r) == SOCKS5_NO_REPLY);
	if (r <= 0)
		return;
	check(r == 2 + g.nmethods && g.nmethods >= 1 && g.methods == b + 2);
	check(g.no_auth == (memchr(g.methods, 0, g.nmethods) != NULL));
	w = socks5_write_greeting(out, sizeof(out), g.methods, g.nmethods);
	check(w == r && memcmp(out, b, (size_t)r) == 0);
	check(socks5_parse_greeting(&g2, out, (size_t)w) == w);
	check(g2.no_auth == g.no_auth && g2.nmethods == g.nmethods);
}

static void request(const uint8_t *b, size_t n)
{
	struct socks5_request q, q2;
	uint8_t out[SOCKS5_MSG_MAX];
	int r = socks5_parse_request(&q, b, n), w, rep;

	if (r < 0) {
		rep = socks5_error_rep(SOCKS5_STAGE_REQUEST, r);
		check(rep == SOCKS5_NO_REPLY || (rep >= 0 && rep <= SOCKS5_REP_ATYP_NOT_SUPPORTED));
		check((rep == SOCKS5_NO_REPLY) ==
		      (r == HT_ERR_BAD_VERSION || r == HT_ERR_NEED_MORE));
		check(r != HT_ERR_UNSUPPORTED || q.cmd != SOCKS5_CMD_CONNECT);
		return;
	}
	check(q.cmd == SOCKS5_CMD_CONNECT);
	check(q.dst.atyp != SOCKS5_ATYP_DOMAIN || (q.dst.name == b + 5 && q.dst.name_len >= 1));
	check(q.dst.atyp != SOCKS5_ATYP_IPV4 || (ht_addr_classify(q.dst.addr) & HT_ADDR_V4MAPPED));
	w = socks5_write_request(out, sizeof(out), &q);
	check(w == r);
	same_bytes_rsv0(out, b, (size_t)r);
	check(socks5_parse_request(&q2, out, (size_t)w) == w);
	check(q2.cmd == q.cmd && q2.rsv == 0);
	same_addr(&q.dst, &q2.dst);
	reply_for(&q.dst);
}

static void reply(const uint8_t *b, size_t n)
{
	struct socks5_reply p, p2;
	struct socks5_request as_req;
	uint8_t out[SOCKS5_MSG_MAX];
	int r = socks5_parse_reply(&p, b, n), w;

	/* Oracle 3: on a CONNECT-coded message the parsers agree. */
	if (n >= 2 && b[1] == SOCKS5_CMD_CONNECT)
		check(p_request(b, n) == r);
	if (r <= 0)
		return;
	/* A reply has the request's layout: write it through the request
	 * writer with REP in CMD's place. */
	memset(&as_req, 0, sizeof(as_req));
	as_req.cmd = p.rep;
	as_req.dst = p.bnd;
	w = socks5_write_request(out, sizeof(out), &as_req);
	check(w == r);
	same_bytes_rsv0(out, b, (size_t)r);
	check(socks5_parse_reply(&p2, out, (size_t)w) == w);
	check(p2.rep == p.rep);
	same_addr(&p.bnd, &p2.bnd);
	reply_for(&p.bnd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	stream_consistent(p_greeting, data, size);
	stream_consistent(p_request, data, size);
	stream_consistent(p_reply, data, size);
	stream_consistent(p_method, data, size);
	greeting(data, size);
	request(data, size);
	reply(data, size);
	return 0;
}
