/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tap.h - a tiny TAP (Test Anything Protocol) producer for C host tests.
 *
 *   tap_plan(n);                      "1..n"
 *   ok(cond, "fmt", ...);             "ok N - desc" / "not ok N - desc"
 *   diag("fmt", ...);                 "# msg"
 *   return tap_done();                exit status: 0 iff all planned passed
 *
 * ok() evaluates to cond (as 0/1) so a test can stop early on failure.
 * Header-only; each test program includes it once.
 */
#ifndef SVM_TAP_H
#define SVM_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_planned = -1;
static int tap_run;
static int tap_failed;

static inline void tap_plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

__attribute__((format(printf, 1, 2)))
static inline void diag(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

__attribute__((format(printf, 4, 5)))
static inline int tap_ok(int cond, const char *file, int line,
			 const char *fmt, ...)
{
	va_list ap;

	tap_run++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	if (!cond)
		printf("#   failed at %s:%d\n", file, line);
	fflush(stdout);
	return !!cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* Summary and exit status: 0 only if the plan was met with no failure. */
static inline int tap_done(void)
{
	if (tap_planned < 0) {
		printf("1..%d\n", tap_run);
		tap_planned = tap_run;
	}
	if (tap_run != tap_planned)
		diag("planned %d tests but ran %d", tap_planned, tap_run);
	if (tap_failed)
		diag("failed %d of %d tests", tap_failed, tap_run);
	fflush(stdout);
	return (tap_failed || tap_run != tap_planned) ? 1 : 0;
}

#endif /* SVM_TAP_H */
