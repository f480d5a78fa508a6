/* Unit tests for the pure parts of src/convert/cvsock.c: the Extended TCP
 * Header rebuilt from TCP_INFO / MPTCP_INFO facts, and the Convert error a
 * failed upstream connect maps to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>

#include "convert/cvcache.h"
#include "convert/cvsock.h"
#include "proto/convert.h"
#include "proto/err.h"

static void ext_opts_full(void **state)
{
	struct cv_tcp_facts f = {
		.have_tcp_info = true,
		.tcpi_options = TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE |
				TCPI_OPT_SYN_DATA,
		.snd_wscale = 7,
		.snd_mss = 1448,
		.mptcp_socket = true,
		.mptcp_active = true,
	};
	static const uint8_t want[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0,
				       3, 3, 7, 30, 4, 1, 1, 34, 2};
	uint8_t buf[64];
	struct cv_opt_iter it;
	struct cv_opt o;
	int n = cv_ext_opts_build(&f, buf, sizeof(buf)), count = 0;

	(void)state;
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	/* A Connect-style walker reads it: no NOPs, every entry whole. */
	cv_opt_iter_init(&it, buf, (size_t)n);
	while (cv_opt_next(&it, &o) == 1)
		count++;
	assert_int_equal(count, 6);
	assert_int_equal(it.state, 1);
}

static void ext_opts_plain(void **state)
{
	struct cv_tcp_facts f = {.have_tcp_info = true, .snd_mss = 1460};
	uint8_t buf[32];

	(void)state;
	assert_int_equal(cv_ext_opts_build(&f, buf, sizeof(buf)), 4);
	assert_int_equal(buf[0], 2);
	assert_int_equal(buf[2] << 8 | buf[3], 1460);
	/* MPTCP socket that fell back: no kind 30. */
	f.mptcp_socket = true;
	assert_int_equal(cv_ext_opts_build(&f, buf, sizeof(buf)), 4);
	assert_int_equal(cv_ext_opts_build(&f, buf, 31), HT_ERR_NOBUF);
}

static void check(const struct ht_tcp_failure *f, enum cv_fail_when when, bool v6, uint8_t code,
		  int value)
{
	uint8_t c, v;
	bool has;

	cv_connect_error(f, when, v6, &c, &v, &has);
	assert_int_equal(c, code);
	assert_int_equal(has, value >= 0);
	if (value >= 0)
		assert_int_equal(v, value);
}

static void connect_errors(void **state)
{
	struct ht_tcp_failure f;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.outcome = HT_TCP_REFUSED;
	f.err = ECONNREFUSED;
	check(&f, CV_FAIL_ASYNC, false, CV_E_CONNECTION_RESET, -1);
	check(&f, CV_FAIL_AT_ONCE, false, CV_E_NETWORK_FAILURE, 0);
	/* An ICMP message from the error queue: its code is echoed. */
	f.outcome = HT_TCP_ICMP;
	f.icmp_family = 4;
	f.icmp_len = 8;
	f.icmp[0] = 3;
	f.icmp[1] = 13;
	check(&f, CV_FAIL_ASYNC, false, CV_E_DEST_UNREACHABLE, 13);
	f.icmp[0] = 11; /* time exceeded: forwarding trouble */
	check(&f, CV_FAIL_ASYNC, false, CV_E_NETWORK_FAILURE, 0);
	f.icmp_family = 6;
	f.icmp[0] = 1;
	f.icmp[1] = 4;
	check(&f, CV_FAIL_ASYNC, true, CV_E_DEST_UNREACHABLE, 4);
	/* MPTCP: errno only. */
	memset(&f, 0, sizeof(f));
	f.outcome = HT_TCP_NET_FAILURE;
	f.err = EHOSTUNREACH;
	check(&f, CV_FAIL_ASYNC, false, CV_E_DEST_UNREACHABLE, 1);
	check(&f, CV_FAIL_ASYNC, true, CV_E_DEST_UNREACHABLE, 3);
	f.err = EACCES;
	check(&f, CV_FAIL_ASYNC, true, CV_E_DEST_UNREACHABLE, 1);
	f.err = ENETUNREACH;
	check(&f, CV_FAIL_ASYNC, false, CV_E_DEST_UNREACHABLE, 0);
	check(&f, CV_FAIL_AT_ONCE, false, CV_E_NETWORK_FAILURE, 0);
	f.err = ETIMEDOUT;
	check(&f, CV_FAIL_ASYNC, false, CV_E_NETWORK_FAILURE, 0);
	check(&f, CV_FAIL_TIMEOUT, false, CV_E_NETWORK_FAILURE, 0);
}

static void socks_reps(void **state)
{
	uint8_t v;

	(void)state;
	assert_int_equal(cv_error_socks_rep(CV_E_NOT_AUTHORIZED, NULL, 0, false), 2);
	assert_int_equal(cv_error_socks_rep(CV_E_CONNECTION_RESET, NULL, 0, false), 5);
	assert_int_equal(cv_error_socks_rep(CV_E_NETWORK_FAILURE, (v = 0, &v), 1, false), 4);
	v = 0;
	assert_int_equal(cv_error_socks_rep(CV_E_DEST_UNREACHABLE, &v, 1, false), 3);
	v = 1;
	assert_int_equal(cv_error_socks_rep(CV_E_DEST_UNREACHABLE, &v, 1, false), 4);
	assert_int_equal(cv_error_socks_rep(CV_E_DEST_UNREACHABLE, &v, 1, true), 2);
	v = 3;
	assert_int_equal(cv_error_socks_rep(CV_E_DEST_UNREACHABLE, &v, 1, false), 5);
	assert_int_equal(cv_error_socks_rep(CV_E_DEST_UNREACHABLE, &v, 1, true), 4);
	v = 13;
	assert_int_equal(cv_error_socks_rep(CV_E_DEST_UNREACHABLE, &v, 1, false), 2);
	assert_int_equal(cv_error_socks_rep(CV_E_RESOURCE_EXCEEDED, &v, 1, false), 1);
	assert_int_equal(cv_error_socks_rep(CV_E_MALFORMED, NULL, 0, false), 1);
}

static struct cv_cache cache;

static void mptcp_cache(void **state)
{
	uint8_t a[16] = {0}, b[16] = {0};
	ht_time t0 = 1000 * HT_SECONDS;

	(void)state;
	a[15] = 1;
	b[15] = 2;
	cv_cache_init(&cache, 10 * HT_SECONDS);
	assert_false(cv_cache_has(&cache, a, 80, t0));
	cv_cache_put(&cache, a, 80, t0);
	assert_true(cv_cache_has(&cache, a, 80, t0 + 9 * HT_SECONDS));
	assert_false(cv_cache_has(&cache, a, 81, t0));
	assert_false(cv_cache_has(&cache, b, 80, t0));
	assert_false(cv_cache_has(&cache, a, 80, t0 + 10 * HT_SECONDS)); /* expired */
	cv_cache_put(&cache, a, 80, t0 + 5 * HT_SECONDS);                /* refresh */
	assert_true(cv_cache_has(&cache, a, 80, t0 + 14 * HT_SECONDS));
	cv_cache_del(&cache, a, 80);
	assert_false(cv_cache_has(&cache, a, 80, t0));
	/* Full: the entry expiring first goes. */
	for (unsigned i = 0; i < CV_CACHE_SLOTS; i++) {
		b[14] = (uint8_t)(i >> 8);
		b[15] = (uint8_t)i;
		cv_cache_put(&cache, b, 443, t0 + i);
	}
	cv_cache_put(&cache, a, 80, t0 + 1000);
	assert_true(cv_cache_has(&cache, a, 80, t0 + 1000));
	b[14] = 0;
	b[15] = 0;
	assert_false(cv_cache_has(&cache, b, 443, t0 + 1000)); /* the oldest went */
	b[15] = 1;
	assert_true(cv_cache_has(&cache, b, 443, t0 + 1000));
}

/* The converter's use: destinations that answered MPTCP as TCP, counted
 * for `hatun status`, reached over MPTCP again once their entry expired. */
static void tcp_only_cache(void **state)
{
	uint8_t a[16] = {0}, b[16] = {0};
	ht_time t0 = 50 * HT_SECONDS;

	(void)state;
	a[10] = a[11] = b[10] = b[11] = 0xff;
	a[15] = 1;
	b[15] = 2;
	cv_cache_init(&cache, 600 * HT_SECONDS);
	assert_int_equal(cv_cache_count(&cache, t0), 0);
	cv_cache_put(&cache, a, 8080, t0);
	cv_cache_put(&cache, b, 8080, t0 + HT_SECONDS);
	cv_cache_put(&cache, a, 8080, t0 + 2 * HT_SECONDS); /* again: still one entry */
	assert_int_equal(cv_cache_count(&cache, t0 + 2 * HT_SECONDS), 2);
	assert_true(cv_cache_has(&cache, a, 8080, t0 + 601 * HT_SECONDS));
	assert_int_equal(cv_cache_count(&cache, t0 + 601 * HT_SECONDS), 1); /* b expired */
	assert_false(cv_cache_has(&cache, b, 8080, t0 + 601 * HT_SECONDS));
	assert_int_equal(cv_cache_count(&cache, t0 + 602 * HT_SECONDS), 0);
	/* Bounded: never more than CV_CACHE_SLOTS live entries. */
	for (unsigned i = 0; i < 2 * CV_CACHE_SLOTS; i++) {
		b[13] = (uint8_t)(i >> 8);
		b[14] = (uint8_t)i;
		cv_cache_put(&cache, b, 443, t0 + i);
	}
	assert_int_equal(cv_cache_count(&cache, t0 + 2 * CV_CACHE_SLOTS), CV_CACHE_SLOTS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ext_opts_full),
		cmocka_unit_test(ext_opts_plain),
		cmocka_unit_test(connect_errors),
		cmocka_unit_test(socks_reps),
		cmocka_unit_test(mptcp_cache),
		cmocka_unit_test(tcp_only_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
