/* hatun — Convert protocol codec (draft-ietf-tcpm-converters-02 + RFC 8803
 * header form).  Layouts: /work/shared/specs/wire-formats.md §5;
 * decisions and the error table: docs/protocol/convert.md. */
#include "proto/convert.h"

#include <string.h>

#include "proto/addr.h"
#include "proto/err.h"
#include "proto/wire.h"

/* ---- parsing ------------------------------------------------------------ */

int cv_hdr_parse(const uint8_t *buf, size_t len, struct cv_hdr *h)
{
	uint16_t magic;

	memset(h, 0, sizeof(*h));
	if (len < CV_HDR_LEN)
		return HT_ERR_NEED_MORE;
	/* The magic goes first: it tells which form to answer a bad version
	 * in, and a stream with neither value is not Convert at all. */
	magic = ht_get16(buf + 2);
	if (magic == 0)
		h->form = CV_FORM_02;
	else if (magic == CV_MAGIC_RFC8803)
		h->form = CV_FORM_RFC8803;
	else
		return HT_ERR_BAD_MAGIC;
	h->version = buf[0];
	/* Another version may give Total Length another meaning: judge the
	 * length only once the version is known. */
	if (h->version != CV_VERSION)
		return HT_ERR_BAD_VERSION;
	if (buf[1] == 0)
		return HT_ERR_BAD_LENGTH;
	h->total_len = (size_t)buf[1] * 4;
	return CV_HDR_LEN;
}

/* A zero-padded byte list: *n = bytes before the first 0, and everything
 * from there on must be 0, because a 0 byte can only be padding. */
static int zero_padded_list(const uint8_t *p, size_t len, size_t *n)
{
	size_t i = 0;

	while (i < len && p[i] != 0)
		i++;
	*n = i;
	for (; i < len; i++)
		if (p[i] != 0)
			return HT_ERR_TRAILING;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static int parse_connect(const uint8_t *t, size_t tlen, struct cv_msg *m)
{
	struct cv_opt_iter it;
	struct cv_opt o;
	int rc;

	if (tlen < 20)
		return HT_ERR_BAD_LENGTH;
	m->connect.port = ht_get16(t + 2);
	memcpy(m->connect.addr, t + 4, 16);
	/* RFC 8803 §5.2.5 bans these; -02 is silent, hatun applies the ban. */
	if (ht_addr_forbidden_on_wire(m->connect.addr))
		return HT_ERR_BAD_ADDRESS;
	cv_opt_iter_init(&it, t + 20, tlen - 20);
	while ((rc = cv_opt_next(&it, &o)) == 1)
		;
	if (rc < 0)
		return rc;
	m->connect.opts = t + 20;
	m->connect.opts_len = it.off;
	return 0;
}

static int parse_error(const uint8_t *t, size_t tlen, enum cv_form form, struct cv_msg *m)
{
	const uint8_t *raw = t + 3;
	size_t rawlen = tlen - 3, n;
	int rc;

	/* tlen >= 4, so rawlen >= 1 below. */
	m->error.code = t[2];
	m->error.value = raw;
	switch (t[2]) {
	case CV_E_UNSUPPORTED_VERSION:
	case CV_E_UNSUPPORTED_TCP_OPTION:
		rc = zero_padded_list(raw, rawlen, &n);
		if (rc < 0)
			return rc;
		if (n == 0)
			return HT_ERR_BAD_VALUE;
		/* -02 returns exactly one kind; RFC 8803 a list. */
		if (t[2] == CV_E_UNSUPPORTED_TCP_OPTION && form == CV_FORM_02 && n != 1)
			return HT_ERR_BAD_VALUE;
		m->error.value_len = n;
		return 0;
	case CV_E_MALFORMED:
	case CV_E_UNSUPPORTED_MESSAGE:
		/* The echo cannot be told from its padding; it is a Convert
		 * message and carries its own Total Length. */
		if (form == CV_FORM_RFC8803) {
			if (raw[0] != 0)
				return HT_ERR_BAD_VALUE;
			raw++;
			rawlen--;
		}
		m->error.value = raw;
		m->error.value_len = rawlen;
		return 0;
	case CV_E_NOT_AUTHORIZED:
	case CV_E_CONNECTION_RESET:
		if (!all_zero(raw, rawlen))
			return HT_ERR_BAD_VALUE;
		m->error.value_len = 0;
		return 0;
	case CV_E_RESOURCE_EXCEEDED:
	case CV_E_NETWORK_FAILURE:
	case CV_E_DEST_UNREACHABLE:
		if (!all_zero(raw + 1, rawlen - 1))
			return HT_ERR_TRAILING;
		m->error.value_len = 1;
		return 0;
	default:
		/* An unknown code still ends the connection; keep its bytes
		 * for the log rather than calling the message malformed. */
		m->error.value_len = rawlen;
		return 0;
	}
}

static unsigned type_bit(uint8_t type)
{
	switch (type) {
	case CV_TLV_BOOTSTRAP: return CV_HAS_BOOTSTRAP;
	case CV_TLV_CONNECT: return CV_HAS_CONNECT;
	case CV_TLV_EXT_TCP_HDR: return CV_HAS_EXT_TCP_HDR;
	case CV_TLV_SUPPORTED: return CV_HAS_SUPPORTED;
	case CV_TLV_ERROR: return CV_HAS_ERROR;
	default: return 0; /* 0, RFC 8803 Cookie (22), anything else */
	}
}

static int parse_tlv(const uint8_t *t, size_t tlen, struct cv_msg *m)
{
	unsigned bit = type_bit(t[0]);
	size_t n;
	int rc;

	if (bit == 0)
		return HT_ERR_BAD_TYPE;
	if (m->present & bit)
		return HT_ERR_DUPLICATE;
	switch (t[0]) {
	case CV_TLV_BOOTSTRAP:
		/* The Zero field is not checked: the Info TLV of RFC 8803 has
		 * the same layout, and nothing depends on it. */
		if (tlen != 4)
			return HT_ERR_BAD_LENGTH;
		break;
	case CV_TLV_CONNECT:
		rc = parse_connect(t, tlen, m);
		if (rc < 0)
			return rc;
		break;
	case CV_TLV_SUPPORTED:
		rc = zero_padded_list(t + 4, tlen - 4, &n);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < n; i++)
			if (t[4 + i] == 1 || t[4 + i] == 2)
				return HT_ERR_BAD_VALUE;
		m->supported.kinds = t + 4;
		m->supported.n = n;
		break;
	case CV_TLV_EXT_TCP_HDR:
		m->ext_tcp_hdr.data = t + 4;
		m->ext_tcp_hdr.len = tlen - 4;
		break;
	case CV_TLV_ERROR:
		rc = parse_error(t, tlen, m->hdr.form, m);
		if (rc < 0)
			return rc;
		break;
	}
	m->present |= bit;
	return 0;
}

int cv_parse(const uint8_t *buf, size_t len, struct cv_msg *m)
{
	size_t off = CV_HDR_LEN, total;
	int rc;

	memset(m, 0, sizeof(*m));
	rc = cv_hdr_parse(buf, len, &m->hdr);
	if (rc < 0)
		return rc;
	total = m->hdr.total_len;
	if (len < total)
		return HT_ERR_NEED_MORE;
	/* off and total are multiples of 4, so a TLV's Type and Length are
	 * always inside the message once off < total. */
	while (off < total) {
		const uint8_t *t = buf + off;
		size_t tlen = (size_t)t[1] * 4;

		if (tlen == 0)
			return HT_ERR_BAD_LENGTH;
		if (tlen > total - off)
			return HT_ERR_TRUNCATED;
		rc = parse_tlv(t, tlen, m);
		if (rc < 0)
			return rc;
		off += tlen;
	}
	return (int)total;
}

int cv_msg_check_sender(const struct cv_msg *m, bool from_client)
{
	unsigned allowed = CV_HAS_ERROR;

	allowed |= from_client ? CV_HAS_BOOTSTRAP | CV_HAS_CONNECT
			       : CV_HAS_SUPPORTED | CV_HAS_EXT_TCP_HDR;
	return (m->present & ~allowed) ? HT_ERR_WRONG_SENDER : 0;
}

const uint8_t cv_error_codes[CV_NCODES] = {
	CV_E_UNSUPPORTED_VERSION, CV_E_MALFORMED,	      CV_E_UNSUPPORTED_MESSAGE,
	CV_E_NOT_AUTHORIZED,	  CV_E_UNSUPPORTED_TCP_OPTION, CV_E_RESOURCE_EXCEEDED,
	CV_E_NETWORK_FAILURE,	  CV_E_CONNECTION_RESET,      CV_E_DEST_UNREACHABLE,
};

int cv_error_index(uint8_t code)
{
	for (int i = 0; i < CV_NCODES; i++)
		if (cv_error_codes[i] == code)
			return i;
	return -1;
}

const char *cv_error_name(uint8_t code)
{
	static const char *const names[CV_NCODES] = {
		"Unsupported Version", "Malformed Message",	 "Unsupported Message",
		"Not Authorized",      "Unsupported TCP Option", "Resource Exceeded",
		"Network Failure",     "Connection Reset",	 "Destination Unreachable",
	};
	int i = cv_error_index(code);

	return i >= 0 ? names[i] : "?";
}

int cv_err_to_code(int err)
{
	switch (err) {
	case HT_ERR_BAD_VERSION:
		return CV_E_UNSUPPORTED_VERSION;
	case HT_ERR_BAD_LENGTH:
	case HT_ERR_TRUNCATED:
	case HT_ERR_BAD_VALUE:
	case HT_ERR_TRAILING:
	case HT_ERR_DUPLICATE:
	case HT_ERR_BAD_ADDRESS:
		return CV_E_MALFORMED;
	case HT_ERR_BAD_TYPE:
	case HT_ERR_WRONG_SENDER:
		return CV_E_UNSUPPORTED_MESSAGE;
	case HT_ERR_UNSUPPORTED:
		return CV_E_UNSUPPORTED_TCP_OPTION;
	default:
		return CV_NO_REPLY;
	}
}

/* ---- TCP Options field -------------------------------------------------- */

void cv_opt_iter_init(struct cv_opt_iter *it, const uint8_t *opts, size_t len)
{
	it->p = opts;
	it->len = len;
	it->off = 0;
	it->state = 0;
}

int cv_opt_next(struct cv_opt_iter *it, struct cv_opt *o)
{
	const uint8_t *e;
	size_t left;

	if (it->state != 0)
		return it->state < 0 ? it->state : 0;
	left = it->len - it->off;
	if (left == 0) {
		it->state = 1;
		return 0;
	}
	e = it->p + it->off;
	/* EOL may not be listed, so a 0 byte can only start the padding. */
	if (e[0] == 0) {
		it->state = all_zero(e, left) ? 1 : HT_ERR_TRAILING;
		return it->state < 0 ? it->state : 0;
	}
	if (e[0] == 1)
		it->state = HT_ERR_BAD_VALUE;
	else if (left < 2)
		it->state = HT_ERR_TRUNCATED;
	else if (e[1] < 2)
		it->state = HT_ERR_BAD_LENGTH;
	else if (e[1] > left)
		it->state = HT_ERR_TRUNCATED;
	if (it->state < 0)
		return it->state;
	o->kind = e[0];
	o->value = e + 2;
	o->value_len = (size_t)e[1] - 2;
	it->off += e[1];
	return 1;
}

enum cv_opt_action cv_opt_policy(uint8_t kind)
{
	switch (kind) {
	case 0: /* EOL */
	case 1: /* NOP */
	case 2: /* MSS */
	case 3: /* Window Scale */
	case 5: /* SACK */
		return CV_OPT_IGNORE;
	case 4:  /* SACK-Permitted */
	case 8:  /* Timestamps: the converter's stack fills the values */
	case 30: /* MPTCP: listed without content */
	case 34: /* TFO: empty (cookie request) or a cookie to copy */
		return CV_OPT_PASS;
	default:
		/* TCP-AO (29, §5.8) and every kind hatun's stack cannot put on
		 * a SYN, User Timeout (28) and experimental ones included. */
		return CV_OPT_REFUSE;
	}
}

bool cv_opt_announceable(uint8_t kind)
{
	return cv_opt_policy(kind) == CV_OPT_PASS;
}

int cv_opts_check(const uint8_t *opts, size_t len, uint8_t *refused)
{
	struct cv_opt_iter it;
	struct cv_opt o;
	int rc;

	cv_opt_iter_init(&it, opts, len);
	while ((rc = cv_opt_next(&it, &o)) == 1) {
		if (cv_opt_policy(o.kind) == CV_OPT_REFUSE) {
			*refused = o.kind;
			return HT_ERR_UNSUPPORTED;
		}
	}
	return rc;
}

/* ---- builder ------------------------------------------------------------ */

int cv_build_begin(struct cv_builder *b, uint8_t *buf, size_t cap, enum cv_form form)
{
	memset(b, 0, sizeof(*b));
	if (buf == NULL || (form != CV_FORM_02 && form != CV_FORM_RFC8803))
		return HT_ERR_INVAL;
	if (cap < CV_HDR_LEN)
		return HT_ERR_NOBUF;
	b->buf = buf;
	b->cap = cap;
	b->len = CV_HDR_LEN;
	b->form = form;
	return 0;
}

/* Room left under the 1020-byte limit (the caller buffer is checked by
 * reserve()). */
static size_t room(const struct cv_builder *b)
{
	return CV_MAX_LEN - b->len;
}

/* Claims a zeroed TLV of vlen value bytes (after Type and Length), padded
 * to 32 bits, or fails without touching the message. */
static uint8_t *reserve(struct cv_builder *b, uint8_t type, size_t vlen, int *rc)
{
	unsigned bit = type_bit(type);
	size_t tlen = vlen > room(b) ? SIZE_MAX : ht_pad4(2 + vlen);
	uint8_t *t;

	*rc = 0;
	if (b->buf == NULL)
		*rc = HT_ERR_INVAL;
	else if (b->present & bit)
		*rc = HT_ERR_DUPLICATE;
	else if (tlen > room(b))
		*rc = HT_ERR_TOO_LONG;
	else if (tlen > b->cap - b->len)
		*rc = HT_ERR_NOBUF;
	if (*rc < 0)
		return NULL;
	t = b->buf + b->len;
	memset(t, 0, tlen);
	t[0] = type;
	t[1] = (uint8_t)(tlen / 4);
	b->len += tlen;
	b->present |= bit;
	return t;
}

int cv_build_add_bootstrap(struct cv_builder *b)
{
	int rc;

	reserve(b, CV_TLV_BOOTSTRAP, 2, &rc);
	return rc;
}

int cv_build_add_connect(struct cv_builder *b, uint16_t port, const uint8_t addr[16],
			 const uint8_t *opts, size_t opts_len)
{
	struct cv_opt_iter it;
	struct cv_opt o;
	uint8_t *t;
	int rc;

	if (addr == NULL || (opts == NULL && opts_len > 0))
		return HT_ERR_INVAL;
	if (ht_addr_forbidden_on_wire(addr))
		return HT_ERR_BAD_ADDRESS;
	cv_opt_iter_init(&it, opts, opts_len);
	while ((rc = cv_opt_next(&it, &o)) == 1)
		;
	if (rc < 0)
		return rc;
	if (it.off != opts_len) /* the caller passed padding */
		return HT_ERR_INVAL;
	t = reserve(b, CV_TLV_CONNECT, 18 + opts_len, &rc);
	if (t == NULL)
		return rc;
	ht_put16(t + 2, port);
	memcpy(t + 4, addr, 16);
	if (opts_len > 0)
		memcpy(t + 20, opts, opts_len);
	return 0;
}

int cv_build_add_supported(struct cv_builder *b, const uint8_t *kinds, size_t n)
{
	uint8_t *t;
	int rc;

	if (kinds == NULL && n > 0)
		return HT_ERR_INVAL;
	for (size_t i = 0; i < n; i++)
		if (kinds[i] <= 2)
			return HT_ERR_INVAL;
	t = reserve(b, CV_TLV_SUPPORTED, 2 + n, &rc);
	if (t == NULL)
		return rc;
	if (n > 0)
		memcpy(t + 4, kinds, n);
	return 0;
}

int cv_build_add_ext_tcp_hdr(struct cv_builder *b, const uint8_t *data, size_t n)
{
	uint8_t *t;
	int rc;

	if (data == NULL && n > 0)
		return HT_ERR_INVAL;
	t = reserve(b, CV_TLV_EXT_TCP_HDR, 2 + n, &rc);
	if (t == NULL)
		return rc;
	if (n > 0)
		memcpy(t + 4, data, n);
	return 0;
}

/* Checks value against the rule of code; *lead is the zero byte the RFC
 * 8803 form puts before an echo, *n may shrink (echo truncation). */
static int error_value_rule(const struct cv_builder *b, uint8_t code,
			    const uint8_t *value, size_t *n, size_t *lead)
{
	*lead = 0;
	switch (code) {
	case CV_E_UNSUPPORTED_VERSION:
	case CV_E_UNSUPPORTED_TCP_OPTION:
		if (*n == 0)
			return HT_ERR_INVAL;
		if (code == CV_E_UNSUPPORTED_TCP_OPTION && b->form == CV_FORM_02 && *n != 1)
			return HT_ERR_INVAL;
		for (size_t i = 0; i < *n; i++)
			if (value[i] == 0) /* would read back as padding */
				return HT_ERR_INVAL;
		return 0;
	case CV_E_MALFORMED:
	case CV_E_UNSUPPORTED_MESSAGE:
		*lead = b->form == CV_FORM_RFC8803;
		/* Cut the echo to what fits the 1020 bytes: Type, Length, Error
		 * (and the zero byte), then the echo. */
		if (room(b) < 3 + *lead + 1)
			return HT_ERR_TOO_LONG;
		if (*n > room(b) - 3 - *lead)
			*n = room(b) - 3 - *lead;
		return 0;
	case CV_E_NOT_AUTHORIZED:
	case CV_E_CONNECTION_RESET:
		return *n == 0 ? 0 : HT_ERR_INVAL;
	case CV_E_RESOURCE_EXCEEDED:
	case CV_E_NETWORK_FAILURE:
	case CV_E_DEST_UNREACHABLE:
		return *n == 1 ? 0 : HT_ERR_INVAL;
	default:
		return HT_ERR_INVAL;
	}
}

int cv_build_add_error(struct cv_builder *b, uint8_t code, const uint8_t *value, size_t n)
{
	size_t lead;
	uint8_t *t;
	int rc;

	if (value == NULL && n > 0)
		return HT_ERR_INVAL;
	rc = error_value_rule(b, code, value, &n, &lead);
	if (rc < 0)
		return rc;
	/* Value is at least the one zero byte of the one-word form. */
	t = reserve(b, CV_TLV_ERROR, 1 + (lead + n > 0 ? lead + n : 1), &rc);
	if (t == NULL)
		return rc;
	t[2] = code;
	if (n > 0)
		memcpy(t + 3 + lead, value, n);
	return 0;
}

int cv_build_finish(struct cv_builder *b)
{
	if (b->buf == NULL)
		return HT_ERR_INVAL;
	b->buf[0] = CV_VERSION;
	b->buf[1] = (uint8_t)(b->len / 4);
	ht_put16(b->buf + 2, b->form == CV_FORM_RFC8803 ? CV_MAGIC_RFC8803 : 0);
	return (int)b->len;
}
