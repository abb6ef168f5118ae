/*
 * ipcguardd: the TCP door.  Samba serves RPC over ncacn_ip_tcp too (port
 * 135 and its dynamic ports; on an AD DC always), where no smbd and no
 * named pipe stands between the caller and the RPC server.  The packet
 * filter redirects callers from outside to the door (gate_tcp_ports.c);
 * the gate learns the port they asked for with SO_ORIGINAL_DST, connects
 * to Samba on that port from the host itself (local connections are not
 * redirected), and relays PDUs as for a pipe: anonymous callers are
 * judged at every bind and call as they would be over SMB
 * (ipcguard_judge_tcp()), others are relayed untouched.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include "includes.h"
#include "lib/util/dlinklist.h"
#include "lib/util/tevent_unix.h"
#include "lib/tsocket/tsocket.h"
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include "ipcguard_policy.h"
#include "ipcguard_contexts.h"
#include "gate.h"

static void door_connected(struct tevent_req *subreq);

/*
 * Where the caller meant to go.  A caller that came to the door itself
 * has its port there, which gate_tcp_port_redirected() refuses.
 */
static bool original_destination(int fd, struct sockaddr_storage *dst)
{
	socklen_t len = sizeof(*dst);
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);

	if (getsockname(fd, (struct sockaddr *)&local, &llen) != 0) {
		return false;
	}
	if (local.ss_family == AF_INET6) {
		return getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, dst,
				  &len) == 0 && dst->ss_family == AF_INET6;
	}
	return getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, dst, &len) == 0 &&
	       dst->ss_family == AF_INET;
}

static uint16_t sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6) {
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	}
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static void door_start(struct ipcguardd *gate, int fd,
		       const struct sockaddr_storage *from, socklen_t fromlen,
		       const struct sockaddr_storage *to)
{
	struct ipcguardd_conn *conn = NULL;
	struct tsocket_address *client = NULL;
	struct tsocket_address *server = NULL;
	struct tsocket_address *local = NULL;
	struct tevent_req *subreq = NULL;
	int ret;

	conn = conn_accepted(gate->door->listener);
	if (conn == NULL) {
		close(fd);
		return;
	}
	ret = tstream_bsd_existing_socket(conn, fd, &conn->client_stream);
	if (ret != 0) {
		close(fd);
		conn_done(conn, "out of memory");
		return;
	}
	/* From here on the stream owns fd: conn_done() closes it. */
	conn->tcp = talloc_zero(conn, struct gate_tcp);
	conn->sids = talloc_strdup(conn, "");
	if (conn->tcp == NULL || conn->sids == NULL) {
		conn_done(conn, "out of memory");
		return;
	}
	conn->tcp->port = sockaddr_port(to);
	conn->pipe = talloc_asprintf(conn, "ncacn_ip_tcp:%u",
				     (unsigned)conn->tcp->port);
	ret = tsocket_address_bsd_from_sockaddr(
		conn, (const struct sockaddr *)from, fromlen, &client);
	conn->client = ret == 0 ?
		tsocket_address_inet_addr_string(client, conn) : NULL;
	if (conn->client == NULL) {
		conn->client = talloc_strdup(conn, "unknown");
	}
	conn->have_address = ipcguard_address_parse(conn->client,
						    &conn->address, NULL);
	conn->contexts = ipcguard_contexts_new(conn);
	if (conn->pipe == NULL || conn->client == NULL ||
	    conn->contexts == NULL) {
		conn_done(conn, "out of memory");
		return;
	}
	if (!conn_count_pipe(conn, NULL)) {
		return;
	}
	ret = tsocket_address_bsd_from_sockaddr(
		conn, (const struct sockaddr *)to,
		to->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
		sizeof(struct sockaddr_in), &server);
	if (ret == 0) {
		ret = tsocket_address_inet_from_strings(
			conn, to->ss_family == AF_INET6 ? "ipv6" : "ipv4",
			NULL, 0, &local);
	}
	if (ret != 0) {
		conn_done(conn, "out of memory");
		return;
	}
	conn->allowed = true;
	conn->listener->num_allowed++;
	gate->num_allowed++;
	subreq = tstream_inet_tcp_connect_send(conn, gate->ev, local, server);
	if (subreq == NULL) {
		conn_done(conn, "out of memory");
		return;
	}
	tevent_req_set_callback(subreq, door_connected, conn);
}

static void door_connected(struct tevent_req *subreq)
{
	struct ipcguardd_conn *conn = tevent_req_callback_data(
		subreq, struct ipcguardd_conn);
	int ret, err;

	ret = tstream_inet_tcp_connect_recv(subreq, &err, conn,
					    &conn->server_stream, NULL);
	TALLOC_FREE(subreq);
	if (ret != 0) {
		DBG_WARNING("ipcguardd: could not reach Samba on port %u for "
			    "a TCP caller from %s: %s\n",
			    (unsigned)conn->tcp->port, conn->client,
			    strerror(err));
		conn_done(conn, "RPC server unreachable");
		return;
	}
	conn_relay(conn);
}

static void door_accept(struct tevent_context *ev, struct tevent_fd *fde,
			uint16_t flags, void *private_data)
{
	struct gate_tcp_door *door = talloc_get_type_abort(
		private_data, struct gate_tcp_door);
	struct ipcguardd *gate = door->gate;
	int listen_fd = fde == door->fde[0] ? door->fd[0] : door->fd[1];
	struct sockaddr_storage from, to;
	socklen_t fromlen = sizeof(from);
	int fd;

	fd = accept4(listen_fd, (struct sockaddr *)&from, &fromlen,
		     SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd == -1) {
		if (accept_out_of_resources(errno)) {
			gate_out_of_descriptors(gate, listen_fd, errno);
		}
		return;
	}
	gate_accepted(gate);
	if (!original_destination(fd, &to) ||
	    !gate_tcp_port_redirected(gate, sockaddr_port(&to))) {
		DBG_NOTICE("ipcguardd: closed a connection to the TCP door "
			   "that the packet filter did not redirect from an "
			   "RPC port\n");
		close(fd);
		return;
	}
	door_start(gate, fd, &from, fromlen, &to);
}

static int door_listen(struct ipcguardd *gate, int family, unsigned port)
{
	struct sockaddr_storage ss = { .ss_family = family };
	socklen_t len = sizeof(struct sockaddr_in);
	int one = 1;
	int fd;

	if (family == AF_INET6) {
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		len = sizeof(struct sockaddr_in6);
	} else {
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6) {
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				 sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(fd, 512) != 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int door_destructor(struct gate_tcp_door *door)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(door->fd); i++) {
		TALLOC_FREE(door->fde[i]);
		if (door->fd[i] != -1) {
			close(door->fd[i]);
		}
	}
	return 0;
}

/*
 * Opens, moves or closes the door as the policy says.  A door that
 * cannot open leaves TCP callers with Samba's own rules: said loudly, and
 * reported by status and check.
 */
void gate_tcp_door_setup(struct ipcguardd *gate)
{
	struct gate_tcp_door *door = gate->door;
	unsigned port = gate->policy != NULL ? gate->policy->tcp_door_port : 0;
	int families[] = { AF_INET, AF_INET6 };
	size_t i;

	if (door != NULL && door->port == port) {
		return;
	}
	TALLOC_FREE(gate->door);
	if (port == 0) {
		return;
	}
	door = talloc_zero(gate, struct gate_tcp_door);
	if (door == NULL) {
		DBG_ERR("ipcguardd: out of memory opening the TCP door\n");
		return;
	}
	door->gate = gate;
	door->port = port;
	door->fd[0] = door->fd[1] = -1;
	talloc_set_destructor(door, door_destructor);
	/* Connections point at it: it lives as long as the gate, across
	 * doors moved by reloads, with its counters. */
	if (gate->door_listener == NULL) {
		gate->door_listener = talloc_zero(gate,
						  struct ipcguardd_listener);
		if (gate->door_listener == NULL) {
			TALLOC_FREE(door);
			return;
		}
		gate->door_listener->gate = gate;
		gate->door_listener->name = talloc_strdup(
			gate->door_listener, "ncacn_ip_tcp");
		gate->door_listener->fd = -1;
	}
	door->listener = gate->door_listener;
	for (i = 0; i < ARRAY_SIZE(families); i++) {
		door->fd[i] = door_listen(gate, families[i], port);
		if (door->fd[i] == -1) {
			/* No IPv6 on the host is no problem; no IPv4 is. */
			if (families[i] == AF_INET) {
				door->problem = talloc_asprintf(
					door, "the TCP door cannot listen on "
					"port %u: %s", port, strerror(errno));
			}
			continue;
		}
		door->fde[i] = tevent_add_fd(gate->ev, door, door->fd[i],
					     TEVENT_FD_READ, door_accept,
					     door);
	}
	gate->door = door;
	if (door->problem != NULL) {
		DBG_ERR("ipcguardd: %s: anonymous callers over ncacn_ip_tcp "
			"get Samba's own rules\n", door->problem);
		return;
	}
	DBG_NOTICE("ipcguardd: TCP door open on port %u\n", port);
	gate_tcp_ports_refresh(gate);
}
