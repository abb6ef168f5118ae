/*
 * ipcguard explain: would a caller get a share, IPC$, a pipe, an
 * interface or an operation, and which rule decides.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include "includes.h"

#include "ipcguard_tool.h"
#include "ipcguard_gate_probe.h"
#include "ipcguard_session.h"
#include "ipcguard_samba_hooks.h"
#include "libcli/security/security.h"

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
	ipcguard_judge(policy, &request, IPCGUARD_STAGE_OPEN, &decision, NULL,
		       NULL);
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

int cmd_explain_args(TALLOC_CTX *mem_ctx, struct ipcguard_policy *policy,
		     const char **args, size_t nargs)
{
	/* explain CALLER ipc | CALLER share|pipe NAME, then
	 * keyword-value pairs */
	struct explain_args a = {
		.caller = args[1],
		.kind = args[2],
		.name = "IPC$",
	};
	size_t i = strequal(args[2], "ipc") ? 3 : 4;
	int ret;

	if (i == 4 && nargs >= 4) {
		a.name = args[3];
	}
	for (ret = (i <= nargs) ? 0 : 2; ret == 0 && i < nargs; i += 2) {
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
		return 2;
	}
	return cmd_explain(mem_ctx, policy, &a);
}
