#include "tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/addr.h"
#include "proto/err.h"
#include "proto/policy.h"

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int ht_sockaddr_to16(const struct sockaddr *sa, socklen_t len, uint8_t addr16[16], uint16_t *port)
{
	return ht_policy_addr16_from_sockaddr(addr16, port, sa, (size_t)len) == HT_OK ? 0 : -1;
}

socklen_t ht_sockaddr_from16(struct sockaddr_storage *ss, const uint8_t addr16[16], uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (memcmp(addr16, v4mapped, sizeof(v4mapped)) == 0) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr16 + 12, 4);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, addr16, 16);
	return sizeof(*sin6);
}

const char *ht_addr16_str(const uint8_t addr16[16], uint16_t port, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (memcmp(addr16, v4mapped, sizeof(v4mapped)) == 0) {
		inet_ntop(AF_INET, addr16 + 12, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, port);
	} else {
		inet_ntop(AF_INET6, addr16, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, port);
	}
	return buf;
}

static enum ht_tcp_outcome fail_errno(struct ht_tcp_failure *f, int err)
{
	memset(f, 0, sizeof(*f));
	f->err = err;
	f->outcome = err == ECONNREFUSED ? HT_TCP_REFUSED : HT_TCP_NET_FAILURE;
	return f->outcome;
}

/* A non-blocking socket with the error queue on and TCP_NODELAY. */
static int tcp_socket(int family, struct ht_tcp_failure *f)
{
	int fd, one = 1, err;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail_errno(f, errno);
		return -1;
	}
	if (family == AF_INET)
		err = setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	else
		err = setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
	if (err != 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
		err = errno;
		close(fd);
		fail_errno(f, err);
		return -1;
	}
	return fd;
}

static enum ht_tcp_outcome start_connect(int family, const struct sockaddr_storage *ss,
					 socklen_t sslen, bool tfo, int *fdp, bool *deferred,
					 struct ht_tcp_failure *f)
{
	int fd = tcp_socket(family, f), one = 1, err;

	*fdp = -1;
	*deferred = false;
	if (fd < 0)
		return f->outcome;
	if (tfo && setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)) != 0)
		goto fail;
	/* With TCP_FASTOPEN_CONNECT, 0 means "cookie found, SYN deferred to
	 * the first send" (a non-blocking connect never completes at once). */
	if (connect(fd, (const struct sockaddr *)ss, sslen) == 0) {
		*fdp = fd;
		*deferred = tfo;
		return tfo ? HT_TCP_IN_PROGRESS : HT_TCP_CONNECTED;
	}
	if (errno == EINPROGRESS) {
		*fdp = fd;
		return HT_TCP_IN_PROGRESS;
	}
fail:
	err = errno;
	close(fd);
	return fail_errno(f, err);
}

enum ht_tcp_outcome ht_tcp_connect(const uint8_t addr16[16], uint16_t port, int *fdp,
				   struct ht_tcp_failure *f)
{
	struct sockaddr_storage ss;
	socklen_t sslen = ht_sockaddr_from16(&ss, addr16, port);
	bool deferred;

	return start_connect(ss.ss_family, &ss, sslen, false, fdp, &deferred, f);
}

enum ht_tcp_outcome ht_tcp_connect_tfo(const uint8_t addr16[16], uint16_t port, int *fdp,
				       bool *deferred, struct ht_tcp_failure *f)
{
	struct sockaddr_storage ss;
	socklen_t sslen = ht_sockaddr_from16(&ss, addr16, port);

	return start_connect(ss.ss_family, &ss, sslen, true, fdp, deferred, f);
}

enum ht_tcp_outcome ht_tcp_send_syn(int fd, const uint8_t *data, size_t len, size_t *sent,
				    struct ht_tcp_failure *f)
{
	ssize_t n;

	*sent = 0;
	/* On a deferred socket the first send() is the SYN: it takes what
	 * fits in it and returns that count, or -1 EINPROGRESS when nothing
	 * went in (no data, or the kernel dropped the cookie meanwhile: a SYN
	 * without data then). */
	do
		n = send(fd, data, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		*sent = (size_t)n;
		return HT_TCP_IN_PROGRESS;
	}
	if (n == 0 || errno == EINPROGRESS || errno == EAGAIN)
		return HT_TCP_IN_PROGRESS;
	return fail_errno(f, errno);
}

bool ht_tcp_fastopen_client_enabled(void)
{
	char buf[32] = {0};
	long v;
	int fd = open("/proc/sys/net/ipv4/tcp_fastopen", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	v = strtol(buf, NULL, 0);
	return (v & 1) != 0;
}

/* Read the ICMP error the kernel queued for this socket and rebuild the
 * message as it arrived: ICMP header, the quoted IP header, 8 TCP bytes.
 * The quoted IP header is reconstructed from the socket's addresses (the
 * kernel hands over only the bytes from the TCP header on). */
static int read_icmp(int fd, const uint8_t dst[16], uint16_t dport, struct ht_tcp_failure *f)
{
	uint8_t tcp[64], cbuf[512];
	struct iovec iov = {tcp, sizeof(tcp)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf)};
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	uint8_t src[16], quoted[48], offender[16];
	uint16_t sport;
	struct cmsghdr *cm;
	ssize_t n = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
	int qlen, len;

	if (n < 0 || getsockname(fd, (struct sockaddr *)&local, &llen) != 0 ||
	    ht_sockaddr_to16((struct sockaddr *)&local, llen, src, &sport) != 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		const struct sock_extended_err *ee;
		const struct sockaddr *off;
		uint16_t unused;
		int family;

		if (!((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
		      (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR)))
			continue;
		ee = (const struct sock_extended_err *)CMSG_DATA(cm);
		if (ee->ee_origin == SO_EE_ORIGIN_ICMP)
			family = 4;
		else if (ee->ee_origin == SO_EE_ORIGIN_ICMP6)
			family = 6;
		else
			continue;
		/* ICMPv6's checksum covers a pseudo-header from the router that
		 * sent it to us; use the offender's address when the kernel gives it. */
		off = (const struct sockaddr *)SO_EE_OFFENDER(ee);
		if (ht_sockaddr_to16(off, sizeof(struct sockaddr_in6), offender, &unused) != 0)
			memcpy(offender, dst, 16);
		qlen = icmp_build_quote_tcp(quoted, sizeof(quoted), family, src, dst, sport, dport,
					    n >= 8 ? tcp : NULL);
		if (qlen < 0)
			return -1;
		len = icmp_build(f->icmp, sizeof(f->icmp), sizeof(f->icmp), family, ee->ee_type,
				 ee->ee_code, ee->ee_info, quoted, (size_t)qlen, offender, src);
		if (len < 0)
			return -1;
		f->icmp_family = family;
		f->icmp_len = (size_t)len;
		f->outcome = HT_TCP_ICMP;
		f->err = (int)ee->ee_errno;
		return 0;
	}
	return -1;
}

enum ht_tcp_outcome ht_tcp_connect_result(int fd, const uint8_t dst[16], uint16_t dport,
					  struct ht_tcp_failure *f)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return fail_errno(f, errno);
	if (err == 0)
		return HT_TCP_CONNECTED;
	if (err == EINPROGRESS)
		return HT_TCP_IN_PROGRESS;
	fail_errno(f, err);
	/* Port unreachable also reads ECONNREFUSED: the queue tells them apart. */
	read_icmp(fd, dst, dport, f);
	return f->outcome;
}

void ht_tcp_close_reset(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}
