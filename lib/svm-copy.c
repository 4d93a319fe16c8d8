// SPDX-License-Identifier: GPL-2.0
/*
 * svm-copy.c - libsvmotion: the data mover's engine: the pairs' endpoints
 * opened and checked, accounting, the rate limit, holes and zeros per
 * format, and the copy loop that walks a span of a pair and hands its data
 * ranges to the chain of backends. It knows nothing of hot or cold copies
 * (svm-copy-hot.c, svm-copy-cold.c on top, svm-copy-api.c). See svm-copy.h
 * and svm-copy-int.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "svm-copy-int.h"

#define DEFAULT_QD	32
#define DEFAULT_IO_SIZE	(4U << 20)
#define MAX_IO_SIZE	(64U << 20)
#define MAX_QD		256
#define MAX_IN_FLIGHT	(1ULL << 30)	/* qd x io_size, bytes of buffers */
#define ZERO_BLOCK	4096	/* granularity of zero detection */
/*
 * Cold: the unit of data handed to a backend at once (and of fallback
 * between backends), by default RANGE_QUEUES queues' worth (queue depth x
 * I/O size), at least RANGE_BYTES: the O_DIRECT queue drains at the end of
 * each range, so a range of a single queue (16 of 32 slots used at 64 MiB
 * with 4 MiB I/O) left the device half idle at every boundary.
 */
#define RANGE_BYTES	(64ULL << 20)
#define RANGE_QUEUES	4
#define MAX_REGION_BYTES (1ULL << 30)
#define MAX_REGIONS_IN_FLIGHT 64

const char *svm_copy_mode_name(enum svm_copy_mode m)
{
	switch (m) {
	case SVM_MODE_AUTO: return "auto";
	case SVM_MODE_XCOPY: return "xcopy";
	case SVM_MODE_FAST: return "fast";
	case SVM_MODE_BUFFERED: return "buffered";
	default: return "?";
	}
}

const char *svm_copy_backend_name(enum svm_copy_backend b)
{
	switch (b) {
	case SVM_BACKEND_XCOPY: return "xcopy";
	case SVM_BACKEND_CFR: return "copy_file_range";
	case SVM_BACKEND_FAST: return "fast";
	case SVM_BACKEND_BUFFERED: return "buffered";
	case SVM_BACKEND_STREAM: return "stream";
	default: return "?";
	}
}

const char *svm_copy_format_name(enum svm_copy_format f)
{
	switch (f) {
	case SVM_FORMAT_SAME: return "same";
	case SVM_FORMAT_THIN: return "thin";
	case SVM_FORMAT_THICK_LAZY: return "thick-lazy";
	case SVM_FORMAT_THICK_EAGER: return "thick-eager";
	default: return "?";
	}
}

double svm_copy_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((format(printf, 3, 4)))
static int seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return 0;
	n = snprintf(err, errlen, "svm-copy: ");
	if (n < 0 || (size_t)n >= errlen)
		return 0;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return 0;
}

int svm_copy_fail(struct svm_copy *c, int err, uint64_t off, const char *fmt, ...)
{
	struct svm_copy_result *res = c->res;
	va_list ap;
	int n;

	if (!res || res->error)
		return err;
	res->error = err;
	res->error_offset = off;
	n = snprintf(res->message, sizeof(res->message), "svm-copy: ");
	va_start(ap, fmt);
	vsnprintf(res->message + n, sizeof(res->message) - n, fmt, ap);
	va_end(ap);
	return err;
}

bool svm_copy_is_cancelled(struct svm_copy *c)
{
	if (atomic_load(&c->cancelled))
		return true;
	/* a hot copy worker also stops when its coordinator does */
	return c->parent && (atomic_load(&c->parent->cancelled) ||
			     atomic_load(&c->parent->stop));
}

void svm_copy_cancel(struct svm_copy *c)
{
	uint64_t one = 1;
	ssize_t r;

	atomic_store(&c->cancelled, 1);
	if (c->cancel_fd >= 0) {
		r = write(c->cancel_fd, &one, sizeof(one));
		(void)r;
	}
}

void svm_copy_report_progress(struct svm_copy *c, bool force)
{
	struct svm_copy_progress p;
	double now;

	if (!c->opts.progress)
		return;
	now = svm_copy_now();
	if (!force && now - c->last_progress < 0.1)
		return;
	c->last_progress = now;
	p.bytes_total = c->total;
	if (c->hot)	/* workers account under mu */
		pthread_mutex_lock(&c->mu);
	p.bytes_copied = c->res->bytes_copied;
	p.bytes_skipped = c->res->bytes_skipped;
	if (c->hot)
		pthread_mutex_unlock(&c->mu);
	p.bytes_done = p.bytes_copied + p.bytes_skipped;
	p.elapsed = now - c->t0;
	c->opts.progress(&p, c->opts.opaque);
}

void svm_copy_account(struct svm_copy *c, struct svm_range *r,
		      enum svm_copy_mode mode, uint64_t copied, uint64_t skipped)
{
	struct svm_copy *pc = c->parent;

	r->copied += copied;
	r->skipped += skipped;
	c->res->bytes_copied += copied;
	c->res->bytes_skipped += skipped;
	c->res->bytes_by_mode[mode] += copied;
	c->skip_mode = mode + 1;
	if (pc) {
		pthread_mutex_lock(&pc->mu);
		pc->res->bytes_copied += copied;
		pc->res->bytes_skipped += skipped;
		pc->res->bytes_by_mode[mode] += copied;
		pc->skip_mode = mode + 1;
		pthread_mutex_unlock(&pc->mu);
	}
	svm_copy_report_progress(c, false);
}

void svm_copy_unaccount(struct svm_copy *c, uint64_t copied, uint64_t skipped,
			const uint64_t *by_mode)
{
	struct svm_copy *pc = c->parent;
	int m;

	c->res->bytes_copied -= copied;
	c->res->bytes_skipped -= skipped;
	for (m = 0; m < SVM_MODE_COUNT; m++)
		c->res->bytes_by_mode[m] -= by_mode[m];
	if (pc) {
		pthread_mutex_lock(&pc->mu);
		pc->res->bytes_copied -= copied;
		pc->res->bytes_skipped -= skipped;
		for (m = 0; m < SVM_MODE_COUNT; m++)
			pc->res->bytes_by_mode[m] -= by_mode[m];
		pthread_mutex_unlock(&pc->mu);
	}
}

void svm_copy_unaccount_backends(struct svm_copy *c, const uint64_t *by_backend,
				 uint64_t offloaded)
{
	struct svm_copy *pc = c->parent;
	int b;

	for (b = 0; b < SVM_BACKEND_COUNT; b++)
		c->res->bytes_by_backend[b] -= by_backend[b];
	c->res->bytes_offloaded -= offloaded;
	if (pc) {
		pthread_mutex_lock(&pc->mu);
		for (b = 0; b < SVM_BACKEND_COUNT; b++)
			pc->res->bytes_by_backend[b] -= by_backend[b];
		pc->res->bytes_offloaded -= offloaded;
		pthread_mutex_unlock(&pc->mu);
	}
}

static void unaccount(struct svm_copy *c, struct svm_range *r,
		      enum svm_copy_mode mode)
{
	uint64_t by_mode[SVM_MODE_COUNT] = { 0 };

	by_mode[mode] = r->copied;
	svm_copy_unaccount(c, r->copied, r->skipped, by_mode);
	r->copied = r->skipped = 0;
}

int svm_copy_throttle(struct svm_copy *c, uint64_t n)
{
	double due, now;
	struct pollfd pfd;

	if (svm_copy_is_cancelled(c))
		return -ECANCELED;
	if (c->mu_inited)
		pthread_mutex_lock(&c->mu);
	/* after these n bytes, no more than rate_limit per second so far */
	c->rate_bytes += n;
	due = c->opts.rate_limit ? c->t0 + (double)c->rate_bytes / c->opts.rate_limit
				 : 0;
	if (c->mu_inited)
		pthread_mutex_unlock(&c->mu);
	for (;;) {
		now = svm_copy_now();
		if (now >= due)
			return 0;
		pfd.fd = c->cancel_fd;
		pfd.events = POLLIN;
		poll(&pfd, 1, (int)((due - now) * 1000) + 1);
		if (svm_copy_is_cancelled(c))
			return -ECANCELED;
	}
}

double svm_copy_rate_wait(struct svm_copy *c, uint64_t n)
{
	double due;

	if (!c->opts.rate_limit)
		return 0;
	if (c->mu_inited)
		pthread_mutex_lock(&c->mu);
	due = c->t0 + (double)(c->rate_bytes + n) / c->opts.rate_limit;
	if (c->mu_inited)
		pthread_mutex_unlock(&c->mu);
	due -= svm_copy_now();
	return due > 0 ? due : 0;
}

/*
 * Whether p's source allocation can be asked: a file, or a loop device
 * over one (map_src_loop); other block devices are all data.
 */
static bool src_mapped(const struct svm_pair *p)
{
	return p->src->caps & SVM_EP_CAP_HOLES;
}

/*
 * lseek's SEEK_DATA/SEEK_HOLE over an endpoint's extent() (a remote
 * endpoint that knows holes): the offset, or -1 with errno ENXIO (no data
 * at or after pos) or EIO (the endpoint failed: taken as all data).
 */
static off_t ep_seek(struct svm_ep *ep, uint64_t pos, int whence)
{
	while (pos < ep->size) {
		bool data;
		uint64_t run;

		if (ep->ops->extent(ep, pos, ep->size - pos, &data, &run) || !run) {
			errno = EIO;
			return -1;
		}
		if (data == (whence == SEEK_DATA))
			return pos;
		pos += run;
	}
	if (whence == SEEK_HOLE)
		return ep->size;
	errno = ENXIO;
	return -1;
}

/* lseek SEEK_DATA/SEEK_HOLE in p's source allocation, in source offsets. */
static off_t src_seek(const struct svm_pair *p, uint64_t pos, int whence)
{
	const struct svm_ep_file *f = p->sf;
	off_t o;

	if (!f)
		return ep_seek(p->src, pos, whence);
	if (!f->blk)
		return lseek(f->fd, pos, whence);
	o = lseek(f->map_fd, pos + f->map_shift, whence);
	return o < 0 ? o : o - (off_t)f->map_shift;
}

bool svm_copy_scan_zeros(const struct svm_copy *c, const struct svm_pair *p)
{
	/*
	 * same from a block device whose allocation cannot be asked (not a
	 * loop device over a file): what reads as zeros is taken as
	 * unallocated (as qemu-img convert does).
	 */
	return c->opts.format == SVM_FORMAT_THIN ||
	       c->opts.format == SVM_FORMAT_THICK_LAZY ||
	       (c->opts.format == SVM_FORMAT_SAME && !src_mapped(p));
}

/*
 * Whether b[0, n) is all zeros: a data block usually fails on its first
 * word; a zero block costs one memcmp of the block against itself shifted
 * by 16 bytes (all equal to the zero head means all zero).
 */
static bool block_is_zero(const unsigned char *b, size_t n)
{
	static const unsigned char z[16];

	if (n <= sizeof(z))
		return !memcmp(b, z, n);
	return !memcmp(b, z, sizeof(z)) &&
	       !memcmp(b, b + sizeof(z), n - sizeof(z));
}

size_t svm_copy_run_len(const struct svm_copy *c, const unsigned char *buf,
			size_t len, bool *zero)
{
	size_t pos = 0, n;
	bool first;

	(void)c;
	n = len < ZERO_BLOCK ? len : ZERO_BLOCK;
	first = block_is_zero(buf, n);
	pos = n;
	while (pos < len) {
		n = len - pos < ZERO_BLOCK ? len - pos : ZERO_BLOCK;
		if (block_is_zero(buf + pos, n) != first)
			break;
		pos += n;
	}
	*zero = first;
	return pos;
}

int svm_copy_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = pwrite(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENOSPC;
		p += n;
		len -= n;
		off += n;
	}
	return 0;
}

static int write_zeros(struct svm_copy *c, int fd, uint64_t off, uint64_t len)
{
	int ret;
	size_t n;

	while (len) {
		n = len < c->io_size ? len : c->io_size;
		ret = svm_copy_pwrite_all(fd, c->zeros, n, off);
		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * A remote destination: the endpoint's own zeroing (UNMAP, WRITE SAME) if
 * it has one that fits the format, else zeros written through it.
 */
static int zero_remote(struct svm_copy *c, struct svm_ep *ep, uint64_t off,
		       uint64_t len, bool thick)
{
	int ret = -EOPNOTSUPP;

	if (!thick && (ep->caps & SVM_EP_CAP_UNMAP))
		ret = ep->ops->zero(ep, off, len, SVM_EP_ZERO_UNMAP);
	if (ret == -EOPNOTSUPP && (ep->caps & SVM_EP_CAP_ZERO))
		ret = ep->ops->zero(ep, off, len, SVM_EP_ZERO_ALLOC);
	if (ret != -EOPNOTSUPP)
		return ret;
	ret = 0;
	while (len && !ret) {
		size_t n = len < c->io_size ? len : c->io_size;

		ret = svm_ep_pwrite(ep, c->zeros, n, off);
		off += n;
		len -= n;
	}
	return ret;
}

static int blk_zeroout(int fd, uint64_t off, uint64_t len)
{
	uint64_t r[2] = { off, len };

	if (off % 512 || len % 512)
		return -EINVAL;
	return ioctl(fd, BLKZEROOUT, r) ? -errno : 0;
}

int svm_copy_zero(struct svm_copy *c, struct svm_range *r, uint64_t src_off,
		  uint64_t len)
{
	struct svm_pair *p = r->p;
	uint64_t d = svm_range_dst(r, src_off);
	bool eager = c->opts.format == SVM_FORMAT_THICK_EAGER;
	bool lazy = c->opts.format == SVM_FORMAT_THICK_LAZY;
	int ret = -EOPNOTSUPP;

	if (d >= p->dst->fresh_from && !eager) {
		/*
		 * never written: a sparse file (or fallocated range), or a
		 * device extent unmapped up front, reads 0
		 */
		svm_copy_account(c, r, r->mode, 0, len);
		return 0;
	}
	if (!p->df) {
		ret = zero_remote(c, p->dst, d, len, eager || lazy);
		if (ret) {
			r->fail_off = src_off;
			return svm_copy_fail(c, ret, src_off,
					     "zeroing %s at %llu (%llu bytes): %s",
					     p->ext.dst.path, (unsigned long long)d,
					     (unsigned long long)len, p->dst->msg);
		}
	} else if (p->df->blk) {
		/*
		 * thin/same: unmap, but only where the device guarantees zeros
		 * (the kernel refuses PUNCH_HOLE otherwise); then zero-out
		 * (write-zeroes or zeros written by the kernel).
		 */
		ret = -EOPNOTSUPP;
		if (!eager && !lazy)
			ret = fallocate(p->df->fd, FALLOC_FL_PUNCH_HOLE |
					FALLOC_FL_KEEP_SIZE, d, len) ? -errno : 0;
		if (ret)
			ret = fallocate(p->df->fd, FALLOC_FL_ZERO_RANGE |
					FALLOC_FL_KEEP_SIZE, d, len) ? -errno : 0;
		if (ret && ret != -ENOSPC && ret != -EIO)
			ret = blk_zeroout(p->df->fd, d, len);
	} else if (eager || lazy) {
		ret = fallocate(p->df->fd, FALLOC_FL_ZERO_RANGE, d, len) ? -errno : 0;
	} else {
		ret = fallocate(p->df->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				d, len) ? -errno : 0;
		if (ret == -EOPNOTSUPP)
			ret = fallocate(p->df->fd, FALLOC_FL_ZERO_RANGE, d, len) ?
			      -errno : 0;
	}
	if (p->df && ret && ret != -ENOSPC && ret != -EIO)
		ret = write_zeros(c, p->df->fd, d, len);
	if (ret) {
		r->fail_off = src_off;
		return svm_copy_fail(c, ret, src_off,
				     "zeroing %s at %llu (%llu bytes): %s",
				     p->ext.dst.path, (unsigned long long)d,
				     (unsigned long long)len, strerror(-ret));
	}
	if (eager)
		svm_copy_account(c, r, r->mode, len, 0);
	else
		svm_copy_account(c, r, r->mode, 0, len);
	return 0;
}

/*
 * SEEK_DATA from pos found nothing (ENXIO): a hole to the end of the file,
 * or the file now ends before the extent does (it shrank under the copy).
 * 0, or -EIO with the failure recorded at the file's end.
 */
static int src_ended(struct svm_copy *c, struct svm_pair *p, uint64_t pos,
		     uint64_t end, uint64_t *fail_off)
{
	struct stat st;

	/* a loop device: its size was checked; past its file it reads zeros */
	if (!p->sf || p->sf->blk || fstat(p->sf->fd, &st) ||
	    (uint64_t)st.st_size >= end)
		return 0;
	*fail_off = (uint64_t)st.st_size > pos ? (uint64_t)st.st_size : pos;
	return svm_copy_fail(c, -EIO, *fail_off,
			     "source %s ended at %llu, before the end of the extent",
			     p->ext.src.path, (unsigned long long)*fail_off);
}

/*
 * Whether pos is in the data last seen in p's source (p->data_from/until);
 * *data_end is then where that data ends, at most end.
 */
static bool known_data(const struct svm_pair *p, uint64_t pos, uint64_t end,
		       uint64_t *data_end)
{
	if (pos < p->data_from || pos >= p->data_until)
		return false;
	*data_end = p->data_until < end ? p->data_until : end;
	return true;
}

int svm_range_data(struct svm_copy *c, struct svm_range *r, uint64_t *pos,
		   uint64_t *data_end)
{
	uint64_t end = r->src_off + r->len;
	off_t data, hole;
	int ret;

	if (!r->sparse || *pos >= end) {
		*data_end = end;
		return 0;
	}
	if (known_data(r->p, *pos, end, data_end))
		return 0;
	data = src_seek(r->p, *pos, SEEK_DATA);
	if (data < 0 && errno == ENXIO) {
		ret = src_ended(c, r->p, *pos, end, &r->fail_off);
		if (ret)
			return ret;
		data = end;
	} else if (data < 0) {
		data = *pos;	/* no SEEK_DATA: all data */
	}
	if ((uint64_t)data > end)
		data = end;
	if ((uint64_t)data > *pos) {
		if (svm_copy_is_cancelled(c)) {
			r->fail_off = *pos;
			return svm_copy_fail(c, -ECANCELED, *pos, "cancelled");
		}
		ret = svm_copy_zero(c, r, *pos, data - *pos);
		if (ret)
			return ret;
		*pos = data;
	}
	if (*pos >= end) {
		*data_end = end;
		return 0;
	}
	hole = src_seek(r->p, *pos, SEEK_HOLE);
	if (hole < 0 || (uint64_t)hole <= *pos) {
		hole = end;
	} else {
		r->p->data_from = *pos;
		r->p->data_until = hole;
		if ((uint64_t)hole > end)
			hole = end;
	}
	*data_end = hole;
	return 0;
}

/* ---- backends' state ------------------------------------------------------ */

void *svm_pair_state(struct svm_pair *p, const struct svm_copy_ops *ops,
		     size_t size)
{
	if (!p->bk[ops->id])
		p->bk[ops->id] = calloc(1, size);
	return p->bk[ops->id];
}

/*
 * The chain of c->opts.mode. The stream backend comes last in every chain:
 * it takes what the kernel's fast paths cannot (a remote end), and only
 * that.
 */
void svm_copy_build_chain(struct svm_copy *c)
{
	unsigned int n = 0;

	switch (c->opts.mode) {
	case SVM_MODE_AUTO:
		c->chain[n++] = &svm_copy_ops_xcopy;
		c->chain[n++] = &svm_copy_ops_cfr;
		c->chain[n++] = &svm_copy_ops_fast;
		c->chain[n++] = &svm_copy_ops_buffered;
		break;
	case SVM_MODE_XCOPY:
		/* xcopy refused -> fast */
		c->chain[n++] = &svm_copy_ops_xcopy;
		c->chain[n++] = &svm_copy_ops_cfr;
		c->chain[n++] = &svm_copy_ops_fast;
		break;
	case SVM_MODE_FAST:
		c->chain[n++] = &svm_copy_ops_cfr;
		c->chain[n++] = &svm_copy_ops_fast;
		break;
	default:
		c->chain[n++] = &svm_copy_ops_buffered;
		break;
	}
	c->chain[n++] = &svm_copy_ops_stream;
	c->chain_len = n;
}

bool svm_copy_chain_takes(struct svm_copy *c, const struct svm_copy_ops *ops,
			  struct svm_pair *p)
{
	char why[160];
	unsigned int k;

	for (k = 0; k < c->chain_len; k++)
		if (c->chain[k] == ops)
			return !ops->applies(c, p, p->ext.src.offset,
					     p->ext.src.length, why, sizeof(why));
	return false;
}

/* ---- setup --------------------------------------------------------------- */

static bool same_object(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode))
		return a->st_rdev == b->st_rdev;
	if (S_ISREG(a->st_mode) && S_ISREG(b->st_mode))
		return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
	return false;
}

/* Two ends are one object: the same file or device, or the same URL. */
static bool same_end(const struct svm_pair *a, bool a_dst, const struct stat *as,
		     const struct svm_pair *b, bool b_dst, const struct stat *bs)
{
	const struct svm_ep *ea = a_dst ? a->dst : a->src;
	const struct svm_ep *eb = b_dst ? b->dst : b->src;
	bool la = ea->caps & SVM_EP_CAP_LOCAL, lb = eb->caps & SVM_EP_CAP_LOCAL;

	if (la && lb)
		return same_object(as, bs);
	return !la && !lb && !strcmp(ea->name, eb->name);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int check_options(const struct svm_copy_opts *opts,
			 const struct svm_extent_pair *pairs, size_t nr_pairs,
			 char *err, size_t errlen)
{
	size_t i;

	if (!opts || !pairs || !nr_pairs)
		return seterr(err, errlen, "no extent pairs to copy"), -EINVAL;
	if ((unsigned int)opts->mode >= SVM_MODE_COUNT ||
	    (unsigned int)opts->format > SVM_FORMAT_THICK_EAGER)
		return seterr(err, errlen, "unknown mode or format"), -EINVAL;
	if (opts->io_size > MAX_IO_SIZE || (opts->io_size && opts->io_size % 4096))
		return seterr(err, errlen,
			      "io_size %u: must be a multiple of 4096 up to %u",
			      opts->io_size, MAX_IO_SIZE), -EINVAL;
	if (opts->region_bytes && (opts->region_bytes % 4096 ||
				   opts->region_bytes > MAX_REGION_BYTES))
		return seterr(err, errlen,
			      "region size %llu: must be a multiple of 4096 up to %llu",
			      (unsigned long long)opts->region_bytes,
			      MAX_REGION_BYTES), -EINVAL;
	if (opts->regions_in_flight > MAX_REGIONS_IN_FLIGHT)
		return seterr(err, errlen, "regions in flight %u: at most %u",
			      opts->regions_in_flight, MAX_REGIONS_IN_FLIGHT),
		       -EINVAL;
	if (opts->queue_depth > MAX_QD)
		return seterr(err, errlen, "queue depth %u: at most %u",
			      opts->queue_depth, MAX_QD), -EINVAL;
	if ((uint64_t)(opts->queue_depth ? opts->queue_depth : DEFAULT_QD) *
	    (opts->io_size ? opts->io_size : DEFAULT_IO_SIZE) > MAX_IN_FLIGHT)
		return seterr(err, errlen,
			      "queue depth x io_size above %llu MiB of buffers",
			      MAX_IN_FLIGHT >> 20), -EINVAL;
	for (i = 0; i < nr_pairs; i++) {
		const struct svm_extent_pair *pp = &pairs[i];

		if (!pp->src.path || !pp->dst.path)
			return seterr(err, errlen, "pair %zu: missing path", i),
			       -EINVAL;
		if (pp->src.length != pp->dst.length)
			return seterr(err, errlen,
				      "pair %zu: destination length %llu differs from source length %llu",
				      i, (unsigned long long)pp->dst.length,
				      (unsigned long long)pp->src.length), -EINVAL;
		if (pp->src.offset + pp->src.length < pp->src.offset ||
		    pp->dst.offset + pp->dst.length < pp->dst.offset)
			return seterr(err, errlen, "pair %zu: extent wraps around", i),
			       -EINVAL;
	}
	return 0;
}

/* Open pair p's two endpoints; sst/dst: their stat (zero if remote). */
static int open_pair(struct svm_copy *c, struct svm_pair *p, struct stat *sst,
		     struct stat *dst, char *err, size_t errlen)
{
	struct svm_ep_params prm = { .timeout_ms = c->opts.timeout_ms };
	char why[256];
	int ret;

	ret = svm_ep_open(p->ext.src.path, 0, &prm, &p->src, why, sizeof(why));
	if (!ret)
		ret = svm_ep_open(p->ext.dst.path, SVM_EP_WRITE | SVM_EP_CREATE,
				  &prm, &p->dst, why, sizeof(why));
	if (ret)
		return seterr(err, errlen, "%s", why), ret;
	p->sf = svm_ep_file(p->src);
	p->df = svm_ep_file(p->dst);
	/* a remote end is named as its endpoint names it: no password */
	if (!p->sf)
		p->ext.src.path = p->src->name;
	if (!p->df)
		p->ext.dst.path = p->dst->name;
	if (p->sf)
		*sst = p->sf->st;
	if (p->df)
		*dst = p->df->st;
	if (p->ext.src.offset + p->ext.src.length > p->src->size)
		return seterr(err, errlen,
			      "source %s is shorter than asked: %llu bytes, extent ends at %llu",
			      p->ext.src.path, (unsigned long long)p->src->size,
			      (unsigned long long)(p->ext.src.offset +
						   p->ext.src.length)), -EINVAL;
	if (!(p->dst->caps & SVM_EP_CAP_GROWS) &&
	    p->ext.dst.offset + p->ext.dst.length > p->dst->size)
		return seterr(err, errlen,
			      "destination %s is too small: %llu bytes, extent ends at %llu",
			      p->ext.dst.path, (unsigned long long)p->dst->size,
			      (unsigned long long)(p->ext.dst.offset +
						   p->ext.dst.length)), -ENOSPC;
	return 0;
}

/* No destination may overlap a source or another destination. */
static int check_overlaps(struct svm_copy *c, const struct stat *sst,
			  const struct stat *dst, char *err, size_t errlen)
{
	size_t i, j;

	for (i = 0; i < c->nr_pairs; i++) {
		const struct svm_pair *pi = &c->pairs[i];
		const struct svm_extent *di = &pi->ext.dst;

		for (j = 0; j < c->nr_pairs; j++) {
			const struct svm_pair *pj = &c->pairs[j];
			const struct svm_extent *sj = &pj->ext.src;
			const struct svm_extent *dj = &pj->ext.dst;

			if (same_end(pi, true, &dst[i], pj, false, &sst[j]) &&
			    overlaps(di->offset, di->length, sj->offset, sj->length))
				return seterr(err, errlen,
					      "source and destination overlap: %s [%llu, +%llu) and %s [%llu, +%llu) are the same %s",
					      sj->path, (unsigned long long)sj->offset,
					      (unsigned long long)sj->length, di->path,
					      (unsigned long long)di->offset,
					      (unsigned long long)di->length,
					      !pi->df ? "remote object" :
					      S_ISBLK(dst[i].st_mode) ? "device" : "file"),
				       -EINVAL;
			if (j != i && same_end(pi, true, &dst[i], pj, true, &dst[j]) &&
			    overlaps(di->offset, di->length, dj->offset, dj->length))
				return seterr(err, errlen,
					      "destination extents overlap in %s",
					      di->path), -EINVAL;
		}
	}
	return 0;
}

int svm_engine_open(struct svm_copy *c, const struct svm_extent_pair *pairs,
		    size_t nr_pairs, struct stat **sstp, struct stat **dstp,
		    char *err, size_t errlen)
{
	const struct svm_copy_opts *opts = &c->opts;
	struct stat *sst, *dst;
	size_t i;
	int ret;

	*sstp = *dstp = NULL;
	ret = check_options(opts, pairs, nr_pairs, err, errlen);
	if (ret)
		return ret;
	c->cancel_fd = -1;
	c->qd = opts->queue_depth ? opts->queue_depth : DEFAULT_QD;
	c->io_size = opts->io_size ? opts->io_size : DEFAULT_IO_SIZE;
	c->range_bytes = opts->region_bytes;
	if (!c->range_bytes) {
		c->range_bytes = (uint64_t)RANGE_QUEUES * c->qd * c->io_size;
		if (c->range_bytes < RANGE_BYTES)
			c->range_bytes = RANGE_BYTES;
		if (c->range_bytes > MAX_REGION_BYTES)
			c->range_bytes = MAX_REGION_BYTES;
	}
	if (pthread_mutex_init(&c->mu, NULL) == 0)
		c->mu_inited = true;
	c->pairs = calloc(nr_pairs, sizeof(*c->pairs));
	*sstp = sst = calloc(nr_pairs, sizeof(*sst));
	*dstp = dst = calloc(nr_pairs, sizeof(*dst));
	if (!c->pairs || !sst || !dst ||
	    posix_memalign(&c->zeros, 4096, c->io_size)) {
		c->zeros = NULL;
		return seterr(err, errlen, "out of memory"), -ENOMEM;
	}
	memset(c->zeros, 0, c->io_size);
	c->nr_pairs = nr_pairs;
	for (i = 0; i < nr_pairs; i++)
		c->pairs[i].ext = pairs[i];
	c->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->cancel_fd < 0)
		return seterr(err, errlen, "eventfd: %s", strerror(errno)), -errno;
	svm_copy_build_chain(c);
	for (i = 0; i < nr_pairs; i++) {
		ret = open_pair(c, &c->pairs[i], &sst[i], &dst[i], err, errlen);
		if (ret)
			return ret;
		c->total += c->pairs[i].ext.src.length;
	}
	return check_overlaps(c, sst, dst, err, errlen);
}

void svm_engine_close(struct svm_copy *c)
{
	size_t i;
	unsigned int k;

	for (k = 0; k < c->chain_len; k++)
		c->chain[k]->fini(c);
	for (i = 0; c->pairs && i < c->nr_pairs; i++) {
		struct svm_pair *p = &c->pairs[i];

		for (k = 0; k < SVM_COPY_NR_BACKENDS; k++)
			free(p->bk[k]);
		if (c->borrowed)
			continue;
		svm_ep_close(p->src);
		svm_ep_close(p->dst);
		svm_ep_close(p->via_src_dev);
		svm_ep_close(p->via_dst_dev);
	}
	if (c->cancel_fd >= 0 && !c->borrowed)
		close(c->cancel_fd);
	if (c->mu_inited)
		pthread_mutex_destroy(&c->mu);
	free(c->pairs);
	free(c->zeros);
	c->pairs = NULL;
	c->zeros = NULL;
}

int svm_engine_flush(struct svm_copy *c)
{
	size_t i;
	int ret;

	for (i = 0; i < c->nr_pairs; i++) {
		struct svm_pair *p = &c->pairs[i];

		ret = p->dst->ops->flush(p->dst);
		if (ret)
			return svm_copy_fail(c, ret, p->ext.src.offset - p->src_shift,
					     "%s %s: %s", p->df ? "flushing" : "committing",
					     p->ext.dst.path, p->dst->msg);
	}
	return 0;
}

/* "xcopy,fast": the backends that accounted bytes, in chain order. */
static void backend_names(const struct svm_copy *c, char *buf, size_t len)
{
	size_t n = 0;
	unsigned int k;

	buf[0] = 0;
	for (k = 0; k < c->chain_len; k++) {
		const struct svm_copy_ops *ops = c->chain[k];

		if (!(c->backends_used & (1u << ops->id)) || n >= len)
			continue;
		n += snprintf(buf + n, len - n, "%s%s", n ? "," : "", ops->name);
	}
}

void svm_engine_finish(struct svm_copy *c, int ret)
{
	struct svm_copy_result *res = c->res;
	int m, best;

	if (ret == -ECANCELED) {
		char tmp[sizeof(res->message)];

		snprintf(tmp, sizeof(tmp),
			 "svm-copy: cancelled after %llu of %llu bytes (source offset %llu)",
			 (unsigned long long)(res->bytes_copied + res->bytes_skipped),
			 (unsigned long long)c->total,
			 (unsigned long long)res->error_offset);
		memcpy(res->message, tmp, sizeof(tmp));
	}
	res->elapsed = svm_copy_now() - c->t0;
	/* nothing copied (all holes and zeros): the backend that skipped */
	best = c->skip_mode && !res->bytes_copied ? c->skip_mode - 1 :
						    (int)c->chain[0]->mode;
	for (m = 1; m < SVM_MODE_COUNT; m++)
		if (res->bytes_by_mode[m] > res->bytes_by_mode[best])
			best = m;
	res->mode_used = best;
	backend_names(c, res->backends, sizeof(res->backends));
	if (ret && !res->error)
		res->error = ret;
	svm_copy_report_progress(c, true);
}

/* ---- the copy loop ----------------------------------------------------- */

/* The first backend of the chain handed a range on: remember why (once). */
static void note_fallback(struct svm_copy *c, unsigned int k, const char *why)
{
	struct svm_copy_result *res = c->parent ? c->parent->res : c->res;

	if (k || !why || !why[0])
		return;
	if (c->parent)
		pthread_mutex_lock(&c->parent->mu);
	if (!res->fallback[0])
		snprintf(res->fallback, sizeof(res->fallback), "%s", why);
	if (c->parent)
		pthread_mutex_unlock(&c->parent->mu);
}

/*
 * Backend ops accounted the bytes of r (kept: not redone by another): it
 * is named in res->backends, and they count as its.
 */
static void note_backend(struct svm_copy *c, const struct svm_copy_ops *ops,
			 const struct svm_range *r)
{
	struct svm_copy *top = c->parent ? c->parent : c;

	c->res->bytes_by_backend[ops->id] += r->copied;
	c->res->bytes_offloaded += r->offloaded;
	if (c->parent)
		pthread_mutex_lock(&c->parent->mu);
	if (r->copied || r->skipped)
		top->backends_used |= 1u << ops->id;
	if (c->parent) {
		top->res->bytes_by_backend[ops->id] += r->copied;
		top->res->bytes_offloaded += r->offloaded;
		pthread_mutex_unlock(&c->parent->mu);
	}
}

/* Copy one data range through the chain, falling back on refusal. */
static int copy_range(struct svm_copy *c, struct svm_pair *p, uint64_t off,
		      uint64_t len, bool sparse)
{
	struct svm_range r = { .p = p, .src_off = off, .len = len,
			       .sparse = sparse };
	char why[160] = "", w[160];
	unsigned int k;
	int ret = -EINVAL, partway = 0;

	for (k = 0; k < c->chain_len; k++) {
		const struct svm_copy_ops *ops = c->chain[k];

		/* the last reason given is the one reported */
		w[0] = 0;
		ret = ops->applies(c, p, off, len, w, sizeof(w));
		if (w[0])
			memcpy(why, w, sizeof(why));
		if (ret) {
			note_fallback(c, k, w[0] ? w : strerror(-ret));
			continue;
		}
		r.mode = ops->mode;
		r.offloaded = 0;
		ret = ops->copy(c, &r);
		if (!ret || !svm_copy_is_refusal(ret) || k + 1 == c->chain_len)
			note_backend(c, ops, &r);	/* not redone */
		if (ret == -ECANCELED && !c->res->error)
			svm_copy_fail(c, ret, r.fail_off, "cancelled");
		if (!ret || !svm_copy_is_refusal(ret) || k + 1 == c->chain_len)
			break;
		/* refused part way: forget it, the next backend redoes the range */
		partway = ret;
		note_fallback(c, k, r.why[0] ? r.why : strerror(-ret));
		r.why[0] = 0;
		unaccount(c, &r, ops->mode);
		r.offloaded = 0;
		c->res->error = 0;
		c->res->error_offset = 0;
		c->res->message[0] = 0;
	}
	/* no backend after one that refused part way took it: that refusal */
	if (ret && svm_copy_is_refusal(ret) && partway)
		ret = partway;
	if (ret && !c->res->error)
		svm_copy_fail(c, ret, r.fail_off > off ? r.fail_off : off,
			      "mode %s cannot copy %s at %llu: %s",
			      svm_copy_mode_name(c->opts.mode), p->ext.src.path,
			      (unsigned long long)(r.fail_off > off ? r.fail_off : off),
			      why[0] ? why : strerror(-ret));
	return ret;
}

/* The source hole [off, off + len): what the format makes of it. */
static int copy_hole(struct svm_copy *c, struct svm_pair *p, uint64_t off,
		     uint64_t len)
{
	struct svm_range r = { .p = p, .src_off = off, .len = len };

	r.mode = c->opts.mode == SVM_MODE_BUFFERED ? SVM_MODE_BUFFERED
						   : SVM_MODE_FAST;
	if (svm_copy_is_cancelled(c))
		return svm_copy_fail(c, -ECANCELED, off, "cancelled");
	return svm_copy_zero(c, &r, off, len);
}

int svm_copy_span(struct svm_copy *c, struct svm_pair *p, uint64_t pos,
		  uint64_t end)
{
	int ret;

	while (pos < end) {
		off_t data = -1, hole;
		uint64_t known;

		if (!src_mapped(p) || known_data(p, pos, end, &known)) {
			data = pos;
		} else {
			data = src_seek(p, pos, SEEK_DATA);
			if (data < 0 && errno == ENXIO) {
				uint64_t at;

				ret = src_ended(c, p, pos, end, &at);
				if (ret)
					return ret;
				data = end;
			} else if (data < 0) {
				data = pos;	/* no SEEK_DATA: all data */
			}
		}
		if ((uint64_t)data > end)
			data = end;
		if ((uint64_t)data > pos) {
			ret = copy_hole(c, p, pos, data - pos);
			if (ret)
				return ret;
			pos = data;
			continue;
		}
		/*
		 * Data at pos. The next range_bytes go to the backend as one
		 * range: small holes inside it are the backend's to skip
		 * (svm_range_data), so its queue stays full across them.
		 */
		hole = end - pos < c->range_bytes ? end : pos + c->range_bytes;
		ret = copy_range(c, p, pos, hole - pos, src_mapped(p));
		if (ret)
			return ret;
		pos = hole;
	}
	return 0;
}

