/*
 * ipcguard: from Samba's session and token types to the policy engine's.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include "includes.h"
#include "librpc/gen_ndr/auth.h"
#include "libcli/security/security.h"
#include "libcli/security/session.h"
#include "ipcguard_session.h"

enum ipcguard_session_kind ipcguard_session_kind_of(
	struct auth_session_info *session_info)
{
	/* Samba's own classifier reads the token without looking. */
	if (session_info == NULL || session_info->security_token == NULL) {
		return IPCGUARD_SESSION_ANONYMOUS;
	}
	switch (security_session_user_level(session_info, NULL)) {
	case SECURITY_ANONYMOUS:
		return IPCGUARD_SESSION_ANONYMOUS;
	case SECURITY_GUEST:
		return IPCGUARD_SESSION_GUEST;
	default:
		return IPCGUARD_SESSION_AUTHENTICATED;
	}
}

char *ipcguard_token_sids(TALLOC_CTX *mem_ctx,
			  const struct security_token *token)
{
	char *out = talloc_strdup(mem_ctx, "");
	uint32_t i;

	if (token == NULL) {
		return out;
	}
	for (i = 0; out != NULL && i < token->num_sids; i++) {
		struct dom_sid_buf buf;

		out = talloc_asprintf_append_buffer(
			out, "%s%s", i == 0 ? "" : ",",
			dom_sid_str_buf(&token->sids[i], &buf));
	}
	return out;
}

const char *ipcguard_session_user(TALLOC_CTX *mem_ctx,
				  struct auth_session_info *session_info)
{
	const char *name = NULL;
	const char *domain = NULL;

	if (session_info == NULL || session_info->info == NULL ||
	    session_info->security_token == NULL) {
		return "";
	}
	if (security_token_is_anonymous(session_info->security_token)) {
		return "";
	}
	name = session_info->info->account_name;
	domain = session_info->info->domain_name;
	if (name == NULL) {
		return "";
	}
	if (domain == NULL || domain[0] == '\0') {
		return name;
	}
	return talloc_asprintf(mem_ctx, "%s\\%s", domain, name);
}

bool ipcguard_token_remove_everyone(struct security_token *token)
{
	bool removed = false;

	if (token == NULL) {
		return false;
	}
	while (security_token_has_sid(token, &global_sid_World)) {
		del_sid_from_array(&global_sid_World, &token->sids,
				   &token->num_sids);
		removed = true;
	}
	return removed;
}

unsigned ipcguard_sd_hide_everyone(struct security_descriptor *sd)
{
	struct security_acl *dacl = NULL;
	unsigned changed = 0;
	uint32_t i = 0;

	if (sd == NULL || sd->dacl == NULL) {
		return 0;
	}
	dacl = sd->dacl;
	while (i < dacl->num_aces) {
		struct security_ace *ace = &dacl->aces[i];
		const uint8_t inherit = SEC_ACE_FLAG_OBJECT_INHERIT |
					SEC_ACE_FLAG_CONTAINER_INHERIT;

		if (!dom_sid_equal(&ace->trustee, &global_sid_World) ||
		    (ace->flags & SEC_ACE_FLAG_INHERIT_ONLY)) {
			i++;
			continue;
		}
		changed++;
		if (ace->flags & inherit) {
			/* Still inherited by new children, never checked
			 * against the caller on this object. */
			ace->flags |= SEC_ACE_FLAG_INHERIT_ONLY;
			i++;
			continue;
		}
		ARRAY_DEL_ELEMENT(dacl->aces, i, dacl->num_aces);
		dacl->num_aces--;
	}
	return changed;
}
