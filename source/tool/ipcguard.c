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
 *
 * It runs the same policy engine and gate probe as the module and the gate,
 * so its answers are theirs.
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

#include "ipcguard_policy.h"
#include "ipcguard_gate_probe.h"
#include "ipcguard_smbconf.h"

static bool list_has(const char **list, const char *name)
{
	size_t i;

	for (i = 0; list != NULL && list[i] != NULL; i++) {
		if (strequal(list[i], name)) {
			return true;
		}
	}
	return false;
}

static int cmd_check(TALLOC_CTX *mem_ctx, struct ipcguard_policy *policy)
{
	const char *problem = NULL;
	unsigned problems = 0;
	size_t i;
	int snum;

	for (i = 0; policy->errors[i] != NULL; i++) {
		printf("ERROR: %s\n", policy->errors[i]);
		problems++;
	}
	if (!list_has(lp_vfs_objects(GLOBAL_SECTION_SNUM), "ipcguard")) {
		printf("ERROR: [global] vfs objects does not list ipcguard: "
		       "IPC$ and every share without its own vfs objects are "
		       "unchecked\n");
		problems++;
	}
	for (snum = 0; snum < lp_numservices(); snum++) {
		if (!lp_snum_ok(snum) ||
		    list_has(lp_vfs_objects(snum), "ipcguard")) {
			continue;
		}
		printf("ERROR: [%s] vfs objects = %s does not list ipcguard: "
		       "anonymous sessions reach this share unchecked\n",
		       lp_const_servicename(snum),
		       str_list_join(mem_ctx, lp_vfs_objects(snum), ' '));
		problems++;
	}
	if (!ipcguard_gate_probe(mem_ctx, &problem)) {
		printf("ERROR: named pipes are not gated: %s; anonymous IPC$ "
		       "is refused\n", problem);
		problems++;
	}
	if (problems == 0) {
		printf("Loaded policy is valid; ipcguardd answers at %s\n",
		       ipcguard_gate_dir(mem_ctx, &problem));
		return 0;
	}
	printf("%u problem%s\n", problems, problems == 1 ? "" : "s");
	return 1;
}

static int cmd_show(struct ipcguard_policy *policy)
{
	size_t i;

	printf("[global]\n");
	for (i = 0; ipcguard_options[i].name != NULL; i++) {
		const char *set = ipcguard_smbconf_option(NULL,
						     ipcguard_options[i].name);

		printf("\tipcguard:%s = %s%s\n", ipcguard_options[i].name,
		       set != NULL ? set : ipcguard_options[i].default_value,
		       set != NULL ? "" : "\t# default");
	}
	if (!ipcguard_policy_is_valid(policy)) {
		printf("# INVALID: anonymous and guest sessions are refused "
		       "everywhere (see ipcguard check)\n");
	}
	return 0;
}

static int cmd_explain(TALLOC_CTX *mem_ctx, struct ipcguard_policy *policy,
		       const char *caller, const char *kind, const char *name,
		       const char *address)
{
	struct sockaddr_storage ss;

	struct ipcguard_request request = { .name = name };
	struct ipcguard_decision decision = { .verdict = IPCGUARD_DENY };
	const char *problem = NULL;

	if (strequal(caller, "anonymous")) {
		request.session = IPCGUARD_SESSION_ANONYMOUS;
	} else if (strequal(caller, "guest")) {
		request.session = IPCGUARD_SESSION_GUEST;
	} else {
		request.session = IPCGUARD_SESSION_AUTHENTICATED;
	}
	if (strequal(kind, "share")) {
		request.object = strequal(name, "IPC$") ?
			IPCGUARD_OBJECT_IPC : IPCGUARD_OBJECT_SHARE;
	} else if (strequal(kind, "pipe")) {
		request.object = IPCGUARD_OBJECT_PIPE;
	} else if (strequal(kind, "ipc")) {
		request.object = IPCGUARD_OBJECT_IPC;
		request.name = "IPC$";
	} else {
		fprintf(stderr, "ipcguard: explain: '%s' is not share, pipe or "
			"ipc\n", kind);
		return 2;
	}
	if (address != NULL && !interpret_string_addr(&ss, address,
						      AI_NUMERICHOST)) {
		fprintf(stderr, "ipcguard: explain: '%s' is not an IPv4 or IPv6 "
			"address\n", address);
		return 2;
	}
	if (request.object == IPCGUARD_OBJECT_IPC) {
		request.pipe_gate_ready = ipcguard_gate_probe(mem_ctx,
							      &problem);
	}
	ipcguard_decide(policy, &request, &decision);
	printf("%s: %s %s '%s' for %s caller%s%s: rule %s: %s%s%s\n",
	       decision.verdict == IPCGUARD_ALLOW ? "ALLOW" : "DENY",
	       decision.verdict == IPCGUARD_ALLOW ? "gets" : "does not get",
	       ipcguard_object_kind_name(request.object), request.name,
	       ipcguard_session_kind_name(request.session),
	       request.session == IPCGUARD_SESSION_AUTHENTICATED ? " " : "",
	       request.session == IPCGUARD_SESSION_AUTHENTICATED ? caller :
	       "", decision.rule, decision.reason,
	       problem != NULL ? ": " : "", problem != NULL ? problem : "");
	if (address != NULL) {
		printf("note: no rule of this policy depends on the client "
		       "address, so %s gets the same answer as any other\n",
		       address);
	}
	if (request.object == IPCGUARD_OBJECT_PIPE &&
	    decision.verdict == IPCGUARD_ALLOW &&
	    ipcguard_strip_everyone(policy, request.session)) {
		printf("note: the RPC server sees this caller's token without "
		       "Everyone (S-1-1-0)\n");
	}
	return decision.verdict == IPCGUARD_ALLOW ? 0 : 1;
}

static int cmd_status(TALLOC_CTX *mem_ctx)
{
	const char *problem = NULL;
	char buf[8192];
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = ipcguard_gate_connect(mem_ctx, &problem);
	if (fd == -1) {
		fprintf(stderr, "ipcguard: status: %s\n", problem);
		return 1;
	}
	while (got < sizeof(buf) - 1 &&
	       (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0) {
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	fputs(buf, stdout);
	return got > 0 ? 0 : 1;
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
		POPT_COMMON_VERSION
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
			       "share|pipe|ipc NAME [from ADDRESS]");
	ret = poptGetNextOpt(pc);
	if (ret != -1) {
		fprintf(stderr, "ipcguard: %s: %s\n", poptBadOption(pc, 0),
			poptStrerror(ret));
		return 2;
	}
	args = talloc_zero_array(frame, const char *, argc + 1);
	while ((arg = poptGetArg(pc)) != NULL) {
		args[nargs++] = talloc_strdup(args, arg);
	}
	poptFreeContext(pc);
	if (nargs == 0) {
		fprintf(stderr, "usage: ipcguard [-s smb.conf] check | show | "
			"status | explain CALLER share|pipe|ipc NAME\n");
		return 2;
	}

	if (!lp_load_with_shares(get_dyn_CONFIGFILE())) {
		fprintf(stderr, "ipcguard: cannot load %s\n",
			get_dyn_CONFIGFILE());
		return 2;
	}
	policy = ipcguard_policy_load(frame, ipcguard_smbconf_option, NULL);
	if (policy == NULL) {
		return 2;
	}
	if (strequal(args[0], "check")) {
		ret = cmd_check(frame, policy);
	} else if (strequal(args[0], "show")) {
		ret = cmd_show(policy);
	} else if (strequal(args[0], "status")) {
		ret = cmd_status(frame);
	} else if (strequal(args[0], "explain") && nargs >= 3) {
		/* explain CALLER ipc | CALLER share|pipe NAME, [from ADDR] */
		size_t fixed = strequal(args[2], "ipc") ? 3 : 4;
		const char *address = NULL;

		if (nargs == fixed + 2 && strequal(args[fixed], "from")) {
			address = args[fixed + 1];
		} else if (nargs != fixed) {
			fprintf(stderr, "usage: ipcguard explain CALLER "
				"share|pipe|ipc [NAME] [from ADDRESS]\n");
			TALLOC_FREE(frame);
			return 2;
		}
		ret = cmd_explain(frame, policy, args[1], args[2],
				  fixed == 4 ? args[3] : "IPC$", address);
	} else {
		fprintf(stderr, "ipcguard: unknown or incomplete command '%s'\n",
			args[0]);
		ret = 2;
	}
	TALLOC_FREE(frame);
	return ret;
}
