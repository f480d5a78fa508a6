/* hatun — pure helpers of the tunnel entry points: HOST:PORT and -L
 * specifications, and the mapping of a concentrator's answer to a SOCKS5
 * reply code.  No I/O (no name resolution), no allocation. */
#ifndef HATUN_TUNNEL_SPEC_H
#define HATUN_TUNNEL_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HT_NAME_MAX 253u /* a DNS name in presentation form, no trailing dot */

struct ht_hostport {
	bool is_name;                /* name[] holds a host name, addr is zero */
	uint8_t addr[16];            /* IP literal (IPv4-mapped for IPv4) */
	uint16_t port;               /* host order, 1..65535 */
	char name[HT_NAME_MAX + 1];  /* NUL-terminated */
};

/* "192.0.2.1:80", "[2001:db8::1]:80", "example.com:80".  With
 * default_port > 0 the ":PORT" may be left out.  allow_name: accept a host
 * name (letters, digits, '-', '_', '.'; labels 1..63; total <= 253).
 * Returns 0, or -1 with a short reason in *why. */
int ht_hostport_parse(const char *s, bool allow_name, uint16_t default_port,
		      struct ht_hostport *out, const char **why);

/* One -L forward: "[BIND:]PORT:HOST:PORT" as in ssh; BIND defaults to
 * 127.0.0.1 and may be "[::1]" style; HOST an IP literal or a name. */
struct ht_fwd {
	struct ht_hostport bind; /* never a name */
	struct ht_hostport dst;
};
int ht_fwd_parse(const char *s, struct ht_fwd *out, const char **why);

/* The SOCKS5 REP for an Error TLV (code, payload) answering a Connect to
 * dst (16 bytes, IPv4-mapped for IPv4):
 *   0x1 ICMP packet received -> by the ICMP message (icmp_reason): net
 *       unreachable 3, host unreachable 4, port/protocol unreachable 5,
 *       administratively prohibited 2 (also the concentrator's policy
 *       refusal), time exceeded 6, anything else 1;
 *   0x3 Network Failure -> 4 (connect timeout or no route at the far end);
 *   any other code -> 1. */
uint8_t ht_socks_rep_for_error(uint16_t code, const uint8_t *payload, size_t len,
			       const uint8_t dst[16]);

/* A human reason for the same, for log lines ("icmp host unreachable"...). */
const char *ht_error_tlv_str(uint16_t code, const uint8_t *payload, size_t len,
			     const uint8_t dst[16]);

/* Parse a non-negative decimal in [min, max].  0 or -1. */
int ht_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Seconds with up to 3 decimals ("10", "0.5") in (0, max_s]: ns. 0 or -1. */
int ht_parse_seconds(const char *s, uint64_t max_s, uint64_t *ns);

#endif
