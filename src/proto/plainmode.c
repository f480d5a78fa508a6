/* hatun — Plain Mode MPTCP option codec (wire-formats.md §4, Decision #5). */
#include "proto/plainmode.h"

#include <string.h>

#include "proto/addr.h"
#include "proto/err.h"
#include "proto/wire.h"

#define PM_D_BIT 0x0800u   /* bit 20 of the option = bit 4 of bytes 2-3 */
#define PM_U_BIT 0x0400u
#define PM_FLAGS 0x03FFu   /* the 10 reserved flag bits */

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

size_t pm_opt_len(const struct pm_opt *o)
{
	return (o->v6 ? 20u : 8u) + (o->has_port ? 2u : 0u);
}

int pm_parse(const uint8_t *buf, size_t len, uint8_t subtype, struct pm_opt *o)
{
	uint16_t w;
	size_t alen;

	memset(o, 0, sizeof(*o));
	if (subtype > 0xF)
		return HT_ERR_INVAL;
	if (len < 2)
		return HT_ERR_TRUNCATED;
	if (buf[0] != PM_KIND)
		return HT_ERR_BAD_TYPE;
	/* Frame the option before reading its subtype, so a walker never
	 * skips an MPTCP option whose Length lies. */
	if (buf[1] < 3)
		return HT_ERR_BAD_LENGTH;
	if (buf[1] > len)
		return HT_ERR_TRUNCATED;
	if (buf[1] < len)
		return HT_ERR_TRAILING;
	if ((buf[2] >> 4) != subtype)
		return HT_ERR_BAD_TYPE;
	switch (buf[1]) {
	case 8: case 10: alen = 4; break;
	case 20: case 22: alen = 16; break;
	default: return HT_ERR_BAD_LENGTH;
	}
	/* Length >= 8 here, so bytes 2-3 exist. */
	w = ht_get16(buf + 2);
	o->source = (w & PM_D_BIT) != 0;
	o->udp = (w & PM_U_BIT) != 0;
	o->reserved = w & PM_FLAGS;
	o->v6 = alen == 16;
	o->has_port = buf[1] == 10 || buf[1] == 22;
	if (o->v6)
		memcpy(o->addr, buf + 4, 16);
	else
		ht_addr_map_v4(o->addr, buf + 4);
	if (o->has_port)
		o->port = ht_get16(buf + 4 + alen);
	return (int)len;
}

int pm_write(uint8_t *buf, size_t cap, uint8_t subtype, const struct pm_opt *o)
{
	size_t n = pm_opt_len(o);
	uint16_t w;
	uint8_t *p;

	if (subtype > 0xF || (!o->v6 && memcmp(o->addr, v4mapped_prefix, 12) != 0))
		return HT_ERR_INVAL;
	if (cap < n)
		return HT_ERR_NOBUF;
	/* Reserved flags: "MUST each be set to zero" on send. */
	w = (uint16_t)(subtype << 12);
	if (o->source)
		w |= PM_D_BIT;
	if (o->udp)
		w |= PM_U_BIT;
	buf[0] = PM_KIND;
	buf[1] = (uint8_t)n;
	p = ht_put16(buf + 2, w);
	if (o->v6) {
		memcpy(p, o->addr, 16);
		p += 16;
	} else {
		memcpy(p, o->addr + 12, 4);
		p += 4;
	}
	if (o->has_port)
		ht_put16(p, o->port);
	return (int)n;
}

int pm_find(const uint8_t *opts, size_t len, uint8_t subtype, struct pm_opt *o, size_t *at)
{
	struct pm_opt tmp;
	size_t off = 0;
	int found = 0, rc;

	memset(o, 0, sizeof(*o));
	*at = 0;
	if (subtype > 0xF)
		return HT_ERR_INVAL;
	while (off < len) {
		const uint8_t *p = opts + off;
		size_t left = len - off;

		if (p[0] == 0) /* EOL: the rest is padding, whatever it holds */
			break;
		if (p[0] == 1) {
			off++;
			continue;
		}
		if (left < 2)
			return HT_ERR_TRUNCATED;
		if (p[1] < 2)
			return HT_ERR_BAD_LENGTH;
		if (p[1] > left)
			return HT_ERR_TRUNCATED;
		/* Other MPTCP options (other subtype, or too short to have
		 * one) are not ours to judge. */
		if (p[0] == PM_KIND && p[1] >= 3 && (p[2] >> 4) == subtype) {
			rc = pm_parse(p, p[1], subtype, &tmp);
			if (rc < 0)
				return rc;
			/* One address per segment: a second option could only
			 * contradict the first. */
			if (found)
				return HT_ERR_DUPLICATE;
			*o = tmp;
			*at = off;
			found = 1;
		}
		off += p[1];
	}
	return found;
}
