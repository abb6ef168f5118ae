/*
 * ipcguard policy loader: the whole policy, as the module, the gate and
 * the tool all load it.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_LOAD_H
#define IPCGUARD_LOAD_H

#include "ipcguard_policy.h"

/*
 * The whole policy: smb.conf's ipcguard: options and the rule database
 * they name, whose path it records in policy->rule_database.  The module,
 * the gate and the tool all load it here, so they agree on what a lost
 * database means:
 *
 *  - "ipcguard:rule database" set and the file missing: an error.
 *  - The default database missing while its last valid copy (see
 *    ipcguard_last_valid_save()) holds rules: the database held rules and
 *    has vanished.  The copy's rules stay in force and a warning says so.
 *  - A database that cannot be opened or holds an invalid record: errors,
 *    and the rules in force are those of the last valid copy if there is
 *    one, so authenticated callers keep the rules they had.
 */
struct ipcguard_policy *ipcguard_policy_load_all(TALLOC_CTX *mem_ctx);

#endif /* IPCGUARD_LOAD_H */
