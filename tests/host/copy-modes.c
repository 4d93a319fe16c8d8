// SPDX-License-Identifier: GPL-2.0
/*
 * copy-modes.c - the data mover on files (cold copies): every mode x format
 * byte-exact with allocation checked (st_blocks), dirty destinations, odd
 * offsets, several pairs, 50 %-holes thin/thick, cancellation from a thread
 * and from a signal, the libaio fallback, progress, rate limit, and xcopy
 * falling back to fast. Files live under /var/tmp (O_DIRECT-capable ext4 on
 * this host; SVM_COPY_TEST_DIR overrides).
 */
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include "tap.h"
#include "copy-util.h"

#define SLACK (256 * 1024ULL)	/* metadata / fs block rounding */

static const enum svm_copy_mode modes[] = {
	SVM_MODE_FAST, SVM_MODE_BUFFERED, SVM_MODE_AUTO,
};
static const enum svm_copy_format formats[] = {
	SVM_FORMAT_SAME, SVM_FORMAT_THIN, SVM_FORMAT_THICK_LAZY,
	SVM_FORMAT_THICK_EAGER,
};

static enum svm_copy_mode expect_mode(enum svm_copy_mode m)
{
	return m == SVM_MODE_BUFFERED ? SVM_MODE_BUFFERED : SVM_MODE_FAST;
}

/* 8 MiB source: 1 MiB data / 1 MiB hole, plus 256 KiB of written zeros. */
#define HOLEY_SIZE (8 * MiB)
#define ZERO_AT (2 * MiB + 512 * 1024)
#define ZERO_LEN (256 * 1024ULL)

static void test_mode_format(const char *src)
{
	char err[256];
	size_t i, j;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		for (j = 0; j < sizeof(formats) / sizeof(formats[0]); j++) {
			enum svm_copy_mode m = modes[i];
			enum svm_copy_format f = formats[j];
			struct svm_copy_opts o = { .mode = m, .format = f };
			struct svm_extent_pair p;
			struct svm_copy_result res;
			const char *dst = cu_path("mf-dst");
			uint64_t alloc, skipped_ok = 0;
			bool alloc_ok = false;
			int ret;

			unlink(dst);
			p = pair(src, 0, dst, 0, HOLEY_SIZE);
			ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
			ok(ret == 0, "%s/%s: copy succeeds (%s)", svm_copy_mode_name(m),
			   svm_copy_format_name(f), ret ? err : "ok");
			ok(cu_size(dst) == HOLEY_SIZE && cu_cmp(src, 0, dst, 0, HOLEY_SIZE),
			   "%s/%s: destination byte-exact", svm_copy_mode_name(m),
			   svm_copy_format_name(f));
			ok(res.mode_used == expect_mode(m) &&
			   res.bytes_by_mode[expect_mode(m)] == res.bytes_copied,
			   "%s/%s: mode used %s", svm_copy_mode_name(m),
			   svm_copy_format_name(f), svm_copy_mode_name(res.mode_used));
			alloc = cu_alloc(dst);
			switch (f) {
			case SVM_FORMAT_THIN:	/* data minus written zeros */
				alloc_ok = alloc <= HOLEY_SIZE / 2 - ZERO_LEN + SLACK;
				skipped_ok = res.bytes_skipped == HOLEY_SIZE / 2 + ZERO_LEN;
				break;
			case SVM_FORMAT_SAME:	/* the source's allocation */
				alloc_ok = alloc >= HOLEY_SIZE / 2 &&
					   alloc <= HOLEY_SIZE / 2 + SLACK;
				skipped_ok = res.bytes_skipped == HOLEY_SIZE / 2;
				break;
			case SVM_FORMAT_THICK_LAZY:
				alloc_ok = alloc >= HOLEY_SIZE;
				skipped_ok = res.bytes_skipped == HOLEY_SIZE / 2 + ZERO_LEN;
				break;
			case SVM_FORMAT_THICK_EAGER:
				alloc_ok = alloc >= HOLEY_SIZE;
				skipped_ok = res.bytes_skipped == 0 &&
					     res.bytes_copied == HOLEY_SIZE;
				break;
			}
			ok(alloc_ok, "%s/%s: allocated %llu KiB", svm_copy_mode_name(m),
			   svm_copy_format_name(f), (unsigned long long)alloc / 1024);
			ok(skipped_ok && res.bytes_copied + res.bytes_skipped == HOLEY_SIZE,
			   "%s/%s: copied %llu skipped %llu", svm_copy_mode_name(m),
			   svm_copy_format_name(f), (unsigned long long)res.bytes_copied,
			   (unsigned long long)res.bytes_skipped);
		}
	}
}

/* Destination full of other data: holes and zeros must read zero after. */
static void test_dirty_dst(const char *src)
{
	static const enum svm_copy_format fs[] = {
		SVM_FORMAT_SAME, SVM_FORMAT_THIN, SVM_FORMAT_THICK_LAZY,
	};
	char err[256];
	size_t i, j;

	for (i = 0; i < 2; i++) {
		for (j = 0; j < 3; j++) {
			struct svm_copy_opts o = { .mode = modes[i], .format = fs[j] };
			struct svm_copy_result res;
			const char *dst = cu_path("dirty-dst");
			struct svm_extent_pair p = pair(src, 0, dst, 0, HOLEY_SIZE);
			int ret;

			cu_make_file(dst, HOLEY_SIZE, MiB, false, 77, 0, 0);
			ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
			ok(ret == 0 && cu_cmp(src, 0, dst, 0, HOLEY_SIZE),
			   "dirty destination %s/%s: byte-exact (%s)",
			   svm_copy_mode_name(modes[i]), svm_copy_format_name(fs[j]),
			   ret ? err : "ok");
			if (fs[j] == SVM_FORMAT_THIN)
				ok(cu_alloc(dst) <= HOLEY_SIZE / 2 + SLACK,
				   "dirty destination %s/thin: holes punched (%llu KiB)",
				   svm_copy_mode_name(modes[i]),
				   (unsigned long long)cu_alloc(dst) / 1024);
			else
				ok(cu_alloc(dst) >= (fs[j] == SVM_FORMAT_SAME ?
						    HOLEY_SIZE / 2 : HOLEY_SIZE),
				   "dirty destination %s/%s: allocated %llu KiB",
				   svm_copy_mode_name(modes[i]), svm_copy_format_name(fs[j]),
				   (unsigned long long)cu_alloc(dst) / 1024);
		}
	}
}

static void test_odd_offsets(void)
{
	const char *src = cu_path("odd-src"), *dst = cu_path("odd-dst");
	const char *ref = cu_path("odd-ref");
	const uint64_t so = 12345, dof = 777, len = 3 * MiB + 321;
	enum svm_copy_mode ms[] = { SVM_MODE_BUFFERED, SVM_MODE_AUTO };
	char err[256];
	int i;

	cu_make_file(src, 4 * MiB, MiB, false, 5, MiB, 64 * 1024);
	cu_make_file(ref, 4 * MiB, MiB, false, 6, 0, 0);
	for (i = 0; i < 2; i++) {
		struct svm_copy_opts o = { .mode = ms[i], .format = SVM_FORMAT_THIN };
		struct svm_extent_pair p = pair(src, so, dst, dof, len);
		struct svm_copy_result res;
		int ret;

		cu_make_file(dst, 4 * MiB, MiB, false, 6, 0, 0);
		ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
		ok(ret == 0, "odd offsets %s: copy succeeds (%s)",
		   svm_copy_mode_name(ms[i]), ret ? err : "ok");
		ok(cu_cmp(src, so, dst, dof, len) && cu_cmp(ref, 0, dst, 0, dof) &&
		   cu_cmp(ref, dof + len, dst, dof + len, 4 * MiB - dof - len),
		   "odd offsets %s: extent byte-exact, the rest untouched",
		   svm_copy_mode_name(ms[i]));
		ok(res.mode_used == SVM_MODE_BUFFERED && !res.bytes_by_mode[SVM_MODE_FAST],
		   "odd offsets %s: done buffered", svm_copy_mode_name(ms[i]));
	}
}

/*
 * Buffered between files of one filesystem, formats that detect no zeros:
 * the kernel copies (copy_file_range), else pread/pwrite
 * (SVM_COPY_NO_KERNEL_COPY=1). Both byte-exact at odd offsets, in several
 * io_size chunks, the rest of the destination untouched.
 */
static void test_buffered_paths(void)
{
	const char *src = cu_path("bp-src"), *dst = cu_path("bp-dst");
	const char *ref = cu_path("bp-ref");
	const uint64_t so = 4096 + 99, dof = 1234, len = 5 * MiB + 17;
	enum svm_copy_format fs[] = { SVM_FORMAT_SAME, SVM_FORMAT_THICK_EAGER };
	const char *path[] = { "kernel copy", "pread/pwrite" };
	char err[256];
	int i, k;

	cu_make_file(src, 6 * MiB, MiB, true, 11, 0, 0);
	cu_make_file(ref, 6 * MiB, MiB, false, 12, 0, 0);
	for (k = 0; k < 2; k++) {
		if (k)
			setenv("SVM_COPY_NO_KERNEL_COPY", "1", 1);
		for (i = 0; i < 2; i++) {
			struct svm_copy_opts o = { .mode = SVM_MODE_BUFFERED,
						   .format = fs[i],
						   .io_size = 64 * 1024 };
			struct svm_extent_pair p = pair(src, so, dst, dof, len);
			struct svm_copy_result res;
			int ret;

			cu_make_file(dst, 6 * MiB, MiB, false, 12, 0, 0);
			ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
			ok(ret == 0 && res.mode_used == SVM_MODE_BUFFERED,
			   "buffered %s, %s: copy succeeds, mode buffered (%s)",
			   path[k], svm_copy_format_name(fs[i]), ret ? err : "ok");
			ok(cu_cmp(src, so, dst, dof, len) && cu_cmp(ref, 0, dst, 0, dof) &&
			   cu_cmp(ref, dof + len, dst, dof + len, 6 * MiB - dof - len),
			   "buffered %s, %s: extent byte-exact, the rest untouched",
			   path[k], svm_copy_format_name(fs[i]));
			ok(res.bytes_copied + res.bytes_skipped == len &&
			   res.bytes_by_mode[SVM_MODE_BUFFERED] == res.bytes_copied,
			   "buffered %s, %s: copied %llu + skipped %llu = %llu",
			   path[k], svm_copy_format_name(fs[i]),
			   (unsigned long long)res.bytes_copied,
			   (unsigned long long)res.bytes_skipped,
			   (unsigned long long)len);
		}
	}
	unsetenv("SVM_COPY_NO_KERNEL_COPY");
}

static void test_several_pairs(void)
{
	const char *a = cu_path("pairs-a"), *b = cu_path("pairs-b");
	const char *d = cu_path("pairs-d"), *e = cu_path("pairs-e");
	struct svm_extent_pair p[3];
	struct svm_copy_opts o = { .mode = SVM_MODE_AUTO, .format = SVM_FORMAT_THIN };
	struct svm_copy_result res;
	char err[256];
	int ret;

	cu_make_file(a, 8 * MiB, MiB, false, 7, 0, 0);
	cu_make_file(b, 4 * MiB, MiB, true, 8, 0, 0);
	p[0] = pair(a, 0, d, 4 * MiB, MiB);
	p[1] = pair(b, MiB, d, 0, 2 * MiB);
	p[2] = pair(a, 5 * MiB, e, 0, MiB + 4096);
	ret = cu_copy(&o, p, 3, &res, err, sizeof(err));
	ok(ret == 0, "three pairs: copy succeeds (%s)", ret ? err : "ok");
	ok(cu_cmp(a, 0, d, 4 * MiB, MiB) && cu_cmp(b, MiB, d, 0, 2 * MiB) &&
	   cu_cmp(a, 5 * MiB, e, 0, MiB + 4096) && cu_is_zero(d, 2 * MiB, 2 * MiB),
	   "three pairs: every extent byte-exact");
	ok(res.bytes_copied + res.bytes_skipped == 4 * MiB + 4096 &&
	   res.bytes_skipped == MiB,
	   "three pairs: copied %llu skipped %llu",
	   (unsigned long long)res.bytes_copied, (unsigned long long)res.bytes_skipped);
}

static void test_half_holes(void)
{
	const char *src = cu_path("half-src"), *dst = cu_path("half-dst");
	const uint64_t size = 16 * MiB;
	enum svm_copy_format fs[] = { SVM_FORMAT_THIN, SVM_FORMAT_THICK_EAGER };
	char err[256];
	int i;

	cu_make_file(src, size, MiB, true, 9, 0, 0);
	for (i = 0; i < 2; i++) {
		struct svm_copy_opts o = { .mode = SVM_MODE_FAST, .format = fs[i] };
		struct svm_extent_pair p = pair(src, 0, dst, 0, size);
		struct svm_copy_result res;
		uint64_t alloc;
		int ret;

		unlink(dst);
		ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
		alloc = cu_alloc(dst);
		ok(ret == 0 && cu_cmp(src, 0, dst, 0, size),
		   "50%% holes %s: byte-exact (%s)", svm_copy_format_name(fs[i]),
		   ret ? err : "ok");
		if (fs[i] == SVM_FORMAT_THIN)
			ok(alloc >= size / 2 - SLACK && alloc <= size / 2 + SLACK &&
			   res.bytes_skipped == size / 2,
			   "50%% holes thin: %llu KiB allocated (about half), %llu skipped",
			   (unsigned long long)alloc / 1024,
			   (unsigned long long)res.bytes_skipped);
		else
			ok(alloc >= size && res.bytes_skipped == 0,
			   "50%% holes thick-eager: %llu KiB allocated (full)",
			   (unsigned long long)alloc / 1024);
	}
}

struct canceller {
	struct svm_copy *c;
	unsigned int ms;
};

static void *cancel_thread(void *arg)
{
	struct canceller *k = arg;

	usleep(k->ms * 1000);
	svm_copy_cancel(k->c);
	return NULL;
}

static struct svm_copy *sig_copy;

static void on_alarm(int sig)
{
	(void)sig;
	svm_copy_cancel(sig_copy);
}

static void test_cancel(const char *src, uint64_t size)
{
	enum svm_copy_mode ms[] = { SVM_MODE_FAST, SVM_MODE_BUFFERED, SVM_MODE_AUTO };
	int i;

	for (i = 0; i < 3; i++) {
		struct svm_copy_opts o = {
			.mode = ms[i], .format = SVM_FORMAT_THIN,
			.rate_limit = 32 * MiB, .io_size = 256 * 1024,
		};
		const char *dst = cu_path("cancel-dst");
		struct svm_extent_pair p = pair(src, 0, dst, 0, size);
		struct svm_copy_result res;
		struct canceller k = { .ms = 250 };
		bool by_signal = ms[i] == SVM_MODE_AUTO;
		struct svm_copy *c;
		pthread_t th;
		char err[256];
		uint64_t done;
		int ret;

		unlink(dst);
		ret = svm_copy_new(&c, &o, &p, 1, err, sizeof(err));
		if (!ok(ret == 0, "cancel %s: set up (%s)", svm_copy_mode_name(ms[i]),
			ret ? err : "ok"))
			continue;
		k.c = c;
		if (by_signal) {
			struct sigaction sa = { .sa_handler = on_alarm };
			struct itimerval it = { .it_value = { 0, 250000 } };

			sig_copy = c;
			sigaction(SIGALRM, &sa, NULL);
			setitimer(ITIMER_REAL, &it, NULL);
		} else {
			pthread_create(&th, NULL, cancel_thread, &k);
		}
		ret = svm_copy_run(c, &res);
		if (!by_signal)
			pthread_join(th, NULL);
		done = res.bytes_copied + res.bytes_skipped;
		ok(ret == -ECANCELED && res.error == -ECANCELED,
		   "cancel %s (%s): -ECANCELED (%d)", svm_copy_mode_name(ms[i]),
		   by_signal ? "signal" : "thread", ret);
		ok(done > 0 && done < size && res.error_offset > 0 &&
		   res.error_offset < size && strstr(res.message, "cancelled"),
		   "cancel %s: partial progress reported: %llu bytes done, up to %llu: %s",
		   svm_copy_mode_name(ms[i]), (unsigned long long)done,
		   (unsigned long long)res.error_offset, res.message);
		ok(cu_cmp(src, 0, dst, 0, res.error_offset),
		   "cancel %s: the destination holds the source up to the reported offset",
		   svm_copy_mode_name(ms[i]));
		svm_copy_free(c);
	}
}

static void test_libaio(const char *src, uint64_t size)
{
	struct svm_copy_opts o = { .mode = SVM_MODE_FAST, .format = SVM_FORMAT_THIN };
	const char *dst = cu_path("aio-dst");
	struct svm_extent_pair p = pair(src, 0, dst, 0, size);
	struct svm_copy_result res;
	char err[256];
	int ret;

	setenv("SVM_COPY_FORCE_LIBAIO", "1", 1);
	ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
	unsetenv("SVM_COPY_FORCE_LIBAIO");
	ok(ret == 0 && cu_cmp(src, 0, dst, 0, size),
	   "libaio fallback: byte-exact (%s)", ret ? err : "ok");
	ok(res.libaio_fallback && res.mode_used == SVM_MODE_FAST &&
	   res.bytes_by_mode[SVM_MODE_FAST] == size,
	   "libaio fallback: reported, %llu bytes in mode fast",
	   (unsigned long long)res.bytes_by_mode[SVM_MODE_FAST]);
	unlink(dst);
	ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
	ok(ret == 0 && !res.libaio_fallback, "io_uring by default (no libaio fallback)");
}

struct prog {
	unsigned int calls;
	bool monotonic;
	uint64_t last, total;
};

static void on_progress(const struct svm_copy_progress *p, void *opaque)
{
	struct prog *g = opaque;

	if (p->bytes_done < g->last ||
	    p->bytes_done != p->bytes_copied + p->bytes_skipped)
		g->monotonic = false;
	g->last = p->bytes_done;
	g->total = p->bytes_total;
	g->calls++;
}

static void test_progress_rate_xcopy(const char *src, uint64_t size)
{
	struct prog g = { .monotonic = true };
	struct svm_copy_opts o = {
		.mode = SVM_MODE_BUFFERED, .format = SVM_FORMAT_SAME,
		.rate_limit = 32 * MiB, .progress = on_progress, .opaque = &g,
	};
	const char *dst = cu_path("rate-dst");
	struct svm_extent_pair p = pair(src, 0, dst, 0, 8 * MiB);
	struct svm_copy_result res;
	char err[256];
	int ret;

	ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
	ok(ret == 0 && cu_cmp(src, 0, dst, 0, 8 * MiB), "rate limit: byte-exact (%s)",
	   ret ? err : "ok");
	ok(res.elapsed >= 0.2, "rate limit 32 MiB/s: 8 MiB took %.3f s (>= 0.2)",
	   res.elapsed);
	ok(g.calls >= 2 && g.monotonic && g.last == 8 * MiB && g.total == 8 * MiB,
	   "progress: %u calls, monotonic, ends at %llu of %llu", g.calls,
	   (unsigned long long)g.last, (unsigned long long)g.total);

	o = (struct svm_copy_opts){ .mode = SVM_MODE_XCOPY };
	p = pair(src, 0, dst, 0, size);
	unlink(dst);
	ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
	ok(ret == 0 && cu_cmp(src, 0, dst, 0, size) && res.mode_used == SVM_MODE_FAST &&
	   !res.bytes_by_mode[SVM_MODE_XCOPY],
	   "xcopy on files (not SCSI disks) falls back to fast (%s)", ret ? err : "ok");
}

/* A runtime refusal (EINVAL from O_DIRECT) in one pair: that range again,
 * buffered, nothing counted twice; in mode fast, a failure. */
static void test_range_fallback(const char *src, uint64_t size)
{
	struct svm_copy_opts o = { .mode = SVM_MODE_AUTO, .format = SVM_FORMAT_THIN };
	const char *d1 = cu_path("fb-d1"), *d2 = cu_path("fb-d2");
	struct svm_extent_pair p[2];
	struct svm_copy_result res;
	char err[256];
	int ret;

	p[0] = pair(src, 0, d1, 0, size / 2);
	p[1] = pair(src, size / 2, d2, 0, size / 2);
	unlink(d1);
	unlink(d2);
	setenv("SVM_COPY_FAULT_FAST_EINVAL_AT", "0xc00000", 1);	/* 12 MiB */
	ret = cu_copy(&o, p, 2, &res, err, sizeof(err));
	ok(ret == 0 && cu_cmp(src, 0, d1, 0, size / 2) &&
	   cu_cmp(src, size / 2, d2, 0, size / 2),
	   "auto, EINVAL from O_DIRECT in pair 2: byte-exact (%s)", ret ? err : "ok");
	ok(res.bytes_by_mode[SVM_MODE_FAST] == size / 2 &&
	   res.bytes_by_mode[SVM_MODE_BUFFERED] == size / 2 &&
	   res.bytes_by_backend[SVM_BACKEND_FAST] == size / 2 &&
	   res.bytes_by_backend[SVM_BACKEND_BUFFERED] == size / 2 &&
	   !res.bytes_offloaded &&
	   res.bytes_copied == size && res.bytes_skipped == 0,
	   "auto fallback range by range (per mode and per backend, none offloaded): fast %llu, buffered %llu, copied %llu",
	   (unsigned long long)res.bytes_by_mode[SVM_MODE_FAST],
	   (unsigned long long)res.bytes_by_mode[SVM_MODE_BUFFERED],
	   (unsigned long long)res.bytes_copied);
	o.mode = SVM_MODE_FAST;
	ret = cu_copy(&o, p, 2, &res, err, sizeof(err));
	unsetenv("SVM_COPY_FAULT_FAST_EINVAL_AT");
	ok(ret == -EINVAL && res.error_offset == 12 * MiB &&
	   strstr(res.message, "cannot copy") && res.bytes_copied < size,
	   "fast, EINVAL from O_DIRECT: fails at %llu: %s",
	   (unsigned long long)res.error_offset, res.message);
}

/*
 * The unit of fallback (and of draining the O_DIRECT queue) of a cold copy:
 * by default four queues' worth, at least 64 MiB. With queue depth 8 x 4
 * MiB that is 128 MiB: a refusal at 70 MiB of a 96 MiB file hands the whole
 * copy to buffered; with region_bytes 32 MiB only [64, 96) MiB.
 */
static void test_range_unit(void)
{
	const char *src = cu_path("unit-src"), *dst = cu_path("unit-dst");
	struct svm_copy_opts o = { .mode = SVM_MODE_AUTO, .queue_depth = 8,
				   .io_size = 4 * MiB };
	struct svm_extent_pair p = pair(src, 0, dst, 0, 96 * MiB);
	struct svm_copy_result res;
	static unsigned char buf[MiB];
	uint64_t i;
	char err[256];
	int fd, ret;

	/* 96 distinct MiBs, quickly (this runs under valgrind too) */
	for (i = 0; i < MiB; i++)
		buf[i] = cu_byte(7, i);
	fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	for (i = 0; fd >= 0 && i < 96; i++) {
		memcpy(buf, &i, sizeof(i));
		if (pwrite(fd, buf, MiB, i * MiB) != (ssize_t)MiB)
			break;
	}
	if (fd < 0 || i < 96 || fsync(fd)) {
		printf("Bail out! writing %s\n", src);
		exit(1);
	}
	close(fd);
	setenv("SVM_COPY_FAULT_FAST_EINVAL_AT", "0x4600000", 1);	/* 70 MiB */
	unlink(dst);
	ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
	ok(ret == 0 && cu_cmp(src, 0, dst, 0, 96 * MiB) &&
	   res.bytes_by_mode[SVM_MODE_BUFFERED] == 96 * MiB &&
	   res.bytes_by_mode[SVM_MODE_FAST] == 0 &&
	   res.bytes_by_backend[SVM_BACKEND_BUFFERED] == 96 * MiB &&
	   res.bytes_by_backend[SVM_BACKEND_FAST] == 0,
	   "default range, qd 8 x 4 MiB: one range of 96 MiB, refused at 70 MiB, all buffered, the refused backend's part not counted (fast %llu, buffered %llu) (%s)",
	   (unsigned long long)res.bytes_by_mode[SVM_MODE_FAST],
	   (unsigned long long)res.bytes_by_mode[SVM_MODE_BUFFERED], ret ? err : "ok");
	o.region_bytes = 32 * MiB;
	unlink(dst);
	ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
	unsetenv("SVM_COPY_FAULT_FAST_EINVAL_AT");
	ok(ret == 0 && cu_cmp(src, 0, dst, 0, 96 * MiB) &&
	   res.bytes_by_mode[SVM_MODE_BUFFERED] == 32 * MiB &&
	   res.bytes_by_mode[SVM_MODE_FAST] == 64 * MiB,
	   "region_bytes 32 MiB: only the range [64, 96) MiB buffered (fast %llu, buffered %llu) (%s)",
	   (unsigned long long)res.bytes_by_mode[SVM_MODE_FAST],
	   (unsigned long long)res.bytes_by_mode[SVM_MODE_BUFFERED], ret ? err : "ok");
	unlink(src);
	unlink(dst);
}

int main(void)
{
	const char *holey, *dense;
	const uint64_t dsize = 16 * MiB;

	cu_setup();
	tap_plan(60 + 12 + 6 + 12 + 3 + 4 + 12 + 3 + 4 + 3 + 2);
	holey = cu_path("holey-src");
	dense = cu_path("dense-src");
	cu_make_file(holey, HOLEY_SIZE, MiB, true, 1, ZERO_AT, ZERO_LEN);
	cu_make_file(dense, dsize, MiB, false, 2, 0, 0);
	test_mode_format(holey);
	test_dirty_dst(holey);
	test_odd_offsets();
	test_buffered_paths();
	test_several_pairs();
	test_half_holes();
	test_cancel(dense, dsize);
	test_libaio(dense, dsize);
	test_progress_rate_xcopy(dense, dsize);
	test_range_fallback(dense, dsize);
	test_range_unit();
	return tap_done();
}
