/*
 * ipcguard: nftables, for the TCP door of ipcguardd (its table) and the
 * tool that removes it.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include "includes.h"
#include "lib/util/sys_rw.h"
#include "lib/util/sys_rw_data.h"

#include "ipcguard_nft.h"

static const char *nft_binary(void)
{
	static const char *candidates[] = { "/usr/sbin/nft", "/sbin/nft" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(candidates); i++) {
		if (access(candidates[i], X_OK) == 0) {
			return candidates[i];
		}
	}
	return NULL;
}

char *ipcguard_nft_run(TALLOC_CTX *mem_ctx, const char *script)
{
	const char *nft = nft_binary();
	int in[2], out[2];
	char buf[1024];
	size_t got = 0;
	ssize_t n;
	pid_t pid;
	int status;

	if (nft == NULL) {
		return talloc_strdup(mem_ctx, "nft is not installed "
				     "(Debian package nftables)");
	}
	if (pipe2(in, O_CLOEXEC) != 0) {
		return talloc_asprintf(mem_ctx, "pipe: %s", strerror(errno));
	}
	if (pipe2(out, O_CLOEXEC) != 0) {
		close(in[0]);
		close(in[1]);
		return talloc_asprintf(mem_ctx, "pipe: %s", strerror(errno));
	}
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		execl(nft, "nft", "-f", "-", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (pid != -1) {
		(void)write_data(in[1], script, strlen(script));
	}
	close(in[1]);
	while (pid != -1 &&
	       (n = sys_read(out[0], buf + got, sizeof(buf) - 1 - got)) > 0) {
		got += n;
	}
	close(out[0]);
	buf[got] = '\0';
	if (pid == -1) {
		return talloc_asprintf(mem_ctx, "fork: %s", strerror(errno));
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		return NULL;
	}
	return talloc_asprintf(mem_ctx, "nft failed: %s",
			       got > 0 ? buf : "no message");
}

char *ipcguard_nft_remove_door(TALLOC_CTX *mem_ctx)
{
	return ipcguard_nft_run(mem_ctx, IPCGUARD_NFT_FRESH);
}
