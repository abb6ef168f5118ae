/*
 * ipcguardd: the relay of a forwarded pipe, as one tevent request that
 * ends when the pipe must.
 *
 * Whole PDUs read from one socket are written, one message each, to the
 * other (gate_relay_io.c), so message-mode framing is kept on both sides.
 * PDUs from the client are judged first (judge_pdu()); the RPC server's
 * answers to binds say which contexts it bound, and only those carry
 * requests.  Of the server's other PDUs only the header is looked at.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include "includes.h"
#include "lib/util/tevent_unix.h"
#include "lib/tsocket/tsocket.h"
#include "librpc/rpc/dcerpc_util.h"
#include "librpc/rpc/rpc_common.h"

#include "ipcguard_policy.h"
#include "ipcguard_contexts.h"
#include "ipcguard_calls.h"
#include "gate.h"
#include "gate_winreg.h"
#include "gate_relay.h"

/*
 * What the RPC server answered to a bind or alter context (call) is what
 * it bound.  Returns false if the answer does not fit what the gate
 * forwarded: the pipe must end.  *answered says the offer is settled.
 */
static bool learn_answer(struct ipcguardd_conn *conn,
			 const struct ncacn_packet *pkt,
			 const struct ipcguard_call *call, bool *answered)
{
	const struct dcerpc_bind_ack *ack = NULL;
	bool accepted[IPCGUARD_MAX_CONTEXTS];
	const char *why = NULL;
	uint8_t i;

	*answered = false;
	if (call->kind == IPCGUARD_CALL_NO_BIND) {
		/* Its bind_nak binds nothing; the client stays unheard. */
		return true;
	}
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
		/* A request's fault is no answer to an offer. */
		if (call->kind != IPCGUARD_CALL_REQUEST) {
			*answered = ipcguard_contexts_refused(conn->contexts,
							      pkt->call_id);
		}
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

/* ---- what each PDU means --------------------------------------------- */

/*
 * PDUs are parsed into one pool the whole gate reuses: each parse is
 * freed before the next, so it costs no malloc() unless a PDU is large.
 */
static TALLOC_CTX *relay_pool(struct ipcguardd *gate)
{
	if (gate->parse_pool == NULL) {
		gate->parse_pool = talloc_pool(gate, 16 * 1024);
	}
	return gate->parse_pool;
}

static struct ncacn_packet *relay_parse(struct gate_relay_state *state,
					uint8_t *pdu, size_t len)
{
	TALLOC_CTX *pool = relay_pool(state->conn->gate);
	struct ncacn_packet *pkt = NULL;
	DATA_BLOB blob = data_blob_const(pdu, len);
	NTSTATUS status;

	if (pool == NULL) {
		relay_end(state, "out of memory");
		return NULL;
	}
	pkt = talloc(pool, struct ncacn_packet);
	if (pkt == NULL) {
		relay_end(state, "out of memory");
		return NULL;
	}
	status = dcerpc_pull_ncacn_packet(pkt, &blob, pkt);
	if (!NT_STATUS_IS_OK(status)) {
		DBG_DEBUG("ipcguardd: %s: %s\n", state->conn->pipe,
			  nt_errstr(status));
		TALLOC_FREE(pkt);
		return NULL;
	}
	return pkt;
}

static void log_closing(const struct ipcguardd_conn *conn, const char *why,
			uint32_t call_id)
{
	DBG_WARNING("ipcguardd: pipe '%s' of %s session (user '%s', client "
		    "%s): %s (call id %" PRIu32 "); closing\n", conn->pipe,
		    ipcguard_session_kind_name(conn->kind), conn->user,
		    conn->client, why, call_id);
}

/*
 * Which call a server PDU answers, from its header alone: false if the
 * relay ended because it answers none the gate forwarded.  *call is
 * zeroed for PDUs that answer nothing.
 */
static uint32_t header_call_id(const uint8_t *pdu)
{
	return (pdu[4] & DCERPC_DREP_LE) ? IVAL(pdu, 12) : RIVAL(pdu, 12);
}

static bool match_answer(struct gate_relay_state *state, const uint8_t *pdu,
			 struct ipcguard_call *call)
{
	enum ipcguard_answer_kind answer;
	uint32_t call_id = header_call_id(pdu);
	const char *why = NULL;

	*call = (struct ipcguard_call) { .call_id = 0 };
	switch (pdu[2]) {	/* ptype */
	case DCERPC_PKT_BIND_ACK:
		answer = IPCGUARD_ANSWER_BIND_ACK;
		break;
	case DCERPC_PKT_BIND_NAK:
		answer = IPCGUARD_ANSWER_BIND_NAK;
		break;
	case DCERPC_PKT_ALTER_RESP:
		answer = IPCGUARD_ANSWER_ALTER_RESP;
		break;
	case DCERPC_PKT_RESPONSE:
		answer = IPCGUARD_ANSWER_RESPONSE;
		break;
	case DCERPC_PKT_FAULT:
		answer = IPCGUARD_ANSWER_FAULT;
		break;
	default:
		return true;
	}
	if ((answer == IPCGUARD_ANSWER_BIND_ACK ||
	     answer == IPCGUARD_ANSWER_ALTER_RESP) &&
	    (pdu[3] & DCERPC_PFC_FLAG_CONC_MPX)) {
		ipcguard_calls_set_multiplexed(state->calls);
	}
	if (ipcguard_calls_answer(state->calls, answer, call_id,
				  (pdu[3] & DCERPC_PFC_FLAG_LAST) != 0, call,
				  &why)) {
		return true;
	}
	log_closing(state->conn, why, call_id);
	relay_end(state, "an answer to no call the gate forwarded");
	return false;
}

/* An RPC server PDU, framed by its header; false if the relay ended. */
static bool relay_response(struct gate_relay_state *state, uint8_t *pdu,
			   size_t len)
{
	struct ipcguardd_conn *conn = state->conn;
	struct relay_direction *dir = &state->downstream;
	struct ncacn_packet *pkt = NULL;
	struct ipcguard_call call;
	bool answered = false;

	if (!match_answer(state, pdu, &call)) {
		return false;
	}
	switch (pdu[2]) {	/* ptype */
	case DCERPC_PKT_RESPONSE:
		/* Parsed only while a registry key handle is awaited. */
		if (!gate_winreg_waiting(conn->winreg)) {
			break;
		}
		pkt = relay_parse(state, pdu, len);
		if (state->ended) {
			return false;
		}
		if (pkt != NULL) {
			gate_winreg_answer(conn->winreg, pkt, &call);
		}
		TALLOC_FREE(pkt);
		break;
	case DCERPC_PKT_BIND_ACK:
	case DCERPC_PKT_ALTER_RESP:
	case DCERPC_PKT_BIND_NAK:
	case DCERPC_PKT_FAULT:
		pkt = relay_parse(state, pdu, len);
		if (pkt == NULL) {
			relay_end(state, "RPC server closed");
			return false;
		}
		gate_winreg_answer(conn->winreg, pkt, &call);
		if (!learn_answer(conn, pkt, &call, &answered)) {
			TALLOC_FREE(pkt);
			relay_end(state, "bind answer does not fit the bind");
			return false;
		}
		TALLOC_FREE(pkt);
		break;
	default:
		break;
	}
	if (!relay_write(dir, dir->to, pdu, len)) {
		return false;
	}
	if (answered && state->upstream.paused) {
		state->upstream.paused = false;
		relay_resume(&state->upstream);
	}
	return true;
}

/*
 * Whether a client PDU may start a call: the server answers binds, alter
 * contexts and requests (from their first fragment), and a call id still
 * owed an answer must not start another (ipcguard_calls.h).  *starts says
 * whether it starts one, *kind which.  false if the relay ended.
 */
static bool call_may_start(struct gate_relay_state *state,
			   const struct ncacn_packet *pkt, bool *starts,
			   enum ipcguard_call_kind *kind)
{
	*starts = false;
	switch (pkt->ptype) {
	case DCERPC_PKT_BIND:
		*kind = IPCGUARD_CALL_BIND;
		break;
	case DCERPC_PKT_ALTER:
		*kind = IPCGUARD_CALL_ALTER;
		break;
	case DCERPC_PKT_REQUEST:
		if ((pkt->pfc_flags & DCERPC_PFC_FLAG_FIRST) == 0) {
			return true;
		}
		*kind = IPCGUARD_CALL_REQUEST;
		break;
	default:
		return true;
	}
	*starts = true;
	if (!ipcguard_calls_outstanding(state->calls, pkt->call_id)) {
		return true;
	}
	log_closing(state->conn, "the client reused the call id of a call "
		    "the RPC server has not answered yet", pkt->call_id);
	relay_end(state, "a call id reused while outstanding");
	return false;
}

/*
 * Whether Samba's RPC server takes pkt (NULL: not a PDU it can parse) as
 * the bind it expects first on a connection: dcesrv_bind() checks the
 * header so, with every flag allowed, and answers anything else with
 * bind_nak "protocol version not supported".
 */
static bool samba_takes_as_bind(const struct ncacn_packet *pkt)
{
	return pkt != NULL &&
	       NT_STATUS_IS_OK(dcerpc_verify_ncacn_packet_header(
		       pkt, DCERPC_PKT_BIND, pkt->u.bind.auth_info.length,
		       0, UINT8_MAX));
}

/*
 * The client's first PDU is no bind Samba takes.  Samba answers it with
 * bind_nak, or not at all, and ends the connection (allow_bind in
 * dcesrv_core.c), so it executes nothing: the PDU goes to it unjudged
 * and the client sees Samba's own answer, as a scanner of plain Samba
 * does.  Nothing more is read from the client, and the only answer the
 * gate relays is a bind_nak or fault (ipcguard_calls.h): were the server
 * to take the PDU after all, its answer would end the pipe instead.
 */
static bool relay_no_bind(struct gate_relay_state *state, uint8_t *pdu,
			  size_t len)
{
	struct relay_direction *dir = &state->upstream;
	uint32_t call_id = header_call_id(pdu);
	const char *why = NULL;

	DBG_INFO("ipcguardd: pipe '%s' of %s session (user '%s', client "
		 "%s): the first PDU is no bind; the RPC server answers it and "
		 "nothing more from the client is relayed\n",
		 state->conn->pipe,
		 ipcguard_session_kind_name(state->conn->kind),
		 state->conn->user, state->conn->client);
	if (!ipcguard_calls_send(state->calls, IPCGUARD_CALL_NO_BIND,
				 call_id, 0, &why)) {
		log_closing(state->conn, why, call_id);
		relay_end(state, "the first PDU is no bind");
		return false;
	}
	dir->paused = true;
	relay_side_update(dir->from);
	return relay_write(dir, dir->to, pdu, len);
}

/*
 * Whether dir may take a PDU whose header says it is shorter than a
 * header: only the client's first, which Samba reads as a header alone.
 */
bool relay_takes_short_pdu(const struct relay_direction *dir)
{
	return dir == &dir->state->upstream && !dir->state->had_first;
}

/* A client PDU, parsed whole and judged; false if the relay ended. */
static bool relay_request(struct gate_relay_state *state, uint8_t *pdu,
			  size_t len)
{
	struct ipcguardd_conn *conn = state->conn;
	struct relay_direction *dir = &state->upstream;
	struct ncacn_packet *pkt = NULL;
	enum pdu_fate fate = PDU_FORWARD;
	enum ipcguard_call_kind kind = IPCGUARD_CALL_REQUEST;
	bool starts = false;
	uint32_t call_id = 0;
	uint16_t context_id = 0;
	uint16_t opnum = 0;
	DATA_BLOB fault = data_blob_null;
	const char *why = NULL;
	bool ok;

	pkt = relay_parse(state, pdu, len);
	if (state->ended) {
		return false;
	}
	if (!state->had_first) {
		state->had_first = true;
		if (!samba_takes_as_bind(pkt)) {
			TALLOC_FREE(pkt);
			return relay_no_bind(state, pdu, len);
		}
	}
	if (pkt == NULL) {
		relay_end(state, "client closed");
		return false;
	}
	if (!call_may_start(state, pkt, &starts, &kind)) {
		TALLOC_FREE(pkt);
		return false;
	}
	fate = judge_pdu(conn, &state->call, pkt);
	call_id = pkt->call_id;
	opnum = pkt->ptype == DCERPC_PKT_REQUEST ? pkt->u.request.opnum : 0;
	context_id = pkt->ptype == DCERPC_PKT_REQUEST ?
		pkt->u.request.context_id : 0;
	TALLOC_FREE(pkt);
	if (fate == PDU_FORWARD && starts &&
	    !ipcguard_calls_send(state->calls, kind, call_id, opnum, &why)) {
		log_closing(conn, why, call_id);
		relay_end(state, "too many calls without an answer");
		return false;
	}
	switch (fate) {
	case PDU_FORWARD:
		break;
	case PDU_DROP:
		return true;
	case PDU_FAULT:
		if (!refuse_fault_blob(state, call_id, context_id, &fault)) {
			relay_end(state, "out of memory");
			return false;
		}
		ok = relay_write(dir, &state->client, fault.data,
				 fault.length);
		data_blob_free(&fault);
		return ok;
	case PDU_CLOSE:
		DBG_WARNING("ipcguardd: pipe '%s' of %s session (user '%s', "
			    "client %s): request fragments do not continue "
			    "the call they belong to; closing\n", conn->pipe,
			    ipcguard_session_kind_name(conn->kind),
			    conn->user, conn->client);
		relay_end(state, "inconsistent request fragments");
		return false;
	}
	if (!relay_write(dir, dir->to, pdu, len)) {
		return false;
	}
	if (ipcguard_contexts_pending(conn->contexts)) {
		/* relay_response() resumes once the server has answered. */
		dir->paused = true;
		relay_side_update(dir->from);
	}
	return true;
}

bool relay_pdu(struct relay_direction *dir, uint8_t *pdu, size_t len)
{
	struct gate_relay_state *state = dir->state;

	if (dir == &state->upstream) {
		return relay_request(state, pdu, len);
	}
	return relay_response(state, pdu, len);
}

/* ---- the relay as a tevent request -------------------------------------- */

/*
 * The relay runs as long as the pipe: whatever ends one ends the other,
 * so every end is the relay's completion, with the reason for the log.
 * The callback is deferred (gate_relay_send()): whoever ends the relay
 * returns through code that still uses its state.
 */
void relay_end(struct gate_relay_state *state, const char *why)
{
	const struct relay_direction *up = &state->upstream;

	if (state->ended) {
		return;
	}
	if (state->conn->tcp != NULL && state->client.fd != -1 &&
	    (up->saved_len > 0 || up->pdu_len > 0 || up->msg_left > 0)) {
		/*
		 * Bytes the client sent were never taken: its connection
		 * is reset, as the kernel resets Samba's for what Samba
		 * left unread.
		 */
		struct linger reset = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(state->client.fd, SOL_SOCKET, SO_LINGER, &reset,
			   sizeof(reset));
	}
	state->ended = true;
	state->why = why;
	relay_side_update(&state->client);
	relay_side_update(&state->server);
	tevent_req_done(state->req);
}

/*
 * Relays conn's pipe between conn->client_stream and conn->server_stream,
 * both connected, until either side closes or breaks the protocol.  The
 * relay takes their sockets and frees both streams.
 */
struct tevent_req *gate_relay_send(TALLOC_CTX *mem_ctx,
				   struct tevent_context *ev,
				   struct ipcguardd_conn *conn)
{
	struct tevent_req *req = NULL;
	struct gate_relay_state *state = NULL;

	req = tevent_req_create(mem_ctx, &state, struct gate_relay_state);
	if (req == NULL) {
		return NULL;
	}
	tevent_req_defer_callback(req, ev);
	state->req = req;
	state->ev = ev;
	state->conn = conn;
	state->calls = ipcguard_calls_new(state);
	if (state->calls == NULL) {
		state->ended = true;
		state->why = "out of memory";
		tevent_req_done(req);
		return tevent_req_post(req, ev);
	}
	state->client = (struct relay_side) {
		.state = state,
		.reader = &state->upstream,
		.closed = "client closed",
		.fd = -1,
	};
	state->server = (struct relay_side) {
		.state = state,
		.reader = &state->downstream,
		.closed = "RPC server closed",
		.fd = -1,
	};
	state->upstream = (struct relay_direction) {
		.state = state,
		.from = &state->client,
		.to = &state->server,
	};
	state->downstream = (struct relay_direction) {
		.state = state,
		.from = &state->server,
		.to = &state->client,
	};
	if (!relay_side_take(state, &state->client, &conn->client_stream) ||
	    !relay_side_take(state, &state->server, &conn->server_stream)) {
		return tevent_req_post(req, ev);
	}
	relay_side_update(&state->client);
	relay_side_update(&state->server);
	return req;
}

/* *why: what ended the pipe, for conn_done(). */
void gate_relay_recv(struct tevent_req *req, const char **why)
{
	struct gate_relay_state *state = tevent_req_data(
		req, struct gate_relay_state);

	*why = state->why;
	tevent_req_received(req);
}
