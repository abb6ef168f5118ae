/*
 * ipcguardd: the relay of a forwarded pipe, as one tevent request that
 * ends when the pipe must.
 *
 * Whole PDUs read from one stream are written, one message each, to the
 * other, so message-mode framing is kept on both sides.  PDUs from the
 * client are judged first (judge_pdu()); the RPC server's answers to
 * binds say which contexts it bound, and only those carry requests.
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
#include "gate.h"
#include "gate_winreg.h"

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

struct gate_relay_state;

/* One direction of a forwarded pipe. */
struct relay_direction {
	struct gate_relay_state *state;
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

struct gate_relay_state {
	struct tevent_req *req;
	struct tevent_context *ev;
	struct ipcguardd_conn *conn;
	struct relay_direction upstream;	/* client -> RPC server */
	struct relay_direction downstream;	/* RPC server -> client */
	/* No client PDU is read while a bind or alter context waits for
	 * the server's answer: a request must be judged on what it bound. */
	bool upstream_paused;
	struct gate_call call;
	const char *why;	/* what ended the pipe */
};

static bool relay_read(struct relay_direction *dir);
static void relay_got_pdu(struct tevent_req *subreq);
static void relay_got_response(struct tevent_req *subreq);
static void relay_fault_written(struct tevent_req *subreq);
static void relay_forward(struct relay_direction *dir);
static void relay_written(struct tevent_req *subreq);

/*
 * The relay runs as long as the pipe: whatever ends one ends the other,
 * so every end is the relay's completion, with the reason for the log.
 */
static void relay_end(struct gate_relay_state *state, const char *why)
{
	state->why = why;
	tevent_req_done(state->req);
}

/*
 * Relays conn's pipe between conn->client_stream and conn->server_stream,
 * both connected, until either side closes or breaks the protocol.
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
	state->req = req;
	state->ev = ev;
	state->conn = conn;
	state->upstream = (struct relay_direction) {
		.state = state,
		.from = conn->client_stream,
		.to = conn->server_stream,
		.from_name = "client",
	};
	state->downstream = (struct relay_direction) {
		.state = state,
		.from = conn->server_stream,
		.to = conn->client_stream,
		.from_name = "RPC server",
	};
	if (!relay_read(&state->upstream) ||
	    !relay_read(&state->downstream)) {
		return tevent_req_post(req, ev);
	}
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
	/* Embedded in the relay's state, not a talloc object. */
	struct relay_direction *dir = (struct relay_direction *)private_data;
	struct gate_relay_state *state = dir->state;
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
		uint8_t *buf = talloc_realloc(state, dir->buf, uint8_t,
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

/* Returns false if the relay has ended. */
static bool relay_read(struct relay_direction *dir)
{
	struct gate_relay_state *state = dir->state;
	struct tevent_req *subreq = NULL;

	if (dir == &state->downstream) {
		/* Only answers to binds are parsed: the RPC server's other
		 * PDUs need their header for framing, nothing else. */
		dir->pdu = data_blob_null;
		subreq = tstream_readv_pdu_send(state, state->ev, dir->from,
						relay_response_next_vector,
						dir);
		if (subreq == NULL) {
			relay_end(state, "out of memory");
			return false;
		}
		tevent_req_set_callback(subreq, relay_got_response, dir);
		return true;
	}
	subreq = dcerpc_read_ncacn_packet_send(state, state->ev, dir->from);
	if (subreq == NULL) {
		relay_end(state, "out of memory");
		return false;
	}
	tevent_req_set_callback(subreq, relay_got_pdu, dir);
	return true;
}

static void relay_got_response(struct tevent_req *subreq)
{
	/* Embedded in the relay's state, not a talloc object. */
	struct relay_direction *dir = (struct relay_direction *)
		tevent_req_callback_data_void(subreq);
	struct gate_relay_state *state = dir->state;
	struct ipcguardd_conn *conn = state->conn;
	struct ncacn_packet *pkt = NULL;
	bool answered = false;
	NTSTATUS status;
	int ret, err;

	ret = tstream_readv_pdu_recv(subreq, &err);
	TALLOC_FREE(subreq);
	if (ret == -1) {
		DBG_DEBUG("ipcguardd: %s: %s\n", dir->from_name,
			  strerror(err));
		relay_end(state, "RPC server closed");
		return;
	}
	if (dir->pdu.length < DCERPC_NCACN_PAYLOAD_OFFSET ||
	    dcerpc_get_frag_length(&dir->pdu) != dir->pdu.length) {
		DBG_DEBUG("ipcguardd: %s: fragment length does not fit\n",
			  dir->from_name);
		relay_end(state, "RPC server closed");
		return;
	}
	switch (dir->pdu.data[2]) {	/* ptype */
	case DCERPC_PKT_RESPONSE:
		/* Parsed only while a registry key handle is awaited. */
		if (!gate_winreg_waiting(conn->winreg)) {
			break;
		}
		pkt = talloc(state, struct ncacn_packet);
		if (pkt == NULL) {
			relay_end(state, "out of memory");
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
		pkt = talloc(state, struct ncacn_packet);
		if (pkt == NULL) {
			relay_end(state, "out of memory");
			return;
		}
		status = dcerpc_pull_ncacn_packet(pkt, &dir->pdu, pkt);
		if (!NT_STATUS_IS_OK(status)) {
			DBG_DEBUG("ipcguardd: %s: %s\n", dir->from_name,
				  nt_errstr(status));
			TALLOC_FREE(pkt);
			relay_end(state, "RPC server closed");
			return;
		}
		gate_winreg_answer(conn->winreg, pkt);
		if (!learn_answer(conn, pkt, &answered)) {
			TALLOC_FREE(pkt);
			relay_end(state, "bind answer does not fit the bind");
			return;
		}
		TALLOC_FREE(pkt);
		break;
	default:
		break;
	}
	if (answered && state->upstream_paused) {
		state->upstream_paused = false;
		if (!relay_read(&state->upstream)) {
			return;
		}
	}
	relay_forward(dir);
}

/* A client PDU, parsed whole: it is judged before it goes on. */
static void relay_got_pdu(struct tevent_req *subreq)
{
	/* Embedded in the relay's state, not a talloc object. */
	struct relay_direction *dir = (struct relay_direction *)
		tevent_req_callback_data_void(subreq);
	struct gate_relay_state *state = dir->state;
	struct ipcguardd_conn *conn = state->conn;
	struct ncacn_packet *pkt = NULL;
	enum pdu_fate fate = PDU_FORWARD;
	uint32_t call_id = 0;
	uint16_t context_id = 0;
	NTSTATUS status;

	status = dcerpc_read_ncacn_packet_recv(subreq, state, &pkt,
					       &dir->pdu);
	TALLOC_FREE(subreq);
	if (!NT_STATUS_IS_OK(status)) {
		DBG_DEBUG("ipcguardd: %s: %s\n", dir->from_name,
			  nt_errstr(status));
		relay_end(state, "client closed");
		return;
	}
	fate = judge_pdu(conn, &state->call, pkt);
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
		/* The client is read again once the fault is written. */
		subreq = refuse_fault_send(state, state->ev, conn, call_id,
					   context_id);
		if (subreq == NULL) {
			relay_end(state, "out of memory");
			return;
		}
		tevent_req_set_callback(subreq, relay_fault_written, state);
		return;
	case PDU_CLOSE:
		DBG_WARNING("ipcguardd: pipe '%s' of %s session (user '%s', "
			    "client %s): request fragments do not continue "
			    "the call they belong to; closing\n", conn->pipe,
			    ipcguard_session_kind_name(conn->kind),
			    conn->user, conn->client);
		relay_end(state, "inconsistent request fragments");
		return;
	}
	relay_forward(dir);
}

static void relay_fault_written(struct tevent_req *subreq)
{
	struct gate_relay_state *state = tevent_req_callback_data(
		subreq, struct gate_relay_state);
	const char *why = NULL;
	int ret;

	ret = refuse_fault_recv(subreq, &why);
	TALLOC_FREE(subreq);
	if (ret != 0) {
		relay_end(state, why);
		return;
	}
	relay_read(&state->upstream);
}

/* Write the PDU just read, whole, as one message. */
static void relay_forward(struct relay_direction *dir)
{
	struct gate_relay_state *state = dir->state;
	struct ipcguardd_conn *conn = state->conn;
	struct tevent_req *subreq = NULL;

	dir->iov = (struct iovec) {
		.iov_base = dir->pdu.data,
		.iov_len = dir->pdu.length,
	};
	if (dir->to == conn->client_stream) {
		subreq = tstream_writev_queue_send(state, state->ev, dir->to,
						   conn->client_queue,
						   &dir->iov, 1);
	} else {
		subreq = tstream_writev_send(state, state->ev, dir->to,
					     &dir->iov, 1);
	}
	if (subreq == NULL) {
		relay_end(state, "out of memory");
		return;
	}
	tevent_req_set_callback(subreq, relay_written, dir);
}

static void relay_written(struct tevent_req *subreq)
{
	/* Embedded in the relay's state, not a talloc object. */
	struct relay_direction *dir = (struct relay_direction *)
		tevent_req_callback_data_void(subreq);
	struct gate_relay_state *state = dir->state;
	struct ipcguardd_conn *conn = state->conn;
	int ret, err;

	/* tstream_writev_queue_recv is tstream_writev_recv's twin. */
	ret = dir->to == conn->client_stream ?
		tstream_writev_queue_recv(subreq, &err) :
		tstream_writev_recv(subreq, &err);
	TALLOC_FREE(subreq);
	if (dir->pdu.data == dir->buf) {
		dir->pdu = data_blob_null;	/* kept for the next one */
	} else {
		data_blob_free(&dir->pdu);
	}
	if (ret == -1) {
		relay_end(state, strerror(err));
		return;
	}
	if (dir == &state->upstream &&
	    ipcguard_contexts_pending(conn->contexts)) {
		/* learn_answer() resumes once the server has answered. */
		state->upstream_paused = true;
		return;
	}
	relay_read(dir);
}
