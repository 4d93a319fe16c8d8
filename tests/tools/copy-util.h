/* SPDX-License-Identifier: GPL-2.0 */
/*
 * copy-util.h - helpers for the data mover's host tests (copy-*.c): a
 * scratch directory on a filesystem with O_DIRECT (/var/tmp, not tmpfs),
 * patterned and holey files, byte-exact compare, allocated bytes.
 */
#ifndef SVM_COPY_UTIL_H
#define SVM_COPY_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "svm-copy.h"

#define MiB (1024ULL * 1024)

static char cu_dir[256];

static void cu_cleanup(void)
{
	char cmd[320];

	if (cu_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cu_dir);
		if (system(cmd))
			fprintf(stderr, "cleanup of %s failed\n", cu_dir);
	}
}

/* mkdtemp under $SVM_COPY_TEST_DIR or /var/tmp; exits on failure. */
static const char *cu_setup(void)
{
	const char *base = getenv("SVM_COPY_TEST_DIR");

	snprintf(cu_dir, sizeof(cu_dir), "%s/svm-copy-test.XXXXXX",
		 base ? base : "/var/tmp");
	if (!mkdtemp(cu_dir)) {
		printf("Bail out! mkdtemp %s: %s\n", cu_dir, strerror(errno));
		exit(1);
	}
	atexit(cu_cleanup);
	return cu_dir;
}

static char *cu_path(const char *name)
{
	static char bufs[64][320];	/* one per name: paths stay valid */
	static int n;
	char want[320];
	int i;

	snprintf(want, sizeof(want), "%s/%s", cu_dir, name);
	for (i = 0; i < n; i++)
		if (!strcmp(bufs[i], want))
			return bufs[i];
	if (n == 64) {
		printf("Bail out! too many scratch file names\n");
		exit(1);
	}
	memcpy(bufs[n], want, sizeof(want));
	return bufs[n++];
}

/* Deterministic non-zero pattern byte for (seed, offset). */
static unsigned char cu_byte(uint32_t seed, uint64_t off)
{
	uint64_t x = (off / 8 + 1) * 0x9E3779B97F4A7C15ULL ^ seed;

	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ULL;
	x ^= x >> 32;
	return (unsigned char)(x >> (8 * (off % 8))) | 1;
}

/*
 * Write a file of size bytes: chunks of chunk bytes alternate data / hole
 * when holey (data first), else all data; zero_at..+zero_len written as
 * explicit zeros (allocated zero blocks). Exits on failure.
 */
static void cu_make_file(const char *path, uint64_t size, uint64_t chunk,
			 bool holey, uint32_t seed, uint64_t zero_at,
			 uint64_t zero_len)
{
	unsigned char *buf = malloc(chunk);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	uint64_t off, i;

	if (fd < 0 || !buf || ftruncate(fd, size)) {
		printf("Bail out! creating %s: %s\n", path, strerror(errno));
		exit(1);
	}
	for (off = 0; off < size; off += chunk) {
		uint64_t n = size - off < chunk ? size - off : chunk;

		if (holey && (off / chunk) % 2)
			continue;
		for (i = 0; i < n; i++)
			buf[i] = (off + i >= zero_at && off + i < zero_at + zero_len) ?
				 0 : cu_byte(seed, off + i);
		if (pwrite(fd, buf, n, off) != (ssize_t)n) {
			printf("Bail out! writing %s: %s\n", path, strerror(errno));
			exit(1);
		}
	}
	if (fsync(fd))
		exit(1);
	close(fd);
	free(buf);
}

/* 1 if a[aoff..+len) == b[boff..+len) byte for byte, else 0 (diag'd). */
static int cu_cmp(const char *a, uint64_t aoff, const char *b, uint64_t boff,
		  uint64_t len)
{
	static unsigned char x[1 << 20], y[1 << 20];
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
	uint64_t done = 0;
	int same = fa >= 0 && fb >= 0;

	while (same && done < len) {
		size_t n = len - done < sizeof(x) ? len - done : sizeof(x);

		if (pread(fa, x, n, aoff + done) != (ssize_t)n ||
		    pread(fb, y, n, boff + done) != (ssize_t)n) {
			printf("# cmp: short read at %llu\n", (unsigned long long)done);
			same = 0;
		} else if (memcmp(x, y, n)) {
			size_t i = 0;

			while (x[i] == y[i])
				i++;
			printf("# cmp: %s and %s differ at +%llu\n", a, b,
			       (unsigned long long)(done + i));
			same = 0;
		}
		done += n;
	}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}

/* 1 if path[off..+len) reads all zeros. */
static __attribute__((unused)) int cu_is_zero(const char *path, uint64_t off, uint64_t len)
{
	static unsigned char x[1 << 20];
	int fd = open(path, O_RDONLY);
	uint64_t done = 0, i;
	int zero = fd >= 0;

	while (zero && done < len) {
		size_t n = len - done < sizeof(x) ? len - done : sizeof(x);

		if (pread(fd, x, n, off + done) != (ssize_t)n)
			zero = 0;
		for (i = 0; zero && i < n; i++)
			zero = !x[i];
		done += n;
	}
	if (fd >= 0)
		close(fd);
	return zero;
}

static __attribute__((unused)) uint64_t cu_alloc(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (uint64_t)st.st_blocks * 512;
}

static __attribute__((unused)) uint64_t cu_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (uint64_t)st.st_size;
}

/* svm_copy_new + run + free; *res filled; err gets svm_copy_new's error. */
static __attribute__((unused)) int cu_copy(const struct svm_copy_opts *opts,
		   const struct svm_extent_pair *pairs, size_t n,
		   struct svm_copy_result *res, char *err, size_t errlen)
{
	struct svm_copy *c;
	int ret;

	memset(res, 0, sizeof(*res));
	ret = svm_copy_new(&c, opts, pairs, n, err, errlen);
	if (ret)
		return ret;
	ret = svm_copy_run(c, res);
	if (ret)
		snprintf(err, errlen, "%.*s", (int)errlen - 1, res->message);
	svm_copy_free(c);
	return ret;
}

/* One extent pair of len bytes: s at so -> d at dof. */
static inline struct svm_extent_pair pair(const char *s, uint64_t so,
					  const char *d, uint64_t dof,
					  uint64_t len)
{
	struct svm_extent_pair p = {
		.src = { .path = s, .offset = so, .length = len },
		.dst = { .path = d, .offset = dof, .length = len },
	};
	return p;
}

#endif /* SVM_COPY_UTIL_H */
