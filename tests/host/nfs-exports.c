// SPDX-License-Identifier: GPL-2.0
/*
 * nfs-exports - unit tests of lib/svm-nfs-exports: the NFSv3 paths that
 * may name a file seen through an NFSv4 pseudo-root, and the export list's
 * errors without a server (no portmapper on 127.0.0.1 here).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svm-nfs-exports.h"
#include "tap.h"

#define MAXC 16

static size_t cands(char *const *ex, size_t n, const char *v4, char **out)
{
	memset(out, 0, MAXC * sizeof(*out));
	return svm_nfs_v3_candidates(ex, n, v4, out, MAXC);
}

static void free_all(char **out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(out[i]);
}

static void test_candidates(void)
{
	char *ex[] = { "/srv/nfs", "/srv/nfs/ds1", "/srv/nfs/ds2", "/other" };
	char *out[MAXC];
	size_t n;

	n = cands(ex, 4, "/ds1/vm/disk.img", out);
	ok(n >= 2 && !strcmp(out[0], "/srv/nfs/ds1/vm/disk.img"),
	   "the datastore's own export first (its last component is the v4 path's first): %s",
	   n ? out[0] : "none");
	ok(n == 4 && !strcmp(out[1], "/srv/nfs/ds1/ds1/vm/disk.img") &&
	   !strcmp(out[3], "/other/ds1/vm/disk.img"),
	   "then the path below every export, each once (the pseudo-root's is the first's: %zu)", n);
	free_all(out, n);

	n = cands(ex, 4, "/srv/nfs/ds1/a.img", out);
	ok(n >= 1 && !strcmp(out[0], "/srv/nfs/ds1/a.img"),
	   "a v4 path that is a full server path (no pseudo-root): matched by its components (%s)",
	   n ? out[0] : "none");
	free_all(out, n);

	{
		char *ex2[] = { "/export/a/b" };

		n = cands(ex2, 1, "/a/b/c/f", out);
		ok(n == 2 && !strcmp(out[0], "/export/a/b/c/f") &&
		   !strcmp(out[1], "/export/a/b/a/b/c/f"),
		   "two components matched: /export/a/b + c/f, then below the export");
		free_all(out, n);
	}
	{
		char *ex3[] = { "/", "/x/" };

		n = cands(ex3, 2, "/x/f", out);
		ok(n == 2 && !strcmp(out[0], "/x/f") && !strcmp(out[1], "/x/x/f"),
		   "exports / and /x/ (a trailing slash): /x/f once, /x/x/f (%zu)", n);
		free_all(out, n);
	}
}

static void test_bad_input(void)
{
	char *ex[] = { "/srv", NULL, "relative", "" };
	char *out[MAXC];
	size_t n;

	ok(cands(ex, 4, "relative/f", out) == 0, "a relative v4 path: no candidates");
	ok(cands(ex, 4, "/", out) == 0, "the v4 root itself: no file, no candidates");
	ok(cands(ex, 4, "", out) == 0 && cands(ex, 4, NULL, out) == 0,
	   "an empty or missing v4 path: no candidates");
	ok(cands(NULL, 3, "/a/f", out) == 0, "no export list: no candidates");
	n = cands(ex, 4, "/a/f", out);
	ok(n == 1 && !strcmp(out[0], "/srv/a/f"),
	   "NULL, relative and empty exports are skipped (%zu)", n);
	free_all(out, n);
	{
		char *many[] = { "/a", "/b", "/c", "/d" };
		char *two[2];

		n = svm_nfs_v3_candidates(many, 4, "/f/g", two, 2);
		ok(n == 2, "at most max candidates (%zu of 4)", n);
		free_all(two, n);
	}
}

static void test_exports_errors(void)
{
	char err[256], **paths = (char **)1;
	size_t n = 7;
	struct timespec a, b;
	int ret;

	ret = svm_nfs_exports("", 1000, &paths, &n, err, sizeof(err));
	ok(ret == -EINVAL && !paths && n == 0 && err[0],
	   "no host: -EINVAL, nothing returned (%s)", err);
	clock_gettime(CLOCK_MONOTONIC, &a);
	ret = svm_nfs_exports("127.0.0.1", 2000, &paths, &n, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &b);
	ok(ret < 0 && !paths && n == 0 && strstr(err, "127.0.0.1"),
	   "no portmapper on 127.0.0.1: an error naming the server (%d: %s)", ret, err);
	ok(b.tv_sec - a.tv_sec + (b.tv_nsec - a.tv_nsec) / 1e9 < 2.5,
	   "... within the 2 s bound");
	svm_nfs_exports_free(NULL, 3);
	ok(1, "freeing no list is harmless");
}

int main(void)
{
	tap_plan(15);
	test_candidates();
	test_bad_input();
	test_exports_errors();
	return tap_done();
}
