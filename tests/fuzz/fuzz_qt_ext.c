/* libFuzzer harness for src/proto/qt_ext.c (address-assignment TLVs).
 *
 * Input: byte 0 = flags (bit 0: local role is the concentrator, i.e. the
 * stream is the client's; bit 1: FIN after the last byte), bytes 1-2 =
 * chunking seed, rest = the extension phase of the peer's control stream.
 * Oracles (abort() on failure):
 *  1. every TLV qt_ext_parse() accepts (walking the input TLV by TLV, both
 *     senders) re-encodes to the very bytes it came from, and its errors are
 *     the documented ones;
 *  2. the same messages, verdict and state whether the stream arrives in one
 *     read or in random chunks (with empty reads);
 *  3. every delivered configuration passes qt_ext_config_check(), and
 *     parse → write → parse gives the same configuration (the writer's
 *     output fed to a fresh assembler); the same for Address Requests.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"
#include "proto/qt_ext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSGS 8

struct run {
	struct qt_ext_asm a;
	int verdict;
	size_t nmsg;
	size_t end[MAX_MSGS];
	struct qt_ext_msg msg[MAX_MSGS];
};

static struct run whole, part;

static void check(int cond)
{
	if (!cond)
		abort();
}

static uint32_t rng_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static bool same_request(const struct qt_ext_request *a, const struct qt_ext_request *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->want[i].version != b->want[i].version || a->want[i].len != b->want[i].len ||
		    memcmp(a->want[i].addr, b->want[i].addr, 16) != 0)
			return false;
	return true;
}

static bool same_msg(const struct qt_ext_msg *a, const struct qt_ext_msg *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == QT_EXT_PATH_PREF)
		return a->pref.scheduler == b->pref.scheduler && a->pref.backup == b->pref.backup &&
		       a->pref.weight == b->pref.weight;
	return a->type == QT_EXT_ADDR_REQUEST ? same_request(&a->req, &b->req)
	                                      : qt_ext_config_equal(&a->cfg, &b->cfg);
}

/* Oracle 3. */
static void round_trip(const struct qt_ext_msg *m, enum qt_ctrl_role local)
{
	static uint8_t out[QT_EXT_CONFIG_MAX_SIZE];
	static struct qt_ext_asm a;
	static struct qt_ext_msg back;
	size_t used;
	int n;

	if (m->type == QT_EXT_CONFIG_DONE) {
		check(local == QT_CTRL_CLIENT);
		check(qt_ext_config_check(&m->cfg) == HT_OK);
		n = qt_ext_write_config(out, sizeof(out), &m->cfg);
		check(n > 0 && (size_t)n <= sizeof(out));
		check(qt_ext_write_config(out, (size_t)n - 1, &m->cfg) == HT_ERR_NOBUF);
	} else if (m->type == QT_EXT_PATH_PREF) {
		check(local == QT_CTRL_CONCENTRATOR);
		n = qt_ext_write_path_pref(out, sizeof(out), &m->pref);
		check(n == 6);
	} else {
		check(m->type == QT_EXT_ADDR_REQUEST && local == QT_CTRL_CONCENTRATOR);
		n = qt_ext_write_addr_request(out, sizeof(out), &m->req);
		check(n >= 2 && n <= (int)QT_EXT_TLV_MAX_SIZE);
	}
	qt_ext_asm_init(&a, local);
	check(qt_ext_asm_feed(&a, out, (size_t)n, true, &used, &back) == 1);
	check(used == (size_t)n && a.fin);
	check(same_msg(m, &back));
}

/* Feed data[from, from + n) and drain every message it completes. */
static int feed_chunk(struct run *r, const uint8_t *data, size_t from, size_t n, bool fin)
{
	size_t off = 0;

	for (;;) {
		static struct qt_ext_msg m;
		size_t used;
		int v = qt_ext_asm_feed(&r->a, data + from + off, n - off, fin, &used, &m);

		check(used <= n - off);
		off += used;
		if (v < 0) {
			check(r->a.err == v);
			return v;
		}
		if (v == 0) {
			check(off == n);
			return 0;
		}
		check(v == 1 && used >= 1);
		if (r->nmsg < MAX_MSGS) {
			r->end[r->nmsg] = from + off;
			r->msg[r->nmsg] = m;
		}
		r->nmsg++;
		if (off == n)
			return 0;
	}
}

/* Oracle 1: walk the input as a TLV sequence from `sender`. */
static void walk(const uint8_t *data, size_t size, enum qt_ctrl_role sender)
{
	uint8_t out[QT_EXT_TLV_MAX_SIZE];
	struct qt_ext_tlv t;
	size_t pos = 0;

	while (pos < size) {
		int r = qt_ext_parse(&t, data + pos, size - pos, sender);

		if (r <= 0) {
			check(r == HT_ERR_NEED_MORE || r == HT_ERR_WRONG_SENDER ||
			      r == HT_ERR_BAD_TYPE || r == HT_ERR_BAD_LENGTH ||
			      r == HT_ERR_BAD_VALUE || r == HT_ERR_BAD_ADDRESS ||
			      r == HT_ERR_TOO_LONG || r == HT_ERR_DUPLICATE);
			return;
		}
		check((size_t)r == 2u + t.len && (size_t)r <= size - pos);
		check(qt_ext_write(out, sizeof(out), &t) == r);
		check(memcmp(out, data + pos, (size_t)r) == 0);
		check(qt_ext_write(out, (size_t)r - 1, &t) == HT_ERR_NOBUF);
		pos += (size_t)r;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum qt_ctrl_role local;
	uint32_t seed;
	size_t pos = 0;
	bool fin;

	if (size < 3)
		return 0;
	local = (data[0] & 1) ? QT_CTRL_CONCENTRATOR : QT_CTRL_CLIENT;
	fin = (data[0] & 2) != 0;
	seed = ((uint32_t)data[1] << 8 | data[2]) + 1;
	data += 3;
	size -= 3;

	walk(data, size, QT_CTRL_CLIENT);
	walk(data, size, QT_CTRL_CONCENTRATOR);

	memset(&whole, 0, sizeof(whole));
	qt_ext_asm_init(&whole.a, local);
	whole.verdict = feed_chunk(&whole, data, 0, size, fin);

	memset(&part, 0, sizeof(part));
	qt_ext_asm_init(&part.a, local);
	for (;;) {
		uint32_t x = rng_next(&seed);
		size_t n = (x & 3) == 0 ? 0 : (x & 3) == 1 ? 1 : (x >> 8) % 64;
		bool last;

		if (n > size - pos)
			n = size - pos;
		last = pos + n == size;
		part.verdict = feed_chunk(&part, data, pos, n, fin && last);
		pos += n;
		if (part.verdict < 0 || last)
			break;
	}

	/* Oracle 2. */
	check(whole.verdict == part.verdict);
	check(whole.nmsg == part.nmsg);
	for (size_t i = 0; i < whole.nmsg && i < MAX_MSGS; i++) {
		check(whole.end[i] == part.end[i]);
		check(same_msg(&whole.msg[i], &part.msg[i]));
		round_trip(&whole.msg[i], local); /* oracle 3 */
	}
	check(whole.a.fin == part.a.fin && whole.a.open == part.a.open);
	check(whole.a.ignored == part.a.ignored && whole.a.messages == part.a.messages);
	if (whole.verdict < 0)
		check(whole.verdict >= HT_ERR__LAST + 1);
	return 0;
}
