/*
 * ipcguard: is the ipcguardd gate between smbd and the RPC servers?
 *
 * smbd opens a named pipe by connecting to
 * <external_rpc_pipe:socket_dir>/np/<pipe>; samba-dcerpcd listens in
 * <ncalrpc dir>/np/.  The gate is in the path exactly when the option
 * names another directory and ipcguardd answers there.  Anything else
 * means the pipe list is not enforced, so callers refuse anonymous IPC$.
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
#include <poll.h>

#include "ipcguard_gate_probe.h"

static bool same_directory(const char *a, const char *b)
{
	struct stat sa, sb;

	if (strcmp(a, b) == 0) {
		return true;
	}
	if (stat(a, &sa) != 0 || stat(b, &sb) != 0) {
		return false;
	}
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

const char *ipcguard_gate_dir(TALLOC_CTX *mem_ctx, const char **problem)
{
	const char *dir = lp_parm_const_string(GLOBAL_SECTION_SNUM,
					       "external_rpc_pipe",
					       "socket_dir", NULL);
	const char *ncalrpc = lp_ncalrpc_dir();

	if (dir == NULL || dir[0] == '\0') {
		*problem = "external_rpc_pipe:socket_dir is not set, so named "
			   "pipes go straight to samba-dcerpcd";
		return NULL;
	}
	if (dir[0] != '/') {
		*problem = talloc_asprintf(
			mem_ctx,
			"external_rpc_pipe:socket_dir = %s is not an absolute "
			"path", dir);
		return NULL;
	}
	if (same_directory(dir, ncalrpc)) {
		*problem = talloc_asprintf(
			mem_ctx,
			"external_rpc_pipe:socket_dir = %s is the ncalrpc dir, "
			"so named pipes go straight to samba-dcerpcd", dir);
		return NULL;
	}
	return dir;
}

int ipcguard_gate_connect(TALLOC_CTX *mem_ctx, unsigned timeout_ms,
			  const char **problem)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *dir = NULL;
	struct timeval start = timeval_current();
	struct timeval tv = {
		.tv_sec = timeout_ms / 1000,
		.tv_usec = (timeout_ms % 1000) * 1000,
	};
	int fd;
	int ret;

	*problem = NULL;
	dir = ipcguard_gate_dir(mem_ctx, problem);
	if (dir == NULL) {
		return -1;
	}
	ret = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir,
		       IPCGUARD_GATE_CONTROL_SOCKET);
	if (ret < 0 || (size_t)ret >= sizeof(sun.sun_path)) {
		*problem = talloc_asprintf(
			mem_ctx, "external_rpc_pipe:socket_dir = %s is too "
			"long for a socket path", dir);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		*problem = talloc_asprintf(mem_ctx, "socket() failed: %s",
					   strerror(errno));
		return -1;
	}
	/*
	 * A unix socket connect blocks while the listener's backlog is
	 * full (a gate that is stopped, hung or out of descriptors), and
	 * smbd calls us in the middle of a tree connect.  Linux bounds that
	 * wait, and the reads of whoever uses the socket, by these timeouts.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
		*problem = talloc_asprintf(mem_ctx, "setsockopt() failed: %s",
					   strerror(errno));
		close(fd);
		return -1;
	}
	do {
		ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	} while (ret == -1 && errno == EINTR &&
		 timeval_elapsed(&start) * 1000 < timeout_ms);
	if (ret == -1) {
		*problem = talloc_asprintf(
			mem_ctx, "ipcguardd is not answering at %s: %s",
			sun.sun_path, errno == EAGAIN ?
			"its queue of connections is full" : strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A listening socket is not a working gate: the kernel queues connections
 * for a stopped one too.  The gate answers every connection with its
 * figures at once, so wait that long for the first bytes of them.
 */
bool ipcguard_gate_probe(TALLOC_CTX *mem_ctx, unsigned timeout_ms,
			 const char **problem)
{
	static const char hello[] = "ipcguardd=";
	struct timeval start = timeval_current();
	char buf[sizeof(hello) - 1];
	size_t got = 0;
	int fd = ipcguard_gate_connect(mem_ctx, timeout_ms, problem);

	if (fd == -1) {
		return false;
	}
	while (got < sizeof(buf)) {
		int left = (int)timeout_ms -
			(int)(timeval_elapsed(&start) * 1000);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int ret;

		if (left <= 0) {
			break;
		}
		ret = poll(&pfd, 1, left);
		if (ret == -1 && errno == EINTR) {
			continue;
		}
		if (ret != 1) {
			break;
		}
		n = recv(fd, buf + got, sizeof(buf) - got, MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN)) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		got += n;
	}
	close(fd);
	if (got < sizeof(buf) || memcmp(buf, hello, sizeof(buf)) != 0) {
		*problem = talloc_asprintf(
			mem_ctx, "ipcguardd did not answer on its control "
			"socket within %u ms", timeout_ms);
		return false;
	}
	return true;
}

/*
 * samba-dcerpcd started on demand (--np-helper, by smbd or the gate) serves
 * ncacn_np only: source3/rpc_server/rpc_host.c filters the endpoints the
 * rpcd_* servers report down to NCACN_NP.  Started as a daemon, which
 * "rpc start on demand helpers = no" requires, it serves every endpoint
 * they report: ncalrpc, and ncacn_ip_tcp on port 135 (epmapper) and the
 * dynamic port range.  Callers there never pass through the gate.
 */
const char *ipcguard_ungated_transports(unsigned tcp_door_port)
{
	if (tcp_door_port != 0) {
		/* ncalrpc is left: local callers only. */
		return NULL;
	}
	if (lp_server_role() == ROLE_ACTIVE_DIRECTORY_DC) {
		return "server role = active directory domain controller: "
		       "the samba process serves ncacn_ip_tcp (port 135 and "
		       "the rpc server dynamic port range), where anonymous "
		       "callers get Samba's own rules, not the pipe list; "
		       "set ipcguard:tcp door port (see ipcguardd(8))";
	}
	if (lp_rpc_start_on_demand_helpers()) {
		return NULL;
	}
	return "rpc start on demand helpers = no: samba-dcerpcd runs as a "
	       "daemon and also serves ncacn_ip_tcp (port 135 and the rpc "
	       "server dynamic port range) and ncalrpc, where anonymous "
	       "callers get Samba's own rules: ipcguardd only sees named "
	       "pipes unless ipcguard:tcp door port is set";
}

const char *ipcguard_gate_down_breaks(void)
{
	if (lp_server_role() == ROLE_ACTIVE_DIRECTORY_DC ||
	    lp_server_role() == ROLE_DOMAIN_PDC ||
	    lp_server_role() == ROLE_DOMAIN_BDC) {
		return "every named pipe open fails for every caller until "
		       "ipcguardd is back: winbindd's user and group lookups "
		       "(wbinfo -u) come back empty, and members cannot use "
		       "netlogon, samr or lsarpc over SMB";
	}
	return "every named pipe open fails for every caller until "
	       "ipcguardd is back (winbindd's lookups through this server "
	       "too)";
}
