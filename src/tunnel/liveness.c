/* hatun — per-path liveness state machine (liveness.h). */
#include "tunnel/liveness.h"

#include <string.h>

/* RFC 9002's initial RTT, before the connection has measured one. */
#define INITIAL_RTT (333 * HT_MS)

const char *ht_path_state_name(enum ht_path_state s)
{
	switch (s) {
	case HT_PATH_VALIDATING:
		return "validating";
	case HT_PATH_ACTIVE:
		return "active";
	case HT_PATH_STANDBY:
		return "standby";
	case HT_PATH_FAILED:
		return "failed";
	}
	return "?";
}

void ht_liveness_config_default(struct ht_liveness_config *cfg)
{
	cfg->fail_rtts = 4;
	cfg->fail_min = 150 * HT_MS;
	cfg->fail_max = 3 * HT_SECONDS;
	cfg->probe_idle = 1 * HT_SECONDS;
	cfg->probe_standby = 5 * HT_SECONDS;
	cfg->retry_min = 250 * HT_MS;
	cfg->retry_max = 10 * HT_SECONDS;
}

static void enter(struct ht_liveness *l, enum ht_path_state s, ht_time now)
{
	l->state = s;
	l->since = now;
}

static enum ht_path_state working(const struct ht_liveness *l)
{
	return l->backup ? HT_PATH_STANDBY : HT_PATH_ACTIVE;
}

void ht_liveness_init(struct ht_liveness *l, const struct ht_liveness_config *cfg, bool backup,
		      ht_time now)
{
	memset(l, 0, sizeof(*l));
	l->cfg = *cfg;
	l->backup = backup;
	l->last_rx = now;
	l->retry_wait = cfg->retry_min;
	enter(l, HT_PATH_VALIDATING, now);
}

void ht_liveness_established(struct ht_liveness *l, ht_time now)
{
	l->last_rx = now;
	l->unanswered = 0;
	l->retry_wait = l->cfg.retry_min;
	enter(l, working(l), now);
}

void ht_liveness_on_rx(struct ht_liveness *l, ht_time now)
{
	l->last_rx = now;
	l->unanswered = 0;
	/* silence ended (the link came back before a reconnect) */
	if (l->state == HT_PATH_FAILED)
		enter(l, working(l), now);
}

void ht_liveness_on_tx(struct ht_liveness *l, ht_time now)
{
	if (l->unanswered == 0)
		l->unanswered = now != 0 ? now : 1;
}

void ht_liveness_on_rtt(struct ht_liveness *l, ht_time srtt, ht_time rttvar)
{
	l->srtt = srtt;
	l->rttvar = rttvar;
}

ht_time ht_liveness_fail_timeout(const struct ht_liveness *l)
{
	ht_time rtt = l->srtt != 0 ? l->srtt : INITIAL_RTT;
	ht_time t = (ht_time)l->cfg.fail_rtts * rtt + 4 * l->rttvar;

	if (t < l->cfg.fail_min)
		t = l->cfg.fail_min;
	if (t > l->cfg.fail_max)
		t = l->cfg.fail_max;
	return t;
}

static void fail(struct ht_liveness *l, ht_time now)
{
	l->failures++;
	l->unanswered = 0;
	l->retry_at = now + l->retry_wait;
	enter(l, HT_PATH_FAILED, now);
}

void ht_liveness_closed(struct ht_liveness *l, ht_time now)
{
	if (l->state != HT_PATH_FAILED)
		fail(l, now);
}

void ht_liveness_restart(struct ht_liveness *l, ht_time now)
{
	l->last_rx = now;
	l->unanswered = 0;
	enter(l, HT_PATH_VALIDATING, now);
}

static ht_time probe_interval(const struct ht_liveness *l)
{
	return l->state == HT_PATH_STANDBY ? l->cfg.probe_standby : l->cfg.probe_idle;
}

enum ht_liveness_action ht_liveness_tick(struct ht_liveness *l, ht_time now)
{
	switch (l->state) {
	case HT_PATH_ACTIVE:
	case HT_PATH_STANDBY:
		if (l->unanswered != 0 && now >= l->unanswered + ht_liveness_fail_timeout(l)) {
			fail(l, now);
			return HT_LIVE_FAILED;
		}
		if (l->unanswered == 0 && now >= l->last_rx + probe_interval(l))
			return HT_LIVE_PING;
		return HT_LIVE_NONE;
	case HT_PATH_FAILED:
		if (now < l->retry_at)
			return HT_LIVE_NONE;
		/* if this attempt fails too, wait twice as long */
		l->retry_wait *= 2;
		if (l->retry_wait > l->cfg.retry_max)
			l->retry_wait = l->cfg.retry_max;
		l->retry_at = now + l->retry_wait;
		return HT_LIVE_RECONNECT;
	case HT_PATH_VALIDATING:
	default:
		return HT_LIVE_NONE;
	}
}

ht_time ht_liveness_deadline(const struct ht_liveness *l)
{
	switch (l->state) {
	case HT_PATH_ACTIVE:
	case HT_PATH_STANDBY:
		if (l->unanswered != 0)
			return l->unanswered + ht_liveness_fail_timeout(l);
		return l->last_rx + probe_interval(l);
	case HT_PATH_FAILED:
		return l->retry_at;
	case HT_PATH_VALIDATING:
	default:
		return HT_TIME_NEVER;
	}
}
