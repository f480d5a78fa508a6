/* hatun — options from a config file (-c FILE) and the command line, through
 * the same handlers (core/config.h).  The file is read first, so flags win. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/config.h"
#include "proto/err.h"

#define CONFIG_MAX (1u << 20)

struct file_ctx {
	const struct cli_command *cmd;
	const struct option *longopts;
	int (*on_opt)(const struct cli_command *, int, const char *, void *);
	void *ctx;
	const char *path;
};

static int file_opt(void *arg, const char *key, const char *value, unsigned line)
{
	struct file_ctx *f = arg;

	for (const struct option *o = f->longopts; o->name != NULL; o++) {
		if (strcmp(o->name, key) != 0)
			continue;
		if (o->val == 'h' || o->val == 'c')
			break;
		if (o->has_arg == required_argument && value == NULL)
			return cli_usage_error(f->cmd, "%s:%u: option '%s' needs a value", f->path,
					       line, key);
		if (o->has_arg == no_argument && value != NULL)
			return cli_usage_error(f->cmd, "%s:%u: option '%s' takes no value", f->path,
					       line, key);
		return f->on_opt(f->cmd, o->val, value, f->ctx);
	}
	return cli_usage_error(f->cmd, "%s:%u: unknown option '%s'", f->path, line, key);
}

static const char *find_config(int argc, char **argv)
{
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			break;
		if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(a, "--config=", 9) == 0)
			path = a + 9;
		else if (strncmp(a, "-c", 2) == 0 && a[2] != '\0')
			path = a + 2;
	}
	return path;
}

int cli_parse_config(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
		     const struct option *longopts,
		     int (*on_opt)(const struct cli_command *cmd, int c, const char *arg, void *ctx),
		     void *ctx, bool *in_file)
{
	const char *path = NULL;
	struct file_ctx f = {cmd, longopts, on_opt, ctx, NULL};
	unsigned line = 0;
	char *text = NULL;
	size_t len = 0;
	FILE *fp;
	int rc;

	/* --help wins over a broken file. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return cli_parse(cmd, argc, argv, shortopts, longopts, on_opt, ctx);
		if (strcmp(argv[i], "--") == 0)
			break;
	}
	path = find_config(argc, argv);
	if (path != NULL) {
		fp = fopen(path, "r");
		if (fp == NULL)
			return cli_usage_error(cmd, "cannot read config file '%s': %s", path,
					       strerror(errno));
		text = malloc(CONFIG_MAX + 1);
		if (text == NULL) {
			fclose(fp);
			return CLI_EXIT_FAIL;
		}
		len = fread(text, 1, CONFIG_MAX + 1, fp);
		fclose(fp);
		if (len > CONFIG_MAX) {
			free(text);
			return cli_usage_error(cmd, "config file '%s' is larger than 1 MiB", path);
		}
		f.path = path;
		*in_file = true;
		rc = ht_config_parse(text, len, file_opt, &f, &line);
		*in_file = false;
		free(text);
		if (rc == HT_ERR_BAD_VALUE || rc == HT_ERR_TOO_LONG)
			return cli_usage_error(cmd, "%s:%u: %s", path, line,
					       rc == HT_ERR_TOO_LONG ? "key or value too long"
								     : "malformed line");
		if (rc != 0)
			return rc;
	}
	return cli_parse(cmd, argc, argv, shortopts, longopts, on_opt, ctx);
}
