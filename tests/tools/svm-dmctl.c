// SPDX-License-Identifier: GPL-2.0
/*
 * svm-dmctl - a small dmsetup-like front end to libsvmotion's device-mapper
 * API, so that the guest tests drive devices through the same code as the
 * svmotion command.
 *
 *   svm-dmctl create NAME TABLE      TABLE: lines "<start> <len> <target> <args>"
 *   svm-dmctl reload NAME TABLE
 *   svm-dmctl suspend [--noflush] NAME
 *   svm-dmctl resume NAME
 *   svm-dmctl remove NAME
 *   svm-dmctl message NAME SECTOR WORD...
 *   svm-dmctl status NAME
 *
 * status prints one line per svmotion segment, as key=value pairs:
 *   start=0 len=131072 region_sectors=2048 copied=3 total=64 copying=1
 *   held=0 mirrored=17 dst_errors=0 expired_locks=0 revoked_locks=0
 *   dst_timeouts=0 state=copying
 * and fails (exit 1) if a status line does not parse.  Errors go to stderr as
 * libsvmotion describes them; the exit status is 1 on failure, 2 on usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svm-dm.h"

#define MAX_SEGS 256

static char err[1024];

static int usage(void)
{
	fputs("usage: svm-dmctl create|reload NAME TABLE\n"
	      "       svm-dmctl suspend [--noflush] NAME\n"
	      "       svm-dmctl resume|remove|status NAME\n"
	      "       svm-dmctl message NAME SECTOR WORD...\n", stderr);
	return 2;
}

static int fail(void)
{
	fprintf(stderr, "%s\n", err);
	return 1;
}

static void print_seg(const struct svm_seg_status *s)
{
	printf("start=%" PRIu64 " len=%" PRIu64 " region_sectors=%" PRIu64
	       " copied=%" PRIu64 " total=%" PRIu64 " copying=%" PRIu64
	       " held=%" PRIu64 " mirrored=%" PRIu64 " dst_errors=%" PRIu64
	       " expired_locks=%" PRIu64 " revoked_locks=%" PRIu64
	       " dst_timeouts=%" PRIu64 " state=%s\n",
	       s->start, s->len, s->region_sectors, s->copied, s->total,
	       s->copying, s->held, s->mirrored, s->dst_errors,
	       s->expired_locks, s->revoked_locks, s->dst_timeouts,
	       svm_state_name(s->state));
}

static int cmd_status(const char *name)
{
	static struct svm_seg_status segs[MAX_SEGS];
	int i, n;

	n = svm_dm_status(name, segs, MAX_SEGS, err, sizeof(err));
	if (n < 0)
		return fail();
	for (i = 0; i < n && i < MAX_SEGS; i++)
		print_seg(&segs[i]);
	return 0;
}

/* Join argv[0..argc-1] with blanks into the message. */
static int cmd_message(const char *name, const char *sector, int argc,
		       char **argv)
{
	char msg[512] = "", reply[512], *end;
	uint64_t sec;
	size_t len = 0;
	int i;

	sec = strtoull(sector, &end, 10);
	if (!*sector || *end)
		return usage();
	for (i = 0; i < argc; i++) {
		int n = snprintf(msg + len, sizeof(msg) - len, "%s%s",
				 i ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(msg) - len)
			return usage();
		len += (size_t)n;
	}
	if (svm_dm_message(name, sec, msg, reply, sizeof(reply), err,
			   sizeof(err)))
		return fail();
	if (reply[0])
		printf("%s\n", reply);
	return 0;
}

static int cmd_suspend(int argc, char **argv)
{
	unsigned int flags = 0;

	if (argc == 2 && strcmp(argv[0], "--noflush") == 0) {
		flags = SVM_DM_NOFLUSH;
		argv++;
		argc--;
	}
	if (argc != 1)
		return usage();
	return svm_dm_suspend(argv[0], flags, err, sizeof(err)) ? fail() : 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "create") && argc == 4)
		return svm_dm_create(argv[2], argv[3], err, sizeof(err)) ? fail() : 0;
	if (!strcmp(cmd, "reload") && argc == 4)
		return svm_dm_reload(argv[2], argv[3], err, sizeof(err)) ? fail() : 0;
	if (!strcmp(cmd, "suspend"))
		return cmd_suspend(argc - 2, argv + 2);
	if (!strcmp(cmd, "resume") && argc == 3)
		return svm_dm_resume(argv[2], err, sizeof(err)) ? fail() : 0;
	if (!strcmp(cmd, "remove") && argc == 3)
		return svm_dm_remove(argv[2], err, sizeof(err)) ? fail() : 0;
	if (!strcmp(cmd, "status") && argc == 3)
		return cmd_status(argv[2]);
	if (!strcmp(cmd, "message") && argc >= 5)
		return cmd_message(argv[2], argv[3], argc - 4, argv + 4);
	return usage();
}
