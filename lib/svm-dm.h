/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-dm.h - libsvmotion: device-mapper control of the dm-svmotion target.
 *
 * A thin, documented layer over libdevmapper (no hand-rolled ioctls) used by
 * the test tools and the svmotion command:
 *
 *   - device life cycle: create (with a table), reload, suspend, resume,
 *     remove;
 *   - target messages, and the lock/commit/unlock protocol of
 *     Documentation/dm-svmotion.rst;
 *   - status of every svmotion segment of a device, and the pure status-line
 *     parser behind it.
 *
 * Conventions:
 *   - Every call returns 0 (or a count) on success and a negative errno on
 *     failure.  For a failed ioctl that is the kernel's errno (-EBUSY for a
 *     refused lock, -EINVAL for a malformed message, -ENXIO for a missing
 *     device...), -EIO if libdevmapper did not report one.
 *   - On failure, err (errlen bytes, may be NULL/0) receives one line
 *     "svm-dm: <operation> <device>: <reason>", including libdevmapper's own
 *     error message when it printed one.  The kernel logs the target's
 *     detailed reason for a refused table or message ("device-mapper:
 *     svmotion: ..."), see dmesg.
 *   - libdevmapper's log output is captured by this library and folded into
 *     err instead of being printed; set SVM_DM_DEBUG=1 in the environment to
 *     also see it on stderr.
 *   - udev: no udev cookies are used and udev synchronisation is disabled
 *     (dm_udev_set_sync_support(0)): libdevmapper creates and removes the
 *     /dev/mapper/<name> nodes itself, so nothing ever waits for udev.  Run
 *     with DM_DISABLE_UDEV=1 where udev is absent.
 *
 * The functions are safe to call from several threads, but libdevmapper's
 * log hook is process-wide: this library installs its own on first use.
 */
#ifndef SVM_DM_H
#define SVM_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Target name in the table line ("<start> <len> svmotion ..."). */
#define SVM_TARGET_NAME "svmotion"

/* Limits of region_sectors (power of two), see the table line. */
#define SVM_REGION_SECTORS_MIN 128ULL
#define SVM_REGION_SECTORS_MAX 2097152ULL

enum svm_seg_state {
	SVM_STATE_COPYING = 0,	/* not every region COPIED yet */
	SVM_STATE_SYNCED,	/* every region COPIED, every write mirrored */
	SVM_STATE_FAILED,	/* destination error: source only, for good */
};

/*
 * Status of one svmotion segment (one table target).  start/len come from
 * the table (filled by svm_dm_status(); svm_status_parse() leaves them
 * alone); the rest is the target's status line.
 */
struct svm_seg_status {
	uint64_t start;		/* segment start sector in the device */
	uint64_t len;		/* segment length in sectors */
	uint64_t region_sectors;
	uint64_t copied;	/* regions COPIED */
	uint64_t total;		/* regions in the segment */
	uint64_t copying;	/* regions COPYING now */
	uint64_t held;		/* writes held in COPYING regions now */
	uint64_t mirrored;	/* writes sent to both devices so far */
	uint64_t dst_errors;	/* destination I/O errors seen */
	uint64_t expired_locks;	/* regions unlocked by the lock timeout */
	uint64_t revoked_locks;	/* regions unlocked by a suspend */
	uint64_t dst_timeouts;	/* destination writes abandoned (dst_timeout_ms) */
	enum svm_seg_state state;
};

/* Flags for svm_dm_suspend(). */
#define SVM_DM_NOFLUSH 0x1	/* suspend --noflush: don't flush queued I/O */

/* Largest table line svm_dm_create()/svm_dm_reload() accept. */
#define SVM_DM_MAX_TABLE_LINE 4096

/*
 * Parse the INFO status params of one svmotion target (what follows
 * "<start> <len> svmotion " in "dmsetup status"):
 *
 *   <region_sectors> <copied>/<total> <copying> <held_writes>
 *   <mirrored_writes> <dst_errors> <expired_locks> <revoked_locks>
 *   <dst_timeouts> <state>
 *
 * Fields are separated by exactly one space, with nothing before or after.
 * Numbers are unsigned decimal (digits only) that fit in 64 bits.  Also
 * refused as inconsistent: a region size that is not a power of two in
 * [128, 2097152], total == 0, copied > total, copied + copying > total, a
 * "synced" segment with copied != total and a "copying" one with
 * copied == total.
 *
 * Fills every field of *out except start and len; returns 0, or -EINVAL
 * (and leaves *out untouched) for a malformed line.
 */
int svm_status_parse(const char *params, struct svm_seg_status *out);

/*
 * The inverse of svm_status_parse(): write st's status params (without
 * start and len) into buf.  Returns what snprintf() returns.
 */
int svm_status_format(const struct svm_seg_status *st, char *buf, size_t len);

/* "copying", "synced", "failed" ("?" for an invalid value). */
const char *svm_state_name(enum svm_seg_state state);

/*
 * Read the status of every target of device dev (DM_DEVICE_STATUS) and
 * parse the svmotion ones, in table order, into segs[0..max-1].  Other
 * targets (e.g. the linear table after switchover) are skipped.  Also
 * checks that each segment's region count matches its length.
 *
 * Returns the number of svmotion segments of the device (which may exceed
 * max: only the first max are stored) or a negative errno; a status line
 * that does not parse is -EPROTO.
 */
int svm_dm_status(const char *dev, struct svm_seg_status *segs, size_t max,
		  char *err, size_t errlen);

/*
 * The table of one svmotion segment (DM_DEVICE_TABLE), as the kernel
 * reports it: devices as major:minor, offsets and sizes in sectors.
 */
/* the target's defaults of its table features (Documentation/dm-svmotion.rst) */
#define SVM_LOCK_TIMEOUT_DEFAULT_MS	5000
#define SVM_DST_TIMEOUT_DEFAULT_MS	1000

struct svm_seg_table {
	uint64_t start;		/* segment start sector in the device */
	uint64_t len;		/* segment length in sectors */
	unsigned int src_major, src_minor;
	uint64_t src_start;	/* sector of the segment in the source */
	unsigned int dst_major, dst_minor;
	uint64_t dst_start;	/* sector of the segment in the destination */
	uint64_t region_sectors;
	unsigned int lock_timeout_ms;	/* 0: not given (the target's default) */
	int dst_timeout_ms;		/* -1: not given; 0: none */
};

/*
 * Read the live table of device dev and parse its svmotion targets, in table
 * order, into segs[0..max-1] (other targets are skipped).  Returns the
 * number of svmotion segments (which may exceed max) or a negative errno;
 * a table line that does not parse is -EPROTO.
 */
int svm_dm_table(const char *dev, struct svm_seg_table *segs, size_t max,
		 char *err, size_t errlen);

/*
 * Send message msg to the target at sector (a segment's start sector) of
 * device dev (DM_DEVICE_TARGET_MSG, "dmsetup message dev sector msg").
 * The target's reply, if any, is copied to reply (replylen bytes; reply may
 * be NULL); reply is set to "" when there is none.
 */
int svm_dm_message(const char *dev, uint64_t sector, const char *msg,
		   char *reply, size_t replylen, char *err, size_t errlen);

/*
 * The lock/commit/unlock protocol on regions [first, first + count) of the
 * segment starting at seg_start (see Documentation/dm-svmotion.rst):
 *
 *   lock:   NOT_COPIED -> COPYING; -EBUSY if any region isn't NOT_COPIED,
 *           the device is suspended, or too many ranges are locked; -EIO once
 *           the target has failed.
 *   commit: COPYING -> COPIED; -EBUSY unless every region is COPYING (e.g.
 *           the lock was revoked by a suspend or the lock timeout: copy
 *           again).
 *   unlock: COPYING -> NOT_COPIED (the mover's error path).
 */
int svm_dm_lock(const char *dev, uint64_t seg_start, uint64_t first,
		uint64_t count, char *err, size_t errlen);
int svm_dm_commit(const char *dev, uint64_t seg_start, uint64_t first,
		  uint64_t count, char *err, size_t errlen);
int svm_dm_unlock(const char *dev, uint64_t seg_start, uint64_t first,
		  uint64_t count, char *err, size_t errlen);

/*
 * Device life cycle.  A table is one or more lines
 * "<start> <len> <target> <params...>" separated by '\n' (as in a dmsetup
 * table file; empty lines are ignored), e.g.
 *
 *   "0 65536 svmotion /dev/loop0 0 /dev/loop1 0 2048\n"
 *   "65536 65536 svmotion /dev/loop0 65536 /dev/loop2 0 2048"
 *
 * svm_dm_create() creates device name, loads the table and resumes it (the
 * device is removed again if the table is refused); svm_dm_reload() loads a
 * table into the inactive slot, which svm_dm_resume() then swaps in.
 * svm_dm_remove() retries a little if the device is briefly busy.
 */
int svm_dm_create(const char *name, const char *table, char *err,
		  size_t errlen);
int svm_dm_reload(const char *name, const char *table, char *err,
		  size_t errlen);
int svm_dm_suspend(const char *name, unsigned int flags, char *err,
		   size_t errlen);
int svm_dm_resume(const char *name, char *err, size_t errlen);
int svm_dm_remove(const char *name, char *err, size_t errlen);

/* Clear the inactive table slot (what a reload put there, not resumed). */
int svm_dm_clear(const char *name, char *err, size_t errlen);

struct svm_dm_info {
	bool exists;
	bool suspended;
	bool live_table, inactive_table;
	int open_count;
	unsigned int major, minor;
};
/* Info of device name; a missing device is exists = false and 0. */
int svm_dm_info(const char *name, struct svm_dm_info *info, char *err,
		size_t errlen);

#endif /* SVM_DM_H */
