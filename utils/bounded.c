// SPDX-License-Identifier: GPL-2.0
/*
 * bounded.c - file system operations that may never return (a hard NFS
 * mount whose server is gone, a loop device whose backing file is on one)
 * run in a child process, waited for at most a bound: the command goes on
 * and says what it left, instead of hanging with the storage. A child
 * past its bound is left to finish (or to the kernel: a process in an
 * uninterruptible wait cannot be killed) and is reaped by init.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "svmotion.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

int bounded_run(int (*fn)(void *), void *arg, int timeout_ms)
{
	struct timespec nap = { .tv_nsec = 10 * 1000 * 1000 };
	double end = now_s() + timeout_ms / 1000.0;
	pid_t pid;
	int st;

	/*
	 * Under valgrind a forked child's exit reports as leaks what the
	 * parent's libraries (libnl, through libiscsi) free only at exit:
	 * run fn here, unbounded, so that its own errors are still seen.
	 */
	if (RUNNING_ON_VALGRIND)
		return fn(arg);
	pid = fork();
	if (pid < 0)
		return fn(arg);		/* cannot fork: unbounded, as before */
	if (pid == 0) {
		int ret = fn(arg);

		_exit(ret < 0 && -ret < 256 ? -ret : ret ? 255 : 0);
	}
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (now_s() >= end)
			return -ETIMEDOUT;
		nanosleep(&nap, NULL);
	}
	if (!WIFEXITED(st))
		return -EINTR;
	return -WEXITSTATUS(st);
}

struct fill {
	int (*fn)(void *arg, void *out);
	void *arg;
	void *shm;
};

static int do_fill(void *arg)
{
	struct fill *f = arg;

	return f->fn(f->arg, f->shm);
}

int bounded_fill(int (*fn)(void *arg, void *out), void *arg, void *out,
		 size_t len, int timeout_ms)
{
	struct fill f = { .fn = fn, .arg = arg };
	int ret;

	/* The child's results cross in memory shared with it alone. */
	f.shm = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	if (f.shm == MAP_FAILED)
		return fn(arg, out);	/* unbounded, as before */
	memcpy(f.shm, out, len);
	ret = bounded_run(do_fill, &f, timeout_ms);
	/* A child past its bound writes only into its own mapping now. */
	if (ret != -ETIMEDOUT)
		memcpy(out, f.shm, len);
	munmap(f.shm, len);
	return ret;
}

static int do_unlink(void *arg)
{
	return unlink(arg) ? -errno : 0;
}

int bounded_unlink(const char *path)
{
	int ret = bounded_run(do_unlink, (void *)path, BOUNDED_MS);

	if (ret == -ETIMEDOUT)
		msg("%s: not removed: its storage does not answer within %d s (an NFS server gone?); remove it once it is back",
		    path, BOUNDED_MS / 1000);
	return ret;
}
