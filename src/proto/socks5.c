/* hatun — SOCKS5 codec (RFC 1928).  See socks5.h. */
#include "socks5.h"

#include <errno.h>
#include <string.h>

#include "addr.h"
#include "err.h"
#include "wire.h"

/* ---- greeting and method reply ------------------------------------------ */

int socks5_parse_greeting(struct socks5_greeting *g, const uint8_t *buf, size_t len)
{
	size_t n;

	if (g == NULL || (buf == NULL && len > 0))
		return HT_ERR_INVAL;
	memset(g, 0, sizeof(*g));
	if (len < 1)
		return HT_ERR_NEED_MORE;
	if (buf[0] != SOCKS5_VERSION)
		return HT_ERR_BAD_VERSION;
	if (len < 2)
		return HT_ERR_NEED_MORE;
	n = buf[1];
	if (n == 0)
		return HT_ERR_BAD_LENGTH;
	if (len < 2 + n)
		return HT_ERR_NEED_MORE;
	g->nmethods = (uint8_t)n;
	g->methods = buf + 2;
	g->no_auth = memchr(buf + 2, SOCKS5_METHOD_NO_AUTH, n) != NULL;
	return (int)(2 + n);
}

int socks5_write_method_reply(uint8_t *out, size_t cap, uint8_t method)
{
	if (out == NULL)
		return HT_ERR_INVAL;
	if (cap < SOCKS5_METHOD_REPLY_SIZE)
		return HT_ERR_NOBUF;
	out[0] = SOCKS5_VERSION;
	out[1] = method;
	return SOCKS5_METHOD_REPLY_SIZE;
}

int socks5_write_greeting(uint8_t *out, size_t cap, const uint8_t *methods, size_t n)
{
	if (out == NULL || methods == NULL || n == 0 || n > 255)
		return HT_ERR_INVAL;
	if (cap < 2 + n)
		return HT_ERR_NOBUF;
	out[0] = SOCKS5_VERSION;
	out[1] = (uint8_t)n;
	memcpy(out + 2, methods, n);
	return (int)(2 + n);
}

int socks5_parse_method_reply(uint8_t *method, const uint8_t *buf, size_t len)
{
	if (method == NULL || (buf == NULL && len > 0))
		return HT_ERR_INVAL;
	if (len < 1)
		return HT_ERR_NEED_MORE;
	if (buf[0] != SOCKS5_VERSION)
		return HT_ERR_BAD_VERSION;
	if (len < 2)
		return HT_ERR_NEED_MORE;
	*method = buf[1];
	return SOCKS5_METHOD_REPLY_SIZE;
}

/* ---- request and reply -------------------------------------------------- */

/* ATYP ADDR PORT at p (p[0] is ATYP, already present).  Returns the bytes
 * it occupies or an error; checks in wire order, like the callers. */
static int parse_addr(struct socks5_addr *a, const uint8_t *p, size_t len)
{
	size_t need;

	a->atyp = p[0];
	switch (p[0]) {
	case SOCKS5_ATYP_IPV4:
		need = 1 + 4 + 2;
		if (len < need)
			return HT_ERR_NEED_MORE;
		ht_addr_map_v4(a->addr, p + 1);
		break;
	case SOCKS5_ATYP_IPV6:
		need = 1 + 16 + 2;
		if (len < need)
			return HT_ERR_NEED_MORE;
		memcpy(a->addr, p + 1, 16);
		break;
	case SOCKS5_ATYP_DOMAIN:
		if (len < 2)
			return HT_ERR_NEED_MORE;
		if (p[1] == 0)
			return HT_ERR_BAD_LENGTH;
		need = 2 + (size_t)p[1] + 2;
		if (len < need)
			return HT_ERR_NEED_MORE;
		/* A NUL would cut the name short for getaddrinfo():
		 * "a.example\0b.example" must not become "a.example". */
		if (memchr(p + 2, 0, p[1]) != NULL)
			return HT_ERR_BAD_VALUE;
		a->name = p + 2;
		a->name_len = p[1];
		break;
	default:
		return HT_ERR_BAD_TYPE;
	}
	a->port = ht_get16(p + need - 2);
	return (int)need;
}

/* VER CODE RSV ATYP... shared by request and reply. */
static int parse_msg(uint8_t *code, uint8_t *rsv, struct socks5_addr *a, bool request,
                     const uint8_t *buf, size_t len)
{
	int r;

	if (len < 1)
		return HT_ERR_NEED_MORE;
	if (buf[0] != SOCKS5_VERSION)
		return HT_ERR_BAD_VERSION;
	if (len < 2)
		return HT_ERR_NEED_MORE;
	*code = buf[1];
	if (request && buf[1] != SOCKS5_CMD_CONNECT)
		return HT_ERR_UNSUPPORTED;
	if (len < 3)
		return HT_ERR_NEED_MORE;
	*rsv = buf[2];
	if (len < 4)
		return HT_ERR_NEED_MORE;
	r = parse_addr(a, buf + 3, len - 3);
	return r < 0 ? r : 3 + r;
}

int socks5_parse_request(struct socks5_request *r, const uint8_t *buf, size_t len)
{
	if (r == NULL || (buf == NULL && len > 0))
		return HT_ERR_INVAL;
	memset(r, 0, sizeof(*r));
	return parse_msg(&r->cmd, &r->rsv, &r->dst, true, buf, len);
}

int socks5_parse_reply(struct socks5_reply *r, const uint8_t *buf, size_t len)
{
	if (r == NULL || (buf == NULL && len > 0))
		return HT_ERR_INVAL;
	memset(r, 0, sizeof(*r));
	return parse_msg(&r->rep, &r->rsv, &r->bnd, false, buf, len);
}

/* VER CODE 00 ATYP ADDR PORT; the caller has validated a. */
static int write_msg(uint8_t *out, size_t cap, uint8_t code, const struct socks5_addr *a)
{
	size_t alen;

	switch (a->atyp) {
	case SOCKS5_ATYP_IPV4:
		alen = 4;
		break;
	case SOCKS5_ATYP_IPV6:
		alen = 16;
		break;
	default:
		alen = 1 + a->name_len;
		break;
	}
	if (cap < 4 + alen + 2)
		return HT_ERR_NOBUF;
	out[0] = SOCKS5_VERSION;
	out[1] = code;
	out[2] = 0;
	out[3] = a->atyp;
	switch (a->atyp) {
	case SOCKS5_ATYP_IPV4:
		memcpy(out + 4, a->addr + 12, 4);
		break;
	case SOCKS5_ATYP_IPV6:
		memcpy(out + 4, a->addr, 16);
		break;
	default:
		out[4] = (uint8_t)a->name_len;
		memcpy(out + 5, a->name, a->name_len);
		break;
	}
	ht_put16(out + 4 + alen, a->port);
	return (int)(4 + alen + 2);
}

int socks5_write_request(uint8_t *out, size_t cap, const struct socks5_request *r)
{
	const struct socks5_addr *a;

	if (out == NULL || r == NULL)
		return HT_ERR_INVAL;
	a = &r->dst;
	switch (a->atyp) {
	case SOCKS5_ATYP_IPV4:
		if (!(ht_addr_classify(a->addr) & HT_ADDR_V4MAPPED))
			return HT_ERR_INVAL;
		break;
	case SOCKS5_ATYP_IPV6:
		break;
	case SOCKS5_ATYP_DOMAIN:
		if (a->name == NULL || a->name_len == 0 || a->name_len > SOCKS5_DOMAIN_MAX ||
		    memchr(a->name, 0, a->name_len) != NULL)
			return HT_ERR_INVAL;
		break;
	default:
		return HT_ERR_INVAL;
	}
	return write_msg(out, cap, r->cmd, a);
}

int socks5_write_reply(uint8_t *out, size_t cap, uint8_t rep, const uint8_t bnd[16], uint16_t port)
{
	struct socks5_addr a;

	if (out == NULL)
		return HT_ERR_INVAL;
	memset(&a, 0, sizeof(a));
	a.port = port;
	if (bnd == NULL) {
		static const uint8_t any4[4];

		ht_addr_map_v4(a.addr, any4);
	} else {
		memcpy(a.addr, bnd, 16);
	}
	a.atyp =
	    (ht_addr_classify(a.addr) & HT_ADDR_V4MAPPED) ? SOCKS5_ATYP_IPV4 : SOCKS5_ATYP_IPV6;
	return write_msg(out, cap, rep, &a);
}

/* ---- reactions ---------------------------------------------------------- */

int socks5_error_rep(enum socks5_stage stage, int err)
{
	if (err >= 0 || stage != SOCKS5_STAGE_REQUEST)
		return SOCKS5_NO_REPLY;
	switch (err) {
	case HT_ERR_BAD_VERSION:
	case HT_ERR_NEED_MORE:
		return SOCKS5_NO_REPLY;
	case HT_ERR_UNSUPPORTED:
		return SOCKS5_REP_CMD_NOT_SUPPORTED;
	case HT_ERR_BAD_TYPE:
		return SOCKS5_REP_ATYP_NOT_SUPPORTED;
	default:
		return SOCKS5_REP_GENERAL_FAILURE;
	}
}

enum socks5_rep socks5_rep_from_errno(int errnum)
{
	switch (errnum) {
	case ECONNREFUSED:
		return SOCKS5_REP_CONN_REFUSED;
	case ENETUNREACH:
	case ENETDOWN:
		return SOCKS5_REP_NET_UNREACHABLE;
	case EHOSTUNREACH:
	case EHOSTDOWN:
	case ETIMEDOUT:
		return SOCKS5_REP_HOST_UNREACHABLE;
	case EACCES:
	case EPERM:
		return SOCKS5_REP_NOT_ALLOWED;
	default:
		return SOCKS5_REP_GENERAL_FAILURE;
	}
}

const char *socks5_rep_str(int rep)
{
	switch (rep) {
	case SOCKS5_REP_SUCCEEDED:
		return "succeeded";
	case SOCKS5_REP_GENERAL_FAILURE:
		return "general failure";
	case SOCKS5_REP_NOT_ALLOWED:
		return "connection not allowed by ruleset";
	case SOCKS5_REP_NET_UNREACHABLE:
		return "network unreachable";
	case SOCKS5_REP_HOST_UNREACHABLE:
		return "host unreachable";
	case SOCKS5_REP_CONN_REFUSED:
		return "connection refused";
	case SOCKS5_REP_TTL_EXPIRED:
		return "TTL expired";
	case SOCKS5_REP_CMD_NOT_SUPPORTED:
		return "command not supported";
	case SOCKS5_REP_ATYP_NOT_SUPPORTED:
		return "address type not supported";
	case SOCKS5_NO_REPLY:
		return "no reply";
	default:
		return "unassigned";
	}
}
