/*
 * ipcguardd: what the gate reads of winreg traffic for the remotely
 * accessible registry paths (source/policy/ipcguard_registry.h).
 *
 * Thin by design: it decodes requests with Samba's NDR code and tracks
 * which key each handle of the pipe is, learnt from the RPC server's own
 * answers; the policy engine decides.  It runs only for winreg requests of
 * callers the remote registry is restricted for, so other traffic pays
 * nothing.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_GATE_WINREG_H
#define IPCGUARD_GATE_WINREG_H

struct gate_winreg;
struct ncacn_packet;
struct security_token;
struct ipcguard_policy;
struct ipcguard_request;
struct ipcguard_call;

/* More handles than this on one pipe: requests on new ones are refused. */
#define GATE_WINREG_MAX_HANDLES 1024
/* Calls whose answer may carry a handle, waiting at the same time. */
#define GATE_WINREG_MAX_PENDING 16

/*
 * Fill request->registry_path and registry_undecodable for the first
 * fragment of a request, whose syntax is set.  *state (a talloc child of
 * owner) is made on first use.
 */
void gate_winreg_describe(TALLOC_CTX *owner, struct gate_winreg **state,
			  const struct ipcguard_policy *policy,
			  const struct security_token *token,
			  const struct ncacn_packet *pkt,
			  struct ipcguard_request *request);

/* The request described last goes to the RPC server. */
void gate_winreg_forwarded(struct gate_winreg *state,
			   const struct ncacn_packet *pkt);

/* Whether a forwarded call waits for the handle in its answer. */
bool gate_winreg_waiting(const struct gate_winreg *state);

/*
 * A PDU from the RPC server answering call (ipcguard_calls_answer(),
 * which matched it to exactly one forwarded call): learns the handle it
 * opened, if call is the OpenHKLM or OpenKey the gate described.
 */
void gate_winreg_answer(struct gate_winreg *state,
			const struct ncacn_packet *pkt,
			const struct ipcguard_call *call);

#endif /* IPCGUARD_GATE_WINREG_H */
