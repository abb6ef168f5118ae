/*
 * ipcguard policy loader: smb.conf's ipcguard: options and the rule
 * database they name, with the last valid copy of the database standing
 * in for one that is lost or broken.
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

#include "ipcguard_load.h"
#include "ipcguard_ruledb.h"
#include "ipcguard_last_valid.h"
#include "ipcguard_samba_hooks.h"
#include "ipcguard_smbconf.h"

static void take_rules(struct ipcguard_policy *policy,
		       struct ipcguard_policy *from)
{
	size_t i;

	for (i = 0; i < from->num_rules; i++) {
		if (!ipcguard_policy_add_rule(policy, from->rules[i])) {
			ipcguard_policy_add_error(policy, NULL);
			break;
		}
	}
	from->num_rules = 0;
}

static void take_errors(struct ipcguard_policy *policy,
			const struct ipcguard_policy *from, const char *prefix)
{
	size_t i;

	for (i = 0; from->errors[i] != NULL; i++) {
		ipcguard_policy_add_error(
			policy, talloc_asprintf(policy, "%s%s", prefix,
						from->errors[i]));
	}
}

struct ipcguard_policy *ipcguard_policy_load_all(TALLOC_CTX *mem_ctx)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct ipcguard_policy *policy = NULL;
	struct ipcguard_policy *db = NULL;
	struct ipcguard_policy *kept = NULL;
	const char *option = NULL;
	char *path = NULL;
	char *kept_path = NULL;
	struct stat st;
	bool missing;
	bool have_kept;

	policy = ipcguard_policy_load(mem_ctx, ipcguard_smbconf_option, NULL);
	if (policy == NULL) {
		goto done;
	}
	ipcguard_policy_set_hooks(policy, &ipcguard_samba_rule_hooks);
	option = ipcguard_smbconf_option(NULL, IPCGUARD_OPT_RULE_DATABASE);
	path = option != NULL && option[0] != '\0' ?
		talloc_strdup(policy, option) :
		state_path(policy, IPCGUARD_RULEDB_DEFAULT_NAME);
	policy->rule_database = path;
	kept_path = ipcguard_last_valid_ruledb_path(frame);
	db = ipcguard_ruledb_scratch(frame);
	kept = ipcguard_ruledb_scratch(frame);
	if (path == NULL || kept_path == NULL || db == NULL || kept == NULL) {
		ipcguard_policy_add_error(policy, NULL);
		goto done;
	}

	missing = stat(path, &st) != 0 && errno == ENOENT;
	if (!missing) {
		ipcguard_ruledb_load(db, path);
		/* Gone while it was read: it read as empty. */
		missing = stat(path, &st) != 0 && errno == ENOENT;
	}
	if (!missing && ipcguard_policy_is_valid(db)) {
		take_rules(policy, db);
		goto done;
	}
	if (!missing) {
		take_errors(policy, db, "");
	} else if (option != NULL && option[0] != '\0') {
		ipcguard_policy_add_error(
			policy, talloc_asprintf(policy, "rule database %s "
						"(ipcguard:%s) does not exist",
						path,
						IPCGUARD_OPT_RULE_DATABASE));
	}

	/* Lost or broken: the last valid copy stands in for it. */
	have_kept = stat(kept_path, &st) == 0;
	ipcguard_ruledb_load(kept, kept_path);
	if (!ipcguard_policy_is_valid(kept)) {
		/* Nothing tells which rules were in force. */
		take_errors(policy, kept, "last valid copy of the rule "
			    "database: ");
		take_rules(policy, db);
		goto done;
	}
	if (!have_kept) {
		take_rules(policy, db);
		goto done;
	}
	take_rules(policy, kept);
	if (policy->num_rules == 0) {
		/* It held no rules: nothing was lost. */
		goto done;
	}
	ipcguard_policy_add_warning(
		policy, talloc_asprintf(
			policy, "rule database %s %s; keeping the %zu rule%s "
			"of its last valid copy %s in force", path,
			missing ? "does not exist" : "is not valid",
			policy->num_rules, policy->num_rules == 1 ? "" : "s",
			kept_path));
done:
	TALLOC_FREE(frame);
	return policy;
}
