/* libFuzzer harness for src/proto/stun.c.
 *
 * Oracle: whatever stun_parse() accepts, the integrity and fingerprint checks
 * must survive, and the builder must re-encode every kept attribute from its
 * decoded value into a message that parses back to the same values.  Any
 * disagreement between parser, decoders and builder is an abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"
#include "proto/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[] = "VOkJxbRl1RmTxUk/WvJxBt";
#define KEYLEN (sizeof(key) - 1)

static void must(int ok)
{
	if (!ok)
		abort();
}

static void rebuild_slot(struct stun_builder *b, const struct stun_msg *m, int s)
{
	static uint16_t types[STUN_MAX_BODY / 2];
	const struct stun_attr *a = stun_get(m, (enum stun_slot)s);
	struct stun_addr addr;
	struct stun_error err;
	uint32_t u32;
	uint64_t u64;
	size_t n;

	if (a == NULL)
		return;
	switch (s) {
	case STUN_SLOT_MAPPED_ADDRESS:
	case STUN_SLOT_ALTERNATE_SERVER:
		must(stun_decode_addr(a, &addr) == HT_OK);
		must(stun_add_addr(b, a->type, &addr) == HT_OK);
		break;
	case STUN_SLOT_XOR_MAPPED_ADDRESS:
		must(stun_decode_xor_addr(a, m->txid, &addr) == HT_OK);
		must(stun_add_xor_addr(b, &addr) == HT_OK);
		break;
	case STUN_SLOT_ERROR_CODE:
		must(stun_decode_error(a, &err) == HT_OK);
		must(stun_add_error(b, err.code, err.reason, err.reason_len) == HT_OK);
		break;
	case STUN_SLOT_UNKNOWN_ATTRIBUTES:
		must(stun_decode_unknown(a, types, sizeof(types) / sizeof(types[0]), &n) == HT_OK);
		must(stun_add_unknown(b, types, n) == HT_OK);
		break;
	case STUN_SLOT_USERNAME:
		must(stun_add_username(b, a->value, a->len) == HT_OK);
		break;
	case STUN_SLOT_SOFTWARE:
		must(stun_add_software(b, a->value, a->len) == HT_OK);
		break;
	case STUN_SLOT_REALM:
	case STUN_SLOT_NONCE:
		must(stun_add_raw(b, a->type, a->value, a->len) == HT_OK);
		break;
	case STUN_SLOT_PRIORITY:
		must(stun_decode_u32(a, &u32) == HT_OK);
		must(stun_add_priority(b, u32) == HT_OK);
		break;
	case STUN_SLOT_USE_CANDIDATE:
		must(stun_add_use_candidate(b) == HT_OK);
		break;
	case STUN_SLOT_ICE_CONTROLLED:
	case STUN_SLOT_ICE_CONTROLLING:
		must(stun_decode_u64(a, &u64) == HT_OK);
		must(stun_add_ice_role(b, s == STUN_SLOT_ICE_CONTROLLING, u64) == HT_OK);
		break;
	default: /* MESSAGE-INTEGRITY and FINGERPRINT are computed, not copied */
		break;
	}
}

static void same_addr(const struct stun_attr *x, const struct stun_attr *y,
		      const uint8_t *txid, int xor)
{
	struct stun_addr p, q;

	if (xor) {
		must(stun_decode_xor_addr(x, txid, &p) == HT_OK);
		must(stun_decode_xor_addr(y, txid, &q) == HT_OK);
	} else {
		must(stun_decode_addr(x, &p) == HT_OK);
		must(stun_decode_addr(y, &q) == HT_OK);
	}
	must(p.family == q.family && p.port == q.port && memcmp(p.ip, q.ip, 16) == 0);
}

static void compare(const struct stun_msg *m, const struct stun_msg *r)
{
	struct stun_error e1, e2;
	int s;

	must(m->type == r->type && memcmp(m->txid, r->txid, STUN_TXID_LEN) == 0);
	must(r->n_unknown == 0);
	for (s = 0; s < STUN_SLOT__COUNT; s++) {
		const struct stun_attr *x = stun_get(m, (enum stun_slot)s);
		const struct stun_attr *y = stun_get(r, (enum stun_slot)s);

		must((x == NULL) == (y == NULL));
		if (x == NULL)
			continue;
		must(x->type == y->type && x->len == y->len);
		switch (s) {
		case STUN_SLOT_MAPPED_ADDRESS:
		case STUN_SLOT_ALTERNATE_SERVER:
			same_addr(x, y, m->txid, 0);
			break;
		case STUN_SLOT_XOR_MAPPED_ADDRESS:
			same_addr(x, y, m->txid, 1);
			break;
		case STUN_SLOT_ERROR_CODE: /* reserved bits are not kept */
			must(stun_decode_error(x, &e1) == HT_OK);
			must(stun_decode_error(y, &e2) == HT_OK);
			must(e1.code == e2.code && e1.reason_len == e2.reason_len &&
			     memcmp(e1.reason, e2.reason, e1.reason_len) == 0);
			break;
		case STUN_SLOT_MESSAGE_INTEGRITY:
		case STUN_SLOT_FINGERPRINT:
			break;
		default:
			must(x->len == 0 || memcmp(x->value, y->value, x->len) == 0);
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[STUN_HEADER_LEN + STUN_MAX_BODY];
	struct stun_builder b;
	struct stun_msg m, r;
	int s, rc;

	rc = stun_parse(&m, data, size);
	if (rc != HT_OK) {
		must(rc < 0 && rc > HT_ERR__LAST);
		(void)stun_error_response_for(rc);
		return 0;
	}
	must(stun_check_header(data, size) == HT_OK);
	(void)stun_check_integrity(&m, key, KEYLEN);
	(void)stun_check_fingerprint(&m);

	/* Everything kept fits again: the rebuilt message is never longer. */
	must(stun_build_init(&b, out, sizeof(out), m.type, m.txid) == HT_OK);
	for (s = 0; s < STUN_SLOT__COUNT; s++)
		rebuild_slot(&b, &m, s);
	if (stun_get(&m, STUN_SLOT_MESSAGE_INTEGRITY) != NULL)
		must(stun_add_integrity(&b, key, KEYLEN) == HT_OK);
	if (stun_get(&m, STUN_SLOT_FINGERPRINT) != NULL)
		must(stun_add_fingerprint(&b) == HT_OK);
	must(b.len <= size);

	must(stun_parse(&r, out, b.len) == HT_OK);
	compare(&m, &r);
	if (stun_get(&r, STUN_SLOT_MESSAGE_INTEGRITY) != NULL)
		must(stun_check_integrity(&r, key, KEYLEN) == HT_OK);
	if (stun_get(&r, STUN_SLOT_FINGERPRINT) != NULL)
		must(stun_check_fingerprint(&r) == HT_OK);
	return 0;
}
