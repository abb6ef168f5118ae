/*
 * Unit tests for the ipcguard policy engine (pure logic, no smbd).
 */

#include "alloc_fail.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "ipcguard_policy.h"

struct opt {
	const char *name;
	const char *value;
};

static const char *table_get(void *private_data, const char *option)
{
	const struct opt *o = private_data;

	for (; o != NULL && o->name != NULL; o++) {
		if (strcmp(o->name, option) == 0) {
			return o->value;
		}
	}
	return NULL;
}

static struct ipcguard_policy *load(TALLOC_CTX *ctx, const struct opt *opts)
{
	struct ipcguard_policy *p = ipcguard_policy_load(ctx, table_get,
							 (void *)opts);

	assert_non_null(p);
	return p;
}

static enum ipcguard_verdict decide(const struct ipcguard_policy *p,
				    enum ipcguard_session_kind s,
				    enum ipcguard_object_kind o,
				    const char *name, const char **rule)
{
	struct ipcguard_request r = {
		.session = s, .object = o, .name = name,
		.pipe_gate_ready = true,
	};
	struct ipcguard_decision d = { .verdict = IPCGUARD_ALLOW };

	ipcguard_decide(p, &r, &d);
	assert_non_null(d.rule);
	assert_non_null(d.reason);
	if (rule != NULL) {
		*rule = d.rule;
	}
	return d.verdict;
}

#define ANON IPCGUARD_SESSION_ANONYMOUS
#define GUEST IPCGUARD_SESSION_GUEST
#define USER IPCGUARD_SESSION_AUTHENTICATED
#define SHARE IPCGUARD_OBJECT_SHARE
#define IPC IPCGUARD_OBJECT_IPC
#define PIPE IPCGUARD_OBJECT_PIPE

static void test_defaults_refuse_anonymous(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct ipcguard_policy *p = load(ctx, NULL);
	const char *rule = NULL;

	assert_true(ipcguard_policy_is_valid(p));
	assert_true(p->restrict_null_session_access);
	assert_false(p->everyone_includes_anonymous);
	assert_true(p->guest_is_anonymous);
	assert_false(p->audit_allowed);
	assert_int_equal(decide(p, ANON, IPC, "IPC$", &rule), IPCGUARD_DENY);
	assert_string_equal(rule, "auto-disable");
	assert_int_equal(decide(p, ANON, SHARE, "public", &rule),
			 IPCGUARD_DENY);
	assert_string_equal(rule, "auto-disable");
	assert_int_equal(decide(p, ANON, PIPE, "lsarpc", &rule),
			 IPCGUARD_DENY);
	assert_int_equal(decide(p, GUEST, SHARE, "public", &rule),
			 IPCGUARD_DENY);
	assert_int_equal(decide(p, USER, SHARE, "public", &rule),
			 IPCGUARD_ALLOW);
	assert_string_equal(rule, "authenticated");
	assert_int_equal(decide(p, USER, IPC, "IPC$", NULL), IPCGUARD_ALLOW);
	talloc_free(ctx);
}

static void test_share_list(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct opt o[] = {
		{ IPCGUARD_OPT_NULL_SESSION_SHARES, "public, \"Two Words\"" },
		{ NULL, NULL },
	};
	struct ipcguard_policy *p = load(ctx, o);
	const char *rule = NULL;

	assert_true(ipcguard_policy_is_valid(p));
	assert_string_equal(p->null_session_shares[0], "public");
	assert_string_equal(p->null_session_shares[1], "Two Words");
	assert_null(p->null_session_shares[2]);
	assert_int_equal(decide(p, ANON, SHARE, "PUBLIC", &rule),
			 IPCGUARD_ALLOW);
	assert_string_equal(rule, "null-session-shares");
	assert_int_equal(decide(p, ANON, SHARE, "two words", NULL),
			 IPCGUARD_ALLOW);
	assert_int_equal(decide(p, ANON, SHARE, "private", &rule),
			 IPCGUARD_DENY);
	assert_string_equal(rule, "null-session-shares");
	/* No pipes listed: IPC$ has nothing to offer anonymous. */
	assert_int_equal(decide(p, ANON, IPC, "IPC$", &rule), IPCGUARD_DENY);
	assert_string_equal(rule, "null-session-pipes");
	talloc_free(ctx);
}

static void test_pipe_list(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct opt o[] = {
		{ IPCGUARD_OPT_NULL_SESSION_PIPES, "lsarpc \\PIPE\\samr" },
		{ NULL, NULL },
	};
	struct ipcguard_policy *p = load(ctx, o);
	const char *rule = NULL;

	assert_true(ipcguard_policy_is_valid(p));
	assert_string_equal(p->null_session_pipes[1], "samr");
	assert_int_equal(decide(p, ANON, IPC, "IPC$", &rule), IPCGUARD_ALLOW);
	assert_int_equal(decide(p, ANON, PIPE, "LSARPC", &rule),
			 IPCGUARD_ALLOW);
	assert_int_equal(decide(p, ANON, PIPE, "samr", NULL), IPCGUARD_ALLOW);
	assert_int_equal(decide(p, ANON, PIPE, "srvsvc", &rule),
			 IPCGUARD_DENY);
	assert_string_equal(rule, "null-session-pipes");
	assert_int_equal(decide(p, USER, PIPE, "srvsvc", NULL),
			 IPCGUARD_ALLOW);
	/* Pipes listed but no shares: disk shares stay closed. */
	assert_int_equal(decide(p, ANON, SHARE, "public", NULL),
			 IPCGUARD_DENY);
	talloc_free(ctx);
}

static void test_ipc_needs_gate(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct opt o[] = {
		{ IPCGUARD_OPT_NULL_SESSION_PIPES, "lsarpc" },
		{ NULL, NULL },
	};
	struct ipcguard_policy *p = load(ctx, o);
	struct ipcguard_request r = {
		.session = ANON, .object = IPC, .name = "IPC$",
		.pipe_gate_ready = false,
	};
	struct ipcguard_decision d = { .verdict = IPCGUARD_ALLOW };

	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_DENY);
	assert_string_equal(d.rule, "pipe-gate");
	r.session = USER;
	ipcguard_decide(p, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_ALLOW);
	talloc_free(ctx);
}

static void test_restrict_off(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct opt o[] = {
		{ IPCGUARD_OPT_NULL_SESSION_SHARES, "public" },
		{ IPCGUARD_OPT_RESTRICT_NULL_SESSION_ACCESS, "No" },
		{ NULL, NULL },
	};
	struct ipcguard_policy *p = load(ctx, o);
	const char *rule = NULL;

	assert_true(ipcguard_policy_is_valid(p));
	assert_int_equal(decide(p, ANON, SHARE, "other", &rule),
			 IPCGUARD_ALLOW);
	assert_string_equal(rule, "restrict-null-session-access");
	assert_int_equal(decide(p, ANON, PIPE, "srvsvc", NULL),
			 IPCGUARD_ALLOW);
	assert_int_equal(decide(p, ANON, IPC, "IPC$", NULL), IPCGUARD_ALLOW);
	talloc_free(ctx);
}

static void test_restrict_off_still_auto_disables(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct opt o[] = {
		{ IPCGUARD_OPT_RESTRICT_NULL_SESSION_ACCESS, "no" },
		{ NULL, NULL },
	};
	struct ipcguard_policy *p = load(ctx, o);
	const char *rule = NULL;

	assert_int_equal(decide(p, ANON, SHARE, "other", &rule),
			 IPCGUARD_DENY);
	assert_string_equal(rule, "auto-disable");
	talloc_free(ctx);
}

static void test_guest_choice(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct opt o_yes[] = {
		{ IPCGUARD_OPT_NULL_SESSION_SHARES, "public" },
		{ NULL, NULL },
	};
	struct opt o_no[] = {
		{ IPCGUARD_OPT_NULL_SESSION_SHARES, "public" },
		{ IPCGUARD_OPT_GUEST_IS_ANONYMOUS, "no" },
		{ NULL, NULL },
	};
	struct ipcguard_policy *p = load(ctx, o_yes);
	const char *rule = NULL;

	assert_int_equal(decide(p, GUEST, SHARE, "private", &rule),
			 IPCGUARD_DENY);
	assert_true(ipcguard_strip_everyone(p, GUEST));
	p = load(ctx, o_no);
	assert_int_equal(decide(p, GUEST, SHARE, "private", &rule),
			 IPCGUARD_ALLOW);
	assert_string_equal(rule, "guest-is-anonymous");
	assert_false(ipcguard_strip_everyone(p, GUEST));
	assert_true(ipcguard_strip_everyone(p, ANON));
	talloc_free(ctx);
}

static void test_everyone_includes_anonymous(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct opt o[] = {
		{ IPCGUARD_OPT_EVERYONE_INCLUDES_ANONYMOUS, "yes" },
		{ NULL, NULL },
	};
	struct ipcguard_policy *p = load(ctx, NULL);

	assert_true(ipcguard_strip_everyone(p, ANON));
	assert_false(ipcguard_strip_everyone(p, USER));
	p = load(ctx, o);
	assert_false(ipcguard_strip_everyone(p, ANON));
	talloc_free(ctx);
}

/* Each bad value: a clear error naming option and value, policy invalid,
 * anonymous refused, authenticated untouched. */
static void check_bad(const char *option, const char *value,
		      const char *expect_in_error)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct opt o[] = {
		{ IPCGUARD_OPT_NULL_SESSION_SHARES, "public" },
		{ IPCGUARD_OPT_NULL_SESSION_PIPES, "lsarpc" },
		{ option, value },
		{ NULL, NULL },
	};
	struct ipcguard_policy *p = NULL;
	const char *rule = NULL;

	/* Later entries lose to earlier ones in table_get: put it first. */
	if (strcmp(option, IPCGUARD_OPT_NULL_SESSION_SHARES) == 0 ||
	    strcmp(option, IPCGUARD_OPT_NULL_SESSION_PIPES) == 0) {
		o[strcmp(option, IPCGUARD_OPT_NULL_SESSION_SHARES) == 0 ?
		  0 : 1].value = value;
	}
	p = load(ctx, o);
	assert_false(ipcguard_policy_is_valid(p));
	assert_non_null(p->errors[0]);
	assert_non_null(strstr(p->errors[0], option));
	if (expect_in_error != NULL) {
		assert_non_null(strstr(p->errors[0], expect_in_error));
	}
	assert_null(strchr(p->errors[0], '\n'));
	assert_int_equal(decide(p, ANON, SHARE, "public", &rule),
			 IPCGUARD_DENY);
	assert_string_equal(rule, "invalid-policy");
	assert_int_equal(decide(p, ANON, PIPE, "lsarpc", NULL),
			 IPCGUARD_DENY);
	assert_int_equal(decide(p, ANON, IPC, "IPC$", NULL), IPCGUARD_DENY);
	assert_int_equal(decide(p, GUEST, SHARE, "public", NULL),
			 IPCGUARD_DENY);
	assert_int_equal(decide(p, USER, SHARE, "public", NULL),
			 IPCGUARD_ALLOW);
	assert_true(ipcguard_strip_everyone(p, ANON));
	talloc_free(ctx);
}

static void test_bad_values(void **state)
{
	check_bad(IPCGUARD_OPT_RESTRICT_NULL_SESSION_ACCESS, "maybe",
		  "not a boolean");
	check_bad(IPCGUARD_OPT_RESTRICT_NULL_SESSION_ACCESS, "", NULL);
	check_bad(IPCGUARD_OPT_EVERYONE_INCLUDES_ANONYMOUS, "yess", "yess");
	check_bad(IPCGUARD_OPT_GUEST_IS_ANONYMOUS, "2", NULL);
	check_bad(IPCGUARD_OPT_AUDIT_ALLOWED, "all", "not a boolean");
	check_bad(IPCGUARD_OPT_NULL_SESSION_SHARES, "pub/lic", "\"/\"");
	check_bad(IPCGUARD_OPT_NULL_SESSION_SHARES, "IPC$", "null session pipes");
	check_bad(IPCGUARD_OPT_NULL_SESSION_SHARES, "\"unterminated", "quote");
	check_bad(IPCGUARD_OPT_NULL_SESSION_SHARES, "a\x01" "b", "\\x01");
	check_bad(IPCGUARD_OPT_NULL_SESSION_PIPES, "lsa*", "\"*\"");
	check_bad(IPCGUARD_OPT_NULL_SESSION_PIPES, "..\\samr", NULL);
	check_bad(IPCGUARD_OPT_NULL_SESSION_PIPES, "\"\"", "empty name");
	check_bad(IPCGUARD_OPT_NULL_SESSION_SHARES,
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "longer than 80");
}

static void test_bool_words(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const char *t[] = { "yes", "YES", " true ", "On", "1" };
	const char *f[] = { "no", "False", "off", "0", "\tno\n" };
	char *err = NULL;
	bool b;
	size_t i;

	for (i = 0; i < 5; i++) {
		b = false;
		assert_true(ipcguard_parse_bool(ctx, "x", t[i], &b, &err));
		assert_true(b);
		b = true;
		assert_true(ipcguard_parse_bool(ctx, "x", f[i], &b, &err));
		assert_false(b);
	}
	assert_false(ipcguard_parse_bool(ctx, "x", NULL, &b, &err));
	assert_non_null(err);
	talloc_free(ctx);
}

static void test_list_limits(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	char *big = talloc_strdup(ctx, "");
	const char **list = NULL;
	char *err = NULL;
	int i;

	for (i = 0; i < 1025; i++) {
		big = talloc_asprintf_append(big, "p%d,", i);
	}
	assert_false(ipcguard_parse_name_list(ctx, "null session pipes", big,
					      true, &list, &err));
	assert_non_null(strstr(err, "more than 1024"));
	assert_true(ipcguard_parse_name_list(ctx, "null session pipes",
					     " , ,, ", true, &list, &err));
	assert_null(list[0]);
	talloc_free(ctx);
}

static void test_null_inputs(void **state)
{
	struct ipcguard_decision d = { .verdict = IPCGUARD_ALLOW };
	struct ipcguard_request r = { .session = ANON, .object = SHARE,
				      .name = "x" };

	ipcguard_decide(NULL, &r, &d);
	assert_int_equal(d.verdict, IPCGUARD_DENY);
	d.verdict = IPCGUARD_ALLOW;
	ipcguard_decide(NULL, NULL, &d);
	assert_int_equal(d.verdict, IPCGUARD_DENY);
	assert_true(ipcguard_strip_everyone(NULL, ANON));
}

/* A request stage call: interface by UUID text, opnum. */
static const char *call(const struct ipcguard_policy *p,
			enum ipcguard_session_kind s, const char *uuid,
			uint16_t opnum)
{
	struct ipcguard_request r = {
		.session = s, .object = PIPE, .name = "lsass",
		.pipe_gate_ready = true, .stage = IPCGUARD_STAGE_REQUEST,
		.opnum = opnum,
	};
	struct ipcguard_decision d = { .verdict = IPCGUARD_ALLOW };

	assert_true(ipcguard_uuid_parse(uuid, r.syntax.uuid));
	r.syntax.major = 1;
	ipcguard_decide(p, &r, &d);
	assert_non_null(d.reason);
	return d.verdict == IPCGUARD_ALLOW ? "allow" : d.rule;
}

#define LSA "12345778-1234-abcd-ef00-0123456789ab"
#define SAMR "12345778-1234-abcd-ef00-0123456789ac"
#define SRVSVC "4b324fc8-1670-01d3-1278-5a47bf6ee188"

static void test_network_access_defaults(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const struct opt opts[] = {
		{ IPCGUARD_OPT_NULL_SESSION_PIPES, "lsarpc samr srvsvc" },
		{ NULL, NULL },
	};
	struct ipcguard_policy *p = load(ctx, opts);
	uint16_t op;

	assert_true(ipcguard_policy_is_valid(p));
	/* Windows: no anonymous translation either way, on any alias. */
	for (op = 0; op < 100; op++) {
		bool lookup = op == 14 || op == 15 || op == 57 || op == 58 ||
			      op == 68 || op == 76 || op == 77;

		assert_string_equal(call(p, ANON, LSA, op),
				    lookup ? "lsa-anonymous-name-lookup" :
				    "allow");
		assert_string_equal(call(p, GUEST, LSA, op),
				    lookup ? "lsa-anonymous-name-lookup" :
				    "allow");
		assert_string_equal(call(p, USER, LSA, op), "allow");
	}
	/* RestrictAnonymousSAM: only connect, domain lookup, close and
	 * password changes. */
	for (op = 0; op < 80; op++) {
		bool ok = op <= 1 || (op >= 5 && op <= 7) ||
			  (op >= 54 && op <= 57) || (op >= 61 && op <= 64) ||
			  op == 73;

		assert_string_equal(call(p, ANON, SAMR, op),
				    ok ? "allow" : "restrict-anonymous-sam");
		assert_string_equal(call(p, USER, SAMR, op), "allow");
	}
	assert_string_equal(call(p, ANON, SAMR, 65535),
			    "restrict-anonymous-sam");
	/* RestrictAnonymous is off: shares may be listed. */
	assert_string_equal(call(p, ANON, SRVSVC, 15), "allow");
	talloc_free(ctx);
}

static void test_network_access_settings(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	const struct opt names[] = {
		{ IPCGUARD_OPT_NULL_SESSION_PIPES, "lsarpc" },
		{ IPCGUARD_OPT_ANONYMOUS_NAME_TRANSLATION, " Names Only " },
		{ IPCGUARD_OPT_RESTRICT_ANONYMOUS_SAM, "no" },
		{ IPCGUARD_OPT_RESTRICT_ANONYMOUS, "yes" },
		{ NULL, NULL },
	};
	const struct opt all[] = {
		{ IPCGUARD_OPT_NULL_SESSION_PIPES, "lsarpc" },
		{ IPCGUARD_OPT_ANONYMOUS_NAME_TRANSLATION, "yes" },
		{ IPCGUARD_OPT_RESTRICT_ANONYMOUS_SAM, "no" },
		{ NULL, NULL },
	};
	const struct opt bad[] = {
		{ IPCGUARD_OPT_NULL_SESSION_PIPES, "lsarpc" },
		{ IPCGUARD_OPT_ANONYMOUS_NAME_TRANSLATION, "sometimes" },
		{ NULL, NULL },
	};
	struct ipcguard_policy *p = load(ctx, names);

	assert_true(ipcguard_policy_is_valid(p));
	assert_string_equal(call(p, ANON, LSA, 14), "allow");
	assert_string_equal(call(p, ANON, LSA, 77), "allow");
	assert_string_equal(call(p, ANON, LSA, 15),
			    "lsa-anonymous-name-lookup");
	assert_string_equal(call(p, ANON, LSA, 76),
			    "lsa-anonymous-name-lookup");
	/* RestrictAnonymous covers SAM accounts whatever the SAM option. */
	assert_string_equal(call(p, ANON, SAMR, 13), "restrict-anonymous");
	assert_string_equal(call(p, ANON, SAMR, 0), "allow");
	assert_string_equal(call(p, ANON, SRVSVC, 15), "restrict-anonymous");
	assert_string_equal(call(p, ANON, SRVSVC, 36), "restrict-anonymous");
	assert_string_equal(call(p, ANON, SRVSVC, 21), "allow");
	assert_string_equal(call(p, USER, SRVSVC, 15), "allow");
	/* SMB1: smbd answers RAP share listings itself; no anonymous IPC$. */
	{
		struct ipcguard_request r = {
			.session = ANON, .object = IPC, .name = "IPC$",
			.pipe_gate_ready = true, .smb1 = true,
		};
		struct ipcguard_decision d = { .verdict = IPCGUARD_ALLOW };

		ipcguard_decide(p, &r, &d);
		assert_int_equal(d.verdict, IPCGUARD_DENY);
		assert_string_equal(d.rule, "restrict-anonymous");
		r.smb1 = false;
		ipcguard_decide(p, &r, &d);
		assert_int_equal(d.verdict, IPCGUARD_ALLOW);
		r.smb1 = true;
		r.session = USER;
		ipcguard_decide(p, &r, &d);
		assert_int_equal(d.verdict, IPCGUARD_ALLOW);
	}

	p = load(ctx, all);
	assert_true(ipcguard_policy_is_valid(p));
	assert_string_equal(call(p, ANON, LSA, 15), "allow");
	assert_string_equal(call(p, ANON, SAMR, 13), "allow");
	assert_string_equal(call(p, ANON, SRVSVC, 15), "allow");

	/* A bad value: invalid policy, the message names the choices. */
	p = load(ctx, bad);
	assert_false(ipcguard_policy_is_valid(p));
	assert_non_null(strstr(p->errors[0], "no, names only, yes"));
	assert_string_equal(call(p, ANON, LSA, 14), "invalid-policy");
	talloc_free(ctx);
}

static enum ipcguard_verdict limit(const struct ipcguard_policy *p,
				   enum ipcguard_session_kind s,
				   unsigned in_session, unsigned from_address,
				   const char **reason)
{
	struct ipcguard_decision d = { .verdict = IPCGUARD_ALLOW };

	ipcguard_decide_pipe_limit(p, s, in_session, from_address, &d);
	assert_string_equal(d.rule, "pipe-limit");
	assert_non_null(d.reason);
	if (reason != NULL) {
		*reason = d.reason;
	}
	return d.verdict;
}

static void test_pipe_limits(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct ipcguard_policy *p = load(ctx, NULL);
	const struct opt set[] = {
		{ "max pipes per anonymous session", "2" },
		{ "max anonymous pipes per address", "3" },
		{ "max pipes per session", "0" },
		{ "max pipes per address", " 5 " },
		{ "refused pipe timeout", "1" },
		{ "guest is anonymous", "no" },
		{ NULL, NULL },
	};
	const char *reason = NULL;

	assert_int_equal(p->max_pipes_per_anonymous_session, 32);
	assert_int_equal(p->max_anonymous_pipes_per_address, 256);
	assert_int_equal(p->max_pipes_per_session, 512);
	assert_int_equal(p->max_pipes_per_address, 2048);
	assert_int_equal(p->refused_pipe_timeout, 10);
	assert_int_equal(limit(p, ANON, 31, 255, NULL), IPCGUARD_ALLOW);
	assert_int_equal(limit(p, ANON, 32, 0, &reason), IPCGUARD_DENY);
	assert_non_null(strstr(reason, "max pipes per anonymous session"));
	assert_int_equal(limit(p, ANON, 0, 256, &reason), IPCGUARD_DENY);
	assert_non_null(strstr(reason, "max anonymous pipes per address"));
	/* Guests are held to the anonymous bounds by default. */
	assert_int_equal(limit(p, GUEST, 32, 0, NULL), IPCGUARD_DENY);
	assert_int_equal(limit(p, USER, 511, 2047, NULL), IPCGUARD_ALLOW);
	assert_int_equal(limit(p, USER, 512, 0, &reason), IPCGUARD_DENY);
	assert_non_null(strstr(reason, "max pipes per session"));
	assert_int_equal(limit(p, USER, 0, 2048, &reason), IPCGUARD_DENY);
	assert_non_null(strstr(reason, "max pipes per address"));
	/* No policy: the defaults. */
	assert_int_equal(limit(NULL, ANON, 32, 0, NULL), IPCGUARD_DENY);
	assert_int_equal(limit(NULL, USER, 32, 0, NULL), IPCGUARD_ALLOW);

	p = load(ctx, set);
	assert_true(ipcguard_policy_is_valid(p));
	assert_int_equal(p->refused_pipe_timeout, 1);
	assert_int_equal(limit(p, ANON, 1, 2, NULL), IPCGUARD_ALLOW);
	assert_int_equal(limit(p, ANON, 2, 0, NULL), IPCGUARD_DENY);
	assert_int_equal(limit(p, ANON, 0, 3, NULL), IPCGUARD_DENY);
	/* Exempt guests count as authenticated; 0 is no bound. */
	assert_int_equal(limit(p, GUEST, 100000, 4, NULL), IPCGUARD_ALLOW);
	assert_int_equal(limit(p, USER, 100000, 5, NULL), IPCGUARD_DENY);
	talloc_free(ctx);
}

static void test_bad_numbers(void **state)
{
	static const char *bad[] = {
		"", "-1", "+3", "1e3", "3 4", "0x10", "1000001",
		"99999999999999999999", "12abc", NULL,
	};
	TALLOC_CTX *ctx = talloc_new(NULL);
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		const struct opt o[] = {
			{ "max pipes per anonymous session", bad[i] },
			{ NULL, NULL },
		};
		struct ipcguard_policy *p = load(ctx, o);

		assert_false(ipcguard_policy_is_valid(p));
		assert_non_null(strstr(p->errors[0],
				       "max pipes per anonymous session"));
		/* The default bound stays in force. */
		assert_int_equal(p->max_pipes_per_anonymous_session, 32);
	}
	{
		const struct opt o[] = {
			{ "refused pipe timeout", "0" },
			{ NULL, NULL },
		};
		struct ipcguard_policy *p = load(ctx, o);

		assert_false(ipcguard_policy_is_valid(p));
		assert_int_equal(p->refused_pipe_timeout, 10);
	}
	talloc_free(ctx);
}

static void test_first_error_out_of_memory(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct ipcguard_policy *p = load(ctx, NULL);
	char *warning = NULL;

	assert_true(ipcguard_policy_is_valid(p));
	/* The list cannot grow to hold the first error. */
	alloc_fail_start(1);
	ipcguard_policy_add_error(p, NULL);
	alloc_fail_stop();
	assert_true(alloc_fail_injected);
	assert_false(ipcguard_policy_is_valid(p));
	assert_string_equal(p->errors[0], "out of memory");
	ipcguard_policy_add_error(p, talloc_strdup(p, "second"));
	assert_false(ipcguard_policy_is_valid(p));

	/* A warning that cannot be recorded is an error. */
	p = load(ctx, NULL);
	warning = talloc_strdup(p, "the rule database vanished");
	alloc_fail_start(1);
	ipcguard_policy_add_warning(p, warning);
	alloc_fail_stop();
	assert_true(alloc_fail_injected);
	assert_false(ipcguard_policy_is_valid(p));
	p = load(ctx, NULL);
	ipcguard_policy_add_warning(p, talloc_strdup(p, "kept"));
	assert_true(ipcguard_policy_is_valid(p));
	assert_string_equal(p->warnings[0], "kept");
	assert_null(p->warnings[1]);
	talloc_free(ctx);
}

static void assert_same_list(const char **a, const char **b)
{
	size_t i;

	for (i = 0; a[i] != NULL && b[i] != NULL; i++) {
		assert_string_equal(a[i], b[i]);
	}
	assert_null(a[i]);
	assert_null(b[i]);
}

/*
 * Every allocation of a load failing in turn: the policy is refused
 * (NULL or invalid) or it is the whole policy, never a shorter list.
 */
static void test_any_allocation_failure_fails_closed(void **state)
{
	static const struct opt good[] = {
		{ IPCGUARD_OPT_NULL_SESSION_PIPES,
		  "lsarpc, samr \\PIPE\\srvsvc netlogon" },
		{ IPCGUARD_OPT_NULL_SESSION_SHARES, "public \"my share\"" },
		{ IPCGUARD_OPT_RESTRICT_NULL_SESSION_ACCESS, "no" },
		{ IPCGUARD_OPT_EVERYONE_INCLUDES_ANONYMOUS, "yes" },
		{ IPCGUARD_OPT_GUEST_IS_ANONYMOUS, "no" },
		{ NULL, NULL },
	};
	static const struct opt bad[] = {
		{ IPCGUARD_OPT_NULL_SESSION_PIPES, "lsarpc" },
		{ IPCGUARD_OPT_GUEST_IS_ANONYMOUS, "perhaps" },
		{ NULL, NULL },
	};
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct ipcguard_policy *ref = load(ctx, good);
	unsigned at;
	bool injected = true;

	assert_true(ipcguard_policy_is_valid(ref));
	for (at = 1; injected; at++) {
		TALLOC_CTX *run = talloc_new(NULL);
		struct ipcguard_policy *p = NULL;

		alloc_fail_start(at);
		p = ipcguard_policy_load(run, table_get, (void *)good);
		alloc_fail_stop();
		injected = alloc_fail_injected;
		if (p != NULL && ipcguard_policy_is_valid(p)) {
			assert_same_list(p->null_session_pipes,
					 ref->null_session_pipes);
			assert_same_list(p->null_session_shares,
					 ref->null_session_shares);
			assert_false(p->restrict_null_session_access);
			assert_true(p->everyone_includes_anonymous);
			assert_false(p->guest_is_anonymous);
		}
		talloc_free(run);
	}
	assert_true(at > 10);
	for (at = 1, injected = true; injected; at++) {
		TALLOC_CTX *run = talloc_new(NULL);
		struct ipcguard_policy *p = NULL;

		alloc_fail_start(at);
		p = ipcguard_policy_load(run, table_get, (void *)bad);
		alloc_fail_stop();
		injected = alloc_fail_injected;
		if (p != NULL && ipcguard_policy_is_valid(p)) {
			fail_msg("a bad option loaded as valid when "
				 "allocation %u failed", at);
		}
		talloc_free(run);
	}
	talloc_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_refuse_anonymous),
		cmocka_unit_test(test_share_list),
		cmocka_unit_test(test_pipe_list),
		cmocka_unit_test(test_ipc_needs_gate),
		cmocka_unit_test(test_restrict_off),
		cmocka_unit_test(test_restrict_off_still_auto_disables),
		cmocka_unit_test(test_guest_choice),
		cmocka_unit_test(test_everyone_includes_anonymous),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bool_words),
		cmocka_unit_test(test_list_limits),
		cmocka_unit_test(test_null_inputs),
		cmocka_unit_test(test_network_access_defaults),
		cmocka_unit_test(test_network_access_settings),
		cmocka_unit_test(test_pipe_limits),
		cmocka_unit_test(test_bad_numbers),
		cmocka_unit_test(test_first_error_out_of_memory),
		cmocka_unit_test(test_any_allocation_failure_fails_closed),
	};

	return cmocka_run_group_tests_name("ipcguard_policy", tests, NULL,
					   NULL);
}
