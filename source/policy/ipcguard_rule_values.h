/*
 * ipcguard rules: what the rule parser's files share.  Not for use
 * outside source/policy/ipcguard_rule*.c.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_RULE_VALUES_H
#define IPCGUARD_RULE_VALUES_H

#include "ipcguard_rule.h"
#include "ipcguard_parse.h"

/* Most values one field takes; more is a mistake, not a rule. */
#define IPCGUARD_RULE_MAX_VALUES 1024

struct parse_state {
	TALLOC_CTX *mem_ctx;
	const char *rule;
	const struct ipcguard_rule_hooks *hooks;
	char **error;
};

/* Sets *s->error to "rule 'NAME', field FIELD: <fmt...>"; returns false. */
bool ipcguard_rule_fail(struct parse_state *s, const char *field,
			const char *fmt, ...) PRINTF_ATTRIBUTE(3, 4);

/* The printable form of a value in a message. */
const char *ipcguard_rule_shown(struct parse_state *s, const char *value);

const char **ipcguard_rule_split_values(TALLOC_CTX *mem_ctx,
					const char * const *values,
					bool *too_many);
size_t ipcguard_rule_count(const char * const *list);
bool ipcguard_rule_parse_names(struct parse_state *s, const char *field,
			       const char * const *values, bool pipes,
			       const char ***result);
bool ipcguard_rule_parse_sessions(struct parse_state *s,
				  const char * const *values, unsigned *mask);
bool ipcguard_rule_parse_addresses(struct parse_state *s,
				const char * const *values,
				struct ipcguard_rule *rule);
bool ipcguard_rule_parse_interfaces(struct parse_state *s,
				const char * const *values,
				struct ipcguard_rule *rule);
bool ipcguard_rule_parse_opnums(struct parse_state *s,
				const char * const *values,
				struct ipcguard_rule *rule);

#endif /* IPCGUARD_RULE_VALUES_H */
