/* hatun — CoDel (RFC 8289) for the outgoing DATAGRAM queue of a connection.
 *
 * Datagrams wait in the connection's FIFO while the congestion window is
 * full.  A FIFO that only drops when full turns the tunnel into a buffer
 * of max_dgram_queue packets (at 50 Mbit/s, 128 full-size packets are
 * 30 ms of delay for every flow inside).  CoDel drops at the head when the
 * minimum time packets spent in the queue (their sojourn) stayed above
 * `target` for a whole `interval`, then drops more often (interval /
 * sqrt(count)) until the sojourn falls below target: the inner TCP flows
 * back off, the queue stays short.  Defaults 5 ms / 100 ms (RFC 8289).
 *
 * Sans-I/O: the caller passes the clock; ht_codel_drop() is asked for each
 * packet about to leave the queue.
 */
#ifndef HATUN_QUIC_CODEL_H
#define HATUN_QUIC_CODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

struct ht_codel {
	ht_time target, interval;
	ht_time first_above; /* when the sojourn may first count as persistent; 0 */
	ht_time drop_next;
	uint32_t count, lastcount;
	bool dropping;
	uint64_t drops; /* total, for stats */
};

void ht_codel_init(struct ht_codel *c, ht_time target, ht_time interval);

/* The head packet was enqueued at `enq` and would leave now; `left` packets
 * stay behind it; `path_delay` is the standing queue it will meet after
 * ours (pathq.h; 0 if none).  Its sojourn is (now - enq) + path_delay:
 * the queue CoDel manages is ours and the path's together, so the last
 * packet of ours is spared only when the path has no standing queue.
 * True: drop it (and ask again for the next head). */
bool ht_codel_drop(struct ht_codel *c, ht_time now, ht_time enq, size_t left,
		   ht_time path_delay);

#endif
