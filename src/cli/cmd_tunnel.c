/* hatun concentrator / hatun client: options, validation, the event loop,
 * graceful shutdown on SIGINT / SIGTERM. */
#include <arpa/inet.h>
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
#include "proto/route_rule.h"
#include "quic/conn.h"
#include "quic/identity.h"
#include "tunnel/client.h"
#include "tunnel/concentrator.h"
#include "tunnel/control.h"
#include "tunnel/pool.h"
#include "tunnel/relay.h"
#include "tunnel/spec.h"
#include "tunnel/tcp.h"

#define PATH_CAP 4096
#define DEFAULT_PORT 443
#define MAX_FWD 64
#define MAX_ALLOW 1024

enum {
	O_LISTEN = 256,
	O_CERT,
	O_KEY,
	O_ALLOW,
	O_ALLOW_CA,
	O_ALLOW_DEST,
	O_DENY_DEST,
	O_MAX_STREAMS,
	O_MAX_CLIENTS,
	O_CONNECT_TIMEOUT,
	O_NO_UPSTREAM_TFO,
	O_TICKET_FILE,
	O_CA,
	O_NO_TICKETS,
	O_IDLE_TIMEOUT,
	O_LOG_LEVEL,
	O_SYSLOG,
	O_SERVER,
	O_PIN,
	O_SOCKS,
	O_DNS,
	O_QUEUE,
	O_QUEUE_TIMEOUT,
	O_CONTROL,
	O_TRANSPARENT,
	O_QUIC_IDLE,
	O_KEEPALIVE,
	O_TRANSPORT,
	O_TUN,
	O_TAP,
	O_POOL,
	O_C2C,
	O_NAT,
	O_ROUTE,
	O_FULL_TUNNEL,
	O_PATH,
	O_SCHEDULER,
	O_PATH_TIMEOUT,
	O_CONVERT_LISTEN,
	O_CONVERT_ALLOW_CLIENT,
	O_CONVERTER,
	O_CONVERT_DEST,
	O_TUNNEL_DEST,
	O_CONVERT_TIMEOUT,
	O_CACHE_TTL,
	O_MPTCP_ENDPOINTS,
};

/* Options common to both commands. */
struct common_opts {
	bool in_file;
	char cert[PATH_CAP], key[PATH_CAP];
	enum ht_log_level level;
	bool syslog;
	uint64_t idle_timeout;
	uint64_t quic_idle, keepalive; /* ns; keepalive 0 = off */
	char control[HT_CONTROL_PATH_MAX];
};

static int set_path(const struct cli_command *cmd, char *dst, const char *flag, const char *v)
{
	if (v[0] == '\0' || strlen(v) >= PATH_CAP)
		return cli_usage_error(cmd, "%s: bad path '%s'", flag, v);
	strcpy(dst, v);
	return 0;
}

/* Returns 1 when c is not a common option. */
static int common_opt(const struct cli_command *cmd, struct common_opts *o, int c,
		      const char *arg)
{
	switch (c) {
	case 'c':
		return 0; /* read before everything else */
	case O_CERT:
		return set_path(cmd, o->cert, "--cert", arg);
	case O_KEY:
		return set_path(cmd, o->key, "--key", arg);
	case O_LOG_LEVEL:
		return cli_opt_log_level(cmd, arg, &o->level);
	case O_SYSLOG:
		o->syslog = true;
		return 0;
	case O_CONTROL:
		return cli_opt_control(cmd, arg, o->control, sizeof(o->control));
	case O_IDLE_TIMEOUT:
		return cli_opt_seconds(cmd, "--idle-timeout", arg, 86400 * 7, false,
				       &o->idle_timeout);
	case O_QUIC_IDLE:
		if (ht_parse_seconds(arg, 600, &o->quic_idle) != 0 || o->quic_idle < HT_SECONDS)
			return cli_usage_error(cmd, "--quic-idle-timeout: '%s' is not 1-600 seconds",
					       arg);
		return 0;
	case O_KEEPALIVE:
		if (strcmp(arg, "0") == 0) {
			o->keepalive = 0;
			return 0;
		}
		if (ht_parse_seconds(arg, 600, &o->keepalive) != 0 || o->keepalive < 100 * HT_MS)
			return cli_usage_error(cmd, "--keepalive: '%s' is not 0 (off) or 0.1-600 seconds",
					       arg);
		return 0;
	default:
		return 1;
	}
}

static int common_check(const struct cli_command *cmd, struct common_opts *o)
{
	if (o->cert[0] == '\0')
		return cli_usage_error(cmd, "missing --cert (see 'hatun %s --help')", cmd->name);
	if (o->key[0] == '\0')
		return cli_usage_error(cmd, "missing --key (see 'hatun %s --help')", cmd->name);
	if (o->keepalive != 0 && o->keepalive >= o->quic_idle)
		return cli_usage_error(cmd,
				       "--keepalive must be shorter than --quic-idle-timeout (%.3g s)",
				       (double)o->quic_idle / HT_SECONDS);
	ht_log_set_level(o->level);
	if (o->syslog)
		ht_log_use_syslog("hatun");
	return -1;
}

/* ---- the loop, signals, shutdown ------------------------------------------------ */

struct runner {
	struct ht_loop *loop;
	struct ht_control *ctl;
	struct ht_conc *cc;
	struct ht_converter *cv; /* --convert-listen */
	struct ht_client *cl;
	struct ht_cvclient *cvc; /* client with --server and --converter */
	struct ht_mptcp_pm *pm;  /* --mptcp-endpoints: what to undo at exit */
	struct ht_timer t;
	ht_time until;
	bool stopping;
};

static void stop_poll(struct ht_loop *loop, struct ht_timer *t)
{
	struct runner *rn = t->arg;

	/* The QUIC connections stay for their closing period (3 PTO). */
	if (ht_qconn_live_count() == 0 || ht_loop_now(loop) >= rn->until) {
		if (ht_qconn_live_count() != 0)
			ht_log(HT_LOG_WARN, "main",
			       "%zu QUIC connections still in their closing period at exit: freed",
			       ht_qconn_live_count());
		ht_loop_stop(loop);
		return;
	}
	(void)ht_timer_set(loop, t, ht_loop_now(loop) + 20 * HT_MS);
}

static void on_signal(struct ht_loop *loop, int signo, void *arg)
{
	struct runner *rn = arg;

	if (rn->stopping) {
		ht_loop_stop(loop);
		return;
	}
	rn->stopping = true;
	ht_log(HT_LOG_INFO, "main", "signal %d: shutting down", signo);
	if (rn->cc != NULL) {
		ht_converter_shutdown(rn->cv);
		ht_conc_shutdown(rn->cc);
		rn->until = ht_loop_now(loop) + 300 * HT_MS; /* let CONNECTION_CLOSE leave */
	} else {
		ht_client_shutdown(rn->cl);
		ht_cvclient_shutdown(rn->cvc);
		rn->until = ht_loop_now(loop) + 3 * HT_SECONDS;
	}
	ht_timer_init(&rn->t, stop_poll, rn);
	(void)ht_timer_set(loop, &rn->t, ht_loop_now(loop) + 20 * HT_MS);
}

static int run_loop(struct runner *rn)
{
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (ht_loop_on_signal(rn->loop, SIGINT, on_signal, rn) != 0 ||
	    ht_loop_on_signal(rn->loop, SIGTERM, on_signal, rn) != 0) {
		fprintf(stderr, "hatun: cannot install signal handlers\n");
		return CLI_EXIT_FAIL;
	}
	rc = ht_loop_run(rn->loop);
	return rc == 0 ? 0 : CLI_EXIT_FAIL;
}

/* ---- hatun concentrator ------------------------------------------------------- */

struct conc_opts {
	struct common_opts co;
	struct ht_hostport listen;
	bool have_listen;
	uint8_t (*allow)[HT_FP_LEN];
	size_t nallow;
	char allow_ca[PATH_CAP];
	bool allow_cli, allow_dest_cli, deny_dest_cli;
	struct ht_policy *policy;
	uint64_t max_streams, max_clients, connect_timeout;
	char tun[IFNAMSIZ];
	struct ht_dgrouter_config dg;
	bool no_upstream_tfo, no_tickets;
	/* --convert-listen: a Transport Converter in this process. */
	struct ht_hostport convert_listen;
	bool have_convert, convert_clients_cli;
	struct ht_converter_config conv;
};

static int conc_opt(const struct cli_command *cmd, int c, const char *arg, void *ctx)
{
	struct conc_opts *o = ctx;
	const char *why;
	int rc = common_opt(cmd, &o->co, c, arg);

	if (rc != 1)
		return rc;
	switch (c) {
	case O_LISTEN:
		if (ht_hostport_parse(arg, false, DEFAULT_PORT, &o->listen, &why) != 0)
			return cli_usage_error(cmd, "--listen: '%s': %s", arg, why);
		o->have_listen = true;
		return 0;
	case O_ALLOW:
		if (!o->co.in_file && !o->allow_cli) {
			o->allow_cli = true;
			o->nallow = 0; /* the command line replaces the file's list */
		}
		if (o->nallow == MAX_ALLOW)
			return cli_usage_error(cmd, "--allow: more than %d fingerprints", MAX_ALLOW);
		if (ht_fingerprint_parse(arg, o->allow[o->nallow]) != 0)
			return cli_usage_error(cmd, "--allow: '%s' is not sha256:<64 hex>", arg);
		o->nallow++;
		return 0;
	case O_ALLOW_CA:
		return set_path(cmd, o->allow_ca, "--allow-ca", arg);
	case O_ALLOW_DEST:
		return cli_opt_dest(cmd, o->policy, true, o->co.in_file, &o->allow_dest_cli, arg);
	case O_DENY_DEST:
		return cli_opt_dest(cmd, o->policy, false, o->co.in_file, &o->deny_dest_cli, arg);
	case O_MAX_STREAMS:
		if (ht_parse_u64(arg, 1, 1u << 20, &o->max_streams) != 0)
			return cli_usage_error(cmd, "--max-streams: '%s' is not 1-1048576", arg);
		return 0;
	case O_MAX_CLIENTS:
		if (ht_parse_u64(arg, 1, 1u << 20, &o->max_clients) != 0)
			return cli_usage_error(cmd, "--max-clients: '%s' is not 1-1048576", arg);
		return 0;
	case O_CONNECT_TIMEOUT:
		return cli_opt_seconds(cmd, "--connect-timeout", arg, 3600, false,
				       &o->connect_timeout);
	case O_TUN:
	case O_TAP:
		if (arg[0] == '\0' || strlen(arg) >= IFNAMSIZ)
			return cli_usage_error(cmd, "%s: '%s' is not a device name (1-%d chars)",
					       c == O_TAP ? "--tap" : "--tun", arg, IFNAMSIZ - 1);
		if (o->tun[0] != '\0' && o->dg.tap != (c == O_TAP))
			return cli_usage_error(cmd, "--tun and --tap exclude each other");
		strcpy(o->tun, arg);
		o->dg.tap = c == O_TAP;
		return 0;
	case O_POOL: {
		char reason[160];
		size_t i = o->dg.npool;

		if (i == 2)
			return cli_usage_error(cmd, "--pool: at most one 4: and one 6: pool");
		if (ht_pool_parse(arg, &o->dg.pool[i].version, o->dg.pool[i].prefix,
				  &o->dg.pool[i].plen, reason, sizeof(reason)) != 0)
			return cli_usage_error(cmd, "%s", reason);
		if (i == 1 && o->dg.pool[0].version == o->dg.pool[1].version)
			return cli_usage_error(cmd, "--pool: two IPv%d pools", o->dg.pool[1].version);
		o->dg.npool++;
		return 0;
	}
	case O_DNS: {
		uint8_t *a;

		if (o->dg.ndns == QT_EXT_MAX_DNS)
			return cli_usage_error(cmd, "--dns: at most %u servers", QT_EXT_MAX_DNS);
		a = o->dg.dns[o->dg.ndns];
		memset(a, 0, 16);
		if (inet_pton(AF_INET6, arg, a) != 1) {
			a[10] = a[11] = 0xff;
			if (inet_pton(AF_INET, arg, a + 12) != 1)
				return cli_usage_error(cmd, "--dns: '%s' is not an IP address", arg);
		}
		o->dg.ndns++;
		return 0;
	}
	case O_C2C:
		o->dg.allow_c2c = true;
		return 0;
	case O_NAT:
		o->dg.nat = true;
		return 0;
	case O_NO_UPSTREAM_TFO:
		o->no_upstream_tfo = true;
		return 0;
	case O_NO_TICKETS:
		o->no_tickets = true;
		return 0;
	case O_CONVERT_LISTEN:
		if (ht_hostport_parse(arg, false, HT_CONVERT_DEFAULT_PORT, &o->convert_listen, &why) != 0)
			return cli_usage_error(cmd, "--convert-listen: '%s': %s", arg, why);
		o->have_convert = true;
		return 0;
	case O_CONVERT_ALLOW_CLIENT:
		return cli_opt_client_net(cmd, "--convert-allow-client", &o->conv, o->co.in_file,
					  &o->convert_clients_cli, arg);
	}
	return CLI_EXIT_USAGE;
}

static const struct option conc_longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"config", required_argument, NULL, 'c'},
	{"listen", required_argument, NULL, O_LISTEN},
	{"cert", required_argument, NULL, O_CERT},
	{"key", required_argument, NULL, O_KEY},
	{"allow", required_argument, NULL, O_ALLOW},
	{"allow-ca", required_argument, NULL, O_ALLOW_CA},
	{"allow-dest", required_argument, NULL, O_ALLOW_DEST},
	{"deny-dest", required_argument, NULL, O_DENY_DEST},
	{"max-streams", required_argument, NULL, O_MAX_STREAMS},
	{"max-clients", required_argument, NULL, O_MAX_CLIENTS},
	{"connect-timeout", required_argument, NULL, O_CONNECT_TIMEOUT},
	{"tun", required_argument, NULL, O_TUN},
	{"tap", required_argument, NULL, O_TAP},
	{"pool", required_argument, NULL, O_POOL},
	{"dns", required_argument, NULL, O_DNS},
	{"allow-client-to-client", no_argument, NULL, O_C2C},
	{"nat", no_argument, NULL, O_NAT},
	{"no-upstream-tfo", no_argument, NULL, O_NO_UPSTREAM_TFO},
	{"no-session-tickets", no_argument, NULL, O_NO_TICKETS},
	{"convert-listen", required_argument, NULL, O_CONVERT_LISTEN},
	{"convert-allow-client", required_argument, NULL, O_CONVERT_ALLOW_CLIENT},
	{"idle-timeout", required_argument, NULL, O_IDLE_TIMEOUT},
	{"quic-idle-timeout", required_argument, NULL, O_QUIC_IDLE},
	{"keepalive", required_argument, NULL, O_KEEPALIVE},
	{"log-level", required_argument, NULL, O_LOG_LEVEL},
	{"syslog", no_argument, NULL, O_SYSLOG},
	{"control", required_argument, NULL, O_CONTROL},
	{NULL, 0, NULL, 0},
};

/* The concentrator's snapshot, and its converter's part when it runs one. */
static int conc_status(void *arg, struct ht_status *st)
{
	struct runner *rn = arg;

	if (ht_conc_status(rn->cc, st) != 0)
		return -1;
	return rn->cv != NULL ? ht_converter_status_conv(rn->cv, &st->conv) : 0;
}

/* --convert-listen: the converter in the concentrator's loop, with its
 * destination policy (own addresses kept current by the concentrator) and
 * its --connect-timeout / --idle-timeout. */
static int start_converter(struct runner *rn, struct conc_opts *o, char *err, size_t errlen)
{
	memcpy(o->conv.listen_addr, o->convert_listen.addr, 16);
	o->conv.listen_port = o->convert_listen.port;
	o->conv.policy = ht_conc_policy(rn->cc);
	o->conv.own_kept = true;
	o->conv.connect_timeout = o->connect_timeout;
	o->conv.idle_timeout = o->co.idle_timeout;
	return ht_converter_new(&rn->cv, rn->loop, &o->conv, err, errlen);
}

int cmd_concentrator(const struct cli_command *cmd, int argc, char **argv)
{
	struct conc_opts *o = calloc(1, sizeof(*o));
	struct ht_conc_config cfg;
	struct runner rn = {0};
	char err[512];
	int rc = CLI_EXIT_FAIL;

	if (o == NULL || (o->allow = calloc(MAX_ALLOW, HT_FP_LEN)) == NULL ||
	    (o->policy = malloc(sizeof(*o->policy))) == NULL)
		goto out;
	ht_policy_init(o->policy);
	o->co.level = HT_LOG_INFO;
	o->co.idle_timeout = 600 * HT_SECONDS;
	o->co.quic_idle = 30 * HT_SECONDS;
	o->co.keepalive = 10 * HT_SECONDS;
	o->max_streams = 256;
	o->max_clients = 1024;
	o->connect_timeout = 10 * HT_SECONDS;
	ht_converter_config_defaults(&o->conv);
	rc = cli_parse_config(cmd, argc, argv, "c:", conc_longopts, conc_opt, o, &o->co.in_file);
	if (rc < 0)
		rc = cli_want_args(cmd, argc, argv, 0, "");
	if (rc < 0 && !o->have_listen)
		rc = cli_usage_error(cmd, "missing --listen (see 'hatun concentrator --help')");
	if (rc < 0 && o->nallow == 0 && o->allow_ca[0] == '\0')
		rc = cli_usage_error(cmd, "missing --allow or --allow-ca: no client could connect");
	if (rc < 0 && o->tun[0] != '\0' && !o->dg.tap && o->dg.npool == 0)
		rc = cli_usage_error(cmd, "--tun needs --pool 4:CIDR and/or --pool 6:CIDR");
	if (rc < 0 && (o->tun[0] == '\0' || o->dg.tap) && (o->dg.npool > 0 || o->dg.nat))
		rc = cli_usage_error(cmd, "--pool and --nat need --tun");
	if (rc < 0 && !o->have_convert && o->conv.nclients > 0)
		rc = cli_usage_error(cmd, "--convert-allow-client needs --convert-listen");
	if (rc < 0)
		rc = common_check(cmd, &o->co);
	if (rc >= 0)
		goto out;

	memset(&cfg, 0, sizeof(cfg));
	cfg.dgram = o->dg;
	cfg.dgram.tun = o->tun[0] != '\0' ? o->tun : NULL;
	cfg.listen_len = ht_sockaddr_from16(&cfg.listen, o->listen.addr, o->listen.port);
	cfg.cert = o->co.cert;
	cfg.key = o->co.key;
	cfg.allow = (const uint8_t(*)[HT_FP_LEN])o->allow;
	cfg.nallow = o->nallow;
	cfg.allow_ca = o->allow_ca[0] != '\0' ? o->allow_ca : NULL;
	cfg.policy = o->policy;
	cfg.max_streams = o->max_streams;
	cfg.max_clients = o->max_clients;
	cfg.connect_timeout = o->connect_timeout;
	cfg.no_upstream_tfo = o->no_upstream_tfo;
	cfg.no_tickets = o->no_tickets;
	cfg.idle_timeout = o->co.idle_timeout;
	cfg.quic_idle_timeout = o->co.quic_idle;
	cfg.keep_alive = o->co.keepalive;
	cfg.no_keep_alive = o->co.keepalive == 0;
	rc = CLI_EXIT_FAIL;
	if (ht_loop_new(&rn.loop) != 0)
		goto out;
	if (ht_conc_new(&rn.cc, rn.loop, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "hatun concentrator: %s\n", err);
	} else if (o->have_convert && start_converter(&rn, o, err, sizeof(err)) != 0) {
		fprintf(stderr, "hatun concentrator: --convert-listen: %s\n", err);
		ht_conc_free(rn.cc);
	} else {
		rn.ctl = cli_open_control(rn.loop, o->co.control, "concentrator", conc_status, &rn);
		rc = run_loop(&rn);
		ht_qconn_reap_closed();
		ht_control_free(rn.ctl);
		ht_converter_free(rn.cv);
		ht_conc_free(rn.cc);
	}
	ht_loop_free(rn.loop);
	if (ht_relay_live_count() != 0)
		ht_log(HT_LOG_WARN, "main", "%zu relays left at exit", ht_relay_live_count());
out:
	if (o != NULL) {
		free(o->allow);
		free(o->policy);
	}
	free(o);
	return rc;
}

/* ---- hatun client ------------------------------------------------------------- */

struct client_opts {
	struct common_opts co;
	struct ht_hostport server;
	bool have_server, have_pin, fwd_cli;
	uint8_t pin[HT_FP_LEN];
	struct ht_fwd *fwd;
	size_t nfwd;
	bool socks, dns;
	uint16_t transparent;
	struct ht_hostport socks_listen, dns_server;
	uint64_t queue_max, queue_timeout;
	char ticket_file[PATH_CAP]; /* "" = next to the key, "none" = off */
	char ca[PATH_CAP];
	char server_name[HT_NAME_MAX + 1];
	char tun[IFNAMSIZ];
	struct ht_dgclient_config dg;
	struct ht_pathspec path[HT_CPATHS_MAX];
	size_t npath;
	bool path_cli; /* --path on the command line replaces the file's */
	bool mptcp_endpoints; /* the kernel's MPTCP endpoints for the --paths */
	int sched;
	uint64_t fail_rtts;
	/* --converter: with --server, the mixed mode; without, cmd_client_convert. */
	struct ht_hostport conv;
	bool have_conv, transport_convert, rules_cli;
	struct ht_route_rules rules; /* --convert-dest / --tunnel-dest, in order */
	uint64_t convert_timeout, cache_ttl;
	struct ht_handoff_ops handoff;  /* client -> converter; outlives both */
	struct ht_handoff_ops fallback; /* converter -> tunnel (ht_client_adopt) */
};

static int client_opt(const struct cli_command *cmd, int c, const char *arg, void *ctx)
{
	struct client_opts *o = ctx;
	const char *why;
	int rc = common_opt(cmd, &o->co, c, arg);

	if (rc != 1)
		return rc;
	switch (c) {
	case O_SERVER:
		if (ht_hostport_parse(arg, true, DEFAULT_PORT, &o->server, &why) != 0)
			return cli_usage_error(cmd, "--server: '%s': %s", arg, why);
		o->have_server = true;
		return 0;
	case O_PIN:
		if (ht_fingerprint_parse(arg, o->pin) != 0)
			return cli_usage_error(cmd, "--pin: '%s' is not sha256:<64 hex>", arg);
		o->have_pin = true;
		return 0;
	case 'L':
		if (!o->co.in_file && !o->fwd_cli) {
			o->fwd_cli = true;
			o->nfwd = 0;
		}
		if (o->nfwd == MAX_FWD)
			return cli_usage_error(cmd, "-L: more than %d forwards", MAX_FWD);
		if (ht_fwd_parse(arg, &o->fwd[o->nfwd], &why) != 0)
			return cli_usage_error(cmd, "-L: '%s': %s", arg, why);
		o->nfwd++;
		return 0;
	case O_SOCKS:
		if (ht_hostport_parse(arg, false, 1080, &o->socks_listen, &why) != 0)
			return cli_usage_error(cmd, "--socks: '%s': %s", arg, why);
		o->socks = true;
		return 0;
	case O_DNS:
		if (ht_hostport_parse(arg, false, 53, &o->dns_server, &why) != 0)
			return cli_usage_error(cmd, "--dns: '%s': %s", arg, why);
		o->dns = true;
		return 0;
	case O_TRANSPARENT: {
		uint64_t v;

		if (ht_parse_u64(arg, 1, 65535, &v) != 0)
			return cli_usage_error(cmd, "--transparent: '%s' is not a port 1-65535", arg);
		o->transparent = (uint16_t)v;
		return 0;
	}
	case O_QUEUE:
		if (ht_parse_u64(arg, 1, 1u << 20, &o->queue_max) != 0)
			return cli_usage_error(cmd, "--queue: '%s' is not 1-1048576", arg);
		return 0;
	case O_QUEUE_TIMEOUT:
		return cli_opt_seconds(cmd, "--queue-timeout", arg, 3600, false,
				       &o->queue_timeout);
	case O_TRANSPORT:
		if (strcmp(arg, "quic") != 0 && strcmp(arg, "convert") != 0)
			return cli_usage_error(cmd, "--transport: '%s' is not 'quic' or 'convert'", arg);
		o->transport_convert = strcmp(arg, "convert") == 0;
		return 0;
	case O_CONVERTER:
		if (ht_hostport_parse(arg, true, HT_CONVERT_DEFAULT_PORT, &o->conv, &why) != 0)
			return cli_usage_error(cmd, "--converter: '%s': %s", arg, why);
		o->have_conv = true;
		return 0;
	case O_CONVERT_DEST:
	case O_TUNNEL_DEST: {
		const char *flag = c == O_CONVERT_DEST ? "--convert-dest" : "--tunnel-dest";
		int r;

		if (!o->co.in_file && !o->rules_cli) {
			o->rules_cli = true;
			o->rules.n = 0; /* the command line's rules replace the file's */
		}
		r = ht_route_rules_add(&o->rules,
				       c == O_CONVERT_DEST ? HT_ROUTE_CONVERT : HT_ROUTE_TUNNEL, arg,
				       strlen(arg), &why);
		if (r == HT_ERR_NOBUF)
			return cli_usage_error(cmd, "%s: more than %u rules", flag, HT_ROUTE_MAX_RULES);
		if (r != 0)
			return cli_usage_error(cmd, "%s: '%s': %s", flag, arg, why);
		return 0;
	}
	case O_CONVERT_TIMEOUT:
		return cli_opt_seconds(cmd, "--convert-timeout", arg, 600, false,
				       &o->convert_timeout);
	case O_CACHE_TTL:
		return cli_opt_seconds(cmd, "--mptcp-cache-ttl", arg, 86400, false,
				       &o->cache_ttl);
	case O_TICKET_FILE:
		return set_path(cmd, o->ticket_file, "--ticket-file", arg);
	case O_CA:
		return set_path(cmd, o->ca, "--ca", arg);
	case O_TUN:
	case O_TAP:
		if (arg[0] == '\0' || strlen(arg) >= IFNAMSIZ)
			return cli_usage_error(cmd, "%s: '%s' is not a device name (1-%d chars)",
					       c == O_TAP ? "--tap" : "--tun", arg, IFNAMSIZ - 1);
		if (o->tun[0] != '\0' && o->dg.tap != (c == O_TAP))
			return cli_usage_error(cmd, "--tun and --tap exclude each other");
		strcpy(o->tun, arg);
		o->dg.tap = c == O_TAP;
		return 0;
	case O_ROUTE:
		if (o->dg.nroute == HT_DGC_MAX_ROUTES)
			return cli_usage_error(cmd, "--route: more than %d", HT_DGC_MAX_ROUTES);
		if (ht_cidr_parse(arg, o->dg.route[o->dg.nroute].addr,
				  &o->dg.route[o->dg.nroute].plen) != 0)
			return cli_usage_error(cmd, "--route: '%s' is not a CIDR prefix", arg);
		o->dg.nroute++;
		return 0;
	case O_FULL_TUNNEL:
		o->dg.full_tunnel = true;
		return 0;
	case O_PATH:
		return cli_opt_path(cmd, o->path, &o->npath, HT_CPATHS_MAX, o->co.in_file,
				    &o->path_cli, arg);
	case O_MPTCP_ENDPOINTS:
		o->mptcp_endpoints = true;
		return 0;
	case O_SCHEDULER:
		o->sched = ht_sched_policy_parse(arg);
		if (o->sched < 0)
			return cli_usage_error(cmd,
					       "--scheduler: '%s' is not min-rtt, weighted, redundant "
					       "or backup-only",
					       arg);
		return 0;
	case O_PATH_TIMEOUT:
		if (ht_parse_u64(arg, 2, 50, &o->fail_rtts) != 0)
			return cli_usage_error(cmd, "--path-timeout: '%s' is not 2-50 (RTTs)", arg);
		return 0;
	}
	return CLI_EXIT_USAGE;
}

static const struct option client_longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"config", required_argument, NULL, 'c'},
	{"server", required_argument, NULL, O_SERVER},
	{"pin", required_argument, NULL, O_PIN},
	{"cert", required_argument, NULL, O_CERT},
	{"key", required_argument, NULL, O_KEY},
	{"forward", required_argument, NULL, 'L'},
	{"socks", required_argument, NULL, O_SOCKS},
	{"dns", required_argument, NULL, O_DNS},
	{"transparent", required_argument, NULL, O_TRANSPARENT},
	{"tun", required_argument, NULL, O_TUN},
	{"tap", required_argument, NULL, O_TAP},
	{"route", required_argument, NULL, O_ROUTE},
	{"full-tunnel", no_argument, NULL, O_FULL_TUNNEL},
	{"path", required_argument, NULL, O_PATH},
	{"scheduler", required_argument, NULL, O_SCHEDULER},
	{"path-timeout", required_argument, NULL, O_PATH_TIMEOUT},
	{"idle-timeout", required_argument, NULL, O_IDLE_TIMEOUT},
	{"quic-idle-timeout", required_argument, NULL, O_QUIC_IDLE},
	{"keepalive", required_argument, NULL, O_KEEPALIVE},
	{"queue", required_argument, NULL, O_QUEUE},
	{"queue-timeout", required_argument, NULL, O_QUEUE_TIMEOUT},
	{"ticket-file", required_argument, NULL, O_TICKET_FILE},
	{"ca", required_argument, NULL, O_CA},
	{"log-level", required_argument, NULL, O_LOG_LEVEL},
	{"syslog", no_argument, NULL, O_SYSLOG},
	{"control", required_argument, NULL, O_CONTROL},
	{"transport", required_argument, NULL, O_TRANSPORT},
	{"converter", required_argument, NULL, O_CONVERTER},
	{"convert-dest", required_argument, NULL, O_CONVERT_DEST},
	{"tunnel-dest", required_argument, NULL, O_TUNNEL_DEST},
	{"convert-timeout", required_argument, NULL, O_CONVERT_TIMEOUT},
	{"mptcp-cache-ttl", required_argument, NULL, O_CACHE_TTL},
	{"mptcp-endpoints", no_argument, NULL, O_MPTCP_ENDPOINTS},
	{NULL, 0, NULL, 0},
};

/* The concentrator's address: a literal, or a name looked up once at
 * start on the local network (it is the tunnel's own endpoint). */
static int resolve_server(const struct ht_hostport *hp, struct sockaddr_storage *ss,
			  socklen_t *len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
	char port[8];
	int rv;

	if (!hp->is_name) {
		*len = ht_sockaddr_from16(ss, hp->addr, hp->port);
		return 0;
	}
	snprintf(port, sizeof(port), "%u", hp->port);
	rv = getaddrinfo(hp->name, port, &hints, &res);
	if (rv != 0 || res == NULL) {
		fprintf(stderr, "hatun client: cannot resolve '%s': %s\n", hp->name,
			gai_strerror(rv));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* --ticket-file: default DIR/hatun.ticket beside the key (the client's
 * state lives there); "none" keeps no tickets (no 0-RTT). */
static int ticket_path(struct client_opts *o, char *err, size_t errlen)
{
	const char *slash;
	size_t dirlen;

	if (strcmp(o->ticket_file, "none") == 0) {
		o->ticket_file[0] = '\0';
		return 0;
	}
	if (o->ticket_file[0] != '\0')
		return 0;
	slash = strrchr(o->co.key, '/');
	dirlen = slash != NULL ? (size_t)(slash - o->co.key) + 1 : 0;
	if (dirlen + sizeof("hatun.ticket") > PATH_CAP) {
		snprintf(err, errlen, "the key's directory is too long");
		return -1;
	}
	memcpy(o->ticket_file, o->co.key, dirlen);
	memcpy(o->ticket_file + dirlen, "hatun.ticket", sizeof("hatun.ticket"));
	return 0;
}

/* The mixed mode's snapshot: the tunnel's part, the rules, and the convert
 * client's part. */
static int client_mixed_status(void *arg, struct ht_status *st)
{
	struct runner *rn = arg;

	if (ht_client_status(rn->cl, st) != 0)
		return -1;
	return ht_cvclient_status(rn->cvc, st);
}

/* The mixed mode: the convert client without listeners of its own; the
 * QUIC client's entry points hand it the connections its rules route to
 * the converter (tunnel/handoff.h). */
static int start_cvclient(struct runner *rn, struct client_opts *o, struct ht_client_config *cfg,
			  char *err, size_t errlen)
{
	struct ht_cvclient_config cc;

	memset(&cc, 0, sizeof(cc));
	if (resolve_server(&o->conv, &cc.converter, &cc.converter_len) != 0) {
		snprintf(err, errlen, "--converter: cannot resolve it");
		return -1;
	}
	/* The converter's MPTCP connections: subflows on every --path too. */
	if (o->mptcp_endpoints)
		cli_hold_stop_signals(); /* the endpoints are removed even then */
	if (o->mptcp_endpoints &&
	    (ht_mptcp_pm_source(&o->path[0], cc.converter.ss_family, &cc.source, &cc.source_len,
				err, errlen) != 0 ||
	     ht_mptcp_pm_setup(&rn->pm, o->path, o->npath, cc.converter.ss_family, err,
			       errlen) != 0))
		return -1;
	cc.convert_timeout = o->convert_timeout;
	cc.idle_timeout = o->co.idle_timeout;
	cc.cache_ttl = o->cache_ttl;
	cc.interference_max = 3;
	cc.mixed = true;
	/* arg: the client, set once it exists (nothing runs before). */
	o->fallback.adopt = ht_client_adopt;
	cc.fallback = &o->fallback;
	if (ht_cvclient_new(&rn->cvc, rn->loop, &cc, err, errlen) != 0)
		return -1;
	o->handoff.arg = rn->cvc;
	o->handoff.usable = ht_cvclient_usable;
	o->handoff.adopt = ht_cvclient_adopt;
	cfg->handoff = &o->handoff;
	cfg->rules = o->rules;
	cfg->default_convert = o->transport_convert;
	return 0;
}

/* --converter / --transport convert without --server: no tunnel at all
 * (src/convert/, cmd_converter.c parses argv again with its own table). */
static bool convert_only(const struct client_opts *o)
{
	return !o->have_server && (o->have_conv || o->transport_convert);
}

int cmd_client(const struct cli_command *cmd, int argc, char **argv)
{
	struct client_opts *o = NULL;
	struct ht_client_config cfg;
	struct runner rn = {0};
	char err[512];
	int rc = CLI_EXIT_FAIL;

	o = calloc(1, sizeof(*o));
	if (o == NULL || (o->fwd = calloc(MAX_FWD, sizeof(*o->fwd))) == NULL)
		goto out;
	o->co.level = HT_LOG_INFO;
	o->co.idle_timeout = 600 * HT_SECONDS;
	o->co.quic_idle = 30 * HT_SECONDS;
	o->co.keepalive = 10 * HT_SECONDS;
	o->queue_max = 4096;
	o->queue_timeout = 10 * HT_SECONDS;
	o->convert_timeout = 3 * HT_SECONDS;
	o->cache_ttl = 600 * HT_SECONDS;
	rc = cli_parse_config(cmd, argc, argv, "c:L:", client_longopts, client_opt, o,
			      &o->co.in_file);
	if (rc < 0)
		rc = cli_want_args(cmd, argc, argv, 0, "");
	if (rc < 0 && convert_only(o) && o->rules.n > 0)
		rc = cli_usage_error(cmd, "--convert-dest / --tunnel-dest choose between the QUIC "
					  "tunnel and the converter: they need --server too");
	if (rc < 0 && convert_only(o)) {
		free(o->fwd);
		free(o);
		return cmd_client_convert(cmd, argc, argv);
	}
	if (rc < 0 && !o->have_server)
		rc = cli_usage_error(cmd, "missing --server (see 'hatun client --help')");
	if (rc < 0 && !o->have_pin && o->ca[0] == '\0')
		rc = cli_usage_error(cmd, "missing --pin (the concentrator's fingerprint) or --ca");
	if (rc < 0 && o->nfwd == 0 && !o->socks && o->transparent == 0 && o->tun[0] == '\0')
		rc = cli_usage_error(cmd,
				     "nothing to do: give -L, --socks, --transparent and/or --tun");
	if (rc < 0 && (o->tun[0] == '\0' || o->dg.tap) && (o->dg.nroute > 0 || o->dg.full_tunnel))
		rc = cli_usage_error(cmd, "--route and --full-tunnel need --tun");
	if (rc < 0 && o->transport_convert && !o->have_conv)
		rc = cli_usage_error(cmd, "--transport convert needs --converter HOST[:PORT]");
	if (rc < 0 && o->rules.n > 0 && !o->have_conv)
		rc = cli_usage_error(cmd, "--convert-dest / --tunnel-dest need --converter HOST[:PORT]");
	if (rc < 0 && o->mptcp_endpoints && !o->have_conv)
		rc = cli_usage_error(cmd, "--mptcp-endpoints sets up MPTCP subflows for the converter: "
					  "it needs --converter HOST[:PORT]");
	if (rc < 0 && o->mptcp_endpoints && o->npath < 2)
		rc = cli_usage_error(cmd, "--mptcp-endpoints needs two or more --path (endpoints "
					  "for the paths after the first)");
	if (rc < 0)
		rc = common_check(cmd, &o->co);
	if (rc >= 0)
		goto out;

	memset(&cfg, 0, sizeof(cfg));
	rc = CLI_EXIT_FAIL;
	if (resolve_server(&o->server, &cfg.server, &cfg.server_len) != 0)
		goto out;
	cfg.cert = o->co.cert;
	cfg.key = o->co.key;
	memcpy(cfg.pin, o->pin, HT_FP_LEN);
	cfg.have_pin = o->have_pin;
	cfg.ca = o->ca[0] != '\0' ? o->ca : NULL;
	/* The name the certificate must carry: the --server host as given. */
	if (o->server.is_name)
		snprintf(o->server_name, sizeof(o->server_name), "%s", o->server.name);
	else
		(void)inet_ntop(cfg.server.ss_family == AF_INET ? AF_INET : AF_INET6,
				cfg.server.ss_family == AF_INET
					? (const void *)&((struct sockaddr_in *)&cfg.server)->sin_addr
					: (const void *)&((struct sockaddr_in6 *)&cfg.server)->sin6_addr,
				o->server_name, sizeof(o->server_name));
	cfg.server_name = o->server_name;
	cfg.fwd = o->fwd;
	cfg.nfwd = o->nfwd;
	cfg.socks = o->socks;
	cfg.socks_listen = o->socks_listen;
	cfg.dns = o->dns;
	cfg.transparent_port = o->transparent;
	cfg.dns_server = o->dns_server;
	cfg.idle_timeout = o->co.idle_timeout;
	cfg.quic_idle_timeout = o->co.quic_idle;
	cfg.keep_alive = o->co.keepalive;
	cfg.no_keep_alive = o->co.keepalive == 0;
	cfg.queue_max = o->queue_max;
	cfg.queue_timeout = o->queue_timeout;
	if (ticket_path(o, err, sizeof(err)) != 0) {
		fprintf(stderr, "hatun client: --ticket-file: %s\n", err);
		goto out;
	}
	cfg.ticket_file = o->ticket_file[0] != '\0' ? o->ticket_file : NULL;
	cfg.dgram = o->dg;
	cfg.dgram.tun = o->tun[0] != '\0' ? o->tun : NULL;
	memcpy(cfg.path, o->path, sizeof(cfg.path));
	cfg.npath = o->npath;
	cfg.sched = (enum ht_sched_policy)o->sched;
	cfg.fail_rtts = (unsigned)o->fail_rtts;
	if (ht_loop_new(&rn.loop) != 0)
		goto out;
	if (o->have_conv && start_cvclient(&rn, o, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "hatun client: %s\n", err);
	} else if (ht_client_new(&rn.cl, rn.loop, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "hatun client: %s\n", err);
	} else {
		o->fallback.arg = rn.cl;
		rn.ctl = rn.cvc != NULL ? cli_open_control(rn.loop, o->co.control, "client",
							   client_mixed_status, &rn)
					: cli_open_control(rn.loop, o->co.control, "client",
							   ht_client_status, rn.cl);
		rc = run_loop(&rn);
		ht_qconn_reap_closed();
		ht_control_free(rn.ctl);
		ht_client_free(rn.cl);
	}
	ht_cvclient_free(rn.cvc); /* after the client: it hands connections to it */
	ht_mptcp_pm_restore(rn.pm); /* endpoints removed, limits restored */
	ht_loop_free(rn.loop);
out:
	if (o != NULL)
		free(o->fwd);
	free(o);
	return rc;
}
