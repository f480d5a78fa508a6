/* hatun — datagram-mode data path helpers (dgram.h). */
#include "tunnel/dgram.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/log.h"
#include "proto/err.h"
#include "tunnel/ippkt.h"
#include "tunnel/reorder.h"
#include "tunnel/tun.h"

/* Packets read per readiness event: fairness with the QUIC sockets. */
#define READ_BATCH 64
/* A split super-packet: 64 KiB of payload plus, per segment, headroom and
 * IP + TCP headers (at most 60 + 60). */
#define SEG_CAP (65536 + HT_VNET_MAX_SEGS * (HT_TUN_HEADROOM + 120))
#define GRO_CAP (HT_VNET_HDR_LEN + 65535)

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

/* A read with a vnet header: a plain packet goes as it is, a GSO
 * super-packet (or one whose checksum the kernel left to us) is split into
 * datagram-sized packets, each handed on with its own headroom. */
static void read_offloaded(struct ht_tundev *t, size_t len)
{
	struct ht_vnet_seg segs[HT_VNET_MAX_SEGS];
	struct ht_vnet_hdr h;
	const uint8_t *pkt = t->buf + HT_TUN_HEADROOM;
	int k;

	(void)ht_vnet_hdr_parse(&h, t->buf + HT_TUN_HEADROOM - HT_VNET_HDR_LEN, HT_VNET_HDR_LEN);
	if (h.gso_type == HT_VNET_GSO_NONE && !(h.flags & HT_VNET_F_NEEDS_CSUM)) {
		t->fn(t, t->buf, HT_TUN_HEADROOM, len, t->arg);
		return;
	}
	/* Segments no larger than the device MTU: the tunnel carries them. */
	if (h.gso_size > 0 && h.hdr_len > 0 && h.gso_size + (size_t)h.hdr_len > t->mtu &&
	    t->mtu > h.hdr_len)
		h.gso_size = (uint16_t)(t->mtu - h.hdr_len);
	k = ht_vnet_split(&h, pkt, len, t->seg_buf, SEG_CAP, HT_TUN_HEADROOM, segs,
			  HT_VNET_MAX_SEGS);
	if (k < 0) {
		t->split_errors++;
		ht_log(HT_LOG_DEBUG, "tun", "%s: cannot split a %zu-byte super-packet (gso %u/%u): %s",
		       t->name, len, h.gso_type, h.gso_size, ht_strerror(k));
		return;
	}
	for (int i = 0; i < k; i++)
		t->fn(t, t->seg_buf + segs[i].off - HT_TUN_HEADROOM, HT_TUN_HEADROOM, segs[i].len,
		      t->arg);
}

/* One packet with an all-zero vnet header (no offload asked). */
static int write_plain(struct ht_tundev *t, const uint8_t *pkt, size_t len)
{
	static const uint8_t zero[HT_VNET_HDR_LEN];
	struct iovec iov[2] = {{(void *)zero, sizeof(zero)}, {(void *)pkt, len}};
	ssize_t n = t->vnet ? writev(t->fd, iov, 2) : write(t->fd, pkt, len);

	if (n < 0)
		return -errno;
	return (size_t)n == len + (t->vnet ? HT_VNET_HDR_LEN : 0) ? 0 : -EIO;
}

static void gro_flush(struct ht_tundev *t)
{
	size_t n = ht_gro_finish(&t->gro);

	if (n > 0 && write(t->fd, t->gro_buf, n) != (ssize_t)n)
		t->write_drops++;
}

static void on_flush(struct ht_loop *loop, struct ht_defer *d)
{
	(void)loop;
	gro_flush(d->arg);
}

static void on_readable(struct ht_loop *loop, struct ht_io *io, uint32_t ev)
{
	struct ht_tundev *t = io->arg;

	(void)loop;
	(void)ev;
	for (int i = 0; i < READ_BATCH && t->fd >= 0; i++) {
		/* With offloads the 10-byte vnet header lands just before the
		 * headroom, so the packet starts at the same place either way. */
		size_t hl = t->vnet ? HT_VNET_HDR_LEN : 0;
		ssize_t n = read(t->fd, t->buf + HT_TUN_HEADROOM - hl, HT_TUN_BUF - HT_TUN_HEADROOM + hl);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				ht_log(HT_LOG_WARN, "tun", "%s: read: %s", t->name, strerror(errno));
			return;
		}
		if ((size_t)n <= hl)
			continue;
		if (t->vnet)
			read_offloaded(t, (size_t)n - hl);
		else
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
	ht_defer_init(&t->flush, on_flush, t);
	t->vnet = !tap && getenv("HATUN_NO_TUN_OFFLOAD") == NULL;
	if ((t->buf = malloc(HT_TUN_BUF)) == NULL ||
	    (t->vnet && ((t->seg_buf = malloc(SEG_CAP)) == NULL ||
			 (t->gro_buf = malloc(GRO_CAP)) == NULL))) {
		free(t->buf);
		free(t->seg_buf);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ht_gro_init(&t->gro, t->gro_buf, GRO_CAP);
	rv = ht_tun_open(name, tap, &t->vnet, &t->fd, t->name, &t->ifindex);
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
	ht_log(HT_LOG_INFO, "tun", "%s device %s up, mtu %u%s", tap ? "TAP" : "TUN", t->name, mtu,
	       t->vnet ? ", offloads (TSO split, GRO)" : "");
	return 0;
fail:
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	free(t->buf);
	free(t->seg_buf);
	free(t->gro_buf);
	t->buf = t->seg_buf = t->gro_buf = NULL;
	return -1;
}

void ht_tundev_close(struct ht_tundev *t)
{
	if (t->fd >= 0) {
		ht_defer_cancel(t->loop, &t->flush);
		ht_io_stop(t->loop, &t->io);
		close(t->fd);
	}
	t->fd = -1;
	free(t->buf);
	free(t->seg_buf);
	free(t->gro_buf);
	t->buf = t->seg_buf = t->gro_buf = NULL;
}

int ht_tundev_write(struct ht_tundev *t, const uint8_t *pkt, size_t len)
{
	int r;

	if (!t->vnet)
		return write_plain(t, pkt, len);
	/* GRO: consecutive segments of one TCP flow become one write at the
	 * end of the loop batch; anything else flushes what is pending first,
	 * so the order of packets is kept. */
	r = ht_gro_add(&t->gro, pkt, len);
	if (r == 0) {
		gro_flush(t);
		r = ht_gro_add(&t->gro, pkt, len);
	}
	if (r == 1) {
		ht_defer_queue(t->loop, &t->flush);
		return 0;
	}
	gro_flush(t);
	return write_plain(t, pkt, len);
}

unsigned ht_dg_reorder_flags(const uint8_t *pkt, size_t len, bool ether)
{
	if (ht_ippkt_tcp_pure_ack(pkt, len, ether))
		return HT_REORDER_UNORDERED | HT_REORDER_SMALL;
	return 0;
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
	rv = ht_qconn_send_datagram_flow(qc, frame + off, len + (headroom - off),
					 ht_ippkt_flow_hash(frame + headroom, len,
							    proto == QT_ETHERTYPE_TEB));
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
