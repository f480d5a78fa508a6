/* libFuzzer harness for src/proto/convert.c.
 *
 * Oracle: whatever cv_parse() accepts, the builder must rebuild in the same
 * form, the rebuilt bytes must parse to the same message, and rebuilding
 * that must give the same bytes again (the canonical form is a fixed point).
 * Every rejected input must map to a reply the builder can write and that
 * parses back with the right code and echo.  Any mismatch aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/convert.h"
#include "proto/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static bool same_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static bool same_msg(const struct cv_msg *a, const struct cv_msg *b)
{
	if (a->hdr.form != b->hdr.form || a->hdr.version != b->hdr.version ||
	    a->present != b->present)
		return false;
	if ((a->present & CV_HAS_CONNECT) &&
	    (a->connect.port != b->connect.port ||
	     memcmp(a->connect.addr, b->connect.addr, 16) != 0 ||
	     !same_bytes(a->connect.opts, a->connect.opts_len, b->connect.opts,
			 b->connect.opts_len)))
		return false;
	if ((a->present & CV_HAS_SUPPORTED) &&
	    !same_bytes(a->supported.kinds, a->supported.n, b->supported.kinds, b->supported.n))
		return false;
	if ((a->present & CV_HAS_EXT_TCP_HDR) &&
	    !same_bytes(a->ext_tcp_hdr.data, a->ext_tcp_hdr.len, b->ext_tcp_hdr.data,
			b->ext_tcp_hdr.len))
		return false;
	if ((a->present & CV_HAS_ERROR) &&
	    (a->error.code != b->error.code ||
	     !same_bytes(a->error.value, a->error.value_len, b->error.value,
			 b->error.value_len)))
		return false;
	return true;
}

static bool known_code(uint8_t c)
{
	switch (c) {
	case CV_E_UNSUPPORTED_VERSION: case CV_E_MALFORMED: case CV_E_UNSUPPORTED_MESSAGE:
	case CV_E_NOT_AUTHORIZED: case CV_E_UNSUPPORTED_TCP_OPTION:
	case CV_E_RESOURCE_EXCEEDED: case CV_E_NETWORK_FAILURE:
	case CV_E_CONNECTION_RESET: case CV_E_DEST_UNREACHABLE:
		return true;
	default:
		return false;
	}
}

/* The canonical encoding of m, or a negative error. */
static int rebuild(const struct cv_msg *m, uint8_t *out, size_t cap)
{
	struct cv_builder b;
	int rc = cv_build_begin(&b, out, cap, m->hdr.form);

	if (rc == 0 && (m->present & CV_HAS_BOOTSTRAP))
		rc = cv_build_add_bootstrap(&b);
	if (rc == 0 && (m->present & CV_HAS_CONNECT))
		rc = cv_build_add_connect(&b, m->connect.port, m->connect.addr,
					  m->connect.opts, m->connect.opts_len);
	if (rc == 0 && (m->present & CV_HAS_SUPPORTED))
		rc = cv_build_add_supported(&b, m->supported.kinds, m->supported.n);
	if (rc == 0 && (m->present & CV_HAS_EXT_TCP_HDR))
		rc = cv_build_add_ext_tcp_hdr(&b, m->ext_tcp_hdr.data, m->ext_tcp_hdr.len);
	if (rc == 0 && (m->present & CV_HAS_ERROR))
		rc = cv_build_add_error(&b, m->error.code, m->error.value, m->error.value_len);
	return rc < 0 ? rc : cv_build_finish(&b);
}

/* Answer a rejected message the way a converter would, and read it back. */
static void check_reply(const uint8_t *data, size_t size, int err, const struct cv_msg *m)
{
	static const uint8_t versions[] = {CV_VERSION};
	uint8_t out[CV_MAX_LEN];
	struct cv_builder b;
	struct cv_msg r;
	int code = cv_err_to_code(err), n;

	if (err == HT_ERR_BAD_MAGIC)
		CHECK(code == CV_NO_REPLY);
	if (code == CV_NO_REPLY)
		return;
	CHECK(cv_build_begin(&b, out, sizeof(out), m->hdr.form) == 0);
	if (code == CV_E_UNSUPPORTED_VERSION)
		CHECK(cv_build_add_error(&b, (uint8_t)code, versions, 1) == 0);
	else
		CHECK(cv_build_add_error(&b, (uint8_t)code, data, size) == 0);
	n = cv_build_finish(&b);
	CHECK(n > 0 && cv_parse(out, (size_t)n, &r) == n);
	CHECK(r.present == CV_HAS_ERROR && r.error.code == code);
	CHECK(r.hdr.form == m->hdr.form);
	if (code != CV_E_UNSUPPORTED_VERSION) {
		size_t k = size < r.error.value_len ? size : r.error.value_len;

		/* The echo is whole unless it had to be cut to 1020 bytes. */
		CHECK(k == size || size > CV_MAX_LEN - 8);
		CHECK(k == 0 || memcmp(r.error.value, data, k) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t a[CV_MAX_LEN], b[CV_MAX_LEN], refused;
	struct cv_msg m, m2;
	int n, la, lb, rc;

	n = cv_parse(data, size, &m);
	if (n == HT_ERR_NEED_MORE) {
		CHECK(size < CV_MAX_LEN);
		return 0;
	}
	if (n < 0) {
		check_reply(data, size, n, &m);
		return 0;
	}
	CHECK((size_t)n <= size && n % 4 == 0 && (size_t)n == m.hdr.total_len);
	CHECK(n <= CV_MAX_LEN);
	/* One byte short is always "need more": nothing is judged early. */
	CHECK(cv_parse(data, (size_t)n - 1, &m2) == HT_ERR_NEED_MORE);
	(void)cv_msg_check_sender(&m, true);
	(void)cv_msg_check_sender(&m, false);
	if (m.present & CV_HAS_CONNECT) {
		rc = cv_opts_check(m.connect.opts, m.connect.opts_len, &refused);
		CHECK(rc == 0 || (rc == HT_ERR_UNSUPPORTED &&
				  cv_opt_policy(refused) == CV_OPT_REFUSE));
	}

	la = rebuild(&m, a, sizeof(a));
	if (la == HT_ERR_INVAL) {
		/* Only an unknown error code is parsed but never written. */
		CHECK((m.present & CV_HAS_ERROR) && !known_code(m.error.code));
		return 0;
	}
	CHECK(la > 0 && la <= n);
	CHECK(cv_parse(a, (size_t)la, &m2) == la);
	if (!same_msg(&m, &m2))
		abort();
	lb = rebuild(&m2, b, sizeof(b));
	CHECK(lb == la && memcmp(a, b, (size_t)la) == 0);
	return 0;
}
