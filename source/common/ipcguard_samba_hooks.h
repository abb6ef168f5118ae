/*
 * The Samba pieces the policy engine's rules need (SDDL, access check,
 * RPC interface and operation names).
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_SAMBA_HOOKS_H
#define IPCGUARD_SAMBA_HOOKS_H

#include "ipcguard_policy.h"

struct ndr_syntax_id;

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

#endif /* IPCGUARD_SAMBA_HOOKS_H */
