// SPDX-License-Identifier: GPL-2.0
/*
 * dm-api - error paths of the libsvmotion device-mapper API that hold with
 * or without device-mapper: malformed tables are refused before any ioctl,
 * missing names are refused, and operations on a device that does not exist
 * fail with a negative errno and a one-line "svm-dm: <op> <dev>: ..." error.
 */
#include <errno.h>
#include <string.h>

#include "svm-dm.h"
#include "tap.h"

#define NODEV "svm-host-test-no-such-device"

static char err[512];

static void clear_err(void)
{
	memset(err, 0, sizeof(err));
}

static int one_line_starting(const char *prefix)
{
	return strncmp(err, prefix, strlen(prefix)) == 0 && !strchr(err, '\n');
}

static void test_tables(void)
{
	static const char *const bad[] = {
		"garbage",
		"0 x svmotion /dev/loop0 0 /dev/loop1 0 128",
		"0 -8 svmotion /dev/loop0 0 /dev/loop1 0 128",
		"0 128",
		"0 128 ",
		"0 128 svmotion a\nx 1 linear /dev/loop0 0",
		"99999999999999999999 128 linear /dev/loop0 0",
	};
	char big[SVM_DM_MAX_TABLE_LINE + 10];
	unsigned int i;
	int ret;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clear_err();
		ret = svm_dm_create("svmtest", bad[i], err, sizeof(err));
		ok(ret == -EINVAL &&
		   one_line_starting("svm-dm: table for svmtest: expected"),
		   "malformed table line %u refused before any ioctl", i);
	}
	clear_err();
	ok(svm_dm_reload("svmtest", "\n\n", err, sizeof(err)) == -EINVAL &&
	   one_line_starting("svm-dm: table for svmtest: empty table"),
	   "empty table refused");
	clear_err();
	ok(svm_dm_create("svmtest", NULL, err, sizeof(err)) == -EINVAL &&
	   one_line_starting("svm-dm: table for svmtest: no table"),
	   "NULL table refused");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	clear_err();
	ok(svm_dm_reload("svmtest", big, err, sizeof(err)) == -E2BIG &&
	   one_line_starting("svm-dm: table for svmtest: line longer"),
	   "over-long table line refused");
	ok(svm_dm_create("svmtest", "garbage", NULL, 0) == -EINVAL,
	   "a NULL error buffer is allowed");
}

static void test_names(void)
{
	struct svm_seg_status st;

	clear_err();
	ok(svm_dm_status("", &st, 1, err, sizeof(err)) == -EINVAL &&
	   one_line_starting("svm-dm: status: no device name given"),
	   "status of an empty name refused");
	clear_err();
	ok(svm_dm_lock(NULL, 0, 0, 1, err, sizeof(err)) == -EINVAL &&
	   one_line_starting("svm-dm: message: no device name given"),
	   "lock without a device name refused");
	clear_err();
	ok(svm_dm_suspend(NULL, SVM_DM_NOFLUSH, err, sizeof(err)) == -EINVAL &&
	   one_line_starting("svm-dm: suspend: no device name given"),
	   "suspend without a device name refused");
}

static void test_missing_device(void)
{
	struct svm_seg_status st;
	char reply[64] = "x";

	clear_err();
	ok(svm_dm_status(NODEV, &st, 1, err, sizeof(err)) < 0 &&
	   one_line_starting("svm-dm: status " NODEV ": "),
	   "status of a missing device fails: %s", err);
	clear_err();
	ok(svm_dm_message(NODEV, 0, "lock 0 1", reply, sizeof(reply), err,
			  sizeof(err)) < 0 && reply[0] == '\0' &&
	   one_line_starting("svm-dm: message " NODEV),
	   "message to a missing device fails: %s", err);
	clear_err();
	ok(svm_dm_commit(NODEV, 0, 0, 1, err, sizeof(err)) < 0 &&
	   one_line_starting("svm-dm: message " NODEV), "commit fails");
	clear_err();
	ok(svm_dm_unlock(NODEV, 0, 0, 1, err, sizeof(err)) < 0 &&
	   one_line_starting("svm-dm: message " NODEV), "unlock fails");
	clear_err();
	ok(svm_dm_suspend(NODEV, 0, err, sizeof(err)) < 0 &&
	   one_line_starting("svm-dm: suspend " NODEV), "suspend fails: %s", err);
	clear_err();
	ok(svm_dm_resume(NODEV, err, sizeof(err)) < 0 &&
	   one_line_starting("svm-dm: resume " NODEV), "resume fails");
	clear_err();
	ok(svm_dm_remove(NODEV, err, sizeof(err)) < 0 &&
	   one_line_starting("svm-dm: remove " NODEV), "remove fails");
}

int main(void)
{
	tap_plan(21);
	test_tables();
	test_names();
	test_missing_device();
	return tap_done();
}
