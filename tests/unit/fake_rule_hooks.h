/*
 * Stand-ins for the Samba hooks of ipcguard rules, shared by the unit
 * tests and the rule fuzzer.  A "descriptor" is "D:<token>" and grants
 * exactly that token; "spoolss" (with RemoteFindFirstPrinterChangeNotifyEx
 * as opnum 65), "lsarpc", "dssetup", "netlogon" and "samr" are the
 * interface names known.  Samba's real SDDL and access-check code is
 * exercised by the integration tests.
 */

#ifndef IPCGUARD_FAKE_RULE_HOOKS_H
#define IPCGUARD_FAKE_RULE_HOOKS_H

#include <string.h>

#include "ipcguard_rule.h"

static void *fake_compile(TALLOC_CTX *mem_ctx, const char *sddl,
			  char **error)
{
	if (strncmp(sddl, "D:", 2) != 0) {
		*error = talloc_strdup(mem_ctx, "not D:");
		return NULL;
	}
	return talloc_strdup(mem_ctx, sddl + 2);
}

static bool fake_check(const void *sd, const void *token, uint32_t access)
{
	return token != NULL && strcmp(sd, token) == 0;
}

static bool fake_iface(const char *name, struct ipcguard_syntax *syntax)
{
	/* The LSA pipes' interfaces with their real UUIDs: the engine's
	 * table of pipes and interfaces knows them by UUID. */
	static const struct {
		const char *name;
		const char *uuid;
		uint16_t major;
	} known[] = {
		{ "spoolss", "12345678-1234-abcd-ef00-0123456789ab", 1 },
		{ "lsarpc", "12345778-1234-abcd-ef00-0123456789ab", 0 },
		{ "dssetup", "3919286a-b10c-11d0-9ba8-00c04fd92ef5", 0 },
		{ "netlogon", "12345678-1234-abcd-ef00-01234567cffb", 1 },
		{ "samr", "12345778-1234-abcd-ef00-0123456789ac", 1 },
	};
	size_t i;

	memset(syntax, 0, sizeof(*syntax));
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(name, known[i].name) == 0) {
			syntax->major = known[i].major;
			return ipcguard_uuid_parse(known[i].uuid,
						   syntax->uuid);
		}
	}
	return false;
}

static bool fake_opnum(const struct ipcguard_syntax *syntax,
		       const char *name, uint16_t *opnum)
{
	if (strcmp(name, "RemoteFindFirstPrinterChangeNotifyEx") == 0) {
		*opnum = 65;
		return true;
	}
	return false;
}

/* The pipes of the interfaces' IDL endpoints, as Samba's tables list
 * them (lsa.idl: \lsarpc, \netlogon, \lsass). */
static const char **fake_pipes(TALLOC_CTX *mem_ctx,
			       const struct ipcguard_syntax *syntax)
{
	static const char *endpoints[][4] = {
		{ "lsarpc", "lsarpc", "netlogon", "lsass" },
		{ "dssetup", "lsarpc", "lsass", NULL },
		{ "netlogon", "netlogon", NULL, NULL },
		{ "samr", "samr", NULL, NULL },
		{ "spoolss", "spoolss", NULL, NULL },
	};
	const char **pipes = talloc_zero_array(mem_ctx, const char *, 4);
	size_t i, j;

	for (i = 0; pipes != NULL &&
		    i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		struct ipcguard_syntax known;

		if (!fake_iface(endpoints[i][0], &known) ||
		    memcmp(known.uuid, syntax->uuid, 16) != 0) {
			continue;
		}
		for (j = 1; j < 4; j++) {
			pipes[j - 1] = endpoints[i][j];
		}
	}
	return pipes;
}

static const struct ipcguard_rule_hooks fake_hooks = {
	.compile_sddl = fake_compile,
	.access_check = fake_check,
	.interface_by_name = fake_iface,
	.opnum_by_name = fake_opnum,
	.interface_pipes = fake_pipes,
};

#endif /* IPCGUARD_FAKE_RULE_HOOKS_H */
