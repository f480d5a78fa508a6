#include "addr.h"

#include <string.h>

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static unsigned classify_v4(const uint8_t v4[4])
{
	if (v4[0] == 0)
		return HT_ADDR_UNSPECIFIED;
	if (v4[0] == 127)
		return HT_ADDR_LOOPBACK;
	if ((v4[0] & 0xf0) == 0xe0)
		return HT_ADDR_MULTICAST;
	if (v4[0] == 255 && v4[1] == 255 && v4[2] == 255 && v4[3] == 255)
		return HT_ADDR_BROADCAST;
	if (v4[0] == 169 && v4[1] == 254)
		return HT_ADDR_LINKLOCAL;
	return 0;
}

unsigned ht_addr_classify(const uint8_t a[16])
{
	static const uint8_t zero[15];

	if (memcmp(a, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0)
		return HT_ADDR_V4MAPPED | classify_v4(a + 12);
	if (memcmp(a, zero, 15) == 0) {
		if (a[15] == 0)
			return HT_ADDR_UNSPECIFIED;
		if (a[15] == 1)
			return HT_ADDR_LOOPBACK;
	}
	if (a[0] == 0xff)
		return HT_ADDR_MULTICAST;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return HT_ADDR_LINKLOCAL;
	return 0;
}

void ht_addr_map_v4(uint8_t out[16], const uint8_t v4[4])
{
	memcpy(out, v4mapped_prefix, sizeof(v4mapped_prefix));
	memcpy(out + 12, v4, 4);
}
