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

#ifndef IPCGUARD_NFT_H
#define IPCGUARD_NFT_H

/* The gate's table, in nft's words ("family name"). */
#define IPCGUARD_NFT_TABLE "inet ipcguard"

/* Makes sure the table exists, then deletes it: the start of a
 * transaction that replaces it whole, or removes it if nothing follows. */
#define IPCGUARD_NFT_FRESH \
	"table " IPCGUARD_NFT_TABLE "\ndelete table " IPCGUARD_NFT_TABLE "\n"

/*
 * Runs nft with script on its standard input (one transaction); NULL on
 * success, else what went wrong, talloc'ed on mem_ctx.
 */
char *ipcguard_nft_run(TALLOC_CTX *mem_ctx, const char *script);

/* Removes the gate's table, if any: ipcguard tcp-door remove. */
char *ipcguard_nft_remove_door(TALLOC_CTX *mem_ctx);

#endif /* IPCGUARD_NFT_H */
