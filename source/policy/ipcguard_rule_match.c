/*
 * ipcguard rules: whether a rule applies to a request, and the pipe
 * names that reach the same RPC interfaces.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "ipcguard_rule.h"
#include "ipcguard_parse.h"

/* Whether a list entry is "*": asked of every entry at every decision,
 * so without a call into libc. */
static bool is_star(const char *entry)
{
	return entry[0] == '*' && entry[1] == '\0';
}

static bool name_matches(const char * const *list, const char *name)
{
	if (list != NULL && list[0] != NULL && is_star(list[0])) {
		return true;
	}
	return ipcguard_name_listed(list, name);
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
		if (is_star(list[i]) ||
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

/*
 * Which object, stage, interface and operation a rule is about.  The
 * interface and the operation are compared first: they are cheap, and
 * at binds and requests most rules are about another interface.  The
 * rule index (end of this file) leaves out rules this turns away: a
 * change here is a change there.
 */
static bool rule_targets(const struct ipcguard_rule *rule,
			 const struct ipcguard_request *request,
			 enum ipcguard_pipe_match *match, const char **listed)
{
	switch (request->object) {
	case IPCGUARD_OBJECT_SHARE:
		return name_matches(rule->shares, request->name);
	case IPCGUARD_OBJECT_IPC:
		return false;
	case IPCGUARD_OBJECT_PIPE:
		break;
	}
	switch (request->stage) {
	case IPCGUARD_STAGE_OPEN:
		if (rule->num_interfaces != 0) {
			return false;
		}
		break;
	case IPCGUARD_STAGE_BIND:
		if (rule->num_interfaces == 0 || rule->num_opnums != 0 ||
		    !interface_matches(rule, &request->syntax)) {
			return false;
		}
		break;
	case IPCGUARD_STAGE_REQUEST:
		if (rule->num_opnums == 0 ||
		    !interface_matches(rule, &request->syntax) ||
		    !opnum_matches(rule, request->opnum)) {
			return false;
		}
		break;
	default:
		return false;
	}
	*match = pipe_matches(rule, request, listed);
	return *match != IPCGUARD_PIPE_NO_MATCH;
}

static bool session_fits(const struct ipcguard_rule *rule,
			 const struct ipcguard_request *request,
			 bool guests_restricted)
{
	unsigned kind;

	if (rule->sessions == 0) {
		return true;
	}
	kind = 1u << request->session;
	/* Guests held to the anonymous rules are anonymous here. */
	if (request->session == IPCGUARD_SESSION_GUEST && guests_restricted) {
		kind |= 1u << IPCGUARD_SESSION_ANONYMOUS;
	}
	return (rule->sessions & kind) != 0;
}

/* Whether the client's known address is outside all of a rule's ranges
 * (the rule does not apply); an unknown one is judged by the caller. */
static bool address_outside(const struct ipcguard_rule *rule,
			    const struct ipcguard_request *request)
{
	size_t i;

	if (rule->num_addresses == 0 || request->address == NULL) {
		return false;
	}
	for (i = 0; i < rule->num_addresses; i++) {
		if (address_in(&rule->addresses[i], request->address)) {
			return false;
		}
	}
	return true;
}

/*
 * A security descriptor says who is permitted: an allow rule applies to
 * callers it grants access, a deny rule to callers it does not.  The
 * session and a known address are looked at before the names: each only
 * ever turns a rule away, and they cost less than comparing pipe names.
 */
bool ipcguard_rule_applies(const struct ipcguard_rule *rule,
			   const struct ipcguard_request *request,
			   bool guests_restricted,
			   const struct ipcguard_rule_hooks *hooks,
			   enum ipcguard_pipe_match *match,
			   const char **listed)
{
	*match = IPCGUARD_PIPE_NO_MATCH;
	*listed = NULL;
	if (!session_fits(rule, request, guests_restricted) ||
	    address_outside(rule, request) ||
	    !rule_targets(rule, request, match, listed)) {
		return false;
	}
	if (rule->num_addresses > 0 && request->address == NULL) {
		return !rule->allow;
	}
	if (rule->exempt_local_system && request->local_system) {
		return rule->allow;
	}
	if (rule->sd != NULL) {
		bool granted;

		granted = request->token != NULL && hooks != NULL &&
			  hooks->access_check != NULL &&
			  hooks->access_check(rule->sd, request->token,
					      rule->access);

		return rule->allow ? granted : !granted;
	}
	return true;
}

/*
 * Pipe names that reach the same RPC interfaces, as Samba 4.17 serves
 * them.  samba-dcerpcd gives each pipe name its own endpoint with its own
 * interface list (librpc/rpc/dcesrv_core.c: dcesrv_interface_register()
 * and find_interface_by_syntax_id()), filled from the endpoint() list of
 * each interface's IDL; a bind to an interface its pipe does not list is
 * rejected.  So which names reach an interface is a fixed table, kept here
 * because a rule that names one of them must hold on all of them: a rule
 * about \lsarpc that \lsass gets round is no rule.
 *
 * Aliases: names whose endpoints list the same interfaces (lsa.idl and
 * dssetup.idl both name \lsarpc and \lsass; ntsvcs.idl names \ntsvcs and
 * \plugplay).  On an AD DC \lsass carries drsuapi as well (drsuapi.idl).
 */
static const char * const pipe_aliases[][2] = {
	{ "lsarpc", "lsass" },
	{ "ntsvcs", "plugplay" },
};

/*
 * Interfaces served on more than one endpoint.  "homes" are the pipes of
 * the interface's IDL endpoint() list; "also" are pipes registered by
 * hand: source3/rpc_server/lsa/srv_lsa_nt.c
 * (dcesrv_interface_lsarpc_init_server) puts lsarpc on \netlogon too,
 * which samba-dcerpcd listens on in the classic domain controller roles
 * (source3/rpc_server/rpcd_lsad.c), as source4's AD DC does with
 * "lsa over netlogon = yes".  Every other interface Samba 4.17 serves has
 * exactly one pipe, or one alias group.
 */
static const struct {
	const char *name;
	const char *uuid;
	uint16_t major;
	const char *homes[3];
	const char *also[2];
} pipe_carriers[] = {
	{ "lsarpc", "12345778-1234-abcd-ef00-0123456789ab", 0,
	  { "lsarpc", "lsass" }, { "netlogon" } },
	{ "dssetup", "3919286a-b10c-11d0-9ba8-00c04fd92ef5", 0,
	  { "lsarpc", "lsass" }, { NULL } },
	{ "drsuapi", "e3514235-4b06-11d1-ab04-00c04fc2dcd2", 4,
	  { "lsass", "protected_storage" }, { NULL } },
	{ "ntsvcs", "8d9f4e40-a03d-11ce-8f69-08003e30051b", 1,
	  { "ntsvcs", "plugplay" }, { NULL } },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static bool in_names(const char * const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n && names[i] != NULL; i++) {
		if (strcasecmp(names[i], name) == 0) {
			return true;
		}
	}
	return false;
}

bool ipcguard_pipe_is_alias(const char *listed, const char *pipe)
{
	size_t i;

	if (listed == NULL || pipe == NULL || strcasecmp(listed, pipe) == 0) {
		return false;
	}
	for (i = 0; i < ARRAY_LEN(pipe_aliases); i++) {
		if (in_names(pipe_aliases[i], 2, listed) &&
		    in_names(pipe_aliases[i], 2, pipe)) {
			return true;
		}
	}
	return false;
}

static int carrier_of(const uint8_t uuid[16])
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(pipe_carriers); i++) {
		uint8_t known[16];

		if (ipcguard_uuid_parse(pipe_carriers[i].uuid, known) &&
		    memcmp(known, uuid, sizeof(known)) == 0) {
			return i;
		}
	}
	return -1;
}

bool ipcguard_pipe_is_home(const char *pipe, const uint8_t uuid[16])
{
	int c = carrier_of(uuid);

	return c >= 0 && pipe != NULL &&
	       in_names(pipe_carriers[c].homes, 3, pipe);
}

bool ipcguard_pipe_carries(const char *pipe, const uint8_t uuid[16])
{
	int c = carrier_of(uuid);

	return c >= 0 && pipe != NULL &&
	       (in_names(pipe_carriers[c].homes, 3, pipe) ||
		in_names(pipe_carriers[c].also, 2, pipe));
}

static const char **add_pipe(const char **pipes, const char *name)
{
	size_t n = talloc_array_length(pipes);

	if (name == NULL || in_names(pipes, n, name)) {
		return pipes;
	}
	pipes = talloc_realloc(NULL, pipes, const char *, n + 1);
	if (pipes == NULL) {
		return NULL;
	}
	pipes[n - 1] = name;
	pipes[n] = NULL;
	return pipes;
}

const char **ipcguard_pipes_carrying(const char **pipes,
				     const uint8_t uuid[16])
{
	int c = carrier_of(uuid);
	size_t i;

	for (i = 0; c >= 0 && pipes != NULL && i < 3 + 2; i++) {
		pipes = add_pipe(pipes, i < 3 ? pipe_carriers[c].homes[i] :
				 pipe_carriers[c].also[i - 3]);
	}
	return pipes;
}

/*
 * The interfaces of the table a rule names (not "*": a rule about every
 * interface of a pipe is about that pipe) without naming one of their own
 * pipes, so that the rule does not follow them to the other pipes that
 * carry them: "lsarpc on \lsarpc, \lsass" for a rule about lsarpc on
 * \netlogon.  NULL when there are none.  For "ipcguard check".
 */
char *ipcguard_rule_missed_pipes(TALLOC_CTX *mem_ctx,
				 const struct ipcguard_rule *rule)
{
	char *out = NULL;
	size_t i, j, k;

	if (rule->pipes == NULL || rule->num_interfaces == 0 ||
	    (rule->pipes[0] != NULL && strcmp(rule->pipes[0], "*") == 0)) {
		return NULL;
	}
	for (i = 0; i < ARRAY_LEN(pipe_carriers); i++) {
		const char *sep = "";
		uint8_t uuid[16];
		bool named = false;

		if (!ipcguard_uuid_parse(pipe_carriers[i].uuid, uuid)) {
			continue;
		}
		for (j = 0; j < rule->num_interfaces; j++) {
			const struct ipcguard_interface_match *m =
				&rule->interfaces[j];

			if (!m->any && memcmp(m->syntax.uuid, uuid, 16) == 0 &&
			    (m->any_version ||
			     m->syntax.major == pipe_carriers[i].major)) {
				named = true;
			}
		}
		for (k = 0; named && rule->pipes[k] != NULL; k++) {
			if (ipcguard_pipe_is_home(rule->pipes[k], uuid)) {
				named = false;
			}
		}
		if (!named) {
			continue;
		}
		out = talloc_asprintf_append_buffer(
			out != NULL ? out : talloc_strdup(mem_ctx, ""),
			"%s%s on", out != NULL ? "; " : "",
			pipe_carriers[i].name);
		for (k = 0; out != NULL && k < 3 + 2; k++) {
			const char *p = k < 3 ? pipe_carriers[i].homes[k] :
				pipe_carriers[i].also[k - 3];

			if (p == NULL || in_names(rule->pipes, SIZE_MAX, p)) {
				continue;
			}
			out = talloc_asprintf_append_buffer(out, "%s \\%s",
							    sep, p);
			sep = ",";
		}
		if (out == NULL) {
			return NULL;
		}
	}
	return out;
}

/*
 * The rule index (ipcguard_rule.h).  Everything below only leaves out of
 * a list, or clears a mask bit of, rules that rule_targets() turns away
 * for every request of the list's kind, or for every request with that
 * bit: the test suite compares decisions with and without the index.
 */

/* The kind of request rule_targets() sees, or -1: none reaches a rule.
 * Like rule_targets(), an object it does not know counts as a pipe. */
static int request_target(const struct ipcguard_request *request)
{
	switch (request->object) {
	case IPCGUARD_OBJECT_SHARE:
		return IPCGUARD_TARGET_SHARE;
	case IPCGUARD_OBJECT_IPC:
		return -1;
	case IPCGUARD_OBJECT_PIPE:
		break;
	}
	switch (request->stage) {
	case IPCGUARD_STAGE_OPEN:
		return IPCGUARD_TARGET_OPEN;
	case IPCGUARD_STAGE_BIND:
		return IPCGUARD_TARGET_BIND;
	case IPCGUARD_STAGE_REQUEST:
		return IPCGUARD_TARGET_REQUEST;
	}
	return -1;
}

/* Whether rule_targets() can match a rule for a kind of request. */
static bool rule_reaches(const struct ipcguard_rule *rule, int target)
{
	switch (target) {
	case IPCGUARD_TARGET_SHARE:
		return rule->shares != NULL;
	case IPCGUARD_TARGET_OPEN:
		return rule->pipes != NULL && rule->num_interfaces == 0;
	case IPCGUARD_TARGET_BIND:
		return rule->pipes != NULL && rule->num_interfaces != 0 &&
		       rule->num_opnums == 0;
	case IPCGUARD_TARGET_REQUEST:
		return rule->pipes != NULL && rule->num_interfaces != 0 &&
		       rule->num_opnums != 0;
	}
	return false;
}

#define ALL_BITS UINT64_MAX

static uint64_t interface_bit(const uint8_t uuid[16])
{
	uint64_t a, b;

	memcpy(&a, uuid, sizeof(a));
	memcpy(&b, uuid + 8, sizeof(b));
	a ^= b;
	a ^= a >> 29;
	a *= UINT64_C(0x9e3779b97f4a7c15);
	return UINT64_C(1) << (a >> 58);
}

/* Names the same under strcasecmp() have the same length, whatever the
 * locale folds: a name's length is what its case does not change. */
static uint64_t length_bit(const char *name)
{
	return UINT64_C(1) << (strlen(name) % 64);
}

static uint64_t interfaces_mask(const struct ipcguard_rule *rule)
{
	uint64_t mask = 0;
	size_t i;

	for (i = 0; i < rule->num_interfaces; i++) {
		if (rule->interfaces[i].any) {
			return ALL_BITS;
		}
		mask |= interface_bit(rule->interfaces[i].syntax.uuid);
	}
	return mask;
}

static uint64_t opnums_mask(const struct ipcguard_rule *rule)
{
	uint64_t mask = 0;
	size_t i;

	for (i = 0; i < rule->num_opnums; i++) {
		unsigned v;

		if (rule->opnums[i].last - rule->opnums[i].first >= 63) {
			return ALL_BITS;
		}
		for (v = rule->opnums[i].first; v <= rule->opnums[i].last;
		     v++) {
			mask |= UINT64_C(1) << (v % 64);
		}
	}
	return mask;
}

/*
 * The lengths of the names a rule's list reaches: its own, and at every
 * stage the aliases of those (pipe_matches()).  At binds and requests a
 * rule listing an interface's own pipe reaches any pipe that carries the
 * interface, and a deny rule any pipe at all, so it can have any length.
 */
static uint64_t lengths_mask(const struct ipcguard_rule *rule, int target)
{
	const char * const *list = target == IPCGUARD_TARGET_SHARE ?
		rule->shares : rule->pipes;
	uint64_t mask = 0;
	size_t i, j;

	if (target == IPCGUARD_TARGET_SHARE) {
		/* name_matches(): only a leading "*" means any share. */
		if (list[0] != NULL && is_star(list[0])) {
			return ALL_BITS;
		}
		for (i = 0; list[i] != NULL; i++) {
			mask |= length_bit(list[i]);
		}
		return mask;
	}
	for (i = 0; list[i] != NULL; i++) {
		if (is_star(list[i])) {
			return ALL_BITS;
		}
		mask |= length_bit(list[i]);
		for (j = 0; j < ARRAY_LEN(pipe_aliases); j++) {
			if (in_names(pipe_aliases[j], 2, list[i])) {
				mask |= length_bit(pipe_aliases[j][0]) |
					length_bit(pipe_aliases[j][1]);
			}
		}
		if (target == IPCGUARD_TARGET_OPEN) {
			continue;
		}
		for (j = 0; j < ARRAY_LEN(pipe_carriers); j++) {
			if (in_names(pipe_carriers[j].homes, 3, list[i])) {
				return ALL_BITS;
			}
		}
	}
	return mask;
}

static struct ipcguard_rule_slot slot_of(const struct ipcguard_rule *rule,
					 int target)
{
	struct ipcguard_rule_slot slot = {
		.rule = rule,
		.interfaces = ALL_BITS,
		.opnums = ALL_BITS,
		.lengths = lengths_mask(rule, target),
	};

	if (target == IPCGUARD_TARGET_BIND ||
	    target == IPCGUARD_TARGET_REQUEST) {
		slot.interfaces = interfaces_mask(rule);
	}
	if (target == IPCGUARD_TARGET_REQUEST) {
		slot.opnums = opnums_mask(rule);
	}
	return slot;
}

struct ipcguard_rule_index *ipcguard_rule_index_build(
	TALLOC_CTX *mem_ctx, struct ipcguard_rule * const *rules,
	size_t num_rules)
{
	struct ipcguard_rule_index *index = NULL;
	struct ipcguard_rule_slot *slots = NULL;
	size_t total = 0;
	size_t i;
	int t;

	index = talloc_zero(mem_ctx, struct ipcguard_rule_index);
	if (index == NULL) {
		return NULL;
	}
	index->rules = rules;
	index->num_rules = num_rules;
	for (t = 0; t < IPCGUARD_TARGET_COUNT; t++) {
		for (i = 0; i < num_rules; i++) {
			total += rule_reaches(rules[i], t) ? 1 : 0;
		}
	}
	if (total == 0) {
		return index;
	}
	slots = talloc_array(index, struct ipcguard_rule_slot, total);
	if (slots == NULL) {
		TALLOC_FREE(index);
		return NULL;
	}
	/* One kind after the other, each in evaluation order. */
	for (t = 0; t < IPCGUARD_TARGET_COUNT; t++) {
		index->slots[t] = slots;
		for (i = 0; i < num_rules; i++) {
			if (!rule_reaches(rules[i], t)) {
				continue;
			}
			*slots++ = slot_of(rules[i], t);
			index->num_slots[t]++;
		}
	}
	return index;
}

const struct ipcguard_rule_slot *ipcguard_rule_index_lookup(
	const struct ipcguard_rule_index *index,
	const struct ipcguard_request *request,
	struct ipcguard_rule_probe *probe, size_t *num_slots)
{
	int t = request_target(request);

	*num_slots = 0;
	if (t < 0) {
		return NULL;
	}
	probe->interface = interface_bit(request->syntax.uuid);
	probe->opnum = UINT64_C(1) << (request->opnum % 64);
	/* No name: name_matches() still lets "*" through. */
	probe->length = request->name != NULL ? length_bit(request->name) :
		ALL_BITS;
	*num_slots = index->num_slots[t];
	return index->slots[t];
}
