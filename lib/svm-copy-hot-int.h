/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-copy-hot-int.h - libsvmotion internal: the hot copy's state, shared
 * by its driver (svm-copy-hot.c: prepare, workers, lock/copy/commit) and
 * its ends reached through a URL and the trial of both ways
 * (svm-copy-via.c).
 */
#ifndef SVM_COPY_HOT_INT_H
#define SVM_COPY_HOT_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "svm-copy-int.h"
#include "svm-trial.h"

/* Pair p has an end reached through a URL. */
static inline bool svm_hot_has_via(const struct svm_pair *p)
{
	return p->ext.src_via || p->ext.dst_via;
}

/*
 * A worker: a child copy per way it may take (enum svm_way): kid[0] the
 * kernel's (the devices, or the files behind them), kid[1] the URLs' of
 * the pairs with a src_via/dst_via; NULL if that way is not taken.
 */
struct hot_worker {
	struct svm_copy *kid[2];
	struct svm_copy_result kres[2];	/* each child's own result */
	pthread_t thread;
	bool started;
};

/* Hot copy state of a coordinator (c->hot). */
struct svm_hot {
	unsigned int nworkers;
	struct hot_worker *w;
	/* Under the coordinator's mu: */
	size_t next_pair;	/* the next unit to claim: pair ... */
	uint64_t next_unit;	/* ... and unit in it */
	bool undone;		/* a unit was given up: the lowest one is */
	size_t undone_pair;
	uint64_t undone_off;	/* absolute source offset (device terms) */
	unsigned int running;	/* workers not finished; cond signalled at 0 */
	/*
	 * Units being copied, and how many may be: a unit whose copy outlived
	 * the target's bound (lock_timeout_ms, or a guest write held for
	 * dst_timeout_ms; its lock revoked) halves the limit, down
	 * to 1, so that slow storage (libnfs's small NFSv4 writes, a busy
	 * server) gets fewer, faster units instead of revoking every lock.
	 * A worker that finds the limit reached when it claims, stops.
	 */
	unsigned int in_flight;
	unsigned int active;
	pthread_cond_t cond;
	bool cond_inited;
	/*
	 * The endpoints of pairs with a src_via/dst_via, one set per worker
	 * (an endpoint is used by one thread only): via[(w * nr_pairs + i) *
	 * 2 + 0] the source of pair i for worker w, + 1 the destination; the
	 * URL's own connection, or the local end's descriptors duplicated;
	 * NULL for pairs without a URL end. Opened by prepare, closed by
	 * svm_hot_free; the workers borrow them.
	 */
	struct svm_ep **via;
	/*
	 * opts.via_trial (svm-trial.h), under the coordinator's mu: trying
	 * when the pairs with a URL end have units enough; phase_cond is
	 * broadcast when a phase ends. kpairs[i]: pair i with a URL end as
	 * the kernel's way copies it when that is between the files behind
	 * its loop devices (svm_hot_look_through; .via_files set), owning those
	 * files' endpoints; else unused (the devices, c->pairs[i]).
	 */
	bool trying;
	struct svm_trial trial;
	pthread_cond_t phase_cond;
	bool phase_cond_inited;
	struct svm_pair *kpairs;
	unsigned int trial_files;	/* kpairs with .via_files */
	uint64_t trial_unit;		/* the units' bytes */
	uint64_t trial_units;		/* units of the pairs with a URL end */
};

/* svm-copy-hot.c */
void svm_hot_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Pair p's ends are loop devices over two files of one filesystem: make p
 * the pair of the files when the chain copies those better (p unchanged
 * otherwise; c->via_files counts it).
 */
void svm_hot_look_through(struct svm_copy *c, struct svm_pair *p,
			  const struct stat *sdev, const struct stat *ddev);

/* svm-copy-via.c: ends reached through a URL (src_via, dst_via) */
/* Every worker's endpoints of the pairs with a URL end (h->via). */
int svm_hot_open_vias(struct svm_copy *c, struct svm_hot *h, char *err,
		      size_t errlen);
void svm_hot_close_vias(struct svm_copy *c, struct svm_hot *h);
/* Worker w's child k reaches the URL ends through its own endpoints. */
void svm_hot_use_vias(struct svm_copy *c, struct svm_copy *k, unsigned int w);
/* Flush child k's URL destinations; 0 or -errno (recorded in k). */
int svm_hot_flush_vias(struct svm_copy *k);

/* svm-copy-via.c: opts.via_trial */
/* Pair i (with a URL end): the kernel's way between its loop files. */
void svm_hot_trial_files(struct svm_copy *c, struct svm_hot *h, size_t i,
			 const struct stat *sdev, const struct stat *ddev);
void svm_hot_free_kpairs(struct svm_copy *c, struct svm_hot *h);
/* Size the trial (h->trying) for units of maxunit bytes. */
void svm_hot_trial_init(struct svm_copy *c, struct svm_hot *h, uint64_t maxunit);
/* The way a unit of pair p is copied, under mu; SVM_WAY_WAIT: not yet. */
enum svm_way svm_hot_way_of(struct svm_copy *c, const struct svm_pair *p);
/* The trial's outcome into c->res (and the pairs counted the way kept). */
void svm_hot_trial_result(struct svm_copy *c, struct svm_hot *h);
/* Flush the files the kernel's way wrote for pairs with a URL end. */
int svm_hot_flush_kpairs(struct svm_copy *c, struct svm_hot *h);
/* The pairs of worker w's child k for way. */
void svm_hot_kid_pairs(struct svm_copy *c, struct svm_copy *k, unsigned int w,
		       enum svm_way way);
/*
 * A trial's unit copied way lost its lock (timed_out: to a timeout):
 * under mu, whether to copy it again the other way.
 */
bool svm_hot_switch_way(struct svm_copy *c, const struct svm_pair *p,
			enum svm_way way, bool timed_out);

#endif
