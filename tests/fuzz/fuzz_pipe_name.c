/*
 * libFuzzer target: ipcguard_pipe_name_acceptable(), the engine's check
 * of the names the gate finds in <ncalrpc dir>/np/.  A directory entry
 * becomes a listening socket at "<gate dir>/np/<name>" only if it passes,
 * so an accepted name must never leave the gate's np directory or be
 * something the pipe list would read differently: no '/' or '\\', not
 * "." or "..", no space, quote, comma or control byte, and the pipe-list
 * parser returns it unchanged.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipcguard_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	/* A directory entry: at most 255 bytes, no NUL. */
	char *name = talloc_strndup(ctx, (const char *)data,
				    size > 255 ? 255 : size);
	const char **check = NULL;
	char *error = NULL;
	size_t i, len;

	if (name == NULL) {
		abort();
	}
	if (!ipcguard_pipe_name_acceptable(name)) {
		talloc_free(ctx);
		return 0;
	}
	len = strlen(name);
	if (len == 0 || name[0] == '.') {
		abort();
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c == '\\' || c == ',' || c == '"' ||
		    c <= ' ' || c == 0x7f) {
			abort();
		}
	}
	if (!ipcguard_parse_name_list(ctx, "pipe", name, true, &check,
				      &error) ||
	    check[0] == NULL || check[1] != NULL ||
	    strcmp(check[0], name) != 0) {
		abort();
	}
	talloc_free(ctx);
	return 0;
}
