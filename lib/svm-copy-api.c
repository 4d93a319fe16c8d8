// SPDX-License-Identifier: GPL-2.0
/*
 * svm-copy-api.c - libsvmotion: the data mover's public entry points
 * (svm-copy.h), which tie the engine (svm-copy.c) to the cold and hot
 * drivers (svm-copy-cold.c, svm-copy-hot.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svm-copy-int.h"

/*
 * Modes without a buffered fallback (fast, xcopy): refuse up front a pair
 * that no backend of the chain takes.
 */
static int check_mode(struct svm_copy *c, char *err, size_t errlen)
{
	size_t i;
	unsigned int k;

	if (c->opts.mode != SVM_MODE_FAST && c->opts.mode != SVM_MODE_XCOPY)
		return 0;
	for (i = 0; i < c->nr_pairs; i++) {
		struct svm_pair *p = &c->pairs[i];
		char why[160] = "", w[160];
		bool any = false;

		for (k = 0; k < c->chain_len && !any; k++) {
			w[0] = 0;
			any = !c->chain[k]->applies(c, p, p->ext.src.offset,
						    p->ext.src.length, w,
						    sizeof(w));
			if (w[0])
				memcpy(why, w, sizeof(why));
		}
		if (!any) {
			snprintf(err, errlen, "svm-copy: mode %s refused for %s -> %s: %s",
				 svm_copy_mode_name(c->opts.mode),
				 p->ext.src.path, p->ext.dst.path, why);
			return -EINVAL;
		}
	}
	return 0;
}

int svm_copy_new(struct svm_copy **out, const struct svm_copy_opts *opts,
		 const struct svm_extent_pair *pairs, size_t nr_pairs,
		 char *err, size_t errlen)
{
	struct stat *sst = NULL, *dst = NULL;
	struct svm_copy *c;
	unsigned int k;
	int ret;

	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (opts)
		c->opts = *opts;
	c->cancel_fd = -1;
	ret = svm_engine_open(c, pairs, nr_pairs, &sst, &dst, err, errlen);
	if (!ret && c->opts.dm_name)
		ret = svm_hot_prepare(c, sst, dst, err, errlen);
	if (!ret)
		ret = check_mode(c, err, errlen);
	free(sst);
	free(dst);
	if (ret) {
		svm_copy_free(c);
		return ret;
	}
	/* the hot workers have backends of their own */
	for (k = 0; c->opts.dm_name && k < c->chain_len; k++)
		c->chain[k]->fini(c);
	*out = c;
	return 0;
}

void svm_copy_free(struct svm_copy *c)
{
	if (!c)
		return;
	svm_hot_free(c);
	svm_engine_close(c);
	free(c);
}

int svm_copy_run(struct svm_copy *c, struct svm_copy_result *res)
{
	int ret;

	memset(res, 0, sizeof(*res));
	c->res = res;
	c->t0 = svm_copy_now();
	c->last_progress = 0;
	c->rate_bytes = 0;
	ret = c->hot ? svm_hot_run(c) : svm_cold_run(c);
	/* a hot copy's trial keeps one way (svm-copy-hot.c) */
	res->pairs_via_files = c->via_files;
	res->pairs_via_url = c->via_url;
	if (!ret)
		ret = svm_engine_flush(c);
	svm_engine_finish(c, ret);
	c->res = NULL;
	return ret;
}
