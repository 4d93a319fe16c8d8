/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-ds.h - libsvmotion: what a datastore is. A datastore is a directory
 * (of a local filesystem, or of a kernel NFS mount) or a block device (a
 * local disk, or an iSCSI LUN the open-iscsi initiator logged in to). The
 * facts come from where the kernel keeps them: the mount table
 * (/proc/self/mountinfo: filesystem type, NFS server, export, version),
 * sysfs (the block device under a path, whether it is an iSCSI LUN: target
 * IQN, portal, LUN; its size, logical block size, discard), statvfs
 * (capacity, free space), and probes that change nothing (an O_TMPFILE file
 * in the directory, which disappears on close, for reflink and hole
 * punching; SG_IO for EXTENDED COPY's operating parameters).
 *
 * The parsers are pure functions, tested on the host without any mount or
 * device (tests/host/ds.c); svm_ds_probe_at() reads a mount table and a
 * sysfs tree given by the caller, so that fake trees stand in for both.
 *
 * Conventions: 0 or a negative errno; err (errlen bytes, may be NULL/0)
 * gets one line naming the path and the reason.
 */
#ifndef SVM_DS_H
#define SVM_DS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "svm-xcopy.h"

enum svm_ds_kind {
	SVM_DS_DIR,		/* a directory of a local filesystem */
	SVM_DS_NFS,		/* a directory of a kernel NFS mount */
	SVM_DS_BLOCK,		/* a block device */
};

/* One line of a mount table (proc(5), /proc/self/mountinfo). */
struct svm_ds_mount {
	unsigned int major, minor;	/* st_dev of the files below it */
	char root[PATH_MAX];		/* what of its filesystem is mounted */
	char point[PATH_MAX];		/* mount point */
	char fstype[64];
	char source[PATH_MAX];		/* device, or server:/export */
	char opts[1024];		/* super options (vers=4.2,addr=...) */
	bool ro;			/* mounted read-only */
};

/* A kernel NFS mount, from its mount table line. */
struct svm_ds_nfs {
	char server[256];		/* as mounted: name or address */
	char export[PATH_MAX];		/* path on the server */
	char vers[8];			/* "3", "4.0", "4.1", "4.2" */
	char addr[64];			/* the server address used (addr=) */
	uint32_t rsize, wsize;
	bool soft;			/* soft (else hard: I/O waits forever) */
};

/* An iSCSI LUN of an open-iscsi session. */
struct svm_ds_iscsi {
	unsigned int session;		/* /sys/class/iscsi_session/sessionN */
	char iqn[224];			/* target name */
	char portal[96];		/* ADDRESS:PORT, "" if not found */
	unsigned int host, channel, target, lun;
};

/* Offloads a datastore offers (svm_ds_info.offloads). */
#define SVM_DS_OFF_REFLINK	0x1	/* FICLONERANGE within the filesystem */
#define SVM_DS_OFF_NFS_COPY	0x2	/* NFSv4.2: copy_file_range is a
					 * server-side COPY (if the server
					 * offers it) */
#define SVM_DS_OFF_PUNCH	0x4	/* files: FALLOC_FL_PUNCH_HOLE */
#define SVM_DS_OFF_UNMAP	0x8	/* block: discard (UNMAP, TRIM) */
#define SVM_DS_OFF_XCOPY	0x10	/* block: SCSI EXTENDED COPY */

struct svm_ds_info {
	enum svm_ds_kind kind;
	char path[PATH_MAX];		/* resolved (realpath) */
	struct svm_ds_mount mnt;	/* DIR, NFS: the mount it is on */
	struct svm_ds_nfs nfs;		/* NFS */
	/* BLOCK: the device; DIR: its filesystem's device, if a block one */
	bool has_dev;
	char dev[64];			/* kernel name: sdb, sdb1, loop3 */
	unsigned int major, minor;
	bool partition;
	bool is_iscsi;			/* has_dev and an iSCSI LUN */
	struct svm_ds_iscsi iscsi;
	uint64_t total, avail;		/* bytes (a block device: its size) */
	uint32_t block_size;		/* logical block size (a filesystem:
					 * its block size) */
	unsigned int offloads;		/* SVM_DS_OFF_* */
	bool offloads_probed;		/* the probes ran (not: read-only) */
	struct svm_xcopy_limits xcopy;	/* with SVM_DS_OFF_XCOPY */
	char xcopy_why[256];		/* block: why no XCOPY */
};

/* Where svm_ds_probe_at() reads the kernel's tables (tests: fake trees). */
struct svm_ds_roots {
	const char *mountinfo;		/* default /proc/self/mountinfo */
	const char *sysfs;		/* default /sys */
};

/* "dir", "nfs", "block" */
const char *svm_ds_kind_name(enum svm_ds_kind k);

/*
 * One mountinfo line into m (octal escapes such as \040 decoded). -EINVAL
 * for a malformed line.
 */
int svm_ds_parse_mountinfo_line(const char *line, struct svm_ds_mount *m);

/*
 * The mount of path (absolute, resolved) in the mount table text: of the
 * lines with device major:minor, the one whose mount point is the longest
 * prefix of path (by whole components; the last such line when several
 * are equal, as a later mount hides an earlier one). -ENOENT if none.
 */
int svm_ds_find_mount(const char *table, unsigned int major,
		      unsigned int minor, const char *path,
		      struct svm_ds_mount *m);

/*
 * An NFS mount's server, export, version and sizes. -EINVAL: not an NFS
 * mount (fstype nfs or nfs4) or a source that is not SERVER:/PATH.
 */
int svm_ds_parse_nfs(const struct svm_ds_mount *m, struct svm_ds_nfs *n);

/*
 * The block device major:minor from sysfs (sysfs root, e.g. "/sys"): its
 * name, partition or not, its (whole disk's) logical block size, size and
 * discard, and whether it is a LUN of an iSCSI session (with the session's
 * target name and portal). Fills the device fields of ds. -ENOENT if sysfs
 * does not know the device.
 */
int svm_ds_sysfs_dev(const char *sysfs, unsigned int major,
		     unsigned int minor, struct svm_ds_info *ds);

/* The mount the file or directory path is on (/proc/self/mountinfo). */
int svm_ds_mount_of(const char *path, struct svm_ds_mount *m);

/* An NFS mount's operation counters (/proc/self/mountstats, per-op). */
struct svm_nfs_ops {
	uint64_t read_ops, read_bytes;		/* READ: calls, bytes received */
	uint64_t write_ops, write_bytes;	/* WRITE: calls, bytes sent */
	uint64_t copy_ops;			/* COPY (NFSv4.2 server-side) */
	uint64_t clone_ops;			/* CLONE */
};

/*
 * The counters of the mount on mountpoint in mountstats text (its
 * "device ... mounted on MOUNTPOINT with fstype nfs..." section). -ENOENT:
 * no such NFS mount there; -EINVAL: a section without per-op statistics.
 */
int svm_ds_parse_mountstats(const char *text, const char *mountpoint,
			    struct svm_nfs_ops *o);
/* The same from /proc/self/mountstats. */
int svm_ds_nfs_ops(const char *mountpoint, struct svm_nfs_ops *o);

/* What path is: svm_ds_probe_at() with the kernel's own tables. */
int svm_ds_probe(const char *path, struct svm_ds_info *ds, char *err,
		 size_t errlen);
int svm_ds_probe_at(const struct svm_ds_roots *roots, const char *path,
		    struct svm_ds_info *ds, char *err, size_t errlen);

/*
 * One line for messages: "NFS 127.0.0.1:/srv/ds1 (v4.2, hard)", "iSCSI
 * LUN 2 of iqn... at 127.0.0.1:3260 (sdc)", "ext4 on loop0", "block device
 * sdb". Returns buf.
 */
const char *svm_ds_describe(const struct svm_ds_info *ds, char *buf,
			    size_t len);

/* The offloads as words, comma separated ("reflink,punch"; "" if none). */
const char *svm_ds_offload_names(unsigned int offloads, char *buf,
				 size_t len);

#endif
