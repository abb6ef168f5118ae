/*
 * ipcguard rule: list, show, add and delete the rules of the rule
 * database.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include "includes.h"
#include "system/filesys.h"

#include "ipcguard_tool.h"
#include "ipcguard_ruledb.h"
#include "ipcguard_last_valid.h"
#include "ipcguard_samba_hooks.h"

/* "field=value" arguments into rule fields; a field given twice gets
 * both values. */
static struct ipcguard_rule_field *fields_from_args(TALLOC_CTX *mem_ctx,
						    const char **args,
						    size_t nargs)
{
	struct ipcguard_rule_field *fields = NULL;
	size_t n = 0;
	size_t i, j;

	fields = talloc_zero_array(mem_ctx, struct ipcguard_rule_field,
				   nargs + 1);
	for (i = 0; fields != NULL && i < nargs; i++) {
		const char *eq = strchr(args[i], '=');
		char *name = NULL;
		size_t nv;

		if (eq == NULL || eq == args[i]) {
			fprintf(stderr, "ipcguard: rule add: \"%s\" is not "
				"FIELD=VALUE\n", args[i]);
			return NULL;
		}
		name = talloc_strndup(fields, args[i], eq - args[i]);
		for (j = 0; name != NULL && j < n; j++) {
			if (strequal(fields[j].name, name)) {
				break;
			}
		}
		if (name == NULL) {
			return NULL;
		}
		if (j == n) {
			fields[n].name = name;
			fields[n].values = talloc_zero_array(fields,
							     const char *, 1);
			n++;
		}
		nv = talloc_array_length(fields[j].values);
		fields[j].values = talloc_realloc(fields, fields[j].values,
						  const char *, nv + 1);
		if (fields[j].values == NULL) {
			return NULL;
		}
		fields[j].values[nv - 1] = eq + 1;
		fields[j].values[nv] = NULL;
	}
	return fields;
}

static void report_change(const char *done, const char *preposition,
			  const char *name, const char *path)
{
	printf("%s rule %s %s %s; reload the configuration (smbcontrol smbd "
	       "reload-config; smbcontrol ipcguardd reload-config) to apply "
	       "it\n", done, name, preposition, path);
}

int cmd_rule(TALLOC_CTX *mem_ctx, struct ipcguard_policy *policy,
		    const char **args, size_t nargs)
{
	const char *path = policy->rule_database;
	char *error = NULL;
	size_t i;

	if (path == NULL) {
		return 2;
	}
	if (nargs == 1 && strequal(args[0], "list")) {
		for (i = 0; i < policy->num_rules; i++) {
			const struct ipcguard_rule *r = policy->rules[i];

			printf("%-24s order %-6u %-5s%s%s%s\n", r->name,
			       r->order, r->allow ? "allow" : "deny",
			       r->audit_only ? " (audit only)" : "",
			       r->description[0] != '\0' ? "  " : "",
			       r->description);
		}
		for (i = 0; policy->errors[i] != NULL; i++) {
			printf("ERROR: %s\n", policy->errors[i]);
		}
		for (i = 0; policy->warnings != NULL &&
			    policy->warnings[i] != NULL; i++) {
			printf("ERROR: %s\n", policy->warnings[i]);
		}
		return policy->errors[0] == NULL &&
		       (policy->warnings == NULL ||
			policy->warnings[0] == NULL) ? 0 : 1;
	}
	if (nargs == 2 && strequal(args[0], "show")) {
		for (i = 0; i < policy->num_rules; i++) {
			if (strequal(policy->rules[i]->name, args[1])) {
				fputs(ipcguard_rule_text(mem_ctx,
							 policy->rules[i]),
				      stdout);
				return 0;
			}
		}
		fprintf(stderr, "ipcguard: rule show: there is no valid rule "
			"'%s' in %s\n", args[1], path);
		return 1;
	}
	if (nargs == 2 && strequal(args[0], "delete")) {
		if (!ipcguard_ruledb_delete(mem_ctx, path, args[1], &error)) {
			fprintf(stderr, "ipcguard: rule delete: %s\n", error);
			return 1;
		}
		report_change("Deleted", "from", args[1], path);
		return 0;
	}
	if (nargs >= 3 && strequal(args[0], "add")) {
		struct ipcguard_rule_field *fields = NULL;
		struct ipcguard_rule *rule = NULL;

		fields = fields_from_args(mem_ctx, &args[2], nargs - 2);
		if (fields == NULL) {
			return 2;
		}
		rule = ipcguard_rule_parse(mem_ctx, args[1], fields,
					   &ipcguard_samba_rule_hooks, &error);
		if (rule == NULL) {
			fprintf(stderr, "ipcguard: rule add: %s\n", error);
			return 1;
		}
		/* A new database would replace the rules in force with
		 * this one rule at the next reload. */
		if (policy->warnings != NULL && policy->warnings[0] != NULL &&
		    !file_exist(path)) {
			fprintf(stderr, "ipcguard: rule add: %s; restore it "
				"first (cp %s %s) or remove the copy\n",
				policy->warnings[0],
				ipcguard_last_valid_ruledb_path(mem_ctx), path);
			return 1;
		}
		if (!ipcguard_ruledb_add(mem_ctx, path, rule, &error)) {
			fprintf(stderr, "ipcguard: rule add: %s\n", error);
			return 1;
		}
		report_change("Added", "to", args[1], path);
		return 0;
	}
	fprintf(stderr, "usage: ipcguard rule list | show NAME | delete NAME "
		"| add NAME FIELD=VALUE...\n");
	return 2;
}
