/*
 * ipcguardd: what the relay's two files share.  Include after "gate.h".
 *
 *   gate_relay.c     what each PDU means: judging the client's, learning
 *                    the RPC server's bind answers; the tevent request
 *   gate_relay_io.c  the two bare sockets: framing PDUs out of what is
 *                    read, and writing them, one message each
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_GATE_RELAY_H
#define IPCGUARD_GATE_RELAY_H

struct gate_relay_state;
struct relay_direction;
struct ipcguard_calls;

/* What is left of a PDU a socket could not take at once. */
struct relay_out {
	struct relay_direction *owner;	/* waits until it is written */
	uint8_t *data;
	size_t len;
	size_t done;
};

/* One of the two sockets of a relayed pipe. */
struct relay_side {
	struct gate_relay_state *state;
	struct relay_direction *reader;	/* the direction reading it */
	const char *closed;		/* why the relay ends at its EOF */
	int fd;
	/* npa message mode: each message is a 2-byte length and its bytes */
	bool message_mode;
	struct tevent_fd *fde;
	/*
	 * At most one PDU per direction waits here: a direction reads on
	 * only once its PDU is written, so the client's socket holds a
	 * response and a fault of ours, the RPC server's one request.
	 */
	struct relay_out out[2];
	unsigned num_out;
};

/* One direction: PDUs read from one side and written to the other. */
struct relay_direction {
	struct gate_relay_state *state;
	struct relay_side *from;
	struct relay_side *to;
	/* Read but not yet used: the start of a message or PDU. */
	uint8_t *saved;
	size_t saved_ofs;
	size_t saved_len;	/* from saved_ofs on */
	/* A PDU that comes in pieces, gathered until whole. */
	uint8_t *pdu;
	size_t pdu_len;
	size_t pdu_need;	/* its frag_length, once its header is in */
	size_t msg_left;	/* message mode: what the message still has */
	bool writing;		/* its last PDU waits in a side's out[] */
	bool paused;		/* client PDUs wait for a bind's answer */
	bool resuming;		/* relay_resume() has scheduled resume */
	struct tevent_immediate *resume;
};

struct gate_relay_state {
	struct tevent_req *req;
	struct tevent_context *ev;
	struct ipcguardd_conn *conn;
	struct relay_side client;
	struct relay_side server;
	struct relay_direction upstream;	/* client -> RPC server */
	struct relay_direction downstream;	/* RPC server -> client */
	struct gate_call call;
	/* Forwarded calls the RPC server still owes an answer. */
	struct ipcguard_calls *calls;
	bool had_first;		/* the client's first PDU has come */
	bool ended;
	const char *why;	/* what ended the pipe */
};

/* gate_relay.c: one whole PDU read by dir; false if the relay ended. */
bool relay_pdu(struct relay_direction *dir, uint8_t *pdu, size_t len);
bool relay_takes_short_pdu(const struct relay_direction *dir);
void relay_end(struct gate_relay_state *state, const char *why);

/* gate_relay_io.c */
bool relay_side_take(struct gate_relay_state *state, struct relay_side *side,
		     struct tstream_context **stream);
bool relay_write(struct relay_direction *owner, struct relay_side *to,
		 const uint8_t *pdu, size_t len);
bool relay_ready(const struct relay_direction *dir);
void relay_resume(struct relay_direction *dir);
void relay_side_update(struct relay_side *side);

#endif /* IPCGUARD_GATE_RELAY_H */
