// SPDX-License-Identifier: GPL-2.0
/*
 * svm-copy-xcopy.c - libsvmotion: the xcopy backend, SCSI EXTENDED COPY
 * between two LUNs of one array (svm-xcopy.h): nothing crosses the host.
 * The commands go over SG_IO for two local SCSI disks, or over the
 * destination's iSCSI session for two iscsi:// LUNs (the array finds the
 * source by its designator: one target, or targets of one array). See
 * svm-copy.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "svm-copy-int.h"
#include "svm-ep-iscsi.h"
#include "svm-xcopy.h"

enum xcopy_state {
	XCOPY_UNPROBED = 0,
	XCOPY_USABLE,		/* both ends are LUNs that can pair */
	XCOPY_REFUSED,		/* not for this pair (why says why) */
};

/* Per pair: what the probe found. */
struct xcopy_pair {
	enum xcopy_state state;
	char why[160];
	struct svm_xcopy_id src, dst;
	struct svm_xcopy_limits lim;	/* of the destination (receives the commands) */
	/* the transports: SG_IO on the pair's fds, or the iSCSI sessions */
	struct svm_scsi_sg sg_src, sg_dst;
	struct svm_scsi_dev *tsrc, *tdst;
};

/*
 * The SCSI transports of p's ends, or false with the reason: two local
 * block devices (SG_IO), or two iSCSI endpoints.
 */
static bool transports(struct svm_pair *p, struct xcopy_pair *x)
{
	if (svm_pair_local(p) && p->sf->blk && p->df->blk) {
		svm_scsi_sg_init(&x->sg_src, p->sf->fd);
		svm_scsi_sg_init(&x->sg_dst, p->df->fd);
		x->tsrc = &x->sg_src.dev;
		x->tdst = &x->sg_dst.dev;
		return true;
	}
	x->tsrc = svm_ep_iscsi_scsi(p->src);
	x->tdst = svm_ep_iscsi_scsi(p->dst);
	if (x->tsrc && x->tdst)
		return true;
	snprintf(x->why, sizeof(x->why),
		 "xcopy: both ends must be SCSI disks (local, or iscsi:// LUNs)");
	return false;
}

/*
 * Probe a pair once: both ends must be whole SCSI disks (SG_IO) or iSCSI
 * LUNs, with one logical block size, and the destination must report copy
 * limits. A local source is flushed first: the array copies what is on the
 * disk, not what sits in this host's page cache (an iSCSI endpoint has
 * none: its writes have completed).
 */
static enum xcopy_state xcopy_probe(struct svm_pair *p, struct xcopy_pair *x)
{
	char err[160];
	int ret;

	if (!transports(p, x))
		return XCOPY_REFUSED;
	ret = svm_xcopy_identify_dev(x->tsrc, &x->src, err, sizeof(err));
	if (!ret)
		ret = svm_xcopy_identify_dev(x->tdst, &x->dst, err, sizeof(err));
	/*
	 * the commands go to the destination LUN: its copy manager, told by
	 * the 3PC bit (a refusal found only by the first EXTENDED COPY left
	 * the cold copy without its up-front unmap: every zero run was then
	 * unmapped by itself)
	 */
	if (!ret)
		ret = svm_xcopy_3pc_dev(x->tdst, err, sizeof(err));
	if (!ret)
		ret = svm_xcopy_limits_dev(x->tdst, &x->lim, err, sizeof(err));
	if (ret) {
		snprintf(x->why, sizeof(x->why), "%s", err);
		return XCOPY_REFUSED;
	}
	if (x->src.block_size != x->dst.block_size) {
		snprintf(x->why, sizeof(x->why),
			 "xcopy: logical block sizes differ (%u and %u)",
			 x->src.block_size, x->dst.block_size);
		return XCOPY_REFUSED;
	}
	if (p->sf && fdatasync(p->sf->fd) < 0) {
		snprintf(x->why, sizeof(x->why),
			 "xcopy: flushing the source: %s", strerror(errno));
		return XCOPY_REFUSED;
	}
	return XCOPY_USABLE;
}

static int xcopy_applies(struct svm_copy *c, struct svm_pair *p,
			 uint64_t src_off, uint64_t len, char *why,
			 size_t whylen)
{
	uint64_t bs, dst_off = p->ext.dst.offset + (src_off - p->ext.src.offset);
	struct xcopy_pair *x;

	if (c->opts.format != SVM_FORMAT_SAME &&
	    c->opts.format != SVM_FORMAT_THICK_EAGER) {
		snprintf(why, whylen, "xcopy writes every block: not for format %s",
			 svm_copy_format_name(c->opts.format));
		return -EOPNOTSUPP;
	}
	x = svm_pair_state(p, &svm_copy_ops_xcopy, sizeof(*x));
	if (!x) {
		snprintf(why, whylen, "xcopy: out of memory");
		return -EOPNOTSUPP;
	}
	if (x->state == XCOPY_UNPROBED)
		x->state = xcopy_probe(p, x);
	if (x->state == XCOPY_REFUSED) {
		snprintf(why, whylen, "%s", x->why);
		return -EOPNOTSUPP;
	}
	bs = x->src.block_size;
	if (src_off % bs || dst_off % bs || len % bs) {
		snprintf(why, whylen, "xcopy: range not aligned to %llu-byte blocks",
			 (unsigned long long)bs);
		return -EINVAL;
	}
	return 0;
}

static int xcopy_copy(struct svm_copy *c, struct svm_range *r)
{
	struct svm_pair *p = r->p;
	struct xcopy_pair *x = p->bk[SVM_BK_XCOPY];
	uint64_t bs = x->src.block_size;
	uint64_t dst_off = svm_range_dst(r, r->src_off);
	struct svm_xcopy_stats st = { 0 };
	char err[160];
	int ret;

	ret = svm_copy_throttle(c, r->len);
	if (ret) {
		r->fail_off = r->src_off;
		return ret;
	}
	ret = svm_xcopy_copy_dev(x->tsrc, &x->src, r->src_off / bs,
				 x->tdst, &x->dst, dst_off / bs, r->len / bs,
				 &x->lim, &st, err, sizeof(err));
	/* The array wrote behind this host's page cache of the destination. */
	if (p->df)
		posix_fadvise(p->df->fd, (off_t)dst_off, (off_t)r->len,
			      POSIX_FADV_DONTNEED);
	if (ret == -EOPNOTSUPP || ret == -ENOTTY) {
		/* Refused (e.g. COPY ABORTED): the next backend redoes the range. */
		r->fail_off = r->src_off + st.blocks_done * bs;
		x->state = XCOPY_REFUSED;
		snprintf(x->why, sizeof(x->why), "%s", err);
		snprintf(r->why, sizeof(r->why), "%s", err);
		return -EOPNOTSUPP;
	}
	if (ret) {
		r->fail_off = r->src_off + st.blocks_done * bs;
		return svm_copy_fail(c, ret, r->fail_off, "%s", err);
	}
	svm_copy_account(c, r, SVM_MODE_XCOPY, r->len, 0);
	r->offloaded += r->len;		/* the array copied it */
	return 0;
}

static void xcopy_fini(struct svm_copy *c)
{
	(void)c;
}

const struct svm_copy_ops svm_copy_ops_xcopy = {
	.name = "xcopy",
	.id = SVM_BK_XCOPY,
	.mode = SVM_MODE_XCOPY,
	.applies = xcopy_applies,
	.copy = xcopy_copy,
	.fini = xcopy_fini,
};
