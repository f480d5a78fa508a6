/* Unit tests for src/tunnel/ippkt.c: addresses, MSS clamping with the TCP
 * checksum recomputed, ICMP "too big" answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "tunnel/ippkt.h"

/* TCP checksum over the pseudo-header, as a receiver verifies it (0 = ok). */
static uint16_t tcp_verify(const uint8_t *pkt, size_t len)
{
	uint32_t sum = 0;
	size_t off;
	uint8_t ph[40];
	size_t tl;

	if (pkt[0] >> 4 == 4) {
		off = (size_t)(pkt[0] & 0xf) * 4;
		tl = len - off;
		memcpy(ph, pkt + 12, 8);
		ph[8] = 0;
		ph[9] = 6;
		ph[10] = (uint8_t)(tl >> 8);
		ph[11] = (uint8_t)tl;
		for (size_t i = 0; i < 12; i += 2)
			sum += (uint32_t)ph[i] << 8 | ph[i + 1];
	} else {
		off = 40;
		tl = len - off;
		for (size_t i = 8; i < 40; i += 2)
			sum += (uint32_t)pkt[i] << 8 | pkt[i + 1];
		sum += (uint32_t)tl + 6;
	}
	return ht_ippkt_csum(pkt + off, tl, sum);
}

static void tcp_fill_csum(uint8_t *pkt, size_t len)
{
	size_t off = pkt[0] >> 4 == 4 ? (size_t)(pkt[0] & 0xf) * 4 : 40;
	uint16_t c;

	pkt[off + 16] = pkt[off + 17] = 0;
	c = tcp_verify(pkt, len);
	pkt[off + 16] = (uint8_t)(c >> 8);
	pkt[off + 17] = (uint8_t)c;
}

/* IPv4 SYN with options at byte `pad` nops before MSS (to test odd offsets). */
static size_t syn4(uint8_t *p, unsigned mss, unsigned pad)
{
	size_t tcp_len = 20 + 8, i = 20;

	memset(p, 0, 64);
	p[0] = 0x45;
	p[2] = 0;
	p[3] = (uint8_t)(20 + tcp_len);
	p[6] = 0x40;
	p[8] = 64;
	p[9] = 6;
	memcpy(p + 12, (const uint8_t[]){192, 0, 2, 66, 203, 0, 113, 2}, 8);
	p[20] = 0x30;
	p[21] = 0x39; /* sport 12345 */
	p[23] = 80;
	p[20 + 12] = (uint8_t)((tcp_len / 4) << 4);
	p[20 + 13] = 0x02; /* SYN */
	i = 40;
	for (unsigned k = 0; k < pad; k++)
		p[i++] = 1;
	p[i++] = 2;
	p[i++] = 4;
	p[i++] = (uint8_t)(mss >> 8);
	p[i++] = (uint8_t)mss;
	while (i < 48)
		p[i++] = 1;
	tcp_fill_csum(p, 48);
	return 48;
}

/* A pure ACK, byte by byte: IPv4, 20 + 32 bytes (TCP with timestamps). */
static const uint8_t ACK4[52] = {
	0x45, 0x00, 0x00, 0x34, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,
	192, 0, 2, 66, 203, 0, 113, 2,
	0xc3, 0x50, 0x14, 0x51, 0, 0, 0, 1, 0, 0, 0x10, 0,
	0x80, 0x10, 0x01, 0xf5, 0, 0, 0, 0, /* doff 8, ACK */
	1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2,
};

static void test_pure_ack(void **state)
{
	uint8_t p[128];

	(void)state;
	assert_true(ht_ippkt_tcp_pure_ack(ACK4, sizeof(ACK4), false));
	/* PSH with the ACK, or ECE / CWR: still no payload, still order-free */
	memcpy(p, ACK4, sizeof(ACK4));
	p[33] = 0x18 | 0x40 | 0x80;
	assert_true(ht_ippkt_tcp_pure_ack(p, sizeof(ACK4), false));
	/* SYN-ACK, FIN, RST, URG, no ACK at all */
	for (unsigned f = 0; f < 5; f++) {
		static const uint8_t flags[5] = {0x12, 0x11, 0x14, 0x30, 0x00};

		p[33] = flags[f];
		assert_false(ht_ippkt_tcp_pure_ack(p, sizeof(ACK4), false));
	}
	/* one byte of payload (a keep-alive probe, data) */
	memcpy(p, ACK4, sizeof(ACK4));
	p[3] = 53;
	p[52] = 0;
	assert_false(ht_ippkt_tcp_pure_ack(p, 53, false));
	/* the IP header claims more than there is; truncated TCP header */
	assert_false(ht_ippkt_tcp_pure_ack(p, 52, false));
	assert_false(ht_ippkt_tcp_pure_ack(ACK4, 39, false));
	/* a fragment, UDP, a data offset below 5 */
	memcpy(p, ACK4, sizeof(ACK4));
	p[6] = 0x20;
	assert_false(ht_ippkt_tcp_pure_ack(p, sizeof(ACK4), false));
	memcpy(p, ACK4, sizeof(ACK4));
	p[9] = 17;
	assert_false(ht_ippkt_tcp_pure_ack(p, sizeof(ACK4), false));
	memcpy(p, ACK4, sizeof(ACK4));
	p[32] = 0x40;
	assert_false(ht_ippkt_tcp_pure_ack(p, sizeof(ACK4), false));
	/* in an Ethernet frame padded to 60 bytes + 14: the padding is not data */
	memset(p, 0, sizeof(p));
	p[12] = 0x08;
	memcpy(p + 14, ACK4, sizeof(ACK4));
	assert_true(ht_ippkt_tcp_pure_ack(p, 14 + 60, true));
	p[13] = 0x06; /* ARP */
	assert_false(ht_ippkt_tcp_pure_ack(p, 14 + 60, true));
	/* IPv6: payload length 20, next header TCP */
	memset(p, 0, sizeof(p));
	p[0] = 0x60;
	p[5] = 20;
	p[6] = 6;
	p[40 + 12] = 0x50;
	p[40 + 13] = 0x10;
	assert_true(ht_ippkt_tcp_pure_ack(p, 60, false));
	p[6] = 0; /* a hop-by-hop header first: not looked into */
	assert_false(ht_ippkt_tcp_pure_ack(p, 60, false));
}

static void test_clamp(void **state)
{
	uint8_t p[64];

	(void)state;
	for (unsigned pad = 0; pad <= 3; pad++) {
		size_t n = syn4(p, 1460, pad);

		assert_int_equal(tcp_verify(p, n), 0);
		assert_true(ht_ippkt_clamp_mss(p, n, 1384));
		assert_int_equal(p[40 + pad + 2] << 8 | p[40 + pad + 3], 1344);
		assert_int_equal(tcp_verify(p, n), 0);
		/* Already small enough: untouched. */
		assert_false(ht_ippkt_clamp_mss(p, n, 1384));
	}
	/* Not a SYN. */
	syn4(p, 1460, 0);
	p[33] = 0x10;
	assert_false(ht_ippkt_clamp_mss(p, 48, 1384));
}

static void test_addrs_and_too_big(void **state)
{
	uint8_t p[1500], out[1280], src[16], dst[16], self[16] = {0};
	int n;

	(void)state;
	memset(p, 0, sizeof(p));
	syn4(p, 1460, 0);
	assert_int_equal(ht_ippkt_addrs(p, 48, src, dst), 4);
	assert_int_equal(src[15], 66);
	assert_int_equal(dst[12], 203);
	self[10] = self[11] = 0xff;
	self[12] = 192;
	self[14] = 2;
	self[15] = 65;
	n = ht_ippkt_too_big(out, sizeof(out), p, 1400, 1384, self);
	assert_true(n > 28);
	assert_int_equal(out[9], 1);       /* ICMP */
	assert_int_equal(out[20], 3);      /* Destination Unreachable */
	assert_int_equal(out[21], 4);      /* Fragmentation Needed */
	assert_int_equal(out[26] << 8 | out[27], 1384);
	assert_int_equal(out[15], 65);     /* from the tunnel endpoint */
	assert_int_equal(out[19], 66);     /* to the sender */
	assert_int_equal(ht_ippkt_csum(out, 20, 0), 0);
	assert_true(n <= 576);
	/* No DF: nothing is due. */
	p[6] = 0;
	assert_int_equal(ht_ippkt_too_big(out, sizeof(out), p, 1400, 1384, self), 0);
	/* IPv6: Packet Too Big, at most 1280 bytes. */
	memset(p, 0, sizeof(p));
	p[0] = 0x60;
	p[6] = 17;
	p[8] = 0x20;
	p[9] = 0x01;
	p[23] = 2;
	p[24] = 0x20;
	p[25] = 0x01;
	p[39] = 9;
	memset(self, 0, 16);
	self[0] = 0x20;
	self[1] = 0x01;
	self[15] = 1;
	n = ht_ippkt_too_big(out, sizeof(out), p, 1500, 1384, self);
	assert_int_equal(n, 1280);
	assert_int_equal(out[6], 58);
	assert_int_equal(out[40], 2);
	assert_int_equal(out[44] << 24 | out[45] << 16 | out[46] << 8 | out[47], 1384);
	assert_int_equal(out[39], 2); /* back to the source */
	/* Never an error about an error. */
	p[6] = 58;
	p[40] = 1;
	assert_int_equal(ht_ippkt_too_big(out, sizeof(out), p, 1500, 1384, self), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clamp),
		cmocka_unit_test(test_addrs_and_too_big),
		cmocka_unit_test(test_pure_ack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
