/*
 * ipcguard: parsing of single option values.  See ipcguard_parse.h.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "ipcguard_parse.h"

const char *ipcguard_skip_space(const char *p)
{
	while (*p != '\0' && isspace((unsigned char)*p)) {
		p++;
	}
	return p;
}

bool ipcguard_parse_word(TALLOC_CTX *mem_ctx, const char *option,
			 const char *value, const struct ipcguard_word *words,
			 size_t num_words, const char *expected, int *result,
			 char **error)
{
	size_t start = 0, len, i;

	*error = NULL;
	if (value == NULL) {
		*error = talloc_asprintf(mem_ctx, "ipcguard:%s has no value",
					 option);
		goto fail;
	}
	len = strlen(value);
	while (start < len && isspace((unsigned char)value[start])) {
		start++;
	}
	while (len > start && isspace((unsigned char)value[len - 1])) {
		len--;
	}
	for (i = 0; i < num_words; i++) {
		if (strlen(words[i].word) == len - start &&
		    strncasecmp(words[i].word, value + start,
				len - start) == 0) {
			*result = words[i].value;
			return true;
		}
	}
	*error = talloc_asprintf(mem_ctx, "ipcguard:%s = \"%s\" is not %s",
				 option, value, expected);
fail:
	if (*error == NULL) {
		/* Still an error: the caller must not take it for valid. */
		*error = talloc_strdup(mem_ctx, "out of memory");
	}
	return false;
}

bool ipcguard_parse_bool(TALLOC_CTX *mem_ctx, const char *option,
			 const char *value, bool *result, char **error)
{
	static const struct ipcguard_word words[] = {
		{"yes", true},
		{"true", true},
		{"on", true},
		{"1", true},
		{"no", false},
		{"false", false},
		{"off", false},
		{"0", false},
	};
	int v = 0;

	if (!ipcguard_parse_word(mem_ctx, option, value, words,
				 sizeof(words) / sizeof(words[0]),
				 "a boolean (use yes or no)", &v, error)) {
		return false;
	}
	*result = v != 0;
	return true;
}

bool ipcguard_parse_uint(TALLOC_CTX *mem_ctx, const char *option,
			 const char *value, unsigned min, unsigned max,
			 unsigned *result, char **error)
{
	const char *p = NULL;
	unsigned long v = 0;

	*error = NULL;
	if (value == NULL) {
		*error = talloc_asprintf(mem_ctx, "ipcguard:%s has no value",
					 option);
		return false;
	}
	p = ipcguard_skip_space(value);
	if (!isdigit((unsigned char)*p)) {
		goto bad;
	}
	/* By hand: strtoul() takes signs and would wrap "-1". */
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > max) {
			goto bad;
		}
		p++;
	}
	if (*ipcguard_skip_space(p) != '\0' || v < min) {
		goto bad;
	}
	*result = (unsigned)v;
	return true;
bad:
	*error = talloc_asprintf(
		mem_ctx,
		"ipcguard:%s = \"%s\" is not a whole number "
		"from %u to %u",
		option,
		ipcguard_printable(mem_ctx, value, strlen(value)),
		min,
		max);
	return false;
}

bool ipcguard_address_parse(const char *text, struct ipcguard_address *addr,
			    unsigned *prefix)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash = NULL;
	unsigned max;

	if (text == NULL || strlen(text) >= sizeof(buf)) {
		return false;
	}
	memcpy(buf, text, strlen(text) + 1);
	slash = strchr(buf, '/');
	if (slash != NULL) {
		*slash = '\0';
	}
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, buf, addr->bytes) == 1) {
		addr->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, addr->bytes) == 1) {
		static const uint8_t v4mapped[12] = {
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
		};

		addr->family = 6;
		max = 128;
		/* Dual-stack sockets report IPv4 clients this way. */
		if (slash == NULL &&
		    memcmp(addr->bytes, v4mapped, sizeof(v4mapped)) == 0) {
			memmove(addr->bytes, addr->bytes + 12, 4);
			memset(addr->bytes + 4, 0, 12);
			addr->family = 4;
			max = 32;
		}
	} else {
		return false;
	}
	if (prefix == NULL) {
		return slash == NULL;
	}
	*prefix = max;
	if (slash != NULL) {
		char *end = NULL;
		unsigned long p;

		if (!isdigit((unsigned char)slash[1])) {
			return false;
		}
		errno = 0;
		p = strtoul(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || p > max) {
			return false;
		}
		*prefix = p;
	}
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	c = tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	return -1;
}

bool ipcguard_uuid_parse(const char *text, uint8_t uuid[16])
{
	size_t i, n = 0;

	if (text == NULL || strlen(text) != 36) {
		return false;
	}
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i] != '-') {
				return false;
			}
			continue;
		}
		if (hexval(text[i]) < 0 || hexval(text[i + 1]) < 0) {
			return false;
		}
		uuid[n++] = (hexval(text[i]) << 4) | hexval(text[i + 1]);
		i++;
	}
	return n == 16;
}
