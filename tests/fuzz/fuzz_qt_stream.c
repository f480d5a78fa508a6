/* libFuzzer harness for src/proto/qt_stream.c.
 *
 * Input: byte 0 = flags (bit 0: the peer opened the stream, bit 1: FIN after
 * the last byte), bytes 1-2 = seed for the chunking, rest = stream bytes.
 * Oracles (abort() on failure):
 *  1. the incremental parser gives the same verdict, bytestream offset and
 *     info whether fed in one read or in random chunks (with empty reads);
 *  2. every TLV qt_tlv_parse() accepts re-encodes to the very same bytes;
 *  3. an accepted header, re-serialized canonically, parses back to the
 *     same info;
 *  4. on a peer-opened stream, a rejected header's reply
 *     (qt_stream_write_reject) is an Error + End the peer accepts, carrying
 *     qt_stream_error_code() of the failure; on our own streams there is
 *     no reply to write (our header is already out).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"
#include "proto/qt_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t rng_next(uint32_t *s)
{
	/* xorshift32; the seed is never 0. */
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static size_t chunk_len(uint32_t *s, size_t left)
{
	uint32_t r = rng_next(s);
	size_t n;

	switch (r & 7) {
	case 0:
		n = 0;
		break;
	case 1:
	case 2:
		n = 1;
		break;
	case 3:
		n = 2;
		break;
	case 4:
		n = (r >> 8) % 24;
		break;
	case 5:
		n = (r >> 8) % 300;
		break;
	default:
		n = (r >> 8) % 64;
		break;
	}
	return n < left ? n : left;
}

static void check(int cond)
{
	if (!cond)
		abort();
}

static void same_peer(const struct qt_peer *a, const struct qt_peer *b)
{
	check(a->port == b->port && memcmp(a->addr, b->addr, 16) == 0);
}

static void same_info(const struct qt_stream_info *a, const struct qt_stream_info *b,
                      bool exact_count)
{
	check(a->seen == b->seen);
	same_peer(&a->remote, &b->remote);
	same_peer(&a->local, &b->local);
	check(a->error_code == b->error_code);
	check(a->error_payload_len == b->error_payload_len);
	check(memcmp(a->error_payload, b->error_payload, a->error_payload_len) == 0);
	check(exact_count ? a->error_count == b->error_count
	                  : (a->error_count > 0) == (b->error_count > 0));
}

/* Oracle 2: one-TLV parse → write is the identity on accepted TLVs. */
static void tlv_identity(const uint8_t *b, size_t n)
{
	uint8_t out[QT_TLV_MAX_SIZE];
	struct qt_tlv t;
	int r;

	while ((r = qt_tlv_parse(&t, b, n)) > 0) {
		int w = qt_tlv_write(out, sizeof(out), &t);

		check(w == r && memcmp(out, b, (size_t)r) == 0);
		b += r;
		n -= (size_t)r;
	}
	check(r == HT_ERR_NEED_MORE || r == HT_ERR_BAD_TYPE || r == HT_ERR_BAD_LENGTH ||
	      r == HT_ERR_BAD_ADDRESS);
}

/* Oracle 3: canonical re-serialization of an accepted header. */
static void header_roundtrip(const struct qt_stream_parser *p)
{
	const struct qt_stream_info *in = &p->info;
	uint8_t out[512];
	size_t n = 0;
	int w;
	struct qt_stream_parser q;

	if (in->seen & QT_SEEN_CONNECT)
		w = qt_tlv_write_connect(out, sizeof(out), &in->remote);
	else if (in->seen & QT_SEEN_EXT_CONNECT)
		w = qt_tlv_write_ext_connect(out, sizeof(out), &in->remote, &in->local);
	else if (in->seen & QT_SEEN_CONNECT_OK)
		w = qt_tlv_write_connect_ok(out, sizeof(out));
	else
		w = 0;
	check(w >= 0);
	n += (size_t)w;
	if (in->seen & QT_SEEN_ERROR) {
		w = qt_tlv_write_error(out + n, sizeof(out) - n, in->error_code, in->error_payload,
		                       in->error_payload_len);
		check(w >= 4);
		n += (size_t)w;
	}
	w = qt_tlv_write_end(out + n, sizeof(out) - n);
	check(w == 2);
	n += 2;
	qt_stream_parser_init(&q, p->peer_opened);
	check(qt_stream_parser_feed(&q, out, n, true) == (int)n);
	same_info(&in[0], &q.info, false);
}

/* Oracle 4: our rejection is something the peer accepts. */
static void reject_roundtrip(const struct qt_stream_parser *p)
{
	uint8_t out[16];
	struct qt_stream_parser q;
	int w = qt_stream_write_reject(out, sizeof(out), p);

	check(w == 6 || w == 7);
	/* The peer sees it on the stream from its own point of view. */
	qt_stream_parser_init(&q, !p->peer_opened);
	check(qt_stream_parser_feed(&q, out, (size_t)w, true) == w);
	check(q.info.seen == (QT_SEEN_ERROR | QT_SEEN_END));
	check(q.info.error_code == qt_stream_error_code(p->err));
	check(q.info.error_payload_len == (q.info.error_code == QT_ERR_UNKNOWN_TLV ? 1 : 0));
	if (q.info.error_payload_len == 1)
		check(q.info.error_payload[0] == p->bad_type);
	check(qt_stream_write_reject(out, (size_t)w - 1, p) == HT_ERR_NOBUF);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qt_stream_parser whole, part;
	uint8_t out[16];
	bool peer_opened, fin, found = false;
	uint32_t seed;
	size_t pos = 0, start = 0;
	int rw, rp = HT_ERR_NEED_MORE;

	if (size < 3)
		return 0;
	peer_opened = data[0] & 1;
	fin = (data[0] & 2) != 0;
	seed = ((uint32_t)data[1] << 8 | data[2]) + 1;
	data += 3;
	size -= 3;

	tlv_identity(data, size);

	qt_stream_parser_init(&whole, peer_opened);
	rw = qt_stream_parser_feed(&whole, data, size, fin);
	check(rw == HT_ERR_NEED_MORE || (rw < 0 && whole.err == rw) ||
	      (rw >= 0 && (size_t)rw <= size));

	/* Oracle 1: random chunking, including empty reads. */
	qt_stream_parser_init(&part, peer_opened);
	for (;;) {
		size_t n = chunk_len(&seed, size - pos);
		bool last = pos + n == size;
		int r = qt_stream_parser_feed(&part, data + pos, n, fin && last);

		if (r >= 0) {
			check((size_t)r <= n);
			if (!found) {
				found = true;
				start = pos + (size_t)r;
			} else {
				check(r == 0);
			}
			rp = r;
		} else if (r != HT_ERR_NEED_MORE) {
			rp = r;
			break;
		} else {
			check(!found);
		}
		pos += n;
		if (last)
			break;
	}
	if (rw >= 0) {
		check(found && rp >= 0 && start == (size_t)rw);
	} else {
		check(rp == rw);
		check(rw == HT_ERR_NEED_MORE || part.bad_type == whole.bad_type);
	}
	same_info(&whole.info, &part.info, true);

	if (rw >= 0) {
		check(whole.info.seen & QT_SEEN_END);
		header_roundtrip(&whole);
	} else if (rw != HT_ERR_NEED_MORE) {
		if (peer_opened)
			reject_roundtrip(&whole);
		else
			check(qt_stream_write_reject(out, sizeof(out), &whole) == HT_ERR_INVAL);
		/* Sticky. */
		check(qt_stream_parser_feed(&whole, data, size, false) == rw);
	}
	return 0;
}
