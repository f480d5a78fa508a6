/* Unit tests for the fingerprint string form (src/quic/identity.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "quic/identity.h"

static void test_format_parse_roundtrip(void **state)
{
	uint8_t in[HT_FP_LEN], out[HT_FP_LEN];
	char s[HT_FP_STRLEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 5);
	ht_fingerprint_format(in, s);
	assert_int_equal(strlen(s), HT_FP_STRLEN);
	assert_memory_equal(s, "sha256:052a4f74", 15);
	assert_int_equal(ht_fingerprint_parse(s, out), 0);
	assert_memory_equal(in, out, sizeof(in));
}

static void test_parse_rejects(void **state)
{
	uint8_t out[HT_FP_LEN];
	char s[HT_FP_STRLEN + 2];

	(void)state;
	memset(s, 'a', sizeof(s));
	memcpy(s, "sha256:", 7);
	s[HT_FP_STRLEN] = '\0';
	assert_int_equal(ht_fingerprint_parse(s, out), 0);
	s[HT_FP_STRLEN - 1] = 'F'; /* upper case accepted */
	assert_int_equal(ht_fingerprint_parse(s, out), 0);
	s[HT_FP_STRLEN - 1] = 'g';
	assert_int_equal(ht_fingerprint_parse(s, out), -1);
	s[HT_FP_STRLEN - 1] = 'a';
	s[HT_FP_STRLEN] = 'a';
	s[HT_FP_STRLEN + 1] = '\0'; /* too long */
	assert_int_equal(ht_fingerprint_parse(s, out), -1);
	s[HT_FP_STRLEN - 1] = '\0'; /* too short */
	assert_int_equal(ht_fingerprint_parse(s, out), -1);
	assert_int_equal(ht_fingerprint_parse("sha1:00", out), -1);
	assert_int_equal(ht_fingerprint_parse(NULL, out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse_roundtrip),
		cmocka_unit_test(test_parse_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
