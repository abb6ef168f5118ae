/*
 * ipcguard rule database: rules in an ldb file.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_RULEDB_H
#define IPCGUARD_RULEDB_H

#include "ipcguard_policy.h"

/* "ipcguard:rule database" in [global]. */
#define IPCGUARD_OPT_RULE_DATABASE "rule database"
#define IPCGUARD_RULEDB_DEFAULT_NAME "ipcguard-rules.ldb"

/*
 * Add every rule of the database at path to the policy.  A missing file
 * is an empty database.  Problems (a file ldb cannot open, a record that
 * is not a valid rule) are recorded with ipcguard_policy_add_error(), so
 * the policy becomes invalid; valid rules are still added.
 */
void ipcguard_ruledb_load(struct ipcguard_policy *policy, const char *path);

/*
 * An empty policy, with Samba's rule hooks, to load one database file
 * into: its rules and errors apart from those of any other file.
 */
struct ipcguard_policy *ipcguard_ruledb_scratch(TALLOC_CTX *mem_ctx);

/* Store a validated rule.  false with *error if it cannot be stored. */
bool ipcguard_ruledb_add(TALLOC_CTX *mem_ctx, const char *path,
			 const struct ipcguard_rule *rule, char **error);

/* Remove a rule by name.  false with *error if there is none. */
bool ipcguard_ruledb_delete(TALLOC_CTX *mem_ctx, const char *path,
			    const char *name, char **error);

#endif /* IPCGUARD_RULEDB_H */
