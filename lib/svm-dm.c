// SPDX-License-Identifier: GPL-2.0
/*
 * svm-dm.c - device-mapper control of dm-svmotion devices over libdevmapper.
 *
 * See svm-dm.h for the API and its conventions.  Every operation is one
 * dm_task (create: three): task_new() sets it up, run_task() runs it and
 * turns a failure into a negative errno plus a one-line description.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libdevmapper.h>

#include "svm-dm.h"
#include "svm-util.h"

/*
 * libdevmapper's log levels (its log.h is private): the low bits of level,
 * the rest being flags such as "to stderr".
 */
#define DM_LOG_LEVEL_MASK 0xf
#define DM_LOG_ERR 3
#define DM_LOG_WARN 4

/* First libdevmapper error message of the current operation, per thread. */
static __thread char dm_last_error[256];
static bool dm_debug;
static pthread_once_t dm_once = PTHREAD_ONCE_INIT;

/* libdevmapper log hook: keep the first error, optionally echo. */
__attribute__((format(printf, 5, 6)))
static void dm_log_capture(int level, const char *file, int line,
			   int dm_errno_or_class, const char *fmt, ...)
{
	int lvl = level & DM_LOG_LEVEL_MASK;
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno_or_class;
	if (lvl <= DM_LOG_ERR && !dm_last_error[0]) {
		va_start(ap, fmt);
		vsnprintf(dm_last_error, sizeof(dm_last_error), fmt, ap);
		va_end(ap);
	}
	if (dm_debug && lvl <= DM_LOG_WARN) {
		va_start(ap, fmt);
		fputs("libdevmapper: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
}

static void dm_init(void)
{
	const char *dbg = getenv("SVM_DM_DEBUG");

	dm_debug = dbg && *dbg && strcmp(dbg, "0") != 0;
	dm_log_with_errno_init(dm_log_capture);
	/* No udev cookies: libdevmapper manages /dev/mapper nodes itself. */
	dm_udev_set_sync_support(0);
}

/*
 * Start a task of the given type on device name into *out.  On failure
 * fills err and returns a negative errno.
 */
static int task_new_oc(int type, const char *op, const char *name,
		      bool open_count, struct dm_task **out, char *err,
		      size_t errlen)
{
	struct dm_task *dmt;

	pthread_once(&dm_once, dm_init);
	dm_last_error[0] = '\0';
	if (!name || !*name) {
		svm_set_err(err, errlen, "svm-dm: %s: no device name given", op);
		return -EINVAL;
	}
	dmt = dm_task_create(type);
	if (!dmt) {
		svm_set_err(err, errlen, "svm-dm: %s %s: cannot create dm task: %s",
			op, name, dm_last_error[0] ? dm_last_error :
			"device-mapper unavailable (no dm-mod, or no /dev/mapper/control?)");
		return -ENOMEM;
	}
	if (!dm_task_set_name(dmt, name)) {
		svm_set_err(err, errlen, "svm-dm: %s %s: invalid device name%s%s",
			op, name, dm_last_error[0] ? ": " : "", dm_last_error);
		dm_task_destroy(dmt);
		return -EINVAL;
	}
	if (!open_count)
		dm_task_no_open_count(dmt);
	*out = dmt;
	return 0;
}

static int task_new(int type, const char *op, const char *name,
		    struct dm_task **out, char *err, size_t errlen)
{
	return task_new_oc(type, op, name, false, out, err, errlen);
}

/*
 * Run dmt.  On failure describe it as "svm-dm: <what>: <reason>" and
 * return the ioctl's negative errno (-EIO if there is none).  what names
 * the operation and its arguments, e.g. "suspend vm0".
 */
static int run_task(struct dm_task *dmt, const char *what, char *err,
		    size_t errlen)
{
	const char *reason, *detail = dm_last_error;
	char buf[128];
	bool no_device;
	int e;

	if (dm_task_run(dmt))
		return 0;
	e = dm_task_get_errno(dmt);
	if (e <= 0)
		e = EIO;
	reason = strerror_r(e, buf, sizeof(buf));
	/* libdevmapper's message is worth adding only if it says more. */
	if (strstr(detail, reason))
		detail = "";
	/* Otherwise the kernel (the target, or device-mapper) said why. */
	no_device = e == ENXIO || e == ENODEV || e == ENOENT || e == ENOMEM ||
		    e == EPERM || e == EACCES;
	svm_set_err(err, errlen, "svm-dm: %s: %s%s%s%s%s", what, reason,
		*detail ? " (libdevmapper: " : "", detail, *detail ? ")" : "",
		no_device ? "" : "; see the kernel log for the reason");
	return -e;
}

/* Strict decimal number for table lines; advances *p past it. */
static bool table_u64(char **p, uint64_t *val)
{
	char *end;

	if (**p < '0' || **p > '9')
		return false;
	errno = 0;
	*val = strtoull(*p, &end, 10);
	if (errno || (*end != ' ' && *end != '\t'))
		return false;
	*p = end;
	return true;
}

static char *skip_blanks(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/*
 * Add one "<start> <len> <target> <params>" line (modified in place) to
 * dmt, or with dmt NULL only check its syntax.
 */
static int add_table_line(struct dm_task *dmt, char *line, const char *name,
			  char *err, size_t errlen)
{
	uint64_t start, len;
	char *p = skip_blanks(line), *type, *params;

	if (!table_u64(&p, &start) || !(p = skip_blanks(p), table_u64(&p, &len)))
		goto bad;
	type = skip_blanks(p);
	params = type + strcspn(type, " \t");
	if (params == type)
		goto bad;
	if (*params)
		*params++ = '\0';
	params = skip_blanks(params);
	if (dmt && !dm_task_add_target(dmt, start, len, type, params)) {
		svm_set_err(err, errlen, "svm-dm: table for %s: cannot add target %s",
			name, type);
		return -ENOMEM;
	}
	return 0;
bad:
	svm_set_err(err, errlen,
		"svm-dm: table for %s: expected \"<start> <len> <target> <params>\", got \"%s\"",
		name, line);
	return -EINVAL;
}

/* Add every non-empty line of table to dmt (just check them if NULL). */
static int add_table(struct dm_task *dmt, const char *table, const char *name,
		     char *err, size_t errlen)
{
	char line[SVM_DM_MAX_TABLE_LINE];
	int nlines = 0, ret;

	if (!table) {
		svm_set_err(err, errlen, "svm-dm: table for %s: no table given", name);
		return -EINVAL;
	}
	while (*table) {
		size_t n = strcspn(table, "\n");

		if (n >= sizeof(line)) {
			svm_set_err(err, errlen, "svm-dm: table for %s: line longer than %zu bytes",
				name, sizeof(line) - 1);
			return -E2BIG;
		}
		memcpy(line, table, n);
		line[n] = '\0';
		table += n + (table[n] == '\n');
		if (!*skip_blanks(line))
			continue;
		ret = add_table_line(dmt, line, name, err, errlen);
		if (ret)
			return ret;
		nlines++;
	}
	if (!nlines) {
		svm_set_err(err, errlen, "svm-dm: table for %s: empty table", name);
		return -EINVAL;
	}
	return 0;
}

/*
 * Run one task of the given type on name, optionally with a table, then
 * update /dev/mapper.  Errors read "svm-dm: <op> <name>[: <stage>]: ...".
 */
static int simple_op(int type, const char *op, const char *stage,
		     const char *name, const char *table, unsigned int flags,
		     char *err, size_t errlen)
{
	char what[160];
	struct dm_task *dmt;
	int ret;

	/* A malformed table is refused before any ioctl. */
	if (table) {
		ret = add_table(NULL, table, name ? name : "?", err, errlen);
		if (ret)
			return ret;
	}
	ret = task_new(type, op, name, &dmt, err, errlen);
	if (ret)
		return ret;
	ret = table ? add_table(dmt, table, name, err, errlen) : 0;
	if (!ret && (flags & SVM_DM_NOFLUSH) && !dm_task_no_flush(dmt))
		ret = -ENOMEM;
	if (!ret && type == DM_DEVICE_REMOVE && !dm_task_retry_remove(dmt))
		ret = -ENOMEM;
	if (!ret) {
		snprintf(what, sizeof(what), "%s %s%s%s", op, name,
			 stage ? ": " : "", stage ? stage : "");
		ret = run_task(dmt, what, err, errlen);
	}
	dm_task_destroy(dmt);
	/* Create or remove /dev/mapper/<name> now (no udev). */
	dm_task_update_nodes();
	return ret;
}

/*
 * Create, load, resume as three tasks (libdevmapper's create-with-table
 * does the same but loses the kernel's errno); undo the create on failure.
 */
int svm_dm_create(const char *name, const char *table, char *err,
		  size_t errlen)
{
	int ret;

	ret = add_table(NULL, table, name ? name : "?", err, errlen);
	if (ret)
		return ret;
	ret = simple_op(DM_DEVICE_CREATE, "create", NULL, name, NULL, 0, err,
			errlen);
	if (ret)
		return ret;
	ret = simple_op(DM_DEVICE_RELOAD, "create", "load table", name, table,
			0, err, errlen);
	if (!ret)
		ret = simple_op(DM_DEVICE_RESUME, "create", "resume", name, NULL,
				0, err, errlen);
	if (ret)
		simple_op(DM_DEVICE_REMOVE, "create", "undo", name, NULL, 0,
			  NULL, 0);
	return ret;
}

int svm_dm_reload(const char *name, const char *table, char *err,
		  size_t errlen)
{
	if (!table)
		return add_table(NULL, NULL, name ? name : "?", err, errlen);
	return simple_op(DM_DEVICE_RELOAD, "reload", NULL, name, table, 0, err,
			 errlen);
}

int svm_dm_suspend(const char *name, unsigned int flags, char *err,
		   size_t errlen)
{
	return simple_op(DM_DEVICE_SUSPEND, "suspend", NULL, name, NULL, flags, err,
			 errlen);
}

int svm_dm_resume(const char *name, char *err, size_t errlen)
{
	return simple_op(DM_DEVICE_RESUME, "resume", NULL, name, NULL, 0, err,
			 errlen);
}

int svm_dm_remove(const char *name, char *err, size_t errlen)
{
	return simple_op(DM_DEVICE_REMOVE, "remove", NULL, name, NULL, 0, err,
			 errlen);
}

int svm_dm_message(const char *dev, uint64_t sector, const char *msg,
		   char *reply, size_t replylen, char *err, size_t errlen)
{
	char what[160];
	struct dm_task *dmt;
	const char *resp;
	int ret;

	if (reply && replylen)
		reply[0] = '\0';
	ret = task_new(DM_DEVICE_TARGET_MSG, "message", dev, &dmt, err, errlen);
	if (ret)
		return ret;
	if (!msg || !dm_task_set_sector(dmt, sector) ||
	    !dm_task_set_message(dmt, msg)) {
		svm_set_err(err, errlen, "svm-dm: message %s: cannot set up message",
			dev);
		dm_task_destroy(dmt);
		return -EINVAL;
	}
	snprintf(what, sizeof(what), "message %s %" PRIu64 " \"%s\"", dev,
		 sector, msg);
	ret = run_task(dmt, what, err, errlen);
	/* (libdevmapper has no response to look at after a failure) */
	resp = ret ? NULL : dm_task_get_message_response(dmt);
	if (resp && reply && replylen)
		snprintf(reply, replylen, "%s", resp);
	dm_task_destroy(dmt);
	return ret;
}

/* "<verb> <first> <count>" to the segment at seg_start. */
static int range_message(const char *verb, const char *dev,
			 uint64_t seg_start, uint64_t first, uint64_t count,
			 char *err, size_t errlen)
{
	char msg[80];

	snprintf(msg, sizeof(msg), "%s %" PRIu64 " %" PRIu64, verb, first,
		 count);
	return svm_dm_message(dev, seg_start, msg, NULL, 0, err, errlen);
}

int svm_dm_lock(const char *dev, uint64_t seg_start, uint64_t first,
		uint64_t count, char *err, size_t errlen)
{
	return range_message("lock", dev, seg_start, first, count, err, errlen);
}

int svm_dm_commit(const char *dev, uint64_t seg_start, uint64_t first,
		  uint64_t count, char *err, size_t errlen)
{
	return range_message("commit", dev, seg_start, first, count, err,
			     errlen);
}

int svm_dm_unlock(const char *dev, uint64_t seg_start, uint64_t first,
		  uint64_t count, char *err, size_t errlen)
{
	return range_message("unlock", dev, seg_start, first, count, err,
			     errlen);
}

/* Parse one svmotion target's status and check it against its length. */
static int parse_segment(const char *dev, uint64_t start, uint64_t len,
			 const char *params, struct svm_seg_status *st,
			 char *err, size_t errlen)
{
	uint64_t regions;

	st->start = start;
	st->len = len;
	if (svm_status_parse(params, st)) {
		svm_set_err(err, errlen,
			"svm-dm: status %s: malformed svmotion status at sector %" PRIu64 ": \"%s\"",
			dev, start, params);
		return -EPROTO;
	}
	regions = len / st->region_sectors + !!(len % st->region_sectors);
	if (st->total != regions) {
		svm_set_err(err, errlen,
			"svm-dm: status %s: segment at sector %" PRIu64 " has %" PRIu64
			" sectors = %" PRIu64 " regions, status says %" PRIu64,
			dev, start, len, regions, st->total);
		return -EPROTO;
	}
	return 0;
}

int svm_dm_status(const char *dev, struct svm_seg_status *segs, size_t max,
		  char *err, size_t errlen)
{
	struct svm_seg_status st;
	struct dm_info info;
	char *type, *params;
	uint64_t start, len;
	struct dm_task *dmt;
	void *next = NULL;
	char what[128];
	int n = 0, ret;

	ret = task_new(DM_DEVICE_STATUS, "status", dev, &dmt, err, errlen);
	if (ret)
		return ret;
	snprintf(what, sizeof(what), "status %s", dev);
	ret = run_task(dmt, what, err, errlen);
	/* libdevmapper reports a missing device as success, !info.exists. */
	if (!ret && (!dm_task_get_info(dmt, &info) || !info.exists)) {
		svm_set_err(err, errlen, "svm-dm: status %s: no such device", dev);
		ret = -ENXIO;
	}
	while (!ret) {
		next = dm_get_next_target(dmt, next, &start, &len, &type,
					  &params);
		if (type && strcmp(type, SVM_TARGET_NAME) == 0) {
			memset(&st, 0, sizeof(st));
			ret = parse_segment(dev, start, len, params ? params : "",
					    &st, err, errlen);
			if (!ret && (size_t)n < max)
				segs[n] = st;
			n++;
		}
		if (!next)
			break;
	}
	dm_task_destroy(dmt);
	return ret ? ret : n;
}

/* Strict decimal token into *v (max: the largest value allowed). */
static bool tok_u64(const char *t, uint64_t max, uint64_t *v)
{
	char *end;

	if (!t || *t < '0' || *t > '9')
		return false;
	errno = 0;
	*v = strtoull(t, &end, 10);
	return !errno && !*end && *v <= max;
}

/* "<major>:<minor>" */
static bool tok_dev(char *t, unsigned int *maj, unsigned int *min)
{
	char *colon = t ? strchr(t, ':') : NULL;
	uint64_t a, b;

	if (!colon)
		return false;
	*colon = '\0';
	if (!tok_u64(t, 0xfff, &a) || !tok_u64(colon + 1, 0xfffff, &b))
		return false;
	*maj = a;
	*min = b;
	return true;
}

/*
 * One svmotion table line's params into *t (start and len already set):
 * five fields, then either nothing or "<#features>" and that many words,
 * pairs of lock_timeout_ms/dst_timeout_ms and a value, each at most once.
 */
static int parse_table_params(const char *dev, const char *params,
			      struct svm_seg_table *t, char *err, size_t errlen)
{
	char buf[512], *tok[11], *save = NULL, *s;
	uint64_t nfeat = 0, ms = 0;
	size_t n = 0, i;
	bool ok;

	t->dst_timeout_ms = -1;
	if (strlen(params) >= sizeof(buf))
		goto bad;
	strcpy(buf, params);
	for (s = strtok_r(buf, " ", &save); s && n < 11;
	     s = strtok_r(NULL, " ", &save))
		tok[n++] = s;
	if (s || (n != 5 && n != 8 && n != 10))
		goto bad;
	ok = tok_dev(tok[0], &t->src_major, &t->src_minor) &&
	     tok_u64(tok[1], UINT64_MAX, &t->src_start) &&
	     tok_dev(tok[2], &t->dst_major, &t->dst_minor) &&
	     tok_u64(tok[3], UINT64_MAX, &t->dst_start) &&
	     tok_u64(tok[4], SVM_REGION_SECTORS_MAX, &t->region_sectors);
	if (ok && n > 5)
		ok = tok_u64(tok[5], 4, &nfeat) && nfeat == n - 6;
	for (i = 6; ok && i + 1 < n; i += 2) {
		if (strcmp(tok[i], "lock_timeout_ms") == 0 &&
		    !t->lock_timeout_ms) {
			ok = tok_u64(tok[i + 1], 600000, &ms) && ms >= 100;
			t->lock_timeout_ms = (unsigned int)ms;
		} else if (strcmp(tok[i], "dst_timeout_ms") == 0 &&
			   t->dst_timeout_ms < 0) {
			ok = tok_u64(tok[i + 1], 600000, &ms) &&
			     (ms == 0 || ms >= 100);
			t->dst_timeout_ms = (int)ms;
		} else {
			ok = false;
		}
	}
	if (!ok)
		goto bad;
	return 0;
bad:
	svm_set_err(err, errlen,
		    "svm-dm: table %s: unexpected svmotion table \"%.200s\"",
		    dev, params);
	return -EPROTO;
}

int svm_dm_table(const char *dev, struct svm_seg_table *segs, size_t max,
		 char *err, size_t errlen)
{
	struct svm_seg_table t;
	struct dm_info info;
	char *type, *params;
	uint64_t start, len;
	struct dm_task *dmt;
	void *next = NULL;
	char what[128];
	int n = 0, ret;

	ret = task_new(DM_DEVICE_TABLE, "table", dev, &dmt, err, errlen);
	if (ret)
		return ret;
	snprintf(what, sizeof(what), "table %s", dev);
	ret = run_task(dmt, what, err, errlen);
	if (!ret && (!dm_task_get_info(dmt, &info) || !info.exists)) {
		svm_set_err(err, errlen, "svm-dm: table %s: no such device", dev);
		ret = -ENXIO;
	}
	while (!ret) {
		next = dm_get_next_target(dmt, next, &start, &len, &type,
					  &params);
		if (type && strcmp(type, SVM_TARGET_NAME) == 0) {
			memset(&t, 0, sizeof(t));
			t.start = start;
			t.len = len;
			ret = parse_table_params(dev, params ? params : "",
						 &t, err, errlen);
			if (!ret && (size_t)n < max)
				segs[n] = t;
			n++;
		}
		if (!next)
			break;
	}
	dm_task_destroy(dmt);
	return ret ? ret : n;
}

int svm_dm_clear(const char *name, char *err, size_t errlen)
{
	return simple_op(DM_DEVICE_CLEAR, "clear", NULL, name, NULL, 0, err,
			 errlen);
}

int svm_dm_info(const char *name, struct svm_dm_info *out, char *err,
		size_t errlen)
{
	struct dm_task *dmt;
	struct dm_info info;
	char what[128];
	int ret;

	memset(out, 0, sizeof(*out));
	ret = task_new_oc(DM_DEVICE_INFO, "info", name, true, &dmt, err, errlen);
	if (ret)
		return ret;
	snprintf(what, sizeof(what), "info %s", name);
	ret = run_task(dmt, what, err, errlen);
	if (!ret && dm_task_get_info(dmt, &info) && info.exists) {
		out->exists = true;
		out->suspended = info.suspended;
		out->live_table = info.live_table;
		out->inactive_table = info.inactive_table;
		out->open_count = info.open_count;
		out->major = info.major;
		out->minor = info.minor;
	}
	dm_task_destroy(dmt);
	return ret;
}
