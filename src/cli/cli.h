/* hatun — shared pieces of the subcommands.
 *
 * Contract for every subcommand: --help prints usage on stdout and exits 0;
 * an unknown flag, a missing or bad value, or a stray argument prints ONE
 * line naming it on stderr and exits CLI_EXIT_USAGE, before anything starts.
 */
#ifndef HATUN_CLI_H
#define HATUN_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#define CLI_EXIT_USAGE 2
#define CLI_EXIT_FAIL 1

struct cli_command {
	const char *name;
	const char *summary;
	const char *usage;
	int (*run)(const struct cli_command *cmd, int argc, char **argv);
};

/* Run getopt_long over argv with "--help" handled and errors reported in the
 * one-line form.  Calls on_opt(cmd, c, optarg, ctx) for every other option;
 * on_opt returns 0 to go on or an exit code.  Returns -1 to go on (optind
 * then indexes the first positional argument), or an exit code. */
int cli_parse(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
	      const struct option *longopts,
	      int (*on_opt)(const struct cli_command *cmd, int c, const char *arg, void *ctx),
	      void *ctx);

/* cli_parse preceded by the options of a config file named by -c FILE /
 * --config FILE anywhere in argv (core/config.h format: each line is a long
 * option without "--").  File options go through the same on_opt, with
 * *in_file true, so on_opt can let the command line replace a list the
 * file filled.  The 'c' option itself reaches on_opt only from argv. */
int cli_parse_config(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
		     const struct option *longopts,
		     int (*on_opt)(const struct cli_command *cmd, int c, const char *arg, void *ctx),
		     void *ctx, bool *in_file);

/* Print "hatun CMD: <message>" on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Check that exactly n positional arguments remain at argv[optind]. */
int cli_want_args(const struct cli_command *cmd, int argc, char **argv, int n, const char *what);

/* Shared option handlers (cli_options.c); each returns 0 or CLI_EXIT_USAGE
 * after its one-line message. */
struct ht_policy;
enum ht_log_level;
/* --allow-dest / --deny-dest CIDR (allow: which list) into pol.  The first
 * one on the command line replaces what a config file listed; *cli_seen
 * remembers it.  A repeated prefix is fine. */
int cli_opt_dest(const struct cli_command *cmd, struct ht_policy *pol, bool allow, bool in_file,
		 bool *cli_seen, const char *arg);
/* FLAG SECONDS: 0.001 .. max_s seconds (with zero_ok, also "0": none)
 * into *out, or the usage error that names the range. */
int cli_opt_seconds(const struct cli_command *cmd, const char *flag, const char *arg,
		    unsigned max_s, bool zero_ok, uint64_t *out);
/* --log-level error|warn|info|debug */
int cli_opt_log_level(const struct cli_command *cmd, const char *arg, enum ht_log_level *out);
/* --allow-client CIDR (flag: its name) into cfg's client prefixes; the
 * first on the command line replaces what a config file listed. */
struct ht_converter_config;
int cli_opt_client_net(const struct cli_command *cmd, const char *flag,
		       struct ht_converter_config *cfg, bool in_file, bool *cli_seen, const char *arg);
/* --path SPEC (tunnel/pathspec.h) into paths[*n] (at most max, names
 * unique); the first on the command line replaces what a config file
 * listed. */
struct ht_pathspec;
int cli_opt_path(const struct cli_command *cmd, struct ht_pathspec *paths, size_t *n, size_t max,
		 bool in_file, bool *cli_seen, const char *arg);
/* Holds SIGINT / SIGTERM pending until the loop's signalfd takes them
 * (ht_loop_on_signal): a stop asked for during a start-up that changes
 * the system (--mptcp-endpoints) still runs its clean-up. */
void cli_hold_stop_signals(void);
/* --control PATH (a UNIX socket path: under 108 bytes) into path[cap]. */
int cli_opt_control(const struct cli_command *cmd, const char *arg, char *path, size_t cap);
/* Open the control socket for `hatun status` at path ("" = the default
 * for role, tunnel/control.h).  Optional: on failure a warning, NULL, and
 * the daemon runs without one. */
struct ht_loop;
struct ht_control;
struct ht_status;
struct ht_control *cli_open_control(struct ht_loop *loop, const char *path, const char *role,
				    int (*fill)(void *arg, struct ht_status *st), void *arg);

int cmd_genkey(const struct cli_command *cmd, int argc, char **argv);
int cmd_fingerprint(const struct cli_command *cmd, int argc, char **argv);
int cmd_concentrator(const struct cli_command *cmd, int argc, char **argv);
int cmd_client(const struct cli_command *cmd, int argc, char **argv);
int cmd_status(const struct cli_command *cmd, int argc, char **argv);
int cmd_converter(const struct cli_command *cmd, int argc, char **argv);
/* hatun client --transport convert without --server (cmd_converter.c):
 * cmd_client parses argv, then hands it over to be parsed again. */
int cmd_client_convert(const struct cli_command *cmd, int argc, char **argv);

#endif
