/* hatun — the concentrator's datagram mode (dgram_router.h). */
#include "tunnel/dgram_router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>

#include "core/log.h"
#include "proto/addr.h"
#include "proto/err.h"
#include "tunnel/dgsess.h"
#include "tunnel/ippkt.h"
#include "tunnel/pool.h"
#include "tunnel/status.h"
#include "tunnel/tcp.h"
#include "tunnel/tun.h"

#define MAC_SLOTS 4096 /* learned MAC addresses (TAP mode), power of 2 */
/* A learned MAC is forgotten after MAC_AGE without a frame from it (the
 * Linux bridge's default ageing time), and one client may own at most
 * MAC_PER_CLIENT: a client inventing source addresses cannot fill the
 * table and push the other clients' entries out (their frames would be
 * flooded to everyone); its own further MACs are not learned (frames to
 * them are flooded, they still reach it). */
#define MAC_AGE (300000 * HT_MS)
#define MAC_PER_CLIENT 256

struct mac_entry {
	uint8_t mac[6];
	struct ht_dgr_sess *sess; /* NULL: free slot */
	ht_time seen;             /* last frame from it */
};

/* A tunneling session's datagram state, hung on ht_session.user: the pool
 * leases (their owner is the session, not a connection, so they outlive
 * a connection and stay while the session lingers), TAP membership and
 * the dgsess (members, scheduler, Packet Tag, reorder buffer).  Freed
 * when the session expires. */
struct ht_dgr_sess {
	struct ht_dgrouter *r;
	struct ht_session *sess;
	struct ht_dgsess *ds;
	struct ht_dgr_sess *prev, *next; /* the router's list */
	uint8_t naddr;
	uint8_t addr[2][16]; /* leased: IPv4 (mapped) and/or IPv6 */
	bool tap_ok;         /* TAP mode: configured, frames flow */
	unsigned nmacs;      /* TAP mode: MAC table entries it owns */
	bool mac_limit_logged;
	struct ht_timer t_reorder; /* at the reorder buffer's deadline */
	ht_time armed;             /* its deadline; HT_TIME_NEVER: not armed */
};

struct ht_dgrouter {
	struct ht_loop *loop;
	struct mac_entry *macs; /* TAP mode: source MAC -> session (learned) */
	struct ht_dgr_sess **taps; /* TAP mode: the configured sessions, for flooding */
	size_t ntaps, cap_taps;
	struct ht_dgrouter_config cfg;
	struct ht_tundev dev;
	bool have_dev, nat_installed;
	struct ht_pool *pool4, *pool6;
	uint8_t gw4[16], gw6[16];
	struct ht_dg_counters ctr; /* device-side drops not tied to a client */
	struct ht_session_table sessions; /* issue 5: docs/protocol/sessions.md */
	struct ht_dgr_sess *dsess;        /* every session's datagram state */
	struct ht_timer t_expire;         /* the next lingering session's end */
	uint8_t scratch[HT_TUN_HEADROOM + 65536];
};

/* ---- NAT (--nat) ------------------------------------------------------------ */

/* One nftables table per device, so two concentrators do not collide and
 * removing it removes exactly what we added. */
static int nft_run(const char *script)
{
	FILE *f = popen("nft -f -", "w");
	int st;

	if (f == NULL)
		return -1;
	fputs(script, f);
	st = pclose(f);
	return st == 0 ? 0 : -1;
}

static int nat_install(struct ht_dgrouter *r, char *err, size_t errlen)
{
	char s[1024], p[64];
	size_t n;
	int len;

	n = (size_t)snprintf(s, sizeof(s),
			     "table inet hatun_%s {\n"
			     " chain post { type nat hook postrouting priority srcnat; policy accept;\n",
			     r->dev.name);
	for (int v = 4; v <= 6; v += 2) {
		struct ht_pool *pl = v == 4 ? r->pool4 : r->pool6;
		uint8_t a[16];

		if (pl == NULL)
			continue;
		ht_pool_prefix(pl, a);
		ht_addr16_ntop(a, p, sizeof(p));
		len = snprintf(s + n, sizeof(s) - n,
			       "  %s saddr %s/%u oifname != \"%s\" masquerade\n", v == 4 ? "ip" : "ip6",
			       p, ht_pool_plen(pl), r->dev.name);
		if (len < 0 || (size_t)len >= sizeof(s) - n)
			return -1;
		n += (size_t)len;
	}
	len = snprintf(s + n, sizeof(s) - n, " }\n}\n");
	if (len < 0 || (size_t)len >= sizeof(s) - n || nft_run(s) != 0) {
		snprintf(err, errlen, "--nat: nft refused the masquerade rule (is nftables installed?)");
		return -1;
	}
	r->nat_installed = true;
	/* Forwarding between the device and the uplink is what NAT is for. */
	for (int v = 4; v <= 6; v += 2) {
		FILE *f = fopen(v == 4 ? "/proc/sys/net/ipv4/ip_forward"
				       : "/proc/sys/net/ipv6/conf/all/forwarding",
				"w");

		if (f != NULL) {
			fputs("1\n", f);
			fclose(f);
		}
	}
	ht_log(HT_LOG_INFO, "dgram", "--nat: table inet hatun_%s masquerades the pools, forwarding on",
	       r->dev.name);
	return 0;
}

static void nat_remove(struct ht_dgrouter *r)
{
	char s[128];

	if (!r->nat_installed)
		return;
	snprintf(s, sizeof(s), "delete table inet hatun_%s\n", r->dev.name);
	if (nft_run(s) != 0)
		ht_log(HT_LOG_WARN, "dgram", "could not remove table inet hatun_%s", r->dev.name);
	r->nat_installed = false;
}

/* ---- device → client ------------------------------------------------------------ */

static struct ht_pool *pool_of(struct ht_dgrouter *r, const uint8_t a[16])
{
	return ht_addr16_is_v4(a) ? r->pool4 : r->pool6;
}

static void *owner_of(struct ht_dgrouter *r, const uint8_t a[16])
{
	struct ht_pool *pl = pool_of(r, a);

	return pl != NULL ? ht_pool_owner(pl, a) : NULL;
}

/* A packet over the session's tunnel MTU: ICMP from the tunnel endpoint
 * back to its sender, written to the device (the kernel routes it). */
static void answer_too_big(struct ht_dgrouter *r, struct ht_dg_counters *ctr, const uint8_t *pkt,
			   size_t len, unsigned mtu)
{
	uint8_t out[1280];
	int n = ht_ippkt_too_big(out, sizeof(out), pkt, len, mtu,
				 (pkt[0] >> 4) == 4 ? r->gw4 : r->gw6);

	ctr->drop[HT_DG_TOO_BIG]++;
	if (n > 0 && ht_tundev_write(&r->dev, out, (size_t)n) == 0)
		ctr->icmp_sent++;
}

/* Send a packet (with headroom) on the connection(s) the session's
 * scheduler picks, all copies with the same, session-wide Packet Tag.
 * A session without a connection (lingering) drops it. */
static void sess_send(struct ht_dgrouter *r, struct ht_dgr_sess *rs, uint8_t *frame, size_t head,
		      size_t len, uint16_t proto, bool clamped, struct ht_dg_counters *from_ctr)
{
	uint32_t mask = ht_dgsess_pick(rs->ds, len, ht_loop_now(r->loop));
	uint16_t tag;

	if (mask == 0) {
		from_ctr->drop[HT_DG_NO_CLIENT]++;
		return;
	}
	tag = ht_dgsess_next_tag(rs->ds);
	for (unsigned i = 0; mask != 0; i++, mask >>= 1) {
		struct ht_dgpeer *p;
		uint16_t t = tag;

		if (!(mask & 1u) || (p = ht_dgsess_member(rs->ds, i)) == NULL)
			continue;
		if (clamped)
			p->ctr.mss_clamped++;
		clamped = false;
		(void)ht_dg_send(p->qc, p->prof, &t, frame, head, len, proto, &p->ctr);
	}
}

/* An IP packet to session rs, after the MTU and MSS rules. */
static void to_session(struct ht_dgrouter *r, struct ht_dgr_sess *rs, uint8_t *frame, size_t head,
		       size_t len, struct ht_dg_counters *from_ctr)
{
	uint8_t *pkt = frame + head;
	unsigned mtu = ht_dgsess_mtu(rs->ds);
	bool clamped;

	if (mtu == 0) {
		from_ctr->drop[HT_DG_NO_CLIENT]++;
		return;
	}
	if (len > mtu) {
		answer_too_big(r, from_ctr, pkt, len, mtu);
		return;
	}
	clamped = ht_ippkt_clamp_mss(pkt, len, mtu);
	sess_send(r, rs, frame, head, len,
		  (pkt[0] >> 4) == 4 ? QT_ETHERTYPE_IPV4 : QT_ETHERTYPE_IPV6, clamped, from_ctr);
}

/* ---- TAP mode: a learning bridge between the device and the clients ------------- */

/* The table is a fixed array probed linearly from the MAC's hash, at most
 * 8 slots: a full neighbourhood overwrites its first slot (old entries are
 * relearned from the next frame; unknown destinations are flooded). */
static size_t mac_slot(const uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 6; i++)
		h = (h ^ mac[i]) * 16777619u;
	return h & (MAC_SLOTS - 1);
}

/* Slot s now belongs to p (NULL: free), owners' counts kept. */
static void mac_set(struct mac_entry *e, struct ht_dgr_sess *p, ht_time now)
{
	if (e->sess != NULL && e->sess->nmacs > 0)
		e->sess->nmacs--;
	e->sess = p;
	e->seen = now;
	if (p != NULL)
		p->nmacs++;
}

/* Slot s, unless free or aged out (then it is freed). */
static bool mac_live(struct ht_dgrouter *r, size_t s, ht_time now)
{
	if (r->macs[s].sess == NULL)
		return false;
	if (now - r->macs[s].seen < MAC_AGE)
		return true;
	mac_set(&r->macs[s], NULL, now);
	return false;
}

static struct ht_dgr_sess *mac_lookup(struct ht_dgrouter *r, const uint8_t mac[6])
{
	ht_time now = ht_loop_now(r->loop);

	for (size_t i = 0, s = mac_slot(mac); i < 8; i++, s = (s + 1) & (MAC_SLOTS - 1)) {
		if (mac_live(r, s, now) && memcmp(r->macs[s].mac, mac, 6) == 0)
			return r->macs[s].sess;
	}
	return NULL;
}

static void mac_learn(struct ht_dgrouter *r, const uint8_t mac[6], struct ht_dgr_sess *p)
{
	size_t s = mac_slot(mac), free_s = MAC_SLOTS;
	ht_time now = ht_loop_now(r->loop);

	if (mac[0] & 1)
		return; /* a multicast source is bogus: never learned */
	for (size_t i = 0; i < 8; i++, s = (s + 1) & (MAC_SLOTS - 1)) {
		if (mac_live(r, s, now) && memcmp(r->macs[s].mac, mac, 6) == 0) {
			if (r->macs[s].sess == p)
				r->macs[s].seen = now;
			else if (p->nmacs < MAC_PER_CLIENT)
				mac_set(&r->macs[s], p, now); /* moved to another client */
			return;
		}
		if (r->macs[s].sess == NULL && free_s == MAC_SLOTS)
			free_s = s;
	}
	if (p->nmacs >= MAC_PER_CLIENT) {
		if (!p->mac_limit_logged)
			ht_log(HT_LOG_WARN, "dgram", "TAP: a client reached %d MAC addresses: "
			       "its further ones are not learned (frames to them are flooded)",
			       MAC_PER_CLIENT);
		p->mac_limit_logged = true;
		return;
	}
	if (free_s == MAC_SLOTS)
		free_s = mac_slot(mac);
	memcpy(r->macs[free_s].mac, mac, 6);
	mac_set(&r->macs[free_s], p, now);
}

static void mac_forget(struct ht_dgrouter *r, const struct ht_dgr_sess *p)
{
	for (size_t i = 0; r->macs != NULL && i < MAC_SLOTS; i++)
		if (r->macs[i].sess == p)
			mac_set(&r->macs[i], NULL, 0);
}

static bool tap_add(struct ht_dgrouter *r, struct ht_dgr_sess *p)
{
	for (size_t i = 0; i < r->ntaps; i++)
		if (r->taps[i] == p)
			return true;
	if (r->ntaps == r->cap_taps) {
		size_t cap = r->cap_taps ? r->cap_taps * 2 : 16;
		struct ht_dgr_sess **n = realloc(r->taps, cap * sizeof(*n));

		if (n == NULL)
			return false;
		r->taps = n;
		r->cap_taps = cap;
	}
	r->taps[r->ntaps++] = p;
	return true;
}

static void tap_del(struct ht_dgrouter *r, struct ht_dgr_sess *p)
{
	for (size_t i = 0; i < r->ntaps; i++) {
		if (r->taps[i] == p) {
			r->taps[i] = r->taps[--r->ntaps];
			return;
		}
	}
}

/* A frame to session rs (len: the whole frame, which the tunnel MTU
 * bounds). */
static void tap_send(struct ht_dgr_sess *rs, uint8_t *frame, size_t head, size_t len,
		     struct ht_dg_counters *from_ctr)
{
	if (len > ht_dgsess_mtu(rs->ds)) {
		from_ctr->drop[ht_dgsess_mtu(rs->ds) == 0 ? HT_DG_NO_CLIENT : HT_DG_TOO_BIG]++;
		return;
	}
	sess_send(rs->r, rs, frame, head, len, QT_ETHERTYPE_TEB, false, from_ctr);
}

/* A frame from the device: to the session that owns the destination MAC,
 * else (broadcast, multicast, unknown) to every TAP session with a
 * connection.  The header is written into the headroom, so a flooded
 * frame is rebuilt per session from a copy of the headroom-less frame. */
static void on_tap_device(struct ht_dgrouter *r, uint8_t *frame, size_t head, size_t len,
			  const struct ht_dgr_sess *except)
{
	struct ht_dgr_sess *p;

	if (len < QT_ETH_HDR) {
		r->ctr.drop[HT_DG_MALFORMED]++;
		return;
	}
	p = (frame[head] & 1) ? NULL : mac_lookup(r, frame + head);
	if (p != NULL) {
		if (p != except)
			tap_send(p, frame, head, len, &r->ctr);
		return;
	}
	for (size_t i = 0; i < r->ntaps; i++) {
		if (r->taps[i] != except && ht_dgsess_members(r->taps[i]->ds) > 0)
			tap_send(r->taps[i], frame, head, len, &r->ctr);
	}
}

/* A frame of session rs, in order, out of its reorder buffer. */
static void tap_deliver(struct ht_dgr_sess *rs, const uint8_t *pkt, size_t len,
			struct ht_dg_counters *ctr)
{
	struct ht_dgrouter *r = rs->r;
	struct ht_dgr_sess *to;

	mac_learn(r, pkt + 6, rs);
	to = (pkt[0] & 1) ? NULL : mac_lookup(r, pkt);
	if (to != NULL && to != rs) {
		if (!r->cfg.allow_c2c) {
			ctr->drop[HT_DG_C2C]++;
			return;
		}
		memcpy(r->scratch + HT_TUN_HEADROOM, pkt, len);
		tap_send(to, r->scratch, HT_TUN_HEADROOM, len, ctr);
		return;
	}
	if (to == NULL && r->cfg.allow_c2c) {
		memcpy(r->scratch + HT_TUN_HEADROOM, pkt, len);
		on_tap_device(r, r->scratch, HT_TUN_HEADROOM, len, rs);
	}
	if (ht_tundev_write(&r->dev, pkt, len) != 0)
		ctr->drop[HT_DG_DEVICE]++;
}

static void on_device(struct ht_tundev *t, uint8_t *frame, size_t head, size_t len, void *arg)
{
	struct ht_dgrouter *r = arg;
	uint8_t src[16], dst[16];
	struct ht_dgr_sess *p;

	if (t->tap) {
		on_tap_device(r, frame, head, len, NULL);
		return;
	}
	if (ht_ippkt_addrs(frame + head, len, src, dst) == 0) {
		r->ctr.drop[HT_DG_MALFORMED]++;
		return;
	}
	p = owner_of(r, dst);
	if (p == NULL) {
		r->ctr.drop[HT_DG_NO_CLIENT]++;
		return;
	}
	to_session(r, p, frame, head, len, &r->ctr);
}

/* ---- client → device ------------------------------------------------------------- */

static bool is_own(const struct ht_dgr_sess *rs, const uint8_t a[16])
{
	for (unsigned i = 0; i < rs->naddr; i++)
		if (memcmp(rs->addr[i], a, 16) == 0)
			return owner_of(rs->r, a) == rs; /* and not taken over since */
	return false;
}

/* An IP packet of session rs, in order, out of its reorder buffer:
 * another client (--allow-client-to-client) or the device. */
static void ip_deliver(struct ht_dgr_sess *rs, const uint8_t *pkt, size_t len,
		       struct ht_dg_counters *ctr)
{
	struct ht_dgrouter *r = rs->r;
	uint8_t src[16], dst[16];
	struct ht_dgr_sess *to;
	unsigned mtu = ht_dgsess_mtu(rs->ds);

	if (ht_ippkt_addrs(pkt, len, src, dst) == 0) { /* checked on arrival */
		ctr->drop[HT_DG_MALFORMED]++;
		return;
	}
	to = owner_of(r, dst);
	if (to != NULL) {
		if (!r->cfg.allow_c2c) {
			ctr->drop[HT_DG_C2C]++;
			return;
		}
		memcpy(r->scratch + HT_TUN_HEADROOM, pkt, len);
		to_session(r, to, r->scratch, HT_TUN_HEADROOM, len, ctr);
		return;
	}
	/* A SYN's MSS is clamped in a copy: the datagram is read-only. */
	if (mtu > 0 && len <= sizeof(r->scratch) - HT_TUN_HEADROOM &&
	    ((pkt[0] >> 4 == 4 && pkt[9] == 6) || (pkt[0] >> 4 == 6 && pkt[6] == 6))) {
		uint8_t *c = r->scratch + HT_TUN_HEADROOM;

		memcpy(c, pkt, len);
		if (ht_ippkt_clamp_mss(c, len, mtu)) {
			ctr->mss_clamped++;
			pkt = c;
		}
	}
	if (ht_tundev_write(&r->dev, pkt, len) != 0)
		ctr->drop[HT_DG_DEVICE]++;
}

/* dgsess: a packet leaves the reorder buffer.  Its counters are those of
 * the connection it arrived on, or the device's once that one is gone. */
static void on_sess_deliver(void *arg, void *from, const uint8_t *pkt, size_t len)
{
	struct ht_dgr_sess *rs = arg;
	struct ht_dg_counters *ctr = from != NULL ? &((struct ht_dgpeer *)from)->ctr : &rs->r->ctr;

	if (rs->tap_ok)
		tap_deliver(rs, pkt, len, ctr);
	else
		ip_deliver(rs, pkt, len, ctr);
}

/* dgsess: a member's connection state, for the scheduler (cheap: no walk
 * over the streams). */
static void on_sess_path(void *arg, void *member, struct ht_dgsess_pathinfo *pi)
{
	struct ht_dgpeer *p = member;
	struct ht_qconn_pathinfo qi;

	(void)arg;
	ht_qconn_get_pathinfo(p->qc, &qi);
	pi->srtt = qi.srtt;
	pi->rttvar = qi.rttvar;
	pi->min_rtt = qi.min_rtt;
	pi->cwnd = qi.cwnd;
	pi->in_flight = qi.bytes_in_flight;
	pi->queued = qi.dgram_queued;
	pi->path_queue = qi.path_queue;
	pi->rx_count = qi.bytes_received;
}

static void on_sess_queue_slack(void *arg, void *member, ht_time slack)
{
	struct ht_dgpeer *p = member;

	(void)arg;
	ht_qconn_set_dgram_target(p->qc, HT_QDGRAM_TARGET + slack);
}

static const struct ht_dgsess_ops sess_ops = {
	.deliver = on_sess_deliver,
	.path = on_sess_path,
	.queue_slack = on_sess_queue_slack,
};

/* The reorder buffer's timer follows its deadline (re-armed only when
 * that moved: most packets leave no gap behind). */
static void rearm(struct ht_dgr_sess *rs)
{
	ht_time dl = ht_dgsess_deadline(rs->ds);

	if (dl == rs->armed)
		return;
	rs->armed = HT_TIME_NEVER;
	if (dl == HT_TIME_NEVER)
		ht_timer_cancel(rs->r->loop, &rs->t_reorder);
	else if (ht_timer_set(rs->r->loop, &rs->t_reorder, dl) == 0)
		rs->armed = dl;
}

static void on_reorder_timer(struct ht_loop *loop, struct ht_timer *t)
{
	struct ht_dgr_sess *rs = t->arg;

	rs->armed = HT_TIME_NEVER;
	ht_dgsess_tick(rs->ds, ht_loop_now(loop));
	rearm(rs);
}

void ht_dgpeer_on_datagram(struct ht_dgpeer *p, const uint8_t *data, size_t len)
{
	struct ht_dgrouter *r = p->r;
	struct ht_dgr_sess *rs = p->ds;
	uint8_t src[16], dst[16];
	struct qt_dgram d;
	int rv;

	if (rs == NULL || (rs->naddr == 0 && !rs->tap_ok) || !r->have_dev) {
		p->ctr.drop[HT_DG_NO_SERVICE]++;
		return;
	}
	rv = qt_dgram_parse(&d, p->prof, data, len);
	if (rs->tap_ok) {
		if (rv != 0 || d.proto != QT_ETHERTYPE_TEB) {
			p->ctr.drop[rv == 0 || rv == HT_ERR_UNSUPPORTED ? HT_DG_PROTO
									: HT_DG_MALFORMED]++;
			return;
		}
	} else if (rv == HT_ERR_UNSUPPORTED || (rv == 0 && d.proto == QT_ETHERTYPE_TEB)) {
		p->ctr.drop[HT_DG_PROTO]++;
		return;
	} else if (rv != 0 || ht_ippkt_addrs(d.pkt, d.pkt_len, src, dst) == 0) {
		p->ctr.drop[HT_DG_MALFORMED]++;
		return;
	} else if (!is_own(rs, src)) {
		/* quic-tunnel-01 §8.2: only the addresses we assigned. */
		p->ctr.drop[HT_DG_SPOOFED]++;
		return;
	}
	p->ctr.rx_pkts++;
	p->ctr.rx_bytes += d.pkt_len;
	/* In tag order across the session's connections (on_sess_deliver). */
	ht_dgsess_receive(rs->ds, p->slot, d.tag,
			  ht_dg_reorder_flags(d.pkt, d.pkt_len, rs->tap_ok),
			  d.pkt, d.pkt_len, ht_loop_now(r->loop));
	rearm(rs);
}

/* ---- sessions --------------------------------------------------------------------- */

static struct ht_dgr_sess *dsess_new(struct ht_dgrouter *r)
{
	struct ht_dgr_sess *rs = calloc(1, sizeof(*rs));

	if (rs == NULL)
		return NULL;
	rs->ds = ht_dgsess_new(&sess_ops, rs);
	if (rs->ds == NULL) {
		free(rs);
		return NULL;
	}
	rs->r = r;
	rs->armed = HT_TIME_NEVER;
	ht_timer_init(&rs->t_reorder, on_reorder_timer, rs);
	rs->next = r->dsess;
	if (r->dsess != NULL)
		r->dsess->prev = rs;
	r->dsess = rs;
	return rs;
}

/* The session ended (expired, or the router goes): its leases return to
 * the pools (reserved for the fingerprint), held packets are dropped. */
static void dsess_free(struct ht_dgr_sess *rs)
{
	struct ht_dgrouter *r = rs->r;

	for (unsigned i = 0; i < rs->naddr; i++) {
		struct ht_pool *pl = pool_of(r, rs->addr[i]);

		if (pl != NULL)
			ht_pool_release(pl, rs->addr[i], rs);
	}
	if (rs->tap_ok) {
		mac_forget(r, rs);
		tap_del(r, rs);
	}
	ht_timer_cancel(r->loop, &rs->t_reorder);
	ht_dgsess_free(rs->ds);
	if (rs->sess != NULL)
		rs->sess->user = NULL;
	if (rs->prev != NULL)
		rs->prev->next = rs->next;
	else
		r->dsess = rs->next;
	if (rs->next != NULL)
		rs->next->prev = rs->prev;
	free(rs);
}

static void session_gone(struct ht_session *s, void *arg)
{
	(void)arg;
	if (s->user != NULL) {
		ht_log(HT_LOG_INFO, "session", "session #%llu expired",
		       (unsigned long long)s->serial);
		dsess_free(s->user);
	}
}

static void arm_expiry(struct ht_dgrouter *r)
{
	ht_time next = ht_session_next_expiry(&r->sessions);

	if (next == HT_TIME_NEVER)
		ht_timer_cancel(r->loop, &r->t_expire);
	else
		(void)ht_timer_set(r->loop, &r->t_expire, next);
}

static void on_expire_timer(struct ht_loop *loop, struct ht_timer *t)
{
	struct ht_dgrouter *r = t->arg;

	(void)ht_session_expire(&r->sessions, ht_loop_now(loop), session_gone, r);
	arm_expiry(r);
}

/* The connection's tunnel MTU: what one DATAGRAM frame carries, at most
 * the MTU all connections aim at. */
static unsigned peer_mtu(const struct ht_dgpeer *p)
{
	unsigned m = ht_dg_tunnel_mtu(p->qc, p->prof);

	return m > p->r->cfg.mtu ? p->r->cfg.mtu : m;
}

/* p becomes a member (a path) of session rs.  0, or -1 when it is full. */
static int member_join(struct ht_dgpeer *p, struct ht_dgr_sess *rs)
{
	int slot;

	p->mtu = peer_mtu(p);
	slot = ht_dgsess_join(rs->ds, p, p->mtu, ht_loop_now(p->r->loop));
	if (slot < 0)
		return -1;
	p->ds = rs;
	p->slot = slot;
	return 0;
}

/* ---- the control streams ----------------------------------------------------------- */

/* New Session: a fresh 128-bit ID from the kernel's CSPRNG, owned by the
 * client's certificate. */
static uint64_t session_create(struct ht_dgpeer *p, uint8_t *id, size_t *id_len)
{
	struct ht_session_table *t = &p->r->sessions;
	ht_time now = ht_loop_now(p->r->loop);
	uint8_t rnd[HT_SESSION_ID_LEN];
	enum ht_session_result res = HT_SESSION_COLLISION;
	struct ht_dgr_sess *rs = dsess_new(p->r);

	for (int tries = 0; rs != NULL && tries < 4 && res == HT_SESSION_COLLISION; tries++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			break;
		res = ht_session_create(t, rnd, p->fp, now, &p->sess);
		if (res == HT_SESSION_FULL &&
		    ht_session_expire(t, now, session_gone, p->r) > 0)
			res = ht_session_create(t, rnd, p->fp, now, &p->sess);
	}
	if (res != HT_SESSION_OK) {
		ht_log(HT_LOG_WARN, "session", "New Session refused: %s",
		       res == HT_SESSION_FULL ? "session table full" : "internal error");
		if (rs != NULL)
			dsess_free(rs);
		p->sess = NULL;
		return QT_CTRL_UNKNOWN_ERROR;
	}
	p->sess->user = rs;
	rs->sess = p->sess;
	ht_dgsess_set_id(rs->ds, p->sess->serial);
	(void)member_join(p, rs); /* the first of 8: cannot be full */
	memcpy(id, rnd, sizeof(rnd));
	*id_len = sizeof(rnd);
	ht_log(HT_LOG_INFO, "session", "session #%llu created", (unsigned long long)p->sess->serial);
	return 0;
}

/* A Join to a full session: the connection heard from least recently is
 * closed to make room, if it has been silent for EVICT_SILENCE (a client
 * path keeps its connection alive with a PING after 1 s of idleness).  A
 * connection whose access link died could not get its CONNECTION_CLOSE
 * through; without this a client whose links flap would be locked out of
 * its own session until those time out.  0 if one was closed. */
#define EVICT_SILENCE (2 * HT_SECONDS)
static int evict_stalest(struct ht_dgr_sess *rs)
{
	struct ht_dgpeer *victim = NULL;
	ht_time oldest = HT_TIME_NEVER, now = ht_now();

	for (unsigned i = 0; i < HT_DGSESS_MEMBERS; i++) {
		struct ht_dgpeer *m = ht_dgsess_member(rs->ds, i);
		struct ht_qconn_pathinfo pi;

		if (m == NULL)
			continue;
		ht_qconn_get_pathinfo(m->qc, &pi);
		if (victim == NULL || pi.last_rx < oldest) {
			oldest = pi.last_rx;
			victim = m;
		}
	}
	if (victim == NULL || (oldest != 0 && now < oldest + EVICT_SILENCE))
		return -1;
	ht_log(HT_LOG_INFO, "session",
	       "session #%llu is full: its connection on path %d, silent for %.1f s, closed "
	       "for the new one",
	       (unsigned long long)rs->sess->serial, victim->slot,
	       oldest != 0 ? (double)(now - oldest) / 1e9 : 0.0);
	ht_dgpeer_release(victim);
	ht_qconn_close(victim->qc, 0);
	return 0;
}

/* Join Session: only the identity that created the session may join it,
 * and a stranger learns nothing (the same answer as an unknown ID). */
static uint64_t session_join(struct ht_dgpeer *p, const struct qt_ctrl_tlv *t)
{
	struct ht_session_table *tab = &p->r->sessions;
	struct ht_session *s = NULL;
	const struct ht_session *o;
	char who[HT_FP_STRLEN + 1], owner[HT_FP_STRLEN + 1] = "?";
	ht_time now = ht_loop_now(p->r->loop);
	enum ht_session_result res;

	res = ht_session_join(tab, t->id, t->id_len, p->fp, now, &s);
	if (res == HT_SESSION_FULL) { /* the owner is checked before the room */
		o = ht_session_lookup(tab, t->id, t->id_len, now);
		if (o != NULL && o->user != NULL && evict_stalest(o->user) == 0)
			res = ht_session_join(tab, t->id, t->id_len, p->fp, now, &s);
	}
	switch (res) {
	case HT_SESSION_OK:
		if (s->user == NULL || member_join(p, s->user) != 0) {
			ht_session_leave(tab, s, now);
			ht_log(HT_LOG_WARN, "session", "Join Session refused: session #%llu has no room",
			       (unsigned long long)s->serial);
			return QT_CTRL_CONFLICTING_STATE;
		}
		p->sess = s;
		ht_log(HT_LOG_INFO, "session", "session #%llu joined: %u connections",
		       (unsigned long long)s->serial, s->conns);
		return 0;
	case HT_SESSION_NOT_OWNER:
		o = ht_session_lookup(tab, t->id, t->id_len, now);
		if (o != NULL)
			ht_fingerprint_format(o->owner, owner);
		ht_fingerprint_format(p->fp, who);
		ht_log(HT_LOG_WARN, "session",
		       "Join Session refused: session #%llu belongs to %s, not to %s",
		       (unsigned long long)(o != NULL ? o->serial : 0), owner, who);
		return QT_CTRL_UNKNOWN_SESSION_ID;
	case HT_SESSION_FULL:
		ht_log(HT_LOG_WARN, "session",
		       "Join Session refused: the session has %u connections, all heard from "
		       "within %.0f s",
		       HT_SESSION_CONNS_MAX, (double)EVICT_SILENCE / 1e9);
		return QT_CTRL_CONFLICTING_STATE;
	case HT_SESSION_UNKNOWN:
	default:
		ht_log(HT_LOG_INFO, "session",
		       "Join Session refused: unknown or expired session ID (%zu bytes)", t->id_len);
		return QT_CTRL_UNKNOWN_SESSION_ID;
	}
}

static uint64_t on_negotiate(struct ht_ctrl *k, void *user, const struct qt_ctrl_tlv *t,
			     uint8_t *id, size_t *id_len)
{
	struct ht_dgpeer *p = user;

	(void)k;
	if (t->type == QT_CTRL_JOIN_SESSION)
		return session_join(p, t);
	return session_create(p, id, id_len);
}

static void addr_str(const uint8_t a[16], char *s, size_t n)
{
	ht_addr16_ntop(a, s, n);
}

/* The session's address of IP version v (0: 4, 1: 6), leased for it
 * (again, if another session of the same identity took it over) unless
 * it holds one.  Returns its index in rs->addr, or -1. */
static int sess_lease(struct ht_dgr_sess *rs, int v, const uint8_t fp[HT_FP_LEN])
{
	struct ht_dgrouter *r = rs->r;
	struct ht_pool *pl = v ? r->pool6 : r->pool4;
	char fps[HT_FP_STRLEN + 1];
	uint8_t got[16];
	int i;

	if (pl == NULL)
		return -1;
	for (i = 0; i < rs->naddr; i++)
		if (ht_addr16_is_v4(rs->addr[i]) == !v)
			break;
	if (i < rs->naddr && owner_of(r, rs->addr[i]) == rs)
		return i;
	if (ht_pool_lease(pl, fp, rs, got) != 0) {
		ht_fingerprint_format(fp, fps);
		ht_log(HT_LOG_WARN, "dgram", "client %s: IPv%d pool exhausted", fps, v ? 6 : 4);
		return -1;
	}
	if (i == rs->naddr)
		rs->naddr++;
	memcpy(rs->addr[i], got, 16);
	return i;
}

/* An Address Request, on the session's first connection or any other:
 * every connection of a session gets the session's configuration (the
 * same addresses; its MTU is the smallest of its connections'). */
/* The client's Path Preference for this connection (sessions.md): the
 * session's downstream scheduling follows it. */
static void on_path_pref(struct ht_ctrl *k, void *user, const struct qt_ext_path_pref *pref)
{
	static const enum ht_sched_policy policy[] = {
	    [QT_EXT_SCHED_MIN_RTT] = HT_SCHED_MIN_RTT,
	    [QT_EXT_SCHED_WEIGHTED] = HT_SCHED_WEIGHTED,
	    [QT_EXT_SCHED_REDUNDANT] = HT_SCHED_REDUNDANT,
	    [QT_EXT_SCHED_BACKUP_ONLY] = HT_SCHED_BACKUP_ONLY,
	};
	struct ht_dgpeer *p = user;

	(void)k;
	if (p->ds == NULL) /* not in a session (qt-00 profile, refused): nothing to steer */
		return;
	ht_dgsess_set_pref(p->ds->ds, p->slot, policy[pref->scheduler], pref->backup, pref->weight);
	ht_log(HT_LOG_INFO, "session", "session #%llu: path %d prefers %s%s, weight %u",
	       (unsigned long long)(p->sess != NULL ? p->sess->serial : 0), p->slot,
	       ht_sched_policy_name(policy[pref->scheduler]), pref->backup ? ", backup" : "",
	       pref->weight);
}

static void on_request(struct ht_ctrl *k, void *user, const struct qt_ext_request *req)
{
	struct ht_dgpeer *p = user;
	struct ht_dgrouter *r = p->r;
	struct ht_dgr_sess *rs = p->ds;
	struct qt_ext_config cfg;
	bool want[2] = {false, false};
	char a[64], fp[HT_FP_STRLEN + 1];
	unsigned mtu;
	int rv;

	memset(&cfg, 0, sizeof(cfg));
	for (unsigned i = 0; i < req->n; i++)
		want[req->want[i].version == 6] = true;
	ht_fingerprint_format(p->fp, fp);
	p->mtu = peer_mtu(p);
	mtu = p->mtu;
	if (rs != NULL) {
		ht_dgsess_set_mtu(rs->ds, p->slot, p->mtu);
		if (ht_dgsess_mtu(rs->ds) > 0)
			mtu = ht_dgsess_mtu(rs->ds);
	}
	if (want[1] && mtu < QT_EXT_MTU_MIN_V6 && rs != NULL && r->pool6 != NULL && !r->cfg.tap) {
		/* IPv6 needs 1280: without it only IPv4 is served. */
		ht_log(HT_LOG_WARN, "dgram", "client %s: tunnel MTU %u < 1280, no IPv6 for it", fp,
		       mtu);
		want[1] = false;
	}
	for (int v = 0; v < 2 && rs != NULL && r->have_dev && !r->cfg.tap; v++) {
		struct ht_pool *pl = v ? r->pool6 : r->pool4;
		int i;

		if (!want[v] || (i = sess_lease(rs, v, p->fp)) < 0)
			continue;
		cfg.addr[cfg.naddr].version = v ? 6 : 4;
		cfg.addr[cfg.naddr].len = v ? 128 : 32;
		memcpy(cfg.addr[cfg.naddr++].addr, rs->addr[i], 16);
		/* The pool is the route: the gateway and (if allowed) the others. */
		cfg.route[cfg.nroute].version = v ? 6 : 4;
		cfg.route[cfg.nroute].len = ht_pool_plen(pl);
		ht_pool_prefix(pl, cfg.route[cfg.nroute++].addr);
	}
	for (size_t i = 0; i < r->cfg.ndns; i++) {
		bool v4 = ht_addr16_is_v4(r->cfg.dns[i]);

		for (unsigned j = 0; j < cfg.naddr; j++) {
			if ((cfg.addr[j].version == 4) == v4) {
				cfg.dns[cfg.ndns].version = v4 ? 4 : 6;
				cfg.dns[cfg.ndns].len = v4 ? 32 : 128;
				memcpy(cfg.dns[cfg.ndns++].addr, r->cfg.dns[i], 16);
				break;
			}
		}
	}
	if (r->have_dev && r->cfg.tap && rs != NULL) {
		/* TAP: no addresses; the MTU is the frame's payload size. */
		memset(&cfg, 0, sizeof(cfg));
		mtu -= QT_ETH_HDR;
		rs->tap_ok = tap_add(r, rs);
	}
	cfg.mtu = (uint16_t)mtu;
	rv = ht_ctrl_send_config(k, &cfg);
	if (rv != 0) {
		ht_log(HT_LOG_WARN, "dgram", "client %s: cannot send its configuration: %s", fp,
		       rv <= -1000 ? ht_qerr_str(rv) : ht_strerror(rv));
		ht_qconn_close(p->qc, 0);
		return;
	}
	for (unsigned j = 0; j < cfg.naddr; j++) {
		addr_str(cfg.addr[j].addr, a, sizeof(a));
		ht_log(HT_LOG_INFO, "dgram", "client %s: address %s, mtu %u", fp, a, mtu);
	}
	if (rs != NULL && rs->tap_ok)
		ht_log(HT_LOG_INFO, "dgram", "client %s: bridged to %s, mtu %u", fp, r->dev.name,
		       mtu);
	else if (cfg.naddr == 0)
		ht_log(HT_LOG_INFO, "dgram", "client %s: configuration without addresses (%s)", fp,
		       r->have_dev ? "none requested or free" : "no --tun");
}

static void on_failed(struct ht_ctrl *k, void *user, int err, const char *what)
{
	struct ht_dgpeer *p = user;

	(void)k;
	ht_log(HT_LOG_WARN, "dgram", "control stream: %s (%s); closing the connection", what,
	       err <= -1000 ? ht_qerr_str(err) : ht_strerror(err));
	ht_dgpeer_release(p);
	ht_qconn_close(p->qc, 0);
}

static const struct ht_ctrl_ops router_ctrl_ops = {
	.negotiate = on_negotiate,
	.request = on_request,
	.path_pref = on_path_pref,
	.failed = on_failed,
};

void ht_dgpeer_init(struct ht_dgpeer *p, struct ht_dgrouter *r, struct ht_qconn *qc,
		    const uint8_t fp[HT_FP_LEN])
{
	const char *alpn = ht_qconn_alpn(qc);
	int prof = qt_dgram_profile_from_alpn((const uint8_t *)alpn, strlen(alpn));

	memset(p, 0, sizeof(*p));
	p->r = r;
	p->qc = qc;
	memcpy(p->fp, fp, HT_FP_LEN);
	p->prof = prof >= 0 ? (enum qt_dgram_profile)prof : QT_DGRAM_TAGGED;
	p->mtu = r->cfg.mtu;
	p->slot = -1;
	ht_ctrl_init(&p->ctrl, qc, QT_CTRL_CONCENTRATOR, &router_ctrl_ops, p);
	p->ctrl_ready = true;
}

void ht_dgpeer_release(struct ht_dgpeer *p)
{
	ht_time now = ht_loop_now(p->r->loop);

	if (p->sess == NULL)
		return;
	if (p->ds != NULL)
		ht_dgsess_leave(p->ds->ds, p->slot, now);
	ht_session_leave(&p->r->sessions, p->sess, now);
	if (p->sess->conns == 0) {
		ht_log(HT_LOG_DEBUG, "session", "session #%llu has no connection left",
		       (unsigned long long)p->sess->serial);
		arm_expiry(p->r);
	}
	p->sess = NULL;
	p->ds = NULL;
	p->slot = -1;
}

void ht_dgpeer_status(const struct ht_dgpeer *p, struct ht_status_conn *c)
{
	const struct ht_dgr_sess *rs = p->ds;
	size_t n = 0;

	c->dgram = true;
	c->dg = p->ctr;
	c->dg.drop[HT_DG_SOJOURN] = c->st.dgram_codel_drops; /* the QUIC layer's */
	c->addrs[0] = '\0';
	for (unsigned i = 0; rs != NULL && i < rs->naddr && n < sizeof(c->addrs); i++) {
		char a[64];
		int w;

		if (owner_of(p->r, rs->addr[i]) != rs)
			continue; /* taken over by a newer session */
		addr_str(rs->addr[i], a, sizeof(a));
		w = snprintf(c->addrs + n, sizeof(c->addrs) - n, "%s%s", n ? " " : "", a);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

void ht_dgpeer_session_status(const struct ht_dgpeer *p, struct ht_status_conn *c)
{
	memset(&c->sess, 0, sizeof(c->sess));
	if (p->sess == NULL || p->ds == NULL)
		return;
	ht_dgsess_status(p->ds->ds, p->slot, &c->sess);
	c->sess.id = p->sess->serial;
	c->sess.conns = p->sess->conns;
	c->sess.reorder = p->r->have_dev;
}

const char *ht_dgrouter_tun(const struct ht_dgrouter *r)
{
	return r->have_dev ? r->dev.name : "";
}

void ht_dgrouter_counters(const struct ht_dgrouter *r, struct ht_dg_counters *c)
{
	*c = r->ctr;
	c->drop[HT_DG_DEVICE] += r->dev.write_drops;
	c->drop[HT_DG_MALFORMED] += r->dev.split_errors;
}

/* ---- set-up ----------------------------------------------------------------------- */

/* ICMP errors from the tunnel endpoint carry the device's own (gateway)
 * address as source and enter the kernel through the device: IPv4 drops
 * such "martians" unless accept_local is on for the device. */
static void set_accept_local(struct ht_dgrouter *r)
{
	char path[96];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/accept_local", r->dev.name);
	f = fopen(path, "w");
	if (f == NULL || fputs("1\n", f) < 0)
		ht_log(HT_LOG_WARN, "dgram", "%s: %s (ICMP from the tunnel endpoint will be dropped)",
		       path, strerror(errno));
	if (f != NULL)
		fclose(f);
}

int ht_dgrouter_new(struct ht_dgrouter **out, struct ht_loop *loop,
		    const struct ht_dgrouter_config *cfg, char *err, size_t errlen)
{
	struct ht_dgrouter *r = calloc(1, sizeof(*r));
	char a[64];
	const char *env;
	ht_time linger;
	int rv;

	*out = NULL;
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->loop = loop;
	r->cfg = *cfg;
	r->dev.fd = -1;
	ht_timer_init(&r->t_expire, on_expire_timer, r);
	linger = cfg->session_linger ? cfg->session_linger : 30 * HT_SECONDS;
	/* Tests: a session's end without waiting 30 s. */
	if (cfg->session_linger == 0 && (env = getenv("HATUN_SESSION_LINGER_MS")) != NULL &&
	    atoi(env) > 0)
		linger = (ht_time)atoi(env) * HT_MS;
	if (ht_session_table_init(&r->sessions, cfg->max_sessions ? cfg->max_sessions : 4096,
				  linger) != HT_OK) {
		snprintf(err, errlen, "session table: out of memory");
		free(r);
		return -1;
	}
	if (cfg->tun == NULL) {
		*out = r;
		return 0;
	}
	if (cfg->tap) {
		if ((r->macs = calloc(MAC_SLOTS, sizeof(*r->macs))) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (ht_tundev_open(&r->dev, loop, cfg->tun, true, cfg->mtu - QT_ETH_HDR, on_device, r,
				   err, errlen) != 0)
			goto fail;
		r->have_dev = true;
		*out = r;
		return 0;
	}
	for (size_t i = 0; i < cfg->npool; i++) {
		struct ht_pool **pl = cfg->pool[i].version == 4 ? &r->pool4 : &r->pool6;

		if (*pl != NULL) {
			snprintf(err, errlen, "--pool: one pool per IP version");
			goto fail;
		}
		*pl = ht_pool_new(cfg->pool[i].version, cfg->pool[i].prefix, cfg->pool[i].plen);
		if (*pl == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		ht_pool_gateway(*pl, cfg->pool[i].version == 4 ? r->gw4 : r->gw6);
	}
	if (r->pool4 == NULL && r->pool6 == NULL) {
		snprintf(err, errlen, "--tun needs --pool 4:CIDR and/or --pool 6:CIDR");
		goto fail;
	}
	if (cfg->mtu < QT_EXT_MTU_MIN_V4) {
		snprintf(err, errlen, "tunnel MTU %u below 576", cfg->mtu);
		goto fail;
	}
	if (ht_tundev_open(&r->dev, loop, cfg->tun, false, cfg->mtu, on_device, r, err, errlen) !=
	    0)
		goto fail;
	r->have_dev = true;
	/* The device holds the gateway address with the pool's prefix: the
	 * kernel's connected route sends the whole pool into the device. */
	for (int v = 0; v < 2; v++) {
		struct ht_pool *pl = v ? r->pool6 : r->pool4;
		uint8_t *gw = v ? r->gw6 : r->gw4;

		if (pl == NULL)
			continue;
		rv = ht_rtnl_addr_add(r->dev.ifindex, gw, ht_pool_plen(pl));
		addr_str(gw, a, sizeof(a));
		if (rv != 0) {
			snprintf(err, errlen, "cannot add %s/%u to %s: %s", a, ht_pool_plen(pl),
				 r->dev.name, strerror(-rv));
			goto fail;
		}
		ht_log(HT_LOG_INFO, "dgram", "%s: %s/%u, clients from that pool", r->dev.name, a,
		       ht_pool_plen(pl));
	}
	set_accept_local(r);
	if (cfg->nat && nat_install(r, err, errlen) != 0)
		goto fail;
	*out = r;
	return 0;
fail:
	ht_dgrouter_free(r);
	return -1;
}

void ht_dgrouter_free(struct ht_dgrouter *r)
{
	if (r == NULL)
		return;
	nat_remove(r);
	ht_timer_cancel(r->loop, &r->t_expire);
	while (r->dsess != NULL)
		dsess_free(r->dsess);
	if (r->have_dev)
		ht_tundev_close(&r->dev);
	ht_pool_free(r->pool4);
	ht_pool_free(r->pool6);
	ht_session_table_free(&r->sessions);
	free(r->macs);
	free(r->taps);
	free(r);
}
