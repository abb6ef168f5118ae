/*
 * ipcguard rules: the values of a rule's condition fields (names,
 * sessions, addresses, interfaces, operations).  Like the rest of the
 * rule parser it trusts nothing: every error names the rule, the field
 * and the value.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ipcguard_rule_values.h"

bool ipcguard_rule_fail(struct parse_state *s,
			const char *field,
			const char *fmt,
			...)
{
	va_list ap;
	char *what = NULL;

	va_start(ap, fmt);
	what = talloc_vasprintf(s->mem_ctx, fmt, ap);
	va_end(ap);
	*s->error = talloc_asprintf(s->mem_ctx, "rule '%s', field %s: %s",
				    s->rule, field,
				    what != NULL ? what : "out of memory");
	return false;
}

/* Control bytes in an error message would break a log line. */
const char *ipcguard_rule_shown(struct parse_state *s, const char *value)
{
	const char *out = ipcguard_printable(s->mem_ctx, value, strlen(value));

	return out != NULL ? out : "";
}

/*
 * Split values on commas and white space; an SDDL is not split.  NULL
 * when out of memory or with more than IPCGUARD_RULE_MAX_VALUES
 * (*too_many): never a shorter list, which would make a rule narrower
 * than written.
 */
const char **ipcguard_rule_split_values(TALLOC_CTX *mem_ctx,
				 const char * const *values, bool *too_many)
{
	const char **out = talloc_zero_array(mem_ctx, const char *, 1);
	size_t n = 0;
	size_t i;

	*too_many = false;

	for (i = 0; out != NULL && values != NULL && values[i] != NULL; i++) {
		const char *p = values[i];

		while (out != NULL && *p != '\0') {
			const char *start = NULL;
			const char **tmp = NULL;

			while (*p != '\0' &&
			       (*p == ',' || isspace((unsigned char)*p))) {
				p++;
			}
			if (*p == '\0') {
				break;
			}
			start = p;
			while (*p != '\0' && *p != ',' &&
			       !isspace((unsigned char)*p)) {
				p++;
			}
			if (n >= IPCGUARD_RULE_MAX_VALUES) {
				*too_many = true;
				TALLOC_FREE(out);
				break;
			}
			tmp = talloc_realloc(mem_ctx, out, const char *, n + 2);
			if (tmp == NULL) {
				TALLOC_FREE(out);
				break;
			}
			out = tmp;
			out[n] = talloc_strndup(out, start, p - start);
			if (out[n] == NULL) {
				TALLOC_FREE(out);
				break;
			}
			out[++n] = NULL;
		}
	}
	return out;
}

size_t ipcguard_rule_count(const char * const *list)
{
	size_t n = 0;

	while (list != NULL && list[n] != NULL) {
		n++;
	}
	return n;
}

bool ipcguard_rule_parse_names(struct parse_state *s, const char *field,
			const char * const *values, bool pipes,
			const char ***result)
{
	const char **list = NULL;
	char *joined = NULL;
	char *label = NULL;
	char *error = NULL;
	size_t i;

	if (ipcguard_rule_count(values) == 1 && strcmp(values[0], "*") == 0) {
		list = talloc_zero_array(s->mem_ctx, const char *, 2);
		if (list == NULL) {
			return ipcguard_rule_fail(s, field, "out of memory");
		}
		list[0] = "*";
		*result = list;
		return true;
	}
	joined = talloc_strdup(s->mem_ctx, "");
	for (i = 0; joined != NULL && values[i] != NULL; i++) {
		if (strcmp(values[i], "*") == 0) {
			return ipcguard_rule_fail(
				s,
				field,
				"* stands alone: it means every "
				"%s",
				pipes ? "pipe" : "share");
		}
		if (strchr(values[i], '"') != NULL) {
			return ipcguard_rule_fail(
				s,
				field,
				"\"%s\" contains a quote",
				ipcguard_rule_shown(s, values[i]));
		}
		joined = talloc_asprintf_append_buffer(joined,
						       "%s%s",
						       i > 0 ? "," : "",
						       values[i]);
	}
	label = talloc_asprintf(s->mem_ctx, "rule '%s', field %s", s->rule,
				field);
	if (joined == NULL || label == NULL) {
		return ipcguard_rule_fail(s, field, "out of memory");
	}
	if (!ipcguard_parse_labelled_name_list(s->mem_ctx,
					       label,
					       joined,
					       pipes,
					       &list,
					       &error)) {
		*s->error = error;
		return false;
	}
	*result = list;
	return true;
}

bool ipcguard_rule_parse_sessions(struct parse_state *s,
				  const char * const *values, unsigned *mask)
{
	size_t i;

	*mask = 0;
	for (i = 0; values[i] != NULL; i++) {
		if (strcasecmp(values[i], "anonymous") == 0) {
			*mask |= 1u << IPCGUARD_SESSION_ANONYMOUS;
		} else if (strcasecmp(values[i], "guest") == 0) {
			*mask |= 1u << IPCGUARD_SESSION_GUEST;
		} else if (strcasecmp(values[i], "authenticated") == 0) {
			*mask |= 1u << IPCGUARD_SESSION_AUTHENTICATED;
		} else {
			return ipcguard_rule_fail(
				s,
				IPCGUARD_RULE_SESSION,
				"\"%s\" is not anonymous, guest or "
				"authenticated",
				ipcguard_rule_shown(s, values[i]));
		}
	}
	return true;
}

static bool host_bits_clear(const struct ipcguard_address_range *r)
{
	unsigned len = r->base.family == 4 ? 4 : 16;
	unsigned i;

	for (i = 0; i < len; i++) {
		unsigned bit = i * 8;
		uint8_t mask;

		if (bit + 8 <= r->prefix) {
			continue;
		}
		mask = bit >= r->prefix ? 0xff : (0xff >> (r->prefix - bit));
		if ((r->base.bytes[i] & mask) != 0) {
			return false;
		}
	}
	return true;
}

bool ipcguard_rule_parse_addresses(struct parse_state *s,
			    const char * const *values,
			    struct ipcguard_rule *rule)
{
	size_t n = ipcguard_rule_count(values);
	size_t i;

	rule->addresses = talloc_zero_array(rule,
					    struct ipcguard_address_range, n);
	if (rule->addresses == NULL) {
		return ipcguard_rule_fail(s,
					  IPCGUARD_RULE_ADDRESS,
					  "out of memory");
	}
	for (i = 0; i < n; i++) {
		struct ipcguard_address_range *r = &rule->addresses[i];

		if (!ipcguard_address_parse(values[i], &r->base, &r->prefix)) {
			return ipcguard_rule_fail(
				s,
				IPCGUARD_RULE_ADDRESS,
				"\"%s\" is not an IPv4 or IPv6 address or "
				"CIDR range",
				ipcguard_rule_shown(s, values[i]));
		}
		if (!host_bits_clear(r)) {
			return ipcguard_rule_fail(
				s,
				IPCGUARD_RULE_ADDRESS,
				"\"%s\" has bits set beyond its prefix "
				"length",
				ipcguard_rule_shown(s, values[i]));
		}
	}
	rule->num_addresses = n;
	return true;
}

static bool parse_u16(const char *text, uint16_t *value)
{
	char *end = NULL;
	unsigned long v;

	if (!isdigit((unsigned char)text[0])) {
		return false;
	}
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || v > 0xffff) {
		return false;
	}
	*value = v;
	return true;
}

static bool parse_interface(struct parse_state *s, const char *value,
			    struct ipcguard_interface_match *m)
{
	char *copy = talloc_strdup(s->mem_ctx, value);
	char *version = NULL;
	char *dot = NULL;

	if (copy == NULL) {
		return ipcguard_rule_fail(s,
					  IPCGUARD_RULE_INTERFACE,
					  "out of memory");
	}
	if (strcmp(value, "*") == 0) {
		m->any = true;
		return true;
	}
	version = strchr(copy, '/');
	if (version != NULL) {
		*version++ = '\0';
	}
	if (ipcguard_uuid_parse(copy, m->syntax.uuid)) {
		m->any_version = true;
	} else if (s->hooks != NULL && s->hooks->interface_by_name != NULL &&
		   s->hooks->interface_by_name(copy, &m->syntax)) {
		/* A name means the version Samba serves. */
		m->any_version = false;
	} else {
		return ipcguard_rule_fail(
			s,
			IPCGUARD_RULE_INTERFACE,
			"\"%s\" is neither a UUID nor the name of an RPC "
			"interface Samba knows",
			ipcguard_rule_shown(s, copy));
	}
	if (version == NULL) {
		return true;
	}
	m->any_version = false;
	m->syntax.minor = 0;
	dot = strchr(version, '.');
	if (dot != NULL) {
		*dot++ = '\0';
	}
	if (!parse_u16(version, &m->syntax.major) ||
	    (dot != NULL && !parse_u16(dot, &m->syntax.minor))) {
		return ipcguard_rule_fail(
			s,
			IPCGUARD_RULE_INTERFACE,
			"\"%s\" has a version that is not MAJOR or "
			"MAJOR.MINOR (0-65535 each)",
			ipcguard_rule_shown(s, value));
	}
	return true;
}

bool ipcguard_rule_parse_interfaces(struct parse_state *s,
			     const char * const *values,
			     struct ipcguard_rule *rule)
{
	size_t n = ipcguard_rule_count(values);
	size_t i;

	rule->interfaces = talloc_zero_array(
		rule, struct ipcguard_interface_match, n);
	if (rule->interfaces == NULL) {
		return ipcguard_rule_fail(s,
					  IPCGUARD_RULE_INTERFACE,
					  "out of memory");
	}
	for (i = 0; i < n; i++) {
		if (!parse_interface(s, values[i], &rule->interfaces[i])) {
			return false;
		}
		if (rule->interfaces[i].any && n > 1) {
			return ipcguard_rule_fail(
				s,
				IPCGUARD_RULE_INTERFACE,
				"* stands alone: it means every "
				"interface");
		}
	}
	rule->num_interfaces = n;
	return true;
}

static bool parse_opnum(struct parse_state *s, const struct ipcguard_rule *rule,
			const char *value, struct ipcguard_opnum_range *r)
{
	char *copy = talloc_strdup(s->mem_ctx, value);
	char *dash = NULL;

	if (copy == NULL) {
		return ipcguard_rule_fail(s,
					  IPCGUARD_RULE_OPNUM,
					  "out of memory");
	}
	if (strcmp(value, "*") == 0) {
		r->first = 0;
		r->last = 0xffff;
		return true;
	}
	if (!isdigit((unsigned char)value[0])) {
		if (rule->num_interfaces != 1 || rule->interfaces[0].any) {
			return ipcguard_rule_fail(
				s,
				IPCGUARD_RULE_OPNUM,
				"the operation name \"%s\" needs exactly "
				"one interface in the rule",
				ipcguard_rule_shown(s, value));
		}
		if (s->hooks == NULL || s->hooks->opnum_by_name == NULL ||
		    !s->hooks->opnum_by_name(&rule->interfaces[0].syntax,
					     value,
					     &r->first)) {
			return ipcguard_rule_fail(
				s,
				IPCGUARD_RULE_OPNUM,
				"\"%s\" is not an operation of the rule's "
				"interface",
				ipcguard_rule_shown(s, value));
		}
		r->last = r->first;
		return true;
	}
	dash = strchr(copy, '-');
	if (dash != NULL) {
		*dash++ = '\0';
	}
	if (!parse_u16(copy, &r->first) ||
	    !parse_u16(dash != NULL ? dash : copy, &r->last)) {
		return ipcguard_rule_fail(
			s,
			IPCGUARD_RULE_OPNUM,
			"\"%s\" is not an opnum (0-65535), a range N-M "
			"or an operation name",
			ipcguard_rule_shown(s, value));
	}
	if (r->first > r->last) {
		return ipcguard_rule_fail(
			s,
			IPCGUARD_RULE_OPNUM,
			"the range \"%s\" ends before it starts",
			ipcguard_rule_shown(s, value));
	}
	return true;
}

bool ipcguard_rule_parse_opnums(struct parse_state *s,
				const char * const *values,
				struct ipcguard_rule *rule)
{
	size_t n = ipcguard_rule_count(values);
	size_t i;

	rule->opnums = talloc_zero_array(rule, struct ipcguard_opnum_range,
					 n);
	if (rule->opnums == NULL) {
		return ipcguard_rule_fail(s,
					  IPCGUARD_RULE_OPNUM,
					  "out of memory");
	}
	for (i = 0; i < n; i++) {
		if (!parse_opnum(s, rule, values[i], &rule->opnums[i])) {
			return false;
		}
	}
	rule->num_opnums = n;
	return true;
}
