/* hatun — the concentrator's own addresses, kept current.
 *
 * A client must never reach the concentrator itself through the tunnel
 * (its loopback-only services, its management ports): every address the
 * concentrator has is refused as a destination (policy DENY_OWN, POLICY.md).
 * Addresses come and go (DHCP, SLAAC, an operator, the datagram mode's TUN
 * device), so besides reading them at start (getifaddrs) the concentrator
 * listens for RTM_NEWADDR / RTM_DELADDR on a rtnetlink socket and reads
 * them all again on any change: the list is right a few microseconds after
 * the kernel announced the change, before any packet can use the address.
 */
#ifndef HATUN_TUNNEL_OWNADDR_H
#define HATUN_TUNNEL_OWNADDR_H

#include <stddef.h>

#include "core/loop.h"
#include "proto/policy.h"

struct ht_ownaddr;

/* Fill pol's own-address list from getifaddrs (entries already in it are
 * kept) and watch for changes.  The policy must outlive the watcher.
 * Returns 0, or -1 with a reason in err when the netlink socket could not
 * be opened: *out is set all the same (the start-time list, not watched;
 * the caller logs it).  *out NULL only when out of memory. */
int ht_ownaddr_new(struct ht_ownaddr **out, struct ht_loop *loop, struct ht_policy *pol,
		   char *err, size_t errlen);
void ht_ownaddr_free(struct ht_ownaddr *w);

/* Read the addresses again now (what a change notification does). */
void ht_ownaddr_sync(struct ht_ownaddr *w);

#endif
