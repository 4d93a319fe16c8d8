/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-copy-int.h - libsvmotion data mover internals: the state shared by the
 * copy loop (svm-copy.c) and its backends (svm-copy-*.c).
 *
 * The copy loop walks every pair's source, splits it into data segments and
 * holes (SEEK_DATA/SEEK_HOLE on files), handles holes itself according to the
 * destination format, and hands each data range to the first backend of the
 * mode's chain that takes it. A backend that refuses a range (-EINVAL,
 * -EOPNOTSUPP, -EXDEV, -ENOSYS: O_DIRECT or copy_file_range not possible
 * there) has its partial accounting rolled back, and the next backend of the
 * chain copies the range again from its start.
 */
#ifndef SVM_COPY_INT_H
#define SVM_COPY_INT_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "svm-copy.h"
#include "svm-xcopy.h"

struct svm_copy;

/* One extent pair, opened. */
struct svm_pair {
	struct svm_extent_pair ext;
	int src_fd;		/* buffered */
	int src_dfd;		/* O_DIRECT, or -1 when the open failed */
	int dst_fd;		/* buffered */
	int dst_dfd;		/* O_DIRECT, or -1 */
	bool src_blk, dst_blk;	/* block devices (else regular files) */
	unsigned int src_align;	/* O_DIRECT offset/length alignment, 0: none */
	unsigned int dst_align;
	dev_t src_dev, dst_dev;	/* st_dev of files */
	/*
	 * the destination reads zeros (never written) from here: a regular
	 * file beyond its size at open, a block device extent unmapped up
	 * front (cold, thin/same); UINT64_MAX: nowhere known
	 */
	uint64_t dst_fresh_from;
	/* xcopy: 0 not probed yet, 1 both ends are LUNs that can pair, <0 refused */
	int xcopy_state;
	char xcopy_why[160];		/* why refused */
	struct svm_xcopy_id xsrc, xdst;
	struct svm_xcopy_limits xlim;	/* of the destination (receives the commands) */
	/*
	 * copy_file_range backend: 0 not probed, 1 NFS (server-side copy),
	 * 2 try a reflink clone (FICLONERANGE), <0 neither: not used
	 */
	int cfr_state;
	/*
	 * buffered backend: <0 copy_file_range refused between these files
	 * (-errno), 0 use it where it applies (see buffered_kernel_copy)
	 */
	int kcopy_state;
	/* hot copy: the dm-svmotion segment this pair is (svm-copy-hot.c) */
	uint64_t seg_start;		/* segment start sector in the dm device */
	uint64_t seg_region_bytes;	/* the target's region size */
	uint64_t nr_units;		/* units (of region_bytes) to copy */
	unsigned int lock_timeout_ms;	/* the table's, 0: the default */
	bool synced;			/* already SYNCED: nothing to copy */
	/*
	 * hot copy: both ends were loop devices over files of one filesystem,
	 * and the fds, paths and offsets above are now those of the backing
	 * files (svm-copy-hot.c, look_through); src_shift is the source loop
	 * device's offset into its file (error offsets are reported in device
	 * terms). via_src/via_dst own the paths ext.src.path/ext.dst.path
	 * point to then; NULL otherwise. via_dst_devfd: the destination loop
	 * device, kept open to drop its own page cache (a buffered reader of
	 * the device node would see it stale), else -1.
	 */
	bool via_files;
	uint64_t src_shift, dst_shift;
	/*
	 * A file source: [data_from, data_until) was data when last asked
	 * (SEEK_HOLE), and is not asked again: on tmpfs a SEEK_HOLE walks
	 * every page up to the hole, to the end of a dense file. Stale
	 * knowledge of data is harmless (a hole punched since reads as zeros
	 * and is copied as such); holes are always asked afresh, as a guest
	 * write may have filled one. Per copy (each hot worker has its own).
	 */
	uint64_t data_from, data_until;
	/*
	 * A cold copy from a loop device over a file: that file, where the
	 * source's holes are asked (at source offset + src_map_shift, the
	 * loop device's offset into it); -1 otherwise (a block device
	 * source is then all data). See map_src_loop in svm-copy.c.
	 */
	int src_map_fd;
	uint64_t src_map_shift;
	char *via_src, *via_dst;
	int via_dst_devfd;
};

/* A data range handed to a backend: source offset, length, accounting. */
struct svm_range {
	struct svm_pair *p;
	uint64_t src_off;	/* absolute, in the source */
	uint64_t len;
	uint64_t copied, skipped; /* accounted so far (rolled back on refusal) */
	uint64_t fail_off;	/* source offset of a failure */
	enum svm_copy_mode mode; /* accounted as */
	/*
	 * The source is a file and the range may hold holes: the backend
	 * finds them (svm_range_data) and leaves them to svm_copy_zero.
	 */
	bool sparse;
};

static inline uint64_t svm_range_dst(const struct svm_range *r, uint64_t src_off)
{
	return r->p->ext.dst.offset + (src_off - r->p->ext.src.offset);
}

/* One backend. */
struct svm_copy_ops {
	const char *name;
	enum svm_copy_mode mode;	/* accounted as */
	/*
	 * 0 if the backend can take [src_off, src_off + len) of pair p, else a
	 * negative errno and a reason in why.
	 */
	int (*applies)(struct svm_copy *c, struct svm_pair *p, uint64_t src_off,
		       uint64_t len, char *why, size_t whylen);
	/*
	 * Copy the data range r (zero blocks handled per the format through
	 * svm_copy_zero()). 0, or a negative errno with r->fail_off set and the
	 * message through svm_copy_fail(); -ECANCELED when cancelled (every
	 * I/O submitted has completed and been accounted).
	 */
	int (*copy)(struct svm_copy *c, struct svm_range *r);
	/* Release what the backend set up (may be called when never used). */
	void (*fini)(struct svm_copy *c);
};

extern const struct svm_copy_ops svm_copy_ops_xcopy;
extern const struct svm_copy_ops svm_copy_ops_cfr;
extern const struct svm_copy_ops svm_copy_ops_fast;
extern const struct svm_copy_ops svm_copy_ops_buffered;

#define SVM_COPY_MAX_CHAIN 4

struct svm_copy {
	struct svm_copy_opts opts;
	struct svm_pair *pairs;
	size_t nr_pairs;
	unsigned int qd;
	uint32_t io_size;
	uint64_t range_bytes;	/* cold: unit handed to a backend (fallback
				 * unit); hot: the unit locked and copied */
	const struct svm_copy_ops *chain[SVM_COPY_MAX_CHAIN];
	unsigned int chain_len;
	/*
	 * The mode of the backend that last accounted bytes (copied or
	 * skipped): mode_used when nothing was copied. Under the parent's
	 * mu for a hot copy's coordinator.
	 */
	int skip_mode;		/* mode + 1; 0: none yet */

	atomic_int cancelled;
	int cancel_fd;		/* eventfd, written by svm_copy_cancel() */

	struct svm_copy_result *res;
	double t0;
	double last_progress;
	uint64_t total;
	uint64_t rate_bytes;	/* bytes submitted, for the rate limit */

	void *fast;		/* fast backend state (svm-copy-fast.c) */
	void *zeros;		/* io_size bytes of zeros, aligned */

	/*
	 * Hot copy (svm-copy-hot.c). The copy the caller created is the
	 * coordinator; each worker thread runs a child svm_copy of its own
	 * (own backend state, own copy of the pairs, fds and cancel_fd
	 * borrowed from the coordinator). A child accounts into both its own
	 * res and the coordinator's, under the coordinator's mu.
	 */
	struct svm_copy *parent;	/* a worker's coordinator, else NULL */
	bool borrowed;			/* fds and cancel_fd are the parent's */
	atomic_int stop;		/* coordinator: a worker failed, stop */
	/*
	 * Coordinator's mu protects: res (counters, error) while workers run,
	 * rate_bytes, and the hot state's region cursor and in-flight list.
	 */
	pthread_mutex_t mu;
	bool mu_inited;
	void *hot;			/* struct svm_hot (svm-copy-hot.c) */
	unsigned int via_files;		/* pairs copied between loop files */
};

/* Library-internal helpers (svm-copy.c). */
/* Copy [pos, end) of pair p's source: data through the chain, holes per format. */
int svm_copy_span(struct svm_copy *c, struct svm_pair *p, uint64_t pos,
		  uint64_t end);
/* Undo the accounting of r (a range refused or a region not committed). */
void svm_copy_unaccount(struct svm_copy *c, uint64_t copied, uint64_t skipped,
			const uint64_t *by_mode);
/* Call the progress function (at most every 0.1 s unless force). */
void svm_copy_report_progress(struct svm_copy *c, bool force);
/* Build the chain of backends of c->opts.mode. */
void svm_copy_build_chain(struct svm_copy *c);

/* Hot copy (svm-copy-hot.c). */
/* Match the pairs to the dm device's svmotion segments; -errno + err. */
int svm_hot_prepare(struct svm_copy *c, const struct stat *sst,
		    const struct stat *dst, char *err, size_t errlen);
/* Copy every pair region by region under lock/commit; 0 or -errno. */
int svm_hot_run(struct svm_copy *c);
void svm_hot_free(struct svm_copy *c);

double svm_copy_now(void);
bool svm_copy_is_cancelled(struct svm_copy *c);
/* Account bytes copied/skipped by r's backend; may call the progress fn. */
void svm_copy_account(struct svm_copy *c, struct svm_range *r,
		      enum svm_copy_mode mode, uint64_t copied, uint64_t skipped);
/* Seconds the rate limit would make svm_copy_throttle(c, n) sleep now. */
double svm_copy_rate_wait(struct svm_copy *c, uint64_t n);
/* Sleep as the rate limit asks before n more bytes; 0 or -ECANCELED. */
int svm_copy_throttle(struct svm_copy *c, uint64_t n);
/*
 * The destination of [src_off, src_off + len) of pair p must read zeros (a
 * hole or a zero block): skip, punch, zero or write zeros per the format.
 * Zeros written (thick-eager) count as copied, else as skipped. 0 or -errno.
 */
int svm_copy_zero(struct svm_copy *c, struct svm_range *r, uint64_t src_off,
		  uint64_t len);
/*
 * For a sparse range: the next data at or after *pos, zeroing the holes on
 * the way per the format (svm_copy_zero); *data_end is where that data ends
 * (at most the range's end). *pos reaches the range's end when no data is
 * left. A range that is not sparse is all data. 0 or an error (recorded,
 * r->fail_off set).
 */
int svm_range_data(struct svm_copy *c, struct svm_range *r, uint64_t *pos,
		   uint64_t *data_end);
/*
 * Open one end of a pair (dst: for writing, created if missing and create):
 * buffered fd,
 * O_DIRECT fd (-1 where refused) and its alignment, block device or file,
 * stat and size. 0 or -errno with a message in err.
 */
int svm_copy_open_end(const struct svm_extent *e, bool dst, bool create,
		      int *fd, int *dfd, bool *blk, unsigned int *align,
		      struct stat *st, uint64_t *size, char *err, size_t errlen);
/* A loop device over a regular file, the file opened as a pair end. */
struct svm_loop_end {
	char *path;		/* the backing file, from sysfs */
	uint64_t offset;	/* the loop device's offset into it */
	int fd, dfd;		/* the file opened as a pair end */
	bool blk;
	unsigned int align;
	struct stat st;
	uint64_t size;
};
/*
 * The file behind loop device devfd (dev: its stat), opened as a pair end
 * (for writing if dst, never created). 0, or -errno: not a loop device (or
 * no file bound), read-only for a destination, no such file any more, or a
 * file that is not the one the loop device holds (st_dev/st_ino differ from
 * what LOOP_GET_STATUS64 reports: deleted, renamed over). le is closed on
 * failure.
 */
int svm_loop_end_open(int devfd, const struct stat *dev, bool dst,
		      struct svm_loop_end *le);
void svm_loop_end_close(struct svm_loop_end *le);
/*
 * Whether the buffered backend copies p in the kernel (copy_file_range,
 * page cache to page cache): two files of one filesystem, no zero
 * detection, not refused before, SVM_COPY_NO_KERNEL_COPY unset.
 */
bool svm_copy_kernel_copy_applies(const struct svm_copy *c,
				  const struct svm_pair *p);
/* Whether zero blocks within p's data are to be detected (by format). */
bool svm_copy_scan_zeros(const struct svm_copy *c, const struct svm_pair *p);
/* Length of the run at buf[0..len) that is all zeros (*zero) or not. */
size_t svm_copy_run_len(const struct svm_copy *c, const unsigned char *buf,
			size_t len, bool *zero);
/* Record a failure message (first one wins); returns err. */
__attribute__((format(printf, 4, 5)))
int svm_copy_fail(struct svm_copy *c, int err, uint64_t off, const char *fmt, ...);
/* Errors that mean "this backend cannot take this range". */
static inline bool svm_copy_is_refusal(int err)
{
	return err == -EINVAL || err == -EOPNOTSUPP || err == -EXDEV ||
	       err == -ENOSYS;
}

#endif /* SVM_COPY_INT_H */
