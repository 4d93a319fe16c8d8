// SPDX-License-Identifier: GPL-2.0
/*
 * stampwrite-e2e - stampwrite end to end on a regular file: writes with
 * several seeds verify clean, SIGTERM stops a writer cleanly, --rate paces
 * the writes, an outdated state or a corrupted block is reported, usage
 * errors exit 2.
 *
 * Finds the tool as tests/tools/stampwrite above this test's directory
 * (or $STAMPWRITE); works in a fresh directory under $TMPDIR or /tmp.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#define BLOCKS "2048"		/* 8 MiB image */

extern char **environ;

static char tool[PATH_MAX];
static char dir[PATH_MAX], img[PATH_MAX + 16], state[PATH_MAX + 16];
static char old_state[PATH_MAX + 16], out[PATH_MAX + 16];

/* Look for tests/tools/stampwrite in the directories above argv0. */
static int find_tool(const char *argv0)
{
	char path[PATH_MAX], *slash;
	const char *env = getenv("STAMPWRITE");
	int up;

	if (env) {
		snprintf(tool, sizeof(tool), "%s", env);
		return access(tool, X_OK);
	}
	if (!realpath(argv0, path))
		return -1;
	for (up = 0; up < 6 && (slash = strrchr(path, '/')); up++) {
		*slash = '\0';
		if (snprintf(tool, sizeof(tool), "%s/tests/tools/stampwrite", path) <
		    (int)sizeof(tool) && access(tool, X_OK) == 0)
			return 0;
	}
	return -1;
}

/* Start argv with stdout and stderr to the file out; returns the pid. */
static pid_t start(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int ret;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	ret = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret) {
		diag("cannot run %s: %s", argv[0], strerror(ret));
		return -1;
	}
	return pid;
}

/* Exit status of pid, 128 + signal if killed, -1 if it could not run. */
static int finish(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int run(char *const argv[])
{
	return finish(start(argv));
}

/* Output of the last command, NUL-terminated, in buf (size len). */
static const char *last_output(char *buf, size_t len)
{
	size_t n = 0;
	FILE *f = fopen(out, "r");

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

/* Does the output of the last command contain s?  Shows it if not. */
static bool output_has(const char *s)
{
	char buf[8192];

	if (strstr(last_output(buf, sizeof(buf)), s))
		return true;
	diag("output does not contain \"%s\":\n%s", s, buf);
	return false;
}

static bool output_lacks(const char *s)
{
	char buf[8192];

	return !strstr(last_output(buf, sizeof(buf)), s);
}

static int sw_init(const char *seed)
{
	char *argv[] = { tool, "write", "--dev", img, "--blocks", BLOCKS,
			 "--state", state, "--seed", (char *)seed, "--init",
			 "--ops", "0", NULL };

	return run(argv);
}

static int sw_write_ops(const char *seed, const char *ops)
{
	char *argv[] = { tool, "write", "--dev", img, "--blocks", BLOCKS,
			 "--state", state, "--seed", (char *)seed, "--qd", "8",
			 "--dsync", "20", "--ops", (char *)ops, NULL };

	return run(argv);
}

static int sw_verify(const char *st)
{
	char *argv[] = { tool, "verify", "--dev", img, "--state", (char *)st, NULL };

	return run(argv);
}

static int shell(const char *fmt, const char *a)
{
	char cmd[PATH_MAX * 2];
	char *argv[] = { "sh", "-c", cmd, NULL };

	snprintf(cmd, sizeof(cmd), fmt, a);
	return run(argv);
}

static void test_seeds(void)
{
	static const char *const seeds[] = { "21", "22", "23" };
	unsigned int i;

	ok(sw_init("11") == 0, "write --init --ops 0 exits 0");
	ok(sw_verify(state) == 0 && output_has("mismatches: 0") &&
	   output_has("unknown (never written): 0"),
	   "verify after --init: every block checked, 0 mismatches");
	for (i = 0; i < 3; i++) {
		ok(sw_write_ops(seeds[i], "4000") == 0 && output_has("no errors"),
		   "seed %s: 4000 random writes at QD 8 exit 0", seeds[i]);
		ok(sw_verify(state) == 0 && output_has("mismatches: 0"),
		   "seed %s: verify finds 0 mismatches", seeds[i]);
	}
}

static void test_sigterm(void)
{
	char *argv[] = { tool, "write", "--dev", img, "--state", state,
			 "--seed", "31", NULL };
	struct timespec ts = { 0, 300 * 1000 * 1000 };
	pid_t pid = start(argv);

	nanosleep(&ts, NULL);
	if (pid > 0)
		kill(pid, SIGTERM);
	ok(finish(pid) == 0 && output_has("no errors"),
	   "unbounded writer stopped by SIGTERM exits 0");
	ok(sw_verify(state) == 0 && output_has("mismatches: 0"),
	   "state saved on SIGTERM verifies clean");
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 200 writes at 1000/s over 8 threads: 25 each, 8 ms apart, >= 192 ms. */
static void test_rate(void)
{
	char *argv[] = { tool, "write", "--dev", img, "--state", state,
			 "--seed", "33", "--qd", "8", "--ops", "200",
			 "--rate", "1000", NULL };
	double t0 = now_sec(), dt;
	int rc = run(argv);

	dt = now_sec() - t0;
	ok(rc == 0 && dt >= 0.18, "--rate 1000 paces 200 writes (%.3f s)", dt);
	ok(sw_verify(state) == 0, "paced writes verify clean");
}

static void test_outdated_state(void)
{
	ok(shell("cp '%s' state.old", state) == 0, "keep a copy of the state");
	ok(sw_write_ops("32", "500") == 0, "500 more writes");
	ok(sw_verify(old_state) == 1 && output_has("wrong generation"),
	   "verify against the outdated state reports the rewritten blocks");
	ok(sw_verify(state) == 0, "verify against the current state is clean");
}

static void test_corruption(void)
{
	ok(shell("dd if=/dev/urandom of='%s' bs=4096 seek=7 count=1 conv=notrunc status=none",
		 img) == 0, "dd random data over block 7");
	ok(sw_verify(state) == 1 && output_has("mismatches: 1\n") &&
	   output_has("block 7 (offset 28672)"),
	   "verify reports exactly block 7 and exits 1");
	ok(shell("dd if=/dev/zero of='%s' bs=4096 seek=2047 count=1 conv=notrunc status=none",
		 img) == 0, "dd zeroes over the last block");
	ok(sw_verify(state) == 1 && output_has("mismatches: 2\n") &&
	   output_has("block 2047 (offset 8384512)") && output_has("all zeroes"),
	   "verify reports both blocks");
}

static void test_no_init(void)
{
	unlink(img);
	unlink(state);
	ok(sw_write_ops("41", "300") == 0, "writes to a new file without --init");
	ok(sw_verify(state) == 0 && output_has("mismatches: 0") &&
	   output_lacks("unknown (never written): 0"),
	   "unwritten blocks are left unchecked, written ones verify");
}

static void test_usage(void)
{
	char *no_state[] = { tool, "write", "--dev", img, "--blocks", "8", NULL };
	char *both[] = { tool, "write", "--dev", img, "--blocks", "8", "--state",
			 state, "--ops", "1", "--duration", "1", NULL };
	char *bad_num[] = { tool, "write", "--dev", img, "--blocks", "8x",
			    "--state", state, NULL };
	char *no_file[] = { tool, "verify", "--dev", img, "--state",
			    "does-not-exist", NULL };
	char *wrong_size[] = { tool, "write", "--dev", img, "--blocks", "100",
			       "--state", state, "--ops", "1", NULL };

	ok(run(no_state) == 2, "missing --state: exit 2");
	ok(run(both) == 2, "--ops with --duration: exit 2");
	ok(run(bad_num) == 2 && output_has("--blocks"), "bad number: exit 2 naming the option");
	ok(run(no_file) == 2, "verify without a state file: exit 2");
	ok(run(wrong_size) == 2 && output_has("is for 2048 blocks"),
	   "state of another size is refused");
}

static int setup(const char *argv0)
{
	const char *tmp = getenv("TMPDIR");

	if (find_tool(argv0)) {
		diag("tests/tools/stampwrite not found (build it, or set STAMPWRITE)");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/stampwrite-e2e.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir) || chdir(dir)) {
		diag("cannot make a temporary directory: %s", strerror(errno));
		return -1;
	}
	snprintf(img, sizeof(img), "%s/img", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(old_state, sizeof(old_state), "%s/state.old", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	return 0;
}

static void cleanup(void)
{
	unlink(img);
	unlink(state);
	unlink(old_state);
	unlink(out);
	if (chdir("/") == 0)
		rmdir(dir);
}

int main(int argc, char **argv)
{
	(void)argc;
	tap_plan(27);
	if (setup(argv[0]))
		return tap_done();
	test_seeds();
	test_sigterm();
	test_rate();
	test_outdated_state();
	test_corruption();
	test_no_init();
	test_usage();
	cleanup();
	return tap_done();
}
