/*
 * ipcguardd: what the gate's files share.  Include after "includes.h".
 *
 *   gate_main.c      main, setup, the already-running check, the fd limit
 *   gate_policy.c    policy load and reload, rule counters, and the one
 *                    place that asks the engine: conn_judge(), judge_*()
 *   gate_listener.c  listening sockets, the directory rescan, the checks
 *                    of the np directory and of our sockets
 *   gate_accept.c    accepting, and running out of descriptors
 *   gate_control.c   the control socket and its status text
 *   gate_conn.c      one pipe: handshake, upstream connect, conn_done()
 *   gate_bounds.c    pipes counted per session and per address
 *   gate_refuse.c    faults, and refused pipes
 *   gate_relay.c     the relay of a forwarded pipe (gate_relay_send())
 *   gate_relay_io.c  its two sockets (gate_relay.h)
 *   gate_winreg.c    winreg handles, for the registry paths
 *   gate_tcp.c       the TCP door: redirected ncacn_ip_tcp callers
 *   gate_tcp_auth.c  whether a TCP caller is anonymous
 *   gate_tcp_ports.c Samba's RPC ports, and the nftables redirect
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_GATE_H
#define IPCGUARD_GATE_H

#include "ipcguard_policy.h"

/* Set by main() to the "ipcguard" debug class. */
extern int ipcguardd_debug_class;
#undef DBGC_CLASS
#define DBGC_CLASS ipcguardd_debug_class

/*
 * smbd sends the handshake as soon as it has connected; a connection that
 * has not sent it by then never will, and must not keep its descriptor.
 */
#define IPCGUARD_HANDSHAKE_TIMEOUT 10

struct ipcguardd;
struct ipcguard_contexts;
struct gate_winreg;
struct ncacn_packet;
struct messaging_context;

/* The file a listening socket was bound to: see gate_check_sockets(). */
struct unix_socket_id {
	dev_t dev;
	ino_t ino;
};

struct ipcguardd_listener {
	struct ipcguardd_listener *prev, *next;
	struct ipcguardd *gate;
	char *name;
	int fd;
	struct tevent_fd *fde;
	struct unix_socket_id bound;	/* what fd was bound to */
	uint64_t num_allowed;
	uint64_t num_refused;
};

/*
 * How many pipes one session, or one address's sessions of one class
 * (anonymous-like or not), hold open: what the pipe bounds judge.
 */
struct pipe_count {
	struct pipe_count *prev, *next;
	struct GUID session;		/* session counts */
	char *address;			/* address counts */
	bool restricted;		/* address counts: which class */
	unsigned open;
	bool refusal_logged;	/* the bound was reached and said so */
};

struct ipcguardd_conn {
	struct ipcguardd_conn *prev, *next;
	struct ipcguardd *gate;
	struct ipcguardd_listener *listener;	/* lives as long as the gate */
	char *pipe;
	enum ipcguard_session_kind kind;
	char *user;
	char *sids;
	char *client;
	bool allowed;
	/* What this pipe counts against; NULL until it is counted. */
	struct pipe_count *session_count;
	struct pipe_count *address_count;
	/* Ends the handshake, then a refused pipe, when overdue. */
	struct tevent_timer *deadline;
	unsigned faults;	/* answered on a refused pipe */
	uint32_t npa_flags;	/* smbd's NPA flags, taken out of the token */
	/* The token the RPC server sees: what rules' SDDL is checked on. */
	struct security_token *token;
	/* The token is NT AUTHORITY\SYSTEM's (Samba's own callers); found
	 * once, not on every call judged. */
	bool local_system;
	struct ipcguard_address address;
	bool have_address;
	/* What smbd's handshake brought, until the relay starts. */
	TALLOC_CTX *handshake;
	struct tstream_context *client_stream;
	struct tstream_context *server_stream;
	/* A refused pipe's faults, one at a time (gate_refuse.c); a relayed
	 * pipe queues in its relay. */
	struct tevent_queue *client_queue;
	/* Presentation contexts as the RPC server bound them. */
	struct ipcguard_contexts *contexts;
	struct gate_winreg *winreg;	/* winreg handles: gate_winreg.c */
	struct gate_tcp *tcp;	/* through the TCP door; else NULL */
};

/* Who a caller over TCP is, as far as its authentication says. */
enum gate_tcp_caller {
	GATE_TCP_PENDING = 0,	/* nothing said yet: judged as anonymous */
	GATE_TCP_ANONYMOUS,	/* for good */
	GATE_TCP_AUTHENTICATED,	/* relayed untouched */
};

/* What a connection through the TCP door has beyond a pipe's. */
struct gate_tcp {
	enum gate_tcp_caller caller;
	bool bound;		/* a bind came */
	uint16_t port;		/* the port the caller asked for */
};

#define GATE_TCP_MAX_PORTS 64
#define GATE_TCP_VERIFY_SECONDS 5

struct gate_tcp_listening {
	uint16_t port;
	unsigned long inode;
};

/* Ports low to high, both included. */
struct gate_tcp_range {
	uint16_t low;
	uint16_t high;
};

/* The TCP door: gate_tcp.c, gate_tcp_ports.c. */
struct gate_tcp_door {
	struct ipcguardd *gate;
	unsigned port;
	int fd[2];			/* IPv4, IPv6 */
	struct tevent_fd *fde[2];
	struct ipcguardd_listener *listener;	/* counters, for status */
	/* The ports redirected to the door, sorted, and as text. */
	struct gate_tcp_range ranges[GATE_TCP_MAX_PORTS];
	size_t num_ranges;
	char *ports_text;
	bool applied;		/* the nftables table is in place */
	time_t verified;		/* when it was last seen there */
	struct gate_tcp_listening seen[GATE_TCP_MAX_PORTS];
	size_t num_seen;
	char *problem;		/* why TCP callers pass around it */
};

/* What each database rule did since the gate started. */
struct rule_counter {
	char *name;
	uint64_t allowed;
	uint64_t refused;
	uint64_t would;		/* audit-only matches */
};

struct ipcguardd {
	struct tevent_context *ev;
	struct messaging_context *msg;
	const char *gate_dir;
	const char *np_dir;
	const char *upstream_np_dir;
	struct ipcguard_policy *policy;
	struct ipcguardd_listener *listeners;
	struct ipcguardd_conn *conns;
	int control_fd;
	struct tevent_fd *control_fde;
	struct unix_socket_id control_bound;
	uint64_t num_open;
	uint64_t num_allowed;
	uint64_t num_refused;
	uint64_t num_rpc_refused;
	bool np_dir_unsafe;	/* see gate_check_dirs() */
	bool heap_trim_due;	/* the last connection closed */
	struct rule_counter *rule_counters;
	size_t num_rule_counters;
	struct pipe_count *session_counts;
	struct pipe_count *address_counts;
	uint64_t num_limit_refused;
	/*
	 * Out of file descriptors: callers are turned away with the help of
	 * a spare descriptor, or, failing that, accepting pauses and a timer
	 * retries.
	 */
	int spare_fd;
	uint64_t num_shed;
	bool accept_paused;
	bool fd_exhausted;	/* the episode has been logged */
	struct timeval last_exhausted;
	struct tevent_timer *accept_retry;
	uint64_t num_fd_exhausted;
	struct gate_tcp_door *door;	/* NULL: no TCP door */
	struct ipcguardd_listener *door_listener;	/* its counters */
	/* Why the last reload did not take effect, for "ipcguard status". */
	char *reload_problem;
	/*
	 * The relay's read buffer, which every pipe shares
	 * (gate_relay_io.c), and the pool every PDU is parsed into, freed
	 * before the next (gate_relay.c).
	 */
	uint8_t *relay_buf;
	TALLOC_CTX *parse_pool;
};

/*
 * The request being relayed or refused, fragment by fragment: later
 * fragments must continue the call judged on its first.
 */
struct gate_call {
	bool in_call;
	bool refusing_call;
	uint32_t call_id;
	uint16_t call_context_id;
	uint16_t call_opnum;
};

enum pdu_fate { PDU_FORWARD, PDU_DROP, PDU_FAULT, PDU_CLOSE };

/* gate_policy.c */
bool gate_load_policy(struct ipcguardd *gate, bool reload);
enum ipcguard_stage conn_judge(struct ipcguardd_conn *conn,
			       struct ipcguard_request *request,
			       enum ipcguard_stage first,
			       struct ipcguard_decision *decision);
enum pdu_fate judge_pdu(struct ipcguardd_conn *conn, struct gate_call *call,
			const struct ncacn_packet *pkt);
void gate_check_config(struct ipcguardd *gate);
void gate_reload(struct messaging_context *msg, void *private_data,
		 uint32_t msg_type, struct server_id server_id,
		 DATA_BLOB *data);

/* gate_listener.c */
bool rebind_unix(TALLOC_CTX *fde_owner, struct tevent_context *ev,
		 const char *path, int *fd, struct tevent_fd **fde,
		 struct unix_socket_id *bound,
		 tevent_fd_handler_t handler, void *private_data);
bool gate_make_dirs(struct ipcguardd *gate);
void gate_add_listener(struct ipcguardd *gate, const char *name);
void gate_rescan(struct ipcguardd *gate);
void gate_rescan_timer(struct tevent_context *ev, struct tevent_timer *te,
		       struct timeval now, void *private_data);

/* gate_accept.c */
void gate_open_spare_fd(struct ipcguardd *gate);
void gate_resume_accepting(struct ipcguardd *gate);
bool accept_out_of_resources(int err);
void gate_out_of_descriptors(struct ipcguardd *gate, int listen_fd,
			     int err);
void gate_accepted(struct ipcguardd *gate);
void listener_accept(struct tevent_context *ev, struct tevent_fd *fde,
		     uint16_t flags, void *private_data);

/* gate_control.c */
bool control_bind(struct ipcguardd *gate);
void control_answer(struct ipcguardd *gate, int fd);

/* gate_conn.c */
struct ipcguardd_conn *conn_accepted(struct ipcguardd_listener *l);
void conn_start(struct ipcguardd_listener *l, int fd);
bool conn_set_deadline(struct ipcguardd_conn *conn, uint32_t secs);
void conn_done(struct ipcguardd_conn *conn, const char *why);
void conn_relay(struct ipcguardd_conn *conn);

/* gate_bounds.c */
bool conn_count_pipe(struct ipcguardd_conn *conn,
		     const struct GUID *session);
void pipe_count_drop(struct pipe_count **list, struct pipe_count *c);

/* gate_refuse.c */
bool refuse_fault_blob(TALLOC_CTX *mem_ctx, uint32_t call_id,
		       uint16_t context_id, DATA_BLOB *blob);
struct tevent_req *refuse_fault_send(TALLOC_CTX *mem_ctx,
				     struct tevent_context *ev,
				     struct ipcguardd_conn *conn,
				     uint32_t call_id, uint16_t context_id);
int refuse_fault_recv(struct tevent_req *req, const char **why);
void refuse_start(struct ipcguardd_conn *conn);

/* gate_relay.c */
struct tevent_req *gate_relay_send(TALLOC_CTX *mem_ctx,
				   struct tevent_context *ev,
				   struct ipcguardd_conn *conn);
void gate_relay_recv(struct tevent_req *req, const char **why);

/* gate_tcp.c */
void gate_tcp_door_setup(struct ipcguardd *gate);

/* gate_tcp_auth.c */
void gate_tcp_learn(struct ipcguardd_conn *conn,
		    const struct ncacn_packet *pkt);

/* gate_tcp_ports.c */
bool gate_tcp_port_redirected(struct ipcguardd *gate, uint16_t port);
void gate_tcp_ports_refresh(struct ipcguardd *gate);

#endif /* IPCGUARD_GATE_H */
