/*
 * ipcguardd: one pipe connection, from accept() to conn_done().
 *
 * The handshake is smbd's named_pipe_auth, completed with Samba's own npa
 * tstream code; it carries the caller's session, which is judged at once.
 * A refused pipe answers faults (gate_refuse.c); an allowed one is
 * connected to the real pipe and relayed (gate_relay.c) until the relay
 * ends it.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include "includes.h"
#include "lib/util/dlinklist.h"
#include "lib/util/tevent_unix.h"
#include "lib/tsocket/tsocket.h"
#include "libcli/named_pipe_auth/npa_tstream.h"
#include "librpc/gen_ndr/named_pipe_auth.h"
#include "librpc/gen_ndr/auth.h"
#include "libcli/security/security.h"
#include "source3/rpc_client/local_np.h"
#include "nsswitch/winbind_client.h"
#include "ipcguard_compat.h"

#include "ipcguard_policy.h"
#include "ipcguard_contexts.h"
#include "ipcguard_session.h"
#include "ipcguard_audit.h"
#include "gate.h"

static void conn_handshake_done(struct tevent_req *subreq);

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
bool conn_set_deadline(struct ipcguardd_conn *conn, uint32_t secs)
{
	TALLOC_FREE(conn->deadline);
	conn->deadline = tevent_add_timer(conn->gate->ev, conn,
					  timeval_current_ofs(secs, 0),
					  conn_deadline_reached, conn);
	return conn->deadline != NULL;
}

/*
 * A connection accepted on l's socket, anonymous until shown otherwise
 * and counted open (conn_done() ends it); NULL when out of memory.
 */
struct ipcguardd_conn *conn_accepted(struct ipcguardd_listener *l)
{
	struct ipcguardd *gate = l->gate;
	struct ipcguardd_conn *conn = NULL;

	conn = talloc_zero(gate, struct ipcguardd_conn);
	if (conn == NULL) {
		return NULL;
	}
	conn->gate = gate;
	conn->listener = l;
	conn->kind = IPCGUARD_SESSION_ANONYMOUS;
	conn->pipe = talloc_strdup(conn, l->name);
	conn->user = talloc_strdup(conn, "");
	conn->client = talloc_strdup(conn, "unknown");
	DLIST_ADD(gate->conns, conn);
	gate->num_open++;
	return conn;
}

/* A caller accepted on l's socket, as fd: its handshake comes first. */
void conn_start(struct ipcguardd_listener *l, int fd)
{
	struct ipcguardd *gate = l->gate;
	struct ipcguardd_conn *conn = NULL;
	struct tstream_context *plain = NULL;
	struct tevent_req *subreq = NULL;
	int ret;

	conn = conn_accepted(l);
	if (conn == NULL) {
		close(fd);
		return;
	}
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
	subreq = tstream_npa_accept_existing_send(conn, gate->ev, plain,
						  FILE_TYPE_MESSAGE_MODE_PIPE,
						  0xff | 0x0400 | 0x0100,
						  4096);
	if (subreq == NULL) {
		conn_done(conn, "out of memory");
		return;
	}
	tevent_req_set_callback(subreq, conn_handshake_done, conn);
}

void conn_done(struct ipcguardd_conn *conn, const char *why)
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
static void conn_relayed(struct tevent_req *subreq);

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
	conn_relay(conn);
}

/* Both streams connected: relay until the relay ends the connection. */
void conn_relay(struct ipcguardd_conn *conn)
{
	struct tevent_req *subreq = NULL;

	subreq = gate_relay_send(conn, conn->gate->ev, conn);
	if (subreq == NULL) {
		conn_done(conn, "out of memory");
		return;
	}
	tevent_req_set_callback(subreq, conn_relayed, conn);
	/* A relayed pipe keeps its token and names, not what carried them:
	 * thousands of idle pipes must stay small. */
	TALLOC_FREE(conn->handshake);
}

static void conn_relayed(struct tevent_req *subreq)
{
	struct ipcguardd_conn *conn = tevent_req_callback_data(
		subreq, struct ipcguardd_conn);
	const char *why = NULL;

	gate_relay_recv(subreq, &why);
	TALLOC_FREE(subreq);
	conn_done(conn, why);
}

static void conn_handshake_done(struct tevent_req *subreq)
{
	struct ipcguardd_conn *conn = tevent_req_callback_data(
		subreq, struct ipcguardd_conn);
	struct ipcguardd *gate = conn->gate;
	struct ipcguard_npa_info *npa_info = NULL;
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

	conn->handshake = talloc_new(conn);
	if (conn->handshake == NULL) {
		TALLOC_FREE(subreq);
		conn_done(conn, "out of memory");
		return;
	}
	ret = tstream_npa_accept_existing_recv(
		subreq, &err, conn->handshake, &conn->client_stream, &npa_info,
		&transport,
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
	conn->contexts = ipcguard_contexts_new(conn);
	if (conn->contexts == NULL) {
		conn_done(conn, "out of memory");
		return;
	}
	if (have_session) {
		/* What the RPC server will see is what rules judge; the rest
		 * of the handshake goes once the RPC server has it. */
		conn->token = talloc_steal(
			conn, session_info->session_info->security_token);
		conn->local_system = security_token_has_sid(
			conn->token, &global_sid_System);
		if (ipcguard_strip_everyone(gate->policy, conn->kind) &&
		    ipcguard_token_remove_everyone(conn->token)) {
			DBG_DEBUG("ipcguardd: removed Everyone from the %s "
				  "token for pipe '%s'\n",
				  ipcguard_session_kind_name(conn->kind),
				  conn->pipe);
		}
	}
	conn_judge(conn, &request, IPCGUARD_STAGE_OPEN, &decision);
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
