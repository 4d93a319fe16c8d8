// SPDX-License-Identifier: GPL-2.0
/*
 * status-parse - unit tests of svm_status_parse()/svm_status_format(), the
 * parser of the dm-svmotion status line (Documentation/dm-svmotion.rst).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "svm-dm.h"
#include "tap.h"

struct valid_case {
	const char *line;
	struct svm_seg_status want;	/* start/len ignored */
};

static const struct valid_case valid[] = {
	{ "8192 256/256 0 0 1234 0 0 0 0 synced",
	  { .region_sectors = 8192, .copied = 256, .total = 256,
	    .mirrored = 1234, .state = SVM_STATE_SYNCED } },
	{ "128 0/1 0 0 0 0 0 0 0 copying",
	  { .region_sectors = 128, .copied = 0, .total = 1,
	    .state = SVM_STATE_COPYING } },
	{ "2097152 3/10 2 5 7 1 4 9 6 copying",
	  { .region_sectors = 2097152, .copied = 3, .total = 10, .copying = 2,
	    .held = 5, .mirrored = 7, .dst_errors = 1, .expired_locks = 4,
	    .revoked_locks = 9, .dst_timeouts = 6,
	    .state = SVM_STATE_COPYING } },
	{ "2048 5/10 0 0 0 1 0 0 0 failed",
	  { .region_sectors = 2048, .copied = 5, .total = 10, .dst_errors = 1,
	    .state = SVM_STATE_FAILED } },
	{ "8192 7/10 0 0 40 0 0 0 3 failed",	/* destination timed out */
	  { .region_sectors = 8192, .copied = 7, .total = 10, .mirrored = 40,
	    .dst_timeouts = 3, .state = SVM_STATE_FAILED } },
	{ "2048 10/10 0 0 99 2 0 0 0 failed",
	  { .region_sectors = 2048, .copied = 10, .total = 10, .mirrored = 99,
	    .dst_errors = 2, .state = SVM_STATE_FAILED } },
	{ "1024 0/18446744073709551615 18446744073709551615 18446744073709551615 "
	  "18446744073709551615 18446744073709551615 18446744073709551615 "
	  "18446744073709551615 18446744073709551615 copying",
	  { .region_sectors = 1024, .copied = 0, .total = UINT64_MAX,
	    .copying = UINT64_MAX, .held = UINT64_MAX, .mirrored = UINT64_MAX,
	    .dst_errors = UINT64_MAX, .expired_locks = UINT64_MAX,
	    .revoked_locks = UINT64_MAX, .dst_timeouts = UINT64_MAX,
	    .state = SVM_STATE_COPYING } },
	{ "256 0/7 7 0 0 0 0 0 0 copying",
	  { .region_sectors = 256, .copied = 0, .total = 7, .copying = 7,
	    .state = SVM_STATE_COPYING } },
	{ "0000128 00/01 0 0 0 0 0 0 0 copying",	/* leading zeroes are decimal */
	  { .region_sectors = 128, .copied = 0, .total = 1,
	    .state = SVM_STATE_COPYING } },
};

/* Each must be refused, leaving the output untouched. */
static const char *const malformed[] = {
	"",
	"8192 256/256 0 0 1234 0 0 0 0",			/* no state */
	"8192 256/256 0 0 1234 0 0 0 synced",		/* one number short */
	"8192 256/256 0 0 1234 0 0 0 0 0 synced",		/* one number too many */
	"8192 256/256 0 0 1234 0 0 0 synced extra",	/* trailing field */
	"8192 256/256 0 0 1234 0 0 0 0 synced ",		/* trailing blank */
	"8192 256/256 0 0 1234 0 0 0 0 synced\n",		/* trailing newline */
	"8192 256/256 0 0 1234 0 0 0 0 syncedx",		/* trailing garbage */
	" 8192 256/256 0 0 1234 0 0 0 0 synced",		/* leading blank */
	"8192  256/256 0 0 1234 0 0 0 0 synced",		/* double blank */
	"8192\t256/256 0 0 1234 0 0 0 0 synced",		/* tab */
	"8192 256/256 0 0 12a4 0 0 0 0 synced",		/* not a number */
	"8192 256/256 0 0 -1 0 0 0 0 synced",		/* negative */
	"8192 256/256 0 0 +1 0 0 0 0 synced",		/* sign */
	"0x2000 256/256 0 0 1234 0 0 0 0 synced",		/* hex */
	"8192 256 0 0 1234 0 0 0 synced",		/* no copied/total */
	"8192 256/ 0 0 1234 0 0 0 0 synced",		/* empty total */
	"8192 /256 0 0 1234 0 0 0 0 synced",		/* empty copied */
	"8192 256/256/256 0 0 1234 0 0 0 0 synced",	/* two slashes */
	"8192 256 256 0 0 1234 0 0 0 synced",		/* blank for slash */
	"8192 257/256 0 0 1234 0 0 0 0 synced",		/* copied > total */
	"8192 5/10 6 0 0 0 0 0 0 copying",		/* copied + copying > total */
	"8192 0/0 0 0 0 0 0 0 0 copying",			/* no regions */
	"8192 256/256 0 0 18446744073709551616 0 0 0 0 synced",	/* 2^64 */
	"8192 256/256 0 0 99999999999999999999999 0 0 0 0 synced",	/* way over */
	"18446744073709551616 1/1 0 0 0 0 0 0 0 synced",	/* overflow, first */
	"8192 256/256 0 0 1234 0 0 0 0 SYNCED",		/* state is lower case */
	"8192 256/256 0 0 1234 0 0 0 0 sync",		/* unknown state */
	"8192 256/256 0 0 1234 0 0 0 0 ",			/* empty state */
	"8192 10/10 0 0 0 0 0 0 0 copying",		/* all copied, "copying" */
	"8192 9/10 0 0 0 0 0 0 0 synced",			/* not all copied, "synced" */
	"1000 1/10 0 0 0 0 0 0 0 copying",		/* region not a power of 2 */
	"64 1/10 0 0 0 0 0 0 0 copying",			/* region too small */
	"4194304 1/10 0 0 0 0 0 0 0 copying",		/* region too big */
	"0 1/10 0 0 0 0 0 0 0 copying",			/* region 0 */
	"8192,256/256 0 0 1234 0 0 0 0 synced",		/* wrong separator */
};

#define N_VALID (sizeof(valid) / sizeof(valid[0]))
#define N_MALFORMED (sizeof(malformed) / sizeof(malformed[0]))

static int same_fields(const struct svm_seg_status *a,
		       const struct svm_seg_status *b)
{
	return a->region_sectors == b->region_sectors &&
	       a->copied == b->copied && a->total == b->total &&
	       a->copying == b->copying && a->held == b->held &&
	       a->mirrored == b->mirrored && a->dst_errors == b->dst_errors &&
	       a->expired_locks == b->expired_locks &&
	       a->revoked_locks == b->revoked_locks &&
	       a->dst_timeouts == b->dst_timeouts && a->state == b->state;
}

static void test_valid(const struct valid_case *c)
{
	struct svm_seg_status st, again;
	char line[512];

	memset(&st, 0xa5, sizeof(st));
	st.start = 4096;
	st.len = 777;
	ok(svm_status_parse(c->line, &st) == 0 && same_fields(&st, &c->want),
	   "valid: \"%.60s\" parses to the expected fields", c->line);
	ok(st.start == 4096 && st.len == 777,
	   "valid: start and len are left alone");
	svm_status_format(&st, line, sizeof(line));
	memset(&again, 0, sizeof(again));
	ok(svm_status_parse(line, &again) == 0 && same_fields(&again, &st),
	   "valid: format/parse round trip (\"%.60s\")", line);
}

/* line with control characters escaped, for a one-line description. */
static const char *escaped(const char *line, char *buf, size_t len)
{
	size_t o = 0;

	for (; *line && o + 5 < len; line++) {
		if (*line == '\n')
			o += (size_t)snprintf(buf + o, len - o, "\\n");
		else if (*line == '\t')
			o += (size_t)snprintf(buf + o, len - o, "\\t");
		else
			buf[o++] = *line;
	}
	buf[o] = '\0';
	return buf;
}

static void test_malformed(const char *line)
{
	struct svm_seg_status st, before;
	char esc[256];

	memset(&st, 0x5a, sizeof(st));
	before = st;
	ok(svm_status_parse(line, &st) == -EINVAL &&
	   memcmp(&st, &before, sizeof(st)) == 0,
	   "malformed refused, output untouched: \"%s\"",
	   escaped(line, esc, sizeof(esc)));
}

static void test_misc(void)
{
	struct svm_seg_status st;
	char exact[64];
	int n;

	memset(&st, 0, sizeof(st));
	ok(svm_status_parse(NULL, &st) == -EINVAL, "NULL line refused");
	ok(svm_status_parse("128 0/1 0 0 0 0 0 0 0 copying", NULL) == -EINVAL,
	   "NULL output refused");
	ok(strcmp(svm_state_name(SVM_STATE_COPYING), "copying") == 0 &&
	   strcmp(svm_state_name(SVM_STATE_SYNCED), "synced") == 0 &&
	   strcmp(svm_state_name(SVM_STATE_FAILED), "failed") == 0 &&
	   strcmp(svm_state_name((enum svm_seg_state)7), "?") == 0,
	   "state names");
	st.region_sectors = 8192;
	st.copied = st.total = 256;
	st.mirrored = 1234;
	st.state = SVM_STATE_SYNCED;
	n = svm_status_format(&st, exact, sizeof(exact));
	ok(n > 0 && strcmp(exact, "8192 256/256 0 0 1234 0 0 0 0 synced") == 0,
	   "format gives the documented line (\"%s\")", exact);
}

int main(void)
{
	size_t i;

	tap_plan((int)(N_VALID * 3 + N_MALFORMED + 4));
	for (i = 0; i < N_VALID; i++)
		test_valid(&valid[i]);
	for (i = 0; i < N_MALFORMED; i++)
		test_malformed(malformed[i]);
	test_misc();
	return tap_done();
}
