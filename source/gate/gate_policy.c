/*
 * ipcguardd: the policy in force, and the one place that asks the engine.
 *
 * The policy is loaded at start and on every smb.conf reload; connections
 * are judged by conn_judge() at every stage (open, bind, call), which also
 * counts what each database rule did.  The judge_*() functions turn the
 * client's binds and requests into those questions.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include "includes.h"
#include "librpc/rpc/dcerpc_util.h"
#include "librpc/rpc/rpc_common.h"
#include "libcli/security/security.h"
#include "messages.h"

#include "ipcguard_policy.h"
#include "ipcguard_contexts.h"
#include "ipcguard_session.h"
#include "ipcguard_gate_probe.h"
#include "ipcguard_smbconf.h"
#include "ipcguard_audit.h"
#include "ipcguard_samba_hooks.h"
#include "ipcguard_load.h"
#include "ipcguard_last_valid.h"
#include "gate.h"
#include "gate_winreg.h"

/*
 * Load the policy from the current smb.conf and rule database.  On start
 * an invalid policy is kept (it refuses anonymous callers); on reload the
 * previous valid policy stays in force.  A valid one is copied for the
 * next load that finds the rule database gone (ipcguard_last_valid_save();
 * the gate holds its last valid policy itself, so it saves only that copy).
 */
bool gate_load_policy(struct ipcguardd *gate, bool reload)
{
	struct ipcguard_policy *policy = NULL;
	const char *problem = NULL;
	char *error = NULL;
	size_t i;

	policy = ipcguard_policy_load_all(gate);
	if (policy == NULL) {
		DBG_ERR("ipcguardd: out of memory loading the policy\n");
		return false;
	}
	problem = ipcguard_ungated_transports(policy->tcp_door_port);
	if (problem != NULL && !reload) {
		DBG_ERR("ipcguardd: %s\n", problem);
	}
	for (i = 0; policy->errors[i] != NULL; i++) {
		DBG_ERR("ipcguardd: invalid policy: %s\n", policy->errors[i]);
	}
	for (i = 0; policy->warnings != NULL && policy->warnings[i] != NULL;
	     i++) {
		DBG_ERR("ipcguardd: %s\n", policy->warnings[i]);
	}
	if (!ipcguard_policy_is_valid(policy) && reload &&
	    gate->policy != NULL) {
		DBG_ERR("ipcguardd: reload rejected, keeping the previous "
			"policy in force\n");
		TALLOC_FREE(gate->reload_problem);
		gate->reload_problem = talloc_asprintf(
			gate, "reload rejected, the previous policy stays in "
			"force: %s", policy->errors[0]);
		TALLOC_FREE(policy);
		return false;
	}
	TALLOC_FREE(gate->reload_problem);
	if (!ipcguard_policy_is_valid(policy)) {
		DBG_ERR("ipcguardd: no valid policy: refusing anonymous and "
			"guest callers on every pipe\n");
	} else {
		if (!ipcguard_last_valid_save(policy, policy, 0, &error)) {
			DBG_ERR("ipcguardd: %s\n", error);
		}
		TALLOC_FREE(error);
	}
	TALLOC_FREE(gate->policy);
	gate->policy = policy;
	DBG_NOTICE("ipcguardd: policy loaded with %zu database rule%s\n",
		   policy->num_rules, policy->num_rules == 1 ? "" : "s");
	return true;
}

static struct rule_counter *rule_counter(struct ipcguardd *gate,
					 const struct ipcguard_rule *rule)
{
	struct rule_counter *tmp = NULL;
	size_t i;

	for (i = 0; i < gate->num_rule_counters; i++) {
		if (strcmp(gate->rule_counters[i].name, rule->name) == 0) {
			return &gate->rule_counters[i];
		}
	}
	tmp = talloc_realloc(gate, gate->rule_counters, struct rule_counter,
			     gate->num_rule_counters + 1);
	if (tmp == NULL) {
		return NULL;
	}
	gate->rule_counters = tmp;
	tmp = &gate->rule_counters[gate->num_rule_counters];
	*tmp = (struct rule_counter) {
		.name = talloc_strdup(gate->rule_counters, rule->name),
	};
	if (tmp->name == NULL) {
		return NULL;
	}
	gate->num_rule_counters++;
	return tmp;
}

static void count_decision(struct ipcguardd *gate,
			   const struct ipcguard_decision *decision)
{
	struct rule_counter *c = NULL;

	if (decision->by_rule != NULL) {
		c = rule_counter(gate, decision->by_rule);
		if (c != NULL && decision->verdict == IPCGUARD_ALLOW) {
			c->allowed++;
		} else if (c != NULL) {
			c->refused++;
		}
	}
	if (decision->audit_rule != NULL) {
		c = rule_counter(gate, decision->audit_rule);
		if (c != NULL) {
			c->would++;
		}
	}
}

struct conn_judging {
	struct ipcguardd_conn *conn;
	enum ipcguard_stage last;
};

/*
 * Every stage the engine judged is counted and audited.  Audit-only rules
 * are logged here; they never change the verdict.
 */
static void conn_observe(const struct ipcguard_request *at,
			 const struct ipcguard_decision *decision,
			 void *private_data)
{
	struct conn_judging *j = private_data;
	struct ipcguardd_conn *conn = j->conn;
	struct ipcguardd *gate = conn->gate;
	const struct ipcguard_rule *audit = decision->audit_rule;

	j->last = at->stage;
	count_decision(gate, decision);
	ipcguard_audit(ipcguardd_debug_class, gate->policy, at, decision,
		       conn->user, conn->sids, conn->client);
	if (audit == NULL) {
		return;
	}
	DBG_WARNING("ipcguardd: rule %s (audit only) would %s %s on pipe '%s' "
		    "to %s session (user '%s', client %s); %s by rule %s\n",
		    audit->name, audit->allow ? "allow" : "refuse",
		    ipcguard_stage_name(at->stage), conn->pipe,
		    ipcguard_session_kind_name(conn->kind), conn->user,
		    conn->client,
		    decision->verdict == IPCGUARD_ALLOW ? "allowed" :
		    "refused", decision->rule);
}

/*
 * The one place the gate asks the engine: the request at its stage, after
 * the stages from `first` on.  Returns the stage the decision was made at.
 */
enum ipcguard_stage conn_judge(struct ipcguardd_conn *conn,
			       struct ipcguard_request *request,
			       enum ipcguard_stage first,
			       struct ipcguard_decision *decision)
{
	struct conn_judging j = { .conn = conn, .last = first };

	request->session = conn->kind;
	request->object = IPCGUARD_OBJECT_PIPE;
	request->name = conn->pipe;
	request->address = conn->have_address ? &conn->address : NULL;
	request->token = conn->token;
	request->local_system = conn->local_system;
	request->no_session = conn->tcp == NULL && conn->token == NULL;
	request->pipe_dir_unsafe = conn->gate->np_dir_unsafe;
	if (conn->tcp != NULL) {
		ipcguard_judge_tcp(conn->gate->policy, request, decision,
				   conn_observe, &j);
		return j.last;
	}
	ipcguard_judge(conn->gate->policy, request, first, decision,
		       conn_observe, &j);
	return j.last;
}

static void log_rpc_refusal(struct ipcguardd_conn *conn,
			    const struct ipcguard_request *request,
			    const struct ipcguard_decision *decision)
{
	char *iface = ipcguard_syntax_name(conn, &request->syntax);
	const char *op = ipcguard_opnum_name(&request->syntax,
					     request->opnum);

	conn->gate->num_rpc_refused++;
	if (request->stage == IPCGUARD_STAGE_REQUEST) {
		DBG_WARNING("ipcguardd: refused call %s opnum %u (%s) on pipe "
			    "'%s' to %s session (user '%s', client %s): rule "
			    "%s: %s%s%s%s\n", iface, (unsigned)request->opnum,
			    op != NULL ? op : "unknown", conn->pipe,
			    ipcguard_session_kind_name(conn->kind),
			    conn->user, conn->client, decision->rule,
			    decision->reason,
			    request->registry_path == NULL ? "" :
			    request->registry_path[0] == '\0' ?
			    ": registry key 'HKLM" : ": registry key 'HKLM\\",
			    request->registry_path != NULL ?
			    request->registry_path : "",
			    request->registry_path != NULL ? "'" : "");
	} else {
		DBG_WARNING("ipcguardd: refused binding %s on pipe '%s' to %s "
			    "session (user '%s', client %s): rule %s: %s\n",
			    iface, conn->pipe,
			    ipcguard_session_kind_name(conn->kind),
			    conn->user, conn->client, decision->rule,
			    decision->reason);
	}
	TALLOC_FREE(iface);
}

/*
 * Whether the gate judges this connection's binds and calls: every pipe;
 * over TCP, callers not (yet) shown to be authenticated.  Binds of callers
 * whose authentication is still under way go on unjudged, their calls
 * are judged from the bind on.
 */
static bool conn_judges(const struct ipcguardd_conn *conn, bool bind)
{
	if (conn->tcp == NULL) {
		return true;
	}
	if (conn->tcp->caller == GATE_TCP_AUTHENTICATED) {
		return false;
	}
	return !bind || conn->tcp->caller == GATE_TCP_ANONYMOUS;
}

/*
 * Every context of a bind or alter context must be allowed, and the offer
 * must be one the server's answer can be matched against.
 */
static bool judge_bind(struct ipcguardd_conn *conn, uint32_t call_id,
		       const struct dcerpc_bind *bind)
{
	struct ipcguard_context_item items[UINT8_MAX];
	const char *why = NULL;
	uint8_t i;

	for (i = 0; conn_judges(conn, true) && i < bind->num_contexts; i++) {
		struct ipcguard_request request = {
			.stage = IPCGUARD_STAGE_BIND,
		};
		struct ipcguard_decision decision = { 0 };

		ipcguard_syntax_from_ndr(&bind->ctx_list[i].abstract_syntax,
					 &request.syntax);
		conn_judge(conn, &request, IPCGUARD_STAGE_BIND, &decision);
		if (decision.verdict != IPCGUARD_ALLOW) {
			log_rpc_refusal(conn, &request, &decision);
			return false;
		}
	}
	for (i = 0; i < bind->num_contexts; i++) {
		items[i].id = bind->ctx_list[i].context_id;
		ipcguard_syntax_from_ndr(&bind->ctx_list[i].abstract_syntax,
					 &items[i].syntax);
	}
	if (!ipcguard_contexts_offer(conn->contexts, call_id, items,
				     bind->num_contexts, &why)) {
		conn->gate->num_rpc_refused++;
		DBG_WARNING("ipcguardd: refused a bind or alter context on "
			    "pipe '%s' of %s session (user '%s', client %s): "
			    "%s\n", conn->pipe,
			    ipcguard_session_kind_name(conn->kind),
			    conn->user, conn->client, why);
		return false;
	}
	return true;
}

/*
 * A request is judged on its interface (the reloaded policy may refuse a
 * context bound earlier) and its opnum, which sits in the clear header of
 * every fragment, sealed or not.
 */
static bool judge_request(struct ipcguardd_conn *conn,
			  const struct ncacn_packet *pkt)
{
	const struct dcerpc_request *req = &pkt->u.request;
	const struct ipcguard_syntax *bound = ipcguard_contexts_find(
		conn->contexts, req->context_id);
	struct ipcguard_request request = {
		.stage = IPCGUARD_STAGE_REQUEST,
		.opnum = req->opnum,
	};
	struct ipcguard_decision decision = { 0 };

	if (bound == NULL) {
		/* Not bound by the server: it would fault it too. */
		DBG_WARNING("ipcguardd: refused call opnum %u on context %u, "
			    "which the RPC server never bound, on pipe '%s' "
			    "of %s session (user '%s', client %s)\n",
			    (unsigned)req->opnum, (unsigned)req->context_id,
			    conn->pipe, ipcguard_session_kind_name(conn->kind),
			    conn->user, conn->client);
		conn->gate->num_rpc_refused++;
		return false;
	}
	if (!conn_judges(conn, false)) {
		return true;
	}
	request.syntax = *bound;
	gate_winreg_describe(conn, &conn->winreg, conn->gate->policy,
			     conn->token, pkt, &request);
	request.stage = conn_judge(conn, &request, IPCGUARD_STAGE_BIND,
				   &decision);
	if (decision.verdict != IPCGUARD_ALLOW) {
		log_rpc_refusal(conn, &request, &decision);
		return false;
	}
	gate_winreg_forwarded(conn->winreg, pkt);
	return true;
}

/*
 * What becomes of one client PDU: binds and the first fragment of a
 * request are judged, later fragments follow their call.
 */
enum pdu_fate judge_pdu(struct ipcguardd_conn *conn, struct gate_call *call,
			const struct ncacn_packet *pkt)
{
	const struct dcerpc_request *req = &pkt->u.request;
	bool first = (pkt->pfc_flags & DCERPC_PFC_FLAG_FIRST) != 0;
	bool last = (pkt->pfc_flags & DCERPC_PFC_FLAG_LAST) != 0;

	if (conn->tcp != NULL) {
		gate_tcp_learn(conn, pkt);
	}
	switch (pkt->ptype) {
	case DCERPC_PKT_BIND:
		return judge_bind(conn, pkt->call_id, &pkt->u.bind) ?
			PDU_FORWARD : PDU_FAULT;
	case DCERPC_PKT_ALTER:
		return judge_bind(conn, pkt->call_id, &pkt->u.alter) ?
			PDU_FORWARD : PDU_FAULT;
	case DCERPC_PKT_REQUEST:
		break;
	default:
		return PDU_FORWARD;
	}
	if (first) {
		if (call->in_call && !call->refusing_call) {
			/* A new call inside an unfinished one. */
			return PDU_CLOSE;
		}
		call->in_call = true;
		call->call_id = pkt->call_id;
		call->call_context_id = req->context_id;
		call->call_opnum = req->opnum;
		call->refusing_call = !judge_request(conn, pkt);
	} else if (!call->in_call || pkt->call_id != call->call_id ||
		   req->context_id != call->call_context_id ||
		   req->opnum != call->call_opnum) {
		/* Later fragments must continue the call we judged. */
		return PDU_CLOSE;
	}
	if (last) {
		call->in_call = false;
	}
	if (!call->refusing_call) {
		return PDU_FORWARD;
	}
	return last ? PDU_FAULT : PDU_DROP;
}

/*
 * Whether the token the RPC server got for conn at its open is one the
 * reloaded policy would no longer compose: Everyone kept in a token the
 * policy now takes it from.  The server checks its access with that
 * token for as long as the pipe lives, so the pipe must end.
 */
static bool token_outdated(const struct ipcguardd *gate,
			   const struct ipcguardd_conn *conn)
{
	return conn->token != NULL &&
	       ipcguard_strip_everyone(gate->policy, conn->kind) &&
	       security_token_has_sid(conn->token, &global_sid_World);
}

static void gate_reload_now(struct ipcguardd *gate);

/* MSG_SMB_CONF_UPDATED, as smbcontrol reload-config sends it. */
void gate_reload(struct messaging_context *msg, void *private_data,
		 uint32_t msg_type, struct server_id server_id,
		 DATA_BLOB *data)
{
	DBG_NOTICE("ipcguardd: reloading the configuration\n");
	gate_reload_now(talloc_get_type_abort(private_data,
					      struct ipcguardd));
}

/*
 * smbd's processes re-read smb.conf by themselves when it (or, with
 * "include = registry", the registry configuration) changes: at every
 * new connection, and every SMBD_RELOAD_CHECK (3 minutes) in those
 * already up, so the module follows a change without a reload.  The gate
 * looks every second and follows too: the two halves never keep
 * different policies until somebody reloads.
 */
void gate_check_config(struct ipcguardd *gate)
{
	if (!lp_file_list_changed()) {
		return;
	}
	DBG_NOTICE("ipcguardd: the configuration changed; reloading it\n");
	gate_reload_now(gate);
}

static void gate_reload_now(struct ipcguardd *gate)
{
	struct ipcguardd_conn *conn = NULL, *next = NULL;

	if (!lp_load_global(get_dyn_CONFIGFILE())) {
		DBG_ERR("ipcguardd: could not reload %s; keeping the "
			"previous policy in force\n", get_dyn_CONFIGFILE());
		return;
	}
	reopen_logs();
	if (!gate_load_policy(gate, true)) {
		return;
	}
	gate_tcp_door_setup(gate);
	/* A tightened policy also ends live pipes it now refuses. */
	for (conn = gate->conns; conn != NULL; conn = next) {
		struct ipcguard_request request = {
			.stage = IPCGUARD_STAGE_OPEN,
		};
		struct ipcguard_decision decision = { 0 };

		next = conn->next;
		if (!conn->allowed || conn->tcp != NULL) {
			/* TCP callers open nothing: each call is judged. */
			continue;
		}
		conn_judge(conn, &request, IPCGUARD_STAGE_OPEN, &decision);
		if (decision.verdict == IPCGUARD_ALLOW &&
		    !token_outdated(gate, conn)) {
			continue;
		}
		gate->num_refused++;
		conn->listener->num_refused++;
		if (decision.verdict == IPCGUARD_ALLOW) {
			DBG_WARNING("ipcguardd: ended pipe '%s' of %s session "
				    "(user '%s', client %s) after reload: the "
				    "RPC server holds its token with Everyone, "
				    "which the policy now takes from %s "
				    "sessions (everyone includes anonymous)\n",
				    conn->pipe,
				    ipcguard_session_kind_name(conn->kind),
				    conn->user, conn->client,
				    ipcguard_session_kind_name(conn->kind));
		} else {
			DBG_WARNING("ipcguardd: ended pipe '%s' of %s session "
				    "(user '%s', client %s) after reload: rule "
				    "%s: %s\n", conn->pipe,
				    ipcguard_session_kind_name(conn->kind),
				    conn->user, conn->client, decision.rule,
				    decision.reason);
		}
		conn_done(conn, "refused by the reloaded policy");
	}
}
