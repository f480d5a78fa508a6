/* AF_PACKET port: socket options, receive ring, interface checks. */
#include "port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/if_ether.h>

/* Ring memory per port. At 1500-byte MTU that is 4096 frames, 60 ms of
 * 1 Gbit/s: enough to ride out a scheduling hiccup on a busy machine. */
#define LK_RING_BYTES (8u << 20)
#define LK_RING_BLOCK (64u << 10)
/* Socket buffers: the receive side holds GSO super-frames that did not fit
 * the ring (PACKET_COPY_THRESH); the send side frames in flight to the peer. */
#define LK_SOCK_BUF (8 << 20)

static int fail(char *err, size_t errlen, const char *ifname, const char *what)
{
	snprintf(err, errlen, "%s: %s: %s", ifname, what, strerror(errno));
	return -1;
}

static int setopt(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val));
}

/* linkem is a wire: an interface with an address would make the namespace's
 * own stack answer, route or send on it behind linkem's back. IPv6
 * link-local addresses appear by themselves on every interface brought up
 * and are harmless (nothing routes via them), so they are allowed. */
static int check_no_ip(const char *ifname, char *err, size_t errlen)
{
	struct ifaddrs *ifa, *i;
	int rc = 0;

	if (getifaddrs(&ifa) < 0)
		return fail(err, errlen, ifname, "getifaddrs");
	for (i = ifa; i && rc == 0; i = i->ifa_next) {
		char buf[INET6_ADDRSTRLEN] = "?";

		if (!i->ifa_addr || strcmp(i->ifa_name, ifname) != 0)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *a = (const void *)i->ifa_addr;

			inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
			rc = -1;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *a = (const void *)i->ifa_addr;

			if (IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr))
				continue;
			inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf));
			rc = -1;
		}
		if (rc)
			snprintf(err, errlen, "%s: has IP address %s; linkem is "
				 "a wire, not a router (ip addr flush dev %s)",
				 ifname, buf, ifname);
	}
	freeifaddrs(ifa);
	return rc;
}

static uint32_t pow2_at_least(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static int setup_ring(struct lk_port *p, char *err, size_t errlen)
{
	struct tpacket_req req;
	/* Frame layout: tpacket2_hdr + sockaddr_ll, padding, the vnet header,
	 * then the frame with up to two VLAN tags; the kernel places the
	 * network header on a 16-byte boundary, hence the slack. */
	uint32_t need = TPACKET_ALIGN(TPACKET2_HDRLEN + 16) + LK_VNET_LEN +
			p->mtu + 14 + 8 + 64;

	p->frame_sz = pow2_at_least(need);
	if (p->frame_sz < 2048)
		p->frame_sz = 2048;
	memset(&req, 0, sizeof(req));
	req.tp_block_size = p->frame_sz > LK_RING_BLOCK ? p->frame_sz : LK_RING_BLOCK;
	req.tp_frame_size = p->frame_sz;
	req.tp_block_nr = LK_RING_BYTES / req.tp_block_size;
	if (req.tp_block_nr < 16)
		req.tp_block_nr = 16;
	req.tp_frame_nr = req.tp_block_nr * (req.tp_block_size / p->frame_sz);
	if (setsockopt(p->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0)
		return fail(err, errlen, p->name, "PACKET_RX_RING");
	p->frame_nr = req.tp_frame_nr;
	p->ring_len = (size_t)req.tp_block_size * req.tp_block_nr;
	p->ring = mmap(NULL, p->ring_len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_LOCKED | MAP_POPULATE, p->fd, 0);
	if (p->ring == MAP_FAILED) {
		/* MAP_LOCKED may exceed RLIMIT_MEMLOCK; unlocked is fine. */
		p->ring = mmap(NULL, p->ring_len, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_POPULATE, p->fd, 0);
	}
	if (p->ring == MAP_FAILED) {
		p->ring = NULL;
		return fail(err, errlen, p->name, "mmap ring");
	}
	return 0;
}

int lk_port_open(struct lk_port *p, const char *ifname, char *err,
		 size_t errlen)
{
	struct sockaddr_ll sll;
	struct packet_mreq mr;
	struct ifreq ifr;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	snprintf(p->name, sizeof(p->name), "%s", ifname);
	/* Protocol 0: nothing is queued until bind() names the interface. */
	p->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		return fail(err, errlen, ifname, "socket(AF_PACKET)");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(p->fd, SIOCGIFINDEX, &ifr) < 0)
		return fail(err, errlen, ifname, "no such interface");
	p->ifindex = ifr.ifr_ifindex;
	if (ioctl(p->fd, SIOCGIFFLAGS, &ifr) < 0)
		return fail(err, errlen, ifname, "SIOCGIFFLAGS");
	if (!(ifr.ifr_flags & IFF_UP)) {
		snprintf(err, errlen, "%s: interface is down (ip link set %s up)",
			 ifname, ifname);
		return -1;
	}
	if (ioctl(p->fd, SIOCGIFMTU, &ifr) < 0)
		return fail(err, errlen, ifname, "SIOCGIFMTU");
	p->mtu = (uint32_t)ifr.ifr_mtu;
	if (p->mtu > 65535) {
		snprintf(err, errlen, "%s: MTU %u too large", ifname, p->mtu);
		return -1;
	}
	if (check_no_ip(ifname, err, errlen) < 0)
		return -1;
	if (setopt(p->fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2) < 0)
		return fail(err, errlen, ifname, "PACKET_VERSION");
	/* Offload metadata travels with each frame: a GSO super-frame or a
	 * frame whose checksum the sender left to "hardware" is sent on
	 * exactly as it came, and the kernel finishes it on the far side. */
	if (setopt(p->fd, SOL_PACKET, PACKET_VNET_HDR, 1) < 0)
		return fail(err, errlen, ifname, "PACKET_VNET_HDR");
	/* Never see our own transmissions on this interface. */
	if (setopt(p->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1) < 0)
		return fail(err, errlen, ifname, "PACKET_IGNORE_OUTGOING");
	/* linkem does the queueing; the qdisc would only add a second queue
	 * and its latency. tc on these two interfaces stops having effect. */
	if (setopt(p->fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1) < 0)
		return fail(err, errlen, ifname, "PACKET_QDISC_BYPASS");
	/* Frames larger than a ring slot (GSO) go to the socket queue whole. */
	if (setopt(p->fd, SOL_PACKET, PACKET_COPY_THRESH, 1) < 0)
		return fail(err, errlen, ifname, "PACKET_COPY_THRESH");
	if (setopt(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, LK_SOCK_BUF) < 0 &&
	    setopt(p->fd, SOL_SOCKET, SO_RCVBUF, LK_SOCK_BUF) < 0)
		return fail(err, errlen, ifname, "SO_RCVBUF");
	if (setopt(p->fd, SOL_SOCKET, SO_SNDBUFFORCE, LK_SOCK_BUF) < 0 &&
	    setopt(p->fd, SOL_SOCKET, SO_SNDBUF, LK_SOCK_BUF) < 0)
		return fail(err, errlen, ifname, "SO_SNDBUF");
	if (setup_ring(p, err, errlen) < 0)
		return -1;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = p->ifindex;
	if (bind(p->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return fail(err, errlen, ifname, "bind");
	/* A wire forwards frames for any MAC; dropped again on close. */
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = p->ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(p->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr,
		       sizeof(mr)) < 0)
		return fail(err, errlen, ifname, "PACKET_MR_PROMISC");
	return 0;
}

void lk_port_update_drops(struct lk_port *p)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	if (p->fd >= 0 && getsockopt(p->fd, SOL_PACKET, PACKET_STATISTICS, &st,
				     &len) == 0)
		p->drops += st.tp_drops;
}

void lk_port_close(struct lk_port *p)
{
	if (p->ring)
		munmap(p->ring, p->ring_len);
	p->ring = NULL;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}
