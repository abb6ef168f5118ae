/*
 * Time ipcguard_decide() with 100 database rules, the mix make bench loads
 * into the gate (winreg opnum rules with an SDDL, srvsvc opnum, address,
 * SDDL and interface rules), for an authenticated srvsvc caller that no
 * rule refuses: every rule is looked at, the worst case for an allow.
 *
 * Prints one line per stage: "decide stage=S rules=R ns=X" (the median of
 * several timed batches).  Samba's SDDL and access check are stood in for
 * by tests/unit/fake_rule_hooks.h: the gate's real access check costs what
 * Samba's se_access_check() costs and is timed by make bench's server-side
 * figures, not here.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipcguard_policy.h"
#include "ipcguard_rule.h"
#include "fake_rule_hooks.h"

#define BATCHES 15

static const char *srvsvc_uuid = "4b324fc8-1670-01d3-1278-5a47bf6ee188";
static const char *winreg_uuid = "338cd001-2244-31f1-aaaa-900038001003";

static struct ipcguard_rule_field *field(TALLOC_CTX *ctx,
					 struct ipcguard_rule_field *f,
					 const char *name, const char *value)
{
	f->name = name;
	f->values = talloc_zero_array(ctx, const char *, 2);
	f->values[0] = value;
	return f + 1;
}

static struct ipcguard_rule *make_rule(TALLOC_CTX *ctx, int i)
{
	struct ipcguard_rule_field *fields =
		talloc_zero_array(ctx, struct ipcguard_rule_field, 8);
	struct ipcguard_rule_field *f = fields;
	struct ipcguard_rule *rule = NULL;
	char *error = NULL;

	f = field(ctx, f, "action", "deny");
	f = field(ctx, f, "order", talloc_asprintf(ctx, "%d", i));
	switch (i % 5) {
	case 0:
		f = field(ctx, f, "pipe", "winreg");
		f = field(ctx, f, "interface", winreg_uuid);
		f = field(ctx, f, "opnum", talloc_asprintf(ctx, "%d", i % 30));
		f = field(ctx, f, "sddl", "D:BA");
		break;
	case 1:
		f = field(ctx, f, "pipe", "srvsvc");
		f = field(ctx, f, "interface", srvsvc_uuid);
		f = field(ctx, f, "opnum", talloc_asprintf(ctx, "%d", 100 + i));
		break;
	case 2:
		f = field(ctx, f, "pipe", "srvsvc");
		f = field(ctx, f, "address",
			  talloc_asprintf(ctx, "10.%d.0.0/16", i));
		break;
	case 3:
		f = field(ctx, f, "pipe", "srvsvc");
		f = field(ctx, f, "sddl", "D:AU");
		break;
	default:
		f = field(ctx, f, "pipe", "srvsvc");
		f = field(ctx, f, "interface", "spoolss");
		break;
	}
	rule = ipcguard_rule_parse(ctx, talloc_asprintf(ctx, "bench-%03d", i),
				   fields, &fake_hooks, &error);
	if (rule == NULL) {
		fprintf(stderr, "rule %d: %s\n", i, error);
		exit(1);
	}
	return rule;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct ipcguard_policy *policy = NULL;
	struct ipcguard_address addr;
	unsigned prefix;
	long iterations = argc > 1 ? atol(argv[1]) : 200000;
	int nrules = argc > 2 ? atoi(argv[2]) : 100;
	enum ipcguard_stage stage;
	int i;

	policy = ipcguard_policy_load(ctx, NULL, NULL);
	if (policy == NULL || !ipcguard_address_parse("127.0.0.1", &addr,
						      &prefix)) {
		return 1;
	}
	policy->hooks = &fake_hooks;
	for (i = 0; i < nrules; i++) {
		if (!ipcguard_policy_add_rule(policy, make_rule(policy, i))) {
			return 1;
		}
	}
	if (!ipcguard_policy_is_valid(policy)) {
		fprintf(stderr, "policy invalid: %s\n", policy->errors[0]);
		return 1;
	}

	for (stage = IPCGUARD_STAGE_OPEN; stage <= IPCGUARD_STAGE_REQUEST;
	     stage++) {
		struct ipcguard_request req = {
			.session = IPCGUARD_SESSION_AUTHENTICATED,
			.object = IPCGUARD_OBJECT_PIPE,
			.name = "srvsvc",
			.pipe_gate_ready = true,
			.stage = stage,
			.address = &addr,
			.token = "AU",
			.opnum = 21,	/* NetSrvGetInfo */
		};
		struct ipcguard_decision d;
		double batch[BATCHES];
		long n;
		int b;

		ipcguard_uuid_parse(srvsvc_uuid, req.syntax.uuid);
		req.syntax.major = 3;
		for (b = 0; b < BATCHES; b++) {
			double t0 = now_ns();

			for (n = 0; n < iterations; n++) {
				ipcguard_decide(policy, &req, &d);
				/* Keep the call from being hoisted. */
				__asm__ volatile("" : : "r"(&d) : "memory");
			}
			batch[b] = (now_ns() - t0) / iterations;
			if (d.verdict != IPCGUARD_ALLOW) {
				fprintf(stderr, "stage %s refused by %s\n",
					ipcguard_stage_name(stage), d.rule);
				return 1;
			}
		}
		qsort(batch, BATCHES, sizeof(batch[0]), cmp_double);
		printf("decide stage=%s rules=%d ns=%.1f min=%.1f max=%.1f\n",
		       ipcguard_stage_name(stage), nrules, batch[BATCHES / 2],
		       batch[0], batch[BATCHES - 1]);
	}
	talloc_free(ctx);
	return 0;
}
