// SPDX-License-Identifier: GPL-2.0
/*
 * cold-url - host tests of svmotion cold with URLs, where no server is
 * needed (tests/guest/84-cold-remote.sh has the real nfsd and LIO target):
 * --help, datastore lists with URLs and :SIZE, malformed URLs (exit 2, the
 * parser's reason, no password shown), migrate to a URL refused with the
 * mount or login that would do (exit 3), servers not listening refused at
 * once with nothing created (exit 3), a descriptor with a URL extent,
 * --force over an existing file and a loop device holding data, a device
 * smaller than the disk, and plain local cold copies still working.
 *
 * The command runs as a child: utils/svmotion, or build/san/svmotion when
 * this test is the sanitizer build, and under valgrind itself when this test
 * runs under valgrind (its exit status 99 then means a valgrind report).
 */
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <valgrind/valgrind.h>

#include "cli-run.h"
#include "copy-util.h"
#include "tap.h"

/* nothing listens on port 1 (privileged, never a service here) */
#define DEAD_NFS	"nfs://127.0.0.1:1/srv/e/ds?version=4"
#define DEAD_LUN	"iscsi://127.0.0.1:1/iqn.2026-12.org.svmotion:test/0"

static double last_s;	/* how long the last sv() took */

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run "svmotion ARGS"; its stdout+stderr in outbuf; returns the exit status. */
__attribute__((format(printf, 1, 2)))
static int sv(const char *fmt, ...)
{
	char args[2048];
	va_list ap;
	double t0 = mono();
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	st = cli_run(args, " --progress none");
	last_s = mono() - t0;
	return st;
}

__attribute__((format(printf, 1, 2)))
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc)
		diag("command failed: %s", cmd);
	return rc;
}

static bool empty_dir(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", dir);
	return system(cmd) == 0;
}

static void test_help(void)
{
	int rc = sv("cold --help");

	ok_out(rc == 0 && has("nfs://SERVER[:PORT]/EXPORT/PATH[?version=3|4]") &&
	       has("iscsi://[USER[%PASSWORD]@]PORTAL[:PORT]/TARGET-IQN/LUN") &&
	       has("--force") && has("--timeout") && has("e.g. svmotion cold"),
	       "cold --help teaches the URL forms, :SIZE after a URL, --force, --timeout, with examples");
	rc = sv("migrate --help");
	ok_out(rc == 0 && has("for cold copies only") && !has("--force"),
	       "migrate --help: URL datastores are for cold copies only; no --force");
}

static void test_parsing(const char *disk, const char *dir)
{
	int rc;

	sh("mkdir -p '%s'", dir);
	rc = sv("cold %s --to nfs://127.0.0.1/srv/e/ds:12X", disk);
	ok_out(rc == 2 && has("'12X' is not a size") && has(":SIZE comes last"),
	       "nfs://.../ds:12X: exit 2, not a size");
	rc = sv("cold %s --to nfs://127.0.0.1/srv/e/ds:0", disk);
	ok_out(rc == 2 && has("size 0"), "nfs://.../ds:0: exit 2, size 0");
	rc = sv("cold %s --to 'nfs://127.0.0.1/srv/e/ds:4G?version=4'", disk);
	ok_out(rc == 2 && has("'4G?version=4' is not a size"),
	       ":SIZE before ?version=: exit 2, said to put it last");
	rc = sv("cold %s --to '%s:1M,%s'", disk, dir, DEAD_NFS);
	ok_out(rc == 3 && has("nfs://127.0.0.1:1/srv/e/ds/u-s002-flat.vmdk?version=4") &&
	       has("Connection refused"),
	       "DIR:1M,nfs://HOST:PORT/...?version=4: the port kept, the second part named in the directory URL");
	rc = sv("cold %s --to '%s'", disk, DEAD_LUN);
	ok_out(rc == 3 && has("connection refused") && !has("not a size"),
	       "iscsi://.../iqn...:test/0: the IQN's ':' is not a size (exit 3, connection refused)");
	rc = sv("cold %s --to '%s:2M,%s'", disk, DEAD_LUN, dir);
	ok_out(rc == 3 && has("connection refused") && !has("not a size"),
	       "iscsi://.../0:2M,DIR: a LUN with a size, then a directory (exit 3, connection refused)");
	rc = sv("cold %s --to 'nfs://127.0.0.1:1/srv/e/dir:abc?version=4'", disk);
	ok_out(rc == 3 && has("/srv/e/dir:abc/u.img?version=4"),
	       "nfs://.../dir:abc: ':abc' is part of the directory's name");
	rc = sv("cold %s --to 'nfs://127.0.0.1:1/srv/e/ds/?version=4'", disk);
	ok_out(rc == 3 && has("nfs://127.0.0.1:1/srv/e/ds/u.img?version=4"),
	       "nfs://.../ds/ (trailing '/') is the directory ds");
}

static void test_malformed(const char *disk)
{
	static const struct {
		const char *url, *want;
	} bad[] = {
		{ "nfs://", "no export" },
		{ "nfs://127.0.0.1", "no export" },
		{ "nfs://127.0.0.1/", "no export" },
		{ "nfs://127.0.0.1/srv/./ds", "\".\" component" },
		{ "nfs://127.0.0.1:99999/srv/ds", "out of range" },
		{ "nfs://127.0.0.1/srv/ds?version=2", "unsupported NFS version" },
		{ "http://127.0.0.1/x", "only nfs:// and iscsi://" },
		{ "iscsi://127.0.0.1/notaniqn/0", "bad target name" },
		{ "iscsi://127.0.0.1/iqn.2026-12.org.svmotion:t/x", "LUN" },
	};
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = sv("cold %s --to '%s'", disk, bad[i].url);
		ok_out(rc == 2 && has(bad[i].url) && has(bad[i].want),
		       "datastore %s: exit 2, named, \"%s\"", bad[i].url, bad[i].want);
	}
	rc = sv("cold 'iscsi://joe%%s3cret@127.0.0.1/notaniqn/0' --to %s", cu_dir);
	ok_out(rc == 2 && has("iscsi://joe@127.0.0.1/notaniqn/0") && !has("s3cret"),
	       "malformed disk URL: exit 2, named without its password");
	rc = sv("cold nfs://127.0.0.1/nofile --to %s", cu_dir);
	ok_out(rc == 2 && has("nfs://127.0.0.1/nofile"), "disk nfs://HOST/FILE (no export): exit 2");
	rc = sv("cold %s --to %s --timeout 0", disk, cu_dir);
	ok_out(rc == 2 && has("--timeout 0"), "--timeout 0: exit 2");
	rc = sv("cold %s --to %s --timeout 5x", disk, cu_dir);
	ok_out(rc == 2 && has("--timeout 5x"), "--timeout 5x: exit 2");
}

static void test_live(const char *disk)
{
	int rc;

	rc = sv("migrate %s --to nfs://127.0.0.1/srv/svm/ds1:4G", disk);
	ok_out(rc == 3 && has("is not mounted here") &&
	       has("mount -t nfs -o vers=3 127.0.0.1:/srv/svm/ds1 /mnt/ds1 and use --to /mnt/ds1") &&
	       has("svmotion cold"),
	       "migrate --to nfs://...: exit 3 with the mount that would do");
	rc = sv("migrate %s --to /tmp --place x='nfs://[::1]:2050/ds1?version=4'", disk);
	ok_out(rc == 3 && has("mount -t nfs -o vers=4,port=2050 [::1]:/ds1 /mnt/ds1"),
	       "migrate --place x=nfs://[::1]:PORT/...?version=4: the v4 mount with its port");
	rc = sv("migrate %s --to 'iscsi://127.0.0.1/iqn.2026-12.org.svmotion:test/2'", disk);
	ok_out(rc == 3 && has("iscsiadm -m node -T iqn.2026-12.org.svmotion:test -p 127.0.0.1:3260 --login") &&
	       has("LUN 2"),
	       "migrate --to iscsi://...: exit 3 with the iscsiadm login");
	rc = sv("migrate %s --to /tmp --force", disk);
	ok_out(rc == 2 && has("--force is for svmotion cold"), "migrate --force: exit 2");
}

static void test_dead_servers(const char *disk)
{
	const char *d = cu_path("dead");
	char desc[400];
	FILE *f;
	int rc;

	sh("mkdir -p '%s'", d);
	rc = sv("cold %s --to '%s'", disk, DEAD_NFS);
	ok_out(rc == 3 && has("nfs://127.0.0.1:1/srv/e/ds/u.img?version=4") &&
	       has("Connection refused") && last_s < 20,
	       "NFS server not listening: exit 3 at once (%.1f s), the URL named", last_s);
	rc = sv("cold %s --to '%s'", disk, DEAD_LUN);
	ok_out(rc == 3 && has(DEAD_LUN) && has("connection refused") && last_s < 20,
	       "iSCSI portal not listening: exit 3 at once (%.1f s), the URL named", last_s);
	rc = sv("cold %s --to '%s:1M,%s'", disk, d, DEAD_NFS);
	ok_out(rc == 3 && empty_dir(d),
	       "local directory + dead NFS: exit 3, nothing created in the directory");
	rc = sv("cold 'nfs://127.0.0.1:1/srv/e/vm.vmdk?version=4' --to %s", d);
	ok_out(rc == 3 && has("Connection refused") && empty_dir(d),
	       "disk on a dead NFS server: exit 3, nothing created");
	rc = sv("cold '%s' --to %s", DEAD_LUN, d);
	ok_out(rc == 3 && has("connection refused") && empty_dir(d),
	       "disk on a dead iSCSI portal: exit 3, nothing created");
	/* a local descriptor whose second extent is a LUN */
	snprintf(desc, sizeof(desc), "%s/mixed.vmdk", cu_dir);
	cu_make_file(cu_path("mixed-flat.vmdk"), 2 * MiB, MiB, false, 5, 0, 0);
	f = fopen(desc, "w");
	if (f) {
		fprintf(f, "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
			"createType=\"twoGbMaxExtentFlat\"\n# Extent description\n"
			"RW 4096 FLAT \"mixed-flat.vmdk\" 0\nRW 4096 FLAT \"%s\" 0\n",
			DEAD_LUN);
		fclose(f);
	}
	rc = sv("cold %s --to %s", desc, d);
	ok_out(rc == 3 && has("extent 2") && has(DEAD_LUN) && empty_dir(d),
	       "descriptor with an iscsi:// extent (dead): exit 3, the extent named");
}

static void test_local(void)
{
	const char *a = cu_path("la"), *b = cu_path("lb");
	char src[400], dst[400], cmd[1200];
	int rc;

	sh("mkdir -p '%s' '%s'", a, b);
	snprintf(src, sizeof(src), "%s/r.img", a);
	snprintf(dst, sizeof(dst), "%s/r.img", b);
	cu_make_file(src, 4 * MiB, MiB, true, 3, 0, 0);
	rc = sv("cold %s --to %s", src, b);
	ok_out(rc == 0 && cu_cmp(src, 0, dst, 0, 4 * MiB) && has("now at"),
	       "cold from a local raw file to a local directory still works");
	sh("echo old > '%s'", dst);
	rc = sv("cold %s --to %s", src, b);
	ok_out(rc == 3 && has("exists already") && has("--force") && cu_size(dst) == 4,
	       "an existing destination file: exit 3, --force suggested, untouched");
	rc = sv("cold %s --to %s --force", src, b);
	ok_out(rc == 0 && cu_size(dst) == 4 * MiB && cu_cmp(src, 0, dst, 0, 4 * MiB),
	       "... with --force: replaced by the copy");

	/* a loop device as the destination */
	{
		char img[400], imgref[400], loop[64] = "";
		FILE *p;

		snprintf(img, sizeof(img), "%s/dev.img", cu_dir);
		cu_make_file(img, 4 * MiB, MiB, false, 9, 0, 0);
		snprintf(imgref, sizeof(imgref), "%s/dev.ref", cu_dir);
		sh("cp '%s' '%s'", img, imgref);
		snprintf(cmd, sizeof(cmd), "losetup -f --show '%s' 2>/dev/null", img);
		p = popen(cmd, "r");
		if (p) {
			if (!fgets(loop, sizeof(loop), p))
				loop[0] = 0;
			pclose(p);
		}
		loop[strcspn(loop, "\n")] = 0;
		if (!loop[0]) {
			ok(1, "# SKIP no loop device");
			ok(1, "# SKIP no loop device");
			ok(1, "# SKIP no loop device");
		} else {
			rc = sv("cold %s --to %s", src, loop);
			ok_out(rc == 3 && has("holds data (first MiB not zero): --force to overwrite"),
			       "a block device whose first MiB is not zero: exit 3");
			ok(cu_cmp(img, 0, imgref, 0, 4 * MiB),
			   "... the device untouched");
			rc = sv("cold %s --to %s --force", src, loop);
			ok_out(rc == 0 && cu_cmp(src, 0, img, 0, 4 * MiB) && !has(".vmdk"),
			       "... with --force: the device holds the disk, no descriptor written");
			sh("losetup -d %s", loop);
		}
		snprintf(img, sizeof(img), "%s/small.img", cu_dir);
		sh("truncate -s 1M '%s'", img);
		snprintf(cmd, sizeof(cmd), "losetup -f --show '%s' 2>/dev/null", img);
		loop[0] = 0;
		p = popen(cmd, "r");
		if (p) {
			if (!fgets(loop, sizeof(loop), p))
				loop[0] = 0;
			pclose(p);
		}
		loop[strcspn(loop, "\n")] = 0;
		if (!loop[0]) {
			ok(1, "# SKIP no loop device");
		} else {
			rc = sv("cold %s --to %s --force", src, loop);
			ok_out(rc == 3 && has("holds 1048576 bytes, 4194304 needed") &&
			       cu_is_zero(img, 0, MiB),
			       "a device smaller than the disk: exit 3, untouched");
			sh("losetup -d %s", loop);
		}
	}
}

int main(int argc, char **argv)
{
	const char *me = argv[0];
	char disk[400];

	(void)argc;
	if (strstr(me, "build/san/"))
		snprintf(bin, sizeof(bin), "build/san/svmotion");
	else
		snprintf(bin, sizeof(bin), "utils/svmotion");
	if (access(bin, X_OK)) {
		printf("Bail out! %s not built (make)\n", bin);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	cu_setup();
	snprintf(state, sizeof(state), "%s/state", cu_dir);
	snprintf(out_path, sizeof(out_path), "%s/out.txt", cu_dir);
	snprintf(disk, sizeof(disk), "%s/u.img", cu_dir);
	cu_make_file(disk, 4 * MiB, MiB, false, 1, 0, 0);
	tap_plan(2 + 8 + 13 + 4 + 6 + 7);
	test_help();
	test_parsing(disk, cu_path("pd"));
	test_malformed(disk);
	test_live(disk);
	test_dead_servers(disk);
	test_local();
	return tap_done();
}
