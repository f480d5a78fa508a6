#include "convert/cvrelay.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Moves per direction and call: a busy pair yields to the loop now and
 * then (the loop is level-triggered, so it comes back). */
#define PUMP_ROUNDS 16

int cv_relay_init(struct cv_relay *r, int fd0, int fd1)
{
	int p[2];

	r->fd[0] = fd0;
	r->fd[1] = fd1;
	r->want[0] = r->want[1] = 0;
	for (int i = 0; i < 2; i++) {
		r->d[i] = (struct cv_dir){.pr = -1, .pw = -1};
	}
	for (int i = 0; i < 2; i++) {
		if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
			return -errno;
		r->d[i].pr = p[0];
		r->d[i].pw = p[1];
	}
	int sz = fcntl(r->d[0].pw, F_GETPIPE_SZ);

	r->cap = sz > 0 ? (size_t)sz : 65536;
	return 0;
}

int cv_relay_preload(struct cv_relay *r, int dir, const uint8_t *data, size_t n)
{
	struct cv_dir *d = &r->d[dir];
	ssize_t w;

	if (n == 0)
		return 0;
	if (d->inpipe + n > r->cap)
		return -ENOBUFS;
	w = write(d->pw, data, n);
	if (w < 0)
		return -errno;
	if ((size_t)w != n)
		return -ENOBUFS;
	d->inpipe += n;
	return 0;
}

/* One direction.  0, or -errno with *failed set to the failing index. */
static int pump_dir(struct cv_relay *r, int i, int *failed)
{
	struct cv_dir *d = &r->d[i];
	int src = r->fd[i], dst = r->fd[1 - i];
	ssize_t n;

	for (int round = 0; round < PUMP_ROUNDS && !d->done; round++) {
		bool moved = false;

		if (d->inpipe > 0) {
			n = splice(d->pr, NULL, dst, NULL, d->inpipe,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				d->inpipe -= (size_t)n;
				d->bytes += (uint64_t)n;
				moved = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				*failed = 1 - i;
				return -errno;
			}
		}
		if (d->inpipe == 0 && d->eof) {
			/* ENOTCONN: the peer already went; nothing to tell it. */
			if (shutdown(dst, SHUT_WR) != 0 && errno != ENOTCONN) {
				*failed = 1 - i;
				return -errno;
			}
			d->done = true;
			break;
		}
		if (!d->eof && d->inpipe < r->cap) {
			n = splice(src, NULL, d->pw, NULL, r->cap - d->inpipe,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				d->inpipe += (size_t)n;
				moved = true;
			} else if (n == 0) {
				d->eof = true;
				moved = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				*failed = i;
				return -errno;
			}
		}
		if (!moved)
			break;
	}
	return 0;
}

int cv_relay_pump(struct cv_relay *r, int *failed_idx)
{
	int failed = -1, rc = 0;

	for (int i = 0; i < 2 && rc == 0; i++)
		rc = pump_dir(r, i, &failed);
	if (failed_idx != NULL)
		*failed_idx = failed;
	if (rc < 0)
		return rc;
	r->want[0] = r->want[1] = 0;
	for (int i = 0; i < 2; i++) {
		const struct cv_dir *d = &r->d[i];

		if (!d->eof && d->inpipe < r->cap)
			r->want[i] |= EPOLLIN;
		if (d->inpipe > 0)
			r->want[1 - i] |= EPOLLOUT;
	}
	return r->d[0].done && r->d[1].done ? 0 : 1;
}

void cv_relay_close(struct cv_relay *r)
{
	for (int i = 0; i < 2; i++) {
		if (r->d[i].pr >= 0)
			close(r->d[i].pr);
		if (r->d[i].pw >= 0)
			close(r->d[i].pw);
		r->d[i].pr = r->d[i].pw = -1;
	}
}
