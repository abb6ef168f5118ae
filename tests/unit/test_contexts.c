/*
 * Unit tests for the gate's view of a pipe's presentation contexts
 * (source/policy/ipcguard_contexts.c): a context id means what the RPC
 * server bound it to, never what a client asked for; and of its calls
 * owed an answer (source/policy/ipcguard_calls.c): an answer belongs to
 * exactly one forwarded call.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "ipcguard_contexts.h"
#include "ipcguard_calls.h"

static struct ipcguard_context_item item(uint16_t id, uint8_t iface)
{
	struct ipcguard_context_item i = { .id = id };

	i.syntax.uuid[0] = iface;
	i.syntax.major = 3;
	return i;
}

static void assert_bound(struct ipcguard_contexts *c, uint16_t id,
			 uint8_t iface)
{
	const struct ipcguard_syntax *s = ipcguard_contexts_find(c, id);

	assert_non_null(s);
	assert_int_equal(s->uuid[0], iface);
}

/* The attack of issue 11: alter context reusing id 0, server rejects. */
static void test_rejected_reuse_keeps_the_server_binding(void **state)
{
	struct ipcguard_contexts *c = ipcguard_contexts_new(NULL);
	struct ipcguard_context_item srvsvc = item(0, 1);
	struct ipcguard_context_item other = item(0, 2);
	bool yes = true, no = false;
	const char *why = NULL;

	assert_true(ipcguard_contexts_offer(c, 1, &srvsvc, 1, &why));
	assert_null(ipcguard_contexts_find(c, 0));	/* not yet answered */
	assert_true(ipcguard_contexts_answer(c, 1, &yes, 1, &why));
	assert_bound(c, 0, 1);
	/* Another interface on a bound id is refused before the server. */
	assert_false(ipcguard_contexts_offer(c, 2, &other, 1, &why));
	assert_non_null(strstr(why, "already bound"));
	assert_false(ipcguard_contexts_pending(c));
	/* The same interface again (an alter context for auth) may go. */
	assert_true(ipcguard_contexts_offer(c, 3, &srvsvc, 1, &why));
	assert_true(ipcguard_contexts_answer(c, 3, &no, 1, &why));
	assert_bound(c, 0, 1);
	talloc_free(c);
}

static void test_duplicate_ids_in_one_offer(void **state)
{
	struct ipcguard_contexts *c = ipcguard_contexts_new(NULL);
	struct ipcguard_context_item two[2] = { item(5, 1), item(5, 2) };
	const char *why = NULL;

	assert_false(ipcguard_contexts_offer(c, 1, two, 2, &why));
	assert_non_null(strstr(why, "twice"));
	assert_false(ipcguard_contexts_pending(c));
	talloc_free(c);
}

/* Only what the server accepted is bound; rejected items are not. */
static void test_only_accepted_items_are_learnt(void **state)
{
	struct ipcguard_contexts *c = ipcguard_contexts_new(NULL);
	struct ipcguard_context_item three[3] = {
		item(0, 1), item(1, 2), item(2, 3),
	};
	bool results[3] = { false, true, false };
	const char *why = NULL;

	assert_true(ipcguard_contexts_offer(c, 7, three, 3, &why));
	assert_true(ipcguard_contexts_answer(c, 7, results, 3, &why));
	assert_null(ipcguard_contexts_find(c, 0));
	assert_bound(c, 1, 2);
	assert_null(ipcguard_contexts_find(c, 2));
	assert_null(ipcguard_contexts_find(c, 9));
	talloc_free(c);
}

static void test_answers_must_fit_the_offer(void **state)
{
	struct ipcguard_contexts *c = ipcguard_contexts_new(NULL);
	struct ipcguard_context_item one = item(0, 1);
	bool results[2] = { true, true };
	const char *why = NULL;

	/* Nothing offered: an acknowledgement is out of place. */
	assert_false(ipcguard_contexts_answer(c, 1, results, 1, &why));
	assert_true(ipcguard_contexts_offer(c, 1, &one, 1, &why));
	/* A second offer before the answer is refused. */
	assert_false(ipcguard_contexts_offer(c, 2, &one, 1, &why));
	/* An answer for another call, or with more results, does not fit. */
	assert_false(ipcguard_contexts_answer(c, 2, results, 1, &why));
	assert_true(ipcguard_contexts_pending(c));
	assert_false(ipcguard_contexts_answer(c, 1, results, 2, &why));
	assert_null(ipcguard_contexts_find(c, 0));
	talloc_free(c);
}

static void test_refusals_settle_the_offer(void **state)
{
	struct ipcguard_contexts *c = ipcguard_contexts_new(NULL);
	struct ipcguard_context_item one = item(4, 1);
	bool yes = true;
	const char *why = NULL;

	assert_true(ipcguard_contexts_offer(c, 10, &one, 1, &why));
	/* A fault for another call is not the answer. */
	assert_false(ipcguard_contexts_refused(c, 9));
	assert_true(ipcguard_contexts_pending(c));
	assert_true(ipcguard_contexts_refused(c, 10));
	assert_false(ipcguard_contexts_pending(c));
	assert_null(ipcguard_contexts_find(c, 4));
	/* A late acknowledgement of the refused offer does not bind. */
	assert_false(ipcguard_contexts_answer(c, 10, &yes, 1, &why));
	assert_null(ipcguard_contexts_find(c, 4));
	talloc_free(c);
}

static void test_context_limit(void **state)
{
	struct ipcguard_contexts *c = ipcguard_contexts_new(NULL);
	const char *why = NULL;
	bool yes = true;
	unsigned i;

	for (i = 0; i < IPCGUARD_MAX_CONTEXTS; i++) {
		struct ipcguard_context_item it = item(i, 1);

		assert_true(ipcguard_contexts_offer(c, i, &it, 1, &why));
		assert_true(ipcguard_contexts_answer(c, i, &yes, 1, &why));
	}
	{
		struct ipcguard_context_item it = item(i, 1);

		assert_true(ipcguard_contexts_offer(c, i, &it, 1, &why));
		assert_false(ipcguard_contexts_answer(c, i, &yes, 1, &why));
		assert_null(ipcguard_contexts_find(c, i));
	}
	talloc_free(c);
}

/* Issue 24: [OpenHKLM, call 7] + [OpenKey, call 7] in one write. */
static void test_reused_outstanding_call_id_is_refused(void **state)
{
	struct ipcguard_calls *c = ipcguard_calls_new(NULL);
	struct ipcguard_call call;
	const char *why = NULL;

	assert_true(ipcguard_calls_send(c, IPCGUARD_CALL_REQUEST, 7, 2,
					&why));
	assert_true(ipcguard_calls_outstanding(c, 7));
	assert_false(ipcguard_calls_send(c, IPCGUARD_CALL_REQUEST, 7, 15,
					 &why));
	assert_non_null(strstr(why, "not answered yet"));
	/* Nor may a bind or alter context take it. */
	assert_false(ipcguard_calls_send(c, IPCGUARD_CALL_ALTER, 7, 0, &why));
	/* The one answer goes to the first call, with its opnum. */
	assert_true(ipcguard_calls_answer(c, IPCGUARD_ANSWER_RESPONSE, 7,
					  true, &call, &why));
	assert_int_equal(call.opnum, 2);
	assert_int_equal(ipcguard_calls_count(c), 0);
	/* Answered: the id is free again. */
	assert_true(ipcguard_calls_send(c, IPCGUARD_CALL_REQUEST, 7, 15,
					&why));
	talloc_free(c);
}

/* A fault for a request is not the answer to an alter context. */
static void test_answers_match_their_kind_and_order(void **state)
{
	struct ipcguard_calls *c = ipcguard_calls_new(NULL);
	struct ipcguard_call call;
	const char *why = NULL;

	assert_true(ipcguard_calls_send(c, IPCGUARD_CALL_REQUEST, 9, 21,
					&why));
	assert_true(ipcguard_calls_send(c, IPCGUARD_CALL_ALTER, 10, 0,
					&why));
	/* Not multiplexed: the alter's answer may not come first. */
	assert_false(ipcguard_calls_answer(c, IPCGUARD_ANSWER_ALTER_RESP, 10,
					   true, &call, &why));
	assert_non_null(strstr(why, "older"));
	/* An alter_resp never answers a request. */
	assert_false(ipcguard_calls_answer(c, IPCGUARD_ANSWER_ALTER_RESP, 9,
					   true, &call, &why));
	/* A fault answers the request ... */
	assert_true(ipcguard_calls_answer(c, IPCGUARD_ANSWER_FAULT, 9, false,
					  &call, &why));
	assert_int_equal(call.kind, IPCGUARD_CALL_REQUEST);
	/* ... and the alter then has its own answer. */
	assert_true(ipcguard_calls_answer(c, IPCGUARD_ANSWER_ALTER_RESP, 10,
					  true, &call, &why));
	assert_int_equal(call.kind, IPCGUARD_CALL_ALTER);
	/* Nothing outstanding: any answer is no answer. */
	assert_false(ipcguard_calls_answer(c, IPCGUARD_ANSWER_RESPONSE, 10,
					   true, &call, &why));
	assert_false(ipcguard_calls_answer(c, IPCGUARD_ANSWER_BIND_NAK, 0,
					   true, &call, &why));
	talloc_free(c);
}

/* A response in fragments keeps its call until the last one. */
static void test_fragmented_response_and_multiplexing(void **state)
{
	struct ipcguard_calls *c = ipcguard_calls_new(NULL);
	struct ipcguard_call call;
	const char *why = NULL;

	assert_true(ipcguard_calls_send(c, IPCGUARD_CALL_BIND, 1, 0, &why));
	assert_true(ipcguard_calls_answer(c, IPCGUARD_ANSWER_BIND_ACK, 1, true,
					  &call, &why));
	assert_true(ipcguard_calls_send(c, IPCGUARD_CALL_REQUEST, 2, 15,
					&why));
	assert_true(ipcguard_calls_send(c, IPCGUARD_CALL_REQUEST, 3, 21,
					&why));
	assert_true(ipcguard_calls_answer(c, IPCGUARD_ANSWER_RESPONSE, 2,
					  false, &call, &why));
	assert_true(ipcguard_calls_answer(c, IPCGUARD_ANSWER_RESPONSE, 2,
					  false, &call, &why));
	assert_int_equal(ipcguard_calls_count(c), 2);
	assert_true(ipcguard_calls_answer(c, IPCGUARD_ANSWER_RESPONSE, 2,
					  true, &call, &why));
	assert_int_equal(ipcguard_calls_count(c), 1);
	/* Multiplexed, Samba may finish a later call first. */
	assert_true(ipcguard_calls_send(c, IPCGUARD_CALL_REQUEST, 4, 21,
					&why));
	ipcguard_calls_set_multiplexed(c);
	assert_true(ipcguard_calls_answer(c, IPCGUARD_ANSWER_RESPONSE, 4,
					  true, &call, &why));
	assert_int_equal(call.call_id, 4);
	assert_true(ipcguard_calls_answer(c, IPCGUARD_ANSWER_RESPONSE, 3,
					  true, &call, &why));
	assert_int_equal(call.opnum, 21);
	talloc_free(c);
}

/*
 * A first PDU that is no bind goes to the server unjudged: only a bind_nak
 * (or a fault) may answer it, never a bind_ack or a response.
 */
static void test_no_bind_is_answered_by_bind_nak_alone(void **state)
{
	enum ipcguard_answer_kind takes[] = {
		IPCGUARD_ANSWER_BIND_ACK, IPCGUARD_ANSWER_ALTER_RESP,
		IPCGUARD_ANSWER_RESPONSE,
	};
	struct ipcguard_calls *c = NULL;
	struct ipcguard_call call;
	const char *why = NULL;
	size_t i;

	for (i = 0; i < sizeof(takes) / sizeof(takes[0]); i++) {
		c = ipcguard_calls_new(NULL);
		assert_true(ipcguard_calls_send(c, IPCGUARD_CALL_NO_BIND, 7, 0,
						&why));
		assert_false(ipcguard_calls_answer(c, takes[i], 7, true,
						   &call, &why));
		talloc_free(c);
	}
	c = ipcguard_calls_new(NULL);
	assert_true(ipcguard_calls_send(c, IPCGUARD_CALL_NO_BIND, 7, 0, &why));
	assert_true(ipcguard_calls_answer(c, IPCGUARD_ANSWER_BIND_NAK, 7, true,
					  &call, &why));
	assert_int_equal(call.kind, IPCGUARD_CALL_NO_BIND);
	assert_int_equal(ipcguard_calls_count(c), 0);
	talloc_free(c);
}

static void test_outstanding_call_limit(void **state)
{
	struct ipcguard_calls *c = ipcguard_calls_new(NULL);
	const char *why = NULL;
	uint32_t i;

	for (i = 0; i < IPCGUARD_MAX_OUTSTANDING_CALLS; i++) {
		assert_true(ipcguard_calls_send(c, IPCGUARD_CALL_REQUEST, i,
						0, &why));
	}
	assert_false(ipcguard_calls_send(c, IPCGUARD_CALL_REQUEST, i, 0,
					 &why));
	assert_non_null(strstr(why, "too many"));
	talloc_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rejected_reuse_keeps_the_server_binding),
		cmocka_unit_test(test_duplicate_ids_in_one_offer),
		cmocka_unit_test(test_only_accepted_items_are_learnt),
		cmocka_unit_test(test_answers_must_fit_the_offer),
		cmocka_unit_test(test_refusals_settle_the_offer),
		cmocka_unit_test(test_context_limit),
		cmocka_unit_test(test_reused_outstanding_call_id_is_refused),
		cmocka_unit_test(test_no_bind_is_answered_by_bind_nak_alone),
		cmocka_unit_test(test_answers_match_their_kind_and_order),
		cmocka_unit_test(test_fragmented_response_and_multiplexing),
		cmocka_unit_test(test_outstanding_call_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
