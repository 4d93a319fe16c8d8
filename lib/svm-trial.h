/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-trial.h - libsvmotion internal: a hot copy that may reach an end two
 * ways (the kernel's devices, or the mover's own connection through a URL)
 * tries both on its first units and keeps the faster. Pure logic: no I/O,
 * no clock of its own (the caller passes the time), no locking (the hot
 * copy calls it under its coordinator's mu). Tested on its own
 * (tests/host/trial.c).
 *
 * Phases of phase_units units each, alternately the kernel's way (even
 * phases) and the direct one (odd). A phase's units are claimed by the
 * workers at once; the next phase starts when the last of them is done
 * (svm_trial_claim answers SVM_WAY_WAIT meanwhile), so that each phase's
 * rate is one way's alone at the copy's full concurrency. After the
 * second phase, one way more than twice as fast as the other decides; else
 * after max_phases. The decision: the faster by more than 5 %; within 5 %,
 * the kernel's if it offloaded (nothing crossed this host), else the
 * direct one (its copy does not queue in front of the guest's I/O). A way
 * whose unit outlived the target's bound (its lock revoked by a timeout)
 * is given up at once for the other (svm_trial_too_slow).
 *
 * An offload ends the trial after the first phase: when every unit of the
 * kernel's first phase offloaded (EXTENDED COPY, an NFS server-side COPY:
 * nothing crossed this host), the kernel's way is kept (offload_kept)
 * and the direct one is not tried. Its phase would move data through this
 * host that the offload does not, at the direct way's rate.
 */
#ifndef SVM_TRIAL_H
#define SVM_TRIAL_H

#include <stdbool.h>
#include <stdint.h>

#include "svm-copy.h"

enum svm_way {
	SVM_WAY_KERNEL = 0,	/* the devices, or the files behind them */
	SVM_WAY_DIRECT = 1,	/* the pairs' src_via/dst_via URLs */
	SVM_WAY_WAIT = -1,	/* svm_trial_claim: the phase is draining */
};

#define SVM_TRIAL_TIE	SVM_COPY_TRIAL_TIE

struct svm_trial {
	uint64_t phase_units;
	unsigned int max_phases;
	unsigned int phase;		/* the current phase (way: phase % 2) */
	uint64_t claimed, done;		/* units of the current phase */
	double t0;			/* the current phase's first claim */
	bool decided;
	enum svm_way chosen;		/* once decided */
	uint64_t bytes[2];		/* per way, in the trial's phases */
	double secs[2];
	bool offloaded;			/* the kernel's way offloaded bytes */
	bool all_offloaded;		/* ... every unit of its first phase */
	bool offload_kept;		/* decided so after the first phase */
	bool gave_up;			/* decided by svm_trial_too_slow: */
	enum svm_way given_up;		/* ... this way given up */
	uint64_t way_bytes[2];		/* per way, the whole copy */
};

/* A trial of max_phases (at least 2) phases of phase_units (> 0) units. */
void svm_trial_init(struct svm_trial *t, uint64_t phase_units,
		    unsigned int max_phases);
/* The way of the next unit (counted as claimed), or SVM_WAY_WAIT. */
enum svm_way svm_trial_claim(struct svm_trial *t, double now);
/*
 * A unit claimed by way is done (copied and committed): bytes long, and
 * offloaded if none of its bytes crossed this host and some were
 * offloaded. True when this ended a phase (waiters may claim again).
 */
bool svm_trial_done(struct svm_trial *t, enum svm_way way, uint64_t bytes,
		    bool offloaded, double now);
/*
 * A unit copied way outlived the target's bound: unless decided already,
 * the other way is chosen (way's rate: its units done so far, over the
 * time since its phase began, if it is way's phase). True if that decided.
 */
bool svm_trial_too_slow(struct svm_trial *t, enum svm_way way, double now);
/* Bytes per second the trial measured way at (0 before its phase). */
double svm_trial_rate(const struct svm_trial *t, enum svm_way way);

#endif
