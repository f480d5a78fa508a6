/* hatun — QUIC tunnel stream-mode TLVs (draft-piraux-quic-tunnel-00 §7.1,
 * wire-formats.md §1.2-1.8).
 *
 * Every tunnelled TCP connection is one bidirectional QUIC stream that starts
 * with a few TLVs (Type 8 | Length 8 | Value), ends them with an End TLV and
 * then carries the raw TCP bytestream:
 *
 *   offset 0                 offset 20  offset 22
 *   | 00 12 <port:2> <ip:16> | ff 00    | TCP bytestream ...
 *
 * Two layers:
 *  - qt_tlv_parse() / qt_tlv_write_*(): one TLV over a flat buffer, with the
 *    per-TLV rules (exact Length per type, forbidden addresses).
 *  - struct qt_stream_parser: the per-stream header state machine, fed the
 *    stream's reads as they come (split anywhere), which adds the per-stream
 *    rules (stream origin, at most one Connect, End after Error, ...).
 *
 * Pure codecs: no allocation, no I/O.  Addresses are always 16 bytes, IPv4 in
 * IPv4-mapped form (::ffff:a.b.c.d); ports are in host byte order here.
 * docs/protocol/quic-tunnel.md has the on-receipt rule → reaction table.
 */
#ifndef HATUN_PROTO_QT_STREAM_H
#define HATUN_PROTO_QT_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TLV types (-00 §7.1, Figure 4). */
enum {
	QT_TLV_CONNECT = 0x00,
	QT_TLV_EXT_CONNECT = 0x01,
	QT_TLV_CONNECT_OK = 0x02,
	QT_TLV_ERROR = 0x03,
	QT_TLV_END = 0xff,
};

/* Sizes.  *_LEN is the Length field (Value bytes), *_SIZE the whole TLV. */
#define QT_TLV_HDR_SIZE 2u
#define QT_TLV_CONNECT_LEN 18u
#define QT_TLV_CONNECT_SIZE 20u
#define QT_TLV_EXT_CONNECT_LEN 36u
#define QT_TLV_EXT_CONNECT_SIZE 38u
#define QT_TLV_CONNECT_OK_SIZE 2u
#define QT_TLV_END_SIZE 2u
#define QT_TLV_ERROR_MIN_LEN 2u       /* Error Code only */
#define QT_TLV_ERROR_PAYLOAD_MAX 253u /* 255 - the 2-byte Error Code */
#define QT_TLV_MAX_SIZE 257u          /* 2 + 255: the largest TLV of any type */

/* Error TLV codes, seed 000's table (Decision #1).  Note that the published
 * -00 and -tcp-* renumbered these (0 = Protocol Violation there). */
enum {
	QT_ERR_UNKNOWN_TLV = 0x0, /* payload = the received type byte */
	QT_ERR_ICMP = 0x1,        /* payload = the ICMP packet, truncated */
	QT_ERR_MALFORMED_TLV = 0x2,
	QT_ERR_NETWORK_FAILURE = 0x3,
	QT_ERR_PROTOCOL_VIOLATION = 0x4,
};

/* RESET_STREAM / STOP_SENDING application error code for a stream reset
 * because its TCP connection was reset (-tcp-00: TCP_CONNECTION_RESET). */
#define QT_STREAM_RESET_TCP_CONNECTION_RESET 0x0u

/* One endpoint of the tunnelled TCP connection. */
struct qt_peer {
	uint8_t addr[16]; /* IPv6, or IPv4-mapped IPv6 */
	uint16_t port;    /* host byte order */
};

/* One decoded TLV.  For QT_TLV_ERROR, payload points into the parsed buffer
 * and lives as long as it does. */
struct qt_tlv {
	uint8_t type;
	uint8_t len;            /* the Length field */
	struct qt_peer remote;  /* Connect, Extended Connect */
	struct qt_peer local;   /* Extended Connect */
	uint16_t error_code;    /* Error */
	const uint8_t *payload; /* Error: optional payload, NULL if none */
	size_t payload_len;
};

/* ---- one TLV over a flat buffer ------------------------------------------ */

/* Decode the TLV at the start of buf.  Errors are reported as early as the
 * bytes allow: an unknown type after 1 byte, a bad Length after 2.  tlv->type
 * is set whenever buf is non-empty (so the caller can answer an unknown type
 * with QT_ERR_UNKNOWN_TLV and the type as payload), tlv->len once known.
 * Returns bytes consumed (> 0), or
 *   HT_ERR_NEED_MORE   buf holds a prefix of a TLV (or is empty);
 *   HT_ERR_BAD_TYPE    not one of the five -00 types;
 *   HT_ERR_BAD_LENGTH  a known type with a Length its type forbids;
 *   HT_ERR_BAD_ADDRESS Remote or Local Peer IP is unspecified, loopback,
 *                      multicast or broadcast (ht_addr_forbidden_on_wire);
 *   HT_ERR_INVAL       tlv is NULL, or buf is NULL with len > 0. */
int qt_tlv_parse(struct qt_tlv *tlv, const uint8_t *buf, size_t len);

/* The serializers write one TLV at buf and return the bytes written, or
 *   HT_ERR_NOBUF       cap is too small (nothing is written);
 *   HT_ERR_INVAL       a required pointer is NULL;
 * and where noted HT_ERR_BAD_ADDRESS / HT_ERR_TOO_LONG. */

/* 20 bytes.  Also HT_ERR_BAD_ADDRESS for a forbidden remote address. */
int qt_tlv_write_connect(uint8_t *buf, size_t cap, const struct qt_peer *remote);

/* 38 bytes, Local Peer IP unaligned at byte 22.  Also HT_ERR_BAD_ADDRESS if
 * either address is forbidden. */
int qt_tlv_write_ext_connect(uint8_t *buf, size_t cap, const struct qt_peer *remote,
                             const struct qt_peer *local);

/* 2 bytes. */
int qt_tlv_write_connect_ok(uint8_t *buf, size_t cap);

/* 2 bytes. */
int qt_tlv_write_end(uint8_t *buf, size_t cap);

/* 4 + payload_len bytes.  payload may be NULL when payload_len is 0.  Also
 * HT_ERR_TOO_LONG when payload_len > QT_TLV_ERROR_PAYLOAD_MAX. */
int qt_tlv_write_error(uint8_t *buf, size_t cap, uint16_t code, const uint8_t *payload,
                       size_t payload_len);

/* Error TLV with code QT_ERR_ICMP carrying the first
 * min(icmp_len, QT_TLV_ERROR_PAYLOAD_MAX) bytes of the ICMP packet: the
 * truncation depends only on the TLV limit, never on cap, so the bytes on
 * the wire do not depend on the caller's buffer.  Never HT_ERR_TOO_LONG. */
int qt_tlv_write_error_icmp(uint8_t *buf, size_t cap, const uint8_t *icmp, size_t icmp_len);

/* Any of the above from a struct qt_tlv (uses the fields its type needs).
 * Also HT_ERR_BAD_TYPE for a type that is not one of the five. */
int qt_tlv_write(uint8_t *buf, size_t cap, const struct qt_tlv *tlv);

/* ---- the per-stream TLV header ------------------------------------------- */

/* What a stream's header has carried so far (flags in qt_stream_info.seen). */
enum {
	QT_SEEN_CONNECT = 1u << 0,
	QT_SEEN_EXT_CONNECT = 1u << 1,
	QT_SEEN_CONNECT_OK = 1u << 2,
	QT_SEEN_ERROR = 1u << 3,
	QT_SEEN_END = 1u << 4,
};

struct qt_stream_info {
	unsigned seen;         /* QT_SEEN_* */
	struct qt_peer remote; /* Connect / Extended Connect destination */
	struct qt_peer local;  /* Extended Connect source */
	uint16_t error_code;   /* of the FIRST Error TLV */
	uint8_t error_payload_len;
	uint8_t error_payload[QT_TLV_ERROR_PAYLOAD_MAX];
	uint8_t error_count; /* Error TLVs seen, saturates at 255 */
};

/* Incremental parser of one stream's header.  Initialise with
 * qt_stream_parser_init(); no allocation, no teardown.  Fields other than
 * info, bad_type and err are private. */
struct qt_stream_parser {
	bool peer_opened; /* the stream was opened by the peer */
	uint8_t state;
	uint16_t have;    /* bytes of a partial TLV in buf */
	int err;          /* sticky error once failed, else 0 */
	uint8_t bad_type; /* type byte of the TLV that failed (if any) */
	struct qt_stream_info info;
	uint8_t buf[QT_TLV_MAX_SIZE];
};

/* peer_opened: true when the peer opened the stream (it then must send a
 * Connect or Extended Connect), false when this endpoint opened it (the peer
 * then answers with Connect OK or Error). */
void qt_stream_parser_init(struct qt_stream_parser *p, bool peer_opened);

/* Feed the next read of the stream (len may be 0; fin: data ends the
 * stream).  Call it for every read, also after the header: it keeps
 * answering where the bytestream starts in each chunk.
 * Returns
 *   >= 0  the End TLV has been parsed: the TCP bytestream starts at data +
 *         return value (== len when this chunk holds no bytestream; 0 for
 *         every chunk after the one holding End);
 *   HT_ERR_NEED_MORE   every byte was header, End not yet seen;
 *   HT_ERR_TRUNCATED   fin before End: the stream ended inside its header;
 *   HT_ERR_BAD_TYPE    unknown TLV type (its type byte is in p->bad_type);
 *   HT_ERR_BAD_LENGTH, HT_ERR_BAD_ADDRESS   as qt_tlv_parse();
 *   HT_ERR_WRONG_SENDER  Connect / Extended Connect on a stream this
 *                      endpoint opened, or Connect OK on one the peer opened;
 *   HT_ERR_DUPLICATE   a second Connect / Extended Connect (they are
 *                      mutually exclusive) or a second Connect OK;
 *   HT_ERR_ORDER       Connect, Extended Connect or Connect OK after an
 *                      Error TLV; End on a peer-opened stream without a
 *                      Connect; End on our stream without Connect OK or Error;
 *   HT_ERR_TRAILING    bytestream data after "Error..., End" (the sender
 *                      MUST FIN right after that End);
 *   HT_ERR_INVAL       p is NULL, or data is NULL with len > 0.
 * Errors are sticky: every later call returns the same code.  What was seen
 * so far is in p->info at any time (e.g. act on a Connect before End). */
int qt_stream_parser_feed(struct qt_stream_parser *p, const uint8_t *data, size_t len, bool fin);

/* Error TLV code the receiver sends for a qt_stream_parser_feed() or
 * qt_tlv_parse() failure: HT_ERR_BAD_TYPE → QT_ERR_UNKNOWN_TLV;
 * HT_ERR_BAD_LENGTH, HT_ERR_BAD_ADDRESS → QT_ERR_MALFORMED_TLV; everything
 * else (WRONG_SENDER, DUPLICATE, ORDER, TRAILING, TRUNCATED, ...) →
 * QT_ERR_PROTOCOL_VIOLATION. */
uint16_t qt_stream_error_code(int err);

/* Write the receiver's answer to p's failure on a PEER-OPENED stream: an
 * Error TLV (code from qt_stream_error_code(), payload = the type byte for
 * QT_ERR_UNKNOWN_TLV) followed by an End TLV, as the first bytes we send on
 * the stream; the caller then FINs it.  On a stream we opened our header has
 * already gone out, so there is no Error TLV to send: the caller sends
 * STOP_SENDING + RESET_STREAM (QT_STREAM_RESET_TCP_CONNECTION_RESET).
 * Returns bytes written (6 or 7), or HT_ERR_NOBUF (nothing written), or
 * HT_ERR_INVAL if p has not failed or the stream is ours. */
int qt_stream_write_reject(uint8_t *buf, size_t cap, const struct qt_stream_parser *p);

#endif
