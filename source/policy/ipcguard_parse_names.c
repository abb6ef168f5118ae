/*
 * ipcguard: lists of share and pipe names in option values, and the
 * printable form of hostile values in error messages.
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
#include "ipcguard_options.h"

/*
 * Characters Windows refuses in share names; ',' also separates entries.
 */
static bool share_char_ok(unsigned char c)
{
	if (c < 0x20 || c == 0x7f) {
		return false;
	}
	return strchr("\"/\\[]:|<>+=;,?*", c) == NULL;
}

/* Pipe names Samba serves are plain identifiers. */
static bool pipe_char_ok(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.' || c == '$';
}

/*
 * Printable form of a hostile value for an error message: control bytes
 * and non-ASCII are escaped so a log line stays one line.
 */
char *ipcguard_printable(TALLOC_CTX *mem_ctx, const char *s, size_t len)
{
	char *out = talloc_strdup(mem_ctx, "");
	size_t i;

	for (i = 0; out != NULL && i < len && i < IPCGUARD_MAX_SHOWN; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out = talloc_asprintf_append_buffer(out, "%c", c);
		} else {
			out = talloc_asprintf_append_buffer(out, "\\x%02x", c);
		}
	}
	if (out != NULL && len > IPCGUARD_MAX_SHOWN) {
		out = talloc_asprintf_append_buffer(out, "...");
	}
	return out;
}

static bool check_name(TALLOC_CTX *mem_ctx, const char *label,
		       const char *name, size_t len, bool pipes, char **error)
{
	size_t max = pipes ? IPCGUARD_MAX_PIPE_NAME : IPCGUARD_MAX_SHARE_NAME;
	const char *what = pipes ? "pipe" : "share";
	size_t i;

	if (len > max) {
		*error = talloc_asprintf(mem_ctx,
					 "%s: %s name \"%s\" is "
					 "longer than %zu characters",
					 label,
					 what,
					 ipcguard_printable(mem_ctx, name, len),
					 max);
		return false;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		bool ok = pipes ? pipe_char_ok(c) : share_char_ok(c);

		if (!ok) {
			*error = talloc_asprintf(
				mem_ctx,
				"%s: %s name \"%s\" contains the "
				"character \"%s\", which is not allowed in "
				"a %s name",
				label,
				what,
				ipcguard_printable(mem_ctx, name, len),
				ipcguard_printable(mem_ctx, &name[i], 1),
				what);
			return false;
		}
	}
	/* The gate makes pipe names into socket paths. */
	if (pipes && name[0] == '.' && (len == 1 ||
					(len == 2 && name[1] == '.'))) {
		*error =
			talloc_asprintf(mem_ctx,
					"%s: \"%s\" is not a pipe name",
					label,
					ipcguard_printable(mem_ctx, name, len));
		return false;
	}
	if (!pipes && len == 4 && strncasecmp(name, "IPC$", 4) == 0) {
		*error = talloc_asprintf(
			mem_ctx,
			"%s: IPC$ does not belong in this list; "
			"anonymous IPC$ is governed by 'ipcguard:%s'",
			label, IPCGUARD_OPT_NULL_SESSION_PIPES);
		return false;
	}
	return true;
}

bool ipcguard_parse_labelled_name_list(TALLOC_CTX *mem_ctx,
				       const char *label,
			      const char *value, bool pipes,
			      const char ***result, char **error)
{
	const char **list = NULL;
	size_t count = 0;
	const char *p = value;

	*error = NULL;
	*result = NULL;

	list = talloc_zero_array(mem_ctx, const char *, 1);
	if (list == NULL) {
		*error = talloc_strdup(mem_ctx, "out of memory");
		return false;
	}
	if (value == NULL) {
		*result = list;
		return true;
	}

	while (true) {
		const char *start = NULL;
		size_t len;
		const char **tmp = NULL;

		while (*p != '\0' &&
		       (isspace((unsigned char)*p) || *p == ',')) {
			p++;
		}
		if (*p == '\0') {
			break;
		}
		if (*p == '"') {
			const char *end = strchr(p + 1, '"');

			if (end == NULL) {
				*error = talloc_asprintf(
					mem_ctx,
					"%s: unterminated quote in "
					"\"%s\"",
					label,
					ipcguard_printable(mem_ctx, value,
						  strlen(value)));
				goto fail;
			}
			start = p + 1;
			len = end - start;
			p = end + 1;
		} else {
			start = p;
			while (*p != '\0' && *p != ',' &&
			       !isspace((unsigned char)*p) && *p != '"') {
				p++;
			}
			len = p - start;
		}
		/* Admins often write pipes the way clients name them. */
		if (pipes && len > 6 &&
		    strncasecmp(start, "\\pipe\\", 6) == 0) {
			start += 6;
			len -= 6;
		}
		if (len == 0) {
			*error = talloc_asprintf(
				mem_ctx,
				"%s: empty name in \"%s\"",
				label,
				ipcguard_printable(mem_ctx,
						   value,
						   strlen(value)));
			goto fail;
		}
		if (!check_name(mem_ctx, label, start, len, pipes, error)) {
			goto fail;
		}
		if (count >= IPCGUARD_MAX_LIST_ENTRIES) {
			*error = talloc_asprintf(mem_ctx,
						 "%s has more than %d "
						 "entries",
						 label,
						 IPCGUARD_MAX_LIST_ENTRIES);
			goto fail;
		}
		tmp = talloc_realloc(mem_ctx, list, const char *, count + 2);
		if (tmp == NULL) {
			*error = talloc_strdup(mem_ctx, "out of memory");
			goto fail;
		}
		list = tmp;
		list[count] = talloc_strndup(list, start, len);
		if (list[count] == NULL) {
			*error = talloc_strdup(mem_ctx, "out of memory");
			goto fail;
		}
		count++;
		list[count] = NULL;
	}
	*result = list;
	return true;
fail:
	TALLOC_FREE(list);
	return false;
}

bool ipcguard_parse_name_list(TALLOC_CTX *mem_ctx, const char *option,
			      const char *value, bool pipes,
			      const char ***result, char **error)
{
	char *label = talloc_asprintf(mem_ctx, "ipcguard:%s", option);
	bool ok;

	if (label == NULL) {
		*result = NULL;
		*error = NULL;
		return false;
	}
	ok = ipcguard_parse_labelled_name_list(mem_ctx, label, value, pipes,
					       result, error);
	TALLOC_FREE(label);
	return ok;
}

/*
 * Samba compares share names without regard to case; pipe names reach us
 * in whatever case the client sent.  Names are checked to be ASCII-safe
 * for pipes; share names may be UTF-8, compared byte-wise after ASCII case
 * folding, which is what smb.conf section lookup does for ASCII names.
 */
bool ipcguard_name_listed(const char * const *list, const char *name)
{
	size_t i;

	if (list == NULL || name == NULL) {
		return false;
	}
	for (i = 0; list[i] != NULL; i++) {
		if (strcasecmp(list[i], name) == 0) {
			return true;
		}
	}
	return false;
}
