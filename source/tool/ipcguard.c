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
#include "ipcguard_ruledb.h"
#include "ipcguard_session.h"
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
	/* A policy in force that is not the configured one is a problem,
	 * however valid. */
	for (i = 0; policy->warnings != NULL && policy->warnings[i] != NULL;
	     i++) {
		printf("ERROR: %s\n", policy->warnings[i]);
		problems++;
	}
	problem = ipcguard_ungated_transports();
	if (problem != NULL) {
		printf("ERROR: %s\n", problem);
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
		       "is refused\n", problem);
		problems++;
	}
	warn_rules_refusing_system(policy);
	warn_rules_missing_pipes(mem_ctx, policy);
	if (problems == 0) {
		printf("Loaded policy is valid (%zu rule%s in %s); ipcguardd "
		       "answers at %s\n", policy->num_rules,
		       policy->num_rules == 1 ? "" : "s",
		       ipcguard_ruledb_path(mem_ctx),
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
	printf("\tipcguard:%s = %s\n", IPCGUARD_OPT_RULE_DATABASE,
	       ipcguard_ruledb_path(talloc_tos()));
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

/* ---- ipcguard rule ------------------------------------------------------ */

/* "field=value" arguments into rule fields; a field given twice gets
 * both values. */
static struct ipcguard_rule_field *fields_from_args(TALLOC_CTX *mem_ctx,
						    const char **args,
						    size_t nargs)
{
	struct ipcguard_rule_field *fields = NULL;
	size_t n = 0;
	size_t i, j;

	fields = talloc_zero_array(mem_ctx, struct ipcguard_rule_field,
				   nargs + 1);
	for (i = 0; fields != NULL && i < nargs; i++) {
		const char *eq = strchr(args[i], '=');
		char *name = NULL;
		size_t nv;

		if (eq == NULL || eq == args[i]) {
			fprintf(stderr, "ipcguard: rule add: \"%s\" is not "
				"FIELD=VALUE\n", args[i]);
			return NULL;
		}
		name = talloc_strndup(fields, args[i], eq - args[i]);
		for (j = 0; name != NULL && j < n; j++) {
			if (strequal(fields[j].name, name)) {
				break;
			}
		}
		if (name == NULL) {
			return NULL;
		}
		if (j == n) {
			fields[n].name = name;
			fields[n].values = talloc_zero_array(fields,
							     const char *, 1);
			n++;
		}
		nv = talloc_array_length(fields[j].values);
		fields[j].values = talloc_realloc(fields, fields[j].values,
						  const char *, nv + 1);
		if (fields[j].values == NULL) {
			return NULL;
		}
		fields[j].values[nv - 1] = eq + 1;
		fields[j].values[nv] = NULL;
	}
	return fields;
}

static void report_change(const char *done, const char *preposition,
			  const char *name, const char *path)
{
	printf("%s rule %s %s %s; reload the configuration (smbcontrol smbd "
	       "reload-config; smbcontrol ipcguardd reload-config) to apply "
	       "it\n", done, name, preposition, path);
}

static int cmd_rule(TALLOC_CTX *mem_ctx, struct ipcguard_policy *policy,
		    const char **args, size_t nargs)
{
	char *path = ipcguard_ruledb_path(mem_ctx);
	char *error = NULL;
	size_t i;

	if (path == NULL) {
		return 2;
	}
	if (nargs == 1 && strequal(args[0], "list")) {
		for (i = 0; i < policy->num_rules; i++) {
			const struct ipcguard_rule *r = policy->rules[i];

			printf("%-24s order %-6u %-5s%s%s%s\n", r->name,
			       r->order, r->allow ? "allow" : "deny",
			       r->audit_only ? " (audit only)" : "",
			       r->description[0] != '\0' ? "  " : "",
			       r->description);
		}
		for (i = 0; policy->errors[i] != NULL; i++) {
			printf("ERROR: %s\n", policy->errors[i]);
		}
		for (i = 0; policy->warnings != NULL &&
			    policy->warnings[i] != NULL; i++) {
			printf("ERROR: %s\n", policy->warnings[i]);
		}
		return policy->errors[0] == NULL &&
		       (policy->warnings == NULL ||
			policy->warnings[0] == NULL) ? 0 : 1;
	}
	if (nargs == 2 && strequal(args[0], "show")) {
		for (i = 0; i < policy->num_rules; i++) {
			if (strequal(policy->rules[i]->name, args[1])) {
				fputs(ipcguard_rule_text(mem_ctx,
							 policy->rules[i]),
				      stdout);
				return 0;
			}
		}
		fprintf(stderr, "ipcguard: rule show: there is no valid rule "
			"'%s' in %s\n", args[1], path);
		return 1;
	}
	if (nargs == 2 && strequal(args[0], "delete")) {
		if (!ipcguard_ruledb_delete(mem_ctx, path, args[1], &error)) {
			fprintf(stderr, "ipcguard: rule delete: %s\n", error);
			return 1;
		}
		report_change("Deleted", "from", args[1], path);
		return 0;
	}
	if (nargs >= 3 && strequal(args[0], "add")) {
		struct ipcguard_rule_field *fields = NULL;
		struct ipcguard_rule *rule = NULL;

		fields = fields_from_args(mem_ctx, &args[2], nargs - 2);
		if (fields == NULL) {
			return 2;
		}
		rule = ipcguard_rule_parse(mem_ctx, args[1], fields,
					   &ipcguard_samba_rule_hooks, &error);
		if (rule == NULL) {
			fprintf(stderr, "ipcguard: rule add: %s\n", error);
			return 1;
		}
		/* A new database would replace the rules in force with
		 * this one rule at the next reload. */
		if (policy->warnings != NULL && policy->warnings[0] != NULL &&
		    !file_exist(path)) {
			fprintf(stderr, "ipcguard: rule add: %s; restore it "
				"first (cp %s %s) or remove the copy\n",
				policy->warnings[0],
				ipcguard_ruledb_kept_path(mem_ctx), path);
			return 1;
		}
		if (!ipcguard_ruledb_add(mem_ctx, path, rule, &error)) {
			fprintf(stderr, "ipcguard: rule add: %s\n", error);
			return 1;
		}
		report_change("Added", "to", args[1], path);
		return 0;
	}
	fprintf(stderr, "usage: ipcguard rule list | show NAME | delete NAME "
		"| add NAME FIELD=VALUE...\n");
	return 2;
}

struct explain_args {
	const char *caller;
	const char *kind;
	const char *name;
	const char *address;
	const char *interface;
	const char *opnum;
	const char *sids;
};

/*
 * The interface and opnum to explain, parsed as a rule would parse them,
 * so explain accepts exactly what "rule add" accepts.
 */
static bool explain_syntax(TALLOC_CTX *mem_ctx, const struct explain_args *a,
			   struct ipcguard_request *request)
{
	const char *pipe[] = { "*", NULL };
	const char *allow[] = { "allow", NULL };
	const char *iface[] = { a->interface, NULL };
	const char *op[] = { a->opnum, NULL };
	struct ipcguard_rule_field fields[] = {
		{ IPCGUARD_RULE_ACTION, allow },
		{ IPCGUARD_RULE_PIPE, pipe },
		{ IPCGUARD_RULE_INTERFACE, iface },
		{ a->opnum != NULL ? IPCGUARD_RULE_OPNUM : NULL, op },
		{ NULL, NULL },
	};
	struct ipcguard_rule *probe = NULL;
	char *error = NULL;

	probe = ipcguard_rule_parse(mem_ctx, "explain", fields,
				    &ipcguard_samba_rule_hooks, &error);
	if (probe == NULL || probe->interfaces[0].any ||
	    (probe->num_opnums > 0 &&
	     probe->opnums[0].first != probe->opnums[0].last)) {
		fprintf(stderr, "ipcguard: explain: %s\n", probe == NULL ?
			error : "give one interface and one opnum");
		return false;
	}
	request->syntax = probe->interfaces[0].syntax;
	request->stage = IPCGUARD_STAGE_BIND;
	if (probe->num_opnums > 0) {
		request->opnum = probe->opnums[0].first;
		request->stage = IPCGUARD_STAGE_REQUEST;
	}
	return true;
}

/* The caller's token: the SIDs given, or an anonymous logon's. */
static struct security_token *explain_token(TALLOC_CTX *mem_ctx,
					    const struct explain_args *a,
					    const struct ipcguard_policy *policy,
					    enum ipcguard_session_kind kind)
{
	const char *list = a->sids;
	struct security_token *token = NULL;
	char **sids = NULL;
	size_t i;

	if (list == NULL && kind != IPCGUARD_SESSION_ANONYMOUS) {
		return NULL;
	}
	if (list == NULL) {
		list = "S-1-5-7,S-1-1-0,S-1-5-2";
	}
	sids = str_list_make(mem_ctx, list, ", ");
	token = talloc_zero(mem_ctx, struct security_token);
	if (sids == NULL || token == NULL) {
		return NULL;
	}
	token->sids = talloc_zero_array(token, struct dom_sid,
					str_list_length((const char **)sids));
	for (i = 0; token->sids != NULL && sids[i] != NULL; i++) {
		if (!string_to_sid(&token->sids[i], sids[i])) {
			fprintf(stderr, "ipcguard: explain: '%s' is not a "
				"SID\n", sids[i]);
			return NULL;
		}
		token->num_sids++;
	}
	if (ipcguard_strip_everyone(policy, kind)) {
		(void)ipcguard_token_remove_everyone(token);
	}
	return token;
}

static int cmd_explain(TALLOC_CTX *mem_ctx, struct ipcguard_policy *policy,
		       const struct explain_args *a)
{
	struct ipcguard_request request = { .name = a->name };
	struct ipcguard_decision decision = { .verdict = IPCGUARD_DENY };
	struct ipcguard_address address;
	const char *problem = NULL;
	char *what = NULL;

	if (strequal(a->caller, "anonymous")) {
		request.session = IPCGUARD_SESSION_ANONYMOUS;
	} else if (strequal(a->caller, "guest")) {
		request.session = IPCGUARD_SESSION_GUEST;
	} else {
		request.session = IPCGUARD_SESSION_AUTHENTICATED;
	}
	if (strequal(a->kind, "share")) {
		request.object = strequal(a->name, "IPC$") ?
			IPCGUARD_OBJECT_IPC : IPCGUARD_OBJECT_SHARE;
	} else if (strequal(a->kind, "pipe")) {
		request.object = IPCGUARD_OBJECT_PIPE;
	} else if (strequal(a->kind, "ipc")) {
		request.object = IPCGUARD_OBJECT_IPC;
		request.name = "IPC$";
	} else {
		fprintf(stderr, "ipcguard: explain: '%s' is not share, pipe or "
			"ipc\n", a->kind);
		return 2;
	}
	if (a->address != NULL) {
		if (!ipcguard_address_parse(a->address, &address, NULL)) {
			fprintf(stderr, "ipcguard: explain: '%s' is not an "
				"IPv4 or IPv6 address\n", a->address);
			return 2;
		}
		request.address = &address;
	}
	if (a->opnum != NULL && a->interface == NULL) {
		fprintf(stderr, "ipcguard: explain: an opnum needs an "
			"interface\n");
		return 2;
	}
	if (a->interface != NULL &&
	    (request.object != IPCGUARD_OBJECT_PIPE ||
	     !explain_syntax(mem_ctx, a, &request))) {
		if (request.object != IPCGUARD_OBJECT_PIPE) {
			fprintf(stderr, "ipcguard: explain: interfaces are "
				"reached through pipes\n");
		}
		return 2;
	}
	if (a->sids != NULL || request.session == IPCGUARD_SESSION_ANONYMOUS) {
		request.token = explain_token(mem_ctx, a, policy,
					      request.session);
		if (request.token == NULL && a->sids != NULL) {
			return 2;
		}
		request.local_system = request.token != NULL &&
			security_token_has_sid(request.token,
					       &global_sid_System);
	}
	if (request.object == IPCGUARD_OBJECT_IPC) {
		request.pipe_gate_ready = ipcguard_gate_probe(
			mem_ctx, policy->gate_probe_timeout, &problem);
	}
	/* Binds and requests happen on a pipe the caller could open. */
	if (request.stage != IPCGUARD_STAGE_OPEN) {
		struct ipcguard_request open = request;

		open.stage = IPCGUARD_STAGE_OPEN;
		ipcguard_decide(policy, &open, &decision);
	}
	if (request.stage == IPCGUARD_STAGE_REQUEST &&
	    decision.verdict == IPCGUARD_ALLOW) {
		struct ipcguard_request bind = request;

		bind.stage = IPCGUARD_STAGE_BIND;
		ipcguard_decide(policy, &bind, &decision);
	}
	if (request.stage == IPCGUARD_STAGE_OPEN ||
	    decision.verdict == IPCGUARD_ALLOW) {
		ipcguard_decide(policy, &request, &decision);
	}
	what = talloc_asprintf(mem_ctx, "%s '%s'",
			       ipcguard_object_kind_name(request.object),
			       request.name);
	if (request.stage != IPCGUARD_STAGE_OPEN) {
		const char *op = ipcguard_opnum_name(&request.syntax,
						     request.opnum);

		what = talloc_asprintf_append_buffer(
			what, " interface %s",
			ipcguard_syntax_name(mem_ctx, &request.syntax));
		if (request.stage == IPCGUARD_STAGE_REQUEST) {
			what = talloc_asprintf_append_buffer(
				what, " opnum %u (%s)",
				(unsigned)request.opnum,
				op != NULL ? op : "unknown");
		}
	}
	printf("%s: %s %s for %s caller%s%s: rule %s: %s%s%s\n",
	       decision.verdict == IPCGUARD_ALLOW ? "ALLOW" : "DENY",
	       decision.verdict == IPCGUARD_ALLOW ? "gets" : "does not get",
	       what, ipcguard_session_kind_name(request.session),
	       request.session == IPCGUARD_SESSION_AUTHENTICATED ? " " : "",
	       request.session == IPCGUARD_SESSION_AUTHENTICATED ?
	       a->caller : "", decision.rule, decision.reason,
	       problem != NULL ? ": " : "", problem != NULL ? problem : "");
	if (decision.by_rule != NULL &&
	    decision.pipe_match == IPCGUARD_PIPE_ALIAS) {
		printf("note: rule %s names pipe %s; \\%s is another name of "
		       "the same RPC endpoint, so the rule holds there too\n",
		       decision.by_rule->name, decision.pipe_listed,
		       request.name);
	}
	if (decision.by_rule != NULL &&
	    decision.pipe_match == IPCGUARD_PIPE_CARRIER) {
		printf("note: rule %s names pipe %s, one of the pipes of "
		       "interface %s; \\%s carries that interface too, so the "
		       "rule holds there as well\n", decision.by_rule->name,
		       decision.pipe_listed,
		       ipcguard_syntax_name(mem_ctx, &request.syntax),
		       request.name);
	}
	if (request.object == IPCGUARD_OBJECT_PIPE &&
	    decision.verdict == IPCGUARD_DENY &&
	    strcmp(decision.rule, "null-session-pipes") == 0) {
		size_t i;

		for (i = 0; policy->null_session_pipes[i] != NULL; i++) {
			const char *listed = policy->null_session_pipes[i];

			if (!ipcguard_pipe_is_alias(listed, request.name)) {
				continue;
			}
			printf("note: the anonymous pipe list names %s, another "
			       "name of \\%s; the list holds exact names, as "
			       "Windows' NullSessionPipes does\n", listed,
			       request.name);
		}
	}
	if (decision.audit_rule != NULL) {
		printf("note: rule %s (audit only) would %s it\n",
		       decision.audit_rule->name,
		       decision.audit_rule->allow ? "allow" : "refuse");
	}
	if (a->address != NULL && policy->num_rules == 0) {
		printf("note: no rule of this policy depends on the client "
		       "address, so %s gets the same answer as any other\n",
		       a->address);
	}
	if (request.token == NULL && policy->num_rules > 0) {
		printf("note: rules with a security descriptor were judged "
		       "without a token; give the caller's SIDs with "
		       "'sids S-1-...,S-1-...'\n");
	}
	if (request.object == IPCGUARD_OBJECT_PIPE &&
	    decision.verdict == IPCGUARD_ALLOW &&
	    ipcguard_strip_everyone(policy, request.session)) {
		printf("note: the RPC server sees this caller's token without "
		       "Everyone (S-1-1-0)\n");
	}
	return decision.verdict == IPCGUARD_ALLOW ? 0 : 1;
}

/* How long "ipcguard status" waits for the gate's figures. */
#define IPCGUARD_STATUS_TIMEOUT_MS 15000

static int cmd_status(TALLOC_CTX *mem_ctx,
		      const struct ipcguard_policy *policy)
{
	const char *problem = NULL;
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

	fd = ipcguard_gate_connect(mem_ctx, timeout, &problem);
	if (fd == -1) {
		fprintf(stderr, "ipcguard: status: %s\n", problem);
		return 1;
	}
	while (got < sizeof(buf) - 1 &&
	       (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0) {
		got += n;
	}
	close(fd);
	if (got == 0) {
		fprintf(stderr, "ipcguard: status: ipcguardd accepted the "
			"connection but sent nothing within %u ms\n",
			timeout);
		return 1;
	}
	buf[got] = '\0';
	fputs(buf, stdout);
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
			       "share|pipe|ipc NAME [from ADDRESS] "
			       "[interface IFACE [opnum N]] [sids SID,...] | "
			       "rule list | show NAME | delete NAME | "
			       "add NAME FIELD=VALUE...");
	ret = poptGetNextOpt(pc);
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
			"rule list|show|delete|add\n");
		return 2;
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
		/* explain CALLER ipc | CALLER share|pipe NAME, then
		 * keyword-value pairs */
		struct explain_args a = {
			.caller = args[1],
			.kind = args[2],
			.name = "IPC$",
		};
		size_t i = strequal(args[2], "ipc") ? 3 : 4;

		if (i == 4 && nargs >= 4) {
			a.name = args[3];
		}
		for (ret = (i <= nargs) ? 0 : 2; ret == 0 && i < nargs;
		     i += 2) {
			const char **slot = NULL;

			if (strequal(args[i], "from")) {
				slot = &a.address;
			} else if (strequal(args[i], "interface")) {
				slot = &a.interface;
			} else if (strequal(args[i], "opnum")) {
				slot = &a.opnum;
			} else if (strequal(args[i], "sids")) {
				slot = &a.sids;
			}
			if (slot == NULL || i + 1 >= nargs) {
				ret = 2;
				break;
			}
			*slot = args[i + 1];
		}
		if (ret != 0) {
			fprintf(stderr, "usage: ipcguard explain CALLER "
				"share|pipe|ipc [NAME] [from ADDRESS] "
				"[interface IFACE [opnum N]] [sids SID,...]\n");
			TALLOC_FREE(frame);
			return 2;
		}
		ret = cmd_explain(frame, policy, &a);
	} else {
		fprintf(stderr, "ipcguard: unknown or incomplete command '%s'\n",
			args[0]);
		ret = 2;
	}
	TALLOC_FREE(frame);
	return ret;
}
