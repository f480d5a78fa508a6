/* hatun — the configuration file format (-c FILE).
 *
 * One option per line, named as its long command-line flag without "--":
 *
 *     # a comment
 *     listen = 203.0.113.1:443
 *     allow = sha256:0123...      (list options repeat the key)
 *     log-level = debug
 *     full-tunnel                 (a flag takes no value)
 *     route = "2001:db8::/32"     (quotes keep spaces and '#')
 *
 * The CLI turns each line into "--key value" and feeds it through the same
 * option handlers as the command line, before the command line, so flags
 * win and every value is validated by one piece of code.
 */
#ifndef HATUN_CORE_CONFIG_H
#define HATUN_CORE_CONFIG_H

#include <stddef.h>

#define HT_CONFIG_KEY_MAX 64
#define HT_CONFIG_VALUE_MAX 1024

/* Called once per option line.  value is NULL for a bare flag.  Return 0 to
 * go on, anything else to stop the parse with that value. */
typedef int (*ht_config_cb)(void *ctx, const char *key, const char *value, unsigned line);

/* Parse text[0..len).  Returns 0, the callback's non-zero value, or
 *   HT_ERR_BAD_VALUE  a malformed line (bad key, unterminated quote, text
 *                     after a closing quote, '=' with nothing after it);
 *   HT_ERR_TOO_LONG   a key or value over its maximum;
 * with *err_line set to the 1-based line number of the failure. */
int ht_config_parse(const char *text, size_t len, ht_config_cb cb, void *ctx,
		    unsigned *err_line);

#endif
