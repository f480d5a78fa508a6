/* hatun — codec of the 0-RTT TCP Convert protocol (draft-ietf-tcpm-converters-02,
 * with the RFC 8803 header form accepted; docs/protocol/convert.md).
 *
 * A Convert message is the first bytes of a TCP bytestream: a 4-byte fixed
 * header (Version, Total Length in 32-bit words, then 16 bits that are 0 in
 * -02 and the magic 0x2263 in RFC 8803) followed by TLVs whose Length counts
 * 32-bit words of Type + Length + Value.  Everything here is sans-I/O: the
 * parser reads (buf, len) and points into buf, the builder writes into a
 * caller buffer.  Nothing allocates, nothing keeps state between calls.
 */
#ifndef HATUN_PROTO_CONVERT_H
#define HATUN_PROTO_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CV_VERSION 1               /* the only version hatun speaks */
#define CV_MAGIC_RFC8803 0x2263    /* fixed header bits 16-31 in RFC 8803 */
#define CV_HDR_LEN 4
#define CV_MAX_LEN 1020            /* 255 words: Total Length is 8 bits */

/* Which dialect the peer's fixed header used; replies use the same one. */
enum cv_form {
	CV_FORM_02 = 0,      /* bits 16-31 = 0 (draft -02) */
	CV_FORM_RFC8803 = 1, /* bits 16-31 = 0x2263 */
};

enum cv_tlv_type {
	CV_TLV_BOOTSTRAP = 0x01, /* = RFC 8803 Info TLV */
	CV_TLV_CONNECT = 0x0A,
	CV_TLV_EXT_TCP_HDR = 0x14,
	CV_TLV_SUPPORTED = 0x15, /* Supported TCP Extension Services */
	CV_TLV_ERROR = 0x1E,
};

/* cv_msg.present bits, one per TLV type. */
enum {
	CV_HAS_BOOTSTRAP = 1u << 0,
	CV_HAS_CONNECT = 1u << 1,
	CV_HAS_EXT_TCP_HDR = 1u << 2,
	CV_HAS_SUPPORTED = 1u << 3,
	CV_HAS_ERROR = 1u << 4,
};

/* Error TLV codes (Figure 18). */
enum cv_error_code {
	CV_E_UNSUPPORTED_VERSION = 0x00,
	CV_E_MALFORMED = 0x01,
	CV_E_UNSUPPORTED_MESSAGE = 0x02,
	CV_E_NOT_AUTHORIZED = 0x20,
	CV_E_UNSUPPORTED_TCP_OPTION = 0x21,
	CV_E_RESOURCE_EXCEEDED = 0x40,
	CV_E_NETWORK_FAILURE = 0x41,
	CV_E_CONNECTION_RESET = 0x60,
	CV_E_DEST_UNREACHABLE = 0x61,
};

/* The nine codes above, in this order (counters indexed by
 * cv_error_index: the converter's status). */
#define CV_NCODES 9
extern const uint8_t cv_error_codes[CV_NCODES];
/* The index of code in cv_error_codes, or -1 for a code not listed. */
int cv_error_index(uint8_t code);
/* "Not Authorized", ...; "?" for a code not listed. */
const char *cv_error_name(uint8_t code);

/* cv_err_to_code() result: reset the connection without an Error TLV. */
#define CV_NO_REPLY (-1)

struct cv_hdr {
	uint8_t version;
	enum cv_form form;
	size_t total_len; /* bytes: Total Length * 4 */
};

/* A parsed message.  Every pointer points into the parser's input buffer
 * and is valid only as long as that buffer is. */
struct cv_msg {
	struct cv_hdr hdr;
	unsigned present; /* CV_HAS_* */
	struct {
		uint16_t port;
		uint8_t addr[16];     /* IPv6 or IPv4-mapped */
		const uint8_t *opts;  /* TCP Options field without its zero padding */
		size_t opts_len;
	} connect;
	struct {
		const uint8_t *kinds; /* kind list without padding zeros */
		size_t n;
	} supported;
	struct {
		const uint8_t *data;  /* returned options, padding included */
		size_t len;
	} ext_tcp_hdr;
	struct {
		uint8_t code;
		/* Meaning by code (see cv_parse()): versions, echoed message,
		 * kinds, one byte, nothing, or the raw Value of unknown codes. */
		const uint8_t *value;
		size_t value_len;
	} error;
};

/* Parse the fixed header.  Returns CV_HDR_LEN, or
 *   HT_ERR_NEED_MORE   fewer than 4 bytes;
 *   HT_ERR_BAD_MAGIC   bits 16-31 neither 0 nor 0x2263 (form unknown);
 *   HT_ERR_BAD_VERSION version != 1 (h->form and h->version are set);
 *   HT_ERR_BAD_LENGTH  Total Length 0 (h->form is set).
 */
int cv_hdr_parse(const uint8_t *buf, size_t len, struct cv_hdr *h);

/* Parse the Convert message at the start of a bytestream.  buf may hold
 * more bytes than the message (they are the relayed bytestream) or fewer
 * (the caller reads more and calls again).  Returns the bytes the message
 * consumes (Total Length * 4), or
 *   the cv_hdr_parse() errors (m->hdr is set as described there);
 *   HT_ERR_NEED_MORE   header fine but fewer than Total Length * 4 bytes;
 *   HT_ERR_TRUNCATED   a TLV runs past Total Length;
 *   HT_ERR_BAD_LENGTH  TLV Length 0, or wrong for the TLV's type;
 *   HT_ERR_BAD_TYPE    type 0 or a type hatun does not know;
 *   HT_ERR_DUPLICATE   a type appears twice;
 *   HT_ERR_BAD_ADDRESS Connect address forbidden on the wire;
 *   HT_ERR_BAD_VALUE   a field holds a forbidden value (listed kind 1 or 2,
 *                      EOL/NOP in Connect options, bad Error Value...);
 *   HT_ERR_TRAILING    non-zero bytes after the zero padding of a list.
 * Error values: Unsupported Version → the version list; Malformed and
 * Unsupported Message → the echo (after the RFC 8803 zero byte), padding
 * included; Not Authorized and Connection Reset → empty; Unsupported TCP
 * Option → the kind(s); Resource Exceeded, Network Failure, Destination
 * Unreachable → one byte; unknown codes → the raw Value.
 * m is zeroed first, so on error it holds what was parsed before it. */
int cv_parse(const uint8_t *buf, size_t len, struct cv_msg *m);

/* HT_ERR_WRONG_SENDER if m holds a TLV that a client (from_client) or a
 * converter may not send, else 0.  Clients send Bootstrap, Connect and
 * Error; converters send Supported Services, Extended TCP Header and Error. */
int cv_msg_check_sender(const struct cv_msg *m, bool from_client);

/* The Convert error code a receiver answers a parse error with, or
 * CV_NO_REPLY: reset without writing anything (HT_ERR_BAD_MAGIC: not a
 * Convert stream; HT_ERR_NEED_MORE is no error; unknown codes).  Every
 * Error TLV is followed by a reset (Decision #4). */
int cv_err_to_code(int err);

/* ---- TCP Options field of the Connect TLV (Kind, Length >= 2, Value) ---- */

struct cv_opt {
	uint8_t kind;
	const uint8_t *value; /* Length - 2 bytes; may be empty */
	size_t value_len;
};

struct cv_opt_iter {
	const uint8_t *p;
	size_t len;
	size_t off; /* at the end: where the padding starts (the list length) */
	int state;  /* 0 walking, 1 at the end, < 0 the error */
};

void cv_opt_iter_init(struct cv_opt_iter *it, const uint8_t *opts, size_t len);

/* 1 and *o filled, 0 at the end (end of field, or a 0 byte followed only
 * by zeros: the padding), or
 *   HT_ERR_BAD_VALUE  kind 1 (NOP) listed;
 *   HT_ERR_BAD_LENGTH Length < 2;
 *   HT_ERR_TRUNCATED  the entry runs past the field;
 *   HT_ERR_TRAILING   a non-zero byte after the padding started.
 * Errors repeat on further calls. */
int cv_opt_next(struct cv_opt_iter *it, struct cv_opt *o);

/* What hatun's converter does with a kind listed in a Connect TLV
 * (draft -02 §5). */
enum cv_opt_action {
	CV_OPT_IGNORE, /* EOL, NOP, MSS, WS, SACK: the local stack decides */
	CV_OPT_PASS,   /* SACK-Permitted, Timestamps, MPTCP, TFO */
	CV_OPT_REFUSE, /* TCP-AO and anything unknown: error 33 with the kind */
};

enum cv_opt_action cv_opt_policy(uint8_t kind);

/* Whether a converter may list kind in Supported TCP Extension Services. */
bool cv_opt_announceable(uint8_t kind);

/* Walk a (padding-free or padded) options field and apply cv_opt_policy().
 * 0 if nothing is refused, HT_ERR_UNSUPPORTED with *refused set to the
 * first refused kind, or a cv_opt_next() error. */
int cv_opts_check(const uint8_t *opts, size_t len, uint8_t *refused);

/* ---- builder ----------------------------------------------------------- */

/* Writes one message into caller memory: begin, add TLVs, finish.  A failed
 * add leaves the message as it was.  Types may be added once each. */
struct cv_builder {
	uint8_t *buf;
	size_t cap;
	size_t len;
	enum cv_form form;
	unsigned present;
};

/* HT_ERR_NOBUF if cap < CV_HDR_LEN, HT_ERR_INVAL for a bad form. */
int cv_build_begin(struct cv_builder *b, uint8_t *buf, size_t cap, enum cv_form form);

/* Each add returns 0, or HT_ERR_DUPLICATE, HT_ERR_NOBUF (caller buffer),
 * HT_ERR_TOO_LONG (past 1020 bytes), HT_ERR_INVAL (bad arguments). */
int cv_build_add_bootstrap(struct cv_builder *b);

/* opts: complete entries, no padding (HT_ERR_INVAL otherwise, or the
 * cv_opt_next() error); HT_ERR_BAD_ADDRESS for a forbidden address. */
int cv_build_add_connect(struct cv_builder *b, uint16_t port, const uint8_t addr[16],
			 const uint8_t *opts, size_t opts_len);

/* Kinds 0, 1, 2 → HT_ERR_INVAL. */
int cv_build_add_supported(struct cv_builder *b, const uint8_t *kinds, size_t n);

int cv_build_add_ext_tcp_hdr(struct cv_builder *b, const uint8_t *data, size_t n);

/* Enforces the Value rule of each code (docs/protocol/convert.md):
 * Unsupported Version: n >= 1 non-zero versions; Malformed / Unsupported
 * Message: the received message, cut to what fits in 1020 bytes (a zero
 * byte precedes it in the RFC 8803 form); Not Authorized, Connection Reset:
 * n == 0; Unsupported TCP Option: one non-zero kind (-02) or n >= 1
 * (RFC 8803); Resource Exceeded, Network Failure (back-off seconds),
 * Destination Unreachable (ICMP code): n == 1.  Unknown codes: HT_ERR_INVAL. */
int cv_build_add_error(struct cv_builder *b, uint8_t code, const uint8_t *value, size_t n);

/* Writes the fixed header; returns the message length in bytes. */
int cv_build_finish(struct cv_builder *b);

#endif
