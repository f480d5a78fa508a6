#include "udp.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define DEFAULT_BUFSIZE (8 << 20)
/* Room for PKTINFO (v4 or v6), the GRO segment size and TOS/TCLASS. */
#define RX_CTRL_LEN                                                                        \
	(CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int)) +                \
	 CMSG_SPACE(sizeof(int)))
#define TX_CTRL_LEN (CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(uint16_t)))

static _Thread_local struct ht_udp_counters counters;

void ht_udp_get_counters(struct ht_udp_counters *out)
{
	*out = counters;
}

static void set_bufsize(int fd, int opt_force, int opt, int size)
{
	/* FORCE ignores net.core.[rw]mem_max but needs CAP_NET_ADMIN. */
	if (setsockopt(fd, SOL_SOCKET, opt_force, &size, sizeof(size)) == 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

void ht_udp_set_sndbuf(struct ht_udp_sock *s, int bytes)
{
	set_bufsize(s->fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes);
}

int ht_udp_open(struct ht_udp_sock *s, const struct ht_udp_opts *o)
{
	int family = o->family, one = 1, fd, err;
	int bufsize = o->bufsize > 0 ? o->bufsize : DEFAULT_BUFSIZE;
	struct sockaddr_storage any;
	const struct sockaddr *bind_sa = o->bind;
	socklen_t bind_len = o->bind_len;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (o->bind != NULL)
		family = o->bind->sa_family;
	else if (o->peer != NULL)
		family = o->peer->sa_family;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	s->fd = fd;
	s->family = family;
	set_bufsize(fd, SO_RCVBUFFORCE, SO_RCVBUF, bufsize);
	set_bufsize(fd, SO_SNDBUFFORCE, SO_SNDBUF, bufsize);
	if (family == AF_INET6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) == 0)
			s->pktinfo = true;
	} else {
		if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) == 0)
			s->pktinfo = true;
	}
	/* Path MTU discovery is QUIC's job (DPLPMTUD): never fragment. */
	if (family == AF_INET) {
		int pmtu = IP_PMTUDISC_PROBE;

		(void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	} else {
		int pmtu = IPV6_PMTUDISC_PROBE;

		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	}
	if (!o->no_gro && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0)
		s->gro = true;
	if (!o->no_gso) {
		int seg = 0;
		socklen_t sl = sizeof(seg);

		/* The option exists iff the kernel can segment (>= 4.18). */
		s->gso = getsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, &sl) == 0;
	}
	if (o->ifname != NULL && o->ifname[0] != '\0' &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->ifname,
		       (socklen_t)strnlen(o->ifname, IFNAMSIZ)) != 0)
		goto fail;
	if (bind_sa == NULL && o->peer == NULL) {
		memset(&any, 0, sizeof(any));
		any.ss_family = (sa_family_t)family;
		bind_sa = (const struct sockaddr *)&any;
		bind_len = family == AF_INET ? sizeof(struct sockaddr_in)
					     : sizeof(struct sockaddr_in6);
	}
	if (bind_sa != NULL && bind(fd, bind_sa, bind_len) != 0)
		goto fail;
	if (o->peer != NULL) {
		if (connect(fd, o->peer, o->peer_len) != 0)
			goto fail;
		s->connected = true;
	}
	s->local.len = sizeof(s->local.ss);
	if (getsockname(fd, (struct sockaddr *)&s->local.ss, &s->local.len) != 0)
		goto fail;
	return 0;
fail:
	err = -errno;
	close(fd);
	s->fd = -1;
	return err;
}

void ht_udp_close(struct ht_udp_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

int ht_udp_rx_init(struct ht_udp_rx *rx, unsigned nslots)
{
	memset(rx, 0, sizeof(*rx));
	if (nslots == 0)
		nslots = 1;
	rx->nslots = nslots;
	rx->buf = malloc((size_t)nslots * HT_UDP_RX_SLOT);
	rx->mm = calloc(nslots, sizeof(*rx->mm));
	rx->iov = calloc(nslots, sizeof(*rx->iov));
	rx->ctrl = calloc(nslots, RX_CTRL_LEN);
	rx->msg = calloc(nslots, sizeof(*rx->msg));
	if (rx->buf == NULL || rx->mm == NULL || rx->iov == NULL || rx->ctrl == NULL ||
	    rx->msg == NULL) {
		ht_udp_rx_free(rx);
		return -ENOMEM;
	}
	return 0;
}

void ht_udp_rx_free(struct ht_udp_rx *rx)
{
	free(rx->buf);
	free(rx->mm);
	free(rx->iov);
	free(rx->ctrl);
	free(rx->msg);
	memset(rx, 0, sizeof(*rx));
}

static void parse_cmsgs(const struct ht_udp_sock *s, struct msghdr *mh, struct ht_udp_msg *m)
{
	m->local = s->local;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int seg;

			memcpy(&seg, CMSG_DATA(c), sizeof(seg));
			if (seg > 0 && (size_t)seg < m->len)
				m->seg = (size_t)seg;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
			   s->family == AF_INET) {
			struct in_pktinfo pi;
			struct sockaddr_in *sin = (struct sockaddr_in *)&m->local.ss;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			sin->sin_addr = pi.ipi_addr;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   s->family == AF_INET6) {
			struct in6_pktinfo pi;
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&m->local.ss;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			sin6->sin6_addr = pi.ipi6_addr;
		}
	}
}

int ht_udp_recv(struct ht_udp_sock *s, struct ht_udp_rx *rx)
{
	int n;

	for (unsigned i = 0; i < rx->nslots; i++) {
		struct msghdr *mh = &rx->mm[i].msg_hdr;

		rx->iov[i].iov_base = rx->buf + (size_t)i * HT_UDP_RX_SLOT;
		rx->iov[i].iov_len = HT_UDP_RX_SLOT;
		memset(mh, 0, sizeof(*mh));
		mh->msg_name = &rx->msg[i].remote.ss;
		mh->msg_namelen = sizeof(rx->msg[i].remote.ss);
		mh->msg_iov = &rx->iov[i];
		mh->msg_iovlen = 1;
		mh->msg_control = rx->ctrl + (size_t)i * RX_CTRL_LEN;
		mh->msg_controllen = RX_CTRL_LEN;
	}
	do {
		n = recvmmsg(s->fd, rx->mm, rx->nslots, MSG_DONTWAIT, NULL);
	} while (n < 0 && errno == EINTR);
	counters.recv_calls++;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct ht_udp_msg *m = &rx->msg[i];
		struct msghdr *mh = &rx->mm[i].msg_hdr;

		m->data = rx->iov[i].iov_base;
		m->len = rx->mm[i].msg_len;
		m->seg = m->len;
		m->remote.len = mh->msg_namelen;
		m->ecn = 0;
		parse_cmsgs(s, mh, m);
		counters.recv_pkts += m->seg ? (m->len + m->seg - 1) / m->seg : 1;
	}
	return n;
}

static size_t put_pktinfo(const struct ht_udp_sock *s, const struct ht_udp_addr *local,
			  struct cmsghdr *c)
{
	if (s->family == AF_INET && local->ss.ss_family == AF_INET) {
		struct in_pktinfo pi = {0};

		pi.ipi_spec_dst = ((const struct sockaddr_in *)&local->ss)->sin_addr;
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
	if (s->family == AF_INET6 && local->ss.ss_family == AF_INET6) {
		struct in6_pktinfo pi = {0};

		pi.ipi6_addr = ((const struct sockaddr_in6 *)&local->ss)->sin6_addr;
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
	return 0;
}

/* A wildcard local address needs no PKTINFO (and must not get one). */
static bool addr_is_any(const struct ht_udp_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (a->ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
	return true;
}

static ssize_t send_one_msg(struct ht_udp_sock *s, const struct ht_udp_addr *remote,
			    const struct ht_udp_addr *local, const uint8_t *data, size_t len,
			    size_t seg)
{
	union {
		uint8_t buf[TX_CTRL_LEN];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = {(void *)data, len};
	struct msghdr mh = {0};
	size_t clen = 0;
	ssize_t n;

	memset(&ctrl, 0, sizeof(ctrl));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (!s->connected) {
		mh.msg_name = (void *)&remote->ss;
		mh.msg_namelen = remote->len;
	}
	mh.msg_control = ctrl.buf;
	mh.msg_controllen = sizeof(ctrl.buf);
	if (local != NULL && s->pktinfo && !s->connected && !addr_is_any(local))
		clen += put_pktinfo(s, local, CMSG_FIRSTHDR(&mh));
	if (seg < len) {
		struct cmsghdr *c = (struct cmsghdr *)(ctrl.buf + clen);
		uint16_t gso = (uint16_t)seg;

		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(gso));
		memcpy(CMSG_DATA(c), &gso, sizeof(gso));
		clen += CMSG_SPACE(sizeof(gso));
	}
	mh.msg_controllen = clen;
	if (clen == 0)
		mh.msg_control = NULL;
	do {
		n = sendmsg(s->fd, &mh, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	counters.send_calls++;
	if (n < 0)
		return -errno;
	counters.send_pkts += (len + seg - 1) / seg;
	return n;
}

ssize_t ht_udp_send(struct ht_udp_sock *s, const struct ht_udp_addr *remote,
		    const struct ht_udp_addr *local, const uint8_t *data, size_t len, size_t seg)
{
	size_t off = 0;
	ssize_t n;

	if (seg == 0 || seg > len)
		seg = len;
	if (s->gso && seg < len) {
		n = send_one_msg(s, remote, local, data, len, seg);
		if (n >= 0 || n == -EAGAIN)
			return n;
		/* EIO: the device cannot checksum-offload; EINVAL: too many
		 * segments or an old kernel.  Fall back for good. */
		if (n != -EIO && n != -EINVAL)
			return n;
		ht_log(HT_LOG_INFO, "quic", "UDP GSO refused by the kernel (%s); sending "
		       "packet by packet", strerror((int)-n));
		s->gso = false;
	}
	/* No GSO: one sendmsg per packet (a sendmmsg would need per-message
	 * control buffers; the syscall count is what GSO exists to save). */
	while (off < len) {
		size_t l = len - off < seg ? len - off : seg;

		n = send_one_msg(s, remote, local, data + off, l, l);
		if (n < 0) {
			if (off > 0 && n == -EAGAIN)
				break;
			return off > 0 ? (ssize_t)off : n;
		}
		off += l;
	}
	return (ssize_t)off;
}
