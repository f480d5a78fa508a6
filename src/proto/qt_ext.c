/* hatun — address-assignment extension TLVs on the QUIC tunnel control
 * stream.  See qt_ext.h and docs/protocol/datagram-config.md. */
#include "qt_ext.h"

#include <string.h>

#include "addr.h"
#include "err.h"

#define HDR 2u

bool qt_ext_is_ext_type(uint8_t type)
{
	return type >= QT_CTRL_EXT_FIRST && type <= QT_EXT_LAST;
}

/* Who may send a type; -1 for a type this version does not define. */
static int allowed_sender(uint8_t type)
{
	switch (type) {
	case QT_EXT_ADDR_REQUEST:
	case QT_EXT_PATH_PREF:
		return QT_CTRL_CLIENT;
	case QT_EXT_ADDR_ASSIGN:
	case QT_EXT_TUNNEL_MTU:
	case QT_EXT_DNS_SERVER:
	case QT_EXT_ROUTE:
	case QT_EXT_CONFIG_DONE:
		return QT_CTRL_CONCENTRATOR;
	default:
		return -1;
	}
}

/* ---- entries: Version (1) ‖ Address (4 | 16) [‖ Prefix Length (1)] ------ */

static size_t addr_bytes(uint8_t version)
{
	return version == 4 ? 4u : 16u;
}

static unsigned max_len(uint8_t version)
{
	return version == 4 ? 32u : 128u;
}

static bool is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Any bit set after the first `len` bits of the version's address? */
static bool host_bits(const struct qt_ext_prefix *p)
{
	const uint8_t *a = p->addr + (p->version == 4 ? 12 : 0);
	size_t nbytes = addr_bytes(p->version);
	size_t full = p->len / 8u;

	if (p->len % 8u) {
		uint8_t mask = (uint8_t)(0xffu >> (p->len % 8u));

		if (a[full] & mask)
			return true;
		full++;
	}
	return !is_zero(a + full, nbytes - full);
}

enum entry_kind { E_REQUEST, E_ASSIGN, E_DNS, E_ROUTE };

/* The rules for one entry of the given kind (also used by the writers). */
static int check_entry(const struct qt_ext_prefix *p, enum entry_kind kind)
{
	unsigned cls;

	if (p->version != 4 && p->version != 6)
		return HT_ERR_BAD_VALUE;
	/* IPv4 lives in the mapped form; the version must agree with it. */
	cls = ht_addr_classify(p->addr);
	if ((p->version == 4) != ((cls & HT_ADDR_V4MAPPED) != 0)) {
		/* An IPv4 entry whose 16 bytes are not mapped can only come from
		 * a caller; one from the wire is always mapped. */
		return p->version == 4 ? HT_ERR_INVAL : HT_ERR_BAD_ADDRESS;
	}
	if (kind == E_DNS) {
		if (p->len != max_len(p->version))
			return HT_ERR_INVAL; /* decoded DNS entries carry the full length */
		return (cls & HT_ADDR_FORBIDDEN_ON_WIRE) ? HT_ERR_BAD_ADDRESS : HT_OK;
	}
	if (p->len > max_len(p->version))
		return HT_ERR_BAD_VALUE;
	if (kind != E_ROUTE && p->len == 0)
		return HT_ERR_BAD_VALUE;
	if (host_bits(p))
		return HT_ERR_BAD_VALUE;
	if (kind == E_ROUTE)
		return (cls & (HT_ADDR_LOOPBACK | HT_ADDR_MULTICAST | HT_ADDR_BROADCAST |
		               HT_ADDR_LINKLOCAL))
		           ? HT_ERR_BAD_ADDRESS
		           : HT_OK;
	if (kind == E_REQUEST &&
	    is_zero(p->addr + (p->version == 4 ? 12 : 0), addr_bytes(p->version)))
		return HT_OK; /* no preference */
	return (cls & HT_ADDR_FORBIDDEN_ON_WIRE) ? HT_ERR_BAD_ADDRESS : HT_OK;
}

static size_t entry_size(uint8_t version, bool with_len)
{
	return 1u + addr_bytes(version) + (with_len ? 1u : 0u);
}

/* Decode one entry from v[0, n); *used = its size.  Length errors only. */
static int get_entry(struct qt_ext_prefix *p, const uint8_t *v, size_t n, bool with_len,
                     size_t *used)
{
	memset(p, 0, sizeof(*p));
	if (n < 1)
		return HT_ERR_BAD_LENGTH;
	p->version = v[0];
	if (p->version != 4 && p->version != 6)
		return HT_ERR_BAD_VALUE;
	*used = entry_size(p->version, with_len);
	if (n < *used)
		return HT_ERR_BAD_LENGTH;
	if (p->version == 4)
		ht_addr_map_v4(p->addr, v + 1);
	else
		memcpy(p->addr, v + 1, 16);
	p->len = with_len ? v[*used - 1] : (uint8_t)max_len(p->version);
	return HT_OK;
}

static uint8_t *put_entry(uint8_t *w, const struct qt_ext_prefix *p, bool with_len)
{
	size_t n = addr_bytes(p->version);

	*w++ = p->version;
	memcpy(w, p->addr + (p->version == 4 ? 12 : 0), n);
	w += n;
	if (with_len)
		*w++ = p->len;
	return w;
}

static bool same_entry(const struct qt_ext_prefix *a, const struct qt_ext_prefix *b)
{
	return a->version == b->version && a->len == b->len && memcmp(a->addr, b->addr, 16) == 0;
}

static bool in_list(const struct qt_ext_prefix *list, size_t n, const struct qt_ext_prefix *p)
{
	for (size_t i = 0; i < n; i++)
		if (same_entry(&list[i], p))
			return true;
	return false;
}

/* ---- one TLV ------------------------------------------------------------- */

/* Can a Length be right for this type, before the value is read? */
static bool length_possible(uint8_t type, uint8_t len)
{
	switch (type) {
	case QT_EXT_ADDR_REQUEST:
		return true; /* a sequence of 6- and 18-byte entries, checked below */
	case QT_EXT_ADDR_ASSIGN:
	case QT_EXT_ROUTE:
		return len == 6 || len == 18;
	case QT_EXT_DNS_SERVER:
		return len == 5 || len == 17;
	case QT_EXT_TUNNEL_MTU:
		return len == 2;
	case QT_EXT_PATH_PREF:
		return len == 4;
	default: /* QT_EXT_CONFIG_DONE */
		return len == 0;
	}
}

static int parse_request(struct qt_ext_request *r, const uint8_t *v, size_t n)
{
	size_t pos = 0, used = 0;
	struct qt_ext_prefix p;
	int e;

	while (pos < n) {
		e = get_entry(&p, v + pos, n - pos, true, &used);
		if (e < 0)
			return e;
		if (r->n == QT_EXT_MAX_ADDRS)
			return HT_ERR_TOO_LONG;
		if ((e = check_entry(&p, E_REQUEST)) < 0)
			return e;
		if (in_list(r->want, r->n, &p))
			return HT_ERR_DUPLICATE;
		r->want[r->n++] = p;
		pos += used;
	}
	return HT_OK;
}

int qt_ext_parse(struct qt_ext_tlv *tlv, const uint8_t *buf, size_t len, enum qt_ctrl_role sender)
{
	int who, e = HT_OK;
	size_t total, used = 0;
	const uint8_t *v;

	if (tlv == NULL || (buf == NULL && len > 0) ||
	    (sender != QT_CTRL_CLIENT && sender != QT_CTRL_CONCENTRATOR))
		return HT_ERR_INVAL;
	memset(tlv, 0, sizeof(*tlv));
	if (len < 1)
		return HT_ERR_NEED_MORE;
	tlv->type = buf[0];
	who = allowed_sender(tlv->type);
	if (who >= 0 && who != (int)sender)
		return HT_ERR_WRONG_SENDER;
	if (len < HDR)
		return HT_ERR_NEED_MORE;
	tlv->len = buf[1];
	if (who < 0)
		return HT_ERR_BAD_TYPE;
	if (!length_possible(tlv->type, tlv->len))
		return HT_ERR_BAD_LENGTH;
	total = HDR + tlv->len;
	if (len < total)
		return HT_ERR_NEED_MORE;
	v = buf + HDR;

	switch (tlv->type) {
	case QT_EXT_ADDR_REQUEST:
		e = parse_request(&tlv->req, v, tlv->len);
		break;
	case QT_EXT_TUNNEL_MTU:
		tlv->mtu = (uint16_t)(v[0] << 8 | v[1]);
		if (tlv->mtu < QT_EXT_MTU_MIN_V4)
			e = HT_ERR_BAD_VALUE;
		break;
	case QT_EXT_CONFIG_DONE:
		break;
	case QT_EXT_PATH_PREF:
		tlv->pref.scheduler = v[0];
		tlv->pref.backup = (v[1] & QT_EXT_PREF_BACKUP) != 0;
		tlv->pref.weight = (uint16_t)(v[2] << 8 | v[3]);
		if (tlv->pref.scheduler > QT_EXT_SCHED_BACKUP_ONLY || tlv->pref.weight == 0 ||
		    tlv->pref.weight > QT_EXT_WEIGHT_MAX || (v[1] & ~QT_EXT_PREF_BACKUP) != 0)
			e = HT_ERR_BAD_VALUE;
		break;
	default: {
		bool with_len = tlv->type != QT_EXT_DNS_SERVER;

		e = get_entry(&tlv->p, v, tlv->len, with_len, &used);
		if (e == HT_OK && used != tlv->len)
			e = HT_ERR_BAD_LENGTH; /* the Version says another size */
		if (e == HT_OK)
			e = check_entry(&tlv->p, tlv->type == QT_EXT_ADDR_ASSIGN ? E_ASSIGN
			                         : tlv->type == QT_EXT_ROUTE     ? E_ROUTE
			                                                         : E_DNS);
		break;
	}
	}
	return e < 0 ? e : (int)total;
}

/* ---- serializers ----------------------------------------------------------- */

static int write_entry_tlv(uint8_t *buf, size_t cap, uint8_t type, const struct qt_ext_prefix *p,
                           enum entry_kind kind)
{
	bool with_len = kind != E_DNS;
	size_t n;
	int e;

	if (buf == NULL || p == NULL)
		return HT_ERR_INVAL;
	if ((e = check_entry(p, kind)) < 0)
		return e;
	n = entry_size(p->version, with_len);
	if (cap < HDR + n)
		return HT_ERR_NOBUF;
	buf[0] = type;
	buf[1] = (uint8_t)n;
	put_entry(buf + HDR, p, with_len);
	return (int)(HDR + n);
}

int qt_ext_write_addr_request(uint8_t *buf, size_t cap, const struct qt_ext_request *r)
{
	size_t n = 0;
	uint8_t *w;
	int e;

	if (buf == NULL || r == NULL)
		return HT_ERR_INVAL;
	if (r->n > QT_EXT_MAX_ADDRS)
		return HT_ERR_TOO_LONG;
	for (size_t i = 0; i < r->n; i++) {
		if ((e = check_entry(&r->want[i], E_REQUEST)) < 0)
			return e;
		if (in_list(r->want, i, &r->want[i]))
			return HT_ERR_DUPLICATE;
		n += entry_size(r->want[i].version, true);
	}
	if (cap < HDR + n)
		return HT_ERR_NOBUF;
	buf[0] = QT_EXT_ADDR_REQUEST;
	buf[1] = (uint8_t)n; /* ≤ 8 × 18 = 144 */
	w = buf + HDR;
	for (size_t i = 0; i < r->n; i++)
		w = put_entry(w, &r->want[i], true);
	return (int)(HDR + n);
}

int qt_ext_write_addr_assign(uint8_t *buf, size_t cap, const struct qt_ext_prefix *p)
{
	return write_entry_tlv(buf, cap, QT_EXT_ADDR_ASSIGN, p, E_ASSIGN);
}

int qt_ext_write_dns_server(uint8_t *buf, size_t cap, const struct qt_ext_prefix *p)
{
	return write_entry_tlv(buf, cap, QT_EXT_DNS_SERVER, p, E_DNS);
}

int qt_ext_write_route(uint8_t *buf, size_t cap, const struct qt_ext_prefix *p)
{
	return write_entry_tlv(buf, cap, QT_EXT_ROUTE, p, E_ROUTE);
}

int qt_ext_write_tunnel_mtu(uint8_t *buf, size_t cap, uint16_t mtu)
{
	if (buf == NULL)
		return HT_ERR_INVAL;
	if (mtu < QT_EXT_MTU_MIN_V4)
		return HT_ERR_BAD_VALUE;
	if (cap < HDR + 2u)
		return HT_ERR_NOBUF;
	buf[0] = QT_EXT_TUNNEL_MTU;
	buf[1] = 2;
	buf[2] = (uint8_t)(mtu >> 8);
	buf[3] = (uint8_t)mtu;
	return 4;
}

int qt_ext_write_config_done(uint8_t *buf, size_t cap)
{
	if (buf == NULL)
		return HT_ERR_INVAL;
	if (cap < HDR)
		return HT_ERR_NOBUF;
	buf[0] = QT_EXT_CONFIG_DONE;
	buf[1] = 0;
	return 2;
}

int qt_ext_write_path_pref(uint8_t *buf, size_t cap, const struct qt_ext_path_pref *p)
{
	if (buf == NULL || p == NULL)
		return HT_ERR_INVAL;
	if (p->scheduler > QT_EXT_SCHED_BACKUP_ONLY || p->weight == 0 ||
	    p->weight > QT_EXT_WEIGHT_MAX)
		return HT_ERR_BAD_VALUE;
	if (cap < HDR + 4)
		return HT_ERR_NOBUF;
	buf[0] = QT_EXT_PATH_PREF;
	buf[1] = 4;
	buf[2] = p->scheduler;
	buf[3] = p->backup ? QT_EXT_PREF_BACKUP : 0;
	buf[4] = (uint8_t)(p->weight >> 8);
	buf[5] = (uint8_t)p->weight;
	return HDR + 4;
}

int qt_ext_write(uint8_t *buf, size_t cap, const struct qt_ext_tlv *tlv)
{
	if (tlv == NULL)
		return HT_ERR_INVAL;
	switch (tlv->type) {
	case QT_EXT_ADDR_REQUEST:
		return qt_ext_write_addr_request(buf, cap, &tlv->req);
	case QT_EXT_PATH_PREF:
		return qt_ext_write_path_pref(buf, cap, &tlv->pref);
	case QT_EXT_ADDR_ASSIGN:
		return qt_ext_write_addr_assign(buf, cap, &tlv->p);
	case QT_EXT_TUNNEL_MTU:
		return qt_ext_write_tunnel_mtu(buf, cap, tlv->mtu);
	case QT_EXT_DNS_SERVER:
		return qt_ext_write_dns_server(buf, cap, &tlv->p);
	case QT_EXT_ROUTE:
		return qt_ext_write_route(buf, cap, &tlv->p);
	case QT_EXT_CONFIG_DONE:
		return qt_ext_write_config_done(buf, cap);
	default:
		return HT_ERR_BAD_TYPE;
	}
}

/* ---- whole configurations -------------------------------------------------- */

static int check_list(const struct qt_ext_prefix *l, size_t n, size_t max, enum entry_kind kind,
                      bool *v6)
{
	int e;

	if (n > max)
		return HT_ERR_TOO_LONG;
	for (size_t i = 0; i < n; i++) {
		if ((e = check_entry(&l[i], kind)) < 0)
			return e;
		if (in_list(l, i, &l[i]))
			return HT_ERR_DUPLICATE;
		if (l[i].version == 6)
			*v6 = true;
	}
	return HT_OK;
}

static bool has_version(const struct qt_ext_prefix *l, size_t n, uint8_t version)
{
	for (size_t i = 0; i < n; i++)
		if (l[i].version == version)
			return true;
	return false;
}

/* DNS servers and routes need an assigned address of their version. */
static bool versions_covered(const struct qt_ext_config *c, const struct qt_ext_prefix *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!has_version(c->addr, c->naddr, l[i].version))
			return false;
	return true;
}

int qt_ext_config_check(const struct qt_ext_config *c)
{
	bool v6 = false;
	int e;

	if (c == NULL)
		return HT_ERR_INVAL;
	if ((e = check_list(c->addr, c->naddr, QT_EXT_MAX_ADDRS, E_ASSIGN, &v6)) < 0 ||
	    (e = check_list(c->dns, c->ndns, QT_EXT_MAX_DNS, E_DNS, &v6)) < 0 ||
	    (e = check_list(c->route, c->nroute, QT_EXT_MAX_ROUTES, E_ROUTE, &v6)) < 0)
		return e;
	if (c->mtu == 0)
		return HT_ERR_TRUNCATED;
	if (c->mtu < QT_EXT_MTU_MIN_V4 || (v6 && c->mtu < QT_EXT_MTU_MIN_V6))
		return HT_ERR_BAD_VALUE;
	if (!versions_covered(c, c->dns, c->ndns) || !versions_covered(c, c->route, c->nroute))
		return HT_ERR_MISMATCH;
	return HT_OK;
}

static size_t list_size(const struct qt_ext_prefix *l, size_t n, bool with_len)
{
	size_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += HDR + entry_size(l[i].version, with_len);
	return s;
}

int qt_ext_write_config(uint8_t *buf, size_t cap, const struct qt_ext_config *c)
{
	size_t total, pos = 0;
	int e;

	if (buf == NULL || c == NULL)
		return HT_ERR_INVAL;
	if ((e = qt_ext_config_check(c)) < 0)
		return e;
	total = list_size(c->addr, c->naddr, true) + HDR + 2u + list_size(c->dns, c->ndns, false) +
	        list_size(c->route, c->nroute, true) + HDR;
	if (cap < total)
		return HT_ERR_NOBUF;
	/* Checked above: none of these can fail. */
	for (size_t i = 0; i < c->naddr; i++)
		pos += (size_t)qt_ext_write_addr_assign(buf + pos, cap - pos, &c->addr[i]);
	pos += (size_t)qt_ext_write_tunnel_mtu(buf + pos, cap - pos, c->mtu);
	for (size_t i = 0; i < c->ndns; i++)
		pos += (size_t)qt_ext_write_dns_server(buf + pos, cap - pos, &c->dns[i]);
	for (size_t i = 0; i < c->nroute; i++)
		pos += (size_t)qt_ext_write_route(buf + pos, cap - pos, &c->route[i]);
	pos += (size_t)qt_ext_write_config_done(buf + pos, cap - pos);
	return (int)pos;
}

static bool same_list(const struct qt_ext_prefix *a, const struct qt_ext_prefix *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!same_entry(&a[i], &b[i]))
			return false;
	return true;
}

bool qt_ext_config_equal(const struct qt_ext_config *a, const struct qt_ext_config *b)
{
	return a->mtu == b->mtu && a->naddr == b->naddr && a->ndns == b->ndns &&
	       a->nroute == b->nroute && a->naddr <= QT_EXT_MAX_ADDRS &&
	       a->ndns <= QT_EXT_MAX_DNS && a->nroute <= QT_EXT_MAX_ROUTES &&
	       same_list(a->addr, b->addr, a->naddr) && same_list(a->dns, b->dns, a->ndns) &&
	       same_list(a->route, b->route, a->nroute);
}

/* ---- the assembler ----------------------------------------------------------- */

void qt_ext_asm_init(struct qt_ext_asm *a, enum qt_ctrl_role local_role)
{
	memset(a, 0, sizeof(*a));
	a->role = (uint8_t)local_role;
}

static int fail(struct qt_ext_asm *a, int err)
{
	a->err = err;
	return err;
}

static int add_entry(struct qt_ext_prefix *l, uint8_t *n, size_t max, const struct qt_ext_prefix *p)
{
	if (*n == max)
		return HT_ERR_TOO_LONG;
	if (in_list(l, *n, p))
		return HT_ERR_DUPLICATE;
	l[(*n)++] = *p;
	return HT_OK;
}

/* Apply one well-formed TLV.  1 = *out complete. */
static int apply(struct qt_ext_asm *a, const struct qt_ext_tlv *t, struct qt_ext_msg *out)
{
	struct qt_ext_config *c = &a->cur;
	int e;

	if (t->type == QT_EXT_ADDR_REQUEST) {
		out->type = QT_EXT_ADDR_REQUEST;
		out->req = t->req;
		return 1;
	}
	if (t->type == QT_EXT_PATH_PREF) {
		out->type = QT_EXT_PATH_PREF;
		out->pref = t->pref;
		return 1;
	}
	a->open = true;
	switch (t->type) {
	case QT_EXT_ADDR_ASSIGN:
		return add_entry(c->addr, &c->naddr, QT_EXT_MAX_ADDRS, &t->p);
	case QT_EXT_DNS_SERVER:
		return add_entry(c->dns, &c->ndns, QT_EXT_MAX_DNS, &t->p);
	case QT_EXT_ROUTE:
		return add_entry(c->route, &c->nroute, QT_EXT_MAX_ROUTES, &t->p);
	case QT_EXT_TUNNEL_MTU:
		if (c->mtu)
			return HT_ERR_DUPLICATE;
		c->mtu = t->mtu;
		return HT_OK;
	default: /* QT_EXT_CONFIG_DONE */
		if ((e = qt_ext_config_check(c)) < 0)
			return e;
		out->type = QT_EXT_CONFIG_DONE;
		out->cfg = *c;
		memset(c, 0, sizeof(*c));
		a->open = false;
		return 1;
	}
}

/* Checks on a (possibly partial) TLV at p[0, n), n ≥ 1.  Returns its whole
 * size once known and complete, 0 if more bytes are needed, or an error.
 * *skip is set for a comprehension-optional type to drop. */
static int frame(const struct qt_ext_asm *a, const uint8_t *p, size_t n, struct qt_ext_tlv *t,
                 bool *skip)
{
	enum qt_ctrl_role sender =
	    a->role == QT_CTRL_CLIENT ? QT_CTRL_CONCENTRATOR : QT_CTRL_CLIENT;
	uint8_t type = p[0];
	int r;

	*skip = false;
	if (type <= QT_CTRL_JOIN_SESSION)
		return HT_ERR_ORDER; /* a second negotiation */
	if (!qt_ext_is_ext_type(type))
		return HT_ERR_BAD_TYPE;
	if (type >= QT_EXT_IGNORABLE_FIRST && allowed_sender(type) < 0) {
		if (n < HDR || n < HDR + (size_t)p[1])
			return 0;
		*skip = true;
		return (int)(HDR + p[1]);
	}
	r = qt_ext_parse(t, p, n, sender);
	return r == HT_ERR_NEED_MORE ? 0 : r;
}

/* Bytes still missing from the partial TLV in a->buf (have ≥ 1). */
static size_t missing(const struct qt_ext_asm *a)
{
	size_t want = a->have < HDR ? HDR : HDR + (size_t)a->buf[1];

	return want - a->have;
}

int qt_ext_asm_feed(struct qt_ext_asm *a, const uint8_t *data, size_t len, bool fin,
                    size_t *consumed, struct qt_ext_msg *out)
{
	struct qt_ext_tlv t;
	size_t pos = 0;
	bool skip;
	int r;

	if (a == NULL || consumed == NULL || out == NULL || (data == NULL && len > 0))
		return HT_ERR_INVAL;
	*consumed = 0;
	out->type = 0;
	if (a->err)
		return a->err;
	if (a->fin)
		return len > 0 ? fail(a, HT_ERR_TRAILING) : 0;

	while (pos < len) {
		if (a->have == 0) {
			r = frame(a, data + pos, len - pos, &t, &skip);
			if (r == 0) {
				memcpy(a->buf, data + pos, len - pos);
				a->have = (uint16_t)(len - pos);
				pos = len;
				break;
			}
			if (r > 0)
				pos += (size_t)r;
		} else {
			size_t n = missing(a);

			if (n > len - pos)
				n = len - pos;
			memcpy(a->buf + a->have, data + pos, n);
			a->have = (uint16_t)(a->have + n);
			pos += n;
			r = frame(a, a->buf, a->have, &t, &skip);
			if (r == 0)
				continue;
			a->have = 0;
		}
		if (r < 0)
			return fail(a, r);
		if (skip) {
			a->ignored++;
			continue;
		}
		r = apply(a, &t, out);
		if (r < 0)
			return fail(a, r);
		if (r == 1) {
			a->messages++;
			*consumed = pos;
			if (pos == len && fin) {
				if (a->have || a->open)
					return fail(a, HT_ERR_TRUNCATED);
				a->fin = true;
			}
			return 1;
		}
	}
	*consumed = pos;
	if (fin) {
		if (a->have || a->open)
			return fail(a, HT_ERR_TRUNCATED);
		a->fin = true;
	}
	return 0;
}
