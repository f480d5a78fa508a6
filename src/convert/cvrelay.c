#include "convert/cvrelay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Moves per direction and call: a busy pair yields to the loop now and
 * then (the loop is level-triggered, so it comes back). */
#define PUMP_ROUNDS 16

unsigned cv_relay_copy_mask(bool fd0_mptcp, bool fd1_mptcp)
{
	const char *env = getenv("HATUN_CONVERT_COPY");

	if (env != NULL && strcmp(env, "1") == 0)
		return 3;
	if (env != NULL && strcmp(env, "0") == 0)
		return 0;
	/* Direction 0 writes to fd1, direction 1 to fd0. */
	return (fd1_mptcp ? 1u : 0u) | (fd0_mptcp ? 2u : 0u);
}

int cv_relay_init(struct cv_relay *r, int fd0, int fd1, unsigned copy_mask)
{
	int p[2];

	r->fd[0] = fd0;
	r->fd[1] = fd1;
	r->want[0] = r->want[1] = 0;
	r->cap = 65536;
	for (int i = 0; i < 2; i++)
		r->d[i] = (struct cv_dir){.copy = (copy_mask >> i) & 1, .pr = -1, .pw = -1};
	for (int i = 0; i < 2; i++) {
		if (r->d[i].copy)
			continue;
		if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
			return -errno;
		r->d[i].pr = p[0];
		r->d[i].pw = p[1];
		int sz = fcntl(p[1], F_GETPIPE_SZ);

		if (sz > 0)
			r->cap = (size_t)sz;
	}
	for (int i = 0; i < 2; i++) {
		if (r->d[i].copy && (r->d[i].buf = malloc(r->cap)) == NULL)
			return -ENOMEM;
	}
	return 0;
}

int cv_relay_preload(struct cv_relay *r, int dir, const uint8_t *data, size_t n)
{
	struct cv_dir *d = &r->d[dir];
	ssize_t w;

	if (n == 0)
		return 0;
	if (d->held + n > r->cap)
		return -ENOBUFS;
	if (d->copy) {
		memcpy(d->buf + d->off + d->held, data, n);
		d->held += n;
		return 0;
	}
	w = write(d->pw, data, n);
	if (w < 0)
		return -errno;
	if ((size_t)w != n)
		return -ENOBUFS;
	d->held += n;
	return 0;
}

/* Out of the buffer to dst: bytes moved, or -1 with errno. */
static ssize_t drain(struct cv_dir *d, int dst)
{
	ssize_t n;

	if (!d->copy)
		return splice(d->pr, NULL, dst, NULL, d->held, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	n = send(dst, d->buf + d->off, d->held, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n > 0) {
		d->off = (size_t)n == d->held ? 0 : d->off + (size_t)n;
	}
	return n;
}

/* From src into the buffer (room: cap - held): bytes, 0 at EOF, or -1. */
static ssize_t fill(struct cv_relay *r, struct cv_dir *d, int src)
{
	if (!d->copy)
		return splice(src, NULL, d->pw, NULL, r->cap - d->held,
			      SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	/* The buffer is linear: what is pending moves to the front first. */
	if (d->off > 0) {
		memmove(d->buf, d->buf + d->off, d->held);
		d->off = 0;
	}
	return recv(src, d->buf + d->held, r->cap - d->held, MSG_DONTWAIT);
}

/* One direction.  0, or -errno with *failed set to the failing index. */
static int pump_dir(struct cv_relay *r, int i, int *failed)
{
	struct cv_dir *d = &r->d[i];
	int src = r->fd[i], dst = r->fd[1 - i];
	ssize_t n;

	for (int round = 0; round < PUMP_ROUNDS && !d->done; round++) {
		bool moved = false;

		if (d->held > 0) {
			n = drain(d, dst);
			if (n > 0) {
				d->held -= (size_t)n;
				d->bytes += (uint64_t)n;
				moved = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				*failed = 1 - i;
				return -errno;
			}
		}
		if (d->held == 0 && d->eof) {
			/* ENOTCONN: the peer already went; nothing to tell it. */
			if (shutdown(dst, SHUT_WR) != 0 && errno != ENOTCONN) {
				*failed = 1 - i;
				return -errno;
			}
			d->done = true;
			break;
		}
		if (!d->eof && d->held < r->cap) {
			n = fill(r, d, src);
			if (n > 0) {
				d->held += (size_t)n;
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

		if (!d->eof && d->held < r->cap)
			r->want[i] |= EPOLLIN;
		if (d->held > 0)
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
		free(r->d[i].buf);
		r->d[i].pr = r->d[i].pw = -1;
		r->d[i].buf = NULL;
	}
}
