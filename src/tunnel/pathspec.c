/* hatun — the client's --path SPEC (pathspec.h). */
#include "tunnel/pathspec.h"

#include <arpa/inet.h>
#include <string.h>

#include "tunnel/spec.h"

#define ITEM_MAX 64u

/* Interface names: what the kernel accepts (dev_valid_name): 1..15 bytes,
 * no '/', ':', or white space, not "." or "..". */
static bool dev_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > HT_PATH_DEV_MAX || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] == ' ' || s[i] == '\t' ||
		    (unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static bool name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > HT_PATH_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static bool ip_parse(const char *s, uint8_t out[16])
{
	struct in_addr a4;

	if (inet_pton(AF_INET6, s, out) == 1)
		return true;
	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return true;
	}
	return false;
}

static int item(struct ht_pathspec *p, const char *it, bool *named, const char **why)
{
	const char *eq = strchr(it, '=');
	const char *v = eq != NULL ? eq + 1 : it;
	size_t klen = eq != NULL ? (size_t)(eq - it) : 0, vlen = strlen(v);
	uint64_t w;

	if (eq == NULL && strcmp(it, "backup") == 0) {
		p->backup = true;
		return 0;
	}
	if ((eq == NULL && ip_parse(it, p->src)) || (klen == 3 && memcmp(it, "src", 3) == 0)) {
		if (p->has_src) {
			*why = "two source addresses";
			return -1;
		}
		if (eq != NULL && !ip_parse(v, p->src)) {
			*why = "src= needs an IP address";
			return -1;
		}
		p->has_src = true;
		return 0;
	}
	if (eq == NULL || (klen == 3 && memcmp(it, "dev", 3) == 0)) {
		if (p->dev[0] != '\0') {
			*why = "two interfaces";
			return -1;
		}
		if (!dev_name_ok(v, vlen)) {
			*why = eq == NULL ? "not an address, 'backup' or an interface name"
					  : "bad interface name";
			return -1;
		}
		memcpy(p->dev, v, vlen + 1);
		return 0;
	}
	if (klen == 6 && memcmp(it, "weight", 6) == 0) {
		if (ht_parse_u64(v, 1, HT_PATH_WEIGHT_MAX, &w) != 0) {
			*why = "weight= needs 1..1000";
			return -1;
		}
		p->weight = (uint32_t)w;
		return 0;
	}
	if (klen == 4 && memcmp(it, "name", 4) == 0) {
		if (!name_ok(v, vlen)) {
			*why = "name= needs 1..31 of [A-Za-z0-9._-]";
			return -1;
		}
		memcpy(p->name, v, vlen + 1);
		*named = true;
		return 0;
	}
	*why = "unknown item (dev=, src=, weight=, name=, backup)";
	return -1;
}

int ht_pathspec_parse(const char *s, struct ht_pathspec *out, const char **why)
{
	struct ht_pathspec p;
	bool named = false;
	const char *cur = s;

	memset(&p, 0, sizeof(p));
	p.weight = 1;
	*why = "empty";
	if (s == NULL || s[0] == '\0')
		return -1;
	for (;;) {
		const char *end = strchr(cur, ',');
		size_t n = end != NULL ? (size_t)(end - cur) : strlen(cur);
		char it[ITEM_MAX];

		if (n == 0 || n >= sizeof(it)) {
			*why = n == 0 ? "empty item" : "item too long";
			return -1;
		}
		memcpy(it, cur, n);
		it[n] = '\0';
		if (item(&p, it, &named, why) != 0)
			return -1;
		if (end == NULL)
			break;
		cur = end + 1;
	}
	if (p.dev[0] == '\0' && !p.has_src) {
		*why = "needs an interface or a source address";
		return -1;
	}
	if (!named) {
		if (p.dev[0] != '\0') {
			memcpy(p.name, p.dev, sizeof(p.dev));
		} else {
			char a[INET6_ADDRSTRLEN];
			bool v4 = memcmp(p.src, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0;

			if (inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? p.src + 12 : p.src, a,
				      sizeof(a)) == NULL) {
				*why = "bad address";
				return -1;
			}
			/* a 39-byte IPv6 text does not fit 31: keep its head */
			strncpy(p.name, a, HT_PATH_NAME_MAX);
			p.name[HT_PATH_NAME_MAX] = '\0';
		}
	}
	*out = p;
	*why = NULL;
	return 0;
}
