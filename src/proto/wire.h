/* hatun — big-endian load/store helpers for the codecs.
 *
 * Byte-wise on purpose: several formats put multi-byte fields at unaligned
 * offsets (the Extended Connect TLV's Local Peer IP starts at byte 22), so a
 * struct overlay or a cast to uint32_t * would be undefined behaviour.
 * Callers check lengths before calling these.
 */
#ifndef HATUN_PROTO_WIRE_H
#define HATUN_PROTO_WIRE_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t ht_get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t ht_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t ht_get64(const uint8_t *p)
{
	return (uint64_t)ht_get32(p) << 32 | ht_get32(p + 4);
}

static inline uint8_t *ht_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static inline uint8_t *ht_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static inline uint8_t *ht_put64(uint8_t *p, uint64_t v)
{
	ht_put32(p, (uint32_t)(v >> 32));
	return ht_put32(p + 4, (uint32_t)v);
}

/* Round n up to a multiple of 4 (STUN attribute and Convert TLV padding). */
static inline size_t ht_pad4(size_t n)
{
	return (n + 3u) & ~(size_t)3u;
}

#endif
