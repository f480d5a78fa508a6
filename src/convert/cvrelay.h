/* hatun — the converter's byte relay: two sockets joined by two pipes,
 * bytes moved with splice(2) so they never enter user space.
 *
 * Direction 0 moves fd[0] → fd[1], direction 1 fd[1] → fd[0].  Each pipe
 * holds at most its capacity (64 KiB by default): that is the whole buffer
 * of a direction, and a full pipe stops reading its source (backpressure).
 * EOF on a source becomes shutdown(SHUT_WR) on the destination once its
 * pipe is empty (half-close is relayed).  Not thread-safe; no allocation
 * after cv_relay_init.
 */
#ifndef HATUN_CONVERT_CVRELAY_H
#define HATUN_CONVERT_CVRELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cv_dir {
	int pr, pw;       /* the pipe */
	size_t inpipe;    /* bytes in the pipe */
	bool eof;         /* the source said EOF */
	bool done;        /* EOF relayed (shutdown sent) */
	uint64_t bytes;   /* bytes delivered to the destination */
};

struct cv_relay {
	int fd[2];
	struct cv_dir d[2];
	size_t cap;        /* pipe capacity */
	uint32_t want[2];  /* after cv_relay_pump: epoll events fd[i] needs */
};

/* Create the pipes.  0 or -errno (r is then safe to cv_relay_close). */
int cv_relay_init(struct cv_relay *r, int fd0, int fd1);

/* Put bytes that arrived before the relay started (data behind the
 * Convert message) into direction dir's pipe.  0, or -errno (-ENOBUFS if
 * they do not fit). */
int cv_relay_preload(struct cv_relay *r, int dir, const uint8_t *data, size_t n);

/* Move what can be moved now.  Returns 1 while the relay goes on (want[]
 * set), 0 when both directions are done, or -errno of the socket that
 * failed (ECONNRESET, EPIPE...): the caller resets both. *failed_fd, if
 * not NULL, says which index failed. */
int cv_relay_pump(struct cv_relay *r, int *failed_idx);

/* Close the pipes (not the sockets). */
void cv_relay_close(struct cv_relay *r);

#endif
