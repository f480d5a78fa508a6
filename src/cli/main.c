/* hatun — command-line front end: one binary, one subcommand per role.
 * This file dispatches and holds the option-parsing contract (cli.h); each
 * subcommand owns its options. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef HATUN_VERSION
#define HATUN_VERSION "0.0.0"
#endif

static int cmd_version(const struct cli_command *cmd, int argc, char **argv);

static const struct cli_command commands[] = {
	{"version", "print the version and the protocol versions spoken",
	 "usage: hatun version\n"
	 "\n"
	 "Print hatun's version and the ALPN protocol identifiers it speaks.\n",
	 cmd_version},
	{"genkey", "create a private key and a self-signed certificate",
	 "usage: hatun genkey [--force] DIR\n"
	 "\n"
	 "Write DIR/hatun.key (ECDSA P-256, mode 0600) and DIR/hatun.crt (self-signed)\n"
	 "and print the identity's fingerprint, sha256:<64 hex> over the certificate's\n"
	 "public key.  Peers pin that fingerprint (--pin, --allow).\n"
	 "\n"
	 "  -f, --force   overwrite existing files\n",
	 cmd_genkey},
	{"fingerprint", "print the fingerprint of a certificate",
	 "usage: hatun fingerprint CERT\n"
	 "\n"
	 "Print sha256:<64 hex>, the SHA-256 of CERT's public key (SubjectPublicKeyInfo),\n"
	 "as 'hatun genkey' printed it.\n",
	 cmd_fingerprint},
	{"concentrator", "run the network side of the tunnel",
	 "usage: hatun concentrator --listen ADDR:PORT --cert FILE --key FILE\n"
	 "                          (--allow FP... | --allow-ca FILE)\n"
	 "                          [OPTIONS]\n"
	 "\n"
	 "Accept QUIC tunnel connections (ALPN qt, qt-01, qt-00) from clients whose certificate\n"
	 "fingerprint is allowed, and connect the TCP connections they carry (stream\n"
	 "mode, one QUIC stream per TCP connection) to their destinations.\n"
	 "\n"
	 "  --listen ADDR[:PORT]     UDP address to listen on (port 443 if left out)\n"
	 "  --cert FILE, --key FILE  our identity ('hatun genkey DIR' writes both)\n"
	 "  --allow FP               a client fingerprint, sha256:<64 hex> (repeat)\n"
	 "  --allow-ca FILE          also accept clients whose certificate a CA in FILE\n"
	 "                           (PEM) signed; their identity is still their key\n"
	 "  --allow-dest CIDR        destinations clients may reach (repeat; default all)\n"
	 "  --deny-dest CIDR         destinations refused (repeat; longest prefix wins)\n"
	 "                           Loopback, link-local, multicast, broadcast,\n"
	 "                           unspecified and our own addresses are always refused.\n"
	 "  --max-streams N          concurrent TCP connections per client (256)\n"
	 "  --max-clients N          concurrent client connections (1024)\n"
	 "  --connect-timeout S      give up connecting to a destination after S s (10)\n"
	 "  --tun NAME               datagram mode (ALPN qt): IP packets of clients in\n"
	 "                           QUIC DATAGRAM frames, routed through TUN device NAME\n"
	 "  --tap NAME               datagram mode with Ethernet frames (0x6558): TAP\n"
	 "                           device NAME, bridged to the clients' TAP devices\n"
	 "  --pool 4:CIDR, --pool 6:CIDR\n"
	 "                           client addresses (stable per client fingerprint);\n"
	 "                           the first address is the concentrator's own\n"
	 "  --dns ADDR               resolver announced to datagram clients (repeat, 4)\n"
	 "  --allow-client-to-client let datagram clients reach each other\n"
	 "  --nat                    masquerade the pools (nftables table inet\n"
	 "                           hatun_NAME) and turn IP forwarding on\n"
	 "  --no-session-tickets     issue no TLS session tickets: clients always do a\n"
	 "                           full handshake, never 0-RTT\n"
	 "  --no-upstream-tfo        never put a client's first bytes in the SYN to the\n"
	 "                           destination (TCP Fast Open is used by default when\n"
	 "                           the destination gave the kernel a cookie)\n"
	 "  --convert-listen ADDR[:PORT]\n"
	 "                           also run a 0-RTT TCP Convert transport converter\n"
	 "                           (see 'hatun converter --help'; port 5124) in this\n"
	 "                           process: the same destination policy, own addresses,\n"
	 "                           --connect-timeout, --idle-timeout and 'hatun status'\n"
	 "  --convert-allow-client CIDR\n"
	 "                           Convert clients allowed (repeat; default all); others\n"
	 "                           get the error Not Authorized\n"
	 "  --idle-timeout S         reset a tunnelled connection idle for S s (600)\n"
	 "  --quic-idle-timeout S    drop a QUIC connection silent for S s (30; 1-600)\n"
	 "  --keepalive S            PING an idle QUIC connection every S s (10; 0 = off;\n"
	 "                           shorter than --quic-idle-timeout)\n"
	 "  --log-level LEVEL        error, warn, info (default), debug\n"
	 "  --control PATH           control socket for 'hatun status' (default\n"
	 "                           /run/hatun/concentrator.sock or $XDG_RUNTIME_DIR/hatun/)\n"
	 "  --syslog                 log to syslog instead of stderr\n"
	 "  -c, --config FILE        read options from FILE (one 'name = value' per line,\n"
	 "                           names as the long options); the command line wins,\n"
	 "                           and a list given there replaces the file's list\n",
	 cmd_concentrator},
	{"client", "run the user side of the tunnel (-L forwards, SOCKS5)",
	 "usage: hatun client --server HOST:PORT (--pin FP | --ca FILE) --cert F --key F\n"
	 "                    [-L [BIND:]PORT:HOST:PORT]... [--socks ADDR:PORT] [OPTIONS]\n"
	 "\n"
	 "Keep one QUIC connection to the concentrator (reconnecting with backoff) and\n"
	 "carry local TCP connections through it, one QUIC stream each.\n"
	 "\n"
	 "  --server HOST[:PORT]     the concentrator (port 443 if left out)\n"
	 "  --pin FP                 the concentrator's fingerprint, sha256:<64 hex>\n"
	 "  --cert FILE, --key FILE  our identity ('hatun genkey DIR' writes both)\n"
	 "  -L, --forward [BIND:]PORT:HOST:PORT\n"
	 "                           listen on BIND:PORT (127.0.0.1 by default) and\n"
	 "                           forward each connection to HOST:PORT from the\n"
	 "                           concentrator (repeat; IPv6 in brackets)\n"
	 "  --socks ADDR[:PORT]      SOCKS5 server (CONNECT, no authentication, IPv4,\n"
	 "                           IPv6; port 1080 if left out)\n"
	 "  --transparent PORT       transparent proxy for a router: TCP redirected by\n"
	 "                           nftables TPROXY to PORT (IPv4 and IPv6) is tunnelled\n"
	 "                           to its original destination (see README)\n"
	 "  --dns ADDR[:PORT]        resolver reached THROUGH the tunnel (DNS over TCP)\n"
	 "                           for SOCKS domain names and -L to a host name;\n"
	 "                           without it names are refused (port 53 if left out)\n"
	 "  --tun NAME               datagram mode: a TUN device with the addresses and\n"
	 "                           MTU the concentrator assigns (needs ALPN qt)\n"
	 "  --tap NAME               datagram mode with Ethernet frames: a TAP device\n"
	 "                           bridged to the concentrator's (bridge it locally)\n"
	 "  --route CIDR             send CIDR into the TUN device (repeat)\n"
	 "  --full-tunnel            send everything into it (0/1 + 128/1, ::/1 +\n"
	 "                           8000::/1), keeping a host route to the concentrator\n"
	 "  --path SPEC              an access network to bond (repeat, up to 4): one\n"
	 "                           QUIC connection each, joined into one session.\n"
	 "                           SPEC: [name=NAME,]dev=IFACE and/or src=ADDR\n"
	 "                           [,weight=N][,backup]; a bare word is dev=, a bare\n"
	 "                           address src= (default: one path, default route)\n"
	 "  --scheduler POLICY       min-rtt (default), weighted, redundant, backup-only\n"
	 "  --path-timeout RTTS      a path that answers nothing for RTTS round trips\n"
	 "                           (4; at least 150 ms, at most 3 s) has failed: its\n"
	 "                           streams move to another path\n"
	 "  --idle-timeout S         reset a tunnelled connection idle for S s (600)\n"
	 "  --quic-idle-timeout S    drop a QUIC connection silent for S s (30; 1-600)\n"
	 "  --keepalive S            PING an idle QUIC connection every S s (10; 0 = off;\n"
	 "                           shorter than --quic-idle-timeout)\n"
	 "  --queue N                connections waiting for a stream (4096)\n"
	 "  --queue-timeout S        longest wait for a stream (10)\n"
	 "  --ca FILE                also accept a concentrator certificate a CA in FILE\n"
	 "                           (PEM) signed for the --server host name or IP\n"
	 "                           address (subjectAltName); --pin is then optional\n"
	 "  --ticket-file PATH       keep the concentrator's session ticket here, to\n"
	 "                           resume with 0-RTT after a restart (default\n"
	 "                           hatun.ticket beside --key; 'none': keep none)\n"
	 "  --log-level LEVEL        error, warn, info (default), debug\n"
	 "  --control PATH           control socket for 'hatun status' (default\n"
	 "                           /run/hatun/client.sock or $XDG_RUNTIME_DIR/hatun/)\n"
	 "  --syslog                 log to syslog instead of stderr\n"
	 "  -c, --config FILE        read options from FILE (see 'hatun concentrator\n"
	 "                           --help'); the command line wins\n"
	 "\n"
	 "  --transport quic|convert  quic (default): the tunnel above.  convert: each\n"
	 "                           connection goes over MPTCP to a Transport Converter\n"
	 "                           ('hatun converter'), the Convert message in its SYN\n"
	 "                           (TCP Fast Open).  With --server: the transport of\n"
	 "                           destinations no rule below matches\n"
	 "  --converter HOST[:PORT]  the converter (port 5124).  Without --server: no\n"
	 "                           tunnel, only -L (IP destinations), --socks (IP\n"
	 "                           literals), --transparent, --convert-timeout,\n"
	 "                           --mptcp-cache-ttl, --idle-timeout, --log-level,\n"
	 "                           --syslog, --control, -c, and --path only with\n"
	 "                           --mptcp-endpoints\n"
	 "  --convert-dest SPEC      with --server and --converter: connections to SPEC\n"
	 "  --tunnel-dest SPEC       go through the converter / the tunnel (repeat, both\n"
	 "                           in one ordered list of up to 64, first match wins).\n"
	 "                           SPEC: CIDR or address, optionally :PORT or\n"
	 "                           :LO-HI (IPv6 with a port in brackets:\n"
	 "                           [2001:db8::/32]:80-90), or any[:PORTS].  Host\n"
	 "                           names always take the tunnel; a disabled\n"
	 "                           converter's destinations too\n"
	 "  --convert-timeout S      wait S s for the converter's reply (3)\n"
	 "  --mptcp-cache-ttl S      remember MPTCP-capable servers S s (600): they are\n"
	 "                           reached directly over MPTCP\n"
	 "  --mptcp-endpoints        with --converter and two or more --path: bind the\n"
	 "                           connections to the first path's address, add the\n"
	 "                           kernel's MPTCP endpoint 'ADDR dev IFACE subflow' for\n"
	 "                           each further path (a dev-only path: its first\n"
	 "                           global address) and raise the limits\n"
	 "                           subflows / add_addr_accepted to their number;\n"
	 "                           undone at exit (existing endpoints are kept).\n"
	 "                           Needs CAP_NET_ADMIN.  Or 'ip mptcp' by hand\n",
	 cmd_client},
	{"converter", "run a 0-RTT TCP Convert transport converter (MPTCP + TFO)",
	 "usage: hatun converter --listen ADDR[:PORT] [OPTIONS]\n"
	 "\n"
	 "Accept TCP/MPTCP connections that start with a Convert message\n"
	 "(draft-ietf-tcpm-converters-02 / RFC 8803) and connect them to the Remote Peer\n"
	 "they name, over MPTCP when the client came over MPTCP; then relay both ways.\n"
	 "The listener uses TCP Fast Open, so the message rides in the client's SYN.\n"
	 "\n"
	 "  --listen ADDR[:PORT]           address to listen on (port 5124 if left out)\n"
	 "  --allow-client CIDR            clients allowed (repeat; default all); others\n"
	 "                                 get the error Not Authorized\n"
	 "  --allow-dest CIDR              destinations clients may reach (repeat; default all)\n"
	 "  --deny-dest CIDR               destinations refused (repeat; longest prefix wins)\n"
	 "                                 Loopback, link-local, multicast, broadcast,\n"
	 "                                 unspecified and our own addresses are always refused.\n"
	 "  --max-conns N                  connections connecting or relayed (4096); beyond:\n"
	 "                                 Resource Exceeded\n"
	 "  --max-pending-per-client N     connects in progress per client address (64)\n"
	 "  --connect-timeout S            give up connecting after S s: Network Failure (10)\n"
	 "  --idle-timeout S               reset a relay idle for S s (600; 0 = never)\n"
	 "  --error-rate N                 Error messages sent per second (100, burst 2x);\n"
	 "                                 beyond it refusals are bare resets\n"
	 "  --tcp-cache-ttl S              a destination that answered MPTCP as plain TCP\n"
	 "                                 is reached over plain TCP for S s (600; 0 = always\n"
	 "                                 try MPTCP)\n"
	 "  --log-level LEVEL              error, warn, info (default), debug\n"
	 "  --syslog                       log to syslog instead of stderr\n"
	 "  --control PATH                 control socket for 'hatun status' (default\n"
	 "                                 /run/hatun/converter.sock or $XDG_RUNTIME_DIR/hatun/)\n"
	 "  -c, --config FILE              read options from FILE (see 'hatun concentrator\n"
	 "                                 --help'); the command line wins\n",
	 cmd_converter},
	{"status", "show a running client's, concentrator's or converter's connections",
	 "usage: hatun status [--json] [--watch [--interval S]] [--control PATH]\n"
	 "\n"
	 "Ask a running 'hatun client', 'hatun concentrator' or 'hatun converter' over\n"
	 "its control socket and print its role, uptime, QUIC connections (peer,\n"
	 "fingerprint, ALPN, smoothed RTT, cwnd, bytes each way, lost packets, open\n"
	 "streams) and the tunnelled TCP connections (open, total, refused).  A\n"
	 "converter lists every converted connection (client, destination, the\n"
	 "client's MPTCP subflows, MPTCP or TCP to the server, bytes each way, age) and\n"
	 "its counters (accepted, refused by Error code, caps); a convert client its\n"
	 "converter's state, its MPTCP-capable destinations and its connections.\n"
	 "\n"
	 "  --json          one JSON object instead of text\n"
	 "  --watch         ask again every --interval S seconds (1; 0.1 - 3600)\n"
	 "                  and redraw, until Ctrl-C\n"
	 "  --control PATH  the control socket (default: the client's, else the\n"
	 "                  concentrator's, else the converter's:\n"
	 "                  $XDG_RUNTIME_DIR/hatun/ROLE.sock when\n"
	 "                  XDG_RUNTIME_DIR is set, else /run/hatun/ROLE.sock)\n",
	 cmd_status},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hatun %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_USAGE;
}

int cli_parse(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
	      const struct option *longopts,
	      int (*on_opt)(const struct cli_command *cmd, int c, const char *arg, void *ctx),
	      void *ctx)
{
	char opts[64];
	int c;

	/* '+' stops at the first positional; ':' reports missing values as ':'. */
	snprintf(opts, sizeof(opts), "+:h%s", shortopts);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, opts, longopts, NULL)) != -1) {
		int rc;

		switch (c) {
		case 'h':
			fputs(cmd->usage, stdout);
			return 0;
		case ':':
			return cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
		case '?':
			return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		default:
			rc = on_opt != NULL ? on_opt(cmd, c, optarg, ctx) : CLI_EXIT_USAGE;
			if (rc != 0)
				return rc;
		}
	}
	return -1;
}

int cli_want_args(const struct cli_command *cmd, int argc, char **argv, int n, const char *what)
{
	if (argc - optind < n)
		return cli_usage_error(cmd, "missing %s (see 'hatun %s --help')", what, cmd->name);
	if (argc - optind > n)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + n]);
	return -1;
}

static const struct option help_only[] = {
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int cmd_version(const struct cli_command *cmd, int argc, char **argv)
{
	int rc = cli_parse(cmd, argc, argv, "", help_only, NULL, NULL);

	if (rc < 0)
		rc = cli_want_args(cmd, argc, argv, 0, "");
	if (rc >= 0)
		return rc;
	printf("hatun %s\n", HATUN_VERSION);
	printf("alpn: qt qt-01 qt-00\n");
	return 0;
}

static void print_main_usage(FILE *out)
{
	fprintf(out, "usage: hatun [--help] COMMAND [ARGS]\n"
		     "\n"
		     "hatun bonds several access links into one tunnel to a concentrator.\n"
		     "\n"
		     "commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun 'hatun COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
	const char *name;

	if (argc < 2) {
		print_main_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		print_main_usage(stdout);
		return 0;
	}
	if (strcmp(name, "--version") == 0)
		name = "version";
	if (name[0] == '-') {
		fprintf(stderr, "hatun: unknown option '%s'\n", name);
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(name, commands[i].name) == 0)
			return commands[i].run(&commands[i], argc - 1, argv + 1);
	}
	fprintf(stderr, "hatun: unknown command '%s' (see 'hatun --help')\n", name);
	return CLI_EXIT_USAGE;
}
