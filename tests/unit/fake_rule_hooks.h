/*
 * Stand-ins for the Samba hooks of ipcguard rules, shared by the unit
 * tests and the rule fuzzer.  A "descriptor" is "D:<token>" and grants
 * exactly that token; "spoolss" is the one interface name known, with
 * RemoteFindFirstPrinterChangeNotifyEx as opnum 65.  Samba's real SDDL
 * and access-check code is exercised by the integration tests.
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

static bool fake_check(const void *sd, const void *token)
{
	return token != NULL && strcmp(sd, token) == 0;
}

static bool fake_iface(const char *name, struct ipcguard_syntax *syntax)
{
	memset(syntax, 0, sizeof(*syntax));
	if (strcmp(name, "spoolss") != 0) {
		return false;
	}
	syntax->major = 1;
	return ipcguard_uuid_parse("12345678-1234-abcd-ef00-0123456789ab",
				   syntax->uuid);
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

static const struct ipcguard_rule_hooks fake_hooks = {
	.compile_sddl = fake_compile,
	.access_check = fake_check,
	.interface_by_name = fake_iface,
	.opnum_by_name = fake_opnum,
};

#endif /* IPCGUARD_FAKE_RULE_HOOKS_H */
