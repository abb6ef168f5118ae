/*
 * ipcguardd: accepting callers, and running out of descriptors.  Every
 * pipe costs the gate one descriptor, two when forwarded; a gate out of
 * them must neither spin on a readable socket nor leave smbd waiting.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include "includes.h"
#include "system/filesys.h"

#include "gate.h"

/* How long accepting pauses when the gate is out of descriptors. */
#define IPCGUARD_ACCEPT_RETRY_MSEC 250

static void gate_set_accepting(struct ipcguardd *gate, bool on)
{
	struct ipcguardd_listener *l = NULL;
	uint16_t flags = on ? TEVENT_FD_READ : 0;

	for (l = gate->listeners; l != NULL; l = l->next) {
		if (l->fde != NULL) {
			tevent_fd_set_flags(l->fde, flags);
		}
	}
	if (gate->control_fde != NULL) {
		tevent_fd_set_flags(gate->control_fde, flags);
	}
}

static void gate_accept_retry(struct tevent_context *ev,
			      struct tevent_timer *te,
			      struct timeval now, void *private_data)
{
	struct ipcguardd *gate = talloc_get_type_abort(private_data,
						       struct ipcguardd);

	gate->accept_retry = NULL;
	gate_resume_accepting(gate);
}

void gate_resume_accepting(struct ipcguardd *gate)
{
	TALLOC_FREE(gate->accept_retry);
	gate->accept_paused = false;
	gate_set_accepting(gate, true);
}

void gate_open_spare_fd(struct ipcguardd *gate)
{
	if (gate->spare_fd == -1) {
		gate->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
}

/*
 * Accepts one waiting caller on the spare descriptor and closes it at
 * once.  Leaving callers queued is no option: smbd waits for our answer
 * without a timeout (local_np_connect()), so its child would hang, and one
 * whose pipes are what uses up our descriptors would never close them.
 */
static bool gate_shed_one(struct ipcguardd *gate, int listen_fd)
{
	int fd;

	if (gate->spare_fd == -1) {
		return false;
	}
	close(gate->spare_fd);
	gate->spare_fd = -1;
	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd != -1 && listen_fd == gate->control_fd) {
		/* Status costs no descriptor: "ipcguard status" works on. */
		control_answer(gate, fd);
		close(fd);
	} else if (fd != -1) {
		close(fd);
		gate->num_shed++;
	}
	gate_open_spare_fd(gate);
	return fd != -1;
}

/*
 * accept() failing for want of descriptors leaves the connection in the
 * backlog and the socket readable, so tevent would call us again at once,
 * forever.  Turn the caller away instead; when even that is impossible,
 * stop watching every listening socket and look again a little later, or
 * as soon as a pipe closes.
 */
void gate_out_of_descriptors(struct ipcguardd *gate, int listen_fd,
			     int err)
{
	uint64_t open = gate->num_open;
	bool shed = gate_shed_one(gate, listen_fd);

	gate->last_exhausted = timeval_current();
	if (!gate->fd_exhausted) {
		gate->fd_exhausted = true;
		gate->num_fd_exhausted++;
		DBG_ERR("ipcguardd: out of file descriptors (%s) with %" PRIu64
			" pipes open: turning new pipes away until some "
			"close; raise LimitNOFILE or lower the ipcguard:max "
			"pipes bounds\n", strerror(err), open);
	}
	if (shed) {
		return;
	}
	gate->accept_paused = true;
	gate_set_accepting(gate, false);
	if (gate->accept_retry == NULL) {
		gate->accept_retry = tevent_add_timer(
			gate->ev, gate,
			timeval_current_ofs_msec(IPCGUARD_ACCEPT_RETRY_MSEC),
			gate_accept_retry, gate);
	}
	if (gate->accept_retry == NULL) {
		/* Without a retry, a pause would be for good. */
		gate_resume_accepting(gate);
	}
}

/* Whether accept() failed for want of resources, not for this caller. */
bool accept_out_of_resources(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS ||
	       err == ENOMEM;
}

/* The episode ends once accepting has worked for a second. */
void gate_accepted(struct ipcguardd *gate)
{
	struct timeval now = timeval_current();

	if (gate->fd_exhausted &&
	    timeval_elapsed2(&gate->last_exhausted, &now) >= 1.0) {
		gate->fd_exhausted = false;
		DBG_ERR("ipcguardd: file descriptors available again; "
			"accepting pipes (%" PRIu64 " open)\n",
			gate->num_open);
	}
}

void listener_accept(struct tevent_context *ev, struct tevent_fd *fde,
		     uint16_t flags, void *private_data)
{
	struct ipcguardd_listener *l = talloc_get_type_abort(
		private_data, struct ipcguardd_listener);
	struct ipcguardd *gate = l->gate;
	int fd;

	fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd == -1) {
		if (accept_out_of_resources(errno)) {
			gate_out_of_descriptors(gate, l->fd, errno);
		} else if (errno != EINTR && errno != EAGAIN) {
			DBG_WARNING("ipcguardd: accept on '%s' failed: %s\n",
				    l->name, strerror(errno));
		}
		return;
	}
	gate_accepted(gate);
	conn_start(l, fd);
}
