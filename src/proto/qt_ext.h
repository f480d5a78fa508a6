/* hatun — address assignment on the QUIC tunnel control stream: hatun's
 * extension TLVs (ALPN `qt` only, types 0x40-0x7F, docs/PROTOCOL.md
 * Decision 3).  docs/protocol/datagram-config.md is the specification.
 *
 * After the session negotiation (quic-tunnel-01 §6) the client may send
 * Address Request on its control stream (2); the concentrator answers on its
 * own (3) with a configuration: Address Assign*, Tunnel MTU, DNS Server*,
 * Route*, in any order, ended by Config Done.  Each configuration is
 * complete and replaces the previous one; the client applies it atomically.
 *
 * Generic TLV format (Type 8 | Length 8 = value bytes | Value).  Addresses
 * travel as IP Version (1 byte, 4 or 6) + 4 or 16 bytes; decoded, they are
 * 16 bytes with IPv4 in IPv4-mapped form (project convention) plus the
 * version, and IPv4 prefix lengths count IPv4 bits (0..32).
 *
 * Pure codecs: no allocation, no I/O, no dependency on qt_ctrl.c.
 */
#ifndef HATUN_PROTO_QT_EXT_H
#define HATUN_PROTO_QT_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qt_ctrl.h" /* enum qt_ctrl_role, QT_CTRL_EXT_FIRST (header only) */

enum {
	QT_EXT_ADDR_REQUEST = 0x40, /* client: 0..8 wanted prefixes */
	QT_EXT_ADDR_ASSIGN = 0x41,  /* concentrator: Version ‖ Address ‖ Prefix Length */
	QT_EXT_TUNNEL_MTU = 0x42,   /* concentrator: 16-bit MTU */
	QT_EXT_DNS_SERVER = 0x43,   /* concentrator: Version ‖ Address */
	QT_EXT_ROUTE = 0x44,        /* concentrator: Version ‖ Address ‖ Prefix Length */
	QT_EXT_CONFIG_DONE = 0x45,  /* concentrator: Length 0, ends a configuration */
	/* Unknown types in [QT_EXT_IGNORABLE_FIRST, QT_EXT_LAST] are skipped by
	 * the assembler (comprehension-optional); unknown types in
	 * [QT_CTRL_EXT_FIRST, QT_EXT_IGNORABLE_FIRST) are fatal. */
	QT_EXT_IGNORABLE_FIRST = 0x60,
	/* client, comprehension-optional: this connection's path preference
	 * (Scheduler 8 ‖ Flags 8 ‖ Weight 16), sessions.md "Path Preference" */
	QT_EXT_PATH_PREF = 0x60,
	QT_EXT_LAST = 0x7F,
};

/* Path Preference: the Scheduler values and the Flags bit. */
enum {
	QT_EXT_SCHED_MIN_RTT = 0,
	QT_EXT_SCHED_WEIGHTED = 1,
	QT_EXT_SCHED_REDUNDANT = 2,
	QT_EXT_SCHED_BACKUP_ONLY = 3,
};
#define QT_EXT_PREF_BACKUP 0x01u
#define QT_EXT_WEIGHT_MAX 1000u

/* Bounds per configuration / request (over → HT_ERR_TOO_LONG). */
#define QT_EXT_MAX_ADDRS 8u
#define QT_EXT_MAX_DNS 4u
#define QT_EXT_MAX_ROUTES 64u
#define QT_EXT_MTU_MIN_V4 576u
#define QT_EXT_MTU_MIN_V6 1280u
#define QT_EXT_TLV_MAX_SIZE 257u
/* Largest qt_ext_write_config() output: 8 IPv6 addresses, MTU, 4 IPv6 DNS
 * servers, 64 IPv6 routes, Done. */
#define QT_EXT_CONFIG_MAX_SIZE                                                                     \
	(QT_EXT_MAX_ADDRS * 20u + 4u + QT_EXT_MAX_DNS * 19u + QT_EXT_MAX_ROUTES * 20u + 2u)

/* An address or prefix.  addr is IPv4-mapped for version 4; len counts bits
 * of the version's own address (≤ 32 / ≤ 128).  For a DNS server len is the
 * full length (32 / 128): decoded so, and the writers want it so
 * (HT_ERR_INVAL otherwise, as for an IPv4 entry whose addr is not mapped). */
struct qt_ext_prefix {
	uint8_t version; /* 4 or 6 */
	uint8_t len;
	uint8_t addr[16];
};

/* Address Request: each entry asks for one address (len 32 / 128) or prefix
 * of its version; an all-zero address means "no preference". */
struct qt_ext_request {
	uint8_t n;
	struct qt_ext_prefix want[QT_EXT_MAX_ADDRS];
};

/* One whole configuration (in the order received within each kind). */
struct qt_ext_config {
	uint16_t mtu; /* 0 = none (only while assembling) */
	uint8_t naddr, ndns, nroute;
	struct qt_ext_prefix addr[QT_EXT_MAX_ADDRS];
	struct qt_ext_prefix dns[QT_EXT_MAX_DNS];
	struct qt_ext_prefix route[QT_EXT_MAX_ROUTES];
};

/* Path Preference: the client's scheduling policy for the session and
 * this connection's place in it.  Flags bits other than backup must be 0
 * (a later meaning gets a new TLV type, so an old peer skips it). */
struct qt_ext_path_pref {
	uint8_t scheduler; /* QT_EXT_SCHED_* */
	bool backup;
	uint16_t weight;   /* 1 .. QT_EXT_WEIGHT_MAX */
};

/* One decoded extension TLV; the member for its type is set. */
struct qt_ext_tlv {
	uint8_t type;
	uint8_t len;               /* the Length field */
	uint16_t mtu;              /* Tunnel MTU */
	struct qt_ext_path_pref pref; /* Path Preference */
	struct qt_ext_prefix p;    /* Address Assign, DNS Server, Route */
	struct qt_ext_request req; /* Address Request */
};

/* True for hatun's extension range 0x40-0x7F. */
bool qt_ext_is_ext_type(uint8_t type);

/* Decode the extension TLV at the start of buf, sent by `sender`.  Checks
 * run as soon as their bytes are there: the type and sender on byte 0, the
 * Length on byte 1, the value once complete.  tlv->type / tlv->len are set
 * once their bytes are there.  Returns bytes consumed (> 0), or
 *   HT_ERR_NEED_MORE     a prefix of a TLV (or nothing);
 *   HT_ERR_WRONG_SENDER  a client sent a concentrator type or vice versa;
 *   HT_ERR_BAD_TYPE      not one of the seven types above (needs 2 bytes);
 *   HT_ERR_BAD_LENGTH    Length impossible for the type, or not the one the
 *                        IP Version implies;
 *   HT_ERR_BAD_VALUE     IP Version not 4/6; prefix length over 32/128, 0 in
 *                        a request or assignment; host bits set; MTU < 576;
 *                        a Scheduler over 3, a Weight of 0 or over 1000, a
 *                        reserved Flags bit set;
 *   HT_ERR_BAD_ADDRESS   IPv6 entry holding an IPv4-mapped address;
 *                        assigned / DNS / preferred address unspecified,
 *                        loopback, multicast or broadcast; a route starting
 *                        in loopback, multicast, broadcast or link-local;
 *   HT_ERR_TOO_LONG      an Address Request with more than 8 entries;
 *   HT_ERR_DUPLICATE     the same entry twice in one Address Request;
 *   HT_ERR_INVAL         NULL tlv, NULL buf with len > 0, bad sender. */
int qt_ext_parse(struct qt_ext_tlv *tlv, const uint8_t *buf, size_t len, enum qt_ctrl_role sender);

/* Serializers: bytes written, or HT_ERR_NOBUF (nothing written), HT_ERR_INVAL
 * (NULL), or the error qt_ext_parse() would return for the value (the writers
 * never produce what the parser rejects). */
int qt_ext_write_addr_request(uint8_t *buf, size_t cap, const struct qt_ext_request *r);
int qt_ext_write_addr_assign(uint8_t *buf, size_t cap, const struct qt_ext_prefix *p);
int qt_ext_write_tunnel_mtu(uint8_t *buf, size_t cap, uint16_t mtu);
int qt_ext_write_dns_server(uint8_t *buf, size_t cap, const struct qt_ext_prefix *p);
int qt_ext_write_route(uint8_t *buf, size_t cap, const struct qt_ext_prefix *p);
int qt_ext_write_config_done(uint8_t *buf, size_t cap);
int qt_ext_write_path_pref(uint8_t *buf, size_t cap, const struct qt_ext_path_pref *p);
/* Any of the seven from a decoded TLV; HT_ERR_BAD_TYPE for another type. */
int qt_ext_write(uint8_t *buf, size_t cap, const struct qt_ext_tlv *tlv);

/* The whole-configuration rules (the receiver applies them at Config Done):
 * every entry as qt_ext_parse(); counts ≤ 8 / 4 / 64 (HT_ERR_TOO_LONG); no
 * entry twice (HT_ERR_DUPLICATE); an MTU present (HT_ERR_TRUNCATED), ≥ 1280 if
 * any entry is IPv6 (HT_ERR_BAD_VALUE); no DNS server or route of a version
 * without an assigned address of that version (HT_ERR_MISMATCH). */
int qt_ext_config_check(const struct qt_ext_config *c);

/* Write a whole configuration: Address Assign..., Tunnel MTU, DNS Server...,
 * Route..., Config Done.  Bytes written (≤ QT_EXT_CONFIG_MAX_SIZE), or the
 * qt_ext_config_check() error, HT_ERR_NOBUF (nothing written), HT_ERR_INVAL. */
int qt_ext_write_config(uint8_t *buf, size_t cap, const struct qt_ext_config *c);

/* Field-by-field equality (same entries in the same order). */
bool qt_ext_config_equal(const struct qt_ext_config *a, const struct qt_ext_config *b);

/* What the assembler hands out: type is QT_EXT_ADDR_REQUEST (req set),
 * QT_EXT_PATH_PREF (pref set) or QT_EXT_CONFIG_DONE (cfg set, complete and
 * checked). */
struct qt_ext_msg {
	uint8_t type;
	struct qt_ext_request req;
	struct qt_ext_path_pref pref;
	struct qt_ext_config cfg;
};

/* Receive side of the extension phase of the peer's control stream: the
 * bytes after the session negotiation TLV.  No allocation, bounded.  Fields
 * other than the documented ones are private. */
struct qt_ext_asm {
	uint8_t role;      /* enum qt_ctrl_role of THIS endpoint */
	bool fin;          /* the peer's control stream ended cleanly */
	int err;           /* sticky error, or 0 */
	uint32_t ignored;  /* comprehension-optional TLVs skipped */
	uint32_t messages; /* requests / configurations delivered */
	bool open;         /* a configuration has started (TLVs before Done) */
	uint16_t have;     /* bytes of a partial TLV in buf */
	struct qt_ext_config cur;
	uint8_t buf[QT_EXT_TLV_MAX_SIZE];
};

void qt_ext_asm_init(struct qt_ext_asm *a, enum qt_ctrl_role local_role);

/* Feed the next read of the peer's control stream, extension phase (fin: it
 * ends there).  TLVs may be split anywhere.  Delivers at most one message per
 * call: *consumed says how much of data was used; call again with the rest.
 * Returns
 *   1  *out holds an Address Request or a Path Preference (concentrator)
 *      or a configuration (client);
 *   0  everything consumed, no message complete (or a clean FIN);
 *   HT_ERR_ORDER        a negotiation TLV (0x00-0x02) again;
 *   HT_ERR_BAD_TYPE     any other type outside 0x40-0x7F, or an unknown
 *                       type in 0x40-0x5F (unknown 0x60-0x7F are skipped);
 *   HT_ERR_TOO_LONG     a 9th address, 5th DNS server or 65th route;
 *   HT_ERR_DUPLICATE    a second Tunnel MTU, or an entry repeated;
 *   HT_ERR_TRUNCATED    FIN inside a TLV or inside a configuration;
 *   HT_ERR_TRAILING     data after FIN;
 *   any qt_ext_parse() or qt_ext_config_check() error;
 *   HT_ERR_INVAL        NULL pointer.
 * Errors are sticky; the reaction is RESET_STREAM / STOP_SENDING with
 * qt_ctrl_reset_code(err). */
int qt_ext_asm_feed(struct qt_ext_asm *a, const uint8_t *data, size_t len, bool fin,
                    size_t *consumed, struct qt_ext_msg *out);

#endif
