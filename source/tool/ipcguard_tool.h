/*
 * ipcguard admin tool: its commands, one file each, dispatched by main()
 * in ipcguard.c.  Each returns the tool's exit status: 0 fine, 1 the
 * answer is no or there are problems, 2 a usage error.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_TOOL_H
#define IPCGUARD_TOOL_H

#include "ipcguard_policy.h"

/* tool_check.c */
int cmd_check(TALLOC_CTX *mem_ctx, struct ipcguard_policy *policy);
int cmd_show(struct ipcguard_policy *policy);
int cmd_status(TALLOC_CTX *mem_ctx, const struct ipcguard_policy *policy);

/* tool_rule.c: args are those after "rule". */
int cmd_rule(TALLOC_CTX *mem_ctx, struct ipcguard_policy *policy,
	     const char **args, size_t nargs);

/* tool_explain.c: args[0] is "explain", nargs at least 3. */
int cmd_explain_args(TALLOC_CTX *mem_ctx, struct ipcguard_policy *policy,
		     const char **args, size_t nargs);

#endif /* IPCGUARD_TOOL_H */
