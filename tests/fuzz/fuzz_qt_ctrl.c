/* libFuzzer harness for src/proto/qt_ctrl.c.
 *
 * Input: byte 0 = flags (bit 0: local role is the concentrator, bit 1:
 * profile qt instead of qt-01, bits 2-3: what we sent first (nothing, New
 * Session, Join Session), bit 4: FIN after the last byte), bytes 1-2 =
 * chunking seed, rest = the peer's control stream.
 * Oracles (abort() on failure):
 *  1. the same TLVs, the same final verdict and state whether the stream
 *     arrives in one read or in random chunks (with empty reads);
 *  2. every TLV delivered, and every TLV qt_ctrl_parse() accepts,
 *     re-encodes to the very bytes it came from;
 *  3. errors map to one of the defined RESET_STREAM codes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"
#include "proto/qt_ctrl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TLVS 64

struct run {
	struct qt_ctrl_conn c;
	int verdict; /* last return: 0 or an error */
	size_t ntlv;
	size_t end[MAX_TLVS]; /* offset just after each delivered TLV */
	uint8_t type[MAX_TLVS];
};

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

static void init_run(struct run *r, uint8_t flags)
{
	enum qt_ctrl_role role = (flags & 1) ? QT_CTRL_CONCENTRATOR : QT_CTRL_CLIENT;
	unsigned sent = (flags >> 2) & 3;

	memset(r, 0, sizeof(*r));
	qt_ctrl_conn_init(&r->c, role, (flags & 2) ? QT_CTRL_PROFILE_QT : QT_CTRL_PROFILE_01);
	if (role == QT_CTRL_CLIENT && sent == 1)
		check(qt_ctrl_conn_on_send(&r->c, QT_CTRL_NEW_SESSION) == HT_OK);
	if (role == QT_CTRL_CLIENT && sent == 2)
		check(qt_ctrl_conn_on_send(&r->c, QT_CTRL_JOIN_SESSION) == HT_OK);
}

/* Oracle 2 for a delivered TLV: it came from data[end - 2 - len, end). */
static void delivered(struct run *r, const uint8_t *data, size_t end, const struct qt_ctrl_tlv *t)
{
	uint8_t out[QT_CTRL_TLV_MAX_SIZE];
	int w = qt_ctrl_write(out, sizeof(out), t);

	check(w == 2 + t->len && (size_t)w <= end);
	check(memcmp(out, data + end - (size_t)w, (size_t)w) == 0);
	check(t->id_len == t->len);
	if (r->ntlv < MAX_TLVS) {
		r->end[r->ntlv] = end;
		r->type[r->ntlv] = t->type;
	}
	r->ntlv++;
}

static bool flags_qt(const struct run *r)
{
	return r->c.profile == QT_CTRL_PROFILE_QT;
}

/* Feed data[from, from + n) and drain every TLV it completes. */
static int feed_chunk(struct run *r, const uint8_t *data, size_t from, size_t n, bool fin)
{
	size_t off = 0;

	for (;;) {
		struct qt_ctrl_tlv t;
		size_t used;
		int v = qt_ctrl_conn_feed(&r->c, data + from + off, n - off, fin, &used, &t);

		check(used <= n - off);
		off += used;
		if (v < 0) {
			check(r->c.err == v);
			return v;
		}
		if (v == 0) {
			check(off == n);
			return 0;
		}
		if (v == QT_CTRL_FEED_EXT) {
			/* qt: the rest is the extension phase (not this codec's). */
			check(used == 0 && (flags_qt(r) && r->c.received) && (n > off || fin));
			return QT_CTRL_FEED_EXT;
		}
		check(v == 1 && used >= 1); /* >= 1: the TLV may have been buffered */
		delivered(r, data, from + off, &t);
		if (off == n && !fin)
			return 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, part;
	struct qt_ctrl_tlv t;
	uint8_t flags, out[QT_CTRL_TLV_MAX_SIZE];
	uint32_t seed;
	size_t pos = 0;
	bool fin;
	int r;

	if (size < 3)
		return 0;
	flags = data[0];
	fin = (flags & 0x10) != 0;
	seed = ((uint32_t)data[1] << 8 | data[2]) + 1;
	data += 3;
	size -= 3;

	/* Oracle 2 on the bare parser, both senders. */
	for (int who = 0; who < 2; who++) {
		r = qt_ctrl_parse(&t, data, size, (enum qt_ctrl_role)who);
		if (r > 0) {
			check(qt_ctrl_write(out, sizeof(out), &t) == r);
			check(memcmp(out, data, (size_t)r) == 0);
		} else {
			check(r == HT_ERR_NEED_MORE || r == HT_ERR_BAD_TYPE ||
			      r == HT_ERR_WRONG_SENDER || r == HT_ERR_BAD_LENGTH);
		}
	}

	init_run(&whole, flags);
	whole.verdict = feed_chunk(&whole, data, 0, size, fin);

	/* Oracle 1: random chunks. */
	init_run(&part, flags);
	for (;;) {
		uint32_t x = rng_next(&seed);
		size_t n = (x & 3) == 0 ? 0 : (x & 3) == 1 ? 1 : (x >> 8) % 40;
		bool last;

		if (n > size - pos)
			n = size - pos;
		last = pos + n == size;
		part.verdict = feed_chunk(&part, data, pos, n, fin && last);
		pos += n;
		if (part.verdict < 0 || part.verdict == QT_CTRL_FEED_EXT || last)
			break;
	}
	check(whole.verdict == part.verdict);
	check(whole.ntlv == part.ntlv);
	for (size_t i = 0; i < whole.ntlv && i < MAX_TLVS; i++)
		check(whole.end[i] == part.end[i] && whole.type[i] == part.type[i]);
	check(whole.c.fin == part.c.fin && whole.c.joined == part.c.joined);
	check(whole.c.received == part.c.received);
	check(whole.c.session_id_len == part.c.session_id_len);
	check(memcmp(whole.c.session_id, part.c.session_id, whole.c.session_id_len) == 0);

	/* One negotiation per connection, whatever the profile. */
	check(whole.ntlv <= 1);
	if (whole.verdict < 0) {
		uint64_t code = qt_ctrl_reset_code(whole.verdict);

		check(code == QT_CTRL_UNKNOWN_ERROR || code == QT_CTRL_CONFLICTING_STATE);
	}
	return 0;
}
