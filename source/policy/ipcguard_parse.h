/*
 * ipcguard: parsing of single option values, the bottom layer of the
 * policy engine (no policy, no rules).
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_PARSE_H
#define IPCGUARD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <talloc.h>

struct ipcguard_word {
	const char *word;
	int value;
};

/*
 * value must be one of words[] (case and surrounding white space do not
 * matter).  On error returns false and sets *error to a talloc'ed
 * "ipcguard:OPTION = "VALUE" is not EXPECTED".
 */
bool ipcguard_parse_word(TALLOC_CTX *mem_ctx, const char *option,
			 const char *value, const struct ipcguard_word *words,
			 size_t num_words, const char *expected, int *result,
			 char **error);

/* yes/no, true/false, on/off, 1/0. */
bool ipcguard_parse_bool(TALLOC_CTX *mem_ctx, const char *option,
			 const char *value, bool *result, char **error);

#endif /* IPCGUARD_PARSE_H */
