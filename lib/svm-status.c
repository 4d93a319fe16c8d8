// SPDX-License-Identifier: GPL-2.0
/*
 * svm-status.c - pure parser of the dm-svmotion INFO status line.
 *
 * Kept free of libdevmapper so that host unit tests can exercise it without
 * device-mapper.  Format: Documentation/dm-svmotion.rst, "Status".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "svm-dm.h"

static const char *const state_names[] = {
	[SVM_STATE_COPYING] = "copying",
	[SVM_STATE_SYNCED] = "synced",
	[SVM_STATE_FAILED] = "failed",
};

const char *svm_state_name(enum svm_seg_state state)
{
	if ((unsigned int)state >= sizeof(state_names) / sizeof(state_names[0]))
		return "?";
	return state_names[state];
}

/*
 * Parse an unsigned decimal number at *p that must be followed by the
 * character sep.  Advances *p past sep.  Refuses an empty number, any
 * non-digit (sign, blank, "0x"...) and values above UINT64_MAX.
 */
static bool take_u64(const char **p, char sep, uint64_t *val)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned int digit = (unsigned int)(*s - '0');

		if (v > (UINT64_MAX - digit) / 10)
			return false;
		v = v * 10 + digit;
	}
	if (*s != sep)
		return false;
	*val = v;
	*p = s + 1;
	return true;
}

/* The rest of the line must be exactly one state word. */
static bool take_state(const char *s, enum svm_seg_state *state)
{
	unsigned int i;

	for (i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++) {
		if (strcmp(s, state_names[i]) == 0) {
			*state = (enum svm_seg_state)i;
			return true;
		}
	}
	return false;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Cross-field checks: the values must describe a possible segment. */
static bool consistent(const struct svm_seg_status *st)
{
	if (!is_pow2(st->region_sectors) ||
	    st->region_sectors < SVM_REGION_SECTORS_MIN ||
	    st->region_sectors > SVM_REGION_SECTORS_MAX)
		return false;
	if (st->total == 0 || st->copied > st->total ||
	    st->copying > st->total - st->copied)
		return false;
	if (st->state == SVM_STATE_SYNCED && st->copied != st->total)
		return false;
	if (st->state == SVM_STATE_COPYING && st->copied == st->total)
		return false;
	return true;
}

int svm_status_parse(const char *params, struct svm_seg_status *out)
{
	struct svm_seg_status st;
	const char *p = params;

	if (!params || !out)
		return -EINVAL;
	memset(&st, 0, sizeof(st));
	if (!take_u64(&p, ' ', &st.region_sectors) ||
	    !take_u64(&p, '/', &st.copied) ||
	    !take_u64(&p, ' ', &st.total) ||
	    !take_u64(&p, ' ', &st.copying) ||
	    !take_u64(&p, ' ', &st.held) ||
	    !take_u64(&p, ' ', &st.mirrored) ||
	    !take_u64(&p, ' ', &st.dst_errors) ||
	    !take_u64(&p, ' ', &st.expired_locks) ||
	    !take_u64(&p, ' ', &st.revoked_locks) ||
	    !take_u64(&p, ' ', &st.dst_timeouts) ||
	    !take_state(p, &st.state) || !consistent(&st))
		return -EINVAL;

	st.start = out->start;
	st.len = out->len;
	*out = st;
	return 0;
}

int svm_status_format(const struct svm_seg_status *st, char *buf, size_t len)
{
	return snprintf(buf, len, "%" PRIu64 " %" PRIu64 "/%" PRIu64 " %" PRIu64
			" %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
			" %" PRIu64 " %s",
			st->region_sectors, st->copied, st->total, st->copying,
			st->held, st->mirrored, st->dst_errors, st->expired_locks,
			st->revoked_locks, st->dst_timeouts,
			svm_state_name(st->state));
}
