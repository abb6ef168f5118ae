/*
 * ipcguard: the presentation contexts of one RPC pipe, as the server sees
 * them.
 *
 * A request names a context id, and rules judge the interface behind it.
 * The id must therefore mean what it means to the RPC server, not what
 * the client asked for: Samba's server (dcesrv_check_or_create_context()
 * in librpc/rpc/dcesrv_core.c) rejects an unknown interface even for an id
 * already bound, keeps the first interface bound to an id, and accepts at
 * most one new context per bind or alter context.  So a context is learnt
 * only from the server's own bind_ack / alter_context_resp, and offers
 * that could make the two views differ (one id twice in a PDU, an id
 * bound to one interface offered with another, a second offer before the
 * first is answered) are refused before the server sees them.
 *
 * Pure: no I/O, no Samba dependency; the gate feeds it PDUs, the fuzzer
 * feeds it a model of Samba's server.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_CONTEXTS_H
#define IPCGUARD_CONTEXTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#include "ipcguard_rule.h"

/* More than this many contexts on one pipe is no client we serve. */
#define IPCGUARD_MAX_CONTEXTS 256

/* One item of a bind or alter context: its id and abstract syntax. */
struct ipcguard_context_item {
	uint16_t id;
	struct ipcguard_syntax syntax;
};

struct ipcguard_contexts;

struct ipcguard_contexts *ipcguard_contexts_new(TALLOC_CTX *mem_ctx);

/*
 * A bind or alter context the client sends, once the policy allowed every
 * item.  Returns true if it may go to the server, which then owes an
 * answer to call_id; false with *why set (a static string) if it must be
 * refused instead.
 */
bool ipcguard_contexts_offer(struct ipcguard_contexts *contexts,
			     uint32_t call_id,
			     const struct ipcguard_context_item *items,
			     size_t num_items, const char **why);

/* Whether an offer waits for the server's answer. */
bool ipcguard_contexts_pending(const struct ipcguard_contexts *contexts);

/*
 * The server's bind_ack or alter_context_resp: accepted[i] is whether
 * item i of the offer was accepted.  Returns false with *why set when the
 * answer does not fit the offer; the views may then differ and the pipe
 * must end.
 */
bool ipcguard_contexts_answer(struct ipcguard_contexts *contexts,
			      uint32_t call_id, const bool *accepted,
			      size_t num_results, const char **why);

/*
 * The server refused the offer as a whole (bind_nak, or a fault for
 * call_id): nothing was bound.  Returns false if call_id is not the
 * pending offer's (a fault for another call is not an answer).
 */
bool ipcguard_contexts_refused(struct ipcguard_contexts *contexts,
			       uint32_t call_id);

/* The interface the server bound to id, or NULL if it bound none. */
const struct ipcguard_syntax *ipcguard_contexts_find(
	const struct ipcguard_contexts *contexts, uint16_t id);

#endif /* IPCGUARD_CONTEXTS_H */
