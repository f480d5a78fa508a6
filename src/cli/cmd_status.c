/* hatun status: ask a running client, concentrator or converter over its
 * control socket (tunnel/control.h) and print the answer. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "tunnel/control.h"

enum { O_JSON = 256, O_CONTROL, O_WATCH, O_INTERVAL };

struct status_opts {
	int json, watch;
	double interval; /* seconds between two --watch refreshes */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* The answer is a snapshot; 1 MiB is far above what 10,000 connections
 * print, and bounds what a broken peer can make us hold. */
#define ANSWER_MAX (1u << 20)

static int status_opt(const struct cli_command *cmd, int c, const char *arg, void *ctx)
{
	struct status_opts *o = ctx;

	switch (c) {
	case O_JSON:
		o->json = 1;
		return 0;
	case O_WATCH:
		o->watch = 1;
		return 0;
	case O_INTERVAL: {
		char *end;

		errno = 0;
		o->interval = strtod(arg, &end);
		if (errno != 0 || *end != '\0' || end == arg || !(o->interval >= 0.1) ||
		    o->interval > 3600)
			return cli_usage_error(cmd, "--interval: '%s' is not 0.1 .. 3600 seconds",
					       arg);
		return 0;
	}
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
	{"watch", no_argument, NULL, O_WATCH},
	{"interval", required_argument, NULL, O_INTERVAL},
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

/* One request: the whole answer into *out (malloc'd, NUL-terminated).
 * Returns 0, or -1 with a message on stderr. */
static int query(const char *path, const char *req, char **out, size_t *len)
{
	size_t cap = 65536, total = 0;
	char *buf = malloc(cap + 1);
	int fd = dial(path), e;
	ssize_t n = 0;

	if (buf == NULL || fd < 0) {
		e = errno;
		fprintf(stderr, "hatun status: cannot reach %s: %s\n", path, strerror(e));
		free(buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		fprintf(stderr, "hatun status: send: %s\n", strerror(errno));
		goto fail;
	}
	for (;;) {
		if (total == cap) {
			char *nb;

			if (cap >= ANSWER_MAX) {
				fprintf(stderr, "hatun status: answer longer than %u bytes\n",
					ANSWER_MAX);
				goto fail;
			}
			cap *= 2;
			if ((nb = realloc(buf, cap + 1)) == NULL)
				goto fail;
			buf = nb;
		}
		n = recv(fd, buf + total, cap - total, 0);
		if (n <= 0)
			break;
		total += (size_t)n;
	}
	if (n < 0 || total == 0) {
		fprintf(stderr, "hatun status: %s\n", n < 0 ? strerror(errno) : "no answer");
		goto fail;
	}
	close(fd);
	buf[total] = '\0';
	*out = buf;
	*len = total;
	return 0;
fail:
	close(fd);
	free(buf);
	return -1;
}

static volatile sig_atomic_t stop_watch;

static void on_sigint(int sig)
{
	(void)sig;
	stop_watch = 1;
}

/* Redraw the snapshot every interval until Ctrl-C: on a terminal the
 * screen is cleared first, otherwise snapshots follow each other. */
static int watch(const char *path, const char *req, double interval)
{
	struct sigaction sa = {.sa_handler = on_sigint};
	bool tty = isatty(STDOUT_FILENO);
	struct timespec ts = {.tv_sec = (time_t)interval,
			      .tv_nsec = (long)((interval - (double)(time_t)interval) * 1e9)};

	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	while (!stop_watch) {
		char *ans, when[32];
		size_t len;
		time_t now = time(NULL);
		struct tm tm;

		if (query(path, req, &ans, &len) != 0)
			return CLI_EXIT_FAIL;
		strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&now, &tm));
		if (tty)
			fputs("\033[H\033[2J", stdout);
		printf("hatun status — %s, every %.1f s (Ctrl-C to stop)\n\n", when, interval);
		fwrite(ans, 1, len, stdout);
		if (!tty)
			putchar('\n');
		fflush(stdout);
		free(ans);
		(void)nanosleep(&ts, NULL); /* EINTR on Ctrl-C ends it early */
	}
	return 0;
}

int cmd_status(const struct cli_command *cmd, int argc, char **argv)
{
	struct status_opts o = {.interval = 1.0};
	char *ans;
	const char *req, *path = o.path;
	int rc, fd;
	size_t len;

	rc = cli_parse(cmd, argc, argv, "", status_longopts, status_opt, &o);
	if (rc < 0)
		rc = cli_want_args(cmd, argc, argv, 0, "");
	if (rc >= 0)
		return rc;
	if (o.path[0] == '\0') {
		/* the client's socket first, then the concentrator's, then the
		 * converter's */
		static const char *const roles[] = {"client", "concentrator", "converter"};
		char tried[3][sizeof(o.path)];

		fd = -1;
		for (size_t i = 0; i < 3 && fd < 0; i++) {
			ht_control_default_path(roles[i], tried[i], sizeof(tried[i]));
			fd = dial(tried[i]);
			if (fd >= 0)
				memcpy(o.path, tried[i], sizeof(o.path));
		}
		if (fd < 0) {
			fprintf(stderr,
				"hatun status: no running hatun (nothing answers at %s, %s or %s; "
				"--control PATH)\n",
				tried[0], tried[1], tried[2]);
			return CLI_EXIT_FAIL;
		}
		close(fd);
	}
	req = o.json ? "status json\n" : "status\n";
	if (o.watch)
		return watch(path, req, o.interval);
	if (query(path, req, &ans, &len) != 0)
		return CLI_EXIT_FAIL;
	fwrite(ans, 1, len, stdout);
	free(ans);
	return 0;
}
