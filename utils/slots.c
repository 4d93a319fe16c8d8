// SPDX-License-Identifier: GPL-2.0
/*
 * slots.c - concurrency limits: at most host_max migrations on this host
 * (slot files in the state directory) and ds_max per datastore (slot files
 * in <datastore>/.svmotion/, so every host sharing the datastore counts the
 * same ones). A slot is an OFD lock on a slot file (fcntl locks, which NFS
 * carries between hosts); it goes away with the process, even on kill -9.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "svmotion.h"

struct slots {
	size_t n;
	int *fds;
};

/* Try to take one of max slots named <dir>/slot.<i>; fd, or -EBUSY. */
static int take_one(const char *dir, unsigned int max)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[PATH_MAX];
	unsigned int i;
	int fd;

	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	for (i = 0; i < max; i++) {
		snprintf(path, sizeof(path), "%s/slot.%u", dir, i);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		if (!fcntl(fd, F_OFD_SETLK, &fl))
			return fd;
		close(fd);
	}
	return -EBUSY;
}

int slots_take(const char *const *ds, size_t n, unsigned int host_max,
	       unsigned int ds_max, bool no_wait, volatile sig_atomic_t *stop,
	       struct slots **out, char *err, size_t errlen)
{
	struct slots *s = calloc(1, sizeof(*s));
	char dir[PATH_MAX];
	bool said = false;
	size_t i, j;
	int fd;

	*out = NULL;
	if (!s || !(s->fds = calloc(n + 1, sizeof(int)))) {
		free(s);
		return -ENOMEM;
	}
	for (;;) {
		const char *what = NULL;

		s->n = 0;
		snprintf(dir, sizeof(dir), "%s/slots", g_state_dir);
		fd = take_one(dir, host_max);
		if (fd >= 0) {
			s->fds[s->n++] = fd;
			for (i = 0; i < n; i++) {
				for (j = 0; j < i; j++)
					if (!strcmp(ds[i], ds[j]))
						break;
				if (j < i)
					continue;	/* that datastore once */
				snprintf(dir, sizeof(dir), "%s/.svmotion", ds[i]);
				fd = take_one(dir, ds_max);
				if (fd < 0) {
					what = ds[i];
					break;
				}
				s->fds[s->n++] = fd;
			}
		} else {
			what = "this host";
		}
		if (fd >= 0)
			break;
		for (i = 0; i < s->n; i++)
			close(s->fds[i]);
		if (fd != -EBUSY) {
			snprintf(err, errlen, "migration slots in %s: %s", dir,
				 strerror(-fd));
			free(s->fds);
			free(s);
			return fd;
		}
		if (no_wait) {
			snprintf(err, errlen, "%u migrations already run on %s (the limit)",
				 strcmp(what, "this host") ? ds_max : host_max,
				 what);
			free(s->fds);
			free(s);
			return -EBUSY;
		}
		if (!said) {
			info("waiting in line: %u migrations already run on %s (the limit)",
			     strcmp(what, "this host") ? ds_max : host_max, what);
			said = true;
		}
		if (stop && *stop) {
			snprintf(err, errlen, "stopped while waiting in line");
			free(s->fds);
			free(s);
			return -ECANCELED;
		}
		usleep(200000);
		if (stop && *stop) {
			snprintf(err, errlen, "stopped while waiting in line");
			free(s->fds);
			free(s);
			return -ECANCELED;
		}
	}
	if (said)
		info("a migration slot is free: starting");
	*out = s;
	return 0;
}

void slots_release(struct slots *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		close(s->fds[i]);
	free(s->fds);
	free(s);
}

int slots_in_use(const char *ds, unsigned int max)
{
	char path[PATH_MAX];
	unsigned int i;
	int n = 0, fd;

	for (i = 0; i < max; i++) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		snprintf(path, sizeof(path), "%s/.svmotion/slot.%u", ds, i);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;	/* never taken */
		/* F_OFD_GETLK: would a write lock conflict, i.e. is it held */
		if (!fcntl(fd, F_OFD_GETLK, &fl) && fl.l_type != F_UNLCK)
			n++;
		close(fd);
	}
	return n;
}
