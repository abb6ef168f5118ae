/*
 * ipcguard rule database: rules in an ldb file, one record per rule.
 *
 * A record is "CN=<rule>,CN=ipcguard-rules" with objectClass ipcguardRule,
 * a name attribute and one attribute per rule field (see ipcguard_rule.h).
 * Records are validated by the same parser when written (ipcguard rule
 * add) and when loaded (the gate, the module, the tool), so a record
 * written by hand with ldbmodify gets the same scrutiny.
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
#include <ldb.h>

#include "ipcguard_ruledb.h"
#include "ipcguard_samba_hooks.h"

#define RULE_CLASS "ipcguardRule"
#define RULE_BASE "CN=ipcguard-rules"

static struct ldb_context *ruledb_open(TALLOC_CTX *mem_ctx, const char *path,
				       bool write, char **error)
{
	struct tevent_context *ev = NULL;
	struct ldb_context *ldb = NULL;
	char *url = NULL;
	int ret;

	ev = tevent_context_init(mem_ctx);
	if (ev == NULL) {
		*error = talloc_strdup(mem_ctx, "out of memory");
		return NULL;
	}
	ldb = ldb_init(mem_ctx, ev);
	url = talloc_asprintf(mem_ctx, "tdb://%s", path);
	if (ldb == NULL || url == NULL) {
		*error = talloc_strdup(mem_ctx, "out of memory");
		return NULL;
	}
	talloc_steal(ldb, ev);
	/* Rules say who may call what: root's to read and to change,
	 * whatever the umask of whoever creates the file. */
	ldb_set_create_perms(ldb, 0600);
	ret = ldb_connect(ldb, url,
			  write ? 0 : (LDB_FLG_RDONLY | LDB_FLG_DONT_CREATE_DB),
			  NULL);
	if (ret != LDB_SUCCESS) {
		*error = talloc_asprintf(mem_ctx,
					 "rule database %s: cannot open: %s",
					 path, ldb_errstring(ldb) != NULL ?
					 ldb_errstring(ldb) :
					 ldb_strerror(ret));
		TALLOC_FREE(ldb);
		return NULL;
	}
	return ldb;
}

static struct ldb_val rdn_value(const char *name)
{
	return (struct ldb_val) {
		.data = discard_const_p(uint8_t, name),
		.length = strlen(name),
	};
}

/* A record's attributes as rule fields; objectClass, name and the
 * distinguishedName ldb adds are not fields. */
static struct ipcguard_rule_field *record_fields(TALLOC_CTX *mem_ctx,
						 const struct ldb_message *msg)
{
	struct ipcguard_rule_field *fields = NULL;
	unsigned n = 0;
	unsigned i, j;

	fields = talloc_zero_array(mem_ctx, struct ipcguard_rule_field,
				   msg->num_elements + 1);
	if (fields == NULL) {
		return NULL;
	}
	for (i = 0; i < msg->num_elements; i++) {
		const struct ldb_message_element *el = &msg->elements[i];

		if (strequal(el->name, "objectClass") ||
		    strequal(el->name, "name") ||
		    strequal(el->name, "distinguishedName")) {
			continue;
		}
		fields[n].name = el->name;
		fields[n].values = talloc_zero_array(fields, const char *,
						     el->num_values + 1);
		if (fields[n].values == NULL) {
			return NULL;
		}
		for (j = 0; j < el->num_values; j++) {
			const struct ldb_val *v = &el->values[j];

			/* A NUL inside a value would hide what follows;
			 * a control byte makes the parser refuse it. */
			fields[n].values[j] =
				memchr(v->data, '\0', v->length) != NULL ?
				"\x01(NUL byte)" :
				talloc_strndup(fields, (const char *)v->data,
					       v->length);
			if (fields[n].values[j] == NULL) {
				return NULL;
			}
		}
		n++;
	}
	return fields;
}

void ipcguard_ruledb_load(struct ipcguard_policy *policy, const char *path)
{
	TALLOC_CTX *frame = talloc_stackframe();
	static const char * const attrs[] = { "*", NULL };
	struct ldb_context *ldb = NULL;
	struct ldb_result *res = NULL;
	char *error = NULL;
	struct stat st;
	unsigned i;
	int ret;

	if (path == NULL) {
		ipcguard_policy_add_error(policy, NULL);
		goto done;
	}
	if (stat(path, &st) != 0 && errno == ENOENT) {
		goto done;
	}
	ldb = ruledb_open(frame, path, false, &error);
	if (ldb == NULL) {
		ipcguard_policy_add_error(policy,
					  talloc_steal(policy, error));
		goto done;
	}
	/* Every record: one that lost its objectClass (ldbmodify) would
	 * otherwise drop out of the policy without a word. */
	ret = ldb_search(ldb, frame, &res, NULL, LDB_SCOPE_SUBTREE, attrs,
			 "(distinguishedName=*)");
	if (ret != LDB_SUCCESS) {
		ipcguard_policy_add_error(
			policy, talloc_asprintf(policy,
						"rule database %s: cannot read: "
						"%s", path, ldb_errstring(ldb)));
		goto done;
	}
	for (i = 0; i < res->count; i++) {
		const struct ldb_message *msg = res->msgs[i];
		const char *name = ldb_msg_find_attr_as_string(msg, "name",
							       NULL);
		struct ipcguard_rule_field *fields = NULL;
		struct ipcguard_rule *rule = NULL;

		if (!ldb_msg_check_string_attribute(msg, "objectClass",
						    RULE_CLASS)) {
			ipcguard_policy_add_error(
				policy,
				talloc_asprintf(policy, "rule database %s: "
						"record %s is not a rule "
						"(objectClass %s)", path,
						ldb_dn_get_linearized(msg->dn),
						RULE_CLASS));
			continue;
		}
		fields = record_fields(frame, msg);
		if (fields == NULL) {
			ipcguard_policy_add_error(policy, NULL);
			continue;
		}
		rule = ipcguard_rule_parse(policy, name, fields, policy->hooks,
					   &error);
		if (rule == NULL) {
			ipcguard_policy_add_error(
				policy,
				talloc_asprintf(policy, "rule database %s: %s",
						path, error));
			continue;
		}
		if (!ipcguard_policy_add_rule(policy, rule)) {
			ipcguard_policy_add_error(policy, NULL);
		}
	}
done:
	TALLOC_FREE(frame);
}

struct ipcguard_policy *ipcguard_ruledb_scratch(TALLOC_CTX *mem_ctx)
{
	struct ipcguard_policy *p = talloc_zero(mem_ctx,
						struct ipcguard_policy);

	if (p == NULL) {
		return NULL;
	}
	p->errors = talloc_zero_array(p, const char *, 1);
	if (p->errors == NULL) {
		TALLOC_FREE(p);
		return NULL;
	}
	p->hooks = &ipcguard_samba_rule_hooks;
	return p;
}

bool ipcguard_ruledb_add(TALLOC_CTX *mem_ctx, const char *path,
			 const struct ipcguard_rule *rule, char **error)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct ldb_context *ldb = NULL;
	struct ldb_message *msg = NULL;
	size_t i, j;
	int ret;
	bool ok = false;

	*error = NULL;
	ldb = ruledb_open(frame, path, true, error);
	if (ldb == NULL) {
		goto done;
	}
	msg = ldb_msg_new(frame);
	if (msg == NULL) {
		goto nomem;
	}
	msg->dn = ldb_dn_new(msg, ldb, RULE_BASE);
	if (msg->dn == NULL ||
	    !ldb_dn_add_child_val(msg->dn, "CN", rdn_value(rule->name))) {
		goto nomem;
	}
	if (ldb_msg_add_string(msg, "objectClass", RULE_CLASS) != 0 ||
	    ldb_msg_add_string(msg, "name", rule->name) != 0) {
		goto nomem;
	}
	for (i = 0; rule->fields[i].name != NULL; i++) {
		for (j = 0; rule->fields[i].values[j] != NULL; j++) {
			if (ldb_msg_add_string(msg, rule->fields[i].name,
					       rule->fields[i].values[j]) !=
			    0) {
				goto nomem;
			}
		}
	}
	ret = ldb_add(ldb, msg);
	if (ret == LDB_ERR_ENTRY_ALREADY_EXISTS) {
		*error = talloc_asprintf(mem_ctx,
					 "a rule named '%s' already exists "
					 "(delete it first)", rule->name);
		goto done;
	}
	if (ret != LDB_SUCCESS) {
		*error = talloc_asprintf(mem_ctx, "cannot store rule '%s' in "
					 "%s: %s", rule->name, path,
					 ldb_errstring(ldb));
		goto done;
	}
	ok = true;
	goto done;
nomem:
	*error = talloc_strdup(mem_ctx, "out of memory");
done:
	if (*error != NULL) {
		*error = talloc_steal(mem_ctx, *error);
	}
	TALLOC_FREE(frame);
	return ok;
}

bool ipcguard_ruledb_delete(TALLOC_CTX *mem_ctx, const char *path,
			    const char *name, char **error)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct ldb_context *ldb = NULL;
	struct ldb_dn *dn = NULL;
	struct stat st;
	int ret;
	bool ok = false;

	*error = NULL;
	if (stat(path, &st) != 0) {
		*error = talloc_asprintf(mem_ctx, "there is no rule '%s': %s "
					 "does not exist", name, path);
		goto done;
	}
	ldb = ruledb_open(frame, path, true, error);
	if (ldb == NULL) {
		goto done;
	}
	dn = ldb_dn_new(frame, ldb, RULE_BASE);
	if (dn == NULL ||
	    !ldb_dn_add_child_val(dn, "CN", rdn_value(name))) {
		*error = talloc_strdup(mem_ctx, "out of memory");
		goto done;
	}
	ret = ldb_delete(ldb, dn);
	if (ret == LDB_ERR_NO_SUCH_OBJECT) {
		*error = talloc_asprintf(mem_ctx, "there is no rule '%s'",
					 name);
		goto done;
	}
	if (ret != LDB_SUCCESS) {
		*error = talloc_asprintf(mem_ctx, "cannot delete rule '%s' "
					 "from %s: %s", name, path,
					 ldb_errstring(ldb));
		goto done;
	}
	ok = true;
done:
	if (*error != NULL) {
		*error = talloc_steal(mem_ctx, *error);
	}
	TALLOC_FREE(frame);
	return ok;
}
