/*
 * ipcguardd: the named-pipe gate between smbd and Samba's RPC servers.
 *
 * Samba 4.17 opens a named pipe without any VFS operation: smbd connects
 * to <external_rpc_pipe:socket_dir>/np/<pipe> and hands over the caller's
 * whole session in a named_pipe_auth handshake.  samba-dcerpcd listens in
 * <ncalrpc dir>/np/ and never reads that option, so pointing it at our own
 * directory puts this daemon in front of every pipe open, with the
 * caller's token, before any RPC server sees the caller.
 *
 * For each open the gate completes the handshake with Samba's own npa
 * tstream code, asks the shared policy engine, and then either
 *
 *  - refuses: every DCE/RPC PDU the client sends that expects an answer
 *    (bind, alter context, the last fragment of a request) gets a FAULT
 *    with status access-denied, which rpcclient reports as
 *    NT_STATUS_ACCESS_DENIED.  smbd ignores the handshake reply's status
 *    and a dropped connection reads as NT_STATUS_CONNECTION_DISCONNECTED,
 *    which tells an admin nothing; or
 *
 *  - forwards: it connects to the real pipe with smbd's own client code
 *    (local_np_connect, which also starts samba-dcerpcd on demand) using
 *    the caller's session, with Everyone removed where the policy says
 *    anonymous is not Everyone, and relays whole PDUs both ways.
 *
 * smbd adds a "NPA flags" SID to the token it sends; local_np_connect
 * refuses a token that has one, so the gate takes it out and passes its
 * flags (need an idle server, winbind off) on the way smbd would.
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
#include "lib/cmdline/cmdline.h"
#include "lib/param/param.h"
#include "lib/util/server_id_db.h"
#include "messages.h"
#include "source3/lib/global_contexts.h"
#include "lib/util/pidfile.h"
#include "smbd/proto.h"
#include "ipcguard_version.h"

#include "ipcguard_policy.h"
#include "ipcguard_gate_probe.h"
#include "gate.h"

int ipcguardd_debug_class = DBGC_ALL;

/* Descriptors the gate asks for, as smbd asks for "max open files". */
#define IPCGUARD_WANT_FILES 65536

/*
 * Pipes Samba 4.17's RPC servers offer on a member or standalone server.
 * More appear as samba-dcerpcd creates them in <ncalrpc dir>/np/, which is
 * rescanned every second.
 */
static const char *baseline_pipes[] = {
	"epmapper", "eventlog", "fssagentrpc", "initshutdown", "lsarpc",
	"lsass", "mdssvc", "netdfs", "ntsvcs", "plugplay", "samr",
	"spoolss", "srvsvc", "svcctl", "winreg", "wkssvc", NULL,
};

/*
 * What the AD DC's own RPC server (the "samba" process) adds, from the
 * endpoints of its endpoint servers' IDL: drsuapi and backupkey on
 * \protected_storage, dnsserver, unixinfo, browser.  Known from the
 * start, so that no open fails before the first rescan sees them.
 */
static const char *ad_dc_pipes[] = {
	"protected_storage", "dnsserver", "unixinfo", "browser", NULL,
};

/*
 * A second gate must leave the first one's sockets alone: binding them
 * would take every pipe open away from it.  Both the pid file (same
 * smb.conf) and the control socket (another smb.conf with the same gate
 * directory) are asked.  Whoever started it is told on the stderr it was
 * started with (tty_stderr): Samba's logging has put the log file on
 * descriptor 2 by now.
 */
static bool gate_already_running(struct ipcguardd *gate, int tty_stderr)
{
	const char *problem = NULL;
	pid_t pid;
	int fd;

	pid = pidfile_pid(lp_pid_directory(), "ipcguardd");
	if (pid > 0) {
		dprintf(tty_stderr, "ipcguardd: another ipcguardd (pid %d) is "
			"already running with pid directory %s; exiting\n",
			(int)pid, lp_pid_directory());
		DBG_ERR("ipcguardd: another ipcguardd (pid %d) is already "
			"running with pid directory %s; exiting\n", (int)pid,
			lp_pid_directory());
		return true;
	}
	/* No policy yet: another gate that answers at all is running. */
	fd = ipcguard_gate_connect(gate, 2000, &problem);
	if (fd != -1) {
		close(fd);
		dprintf(tty_stderr, "ipcguardd: another ipcguardd already "
			"answers in %s; exiting\n", gate->gate_dir);
		DBG_ERR("ipcguardd: another ipcguardd already answers in %s; "
			"exiting\n", gate->gate_dir);
		return true;
	}
	return false;
}

/*
 * SIGTERM (systemctl stop) and SIGINT: the pid file goes with the gate.
 * Its sockets stay, refusing, and so does the TCP door's table, which
 * only "ipcguard tcp-door remove" takes away: Samba's RPC ports stay
 * behind a door that is shut.
 */
static void gate_terminate(struct tevent_context *ev,
			   struct tevent_signal *se, int signum, int count,
			   void *siginfo, void *private_data)
{
	DBG_ERR("ipcguardd: exiting on signal %d\n", signum);
	pidfile_unlink(lp_pid_directory(), "ipcguardd");
	exit(0);
}

/*
 * local_np_connect() starts samba-dcerpcd with posix_spawn() and never
 * waits for it; samba-dcerpcd forks into the background and its first
 * process exits.  Every start on demand would leave a zombie.
 */
static void gate_reap_children(struct tevent_context *ev,
			       struct tevent_signal *se, int signum,
			       int count, void *siginfo, void *private_data)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		DBG_DEBUG("ipcguardd: child %d ended\n", (int)pid);
	}
}

/*
 * Every pipe costs the gate one descriptor, two when forwarded, and
 * systemd starts services with a soft limit of 1,024 (for select()).  Like
 * smbd's set_maxfiles(), raise the soft limit towards what we want, up to
 * the hard limit.  The hard limit is left alone: it is the administrator's
 * (LimitNOFILE), and running out is handled, not fatal.
 */
static void gate_raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t before;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		DBG_WARNING("ipcguardd: getrlimit(RLIMIT_NOFILE) failed: %s\n",
			    strerror(errno));
		return;
	}
	before = rl.rlim_cur;
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < IPCGUARD_WANT_FILES) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ?
			IPCGUARD_WANT_FILES :
			MIN(rl.rlim_max, IPCGUARD_WANT_FILES);
	}
	if (rl.rlim_cur != before && setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		DBG_WARNING("ipcguardd: cannot raise the open file limit from "
			    "%llu to %llu: %s\n", (unsigned long long)before,
			    (unsigned long long)rl.rlim_cur, strerror(errno));
		return;
	}
	if (rl.rlim_cur == before) {
		DBG_NOTICE("ipcguardd: open file limit %llu (hard limit "
			   "%llu)\n", (unsigned long long)rl.rlim_cur,
			   (unsigned long long)rl.rlim_max);
		return;
	}
	DBG_NOTICE("ipcguardd: open file limit %llu (was %llu, hard limit "
		   "%llu)\n", (unsigned long long)rl.rlim_cur,
		   (unsigned long long)before,
		   (unsigned long long)rl.rlim_max);
}

static bool gate_setup_sockets(struct ipcguardd *gate)
{
	size_t i;

	gate_raise_fd_limit();
	gate->spare_fd = -1;
	gate_open_spare_fd(gate);
	if (!gate_make_dirs(gate)) {
		return false;
	}
	if (!control_bind(gate)) {
		return false;
	}
	for (i = 0; baseline_pipes[i] != NULL; i++) {
		gate_add_listener(gate, baseline_pipes[i]);
	}
	if (lp_server_role() == ROLE_DOMAIN_PDC ||
	    lp_server_role() == ROLE_DOMAIN_BDC ||
	    lp_server_role() == ROLE_IPA_DC ||
	    lp_server_role() == ROLE_ACTIVE_DIRECTORY_DC) {
		gate_add_listener(gate, "netlogon");
	}
	for (i = 0; lp_server_role() == ROLE_ACTIVE_DIRECTORY_DC &&
		    ad_dc_pipes[i] != NULL; i++) {
		gate_add_listener(gate, ad_dc_pipes[i]);
	}
	gate_rescan(gate);
	gate_tcp_door_setup(gate);
	return tevent_add_timer(gate->ev, gate, timeval_current_ofs(1, 0),
				gate_rescan_timer, gate) != NULL;
}

int main(int argc, const char *argv[])
{
	TALLOC_CTX *frame = NULL;
	struct ipcguardd *gate = NULL;
	struct samba_cmdline_daemon_cfg *cmdline_daemon_cfg = NULL;
	const char *problem = NULL;
	poptContext pc;
	bool log_stdout;
	NTSTATUS status;
	int tty_stderr;
	int ret;
	struct poptOption long_options[] = {
		POPT_AUTOHELP
		POPT_COMMON_SAMBA
		POPT_COMMON_DAEMON
		IPCGUARD_POPT_VERSION
		POPT_TABLEEND
	};

	/* Before Samba's logging takes descriptor 2 for the log file. */
	tty_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (tty_stderr == -1) {
		tty_stderr = STDERR_FILENO;
	}
	talloc_enable_null_tracking();
	frame = talloc_stackframe();
	umask(0022);
	smb_init_locale();
	/* Before smb.conf is read, so "log level = ipcguard:N" applies. */
	ipcguardd_debug_class = debug_add_class("ipcguard");
	if (ipcguardd_debug_class == -1) {
		ipcguardd_debug_class = DBGC_ALL;
	}

	if (!samba_cmdline_init(frame, SAMBA_CMDLINE_CONFIG_SERVER,
				true /* require_smbconf */)) {
		fprintf(stderr, "ipcguardd: failed to initialise\n");
		exit(1);
	}
	pc = samba_popt_get_context(getprogname(), argc, argv, long_options,
				    0);
	if (pc == NULL) {
		fprintf(stderr, "ipcguardd: failed to set up options\n");
		exit(1);
	}
	ret = poptGetNextOpt(pc);
	if (ret == IPCGUARD_POPT_VERSION_VAL) {
		ipcguard_print_version("ipcguardd");
		poptFreeContext(pc);
		exit(0);
	}
	if (ret != -1) {
		fprintf(stderr, "ipcguardd: %s: %s\n",
			poptBadOption(pc, 0), poptStrerror(ret));
		poptFreeContext(pc);
		exit(1);
	}
	poptFreeContext(pc);

	log_stdout = (debug_get_log_type() == DEBUG_STDOUT);
	setup_logging("ipcguardd", log_stdout ? DEBUG_STDOUT : DEBUG_FILE);
	/* smb.conf's "log file" and -l, as smbd honours them. */
	reopen_logs();

	gate = talloc_zero(NULL, struct ipcguardd);
	if (gate == NULL) {
		exit(ENOMEM);
	}
	gate->control_fd = -1;
	gate->gate_dir = ipcguard_gate_dir(gate, &problem);
	if (gate->gate_dir == NULL) {
		dprintf(tty_stderr, "ipcguardd: %s; set it in [global] to the "
			"gate's directory (for example /run/samba/ipcguard)\n",
			problem);
		DBG_ERR("ipcguardd: %s; set it in [global] to the gate's "
			"directory (for example /run/samba/ipcguard)\n",
			problem);
		exit(1);
	}
	gate->gate_dir = talloc_strdup(gate, gate->gate_dir);
	gate->np_dir = talloc_asprintf(gate, "%s/np", gate->gate_dir);
	gate->upstream_np_dir = talloc_asprintf(gate, "%s/np",
						lp_ncalrpc_dir());
	if (gate->gate_dir == NULL || gate->np_dir == NULL ||
	    gate->upstream_np_dir == NULL) {
		exit(ENOMEM);
	}
	/* Before the option below sends our own probes elsewhere. */
	if (gate_already_running(gate, tty_stderr)) {
		exit(1);
	}
	if (tty_stderr != STDERR_FILENO) {
		close(tty_stderr);
	}
	/*
	 * Our own connections to the RPC servers must go straight to
	 * samba-dcerpcd.  A command-line setting survives reloads.
	 */
	if (!lpcfg_set_cmdline(samba_cmdline_get_lp_ctx(),
			       "external_rpc_pipe:socket_dir",
			       lp_ncalrpc_dir())) {
		DBG_ERR("ipcguardd: cannot route its own connections to %s\n",
			lp_ncalrpc_dir());
		exit(1);
	}

	cmdline_daemon_cfg = samba_cmdline_get_daemon_cfg();
	if (log_stdout && cmdline_daemon_cfg->fork) {
		DBG_ERR("ipcguardd: can't log to stdout unless in the "
			"foreground\n");
		exit(1);
	}

	gate->msg = global_messaging_context();
	if (gate->msg == NULL) {
		DBG_ERR("ipcguardd: messaging_init() failed\n");
		exit(1);
	}
	gate->ev = messaging_tevent_context(gate->msg);

	if (cmdline_daemon_cfg->fork) {
		become_daemon(true, cmdline_daemon_cfg->no_process_group,
			      log_stdout);
		status = ipcguard_reinit_after_fork(gate->msg, gate->ev, false);
		if (!NT_STATUS_IS_OK(status)) {
			exit_daemon("reinit_after_fork() failed",
				    map_errno_from_nt_status(status));
		}
	}
	BlockSignals(true, SIGPIPE);
	if (tevent_add_signal(gate->ev, gate, SIGCHLD, SA_RESTART,
			      gate_reap_children, gate) == NULL) {
		exit_daemon("ipcguardd: cannot catch SIGCHLD", ENOMEM);
	}
	if (tevent_add_signal(gate->ev, gate, SIGTERM, 0, gate_terminate,
			      gate) == NULL ||
	    tevent_add_signal(gate->ev, gate, SIGINT, 0, gate_terminate,
			      gate) == NULL) {
		exit_daemon("ipcguardd: cannot catch SIGTERM", ENOMEM);
	}
	DBG_ERR("ipcguardd version %s (build %s) for %s started, gating "
		"%s\n", IPCGUARD_VERSION, IPCGUARD_BUILD_ID,
		IPCGUARD_BUILT_FOR, gate->np_dir);

	/* Before any socket is touched: exits if another gate holds it. */
	pidfile_create(lp_pid_directory(), "ipcguardd");

	gate_load_policy(gate, false);

	if (!gate_setup_sockets(gate)) {
		exit_daemon("ipcguardd: cannot set up its sockets", EIO);
	}

	ret = server_id_db_add(messaging_names_db(gate->msg), "ipcguardd");
	if (ret != 0) {
		DBG_WARNING("ipcguardd: cannot register name ipcguardd for "
			    "smbcontrol: %s\n", strerror(ret));
	}
	messaging_register(gate->msg, gate, MSG_SMB_CONF_UPDATED,
			   gate_reload);

	/*
	 * Ready once the pipes are gated and the TCP door's table is in
	 * place: systemd (Type=notify, as smbd's unit) starts Samba only
	 * then, so there is no moment at boot in which a Samba RPC port
	 * is open without the door.
	 */
	if (!cmdline_daemon_cfg->interactive) {
		daemon_ready("ipcguardd");
	}
	tevent_loop_wait(gate->ev);

	TALLOC_FREE(gate);
	TALLOC_FREE(frame);
	return 0;
}
