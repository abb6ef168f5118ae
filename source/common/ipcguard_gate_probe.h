/*
 * ipcguard: is the ipcguardd gate between smbd and the RPC servers?
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_GATE_PROBE_H
#define IPCGUARD_GATE_PROBE_H

#include <stdbool.h>
#include <talloc.h>

/* The gate answers on this socket in external_rpc_pipe:socket_dir. */
#define IPCGUARD_GATE_CONTROL_SOCKET "ipcguardd.sock"

/*
 * The gate directory smb.conf routes pipes to, or NULL with *problem set
 * when pipes would go straight to samba-dcerpcd.  Uses the loaded smb.conf.
 */
const char *ipcguard_gate_dir(TALLOC_CTX *mem_ctx, const char **problem);

/*
 * A connected socket to the gate's control socket, or -1 with *problem
 * set.  The gate writes its figures to it and closes.  Connecting and
 * each read on the socket give up after timeout_ms (ipcguard:gate probe
 * timeout): smbd waits that long in an anonymous tree connect at worst.
 */
int ipcguard_gate_connect(TALLOC_CTX *mem_ctx, unsigned timeout_ms,
			  const char **problem);

/*
 * True when smb.conf routes named pipes to a gate directory and ipcguardd
 * answers there within timeout_ms; otherwise false
 * with *problem saying why, in words for the log.
 */
bool ipcguard_gate_probe(TALLOC_CTX *mem_ctx, unsigned timeout_ms,
			 const char **problem);

/*
 * Why callers reach Samba's RPC servers over transports the gate does not
 * see, in words for the log, or NULL when named pipes are the only way in
 * or the TCP door (tcp_door_port, "ipcguard:tcp door port") stands in
 * front of TCP.
 */
const char *ipcguard_ungated_transports(unsigned tcp_door_port);

/*
 * What stops working while ipcguardd is down, in words for the log and
 * the tool: smbd sends every pipe open to the gate's directory.
 */
const char *ipcguard_gate_down_breaks(void);

#endif /* IPCGUARD_GATE_PROBE_H */
