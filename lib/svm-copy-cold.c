// SPDX-License-Identifier: GPL-2.0
/*
 * svm-copy-cold.c - libsvmotion: the cold copy driver: every pair in turn,
 * its destination sized and prepared for the format first, then all of it
 * through the engine (svm-copy.c). See svm-copy.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "svm-copy-int.h"

/*
 * A block device destination in a format that unmaps zero runs (thin,
 * same): unmap its whole extent once, before anything is written (as
 * qemu-img convert zeroes its target first), so that zero runs and holes
 * are then skipped instead of unmapped one by one (on a loop device each
 * unmap is a fallocate in the backing filesystem: 512 of them in a 2 GiB
 * copy that is half holes). PUNCH_HOLE only, which the kernel does only
 * where the device guarantees zeros afterwards (a LUN: UNMAP where it
 * reads zeros after); refused, zero runs are handled one at a time as
 * before. Not where XCOPY takes the pair (the array copies every block
 * anyway). In a hot copy the guest's mirrored writes reach the destination:
 * cold copies only.
 */
static void unmap_dst_upfront(struct svm_copy *c, struct svm_pair *p)
{
	struct svm_ep *ep = p->dst;

	if ((ep->caps & SVM_EP_CAP_GROWS) || !p->ext.dst.length ||
	    (c->opts.format != SVM_FORMAT_THIN &&
	     c->opts.format != SVM_FORMAT_SAME) ||
	    svm_copy_chain_takes(c, &svm_copy_ops_xcopy, p))
		return;
	if (p->df) {
		if (fallocate(p->df->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      p->ext.dst.offset, p->ext.dst.length))
			return;
	} else if (!(ep->caps & SVM_EP_CAP_UNMAP) ||
		   ep->ops->zero(ep, p->ext.dst.offset, p->ext.dst.length,
				 SVM_EP_ZERO_UNMAP)) {
		return;
	}
	ep->fresh_from = p->ext.dst.offset;
	c->res->bytes_zeroed_upfront += p->ext.dst.length;
}

/* Thick-lazy: the destination file's space allocated in full first. */
static int allocate_dst(struct svm_copy *c, struct svm_pair *p)
{
	int ret;

	if (c->opts.format != SVM_FORMAT_THICK_LAZY || !p->ext.dst.length ||
	    !(p->dst->caps & SVM_EP_CAP_GROWS))
		return 0;
	if (!p->df) {
		/*
		 * No way to allocate a remote file without writing it (NFS
		 * before 4.2 has no ALLOCATE): the holes and zeros are
		 * written, as thick-eager does.
		 */
		p->dst->fresh_from = UINT64_MAX;
		return 0;
	}
	if (!fallocate(p->df->fd, 0, p->ext.dst.offset, p->ext.dst.length) ||
	    errno == EOPNOTSUPP)
		return 0;
	ret = -errno;
	return svm_copy_fail(c, ret, p->ext.src.offset,
			     "allocating %s [%llu, +%llu): %s%s",
			     p->ext.dst.path,
			     (unsigned long long)p->ext.dst.offset,
			     (unsigned long long)p->ext.dst.length,
			     strerror(-ret),
			     ret == -ENOSPC ? " (destination out of space)" : "");
}

static int copy_pair(struct svm_copy *c, struct svm_pair *p)
{
	uint64_t pos = p->ext.src.offset, end = pos + p->ext.src.length;
	uint64_t dend = p->ext.dst.offset + p->ext.dst.length;
	int ret;

	/*
	 * A file destination ends at least at its extent's end, and gets
	 * that size before the copy: O_DIRECT writes that extend a file are
	 * waited for one at a time by some filesystems (ext4 takes the inode
	 * lock exclusively and forces them synchronous), which would make
	 * the queue depth 1.
	 */
	if ((p->dst->caps & SVM_EP_CAP_GROWS) && p->dst->ops->set_size) {
		ret = p->dst->ops->set_size(p->dst, dend);
		if (ret)
			return svm_copy_fail(c, ret, pos, "%s: %s", p->ext.dst.path,
					     p->dst->msg);
	}
	/* after the sizing, which tells where the file reads zeros from */
	ret = allocate_dst(c, p);
	if (ret)
		return ret;
	unmap_dst_upfront(c, p);
	/*
	 * A cold copy from a loop device over a file: the source's
	 * allocation is the file's, so its holes are found in the file
	 * instead of being read as zeros, and format same follows it
	 * exactly. SVM_COPY_VIA_DEVICES=1 turns it off (tests, benchmarks).
	 */
	if (p->sf && !getenv("SVM_COPY_VIA_DEVICES"))
		svm_ep_file_map_loop(p->sf);
	return svm_copy_span(c, p, pos, end);
}

int svm_cold_run(struct svm_copy *c)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < c->nr_pairs && !ret; i++)
		ret = copy_pair(c, &c->pairs[i]);
	return ret;
}
