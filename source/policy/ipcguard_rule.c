/*
 * ipcguard rules: parsing and validating a rule's text fields.
 *
 * Rules reach this file from the ldb rule database, from "ipcguard rule
 * add" and from fuzzers, so nothing here trusts its input; every error
 * names the rule and the field, in words an admin can act on.  Like the
 * rest of the policy engine it needs talloc and libc only.
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
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ipcguard_policy.h"
#include "ipcguard_rule.h"

#define MAX_DESCRIPTION 256
#define MAX_SDDL 4096
#define MAX_VALUES 1024

const struct ipcguard_rule_field_info ipcguard_rule_fields[] = {
	{ IPCGUARD_RULE_ACTION, false, "allow | deny" },
	{ IPCGUARD_RULE_AUDIT_ONLY, false, "yes | no (default no)" },
	{ IPCGUARD_RULE_ORDER, false, "0-999999 (default 1000)" },
	{ IPCGUARD_RULE_DESCRIPTION, false, "text" },
	{ IPCGUARD_RULE_SHARE, true, "share names, or *" },
	{ IPCGUARD_RULE_PIPE, true, "pipe names, or *" },
	{ IPCGUARD_RULE_SESSION, true, "anonymous, guest, authenticated" },
	{ IPCGUARD_RULE_ADDRESS, true, "IPv4/IPv6 addresses and CIDR ranges" },
	{ IPCGUARD_RULE_SDDL, false, "a security descriptor in SDDL" },
	{ IPCGUARD_RULE_INTERFACE, true,
	  "interface names or UUIDs[/major[.minor]], or *" },
	{ IPCGUARD_RULE_OPNUM, true, "numbers, ranges N-M, names, or *" },
	{ .name = NULL },
};

const char *ipcguard_stage_name(enum ipcguard_stage stage)
{
	switch (stage) {
	case IPCGUARD_STAGE_OPEN:
		return "open";
	case IPCGUARD_STAGE_BIND:
		return "bind";
	case IPCGUARD_STAGE_REQUEST:
		return "request";
	}
	return "unknown";
}

struct parse_state {
	TALLOC_CTX *mem_ctx;
	const char *rule;
	const struct ipcguard_rule_hooks *hooks;
	char **error;
};

static bool fail(struct parse_state *s, const char *field, const char *fmt,
		 const char *value)
{
	char *what = talloc_asprintf(s->mem_ctx, fmt,
				     value != NULL ? value : "");

	*s->error = talloc_asprintf(s->mem_ctx, "rule '%s', field %s: %s",
				    s->rule, field,
				    what != NULL ? what : "out of memory");
	return false;
}

/* Control bytes in an error message would break a log line. */
static const char *shown(TALLOC_CTX *mem_ctx, const char *value)
{
	char *out = talloc_strdup(mem_ctx, "");
	size_t i;

	for (i = 0; out != NULL && value[i] != '\0' && i < 100; i++) {
		unsigned char c = (unsigned char)value[i];

		out = (c >= 0x20 && c < 0x7f && c != '\\') ?
			talloc_asprintf_append_buffer(out, "%c", c) :
			talloc_asprintf_append_buffer(out, "\\x%02x", c);
	}
	return out != NULL ? out : "";
}

/*
 * Split values on commas and white space; an SDDL is not split.  NULL
 * when out of memory or with more than MAX_VALUES (*too_many): never a
 * shorter list, which would make a rule narrower than written.
 */
static const char **split_values(TALLOC_CTX *mem_ctx,
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
			if (n >= MAX_VALUES) {
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

static size_t count(const char * const *list)
{
	size_t n = 0;

	while (list != NULL && list[n] != NULL) {
		n++;
	}
	return n;
}

static bool parse_names(struct parse_state *s, const char *field,
			const char * const *values, bool pipes,
			const char ***result)
{
	const char **list = NULL;
	char *joined = NULL;
	char *label = NULL;
	char *error = NULL;
	size_t i;

	if (count(values) == 1 && strcmp(values[0], "*") == 0) {
		list = talloc_zero_array(s->mem_ctx, const char *, 2);
		if (list == NULL) {
			return fail(s, field, "out of memory", NULL);
		}
		list[0] = "*";
		*result = list;
		return true;
	}
	joined = talloc_strdup(s->mem_ctx, "");
	for (i = 0; joined != NULL && values[i] != NULL; i++) {
		if (strcmp(values[i], "*") == 0) {
			return fail(s, field, "* stands alone: it means every "
				    "%s", pipes ? "pipe" : "share");
		}
		if (strchr(values[i], '"') != NULL) {
			return fail(s, field, "\"%s\" contains a quote",
				    shown(s->mem_ctx, values[i]));
		}
		joined = talloc_asprintf_append_buffer(joined, "%s%s",
						       i > 0 ? "," : "",
						       values[i]);
	}
	label = talloc_asprintf(s->mem_ctx, "rule '%s', field %s", s->rule,
				field);
	if (joined == NULL || label == NULL) {
		return fail(s, field, "out of memory", NULL);
	}
	if (!ipcguard_parse_labelled_name_list(s->mem_ctx, label, joined,
					       pipes, &list, &error)) {
		*s->error = error;
		return false;
	}
	*result = list;
	return true;
}

static bool parse_sessions(struct parse_state *s, const char * const *values,
			   unsigned *mask)
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
			return fail(s, IPCGUARD_RULE_SESSION,
				    "\"%s\" is not anonymous, guest or "
				    "authenticated",
				    shown(s->mem_ctx, values[i]));
		}
	}
	return true;
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

static bool parse_addresses(struct parse_state *s,
			    const char * const *values,
			    struct ipcguard_rule *rule)
{
	size_t n = count(values);
	size_t i;

	rule->addresses = talloc_zero_array(rule,
					    struct ipcguard_address_range, n);
	if (rule->addresses == NULL) {
		return fail(s, IPCGUARD_RULE_ADDRESS, "out of memory", NULL);
	}
	for (i = 0; i < n; i++) {
		struct ipcguard_address_range *r = &rule->addresses[i];

		if (!ipcguard_address_parse(values[i], &r->base, &r->prefix)) {
			return fail(s, IPCGUARD_RULE_ADDRESS,
				    "\"%s\" is not an IPv4 or IPv6 address or "
				    "CIDR range", shown(s->mem_ctx, values[i]));
		}
		if (!host_bits_clear(r)) {
			return fail(s, IPCGUARD_RULE_ADDRESS,
				    "\"%s\" has bits set beyond its prefix "
				    "length", shown(s->mem_ctx, values[i]));
		}
	}
	rule->num_addresses = n;
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
		return fail(s, IPCGUARD_RULE_INTERFACE, "out of memory", NULL);
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
		return fail(s, IPCGUARD_RULE_INTERFACE,
			    "\"%s\" is neither a UUID nor the name of an RPC "
			    "interface Samba knows",
			    shown(s->mem_ctx, copy));
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
		return fail(s, IPCGUARD_RULE_INTERFACE,
			    "\"%s\" has a version that is not MAJOR or "
			    "MAJOR.MINOR (0-65535 each)",
			    shown(s->mem_ctx, value));
	}
	return true;
}

static bool parse_interfaces(struct parse_state *s,
			     const char * const *values,
			     struct ipcguard_rule *rule)
{
	size_t n = count(values);
	size_t i;

	rule->interfaces = talloc_zero_array(
		rule, struct ipcguard_interface_match, n);
	if (rule->interfaces == NULL) {
		return fail(s, IPCGUARD_RULE_INTERFACE, "out of memory", NULL);
	}
	for (i = 0; i < n; i++) {
		if (!parse_interface(s, values[i], &rule->interfaces[i])) {
			return false;
		}
		if (rule->interfaces[i].any && n > 1) {
			return fail(s, IPCGUARD_RULE_INTERFACE,
				    "* stands alone: it means every "
				    "interface%s", NULL);
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
		return fail(s, IPCGUARD_RULE_OPNUM, "out of memory", NULL);
	}
	if (strcmp(value, "*") == 0) {
		r->first = 0;
		r->last = 0xffff;
		return true;
	}
	if (!isdigit((unsigned char)value[0])) {
		if (rule->num_interfaces != 1 || rule->interfaces[0].any) {
			return fail(s, IPCGUARD_RULE_OPNUM,
				    "the operation name \"%s\" needs exactly "
				    "one interface in the rule",
				    shown(s->mem_ctx, value));
		}
		if (s->hooks == NULL || s->hooks->opnum_by_name == NULL ||
		    !s->hooks->opnum_by_name(&rule->interfaces[0].syntax,
					     value, &r->first)) {
			return fail(s, IPCGUARD_RULE_OPNUM,
				    "\"%s\" is not an operation of the rule's "
				    "interface", shown(s->mem_ctx, value));
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
		return fail(s, IPCGUARD_RULE_OPNUM,
			    "\"%s\" is not an opnum (0-65535), a range N-M "
			    "or an operation name", shown(s->mem_ctx, value));
	}
	if (r->first > r->last) {
		return fail(s, IPCGUARD_RULE_OPNUM,
			    "the range \"%s\" ends before it starts",
			    shown(s->mem_ctx, value));
	}
	return true;
}

static bool parse_opnums(struct parse_state *s, const char * const *values,
			 struct ipcguard_rule *rule)
{
	size_t n = count(values);
	size_t i;

	rule->opnums = talloc_zero_array(rule, struct ipcguard_opnum_range,
					 n);
	if (rule->opnums == NULL) {
		return fail(s, IPCGUARD_RULE_OPNUM, "out of memory", NULL);
	}
	for (i = 0; i < n; i++) {
		if (!parse_opnum(s, rule, values[i], &rule->opnums[i])) {
			return false;
		}
	}
	rule->num_opnums = n;
	return true;
}

static bool name_ok(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0' ||
	    strlen(name) > IPCGUARD_RULE_MAX_NAME ||
	    !isalnum((unsigned char)name[0])) {
		return false;
	}
	for (i = 0; name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '-' && c != '_' && c != '.') {
			return false;
		}
	}
	return true;
}

static bool text_ok(const char *text, size_t max)
{
	size_t i;

	for (i = 0; text[i] != '\0'; i++) {
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f ||
		    i >= max) {
			return false;
		}
	}
	return true;
}

static const struct ipcguard_rule_field *find_field(
	const struct ipcguard_rule_field *fields, const char *name)
{
	size_t i;

	for (i = 0; fields != NULL && fields[i].name != NULL; i++) {
		if (strcasecmp(fields[i].name, name) == 0) {
			return &fields[i];
		}
	}
	return NULL;
}

/* The one value of a single-valued field, or NULL if not given. */
static bool single(struct parse_state *s,
		   const struct ipcguard_rule_field *fields, const char *name,
		   const char **value)
{
	const struct ipcguard_rule_field *f = find_field(fields, name);

	*value = NULL;
	if (f == NULL) {
		return true;
	}
	if (count(f->values) != 1) {
		return fail(s, name, "needs exactly one value%s", NULL);
	}
	*value = f->values[0];
	return true;
}

/* The values of a multi-valued field, split; NULL if not given. */
static bool multi(struct parse_state *s,
		  const struct ipcguard_rule_field *fields, const char *name,
		  const char ***values)
{
	const struct ipcguard_rule_field *f = find_field(fields, name);
	bool too_many = false;

	*values = NULL;
	if (f == NULL) {
		return true;
	}
	*values = split_values(s->mem_ctx, f->values, &too_many);
	if (*values == NULL) {
		return fail(s, name, too_many ? "has more than 1024 values%s" :
			    "out of memory%s", NULL);
	}
	if ((*values)[0] == NULL) {
		return fail(s, name, "is empty%s", NULL);
	}
	return true;
}

static bool check_field_names(struct parse_state *s,
			      const struct ipcguard_rule_field *fields)
{
	size_t i, j;

	for (i = 0; fields != NULL && fields[i].name != NULL; i++) {
		bool known = false;

		for (j = 0; ipcguard_rule_fields[j].name != NULL; j++) {
			if (strcasecmp(fields[i].name,
				       ipcguard_rule_fields[j].name) == 0) {
				known = true;
			}
		}
		if (!known) {
			return fail(s, shown(s->mem_ctx, fields[i].name),
				    "is not a rule field (fields: action, "
				    "audit-only, order, description, share, "
				    "pipe, session, address, sddl, interface, "
				    "opnum)%s", NULL);
		}
		for (j = 0; j < i; j++) {
			if (strcasecmp(fields[i].name, fields[j].name) == 0) {
				return fail(s, fields[i].name,
					    "is given twice%s", NULL);
			}
		}
		if (fields[i].values == NULL || fields[i].values[0] == NULL) {
			return fail(s, fields[i].name, "has no value%s", NULL);
		}
		for (j = 0; fields[i].values[j] != NULL; j++) {
			if (!text_ok(fields[i].values[j], MAX_SDDL)) {
				return fail(s, fields[i].name,
					    "\"%s\" contains control "
					    "characters or is too long",
					    shown(s->mem_ctx,
						  fields[i].values[j]));
			}
		}
	}
	return true;
}

static bool copy_fields(struct ipcguard_rule *rule,
			const struct ipcguard_rule_field *fields)
{
	size_t n = 0, i, j;

	while (fields != NULL && fields[n].name != NULL) {
		n++;
	}
	rule->fields = talloc_zero_array(rule, struct ipcguard_rule_field,
					 n + 1);
	if (rule->fields == NULL) {
		return false;
	}
	for (i = 0; i < n; i++) {
		size_t nv = count(fields[i].values);

		rule->fields[i].name = talloc_strdup(rule->fields,
						     fields[i].name);
		rule->fields[i].values = talloc_zero_array(
			rule->fields, const char *, nv + 1);
		if (rule->fields[i].name == NULL ||
		    rule->fields[i].values == NULL) {
			return false;
		}
		for (j = 0; j < nv; j++) {
			rule->fields[i].values[j] = talloc_strdup(
				rule->fields[i].values, fields[i].values[j]);
			if (rule->fields[i].values[j] == NULL) {
				return false;
			}
		}
	}
	return true;
}

static bool parse_scalars(struct parse_state *s, struct ipcguard_rule *rule,
			  const struct ipcguard_rule_field *fields)
{
	const char *value = NULL;
	char *error = NULL;

	if (!single(s, fields, IPCGUARD_RULE_ACTION, &value)) {
		return false;
	}
	if (value == NULL) {
		return fail(s, IPCGUARD_RULE_ACTION,
			    "is required (allow or deny)%s", NULL);
	}
	if (strcasecmp(value, "allow") == 0) {
		rule->allow = true;
	} else if (strcasecmp(value, "deny") != 0) {
		return fail(s, IPCGUARD_RULE_ACTION,
			    "\"%s\" is not allow or deny",
			    shown(s->mem_ctx, value));
	}
	if (!single(s, fields, IPCGUARD_RULE_AUDIT_ONLY, &value)) {
		return false;
	}
	if (value != NULL &&
	    !ipcguard_parse_bool(s->mem_ctx, IPCGUARD_RULE_AUDIT_ONLY, value,
				 &rule->audit_only, &error)) {
		return fail(s, IPCGUARD_RULE_AUDIT_ONLY,
			    "\"%s\" is not yes or no",
			    shown(s->mem_ctx, value));
	}
	rule->order = IPCGUARD_RULE_DEFAULT_ORDER;
	if (!single(s, fields, IPCGUARD_RULE_ORDER, &value)) {
		return false;
	}
	if (value != NULL) {
		char *end = NULL;
		unsigned long order;

		errno = 0;
		order = strtoul(value, &end, 10);
		if (!isdigit((unsigned char)value[0]) || errno != 0 ||
		    *end != '\0' || order > IPCGUARD_RULE_MAX_ORDER) {
			return fail(s, IPCGUARD_RULE_ORDER,
				    "\"%s\" is not a number from 0 to 999999",
				    shown(s->mem_ctx, value));
		}
		rule->order = order;
	}
	if (!single(s, fields, IPCGUARD_RULE_DESCRIPTION, &value)) {
		return false;
	}
	if (value != NULL && strlen(value) > MAX_DESCRIPTION) {
		return fail(s, IPCGUARD_RULE_DESCRIPTION,
			    "is longer than 256 characters%s", NULL);
	}
	rule->description = talloc_strdup(rule, value != NULL ? value : "");
	if (!single(s, fields, IPCGUARD_RULE_SDDL, &value)) {
		return false;
	}
	if (value != NULL) {
		if (s->hooks == NULL || s->hooks->compile_sddl == NULL) {
			return fail(s, IPCGUARD_RULE_SDDL,
				    "cannot be checked here%s", NULL);
		}
		rule->sd = s->hooks->compile_sddl(rule, value, &error);
		if (rule->sd == NULL) {
			return fail(s, IPCGUARD_RULE_SDDL, "%s",
				    error != NULL ? error :
				    "does not parse");
		}
		rule->sddl = talloc_strdup(rule, value);
		if (rule->sddl == NULL) {
			return false;
		}
	}
	return rule->description != NULL;
}

static bool parse_conditions(struct parse_state *s,
			     struct ipcguard_rule *rule,
			     const struct ipcguard_rule_field *fields)
{
	const char **values = NULL;

	if (!multi(s, fields, IPCGUARD_RULE_SHARE, &values) ||
	    (values != NULL &&
	     !parse_names(s, IPCGUARD_RULE_SHARE, values, false,
			  &rule->shares))) {
		return false;
	}
	if (!multi(s, fields, IPCGUARD_RULE_PIPE, &values) ||
	    (values != NULL &&
	     !parse_names(s, IPCGUARD_RULE_PIPE, values, true,
			  &rule->pipes))) {
		return false;
	}
	if (!multi(s, fields, IPCGUARD_RULE_SESSION, &values) ||
	    (values != NULL && !parse_sessions(s, values, &rule->sessions))) {
		return false;
	}
	if (!multi(s, fields, IPCGUARD_RULE_ADDRESS, &values) ||
	    (values != NULL && !parse_addresses(s, values, rule))) {
		return false;
	}
	if (!multi(s, fields, IPCGUARD_RULE_INTERFACE, &values) ||
	    (values != NULL && !parse_interfaces(s, values, rule))) {
		return false;
	}
	if (!multi(s, fields, IPCGUARD_RULE_OPNUM, &values) ||
	    (values != NULL && !parse_opnums(s, values, rule))) {
		return false;
	}
	if (rule->shares == NULL && rule->pipes == NULL) {
		return fail(s, "share/pipe",
			    "a rule needs a share or a pipe field%s", NULL);
	}
	if (rule->shares != NULL && rule->pipes != NULL) {
		return fail(s, "share/pipe",
			    "a rule is about shares or about pipes, not "
			    "both%s", NULL);
	}
	if (rule->num_interfaces > 0 && rule->pipes == NULL) {
		return fail(s, IPCGUARD_RULE_INTERFACE,
			    "needs a pipe field: RPC interfaces are reached "
			    "through pipes%s", NULL);
	}
	if (rule->num_opnums > 0 && rule->num_interfaces == 0) {
		return fail(s, IPCGUARD_RULE_OPNUM,
			    "needs an interface field: opnums only mean "
			    "something within an interface%s", NULL);
	}
	return true;
}

struct ipcguard_rule *ipcguard_rule_parse(
	TALLOC_CTX *mem_ctx, const char *name,
	const struct ipcguard_rule_field *fields,
	const struct ipcguard_rule_hooks *hooks, char **error)
{
	TALLOC_CTX *tmp = talloc_new(mem_ctx);
	struct parse_state s = {
		.mem_ctx = tmp,
		.rule = name != NULL ? name : "",
		.hooks = hooks,
		.error = error,
	};
	struct ipcguard_rule *rule = NULL;

	*error = NULL;
	if (tmp == NULL) {
		return NULL;
	}
	if (!name_ok(name)) {
		*error = talloc_asprintf(mem_ctx,
					 "rule name \"%s\" is not 1-64 letters, "
					 "digits, '-', '_' or '.' starting "
					 "with a letter or digit",
					 shown(tmp, name != NULL ? name : ""));
		goto fail;
	}
	rule = talloc_zero(mem_ctx, struct ipcguard_rule);
	if (rule == NULL || !copy_fields(rule, fields)) {
		*error = talloc_strdup(mem_ctx, "out of memory");
		goto fail;
	}
	rule->name = talloc_strdup(rule, name);
	if (rule->name == NULL || !check_field_names(&s, fields) ||
	    !parse_scalars(&s, rule, fields) ||
	    !parse_conditions(&s, rule, fields)) {
		if (*error == NULL) {
			*error = talloc_strdup(tmp, "out of memory");
		}
		*error = talloc_steal(mem_ctx, *error);
		goto fail;
	}
	/* Lists were built on tmp; keep them with the rule. */
	talloc_steal(rule, rule->shares);
	talloc_steal(rule, rule->pipes);
	TALLOC_FREE(tmp);
	return rule;
fail:
	TALLOC_FREE(rule);
	TALLOC_FREE(tmp);
	return NULL;
}

char *ipcguard_rule_text(TALLOC_CTX *mem_ctx, const struct ipcguard_rule *rule)
{
	char *text = talloc_asprintf(mem_ctx, "[%s]\n", rule->name);
	size_t i, j;

	for (i = 0; text != NULL && ipcguard_rule_fields[i].name != NULL;
	     i++) {
		const struct ipcguard_rule_field *f = find_field(
			rule->fields, ipcguard_rule_fields[i].name);

		if (f == NULL) {
			continue;
		}
		text = talloc_asprintf_append_buffer(text, "\t%s = ", f->name);
		for (j = 0; text != NULL && f->values[j] != NULL; j++) {
			text = talloc_asprintf_append_buffer(
				text, "%s%s", j > 0 ? ", " : "",
				f->values[j]);
		}
		if (text != NULL) {
			text = talloc_asprintf_append_buffer(text, "\n");
		}
	}
	return text;
}

static int rule_cmp(const void *a, const void *b)
{
	const struct ipcguard_rule *ra = *(const struct ipcguard_rule * const *)a;
	const struct ipcguard_rule *rb = *(const struct ipcguard_rule * const *)b;

	if (ra->order != rb->order) {
		return ra->order < rb->order ? -1 : 1;
	}
	return strcmp(ra->name, rb->name);
}

void ipcguard_rules_sort(struct ipcguard_rule **rules, size_t num_rules)
{
	if (num_rules > 1) {
		qsort(rules, num_rules, sizeof(rules[0]), rule_cmp);
	}
}

/*
 * Pipe names that reach the same RPC interfaces, as Samba 4.17 serves
 * them.  samba-dcerpcd gives each pipe name its own endpoint with its own
 * interface list (librpc/rpc/dcesrv_core.c: dcesrv_interface_register()
 * and find_interface_by_syntax_id()), filled from the endpoint() list of
 * each interface's IDL; a bind to an interface its pipe does not list is
 * rejected.  So which names reach an interface is a fixed table, kept here
 * because a rule that names one of them must hold on all of them: a rule
 * about \lsarpc that \lsass gets round is no rule.
 *
 * Aliases: names whose endpoints list the same interfaces (lsa.idl and
 * dssetup.idl both name \lsarpc and \lsass; ntsvcs.idl names \ntsvcs and
 * \plugplay).  On an AD DC \lsass carries drsuapi as well (drsuapi.idl).
 */
static const char * const pipe_aliases[][2] = {
	{ "lsarpc", "lsass" },
	{ "ntsvcs", "plugplay" },
};

/*
 * Interfaces served on more than one endpoint.  "homes" are the pipes of
 * the interface's IDL endpoint() list; "also" are pipes registered by
 * hand: source3/rpc_server/lsa/srv_lsa_nt.c
 * (dcesrv_interface_lsarpc_init_server) puts lsarpc on \netlogon too,
 * which samba-dcerpcd listens on in the classic domain controller roles
 * (source3/rpc_server/rpcd_lsad.c), as source4's AD DC does with
 * "lsa over netlogon = yes".  Every other interface Samba 4.17 serves has
 * exactly one pipe, or one alias group.
 */
static const struct {
	const char *name;
	const char *uuid;
	uint16_t major;
	const char *homes[3];
	const char *also[2];
} pipe_carriers[] = {
	{ "lsarpc", "12345778-1234-abcd-ef00-0123456789ab", 0,
	  { "lsarpc", "lsass" }, { "netlogon" } },
	{ "dssetup", "3919286a-b10c-11d0-9ba8-00c04fd92ef5", 0,
	  { "lsarpc", "lsass" }, { NULL } },
	{ "drsuapi", "e3514235-4b06-11d1-ab04-00c04fc2dcd2", 4,
	  { "lsass", "protected_storage" }, { NULL } },
	{ "ntsvcs", "8d9f4e40-a03d-11ce-8f69-08003e30051b", 1,
	  { "ntsvcs", "plugplay" }, { NULL } },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static bool in_names(const char * const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n && names[i] != NULL; i++) {
		if (strcasecmp(names[i], name) == 0) {
			return true;
		}
	}
	return false;
}

bool ipcguard_pipe_is_alias(const char *listed, const char *pipe)
{
	size_t i;

	if (listed == NULL || pipe == NULL || strcasecmp(listed, pipe) == 0) {
		return false;
	}
	for (i = 0; i < ARRAY_LEN(pipe_aliases); i++) {
		if (in_names(pipe_aliases[i], 2, listed) &&
		    in_names(pipe_aliases[i], 2, pipe)) {
			return true;
		}
	}
	return false;
}

static int carrier_of(const uint8_t uuid[16])
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(pipe_carriers); i++) {
		uint8_t known[16];

		if (ipcguard_uuid_parse(pipe_carriers[i].uuid, known) &&
		    memcmp(known, uuid, sizeof(known)) == 0) {
			return i;
		}
	}
	return -1;
}

bool ipcguard_pipe_is_home(const char *pipe, const uint8_t uuid[16])
{
	int c = carrier_of(uuid);

	return c >= 0 && pipe != NULL &&
	       in_names(pipe_carriers[c].homes, 3, pipe);
}

bool ipcguard_pipe_carries(const char *pipe, const uint8_t uuid[16])
{
	int c = carrier_of(uuid);

	return c >= 0 && pipe != NULL &&
	       (in_names(pipe_carriers[c].homes, 3, pipe) ||
		in_names(pipe_carriers[c].also, 2, pipe));
}

/*
 * The interfaces of the table a rule names (not "*": a rule about every
 * interface of a pipe is about that pipe) without naming one of their own
 * pipes, so that the rule does not follow them to the other pipes that
 * carry them: "lsarpc on \lsarpc, \lsass" for a rule about lsarpc on
 * \netlogon.  NULL when there are none.  For "ipcguard check".
 */
char *ipcguard_rule_missed_pipes(TALLOC_CTX *mem_ctx,
				 const struct ipcguard_rule *rule)
{
	char *out = NULL;
	size_t i, j, k;

	if (rule->pipes == NULL || rule->num_interfaces == 0 ||
	    (rule->pipes[0] != NULL && strcmp(rule->pipes[0], "*") == 0)) {
		return NULL;
	}
	for (i = 0; i < ARRAY_LEN(pipe_carriers); i++) {
		const char *sep = "";
		uint8_t uuid[16];
		bool named = false;

		if (!ipcguard_uuid_parse(pipe_carriers[i].uuid, uuid)) {
			continue;
		}
		for (j = 0; j < rule->num_interfaces; j++) {
			const struct ipcguard_interface_match *m =
				&rule->interfaces[j];

			if (!m->any && memcmp(m->syntax.uuid, uuid, 16) == 0 &&
			    (m->any_version ||
			     m->syntax.major == pipe_carriers[i].major)) {
				named = true;
			}
		}
		for (k = 0; named && rule->pipes[k] != NULL; k++) {
			if (ipcguard_pipe_is_home(rule->pipes[k], uuid)) {
				named = false;
			}
		}
		if (!named) {
			continue;
		}
		out = talloc_asprintf_append_buffer(
			out != NULL ? out : talloc_strdup(mem_ctx, ""),
			"%s%s on", out != NULL ? "; " : "",
			pipe_carriers[i].name);
		for (k = 0; out != NULL && k < 3 + 2; k++) {
			const char *p = k < 3 ? pipe_carriers[i].homes[k] :
				pipe_carriers[i].also[k - 3];

			if (p == NULL || in_names(rule->pipes, SIZE_MAX, p)) {
				continue;
			}
			out = talloc_asprintf_append_buffer(out, "%s \\%s",
							    sep, p);
			sep = ",";
		}
		if (out == NULL) {
			return NULL;
		}
	}
	return out;
}
