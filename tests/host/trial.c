// SPDX-License-Identifier: GPL-2.0
/*
 * trial - unit tests of lib/svm-trial: a hot copy trying the kernel's way
 * and the direct one phase by phase and keeping the faster. Pure logic:
 * the time is the test's own.
 */
#include <stdio.h>

#include "svm-trial.h"
#include "tap.h"

#define MB	(1ULL << 20)

/*
 * Run one phase: claim its n units at t, finish them at t + secs (each
 * unit_bytes). Returns the way the phase used, or -2 if a claim did not
 * give one way throughout.
 */
static int phase(struct svm_trial *t, unsigned int n, uint64_t unit_bytes,
		 double start, double secs, bool offloaded, bool *ended)
{
	enum svm_way w = svm_trial_claim(t, start), x;
	unsigned int i;

	for (i = 1; i < n; i++) {
		x = svm_trial_claim(t, start);
		if (x != w)
			return -2;
	}
	*ended = false;
	for (i = 0; i < n; i++)
		*ended = svm_trial_done(t, w, unit_bytes, offloaded,
					start + secs * (i + 1) / n);
	return w;
}

/* The kernel's first phase of two units, the first offloaded, the second not. */
static void half_offloaded_phase(struct svm_trial *t, uint64_t unit_bytes,
				 double start, double secs)
{
	svm_trial_claim(t, start);
	svm_trial_claim(t, start);
	svm_trial_done(t, SVM_WAY_KERNEL, unit_bytes, true, start + secs / 2);
	svm_trial_done(t, SVM_WAY_KERNEL, unit_bytes, false, start + secs);
}

static void test_alternates_and_waits(void)
{
	struct svm_trial t;
	bool ended;
	int w;

	svm_trial_init(&t, 4, 4);
	ok(svm_trial_claim(&t, 0) == SVM_WAY_KERNEL, "the first phase is the kernel's");
	svm_trial_claim(&t, 0);
	svm_trial_claim(&t, 0);
	svm_trial_claim(&t, 0);
	ok(svm_trial_claim(&t, 0.1) == SVM_WAY_WAIT,
	   "a fifth claim in a phase of four waits for the phase to drain");
	ok(!svm_trial_done(&t, SVM_WAY_KERNEL, 4 * MB, false, 0.2),
	   "a unit done does not end the phase before the last");
	svm_trial_done(&t, SVM_WAY_KERNEL, 4 * MB, false, 0.3);
	svm_trial_done(&t, SVM_WAY_KERNEL, 4 * MB, false, 0.4);
	ok(svm_trial_claim(&t, 0.45) == SVM_WAY_WAIT, "still waiting while one unit is in flight");
	ok(svm_trial_done(&t, SVM_WAY_KERNEL, 4 * MB, false, 0.5),
	   "the phase's last unit ends it");
	ok(t.bytes[SVM_WAY_KERNEL] == 16 * MB && t.secs[SVM_WAY_KERNEL] > 0.49 &&
	   t.secs[SVM_WAY_KERNEL] < 0.51,
	   "the kernel's phase: 16 MiB in 0.5 s (from its first claim to its last unit)");
	w = phase(&t, 4, 4 * MB, 1.0, 0.5, false, &ended);
	ok(w == SVM_WAY_DIRECT && ended, "the second phase is the direct way's");
	ok(!t.decided, "equal rates after two phases: not decided before max_phases");
	w = phase(&t, 4, 4 * MB, 2.0, 0.5, false, &ended);
	ok(w == SVM_WAY_KERNEL, "the third is the kernel's again");
	w = phase(&t, 4, 4 * MB, 3.0, 0.5, false, &ended);
	ok(w == SVM_WAY_DIRECT && t.decided, "decided after the fourth phase");
	ok(t.chosen == SVM_WAY_DIRECT,
	   "a tie without offload: the direct way (does not queue before the guest's I/O)");
	ok(svm_trial_claim(&t, 5) == SVM_WAY_DIRECT && svm_trial_claim(&t, 5) == SVM_WAY_DIRECT,
	   "after the decision every claim is the chosen way, none waits");
	svm_trial_done(&t, SVM_WAY_DIRECT, 4 * MB, false, 6);
	ok(t.way_bytes[SVM_WAY_DIRECT] == 36 * MB && t.bytes[SVM_WAY_DIRECT] == 32 * MB,
	   "bytes after the trial count for the way, not for its rate");
}

static void test_rules(void)
{
	struct svm_trial t;
	bool ended;

	/* kernel 3x faster: decided after two phases */
	svm_trial_init(&t, 2, 4);
	phase(&t, 2, 8 * MB, 0, 0.1, false, &ended);
	phase(&t, 2, 8 * MB, 1, 0.3, false, &ended);
	ok(t.decided && t.chosen == SVM_WAY_KERNEL && t.phase == 2,
	   "the kernel's way 3x faster: chosen after two phases");
	ok(svm_trial_rate(&t, SVM_WAY_KERNEL) > 2.9 * svm_trial_rate(&t, SVM_WAY_DIRECT),
	   "rates: 160 against 53 MiB/s");

	/* direct 1.8x faster: four phases, then direct */
	svm_trial_init(&t, 2, 4);
	phase(&t, 2, 8 * MB, 0, 0.18, false, &ended);
	phase(&t, 2, 8 * MB, 1, 0.10, false, &ended);
	ok(!t.decided, "1.8x: not yet decided after two phases");
	phase(&t, 2, 8 * MB, 2, 0.18, false, &ended);
	phase(&t, 2, 8 * MB, 3, 0.10, false, &ended);
	ok(t.decided && t.chosen == SVM_WAY_DIRECT, "the direct way 1.8x faster: chosen after four");

	/* kernel 4 percent faster, partly offloaded: a tie, the kernel's */
	svm_trial_init(&t, 2, 2);
	half_offloaded_phase(&t, 8 * MB, 0, 0.100);
	phase(&t, 2, 8 * MB, 1, 0.104, false, &ended);
	ok(t.decided && t.chosen == SVM_WAY_KERNEL && t.offloaded && !t.offload_kept,
	   "a tie with the kernel's way partly offloaded: both tried, the kernel's");
	/* the same tie without offload: direct */
	svm_trial_init(&t, 2, 2);
	phase(&t, 2, 8 * MB, 0, 0.100, false, &ended);
	phase(&t, 2, 8 * MB, 1, 0.104, false, &ended);
	ok(t.decided && t.chosen == SVM_WAY_DIRECT, "the same tie without offload: the direct way");
	/* kernel 6 % faster: past the tie */
	svm_trial_init(&t, 2, 2);
	phase(&t, 2, 8 * MB, 0, 0.100, false, &ended);
	phase(&t, 2, 8 * MB, 1, 0.106, false, &ended);
	ok(t.decided && t.chosen == SVM_WAY_KERNEL, "the kernel's 6 %% faster: the kernel's");
	/* an offload seen on the direct way does not count */
	svm_trial_init(&t, 2, 2);
	phase(&t, 2, 8 * MB, 0, 0.100, false, &ended);
	phase(&t, 2, 8 * MB, 1, 0.100, true, &ended);
	ok(!t.offloaded && t.chosen == SVM_WAY_DIRECT,
	   "offload is the kernel's way's only (the direct way's is not counted)");
}

static void test_offload(void)
{
	struct svm_trial t;
	bool ended;
	int w;

	/* every unit of the kernel's first phase offloaded: kept at once */
	svm_trial_init(&t, 2, 4);
	w = phase(&t, 2, 8 * MB, 0, 0.5, true, &ended);
	ok(w == SVM_WAY_KERNEL && ended && t.decided && t.offload_kept &&
	   t.chosen == SVM_WAY_KERNEL && t.phase == 1,
	   "the kernel's first phase offloaded throughout: its way kept after one phase");
	ok(svm_trial_claim(&t, 1) == SVM_WAY_KERNEL && t.bytes[SVM_WAY_DIRECT] == 0 &&
	   svm_trial_rate(&t, SVM_WAY_DIRECT) == 0,
	   "then the direct way is not tried (no claim for it, no bytes, rate 0)");
	ok(!svm_trial_done(&t, SVM_WAY_KERNEL, 8 * MB, false, 2) &&
	   t.way_bytes[SVM_WAY_KERNEL] == 24 * MB && t.chosen == SVM_WAY_KERNEL,
	   "a later unit that did not offload does not reopen the trial");
	/* even a slow offload is kept: it moves nothing through this host */
	svm_trial_init(&t, 2, 4);
	phase(&t, 2, 8 * MB, 0, 10, true, &ended);
	ok(t.decided && t.offload_kept && t.chosen == SVM_WAY_KERNEL,
	   "an offload at 1.6 MB/s is kept too (nothing crosses this host)");
	/* one unit of the phase not offloaded: the direct way is tried */
	svm_trial_init(&t, 2, 4);
	half_offloaded_phase(&t, 8 * MB, 0, 0.1);
	ok(!t.decided && !t.offload_kept && t.offloaded &&
	   svm_trial_claim(&t, 1) == SVM_WAY_DIRECT,
	   "a phase only partly offloaded: the direct way's phase follows");
	/* an offload seen on the direct way's phase only: no early decision */
	svm_trial_init(&t, 2, 4);
	phase(&t, 2, 8 * MB, 0, 0.1, false, &ended);
	phase(&t, 2, 8 * MB, 1, 0.1, true, &ended);
	ok(!t.decided && !t.offload_kept, "no offload in the kernel's phase: no early decision");
}

static void test_too_slow(void)
{
	struct svm_trial t;
	bool ended;

	svm_trial_init(&t, 2, 4);
	phase(&t, 2, 8 * MB, 0, 0.1, false, &ended);
	svm_trial_claim(&t, 1);
	svm_trial_claim(&t, 1);
	svm_trial_done(&t, SVM_WAY_DIRECT, 8 * MB, false, 2);
	ok(svm_trial_too_slow(&t, SVM_WAY_DIRECT, 5) && t.decided && t.gave_up &&
	   t.given_up == SVM_WAY_DIRECT && t.chosen == SVM_WAY_KERNEL,
	   "a direct unit outliving the target's bound: the kernel's way, at once");
	ok(svm_trial_rate(&t, SVM_WAY_DIRECT) > 1.9 * MB && svm_trial_rate(&t, SVM_WAY_DIRECT) < 2.1 * MB,
	   "the way given up is rated on its units done so far (8 MiB in 4 s)");
	ok(svm_trial_claim(&t, 6) == SVM_WAY_KERNEL && !svm_trial_too_slow(&t, SVM_WAY_KERNEL, 7) &&
	   t.chosen == SVM_WAY_KERNEL,
	   "claims no longer wait; once decided, a slow unit does not turn the decision");
	svm_trial_init(&t, 2, 4);
	svm_trial_claim(&t, 0);
	ok(svm_trial_too_slow(&t, SVM_WAY_KERNEL, 3) && t.chosen == SVM_WAY_DIRECT &&
	   svm_trial_rate(&t, SVM_WAY_KERNEL) == 0,
	   "the kernel's way too slow in its first phase, nothing done: the direct way, kernel's rate 0");
}

static void test_bad_input(void)
{
	struct svm_trial t;

	svm_trial_init(&t, 0, 0);
	ok(t.phase_units == 1 && t.max_phases == 2,
	   "init with 0 units and 0 phases: one unit per phase, two phases");
	ok(!svm_trial_done(&t, SVM_WAY_WAIT, MB, false, 1) && t.way_bytes[0] == 0 &&
	   t.way_bytes[1] == 0, "a unit done 'by' SVM_WAY_WAIT is ignored");
	ok(!svm_trial_done(&t, SVM_WAY_KERNEL, MB, false, 1) && t.done == 0,
	   "a unit done that was never claimed does not end a phase");
	ok(svm_trial_claim(&t, 2) == SVM_WAY_KERNEL &&
	   !svm_trial_done(&t, SVM_WAY_DIRECT, MB, false, 3) && t.done == 0,
	   "a unit done by the way that is not the phase's does not count for it");
	ok(svm_trial_rate(&t, SVM_WAY_DIRECT) == 0 && svm_trial_rate(&t, (enum svm_way)7) == 0,
	   "rate of a way not yet measured, or of no way: 0");
	ok(svm_trial_done(&t, SVM_WAY_KERNEL, MB, false, 2) && t.secs[0] > 0,
	   "a phase done in no time gets a time above 0 (no division by zero)");
}

int main(void)
{
	tap_plan(37);
	test_alternates_and_waits();
	test_rules();
	test_offload();
	test_too_slow();
	test_bad_input();
	return tap_done();
}
