/*
 * ipcguardd: the control socket, <gate dir>/ipcguardd.sock.
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

#include "ipcguard_policy.h"
#include "ipcguard_gate_probe.h"
#include "gate.h"

/*
 * The control socket answers every connection with the gate's figures, one
 * "key=value" line each, and closes.  Being reachable is all
 * ipcguard_gate_probe() needs; "ipcguard status" reads the text.
 */
static char *gate_status_text(TALLOC_CTX *mem_ctx, struct ipcguardd *gate)
{
	struct ipcguardd_listener *l = NULL;
	const char *problem = NULL;
	char *text = NULL;
	size_t i;

	text = talloc_asprintf(mem_ctx,
			       "ipcguardd=%s\npid=%d\npolicy=%s\n"
			       "rules=%zu\nsocket_directory=%s\n"
			       "connections_open=%" PRIu64 "\n"
			       "memory_bytes=%zu\n"
			       "allowed=%" PRIu64 "\nrefused=%" PRIu64 "\n"
			       "rpc_refused=%" PRIu64 "\n",
			       IPCGUARD_VERSION, (int)getpid(),
			       ipcguard_policy_is_valid(gate->policy) ?
			       "valid" : "invalid",
			       gate->policy != NULL ?
			       gate->policy->num_rules : 0,
			       gate->np_dir_unsafe ? "unsafe" : "ok",
			       gate->num_open, talloc_total_size(gate),
			       gate->num_allowed,
			       gate->num_refused, gate->num_rpc_refused);
	if (text != NULL) {
		struct rlimit rl = { 0 };

		(void)getrlimit(RLIMIT_NOFILE, &rl);
		text = talloc_asprintf_append_buffer(
			text, "pipe_limit_refused=%" PRIu64 "\n"
			"open_file_limit=%llu\nout_of_descriptors=%" PRIu64
			"\nturned_away=%" PRIu64 "\n",
			gate->num_limit_refused,
			(unsigned long long)rl.rlim_cur,
			gate->num_fd_exhausted, gate->num_shed);
	}
	/* Whatever makes the policy in force differ from the one
	 * configured, or leaves callers around the gate. */
	for (i = 0; text != NULL && gate->policy != NULL &&
		    gate->policy->warnings != NULL &&
		    gate->policy->warnings[i] != NULL; i++) {
		text = talloc_asprintf_append_buffer(
			text, "problem=%s\n", gate->policy->warnings[i]);
	}
	if (text != NULL && gate->reload_problem != NULL) {
		text = talloc_asprintf_append_buffer(
			text, "problem=%s\n", gate->reload_problem);
	}
	problem = ipcguard_ungated_transports(
		gate->policy != NULL ? gate->policy->tcp_door_port : 0);
	if (text != NULL && problem != NULL) {
		text = talloc_asprintf_append_buffer(text, "problem=%s\n",
						     problem);
	}
	if (text != NULL && gate->door != NULL) {
		const struct ipcguardd_listener *d = gate->door->listener;

		text = talloc_asprintf_append_buffer(
			text, "tcp_door=%u ports=%s allowed=%" PRIu64
			" refused=%" PRIu64 "\n", gate->door->port,
			gate->door->ports_text != NULL ?
			gate->door->ports_text : "none", d->num_allowed,
			d->num_refused);
	}
	if (text != NULL && gate->door != NULL &&
	    gate->door->problem != NULL) {
		text = talloc_asprintf_append_buffer(
			text, "problem=%s\n", gate->door->problem);
	}
	for (l = gate->listeners; text != NULL && l != NULL; l = l->next) {
		text = talloc_asprintf_append_buffer(
			text, "pipe=%s allowed=%" PRIu64 " refused=%" PRIu64
			"\n", l->name, l->num_allowed, l->num_refused);
	}
	for (i = 0; text != NULL && i < gate->num_rule_counters; i++) {
		const struct rule_counter *c = &gate->rule_counters[i];

		text = talloc_asprintf_append_buffer(
			text, "rule=%s allowed=%" PRIu64 " refused=%" PRIu64
			" audit_only_matches=%" PRIu64 "\n", c->name,
			c->allowed, c->refused, c->would);
	}
	return text;
}

void control_answer(struct ipcguardd *gate, int fd)
{
	char *text = gate_status_text(gate, gate);

	if (text != NULL) {
		/* A few hundred bytes fit the socket buffer; a peer that
		 * does not read (the module's probe) loses nothing. */
		(void)send(fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	TALLOC_FREE(text);
}

static void control_accept(struct tevent_context *ev, struct tevent_fd *fde,
			   uint16_t flags, void *private_data)
{
	struct ipcguardd *gate = talloc_get_type_abort(private_data,
						       struct ipcguardd);
	int fd;

	fd = accept4(gate->control_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd == -1) {
		if (accept_out_of_resources(errno)) {
			gate_out_of_descriptors(gate, gate->control_fd, errno);
		}
		return;
	}
	gate_accepted(gate);
	control_answer(gate, fd);
	close(fd);
}

bool control_bind(struct ipcguardd *gate)
{
	char *control = talloc_asprintf(gate, "%s/%s", gate->gate_dir,
					IPCGUARD_GATE_CONTROL_SOCKET);
	bool ok;

	if (control == NULL) {
		return false;
	}
	ok = rebind_unix(gate, gate->ev, control, &gate->control_fd,
			 &gate->control_fde, &gate->control_bound,
			 control_accept, gate);
	TALLOC_FREE(control);
	return ok;
}
