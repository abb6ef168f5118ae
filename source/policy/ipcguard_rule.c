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

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ipcguard_rule_values.h"

#define MAX_DESCRIPTION 256
#define MAX_SDDL 4096
#define STR(x) STR2(x)
#define STR2(x) #x

const struct ipcguard_rule_field_info ipcguard_rule_fields[] = {
	{ IPCGUARD_RULE_ACTION, false, "allow | deny" },
	{ IPCGUARD_RULE_AUDIT_ONLY, false, "yes | no (default no)" },
	{ IPCGUARD_RULE_ORDER, false, "0-" STR(IPCGUARD_RULE_MAX_ORDER)
	  " (default " STR(IPCGUARD_RULE_DEFAULT_ORDER) ")" },
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
	if (ipcguard_rule_count(f->values) != 1) {
		return ipcguard_rule_fail(s, name, "needs exactly one value");
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
	*values = ipcguard_rule_split_values(s->mem_ctx, f->values, &too_many);
	if (*values == NULL && too_many) {
		return ipcguard_rule_fail(s,
					  name,
					  "has more than %d values",
					  IPCGUARD_RULE_MAX_VALUES);
	}
	if (*values == NULL) {
		return ipcguard_rule_fail(s, name, "out of memory");
	}
	if ((*values)[0] == NULL) {
		return ipcguard_rule_fail(s, name, "is empty");
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
			return ipcguard_rule_fail(
				s,
				ipcguard_rule_shown(s, fields[i].name),
				"is not a rule field (fields: action, "
				"audit-only, order, description, share, "
				"pipe, session, address, sddl, interface, "
				"opnum)");
		}
		for (j = 0; j < i; j++) {
			if (strcasecmp(fields[i].name, fields[j].name) == 0) {
				return ipcguard_rule_fail(s,
							  fields[i].name,
							  "is given twice");
			}
		}
		if (fields[i].values == NULL || fields[i].values[0] == NULL) {
			return ipcguard_rule_fail(s,
						  fields[i].name,
						  "has no value");
		}
		for (j = 0; fields[i].values[j] != NULL; j++) {
			if (!text_ok(fields[i].values[j], MAX_SDDL)) {
				return ipcguard_rule_fail(
					s,
					fields[i].name,
					"\"%s\" contains control "
					"characters or is too long",
					ipcguard_rule_shown(
						s,
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
		size_t nv = ipcguard_rule_count(fields[i].values);

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
		return ipcguard_rule_fail(s,
					  IPCGUARD_RULE_ACTION,
					  "is required (allow or deny)");
	}
	if (strcasecmp(value, "allow") == 0) {
		rule->allow = true;
	} else if (strcasecmp(value, "deny") != 0) {
		return ipcguard_rule_fail(s,
					  IPCGUARD_RULE_ACTION,
					  "\"%s\" is not allow or deny",
					  ipcguard_rule_shown(s, value));
	}
	if (!single(s, fields, IPCGUARD_RULE_AUDIT_ONLY, &value)) {
		return false;
	}
	if (value != NULL &&
	    !ipcguard_parse_bool(s->mem_ctx, IPCGUARD_RULE_AUDIT_ONLY, value,
				 &rule->audit_only, &error)) {
		return ipcguard_rule_fail(s,
					  IPCGUARD_RULE_AUDIT_ONLY,
					  "\"%s\" is not yes or no",
					  ipcguard_rule_shown(s, value));
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
			return ipcguard_rule_fail(
				s,
				IPCGUARD_RULE_ORDER,
				"\"%s\" is not a number from 0 to %d",
				ipcguard_rule_shown(s, value),
				IPCGUARD_RULE_MAX_ORDER);
		}
		rule->order = order;
	}
	if (!single(s, fields, IPCGUARD_RULE_DESCRIPTION, &value)) {
		return false;
	}
	if (value != NULL && strlen(value) > MAX_DESCRIPTION) {
		return ipcguard_rule_fail(s,
					  IPCGUARD_RULE_DESCRIPTION,
					  "is longer than %d characters",
					  MAX_DESCRIPTION);
	}
	rule->description = talloc_strdup(rule, value != NULL ? value : "");
	if (!single(s, fields, IPCGUARD_RULE_SDDL, &value)) {
		return false;
	}
	if (value != NULL) {
		if (s->hooks == NULL || s->hooks->compile_sddl == NULL) {
			return ipcguard_rule_fail(s,
						  IPCGUARD_RULE_SDDL,
						  "cannot be checked here");
		}
		rule->sd = s->hooks->compile_sddl(rule, value, &error);
		if (rule->sd == NULL) {
			return ipcguard_rule_fail(
				s,
				IPCGUARD_RULE_SDDL,
				"%s",
				error != NULL ? error : "does not parse");
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
	     !ipcguard_rule_parse_names(s, IPCGUARD_RULE_SHARE, values, false,
			  &rule->shares))) {
		return false;
	}
	if (!multi(s, fields, IPCGUARD_RULE_PIPE, &values) ||
	    (values != NULL &&
	     !ipcguard_rule_parse_names(s, IPCGUARD_RULE_PIPE, values, true,
			  &rule->pipes))) {
		return false;
	}
	if (!multi(s, fields, IPCGUARD_RULE_SESSION, &values) ||
	    (values != NULL &&
	     !ipcguard_rule_parse_sessions(s, values, &rule->sessions))) {
		return false;
	}
	if (!multi(s, fields, IPCGUARD_RULE_ADDRESS, &values) ||
	    (values != NULL &&
	     !ipcguard_rule_parse_addresses(s, values, rule))) {
		return false;
	}
	if (!multi(s, fields, IPCGUARD_RULE_INTERFACE, &values) ||
	    (values != NULL &&
	     !ipcguard_rule_parse_interfaces(s, values, rule))) {
		return false;
	}
	if (!multi(s, fields, IPCGUARD_RULE_OPNUM, &values) ||
	    (values != NULL && !ipcguard_rule_parse_opnums(s, values, rule))) {
		return false;
	}
	if (rule->shares == NULL && rule->pipes == NULL) {
		return ipcguard_rule_fail(
			s,
			"share/pipe",
			"a rule needs a share or a pipe field");
	}
	if (rule->shares != NULL && rule->pipes != NULL) {
		return ipcguard_rule_fail(
			s,
			"share/pipe",
			"a rule is about shares or about pipes, not "
			"both");
	}
	if (rule->num_interfaces > 0 && rule->pipes == NULL) {
		return ipcguard_rule_fail(
			s,
			IPCGUARD_RULE_INTERFACE,
			"needs a pipe field: RPC interfaces are reached "
			"through pipes");
	}
	if (rule->num_opnums > 0 && rule->num_interfaces == 0) {
		return ipcguard_rule_fail(
			s,
			IPCGUARD_RULE_OPNUM,
			"needs an interface field: opnums only mean "
			"something within an interface");
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
		*error = talloc_asprintf(
			mem_ctx,
			"rule name \"%s\" is not 1-%d letters, "
			"digits, '-', '_' or '.' starting "
			"with a letter or digit",
			ipcguard_printable(tmp,
					   name != NULL ? name : "",
					   name != NULL ? strlen(name) : 0),
			IPCGUARD_RULE_MAX_NAME);
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
	const struct ipcguard_rule *ra =
		*(const struct ipcguard_rule *const *)a;
	const struct ipcguard_rule *rb =
		*(const struct ipcguard_rule *const *)b;

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
