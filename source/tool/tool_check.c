/*
 * ipcguard check, show and status: the policy in force and the gate
 * that enforces it, reported to an admin.
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

#include "ipcguard_tool.h"
#include "ipcguard_gate_probe.h"
#include "ipcguard_smbconf.h"
#include "ipcguard_ruledb.h"
#include "libcli/security/security.h"

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

/*
 * Samba's RPC servers call each other through the gated pipes as
 * NT AUTHORITY\SYSTEM; a deny rule whose descriptor leaves SYSTEM out
 * refuses them too, which can stall samba-dcerpcd.  Worth a warning, not
 * an error: an admin may mean it.
 */
static void warn_rules_refusing_system(const struct ipcguard_policy *policy)
{
	struct security_token system = { .num_sids = 1 };
	struct dom_sid sid = global_sid_System;
	size_t i;

	system.sids = &sid;
	for (i = 0; i < policy->num_rules; i++) {
		const struct ipcguard_rule *r = policy->rules[i];

		if (r->allow || r->sd == NULL || r->pipes == NULL ||
		    policy->hooks->access_check(r->sd, &system, r->access)) {
			continue;
		}
		printf("WARNING: rule %s refuses SYSTEM (S-1-5-18), as which "
		       "Samba's own RPC servers call each other; add "
		       "(A;;GA;;;SY) to its sddl unless that is meant\n",
		       r->name);
	}
}

/*
 * A deny rule about an interface follows it from the interface's own pipes
 * to every pipe that carries it, not the other way: one that names only
 * \netlogon for lsarpc leaves \lsarpc and \lsass open.  Legitimate, so a
 * warning, naming what is missed.
 */
static void warn_rules_missing_pipes(TALLOC_CTX *mem_ctx,
				     const struct ipcguard_policy *policy)
{
	size_t i;

	for (i = 0; i < policy->num_rules; i++) {
		const struct ipcguard_rule *r = policy->rules[i];
		char *missed = NULL;

		if (r->allow) {
			continue;
		}
		missed = ipcguard_rule_missed_pipes(mem_ctx, r);
		if (missed == NULL) {
			continue;
		}
		printf("WARNING: rule %s does not hold for %s: add one of "
		       "those pipes to its pipe field unless that is meant\n",
		       r->name, missed);
	}
}

/* How long "ipcguard status" waits for the gate's figures. */
#define IPCGUARD_STATUS_TIMEOUT_MS 15000

/* The gate's status text, or NULL with *problem set. */
static char *gate_status_text(TALLOC_CTX *mem_ctx,
			      const struct ipcguard_policy *policy,
			      const char **problem)
{
	char buf[65536];
	size_t got = 0;
	ssize_t n;
	int fd;

	/*
	 * An admin asking for figures can wait longer than a tree connect:
	 * a gate in the middle of a reload answers when it is done.
	 */
	unsigned timeout = MAX(policy->gate_probe_timeout,
			       IPCGUARD_STATUS_TIMEOUT_MS);

	fd = ipcguard_gate_connect(mem_ctx, timeout, problem);
	if (fd == -1) {
		return NULL;
	}
	while (got < sizeof(buf) - 1 &&
	       (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0) {
		got += n;
	}
	close(fd);
	if (got == 0) {
		*problem = talloc_asprintf(mem_ctx, "ipcguardd accepted the "
					   "connection but sent nothing "
					   "within %u ms", timeout);
		return NULL;
	}
	return talloc_strndup(mem_ctx, buf, got);
}

/*
 * With a TCP door configured, whether the running gate has it open in
 * front of Samba's ports; the gate's own words if not.
 */
static unsigned check_tcp_door(TALLOC_CTX *mem_ctx,
			       const struct ipcguard_policy *policy)
{
	const char *problem = NULL;
	char *text = NULL, *line = NULL, *save = NULL;
	unsigned problems = 0;
	bool open = false;

	if (policy->tcp_door_port == 0) {
		return 0;
	}
	text = gate_status_text(mem_ctx, policy, &problem);
	for (line = text != NULL ? strtok_r(text, "\n", &save) : NULL;
	     line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "tcp_door=", 9) == 0) {
			open = true;
		} else if (strncmp(line, "problem=the TCP door", 20) == 0) {
			printf("ERROR: %s: anonymous callers over ncacn_ip_tcp "
			       "get Samba's own rules\n", line + 8);
			problems++;
		}
	}
	if (text != NULL && !open) {
		printf("ERROR: ipcguard:tcp door port = %u, but the running "
		       "ipcguardd has no TCP door (reload it): anonymous "
		       "callers over ncacn_ip_tcp get Samba's own rules\n",
		       policy->tcp_door_port);
		problems++;
	}
	return problems;
}

int cmd_check(TALLOC_CTX *mem_ctx, struct ipcguard_policy *policy)
{
	const char *problem = NULL;
	unsigned problems = 0;
	size_t i;
	int snum;

	for (i = 0; policy->errors[i] != NULL; i++) {
		printf("ERROR: %s\n", policy->errors[i]);
		problems++;
	}
	/* A policy in force that is not the configured one is a problem,
	 * however valid. */
	for (i = 0; policy->warnings != NULL && policy->warnings[i] != NULL;
	     i++) {
		printf("ERROR: %s\n", policy->warnings[i]);
		problems++;
	}
	problem = ipcguard_ungated_transports(policy->tcp_door_port);
	if (problem != NULL) {
		printf("ERROR: %s\n", problem);
		problems++;
	}
	if (policy->tcp_door_port != 0 &&
	    lp_map_to_guest() != NEVER_MAP_TO_GUEST) {
		printf("ERROR: map to guest is not \"never\" and a TCP "
		       "door is set: the gate cannot tell a guest logon over "
		       "TCP from a user's, so guests get users' answers "
		       "there; set map to guest = never\n");
		problems++;
	}
	if (!list_has(lp_vfs_objects(GLOBAL_SECTION_SNUM), "ipcguard")) {
		printf("ERROR: [global] vfs objects does not list ipcguard: "
		       "IPC$ and every share without its own vfs objects are "
		       "unchecked\n");
		problems++;
	}
	for (snum = 0; snum < lp_numservices(); snum++) {
		const char **vfs = NULL;

		if (!lp_snum_ok(snum) ||
		    list_has(lp_vfs_objects(snum), "ipcguard")) {
			continue;
		}
		/* Neither the share nor [global] may set any. */
		vfs = lp_vfs_objects(snum);
		if (vfs == NULL || vfs[0] == NULL) {
			printf("ERROR: [%s] has no vfs objects: anonymous "
			       "sessions reach this share unchecked\n",
			       lp_const_servicename(snum));
		} else {
			printf("ERROR: [%s] vfs objects = %s does not list "
			       "ipcguard: anonymous sessions reach this share "
			       "unchecked\n", lp_const_servicename(snum),
			       str_list_join(mem_ctx, vfs, ' '));
		}
		problems++;
	}
	if (!ipcguard_gate_probe(mem_ctx, policy->gate_probe_timeout,
				 &problem)) {
		printf("ERROR: named pipes are not gated: %s; anonymous IPC$ "
		       "is refused, and %s\n", problem,
		       ipcguard_gate_down_breaks());
		problems++;
	} else {
		problems += check_tcp_door(mem_ctx, policy);
	}
	warn_rules_refusing_system(policy);
	warn_rules_missing_pipes(mem_ctx, policy);
	if (problems == 0) {
		printf("Loaded policy is valid (%zu rule%s in %s); ipcguardd "
		       "answers at %s\n", policy->num_rules,
		       policy->num_rules == 1 ? "" : "s",
		       policy->rule_database,
		       ipcguard_gate_dir(mem_ctx, &problem));
		return 0;
	}
	printf("%u problem%s\n", problems, problems == 1 ? "" : "s");
	return 1;
}

int cmd_show(struct ipcguard_policy *policy)
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
	printf("\tipcguard:%s = %s\n", IPCGUARD_OPT_RULE_DATABASE,
	       policy->rule_database);
	for (i = 0; i < policy->num_rules; i++) {
		printf("\n%s", ipcguard_rule_text(talloc_tos(),
						  policy->rules[i]));
	}
	if (!ipcguard_policy_is_valid(policy)) {
		printf("# INVALID: anonymous and guest sessions are refused "
		       "everywhere (see ipcguard check)\n");
	}
	for (i = 0; policy->warnings != NULL && policy->warnings[i] != NULL;
	     i++) {
		printf("# PROBLEM: %s\n", policy->warnings[i]);
	}
	return 0;
}

int cmd_status(TALLOC_CTX *mem_ctx,
		      const struct ipcguard_policy *policy)
{
	const char *problem = NULL;
	char *text = gate_status_text(mem_ctx, policy, &problem);

	if (text == NULL) {
		fprintf(stderr, "ipcguard: status: %s; %s\n", problem,
			ipcguard_gate_down_breaks());
		return 1;
	}
	fputs(text, stdout);
	return 0;
}

