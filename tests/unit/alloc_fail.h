/*
 * Allocation failure injection for the policy engine's unit tests.
 *
 * The engine is linked into the test binary, so these definitions of
 * talloc's allocating entry points take the place of libtalloc's for it;
 * each counts the call and fails the one numbered alloc_fail_at (1-based)
 * while alloc_fail_armed is set, then calls the real function.  A test
 * runs an operation with every call in turn failing, once each, and checks
 * that the outcome is a refusal or the full result: never a policy that
 * is valid but less than configured.  A single failure followed by
 * successes reaches the paths a failure-from-then-on never does.
 *
 * Include in one file per test binary, before anything else.
 */

#ifndef IPCGUARD_ALLOC_FAIL_H
#define IPCGUARD_ALLOC_FAIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <talloc.h>

static bool alloc_fail_armed;
static unsigned alloc_fail_at;		/* 0: never */
static unsigned alloc_fail_calls;	/* counted while armed */
static bool alloc_fail_injected;

static bool alloc_fail_now(void)
{
	if (!alloc_fail_armed) {
		return false;
	}
	alloc_fail_calls++;
	if (alloc_fail_calls == alloc_fail_at) {
		alloc_fail_injected = true;
		return true;
	}
	return false;
}

static void *alloc_fail_real(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);

	if (fn == NULL) {
		fprintf(stderr, "alloc_fail: no %s\n", name);
		abort();
	}
	return fn;
}

/* Arm for one run that fails call number at (0: none). */
static void alloc_fail_start(unsigned at)
{
	alloc_fail_at = at;
	alloc_fail_calls = 0;
	alloc_fail_injected = false;
	alloc_fail_armed = true;
}

static void alloc_fail_stop(void)
{
	alloc_fail_armed = false;
}

void *talloc_named_const(const void *context, size_t size, const char *name)
{
	static void *(*real)(const void *, size_t, const char *);

	if (alloc_fail_now()) {
		return NULL;
	}
	if (real == NULL) {
		real = alloc_fail_real("talloc_named_const");
	}
	return real(context, size, name);
}

void *_talloc_zero(const void *ctx, size_t size, const char *name)
{
	static void *(*real)(const void *, size_t, const char *);

	if (alloc_fail_now()) {
		return NULL;
	}
	if (real == NULL) {
		real = alloc_fail_real("_talloc_zero");
	}
	return real(ctx, size, name);
}

void *_talloc_zero_array(const void *ctx, size_t el_size, unsigned count,
			 const char *name)
{
	static void *(*real)(const void *, size_t, unsigned, const char *);

	if (alloc_fail_now()) {
		return NULL;
	}
	if (real == NULL) {
		real = alloc_fail_real("_talloc_zero_array");
	}
	return real(ctx, el_size, count, name);
}

void *_talloc_realloc_array(const void *ctx, void *ptr, size_t el_size,
			    unsigned count, const char *name)
{
	static void *(*real)(const void *, void *, size_t, unsigned,
			     const char *);

	if (alloc_fail_now()) {
		return NULL;
	}
	if (real == NULL) {
		real = alloc_fail_real("_talloc_realloc_array");
	}
	return real(ctx, ptr, el_size, count, name);
}

char *talloc_strdup(const void *t, const char *p)
{
	static char *(*real)(const void *, const char *);

	if (alloc_fail_now()) {
		return NULL;
	}
	if (real == NULL) {
		real = alloc_fail_real("talloc_strdup");
	}
	return real(t, p);
}

char *talloc_strndup(const void *t, const char *p, size_t n)
{
	static char *(*real)(const void *, const char *, size_t);

	if (alloc_fail_now()) {
		return NULL;
	}
	if (real == NULL) {
		real = alloc_fail_real("talloc_strndup");
	}
	return real(t, p, n);
}

char *talloc_asprintf(const void *t, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (alloc_fail_now()) {
		return NULL;
	}
	va_start(ap, fmt);
	s = talloc_vasprintf(t, fmt, ap);
	va_end(ap);
	return s;
}

char *talloc_asprintf_append_buffer(char *s, const char *fmt, ...)
{
	va_list ap;

	if (alloc_fail_now()) {
		/* talloc's own failure leaves s allocated. */
		return NULL;
	}
	va_start(ap, fmt);
	s = talloc_vasprintf_append_buffer(s, fmt, ap);
	va_end(ap);
	return s;
}

#endif /* IPCGUARD_ALLOC_FAIL_H */
