/*
 * ipcguardd: the named-pipe gate between smbd and Samba's RPC servers.
 *
 * Samba 4.17 opens a named pipe without any VFS operation: smbd connects
 * to <external_rpc_pipe:socket_dir>/np/<pipe> and hands over the caller's
 * whole session in a named_pipe_auth handshake.  samba-dcerpcd listens in
 * <ncalrpc dir>/np/ and never reads that option, so pointing it at our own
 * directory puts this daemon in front of every pipe open, with the
 * caller's token, before any RPC server sees the caller.
 *
 * For each open the gate completes the handshake with Samba's own npa
 * tstream code, asks the shared policy engine, and then either
 *
 *  - refuses: every DCE/RPC PDU the client sends that expects an answer
 *    (bind, alter context, the last fragment of a request) gets a FAULT
 *    with status access-denied, which rpcclient reports as
 *    NT_STATUS_ACCESS_DENIED.  smbd ignores the handshake reply's status
 *    and a dropped connection reads as NT_STATUS_CONNECTION_DISCONNECTED,
 *    which tells an admin nothing; or
 *
 *  - forwards: it connects to the real pipe with smbd's own client code
 *    (local_np_connect, which also starts samba-dcerpcd on demand) using
 *    the caller's session, with Everyone removed where the policy says
 *    anonymous is not Everyone, and relays whole PDUs both ways.
 *
 * smbd adds a "NPA flags" SID to the token it sends; local_np_connect
 * refuses a token that has one, so the gate takes it out and passes its
 * flags (need an idle server, winbind off) on the way smbd would.
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
#include <sys/un.h>
#include <malloc.h>
#include "lib/cmdline/cmdline.h"
#include "lib/util/dlinklist.h"
#include "lib/util/tevent_unix.h"
#include "lib/util/tevent_ntstatus.h"
#include "lib/tsocket/tsocket.h"
#include "libcli/named_pipe_auth/npa_tstream.h"
#include "librpc/gen_ndr/named_pipe_auth.h"
#include "librpc/gen_ndr/auth.h"
#include "librpc/rpc/dcerpc_util.h"
#include "librpc/rpc/rpc_common.h"
#include "libcli/security/security.h"
#include "source3/rpc_client/local_np.h"
#include "lib/util/server_id_db.h"
#include "messages.h"
#include "source3/lib/global_contexts.h"
#include "lib/util/pidfile.h"
#include "nsswitch/winbind_client.h"
#include "smbd/proto.h"

#include "ipcguard_policy.h"
#include "ipcguard_contexts.h"
#include "ipcguard_session.h"
#include "ipcguard_gate_probe.h"
#include "ipcguard_smbconf.h"
#include "ipcguard_audit.h"
#include "ipcguard_samba_hooks.h"
#include "ipcguard_load.h"
#include "ipcguard_last_valid.h"
#include "gate_winreg.h"

static int ipcguardd_debug_class = DBGC_ALL;
#undef DBGC_CLASS
#define DBGC_CLASS ipcguardd_debug_class

/*
 * smbd sends the handshake as soon as it has connected; a connection that
 * has not sent it by then never will, and must not keep its descriptor.
 */
#define IPCGUARD_HANDSHAKE_TIMEOUT 10
/*
 * A client told "access denied" a few times has been told; one that keeps
 * calling on a refused pipe only costs us writes.
 */
#define IPCGUARD_MAX_REFUSED_FAULTS 16
/* Descriptors the gate asks for, as smbd asks for "max open files". */
#define IPCGUARD_WANT_FILES 65536
/* How long accepting pauses when the gate is out of descriptors. */
#define IPCGUARD_ACCEPT_RETRY_MSEC 250

/*
 * Pipes Samba 4.17's RPC servers offer on a member or standalone server.
 * More appear as samba-dcerpcd creates them in <ncalrpc dir>/np/, which is
 * rescanned every second.
 */
static const char *baseline_pipes[] = {
	"epmapper", "eventlog", "fssagentrpc", "initshutdown", "lsarpc",
	"lsass", "mdssvc", "netdfs", "ntsvcs", "plugplay", "samr",
	"spoolss", "srvsvc", "svcctl", "winreg", "wkssvc", NULL,
};

struct ipcguardd;

/* The file a listening socket was bound to: see gate_check_sockets(). */
struct unix_socket_id {
	dev_t dev;
	ino_t ino;
};

struct ipcguardd_listener {
	struct ipcguardd_listener *prev, *next;
	struct ipcguardd *gate;
	char *name;
	int fd;
	struct tevent_fd *fde;
	struct unix_socket_id bound;	/* what fd was bound to */
	uint64_t num_allowed;
	uint64_t num_refused;
};

struct ipcguardd_conn;

/*
 * How many pipes one session, or one address's sessions of one class
 * (anonymous-like or not), hold open: what the pipe bounds judge.
 */
struct pipe_count {
	struct pipe_count *prev, *next;
	struct GUID session;		/* session counts */
	char *address;			/* address counts */
	bool restricted;		/* address counts: which class */
	unsigned open;
	bool refusal_logged;	/* the bound was reached and said so */
};

struct relay_direction {
	struct ipcguardd_conn *conn;
	struct tstream_context *from;
	struct tstream_context *to;
	const char *from_name;
	DATA_BLOB pdu;
	struct iovec iov;
	/* Responses are read into one buffer per pipe, kept at the size of
	 * the largest fragment seen: no allocation per fragment. */
	uint8_t *buf;
	size_t buf_size;
};

struct ipcguardd_conn {
	struct ipcguardd_conn *prev, *next;
	struct ipcguardd *gate;
	struct ipcguardd_listener *listener;	/* lives as long as the gate */
	char *pipe;
	enum ipcguard_session_kind kind;
	char *user;
	char *sids;
	char *client;
	bool allowed;
	/* What this pipe counts against; NULL until it is counted. */
	struct pipe_count *session_count;
	struct pipe_count *address_count;
	/* Ends the handshake, then a refused pipe, when overdue. */
	struct tevent_timer *deadline;
	unsigned faults;	/* answered on a refused pipe */
	uint32_t npa_flags;	/* smbd's NPA flags, taken out of the token */
	/* The token the RPC server sees: what rules' SDDL is checked on. */
	struct security_token *token;
	struct ipcguard_address address;
	bool have_address;
	struct tstream_context *client_stream;
	struct tstream_context *server_stream;
	/* Relayed answers and our faults share the way to the client. */
	struct tevent_queue *client_queue;
	struct relay_direction upstream;	/* client -> RPC server */
	struct relay_direction downstream;	/* RPC server -> client */
	/* Presentation contexts as the RPC server bound them. */
	struct ipcguard_contexts *contexts;
	/* No client PDU is read while a bind or alter context waits for
	 * the server's answer: a request must be judged on what it bound. */
	bool upstream_paused;
	/* The request being relayed or refused, fragment by fragment. */
	bool in_call;
	bool refusing_call;
	uint32_t call_id;
	uint16_t call_context_id;
	uint16_t call_opnum;
	struct gate_winreg *winreg;	/* winreg handles: gate_winreg.c */
};

/* What each database rule did since the gate started. */
struct rule_counter {
	char *name;
	uint64_t allowed;
	uint64_t refused;
	uint64_t would;		/* audit-only matches */
};

struct ipcguardd {
	struct tevent_context *ev;
	struct messaging_context *msg;
	const char *gate_dir;
	const char *np_dir;
	const char *upstream_np_dir;
	struct ipcguard_policy *policy;
	struct ipcguardd_listener *listeners;
	struct ipcguardd_conn *conns;
	int control_fd;
	struct tevent_fd *control_fde;
	struct unix_socket_id control_bound;
	uint64_t num_open;
	uint64_t num_allowed;
	uint64_t num_refused;
	uint64_t num_rpc_refused;
	bool np_dir_unsafe;	/* see gate_check_dirs() */
	bool heap_trim_due;	/* the last connection closed */
	struct rule_counter *rule_counters;
	size_t num_rule_counters;
	struct pipe_count *session_counts;
	struct pipe_count *address_counts;
	uint64_t num_limit_refused;
	/*
	 * Out of file descriptors: callers are turned away with the help of
	 * a spare descriptor, or, failing that, accepting pauses and a timer
	 * retries.
	 */
	int spare_fd;
	uint64_t num_shed;
	bool accept_paused;
	bool fd_exhausted;	/* the episode has been logged */
	struct timeval last_exhausted;
	struct tevent_timer *accept_retry;
	uint64_t num_fd_exhausted;
};

static void conn_done(struct ipcguardd_conn *conn, const char *why);
static void gate_check_dirs(struct ipcguardd *gate);
static void gate_check_sockets(struct ipcguardd *gate);

/* Why the last reload did not take effect, for "ipcguard status". */
static char *gate_reload_problem = NULL;

/*
 * Load the policy from the current smb.conf and rule database.  On start
 * an invalid policy is kept (it refuses anonymous callers); on reload the
 * previous valid policy stays in force.  A valid one is copied for the
 * next load that finds the rule database gone (ipcguard_last_valid_save();
 * the gate holds its last valid policy itself, so it saves only that copy).
 */
static bool gate_load_policy(struct ipcguardd *gate, bool reload)
{
	struct ipcguard_policy *policy = NULL;
	const char *problem = ipcguard_ungated_transports();
	char *error = NULL;
	size_t i;

	if (problem != NULL && !reload) {
		DBG_ERR("ipcguardd: %s\n", problem);
	}
	policy = ipcguard_policy_load_all(gate);
	if (policy == NULL) {
		DBG_ERR("ipcguardd: out of memory loading the policy\n");
		return false;
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
		TALLOC_FREE(gate_reload_problem);
		gate_reload_problem = talloc_asprintf(
			gate, "reload rejected, the previous policy stays in "
			"force: %s", policy->errors[0]);
		TALLOC_FREE(policy);
		return false;
	}
	TALLOC_FREE(gate_reload_problem);
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

/*
 * The one place the gate asks the engine, at every stage.  Audit-only
 * rules are logged and counted here; they never change the verdict.
 */
static void conn_decide(struct ipcguardd_conn *conn,
			struct ipcguard_request *request,
			struct ipcguard_decision *decision)
{
	struct ipcguardd *gate = conn->gate;
	const struct ipcguard_rule *audit = NULL;

	request->session = conn->kind;
	request->object = IPCGUARD_OBJECT_PIPE;
	request->name = conn->pipe;
	request->address = conn->have_address ? &conn->address : NULL;
	request->token = conn->token;
	request->local_system = conn->token != NULL &&
		security_token_has_sid(conn->token, &global_sid_System);
	ipcguard_decide(gate->policy, request, decision);
	count_decision(gate, decision);
	ipcguard_audit(ipcguardd_debug_class, gate->policy, request, decision,
		       conn->user, conn->sids, conn->client);
	audit = decision->audit_rule;
	if (audit == NULL) {
		return;
	}
	DBG_WARNING("ipcguardd: rule %s (audit only) would %s %s on pipe '%s' "
		    "to %s session (user '%s', client %s); %s by rule %s\n",
		    audit->name, audit->allow ? "allow" : "refuse",
		    ipcguard_stage_name(request->stage), conn->pipe,
		    ipcguard_session_kind_name(conn->kind), conn->user,
		    conn->client,
		    decision->verdict == IPCGUARD_ALLOW ? "allowed" :
		    "refused", decision->rule);
}

/* ---- faults ------------------------------------------------------------ */

struct fault_write {
	struct ipcguardd_conn *conn;
	DATA_BLOB blob;
	struct iovec iov;
	void (*next)(struct ipcguardd_conn *conn);
};

static void fault_written(struct tevent_req *subreq);

/*
 * Answer one call with an access-denied FAULT and continue with next()
 * once it is written, so a client that does not read cannot make us
 * queue faults without end.
 */
static void send_fault(struct ipcguardd_conn *conn, uint32_t call_id,
		       uint16_t context_id,
		       void (*next)(struct ipcguardd_conn *conn))
{
	struct ncacn_packet fault = {
		.rpc_vers = 5,
		.ptype = DCERPC_PKT_FAULT,
		.pfc_flags = DCERPC_PFC_FLAG_FIRST | DCERPC_PFC_FLAG_LAST |
			     DCERPC_PFC_FLAG_DID_NOT_EXECUTE,
		.drep = { DCERPC_DREP_LE },
		.call_id = call_id,
		.u.fault = {
			.context_id = context_id,
			.status = DCERPC_FAULT_ACCESS_DENIED,
		},
	};
	struct fault_write *w = NULL;
	struct tevent_req *subreq = NULL;
	NTSTATUS status;

	w = talloc_zero(conn, struct fault_write);
	if (w == NULL) {
		conn_done(conn, "out of memory");
		return;
	}
	w->conn = conn;
	w->next = next;
	status = dcerpc_ncacn_push_auth(&w->blob, w, &fault, NULL);
	if (!NT_STATUS_IS_OK(status)) {
		conn_done(conn, nt_errstr(status));
		return;
	}
	w->iov = (struct iovec) {
		.iov_base = w->blob.data,
		.iov_len = w->blob.length,
	};
	subreq = tstream_writev_queue_send(w, conn->gate->ev,
					   conn->client_stream,
					   conn->client_queue, &w->iov, 1);
	if (subreq == NULL) {
		conn_done(conn, "out of memory");
		return;
	}
	tevent_req_set_callback(subreq, fault_written, w);
}

static void fault_written(struct tevent_req *subreq)
{
	struct fault_write *w = tevent_req_callback_data(subreq,
							 struct fault_write);
	struct ipcguardd_conn *conn = w->conn;
	void (*next)(struct ipcguardd_conn *conn) = w->next;
	int ret, err;

	ret = tstream_writev_queue_recv(subreq, &err);
	TALLOC_FREE(w);
	if (ret == -1) {
		conn_done(conn, strerror(err));
		return;
	}
	next(conn);
}

/* ---- refusing a whole pipe --------------------------------------------- */

static void refuse_read_next(struct ipcguardd_conn *conn);
static void refuse_got_pdu(struct tevent_req *subreq);

static void conn_deadline_reached(struct tevent_context *ev,
				  struct tevent_timer *te,
				  struct timeval now, void *private_data)
{
	struct ipcguardd_conn *conn = talloc_get_type_abort(
		private_data, struct ipcguardd_conn);

	conn->deadline = NULL;
	conn_done(conn, conn->client_stream == NULL ?
		  "no named-pipe handshake in time" :
		  "refused pipe timed out");
}

/* (Re)sets the time by which the connection is closed. */
static bool conn_set_deadline(struct ipcguardd_conn *conn, uint32_t secs)
{
	TALLOC_FREE(conn->deadline);
	conn->deadline = tevent_add_timer(conn->gate->ev, conn,
					  timeval_current_ofs(secs, 0),
					  conn_deadline_reached, conn);
	return conn->deadline != NULL;
}

/*
 * A refused pipe answers faults for a while and then goes, so that
 * refused callers cannot pile up descriptors.
 */
static void refuse_start(struct ipcguardd_conn *conn)
{
	unsigned secs = conn->gate->policy != NULL ?
		conn->gate->policy->refused_pipe_timeout : 10;

	if (!conn_set_deadline(conn, secs)) {
		conn_done(conn, "out of memory");
		return;
	}
	refuse_read_next(conn);
}

static void refuse_close(struct ipcguardd_conn *conn)
{
	conn_done(conn, "too many calls on a refused pipe");
}

static void refuse_read_next(struct ipcguardd_conn *conn)
{
	struct tevent_req *subreq = NULL;

	subreq = dcerpc_read_ncacn_packet_send(conn, conn->gate->ev,
					       conn->client_stream);
	if (subreq == NULL) {
		conn_done(conn, "out of memory");
		return;
	}
	tevent_req_set_callback(subreq, refuse_got_pdu, conn);
}

/* Whether a client waits for an answer to this PDU. */
static bool pdu_expects_answer(const struct ncacn_packet *pkt)
{
	switch (pkt->ptype) {
	case DCERPC_PKT_BIND:
	case DCERPC_PKT_ALTER:
		return true;
	case DCERPC_PKT_REQUEST:
		/* Clients wait for an answer only after the last fragment. */
		return (pkt->pfc_flags & DCERPC_PFC_FLAG_LAST) != 0;
	default:
		return false;
	}
}

static void refuse_got_pdu(struct tevent_req *subreq)
{
	struct ipcguardd_conn *conn = tevent_req_callback_data(
		subreq, struct ipcguardd_conn);
	struct ncacn_packet *pkt = NULL;
	DATA_BLOB in = data_blob_null;
	uint32_t call_id;
	uint16_t context_id;
	bool answer;
	NTSTATUS status;

	status = dcerpc_read_ncacn_packet_recv(subreq, conn, &pkt, &in);
	TALLOC_FREE(subreq);
	if (!NT_STATUS_IS_OK(status)) {
		conn_done(conn, nt_errstr(status));
		return;
	}
	answer = pdu_expects_answer(pkt);
	call_id = pkt->call_id;
	context_id = pkt->ptype == DCERPC_PKT_REQUEST ?
		pkt->u.request.context_id : 0;
	TALLOC_FREE(pkt);
	data_blob_free(&in);
	if (!answer) {
		refuse_read_next(conn);
		return;
	}
	conn->faults++;
	send_fault(conn, call_id, context_id,
		   conn->faults < IPCGUARD_MAX_REFUSED_FAULTS ?
		   refuse_read_next : refuse_close);
}

/* ---- judging RPC traffic ----------------------------------------------- */

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
 * Every context of a bind or alter context must be allowed, and the offer
 * must be one the server's answer can be matched against.
 */
static bool judge_bind(struct ipcguardd_conn *conn, uint32_t call_id,
		       const struct dcerpc_bind *bind)
{
	struct ipcguard_context_item items[UINT8_MAX];
	const char *why = NULL;
	uint8_t i;

	for (i = 0; i < bind->num_contexts; i++) {
		struct ipcguard_request request = {
			.stage = IPCGUARD_STAGE_BIND,
		};
		struct ipcguard_decision decision = { 0 };

		ipcguard_syntax_from_ndr(&bind->ctx_list[i].abstract_syntax,
					 &request.syntax);
		conn_decide(conn, &request, &decision);
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
		.stage = IPCGUARD_STAGE_BIND,
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
	request.syntax = *bound;
	gate_winreg_describe(conn, &conn->winreg, conn->gate->policy,
			     conn->token, pkt, &request);
	conn_decide(conn, &request, &decision);
	if (decision.verdict == IPCGUARD_ALLOW) {
		request.stage = IPCGUARD_STAGE_REQUEST;
		conn_decide(conn, &request, &decision);
	}
	if (decision.verdict != IPCGUARD_ALLOW) {
		log_rpc_refusal(conn, &request, &decision);
		return false;
	}
	gate_winreg_forwarded(conn->winreg, pkt);
	return true;
}

enum pdu_fate { PDU_FORWARD, PDU_DROP, PDU_FAULT, PDU_CLOSE };

static enum pdu_fate judge_pdu(struct ipcguardd_conn *conn,
			       const struct ncacn_packet *pkt)
{
	const struct dcerpc_request *req = &pkt->u.request;
	bool first = (pkt->pfc_flags & DCERPC_PFC_FLAG_FIRST) != 0;
	bool last = (pkt->pfc_flags & DCERPC_PFC_FLAG_LAST) != 0;

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
		if (conn->in_call && !conn->refusing_call) {
			/* A new call inside an unfinished one. */
			return PDU_CLOSE;
		}
		conn->in_call = true;
		conn->call_id = pkt->call_id;
		conn->call_context_id = req->context_id;
		conn->call_opnum = req->opnum;
		conn->refusing_call = !judge_request(conn, pkt);
	} else if (!conn->in_call || pkt->call_id != conn->call_id ||
		   req->context_id != conn->call_context_id ||
		   req->opnum != conn->call_opnum) {
		/* Later fragments must continue the call we judged. */
		return PDU_CLOSE;
	}
	if (last) {
		conn->in_call = false;
	}
	if (!conn->refusing_call) {
		return PDU_FORWARD;
	}
	return last ? PDU_FAULT : PDU_DROP;
}

/*
 * What the RPC server answered to a bind or alter context is what it
 * bound.  Returns false if the answer does not fit what the gate
 * forwarded: the pipe must end.  *answered says the offer is settled.
 */
static bool learn_answer(struct ipcguardd_conn *conn,
			 const struct ncacn_packet *pkt, bool *answered)
{
	const struct dcerpc_bind_ack *ack = NULL;
	bool accepted[IPCGUARD_MAX_CONTEXTS];
	const char *why = NULL;
	uint8_t i;

	*answered = false;
	switch (pkt->ptype) {
	case DCERPC_PKT_BIND_ACK:
		ack = &pkt->u.bind_ack;
		break;
	case DCERPC_PKT_ALTER_RESP:
		ack = &pkt->u.alter_resp;
		break;
	case DCERPC_PKT_BIND_NAK:
		*answered = ipcguard_contexts_refused(conn->contexts,
						      pkt->call_id);
		why = "the RPC server refused a bind the gate did not "
		      "forward";
		break;
	case DCERPC_PKT_FAULT:
		/* A fault for another call is not the answer. */
		*answered = ipcguard_contexts_refused(conn->contexts,
						      pkt->call_id);
		return true;
	default:
		return true;
	}
	if (ack != NULL) {
		for (i = 0; i < ack->num_results; i++) {
			accepted[i] = ack->ctx_list[i].result ==
				DCERPC_BIND_ACK_RESULT_ACCEPTANCE;
		}
		*answered = ipcguard_contexts_answer(conn->contexts,
						     pkt->call_id, accepted,
						     ack->num_results, &why);
	}
	if (!*answered) {
		DBG_WARNING("ipcguardd: pipe '%s' of %s session (user '%s', "
			    "client %s): %s; closing\n", conn->pipe,
			    ipcguard_session_kind_name(conn->kind),
			    conn->user, conn->client, why);
	}
	return *answered;
}

/* ---- relaying ---------------------------------------------------------- */

/*
 * One direction of a forwarded pipe: whole PDUs read from one stream are
 * written, one message each, to the other, so message-mode framing is
 * kept on both sides.  PDUs from the client are judged first.
 */
static void relay_read(struct relay_direction *dir);
static void relay_got_pdu(struct tevent_req *subreq);
static void relay_got_response(struct tevent_req *subreq);
static void relay_forward(struct relay_direction *dir);
static void relay_written(struct tevent_req *subreq);

static void relay_start(struct relay_direction *dir,
			struct ipcguardd_conn *conn,
			struct tstream_context *from,
			struct tstream_context *to, const char *from_name)
{
	dir->conn = conn;
	dir->from = from;
	dir->to = to;
	dir->from_name = from_name;
	relay_read(dir);
}

/*
 * Framing of one response fragment by its header alone, after
 * dcerpc_read_ncacn_packet_next_vector(): the header first, then the rest
 * of frag_length.
 */
static int relay_response_next_vector(struct tstream_context *stream,
				      void *private_data,
				      TALLOC_CTX *mem_ctx,
				      struct iovec **_vector,
				      size_t *_count)
{
	/* Embedded in the connection, not a talloc object. */
	struct relay_direction *dir = (struct relay_direction *)private_data;
	struct iovec *vector = NULL;
	size_t ofs, frag_len;

	*_vector = NULL;
	*_count = 0;
	if (dir->pdu.length == 0) {
		ofs = 0;
		frag_len = DCERPC_NCACN_PAYLOAD_OFFSET;
	} else if (dir->pdu.length == DCERPC_NCACN_PAYLOAD_OFFSET) {
		ofs = DCERPC_NCACN_PAYLOAD_OFFSET;
		frag_len = dcerpc_get_frag_length(&dir->pdu);
		if (frag_len <= ofs) {
			/* Header only, or broken: relay_got_response()
			 * tells them apart. */
			return 0;
		}
	} else {
		return 0;
	}
	if (frag_len > dir->buf_size) {
		uint8_t *buf = talloc_realloc(dir->conn, dir->buf, uint8_t,
					      frag_len);

		if (buf == NULL) {
			return -1;
		}
		dir->buf = buf;
		dir->buf_size = frag_len;
	}
	dir->pdu = data_blob_const(dir->buf, frag_len);

	vector = talloc_array(mem_ctx, struct iovec, 1);
	if (vector == NULL) {
		return -1;
	}
	vector[0].iov_base = dir->buf + ofs;
	vector[0].iov_len = frag_len - ofs;
	*_vector = vector;
	*_count = 1;
	return 0;
}

static void relay_read(struct relay_direction *dir)
{
	struct tevent_req *subreq = NULL;

	if (dir == &dir->conn->downstream) {
		/* Only answers to binds are parsed: the RPC server's other
		 * PDUs need their header for framing, nothing else. */
		dir->pdu = data_blob_null;
		subreq = tstream_readv_pdu_send(dir->conn,
						dir->conn->gate->ev,
						dir->from,
						relay_response_next_vector,
						dir);
		if (subreq == NULL) {
			conn_done(dir->conn, "out of memory");
			return;
		}
		tevent_req_set_callback(subreq, relay_got_response, dir);
		return;
	}
	subreq = dcerpc_read_ncacn_packet_send(dir->conn, dir->conn->gate->ev,
					       dir->from);
	if (subreq == NULL) {
		conn_done(dir->conn, "out of memory");
		return;
	}
	tevent_req_set_callback(subreq, relay_got_pdu, dir);
}

static void relay_got_response(struct tevent_req *subreq)
{
	/* Embedded in the connection, not a talloc object. */
	struct relay_direction *dir = (struct relay_direction *)
		tevent_req_callback_data_void(subreq);
	struct ipcguardd_conn *conn = dir->conn;
	struct ncacn_packet *pkt = NULL;
	bool answered = false;
	NTSTATUS status;
	int ret, err;

	ret = tstream_readv_pdu_recv(subreq, &err);
	TALLOC_FREE(subreq);
	if (ret == -1) {
		DBG_DEBUG("ipcguardd: %s: %s\n", dir->from_name,
			  strerror(err));
		conn_done(conn, "RPC server closed");
		return;
	}
	if (dir->pdu.length < DCERPC_NCACN_PAYLOAD_OFFSET ||
	    dcerpc_get_frag_length(&dir->pdu) != dir->pdu.length) {
		DBG_DEBUG("ipcguardd: %s: fragment length does not fit\n",
			  dir->from_name);
		conn_done(conn, "RPC server closed");
		return;
	}
	switch (dir->pdu.data[2]) {	/* ptype */
	case DCERPC_PKT_RESPONSE:
		/* Parsed only while a registry key handle is awaited. */
		if (!gate_winreg_waiting(conn->winreg)) {
			break;
		}
		pkt = talloc(conn, struct ncacn_packet);
		if (pkt == NULL) {
			conn_done(conn, "out of memory");
			return;
		}
		status = dcerpc_pull_ncacn_packet(pkt, &dir->pdu, pkt);
		if (NT_STATUS_IS_OK(status)) {
			gate_winreg_answer(conn->winreg, pkt);
		}
		TALLOC_FREE(pkt);
		break;
	case DCERPC_PKT_BIND_ACK:
	case DCERPC_PKT_ALTER_RESP:
	case DCERPC_PKT_BIND_NAK:
	case DCERPC_PKT_FAULT:
		pkt = talloc(conn, struct ncacn_packet);
		if (pkt == NULL) {
			conn_done(conn, "out of memory");
			return;
		}
		status = dcerpc_pull_ncacn_packet(pkt, &dir->pdu, pkt);
		if (!NT_STATUS_IS_OK(status)) {
			DBG_DEBUG("ipcguardd: %s: %s\n", dir->from_name,
				  nt_errstr(status));
			TALLOC_FREE(pkt);
			conn_done(conn, "RPC server closed");
			return;
		}
		gate_winreg_answer(conn->winreg, pkt);
		if (!learn_answer(conn, pkt, &answered)) {
			TALLOC_FREE(pkt);
			conn_done(conn, "bind answer does not fit the bind");
			return;
		}
		TALLOC_FREE(pkt);
		break;
	default:
		break;
	}
	if (answered && conn->upstream_paused) {
		conn->upstream_paused = false;
		relay_read(&conn->upstream);
	}
	relay_forward(dir);
}

static void relay_read_upstream(struct ipcguardd_conn *conn)
{
	relay_read(&conn->upstream);
}

/* A client PDU, parsed whole: it is judged before it goes on. */
static void relay_got_pdu(struct tevent_req *subreq)
{
	/* Embedded in the connection, not a talloc object. */
	struct relay_direction *dir = (struct relay_direction *)
		tevent_req_callback_data_void(subreq);
	struct ipcguardd_conn *conn = dir->conn;
	struct ncacn_packet *pkt = NULL;
	enum pdu_fate fate = PDU_FORWARD;
	uint32_t call_id = 0;
	uint16_t context_id = 0;
	NTSTATUS status;

	status = dcerpc_read_ncacn_packet_recv(subreq, conn, &pkt,
					       &dir->pdu);
	TALLOC_FREE(subreq);
	if (!NT_STATUS_IS_OK(status)) {
		DBG_DEBUG("ipcguardd: %s: %s\n", dir->from_name,
			  nt_errstr(status));
		conn_done(conn, "client closed");
		return;
	}
	fate = judge_pdu(conn, pkt);
	call_id = pkt->call_id;
	context_id = pkt->ptype == DCERPC_PKT_REQUEST ?
		pkt->u.request.context_id : 0;
	TALLOC_FREE(pkt);
	switch (fate) {
	case PDU_FORWARD:
		break;
	case PDU_DROP:
		data_blob_free(&dir->pdu);
		relay_read(dir);
		return;
	case PDU_FAULT:
		data_blob_free(&dir->pdu);
		send_fault(conn, call_id, context_id, relay_read_upstream);
		return;
	case PDU_CLOSE:
		DBG_WARNING("ipcguardd: pipe '%s' of %s session (user '%s', "
			    "client %s): request fragments do not continue "
			    "the call they belong to; closing\n", conn->pipe,
			    ipcguard_session_kind_name(conn->kind),
			    conn->user, conn->client);
		conn_done(conn, "inconsistent request fragments");
		return;
	}
	relay_forward(dir);
}

/* Write the PDU just read, whole, as one message. */
static void relay_forward(struct relay_direction *dir)
{
	struct ipcguardd_conn *conn = dir->conn;
	struct tevent_req *subreq = NULL;

	dir->iov = (struct iovec) {
		.iov_base = dir->pdu.data,
		.iov_len = dir->pdu.length,
	};
	if (dir->to == conn->client_stream) {
		subreq = tstream_writev_queue_send(conn, conn->gate->ev,
						   dir->to,
						   conn->client_queue,
						   &dir->iov, 1);
	} else {
		subreq = tstream_writev_send(conn, conn->gate->ev, dir->to,
					     &dir->iov, 1);
	}
	if (subreq == NULL) {
		conn_done(conn, "out of memory");
		return;
	}
	tevent_req_set_callback(subreq, relay_written, dir);
}

static void relay_written(struct tevent_req *subreq)
{
	/* Embedded in the connection, not a talloc object. */
	struct relay_direction *dir = (struct relay_direction *)
		tevent_req_callback_data_void(subreq);
	int ret, err;

	/* tstream_writev_queue_recv is tstream_writev_recv's twin. */
	ret = dir->to == dir->conn->client_stream ?
		tstream_writev_queue_recv(subreq, &err) :
		tstream_writev_recv(subreq, &err);
	TALLOC_FREE(subreq);
	if (dir->pdu.data == dir->buf) {
		dir->pdu = data_blob_null;	/* kept for the next one */
	} else {
		data_blob_free(&dir->pdu);
	}
	if (ret == -1) {
		conn_done(dir->conn, strerror(err));
		return;
	}
	if (dir == &dir->conn->upstream &&
	    ipcguard_contexts_pending(dir->conn->contexts)) {
		/* learn_answer() resumes once the server has answered. */
		dir->conn->upstream_paused = true;
		return;
	}
	relay_read(dir);
}

/* ---- accepting --------------------------------------------------------- */

static void gate_resume_accepting(struct ipcguardd *gate);

static void pipe_count_drop(struct pipe_count **list, struct pipe_count *c)
{
	if (c == NULL) {
		return;
	}
	c->open--;
	/* A pipe went: the next refusal is news again. */
	c->refusal_logged = false;
	if (c->open == 0) {
		DLIST_REMOVE(*list, c);
		TALLOC_FREE(c);
	}
}

static void conn_done(struct ipcguardd_conn *conn, const char *why)
{
	struct ipcguardd *gate = conn->gate;

	DBG_INFO("ipcguardd: pipe '%s' of %s session (user '%s', client %s) "
		 "ended: %s\n", conn->pipe,
		 ipcguard_session_kind_name(conn->kind), conn->user,
		 conn->client, why);
	DLIST_REMOVE(gate->conns, conn);
	gate->num_open--;
	pipe_count_drop(&gate->session_counts, conn->session_count);
	pipe_count_drop(&gate->address_counts, conn->address_count);
	TALLOC_FREE(conn);
	if (gate->num_open == 0) {
		gate->heap_trim_due = true;
	}
	/* Descriptors came free: whoever waits in the backlog may come. */
	if (gate->accept_paused) {
		gate_resume_accepting(gate);
	}
}

static struct pipe_count *session_count(struct ipcguardd *gate,
					const struct GUID *session)
{
	struct pipe_count *c = NULL;

	for (c = gate->session_counts; c != NULL; c = c->next) {
		if (GUID_equal(&c->session, session)) {
			return c;
		}
	}
	c = talloc_zero(gate, struct pipe_count);
	if (c == NULL) {
		return NULL;
	}
	c->session = *session;
	DLIST_ADD(gate->session_counts, c);
	return c;
}

static struct pipe_count *address_count(struct ipcguardd *gate,
					const char *address, bool restricted)
{
	struct pipe_count *c = NULL;

	for (c = gate->address_counts; c != NULL; c = c->next) {
		if (c->restricted == restricted &&
		    strcmp(c->address, address) == 0) {
			return c;
		}
	}
	c = talloc_zero(gate, struct pipe_count);
	if (c == NULL) {
		return NULL;
	}
	c->address = talloc_strdup(c, address);
	if (c->address == NULL) {
		TALLOC_FREE(c);
		return NULL;
	}
	c->restricted = restricted;
	DLIST_ADD(gate->address_counts, c);
	return c;
}

static void pipe_count_forget_if_unused(struct pipe_count **list,
					struct pipe_count *c)
{
	if (c != NULL && c->open == 0) {
		DLIST_REMOVE(*list, c);
		TALLOC_FREE(c);
	}
}

/*
 * Counts the pipe against its session and its address, or refuses and
 * ends it when either holds as many as the policy allows.  A refused
 * pipe is closed at once rather than answered with faults: answering
 * would need a descriptor for every pipe beyond the bound, which is what
 * the bound is there to save.  Returns false when the pipe has ended.
 */
static bool conn_count_pipe(struct ipcguardd_conn *conn,
			    const struct GUID *session)
{
	struct ipcguardd *gate = conn->gate;
	bool restricted = ipcguard_session_is_restricted(gate->policy,
							 conn->kind);
	struct pipe_count *s = NULL;
	struct pipe_count *a = NULL;
	struct pipe_count *said = NULL;
	struct ipcguard_request request = {
		.stage = IPCGUARD_STAGE_OPEN,
		.session = conn->kind,
		.object = IPCGUARD_OBJECT_PIPE,
		.name = conn->pipe,
		.address = conn->have_address ? &conn->address : NULL,
	};
	struct ipcguard_decision decision = { .verdict = IPCGUARD_DENY };

	if (session != NULL) {
		s = session_count(gate, session);
		if (s == NULL) {
			conn_done(conn, "out of memory");
			return false;
		}
	}
	a = address_count(gate, conn->client != NULL ? conn->client :
			  "unknown", restricted);
	if (a == NULL) {
		pipe_count_forget_if_unused(&gate->session_counts, s);
		conn_done(conn, "out of memory");
		return false;
	}
	ipcguard_decide_pipe_limit(gate->policy, conn->kind,
				   s != NULL ? s->open : 0, a->open,
				   &decision);
	if (decision.verdict == IPCGUARD_ALLOW) {
		if (s != NULL) {
			s->open++;
		}
		a->open++;
		conn->session_count = s;
		conn->address_count = a;
		return true;
	}
	gate->num_refused++;
	gate->num_limit_refused++;
	conn->listener->num_refused++;
	ipcguard_audit(ipcguardd_debug_class, gate->policy, &request,
		       &decision, conn->user, conn->sids, conn->client);
	/* A hog hits the bound over and over: say so once while it holds. */
	said = s != NULL ? s : a;
	if (!said->refusal_logged) {
		said->refusal_logged = true;
		DBG_WARNING("ipcguardd: refused pipe '%s' to %s session (user "
			    "'%s', client %s): rule %s: %s (%u pipes open in "
			    "the session, %u from the address); further "
			    "refusals are logged at level 5 until one "
			    "closes\n", conn->pipe,
			    ipcguard_session_kind_name(conn->kind),
			    conn->user, conn->client, decision.rule,
			    decision.reason, s != NULL ? s->open : 0,
			    a->open);
	} else {
		DBG_INFO("ipcguardd: refused pipe '%s' to %s session (user "
			 "'%s', client %s): rule %s: %s\n", conn->pipe,
			 ipcguard_session_kind_name(conn->kind), conn->user,
			 conn->client, decision.rule, decision.reason);
	}
	pipe_count_forget_if_unused(&gate->session_counts, s);
	pipe_count_forget_if_unused(&gate->address_counts, a);
	conn_done(conn, "pipe bound reached");
	return false;
}

/*
 * Takes smbd's NPA flags SID out of the token and returns its flags;
 * local_np_connect adds it back.
 */
static uint32_t token_take_npa_flags(struct security_token *token)
{
	uint32_t flags = 0;
	uint32_t i = 0;

	while (i < token->num_sids) {
		uint32_t rid;

		if (sid_peek_check_rid(&global_sid_Samba_NPA_Flags,
				       &token->sids[i], &rid)) {
			flags |= rid;
			ARRAY_DEL_ELEMENT(token->sids, i, token->num_sids);
			token->num_sids--;
			continue;
		}
		i++;
	}
	return flags;
}

static void conn_upstream_connected(struct tevent_req *subreq);

static void conn_forward(struct ipcguardd_conn *conn,
			 struct auth_session_info *session_info,
			 enum dcerpc_transport_t transport,
			 struct tsocket_address *remote_client_addr,
			 const char *remote_client_name,
			 struct tsocket_address *local_server_addr,
			 const char *local_server_name)
{
	struct tevent_req *subreq = NULL;
	uint32_t flags = conn->npa_flags;

	/* local_np_connect reads the winbind-off flag from our env. */
	if (flags & SAMBA_NPA_FLAGS_WINBIND_OFF) {
		(void)winbind_off();
	}
	subreq = local_np_connect_send(conn, conn->gate->ev, conn->pipe,
				       transport, remote_client_name,
				       remote_client_addr, local_server_name,
				       local_server_addr, session_info,
				       (flags & SAMBA_NPA_FLAGS_NEED_IDLE) != 0);
	if (flags & SAMBA_NPA_FLAGS_WINBIND_OFF) {
		(void)winbind_on();
	}
	if (subreq == NULL) {
		conn_done(conn, "out of memory");
		return;
	}
	tevent_req_set_callback(subreq, conn_upstream_connected, conn);
}

static void conn_upstream_connected(struct tevent_req *subreq)
{
	struct ipcguardd_conn *conn = tevent_req_callback_data(
		subreq, struct ipcguardd_conn);
	int ret;

	ret = local_np_connect_recv(subreq, conn, &conn->server_stream);
	TALLOC_FREE(subreq);
	if (ret != 0) {
		DBG_WARNING("ipcguardd: could not reach the RPC server for "
			    "pipe '%s': %s\n", conn->pipe, strerror(ret));
		conn_done(conn, "RPC server unreachable");
		return;
	}
	relay_start(&conn->upstream, conn, conn->client_stream,
		    conn->server_stream, "client");
	relay_start(&conn->downstream, conn, conn->server_stream,
		    conn->client_stream, "RPC server");
}

static void conn_handshake_done(struct tevent_req *subreq)
{
	struct ipcguardd_conn *conn = tevent_req_callback_data(
		subreq, struct ipcguardd_conn);
	struct ipcguardd *gate = conn->gate;
	struct named_pipe_auth_req_info7 *info7 = NULL;
	enum dcerpc_transport_t transport;
	struct tsocket_address *remote_client_addr = NULL;
	char *remote_client_name = NULL;
	struct tsocket_address *local_server_addr = NULL;
	char *local_server_name = NULL;
	struct auth_session_info_transport *session_info = NULL;
	struct ipcguard_request request = { .stage = IPCGUARD_STAGE_OPEN };
	struct ipcguard_decision decision = { .verdict = IPCGUARD_DENY };
	bool have_session;
	int ret, err;

	ret = tstream_npa_accept_existing_recv(
		subreq, &err, conn, &conn->client_stream, &info7, &transport,
		&remote_client_addr, &remote_client_name, &local_server_addr,
		&local_server_name, &session_info);
	TALLOC_FREE(subreq);
	TALLOC_FREE(conn->deadline);
	if (ret == -1) {
		DBG_WARNING("ipcguardd: rejected a malformed named-pipe "
			    "handshake on pipe '%s': %s\n", conn->pipe,
			    strerror(err));
		conn_done(conn, "malformed handshake");
		return;
	}
	have_session = session_info != NULL &&
		       session_info->session_info != NULL &&
		       session_info->session_info->security_token != NULL;
	if (!have_session) {
		DBG_WARNING("ipcguardd: handshake on pipe '%s' carries no "
			    "session; treating the caller as anonymous\n",
			    conn->pipe);
		conn->kind = IPCGUARD_SESSION_ANONYMOUS;
	} else {
		conn->npa_flags = token_take_npa_flags(
			session_info->session_info->security_token);
		conn->kind = ipcguard_session_kind_of(
			session_info->session_info);
		conn->user = talloc_strdup(
			conn, ipcguard_session_user(
				conn, session_info->session_info));
	}
	if (remote_client_addr != NULL &&
	    tsocket_address_is_inet(remote_client_addr, "ip")) {
		conn->client = tsocket_address_inet_addr_string(
			remote_client_addr, conn);
	}
	if (conn->client == NULL) {
		conn->client = talloc_strdup(conn, "unknown");
	}
	if (conn->user == NULL) {
		conn->user = talloc_strdup(conn, "");
	}
	conn->sids = have_session ?
		ipcguard_token_sids(
			conn, session_info->session_info->security_token) :
		talloc_strdup(conn, "");

	if (conn->client != NULL &&
	    ipcguard_address_parse(conn->client, &conn->address, NULL)) {
		conn->have_address = true;
	}
	if (!conn_count_pipe(conn, have_session ?
			     &session_info->session_info->unique_session_token :
			     NULL)) {
		return;
	}
	conn->client_queue = tevent_queue_create(conn, "ipcguardd client");
	conn->contexts = ipcguard_contexts_new(conn);
	if (conn->client_queue == NULL || conn->contexts == NULL) {
		conn_done(conn, "out of memory");
		return;
	}
	if (have_session) {
		/* What the RPC server will see is what rules judge. */
		conn->token = session_info->session_info->security_token;
		if (ipcguard_strip_everyone(gate->policy, conn->kind) &&
		    ipcguard_token_remove_everyone(conn->token)) {
			DBG_DEBUG("ipcguardd: removed Everyone from the %s "
				  "token for pipe '%s'\n",
				  ipcguard_session_kind_name(conn->kind),
				  conn->pipe);
		}
		conn_decide(conn, &request, &decision);
		if (gate->np_dir_unsafe && decision.verdict == IPCGUARD_ALLOW &&
		    ipcguard_session_is_restricted(gate->policy, conn->kind)) {
			decision = (struct ipcguard_decision) {
				.verdict = IPCGUARD_DENY,
				.rule = "pipe-gate",
				.reason = "the gate's socket directory is not "
					  "root's with mode 0700",
			};
		}
	} else {
		/* Nothing to forward the caller as. */
		decision = (struct ipcguard_decision) {
			.verdict = IPCGUARD_DENY,
			.rule = "invalid-request",
			.reason = "the handshake carries no session",
		};
		request.session = conn->kind;
		request.object = IPCGUARD_OBJECT_PIPE;
		request.name = conn->pipe;
		ipcguard_audit(ipcguardd_debug_class, gate->policy, &request,
			       &decision, conn->user, conn->sids,
			       conn->client);
	}
	if (decision.verdict != IPCGUARD_ALLOW) {
		gate->num_refused++;
		conn->listener->num_refused++;
		DBG_WARNING("ipcguardd: refused pipe '%s' to %s session (user "
			    "'%s', client %s, sids %s): rule %s: %s\n",
			    conn->pipe, ipcguard_session_kind_name(conn->kind),
			    conn->user, conn->client, conn->sids,
			    decision.rule, decision.reason);
		refuse_start(conn);
		return;
	}
	gate->num_allowed++;
	conn->listener->num_allowed++;
	conn->allowed = true;
	DBG_INFO("ipcguardd: allowed pipe '%s' to %s session (user '%s', "
		 "client %s): rule %s\n", conn->pipe,
		 ipcguard_session_kind_name(conn->kind), conn->user,
		 conn->client, decision.rule);
	conn_forward(conn, session_info->session_info, transport,
		     remote_client_addr, remote_client_name, local_server_addr,
		     local_server_name);
}

/* ---- running out of descriptors ---------------------------------------- */

static void gate_set_accepting(struct ipcguardd *gate, bool on)
{
	struct ipcguardd_listener *l = NULL;
	uint16_t flags = on ? TEVENT_FD_READ : 0;

	for (l = gate->listeners; l != NULL; l = l->next) {
		if (l->fde != NULL) {
			tevent_fd_set_flags(l->fde, flags);
		}
	}
	if (gate->control_fde != NULL) {
		tevent_fd_set_flags(gate->control_fde, flags);
	}
}

static void gate_accept_retry(struct tevent_context *ev,
			      struct tevent_timer *te,
			      struct timeval now, void *private_data)
{
	struct ipcguardd *gate = talloc_get_type_abort(private_data,
						       struct ipcguardd);

	gate->accept_retry = NULL;
	gate_resume_accepting(gate);
}

static void gate_resume_accepting(struct ipcguardd *gate)
{
	TALLOC_FREE(gate->accept_retry);
	gate->accept_paused = false;
	gate_set_accepting(gate, true);
}

static void gate_open_spare_fd(struct ipcguardd *gate)
{
	if (gate->spare_fd == -1) {
		gate->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
}

/*
 * Accepts one waiting caller on the spare descriptor and closes it at
 * once.  Leaving callers queued is no option: smbd waits for our answer
 * without a timeout (local_np_connect()), so its child would hang, and one
 * whose pipes are what uses up our descriptors would never close them.
 */
static void control_answer(struct ipcguardd *gate, int fd);

static bool gate_shed_one(struct ipcguardd *gate, int listen_fd)
{
	int fd;

	if (gate->spare_fd == -1) {
		return false;
	}
	close(gate->spare_fd);
	gate->spare_fd = -1;
	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd != -1 && listen_fd == gate->control_fd) {
		/* Status costs no descriptor: "ipcguard status" works on. */
		control_answer(gate, fd);
		close(fd);
	} else if (fd != -1) {
		close(fd);
		gate->num_shed++;
	}
	gate_open_spare_fd(gate);
	return fd != -1;
}

/*
 * accept() failing for want of descriptors leaves the connection in the
 * backlog and the socket readable, so tevent would call us again at once,
 * forever.  Turn the caller away instead; when even that is impossible,
 * stop watching every listening socket and look again a little later, or
 * as soon as a pipe closes.
 */
static void gate_out_of_descriptors(struct ipcguardd *gate, int listen_fd,
				    int err)
{
	uint64_t open = gate->num_open;
	bool shed = gate_shed_one(gate, listen_fd);

	gate->last_exhausted = timeval_current();
	if (!gate->fd_exhausted) {
		gate->fd_exhausted = true;
		gate->num_fd_exhausted++;
		DBG_ERR("ipcguardd: out of file descriptors (%s) with %" PRIu64
			" pipes open: turning new pipes away until some "
			"close; raise LimitNOFILE or lower the ipcguard:max "
			"pipes bounds\n", strerror(err), open);
	}
	if (shed) {
		return;
	}
	gate->accept_paused = true;
	gate_set_accepting(gate, false);
	if (gate->accept_retry == NULL) {
		gate->accept_retry = tevent_add_timer(
			gate->ev, gate,
			timeval_current_ofs_msec(IPCGUARD_ACCEPT_RETRY_MSEC),
			gate_accept_retry, gate);
	}
	if (gate->accept_retry == NULL) {
		/* Without a retry, a pause would be for good. */
		gate_resume_accepting(gate);
	}
}

/* Whether accept() failed for want of resources, not for this caller. */
static bool accept_out_of_resources(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS ||
	       err == ENOMEM;
}

/* The episode ends once accepting has worked for a second. */
static void gate_accepted(struct ipcguardd *gate)
{
	struct timeval now = timeval_current();

	if (gate->fd_exhausted &&
	    timeval_elapsed2(&gate->last_exhausted, &now) >= 1.0) {
		gate->fd_exhausted = false;
		DBG_ERR("ipcguardd: file descriptors available again; "
			"accepting pipes (%" PRIu64 " open)\n",
			gate->num_open);
	}
}

static void listener_accept(struct tevent_context *ev, struct tevent_fd *fde,
			    uint16_t flags, void *private_data)
{
	struct ipcguardd_listener *l = talloc_get_type_abort(
		private_data, struct ipcguardd_listener);
	struct ipcguardd *gate = l->gate;
	struct ipcguardd_conn *conn = NULL;
	struct tstream_context *plain = NULL;
	struct tevent_req *subreq = NULL;
	int fd, ret;

	fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd == -1) {
		if (accept_out_of_resources(errno)) {
			gate_out_of_descriptors(gate, l->fd, errno);
		} else if (errno != EINTR && errno != EAGAIN) {
			DBG_WARNING("ipcguardd: accept on '%s' failed: %s\n",
				    l->name, strerror(errno));
		}
		return;
	}
	gate_accepted(gate);
	conn = talloc_zero(gate, struct ipcguardd_conn);
	if (conn == NULL) {
		close(fd);
		return;
	}
	conn->gate = gate;
	conn->listener = l;
	conn->kind = IPCGUARD_SESSION_ANONYMOUS;
	conn->pipe = talloc_strdup(conn, l->name);
	conn->user = talloc_strdup(conn, "");
	conn->client = talloc_strdup(conn, "unknown");
	DLIST_ADD(gate->conns, conn);
	gate->num_open++;
	if (!conn_set_deadline(conn, IPCGUARD_HANDSHAKE_TIMEOUT)) {
		close(fd);
		conn_done(conn, "out of memory");
		return;
	}

	ret = tstream_bsd_existing_socket(conn, fd, &plain);
	if (ret != 0) {
		close(fd);
		conn_done(conn, "out of memory");
		return;
	}
	subreq = tstream_npa_accept_existing_send(conn, ev, plain,
						  FILE_TYPE_MESSAGE_MODE_PIPE,
						  0xff | 0x0400 | 0x0100,
						  4096);
	if (subreq == NULL) {
		conn_done(conn, "out of memory");
		return;
	}
	tevent_req_set_callback(subreq, conn_handshake_done, conn);
}

/* ---- sockets ----------------------------------------------------------- */

static int listen_unix(const char *path, mode_t mode)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		return -1;
	}
	unlink(path);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (ret == 0) {
		ret = chmod(path, mode);
	}
	if (ret == 0) {
		ret = listen(fd, 256);
	}
	if (ret != 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static int listener_destructor(struct ipcguardd_listener *l)
{
	if (l->fd != -1) {
		close(l->fd);
	}
	return 0;
}

static bool gate_has_listener(struct ipcguardd *gate, const char *name)
{
	struct ipcguardd_listener *l = NULL;

	for (l = gate->listeners; l != NULL; l = l->next) {
		if (strcmp(l->name, name) == 0) {
			return true;
		}
	}
	return false;
}

/* (Re)creates the listening socket of a pipe in the np directory. */
/*
 * (Re)creates a listening socket at path: the old one, if any, is closed
 * first, so the directory check can call this after the socket vanished.
 */
static bool rebind_unix(TALLOC_CTX *fde_owner, struct tevent_context *ev,
			const char *path, int *fd, struct tevent_fd **fde,
			struct unix_socket_id *bound,
			tevent_fd_handler_t handler, void *private_data)
{
	struct stat st;

	TALLOC_FREE(*fde);
	if (*fd != -1) {
		close(*fd);
	}
	*fd = listen_unix(path, 0600);
	if (*fd == -1) {
		DBG_ERR("ipcguardd: cannot listen on %s: %s\n", path,
			strerror(errno));
		return false;
	}
	*bound = (struct unix_socket_id) { 0 };
	if (lstat(path, &st) == 0) {
		*bound = (struct unix_socket_id) {
			.dev = st.st_dev, .ino = st.st_ino,
		};
	}
	*fde = tevent_add_fd(ev, fde_owner, *fd, TEVENT_FD_READ, handler,
			     private_data);
	return *fde != NULL;
}

static bool listener_bind(struct ipcguardd_listener *l)
{
	char *path = talloc_asprintf(l, "%s/%s", l->gate->np_dir, l->name);
	bool ok;

	if (path == NULL) {
		return false;
	}
	ok = rebind_unix(l, l->gate->ev, path, &l->fd, &l->fde, &l->bound,
			 listener_accept, l);
	TALLOC_FREE(path);
	return ok;
}

static void gate_add_listener(struct ipcguardd *gate, const char *name)
{
	struct ipcguardd_listener *l = NULL;
	const char **check = NULL;
	char *error = NULL;
	bool ok;

	if (gate_has_listener(gate, name)) {
		return;
	}
	/* Only names a pipe list could hold: the same parser. */
	ok = ipcguard_parse_name_list(gate, "pipe", name, true, &check,
				      &error) &&
	     check[0] != NULL && check[1] == NULL &&
	     strcmp(check[0], name) == 0;
	TALLOC_FREE(check);
	TALLOC_FREE(error);
	if (!ok) {
		DBG_DEBUG("ipcguardd: ignoring '%s' in %s: not a pipe name\n",
			  name, gate->upstream_np_dir);
		return;
	}
	l = talloc_zero(gate, struct ipcguardd_listener);
	if (l == NULL) {
		return;
	}
	l->gate = gate;
	l->fd = -1;
	l->name = talloc_strdup(l, name);
	if (l->name == NULL) {
		TALLOC_FREE(l);
		return;
	}
	talloc_set_destructor(l, listener_destructor);
	if (!listener_bind(l)) {
		TALLOC_FREE(l);
		return;
	}
	DLIST_ADD_END(gate->listeners, l);
	DBG_NOTICE("ipcguardd: gating pipe '%s'\n", name);
}

static void gate_rescan(struct ipcguardd *gate)
{
	DIR *dir = opendir(gate->upstream_np_dir);
	struct dirent *e = NULL;

	if (dir == NULL) {
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.') {
			continue;
		}
		gate_add_listener(gate, e->d_name);
	}
	closedir(dir);
}

static void gate_rescan_timer(struct tevent_context *ev,
			      struct tevent_timer *te,
			      struct timeval now, void *private_data)
{
	struct ipcguardd *gate = talloc_get_type_abort(private_data,
						       struct ipcguardd);

	gate_check_dirs(gate);
	gate_check_sockets(gate);
	gate_rescan(gate);
	if (gate->heap_trim_due && gate->num_open == 0) {
		/*
		 * A burst of connections leaves glibc's heap at its high
		 * water mark; an idle gate gives it back, so its RSS says
		 * what it holds.  Here, not at each close: a client opening
		 * pipes one after another would pay for it every time.
		 */
		(void)malloc_trim(0);
	}
	gate->heap_trim_due = false;
	if (tevent_add_timer(ev, gate, timeval_current_ofs(1, 0),
			     gate_rescan_timer, gate) == NULL) {
		DBG_ERR("ipcguardd: cannot schedule the pipe rescan\n");
	}
}

/*
 * The control socket answers every connection with the gate's figures, one
 * "key=value" line each, and closes.  Being reachable is all
 * ipcguard_gate_probe() needs; "ipcguard status" reads the text.
 */
static char *gate_status_text(TALLOC_CTX *mem_ctx, struct ipcguardd *gate)
{
	struct ipcguardd_listener *l = NULL;
	const char *problem = NULL;
	char *text = NULL;
	size_t i;

	text = talloc_asprintf(mem_ctx,
			       "ipcguardd=%s\npid=%d\npolicy=%s\n"
			       "rules=%zu\nsocket_directory=%s\n"
			       "connections_open=%" PRIu64 "\n"
			       "memory_bytes=%zu\n"
			       "allowed=%" PRIu64 "\nrefused=%" PRIu64 "\n"
			       "rpc_refused=%" PRIu64 "\n",
			       IPCGUARD_VERSION, (int)getpid(),
			       ipcguard_policy_is_valid(gate->policy) ?
			       "valid" : "invalid",
			       gate->policy != NULL ?
			       gate->policy->num_rules : 0,
			       gate->np_dir_unsafe ? "unsafe" : "ok",
			       gate->num_open, talloc_total_size(gate),
			       gate->num_allowed,
			       gate->num_refused, gate->num_rpc_refused);
	if (text != NULL) {
		struct rlimit rl = { 0 };

		(void)getrlimit(RLIMIT_NOFILE, &rl);
		text = talloc_asprintf_append_buffer(
			text, "pipe_limit_refused=%" PRIu64 "\n"
			"open_file_limit=%llu\nout_of_descriptors=%" PRIu64
			"\nturned_away=%" PRIu64 "\n",
			gate->num_limit_refused,
			(unsigned long long)rl.rlim_cur,
			gate->num_fd_exhausted, gate->num_shed);
	}
	/* Whatever makes the policy in force differ from the one
	 * configured, or leaves callers around the gate. */
	for (i = 0; text != NULL && gate->policy != NULL &&
		    gate->policy->warnings != NULL &&
		    gate->policy->warnings[i] != NULL; i++) {
		text = talloc_asprintf_append_buffer(
			text, "problem=%s\n", gate->policy->warnings[i]);
	}
	if (text != NULL && gate_reload_problem != NULL) {
		text = talloc_asprintf_append_buffer(
			text, "problem=%s\n", gate_reload_problem);
	}
	problem = ipcguard_ungated_transports();
	if (text != NULL && problem != NULL) {
		text = talloc_asprintf_append_buffer(text, "problem=%s\n",
						     problem);
	}
	for (l = gate->listeners; text != NULL && l != NULL; l = l->next) {
		text = talloc_asprintf_append_buffer(
			text, "pipe=%s allowed=%" PRIu64 " refused=%" PRIu64
			"\n", l->name, l->num_allowed, l->num_refused);
	}
	for (i = 0; text != NULL && i < gate->num_rule_counters; i++) {
		const struct rule_counter *c = &gate->rule_counters[i];

		text = talloc_asprintf_append_buffer(
			text, "rule=%s allowed=%" PRIu64 " refused=%" PRIu64
			" audit_only_matches=%" PRIu64 "\n", c->name,
			c->allowed, c->refused, c->would);
	}
	return text;
}

static void control_answer(struct ipcguardd *gate, int fd)
{
	char *text = gate_status_text(gate, gate);

	if (text != NULL) {
		/* A few hundred bytes fit the socket buffer; a peer that
		 * does not read (the module's probe) loses nothing. */
		(void)send(fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	TALLOC_FREE(text);
}

static void control_accept(struct tevent_context *ev, struct tevent_fd *fde,
			   uint16_t flags, void *private_data)
{
	struct ipcguardd *gate = talloc_get_type_abort(private_data,
						       struct ipcguardd);
	int fd;

	fd = accept4(gate->control_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd == -1) {
		if (accept_out_of_resources(errno)) {
			gate_out_of_descriptors(gate, gate->control_fd, errno);
		}
		return;
	}
	gate_accepted(gate);
	control_answer(gate, fd);
	close(fd);
}

/* ---- messaging --------------------------------------------------------- */

static void gate_reload(struct messaging_context *msg, void *private_data,
			uint32_t msg_type, struct server_id server_id,
			DATA_BLOB *data)
{
	struct ipcguardd *gate = talloc_get_type_abort(private_data,
						       struct ipcguardd);
	struct ipcguardd_conn *conn = NULL, *next = NULL;

	DBG_NOTICE("ipcguardd: reloading the configuration\n");
	if (!lp_load_global(get_dyn_CONFIGFILE())) {
		DBG_ERR("ipcguardd: could not reload %s; keeping the "
			"previous policy in force\n", get_dyn_CONFIGFILE());
		return;
	}
	if (!gate_load_policy(gate, true)) {
		return;
	}
	/* A tightened policy also ends live pipes it now refuses. */
	for (conn = gate->conns; conn != NULL; conn = next) {
		struct ipcguard_request request = {
			.stage = IPCGUARD_STAGE_OPEN,
		};
		struct ipcguard_decision decision = { 0 };

		next = conn->next;
		if (!conn->allowed) {
			continue;
		}
		conn_decide(conn, &request, &decision);
		if (decision.verdict == IPCGUARD_ALLOW) {
			continue;
		}
		gate->num_refused++;
		conn->listener->num_refused++;
		DBG_WARNING("ipcguardd: ended pipe '%s' of %s session (user "
			    "'%s', client %s) after reload: rule %s: %s\n",
			    conn->pipe, ipcguard_session_kind_name(conn->kind),
			    conn->user, conn->client, decision.rule,
			    decision.reason);
		conn_done(conn, "refused by the reloaded policy");
	}
}

/* ---- main -------------------------------------------------------------- */

/*
 * A second gate must leave the first one's sockets alone: binding them
 * would take every pipe open away from it.  Both the pid file (same
 * smb.conf) and the control socket (another smb.conf with the same gate
 * directory) are asked; stderr too, since the log may be elsewhere.
 */
static bool gate_already_running(struct ipcguardd *gate)
{
	const char *problem = NULL;
	pid_t pid;
	int fd;

	pid = pidfile_pid(lp_pid_directory(), "ipcguardd");
	if (pid > 0) {
		fprintf(stderr, "ipcguardd: another ipcguardd (pid %d) is "
			"already running with pid directory %s; exiting\n",
			(int)pid, lp_pid_directory());
		DBG_ERR("ipcguardd: another ipcguardd (pid %d) is already "
			"running with pid directory %s; exiting\n", (int)pid,
			lp_pid_directory());
		return true;
	}
	/* No policy yet: another gate that answers at all is running. */
	fd = ipcguard_gate_connect(gate, 2000, &problem);
	if (fd != -1) {
		close(fd);
		fprintf(stderr, "ipcguardd: another ipcguardd already answers "
			"in %s; exiting\n", gate->gate_dir);
		DBG_ERR("ipcguardd: another ipcguardd already answers in %s; "
			"exiting\n", gate->gate_dir);
		return true;
	}
	return false;
}

/*
 * local_np_connect() starts samba-dcerpcd with posix_spawn() and never
 * waits for it; samba-dcerpcd forks into the background and its first
 * process exits.  Every start on demand would leave a zombie.
 */
static void gate_reap_children(struct tevent_context *ev,
			       struct tevent_signal *se, int signum,
			       int count, void *siginfo, void *private_data)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		DBG_DEBUG("ipcguardd: child %d ended\n", (int)pid);
	}
}

static bool control_bind(struct ipcguardd *gate)
{
	char *control = talloc_asprintf(gate, "%s/%s", gate->gate_dir,
					IPCGUARD_GATE_CONTROL_SOCKET);
	bool ok;

	if (control == NULL) {
		return false;
	}
	ok = rebind_unix(gate, gate->ev, control, &gate->control_fd,
			 &gate->control_fde, &gate->control_bound,
			 control_accept, gate);
	TALLOC_FREE(control);
	return ok;
}

static bool gate_make_dirs(struct ipcguardd *gate)
{
	if (!directory_create_or_exist(gate->gate_dir, 0755)) {
		DBG_ERR("ipcguardd: cannot create %s: %s\n", gate->gate_dir,
			strerror(errno));
		return false;
	}
	/* Anyone who can connect here can claim any token: root only,
	 * as samba-dcerpcd does for its own np directory. */
	if (!directory_create_or_exist_strict(gate->np_dir, geteuid(),
					      0700)) {
		DBG_ERR("ipcguardd: %s must be a directory owned by uid %u "
			"with mode 0700\n", gate->np_dir,
			(unsigned)geteuid());
		return false;
	}
	return true;
}

/*
 * The np directory is checked every second, not only at start.  Gone (an
 * admin's rm -rf, a tmpfiles cleanup): it is made again and every socket
 * bound anew.  No longer root's and 0700: a local user could replace a
 * socket and receive the handshakes of other callers, so until it is fixed
 * anonymous and guest callers are refused; authenticated callers keep
 * working, as they would with the gate down.
 */
static void gate_check_dirs(struct ipcguardd *gate)
{
	struct ipcguardd_listener *l = NULL;
	struct stat st;
	bool safe;

	if (lstat(gate->np_dir, &st) != 0 && errno == ENOENT) {
		DBG_ERR("ipcguardd: %s disappeared; making it again with "
			"every socket\n", gate->np_dir);
		if (!gate_make_dirs(gate) || !control_bind(gate)) {
			return;
		}
		for (l = gate->listeners; l != NULL; l = l->next) {
			(void)listener_bind(l);
		}
		return;
	}
	safe = S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	       (st.st_mode & 07777) == 0700;
	if (!safe && !gate->np_dir_unsafe) {
		DBG_ERR("ipcguardd: %s is no longer a directory owned by uid "
			"%u with mode 0700: refusing anonymous and guest "
			"callers until it is\n", gate->np_dir,
			(unsigned)geteuid());
	} else if (safe && gate->np_dir_unsafe) {
		DBG_ERR("ipcguardd: %s is safe again\n", gate->np_dir);
	}
	gate->np_dir_unsafe = !safe;
}

/*
 * Whether path still is the socket this gate bound.  Another process
 * that unlinks and binds it (a second gate, an admin's tool) would
 * otherwise take every pipe open away from us without a word.
 */
static bool socket_still_ours(const char *path,
			      const struct unix_socket_id *bound)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	       st.st_dev == bound->dev && st.st_ino == bound->ino;
}

static void gate_check_sockets(struct ipcguardd *gate)
{
	struct ipcguardd_listener *l = NULL;
	char *path = NULL;

	path = talloc_asprintf(gate, "%s/%s", gate->gate_dir,
			       IPCGUARD_GATE_CONTROL_SOCKET);
	if (path != NULL && !socket_still_ours(path, &gate->control_bound)) {
		DBG_ERR("ipcguardd: %s is no longer this gate's socket; "
			"binding it again\n", path);
		(void)control_bind(gate);
	}
	for (l = gate->listeners; path != NULL && l != NULL; l = l->next) {
		TALLOC_FREE(path);
		path = talloc_asprintf(gate, "%s/%s", gate->np_dir, l->name);
		if (path != NULL && !socket_still_ours(path, &l->bound)) {
			DBG_ERR("ipcguardd: %s is no longer this gate's "
				"socket; binding it again\n", path);
			(void)listener_bind(l);
		}
	}
	TALLOC_FREE(path);
}

/*
 * Every pipe costs the gate one descriptor, two when forwarded, and
 * systemd starts services with a soft limit of 1,024 (for select()).  Like
 * smbd's set_maxfiles(), raise the soft limit towards what we want, up to
 * the hard limit.  The hard limit is left alone: it is the administrator's
 * (LimitNOFILE), and running out is handled, not fatal.
 */
static void gate_raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t before;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		DBG_WARNING("ipcguardd: getrlimit(RLIMIT_NOFILE) failed: %s\n",
			    strerror(errno));
		return;
	}
	before = rl.rlim_cur;
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < IPCGUARD_WANT_FILES) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ?
			IPCGUARD_WANT_FILES :
			MIN(rl.rlim_max, IPCGUARD_WANT_FILES);
	}
	if (rl.rlim_cur != before && setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		DBG_WARNING("ipcguardd: cannot raise the open file limit from "
			    "%llu to %llu: %s\n", (unsigned long long)before,
			    (unsigned long long)rl.rlim_cur, strerror(errno));
		return;
	}
	if (rl.rlim_cur == before) {
		DBG_NOTICE("ipcguardd: open file limit %llu (hard limit "
			   "%llu)\n", (unsigned long long)rl.rlim_cur,
			   (unsigned long long)rl.rlim_max);
		return;
	}
	DBG_NOTICE("ipcguardd: open file limit %llu (was %llu, hard limit "
		   "%llu)\n", (unsigned long long)rl.rlim_cur,
		   (unsigned long long)before,
		   (unsigned long long)rl.rlim_max);
}

static bool gate_setup_sockets(struct ipcguardd *gate)
{
	size_t i;

	gate_raise_fd_limit();
	gate->spare_fd = -1;
	gate_open_spare_fd(gate);
	if (!gate_make_dirs(gate)) {
		return false;
	}
	if (!control_bind(gate)) {
		return false;
	}
	for (i = 0; baseline_pipes[i] != NULL; i++) {
		gate_add_listener(gate, baseline_pipes[i]);
	}
	if (lp_server_role() == ROLE_DOMAIN_PDC ||
	    lp_server_role() == ROLE_DOMAIN_BDC ||
	    lp_server_role() == ROLE_IPA_DC ||
	    lp_server_role() == ROLE_ACTIVE_DIRECTORY_DC) {
		gate_add_listener(gate, "netlogon");
	}
	gate_rescan(gate);
	return tevent_add_timer(gate->ev, gate, timeval_current_ofs(1, 0),
				gate_rescan_timer, gate) != NULL;
}

int main(int argc, const char *argv[])
{
	TALLOC_CTX *frame = NULL;
	struct ipcguardd *gate = NULL;
	struct samba_cmdline_daemon_cfg *cmdline_daemon_cfg = NULL;
	const char *problem = NULL;
	poptContext pc;
	bool log_stdout;
	NTSTATUS status;
	int ret;
	struct poptOption long_options[] = {
		POPT_AUTOHELP
		POPT_COMMON_SAMBA
		POPT_COMMON_DAEMON
		POPT_COMMON_VERSION
		POPT_TABLEEND
	};

	talloc_enable_null_tracking();
	frame = talloc_stackframe();
	umask(0022);
	smb_init_locale();
	/* Before smb.conf is read, so "log level = ipcguard:N" applies. */
	ipcguardd_debug_class = debug_add_class("ipcguard");
	if (ipcguardd_debug_class == -1) {
		ipcguardd_debug_class = DBGC_ALL;
	}

	if (!samba_cmdline_init(frame, SAMBA_CMDLINE_CONFIG_SERVER,
				true /* require_smbconf */)) {
		fprintf(stderr, "ipcguardd: failed to initialise\n");
		exit(1);
	}
	pc = samba_popt_get_context(getprogname(), argc, argv, long_options,
				    0);
	if (pc == NULL) {
		fprintf(stderr, "ipcguardd: failed to set up options\n");
		exit(1);
	}
	ret = poptGetNextOpt(pc);
	if (ret != -1) {
		fprintf(stderr, "ipcguardd: %s: %s\n",
			poptBadOption(pc, 0), poptStrerror(ret));
		poptFreeContext(pc);
		exit(1);
	}
	poptFreeContext(pc);

	log_stdout = (debug_get_log_type() == DEBUG_STDOUT);
	setup_logging("ipcguardd", log_stdout ? DEBUG_STDOUT : DEBUG_FILE);

	gate = talloc_zero(NULL, struct ipcguardd);
	if (gate == NULL) {
		exit(ENOMEM);
	}
	gate->control_fd = -1;
	gate->gate_dir = ipcguard_gate_dir(gate, &problem);
	if (gate->gate_dir == NULL) {
		DBG_ERR("ipcguardd: %s; set it in [global] to the gate's "
			"directory (for example /run/samba/ipcguard)\n",
			problem);
		exit(1);
	}
	gate->gate_dir = talloc_strdup(gate, gate->gate_dir);
	gate->np_dir = talloc_asprintf(gate, "%s/np", gate->gate_dir);
	gate->upstream_np_dir = talloc_asprintf(gate, "%s/np",
						lp_ncalrpc_dir());
	if (gate->gate_dir == NULL || gate->np_dir == NULL ||
	    gate->upstream_np_dir == NULL) {
		exit(ENOMEM);
	}
	/* Before the option below sends our own probes elsewhere. */
	if (gate_already_running(gate)) {
		exit(1);
	}
	/*
	 * Our own connections to the RPC servers must go straight to
	 * samba-dcerpcd.  A command-line setting survives reloads.
	 */
	if (!lp_set_cmdline("external_rpc_pipe:socket_dir",
			    lp_ncalrpc_dir())) {
		DBG_ERR("ipcguardd: cannot route its own connections to %s\n",
			lp_ncalrpc_dir());
		exit(1);
	}

	cmdline_daemon_cfg = samba_cmdline_get_daemon_cfg();
	if (log_stdout && cmdline_daemon_cfg->fork) {
		DBG_ERR("ipcguardd: can't log to stdout unless in the "
			"foreground\n");
		exit(1);
	}

	gate->msg = global_messaging_context();
	if (gate->msg == NULL) {
		DBG_ERR("ipcguardd: messaging_init() failed\n");
		exit(1);
	}
	gate->ev = messaging_tevent_context(gate->msg);

	if (cmdline_daemon_cfg->fork) {
		become_daemon(true, cmdline_daemon_cfg->no_process_group,
			      log_stdout);
		status = reinit_after_fork(gate->msg, gate->ev, false, NULL);
		if (!NT_STATUS_IS_OK(status)) {
			exit_daemon("reinit_after_fork() failed",
				    map_errno_from_nt_status(status));
		}
	}
	BlockSignals(true, SIGPIPE);
	if (tevent_add_signal(gate->ev, gate, SIGCHLD, SA_RESTART,
			      gate_reap_children, gate) == NULL) {
		exit_daemon("ipcguardd: cannot catch SIGCHLD", ENOMEM);
	}
	DBG_ERR("ipcguardd version %s (build %s, Samba %s) started, gating "
		"%s\n", IPCGUARD_VERSION, IPCGUARD_BUILD_ID,
		samba_version_string(), gate->np_dir);

	/* Before any socket is touched: exits if another gate holds it. */
	pidfile_create(lp_pid_directory(), "ipcguardd");

	gate_load_policy(gate, false);

	if (!gate_setup_sockets(gate)) {
		exit_daemon("ipcguardd: cannot set up its sockets", EIO);
	}

	ret = server_id_db_add(messaging_names_db(gate->msg), "ipcguardd");
	if (ret != 0) {
		DBG_WARNING("ipcguardd: cannot register name ipcguardd for "
			    "smbcontrol: %s\n", strerror(ret));
	}
	messaging_register(gate->msg, gate, MSG_SMB_CONF_UPDATED,
			   gate_reload);

	if (cmdline_daemon_cfg->fork) {
		daemon_ready("ipcguardd");
	}
	tevent_loop_wait(gate->ev);

	TALLOC_FREE(gate);
	TALLOC_FREE(frame);
	return 0;
}
