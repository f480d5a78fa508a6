/* hatun — datagram-mode data path helpers (dgram.h). */
#include "tunnel/dgram.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/log.h"
#include "proto/err.h"
#include "tunnel/tun.h"

/* Packets read per readiness event: fairness with the QUIC sockets. */
#define READ_BATCH 64

static const char *const DROP_NAMES[HT_DG_NDROP] = {
	[HT_DG_MALFORMED] = "malformed", [HT_DG_PROTO] = "protocol",
	[HT_DG_SPOOFED] = "spoofed",     [HT_DG_NO_CLIENT] = "no_client",
	[HT_DG_C2C] = "client_to_client", [HT_DG_TOO_BIG] = "too_big",
	[HT_DG_PATH_MTU] = "path_mtu",   [HT_DG_QUEUE] = "queue_full",
	[HT_DG_SOJOURN] = "sojourn",
	[HT_DG_NO_SERVICE] = "no_service", [HT_DG_DEVICE] = "device",
};

const char *ht_dg_drop_name(int reason)
{
	return reason >= 0 && reason < HT_DG_NDROP ? DROP_NAMES[reason] : "?";
}

void ht_dg_counters_add(struct ht_dg_counters *sum, const struct ht_dg_counters *c)
{
	sum->tx_pkts += c->tx_pkts;
	sum->tx_bytes += c->tx_bytes;
	sum->rx_pkts += c->rx_pkts;
	sum->rx_bytes += c->rx_bytes;
	sum->icmp_sent += c->icmp_sent;
	sum->mss_clamped += c->mss_clamped;
	for (int i = 0; i < HT_DG_NDROP; i++)
		sum->drop[i] += c->drop[i];
}

static void on_readable(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct ht_tundev *t = io->arg;

	(void)loop;
	(void)ev;
	for (int i = 0; i < READ_BATCH && t->fd >= 0; i++) {
		ssize_t n = read(t->fd, t->buf + HT_TUN_HEADROOM, HT_TUN_BUF - HT_TUN_HEADROOM);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				ht_log(HT_LOG_WARN, "tun", "%s: read: %s", t->name, strerror(errno));
			return;
		}
		if (n > 0)
			t->fn(t, t->buf, HT_TUN_HEADROOM, (size_t)n, t->arg);
	}
}

int ht_tundev_open(struct ht_tundev *t, struct ht_loop *loop, const char *name, bool tap,
		   unsigned mtu, ht_tundev_fn fn, void *arg, char *err, size_t errlen)
{
	int rv;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->loop = loop;
	t->tap = tap;
	t->fn = fn;
	t->arg = arg;
	t->mtu = mtu;
	if ((t->buf = malloc(HT_TUN_BUF)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rv = ht_tun_open(name, tap, &t->fd, t->name, &t->ifindex);
	if (rv != 0) {
		snprintf(err, errlen, "cannot open %s device %s: %s", tap ? "TAP" : "TUN", name,
			 strerror(-rv));
		goto fail;
	}
	if ((rv = ht_rtnl_link_up(t->ifindex, mtu)) != 0) {
		snprintf(err, errlen, "cannot bring %s up (mtu %u): %s", t->name, mtu,
			 strerror(-rv));
		goto fail;
	}
	if (ht_io_start(loop, &t->io, t->fd, EPOLLIN, on_readable, t) != 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	ht_log(HT_LOG_INFO, "tun", "%s device %s up, mtu %u", tap ? "TAP" : "TUN", t->name, mtu);
	return 0;
fail:
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	free(t->buf);
	t->buf = NULL;
	return -1;
}

void ht_tundev_close(struct ht_tundev *t)
{
	if (t->fd >= 0) {
		ht_io_stop(t->loop, &t->io);
		close(t->fd);
	}
	t->fd = -1;
	free(t->buf);
	t->buf = NULL;
}

int ht_tundev_write(struct ht_tundev *t, const uint8_t *pkt, size_t len)
{
	ssize_t n = write(t->fd, pkt, len);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

unsigned ht_dg_tunnel_mtu(struct ht_qconn *qc, enum qt_dgram_profile prof)
{
	size_t m = ht_qconn_max_datagram(qc, true), h = qt_dgram_hdr_size(prof);

	if (m <= h)
		return 0;
	m -= h;
	return m > 65535 ? 65535u : (unsigned)m;
}

int ht_dg_send(struct ht_qconn *qc, enum qt_dgram_profile prof, uint16_t *tag, uint8_t *frame,
	       size_t headroom, size_t len, uint16_t proto, struct ht_dg_counters *ctr)
{
	size_t off = headroom;
	int rv;

	if (prof == QT_DGRAM_TAGGED) {
		rv = qt_dgram_encap(frame, headroom, proto, *tag);
		if (rv < 0)
			return rv;
		*tag = qt_tag_add(*tag, 1);
		off = (size_t)rv;
	}
	rv = ht_qconn_send_datagram(qc, frame + off, len + (headroom - off));
	switch (rv) {
	case 0:
		ctr->tx_pkts++;
		ctr->tx_bytes += len;
		return 0;
	case HT_QERR_TOO_BIG:
		ctr->drop[HT_DG_PATH_MTU]++;
		break;
	case HT_QERR_FULL:
	case HT_QERR_NOMEM:
		ctr->drop[HT_DG_QUEUE]++;
		break;
	default:
		ctr->drop[HT_DG_NO_SERVICE]++;
		break;
	}
	return rv;
}
