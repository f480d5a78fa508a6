/* Unit tests of src/tunnel/pathspec.c: the forms of --path SPEC and every
 * refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tunnel/pathspec.h"

static const uint8_t V4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 2};

static void test_forms(void **state)
{
	struct ht_pathspec p;
	const char *why;

	(void)state;
	assert_int_equal(ht_pathspec_parse("eth0", &p, &why), 0);
	assert_string_equal(p.dev, "eth0");
	assert_string_equal(p.name, "eth0");
	assert_false(p.has_src);
	assert_int_equal(p.weight, 1);
	assert_false(p.backup);

	assert_int_equal(ht_pathspec_parse("192.0.2.2", &p, &why), 0);
	assert_true(p.has_src);
	assert_memory_equal(p.src, V4, 16);
	assert_string_equal(p.name, "192.0.2.2");
	assert_string_equal(p.dev, "");

	assert_int_equal(ht_pathspec_parse("name=lte,dev=wwan0,src=2001:db8::2,weight=3,backup", &p,
					   &why),
			 0);
	assert_string_equal(p.name, "lte");
	assert_string_equal(p.dev, "wwan0");
	assert_true(p.has_src);
	assert_int_equal(p.src[0], 0x20);
	assert_int_equal(p.weight, 3);
	assert_true(p.backup);

	assert_int_equal(ht_pathspec_parse("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", &p, &why), 0);
	assert_int_equal(strlen(p.name), 31);
}

static void test_refusals(void **state)
{
	static const char *const bad[] = {
		"",
		"backup",             /* neither dev nor src */
		"weight=2",           /* neither */
		"eth0,eth1",          /* two interfaces */
		"192.0.2.2,src=192.0.2.3",
		"src=eth0",
		"dev=a/b",
		"dev=0123456789abcdef", /* 16 bytes */
		"eth0,weight=0",
		"eth0,weight=1001",
		"eth0,weight=x",
		"eth0,name=",
		"eth0,name=a b",
		"eth0,name=0123456789012345678901234567890123",
		"eth0,,backup",
		"eth0,",
		"eth0,colour=red",
		"dev=..",
		NULL,
	};
	struct ht_pathspec p;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		why = NULL;
		if (ht_pathspec_parse(bad[i], &p, &why) == 0)
			fail_msg("accepted '%s'", bad[i]);
		assert_non_null(why);
	}
	assert_int_equal(ht_pathspec_parse(NULL, &p, &why), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
