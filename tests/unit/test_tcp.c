/* Unit tests for src/tunnel/tcp.c on loopback (no root needed).  The ICMP
 * paths need a router that answers with ICMP: tests/netns cover them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/addr.h"
#include "tunnel/tcp.h"

static void loopback16(uint8_t a[16])
{
	static const uint8_t lo[4] = {127, 0, 0, 1};

	ht_addr_map_v4(a, lo);
}

/* A listening socket on 127.0.0.1 with an ephemeral port. */
static int listen_any(uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static enum ht_tcp_outcome wait_result(int fd, const uint8_t a[16], uint16_t port,
				       struct ht_tcp_failure *f)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	assert_int_equal(poll(&p, 1, 5000), 1);
	return ht_tcp_connect_result(fd, a, port, f);
}

static void test_connect_ok(void **state)
{
	uint8_t a[16];
	uint16_t port;
	int lfd = listen_any(&port), fd;
	struct ht_tcp_failure f;
	enum ht_tcp_outcome o;

	(void)state;
	loopback16(a);
	o = ht_tcp_connect(a, port, &fd, &f);
	assert_true(o == HT_TCP_IN_PROGRESS || o == HT_TCP_CONNECTED);
	assert_int_equal(wait_result(fd, a, port, &f), HT_TCP_CONNECTED);
	close(fd);
	close(lfd);
}

static void test_connect_refused(void **state)
{
	uint8_t a[16];
	uint16_t port;
	int lfd = listen_any(&port), fd;
	struct ht_tcp_failure f;
	enum ht_tcp_outcome o;

	(void)state;
	close(lfd); /* the port is now closed: the SYN gets a RST */
	loopback16(a);
	o = ht_tcp_connect(a, port, &fd, &f);
	if (o == HT_TCP_IN_PROGRESS) {
		o = wait_result(fd, a, port, &f);
		close(fd);
	}
	assert_int_equal(o, HT_TCP_REFUSED);
	assert_int_equal(f.err, ECONNREFUSED);
	assert_int_equal(f.icmp_len, 0);
}

static void test_sockaddr_roundtrip(void **state)
{
	struct sockaddr_storage ss;
	uint8_t a[16], b[16];
	uint16_t port;
	char buf[64];
	static const uint8_t v4[4] = {192, 0, 2, 1};

	(void)state;
	ht_addr_map_v4(a, v4);
	assert_int_equal(ht_sockaddr_from16(&ss, a, 443), sizeof(struct sockaddr_in));
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ht_sockaddr_to16((struct sockaddr *)&ss, sizeof(ss), b, &port), 0);
	assert_memory_equal(a, b, 16);
	assert_int_equal(port, 443);
	assert_string_equal(ht_addr16_str(a, 443, buf, sizeof(buf)), "192.0.2.1:443");
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::7", a), 1);
	assert_int_equal(ht_sockaddr_from16(&ss, a, 80), sizeof(struct sockaddr_in6));
	assert_int_equal(ht_sockaddr_to16((struct sockaddr *)&ss, sizeof(struct sockaddr_in6), b, &port), 0);
	assert_memory_equal(a, b, 16);
	assert_string_equal(ht_addr16_str(a, 80, buf, sizeof(buf)), "[2001:db8::7]:80");
	ss.ss_family = AF_UNIX;
	assert_int_equal(ht_sockaddr_to16((struct sockaddr *)&ss, sizeof(ss), b, &port), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_ok),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_sockaddr_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
