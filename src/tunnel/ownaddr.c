/* hatun — the concentrator's own addresses, kept current (ownaddr.h). */
#include "tunnel/ownaddr.h"

#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "proto/err.h"
#include "tunnel/tcp.h"

struct ht_ownaddr {
	struct ht_loop *loop;
	struct ht_policy *pol;
	size_t base;   /* own entries that were there before us: kept */
	size_t known;  /* addresses found at the last sync */
	int fd;
	struct ht_io io;
	bool first;
};

void ht_ownaddr_sync(struct ht_ownaddr *w)
{
	struct ifaddrs *ifa, *i;
	char s[64];
	size_t n = 0, full = 0;

	if (getifaddrs(&ifa) != 0) {
		/* Keep the previous list: refusing too much is the safe side. */
		ht_log(HT_LOG_WARN, "conc", "getifaddrs: %s (own addresses not updated)",
		       strerror(errno));
		return;
	}
	w->pol->n_own = w->base;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		uint8_t a[16];
		int rv;

		if (i->ifa_addr == NULL ||
		    ht_policy_addr16_from_sockaddr(a, NULL, i->ifa_addr,
						   i->ifa_addr->sa_family == AF_INET
							   ? sizeof(struct sockaddr_in)
							   : sizeof(struct sockaddr_in6)) != HT_OK)
			continue;
		rv = ht_policy_add_own_addr16(w->pol, a);
		if (rv == HT_OK) {
			n++;
			if (w->first)
				ht_log(HT_LOG_DEBUG, "conc", "own address %s (refused as destination)",
				       ht_addr16_str(a, 0, s, sizeof(s)));
		} else if (rv == HT_ERR_NOBUF) {
			full++;
		}
	}
	freeifaddrs(ifa);
	if (full > 0)
		ht_log(HT_LOG_WARN, "conc",
		       "%zu own addresses do not fit the policy's list (%u): add them with "
		       "--deny-dest",
		       full, HT_POLICY_MAX_OWN);
	if (w->first || n != w->known)
		ht_log(HT_LOG_INFO, "conc", "%zu own addresses refused as destinations%s", n,
		       w->first ? "" : " (addresses changed)");
	w->known = n;
	w->first = false;
}

/* Drain the socket; one sync for any address message (or a lost one:
 * ENOBUFS means the kernel dropped notifications, so resync anyway). */
static void on_netlink(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct ht_ownaddr *w = io->arg;
	uint8_t buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool changed = false;

	(void)loop;
	(void)ev;
	for (;;) {
		ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
		const struct nlmsghdr *h;
		size_t len;

		if (n < 0) {
			if (errno == ENOBUFS)
				changed = true;
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			break;
		}
		len = (size_t)n;
		for (h = (const struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR)
				changed = true;
		}
	}
	if (changed)
		ht_ownaddr_sync(w);
}

int ht_ownaddr_new(struct ht_ownaddr **out, struct ht_loop *loop, struct ht_policy *pol,
		   char *err, size_t errlen)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
				 .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR};
	struct ht_ownaddr *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w->loop = loop;
	w->pol = pol;
	w->base = pol->n_own;
	w->first = true;
	w->fd = -1;
	w->io.fd = -1;
	/* Subscribe before reading the list, so no change falls in between. */
	w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (w->fd < 0 || bind(w->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    ht_io_start(loop, &w->io, w->fd, EPOLLIN, on_netlink, w) != 0) {
		snprintf(err, errlen, "rtnetlink: %s", strerror(errno));
		ht_ownaddr_sync(w); /* the start-time list at least */
		if (w->fd >= 0)
			close(w->fd);
		w->fd = -1;
		*out = w;
		return -1;
	}
	ht_ownaddr_sync(w);
	*out = w;
	return 0;
}

void ht_ownaddr_free(struct ht_ownaddr *w)
{
	if (w == NULL)
		return;
	ht_io_stop(w->loop, &w->io);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}
