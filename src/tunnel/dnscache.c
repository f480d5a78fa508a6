/* hatun — the resolver's answer cache (dnscache.h). */
#include "tunnel/dnscache.h"

#include <string.h>

void dnscache_init(struct dnscache *c)
{
	memset(c, 0, sizeof(*c));
}

static size_t trim(const char *name, size_t len)
{
	if (len > 0 && name[len - 1] == '.')
		len--;
	return len;
}

static bool name_eq(const struct dnscache_entry *e, const char *name, size_t len)
{
	if (e->name_len != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char a = (unsigned char)e->name[i], b = (unsigned char)name[i];

		if (a >= 'A' && a <= 'Z')
			a = (unsigned char)(a + 32);
		if (b >= 'A' && b <= 'Z')
			b = (unsigned char)(b + 32);
		if (a != b)
			return false;
	}
	return true;
}

static struct dnscache_entry *find(struct dnscache *c, const char *name, size_t len)
{
	for (size_t i = 0; i < DNSCACHE_SIZE; i++) {
		if (c->e[i].expires != 0 && name_eq(&c->e[i], name, len))
			return &c->e[i];
	}
	return NULL;
}

void dnscache_put(struct dnscache *c, const char *name, size_t len, uint8_t rep,
		  const uint8_t addr[16], uint32_t ttl, ht_time now)
{
	struct dnscache_entry *e;
	uint32_t secs;

	len = trim(name, len);
	if (len == 0 || len > DNSCACHE_NAME_MAX || (rep != 0 && rep != 4) ||
	    (rep == 0 && addr == NULL))
		return;
	secs = rep == 0 ? (ttl > DNSCACHE_TTL_MAX ? DNSCACHE_TTL_MAX : ttl) : DNSCACHE_NEG_TTL;
	if (secs == 0)
		return;
	e = find(c, name, len);
	if (e == NULL) {
		e = &c->e[0];
		for (size_t i = 0; i < DNSCACHE_SIZE; i++) {
			struct dnscache_entry *x = &c->e[i];

			if (x->expires <= now) { /* free or expired */
				e = x;
				break;
			}
			if (x->expires < e->expires)
				e = x;
		}
	}
	e->expires = now + (ht_time)secs * HT_SECONDS;
	e->rep = rep;
	if (rep == 0)
		memcpy(e->addr, addr, 16);
	else
		memset(e->addr, 0, 16);
	e->name_len = (uint8_t)len;
	memcpy(e->name, name, len);
}

bool dnscache_get(struct dnscache *c, const char *name, size_t len, ht_time now, uint8_t *rep,
		  uint8_t addr[16])
{
	struct dnscache_entry *e;

	len = trim(name, len);
	e = len > 0 && len <= DNSCACHE_NAME_MAX ? find(c, name, len) : NULL;
	if (e == NULL || e->expires <= now) {
		if (e != NULL)
			e->expires = 0;
		c->misses++;
		return false;
	}
	c->hits++;
	*rep = e->rep;
	if (e->rep == 0)
		memcpy(addr, e->addr, 16);
	return true;
}
