/* hatun — the converter's byte relay: two sockets, one bounded buffer per
 * direction.
 *
 * Direction 0 moves fd[0] → fd[1], direction 1 fd[1] → fd[0].  A direction
 * either splices (socket → pipe → socket: the bytes never enter user
 * space) or copies (read(2) into a user buffer, write(2) out of it).  Each
 * holds at most its capacity (the pipe's, 64 KiB by default; the copy
 * buffer is as large): that is the whole buffer of a direction, and a full
 * one stops reading its source (backpressure).  EOF on a source becomes
 * shutdown(SHUT_WR) on the destination once its buffer is empty (half-close
 * is relayed).  Not thread-safe; no allocation after cv_relay_init.
 *
 * Which directions copy is the caller's choice (cv_relay_copy_mask): on
 * 6.18, bytes spliced (or sent with sendfile() / MSG_MORE) into an MPTCP
 * socket with two subflows sometimes reach the peer at the wrong offset
 * (docs/protocol/convert.md, "Corrupted uploads over two subflows"), so
 * directions into MPTCP sockets copy.
 */
#ifndef HATUN_CONVERT_CVRELAY_H
#define HATUN_CONVERT_CVRELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cv_dir {
	bool copy;        /* read/write through buf, not splice through the pipe */
	int pr, pw;       /* the pipe (splice) */
	uint8_t *buf;     /* the buffer (copy): bytes [off, off + held) pending */
	size_t off;
	size_t held;      /* bytes in the pipe or the buffer */
	bool eof;         /* the source said EOF */
	bool done;        /* EOF relayed (shutdown sent) */
	uint64_t bytes;   /* bytes delivered to the destination */
};

struct cv_relay {
	int fd[2];
	struct cv_dir d[2];
	size_t cap;        /* capacity of each direction */
	uint32_t want[2];  /* after cv_relay_pump: epoll events fd[i] needs */
};

/* Bit i set: direction i copies.  fdN_mptcp: socket N is an MPTCP socket.
 * A direction that writes into an MPTCP socket copies (send(), no
 * MSG_MORE); the others splice.  HATUN_CONVERT_COPY in the environment
 * overrides, for the reproducer and comparisons (not an option): "1" every
 * direction copies, "0" every direction splices. */
unsigned cv_relay_copy_mask(bool fd0_mptcp, bool fd1_mptcp);

/* Set up the directions (copy_mask from cv_relay_copy_mask).  0 or -errno
 * (r is then safe to cv_relay_close). */
int cv_relay_init(struct cv_relay *r, int fd0, int fd1, unsigned copy_mask);

/* Put bytes that arrived before the relay started (data behind the
 * Convert message) into direction dir's buffer.  0, or -errno (-ENOBUFS
 * if they do not fit). */
int cv_relay_preload(struct cv_relay *r, int dir, const uint8_t *data, size_t n);

/* Move what can be moved now.  Returns 1 while the relay goes on (want[]
 * set), 0 when both directions are done, or -errno of the socket that
 * failed (ECONNRESET, EPIPE...): the caller resets both. *failed_idx, if
 * not NULL, says which index failed. */
int cv_relay_pump(struct cv_relay *r, int *failed_idx);

/* Close the pipes and free the buffers (not the sockets). */
void cv_relay_close(struct cv_relay *r);

#endif
