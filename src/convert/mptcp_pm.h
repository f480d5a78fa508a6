/* hatun — the kernel's MPTCP path manager, set up for the convert client's
 * access links (`hatun client --transport convert --path ... --path ...
 * --mptcp-endpoints`; docs/protocol/convert.md "Client").
 *
 * Talks to the generic netlink family "mptcp_pm" (what `ip mptcp` uses):
 * for every path after the first (the first is where the initial subflow
 * goes), an endpoint `ADDR [dev IFACE] subflow`, and the limits `subflows`
 * and `add_addr_accepted` raised to at least the number of those paths
 * (never lowered).  Endpoints that already existed are kept as they are and
 * left in place; at exit the endpoints hatun added are deleted and the
 * limits it raised restored.  Blocking netlink calls, made once at start
 * and once at exit (never on the event loop's hot path).
 */
#ifndef HATUN_CONVERT_MPTCP_PM_H
#define HATUN_CONVERT_MPTCP_PM_H

#include <stddef.h>
#include <sys/socket.h>

#include "tunnel/pathspec.h"

struct ht_mptcp_pm;

/* paths[1..npath-1] get endpoints.  A path with a src uses it (its dev,
 * if given, as the endpoint's device); a path with only a dev uses that
 * device's first global address of `family` (AF_INET / AF_INET6: the
 * converter's).  Returns 0 with *out (NULL when there was nothing to do),
 * or -1 with a one-line reason in err and everything already done undone.
 * Needs CAP_NET_ADMIN. */
int ht_mptcp_pm_setup(struct ht_mptcp_pm **out, const struct ht_pathspec *paths, size_t npath,
		      int family, char *err, size_t errlen);

/* The first path's address (its src, or its dev's first global address
 * of family) as a sockaddr with port 0, for binding the connections so
 * that the initial subflow leaves by that path.  *len 0: a src of the
 * other family (nothing to bind).  0, or -1 with err. */
int ht_mptcp_pm_source(const struct ht_pathspec *p, int family, struct sockaddr_storage *ss,
		       socklen_t *len, char *err, size_t errlen);

/* Deletes the endpoints hatun added, restores the limits it raised (each
 * step logged; failures logged as warnings) and frees.  NULL: nothing. */
void ht_mptcp_pm_restore(struct ht_mptcp_pm *pm);

#endif
