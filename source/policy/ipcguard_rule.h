/*
 * ipcguard rules: what the Windows controls cannot express.
 *
 * A rule is a named set of conditions and an action (allow or deny),
 * optionally audit-only.  Rules live one record each in an ldb database
 * (source/common/ipcguard_ruledb.c); this file is their pure model: the
 * fields as text, their validation, and whether a rule matches a request.
 * The Samba-side pieces a rule needs (SDDL parsing, the access check
 * against a token, RPC interface and operation names) come in through
 * struct ipcguard_rule_hooks, so the engine itself stays free of Samba
 * and the unit tests and fuzzers run it as it is.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_RULE_H
#define IPCGUARD_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#include "ipcguard_parse.h"

/* The fields of a rule, as written by "ipcguard rule add" and stored as
 * ldb attributes of the same names. */
#define IPCGUARD_RULE_ACTION "action"
#define IPCGUARD_RULE_AUDIT_ONLY "audit-only"
#define IPCGUARD_RULE_ORDER "order"
#define IPCGUARD_RULE_DESCRIPTION "description"
#define IPCGUARD_RULE_SHARE "share"
#define IPCGUARD_RULE_PIPE "pipe"
#define IPCGUARD_RULE_SESSION "session"
#define IPCGUARD_RULE_ADDRESS "address"
#define IPCGUARD_RULE_SDDL "sddl"
#define IPCGUARD_RULE_INTERFACE "interface"
#define IPCGUARD_RULE_OPNUM "opnum"

struct ipcguard_rule_field_info {
	const char *name;
	bool multi;		/* may hold several values */
	const char *syntax;	/* for help texts and man pages */
};

/* All fields, in display order, NULL-name terminated. */
extern const struct ipcguard_rule_field_info ipcguard_rule_fields[];

#define IPCGUARD_RULE_DEFAULT_ORDER 1000
#define IPCGUARD_RULE_MAX_ORDER 999999
#define IPCGUARD_RULE_MAX_NAME 64

/* One field of a rule as text: values[] is NULL terminated. */
struct ipcguard_rule_field {
	const char *name;
	const char **values;
};

/* An RPC interface: UUID in wire order of struct GUID's text form. */
struct ipcguard_syntax {
	uint8_t uuid[16];
	uint16_t major;
	uint16_t minor;
};

struct ipcguard_address_range {
	struct ipcguard_address base;
	unsigned prefix;	/* bits */
};

struct ipcguard_interface_match {
	bool any;		/* "*" */
	struct ipcguard_syntax syntax;
	bool any_version;
};

struct ipcguard_opnum_range {
	uint16_t first;
	uint16_t last;
};

/*
 * What the engine needs from Samba.  Any hook may be NULL (the fuzzers
 * run without Samba); a rule that needs a missing hook is invalid.
 */
struct ipcguard_rule_hooks {
	/* Parse SDDL into an opaque security descriptor (a talloc child of
	 * mem_ctx); NULL with *error set if it does not parse. */
	void *(*compile_sddl)(TALLOC_CTX *mem_ctx, const char *sddl,
			      char **error);
	/* Whether the descriptor grants this token access to a pipe or a
	 * share.  token may be NULL (no session): never granted. */
	bool (*access_check)(const void *sd, const void *token,
			     uint32_t access);
	/* Resolve an interface name ("spoolss") to its syntax. */
	bool (*interface_by_name)(const char *name,
				  struct ipcguard_syntax *syntax);
	/* Resolve an operation name of an interface to its opnum. */
	bool (*opnum_by_name)(const struct ipcguard_syntax *syntax,
			      const char *name, uint16_t *opnum);
	/* The named pipes the interface's IDL lists as its endpoints, NULL
	 * terminated, as a talloc array on mem_ctx (empty when unknown);
	 * NULL when out of memory. */
	const char **(*interface_pipes)(TALLOC_CTX *mem_ctx,
				       const struct ipcguard_syntax *syntax);
};

struct ipcguard_rule {
	char *name;
	char *description;
	bool allow;		/* action */
	bool audit_only;
	unsigned order;
	const char **shares;	/* NULL terminated or NULL; "*" = any */
	const char **pipes;	/* NULL terminated or NULL; "*" = any */
	unsigned sessions;	/* 1 << enum ipcguard_session_kind; 0 = any */
	struct ipcguard_address_range *addresses;
	size_t num_addresses;	/* 0 = any address */
	char *sddl;
	void *sd;		/* compiled sddl, NULL without one */
	/* The access the sddl must grant; 0: what rules of the database
	 * are about (read and write, IPCGUARD_RULE_ACCESS). */
	uint32_t access;
	/* Samba's own callers (NT AUTHORITY\SYSTEM) are not judged by the
	 * sddl: built-in rules about remote callers only. */
	bool exempt_local_system;
	struct ipcguard_interface_match *interfaces;
	size_t num_interfaces;	/* 0 = no interface condition */
	struct ipcguard_opnum_range *opnums;
	size_t num_opnums;	/* 0 = no operation condition */
	/* The fields as given, for "ipcguard rule show" and keep-last-valid
	 * copies; NULL-name terminated. */
	struct ipcguard_rule_field *fields;
};

/*
 * Build and validate a rule from its text fields.  On error returns NULL
 * and sets *error to a talloc'ed message that names the rule and the
 * field.  hooks may be NULL.
 */
struct ipcguard_rule *ipcguard_rule_parse(
	TALLOC_CTX *mem_ctx, const char *name,
	const struct ipcguard_rule_field *fields,
	const struct ipcguard_rule_hooks *hooks, char **error);

/* The stage of a pipe's life a rule is judged at. */
enum ipcguard_stage {
	IPCGUARD_STAGE_OPEN = 0,	/* tree connect or pipe open */
	IPCGUARD_STAGE_BIND,		/* each context of a bind/alter */
	IPCGUARD_STAGE_REQUEST,		/* each request */
};

const char *ipcguard_stage_name(enum ipcguard_stage stage);

/* A rule's fields rendered one "field = value" per line. */
char *ipcguard_rule_text(TALLOC_CTX *mem_ctx,
			 const struct ipcguard_rule *rule);

/* Sort rules by order, then name: the order they are evaluated in. */
void ipcguard_rules_sort(struct ipcguard_rule **rules, size_t num_rules);

/*
 * Pipe names and the interfaces behind them, as Samba 4.17 serves them
 * (table and sources in ipcguard_rule_match.c).  A rule's pipe names stand for
 * what they reach: at every stage a name matches its aliases too (lsass
 * for lsarpc, plugplay for ntsvcs); at binds and requests a rule about an
 * interface follows it from the pipes that are its own to every other pipe
 * that carries it (lsarpc on netlogon).
 */
enum ipcguard_pipe_match {
	IPCGUARD_PIPE_NO_MATCH = 0,
	IPCGUARD_PIPE_LISTED,		/* named in the rule, or "*" */
	IPCGUARD_PIPE_ALIAS,		/* another name of a listed pipe */
	IPCGUARD_PIPE_CARRIER,		/* carries an interface of one */
};

/* Whether pipe is another name of the endpoint listed names (not the same
 * name). */
bool ipcguard_pipe_is_alias(const char *listed, const char *pipe);

/* Whether pipe is one of the interface's own pipes (its IDL endpoints),
 * for the interfaces served on more than one endpoint. */
bool ipcguard_pipe_is_home(const char *pipe, const uint8_t uuid[16]);

/* Whether Samba serves the interface on pipe, for the interfaces served on
 * more than one endpoint. */
bool ipcguard_pipe_carries(const char *pipe, const uint8_t uuid[16]);

/* Adds to pipes (NULL terminated, talloc) the pipes of the table that
 * carry the interface and are not in it yet.  Returns NULL when out of
 * memory. */
const char **ipcguard_pipes_carrying(const char **pipes,
				     const uint8_t uuid[16]);

/* What a rule about an interface misses because it names none of the
 * interface's own pipes ("lsarpc on \lsarpc, \lsass"), or NULL. */
char *ipcguard_rule_missed_pipes(TALLOC_CTX *mem_ctx,
				 const struct ipcguard_rule *rule);

/* What kind of session asks.  Set by the caller from the session's token
 * with Samba's own security_session_user_level(). */
enum ipcguard_session_kind {
	IPCGUARD_SESSION_ANONYMOUS = 0,
	IPCGUARD_SESSION_GUEST,
	IPCGUARD_SESSION_AUTHENTICATED,
};

enum ipcguard_object_kind {
	IPCGUARD_OBJECT_SHARE = 0,	/* a tree connect to a disk/print share */
	IPCGUARD_OBJECT_IPC,		/* a tree connect to IPC$ */
	IPCGUARD_OBJECT_PIPE,		/* a named-pipe open on IPC$ */
};

struct ipcguard_request {
	enum ipcguard_session_kind session;
	enum ipcguard_object_kind object;
	const char *name;		/* share or pipe name, any case */
	/*
	 * For IPCGUARD_OBJECT_IPC: whether pipe opens go through a running
	 * ipcguardd.  Without the gate nothing enforces the pipe list, so
	 * anonymous IPC$ is refused.
	 */
	bool pipe_gate_ready;
	/*
	 * For IPCGUARD_OBJECT_IPC: the session speaks SMB1, where smbd
	 * answers RAP share enumeration (\PIPE\LANMAN) itself, without any
	 * named pipe the gate could judge.
	 */
	bool smb1;

	/*
	 * What rules from the rule database look at.  All optional: a rule
	 * whose condition cannot be judged (no address, no token) does not
	 * match when it allows and matches when it denies.
	 */
	enum ipcguard_stage stage;	/* pipes only; shares are "open" */
	const struct ipcguard_address *address;
	const void *token;	/* the caller's security_token, composed */
	/* The token is NT AUTHORITY\SYSTEM: Samba's own callers, never a
	 * remote client. */
	bool local_system;
	struct ipcguard_syntax syntax;	/* stage bind and request */
	uint16_t opnum;			/* stage request */
	/*
	 * Winreg requests of callers the remote registry is restricted for
	 * (ipcguard_remote_registry_restricts()), as the gate decoded them:
	 * for OpenKey the key it opens, for other calls the key of their
	 * handle ("" is HKLM itself), NULL when unknown; undecodable when
	 * the gate could not read the request at all.
	 */
	const char *registry_path;
	bool registry_undecodable;

	/*
	 * Pipes, as the gate found them.  no_session: the named-pipe
	 * handshake carried no session, so there is nobody to forward the
	 * caller as.  pipe_dir_unsafe: the gate's socket directory is not
	 * root's with mode 0700, so anyone could have put a socket in the
	 * path; restricted sessions are refused what would be allowed.
	 */
	bool no_session;
	bool pipe_dir_unsafe;
};

/*
 * Whether a rule applies to a request.  A condition that cannot be judged
 * (no client address, no token) makes a deny rule apply and an allow rule
 * not: failing closed.  guests_restricted: guests are held to the
 * anonymous rules, so rules for anonymous sessions apply to them.  On a
 * match *match and *listed say how the rule's pipe list reached the pipe.
 */
bool ipcguard_rule_applies(const struct ipcguard_rule *rule,
			   const struct ipcguard_request *request,
			   bool guests_restricted,
			   const struct ipcguard_rule_hooks *hooks,
			   enum ipcguard_pipe_match *match,
			   const char **listed);

/*
 * Which rules a request can reach, worked out once when the rules change
 * rather than for each rule at each decision.  A rule is about shares or
 * about pipes, and a pipe rule about one stage: opens (no interface),
 * binds (interfaces, no opnum) or requests (opnums).  Each kind of request
 * gets the rules of its kind, in evaluation order, each with masks that
 * turn away most rules about another interface, opnum or name without
 * looking at them.  The masks are Bloom filters: a clear bit means the
 * rule cannot apply, a set one nothing; ipcguard_rule_applies() still
 * judges every rule they let through, so the index can make a decision
 * quicker but never another one.
 */
struct ipcguard_rule_slot {
	const struct ipcguard_rule *rule;
	uint64_t interfaces;	/* a bit for each interface UUID */
	uint64_t opnums;	/* bit (opnum % 64) of each opnum */
	uint64_t lengths;	/* bit (length % 64) of each name reached */
};

/* The bits of one request, for ipcguard_rule_slot_may_apply(). */
struct ipcguard_rule_probe {
	uint64_t interface;
	uint64_t opnum;
	uint64_t length;
};

enum ipcguard_rule_target {
	IPCGUARD_TARGET_SHARE = 0,
	IPCGUARD_TARGET_OPEN,
	IPCGUARD_TARGET_BIND,
	IPCGUARD_TARGET_REQUEST,
	IPCGUARD_TARGET_COUNT
};

struct ipcguard_rule_index {
	/* The rules it was built from: rules that changed since (another
	 * array or another count) are not what it indexes, see
	 * ipcguard_rule_index_valid(). */
	struct ipcguard_rule * const *rules;
	size_t num_rules;
	const struct ipcguard_rule_slot *slots[IPCGUARD_TARGET_COUNT];
	size_t num_slots[IPCGUARD_TARGET_COUNT];
};

/*
 * Index rules (in evaluation order).  NULL when out of memory: decisions
 * then look at every rule, as they would have anyway.
 */
struct ipcguard_rule_index *ipcguard_rule_index_build(
	TALLOC_CTX *mem_ctx, struct ipcguard_rule * const *rules,
	size_t num_rules);

static inline bool ipcguard_rule_index_valid(
	const struct ipcguard_rule_index *index,
	struct ipcguard_rule * const *rules, size_t num_rules)
{
	return index != NULL && index->rules == rules &&
	       index->num_rules == num_rules;
}

/*
 * The slots a request can reach (*num_slots of them, possibly none) and
 * the probe to test them with.
 */
const struct ipcguard_rule_slot *ipcguard_rule_index_lookup(
	const struct ipcguard_rule_index *index,
	const struct ipcguard_request *request,
	struct ipcguard_rule_probe *probe, size_t *num_slots);

/* false: the slot's rule cannot apply to the probed request. */
static inline bool ipcguard_rule_slot_may_apply(
	const struct ipcguard_rule_slot *slot,
	const struct ipcguard_rule_probe *probe)
{
	return (slot->interfaces & probe->interface) != 0 &&
	       (slot->opnums & probe->opnum) != 0 &&
	       (slot->lengths & probe->length) != 0;
}

#endif /* IPCGUARD_RULE_H */
