/*
 * ipcguard: JSON audit events through Samba's audit logging helpers.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include "includes.h"
#include "lib/audit_logging/audit_logging.h"

#include "ipcguard_audit.h"
#include "ipcguard_samba_hooks.h"

#define IPCGUARD_AUDIT_MAJOR 1
#define IPCGUARD_AUDIT_MINOR 0

void ipcguard_audit(int debug_class, const struct ipcguard_policy *policy,
		    const struct ipcguard_request *request,
		    const struct ipcguard_decision *decision,
		    const char *user, const char *sids, const char *client)
{
	struct json_object wrapper = json_empty_object;
	struct json_object event = json_empty_object;
	int rc = 0;

	if (decision->verdict == IPCGUARD_ALLOW &&
	    decision->audit_rule == NULL &&
	    (policy == NULL || !policy->audit_allowed)) {
		return;
	}
	if (!CHECK_DEBUGLVLC(debug_class, IPCGUARD_AUDIT_LEVEL)) {
		return;
	}
	wrapper = json_new_object();
	event = json_new_object();
	rc |= json_add_version(&event, IPCGUARD_AUDIT_MAJOR,
			       IPCGUARD_AUDIT_MINOR);
	rc |= json_add_string(&event, "decision",
			      ipcguard_verdict_name(decision->verdict));
	rc |= json_add_string(&event, "rule", decision->rule);
	rc |= json_add_string(&event, "reason", decision->reason);
	rc |= json_add_string(&event, "objectType",
			      ipcguard_object_kind_name(request->object));
	rc |= json_add_string(&event, "object", request->name);
	rc |= json_add_string(&event, "sessionKind",
			      ipcguard_session_kind_name(request->session));
	rc |= json_add_string(&event, "user", user != NULL ? user : "");
	rc |= json_add_string(&event, "sids", sids != NULL ? sids : "");
	rc |= json_add_string(&event, "remoteAddress",
			      client != NULL ? client : "");
	if (request->object == IPCGUARD_OBJECT_PIPE) {
		rc |= json_add_string(&event, "stage",
				      ipcguard_stage_name(request->stage));
	}
	if (request->stage != IPCGUARD_STAGE_OPEN) {
		char *iface = ipcguard_syntax_name(NULL, &request->syntax);

		rc |= json_add_string(&event, "interface", iface);
		TALLOC_FREE(iface);
	}
	if (request->stage == IPCGUARD_STAGE_REQUEST) {
		const char *op = ipcguard_opnum_name(&request->syntax,
						     request->opnum);

		rc |= json_add_int(&event, "opnum", request->opnum);
		rc |= json_add_string(&event, "operation", op);
		if (request->registry_path != NULL) {
			rc |= json_add_string(&event, "registryPath",
					      request->registry_path);
		}
	}
	if (decision->audit_rule != NULL) {
		rc |= json_add_string(&event, "auditOnlyRule",
				      decision->audit_rule->name);
		rc |= json_add_string(&event, "auditOnlyWould",
				      decision->audit_rule->allow ?
				      "allow" : "deny");
	}
	rc |= json_add_timestamp(&wrapper);
	rc |= json_add_string(&wrapper, "type", "ipcguard");
	if (rc != 0) {
		DBG_ERR("ipcguard: could not build the JSON audit event\n");
		json_free(&event);
		json_free(&wrapper);
		return;
	}
	if (json_add_object(&wrapper, "ipcguard", &event) != 0) {
		json_free(&event);
		json_free(&wrapper);
		return;
	}
	audit_log_json(&wrapper, debug_class, IPCGUARD_AUDIT_LEVEL);
	json_free(&wrapper);
}
