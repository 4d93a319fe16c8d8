// SPDX-License-Identifier: GPL-2.0
/*
 * svm-copy-via.c - libsvmotion: a hot copy's ends reached through a URL
 * (svm_extent_pair.src_via/dst_via: the mover's own libnfs/libiscsi
 * connection to the storage behind a device), one set per worker, and the
 * trial of both ways on the first units (opts.via_trial, svm-trial.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "svm-copy-hot-int.h"

/* opts.via_trial: phases of at least this much, four at most */
#define TRIAL_PHASE_BYTES	(16ULL << 20)
#define TRIAL_PHASES		4

/* ---- ends reached through a URL (src_via, dst_via) --------------------- */

void svm_hot_close_vias(struct svm_copy *c, struct svm_hot *h)
{
	size_t i;

	for (i = 0; h->via && i < (size_t)h->nworkers * c->nr_pairs * 2; i++)
		svm_ep_close(h->via[i]);
	free(h->via);
	h->via = NULL;
}

/*
 * Open url (one end of pair p, the destination if dst) for one worker, and
 * check that it can stand for the device: long enough, the pair's offsets
 * and length multiples of its block size.
 */
static int open_via(struct svm_copy *c, const struct svm_pair *p, bool dst,
		    struct svm_ep **out, char *err, size_t errlen)
{
	const struct svm_extent *e = dst ? &p->ext.dst : &p->ext.src;
	const char *url = dst ? p->ext.dst_via : p->ext.src_via;
	struct svm_ep_params prm = { .timeout_ms = c->opts.timeout_ms };
	char why[400];
	struct svm_ep *ep;
	int ret;

	if (!svm_ep_is_url(url)) {
		svm_hot_set_err(err, errlen,
			"%s: not a URL (nfs://, iscsi://): the other way to %s must be a remote endpoint",
			url, e->path);
		return -EINVAL;
	}
	ret = svm_ep_open(url, dst ? SVM_EP_WRITE : 0, &prm, &ep, why,
			  sizeof(why));
	if (ret) {
		svm_hot_set_err(err, errlen, "the mover's own way to %s: %s", e->path, why);
		return ret;
	}
	if (ep->size < e->offset + e->length) {
		svm_hot_set_err(err, errlen,
			"%s has %llu bytes, fewer than %s's extent [%llu, +%llu): not the same storage",
			url, (unsigned long long)ep->size, e->path,
			(unsigned long long)e->offset,
			(unsigned long long)e->length);
		svm_ep_close(ep);
		return -EINVAL;
	}
	if (e->offset % ep->block_size || e->length % ep->block_size) {
		svm_hot_set_err(err, errlen,
			"%s's extent [%llu, +%llu) is not aligned to %s's %u-byte blocks",
			e->path, (unsigned long long)e->offset,
			(unsigned long long)e->length, url, ep->block_size);
		svm_ep_close(ep);
		return -EINVAL;
	}
	*out = ep;
	return 0;
}

/*
 * The local end of a pair whose other end is a URL, for one worker: the
 * stream backend then drives both from the worker's thread, and an
 * endpoint (its io_uring ring, its completions) is one thread's.
 */
static int dup_end(struct svm_ep_file *f, const char *path,
		   struct svm_ep **out, char *err, size_t errlen)
{
	if (!f) {
		svm_hot_set_err(err, errlen, "%s: not a file or block device", path);
		return -EINVAL;
	}
	*out = svm_ep_file_dup(f);
	if (!*out) {
		int ret = -(errno ? errno : ENOMEM);

		svm_hot_set_err(err, errlen, "another descriptor of %s for a worker: %s",
			path, strerror(-ret));
		return ret;
	}
	return 0;
}

/*
 * Every worker's endpoints of the pairs with a URL end (struct svm_hot.via):
 * the URL's own connection, and the local end's own descriptors.
 */
int svm_hot_open_vias(struct svm_copy *c, struct svm_hot *h, char *err,
		     size_t errlen)
{
	size_t i, n = c->nr_pairs;
	unsigned int w;
	int ret;

	for (i = 0; i < n; i++)
		if (c->pairs[i].ext.src_via || c->pairs[i].ext.dst_via)
			break;
	if (i == n)
		return 0;
	h->via = calloc((size_t)h->nworkers * n * 2, sizeof(*h->via));
	if (!h->via) {
		svm_hot_set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		const struct svm_pair *p = &c->pairs[i];

		if (!p->ext.src_via && !p->ext.dst_via)
			continue;
		c->via_url++;
		for (w = 0; w < h->nworkers; w++) {
			struct svm_ep **v = &h->via[(w * n + i) * 2];

			ret = p->ext.src_via ?
			      open_via(c, p, false, &v[0], err, errlen) :
			      dup_end(p->sf, p->ext.src.path, &v[0], err, errlen);
			if (ret)
				return ret;
			ret = p->ext.dst_via ?
			      open_via(c, p, true, &v[1], err, errlen) :
			      dup_end(p->df, p->ext.dst.path, &v[1], err, errlen);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/*
 * Worker w's pairs reach their URL ends through its own endpoints: the
 * chain then takes the stream backend for them.
 */
void svm_hot_use_vias(struct svm_copy *c, struct svm_copy *k, unsigned int w)
{
	struct svm_hot *h = c->hot;
	struct svm_ep **v;
	size_t i;

	if (!h->via)
		return;
	for (i = 0; i < k->nr_pairs; i++) {
		struct svm_pair *p = &k->pairs[i];

		v = &h->via[(w * k->nr_pairs + i) * 2];
		if (v[0]) {
			p->src = v[0];
			p->sf = svm_ep_file(v[0]);
			p->ext.src.path = v[0]->name;
		}
		if (v[1]) {
			p->dst = v[1];
			p->df = svm_ep_file(v[1]);
			p->ext.dst.path = v[1]->name;
		}
	}
}

/* Flush worker k's URL destinations (the final flush, as for the devices). */
int svm_hot_flush_vias(struct svm_copy *k)
{
	size_t i;
	int ret;

	for (i = 0; i < k->nr_pairs; i++) {
		struct svm_pair *p = &k->pairs[i];

		if (p->df || !p->ext.dst_via)
			continue;
		ret = p->dst->ops->flush(p->dst);
		if (ret)
			return svm_copy_fail(k, ret, p->ext.src.offset,
					     "committing %s: %s", p->ext.dst.path,
					     p->dst->msg);
	}
	return 0;
}

/* ---- opts.via_trial: both ways tried on the first units --------------- */

/*
 * Pair i has a URL end and a trial: how the kernel's way copies it, when
 * that is between the files behind its loop devices (h->kpairs[i]).
 */
void svm_hot_trial_files(struct svm_copy *c, struct svm_hot *h, size_t i,
			const struct stat *sdev, const struct stat *ddev)
{
	struct svm_pair t = c->pairs[i];

	if (!h->kpairs) {
		h->kpairs = calloc(c->nr_pairs, sizeof(*h->kpairs));
		if (!h->kpairs)
			return;		/* the devices, then */
	}
	memset(t.bk, 0, sizeof(t.bk));
	t.ext.src_via = t.ext.dst_via = NULL;
	svm_hot_look_through(c, &t, sdev, ddev);
	if (!t.via_files)
		return;
	h->kpairs[i] = t;
	h->trial_files++;
	c->via_files--;		/* counted if the kernel's way is kept */
}

void svm_hot_free_kpairs(struct svm_copy *c, struct svm_hot *h)
{
	size_t i;
	unsigned int k;

	for (i = 0; h->kpairs && i < c->nr_pairs; i++) {
		struct svm_pair *p = &h->kpairs[i];

		if (!p->via_files)
			continue;
		for (k = 0; k < SVM_COPY_NR_BACKENDS; k++)
			free(p->bk[k]);
		/* the devices (via_*_dev) are c->pairs[i]'s */
		svm_ep_close(p->src);
		svm_ep_close(p->dst);
	}
	free(h->kpairs);
	h->kpairs = NULL;
}

/*
 * Size the trial: phases of at least TRIAL_PHASE_BYTES and one unit per
 * worker, as many as fit in an eighth of the units of the pairs with a URL
 * end, TRIAL_PHASES at most: the slower way's phases cost the copy time,
 * and an eighth bounds that cost on a small disk. Fewer than two phases:
 * no trial (the devices' way, res.trial.tried false).
 */
void svm_hot_trial_init(struct svm_copy *c, struct svm_hot *h, uint64_t maxunit)
{
	uint64_t units = 0, phase, phases;
	size_t i;

	for (i = 0; i < c->nr_pairs; i++)
		if (svm_hot_has_via(&c->pairs[i]))
			units += c->pairs[i].nr_units;
	h->trial_units = units;
	if (!units || !maxunit)
		return;
	phase = (TRIAL_PHASE_BYTES + maxunit - 1) / maxunit;
	if (phase < h->nworkers)
		phase = h->nworkers;
	phases = units / 8 / phase;
	if (phases > TRIAL_PHASES)
		phases = TRIAL_PHASES;
	h->trying = phases >= 2;
	h->trial_unit = maxunit;
	if (h->trying)
		svm_trial_init(&h->trial, phase, (unsigned int)phases);
}

/* The way a unit of pair p is copied, under mu; SVM_WAY_WAIT: not yet. */
enum svm_way svm_hot_way_of(struct svm_copy *c, const struct svm_pair *p)
{
	struct svm_hot *h = c->hot;

	if (!svm_hot_has_via(p))
		return SVM_WAY_KERNEL;
	if (!c->opts.via_trial)
		return SVM_WAY_DIRECT;
	if (!h->trying)
		return SVM_WAY_KERNEL;
	return svm_trial_claim(&h->trial, svm_copy_now());
}

/* The trial's outcome into c->res, and the files' pairs counted if kept. */
void svm_hot_trial_result(struct svm_copy *c, struct svm_hot *h)
{
	struct svm_trial *t = &h->trial;
	int w;

	if (!c->opts.via_trial || !h->trial_units)
		return;
	c->res->trial.tried = h->trying;
	c->res->trial.chosen = SVM_WAY_KERNEL;
	if (h->trying) {
		c->res->trial.decided = t->decided;
		if (t->decided)
			c->res->trial.chosen = t->chosen;
		c->res->trial.kernel_offloaded = t->offloaded;
		c->res->trial.gave_up = t->gave_up;
		c->res->trial.given_up = t->given_up;
		c->res->trial.offload_kept = t->offload_kept;
		c->res->trial.phases = t->phase + (t->decided && !t->gave_up ? 0 : 1);
		c->res->trial.phase_bytes = t->phase_units * h->trial_unit;
		for (w = 0; w < 2; w++) {
			c->res->trial.trial_bytes[w] = t->bytes[w];
			c->res->trial.rate[w] = svm_trial_rate(t, (enum svm_way)w);
			c->res->trial.bytes[w] = t->way_bytes[w];
		}
	}
	/* the pairs copied the way kept */
	if (c->res->trial.chosen == SVM_WAY_KERNEL) {
		c->via_url = 0;
		c->via_files += h->trial_files;
	}
}

/*
 * The files the kernel's way wrote for pairs with a URL end (kpairs):
 * flushed as the devices are at the end (svm_engine_flush).
 */
int svm_hot_flush_kpairs(struct svm_copy *c, struct svm_hot *h)
{
	size_t i;
	int ret;

	for (i = 0; h->kpairs && i < c->nr_pairs; i++) {
		struct svm_pair *p = &h->kpairs[i];

		if (!p->via_files)
			continue;
		ret = p->dst->ops->flush(p->dst);
		if (ret)
			return svm_copy_fail(c, ret, c->pairs[i].ext.src.offset,
					     "flushing %s: %s", p->ext.dst.path,
					     p->dst->msg);
	}
	return 0;
}

/*
 * The pairs of worker w's child for way: the URLs' (svm_hot_use_vias), or the
 * kernel's, the devices or the files behind them, for a trial.
 */
void svm_hot_kid_pairs(struct svm_copy *c, struct svm_copy *k, unsigned int w,
		      enum svm_way way)
{
	struct svm_hot *h = c->hot;
	size_t i;

	if (way == SVM_WAY_DIRECT) {
		svm_hot_use_vias(c, k, w);
		return;
	}
	for (i = 0; i < k->nr_pairs; i++) {
		struct svm_pair *p = &k->pairs[i];

		if (!svm_hot_has_via(p))
			continue;
		if (h->kpairs && h->kpairs[i].via_files) {
			*p = h->kpairs[i];
			memset(p->bk, 0, sizeof(p->bk));
		}
		p->ext.src_via = p->ext.dst_via = NULL;
	}
}

/*
 * A trial's unit copied way (kid k) lost its lock to a timeout (timed_out)
 * or to a suspend: under mu, whether to copy it again the other way, the
 * trial having given way up (for this or another of its units).
 */
bool svm_hot_switch_way(struct svm_copy *c, const struct svm_pair *p,
		       enum svm_way way, bool timed_out)
{
	struct svm_hot *h = c->hot;

	if (!h->trying || !svm_hot_has_via(p))
		return false;
	if (timed_out && svm_trial_too_slow(&h->trial, way, svm_copy_now()))
		pthread_cond_broadcast(&h->phase_cond);
	return h->trial.decided && h->trial.chosen != way;
}
