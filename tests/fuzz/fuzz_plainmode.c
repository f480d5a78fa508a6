/* libFuzzer harness for src/proto/plainmode.c.
 *
 * Input: byte 0's low nibble is the configured subtype, the rest a TCP
 * options block.  Oracle: an option pm_find() or pm_parse() accepts must be
 * rewritten by pm_write() to the same bytes, flag bits cleared, and parse
 * back to the same fields; a block with a found option must still validate
 * and find it at the same place.  Any mismatch aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"
#include "proto/plainmode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static bool same_opt(const struct pm_opt *a, const struct pm_opt *b)
{
	return a->source == b->source && a->udp == b->udp && a->v6 == b->v6 &&
	       a->has_port == b->has_port && memcmp(a->addr, b->addr, 16) == 0 &&
	       (!a->has_port || a->port == b->port);
}

/* p[0..len) parsed into o: rewrite, compare bytes and fields. */
static void check_roundtrip(const uint8_t *p, size_t len, uint8_t sub, const struct pm_opt *o)
{
	uint8_t out[PM_MAX_LEN];
	struct pm_opt o2;
	int n = pm_write(out, sizeof(out), sub, o);

	CHECK(n == (int)len && pm_opt_len(o) == len);
	/* Same bytes except the reserved flags, which are never sent. */
	CHECK(out[0] == p[0] && out[1] == p[1] && out[2] == (p[2] & 0xFC) && out[3] == 0);
	CHECK(memcmp(out + 4, p + 4, len - 4) == 0);
	CHECK(pm_parse(out, len, sub, &o2) == (int)len);
	CHECK(same_opt(o, &o2) && o2.reserved == 0);
	CHECK(pm_write(out, len - 1, sub, o) == HT_ERR_NOBUF);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pm_opt o;
	size_t at;
	uint8_t sub;
	int rc;

	if (size < 1)
		return 0;
	sub = data[0] & 0xF;
	data++;
	size--;

	rc = pm_parse(data, size, sub, &o);
	CHECK(rc == (int)size || rc < 0);
	if (rc > 0)
		check_roundtrip(data, size, sub, &o);

	rc = pm_find(data, size, sub, &o, &at);
	CHECK(rc == 0 || rc == 1 || rc < 0);
	if (rc == 1) {
		struct pm_opt o2;
		size_t at2;

		CHECK(at + data[at + 1] <= size);
		CHECK(pm_parse(data + at, data[at + 1], sub, &o2) == data[at + 1]);
		CHECK(same_opt(&o, &o2));
		check_roundtrip(data + at, data[at + 1], sub, &o);
		/* Cutting the block right after the option keeps it valid. */
		CHECK(pm_find(data, at + data[at + 1], sub, &o2, &at2) == 1 && at2 == at);
	}
	return 0;
}
