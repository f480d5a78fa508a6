/* hatun — option handlers shared by the commands that run a daemon
 * (concentrator, client, converter), so that a flag means and checks the
 * same everywhere and says so in the same words. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "convert/converter.h"
#include "core/log.h"
#include "proto/err.h"
#include "proto/policy.h"
#include "tunnel/control.h"
#include "tunnel/pathspec.h"
#include "tunnel/spec.h"

int cli_opt_dest(const struct cli_command *cmd, struct ht_policy *pol, bool allow, bool in_file,
		 bool *cli_seen, const char *arg)
{
	int rc;

	if (!in_file && !*cli_seen) {
		*cli_seen = true; /* the command line replaces the file's list */
		if (allow)
			pol->n_allow = 0;
		else
			pol->n_deny = 0;
	}
	rc = allow ? ht_policy_add_allow(pol, arg, strlen(arg))
		   : ht_policy_add_deny(pol, arg, strlen(arg));
	if (rc == HT_ERR_DUPLICATE)
		return 0;
	if (rc != HT_OK)
		return cli_usage_error(cmd, "%s: '%s' %s", allow ? "--allow-dest" : "--deny-dest", arg,
				       rc == HT_ERR_NOBUF ? "is one prefix too many"
							  : "is not a CIDR prefix (e.g. 192.0.2.0/24)");
	return 0;
}

int cli_opt_seconds(const struct cli_command *cmd, const char *flag, const char *arg,
		    unsigned max_s, bool zero_ok, uint64_t *out)
{
	if (zero_ok && strcmp(arg, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (ht_parse_seconds(arg, max_s, out) != 0)
		return cli_usage_error(cmd, "%s: '%s' is not %s0.001-%u seconds", flag, arg,
				       zero_ok ? "0 or " : "", max_s);
	return 0;
}

int cli_opt_log_level(const struct cli_command *cmd, const char *arg, enum ht_log_level *out)
{
	if (ht_log_parse_level(arg, out) != 0)
		return cli_usage_error(cmd, "--log-level: '%s' is not one of error, warn, info, debug",
				       arg);
	return 0;
}

int cli_opt_client_net(const struct cli_command *cmd, const char *flag,
		       struct ht_converter_config *cfg, bool in_file, bool *cli_seen, const char *arg)
{
	if (!in_file && !*cli_seen) {
		*cli_seen = true;
		cfg->nclients = 0; /* the command line replaces the file's list */
	}
	if (cfg->nclients == HT_CONV_MAX_CLIENT_NETS)
		return cli_usage_error(cmd, "%s: more than %d prefixes", flag,
				       HT_CONV_MAX_CLIENT_NETS);
	if (ht_policy_parse_cidr(&cfg->clients[cfg->nclients], arg, strlen(arg)) != HT_OK)
		return cli_usage_error(cmd, "%s: '%s' is not a CIDR prefix", flag, arg);
	cfg->nclients++;
	return 0;
}

int cli_opt_control(const struct cli_command *cmd, const char *arg, char *path, size_t cap)
{
	if (arg[0] == '\0' || strlen(arg) >= cap || strlen(arg) >= HT_CONTROL_PATH_MAX)
		return cli_usage_error(cmd, "--control: bad path '%s'", arg);
	snprintf(path, cap, "%s", arg);
	return 0;
}

struct ht_control *cli_open_control(struct ht_loop *loop, const char *path, const char *role,
				    ht_control_fill_fn fill, void *arg)
{
	char def[HT_CONTROL_PATH_MAX], err[256];
	struct ht_control *ctl = NULL;

	if (path[0] == '\0') {
		ht_control_default_path(role, def, sizeof(def));
		path = def;
	}
	if (ht_control_new(&ctl, loop, path, fill, arg, err, sizeof(err)) != 0)
		ht_log(HT_LOG_WARN, "control", "%s; 'hatun status' will not reach this process",
		       err);
	return ctl;
}

int cli_opt_path(const struct cli_command *cmd, struct ht_pathspec *paths, size_t *n, size_t max,
		 bool in_file, bool *cli_seen, const char *arg)
{
	const char *why;

	if (!in_file && !*cli_seen) {
		*cli_seen = true;
		*n = 0;
	}
	if (*n == max)
		return cli_usage_error(cmd, "--path: at most %zu", max);
	if (ht_pathspec_parse(arg, &paths[*n], &why) != 0)
		return cli_usage_error(cmd, "--path: '%s': %s", arg, why);
	for (size_t i = 0; i < *n; i++)
		if (strcmp(paths[i].name, paths[*n].name) == 0)
			return cli_usage_error(cmd, "--path: two paths named '%s' (add name=)",
					       paths[i].name);
	(*n)++;
	return 0;
}

void cli_hold_stop_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	(void)pthread_sigmask(SIG_BLOCK, &set, NULL);
}
