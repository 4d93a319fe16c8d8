// SPDX-License-Identifier: GPL-2.0
/*
 * svm-nfs-exports.c - libsvmotion: an NFS server's exports, and the NFSv3
 * paths of a file seen through NFSv4 (svm-nfs-exports.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>

#include "svm-nfs-exports.h"

#define EXPORTS_DEFAULT_TIMEOUT_MS	30000
#define EXPORTS_MAX			4096

struct ex_wait {
	bool done;
	int status;
	char **paths;
	size_t n;
	char msg[256];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The EXPORT reply: its directories copied (libnfs frees the reply). */
static void ex_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct ex_wait *w = priv;
	struct exportnode *e;
	size_t n = 0;

	(void)rpc;
	if (w->done)
		return;
	w->done = true;
	if (status) {
		w->status = status < 0 ? status : -EIO;
		snprintf(w->msg, sizeof(w->msg), "%s",
			 data ? (const char *)data : "the EXPORT call failed");
		return;
	}
	for (e = data ? *(exports *)data : NULL; e && n < EXPORTS_MAX; e = e->ex_next)
		n++;
	w->paths = calloc(n ? n : 1, sizeof(*w->paths));
	if (!w->paths) {
		w->status = -ENOMEM;
		snprintf(w->msg, sizeof(w->msg), "out of memory");
		return;
	}
	for (e = data ? *(exports *)data : NULL; e && w->n < n; e = e->ex_next) {
		w->paths[w->n] = strdup(e->ex_dir ? e->ex_dir : "");
		if (!w->paths[w->n]) {
			w->status = -ENOMEM;
			snprintf(w->msg, sizeof(w->msg), "out of memory");
			return;
		}
		w->n++;
	}
}

void svm_nfs_exports_free(char **paths, size_t n)
{
	size_t i;

	for (i = 0; paths && i < n; i++)
		free(paths[i]);
	free(paths);
}

int svm_nfs_exports(const char *host, int timeout_ms, char ***paths,
		    size_t *n, char *err, size_t errlen)
{
	struct ex_wait w = { 0 };
	struct rpc_context *rpc;
	double deadline;
	int ret = 0;

	*paths = NULL;
	*n = 0;
	if (!host || !*host) {
		snprintf(err, errlen, "no server to ask for its exports");
		return -EINVAL;
	}
	deadline = now_s() + (timeout_ms > 0 ? timeout_ms : EXPORTS_DEFAULT_TIMEOUT_MS) / 1000.0;
	rpc = rpc_init_context();
	if (!rpc) {
		snprintf(err, errlen, "cannot make an RPC context");
		return -ENOMEM;
	}
	if (mount_getexports_async(rpc, host, ex_cb, &w)) {
		snprintf(err, errlen, "asking %s for its exports: %s", host,
			 rpc_get_error(rpc));
		rpc_destroy_context(rpc);
		return -EIO;
	}
	while (!w.done) {
		double left = deadline - now_s();
		struct pollfd p = { .fd = rpc_get_fd(rpc) };

		if (left <= 0) {
			snprintf(err, errlen, "%s did not list its exports within %d ms",
				 host, timeout_ms > 0 ? timeout_ms : EXPORTS_DEFAULT_TIMEOUT_MS);
			ret = -ETIMEDOUT;
			break;
		}
		p.events = (short)rpc_which_events(rpc);
		if (poll(&p, p.fd >= 0 ? 1 : 0, left < 0.1 ? (int)(left * 1000) + 1 : 100) < 0 &&
		    errno != EINTR) {
			ret = -errno;
			snprintf(err, errlen, "poll: %s", strerror(-ret));
			break;
		}
		if (rpc_service(rpc, p.fd >= 0 ? p.revents : 0) < 0 && !w.done) {
			snprintf(err, errlen, "asking %s for its exports: %s", host,
				 rpc_get_error(rpc));
			ret = -EIO;
			break;
		}
	}
	/* a callback cancelled here writes into w, still ours */
	rpc_destroy_context(rpc);
	if (!ret && w.status) {
		ret = w.status;
		snprintf(err, errlen, "asking %s for its exports: %s", host, w.msg);
	}
	if (ret) {
		svm_nfs_exports_free(w.paths, w.n);
		return ret;
	}
	*paths = w.paths;
	*n = w.n;
	return 0;
}

/* Path components: the length of the one at p (after any '/'s), p moved. */
static size_t next_comp(const char **p)
{
	size_t l = 0;

	while (**p == '/')
		(*p)++;
	while ((*p)[l] && (*p)[l] != '/')
		l++;
	return l;
}

/* The number of components of path. */
static size_t ncomps(const char *path)
{
	size_t n = 0, l;

	while ((l = next_comp(&path))) {
		n++;
		path += l;
	}
	return n;
}

/* Whether e's last k components are v4's first k; *rest: v4 after them. */
static bool suffix_is_prefix(const char *e, const char *v4, size_t k,
			     const char **rest)
{
	size_t ne = ncomps(e), i, l, lv;
	const char *p = e, *q = v4;

	if (k > ne)
		return false;
	for (i = 0; i < ne - k; i++)
		p += next_comp(&p);
	for (i = 0; i < k; i++) {
		l = next_comp(&p);
		lv = next_comp(&q);
		if (!l || l != lv || strncmp(p, q, l))
			return false;
		p += l;
		q += lv;
	}
	*rest = q;
	return true;
}

static char *join(const char *e, const char *rest)
{
	size_t le = strlen(e);
	char *s;

	while (le > 1 && e[le - 1] == '/')
		le--;
	while (*rest == '/')
		rest++;
	if (!*rest)
		return NULL;
	s = malloc(le + strlen(rest) + 2);
	if (!s)
		return NULL;
	snprintf(s, le + strlen(rest) + 2, "%.*s%s%s", (int)le, e,
		 le == 1 && e[0] == '/' ? "" : "/", rest);
	return s;
}

/* Add candidate s (owned) to out, unless there already or NULL. */
static void add(char **out, size_t *got, char *s)
{
	size_t i;

	for (i = 0; s && i < *got; i++)
		if (!strcmp(out[i], s))
			break;
	if (s && i == *got)
		out[(*got)++] = s;
	else
		free(s);
}

size_t svm_nfs_v3_candidates(char *const *exports, size_t n,
			     const char *v4path, char **out, size_t max)
{
	size_t got = 0, i, k, kmax = v4path ? ncomps(v4path) : 0;
	const char *rest;

	if (!exports || !v4path || v4path[0] != '/' || !kmax)
		return 0;
	/* the most components matched first: the most specific export */
	for (k = kmax - 1; k >= 1 && got < max; k--)
		for (i = 0; i < n && got < max; i++) {
			if (!exports[i] || exports[i][0] != '/' ||
			    !suffix_is_prefix(exports[i], v4path, k, &rest))
				continue;
			add(out, &got, join(exports[i], rest));
		}
	for (i = 0; i < n && got < max; i++) {
		if (!exports[i] || exports[i][0] != '/')
			continue;
		add(out, &got, join(exports[i], v4path));
	}
	return got;
}
