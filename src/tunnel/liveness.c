/* hatun — per-path liveness state machine (liveness.h). */
#include "tunnel/liveness.h"

#include <string.h>

/* RFC 9002's initial RTT, before the connection has measured one. */
#define INITIAL_RTT (333 * HT_MS)
/* A path failed by the quick rule and working again within this long was
 * probably not dead: a false alarm. */
#define FALSE_ALARM_WINDOW (2 * HT_SECONDS)
#define QUICK_SCALE_MAX 16
#define QUICK_SCALE_DECAY (60 * HT_SECONDS)
/* Data this recent makes a path busy (the quick rule applies). */
#define BUSY_WINDOW (1 * HT_SECONDS)

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
	cfg->quick_silence = 10 * HT_MS;
	cfg->quick_min = 60 * HT_MS;
	cfg->ack_delay = 25 * HT_MS;
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
	l->quick_scale = 1;
	enter(l, HT_PATH_VALIDATING, now);
}

/* The path works again: was its last failure a quick-rule false alarm? */
static void judge_quick_failure(struct ht_liveness *l, ht_time now)
{
	if (l->quick_failed == 0)
		return;
	if (now - l->quick_failed <= FALSE_ALARM_WINDOW) {
		l->false_alarms++;
		if (l->quick_scale < QUICK_SCALE_MAX)
			l->quick_scale *= 2;
		l->scale_at = now;
	}
	l->quick_failed = 0;
}

void ht_liveness_established(struct ht_liveness *l, ht_time now)
{
	judge_quick_failure(l, now);
	l->last_rx = now;
	l->unanswered = 0;
	l->probe_at = 0;
	l->data_at = 0;
	l->retry_wait = l->cfg.retry_min;
	enter(l, working(l), now);
}

void ht_liveness_on_rx(struct ht_liveness *l, ht_time now)
{
	l->last_rx = now;
	l->unanswered = 0;
	if (l->probe_at != 0)
		l->probe_done = now;
	l->probe_at = 0;
	/* silence ended (the link came back before a reconnect) */
	if (l->state == HT_PATH_FAILED) {
		judge_quick_failure(l, now);
		enter(l, working(l), now);
	}
}

void ht_liveness_on_tx(struct ht_liveness *l, ht_time now)
{
	if (l->unanswered == 0)
		l->unanswered = now != 0 ? now : 1;
}

void ht_liveness_on_rtt(struct ht_liveness *l, ht_time srtt, ht_time rttvar, ht_time min_rtt)
{
	l->srtt = srtt;
	l->rttvar = rttvar;
	l->min_rtt = min_rtt;
}

void ht_liveness_on_data(struct ht_liveness *l, ht_time now)
{
	l->data_at = now != 0 ? now : 1;
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

ht_time ht_liveness_quick_timeout(const struct ht_liveness *l)
{
	/* The peer (ngtcp2) delays an ACK by min(max_ack_delay, srtt / 8). */
	ht_time ack_delay = l->srtt / 8 < l->cfg.ack_delay ? l->srtt / 8 : l->cfg.ack_delay;
	ht_time t = (2 * l->min_rtt + ack_delay) * l->quick_scale;
	ht_time max = ht_liveness_fail_timeout(l);

	if (t < l->cfg.quick_min)
		t = l->cfg.quick_min;
	return t < max ? t : max;
}

/* How long a busy path may be silent before the quick rule probes it. */
static ht_time quick_silence(const struct ht_liveness *l)
{
	return l->min_rtt / 4 > l->cfg.quick_silence ? l->min_rtt / 4 : l->cfg.quick_silence;
}

/* Busy, no probe out, and data since the last answered one (a path whose
 * traffic stopped is asked once, not every few milliseconds). */
static bool quick_armed(const struct ht_liveness *l, ht_time now)
{
	return l->cfg.quick_silence != 0 && l->min_rtt != 0 && l->probe_at == 0 &&
	       l->data_at != 0 && now - l->data_at < BUSY_WINDOW && l->data_at >= l->probe_done;
}

static void fail(struct ht_liveness *l, ht_time now)
{
	l->failures++;
	l->unanswered = 0;
	l->probe_at = 0;
	l->quick_failed = 0; /* the quick rule sets it after this */
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
		if (l->quick_scale > 1 && now - l->scale_at >= QUICK_SCALE_DECAY) {
			l->quick_scale /= 2;
			l->scale_at = now;
		}
		if (l->unanswered != 0 && now >= l->unanswered + ht_liveness_fail_timeout(l)) {
			fail(l, now);
			return HT_LIVE_FAILED;
		}
		if (l->probe_at != 0 && now >= l->probe_at + ht_liveness_quick_timeout(l)) {
			fail(l, now);
			l->quick_failed = now;
			return HT_LIVE_FAILED;
		}
		if (quick_armed(l, now) && now >= l->last_rx + quick_silence(l)) {
			l->probe_at = now != 0 ? now : 1;
			return HT_LIVE_PROBE;
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
	{
		ht_time d = l->unanswered != 0 ? l->unanswered + ht_liveness_fail_timeout(l)
						: l->last_rx + probe_interval(l);

		if (l->probe_at != 0 && l->probe_at + ht_liveness_quick_timeout(l) < d)
			d = l->probe_at + ht_liveness_quick_timeout(l);
		if (l->last_rx + quick_silence(l) < d && quick_armed(l, l->last_rx + quick_silence(l)))
			d = l->last_rx + quick_silence(l);
		return d;
	}
	case HT_PATH_FAILED:
		return l->retry_at;
	case HT_PATH_VALIDATING:
	default:
		return HT_TIME_NEVER;
	}
}
