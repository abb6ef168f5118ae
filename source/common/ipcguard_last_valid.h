/*
 * ipcguard last valid policy store: what stays in force when smb.conf or
 * the rule database stops being valid.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_LAST_VALID_H
#define IPCGUARD_LAST_VALID_H

#include "ipcguard_policy.h"

/*
 * After a valid policy was loaded (ipcguard_policy_load_all()): keep it.
 * Its rule database is copied, so a later load that finds the database
 * lost or broken keeps its rules.  With the pid of the main smbd, from an
 * smbd child, its ipcguard: options are recorded too, for
 * ipcguard_last_valid_load() in the next child; 0 from a process that
 * holds its last valid policy itself (the gate) keeps only the copy.
 * false with *error, on mem_ctx, if it cannot be kept.
 */
bool ipcguard_last_valid_save(TALLOC_CTX *mem_ctx,
			      const struct ipcguard_policy *policy,
			      pid_t smbd_pid, char **error);

/*
 * The last valid policy saved under this main smbd's pid, or NULL when
 * there is none (smbd has been restarted since, or it is no longer
 * valid).
 */
struct ipcguard_policy *ipcguard_last_valid_load(TALLOC_CTX *mem_ctx,
						 pid_t smbd_pid);

/* Where the last valid copy of the rule database is kept. */
char *ipcguard_last_valid_ruledb_path(TALLOC_CTX *mem_ctx);

#endif /* IPCGUARD_LAST_VALID_H */
