/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-ep-file.h - libsvmotion internals: the endpoint of a regular file or
 * block device the kernel sees (svm-ep-file.c). The mover's fast paths
 * (xcopy over SG_IO, copy_file_range, O_DIRECT through io_uring, buffered)
 * take a pair of these and use their fds directly; svm_ep_file() tells
 * whether an endpoint is one.
 */
#ifndef SVM_EP_FILE_H
#define SVM_EP_FILE_H

#include <stdbool.h>
#include <sys/stat.h>

#include "svm-ep.h"

struct svm_ep_file {
	struct svm_ep ep;
	int fd;			/* buffered */
	int dfd;		/* O_DIRECT, or -1 when the open failed */
	bool blk;		/* a block device (else a regular file) */
	unsigned int align;	/* O_DIRECT offset/length alignment, 0: none */
	struct stat st;
	/*
	 * A loop device over a regular file whose allocation extent() asks
	 * (at offset + map_shift in map_fd; svm_ep_file_map_loop), else -1:
	 * a block device is then all data.
	 */
	int map_fd;
	uint64_t map_shift;
	/* the path ep.name points to, when the endpoint owns it */
	char *path;
	/*
	 * Reads and writes through io_uring, done by its workers (IOSQE_ASYNC)
	 * while the caller's loop services the other end; NULL until the first
	 * request, or when io_uring is not available (then synchronous).
	 */
	struct file_ring *ring;
	bool ring_failed;
};

/* The file endpoint ep is, or NULL (a remote endpoint). */
static inline struct svm_ep_file *svm_ep_file(struct svm_ep *ep)
{
	return ep && (ep->caps & SVM_EP_CAP_LOCAL) ?
	       (struct svm_ep_file *)ep : NULL;
}

/*
 * A file endpoint over fds already open (taken over: closed with the
 * endpoint), for what the hot copy finds behind loop devices. st is fd's.
 */
struct svm_ep *svm_ep_file_adopt(char *path, int fd, int dfd,
				 unsigned int align, const struct stat *st,
				 uint64_t size, bool writable);
/*
 * Another endpoint on f's file or device (its fds duplicated, its own
 * io_uring ring), for another thread: an endpoint is one thread's. NULL
 * when out of memory or fds (errno says which).
 */
struct svm_ep *svm_ep_file_dup(const struct svm_ep_file *f);
/*
 * A block device endpoint that is a loop device over a file: ask that file
 * for the holes from now on (after writing back what the device node's
 * page cache holds). Nothing happens when it is not one, or not the file
 * the loop device holds.
 */
void svm_ep_file_map_loop(struct svm_ep_file *f);

/*
 * Open one end of a copy (dst: for writing, created if missing and create):
 * buffered fd, O_DIRECT fd (-1 where refused) and its alignment, block
 * device or file, stat and size. 0 or -errno with a message in err.
 */
int svm_file_open_end(const char *path, bool dst, bool create, int *fd,
		      int *dfd, bool *blk, unsigned int *align, struct stat *st,
		      uint64_t *size, char *err, size_t errlen);

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

#endif /* SVM_EP_FILE_H */
