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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "svmotion.h"

int bounded_run(int (*fn)(void *), void *arg, int timeout_ms)
{
	struct timespec nap = { .tv_nsec = 10 * 1000 * 1000 };
	double end = now_s() + timeout_ms / 1000.0;
	pid_t pid = fork();
	int st;

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
