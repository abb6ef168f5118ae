/*
 * ipcguard: the calls of one RPC pipe that the server still owes an
 * answer, in the order they were forwarded.
 *
 * Everything the gate learns from a server's answer (the contexts a
 * bind_ack or alter_context_resp bound, the registry key behind a handle
 * OpenKey returned) belongs to exactly one request.  DCE/RPC does not make
 * call ids unique on the wire, and Samba answers two requests that share
 * one, in order: a gate that paired answers with "the request of that
 * call id" would give the second request's meaning to the first one's
 * answer.  So the gate keeps every call it forwarded here, and:
 *
 *  - a bind, alter context or request whose call id is still outstanding
 *    is refused (the pipe ends): MS-RPCE has a client keep call ids of
 *    outstanding calls unique, so only a hostile client sends one;
 *  - a server answer must answer an outstanding call of its kind
 *    (bind_ack or bind_nak a bind, bind_nak alone a first PDU that is no
 *    bind, alter_context_resp an alter context, response a request,
 *    fault any of them) with its call id, and unless
 *    the association is multiplexed (PFC_FLAG_CONC_MPX, where Samba may
 *    finish calls out of order) the oldest one; anything else ends the
 *    pipe.
 *
 * Pure: no I/O, no Samba dependency.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_CALLS_H
#define IPCGUARD_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

/* More calls than this in flight on one pipe is no client we serve. */
#define IPCGUARD_MAX_OUTSTANDING_CALLS 256

/* What the client sent, as far as the server owes an answer. */
enum ipcguard_call_kind {
	IPCGUARD_CALL_BIND,
	IPCGUARD_CALL_ALTER,
	IPCGUARD_CALL_REQUEST,
	/*
	 * A connection's first PDU that is no bind the server can take:
	 * Samba answers it with bind_nak, or not at all, and ends the
	 * connection.
	 */
	IPCGUARD_CALL_NO_BIND,
};

/* What the server answered with. */
enum ipcguard_answer_kind {
	IPCGUARD_ANSWER_BIND_ACK,
	IPCGUARD_ANSWER_BIND_NAK,
	IPCGUARD_ANSWER_ALTER_RESP,
	IPCGUARD_ANSWER_RESPONSE,
	IPCGUARD_ANSWER_FAULT,
};

struct ipcguard_call {
	uint32_t call_id;
	enum ipcguard_call_kind kind;
	uint16_t opnum;			/* requests */
};

struct ipcguard_calls;

struct ipcguard_calls *ipcguard_calls_new(TALLOC_CTX *mem_ctx);

/* Whether call_id belongs to a call the server has not answered yet. */
bool ipcguard_calls_outstanding(const struct ipcguard_calls *calls,
				uint32_t call_id);

/*
 * The client's call about to be forwarded (a request at its first
 * fragment).  false with *why (a static string) if it must not be: its
 * call id is outstanding, or too many calls are.
 */
bool ipcguard_calls_send(struct ipcguard_calls *calls,
			 enum ipcguard_call_kind kind, uint32_t call_id,
			 uint16_t opnum, const char **why);

/*
 * A server PDU that answers a call.  On true *call is the call it answers;
 * last: the PDU ends the answer (a response's last fragment, any other
 * answer), and the call is no longer outstanding.  false with *why if it
 * answers no call the gate forwarded: the pipe must end.
 */
bool ipcguard_calls_answer(struct ipcguard_calls *calls,
			   enum ipcguard_answer_kind answer,
			   uint32_t call_id, bool last,
			   struct ipcguard_call *call, const char **why);

/* The server's bind_ack or alter_context_resp said PFC_FLAG_CONC_MPX. */
void ipcguard_calls_set_multiplexed(struct ipcguard_calls *calls);

size_t ipcguard_calls_count(const struct ipcguard_calls *calls);

#endif /* IPCGUARD_CALLS_H */
