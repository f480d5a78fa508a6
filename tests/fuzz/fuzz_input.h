/* hatun — what the address-policy fuzz harnesses share (fuzz_policy.c,
 * fuzz_route_rule.c): the input read as a byte stream that yields zeros
 * once exhausted, a check that aborts (libFuzzer's crash), and the bit and
 * IPv4-mapped tests of their reference models. */
#ifndef HATUN_TESTS_FUZZ_INPUT_H
#define HATUN_TESTS_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline void check(int cond)
{
	if (!cond)
		abort();
}

struct in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t take(struct in *in)
{
	uint8_t b = 0;

	if (in->n > 0) {
		b = *in->p++;
		in->n--;
	}
	return b;
}

static inline void take_n(struct in *in, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = take(in);
}

/* Bit i of a 128-bit address, most significant first. */
static inline int bit(const uint8_t a[16], unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

static inline bool is_mapped(const uint8_t a[16])
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, pfx, 12) == 0;
}

#endif
