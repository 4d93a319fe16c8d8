/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-copy-int.h - libsvmotion data mover internals: the state shared by the
 * engine (svm-copy.c: endpoints, accounting, holes and zeros, the copy
 * loop), its backends (svm-copy-xcopy.c, -fast.c: copy_file_range and
 * O_DIRECT, -buffered.c, -stream.c: any two endpoints) and the drivers on
 * top (svm-copy-cold.c, svm-copy-hot.c; svm-copy-api.c the public calls).
 * A backend keeps its state in its own structs (svm_copy.bk[id] and
 * svm_pair.bk[id]); an endpoint in its own (svm-ep.h).
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
#include "svm-ep-file.h"

struct svm_copy;

/*
 * The backends, each with state of its own per copy (svm_copy.bk[id]) and
 * per pair (svm_pair.bk[id], svm_pair_state()), which no other part reads.
 */
enum svm_backend_id {
	SVM_BK_XCOPY,
	SVM_BK_CFR,
	SVM_BK_FAST,
	SVM_BK_BUFFERED,
	SVM_BK_STREAM,
	SVM_COPY_NR_BACKENDS
};
_Static_assert(SVM_BK_XCOPY == (int)SVM_BACKEND_XCOPY &&
	       SVM_BK_CFR == (int)SVM_BACKEND_CFR &&
	       SVM_BK_FAST == (int)SVM_BACKEND_FAST &&
	       SVM_BK_BUFFERED == (int)SVM_BACKEND_BUFFERED &&
	       SVM_BK_STREAM == (int)SVM_BACKEND_STREAM &&
	       SVM_COPY_NR_BACKENDS == (int)SVM_BACKEND_COUNT,
	       "the public backend ids are the engine's");

/* One extent pair, opened. */
struct svm_pair {
	struct svm_extent_pair ext;
	/* the endpoints (svm-ep.h); owned unless the copy is borrowed */
	struct svm_ep *src, *dst;
	/* the same when they are files or block devices, else NULL */
	struct svm_ep_file *sf, *df;
	/* each backend's state for this pair, freed with the pair */
	void *bk[SVM_COPY_NR_BACKENDS];
	/* hot copy: the dm-svmotion segment this pair is (svm-copy-hot.c) */
	uint64_t seg_start;		/* segment start sector in the dm device */
	uint64_t seg_region_bytes;	/* the target's region size */
	uint64_t nr_units;		/* units (of region_bytes) to copy */
	unsigned int lock_timeout_ms;	/* the table's (or the default) */
	/* the target's dst_timeout_ms (default 1000; 0: none): a guest write
	 * waiting that long for a unit's copy revokes its lock */
	unsigned int write_hold_ms;
	bool synced;			/* already SYNCED: nothing to copy */
	/*
	 * hot copy: both ends were loop devices over files of one filesystem,
	 * and the endpoints, paths and offsets above are now those of the
	 * backing files (svm-copy-hot.c, look_through); src_shift is the
	 * source loop device's offset into its file (error offsets are
	 * reported in device terms). via_dst_dev: the destination loop
	 * device, kept open to drop its own page cache (a buffered reader of
	 * the device node would see it stale), else NULL.
	 */
	bool via_files;
	uint64_t src_shift, dst_shift;
	struct svm_ep *via_src_dev, *via_dst_dev;
	/*
	 * A file source: [data_from, data_until) was data when last asked
	 * (SEEK_HOLE), and is not asked again: on tmpfs a SEEK_HOLE walks
	 * every page up to the hole, to the end of a dense file. Stale
	 * knowledge of data is harmless (a hole punched since reads as zeros
	 * and is copied as such); holes are always asked afresh, as a guest
	 * write may have filled one. Per copy (each hot worker has its own).
	 */
	uint64_t data_from, data_until;
};

/* Both ends are files or block devices: the kernel's fast paths apply. */
static inline bool svm_pair_local(const struct svm_pair *p)
{
	return p->sf && p->df;
}

/* A data range handed to a backend: source offset, length, accounting. */
struct svm_range {
	struct svm_pair *p;
	uint64_t src_off;	/* absolute, in the source */
	uint64_t len;
	uint64_t copied, skipped; /* accounted so far (rolled back on refusal) */
	uint64_t offloaded;	/* of copied, what no data crossed this host
				 * for (the backend says) */
	uint64_t fail_off;	/* source offset of a failure */
	enum svm_copy_mode mode; /* accounted as */
	/*
	 * The source is a file and the range may hold holes: the backend
	 * finds them (svm_range_data) and leaves them to svm_copy_zero.
	 */
	bool sparse;
	/* why a backend refused the range part way ("" if it did not say) */
	char why[160];
};

static inline uint64_t svm_range_dst(const struct svm_range *r, uint64_t src_off)
{
	return r->p->ext.dst.offset + (src_off - r->p->ext.src.offset);
}

/* One backend. */
struct svm_copy_ops {
	const char *name;
	enum svm_backend_id id;
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
extern const struct svm_copy_ops svm_copy_ops_stream;

#define SVM_COPY_MAX_CHAIN 5

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

	void *bk[SVM_COPY_NR_BACKENDS];	/* each backend's state (fini frees) */
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
	unsigned int via_url;		/* hot: pairs with a src_via/dst_via */
	unsigned int backends_used;	/* 1 << svm_backend_id that accounted
					 * bytes (under mu for a coordinator) */
};

/* Library-internal helpers (svm-copy.c). */
/* Copy [pos, end) of pair p's source: data through the chain, holes per format. */
int svm_copy_span(struct svm_copy *c, struct svm_pair *p, uint64_t pos,
		  uint64_t end);
/* Undo the accounting of r (a range refused or a region not committed). */
void svm_copy_unaccount(struct svm_copy *c, uint64_t copied, uint64_t skipped,
			const uint64_t *by_mode);
/* ... and of the backends that kept it (a region not committed). */
void svm_copy_unaccount_backends(struct svm_copy *c, const uint64_t *by_backend,
				 uint64_t offloaded);
/* Call the progress function (at most every 0.1 s unless force). */
void svm_copy_report_progress(struct svm_copy *c, bool force);
/* Build the chain of backends of c->opts.mode. */
void svm_copy_build_chain(struct svm_copy *c);

/*
 * The engine (svm-copy.c), which knows nothing of hot or cold copies:
 * validate the options and pairs and open every endpoint (c->pairs[i].src,
 * .dst), with the checks every copy needs; then the drivers on top
 * (svm-copy-cold.c, svm-copy-hot.c, tied together in svm-copy-api.c) copy
 * spans through it. sst/dst: the stat of each pair's ends (zeroed for a
 * remote one), for the drivers' checks; freed by the caller.
 */
int svm_engine_open(struct svm_copy *c, const struct svm_extent_pair *pairs,
		    size_t nr_pairs, struct stat **sst, struct stat **dst,
		    char *err, size_t errlen);
/* Flush every destination; 0 or the first error (recorded). */
int svm_engine_flush(struct svm_copy *c);
/* Fill res's summary (mode used, elapsed) at the end of a run. */
void svm_engine_finish(struct svm_copy *c, int ret);
/* Close the pairs' endpoints (unless borrowed) and free their state. */
void svm_engine_close(struct svm_copy *c);
/* Whether backend ops is in c's chain and takes all of pair p. */
bool svm_copy_chain_takes(struct svm_copy *c, const struct svm_copy_ops *ops,
			  struct svm_pair *p);

/* Cold copy (svm-copy-cold.c): every pair in turn; 0 or -errno. */
int svm_cold_run(struct svm_copy *c);

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
 * Pair p's state of backend ops: allocated (zeroed, size bytes) at the first
 * call, the same pointer afterwards; NULL when out of memory.
 */
void *svm_pair_state(struct svm_pair *p, const struct svm_copy_ops *ops,
		     size_t size);
/*
 * Whether the buffered backend copies p in the kernel (copy_file_range,
 * page cache to page cache): two files of one filesystem, no zero
 * detection, not refused before, SVM_COPY_NO_KERNEL_COPY unset.
 */
bool svm_copy_kernel_copy_applies(const struct svm_copy *c,
				  const struct svm_pair *p);
/* Whether copy_file_range between p's files is a server-side copy (NFS). */
bool svm_copy_cfr_is_offload(const struct svm_pair *p);
/* a and b on NFSv4.2 mounts of one server address (a COPY between them) */
bool svm_copy_nfs_one_server(const char *a, const char *b);
/* Whether zero blocks within p's data are to be detected (by format). */
bool svm_copy_scan_zeros(const struct svm_copy *c, const struct svm_pair *p);
/* Length of the run at buf[0..len) that is all zeros (*zero) or not. */
size_t svm_copy_run_len(const struct svm_copy *c, const unsigned char *buf,
			size_t len, bool *zero);
/* pwrite all of buf, retrying short writes; 0 or -errno (-ENOSPC: none written). */
int svm_copy_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
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
