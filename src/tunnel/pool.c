/* hatun — tunnel address pools (pool.h). */
#include "tunnel/pool.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"
#include "quic/conn.h"

#define PROBES 64                /* hashed probes before the linear scan */
#define SCAN_MAX 65536u          /* linear-scan bound after them */
#define TABLE_MAX (1u << 18)     /* lease slots (half used at most) */

struct lease {
	bool used;
	uint8_t addr[16];
	uint8_t fp[HT_FP_LEN];
	void *owner;
};

struct ht_pool {
	int version;
	uint8_t plen;
	uint8_t prefix[16];
	uint64_t nhosts; /* client addresses: offsets 2 .. 2 + nhosts - 1 */
	struct lease *tab;
	size_t cap, n, active;
};

static const uint8_t MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int parse_prefix(const char *arg, int *version, uint8_t prefix[16], uint8_t *plen,
			char *err, size_t errlen, bool pool);

int ht_pool_parse(const char *arg, int *version, uint8_t prefix[16], uint8_t *plen, char *err,
		  size_t errlen)
{
	return parse_prefix(arg, version, prefix, plen, err, errlen, true);
}

static int parse_any(const char *arg, int *version, uint8_t prefix[16], uint8_t *plen)
{
	char err[8];

	return parse_prefix(arg, version, prefix, plen, err, sizeof(err), false);
}

static int parse_prefix(const char *arg, int *version, uint8_t prefix[16], uint8_t *plen,
			char *err, size_t errlen, bool pool)
{
	char a[64], *slash, *end;
	unsigned long l;
	int v, max;

	if ((arg[0] != '4' && arg[0] != '6') || arg[1] != ':' || strlen(arg + 2) >= sizeof(a)) {
		snprintf(err, errlen, "--pool %s: want 4:CIDR or 6:CIDR", arg);
		return -1;
	}
	v = arg[0] - '0';
	snprintf(a, sizeof(a), "%s", arg + 2);
	slash = strchr(a, '/');
	if (slash == NULL) {
		snprintf(err, errlen, "--pool %s: no prefix length", arg);
		return -1;
	}
	*slash = '\0';
	l = strtoul(slash + 1, &end, 10);
	max = v == 4 ? (pool ? 30 : 32) : (pool ? 126 : 128);
	if (*end != '\0' || slash[1] == '\0' || l < (pool ? (v == 4 ? 8u : 64u) : 0u) ||
	    l > (unsigned)max) {
		snprintf(err, errlen, "--pool %s: prefix length must be %d..%d", arg,
			 pool ? (v == 4 ? 8 : 64) : 0, max);
		return -1;
	}
	memset(prefix, 0, 16);
	if (v == 4) {
		memcpy(prefix, MAPPED, sizeof(MAPPED));
		if (inet_pton(AF_INET, a, prefix + 12) != 1) {
			snprintf(err, errlen, "--pool %s: not an IPv4 address", arg);
			return -1;
		}
	} else if (inet_pton(AF_INET6, a, prefix) != 1 ||
		   memcmp(prefix, MAPPED, sizeof(MAPPED)) == 0) {
		snprintf(err, errlen, "--pool %s: not an IPv6 address", arg);
		return -1;
	}
	/* Host bits must be zero: the prefix names the pool exactly. */
	for (unsigned bit = (v == 4 ? 96u : 0u) + (unsigned)l; bit < 128; bit++) {
		if (prefix[bit / 8] & (0x80u >> (bit % 8))) {
			snprintf(err, errlen, "--pool %s: host bits set after /%lu", arg, l);
			return -1;
		}
	}
	*version = v;
	*plen = (uint8_t)l;
	return 0;
}

int ht_cidr_parse(const char *s, uint8_t addr[16], uint8_t *plen)
{
	char buf[80];
	int v, n = snprintf(buf, sizeof(buf), "%c:%s", strchr(s, ':') != NULL ? '6' : '4', s);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return parse_any(buf, &v, addr, plen);
}

struct ht_pool *ht_pool_new(int version, const uint8_t prefix[16], uint8_t plen)
{
	struct ht_pool *p = calloc(1, sizeof(*p));
	unsigned hostbits = (version == 4 ? 32u : 128u) - plen;

	if (p == NULL)
		return NULL;
	p->version = version;
	p->plen = plen;
	memcpy(p->prefix, prefix, 16);
	if (hostbits > 64)
		hostbits = 64; /* the low 64 bits of a short IPv6 prefix */
	/* Minus network (0), gateway (1) and, for IPv4, broadcast. */
	p->nhosts = (hostbits == 64 ? UINT64_MAX : (1ull << hostbits)) - (version == 4 ? 3 : 2);
	p->cap = 64;
	p->tab = calloc(p->cap, sizeof(*p->tab));
	if (p->tab == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

void ht_pool_free(struct ht_pool *p)
{
	if (p == NULL)
		return;
	free(p->tab);
	free(p);
}

int ht_pool_version(const struct ht_pool *p)
{
	return p->version;
}

uint8_t ht_pool_plen(const struct ht_pool *p)
{
	return p->plen;
}

void ht_pool_prefix(const struct ht_pool *p, uint8_t out[16])
{
	memcpy(out, p->prefix, 16);
}

/* prefix + off in the low 64 bits (off < 2^hostbits, so no carry). */
static void addr_at(const struct ht_pool *p, uint64_t off, uint8_t out[16])
{
	memcpy(out, p->prefix, 16);
	for (int i = 15; i >= 8 && off != 0; i--, off >>= 8)
		out[i] |= (uint8_t)(off & 0xff);
}

void ht_pool_gateway(const struct ht_pool *p, uint8_t out[16])
{
	addr_at(p, 1, out);
}

bool ht_pool_contains(const struct ht_pool *p, const uint8_t a[16])
{
	unsigned bits = (p->version == 4 ? 96u : 0u) + p->plen;

	if ((p->version == 4) != (memcmp(a, MAPPED, sizeof(MAPPED)) == 0))
		return false;
	for (unsigned bit = 0; bit < bits; bit++) {
		unsigned m = 0x80u >> (bit % 8);

		if ((a[bit / 8] & m) != (p->prefix[bit / 8] & m))
			return false;
	}
	return true;
}

/* splitmix64 finaliser over FNV-1a: deterministic across builds and runs. */
static uint64_t probe_hash(const uint8_t fp[HT_FP_LEN], uint32_t i)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t k = 0; k < HT_FP_LEN; k++)
		h = (h ^ fp[k]) * 0x100000001b3ull;
	for (int k = 0; k < 4; k++)
		h = (h ^ ((i >> (8 * k)) & 0xff)) * 0x100000001b3ull;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static size_t slot_of(const struct ht_pool *p, const uint8_t a[16])
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (int k = 0; k < 16; k++)
		h = (h ^ a[k]) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 29)) & (p->cap - 1);
}

static struct lease *find(const struct ht_pool *p, const uint8_t a[16])
{
	for (size_t i = slot_of(p, a);; i = (i + 1) & (p->cap - 1)) {
		struct lease *l = &p->tab[i];

		if (!l->used)
			return NULL;
		if (memcmp(l->addr, a, 16) == 0)
			return l;
	}
}

static int grow(struct ht_pool *p)
{
	struct lease *old = p->tab;
	size_t ocap = p->cap;

	if (p->cap * 2 > TABLE_MAX)
		return HT_ERR_NOBUF;
	p->tab = calloc(p->cap * 2, sizeof(*p->tab));
	if (p->tab == NULL) {
		p->tab = old;
		return HT_QERR_NOMEM;
	}
	p->cap *= 2;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].used) {
			size_t j = slot_of(p, old[i].addr);

			while (p->tab[j].used)
				j = (j + 1) & (p->cap - 1);
			p->tab[j] = old[i];
		}
	}
	free(old);
	return 0;
}

static struct lease *insert(struct ht_pool *p, const uint8_t a[16])
{
	size_t i;

	if ((p->n + 1) * 2 > p->cap && grow(p) != 0)
		return NULL;
	for (i = slot_of(p, a); p->tab[i].used; i = (i + 1) & (p->cap - 1))
		;
	p->tab[i].used = true;
	memcpy(p->tab[i].addr, a, 16);
	p->n++;
	return &p->tab[i];
}

static int take(struct ht_pool *p, struct lease *l, const uint8_t fp[HT_FP_LEN], void *owner,
		uint8_t out[16])
{
	if (l->owner == NULL)
		p->active++;
	memcpy(l->fp, fp, HT_FP_LEN);
	l->owner = owner;
	memcpy(out, l->addr, 16);
	return 0;
}

int ht_pool_lease(struct ht_pool *p, const uint8_t fp[HT_FP_LEN], void *owner, uint8_t out[16])
{
	uint8_t a[16], free_a[16];
	struct lease *idle = NULL, *l;
	bool have_free = false;

	/* 1. The fingerprint's own lease, or the first free probe. */
	for (uint32_t i = 0; i < PROBES; i++) {
		addr_at(p, 2 + probe_hash(fp, i) % p->nhosts, a);
		l = find(p, a);
		if (l != NULL && memcmp(l->fp, fp, HT_FP_LEN) == 0)
			return take(p, l, fp, owner, out);
		if (l == NULL && !have_free) {
			memcpy(free_a, a, 16);
			have_free = true;
		}
		if (l != NULL && l->owner == NULL && idle == NULL)
			idle = l;
	}
	/* 2. A small pool may be full of hashes: scan it in order. */
	for (uint64_t off = 0; !have_free && off < p->nhosts && off < SCAN_MAX; off++) {
		addr_at(p, 2 + off, a);
		l = find(p, a);
		if (l == NULL) {
			memcpy(free_a, a, 16);
			have_free = true;
		} else if (l->owner == NULL && idle == NULL) {
			idle = l;
		}
	}
	if (have_free && (l = insert(p, free_a)) != NULL)
		return take(p, l, fp, owner, out);
	/* 3. Take back a reserved lease nobody uses now. */
	if (idle != NULL)
		return take(p, idle, fp, owner, out);
	return have_free ? HT_QERR_NOMEM : HT_ERR_NOBUF;
}

void ht_pool_release(struct ht_pool *p, const uint8_t a[16], void *owner)
{
	struct lease *l = find(p, a);

	if (l != NULL && l->owner == owner && owner != NULL) {
		l->owner = NULL;
		p->active--;
	}
}

void *ht_pool_owner(const struct ht_pool *p, const uint8_t a[16])
{
	const struct lease *l = find(p, a);

	return l != NULL ? l->owner : NULL;
}

size_t ht_pool_active(const struct ht_pool *p)
{
	return p->active;
}

size_t ht_pool_leases(const struct ht_pool *p)
{
	return p->n;
}
