/*
 * ipcguardd: refusing.  A refused caller gets an access-denied FAULT for
 * every bind, alter context or request, which clients report as
 * NT_STATUS_ACCESS_DENIED; the RPC server never sees it.  Faults answer
 * the calls the judge refuses on a forwarded pipe too (gate_relay.c).
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

#include "gate.h"

/*
 * A client told "access denied" a few times has been told; one that keeps
 * calling on a refused pipe only costs us writes.
 */
#define IPCGUARD_MAX_REFUSED_FAULTS 16

/* ---- faults ------------------------------------------------------------ */

struct refuse_fault_state {
	DATA_BLOB blob;
	struct iovec iov;
	const char *why;	/* why the pipe must end */
};

static void refuse_fault_written(struct tevent_req *subreq);

static void refuse_fault_failed(struct tevent_req *req, int err,
				const char *why)
{
	struct refuse_fault_state *state = tevent_req_data(
		req, struct refuse_fault_state);

	state->why = why;
	tevent_req_error(req, err);
}

/* An access-denied FAULT answering call_id, in *blob; false if no memory. */
bool refuse_fault_blob(TALLOC_CTX *mem_ctx, uint32_t call_id,
		       uint16_t context_id, DATA_BLOB *blob)
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
	NTSTATUS status;

	status = dcerpc_ncacn_push_auth(blob, mem_ctx, &fault, NULL);
	return NT_STATUS_IS_OK(status);
}

/*
 * Answer one call with an access-denied FAULT.  The caller reads on only
 * once it is written, so a client that does not read cannot make us
 * queue faults without end.
 */
struct tevent_req *refuse_fault_send(TALLOC_CTX *mem_ctx,
				     struct tevent_context *ev,
				     struct ipcguardd_conn *conn,
				     uint32_t call_id, uint16_t context_id)
{
	struct tevent_req *req = NULL;
	struct tevent_req *subreq = NULL;
	struct refuse_fault_state *state = NULL;

	req = tevent_req_create(mem_ctx, &state, struct refuse_fault_state);
	if (req == NULL) {
		return NULL;
	}
	if (!refuse_fault_blob(state, call_id, context_id, &state->blob)) {
		refuse_fault_failed(req, ENOMEM, "out of memory");
		return tevent_req_post(req, ev);
	}
	state->iov = (struct iovec) {
		.iov_base = state->blob.data,
		.iov_len = state->blob.length,
	};
	subreq = tstream_writev_queue_send(state, ev, conn->client_stream,
					   conn->client_queue, &state->iov,
					   1);
	if (subreq == NULL) {
		refuse_fault_failed(req, ENOMEM, "out of memory");
		return tevent_req_post(req, ev);
	}
	tevent_req_set_callback(subreq, refuse_fault_written, req);
	return req;
}

static void refuse_fault_written(struct tevent_req *subreq)
{
	struct tevent_req *req = tevent_req_callback_data(
		subreq, struct tevent_req);
	int ret, err;

	ret = tstream_writev_queue_recv(subreq, &err);
	TALLOC_FREE(subreq);
	if (ret == -1) {
		refuse_fault_failed(req, err, strerror(err));
		return;
	}
	tevent_req_done(req);
}

/* 0 once the fault is written; else *why says why the pipe must end. */
int refuse_fault_recv(struct tevent_req *req, const char **why)
{
	struct refuse_fault_state *state = tevent_req_data(
		req, struct refuse_fault_state);
	int err = 0;

	*why = NULL;
	if (tevent_req_is_unix_error(req, &err)) {
		*why = state->why != NULL ? state->why : strerror(err);
	}
	tevent_req_received(req);
	return err;
}

/* ---- refusing a whole pipe --------------------------------------------- */

static void refuse_read_next(struct ipcguardd_conn *conn);
static void refuse_got_pdu(struct tevent_req *subreq);
static void refuse_answered(struct tevent_req *subreq);

/*
 * A refused pipe answers faults for a while and then goes, so that
 * refused callers cannot pile up descriptors.
 */
void refuse_start(struct ipcguardd_conn *conn)
{
	unsigned secs = conn->gate->policy != NULL ?
		conn->gate->policy->refused_pipe_timeout : 10;

	conn->client_queue = tevent_queue_create(conn, "ipcguardd client");
	if (conn->client_queue == NULL || !conn_set_deadline(conn, secs)) {
		conn_done(conn, "out of memory");
		return;
	}
	refuse_read_next(conn);
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
	/*
	 * Closed at the call after the last fault, not right after writing
	 * it: smbd 4.22 can drop a pipe's last answer when the end of the
	 * pipe arrives with it, and the client would miss its fault.
	 */
	if (conn->faults >= IPCGUARD_MAX_REFUSED_FAULTS) {
		conn_done(conn, "too many calls on a refused pipe");
		return;
	}
	conn->faults++;
	subreq = refuse_fault_send(conn, conn->gate->ev, conn, call_id,
				   context_id);
	if (subreq == NULL) {
		conn_done(conn, "out of memory");
		return;
	}
	tevent_req_set_callback(subreq, refuse_answered, conn);
}

static void refuse_answered(struct tevent_req *subreq)
{
	struct ipcguardd_conn *conn = tevent_req_callback_data(
		subreq, struct ipcguardd_conn);
	const char *why = NULL;
	int ret;

	ret = refuse_fault_recv(subreq, &why);
	TALLOC_FREE(subreq);
	if (ret != 0) {
		conn_done(conn, why);
		return;
	}
	refuse_read_next(conn);
}
