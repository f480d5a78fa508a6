/* linkem: a link emulator between two interfaces (a wire with delay, jitter,
 * loss, rate and an off switch). See README.md. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "fwd.h"

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		lk_sig_link = 1;
	else if (sig == SIGUSR2)
		lk_sig_link = 2;
	else
		lk_sig_term = 1;
}

/* Blocks the four signals (they are taken only inside ppoll, so a signal
 * can never slip in between checking the flags and going to sleep) and
 * returns in wait_mask the mask to sleep with. */
static int setup_signals(sigset_t *wait_mask)
{
	static const int sigs[] = {SIGUSR1, SIGUSR2, SIGTERM, SIGINT};
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -1;
		sigaddset(&block, sigs[i]);
	}
	if (sigprocmask(SIG_BLOCK, &block, wait_mask) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigdelset(wait_mask, sigs[i]);
	return 0;
}

/* Writes path through a temporary file and rename(), so a reader never sees
 * it half written. */
static int write_file(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;
	int rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	if (fputs(text, f) >= 0)
		rc = 0;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -1;
	if (rc)
		unlink(tmp);
	return rc;
}

static size_t format_stats(const struct lk *lk, char *buf, size_t cap)
{
	size_t n = 0;

	for (int i = 0; i < 2 && n < cap; i++) {
		const struct lk_dir *d = &lk->dir[i];
		const struct lk_counters *c = &d->s.c;

		n += (size_t)snprintf(buf + n, cap - n,
			"%s_rx=%llu\n%s_tx=%llu\n%s_drop_loss=%llu\n"
			"%s_drop_queue=%llu\n%s_drop_down=%llu\n",
			d->tag, (unsigned long long)c->rx,
			d->tag, (unsigned long long)c->tx,
			d->tag, (unsigned long long)c->drop_loss,
			d->tag, (unsigned long long)c->drop_queue,
			d->tag, (unsigned long long)c->drop_down);
	}
	/* Beyond the contract: what went wrong outside the model, and how late
	 * frames left compared with their scheduled time. */
	for (int i = 0; i < 2 && n < cap; i++) {
		const struct lk_dir *d = &lk->dir[i];

		n += (size_t)snprintf(buf + n, cap - n,
			"%s_drop_ring=%llu\n%s_drop_tx=%llu\n%s_drop_trunc=%llu\n"
			"%s_queued=%u\n%s_gso=%llu\n"
			"%s_late_p50_us=%llu\n%s_late_p99_us=%llu\n"
			"%s_late_max_us=%llu\n",
			d->tag, (unsigned long long)d->in->drops,
			d->tag, (unsigned long long)d->drop_tx,
			d->tag, (unsigned long long)d->drop_trunc,
			d->tag, lk_sched_len(&d->s) + d->npend,
			d->tag, (unsigned long long)d->gso_rx,
			d->tag, (unsigned long long)lk_dir_late_pct(d, 0.5),
			d->tag, (unsigned long long)lk_dir_late_pct(d, 0.99),
			d->tag, (unsigned long long)d->late_max);
	}
	return n < cap ? n : cap - 1;
}

/* Departures are only as punctual as the wake-ups: on a busy machine a
 * SCHED_OTHER thread is regularly kept off the CPU for milliseconds, a
 * SCHED_FIFO one for microseconds. linkem sleeps whenever nothing is due and
 * the kernel's RT throttling bounds what a spinning RT thread can take, so
 * this is safe; without the privilege linkem runs as it is. */
static void try_realtime(void)
{
	struct sched_param sp = {.sched_priority = 50};

	if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
		fprintf(stderr, "linkem: SCHED_FIFO not available (%s); timing "
			"will suffer on a loaded machine\n", strerror(errno));
}

static uint64_t default_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * LK_NS_PER_SEC + (uint64_t)ts.tv_nsec) ^
	       ((uint64_t)getpid() << 40);
}

static void print_dir(const char *tag, const struct lk_params *p)
{
	fprintf(stderr, "linkem: %s delay %.3f ms jitter %.3f ms loss %.4f %% "
		"rate %.3f Mbit/s limit %u%s\n", tag, (double)p->delay_ns / 1e6,
		(double)p->jitter_ns / 1e6, p->loss * 100.0,
		(double)p->rate_bps / 1e6, p->limit, p->reorder ? " reorder" : "");
}

int main(int argc, char **argv)
{
	struct lk *lk = calloc(1, sizeof(*lk));
	sigset_t wait_mask;
	char err[256], buf[2048], pid[32];
	uint64_t seed, st;
	int rc = 1, opened = 0, inited = 0;

	if (!lk) {
		fputs("linkem: out of memory\n", stderr);
		return 1;
	}
	rc = lk_opts_parse(&lk->o, argc, argv);
	if (rc) {
		rc = rc == 1 ? 0 : 2;
		goto out;
	}
	rc = 1;
	seed = lk->o.seed_set ? lk->o.seed : default_seed();
	if (setup_signals(&wait_mask) < 0) {
		perror("linkem: signals");
		goto out;
	}
	/* Timer slack defaults to 50 us; departures want better. */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	if (!lk->o.no_rt)
		try_realtime();
	for (; opened < 2; opened++) {
		if (lk_port_open(&lk->port[opened], lk->o.iface[opened], err,
				 sizeof(err)) < 0) {
			fprintf(stderr, "linkem: %s\n", err);
			lk_port_close(&lk->port[opened]);
			goto out;
		}
	}
	/* Independent streams per direction derived from the one seed. */
	st = seed;
	for (; inited < 2; inited++) {
		int e = lk_dir_init(&lk->dir[inited], inited ? "b2a" : "a2b",
				    &lk->port[inited], &lk->port[1 - inited],
				    &lk->o.dir[inited], lk_prng_next(&st));

		if (e) {
			fprintf(stderr, "linkem: setup: %s\n", strerror(-e));
			goto out;
		}
	}
	fprintf(stderr, "linkem: %s <-> %s seed %llu\n", lk->o.iface[0],
		lk->o.iface[1], (unsigned long long)seed);
	print_dir("a2b", &lk->o.dir[0]);
	print_dir("b2a", &lk->o.dir[1]);
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (lk->o.pidfile && write_file(lk->o.pidfile, pid) < 0) {
		fprintf(stderr, "linkem: --pidfile %s: %s\n", lk->o.pidfile,
			strerror(errno));
		goto out;
	}
	if (lk_run(lk, &wait_mask) < 0)
		goto out;
	rc = 0;
out:
	if (inited == 2) {
		lk_port_update_drops(&lk->port[0]);
		lk_port_update_drops(&lk->port[1]);
		format_stats(lk, buf, sizeof(buf));
		fputs(buf, stderr);
		if (lk->o.stats && write_file(lk->o.stats, buf) < 0) {
			fprintf(stderr, "linkem: --stats %s: %s\n", lk->o.stats,
				strerror(errno));
			rc = 1;
		}
	}
	if (lk->o.pidfile && inited == 2)
		unlink(lk->o.pidfile);
	while (inited > 0)
		lk_dir_free(&lk->dir[--inited]);
	while (opened > 0)
		lk_port_close(&lk->port[--opened]);
	free(lk);
	return rc;
}
