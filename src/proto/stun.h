/* hatun — STUN message codec (RFC 5389 / RFC 8489) for ICE connectivity
 * checks (RFC 8445) between peer-to-peer QUIC endpoints (seed 002).
 *
 * Sans-I/O and allocation-free.  stun_parse() walks one UDP datagram and
 * fills a struct stun_msg whose pointers point into the caller's buffer: the
 * buffer must outlive the struct.  The builder writes into a caller buffer
 * and keeps the header's Message Length correct after every call, so the
 * message is complete (b.len bytes) whenever the caller stops adding.
 *
 * Layouts and procedures: docs/protocol/stun.md and
 * shared/specs/wire-formats.md §3.
 */
#ifndef HATUN_PROTO_STUN_H
#define HATUN_PROTO_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STUN_HEADER_LEN 20
#define STUN_MAGIC_COOKIE 0x2112A442u
#define STUN_TXID_LEN 12
#define STUN_FINGERPRINT_XOR 0x5354554Eu
#define STUN_HMAC_LEN 20
/* Message Length is 16 bits and a multiple of 4. */
#define STUN_MAX_BODY 0xFFFCu

/* Upper bounds on variable attributes (RFC 5389 §15): USERNAME < 513 bytes;
 * reason phrase, SOFTWARE, REALM, NONCE < 128 characters = at most 763 bytes
 * of UTF-8. */
#define STUN_MAX_USERNAME 512
#define STUN_MAX_TEXT 763

enum stun_class {
	STUN_CLASS_REQUEST = 0,
	STUN_CLASS_INDICATION = 1,
	STUN_CLASS_SUCCESS = 2,
	STUN_CLASS_ERROR = 3,
};

#define STUN_METHOD_BINDING 0x001
#define STUN_BINDING_REQUEST 0x0001
#define STUN_BINDING_INDICATION 0x0011
#define STUN_BINDING_SUCCESS 0x0101
#define STUN_BINDING_ERROR 0x0111

enum stun_attr_type {
	STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	STUN_ATTR_USERNAME = 0x0006,
	STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
	STUN_ATTR_ERROR_CODE = 0x0009,
	STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
	STUN_ATTR_REALM = 0x0014,
	STUN_ATTR_NONCE = 0x0015,
	STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	STUN_ATTR_PRIORITY = 0x0024,
	STUN_ATTR_USE_CANDIDATE = 0x0025,
	STUN_ATTR_SOFTWARE = 0x8022,
	STUN_ATTR_ALTERNATE_SERVER = 0x8023,
	STUN_ATTR_FINGERPRINT = 0x8028,
	STUN_ATTR_ICE_CONTROLLED = 0x8029,
	STUN_ATTR_ICE_CONTROLLING = 0x802A,
};

/* Error response codes hatun sends or acts on (RFC 5389 §15.6, RFC 8445). */
enum stun_error_code {
	STUN_ERR_TRY_ALTERNATE = 300,
	STUN_ERR_BAD_REQUEST = 400,
	STUN_ERR_UNAUTHORIZED = 401,
	STUN_ERR_UNKNOWN_ATTRIBUTE = 420,
	STUN_ERR_STALE_NONCE = 438,
	STUN_ERR_ROLE_CONFLICT = 487,
	STUN_ERR_SERVER_ERROR = 500,
};

/* One slot per attribute the parser understands; only the first instance of
 * each is kept (RFC 5389 §15). */
enum stun_slot {
	STUN_SLOT_MAPPED_ADDRESS,
	STUN_SLOT_USERNAME,
	STUN_SLOT_MESSAGE_INTEGRITY,
	STUN_SLOT_ERROR_CODE,
	STUN_SLOT_UNKNOWN_ATTRIBUTES,
	STUN_SLOT_REALM,
	STUN_SLOT_NONCE,
	STUN_SLOT_XOR_MAPPED_ADDRESS,
	STUN_SLOT_PRIORITY,
	STUN_SLOT_USE_CANDIDATE,
	STUN_SLOT_SOFTWARE,
	STUN_SLOT_ALTERNATE_SERVER,
	STUN_SLOT_FINGERPRINT,
	STUN_SLOT_ICE_CONTROLLED,
	STUN_SLOT_ICE_CONTROLLING,
	STUN_SLOT__COUNT
};

struct stun_attr {
	const uint8_t *value; /* NULL when the attribute is absent */
	uint16_t type;
	uint16_t len;         /* value length, before padding */
	uint32_t off;         /* offset of the attribute header in the message */
};

/* Unknown comprehension-required types remembered for a 420 response.  More
 * than this many distinct ones still sets n_unknown, just not all types. */
#define STUN_MAX_UNKNOWN 16

struct stun_msg {
	const uint8_t *buf;   /* the whole message (the caller's buffer) */
	size_t len;
	uint16_t type;
	uint16_t method;
	enum stun_class cls;
	const uint8_t *txid;  /* STUN_TXID_LEN bytes */
	struct stun_attr attr[STUN_SLOT__COUNT];
	uint16_t unknown[STUN_MAX_UNKNOWN];
	size_t n_unknown;
};

/* An address as every hatun codec carries it: 16 bytes, IPv4 in
 * IPv4-mapped form (proto/addr.h).  family keeps the on-wire family so that a
 * message re-encodes to the same bytes. */
#define STUN_FAMILY_IPV4 0x01
#define STUN_FAMILY_IPV6 0x02

struct stun_addr {
	uint8_t family;
	uint16_t port;
	uint8_t ip[16];
};

struct stun_error {
	int code;             /* 300..699 */
	const uint8_t *reason; /* UTF-8, not NUL-terminated */
	size_t reason_len;
};

/* ---- message type ---------------------------------------------------------*/

/* Message type for a 12-bit method and a class; 0xFFFF if method > 0xFFF. */
uint16_t stun_type(uint16_t method, enum stun_class cls);
uint16_t stun_type_method(uint16_t type);
enum stun_class stun_type_class(uint16_t type);

/* ---- parsing --------------------------------------------------------------*/

/* The fixed-header checks of RFC 5389 §7.3: top two bits 0, magic cookie,
 * Message Length a multiple of 4 and equal to len - 20.  A datagram that
 * fails them is not STUN and is silently discarded.
 * Returns HT_OK, HT_ERR_TRUNCATED (< 20 bytes or body shorter than Message
 * Length), HT_ERR_BAD_TYPE, HT_ERR_BAD_MAGIC, HT_ERR_BAD_LENGTH,
 * HT_ERR_TRAILING. */
int stun_check_header(const uint8_t *buf, size_t len);

/* Parse one whole message.  Every kept attribute is validated (lengths,
 * address family, error class), so the decoders below cannot fail on a slot
 * of a parsed message.  Attributes after MESSAGE-INTEGRITY are ignored except
 * FINGERPRINT, which must be last.
 * Returns HT_OK, the stun_check_header() codes, HT_ERR_TRUNCATED (attribute
 * runs past the end), HT_ERR_BAD_LENGTH, HT_ERR_TOO_LONG, HT_ERR_BAD_VALUE,
 * HT_ERR_ORDER (FINGERPRINT not last), HT_ERR_INVAL (m is NULL). On failure
 * *m is zeroed. */
int stun_parse(struct stun_msg *m, const uint8_t *buf, size_t len);

static inline const struct stun_attr *stun_get(const struct stun_msg *m,
					       enum stun_slot s)
{
	return m->attr[s].value != NULL ? &m->attr[s] : NULL;
}

/* HMAC-SHA1 over the message up to MESSAGE-INTEGRITY with the §15.4 length
 * adjustment, compared in constant time.  Short-term key = the password
 * bytes; long-term key = MD5(username ":" realm ":" password).
 * Returns HT_OK, or HT_ERR_INTEGRITY (also when the attribute is absent). */
int stun_check_integrity(const struct stun_msg *m, const uint8_t *key, size_t keylen);

/* CRC-32 of the message before FINGERPRINT, XOR 0x5354554E.
 * Returns HT_OK, or HT_ERR_FINGERPRINT (also when absent). */
int stun_check_fingerprint(const struct stun_msg *m);

/* ---- attribute decoders ---------------------------------------------------
 * Each returns HT_OK, HT_ERR_INVAL (a NULL attribute: it is absent), or the
 * validation error stun_parse() would have reported. */

int stun_decode_addr(const struct stun_attr *a, struct stun_addr *out);
int stun_decode_xor_addr(const struct stun_attr *a, const uint8_t *txid,
			 struct stun_addr *out);
int stun_decode_error(const struct stun_attr *a, struct stun_error *out);
/* Up to cap types; *n gets the number in the attribute even when > cap. */
int stun_decode_unknown(const struct stun_attr *a, uint16_t *types, size_t cap,
			size_t *n);
int stun_decode_u32(const struct stun_attr *a, uint32_t *v); /* PRIORITY */
int stun_decode_u64(const struct stun_attr *a, uint64_t *v); /* ICE-CONTROLL* */

/* ---- builder ---------------------------------------------------------------
 * Every stun_add_* returns HT_OK or: HT_ERR_NOBUF (buffer full; nothing was
 * written), HT_ERR_TOO_LONG (Message Length would exceed 0xFFFC or the
 * attribute's own limit), HT_ERR_ORDER (after MESSAGE-INTEGRITY only
 * FINGERPRINT may follow, nothing after FINGERPRINT), HT_ERR_INVAL. */

struct stun_builder {
	uint8_t *buf;
	size_t cap;
	size_t len;       /* bytes written so far = current message size */
	uint8_t pad_byte; /* padding value, 0 by default (RFC 5769 uses 0x20) */
	bool has_integrity;
	bool has_fingerprint;
};

int stun_build_init(struct stun_builder *b, uint8_t *buf, size_t cap,
		    uint16_t type, const uint8_t *txid);
int stun_add_raw(struct stun_builder *b, uint16_t type, const void *val, size_t len);
/* MAPPED-ADDRESS or ALTERNATE-SERVER. */
int stun_add_addr(struct stun_builder *b, uint16_t type, const struct stun_addr *a);
int stun_add_xor_addr(struct stun_builder *b, const struct stun_addr *a);
int stun_add_username(struct stun_builder *b, const void *u, size_t len);
int stun_add_software(struct stun_builder *b, const void *s, size_t len);
int stun_add_error(struct stun_builder *b, int code, const void *reason, size_t len);
int stun_add_unknown(struct stun_builder *b, const uint16_t *types, size_t n);
int stun_add_priority(struct stun_builder *b, uint32_t prio);
int stun_add_use_candidate(struct stun_builder *b);
/* ICE-CONTROLLING when controlling, else ICE-CONTROLLED. */
int stun_add_ice_role(struct stun_builder *b, bool controlling, uint64_t tiebreaker);
int stun_add_integrity(struct stun_builder *b, const uint8_t *key, size_t keylen);
int stun_add_fingerprint(struct stun_builder *b);

/* For a request that passed stun_check_header(): the error response code to
 * send when stun_parse() or stun_check_*() then failed with err — 401 for
 * HT_ERR_INTEGRITY, 0 (discard silently) for HT_ERR_FINGERPRINT, 400 for
 * every other code.  Header failures are always discarded silently. */
int stun_error_response_for(int err);

#endif
