/*
 * ipcguard policy engine: parsing option values and deciding requests.
 *
 * Everything here must stay free of smbd, loadparm and I/O: the module, the
 * gate, the tool, the unit tests and the fuzzers link this file as it is.
 * Parsers never trust their input (it comes from smb.conf, the registry or
 * a fuzzer) and report the first problem in words an admin can act on.
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

#include "ipcguard_policy.h"



/*
 * The errors of a policy whose first error could not be recorded.  Its
 * errors[0] was the NULL that means "valid", so it gets this list instead
 * of keeping it.
 */
static const char *errors_out_of_memory[] = { "out of memory", NULL };

void ipcguard_policy_add_error(struct ipcguard_policy *policy, char *error)
{
	size_t n = 0;
	const char **tmp = NULL;

	if (policy->errors == errors_out_of_memory) {
		TALLOC_FREE(error);
		return;
	}
	while (policy->errors != NULL && policy->errors[n] != NULL) {
		n++;
	}
	tmp = talloc_realloc(policy, policy->errors, const char *, n + 2);
	if (tmp == NULL) {
		TALLOC_FREE(error);
		if (n == 0) {
			policy->errors = errors_out_of_memory;
		}
		return;
	}
	policy->errors = tmp;
	policy->errors[n] = error != NULL ?
		talloc_steal(policy->errors, error) : "out of memory";
	policy->errors[n + 1] = NULL;
}

void ipcguard_policy_add_warning(struct ipcguard_policy *policy,
				 char *warning)
{
	size_t n = 0;
	const char **tmp = NULL;

	while (policy->warnings != NULL && policy->warnings[n] != NULL) {
		n++;
	}
	tmp = warning == NULL ? NULL :
		talloc_realloc(policy, policy->warnings, const char *, n + 2);
	if (tmp == NULL) {
		TALLOC_FREE(warning);
		ipcguard_policy_add_error(policy, NULL);
		return;
	}
	policy->warnings = tmp;
	policy->warnings[n] = talloc_steal(policy->warnings, warning);
	policy->warnings[n + 1] = NULL;
}

static const char *get_option(ipcguard_option_getter getter,
			      void *private_data, const char *option)
{
	const char *value = getter != NULL ? getter(private_data, option) :
		NULL;

	return value != NULL ? value : ipcguard_option_default(option);
}

static void load_bool(struct ipcguard_policy *policy,
		      ipcguard_option_getter getter, void *private_data,
		      const char *option, bool *field)
{
	char *error = NULL;
	bool value = false;

	if (ipcguard_parse_bool(policy, option,
				get_option(getter, private_data, option),
				&value, &error)) {
		*field = value;
		return;
	}
	ipcguard_policy_add_error(policy, error);
}

static void load_uint(struct ipcguard_policy *policy,
		      ipcguard_option_getter getter, void *private_data,
		      const char *option, unsigned min, unsigned max,
		      unsigned *field)
{
	char *error = NULL;
	unsigned value = 0;

	if (ipcguard_parse_uint(policy, option,
				get_option(getter, private_data, option),
				min, max, &value, &error)) {
		*field = value;
		return;
	}
	ipcguard_policy_add_error(policy, error);
}

static void load_list(struct ipcguard_policy *policy,
		      ipcguard_option_getter getter, void *private_data,
		      const char *option, bool pipes, const char ***field)
{
	char *error = NULL;
	const char **list = NULL;

	if (ipcguard_parse_name_list(policy, option,
				     get_option(getter, private_data, option),
				     pipes, &list, &error)) {
		*field = list;
		return;
	}
	ipcguard_policy_add_error(policy, error);
}

static void load_network_access(struct ipcguard_policy *policy,
				ipcguard_option_getter getter,
				void *private_data)
{
	struct ipcguard_network_access *na = &policy->network_access;
	const char *option = IPCGUARD_OPT_ANONYMOUS_NAME_TRANSLATION;
	char *error = NULL;

	/* Windows' defaults until proven otherwise. */
	na->anonymous_translation = IPCGUARD_TRANSLATE_NONE;
	na->restrict_anonymous_sam = true;
	na->restrict_anonymous = false;
	if (!ipcguard_parse_name_translation(
		    policy, option, get_option(getter, private_data, option),
		    &na->anonymous_translation, &error)) {
		ipcguard_policy_add_error(policy, error);
	}
	load_bool(policy, getter, private_data,
		  IPCGUARD_OPT_RESTRICT_ANONYMOUS_SAM,
		  &na->restrict_anonymous_sam);
	load_bool(policy, getter, private_data,
		  IPCGUARD_OPT_RESTRICT_ANONYMOUS, &na->restrict_anonymous);
	option = IPCGUARD_OPT_RESTRICT_REMOTE_SAM;
	na->restrict_remote_sam = talloc_strdup(
		policy, get_option(getter, private_data, option));
	if (na->restrict_remote_sam == NULL) {
		ipcguard_policy_add_error(policy, NULL);
	} else if (strcasecmp(na->restrict_remote_sam, "none") == 0) {
		TALLOC_FREE(na->restrict_remote_sam);
	}
	if (!ipcguard_network_access_rules(policy, na,
					   &policy->builtin_rules,
					   &policy->num_builtin_rules)) {
		ipcguard_policy_add_error(policy, NULL);
	}
}

/*
 * A list that does not parse leaves an empty one in force: callers the
 * remote registry is restricted for then reach no key at all.
 */
static void load_registry_paths(struct ipcguard_policy *policy,
				ipcguard_option_getter getter,
				void *private_data, const char *option,
				const char ***field)
{
	char *error = NULL;
	const char **list = NULL;

	if (ipcguard_parse_registry_paths(
		    policy, option, get_option(getter, private_data, option),
		    &list, &error)) {
		*field = list;
		return;
	}
	ipcguard_policy_add_error(policy, error);
	*field = talloc_zero_array(policy, const char *, 1);
	if (*field == NULL) {
		ipcguard_policy_add_error(policy, NULL);
	}
}

static void load_remote_registry(struct ipcguard_policy *policy,
				 ipcguard_option_getter getter,
				 void *private_data)
{
	struct ipcguard_remote_registry *r = &policy->remote_registry;
	const char *value = get_option(getter, private_data,
				       IPCGUARD_OPT_REMOTE_REGISTRY_ACCESS);

	/*
	 * Restricted until the hooks compile the descriptor: without them
	 * nobody is granted, which is what an error leaves in force too.
	 */
	r->access_sddl = talloc_strdup(policy, value);
	if (r->access_sddl == NULL) {
		ipcguard_policy_add_error(policy, NULL);
	} else if (strcasecmp(ipcguard_skip_space(r->access_sddl), "none") ==
		   0) {
		TALLOC_FREE(r->access_sddl);
	}
	load_registry_paths(policy, getter, private_data,
			    IPCGUARD_OPT_REGISTRY_EXACT_PATHS,
			    &r->exact_paths);
	load_registry_paths(policy, getter, private_data,
			    IPCGUARD_OPT_REGISTRY_PATHS, &r->subpaths);
}

static void compile_remote_registry(struct ipcguard_policy *policy,
				    const struct ipcguard_rule_hooks *hooks)
{
	struct ipcguard_remote_registry *r = &policy->remote_registry;
	char *why = NULL;

	TALLOC_FREE(r->sd);
	if (r->access_sddl == NULL) {
		return;
	}
	if (hooks != NULL && hooks->compile_sddl != NULL) {
		r->sd = hooks->compile_sddl(policy, r->access_sddl, &why);
	}
	if (r->sd != NULL) {
		return;
	}
	ipcguard_policy_add_error(
		policy, talloc_asprintf(
			policy, "ipcguard:%s = \"%s\": %s",
			IPCGUARD_OPT_REMOTE_REGISTRY_ACCESS, r->access_sddl,
			why != NULL ? why : "cannot be checked without "
			"Samba's SDDL code"));
	TALLOC_FREE(why);
}

void ipcguard_policy_set_hooks(struct ipcguard_policy *policy,
			       const struct ipcguard_rule_hooks *hooks)
{
	char *error = NULL;

	policy->hooks = hooks;
	if (!ipcguard_network_access_sddl_rules(
		    policy, &policy->network_access, hooks,
		    &policy->builtin_rules, &policy->num_builtin_rules,
		    &error)) {
		ipcguard_policy_add_error(policy, error);
	}
	compile_remote_registry(policy, hooks);
}

struct ipcguard_policy *ipcguard_policy_load(TALLOC_CTX *mem_ctx,
					     ipcguard_option_getter getter,
					     void *private_data)
{
	struct ipcguard_policy *policy = NULL;

	policy = talloc_zero(mem_ctx, struct ipcguard_policy);
	if (policy == NULL) {
		return NULL;
	}
	policy->errors = talloc_zero_array(policy, const char *, 1);
	policy->null_session_shares = talloc_zero_array(policy,
							const char *, 1);
	policy->null_session_pipes = talloc_zero_array(policy,
						       const char *, 1);
	if (policy->errors == NULL || policy->null_session_shares == NULL ||
	    policy->null_session_pipes == NULL) {
		TALLOC_FREE(policy);
		return NULL;
	}
	/* Secure values until proven otherwise. */
	policy->restrict_null_session_access = true;
	policy->everyone_includes_anonymous = false;
	policy->guest_is_anonymous = true;
	/* Also what an invalid value leaves in force. */
	policy->max_pipes_per_anonymous_session =
		IPCGUARD_DEFAULT_ANON_PER_SESSION;
	policy->max_anonymous_pipes_per_address =
		IPCGUARD_DEFAULT_ANON_PER_ADDRESS;
	policy->max_pipes_per_session = IPCGUARD_DEFAULT_PER_SESSION;
	policy->max_pipes_per_address = IPCGUARD_DEFAULT_PER_ADDRESS;
	policy->refused_pipe_timeout = IPCGUARD_DEFAULT_REFUSED_PIPE_TIMEOUT;
	policy->gate_probe_timeout = IPCGUARD_DEFAULT_GATE_PROBE_TIMEOUT;

	load_list(policy, getter, private_data,
		  IPCGUARD_OPT_NULL_SESSION_SHARES, false,
		  &policy->null_session_shares);
	load_list(policy, getter, private_data,
		  IPCGUARD_OPT_NULL_SESSION_PIPES, true,
		  &policy->null_session_pipes);
	load_bool(policy, getter, private_data,
		  IPCGUARD_OPT_RESTRICT_NULL_SESSION_ACCESS,
		  &policy->restrict_null_session_access);
	load_bool(policy, getter, private_data,
		  IPCGUARD_OPT_EVERYONE_INCLUDES_ANONYMOUS,
		  &policy->everyone_includes_anonymous);
	load_bool(policy, getter, private_data,
		  IPCGUARD_OPT_GUEST_IS_ANONYMOUS,
		  &policy->guest_is_anonymous);
	load_bool(policy, getter, private_data, IPCGUARD_OPT_AUDIT_ALLOWED,
		  &policy->audit_allowed);
	load_network_access(policy, getter, private_data);
	load_remote_registry(policy, getter, private_data);
	load_uint(policy, getter, private_data,
		  IPCGUARD_OPT_MAX_PIPES_PER_ANONYMOUS_SESSION, 0,
		  IPCGUARD_MAX_PIPE_BOUND,
		  &policy->max_pipes_per_anonymous_session);
	load_uint(policy, getter, private_data,
		  IPCGUARD_OPT_MAX_ANONYMOUS_PIPES_PER_ADDRESS, 0,
		  IPCGUARD_MAX_PIPE_BOUND,
		  &policy->max_anonymous_pipes_per_address);
	load_uint(policy, getter, private_data,
		  IPCGUARD_OPT_MAX_PIPES_PER_SESSION, 0,
		  IPCGUARD_MAX_PIPE_BOUND, &policy->max_pipes_per_session);
	load_uint(policy, getter, private_data,
		  IPCGUARD_OPT_MAX_PIPES_PER_ADDRESS, 0,
		  IPCGUARD_MAX_PIPE_BOUND, &policy->max_pipes_per_address);
	/* A day: longer is a pipe held, not a refusal answered. */
	load_uint(policy, getter, private_data,
		  IPCGUARD_OPT_REFUSED_PIPE_TIMEOUT, 1, 86400,
		  &policy->refused_pipe_timeout);
	load_uint(policy, getter, private_data,
		  IPCGUARD_OPT_GATE_PROBE_TIMEOUT, 100, 60000,
		  &policy->gate_probe_timeout);
	load_uint(policy, getter, private_data, IPCGUARD_OPT_TCP_DOOR_PORT,
		  0, 65535, &policy->tcp_door_port);
	if (policy->tcp_door_port == 135 || policy->tcp_door_port == 445 ||
	    policy->tcp_door_port == 139) {
		ipcguard_policy_add_error(
			policy, talloc_asprintf(
				policy, "ipcguard:" IPCGUARD_OPT_TCP_DOOR_PORT
				" = %u: the door must be a port of its own, "
				"not one that Samba serves",
				policy->tcp_door_port));
	}
	return policy;
}

bool ipcguard_policy_is_valid(const struct ipcguard_policy *policy)
{
	return policy != NULL && policy->errors != NULL &&
	       policy->errors[0] == NULL;
}

bool ipcguard_session_is_restricted(const struct ipcguard_policy *policy,
				    enum ipcguard_session_kind session)
{
	switch (session) {
	case IPCGUARD_SESSION_AUTHENTICATED:
		return false;
	case IPCGUARD_SESSION_GUEST:
		/* An invalid policy cannot say guests are exempt. */
		if (!ipcguard_policy_is_valid(policy)) {
			return true;
		}
		return policy->guest_is_anonymous;
	case IPCGUARD_SESSION_ANONYMOUS:
	default:
		return true;
	}
}

bool ipcguard_strip_everyone(const struct ipcguard_policy *policy,
			     enum ipcguard_session_kind session)
{
	if (!ipcguard_session_is_restricted(policy, session)) {
		return false;
	}
	if (!ipcguard_policy_is_valid(policy)) {
		return true;
	}
	return !policy->everyone_includes_anonymous;
}

bool ipcguard_policy_add_rule(struct ipcguard_policy *policy,
			      struct ipcguard_rule *rule)
{
	struct ipcguard_rule **tmp = NULL;

	tmp = talloc_realloc(policy, policy->rules, struct ipcguard_rule *,
			     policy->num_rules + 1);
	if (tmp == NULL) {
		return false;
	}
	policy->rules = tmp;
	policy->rules[policy->num_rules++] = talloc_steal(policy->rules, rule);
	ipcguard_rules_sort(policy->rules, policy->num_rules);
	/*
	 * Without an index decisions are slower, not other: the rule is in
	 * force either way, so running out of memory here is no failure.
	 */
	TALLOC_FREE(policy->rule_index);
	policy->rule_index = ipcguard_rule_index_build(policy, policy->rules,
						       policy->num_rules);
	return true;
}
