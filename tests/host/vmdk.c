// SPDX-License-Identifier: GPL-2.0
/*
 * vmdk.c - VM disk descriptors (svm-vmdk.h): descriptors written by qemu-img
 * and by hand (several extents, relative and absolute names, comments, CRLF,
 * no header line), raw files and a loop device as one-extent disks, images of
 * other formats refused, the extent files checked, parse -> format -> parse
 * round trips, extent replacement, the atomic rewrite (one rename, no
 * temporary file left, also when it fails: a directory in the way, a full
 * tmpfs), new descriptors read back by qemu-img (virtual size, geometry,
 * qemu-img compare against a raw image of the same content) and a table of
 * hostile descriptors, each refused with its reason and line.
 *
 * Needs qemu-img (qemu-utils). The loop device and the full-tmpfs cases are
 * skipped (TAP SKIP) when losetup or mount do not work here.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "tap.h"
#include "svm-vmdk.h"

#define KiB 1024ULL
#define MiB (1024ULL * 1024)
#define GiB (1024ULL * MiB)

static char dir[256];
static char loopdev[64];
static char smallfs[320];

static void cleanup(void)
{
	char cmd[400];

	if (loopdev[0]) {
		snprintf(cmd, sizeof(cmd), "losetup -d %s", loopdev);
		if (system(cmd))
			fprintf(stderr, "losetup -d %s failed\n", loopdev);
		loopdev[0] = 0;
	}
	if (smallfs[0]) {
		umount2(smallfs, MNT_DETACH);
		smallfs[0] = 0;
	}
	if (dir[0] && getenv("SVM_VMDK_TEST_KEEP")) {
		fprintf(stderr, "scratch directory kept: %s\n", dir);
	} else if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			fprintf(stderr, "cleanup of %s failed\n", dir);
		dir[0] = 0;
	}
}

/* dir/name; several results stay valid at once (a ring of buffers). */
static const char *P(const char *name)
{
	static char bufs[16][512];
	static unsigned int n;
	char *b = bufs[n++ % 16];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

static void bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

static void write_text(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd))
		bail(path);
}

static void write_str(const char *path, const char *text)
{
	write_text(path, text, strlen(text));
}

/* Pattern byte of (seed, offset); never the same for neighbours. */
static unsigned char pat(unsigned int seed, uint64_t off)
{
	uint64_t x = (off + 1) * 0x9E3779B97F4A7C15ULL ^ seed;

	x ^= x >> 31;
	return (unsigned char)(x * 0xBF58476D1CE4E5B9ULL >> 56);
}

/* A file of size bytes, all pattern (seed) or, for seed 0, all holes. */
static void make_file(const char *path, uint64_t size, unsigned int seed)
{
	static unsigned char buf[64 * 1024];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	uint64_t off, i;

	if (fd < 0 || ftruncate(fd, size))
		bail(path);
	for (off = 0; seed && off < size; off += sizeof(buf)) {
		size_t n = size - off < sizeof(buf) ? size - off : sizeof(buf);

		for (i = 0; i < n; i++)
			buf[i] = pat(seed, off + i);
		if (pwrite(fd, buf, n, off) != (ssize_t)n)
			bail(path);
	}
	close(fd);
}

/* Copy len bytes from src at soff to dst at doff (dst created if needed). */
static void copy_range(const char *src, uint64_t soff, const char *dst,
		       uint64_t doff, uint64_t len)
{
	static unsigned char buf[64 * 1024];
	int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT, 0644);

	if (in < 0 || out < 0)
		bail(dst);
	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		if (pread(in, buf, n, soff) != (ssize_t)n ||
		    pwrite(out, buf, n, doff) != (ssize_t)n)
			bail(dst);
		soff += n;
		doff += n;
		len -= n;
	}
	close(in);
	close(out);
}

static void flip_byte(const char *path, uint64_t off)
{
	int fd = open(path, O_RDWR);
	unsigned char c;

	if (fd < 0 || pread(fd, &c, 1, off) != 1)
		bail(path);
	c = ~c;
	if (pwrite(fd, &c, 1, off) != 1)
		bail(path);
	close(fd);
}

static char *read_all(const char *path)
{
	static char buf[2 * 1024 * 1024];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = 0;
	return buf;
}

/* Exit status of a shell command (-1 if it did not exit). */
static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * qemu-img info --output=json: 0 with the virtual size and format, or the
 * exit status of a qemu-img that refused the image (its stderr in msg).
 */
static int qemu_info(const char *path, long long *vsize, char *fmt,
		     size_t fmtlen, char *msg, size_t msglen)
{
	char cmd[1024], out[64 * 1024];
	struct json_object *j, *v;
	size_t n = 0;
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd), "qemu-img info --output=json '%s' 2>&1",
		 path);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (n < sizeof(out) - 1) {
		size_t r = fread(out + n, 1, sizeof(out) - 1 - n, f);

		if (!r)
			break;
		n += r;
	}
	out[n] = 0;
	st = pclose(f);
	snprintf(msg, msglen, "%.*s", (int)strcspn(out, "\n"), out);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	j = json_tokener_parse(out);
	if (!j)
		return -1;
	*vsize = -1;
	if (json_object_object_get_ex(j, "virtual-size", &v))
		*vsize = json_object_get_int64(v);
	fmt[0] = 0;
	if (json_object_object_get_ex(j, "format", &v))
		snprintf(fmt, fmtlen, "%s", json_object_get_string(v));
	json_object_put(j);
	return 0;
}

/* 1 if qemu-img reads path as a vmdk of size bytes (diag'd otherwise). */
static int qemu_reads(const char *path, uint64_t size)
{
	char fmt[32], msg[256];
	long long vs = -1;
	int ret = qemu_info(path, &vs, fmt, sizeof(fmt), msg, sizeof(msg));

	if (ret) {
		diag("qemu-img info %s: status %d: %s", path, ret, msg);
		return 0;
	}
	if (strcmp(fmt, "vmdk") || vs != (long long)size) {
		diag("qemu-img info %s: format %s, virtual-size %lld, want vmdk %llu",
		     path, fmt, vs, (unsigned long long)size);
		return 0;
	}
	return 1;
}

/* Temporary files of the atomic rewrite left in d. */
static int temps_in(const char *d)
{
	struct dirent *de;
	DIR *dd = opendir(d);
	int n = 0;

	if (!dd)
		return -1;
	while ((de = readdir(dd)))
		if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp-")) {
			diag("temporary file left: %s/%s", d, de->d_name);
			n++;
		}
	closedir(dd);
	return n;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool disks_equal(const struct svm_disk *a, const struct svm_disk *b)
{
	size_t i;

	if (a->nr_extents != b->nr_extents || a->size != b->size ||
	    !str_eq(a->cid, b->cid) || !str_eq(a->parent_cid, b->parent_cid) ||
	    !str_eq(a->create_type, b->create_type))
		return false;
	for (i = 0; i < a->nr_extents; i++)
		if (strcmp(a->extents[i].file, b->extents[i].file) ||
		    a->extents[i].offset != b->extents[i].offset ||
		    a->extents[i].length != b->extents[i].length ||
		    a->extents[i].type != b->extents[i].type)
			return false;
	return true;
}

/* ------------------------------------------------------------------------ */

static void test_qemu_created(void)
{
	struct svm_disk *d = NULL;
	char err[512];
	int ret;

	if (run("cd '%s' && qemu-img create -q -f vmdk -o subformat=monolithicFlat m.vmdk 10M",
		dir))
		diag("qemu-img create monolithicFlat failed");
	ret = svm_disk_open(P("m.vmdk"), &d, err, sizeof(err));
	ok(!ret && d->is_descriptor && d->nr_extents == 1 &&
	   d->size == 10 * MiB && !strcmp(d->create_type, "monolithicFlat") &&
	   !strcmp(d->extents[0].file, P("m-flat.vmdk")) &&
	   !strcmp(d->extents[0].file_as_written, "m-flat.vmdk") &&
	   d->extents[0].offset == 0 && d->extents[0].line == 8 &&
	   d->cid[0] && strlen(d->cid) <= 8 &&
	   !strcmp(d->parent_cid, "ffffffff"),
	   "qemu-img's monolithicFlat descriptor: one extent, 10 MiB, relative name resolved: %s",
	   ret ? err : d->extents[0].file);

	/* QEMU's first write rewrites the CID, padding with NULs to 512 */
	if (run("qemu-io -c 'write -P 0x5a 0 4096' '%s' >/dev/null",
		P("m.vmdk")))
		diag("qemu-io write failed");
	{
		struct svm_disk *w = NULL;
		struct stat st;

		if (stat(P("m.vmdk"), &st))
			bail("stat");
		ret = svm_disk_open(P("m.vmdk"), &w, err, sizeof(err));
		ok(!ret && st.st_size % 512 == 0 &&
		   d && strcmp(w->cid, d->cid) && w->size == 10 * MiB,
		   "after QEMU's first write (new CID %s, NUL padding to %lld bytes) the descriptor still opens: %s",
		   w ? w->cid : "-", (long long)st.st_size, ret ? err : "ok");
		svm_disk_free(w);
	}
	svm_disk_free(d);

	if (run("cd '%s' && qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentFlat t.vmdk 5G",
		dir))
		diag("qemu-img create twoGbMaxExtentFlat failed");
	ret = svm_disk_open(P("t.vmdk"), &d, err, sizeof(err));
	ok(!ret && d->nr_extents == 3 && d->size == 5 * GiB &&
	   d->extents[0].length == 2 * GiB && d->extents[2].length == GiB &&
	   !strcmp(d->extents[2].file, P("t-f003.vmdk")) &&
	   !strcmp(d->create_type, "twoGbMaxExtentFlat"),
	   "qemu-img's twoGbMaxExtentFlat descriptor: three extents, 5 GiB: %s",
	   ret ? err : "ok");
	svm_disk_free(d);
}

#define MULTI \
	"# Disk DescriptorFile\n" \
	"# written by hand\n" \
	"version=1\n" \
	"encoding=\"UTF-8\"\n" \
	"CID=0a1b2c3d\n" \
	"parentCID=ffffffff\n" \
	"createType=\"vmfs\"\n" \
	"\n" \
	"# Extent description\n" \
	"RW 2048 FLAT \"a.raw\" 0\n" \
	"  RW\t1024\tFLAT\t\"sub/b.raw\"\t2048  \n" \
	"RW 4096 FLAT \"%s\" 1024\n" \
	"RW 2048 VMFS \"b.raw\"\n" \
	"\n" \
	"# The Disk Data Base\n" \
	"#DDB\n" \
	"\n" \
	"ddb.adapterType = \"lsilogic\"\n" \
	"ddb.uuid = \"60 00 C2 9a\"\n" \
	"ddb.thinProvisioned = \"1\"\n"

/* The MULTI descriptor (ext is the absolute third file), LF or CRLF. */
static void write_multi(const char *path, const char *ext, bool crlf)
{
	char text[4096], out[8192];
	size_t i, n = 0;

	snprintf(text, sizeof(text), MULTI, ext);
	for (i = 0; text[i]; i++) {
		if (crlf && text[i] == '\n')
			out[n++] = '\r';
		out[n++] = text[i];
	}
	write_text(path, out, n);
}

static int check_multi(const struct svm_disk *d)
{
	const struct svm_disk_extent *e = d->extents;

	return d->nr_extents == 4 && d->size == (2048 + 1024 + 4096 + 2048) * 512 &&
	       !strcmp(d->create_type, "vmfs") && !strcmp(d->cid, "0a1b2c3d") &&
	       !strcmp(e[0].file, P("a.raw")) && e[0].offset == 0 &&
	       e[0].length == MiB && e[0].line == 10 &&
	       !strcmp(e[1].file, P("sub/b.raw")) &&
	       !strcmp(e[1].file_as_written, "sub/b.raw") &&
	       e[1].offset == MiB && e[1].length == 512 * KiB &&
	       e[1].line == 11 && !strcmp(e[2].file, P("c.raw")) &&
	       !strcmp(e[2].file_as_written, P("c.raw")) &&
	       e[2].offset == 512 * KiB && e[2].length == 2 * MiB &&
	       e[3].type == SVM_EXTENT_VMFS && e[3].offset == 0 &&
	       !strcmp(e[3].file, P("b.raw")) && e[2].type == SVM_EXTENT_FLAT;
}

static void test_handwritten(void)
{
	struct svm_disk *d = NULL, *c = NULL;
	char err[512], cwd[512];
	int ret;

	write_multi(P("multi.vmdk"), P("c.raw"), false);
	ret = svm_disk_open(P("multi.vmdk"), &d, err, sizeof(err));
	ok(!ret && check_multi(d),
	   "hand-written vmfs descriptor: 4 extents (relative, subdirectory, absolute, VMFS), offsets, comments: %s",
	   ret ? err : "ok");

	write_multi(P("crlf.vmdk"), P("c.raw"), true);
	ret = svm_disk_open(P("crlf.vmdk"), &c, err, sizeof(err));
	ok(!ret && check_multi(c) && qemu_reads(P("crlf.vmdk"), c->size),
	   "the same with CRLF line ends: same disk, and qemu-img reads it the same: %s",
	   ret ? err : "ok");
	svm_disk_free(c);
	c = NULL;

	/* relative descriptor path: extents still absolute */
	if (!getcwd(cwd, sizeof(cwd)) || chdir(dir))
		bail("chdir");
	ret = svm_disk_open("multi.vmdk", &c, err, sizeof(err));
	if (chdir(cwd))
		bail("chdir back");
	ok(!ret && d && disks_equal(c, d) && !strcmp(c->path, "multi.vmdk"),
	   "opened by a relative path: the same absolute extents: %s",
	   ret ? err : c->extents[0].file);
	svm_disk_free(c);
	c = NULL;
	svm_disk_free(d);

	/* no "# Disk DescriptorFile" line: QEMU's probe rule (version=) */
	write_str(P("nohdr.vmdk"),
		  "\n# a comment\nversion=1\nCID=00000001\nparentCID=ffffffff\n"
		  "createType=\"monolithicFlat\"\nRW 2048 FLAT \"a.raw\" 0\n");
	ret = svm_disk_open(P("nohdr.vmdk"), &c, err, sizeof(err));
	ok(!ret && c->is_descriptor && c->size == MiB && c->extents[0].line == 7,
	   "descriptor without the header line, found by its version= line: %s",
	   ret ? err : "ok");
	svm_disk_free(c);
	c = NULL;

	/* a createType svmotion does not know, over flat extents: kept */
	write_str(P("custom.vmdk"),
		  "# Disk DescriptorFile\nversion=1\nCID=00000001\n"
		  "parentCID=ffffffff\ncreateType=\"custom\"\n# x\n"
		  "RW 1024 FLAT \"a.raw\" 1024\n");
	ret = svm_disk_open(P("custom.vmdk"), &c, err, sizeof(err));
	ok(!ret && !strcmp(c->create_type, "custom") && c->size == 512 * KiB &&
	   c->extents[0].offset == 512 * KiB,
	   "unknown createType over FLAT extents accepted and kept: %s",
	   ret ? err : "ok");
	svm_disk_free(c);
}

/* The probes utils/remote.c shares for disks on NFS (read by libnfs). */
static void test_probes(void)
{
	static const char qcow[] = "QFI\xfb\0\0\0\3";
	static const char vdi[68] = { [64] = 0x7f, 0x10, 0xda, 0xbe };
	static const char desc[] = "\n# a comment\n\r\n  version=1\nCID=1\n";
	static const char hdr[] = "# Disk DescriptorFile\n";
	const char *f;

	f = svm_disk_image_format(qcow, sizeof(qcow));
	ok(f && !strcmp(f, "a qcow/qcow2 image"), "probe: qcow2 magic named");
	f = svm_disk_image_format(vdi, sizeof(vdi));
	ok(f && !strcmp(f, "a VDI image"), "probe: VDI magic at offset 64 named");
	ok(!svm_disk_image_format(vdi, 66) && !svm_disk_image_format(qcow, 3),
	   "probe: a magic cut short by the buffer's end is not matched");
	ok(!svm_disk_image_format(desc, sizeof(desc) - 1),
	   "probe: a descriptor is no image format");
	ok(svm_disk_is_descriptor(desc, sizeof(desc) - 1) &&
	   svm_disk_is_descriptor(hdr, sizeof(hdr) - 1),
	   "probe: descriptors told by version= after comments, or the header");
	ok(!svm_disk_is_descriptor(desc, 20) && !svm_disk_is_descriptor(qcow, sizeof(qcow)) &&
	   !svm_disk_is_descriptor("", 0) && !svm_disk_is_descriptor("# Disk", 6),
	   "probe: cut-short text, binary and empty buffers are not descriptors");
}

static void test_raw(void)
{
	struct svm_disk *d = NULL;
	char err[512], cwd[512];
	struct stat st;
	int ret;

	ret = svm_disk_open(P("a.raw"), &d, err, sizeof(err));
	ok(!ret && !d->is_descriptor && !d->is_block_device &&
	   d->nr_extents == 1 && d->size == MiB &&
	   !strcmp(d->extents[0].file, P("a.raw")) && d->extents[0].offset == 0 &&
	   d->extents[0].length == MiB && d->cid && strlen(d->cid) == 8,
	   "raw file: one extent, the whole file: %s", ret ? err : "ok");
	svm_disk_free(d);
	d = NULL;

	if (!getcwd(cwd, sizeof(cwd)) || chdir(dir))
		bail("chdir");
	ret = svm_disk_open("sub/b.raw", &d, err, sizeof(err));
	if (chdir(cwd))
		bail("chdir back");
	ok(!ret && !strcmp(d->extents[0].file, P("sub/b.raw")) &&
	   !strcmp(d->extents[0].file_as_written, "sub/b.raw"),
	   "raw file by a relative path: absolute extent %s",
	   ret ? err : d->extents[0].file);
	svm_disk_free(d);
	d = NULL;

	make_file(P("odd.raw"), 1000, 3);
	ret = svm_disk_open(P("odd.raw"), &d, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "not a multiple of 512"),
	   "raw file of 1000 bytes refused: %s", err);
	make_file(P("empty.raw"), 0, 0);
	ret = svm_disk_open(P("empty.raw"), &d, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "empty disk"),
	   "empty raw file refused: %s", err);
	ret = svm_disk_open(P("c.raw"), &d, err, sizeof(err));
	if (!ret)
		ret = svm_disk_write_descriptor(d, NULL, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "needs a path of its own") &&
	   !stat(P("c.raw"), &st) && st.st_size == 3 * MiB,
	   "raw disk: no descriptor written over the image itself: %s", err);
	ret = d ? svm_disk_write_descriptor(d, P("c.vmdk"), err,
					    sizeof(err)) : -1;
	ok(!ret && qemu_reads(P("c.vmdk"), 3 * MiB) &&
	   run("qemu-img compare -q -f vmdk -F raw '%s' '%s'", P("c.vmdk"),
	       P("c.raw")) == 0 && strstr(read_all(P("c.vmdk")),
					 "\nRW 6144 FLAT \"c.raw\" 0\n"),
	   "raw disk: a descriptor for it written beside it, qemu-img reads the same data: %s",
	   ret ? err : "ok");
	svm_disk_free(d);
	d = NULL;
	ret = svm_disk_open(P("nothere.raw"), &d, err, sizeof(err));
	ok(ret == -ENOENT && strstr(err, "nothere.raw"),
	   "missing disk: -ENOENT: %s", err);
	ret = svm_disk_open(P("sub"), &d, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "neither a regular file"),
	   "a directory refused: %s", err);
	ret = svm_disk_open_flags(P("a.raw"), SVM_DISK_DESCRIPTOR, &d, err,
				  sizeof(err));
	ok(ret == -EINVAL && strstr(err, "not a VMDK descriptor"),
	   "SVM_DISK_DESCRIPTOR on a raw file refused: %s", err);
}

static void test_other_formats(void)
{
	struct svm_disk *d = NULL;
	char err[512], *big;
	size_t n;
	int ret;

	run("cd '%s' && qemu-img create -q -f vmdk sparse.vmdk 10M && "
	    "qemu-img create -q -f qcow2 q.qcow2 10M && "
	    "qemu-img create -q -f vpc v.vhd 10M && "
	    "qemu-img create -q -f vdi v.vdi 10M", dir);
	ret = svm_disk_open(P("sparse.vmdk"), &d, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "sparse VMDK (KDMV"),
	   "sparse VMDK (qemu-img's monolithicSparse) refused: %s", err);
	ret = svm_disk_open(P("q.qcow2"), &d, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "qcow"), "qcow2 refused: %s", err);
	ret = svm_disk_open(P("v.vhd"), &d, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "VHD"), "VHD refused: %s", err);
	ret = svm_disk_open(P("v.vdi"), &d, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "VDI"), "VDI refused: %s", err);
	ret = svm_disk_open_flags(P("sparse.vmdk"), SVM_DISK_RAW, &d, err,
				  sizeof(err));
	ok(!ret && !d->is_descriptor && d->nr_extents == 1,
	   "the sparse VMDK opened as raw when the caller says so: %s",
	   ret ? err : "ok");
	svm_disk_free(d);
	d = NULL;

	/* a "descriptor" of 1 MiB + 1 is never followed (the raw-probe hazard) */
	n = (1 << 20) + 512;
	big = malloc(n);
	if (!big)
		bail("malloc");
	memset(big, '\n', n);
	memcpy(big, "# Disk DescriptorFile\n", 22);
	write_text(P("big.vmdk"), big, n);
	free(big);
	ret = svm_disk_open(P("big.vmdk"), &d, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "larger than 1048576"),
	   "a descriptor header on a file above 1 MiB refused: %s", err);
	ret = svm_disk_open_flags(P("big.vmdk"), SVM_DISK_RAW, &d, err,
				  sizeof(err));
	ok(!ret && !d->is_descriptor, "... and opened as raw with SVM_DISK_RAW: %s",
	   ret ? err : "ok");
	svm_disk_free(d);
}

static void test_loop(void)
{
	struct svm_disk *d = NULL;
	char err[512], text[1024];
	FILE *f;
	int ret;

	make_file(P("loop.img"), 4 * MiB, 9);
	snprintf(text, sizeof(text), "losetup -f --show '%s' 2>/dev/null",
		 P("loop.img"));
	f = geteuid() == 0 ? popen(text, "r") : NULL;
	if (f) {
		if (!fgets(loopdev, sizeof(loopdev), f))
			loopdev[0] = 0;
		loopdev[strcspn(loopdev, "\n")] = 0;
		pclose(f);
	}
	if (!loopdev[0]) {
		diag("no loop device (%s): block device cases skipped",
		     geteuid() ? "not root" : "losetup failed");
		ok(1, "raw block device # SKIP no loop device");
		ok(1, "descriptor over a block device # SKIP no loop device");
		ok(1, "block device too short # SKIP no loop device");
		return;
	}
	ret = svm_disk_open(loopdev, &d, err, sizeof(err));
	ok(!ret && !d->is_descriptor && d->is_block_device &&
	   d->size == 4 * MiB && !strcmp(d->extents[0].file, loopdev),
	   "raw block device %s: one extent of 4 MiB: %s", loopdev,
	   ret ? err : "ok");
	svm_disk_free(d);
	d = NULL;
	snprintf(text, sizeof(text),
		 "# Disk DescriptorFile\nversion=1\nCID=00000002\n"
		 "parentCID=ffffffff\ncreateType=\"vmfs\"\n# Extent\n"
		 "RW 4096 FLAT \"%s\" 2048\nRW 2048 FLAT \"%s\" 0\n",
		 loopdev, loopdev);
	write_str(P("dev.vmdk"), text);
	ret = svm_disk_open(P("dev.vmdk"), &d, err, sizeof(err));
	ok(!ret && d->nr_extents == 2 && d->size == 3 * MiB,
	   "descriptor over two parts of a block device: %s", ret ? err : "ok");
	svm_disk_free(d);
	d = NULL;
	snprintf(text, sizeof(text),
		 "# Disk DescriptorFile\nversion=1\nCID=00000002\n"
		 "parentCID=ffffffff\ncreateType=\"vmfs\"\n# Extent\n"
		 "RW 8192 FLAT \"%s\" 1\n", loopdev);
	write_str(P("dev.vmdk"), text);
	ret = svm_disk_open(P("dev.vmdk"), &d, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "dev.vmdk:7:") &&
	   strstr(err, "shorter than the extent's end"),
	   "extent beyond the end of a block device refused: %s", err);
}

static void test_check(void)
{
	struct svm_disk *d = NULL;
	char err[512];
	int ret;

	write_str(P("chk.vmdk"),
		  "# Disk DescriptorFile\nversion=1\nCID=00000003\n"
		  "parentCID=ffffffff\ncreateType=\"monolithicFlat\"\n# x\n"
		  "RW 2048 FLAT \"gone.raw\" 0\n");
	ret = svm_disk_open(P("chk.vmdk"), &d, err, sizeof(err));
	ok(ret == -ENOENT && strstr(err, "chk.vmdk:7: ") &&
	   strstr(err, "gone.raw: No such file"),
	   "missing extent file: -ENOENT: %s", err);
	ret = svm_disk_open_flags(P("chk.vmdk"), SVM_DISK_NO_CHECK, &d, err,
				  sizeof(err));
	ok(!ret && d->size == MiB,
	   "... opened with SVM_DISK_NO_CHECK: %s", ret ? err : "ok");
	ret = d ? svm_disk_check(d, err, sizeof(err)) : 0;
	ok(ret == -ENOENT, "... and svm_disk_check() then fails: %s", err);
	svm_disk_free(d);
	d = NULL;

	if (link(P("a.raw"), P("a-link.raw")))
		bail("link");
	write_str(P("chk.vmdk"),
		  "# Disk DescriptorFile\nversion=1\nCID=00000003\n"
		  "parentCID=ffffffff\ncreateType=\"twoGbMaxExtentFlat\"\n# x\n"
		  "RW 1024 FLAT \"a.raw\" 0\nRW 1024 FLAT \"a-link.raw\" 1000\n");
	ret = svm_disk_open(P("chk.vmdk"), &d, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "chk.vmdk:8:") &&
	   strstr(err, "overlaps extent 1"),
	   "extents overlapping through a hard link refused: %s", err);
	write_str(P("chk.vmdk"),
		  "# Disk DescriptorFile\nversion=1\nCID=00000003\n"
		  "parentCID=ffffffff\ncreateType=\"twoGbMaxExtentFlat\"\n# x\n"
		  "RW 1024 FLAT \"a.raw\" 0\nRW 1024 FLAT \"a-link.raw\" 1024\n");
	ret = svm_disk_open(P("chk.vmdk"), &d, err, sizeof(err));
	ok(!ret && d->size == MiB,
	   "adjacent extents of one file through a hard link accepted: %s",
	   ret ? err : "ok");
	svm_disk_free(d);
}

static void test_roundtrip(void)
{
	struct svm_disk *a = NULL, *b = NULL, *c = NULL;
	char err[512], *t1 = NULL, *t2 = NULL, *t3 = NULL;
	size_t l1 = 0, l2 = 0;
	int ret;

	ret = svm_disk_open(P("multi.vmdk"), &a, err, sizeof(err));
	if (!ret)
		ret = svm_disk_format_descriptor(a, NULL, &t1, &l1, err,
						 sizeof(err));
	if (!ret)
		ret = svm_disk_parse(t1, l1, P("multi.vmdk"), &b, err,
				     sizeof(err));
	if (!ret)
		ret = svm_disk_format_descriptor(b, NULL, &t2, &l2, err,
						 sizeof(err));
	ok(!ret && disks_equal(a, b) && l1 == l2 && !memcmp(t1, t2, l1) &&
	   l1 == strlen(t1),
	   "parse -> format -> parse: the same disk, the same text: %s",
	   ret ? err : "ok");
	ok(t1 && strstr(t1, "# written by hand\nversion=1\nencoding=\"UTF-8\"\nCID=0a1b2c3d\nparentCID=ffffffff\ncreateType=\"vmfs\"\n\n# Extent description\n") &&
	   strstr(t1, "\nRW 2048 FLAT \"a.raw\" 0\nRW 1024 FLAT \"sub/b.raw\" 2048\n") &&
	   strstr(t1, "\nRW 2048 VMFS \"b.raw\"\n\n# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\nddb.uuid = \"60 00 C2 9a\"\n"),
	   "the rewrite keeps comments and ddb lines in order, extents normalised");
	/* c.raw is in the descriptor's directory: written relative now */
	ok(t1 && strstr(t1, "\nRW 4096 FLAT \"c.raw\" 1024\n"),
	   "an absolute extent name inside the descriptor's directory is written relative");

	ret = svm_disk_open(P("crlf.vmdk"), &c, err, sizeof(err));
	if (!ret)
		ret = svm_disk_format_descriptor(c, P("multi.vmdk"), &t3, NULL,
						 err, sizeof(err));
	ok(!ret && !strchr(t3, '\r') && !strcmp(t1, t3),
	   "CRLF descriptor rewritten with LF, otherwise the same text: %s",
	   ret ? err : "ok");

	/* the same disk formatted for a descriptor elsewhere: absolute names */
	free(t2);
	t2 = NULL;
	ret = a ? svm_disk_format_descriptor(a, "/nonexistent-dir/x.vmdk", &t2,
					     NULL, err, sizeof(err)) : -1;
	ok(!ret && strstr(t2, P("sub/b.raw")) && strstr(t2, P("a.raw")),
	   "formatted for another directory: absolute names: %s",
	   ret ? err : "ok");
	free(t1);
	free(t2);
	free(t3);
	svm_disk_free(a);
	svm_disk_free(b);
	svm_disk_free(c);
}

static void test_set_and_write(void)
{
	struct svm_disk *d = NULL, *r = NULL;
	struct svm_disk_extent ne[3] = {
		{ .file = "new/n1.raw", .offset = 0, .length = 3 * MiB },
		{ .file = NULL, .offset = 4096, .length = MiB },
		{ .file = "new/n1.raw", .offset = 3 * MiB, .length = 512 * KiB },
	};
	char err[512], out[512], *text;
	struct stat st0, st1;
	int ret;

	if (run("mkdir -p '%s'", P("wr/new")))
		bail("mkdir");
	snprintf(out, sizeof(out), "%s", P("n2.raw"));	/* outside wr/ */
	ne[1].file = out;
	make_file(P("wr/flat.raw"), 4 * MiB + 512 * KiB, 5);
	write_str(P("wr/disk.vmdk"),
		  "# Disk DescriptorFile\nversion=1\nCID=12345678\n"
		  "parentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
		  "# Extent description\nRW 9216 FLAT \"flat.raw\" 0\n"
		  "ddb.adapterType = \"ide\"\n");
	ret = svm_disk_open(P("wr/disk.vmdk"), &d, err, sizeof(err));
	if (ret) {
		printf("Bail out! %s\n", err);
		exit(1);
	}

	ne[0].length = 2 * MiB;
	ret = svm_disk_set_extents(d, ne, 3, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "add up to 3670016 bytes, the disk is 4718592") &&
	   d->nr_extents == 1 && !strcmp(d->create_type, "monolithicFlat"),
	   "new extents of another total refused, disk unchanged: %s", err);
	ne[0].length = 3 * MiB;
	ne[2].offset = 2 * MiB;
	ret = svm_disk_set_extents(d, ne, 3, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "extent 3 overlaps extent 1"),
	   "new extents overlapping in one file refused: %s", err);
	ne[2].offset = 3 * MiB;
	ne[1].offset = 100;
	ret = svm_disk_set_extents(d, ne, 3, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "not a multiple of 512"),
	   "new extent at an unaligned offset refused: %s", err);
	ne[1].offset = 4096;
	ne[1].file = "bad\"name.raw";
	ret = svm_disk_set_extents(d, ne, 3, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "double quote"),
	   "new extent name with a double quote refused: %s", err);
	ne[1].file = out;
	ret = svm_disk_set_extents(d, ne, 3, err, sizeof(err));
	ok(!ret && d->nr_extents == 3 &&
	   !strcmp(d->extents[0].file, P("wr/new/n1.raw")) &&
	   !strcmp(d->create_type, "twoGbMaxExtentFlat") &&
	   !strcmp(d->cid, "12345678"),
	   "three new extents set (relative name resolved, monolithicFlat -> twoGbMaxExtentFlat, CID kept): %s",
	   ret ? err : "ok");

	/* copy the data over, then rewrite the descriptor in place */
	copy_range(P("wr/flat.raw"), 0, P("wr/new/n1.raw"), 0, 3 * MiB);
	copy_range(P("wr/flat.raw"), 3 * MiB, out, 4096, MiB);
	copy_range(P("wr/flat.raw"), 4 * MiB, P("wr/new/n1.raw"), 3 * MiB,
		   512 * KiB);
	if (chmod(P("wr/disk.vmdk"), 0640) || stat(P("wr/disk.vmdk"), &st0))
		bail("chmod");
	ret = svm_disk_write_descriptor(d, NULL, err, sizeof(err));
	if (stat(P("wr/disk.vmdk"), &st1))
		bail("stat");
	text = read_all(P("wr/disk.vmdk"));
	ok(!ret && st1.st_ino != st0.st_ino && (st1.st_mode & 0777) == 0640 &&
	   temps_in(P("wr")) == 0,
	   "descriptor rewritten by one rename (new inode), mode 0640 kept, no temporary file left: %s",
	   ret ? err : "ok");
	ok(text && strstr(text, "createType=\"twoGbMaxExtentFlat\"\n# Extent description\n"
			  "RW 6144 FLAT \"new/n1.raw\" 0\n") &&
	   strstr(text, "RW 2048 FLAT \"/") &&
	   strstr(text, "/n2.raw\" 8\nRW 1024 FLAT \"new/n1.raw\" 6144\n"
		  "ddb.adapterType = \"ide\"\n") && !strstr(text, "\"n2.raw"),
	   "rewritten: names relative inside the directory, absolute outside, other lines kept");
	ret = svm_disk_open(P("wr/disk.vmdk"), &r, err, sizeof(err));
	ok(!ret && disks_equal(d, r), "the rewritten descriptor reads back the same: %s",
	   ret ? err : "ok");
	svm_disk_free(r);
	r = NULL;
	ok(qemu_reads(P("wr/disk.vmdk"), d->size) &&
	   run("qemu-img compare -q -f vmdk -F raw '%s' '%s'", P("wr/disk.vmdk"),
	       P("wr/flat.raw")) == 0,
	   "qemu-img reads the rewritten three-extent descriptor, its content is the old disk's (qemu-img compare)");

	/* through a symlink: the link stays, its target is replaced */
	if (symlink("disk.vmdk", P("wr/link.vmdk")))
		bail("symlink");
	ret = svm_disk_write_descriptor(d, P("wr/link.vmdk"), err, sizeof(err));
	ok(!ret && !lstat(P("wr/link.vmdk"), &st0) && S_ISLNK(st0.st_mode) &&
	   !stat(P("wr/disk.vmdk"), &st0) && st0.st_ino != st1.st_ino &&
	   temps_in(P("wr")) == 0,
	   "written through a symlink: the link stays, the target is replaced: %s",
	   ret ? err : "ok");

	/* failures: a directory in the way, then a full filesystem */
	if (mkdir(P("wr/isdir.vmdk"), 0755))
		bail("mkdir");
	ret = svm_disk_write_descriptor(d, P("wr/isdir.vmdk"), err, sizeof(err));
	ok(ret == -EISDIR && strstr(err, "is a directory: not replaced") &&
	   temps_in(P("wr")) == 0,
	   "a directory in the way: -EISDIR, no temporary file: %s", err);
	ret = svm_disk_write_descriptor(d, P("wr/flat.raw"), err, sizeof(err));
	ok(ret == -EEXIST && strstr(err, "not a VMDK descriptor: not replaced") &&
	   !stat(P("wr/flat.raw"), &st0) && st0.st_size == 4.5 * MiB &&
	   temps_in(P("wr")) == 0,
	   "an existing raw image is never replaced by a descriptor: %s", err);
	ret = svm_disk_write_descriptor(d, P("wr/nodir/x.vmdk"), err,
					sizeof(err));
	ok(ret == -ENOENT && strstr(err, "temporary file"),
	   "writing into a missing directory fails: %s", err);
	svm_disk_free(d);
}

#define OLD "# Disk DescriptorFile\nversion=1\n# the old one\n"

static void test_full_fs(void)
{
	struct svm_disk *d = NULL;
	char err[512], *text, *big;
	const char *desc;
	size_t i, n = 0;
	int ret;

	snprintf(smallfs, sizeof(smallfs), "%s", P("small"));
	if (mkdir(smallfs, 0755) ||
	    mount("tmpfs", smallfs, "tmpfs", 0, "size=64k")) {
		diag("cannot mount a small tmpfs (%s): full-filesystem case skipped",
		     strerror(errno));
		smallfs[0] = 0;
		ok(1, "rewrite on a full filesystem # SKIP no tmpfs mount");
		return;
	}
	desc = P("small/full.vmdk");
	make_file(P("small/f.raw"), 16 * KiB, 0);
	/* 200 KiB of ddb lines: does not fit in 64 KiB */
	big = malloc(256 * KiB);
	if (!big)
		bail("malloc");
	n = sprintf(big, "# Disk DescriptorFile\nversion=1\nCID=00000004\n"
		    "parentCID=ffffffff\ncreateType=\"monolithicFlat\"\n# x\n"
		    "RW 32 FLAT \"f.raw\" 0\n");
	for (i = 0; i < 2000; i++)
		n += sprintf(big + n, "ddb.filler%04zu = \"%080zu\"\n", i, i);
	write_str(desc, OLD);
	ret = svm_disk_parse(big, n, desc, &d, err, sizeof(err));
	if (!ret)
		ret = svm_disk_write_descriptor(d, NULL, err, sizeof(err));
	text = read_all(desc);
	ok(ret == -ENOSPC && strstr(err, "full.vmdk: write: No space left") &&
	   text && !strcmp(text, OLD) &&
	   temps_in(smallfs) == 0,
	   "rewrite on a full filesystem fails with -ENOSPC, old file intact, temporary file removed: %s",
	   err);
	free(big);
	svm_disk_free(d);
	umount2(smallfs, MNT_DETACH);
	smallfs[0] = 0;
}

static void test_new(void)
{
	struct svm_disk *d = NULL, *e = NULL;
	struct svm_disk_extent x[3];
	char err[512], geo[256], *text = NULL, *q;
	char ref[512];
	int ret;

	snprintf(ref, sizeof(ref), "%s", P("nd/ref.raw"));

	if (run("mkdir -p '%s'", P("nd/sub")))
		bail("mkdir");
	make_file(P("nd/one.raw"), 10 * MiB, 0);
	memset(x, 0, sizeof(x));
	x[0].file = "one.raw";
	x[0].length = 10 * MiB;
	ret = svm_disk_new(P("nd/one.vmdk"), x, 1, NULL, &d, err, sizeof(err));
	if (!ret)
		ret = svm_disk_write_descriptor(d, NULL, err, sizeof(err));
	ok(!ret && !strcmp(d->create_type, "monolithicFlat") &&
	   qemu_reads(P("nd/one.vmdk"), 10 * MiB),
	   "new monolithicFlat descriptor: qemu-img reads 10 MiB: %s",
	   ret ? err : "ok");

	/* geometry as qemu-img writes it for the same size */
	run("cd '%s' && qemu-img create -q -f vmdk -o subformat=monolithicFlat qi.vmdk 10M",
	    P("nd"));
	q = read_all(P("nd/qi.vmdk"));
	geo[0] = 0;
	q = q ? strstr(q, "ddb.geometry.cylinders") : NULL;
	if (q && strstr(q, "ddb.adapterType"))
		snprintf(geo, sizeof(geo), "%.*s",
			 (int)(strstr(q, "ddb.adapterType") - q), q);
	text = read_all(P("nd/one.vmdk"));
	ok(geo[0] && text && strstr(text, geo) &&
	   strstr(text, "ddb.adapterType = \"ide\"\n") &&
	   strstr(text, "parentCID=ffffffff\n"),
	   "new descriptor's geometry lines are qemu-img's for 10 MiB ide: %.*s",
	   (int)strcspn(geo, "\n"), geo);
	ret = svm_disk_new(P("nd/two.vmdk"), x, 1, NULL, &e, err, sizeof(err));
	ok(!ret && d && strcmp(d->cid, e->cid) && strlen(e->cid) == 8,
	   "two new descriptors get different CIDs (%s, %s)", d ? d->cid : "-",
	   e ? e->cid : "-");
	svm_disk_free(d);
	svm_disk_free(e);
	d = e = NULL;
	ret = svm_disk_new(P("nd/x.vmdk"), x, 1, "scsi", &d, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "unknown adapter type"),
	   "unknown adapter type refused: %s", err);
	ret = svm_disk_new(P("nd/x.vmdk"), x, 0, NULL, &d, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "no extents"),
	   "new disk without extents refused: %s", err);

	/*
	 * Three extents over two files (one outside the directory, absolute),
	 * with offsets, against a raw image of the same content.
	 */
	make_file(ref, 6 * MiB, 77);
	copy_range(ref, 0, P("nd/sub/p.raw"), MiB, 2 * MiB);
	copy_range(ref, 2 * MiB, P("o.raw"), 512, 3 * MiB);
	copy_range(ref, 5 * MiB, P("nd/sub/p.raw"), 4 * MiB, MiB);
	memset(x, 0, sizeof(x));
	x[0] = (struct svm_disk_extent){ .file = "sub/p.raw", .offset = MiB,
					 .length = 2 * MiB };
	x[1] = (struct svm_disk_extent){ .file = (char *)P("o.raw"),
					 .offset = 512, .length = 3 * MiB };
	x[2] = (struct svm_disk_extent){ .file = "sub/p.raw",
					 .offset = 4 * MiB, .length = MiB };
	ret = svm_disk_new(P("nd/multi.vmdk"), x, 3, "lsilogic", &d, err,
			   sizeof(err));
	if (!ret)
		ret = svm_disk_write_descriptor(d, NULL, err, sizeof(err));
	text = read_all(P("nd/multi.vmdk"));
	ok(!ret && !strcmp(d->create_type, "twoGbMaxExtentFlat") && text &&
	   strstr(text, "RW 4096 FLAT \"sub/p.raw\" 2048\nRW 6144 FLAT \"/") &&
	   strstr(text, "/o.raw\" 1\nRW 2048 FLAT \"sub/p.raw\" 8192\n") &&
	   strstr(text, "ddb.geometry.heads = \"255\"") &&
	   strstr(text, "ddb.adapterType = \"lsilogic\""),
	   "new three-extent descriptor: twoGbMaxExtentFlat, relative and absolute names, lsilogic geometry: %s",
	   ret ? err : "ok");
	ok(!ret && qemu_reads(P("nd/multi.vmdk"), 6 * MiB),
	   "qemu-img reads the new three-extent descriptor: 6 MiB");
	ret = run("qemu-img compare -q -f vmdk -F raw '%s' '%s'", P("nd/multi.vmdk"),
		  ref);
	ok(ret == 0, "qemu-img compare: the three-extent descriptor equals the raw image (status %d)",
	   ret);
	flip_byte(P("nd/sub/p.raw"), 4 * MiB + 4096);
	ret = run("qemu-img compare -q -f vmdk -F raw '%s' '%s'", P("nd/multi.vmdk"),
		  ref);
	ok(ret == 1, "... and differs once a byte of its last extent changes (status %d)",
	   ret);
	ret = svm_disk_open(P("nd/multi.vmdk"), &e, err, sizeof(err));
	ok(!ret && disks_equal(d, e), "the new descriptor reads back the same: %s",
	   ret ? err : "ok");
	svm_disk_free(d);
	svm_disk_free(e);
	d = e = NULL;

	/* a name QEMU would truncate is never written */
	memset(x, 0, sizeof(x));
	x[0].file = (char *)P("nd/sub/p.raw");
	x[0].length = MiB;
	{
		char longname[700];

		memset(longname, 'n', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = 0;
		memcpy(longname, "/var/tmp/", 9);
		x[0].file = longname;
		ret = svm_disk_new(P("nd/long.vmdk"), x, 1, NULL, &d, err,
				   sizeof(err));
		if (!ret)
			ret = svm_disk_write_descriptor(d, NULL, err,
							sizeof(err));
	}
	ok(ret == -EINVAL && strstr(err, "QEMU reads at most 511") &&
	   access(P("nd/long.vmdk"), F_OK) && temps_in(P("nd")) == 0,
	   "an extent name longer than 511 bytes is not written: %.60s...", err);
	svm_disk_free(d);
}

/* ------------------------------------------------------------------------
 * Hostile descriptors
 */

#define H1 "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
#define HDR H1 "createType=\"monolithicFlat\"\n# Extent description\n"
#define EXT "RW 2048 FLAT \"a.raw\" 0\n"

static const struct hostile {
	const char *text;
	int ret;
	unsigned int line;	/* 0: the message names no line */
	const char *why;
} hostile[] = {
	{ HDR, -EINVAL, 6, "no extent lines" },
	{ HDR "RW 2048 FLAT\n", -EINVAL, 7, "without a file name" },
	{ HDR "RW FLAT \"a.raw\" 0\n", -EINVAL, 7, "sector count is not a number" },
	{ HDR "RW\n2048 FLAT \"a.raw\" 0\n", -EINVAL, 7, "without a sector count" },
	{ HDR "RW -5 FLAT \"a.raw\" 0\n", -EINVAL, 7, "negative sector count" },
	{ HDR "RW 12x FLAT \"a.raw\" 0\n", -EINVAL, 7, "sector count is not a number" },
	{ HDR "RW +12 FLAT \"a.raw\" 0\n", -EINVAL, 7, "sector count is not a number" },
	{ HDR "RW 2048\n", -EINVAL, 7, "without a type" },
	{ HDR "RW 2048 FLAT \"a.raw\" 0 junk\n", -EINVAL, 7, "trailing garbage after the offset" },
	{ HDR "RW 2048 FLAT \"a.raw\"0\n", -EINVAL, 7, "trailing garbage after the file name" },
	{ HDR "RW 2048 FLAT \"a.raw 0\n", -EINVAL, 7, "unterminated quote" },
	{ HDR "RW 2048 FLAT \"\" 0\n", -EINVAL, 7, "empty file name" },
	{ HDR "RW 2048 FLAT a.raw 0\n", -EINVAL, 7, "not in double quotes" },
	{ HDR "RW 2048 FLAT \"a\x01.raw\" 0\n", -EINVAL, 7, "control character 0x01" },
	{ HDR "RW 2048 FLAT \"sub/\" 0\n", -EINVAL, 7, "ends with '/'" },
	{ HDR "RW 99999999999999999999999 FLAT \"a.raw\" 0\n", -EINVAL, 7, "sector count too large" },
	{ HDR "RW 137438953473 FLAT \"a.raw\" 0\n", -EINVAL, 7, "larger than the 64 TiB maximum" },
	{ HDR EXT "RW 85899345920 FLAT \"b.raw\" 0\nRW 85899345920 FLAT \"c.raw\" 0\n",
	  -EINVAL, 9, "disk larger than the 64 TiB maximum" },
	{ HDR "RW 2048 FLAT \"a.raw\" 144115188075855872\n", -EINVAL, 7, "beyond 64 PiB" },
	{ HDR "RW 2048 FLAT \"a.raw\" 99999999999999999999\n", -EINVAL, 7, "offset too large" },
	{ HDR "RW 0 FLAT \"a.raw\" 0\n", -EINVAL, 7, "zero-length extent" },
	{ HDR "RW 2048 FLAT \"a.raw\" -1\n", -EINVAL, 7, "negative offset" },
	{ HDR "RW 2048 FLAT \"a.raw\" 0x10\n", -EINVAL, 7, "offset is not a number" },
	{ HDR "RW 2048 FLAT \"a.raw\"\n", -EINVAL, 7, "FLAT extent without an offset" },
	{ HDR "RW 2048 VMFS \"a.raw\" 0\n", -EINVAL, 7, "VMFS extent with an offset" },
	{ HDR "RW 2048 FOO \"a.raw\" 0\n", -EINVAL, 7, "unknown extent type \"FOO\"" },
	{ HDR "RW 2048 SPARSE \"a.raw\"\n", -EINVAL, 7, "SPARSE extent: svmotion moves only FLAT" },
	{ HDR "RW 2048 VMFSRDM \"a.raw\"\n", -EINVAL, 7, "VMFSRDM extent" },
	{ HDR "RDONLY 2048 FLAT \"a.raw\" 0\n", -EINVAL, 7, "RDONLY extent: svmotion moves only RW" },
	{ HDR "NOACCESS 2048 FLAT \"a.raw\" 0\n", -EINVAL, 7, "NOACCESS extent" },
	{ HDR EXT "RW 100 ZERO\n", -EINVAL, 8, "ZERO extent" },
	{ HDR EXT "RW 100 ZERO \"a.raw\"\n", -EINVAL, 8, "trailing garbage after a ZERO extent" },
	{ HDR EXT "RW 1024 FLAT \"a.raw\" 1024\n", -EINVAL, 8, "extent 2 overlaps extent 1" },
	{ HDR "RW 1024 FLAT \"a.raw\" 0\nRW 1024 FLAT \"./a.raw\" 1000\n", -EINVAL, 8,
	  "overlaps extent 1 (" },
	{ HDR "\n" EXT, -EINVAL, 8, "empty line right before an extent line" },
	{ HDR " \t\r\n" EXT, -EINVAL, 8, "empty line right before an extent line" },
	{ HDR "hello world\n" EXT, -EINVAL, 7, "unrecognized line" },
	{ HDR "rw 2048 FLAT \"a.raw\" 0\n", -EINVAL, 7, "unrecognized line" },
	{ H1 "createType=\"monolithicSparse\"\n" EXT, -EINVAL, 5, "sparse format" },
	{ H1 "createType=\"streamOptimized\"\n" EXT, -EINVAL, 5, "sparse format" },
	{ H1 "createType=\"vmfsRawDeviceMap\"\n" EXT, -EINVAL, 5, "raw device mapping" },
	{ H1 EXT, -EINVAL, 5, "no createType" },
	{ H1 "createType=\"\"\n" EXT, -EINVAL, 5, "empty createType" },
	{ H1 "createType=\"monolithicFlat\n" EXT, -EINVAL, 5, "unterminated quote in the value of createType" },
	{ H1 "createType=\"vmfs\" x\n" EXT, -EINVAL, 5, "trailing garbage after the value" },
	{ HDR "createType=\"vmfs\"\n" EXT, -EINVAL, 7, "duplicate createType" },
	{ "version=1\nCID=12345678\nCID=12345678\nparentCID=ffffffff\ncreateType=\"vmfs\"\n# x\n" EXT,
	  -EINVAL, 3, "duplicate CID" },
	{ "version=1\nCID=xyz\nparentCID=ffffffff\ncreateType=\"vmfs\"\n# x\n" EXT,
	  -EINVAL, 2, "CID \"xyz\" is not 1 to 8 hex digits" },
	{ "version=1\nCID=123456789\nparentCID=ffffffff\ncreateType=\"vmfs\"\n# x\n" EXT,
	  -EINVAL, 2, "is not 1 to 8 hex digits" },
	{ "version=1\nCID=12345678\nparentCID=87654321\ncreateType=\"vmfs\"\n# x\n" EXT,
	  -EINVAL, 3, "parentCID 87654321: a snapshot child" },
	{ HDR "parentFileNameHint=\"base.vmdk\"\n" EXT, -EINVAL, 7, "parentFileNameHint" },
	{ HDR "RW 4096 FLAT \"a.raw\" 0\n", -EINVAL, 7, "1048576 bytes, shorter than the extent's end at 2097152" },
	{ HDR "RW 2048 FLAT \"a.raw\" 1\n", -EINVAL, 7, "shorter than the extent's end" },
	{ HDR "RW 2048 FLAT \"missing.raw\" 0\n", -ENOENT, 7, "missing.raw: No such file or directory" },
	{ HDR "RW 1 FLAT \"h.vmdk\" 0\n", -EINVAL, 7, "is the descriptor itself" },
	{ HDR "RW 1 FLAT \"sub\" 0\n", -EINVAL, 7, "neither a regular file nor a block device" },
};

#define NR_HOSTILE (sizeof(hostile) / sizeof(hostile[0]))

/* Open text (len bytes) as dir/h.vmdk; expect ret and why at line. */
static void refused(const char *text, size_t len, int want, unsigned int line,
		    const char *why, const char *desc)
{
	struct svm_disk *d = NULL;
	char err[1024], where[600];
	int ret;

	write_text(P("h.vmdk"), text, len);
	err[0] = 0;
	ret = svm_disk_open(P("h.vmdk"), &d, err, sizeof(err));
	if (line)
		snprintf(where, sizeof(where), "svm-vmdk: %s:%u: ", P("h.vmdk"),
			 line);
	else
		snprintf(where, sizeof(where), "svm-vmdk: %s: ", P("h.vmdk"));
	ok(ret == want && !d && !strncmp(err, where, strlen(where)) &&
	   strstr(err, why) && !strchr(err, '\n'),
	   "hostile: %s: %s", desc, err[0] ? err + strlen("svm-vmdk: ") +
	   strlen(P("h.vmdk")) : "(no message)");
	if (ret != want)
		diag("returned %d, want %d", ret, want);
	svm_disk_free(d);
}

static void test_hostile(void)
{
	char *text, desc[64];
	size_t i, n;

	for (i = 0; i < NR_HOSTILE; i++) {
		snprintf(desc, sizeof(desc), "table entry %zu", i + 1);
		refused(hostile[i].text, strlen(hostile[i].text), hostile[i].ret,
			hostile[i].line, hostile[i].why, desc);
	}

	text = malloc(2 * MiB);
	if (!text)
		bail("malloc");
	{
		static const char nul[] = HDR EXT "ddb.x = \"a\0b\"\n";

		static const char pad[] = HDR EXT "\0\0\0\0# x\n";

		refused(nul, sizeof(nul) - 1, -EINVAL, 8, "NUL byte",
			"a NUL byte");
		refused(pad, sizeof(pad) - 1, -EINVAL, 8, "NUL byte",
			"text after NUL padding (QEMU stops at the first NUL)");
	}
	{
		/*
		 * QEMU's in-place CID rewrite with a shorter CID: the old
		 * text's last bytes stay after the NUL (a remnant equal to the
		 * text's end) -> read as the text before the NUL
		 */
		static const char rem[] = HDR EXT "\0" "0\n" "\0\0\0";
		static const char bad[] = HDR EXT "\0" "x\n" "\0\0\0";
		struct svm_disk *dr = NULL;
		char e2[256];
		int r2;

		r2 = svm_disk_parse(rem, sizeof(rem) - 1, "/x/rem.vmdk", &dr,
				    e2, sizeof(e2));
		ok(!r2 && dr && dr->nr_extents == 1,
		   "QEMU's shorter-CID rewrite (end-of-text remnant after the NUL) is read: %s",
		   r2 ? e2 : "ok");
		svm_disk_free(dr);
		refused(bad, sizeof(bad) - 1, -EINVAL, 8, "NUL byte",
			"bytes after the NUL that are not the text's end");
	}

	n = sprintf(text, HDR "# ");
	memset(text + n, 'x', 9000);
	n += 9000;
	n += sprintf(text + n, "\n" EXT);
	refused(text, n, -EINVAL, 7, "line longer than 8192 bytes",
		"a 9 KiB comment line");

	n = sprintf(text, HDR EXT);
	while (n <= (1 << 20))
		n += sprintf(text + n, "# padding padding padding padding\n");
	refused(text, n, -EINVAL, 0, "descriptor larger than 1048576 bytes",
		"a descriptor above 1 MiB");

	n = sprintf(text, HDR);
	for (i = 0; i < 1025; i++)
		n += sprintf(text + n, "RW 1 FLAT \"a.raw\" %zu\n", i);
	refused(text, n, -EINVAL, 7 + 1024, "more than 1024 extents",
		"1025 extents");

	n = sprintf(text, HDR);
	for (i = 0; i < 1024; i++)
		n += sprintf(text + n, "RW 2 FLAT \"a.raw\" %zu\n", 2 * i);
	{
		struct svm_disk *d = NULL;
		char err[512];
		int ret;

		write_text(P("h.vmdk"), text, n);
		ret = svm_disk_open(P("h.vmdk"), &d, err, sizeof(err));
		ok(!ret && d->nr_extents == 1024 && d->size == MiB,
		   "1024 extents (the maximum) accepted: %s", ret ? err : "ok");
		svm_disk_free(d);
	}
	free(text);
}

int main(void)
{
	if (access("/usr/bin/qemu-img", X_OK) && run("command -v qemu-img >/dev/null")) {
		printf("Bail out! qemu-img is not installed (scripts/setup: qemu-utils)\n");
		return 1;
	}
	snprintf(dir, sizeof(dir), "/var/tmp/svm-vmdk-test.XXXXXX");
	if (!mkdtemp(dir))
		bail("mkdtemp");
	atexit(cleanup);
	if (mkdir(P("sub"), 0755))
		bail("mkdir");
	make_file(P("a.raw"), MiB, 1);
	make_file(P("b.raw"), MiB, 2);
	make_file(P("sub/b.raw"), 2 * MiB, 3);
	make_file(P("c.raw"), 3 * MiB, 4);

	tap_plan(76 + NR_HOSTILE);
	test_qemu_created();
	test_handwritten();
	test_raw();
	test_other_formats();
	test_loop();
	test_check();
	test_roundtrip();
	test_set_and_write();
	test_full_fs();
	test_new();
	test_hostile();
	test_probes();
	return tap_done();
}
