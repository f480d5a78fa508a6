/* hatun — SOCKS Protocol Version 5 (RFC 1928), the client entry point.
 *
 * hatun is the SOCKS server; it supports the NO AUTHENTICATION method and the
 * CONNECT command, to IPv4, IPv6 and domain-name destinations:
 *
 *   client                               hatun
 *   05 NMETHODS METHODS...          →                       greeting
 *                                   ←  05 00 | 05 FF        method reply
 *   05 CMD RSV ATYP DST.ADDR DST.PORT →                     request
 *                                   ←  05 REP 00 ATYP BND.ADDR BND.PORT
 *
 * The parsers are for a byte stream: they take what has arrived so far and
 * return the number of bytes the message occupies (> 0), or
 * HT_ERR_NEED_MORE while it is incomplete, or an error as soon as the byte
 * that decides it has arrived.  Bytes after the message are not theirs: an
 * optimistic client may send its first data right behind the request, and
 * the caller keeps them for the destination.  For any input, a prefix of it
 * gives either HT_ERR_NEED_MORE or the same result.
 *
 * Pure codecs: no allocation, no I/O.  Addresses are 16 bytes, IPv4 in
 * IPv4-mapped form (::ffff:a.b.c.d); ports in host byte order; domain names
 * point into the parsed buffer and are not NUL-terminated.
 * docs/protocol/socks5.md has the error → reply table.
 */
#ifndef HATUN_PROTO_SOCKS5_H
#define HATUN_PROTO_SOCKS5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SOCKS5_VERSION 0x05u

/* Methods (RFC 1928 §3). */
#define SOCKS5_METHOD_NO_AUTH 0x00u
#define SOCKS5_METHOD_GSSAPI 0x01u
#define SOCKS5_METHOD_USERPASS 0x02u
#define SOCKS5_METHOD_NONE_ACCEPTABLE 0xffu

/* Commands (§4). */
#define SOCKS5_CMD_CONNECT 0x01u
#define SOCKS5_CMD_BIND 0x02u
#define SOCKS5_CMD_UDP_ASSOCIATE 0x03u

/* Address types (§5). */
#define SOCKS5_ATYP_IPV4 0x01u
#define SOCKS5_ATYP_DOMAIN 0x03u
#define SOCKS5_ATYP_IPV6 0x04u

/* Reply codes, the REP field (§6). */
enum socks5_rep {
	SOCKS5_REP_SUCCEEDED = 0x00,
	SOCKS5_REP_GENERAL_FAILURE = 0x01,
	SOCKS5_REP_NOT_ALLOWED = 0x02, /* connection not allowed by ruleset */
	SOCKS5_REP_NET_UNREACHABLE = 0x03,
	SOCKS5_REP_HOST_UNREACHABLE = 0x04,
	SOCKS5_REP_CONN_REFUSED = 0x05,
	SOCKS5_REP_TTL_EXPIRED = 0x06,
	SOCKS5_REP_CMD_NOT_SUPPORTED = 0x07,
	SOCKS5_REP_ATYP_NOT_SUPPORTED = 0x08,
};

/* socks5_error_rep(): close the connection without sending anything. */
#define SOCKS5_NO_REPLY (-1)

/* Sizes. */
#define SOCKS5_GREETING_MAX 257u /* 2 + 255 methods */
#define SOCKS5_METHOD_REPLY_SIZE 2u
#define SOCKS5_DOMAIN_MAX 255u
#define SOCKS5_MSG_MAX 262u /* 4 + 1 + 255 + 2: request or reply */
#define SOCKS5_REPLY_V4_SIZE 10u
#define SOCKS5_REPLY_V6_SIZE 22u

struct socks5_greeting {
	bool no_auth;           /* SOCKS5_METHOD_NO_AUTH is among the methods */
	uint8_t nmethods;       /* 1..255 */
	const uint8_t *methods; /* into the parsed buffer, nmethods bytes */
};

/* DST in a request, BND in a reply. */
struct socks5_addr {
	uint8_t atyp;        /* SOCKS5_ATYP_* as received */
	uint8_t addr[16];    /* IPV4 (mapped) and IPV6; zero for DOMAIN */
	const uint8_t *name; /* DOMAIN: into the parsed buffer, NULL otherwise */
	size_t name_len;     /* DOMAIN: 1..255, no NUL byte */
	uint16_t port;
};

struct socks5_request {
	uint8_t cmd; /* SOCKS5_CMD_* as received */
	uint8_t rsv; /* as received; hatun ignores it (see socks5_parse_request) */
	struct socks5_addr dst;
};

struct socks5_reply {
	uint8_t rep; /* enum socks5_rep, or any other value as received */
	uint8_t rsv;
	struct socks5_addr bnd;
};

/* Which message a parse error came from, for socks5_error_rep(). */
enum socks5_stage {
	SOCKS5_STAGE_GREETING,
	SOCKS5_STAGE_REQUEST,
};

/* ---- server side -------------------------------------------------------- */

/* The client's method-selection greeting: VER NMETHODS METHODS.
 * A greeting without NO AUTH is valid (no_auth = false): answer it with
 * socks5_write_method_reply(SOCKS5_METHOD_NONE_ACCEPTABLE) and close.
 * Returns the bytes consumed (2 + NMETHODS), or
 *   HT_ERR_NEED_MORE    incomplete;
 *   HT_ERR_BAD_VERSION  VER is not 5 (a SOCKS4 client, HTTP, TLS...);
 *   HT_ERR_BAD_LENGTH   NMETHODS is 0;
 *   HT_ERR_INVAL        g NULL, or buf NULL with len > 0. */
int socks5_parse_greeting(struct socks5_greeting *g, const uint8_t *buf, size_t len);

/* Write VER METHOD (05 00 to proceed, 05 FF to refuse).
 * Returns 2, or HT_ERR_NOBUF, HT_ERR_INVAL (out NULL). */
int socks5_write_method_reply(uint8_t *out, size_t cap, uint8_t method);

/* The client's request: VER CMD RSV ATYP DST.ADDR DST.PORT.
 * RSV is lenient: RFC 1928 gives it no meaning and no receiver rule, so any
 * value is accepted and reported in r->rsv (hatun always sends 0).
 * Checks run in wire order; on error the fields already read are set, so the
 * caller can log what was refused.  Returns the bytes consumed, or
 *   HT_ERR_NEED_MORE    incomplete;
 *   HT_ERR_BAD_VERSION  VER is not 5;
 *   HT_ERR_UNSUPPORTED  CMD is not CONNECT: BIND, UDP ASSOCIATE or an
 *                       unknown command (r->cmd says which) → REP 07;
 *   HT_ERR_BAD_TYPE     ATYP is not 1, 3 or 4 → REP 08;
 *   HT_ERR_BAD_LENGTH   domain name of length 0 → REP 01;
 *   HT_ERR_BAD_VALUE    domain name containing a NUL byte → REP 01;
 *   HT_ERR_INVAL        r NULL, or buf NULL with len > 0. */
int socks5_parse_request(struct socks5_request *r, const uint8_t *buf, size_t len);

/* Write VER REP RSV=0 ATYP BND.ADDR BND.PORT.  bnd is the 16-byte bound
 * address (IPv4-mapped → ATYP 1, 10 bytes; otherwise ATYP 4, 22 bytes), or
 * NULL for 0.0.0.0 (what a failure reply carries).
 * Returns the bytes written, or HT_ERR_NOBUF, HT_ERR_INVAL (out NULL). */
int socks5_write_reply(uint8_t *out, size_t cap, uint8_t rep, const uint8_t bnd[16], uint16_t port);

/* The REP to send after a failed parse at `stage`, or SOCKS5_NO_REPLY.
 *   GREETING  every error → SOCKS5_NO_REPLY (there is no reply format for a
 *             broken greeting; a missing NO AUTH is not an error);
 *   REQUEST   HT_ERR_BAD_VERSION, HT_ERR_NEED_MORE (the peer gave up in the
 *             middle) → SOCKS5_NO_REPLY; HT_ERR_UNSUPPORTED → 07;
 *             HT_ERR_BAD_TYPE → 08; any other error → 01.
 * err >= 0 (not an error) → SOCKS5_NO_REPLY. */
int socks5_error_rep(enum socks5_stage stage, int err);

/* The REP for the errno of a failed connect(2): ECONNREFUSED → 05,
 * ENETUNREACH / ENETDOWN → 03, EHOSTUNREACH / EHOSTDOWN / ETIMEDOUT → 04,
 * EACCES / EPERM (a local firewall) → 02, anything else → 01.  A destination
 * refused by the policy module is REP 02 too. */
enum socks5_rep socks5_rep_from_errno(int errnum);

/* A short name of a REP code for log lines ("succeeded", ...); never NULL. */
const char *socks5_rep_str(int rep);

/* ---- client side (tests, the fuzz oracle, a future upstream proxy) ------- */

/* Write VER NMETHODS METHODS.  Returns the bytes written, or HT_ERR_NOBUF,
 * HT_ERR_INVAL (out or methods NULL, n 0 or over 255). */
int socks5_write_greeting(uint8_t *out, size_t cap, const uint8_t *methods, size_t n);

/* Parse VER METHOD.  Returns 2, or HT_ERR_NEED_MORE, HT_ERR_BAD_VERSION,
 * HT_ERR_INVAL. */
int socks5_parse_method_reply(uint8_t *method, const uint8_t *buf, size_t len);

/* Write a request.  r->dst.atyp chooses the encoding: IPV4 needs an
 * IPv4-mapped r->dst.addr, DOMAIN a name of 1..255 bytes without NUL.
 * r->rsv is ignored (RSV = 0 is written).  Returns the bytes written, or
 * HT_ERR_NOBUF, HT_ERR_INVAL (anything else). */
int socks5_write_request(uint8_t *out, size_t cap, const struct socks5_request *r);

/* Parse a reply, with the address rules of socks5_parse_request (REP may be
 * any value).  Returns the bytes consumed, or HT_ERR_NEED_MORE,
 * HT_ERR_BAD_VERSION, HT_ERR_BAD_TYPE, HT_ERR_BAD_LENGTH, HT_ERR_BAD_VALUE,
 * HT_ERR_INVAL. */
int socks5_parse_reply(struct socks5_reply *r, const uint8_t *buf, size_t len);

#endif
