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
 * they name.
 */
struct ipcguard_policy *ipcguard_policy_load_all(TALLOC_CTX *mem_ctx);

/* Store a validated rule.  false with *error if it cannot be stored. */
bool ipcguard_ruledb_add(TALLOC_CTX *mem_ctx, const char *path,
			 const struct ipcguard_rule *rule, char **error);

/* Remove a rule by name.  false with *error if there is none. */
bool ipcguard_ruledb_delete(TALLOC_CTX *mem_ctx, const char *path,
			    const char *name, char **error);

#endif /* IPCGUARD_RULEDB_H */
