/*
 * ipcguardd: the listening sockets, one per pipe in <gate dir>/np/, kept
 * in step with the pipes samba-dcerpcd offers in <ncalrpc dir>/np/, and
 * watched: the np directory must stay root's with mode 0700, and every
 * socket must stay the one this gate bound.
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
#include <sys/un.h>
#include <malloc.h>
#include "lib/util/dlinklist.h"

#include "ipcguard_policy.h"
#include "ipcguard_gate_probe.h"
#include "gate.h"

static int listen_unix(const char *path, mode_t mode)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		return -1;
	}
	unlink(path);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (ret == 0) {
		ret = chmod(path, mode);
	}
	if (ret == 0) {
		ret = listen(fd, 256);
	}
	if (ret != 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * (Re)creates a listening socket at path: the old one, if any, is closed
 * first, so the directory check can call this after the socket vanished.
 */
bool rebind_unix(TALLOC_CTX *fde_owner, struct tevent_context *ev,
		 const char *path, int *fd, struct tevent_fd **fde,
		 struct unix_socket_id *bound,
		 tevent_fd_handler_t handler, void *private_data)
{
	struct stat st;

	TALLOC_FREE(*fde);
	if (*fd != -1) {
		close(*fd);
	}
	*fd = listen_unix(path, 0600);
	if (*fd == -1) {
		DBG_ERR("ipcguardd: cannot listen on %s: %s\n", path,
			strerror(errno));
		return false;
	}
	*bound = (struct unix_socket_id) { 0 };
	if (lstat(path, &st) == 0) {
		*bound = (struct unix_socket_id) {
			.dev = st.st_dev, .ino = st.st_ino,
		};
	}
	*fde = tevent_add_fd(ev, fde_owner, *fd, TEVENT_FD_READ, handler,
			     private_data);
	return *fde != NULL;
}

static int listener_destructor(struct ipcguardd_listener *l)
{
	if (l->fd != -1) {
		close(l->fd);
	}
	return 0;
}

static bool gate_has_listener(struct ipcguardd *gate, const char *name)
{
	struct ipcguardd_listener *l = NULL;

	for (l = gate->listeners; l != NULL; l = l->next) {
		if (strcmp(l->name, name) == 0) {
			return true;
		}
	}
	return false;
}

/* (Re)creates the listening socket of a pipe in the np directory. */
static bool listener_bind(struct ipcguardd_listener *l)
{
	char *path = talloc_asprintf(l, "%s/%s", l->gate->np_dir, l->name);
	bool ok;

	if (path == NULL) {
		return false;
	}
	ok = rebind_unix(l, l->gate->ev, path, &l->fd, &l->fde, &l->bound,
			 listener_accept, l);
	TALLOC_FREE(path);
	return ok;
}

void gate_add_listener(struct ipcguardd *gate, const char *name)
{
	struct ipcguardd_listener *l = NULL;

	if (gate_has_listener(gate, name)) {
		return;
	}
	if (!ipcguard_pipe_name_acceptable(name)) {
		DBG_DEBUG("ipcguardd: ignoring '%s' in %s: not a pipe name\n",
			  name, gate->upstream_np_dir);
		return;
	}
	l = talloc_zero(gate, struct ipcguardd_listener);
	if (l == NULL) {
		return;
	}
	l->gate = gate;
	l->fd = -1;
	l->name = talloc_strdup(l, name);
	if (l->name == NULL) {
		TALLOC_FREE(l);
		return;
	}
	talloc_set_destructor(l, listener_destructor);
	if (!listener_bind(l)) {
		TALLOC_FREE(l);
		return;
	}
	DLIST_ADD_END(gate->listeners, l);
	DBG_NOTICE("ipcguardd: gating pipe '%s'\n", name);
}

void gate_rescan(struct ipcguardd *gate)
{
	DIR *dir = opendir(gate->upstream_np_dir);
	struct dirent *e = NULL;

	if (dir == NULL) {
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.') {
			continue;
		}
		gate_add_listener(gate, e->d_name);
	}
	closedir(dir);
}

bool gate_make_dirs(struct ipcguardd *gate)
{
	if (!directory_create_or_exist(gate->gate_dir, 0755)) {
		DBG_ERR("ipcguardd: cannot create %s: %s\n", gate->gate_dir,
			strerror(errno));
		return false;
	}
	/* Anyone who can connect here can claim any token: root only,
	 * as samba-dcerpcd does for its own np directory. */
	if (!directory_create_or_exist_strict(gate->np_dir, geteuid(),
					      0700)) {
		DBG_ERR("ipcguardd: %s must be a directory owned by uid %u "
			"with mode 0700\n", gate->np_dir,
			(unsigned)geteuid());
		return false;
	}
	return true;
}

/*
 * The np directory is checked every second, not only at start.  Gone (an
 * admin's rm -rf, a tmpfiles cleanup): it is made again and every socket
 * bound anew.  No longer root's and 0700: a local user could replace a
 * socket and receive the handshakes of other callers, so until it is fixed
 * anonymous and guest callers are refused; authenticated callers keep
 * working, as they would with the gate down.
 */
static void gate_check_dirs(struct ipcguardd *gate)
{
	struct ipcguardd_listener *l = NULL;
	struct stat st;
	bool safe;

	if (lstat(gate->np_dir, &st) != 0 && errno == ENOENT) {
		DBG_ERR("ipcguardd: %s disappeared; making it again with "
			"every socket\n", gate->np_dir);
		if (!gate_make_dirs(gate) || !control_bind(gate)) {
			return;
		}
		for (l = gate->listeners; l != NULL; l = l->next) {
			(void)listener_bind(l);
		}
		return;
	}
	safe = S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	       (st.st_mode & 07777) == 0700;
	if (!safe && !gate->np_dir_unsafe) {
		DBG_ERR("ipcguardd: %s is no longer a directory owned by uid "
			"%u with mode 0700: refusing anonymous and guest "
			"callers until it is\n", gate->np_dir,
			(unsigned)geteuid());
	} else if (safe && gate->np_dir_unsafe) {
		DBG_ERR("ipcguardd: %s is safe again\n", gate->np_dir);
	}
	gate->np_dir_unsafe = !safe;
}

/*
 * Whether path still is the socket this gate bound.  Another process
 * that unlinks and binds it (a second gate, an admin's tool) would
 * otherwise take every pipe open away from us without a word.
 */
static bool socket_still_ours(const char *path,
			      const struct unix_socket_id *bound)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	       st.st_dev == bound->dev && st.st_ino == bound->ino;
}

static void gate_check_sockets(struct ipcguardd *gate)
{
	struct ipcguardd_listener *l = NULL;
	char *path = NULL;

	path = talloc_asprintf(gate, "%s/%s", gate->gate_dir,
			       IPCGUARD_GATE_CONTROL_SOCKET);
	if (path != NULL && !socket_still_ours(path, &gate->control_bound)) {
		DBG_ERR("ipcguardd: %s is no longer this gate's socket; "
			"binding it again\n", path);
		(void)control_bind(gate);
	}
	for (l = gate->listeners; path != NULL && l != NULL; l = l->next) {
		TALLOC_FREE(path);
		path = talloc_asprintf(gate, "%s/%s", gate->np_dir, l->name);
		if (path != NULL && !socket_still_ours(path, &l->bound)) {
			DBG_ERR("ipcguardd: %s is no longer this gate's "
				"socket; binding it again\n", path);
			(void)listener_bind(l);
		}
	}
	TALLOC_FREE(path);
}

void gate_rescan_timer(struct tevent_context *ev, struct tevent_timer *te,
		       struct timeval now, void *private_data)
{
	struct ipcguardd *gate = talloc_get_type_abort(private_data,
						       struct ipcguardd);

	gate_check_config(gate);
	gate_check_dirs(gate);
	gate_check_sockets(gate);
	gate_rescan(gate);
	gate_tcp_ports_refresh(gate);
	if (gate->heap_trim_due && gate->num_open == 0) {
		/*
		 * A burst of connections leaves glibc's heap at its high
		 * water mark; an idle gate gives it back, so its RSS says
		 * what it holds.  Here, not at each close: a client opening
		 * pipes one after another would pay for it every time.
		 */
		(void)malloc_trim(0);
	}
	gate->heap_trim_due = false;
	if (tevent_add_timer(ev, gate, timeval_current_ofs(1, 0),
			     gate_rescan_timer, gate) == NULL) {
		DBG_ERR("ipcguardd: cannot schedule the pipe rescan\n");
	}
}
