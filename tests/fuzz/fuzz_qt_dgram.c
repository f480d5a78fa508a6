/* libFuzzer harness for src/proto/qt_dgram.c.
 *
 * Input: byte 0 = flags (bit 0: TAGGED instead of RAW), rest = the Datagram
 * Data of one DATAGRAM frame.
 * Oracles (abort() on failure):
 *  1. an accepted datagram, re-encapsulated in place with qt_dgram_encap()
 *     in front of a copy of its packet, parses back to the same fields, the
 *     packet is not moved, and for TAGGED the header bytes are identical;
 *  2. a RAW packet that is accepted is also accepted as TAGGED with the
 *     inferred Protocol Type (the profiles check packets alike);
 *  3. the Packet Tag helpers are consistent on the tags found in the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"
#include "proto/qt_dgram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADROOM 8u

static void check(int cond)
{
	if (!cond)
		abort();
}

static void tags(uint16_t a, uint16_t b)
{
	int d = qt_tag_diff(a, b);

	check(d >= -32768 && d <= 32767);
	check(qt_tag_add(b, (uint16_t)d) == a);
	check(qt_tag_add(a, qt_tag_fwd(a, b)) == b);
	check(qt_tag_lt(a, b) == qt_tag_gt(b, a));
	check(!(qt_tag_lt(a, b) && qt_tag_lt(b, a)));
	check(qt_tag_lt(a, b) == (d < 0 && d != -32768));
	check((a == b) == (d == 0));
	if (d != -32768)
		check(qt_tag_diff(b, a) == -d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum qt_dgram_profile prof;
	struct qt_dgram d, e;
	uint8_t *frame;
	int r, off;

	if (size < 1)
		return 0;
	prof = (data[0] & 1) ? QT_DGRAM_TAGGED : QT_DGRAM_RAW;
	data++;
	size--;
	if (size >= 4)
		tags((uint16_t)(data[0] << 8 | data[1]), (uint16_t)(data[2] << 8 | data[3]));

	r = qt_dgram_parse(&d, prof, data, size);
	if (r != HT_OK) {
		check(r == HT_ERR_TRUNCATED || r == HT_ERR_TRAILING || r == HT_ERR_MISMATCH ||
		      r == HT_ERR_BAD_VERSION || r == HT_ERR_UNSUPPORTED);
		check(r != HT_ERR_BAD_VERSION || prof == QT_DGRAM_RAW);
		check(r != HT_ERR_MISMATCH || prof == QT_DGRAM_TAGGED);
		return 0;
	}
	check(d.pkt >= data && d.pkt + d.pkt_len == data + size);
	check(d.pkt_len + qt_dgram_hdr_size(prof) == size);
	check(prof == QT_DGRAM_TAGGED || d.tag == 0);

	/* Oracle 1 (and 2 for RAW, which becomes TAGGED here). */
	frame = malloc(HEADROOM + d.pkt_len + 1);
	check(frame != NULL);
	memcpy(frame + HEADROOM, d.pkt, d.pkt_len);
	off = qt_dgram_encap(frame, HEADROOM, d.proto, d.tag);
	check(off == HEADROOM - 4);
	r = qt_dgram_parse(&e, QT_DGRAM_TAGGED, frame + off, d.pkt_len + 4);
	check(r == HT_OK);
	check(e.proto == d.proto && e.tag == d.tag && e.pkt_len == d.pkt_len);
	check(e.pkt == frame + HEADROOM);
	check(memcmp(e.pkt, d.pkt, d.pkt_len) == 0);
	if (prof == QT_DGRAM_TAGGED)
		check(memcmp(frame + off, data, 4) == 0);
	else
		check(qt_dgram_parse(&e, QT_DGRAM_RAW, frame + HEADROOM, d.pkt_len) == HT_OK &&
		      e.proto == d.proto);
	free(frame);
	return 0;
}
