/*
 * ipcguardd: who a caller over ncacn_ip_tcp is, as its authentication
 * says.
 *
 * Over SMB smbd hands the gate the caller's session; over TCP there is
 * none, only the authentication the client sends with its bind, alter
 * context and auth3 PDUs.  The gate tells anonymous callers from others
 * by those tokens, read with Samba's own parsers, and never verifies them:
 * the RPC server does, and a caller it rejects gets no call answered.  So
 * a caller is "authenticated" only while nothing it sent says anonymous,
 * and anonymous for good once anything does: no authentication at the
 * first bind, an auth type the gate does not know, a token it cannot
 * read, or NTLMSSP (also inside SPNEGO) that authenticates nobody.
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
#include "librpc/gen_ndr/ndr_ntlmssp.h"
#include "libcli/auth/spnego.h"

#include "ipcguard_policy.h"
#include "gate.h"

static const char ntlmssp_signature[8] = "NTLMSSP";

/*
 * Samba's auth modules (source4 "anonymous", source3's builtin) take an
 * empty account name as the anonymous logon whatever the responses say;
 * an empty NT response authenticates nobody on a server that refuses LM.
 */
static enum gate_tcp_caller ntlmssp_caller(const DATA_BLOB *token)
{
	struct AUTHENTICATE_MESSAGE *msg = NULL;
	enum gate_tcp_caller caller = GATE_TCP_ANONYMOUS;
	enum ndr_err_code err;
	uint32_t type;

	if (token->length < 12 ||
	    memcmp(token->data, ntlmssp_signature, 8) != 0) {
		return GATE_TCP_ANONYMOUS;
	}
	type = IVAL(token->data, 8);
	if (type == NtLmNegotiate || type == NtLmChallenge) {
		return GATE_TCP_PENDING;
	}
	if (type != NtLmAuthenticate) {
		return GATE_TCP_ANONYMOUS;
	}
	msg = talloc_zero(NULL, struct AUTHENTICATE_MESSAGE);
	if (msg == NULL) {
		return GATE_TCP_ANONYMOUS;
	}
	err = ndr_pull_struct_blob(token, msg, msg,
		(ndr_pull_flags_fn_t)ndr_pull_AUTHENTICATE_MESSAGE);
	if (NDR_ERR_CODE_IS_SUCCESS(err) &&
	    !(msg->NegotiateFlags & NTLMSSP_ANONYMOUS) &&
	    msg->UserNameLen != 0 && msg->NtChallengeResponseLen != 0) {
		caller = GATE_TCP_AUTHENTICATED;
	}
	TALLOC_FREE(msg);
	return caller;
}

/* A mechanism token inside SPNEGO: NTLMSSP is read, Kerberos is not
 * anonymous; nothing yet is pending. */
static enum gate_tcp_caller mech_caller(const DATA_BLOB *token)
{
	if (token->length == 0) {
		return GATE_TCP_PENDING;
	}
	if (token->length >= 8 &&
	    memcmp(token->data, ntlmssp_signature, 8) == 0) {
		return ntlmssp_caller(token);
	}
	return GATE_TCP_AUTHENTICATED;
}

static enum gate_tcp_caller spnego_caller(const DATA_BLOB *token)
{
	struct spnego_data spnego = { 0 };
	enum gate_tcp_caller caller = GATE_TCP_ANONYMOUS;
	TALLOC_CTX *tmp = talloc_new(NULL);
	ssize_t len;

	if (tmp == NULL) {
		return GATE_TCP_ANONYMOUS;
	}
	len = spnego_read_data(tmp, *token, &spnego);
	if (len == -1) {
		caller = GATE_TCP_ANONYMOUS;
	} else if (spnego.type == SPNEGO_NEG_TOKEN_INIT) {
		caller = mech_caller(&spnego.negTokenInit.mechToken);
	} else if (spnego.type == SPNEGO_NEG_TOKEN_TARG) {
		caller = mech_caller(&spnego.negTokenTarg.responseToken);
	}
	talloc_free(tmp);
	return caller;
}

/*
 * What one PDU's authentication says; GATE_TCP_PENDING: nothing new.
 * *what: the authentication, for the log.
 */
static enum gate_tcp_caller pdu_caller(const struct ncacn_packet *pkt,
				       bool first_bind, const char **what)
{
	const DATA_BLOB *trailer = NULL;
	struct dcerpc_auth auth = { 0 };
	enum gate_tcp_caller caller = GATE_TCP_ANONYMOUS;
	TALLOC_CTX *tmp = NULL;
	NTSTATUS status;

	switch (pkt->ptype) {
	case DCERPC_PKT_BIND:
		trailer = &pkt->u.bind.auth_info;
		break;
	case DCERPC_PKT_ALTER:
		trailer = &pkt->u.alter.auth_info;
		break;
	case DCERPC_PKT_AUTH3:
		trailer = &pkt->u.auth3.auth_info;
		break;
	default:
		return GATE_TCP_PENDING;
	}
	if (pkt->auth_length == 0) {
		/* An alter context without authentication keeps the
		 * bind's; the first bind without any is anonymous. */
		*what = "no authentication";
		return first_bind ? GATE_TCP_ANONYMOUS : GATE_TCP_PENDING;
	}
	tmp = talloc_new(NULL);
	if (tmp == NULL) {
		return GATE_TCP_ANONYMOUS;
	}
	/* As the RPC server reads bind, alter and auth3 trailers. */
	status = dcerpc_pull_auth_trailer(pkt, tmp, trailer, &auth, NULL,
					  true);
	*what = nt_errstr(status);
	if (NT_STATUS_IS_OK(status)) {
		*what = "authentication type unknown to the gate";
		switch (auth.auth_type) {
		case DCERPC_AUTH_TYPE_NTLMSSP:
			*what = "NTLMSSP";
			caller = ntlmssp_caller(&auth.credentials);
			break;
		case DCERPC_AUTH_TYPE_SPNEGO:
			*what = "SPNEGO";
			caller = spnego_caller(&auth.credentials);
			break;
		case DCERPC_AUTH_TYPE_KRB5:
		case DCERPC_AUTH_TYPE_SCHANNEL:
			/* Both name an account the server checks. */
			*what = auth.auth_type == DCERPC_AUTH_TYPE_KRB5 ?
				"Kerberos" : "schannel";
			caller = GATE_TCP_AUTHENTICATED;
			break;
		default:
			caller = GATE_TCP_ANONYMOUS;
			break;
		}
	}
	talloc_free(tmp);
	return caller;
}

/* Learns from a client PDU before it is judged. */
void gate_tcp_learn(struct ipcguardd_conn *conn,
		    const struct ncacn_packet *pkt)
{
	struct gate_tcp *tcp = conn->tcp;
	enum gate_tcp_caller said;
	const char *what = "no authentication";
	bool first_bind = pkt->ptype == DCERPC_PKT_BIND && !tcp->bound;

	if (pkt->ptype == DCERPC_PKT_BIND) {
		tcp->bound = true;
	}
	said = pdu_caller(pkt, first_bind, &what);
	if (tcp->caller == GATE_TCP_ANONYMOUS || said == GATE_TCP_PENDING) {
		return;
	}
	DBG_INFO("ipcguardd: TCP caller from %s on port %u: %s says %s\n",
		 conn->client, (unsigned)tcp->port, what,
		 said == GATE_TCP_ANONYMOUS ? "anonymous" : "authenticated");
	tcp->caller = said;
	conn->kind = said == GATE_TCP_ANONYMOUS ?
		IPCGUARD_SESSION_ANONYMOUS : IPCGUARD_SESSION_AUTHENTICATED;
}
