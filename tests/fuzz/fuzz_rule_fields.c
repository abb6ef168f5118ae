/*
 * libFuzzer target: the rule parser, as fed by the ldb rule database and
 * "ipcguard rule add".  The input is split at NUL bytes: the first piece
 * is the rule name, then "field=value" pieces.  A rule either parses or
 * comes back NULL with an error naming it; a parsed rule is then judged
 * against requests built from the rest of the input, and must never let
 * an anonymous caller through an invalid policy.  The hooks are the unit
 * tests' fakes, so the paths behind SDDL and names are reached too.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipcguard_policy.h"
#include "fuzz_decide_checked.h"
#include "ipcguard_rule.h"
#include "fake_rule_hooks.h"

#define MAX_PIECES 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	char *copy = talloc_size(ctx, size + 1);
	struct ipcguard_rule_field fields[MAX_PIECES + 1];
	const char *pieces[MAX_PIECES];
	struct ipcguard_policy *policy = NULL;
	struct ipcguard_rule *rule = NULL;
	struct ipcguard_address addr;
	char *error = NULL;
	size_t n = 0, nf = 0, i;
	char *p = NULL;

	if (copy == NULL) {
		abort();
	}
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (p = copy; n < MAX_PIECES && p < copy + size;
	     p += strlen(p) + 1) {
		pieces[n++] = p;
	}
	memset(fields, 0, sizeof(fields));
	for (i = 1; i < n; i++) {
		char *eq = strchr(pieces[i], '=');

		if (eq == NULL) {
			continue;
		}
		fields[nf].name = talloc_strndup(ctx, pieces[i],
						 eq - pieces[i]);
		fields[nf].values = talloc_zero_array(ctx, const char *, 2);
		fields[nf].values[0] = eq + 1;
		nf++;
	}
	rule = ipcguard_rule_parse(ctx, n > 0 ? pieces[0] : NULL, fields,
				   &fake_hooks, &error);
	if (rule == NULL && error == NULL) {
		abort();
	}
	policy = ipcguard_policy_load(ctx, NULL, NULL);
	if (policy == NULL) {
		abort();
	}
	policy->hooks = &fake_hooks;
	if (rule != NULL) {
		(void)ipcguard_rule_text(ctx, rule);
		(void)ipcguard_rule_missed_pipes(ctx, rule);
		if (!ipcguard_policy_add_rule(policy, rule)) {
			abort();
		}
	} else {
		ipcguard_policy_add_error(policy, error);
	}
	for (i = 0; i < 3 * 3 * 3; i++) {
		struct ipcguard_request r = {
			.session = (enum ipcguard_session_kind)(i % 3),
			.object = (enum ipcguard_object_kind)((i / 3) % 3),
			.stage = (enum ipcguard_stage)(i / 9),
			.name = n > 1 ? pieces[n - 1] : "",
			.token = n > 2 ? pieces[n - 2] : NULL,
			.opnum = (uint16_t)size,
			.pipe_gate_ready = (size & 1) != 0,
		};

		if (n > 3 && ipcguard_address_parse(pieces[n - 3], &addr,
						    NULL)) {
			r.address = &addr;
		}
		/* An interface served on several pipes: aliases and
		 * carriers. */
		if ((size & 2) != 0) {
			(void)fake_iface("lsarpc", &r.syntax);
		}
		fuzz_decide_checked(policy, &r);
	}
	talloc_free(ctx);
	return 0;
}
