// SPDX-License-Identifier: GPL-2.0
/*
 * copy-errors.c - the data mover's refusals and failures, each a clear
 * message and a non-zero result with nothing reported done that was not:
 * bad arguments, hot copy (not implemented), source shorter than asked or
 * shrinking during the copy, overlapping extents (same path, hard link,
 * same block device), unaligned extents in mode fast, destination out of
 * space (a small tmpfs; skipped if mounting is not allowed), destination
 * block device too small; block devices (loop; skipped when losetup does not
 * work) as destination with thin zeroing; and the svm-cp tool.
 *
 * Not here: an unreadable source block needs dm-error/flakey, which this
 * host's kernel lacks (guest test).
 */
#include <sys/mount.h>

#include "tap.h"
#include "copy-util.h"

static char loopdev[64], loopdev2[64], loopdev3[64];
static char smallfs[320];

static void detach(char *dev)
{
	char cmd[128];

	if (!dev[0])
		return;
	snprintf(cmd, sizeof(cmd), "losetup -d %s", dev);
	if (system(cmd))
		fprintf(stderr, "losetup -d %s failed\n", dev);
	dev[0] = 0;
}

static void teardown(void)
{
	detach(loopdev);
	detach(loopdev2);
	detach(loopdev3);
	if (smallfs[0]) {
		/* lazily: io_uring drops its registered files asynchronously */
		umount2(smallfs, MNT_DETACH);
		smallfs[0] = 0;
	}
}

static int new_fails(const struct svm_copy_opts *o, const struct svm_extent_pair *p,
		     size_t n, char *err, size_t errlen)
{
	struct svm_copy *c = NULL;
	int ret = svm_copy_new(&c, o, p, n, err, errlen);

	if (!ret)
		svm_copy_free(c);
	return ret;
}

static void test_arguments(const char *src)
{
	struct svm_copy_opts o = { 0 };
	struct svm_extent_pair p = pair(src, 0, cu_path("arg-dst"), 0, MiB);
	char err[256];
	int ret;

	p.dst.length = 2 * MiB;
	ret = new_fails(&o, &p, 1, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "differs"),
	   "dst.length != src.length refused: %s", err);
	p.dst.length = MiB;
	ret = new_fails(&o, &p, 0, err, sizeof(err));
	ok(ret == -EINVAL, "no pairs refused: %s", err);
	o.dm_name = "svm-test";
	ret = new_fails(&o, &p, 1, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "must be block devices"),
	   "hot copy of files refused: %s", err);
	o.dm_name = NULL;
	o.region_bytes = 1000;
	ret = new_fails(&o, &p, 1, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "region size 1000"),
	   "region size 1000 refused: %s", err);
	o.region_bytes = 2ULL << 30;
	ret = new_fails(&o, &p, 1, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "region size"),
	   "region size 2 GiB refused: %s", err);
	o.region_bytes = 0;
	o.regions_in_flight = 65;
	ret = new_fails(&o, &p, 1, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "regions in flight 65"),
	   "65 regions in flight refused: %s", err);
	o.regions_in_flight = 0;
	o.io_size = 1000;
	ret = new_fails(&o, &p, 1, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "io_size"), "io_size 1000 refused: %s", err);
	o.io_size = 64 << 20;
	o.queue_depth = 32;
	ret = new_fails(&o, &p, 1, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "1024 MiB"),
	   "32 x 64 MiB of buffers refused: %s", err);
	o.io_size = 0;
	o.queue_depth = 0;
	p.src.path = cu_path("does-not-exist");
	ret = new_fails(&o, &p, 1, err, sizeof(err));
	ok(ret == -ENOENT && strstr(err, "does-not-exist"),
	   "missing source refused: %s", err);
}

static void test_short_source(const char *src)
{
	struct svm_copy_opts o = { 0 };
	struct svm_extent_pair p = pair(src, 7 * MiB, cu_path("short-dst"), 0, 2 * MiB);
	char err[256];
	int ret;

	ret = new_fails(&o, &p, 1, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "shorter than asked"),
	   "source shorter than asked refused up front: %s", err);
}

static const char *shrink_path;
static uint64_t shrink_to = MiB;
static bool shrunk;

static void shrink_src(const struct svm_copy_progress *pr, void *opaque)
{
	(void)pr;
	(void)opaque;
	if (!shrunk && truncate(shrink_path, shrink_to) == 0)
		shrunk = true;
}

static void test_source_shrinks(void)
{
	const char *src = cu_path("shrink-src"), *dst = cu_path("shrink-dst");
	struct svm_copy_opts o = {
		.mode = SVM_MODE_BUFFERED, .io_size = 256 * 1024,
		.progress = shrink_src,
	};
	struct svm_extent_pair p = pair(src, 0, dst, 0, 4 * MiB);
	struct svm_copy_result res;
	char err[256];
	int ret;

	cu_make_file(src, 4 * MiB, MiB, false, 11, 0, 0);
	shrink_path = src;
	ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
	ok(shrunk && ret == -EIO && strstr(res.message, "ended at 1048576"),
	   "source shrinking during the copy: %d: %s", ret, res.message);
	ok(res.error_offset == MiB && res.bytes_copied <= MiB &&
	   cu_cmp(src, 0, dst, 0, res.bytes_copied),
	   "source shrinking: error at %llu, %llu bytes reported copied, and they are",
	   (unsigned long long)res.error_offset,
	   (unsigned long long)res.bytes_copied);
}

/*
 * A sparse source cut inside a hole under the copy: the hole now runs to
 * the file's end, which SEEK_DATA cannot tell from the end of the data;
 * the mover must notice that the file ends before the extent.
 */
static void test_source_shrinks_in_hole(void)
{
	const char *src = cu_path("shrink-hsrc"), *dst = cu_path("shrink-hdst");
	struct svm_copy_opts o = {
		.mode = SVM_MODE_BUFFERED, .io_size = 256 * 1024,
		.progress = shrink_src,
	};
	struct svm_extent_pair p = pair(src, 0, dst, 0, 8 * MiB);
	struct svm_copy_result res;
	char err[256];
	int ret;

	cu_make_file(src, 8 * MiB, 2 * MiB, true, 12, 0, 0);
	shrink_path = src;
	shrink_to = 3 * MiB;
	shrunk = false;
	ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
	ok(shrunk && ret == -EIO && strstr(res.message, "ended at 3145728") &&
	   res.error_offset == 3 * MiB,
	   "sparse source cut inside a hole during the copy: %d at %llu: %s", ret,
	   (unsigned long long)res.error_offset, res.message);
	shrink_to = MiB;
}

static void test_overlap(const char *src)
{
	const char *a = cu_path("ov-a"), *b = cu_path("ov-b");
	struct svm_copy_opts o = { 0 };
	struct svm_extent_pair p[2];
	struct svm_copy_result res;
	char err[256];
	int ret;

	(void)src;
	cu_make_file(a, 8 * MiB, MiB, false, 12, 0, 0);
	unlink(b);
	if (link(a, b))
		diag("link: %s", strerror(errno));
	p[0] = pair(a, 0, a, 2 * MiB, 4 * MiB);
	ret = new_fails(&o, p, 1, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "overlap"), "same file, overlapping: %s", err);
	p[0] = pair(a, 0, b, MiB, 2 * MiB);
	ret = new_fails(&o, p, 1, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "overlap"),
	   "hard link of the source, overlapping: %s", err);
	p[0] = pair(src, 0, a, 0, MiB);
	p[1] = pair(src, MiB, b, 512 * 1024, MiB);
	ret = new_fails(&o, p, 2, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "destination extents overlap"),
	   "two destinations overlapping: %s", err);
	p[0] = pair(a, 0, b, 6 * MiB, MiB);
	ret = cu_copy(&o, p, 1, &res, err, sizeof(err));
	ok(ret == 0 && cu_cmp(a, 0, a, 6 * MiB, MiB),
	   "same file, disjoint extents: copied (%s)", ret ? err : "ok");
}

static void test_unaligned_fast(const char *src)
{
	struct svm_copy_opts o = { .mode = SVM_MODE_FAST };
	struct svm_extent_pair p = pair(src, 100, cu_path("ua-dst"), 0, MiB);
	char err[256];
	int ret;

	ret = new_fails(&o, &p, 1, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "logical block size"),
	   "fast, unaligned offset refused: %s", err);
	p = pair(src, 0, cu_path("ua-dst"), 0, MiB + 1);
	ret = new_fails(&o, &p, 1, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "logical block size"),
	   "fast, unaligned length refused: %s", err);
}

static void test_enospc(const char *src)
{
	enum svm_copy_format fs[] = { SVM_FORMAT_THIN, SVM_FORMAT_THICK_LAZY };
	enum svm_copy_mode ms[] = { SVM_MODE_AUTO, SVM_MODE_BUFFERED };
	char err[256];
	int i;

	snprintf(smallfs, sizeof(smallfs), "%s", cu_path("small"));
	if (mkdir(smallfs, 0755) ||
	    mount("none", smallfs, "tmpfs", 0, "size=2m")) {
		diag("cannot mount a 2 MiB tmpfs: %s", strerror(errno));
		smallfs[0] = 0;
		for (i = 0; i < 4; i++)
			ok(1, "# SKIP destination out of space: no tmpfs mount");
		return;
	}
	for (i = 0; i < 2; i++) {
		struct svm_copy_opts o = { .mode = ms[i], .format = fs[i] };
		char dst[400];
		struct svm_extent_pair p;
		struct svm_copy_result res;
		int ret;

		snprintf(dst, sizeof(dst), "%s/dst%d", smallfs, i);
		p = pair(src, 0, dst, 0, 4 * MiB);
		ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
		ok(ret == -ENOSPC && res.error == -ENOSPC &&
		   strstr(res.message, "out of space"),
		   "%s/%s to a 2 MiB filesystem: %s", svm_copy_mode_name(ms[i]),
		   svm_copy_format_name(fs[i]), res.message);
		ok(res.bytes_copied <= 2 * MiB && res.error_offset <= 2 * MiB &&
		   cu_cmp(src, 0, dst, 0, res.bytes_copied),
		   "out of space: %llu bytes reported copied (error at %llu), and they are",
		   (unsigned long long)res.bytes_copied,
		   (unsigned long long)res.error_offset);
		unlink(dst);
	}
	umount2(smallfs, MNT_DETACH);
	smallfs[0] = 0;
}

/* A loop device over img from byte off on, its path in dev (64 bytes). */
static bool loop_over_at(const char *img, uint64_t off, char *dev)
{
	char cmd[400];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "losetup -o %llu -f --show '%s' 2>/dev/null",
		 (unsigned long long)off, img);
	f = popen(cmd, "r");
	if (!f)
		return false;
	if (!fgets(dev, 64, f))
		dev[0] = 0;
	pclose(f);
	dev[strcspn(dev, "\n")] = 0;
	return strncmp(dev, "/dev/loop", 9) == 0;
}

static bool loop_over(const char *img, char *dev)
{
	return loop_over_at(img, 0, dev);
}

static bool setup_loop(const char *img)
{
	return loop_over(img, loopdev);
}

static bool setup_loop2(const char *img)
{
	return loopdev2[0] || loop_over(img, loopdev2);
}

#define LOOP_TESTS 13

static void test_block_device(const char *dense, const char *holey)
{
	const char *img = cu_path("loop.img");
	enum svm_copy_mode ms[] = { SVM_MODE_FAST, SVM_MODE_BUFFERED };
	struct svm_copy_opts o = { 0 };
	struct svm_extent_pair p;
	struct svm_copy_result res;
	char err[256];
	int i, ret;

	cu_make_file(img, 4 * MiB, MiB, false, 13, 0, 0);
	if (!setup_loop(img)) {
		loopdev[0] = 0;
		for (i = 0; i < LOOP_TESTS; i++)
			ok(1, "# SKIP block devices: losetup does not work here");
		return;
	}
	diag("loop device %s", loopdev);
	p = pair(dense, 0, loopdev, 0, 8 * MiB);
	ret = new_fails(&o, &p, 1, err, sizeof(err));
	ok(ret == -ENOSPC && strstr(err, "too small"),
	   "destination device too small refused up front: %s", err);
	for (i = 0; i < 2; i++) {
		o = (struct svm_copy_opts){ .mode = ms[i], .format = SVM_FORMAT_THIN };
		p = pair(holey, 0, loopdev, 0, 4 * MiB);
		cu_make_file(cu_path("fill"), 4 * MiB, MiB, false, 14 + i, 0, 0);
		/* make the device dirty first */
		o.format = SVM_FORMAT_SAME;
		p.src.path = cu_path("fill");
		ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
		o.format = SVM_FORMAT_THIN;
		p.src.path = holey;
		ret = ret ? ret : cu_copy(&o, &p, 1, &res, err, sizeof(err));
		ok(ret == 0 && cu_cmp(holey, 0, loopdev, 0, 4 * MiB),
		   "%s/thin onto a dirty block device: byte-exact, holes zeroed (%s)",
		   svm_copy_mode_name(ms[i]), ret ? err : "ok");
		ok(res.bytes_skipped == 2 * MiB && res.mode_used == ms[i],
		   "%s/thin onto a block device: %llu skipped, mode %s",
		   svm_copy_mode_name(ms[i]), (unsigned long long)res.bytes_skipped,
		   svm_copy_mode_name(res.mode_used));
	}
	o = (struct svm_copy_opts){ .mode = SVM_MODE_FAST, .format = SVM_FORMAT_THICK_EAGER };
	p = pair(holey, 0, loopdev, 0, 4 * MiB);
	ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
	ok(ret == 0 && cu_cmp(holey, 0, loopdev, 0, 4 * MiB) && res.bytes_skipped == 0,
	   "fast/thick-eager onto a block device (BLKZEROOUT for holes): %s",
	   ret ? err : "ok");
	o = (struct svm_copy_opts){ 0 };
	p = pair(loopdev, 0, loopdev, MiB, 2 * MiB);
	ret = new_fails(&o, &p, 1, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "same device"),
	   "same device, overlapping: %s", err);
	p = pair(loopdev, 0, loopdev, 2 * MiB, MiB);
	ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
	ok(ret == 0 && cu_cmp(holey, 0, loopdev, 2 * MiB, MiB),
	   "same device, disjoint extents: copied (%s)", ret ? err : "ok");
	/*
	 * a block device whose allocation cannot be asked (SVM_COPY_VIA_DEVICES
	 * hides the file behind the loop device; test_loop_source_map has it)
	 */
	setenv("SVM_COPY_VIA_DEVICES", "1", 1);
	p = pair(loopdev, 0, cu_path("from-dev"), 0, 4 * MiB);
	ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
	ok(ret == 0 && cu_cmp(loopdev, 0, cu_path("from-dev"), 0, 4 * MiB),
	   "block device to file: byte-exact (%s)", ret ? err : "ok");
	{
		/* format same from a device: what reads as zeros stays a hole */
		uint64_t zeros = 0, off;

		for (off = 0; off < 4 * MiB; off += 4096)
			zeros += cu_is_zero(loopdev, off, 4096) ? 4096 : 0;
		ok(ret == 0 && zeros >= MiB && res.bytes_skipped == zeros &&
		   res.bytes_copied == 4 * MiB - zeros &&
		   cu_alloc(cu_path("from-dev")) <= 4 * MiB - zeros + 64 * 1024,
		   "block device to file, format same: %llu zero bytes skipped of %llu, %llu KiB allocated",
		   (unsigned long long)res.bytes_skipped,
		   (unsigned long long)zeros,
		   (unsigned long long)cu_alloc(cu_path("from-dev")) / 1024);
	}
	/*
	 * zeros read from a device onto a dirty device, fast/same: unmapped
	 * through io_uring (fallocate PUNCH_HOLE) while the queue goes on
	 */
	o = (struct svm_copy_opts){ .mode = SVM_MODE_FAST };
	p = pair(dense, 0, loopdev, 3 * MiB, MiB);
	ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
	if (!ret && cu_is_zero(loopdev, 3 * MiB, MiB))
		ret = -EIO;	/* not dirty: the test would prove nothing */
	if (!ret && cu_is_zero(loopdev, MiB, MiB)) {
		p = pair(loopdev, MiB, loopdev, 3 * MiB, MiB);
		ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
	}
	ok(ret == 0 && cu_is_zero(loopdev, 3 * MiB, MiB) &&
	   res.bytes_skipped == MiB && res.bytes_copied == 0 &&
	   res.mode_used == SVM_MODE_FAST,
	   "zeros from a device onto a dirty device, fast/same: unmapped, %llu skipped (%s)",
	   (unsigned long long)res.bytes_skipped, ret ? err : "ok");
	unsetenv("SVM_COPY_VIA_DEVICES");
	/*
	 * thin onto an extent in the middle of a dirty device (unmapped once
	 * up front, zero runs then skipped): the extent is byte-exact, what
	 * lies around it is untouched, for both ways of skipping (holes of a
	 * file source, zero runs read from a device source)
	 */
	for (i = 0; i < 2; i++) {
		const char *src = i ? cu_path("holes-dev-src") : holey;

		cu_make_file(cu_path("fill"), 4 * MiB, MiB, false, 21 + i, 0, 0);
		o = (struct svm_copy_opts){ .mode = SVM_MODE_FAST };
		p = pair(cu_path("fill"), 0, loopdev, 0, 4 * MiB);
		ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
		if (!ret && i) {
			/* a device source: the holey file behind a 2nd loop */
			ret = setup_loop2(holey) ? 0 : -ENODEV;
			src = loopdev2;
		}
		o = (struct svm_copy_opts){ .mode = SVM_MODE_FAST,
					    .format = SVM_FORMAT_THIN };
		p = pair(src, 0, loopdev, MiB, 2 * MiB);
		ret = ret ? ret : cu_copy(&o, &p, 1, &res, err, sizeof(err));
		ok(ret == 0 && cu_cmp(holey, 0, loopdev, MiB, 2 * MiB) &&
		   cu_cmp(cu_path("fill"), 0, loopdev, 0, MiB) &&
		   cu_cmp(cu_path("fill"), 3 * MiB, loopdev, 3 * MiB, MiB) &&
		   res.bytes_skipped == MiB && res.bytes_copied == MiB,
		   "thin from a %s onto the middle of a dirty device: byte-exact, %llu skipped, the rest of the device untouched (%s)",
		   i ? "device" : "sparse file",
		   (unsigned long long)res.bytes_skipped, ret ? err : "ok");
	}
	teardown();
}

#define LOOP_MAP_TESTS 6

/*
 * A cold copy from a loop device over a file asks the file for the source's
 * holes (at the loop's offset into it) instead of reading them as zeros:
 * format same follows that allocation exactly (an allocated block of zeros
 * is copied, holes are not), what was written through the device's page
 * cache and not yet flushed is copied too, and SVM_COPY_VIA_DEVICES=1
 * treats the loop device as any block device (zero detection).
 *
 * The file: 9 MiB, data at even MiBs, holes at odd ones, 256 KiB of zeros
 * written at 4 MiB + 256 KiB; the loop device starts 1 MiB into it, so in
 * device offsets the holes are [0,1) [2,3) [4,5) [6,7) MiB and the zeros
 * at 3 MiB + 256 KiB.
 */
static void test_loop_source_map(void)
{
	const char *img = cu_path("map-src"), *dst = cu_path("map-dst");
	enum svm_copy_mode ms[] = { SVM_MODE_FAST, SVM_MODE_BUFFERED };
	struct svm_copy_opts o;
	struct svm_extent_pair p;
	struct svm_copy_result res;
	unsigned char pat[64 * 1024];
	char err[256];
	int i, fd, ret;

	cu_make_file(img, 9 * MiB, MiB, true, 31, 4 * MiB + 256 * 1024, 256 * 1024);
	if (!loop_over_at(img, MiB, loopdev3)) {
		loopdev3[0] = 0;
		for (i = 0; i < LOOP_MAP_TESTS; i++)
			ok(1, "# SKIP loop source map: losetup does not work here");
		return;
	}
	for (i = 0; i < 2; i++) {
		unlink(dst);
		o = (struct svm_copy_opts){ .mode = ms[i] };
		p = pair(loopdev3, 0, dst, 0, 8 * MiB);
		ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
		ok(ret == 0 && cu_cmp(img, MiB, dst, 0, 8 * MiB) &&
		   res.bytes_skipped == 4 * MiB && res.bytes_copied == 4 * MiB &&
		   cu_alloc(dst) >= 4 * MiB && cu_alloc(dst) <= 4 * MiB + 64 * 1024,
		   "%s/same from a loop device at an offset into a sparse file: byte-exact, its holes skipped (%llu), its allocated zeros copied (%llu), %llu KiB allocated (%s)",
		   svm_copy_mode_name(ms[i]), (unsigned long long)res.bytes_skipped,
		   (unsigned long long)res.bytes_copied,
		   (unsigned long long)cu_alloc(dst) / 1024, ret ? err : "ok");
	}
	o = (struct svm_copy_opts){ .mode = SVM_MODE_FAST, .format = SVM_FORMAT_THIN };
	unlink(dst);
	ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
	ok(ret == 0 && cu_cmp(img, MiB, dst, 0, 8 * MiB) &&
	   res.bytes_skipped == 4 * MiB + 256 * 1024,
	   "fast/thin from the loop device: holes and the zeros skipped (%llu) (%s)",
	   (unsigned long long)res.bytes_skipped, ret ? err : "ok");

	/*
	 * written through the device's page cache, not flushed: in a hole
	 * (the fd stays open until the copy is done: the last close of a
	 * block device writes its page cache back)
	 */
	for (i = 0; i < (int)sizeof(pat); i++)
		pat[i] = (unsigned char)(i * 7 + 1);
	fd = open(loopdev3, O_WRONLY);
	ret = fd >= 0 && pwrite(fd, pat, sizeof(pat), 2 * MiB + 128 * 1024) ==
			 (ssize_t)sizeof(pat) ? 0 : -EIO;
	ok(ret == 0 && cu_is_zero(img, 3 * MiB + 128 * 1024, sizeof(pat)),
	   "a write through the loop device's page cache is not in its file yet");
	unlink(dst);
	o = (struct svm_copy_opts){ .mode = SVM_MODE_FAST };
	ret = ret ? ret : cu_copy(&o, &p, 1, &res, err, sizeof(err));
	if (fd >= 0)
		close(fd);
	ok(ret == 0 && cu_cmp(loopdev3, 0, dst, 0, 8 * MiB) &&
	   !cu_is_zero(dst, 2 * MiB + 128 * 1024, sizeof(pat)) &&
	   res.bytes_skipped <= 4 * MiB - sizeof(pat),
	   "fast/same after it: the unflushed write is copied, byte-exact (%llu skipped) (%s)",
	   (unsigned long long)res.bytes_skipped, ret ? err : "ok");

	/* the loop device as any block device: zeros detected, not holes */
	setenv("SVM_COPY_VIA_DEVICES", "1", 1);
	unlink(dst);
	ret = cu_copy(&o, &p, 1, &res, err, sizeof(err));
	unsetenv("SVM_COPY_VIA_DEVICES");
	ok(ret == 0 && cu_cmp(loopdev3, 0, dst, 0, 8 * MiB) &&
	   res.bytes_skipped == 4 * MiB + 256 * 1024 - sizeof(pat),
	   "SVM_COPY_VIA_DEVICES=1: fast/same reads the holes, skips what reads as zeros (%llu) (%s)",
	   (unsigned long long)res.bytes_skipped, ret ? err : "ok");
	teardown();
}

static void test_tool(const char *src)
{
	char cmd[1024], out[512] = "";
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd),
		 "tests/tools/svm-cp --mode fast --format thin --qd 8 --io-size 512K %s %s",
		 src, cu_path("tool-dst"));
	f = popen(cmd, "r");
	if (f) {
		if (!fgets(out, sizeof(out), f))
			out[0] = 0;
		st = pclose(f);
	} else {
		st = -1;
	}
	out[strcspn(out, "\n")] = 0;
	ok(st == 0 && strstr(out, "mode=fast") && strstr(out, "MiB/s=") &&
	   cu_cmp(src, 0, cu_path("tool-dst"), 0, cu_size(src)),
	   "svm-cp: %s", out);
	snprintf(cmd, sizeof(cmd), "tests/tools/svm-cp %s:0:4096 %s:0:8192 2>/dev/null",
		 src, cu_path("tool-dst2"));
	st = system(cmd);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 1, "svm-cp: mismatched lengths exit 1");
}

int main(void)
{
	const char *dense, *holey;

	cu_setup();
	atexit(teardown);
	tap_plan(9 + 1 + 2 + 1 + 4 + 2 + 4 + LOOP_TESTS + LOOP_MAP_TESTS + 2);
	dense = cu_path("dense");
	holey = cu_path("holey");
	cu_make_file(dense, 8 * MiB, MiB, false, 10, 0, 0);
	cu_make_file(holey, 4 * MiB, MiB, true, 15, 0, 0);
	test_arguments(dense);
	test_short_source(dense);
	test_source_shrinks();
	test_source_shrinks_in_hole();
	test_overlap(dense);
	test_unaligned_fast(dense);
	test_enospc(dense);
	test_block_device(dense, holey);
	test_loop_source_map();
	test_tool(dense);
	return tap_done();
}
