#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "proto/err.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Parse one line (without its '\n') and call cb.  Returns 0, cb's value or
 * an HT_ERR_*. */
static int parse_line(const char *s, size_t n, ht_config_cb cb, void *ctx, unsigned line)
{
	char key[HT_CONFIG_KEY_MAX + 1], value[HT_CONFIG_VALUE_MAX + 1];
	size_t i = 0, k = 0, v = 0;

	while (i < n && is_space(s[i]))
		i++;
	if (i == n || s[i] == '#')
		return 0;
	while (i < n && is_key_char(s[i])) {
		if (k == HT_CONFIG_KEY_MAX)
			return HT_ERR_TOO_LONG;
		key[k++] = s[i++];
	}
	key[k] = '\0';
	if (k == 0)
		return HT_ERR_BAD_VALUE;
	while (i < n && is_space(s[i]))
		i++;
	if (i == n || s[i] == '#')
		return cb(ctx, key, NULL, line);
	if (s[i++] != '=')
		return HT_ERR_BAD_VALUE;
	while (i < n && is_space(s[i]))
		i++;
	if (i == n || s[i] == '#')
		return HT_ERR_BAD_VALUE;
	if (s[i] == '"') {
		for (i++; i < n && s[i] != '"'; i++) {
			if (v == HT_CONFIG_VALUE_MAX)
				return HT_ERR_TOO_LONG;
			value[v++] = s[i];
		}
		if (i == n)
			return HT_ERR_BAD_VALUE;
		for (i++; i < n && is_space(s[i]); i++)
			;
		if (i < n && s[i] != '#')
			return HT_ERR_BAD_VALUE;
	} else {
		/* Unquoted: up to a comment, trailing blanks trimmed. */
		size_t end = i;

		while (end < n && !(s[end] == '#' && is_space(s[end - 1])))
			end++;
		while (end > i && is_space(s[end - 1]))
			end--;
		if (end - i > HT_CONFIG_VALUE_MAX)
			return HT_ERR_TOO_LONG;
		memcpy(value, s + i, end - i);
		v = end - i;
	}
	if (memchr(value, '\0', v) != NULL)
		return HT_ERR_BAD_VALUE;
	value[v] = '\0';
	return cb(ctx, key, value, line);
}

int ht_config_parse(const char *text, size_t len, ht_config_cb cb, void *ctx,
		    unsigned *err_line)
{
	unsigned line = 0;
	size_t pos = 0;

	*err_line = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
		int rc;

		line++;
		rc = parse_line(text + pos, n, cb, ctx, line);
		if (rc != 0) {
			*err_line = line;
			return rc;
		}
		pos += n + (nl != NULL);
	}
	return 0;
}
