// SPDX-License-Identifier: GPL-2.0
/*
 * svm-trial.c - libsvmotion: try both ways of a hot copy, keep the faster
 * (svm-trial.h).
 */
#include "svm-trial.h"

void svm_trial_init(struct svm_trial *t, uint64_t phase_units,
		    unsigned int max_phases)
{
	*t = (struct svm_trial){ 0 };
	t->phase_units = phase_units ? phase_units : 1;
	t->max_phases = max_phases < 2 ? 2 : max_phases;
	t->all_offloaded = true;
}

double svm_trial_rate(const struct svm_trial *t, enum svm_way way)
{
	if (way != SVM_WAY_KERNEL && way != SVM_WAY_DIRECT)
		return 0;
	return t->secs[way] > 0 ? t->bytes[way] / t->secs[way] : 0;
}

static void decide(struct svm_trial *t)
{
	double k = svm_trial_rate(t, SVM_WAY_KERNEL);
	double d = svm_trial_rate(t, SVM_WAY_DIRECT);

	if (d > k * SVM_TRIAL_TIE)
		t->chosen = SVM_WAY_DIRECT;
	else if (k > d * SVM_TRIAL_TIE)
		t->chosen = SVM_WAY_KERNEL;
	else
		t->chosen = t->offloaded ? SVM_WAY_KERNEL : SVM_WAY_DIRECT;
	t->decided = true;
}

bool svm_trial_too_slow(struct svm_trial *t, enum svm_way way, double now)
{
	if (t->decided || (way != SVM_WAY_KERNEL && way != SVM_WAY_DIRECT))
		return false;
	if (way == (enum svm_way)(t->phase % 2) && t->claimed)
		t->secs[way] += now > t->t0 ? now - t->t0 : 1e-9;
	t->given_up = way;
	t->chosen = way == SVM_WAY_KERNEL ? SVM_WAY_DIRECT : SVM_WAY_KERNEL;
	t->decided = true;
	t->gave_up = true;
	return true;
}

enum svm_way svm_trial_claim(struct svm_trial *t, double now)
{
	if (t->decided)
		return t->chosen;
	if (t->claimed >= t->phase_units)
		return SVM_WAY_WAIT;
	if (!t->claimed++)
		t->t0 = now;
	return (enum svm_way)(t->phase % 2);
}

bool svm_trial_done(struct svm_trial *t, enum svm_way way, uint64_t bytes,
		    bool offloaded, double now)
{
	double k, d;

	if (way != SVM_WAY_KERNEL && way != SVM_WAY_DIRECT)
		return false;
	t->way_bytes[way] += bytes;
	/* after the decision, or a unit not of the current phase */
	if (t->decided || way != (enum svm_way)(t->phase % 2) ||
	    t->done >= t->claimed)
		return false;
	t->bytes[way] += bytes;
	if (way == SVM_WAY_KERNEL && offloaded)
		t->offloaded = true;
	else if (way == SVM_WAY_KERNEL)
		t->all_offloaded = false;
	if (++t->done < t->phase_units)
		return false;
	t->secs[way] += now > t->t0 ? now - t->t0 : 1e-9;
	t->phase++;
	t->claimed = t->done = 0;
	if (t->phase == 1 && t->all_offloaded) {
		/* nothing of the kernel's phase crossed this host */
		t->chosen = SVM_WAY_KERNEL;
		t->decided = true;
		t->offload_kept = true;
		return true;
	}
	k = svm_trial_rate(t, SVM_WAY_KERNEL);
	d = svm_trial_rate(t, SVM_WAY_DIRECT);
	if (t->phase >= t->max_phases ||
	    (t->phase >= 2 && (k > 2 * d || d > 2 * k)))
		decide(t);
	return true;
}
