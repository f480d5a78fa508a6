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
