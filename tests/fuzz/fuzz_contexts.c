/*
 * libFuzzer target: the gate's view of a pipe's presentation contexts
 * (source/policy/ipcguard_contexts.c) against a model of Samba's RPC
 * server, over arbitrary sequences of binds, alter contexts, faults and
 * requests.
 *
 * The model follows Samba 4.17's librpc/rpc/dcesrv_core.c:
 * dcesrv_negotiate_contexts() binds at most one new context per PDU;
 * dcesrv_check_or_create_context() rejects an interface the endpoint does
 * not carry before it looks at the id, accepts an id already bound only to
 * the same interface and ends the connection (protocol error) for another
 * one; a second bind is answered with bind_nak, an alter before any bind
 * ends the connection.
 *
 * The oracle: whenever a request names a context id, the interface the
 * gate judges it on is the one the server runs it on.  A gate that knows
 * no interface for the id refuses the request, which is safe; it must
 * never know a different one.  When the server answers every offer (no
 * fault crossing the answer), the two views must be equal.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipcguard_contexts.h"

#define IDS 4		/* context ids 0..3: reuse is likely */
#define SYNTAXES 6	/* 0..3 carried by the endpoint, 4..5 not */
#define CARRIED 4

struct server {
	bool bound[IDS];
	unsigned syntax[IDS];
	bool had_bind;
	bool gone;
};

struct input {
	const uint8_t *data;
	size_t size;
};

static unsigned next(struct input *in)
{
	unsigned v;

	if (in->size == 0) {
		return 0;
	}
	v = in->data[0];
	in->data++;
	in->size--;
	return v;
}

static void syntax_of(unsigned n, struct ipcguard_syntax *s)
{
	memset(s, 0, sizeof(*s));
	s->uuid[0] = (uint8_t)(n + 1);
	s->major = 1;
}

static unsigned syntax_index(const struct ipcguard_syntax *s)
{
	return (unsigned)s->uuid[0] - 1;
}

/*
 * The server's answer to an offer: false when it ends the connection
 * (or answers with a nak, *nak set); accepted[] otherwise.
 */
static bool server_offer(struct server *srv, bool is_bind,
			 const struct ipcguard_context_item *items, size_t n,
			 const bool *iface_bind_fails, bool accepted[],
			 bool *nak)
{
	bool negotiated = false;
	size_t i;

	*nak = false;
	if (is_bind && srv->had_bind) {
		*nak = true;
		return false;
	}
	if (!is_bind && !srv->had_bind) {
		srv->gone = true;
		return false;
	}
	srv->had_bind = true;
	for (i = 0; i < n; i++) {
		unsigned sx = syntax_index(&items[i].syntax);
		uint16_t id = items[i].id;

		accepted[i] = false;
		if (sx >= CARRIED || negotiated) {
			continue;
		}
		if (srv->bound[id]) {
			if (srv->syntax[id] != sx) {
				srv->gone = true;
				return false;
			}
			accepted[i] = true;
			negotiated = true;
			continue;
		}
		if (iface_bind_fails[i]) {
			continue;
		}
		srv->bound[id] = true;
		srv->syntax[id] = sx;
		accepted[i] = true;
		negotiated = true;
	}
	return true;
}

static void check_views(const struct ipcguard_contexts *gate,
			const struct server *srv, bool exact)
{
	uint16_t id;

	for (id = 0; id < IDS; id++) {
		const struct ipcguard_syntax *g =
			ipcguard_contexts_find(gate, id);

		if (g != NULL && (!srv->bound[id] ||
				  syntax_index(g) != srv->syntax[id])) {
			abort();	/* judged on another interface */
		}
		if (exact && g == NULL && srv->bound[id]) {
			abort();	/* views differ without a reason */
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct ipcguard_contexts *gate = ipcguard_contexts_new(ctx);
	struct server srv = { .had_bind = false };
	struct input in = { .data = data, .size = size };
	uint32_t call_id = 1;
	bool exact = true;
	bool gate_closed = false;

	if (gate == NULL) {
		abort();
	}
	while (in.size > 0 && !srv.gone && !gate_closed) {
		unsigned op = next(&in) % 4;
		struct ipcguard_context_item items[4];
		bool fails[4] = { false };
		bool accepted[4] = { false };
		const char *why = NULL;
		bool nak = false;
		size_t n, i;

		if (op == 3) {
			/* A request on some id: the oracle. */
			check_views(gate, &srv, exact);
			continue;
		}
		if (op == 2) {
			/* A fault for a call nothing waits on: no answer. */
			if (ipcguard_contexts_refused(gate, call_id + 1)) {
				abort();
			}
			continue;
		}
		n = 1 + next(&in) % 4;
		for (i = 0; i < n; i++) {
			unsigned b = next(&in);

			items[i].id = b % IDS;
			syntax_of((b / IDS) % SYNTAXES, &items[i].syntax);
			fails[i] = (b & 0x80) != 0;
		}
		call_id++;
		if (!ipcguard_contexts_offer(gate, call_id, items, n, &why)) {
			if (why == NULL) {
				abort();	/* a refusal says why */
			}
			continue;	/* faulted: the server never sees it */
		}
		if (!ipcguard_contexts_pending(gate)) {
			abort();
		}
		if (next(&in) % 8 == 0) {
			/*
			 * The server faults an earlier call whose id the
			 * client reused for this offer, before it answers the
			 * offer: the gate takes the fault for the answer.
			 */
			if (!ipcguard_contexts_refused(gate, call_id)) {
				abort();
			}
			exact = false;
		}
		if (server_offer(&srv, op == 0, items, n, fails, accepted,
				 &nak)) {
			if (!ipcguard_contexts_answer(gate, call_id, accepted,
						      n, &why)) {
				/* Only after a fault was taken as answer. */
				if (exact) {
					abort();
				}
				gate_closed = true;
			}
		} else if (nak || srv.gone) {
			/* bind_nak, or the fault before the disconnect. */
			(void)ipcguard_contexts_refused(gate, call_id);
		}
		check_views(gate, &srv, exact);
	}
	talloc_free(ctx);
	return 0;
}
