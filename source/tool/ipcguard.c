/*
 * ipcguard: the admin tool.
 *
 *   ipcguard [-s smb.conf] check     validate the policy like testparm
 *   ipcguard [-s smb.conf] show      the effective policy, defaults marked
 *   ipcguard [-s smb.conf] explain CALLER share|pipe|ipc NAME [from ADDR]
 *                                    would CALLER (anonymous, guest, or an
 *                                    authenticated user name), from client
 *                                    address ADDR, get it, and which rule
 *                                    decides
 *   ipcguard [-s smb.conf] status    live figures from the running gate
 *   ipcguard tcp-door remove         remove the gate's nftables table
 *
 * It runs the same policy engine and gate probe as the module and the gate,
 * so its answers are theirs.  This file reads the command line and loads
 * the policy; each command lives in the file named for it (tool_*.c).
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
#include "lib/cmdline/cmdline.h"

#include "ipcguard_tool.h"
#include "ipcguard_load.h"
#include "ipcguard_nft.h"
#include "ipcguard_version.h"

/* The table outlives the gate on purpose; the package removes it. */
static int cmd_tcp_door_remove(TALLOC_CTX *mem_ctx)
{
	char *error = ipcguard_nft_remove_door(mem_ctx);

	if (error != NULL) {
		fprintf(stderr, "ipcguard: tcp-door remove: %s\n", error);
		return 1;
	}
	printf("nftables table %s removed: ncacn_ip_tcp callers reach "
	       "Samba directly\n", IPCGUARD_NFT_TABLE);
	return 0;
}

int main(int argc, const char *argv[])
{
	TALLOC_CTX *frame = NULL;
	struct ipcguard_policy *policy = NULL;
	const char **args = NULL;
	const char *arg = NULL;
	size_t nargs = 0;
	poptContext pc;
	int ret;
	struct poptOption long_options[] = {
		POPT_AUTOHELP
		POPT_COMMON_SAMBA
		IPCGUARD_POPT_VERSION
		POPT_TABLEEND
	};

	frame = talloc_stackframe();
	smb_init_locale();
	(void)debug_add_class("ipcguard");
	/* Like testparm: load smb.conf ourselves, keep stderr a terminal
	 * (a server-type setup sends it to the log file). */
	if (!samba_cmdline_init(frame, SAMBA_CMDLINE_CONFIG_NONE,
				false /* require_smbconf */)) {
		fprintf(stderr, "ipcguard: failed to initialise\n");
		return 2;
	}
	pc = samba_popt_get_context(getprogname(), argc, argv, long_options,
				    0);
	if (pc == NULL) {
		return 2;
	}
	poptSetOtherOptionHelp(pc, "check | show | status | explain CALLER "
			       "share|pipe|ipc NAME [from ADDRESS] "
			       "[interface IFACE [opnum N]] [sids SID,...] | "
			       "rule list | show NAME | delete NAME | "
			       "add NAME FIELD=VALUE... | tcp-door remove");
	ret = poptGetNextOpt(pc);
	if (ret == IPCGUARD_POPT_VERSION_VAL) {
		ipcguard_print_version("ipcguard");
		return 0;
	}
	if (ret != -1) {
		fprintf(stderr, "ipcguard: %s: %s\n", poptBadOption(pc, 0),
			poptStrerror(ret));
		return 2;
	}
	args = talloc_zero_array(frame, const char *, argc + 1);
	while (args != NULL && (arg = poptGetArg(pc)) != NULL) {
		args[nargs] = talloc_strdup(args, arg);
		if (args[nargs++] == NULL) {
			args = NULL;
		}
	}
	if (args == NULL) {
		fprintf(stderr, "ipcguard: out of memory\n");
		return 2;
	}
	poptFreeContext(pc);
	if (nargs == 0) {
		fprintf(stderr, "usage: ipcguard [-s smb.conf] check | show | "
			"status | explain CALLER share|pipe|ipc NAME | "
			"rule list|show|delete|add | tcp-door remove\n");
		return 2;
	}

	/* Needs no smb.conf: the package runs it on its way out. */
	if (strequal(args[0], "tcp-door") && nargs == 2 &&
	    strequal(args[1], "remove")) {
		ret = cmd_tcp_door_remove(frame);
		TALLOC_FREE(frame);
		return ret;
	}
	if (!lp_load_with_shares(get_dyn_CONFIGFILE())) {
		fprintf(stderr, "ipcguard: cannot load %s\n",
			get_dyn_CONFIGFILE());
		return 2;
	}
	policy = ipcguard_policy_load_all(frame);
	if (policy == NULL) {
		fprintf(stderr, "ipcguard: out of memory loading the policy\n");
		return 2;
	}
	if (strequal(args[0], "check")) {
		ret = cmd_check(frame, policy);
	} else if (strequal(args[0], "show")) {
		ret = cmd_show(policy);
	} else if (strequal(args[0], "status")) {
		ret = cmd_status(frame, policy);
	} else if (strequal(args[0], "rule")) {
		ret = cmd_rule(frame, policy, &args[1], nargs - 1);
	} else if (strequal(args[0], "explain") && nargs >= 3) {
		ret = cmd_explain_args(frame, policy, args, nargs);
	} else {
		fprintf(stderr, "ipcguard: unknown or incomplete command '%s'\n",
			args[0]);
		ret = 2;
	}
	TALLOC_FREE(frame);
	return ret;
}
