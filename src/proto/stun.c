/* hatun — STUN message codec (RFC 5389 / RFC 8489 with the ICE attributes of
 * RFC 8445).  See stun.h for the contract and docs/protocol/stun.md for the
 * rules and the error responses they lead to.
 */
#include "proto/stun.h"

#include <string.h>

#include <nettle/hmac.h>
#include <zlib.h>

#include "proto/err.h"
#include "proto/wire.h"

/* ---- message type ---------------------------------------------------------*/

/* The 14-bit type interleaves the class bits C1 (bit 8) and C0 (bit 4) into
 * the method: M11..M7 C1 M6..M4 C0 M3..M0. */
uint16_t stun_type(uint16_t method, enum stun_class cls)
{
	unsigned c = (unsigned)cls & 3u;

	if (method > 0xFFF)
		return 0xFFFF;
	return (uint16_t)(((method & 0xF80u) << 2) | ((method & 0x070u) << 1) |
			  (method & 0x00Fu) | ((c & 2u) << 7) | ((c & 1u) << 4));
}

uint16_t stun_type_method(uint16_t type)
{
	return (uint16_t)((type & 0x000Fu) | ((type >> 1) & 0x0070u) |
			  ((type >> 2) & 0x0F80u));
}

enum stun_class stun_type_class(uint16_t type)
{
	return (enum stun_class)(((type >> 4) & 1u) | ((type >> 7) & 2u));
}

/* ---- attribute validation and decoding -------------------------------------*/

static int slot_of(uint16_t type)
{
	switch (type) {
	case STUN_ATTR_MAPPED_ADDRESS: return STUN_SLOT_MAPPED_ADDRESS;
	case STUN_ATTR_USERNAME: return STUN_SLOT_USERNAME;
	case STUN_ATTR_MESSAGE_INTEGRITY: return STUN_SLOT_MESSAGE_INTEGRITY;
	case STUN_ATTR_ERROR_CODE: return STUN_SLOT_ERROR_CODE;
	case STUN_ATTR_UNKNOWN_ATTRIBUTES: return STUN_SLOT_UNKNOWN_ATTRIBUTES;
	case STUN_ATTR_REALM: return STUN_SLOT_REALM;
	case STUN_ATTR_NONCE: return STUN_SLOT_NONCE;
	case STUN_ATTR_XOR_MAPPED_ADDRESS: return STUN_SLOT_XOR_MAPPED_ADDRESS;
	case STUN_ATTR_PRIORITY: return STUN_SLOT_PRIORITY;
	case STUN_ATTR_USE_CANDIDATE: return STUN_SLOT_USE_CANDIDATE;
	case STUN_ATTR_SOFTWARE: return STUN_SLOT_SOFTWARE;
	case STUN_ATTR_ALTERNATE_SERVER: return STUN_SLOT_ALTERNATE_SERVER;
	case STUN_ATTR_FINGERPRINT: return STUN_SLOT_FINGERPRINT;
	case STUN_ATTR_ICE_CONTROLLED: return STUN_SLOT_ICE_CONTROLLED;
	case STUN_ATTR_ICE_CONTROLLING: return STUN_SLOT_ICE_CONTROLLING;
	default: return -1;
	}
}

/* XOR-MAPPED-ADDRESS masks the address with the cookie followed by the
 * transaction ID (RFC 5389 §15.2); an IPv4 address uses the first 4 bytes. */
static void xor_mask(uint8_t mask[16], const uint8_t *txid)
{
	ht_put32(mask, STUN_MAGIC_COOKIE);
	memcpy(mask + 4, txid, STUN_TXID_LEN);
}

static int decode_addr(const struct stun_attr *a, const uint8_t *mask,
		       struct stun_addr *out)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const uint8_t *v;
	size_t alen, i;

	if (a == NULL || a->value == NULL || out == NULL)
		return HT_ERR_INVAL;
	v = a->value;
	if (a->len < 4)
		return HT_ERR_BAD_LENGTH;
	/* v[0] is reserved and ignored by receivers (RFC 5389 §15.1). */
	if (v[1] == STUN_FAMILY_IPV4)
		alen = 4;
	else if (v[1] == STUN_FAMILY_IPV6)
		alen = 16;
	else
		return HT_ERR_BAD_VALUE;
	if (a->len != 4 + alen)
		return HT_ERR_BAD_LENGTH;

	memset(out, 0, sizeof(*out));
	out->family = v[1];
	out->port = ht_get16(v + 2);
	if (alen == 4)
		memcpy(out->ip, v4mapped, sizeof(v4mapped));
	for (i = 0; i < alen; i++)
		out->ip[16 - alen + i] = v[4 + i];
	if (mask != NULL) {
		out->port ^= ht_get16(mask);
		for (i = 0; i < alen; i++)
			out->ip[16 - alen + i] ^= mask[i];
	}
	return HT_OK;
}

int stun_decode_addr(const struct stun_attr *a, struct stun_addr *out)
{
	return decode_addr(a, NULL, out);
}

int stun_decode_xor_addr(const struct stun_attr *a, const uint8_t *txid,
			 struct stun_addr *out)
{
	uint8_t mask[16];

	if (txid == NULL)
		return HT_ERR_INVAL;
	xor_mask(mask, txid);
	return decode_addr(a, mask, out);
}

int stun_decode_error(const struct stun_attr *a, struct stun_error *out)
{
	unsigned cls, num;

	if (a == NULL || a->value == NULL || out == NULL)
		return HT_ERR_INVAL;
	if (a->len < 4)
		return HT_ERR_BAD_LENGTH;
	if (a->len - 4u > STUN_MAX_TEXT)
		return HT_ERR_TOO_LONG;
	/* The 21 reserved bits are ignored by receivers (RFC 5389 §15.6). */
	cls = a->value[2] & 0x07u;
	num = a->value[3];
	if (cls < 3 || cls > 6 || num > 99)
		return HT_ERR_BAD_VALUE;
	out->code = (int)(cls * 100 + num);
	out->reason = a->value + 4;
	out->reason_len = a->len - 4u;
	return HT_OK;
}

int stun_decode_unknown(const struct stun_attr *a, uint16_t *types, size_t cap,
			size_t *n)
{
	size_t i;

	if (a == NULL || a->value == NULL || n == NULL || (types == NULL && cap > 0))
		return HT_ERR_INVAL;
	if (a->len % 2 != 0)
		return HT_ERR_BAD_LENGTH;
	*n = a->len / 2u;
	for (i = 0; i < *n && i < cap; i++)
		types[i] = ht_get16(a->value + 2 * i);
	return HT_OK;
}

int stun_decode_u32(const struct stun_attr *a, uint32_t *v)
{
	if (a == NULL || a->value == NULL || v == NULL)
		return HT_ERR_INVAL;
	if (a->len != 4)
		return HT_ERR_BAD_LENGTH;
	*v = ht_get32(a->value);
	return HT_OK;
}

int stun_decode_u64(const struct stun_attr *a, uint64_t *v)
{
	if (a == NULL || a->value == NULL || v == NULL)
		return HT_ERR_INVAL;
	if (a->len != 8)
		return HT_ERR_BAD_LENGTH;
	*v = ht_get64(a->value);
	return HT_OK;
}

/* Validate a kept attribute so that a parsed message never hands the layer
 * above a slot its decoder would reject. */
static int validate(const struct stun_attr *a, const uint8_t *txid)
{
	struct stun_addr addr;
	struct stun_error err;
	size_t n;

	switch (a->type) {
	case STUN_ATTR_MAPPED_ADDRESS:
	case STUN_ATTR_ALTERNATE_SERVER:
		return stun_decode_addr(a, &addr);
	case STUN_ATTR_XOR_MAPPED_ADDRESS:
		return stun_decode_xor_addr(a, txid, &addr);
	case STUN_ATTR_ERROR_CODE:
		return stun_decode_error(a, &err);
	case STUN_ATTR_UNKNOWN_ATTRIBUTES:
		return stun_decode_unknown(a, NULL, 0, &n);
	case STUN_ATTR_USERNAME:
		return a->len > STUN_MAX_USERNAME ? HT_ERR_TOO_LONG : HT_OK;
	case STUN_ATTR_REALM:
	case STUN_ATTR_NONCE:
	case STUN_ATTR_SOFTWARE:
		return a->len > STUN_MAX_TEXT ? HT_ERR_TOO_LONG : HT_OK;
	case STUN_ATTR_MESSAGE_INTEGRITY:
		return a->len == STUN_HMAC_LEN ? HT_OK : HT_ERR_BAD_LENGTH;
	case STUN_ATTR_PRIORITY:
	case STUN_ATTR_FINGERPRINT:
		return a->len == 4 ? HT_OK : HT_ERR_BAD_LENGTH;
	case STUN_ATTR_USE_CANDIDATE:
		return a->len == 0 ? HT_OK : HT_ERR_BAD_LENGTH;
	case STUN_ATTR_ICE_CONTROLLED:
	case STUN_ATTR_ICE_CONTROLLING:
		return a->len == 8 ? HT_OK : HT_ERR_BAD_LENGTH;
	default:
		return HT_ERR_BAD_TYPE; /* not reached: only slots are validated */
	}
}

/* ---- parsing --------------------------------------------------------------*/

int stun_check_header(const uint8_t *buf, size_t len)
{
	size_t body;

	if (buf == NULL || len < STUN_HEADER_LEN)
		return HT_ERR_TRUNCATED;
	if ((buf[0] & 0xC0u) != 0)
		return HT_ERR_BAD_TYPE;
	if (ht_get32(buf + 4) != STUN_MAGIC_COOKIE)
		return HT_ERR_BAD_MAGIC;
	body = ht_get16(buf + 2);
	if (body % 4 != 0)
		return HT_ERR_BAD_LENGTH;
	if (len - STUN_HEADER_LEN < body)
		return HT_ERR_TRUNCATED;
	if (len - STUN_HEADER_LEN > body)
		return HT_ERR_TRAILING;
	return HT_OK;
}

static void note_unknown(struct stun_msg *m, uint16_t type)
{
	size_t i;

	for (i = 0; i < m->n_unknown && i < STUN_MAX_UNKNOWN; i++)
		if (m->unknown[i] == type)
			return;
	if (m->n_unknown < STUN_MAX_UNKNOWN)
		m->unknown[m->n_unknown] = type;
	m->n_unknown++;
}

int stun_parse(struct stun_msg *m, const uint8_t *buf, size_t len)
{
	bool after_integrity = false;
	size_t off;
	int rc;

	if (m == NULL)
		return HT_ERR_INVAL;
	memset(m, 0, sizeof(*m));
	rc = stun_check_header(buf, len);
	if (rc != HT_OK)
		goto fail;
	m->buf = buf;
	m->len = len;
	m->type = ht_get16(buf);
	m->method = stun_type_method(m->type);
	m->cls = stun_type_class(m->type);
	m->txid = buf + 8;

	/* The header check made len - 20 a multiple of 4 and every attribute
	 * starts 4-aligned, so a padded value that fits ends exactly at or
	 * before len, and 4 bytes always remain for the next header. */
	for (off = STUN_HEADER_LEN; off < len;) {
		uint16_t type = ht_get16(buf + off);
		uint16_t alen = ht_get16(buf + off + 2);
		size_t next;
		int slot;

		if (m->attr[STUN_SLOT_FINGERPRINT].value != NULL) {
			rc = HT_ERR_ORDER; /* FINGERPRINT must be last (§15.5) */
			goto fail;
		}
		if (ht_pad4(alen) > len - off - 4) {
			rc = HT_ERR_TRUNCATED;
			goto fail;
		}
		next = off + 4 + ht_pad4(alen);
		/* Only FINGERPRINT may follow MESSAGE-INTEGRITY; anything else
		 * there is unauthenticated and ignored (§15.4). */
		if (after_integrity && type != STUN_ATTR_FINGERPRINT) {
			off = next;
			continue;
		}
		slot = slot_of(type);
		if (slot < 0) {
			if (type < 0x8000)
				note_unknown(m, type);
		} else if (m->attr[slot].value == NULL) {
			struct stun_attr *a = &m->attr[slot];

			a->value = buf + off + 4;
			a->type = type;
			a->len = alen;
			a->off = (uint32_t)off;
			rc = validate(a, m->txid);
			if (rc != HT_OK)
				goto fail;
			if (slot == STUN_SLOT_MESSAGE_INTEGRITY)
				after_integrity = true;
		}
		off = next;
	}
	return HT_OK;
fail:
	memset(m, 0, sizeof(*m));
	return rc;
}

/* ---- integrity and fingerprint ----------------------------------------------*/

/* HMAC-SHA1 over buf[0..end) with the header's Message Length replaced by
 * body_len: the receiver recomputes the length the sender had when it
 * appended MESSAGE-INTEGRITY (RFC 5389 §15.4), without writing to buf. */
static void stun_hmac(uint8_t mac[STUN_HMAC_LEN], const uint8_t *buf, size_t end,
		      uint16_t body_len, const uint8_t *key, size_t keylen)
{
	static const uint8_t nokey[1] = {0};
	struct hmac_sha1_ctx ctx;
	uint8_t hdr[STUN_HEADER_LEN];

	memcpy(hdr, buf, sizeof(hdr));
	ht_put16(hdr + 2, body_len);
	hmac_sha1_set_key(&ctx, keylen, keylen > 0 ? key : nokey);
	hmac_sha1_update(&ctx, sizeof(hdr), hdr);
	hmac_sha1_update(&ctx, end - STUN_HEADER_LEN, buf + STUN_HEADER_LEN);
	hmac_sha1_digest(&ctx, STUN_HMAC_LEN, mac);
	/* The context holds key-derived state. */
	explicit_bzero(&ctx, sizeof(ctx));
}

int stun_check_integrity(const struct stun_msg *m, const uint8_t *key, size_t keylen)
{
	const struct stun_attr *a;
	uint8_t mac[STUN_HMAC_LEN];
	unsigned diff = 0;
	size_t i;

	if (m == NULL || (key == NULL && keylen > 0))
		return HT_ERR_INVAL;
	a = stun_get(m, STUN_SLOT_MESSAGE_INTEGRITY);
	if (a == NULL)
		return HT_ERR_INTEGRITY;
	stun_hmac(mac, m->buf, a->off,
		  (uint16_t)(a->off + 4 + STUN_HMAC_LEN - STUN_HEADER_LEN), key, keylen);
	/* Constant time: a MAC oracle must not leak how many bytes matched. */
	for (i = 0; i < STUN_HMAC_LEN; i++)
		diff |= (unsigned)(mac[i] ^ a->value[i]);
	return diff == 0 ? HT_OK : HT_ERR_INTEGRITY;
}

static uint32_t stun_crc(const uint8_t *buf, size_t end)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	/* end < 20 + 0xFFFC, so it fits zlib's uInt. */
	crc = crc32(crc, buf, (uInt)end);
	return (uint32_t)crc ^ STUN_FINGERPRINT_XOR;
}

int stun_check_fingerprint(const struct stun_msg *m)
{
	const struct stun_attr *a;

	if (m == NULL)
		return HT_ERR_INVAL;
	a = stun_get(m, STUN_SLOT_FINGERPRINT);
	if (a == NULL)
		return HT_ERR_FINGERPRINT;
	/* FINGERPRINT is last, so the header's length already covers it. */
	return stun_crc(m->buf, a->off) == ht_get32(a->value) ? HT_OK
							      : HT_ERR_FINGERPRINT;
}

int stun_error_response_for(int err)
{
	switch (err) {
	case HT_OK:
	case HT_ERR_FINGERPRINT: /* not STUN after all, or corrupted: discard */
		return 0;
	case HT_ERR_INTEGRITY:
		return STUN_ERR_UNAUTHORIZED;
	default:
		return STUN_ERR_BAD_REQUEST;
	}
}

/* ---- builder ---------------------------------------------------------------*/

int stun_build_init(struct stun_builder *b, uint8_t *buf, size_t cap,
		    uint16_t type, const uint8_t *txid)
{
	if (b == NULL || buf == NULL || txid == NULL || (type & 0xC000u) != 0)
		return HT_ERR_INVAL;
	memset(b, 0, sizeof(*b));
	if (cap < STUN_HEADER_LEN)
		return HT_ERR_NOBUF;
	b->buf = buf;
	b->cap = cap;
	ht_put16(buf, type);
	ht_put16(buf + 2, 0);
	ht_put32(buf + 4, STUN_MAGIC_COOKIE);
	memcpy(buf + 8, txid, STUN_TXID_LEN);
	b->len = STUN_HEADER_LEN;
	return HT_OK;
}

/* Append an attribute header and padding for a len-byte value, update the
 * Message Length, and return where the value goes.  Nothing is written on
 * failure.  Updating the length first is what MESSAGE-INTEGRITY and
 * FINGERPRINT need: both are computed with the length that includes them. */
static int reserve(struct stun_builder *b, uint16_t type, size_t len, uint8_t **val)
{
	size_t need;
	uint8_t *p;

	if (b == NULL || b->buf == NULL)
		return HT_ERR_INVAL;
	if (b->has_fingerprint)
		return HT_ERR_ORDER;
	if (b->has_integrity && type != STUN_ATTR_FINGERPRINT)
		return HT_ERR_ORDER;
	if (len > STUN_MAX_BODY)
		return HT_ERR_TOO_LONG;
	need = 4 + ht_pad4(len);
	if (b->len - STUN_HEADER_LEN + need > STUN_MAX_BODY)
		return HT_ERR_TOO_LONG;
	if (b->cap - b->len < need)
		return HT_ERR_NOBUF;
	p = b->buf + b->len;
	ht_put16(p, type);
	ht_put16(p + 2, (uint16_t)len);
	memset(p + 4 + len, b->pad_byte, ht_pad4(len) - len);
	b->len += need;
	ht_put16(b->buf + 2, (uint16_t)(b->len - STUN_HEADER_LEN));
	*val = p + 4;
	return HT_OK;
}

static int add_bytes(struct stun_builder *b, uint16_t type, const void *val, size_t len)
{
	uint8_t *v;
	int rc;

	if (val == NULL && len > 0)
		return HT_ERR_INVAL;
	rc = reserve(b, type, len, &v);
	if (rc == HT_OK && len > 0)
		memcpy(v, val, len);
	return rc;
}

int stun_add_raw(struct stun_builder *b, uint16_t type, const void *val, size_t len)
{
	/* These two are computed over the message, never copied in. */
	if (type == STUN_ATTR_MESSAGE_INTEGRITY || type == STUN_ATTR_FINGERPRINT)
		return HT_ERR_INVAL;
	return add_bytes(b, type, val, len);
}

static int add_addr(struct stun_builder *b, uint16_t type, const struct stun_addr *a,
		    const uint8_t *mask)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	size_t alen, i;
	uint16_t port;
	uint8_t *v;
	int rc;

	if (a == NULL)
		return HT_ERR_INVAL;
	if (a->family == STUN_FAMILY_IPV4) {
		if (memcmp(a->ip, v4mapped, sizeof(v4mapped)) != 0)
			return HT_ERR_INVAL;
		alen = 4;
	} else if (a->family == STUN_FAMILY_IPV6) {
		alen = 16;
	} else {
		return HT_ERR_INVAL;
	}
	rc = reserve(b, type, 4 + alen, &v);
	if (rc != HT_OK)
		return rc;
	port = a->port;
	if (mask != NULL)
		port ^= ht_get16(mask);
	v[0] = 0;
	v[1] = a->family;
	ht_put16(v + 2, port);
	for (i = 0; i < alen; i++)
		v[4 + i] = (uint8_t)(a->ip[16 - alen + i] ^ (mask != NULL ? mask[i] : 0));
	return HT_OK;
}

int stun_add_addr(struct stun_builder *b, uint16_t type, const struct stun_addr *a)
{
	if (type == STUN_ATTR_MESSAGE_INTEGRITY || type == STUN_ATTR_FINGERPRINT)
		return HT_ERR_INVAL;
	return add_addr(b, type, a, NULL);
}

int stun_add_xor_addr(struct stun_builder *b, const struct stun_addr *a)
{
	uint8_t mask[16];

	if (b == NULL || b->buf == NULL)
		return HT_ERR_INVAL;
	xor_mask(mask, b->buf + 8);
	return add_addr(b, STUN_ATTR_XOR_MAPPED_ADDRESS, a, mask);
}

int stun_add_username(struct stun_builder *b, const void *u, size_t len)
{
	if (len > STUN_MAX_USERNAME)
		return HT_ERR_TOO_LONG;
	return add_bytes(b, STUN_ATTR_USERNAME, u, len);
}

int stun_add_software(struct stun_builder *b, const void *s, size_t len)
{
	if (len > STUN_MAX_TEXT)
		return HT_ERR_TOO_LONG;
	return add_bytes(b, STUN_ATTR_SOFTWARE, s, len);
}

int stun_add_error(struct stun_builder *b, int code, const void *reason, size_t len)
{
	uint8_t *v;
	int rc;

	if (code < 300 || code > 699 || (reason == NULL && len > 0))
		return HT_ERR_INVAL;
	if (len > STUN_MAX_TEXT)
		return HT_ERR_TOO_LONG;
	rc = reserve(b, STUN_ATTR_ERROR_CODE, 4 + len, &v);
	if (rc != HT_OK)
		return rc;
	v[0] = 0;
	v[1] = 0;
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	if (len > 0)
		memcpy(v + 4, reason, len);
	return HT_OK;
}

int stun_add_unknown(struct stun_builder *b, const uint16_t *types, size_t n)
{
	uint8_t *v;
	size_t i;
	int rc;

	if (types == NULL && n > 0)
		return HT_ERR_INVAL;
	if (n > STUN_MAX_BODY / 2)
		return HT_ERR_TOO_LONG;
	rc = reserve(b, STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n, &v);
	if (rc != HT_OK)
		return rc;
	for (i = 0; i < n; i++)
		ht_put16(v + 2 * i, types[i]);
	return HT_OK;
}

int stun_add_priority(struct stun_builder *b, uint32_t prio)
{
	uint8_t v[4];

	ht_put32(v, prio);
	return add_bytes(b, STUN_ATTR_PRIORITY, v, sizeof(v));
}

int stun_add_use_candidate(struct stun_builder *b)
{
	return add_bytes(b, STUN_ATTR_USE_CANDIDATE, NULL, 0);
}

int stun_add_ice_role(struct stun_builder *b, bool controlling, uint64_t tiebreaker)
{
	uint8_t v[8];

	ht_put64(v, tiebreaker);
	return add_bytes(b, controlling ? STUN_ATTR_ICE_CONTROLLING : STUN_ATTR_ICE_CONTROLLED,
			 v, sizeof(v));
}

int stun_add_integrity(struct stun_builder *b, const uint8_t *key, size_t keylen)
{
	uint8_t *v;
	int rc;

	if (key == NULL && keylen > 0)
		return HT_ERR_INVAL;
	rc = reserve(b, STUN_ATTR_MESSAGE_INTEGRITY, STUN_HMAC_LEN, &v);
	if (rc != HT_OK)
		return rc;
	stun_hmac(v, b->buf, (size_t)(v - 4 - b->buf),
		  (uint16_t)(b->len - STUN_HEADER_LEN), key, keylen);
	b->has_integrity = true;
	return HT_OK;
}

int stun_add_fingerprint(struct stun_builder *b)
{
	uint8_t *v;
	int rc;

	rc = reserve(b, STUN_ATTR_FINGERPRINT, 4, &v);
	if (rc != HT_OK)
		return rc;
	ht_put32(v, stun_crc(b->buf, (size_t)(v - 4 - b->buf)));
	b->has_fingerprint = true;
	return HT_OK;
}
