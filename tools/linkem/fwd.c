/* linkem forwarding loop.
 *
 * One thread serves both directions. Each turn: drain both receive rings
 * (copying each accepted frame once into a slab slot), send every frame whose
 * departure time has come (sendmmsg batches), then sleep until the next
 * departure or arrival. The sleep ends LK_SPIN_NS early and the rest is spun,
 * because a wake-up from ppoll can be tens of microseconds late. */
#include "fwd.h"
#include "frame.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/if_ether.h>

#define LK_SPIN_NS 50000ULL
/* Signals are only delivered inside ppoll: even when never idle, call it
 * this often. */
#define LK_SIGCHECK_NS 1000000ULL
/* Frames handled per ring per turn, so one busy direction cannot starve
 * the other direction's departures. */
#define LK_RX_BUDGET 256u

volatile sig_atomic_t lk_sig_link;
volatile sig_atomic_t lk_sig_term;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * LK_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("pause");
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

int lk_dir_init(struct lk_dir *d, const char *tag, struct lk_port *in,
		struct lk_port *out, const struct lk_params *p, uint64_t seed)
{
	/* vnet header + frame with two VLAN tags, cache-line rounded. */
	uint32_t slot = (LK_VNET_LEN + in->mtu + 14 + 8 + 63) & ~63u;
	uint32_t nbig = p->limit < 256 ? p->limit : 256;
	int rc;

	memset(d, 0, sizeof(*d));
	d->tag = tag;
	d->in = in;
	d->out = out;
	rc = lk_sched_init(&d->s, p, seed);
	if (rc)
		goto out;
	/* The queue holds at most limit slots, the send batch LK_BATCH more,
	 * and one is being filled: the slab never runs dry before the queue
	 * limit does. */
	rc = lk_slab_init(&d->slab, slot, p->limit + LK_BATCH + 1, nbig);
	if (rc)
		goto out;
	d->late = calloc(LK_LATE_BUCKETS, sizeof(*d->late));
	if (!d->late)
		rc = -ENOMEM;
out:
	if (rc)
		lk_dir_free(d);
	return rc;
}

void lk_dir_free(struct lk_dir *d)
{
	lk_sched_free(&d->s);
	lk_slab_free(&d->slab);
	free(d->late);
	d->late = NULL;
}

uint64_t lk_dir_late_pct(const struct lk_dir *d, double p)
{
	uint64_t total = 0, seen = 0, want;

	for (uint32_t i = 0; i < LK_LATE_BUCKETS; i++)
		total += d->late[i];
	if (total == 0)
		return 0;
	want = (uint64_t)(p * (double)total);
	if (want >= total)
		want = total - 1;
	for (uint32_t i = 0; i < LK_LATE_BUCKETS; i++) {
		seen += d->late[i];
		if (seen > want)
			return i;
	}
	return LK_LATE_BUCKETS;
}

/* Skips a whole frame queued by PACKET_COPY_THRESH that is being dropped. */
static void discard_copy(struct lk_port *p)
{
	uint8_t tmp[64];

	(void)recv(p->fd, tmp, sizeof(tmp), MSG_DONTWAIT | MSG_TRUNC);
}

/* Copies the frame into the slot: the vnet header, then the frame with the
 * VLAN tag put back into the bytes if the kernel had lifted it into
 * metadata. Returns the bytes stored, 0 if the frame was lost. */
static uint32_t copy_in(struct lk_dir *d, const struct tpacket2_hdr *h,
			uint8_t *dst, uint32_t cap)
{
	const uint8_t *mac = (const uint8_t *)h + h->tp_mac;
	bool vlan = h->tp_status & TP_STATUS_VLAN_VALID;
	uint32_t len, tag = vlan ? 4 : 0;
	uint8_t *f = dst + LK_VNET_LEN;

	if (h->tp_status & TP_STATUS_COPY) {
		/* The ring holds a truncated copy; the whole frame, with its
		 * own vnet header, waits on the socket queue. */
		ssize_t n = recv(d->in->fd, dst, cap - tag, MSG_DONTWAIT | MSG_TRUNC);

		if (n < (ssize_t)(LK_VNET_LEN + 14) || n > (ssize_t)(cap - tag))
			return 0;
		len = (uint32_t)n - LK_VNET_LEN;
		if (vlan)
			memmove(f + 16, f + 12, len - 12);
	} else {
		len = h->tp_len;
		memcpy(dst, mac - LK_VNET_LEN, LK_VNET_LEN);
		if (vlan) {
			memcpy(f, mac, 12);
			memcpy(f + 16, mac + 12, len - 12);
		} else {
			memcpy(f, mac, len);
		}
	}
	if (vlan) {
		struct virtio_net_hdr *vh = (struct virtio_net_hdr *)dst;
		uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ?
				h->tp_vlan_tpid : ETH_P_8021Q;

		f[12] = (uint8_t)(tpid >> 8);
		f[13] = (uint8_t)tpid;
		f[14] = (uint8_t)(h->tp_vlan_tci >> 8);
		f[15] = (uint8_t)h->tp_vlan_tci;
		/* Offsets in the vnet header count from the frame start. */
		if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			vh->csum_start = htole16(le16toh(vh->csum_start) + 4);
		if (vh->hdr_len)
			vh->hdr_len = htole16(le16toh(vh->hdr_len) + 4);
	}
	return LK_VNET_LEN + len + tag;
}

static void rx_frame(struct lk *lk, struct lk_dir *d,
		     const struct tpacket2_hdr *h, uint64_t now)
{
	const struct sockaddr_ll *sll = (const void *)((const uint8_t *)h +
		TPACKET_ALIGN(sizeof(struct tpacket2_hdr)));
	const uint8_t *mac = (const uint8_t *)h + h->tp_mac;
	const struct virtio_net_hdr *vh = (const void *)(mac - LK_VNET_LEN);
	bool copy = h->tp_status & TP_STATUS_COPY;
	uint32_t tag = (h->tp_status & TP_STATUS_VLAN_VALID) ? 4 : 0;
	uint32_t gso = 0, wire, idx;

	/* PACKET_IGNORE_OUTGOING already hides these; belt and braces. */
	if (sll->sll_pkttype == PACKET_OUTGOING)
		return;
	if (!copy && h->tp_snaplen < h->tp_len) {
		/* Too big for a ring slot and no room on the socket queue. */
		d->s.c.rx++;
		d->drop_trunc++;
		return;
	}
	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		gso = le16toh(vh->gso_size);
		d->gso_rx++;
		if (!lk->warned_gso) {
			lk->warned_gso = true;
			fprintf(stderr, "linkem: %s: GSO super-frames arrive (the "
				"sender has TSO/GSO on); forwarded intact and rated "
				"per segment, but loss and --limit apply per "
				"super-frame. For per-packet fidelity: ethtool -K "
				"<peer> tso off gso off\n", d->in->name);
		}
	}
	wire = lk_frame_wire_len(mac, h->tp_snaplen, h->tp_len, gso) + tag;
	idx = lk_slab_peek(&d->slab, LK_VNET_LEN + h->tp_len + tag);
	if (idx == UINT32_MAX) {
		/* Only big slots can run out before the queue limit. */
		d->s.c.rx++;
		d->s.c.drop_queue++;
		if (copy)
			discard_copy(d->in);
		return;
	}
	if (lk_sched_offer(&d->s, wire, now, idx) != LK_QUEUED) {
		if (copy)
			discard_copy(d->in);
		return;
	}
	lk_slab_take(&d->slab, idx);
	d->slab.len[idx] = copy_in(d, h, lk_slab_ptr(&d->slab, idx),
				   lk_slab_cap(&d->slab, idx));
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * LK_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* When the frame arrived, on CLOCK_MONOTONIC. The ring stamps each frame as
 * the tap sees it (CLOCK_REALTIME, taken in the sender's transmit path), so
 * the delay line starts from the true arrival, not from when this thread got
 * round to the ring. A stamp that is not plausibly recent (some senders leave
 * a CLOCK_MONOTONIC delivery time in the skb, which the ring passes on) is
 * ignored in favour of now. */
static uint64_t arrival(const struct tpacket2_hdr *h, uint64_t now,
			uint64_t real_minus_mono)
{
	uint64_t ts = (uint64_t)h->tp_sec * LK_NS_PER_SEC + h->tp_nsec;
	uint64_t mono;

	if (ts < real_minus_mono)
		return now;
	mono = ts - real_minus_mono;
	if (mono > now || now - mono > LK_NS_PER_SEC / 10)
		return now;
	return mono;
}

/* Returns frames handled. */
static unsigned rx_drain(struct lk *lk, struct lk_dir *d, uint64_t now)
{
	struct tpacket2_hdr *h;
	uint64_t off;
	unsigned n = 0;

	if (!lk_port_rx_peek(d->in))
		return 0;
	off = real_ns() - now;
	while (n < LK_RX_BUDGET && (h = lk_port_rx_peek(d->in))) {
		rx_frame(lk, d, h, arrival(h, now, off));
		lk_port_rx_release(d->in, h);
		n++;
	}
	return n;
}

static void late_record(struct lk_dir *d, uint64_t when, uint64_t t)
{
	uint64_t us = t > when ? (t - when) / 1000 : 0;

	if (us > d->late_max)
		d->late_max = us;
	d->late[us < LK_LATE_BUCKETS ? us : LK_LATE_BUCKETS - 1]++;
}

/* Removes the first k pending frames. */
static void pend_shift(struct lk_dir *d, uint32_t k)
{
	d->npend -= k;
	memmove(d->pend, d->pend + k, d->npend * sizeof(d->pend[0]));
	memmove(d->pend_when, d->pend_when + k, d->npend * sizeof(d->pend_when[0]));
}

static void tx_run(struct lk_dir *d, uint64_t now)
{
	struct mmsghdr msg[LK_BATCH];
	struct iovec iov[LK_BATCH];

	for (;;) {
		uint32_t c;
		uint64_t when, t;
		int r;

		while (d->npend < LK_BATCH && lk_sched_pop(&d->s, now, &c, &when)) {
			if (d->slab.len[c] == 0) {
				/* The whole copy could not be read. */
				d->drop_trunc++;
				lk_slab_put(&d->slab, c);
				continue;
			}
			d->pend[d->npend] = c;
			d->pend_when[d->npend++] = when;
		}
		if (d->npend == 0)
			return;
		memset(msg, 0, d->npend * sizeof(msg[0]));
		for (uint32_t i = 0; i < d->npend; i++) {
			iov[i].iov_base = lk_slab_ptr(&d->slab, d->pend[i]);
			iov[i].iov_len = d->slab.len[d->pend[i]];
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
		}
		/* Lateness is taken at hand-over: the send itself runs the
		 * receiving namespace's stack in this thread and would count
		 * its work as ours. */
		t = mono_ns();
		r = sendmmsg(d->out->fd, msg, d->npend, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				/* Socket buffer full: wait for POLLOUT. */
				d->blocked = errno == EAGAIN;
				return;
			}
			/* The first frame is refused (too big for the egress
			 * MTU, interface down, peer backlog full): drop it. */
			d->drop_tx++;
			lk_slab_put(&d->slab, d->pend[0]);
			pend_shift(d, 1);
			continue;
		}
		for (int i = 0; i < r; i++) {
			late_record(d, d->pend_when[i], t);
			lk_slab_put(&d->slab, d->pend[i]);
		}
		d->s.c.tx += (uint64_t)r;
		pend_shift(d, (uint32_t)r);
		d->blocked = false;
	}
}

static void set_link(struct lk *lk, bool down)
{
	lk->down = down;
	for (int i = 0; i < 2; i++) {
		struct lk_dir *d = &lk->dir[i];
		uint32_t c;

		lk_sched_set_down(&d->s, down);
		if (!down)
			continue;
		while (lk_sched_flush(&d->s, &c))
			lk_slab_put(&d->slab, c);
		for (uint32_t k = 0; k < d->npend; k++)
			lk_slab_put(&d->slab, d->pend[k]);
		d->s.c.drop_down += d->npend;
		d->npend = 0;
		d->blocked = false;
	}
	fprintf(stderr, "linkem: link %s\n", down ? "down" : "up");
}

/* Earliest time something must be sent, UINT64_MAX if nothing is queued. */
static uint64_t next_departure(const struct lk *lk)
{
	uint64_t next = UINT64_MAX, w;

	for (int i = 0; i < 2; i++) {
		const struct lk_dir *d = &lk->dir[i];

		if (d->npend && !d->blocked)
			return 0;
		if (!d->blocked && lk_sched_next(&d->s, &w) && w < next)
			next = w;
	}
	return next;
}

static bool rx_ready(struct lk *lk)
{
	return lk_port_rx_peek(&lk->port[0]) || lk_port_rx_peek(&lk->port[1]);
}

/* A socket error on a port: an interface that vanished ends linkem; others
 * (down, no buffer) are transient and only cleared. */
static int port_error(struct lk_port *p)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == ENODEV || err == ENXIO) {
		fprintf(stderr, "linkem: %s: %s\n", p->name, strerror(err));
		return -1;
	}
	return 0;
}

int lk_run(struct lk *lk, const sigset_t *wait_mask)
{
	uint64_t last_sigcheck = mono_ns();

	while (!lk_sig_term) {
		struct pollfd pfd[2];
		struct timespec ts, *tsp = NULL;
		uint64_t now, next;
		unsigned got;

		if (lk_sig_link) {
			set_link(lk, lk_sig_link == 1);
			lk_sig_link = 0;
		}
		got = rx_drain(lk, &lk->dir[0], mono_ns());
		got += rx_drain(lk, &lk->dir[1], mono_ns());
		now = mono_ns();
		tx_run(&lk->dir[0], now);
		tx_run(&lk->dir[1], now);

		next = next_departure(lk);
		now = mono_ns();
		if (got || next <= now || rx_ready(lk)) {
			if (now - last_sigcheck < LK_SIGCHECK_NS)
				continue;
			ts.tv_sec = 0;
			ts.tv_nsec = 0;
			tsp = &ts;
		} else if (next - now <= LK_SPIN_NS) {
			while (mono_ns() < next && !rx_ready(lk) && !lk_sig_term)
				cpu_relax();
			continue;
		} else if (next != UINT64_MAX) {
			uint64_t wait = next - now - LK_SPIN_NS;

			ts.tv_sec = (time_t)(wait / LK_NS_PER_SEC);
			ts.tv_nsec = (long)(wait % LK_NS_PER_SEC);
			tsp = &ts;
		}
		for (int i = 0; i < 2; i++) {
			pfd[i].fd = lk->port[i].fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		/* dir[0] sends on port[1] and dir[1] on port[0]. */
		if (lk->dir[0].blocked)
			pfd[1].events |= POLLOUT;
		if (lk->dir[1].blocked)
			pfd[0].events |= POLLOUT;
		if (ppoll(pfd, 2, tsp, wait_mask) < 0 && errno != EINTR) {
			perror("linkem: ppoll");
			return -1;
		}
		last_sigcheck = mono_ns();
		for (int i = 0; i < 2; i++) {
			if ((pfd[i].revents & POLLERR) && port_error(&lk->port[i]))
				return -1;
			if (pfd[i].revents & POLLOUT)
				lk->dir[1 - i].blocked = false;
		}
	}
	return 0;
}
