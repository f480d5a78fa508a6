/* linkem command line parsing. */
#include "opts.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LK_DELAY_MAX_MS 3600000.0   /* an hour: anything more is a typo */
#define LK_RATE_MAX_MBIT 1000000.0  /* 1 Tbit/s */

static const char usage[] =
	"usage: linkem [OPTIONS] IFACE_A IFACE_B\n"
	"  --delay MS[:MS]    one-way delay A->B[:B->A] in ms (default 0)\n"
	"  --jitter MS[:MS]   uniform extra delay in [0, MS]; no reordering\n"
	"  --reorder          let jitter reorder frames\n"
	"  --loss PCT[:PCT]   random loss percent\n"
	"  --rate MBIT[:MBIT] serialisation rate in Mbit/s (0 = unlimited)\n"
	"  --limit N          frames held per direction (default 10000)\n"
	"  --seed N           PRNG seed (default: from time)\n"
	"  --pidfile FILE     written once forwarding has started\n"
	"  --stats FILE       counters written on exit\n"
	"  --no-rt            do not raise to SCHED_FIFO (default: try)\n"
	"signals: USR1 link down, USR2 link up, TERM/INT exit\n";

static int bad(const char *flag, const char *val)
{
	fprintf(stderr, "linkem: %s: invalid value '%s'\n", flag, val);
	return 2;
}

static int parse_num(const char *s, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0.0 || v > max)
		return -1;
	*out = v;
	return (int)(end - s);
}

/* "X" or "X:Y" -> out[0], out[1] (Y defaults to X). */
static int parse_pair(const char *s, double max, double out[2])
{
	int n = parse_num(s, max, &out[0]);

	if (n < 0)
		return -1;
	out[1] = out[0];
	if (s[n] == '\0')
		return 0;
	if (s[n] != ':')
		return -1;
	s += n + 1;
	n = parse_num(s, max, &out[1]);
	if (n < 0 || s[n] != '\0')
		return -1;
	return 0;
}

static uint64_t ms_to_ns(double ms)
{
	return (uint64_t)llround(ms * 1e6);
}

int lk_opts_parse(struct lk_opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{"delay", required_argument, NULL, 'd'},
		{"jitter", required_argument, NULL, 'j'},
		{"loss", required_argument, NULL, 'l'},
		{"rate", required_argument, NULL, 'r'},
		{"limit", required_argument, NULL, 'n'},
		{"seed", required_argument, NULL, 's'},
		{"pidfile", required_argument, NULL, 'p'},
		{"stats", required_argument, NULL, 't'},
		{"reorder", no_argument, NULL, 'o'},
		{"no-rt", no_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	double v[2];
	int c;

	memset(o, 0, sizeof(*o));
	o->dir[0].limit = o->dir[1].limit = 10000;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		/* For ':' and '?' getopt has just stepped over the flag. */
		const char *flag = optind > 1 ? argv[optind - 1] : "?";

		switch (c) {
		case 'd':
		case 'j':
			if (parse_pair(optarg, LK_DELAY_MAX_MS, v))
				return bad(c == 'd' ? "--delay" : "--jitter", optarg);
			for (int i = 0; i < 2; i++) {
				if (c == 'd')
					o->dir[i].delay_ns = ms_to_ns(v[i]);
				else
					o->dir[i].jitter_ns = ms_to_ns(v[i]);
			}
			break;
		case 'l':
			if (parse_pair(optarg, 100.0, v))
				return bad("--loss", optarg);
			o->dir[0].loss = v[0] / 100.0;
			o->dir[1].loss = v[1] / 100.0;
			break;
		case 'r':
			if (parse_pair(optarg, LK_RATE_MAX_MBIT, v))
				return bad("--rate", optarg);
			o->dir[0].rate_bps = (uint64_t)llround(v[0] * 1e6);
			o->dir[1].rate_bps = (uint64_t)llround(v[1] * 1e6);
			break;
		case 'n': {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (end == optarg || *end || errno || optarg[0] == '-' ||
			    n == 0 || n > LK_LIMIT_MAX)
				return bad("--limit", optarg);
			o->dir[0].limit = o->dir[1].limit = (uint32_t)n;
			break;
		}
		case 's': {
			char *end;

			errno = 0;
			o->seed = strtoull(optarg, &end, 0);
			if (end == optarg || *end || errno || optarg[0] == '-')
				return bad("--seed", optarg);
			o->seed_set = true;
			break;
		}
		case 'p':
		case 't':
			if (optarg[0] == '\0')
				return bad(c == 'p' ? "--pidfile" : "--stats", optarg);
			if (c == 'p')
				o->pidfile = optarg;
			else
				o->stats = optarg;
			break;
		case 'o':
			o->dir[0].reorder = o->dir[1].reorder = true;
			break;
		case 'R':
			o->no_rt = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		case ':':
			fprintf(stderr, "linkem: %s: missing value\n", flag);
			return 2;
		default:
			fprintf(stderr, "linkem: %s: unknown option\n", flag);
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "linkem: IFACE_A IFACE_B: expected two interface "
			"names, got %d (see --help)\n", argc - optind);
		return 2;
	}
	for (int i = 0; i < 2; i++) {
		const char *n = argv[optind + i];

		if (n[0] == '\0' || strlen(n) >= 16) /* IFNAMSIZ */
			return bad(i ? "IFACE_B" : "IFACE_A", n);
		o->iface[i] = n;
	}
	if (strcmp(o->iface[0], o->iface[1]) == 0)
		return bad("IFACE_B", o->iface[1]);
	return 0;
}
