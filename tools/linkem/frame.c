/* Pure helpers over raw Ethernet frames. */
#include "frame.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t lk_frame_hdr_len(const uint8_t *f, size_t cap)
{
	size_t off = 12;
	uint16_t type;
	uint8_t proto;

	if (cap < 14)
		return 0;
	type = rd16(f + off);
	/* 802.1Q / 802.1ad, at most two tags (QinQ). */
	for (int i = 0; i < 2 && (type == 0x8100 || type == 0x88a8); i++) {
		off += 4;
		if (cap < off + 2)
			return 0;
		type = rd16(f + off);
	}
	off += 2;
	if (type == 0x0800) {
		if (cap < off + 20)
			return 0;
		proto = f[off + 9];
		off += (size_t)(f[off] & 0x0f) * 4;
	} else if (type == 0x86dd) {
		/* Extension headers are not followed: GSO packets from the
		 * kernel stack carry TCP or UDP right after the fixed header. */
		if (cap < off + 40)
			return 0;
		proto = f[off + 6];
		off += 40;
	} else {
		return 0;
	}
	if (proto == 17)
		return (uint32_t)(off + 8);
	if (proto != 6 || cap < off + 13)
		return 0;
	return (uint32_t)(off + (size_t)(f[off + 12] >> 4) * 4);
}

uint32_t lk_frame_wire_len(const uint8_t *f, size_t cap, uint32_t len,
			   uint32_t gso_size)
{
	uint32_t hdr, segs;

	if (gso_size == 0)
		return len;
	hdr = lk_frame_hdr_len(f, cap);
	if (hdr == 0 || hdr >= len)
		return len;
	segs = (len - hdr + gso_size - 1) / gso_size;
	return len + (segs - 1) * hdr;
}
