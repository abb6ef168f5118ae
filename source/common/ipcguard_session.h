/*
 * ipcguard: from Samba's session and token types to the policy engine's.
 *
 * Kept apart from ipcguard_policy.c, which must not depend on Samba's
 * security library, so its unit tests and fuzzers link nothing else.  The
 * VFS module and the gate both use this file so they classify a caller the
 * same way.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_SESSION_H
#define IPCGUARD_SESSION_H

#include "ipcguard_policy.h"

struct auth_session_info;
struct security_token;
struct security_descriptor;

/*
 * Classification with Samba's own security_session_user_level(); no
 * session or no token is anonymous.
 */
enum ipcguard_session_kind ipcguard_session_kind_of(
	struct auth_session_info *session_info);

/* "S-1-5-7,S-1-1-0,..." for log lines. */
char *ipcguard_token_sids(TALLOC_CTX *mem_ctx,
			  const struct security_token *token);

/*
 * The account name for log lines: "DOMAIN\\user", or "" for anonymous.
 */
const char *ipcguard_session_user(TALLOC_CTX *mem_ctx,
				  struct auth_session_info *session_info);

/*
 * Remove Everyone (S-1-1-0) from a token.  Returns true if it was there.
 */
bool ipcguard_token_remove_everyone(struct security_token *token);

/*
 * Make a security descriptor's Everyone (S-1-1-0) entries ineffective for
 * the object itself while keeping them for inheritance: an access check of
 * the result gives exactly what a token without Everyone would get from
 * the original.  Returns the number of entries changed.
 */
unsigned ipcguard_sd_hide_everyone(struct security_descriptor *sd);

#endif /* IPCGUARD_SESSION_H */
