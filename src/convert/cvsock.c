#include "convert/cvsock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "proto/convert.h"
#include "proto/err.h"

#ifndef MPTCP_INFO
#define MPTCP_INFO 1
#endif
#define CV_MPTCP_INFO_FLAG_FALLBACK 1u

/* The stable head of struct mptcp_info (linux/mptcp.h), declared here
 * because that header collides with <netinet/in.h> on some libcs. */
struct cv_mptcp_info_head {
	uint8_t subflows;
	uint8_t add_addr_signal;
	uint8_t add_addr_accepted;
	uint8_t subflows_max;
	uint8_t add_addr_signal_max;
	uint8_t add_addr_accepted_max;
	uint32_t flags;
	uint32_t token;
	uint64_t write_seq;
	uint64_t snd_una;
	uint64_t rcv_nxt;
};

/* The head of MPTCP_SUBFLOW_ADDRS's answer (struct mptcp_subflow_data). */
#define CV_MPTCP_SUBFLOW_ADDRS 3
struct cv_mptcp_subflow_data {
	uint32_t size_subflow_data;
	uint32_t num_subflows;
	uint32_t size_kernel;
	uint32_t size_user;
} __attribute__((aligned(8)));

int cv_mptcp_subflows(int fd)
{
	/* No room for an address pair: the kernel only counts them. */
	struct cv_mptcp_subflow_data d = {.size_subflow_data = sizeof(d), .size_user = 256};
	socklen_t len = sizeof(d);

	if (getsockopt(fd, SOL_MPTCP, CV_MPTCP_SUBFLOW_ADDRS, &d, &len) != 0)
		return -errno;
	return (int)d.num_subflows;
}

int cv_socket(int family, bool mptcp, bool *is_mptcp)
{
	int fd = -1;

	*is_mptcp = false;
	if (mptcp) {
		fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, CV_IPPROTO_MPTCP);
		/* EPROTONOSUPPORT: no MPTCP in the kernel; ENOPROTOOPT:
		 * net.mptcp.enabled=0.  Either way plain TCP does the job. */
		if (fd >= 0) {
			*is_mptcp = true;
			return fd;
		}
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	return fd >= 0 ? fd : -errno;
}

int cv_listen(const uint8_t addr16[16], uint16_t port, int backlog, int tfo_qlen,
	      bool *is_mptcp, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = ht_sockaddr_from16(&ss, addr16, port);
	int fd = cv_socket(ss.ss_family, true, is_mptcp), one = 1;
	char a[64];
	const char *what = "socket";

	if (fd < 0) {
		errno = -fd;
		goto fail;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	what = "TCP_FASTOPEN";
	if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &tfo_qlen, sizeof(tfo_qlen)) != 0)
		goto fail;
	what = "bind";
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0)
		goto fail;
	what = "listen";
	if (listen(fd, backlog) != 0)
		goto fail;
	return fd;
fail:
	ht_errbuf(err, errlen, "cannot listen on %s: %s: %s",
		  ht_addr16_str(addr16, port, a, sizeof(a)), what, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static enum ht_tcp_outcome connect_fail(struct ht_tcp_failure *f, int fd, int err)
{
	memset(f, 0, sizeof(*f));
	f->err = err;
	f->outcome = err == ECONNREFUSED ? HT_TCP_REFUSED : HT_TCP_NET_FAILURE;
	if (fd >= 0)
		close(fd);
	return f->outcome;
}

enum ht_tcp_outcome cv_connect(const uint8_t addr16[16], uint16_t port, bool mptcp,
			       bool fastopen, const uint8_t *data, size_t n, size_t *sent,
			       int *fdp, bool *is_mptcp, struct ht_tcp_failure *f)
{
	struct sockaddr_storage ss;
	socklen_t sl = ht_sockaddr_from16(&ss, addr16, port);
	int fd, one = 1;
	ssize_t w;

	*fdp = -1;
	*sent = 0;
	fd = cv_socket(ss.ss_family, mptcp, is_mptcp);
	if (fd < 0)
		return connect_fail(f, -1, -fd);
	if (!*is_mptcp) {
		int lvl = ss.ss_family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
		int opt = ss.ss_family == AF_INET ? IP_RECVERR : IPV6_RECVERR;

		if (setsockopt(fd, lvl, opt, &one, sizeof(one)) != 0)
			return connect_fail(f, fd, errno);
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		return connect_fail(f, fd, errno);
	if (fastopen) {
		w = sendto(fd, data, n, MSG_FASTOPEN | MSG_NOSIGNAL, (struct sockaddr *)&ss, sl);
		if (w >= 0) {
			*sent = (size_t)w;
			*fdp = fd;
			return HT_TCP_IN_PROGRESS;
		}
	} else if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
		*fdp = fd;
		return HT_TCP_CONNECTED;
	}
	if (errno == EINPROGRESS) {
		*fdp = fd;
		return HT_TCP_IN_PROGRESS;
	}
	return connect_fail(f, fd, errno);
}

int cv_tcp_facts_get(int fd, bool mptcp_socket, struct cv_tcp_facts *f)
{
	struct tcp_info ti;
	struct cv_mptcp_info_head mi;
	socklen_t len = sizeof(ti);

	memset(f, 0, sizeof(*f));
	f->mptcp_socket = mptcp_socket;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return -errno;
	f->have_tcp_info = true;
	f->tcpi_options = ti.tcpi_options;
	f->snd_wscale = ti.tcpi_snd_wscale;
	f->snd_mss = ti.tcpi_snd_mss;
	if (!mptcp_socket)
		return 0;
	/* A fallen-back MPTCP socket either sets the FALLBACK flag or
	 * refuses MPTCP_INFO (EOPNOTSUPP), depending on the kernel. */
	memset(&mi, 0, sizeof(mi));
	len = sizeof(mi);
	if (getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &mi, &len) == 0 &&
	    len >= (socklen_t)offsetof(struct cv_mptcp_info_head, token) &&
	    (mi.flags & CV_MPTCP_INFO_FLAG_FALLBACK) == 0) {
		f->mptcp_active = true;
		f->subflows = mi.subflows;
	}
	return 0;
}

int cv_ext_opts_build(const struct cv_tcp_facts *f, uint8_t *buf, size_t cap)
{
	size_t n = 0;

	if (cap < 32)
		return HT_ERR_NOBUF;
	if (f->have_tcp_info) {
		/* MSS: the kernel keeps the send MSS net of the timestamps
		 * option; the server announced it with them. */
		uint32_t mss = f->snd_mss + ((f->tcpi_options & TCPI_OPT_TIMESTAMPS) ? 12u : 0u);

		if (mss > 0xffff)
			mss = 0xffff;
		buf[n++] = 2;
		buf[n++] = 4;
		buf[n++] = (uint8_t)(mss >> 8);
		buf[n++] = (uint8_t)mss;
		if (f->tcpi_options & TCPI_OPT_SACK) {
			buf[n++] = 4;
			buf[n++] = 2;
		}
		if (f->tcpi_options & TCPI_OPT_TIMESTAMPS) {
			buf[n++] = 8;
			buf[n++] = 10;
			memset(buf + n, 0, 8);
			n += 8;
		}
		if (f->tcpi_options & TCPI_OPT_WSCALE) {
			buf[n++] = 3;
			buf[n++] = 3;
			buf[n++] = f->snd_wscale;
		}
	}
	if (f->mptcp_active) {
		/* MP_CAPABLE, version 1, flag H (HMAC-SHA256): the key-less
		 * form a SYN carries; the key is the subflow's business. */
		buf[n++] = 30;
		buf[n++] = 4;
		buf[n++] = 0x01;
		buf[n++] = 0x01;
	}
	if (f->have_tcp_info && (f->tcpi_options & TCPI_OPT_SYN_DATA)) {
		buf[n++] = 34;
		buf[n++] = 2;
	}
	return (int)n;
}

/* The ICMP code an errno stands for when an MPTCP socket, which has no
 * error queue, reports an ICMP error (icmp_err_convert / icmpv6_err_convert
 * read backwards; several codes share an errno: the first is given). */
static int errno_icmp_code(int err, bool v6)
{
	if (v6) {
		switch (err) {
		case ENETUNREACH: return 0; /* no route */
		case EACCES: return 1;      /* administratively prohibited */
		case EHOSTUNREACH: return 3; /* address unreachable */
		default: return -1;
		}
	}
	switch (err) {
	case ENETUNREACH: return 0;
	case EHOSTUNREACH: return 1;
	case ENOPROTOOPT: return 2;
	case EHOSTDOWN: return 7;
	case ENONET: return 8;
	default: return -1;
	}
}

void cv_connect_error(const struct ht_tcp_failure *f, enum cv_fail_when when, bool dst_v6,
		      uint8_t *code, uint8_t *value, bool *has_value)
{
	int ic;

	*value = 0;
	*has_value = true;
	*code = CV_E_NETWORK_FAILURE;
	if (when == CV_FAIL_TIMEOUT || when == CV_FAIL_AT_ONCE)
		return;
	if (f->outcome == HT_TCP_ICMP && f->icmp_len >= 2) {
		/* Destination Unreachable (type 3 / ICMPv6 type 1): echo the
		 * code; other ICMP errors (time exceeded...) are forwarding
		 * trouble. */
		if ((f->icmp_family == 4 && f->icmp[0] == 3) ||
		    (f->icmp_family == 6 && f->icmp[0] == 1)) {
			*code = CV_E_DEST_UNREACHABLE;
			*value = f->icmp[1];
		}
		return;
	}
	if (f->outcome == HT_TCP_REFUSED) {
		*code = CV_E_CONNECTION_RESET;
		*has_value = false;
		return;
	}
	ic = errno_icmp_code(f->err, dst_v6);
	if (ic >= 0) {
		*code = CV_E_DEST_UNREACHABLE;
		*value = (uint8_t)ic;
	}
}

uint8_t cv_error_socks_rep(uint8_t code, const uint8_t *value, size_t value_len, bool dst_v6)
{
	int ic = value_len > 0 ? value[0] : -1;

	switch (code) {
	case CV_E_NOT_AUTHORIZED:
		return 2;
	case CV_E_CONNECTION_RESET:
		return 5;
	case CV_E_NETWORK_FAILURE:
		return 4;
	case CV_E_DEST_UNREACHABLE:
		if (dst_v6) {
			switch (ic) {
			case 0: return 3;
			case 1: return 2;
			case 4: return 5;
			default: return 4;
			}
		}
		switch (ic) {
		case 0: return 3;
		case 3: return 5;
		case 9:
		case 10:
		case 13: return 2;
		default: return 4;
		}
	default:
		return 1;
	}
}

void cv_mptcp_fix_rcvbuf(int fd)
{
	int rb = CV_MPTCP_RCVBUF;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
}
