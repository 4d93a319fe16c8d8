// SPDX-License-Identifier: GPL-2.0
/*
 * svm-copy.c - libsvmotion: the data mover's copy loop (cold copies), the
 * buffered backend and the xcopy hook. See svm-copy.h and svm-copy-int.h.
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
	return !p->src_blk || p->src_map_fd >= 0;
}

/* lseek SEEK_DATA/SEEK_HOLE in p's source allocation, in source offsets. */
static off_t src_seek(const struct svm_pair *p, uint64_t pos, int whence)
{
	off_t o;

	if (!p->src_blk)
		return lseek(p->src_fd, pos, whence);
	o = lseek(p->src_map_fd, pos + p->src_map_shift, whence);
	return o < 0 ? o : o - (off_t)p->src_map_shift;
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

/* pwrite all of buf, retrying short writes; 0 or -errno. */
static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
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
		ret = pwrite_all(fd, c->zeros, n, off);
		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
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

	if (d >= p->dst_fresh_from && !eager) {
		/*
		 * never written: a sparse file (or fallocated range), or a
		 * device extent unmapped up front, reads 0
		 */
		svm_copy_account(c, r, r->mode, 0, len);
		return 0;
	}
	if (p->dst_blk) {
		/*
		 * thin/same: unmap, but only where the device guarantees zeros
		 * (the kernel refuses PUNCH_HOLE otherwise); then zero-out
		 * (write-zeroes or zeros written by the kernel).
		 */
		ret = -EOPNOTSUPP;
		if (!eager && !lazy)
			ret = fallocate(p->dst_fd, FALLOC_FL_PUNCH_HOLE |
					FALLOC_FL_KEEP_SIZE, d, len) ? -errno : 0;
		if (ret)
			ret = fallocate(p->dst_fd, FALLOC_FL_ZERO_RANGE |
					FALLOC_FL_KEEP_SIZE, d, len) ? -errno : 0;
		if (ret && ret != -ENOSPC && ret != -EIO)
			ret = blk_zeroout(p->dst_fd, d, len);
	} else if (eager || lazy) {
		ret = fallocate(p->dst_fd, FALLOC_FL_ZERO_RANGE, d, len) ? -errno : 0;
	} else {
		ret = fallocate(p->dst_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				d, len) ? -errno : 0;
		if (ret == -EOPNOTSUPP)
			ret = fallocate(p->dst_fd, FALLOC_FL_ZERO_RANGE, d, len) ?
			      -errno : 0;
	}
	if (ret && ret != -ENOSPC && ret != -EIO)
		ret = write_zeros(c, p->dst_fd, d, len);
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
	if (p->src_blk || fstat(p->src_fd, &st) || (uint64_t)st.st_size >= end)
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

/* ---- buffered backend: pread/pwrite through the page cache ------------ */

static int buffered_applies(struct svm_copy *c, struct svm_pair *p,
			    uint64_t src_off, uint64_t len, char *why,
			    size_t whylen)
{
	(void)c; (void)p; (void)src_off; (void)len; (void)why; (void)whylen;
	return 0;
}

/*
 * Between two files of one filesystem, with no zero detection wanted, the
 * kernel copies page cache to page cache (copy_file_range): one memory copy
 * per byte instead of pread's and pwrite's two, and no system call per
 * io_size pair. Advances *pos over what was copied. 0 when done or when the
 * rest is for pread/pwrite: a refusal (the kernel or filesystem has no such
 * copy; not asked again for this pair), or an error or short source, which
 * pread/pwrite then meet and report precisely (read or write, offset,
 * out of space); -ECANCELED.
 */
bool svm_copy_kernel_copy_applies(const struct svm_copy *c,
				  const struct svm_pair *p)
{
	return !p->src_blk && !p->dst_blk && p->src_dev == p->dst_dev &&
	       !svm_copy_scan_zeros(c, p) && p->kcopy_state >= 0 &&
	       !getenv("SVM_COPY_NO_KERNEL_COPY");
}

static int buffered_kernel_copy(struct svm_copy *c, struct svm_range *r,
				uint64_t *pos, uint64_t end)
{
	struct svm_pair *p = r->p;

	if (!svm_copy_kernel_copy_applies(c, p))
		return 0;
	while (*pos < end) {
		size_t want = end - *pos < c->io_size ? end - *pos : c->io_size;
		loff_t in = *pos, out = svm_range_dst(r, *pos);
		ssize_t n;
		int ret;

		ret = svm_copy_throttle(c, want);
		if (ret)
			return ret;
		n = copy_file_range(p->src_fd, &in, p->dst_fd, &out, want, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && svm_copy_is_refusal(-errno)) {
			p->kcopy_state = -errno;
			return 0;
		}
		if (n <= 0)
			return 0;
		svm_copy_account(c, r, SVM_MODE_BUFFERED, n, 0);
		*pos += n;
	}
	return 0;
}

/* The data [pos, end) of range r: kernel copy, else pread/pwrite. */
static int buffered_data(struct svm_copy *c, struct svm_range *r, uint64_t pos,
			 uint64_t end)
{
	struct svm_pair *p = r->p;
	unsigned char *buf = NULL;
	bool scan = svm_copy_scan_zeros(c, p);
	int ret = 0;

	ret = buffered_kernel_copy(c, r, &pos, end);
	if (ret || pos == end) {
		if (ret == -ECANCELED)
			r->fail_off = pos;
		return ret;
	}
	if (posix_memalign((void **)&buf, 4096, c->io_size))
		return svm_copy_fail(c, -ENOMEM, pos, "out of memory");
	memset(buf, 0, c->io_size);
	while (pos < end) {
		size_t want = end - pos < c->io_size ? end - pos : c->io_size;
		size_t got = 0, off = 0;
		ssize_t n;

		ret = svm_copy_throttle(c, want);
		if (ret)
			break;
		while (got < want) {
			n = pread(p->src_fd, buf + got, want - got, pos + got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				ret = -errno;
				r->fail_off = pos + got;
				svm_copy_fail(c, ret, pos + got,
					      "reading %s at %llu: %s",
					      p->ext.src.path,
					      (unsigned long long)(pos + got),
					      strerror(errno));
				goto out;
			}
			if (n == 0) {
				ret = -EIO;
				r->fail_off = pos + got;
				svm_copy_fail(c, ret, pos + got,
					      "source %s ended at %llu, before the end of the extent",
					      p->ext.src.path,
					      (unsigned long long)(pos + got));
				goto out;
			}
			got += n;
		}
		while (off < want) {
			bool zero = false;
			size_t run = scan ? svm_copy_run_len(c, buf + off, want - off, &zero)
					  : want - off;

			if (zero) {
				ret = svm_copy_zero(c, r, pos + off, run);
			} else {
				ret = pwrite_all(p->dst_fd, buf + off, run,
						 svm_range_dst(r, pos + off));
				if (ret) {
					r->fail_off = pos + off;
					svm_copy_fail(c, ret, pos + off,
						      "writing %s at %llu: %s%s",
						      p->ext.dst.path,
						      (unsigned long long)svm_range_dst(r, pos + off),
						      strerror(-ret),
						      ret == -ENOSPC ? " (destination out of space)" : "");
				} else {
					svm_copy_account(c, r, SVM_MODE_BUFFERED, run, 0);
				}
			}
			if (ret)
				goto out;
			off += run;
		}
		pos += want;
	}
out:
	if (ret == -ECANCELED)
		r->fail_off = pos;
	free(buf);
	return ret;
}

static int buffered_copy(struct svm_copy *c, struct svm_range *r)
{
	uint64_t pos = r->src_off, end = r->src_off + r->len, data_end;
	int ret;

	for (;;) {
		ret = svm_range_data(c, r, &pos, &data_end);
		if (ret || pos >= end)
			return ret;
		ret = buffered_data(c, r, pos, data_end);
		if (ret)
			return ret;
		pos = data_end;
	}
}

static void no_fini(struct svm_copy *c)
{
	(void)c;
}

const struct svm_copy_ops svm_copy_ops_buffered = {
	.name = "buffered",
	.mode = SVM_MODE_BUFFERED,
	.applies = buffered_applies,
	.copy = buffered_copy,
	.fini = no_fini,
};

/* ---- xcopy: SCSI EXTENDED COPY offload (lib/svm-xcopy.c) -------------- */

/*
 * Probe a pair once: both ends must be whole SCSI disks (SG_IO), with one
 * logical block size, and the destination must report copy limits. The
 * source is flushed first: the array copies what is on the disk, not what
 * sits in this host's page cache.
 */
static int xcopy_probe(struct svm_pair *p)
{
	char err[160];
	int ret;

	if (!p->src_blk || !p->dst_blk) {
		snprintf(p->xcopy_why, sizeof(p->xcopy_why),
			 "xcopy: both ends must be SCSI disks");
		return -EOPNOTSUPP;
	}
	ret = svm_xcopy_identify(p->src_fd, &p->xsrc, err, sizeof(err));
	if (!ret)
		ret = svm_xcopy_identify(p->dst_fd, &p->xdst, err, sizeof(err));
	if (!ret)
		ret = svm_xcopy_limits(p->dst_fd, &p->xlim, err, sizeof(err));
	if (ret) {
		snprintf(p->xcopy_why, sizeof(p->xcopy_why), "%s", err);
		return -EOPNOTSUPP;
	}
	if (p->xsrc.block_size != p->xdst.block_size) {
		snprintf(p->xcopy_why, sizeof(p->xcopy_why),
			 "xcopy: logical block sizes differ (%u and %u)",
			 p->xsrc.block_size, p->xdst.block_size);
		return -EOPNOTSUPP;
	}
	if (fdatasync(p->src_fd) < 0) {
		snprintf(p->xcopy_why, sizeof(p->xcopy_why),
			 "xcopy: flushing the source: %s", strerror(errno));
		return -EOPNOTSUPP;
	}
	return 1;
}

static int xcopy_applies(struct svm_copy *c, struct svm_pair *p,
			 uint64_t src_off, uint64_t len, char *why,
			 size_t whylen)
{
	uint64_t bs, dst_off = p->ext.dst.offset + (src_off - p->ext.src.offset);

	if (c->opts.format != SVM_FORMAT_SAME &&
	    c->opts.format != SVM_FORMAT_THICK_EAGER) {
		snprintf(why, whylen, "xcopy writes every block: not for format %s",
			 svm_copy_format_name(c->opts.format));
		return -EOPNOTSUPP;
	}
	if (!p->xcopy_state)
		p->xcopy_state = xcopy_probe(p);
	if (p->xcopy_state < 0) {
		snprintf(why, whylen, "%s", p->xcopy_why);
		return p->xcopy_state;
	}
	bs = p->xsrc.block_size;
	if (src_off % bs || dst_off % bs || len % bs) {
		snprintf(why, whylen, "xcopy: range not aligned to %llu-byte blocks",
			 (unsigned long long)bs);
		return -EINVAL;
	}
	return 0;
}

static int xcopy_copy(struct svm_copy *c, struct svm_range *r)
{
	struct svm_pair *p = r->p;
	uint64_t bs = p->xsrc.block_size;
	uint64_t dst_off = svm_range_dst(r, r->src_off);
	struct svm_xcopy_stats st = { 0 };
	char err[160];
	int ret;

	ret = svm_copy_throttle(c, r->len);
	if (ret) {
		r->fail_off = r->src_off;
		return ret;
	}
	ret = svm_xcopy_copy(p->src_fd, &p->xsrc, r->src_off / bs,
			     p->dst_fd, &p->xdst, dst_off / bs, r->len / bs,
			     &p->xlim, &st, err, sizeof(err));
	/* The array wrote behind this host's page cache of the destination. */
	posix_fadvise(p->dst_fd, (off_t)dst_off, (off_t)r->len, POSIX_FADV_DONTNEED);
	if (ret == -EOPNOTSUPP || ret == -ENOTTY) {
		/* Refused (e.g. COPY ABORTED): the next backend redoes the range. */
		r->fail_off = r->src_off + st.blocks_done * bs;
		p->xcopy_state = -EOPNOTSUPP;
		snprintf(p->xcopy_why, sizeof(p->xcopy_why), "%s", err);
		return -EOPNOTSUPP;
	}
	if (ret) {
		r->fail_off = r->src_off + st.blocks_done * bs;
		return svm_copy_fail(c, ret, r->fail_off, "%s", err);
	}
	svm_copy_account(c, r, SVM_MODE_XCOPY, r->len, 0);
	return 0;
}

const struct svm_copy_ops svm_copy_ops_xcopy = {
	.name = "xcopy",
	.mode = SVM_MODE_XCOPY,
	.applies = xcopy_applies,
	.copy = xcopy_copy,
	.fini = no_fini,
};

/* ---- setup ------------------------------------------------------------- */

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

int svm_copy_open_end(const struct svm_extent *e, bool dst, bool create,
		      int *fd, int *dfd, bool *blk, unsigned int *align,
		      struct stat *st, uint64_t *size, char *err, size_t errlen)
{
	int flags = dst ? O_WRONLY | (create ? O_CREAT : 0) : O_RDONLY;
	int ret;

	*fd = open(e->path, flags | O_CLOEXEC, 0644);
	if (*fd < 0) {
		ret = -errno;
		seterr(err, errlen, "opening %s %s: %s", dst ? "destination" : "source",
		       e->path, strerror(errno));
		return ret;
	}
	if (fstat(*fd, st)) {
		ret = -errno;
		seterr(err, errlen, "stat %s: %s", e->path, strerror(errno));
		return ret;
	}
	*blk = S_ISBLK(st->st_mode);
	if (!*blk && !S_ISREG(st->st_mode)) {
		seterr(err, errlen, "%s is neither a regular file nor a block device",
		       e->path);
		return -EINVAL;
	}
	if (*blk) {
		int lbs = 512;

		if (ioctl(*fd, BLKGETSIZE64, size)) {
			ret = -errno;
			seterr(err, errlen, "size of %s: %s", e->path, strerror(errno));
			return ret;
		}
		if (ioctl(*fd, BLKSSZGET, &lbs) || lbs <= 0)
			lbs = 512;
		*align = lbs;
	} else {
		*size = st->st_size;
		*align = file_dio_align(*fd);
	}
	*dfd = open(e->path, (dst ? O_WRONLY : O_RDONLY) | O_DIRECT | O_CLOEXEC);
	if (*dfd < 0 || !*align) {
		if (*dfd >= 0)
			close(*dfd);
		*dfd = -1;
		*align = 0;
	}
	return 0;
}

static bool same_object(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode))
		return a->st_rdev == b->st_rdev;
	if (S_ISREG(a->st_mode) && S_ISREG(b->st_mode))
		return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
	return false;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

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
	c->chain_len = n;
}

int svm_copy_new(struct svm_copy **out, const struct svm_copy_opts *opts,
		 const struct svm_extent_pair *pairs, size_t nr_pairs,
		 char *err, size_t errlen)
{
	struct svm_copy *c;
	struct stat *sst = NULL, *dst = NULL;
	size_t i, j;
	unsigned int k;
	int ret = -EINVAL;

	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	if (!opts || !pairs || !nr_pairs) {
		seterr(err, errlen, "no extent pairs to copy");
		return -EINVAL;
	}
	if ((unsigned int)opts->mode >= SVM_MODE_COUNT ||
	    (unsigned int)opts->format > SVM_FORMAT_THICK_EAGER) {
		seterr(err, errlen, "unknown mode or format");
		return -EINVAL;
	}
	if (opts->io_size > MAX_IO_SIZE || (opts->io_size && opts->io_size % 4096)) {
		seterr(err, errlen, "io_size %u: must be a multiple of 4096 up to %u",
		       opts->io_size, MAX_IO_SIZE);
		return -EINVAL;
	}
	if (opts->region_bytes && (opts->region_bytes % 4096 ||
				   opts->region_bytes > MAX_REGION_BYTES)) {
		seterr(err, errlen,
		       "region size %llu: must be a multiple of 4096 up to %llu",
		       (unsigned long long)opts->region_bytes, MAX_REGION_BYTES);
		return -EINVAL;
	}
	if (opts->regions_in_flight > MAX_REGIONS_IN_FLIGHT) {
		seterr(err, errlen, "regions in flight %u: at most %u",
		       opts->regions_in_flight, MAX_REGIONS_IN_FLIGHT);
		return -EINVAL;
	}
	if (opts->queue_depth > MAX_QD) {
		seterr(err, errlen, "queue depth %u: at most %u", opts->queue_depth,
		       MAX_QD);
		return -EINVAL;
	}
	if ((uint64_t)(opts->queue_depth ? opts->queue_depth : DEFAULT_QD) *
	    (opts->io_size ? opts->io_size : DEFAULT_IO_SIZE) > MAX_IN_FLIGHT) {
		seterr(err, errlen, "queue depth x io_size above %llu MiB of buffers",
		       MAX_IN_FLIGHT >> 20);
		return -EINVAL;
	}
	for (i = 0; i < nr_pairs; i++) {
		const struct svm_extent_pair *pp = &pairs[i];

		if (!pp->src.path || !pp->dst.path) {
			seterr(err, errlen, "pair %zu: missing path", i);
			return -EINVAL;
		}
		if (pp->src.length != pp->dst.length) {
			seterr(err, errlen,
			       "pair %zu: destination length %llu differs from source length %llu",
			       i, (unsigned long long)pp->dst.length,
			       (unsigned long long)pp->src.length);
			return -EINVAL;
		}
		if (pp->src.offset + pp->src.length < pp->src.offset ||
		    pp->dst.offset + pp->dst.length < pp->dst.offset) {
			seterr(err, errlen, "pair %zu: extent wraps around", i);
			return -EINVAL;
		}
	}

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->opts = *opts;
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
	sst = calloc(nr_pairs, sizeof(*sst));
	dst = calloc(nr_pairs, sizeof(*dst));
	if (!c->pairs || !sst || !dst ||
	    posix_memalign(&c->zeros, 4096, c->io_size)) {
		c->zeros = NULL;
		ret = -ENOMEM;
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	memset(c->zeros, 0, c->io_size);
	c->nr_pairs = nr_pairs;
	for (i = 0; i < nr_pairs; i++) {
		struct svm_pair *p = &c->pairs[i];

		p->ext = pairs[i];
		p->src_fd = p->src_dfd = p->dst_fd = p->dst_dfd = -1;
		p->via_dst_devfd = p->src_map_fd = -1;
	}
	c->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->cancel_fd < 0) {
		ret = -errno;
		seterr(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	svm_copy_build_chain(c);

	for (i = 0; i < nr_pairs; i++) {
		struct svm_pair *p = &c->pairs[i];
		uint64_t ssize, dsize;

		ret = svm_copy_open_end(&p->ext.src, false, false, &p->src_fd,
					&p->src_dfd, &p->src_blk, &p->src_align,
					&sst[i], &ssize, err, errlen);
		if (ret)
			goto fail;
		ret = svm_copy_open_end(&p->ext.dst, true, true, &p->dst_fd,
					&p->dst_dfd, &p->dst_blk, &p->dst_align,
					&dst[i], &dsize, err, errlen);
		if (ret)
			goto fail;
		p->src_dev = sst[i].st_dev;
		p->dst_dev = dst[i].st_dev;
		p->dst_fresh_from = p->dst_blk ? UINT64_MAX : dsize;
		if (p->ext.src.offset + p->ext.src.length > ssize) {
			ret = -EINVAL;
			seterr(err, errlen,
			       "source %s is shorter than asked: %llu bytes, extent ends at %llu",
			       p->ext.src.path, (unsigned long long)ssize,
			       (unsigned long long)(p->ext.src.offset + p->ext.src.length));
			goto fail;
		}
		if (p->dst_blk && p->ext.dst.offset + p->ext.dst.length > dsize) {
			ret = -ENOSPC;
			seterr(err, errlen,
			       "destination %s is too small: %llu bytes, extent ends at %llu",
			       p->ext.dst.path, (unsigned long long)dsize,
			       (unsigned long long)(p->ext.dst.offset + p->ext.dst.length));
			goto fail;
		}
		c->total += p->ext.src.length;
	}
	/* No destination may overlap a source or another destination. */
	for (i = 0; i < nr_pairs; i++) {
		const struct svm_extent *di = &c->pairs[i].ext.dst;

		for (j = 0; j < nr_pairs; j++) {
			const struct svm_extent *sj = &c->pairs[j].ext.src;
			const struct svm_extent *dj = &c->pairs[j].ext.dst;

			if (same_object(&dst[i], &sst[j]) &&
			    overlaps(di->offset, di->length, sj->offset, sj->length)) {
				ret = -EINVAL;
				seterr(err, errlen,
				       "source and destination overlap: %s [%llu, +%llu) and %s [%llu, +%llu) are the same %s",
				       sj->path, (unsigned long long)sj->offset,
				       (unsigned long long)sj->length, di->path,
				       (unsigned long long)di->offset,
				       (unsigned long long)di->length,
				       S_ISBLK(dst[i].st_mode) ? "device" : "file");
				goto fail;
			}
			if (j != i && same_object(&dst[i], &dst[j]) &&
			    overlaps(di->offset, di->length, dj->offset, dj->length)) {
				ret = -EINVAL;
				seterr(err, errlen,
				       "destination extents overlap in %s", di->path);
				goto fail;
			}
		}
	}
	if (c->opts.dm_name) {
		ret = svm_hot_prepare(c, sst, dst, err, errlen);
		if (ret)
			goto fail;
	}
	/* Modes without buffered fallback: refuse up front what they can't take. */
	if (c->opts.mode == SVM_MODE_FAST || c->opts.mode == SVM_MODE_XCOPY) {
		for (i = 0; i < nr_pairs; i++) {
			struct svm_pair *p = &c->pairs[i];
			char why[160] = "";
			bool any = false;
			for (k = 0; k < c->chain_len && !any; k++)
				any = !c->chain[k]->applies(c, p, p->ext.src.offset,
							    p->ext.src.length,
							    why, sizeof(why));
			if (!any) {
				ret = -EINVAL;
				seterr(err, errlen, "mode %s refused for %s -> %s: %s",
				       svm_copy_mode_name(c->opts.mode),
				       p->ext.src.path, p->ext.dst.path, why);
				goto fail;
			}
		}
	}
	/* the hot workers have backends of their own */
	for (k = 0; c->opts.dm_name && k < c->chain_len; k++)
		c->chain[k]->fini(c);
	free(sst);
	free(dst);
	*out = c;
	return 0;
fail:
	free(sst);
	free(dst);
	svm_copy_free(c);
	return ret;
}

void svm_copy_free(struct svm_copy *c)
{
	size_t i;
	unsigned int k;

	if (!c)
		return;
	for (k = 0; k < c->chain_len; k++)
		c->chain[k]->fini(c);
	svm_hot_free(c);
	for (i = 0; !c->borrowed && c->pairs && i < c->nr_pairs; i++) {
		struct svm_pair *p = &c->pairs[i];

		if (p->src_fd >= 0)
			close(p->src_fd);
		if (p->src_dfd >= 0)
			close(p->src_dfd);
		if (p->dst_fd >= 0)
			close(p->dst_fd);
		if (p->dst_dfd >= 0)
			close(p->dst_dfd);
		if (p->via_dst_devfd >= 0)
			close(p->via_dst_devfd);
		if (p->src_map_fd >= 0)
			close(p->src_map_fd);
		free(p->via_src);
		free(p->via_dst);
	}
	if (c->cancel_fd >= 0 && !c->borrowed)
		close(c->cancel_fd);
	if (c->mu_inited)
		pthread_mutex_destroy(&c->mu);
	free(c->pairs);
	free(c->zeros);
	free(c);
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

/* Copy one data range through the chain, falling back on refusal. */
static int copy_range(struct svm_copy *c, struct svm_pair *p, uint64_t off,
		      uint64_t len, bool sparse)
{
	struct svm_range r = { .p = p, .src_off = off, .len = len,
			       .sparse = sparse };
	char why[160];
	unsigned int k;
	int ret = -EINVAL;

	for (k = 0; k < c->chain_len; k++) {
		const struct svm_copy_ops *ops = c->chain[k];

		why[0] = 0;
		ret = ops->applies(c, p, off, len, why, sizeof(why));
		if (ret) {
			note_fallback(c, k, why[0] ? why : strerror(-ret));
			continue;
		}
		r.mode = ops->mode;
		ret = ops->copy(c, &r);
		if (ret == -ECANCELED && !c->res->error)
			svm_copy_fail(c, ret, r.fail_off, "cancelled");
		if (!ret || !svm_copy_is_refusal(ret) || k + 1 == c->chain_len)
			break;
		/* refused part way: forget it, the next backend redoes the range */
		note_fallback(c, k, ops == &svm_copy_ops_xcopy && p->xcopy_why[0] ?
				    p->xcopy_why : strerror(-ret));
		unaccount(c, &r, ops->mode);
		c->res->error = 0;
		c->res->error_offset = 0;
		c->res->message[0] = 0;
	}
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
	struct svm_extent e = { 0 };
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
	e.path = le->path;
	ret = svm_copy_open_end(&e, dst, false, &le->fd, &le->dfd, &le->blk,
				&le->align, &le->st, &le->size, err, sizeof(err));
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

/*
 * A cold copy from a loop device over a file: the source's allocation is the
 * file's, so its holes are found with SEEK_DATA/SEEK_HOLE on the file (at
 * the loop device's offset into it) instead of being read as zeros, and
 * format same follows it exactly. What was written through the device
 * node's page cache goes to the file first (the map is asked of the file;
 * the data is still read through the device). Not a loop device, or not
 * the file the loop device holds: the source stays all data.
 * SVM_COPY_VIA_DEVICES=1 turns it off (tests, benchmarks).
 */
static void map_src_loop(struct svm_pair *p)
{
	struct svm_loop_end le = { .fd = -1, .dfd = -1 };
	struct stat st;

	if (!p->src_blk || p->src_map_fd >= 0 || getenv("SVM_COPY_VIA_DEVICES") ||
	    fstat(p->src_fd, &st) ||
	    sync_file_range(p->src_fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
			    SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) ||
	    svm_loop_end_open(p->src_fd, &st, false, &le))
		return;
	p->src_map_fd = le.fd;
	p->src_map_shift = le.offset;
	le.fd = -1;
	svm_loop_end_close(&le);
}

/*
 * A block device destination in a format that unmaps zero runs (thin,
 * same): unmap its whole extent once, before anything is written (as
 * qemu-img convert zeroes its target first), so that zero runs and holes
 * are then skipped instead of unmapped one by one (on a loop device each
 * unmap is a fallocate in the backing filesystem: 512 of them in a 2 GiB
 * copy that is half holes). PUNCH_HOLE only, which the kernel does only
 * where the device guarantees zeros afterwards; refused, zero runs are
 * handled one at a time as before. Not where XCOPY takes the pair (the
 * array copies every block anyway). Cold copies only: in a hot copy the
 * guest's mirrored writes reach the destination.
 */
static void unmap_dst_upfront(struct svm_copy *c, struct svm_pair *p)
{
	char why[160];
	unsigned int k;

	if (!p->dst_blk || !p->ext.dst.length ||
	    (c->opts.format != SVM_FORMAT_THIN &&
	     c->opts.format != SVM_FORMAT_SAME))
		return;
	for (k = 0; k < c->chain_len; k++)
		if (c->chain[k] == &svm_copy_ops_xcopy &&
		    !c->chain[k]->applies(c, p, p->ext.src.offset,
					  p->ext.src.length, why, sizeof(why)))
			return;
	if (!fallocate(p->dst_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		       p->ext.dst.offset, p->ext.dst.length))
		p->dst_fresh_from = p->ext.dst.offset;
}

static int copy_pair(struct svm_copy *c, struct svm_pair *p)
{
	uint64_t pos = p->ext.src.offset, end = pos + p->ext.src.length;
	uint64_t dend = p->ext.dst.offset + p->ext.dst.length;
	int ret;

	if (!p->dst_blk && c->opts.format == SVM_FORMAT_THICK_LAZY &&
	    p->ext.dst.length) {
		if (fallocate(p->dst_fd, 0, p->ext.dst.offset, p->ext.dst.length) &&
		    errno != EOPNOTSUPP) {
			ret = -errno;
			return svm_copy_fail(c, ret, pos,
					     "allocating %s [%llu, +%llu): %s%s",
					     p->ext.dst.path,
					     (unsigned long long)p->ext.dst.offset,
					     (unsigned long long)p->ext.dst.length,
					     strerror(-ret),
					     ret == -ENOSPC ? " (destination out of space)" : "");
		}
	}
	/*
	 * A file destination ends at least at its extent's end, and gets
	 * that size before the copy: O_DIRECT writes that extend a file are
	 * waited for one at a time by some filesystems (ext4 takes the inode
	 * lock exclusively and forces them synchronous), which would make
	 * the queue depth 1.
	 */
	if (!p->dst_blk) {
		struct stat st;

		if (fstat(p->dst_fd, &st) == 0 && (uint64_t)st.st_size < dend &&
		    ftruncate(p->dst_fd, dend)) {
			ret = -errno;
			return svm_copy_fail(c, ret, pos, "extending %s to %llu: %s",
					     p->ext.dst.path, (unsigned long long)dend,
					     strerror(-ret));
		}
	}
	unmap_dst_upfront(c, p);
	map_src_loop(p);
	return svm_copy_span(c, p, pos, end);
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

int svm_copy_run(struct svm_copy *c, struct svm_copy_result *res)
{
	size_t i;
	int ret = 0, m, best;

	memset(res, 0, sizeof(*res));
	res->pairs_via_files = c->via_files;
	c->res = res;
	c->t0 = svm_copy_now();
	c->last_progress = 0;
	c->rate_bytes = 0;
	if (c->hot)
		ret = svm_hot_run(c);
	for (i = 0; !c->hot && i < c->nr_pairs && !ret; i++)
		ret = copy_pair(c, &c->pairs[i]);
	for (i = 0; i < c->nr_pairs && !ret; i++) {
		struct svm_pair *p = &c->pairs[i];

		if (fsync(p->dst_fd)) {
			ret = -errno;
			svm_copy_fail(c, ret, p->ext.src.offset - p->src_shift,
				      "flushing %s: %s%s", p->ext.dst.path,
				      strerror(-ret),
				      ret == -ENOSPC ? " (destination out of space)" : "");
		}
	}
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
	if (ret && !res->error)
		res->error = ret;
	svm_copy_report_progress(c, true);
	c->res = NULL;
	return ret;
}
