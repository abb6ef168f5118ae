/*
 * ipcguard: JSON audit events, in the style of Samba's own JSON audit
 * logging (auth_json_audit and friends): one line per event, through the
 * debug system under the "ipcguard" class at level IPCGUARD_AUDIT_LEVEL.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_AUDIT_H
#define IPCGUARD_AUDIT_H

#include "ipcguard_policy.h"

#define IPCGUARD_AUDIT_LEVEL 2

/*
 * Log one decision as JSON: every refusal, and allows when the policy's
 * "audit allowed" is set.
 */
void ipcguard_audit(int debug_class, const struct ipcguard_policy *policy,
		    const struct ipcguard_request *request,
		    const struct ipcguard_decision *decision,
		    const char *user, const char *sids, const char *client);

#endif /* IPCGUARD_AUDIT_H */
