/*
 * libFuzzer target: every parser of the policy engine.  The input is split
 * at NUL bytes into option values, in the order of ipcguard_options[], and
 * the rest is used as share and pipe names to decide on; a policy must
 * always come back, invalid or not, and decisions must never allow an
 * anonymous caller under an invalid policy.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipcguard_policy.h"
#include "fuzz_decide_checked.h"

#define FUZZ_VALUES 24

struct fuzz_input {
	const char *values[FUZZ_VALUES];
};

static const char *fuzz_get(void *private_data, const char *option)
{
	struct fuzz_input *in = private_data;
	size_t i;

	for (i = 0; ipcguard_options[i].name != NULL && i < FUZZ_VALUES;
	     i++) {
		if (strcmp(ipcguard_options[i].name, option) == 0) {
			return in->values[i];
		}
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct fuzz_input in = { { NULL } };
	char *copy = talloc_size(ctx, size + 1);
	struct ipcguard_policy *policy = NULL;
	const char *name = "";
	size_t i, n = 0;
	char *p = NULL;

	if (copy == NULL) {
		abort();
	}
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	while (n < FUZZ_VALUES && p < copy + size) {
		in.values[n++] = p;
		p += strlen(p) + 1;
	}
	if (n > 5) {
		name = in.values[5];
	}
	policy = ipcguard_policy_load(ctx, fuzz_get, &in);
	if (policy == NULL) {
		abort();
	}
	for (i = 0; i < 3 * 3; i++) {
		struct ipcguard_request r = {
			.session = (enum ipcguard_session_kind)(i % 3),
			.object = (enum ipcguard_object_kind)(i / 3),
			.name = name,
			.pipe_gate_ready = (size & 1) != 0,
		};

		fuzz_decide_checked(policy, &r);
	}
	for (i = 0; i < 3; i++) {
		struct ipcguard_decision d = { .verdict = IPCGUARD_ALLOW };

		ipcguard_decide_pipe_limit(policy,
					   (enum ipcguard_session_kind)i,
					   (unsigned)size, (unsigned)(size / 3),
					   &d);
		if (d.rule == NULL || d.reason == NULL) {
			abort();
		}
	}
	talloc_free(ctx);
	return 0;
}
