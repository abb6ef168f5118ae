/*
 * ipcguard: the calls of one RPC pipe that the server still owes an
 * answer.  See ipcguard_calls.h.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <string.h>
#include <sys/types.h>

#include "ipcguard_calls.h"

struct ipcguard_calls {
	struct ipcguard_call *calls;	/* oldest first */
	size_t num;
	size_t size;
	bool multiplexed;
};

struct ipcguard_calls *ipcguard_calls_new(TALLOC_CTX *mem_ctx)
{
	return talloc_zero(mem_ctx, struct ipcguard_calls);
}

static ssize_t find(const struct ipcguard_calls *calls, uint32_t call_id)
{
	size_t i;

	for (i = 0; i < calls->num; i++) {
		if (calls->calls[i].call_id == call_id) {
			return (ssize_t)i;
		}
	}
	return -1;
}

bool ipcguard_calls_outstanding(const struct ipcguard_calls *calls,
				uint32_t call_id)
{
	return find(calls, call_id) >= 0;
}

bool ipcguard_calls_send(struct ipcguard_calls *calls,
			 enum ipcguard_call_kind kind, uint32_t call_id,
			 uint16_t opnum, const char **why)
{
	if (find(calls, call_id) >= 0) {
		*why = "the call id belongs to a call the RPC server has not "
		       "answered yet";
		return false;
	}
	if (calls->num >= IPCGUARD_MAX_OUTSTANDING_CALLS) {
		*why = "too many calls without an answer";
		return false;
	}
	if (calls->num == calls->size) {
		size_t size = calls->size == 0 ? 4 : calls->size * 2;
		struct ipcguard_call *tmp = talloc_realloc(
			calls, calls->calls, struct ipcguard_call, size);

		if (tmp == NULL) {
			*why = "out of memory";
			return false;
		}
		calls->calls = tmp;
		calls->size = size;
	}
	calls->calls[calls->num++] = (struct ipcguard_call) {
		.call_id = call_id,
		.kind = kind,
		.opnum = opnum,
	};
	return true;
}

static bool answers(enum ipcguard_answer_kind answer,
		    enum ipcguard_call_kind kind)
{
	switch (answer) {
	case IPCGUARD_ANSWER_BIND_ACK:
		return kind == IPCGUARD_CALL_BIND;
	case IPCGUARD_ANSWER_BIND_NAK:
		return kind == IPCGUARD_CALL_BIND ||
		       kind == IPCGUARD_CALL_NO_BIND;
	case IPCGUARD_ANSWER_ALTER_RESP:
		return kind == IPCGUARD_CALL_ALTER;
	case IPCGUARD_ANSWER_RESPONSE:
		return kind == IPCGUARD_CALL_REQUEST;
	case IPCGUARD_ANSWER_FAULT:
		return true;
	}
	return false;
}

bool ipcguard_calls_answer(struct ipcguard_calls *calls,
			   enum ipcguard_answer_kind answer,
			   uint32_t call_id, bool last,
			   struct ipcguard_call *call, const char **why)
{
	ssize_t i = find(calls, call_id);

	if (i < 0) {
		*why = "the RPC server answered a call the gate did not "
		       "forward";
		return false;
	}
	if (i > 0 && !calls->multiplexed) {
		*why = "the RPC server answered a call before an older one";
		return false;
	}
	if (!answers(answer, calls->calls[i].kind)) {
		*why = "the RPC server's answer is of another kind than its "
		       "call";
		return false;
	}
	*call = calls->calls[i];
	/* A fault ends its call whatever its flags say. */
	if (last || answer != IPCGUARD_ANSWER_RESPONSE) {
		memmove(&calls->calls[i], &calls->calls[i + 1],
			(calls->num - (size_t)i - 1) * sizeof(calls->calls[0]));
		calls->num--;
	}
	return true;
}

void ipcguard_calls_set_multiplexed(struct ipcguard_calls *calls)
{
	calls->multiplexed = true;
}

size_t ipcguard_calls_count(const struct ipcguard_calls *calls)
{
	return calls->num;
}
