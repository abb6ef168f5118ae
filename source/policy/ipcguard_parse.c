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

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "ipcguard_parse.h"

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
		{ "yes", true }, { "true", true }, { "on", true }, { "1", true },
		{ "no", false }, { "false", false }, { "off", false },
		{ "0", false },
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
