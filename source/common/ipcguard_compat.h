/*
 * ipcguard: the one place that knows how Samba releases differ.
 *
 * ipcguard is built inside a Samba tree prepared from the exact Samba the
 * machine runs, so the tree's version.h says which release this is.  Every
 * API that changed between the Samba releases Debian ships (4.17 in
 * bookworm, 4.22 in trixie, 4.24 in trixie-backports, 4.25 in sid) is
 * reached through the names below; the module, the gate and the tool carry
 * no version checks of their own.  Releases no Debian suite ships (4.18 to
 * 4.21, 4.23, Ubuntu 24.04's 4.19) are placed by the release that made each
 * change, and are untested.
 *
 * Include after includes.h.
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_COMPAT_H
#define IPCGUARD_COMPAT_H

#include "version.h"

/*
 * What the module, the gate and the tool say they were built for: the
 * tree's release and the Debian package it was prepared from
 * (tools/build.sh passes that).  Private libraries carry versioned symbols,
 * so a build runs only on the Samba it names.
 */
#ifndef IPCGUARD_SAMBA_PACKAGE
#define IPCGUARD_SAMBA_PACKAGE "unknown"
#endif
#define IPCGUARD_BUILT_FOR                                              \
	"Samba " SAMBA_VERSION_OFFICIAL_STRING                          \
	" (package samba " IPCGUARD_SAMBA_PACKAGE ")"

#define IPCGUARD_SAMBA_AT_LEAST(major, minor)                          \
	(SAMBA_VERSION_MAJOR > (major) ||                               \
	 (SAMBA_VERSION_MAJOR == (major) && SAMBA_VERSION_MINOR >= (minor)))

/* Before 4.17 neither the gate's sockets nor smbd's external pipes exist. */
#if !IPCGUARD_SAMBA_AT_LEAST(4, 17)
#error "ipcguard needs Samba 4.17 or later (external_rpc_pipe:socket_dir)"
#endif

/*
 * The named-pipe handshake smbd sends to the gate: level 7 until 4.19,
 * level 8 from 4.20, with the same fields; npa_tstream accepts only its
 * own release's level, so the gate names whichever the tree has.
 */
#if IPCGUARD_SAMBA_AT_LEAST(4, 20)
#define ipcguard_npa_info named_pipe_auth_req_info8
#else
#define ipcguard_npa_info named_pipe_auth_req_info7
#endif

/* 4.18 dropped reinit_after_fork()'s comment argument. */
#if IPCGUARD_SAMBA_AT_LEAST(4, 18)
#define ipcguard_reinit_after_fork(msg, ev, parent_longlived)          \
	reinit_after_fork((msg), (ev), (parent_longlived))
#else
#define ipcguard_reinit_after_fork(msg, ev, parent_longlived)          \
	reinit_after_fork((msg), (ev), (parent_longlived), NULL)
#endif

/* 4.20 renamed source3's dup_nt_token() and moved it to libcli/security. */
#if IPCGUARD_SAMBA_AT_LEAST(4, 20)
#define ipcguard_token_duplicate(mem_ctx, token)                       \
	security_token_duplicate((mem_ctx), (token))
#else
#define ipcguard_token_duplicate(mem_ctx, token)                       \
	dup_nt_token((mem_ctx), (token))
#endif

/* 4.21 moved file_load(), file_save_mode() and file_lines_load(). */
#if IPCGUARD_SAMBA_AT_LEAST(4, 21)
#include "lib/util/util_file.h"
#endif

/*
 * 4.21 moved smbXsrv_session_info_lookup() out of smbd's proto.h; only the
 * module, which has smbd's headers, sees it.
 */
#if defined(_SMBD_SMBD_H) && IPCGUARD_SAMBA_AT_LEAST(4, 21)
#include "source3/smbd/smbXsrv_session.h"
#endif

/* 4.21 gave cli_full_connection_creds() a talloc parent. */
#if IPCGUARD_SAMBA_AT_LEAST(4, 21)
#define ipcguard_cli_full_connection_creds(mem_ctx, ...)               \
	cli_full_connection_creds((mem_ctx), __VA_ARGS__)
#else
#define ipcguard_cli_full_connection_creds(mem_ctx, ...)               \
	cli_full_connection_creds(__VA_ARGS__)
#endif

/*
 * 4.22 (checked against 4.17 and 4.22; the change came between them, with
 * 4.21's client rework) split cli_rpc_pipe_open_with_creds()'s server into
 * target_service and target_hostname.  4.17 takes the service from the
 * table, as this does.
 */
#if IPCGUARD_SAMBA_AT_LEAST(4, 21)
#define ipcguard_cli_rpc_pipe_open_with_creds(cli, table, transport,        \
					      auth_type, auth_level, server, \
					      ss, creds, presult)            \
	cli_rpc_pipe_open_with_creds((cli), (table), (transport),           \
				     (auth_type), (auth_level),             \
				     (table)->authservices->names[0],       \
				     (server), (ss), (creds), (presult))
#else
#define ipcguard_cli_rpc_pipe_open_with_creds(cli, table, transport,        \
					      auth_type, auth_level, server, \
					      ss, creds, presult)            \
	cli_rpc_pipe_open_with_creds((cli), (table), (transport),           \
				     (auth_type), (auth_level), (server),   \
				     (ss), (creds), (presult))
#endif

/* 4.21 replaced smbd_server_connection's using_smb2 with a function. */
#if IPCGUARD_SAMBA_AT_LEAST(4, 21)
#define ipcguard_sconn_is_smb1(sconn) (!conn_using_smb2(sconn))
#else
#define ipcguard_sconn_is_smb1(sconn) (!(sconn)->using_smb2)
#endif

/*
 * The socket under a named-pipe or socket tstream.  Samba has no accessor,
 * and the gate relays a pipe on the bare sockets once both handshakes are
 * done (gate_relay_io.c), so it reads the leading members of the private
 * struct tstream_npa and struct tstream_bsd, and takes the descriptor by
 * setting tstream_bsd's to -1 (its destructor then leaves it open).  Both
 * are the same in every release from 4.17 to upstream's main of August 2026 (checked in
 * lib/tsocket/tsocket_bsd.c and libcli/named_pipe_auth/npa_tstream.c at
 * each tag); the gate also checks each object's talloc name and that the
 * descriptor is a socket before it uses one.
 */
struct ipcguard_tstream_npa_head {
	struct tstream_context *unix_stream;
	uint16_t file_type;
	struct iovec pending;
};
struct ipcguard_tstream_bsd_head {
	int fd;
};
#define IPCGUARD_TSTREAM_NPA_NAME "struct tstream_npa"
#define IPCGUARD_TSTREAM_BSD_NAME "struct tstream_bsd"

#ifdef _TSOCKET_INTERNAL_H
/*
 * Where the socket under stream is kept, or NULL if it is not a stream of
 * these kinds, or has bytes of its own pending.  *message_mode: whether
 * each message on it is a 2-byte length and its bytes (npa message mode).
 */
static inline int *ipcguard_tstream_socket(struct tstream_context *stream,
					   bool *message_mode)
{
	void *priv = _tstream_context_data(stream);
	struct ipcguard_tstream_npa_head *npa = NULL;
	struct ipcguard_tstream_bsd_head *bsd = NULL;
	struct stat st;

	*message_mode = false;
	if (talloc_check_name(priv, IPCGUARD_TSTREAM_NPA_NAME) != NULL) {
		npa = (struct ipcguard_tstream_npa_head *)priv;
		if (npa->pending.iov_len != 0 || npa->unix_stream == NULL) {
			return NULL;
		}
		switch (npa->file_type) {
		case FILE_TYPE_MESSAGE_MODE_PIPE:
			*message_mode = true;
			break;
		case FILE_TYPE_BYTE_MODE_PIPE:
			break;
		default:
			return NULL;
		}
		priv = _tstream_context_data(npa->unix_stream);
	}
	if (talloc_check_name(priv, IPCGUARD_TSTREAM_BSD_NAME) == NULL) {
		return NULL;
	}
	bsd = (struct ipcguard_tstream_bsd_head *)priv;
	if (bsd->fd < 0 || fstat(bsd->fd, &st) != 0 ||
	    !S_ISSOCK(st.st_mode)) {
		return NULL;
	}
	return &bsd->fd;
}
#endif

#endif /* IPCGUARD_COMPAT_H */
