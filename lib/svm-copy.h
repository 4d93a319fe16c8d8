/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-copy.h - libsvmotion: the data mover.
 *
 * Copies source extents to destination extents (several extent pairs per
 * copy), cold (no target) or hot (coordinated with a dm-svmotion device
 * through lock/commit, see svm-dm.h). Each end is an endpoint (svm-ep.h):
 * a regular file or block device given by its path, a file on an NFS
 * server (nfs://SERVER[:PORT]/EXPORT/PATH[?version=3|4], through libnfs)
 * or a LUN of an iSCSI target (iscsi://PORTAL[:PORT]/IQN/LUN, through
 * libiscsi); hot copies take block devices only (each end reached, if
 * asked, through a URL to the same storage: src_via, dst_via). Between
 * two local ends the copy takes one of three modes:
 *
 *   SVM_MODE_XCOPY     the array copies: SCSI EXTENDED COPY (LID1) over SG_IO
 *   SVM_MODE_FAST      O_DIRECT through io_uring (libaio fallback), or,
 *                      between files of one filesystem, a reflink clone
 *                      (FICLONERANGE, format same) or copy_file_range on NFS
 *                      (server-side copy); elsewhere copy_file_range is a
 *                      page-cache copy, slower than the O_DIRECT queue
 *   SVM_MODE_BUFFERED  through the page cache, for what FAST cannot take
 *                      (no O_DIRECT, e.g. tmpfs; unaligned extents); between
 *                      files of one filesystem, with formats that detect no
 *                      zeros (same, thick-eager), the kernel copies page
 *                      cache to page cache (copy_file_range), else
 *                      pread/pwrite
 *   SVM_MODE_AUTO      the first that applies, falling back range by range
 *
 * and writes the destination in one of four formats (thin/thick conversion on
 * the fly). A pair with a remote end is copied by the stream backend
 * (svm-copy-stream.c: the endpoints' asynchronous reads and writes, many in
 * flight, serviced from one poll loop), in every mode; res.backends names
 * the backends that ran. libnfs 4.0 has no SEEK_HOLE: a source on NFS is
 * all data, and thin and same find its zeros by reading them (as for a
 * block device); nor ALLOCATE: thick-lazy onto NFS writes the zeros, as
 * thick-eager. One ops table per backend sits behind one copy loop
 * (svm-copy-int.h): xcopy (svm-xcopy.h: both ends SCSI disks of one array
 * with one block size, formats same and thick-eager; a target's refusal
 * falls back), copy_file_range, O_DIRECT through io_uring (libaio fallback), and
 * buffered, and stream last in every chain. Mode chains: auto = xcopy,
 * copy_file_range, io_uring, buffered; xcopy = xcopy, copy_file_range,
 * io_uring; fast = copy_file_range, io_uring; buffered = buffered. A backend that refuses a range (not aligned, no
 * O_DIRECT, EINVAL/EOPNOTSUPP/EXDEV/ENOSYS from the kernel) hands it, from its
 * start, to the next backend of the chain (ranges of at most region_bytes,
 * by default 4 x queue_depth x io_size, 512 MiB at the defaults).
 *
 * Hot copy (opts.dm_name set): the pairs are segments of a live dm-svmotion
 * device (Documentation/dm-svmotion.rst) that a guest keeps writing. Each
 * pair must be exactly one svmotion segment of the device's table: its
 * source and destination block devices and offsets and its length (the
 * library reads the table and refuses a pair that matches no segment, and
 * a segment that has failed, is partly COPIED already or has regions locked
 * by another mover; a SYNCED segment has nothing left to copy). The copy
 * then runs region by region: several worker threads (regions_in_flight)
 * each lock one region (the "lock" message), copy it through the mode's
 * chain, make it durable in order with the guest's later mirrored writes
 * (O_DIRECT writes are; page-cache writes are written back first), and
 * commit it; a region is locked only while its own copy runs, and every
 * error path unlocks it. A guest write into a locked region waits in the
 * target until the commit, then goes to both sides. A lock revoked under
 * the copy (device suspended, lock timeout) makes the commit fail: the
 * region is copied again, up to 5 times in a row. Source pages of the page
 * cache are dropped before a region is read (the guest's writes reach the
 * source device underneath it). Progress and bytes count committed regions
 * only once the copy ends (a region given up is subtracted again).
 *
 * Loop devices over files (how svmotion attaches file extents): when both
 * ends of a pair are loop devices over two files of one filesystem, the
 * hot copy reads and writes the files themselves where that is better than
 * the devices: O_DIRECT without the loop layer, a reflink clone or an NFS
 * server-side copy (copy_file_range), or the buffered kernel copy where the
 * files have no O_DIRECT (tmpfs: one memory copy per byte instead of two);
 * not for pread/pwrite (zero detection). It is coherent with the guest's
 * I/O through the loop devices (they go through the files' page cache, or
 * write back and drop it for O_DIRECT), the files must be the very ones the
 * loop devices hold (st_dev/st_ino as LOOP_GET_STATUS64 reports them), and
 * the final flush is the destination file's fsync. Messages then name the
 * files and their offsets; res.error_offset stays in the device's terms.
 * res.pairs_via_files counts those pairs; SVM_COPY_VIA_DEVICES=1 turns it
 * off.
 *
 * Sources: regular files (holes found with SEEK_DATA/SEEK_HOLE) or block
 * devices (all data). A cold copy from a loop device over a file asks that
 * file for the holes (at the loop device's offset into it, after writing
 * back what the device node's page cache holds) and reads the data through
 * the device; format same then follows the file's allocation instead of
 * taking what reads as zeros as unallocated. Destinations: regular files (created if missing, grown
 * as needed, never shrunk) or block devices (must be large enough, checked up
 * front).
 *
 * Environment: SVM_COPY_FORCE_LIBAIO=1 makes the O_DIRECT backend use libaio
 * as if io_uring were unavailable (tests); SVM_COPY_NO_KERNEL_COPY=1 makes
 * the buffered backend use pread/pwrite only (tests); SVM_COPY_VIA_DEVICES=1
 * makes a hot copy use loop devices as they are, and a cold copy treat a
 * loop device source as any block device (tests, benchmarks).
 *
 * Conventions: sizes and offsets in bytes; functions return 0 or a negative
 * errno and fill an error line "svm-copy: <what>: <reason>" where one is
 * given.
 */
#ifndef SVM_COPY_H
#define SVM_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum svm_copy_mode {
	SVM_MODE_AUTO = 0,
	SVM_MODE_XCOPY,
	SVM_MODE_FAST,
	SVM_MODE_BUFFERED,
	SVM_MODE_COUNT
};

/*
 * Destination formats. Wherever the destination must read zeros (a source
 * hole, or a zero block where zeros are detected): a part of a file
 * destination beyond its size at open is left alone (it reads zeros); else a
 * file gets FALLOC_FL_PUNCH_HOLE (thin, same) or FALLOC_FL_ZERO_RANGE
 * (thick-lazy, thick-eager); a block device gets PUNCH_HOLE (thin, same: an
 * unmap the kernel only does where the device guarantees zeros), else
 * ZERO_RANGE, else BLKZEROOUT; zeros are written when none of those is
 * supported. Zero blocks are detected per 4 KiB. A cold copy onto a block
 * device in format thin or same first unmaps the whole destination extent
 * with one PUNCH_HOLE (as qemu-img convert zeroes its target first; not when
 * XCOPY takes the pair) and then skips zero runs and holes; where the device
 * refuses, they are handled one by one.
 */
enum svm_copy_format {
	SVM_FORMAT_SAME = 0,	/* follow the source's allocation: holes stay
				 * holes, data is written as is; a block
				 * device source (allocation unknown): zero
				 * blocks are taken as unallocated, as thin */
	SVM_FORMAT_THIN,	/* holes and zero blocks not written */
	SVM_FORMAT_THICK_LAZY,	/* space allocated in full (fallocate) first,
				 * holes and zero blocks not written */
	SVM_FORMAT_THICK_EAGER,	/* every block written; holes zeroed cheaply
				 * (ZERO_RANGE / BLKZEROOUT), counted copied */
};

/* One extent: a file or block device, a byte offset and a byte length. */
struct svm_extent {
	const char *path;
	uint64_t offset;
	uint64_t length;
};

/* A source extent and the destination extent it is copied to. */
struct svm_extent_pair {
	struct svm_extent src;
	struct svm_extent dst;	/* dst.length must equal src.length */
	/*
	 * Hot copy only, each may be NULL: a URL (nfs://, iscsi://) that
	 * reaches the very bytes of src.path (dst.path) at the same offsets,
	 * the file behind a loop device or the LUN behind a SCSI disk,
	 * through the mover's own connection instead of the kernel's. The
	 * device still names the segment; every worker opens the URL for
	 * itself (one connection each). The caller vouches for the identity
	 * (svmotion's --via checks it). A destination reached so over NFS is
	 * committed (COMMIT) before each region's commit, as the kernel's
	 * O_DIRECT writes are.
	 */
	const char *src_via, *dst_via;
};

/*
 * Progress: only completed writes (and zeroing) count. With a queue of I/Os
 * in flight, bytes_done may include chunks beyond the first one not yet done.
 */
struct svm_copy_progress {
	uint64_t bytes_total;	/* sum of the pairs' lengths */
	uint64_t bytes_done;	/* copied + skipped so far */
	uint64_t bytes_copied;	/* data written to the destination */
	uint64_t bytes_skipped;	/* holes and zeros not written */
	double elapsed;		/* seconds since svm_copy_run() started */
};

typedef void (*svm_copy_progress_fn)(const struct svm_copy_progress *p,
				     void *opaque);

struct svm_copy_opts {
	enum svm_copy_mode mode;
	enum svm_copy_format format;
	unsigned int queue_depth;	/* I/Os in flight; 0: default (32) */
	uint32_t io_size;		/* bytes per I/O; 0: default (4 MiB) */
	uint64_t rate_limit;		/* bytes per second; 0: unlimited */
	svm_copy_progress_fn progress;	/* called at most ~10 times a second,
					 * and once at the end, from the thread
					 * running svm_copy_run() */
	void *opaque;
	/*
	 * Region size in bytes: the unit handed to one backend at a time (and
	 * the unit of fallback between backends); in a hot copy, the unit
	 * locked, copied and committed at once, a multiple of the target's
	 * region size. 0: cold, four queues' worth (4 x queue_depth x
	 * io_size: 512 MiB at the defaults; at least 64 MiB, at most 1 GiB),
	 * the O_DIRECT queue draining only at the end of each; hot, the
	 * target's region size. A multiple of 4096, at most 1 GiB.
	 */
	uint64_t region_bytes;
	/*
	 * Hot copy: regions locked and copied at once, each by its own worker
	 * thread; 0: enough regions to keep queue_depth I/Os in flight (at
	 * least 2, at most 4: a guest write into a locked region waits for its
	 * copy). At most 64.
	 */
	unsigned int regions_in_flight;
	/*
	 * Hot copy: the dm-svmotion device (name, as in /dev/mapper/<name>)
	 * whose segments the pairs are; NULL for a cold copy.
	 */
	const char *dm_name;
	/*
	 * Remote endpoints (nfs://, iscsi://): bound on connecting and on
	 * each request, in ms; 0: SVM_EP_DEFAULT_TIMEOUT_MS (30 s).
	 */
	int timeout_ms;
	/*
	 * Hot copy, pairs with a src_via/dst_via: try both ways on the first
	 * units (phases of at least 16 MiB and as many units as workers,
	 * alternately the devices and the URLs, four at most, all of them
	 * at most an eighth of those pairs' units; fewer than two: no
	 * trial) and copy the rest the faster way (res.trial). false: the
	 * URLs' way throughout.
	 */
	bool via_trial;
};

/* opts.via_trial: rates within this factor are a tie (svm-trial.h) */
#define SVM_COPY_TRIAL_TIE	1.05

/* The mover's backends (svm_copy_result.bytes_by_backend). */
enum svm_copy_backend {
	SVM_BACKEND_XCOPY,	/* SCSI EXTENDED COPY: the array copies */
	SVM_BACKEND_CFR,	/* copy_file_range: an NFS server-side COPY
				 * (proven in mountstats), a reflink clone */
	SVM_BACKEND_FAST,	/* O_DIRECT reads and writes, through here */
	SVM_BACKEND_BUFFERED,	/* the page cache, through here */
	SVM_BACKEND_STREAM,	/* remote endpoints (nfs://, iscsi://) */
	SVM_BACKEND_COUNT
};

struct svm_copy_result {
	uint64_t bytes_copied;
	uint64_t bytes_skipped;
	double elapsed;
	enum svm_copy_mode mode_used;	/* the mode that copied most bytes */
	uint64_t bytes_by_mode[SVM_MODE_COUNT];	/* bytes copied per mode
						 * (copy_file_range: fast) */
	bool libaio_fallback;		/* io_uring unavailable: libaio used */
	int error;			/* 0, or the negative errno of a failure
					 * (-ECANCELED when cancelled) */
	uint64_t error_offset;		/* absolute source offset of the failure;
					 * for a cancel, of the first byte not
					 * done (all of the failing pair before
					 * it is on the destination) */
	char message[512];		/* the failure, in words */
	/* why the mode's first backend handed ranges on to the next ("" if it
	 * never did), e.g. "xcopy: both ends must be SCSI disks" */
	char fallback[160];
	/* hot copy */
	uint64_t regions_committed;	/* regions (of region_bytes) committed */
	uint64_t regions_recopied;	/* copies redone: lock revoked under them */
	/* units copied at once: at the start, and at the end (fewer after a
	 * copy outlived the target's lock timeout) */
	unsigned int regions_at_once;
	unsigned int regions_at_once_end;
	/*
	 * pairs copied between the files behind their loop devices, and
	 * pairs with an end reached through its src_via/dst_via URL (with
	 * opts.via_trial: the way kept after the trial)
	 */
	unsigned int pairs_via_files;
	unsigned int pairs_via_url;
	/*
	 * the backends that copied or skipped bytes, in chain order:
	 * "xcopy", "copy_file_range", "fast", "buffered", "stream" (any two
	 * endpoints through their ops: a remote end), comma-separated
	 */
	char backends[96];
	/* bytes_copied by each backend (enum svm_copy_backend) */
	uint64_t bytes_by_backend[SVM_BACKEND_COUNT];
	/*
	 * of bytes_copied, those whose data did not pass through this host:
	 * EXTENDED COPY, an NFS COPY the server did, a reflink clone
	 */
	uint64_t bytes_offloaded;
	/*
	 * cold copies: destination bytes unmapped (or punched) before the
	 * copy, so that its zero runs and holes are skipped rather than
	 * zeroed one at a time (svm-copy-cold.c)
	 */
	uint64_t bytes_zeroed_upfront;
	/*
	 * hot copy with opts.via_trial: tried is false when the pairs with a
	 * URL end have too few units for it (their URLs not taken then);
	 * decided, chosen (0: the kernel's devices, 1: the URLs) and the
	 * rates once both ways were measured; bytes copied or skipped each
	 * way in the trial's phases and in the whole copy
	 */
	struct {
		bool tried, decided, kernel_offloaded;
		/* decided because a region's copy the other way outlived
		 * the target's bound (its lock revoked by a timeout) */
		bool gave_up;
		int given_up;			/* the way given up */
		/* decided after the kernel's first phase, which offloaded
		 * every unit (the direct way not tried: rate[1] 0) */
		bool offload_kept;
		int chosen;
		unsigned int phases;
		uint64_t phase_bytes;		/* one phase's bytes */
		uint64_t trial_bytes[2];
		double rate[2];			/* bytes per second */
		uint64_t bytes[2];
	} trial;
};

struct svm_copy;

/*
 * Validate the pairs and options and open everything (destination files are
 * created if missing); no data is written. The pairs are copied (paths are
 * not: they must outlive the copy). Refused with a message in err:
 *   -EINVAL   no pairs, dst.length != src.length, a bad option (io_size not
 *             a multiple of 4096 or above 64 MiB, queue_depth above 256,
 *             queue_depth x io_size above 1 GiB),
 *             a source shorter than asked, a destination extent overlapping
 *             a source extent of the same file (st_dev/st_ino) or device
 *             (st_rdev) or another destination extent, neither a regular
 *             file nor a block device, and in modes fast and xcopy an extent
 *             not aligned to both ends' O_DIRECT alignment (logical block
 *             size) or an end that cannot be opened with O_DIRECT;
 *   -ENOSPC   a block device destination smaller than its extent;
 *   hot copy: -EINVAL a pair that is not exactly one svmotion segment of
 *             opts->dm_name (or a region_bytes that is not a multiple of
 *             its region size), -ENXIO no such device or no svmotion
 *             segment in its table, -EIO a failed segment, -EBUSY a
 *             segment partly COPIED already or with regions locked;
 *   -errno    of a failed open()/fstat().
 */
int svm_copy_new(struct svm_copy **out, const struct svm_copy_opts *opts,
		 const struct svm_extent_pair *pairs, size_t nr_pairs,
		 char *err, size_t errlen);
/*
 * Run the copy to the end, a failure or a cancel, then fsync every
 * destination (success is reported only after the flush). Returns 0 or the
 * negative errno also in res->error, with res->error_offset and
 * res->message: -ECANCELED, -EIO (unreadable source, source ended early),
 * -ENOSPC (destination out of space), ... Every byte counted in
 * res->bytes_copied/bytes_skipped was written (or zeroed) on the
 * destination, though not necessarily flushed on failure. Run once.
 */
int svm_copy_run(struct svm_copy *c, struct svm_copy_result *res);
/*
 * Ask a running (or about to run) copy to stop: no new I/O is submitted,
 * the ones in flight complete, and svm_copy_run() returns -ECANCELED. An
 * atomic flag plus an eventfd write (which also wakes a rate-limit sleep):
 * async-signal-safe, callable from any thread while c is not freed.
 */
void svm_copy_cancel(struct svm_copy *c);
/* Close everything and free c (NULL is fine). Not during svm_copy_run(). */
void svm_copy_free(struct svm_copy *c);

/* "auto", "xcopy", "fast", "buffered" (static strings; "?" if unknown). */
const char *svm_copy_mode_name(enum svm_copy_mode m);
/* "xcopy", "copy_file_range", "fast", "buffered", "stream" ("?"). */
const char *svm_copy_backend_name(enum svm_copy_backend b);
/* "same", "thin", "thick-lazy", "thick-eager" ("?" if unknown). */
const char *svm_copy_format_name(enum svm_copy_format f);

#endif /* SVM_COPY_H */
