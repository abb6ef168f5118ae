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
#include <stdint.h>
#include <talloc.h>

/* Printf-style formats checked by the compiler, as Samba spells it. */
#ifndef PRINTF_ATTRIBUTE
#define PRINTF_ATTRIBUTE(a, b) __attribute__((format(__printf__, a, b)))
#endif

/*
 * Longest name accepted.  Share names: Windows limits them to 80
 * characters; pipe names: Samba's pipe names are short, and 256 is the
 * SMB path component limit.
 */
#define IPCGUARD_MAX_SHARE_NAME 80
#define IPCGUARD_MAX_PIPE_NAME 256
/* More list entries than this is a configuration mistake, not a policy. */
#define IPCGUARD_MAX_LIST_ENTRIES 1024
/* Longest part of a hostile value an error message shows. */
#define IPCGUARD_MAX_SHOWN 100

/* A client address, IPv4 as family 4 and IPv6 as family 6. */
struct ipcguard_address {
	int family;
	uint8_t bytes[16];
};

/* p past any white space. */
const char *ipcguard_skip_space(const char *p);

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

/*
 * Parsers, exported for the admin tool, the unit tests and the fuzzers.
 * On error they return false and set *error to a talloc'ed message that
 * names the option and the offending value.
 */
bool ipcguard_parse_uint(TALLOC_CTX *mem_ctx, const char *option,
			 const char *value, unsigned min, unsigned max,
			 unsigned *result, char **error);
bool ipcguard_parse_labelled_name_list(TALLOC_CTX *mem_ctx,
				       const char *label, const char *value,
				       bool pipes, const char ***result,
				       char **error);
bool ipcguard_parse_name_list(TALLOC_CTX *mem_ctx, const char *option,
			      const char *value, bool pipes,
			      const char ***result, char **error);

/* "12345678-1234-abcd-ef00-0123456789ab" into its 16 bytes, text order. */
bool ipcguard_uuid_parse(const char *text, uint8_t uuid[16]);

/* Parse "a.b.c.d", an IPv6 address, or either with "/prefix". */
bool ipcguard_address_parse(const char *text, struct ipcguard_address *addr,
			    unsigned *prefix);

/*
 * Printable form of a hostile value for a message: control bytes and
 * non-ASCII are escaped so a log line stays one line, and at most
 * IPCGUARD_MAX_SHOWN bytes are shown.  NULL when out of memory.
 */
char *ipcguard_printable(TALLOC_CTX *mem_ctx, const char *s, size_t len);

/*
 * Whether name is in a NULL-terminated list, ignoring case as Samba
 * compares share names; NULL list or name: no.
 */
bool ipcguard_name_listed(const char * const *list, const char *name);

#endif /* IPCGUARD_PARSE_H */
