// SPDX-License-Identifier: GPL-2.0
/*
 * svm-ep-file.c - libsvmotion: the endpoint of a regular file or a block
 * device the kernel sees. Reads and writes on the buffered fd go through
 * an io_uring of the endpoint's own, done by io_uring's workers
 * (IOSQE_ASYNC) while the caller's loop services the other end, and are
 * completed through the queue of svm-ep.c (the ring's eventfd is
 * poll_fd); without io_uring they are done synchronously. The mover's
 * fast paths use the fds directly (svm-ep-file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <valgrind/memcheck.h>

#include "svm-ep-file.h"

static unsigned int file_dio_align(int fd)
{
#ifdef STATX_DIOALIGN
	struct statx stx;

	if (!statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) &&
	    (stx.stx_mask & STATX_DIOALIGN))
		return stx.stx_dio_offset_align;
#else
	(void)fd;
#endif
	return 512;
}

int svm_file_open_end(const char *path, bool dst, bool create, int *fd,
		      int *dfd, bool *blk, unsigned int *align, struct stat *st,
		      uint64_t *size, char *err, size_t errlen)
{
	int flags = dst ? O_RDWR | (create ? O_CREAT : 0) : O_RDONLY;
	int ret;

	*dfd = -1;
	/* a destination is read too (probes, descriptors) where allowed */
	*fd = open(path, flags | O_CLOEXEC, 0644);
	if (*fd < 0 && dst && errno == EACCES)
		*fd = open(path, (flags & ~O_RDWR) | O_WRONLY | O_CLOEXEC, 0644);
	if (*fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "opening %s %s: %s",
			 dst ? "destination" : "source", path, strerror(errno));
		return ret;
	}
	if (fstat(*fd, st)) {
		ret = -errno;
		snprintf(err, errlen, "stat %s: %s", path, strerror(errno));
		return ret;
	}
	*blk = S_ISBLK(st->st_mode);
	if (!*blk && !S_ISREG(st->st_mode)) {
		snprintf(err, errlen,
			 "%s is neither a regular file nor a block device", path);
		return -EINVAL;
	}
	if (*blk) {
		int lbs = 512;

		if (ioctl(*fd, BLKGETSIZE64, size)) {
			ret = -errno;
			snprintf(err, errlen, "size of %s: %s", path,
				 strerror(errno));
			return ret;
		}
		if (ioctl(*fd, BLKSSZGET, &lbs) || lbs <= 0)
			lbs = 512;
		*align = lbs;
	} else {
		*size = st->st_size;
		*align = file_dio_align(*fd);
	}
	*dfd = open(path, (dst ? O_WRONLY : O_RDONLY) | O_DIRECT | O_CLOEXEC);
	if (*dfd < 0 || !*align) {
		if (*dfd >= 0)
			close(*dfd);
		*dfd = -1;
		*align = 0;
	}
	return 0;
}

void svm_loop_end_close(struct svm_loop_end *le)
{
	if (le->fd >= 0)
		close(le->fd);
	if (le->dfd >= 0)
		close(le->dfd);
	free(le->path);
	le->fd = le->dfd = -1;
	le->path = NULL;
}

int svm_loop_end_open(int devfd, const struct stat *dev, bool dst,
		      struct svm_loop_end *le)
{
	struct loop_info64 info;
	char sys[64], path[PATH_MAX + 1], err[256];
	ssize_t n;
	int fd, ret;

	le->fd = le->dfd = -1;
	le->path = NULL;
	/* cleared: valgrind does not know what LOOP_GET_STATUS64 fills */
	memset(&info, 0, sizeof(info));
	if (ioctl(devfd, LOOP_GET_STATUS64, &info))
		return -errno;
	if (dst && (info.lo_flags & LO_FLAGS_READ_ONLY))
		return -EROFS;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/loop/backing_file",
		 major(dev->st_rdev), minor(dev->st_rdev));
	fd = open(sys, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, path, sizeof(path) - 1);
	close(fd);
	if (n > 0 && path[n - 1] == '\n')
		n--;
	if (n <= 0 || path[0] != '/')
		return -ENOENT;
	path[n] = '\0';
	le->path = strdup(path);
	if (!le->path)
		return -ENOMEM;
	ret = svm_file_open_end(le->path, dst, false, &le->fd, &le->dfd,
				&le->blk, &le->align, &le->st, &le->size, err,
				sizeof(err));
	if (!ret && (le->blk ||
		     major(le->st.st_dev) != major(info.lo_device) ||
		     minor(le->st.st_dev) != minor(info.lo_device) ||
		     le->st.st_ino != info.lo_inode))
		ret = -ESTALE;
	if (ret) {
		svm_loop_end_close(le);
		return ret;
	}
	le->offset = info.lo_offset;
	return 0;
}

/* ---- ops ---------------------------------------------------------------- */

static struct svm_ep_file *F(struct svm_ep *ep)
{
	return (struct svm_ep_file *)ep;
}

/* ---- asynchronous reads and writes (io_uring) ---------------------------- */

#define RING_ENTRIES	256

static int sync_read(struct svm_ep *ep, struct svm_ep_io *io, size_t got);
static int sync_write(struct svm_ep *ep, struct svm_ep_io *io, size_t put);

struct file_ring {
	struct io_uring ring;
	int efd;		/* eventfd of the ring's completions: poll_fd */
	unsigned int inflight;	/* SQEs submitted, CQE not yet reaped */
};

/* The ring, set up on first use; NULL: use the synchronous path. */
static struct file_ring *ring_get(struct svm_ep_file *f)
{
	struct file_ring *r;

	if (f->ring || f->ring_failed)
		return f->ring;
	f->ring_failed = true;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0) {
		free(r);
		return NULL;
	}
	if (io_uring_queue_init(RING_ENTRIES, &r->ring, 0)) {
		close(r->efd);
		free(r);
		return NULL;
	}
	if (io_uring_register_eventfd(&r->ring, r->efd)) {
		io_uring_queue_exit(&r->ring);
		close(r->efd);
		free(r);
		return NULL;
	}
	f->ring = r;
	f->ring_failed = false;
	return r;
}

/*
 * Queue the rest of io (io->err bytes done so far) on the ring: 0, or
 * -EAGAIN when there is no room (the caller then goes synchronous).
 */
static int ring_queue(struct svm_ep_file *f, struct svm_ep_io *io, bool write)
{
	struct file_ring *r = f->ring;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	size_t done = (size_t)io->err;

	if (!sqe || r->inflight >= RING_ENTRIES)
		return -EAGAIN;
	if (write)
		io_uring_prep_write(sqe, f->fd, (char *)io->buf + done,
				    io->len - done, io->off + done);
	else
		io_uring_prep_read(sqe, f->fd, (char *)io->buf + done,
				   io->len - done, io->off + done);
	/* done by io_uring's workers: the caller's loop goes on meanwhile */
	io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
	io_uring_sqe_set_data(sqe, io);
	/* the lowest bit says which way: buffers and ios are aligned */
	sqe->user_data |= write;
	if (io_uring_submit(&r->ring) < 1)
		return -EAGAIN;
	r->inflight++;
	return 0;
}

/* Reap every completion: complete the ios done, queue the rest of short ones. */
static void ring_reap(struct svm_ep_file *f)
{
	struct file_ring *r = f->ring;
	struct io_uring_cqe *cqe;
	uint64_t cnt;

	if (!r)
		return;
	if (read(r->efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return;
	while (!io_uring_peek_cqe(&r->ring, &cqe)) {
		bool write = cqe->user_data & 1;
		struct svm_ep_io *io = (void *)(uintptr_t)(cqe->user_data & ~1ULL);
		int res = cqe->res;

		io_uring_cqe_seen(&r->ring, cqe);
		r->inflight--;
		if (res < 0) {
			svm_ep_fail(&f->ep, res, "%s at %llu: %s",
				    write ? "writing" : "reading",
				    (unsigned long long)(io->off + io->err),
				    strerror(-res));
			svm_ep_complete(&f->ep, io, res);
			continue;
		}
		if (res == 0) {
			int e = write ? -ENOSPC : -EIO;

			svm_ep_fail(&f->ep, e, write ? "writing at %llu: no space" :
				    "ended at %llu",
				    (unsigned long long)(io->off + io->err));
			svm_ep_complete(&f->ep, io, e);
			continue;
		}
		/* the kernel wrote the buffer: tell valgrind (no-op otherwise) */
		if (!write)
			VALGRIND_MAKE_MEM_DEFINED((char *)io->buf + io->err, res);
		io->err += res;
		if ((uint32_t)io->err < io->len && !ring_queue(f, io, write))
			continue;
		if ((uint32_t)io->err < io->len) {
			/* no room for the rest: finish it here */
			io->err = write ? sync_write(&f->ep, io, io->err) :
					  sync_read(&f->ep, io, io->err);
		} else {
			io->err = 0;
		}
		svm_ep_complete(&f->ep, io, io->err);
	}
}

/* Wait for every request on the ring (close: nothing may write after). */
static void ring_drain(struct svm_ep_file *f)
{
	struct file_ring *r = f->ring;
	struct io_uring_cqe *cqe;

	while (r && r->inflight) {
		if (io_uring_wait_cqe(&r->ring, &cqe))
			break;
		io_uring_cqe_seen(&r->ring, cqe);
		r->inflight--;
	}
}

static void ring_free(struct svm_ep_file *f)
{
	if (!f->ring)
		return;
	ring_drain(f);
	io_uring_queue_exit(&f->ring->ring);
	close(f->ring->efd);
	free(f->ring);
	f->ring = NULL;
}

/* On the ring if it takes it, else done here; completed either way. */
static int file_rw(struct svm_ep *ep, struct svm_ep_io *io, bool write)
{
	struct svm_ep_file *f = F(ep);

	io->err = 0;
	if (ring_get(f) && !ring_queue(f, io, write))
		return 0;
	svm_ep_complete(ep, io, write ? sync_write(ep, io, 0) : sync_read(ep, io, 0));
	return 0;
}

static int file_read(struct svm_ep *ep, struct svm_ep_io *io)
{
	return file_rw(ep, io, false);
}

static int file_write(struct svm_ep *ep, struct svm_ep_io *io)
{
	return file_rw(ep, io, true);
}

/* ---- synchronous reads and writes ------------------------------------------ */

/* The rest of io from byte got on: 0 or -errno (the reason in ep->msg). */
static int sync_read(struct svm_ep *ep, struct svm_ep_io *io, size_t got)
{
	ssize_t n;
	int err = 0;

	while (got < io->len) {
		n = pread(F(ep)->fd, (char *)io->buf + got, io->len - got,
			  io->off + got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = svm_ep_fail(ep, -errno, "reading at %llu: %s",
					  (unsigned long long)(io->off + got),
					  strerror(errno));
			break;
		}
		if (n == 0) {
			err = svm_ep_fail(ep, -EIO, "ended at %llu",
					  (unsigned long long)(io->off + got));
			break;
		}
		got += n;
	}
	return err;
}

/* The rest of io from byte put on: 0 or -errno (the reason in ep->msg). */
static int sync_write(struct svm_ep *ep, struct svm_ep_io *io, size_t put)
{
	ssize_t n;
	int err = 0;

	while (put < io->len) {
		n = pwrite(F(ep)->fd, (const char *)io->buf + put,
			   io->len - put, io->off + put);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -ENOSPC;
			svm_ep_fail(ep, err, "writing at %llu: %s%s",
				    (unsigned long long)(io->off + put),
				    strerror(-err),
				    err == -ENOSPC ? " (out of space)" : "");
			break;
		}
		put += n;
	}
	return err;
}

static int blk_zeroout(int fd, uint64_t off, uint64_t len)
{
	uint64_t r[2] = { off, len };

	if (off % 512 || len % 512)
		return -EINVAL;
	return ioctl(fd, BLKZEROOUT, r) ? -errno : 0;
}

static int file_zero(struct svm_ep *ep, uint64_t off, uint64_t len,
		     enum svm_ep_zero_how how)
{
	struct svm_ep_file *f = F(ep);
	int keep = f->blk ? FALLOC_FL_KEEP_SIZE : 0;
	int ret = -EOPNOTSUPP;

	if (how == SVM_EP_ZERO_UNMAP)
		ret = fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				off, len) ? -errno : 0;
	if (ret)
		ret = fallocate(f->fd, FALLOC_FL_ZERO_RANGE | keep, off, len) ?
		      -errno : 0;
	if (ret && f->blk && ret != -ENOSPC && ret != -EIO)
		ret = blk_zeroout(f->fd, off, len);
	if (ret && ret != -EOPNOTSUPP)
		return svm_ep_fail(ep, ret, "zeroing at %llu (%llu bytes): %s",
				   (unsigned long long)off,
				   (unsigned long long)len, strerror(-ret));
	return ret;
}

static off_t map_seek(struct svm_ep_file *f, uint64_t pos, int whence)
{
	off_t o;

	if (!f->blk)
		return lseek(f->fd, pos, whence);
	o = lseek(f->map_fd, pos + f->map_shift, whence);
	return o < 0 ? o : o - (off_t)f->map_shift;
}

static int file_extent(struct svm_ep *ep, uint64_t off, uint64_t len,
		       bool *data, uint64_t *run)
{
	struct svm_ep_file *f = F(ep);
	off_t d, h;

	*data = true;
	*run = len;
	if (!(ep->caps & SVM_EP_CAP_HOLES))
		return 0;
	d = map_seek(f, off, SEEK_DATA);
	if (d < 0 && errno == ENXIO)
		d = off + len;		/* a hole to the end */
	else if (d < 0)
		return 0;		/* no SEEK_DATA: all data */
	if ((uint64_t)d > off) {
		*data = false;
		*run = (uint64_t)d - off < len ? (uint64_t)d - off : len;
		return 0;
	}
	h = map_seek(f, off, SEEK_HOLE);
	if (h > (off_t)off && (uint64_t)h - off < len)
		*run = (uint64_t)h - off;
	return 0;
}

static int file_flush(struct svm_ep *ep)
{
	if (fsync(F(ep)->fd))
		return svm_ep_fail(ep, -errno, "flushing: %s%s", strerror(errno),
				   errno == ENOSPC ? " (out of space)" : "");
	return 0;
}

static int file_set_size(struct svm_ep *ep, uint64_t size)
{
	struct svm_ep_file *f = F(ep);
	struct stat st;

	if (fstat(f->fd, &st))
		return svm_ep_fail(ep, -errno, "stat: %s", strerror(errno));
	if ((uint64_t)st.st_size >= size)
		return 0;
	if (ftruncate(f->fd, size))
		return svm_ep_fail(ep, -errno, "extending to %llu: %s",
				   (unsigned long long)size, strerror(errno));
	if (ep->fresh_from > (uint64_t)st.st_size)
		ep->fresh_from = st.st_size;
	ep->size = size;
	return 0;
}

static int file_space(struct svm_ep *ep, uint64_t *total, uint64_t *avail)
{
	struct svm_ep_file *f = F(ep);
	struct statvfs sv;

	if (f->blk) {
		*total = *avail = ep->size;
		return 0;
	}
	if (fstatvfs(f->fd, &sv))
		return svm_ep_fail(ep, -errno, "statvfs: %s", strerror(errno));
	*total = (uint64_t)sv.f_blocks * sv.f_frsize;
	*avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	return 0;
}

static int file_remove(struct svm_ep *ep)
{
	if (unlink(F(ep)->path))
		return svm_ep_fail(ep, -errno, "removing: %s", strerror(errno));
	return 0;
}

static int file_poll_fd(struct svm_ep *ep, short *events)
{
	struct svm_ep_file *f = F(ep);

	*events = 0;
	if (!f->ring || !f->ring->inflight)
		return -1;
	*events = POLLIN;
	return f->ring->efd;
}

static int file_service(struct svm_ep *ep, short revents)
{
	(void)revents;
	ring_reap(F(ep));
	return 0;
}

static void file_close(struct svm_ep *ep)
{
	struct svm_ep_file *f = F(ep);

	ring_free(f);
	if (f->fd >= 0)
		close(f->fd);
	if (f->dfd >= 0)
		close(f->dfd);
	if (f->map_fd >= 0)
		close(f->map_fd);
	free(f->path);
	free(f);
}

static const struct svm_ep_ops file_ops = {
	.kind = "file",
	.read = file_read,
	.write = file_write,
	.zero = file_zero,
	.extent = file_extent,
	.flush = file_flush,
	.set_size = file_set_size,
	.space = file_space,
	.poll_fd = file_poll_fd,
	.service = file_service,
	.close = file_close,
	.remove = file_remove,
};

static const struct svm_ep_ops block_ops = {
	.kind = "block",
	.read = file_read,
	.write = file_write,
	.zero = file_zero,
	.extent = file_extent,
	.flush = file_flush,
	.space = file_space,
	.poll_fd = file_poll_fd,
	.service = file_service,
	.close = file_close,
};

static void file_init(struct svm_ep_file *f, bool writable, uint64_t size)
{
	struct svm_ep *ep = &f->ep;

	ep->ops = f->blk ? &block_ops : &file_ops;
	ep->size = size;
	ep->block_size = f->blk ? (f->align ? f->align : 512) : 1;
	ep->writable = writable;
	ep->caps = SVM_EP_CAP_LOCAL | SVM_EP_CAP_ZERO;
	if (!f->blk)
		ep->caps |= SVM_EP_CAP_HOLES | SVM_EP_CAP_GROWS |
			    SVM_EP_CAP_UNMAP;
	ep->fresh_from = f->blk ? UINT64_MAX : size;
	f->map_fd = -1;
}

struct svm_ep *svm_ep_file_adopt(char *path, int fd, int dfd,
				 unsigned int align, const struct stat *st,
				 uint64_t size, bool writable)
{
	struct svm_ep_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->fd = fd;
	f->dfd = dfd;
	f->align = align;
	f->st = *st;
	f->blk = S_ISBLK(st->st_mode);
	f->path = path;
	f->ep.name = path;
	file_init(f, writable, size);
	/* found behind a live device: anything may have been written */
	f->ep.fresh_from = UINT64_MAX;
	return &f->ep;
}

struct svm_ep *svm_ep_file_dup(const struct svm_ep_file *f)
{
	struct svm_ep_file *d = malloc(sizeof(*d));

	if (!d)
		return NULL;
	/* the same endpoint; what is its own is set below, before any failure */
	*d = *f;
	d->fd = d->dfd = d->map_fd = -1;
	d->ring = NULL;			/* one endpoint, one thread */
	d->ep.in_flight = 0;
	d->ep.msg[0] = '\0';
	d->ep.done_head = d->ep.done_tail = NULL;
	d->path = strdup(f->ep.name);
	d->ep.name = d->path;
	if (!d->path)
		goto fail;
	d->fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
	if (d->fd < 0)
		goto fail;
	if (f->dfd >= 0) {
		d->dfd = fcntl(f->dfd, F_DUPFD_CLOEXEC, 0);
		if (d->dfd < 0)
			goto fail;
	}
	if (f->map_fd >= 0) {
		d->map_fd = fcntl(f->map_fd, F_DUPFD_CLOEXEC, 0);
		if (d->map_fd < 0)
			goto fail;
	}
	return &d->ep;
fail:
	file_close(&d->ep);
	return NULL;
}

int svm_ep_file_open(const char *path, unsigned int flags,
		     const struct svm_ep_params *params, struct svm_ep **out,
		     char *err, size_t errlen)
{
	struct svm_ep_file *f = calloc(1, sizeof(*f));
	bool dst = flags & SVM_EP_WRITE;
	uint64_t size = 0;
	int ret;

	(void)params;
	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	f->fd = f->dfd = f->map_fd = -1;
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	f->ep.name = f->path;
	if (flags & SVM_EP_EXCL) {
		/* created here, atomically, or refused */
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

		if (fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: %s", path,
				 errno == EEXIST ? "exists already" : strerror(errno));
			file_close(&f->ep);
			return ret;
		}
		close(fd);
	}
	ret = svm_file_open_end(path, dst, flags & SVM_EP_CREATE, &f->fd,
				&f->dfd, &f->blk, &f->align, &f->st, &size,
				err, errlen);
	if (ret) {
		file_close(&f->ep);
		return ret;
	}
	file_init(f, dst, size);
	*out = &f->ep;
	return 0;
}

void svm_ep_file_map_loop(struct svm_ep_file *f)
{
	struct svm_loop_end le = { .fd = -1, .dfd = -1 };

	if (!f->blk || f->map_fd >= 0 ||
	    sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
			    SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) ||
	    svm_loop_end_open(f->fd, &f->st, false, &le))
		return;
	f->map_fd = le.fd;
	f->map_shift = le.offset;
	f->ep.caps |= SVM_EP_CAP_HOLES;
	le.fd = -1;
	svm_loop_end_close(&le);
}
