/*
 * ipcguard policy engine
 *
 * The one place that decides whether a caller may use a share or a named
 * pipe.  It is pure: a policy, a request and a decision, no I/O and no
 * global state, so the VFS module inside smbd, the ipcguardd gate, the
 * ipcguard tool and the unit tests all run exactly the same code.
 *
 * The model is a list of rules evaluated in order; the Windows controls
 * (NullSessionShares, NullSessionPipes, RestrictNullSessAccess and the
 * Windows Server 2012 auto-disable) are the built-in rules every policy
 * has.  Rules from the ldb rule database (security descriptors, RPC
 * interfaces and operations, client addresses, audit-only) are meant to be
 * added to the same list, which is why a decision names the rule that made
 * it rather than returning a bare yes/no.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_POLICY_H
#define IPCGUARD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <talloc.h>

#include "ipcguard_parse.h"
#include "ipcguard_options.h"
#include "ipcguard_rule.h"
#include "ipcguard_network_access.h"
#include "ipcguard_registry.h"

enum ipcguard_verdict {
	IPCGUARD_DENY = 0,	/* zero: an unset decision refuses */
	IPCGUARD_ALLOW,
};

struct ipcguard_policy {
	/* Names are stored as configured; comparisons ignore case. */
	const char **null_session_shares;	/* NULL terminated */
	const char **null_session_pipes;	/* NULL terminated */
	bool restrict_null_session_access;
	bool everyone_includes_anonymous;
	bool guest_is_anonymous;
	bool audit_allowed;	/* JSON audit events for allows too */
	/* The other "Network access:" options, and the deny rules they
	 * make, judged after the database's rules. */
	struct ipcguard_network_access network_access;
	struct ipcguard_rule **builtin_rules;
	size_t num_builtin_rules;
	/* Who has the remote registry, and what the others may read. */
	struct ipcguard_remote_registry remote_registry;

	/*
	 * Bounds on the pipes the gate holds open (0: none).  Sessions the
	 * anonymous rules apply to have their own, lower bounds, and are
	 * counted per address apart from the others, so anonymous callers
	 * cannot use up what authenticated ones from the same address get.
	 */
	unsigned max_pipes_per_anonymous_session;
	unsigned max_anonymous_pipes_per_address;
	unsigned max_pipes_per_session;
	unsigned max_pipes_per_address;
	/* Seconds a refused pipe is kept to answer faults, then closed. */
	unsigned refused_pipe_timeout;
	/* Milliseconds the module and the tool wait for the gate's answer
	 * on its control socket. */
	unsigned gate_probe_timeout;
	/* Where ipcguardd takes redirected ncacn_ip_tcp callers; 0: it
	 * does not. */
	unsigned tcp_door_port;

	/* Rules from the rule database, in evaluation order (see
	 * ipcguard_rules_sort()); hooks as they were parsed with. */
	struct ipcguard_rule **rules;
	size_t num_rules;
	/* Which of them each kind of request can reach, rebuilt by
	 * ipcguard_policy_add_rule().  NULL (out of memory), or not built
	 * from rules and num_rules as they are: decisions look at every
	 * rule. */
	struct ipcguard_rule_index *rule_index;
	const struct ipcguard_rule_hooks *hooks;
	/* The file the rules were read from, recorded by whoever loaded
	 * them so that no caller works it out again; NULL if none. */
	const char *rule_database;

	/* Problems found while loading; non-empty means the policy is
	 * invalid and every anonymous (and anonymous-like) request is
	 * refused with rule "invalid-policy".  NULL terminated. */
	const char **errors;

	/* Problems that leave the policy in force but not the one
	 * configured: the rule database vanished and the rules of its last
	 * valid copy stand in for it.  check, status and the log report
	 * them.  NULL or NULL terminated. */
	const char **warnings;
};

/*
 * Reads one option's raw value; returns NULL when the option is unset.
 * The VFS module and the gate pass a wrapper around lp_parm_const_string(),
 * tests a table.
 */
typedef const char *(*ipcguard_option_getter)(void *private_data,
					       const char *option);

/*
 * Build a policy from option values.  Always returns a policy (NULL only
 * when out of memory); check ipcguard_policy_is_valid().
 */
struct ipcguard_policy *ipcguard_policy_load(TALLOC_CTX *mem_ctx,
					     ipcguard_option_getter getter,
					     void *private_data);

bool ipcguard_policy_is_valid(const struct ipcguard_policy *policy);

struct ipcguard_decision {
	enum ipcguard_verdict verdict;
	const char *rule;	/* stable rule identifier, static string */
	const char *reason;	/* one sentence for logs, static string */
	/* The database rule that decided, or NULL for a built-in rule. */
	const struct ipcguard_rule *by_rule;
	/* The first audit-only rule that matched and what it would do. */
	const struct ipcguard_rule *audit_rule;
	/* How by_rule's pipe list reached the pipe, and the name in it that
	 * did (the rule's own string); for explain. */
	enum ipcguard_pipe_match pipe_match;
	const char *pipe_listed;
};

/*
 * The decision for one request.  Never fails: a NULL policy or request
 * gives a refusal by rule "invalid-policy".
 */
void ipcguard_decide(const struct ipcguard_policy *policy,
		     const struct ipcguard_request *request,
		     struct ipcguard_decision *decision);

/*
 * Called by ipcguard_judge() with each stage's request and decision, so
 * that the caller can count and audit every stage it judged.
 */
typedef void (*ipcguard_judge_observer)(const struct ipcguard_request *at,
					const struct ipcguard_decision *d,
					void *private_data);

/*
 * Judge a request at its stage after each earlier stage from `first`
 * (open, bind, request), stopping at the first refusal: a call is only
 * as allowed as the bind of its interface, which a reloaded policy may
 * now refuse, and explain asks about a pipe the caller must open first.
 * The gate passes the stage the pipe has not passed yet (bind for a
 * call); explain passes IPCGUARD_STAGE_OPEN.  observe may be NULL.
 */
void ipcguard_judge(const struct ipcguard_policy *policy,
		    const struct ipcguard_request *request,
		    enum ipcguard_stage first,
		    struct ipcguard_decision *d,
		    ipcguard_judge_observer observe, void *private_data);

/*
 * Judge a call that came over ncacn_ip_tcp (stage bind or request; the
 * request's object and name are ignored): what the caller would get over
 * SMB through the best named pipe that reaches the interface, after the
 * IPC$ tree connect.  Needs the hooks' interface_pipes for interfaces
 * outside the carrier table; an interface no pipe reaches is refused to
 * restricted sessions (rule "tcp-no-pipe").  observe sees the stages of
 * the pipe that decided.
 */
void ipcguard_judge_tcp(const struct ipcguard_policy *policy,
			const struct ipcguard_request *request,
			struct ipcguard_decision *d,
			ipcguard_judge_observer observe, void *private_data);

/*
 * Whether an entry of Samba's np directory may become a listening
 * socket of the gate: a name the pipe lists would hold exactly as it
 * is, so it can never leave the gate's directory.  Names starting with
 * a dot are never pipes.
 */
bool ipcguard_pipe_name_acceptable(const char *name);

/*
 * Whether a request is a winreg call the remote registry paths judge: the
 * remote registry is restricted and the caller is neither granted by
 * "remote registry access" nor Samba itself (SYSTEM).  The gate decodes
 * winreg requests only then.
 */
bool ipcguard_remote_registry_restricts(const struct ipcguard_policy *policy,
					const struct ipcguard_request *request);

/*
 * Whether one more pipe may be opened, given how many pipes the caller's
 * session and (for its class of session) its address already hold open.
 * A refusal names rule "pipe-limit".  Sessions the anonymous rules apply
 * to are held to the anonymous bounds, also when the policy is invalid.
 */
void ipcguard_decide_pipe_limit(const struct ipcguard_policy *policy,
				enum ipcguard_session_kind session,
				unsigned open_in_session,
				unsigned open_from_address,
				struct ipcguard_decision *decision);

/* Whether the anonymous rules apply to this kind of session. */
bool ipcguard_session_is_restricted(const struct ipcguard_policy *policy,
				    enum ipcguard_session_kind session);

/*
 * Whether a session of this kind must lose Everyone (S-1-1-0) from the
 * token it uses for access checks ("everyone includes anonymous = no").
 * Invalid policies strip it too: failing closed.
 */
bool ipcguard_strip_everyone(const struct ipcguard_policy *policy,
			     enum ipcguard_session_kind session);

const char *ipcguard_session_kind_name(enum ipcguard_session_kind session);
const char *ipcguard_object_kind_name(enum ipcguard_object_kind object);
const char *ipcguard_verdict_name(enum ipcguard_verdict verdict);

/*
 * Add a rule to a policy (taking it over) and keep the rules in
 * evaluation order.  Returns false only when out of memory.
 */
bool ipcguard_policy_add_rule(struct ipcguard_policy *policy,
			      struct ipcguard_rule *rule);

/*
 * Give the policy Samba's hooks (SDDL, access check, NDR names) and make
 * the built-in rules that need them; a descriptor that does not parse is
 * recorded as an error.
 */
void ipcguard_policy_set_hooks(struct ipcguard_policy *policy,
			       const struct ipcguard_rule_hooks *hooks);

/* Record a problem: the policy becomes invalid.  error may be NULL
 * (out of memory); it is taken over. */
void ipcguard_policy_add_error(struct ipcguard_policy *policy, char *error);

/* Record a problem that leaves the policy valid (see warnings above);
 * taken over.  Out of memory, it records an error instead: a problem
 * nobody hears of is how a policy is lost silently. */
void ipcguard_policy_add_warning(struct ipcguard_policy *policy,
				 char *warning);

#endif /* IPCGUARD_POLICY_H */
