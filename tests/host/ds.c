// SPDX-License-Identifier: GPL-2.0
/*
 * ds - unit tests of lib/svm-ds: mount table lines parsed (escapes,
 * optional fields, malformed and hostile lines), the mount of a path found
 * (longest prefix by whole components, device first, later mounts hiding
 * earlier ones), NFS mounts' server/export/version/options, block devices
 * and iSCSI LUNs recognised from a fake sysfs tree, and svm_ds_probe_at()
 * over a fake mount table and sysfs with real directories (its O_TMPFILE
 * probes checked against the filesystem's own answer). No server, mount or
 * device is needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "svm-ds.h"
#include "tap.h"

static char tmp[256];

static void put(const char *rel, const char *text)
{
	char path[1024], *slash, dir[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = strchr(dir + strlen(tmp) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = 0;
		mkdir(dir, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void link_to(const char *rel, const char *target)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	if (symlink(target, path))
		diag("symlink %s: %s", path, strerror(errno));
}

/* ---- mount table lines ------------------------------------------------------ */

static void test_lines(void)
{
	struct svm_ds_mount m;
	static const char *const bad[] = {
		"",
		"\n",
		"36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root rw",	/* no "-" */
		"36 35 98:0 /mnt1 /mnt2 rw - ext3",				/* no source */
		"x 35 98:0 / / rw - ext4 /dev/sda1 rw",
		"36 35 980 / / rw - ext4 /dev/sda1 rw",				/* no colon */
		"36 35 98:x / / rw - ext4 /dev/sda1 rw",
		"36 35 98:99999999999 / / rw - ext4 /dev/sda1 rw",
		"36 35 8:1 rel / rw - ext4 /dev/sda1 rw",			/* relative root */
		"36 35 8:1 / rel rw - ext4 /dev/sda1 rw",
		"36 35 8:1 / /a\\09x rw - ext4 /dev/sda1 rw",			/* bad escape */
		"36 35 8:1 / /a\\000 rw - ext4 /dev/sda1 rw",			/* NUL */
		"36 35 8:1 / /a\\4 rw - ext4 /dev/sda1 rw",			/* cut escape */
		"36 35",
	};
	char longline[PATH_MAX + 100];
	size_t i;

	ok(!svm_ds_parse_mountinfo_line("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n", &m) &&
	   m.major == 98 && m.minor == 0 && !strcmp(m.root, "/mnt1") &&
	   !strcmp(m.point, "/mnt2") && !strcmp(m.fstype, "ext3") &&
	   !strcmp(m.source, "/dev/root") && !strcmp(m.opts, "rw,errors=continue") && !m.ro,
	   "proc(5)'s example line");
	ok(!svm_ds_parse_mountinfo_line("25 1 0:22 / /my\\040data ro,relatime shared:7 master:2 propagate_from:3 - nfs4 srv:/exp\\134x rw,vers=4.2", &m) &&
	   !strcmp(m.point, "/my data") && !strcmp(m.source, "srv:/exp\\x") && m.ro &&
	   m.major == 0 && m.minor == 22,
	   "escapes decoded (\\040 space, \\134 backslash), several optional fields, ro");
	ok(!svm_ds_parse_mountinfo_line("25 1 0:22 / /x rw - tmpfs tmpfs", &m) && !m.opts[0],
	   "no super options: empty");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(svm_ds_parse_mountinfo_line(bad[i], &m) == -EINVAL,
		   "malformed line %zu refused: '%.*s'", i,
		   (int)strcspn(bad[i], "\n"), bad[i]);
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = 0;
	memcpy(longline, "1 1 8:1 / /", 11);
	ok(svm_ds_parse_mountinfo_line(longline, &m) == -EINVAL,
	   "a mount point longer than PATH_MAX refused");
}

/* ---- finding the mount ------------------------------------------------------- */

static void test_find(void)
{
	const char *t =
		"1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
		"2 1 0:5 / /srv rw - tmpfs tmpfs rw\n"
		"garbage line\n"
		"3 2 8:17 / /srv/a rw - xfs /dev/sdb1 rw\n"
		"4 2 8:17 /sub /srv/b rw - xfs /dev/sdb1 rw\n"
		"5 2 0:40 / /srv/a rw - nfs4 h:/e rw,vers=4.2\n";
	struct svm_ds_mount m;

	ok(!svm_ds_find_mount(t, 8, 1, "/home/x", &m) && !strcmp(m.point, "/"),
	   "/home/x: on /");
	ok(!svm_ds_find_mount(t, 0, 5, "/srv/ab", &m) && !strcmp(m.point, "/srv"),
	   "/srv/ab is on /srv, not /srv/a (whole components)");
	ok(!svm_ds_find_mount(t, 0, 40, "/srv/a/vm", &m) && !strcmp(m.fstype, "nfs4"),
	   "/srv/a/vm with the NFS mount's device: the later mount that hides xfs");
	ok(!svm_ds_find_mount(t, 8, 17, "/srv/b/x", &m) && !strcmp(m.point, "/srv/b") &&
	   !strcmp(m.root, "/sub"), "a bind mount of a subdirectory");
	ok(!svm_ds_find_mount(t, 0, 99, "/srv/b/x", &m) && !strcmp(m.point, "/srv/b"),
	   "a device no line has (btrfs subvolume): the longest prefix");
	ok(svm_ds_find_mount("", 8, 1, "/x", &m) == -ENOENT, "empty table: -ENOENT");
	ok(svm_ds_find_mount("junk\nmore junk\n", 8, 1, "/x", &m) == -ENOENT,
	   "only malformed lines: -ENOENT");
}

/* ---- NFS mounts ----------------------------------------------------------------- */

static void test_nfs(void)
{
	struct svm_ds_mount m = { 0 };
	struct svm_ds_nfs n;

	strcpy(m.fstype, "nfs4");
	strcpy(m.source, "127.0.0.1:/srv/svm/ds1");
	strcpy(m.opts, "rw,vers=4.2,rsize=1048576,wsize=524288,namlen=255,hard,proto=tcp,softreval,addr=127.0.0.1");
	ok(!svm_ds_parse_nfs(&m, &n) && !strcmp(n.server, "127.0.0.1") &&
	   !strcmp(n.export, "/srv/svm/ds1") && !strcmp(n.vers, "4.2") &&
	   !strcmp(n.addr, "127.0.0.1") && n.rsize == 1048576 && n.wsize == 524288 &&
	   !n.soft, "v4.2 mount: server, export, version, addr, sizes, hard (softreval is not soft)");
	strcpy(m.fstype, "nfs");
	strcpy(m.source, "[fe80::1]:/exp");
	strcpy(m.opts, "rw,vers=3,soft,addr=fe80::1");
	ok(!svm_ds_parse_nfs(&m, &n) && !strcmp(n.server, "fe80::1") &&
	   !strcmp(n.export, "/exp") && !strcmp(n.vers, "3") && n.soft &&
	   !strcmp(n.addr, "fe80::1"), "v3 over IPv6, soft");
	strcpy(m.opts, "rw,softerr");
	ok(!svm_ds_parse_nfs(&m, &n) && n.soft && !strcmp(n.vers, "3"),
	   "softerr is soft; no vers= on nfs: 3");
	strcpy(m.fstype, "nfs4");
	strcpy(m.opts, "rw");
	strcpy(m.source, "h:/");
	ok(!svm_ds_parse_nfs(&m, &n) && !strcmp(n.vers, "4") && !strcmp(n.export, "/"),
	   "no vers= on nfs4: 4; the export /");
	strcpy(m.source, "server");
	ok(svm_ds_parse_nfs(&m, &n) == -EINVAL, "source without ':': -EINVAL");
	strcpy(m.source, "server:relative");
	ok(svm_ds_parse_nfs(&m, &n) == -EINVAL, "relative export: -EINVAL");
	strcpy(m.source, "[::1/x");
	ok(svm_ds_parse_nfs(&m, &n) == -EINVAL, "unclosed [: -EINVAL");
	strcpy(m.source, ":/x");
	ok(svm_ds_parse_nfs(&m, &n) == -EINVAL, "empty server: -EINVAL");
	strcpy(m.source, "h:/x");
	strcpy(m.fstype, "ext4");
	ok(svm_ds_parse_nfs(&m, &n) == -EINVAL, "ext4 is not NFS");
}

/* ---- sysfs ------------------------------------------------------------------------ */

#define SDC "devices/platform/host2/session1/target2:0:0/2:0:0:3/block/sdc"

static void fake_sysfs(void)
{
	put("sys/" SDC "/size", "2097152\n");
	put("sys/" SDC "/queue/logical_block_size", "4096\n");
	put("sys/" SDC "/queue/discard_max_bytes", "4194304\n");
	put("sys/" SDC "/sdc1/partition", "1\n");
	put("sys/" SDC "/sdc1/size", "1024\n");
	mkdir(strcat(strcpy((char[512]){ 0 }, tmp), "/sys/dev"), 0755);
	mkdir(strcat(strcpy((char[512]){ 0 }, tmp), "/sys/dev/block"), 0755);
	link_to("sys/dev/block/8:32", "../../" SDC);
	link_to("sys/dev/block/8:33", "../../" SDC "/sdc1");
	put("sys/class/iscsi_session/session1/targetname", "iqn.2003-01.org.linux-iscsi.t:sn.1\n");
	put("sys/class/iscsi_connection/connection1:0/persistent_address", "127.0.0.1\n");
	put("sys/class/iscsi_connection/connection1:0/persistent_port", "3260\n");
	put("sys/class/iscsi_connection/connection2:0/persistent_address", "10.9.9.9\n");
	put("sys/class/iscsi_connection/connection2:0/persistent_port", "3261\n");
	put("sys/devices/virtual/block/loop0/size", "8\n");
	put("sys/devices/virtual/block/loop0/queue/logical_block_size", "512\n");
	put("sys/devices/virtual/block/loop0/queue/discard_max_bytes", "0\n");
	link_to("sys/dev/block/7:0", "../../devices/virtual/block/loop0");
	/* a SCSI disk that is not iSCSI (no session in its path) */
	put("sys/devices/pci0000:00/host0/target0:0:0/0:0:0:0/block/sda/size", "16\n");
	link_to("sys/dev/block/8:0", "../../devices/pci0000:00/host0/target0:0:0/0:0:0:0/block/sda");
}

static void test_sysfs(void)
{
	char sys[512];
	struct svm_ds_info ds;

	snprintf(sys, sizeof(sys), "%s/sys", tmp);
	memset(&ds, 0, sizeof(ds));
	ok(!svm_ds_sysfs_dev(sys, 8, 32, &ds) && !strcmp(ds.dev, "sdc") && !ds.partition &&
	   ds.block_size == 4096 && ds.total == 2097152ull * 512 &&
	   (ds.offloads & SVM_DS_OFF_UNMAP) && ds.is_iscsi && ds.iscsi.session == 1 &&
	   ds.iscsi.host == 2 && ds.iscsi.target == 0 && ds.iscsi.lun == 3 &&
	   !strcmp(ds.iscsi.iqn, "iqn.2003-01.org.linux-iscsi.t:sn.1") &&
	   !strcmp(ds.iscsi.portal, "127.0.0.1:3260"),
	   "an iSCSI LUN: sdc, LUN 3 of session 1, its target and portal, 4 KiB blocks, discard");
	memset(&ds, 0, sizeof(ds));
	ok(!svm_ds_sysfs_dev(sys, 8, 33, &ds) && !strcmp(ds.dev, "sdc1") && ds.partition &&
	   ds.block_size == 4096 && ds.total == 1024 * 512 && ds.is_iscsi && ds.iscsi.lun == 3,
	   "its partition: the disk's queue, the partition's size, still the LUN");
	memset(&ds, 0, sizeof(ds));
	ok(!svm_ds_sysfs_dev(sys, 7, 0, &ds) && !strcmp(ds.dev, "loop0") && !ds.is_iscsi &&
	   ds.block_size == 512 && !(ds.offloads & SVM_DS_OFF_UNMAP),
	   "a loop device: not iSCSI, no discard");
	memset(&ds, 0, sizeof(ds));
	ok(!svm_ds_sysfs_dev(sys, 8, 0, &ds) && !strcmp(ds.dev, "sda") && !ds.is_iscsi,
	   "a SCSI disk outside a session is not iSCSI");
	memset(&ds, 0, sizeof(ds));
	ok(svm_ds_sysfs_dev(sys, 9, 9, &ds) == -ENOENT && !ds.has_dev,
	   "a device sysfs does not know: -ENOENT");
}

/* ---- probing --------------------------------------------------------------------- */

/* What the filesystem of dir says to a hole punch in a file of its own. */
static int punch_answer(const char *dir)
{
	char path[700];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/punch-check", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -errno;
	ret = pwrite(fd, (char[4096]){ 0 }, 4096, 0) == 4096 &&
	      !fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096);
	close(fd);
	unlink(path);
	return ret;
}

static void test_probe(void)
{
	struct svm_ds_roots r;
	struct svm_ds_info ds;
	char mi[600], sys[600], dir[600], file[600], table[2048], err[512], d[256];
	struct stat st;
	int punch;

	snprintf(sys, sizeof(sys), "%s/sys", tmp);
	snprintf(mi, sizeof(mi), "%s/mountinfo", tmp);
	snprintf(dir, sizeof(dir), "%s/ds", tmp);
	snprintf(file, sizeof(file), "%s/ds/disk.img", tmp);
	mkdir(dir, 0755);
	put("ds/disk.img", "x");
	stat(dir, &st);
	r = (struct svm_ds_roots){ .mountinfo = mi, .sysfs = sys };

	/* the directory, said to be an NFS mount */
	snprintf(table, sizeof(table),
		 "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
		 "9 1 %u:%u / %s rw,relatime - nfs4 10.0.0.5:/exports/ds rw,vers=4.2,rsize=262144,wsize=262144,hard,addr=10.0.0.5\n",
		 major(st.st_dev), minor(st.st_dev), dir);
	put("mountinfo", table);
	ok(!svm_ds_probe_at(&r, dir, &ds, err, sizeof(err)) && ds.kind == SVM_DS_NFS &&
	   !strcmp(ds.nfs.server, "10.0.0.5") && !strcmp(ds.nfs.export, "/exports/ds") &&
	   (ds.offloads & SVM_DS_OFF_NFS_COPY) && ds.total > 0 && ds.avail <= ds.total,
	   "an NFS v4.2 mount: server, export, server-side copy offered, capacity");
	ok(!strcmp(svm_ds_describe(&ds, d, sizeof(d)), "NFS 10.0.0.5:/exports/ds (v4.2, hard)"),
	   "described: %s", d);

	/* the directory, said to be ext4 on loop0 */
	snprintf(table, sizeof(table),
		 "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
		 "9 1 7:0 / %s rw - ext4 /dev/loop0 rw\n", dir);
	put("mountinfo", table);
	punch = punch_answer(dir);
	ok(!svm_ds_probe_at(&r, dir, &ds, err, sizeof(err)) && ds.kind == SVM_DS_DIR &&
	   ds.has_dev && !strcmp(ds.dev, "loop0") && !strcmp(ds.mnt.fstype, "ext4") &&
	   !(ds.offloads & SVM_DS_OFF_UNMAP) && ds.block_size > 0,
	   "a local filesystem on loop0 (its device from sysfs; UNMAP is the disk's, not the directory's)");
	ok(ds.offloads_probed && !!(ds.offloads & SVM_DS_OFF_PUNCH) == (punch == 1),
	   "the O_TMPFILE probe's punch (%d) is the filesystem's own answer (%d)",
	   !!(ds.offloads & SVM_DS_OFF_PUNCH), punch);
	ok(!strcmp(svm_ds_describe(&ds, d, sizeof(d)), "ext4 on loop0"), "described: %s", d);

	/* on an iSCSI LUN's partition */
	snprintf(table, sizeof(table), "9 1 8:33 / %s rw - xfs /dev/sdc1 rw\n", dir);
	put("mountinfo", table);
	ok(!svm_ds_probe_at(&r, dir, &ds, err, sizeof(err)) && ds.is_iscsi && ds.iscsi.lun == 3,
	   "xfs on an iSCSI LUN's partition");
	ok(!strcmp(svm_ds_describe(&ds, d, sizeof(d)),
		   "xfs on sdc1, iSCSI LUN 3 of iqn.2003-01.org.linux-iscsi.t:sn.1 at 127.0.0.1:3260"),
	   "described: %s", d);

	/* errors */
	ok(svm_ds_probe_at(&r, file, &ds, err, sizeof(err)) == -ENOTDIR &&
	   strstr(err, "not a directory or a block device"), "a regular file: %s", err);
	ok(svm_ds_probe_at(&r, "/nonexistent/ds", &ds, err, sizeof(err)) == -ENOENT &&
	   strstr(err, "/nonexistent/ds"), "a missing path: %s", err);
	ok(svm_ds_probe_at(&r, "", &ds, err, sizeof(err)) == -EINVAL, "an empty path: %s", err);
	put("mountinfo", "junk\n");
	ok(svm_ds_probe_at(&r, dir, &ds, err, sizeof(err)) == -ENOENT &&
	   strstr(err, "no mount"), "no mount covers it: %s", err);
	r.mountinfo = "/nonexistent/mountinfo";
	ok(svm_ds_probe_at(&r, dir, &ds, err, sizeof(err)) == -ENOENT &&
	   strstr(err, "/nonexistent/mountinfo"), "the mount table missing: %s", err);
	punch = svm_ds_probe(dir, &ds, err, sizeof(err));
	ok(!punch && ds.kind != SVM_DS_BLOCK && ds.mnt.fstype[0] && ds.total > 0,
	   "the real tables: %s (mounted on %s)", svm_ds_describe(&ds, d, sizeof(d)),
	   ds.mnt.point);
	unlink(file);
	rmdir(dir);
}

static void test_mountstats(void)
{
	const char *t =
		"device rootfs mounted on / with fstype rootfs\n"
		"device 127.0.0.1:/ds1 mounted on /mnt/my\\040ds with fstype nfs4 statvers=1.1\n"
		"\topts:\trw,vers=4.2\n"
		"\tper-op statistics\n"
		"\t        NULL: 0 0 0 0 0 0 0 0 0\n"
		"\t        READ: 10 10 0 1680 10487040 3 40 45 0\n"
		"\t       WRITE: 20 20 0 20973760 3200 5 50 60 0\n"
		"\t        COPY: 3 3 0 900 600 0 10 11 0\n"
		"\n"
		"device h:/e mounted on /mnt/other with fstype nfs statvers=1.1\n"
		"\tper-op statistics\n"
		"\t       WRITE: 7 7 0 777 1 0 0 0 0\n"
		"device h:/f mounted on /mnt/noops with fstype nfs statvers=1.1\n"
		"\topts:\trw\n";
	struct svm_nfs_ops o;

	ok(!svm_ds_parse_mountstats(t, "/mnt/my ds", &o) && o.read_ops == 10 &&
	   o.read_bytes == 10487040 && o.write_ops == 20 && o.write_bytes == 20973760 &&
	   o.copy_ops == 3 && o.clone_ops == 0,
	   "mountstats: READ bytes received, WRITE bytes sent, COPY calls of the escaped mount point");
	ok(!svm_ds_parse_mountstats(t, "/mnt/other", &o) && o.write_bytes == 777 &&
	   !o.copy_ops && !o.read_ops, "the next mount's own counters, not the first's");
	ok(svm_ds_parse_mountstats(t, "/mnt/none", &o) == -ENOENT, "no such mount: -ENOENT");
	ok(svm_ds_parse_mountstats(t, "/", &o) == -ENOENT, "not NFS: -ENOENT");
	ok(svm_ds_parse_mountstats(t, "/mnt/noops", &o) == -EINVAL,
	   "no per-op statistics: -EINVAL");
	ok(svm_ds_parse_mountstats("device x mounted on\n\tgarbage: q\n", "/x", &o) == -ENOENT,
	   "garbage: -ENOENT");
}

static void test_words(void)
{
	char b[64];

	ok(!strcmp(svm_ds_offload_names(SVM_DS_OFF_REFLINK | SVM_DS_OFF_PUNCH |
					SVM_DS_OFF_XCOPY, b, sizeof(b)),
		   "reflink,punch,xcopy"), "offload words: %s", b);
	ok(!strcmp(svm_ds_offload_names(0, b, sizeof(b)), ""), "none: empty");
	ok(!strcmp(svm_ds_offload_names(0x1f, b, 12), "reflink"),
	   "cut at a word boundary when short: %s", b);
	ok(!strcmp(svm_ds_kind_name(SVM_DS_NFS), "nfs") &&
	   !strcmp(svm_ds_kind_name(SVM_DS_BLOCK), "block"), "kind names");
}

int main(void)
{
	char cmd[300];
	int rc;

	snprintf(tmp, sizeof(tmp), "/tmp/svm-ds-test.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	fake_sysfs();
	tap_plan(18 + 7 + 9 + 5 + 13 + 6 + 4);
	test_lines();
	test_find();
	test_nfs();
	test_sysfs();
	test_probe();
	test_mountstats();
	test_words();
	rc = tap_done();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd))
		diag("could not remove %s", tmp);
	return rc;
}
