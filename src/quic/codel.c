/* hatun — CoDel for the DATAGRAM queue (codel.h), after RFC 8289 §5. */
#include "quic/codel.h"

#include <math.h>
#include <string.h>

void ht_codel_init(struct ht_codel *c, ht_time target, ht_time interval)
{
	memset(c, 0, sizeof(*c));
	c->target = target;
	c->interval = interval;
}

/* interval / sqrt(count) after t: the drop rate grows while the queue
 * stays above target. */
static ht_time control_law(const struct ht_codel *c, ht_time t)
{
	return t + (ht_time)((double)c->interval / sqrt((double)(c->count ? c->count : 1)));
}

/* RFC 8289 dodequeue(): is this packet's sojourn part of a standing queue? */
static bool ok_to_drop(struct ht_codel *c, ht_time now, ht_time enq, size_t left,
		       ht_time path_delay)
{
	ht_time sojourn = (now > enq ? now - enq : 0) + path_delay;

	/* Below target, or the last packet (an MTU's worth) of a queue that is
	 * only ours: no standing queue. */
	if (sojourn < c->target || (left == 0 && path_delay < c->target)) {
		c->first_above = 0;
		return false;
	}
	if (c->first_above == 0) {
		c->first_above = now + c->interval;
		return false;
	}
	return now >= c->first_above;
}

bool ht_codel_drop(struct ht_codel *c, ht_time now, ht_time enq, size_t left,
		   ht_time path_delay)
{
	bool ok = ok_to_drop(c, now, enq, left, path_delay);

	if (c->dropping) {
		if (!ok) {
			c->dropping = false;
			return false;
		}
		if (now < c->drop_next)
			return false;
		c->count++;
		c->drop_next = control_law(c, c->drop_next);
		c->drops++;
		return true;
	}
	if (!ok)
		return false;
	/* Enter the dropping state; resume near the last rate if the previous
	 * episode was recent (RFC 8289 §5.4). */
	c->dropping = true;
	if (c->count > c->lastcount + 1 && now - c->drop_next < 16 * c->interval)
		c->count = c->count - c->lastcount;
	else
		c->count = 1;
	c->lastcount = c->count;
	c->drop_next = control_law(c, now);
	c->drops++;
	return true;
}
