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
 * Longest name accepted.  Share names: Windows limits them to 80
 * characters; pipe names: Samba's pipe names are short, and 256 is the
 * SMB path component limit.
 */
#define IPCGUARD_MAX_SHARE_NAME 80
#define IPCGUARD_MAX_PIPE_NAME 256
/* More list entries than this is a configuration mistake, not a policy. */
#define IPCGUARD_MAX_LIST_ENTRIES 1024
/*
 * Pipe bounds above this are no bound: each pipe costs the gate one or
 * two file descriptors, and no system gives it millions.
 */
#define IPCGUARD_MAX_PIPE_BOUND 1000000

/*
 * Default bounds.  A legitimate anonymous client (name lookups over LSA,
 * a printer, a NAS) holds one or two pipes; hundreds from one session are
 * a hog.  Authenticated tools hold more, and many users may sit behind
 * one address (NAT, a terminal server), hence the higher figures.  With
 * each pipe costing the gate up to two descriptors, one anonymous address
 * can take at most 512 of the tens of thousands the gate has.
 */
#define DEFAULT_ANON_PER_SESSION 32
#define DEFAULT_ANON_PER_ADDRESS 256
#define DEFAULT_PER_SESSION 512
#define DEFAULT_PER_ADDRESS 2048
#define DEFAULT_REFUSED_PIPE_TIMEOUT 10
/* A gate answers its control socket in microseconds; one that takes
 * seconds is hung, and a tree connect should not wait on it longer. */
#define DEFAULT_GATE_PROBE_TIMEOUT 2000
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
		.default_value = STR(DEFAULT_ANON_PER_SESSION),
		.description = "pipes one anonymous (or guest) session may "
			       "hold open through the gate (0: no bound)",
	},
	{
		.name = IPCGUARD_OPT_MAX_ANONYMOUS_PIPES_PER_ADDRESS,
		.default_value = STR(DEFAULT_ANON_PER_ADDRESS),
		.description = "pipes all anonymous (and guest) sessions from "
			       "one client address may hold open together "
			       "(0: no bound)",
	},
	{
		.name = IPCGUARD_OPT_MAX_PIPES_PER_SESSION,
		.default_value = STR(DEFAULT_PER_SESSION),
		.description = "pipes one authenticated session may hold open "
			       "through the gate (0: no bound)",
	},
	{
		.name = IPCGUARD_OPT_MAX_PIPES_PER_ADDRESS,
		.default_value = STR(DEFAULT_PER_ADDRESS),
		.description = "pipes all authenticated sessions from one "
			       "client address may hold open together "
			       "(0: no bound)",
	},
	{
		.name = IPCGUARD_OPT_REFUSED_PIPE_TIMEOUT,
		.default_value = STR(DEFAULT_REFUSED_PIPE_TIMEOUT),
		.description = "seconds the gate keeps a refused pipe open to "
			       "answer its calls with access denied",
	},
	{
		.name = IPCGUARD_OPT_GATE_PROBE_TIMEOUT,
		.default_value = STR(DEFAULT_GATE_PROBE_TIMEOUT),
		.description = "milliseconds an anonymous tree connect waits "
			       "for ipcguardd to answer before it is refused",
	},
	{ .name = NULL },
};

static const char *option_default(const char *option)
{
	size_t i;

	for (i = 0; ipcguard_options[i].name != NULL; i++) {
		if (strcmp(ipcguard_options[i].name, option) == 0) {
			return ipcguard_options[i].default_value;
		}
	}
	return NULL;
}

static const char *skip_space(const char *p)
{
	while (*p != '\0' && isspace((unsigned char)*p)) {
		p++;
	}
	return p;
}

/*
 * Characters Windows refuses in share names; ',' also separates entries.
 */
static bool share_char_ok(unsigned char c)
{
	if (c < 0x20 || c == 0x7f) {
		return false;
	}
	return strchr("\"/\\[]:|<>+=;,?*", c) == NULL;
}

/* Pipe names Samba serves are plain identifiers. */
static bool pipe_char_ok(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.' || c == '$';
}

/*
 * Printable form of a hostile value for an error message: control bytes
 * and non-ASCII are escaped so a log line stays one line.
 */
static char *printable(TALLOC_CTX *mem_ctx, const char *s, size_t len)
{
	char *out = talloc_strdup(mem_ctx, "");
	size_t i;

	for (i = 0; out != NULL && i < len && i < 100; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out = talloc_asprintf_append_buffer(out, "%c", c);
		} else {
			out = talloc_asprintf_append_buffer(out, "\\x%02x", c);
		}
	}
	if (out != NULL && len > 100) {
		out = talloc_asprintf_append_buffer(out, "...");
	}
	return out;
}

bool ipcguard_parse_uint(TALLOC_CTX *mem_ctx, const char *option,
			 const char *value, unsigned min, unsigned max,
			 unsigned *result, char **error)
{
	const char *p = NULL;
	unsigned long v = 0;

	*error = NULL;
	if (value == NULL) {
		*error = talloc_asprintf(mem_ctx, "ipcguard:%s has no value",
					 option);
		return false;
	}
	p = skip_space(value);
	if (!isdigit((unsigned char)*p)) {
		goto bad;
	}
	/* By hand: strtoul() takes signs and would wrap "-1". */
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > max) {
			goto bad;
		}
		p++;
	}
	if (*skip_space(p) != '\0' || v < min) {
		goto bad;
	}
	*result = (unsigned)v;
	return true;
bad:
	*error = talloc_asprintf(mem_ctx,
				 "ipcguard:%s = \"%s\" is not a whole number "
				 "from %u to %u", option,
				 printable(mem_ctx, value, strlen(value)),
				 min, max);
	return false;
}

static bool check_name(TALLOC_CTX *mem_ctx, const char *label,
		       const char *name, size_t len, bool pipes, char **error)
{
	size_t max = pipes ? IPCGUARD_MAX_PIPE_NAME : IPCGUARD_MAX_SHARE_NAME;
	const char *what = pipes ? "pipe" : "share";
	size_t i;

	if (len > max) {
		*error = talloc_asprintf(mem_ctx,
					 "%s: %s name \"%s\" is "
					 "longer than %zu characters",
					 label, what,
					 printable(mem_ctx, name, len), max);
		return false;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		bool ok = pipes ? pipe_char_ok(c) : share_char_ok(c);

		if (!ok) {
			*error = talloc_asprintf(
				mem_ctx,
				"%s: %s name \"%s\" contains the "
				"character \"%s\", which is not allowed in "
				"a %s name",
				label, what, printable(mem_ctx, name, len),
				printable(mem_ctx, &name[i], 1), what);
			return false;
		}
	}
	/* The gate makes pipe names into socket paths. */
	if (pipes && name[0] == '.' && (len == 1 ||
					(len == 2 && name[1] == '.'))) {
		*error = talloc_asprintf(mem_ctx,
					 "%s: \"%s\" is not a pipe name",
					 label, printable(mem_ctx, name, len));
		return false;
	}
	if (!pipes && len == 4 && strncasecmp(name, "IPC$", 4) == 0) {
		*error = talloc_asprintf(
			mem_ctx,
			"%s: IPC$ does not belong in this list; "
			"anonymous IPC$ is governed by 'ipcguard:%s'",
			label, IPCGUARD_OPT_NULL_SESSION_PIPES);
		return false;
	}
	return true;
}

bool ipcguard_parse_labelled_name_list(TALLOC_CTX *mem_ctx,
				       const char *label,
			      const char *value, bool pipes,
			      const char ***result, char **error)
{
	const char **list = NULL;
	size_t count = 0;
	const char *p = value;

	*error = NULL;
	*result = NULL;

	list = talloc_zero_array(mem_ctx, const char *, 1);
	if (list == NULL) {
		*error = talloc_strdup(mem_ctx, "out of memory");
		return false;
	}
	if (value == NULL) {
		*result = list;
		return true;
	}

	while (true) {
		const char *start = NULL;
		size_t len;
		const char **tmp = NULL;

		while (*p != '\0' &&
		       (isspace((unsigned char)*p) || *p == ',')) {
			p++;
		}
		if (*p == '\0') {
			break;
		}
		if (*p == '"') {
			const char *end = strchr(p + 1, '"');

			if (end == NULL) {
				*error = talloc_asprintf(
					mem_ctx,
					"%s: unterminated quote in "
					"\"%s\"",
					label,
					printable(mem_ctx, value,
						  strlen(value)));
				goto fail;
			}
			start = p + 1;
			len = end - start;
			p = end + 1;
		} else {
			start = p;
			while (*p != '\0' && *p != ',' &&
			       !isspace((unsigned char)*p) && *p != '"') {
				p++;
			}
			len = p - start;
		}
		/* Admins often write pipes the way clients name them. */
		if (pipes && len > 6 && strncasecmp(start, "\\pipe\\", 6) == 0) {
			start += 6;
			len -= 6;
		}
		if (len == 0) {
			*error = talloc_asprintf(
				mem_ctx, "%s: empty name in \"%s\"",
				label,
				printable(mem_ctx, value, strlen(value)));
			goto fail;
		}
		if (!check_name(mem_ctx, label, start, len, pipes, error)) {
			goto fail;
		}
		if (count >= IPCGUARD_MAX_LIST_ENTRIES) {
			*error = talloc_asprintf(mem_ctx,
						 "%s has more than %d "
						 "entries",
						 label,
						 IPCGUARD_MAX_LIST_ENTRIES);
			goto fail;
		}
		tmp = talloc_realloc(mem_ctx, list, const char *, count + 2);
		if (tmp == NULL) {
			*error = talloc_strdup(mem_ctx, "out of memory");
			goto fail;
		}
		list = tmp;
		list[count] = talloc_strndup(list, start, len);
		if (list[count] == NULL) {
			*error = talloc_strdup(mem_ctx, "out of memory");
			goto fail;
		}
		count++;
		list[count] = NULL;
	}
	*result = list;
	return true;
fail:
	TALLOC_FREE(list);
	return false;
}

bool ipcguard_parse_name_list(TALLOC_CTX *mem_ctx, const char *option,
			      const char *value, bool pipes,
			      const char ***result, char **error)
{
	char *label = talloc_asprintf(mem_ctx, "ipcguard:%s", option);
	bool ok;

	if (label == NULL) {
		*result = NULL;
		*error = NULL;
		return false;
	}
	ok = ipcguard_parse_labelled_name_list(mem_ctx, label, value, pipes,
					       result, error);
	TALLOC_FREE(label);
	return ok;
}

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

	return value != NULL ? value : option_default(option);
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
	} else if (strcasecmp(skip_space(r->access_sddl), "none") == 0) {
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
	policy->max_pipes_per_anonymous_session = DEFAULT_ANON_PER_SESSION;
	policy->max_anonymous_pipes_per_address = DEFAULT_ANON_PER_ADDRESS;
	policy->max_pipes_per_session = DEFAULT_PER_SESSION;
	policy->max_pipes_per_address = DEFAULT_PER_ADDRESS;
	policy->refused_pipe_timeout = DEFAULT_REFUSED_PIPE_TIMEOUT;
	policy->gate_probe_timeout = DEFAULT_GATE_PROBE_TIMEOUT;

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

/*
 * Samba compares share names without regard to case; pipe names reach us
 * in whatever case the client sent.  Names are checked to be ASCII-safe
 * for pipes; share names may be UTF-8, compared byte-wise after ASCII case
 * folding, which is what smb.conf section lookup does for ASCII names.
 */
static bool list_contains(const char * const *list, const char *name)
{
	size_t i;

	if (list == NULL || name == NULL) {
		return false;
	}
	for (i = 0; list[i] != NULL; i++) {
		if (strcasecmp(list[i], name) == 0) {
			return true;
		}
	}
	return false;
}

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
	return true;
}

static bool name_matches(const char * const *list, const char *name)
{
	if (list != NULL && list[0] != NULL && strcmp(list[0], "*") == 0) {
		return true;
	}
	return list_contains(list, name);
}

static bool address_in(const struct ipcguard_address_range *r,
		       const struct ipcguard_address *a)
{
	unsigned full = r->prefix / 8;
	unsigned rest = r->prefix % 8;

	if (r->base.family != a->family) {
		return false;
	}
	if (memcmp(r->base.bytes, a->bytes, full) != 0) {
		return false;
	}
	if (rest == 0) {
		return true;
	}
	return ((r->base.bytes[full] ^ a->bytes[full]) &
		(0xff << (8 - rest)) & 0xff) == 0;
}

static bool interface_matches(const struct ipcguard_rule *rule,
			      const struct ipcguard_syntax *syntax)
{
	size_t i;

	for (i = 0; i < rule->num_interfaces; i++) {
		const struct ipcguard_interface_match *m =
			&rule->interfaces[i];

		if (m->any) {
			return true;
		}
		if (memcmp(m->syntax.uuid, syntax->uuid, 16) != 0) {
			continue;
		}
		if (m->any_version || (m->syntax.major == syntax->major &&
				       m->syntax.minor == syntax->minor)) {
			return true;
		}
	}
	return false;
}

static bool opnum_matches(const struct ipcguard_rule *rule, uint16_t opnum)
{
	size_t i;

	for (i = 0; i < rule->num_opnums; i++) {
		if (opnum >= rule->opnums[i].first &&
		    opnum <= rule->opnums[i].last) {
			return true;
		}
	}
	return false;
}

/*
 * Whether a rule's pipe list reaches the requested pipe, and how.  A rule
 * is about what a pipe name reaches, so that no other name of the same
 * thing gets round it: aliases match at every stage; at binds and
 * requests an interface whose own pipe (IDL endpoint) the rule lists is
 * followed to every other pipe that carries it.  A deny rule follows it to
 * any pipe, so that a table older than the RPC server cannot open a way
 * round; an allow rule only to pipes known to carry it, so that it cannot
 * let an interface through a pipe that should not serve it.  An interface
 * whose own pipes the rule does not list is not followed: a rule about
 * lsarpc on \netlogon is about \netlogon ("ipcguard check" warns).
 */
static enum ipcguard_pipe_match pipe_matches(
	const struct ipcguard_rule *rule,
	const struct ipcguard_request *request, const char **listed)
{
	const char * const *list = rule->pipes;
	size_t i;

	*listed = NULL;
	if (list == NULL || request->name == NULL) {
		return IPCGUARD_PIPE_NO_MATCH;
	}
	for (i = 0; list[i] != NULL; i++) {
		if (strcmp(list[i], "*") == 0 ||
		    strcasecmp(list[i], request->name) == 0) {
			*listed = list[i];
			return IPCGUARD_PIPE_LISTED;
		}
	}
	for (i = 0; list[i] != NULL; i++) {
		if (ipcguard_pipe_is_alias(list[i], request->name)) {
			*listed = list[i];
			return IPCGUARD_PIPE_ALIAS;
		}
	}
	if (request->stage == IPCGUARD_STAGE_OPEN) {
		return IPCGUARD_PIPE_NO_MATCH;
	}
	if (rule->allow &&
	    !ipcguard_pipe_carries(request->name, request->syntax.uuid)) {
		return IPCGUARD_PIPE_NO_MATCH;
	}
	for (i = 0; list[i] != NULL; i++) {
		if (ipcguard_pipe_is_home(list[i], request->syntax.uuid)) {
			*listed = list[i];
			return IPCGUARD_PIPE_CARRIER;
		}
	}
	return IPCGUARD_PIPE_NO_MATCH;
}

/* Which object, stage, interface and operation a rule is about. */
static bool rule_targets(const struct ipcguard_rule *rule,
			 const struct ipcguard_request *request,
			 struct ipcguard_decision *how)
{
	switch (request->object) {
	case IPCGUARD_OBJECT_SHARE:
		return name_matches(rule->shares, request->name);
	case IPCGUARD_OBJECT_IPC:
		return false;
	case IPCGUARD_OBJECT_PIPE:
		break;
	}
	how->pipe_match = pipe_matches(rule, request, &how->pipe_listed);
	if (how->pipe_match == IPCGUARD_PIPE_NO_MATCH) {
		return false;
	}
	switch (request->stage) {
	case IPCGUARD_STAGE_OPEN:
		return rule->num_interfaces == 0;
	case IPCGUARD_STAGE_BIND:
		return rule->num_interfaces > 0 && rule->num_opnums == 0 &&
		       interface_matches(rule, &request->syntax);
	case IPCGUARD_STAGE_REQUEST:
		return rule->num_opnums > 0 &&
		       interface_matches(rule, &request->syntax) &&
		       opnum_matches(rule, request->opnum);
	}
	return false;
}

/*
 * Whether a rule applies to a request.  A condition that cannot be judged
 * (no client address, no token) makes a deny rule apply and an allow rule
 * not: failing closed.  A security descriptor says who is permitted: an
 * allow rule applies to callers it grants access, a deny rule to callers
 * it does not.
 */
static bool rule_applies(const struct ipcguard_policy *policy,
			 const struct ipcguard_rule *rule,
			 const struct ipcguard_request *request,
			 struct ipcguard_decision *how)
{
	if (!rule_targets(rule, request, how)) {
		return false;
	}
	if (rule->sessions != 0) {
		unsigned kind = 1u << request->session;

		/* Guests held to the anonymous rules are anonymous here. */
		if (request->session == IPCGUARD_SESSION_GUEST &&
		    ipcguard_session_is_restricted(policy, request->session)) {
			kind |= 1u << IPCGUARD_SESSION_ANONYMOUS;
		}
		if ((rule->sessions & kind) == 0) {
			return false;
		}
	}
	if (rule->num_addresses > 0) {
		bool inside = false;
		size_t i;

		if (request->address == NULL) {
			return !rule->allow;
		}
		for (i = 0; i < rule->num_addresses && !inside; i++) {
			inside = address_in(&rule->addresses[i],
					    request->address);
		}
		if (!inside) {
			return false;
		}
	}
	if (rule->exempt_local_system && request->local_system) {
		return rule->allow;
	}
	if (rule->sd != NULL) {
		bool granted;

		granted = request->token != NULL &&
			  policy->hooks != NULL &&
			  policy->hooks->access_check != NULL &&
			  policy->hooks->access_check(rule->sd, request->token,
						      rule->access);

		return rule->allow ? granted : !granted;
	}
	return true;
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
		} else if (list_contains(policy->null_session_shares,
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
		} else if (list_contains(policy->null_session_pipes,
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
	unsigned per_session = restricted ? DEFAULT_ANON_PER_SESSION :
		DEFAULT_PER_SESSION;
	unsigned per_address = restricted ? DEFAULT_ANON_PER_ADDRESS :
		DEFAULT_PER_ADDRESS;

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

static void decide_by_policy(const struct ipcguard_policy *policy,
			     const struct ipcguard_request *request,
			     struct ipcguard_decision *d)
{
	size_t i;

	d->by_rule = NULL;
	d->audit_rule = NULL;
	d->pipe_match = IPCGUARD_PIPE_NO_MATCH;
	d->pipe_listed = NULL;
	if (request == NULL) {
		set(d, IPCGUARD_DENY, "invalid-request", "no request given");
		return;
	}
	if (ipcguard_session_is_restricted(policy, request->session) &&
	    !ipcguard_policy_is_valid(policy)) {
		set(d, IPCGUARD_DENY, "invalid-policy",
		    "the ipcguard policy is invalid, so anonymous access is "
		    "refused");
		return;
	}
	for (i = 0; policy != NULL && i < policy->num_rules; i++) {
		const struct ipcguard_rule *rule = policy->rules[i];
		struct ipcguard_decision how = { .verdict = IPCGUARD_DENY };

		if (!rule_applies(policy, rule, request, &how)) {
			continue;
		}
		if (rule->audit_only) {
			if (d->audit_rule == NULL) {
				d->audit_rule = rule;
			}
			continue;
		}
		set(d, rule->allow ? IPCGUARD_ALLOW : IPCGUARD_DENY,
		    rule->name, rule->allow ?
		    "a rule of the rule database allows it" :
		    "a rule of the rule database refuses it");
		d->by_rule = rule;
		d->pipe_match = how.pipe_match;
		d->pipe_listed = how.pipe_listed;
		return;
	}
	for (i = 0; policy != NULL && i < policy->num_builtin_rules; i++) {
		const struct ipcguard_rule *rule = policy->builtin_rules[i];
		struct ipcguard_decision how = { .verdict = IPCGUARD_DENY };

		if (rule_applies(policy, rule, request, &how)) {
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
	if (request != NULL && request->no_session) {
		d->by_rule = NULL;
		d->audit_rule = NULL;
		d->pipe_match = IPCGUARD_PIPE_NO_MATCH;
		d->pipe_listed = NULL;
		set(d, IPCGUARD_DENY, "invalid-request",
		    "the handshake carries no session");
		return;
	}
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
