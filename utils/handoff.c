// SPDX-License-Identifier: GPL-2.0
/*
 * handoff.c - pausing the hypervisor around the switchover:
 *   none           nothing (the suspend of the dm devices holds the I/O)
 *   qmp:SOCKET     QEMU's QMP socket: "stop", then "cont"; connected before
 *                  the switchover so the pause costs two round trips
 *   exec:COMMAND   /bin/sh -c 'COMMAND pause', then 'COMMAND resume'; a
 *                  non-zero exit is a failure
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svm-qmp.h"
#include "svmotion.h"

struct handoff {
	enum { H_NONE, H_QMP, H_EXEC } kind;
	struct svm_qmp *qmp;
	char *cmd;
};

int handoff_open(const char *spec, struct handoff **out, char *err,
		 size_t errlen)
{
	struct handoff *h = calloc(1, sizeof(*h));
	int ret;

	*out = NULL;
	if (!h)
		return -ENOMEM;
	if (!spec || !strcmp(spec, "none")) {
		h->kind = H_NONE;
	} else if (!strncmp(spec, "qmp:", 4) && spec[4]) {
		h->kind = H_QMP;
		ret = svm_qmp_connect(spec + 4, 5000, &h->qmp, err, errlen);
		if (ret) {
			free(h);
			return ret;
		}
	} else if (!strncmp(spec, "exec:", 5) && spec[5]) {
		h->kind = H_EXEC;
		h->cmd = strdup(spec + 5);
	} else {
		snprintf(err, errlen, "--handoff %s: use none, qmp:SOCKET or exec:COMMAND",
			 spec);
		free(h);
		return -EINVAL;
	}
	*out = h;
	return 0;
}

static int run_exec(struct handoff *h, const char *what, char *err,
		    size_t errlen)
{
	char *line;
	int st;
	pid_t pid;

	if (asprintf(&line, "%s %s", h->cmd, what) < 0)
		return -ENOMEM;
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", line, (char *)NULL);
		_exit(127);
	}
	free(line);
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -errno;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(err, errlen, "handoff command '%s %s' failed (%s %d)",
			 h->cmd, what, WIFEXITED(st) ? "exit status" : "signal",
			 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		return -EIO;
	}
	return 0;
}

int handoff_pause(struct handoff *h, char *err, size_t errlen)
{
	switch (h->kind) {
	case H_QMP:
		return svm_qmp_stop(h->qmp, err, errlen);
	case H_EXEC:
		return run_exec(h, "pause", err, errlen);
	default:
		return 0;
	}
}

int handoff_resume(struct handoff *h, char *err, size_t errlen)
{
	switch (h->kind) {
	case H_QMP:
		return svm_qmp_cont(h->qmp, err, errlen);
	case H_EXEC:
		return run_exec(h, "resume", err, errlen);
	default:
		return 0;
	}
}

void handoff_close(struct handoff *h)
{
	if (!h)
		return;
	svm_qmp_close(h->qmp);
	free(h->cmd);
	free(h);
}
