/*
 * ipcguard policy engine: decisions.  Every verdict the module, the
 * gate and the tool act on is made here, and names the rule that made
 * it.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <string.h>
#include <strings.h>

#include "ipcguard_policy.h"

static bool list_empty(const char * const *list)
{
	return list == NULL || list[0] == NULL;
}

static void set(struct ipcguard_decision *d, enum ipcguard_verdict verdict,
		const char *rule, const char *reason)
{
	d->verdict = verdict;
	d->rule = rule;
	d->reason = reason;
}

/*
 * Whether anything is marked for anonymous use: a list entry, or an allow
 * rule that can apply to anonymous callers.
 */
static bool anonymous_marked(const struct ipcguard_policy *policy,
			     bool pipes)
{
	size_t i;

	if (!list_empty(pipes ? policy->null_session_pipes :
			policy->null_session_shares)) {
		return true;
	}
	for (i = 0; i < policy->num_rules; i++) {
		const struct ipcguard_rule *r = policy->rules[i];

		if (r->allow && !r->audit_only &&
		    (pipes ? r->pipes : r->shares) != NULL &&
		    (r->sessions == 0 ||
		     (r->sessions & (1u << IPCGUARD_SESSION_ANONYMOUS)))) {
			return true;
		}
	}
	return false;
}

static void decide_builtin(const struct ipcguard_policy *policy,
			   const struct ipcguard_request *request,
			   struct ipcguard_decision *d)
{
	if (!ipcguard_session_is_restricted(policy, request->session)) {
		if (request->session == IPCGUARD_SESSION_GUEST) {
			set(d, IPCGUARD_ALLOW, "guest-is-anonymous",
			    "guest sessions are exempt from the anonymous "
			    "rules");
		} else {
			set(d, IPCGUARD_ALLOW, "authenticated",
			    "authenticated sessions are not restricted");
		}
		return;
	}
	if (!anonymous_marked(policy, false) &&
	    !anonymous_marked(policy, true)) {
		set(d, IPCGUARD_DENY, "auto-disable",
		    "no share or pipe is marked for anonymous use, so "
		    "anonymous access is disabled");
		return;
	}

	switch (request->object) {
	case IPCGUARD_OBJECT_SHARE:
		if (!policy->restrict_null_session_access) {
			set(d, IPCGUARD_ALLOW, "restrict-null-session-access",
			    "anonymous sessions are not restricted to the "
			    "lists");
		} else if (ipcguard_name_listed(policy->null_session_shares,
					 request->name)) {
			set(d, IPCGUARD_ALLOW, "null-session-shares",
			    "the share is listed for anonymous use");
		} else {
			set(d, IPCGUARD_DENY, "null-session-shares",
			    "the share is not listed for anonymous use");
		}
		return;
	case IPCGUARD_OBJECT_IPC:
		if (request->smb1 &&
		    policy->network_access.restrict_anonymous) {
			set(d, IPCGUARD_DENY, IPCGUARD_RULE_RESTRICT_ANONYMOUS,
			    "anonymous SMB1 sessions could list shares with "
			    "RAP, which smbd answers without the gate");
		} else if (!request->pipe_gate_ready) {
			set(d, IPCGUARD_DENY, "pipe-gate",
			    "named pipes do not pass through a running "
			    "ipcguardd, so the pipe list cannot be enforced");
		} else if (!policy->restrict_null_session_access) {
			set(d, IPCGUARD_ALLOW, "restrict-null-session-access",
			    "anonymous sessions are not restricted to the "
			    "lists");
		} else if (!anonymous_marked(policy, true)) {
			set(d, IPCGUARD_DENY, "null-session-pipes",
			    "no pipe is listed for anonymous use");
		} else {
			set(d, IPCGUARD_ALLOW, "null-session-pipes",
			    "pipes are listed for anonymous use");
		}
		return;
	case IPCGUARD_OBJECT_PIPE:
		if (!policy->restrict_null_session_access) {
			set(d, IPCGUARD_ALLOW, "restrict-null-session-access",
			    "anonymous sessions are not restricted to the "
			    "lists");
		} else if (ipcguard_name_listed(policy->null_session_pipes,
					 request->name)) {
			set(d, IPCGUARD_ALLOW, "null-session-pipes",
			    "the pipe is listed for anonymous use");
		} else {
			set(d, IPCGUARD_DENY, "null-session-pipes",
			    "the pipe is not listed for anonymous use");
		}
		return;
	}
	set(d, IPCGUARD_DENY, "invalid-request", "unknown object kind");
}

bool ipcguard_remote_registry_restricts(const struct ipcguard_policy *policy,
					const struct ipcguard_request *request)
{
	const struct ipcguard_remote_registry *r = NULL;

	if (policy == NULL || request == NULL ||
	    request->object != IPCGUARD_OBJECT_PIPE ||
	    request->stage != IPCGUARD_STAGE_REQUEST) {
		return false;
	}
	r = &policy->remote_registry;
	if (r->access_sddl == NULL || request->local_system) {
		return false;
	}
	if (!ipcguard_registry_is_winreg(request->syntax.uuid)) {
		return false;
	}
	/* No descriptor (an error, or no hooks): nobody is granted. */
	return r->sd == NULL || request->token == NULL ||
	       policy->hooks == NULL || policy->hooks->access_check == NULL ||
	       !policy->hooks->access_check(r->sd, request->token,
					    IPCGUARD_ACCESS_READ_CONTROL);
}

void ipcguard_decide_pipe_limit(const struct ipcguard_policy *policy,
				enum ipcguard_session_kind session,
				unsigned open_in_session,
				unsigned open_from_address,
				struct ipcguard_decision *d)
{
	bool restricted = ipcguard_session_is_restricted(policy, session);
	/* No policy: the defaults of a freshly loaded one. */
	unsigned per_session = restricted ? IPCGUARD_DEFAULT_ANON_PER_SESSION :
		IPCGUARD_DEFAULT_PER_SESSION;
	unsigned per_address = restricted ? IPCGUARD_DEFAULT_ANON_PER_ADDRESS :
		IPCGUARD_DEFAULT_PER_ADDRESS;

	d->by_rule = NULL;
	d->audit_rule = NULL;
	if (policy != NULL) {
		per_session = restricted ?
			policy->max_pipes_per_anonymous_session :
			policy->max_pipes_per_session;
		per_address = restricted ?
			policy->max_anonymous_pipes_per_address :
			policy->max_pipes_per_address;
	}
	if (per_session != 0 && open_in_session >= per_session) {
		set(d, IPCGUARD_DENY, "pipe-limit", restricted ?
		    "the session holds as many pipes as 'ipcguard:"
		    IPCGUARD_OPT_MAX_PIPES_PER_ANONYMOUS_SESSION "' allows" :
		    "the session holds as many pipes as 'ipcguard:"
		    IPCGUARD_OPT_MAX_PIPES_PER_SESSION "' allows");
		return;
	}
	if (per_address != 0 && open_from_address >= per_address) {
		set(d, IPCGUARD_DENY, "pipe-limit", restricted ?
		    "anonymous sessions from the client's address hold as "
		    "many pipes as 'ipcguard:"
		    IPCGUARD_OPT_MAX_ANONYMOUS_PIPES_PER_ADDRESS "' allows" :
		    "authenticated sessions from the client's address hold "
		    "as many pipes as 'ipcguard:"
		    IPCGUARD_OPT_MAX_PIPES_PER_ADDRESS "' allows");
		return;
	}
	set(d, IPCGUARD_ALLOW, "pipe-limit",
	    "the session and its address are within their pipe bounds");
}

/*
 * A rule of the database that applies decides, unless it is audit-only:
 * then the first such rule is noted and the next rules are looked at.
 */
static bool rule_decides(const struct ipcguard_policy *policy,
			 const struct ipcguard_rule *rule,
			 const struct ipcguard_request *request, bool guests,
			 struct ipcguard_decision *d)
{
	enum ipcguard_pipe_match match;
	const char *listed = NULL;

	if (!ipcguard_rule_applies(rule, request, guests, policy->hooks,
				   &match, &listed)) {
		return false;
	}
	if (rule->audit_only) {
		if (d->audit_rule == NULL) {
			d->audit_rule = rule;
		}
		return false;
	}
	set(d, rule->allow ? IPCGUARD_ALLOW : IPCGUARD_DENY,
	    rule->name, rule->allow ?
	    "a rule of the rule database allows it" :
	    "a rule of the rule database refuses it");
	d->by_rule = rule;
	d->pipe_match = match;
	d->pipe_listed = listed;
	return true;
}

/*
 * The database's rules in order, the first that applies deciding.  The
 * index skips the rules that cannot apply to this request; without it
 * (out of memory) every rule is looked at, to the same result.
 */
static bool decide_by_rules(const struct ipcguard_policy *policy,
			    const struct ipcguard_request *request,
			    bool guests, struct ipcguard_decision *d)
{
	const struct ipcguard_rule_slot *slots = NULL;
	struct ipcguard_rule_probe probe;
	size_t num_slots;
	size_t i;

	if (!ipcguard_rule_index_valid(policy->rule_index, policy->rules,
				       policy->num_rules)) {
		for (i = 0; i < policy->num_rules; i++) {
			if (rule_decides(policy, policy->rules[i], request,
					 guests, d)) {
				return true;
			}
		}
		return false;
	}
	slots = ipcguard_rule_index_lookup(policy->rule_index, request,
					   &probe, &num_slots);
	for (i = 0; i < num_slots; i++) {
		if (ipcguard_rule_slot_may_apply(&slots[i], &probe) &&
		    rule_decides(policy, slots[i].rule, request, guests, d)) {
			return true;
		}
	}
	return false;
}

static void decide_by_policy(const struct ipcguard_policy *policy,
			     const struct ipcguard_request *request,
			     struct ipcguard_decision *d)
{
	bool guests;
	size_t i;

	d->by_rule = NULL;
	d->audit_rule = NULL;
	d->pipe_match = IPCGUARD_PIPE_NO_MATCH;
	d->pipe_listed = NULL;
	if (request == NULL) {
		set(d, IPCGUARD_DENY, "invalid-request", "no request given");
		return;
	}
	if (request->no_session) {
		set(d, IPCGUARD_DENY, "invalid-request",
		    "the handshake carries no session");
		return;
	}
	if (ipcguard_session_is_restricted(policy, request->session) &&
	    !ipcguard_policy_is_valid(policy)) {
		set(d, IPCGUARD_DENY, "invalid-policy",
		    "the ipcguard policy is invalid, so anonymous access is "
		    "refused");
		return;
	}
	guests = ipcguard_session_is_restricted(policy,
						IPCGUARD_SESSION_GUEST);
	if (policy != NULL && decide_by_rules(policy, request, guests, d)) {
		return;
	}
	for (i = 0; policy != NULL && i < policy->num_builtin_rules; i++) {
		const struct ipcguard_rule *rule = policy->builtin_rules[i];
		enum ipcguard_pipe_match match;
		const char *listed = NULL;

		if (ipcguard_rule_applies(rule, request, guests,
					  policy->hooks, &match, &listed)) {
			set(d, IPCGUARD_DENY, rule->name, rule->description);
			return;
		}
	}
	if (ipcguard_remote_registry_restricts(policy, request)) {
		const char *why = NULL;

		if (!ipcguard_registry_allows(&policy->remote_registry,
					      request->opnum,
					      request->registry_path,
					      request->registry_undecodable,
					      &why)) {
			set(d, IPCGUARD_DENY,
			    IPCGUARD_RULE_REMOTE_REGISTRY_PATHS, why);
			return;
		}
	}
	if (request->object == IPCGUARD_OBJECT_PIPE &&
	    request->stage != IPCGUARD_STAGE_OPEN) {
		set(d, IPCGUARD_ALLOW, "rpc-default",
		    "no rule restricts this interface or operation");
		return;
	}
	if (policy == NULL) {
		/* Only authenticated callers get here. */
		set(d, IPCGUARD_ALLOW, "authenticated",
		    "authenticated sessions are not restricted");
		return;
	}
	decide_builtin(policy, request, d);
}

const char *ipcguard_session_kind_name(enum ipcguard_session_kind session)
{
	switch (session) {
	case IPCGUARD_SESSION_ANONYMOUS:
		return "anonymous";
	case IPCGUARD_SESSION_GUEST:
		return "guest";
	case IPCGUARD_SESSION_AUTHENTICATED:
		return "authenticated";
	}
	return "unknown";
}

const char *ipcguard_object_kind_name(enum ipcguard_object_kind object)
{
	switch (object) {
	case IPCGUARD_OBJECT_SHARE:
		return "share";
	case IPCGUARD_OBJECT_IPC:
		return "ipc";
	case IPCGUARD_OBJECT_PIPE:
		return "pipe";
	}
	return "unknown";
}

const char *ipcguard_verdict_name(enum ipcguard_verdict verdict)
{
	return verdict == IPCGUARD_ALLOW ? "allow" : "deny";
}

void ipcguard_decide(const struct ipcguard_policy *policy,
		     const struct ipcguard_request *request,
		     struct ipcguard_decision *d)
{
	decide_by_policy(policy, request, d);
	if (request != NULL && request->pipe_dir_unsafe &&
	    request->object == IPCGUARD_OBJECT_PIPE &&
	    request->stage == IPCGUARD_STAGE_OPEN &&
	    d->verdict == IPCGUARD_ALLOW &&
	    ipcguard_session_is_restricted(policy, request->session)) {
		d->by_rule = NULL;
		set(d, IPCGUARD_DENY, "pipe-gate",
		    "the gate's socket directory is not root's with mode "
		    "0700");
	}
}

void ipcguard_judge(const struct ipcguard_policy *policy,
		    const struct ipcguard_request *request,
		    enum ipcguard_stage first,
		    struct ipcguard_decision *d,
		    ipcguard_judge_observer observe, void *private_data)
{
	struct ipcguard_request at;
	enum ipcguard_stage stage;

	if (request == NULL) {
		ipcguard_decide(policy, NULL, d);
		return;
	}
	at = *request;
	if (first > request->stage) {
		first = request->stage;
	}
	for (stage = first; stage <= request->stage; stage++) {
		at.stage = stage;
		ipcguard_decide(policy, &at, d);
		if (observe != NULL) {
			observe(&at, d, private_data);
		}
		if (d->verdict != IPCGUARD_ALLOW) {
			return;
		}
	}
}

bool ipcguard_pipe_name_acceptable(const char *name)
{
	TALLOC_CTX *tmp = NULL;
	const char **check = NULL;
	char *error = NULL;
	bool ok;

	if (name == NULL || name[0] == '.') {
		return false;
	}
	tmp = talloc_new(NULL);
	if (tmp == NULL) {
		return false;
	}
	/* Only names a pipe list could hold: the same parser. */
	ok = ipcguard_parse_name_list(tmp, "pipe", name, true, &check,
				      &error) &&
	     check[0] != NULL && check[1] == NULL &&
	     strcmp(check[0], name) == 0;
	talloc_free(tmp);
	return ok;
}
