/* hatun — TUN / TAP devices and rtnetlink configuration (tun.h). */
#include "tunnel/tun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

/* Requests are a few hundred bytes; answers one message (a route, a link). */
#define NL_BUF 8192

static const uint8_t MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool ht_addr16_is_v4(const uint8_t a[16])
{
	return memcmp(a, MAPPED, sizeof(MAPPED)) == 0;
}

const char *ht_addr16_ntop(const uint8_t a[16], char *buf, size_t len)
{
	bool v4 = ht_addr16_is_v4(a);

	if (inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? a + 12 : a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

/* The offloads of a vnet-header TUN; false (plain packets come) if refused. */
static bool vnet_setup(int f, const char *ifname)
{
	int sz = 10, le = 1;
	unsigned long off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;

	if (ioctl(f, TUNSETVNETHDRSZ, &sz) != 0 || ioctl(f, TUNSETVNETLE, &le) != 0 ||
	    ioctl(f, TUNSETOFFLOAD, off) != 0) {
		ht_log(HT_LOG_WARN, "tun", "%s: no TUN offloads (%s): one packet per syscall",
		       ifname, strerror(errno));
		return false;
	}
	return true;
}

int ht_tun_open(const char *name, bool tap, bool *vnet, int *fd, char ifname[IFNAMSIZ],
		int *ifindex)
{
	struct ifreq ifr;
	int f, rv = 0;
	bool want_vnet = !tap && *vnet;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	f = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (f < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (short)((tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI | (want_vnet ? IFF_VNET_HDR : 0));
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(f, TUNSETIFF, &ifr) != 0) {
		rv = -errno;
		goto out;
	}
	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	ifname[IFNAMSIZ - 1] = '\0';
	/* A vnet header without offloads still works (plain packets). */
	*vnet = want_vnet;
	if (want_vnet)
		(void)vnet_setup(f, ifname);
	*ifindex = (int)if_nametoindex(ifname);
	if (*ifindex == 0) {
		rv = -errno;
		goto out;
	}
	*fd = f;
	return 0;
out:
	close(f);
	return rv;
}

/* One request, one acknowledgement (or, with reply, one answer message
 * handed to cb).  The socket lives for the call only: configuration
 * happens a few times per tunnel, never on the data path. */
static int talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[NL_BUF];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct timeval tv = {.tv_sec = 2};
	unsigned seq, portid;
	ssize_t n;
	int rv = 0;

	if (nl == NULL)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rv = -errno;
		goto out;
	}
	/* Bounded: the event loop must never hang on the kernel. */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
		rv = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	seq = (unsigned)time(NULL);
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rv = -errno;
		goto out;
	}
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			rv = -errno;
			break;
		}
		rv = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (rv <= MNL_CB_STOP) {
			rv = rv < 0 ? -errno : 0;
			break;
		}
	}
out:
	mnl_socket_close(nl);
	return rv;
}

static struct nlmsghdr *start(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	/* Always an acknowledgement: a GET's answer is followed by it, so the
	 * receive loop ends on the ack for every request. */
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	return nlh;
}

static void put_addr(struct nlmsghdr *nlh, uint16_t type, const uint8_t a[16])
{
	if (ht_addr16_is_v4(a))
		mnl_attr_put(nlh, type, 4, a + 12);
	else
		mnl_attr_put(nlh, type, 16, a);
}

int ht_rtnl_link_up(int ifindex, unsigned mtu)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh = start(buf, RTM_NEWLINK, NLM_F_ACK);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));

	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	if (mtu > 0)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return talk(nlh, NULL, NULL);
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg)) {
		if (mnl_attr_get_type(a) == IFLA_MTU &&
		    mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
			*(int *)data = (int)mnl_attr_get_u32(a);
	}
	return MNL_CB_OK;
}

int ht_rtnl_link_mtu(int ifindex)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh = start(buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	int mtu = -ENOENT, rv;

	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	rv = talk(nlh, link_cb, &mtu);
	return rv < 0 ? rv : mtu;
}

int ht_rtnl_addr_add(int ifindex, const uint8_t addr[16], uint8_t plen)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh = start(buf, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	bool v4 = ht_addr16_is_v4(addr);

	ifa->ifa_family = v4 ? AF_INET : AF_INET6;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_index = (unsigned)ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_flags = v4 ? 0 : IFA_F_NODAD;
	put_addr(nlh, IFA_LOCAL, addr);
	if (v4)
		put_addr(nlh, IFA_ADDRESS, addr);
	else
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	return talk(nlh, NULL, NULL);
}

static int route_msg(int ifindex, const uint8_t prefix[16], uint8_t plen, const uint8_t *gw,
		     unsigned metric, bool add)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh = start(buf, add ? RTM_NEWROUTE : RTM_DELROUTE,
				     NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0));
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	bool v4 = ht_addr16_is_v4(prefix);

	rtm->rtm_family = v4 ? AF_INET : AF_INET6;
	rtm->rtm_dst_len = plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = gw != NULL ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (!add)
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	put_addr(nlh, RTA_DST, prefix);
	if (gw != NULL)
		put_addr(nlh, RTA_GATEWAY, gw);
	if (ifindex > 0)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	if (metric > 0)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, metric);
	return talk(nlh, NULL, NULL);
}

int ht_rtnl_route_add(int ifindex, const uint8_t prefix[16], uint8_t plen, const uint8_t *gw,
		      unsigned metric)
{
	return route_msg(ifindex, prefix, plen, gw, metric, true);
}

int ht_rtnl_route_del(int ifindex, const uint8_t prefix[16], uint8_t plen, const uint8_t *gw)
{
	return route_msg(ifindex, prefix, plen, gw, 0, false);
}

struct route_get {
	int ifindex;
	uint8_t *gw;
	bool *has_gw;
	bool v4;
};

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_get *g = data;
	struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct rtmsg)) {
		uint16_t t = mnl_attr_get_type(a);
		uint16_t len = mnl_attr_get_payload_len(a);

		if (t == RTA_OIF && mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
			g->ifindex = (int)mnl_attr_get_u32(a);
		} else if (t == RTA_GATEWAY && len == (g->v4 ? 4 : 16)) {
			memset(g->gw, 0, 16);
			if (g->v4) {
				memcpy(g->gw, MAPPED, sizeof(MAPPED));
				memcpy(g->gw + 12, mnl_attr_get_payload(a), 4);
			} else {
				memcpy(g->gw, mnl_attr_get_payload(a), 16);
			}
			*g->has_gw = true;
		}
	}
	return MNL_CB_OK;
}

int ht_rtnl_route_get(const uint8_t dst[16], int *ifindex, uint8_t gw[16], bool *has_gw)
{
	return ht_rtnl_route_get_from(dst, NULL, 0, ifindex, gw, has_gw);
}

int ht_rtnl_route_get_from(const uint8_t dst[16], const uint8_t *src, int oif, int *ifindex,
			   uint8_t gw[16], bool *has_gw)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh = start(buf, RTM_GETROUTE, 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	struct route_get g = {.ifindex = 0, .gw = gw, .has_gw = has_gw};
	int rv;

	g.v4 = ht_addr16_is_v4(dst);
	*has_gw = false;
	rtm->rtm_family = g.v4 ? AF_INET : AF_INET6;
	rtm->rtm_dst_len = g.v4 ? 32 : 128;
	put_addr(nlh, RTA_DST, dst);
	if (src != NULL && ht_addr16_is_v4(src) == g.v4) {
		rtm->rtm_src_len = g.v4 ? 32 : 128;
		put_addr(nlh, RTA_SRC, src);
	}
	if (oif > 0)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	rv = talk(nlh, route_cb, &g);
	if (rv < 0)
		return rv;
	if (g.ifindex <= 0)
		return -ENETUNREACH;
	*ifindex = g.ifindex;
	return 0;
}
