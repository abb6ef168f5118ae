/*
 * ipcguard: the presentation contexts of one RPC pipe, as the server sees
 * them.  See ipcguard_contexts.h for why.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <string.h>

#include "ipcguard_contexts.h"

struct ipcguard_contexts {
	/* Bound by the server, in the order it bound them. */
	struct ipcguard_context_item *bound;
	size_t num_bound;
	/* The offer the server has not answered yet. */
	bool pending;
	uint32_t pending_call_id;
	struct ipcguard_context_item *offer;
	size_t num_offer;
};

struct ipcguard_contexts *ipcguard_contexts_new(TALLOC_CTX *mem_ctx)
{
	return talloc_zero(mem_ctx, struct ipcguard_contexts);
}

static bool syntax_equal(const struct ipcguard_syntax *a,
			 const struct ipcguard_syntax *b)
{
	return memcmp(a->uuid, b->uuid, sizeof(a->uuid)) == 0 &&
	       a->major == b->major && a->minor == b->minor;
}

const struct ipcguard_syntax *ipcguard_contexts_find(
	const struct ipcguard_contexts *contexts, uint16_t id)
{
	size_t i;

	for (i = 0; contexts != NULL && i < contexts->num_bound; i++) {
		if (contexts->bound[i].id == id) {
			return &contexts->bound[i].syntax;
		}
	}
	return NULL;
}

bool ipcguard_contexts_offer(struct ipcguard_contexts *contexts,
			     uint32_t call_id,
			     const struct ipcguard_context_item *items,
			     size_t num_items, const char **why)
{
	size_t i, j;

	if (contexts->pending) {
		/* The gate reads no further PDU until the answer came. */
		*why = "a second bind or alter context before the first "
		       "was answered";
		return false;
	}
	if (num_items == 0 || num_items > IPCGUARD_MAX_CONTEXTS) {
		*why = "a bind or alter context with no or too many contexts";
		return false;
	}
	for (i = 0; i < num_items; i++) {
		const struct ipcguard_syntax *bound = NULL;

		for (j = 0; j < i; j++) {
			if (items[j].id == items[i].id) {
				*why = "one context id twice in a bind or "
				       "alter context";
				return false;
			}
		}
		bound = ipcguard_contexts_find(contexts, items[i].id);
		if (bound != NULL && !syntax_equal(bound, &items[i].syntax)) {
			*why = "a context id already bound to another "
			       "interface";
			return false;
		}
	}
	TALLOC_FREE(contexts->offer);
	contexts->offer = talloc_memdup(contexts, items,
					num_items * sizeof(*items));
	if (contexts->offer == NULL) {
		*why = "out of memory";
		return false;
	}
	contexts->num_offer = num_items;
	contexts->pending = true;
	contexts->pending_call_id = call_id;
	return true;
}

bool ipcguard_contexts_pending(const struct ipcguard_contexts *contexts)
{
	return contexts->pending;
}

static void offer_done(struct ipcguard_contexts *contexts)
{
	TALLOC_FREE(contexts->offer);
	contexts->num_offer = 0;
	contexts->pending = false;
}

static bool learn(struct ipcguard_contexts *contexts,
		  const struct ipcguard_context_item *item)
{
	struct ipcguard_context_item *tmp = NULL;

	/* The server keeps the interface first bound to an id. */
	if (ipcguard_contexts_find(contexts, item->id) != NULL) {
		return true;
	}
	if (contexts->num_bound >= IPCGUARD_MAX_CONTEXTS) {
		return false;
	}
	tmp = talloc_realloc(contexts, contexts->bound,
			     struct ipcguard_context_item,
			     contexts->num_bound + 1);
	if (tmp == NULL) {
		return false;
	}
	contexts->bound = tmp;
	contexts->bound[contexts->num_bound++] = *item;
	return true;
}

bool ipcguard_contexts_answer(struct ipcguard_contexts *contexts,
			      uint32_t call_id, const bool *accepted,
			      size_t num_results, const char **why)
{
	size_t i;

	if (!contexts->pending || call_id != contexts->pending_call_id) {
		*why = "the RPC server acknowledged a bind the gate did not "
		       "forward";
		return false;
	}
	if (num_results != contexts->num_offer) {
		offer_done(contexts);
		*why = "the RPC server answered a different number of "
		       "contexts than were offered";
		return false;
	}
	for (i = 0; i < num_results; i++) {
		if (accepted[i] && !learn(contexts, &contexts->offer[i])) {
			offer_done(contexts);
			*why = "too many contexts, or out of memory";
			return false;
		}
	}
	offer_done(contexts);
	return true;
}

bool ipcguard_contexts_refused(struct ipcguard_contexts *contexts,
			       uint32_t call_id)
{
	if (!contexts->pending || call_id != contexts->pending_call_id) {
		return false;
	}
	offer_done(contexts);
	return true;
}
