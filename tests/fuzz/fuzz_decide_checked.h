/*
 * The invariants every fuzz target checks on a decision: there is always a
 * rule and a reason, and an invalid policy never lets an anonymous caller
 * in.  abort() is how libFuzzer is told.
 */

#ifndef FUZZ_DECIDE_CHECKED_H
#define FUZZ_DECIDE_CHECKED_H

#include <stdlib.h>

#include "ipcguard_policy.h"

static inline void fuzz_decide_checked(const struct ipcguard_policy *policy,
				       const struct ipcguard_request *r)
{
	struct ipcguard_decision d = { .verdict = IPCGUARD_ALLOW };

	ipcguard_decide(policy, r, &d);
	if (d.rule == NULL || d.reason == NULL) {
		abort();
	}
	/* A database rule that decided on a pipe says how it reached it. */
	if (d.by_rule != NULL && r->object == IPCGUARD_OBJECT_PIPE &&
	    (d.pipe_match == IPCGUARD_PIPE_NO_MATCH ||
	     d.pipe_listed == NULL)) {
		abort();
	}
	if (!ipcguard_policy_is_valid(policy) &&
	    r->session == IPCGUARD_SESSION_ANONYMOUS &&
	    d.verdict == IPCGUARD_ALLOW) {
		abort();
	}
}

#endif
