/* libFuzzer harness for src/tunnel/ippkt.c (IP packet helpers of datagram
 * mode).
 *
 * Input: byte 0 = flags (bit 0: treat the packet as an Ethernet frame for
 * the flow hash and the pure-ACK test), bytes 1-2 = tunnel MTU (576 + value % 8960), the rest =
 * the packet.  Every function runs on it; oracles (abort() on failure):
 *  1. MSS clamp, checksum oracle: when the packet has a TCP header where
 *     ippkt looks for one, the harness first makes its checksum valid
 *     (over the pseudo-header and the bytes to the end of the buffer);
 *     after ht_ippkt_clamp_mss the checksum must still verify; a clamp
 *     changes only the MSS value (to the limit, below the old value) and
 *     the checksum, and "no clamp" changes nothing;
 *  2. the "too big" answer fits its buffer, is a well-formed IPv4 packet
 *     (header checksum) carrying a valid ICMP checksum, or an IPv6 packet
 *     whose payload length matches, quoting at most the minimum MTU;
 *  3. the flow hash is deterministic, 0 exactly for non-IP input, and
 *     ignores bytes past the addresses, protocol and ports;
 *  4. a "pure ACK" is a TCP packet with room for both headers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunnel/ippkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PKT 9000

static uint8_t pkt[MAX_PKT], orig[MAX_PKT], out[MAX_PKT];

/* Where ippkt looks for a TCP header (first fragment, no extension
 * headers); 0 when it would not. */
static size_t tcp_off(const uint8_t *p, size_t len, int *v)
{
	size_t off;

	if (len >= 20 && p[0] >> 4 == 4) {
		off = (size_t)(p[0] & 0xf) * 4;
		if (p[9] != 6 || (p[6] & 0x3f) != 0 || p[7] != 0 || off < 20)
			return 0;
		*v = 4;
	} else if (len >= 40 && p[0] >> 4 == 6) {
		off = 40;
		if (p[6] != 6)
			return 0;
		*v = 6;
	} else {
		return 0;
	}
	return off + 20 <= len ? off : 0;
}

/* One's-complement sum of the TCP pseudo-header and segment (0 = valid). */
static uint16_t tcp_sum(const uint8_t *p, size_t len, size_t off, int v)
{
	uint32_t sum = 0;
	size_t tl = len - off;

	if (v == 4) {
		for (size_t i = 12; i < 20; i += 2)
			sum += (uint32_t)p[i] << 8 | p[i + 1];
	} else {
		for (size_t i = 8; i < 40; i += 2)
			sum += (uint32_t)p[i] << 8 | p[i + 1];
	}
	sum += 6 + (uint32_t)(tl & 0xffff) + (uint32_t)(tl >> 16);
	return ht_ippkt_csum(p + off, tl, sum);
}

static void check_clamp(size_t len, unsigned mtu)
{
	int v = 0;
	size_t off = tcp_off(pkt, len, &v);
	bool changed;

	if (off != 0) {
		uint16_t c;

		pkt[off + 16] = pkt[off + 17] = 0;
		c = tcp_sum(pkt, len, off, v);
		pkt[off + 16] = (uint8_t)(c >> 8);
		pkt[off + 17] = (uint8_t)c;
		if (tcp_sum(pkt, len, off, v) != 0)
			abort();
	}
	memcpy(orig, pkt, len);
	changed = ht_ippkt_clamp_mss(pkt, len, mtu);
	if (!changed) {
		if (memcmp(orig, pkt, len) != 0)
			abort();
		return;
	}
	if (off == 0 || tcp_sum(pkt, len, off, v) != 0)
		abort();
	/* Exactly one 2-byte run besides the checksum changed: the MSS. */
	size_t first = len, last = 0;
	unsigned limit = mtu - (v == 4 ? 40u : 60u);

	for (size_t i = 0; i < len; i++) {
		if (pkt[i] == orig[i] || i == off + 16 || i == off + 17)
			continue;
		if (first == len)
			first = i;
		last = i;
	}
	if (first == len)
		return; /* the MSS bytes happen to overlap the checksum: nothing else */
	if (last > first + 1 || first < off + 20 || last >= off + (size_t)(pkt[off + 12] >> 4) * 4)
		abort();
	/* The value at the changed position (or the one before it) is now
	 * the limit, and lower than before. */
	for (size_t at = first > 0 ? first - 1 : first; at <= first; at++) {
		uint16_t now = (uint16_t)(pkt[at] << 8 | pkt[at + 1]);
		uint16_t was = (uint16_t)(orig[at] << 8 | orig[at + 1]);

		if (now == limit && was > limit)
			return;
	}
	abort();
}

static void check_too_big(const uint8_t *p, size_t len, unsigned mtu)
{
	static const uint8_t self4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
	static const uint8_t self6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	int n = ht_ippkt_too_big(out, sizeof(out), p, len, mtu, p[0] >> 4 == 6 ? self6 : self4);

	if (n < 0)
		abort(); /* out is large enough for any answer */
	if (n == 0)
		return;
	if (out[0] >> 4 == 4) {
		if (n < 28 || n > 576 || out[0] != 0x45 || ht_ippkt_csum(out, 20, 0) != 0 ||
		    (size_t)(out[2] << 8 | out[3]) != (size_t)n ||
		    ht_ippkt_csum(out + 20, (size_t)n - 20, 0) != 0)
			abort();
	} else if (out[0] >> 4 == 6) {
		if (n < 48 || n > 1280 || (size_t)(out[4] << 8 | out[5]) != (size_t)n - 40)
			abort();
	} else {
		abort();
	}
}

static void check_hash(const uint8_t *p, size_t len, bool ether)
{
	uint32_t h = ht_ippkt_flow_hash(p, len, ether);
	size_t ip = ether ? 14 : 0;
	bool is_ip = false;

	if (h != ht_ippkt_flow_hash(p, len, ether))
		abort();
	if (ether && len >= 14 && !((p[12] == 0x08 && p[13] == 0x00) || (p[12] == 0x86 && p[13] == 0xdd)))
		is_ip = true; /* any Ethernet frame hashes (its MACs) */
	else if (len >= ip + 20 && p[ip] >> 4 == 4)
		is_ip = true;
	else if (len >= ip + 40 && p[ip] >> 4 == 6)
		is_ip = true;
	if ((h != 0) != is_ip)
		abort();
	/* A payload byte past the ports never changes the hash. */
	if (is_ip && len > ip + 64 && len <= MAX_PKT) {
		memcpy(out, p, len);
		out[len - 1] ^= 0xff;
		if (ht_ippkt_flow_hash(out, len, ether) != h)
			abort();
	}
}

/* A pure ACK is a TCP packet whose headers fill what the IP header says. */
static void check_pure_ack(const uint8_t *p, size_t len, bool ether)
{
	size_t ip = ether ? 14 : 0;

	if (!ht_ippkt_tcp_pure_ack(p, len, ether))
		return;
	if (len < ip + 40 || ht_ippkt_flow_hash(p, len, ether) == 0)
		abort();
	if (p[ip] >> 4 == 4 ? p[ip + 9] != 6 : p[ip + 6] != 6)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t src[16], dst[16];
	unsigned mtu;
	size_t len;

	if (size < 3)
		return 0;
	mtu = 576 + (unsigned)(data[1] << 8 | data[2]) % 8960;
	len = size - 3;
	if (len > MAX_PKT)
		len = MAX_PKT;
	memcpy(pkt, data + 3, len);
	(void)ht_ippkt_addrs(pkt, len, src, dst);
	check_hash(pkt, len, data[0] & 1);
	check_pure_ack(pkt, len, data[0] & 1);
	check_too_big(pkt, len, mtu);
	check_clamp(len, mtu);
	return 0;
}
