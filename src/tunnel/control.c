/* hatun — the control socket (control.h). */
#include "tunnel/control.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"

struct ctl_conn {
	struct ht_control *ctl;
	struct ctl_conn *prev, *next;
	int fd;
	struct ht_io io;
	struct ht_timer timer;
	char req[HT_CONTROL_REQ_MAX];
	size_t reqlen;
	char *out;
	size_t outlen, outoff;
};

struct ht_control {
	struct ht_loop *loop;
	int fd;
	struct ht_io io;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ht_control_fill_fn fill;
	void *arg;
	struct ctl_conn *conns;
	size_t nconns;
};

void ht_control_default_path(const char *role, char *out, size_t cap)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (xdg != NULL && xdg[0] == '/')
		snprintf(out, cap, "%s/hatun/%s.sock", xdg, role);
	else
		snprintf(out, cap, "/run/hatun/%s.sock", role);
}

static void conn_free(struct ctl_conn *c)
{
	struct ht_control *ctl = c->ctl;

	ht_io_stop(ctl->loop, &c->io);
	ht_timer_cancel(ctl->loop, &c->timer);
	close(c->fd);
	free(c->out);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		ctl->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	ctl->nconns--;
	free(c);
}

static void conn_timeout(struct ht_loop *loop, struct ht_timer *t)
{
	(void)loop;
	conn_free(t->arg);
}

static void answer(struct ctl_conn *c)
{
	struct ht_control *ctl = c->ctl;
	struct ht_status st;
	bool json;
	int rv;

	c->req[c->reqlen - 1] = '\0'; /* the '\n' */
	if (strcmp(c->req, "status") != 0 && strcmp(c->req, "status json") != 0) {
		c->out = strdup("error: unknown request\n");
		c->outlen = c->out != NULL ? strlen(c->out) : 0;
		return;
	}
	json = strcmp(c->req, "status json") == 0;
	memset(&st, 0, sizeof(st));
	if (ctl->fill(ctl->arg, &st) != 0) {
		ht_status_release(&st);
		return;
	}
	rv = json ? ht_status_json(&st, &c->out, &c->outlen) : ht_status_text(&st, &c->out, &c->outlen);
	ht_status_release(&st);
	if (rv != 0)
		c->out = NULL;
}

static void conn_io(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct ctl_conn *c = io->arg;
	ssize_t n;

	(void)ev;
	if (c->out == NULL) {
		char *nl;

		n = recv(c->fd, c->req + c->reqlen, sizeof(c->req) - c->reqlen, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_free(c);
			return;
		}
		c->reqlen += (size_t)n;
		nl = memchr(c->req, '\n', c->reqlen);
		if (nl == NULL) {
			if (c->reqlen == sizeof(c->req))
				conn_free(c); /* too long */
			return;
		}
		c->reqlen = (size_t)(nl - c->req) + 1;
		answer(c);
		if (c->out == NULL || ht_io_modify(loop, &c->io, EPOLLOUT) != 0) {
			conn_free(c);
			return;
		}
	}
	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		c->outoff += (size_t)n;
	}
	conn_free(c);
}

static void on_accept(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct ht_control *ctl = io->arg;

	(void)ev;
	for (int i = 0; i < 16; i++) {
		int fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctl_conn *c;

		if (fd < 0)
			return;
		if (ctl->nconns >= HT_CONTROL_CONNS || (c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->ctl = ctl;
		c->fd = fd;
		ht_timer_init(&c->timer, conn_timeout, c);
		c->next = ctl->conns;
		if (ctl->conns != NULL)
			ctl->conns->prev = c;
		ctl->conns = c;
		ctl->nconns++;
		if (ht_io_start(loop, &c->io, fd, EPOLLIN, conn_io, c) != 0 ||
		    ht_timer_set(loop, &c->timer, ht_loop_now(loop) + HT_CONTROL_TIMEOUT) != 0)
			conn_free(c);
	}
}

/* Is a live process listening on path? */
static bool path_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return true;
	alive = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN;
	close(fd);
	return alive;
}

int ht_control_new(struct ht_control **out, struct ht_loop *loop, const char *path,
		   ht_control_fill_fn fill, void *arg, char *err, size_t errlen)
{
	struct ht_control *ctl;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(sa.sun_path)], *slash;
	mode_t old;

	*out = NULL;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
			return -1;
		}
	}
	if (path_alive(&sa)) {
		snprintf(err, errlen, "control socket %s is in use by another process", path);
		return -1;
	}
	(void)unlink(path); /* stale */
	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ctl->loop = loop;
	ctl->fill = fill;
	ctl->arg = arg;
	strcpy(ctl->path, path);
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	old = umask(0177);
	if (ctl->fd < 0 || bind(ctl->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		umask(old);
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		if (ctl->fd >= 0)
			close(ctl->fd);
		free(ctl);
		return -1;
	}
	umask(old);
	if (listen(ctl->fd, 16) != 0 || ht_io_start(loop, &ctl->io, ctl->fd, EPOLLIN, on_accept, ctl) != 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		close(ctl->fd);
		unlink(path);
		free(ctl);
		return -1;
	}
	ht_log(HT_LOG_INFO, "control", "control socket %s ('hatun status')", path);
	*out = ctl;
	return 0;
}

void ht_control_free(struct ht_control *ctl)
{
	if (ctl == NULL)
		return;
	while (ctl->conns != NULL)
		conn_free(ctl->conns);
	ht_io_stop(ctl->loop, &ctl->io);
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl);
}
