/*
 * ipcguard policy engine: calls that come over ncacn_ip_tcp.
 *
 * A caller over TCP names an interface, never a pipe, and has made no
 * tree connect.  It must get exactly what it would get over SMB, or an
 * admin's pipe list is one port away from meaningless: a call is judged
 * as it would be after an IPC$ tree connect and through each named pipe
 * that reaches its interface (the pipes of its IDL endpoints and those of
 * the carrier table), and gets the first of those answers that allows it,
 * else the first refusal.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <string.h>

#include "ipcguard_policy.h"

static const char **tcp_candidate_pipes(TALLOC_CTX *mem_ctx,
					const struct ipcguard_policy *policy,
					const struct ipcguard_syntax *syntax)
{
	const char **pipes = NULL;

	if (policy->hooks != NULL && policy->hooks->interface_pipes != NULL) {
		pipes = policy->hooks->interface_pipes(mem_ctx, syntax);
	} else {
		pipes = talloc_zero_array(mem_ctx, const char *, 1);
	}
	return ipcguard_pipes_carrying(pipes, syntax->uuid);
}

static void tcp_no_pipe(const struct ipcguard_policy *policy,
			const struct ipcguard_request *request,
			struct ipcguard_decision *d)
{
	*d = (struct ipcguard_decision) {
		.verdict = IPCGUARD_DENY,
		.rule = "tcp-no-pipe",
		.reason = "no named pipe reaches this interface, so nothing "
			  "allows it to anonymous callers",
	};
	if (!ipcguard_session_is_restricted(policy, request->session)) {
		/* Whoever the anonymous rules leave alone. */
		ipcguard_decide(policy, &(struct ipcguard_request) {
				.session = request->session,
				.object = IPCGUARD_OBJECT_IPC,
				.name = "IPC$",
				.pipe_gate_ready = true,
			}, d);
	}
}

void ipcguard_judge_tcp(const struct ipcguard_policy *policy,
			const struct ipcguard_request *request,
			struct ipcguard_decision *d,
			ipcguard_judge_observer observe, void *private_data)
{
	struct ipcguard_request at;
	struct ipcguard_decision tried;
	const char **pipes = NULL;
	const char *chosen = NULL;
	size_t i;

	if (policy == NULL || request == NULL) {
		ipcguard_decide(policy, NULL, d);
		return;
	}
	/* The tree connect an SMB caller makes first. */
	at = *request;
	at.object = IPCGUARD_OBJECT_IPC;
	at.name = "IPC$";
	at.stage = IPCGUARD_STAGE_OPEN;
	at.pipe_gate_ready = true;
	at.smb1 = false;
	ipcguard_decide(policy, &at, d);
	if (d->verdict != IPCGUARD_ALLOW) {
		if (observe != NULL) {
			observe(&at, d, private_data);
		}
		return;
	}

	pipes = tcp_candidate_pipes(NULL, policy, &request->syntax);
	if (pipes == NULL) {
		ipcguard_decide(policy, NULL, d);
		return;
	}
	at = *request;
	at.object = IPCGUARD_OBJECT_PIPE;
	for (i = 0; pipes[i] != NULL && chosen == NULL; i++) {
		at.name = pipes[i];
		ipcguard_judge(policy, &at, IPCGUARD_STAGE_OPEN, &tried, NULL,
			       NULL);
		if (tried.verdict == IPCGUARD_ALLOW) {
			chosen = pipes[i];
		}
	}
	if (chosen == NULL) {
		chosen = pipes[0];
	}
	if (chosen == NULL) {
		tcp_no_pipe(policy, request, d);
		if (observe != NULL) {
			observe(request, d, private_data);
		}
	} else {
		/* Again, seen: the caller counts and audits what decided. */
		at.name = chosen;
		ipcguard_judge(policy, &at, IPCGUARD_STAGE_OPEN, d, observe,
			       private_data);
	}
	talloc_free(pipes);
}
