/* Preallocated frame slots for one direction.
 *
 * Ownership: a slot is free (on a free list), or held by the receive path
 * while a frame is copied in, or referenced by cookie from the scheduler's
 * queue or the transmit batch until the frame is sent or dropped. Small slots
 * hold any frame up to the MTU; a few big ones hold GSO super-frames. */
#ifndef LINKEM_SLAB_H
#define LINKEM_SLAB_H

#include <stddef.h>
#include <stdint.h>

#define LK_BIG_SLOT (65536u + 256u)

struct lk_slab {
	uint8_t *mem;
	size_t mem_len;
	uint32_t slot_sz;
	uint32_t nsmall, nbig;
	uint32_t *free_small, nfree_small;
	uint32_t *free_big, nfree_big;
	uint32_t *len;  /* bytes used in each slot */
};

int lk_slab_init(struct lk_slab *s, uint32_t slot_sz, uint32_t nsmall,
		 uint32_t nbig);
void lk_slab_free(struct lk_slab *s);

/* A slot of at least need bytes, or UINT32_MAX if none is free. Not taken
 * until lk_slab_take(). */
uint32_t lk_slab_peek(const struct lk_slab *s, uint32_t need);
void lk_slab_take(struct lk_slab *s, uint32_t idx);
void lk_slab_put(struct lk_slab *s, uint32_t idx);

static inline uint8_t *lk_slab_ptr(const struct lk_slab *s, uint32_t idx)
{
	if (idx < s->nsmall)
		return s->mem + (size_t)idx * s->slot_sz;
	return s->mem + (size_t)s->nsmall * s->slot_sz +
	       (size_t)(idx - s->nsmall) * LK_BIG_SLOT;
}

static inline uint32_t lk_slab_cap(const struct lk_slab *s, uint32_t idx)
{
	return idx < s->nsmall ? s->slot_sz : LK_BIG_SLOT;
}

#endif
