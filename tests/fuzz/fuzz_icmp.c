/* Fuzz src/proto/icmp.c: parse as ICMPv4 and ICMPv6; whatever parses must
 * rebuild to the same bytes (apart from the checksum field, which the
 * builder computes) and re-parse identically. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/icmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	static const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
	uint8_t out[2048];

	for (int family = 4; family <= 6; family += 2) {
		struct icmp_msg m, m2;
		size_t want;
		int n;

		if (icmp_parse(&m, family, data, size) < 0)
			continue;
		(void)icmp_reason(&m);
		n = icmp_build(out, sizeof(out), sizeof(out), family, m.type, m.code, m.info,
			       m.quoted, m.quoted_len, src, dst);
		/* A message longer than max_len is truncated to it, never refused. */
		want = size > sizeof(out) ? sizeof(out) : size;
		if (n != (int)want || memcmp(out, data, 2) != 0 ||
		    memcmp(out + 4, data + 4, want - 4) != 0)
			abort();
		if (icmp_parse(&m2, family, out, (size_t)n) != n || m2.type != m.type ||
		    m2.code != m.code || m2.info != m.info || m2.quoted_len != want - 8)
			abort();
	}
	if (size >= 40) {
		uint8_t q[64];

		if (icmp_build_quote_tcp(q, sizeof(q), 6, data, data + 16, 1, 2, data + 32) != 48)
			abort();
	}
	return 0;
}
