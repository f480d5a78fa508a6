/* hatun — the client's `--path SPEC` (issue 5): one access network of a
 * multipath session.  Pure: no I/O, no allocation.
 *
 * SPEC is a comma-separated list of items:
 *   dev=IFACE      bind the path's socket to this interface (SO_BINDTODEVICE)
 *   src=ADDR       and/or to this source address (IPv4 or IPv6 literal)
 *   weight=N       share under the `weighted` policy, 1..1000 (default 1)
 *   backup         used only while no primary path works
 *   name=NAME      what `hatun status` and the logs call it
 * A bare IP literal means src=, any other bare word dev=, so `--path eth0`,
 * `--path 192.0.2.2` and `--path lte,dev=wwan0,backup` all work.  At least
 * a dev or a src; the name defaults to the dev, else the src.
 */
#ifndef HATUN_TUNNEL_PATHSPEC_H
#define HATUN_TUNNEL_PATHSPEC_H

#include <stdbool.h>
#include <stdint.h>

#define HT_PATH_NAME_MAX 31u
#define HT_PATH_DEV_MAX 15u /* IFNAMSIZ - 1 */
#define HT_PATH_WEIGHT_MAX 1000u

struct ht_pathspec {
	char name[HT_PATH_NAME_MAX + 1];
	char dev[HT_PATH_DEV_MAX + 1]; /* "" = any interface */
	bool has_src;
	uint8_t src[16]; /* IPv4-mapped for IPv4 */
	uint32_t weight;
	bool backup;
};

/* Returns 0, or -1 with a short reason in *why ("unknown item 'x'", ...). */
int ht_pathspec_parse(const char *s, struct ht_pathspec *out, const char **why);

#endif
