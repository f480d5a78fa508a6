/* hatun — UDP sockets for QUIC: big buffers, batched receive (recvmmsg +
 * UDP_GRO), batched send (UDP_SEGMENT / GSO, sendmmsg fallback), and the
 * local address of each received datagram (IP_PKTINFO / IPV6_RECVPKTINFO)
 * so a wildcard-bound server answers from the address the client used and
 * ngtcp2 sees the true path of every packet.
 *
 * Sockets are non-blocking; nothing here waits.  A send that would block
 * returns -EAGAIN (or a short count) and the caller keeps the rest and
 * waits for EPOLLOUT.
 */
#ifndef HATUN_QUIC_UDP_H
#define HATUN_QUIC_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define HT_UDP_MAX_GSO_SEGS 64      /* kernel limit (UDP_MAX_SEGMENTS) */
#define HT_UDP_MAX_GSO_BYTES 65000  /* stay below the 64 KiB IP datagram limit */
#define HT_UDP_RX_SLOT 65536        /* one GRO super-datagram */

struct ht_udp_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct ht_udp_sock {
	int fd;
	int family;
	bool gso;     /* UDP_SEGMENT usable (cleared at the first kernel refusal) */
	bool gro;     /* UDP_GRO enabled */
	bool pktinfo; /* local address of each datagram is reported */
	bool connected;
	struct ht_udp_addr local; /* getsockname() after bind/connect */
};

struct ht_udp_opts {
	const struct sockaddr *bind; /* NULL: wildcard of `family`, port 0 */
	socklen_t bind_len;
	const struct sockaddr *peer; /* non-NULL: connect() (a client path) */
	socklen_t peer_len;
	int family;         /* used when bind and peer are NULL */
	const char *ifname; /* SO_BINDTODEVICE, optional (multipath) */
	int bufsize;        /* SO_RCVBUF/SO_SNDBUF; 0 = 8 MiB */
	bool no_gso, no_gro; /* for measurements */
};

/* Open, configure and bind (and connect) a socket.  Returns 0 or -errno;
 * s->fd is -1 on failure. */
int ht_udp_open(struct ht_udp_sock *s, const struct ht_udp_opts *o);
void ht_udp_close(struct ht_udp_sock *s);
/* Change SO_SNDBUF (the kernel doubles it for its bookkeeping): what the
 * socket may hold in the local qdisc and device before sends get EAGAIN. */
void ht_udp_set_sndbuf(struct ht_udp_sock *s, int bytes);

/* One received datagram (a GRO batch is split by the caller: `seg` is the
 * segment size, every segment but the last is exactly `seg` bytes). */
struct ht_udp_msg {
	uint8_t *data;
	size_t len;
	size_t seg; /* == len when not coalesced */
	struct ht_udp_addr remote;
	struct ht_udp_addr local; /* from PKTINFO, port of the socket */
	uint8_t ecn;
};

/* A receive batch: nslots buffers of HT_UDP_RX_SLOT bytes (owned). */
struct ht_udp_rx {
	unsigned nslots;
	uint8_t *buf;
	struct mmsghdr *mm;
	struct iovec *iov;
	uint8_t *ctrl;
	struct ht_udp_msg *msg;
};

int ht_udp_rx_init(struct ht_udp_rx *rx, unsigned nslots); /* 0 or -ENOMEM */
void ht_udp_rx_free(struct ht_udp_rx *rx);

/* Receive up to rx->nslots datagrams into rx->msg[].  Returns the count
 * (0 when nothing is queued) or -errno. */
int ht_udp_recv(struct ht_udp_sock *s, struct ht_udp_rx *rx);

/* Send len bytes as packets of `seg` bytes (the last may be shorter) to
 * remote (ignored when connected), from local (NULL: the kernel chooses;
 * else IP_PKTINFO source).  Uses one GSO sendmsg when possible.
 * Returns the number of bytes handed to the kernel — always a multiple of
 * seg unless it is len — or -errno (-EAGAIN: nothing sent, try after
 * EPOLLOUT). */
ssize_t ht_udp_send(struct ht_udp_sock *s, const struct ht_udp_addr *remote,
		    const struct ht_udp_addr *local, const uint8_t *data, size_t len, size_t seg);

/* Counters for docs/QUIC.md measurements (process-wide, this thread's loop). */
struct ht_udp_counters {
	uint64_t send_calls, send_pkts, recv_calls, recv_pkts;
};
void ht_udp_get_counters(struct ht_udp_counters *out);

#endif
