/* hatun — entry point specifications and reply mapping (spec.h). */
#include "tunnel/spec.h"

#include <arpa/inet.h>
#include <string.h>

#include "proto/addr.h"
#include "proto/icmp.h"
#include "proto/qt_stream.h"
#include "proto/socks5.h"

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int ht_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 19)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int ht_parse_seconds(const char *s, uint64_t max_s, uint64_t *ns)
{
	uint64_t whole = 0, frac = 0, scale = 1000000000ull;
	const char *p = s;
	int digits = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (uint64_t)(*p - '0');
		if (++digits > 9)
			return -1;
	}
	if (digits == 0)
		return -1;
	if (*p == '.') {
		int fd = 0;

		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (++fd > 3)
				return -1;
			scale /= 10;
			frac += (uint64_t)(*p - '0') * scale;
		}
		if (fd == 0)
			return -1;
	}
	if (*p != '\0' || whole > max_s || (whole == max_s && frac > 0) ||
	    (whole == 0 && frac == 0))
		return -1;
	*ns = whole * 1000000000ull + frac;
	return 0;
}

static bool valid_name(const char *s, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > HT_NAME_MAX || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

/* Parse a host (IP literal, [IPv6], or name) from s[0..n). */
static int parse_host(const char *s, size_t n, bool bracketed, bool allow_name,
		      struct ht_hostport *out, const char **why)
{
	char buf[HT_NAME_MAX + 1];
	uint8_t v4[4];

	if (n == 0 || n > HT_NAME_MAX) {
		*why = "empty or too long host";
		return -1;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(out->addr, 0, sizeof(out->addr));
	out->is_name = false;
	out->name[0] = '\0';
	if (bracketed) {
		if (inet_pton(AF_INET6, buf, out->addr) != 1) {
			*why = "bad IPv6 address";
			return -1;
		}
		return 0;
	}
	if (inet_pton(AF_INET, buf, v4) == 1) {
		ht_addr_map_v4(out->addr, v4);
		return 0;
	}
	if (inet_pton(AF_INET6, buf, out->addr) == 1)
		return 0;
	if (!allow_name) {
		*why = "not an IP address";
		return -1;
	}
	if (!valid_name(buf, n)) {
		*why = "bad host name";
		return -1;
	}
	out->is_name = true;
	memcpy(out->name, buf, n + 1);
	return 0;
}

static int parse_port(const char *s, size_t n, uint16_t *port)
{
	char buf[8];
	uint64_t v;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (ht_parse_u64(buf, 1, 65535, &v) != 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Split s into fields at ':' (a "[...]" field may hold colons).  Returns the
 * count (max nmax), or -1.  A bare IPv6 address without brackets has too
 * many fields and is refused by the callers, as in ssh. */
struct field {
	const char *p;
	size_t n;
	bool br;
};

static int split(const char *s, struct field *f, int nmax)
{
	int k = 0;

	for (;;) {
		if (k == nmax)
			return -1;
		if (*s == '[') {
			const char *e = strchr(s, ']');

			if (e == NULL)
				return -1;
			f[k] = (struct field){s + 1, (size_t)(e - s - 1), true};
			s = e + 1;
			k++;
			if (*s == '\0')
				return k;
			if (*s != ':')
				return -1;
			s++;
			continue;
		}
		const char *c = strchr(s, ':');

		f[k] = (struct field){s, c ? (size_t)(c - s) : strlen(s), false};
		k++;
		if (c == NULL)
			return k;
		s = c + 1;
	}
}

int ht_hostport_parse(const char *s, bool allow_name, uint16_t default_port,
		      struct ht_hostport *out, const char **why)
{
	struct field f[2];
	int k;

	*why = "expected HOST:PORT";
	if (s == NULL || *s == '\0')
		return -1;
	k = split(s, f, 2);
	if (k < 0) {
		/* a bare IPv6 literal without a port */
		if (default_port > 0 && s[0] != '[' &&
		    parse_host(s, strlen(s), true, false, out, why) == 0) {
			out->port = default_port;
			return 0;
		}
		*why = "expected HOST:PORT (IPv6 in brackets)";
		return -1;
	}
	if (parse_host(f[0].p, f[0].n, f[0].br, allow_name, out, why) != 0)
		return -1;
	if (k == 1) {
		if (default_port == 0) {
			*why = "missing :PORT";
			return -1;
		}
		out->port = default_port;
		return 0;
	}
	if (parse_port(f[1].p, f[1].n, &out->port) != 0) {
		*why = "bad port (1-65535)";
		return -1;
	}
	return 0;
}

int ht_fwd_parse(const char *s, struct ht_fwd *out, const char **why)
{
	struct field f[4];
	int k, i = 0;

	*why = "expected [BIND:]PORT:HOST:PORT";
	if (s == NULL)
		return -1;
	k = split(s, f, 4);
	if (k != 3 && k != 4)
		return -1;
	memset(out, 0, sizeof(*out));
	if (k == 4) {
		if (parse_host(f[0].p, f[0].n, f[0].br, false, &out->bind, why) != 0) {
			*why = "bad bind address";
			return -1;
		}
		i = 1;
	} else {
		static const uint8_t lo[4] = {127, 0, 0, 1};

		ht_addr_map_v4(out->bind.addr, lo);
	}
	if (f[i].br || parse_port(f[i].p, f[i].n, &out->bind.port) != 0) {
		*why = "bad listen port (1-65535)";
		return -1;
	}
	if (parse_host(f[i + 1].p, f[i + 1].n, f[i + 1].br, true, &out->dst, why) != 0)
		return -1;
	if (f[i + 2].br || parse_port(f[i + 2].p, f[i + 2].n, &out->dst.port) != 0) {
		*why = "bad destination port (1-65535)";
		return -1;
	}
	return 0;
}

static bool parse_icmp(const uint8_t *payload, size_t len, const uint8_t dst[16],
		       struct icmp_msg *m)
{
	int fam = dst != NULL && memcmp(dst, v4mapped, sizeof(v4mapped)) == 0 ? 4 : 6;

	if (icmp_parse(m, fam, payload, len) >= 0)
		return true;
	return icmp_parse(m, fam == 4 ? 6 : 4, payload, len) >= 0;
}

uint8_t ht_socks_rep_for_error(uint16_t code, const uint8_t *payload, size_t len,
			       const uint8_t dst[16])
{
	struct icmp_msg m;

	if (code == QT_ERR_NETWORK_FAILURE)
		return SOCKS5_REP_HOST_UNREACHABLE;
	if (code != QT_ERR_ICMP || payload == NULL || !parse_icmp(payload, len, dst, &m))
		return SOCKS5_REP_GENERAL_FAILURE;
	switch (icmp_reason(&m)) {
	case ICMP_REASON_NET_UNREACH:
		return SOCKS5_REP_NET_UNREACHABLE;
	case ICMP_REASON_HOST_UNREACH:
		return SOCKS5_REP_HOST_UNREACHABLE;
	case ICMP_REASON_REFUSED:
		return SOCKS5_REP_CONN_REFUSED;
	case ICMP_REASON_PROHIBITED:
		return SOCKS5_REP_NOT_ALLOWED;
	case ICMP_REASON_TTL:
		return SOCKS5_REP_TTL_EXPIRED;
	default:
		return SOCKS5_REP_GENERAL_FAILURE;
	}
}

const char *ht_error_tlv_str(uint16_t code, const uint8_t *payload, size_t len,
			     const uint8_t dst[16])
{
	struct icmp_msg m;

	switch (code) {
	case QT_ERR_UNKNOWN_TLV:
		return "Error 0x0 Unknown TLV";
	case QT_ERR_MALFORMED_TLV:
		return "Error 0x2 Malformed TLV";
	case QT_ERR_NETWORK_FAILURE:
		return "Error 0x3 Network Failure";
	case QT_ERR_PROTOCOL_VIOLATION:
		return "Error 0x4 Protocol Violation";
	case QT_ERR_ICMP:
		break;
	default:
		return "Error with an unknown code";
	}
	if (payload == NULL || !parse_icmp(payload, len, dst, &m))
		return "Error 0x1 ICMP (unparsable)";
	switch (icmp_reason(&m)) {
	case ICMP_REASON_NET_UNREACH:
		return "Error 0x1 ICMP network unreachable";
	case ICMP_REASON_HOST_UNREACH:
		return "Error 0x1 ICMP host unreachable";
	case ICMP_REASON_REFUSED:
		return "Error 0x1 ICMP port unreachable";
	case ICMP_REASON_PROHIBITED:
		return "Error 0x1 ICMP administratively prohibited";
	case ICMP_REASON_TTL:
		return "Error 0x1 ICMP time exceeded";
	default:
		return "Error 0x1 ICMP (other)";
	}
}
