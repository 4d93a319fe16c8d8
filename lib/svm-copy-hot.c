// SPDX-License-Identifier: GPL-2.0
/*
 * svm-copy-hot.c - libsvmotion: hot copy, region by region under the
 * lock/commit protocol of a live dm-svmotion device. See svm-copy.h ("Hot
 * copy") and Documentation/dm-svmotion.rst.
 *
 * The thread that calls svm_copy_run() is the coordinator: it starts the
 * workers and reports progress until they end. Each worker owns a child
 * svm_copy (backends of its own, pairs copied, fds borrowed) and loops:
 * claim the next unit (region_bytes of one pair), throttle, lock it, copy
 * it through the chain, write back what went through the page cache, commit.
 * A unit is locked only while its own copy runs; every error path unlocks.
 * The ends reached through a URL and the trial of both ways: svm-copy-via.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "svm-copy-hot-int.h"
#include "svm-dm.h"

#define MAX_RECOPY		5	/* commits refused in a row for one unit */
#define LOCK_RETRY_SECONDS	30	/* a lock refused with EBUSY is retried */
#define LOCK_RETRY_MS_MIN	5	/* first wait after a refusal, doubling */
#define LOCK_RETRY_MS_MAX	250
/*
 * Regions locked at once by default: a guest write into a locked region
 * waits for its whole copy, so the share of the disk locked at once is what
 * the guest's tail latency pays for (16 x 2 MiB of a 1 GiB disk is 3 % of
 * its writes, above the p99). Four keep a device busy; more only queue.
 */
#define MAX_AUTO_WORKERS	4

static uint64_t unit_bytes(const struct svm_copy *c, const struct svm_pair *p)
{
	return c->opts.region_bytes ? c->opts.region_bytes : p->seg_region_bytes;
}

void svm_hot_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return;
	n = snprintf(err, errlen, "svm-copy: ");
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

/* ---- loop devices over files: copy between the files ------------------- */

/*
 * Whether the chain copies pair t (the backing files) better than the loop
 * devices: O_DIRECT on the files (the loop layer left out), copy_file_range
 * on NFS (a server-side copy), or the buffered kernel copy (one memory copy
 * per byte instead of two, where the files have no O_DIRECT, e.g. tmpfs).
 * Not for pread/pwrite (zero detection): no better than the devices.
 */
static bool files_gain(struct svm_copy *c, struct svm_pair *t)
{
	uint64_t off = t->ext.src.offset, len = t->ext.src.length;
	char why[160];
	unsigned int k;

	for (k = 0; k < c->chain_len; k++) {
		const struct svm_copy_ops *ops = c->chain[k];

		if (ops == &svm_copy_ops_fast &&
		    !ops->applies(c, t, off, len, why, sizeof(why)))
			return true;
		if (ops == &svm_copy_ops_cfr &&
		    !ops->applies(c, t, off, len, why, sizeof(why)) &&
		    svm_copy_cfr_is_offload(t))
			return true;
		if (ops == &svm_copy_ops_buffered)
			return svm_copy_kernel_copy_applies(c, t);
	}
	return false;
}

/*
 * Pair p's ends are loop devices over two files of one filesystem (how
 * svmotion attaches file extents): copy between the files themselves when
 * that is better (files_gain), so that the kernel's own copy (reflink, NFS
 * server-side copy, page cache to page cache) can do it. Coherent with the
 * guest's I/O through the loop devices: a loop device reads and writes its
 * file through the same page cache (or with O_DIRECT, which writes back and
 * drops the cached range first), and a region is locked while it is
 * copied. Anything that does not check out leaves the devices in place.
 * SVM_COPY_VIA_DEVICES=1 disables it (tests, benchmarks).
 */
void svm_hot_look_through(struct svm_copy *c, struct svm_pair *p,
			 const struct stat *sdev, const struct stat *ddev)
{
	struct svm_loop_end s = { .fd = -1, .dfd = -1 }, d = { .fd = -1, .dfd = -1 };
	struct svm_ep *se = NULL, *de = NULL;
	struct svm_pair t;
	unsigned int k;

	if (getenv("SVM_COPY_VIA_DEVICES"))
		return;
	/*
	 * Whatever was written through the device nodes' own page caches
	 * goes to the files first: the copy reads the source file, and a
	 * later writeback of an old destination page would overwrite it.
	 */
	if (sync_file_range(p->sf->fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
			    SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) ||
	    sync_file_range(p->df->fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
			    SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER))
		return;
	if (svm_loop_end_open(p->sf->fd, sdev, false, &s) ||
	    svm_loop_end_open(p->df->fd, ddev, true, &d))
		goto out;
	/* two files of one filesystem (or NFSv4.2 server), each long enough */
	if ((s.st.st_dev != d.st.st_dev &&
	     !svm_copy_nfs_one_server(s.path, d.path)) ||
	    (s.st.st_dev == d.st.st_dev && s.st.st_ino == d.st.st_ino) ||
	    s.offset + p->ext.src.offset + p->ext.src.length > s.size ||
	    d.offset + p->ext.dst.offset + p->ext.dst.length > d.size)
		goto out;
	/* the files' endpoints own their paths and fds from here on */
	se = svm_ep_file_adopt(s.path, s.fd, s.dfd, s.align, &s.st, s.size, false);
	if (!se)
		goto out;
	s.path = NULL;
	s.fd = s.dfd = -1;
	de = svm_ep_file_adopt(d.path, d.fd, d.dfd, d.align, &d.st, d.size, true);
	if (!de)
		goto out;
	d.path = NULL;
	d.fd = d.dfd = -1;
	t = *p;
	t.ext.src.path = se->name;
	t.ext.dst.path = de->name;
	t.ext.src.offset += s.offset;
	t.ext.dst.offset += d.offset;
	t.src = se;
	t.dst = de;
	t.sf = svm_ep_file(se);
	t.df = svm_ep_file(de);
	/* the backends probe the files afresh */
	memset(t.bk, 0, sizeof(t.bk));
	if (!files_gain(c, &t)) {
		for (k = 0; k < SVM_COPY_NR_BACKENDS; k++)
			free(t.bk[k]);
		goto out;
	}
	for (k = 0; k < SVM_COPY_NR_BACKENDS; k++)
		free(p->bk[k]);
	t.via_files = true;
	t.src_shift = s.offset;
	t.dst_shift = d.offset;
	/* the devices stay open: the destination's page cache is dropped */
	t.via_src_dev = p->src;
	t.via_dst_dev = p->dst;
	*p = t;
	c->via_files++;
	return;
out:
	svm_ep_close(se);
	svm_ep_close(de);
	svm_loop_end_close(&s);
	svm_loop_end_close(&d);
}

int svm_hot_prepare(struct svm_copy *c, const struct stat *sst,
		    const struct stat *dst, char *err, size_t errlen)
{
	const char *name = c->opts.dm_name;
	struct svm_seg_table *tab = NULL;
	struct svm_seg_status *st = NULL;
	struct svm_hot *h = NULL;
	uint64_t units = 0, maxunit = 0, ios;
	bool *used = NULL;
	int n, ns, ret;
	size_t i, j;

	for (i = 0; i < c->nr_pairs; i++) {
		if (!svm_pair_local(&c->pairs[i]) || !c->pairs[i].sf->blk ||
		    !c->pairs[i].df->blk) {
			svm_hot_set_err(err, errlen,
				"hot copy: %s and %s must be block devices (the devices of a dm-svmotion table)",
				c->pairs[i].ext.src.path, c->pairs[i].ext.dst.path);
			return -EINVAL;
		}
	}
	n = svm_dm_table(name, NULL, 0, err, errlen);
	if (n < 0)
		return n;
	if (n == 0) {
		svm_hot_set_err(err, errlen,
			"%s has no svmotion segment: a hot copy needs a dm-svmotion device",
			name);
		return -ENXIO;
	}
	tab = calloc(n, sizeof(*tab));
	st = calloc(n, sizeof(*st));
	used = calloc(n, sizeof(*used));
	h = calloc(1, sizeof(*h));
	if (!tab || !st || !used || !h) {
		ret = -ENOMEM;
		svm_hot_set_err(err, errlen, "out of memory");
		goto out;
	}
	ret = svm_dm_table(name, tab, n, err, errlen);
	if (ret >= 0)
		ret = ns = svm_dm_status(name, st, n, err, errlen);
	if (ret < 0)
		goto out;
	if (ns != n) {
		ret = -EAGAIN;
		svm_hot_set_err(err, errlen, "%s: its table changed while being read", name);
		goto out;
	}
	for (i = 0; i < c->nr_pairs; i++) {
		struct svm_pair *p = &c->pairs[i];
		const struct svm_extent *s = &p->ext.src, *d = &p->ext.dst;
		const struct svm_seg_table *t = NULL;
		const struct svm_seg_status *ss;
		uint64_t rb, ub;

		for (j = 0; j < (size_t)n && !t; j++) {
			const struct svm_seg_table *x = &tab[j];

			if (!used[j] &&
			    x->src_major == major(sst[i].st_rdev) &&
			    x->src_minor == minor(sst[i].st_rdev) &&
			    x->dst_major == major(dst[i].st_rdev) &&
			    x->dst_minor == minor(dst[i].st_rdev) &&
			    x->src_start * 512 == s->offset &&
			    x->dst_start * 512 == d->offset &&
			    x->len * 512 == s->length) {
				t = x;
				used[j] = true;
				ss = &st[j];
			}
		}
		if (!t) {
			ret = -EINVAL;
			svm_hot_set_err(err, errlen,
				"pair %zu (%s [%llu, +%llu) -> %s [%llu, +%llu)) is not a svmotion segment of %s: a hot copy copies whole segments as the table maps them",
				i, s->path, (unsigned long long)s->offset,
				(unsigned long long)s->length, d->path,
				(unsigned long long)d->offset,
				(unsigned long long)d->length, name);
			goto out;
		}
		rb = t->region_sectors * 512;
		ub = unit_bytes(c, p) ? unit_bytes(c, p) : rb;
		if (ub % rb) {
			ret = -EINVAL;
			svm_hot_set_err(err, errlen,
				"region size %llu is not a multiple of the region size %llu of %s's segment at sector %llu",
				(unsigned long long)ub, (unsigned long long)rb,
				name, (unsigned long long)t->start);
			goto out;
		}
		if (ss->state == SVM_STATE_FAILED) {
			ret = -EIO;
			svm_hot_set_err(err, errlen,
				"%s: the segment at sector %llu has failed (destination I/O error): abort the migration",
				name, (unsigned long long)t->start);
			goto out;
		}
		if (ss->copying) {
			ret = -EBUSY;
			svm_hot_set_err(err, errlen,
				"%s: %llu regions of the segment at sector %llu are locked by another mover",
				name, (unsigned long long)ss->copying,
				(unsigned long long)t->start);
			goto out;
		}
		if (ss->state == SVM_STATE_COPYING && ss->copied) {
			ret = -EBUSY;
			svm_hot_set_err(err, errlen,
				"%s: %llu of %llu regions of the segment at sector %llu are COPIED already: a hot copy starts from a freshly loaded svmotion table",
				name, (unsigned long long)ss->copied,
				(unsigned long long)ss->total,
				(unsigned long long)t->start);
			goto out;
		}
		p->seg_start = t->start;
		p->seg_region_bytes = rb;
		p->lock_timeout_ms = t->lock_timeout_ms ? t->lock_timeout_ms :
				     SVM_LOCK_TIMEOUT_DEFAULT_MS;
		p->write_hold_ms = t->dst_timeout_ms < 0 ? SVM_DST_TIMEOUT_DEFAULT_MS :
				   (unsigned int)t->dst_timeout_ms;
		p->synced = ss->state == SVM_STATE_SYNCED;
		p->nr_units = p->synced ? 0 : (s->length + ub - 1) / ub;
		units += p->nr_units;
		if (ub > maxunit)
			maxunit = ub;
		if (p->nr_units && !svm_hot_has_via(p))
			svm_hot_look_through(c, p, &sst[i], &dst[i]);
		else if (p->nr_units && c->opts.via_trial)
			svm_hot_trial_files(c, h, i, &sst[i], &dst[i]);
	}
	/* enough workers to keep queue_depth I/Os in flight */
	ios = (maxunit + c->io_size - 1) / c->io_size;
	h->nworkers = c->opts.regions_in_flight;
	if (!h->nworkers) {
		h->nworkers = (c->qd + ios - 1) / ios;
		if (h->nworkers < 2)
			h->nworkers = 2;
		if (h->nworkers > MAX_AUTO_WORKERS)
			h->nworkers = MAX_AUTO_WORKERS;
	}
	if (units < h->nworkers)
		h->nworkers = units ? units : 1;
	h->active = h->nworkers;
	if (c->opts.via_trial)
		svm_hot_trial_init(c, h, maxunit);
	/* no trial: the URLs are not taken */
	ret = !c->opts.via_trial || h->trying ? svm_hot_open_vias(c, h, err, errlen) : 0;
	if (ret)
		goto out;
	if (pthread_cond_init(&h->cond, NULL) == 0)
		h->cond_inited = true;
	if (h->trying && pthread_cond_init(&h->phase_cond, NULL) == 0)
		h->phase_cond_inited = true;
	if (h->trying && !h->phase_cond_inited) {
		ret = -ENOMEM;
		svm_hot_set_err(err, errlen, "out of memory");
		goto out;
	}
	c->hot = h;
	h = NULL;
	ret = 0;
out:
	if (h) {
		svm_hot_close_vias(c, h);
		svm_hot_free_kpairs(c, h);
		if (h->cond_inited)
			pthread_cond_destroy(&h->cond);
	}
	free(h);
	free(tab);
	free(st);
	free(used);
	return ret;
}

void svm_hot_free(struct svm_copy *c)
{
	struct svm_hot *h = c->hot;

	if (!h)
		return;
	if (h->cond_inited)
		pthread_cond_destroy(&h->cond);
	if (h->phase_cond_inited)
		pthread_cond_destroy(&h->phase_cond);
	svm_hot_close_vias(c, h);
	svm_hot_free_kpairs(c, h);
	free(h->w);
	free(h);
	c->hot = NULL;
}

/* A worker's child copy: backends of its own, the coordinator's fds. */
static struct svm_copy *kid_new(struct svm_copy *c, struct svm_copy_result *res,
				unsigned int qd, uint32_t io_size,
				unsigned int w, enum svm_way way)
{
	struct svm_copy *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->opts = c->opts;
	k->opts.progress = NULL;
	k->opts.rate_limit = 0;		/* the coordinator throttles units */
	k->opts.dm_name = NULL;
	k->parent = c;
	k->borrowed = true;
	k->cancel_fd = c->cancel_fd;
	k->qd = qd;
	k->io_size = io_size;
	k->range_bytes = c->range_bytes;
	k->total = c->total;
	k->t0 = c->t0;
	k->res = res;
	k->pairs = malloc(c->nr_pairs * sizeof(*k->pairs));
	if (!k->pairs || posix_memalign(&k->zeros, 4096, io_size)) {
		k->zeros = NULL;
		svm_copy_free(k);
		return NULL;
	}
	memset(k->zeros, 0, io_size);
	memcpy(k->pairs, c->pairs, c->nr_pairs * sizeof(*k->pairs));
	k->nr_pairs = c->nr_pairs;
	/* the endpoints are shared; the backends' state is the kid's own */
	for (size_t i = 0; i < k->nr_pairs; i++)
		memset(k->pairs[i].bk, 0, sizeof(k->pairs[i].bk));
	svm_hot_kid_pairs(c, k, w, way);
	svm_copy_build_chain(k);
	return k;
}

/* Wait on cond (under mu) for at most 100 ms. */
static void wait_a_while(pthread_cond_t *cond, pthread_mutex_t *mu)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 100 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(cond, mu, &ts);
}

/*
 * Claim the next unit and the way to copy it; false when there is none or
 * the copy stops. A trial's phase draining: wait for its end.
 */
static bool claim(struct svm_copy *c, size_t *pi, uint64_t *unit,
		  enum svm_way *way)
{
	struct svm_hot *h = c->hot;
	bool got = false;

	pthread_mutex_lock(&c->mu);
	while (!svm_copy_is_cancelled(c) && !atomic_load(&c->stop) &&
	       h->in_flight < h->active && h->next_pair < c->nr_pairs) {
		if (h->next_unit < c->pairs[h->next_pair].nr_units) {
			*way = svm_hot_way_of(c, &c->pairs[h->next_pair]);
			if (*way == SVM_WAY_WAIT) {
				wait_a_while(&h->phase_cond, &c->mu);
				continue;
			}
			*pi = h->next_pair;
			*unit = h->next_unit++;
			h->in_flight++;
			got = true;
			break;
		}
		h->next_pair++;
		h->next_unit = 0;
	}
	pthread_mutex_unlock(&c->mu);
	return got;
}

static const char *lock_hint(int ret)
{
	switch (ret) {
	case -EBUSY:
		return " (still refused after 30 s: the device stays suspended, or another mover holds these regions; see the kernel log)";
	case -EIO:
		return " (the target has failed: destination I/O error)";
	case -ENXIO:
		return " (the device is gone)";
	default:
		return "";
	}
}

/* Lock [first, first + count) of p's segment, retrying while refused. */
static int hot_lock(struct svm_copy *k, struct svm_pair *p, uint64_t first,
		    uint64_t count, uint64_t off)
{
	const char *name = k->parent->opts.dm_name;
	double give_up = svm_copy_now() + LOCK_RETRY_SECONDS;
	struct pollfd pfd = { .fd = k->cancel_fd, .events = POLLIN };
	int ms = LOCK_RETRY_MS_MIN;
	char err[256];
	int ret;

	for (;;) {
		if (svm_copy_is_cancelled(k))
			return svm_copy_fail(k, -ECANCELED, off, "cancelled");
		ret = svm_dm_lock(name, p->seg_start, first, count, err,
				  sizeof(err));
		if (ret != -EBUSY || svm_copy_now() > give_up)
			break;
		/* each refusal is logged by the target: back off */
		poll(&pfd, 1, ms);
		ms = ms * 2 > LOCK_RETRY_MS_MAX ? LOCK_RETRY_MS_MAX : ms * 2;
	}
	if (ret)
		return svm_copy_fail(k, ret, off,
				     "locking regions %llu+%llu of %s's segment at sector %llu: %s%s",
				     (unsigned long long)first,
				     (unsigned long long)count, name,
				     (unsigned long long)p->seg_start, err,
				     lock_hint(ret));
	return 0;
}

/*
 * Give a locked unit back (the mover's error path). A failure to do so is
 * added to the copy's message: the lock timeout will release it.
 */
static void hot_unlock(struct svm_copy *k, struct svm_pair *p, uint64_t first,
		       uint64_t count)
{
	struct svm_copy_result *r = k->res;
	char err[200], add[300];
	size_t n, i;

	if (!svm_dm_unlock(k->parent->opts.dm_name, p->seg_start, first, count,
			   err, sizeof(err)))
		return;
	snprintf(add, sizeof(add),
		 "; also, unlocking them failed (%s): the target's lock timeout releases them",
		 err);
	n = strlen(r->message);
	for (i = 0; add[i] && n + 1 < sizeof(r->message); i++)
		r->message[n++] = add[i];
	r->message[n] = '\0';
}

/*
 * What went through the page cache (buffered copies, zeros written with
 * pwrite) must be on the destination device before the commit: after it,
 * the guest's mirrored writes go to the device directly, and a later
 * writeback of an older page would overwrite them. Then drop the pages.
 */
static int hot_writeback(struct svm_copy *k, struct svm_pair *p, uint64_t off,
			 uint64_t len)
{
	uint64_t d = p->ext.dst.offset + (off - p->ext.src.offset);
	int ret;

	if (!p->df) {
		/*
		 * Reached through a URL: nothing of this host's page cache
		 * in between. An NFS WRITE is UNSTABLE: COMMIT it, as the
		 * kernel's O_DIRECT writes are committed, so that no server
		 * reboot loses what the target counts as COPIED. An iSCSI
		 * write that completed is where the kernel's would be.
		 */
		if (strcmp(p->dst->ops->kind, "nfs"))
			return 0;
		ret = p->dst->ops->flush(p->dst);
		if (ret)
			return svm_copy_fail(k, ret, off, "committing %s at %llu: %s",
					     p->ext.dst.path,
					     (unsigned long long)d, p->dst->msg);
		return 0;
	}
	if (sync_file_range(p->df->fd, d, len, SYNC_FILE_RANGE_WAIT_BEFORE |
			    SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER)) {
		ret = -errno;
		return svm_copy_fail(k, ret, off, "writing back %s at %llu: %s",
				     p->ext.dst.path, (unsigned long long)d,
				     strerror(-ret));
	}
	posix_fadvise(p->df->fd, d, len, POSIX_FADV_DONTNEED);
	/* the loop device's own cache of the range is stale now */
	if (p->via_dst_dev)
		posix_fadvise(svm_ep_file(p->via_dst_dev)->fd, d - p->dst_shift, len,
			      POSIX_FADV_DONTNEED);
	return 0;
}

/*
 * Lock, copy, write back and commit one unit of pair pi, the way kid k
 * goes. -EXDEV (nothing recorded, the unit unlocked): copy it again the
 * other way (svm_hot_switch_way).
 */
static int hot_unit(struct svm_copy *k, size_t pi, uint64_t unit,
		    enum svm_way way)
{
	struct svm_copy *c = k->parent;
	struct svm_hot *h = c->hot;
	struct svm_pair *p = &k->pairs[pi];
	uint64_t ub = unit_bytes(c, p);
	uint64_t off = p->ext.src.offset + unit * ub;
	uint64_t end = p->ext.src.offset + p->ext.src.length;
	uint64_t len = end - off < ub ? end - off : ub;
	uint64_t first = unit * (ub / p->seg_region_bytes);
	uint64_t count = (len + p->seg_region_bytes - 1) / p->seg_region_bytes;
	struct svm_copy_result *r = k->res;
	char err[200];
	unsigned int attempt;
	double t0, took_ms;
	bool timed_out, other;
	int ret;

	/* throttle before the lock: a region is locked only for its copy */
	ret = svm_copy_throttle(c, len);
	if (ret)
		return svm_copy_fail(k, ret, off, "cancelled");
	for (attempt = 1;; attempt++) {
		uint64_t copied = r->bytes_copied, skipped = r->bytes_skipped;
		uint64_t offloaded = r->bytes_offloaded;
		uint64_t by_mode[SVM_MODE_COUNT], by_bk[SVM_BACKEND_COUNT];
		int m;

		memcpy(by_mode, r->bytes_by_mode, sizeof(by_mode));
		memcpy(by_bk, r->bytes_by_backend, sizeof(by_bk));
		ret = hot_lock(k, p, first, count, off);
		if (ret)
			return ret;
		t0 = svm_copy_now();
		/*
		 * the guest wrote the source device underneath this host's
		 * page cache (not so for a loop device's file, which the
		 * loop device itself reads and writes through its cache)
		 */
		if (!p->via_files && p->sf)
			posix_fadvise(p->sf->fd, off, len, POSIX_FADV_DONTNEED);
		ret = svm_copy_span(k, p, off, off + len);
		if (!ret)
			ret = hot_writeback(k, p, off, len);
		if (!ret)
			ret = svm_dm_commit(c->opts.dm_name, p->seg_start, first,
					    count, err, sizeof(err));
		if (!ret)
			return 0;
		/* not committed: nothing of the unit counts as done */
		for (m = 0; m < SVM_MODE_COUNT; m++)
			by_mode[m] = r->bytes_by_mode[m] - by_mode[m];
		svm_copy_unaccount(k, r->bytes_copied - copied,
				   r->bytes_skipped - skipped, by_mode);
		for (m = 0; m < SVM_BACKEND_COUNT; m++)
			by_bk[m] = r->bytes_by_backend[m] - by_bk[m];
		svm_copy_unaccount_backends(k, by_bk, r->bytes_offloaded - offloaded);
		if (r->error) {
			/* the copy or the writeback failed (or was cancelled) */
			hot_unlock(k, p, first, count);
			return ret;
		}
		if (ret != -EBUSY) {
			svm_copy_fail(k, ret, off,
				      "committing regions %llu+%llu of %s's segment at sector %llu: %s",
				      (unsigned long long)first,
				      (unsigned long long)count, c->opts.dm_name,
				      (unsigned long long)p->seg_start, err);
			hot_unlock(k, p, first, count);
			return ret;
		}
		/* EBUSY: the lock was revoked (suspend, timeout); copy again */
		took_ms = (svm_copy_now() - t0) * 1000;
		if (attempt >= MAX_RECOPY)
			return svm_copy_fail(k, ret, off,
					     "regions %llu+%llu of %s's segment at sector %llu: the lock was revoked %u times in a row before the commit (the last copy of the unit took %.0f ms: a guest write held longer than dst_timeout_ms %u revokes it, so does lock_timeout_ms %u, or a suspend): storage this slow needs a higher --dst-timeout (guest writes into a region being copied then wait longer)",
					     (unsigned long long)first,
					     (unsigned long long)count,
					     c->opts.dm_name,
					     (unsigned long long)p->seg_start,
					     attempt, took_ms, p->write_hold_ms,
					     p->lock_timeout_ms);
		timed_out = took_ms >= p->lock_timeout_ms ||
			    (p->write_hold_ms && took_ms >= p->write_hold_ms);
		pthread_mutex_lock(&c->mu);
		c->res->regions_recopied++;
		/* revoked by a timeout, not by a suspend: fewer at once */
		if (timed_out && h->active > 1)
			h->active /= 2;
		other = svm_hot_switch_way(c, &c->pairs[pi], way, timed_out);
		pthread_mutex_unlock(&c->mu);
		if (other)
			return -EXDEV;
		if (svm_copy_is_cancelled(k))
			return svm_copy_fail(k, -ECANCELED, off, "cancelled");
	}
}

/* Unit unit of pair pi's bytes. */
static uint64_t unit_len(struct svm_copy *c, size_t pi, uint64_t unit)
{
	const struct svm_pair *p = &c->pairs[pi];
	uint64_t ub = unit_bytes(c, p), off = unit * ub;

	return p->ext.src.length - off < ub ? p->ext.src.length - off : ub;
}

static void *worker_main(void *arg)
{
	struct hot_worker *w = arg;
	struct svm_copy *k = w->kid[0] ? w->kid[0] : w->kid[1], *c = k->parent;
	struct svm_hot *h = c->hot;
	enum svm_way way;
	uint64_t unit, off0, copied0, offl;
	size_t pi;
	int ret;

	while (claim(c, &pi, &unit, &way)) {
		k = w->kid[way] ? w->kid[way] : w->kid[!way];
		off0 = k->res->bytes_offloaded;
		copied0 = k->res->bytes_copied;
		ret = hot_unit(k, pi, unit, way);
		if (ret == -EXDEV) {
			/* the trial gave this way up: the other, decided */
			way = way == SVM_WAY_KERNEL ? SVM_WAY_DIRECT : SVM_WAY_KERNEL;
			k = w->kid[way];
			off0 = k->res->bytes_offloaded;
			copied0 = k->res->bytes_copied;
			ret = hot_unit(k, pi, unit, way);
		}
		/* offloaded, nothing of the unit through this host */
		offl = k->res->bytes_offloaded - off0;
		pthread_mutex_lock(&c->mu);
		h->in_flight--;
		if (!ret) {
			c->res->regions_committed++;
			if (h->trying && svm_hot_has_via(&c->pairs[pi]) &&
			    svm_trial_done(&h->trial, way, unit_len(c, pi, unit),
					   offl && offl == k->res->bytes_copied - copied0,
					   svm_copy_now()))
				pthread_cond_broadcast(&h->phase_cond);
		} else {
			uint64_t off = c->pairs[pi].ext.src.offset +
				       unit * unit_bytes(c, &c->pairs[pi]);

			off -= c->pairs[pi].src_shift;	/* device terms */
			if (!h->undone || pi < h->undone_pair ||
			    (pi == h->undone_pair && off < h->undone_off)) {
				h->undone = true;
				h->undone_pair = pi;
				h->undone_off = off;
			}
			/* the first real failure is the copy's */
			if (ret != -ECANCELED && !c->res->error) {
				c->res->error = ret;
				c->res->error_offset = k->res->error_offset -
						       c->pairs[pi].src_shift;
				memcpy(c->res->message, k->res->message,
				       sizeof(c->res->message));
			}
			atomic_store(&c->stop, 1);
		}
		pthread_mutex_unlock(&c->mu);
		if (ret)
			break;
	}
	pthread_mutex_lock(&c->mu);
	if (!--h->running)
		pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int svm_hot_run(struct svm_copy *c)
{
	struct svm_hot *h = c->hot;
	uint64_t ios, maxunit = 0;
	unsigned int i, qd, started = 0;
	uint32_t io_size;
	size_t pi;
	int ret = 0;

	for (pi = 0; pi < c->nr_pairs; pi++)
		if (c->pairs[pi].nr_units && unit_bytes(c, &c->pairs[pi]) > maxunit)
			maxunit = unit_bytes(c, &c->pairs[pi]);
	if (!maxunit)
		return 0;	/* every segment SYNCED already */
	/* split queue_depth x io_size among the workers */
	io_size = maxunit < c->io_size ? (uint32_t)maxunit : c->io_size;
	ios = (maxunit + io_size - 1) / io_size;
	qd = c->qd / h->nworkers;
	if (qd > ios)
		qd = ios;
	if (!qd)
		qd = 1;
	h->w = calloc(h->nworkers, sizeof(*h->w));
	if (!h->w)
		return svm_copy_fail(c, -ENOMEM, c->pairs[0].ext.src.offset,
				     "out of memory");
	pthread_mutex_lock(&c->mu);
	for (i = 0; i < h->nworkers; i++) {
		struct hot_worker *w = &h->w[i];
		bool kernel = !h->via || c->opts.via_trial;
		bool direct = h->via;

		if (kernel)
			w->kid[0] = kid_new(c, &w->kres[0], qd, io_size, i,
					    SVM_WAY_KERNEL);
		if (direct)
			w->kid[1] = kid_new(c, &w->kres[1], qd, io_size, i,
					    SVM_WAY_DIRECT);
		if ((kernel && !w->kid[0]) || (direct && !w->kid[1]))
			break;
		h->running++;
		if (pthread_create(&w->thread, NULL, worker_main, w)) {
			h->running--;
			break;
		}
		w->started = true;
		started++;
	}
	if (!started) {
		pthread_mutex_unlock(&c->mu);
		ret = svm_copy_fail(c, -EAGAIN, c->pairs[0].ext.src.offset,
				    "cannot start the hot copy's worker threads");
		goto out;
	}
	while (h->running) {
		wait_a_while(&h->cond, &c->mu);
		pthread_mutex_unlock(&c->mu);
		svm_copy_report_progress(c, false);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
out:
	c->res->regions_at_once = h->nworkers;
	c->res->regions_at_once_end = h->active;
	for (i = 0; i < h->nworkers; i++) {
		struct hot_worker *w = &h->w[i];
		int k;

		if (w->started)
			pthread_join(w->thread, NULL);
		for (k = 0; k < 2; k++) {
			if (w->kid[k] && !c->res->error && !atomic_load(&c->stop) &&
			    svm_hot_flush_vias(w->kid[k]) && !c->res->error) {
				c->res->error = w->kres[k].error;
				c->res->error_offset = w->kres[k].error_offset;
				memcpy(c->res->message, w->kres[k].message,
				       sizeof(c->res->message));
			}
			if (w->kres[k].libaio_fallback)
				c->res->libaio_fallback = true;
			svm_copy_free(w->kid[k]);
			w->kid[k] = NULL;
		}
	}
	if (!c->res->error && !atomic_load(&c->stop))
		svm_hot_flush_kpairs(c, h);
	svm_hot_trial_result(c, h);
	if (!c->res->error && (svm_copy_is_cancelled(c) || atomic_load(&c->stop))) {
		uint64_t off;

		if (h->undone)
			off = h->undone_off;
		else if (h->next_pair < c->nr_pairs)
			off = c->pairs[h->next_pair].ext.src.offset -
			      c->pairs[h->next_pair].src_shift +
			      h->next_unit * unit_bytes(c, &c->pairs[h->next_pair]);
		else
			off = c->pairs[c->nr_pairs - 1].ext.src.offset -
			      c->pairs[c->nr_pairs - 1].src_shift +
			      c->pairs[c->nr_pairs - 1].ext.src.length;
		svm_copy_fail(c, -ECANCELED, off, "cancelled");
	}
	return c->res->error ? c->res->error : ret;
}
