/* libFuzzer harness for src/proto/demux.c.
 *
 * Oracle: an independent restatement of the first-octet table.  The two must
 * agree on every datagram, and the classifier must never read past len.
 */
#include <stdint.h>
#include <stdlib.h>

#include "proto/demux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum demux_class expected(const uint8_t *d, size_t n)
{
	size_t body;

	if (n == 0)
		return DEMUX_DROP;
	if (d[0] < 4) {
		if (n < 20 || d[4] != 0x21 || d[5] != 0x12 || d[6] != 0xa4 || d[7] != 0x42)
			return DEMUX_DROP;
		body = (size_t)d[2] * 256 + d[3];
		return (body & 3) == 0 && body + 20 == n ? DEMUX_STUN : DEMUX_DROP;
	}
	if ((d[0] >= 64 && d[0] <= 127) || d[0] >= 192)
		return DEMUX_QUIC;
	return DEMUX_DROP;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum demux_class c = demux_classify(data, size);

	if (c != expected(data, size))
		abort();
	if ((c == DEMUX_STUN) != demux_is_stun(data, size))
		abort();
	if (demux_class_name(c) == NULL)
		abort();
	return 0;
}
