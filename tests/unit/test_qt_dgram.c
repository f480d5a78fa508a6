/* Unit tests for src/proto/qt_dgram.c: datagram payloads of quic-tunnel-00/01. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proto/err.h"
#include "proto/qt_dgram.h"
#include "proto/wire.h"

/* A 28-byte IPv4/UDP packet 192.0.2.1 → 198.51.100.7 with no payload. */
static void ipv4(uint8_t *p, size_t total)
{
	memset(p, 0, total);
	p[0] = 0x45;
	ht_put16(p + 2, (uint16_t)total);
	p[8] = 64;
	p[9] = 17;
	memcpy(p + 12, ((const uint8_t[]){192, 0, 2, 1, 198, 51, 100, 7}), 8);
}

/* An IPv6 packet with payload_len bytes after the 40-byte header. */
static void ipv6(uint8_t *p, size_t payload_len)
{
	memset(p, 0, 40 + payload_len);
	p[0] = 0x60;
	ht_put16(p + 4, (uint16_t)payload_len);
	p[6] = 17;
	p[7] = 64;
	p[8] = 0x20;
	p[9] = 0x01;
}

static void test_raw(void **state)
{
	uint8_t b[64];
	struct qt_dgram d;

	(void)state;
	ipv4(b, 28);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_RAW, b, 28), HT_OK);
	assert_int_equal(d.proto, QT_ETHERTYPE_IPV4);
	assert_int_equal(d.tag, 0);
	assert_ptr_equal(d.pkt, b);
	assert_int_equal(d.pkt_len, 28);
	ipv6(b, 8);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_RAW, b, 48), HT_OK);
	assert_int_equal(d.proto, QT_ETHERTYPE_IPV6);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_RAW, b, 47), HT_ERR_TRUNCATED);
	b[0] = 0x50;
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_RAW, b, 48), HT_ERR_BAD_VERSION);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_RAW, b, 0), HT_ERR_TRUNCATED);
	assert_int_equal(qt_dgram_parse(&d, (enum qt_dgram_profile)9, b, 48), HT_ERR_INVAL);
	assert_int_equal(qt_dgram_parse(NULL, QT_DGRAM_RAW, b, 48), HT_ERR_INVAL);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_RAW, NULL, 4), HT_ERR_INVAL);
}

static void test_tagged(void **state)
{
	uint8_t b[128];
	struct qt_dgram d;

	(void)state;
	/* 08 00 <tag> <IPv4 packet> */
	ht_put16(b, 0x0800);
	ht_put16(b + 2, 0xbeef);
	ipv4(b + 4, 28);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 32), HT_OK);
	assert_int_equal(d.proto, QT_ETHERTYPE_IPV4);
	assert_int_equal(d.tag, 0xbeef);
	assert_ptr_equal(d.pkt, b + 4);
	assert_int_equal(d.pkt_len, 28);
	/* IPv6 */
	ht_put16(b, 0x86dd);
	ipv6(b + 4, 0);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 44), HT_OK);
	assert_int_equal(d.proto, QT_ETHERTYPE_IPV6);
	/* Ethernet: 14 bytes minimum. */
	ht_put16(b, 0x6558);
	memset(b + 4, 0xab, 14);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 18), HT_OK);
	assert_int_equal(d.proto, QT_ETHERTYPE_TEB);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 17), HT_ERR_TRUNCATED);
	/* Other types are the caller's to drop and count. */
	ht_put16(b, 0x0806);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 32), HT_ERR_UNSUPPORTED);
	assert_int_equal(d.proto, 0x0806);
	assert_int_equal(d.tag, 0xbeef);
	/* Shorter than the header. */
	for (size_t n = 0; n < 4; n++)
		assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, n), HT_ERR_TRUNCATED);
	/* In RAW the same bytes are not an IP packet. */
	ht_put16(b, 0x0800);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_RAW, b, 32), HT_ERR_BAD_VERSION);
}

static void test_tagged_ip_checks(void **state)
{
	uint8_t b[128];
	struct qt_dgram d;

	(void)state;
	ht_put16(b, 0x0800);
	ht_put16(b + 2, 1);
	/* Version nibble must match the Protocol Type. */
	ipv6(b + 4, 0);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 44), HT_ERR_MISMATCH);
	ht_put16(b, 0x86dd);
	ipv4(b + 4, 40);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 44), HT_ERR_MISMATCH);
	/* IPv4 minimal header. */
	ht_put16(b, 0x0800);
	ipv4(b + 4, 19);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 23), HT_ERR_TRUNCATED);
	ipv4(b + 4, 20);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 24), HT_OK);
	b[4] = 0x44; /* IHL 4 */
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 24), HT_ERR_TRUNCATED);
	ipv4(b + 4, 40);
	b[4] = 0x4f; /* IHL 15 = 60 bytes > 40 */
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 44), HT_ERR_TRUNCATED);
	b[4] = 0x4a; /* IHL 10 = 40 bytes: options fill the packet */
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 44), HT_OK);
	/* Total Length against the datagram. */
	ipv4(b + 4, 28);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 31), HT_ERR_TRUNCATED);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 33), HT_ERR_TRAILING);
	ht_put16(b + 6, 19); /* below the header */
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 32), HT_ERR_TRUNCATED);
	/* IPv6 fixed header and Payload Length. */
	ht_put16(b, 0x86dd);
	ipv6(b + 4, 8);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 52), HT_OK);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 51), HT_ERR_TRUNCATED);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 53), HT_ERR_TRAILING);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 43), HT_ERR_TRUNCATED);
	/* Empty IP payloads: the version nibble cannot be read. */
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, b, 4), HT_ERR_TRUNCATED);
}

static void test_encap_in_place(void **state)
{
	uint8_t frame[16 + 28];
	struct qt_dgram d;
	int off;

	(void)state;
	ipv4(frame + 16, 28);
	off = qt_dgram_encap(frame, 16, QT_ETHERTYPE_IPV4, 0x1234);
	assert_int_equal(off, 12);
	assert_memory_equal(frame + 12, ((const uint8_t[]){0x08, 0x00, 0x12, 0x34}), 4);
	assert_int_equal(qt_dgram_parse(&d, QT_DGRAM_TAGGED, frame + off, 32), HT_OK);
	assert_ptr_equal(d.pkt, frame + 16); /* never copied */
	assert_int_equal(d.tag, 0x1234);
	assert_int_equal(qt_dgram_encap(frame, 4, 0x86dd, 0), 0);
	assert_int_equal(qt_dgram_encap(frame, 3, 0x86dd, 0), HT_ERR_NOBUF);
	assert_int_equal(qt_dgram_encap(NULL, 8, 0x86dd, 0), HT_ERR_INVAL);
}

static void test_profiles(void **state)
{
	(void)state;
	assert_int_equal(qt_dgram_profile_from_alpn((const uint8_t *)"qt-00", 5), QT_DGRAM_RAW);
	assert_int_equal(qt_dgram_profile_from_alpn((const uint8_t *)"qt-01", 5), QT_DGRAM_TAGGED);
	assert_int_equal(qt_dgram_profile_from_alpn((const uint8_t *)"qt", 2), QT_DGRAM_TAGGED);
	assert_int_equal(qt_dgram_profile_from_alpn((const uint8_t *)"qt-02", 5),
	                 HT_ERR_UNSUPPORTED);
	assert_int_equal(qt_dgram_profile_from_alpn((const uint8_t *)"qt-lite", 7),
	                 HT_ERR_UNSUPPORTED);
	assert_int_equal(qt_dgram_profile_from_alpn(NULL, 0), HT_ERR_UNSUPPORTED);
	assert_int_equal(qt_dgram_hdr_size(QT_DGRAM_RAW), 0);
	assert_int_equal(qt_dgram_hdr_size(QT_DGRAM_TAGGED), 4);
}

static void test_tag_arith(void **state)
{
	(void)state;
	assert_int_equal(qt_tag_add(65535, 1), 0);
	assert_int_equal(qt_tag_add(65530, 10), 4);
	assert_int_equal(qt_tag_fwd(65530, 5), 11);
	assert_int_equal(qt_tag_fwd(5, 5), 0);
	assert_int_equal(qt_tag_diff(0, 65535), 1);
	assert_int_equal(qt_tag_diff(65535, 0), -1);
	assert_int_equal(qt_tag_diff(100, 100), 0);
	assert_int_equal(qt_tag_diff(32767, 0), 32767);
	assert_int_equal(qt_tag_diff(32768, 0), -32768);
	/* Across the wrap. */
	assert_true(qt_tag_lt(65535, 0));
	assert_true(qt_tag_gt(0, 65535));
	assert_true(qt_tag_lt(65000, 100));
	assert_false(qt_tag_lt(100, 65000));
	assert_false(qt_tag_lt(7, 7));
	assert_false(qt_tag_gt(7, 7));
	/* Half-way apart: incomparable, in both directions. */
	assert_false(qt_tag_lt(0, 32768));
	assert_false(qt_tag_gt(0, 32768));
	assert_false(qt_tag_lt(32768, 0));
	assert_true(qt_tag_lt(0, 32767));
	assert_true(qt_tag_gt(0, 32769));
	/* lt and gt mirror each other everywhere (sampled). */
	for (uint32_t a = 0; a < 65536; a += 251)
		for (uint32_t b = 0; b < 65536; b += 257) {
			assert_int_equal(qt_tag_lt((uint16_t)a, (uint16_t)b),
			                 qt_tag_gt((uint16_t)b, (uint16_t)a));
			assert_int_equal(
			    qt_tag_add((uint16_t)a, qt_tag_fwd((uint16_t)a, (uint16_t)b)), b);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_raw),
	    cmocka_unit_test(test_tagged),
	    cmocka_unit_test(test_tagged_ip_checks),
	    cmocka_unit_test(test_encap_in_place),
	    cmocka_unit_test(test_profiles),
	    cmocka_unit_test(test_tag_arith),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
