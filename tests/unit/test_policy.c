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
		cmocka_unit_test(test_first_error_out_of_memory),
		cmocka_unit_test(test_any_allocation_failure_fails_closed),
	};

	return cmocka_run_group_tests_name("ipcguard_policy", tests, NULL,
					   NULL);
}
