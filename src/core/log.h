/* hatun — logging: one line per event, to stderr or syslog.
 *
 * Line format on stderr: "2026-11-29T11:10:00.123Z LEVEL component: message".
 * The level and the sink are process-wide settings made once at start-up by
 * the CLI; everything else only calls ht_log().
 */
#ifndef HATUN_CORE_LOG_H
#define HATUN_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum ht_log_level {
	HT_LOG_ERROR = 0,
	HT_LOG_WARN = 1,
	HT_LOG_INFO = 2,
	HT_LOG_DEBUG = 3,
};

void ht_log_set_level(enum ht_log_level level);
enum ht_log_level ht_log_get_level(void);

/* Parse "error", "warn", "info" or "debug".  Returns 0 or -1. */
int ht_log_parse_level(const char *s, enum ht_log_level *out);

/* Send lines to syslog (daemon facility) instead of stderr. */
void ht_log_use_syslog(const char *ident);

void ht_log(enum ht_log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Format a one-line reason into a caller's error buffer (err may be NULL or
 * errlen 0: then nothing is written).  The constructors that report errors
 * to the CLI take (char *err, size_t errlen) and fill it with this. */
void ht_errbuf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define HT_LOG_ENABLED(lvl) ((lvl) <= ht_log_get_level())

#endif
