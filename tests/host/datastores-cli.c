// SPDX-License-Identifier: GPL-2.0
/*
 * datastores-cli - svmotion datastores on the host: its help, usage errors,
 * a directory datastore checked against statvfs and the filesystem's own
 * answer to a hole punch, the migrations counted from slot locks another
 * process holds, the datastores of attached disks (state files: sources and
 * a running migration's destination), bad paths and URLs (the mount or
 * iscsiadm login that would make them usable). The guest tests check it
 * against real NFS and iSCSI servers.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli-run.h"

static char dir[256], ds1[300], ds2[300];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* The --json output's entry for datastore name, or NULL. */
static json_object *entry(json_object *arr, const char *name)
{
	size_t i;

	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i), *v;

		if (json_object_object_get_ex(o, "datastore", &v) &&
		    !strcmp(json_object_get_string(v), name))
			return o;
	}
	return NULL;
}

static int64_t num(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static bool has_offload(json_object *o, const char *name)
{
	json_object *a;
	size_t i;

	if (!json_object_object_get_ex(o, "offloads", &a))
		return false;
	for (i = 0; i < json_object_array_length(a); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(a, i)), name))
			return true;
	return false;
}

static int punches(const char *d)
{
	char p[400];
	int fd, r;

	snprintf(p, sizeof(p), "%s/punch-check", d);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return 0;
	r = pwrite(fd, (char[4096]){ 0 }, 4096, 0) == 4096 &&
	    !fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096);
	close(fd);
	unlink(p);
	return r;
}

static void test_usage(void)
{
	ok_out(cli_run("datastores --help", "") == 0 && has("usage: ") &&
	       has("O_TMPFILE") && has("xcopy") &&
	       has("mount it or log in"), "--help teaches the offloads and URLs");
	ok_out(cli_run("--help", "") == 0 && has("datastores [--json]"),
	       "svmotion --help names the command");
	ok_out(cli_run("datastores --bogus", "") == 2 && has("unknown option --bogus"),
	       "an unknown option: exit 2");
	ok_out(cli_run("datastores", "") == 0 && has("no attached disk"),
	       "nothing attached, nothing named: says how to name one");
}

static void test_dir(void)
{
	char args[600];
	struct statvfs sv;
	json_object *arr, *o;

	snprintf(args, sizeof(args), "datastores %s", ds1);
	ok_out(cli_run(args, "") == 0 && has("capacity") && has("migrations  0 of 8") &&
	       has("none attached"), "a directory: what it is, capacity, 0 of 8 migrations");
	snprintf(args, sizeof(args), "datastores --json %s", ds1);
	statvfs(ds1, &sv);
	cli_run(args, "");
	arr = json_tokener_parse(outbuf);
	o = entry(arr, ds1);
	ok_out(o && !strcmp(str(o, "kind"), "dir") &&
	       num(o, "capacity") == (int64_t)(sv.f_blocks * sv.f_frsize) &&
	       num(o, "free") <= num(o, "capacity") &&
	       num(o, "block_size") == (int64_t)sv.f_bsize && str(o, "fstype")[0],
	       "--json: kind dir, capacity and block size as statvfs says");
	ok_out(o && has_offload(o, "punch") == (punches(ds1) == 1),
	       "punch offered exactly when the filesystem punches holes");
	json_object_put(arr);
}

static void test_slots(void)
{
	char args[600], p[400];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	json_object *arr;
	pid_t pid;
	int fd, pfd[2];

	snprintf(p, sizeof(p), "%s/.svmotion", ds1);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/.svmotion/slot.3", ds1);
	/* another process (another host, as far as the lock goes) holds it */
	if (pipe(pfd))
		return;
	pid = fork();
	if (pid == 0) {
		fd = open(p, O_RDWR | O_CREAT, 0644);
		if (fd < 0 || fcntl(fd, F_OFD_SETLK, &fl) || write(pfd[1], "x", 1) != 1)
			_exit(1);
		pause();	/* until killed */
		_exit(0);
	}
	{
		char c;

		if (read(pfd[0], &c, 1) != 1)
			diag("the slot holder did not start");
	}
	snprintf(args, sizeof(args), "datastores --json %s", ds1);
	cli_run(args, "");
	arr = json_tokener_parse(outbuf);
	ok_out(num(entry(arr, ds1), "migrations") == 1 &&
	       num(entry(arr, ds1), "migration_limit") == 8,
	       "a slot held by another process: 1 of 8 migrations");
	json_object_put(arr);
	close(pfd[0]);
	close(pfd[1]);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	cli_run(args, "");
	arr = json_tokener_parse(outbuf);
	ok_out(num(entry(arr, ds1), "migrations") == 0,
	       "released (its process gone): 0 again");
	json_object_put(arr);
}

static void test_attached(void)
{
	char p[600], text[2048];
	json_object *arr, *d;

	mkdir(state, 0755);
	snprintf(p, sizeof(p), "%s/vm1-flat.vmdk", ds1);
	write_file(p, "");
	snprintf(p, sizeof(p), "%s/vm1-flat.vmdk", ds2);
	write_file(p, "");
	snprintf(text, sizeof(text),
		 "{ \"name\": \"vm1\", \"disk\": \"%s/vm1-flat.vmdk\", \"raw\": true,"
		 "  \"dm\": \"svm-vm1\", \"size\": 1048576,"
		 "  \"src\": [ { \"file\": \"%s/vm1-flat.vmdk\", \"dev\": \"/dev/loop9\","
		 "             \"offset\": 0, \"length\": 1048576, \"created\": false, \"loop\": true } ],"
		 "  \"migration\": { \"phase\": \"copying\", \"pid\": 1, \"started\": 0,"
		 "    \"format\": \"same\", \"mover\": \"auto\", \"bytes_done\": 0,"
		 "    \"bytes_total\": 1048576, \"rate\": 0,"
		 "    \"dst\": [ { \"file\": \"%s/vm1-flat.vmdk\", \"dev\": \"/dev/loop10\","
		 "               \"offset\": 0, \"length\": 1048576, \"created\": true, \"loop\": true } ] } }\n",
		 ds1, ds1, ds2);
	snprintf(p, sizeof(p), "%s/vm1.json", state);
	write_file(p, text);
	ok_out(cli_run("datastores", "") == 0 && has(ds1) && has(ds2) &&
	       has("vm1 (source)") && has("vm1 (destination)"),
	       "no datastore named: those of the attached disk (source and destination)");
	cli_run("datastores --json", "");
	arr = json_tokener_parse(outbuf);
	d = NULL;
	if (entry(arr, ds2))
		json_object_object_get_ex(entry(arr, ds2), "disks", &d);
	ok_out(arr && json_object_array_length(arr) == 2 && d &&
	       json_object_array_length(d) == 1 &&
	       !strcmp(str(json_object_array_get_idx(d, 0), "disk"), "vm1") &&
	       !strcmp(str(json_object_array_get_idx(d, 0), "role"), "destination"),
	       "--json: two datastores, the destination's disk and role");
	json_object_put(arr);
	snprintf(p, sizeof(p), "datastores %s", dir);
	ok_out(cli_run(p, "") == 0 && has("vm1 (source)") && has("vm1 (destination)"),
	       "a datastore above both directories has both extents");
	snprintf(p, sizeof(p), "%s/vm1.json", state);
	unlink(p);
}

static void test_bad(void)
{
	char args[1024];

	ok_out(cli_run("datastores /nonexistent/ds", "") == 1 &&
	       has("/nonexistent/ds: No such file or directory"),
	       "a missing datastore: exit 1, named with the reason");
	snprintf(args, sizeof(args), "datastores %s/vm1-flat.vmdk %s", ds1, ds1);
	ok_out(cli_run(args, "") == 1 && has("not a directory or a block device") &&
	       has("capacity"), "a file: refused, the other datastore still shown");
	ok_out(cli_run("datastores nfs://127.0.0.1/srv/ds1", "") == 1 &&
	       has("mount -t nfs -o vers=3 127.0.0.1:/srv/ds1 /mnt/ds1"),
	       "an nfs:// URL: the mount that makes it usable");
	ok_out(cli_run("datastores iscsi://127.0.0.1/iqn.2003-01.org.x:t/2", "") == 1 &&
	       has("iscsiadm -m node -T iqn.2003-01.org.x:t -p 127.0.0.1:3260 --login") &&
	       has("LUN 2"), "an iscsi:// URL: the iscsiadm login");
	ok_out(cli_run("datastores 'nfs://'", "") == 1 && has("nfs://"),
	       "a malformed URL: refused with a reason");
	ok_out(cli_run("datastores ''", "") == 1 && has("empty path"),
	       "an empty datastore: refused");
}

int main(int argc, char **argv)
{
	char cmd[400];
	int rc;

	(void)argc;
	snprintf(bin, sizeof(bin), strstr(argv[0], "build/san/") ?
		 "build/san/svmotion" : "utils/svmotion");
	if (access(bin, X_OK)) {
		printf("Bail out! %s not built (make)\n", bin);
		return 1;
	}
	snprintf(dir, sizeof(dir), "/var/tmp/svm-ds-cli.XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(out_path, sizeof(out_path), "%s/out.txt", dir);
	snprintf(ds1, sizeof(ds1), "%s/ds1", dir);
	snprintf(ds2, sizeof(ds2), "%s/ds2", dir);
	mkdir(ds1, 0755);
	mkdir(ds2, 0755);
	tap_plan(4 + 3 + 2 + 3 + 6);
	test_usage();
	test_dir();
	test_slots();
	test_attached();
	test_bad();
	rc = tap_done();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		diag("could not remove %s", dir);
	return rc;
}
