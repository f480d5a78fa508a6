/* hatun — TCP socket helpers for the relays.
 *
 * The concentrator connects to destinations on a client's behalf and must
 * report WHY a connection failed with the Error TLV the specification names
 * (quic-tunnel-00 §7.1.4): the ICMP message that killed the SYN ("ICMP
 * packet received", with the ICMP message as payload), or "Network Failure"
 * for a timeout or no route.  A RST in answer to the SYN (port closed) is a
 * TCP reset and travels as RESET_STREAM, like any other reset (Figure 2).
 * The kernel reports the ICMP message through the socket error queue when
 * IP_RECVERR / IPV6_RECVERR is on; ht_tcp_connect_result() rebuilds it.
 */
#ifndef HATUN_TUNNEL_TCP_H
#define HATUN_TUNNEL_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto/icmp.h"

enum ht_tcp_outcome {
	HT_TCP_CONNECTED,
	HT_TCP_IN_PROGRESS, /* not decided yet: wait for EPOLLOUT */
	HT_TCP_REFUSED,     /* RST in answer to the SYN */
	HT_TCP_ICMP,        /* an ICMP error: icmp / icmp_len hold the message */
	HT_TCP_NET_FAILURE, /* no route, timeout, or any other local failure */
};

struct ht_tcp_failure {
	enum ht_tcp_outcome outcome;
	int err;                  /* errno behind it */
	int icmp_family;          /* 4 or 6 when outcome == HT_TCP_ICMP */
	size_t icmp_len;
	uint8_t icmp[8 + 40 + 8]; /* ICMP header + quoted IP header + 8 TCP bytes */
};

/* Start a non-blocking connect to addr16 (IPv6 or IPv4-mapped) port, with
 * the error queue on and TCP_NODELAY.  *fd is the socket when the return
 * value is HT_TCP_IN_PROGRESS or HT_TCP_CONNECTED; otherwise it is -1 and
 * f says why (e.g. HT_TCP_NET_FAILURE for ENETUNREACH at once). */
enum ht_tcp_outcome ht_tcp_connect(const uint8_t addr16[16], uint16_t port, int *fd,
				   struct ht_tcp_failure *f);

/* ht_tcp_connect with TCP Fast Open (RFC 7413), TCP_FASTOPEN_CONNECT.
 * When the kernel holds a Fast Open cookie for the destination, connect()
 * sends nothing: *deferred is true and the SYN leaves with
 * ht_tcp_send_syn(), carrying the first bytes.  Without a cookie this is
 * ht_tcp_connect (*deferred false), and the SYN asks the server for a
 * cookie, so that the next connection to it can carry data.  A deferred
 * socket polls writable: do not watch it for EPOLLOUT before the SYN. */
enum ht_tcp_outcome ht_tcp_connect_tfo(const uint8_t addr16[16], uint16_t port, int *fd,
				       bool *deferred, struct ht_tcp_failure *f);

/* Send the SYN of a deferred connection with up to len bytes in it (len 0:
 * a SYN without data).  *sent is how many the kernel took (about one MSS
 * at most; the rest is written once connected).  Returns
 * HT_TCP_IN_PROGRESS (wait for EPOLLOUT as after ht_tcp_connect) or the
 * failure in f (the socket should then be closed). */
enum ht_tcp_outcome ht_tcp_send_syn(int fd, const uint8_t *data, size_t len, size_t *sent,
				    struct ht_tcp_failure *f);

/* Whether this network namespace lets us send TFO SYNs (bit 0 of
 * net.ipv4.tcp_fastopen). */
bool ht_tcp_fastopen_client_enabled(void);

/* After EPOLLOUT/EPOLLERR on a connecting socket to dst:dport:
 * HT_TCP_CONNECTED, HT_TCP_IN_PROGRESS (spurious wake-up), or the failure in
 * f (the socket should then be closed).  A port-unreachable ICMP error is
 * reported as HT_TCP_ICMP, not HT_TCP_REFUSED: the client learns it from the
 * ICMP message itself. */
enum ht_tcp_outcome ht_tcp_connect_result(int fd, const uint8_t dst[16], uint16_t dport,
					  struct ht_tcp_failure *f);

/* Close with a RST (SO_LINGER 0): how a stream reset reaches a TCP peer. */
void ht_tcp_close_reset(int fd);

/* sockaddr <-> 16-byte address + port (IPv4 in IPv4-mapped form).
 * Return 0, or -1 for an unsupported family / short length. */
int ht_sockaddr_to16(const struct sockaddr *sa, socklen_t len, uint8_t addr16[16],
		     uint16_t *port);
socklen_t ht_sockaddr_from16(struct sockaddr_storage *ss, const uint8_t addr16[16],
			     uint16_t port);

/* "192.0.2.1:443" / "[2001:db8::1]:443" for log lines (buf >= 64 bytes). */
const char *ht_addr16_str(const uint8_t addr16[16], uint16_t port, char *buf, size_t len);

#endif
