/* hatun genkey / hatun fingerprint */
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cli.h"
#include "quic/identity.h"

struct genkey_opts {
	bool force;
};

static int genkey_opt(const struct cli_command *cmd, int c, const char *arg, void *ctx)
{
	struct genkey_opts *o = ctx;

	(void)cmd;
	(void)arg;
	if (c == 'f')
		o->force = true;
	return 0;
}

int cmd_genkey(const struct cli_command *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	struct genkey_opts o = {false};
	char fp[HT_FP_STRLEN + 1], err[512];
	struct stat st;
	const char *dir;
	int rc;

	rc = cli_parse(cmd, argc, argv, "f", longopts, genkey_opt, &o);
	if (rc < 0)
		rc = cli_want_args(cmd, argc, argv, 1, "DIR");
	if (rc >= 0)
		return rc;
	dir = argv[optind];
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return cli_usage_error(cmd, "'%s' is not a directory", dir);
	if (ht_identity_generate(dir, o.force, fp, err, sizeof(err)) != 0) {
		fprintf(stderr, "hatun genkey: %s\n", err);
		return CLI_EXIT_FAIL;
	}
	printf("%s\n", fp);
	return 0;
}

int cmd_fingerprint(const struct cli_command *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char fp[HT_FP_STRLEN + 1], err[512];
	int rc;

	rc = cli_parse(cmd, argc, argv, "", longopts, NULL, NULL);
	if (rc < 0)
		rc = cli_want_args(cmd, argc, argv, 1, "CERT");
	if (rc >= 0)
		return rc;
	if (ht_identity_cert_fingerprint(argv[optind], fp, err, sizeof(err)) != 0) {
		fprintf(stderr, "hatun fingerprint: %s\n", err);
		return CLI_EXIT_FAIL;
	}
	printf("%s\n", fp);
	return 0;
}
