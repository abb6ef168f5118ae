/*
 * ipcguard last valid policy store.
 *
 * Each client gets a new smbd child, which loads the module and reads
 * smb.conf afresh, so "the last valid policy" has to outlive the process:
 * it is kept in the state directory, stamped with the main smbd's pid so
 * that a restart with an invalid policy still fails closed.  Two files:
 * the ipcguard: options as "option=value" lines, and a byte copy of the
 * rule database, which the policy loader also falls back on when the
 * database itself is lost or broken.
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
#include "ipcguard_compat.h"

#include "ipcguard_last_valid.h"
#include "ipcguard_ruledb.h"
#include "ipcguard_samba_hooks.h"
#include "ipcguard_smbconf.h"

#define LAST_VALID_FILE "ipcguard-last-valid-policy"
#define LAST_VALID_RULEDB_FILE "ipcguard-last-valid-rules.ldb"

char *ipcguard_last_valid_ruledb_path(TALLOC_CTX *mem_ctx)
{
	return state_path(mem_ctx, LAST_VALID_RULEDB_FILE);
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

/*
 * Make the last valid copy the same file as the database at path, mode
 * 0600.  A database that does not exist leaves the copy alone (its rules
 * are the ones in force then).
 */
static bool keep_ruledb(TALLOC_CTX *mem_ctx, const char *path, char **error)
{
	TALLOC_CTX *frame = talloc_stackframe();
	char *kept = ipcguard_last_valid_ruledb_path(frame);
	struct ipcguard_policy *check = ipcguard_ruledb_scratch(frame);
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

/* A valid policy's rules: the copy of the database they came from. */
static bool keep_rules(TALLOC_CTX *mem_ctx,
		       const struct ipcguard_policy *policy, char **error)
{
	char *why = NULL;

	if (policy->rule_database == NULL ||
	    !keep_ruledb(mem_ctx, policy->rule_database, &why)) {
		*error = talloc_asprintf(mem_ctx, "cannot keep a copy of the "
					 "valid rule database: %s",
					 why != NULL ? why : "out of memory");
		TALLOC_FREE(why);
		return false;
	}
	return true;
}

struct stored_policy {
	char **lines;	/* "option=value" */
	int num_lines;
};

static const char *stored_option(void *private_data, const char *option)
{
	struct stored_policy *stored = private_data;
	size_t len = strlen(option);
	int i;

	for (i = 0; i < stored->num_lines; i++) {
		if (strncmp(stored->lines[i], option, len) == 0 &&
		    stored->lines[i][len] == '=') {
			return &stored->lines[i][len + 1];
		}
	}
	return NULL;
}

static char *policy_record(TALLOC_CTX *mem_ctx,
			   const struct ipcguard_policy *policy,
			   pid_t smbd_pid)
{
	char *text = talloc_asprintf(mem_ctx, "smbd_pid=%d\n", (int)smbd_pid);
	const char *db = policy->rule_database;
	struct stat st;
	size_t i;

	for (i = 0; text != NULL && ipcguard_options[i].name != NULL; i++) {
		const char *v = ipcguard_smbconf_option(NULL,
						   ipcguard_options[i].name);

		if (v != NULL) {
			text = talloc_asprintf_append_buffer(
				text, "%s=%s\n", ipcguard_options[i].name, v);
		}
	}
	/* Identifies the rule database's content without reading it. */
	if (text != NULL && db != NULL && stat(db, &st) == 0) {
		text = talloc_asprintf_append_buffer(
			text, "#rules=%s %llu %llu %lld.%09ld\n", db,
			(unsigned long long)st.st_ino,
			(unsigned long long)st.st_size,
			(long long)st.st_mtim.tv_sec,
			(long)st.st_mtim.tv_nsec);
	}
	return text;
}

bool ipcguard_last_valid_save(TALLOC_CTX *mem_ctx,
			      const struct ipcguard_policy *policy,
			      pid_t smbd_pid, char **error)
{
	/* What this smbd child last found in or wrote to the file: most
	 * clients make several tree connects, only the first needs I/O. */
	static char *recorded = NULL;
	TALLOC_CTX *frame = talloc_stackframe();
	char *record = NULL;
	char *path = NULL;
	char *tmp = NULL;
	char *old = NULL;
	size_t size = 0;
	bool ok = false;

	*error = NULL;
	if (smbd_pid == 0) {
		ok = keep_rules(mem_ctx, policy, error);
		goto done;
	}
	record = policy_record(frame, policy, smbd_pid);
	if (record != NULL && recorded != NULL &&
	    strcmp(recorded, record) == 0) {
		ok = true;
		goto done;
	}
	path = state_path(frame, LAST_VALID_FILE);
	if (record == NULL || path == NULL) {
		*error = talloc_strdup(mem_ctx, "out of memory");
		goto done;
	}
	old = file_load(path, &size, 0, frame);
	if (old != NULL && strcmp(old, record) == 0) {
		goto remember;
	}
	if (!keep_rules(mem_ctx, policy, error)) {
		goto done;
	}
	tmp = talloc_asprintf(frame, "%s.%d", path, (int)getpid());
	if (tmp == NULL ||
	    !file_save_mode(tmp, record, strlen(record), 0600) ||
	    chmod(tmp, 0600) != 0 ||
	    rename(tmp, path) != 0) {
		*error = talloc_asprintf(mem_ctx, "cannot record the valid "
					 "policy in %s: %s", path,
					 strerror(errno));
		if (tmp != NULL) {
			unlink(tmp);
		}
		goto done;
	}
remember:
	TALLOC_FREE(recorded);
	recorded = talloc_strdup(NULL, record);
	ok = true;
done:
	TALLOC_FREE(frame);
	return ok;
}

struct ipcguard_policy *ipcguard_last_valid_load(TALLOC_CTX *mem_ctx,
						 pid_t smbd_pid)
{
	TALLOC_CTX *frame = talloc_stackframe();
	char *path = state_path(frame, LAST_VALID_FILE);
	struct stored_policy *stored = talloc_zero(frame,
						   struct stored_policy);
	struct ipcguard_policy *policy = NULL;
	char *expected = NULL;

	if (path == NULL || stored == NULL) {
		goto done;
	}
	stored->lines = file_lines_load(path, &stored->num_lines, 0, stored);
	if (stored->lines == NULL || stored->num_lines < 1) {
		goto done;
	}
	expected = talloc_asprintf(frame, "smbd_pid=%d", (int)smbd_pid);
	if (expected == NULL || strcmp(stored->lines[0], expected) != 0) {
		/* Recorded by an earlier smbd: this is a start. */
		goto done;
	}
	policy = ipcguard_policy_load(mem_ctx, stored_option, stored);
	if (policy == NULL) {
		goto done;
	}
	/* The options' values may point into the stored lines. */
	talloc_steal(policy, stored);
	ipcguard_policy_set_hooks(policy, &ipcguard_samba_rule_hooks);
	policy->rule_database = ipcguard_last_valid_ruledb_path(policy);
	ipcguard_ruledb_load(policy, policy->rule_database);
	if (!ipcguard_policy_is_valid(policy)) {
		TALLOC_FREE(policy);
	}
done:
	TALLOC_FREE(frame);
	return policy;
}
