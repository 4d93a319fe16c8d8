/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cli-run.h - run the svmotion command from a host test (svmotion-cli,
 * cold-url): "svmotion ARGS" as a child through the shell, with the test's
 * state directory; its stdout and stderr collected in outbuf. Under valgrind
 * the child runs under valgrind too, and its exit status 99 means a
 * valgrind report (printed as a diagnostic).
 *
 * The test sets bin (the svmotion binary), state (SVMOTION_STATE_DIR) and
 * out_path (where the output goes) before the first call.
 */
#ifndef SVM_CLI_RUN_H
#define SVM_CLI_RUN_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <valgrind/valgrind.h>

#include "tap.h"

static char bin[512];
static char state[320];
static char out_path[320];
static char outbuf[65536];

/* "svmotion ARGS EXTRA" (a shell fragment); the exit status, -1: killed. */
static inline int cli_run(const char *args, const char *extra)
{
	char cmd[4096];
	FILE *f;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd),
		 "SVMOTION_STATE_DIR='%s' %s%s %s%s > '%s' 2>&1", state,
		 RUNNING_ON_VALGRIND ?
		 "valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect " : "",
		 bin, args, extra, out_path);
	st = system(cmd);
	f = fopen(out_path, "r");
	n = f ? fread(outbuf, 1, sizeof(outbuf) - 1, f) : 0;
	outbuf[n] = 0;
	if (f)
		fclose(f);
	if (!WIFEXITED(st))
		return -1;
	if (WEXITSTATUS(st) == 99)
		diag("valgrind reported errors in: svmotion %s\n%s", args, outbuf);
	return WEXITSTATUS(st);
}

/* Does the last output contain s? */
static inline bool has(const char *s)
{
	return strstr(outbuf, s) != NULL;
}

/* The last output, as diagnostics. */
static inline void show(void)
{
	char *line, *save = NULL, copy[sizeof(outbuf)];

	memcpy(copy, outbuf, sizeof(copy));
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		diag("  | %s", line);
}

#define ok_out(cond, ...) do { if (!ok(cond, __VA_ARGS__)) show(); } while (0)

#endif
