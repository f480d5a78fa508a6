/* hatun — one negative error space for every sans-I/O codec.
 *
 * Every parser and serializer in src/proto returns either a non-negative
 * value (bytes consumed / written, or HT_OK) or one of these codes.  Each
 * function documents which codes it can return, so the layer above can map
 * them to the on-wire reaction the specification asks for (an Error TLV, a
 * RESET_STREAM code, a STUN error response, a Convert error code).
 */
#ifndef HATUN_PROTO_ERR_H
#define HATUN_PROTO_ERR_H

typedef enum ht_err {
	HT_OK = 0,
	HT_ERR_NEED_MORE = -1,    /* input ends early; more bytes may complete it */
	HT_ERR_NOBUF = -2,        /* caller's output buffer is too small */
	HT_ERR_TRUNCATED = -3,    /* a length field runs past the end of a complete unit */
	HT_ERR_BAD_LENGTH = -4,   /* a length field holds a value the format forbids */
	HT_ERR_BAD_TYPE = -5,     /* unknown or unsupported type */
	HT_ERR_BAD_ADDRESS = -6,  /* address the format forbids (multicast, loopback, not IPv6...) */
	HT_ERR_DUPLICATE = -7,    /* an element allowed once appears twice */
	HT_ERR_ORDER = -8,        /* an element where the protocol forbids it (state, position) */
	HT_ERR_WRONG_SENDER = -9, /* this role may not send this element */
	HT_ERR_BAD_VERSION = -10, /* unsupported protocol version */
	HT_ERR_BAD_MAGIC = -11,   /* magic cookie / number mismatch */
	HT_ERR_BAD_VALUE = -12,   /* a field holds a value the format forbids */
	HT_ERR_TRAILING = -13,    /* bytes after the end of a self-delimited unit */
	HT_ERR_INTEGRITY = -14,   /* message authentication (HMAC) check failed */
	HT_ERR_FINGERPRINT = -15, /* checksum (CRC) check failed */
	HT_ERR_MISMATCH = -16,    /* payload contradicts its declared type */
	HT_ERR_TOO_LONG = -17,    /* exceeds the protocol's maximum size */
	HT_ERR_INVAL = -18,       /* the caller passed invalid arguments */
	HT_ERR_CRYPTO = -19,      /* the crypto library failed */
	HT_ERR_UNSUPPORTED = -20, /* valid on the wire, but not supported here */
	/* New codes go here, above HT_ERR__LAST, with a string in err.c. */
	HT_ERR__LAST = -21
} ht_err;

/* A short, stable, human description of an ht_err for log lines.
 * Never returns NULL. */
const char *ht_strerror(int err);

#endif
