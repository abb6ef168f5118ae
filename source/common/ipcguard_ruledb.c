/*
 * ipcguard rule database: rules in an ldb file, one record per rule, and
 * the Samba pieces the policy engine's rules need.
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
#include "libcli/security/security.h"
#include "libcli/security/sddl.h"
#include "librpc/ndr/ndr_table.h"

#include "ipcguard_ruledb.h"
#include "ipcguard_smbconf.h"

#define RULE_CLASS "ipcguardRule"
#define RULE_BASE "CN=ipcguard-rules"

/* ---- hooks ------------------------------------------------------------- */

static void *compile_sddl(TALLOC_CTX *mem_ctx, const char *sddl,
			  char **error)
{
	static const struct generic_mapping file_mapping = {
		.generic_read = SEC_RIGHTS_FILE_READ,
		.generic_write = SEC_RIGHTS_FILE_WRITE,
		.generic_execute = SEC_RIGHTS_FILE_EXECUTE,
		.generic_all = SEC_RIGHTS_FILE_ALL,
	};
	struct security_descriptor *sd = NULL;

	/* No domain SID: aliases such as DA would mean different groups on
	 * different servers; write those SIDs out in full. */
	sd = sddl_decode(mem_ctx, sddl, NULL);
	if (sd == NULL) {
		*error = talloc_asprintf(mem_ctx,
					 "\"%s\" is not a security descriptor "
					 "Samba's SDDL parser accepts (write "
					 "domain groups as full SIDs)",
					 sddl);
		return NULL;
	}
	if (sd->dacl == NULL) {
		*error = talloc_asprintf(mem_ctx,
					 "\"%s\" has no DACL (D:...), which "
					 "would grant every caller",
					 sddl);
		TALLOC_FREE(sd);
		return NULL;
	}
	security_acl_map_generic(sd->dacl, &file_mapping);
	return sd;
}

static bool access_check(const void *sd, const void *token,
			 uint32_t access)
{
	uint32_t granted = 0;
	NTSTATUS status;

	if (sd == NULL || token == NULL) {
		return false;
	}
	status = se_access_check(sd, token,
				 access != 0 ? access : IPCGUARD_RULE_ACCESS,
				 &granted);
	return NT_STATUS_IS_OK(status);
}

void ipcguard_syntax_from_ndr(const struct ndr_syntax_id *id,
			      struct ipcguard_syntax *syntax)
{
	struct GUID_txt_buf buf;

	ZERO_STRUCTP(syntax);
	/* The engine keeps UUIDs in text order; the text is the bridge. */
	(void)ipcguard_uuid_parse(GUID_buf_string(&id->uuid, &buf),
				  syntax->uuid);
	syntax->major = id->if_version & 0xffff;
	syntax->minor = id->if_version >> 16;
}

static bool syntax_to_ndr(const struct ipcguard_syntax *syntax,
			  struct ndr_syntax_id *id)
{
	char text[37];
	const uint8_t *u = syntax->uuid;

	snprintf(text, sizeof(text),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
	id->if_version = syntax->major | ((uint32_t)syntax->minor << 16);
	return NT_STATUS_IS_OK(GUID_from_string(text, &id->uuid));
}

static bool interface_by_name(const char *name,
			      struct ipcguard_syntax *syntax)
{
	const struct ndr_interface_table *table = ndr_table_by_name(name);

	if (table == NULL) {
		return false;
	}
	ipcguard_syntax_from_ndr(&table->syntax_id, syntax);
	return true;
}

static const struct ndr_interface_table *table_of(
	const struct ipcguard_syntax *syntax)
{
	struct ndr_syntax_id id;

	if (!syntax_to_ndr(syntax, &id)) {
		return NULL;
	}
	return ndr_table_by_syntax(&id);
}

/* Operation names as pidl writes them ("spoolss_OpenPrinterEx",
 * "lsa_LookupNames"), or without the prefix before the first '_'. */
static bool opnum_by_name(const struct ipcguard_syntax *syntax,
			  const char *name, uint16_t *opnum)
{
	const struct ndr_interface_table *table = table_of(syntax);
	uint32_t i;

	if (table == NULL) {
		return false;
	}
	for (i = 0; i < table->num_calls && i <= UINT16_MAX; i++) {
		const char *call = table->calls[i].name;
		const char *bare = strchr(call, '_');

		if (strequal(call, name) ||
		    (bare != NULL && strequal(bare + 1, name))) {
			*opnum = i;
			return true;
		}
	}
	return false;
}

const struct ipcguard_rule_hooks ipcguard_samba_rule_hooks = {
	.compile_sddl = compile_sddl,
	.access_check = access_check,
	.interface_by_name = interface_by_name,
	.opnum_by_name = opnum_by_name,
};

char *ipcguard_syntax_name(TALLOC_CTX *mem_ctx,
			   const struct ipcguard_syntax *syntax)
{
	const struct ndr_interface_table *table = table_of(syntax);
	struct ndr_syntax_id id;
	struct GUID_txt_buf buf;

	if (table != NULL) {
		return talloc_strdup(mem_ctx, table->name);
	}
	if (!syntax_to_ndr(syntax, &id)) {
		return talloc_strdup(mem_ctx, "unknown");
	}
	return talloc_asprintf(mem_ctx, "%s/%u.%u",
			       GUID_buf_string(&id.uuid, &buf),
			       (unsigned)syntax->major,
			       (unsigned)syntax->minor);
}

const char *ipcguard_opnum_name(const struct ipcguard_syntax *syntax,
				uint16_t opnum)
{
	const struct ndr_interface_table *table = table_of(syntax);

	if (table == NULL || opnum >= table->num_calls) {
		return NULL;
	}
	return table->calls[opnum].name;
}

/* ---- the database ------------------------------------------------------ */

char *ipcguard_ruledb_path(TALLOC_CTX *mem_ctx)
{
	const char *path = ipcguard_smbconf_option(NULL,
						   IPCGUARD_OPT_RULE_DATABASE);

	if (path != NULL && path[0] != '\0') {
		return talloc_strdup(mem_ctx, path);
	}
	return state_path(mem_ctx, IPCGUARD_RULEDB_DEFAULT_NAME);
}

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

char *ipcguard_ruledb_kept_path(TALLOC_CTX *mem_ctx)
{
	return state_path(mem_ctx, IPCGUARD_RULEDB_KEPT_NAME);
}

/* An empty policy to load one database file into. */
static struct ipcguard_policy *scratch_policy(TALLOC_CTX *mem_ctx)
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
	path = ipcguard_ruledb_path(frame);
	kept_path = ipcguard_ruledb_kept_path(frame);
	db = scratch_policy(frame);
	kept = scratch_policy(frame);
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

static bool write_all(int fd, const char *data, size_t size)
{
	while (size > 0) {
		ssize_t n = write(fd, data, size);

		if (n == -1 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return false;
		}
		data += n;
		size -= n;
	}
	return true;
}

bool ipcguard_ruledb_keep(TALLOC_CTX *mem_ctx, const char *path,
			  char **error)
{
	TALLOC_CTX *frame = talloc_stackframe();
	char *kept = ipcguard_ruledb_kept_path(frame);
	struct ipcguard_policy *check = scratch_policy(frame);
	char *tmp = NULL;
	char *data = NULL;
	char *old = NULL;
	size_t size = 0;
	size_t old_size = 0;
	bool ok = false;
	int fd = -1;

	*error = NULL;
	if (kept == NULL || check == NULL) {
		*error = talloc_strdup(mem_ctx, "out of memory");
		goto done;
	}
	data = file_load(path, &size, 0, frame);
	if (data == NULL) {
		if (errno == ENOENT) {
			ok = true;
		} else {
			*error = talloc_asprintf(mem_ctx, "cannot read %s: %s",
						 path, strerror(errno));
		}
		goto done;
	}
	old = file_load(kept, &old_size, 0, frame);
	if (old != NULL && old_size == size && memcmp(old, data, size) == 0) {
		ok = true;
		goto done;
	}
	tmp = talloc_asprintf(frame, "%s.%d", kept, (int)getpid());
	if (tmp == NULL) {
		*error = talloc_strdup(mem_ctx, "out of memory");
		goto done;
	}
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd == -1 || fchmod(fd, 0600) != 0 || !write_all(fd, data, size) ||
	    fsync(fd) != 0) {
		*error = talloc_asprintf(mem_ctx, "cannot write %s: %s", tmp,
					 strerror(errno));
		goto done;
	}
	close(fd);
	fd = -1;
	/* The database may have changed since the policy was loaded. */
	ipcguard_ruledb_load(check, tmp);
	if (!ipcguard_policy_is_valid(check)) {
		*error = talloc_asprintf(mem_ctx, "%s changed while it was "
					 "copied", path);
		goto done;
	}
	if (rename(tmp, kept) != 0) {
		*error = talloc_asprintf(mem_ctx, "cannot rename %s to %s: %s",
					 tmp, kept, strerror(errno));
		goto done;
	}
	ok = true;
done:
	if (fd != -1) {
		close(fd);
	}
	if (!ok && tmp != NULL) {
		(void)unlink(tmp);
	}
	TALLOC_FREE(frame);
	return ok;
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
