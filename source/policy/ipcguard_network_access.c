/*
 * ipcguard: Windows' "Network access:" options as built-in rules.  See
 * ipcguard_network_access.h.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "ipcguard_network_access.h"
#include "ipcguard_parse.h"

#define UUID_LSARPC "12345778-1234-abcd-ef00-0123456789ab"
#define UUID_SAMR "12345778-1234-abcd-ef00-0123456789ac"
#define UUID_SRVSVC "4b324fc8-1670-01d3-1278-5a47bf6ee188"

#define RANGES(r) (r), (sizeof(r) / sizeof((r)[0]))

/* The reasons the logs give. */
#define WHY_TRANSLATION "anonymous sessions may not translate SIDs and " \
	"names (allow anonymous sid name translation = no)"
#define WHY_SIDS_TO_NAMES "anonymous sessions may translate names to " \
	"SIDs only, not SIDs to names (RID cycling)"
#define WHY_SAM "anonymous sessions may not enumerate or look up SAM " \
	"accounts"
#define WHY_SHARES "anonymous sessions may not enumerate shares, " \
	"sessions or open files"
#define WHY_REMOTE_SAM "the caller is not granted remote access to SAM " \
	"by ipcguard:restrict remote sam"

/* lsa_LookupSids, lsa_LookupSids2, lsa_LookupSids3: SIDs to names. */
static const struct ipcguard_opnum_range lookup_sids[] = {
	{ 15, 15 }, { 57, 57 }, { 76, 76 },
};

/* lsa_LookupNames, lsa_LookupNames2, 3 and 4: names to SIDs. */
static const struct ipcguard_opnum_range lookup_names[] = {
	{ 14, 14 }, { 58, 58 }, { 68, 68 }, { 77, 77 },
};

/*
 * Every SAMR call but those an anonymous client needs to find the domain
 * and change an expired password: samr_Connect (0), samr_Close (1),
 * samr_LookupDomain (5), samr_EnumDomains (6), samr_OpenDomain (7),
 * samr_OemChangePasswordUser2 (54), samr_ChangePasswordUser2 (55),
 * samr_GetDomPwInfo (56), samr_Connect2 (57), samr_Connect3 (61),
 * samr_Connect4 (62), samr_ChangePasswordUser3 (63), samr_Connect5 (64),
 * samr_ChangePasswordUser4 (73).  A list of what stays allowed, not of
 * what is refused: a call added to SAMR later is refused too.
 */
static const struct ipcguard_opnum_range sam_accounts[] = {
	{ 2, 4 }, { 8, 53 }, { 58, 60 }, { 65, 72 }, { 74, UINT16_MAX },
};

/*
 * srvsvc_NetConnEnum (8), srvsvc_NetFileEnum (9), srvsvc_NetSessEnum
 * (12), srvsvc_NetShareEnumAll (15), srvsvc_NetShareEnum (36).
 */
static const struct ipcguard_opnum_range srvsvc_enum[] = {
	{ 8, 9 }, { 12, 12 }, { 15, 15 }, { 36, 36 },
};

/*
 * samr_Connect (0), samr_Connect2 (57), samr_Connect3 (61), samr_Connect4
 * (62), samr_Connect5 (64): every handle a SAMR client works with comes
 * from one of these, which is where Windows checks RestrictRemoteSAM.
 * Password changes need no handle and stay open, as on Windows.
 */
static const struct ipcguard_opnum_range sam_connect[] = {
	{ 0, 0 }, { 57, 57 }, { 61, 62 }, { 64, 64 },
};

bool ipcguard_parse_name_translation(TALLOC_CTX *mem_ctx,
				     const char *option, const char *value,
				     enum ipcguard_name_translation *result,
				     char **error)
{
	static const struct ipcguard_word words[] = {
		{ "no", IPCGUARD_TRANSLATE_NONE },
		{ "names only", IPCGUARD_TRANSLATE_NAMES },
		{ "yes", IPCGUARD_TRANSLATE_ALL },
	};
	int v = 0;

	if (!ipcguard_parse_word(mem_ctx, option, value, words,
				 sizeof(words) / sizeof(words[0]),
				 "one of no, names only, yes", &v, error)) {
		return false;
	}
	*result = (enum ipcguard_name_translation)v;
	return true;
}

/* One deny rule for anonymous sessions: interface uuid, these opnums. */
static struct ipcguard_rule *deny_rule(TALLOC_CTX *mem_ctx, const char *name,
				       const char *why, const char *uuid,
				       const struct ipcguard_opnum_range *a,
				       size_t num_a,
				       const struct ipcguard_opnum_range *b,
				       size_t num_b)
{
	struct ipcguard_rule *r = talloc_zero(mem_ctx, struct ipcguard_rule);

	if (r == NULL) {
		return NULL;
	}
	r->name = talloc_strdup(r, name);
	/* Static: a decision's reason outlives no policy. */
	r->description = (char *)(uintptr_t)why;
	r->pipes = talloc_zero_array(r, const char *, 2);
	r->interfaces = talloc_zero(r, struct ipcguard_interface_match);
	r->opnums = talloc_array(r, struct ipcguard_opnum_range,
				 num_a + num_b);
	r->fields = talloc_zero(r, struct ipcguard_rule_field);
	if (r->name == NULL || r->pipes == NULL || r->interfaces == NULL ||
	    r->opnums == NULL || r->fields == NULL ||
	    !ipcguard_uuid_parse(uuid, r->interfaces->syntax.uuid)) {
		talloc_free(r);
		return NULL;
	}
	/* Every pipe: an interface is the same call on any alias. */
	r->pipes[0] = "*";
	r->sessions = 1u << 0;	/* IPCGUARD_SESSION_ANONYMOUS */
	r->interfaces->any_version = true;
	r->num_interfaces = 1;
	memcpy(r->opnums, a, num_a * sizeof(*a));
	if (num_b > 0) {
		memcpy(r->opnums + num_a, b, num_b * sizeof(*b));
	}
	r->num_opnums = num_a + num_b;
	return r;
}

static bool add(TALLOC_CTX *mem_ctx, struct ipcguard_rule ***rules,
		size_t *num_rules, struct ipcguard_rule *rule)
{
	struct ipcguard_rule **tmp = NULL;

	if (rule == NULL) {
		return false;
	}
	tmp = talloc_realloc(mem_ctx, *rules, struct ipcguard_rule *,
			     *num_rules + 1);
	if (tmp == NULL) {
		talloc_free(rule);
		return false;
	}
	*rules = tmp;
	(*rules)[(*num_rules)++] = talloc_steal(tmp, rule);
	return true;
}

bool ipcguard_network_access_rules(TALLOC_CTX *mem_ctx,
				   const struct ipcguard_network_access *na,
				   struct ipcguard_rule ***rules,
				   size_t *num_rules)
{
	*rules = NULL;
	*num_rules = 0;

	switch (na->anonymous_translation) {
	case IPCGUARD_TRANSLATE_NONE:
		if (!add(mem_ctx, rules, num_rules,
			 deny_rule(mem_ctx,
				   IPCGUARD_RULE_LSA_ANONYMOUS_NAME_LOOKUP,
				   WHY_TRANSLATION, UUID_LSARPC,
				   RANGES(lookup_sids),
				   RANGES(lookup_names)))) {
			return false;
		}
		break;
	case IPCGUARD_TRANSLATE_NAMES:
		if (!add(mem_ctx, rules, num_rules,
			 deny_rule(mem_ctx,
				   IPCGUARD_RULE_LSA_ANONYMOUS_NAME_LOOKUP,
				   WHY_SIDS_TO_NAMES, UUID_LSARPC,
				   RANGES(lookup_sids), NULL, 0))) {
			return false;
		}
		break;
	case IPCGUARD_TRANSLATE_ALL:
		break;
	}
	if (na->restrict_anonymous_sam &&
	    !add(mem_ctx, rules, num_rules,
		 deny_rule(mem_ctx, IPCGUARD_RULE_RESTRICT_ANONYMOUS_SAM,
			   WHY_SAM, UUID_SAMR, RANGES(sam_accounts), NULL,
			   0))) {
		return false;
	}
	if (na->restrict_anonymous &&
	    (!add(mem_ctx, rules, num_rules,
		  deny_rule(mem_ctx, IPCGUARD_RULE_RESTRICT_ANONYMOUS,
			    WHY_SAM, UUID_SAMR, RANGES(sam_accounts), NULL,
			    0)) ||
	     !add(mem_ctx, rules, num_rules,
		  deny_rule(mem_ctx, IPCGUARD_RULE_RESTRICT_ANONYMOUS,
			    WHY_SHARES, UUID_SRVSVC, RANGES(srvsvc_enum),
			    NULL, 0)))) {
		return false;
	}
	return true;
}

bool ipcguard_network_access_sddl_rules(
	TALLOC_CTX *mem_ctx, const struct ipcguard_network_access *na,
	const struct ipcguard_rule_hooks *hooks, struct ipcguard_rule ***rules,
	size_t *num_rules, char **error)
{
	struct ipcguard_rule *r = NULL;
	char *why = NULL;

	*error = NULL;
	if (na->restrict_remote_sam == NULL) {
		return true;
	}
	r = deny_rule(mem_ctx, IPCGUARD_RULE_RESTRICT_REMOTE_SAM,
		      WHY_REMOTE_SAM, UUID_SAMR, RANGES(sam_connect), NULL,
		      0);
	if (r == NULL) {
		*error = talloc_strdup(mem_ctx, "out of memory");
		return false;
	}
	r->sessions = 0;	/* every caller */
	r->access = IPCGUARD_ACCESS_READ_CONTROL;
	r->exempt_local_system = true;
	r->sddl = talloc_strdup(r, na->restrict_remote_sam);
	r->sd = r->sddl == NULL || hooks == NULL ||
		hooks->compile_sddl == NULL ? NULL :
		hooks->compile_sddl(r, r->sddl, &why);
	if (r->sd == NULL) {
		*error = talloc_asprintf(
			mem_ctx, "ipcguard:restrict remote sam = \"%s\": %s",
			na->restrict_remote_sam,
			why != NULL ? why : "cannot be checked without "
			"Samba's SDDL code");
		if (*error == NULL) {
			*error = talloc_strdup(mem_ctx, "out of memory");
		}
	}
	/*
	 * Without a descriptor the rule still stands and grants nobody but
	 * Samba's own callers: an unreadable descriptor must not open SAM
	 * to every authenticated user.
	 */
	if (!add(mem_ctx, rules, num_rules, r)) {
		*error = talloc_strdup(mem_ctx, "out of memory");
		return false;
	}
	return *error == NULL;
}
