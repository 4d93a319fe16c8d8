/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-copy.h - libsvmotion: the data mover (issue 3; work in progress).
 *
 * Copies source extents to destination extents (files or block devices;
 * several extent pairs per copy), cold (no target) or hot (coordinated with
 * a dm-svmotion device through lock/commit, see svm-dm.h), in one of three
 * modes:
 *
 *   SVM_MODE_XCOPY     the array copies: SCSI EXTENDED COPY (LID1) over SG_IO
 *   SVM_MODE_FAST      O_DIRECT through io_uring (libaio fallback), or
 *                      copy_file_range between files of one filesystem
 *   SVM_MODE_BUFFERED  through the page cache, for what FAST cannot take
 *   SVM_MODE_AUTO      the first that applies, falling back range by range
 *
 * and writes the destination in one of four formats (thin/thick conversion on
 * the fly). One ops table per backend sits behind one copy loop.
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

enum svm_copy_format {
	SVM_FORMAT_SAME = 0,	/* follow the source's allocation */
	SVM_FORMAT_THIN,	/* holes and zero blocks not written */
	SVM_FORMAT_THICK_LAZY,	/* space allocated in full, zeros not written */
	SVM_FORMAT_THICK_EAGER,	/* every block written (zeroed cheaply) */
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
};

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
	unsigned int queue_depth;	/* I/Os in flight; 0: default (16) */
	uint32_t io_size;		/* bytes per I/O; 0: default (1 MiB) */
	uint64_t rate_limit;		/* bytes per second; 0: unlimited */
	svm_copy_progress_fn progress;	/* called at most ~10 times a second */
	void *opaque;
	/*
	 * Hot copy: when dm_name is set, the pairs are copied region by region
	 * through the lock/commit protocol of the dm-svmotion segment starting
	 * at dm_seg_start; region_bytes comes from the target's status.
	 */
	const char *dm_name;
	uint64_t dm_seg_start;		/* sectors */
};

struct svm_copy_result {
	uint64_t bytes_copied;
	uint64_t bytes_skipped;
	double elapsed;
	enum svm_copy_mode mode_used;	/* the mode that copied most bytes */
	uint64_t bytes_by_mode[SVM_MODE_COUNT];
	bool libaio_fallback;		/* io_uring unavailable: libaio used */
	int error;			/* 0, or the negative errno of a failure */
	uint64_t error_offset;		/* byte offset in the source extent */
	char message[256];		/* the failure, in words */
};

struct svm_copy;

/* Validate the pairs and options and open everything; nothing is written. */
int svm_copy_new(struct svm_copy **out, const struct svm_copy_opts *opts,
		 const struct svm_extent_pair *pairs, size_t nr_pairs,
		 char *err, size_t errlen);
/* Run the copy to the end, a failure or a cancel (-ECANCELED). */
int svm_copy_run(struct svm_copy *c, struct svm_copy_result *res);
/* Ask a running copy to stop; async-signal-safe, callable from any thread. */
void svm_copy_cancel(struct svm_copy *c);
void svm_copy_free(struct svm_copy *c);

const char *svm_copy_mode_name(enum svm_copy_mode m);
const char *svm_copy_format_name(enum svm_copy_format f);

#endif /* SVM_COPY_H */
