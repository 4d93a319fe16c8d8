// SPDX-License-Identifier: GPL-2.0
/*
 * svm-copy-buffered.c - libsvmotion: the buffered backend, through the page
 * cache of two local ends (pread/pwrite, or the kernel's copy_file_range
 * between files of one filesystem). See svm-copy.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "svm-copy-int.h"

/* Per pair: copy_file_range was refused between these files; not again. */
struct buffered_pair {
	bool no_kernel_copy;
};

static int buffered_applies(struct svm_copy *c, struct svm_pair *p,
			    uint64_t src_off, uint64_t len, char *why,
			    size_t whylen)
{
	(void)c; (void)src_off; (void)len;
	if (!svm_pair_local(p)) {
		snprintf(why, whylen, "buffered: %s is not a local file or device",
			 p->sf ? p->ext.dst.path : p->ext.src.path);
		return -EOPNOTSUPP;
	}
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
	const struct buffered_pair *bp = p->bk[SVM_BK_BUFFERED];

	return svm_pair_local(p) && !p->sf->blk && !p->df->blk &&
	       p->sf->st.st_dev == p->df->st.st_dev &&
	       !svm_copy_scan_zeros(c, p) && !(bp && bp->no_kernel_copy) &&
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
		n = copy_file_range(p->sf->fd, &in, p->df->fd, &out, want, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && svm_copy_is_refusal(-errno)) {
			struct buffered_pair *bp =
				svm_pair_state(p, &svm_copy_ops_buffered,
					       sizeof(*bp));

			if (bp)
				bp->no_kernel_copy = true;
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
			n = pread(p->sf->fd, buf + got, want - got, pos + got);
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
				ret = svm_copy_pwrite_all(p->df->fd, buf + off, run,
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
	.id = SVM_BK_BUFFERED,
	.mode = SVM_MODE_BUFFERED,
	.applies = buffered_applies,
	.copy = buffered_copy,
	.fini = no_fini,
};

