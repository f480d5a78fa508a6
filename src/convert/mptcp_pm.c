/* hatun — the kernel's MPTCP path manager over generic netlink (mptcp_pm.h). */
#include "convert/mptcp_pm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/mptcp.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "core/log.h"
#include "tunnel/cpaths.h"
#include "tunnel/tcp.h"
#include "tunnel/tun.h"

/* Answers: one small message, or a dump the kernel sizes to the receive
 * buffer it has seen (at most this).  Requests: under 100 bytes. */
#define NL_BUF 8192
#define REQ_BUF 256
#define DESC_MAX 64 /* "ADDR dev IFACE" */

struct pm_ep {
	uint8_t id;
	char desc[DESC_MAX];
};

struct ht_mptcp_pm {
	struct mnl_socket *nl;
	unsigned portid, seq;
	uint16_t fam_id;
	bool raised;
	uint32_t old_subflows, old_rcv;
	size_t nadded;
	struct pm_ep added[HT_CPATHS_MAX];
};

/* What the callbacks fill in, per request. */
struct pm_reply {
	int err;       /* errno of the kernel's NLMSG_ERROR, 0 = none */
	char ext[128]; /* its extended ack message, "" = none */
	uint16_t fam_id;
	bool have_limits;
	uint32_t subflows, rcv;
	/* GET_ADDR dump: the endpoint looked for, and what was found. */
	int af;
	uint8_t addr[16];
	bool found;
	uint8_t id;
	uint32_t flags;
};

/* ---- netlink plumbing ----------------------------------------------------------- */

static int cb_ext(const struct nlattr *a, void *data)
{
	struct pm_reply *r = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		snprintf(r->ext, sizeof(r->ext), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

/* NLMSG_ERROR: 0 is the ack; otherwise the errno, and the kernel's
 * message (extended ack) when it sent one. */
static int cb_err(const struct nlmsghdr *nlh, void *data)
{
	struct pm_reply *r = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		r->err = EBADMSG;
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	r->err = -e->error;
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) != 0) {
		if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0 && e->msg.nlmsg_len >= sizeof(e->msg))
			off += e->msg.nlmsg_len - sizeof(e->msg);
		if (mnl_nlmsg_size(off) <= nlh->nlmsg_len)
			(void)mnl_attr_parse(nlh, (unsigned)off, cb_ext, r);
	}
	errno = r->err;
	return MNL_CB_ERROR;
}

/* The end of a dump.  (With a control array libmnl runs no default
 * handler for the types the array covers: each one is said here.) */
static int cb_done(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_STOP;
}

static struct nlmsghdr *pm_msg(struct ht_mptcp_pm *pm, char *buf, uint16_t type, uint8_t cmd,
			       uint8_t version, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++pm->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

/* Sends one request, runs cb on every answer until the ack / the end of
 * the dump.  0, or -1 with r->err (and r->ext). */
static int pm_call(struct ht_mptcp_pm *pm, const struct nlmsghdr *nlh, mnl_cb_t cb,
		   struct pm_reply *r)
{
	char buf[NL_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {0};
	ssize_t n;
	int rv = MNL_CB_OK;

	ctl[NLMSG_ERROR] = cb_err;
	ctl[NLMSG_DONE] = cb_done;
	r->err = 0;
	r->ext[0] = '\0';
	if (mnl_socket_sendto(pm->nl, nlh, nlh->nlmsg_len) < 0) {
		r->err = errno;
		return -1;
	}
	while (rv > MNL_CB_STOP) {
		n = mnl_socket_recvfrom(pm->nl, buf, sizeof(buf));
		if (n < 0) {
			r->err = errno == EAGAIN ? ETIMEDOUT : errno;
			return -1;
		}
		errno = 0;
		rv = mnl_cb_run2(buf, (size_t)n, nlh->nlmsg_seq, pm->portid, cb, r, ctl,
				 NLMSG_MIN_TYPE);
	}
	if (rv == MNL_CB_ERROR) {
		if (r->err == 0)
			r->err = errno != 0 ? errno : EPROTO;
		return -1;
	}
	return 0;
}

/* "Operation not permitted (needs CAP_NET_ADMIN): kernel message" */
static void pm_why(const struct pm_reply *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", strerror(r->err),
		 r->err == EPERM ? " (needs CAP_NET_ADMIN)" : "", r->ext[0] != '\0' ? ": " : "",
		 r->ext);
}

/* ---- the requests ------------------------------------------------------------------- */

static int cb_family_attr(const struct nlattr *a, void *data)
{
	struct pm_reply *r = data;

	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID && mnl_attr_validate(a, MNL_TYPE_U16) == 0)
		r->fam_id = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int cb_family(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), cb_family_attr, data) < 0
		       ? MNL_CB_ERROR
		       : MNL_CB_OK;
}

static int resolve_family(struct ht_mptcp_pm *pm, char *err, size_t errlen)
{
	char req[REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct pm_reply r = {0};
	struct nlmsghdr *nlh = pm_msg(pm, req, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, NLM_F_ACK);
	char why[200];

	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, MPTCP_PM_NAME);
	if (pm_call(pm, nlh, cb_family, &r) == 0 && r.fam_id != 0) {
		pm->fam_id = r.fam_id;
		return 0;
	}
	if (r.err == ENOENT || r.err == 0) {
		ht_errbuf(err, errlen,
			  "mptcp: the kernel has no MPTCP path manager (generic netlink family '%s' "
			  "not found: a kernel without CONFIG_MPTCP?)",
			  MPTCP_PM_NAME);
	} else {
		pm_why(&r, why, sizeof(why));
		ht_errbuf(err, errlen, "mptcp: looking up the netlink family '%s': %s",
			  MPTCP_PM_NAME, why);
	}
	return -1;
}

static int cb_limits_attr(const struct nlattr *a, void *data)
{
	struct pm_reply *r = data;
	uint16_t t = mnl_attr_get_type(a);

	if ((t == MPTCP_PM_ATTR_SUBFLOWS || t == MPTCP_PM_ATTR_RCV_ADD_ADDRS) &&
	    mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
		*(t == MPTCP_PM_ATTR_SUBFLOWS ? &r->subflows : &r->rcv) = mnl_attr_get_u32(a);
		r->have_limits = true;
	}
	return MNL_CB_OK;
}

static int cb_limits(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), cb_limits_attr, data) < 0
		       ? MNL_CB_ERROR
		       : MNL_CB_OK;
}

static int get_limits(struct ht_mptcp_pm *pm, char *err, size_t errlen)
{
	char req[REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct pm_reply r = {0};
	struct nlmsghdr *nlh =
		pm_msg(pm, req, pm->fam_id, MPTCP_PM_CMD_GET_LIMITS, MPTCP_PM_VER, NLM_F_ACK);
	char why[200];

	if (pm_call(pm, nlh, cb_limits, &r) != 0 || !r.have_limits) {
		if (r.err == 0)
			r.err = EPROTO;
		pm_why(&r, why, sizeof(why));
		ht_errbuf(err, errlen, "mptcp: reading the limits: %s", why);
		return -1;
	}
	pm->old_subflows = r.subflows;
	pm->old_rcv = r.rcv;
	return 0;
}

static int set_limits(struct ht_mptcp_pm *pm, uint32_t subflows, uint32_t rcv, char *why,
		      size_t whylen)
{
	char req[REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct pm_reply r = {0};
	struct nlmsghdr *nlh =
		pm_msg(pm, req, pm->fam_id, MPTCP_PM_CMD_SET_LIMITS, MPTCP_PM_VER, NLM_F_ACK);

	mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_RCV_ADD_ADDRS, rcv);
	mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_SUBFLOWS, subflows);
	if (pm_call(pm, nlh, NULL, &r) != 0) {
		pm_why(&r, why, whylen);
		return -1;
	}
	return 0;
}

static int cb_addr_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t t = mnl_attr_get_type(a);

	if (t <= MPTCP_PM_ADDR_ATTR_MAX)
		tb[t] = a;
	return MNL_CB_OK;
}

static int cb_top_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **nest = data;

	if (mnl_attr_get_type(a) == MPTCP_PM_ATTR_ADDR && mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
		*nest = a;
	return MNL_CB_OK;
}

/* One endpoint of the GET_ADDR dump: is it the one looked for? */
static int cb_addr(const struct nlmsghdr *nlh, void *data)
{
	struct pm_reply *r = data;
	const struct nlattr *nest = NULL, *tb[MPTCP_PM_ADDR_ATTR_MAX + 1] = {0};
	const struct nlattr *a;
	bool v4 = r->af == AF_INET;

	if (mnl_attr_parse(nlh, sizeof(struct genlmsghdr), cb_top_attr, &nest) < 0 || nest == NULL)
		return MNL_CB_OK;
	if (mnl_attr_parse_nested(nest, cb_addr_attr, tb) < 0)
		return MNL_CB_OK;
	a = tb[v4 ? MPTCP_PM_ADDR_ATTR_ADDR4 : MPTCP_PM_ADDR_ATTR_ADDR6];
	if (a == NULL || tb[MPTCP_PM_ADDR_ATTR_ID] == NULL ||
	    mnl_attr_validate(tb[MPTCP_PM_ADDR_ATTR_ID], MNL_TYPE_U8) != 0 ||
	    mnl_attr_get_payload_len(a) != (v4 ? 4u : 16u) ||
	    memcmp(mnl_attr_get_payload(a), v4 ? r->addr + 12 : r->addr, v4 ? 4 : 16) != 0)
		return MNL_CB_OK;
	r->found = true;
	r->id = mnl_attr_get_u8(tb[MPTCP_PM_ADDR_ATTR_ID]);
	r->flags = 0;
	if (tb[MPTCP_PM_ADDR_ATTR_FLAGS] != NULL &&
	    mnl_attr_validate(tb[MPTCP_PM_ADDR_ATTR_FLAGS], MNL_TYPE_U32) == 0)
		r->flags = mnl_attr_get_u32(tb[MPTCP_PM_ADDR_ATTR_FLAGS]);
	return MNL_CB_OK;
}

/* The endpoint with this address: its id and flags (r->found). */
static int find_endpoint(struct ht_mptcp_pm *pm, struct pm_reply *r)
{
	char req[REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh =
		pm_msg(pm, req, pm->fam_id, MPTCP_PM_CMD_GET_ADDR, MPTCP_PM_VER, NLM_F_DUMP);

	r->found = false;
	return pm_call(pm, nlh, cb_addr, r);
}

static int add_endpoint(struct ht_mptcp_pm *pm, int af, const uint8_t addr[16], int ifindex,
			struct pm_reply *r)
{
	char req[REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh =
		pm_msg(pm, req, pm->fam_id, MPTCP_PM_CMD_ADD_ADDR, MPTCP_PM_VER, NLM_F_ACK);
	struct nlattr *nest = mnl_attr_nest_start(nlh, MPTCP_PM_ATTR_ADDR);

	mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_FAMILY, (uint16_t)af);
	if (af == AF_INET)
		mnl_attr_put(nlh, MPTCP_PM_ADDR_ATTR_ADDR4, 4, addr + 12);
	else
		mnl_attr_put(nlh, MPTCP_PM_ADDR_ATTR_ADDR6, 16, addr);
	if (ifindex > 0)
		mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_IF_IDX, (uint32_t)ifindex);
	mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_FLAGS, MPTCP_PM_ADDR_FLAG_SUBFLOW);
	mnl_attr_nest_end(nlh, nest);
	return pm_call(pm, nlh, NULL, r);
}

static int del_endpoint(struct ht_mptcp_pm *pm, uint8_t id, char *why, size_t whylen)
{
	char req[REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct pm_reply r = {0};
	struct nlmsghdr *nlh =
		pm_msg(pm, req, pm->fam_id, MPTCP_PM_CMD_DEL_ADDR, MPTCP_PM_VER, NLM_F_ACK);
	struct nlattr *nest = mnl_attr_nest_start(nlh, MPTCP_PM_ATTR_ADDR);

	mnl_attr_put_u8(nlh, MPTCP_PM_ADDR_ATTR_ID, id);
	mnl_attr_nest_end(nlh, nest);
	if (pm_call(pm, nlh, NULL, &r) != 0) {
		pm_why(&r, why, whylen);
		return -1;
	}
	return 0;
}

/* ---- paths to endpoints ---------------------------------------------------------- */

/* Not a global address: loopback, IPv4 link-local, IPv6 link-local. */
static bool addr_local_scope(int af, const uint8_t a[16])
{
	if (af == AF_INET)
		return a[12] == 127 || (a[12] == 169 && a[13] == 254);
	return (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || memcmp(a, &in6addr_loopback, 16) == 0;
}

/* A dev-only path: the device's first global address of family af. */
static int dev_address(const char *dev, int af, uint8_t addr[16], char *err, size_t errlen)
{
	struct ifaddrs *ifs = NULL;
	bool found = false;

	if (getifaddrs(&ifs) != 0) {
		ht_errbuf(err, errlen, "mptcp: listing the addresses of %s: %s", dev,
			  strerror(errno));
		return -1;
	}
	for (const struct ifaddrs *i = ifs; i != NULL && !found; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != af ||
		    strcmp(i->ifa_name, dev) != 0)
			continue;
		if (af == AF_INET) {
			memset(addr, 0, 10);
			addr[10] = addr[11] = 0xff;
			memcpy(addr + 12, &((const struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else {
			memcpy(addr, &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		}
		found = !addr_local_scope(af, addr);
	}
	freeifaddrs(ifs);
	if (!found)
		ht_errbuf(err, errlen, "mptcp: --path dev=%s: no global %s address on it", dev,
			  af == AF_INET ? "IPv4" : "IPv6");
	return found ? 0 : -1;
}

/* One extra path's endpoint: address family, address, device, and a
 * description for the logs ("192.0.2.18 dev wan1"). */
static int path_endpoint(const struct ht_pathspec *p, int family, int *af, uint8_t addr[16],
			 int *ifindex, char desc[DESC_MAX], char *err, size_t errlen)
{
	char a[INET6_ADDRSTRLEN];

	*ifindex = 0;
	if (p->dev[0] != '\0') {
		*ifindex = (int)if_nametoindex(p->dev);
		if (*ifindex == 0) {
			ht_errbuf(err, errlen, "mptcp: --path %s: device '%s': %s", p->name, p->dev,
				  strerror(errno));
			return -1;
		}
	}
	if (p->has_src) {
		memcpy(addr, p->src, 16);
		*af = ht_addr16_is_v4(addr) ? AF_INET : AF_INET6;
	} else {
		*af = family;
		if (dev_address(p->dev, family, addr, err, errlen) != 0)
			return -1;
	}
	ht_addr16_ntop(addr, a, sizeof(a));
	snprintf(desc, DESC_MAX, "%s%s%s", a, p->dev[0] != '\0' ? " dev " : "", p->dev);
	return 0;
}

int ht_mptcp_pm_source(const struct ht_pathspec *p, int family, struct sockaddr_storage *ss,
		       socklen_t *len, char *err, size_t errlen)
{
	uint8_t addr[16];

	*len = 0;
	if (p->has_src)
		memcpy(addr, p->src, 16);
	else if (dev_address(p->dev, family, addr, err, errlen) != 0)
		return -1;
	if ((ht_addr16_is_v4(addr) ? AF_INET : AF_INET6) == family)
		*len = ht_sockaddr_from16(ss, addr, 0);
	return 0;
}

/* Adds one endpoint (or finds it already there) and remembers those added. */
static int setup_endpoint(struct ht_mptcp_pm *pm, const struct ht_pathspec *p, int family,
			  char *err, size_t errlen)
{
	struct pm_reply r = {0};
	char desc[DESC_MAX], why[200];
	int ifindex;

	if (path_endpoint(p, family, &r.af, r.addr, &ifindex, desc, err, errlen) != 0)
		return -1;
	if (r.af != family)
		ht_log(HT_LOG_WARN, "mptcp",
		       "endpoint %s: not of the converter's address family: connections to it will not use it",
		       desc);
	if (add_endpoint(pm, r.af, r.addr, ifindex, &r) != 0) {
		if (r.err != EEXIST) {
			pm_why(&r, why, sizeof(why));
			ht_errbuf(err, errlen, "mptcp: adding endpoint %s subflow: %s", desc, why);
			return -1;
		}
		if (find_endpoint(pm, &r) != 0 || !r.found) {
			ht_log(HT_LOG_INFO, "mptcp", "endpoint %s: one exists already, kept", desc);
			return 0;
		}
		ht_log((r.flags & MPTCP_PM_ADDR_FLAG_SUBFLOW) != 0 ? HT_LOG_INFO : HT_LOG_WARN,
		       "mptcp", "endpoint %s exists already (id %u%s), kept as it is", desc, r.id,
		       (r.flags & MPTCP_PM_ADDR_FLAG_SUBFLOW) != 0 ? ", subflow"
								   : ", without 'subflow': no subflows from it");
		return 0;
	}
	/* ADD_ADDR does not answer the id the kernel chose: read it back. */
	if (find_endpoint(pm, &r) != 0 || !r.found) {
		if (r.err == 0)
			r.err = ENOENT;
		pm_why(&r, why, sizeof(why));
		ht_errbuf(err, errlen, "mptcp: endpoint %s added, but not found in the list: %s",
			  desc, why);
		return -1;
	}
	pm->added[pm->nadded].id = r.id;
	memcpy(pm->added[pm->nadded].desc, desc, DESC_MAX);
	pm->nadded++;
	ht_log(HT_LOG_INFO, "mptcp", "endpoint %s subflow added (id %u)", desc, r.id);
	return 0;
}

static int open_socket(struct ht_mptcp_pm *pm, char *err, size_t errlen)
{
	/* Never wait for ever on a kernel answer. */
	struct timeval tv = {.tv_sec = 3};
	int one = 1, fd;

	pm->nl = mnl_socket_open(NETLINK_GENERIC);
	if (pm->nl == NULL) {
		ht_errbuf(err, errlen, "mptcp: generic netlink socket: %s", strerror(errno));
		return -1;
	}
	fd = mnl_socket_get_fd(pm->nl);
	/* Extended acks: the kernel's own words on a refusal (best effort). */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    mnl_socket_bind(pm->nl, 0, MNL_SOCKET_AUTOPID) != 0) {
		ht_errbuf(err, errlen, "mptcp: generic netlink socket: %s", strerror(errno));
		return -1;
	}
	pm->portid = mnl_socket_get_portid(pm->nl);
	return 0;
}

int ht_mptcp_pm_setup(struct ht_mptcp_pm **out, const struct ht_pathspec *paths, size_t npath,
		      int family, char *err, size_t errlen)
{
	struct ht_mptcp_pm *pm = NULL;
	uint32_t want = (uint32_t)(npath > 0 ? npath - 1 : 0), sub, rcv;
	char why[200];
	int rv = -1;

	*out = NULL;
	if (npath < 2)
		return 0;
	if (npath > HT_CPATHS_MAX + 0u) {
		ht_errbuf(err, errlen, "mptcp: at most %u --path", HT_CPATHS_MAX);
		return -1;
	}
	pm = calloc(1, sizeof(*pm));
	if (pm == NULL) {
		ht_errbuf(err, errlen, "mptcp: out of memory");
		return -1;
	}
	if (open_socket(pm, err, errlen) != 0 || resolve_family(pm, err, errlen) != 0 ||
	    get_limits(pm, err, errlen) != 0)
		goto out;
	for (size_t i = 1; i < npath; i++)
		if (setup_endpoint(pm, &paths[i], family, err, errlen) != 0)
			goto out;
	sub = pm->old_subflows > want ? pm->old_subflows : want;
	rcv = pm->old_rcv > want ? pm->old_rcv : want;
	if (sub != pm->old_subflows || rcv != pm->old_rcv) {
		if (set_limits(pm, sub, rcv, why, sizeof(why)) != 0) {
			ht_errbuf(err, errlen,
				  "mptcp: raising the limits to subflows %u add_addr_accepted %u: %s",
				  sub, rcv, why);
			goto out;
		}
		pm->raised = true;
		ht_log(HT_LOG_INFO, "mptcp", "limits raised: subflows %u -> %u, add_addr_accepted %u -> %u",
		       pm->old_subflows, sub, pm->old_rcv, rcv);
	} else {
		ht_log(HT_LOG_INFO, "mptcp", "limits kept: subflows %u, add_addr_accepted %u",
		       pm->old_subflows, pm->old_rcv);
	}
	rv = 0;
out:
	if (rv == 0)
		*out = pm;
	else
		ht_mptcp_pm_restore(pm);
	return rv;
}

void ht_mptcp_pm_restore(struct ht_mptcp_pm *pm)
{
	char why[200];

	if (pm == NULL)
		return;
	for (size_t i = pm->nadded; i-- > 0;) {
		if (del_endpoint(pm, pm->added[i].id, why, sizeof(why)) == 0)
			ht_log(HT_LOG_INFO, "mptcp", "endpoint %s removed (id %u)", pm->added[i].desc,
			       pm->added[i].id);
		else
			ht_log(HT_LOG_WARN, "mptcp", "removing endpoint %s (id %u): %s",
			       pm->added[i].desc, pm->added[i].id, why);
	}
	if (pm->raised) {
		if (set_limits(pm, pm->old_subflows, pm->old_rcv, why, sizeof(why)) == 0)
			ht_log(HT_LOG_INFO, "mptcp",
			       "limits restored: subflows %u, add_addr_accepted %u", pm->old_subflows,
			       pm->old_rcv);
		else
			ht_log(HT_LOG_WARN, "mptcp",
			       "restoring the limits subflows %u add_addr_accepted %u: %s",
			       pm->old_subflows, pm->old_rcv, why);
	}
	if (pm->nl != NULL)
		mnl_socket_close(pm->nl);
	free(pm);
}
