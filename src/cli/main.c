/* hatun — command-line front end: one binary, one subcommand per role.
 *
 * Each subcommand owns its option parsing; this file only dispatches.  The
 * rule for every subcommand: --help prints usage to stdout and exits 0; an
 * unknown flag, a missing or a bad value prints ONE line naming it to stderr
 * and exits 2 before anything starts.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef HATUN_VERSION
#define HATUN_VERSION "0.0.0"
#endif

#define EXIT_USAGE 2

struct command {
	const char *name;
	const char *summary;
	const char *usage;
	int (*run)(int argc, char **argv);
};

static int cmd_version(int argc, char **argv);

static const struct command commands[] = {
	{"version", "print the version and the protocol versions spoken",
	 "usage: hatun version\n"
	 "\n"
	 "Print hatun's version and the ALPN protocol identifiers it speaks.\n",
	 cmd_version},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

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

/* Parse the options of a subcommand that takes only --help.  Returns -1 to
 * go on, or an exit code. */
static int parse_no_options(const struct command *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(cmd->usage, stdout);
			return 0;
		default:
			fprintf(stderr, "hatun %s: unknown option '%s'\n", cmd->name,
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hatun %s: unexpected argument '%s'\n", cmd->name, argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
}

static int cmd_version(int argc, char **argv)
{
	int rc = parse_no_options(&commands[0], argc, argv);

	if (rc >= 0)
		return rc;
	printf("hatun %s\n", HATUN_VERSION);
	printf("alpn: qt qt-01 qt-00\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *name;

	if (argc < 2) {
		print_main_usage(stderr);
		return EXIT_USAGE;
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
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(name, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "hatun: unknown command '%s' (see 'hatun --help')\n", name);
	return EXIT_USAGE;
}
