/*
 * ipcguardd: which TCP ports the door stands in front of, and the packet
 * filter rule that sends their callers to it.
 *
 * Samba's RPC ports are port 135, "rpc server port" and whichever ports
 * of "rpc server dynamic port range" a Samba RPC process listens on; the
 * last change whenever Samba restarts.  A door that followed them would
 * leave a new port open until it noticed (anonymous callers enumerated
 * users in that moment), so the door stands in front of the whole range
 * from its start, listening or not: no connection from outside reaches a
 * Samba RPC port without passing it, at boot, across restarts of Samba,
 * reloads and port changes.  Only ports that another program listens on
 * in the range (found in /proc every second) are left out, so that the
 * door does not break them; a port Samba holds is never left out.  A
 * connection established before the table was in place (the gate's
 * first start, a flushed ruleset) is reset by the table's input chain
 * rather than left unjudged.  The nftables table "inet ipcguard" is
 * replaced, in one transaction, when the set changes.  Whoever flushes
 * the ruleset (a
 * reload of Debian's nftables.service starts with "flush ruleset") takes
 * the table away with the rest: it is looked for every few seconds and
 * put back.  Only connections from outside
 * are redirected (prerouting), so the gate's own connections to Samba go
 * straight there.  The table outlives the gate on purpose: with the gate
 * down, callers from outside find the door shut rather than Samba open.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include "includes.h"

#include "ipcguard_policy.h"
#include "ipcguard_nft.h"
#include "gate.h"

#define EPMAPPER_PORT 135

static bool rpc_port_candidate(uint16_t port)
{
	int low = lp_rpc_low_port();
	int high = lp_rpc_high_port();

	return port == EPMAPPER_PORT || port == lp_rpc_server_port() ||
	       (port >= low && port <= high);
}

/* Listening TCP sockets of this network namespace on candidate ports. */
static size_t read_listening(const char *path, struct gate_tcp_listening *out,
			     size_t n, size_t max)
{
	FILE *f = fopen(path, "r");
	char line[512];

	if (f == NULL) {
		return n;
	}
	/* "sl local_address rem_address st ... uid timeout inode" */
	while (fgets(line, sizeof(line), f) != NULL && n < max) {
		char local[64];
		unsigned st, port;
		unsigned long inode;
		char *colon = NULL;

		if (sscanf(line, " %*u: %63s %*s %x %*s %*s %*s %*u %*u %lu",
			   local, &st, &inode) != 3 || st != 0x0A) {
			continue;
		}
		colon = strrchr(local, ':');
		if (colon == NULL || sscanf(colon + 1, "%x", &port) != 1 ||
		    port > UINT16_MAX || !rpc_port_candidate(port)) {
			continue;
		}
		out[n].port = port;
		out[n].inode = inode;
		n++;
	}
	fclose(f);
	return n;
}

/* samba (the AD DC), samba-dcerpcd and its rpcd_* workers. */
static bool samba_rpc_process(const char *pid)
{
	char path[64], exe[PATH_MAX];
	const char *base = NULL;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%s/exe", pid);
	len = readlink(path, exe, sizeof(exe) - 1);
	if (len <= 0) {
		return false;
	}
	exe[len] = '\0';
	base = strrchr(exe, '/');
	base = base != NULL ? base + 1 : exe;
	return strcmp(base, "samba") == 0 ||
	       strcmp(base, "samba-dcerpcd") == 0 ||
	       strncmp(base, "rpcd_", 5) == 0;
}

/* Marks the sockets a Samba RPC process holds by setting their inode
 * to 0. */
static void find_owners(struct gate_tcp_listening *l, size_t n)
{
	DIR *proc = opendir("/proc");
	struct dirent *p = NULL;

	while (proc != NULL && (p = readdir(proc)) != NULL) {
		char path[64];
		DIR *fds = NULL;
		struct dirent *fd = NULL;
		bool samba = false, checked = false;

		if (!isdigit((unsigned char)p->d_name[0])) {
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fds = opendir(path);
		while (fds != NULL && (fd = readdir(fds)) != NULL) {
			char link[64], target[64];
			unsigned long inode;
			ssize_t len;
			size_t i;

			snprintf(link, sizeof(link), "%s/%s", path,
				 fd->d_name);
			len = readlink(link, target, sizeof(target) - 1);
			if (len <= 0) {
				continue;
			}
			target[len] = '\0';
			if (sscanf(target, "socket:[%lu]", &inode) != 1) {
				continue;
			}
			for (i = 0; i < n; i++) {
				if (l[i].inode != inode || inode == 0) {
					continue;
				}
				if (!checked) {
					samba = samba_rpc_process(p->d_name);
					checked = true;
				}
				if (samba) {
					l[i].inode = 0;
				}
			}
		}
		if (fds != NULL) {
			closedir(fds);
		}
	}
	if (proc != NULL) {
		closedir(proc);
	}
}

static bool same_sockets(const struct gate_tcp_listening *a, size_t na,
			 const struct gate_tcp_listening *b, size_t nb)
{
	size_t i;

	for (i = 0; na == nb && i < na; i++) {
		if (a[i].port != b[i].port || a[i].inode != b[i].inode) {
			return false;
		}
	}
	return na == nb;
}

static int port_cmp(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int range_cmp(const void *a, const void *b)
{
	return port_cmp(&((const struct gate_tcp_range *)a)->low,
			&((const struct gate_tcp_range *)b)->low);
}

static size_t add_range(struct gate_tcp_range *r, size_t n, unsigned low,
			unsigned high)
{
	if (low <= high && high <= UINT16_MAX && n < GATE_TCP_MAX_PORTS) {
		r[n++] = (struct gate_tcp_range) { .low = low, .high = high };
	}
	return n;
}

/*
 * The ports to redirect: 135, "rpc server port" and the dynamic range,
 * less the door's own port and those another program listens on in the
 * range (l[], with Samba's sockets' inodes 0: find_owners()).  Sorted and
 * merged into r[]; returns how many ranges.
 */
static size_t door_ranges(unsigned door_port,
			  const struct gate_tcp_listening *l, size_t n,
			  struct gate_tcp_range *r)
{
	unsigned low = lp_rpc_low_port(), high = lp_rpc_high_port();
	unsigned server_port = lp_rpc_server_port();
	/* Room for 135, the server port and the ranges between holes. */
	uint16_t holes[GATE_TCP_MAX_PORTS - 3];
	size_t nh = 0, nr = 0, i, m;
	unsigned start = low;

	if (door_port >= low && door_port <= high) {
		holes[nh++] = door_port;
	}
	/* Past the room, other programs' ports stay behind the door. */
	for (i = 0; i < n && nh < ARRAY_SIZE(holes); i++) {
		if (l[i].inode != 0 && l[i].port >= low &&
		    l[i].port <= high) {
			holes[nh++] = l[i].port;
		}
	}
	qsort(holes, nh, sizeof(holes[0]), port_cmp);
	if (door_port != EPMAPPER_PORT) {
		nr = add_range(r, nr, EPMAPPER_PORT, EPMAPPER_PORT);
	}
	if (server_port != 0 && server_port != door_port) {
		nr = add_range(r, nr, server_port, server_port);
	}
	for (i = 0; i < nh; i++) {
		if (holes[i] > start) {
			nr = add_range(r, nr, start, holes[i] - 1);
		}
		if (holes[i] >= start) {
			start = holes[i] + 1;
		}
	}
	nr = add_range(r, nr, start, high);
	qsort(r, nr, sizeof(r[0]), range_cmp);
	for (i = 1, m = 0; i < nr; i++) {
		if (r[i].low <= (unsigned)r[m].high + 1) {
			r[m].high = MAX(r[m].high, r[i].high);
		} else {
			r[++m] = r[i];
		}
	}
	return nr == 0 ? 0 : m + 1;
}

static char *ranges_text(TALLOC_CTX *mem_ctx, const struct gate_tcp_range *r,
			 size_t n, const char *sep)
{
	char *s = talloc_strdup(mem_ctx, "");
	size_t i;

	for (i = 0; s != NULL && i < n; i++) {
		s = talloc_asprintf_append_buffer(s, "%s%u", i > 0 ? sep : "",
						  (unsigned)r[i].low);
		if (s != NULL && r[i].high != r[i].low) {
			s = talloc_asprintf_append_buffer(s, "-%u",
							  (unsigned)r[i].high);
		}
	}
	return s;
}

static char *door_ruleset(TALLOC_CTX *mem_ctx,
			  const struct gate_tcp_range *r, size_t n,
			  unsigned door_port)
{
	char *elements = ranges_text(mem_ctx, r, n, ", ");
	char *s = NULL;

	if (elements == NULL) {
		return NULL;
	}
	/* Redirected connections reach input with the door's port: what
	 * still arrives there for an RPC port predates the table. */
	s = talloc_asprintf(mem_ctx,
			    IPCGUARD_NFT_FRESH
			    "table " IPCGUARD_NFT_TABLE " {\n"
			    "\tset rpc_ports {\n"
			    "\t\ttype inet_service\n"
			    "\t\tflags interval\n"
			    "\t\telements = { %s }\n"
			    "\t}\n"
			    "\tchain prerouting {\n"
			    "\t\ttype nat hook prerouting priority dstnat; "
			    "policy accept;\n"
			    "\t\tfib daddr type local tcp dport @rpc_ports "
			    "redirect to :%u\n"
			    "\t}\n"
			    "\tchain input {\n"
			    "\t\ttype filter hook input priority filter; "
			    "policy accept;\n"
			    "\t\tiifname != \"lo\" fib daddr type local "
			    "tcp dport @rpc_ports reject with tcp reset\n"
			    "\t}\n}\n", elements, door_port);
	TALLOC_FREE(elements);
	return s;
}

bool gate_tcp_port_redirected(struct ipcguardd *gate, uint16_t port)
{
	struct gate_tcp_door *door = gate->door;
	size_t i;

	for (i = 0; door != NULL && i < door->num_ranges; i++) {
		if (port >= door->ranges[i].low &&
		    port <= door->ranges[i].high && port != door->port) {
			return true;
		}
	}
	return false;
}

/*
 * Whether the table is still there; checked every
 * GATE_TCP_VERIFY_SECONDS, as a fork of nft costs a few milliseconds.
 */
static bool door_table_lost(struct gate_tcp_door *door)
{
	time_t now = time(NULL);
	char *error = NULL;

	if (!door->applied || now - door->verified < GATE_TCP_VERIFY_SECONDS) {
		return false;
	}
	door->verified = now;
	error = ipcguard_nft_run(door, "list table " IPCGUARD_NFT_TABLE "\n");
	if (error == NULL) {
		return false;
	}
	DBG_ERR("ipcguardd: the nftables table %s of the TCP door is gone "
		"(a flush of the ruleset?): %s; putting it back\n",
		IPCGUARD_NFT_TABLE, error);
	TALLOC_FREE(error);
	door->applied = false;
	return true;
}

void gate_tcp_ports_refresh(struct ipcguardd *gate)
{
	struct gate_tcp_door *door = gate->door;
	struct gate_tcp_listening l[GATE_TCP_MAX_PORTS];
	struct gate_tcp_range ranges[GATE_TCP_MAX_PORTS];
	size_t n = 0, num = 0;
	char *script = NULL, *error = NULL;

	if (door == NULL || door->fd[0] == -1) {
		return;
	}
	(void)door_table_lost(door);
	n = read_listening("/proc/net/tcp", l, n, ARRAY_SIZE(l));
	n = read_listening("/proc/net/tcp6", l, n, ARRAY_SIZE(l));
	/* The search through /proc only when the sockets changed. */
	if (door->applied && same_sockets(l, n, door->seen,
					  door->num_seen)) {
		return;
	}
	door->num_seen = n;
	memcpy(door->seen, l, n * sizeof(l[0]));
	find_owners(l, n);
	num = door_ranges(door->port, l, n, ranges);
	if (door->applied && num == door->num_ranges &&
	    memcmp(ranges, door->ranges, num * sizeof(ranges[0])) == 0) {
		return;
	}
	script = door_ruleset(door, ranges, num, door->port);
	error = script != NULL ? ipcguard_nft_run(door, script) :
		talloc_strdup(door, "out of memory");
	TALLOC_FREE(script);
	TALLOC_FREE(door->problem);
	if (error != NULL) {
		door->problem = talloc_asprintf(
			door, "the TCP door's packet filter rule could not be "
			"set: %s", error);
		DBG_ERR("ipcguardd: %s: anonymous callers over ncacn_ip_tcp "
			"get Samba's own rules\n", door->problem);
		TALLOC_FREE(error);
		door->applied = false;
		door->num_seen = 0;
		return;
	}
	memcpy(door->ranges, ranges, num * sizeof(ranges[0]));
	door->num_ranges = num;
	door->applied = true;
	door->verified = time(NULL);
	script = ranges_text(door, ranges, num, ",");
	TALLOC_FREE(door->ports_text);
	door->ports_text = script;
	DBG_NOTICE("ipcguardd: TCP door on port %u stands in front of "
		   "ports %s\n", door->port,
		   script != NULL ? script : "?");
}
