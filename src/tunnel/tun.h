/* hatun — TUN / TAP devices and their configuration over rtnetlink.
 *
 * ht_tun_open creates (or attaches to) a TUN (IP packets, IFF_TUN) or TAP
 * (Ethernet frames, IFF_TAP) device without packet information (IFF_NO_PI),
 * non-blocking.  The rest configures links, addresses and routes the way
 * `ip` would, but through rtnetlink (libmnl) from this process: no child
 * processes, errors come back as errno values with the kernel's reason.
 *
 * Addresses are 16 bytes, IPv4 in IPv4-mapped form (project convention);
 * prefix lengths count the version's own bits (≤ 32 / ≤ 128).  Every
 * function returns 0 or -errno.
 */
#ifndef HATUN_TUNNEL_TUN_H
#define HATUN_TUNNEL_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Open TUN (tap false) or TAP device `name` (IFNAMSIZ-1 chars; "" lets the
 * kernel pick).  *fd: the non-blocking device; ifname: the actual name;
 * *ifindex: its index.  With *vnet true (TUN only) the device speaks the
 * virtio-net header (IFF_VNET_HDR, 10 bytes, little-endian) and offers
 * TUNSETOFFLOAD(CSUM | TSO4 | TSO6): reads may return 64 KiB TCP
 * super-packets (src/proto/vnet.h splits them), writes may be GRO'd ones
 * (a refused TUNSETOFFLOAD is logged; the header stays, packets come one
 * by one).  *vnet false on return: no vnet header (TAP, or not asked). */
int ht_tun_open(const char *name, bool tap, bool *vnet, int *fd, char ifname[IFNAMSIZ],
		int *ifindex);

/* Link up (and MTU when mtu > 0). */
int ht_rtnl_link_up(int ifindex, unsigned mtu);
/* The link's MTU now (> 0) or -errno. */
int ht_rtnl_link_mtu(int ifindex);
/* Add an address; IPv6 addresses skip duplicate address detection
 * (IFA_F_NODAD: a tunnel has no neighbours to collide with).  The kernel
 * adds the prefix route of plen.  An existing address is replaced. */
int ht_rtnl_addr_add(int ifindex, const uint8_t addr[16], uint8_t plen);
/* Add (replace) a unicast route to prefix/plen out of ifindex, via gw when
 * not NULL.  metric 0: the kernel's default. */
int ht_rtnl_route_add(int ifindex, const uint8_t prefix[16], uint8_t plen, const uint8_t *gw,
		      unsigned metric);
/* Delete the route (same arguments as added; ifindex 0 = any). */
int ht_rtnl_route_del(int ifindex, const uint8_t prefix[16], uint8_t plen, const uint8_t *gw);
/* The route the kernel uses now towards dst: its output interface and
 * gateway (*has_gw false: on-link). */
int ht_rtnl_route_get(const uint8_t dst[16], int *ifindex, uint8_t gw[16], bool *has_gw);
/* The same for packets from src (NULL: any) out of oif (0: any), as a
 * socket bound to that address / device would be routed (policy rules
 * included). */
int ht_rtnl_route_get_from(const uint8_t dst[16], const uint8_t *src, int oif, int *ifindex,
			   uint8_t gw[16], bool *has_gw);

/* True for an IPv4-mapped address. */
bool ht_addr16_is_v4(const uint8_t a[16]);
/* "192.0.2.1" / "2001:db8::1" (no brackets, no port) into buf; returns buf. */
const char *ht_addr16_ntop(const uint8_t a[16], char *buf, size_t len);

#endif
