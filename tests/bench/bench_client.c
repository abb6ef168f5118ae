/*
 * ipcguard benchmark client: drives \srvsvc through smbd with Samba's own
 * C client libraries (the ones rpcclient uses), so that the time spent in
 * the client is small next to what the servers and the gate cost.  A
 * Python client spends several milliseconds per call parsing NDR and hides
 * the gate.
 *
 * Usage: ipcguard_bench_client CONF HOST PORT USER%PASS MODE N
 *   open N      open \srvsvc, bind, close; N times over one SMB3 session
 *   transfer N  NetShareEnumAll level 1, N times on one bound pipe
 *   stream N    NetSrvGetInfo level 101, N times on one bound pipe
 *   hold N      bind N pipes over several sessions, call each once, print
 *               "held N", wait for EOF on stdin, then close them all
 *   tcp-connect N   a new TCP connection to PORT (135) N times: bind the
 *               endpoint mapper anonymously, close (no SMB session)
 *   tcp-logon N     N times what a client does to reach samr over TCP:
 *               ask the endpoint mapper at 135 for samr's port, connect
 *               there, bind with NTLMSSP as USER (privacy), SamrConnect2,
 *               close (no SMB session)
 *
 * Prints one line: "mode=M n=N seconds=S bytes=B" (bytes: the NDR size of
 * one transfer's response, 0 otherwise).  Exit status 0 only when every
 * call succeeded.
 */

#include "includes.h"
#include "libsmb/libsmb.h"
#include "rpc_client/cli_pipe.h"
#include "librpc/gen_ndr/ndr_srvsvc_c.h"
#include "auth/credentials/credentials.h"
#include "librpc/gen_ndr/ndr_srvsvc.h"
#include "librpc/gen_ndr/ndr_epmapper.h"
#include "librpc/gen_ndr/ndr_samr_c.h"
#include "lib/util/util_net.h"
#include "ipcguard_compat.h"

/* smbd's per-connection limits are far above this; several connections
 * spread a hold over smbd processes as real clients would. */
#define PIPES_PER_SESSION 250

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct cli_state *connect_ipc(const char *host, int port,
				     struct cli_credentials *creds)
{
	struct cli_state *cli = NULL;
	NTSTATUS status;

	status = ipcguard_cli_full_connection_creds(
		NULL, &cli, lp_netbios_name(), host, NULL, port, "IPC$", "IPC",
		creds, 0);
	if (!NT_STATUS_IS_OK(status)) {
		fprintf(stderr, "connect: %s\n", nt_errstr(status));
		return NULL;
	}
	return cli;
}

static struct rpc_pipe_client *open_srvsvc(struct cli_state *cli)
{
	struct rpc_pipe_client *p = NULL;
	NTSTATUS status;

	status = cli_rpc_pipe_open_noauth(cli, &ndr_table_srvsvc, &p);
	if (!NT_STATUS_IS_OK(status)) {
		fprintf(stderr, "open srvsvc: %s\n", nt_errstr(status));
		return NULL;
	}
	return p;
}

static bool get_info(TALLOC_CTX *mem_ctx, struct rpc_pipe_client *p)
{
	union srvsvc_NetSrvInfo info;
	WERROR werr;
	NTSTATUS status;

	status = dcerpc_srvsvc_NetSrvGetInfo(p->binding_handle, mem_ctx,
					     p->desthost, 101, &info, &werr);
	if (!NT_STATUS_IS_OK(status) || !W_ERROR_IS_OK(werr)) {
		fprintf(stderr, "NetSrvGetInfo: %s %s\n", nt_errstr(status),
			win_errstr(werr));
		return false;
	}
	return true;
}

/* The response's NDR size, pushed again: what the pipe carried. */
static size_t response_size(TALLOC_CTX *mem_ctx,
			    struct srvsvc_NetShareEnumAll *r)
{
	struct ndr_push *push = ndr_push_init_ctx(mem_ctx);
	const struct ndr_interface_call *call =
		&ndr_table_srvsvc.calls[NDR_SRVSVC_NETSHAREENUMALL];

	if (push == NULL ||
	    !NDR_ERR_CODE_IS_SUCCESS(call->ndr_push(push, NDR_OUT, r))) {
		return 0;
	}
	return push->offset;
}

static bool share_enum(TALLOC_CTX *mem_ctx, struct rpc_pipe_client *p,
		       size_t *size)
{
	struct srvsvc_NetShareInfoCtr ctr = { .level = 1 };
	struct srvsvc_NetShareCtr1 ctr1 = { 0 };
	struct srvsvc_NetShareEnumAll r = { 0 };
	uint32_t total = 0;
	uint32_t resume = 0;
	NTSTATUS status;

	ctr.ctr.ctr1 = &ctr1;
	r.in.server_unc = p->desthost;
	r.in.info_ctr = &ctr;
	r.in.max_buffer = (uint32_t)-1;
	r.in.resume_handle = &resume;
	r.out.info_ctr = &ctr;
	r.out.totalentries = &total;
	r.out.resume_handle = &resume;
	status = dcerpc_srvsvc_NetShareEnumAll_r(p->binding_handle, mem_ctx,
						 &r);
	if (!NT_STATUS_IS_OK(status) || !W_ERROR_IS_OK(r.out.result)) {
		fprintf(stderr, "NetShareEnumAll: %s %s\n", nt_errstr(status),
			win_errstr(r.out.result));
		return false;
	}
	if (size != NULL) {
		*size = response_size(mem_ctx, &r);
	}
	return true;
}

static int hold(TALLOC_CTX *mem_ctx, const char *host, int port,
		struct cli_credentials *creds, int n)
{
	struct rpc_pipe_client **pipes = talloc_zero_array(
		mem_ctx, struct rpc_pipe_client *, n);
	struct cli_state *cli = NULL;
	char buf[256];
	int i;

	if (pipes == NULL) {
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (i % PIPES_PER_SESSION == 0) {
			cli = connect_ipc(host, port, creds);
			if (cli == NULL) {
				return 1;
			}
			talloc_steal(mem_ctx, cli);
		}
		pipes[i] = open_srvsvc(cli);
		if (pipes[i] == NULL) {
			fprintf(stderr, "held %d before failing\n", i);
			return 1;
		}
	}
	/* Every pipe must still answer once all are open. */
	for (i = 0; i < n; i++) {
		TALLOC_CTX *frame = talloc_stackframe();
		bool ok = get_info(frame, pipes[i]);

		TALLOC_FREE(frame);
		if (!ok) {
			return 1;
		}
	}
	printf("held %d\n", n);
	fflush(stdout);
	while (fgets(buf, sizeof(buf), stdin) != NULL) {
		;
	}
	for (i = 0; i < n; i++) {
		TALLOC_FREE(pipes[i]);
	}
	return 0;
}

/* One new TCP connection per round, as a client makes it: no SMB. */
static bool tcp_round(const char *host, const struct sockaddr_storage *ss,
		      struct cli_credentials *creds, bool logon)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct rpc_pipe_client *p = NULL;
	struct policy_handle handle;
	NTSTATUS status, result;

	if (!logon) {
		status = cli_rpc_pipe_open_noauth_transport(
			NULL, NCACN_IP_TCP, &ndr_table_epmapper, host, ss, &p);
	} else {
		status = ipcguard_cli_rpc_pipe_open_with_creds(
			NULL, &ndr_table_samr, NCACN_IP_TCP,
			DCERPC_AUTH_TYPE_NTLMSSP, DCERPC_AUTH_LEVEL_PRIVACY,
			host, ss, creds, &p);
	}
	if (NT_STATUS_IS_OK(status) && logon) {
		status = dcerpc_samr_Connect2(p->binding_handle, frame, host,
					      SAMR_ACCESS_CONNECT_TO_SERVER,
					      &handle, &result);
		if (NT_STATUS_IS_OK(status)) {
			status = result;
		}
	}
	if (!NT_STATUS_IS_OK(status)) {
		fprintf(stderr, "%s: %s\n", logon ? "tcp-logon" :
			"tcp-connect", nt_errstr(status));
	}
	TALLOC_FREE(p);
	TALLOC_FREE(frame);
	return NT_STATUS_IS_OK(status);
}

static int tcp(const char *mode, const char *host,
	       struct cli_credentials *creds, int n)
{
	struct sockaddr_storage ss;
	bool logon = strcmp(mode, "tcp-logon") == 0;
	double t0, t1;
	int i;

	if (!interpret_string_addr(&ss, host, AI_NUMERICHOST)) {
		fprintf(stderr, "not an address: %s\n", host);
		return 2;
	}
	t0 = now();
	for (i = 0; i < n; i++) {
		if (!tcp_round(host, &ss, creds, logon)) {
			return 1;
		}
	}
	t1 = now();
	printf("mode=%s n=%d seconds=%.6f bytes=0\n", mode, n, t1 - t0);
	return 0;
}

int main(int argc, const char **argv)
{
	TALLOC_CTX *frame = talloc_stackframe();
	struct cli_credentials *creds = NULL;
	struct cli_state *cli = NULL;
	struct rpc_pipe_client *p = NULL;
	const char *mode = NULL;
	size_t size = 0;
	double t0, t1;
	int port, n, i;
	bool ok = true;

	if (argc != 7) {
		fprintf(stderr, "usage: %s CONF HOST PORT USER%%PASS "
			"open|transfer|stream|hold|tcp-connect|tcp-logon N\n",
			argv[0]);
		return 2;
	}
	port = atoi(argv[3]);
	mode = argv[5];
	n = atoi(argv[6]);

	smb_init_locale();
	setup_logging(argv[0], DEBUG_STDERR);
	if (!lp_load_client(argv[1])) {
		fprintf(stderr, "cannot load %s\n", argv[1]);
		return 1;
	}
	debuglevel_set(0);
	creds = cli_credentials_init(frame);
	if (creds == NULL) {
		return 1;
	}
	cli_credentials_set_domain(creds, lp_workgroup(), CRED_SPECIFIED);
	cli_credentials_set_workstation(creds, lp_netbios_name(),
					CRED_SPECIFIED);
	cli_credentials_parse_string(creds, argv[4], CRED_SPECIFIED);

	if (strcmp(mode, "hold") == 0) {
		return hold(frame, argv[2], port, creds, n);
	}
	if (strncmp(mode, "tcp-", 4) == 0) {
		return tcp(mode, argv[2], creds, n);
	}

	cli = connect_ipc(argv[2], port, creds);
	if (cli == NULL) {
		return 1;
	}

	if (strcmp(mode, "open") == 0) {
		t0 = now();
		for (i = 0; ok && i < n; i++) {
			p = open_srvsvc(cli);
			ok = p != NULL;
			TALLOC_FREE(p);
		}
		t1 = now();
	} else if (strcmp(mode, "transfer") == 0 ||
		   strcmp(mode, "stream") == 0) {
		bool xfer = strcmp(mode, "transfer") == 0;

		p = open_srvsvc(cli);
		if (p == NULL) {
			return 1;
		}
		t0 = now();
		for (i = 0; ok && i < n; i++) {
			TALLOC_CTX *call = talloc_stackframe();

			ok = xfer ? share_enum(call, p, NULL) :
				    get_info(call, p);
			TALLOC_FREE(call);
		}
		t1 = now();
		/* Measured apart: sizing is client work. */
		if (ok && xfer) {
			ok = share_enum(frame, p, &size);
		}
		TALLOC_FREE(p);
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	if (!ok) {
		return 1;
	}
	printf("mode=%s n=%d seconds=%.6f bytes=%zu\n", mode, n, t1 - t0,
	       size);
	cli_shutdown(cli);
	TALLOC_FREE(frame);
	return 0;
}
