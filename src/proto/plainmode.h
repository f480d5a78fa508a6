/* hatun — codec of the Plain Mode MPTCP option (draft-boucadair-mptcp-plain-mode-03;
 * docs/protocol/plain-mode.md).
 *
 *   Kind 30 | Length | Subtype(4) D(1) U(1) Flags(10) | Address (4|16) | [Port]
 *
 * Length alone says the family and whether a port follows: 8 IPv4,
 * 10 IPv4 + port, 20 IPv6, 22 IPv6 + port.  The subtype was never
 * assigned; hatun uses the private 0xF unless configured otherwise, so
 * every call takes the subtype to look for.  Sans-I/O, no allocation.
 */
#ifndef HATUN_PROTO_PLAINMODE_H
#define HATUN_PROTO_PLAINMODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PM_KIND 30                 /* MPTCP */
#define PM_SUBTYPE_DEFAULT 0xF     /* MPTCP private-use subtype */
#define PM_MAX_LEN 22

struct pm_opt {
	bool source;       /* D bit: 1 = address (and port) is the source, 0 = destination */
	bool udp;          /* U bit: the TCP-formatted packet carries a UDP datagram */
	bool v6;           /* IPv6 address (else IPv4, held IPv4-mapped) */
	bool has_port;
	uint8_t addr[16];  /* IPv6, or ::ffff:a.b.c.d for IPv4 */
	uint16_t port;     /* valid if has_port */
	uint16_t reserved; /* the 10 flag bits as received; ignored, never sent */
};

/* Length of the option that o encodes (8, 10, 20 or 22). */
size_t pm_opt_len(const struct pm_opt *o);

/* Parse one option occupying exactly buf[0..len).  Returns len, or
 *   HT_ERR_TRUNCATED  len < 3, or the Length field says more than len;
 *   HT_ERR_TRAILING   the Length field says less than len;
 *   HT_ERR_BAD_TYPE   Kind is not 30, or another MPTCP subtype (callers
 *                     skip it: it is some other MPTCP option);
 *   HT_ERR_BAD_LENGTH Length < 3 (no room for a subtype), or a plain-mode
 *                     option whose Length is not 8, 10, 20 or 22;
 *   HT_ERR_INVAL      subtype > 15. */
int pm_parse(const uint8_t *buf, size_t len, uint8_t subtype, struct pm_opt *o);

/* Write o as one option.  Returns its length, or HT_ERR_NOBUF, or
 * HT_ERR_INVAL (subtype > 15, or !v6 with an address that is not
 * IPv4-mapped).  The flag bits are written as 0. */
int pm_write(uint8_t *buf, size_t cap, uint8_t subtype, const struct pm_opt *o);

/* Find the plain-mode option in a TCP header's options block (the bytes
 * after the 20-byte header: EOL ends the list, NOP is one byte, every
 * other option has a Length >= 2 within the block).  The whole block is
 * validated.  Returns 1 with *o filled and *at = its offset, 0 if there is
 * no plain-mode option, or
 *   HT_ERR_TRUNCATED  an option runs past the block;
 *   HT_ERR_BAD_LENGTH an option Length < 2, or a bad plain-mode Length;
 *   HT_ERR_DUPLICATE  two plain-mode options;
 *   HT_ERR_INVAL      subtype > 15. */
int pm_find(const uint8_t *opts, size_t len, uint8_t subtype, struct pm_opt *o, size_t *at);

#endif
