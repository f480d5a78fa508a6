/* hatun — socket helpers of the Transport Converter and its client: MPTCP
 * sockets with a plain-TCP fallback, TCP Fast Open, what the kernel tells
 * about a connection's options (TCP_INFO, MPTCP_INFO), and the Convert
 * error a failed upstream connect maps to (docs/protocol/convert.md
 * "Converter").
 *
 * The pure parts (cv_ext_opts_build, cv_connect_error) are separated from
 * the syscalls so that tests/unit/test_cvsock.c checks them without
 * sockets.
 */
#ifndef HATUN_CONVERT_CVSOCK_H
#define HATUN_CONVERT_CVSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tunnel/tcp.h"

/* glibc declares IPPROTO_MPTCP as an enum member only in recent versions. */
#define CV_IPPROTO_MPTCP 262
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
/* The SOCKS5 REP for a converter's Error TLV (code, first Value byte when
 * value_len > 0) answering a Connect to a destination of family dst_v6:
 * 32 Not Authorized → 2; 96 Connection Reset → 5; 97 Destination
 * Unreachable by ICMP code (IPv4: 0 → 3, 1 → 4, 3 → 5, 9/10/13 → 2;
 * IPv6: 0 → 3, 1 → 2, 3 → 4, 4 → 5; others → 4); 65 Network Failure → 4
 * (as stream mode's Network Failure); anything else → 1. */
uint8_t cv_error_socks_rep(uint8_t code, const uint8_t *value, size_t value_len, bool dst_v6);

#endif

/* Open a non-blocking stream socket of family, IPPROTO_MPTCP when mptcp
 * and the kernel allows it, else IPPROTO_TCP (*is_mptcp says which).
 * Returns the fd or -errno. */
int cv_socket(int family, bool mptcp, bool *is_mptcp);

/* Listen on addr16:port (MPTCP when possible) with TCP_FASTOPEN queue
 * tfo_qlen (server cookies) and SO_REUSEADDR.  Returns the fd, or -1 with a
 * one-line reason in err. */
int cv_listen(const uint8_t addr16[16], uint16_t port, int backlog, int tfo_qlen,
	      bool *is_mptcp, char *err, size_t errlen);

/* Start connecting to addr16:port.  mptcp: try IPPROTO_MPTCP first.  A
 * plain TCP socket gets IP_RECVERR (MPTCP sockets refuse it, EOPNOTSUPP on
 * 6.18: their ICMP errors arrive only as errno).  fastopen: send data[0..n)
 * with MSG_FASTOPEN (the kernel's TFO client: a cookie request, or SYN data
 * with the cached cookie); *sent is how many bytes the kernel took (0..n).
 * Without fastopen, a plain connect(); *sent = 0.  Returns like
 * ht_tcp_connect(); *is_mptcp tells which protocol the socket uses. */
enum ht_tcp_outcome cv_connect(const uint8_t addr16[16], uint16_t port, bool mptcp,
			       bool fastopen, const uint8_t *data, size_t n, size_t *sent,
			       int *fd, bool *is_mptcp, struct ht_tcp_failure *f);

/* What the kernel knows about an established connection's handshake. */
struct cv_tcp_facts {
	bool have_tcp_info;
	uint8_t tcpi_options;  /* TCPI_OPT_* */
	uint8_t snd_wscale;    /* the peer's window scale, when TCPI_OPT_WSCALE */
	uint32_t snd_mss;
	bool mptcp_socket;     /* IPPROTO_MPTCP socket */
	bool mptcp_active;     /* ... and the peer spoke MPTCP (no fallback) */
	uint8_t subflows;      /* additional subflows (MPTCP_INFO) */
};

/* The subflows an MPTCP connection has now, as listed by
 * MPTCP_SUBFLOW_ADDRS (MPTCP_INFO's subflow count is the path manager's,
 * which on 6.18 leaves out subflows a server accepted while busy — seen as
 * 1 of 2 during a bulk transfer).  -errno on a plain or fallen-back socket. */
int cv_mptcp_subflows(int fd);

/* Fill f from TCP_INFO and, on an MPTCP socket, MPTCP_INFO.  0 or -errno. */
int cv_tcp_facts_get(int fd, bool mptcp_socket, struct cv_tcp_facts *f);

/* Rebuild the TCP options of the server's SYN+ACK from what the kernel
 * kept (docs/protocol/convert.md "Extended TCP Header"): MSS (2), SACK
 * permitted (4), Timestamps (8, values zero: the kernel does not expose
 * them), Window Scale (3), MPTCP (30, the 4-byte MP_CAPABLE form without a
 * key), TFO (34, empty: SYN data was acknowledged).  No NOPs (a Connect-
 * style option walker refuses them).  Returns the bytes written, or
 * HT_ERR_NOBUF (cap < 32 is always enough room: 4+2+10+3+4+2 = 25). */
int cv_ext_opts_build(const struct cv_tcp_facts *f, uint8_t *buf, size_t cap);

/* Receive buffer of every MPTCP socket that receives relayed bytes.  On
 * 6.18 an MPTCP connection with two subflows whose reader is slower than
 * the sender stalls for 13-30 s, sometimes for good: the receive window
 * autotuning shrinks it, in-sequence data is then dropped as out of window
 * (MPTcpExtNoDSSInWindow grows) while the sender retransmits
 * (MPTcpExtMPTCPRetrans).  A fixed SO_RCVBUF (no autotuning) avoids it:
 * docs/protocol/convert.md "MPTCP + TCP Fast Open on this kernel". */
#define CV_MPTCP_RCVBUF (4 * 1024 * 1024)
void cv_mptcp_fix_rcvbuf(int fd);

/* When an upstream connect failed. */
enum cv_fail_when {
	CV_FAIL_AT_ONCE, /* connect() itself: a local failure (no route...) */
	CV_FAIL_ASYNC,   /* SO_ERROR after EPOLLOUT: the network answered */
	CV_FAIL_TIMEOUT, /* the converter's connect timeout fired */
};

/* The Convert error for a failed upstream connect (docs/protocol/convert.md
 * table "Connect failures"): *code is a cv_error_code, *value its one-byte
 * Value (ICMP code, back-off seconds) and *has_value whether it has one.
 * An MPTCP socket has no error queue, so its ICMP errors are known only by
 * errno; the ICMP code is then the one the errno stands for in dst's
 * family (dst_v6). */
void cv_connect_error(const struct ht_tcp_failure *f, enum cv_fail_when when, bool dst_v6,
		      uint8_t *code, uint8_t *value, bool *has_value);

/* The SOCKS5 REP for a converter's Error TLV (code, first Value byte when
 * value_len > 0) answering a Connect to a destination of family dst_v6:
 * 32 Not Authorized → 2; 96 Connection Reset → 5; 97 Destination
 * Unreachable by ICMP code (IPv4: 0 → 3, 1 → 4, 3 → 5, 9/10/13 → 2;
 * IPv6: 0 → 3, 1 → 2, 3 → 4, 4 → 5; others → 4); 65 Network Failure → 4
 * (as stream mode's Network Failure); anything else → 1. */
uint8_t cv_error_socks_rep(uint8_t code, const uint8_t *value, size_t value_len, bool dst_v6);

#endif
