/*
 * ipcguard rule database: rules in an ldb file, and the Samba pieces the
 * policy engine's rules need (SDDL, access check, RPC interface names).
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

struct ndr_syntax_id;

/* "ipcguard:rule database" in [global]. */
#define IPCGUARD_OPT_RULE_DATABASE "rule database"
#define IPCGUARD_RULEDB_DEFAULT_NAME "ipcguard-rules.ldb"
/* The last valid copy of the rule database, in the state directory. */
#define IPCGUARD_RULEDB_KEPT_NAME "ipcguard-last-valid-rules.ldb"

/*
 * Rules check pipe and share access as a file open for reading and
 * writing would be checked, generic rights mapped as for files.
 */
#define IPCGUARD_RULE_ACCESS (SEC_FILE_READ_DATA | SEC_FILE_WRITE_DATA)

/* sddl_decode, se_access_check and Samba's NDR interface tables. */
extern const struct ipcguard_rule_hooks ipcguard_samba_rule_hooks;

/* The interface of a bind's presentation context, for the engine. */
void ipcguard_syntax_from_ndr(const struct ndr_syntax_id *id,
			      struct ipcguard_syntax *syntax);

/* "spoolss" for a known interface, else its UUID and version. */
char *ipcguard_syntax_name(TALLOC_CTX *mem_ctx,
			   const struct ipcguard_syntax *syntax);

/* "spoolss_RemoteFindFirstPrinterChangeNotifyEx", or NULL if unknown. */
const char *ipcguard_opnum_name(const struct ipcguard_syntax *syntax,
				uint16_t opnum);

/* The database's path from the loaded smb.conf. */
char *ipcguard_ruledb_path(TALLOC_CTX *mem_ctx);

/*
 * Add every rule of the database at path to the policy.  A missing file
 * is an empty database.  Problems (a file ldb cannot open, a record that
 * is not a valid rule) are recorded with ipcguard_policy_add_error(), so
 * the policy becomes invalid; valid rules are still added.
 */
void ipcguard_ruledb_load(struct ipcguard_policy *policy, const char *path);

/*
 * The whole policy: smb.conf's ipcguard: options and the rule database
 * they name.  The module, the gate and the tool all load it here, so they
 * agree on what a lost database means:
 *
 *  - "ipcguard:rule database" set and the file missing: an error.
 *  - The default database missing while its last valid copy (see
 *    ipcguard_ruledb_keep()) holds rules: the database held rules and
 *    has vanished.  The copy's rules stay in force and a warning says so.
 *  - A database that cannot be opened or holds an invalid record: errors,
 *    and the rules in force are those of the last valid copy if there is
 *    one, so authenticated callers keep the rules they had.
 */
struct ipcguard_policy *ipcguard_policy_load_all(TALLOC_CTX *mem_ctx);

/* Where the last valid copy of the rule database is kept. */
char *ipcguard_ruledb_kept_path(TALLOC_CTX *mem_ctx);

/*
 * After a valid policy was loaded from the database at path: make the last
 * valid copy the same file, mode 0600.  A database that does not exist
 * leaves the copy alone (its rules are the ones in force then).  false
 * with *error if the copy cannot be made.
 */
bool ipcguard_ruledb_keep(TALLOC_CTX *mem_ctx, const char *path,
			  char **error);

/* Store a validated rule.  false with *error if it cannot be stored. */
bool ipcguard_ruledb_add(TALLOC_CTX *mem_ctx, const char *path,
			 const struct ipcguard_rule *rule, char **error);

/* Remove a rule by name.  false with *error if there is none. */
bool ipcguard_ruledb_delete(TALLOC_CTX *mem_ctx, const char *path,
			    const char *name, char **error);

#endif /* IPCGUARD_RULEDB_H */
