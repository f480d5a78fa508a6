/* hatun status: ask a running client or concentrator over its control
 * socket (tunnel/control.h) and print the answer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "tunnel/control.h"

enum { O_JSON = 256, O_CONTROL };

struct status_opts {
	int json;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static int status_opt(const struct cli_command *cmd, int c, const char *arg, void *ctx)
{
	struct status_opts *o = ctx;

	switch (c) {
	case O_JSON:
		o->json = 1;
		return 0;
	case O_CONTROL:
		if (arg[0] == '\0' || strlen(arg) >= sizeof(o->path))
			return cli_usage_error(cmd, "--control: bad path '%s'", arg);
		snprintf(o->path, sizeof(o->path), "%s", arg);
		return 0;
	}
	return CLI_EXIT_USAGE;
}

static const struct option status_longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"json", no_argument, NULL, O_JSON},
	{"control", required_argument, NULL, O_CONTROL},
	{NULL, 0, NULL, 0},
};

/* Connect to path: the socket, or -1 with errno. */
static int dial(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 5};
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int cmd_status(const struct cli_command *cmd, int argc, char **argv)
{
	struct status_opts o = {0};
	char cpath[sizeof(o.path)], kpath[sizeof(o.path)], buf[65536];
	const char *req;
	int rc, fd, e;
	ssize_t n;
	size_t total = 0;

	rc = cli_parse(cmd, argc, argv, "", status_longopts, status_opt, &o);
	if (rc < 0)
		rc = cli_want_args(cmd, argc, argv, 0, "");
	if (rc >= 0)
		return rc;
	if (o.path[0] != '\0') {
		fd = dial(o.path);
		e = errno;
		if (fd < 0) {
			fprintf(stderr, "hatun status: cannot reach %s: %s\n", o.path, strerror(e));
			return CLI_EXIT_FAIL;
		}
	} else {
		ht_control_default_path("client", cpath, sizeof(cpath));
		ht_control_default_path("concentrator", kpath, sizeof(kpath));
		fd = dial(cpath);
		if (fd < 0)
			fd = dial(kpath);
		if (fd < 0) {
			fprintf(stderr,
				"hatun status: no running hatun (nothing answers at %s or %s; "
				"--control PATH)\n",
				cpath, kpath);
			return CLI_EXIT_FAIL;
		}
	}
	req = o.json ? "status json\n" : "status\n";
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		fprintf(stderr, "hatun status: send: %s\n", strerror(errno));
		close(fd);
		return CLI_EXIT_FAIL;
	}
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		total += (size_t)n;
	}
	e = errno;
	close(fd);
	if (n < 0 || total == 0) {
		fprintf(stderr, "hatun status: %s\n", n < 0 ? strerror(e) : "no answer");
		return CLI_EXIT_FAIL;
	}
	return 0;
}
