// SPDX-License-Identifier: GPL-2.0
/*
 * svmotion-cli - host tests of the svmotion command where no device-mapper
 * is needed: --help of every command, usage errors, cold copies (formats,
 * splitting, raw images, --delete-source, --json, cancellation) and the
 * checks that refuse a migration before changing anything.
 *
 * The command runs as a child: utils/svmotion, or build/san/svmotion when
 * this test is the sanitizer build, and under valgrind itself when this test
 * runs under valgrind (its exit status 99 then means a valgrind report).
 */
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <valgrind/valgrind.h>

#include "cli-run.h"
#include "copy-util.h"
#include "tap.h"


/*
 * Run "svmotion ARGS" (a shell fragment) with the test's state dir; its
 * stdout+stderr in outbuf; returns the exit status (-1: killed).
 */
__attribute__((format(printf, 1, 2)))
static int sv(const char *fmt, ...)
{
	char args[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return cli_run(args, "");
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd))
		diag("command failed: %s", cmd);
}

/* A monolithicFlat descriptor NAME.vmdk over NAME-flat.vmdk in dir. */
static void make_disk(const char *dir, const char *name, uint64_t size,
		      bool holey, uint32_t seed)
{
	char p[400];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s-flat.vmdk", dir, name);
	cu_make_file(p, size, MiB, holey, seed, 0, 0);
	snprintf(p, sizeof(p), "%s/%s.vmdk", dir, name);
	f = fopen(p, "w");
	if (!f)
		exit(1);
	fprintf(f, "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
		"createType=\"monolithicFlat\"\n\n# Extent description\n"
		"RW %llu FLAT \"%s-flat.vmdk\" 0\n\n# The Disk Data Base\n#DDB\n\n"
		"ddb.adapterType = \"ide\"\n", (unsigned long long)(size / 512), name);
	fclose(f);
}

static bool file_has(const char *path, const char *s)
{
	char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return strstr(buf, s) != NULL;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void test_help(void)
{
	static const char *const cmds[] = { "attach", "detach", "list", "migrate",
					    "status", "abort", "cold" };
	char want[64];
	size_t i;
	int rc;

	rc = sv("--help");
	ok_out(rc == 0 && has("migrate DISK... --to") && has("Exit status"),
	       "svmotion --help: exit 0, lists the commands and exit codes");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		rc = sv("%s --help", cmds[i]);
		snprintf(want, sizeof(want), "usage: svmotion %s", cmds[i]);
		ok_out(rc == 0 && has(want), "svmotion %s --help: exit 0, usage", cmds[i]);
	}
	rc = sv("migrate --help");
	ok_out(has("--format") && has("--handoff") && has("--place") &&
	       has("--delete-source") && has("--json") && has("--rate") &&
	       has("--mover") && has("--dst-timeout MS") &&
	       has("--via auto|kernel|direct"),
	       "migrate --help explains every option");
	rc = sv("frobnicate");
	ok_out(rc == 2 && has("unknown command frobnicate"), "unknown command: exit 2");
	rc = sv(" ");
	ok_out(rc == 2 && has("usage"), "no command: exit 2 with usage");
	rc = sv("--state-dir relative list");
	ok_out(rc == 2 && has("absolute"), "relative --state-dir: exit 2");
}

static void test_usage_errors(const char *disk)
{
	int rc;

	rc = sv("migrate --to %s", cu_dir);
	ok_out(rc == 2 && has("no disk given"), "migrate without a disk: exit 2");
	rc = sv("cold %s --to %s --format bogus", disk, cu_dir);
	ok_out(rc == 2 && has("--format bogus"), "--format bogus: exit 2");
	rc = sv("cold %s --to %s --mover warp", disk, cu_dir);
	ok_out(rc == 2 && has("--mover warp"), "--mover warp: exit 2");
	rc = sv("cold %s --to %s --rate 0", disk, cu_dir);
	ok_out(rc == 2 && has("--rate 0"), "--rate 0: exit 2");
	rc = sv("cold %s --to %s --rate 12Q", disk, cu_dir);
	ok_out(rc == 2 && has("--rate 12Q"), "--rate 12Q: exit 2");
	rc = sv("migrate %s --to %s --dst-timeout 99", disk, cu_dir);
	ok_out(rc == 2 && has("--dst-timeout 99: milliseconds, 100 to 600000, or 0"),
	       "--dst-timeout 99: exit 2, says the range");
	rc = sv("migrate %s --to %s --dst-timeout 600001", disk, cu_dir);
	ok_out(rc == 2 && has("--dst-timeout 600001"), "--dst-timeout 600001: exit 2");
	rc = sv("migrate %s --to %s --dst-timeout -5", disk, cu_dir);
	ok_out(rc == 2 && has("--dst-timeout -5"), "--dst-timeout -5: exit 2");
	rc = sv("migrate %s --to %s --dst-timeout 1s", disk, cu_dir);
	ok_out(rc == 2 && has("--dst-timeout 1s"), "--dst-timeout 1s: exit 2");
	rc = sv("cold %s --to %s --dst-timeout 1000", disk, cu_dir);
	ok_out(rc == 2 && has("--dst-timeout is for live migrations"),
	       "cold --dst-timeout: exit 2, live migrations only");
	rc = sv("migrate %s --to %s --via fastest", disk, cu_dir);
	ok_out(rc == 2 && has("--via fastest: use auto, kernel or direct"),
	       "--via fastest: exit 2, names the choices");
	rc = sv("migrate %s --to %s --via", disk, cu_dir);
	ok_out(rc == 2, "--via without a value: exit 2");
	rc = sv("cold %s --to %s --via direct", disk, cu_dir);
	ok_out(rc == 2 && has("--via is for live migrations"),
	       "cold --via: exit 2, live migrations only");
	rc = sv("cold %s --to %s --handoff none", disk, cu_dir);
	ok_out(rc == 2 && has("no --handoff"), "cold --handoff: exit 2");
	rc = sv("cold %s", disk);
	ok_out(rc == 2 && has("no destination"), "cold without --to: exit 2");
	rc = sv("cold %s --to %s:12X", disk, cu_dir);
	ok_out(rc == 2 && has("not a size"), "--to DS:12X: exit 2");
	rc = sv("cold %s --to %s --place nodisk", disk, cu_dir);
	ok_out(rc == 2 && has("DISK=DATASTORE"), "--place without '=': exit 2");
	rc = sv("migrate %s --to %s --handoff carrier-pigeon", disk, cu_dir);
	ok_out(rc == 3 && has("is not attached"),
	       "migrate of a disk not attached: refused (exit 3)");
	rc = sv("detach nosuch");
	ok_out(rc == 3 && has("not attached"), "detach of an unknown disk: exit 3");
	rc = sv("abort nosuch");
	ok_out(rc == 3 && has("not attached"), "abort of an unknown disk: exit 3");
	rc = sv("status");
	ok_out(rc == 0 && has("no migration in progress"), "status with nothing: exit 0");
	rc = sv("list --json");
	ok_out(rc == 0 && has("[]"), "list --json with nothing: []");
}

static void test_cold(void)
{
	const char *a = cu_path("dsa"), *b = cu_path("dsb"), *c = cu_path("dsc");
	const char *d = cu_path("dsd");
	char desc[400], flat[400], ref[400], p[1200];
	int rc;

	sh("mkdir -p '%s' '%s' '%s' '%s'", a, b, c, d);
	make_disk(a, "vm1", 16 * MiB, true, 7);
	snprintf(desc, sizeof(desc), "%s/vm1.vmdk", a);
	snprintf(flat, sizeof(flat), "%s/vm1-flat.vmdk", a);
	snprintf(ref, sizeof(ref), "%s/vm1.ref", cu_dir);
	sh("cp --sparse=always '%s' '%s'", flat, ref);

	rc = sv("cold %s --to %s", desc, b);
	snprintf(p, sizeof(p), "%s/vm1-flat.vmdk", b);
	ok_out(rc == 0 && exists(p), "cold copy to another datastore: exit 0, %s", p);
	ok(file_has(desc, p), "descriptor rewritten to point at the new extent");
	ok(cu_cmp(ref, 0, p, 0, 16 * MiB), "new extent equals the source, byte for byte");
	ok(cu_alloc(p) <= 8 * MiB + 64 * 1024,
	   "format same keeps the disk thin (%llu bytes allocated of 16 MiB)",
	   (unsigned long long)cu_alloc(p));
	snprintf(p, sizeof(p), "qemu-img compare -q -f vmdk -F raw '%s' '%s'", desc, ref);
	ok(system(p) == 0, "qemu-img compare reads the rewritten descriptor equal");
	ok(exists(flat), "the source stays without --delete-source");

	/* back to a, split in three, thick-eager, deleting the source */
	rc = sv("cold %s --to %s:4M,%s:5M,%s --format thick-eager --delete-source",
		desc, a, c, d);
	ok_out(rc == 0, "cold split over three datastores, thick-eager: exit 0");
	ok(file_has(desc, "vm1-s001-flat.vmdk\" 0") && file_has(desc, "RW 8192 FLAT") &&
	   file_has(desc, "RW 10240 FLAT") && file_has(desc, "RW 14336 FLAT"),
	   "descriptor has three extents of 4, 5 and 7 MiB");
	snprintf(p, sizeof(p), "qemu-img compare -q -f vmdk -F raw '%s' '%s'", desc, ref);
	ok(system(p) == 0, "qemu-img compare: the split disk reads equal to the original");
	snprintf(p, sizeof(p), "%s/vm1-s003-flat.vmdk", d);
	ok(cu_alloc(p) >= 7 * MiB, "thick-eager: the last part is fully allocated (%llu)",
	   (unsigned long long)cu_alloc(p));
	snprintf(p, sizeof(p), "%s/vm1-flat.vmdk", b);
	ok(!exists(p), "--delete-source removed the previous extent");

	/* join again, thin, with --json */
	rc = sv("cold %s --to %s --format thin --json --delete-source", desc, b);
	{
		char *line, *save = NULL, copy[sizeof(outbuf)];
		bool all_json = true, done = false, progress = false, movers = false;

		memcpy(copy, outbuf, sizeof(copy));
		for (line = strtok_r(copy, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			json_object *o = json_tokener_parse(line), *ev;

			if (!o || !json_object_object_get_ex(o, "event", &ev)) {
				if (strncmp(line, "svmotion: ", 10))
					all_json = false;
			} else {
				bool d = !strcmp(json_object_get_string(ev), "done");
				json_object *v, *m;

				/* what the mover did: per backend, through the host */
				if (d && json_object_object_get_ex(o, "movers", &m)) {
					int64_t sum = 0, cp = -1, sk = -1, off = -1, th = -1;

					json_object_object_foreach(m, k, bv) {
						(void)k;
						sum += json_object_get_int64(bv);
					}
					if (json_object_object_get_ex(o, "bytes_copied", &v))
						cp = json_object_get_int64(v);
					if (json_object_object_get_ex(o, "bytes_skipped", &v))
						sk = json_object_get_int64(v);
					if (json_object_object_get_ex(o, "bytes_offloaded", &v))
						off = json_object_get_int64(v);
					if (json_object_object_get_ex(o, "bytes_through_host", &v))
						th = json_object_get_int64(v);
					movers = sum == cp && cp + sk == 16 * MiB && off == 0 &&
						 th == cp && cp > 0;
				}
				done |= d;
				progress |= !strcmp(json_object_get_string(ev), "progress");
			}
			json_object_put(o);
		}
		ok_out(rc == 0 && all_json && done && progress,
		       "--json: every stdout line is a JSON event, with progress and done");
		ok_out(movers, "--json done: the movers' bytes add up to the bytes copied, copied + skipped is the disk, all through the host (local files)");
	}
	snprintf(p, sizeof(p), "%s/vm1-flat.vmdk", b);
	ok(cu_cmp(ref, 0, p, 0, 16 * MiB) && cu_alloc(p) <= 8 * MiB + 64 * 1024,
	   "thin join: equal and thin again (%llu bytes allocated)",
	   (unsigned long long)cu_alloc(p));
	snprintf(p, sizeof(p), "%s/vm1-s001-flat.vmdk", a);
	ok(!exists(p), "the three parts were deleted");

	/* raw image */
	snprintf(p, sizeof(p), "%s/raw1.img", a);
	cu_make_file(p, 8 * MiB, MiB, false, 3, 0, 0);
	rc = sv("cold %s --to %s", p, c);
	snprintf(p, sizeof(p), "%s/raw1.img", c);
	ok_out(rc == 0 && exists(p), "cold copy of a raw image keeps its name");
	ok(cu_cmp(p, 0, cu_path("dsa/raw1.img"), 0, 8 * MiB), "raw copy is equal");
	rc = sv("cold %s --to %s --mover xcopy", p, d);
	ok_out(rc == 0 && has("--mover xcopy could not offload 8.0 MiB") &&
	       has("SCSI disks"),
	       "--mover xcopy on files: copied, and the fallback is said with its reason");
}

static int systemf_mount(const char *mnt, const char *opts)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o %s tmpfs '%s' 2>/dev/null",
		 opts, mnt);
	return system(cmd);
}

static void test_refusals(void)
{
	const char *a = cu_path("rfa"), *b = cu_path("rfb");
	char desc[400], bad[400], before[8192];
	FILE *f;
	size_t n;
	int rc;

	sh("mkdir -p '%s' '%s'", a, b);
	make_disk(a, "vm2", 8 * MiB, false, 9);
	snprintf(desc, sizeof(desc), "%s/vm2.vmdk", a);
	f = fopen(desc, "r");
	n = f ? fread(before, 1, sizeof(before) - 1, f) : 0;
	before[n] = 0;
	if (f)
		fclose(f);

	rc = sv("cold %s --to %s/missing", desc, b);
	ok_out(rc == 3 && has("No such file"), "missing datastore: exit 3");
	rc = sv("cold %s --to %s", desc, desc);
	ok_out(rc == 3 && has("neither a directory nor a block device"),
	       "a regular file as datastore: exit 3");
	rc = sv("cold %s --to %s", desc, a);
	ok_out(rc == 3 && has("is the source itself"),
	       "destination equal to the source: exit 3");
	sh("touch '%s/vm2-flat.vmdk'", b);
	rc = sv("cold %s --to %s", desc, b);
	ok_out(rc == 3 && has("exists already"), "existing destination file: exit 3");
	sh("rm -f '%s/vm2-flat.vmdk'", b);
	rc = sv("cold %s --to %s:8M,%s", desc, b, cu_path("rfb"));
	ok_out(rc == 3 && has("leave nothing"), "sizes that leave nothing: exit 3");
	rc = sv("cold %s --to %s:3000", desc, b);
	ok_out(rc == 3 && has("not a multiple of 512"), "size not a multiple of 512: exit 3");
	{
		char mnt[400];

		snprintf(mnt, sizeof(mnt), "%s/ro", cu_dir);
		sh("mkdir -p '%s'", mnt);
		if (!systemf_mount(mnt, "ro,size=1m")) {
			rc = sv("cold %s --to %s", desc, mnt);
			ok_out(rc == 3 && has("not writable"),
			       "read-only datastore (tmpfs mounted ro): exit 3");
			sh("umount '%s'", mnt);
		} else {
			ok(0, "mounting a read-only tmpfs failed");
		}
		snprintf(mnt, sizeof(mnt), "%s/tiny", cu_dir);
		sh("mkdir -p '%s'", mnt);
		if (!systemf_mount(mnt, "size=1m")) {
			rc = sv("cold %s --to %s --format thick-eager", desc, mnt);
			ok_out(rc == 3 && has("free") && has("needed"),
			       "datastore without room (1 MiB tmpfs): exit 3");
			sh("umount '%s'", mnt);
		} else {
			ok(0, "mounting a 1 MiB tmpfs for the no-room case failed");
		}
	}
	/* hostile descriptors */
	snprintf(bad, sizeof(bad), "%s/bad.vmdk", a);
	f = fopen(bad, "w");
	fprintf(f, "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
		"createType=\"monolithicFlat\"\nRW 16384 FLAT\n");
	fclose(f);
	rc = sv("cold %s --to %s", bad, b);
	ok_out(rc == 3 && has("bad.vmdk:6"), "extent line missing fields: exit 3 with the line");
	f = fopen(bad, "w");
	fprintf(f, "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
		"createType=\"monolithicFlat\"\nRW 99999999999999999999 FLAT \"vm2-flat.vmdk\" 0\n");
	fclose(f);
	rc = sv("cold %s --to %s", bad, b);
	ok_out(rc == 3 && has("bad.vmdk:6"), "huge extent size: exit 3");
	f = fopen(bad, "w");
	fprintf(f, "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
		"createType=\"monolithicFlat\"\nRW 8192 FLAT \"vm2-flat.vmdk\" 0\n"
		"RW 8192 FLAT \"vm2-flat.vmdk\" 4096\n");
	fclose(f);
	rc = sv("cold %s --to %s", bad, b);
	ok_out(rc == 3 && has("overlap"), "overlapping extents: exit 3");
	f = fopen(bad, "w");
	fprintf(f, "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
		"createType=\"monolithicFlat\"\nRW 32768 FLAT \"vm2-flat.vmdk\" 0\n");
	fclose(f);
	rc = sv("cold %s --to %s", bad, b);
	ok_out(rc == 3 && has("vm2-flat.vmdk"), "extent beyond its file: exit 3");
	f = fopen(bad, "w");
	fprintf(f, "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
		"createType=\"monolithicFlat\"\nRW 8192 FLAT \"/etc/../nonexistent-flat\" 0\n");
	fclose(f);
	rc = sv("cold %s --to %s", bad, b);
	ok_out(rc == 3 && has("nonexistent-flat"), "extent pointing at no file: exit 3");
	rc = sv("cold %s/nosuch.vmdk --to %s", a, b);
	ok_out(rc == 3 && has("nosuch.vmdk"), "unknown disk: exit 3");
	f = fopen(desc, "r");
	n = f ? fread(outbuf, 1, sizeof(outbuf) - 1, f) : 0;
	outbuf[n] = 0;
	if (f)
		fclose(f);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", b);
		ok(!strcmp(before, outbuf) && system(cmd) == 0,
		   "after every refusal: descriptor unchanged, destination datastore empty");
	}
}

static void test_cancel(void)
{
	const char *a = cu_path("cna"), *b = cu_path("cnb");
	char desc[400], cmd[3200], p[400];
	int st;

	sh("mkdir -p '%s' '%s'", a, b);
	make_disk(a, "vm3", 16 * MiB, false, 11);
	snprintf(desc, sizeof(desc), "%s/vm3.vmdk", a);
	/*
	 * SIGTERM into a copy limited to 4 MiB/s, once it has begun (its
	 * destination file exists: the handlers are in place; under valgrind
	 * on a loaded machine that takes more than a second)
	 */
	snprintf(cmd, sizeof(cmd),
		 "SVMOTION_STATE_DIR='%s' %s%s cold '%s' --to '%s' --rate 4M > '%s' 2>&1 & "
		 "pid=$!; i=0; while [ ! -e '%s/vm3-flat.vmdk' ] && [ $i -lt 300 ]; do "
		 "sleep 0.1; i=$((i + 1)); done; sleep 0.5; kill -TERM $pid; wait $pid",
		 state, RUNNING_ON_VALGRIND ? "valgrind -q --error-exitcode=99 " : "",
		 bin, desc, b, out_path, b);
	st = system(cmd);
	{
		FILE *f = fopen(out_path, "r");
		size_t n = f ? fread(outbuf, 1, sizeof(outbuf) - 1, f) : 0;

		outbuf[n] = 0;
		if (f)
			fclose(f);
	}
	ok_out(WIFEXITED(st) && WEXITSTATUS(st) == 4 && has("aborted"),
	       "SIGTERM during a cold copy: exit 4, \"aborted\"");
	snprintf(p, sizeof(p), "%s/vm3-flat.vmdk", b);
	ok(!exists(p), "the partial destination was removed");
	ok(file_has(desc, "\"vm3-flat.vmdk\""), "the descriptor still points at the source");
}

int main(int argc, char **argv)
{
	const char *me = argv[0];

	(void)argc;
	if (strstr(me, "build/san/"))
		snprintf(bin, sizeof(bin), "build/san/svmotion");
	else
		snprintf(bin, sizeof(bin), "utils/svmotion");
	if (access(bin, X_OK)) {
		printf("Bail out! %s not built (make)\n", bin);
		return 1;
	}
	cu_setup();
	snprintf(state, sizeof(state), "%s/state", cu_dir);
	snprintf(out_path, sizeof(out_path), "%s/out.txt", cu_dir);
	tap_plan(12 + 14 + 5 + 18 + 15 + 3 + 3);
	test_help();
	make_disk(cu_dir, "u", 4 * MiB, false, 1);
	test_usage_errors(cu_path("u.vmdk"));
	test_cold();
	test_refusals();
	test_cancel();
	return tap_done();
}
