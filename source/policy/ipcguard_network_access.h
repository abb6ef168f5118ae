/*
 * ipcguard: Windows' "Network access:" security options that decide what
 * an anonymous session learns once it is in, as built-in rules.
 *
 * Each option becomes a rule of the same kind the rule database holds
 * (interface and opnum conditions, for anonymous sessions and guests held
 * to the anonymous rules), judged after the database's rules, so an
 * admin's database rule can still make an exception.  The interfaces are
 * named by UUID and the calls by opnum, both fixed by the protocols
 * ([MS-LSAT], [MS-SAMR], [MS-SRVS]); Samba's IDL names are beside them.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_NETWORK_ACCESS_H
#define IPCGUARD_NETWORK_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <talloc.h>

#include "ipcguard_rule.h"

/* "Network access: Allow anonymous SID/Name translation", and one step
 * further: names to SIDs only, so RID cycling stays refused. */
enum ipcguard_name_translation {
	IPCGUARD_TRANSLATE_NONE = 0,	/* Windows' default */
	IPCGUARD_TRANSLATE_NAMES,	/* LookupNames*, not LookupSids* */
	IPCGUARD_TRANSLATE_ALL,
};

struct ipcguard_network_access {
	enum ipcguard_name_translation anonymous_translation;
	bool restrict_anonymous_sam;	/* RestrictAnonymousSAM */
	bool restrict_anonymous;	/* RestrictAnonymous */
	/* RestrictRemoteSAM: who may connect to SAM remotely (SDDL). */
	char *restrict_remote_sam;
};

/* Windows Server 2016's RestrictRemoteSAM: administrators only. */
#define IPCGUARD_RESTRICT_REMOTE_SAM_DEFAULT "O:BAG:BAD:(A;;RC;;;BA)"
/* READ_CONTROL: the right RestrictRemoteSAM's descriptor grants. */
#define IPCGUARD_ACCESS_READ_CONTROL 0x00020000

/* The rule names, as logs, audit events and "ipcguard explain" show. */
#define IPCGUARD_RULE_LSA_ANONYMOUS_NAME_LOOKUP "lsa-anonymous-name-lookup"
#define IPCGUARD_RULE_RESTRICT_ANONYMOUS_SAM "restrict-anonymous-sam"
#define IPCGUARD_RULE_RESTRICT_ANONYMOUS "restrict-anonymous"
#define IPCGUARD_RULE_RESTRICT_REMOTE_SAM "restrict-remote-sam"

bool ipcguard_parse_name_translation(TALLOC_CTX *mem_ctx,
				     const char *option, const char *value,
				     enum ipcguard_name_translation *result,
				     char **error);

/*
 * The built-in deny rules these settings make, in evaluation order, as
 * talloc children of mem_ctx.  Returns false only when out of memory.
 */
bool ipcguard_network_access_rules(TALLOC_CTX *mem_ctx,
				   const struct ipcguard_network_access *na,
				   struct ipcguard_rule ***rules,
				   size_t *num_rules);

/*
 * The built-in rules that need Samba's SDDL code (hooks): today
 * RestrictRemoteSAM, a deny rule on the SAMR connect calls for every
 * caller its descriptor does not grant READ_CONTROL, Samba's own callers
 * (SYSTEM) excepted, as Windows excepts local ones.  Appended to *rules.
 * Returns false with *error set when the descriptor does not parse.
 */
bool ipcguard_network_access_sddl_rules(
	TALLOC_CTX *mem_ctx, const struct ipcguard_network_access *na,
	const struct ipcguard_rule_hooks *hooks, struct ipcguard_rule ***rules,
	size_t *num_rules, char **error);

#endif /* IPCGUARD_NETWORK_ACCESS_H */
