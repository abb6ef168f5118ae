/*
 * Unit tests for ipcguard rules (pure logic): field validation and how
 * rules decide at each stage.  The Samba hooks are stood in for by small
 * fakes: the SDDL and access-check code itself is Samba's and is exercised
 * by the integration tests against real smbd.
 */

#include "alloc_fail.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "ipcguard_policy.h"
#include "ipcguard_rule.h"
#include "fake_rule_hooks.h"

/* "field=value" strings, one value each, into fields. */
static struct ipcguard_rule_field *fields_of(TALLOC_CTX *ctx,
					     const char **args)
{
	struct ipcguard_rule_field *f = NULL;
	size_t n = 0, i;

	while (args[n] != NULL) {
		n++;
	}
	f = talloc_zero_array(ctx, struct ipcguard_rule_field, n + 1);
	for (i = 0; i < n; i++) {
		const char *eq = strchr(args[i], '=');

		f[i].name = talloc_strndup(f, args[i], eq - args[i]);
		f[i].values = talloc_zero_array(f, const char *, 2);
		f[i].values[0] = eq + 1;
	}
	return f;
}

static struct ipcguard_rule *parse(TALLOC_CTX *ctx, const char *name,
				   const char **args, char **error)
{
	return ipcguard_rule_parse(ctx, name, fields_of(ctx, args), &fake_hooks,
				   error);
}

static void assert_parse_error(const char **args, const char *expected)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	char *error = NULL;

	assert_null(parse(ctx, "r", args, &error));
	assert_non_null(error);
	if (strstr(error, expected) == NULL) {
		fail_msg("error \"%s\" lacks \"%s\"", error, expected);
	}
	talloc_free(ctx);
}

static void test_invalid_fields_are_named(void **state)
{
	const char *a1[] = { "pipe=spoolss", NULL };
	const char *a2[] = { "action=perhaps", "pipe=x", NULL };
	const char *a3[] = { "action=deny", NULL };
	const char *a4[] = { "action=deny", "pipe=x", "share=y", NULL };
	const char *a5[] = { "action=deny", "pipe=x", "opnum=1", NULL };
	const char *a6[] = { "action=deny", "share=x", "interface=*", NULL };
	const char *a7[] = { "action=deny", "pipe=x", "interface=spoolss",
			     "opnum=65536", NULL };
	const char *a8[] = { "action=deny", "pipe=x", "interface=spoolss",
			     "opnum=9-2", NULL };
	const char *a9[] = { "action=deny", "pipe=x", "interface=*",
			     "opnum=Close", NULL };
	const char *a10[] = { "action=deny", "pipe=x", "address=10.1.0.0/8",
			      NULL };
	const char *a11[] = { "action=deny", "pipe=x", "address=::1/129",
			      NULL };
	const char *a12[] = { "action=deny", "pipe=x", "sddl=O:BA", NULL };
	const char *a13[] = { "action=deny", "pipe=x", "colour=red", NULL };
	const char *a14[] = { "action=deny", "pipe=x", "session=root", NULL };
	const char *a15[] = { "action=deny", "pipe=x", "order=1000000", NULL };
	const char *a16[] = { "action=deny", "pipe=x", "audit-only=si", NULL };
	const char *a17[] = { "action=deny", "pipe=a\x01", NULL };
	const char *a18[] = { "action=deny", "pipe=x",
			      "interface=12345678-1234-abcd-ef00-0123456789ab/"
			      "1.x", NULL };
	const char *a19[] = { "action=deny", "pipe=x,*", NULL };
	const char *a20[] = { "action=deny", "pipe=x", "interface=nosuch",
			      NULL };
	const char *a21[] = { "action=deny", "pipe=..", NULL };

	assert_parse_error(a1, "field action: is required");
	assert_parse_error(a2, "field action: \"perhaps\" is not allow or deny");
	assert_parse_error(a3, "a rule needs a share or a pipe field");
	assert_parse_error(a4, "not both");
	assert_parse_error(a5, "field opnum: needs an interface field");
	assert_parse_error(a6, "field interface: needs a pipe field");
	assert_parse_error(a7, "field opnum: \"65536\" is not an opnum");
	assert_parse_error(a8, "field opnum: the range \"9-2\" ends before");
	assert_parse_error(a9, "needs exactly one interface");
	assert_parse_error(a10, "has bits set beyond its prefix");
	assert_parse_error(a11, "is not an IPv4 or IPv6 address");
	assert_parse_error(a12, "field sddl: not D:");
	assert_parse_error(a13, "field colour: is not a rule field");
	assert_parse_error(a14, "field session: \"root\"");
	assert_parse_error(a15, "field order: \"1000000\"");
	assert_parse_error(a16, "field audit-only: \"si\"");
	assert_parse_error(a17, "contains control characters");
	assert_parse_error(a18, "has a version that is not MAJOR");
	assert_parse_error(a19, "* stands alone");
	assert_parse_error(a20, "\"nosuch\" is neither a UUID");
	assert_parse_error(a21, "\"..\" is not a pipe name");
}

static void test_bad_names_and_missing_hooks(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *args[] = { "action=deny", "pipe=x", "sddl=D:me", NULL };
	char *error = NULL;

	assert_null(parse(ctx, "", args, &error));
	assert_non_null(strstr(error, "rule name"));
	assert_null(parse(ctx, "-x", args, &error));
	assert_null(parse(ctx, "a b", args, &error));
	assert_null(ipcguard_rule_parse(ctx, "ok", fields_of(ctx, args), NULL,
					&error));
	assert_non_null(strstr(error, "field sddl: cannot be checked here"));
	assert_non_null(parse(ctx, "ok", args, &error));
	talloc_free(ctx);
}

static struct ipcguard_policy *policy_with(TALLOC_CTX *ctx,
					   const char *pipes,
					   const char ***rules)
{
	struct ipcguard_policy *p = NULL;
	size_t i;

	p = ipcguard_policy_load(ctx, NULL, NULL);
	assert_non_null(p);
	p->hooks = &fake_hooks;
	if (pipes != NULL) {
		char *error = NULL;

		assert_true(ipcguard_parse_name_list(
			p, "null session pipes", pipes, true,
			&p->null_session_pipes, &error));
	}
	for (i = 0; rules[i] != NULL; i++) {
		char *error = NULL;
		char name[16];
		struct ipcguard_rule *r = NULL;

		snprintf(name, sizeof(name), "r%zu", i);
		r = parse(ctx, name, rules[i], &error);
		if (r == NULL) {
			fail_msg("%s", error);
		}
		assert_true(ipcguard_policy_add_rule(p, r));
	}
	return p;
}

struct probe {
	enum ipcguard_session_kind session;
	enum ipcguard_object_kind object;
	const char *name;
	enum ipcguard_stage stage;
	const char *address;
	const char *token;
	uint16_t opnum;
};

static const char *probe_rule(const struct ipcguard_policy *p,
			      struct probe pr, enum ipcguard_verdict *verdict)
{
	struct ipcguard_address addr;
	struct ipcguard_request r = {
		.session = pr.session,
		.object = pr.object,
		.name = pr.name,
		.stage = pr.stage,
		.token = pr.token,
		.opnum = pr.opnum,
		.pipe_gate_ready = true,
	};
	struct ipcguard_decision d = { .verdict = IPCGUARD_ALLOW };

	if (pr.address != NULL) {
		assert_true(ipcguard_address_parse(pr.address, &addr, NULL));
		r.address = &addr;
	}
	assert_true(fake_iface("spoolss", &r.syntax));
	ipcguard_decide(p, &r, &d);
	*verdict = d.verdict;
	return d.rule;
}

#define ANON IPCGUARD_SESSION_ANONYMOUS
#define AUTH IPCGUARD_SESSION_AUTHENTICATED
#define PIPE IPCGUARD_OBJECT_PIPE
#define SHARE IPCGUARD_OBJECT_SHARE

static void expect(const struct ipcguard_policy *p, struct probe pr,
		   enum ipcguard_verdict verdict, const char *rule)
{
	enum ipcguard_verdict got;
	const char *by = probe_rule(p, pr, &got);

	if (got != verdict || strcmp(by, rule) != 0) {
		fail_msg("%s %s stage %d opnum %u: got %s by %s, want %s by "
			 "%s", pr.name, pr.address ? pr.address : "-",
			 pr.stage, pr.opnum, ipcguard_verdict_name(got), by,
			 ipcguard_verdict_name(verdict), rule);
	}
}

static void test_printer_bug_rule_by_stage_and_token(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *bug[] = { "action=deny", "pipe=spoolss",
			      "interface=spoolss",
			      "opnum=62,RemoteFindFirstPrinterChangeNotifyEx",
			      "sddl=D:admin", NULL };
	const char **rules[] = { bug, NULL };
	struct ipcguard_policy *p = policy_with(ctx, "lsarpc", rules);
	struct probe pr = { AUTH, PIPE, "spoolss", IPCGUARD_STAGE_REQUEST,
			    NULL, "user", 65 };

	expect(p, pr, IPCGUARD_DENY, "r0");
	pr.opnum = 62;
	expect(p, pr, IPCGUARD_DENY, "r0");
	pr.opnum = 63;
	expect(p, pr, IPCGUARD_ALLOW, "rpc-default");
	pr.opnum = 65;
	pr.token = "admin";
	expect(p, pr, IPCGUARD_ALLOW, "rpc-default");
	/* No token: a deny rule's descriptor cannot grant, so it applies. */
	pr.token = NULL;
	expect(p, pr, IPCGUARD_DENY, "r0");
	/* The open and the bind are not what this rule is about. */
	pr.stage = IPCGUARD_STAGE_OPEN;
	expect(p, pr, IPCGUARD_ALLOW, "authenticated");
	pr.stage = IPCGUARD_STAGE_BIND;
	expect(p, pr, IPCGUARD_ALLOW, "rpc-default");
	pr.stage = IPCGUARD_STAGE_REQUEST;
	pr.name = "SPOOLSS";
	expect(p, pr, IPCGUARD_DENY, "r0");
	pr.name = "lsarpc";
	expect(p, pr, IPCGUARD_ALLOW, "rpc-default");
	talloc_free(ctx);
}

static void test_order_audit_only_and_first_match(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *audit[] = { "action=deny", "pipe=*", "audit-only=yes",
				"order=1", NULL };
	const char *allow[] = { "action=allow", "pipe=srvsvc",
				"session=anonymous", "order=5", NULL };
	const char *deny[] = { "action=deny", "pipe=srvsvc", "order=9",
			       NULL };
	const char **rules[] = { deny, allow, audit, NULL };
	struct ipcguard_policy *p = policy_with(ctx, NULL, rules);
	struct ipcguard_request r = {
		.session = ANON, .object = PIPE, .name = "srvsvc",
	};
	struct ipcguard_decision d;

	/* Sorted by order: r2 (audit), r1 (allow), r0 (deny). */
	assert_string_equal(p->rules[0]->name, "r2");
	assert_string_equal(p->rules[2]->name, "r0");
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_ALLOW);
	assert_string_equal(d.rule, "r1");
	assert_non_null(d.audit_rule);
	assert_string_equal(d.audit_rule->name, "r2");
	r.session = AUTH;
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_DENY);
	assert_string_equal(d.rule, "r0");
	/* An allow rule for anonymous marks something for anonymous use:
	 * IPC$ is open to anonymous although the pipe list is empty. */
	r.session = ANON;
	r.object = IPCGUARD_OBJECT_IPC;
	r.name = "IPC$";
	r.pipe_gate_ready = true;
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_ALLOW);
	r.object = PIPE;
	r.name = "samr";
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_DENY);
	assert_string_equal(d.rule, "null-session-pipes");
	talloc_free(ctx);
}

struct judged {
	enum ipcguard_stage stages[4];
	size_t n;
};

static void record_stage(const struct ipcguard_request *at,
			 const struct ipcguard_decision *d, void *private_data)
{
	struct judged *j = private_data;

	assert_true(j->n < 4);
	j->stages[j->n++] = at->stage;
}

/* One call judges a request after the stages before it, as the gate and
 * explain need, and stops at the first refusal. */
static void test_judge_stages_in_order(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	/* A rule's stage is the last field it names. */
	const char *no_open[] = { "action=deny", "pipe=srvsvc", NULL };
	const char *no_bind[] = { "action=deny", "pipe=spoolss",
				  "interface=spoolss", NULL };
	const char *no_call[] = { "action=deny", "pipe=spoolss",
				  "interface=spoolss", "opnum=65", NULL };
	const char **rules[] = { no_open, no_bind, no_call, NULL };
	struct ipcguard_policy *p = policy_with(ctx, NULL, rules);
	struct ipcguard_request r = {
		.session = AUTH, .object = PIPE, .name = "srvsvc",
		.stage = IPCGUARD_STAGE_REQUEST, .opnum = 65,
	};
	struct ipcguard_decision d;
	struct judged j = { .n = 0 };

	assert_true(fake_iface("spoolss", &r.syntax));
	ipcguard_judge(p, &r, IPCGUARD_STAGE_OPEN, &d, record_stage, &j);
	assert_int_equal(d.verdict, IPCGUARD_DENY);
	assert_string_equal(d.rule, "r0");
	assert_int_equal(j.n, 1);
	assert_int_equal(j.stages[0], IPCGUARD_STAGE_OPEN);
	/* The gate judged the open when the pipe opened. */
	j.n = 0;
	r.name = "lsarpc";
	ipcguard_judge(p, &r, IPCGUARD_STAGE_BIND, &d, record_stage, &j);
	assert_int_equal(d.verdict, IPCGUARD_ALLOW);
	assert_int_equal(j.n, 2);
	assert_int_equal(j.stages[0], IPCGUARD_STAGE_BIND);
	assert_int_equal(j.stages[1], IPCGUARD_STAGE_REQUEST);
	j.n = 0;
	r.name = "spoolss";
	ipcguard_judge(p, &r, IPCGUARD_STAGE_OPEN, &d, record_stage, &j);
	assert_int_equal(d.verdict, IPCGUARD_DENY);
	assert_string_equal(d.rule, "r1");
	assert_int_equal(j.n, 2);
	assert_int_equal(j.stages[1], IPCGUARD_STAGE_BIND);
	/* A first stage past the request's judges the request alone. */
	j.n = 0;
	r.stage = IPCGUARD_STAGE_OPEN;
	ipcguard_judge(p, &r, IPCGUARD_STAGE_REQUEST, &d, NULL, NULL);
	assert_int_equal(d.verdict, IPCGUARD_ALLOW);
	assert_string_equal(d.rule, "authenticated");
	assert_int_equal(j.n, 0);
	talloc_free(ctx);
}

/* What the gate finds about the handshake and its own directory. */
static void test_gate_conditions(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *deny[] = { "action=deny", "pipe=samr", NULL };
	const char **rules[] = { deny, NULL };
	struct ipcguard_policy *p = policy_with(ctx, "lsarpc", rules);
	struct ipcguard_request r = {
		.session = ANON, .object = PIPE, .name = "lsarpc",
		.no_session = true,
	};
	struct ipcguard_decision d;

	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_DENY);
	assert_string_equal(d.rule, "invalid-request");
	assert_string_equal(d.reason, "the handshake carries no session");
	r.no_session = false;
	r.pipe_dir_unsafe = true;
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_DENY);
	assert_string_equal(d.rule, "pipe-gate");
	assert_null(d.by_rule);
	/* A refusal by a rule keeps its name. */
	r.name = "samr";
	ipcguard_decide(p, &r, &d);
	assert_string_equal(d.rule, "r0");
	/* Authenticated callers are not restricted by it. */
	r.session = AUTH;
	r.name = "lsarpc";
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_ALLOW);
	talloc_free(ctx);
}

static void test_pipe_names_the_gate_accepts(void **state)
{
	assert_true(ipcguard_pipe_name_acceptable("lsarpc"));
	assert_true(ipcguard_pipe_name_acceptable("protected_storage"));
	assert_false(ipcguard_pipe_name_acceptable(".hidden"));
	assert_false(ipcguard_pipe_name_acceptable(".."));
	assert_false(ipcguard_pipe_name_acceptable("a/b"));
	assert_false(ipcguard_pipe_name_acceptable("a b"));
	assert_false(ipcguard_pipe_name_acceptable("a,b"));
	assert_false(ipcguard_pipe_name_acceptable(""));
	assert_false(ipcguard_pipe_name_acceptable(NULL));
}

static void test_addresses(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *v4[] = { "action=deny", "share=data",
			     "address=192.168.8.0/21,10.0.0.7", NULL };
	const char *v6[] = { "action=deny", "share=data",
			     "address=2001:db8::/33", NULL };
	const char **rules[] = { v4, v6, NULL };
	struct ipcguard_policy *p = policy_with(ctx, "lsarpc", rules);
	struct probe pr = { AUTH, SHARE, "data", IPCGUARD_STAGE_OPEN,
			    "192.168.15.255", NULL, 0 };

	expect(p, pr, IPCGUARD_DENY, "r0");
	pr.address = "192.168.16.0";
	expect(p, pr, IPCGUARD_ALLOW, "authenticated");
	pr.address = "10.0.0.7";
	expect(p, pr, IPCGUARD_DENY, "r0");
	pr.address = "::ffff:10.0.0.7";		/* dual-stack form */
	expect(p, pr, IPCGUARD_DENY, "r0");
	pr.address = "10.0.0.8";
	expect(p, pr, IPCGUARD_ALLOW, "authenticated");
	pr.address = "2001:db8:7fff::1";
	expect(p, pr, IPCGUARD_DENY, "r1");
	pr.address = "2001:db8:8000::1";
	expect(p, pr, IPCGUARD_ALLOW, "authenticated");
	/* Unknown address: a deny rule applies. */
	pr.address = NULL;
	expect(p, pr, IPCGUARD_DENY, "r0");
	pr.name = "other";
	pr.address = "10.0.0.7";
	expect(p, pr, IPCGUARD_ALLOW, "authenticated");
	/* An unknown address makes a deny rule apply to what it is about
	 * only. */
	pr.address = NULL;
	expect(p, pr, IPCGUARD_ALLOW, "authenticated");
	talloc_free(ctx);
}

/*
 * A rule applies when all its conditions hold, whichever is looked at
 * first: the session and the address are, before the names.
 */
static void test_conditions_in_any_order(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *anon[] = { "action=deny", "pipe=srvsvc",
			       "session=anonymous", "address=10.0.0.0/8",
			       "order=1", NULL };
	const char *near[] = { "action=allow", "pipe=srvsvc",
			       "address=10.0.0.0/8", "order=2", NULL };
	const char *rest[] = { "action=deny", "pipe=srvsvc", "order=3",
			       NULL };
	const char **rules[] = { anon, near, rest, NULL };
	struct ipcguard_policy *p = policy_with(ctx, "lsarpc", rules);
	struct probe pr = { AUTH, PIPE, "srvsvc", IPCGUARD_STAGE_OPEN,
			    "10.1.1.1", NULL, 0 };

	expect(p, pr, IPCGUARD_ALLOW, "r1");
	/* Unknown address: the allow rule does not apply, a deny rule
	 * for other sessions does not either. */
	pr.address = NULL;
	expect(p, pr, IPCGUARD_DENY, "r2");
	pr.session = ANON;
	expect(p, pr, IPCGUARD_DENY, "r0");
	/* Nor on another pipe. */
	pr.name = "samr";
	expect(p, pr, IPCGUARD_DENY, "null-session-pipes");
	pr.name = "SRVSVC";
	pr.address = "192.0.2.1";
	expect(p, pr, IPCGUARD_DENY, "r2");
	pr.address = "10.1.1.1";
	expect(p, pr, IPCGUARD_DENY, "r0");
	talloc_free(ctx);
}

static void test_interfaces_at_bind(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *own[] = { "action=allow", "pipe=spoolss",
			      "interface=spoolss", "order=1", NULL };
	const char *rest[] = { "action=deny", "pipe=spoolss", "interface=*",
			       "order=2", NULL };
	const char **rules[] = { own, rest, NULL };
	struct ipcguard_policy *p = policy_with(ctx, "lsarpc", rules);
	struct ipcguard_request r = {
		.session = AUTH, .object = PIPE, .name = "spoolss",
		.stage = IPCGUARD_STAGE_BIND,
	};
	struct ipcguard_decision d;

	assert_true(fake_iface("spoolss", &r.syntax));
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_ALLOW);
	assert_string_equal(d.rule, "r0");
	r.syntax.major = 2;		/* a name means the served version */
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_DENY);
	assert_string_equal(d.rule, "r1");
	r.syntax.major = 1;
	r.syntax.uuid[0] ^= 1;
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_DENY);
	talloc_free(ctx);
}

static void test_invalid_policy_still_refuses_anonymous(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *allow[] = { "action=allow", "pipe=*", NULL };
	const char **rules[] = { allow, NULL };
	struct ipcguard_policy *p = policy_with(ctx, "lsarpc", rules);
	struct ipcguard_request r = {
		.session = ANON, .object = PIPE, .name = "lsarpc",
	};
	struct ipcguard_decision d;

	ipcguard_policy_add_error(p, talloc_strdup(p, "broken"));
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_DENY);
	assert_string_equal(d.rule, "invalid-policy");
	talloc_free(ctx);
}

static void test_rule_text_round_trip(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *args[] = { "opnum=62", "interface=spoolss", "pipe=spoolss",
			       "action=deny", NULL };
	char *error = NULL;
	struct ipcguard_rule *r = parse(ctx, "bug", args, &error);
	char *text = NULL;

	assert_non_null(r);
	text = ipcguard_rule_text(ctx, r);
	assert_string_equal(text, "[bug]\n\taction = deny\n\tpipe = spoolss\n"
			    "\tinterface = spoolss\n\topnum = 62\n");
	talloc_free(ctx);
}

/* One decision about a pipe: at the open when iface is NULL, else at the
 * bind, or at the request when opnum >= 0. */
static struct ipcguard_decision on_pipe(const struct ipcguard_policy *p,
					enum ipcguard_session_kind session,
					const char *pipe, const char *iface,
					int opnum)
{
	struct ipcguard_request r = {
		.session = session, .object = PIPE, .name = pipe,
		.stage = IPCGUARD_STAGE_OPEN, .pipe_gate_ready = true,
	};
	struct ipcguard_decision d = { .verdict = IPCGUARD_ALLOW };

	if (iface != NULL) {
		assert_true(fake_iface(iface, &r.syntax));
		r.stage = IPCGUARD_STAGE_BIND;
	}
	if (opnum >= 0) {
		r.stage = IPCGUARD_STAGE_REQUEST;
		r.opnum = opnum;
	}
	ipcguard_decide(p, &r, &d);
	return d;
}

static void expect_on_pipe(const struct ipcguard_policy *p,
			   enum ipcguard_session_kind session,
			   const char *pipe, const char *iface, int opnum,
			   enum ipcguard_verdict verdict, const char *rule,
			   enum ipcguard_pipe_match how)
{
	struct ipcguard_decision d = on_pipe(p, session, pipe, iface, opnum);

	if (d.verdict != verdict || strcmp(d.rule, rule) != 0 ||
	    d.pipe_match != how) {
		fail_msg("\\%s %s opnum %d: got %s by %s (match %d), want %s "
			 "by %s (match %d)", pipe, iface ? iface : "-", opnum,
			 ipcguard_verdict_name(d.verdict), d.rule,
			 d.pipe_match, ipcguard_verdict_name(verdict), rule,
			 how);
	}
}

#define LISTED IPCGUARD_PIPE_LISTED
#define ALIAS IPCGUARD_PIPE_ALIAS
#define CARRIER IPCGUARD_PIPE_CARRIER
#define NOMATCH IPCGUARD_PIPE_NO_MATCH

static void test_pipe_rules_hold_on_every_alias(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *lsa[] = { "action=deny", "pipe=lsarpc", NULL };
	const char *pnp[] = { "action=deny", "pipe=plugplay",
			      "session=authenticated", NULL };
	const char **rules[] = { lsa, pnp, NULL };
	struct ipcguard_policy *p = policy_with(ctx, "lsarpc lsass", rules);
	struct ipcguard_decision d;

	expect_on_pipe(p, AUTH, "lsarpc", NULL, -1, IPCGUARD_DENY, "r0",
		       LISTED);
	expect_on_pipe(p, AUTH, "lsass", NULL, -1, IPCGUARD_DENY, "r0",
		       ALIAS);
	expect_on_pipe(p, ANON, "LSASS", NULL, -1, IPCGUARD_DENY, "r0",
		       ALIAS);
	d = on_pipe(p, AUTH, "lsass", NULL, -1);
	assert_string_equal(d.pipe_listed, "lsarpc");
	expect_on_pipe(p, AUTH, "ntsvcs", NULL, -1, IPCGUARD_DENY, "r1",
		       ALIAS);
	expect_on_pipe(p, AUTH, "plugplay", NULL, -1, IPCGUARD_DENY, "r1",
		       LISTED);
	/* \netlogon carries lsarpc but is another endpoint: a rule without
	 * an interface is about opening the pipe and stays off it. */
	expect_on_pipe(p, AUTH, "netlogon", NULL, -1, IPCGUARD_ALLOW,
		       "authenticated", NOMATCH);
	expect_on_pipe(p, AUTH, "samr", NULL, -1, IPCGUARD_ALLOW,
		       "authenticated", NOMATCH);
	/* Nor is it about binds. */
	expect_on_pipe(p, AUTH, "lsass", "lsarpc", -1, IPCGUARD_ALLOW,
		       "rpc-default", NOMATCH);
	talloc_free(ctx);
}

static void test_interface_rules_follow_the_interface(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *query[] = { "action=deny", "pipe=lsarpc",
				"interface=lsarpc", "opnum=7", "order=1",
				NULL };
	const char *bind[] = { "action=deny", "pipe=lsass",
			       "interface=dssetup", "order=2", NULL };
	const char **rules[] = { query, bind, NULL };
	struct ipcguard_policy *p = policy_with(ctx, NULL, rules);
	struct ipcguard_decision d;

	expect_on_pipe(p, AUTH, "lsarpc", "lsarpc", 7, IPCGUARD_DENY, "r0",
		       LISTED);
	expect_on_pipe(p, AUTH, "lsass", "lsarpc", 7, IPCGUARD_DENY, "r0",
		       ALIAS);
	expect_on_pipe(p, AUTH, "Netlogon", "lsarpc", 7, IPCGUARD_DENY, "r0",
		       CARRIER);
	d = on_pipe(p, AUTH, "netlogon", "lsarpc", 7);
	assert_string_equal(d.pipe_listed, "lsarpc");
	/* A deny rule follows its interface to any pipe: Samba refuses the
	 * bind there anyway, and a table behind Samba cannot be used. */
	expect_on_pipe(p, AUTH, "samr", "lsarpc", 7, IPCGUARD_DENY, "r0",
		       CARRIER);
	expect_on_pipe(p, AUTH, "netlogon", "lsarpc", 6, IPCGUARD_ALLOW,
		       "rpc-default", NOMATCH);
	/* Opnum 7 of netlogon on \netlogon is another call. */
	expect_on_pipe(p, AUTH, "netlogon", "netlogon", 7, IPCGUARD_ALLOW,
		       "rpc-default", NOMATCH);
	expect_on_pipe(p, AUTH, "lsarpc", "dssetup", -1, IPCGUARD_DENY, "r1",
		       ALIAS);
	expect_on_pipe(p, AUTH, "lsass", "dssetup", -1, IPCGUARD_DENY, "r1",
		       LISTED);
	expect_on_pipe(p, AUTH, "netlogon", "dssetup", -1, IPCGUARD_DENY,
		       "r1", CARRIER);
	expect_on_pipe(p, AUTH, "lsarpc", "lsarpc", -1, IPCGUARD_ALLOW,
		       "rpc-default", NOMATCH);
	talloc_free(ctx);
}

static void test_allow_rules_follow_only_to_pipes_that_serve(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	/* examples/hardening-rules.sh own-interfaces, in short */
	const char *lsa[] = { "action=allow", "pipe=lsarpc",
			      "interface=lsarpc", "order=1", NULL };
	const char *ds[] = { "action=allow", "pipe=lsarpc",
			     "interface=dssetup", "order=2", NULL };
	const char *nl[] = { "action=allow", "pipe=netlogon",
			     "interface=netlogon", "order=3", NULL };
	const char *sam[] = { "action=allow", "pipe=samr", "interface=samr",
			      "order=4", NULL };
	const char *rest[] = { "action=deny", "pipe=*", "interface=*",
			       "order=9", NULL };
	const char **rules[] = { lsa, ds, nl, sam, rest, NULL };
	struct ipcguard_policy *p = policy_with(ctx, NULL, rules);

	expect_on_pipe(p, AUTH, "lsarpc", "lsarpc", -1, IPCGUARD_ALLOW, "r0",
		       LISTED);
	expect_on_pipe(p, AUTH, "lsass", "lsarpc", -1, IPCGUARD_ALLOW, "r0",
		       ALIAS);
	expect_on_pipe(p, AUTH, "lsass", "dssetup", -1, IPCGUARD_ALLOW, "r1",
		       ALIAS);
	expect_on_pipe(p, AUTH, "netlogon", "lsarpc", -1, IPCGUARD_ALLOW,
		       "r0", CARRIER);
	expect_on_pipe(p, AUTH, "netlogon", "netlogon", -1, IPCGUARD_ALLOW,
		       "r2", LISTED);
	/* Samba does not serve them there: allow rules do not follow. */
	expect_on_pipe(p, AUTH, "netlogon", "dssetup", -1, IPCGUARD_DENY,
		       "r4", LISTED);
	expect_on_pipe(p, AUTH, "samr", "lsarpc", -1, IPCGUARD_DENY, "r4",
		       LISTED);
	expect_on_pipe(p, AUTH, "lsarpc", "samr", -1, IPCGUARD_DENY, "r4",
		       LISTED);
	expect_on_pipe(p, AUTH, "lsass", "samr", -1, IPCGUARD_DENY, "r4",
		       LISTED);
	expect_on_pipe(p, AUTH, "lsarpc", "netlogon", -1, IPCGUARD_DENY, "r4",
		       LISTED);
	talloc_free(ctx);
}

/* examples/hardening-rules.sh anonymous-lsa-names */
static void test_anonymous_lsa_names_through_every_pipe(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *bind[] = { "action=allow", "order=300",
			       "session=anonymous", "pipe=lsarpc",
			       "interface=lsarpc", NULL };
	const char *other[] = { "action=deny", "order=305",
				"session=anonymous", "pipe=lsarpc",
				"interface=*", NULL };
	const char *names[] = { "action=allow", "order=310",
				"session=anonymous", "pipe=lsarpc",
				"interface=lsarpc", "opnum=14", NULL };
	const char *rest[] = { "action=deny", "order=320",
			       "session=anonymous", "pipe=lsarpc",
			       "interface=*", "opnum=*", NULL };
	const char **rules[] = { bind, other, names, rest, NULL };
	struct ipcguard_policy *p = policy_with(ctx, "lsarpc", rules);
	const char *pipes[] = { "lsarpc", "lsass", "netlogon" };
	size_t i;

	for (i = 0; i < 3; i++) {
		enum ipcguard_pipe_match how = i == 0 ? LISTED :
			i == 1 ? ALIAS : CARRIER;

		expect_on_pipe(p, ANON, pipes[i], "lsarpc", -1,
			       IPCGUARD_ALLOW, "r0", how);
		expect_on_pipe(p, ANON, pipes[i], "lsarpc", 14,
			       IPCGUARD_ALLOW, "r2", how);
		expect_on_pipe(p, ANON, pipes[i], "lsarpc", 7,
			       IPCGUARD_DENY, "r3", how);
		expect_on_pipe(p, AUTH, pipes[i], "lsarpc", 7,
			       IPCGUARD_ALLOW, "rpc-default", NOMATCH);
	}
	expect_on_pipe(p, ANON, "lsass", "samr", -1, IPCGUARD_DENY, "r1",
		       ALIAS);
	expect_on_pipe(p, ANON, "lsass", "dssetup", -1, IPCGUARD_DENY, "r1",
		       ALIAS);
	/* "*" on \lsarpc means the interfaces \lsarpc is home to; netlogon's
	 * own interface on \netlogon is none of the set's business. */
	expect_on_pipe(p, ANON, "netlogon", "netlogon", -1, IPCGUARD_ALLOW,
		       "rpc-default", NOMATCH);
	expect_on_pipe(p, ANON, "netlogon", "netlogon", 4, IPCGUARD_ALLOW,
		       "rpc-default", NOMATCH);
	/* The open is the pipe lists' business: Windows lists exact names,
	 * so listing lsarpc does not open \lsass to anonymous callers. */
	expect_on_pipe(p, ANON, "lsarpc", NULL, -1, IPCGUARD_ALLOW,
		       "null-session-pipes", NOMATCH);
	expect_on_pipe(p, ANON, "lsass", NULL, -1, IPCGUARD_DENY,
		       "null-session-pipes", NOMATCH);
	talloc_free(ctx);
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* What the observer of ipcguard_judge_tcp() saw last. */
static void seen_pipe(const struct ipcguard_request *at,
		      const struct ipcguard_decision *d, void *private_data)
{
	*(const char **)private_data = at->name;
}

/* Over TCP a caller gets what the best SMB route gives it: the IPC$ tree
 * connect, then the open, bind and call through any one of the pipes that
 * reach the interface. */
static void test_tcp_calls_get_what_smb_gives(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *sam[] = { "action=deny", "session=anonymous",
			      "pipe=samr", "interface=samr", "opnum=5-7",
			      NULL };
	const char *names[] = { "action=deny", "session=anonymous",
				"pipe=lsarpc", "interface=lsarpc",
				"opnum=14-15", NULL };
	const char **rules[] = { sam, names, NULL };
	const char *lists[] = { "netlogon", "lsass", "samr lsarpc", "" };
	const char *ifaces[][4] = {
		{ "lsarpc", "lsarpc", "netlogon", "lsass" },
		{ "dssetup", "lsarpc", "lsass", NULL },
		{ "netlogon", "netlogon", NULL, NULL },
		{ "samr", "samr", NULL, NULL },
		{ "spoolss", "spoolss", NULL, NULL },
	};
	enum ipcguard_session_kind kinds[] = { ANON, AUTH };
	unsigned allowed = 0, refused = 0;
	size_t l, i, k, j;
	int opnum;

	for (l = 0; l < ARRAY_LEN(lists); l++) {
		struct ipcguard_policy *p = policy_with(ctx, lists[l], rules);

		for (i = 0; i < ARRAY_LEN(ifaces); i++) {
		for (k = 0; k < ARRAY_LEN(kinds); k++) {
		for (opnum = -1; opnum < 20; opnum++) {
			struct ipcguard_request r = {
				.session = kinds[k],
				.stage = opnum < 0 ? IPCGUARD_STAGE_BIND :
					IPCGUARD_STAGE_REQUEST,
				.opnum = opnum < 0 ? 0 : opnum,
				.pipe_gate_ready = true,
			};
			struct ipcguard_request ipc = {
				.session = kinds[k],
				.object = IPCGUARD_OBJECT_IPC,
				.name = "IPC$", .pipe_gate_ready = true,
			};
			struct ipcguard_decision tcp, tree, smb;
			bool any = false;

			assert_true(fake_iface(ifaces[i][0], &r.syntax));
			ipcguard_judge_tcp(p, &r, &tcp, NULL, NULL);
			ipcguard_decide(p, &ipc, &tree);
			for (j = 1; tree.verdict == IPCGUARD_ALLOW && j < 4 &&
				    ifaces[i][j] != NULL; j++) {
				struct ipcguard_request at = r;

				at.object = PIPE;
				at.name = ifaces[i][j];
				ipcguard_judge(p, &at, IPCGUARD_STAGE_OPEN,
					       &smb, NULL, NULL);
				any = any || smb.verdict == IPCGUARD_ALLOW;
			}
			if ((tcp.verdict == IPCGUARD_ALLOW) != any) {
				fail_msg("list '%s', %s, %s opnum %d: TCP %s "
					 "by %s, SMB %s", lists[l],
					 ipcguard_session_kind_name(kinds[k]),
					 ifaces[i][0], opnum,
					 ipcguard_verdict_name(tcp.verdict),
					 tcp.rule,
					 any ? "allows" : "refuses");
			}
			if (any) {
				allowed++;
			} else {
				refused++;
			}
		}
		}
		}
	}
	/* Both answers occur, so the comparison compared something. */
	assert_true(allowed > 100 && refused > 100);

	{
		struct ipcguard_policy *p = policy_with(ctx, "netlogon",
							rules);
		struct ipcguard_request r = {
			.session = ANON, .stage = IPCGUARD_STAGE_BIND,
		};
		struct ipcguard_decision d;
		const char *via = NULL;

		/* lsarpc is reached through \netlogon, and the audit says
		 * so. */
		assert_true(fake_iface("lsarpc", &r.syntax));
		ipcguard_judge_tcp(p, &r, &d, seen_pipe, &via);
		assert_int_equal(d.verdict, IPCGUARD_ALLOW);
		assert_string_equal(via, "netlogon");
		/* An interface no pipe reaches is nobody's to allow. */
		memset(r.syntax.uuid, 0x5a, 16);
		ipcguard_judge_tcp(p, &r, &d, NULL, NULL);
		assert_int_equal(d.verdict, IPCGUARD_DENY);
		assert_string_equal(d.rule, "tcp-no-pipe");
		r.session = AUTH;
		ipcguard_judge_tcp(p, &r, &d, NULL, NULL);
		assert_int_equal(d.verdict, IPCGUARD_ALLOW);
		/* Nothing marked for anonymous use: no way in at all. */
		p = policy_with(ctx, "", (const char **[]) { NULL });
		r.session = ANON;
		assert_true(fake_iface("netlogon", &r.syntax));
		ipcguard_judge_tcp(p, &r, &d, NULL, NULL);
		assert_int_equal(d.verdict, IPCGUARD_DENY);
		assert_string_equal(d.rule, "auto-disable");
	}
	talloc_free(ctx);
}

static void test_star_on_a_carrier_stays_there(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *nl[] = { "action=deny", "pipe=netlogon", "interface=*",
			     NULL };
	const char **rules[] = { nl, NULL };
	struct ipcguard_policy *p = policy_with(ctx, NULL, rules);

	/* lsarpc's own pipes are \lsarpc and \lsass, not \netlogon. */
	expect_on_pipe(p, AUTH, "netlogon", "lsarpc", -1, IPCGUARD_DENY, "r0",
		       LISTED);
	expect_on_pipe(p, AUTH, "lsarpc", "lsarpc", -1, IPCGUARD_ALLOW,
		       "rpc-default", NOMATCH);
	expect_on_pipe(p, AUTH, "lsass", "lsarpc", 7, IPCGUARD_ALLOW,
		       "rpc-default", NOMATCH);
	talloc_free(ctx);
}

static void test_missed_pipes_are_named(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *a1[] = { "action=deny", "pipe=netlogon",
			     "interface=lsarpc", "opnum=7", NULL };
	const char *a2[] = { "action=deny", "pipe=netlogon,lsass",
			     "interface=lsarpc", NULL };
	const char *a3[] = { "action=deny", "pipe=netlogon", "interface=*",
			     NULL };
	const char *a4[] = { "action=deny", "pipe=spoolss",
			     "interface=spoolss,dssetup", NULL };
	const char *a5[] = { "action=deny", "pipe=*", "interface=lsarpc",
			     NULL };
	const char *a6[] = { "action=deny", "pipe=samr",
			     "interface=12345778-1234-abcd-ef00-0123456789ab/1",
			     NULL };
	char *error = NULL;

	assert_string_equal(ipcguard_rule_missed_pipes(
				    ctx, parse(ctx, "a", a1, &error)),
			    "lsarpc on \\lsarpc, \\lsass");
	assert_null(ipcguard_rule_missed_pipes(ctx, parse(ctx, "a", a2,
							  &error)));
	assert_null(ipcguard_rule_missed_pipes(ctx, parse(ctx, "a", a3,
							  &error)));
	assert_string_equal(ipcguard_rule_missed_pipes(
				    ctx, parse(ctx, "a", a4, &error)),
			    "dssetup on \\lsarpc, \\lsass");
	assert_null(ipcguard_rule_missed_pipes(ctx, parse(ctx, "a", a5,
							  &error)));
	/* Version 1 of lsarpc's UUID is no interface Samba serves. */
	assert_null(ipcguard_rule_missed_pipes(ctx, parse(ctx, "a", a6,
							  &error)));
	talloc_free(ctx);
}

/*
 * Every allocation of a parse failing in turn: the rule is refused or it
 * is the whole rule.  A list cut short would make a deny rule narrower
 * than written and still valid.
 */
static void test_any_allocation_failure_fails_closed(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *args[] = { "action=deny", "pipe=lsarpc,samr srvsvc",
			       "session=anonymous,guest",
			       "address=10.0.0.0/8,192.0.2.1",
			       "interface=spoolss", "opnum=62,65,1-3",
			       "description=no printer bug",
			       "sddl=D:S-1-5-32-544", NULL };
	struct ipcguard_rule_field *fields = fields_of(ctx, args);
	char *error = NULL;
	struct ipcguard_rule *ref = ipcguard_rule_parse(ctx, "bug", fields,
							&fake_hooks, &error);
	unsigned at;
	bool injected = true;
	size_t i;

	assert_non_null(ref);
	for (at = 1; injected; at++) {
		TALLOC_CTX *run = talloc_new(NULL);
		struct ipcguard_rule *r = NULL;
		struct ipcguard_policy *p = NULL;

		alloc_fail_start(at);
		r = ipcguard_rule_parse(run, "bug", fields, &fake_hooks,
					&error);
		alloc_fail_stop();
		injected = alloc_fail_injected;
		if (r == NULL) {
			talloc_free(run);
			continue;
		}
		for (i = 0; ref->pipes[i] != NULL; i++) {
			assert_non_null(r->pipes[i]);
			assert_string_equal(r->pipes[i], ref->pipes[i]);
		}
		assert_null(r->pipes[i]);
		assert_int_equal(r->sessions, ref->sessions);
		assert_int_equal(r->num_addresses, ref->num_addresses);
		assert_int_equal(r->num_interfaces, ref->num_interfaces);
		assert_int_equal(r->num_opnums, ref->num_opnums);
		assert_memory_equal(r->opnums, ref->opnums,
				    sizeof(r->opnums[0]) * r->num_opnums);
		assert_non_null(r->sd);
		assert_non_null(r->sddl);
		assert_string_equal(r->description, ref->description);

		/* Adding it to a policy: added, or the policy refused. */
		p = ipcguard_policy_load(run, NULL, NULL);
		if (p != NULL) {
			p->hooks = &fake_hooks;
			alloc_fail_start(1);
			if (!ipcguard_policy_add_rule(p, r)) {
				ipcguard_policy_add_error(p, NULL);
			}
			alloc_fail_stop();
			assert_true(p->num_rules == 1 ||
				    !ipcguard_policy_is_valid(p));
		}
		talloc_free(run);
	}
	assert_true(at > 20);
	talloc_free(ctx);
}

/*
 * The rule index only skips rules: a decision with it is the decision of
 * a scan of every rule, in every field the module, the gate and explain
 * read.
 */
static void decide_both_ways(struct ipcguard_policy *p,
			     const struct ipcguard_request *r)
{
	struct ipcguard_rule_index *index = p->rule_index;
	struct ipcguard_decision fast, full;

	assert_true(ipcguard_rule_index_valid(index, p->rules,
					      p->num_rules));
	memset(&fast, 0xa5, sizeof(fast));
	memset(&full, 0x5a, sizeof(full));
	ipcguard_decide(p, r, &fast);
	p->rule_index = NULL;
	ipcguard_decide(p, r, &full);
	p->rule_index = index;
	if (fast.verdict != full.verdict ||
	    strcmp(fast.rule, full.rule) != 0 ||
	    strcmp(fast.reason, full.reason) != 0 ||
	    fast.by_rule != full.by_rule ||
	    fast.audit_rule != full.audit_rule ||
	    fast.pipe_match != full.pipe_match ||
	    fast.pipe_listed != full.pipe_listed) {
		fail_msg("%s \"%s\" stage %d session %d opnum %u: indexed "
			 "%s by %s (audit %s, match %d), scanned %s by %s "
			 "(audit %s, match %d)",
			 ipcguard_object_kind_name(r->object),
			 r->name != NULL ? r->name : "(null)", r->stage,
			 r->session, r->opnum,
			 ipcguard_verdict_name(fast.verdict), fast.rule,
			 fast.audit_rule ? fast.audit_rule->name : "-",
			 fast.pipe_match,
			 ipcguard_verdict_name(full.verdict), full.rule,
			 full.audit_rule ? full.audit_rule->name : "-",
			 full.pipe_match);
	}
}

/* A fixed sequence, the same on every libc. */
static unsigned next_random(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) & 0x7fff;
}

#define PICK(seed, a) ((a)[next_random(seed) % (sizeof(a) / sizeof((a)[0]))])

static const char *srvsvc_uuid = "4b324fc8-1670-01d3-1278-5a47bf6ee188";
/* 67 characters: the same length as "abc" modulo 64. */
static const char *long_pipe = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrst"
			       "uvwxyzabcdefghijklmno";

static struct ipcguard_rule *random_rule(TALLOC_CTX *ctx, unsigned *seed,
					 int n)
{
	static const char *pipes[] = {
		"*", "srvsvc", "SrvSvc", "lsarpc", "LSASS", "netlogon",
		"samr", "ntsvcs", "plugplay", "protected_storage", "spoolss",
		"winreg", "abc", "lsarpc,samr", "netlogon lsass",
		"NETLOGON,srvsvc",
	};
	static const char *shares[] = {
		"*", "data", "DATA", "public", "data,public", "abc",
	};
	static const char *interfaces[] = {
		"*", "lsarpc", "dssetup", "spoolss", "samr", "netlogon",
		"4b324fc8-1670-01d3-1278-5a47bf6ee188",
		"4b324fc8-1670-01d3-1278-5a47bf6ee188/3",
		"12345778-1234-abcd-ef00-0123456789ab/0.0",
		"e3514235-4b06-11d1-ab04-00c04fd92ef5",
		"8d9f4e40-a03d-11ce-8f69-08003e30051b/1",
		"338cd001-2244-31f1-aaaa-900038001003",
	};
	static const char *opnums[] = {
		"*", "0", "21", "85", "1-3", "0-100", "62,65", "60-70",
		"7", "149",
	};
	static const char *sessions[] = {
		"anonymous", "guest", "authenticated", "anonymous,guest",
	};
	static const char *addresses[] = {
		"10.0.0.0/8", "127.0.0.1", "::1", "10.1.2.3/32,192.0.2.0/24",
	};
	static const char *sddls[] = { "D:AU", "D:user" };
	const char *args[12] = { NULL };
	size_t a = 0;
	char *error = NULL;
	char name[16];
	bool share = next_random(seed) % 5 == 0;

	args[a++] = next_random(seed) % 2 ? "action=allow" : "action=deny";
	args[a++] = talloc_asprintf(ctx, "order=%u", next_random(seed) % 8);
	if (next_random(seed) % 5 == 0) {
		args[a++] = "audit-only=yes";
	}
	if (share) {
		args[a++] = talloc_asprintf(ctx, "share=%s",
					    PICK(seed, shares));
	} else if (next_random(seed) % 16 == 0) {
		args[a++] = talloc_asprintf(ctx, "pipe=%s", long_pipe);
	} else {
		args[a++] = talloc_asprintf(ctx, "pipe=%s", PICK(seed, pipes));
	}
	if (!share && next_random(seed) % 2) {
		args[a++] = talloc_asprintf(ctx, "interface=%s",
					    PICK(seed, interfaces));
		if (next_random(seed) % 2) {
			args[a++] = talloc_asprintf(ctx, "opnum=%s",
						    PICK(seed, opnums));
		}
	}
	if (next_random(seed) % 3 == 0) {
		args[a++] = talloc_asprintf(ctx, "session=%s",
					    PICK(seed, sessions));
	}
	if (next_random(seed) % 3 == 0) {
		args[a++] = talloc_asprintf(ctx, "address=%s",
					    PICK(seed, addresses));
	}
	if (next_random(seed) % 3 == 0) {
		args[a++] = talloc_asprintf(ctx, "sddl=%s", PICK(seed, sddls));
	}
	snprintf(name, sizeof(name), "r%03d", n);
	return parse(ctx, name, args, &error);
}

static void random_request(unsigned *seed, struct ipcguard_request *r,
			   const struct ipcguard_address *addrs,
			   size_t num_addrs)
{
	static const char *names[] = {
		"srvsvc", "SRVSVC", "lsarpc", "lsass", "LsaSS", "netlogon",
		"samr", "ntsvcs", "PlugPlay", "protected_storage", "spoolss",
		"winreg", "data", "Data", "public", "other", "abc", "ABC",
		NULL,
	};
	static const char *uuids[] = {
		"12345778-1234-abcd-ef00-0123456789ab",	/* lsarpc */
		"3919286a-b10c-11d0-9ba8-00c04fd92ef5",	/* dssetup */
		"e3514235-4b06-11d1-ab04-00c04fd92ef5",	/* drsuapi */
		"8d9f4e40-a03d-11ce-8f69-08003e30051b",	/* ntsvcs */
		"4b324fc8-1670-01d3-1278-5a47bf6ee188",	/* srvsvc */
		"12345678-1234-abcd-ef00-0123456789ab",	/* spoolss */
		"12345778-1234-abcd-ef00-0123456789ac",	/* samr */
		"12345678-1234-abcd-ef00-01234567cffb",	/* netlogon */
		"338cd001-2244-31f1-aaaa-900038001003",	/* winreg */
	};
	static const uint16_t majors[] = { 0, 1, 3, 4 };
	static const uint16_t ops[] = {
		0, 1, 2, 3, 7, 21, 62, 65, 85, 100, 149, 0xffff,
	};
	static const char *tokens[] = { NULL, "AU", "user" };
	static const enum ipcguard_object_kind objects[] = {
		PIPE, PIPE, PIPE, PIPE, PIPE, PIPE, SHARE, SHARE,
		IPCGUARD_OBJECT_IPC,
	};
	unsigned a = next_random(seed) % (num_addrs + 1);

	memset(r, 0, sizeof(*r));
	r->session = next_random(seed) % 3;
	r->object = PICK(seed, objects);
	r->name = next_random(seed) % 16 == 0 ? long_pipe : PICK(seed, names);
	r->pipe_gate_ready = true;
	/* Now and then a stage no rule is about. */
	r->stage = next_random(seed) % 31 == 0 ? 3 : next_random(seed) % 3;
	r->address = a < num_addrs ? &addrs[a] : NULL;
	r->token = PICK(seed, tokens);
	r->local_system = next_random(seed) % 10 == 0;
	assert_true(ipcguard_uuid_parse(PICK(seed, uuids), r->syntax.uuid));
	r->syntax.major = PICK(seed, majors);
	r->opnum = PICK(seed, ops);
}

static void test_index_decides_as_a_full_scan(void **state)
{
	const char *texts[] = {
		"10.1.2.3", "127.0.0.1", "::1", "192.0.2.7", "172.16.0.1",
	};
	struct ipcguard_address addrs[5];
	unsigned seed = 20260101;
	unsigned policies, i;

	for (i = 0; i < 5; i++) {
		assert_true(ipcguard_address_parse(texts[i], &addrs[i], NULL));
	}
	for (policies = 0; policies < 40; policies++) {
		TALLOC_CTX *ctx = talloc_new(NULL);
		const char **none[] = { NULL };
		struct ipcguard_policy *p = policy_with(ctx, "srvsvc", none);
		unsigned num = 1 + next_random(&seed) % 60;

		p->guest_is_anonymous = next_random(&seed) % 2;
		for (i = 0; i < num; i++) {
			struct ipcguard_rule *r = random_rule(ctx, &seed, i);

			if (r != NULL) {
				assert_true(ipcguard_policy_add_rule(p, r));
			}
		}
		for (i = 0; i < 2000; i++) {
			struct ipcguard_request r;

			random_request(&seed, &r, addrs, 5);
			decide_both_ways(p, &r);
		}
		talloc_free(ctx);
	}
}

/* What the index could get wrong, one case each. */
static void test_index_keeps_rule_order_and_names(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	/* Order across pipes, "*" and case: r0 (audit, any pipe) is seen
	 * first, then r1 on SRVSVC in another case, then r2. */
	const char *audit[] = { "action=deny", "pipe=*", "audit-only=yes",
				"order=1", NULL };
	const char *allow[] = { "action=allow", "pipe=SrvSvc",
				"session=anonymous", "order=2", NULL };
	const char *deny[] = { "action=deny", "pipe=samr,srvsvc", "order=3",
			       NULL };
	const char *any[] = { "action=deny", "pipe=*", "order=4", NULL };
	/* 85 and 21 share a mask bit; a range of 64 sets every bit. */
	const char *op85[] = { "action=deny", "pipe=srvsvc", "order=0",
			       "interface=4b324fc8-1670-01d3-1278-5a47bf6ee188",
			       "opnum=85", NULL };
	const char *wide[] = { "action=deny", "pipe=srvsvc", "order=5",
			       "interface=*", "opnum=200-263", NULL };
	const char *share[] = { "action=deny", "share=*", "order=6", NULL };
	const char **rules[] = { audit, allow, deny, any, op85, wide, share,
				 NULL };
	struct ipcguard_policy *p = policy_with(ctx, NULL, rules);
	struct ipcguard_policy *q = NULL;
	struct ipcguard_request r = {
		.session = ANON, .object = PIPE, .name = "sRVSVc",
		.pipe_gate_ready = true,
	};
	struct ipcguard_decision d;
	size_t i;

	assert_non_null(p->rule_index);
	ipcguard_decide(p, &r, &d);
	assert_string_equal(d.rule, "r1");
	assert_int_equal(d.verdict, IPCGUARD_ALLOW);
	assert_string_equal(d.audit_rule->name, "r0");
	assert_string_equal(d.pipe_listed, "SrvSvc");
	decide_both_ways(p, &r);
	r.session = AUTH;
	ipcguard_decide(p, &r, &d);
	assert_string_equal(d.rule, "r2");
	assert_string_equal(d.pipe_listed, "srvsvc");
	r.name = "winreg";
	ipcguard_decide(p, &r, &d);
	assert_string_equal(d.rule, "r3");
	assert_string_equal(d.pipe_listed, "*");
	r.name = "SRVSVC";
	r.stage = IPCGUARD_STAGE_REQUEST;
	assert_true(ipcguard_uuid_parse(srvsvc_uuid, r.syntax.uuid));
	r.opnum = 21;
	ipcguard_decide(p, &r, &d);
	assert_string_equal(d.rule, "rpc-default");
	r.opnum = 85;
	ipcguard_decide(p, &r, &d);
	assert_string_equal(d.rule, "r4");
	r.opnum = 263;
	ipcguard_decide(p, &r, &d);
	assert_string_equal(d.rule, "r5");
	decide_both_ways(p, &r);
	/* Shares: "*" holds for a request without a name as well. */
	r.object = SHARE;
	r.stage = IPCGUARD_STAGE_OPEN;
	r.name = NULL;
	ipcguard_decide(p, &r, &d);
	assert_string_equal(d.rule, "r6");
	/* IPC$ is no rule's business. */
	r.object = IPCGUARD_OBJECT_IPC;
	r.name = "IPC$";
	ipcguard_decide(p, &r, &d);
	assert_null(d.by_rule);

	/*
	 * Rules handed on as the loader does (ipcguard_load.c): the policy
	 * left behind has no rules, whatever its index says.
	 */
	q = policy_with(ctx, NULL, (const char **[]) { NULL });
	for (i = 0; i < p->num_rules; i++) {
		assert_true(ipcguard_policy_add_rule(q, p->rules[i]));
	}
	p->num_rules = 0;
	r.object = PIPE;
	r.name = "winreg";
	ipcguard_decide(p, &r, &d);
	assert_string_equal(d.rule, "authenticated");
	ipcguard_decide(q, &r, &d);
	assert_string_equal(d.rule, "r3");
	talloc_free(ctx);
}

static const char *opt_get(void *private_data, const char *option)
{
	const char **kv = private_data;

	for (; kv[0] != NULL; kv += 2) {
		if (strcmp(kv[0], option) == 0) {
			return kv[1];
		}
	}
	return NULL;
}

/* RestrictRemoteSAM: the SAMR connect calls need the descriptor's grant. */
static void test_restrict_remote_sam(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	/* The fake hooks compile only "D:" descriptors. */
	const char *set[] = { "null session pipes", "samr",
			      "restrict remote sam", "D:admins",
			      "remote registry access", "D:admins", NULL };
	const char *off[] = { "restrict remote sam", "none",
			      "remote registry access", "none", NULL };
	const char *bad[] = { "null session pipes", "samr",
			      "restrict remote sam", "garbage",
			      "remote registry access", "none", NULL };
	struct ipcguard_request r = {
		.session = IPCGUARD_SESSION_AUTHENTICATED,
		.object = IPCGUARD_OBJECT_PIPE, .name = "samr",
		.stage = IPCGUARD_STAGE_REQUEST, .opnum = 64,
		.token = "users",
	};
	struct ipcguard_decision d = { .verdict = IPCGUARD_ALLOW };
	struct ipcguard_policy *p = ipcguard_policy_load(ctx, opt_get, set);

	assert_true(ipcguard_uuid_parse("12345778-1234-abcd-ef00-0123456789ac",
					r.syntax.uuid));
	ipcguard_policy_set_hooks(p, &fake_hooks);
	assert_true(ipcguard_policy_is_valid(p));
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_DENY);
	assert_string_equal(d.rule, "restrict-remote-sam");
	/* Granted callers, Samba's own (SYSTEM), password changes pass. */
	r.token = "admins";
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_ALLOW);
	r.token = "users";
	r.local_system = true;
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_ALLOW);
	r.local_system = false;
	r.opnum = 55;	/* samr_ChangePasswordUser2 */
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_ALLOW);
	/* Anonymous: no token, never granted. */
	r.opnum = 0;
	r.token = NULL;
	r.session = IPCGUARD_SESSION_ANONYMOUS;
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_DENY);
	assert_string_equal(d.rule, "restrict-remote-sam");

	p = ipcguard_policy_load(ctx, opt_get, off);
	ipcguard_policy_set_hooks(p, &fake_hooks);
	r.session = IPCGUARD_SESSION_AUTHENTICATED;
	r.token = "users";
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_ALLOW);

	p = ipcguard_policy_load(ctx, opt_get, bad);
	ipcguard_policy_set_hooks(p, &fake_hooks);
	assert_false(ipcguard_policy_is_valid(p));
	assert_non_null(strstr(p->errors[0], "ipcguard:restrict remote sam"));
	/* Unreadable: nobody but Samba's own callers connects to SAM. */
	r.token = "admins";
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_DENY);
	assert_string_equal(d.rule, "restrict-remote-sam");
	r.local_system = true;
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_ALLOW);
	talloc_free(ctx);
}

#define WINREG "338cd001-2244-31f1-aaaa-900038001003"
#define EVENTLOG "System\\CurrentControlSet\\Services\\Eventlog"
#define CURRENT_VERSION "Software\\Microsoft\\Windows NT\\CurrentVersion"

/* The verdict for one winreg call of a user whose token is "users". */
static const char *winreg_call(const struct ipcguard_policy *p,
			       const char *token, uint16_t opnum,
			       const char *path, bool undecodable)
{
	struct ipcguard_request r = {
		.session = IPCGUARD_SESSION_AUTHENTICATED,
		.object = IPCGUARD_OBJECT_PIPE, .name = "winreg",
		.stage = IPCGUARD_STAGE_REQUEST, .opnum = opnum,
		.token = token, .registry_path = path,
		.registry_undecodable = undecodable,
	};
	struct ipcguard_decision d = { .verdict = IPCGUARD_ALLOW };

	assert_true(ipcguard_uuid_parse(WINREG, r.syntax.uuid));
	ipcguard_decide(p, &r, &d);
	assert_non_null(d.reason);
	return d.verdict == IPCGUARD_ALLOW ? "allow" : d.rule;
}

static void assert_paths_error(const char *value, const char *expected)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char **list = NULL;
	char *error = NULL;

	assert_false(ipcguard_parse_registry_paths(
		ctx, "remotely accessible registry paths", value, &list,
		&error));
	assert_null(list);
	assert_non_null(error);
	if (strstr(error, expected) == NULL ||
	    strstr(error, "ipcguard:remotely accessible registry paths") ==
	    NULL) {
		fail_msg("error \"%s\" lacks \"%s\"", error, expected);
	}
	talloc_free(ctx);
}

static void test_registry_path_lists(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char **list = NULL;
	char *error = NULL;
	struct ipcguard_remote_registry r = { .access_sddl = NULL };
	char *joined = NULL;

	/* Commas separate, spaces inside a path stay. */
	assert_true(ipcguard_parse_registry_paths(
		ctx, "x", " Software\\Microsoft\\OLAP Server ,A\\B C,,",
		&list, &error));
	assert_string_equal(list[0], "Software\\Microsoft\\OLAP Server");
	assert_string_equal(list[1], "A\\B C");
	assert_null(list[2]);
	assert_true(ipcguard_parse_registry_paths(ctx, "x", "", &list,
						  &error));
	assert_null(list[0]);
	assert_paths_error("Software/Samba", "\"/\"");
	assert_paths_error("Software\\\\Samba", "empty component");
	assert_paths_error("\\Software", "empty component");
	assert_paths_error("Software\\", "empty component");
	assert_paths_error("Software\\..\\Samba", "\"..\"");
	assert_paths_error("Software\\.", "\"..\"");
	assert_paths_error("Soft\tware", "control character");

	/* Exact entries, and subpaths below a component boundary. */
	r.exact_paths = (const char *[]) { CURRENT_VERSION, NULL };
	r.subpaths = (const char *[]) { EVENTLOG, NULL };
	assert_true(ipcguard_registry_path_allowed(&r, CURRENT_VERSION));
	assert_true(ipcguard_registry_path_allowed(
		&r, "SOFTWARE\\microsoft\\windows nt\\currentversion"));
	assert_false(ipcguard_registry_path_allowed(
		&r, CURRENT_VERSION "\\Print"));
	assert_false(ipcguard_registry_path_allowed(&r, "Software"));
	assert_true(ipcguard_registry_path_allowed(&r, EVENTLOG));
	assert_true(ipcguard_registry_path_allowed(
		&r, "system\\currentcontrolset\\services\\EVENTLOG\\App"));
	assert_false(ipcguard_registry_path_allowed(&r, EVENTLOG "X"));
	assert_false(ipcguard_registry_path_allowed(
		&r, EVENTLOG "\\..\\..\\Samba"));
	assert_false(ipcguard_registry_path_allowed(&r, EVENTLOG "\\"));
	assert_false(ipcguard_registry_path_allowed(&r, EVENTLOG "/x"));
	assert_false(ipcguard_registry_path_allowed(&r, ""));
	assert_false(ipcguard_registry_path_allowed(&r, NULL));

	{
		uint8_t uuid[16];

		assert_true(ipcguard_uuid_parse(WINREG, uuid));
		assert_true(ipcguard_registry_is_winreg(uuid));
		uuid[15] ^= 1;
		assert_false(ipcguard_registry_is_winreg(uuid));
	}
	/* Relative opens, as Samba's reg_openkey() reads them. */
	joined = ipcguard_registry_join(ctx, "", "Software\\Samba\\");
	assert_string_equal(joined, "Software\\Samba");
	joined = ipcguard_registry_join(ctx, EVENTLOG, "Application");
	assert_string_equal(joined, EVENTLOG "\\Application");
	joined = ipcguard_registry_join(ctx, EVENTLOG, "");
	assert_string_equal(joined, EVENTLOG);
	assert_null(ipcguard_registry_join(ctx, EVENTLOG, "..\\..\\X"));
	assert_null(ipcguard_registry_join(ctx, "", "\\Software"));
	assert_null(ipcguard_registry_join(ctx, "", "a\\\\b"));
	assert_null(ipcguard_registry_join(ctx, NULL, "a"));
	talloc_free(ctx);
}

static void test_remote_registry_decisions(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	/* The fake hooks compile only "D:" descriptors. */
	const char *defaults[] = { "remote registry access", "D:admins",
				   "restrict remote sam", "none", NULL };
	const char *custom[] = {
		"remote registry access", "D:admins",
		"remotely accessible registry paths", "Software\\Samba",
		"remotely accessible registry paths and subpaths", "",
		"restrict remote sam", "none", NULL };
	const char *everybody[] = { "remote registry access", "D:users",
				    "restrict remote sam", "none", NULL };
	const char *off[] = { "remote registry access", "none", NULL };
	const char *bad[] = {
		"remote registry access", "D:admins",
		"remotely accessible registry paths", "Software/Samba",
		"restrict remote sam", "none", NULL };
	const char *bad_sddl[] = { "remote registry access", "garbage",
				   "restrict remote sam", "none", NULL };
	const char *rule = "remote-registry-paths";
	struct ipcguard_policy *p = ipcguard_policy_load(ctx, opt_get,
							 defaults);
	uint16_t op;

	ipcguard_policy_set_hooks(p, &fake_hooks);
	assert_true(ipcguard_policy_is_valid(p));
	/* Opening HKLM, closing and the version need no key. */
	assert_string_equal(winreg_call(p, "users", 2, "", false), "allow");
	assert_string_equal(winreg_call(p, "users", 2, NULL, false), "allow");
	assert_string_equal(winreg_call(p, "users", 5, NULL, false), "allow");
	assert_string_equal(winreg_call(p, "users", 26, NULL, false),
			    "allow");
	/* Keys of the lists open and read; others, and HKLM itself, not. */
	assert_string_equal(winreg_call(p, "users", 15, CURRENT_VERSION,
					false), "allow");
	assert_string_equal(winreg_call(p, "users", 15,
					EVENTLOG "\\Application", false),
			    "allow");
	assert_string_equal(winreg_call(p, "users", 15, EVENTLOG "X", false),
			    rule);
	assert_string_equal(winreg_call(p, "users", 15, "Software\\Samba",
					false), rule);
	assert_string_equal(winreg_call(p, "users", 15,
					CURRENT_VERSION "\\Fonts", false),
			    rule);
	for (op = 9; op <= 17; op++) {
		bool read = op != 13;	/* LoadKey */

		assert_string_equal(winreg_call(p, "users", op,
						CURRENT_VERSION, false),
				    read ? "allow" : rule);
		assert_string_equal(winreg_call(p, "users", op, "", false),
				    rule);
		assert_string_equal(winreg_call(p, "users", op, NULL, false),
				    rule);
	}
	assert_string_equal(winreg_call(p, "users", 29, EVENTLOG, false),
			    "allow");
	assert_string_equal(winreg_call(p, "users", 34, EVENTLOG, false),
			    "allow");
	/* Writes, other hives, shutdown, save and load: never. */
	for (op = 0; op < 40; op++) {
		bool ok = op == 2 || op == 5 || (op >= 9 && op <= 12) ||
			  op == 14 || op == 15 || op == 16 || op == 17 ||
			  op == 26 || op == 29 || op == 34;

		assert_string_equal(winreg_call(p, "users", op, EVENTLOG,
						false), ok ? "allow" : rule);
		/* What the gate could not read, never. */
		assert_string_equal(winreg_call(p, "users", op, EVENTLOG,
						true), rule);
		/* Granted callers: everything. */
		assert_string_equal(winreg_call(p, "admins", op,
						"Software\\Samba", true),
				    "allow");
	}
	/* Samba itself (SYSTEM) is exempt; no token is never granted. */
	{
		struct ipcguard_request r = {
			.session = IPCGUARD_SESSION_AUTHENTICATED,
			.object = IPCGUARD_OBJECT_PIPE, .name = "winreg",
			.stage = IPCGUARD_STAGE_REQUEST, .opnum = 22,
			.local_system = true,
		};
		assert_true(ipcguard_uuid_parse(WINREG, r.syntax.uuid));
		assert_false(ipcguard_remote_registry_restricts(p, &r));
		r.local_system = false;
		assert_true(ipcguard_remote_registry_restricts(p, &r));
		/* Other interfaces and stages are not winreg calls. */
		r.stage = IPCGUARD_STAGE_BIND;
		assert_false(ipcguard_remote_registry_restricts(p, &r));
		r.stage = IPCGUARD_STAGE_REQUEST;
		r.syntax.uuid[0] ^= 1;
		assert_false(ipcguard_remote_registry_restricts(p, &r));
	}

	p = ipcguard_policy_load(ctx, opt_get, custom);
	ipcguard_policy_set_hooks(p, &fake_hooks);
	assert_true(ipcguard_policy_is_valid(p));
	assert_string_equal(winreg_call(p, "users", 15, "software\\samba",
					false), "allow");
	assert_string_equal(winreg_call(p, "users", 15, CURRENT_VERSION,
					false), rule);
	assert_string_equal(winreg_call(p, "users", 15, EVENTLOG, false),
			    rule);

	p = ipcguard_policy_load(ctx, opt_get, everybody);
	ipcguard_policy_set_hooks(p, &fake_hooks);
	assert_string_equal(winreg_call(p, "users", 22, "Software\\Samba",
					false), "allow");
	p = ipcguard_policy_load(ctx, opt_get, off);
	ipcguard_policy_set_hooks(p, &fake_hooks);
	assert_string_equal(winreg_call(p, "users", 22, NULL, true), "allow");

	/* Errors name the option and fail closed. */
	p = ipcguard_policy_load(ctx, opt_get, bad);
	ipcguard_policy_set_hooks(p, &fake_hooks);
	assert_false(ipcguard_policy_is_valid(p));
	assert_non_null(strstr(p->errors[0],
			       "ipcguard:remotely accessible registry paths"));
	assert_string_equal(winreg_call(p, "users", 15, CURRENT_VERSION,
					false), rule);
	assert_string_equal(winreg_call(p, "admins", 15, CURRENT_VERSION,
					false), "allow");
	p = ipcguard_policy_load(ctx, opt_get, bad_sddl);
	ipcguard_policy_set_hooks(p, &fake_hooks);
	assert_false(ipcguard_policy_is_valid(p));
	assert_non_null(strstr(p->errors[0],
			       "ipcguard:remote registry access"));
	assert_string_equal(winreg_call(p, "admins", 22, "", false), rule);
	assert_string_equal(winreg_call(p, "admins", 15, CURRENT_VERSION,
					false), "allow");
	/* Without hooks nobody is granted. */
	p = ipcguard_policy_load(ctx, opt_get, defaults);
	assert_string_equal(winreg_call(p, "admins", 22, "", false), rule);
	talloc_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_path_lists),
		cmocka_unit_test(test_remote_registry_decisions),
		cmocka_unit_test(test_restrict_remote_sam),
		cmocka_unit_test(test_invalid_fields_are_named),
		cmocka_unit_test(test_bad_names_and_missing_hooks),
		cmocka_unit_test(test_printer_bug_rule_by_stage_and_token),
		cmocka_unit_test(test_order_audit_only_and_first_match),
		cmocka_unit_test(test_judge_stages_in_order),
		cmocka_unit_test(test_gate_conditions),
		cmocka_unit_test(test_pipe_names_the_gate_accepts),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_conditions_in_any_order),
		cmocka_unit_test(test_interfaces_at_bind),
		cmocka_unit_test(test_invalid_policy_still_refuses_anonymous),
		cmocka_unit_test(test_rule_text_round_trip),
		cmocka_unit_test(test_pipe_rules_hold_on_every_alias),
		cmocka_unit_test(test_interface_rules_follow_the_interface),
		cmocka_unit_test(
			test_allow_rules_follow_only_to_pipes_that_serve),
		cmocka_unit_test(test_anonymous_lsa_names_through_every_pipe),
		cmocka_unit_test(test_star_on_a_carrier_stays_there),
		cmocka_unit_test(test_tcp_calls_get_what_smb_gives),
		cmocka_unit_test(test_missed_pipes_are_named),
		cmocka_unit_test(test_any_allocation_failure_fails_closed),
		cmocka_unit_test(test_index_decides_as_a_full_scan),
		cmocka_unit_test(test_index_keeps_rule_order_and_names),
	};

	return cmocka_run_group_tests_name("ipcguard_rules", tests, NULL,
					   NULL);
}
