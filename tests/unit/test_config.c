/* Unit tests for the configuration file parser (src/core/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "proto/err.h"

struct seen {
	char out[2048];
	int n;
};

static int record(void *ctx, const char *key, const char *value, unsigned line)
{
	struct seen *s = ctx;
	size_t used = strlen(s->out);

	snprintf(s->out + used, sizeof(s->out) - used, "%u:%s=%s;", line, key,
		 value != NULL ? value : "(flag)");
	s->n++;
	return 0;
}

static int parse(const char *text, struct seen *s, unsigned *line)
{
	memset(s, 0, sizeof(*s));
	return ht_config_parse(text, strlen(text), record, s, line);
}

static void test_good(void **state)
{
	struct seen s;
	unsigned line;
	const char *text = "# hatun concentrator\n"
			   "listen = 203.0.113.1:443\n"
			   "\n"
			   "  allow=sha256:ab   # trailing comment\n"
			   "allow = sha256:cd\n"
			   "full-tunnel\n"
			   "name = \"a # b \"\n"
			   "url = http://x/#frag\n"
			   "last = no-newline";

	(void)state;
	assert_int_equal(parse(text, &s, &line), 0);
	assert_int_equal(s.n, 7);
	assert_string_equal(s.out, "2:listen=203.0.113.1:443;4:allow=sha256:ab;5:allow=sha256:cd;"
				   "6:full-tunnel=(flag);7:name=a # b ;8:url=http://x/#frag;"
				   "9:last=no-newline;");
}

static void test_errors(void **state)
{
	struct seen s;
	unsigned line;
	char big[HT_CONFIG_VALUE_MAX + 32];

	(void)state;
	assert_int_equal(parse("a = 1\nBAD = 2\n", &s, &line), HT_ERR_BAD_VALUE);
	assert_int_equal(line, 2);
	assert_int_equal(parse("key value\n", &s, &line), HT_ERR_BAD_VALUE);
	assert_int_equal(parse("key =\n", &s, &line), HT_ERR_BAD_VALUE);
	assert_int_equal(parse("key = # nothing\n", &s, &line), HT_ERR_BAD_VALUE);
	assert_int_equal(parse("key = \"open\n", &s, &line), HT_ERR_BAD_VALUE);
	assert_int_equal(parse("key = \"x\" y\n", &s, &line), HT_ERR_BAD_VALUE);
	assert_int_equal(parse("= 1\n", &s, &line), HT_ERR_BAD_VALUE);
	memset(big, 'k', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(parse(big, &s, &line), HT_ERR_TOO_LONG);
	memcpy(big, "k = ", 4);
	memset(big + 4, 'v', sizeof(big) - 5);
	assert_int_equal(parse(big, &s, &line), HT_ERR_TOO_LONG);
	assert_int_equal(line, 1);
}

static int stop_at_second(void *ctx, const char *key, const char *value, unsigned line)
{
	(void)key;
	(void)value;
	(void)ctx;
	return line == 2 ? 42 : 0;
}

static void test_callback_stops(void **state)
{
	unsigned line;

	(void)state;
	assert_int_equal(ht_config_parse("a\nb\nc\n", 6, stop_at_second, NULL, &line), 42);
	assert_int_equal(line, 2);
	/* An embedded NUL in a value is refused rather than silently cut. */
	assert_int_equal(ht_config_parse("a = x\0y\n", 8, stop_at_second, NULL, &line),
			 HT_ERR_BAD_VALUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_callback_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
