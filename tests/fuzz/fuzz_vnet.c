/* libFuzzer harness for src/proto/vnet.c (TUN offloads in software).
 *
 * Input: a 10-byte virtio-net header, then the IP packet a TUN read would
 * return after it.  Oracles (abort() on failure):
 *  1. ht_vnet_split either fails with a documented error or yields packets
 *     that lie inside the output buffer without overlapping; for a GSO
 *     split every packet is valid (IPv4 header checksum, IP lengths, TCP /
 *     UDP checksum over the pseudo-header) and their payloads, in order,
 *     are the input's payload;
 *  2. GRO over those packets: every super-packet it emits, its partial
 *     checksum completed as the kernel would, is again a valid packet, and
 *     the payloads of everything written (merged or alone) are the split's
 *     payloads in order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"
#include "proto/vnet.h"
#include "proto/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[HT_VNET_MAX_SEGS * 200 + 70000], gbuf[HT_VNET_HDR_LEN + 65535],
	fin[70000];
static uint8_t pay_in[70000], pay_out[70000];
static struct ht_vnet_seg segs[HT_VNET_MAX_SEGS];

/* l3/l4 header lengths of a valid packet (split output), 0 on error */
static size_t headers(const uint8_t *ip, size_t len, uint8_t *proto, size_t *l3)
{
	size_t l4;

	if (len < 20)
		return 0;
	if ((ip[0] >> 4) == 4) {
		*l3 = (size_t)(ip[0] & 15) * 4;
		*proto = ip[9];
	} else {
		*l3 = 40;
		*proto = ip[6];
	}
	if (*l3 + 8 > len)
		return 0;
	l4 = *proto == 6 ? (size_t)(ip[*l3 + 12] >> 4) * 4 : 8;
	return *l3 + l4 <= len ? *l3 + l4 : 0;
}

static void check_valid(const uint8_t *ip, size_t len)
{
	uint8_t proto;
	size_t l3;
	bool v6 = (ip[0] >> 4) == 6;
	uint32_t sum;

	if (headers(ip, len, &proto, &l3) == 0)
		abort();
	if (!v6 && (ht_get16(ip + 2) != len || ht_csum_fold(ht_csum_partial(ip, l3, 0)) != 0))
		abort();
	if (v6 && ht_get16(ip + 4) + 40u != len)
		abort();
	sum = v6 ? ht_csum_partial(ip + 8, 32, 0) : ht_csum_partial(ip + 12, 8, 0);
	sum += (uint32_t)(len - l3) + proto;
	if (ht_csum_fold(ht_csum_partial(ip + l3, len - l3, sum)) != 0)
		abort();
}

static size_t take_payload(const uint8_t *ip, size_t len, uint8_t *dst, size_t at)
{
	uint8_t proto;
	size_t l3, h = headers(ip, len, &proto, &l3);

	if (h == 0 || at + (len - h) > sizeof(pay_out))
		abort();
	memcpy(dst + at, ip + h, len - h);
	return at + (len - h);
}

static size_t emit(struct ht_gro *g, size_t at)
{
	struct ht_vnet_hdr h;
	size_t n = ht_gro_finish(g);
	struct ht_vnet_seg s;

	if (n == 0)
		return at;
	if (n < HT_VNET_HDR_LEN || n > sizeof(gbuf) || ht_vnet_hdr_parse(&h, gbuf, n) != HT_OK)
		abort();
	if (h.gso_type != HT_VNET_GSO_NONE) {
		h.gso_type = HT_VNET_GSO_NONE; /* what the kernel does first */
		if (ht_vnet_split(&h, gbuf + HT_VNET_HDR_LEN, n - HT_VNET_HDR_LEN, fin, sizeof(fin), 0,
				  &s, 1) != 1)
			abort();
		check_valid(fin, s.len);
		return take_payload(fin, s.len, pay_out, at);
	}
	return take_payload(gbuf + HT_VNET_HDR_LEN, n - HT_VNET_HDR_LEN, pay_out, at);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ht_vnet_hdr h;
	struct ht_gro g;
	size_t i, in_at = 0, out_at = 0, end = 0;
	int n;

	if (ht_vnet_hdr_parse(&h, data, size) != HT_OK)
		return 0;
	n = ht_vnet_split(&h, data + HT_VNET_HDR_LEN, size - HT_VNET_HDR_LEN, out, sizeof(out), 4,
			  segs, HT_VNET_MAX_SEGS);
	if (n < 0) {
		if (n != HT_ERR_INVAL && n != HT_ERR_TRUNCATED && n != HT_ERR_UNSUPPORTED &&
		    n != HT_ERR_BAD_VALUE && n != HT_ERR_NOBUF)
			abort();
		return 0;
	}
	if (n == 0 || n > (int)HT_VNET_MAX_SEGS)
		abort();
	for (i = 0; i < (size_t)n; i++) {
		if (segs[i].off < end + 4 || segs[i].off + segs[i].len > sizeof(out))
			abort();
		end = segs[i].off + segs[i].len;
	}
	if ((h.gso_type & ~HT_VNET_GSO_ECN) == HT_VNET_GSO_NONE)
		return 0; /* one packet, bytes as given (checksum completion only) */
	for (i = 0; i < (size_t)n; i++) {
		check_valid(out + segs[i].off, segs[i].len);
		in_at = take_payload(out + segs[i].off, segs[i].len, pay_in, in_at);
	}
	ht_gro_init(&g, gbuf, sizeof(gbuf));
	for (i = 0; i < (size_t)n; i++) {
		const uint8_t *p = out + segs[i].off;
		int r = ht_gro_add(&g, p, segs[i].len);

		if (r == 0) {
			out_at = emit(&g, out_at);
			r = ht_gro_add(&g, p, segs[i].len);
			if (r == 0)
				abort();
		}
		if (r == HT_ERR_UNSUPPORTED)
			out_at = take_payload(p, segs[i].len, pay_out, out_at);
		else if (r != 1)
			abort();
	}
	out_at = emit(&g, out_at);
	if (out_at != in_at || memcmp(pay_in, pay_out, in_at) != 0)
		abort();
	return 0;
}
