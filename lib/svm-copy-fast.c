// SPDX-License-Identifier: GPL-2.0
/*
 * svm-copy-fast.c - libsvmotion data mover, mode "fast": two backends.
 *
 *   cfr   copy_file_range() between regular files of one filesystem (the
 *         kernel may reflink or copy server-side); formats same and
 *         thick-eager only (it cannot skip zero blocks).
 *   fast  O_DIRECT through io_uring with registered buffers and files and a
 *         queue of queue_depth chunks of io_size bytes, each read then
 *         written (zero runs handled per the format). If io_uring_queue_init
 *         fails with ENOSYS or EPERM (kernel.io_uring_disabled, seccomp, old
 *         kernel) or SVM_COPY_FORCE_LIBAIO=1 is set, libaio does the same
 *         (result.libaio_fallback).
 *
 * Both refuse ranges not aligned to both ends' O_DIRECT alignment (logical
 * block size) and ends that cannot be opened with O_DIRECT.
 *
 * Test hook: SVM_COPY_FAULT_FAST_EINVAL_AT=<source offset> (see fast_copy).
 */
#include <errno.h>
#include <libaio.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "svm-copy-int.h"
#include "svm-ds.h"
#include "svm-util.h"

#define CFR_CHUNK (16ULL << 20)

/* What copy_file_range does between a pair's files, found once per pair. */
enum cfr_kind {
	CFR_UNPROBED = 0,
	CFR_SERVER,		/* NFSv4.2: a server-side COPY, once proven */
	CFR_CLONE,		/* try a reflink clone (FICLONERANGE) */
	CFR_NONE,		/* neither: not used */
};

struct cfr_pair {
	enum cfr_kind kind;
	/*
	 * CFR_SERVER: the mount's counters showed the server doing the COPY
	 * (a kernel whose server refuses COPY falls back to a copy through
	 * this host, silently): not assumed, seen after the first call
	 */
	bool proven;
	char mnt[PATH_MAX];	/* CFR_SERVER: the NFS mount point */
	char why[160];		/* CFR_NONE: why not */
};

/*
 * An NFS destination: copy_file_range is a server-side COPY only on an
 * NFSv4.2 mount (on v3 and v4.0/4.1 the kernel copies through this host).
 */
static enum cfr_kind cfr_nfs_kind(struct svm_pair *p, struct cfr_pair *cp)
{
	struct svm_ds_mount *m = malloc(sizeof(*m));
	struct svm_ds_nfs n;
	enum cfr_kind k = CFR_NONE;

	if (!m) {
		snprintf(cp->why, sizeof(cp->why), "copy_file_range: out of memory");
		return CFR_NONE;
	}
	if (svm_ds_mount_of(p->ext.dst.path, m) || svm_ds_parse_nfs(m, &n)) {
		snprintf(cp->why, sizeof(cp->why),
			 "copy_file_range: the NFS mount of %s is not in the mount table",
			 p->ext.dst.path);
	} else if (strcmp(n.vers, "4.2")) {
		snprintf(cp->why, sizeof(cp->why),
			 "copy_file_range: NFS v%s has no server-side COPY (v4.2 has)",
			 n.vers);
	} else {
		snprintf(cp->mnt, sizeof(cp->mnt), "%s", m->point);
		k = CFR_SERVER;
	}
	free(m);
	return k;
}

/*
 * Files on two NFSv4.2 mounts of one server (two exports, each mounted):
 * the kernel client sends a COPY between them to the server like one within
 * a mount (intra-server copy; the server copies if both are on one of its
 * filesystems and says so otherwise, then the next backend copies).
 */
bool svm_copy_nfs_one_server(const char *a, const char *b)
{
	struct svm_ds_mount *m = malloc(2 * sizeof(*m));
	struct svm_ds_nfs na, nb;
	bool same = false;

	if (!m)
		return false;
	if (!svm_ds_mount_of(a, &m[0]) && !svm_ds_parse_nfs(&m[0], &na) &&
	    !svm_ds_mount_of(b, &m[1]) && !svm_ds_parse_nfs(&m[1], &nb))
		same = !strcmp(na.vers, "4.2") && !strcmp(nb.vers, "4.2") &&
		       na.addr[0] && !strcmp(na.addr, nb.addr);
	free(m);
	return same;
}

static enum cfr_kind cfr_kind(const struct svm_pair *p)
{
	const struct cfr_pair *cp = p->bk[SVM_BK_CFR];

	return cp ? cp->kind : CFR_UNPROBED;
}

bool svm_copy_cfr_is_offload(const struct svm_pair *p)
{
	return cfr_kind(p) == CFR_SERVER;
}

static int check_aligned(struct svm_pair *p, uint64_t src_off, uint64_t len,
			 char *why, size_t whylen)
{
	unsigned int a;
	uint64_t d = p->ext.dst.offset + (src_off - p->ext.src.offset);

	if (!svm_pair_local(p)) {
		snprintf(why, whylen, "%s is not a local file or device",
			 p->sf ? p->ext.dst.path : p->ext.src.path);
		return -EOPNOTSUPP;
	}
	if (p->sf->dfd < 0 || p->df->dfd < 0) {
		snprintf(why, whylen, "%s cannot be opened with O_DIRECT",
			 p->sf->dfd < 0 ? p->ext.src.path : p->ext.dst.path);
		return -EINVAL;
	}
	a = p->sf->align > p->df->align ? p->sf->align : p->df->align;
	if (src_off % a || d % a || len % a) {
		snprintf(why, whylen,
			 "offsets and length must be multiples of the logical block size %u (source offset %llu, destination offset %llu, length %llu)",
			 a, (unsigned long long)src_off, (unsigned long long)d,
			 (unsigned long long)len);
		return -EINVAL;
	}
	return 0;
}

/* ---- copy_file_range ---------------------------------------------------- */

static int cfr_applies(struct svm_copy *c, struct svm_pair *p, uint64_t src_off,
		       uint64_t len, char *why, size_t whylen)
{
	struct statfs sf;
	struct cfr_pair *cp;

	if (!svm_pair_local(p) || p->sf->blk || p->df->blk ||
	    (p->sf->st.st_dev != p->df->st.st_dev &&
	     !svm_copy_nfs_one_server(p->ext.src.path, p->ext.dst.path))) {
		snprintf(why, whylen, "copy_file_range: not two files of one filesystem or of one NFSv4.2 server");
		return -EXDEV;
	}
	cp = svm_pair_state(p, &svm_copy_ops_cfr, sizeof(*cp));
	if (!cp) {
		snprintf(why, whylen, "copy_file_range: out of memory");
		return -EOPNOTSUPP;
	}
	/*
	 * Worth it only where the kernel does better than our O_DIRECT queue:
	 * NFS (server-side copy) and reflink clones (format same). Elsewhere
	 * copy_file_range is a page-cache copy, slower than O_DIRECT.
	 */
	if (cp->kind == CFR_UNPROBED) {
		if (!fstatfs(p->df->fd, &sf) && sf.f_type == NFS_SUPER_MAGIC)
			cp->kind = cfr_nfs_kind(p, cp);
		else
			cp->kind = CFR_CLONE;
	}
	if (cp->kind == CFR_NONE) {
		snprintf(why, whylen, "%s", cp->why[0] ? cp->why :
			 "copy_file_range: no reflink here and not NFS");
		return -EOPNOTSUPP;
	}
	if (cp->kind == CFR_CLONE && c->opts.format != SVM_FORMAT_SAME) {
		snprintf(why, whylen, "reflink clones share blocks: format same only");
		return -EOPNOTSUPP;
	}
	if (c->opts.format != SVM_FORMAT_SAME &&
	    c->opts.format != SVM_FORMAT_THICK_EAGER) {
		snprintf(why, whylen, "copy_file_range cannot skip zero blocks");
		return -EOPNOTSUPP;
	}
	return check_aligned(p, src_off, len, why, whylen);
}

/* A reflink clone of the range; 0, or a refusal for the next backend. */
static int cfr_clone(struct svm_copy *c, struct svm_range *r)
{
	struct svm_pair *p = r->p;
	struct file_clone_range fcr = {
		.src_fd = p->sf->fd,
		.src_offset = r->src_off,
		.src_length = r->len,
		.dest_offset = svm_range_dst(r, r->src_off),
	};
	int ret;

	ret = svm_copy_throttle(c, r->len);
	if (ret) {
		r->fail_off = r->src_off;
		return ret;
	}
	if (ioctl(p->df->fd, FICLONERANGE, &fcr)) {
		ret = -errno;
		/* no reflink on this filesystem: stop trying */
		if (ret != -EINVAL)
			((struct cfr_pair *)p->bk[SVM_BK_CFR])->kind = CFR_NONE;
		r->fail_off = r->src_off;
		return -EOPNOTSUPP;
	}
	svm_copy_account(c, r, SVM_MODE_FAST, r->len, 0);
	r->offloaded += r->len;		/* shared blocks: nothing moved */
	return 0;
}

/*
 * Whether the NFS server did the n bytes copy_file_range just copied,
 * from the mount's counters before (s0) and after: COPY calls, and not
 * the bytes written through this host. Other writers on the mount can
 * make it look like not: the copy then goes on without it, safe.
 */
static bool cfr_server_did(const struct svm_nfs_ops *s0,
			   const struct svm_nfs_ops *s1, uint64_t n)
{
	return s1->copy_ops > s0->copy_ops &&
	       s1->write_bytes - s0->write_bytes < n / 2;
}

static int cfr_copy(struct svm_copy *c, struct svm_range *r)
{
	struct svm_pair *p = r->p;
	loff_t in = r->src_off, out = svm_range_dst(r, r->src_off);
	uint64_t end = r->src_off + r->len;
	ssize_t n;
	int ret;

	struct cfr_pair *cp = p->bk[SVM_BK_CFR];
	struct svm_nfs_ops s0, s1 = { 0 };

	if (cfr_kind(p) == CFR_CLONE)
		return cfr_clone(c, r);	/* a clone keeps the holes */
	while ((uint64_t)in < end) {
		uint64_t pos = in, data_end;
		size_t want;
		loff_t at;

		/* copy_file_range would write holes as zeros: skip them */
		ret = svm_range_data(c, r, &pos, &data_end);
		if (ret)
			return ret;
		if (pos >= end)
			break;
		out += pos - in;
		in = pos;
		at = in;
		want = data_end - in < CFR_CHUNK ? data_end - in : CFR_CHUNK;

		/* rate-limited: chunks of at most 1/10 s, so the pace holds */
		if (c->opts.rate_limit && want > c->opts.rate_limit / 10) {
			want = c->opts.rate_limit / 10 / 4096 * 4096;
			if (!want)
				want = 4096;
			if (want > data_end - in)
				want = data_end - in;
		}

		ret = svm_copy_throttle(c, want);
		if (ret) {
			r->fail_off = in;
			return ret;
		}
		if (!cp->proven && svm_ds_nfs_ops(cp->mnt, &s0)) {
			cp->kind = CFR_NONE;
			svm_set_err(cp->why, sizeof(cp->why),
				    "copy_file_range: no counters for %s in /proc/self/mountstats to see the server's COPY",
				    cp->mnt);
			snprintf(r->why, sizeof(r->why), "%s", cp->why);
			r->fail_off = at;
			return -EOPNOTSUPP;
		}
		n = copy_file_range(p->sf->fd, &in, p->df->fd, &out, want, 0);
		if (n > 0 && !cp->proven) {
			if (svm_ds_nfs_ops(cp->mnt, &s1) || !cfr_server_did(&s0, &s1, n)) {
				/* copied, but through this host: the next backend redoes it */
				cp->kind = CFR_NONE;
				svm_set_err(cp->why, sizeof(cp->why),
					    "copy_file_range on %s: the server did no COPY (%llu bytes written through this host for %zd)",
					    cp->mnt,
					    (unsigned long long)(s1.write_bytes - s0.write_bytes), n);
				snprintf(r->why, sizeof(r->why), "%s", cp->why);
				r->fail_off = at;
				return -EOPNOTSUPP;
			}
			cp->proven = true;
		}
		if (n > 0)
			r->offloaded += n;	/* the server copied it */
		if (n < 0) {
			ret = -errno;
			if (ret == -EINTR)
				continue;
			r->fail_off = at;
			if (svm_copy_is_refusal(ret))
				return ret;
			return svm_copy_fail(c, ret, at,
					     "copy_file_range %s -> %s at %llu: %s%s",
					     p->ext.src.path, p->ext.dst.path,
					     (unsigned long long)at, strerror(-ret),
					     ret == -ENOSPC ? " (destination out of space)" : "");
		}
		if (n == 0) {
			r->fail_off = at;
			return svm_copy_fail(c, -EIO, at,
					     "source %s ended at %llu, before the end of the extent",
					     p->ext.src.path, (unsigned long long)at);
		}
		svm_copy_account(c, r, SVM_MODE_FAST, n, 0);
	}
	return 0;
}

static void cfr_fini(struct svm_copy *c)
{
	(void)c;
}

const struct svm_copy_ops svm_copy_ops_cfr = {
	.name = "copy_file_range",
	.id = SVM_BK_CFR,
	.mode = SVM_MODE_FAST,
	.applies = cfr_applies,
	.copy = cfr_copy,
	.fini = cfr_fini,
};

/* ---- O_DIRECT through io_uring (or libaio) ------------------------------ */

/*
 * A read of [off, off + len) failed: find its first unreadable block with
 * small synchronous reads, so the error names where it really is.
 */
static uint64_t first_bad(const struct svm_pair *p, unsigned char *buf,
			  uint64_t off, size_t len)
{
	size_t step = 4096, done, n;

	if (p->sf->align && 4096 % p->sf->align)
		step = p->sf->align;
	for (done = 0; done < len; done += n) {
		n = len - done < step ? len - done : step;
		if (pread(p->sf->dfd, buf, n, off + done) != (ssize_t)n)
			return off + done;
	}
	return off;
}

enum slot_state { SLOT_FREE, SLOT_READ, SLOT_WRITE, SLOT_ZERO };

struct slot {
	enum slot_state state;
	uint64_t off;		/* source offset of the chunk */
	size_t len;		/* chunk length */
	size_t cur;		/* bytes of the chunk handled */
	size_t wr_len;		/* write in flight: [cur, cur + wr_len) */
	size_t wr_done;		/* ... of which done (short writes) */
	size_t zr_len;		/* zero run being unmapped: [cur, cur + zr_len) */
	unsigned char *buf;
};

struct fast {
	bool inited, ring_inited, use_aio, fixed_bufs, fixed_files;
	int init_err;
	char init_why[128];
	struct io_uring ring;
	io_context_t aio;
	struct iocb *iocbs;
	struct io_event *evs;
	int nev, evpos;
	unsigned char *mem;		/* the slots' buffers (fast_buffers) */
	size_t mem_len;
	struct slot *slots;
	unsigned int nslots;
};

/*
 * The slots' buffers, at the first copy rather than at init: a backend
 * that is only asked whether it applies (the coordinator of a hot copy,
 * whose workers copy with backends of their own) never takes queue_depth
 * x io_size (128 MiB by default) of buffers. Anonymous memory: page
 * aligned, zero-filled by the kernel and so defined for valgrind (which
 * does not see io_uring's reads), with no pass over it here;
 * io_uring_register_buffers faults it in. Out of memory is a refusal, as
 * it was at init.
 */
static int fast_buffers(struct svm_copy *c)
{
	struct fast *f = c->bk[SVM_BK_FAST];
	struct iovec *iov;
	unsigned int i;

	f->mem_len = (size_t)f->nslots * c->io_size;
	f->mem = mmap(NULL, f->mem_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f->mem == MAP_FAILED) {
		f->mem = NULL;
		f->init_err = -ENOMEM;
		return -EOPNOTSUPP;
	}
	for (i = 0; i < f->nslots; i++)
		f->slots[i].buf = f->mem + (size_t)i * c->io_size;
	if (f->use_aio)
		return 0;
	iov = calloc(f->nslots, sizeof(*iov));
	if (iov) {
		for (i = 0; i < f->nslots; i++) {
			iov[i].iov_base = f->slots[i].buf;
			iov[i].iov_len = c->io_size;
		}
		f->fixed_bufs = !io_uring_register_buffers(&f->ring, iov,
							   f->nslots);
		free(iov);
	}
	return 0;
}

static int fast_init(struct svm_copy *c)
{
	struct fast *f = calloc(1, sizeof(*f));
	const char *force = getenv("SVM_COPY_FORCE_LIBAIO");
	int *fds = NULL;
	unsigned int i;
	int ret;

	if (!f)
		return -ENOMEM;
	c->bk[SVM_BK_FAST] = f;
	f->inited = true;
	f->nslots = c->qd;
	f->slots = calloc(f->nslots, sizeof(*f->slots));
	if (!f->slots)
		return f->init_err = -ENOMEM;

	ret = -ENOSYS;
	if (!(force && !strcmp(force, "1")))
		ret = io_uring_queue_init(2 * f->nslots, &f->ring, 0);
	if (ret == 0) {
		f->ring_inited = true;
		fds = calloc(2 * c->nr_pairs, sizeof(*fds));
		if (fds) {
			for (i = 0; i < c->nr_pairs; i++) {
				const struct svm_pair *p = &c->pairs[i];

				fds[2 * i] = p->sf ? p->sf->dfd : -1;
				fds[2 * i + 1] = p->df ? p->df->dfd : -1;
			}
			f->fixed_files = !io_uring_register_files(&f->ring, fds,
								  2 * c->nr_pairs);
		}
		free(fds);
		return 0;
	}
	if (ret != -ENOSYS && ret != -EPERM) {
		snprintf(f->init_why, sizeof(f->init_why), "io_uring_queue_init: %s",
			 strerror(-ret));
		return f->init_err = ret;
	}
	f->use_aio = true;
	f->iocbs = calloc(f->nslots, sizeof(*f->iocbs));
	f->evs = calloc(f->nslots, sizeof(*f->evs));
	if (!f->iocbs || !f->evs)
		return f->init_err = -ENOMEM;
	ret = io_setup(f->nslots, &f->aio);
	if (ret < 0) {
		f->aio = 0;
		snprintf(f->init_why, sizeof(f->init_why),
			 "io_uring unavailable and io_setup: %s", strerror(-ret));
		return f->init_err = ret;
	}
	return 0;
}

static void fast_fini(struct svm_copy *c)
{
	struct fast *f = c->bk[SVM_BK_FAST];

	if (!f)
		return;
	if (f->ring_inited)
		io_uring_queue_exit(&f->ring);
	if (f->use_aio && f->aio)
		io_destroy(f->aio);
	free(f->iocbs);
	free(f->evs);
	if (f->mem)
		munmap(f->mem, f->mem_len);
	free(f->slots);
	free(f);
	c->bk[SVM_BK_FAST] = NULL;
}

static int fast_applies(struct svm_copy *c, struct svm_pair *p, uint64_t src_off,
			uint64_t len, char *why, size_t whylen)
{
	struct fast *f;
	int ret = check_aligned(p, src_off, len, why, whylen);

	if (ret)
		return ret;
	if (!c->bk[SVM_BK_FAST])
		fast_init(c);
	f = c->bk[SVM_BK_FAST];
	if (!f)
		return -ENOMEM;
	if (f->init_err) {
		snprintf(why, whylen, "%s", f->init_why[0] ? f->init_why : "out of memory");
		return -EOPNOTSUPP;
	}
	return 0;
}

static int fast_submit(struct svm_copy *c, unsigned int s, bool write,
		       size_t pi, size_t bufoff, size_t len, uint64_t off)
{
	struct fast *f = c->bk[SVM_BK_FAST];
	struct svm_pair *p = &c->pairs[pi];
	struct slot *sl = &f->slots[s];
	int fd = write ? p->df->dfd : p->sf->dfd;
	int ret;

	if (f->use_aio) {
		struct iocb *cb = &f->iocbs[s];

		if (write)
			io_prep_pwrite(cb, fd, sl->buf + bufoff, len, off);
		else
			io_prep_pread(cb, fd, sl->buf + bufoff, len, off);
		cb->data = (void *)(uintptr_t)s;
		do {
			ret = io_submit(f->aio, 1, &cb);
		} while (ret == -EINTR || ret == -EAGAIN);
		return ret < 0 ? ret : 0;
	} else {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);
		int fidx = f->fixed_files ? (int)(2 * pi + (write ? 1 : 0)) : fd;

		if (!sqe) {
			io_uring_submit(&f->ring);
			sqe = io_uring_get_sqe(&f->ring);
			if (!sqe)
				return -EBUSY;
		}
		if (f->fixed_bufs && write)
			io_uring_prep_write_fixed(sqe, fidx, sl->buf + bufoff, len, off, s);
		else if (f->fixed_bufs)
			io_uring_prep_read_fixed(sqe, fidx, sl->buf + bufoff, len, off, s);
		else if (write)
			io_uring_prep_write(sqe, fidx, sl->buf + bufoff, len, off);
		else
			io_uring_prep_read(sqe, fidx, sl->buf + bufoff, len, off);
		if (f->fixed_files)
			sqe->flags |= IOSQE_FIXED_FILE;
		io_uring_sqe_set_data(sqe, (void *)(uintptr_t)s);
		return 0;
	}
}

/*
 * Whether a zero run of pair pi can be unmapped asynchronously: the first
 * thing svm_copy_zero would try there is PUNCH_HOLE on a block device (an
 * unmap the kernel only does where the device guarantees zeros), which
 * io_uring runs in its workers while the queue's reads and writes go on.
 */
static bool async_zero(const struct svm_copy *c, const struct svm_pair *p)
{
	return !((const struct fast *)c->bk[SVM_BK_FAST])->use_aio && p->df->blk &&
	       p->dst->fresh_from == UINT64_MAX &&
	       (c->opts.format == SVM_FORMAT_THIN ||
		c->opts.format == SVM_FORMAT_SAME);
}

static int fast_submit_punch(struct svm_copy *c, unsigned int s, size_t pi,
			     uint64_t off, uint64_t len)
{
	struct fast *f = c->bk[SVM_BK_FAST];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);
	int fidx = f->fixed_files ? (int)(2 * pi + 1) : c->pairs[pi].df->dfd;

	if (!sqe) {
		io_uring_submit(&f->ring);
		sqe = io_uring_get_sqe(&f->ring);
		if (!sqe)
			return -EBUSY;
	}
	io_uring_prep_fallocate(sqe, fidx, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				off, len);
	if (f->fixed_files)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, (void *)(uintptr_t)s);
	return 0;
}

/* Wait for one completion: its slot and result (bytes or -errno). */
static int fast_reap(struct svm_copy *c, unsigned int *s, long *res)
{
	struct fast *f = c->bk[SVM_BK_FAST];
	int ret;

	if (f->use_aio) {
		while (f->evpos >= f->nev) {
			ret = io_getevents(f->aio, 1, f->nslots, f->evs, NULL);
			if (ret == -EINTR)
				continue;
			if (ret < 0)
				return ret;
			f->nev = ret;
			f->evpos = 0;
		}
		*s = (uintptr_t)f->evs[f->evpos].data;
		*res = (long)f->evs[f->evpos].res;
		f->evpos++;
		return 0;
	} else {
		struct io_uring_cqe *cqe;

		do {
			ret = io_uring_submit_and_wait(&f->ring, 1);
		} while (ret == -EINTR);
		if (ret < 0)
			return ret;
		do {
			ret = io_uring_wait_cqe(&f->ring, &cqe);
		} while (ret == -EINTR);
		if (ret < 0)
			return ret;
		*s = (uintptr_t)io_uring_cqe_get_data(cqe);
		*res = cqe->res;
		io_uring_cqe_seen(&f->ring, cqe);
		return 0;
	}
}

struct fast_run {
	struct svm_copy *c;
	struct svm_range *r;
	size_t pi;
	bool scan;
	bool stop;
	int err;
	unsigned int inflight;
	uint64_t abandoned;	/* lowest source offset left undone */
};

static void abandon(struct fast_run *fr, uint64_t off)
{
	if (off < fr->abandoned)
		fr->abandoned = off;
}

static void stop_with(struct fast_run *fr, int err, uint64_t off)
{
	if (!fr->err)
		fr->err = err;
	fr->stop = true;
	abandon(fr, off);
}

/* Handle the chunk of slot s from sl->cur on: zero runs, next write. */
static void advance(struct fast_run *fr, unsigned int s)
{
	struct svm_copy *c = fr->c;
	struct fast *f = c->bk[SVM_BK_FAST];
	struct slot *sl = &f->slots[s];
	int ret;

	while (sl->cur < sl->len) {
		bool zero = false;
		size_t run = fr->scan ? svm_copy_run_len(c, sl->buf + sl->cur,
							 sl->len - sl->cur, &zero)
				      : sl->len - sl->cur;

		if (fr->stop) {
			abandon(fr, sl->off + sl->cur);
			break;
		}
		if (zero && async_zero(c, fr->r->p) &&
		    !fast_submit_punch(c, s, fr->pi,
				       svm_range_dst(fr->r, sl->off + sl->cur), run)) {
			sl->zr_len = run;
			sl->state = SLOT_ZERO;
			fr->inflight++;
			return;
		}
		if (zero) {
			ret = svm_copy_zero(c, fr->r, sl->off + sl->cur, run);
			if (ret) {
				stop_with(fr, ret, sl->off + sl->cur);
				break;
			}
			sl->cur += run;
			continue;
		}
		sl->wr_len = run;
		sl->wr_done = 0;
		ret = fast_submit(c, s, true, fr->pi, sl->cur, run,
				  svm_range_dst(fr->r, sl->off + sl->cur));
		if (ret) {
			svm_copy_fail(c, ret, sl->off + sl->cur, "submitting a write: %s",
				      strerror(-ret));
			stop_with(fr, ret, sl->off + sl->cur);
			break;
		}
		sl->state = SLOT_WRITE;
		fr->inflight++;
		return;
	}
	sl->state = SLOT_FREE;
}

static int fast_copy(struct svm_copy *c, struct svm_range *r)
{
	struct fast *f = c->bk[SVM_BK_FAST];
	struct svm_pair *p = r->p;
	struct fast_run fr = {
		.c = c, .r = r, .pi = p - c->pairs,
		.scan = svm_copy_scan_zeros(c, p), .abandoned = UINT64_MAX,
	};
	uint64_t next = r->src_off, end = r->src_off + r->len;
	uint64_t data_end = r->sparse ? r->src_off : end;
	unsigned int s, i;
	long res;
	int ret;

	/*
	 * Test hook: SVM_COPY_FAULT_FAST_EINVAL_AT=<source offset> fails the
	 * read of the chunk holding that offset with EINVAL (as O_DIRECT does
	 * on a misfit), to exercise the fall back range by range.
	 */
	const char *fault = getenv("SVM_COPY_FAULT_FAST_EINVAL_AT");
	uint64_t fault_at = fault ? strtoull(fault, NULL, 0) : UINT64_MAX;

	if (!f->mem) {
		ret = fast_buffers(c);
		if (ret)
			return ret;
	}
	if (f->use_aio)
		c->res->libaio_fallback = true;
	for (i = 0; i < f->nslots; i++)
		f->slots[i].state = SLOT_FREE;
	for (;;) {
		for (i = 0; i < f->nslots && !fr.stop && next < end; i++) {
			struct slot *sl = &f->slots[i];
			size_t n;

			if (sl->state != SLOT_FREE)
				continue;
			if (next >= data_end) {
				/* holes in a sparse range: zeroed per the format */
				ret = svm_range_data(c, r, &next, &data_end);
				if (ret) {
					stop_with(&fr, ret, next);
					break;
				}
				if (next >= end)
					break;
			}
			n = data_end - next < c->io_size ? data_end - next : c->io_size;
			/* not due yet: reap what is in flight rather than sleep */
			if (fr.inflight && svm_copy_rate_wait(c, n) > 0)
				break;
			ret = svm_copy_throttle(c, n);
			if (ret) {
				stop_with(&fr, ret, next);
				break;
			}
			sl->off = next;
			sl->len = n;
			sl->cur = 0;
			ret = fast_submit(c, i, false, fr.pi, 0, n, next);
			if (ret) {
				svm_copy_fail(c, ret, next, "submitting a read: %s",
					      strerror(-ret));
				stop_with(&fr, ret, next);
				break;
			}
			sl->state = SLOT_READ;
			fr.inflight++;
			next += n;
		}
		if (!fr.inflight)
			break;
		ret = fast_reap(c, &s, &res);
		if (ret) {
			/* the queue is broken: nothing more can be trusted */
			svm_copy_fail(c, ret, next, "waiting for I/O: %s", strerror(-ret));
			stop_with(&fr, ret, r->src_off);
			break;
		}
		fr.inflight--;
		if (s >= f->nslots)
			continue;
		if (f->slots[s].state == SLOT_READ) {
			struct slot *sl = &f->slots[s];

			if (fault_at != UINT64_MAX && fault_at >= sl->off &&
			    fault_at < sl->off + sl->len)
				res = -EINVAL;

			if (res < 0 || (size_t)res != sl->len) {
				int e = res < 0 ? (int)res : -EIO;
				uint64_t at = sl->off + (res > 0 ? res : 0);

				if (res < 0 && !svm_copy_is_refusal(e))
					at = first_bad(p, sl->buf, sl->off, sl->len);
				if (!svm_copy_is_refusal(e))
					svm_copy_fail(c, e, at,
						      res < 0 ? "reading %s at %llu: %s" :
						      "reading %s at %llu: %s (source ended early)",
						      p->ext.src.path,
						      (unsigned long long)at, strerror(-e));
				stop_with(&fr, e, svm_copy_is_refusal(e) ? sl->off : at);
				sl->state = SLOT_FREE;
				continue;
			}
			advance(&fr, s);
		} else if (f->slots[s].state == SLOT_WRITE) {
			struct slot *sl = &f->slots[s];
			uint64_t at = sl->off + sl->cur + sl->wr_done;

			if (res <= 0) {
				int e = res < 0 ? (int)res : -EIO;

				if (!svm_copy_is_refusal(e))
					svm_copy_fail(c, e, at, "writing %s at %llu: %s%s",
						      p->ext.dst.path,
						      (unsigned long long)svm_range_dst(r, at),
						      strerror(-e),
						      e == -ENOSPC ? " (destination out of space)" : "");
				stop_with(&fr, e, at);
				sl->state = SLOT_FREE;
				continue;
			}
			sl->wr_done += res;
			if (sl->wr_done < sl->wr_len) {
				/* short write: the rest again (ENOSPC shows next) */
				at = sl->off + sl->cur + sl->wr_done;
				ret = fast_submit(c, s, true, fr.pi, sl->cur + sl->wr_done,
						  sl->wr_len - sl->wr_done,
						  svm_range_dst(r, at));
				if (ret) {
					svm_copy_fail(c, ret, at, "submitting a write: %s",
						      strerror(-ret));
					stop_with(&fr, ret, at);
					sl->state = SLOT_FREE;
				} else {
					fr.inflight++;
				}
				continue;
			}
			svm_copy_account(c, r, SVM_MODE_FAST, sl->wr_len, 0);
			sl->cur += sl->wr_len;
			advance(&fr, s);
		} else if (f->slots[s].state == SLOT_ZERO) {
			struct slot *sl = &f->slots[s];
			uint64_t at = sl->off + sl->cur;

			if (res < 0) {
				/* no unmap with zeros here: the rest of the chain */
				ret = svm_copy_zero(c, r, at, sl->zr_len);
				if (ret) {
					stop_with(&fr, ret, at);
					sl->state = SLOT_FREE;
					continue;
				}
			} else {
				svm_copy_account(c, r, SVM_MODE_FAST, 0, sl->zr_len);
			}
			sl->cur += sl->zr_len;
			advance(&fr, s);
		}
	}
	if (fr.err) {
		r->fail_off = fr.abandoned == UINT64_MAX ? next : fr.abandoned;
		return fr.err;
	}
	return 0;
}

const struct svm_copy_ops svm_copy_ops_fast = {
	.name = "fast",
	.id = SVM_BK_FAST,
	.mode = SVM_MODE_FAST,
	.applies = fast_applies,
	.copy = fast_copy,
	.fini = fast_fini,
};
