/* hatun converter: options, validation, the loop, shutdown on SIGINT /
 * SIGTERM (src/convert/converter.h does the work). */
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "convert/converter.h"
#include "convert/cvclient.h"
#include "convert/mptcp_pm.h"
#include "core/log.h"
#include "core/loop.h"
#include "proto/err.h"
#include "proto/policy.h"
#include "tunnel/control.h"
#include "tunnel/cpaths.h"
#include "tunnel/pathspec.h"
#include "tunnel/spec.h"
#include "tunnel/tcp.h"


enum {
	O_LISTEN = 256,
	O_ALLOW_CLIENT,
	O_ALLOW_DEST,
	O_DENY_DEST,
	O_MAX_CONNS,
	O_MAX_PENDING,
	O_CONNECT_TIMEOUT,
	O_IDLE_TIMEOUT,
	O_ERROR_RATE,
	O_LOG_LEVEL,
	O_SYSLOG,
	O_CONTROL,
	O_TCP_CACHE_TTL,
};

struct conv_opts {
	bool in_file, have_listen, clients_cli, allow_dest_cli, deny_dest_cli, syslog;
	struct ht_hostport listen;
	enum ht_log_level level;
	uint64_t max_conns, max_pending, error_rate;
	ht_time connect_timeout, idle_timeout;
	struct ht_converter_config cfg;
	struct ht_policy *policy;
	char control[HT_CONTROL_PATH_MAX];
};

static int conv_opt(const struct cli_command *cmd, int c, const char *arg, void *ctx)
{
	struct conv_opts *o = ctx;
	const char *why;

	switch (c) {
	case 'c':
		return 0; /* read before everything else */
	case O_LISTEN:
		if (ht_hostport_parse(arg, false, HT_CONVERT_DEFAULT_PORT, &o->listen, &why) != 0)
			return cli_usage_error(cmd, "--listen: '%s': %s", arg, why);
		o->have_listen = true;
		return 0;
	case O_ALLOW_CLIENT:
		return cli_opt_client_net(cmd, "--allow-client", &o->cfg, o->in_file, &o->clients_cli,
					  arg);
	case O_ALLOW_DEST:
		return cli_opt_dest(cmd, o->policy, true, o->in_file, &o->allow_dest_cli, arg);
	case O_DENY_DEST:
		return cli_opt_dest(cmd, o->policy, false, o->in_file, &o->deny_dest_cli, arg);
	case O_MAX_CONNS:
		if (ht_parse_u64(arg, 1, 1u << 20, &o->max_conns) != 0)
			return cli_usage_error(cmd, "--max-conns: '%s' is not 1-1048576", arg);
		return 0;
	case O_MAX_PENDING:
		if (ht_parse_u64(arg, 1, 1u << 20, &o->max_pending) != 0)
			return cli_usage_error(cmd, "--max-pending-per-client: '%s' is not 1-1048576",
					       arg);
		return 0;
	case O_ERROR_RATE:
		if (ht_parse_u64(arg, 1, 1000000, &o->error_rate) != 0)
			return cli_usage_error(cmd, "--error-rate: '%s' is not 1-1000000", arg);
		return 0;
	case O_CONNECT_TIMEOUT:
		return cli_opt_seconds(cmd, "--connect-timeout", arg, 3600, false,
				       &o->connect_timeout);
	case O_IDLE_TIMEOUT:
		return cli_opt_seconds(cmd, "--idle-timeout", arg, 86400 * 7, true,
				       &o->idle_timeout);
	case O_LOG_LEVEL:
		return cli_opt_log_level(cmd, arg, &o->level);
	case O_SYSLOG:
		o->syslog = true;
		return 0;
	case O_CONTROL:
		return cli_opt_control(cmd, arg, o->control, sizeof(o->control));
	case O_TCP_CACHE_TTL:
		return cli_opt_seconds(cmd, "--tcp-cache-ttl", arg, 86400, true,
				       &o->cfg.tcp_cache_ttl);
	}
	return CLI_EXIT_USAGE;
}

static const struct option conv_longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"config", required_argument, NULL, 'c'},
	{"listen", required_argument, NULL, O_LISTEN},
	{"allow-client", required_argument, NULL, O_ALLOW_CLIENT},
	{"allow-dest", required_argument, NULL, O_ALLOW_DEST},
	{"deny-dest", required_argument, NULL, O_DENY_DEST},
	{"max-conns", required_argument, NULL, O_MAX_CONNS},
	{"max-pending-per-client", required_argument, NULL, O_MAX_PENDING},
	{"connect-timeout", required_argument, NULL, O_CONNECT_TIMEOUT},
	{"idle-timeout", required_argument, NULL, O_IDLE_TIMEOUT},
	{"error-rate", required_argument, NULL, O_ERROR_RATE},
	{"log-level", required_argument, NULL, O_LOG_LEVEL},
	{"syslog", no_argument, NULL, O_SYSLOG},
	{"control", required_argument, NULL, O_CONTROL},
	{"tcp-cache-ttl", required_argument, NULL, O_TCP_CACHE_TTL},
	{NULL, 0, NULL, 0},
};

static void conv_signal(struct ht_loop *loop, int signo, void *arg)
{
	struct ht_converter *cv = arg;

	ht_log(HT_LOG_INFO, "main", "signal %d: shutting down", signo);
	ht_converter_shutdown(cv);
	ht_loop_stop(loop);
}

int cmd_converter(const struct cli_command *cmd, int argc, char **argv)
{
	struct conv_opts *o = calloc(1, sizeof(*o));
	struct ht_loop *loop = NULL;
	struct ht_converter *cv = NULL;
	struct ht_control *ctl = NULL;
	char err[512];
	int rc = CLI_EXIT_FAIL;

	if (o == NULL || (o->policy = malloc(sizeof(*o->policy))) == NULL)
		goto out;
	ht_policy_init(o->policy);
	o->level = HT_LOG_INFO;
	ht_converter_config_defaults(&o->cfg);
	o->max_conns = o->cfg.max_conns;
	o->max_pending = o->cfg.max_pending_per_client;
	o->error_rate = o->cfg.errors_per_second;
	o->connect_timeout = o->cfg.connect_timeout;
	o->idle_timeout = o->cfg.idle_timeout;
	rc = cli_parse_config(cmd, argc, argv, "c:", conv_longopts, conv_opt, o, &o->in_file);
	if (rc < 0)
		rc = cli_want_args(cmd, argc, argv, 0, "");
	if (rc < 0 && !o->have_listen)
		rc = cli_usage_error(cmd, "missing --listen (see 'hatun converter --help')");
	if (rc >= 0)
		goto out;
	ht_log_set_level(o->level);
	if (o->syslog)
		ht_log_use_syslog("hatun");

	memcpy(o->cfg.listen_addr, o->listen.addr, 16);
	o->cfg.listen_port = o->listen.port;
	o->cfg.policy = o->policy;
	o->cfg.max_conns = o->max_conns;
	o->cfg.max_pending_per_client = o->max_pending;
	o->cfg.connect_timeout = o->connect_timeout;
	o->cfg.idle_timeout = o->idle_timeout;
	o->cfg.errors_per_second = (unsigned)o->error_rate;
	rc = CLI_EXIT_FAIL;
	signal(SIGPIPE, SIG_IGN);
	if (ht_loop_new(&loop) != 0)
		goto out;
	if (ht_converter_new(&cv, loop, &o->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "hatun converter: %s\n", err);
		goto out;
	}
	if (ht_loop_on_signal(loop, SIGINT, conv_signal, cv) != 0 ||
	    ht_loop_on_signal(loop, SIGTERM, conv_signal, cv) != 0) {
		fprintf(stderr, "hatun converter: cannot install signal handlers\n");
		goto out;
	}
	ctl = cli_open_control(loop, o->control, "converter", ht_converter_status, cv);
	rc = ht_loop_run(loop) == 0 ? 0 : CLI_EXIT_FAIL;
out:
	ht_control_free(ctl);
	ht_converter_free(cv);
	ht_loop_free(loop);
	if (o != NULL)
		free(o->policy);
	free(o);
	return rc;
}

/* ---- hatun client --transport convert ------------------------------------------- */

#define CVC_MAX_FWD 64

enum {
	O_TRANSPORT = 300,
	O_CONVERTER,
	O_SOCKS,
	O_TRANSPARENT,
	O_CONVERT_TIMEOUT,
	O_CACHE_TTL,
	O_CVC_PATH,
	O_MPTCP_ENDPOINTS,
};

struct cvc_opts {
	bool in_file, fwd_cli, have_conv, syslog;
	/* --path: the access links; --mptcp-endpoints: hatun sets up the
	 * kernel's MPTCP endpoints for them (convert/mptcp_pm.h). */
	struct ht_pathspec path[HT_CPATHS_MAX];
	size_t npath;
	bool path_cli, mptcp_endpoints;
	struct ht_hostport conv;
	struct ht_fwd fwd[CVC_MAX_FWD];
	size_t nfwd;
	bool socks;
	struct ht_hostport socks_listen;
	uint16_t transparent;
	enum ht_log_level level;
	ht_time convert_timeout, idle_timeout, cache_ttl;
	char control[HT_CONTROL_PATH_MAX];
};

static int cvc_opt(const struct cli_command *cmd, int c, const char *arg, void *ctx)
{
	struct cvc_opts *o = ctx;
	const char *why;
	uint64_t v;

	switch (c) {
	case 'c':
		return 0;
	case O_TRANSPORT:
		if (strcmp(arg, "convert") != 0)
			return cli_usage_error(cmd, "--transport: '%s' is not 'convert' or 'quic'", arg);
		return 0;
	case O_CONVERTER:
		if (ht_hostport_parse(arg, true, HT_CONVERT_DEFAULT_PORT, &o->conv, &why) != 0)
			return cli_usage_error(cmd, "--converter: '%s': %s", arg, why);
		o->have_conv = true;
		return 0;
	case 'L':
		if (!o->in_file && !o->fwd_cli) {
			o->fwd_cli = true;
			o->nfwd = 0;
		}
		if (o->nfwd == CVC_MAX_FWD)
			return cli_usage_error(cmd, "-L: more than %d forwards", CVC_MAX_FWD);
		if (ht_fwd_parse(arg, &o->fwd[o->nfwd], &why) != 0)
			return cli_usage_error(cmd, "-L: '%s': %s", arg, why);
		if (o->fwd[o->nfwd].dst.is_name)
			return cli_usage_error(cmd, "-L: '%s': --transport convert needs an IP address",
					       arg);
		o->nfwd++;
		return 0;
	case O_SOCKS:
		if (ht_hostport_parse(arg, false, 1080, &o->socks_listen, &why) != 0)
			return cli_usage_error(cmd, "--socks: '%s': %s", arg, why);
		o->socks = true;
		return 0;
	case O_TRANSPARENT:
		if (ht_parse_u64(arg, 1, 65535, &v) != 0)
			return cli_usage_error(cmd, "--transparent: '%s' is not a port 1-65535", arg);
		o->transparent = (uint16_t)v;
		return 0;
	case O_CONVERT_TIMEOUT:
		return cli_opt_seconds(cmd, "--convert-timeout", arg, 600, false,
				       &o->convert_timeout);
	case O_CACHE_TTL:
		return cli_opt_seconds(cmd, "--mptcp-cache-ttl", arg, 86400, false,
				       &o->cache_ttl);
	case O_IDLE_TIMEOUT:
		return cli_opt_seconds(cmd, "--idle-timeout", arg, 86400 * 7, false,
				       &o->idle_timeout);
	case O_LOG_LEVEL:
		return cli_opt_log_level(cmd, arg, &o->level);
	case O_SYSLOG:
		o->syslog = true;
		return 0;
	case O_CONTROL:
		return cli_opt_control(cmd, arg, o->control, sizeof(o->control));
	case O_CVC_PATH:
		return cli_opt_path(cmd, o->path, &o->npath, HT_CPATHS_MAX, o->in_file, &o->path_cli,
				    arg);
	case O_MPTCP_ENDPOINTS:
		o->mptcp_endpoints = true;
		return 0;
	}
	return CLI_EXIT_USAGE;
}

static const struct option cvc_longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"config", required_argument, NULL, 'c'},
	{"transport", required_argument, NULL, O_TRANSPORT},
	{"converter", required_argument, NULL, O_CONVERTER},
	{"forward", required_argument, NULL, 'L'},
	{"socks", required_argument, NULL, O_SOCKS},
	{"transparent", required_argument, NULL, O_TRANSPARENT},
	{"convert-timeout", required_argument, NULL, O_CONVERT_TIMEOUT},
	{"mptcp-cache-ttl", required_argument, NULL, O_CACHE_TTL},
	{"idle-timeout", required_argument, NULL, O_IDLE_TIMEOUT},
	{"log-level", required_argument, NULL, O_LOG_LEVEL},
	{"syslog", no_argument, NULL, O_SYSLOG},
	{"control", required_argument, NULL, O_CONTROL},
	{"path", required_argument, NULL, O_CVC_PATH},
	{"mptcp-endpoints", no_argument, NULL, O_MPTCP_ENDPOINTS},
	{NULL, 0, NULL, 0},
};

static void cvc_signal(struct ht_loop *loop, int signo, void *arg)
{
	ht_log(HT_LOG_INFO, "main", "signal %d: shutting down", signo);
	ht_cvclient_shutdown(arg);
	ht_loop_stop(loop);
}

int cmd_client_convert(const struct cli_command *cmd, int argc, char **argv)
{
	struct cvc_opts *o = calloc(1, sizeof(*o));
	struct ht_cvclient_config cfg;
	struct ht_loop *loop = NULL;
	struct ht_cvclient *cl = NULL;
	struct ht_control *ctl = NULL;
	struct ht_mptcp_pm *pm = NULL;
	char err[512];
	int rc = CLI_EXIT_FAIL;

	if (o == NULL)
		goto out;
	o->level = HT_LOG_INFO;
	o->convert_timeout = 3 * HT_SECONDS;
	o->idle_timeout = 600 * HT_SECONDS;
	o->cache_ttl = 600 * HT_SECONDS;
	rc = cli_parse_config(cmd, argc, argv, "c:L:", cvc_longopts, cvc_opt, o, &o->in_file);
	if (rc < 0)
		rc = cli_want_args(cmd, argc, argv, 0, "");
	if (rc < 0 && !o->have_conv)
		rc = cli_usage_error(cmd, "--transport convert needs --converter HOST[:PORT]");
	if (rc < 0 && o->nfwd == 0 && !o->socks && o->transparent == 0)
		rc = cli_usage_error(cmd, "nothing to do: give -L, --socks and/or --transparent");
	/* Without a tunnel the paths are the kernel's business: --path says
	 * which endpoints hatun should set up, nothing else. */
	if (rc < 0 && o->npath > 0 && !o->mptcp_endpoints)
		rc = cli_usage_error(cmd, "--path with --transport convert: add --mptcp-endpoints "
					  "(hatun sets up the kernel's MPTCP endpoints), or set them "
					  "with 'ip mptcp endpoint' (README, Convert) and drop --path");
	if (rc < 0 && o->mptcp_endpoints && o->npath < 2)
		rc = cli_usage_error(cmd, "--mptcp-endpoints needs two or more --path (endpoints "
					  "for the paths after the first)");
	if (rc >= 0)
		goto out;
	ht_log_set_level(o->level);
	if (o->syslog)
		ht_log_use_syslog("hatun");
	memset(&cfg, 0, sizeof(cfg));
	rc = CLI_EXIT_FAIL;
	if (o->conv.is_name) {
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
		char port[8];
		int rv;

		snprintf(port, sizeof(port), "%u", o->conv.port);
		rv = getaddrinfo(o->conv.name, port, &hints, &res);
		if (rv != 0 || res == NULL) {
			fprintf(stderr, "hatun client: cannot resolve '%s': %s\n", o->conv.name,
				gai_strerror(rv));
			goto out;
		}
		memcpy(&cfg.converter, res->ai_addr, res->ai_addrlen);
		cfg.converter_len = res->ai_addrlen;
		freeaddrinfo(res);
	} else {
		cfg.converter_len = ht_sockaddr_from16(&cfg.converter, o->conv.addr, o->conv.port);
	}
	cfg.fwd = o->fwd;
	cfg.nfwd = o->nfwd;
	cfg.socks = o->socks;
	cfg.socks_listen = o->socks_listen;
	cfg.transparent_port = o->transparent;
	cfg.convert_timeout = o->convert_timeout;
	cfg.idle_timeout = o->idle_timeout;
	cfg.cache_ttl = o->cache_ttl;
	cfg.interference_max = 3;
	signal(SIGPIPE, SIG_IGN);
	if (ht_loop_new(&loop) != 0)
		goto out;
	if (o->mptcp_endpoints)
		cli_hold_stop_signals(); /* the endpoints are removed even then */
	if (o->mptcp_endpoints &&
	    (ht_mptcp_pm_source(&o->path[0], cfg.converter.ss_family, &cfg.source,
				&cfg.source_len, err, sizeof(err)) != 0 ||
	     ht_mptcp_pm_setup(&pm, o->path, o->npath, cfg.converter.ss_family, err,
			       sizeof(err)) != 0)) {
		fprintf(stderr, "hatun client: %s\n", err);
		goto out;
	}
	if (ht_cvclient_new(&cl, loop, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "hatun client: %s\n", err);
		goto out;
	}
	if (ht_loop_on_signal(loop, SIGINT, cvc_signal, cl) != 0 ||
	    ht_loop_on_signal(loop, SIGTERM, cvc_signal, cl) != 0) {
		fprintf(stderr, "hatun client: cannot install signal handlers\n");
		goto out;
	}
	ctl = cli_open_control(loop, o->control, "client", ht_cvclient_status, cl);
	rc = ht_loop_run(loop) == 0 ? 0 : CLI_EXIT_FAIL;
out:
	ht_control_free(ctl);
	ht_cvclient_free(cl);
	ht_mptcp_pm_restore(pm); /* endpoints removed, limits restored */
	ht_loop_free(loop);
	free(o);
	return rc;
}
