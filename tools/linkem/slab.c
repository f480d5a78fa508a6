/* Preallocated frame slots. */
#include "slab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int lk_slab_init(struct lk_slab *s, uint32_t slot_sz, uint32_t nsmall,
		 uint32_t nbig)
{
	memset(s, 0, sizeof(*s));
	s->slot_sz = slot_sz;
	s->nsmall = nsmall;
	s->nbig = nbig;
	s->mem_len = (size_t)slot_sz * nsmall + (size_t)LK_BIG_SLOT * nbig;
	/* Anonymous mapping: reserved now, backed on first touch. Slots are
	 * reused last-in first-out, so only the working set gets touched. */
	s->mem = mmap(NULL, s->mem_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->mem == MAP_FAILED) {
		s->mem = NULL;
		return -ENOMEM;
	}
	s->free_small = calloc(nsmall ? nsmall : 1, sizeof(uint32_t));
	s->free_big = calloc(nbig ? nbig : 1, sizeof(uint32_t));
	s->len = calloc((size_t)nsmall + nbig, sizeof(uint32_t));
	if (!s->free_small || !s->free_big || !s->len) {
		lk_slab_free(s);
		return -ENOMEM;
	}
	/* Lowest index on top of the stack. */
	for (uint32_t i = 0; i < nsmall; i++)
		s->free_small[i] = nsmall - 1 - i;
	for (uint32_t i = 0; i < nbig; i++)
		s->free_big[i] = nsmall + nbig - 1 - i;
	s->nfree_small = nsmall;
	s->nfree_big = nbig;
	return 0;
}

void lk_slab_free(struct lk_slab *s)
{
	if (s->mem)
		munmap(s->mem, s->mem_len);
	free(s->free_small);
	free(s->free_big);
	free(s->len);
	memset(s, 0, sizeof(*s));
}

uint32_t lk_slab_peek(const struct lk_slab *s, uint32_t need)
{
	if (need <= s->slot_sz && s->nfree_small)
		return s->free_small[s->nfree_small - 1];
	if (need <= LK_BIG_SLOT && s->nfree_big)
		return s->free_big[s->nfree_big - 1];
	return UINT32_MAX;
}

void lk_slab_take(struct lk_slab *s, uint32_t idx)
{
	/* Only ever the slot lk_slab_peek() just returned: the top of its
	 * stack. */
	if (idx < s->nsmall)
		s->nfree_small--;
	else
		s->nfree_big--;
}

void lk_slab_put(struct lk_slab *s, uint32_t idx)
{
	if (idx < s->nsmall)
		s->free_small[s->nfree_small++] = idx;
	else
		s->free_big[s->nfree_big++] = idx;
}
