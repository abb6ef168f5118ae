/*
 * ipcguardd: the two sockets of a relayed pipe.
 *
 * Once both named-pipe handshakes are done, the relay leaves Samba's
 * streams and works on the bare sockets: a read takes whatever has
 * arrived, up to many PDUs, into one buffer the whole gate shares, and a
 * PDU that came whole in one message (as smbd and Samba's RPC servers
 * write them) is judged and written on where it lies, with one writev.
 * Nothing is allocated or copied per PDU unless a PDU comes in pieces or
 * a socket cannot take it at once; an idle pipe holds no buffer.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include "includes.h"
#include "lib/tsocket/tsocket.h"
#include "lib/tsocket/tsocket_internal.h"
#include "librpc/rpc/dcerpc_util.h"
#include "librpc/gen_ndr/ndr_named_pipe_auth.h"
#include "ipcguard_compat.h"

#include "gate.h"
#include "gate_relay.h"

/*
 * What one read may bring: many PDUs, into gate->relay_buf.  A direction
 * that may read has kept at most a message's 2-byte length: the rest of a
 * PDU in pieces is in its dir->pdu.  A direction held with much of a read
 * left takes the buffer itself (relay_take_input()), and the next read
 * gets a new one.
 */
#define RELAY_BUF_SIZE (64 * 1024)
#define RELAY_KEEP_BY_COPY 4096

static void relay_side_handler(struct tevent_context *ev,
			       struct tevent_fd *fde, uint16_t flags,
			       void *private_data);

/*
 * Takes the socket out of *stream (which is freed) for side; false if the
 * relay has ended.
 */
bool relay_side_take(struct gate_relay_state *state, struct relay_side *side,
		     struct tstream_context **stream)
{
	int *fd = ipcguard_tstream_socket(*stream, &side->message_mode);

	if (fd == NULL) {
		DBG_ERR("ipcguardd: the %s stream of pipe '%s' is not a "
			"socket this gate knows how to relay\n",
			side == &state->client ? "client" : "RPC server",
			state->conn->pipe);
		relay_end(state, "unknown stream");
		return false;
	}
	/* Taken, not duplicated: the stream must not close it, and a gate
	 * short of descriptors must not fail here. */
	side->fd = *fd;
	*fd = -1;
	TALLOC_FREE(*stream);
	if (set_blocking(side->fd, false) == -1) {
		close(side->fd);
		side->fd = -1;
		relay_end(state, strerror(errno));
		return false;
	}
	if (state->conn->tcp != NULL) {
		/*
		 * Each PDU goes on as soon as it is written, as on Samba's
		 * own sockets ("socket options" TCP_NODELAY): else a request
		 * written behind an auth3, which nothing answers, waits for
		 * the delayed ACK of the auth3, some 40 ms.
		 */
		int one = 1;

		(void)setsockopt(side->fd, IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
	}
	side->fde = tevent_add_fd(state->ev, state, side->fd, 0,
				  relay_side_handler, side);
	if (side->fde == NULL) {
		close(side->fd);
		side->fd = -1;
		relay_end(state, "out of memory");
		return false;
	}
	tevent_fd_set_auto_close(side->fde);
	return true;
}

bool relay_ready(const struct relay_direction *dir)
{
	return !dir->state->ended && !dir->writing && !dir->paused;
}

/* Reads while its reader can go on, writes while anything waits. */
void relay_side_update(struct relay_side *side)
{
	uint16_t flags = 0;

	if (side->fde == NULL) {
		return;
	}
	if (relay_ready(side->reader) && !side->reader->resuming) {
		flags |= TEVENT_FD_READ;
	}
	if (side->num_out > 0 && !side->state->ended) {
		flags |= TEVENT_FD_WRITE;
	}
	tevent_fd_set_flags(side->fde, flags);
}

/*
 * Writes pdu to side "to" as one message.  What the socket does not take
 * now is copied and waits, and owner reads nothing more until it is
 * written.  False if the relay has ended.
 */
bool relay_write(struct relay_direction *owner, struct relay_side *to,
		 const uint8_t *pdu, size_t len)
{
	struct gate_relay_state *state = owner->state;
	struct relay_out *out = NULL;
	uint8_t hdr[2];
	struct iovec iov[2];
	int count = 0;
	size_t total = len, skip;
	ssize_t n = 0;

	if (to->message_mode) {
		SSVAL(hdr, 0, len);
		iov[count++] = (struct iovec) { .iov_base = hdr, .iov_len = 2 };
		total += 2;
	}
	iov[count++] = (struct iovec) {
		.iov_base = discard_const_p(uint8_t, pdu), .iov_len = len,
	};
	if (to->num_out == 0) {
		n = writev(to->fd, iov, count);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR) {
				relay_end(state, strerror(errno));
				return false;
			}
			n = 0;
		}
		if ((size_t)n == total) {
			return true;
		}
	}
	SMB_ASSERT(to->num_out < ARRAY_SIZE(to->out));
	out = &to->out[to->num_out];
	out->data = talloc_size(state, total - n);
	if (out->data == NULL) {
		relay_end(state, "out of memory");
		return false;
	}
	out->owner = owner;
	out->len = total - n;
	out->done = 0;
	skip = n;
	if (to->message_mode && skip < 2) {
		memcpy(out->data, hdr + skip, 2 - skip);
		memcpy(out->data + 2 - skip, pdu, len);
	} else {
		skip -= to->message_mode ? 2 : 0;
		memcpy(out->data, pdu + skip, len - skip);
	}
	to->num_out++;
	owner->writing = true;
	relay_side_update(to);
	relay_side_update(owner->from);
	return true;
}

static void relay_side_writable(struct relay_side *side)
{
	while (side->num_out > 0) {
		struct relay_out *out = &side->out[0];
		struct relay_direction *owner = NULL;
		ssize_t n;

		n = write(side->fd, out->data + out->done,
			  out->len - out->done);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR) {
				return;
			}
			relay_end(side->state, strerror(errno));
			return;
		}
		out->done += n;
		if (out->done < out->len) {
			return;
		}
		owner = out->owner;
		TALLOC_FREE(out->data);
		side->out[0] = side->out[1];
		side->out[1] = (struct relay_out) { .owner = NULL };
		side->num_out--;
		owner->writing = false;
		relay_resume(owner);
	}
	relay_side_update(side);
}

static size_t frag_length(const uint8_t *hdr)
{
	DATA_BLOB blob = data_blob_const(hdr, DCERPC_NCACN_PAYLOAD_OFFSET);

	return dcerpc_get_frag_length(&blob);
}

/* Adds to the PDU being gathered; false if the relay has ended. */
static bool gather(struct relay_direction *dir, const uint8_t *data,
		   size_t len)
{
	if (dir->pdu == NULL) {
		/* Room for any fragment: it is freed once it is whole. */
		dir->pdu = talloc_size(dir->state, UINT16_MAX);
		if (dir->pdu == NULL) {
			relay_end(dir->state, "out of memory");
			return false;
		}
	}
	memcpy(dir->pdu + dir->pdu_len, data, len);
	dir->pdu_len += len;
	return true;
}

/* The gathered PDU, if it is whole, goes on; false if the relay ended. */
static bool gathered(struct relay_direction *dir)
{
	size_t len = dir->pdu_len;
	bool ok;

	if (dir->pdu_need == 0 && len == DCERPC_NCACN_PAYLOAD_OFFSET) {
		dir->pdu_need = frag_length(dir->pdu);
		if (dir->pdu_need < DCERPC_NCACN_PAYLOAD_OFFSET &&
		    relay_takes_short_pdu(dir)) {
			dir->pdu_need = DCERPC_NCACN_PAYLOAD_OFFSET;
		} else if (dir->pdu_need < DCERPC_NCACN_PAYLOAD_OFFSET) {
			relay_end(dir->state, dir->from->closed);
			return false;
		}
	}
	if (dir->pdu_need == 0 || len < dir->pdu_need) {
		return true;
	}
	dir->pdu_len = 0;
	dir->pdu_need = 0;
	ok = relay_pdu(dir, dir->pdu, len);
	TALLOC_FREE(dir->pdu);
	return ok;
}

/*
 * Hands the whole PDUs in data to relay_pdu() while dir may go on;
 * returns how many bytes it used.  A PDU that is whole in one message, or
 * whole in data on a byte stream, is handed over where it lies; one in
 * pieces is gathered in dir->pdu.  Each PDU goes on as one message.
 */
static size_t relay_consume(struct relay_direction *dir, const uint8_t *data,
			    size_t len)
{
	bool message_mode = dir->from->message_mode;
	size_t ofs = 0;

	while (relay_ready(dir)) {
		size_t avail = len - ofs;
		size_t frag, need, take;

		if (message_mode && dir->msg_left == 0) {
			if (avail < 2) {
				break;
			}
			frag = SVAL(data + ofs, 0);
			if (frag == 0) {
				/* What Samba's npa stream says EIO to. */
				relay_end(dir->state, dir->from->closed);
				break;
			}
			if (dir->pdu_len == 0 && avail >= 2 + frag &&
			    frag >= DCERPC_NCACN_PAYLOAD_OFFSET &&
			    frag_length(data + ofs + 2) == frag) {
				ofs += 2 + frag;
				relay_pdu(dir, discard_const_p(uint8_t, data) +
					  ofs - frag, frag);
				continue;
			}
			dir->msg_left = frag;
			ofs += 2;
			avail -= 2;
		}
		if (!message_mode && dir->pdu_len == 0 &&
		    avail >= DCERPC_NCACN_PAYLOAD_OFFSET) {
			frag = frag_length(data + ofs);
			if (frag >= DCERPC_NCACN_PAYLOAD_OFFSET &&
			    avail >= frag) {
				ofs += frag;
				relay_pdu(dir, discard_const_p(uint8_t, data) +
					  ofs - frag, frag);
				continue;
			}
		}
		if (message_mode) {
			avail = MIN(avail, dir->msg_left);
		}
		if (avail == 0) {
			break;
		}
		need = dir->pdu_need == 0 ?
			DCERPC_NCACN_PAYLOAD_OFFSET - dir->pdu_len :
			dir->pdu_need - dir->pdu_len;
		take = MIN(avail, need);
		if (!gather(dir, data + ofs, take)) {
			break;
		}
		ofs += take;
		if (message_mode) {
			dir->msg_left -= take;
		}
		if (!gathered(dir)) {
			break;
		}
	}
	return ofs;
}

/* Uses what data (the relay buffer) has for dir, keeps the rest for later. */
static void relay_take_input(struct relay_direction *dir, uint8_t *data,
			     size_t len)
{
	size_t used = relay_consume(dir, data, len);

	if (dir->state->ended) {
		return;
	}
	if (len - used > RELAY_KEEP_BY_COPY) {
		dir->saved = talloc_steal(dir->state, data);
		dir->state->conn->gate->relay_buf = NULL;
		dir->saved_ofs = used;
		dir->saved_len = len - used;
	} else if (used < len) {
		dir->saved = talloc_memdup(dir->state, data + used,
					   len - used);
		if (dir->saved == NULL) {
			relay_end(dir->state, "out of memory");
			return;
		}
		dir->saved_ofs = 0;
		dir->saved_len = len - used;
	}
	relay_side_update(dir->from);
}

static void relay_side_readable(struct relay_side *side)
{
	struct relay_direction *dir = side->reader;
	struct ipcguardd *gate = side->state->conn->gate;
	size_t have = dir->saved_len;
	ssize_t n;

	if (have >= RELAY_BUF_SIZE / 2) {
		/* Cannot be: see RELAY_BUF_SIZE. */
		relay_end(side->state, "relay buffer overrun");
		return;
	}
	if (gate->relay_buf == NULL) {
		gate->relay_buf = talloc_size(gate, RELAY_BUF_SIZE);
		if (gate->relay_buf == NULL) {
			relay_end(side->state, "out of memory");
			return;
		}
	}
	n = read(side->fd, gate->relay_buf + have, RELAY_BUF_SIZE - have);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR) {
			return;
		}
		DBG_DEBUG("ipcguardd: %s: %s\n", side->closed,
			  strerror(errno));
		relay_end(side->state, side->closed);
		return;
	}
	if (n == 0) {
		relay_end(side->state, side->closed);
		return;
	}
	if (have > 0) {
		memcpy(gate->relay_buf, dir->saved + dir->saved_ofs, have);
		TALLOC_FREE(dir->saved);
		dir->saved_ofs = 0;
		dir->saved_len = 0;
	}
	relay_take_input(dir, gate->relay_buf, have + n);
}

static void relay_side_handler(struct tevent_context *ev,
			       struct tevent_fd *fde, uint16_t flags,
			       void *private_data)
{
	/* Embedded in the relay's state, not a talloc object. */
	struct relay_side *side = (struct relay_side *)private_data;

	if (flags & TEVENT_FD_WRITE) {
		relay_side_writable(side);
	}
	if ((flags & TEVENT_FD_READ) && relay_ready(side->reader) &&
	    !side->reader->resuming) {
		relay_side_readable(side);
	}
}

/* Uses what dir kept, where it is: a held direction is not copied again. */
static void relay_resumed(struct tevent_context *ev,
			  struct tevent_immediate *im, void *private_data)
{
	/* Embedded in the relay's state, not a talloc object. */
	struct relay_direction *dir = (struct relay_direction *)private_data;
	size_t used;

	dir->resuming = false;
	if (!relay_ready(dir)) {
		return;
	}
	if (dir->saved != NULL) {
		used = relay_consume(dir, dir->saved + dir->saved_ofs,
				     dir->saved_len);
		if (dir->state->ended) {
			return;
		}
		dir->saved_ofs += used;
		dir->saved_len -= used;
		if (dir->saved_len == 0) {
			TALLOC_FREE(dir->saved);
			dir->saved_ofs = 0;
		}
	}
	relay_side_update(dir->from);
}

/*
 * dir may go on: what it kept is used from the main loop, never inside
 * the other direction's work on the shared read buffer.
 */
void relay_resume(struct relay_direction *dir)
{
	struct gate_relay_state *state = dir->state;

	if (state->ended) {
		return;
	}
	if (dir->resume == NULL) {
		dir->resume = tevent_create_immediate(state);
		if (dir->resume == NULL) {
			relay_end(state, "out of memory");
			return;
		}
	}
	dir->resuming = true;
	tevent_schedule_immediate(dir->resume, state->ev, relay_resumed, dir);
}
