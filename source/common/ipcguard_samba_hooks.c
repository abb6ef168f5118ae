/*
 * The Samba pieces the policy engine's rules need: SDDL parsing and the
 * access check for rules' security descriptors, and Samba's NDR interface
 * tables for interface and operation names.  The engine itself links no
 * Samba library; these hooks are how rules reach it.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include "includes.h"
#include "libcli/security/security.h"
#include "libcli/security/sddl.h"
#include "librpc/ndr/ndr_table.h"

#include "ipcguard_samba_hooks.h"

static void *compile_sddl(TALLOC_CTX *mem_ctx, const char *sddl,
			  char **error)
{
	static const struct generic_mapping file_mapping = {
		.generic_read = SEC_RIGHTS_FILE_READ,
		.generic_write = SEC_RIGHTS_FILE_WRITE,
		.generic_execute = SEC_RIGHTS_FILE_EXECUTE,
		.generic_all = SEC_RIGHTS_FILE_ALL,
	};
	struct security_descriptor *sd = NULL;

	/* No domain SID: aliases such as DA would mean different groups on
	 * different servers; write those SIDs out in full. */
	sd = sddl_decode(mem_ctx, sddl, NULL);
	if (sd == NULL) {
		*error = talloc_asprintf(mem_ctx,
					 "\"%s\" is not a security descriptor "
					 "Samba's SDDL parser accepts (write "
					 "domain groups as full SIDs)",
					 sddl);
		return NULL;
	}
	if (sd->dacl == NULL) {
		*error = talloc_asprintf(mem_ctx,
					 "\"%s\" has no DACL (D:...), which "
					 "would grant every caller",
					 sddl);
		TALLOC_FREE(sd);
		return NULL;
	}
	security_acl_map_generic(sd->dacl, &file_mapping);
	return sd;
}

static bool access_check(const void *sd, const void *token,
			 uint32_t access)
{
	uint32_t granted = 0;
	NTSTATUS status;

	if (sd == NULL || token == NULL) {
		return false;
	}
	status = se_access_check(sd, token,
				 access != 0 ? access : IPCGUARD_RULE_ACCESS,
				 &granted);
	return NT_STATUS_IS_OK(status);
}

void ipcguard_syntax_from_ndr(const struct ndr_syntax_id *id,
			      struct ipcguard_syntax *syntax)
{
	struct GUID_txt_buf buf;

	ZERO_STRUCTP(syntax);
	/* The engine keeps UUIDs in text order; the text is the bridge. */
	(void)ipcguard_uuid_parse(GUID_buf_string(&id->uuid, &buf),
				  syntax->uuid);
	syntax->major = id->if_version & 0xffff;
	syntax->minor = id->if_version >> 16;
}

static bool syntax_to_ndr(const struct ipcguard_syntax *syntax,
			  struct ndr_syntax_id *id)
{
	char text[37];
	const uint8_t *u = syntax->uuid;

	snprintf(text, sizeof(text),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
	id->if_version = syntax->major | ((uint32_t)syntax->minor << 16);
	return NT_STATUS_IS_OK(GUID_from_string(text, &id->uuid));
}

static bool interface_by_name(const char *name,
			      struct ipcguard_syntax *syntax)
{
	const struct ndr_interface_table *table = ndr_table_by_name(name);

	if (table == NULL) {
		return false;
	}
	ipcguard_syntax_from_ndr(&table->syntax_id, syntax);
	return true;
}

static const struct ndr_interface_table *table_of(
	const struct ipcguard_syntax *syntax)
{
	struct ndr_syntax_id id;

	if (!syntax_to_ndr(syntax, &id)) {
		return NULL;
	}
	return ndr_table_by_syntax(&id);
}

/* Operation names as pidl writes them ("spoolss_OpenPrinterEx",
 * "lsa_LookupNames"), or without the prefix before the first '_'. */
static bool opnum_by_name(const struct ipcguard_syntax *syntax,
			  const char *name, uint16_t *opnum)
{
	const struct ndr_interface_table *table = table_of(syntax);
	uint32_t i;

	if (table == NULL) {
		return false;
	}
	for (i = 0; i < table->num_calls && i <= UINT16_MAX; i++) {
		const char *call = table->calls[i].name;
		const char *bare = strchr(call, '_');

		if (strequal(call, name) ||
		    (bare != NULL && strequal(bare + 1, name))) {
			*opnum = i;
			return true;
		}
	}
	return false;
}

/*
 * The named pipes an interface's IDL lists as its endpoints
 * ("ncacn_np:[\\pipe\\samr]"), without the "\pipe\" prefix.
 */
static const char **interface_pipes(TALLOC_CTX *mem_ctx,
				    const struct ipcguard_syntax *syntax)
{
	const struct ndr_interface_table *table = table_of(syntax);
	const char **pipes = NULL;
	uint32_t i;

	pipes = talloc_zero_array(mem_ctx, const char *, 1);
	if (pipes == NULL || table == NULL || table->endpoints == NULL) {
		return pipes;
	}
	for (i = 0; i < table->endpoints->count; i++) {
		const char *ep = table->endpoints->names[i];
		const char *prefix = "ncacn_np:[\\pipe\\";
		size_t len;
		char *name = NULL;

		if (strncasecmp_m(ep, prefix, strlen(prefix)) != 0) {
			continue;
		}
		ep += strlen(prefix);
		len = strcspn(ep, "]");
		name = talloc_strndup(pipes, ep, len);
		if (name == NULL) {
			TALLOC_FREE(pipes);
			return NULL;
		}
		pipes = talloc_realloc(mem_ctx, pipes, const char *,
				       talloc_array_length(pipes) + 1);
		if (pipes == NULL) {
			return NULL;
		}
		pipes[talloc_array_length(pipes) - 2] = name;
		pipes[talloc_array_length(pipes) - 1] = NULL;
	}
	return pipes;
}

const struct ipcguard_rule_hooks ipcguard_samba_rule_hooks = {
	.compile_sddl = compile_sddl,
	.access_check = access_check,
	.interface_by_name = interface_by_name,
	.opnum_by_name = opnum_by_name,
	.interface_pipes = interface_pipes,
};

char *ipcguard_syntax_name(TALLOC_CTX *mem_ctx,
			   const struct ipcguard_syntax *syntax)
{
	const struct ndr_interface_table *table = table_of(syntax);
	struct ndr_syntax_id id;
	struct GUID_txt_buf buf;

	if (table != NULL) {
		return talloc_strdup(mem_ctx, table->name);
	}
	if (!syntax_to_ndr(syntax, &id)) {
		return talloc_strdup(mem_ctx, "unknown");
	}
	return talloc_asprintf(mem_ctx, "%s/%u.%u",
			       GUID_buf_string(&id.uuid, &buf),
			       (unsigned)syntax->major,
			       (unsigned)syntax->minor);
}

const char *ipcguard_opnum_name(const struct ipcguard_syntax *syntax,
				uint16_t opnum)
{
	const struct ndr_interface_table *table = table_of(syntax);

	if (table == NULL || opnum >= table->num_calls) {
		return NULL;
	}
	return table->calls[opnum].name;
}
