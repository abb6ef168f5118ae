/*
 * ipcguard: the table of smb.conf options.  See ipcguard_options.h.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <stddef.h>
#include <string.h>

#include "ipcguard_options.h"
#include "ipcguard_network_access.h"
#include "ipcguard_registry.h"

#define STR(x) STR2(x)
#define STR2(x) #x

const struct ipcguard_option_info ipcguard_options[] = {
	{
		.name = IPCGUARD_OPT_NULL_SESSION_SHARES,
		.default_value = "",
		.description = "shares anonymous sessions may connect to "
			       "(Windows: NullSessionShares)",
	},
	{
		.name = IPCGUARD_OPT_NULL_SESSION_PIPES,
		.default_value = "",
		.description = "named pipes anonymous sessions may open "
			       "(Windows: NullSessionPipes)",
	},
	{
		.name = IPCGUARD_OPT_RESTRICT_NULL_SESSION_ACCESS,
		.default_value = "yes",
		.description = "restrict anonymous sessions to the two lists "
			       "(Windows: RestrictNullSessAccess)",
	},
	{
		.name = IPCGUARD_OPT_EVERYONE_INCLUDES_ANONYMOUS,
		.default_value = "no",
		.description = "whether anonymous sessions get what is granted "
			       "to Everyone (Windows: "
			       "EveryoneIncludesAnonymous)",
	},
	{
		.name = IPCGUARD_OPT_GUEST_IS_ANONYMOUS,
		.default_value = "yes",
		.description = "whether guest sessions are held to the "
			       "anonymous rules",
	},
	{
		.name = IPCGUARD_OPT_ANONYMOUS_NAME_TRANSLATION,
		.default_value = "no",
		.description = "whether anonymous sessions may translate SIDs "
			       "to names and names to SIDs; \"names only\" "
			       "refuses SIDs to names, RID cycling (Windows: "
			       "LSAAnonymousNameLookup)",
	},
	{
		.name = IPCGUARD_OPT_RESTRICT_ANONYMOUS_SAM,
		.default_value = "yes",
		.description = "refuse anonymous SAMR calls that enumerate or "
			       "look up accounts (Windows: "
			       "RestrictAnonymousSAM)",
	},
	{
		.name = IPCGUARD_OPT_RESTRICT_ANONYMOUS,
		.default_value = "no",
		.description = "also refuse anonymous enumeration of shares, "
			       "sessions and open files (Windows: "
			       "RestrictAnonymous)",
	},
	{
		.name = IPCGUARD_OPT_RESTRICT_REMOTE_SAM,
		.default_value = IPCGUARD_RESTRICT_REMOTE_SAM_DEFAULT,
		.description = "security descriptor (SDDL) of the callers "
			       "that may connect to SAM (SAMR) remotely; READ "
			       "CONTROL (RC) grants it, \"none\" turns it "
			       "off (Windows: RestrictRemoteSAM)",
	},
	{
		.name = IPCGUARD_OPT_REMOTE_REGISTRY_ACCESS,
		.default_value = IPCGUARD_REMOTE_REGISTRY_ACCESS_DEFAULT,
		.description = "security descriptor (SDDL) of the callers "
			       "that may use the whole registry remotely "
			       "(winreg); READ CONTROL (RC) grants it, "
			       "\"none\" turns the restriction off (Windows: "
			       "the ACL of SecurePipeServers\\winreg)",
	},
	{
		.name = IPCGUARD_OPT_REGISTRY_EXACT_PATHS,
		.default_value = IPCGUARD_REGISTRY_EXACT_PATHS_DEFAULT,
		.description = "comma-separated registry keys under HKLM "
			       "that other callers may open and read "
			       "(Windows: AllowedExactPaths)",
	},
	{
		.name = IPCGUARD_OPT_REGISTRY_PATHS,
		.default_value = IPCGUARD_REGISTRY_PATHS_DEFAULT,
		.description = "comma-separated registry keys under HKLM "
			       "that other callers may open and read, with "
			       "every key below them (Windows: AllowedPaths)",
	},
	{
		.name = IPCGUARD_OPT_AUDIT_ALLOWED,
		.default_value = "no",
		.description = "whether allowed requests are audited as JSON "
			       "too (refusals always are)",
	},
	{
		.name = IPCGUARD_OPT_MAX_PIPES_PER_ANONYMOUS_SESSION,
		.default_value = STR(IPCGUARD_DEFAULT_ANON_PER_SESSION),
		.description = "pipes one anonymous (or guest) session may "
			       "hold open through the gate (0: no bound)",
	},
	{
		.name = IPCGUARD_OPT_MAX_ANONYMOUS_PIPES_PER_ADDRESS,
		.default_value = STR(IPCGUARD_DEFAULT_ANON_PER_ADDRESS),
		.description = "pipes all anonymous (and guest) sessions from "
			       "one client address may hold open together "
			       "(0: no bound)",
	},
	{
		.name = IPCGUARD_OPT_MAX_PIPES_PER_SESSION,
		.default_value = STR(IPCGUARD_DEFAULT_PER_SESSION),
		.description = "pipes one authenticated session may hold open "
			       "through the gate (0: no bound)",
	},
	{
		.name = IPCGUARD_OPT_MAX_PIPES_PER_ADDRESS,
		.default_value = STR(IPCGUARD_DEFAULT_PER_ADDRESS),
		.description = "pipes all authenticated sessions from one "
			       "client address may hold open together "
			       "(0: no bound)",
	},
	{
		.name = IPCGUARD_OPT_REFUSED_PIPE_TIMEOUT,
		.default_value = STR(IPCGUARD_DEFAULT_REFUSED_PIPE_TIMEOUT),
		.description = "seconds the gate keeps a refused pipe open to "
			       "answer its calls with access denied",
	},
	{
		.name = IPCGUARD_OPT_GATE_PROBE_TIMEOUT,
		.default_value = STR(IPCGUARD_DEFAULT_GATE_PROBE_TIMEOUT),
		.description = "milliseconds an anonymous tree connect waits "
			       "for ipcguardd to answer before it is refused",
	},
	{
		.name = IPCGUARD_OPT_TCP_DOOR_PORT,
		.default_value = "0",
		.description = "port on which ipcguardd takes the "
			       "ncacn_ip_tcp connections the packet filter "
			       "redirects to it from port 135 and Samba's RPC "
			       "ports, so that anonymous callers get over TCP "
			       "what they get over SMB (0: no TCP door)",
	},
	{ .name = NULL },
};

const char *ipcguard_option_default(const char *option)
{
	size_t i;

	for (i = 0; ipcguard_options[i].name != NULL; i++) {
		if (strcmp(ipcguard_options[i].name, option) == 0) {
			return ipcguard_options[i].default_value;
		}
	}
	return NULL;
}
