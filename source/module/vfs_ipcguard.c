/*
 * ipcguard VFS module: anonymous-session controls at tree connect.
 *
 * Samba has one knob for anonymous callers ("restrict anonymous") and
 * always puts Everyone into their tokens.  Windows servers have let admins
 * say which shares and pipes a null session may use, and whether Everyone
 * includes Anonymous, for twenty years.  This module brings the share side
 * of that to smbd: loaded from [global], it sits on every share including
 * the automatic IPC$, and decides at SMB_VFS_CONNECT.  Pipe opens never
 * reach a VFS operation in Samba 4.17, so the pipe side lives in the
 * ipcguardd gate; this module refuses anonymous IPC$ when that gate is not
 * in the path, because nothing would enforce the pipe list then.
 *
 * Things to be careful about:
 *
 *  - Classify the *session's* token (smbXsrv_session_info_lookup), not
 *    conn->session_info: with "force user" the latter is the forced
 *    account's token and an anonymous caller would pass as authenticated.
 *
 *  - Everyone must not be taken out of the token here: smbd copies the
 *    session's token after this hook and re-runs the share access check
 *    with it (check_user_ok), and a share without a stored security
 *    descriptor grants Everyone only, so IPC$ itself would fail.  Instead
 *    fget_nt_acl hides Everyone's entries from the descriptors anonymous
 *    callers are checked against, which gives the same access-check
 *    result without touching smbd's token caches.
 *
 *  - Fail closed: a policy that does not parse refuses every anonymous
 *    connect and says why, once per connect, in the log.
 *
 *  - Not every connect is a client's tree connect.  Samba makes
 *    connections of its own with create_conn_struct_*() (msdfs.c) to look
 *    at a share for somebody: DFS referrals in smbd, the netdfs, srvsvc
 *    (NetrpGet/SetFileSecurity), eventlog, fss, mdssvc and spoolss RPC
 *    servers in samba-dcerpcd's workers, the Python bindings (samba-tool
 *    ntacl, domain backups) and net vfs.  Their smbd_server_connection is
 *    zeroed: no client, no session table, no address, no protocol.  Such
 *    a connection is judged as a tree connect to that share by the
 *    identity it carries (conn->session_info, the RPC or SMB caller's), so
 *    that no RPC call reaches a share its caller could not connect to.
 *    Only NT AUTHORITY\SYSTEM, as which net vfs, samba-tool and Samba's
 *    own components act, passes unjudged.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include "includes.h"
#include "smbd/smbd.h"
#include "smbd/globals.h"
#include "auth.h"
#include "system/filesys.h"
#include "lib/util/tevent_ntstatus.h"
#include "libcli/security/security.h"
#include "lib/tsocket/tsocket.h"
#include "lib/util/pidfile.h"
#include "ipcguard_compat.h"

#include "ipcguard_policy.h"
#include "ipcguard_session.h"
#include "ipcguard_gate_probe.h"
#include "ipcguard_audit.h"
#include "ipcguard_load.h"
#include "ipcguard_last_valid.h"

static int vfs_ipcguard_debug_level = DBGC_VFS;

#undef DBGC_CLASS
#define DBGC_CLASS vfs_ipcguard_debug_level

struct ipcguard_config {
	/* NULL for SYSTEM's own connections: nothing applies to them. */
	struct ipcguard_policy *policy;
};

/*
 * A connection Samba made itself (create_conn_struct_*()), not a client's
 * tree connect: its sconn is a zeroed one of its own, without a client.
 */
static bool conn_is_samba_own(const struct connection_struct *conn)
{
	return conn->sconn == NULL || conn->sconn->client == NULL;
}

/*
 * Said once per smbd, not once per client: each client's smbd child loads
 * the module afresh, so a stamp in the lock directory holding the main
 * smbd's pid records that this smbd has said it.
 */
static void log_ungated_transports(const struct ipcguard_policy *policy)
{
	static bool done = false;
	const char *problem = NULL;
	char *path = NULL;
	char *stamp = NULL;
	char *old = NULL;
	size_t size = 0;

	if (done) {
		return;
	}
	done = true;
	path = lock_path(talloc_tos(), "ipcguard-transports-logged");
	stamp = talloc_asprintf(talloc_tos(), "smbd_pid=%d\n",
				(int)getppid());
	problem = ipcguard_ungated_transports(policy->tcp_door_port);
	if (problem == NULL || path == NULL || stamp == NULL) {
		if (path != NULL) {
			(void)unlink(path);
		}
		if (problem != NULL) {
			DBG_ERR("ipcguard: %s\n", problem);
		}
		return;
	}
	old = file_load(path, &size, 0, talloc_tos());
	if (old != NULL && strcmp(old, stamp) == 0) {
		return;
	}
	DBG_ERR("ipcguard: %s\n", problem);
	(void)file_save_mode(path, stamp, strlen(stamp), 0600);
}

static const char *client_address(struct connection_struct *conn)
{
	char *addr = NULL;

	if (conn->sconn == NULL || conn->sconn->remote_address == NULL) {
		return "unknown";
	}
	addr = tsocket_address_inet_addr_string(conn->sconn->remote_address,
						talloc_tos());
	return addr != NULL ? addr : "unknown";
}

/*
 * The token rules' security descriptors are checked against: the
 * session's, without Everyone where the policy takes it away.
 */
static const struct security_token *session_token(
	TALLOC_CTX *mem_ctx, const struct ipcguard_policy *policy,
	enum ipcguard_session_kind kind,
	const struct auth_session_info *session_info)
{
	struct security_token *token = NULL;

	if (session_info == NULL || session_info->security_token == NULL) {
		return NULL;
	}
	if (!ipcguard_strip_everyone(policy, kind)) {
		return session_info->security_token;
	}
	token = ipcguard_token_duplicate(mem_ctx,
					 session_info->security_token);
	if (token != NULL) {
		(void)ipcguard_token_remove_everyone(token);
	}
	return token;
}

/*
 * The policy for this connect, with its problems logged.  A client's
 * connect, made in an smbd child, hands a valid policy on to the next
 * child through the last valid store, under the main smbd's pid; Samba's
 * own connections (also made in samba-dcerpcd's workers and in tools) only
 * read it, under the pid smbd's pid file names.
 */
static struct ipcguard_policy *load_policy(TALLOC_CTX *mem_ctx, bool own)
{
	struct ipcguard_policy *policy = NULL;
	struct ipcguard_policy *last = NULL;
	pid_t smbd_pid = own ? pidfile_pid(lp_pid_directory(), "smbd") :
			       getppid();
	size_t i;

	policy = ipcguard_policy_load_all(mem_ctx);
	if (policy == NULL) {
		return NULL;
	}
	for (i = 0; policy->errors[i] != NULL; i++) {
		DBG_ERR("ipcguard: invalid policy: %s\n", policy->errors[i]);
	}
	for (i = 0; policy->warnings != NULL &&
		    policy->warnings[i] != NULL; i++) {
		DBG_ERR("ipcguard: %s\n", policy->warnings[i]);
	}
	if (!own) {
		log_ungated_transports(policy);
	}
	if (ipcguard_policy_is_valid(policy)) {
		char *error = NULL;

		if (!own && !ipcguard_last_valid_save(talloc_tos(), policy,
						      smbd_pid, &error)) {
			DBG_WARNING("ipcguard: %s\n", error);
		}
		return policy;
	}
	last = smbd_pid > 0 ? ipcguard_last_valid_load(mem_ctx, smbd_pid) :
			      NULL;
	if (last != NULL) {
		DBG_ERR("ipcguard: keeping the last valid policy in force "
			"until smb.conf is fixed\n");
		TALLOC_FREE(policy);
		return last;
	}
	DBG_ERR("ipcguard: no valid policy since smbd started: refusing "
		"anonymous and guest sessions\n");
	return policy;
}

/*
 * Whose connect this is.  A client's tree connect: the session's token
 * (smbXsrv_session_info_lookup), not conn->session_info, which "force
 * user" replaces.  Samba's own connection: conn->session_info, the only
 * identity it has; its sconn has no client to look a session up in.
 */
static struct auth_session_info *connect_session(
	struct connection_struct *conn, bool own)
{
	struct auth_session_info *session_info = NULL;
	NTSTATUS status;

	if (own) {
		return conn->session_info;
	}
	status = smbXsrv_session_info_lookup(conn->sconn->client, conn->vuid,
					     &session_info);
	if (!NT_STATUS_IS_OK(status)) {
		/* No session we can classify: treat as anonymous. */
		DBG_WARNING("ipcguard: no session for vuid %llu: %s\n",
			    (unsigned long long)conn->vuid, nt_errstr(status));
		return NULL;
	}
	return session_info;
}

static int ipcguard_connect(vfs_handle_struct *handle, const char *service,
			    const char *user)
{
	struct connection_struct *conn = handle->conn;
	struct auth_session_info *session_info = NULL;
	struct ipcguard_config *config = NULL;
	struct ipcguard_request request = {
		.name = service,
	};
	struct ipcguard_decision decision = { .verdict = IPCGUARD_DENY };
	const bool own = conn_is_samba_own(conn);
	const char *gate_problem = NULL;
	const char *who = NULL;
	const char *sids = NULL;
	const char *client = NULL;
	const char *via = "";
	struct ipcguard_address address;
	int ret;

	ret = SMB_VFS_NEXT_CONNECT(handle, service, user);
	if (ret < 0) {
		return ret;
	}

	config = talloc_zero(handle->conn, struct ipcguard_config);
	if (config == NULL) {
		goto refuse_nomem;
	}
	session_info = connect_session(conn, own);
	if (own && (session_info == NULL ||
		    (session_info->security_token != NULL &&
		     security_token_is_system(session_info->security_token)))) {
		/* net vfs, samba-tool, Samba's own components: root's. */
		SMB_VFS_HANDLE_SET_DATA(handle, config, NULL,
					struct ipcguard_config, return -1);
		DBG_DEBUG("ipcguard: %s's own connection to '%s' as SYSTEM\n",
			  getprogname(), service);
		return 0;
	}
	if (own) {
		via = talloc_asprintf(talloc_tos(), ", for the caller by %s",
				      getprogname());
		if (via == NULL) {
			goto refuse_nomem;
		}
	}
	config->policy = load_policy(config, own);
	if (config->policy == NULL) {
		goto refuse_nomem;
	}
	SMB_VFS_HANDLE_SET_DATA(handle, config, NULL, struct ipcguard_config,
				return -1);
	if (own && SNUM(conn) == -1) {
		/* No share: the eventlog server reading a log's ACL for its
		 * caller, through "/".  The pipe was judged by the gate, and
		 * fget_nt_acl still hides Everyone from anonymous. */
		DBG_DEBUG("ipcguard: %s's own connection to no share\n",
			  getprogname());
		return 0;
	}

	request.session = ipcguard_session_kind_of(session_info);
	/* Samba's own connections never set conn->ipc: one to IPC$ looks
	 * at its path, and is judged as a share named IPC$. */
	if (IS_IPC(conn)) {
		request.object = IPCGUARD_OBJECT_IPC;
		request.smb1 = !own && ipcguard_sconn_is_smb1(conn->sconn);
		if (ipcguard_session_is_restricted(config->policy,
						   request.session)) {
			request.pipe_gate_ready =
				ipcguard_gate_probe(
					talloc_tos(),
					config->policy->gate_probe_timeout,
					&gate_problem);
		}
		if (!request.pipe_gate_ready && gate_problem != NULL) {
			gate_problem = talloc_asprintf(
				talloc_tos(), "%s; %s", gate_problem,
				ipcguard_gate_down_breaks());
		}
	} else {
		request.object = IPCGUARD_OBJECT_SHARE;
	}

	if (config->policy->num_rules > 0 &&
	    request.object == IPCGUARD_OBJECT_SHARE) {
		/* Samba's own connections know no address: rules that name
		 * addresses judge them as from an unknown one. */
		client = client_address(conn);
		if (ipcguard_address_parse(client, &address, NULL)) {
			request.address = &address;
		}
		request.token = session_token(talloc_tos(), config->policy,
					      request.session, session_info);
	}

	ipcguard_decide(config->policy, &request, &decision);
	if (decision.audit_rule != NULL) {
		DBG_WARNING("ipcguard: rule %s (audit only) would %s share "
			    "'%s' to %s session (client %s%s); %s by rule %s\n",
			    decision.audit_rule->name,
			    decision.audit_rule->allow ? "allow" : "refuse",
			    service,
			    ipcguard_session_kind_name(request.session),
			    client != NULL ? client : "unknown", via,
			    decision.verdict == IPCGUARD_ALLOW ? "allowed" :
			    "refused", decision.rule);
	}
	if (decision.verdict == IPCGUARD_ALLOW &&
	    decision.audit_rule == NULL &&
	    !config->policy->audit_allowed &&
	    !CHECK_DEBUGLVLC(vfs_ipcguard_debug_level, DBGLVL_INFO)) {
		return 0;
	}
	who = ipcguard_session_user(talloc_tos(), session_info);
	sids = ipcguard_token_sids(talloc_tos(), session_info != NULL ?
				   session_info->security_token : NULL);
	if (client == NULL) {
		client = client_address(conn);
	}
	ipcguard_audit(vfs_ipcguard_debug_level, config->policy, &request,
		       &decision, who, sids, client);
	if (decision.verdict == IPCGUARD_ALLOW) {
		DBG_INFO("ipcguard: allowed %s '%s' to %s session "
			 "(user '%s', client %s%s): rule %s\n",
			 ipcguard_object_kind_name(request.object), service,
			 ipcguard_session_kind_name(request.session), who,
			 client, via, decision.rule);
		return 0;
	}

	DBG_WARNING("ipcguard: refused %s '%s' to %s session (user '%s', "
		    "client %s, sids %s%s): rule %s: %s%s%s\n",
		    ipcguard_object_kind_name(request.object), service,
		    ipcguard_session_kind_name(request.session), who, client,
		    sids, via, decision.rule, decision.reason,
		    gate_problem != NULL ? ": " : "",
		    gate_problem != NULL ? gate_problem : "");
	SMB_VFS_NEXT_DISCONNECT(handle);
	errno = EACCES;
	return -1;

refuse_nomem:
	DBG_ERR("ipcguard: out of memory, refusing connect to '%s'\n",
		service);
	SMB_VFS_NEXT_DISCONNECT(handle);
	errno = ENOMEM;
	return -1;
}

static NTSTATUS ipcguard_fget_nt_acl(vfs_handle_struct *handle,
				     files_struct *fsp,
				     uint32_t security_info,
				     TALLOC_CTX *mem_ctx,
				     struct security_descriptor **ppdesc)
{
	struct ipcguard_config *config = NULL;
	enum ipcguard_session_kind kind;
	NTSTATUS status;
	unsigned changed;

	status = SMB_VFS_NEXT_FGET_NT_ACL(handle, fsp, security_info, mem_ctx,
					  ppdesc);
	if (!NT_STATUS_IS_OK(status) || *ppdesc == NULL) {
		return status;
	}
	SMB_VFS_HANDLE_GET_DATA(handle, config, struct ipcguard_config,
				return NT_STATUS_INTERNAL_ERROR);
	/* SYSTEM's own connections, and no caller at all: root's access. */
	if (config->policy == NULL || handle->conn->session_info == NULL) {
		return status;
	}

	kind = ipcguard_session_kind_of(handle->conn->session_info);
	if (!ipcguard_strip_everyone(config->policy, kind)) {
		return status;
	}
	changed = ipcguard_sd_hide_everyone(*ppdesc);
	if (changed > 0) {
		DBG_DEBUG("ipcguard: %s: hid %u Everyone entries from %s "
			  "session\n",
			  fsp_str_dbg(fsp), changed,
			  ipcguard_session_kind_name(kind));
	}
	return status;
}

static struct vfs_fn_pointers vfs_ipcguard_fns = {
	.connect_fn = ipcguard_connect,
	.fget_nt_acl_fn = ipcguard_fget_nt_acl,
};

static_decl_vfs;
NTSTATUS vfs_ipcguard_init(TALLOC_CTX *ctx)
{
	NTSTATUS status;

	/*
	 * A module built for another Samba whose private libraries still
	 * resolve would meet structures of another layout: refuse, and let
	 * smbd refuse the shares that load it.
	 */
	if (strcmp(samba_version_string(), SAMBA_VERSION_STRING) != 0) {
		DBG_ERR("ipcguard: this module was built for %s, but smbd is "
			"Samba %s: rebuild ipcguard against the installed "
			"Samba (make deb); shares that load it are refused\n",
			IPCGUARD_BUILT_FOR, samba_version_string());
		return NT_STATUS_REVISION_MISMATCH;
	}
	status = smb_register_vfs(SMB_VFS_INTERFACE_VERSION, "ipcguard",
				  &vfs_ipcguard_fns);
	if (!NT_STATUS_IS_OK(status)) {
		return status;
	}
	vfs_ipcguard_debug_level = debug_add_class("ipcguard");
	if (vfs_ipcguard_debug_level == -1) {
		vfs_ipcguard_debug_level = DBGC_VFS;
		DBG_ERR("ipcguard: couldn't register the ipcguard debug "
			"class\n");
	}
	DBG_NOTICE("ipcguard: vfs module %s (build %s) for %s loaded\n",
		   IPCGUARD_VERSION, IPCGUARD_BUILD_ID, IPCGUARD_BUILT_FOR);
	return NT_STATUS_OK;
}
