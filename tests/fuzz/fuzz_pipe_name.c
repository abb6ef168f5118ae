/*
 * libFuzzer target: the gate's check of the names it finds in
 * <ncalrpc dir>/np/ (gate_add_listener() in source/gate/gate_listener.c).  A
 * directory entry becomes a listening socket at "<gate dir>/np/<name>"
 * only if the policy engine's pipe-list parser returns exactly that one
 * name; this target runs the same parser with the same acceptance test on
 * arbitrary bytes and checks that an accepted name can never leave the
 * gate's np directory or be something the pipe list would read
 * differently: no '/' or '\\', not "." or "..", no space, quote, comma or
 * control byte, and the parser returns it unchanged.
 *
 * Keep the acceptance test below in step with gate_rescan() and
 * gate_add_listener().
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipcguard_policy.h"

static bool gate_accepts(TALLOC_CTX *ctx, const char *name)
{
	const char **check = NULL;
	char *error = NULL;
	bool ok;

	/* As in gate_add_listener(). */
	ok = ipcguard_parse_name_list(ctx, "pipe", name, true, &check,
				      &error) &&
	     check[0] != NULL && check[1] == NULL &&
	     strcmp(check[0], name) == 0;
	if (!ok && check == NULL && error == NULL) {
		/* A refusal always says why. */
		abort();
	}
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	/* A directory entry: at most 255 bytes, no NUL. */
	char *name = talloc_strndup(ctx, (const char *)data,
				    size > 255 ? 255 : size);
	size_t i;

	if (name == NULL) {
		abort();
	}
	/* gate_rescan() skips names starting with a dot. */
	if (name[0] != '.' && gate_accepts(ctx, name)) {
		size_t len = strlen(name);

		if (len == 0 || strcmp(name, ".") == 0 ||
		    strcmp(name, "..") == 0) {
			abort();
		}
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)name[i];

			if (c == '/' || c == '\\' || c == ',' || c == '"' ||
			    c <= ' ' || c == 0x7f) {
				abort();
			}
		}
	}
	talloc_free(ctx);
	return 0;
}
