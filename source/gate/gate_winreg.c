/*
 * ipcguardd: decoding winreg requests and tracking key handles.  See
 * gate_winreg.h.
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
#include "librpc/ndr/ndr_dcerpc.h"
#include "librpc/gen_ndr/ndr_dcerpc.h"
#include "librpc/gen_ndr/ndr_winreg.h"
#include "libcli/security/security.h"

#include "ipcguard_policy.h"
#include "ipcguard_calls.h"
#include "gate_winreg.h"

struct gate_winreg_handle {
	struct policy_handle handle;
	char *path;
};

struct gate_winreg_call {
	uint32_t call_id;
	uint16_t opnum;
	char *path;
};

struct gate_winreg {
	struct gate_winreg_handle *handles;
	size_t num_handles;
	struct gate_winreg_call pending[GATE_WINREG_MAX_PENDING];
	size_t num_pending;
	/* The request described last, until it is forwarded or not. */
	bool described;
	uint32_t call_id;
	uint16_t opnum;
	char *path;			/* the key it opens or acts on */
	bool closes;
	struct policy_handle closed;	/* CloseKey's handle */
};

static const char *handle_path(const struct gate_winreg *state,
			       const struct policy_handle *h)
{
	size_t i;

	for (i = 0; i < state->num_handles; i++) {
		if (ndr_policy_handle_equal(&state->handles[i].handle, h)) {
			return state->handles[i].path;
		}
	}
	return NULL;
}

static void forget_handle(struct gate_winreg *state,
			  const struct policy_handle *h)
{
	size_t i;

	for (i = 0; i < state->num_handles; i++) {
		if (ndr_policy_handle_equal(&state->handles[i].handle, h)) {
			TALLOC_FREE(state->handles[i].path);
			state->handles[i] =
				state->handles[state->num_handles - 1];
			state->num_handles--;
			return;
		}
	}
}

/* Beyond the bound the handle stays unknown: its requests are refused. */
static void learn_handle(struct gate_winreg *state,
			 const struct policy_handle *h, char *path)
{
	struct gate_winreg_handle *tmp = NULL;

	forget_handle(state, h);
	if (state->num_handles >= GATE_WINREG_MAX_HANDLES) {
		DBG_NOTICE("ipcguardd: winreg pipe holds %d handles; the key "
			   "'%s' stays unknown\n", GATE_WINREG_MAX_HANDLES,
			   path);
		TALLOC_FREE(path);
		return;
	}
	tmp = talloc_realloc(state, state->handles, struct gate_winreg_handle,
			     state->num_handles + 1);
	if (tmp == NULL) {
		TALLOC_FREE(path);
		return;
	}
	state->handles = tmp;
	tmp[state->num_handles].handle = *h;
	tmp[state->num_handles].path = talloc_steal(tmp, path);
	state->num_handles++;
}

static void drop_pending(struct gate_winreg *state, size_t i)
{
	TALLOC_FREE(state->pending[i].path);
	state->pending[i] = state->pending[state->num_pending - 1];
	state->pending[state->num_pending - 1] =
		(struct gate_winreg_call) { .path = NULL };
	state->num_pending--;
}

/*
 * Only what the RPC server reads the same way: one whole, unsigned,
 * unsealed, little-endian fragment, the verification trailer taken off as
 * dcesrv_request() does, and the stub consumed exactly.
 */
static void *pull_stub(TALLOC_CTX *mem_ctx, const struct ncacn_packet *pkt,
		       const DATA_BLOB *stub, uint16_t opnum, int flags)
{
	const struct ndr_interface_call *call = NULL;
	struct ndr_pull *pull = NULL;
	struct dcerpc_sec_verification_trailer *vt = NULL;
	enum ndr_err_code ndr_err;
	void *r = NULL;

	if ((pkt->pfc_flags & DCERPC_PFC_FLAG_FIRST) == 0 ||
	    (pkt->pfc_flags & DCERPC_PFC_FLAG_LAST) == 0 ||
	    pkt->auth_length != 0 || (pkt->drep[0] & DCERPC_DREP_LE) == 0 ||
	    opnum >= ndr_table_winreg.num_calls) {
		return NULL;
	}
	call = &ndr_table_winreg.calls[opnum];
	pull = ndr_pull_init_blob(stub, mem_ctx);
	r = talloc_zero_size(mem_ctx, call->struct_size);
	if (pull == NULL || r == NULL) {
		return NULL;
	}
	pull->flags |= LIBNDR_FLAG_REF_ALLOC;
	if (flags == NDR_IN) {
		ndr_err = ndr_pop_dcerpc_sec_verification_trailer(pull,
								  mem_ctx,
								  &vt);
		if (!NDR_ERR_CODE_IS_SUCCESS(ndr_err)) {
			return NULL;
		}
	}
	ndr_err = call->ndr_pull(pull, flags, r);
	if (!NDR_ERR_CODE_IS_SUCCESS(ndr_err) ||
	    pull->offset != pull->data_size) {
		return NULL;
	}
	return r;
}

/* The handle a call acts on, for the calls the engine may allow. */
static const struct policy_handle *call_handle(uint16_t opnum, void *r)
{
	switch (opnum) {
	case IPCGUARD_WINREG_CLOSE_KEY:
		return ((struct winreg_CloseKey *)r)->in.handle;
	case IPCGUARD_WINREG_ENUM_KEY:
		return ((struct winreg_EnumKey *)r)->in.handle;
	case IPCGUARD_WINREG_ENUM_VALUE:
		return ((struct winreg_EnumValue *)r)->in.handle;
	case IPCGUARD_WINREG_FLUSH_KEY:
		return ((struct winreg_FlushKey *)r)->in.handle;
	case IPCGUARD_WINREG_GET_KEY_SECURITY:
		return ((struct winreg_GetKeySecurity *)r)->in.handle;
	case IPCGUARD_WINREG_NOTIFY_CHANGE_KEY_VALUE:
		return ((struct winreg_NotifyChangeKeyValue *)r)->in.handle;
	case IPCGUARD_WINREG_OPEN_KEY:
		return ((struct winreg_OpenKey *)r)->in.parent_handle;
	case IPCGUARD_WINREG_QUERY_INFO_KEY:
		return ((struct winreg_QueryInfoKey *)r)->in.handle;
	case IPCGUARD_WINREG_QUERY_VALUE:
		return ((struct winreg_QueryValue *)r)->in.handle;
	case IPCGUARD_WINREG_GET_VERSION:
		return ((struct winreg_GetVersion *)r)->in.handle;
	case IPCGUARD_WINREG_QUERY_MULTIPLE_VALUES:
		return ((struct winreg_QueryMultipleValues *)r)->
			in.key_handle;
	case IPCGUARD_WINREG_QUERY_MULTIPLE_VALUES2:
		return ((struct winreg_QueryMultipleValues2 *)r)->
			in.key_handle;
	}
	return NULL;
}

/* Whether the engine can allow the call at all: only those are read. */
static bool call_judged_by_path(uint16_t opnum)
{
	switch (opnum) {
	case IPCGUARD_WINREG_OPEN_HKLM:
	case IPCGUARD_WINREG_CLOSE_KEY:
	case IPCGUARD_WINREG_ENUM_KEY:
	case IPCGUARD_WINREG_ENUM_VALUE:
	case IPCGUARD_WINREG_FLUSH_KEY:
	case IPCGUARD_WINREG_GET_KEY_SECURITY:
	case IPCGUARD_WINREG_NOTIFY_CHANGE_KEY_VALUE:
	case IPCGUARD_WINREG_OPEN_KEY:
	case IPCGUARD_WINREG_QUERY_INFO_KEY:
	case IPCGUARD_WINREG_QUERY_VALUE:
	case IPCGUARD_WINREG_GET_VERSION:
	case IPCGUARD_WINREG_QUERY_MULTIPLE_VALUES:
	case IPCGUARD_WINREG_QUERY_MULTIPLE_VALUES2:
		return true;
	}
	return false;
}

void gate_winreg_describe(TALLOC_CTX *owner, struct gate_winreg **pstate,
			  const struct ipcguard_policy *policy,
			  const struct security_token *token,
			  const struct ncacn_packet *pkt,
			  struct ipcguard_request *request)
{
	const struct dcerpc_request *req = &pkt->u.request;
	struct ipcguard_request probe = *request;
	struct gate_winreg *state = *pstate;
	TALLOC_CTX *frame = NULL;
	const struct policy_handle *h = NULL;
	const char *parent = NULL;
	void *r = NULL;

	if (state != NULL) {
		state->described = false;
		TALLOC_FREE(state->path);
	}
	/* Everything but winreg pays one comparison. */
	if (pkt->ptype != DCERPC_PKT_REQUEST ||
	    !ipcguard_registry_is_winreg(request->syntax.uuid)) {
		return;
	}
	probe.object = IPCGUARD_OBJECT_PIPE;
	probe.stage = IPCGUARD_STAGE_REQUEST;
	probe.token = token;
	probe.local_system = token != NULL &&
		security_token_has_sid(token, &global_sid_System);
	if (!ipcguard_remote_registry_restricts(policy, &probe)) {
		return;
	}
	if (state == NULL) {
		state = talloc_zero(owner, struct gate_winreg);
		if (state == NULL) {
			request->registry_undecodable = true;
			return;
		}
		*pstate = state;
	}
	/* Calls refused whatever their key need not be read. */
	if (!call_judged_by_path(req->opnum)) {
		return;
	}
	frame = talloc_stackframe();
	r = pull_stub(frame, pkt, &req->stub_and_verifier, req->opnum,
		      NDR_IN);
	if (r == NULL) {
		request->registry_undecodable = true;
		goto done;
	}
	state->described = true;
	state->call_id = pkt->call_id;
	state->opnum = req->opnum;
	state->closes = false;
	if (req->opnum == IPCGUARD_WINREG_OPEN_HKLM) {
		state->path = talloc_strdup(state, "");
		goto path_done;
	}
	h = call_handle(req->opnum, r);
	if (req->opnum == IPCGUARD_WINREG_CLOSE_KEY) {
		state->closes = true;
		state->closed = *h;
	}
	parent = handle_path(state, h);
	if (parent == NULL) {
		goto done;
	}
	if (req->opnum == IPCGUARD_WINREG_OPEN_KEY) {
		const char *name = ((struct winreg_OpenKey *)r)->
			in.keyname.name;

		if (name == NULL) {
			request->registry_undecodable = true;
			state->described = false;
			goto done;
		}
		state->path = ipcguard_registry_join(state, parent, name);
		if (state->path == NULL) {
			/* Not a well-formed path: named, and refused. */
			state->path = talloc_asprintf(state, "%s%s%s", parent,
						      parent[0] != '\0' ?
						      "\\" : "", name);
		}
	} else {
		state->path = talloc_strdup(state, parent);
	}
path_done:
	if (state->path == NULL) {
		request->registry_undecodable = true;
		state->described = false;
		goto done;
	}
	request->registry_path = state->path;
done:
	TALLOC_FREE(frame);
}

void gate_winreg_forwarded(struct gate_winreg *state,
			   const struct ncacn_packet *pkt)
{
	struct gate_winreg_call *c = NULL;
	size_t i;

	if (state == NULL || !state->described ||
	    state->call_id != pkt->call_id) {
		return;
	}
	state->described = false;
	if (state->closes) {
		/* Forgotten now: a handle being closed is no handle. */
		forget_handle(state, &state->closed);
		return;
	}
	if (state->path == NULL ||
	    (state->opnum != IPCGUARD_WINREG_OPEN_HKLM &&
	     state->opnum != IPCGUARD_WINREG_OPEN_KEY)) {
		return;
	}
	for (i = 0; i < state->num_pending; i++) {
		if (state->pending[i].call_id == pkt->call_id) {
			/* Two calls with one id: neither answer is known to
			 * be whose (the relay ends such a pipe first). */
			drop_pending(state, i);
			TALLOC_FREE(state->path);
			return;
		}
	}
	if (state->num_pending >= GATE_WINREG_MAX_PENDING) {
		/* The oldest goes; its handle stays unknown. */
		drop_pending(state, 0);
	}
	c = &state->pending[state->num_pending++];
	c->call_id = pkt->call_id;
	c->opnum = state->opnum;
	c->path = talloc_move(state, &state->path);
}

bool gate_winreg_waiting(const struct gate_winreg *state)
{
	return state != NULL && state->num_pending > 0;
}

void gate_winreg_answer(struct gate_winreg *state,
			const struct ncacn_packet *pkt,
			const struct ipcguard_call *call)
{
	TALLOC_CTX *frame = NULL;
	const struct policy_handle *h = NULL;
	WERROR result;
	void *r = NULL;
	size_t i;

	if (state == NULL || state->num_pending == 0 ||
	    call->kind != IPCGUARD_CALL_REQUEST ||
	    (pkt->ptype != DCERPC_PKT_RESPONSE &&
	     pkt->ptype != DCERPC_PKT_FAULT)) {
		return;
	}
	for (i = 0; i < state->num_pending; i++) {
		if (state->pending[i].call_id == call->call_id) {
			break;
		}
	}
	if (i == state->num_pending) {
		return;
	}
	if (pkt->ptype == DCERPC_PKT_FAULT ||
	    state->pending[i].opnum != call->opnum) {
		drop_pending(state, i);
		return;
	}
	frame = talloc_stackframe();
	r = pull_stub(frame, pkt, &pkt->u.response.stub_and_verifier,
		      state->pending[i].opnum, NDR_OUT);
	if (r == NULL) {
		goto done;
	}
	if (state->pending[i].opnum == IPCGUARD_WINREG_OPEN_HKLM) {
		h = ((struct winreg_OpenHKLM *)r)->out.handle;
		result = ((struct winreg_OpenHKLM *)r)->out.result;
	} else {
		h = ((struct winreg_OpenKey *)r)->out.handle;
		result = ((struct winreg_OpenKey *)r)->out.result;
	}
	if (W_ERROR_IS_OK(result) && h != NULL) {
		learn_handle(state, h,
			     talloc_move(state, &state->pending[i].path));
	}
done:
	drop_pending(state, i);
	TALLOC_FREE(frame);
}
