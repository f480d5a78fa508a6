/* libFuzzer harness for src/tunnel/reorder.c (the session reorder buffer).
 *
 * Input: byte 0 = log2(slots) - 4 (mod 6: 16 .. 512 slots), then 3-byte
 * operations: op, a, b.
 *   op % 8 in 0..4  push: tag = last pushed tag + (int8_t)a (small jumps,
 *                   both ways, and the occasional far one when b & 0x80:
 *                   tag += a * 256), path = b & 7, time advances b >> 3 ms,
 *                   flags (op >> 3) & 3 (HT_REORDER_SMALL / _UNORDERED)
 *   5               pop once at the current time
 *   6               path_up(a & 7) / path_down (b & 1)
 *   7               time jumps a * 10 ms
 * After every operation pop() is drained, as the contract asks.
 * Oracles (abort() on failure):
 *  1. ownership: every packet pushed comes back exactly once, through a
 *     DELIVER verdict, pop(), flush() or a DROP verdict — never twice,
 *     never lost (everything is flushed at the end);
 *  2. bounds: held() never exceeds slots + 1;
 *  3. order: pop() releases in increasing serial order, never behind the
 *     last packet released in order (late packets come only as DELIVER;
 *     the reference restarts after an unordered packet, which may move
 *     the window past markers the harness never sees);
 *  4. after draining, deadline() is never already due while something is
 *     held;
 *  5. an HT_REORDER_UNORDERED packet is never held.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunnel/reorder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PKTS 4096

struct pkt {
	uint16_t tag;
	uint8_t state; /* 0 unused, 1 with reorder, 2 returned */
};

static struct pkt pk[MAX_PKTS];

static void returned(void *p)
{
	struct pkt *k = p;

	if (k == NULL || k < pk || k >= pk + MAX_PKTS || k->state != 1)
		abort();
	k->state = 2;
}

static void drain(struct ht_reorder *r, ht_time now, int *have_last, uint16_t *last)
{
	void *p;

	while ((p = ht_reorder_pop(r, now)) != NULL) {
		uint16_t t = ((struct pkt *)p)->tag;

		/* pop() only ever moves forward */
		if (*have_last > 0 && (uint16_t)(t - *last) >= 32768u)
			abort();
		*have_last = 1;
		*last = t;
		returned(p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ht_reorder_config cfg;
	struct ht_reorder *r;
	ht_time now = 1000 * HT_SECONDS;
	uint16_t tag = 0, last = 0;
	int have_last = 0; /* 1: last is the order's reference; -1: lost track */
	size_t i, n = 0;
	void *p;

	if (size < 1)
		return 0;
	ht_reorder_config_default(&cfg);
	cfg.slots = 16u << (data[0] % 6);
	r = ht_reorder_new(&cfg);
	if (r == NULL)
		abort();
	memset(pk, 0, sizeof(pk));
	for (i = 1; i + 3 <= size && n < MAX_PKTS; i += 3) {
		uint8_t op = data[i] % 8, a = data[i + 1], b = data[i + 2];

		switch (op) {
		case 5:
			break;
		case 6:
			if (b & 1)
				ht_reorder_path_down(r, a & 7);
			else
				ht_reorder_path_up(r, a & 7, now);
			break;
		case 7:
			now += (ht_time)a * 10 * HT_MS;
			break;
		default: {
			enum ht_reorder_verdict v;
			/* the first packet (in order) is the order's reference */
			unsigned flags = n == 0 ? 0u : (data[i] >> 3) & 3u;

			tag = (uint16_t)(tag + (int8_t)a);
			if (b & 0x80)
				tag = (uint16_t)(tag + a * 256u);
			now += (ht_time)(b >> 3) * HT_MS;
			pk[n].tag = tag;
			pk[n].state = 1;
			v = ht_reorder_push_flags(r, tag, b & 7, flags, now, &pk[n]);
			if ((flags & HT_REORDER_UNORDERED) && v == HT_REORDER_HELD)
				abort();
			/* The window may move past released tags unseen (their
			 * markers are skipped, not popped): order is checked
			 * afresh from the next pop() on (a DELIVER now may be a
			 * late packet, no reference). */
			if ((flags & HT_REORDER_UNORDERED) && v == HT_REORDER_DELIVER)
				have_last = -1;
			/* an unordered packet may go ahead of the order */
			if (v == HT_REORDER_DELIVER && !(flags & HT_REORDER_UNORDERED) &&
			    (have_last == 0 || (have_last > 0 && (uint16_t)(tag - last) - 1u < 32767u))) {
				have_last = 1; /* in order: pop() goes on from here */
				last = tag;
			}
			if (v == HT_REORDER_DELIVER || v == HT_REORDER_DROP)
				returned(&pk[n]);
			else if (v != HT_REORDER_HELD)
				abort();
			n++;
			break;
		}
		}
		drain(r, now, &have_last, &last);
		if (ht_reorder_held(r) > cfg.slots + 1)
			abort();
		/* a deadline that is due would have released something */
		if (ht_reorder_held(r) > 0 && ht_reorder_deadline(r) <= now)
			abort();
	}
	while ((p = ht_reorder_flush(r)) != NULL)
		returned(p);
	if (ht_reorder_held(r) != 0)
		abort();
	for (i = 0; i < n; i++)
		if (pk[i].state != 2)
			abort();
	ht_reorder_free(r);
	return 0;
}
