/* linkem command line. */
#ifndef LINKEM_OPTS_H
#define LINKEM_OPTS_H

#include <stdbool.h>

#include "linksched.h"

struct lk_opts {
	struct lk_params dir[2];  /* [0] = A->B, [1] = B->A */
	unsigned long long seed;
	bool seed_set;
	bool no_rt;               /* stay SCHED_OTHER */
	const char *pidfile;
	const char *stats;
	const char *iface[2];
};

/* Parses argv into o. Returns 0, 1 if --help was printed, or 2 after printing
 * one error line naming the offending flag. */
int lk_opts_parse(struct lk_opts *o, int argc, char **argv);

#endif
