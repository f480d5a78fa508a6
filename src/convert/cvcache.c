#include "convert/cvcache.h"

#include <string.h>

void cv_cache_init(struct cv_cache *c, ht_time ttl)
{
	memset(c, 0, sizeof(*c));
	c->ttl = ttl;
}

static struct cv_cache_ent *find(const struct cv_cache *c, const uint8_t addr[16], uint16_t port)
{
	for (size_t i = 0; i < CV_CACHE_SLOTS; i++) {
		const struct cv_cache_ent *e = &c->e[i];

		if (e->expires != 0 && e->port == port && memcmp(e->addr, addr, 16) == 0)
			return (struct cv_cache_ent *)e;
	}
	return NULL;
}

void cv_cache_put(struct cv_cache *c, const uint8_t addr[16], uint16_t port, ht_time now)
{
	struct cv_cache_ent *e = find(c, addr, port);

	if (e == NULL) {
		/* A free or expired slot, else the one that expires first. */
		e = &c->e[0];
		for (size_t i = 0; i < CV_CACHE_SLOTS; i++) {
			if (c->e[i].expires <= now) {
				e = &c->e[i];
				break;
			}
			if (c->e[i].expires < e->expires)
				e = &c->e[i];
		}
		memcpy(e->addr, addr, 16);
		e->port = port;
	}
	e->expires = now + c->ttl;
}

bool cv_cache_has(const struct cv_cache *c, const uint8_t addr[16], uint16_t port, ht_time now)
{
	const struct cv_cache_ent *e = find(c, addr, port);

	return e != NULL && e->expires > now;
}

void cv_cache_del(struct cv_cache *c, const uint8_t addr[16], uint16_t port)
{
	struct cv_cache_ent *e = find(c, addr, port);

	if (e != NULL)
		e->expires = 0;
}

size_t cv_cache_count(const struct cv_cache *c, ht_time now)
{
	size_t n = 0;

	for (size_t i = 0; i < CV_CACHE_SLOTS; i++)
		n += c->e[i].expires > now;
	return n;
}
