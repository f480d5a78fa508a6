/* hatun — is this path alive?  The per-path liveness state machine of a
 * multipath session (issue 5).  Pure: the caller feeds it what the path's
 * QUIC connection did and the time, and does what tick() says.
 *
 *   VALIDATING --established--> ACTIVE (or STANDBY for a backup path)
 *   ACTIVE/STANDBY --silence past the failure timeout--> FAILED
 *   FAILED --anything received--> ACTIVE/STANDBY
 *   FAILED --reconnect time (backoff)--> tick() says RECONNECT; the caller
 *            starts a new connection and calls ht_liveness_restart()
 *
 * Failure is a path that stopped answering: something ack-eliciting was
 * sent and nothing at all came back for fail_rtts smoothed RTTs (+ 4 x
 * rttvar), clamped to [fail_min, fail_max].  A path with data in flight
 * learns this from its own traffic; an idle path is probed with a PING
 * once nothing was received for probe_idle (standby paths every
 * probe_standby), so it is checked too, at little cost.
 *
 * The quick rule, for a busy path (data over it in the last second,
 * ht_liveness_on_data):
 * a receiver sends only ACKs, which prove nothing, so a cut would be seen
 * only after a keep-alive PING plus the failure timeout (~6 RTTs, with an
 * RTT inflated by the path's own queue).  Instead, once a busy path has
 * been silent for max(quick_silence, min_rtt / 4), the caller sends a PING
 * at once (HT_LIVE_PROBE), and the path fails if nothing at all arrives
 * within 2 x min_rtt + min(ack_delay, srtt / 8) of it (the peer's ACK
 * delay rule).  Silence on a busy path means its
 * downstream queue has drained (or the link is dead), so a live path
 * answers in about min_rtt.  Where that is wrong (a queue kept full by
 * someone else's traffic), a path that fails this way and is back within
 * 2 s counts as a false alarm and doubles its quick timeout (up to the
 * normal one; halved again after a minute without one).
 */
#ifndef HATUN_TUNNEL_LIVENESS_H
#define HATUN_TUNNEL_LIVENESS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"

enum ht_path_state {
	HT_PATH_VALIDATING = 0, /* handshake / join in progress */
	HT_PATH_ACTIVE,         /* carries traffic */
	HT_PATH_STANDBY,        /* a working backup path, not used */
	HT_PATH_FAILED,         /* not answering; being retried */
};

enum ht_liveness_action {
	HT_LIVE_NONE = 0,
	HT_LIVE_PING,      /* send an ack-eliciting PING on the path now */
	HT_LIVE_FAILED,    /* the path just failed: move its traffic away */
	HT_LIVE_RECONNECT, /* time to try a new connection on the path */
	HT_LIVE_PROBE,     /* a busy path went silent: send a PING right now */
};

struct ht_liveness_config {
	unsigned fail_rtts;      /* default 4 */
	ht_time fail_min;        /* default 150 ms */
	ht_time fail_max;        /* default 3 s */
	ht_time probe_idle;      /* default 1 s */
	ht_time probe_standby;   /* default 5 s */
	ht_time retry_min;       /* default 250 ms, doubling ... */
	ht_time retry_max;       /* ... up to 10 s */
	ht_time quick_silence;   /* default 10 ms; 0: no quick rule */
	ht_time quick_min;       /* default 60 ms: the quick timeout's floor */
	ht_time ack_delay;       /* default 25 ms: the peer's max_ack_delay */
};

struct ht_liveness {
	struct ht_liveness_config cfg;
	enum ht_path_state state;
	bool backup;
	ht_time last_rx;      /* last packet received on the path */
	ht_time unanswered;   /* first ack-eliciting send after last_rx, 0 if none */
	ht_time srtt, rttvar, min_rtt;
	ht_time data_at;      /* last ht_liveness_on_data(), 0 if none */
	ht_time probe_at;     /* quick rule: when its PING went out, 0 if none */
	ht_time probe_done;   /* when the last probe was answered */
	ht_time quick_failed; /* last failure by the quick rule, 0 if none */
	ht_time scale_at;     /* last change of quick_scale */
	unsigned quick_scale; /* 1, 2, 4 ... x the quick timeout */
	uint32_t false_alarms;
	ht_time since;        /* when the state was entered */
	ht_time retry_at;     /* FAILED: when to reconnect */
	ht_time retry_wait;   /* current backoff */
	uint32_t failures;    /* times it failed, for status */
};

const char *ht_path_state_name(enum ht_path_state s);

void ht_liveness_config_default(struct ht_liveness_config *cfg);
void ht_liveness_init(struct ht_liveness *l, const struct ht_liveness_config *cfg, bool backup,
		      ht_time now);

/* The connection is ready to carry traffic (handshake + session join). */
void ht_liveness_established(struct ht_liveness *l, ht_time now);
/* A packet arrived on the path (any packet: ACKs count). */
void ht_liveness_on_rx(struct ht_liveness *l, ht_time now);
/* An ack-eliciting packet left on the path. */
void ht_liveness_on_tx(struct ht_liveness *l, ht_time now);
/* The connection's RTT estimate changed (min_rtt 0: none yet). */
void ht_liveness_on_rtt(struct ht_liveness *l, ht_time srtt, ht_time rttvar, ht_time min_rtt);
/* Data went over the path (client: received; concentrator: sent): it is
 * busy for the next second, which arms the quick rule.  One probe per
 * silence: once a probe is answered, the next needs new data. */
void ht_liveness_on_data(struct ht_liveness *l, ht_time now);
/* The connection closed (idle timeout, error): the path failed. */
void ht_liveness_closed(struct ht_liveness *l, ht_time now);
/* A new connection attempt on a FAILED path started. */
void ht_liveness_restart(struct ht_liveness *l, ht_time now);

/* What to do at `now`; call it at ht_liveness_deadline() and after the
 * on_* calls. */
enum ht_liveness_action ht_liveness_tick(struct ht_liveness *l, ht_time now);
ht_time ht_liveness_deadline(const struct ht_liveness *l);

/* The current failure timeout. */
ht_time ht_liveness_fail_timeout(const struct ht_liveness *l);
/* The quick rule's: how long its PING may go unanswered. */
ht_time ht_liveness_quick_timeout(const struct ht_liveness *l);

#endif
