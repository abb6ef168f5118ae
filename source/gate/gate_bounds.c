/*
 * ipcguardd: the pipe bounds.  Every pipe counts against its session and
 * against its client address (per class: anonymous-like or not), and the
 * engine says whether one more is allowed (ipcguard_decide_pipe_limit()).
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

#include "ipcguard_policy.h"
#include "ipcguard_session.h"
#include "ipcguard_audit.h"
#include "gate.h"

void pipe_count_drop(struct pipe_count **list, struct pipe_count *c)
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
bool conn_count_pipe(struct ipcguardd_conn *conn,
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
