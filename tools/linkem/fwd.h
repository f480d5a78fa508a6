/* linkem forwarding: the event loop that moves frames between two ports
 * through one scheduling core per direction. */
#ifndef LINKEM_FWD_H
#define LINKEM_FWD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "opts.h"
#include "port.h"
#include "linksched.h"
#include "slab.h"

#define LK_BATCH 64u
#define LK_LATE_BUCKETS 10000u  /* 1 us each; the last one is "10 ms or more" */

struct lk_dir {
	const char *tag;        /* "a2b" or "b2a" */
	struct lk_port *in, *out;
	struct lk_sched s;
	struct lk_slab slab;
	/* Frames popped from the scheduler and not yet accepted by the kernel
	 * (the send socket was full). They keep their slots. */
	uint32_t pend[LK_BATCH];
	uint64_t pend_when[LK_BATCH];
	uint32_t npend;
	bool blocked;           /* waiting for POLLOUT on out */
	uint64_t drop_tx;       /* the kernel refused the frame */
	uint64_t drop_trunc;    /* larger than the ring slot, no whole copy */
	uint64_t gso_rx;        /* GSO super-frames seen */
	uint64_t *late;         /* departure lateness histogram */
	uint64_t late_max;
};

struct lk {
	struct lk_opts o;
	struct lk_port port[2];
	struct lk_dir dir[2];   /* [0] A->B: in port[0], out port[1] */
	bool down;
	bool warned_gso;
};

/* Flags set by the signal handlers: the only globals (STYLE.md). */
extern volatile sig_atomic_t lk_sig_link;  /* 0 none, 1 down, 2 up */
extern volatile sig_atomic_t lk_sig_term;

int lk_dir_init(struct lk_dir *d, const char *tag, struct lk_port *in,
		struct lk_port *out, const struct lk_params *p, uint64_t seed);
void lk_dir_free(struct lk_dir *d);

/* Runs until SIGTERM/SIGINT; wait_mask is the signal mask to wait with.
 * Returns 0, or -1 after printing why. */
int lk_run(struct lk *lk, const sigset_t *wait_mask);

/* Lateness percentile in us (p in [0, 1]). */
uint64_t lk_dir_late_pct(const struct lk_dir *d, double p);

#endif
