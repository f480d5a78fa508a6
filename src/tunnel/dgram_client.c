/* hatun — the client's control stream and datagram mode (dgram_client.h). */
#include "tunnel/dgram_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <net/if.h>
#include <string.h>

#include "core/log.h"
#include "proto/err.h"
#include "proto/qt_ext.h"
#include "tunnel/cpaths.h"
#include "tunnel/dgram.h"
#include "tunnel/ippkt.h"
#include "tunnel/dgsess.h"
#include "tunnel/status.h"
#include "tunnel/tcp.h"
#include "tunnel/tun.h"

#define BOOT_MTU 1280 /* the device's MTU until the first configuration */

struct ht_dgclient {
	struct ht_loop *loop;
	struct ht_dgclient_config cfg;
	struct ht_tundev dev;
	bool have_dev;
	struct ht_cpaths *paths;
	unsigned nconn;  /* connections in the session */
	bool configured; /* addresses on the device, datagrams may flow */
	enum qt_dgram_profile prof;
	uint16_t tag;
	unsigned mtu;
	struct qt_ext_config applied; /* the configuration now in force */
	bool host_route;              /* --full-tunnel route to the server added */
	uint8_t server16[16], server_gw[16];
	bool server_has_gw;
	int server_ifindex;
	struct ht_dg_counters ctr;
	/* Several paths: downstream packets back in Packet Tag order. */
	/* Several paths: received packets go back into Packet Tag order
	 * through the same reorder store as the concentrator's (dgsess.h,
	 * receive side only: the client schedules with cpaths). */
	struct ht_dgsess *ro;
	struct ht_timer ro_timer;
	int ro_slot[HT_CPATHS_CONNS]; /* connection slot -> member slot, -1 */
	uint8_t ro_member[HT_CPATHS_CONNS]; /* member tokens (their addresses) */
};

/* ---- the data path ---------------------------------------------------------------- */

/* Send one packet on the connection(s) the scheduler picks; every copy
 * carries the same per-session Packet Tag (the receiver drops duplicates). */
static void send_packet(struct ht_dgclient *d, uint8_t *frame, size_t head, size_t len,
			uint16_t proto)
{
	uint32_t mask = ht_cpaths_pick_dgram(d->paths, len);
	uint16_t tag = d->tag;
	bool sent = false;

	for (unsigned i = 0; mask != 0; i++, mask >>= 1) {
		struct ht_qconn *qc = ht_cpaths_conn(d->paths, i);
		uint16_t t = tag;

		if ((mask & 1) == 0 || qc == NULL)
			continue;
		/* ht_dg_send writes the header in the headroom: the same bytes
		 * for every copy. */
		(void)ht_dg_send(qc, d->prof, &t, frame, head, len, proto, &d->ctr);
		d->tag = t;
		sent = true;
	}
	if (!sent)
		d->ctr.drop[HT_DG_NO_SERVICE]++;
}

static void on_device(struct ht_tundev *t, uint8_t *frame, size_t head, size_t len, void *arg)
{
	struct ht_dgclient *d = arg;
	uint8_t v = frame[head] >> 4;

	if (!d->configured || d->nconn == 0) {
		d->ctr.drop[HT_DG_NO_SERVICE]++;
		return;
	}
	if (t->tap) {
		if (len < QT_ETH_HDR || len > d->mtu + QT_ETH_HDR) {
			d->ctr.drop[len < QT_ETH_HDR ? HT_DG_MALFORMED : HT_DG_TOO_BIG]++;
			return;
		}
		send_packet(d, frame, head, len, QT_ETHERTYPE_TEB);
		return;
	}
	if (v != 4 && v != 6) {
		d->ctr.drop[HT_DG_MALFORMED]++;
		return;
	}
	send_packet(d, frame, head, len, v == 4 ? QT_ETHERTYPE_IPV4 : QT_ETHERTYPE_IPV6);
}

static void deliver(struct ht_dgclient *d, const uint8_t *pkt, size_t len)
{
	if (ht_tundev_write(&d->dev, pkt, len) != 0) {
		d->ctr.drop[HT_DG_DEVICE]++;
		return;
	}
	d->ctr.rx_pkts++;
	d->ctr.rx_bytes += len;
}

static void arm_reorder(struct ht_dgclient *d)
{
	ht_time next = ht_dgsess_deadline(d->ro);

	if (next == HT_TIME_NEVER)
		ht_timer_cancel(d->loop, &d->ro_timer);
	else
		(void)ht_timer_set(d->loop, &d->ro_timer, next);
}

static void on_ordered(void *arg, void *from, const uint8_t *pkt, size_t len)
{
	(void)from;
	deliver(arg, pkt, len);
}

/* Asked for the reorder buffer's delays only (the client picks with
 * cpaths): the member token is the connection's slot. */
static void on_member_path(void *arg, void *member, struct ht_dgsess_pathinfo *pi)
{
	struct ht_dgclient *d = arg;
	struct ht_qconn *qc = ht_cpaths_conn(d->paths, (unsigned)((uint8_t *)member - d->ro_member));
	struct ht_qconn_pathinfo qi;

	if (qc == NULL)
		return;
	ht_qconn_get_pathinfo(qc, &qi);
	pi->srtt = qi.srtt;
	pi->rttvar = qi.rttvar;
	pi->min_rtt = qi.min_rtt;
}

static const struct ht_dgsess_ops reorder_ops = {.deliver = on_ordered, .path = on_member_path};

static void on_reorder_timer(struct ht_loop *loop, struct ht_timer *t)
{
	struct ht_dgclient *d = t->arg;

	ht_dgsess_tick(d->ro, ht_loop_now(loop));
	arm_reorder(d);
}

void ht_dgclient_datagram(struct ht_dgclient *d, unsigned slot, const uint8_t *data, size_t len)
{
	struct qt_dgram g;
	int rv;

	if (!d->configured) {
		d->ctr.drop[HT_DG_NO_SERVICE]++;
		return;
	}
	rv = qt_dgram_parse(&g, d->prof, data, len);
	if (rv == HT_ERR_UNSUPPORTED || (rv == 0 && (g.proto == QT_ETHERTYPE_TEB) != d->cfg.tap)) {
		d->ctr.drop[HT_DG_PROTO]++;
		return;
	}
	if (rv != 0) {
		d->ctr.drop[HT_DG_MALFORMED]++;
		return;
	}
	if (d->ro == NULL || d->prof != QT_DGRAM_TAGGED || slot >= HT_CPATHS_CONNS ||
	    d->ro_slot[slot] < 0) {
		deliver(d, g.pkt, g.pkt_len);
		return;
	}
	ht_dgsess_receive(d->ro, d->ro_slot[slot], g.tag,
			  ht_dg_reorder_flags(g.pkt, g.pkt_len, d->cfg.tap), g.pkt, g.pkt_len,
			  ht_loop_now(d->loop));
	arm_reorder(d);
}

/* ---- applying a configuration -------------------------------------------------------- */

static bool have_version(const struct qt_ext_config *c, int v)
{
	for (unsigned i = 0; i < c->naddr; i++)
		if (c->addr[i].version == v)
			return true;
	return false;
}

static void route(struct ht_dgclient *d, const uint8_t *a, uint8_t plen, const char *why)
{
	char s[64];
	int rv = ht_rtnl_route_add(d->dev.ifindex, a, plen, NULL, 0);

	ht_addr16_ntop(a, s, sizeof(s));
	if (rv != 0)
		ht_log(HT_LOG_WARN, "dgram", "route %s/%u via %s (%s): %s", s, plen, d->dev.name, why,
		       strerror(-rv));
	else
		ht_log(HT_LOG_DEBUG, "dgram", "route %s/%u via %s (%s)", s, plen, d->dev.name, why);
}

/* Full tunnel: the concentrator stays reachable over the access network. */
static void add_host_route(struct ht_dgclient *d)
{
	uint8_t gw[16];
	bool has_gw = false;
	int ifindex = 0, rv;
	char s[64];

	if (d->host_route)
		return;
	rv = ht_rtnl_route_get(d->server16, &ifindex, gw, &has_gw);
	if (rv == 0 && ifindex == d->dev.ifindex)
		rv = -ELOOP; /* already through the tunnel: nothing to pin */
	if (rv == 0)
		rv = ht_rtnl_route_add(ifindex, d->server16, ht_addr16_is_v4(d->server16) ? 32 : 128,
				       has_gw ? gw : NULL, 0);
	ht_addr16_ntop(d->server16, s, sizeof(s));
	if (rv != 0) {
		ht_log(HT_LOG_WARN, "dgram", "--full-tunnel: no host route to %s: %s", s,
		       strerror(-rv));
		return;
	}
	d->host_route = true;
	d->server_ifindex = ifindex;
	d->server_has_gw = has_gw;
	memcpy(d->server_gw, gw, 16);
	ht_log(HT_LOG_INFO, "dgram", "--full-tunnel: host route to the concentrator %s kept on the access network",
	       s);
}

/* Full tunnel with several paths: each path must reach the concentrator
 * over its own link, not through the /1 routes just added (sessions.md).
 * Checked the way its socket is routed: its source address and device. */
static void check_path_routes(struct ht_dgclient *d)
{
	for (size_t i = 0; i < d->cfg.npath_spec; i++) {
		const struct ht_pathspec *p = &d->cfg.path_spec[i];
		int oif = p->dev[0] != '\0' ? (int)if_nametoindex(p->dev) : 0;
		int ifindex = 0, rv;
		uint8_t gw[16];
		bool has_gw;

		rv = ht_rtnl_route_get_from(d->server16, p->has_src ? p->src : NULL, oif, &ifindex, gw,
					    &has_gw);
		if (rv == 0 && ifindex == d->dev.ifindex)
			ht_log(HT_LOG_WARN, "dgram",
			       "--full-tunnel: path %s would reach the concentrator through %s: bind "
			       "it with dev= (and a route out of it) or add a policy rule for its src=",
			       p->name, d->dev.name);
		else if (rv != 0)
			ht_log(HT_LOG_WARN, "dgram", "--full-tunnel: path %s: no route to the concentrator: %s",
			       p->name, strerror(-rv));
	}
}

static void apply(struct ht_dgclient *d, struct ht_qconn *qc, const struct qt_ext_config *c)
{
	static const uint8_t V4_0[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};
	static const uint8_t V4_128[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 128, 0, 0, 0};
	static const uint8_t V6_0[16] = {0};
	static const uint8_t V6_8[16] = {0x80};
	unsigned mtu = c->mtu, own = ht_dg_tunnel_mtu(qc, d->prof);
	char s[64];
	int rv;

	if (own != 0 && own < mtu)
		mtu = own;
	/* Host routes added before the tunnel routes could capture them. */
	if (d->cfg.full_tunnel)
		add_host_route(d);
	rv = ht_rtnl_link_up(d->dev.ifindex, mtu);
	if (rv != 0)
		ht_log(HT_LOG_WARN, "dgram", "%s: mtu %u: %s", d->dev.name, mtu, strerror(-rv));
	d->mtu = mtu;
	d->dev.mtu = mtu;
	for (unsigned i = 0; i < c->naddr; i++) {
		rv = ht_rtnl_addr_add(d->dev.ifindex, c->addr[i].addr, c->addr[i].version == 4 ? 32 : 128);
		ht_addr16_ntop(c->addr[i].addr, s, sizeof(s));
		if (rv != 0 && rv != -EEXIST) {
			ht_log(HT_LOG_ERROR, "dgram", "%s: cannot add %s: %s", d->dev.name, s,
			       strerror(-rv));
			return;
		}
		ht_log(HT_LOG_INFO, "dgram", "%s: address %s, mtu %u", d->dev.name, s, mtu);
	}
	for (unsigned i = 0; i < c->nroute; i++) {
		const struct qt_ext_prefix *r = &c->route[i];

		if (r->len == 0 && !d->cfg.full_tunnel) {
			ht_log(HT_LOG_INFO, "dgram",
			       "the concentrator offers a full tunnel: ignored without --full-tunnel");
			continue;
		}
		if (r->len == 0)
			continue; /* the two halves below do it */
		route(d, r->addr, r->len, "announced");
	}
	for (size_t i = 0; i < d->cfg.nroute; i++) {
		bool v4 = ht_addr16_is_v4(d->cfg.route[i].addr);

		if (have_version(c, v4 ? 4 : 6))
			route(d, d->cfg.route[i].addr, d->cfg.route[i].plen, "--route");
	}
	if (d->cfg.full_tunnel && have_version(c, 4)) {
		route(d, V4_0, 1, "--full-tunnel");
		route(d, V4_128, 1, "--full-tunnel");
	}
	if (d->cfg.full_tunnel && have_version(c, 6)) {
		route(d, V6_0, 1, "--full-tunnel");
		route(d, V6_8, 1, "--full-tunnel");
	}
	if (d->cfg.full_tunnel && d->cfg.npath_spec > 1)
		check_path_routes(d);
	for (unsigned i = 0; i < c->ndns; i++) {
		ht_addr16_ntop(c->dns[i].addr, s, sizeof(s));
		ht_log(HT_LOG_INFO, "dgram", "DNS server through the tunnel: %s", s);
	}
	d->applied = *c;
	d->configured = c->naddr > 0;
}

/* ---- the session's connections (cpaths.h) ----------------------------------------------- */

static bool same_config(const struct qt_ext_config *a, const struct qt_ext_config *b)
{
	if (a->mtu != b->mtu || a->naddr != b->naddr || a->nroute != b->nroute || a->ndns != b->ndns)
		return false;
	for (unsigned i = 0; i < a->naddr; i++)
		if (a->addr[i].version != b->addr[i].version || a->addr[i].len != b->addr[i].len ||
		    memcmp(a->addr[i].addr, b->addr[i].addr, 16) != 0)
			return false;
	for (unsigned i = 0; i < a->nroute; i++)
		if (a->route[i].version != b->route[i].version || a->route[i].len != b->route[i].len ||
		    memcmp(a->route[i].addr, b->route[i].addr, 16) != 0)
			return false;
	for (unsigned i = 0; i < a->ndns; i++)
		if (memcmp(a->dns[i].addr, b->dns[i].addr, 16) != 0)
			return false;
	return true;
}

void ht_dgclient_config(struct ht_dgclient *d, struct ht_qconn *qc, const struct qt_ext_config *c)
{
	if (!d->have_dev)
		return;
	/* Every path of a session asks, and gets the session's configuration:
	 * apply it once. */
	if (d->configured && same_config(&d->applied, c))
		return;
	if (d->cfg.tap) {
		/* TAP: no addresses (the bridge behind the device has them). */
		unsigned mtu = c->mtu;
		int rv = ht_rtnl_link_up(d->dev.ifindex, mtu);

		if (rv != 0)
			ht_log(HT_LOG_WARN, "dgram", "%s: mtu %u: %s", d->dev.name, mtu, strerror(-rv));
		d->mtu = mtu;
		d->applied = *c;
		d->configured = true;
		ht_log(HT_LOG_INFO, "dgram", "%s: bridged through the tunnel, mtu %u", d->dev.name, mtu);
		return;
	}
	if (c->naddr == 0) {
		ht_log(HT_LOG_WARN, "dgram",
		       "the concentrator assigned no address (no --tun there?): stream mode only");
		d->configured = false;
		return;
	}
	apply(d, qc, c);
}

bool ht_dgclient_address_request(const struct ht_dgclient *d, struct qt_ext_request *req)
{
	memset(req, 0, sizeof(*req));
	if (!d->have_dev)
		return false;
	if (d->cfg.tap)
		return true; /* a configuration without addresses */
	/* Any IPv4 and any IPv6 address, or the ones we had. */
	req->n = 2;
	req->want[0].version = 4;
	req->want[0].len = 32;
	req->want[0].addr[10] = req->want[0].addr[11] = 0xff;
	req->want[1].version = 6;
	req->want[1].len = 128;
	for (unsigned i = 0; i < d->applied.naddr; i++) {
		struct qt_ext_prefix *w = &req->want[d->applied.addr[i].version == 6];

		memcpy(w->addr, d->applied.addr[i].addr, 16);
	}
	return true;
}

void ht_dgclient_conn_in(struct ht_dgclient *d, unsigned slot, struct ht_qconn *qc)
{
	const char *alpn = ht_qconn_alpn(qc);
	int prof = qt_dgram_profile_from_alpn((const uint8_t *)alpn, strlen(alpn));

	d->prof = prof >= 0 ? (enum qt_dgram_profile)prof : QT_DGRAM_TAGGED;
	d->nconn++;
	if (d->have_dev && strcmp(alpn, "qt") != 0)
		ht_log(HT_LOG_ERROR, "dgram",
		       "--%s needs ALPN qt (address assignment); the concentrator chose %s",
		       d->cfg.tap ? "tap" : "tun", alpn);
	if (d->ro != NULL && slot < HT_CPATHS_CONNS && d->ro_slot[slot] < 0) {
		int m = ht_dgsess_join(d->ro, &d->ro_member[slot], 0, ht_loop_now(d->loop));

		d->ro_slot[slot] = m >= 0 ? m : -1; /* -1: delivered unordered */
	}
}

void ht_dgclient_conn_out(struct ht_dgclient *d, unsigned slot)
{
	if (d->nconn > 0)
		d->nconn--;
	if (d->ro != NULL && slot < HT_CPATHS_CONNS && d->ro_slot[slot] >= 0) {
		/* a gap it held back may be given up now */
		ht_dgsess_leave(d->ro, d->ro_slot[slot], ht_loop_now(d->loop));
		d->ro_slot[slot] = -1;
		arm_reorder(d);
	}
}

/* ---- set-up and status ----------------------------------------------------------------- */

int ht_dgclient_new(struct ht_dgclient **out, struct ht_loop *loop,
		    const struct ht_dgclient_config *cfg, char *err, size_t errlen)
{
	struct ht_dgclient *d = calloc(1, sizeof(*d));
	uint16_t port;

	*out = NULL;
	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->loop = loop;
	d->cfg = *cfg;
	d->dev.fd = -1;
	d->paths = cfg->paths;
	ht_timer_init(&d->ro_timer, on_reorder_timer, d);
	for (unsigned i = 0; i < HT_CPATHS_CONNS; i++)
		d->ro_slot[i] = -1;
	if (cfg->tun != NULL && cfg->paths != NULL && ht_cpaths_multi(cfg->paths)) {
		d->ro = ht_dgsess_new(&reorder_ops, d);
		if (d->ro == NULL) {
			snprintf(err, errlen, "out of memory");
			free(d);
			return -1;
		}
	}
	(void)ht_sockaddr_to16((const struct sockaddr *)&cfg->server, cfg->server_len, d->server16,
			       &port);
	if (cfg->tun != NULL) {
		if (ht_tundev_open(&d->dev, loop, cfg->tun, cfg->tap, BOOT_MTU, on_device, d, err,
				   errlen) != 0) {
			ht_dgsess_free(d->ro);
			free(d);
			return -1;
		}
		d->have_dev = true;
	}
	*out = d;
	return 0;
}

void ht_dgclient_free(struct ht_dgclient *d)
{
	if (d == NULL)
		return;
	if (d->host_route)
		(void)ht_rtnl_route_del(d->server_ifindex, d->server16,
					ht_addr16_is_v4(d->server16) ? 32 : 128,
					d->server_has_gw ? d->server_gw : NULL);
	if (d->ro != NULL) {
		ht_timer_cancel(d->loop, &d->ro_timer);
		ht_dgsess_free(d->ro);
	}
	if (d->have_dev)
		ht_tundev_close(&d->dev);
	free(d);
}

void ht_dgclient_status(const struct ht_dgclient *d, struct ht_status *st)
{
	struct ht_status_conn *c = st->conns;
	size_t n = 0;

	if (!d->have_dev || st->nconns == 0)
		return;
	snprintf(st->tun, sizeof(st->tun), "%s", d->dev.name);
	c->dgram = true;
	c->dg = d->ctr;
	c->dg.drop[HT_DG_DEVICE] += d->dev.write_drops;
	c->dg.drop[HT_DG_MALFORMED] += d->dev.split_errors;
	c->dg.drop[HT_DG_SOJOURN] = 0; /* the QUIC layer's, on every connection */
	for (size_t i = 0; i < st->nconns; i++)
		c->dg.drop[HT_DG_SOJOURN] += st->conns[i].st.dgram_codel_drops;
	if (d->ro != NULL) /* several paths: the session's receive-side reorder figures */
		ht_dgsess_status(d->ro, -1, &c->sess);
	c->addrs[0] = '\0';
	for (unsigned i = 0; d->configured && i < d->applied.naddr; i++) {
		char a[64];
		int w;

		ht_addr16_ntop(d->applied.addr[i].addr, a, sizeof(a));
		w = snprintf(c->addrs + n, sizeof(c->addrs) - n, "%s%s", i ? " " : "", a);
		if (w < 0 || (size_t)w >= sizeof(c->addrs) - n)
			break;
		n += (size_t)w;
	}
}
