/* Unit tests of src/proto/vnet.c: the virtio-net header, TSO / USO split
 * (every segment a valid packet, payload preserved, flags and IDs right),
 * partial checksum completion, and GRO back to the original packet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/err.h"
#include "proto/vnet.h"
#include "proto/wire.h"

static uint8_t pkt[70000], out[140000], gbuf[HT_VNET_HDR_LEN + 65535];
static struct ht_vnet_seg segs[HT_VNET_MAX_SEGS];

/* A TCP (proto 6) or UDP (17) packet with `payload` bytes of pattern, a
 * TCP timestamp option, and valid checksums. */
static size_t build(bool v6, uint8_t proto, size_t payload, uint8_t flags)
{
	size_t l3 = v6 ? 40 : 20, l4 = proto == 6 ? 32 : 8, len = l3 + l4 + payload, i;
	uint8_t *ip = pkt, *th = pkt + l3;
	uint32_t sum;

	memset(pkt, 0, l3 + l4);
	if (v6) {
		ip[0] = 0x60;
		ht_put16(ip + 4, (uint16_t)(l4 + payload));
		ip[6] = proto;
		ip[7] = 64;
		ip[8] = 0x20, ip[9] = 0x01, ip[10] = 0x0d, ip[11] = 0xb8, ip[23] = 2;
		ip[24] = 0x20, ip[25] = 0x01, ip[26] = 0x0d, ip[27] = 0xb8, ip[39] = 1;
	} else {
		ip[0] = 0x45;
		ht_put16(ip + 2, (uint16_t)len);
		ht_put16(ip + 4, 0x1234);
		ht_put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = proto;
		ip[12] = 192, ip[13] = 0, ip[14] = 2, ip[15] = 2;
		ip[16] = 203, ip[17] = 0, ip[18] = 113, ip[19] = 2;
		ht_put16(ip + 10, ht_csum_fold(ht_csum_partial(ip, 20, 0)));
	}
	ht_put16(th, 40000);
	ht_put16(th + 2, 5201);
	for (i = 0; i < payload; i++)
		pkt[l3 + l4 + i] = (uint8_t)(i * 7 + i / 251);
	if (proto == 6) {
		ht_put32(th + 4, 0xfffff000u); /* wraps during the split */
		ht_put32(th + 8, 0x01020304u);
		th[12] = 8 << 4;
		th[13] = flags;
		ht_put16(th + 14, 501);
		th[20] = 1, th[21] = 1, th[22] = 8, th[23] = 10; /* NOP NOP TS */
		ht_put32(th + 24, 777);
		ht_put32(th + 28, 888);
	} else {
		ht_put16(th + 4, (uint16_t)(l4 + payload));
	}
	sum = v6 ? ht_csum_partial(ip + 8, 32, 0) : ht_csum_partial(ip + 12, 8, 0);
	sum += (uint32_t)(l4 + payload) + proto;
	ht_put16(th + (proto == 6 ? 16 : 6),
		 ht_csum_fold(ht_csum_partial(th, l4 + payload, sum)));
	return len;
}

static void check_valid(const uint8_t *ip, size_t len, bool v6, uint8_t proto)
{
	size_t l3 = v6 ? 40 : 20;
	uint32_t sum;

	if (!v6) {
		assert_int_equal(ht_get16(ip + 2), len);
		assert_int_equal(ht_csum_fold(ht_csum_partial(ip, 20, 0)), 0);
	} else {
		assert_int_equal(ht_get16(ip + 4) + 40, len);
	}
	sum = v6 ? ht_csum_partial(ip + 8, 32, 0) : ht_csum_partial(ip + 12, 8, 0);
	sum += (uint32_t)(len - l3) + proto;
	assert_int_equal(ht_csum_fold(ht_csum_partial(ip + l3, len - l3, sum)), 0);
}

static void test_hdr(void **state)
{
	static const uint8_t b[10] = {1, 4, 52, 0, 0x78, 0x05, 20, 0, 16, 0};
	struct ht_vnet_hdr h;
	uint8_t w[10];

	(void)state;
	assert_int_equal(ht_vnet_hdr_parse(&h, b, 9), HT_ERR_TRUNCATED);
	assert_int_equal(ht_vnet_hdr_parse(&h, b, 10), HT_OK);
	assert_int_equal(h.flags, HT_VNET_F_NEEDS_CSUM);
	assert_int_equal(h.gso_type, HT_VNET_GSO_TCPV6);
	assert_int_equal(h.hdr_len, 52);
	assert_int_equal(h.gso_size, 1400);
	assert_int_equal(h.csum_start, 20);
	assert_int_equal(h.csum_offset, 16);
	ht_vnet_hdr_write(w, &h);
	assert_memory_equal(w, b, 10);
}

static void split_tcp(bool v6)
{
	const size_t payload = 5000, mss = 1400, l3 = v6 ? 40 : 20, hdrs = l3 + 32;
	size_t len = build(v6, 6, payload, 0x10 | 0x08 | 0x01 | 0x80); /* ACK PSH FIN CWR */
	struct ht_vnet_hdr h = {.flags = HT_VNET_F_NEEDS_CSUM,
				.gso_type = (uint8_t)(v6 ? HT_VNET_GSO_TCPV6 : HT_VNET_GSO_TCPV4),
				.hdr_len = (uint16_t)hdrs,
				.gso_size = (uint16_t)mss,
				.csum_start = (uint16_t)l3,
				.csum_offset = 16};
	int n = ht_vnet_split(&h, pkt, len, out, sizeof(out), 4, segs, HT_VNET_MAX_SEGS), i;
	size_t got = 0;

	assert_int_equal(n, 4);
	for (i = 0; i < n; i++) {
		const uint8_t *ip = out + segs[i].off, *th = ip + l3;
		size_t plen = segs[i].len - hdrs;

		assert_int_equal(segs[i].off, (size_t)i * (4 + hdrs) + got + 4);
		assert_int_equal(plen, i < 3 ? mss : payload - 3 * mss);
		check_valid(ip, segs[i].len, v6, 6);
		assert_int_equal(ht_get32(th + 4), 0xfffff000u + (uint32_t)(i * mss));
		assert_int_equal(th[13], i == 0 ? 0x90 : i < 3 ? 0x10 : 0x19);
		if (!v6)
			assert_int_equal(ht_get16(ip + 4), 0x1234 + i);
		assert_memory_equal(ip + hdrs, pkt + hdrs + got, plen);
		got += plen;
	}
	assert_int_equal(got, payload);
}

static void test_split_tcp4(void **state)
{
	(void)state;
	split_tcp(false);
}

static void test_split_tcp6(void **state)
{
	(void)state;
	split_tcp(true);
}

static void test_split_udp_l4(void **state)
{
	size_t len = build(false, 17, 3000, 0);
	struct ht_vnet_hdr h = {.gso_type = HT_VNET_GSO_UDP_L4, .gso_size = 1200};
	int n = ht_vnet_split(&h, pkt, len, out, sizeof(out), 0, segs, HT_VNET_MAX_SEGS), i;

	(void)state;
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		check_valid(out + segs[i].off, segs[i].len, false, 17);
		assert_int_equal(ht_get16(out + segs[i].off + 24), segs[i].len - 20);
	}
	assert_int_equal(segs[2].len, 20 + 8 + 600);
}

/* GSO_NONE + NEEDS_CSUM: the field holds the pseudo-header sum. */
static void test_partial_csum(void **state)
{
	size_t len = build(true, 6, 777, 0x10);
	uint8_t good[2];
	uint32_t ps;
	struct ht_vnet_hdr h = {.flags = HT_VNET_F_NEEDS_CSUM, .csum_start = 40, .csum_offset = 16};

	(void)state;
	memcpy(good, pkt + 40 + 16, 2);
	ps = ht_csum_partial(pkt + 8, 32, 0) + (uint32_t)(len - 40) + 6;
	ht_put16(pkt + 56, (uint16_t)~ht_csum_fold(ps));
	assert_int_equal(ht_vnet_split(&h, pkt, len, out, sizeof(out), 4, segs, 1), 1);
	assert_memory_equal(out + 4 + 56, good, 2);
	check_valid(out + 4, len, true, 6);
	h.csum_start = (uint16_t)len;
	assert_int_equal(ht_vnet_split(&h, pkt, len, out, sizeof(out), 4, segs, 1),
			 HT_ERR_BAD_VALUE);
	h.csum_start = (uint16_t)(len - 10);
	h.csum_offset = 9;
	assert_int_equal(ht_vnet_split(&h, pkt, len, out, sizeof(out), 4, segs, 1),
			 HT_ERR_BAD_VALUE);
}

static void test_split_errors(void **state)
{
	size_t len = build(false, 6, 3000, 0x10);
	struct ht_vnet_hdr h = {.gso_type = HT_VNET_GSO_TCPV4, .gso_size = 1000};

	(void)state;
	assert_int_equal(ht_vnet_split(&h, pkt, len, out, sizeof(out), 0, segs, 2), HT_ERR_NOBUF);
	assert_int_equal(ht_vnet_split(&h, pkt, len, out, 3000, 0, segs, 8), HT_ERR_NOBUF);
	assert_int_equal(ht_vnet_split(&h, pkt, len - 1, out, sizeof(out), 0, segs, 8),
			 HT_ERR_TRUNCATED);
	h.gso_type = HT_VNET_GSO_TCPV6;
	assert_int_equal(ht_vnet_split(&h, pkt, len, out, sizeof(out), 0, segs, 8),
			 HT_ERR_UNSUPPORTED);
	h.gso_type = HT_VNET_GSO_UDP;
	assert_int_equal(ht_vnet_split(&h, pkt, len, out, sizeof(out), 0, segs, 8),
			 HT_ERR_UNSUPPORTED);
	h.gso_type = HT_VNET_GSO_UDP_L4;
	assert_int_equal(ht_vnet_split(&h, pkt, len, out, sizeof(out), 0, segs, 8),
			 HT_ERR_UNSUPPORTED);
	h.gso_type = HT_VNET_GSO_TCPV4;
	h.gso_size = 0;
	assert_int_equal(ht_vnet_split(&h, pkt, len, out, sizeof(out), 0, segs, 8), HT_ERR_INVAL);
	h.gso_size = 1000;
	pkt[12 + 20] = 0x40; /* data offset 16 < 20 */
	assert_int_equal(ht_vnet_split(&h, pkt, len, out, sizeof(out), 0, segs, 8),
			 HT_ERR_TRUNCATED);
}

/* split then GRO gives back the original packet, byte for byte, once the
 * kernel's part (the partial checksum) is done. */
static void gro_roundtrip(bool v6)
{
	const size_t l3 = v6 ? 40 : 20;
	size_t len = build(v6, 6, 60000, 0x18), wl;
	static uint8_t orig[70000];
	struct ht_vnet_hdr h = {.gso_type = (uint8_t)(v6 ? HT_VNET_GSO_TCPV6 : HT_VNET_GSO_TCPV4),
				.gso_size = 1380};
	struct ht_vnet_hdr gh;
	struct ht_gro g;
	int n, i;

	memcpy(orig, pkt, len);
	n = ht_vnet_split(&h, pkt, len, out, sizeof(out), 0, segs, HT_VNET_MAX_SEGS);
	assert_int_equal(n, 44);
	ht_gro_init(&g, gbuf, sizeof(gbuf));
	for (i = 0; i < n; i++)
		assert_int_equal(ht_gro_add(&g, out + segs[i].off, segs[i].len), 1);
	wl = ht_gro_finish(&g);
	assert_int_equal(wl, HT_VNET_HDR_LEN + len);
	assert_int_equal(ht_vnet_hdr_parse(&gh, gbuf, wl), HT_OK);
	assert_int_equal(gh.gso_type, h.gso_type);
	assert_int_equal(gh.gso_size, 1380);
	assert_int_equal(gh.flags, HT_VNET_F_NEEDS_CSUM);
	assert_int_equal(gh.csum_start, l3);
	assert_int_equal(gh.hdr_len, l3 + 32);
	/* finish the checksum as the kernel would */
	gh.gso_type = HT_VNET_GSO_NONE;
	assert_int_equal(ht_vnet_split(&gh, gbuf + HT_VNET_HDR_LEN, len, out, sizeof(out), 0, segs,
				       1),
			 1);
	assert_memory_equal(out, orig, len);
	assert_int_equal(ht_gro_finish(&g), 0);
}

static void test_gro_roundtrip4(void **state)
{
	(void)state;
	gro_roundtrip(false);
}

static void test_gro_roundtrip6(void **state)
{
	(void)state;
	gro_roundtrip(true);
}

static void test_gro_breaks(void **state)
{
	static uint8_t a[2000], b[2000];
	size_t la, lb;
	struct ht_gro g;

	(void)state;
	ht_gro_init(&g, gbuf, sizeof(gbuf));
	/* a pure ACK or a SYN is never merged */
	la = build(false, 6, 0, 0x10);
	assert_int_equal(ht_gro_add(&g, pkt, la), HT_ERR_UNSUPPORTED);
	la = build(false, 6, 100, 0x02);
	assert_int_equal(ht_gro_add(&g, pkt, la), HT_ERR_UNSUPPORTED);
	la = build(false, 17, 100, 0);
	assert_int_equal(ht_gro_add(&g, pkt, la), HT_ERR_UNSUPPORTED);

	/* a segment, then one with another ACK number: not merged */
	la = build(false, 6, 1000, 0x10);
	memcpy(a, pkt, la);
	memcpy(b, pkt, la);
	ht_put32(b + 24, 0xfffff000u + 1000);
	lb = la;
	assert_int_equal(ht_gro_add(&g, a, la), 1);
	b[28] ^= 1; /* ack */
	assert_int_equal(ht_gro_add(&g, b, lb), 0);
	b[28] ^= 1;
	ht_put32(b + 24, 0xfffff000u + 999); /* not the next sequence number */
	assert_int_equal(ht_gro_add(&g, b, lb), 0);
	ht_put32(b + 24, 0xfffff000u + 1000);
	b[45] ^= 1; /* TS value differs */
	assert_int_equal(ht_gro_add(&g, b, lb), 0);
	b[45] ^= 1;
	b[13 + 20] |= 0x01; /* FIN */
	assert_int_equal(ht_gro_add(&g, b, lb), 0);
	b[13 + 20] &= (uint8_t)~0x01;
	assert_int_equal(ht_gro_add(&g, b, lb), 1); /* now it fits (checksum not checked) */
	assert_int_equal(g.count, 2);
	/* a single segment is written as it is, with a zero header */
	ht_gro_finish(&g);
	assert_int_equal(ht_gro_add(&g, a, la), 1);
	assert_int_equal(ht_gro_finish(&g), HT_VNET_HDR_LEN + la);
	assert_memory_equal(gbuf, "\0\0\0\0\0\0\0\0\0\0", 10);
	assert_memory_equal(gbuf + 10, a, la);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr),
		cmocka_unit_test(test_split_tcp4),
		cmocka_unit_test(test_split_tcp6),
		cmocka_unit_test(test_split_udp_l4),
		cmocka_unit_test(test_partial_csum),
		cmocka_unit_test(test_split_errors),
		cmocka_unit_test(test_gro_roundtrip4),
		cmocka_unit_test(test_gro_roundtrip6),
		cmocka_unit_test(test_gro_breaks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
