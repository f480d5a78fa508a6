/* hatun — the control socket: a UNIX stream socket served from the event
 * loop, for `hatun status`.
 *
 * Protocol: the client connects and sends one request line, "status\n" or
 * "status json\n" (at most HT_CONTROL_REQ_MAX bytes); the daemon answers
 * with the rendering and closes.  One request per connection, at most
 * HT_CONTROL_CONNS connections at once, HT_CONTROL_TIMEOUT each; nothing
 * blocks.  The socket is created with mode 0600 (umask) in a directory the
 * daemon creates with mode 0700 when missing, and unlinked at exit.  A path
 * held by a live process is left alone (a second daemon just has no control
 * socket, with a warning); a stale one is replaced.
 */
#ifndef HATUN_TUNNEL_CONTROL_H
#define HATUN_TUNNEL_CONTROL_H

#include <stddef.h>

#include "core/loop.h"
#include "tunnel/status.h"

#define HT_CONTROL_REQ_MAX 64u
#define HT_CONTROL_CONNS 8u
#define HT_CONTROL_TIMEOUT (2 * HT_SECONDS)
#define HT_CONTROL_PATH_MAX 108 /* sun_path */

struct ht_control;

/* Fill a snapshot (conns, conv, cvc: malloc'ed by the callee, freed by
 * the control code with ht_status_release).  Returns 0 or -1. */
typedef int (*ht_control_fill_fn)(void *arg, struct ht_status *st);

/* The default path for role: $XDG_RUNTIME_DIR/hatun/<role>.sock when
 * XDG_RUNTIME_DIR is set, else /run/hatun/<role>.sock. */
void ht_control_default_path(const char *role, char *out, size_t cap);

/* Listen on path.  Returns 0, or -1 with a reason in err. */
int ht_control_new(struct ht_control **out, struct ht_loop *loop, const char *path,
		   ht_control_fill_fn fill, void *arg, char *err, size_t errlen);
/* Close every connection, unlink the socket, free. */
void ht_control_free(struct ht_control *ctl);

#endif
