// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-svmotion: the I/O mirror of svmotion's one-pass live storage copy.
 *
 * Each target instance maps a range of a virtual disk onto a source extent
 * and a destination extent. A userspace data mover copies the extent region
 * by region and coordinates with the target through messages:
 *
 *   lock <first> <count>    NOT_COPIED -> COPYING (waits for in-flight writes)
 *   commit <first> <count>  COPYING -> COPIED
 *   unlock <first> <count>  COPYING -> NOT_COPIED
 *
 * Reads always go to the source. Writes to NOT_COPIED regions go to the
 * source only, writes to COPIED regions to both devices, and writes to
 * COPYING regions are held until the region leaves that state. When every
 * region is COPIED, userspace switches the device over to a linear table on
 * the destination with device-mapper's own suspend/load/resume.
 *
 * The guest never waits longer than dst_timeout_ms for the destination: a
 * destination write (or flush) not done by then is abandoned, the guest's
 * write completes with the source half's status and the target fails to
 * source only. An abandoned half is a bio of its own (own bio_vec array,
 * a reference on every page, the destination held open), so it may outlive
 * the guest's bio, the target and its bio_sets.
 *
 * See Documentation/dm-svmotion.rst for the full interface.
 */

#include <linux/bio.h>
#include <linux/bitmap.h>
#include <linux/ctype.h>
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#define DM_MSG_PREFIX "svmotion"

#define SVM_MIN_REGION_SECTORS	128U		/* 64 KiB */
#define SVM_MAX_REGION_SECTORS	2097152U	/* 1 GiB */
#define SVM_MAX_REGIONS		BIT(28)		/* 2 x 32 MiB of bitmap */

#define SVM_DEFAULT_LOCK_TIMEOUT_MS	5000U
#define SVM_MIN_LOCK_TIMEOUT_MS		100U
#define SVM_MAX_LOCK_TIMEOUT_MS		600000U

/* How long the guest may wait for the destination; 0: for ever. */
#define SVM_DEFAULT_DST_TIMEOUT_MS	1000U
#define SVM_MIN_DST_TIMEOUT_MS		100U
#define SVM_MAX_DST_TIMEOUT_MS		600000U

/* Outstanding lock ranges per target: bounds the constant overhead. */
#define SVM_MAX_LOCKS		1024U

/* Bits in svm_target.flags. */
#define SVM_FAILED		0	/* destination error seen: source only */

/* Bits in svm_io.flags. */
#define SVM_IO_TRACKED		0x1	/* issued: on svm_target.inflight */

/*
 * One range of regions made COPYING by a single "lock" message.
 *
 * Invariant (under msg_mutex): every COPYING region belongs to exactly one
 * svm_lock and every region of an svm_lock is COPYING. commit and unlock of
 * part of a range trim or split the range.
 */
struct svm_lock {
	struct list_head list;		/* entry in svm_target.locks */
	unsigned long first;
	unsigned long count;
	unsigned long deadline;		/* jiffies: unlocked by the target then */
};

/* Per-bio data, kept by device-mapper in front of each bio it maps to us. */
struct svm_io {
	struct svm_target *svm;
	struct list_head inflight;	/* entry in svm_target.inflight */
	unsigned long region;
	unsigned long mapped;		/* jiffies: when the guest sent it */
	unsigned int flags;		/* SVM_IO_* */
	atomic_t pending;		/* halves of a mirrored write running */
	blk_status_t src_status;	/* source half's result */
	bool dst_notsupp;		/* destination refused a write-zeroes */
};

/*
 * The destination device, held open for as long as a destination half may
 * be in flight: one reference for the target, one for each half. An
 * abandoned half may complete after the target is gone; the last put closes
 * the device from svm_wq.
 */
struct svm_hold {
	refcount_t ref;
	struct block_device *bdev;
	fmode_t mode;
	struct work_struct put_work;	/* the close, after the last put */
};

enum svm_dst_state {
	SVM_DST_RUNNING,	/* submitted: the guest's bio waits for it */
	SVM_DST_DONE,		/* completed in time: svm_dst_endio puts @io */
	SVM_DST_ABANDONED,	/* timed out: svm_abandon put @io */
};

/*
 * The destination half of a mirrored write or flush: a bio of its own, with
 * its own bio_vec array and a reference on each page, so that it may outlive
 * the guest's bio. Whichever of svm_dst_endio and svm_abandon moves @state
 * away from RUNNING puts @io; once ABANDONED, the half touches neither @io
 * nor @svm again (both may be gone).
 */
struct svm_dst {
	struct list_head list;		/* entry in svm_target.dst_inflight */
	struct svm_target *svm;
	struct svm_io *io;
	struct svm_hold *hold;
	unsigned long deadline;		/* jiffies: abandoned then */
	atomic_t state;			/* enum svm_dst_state */
	struct bio bio;			/* last: svm_dst_bs has it as front_pad */
};

struct svm_target {
	struct dm_target *ti;
	struct dm_dev *src;
	struct dm_dev *dst;
	sector_t src_start;
	sector_t dst_start;
	sector_t region_sectors;
	unsigned int region_shift;
	unsigned long nr_regions;
	unsigned int lock_timeout_ms;
	bool lock_timeout_given;	/* print the feature in the table line */
	unsigned int dst_timeout_ms;	/* 0: wait for the destination */
	bool dst_timeout_given;

	/*
	 * @lock protects the region state and the I/O bookkeeping: @copied,
	 * @copying, @nr_copied, @nr_copying, @held, @nr_held, @inflight,
	 * @dst_inflight and @suspending. It is taken in map (process context)
	 * and end_io (any context), so always with interrupts disabled. Never
	 * held while sleeping, submitting or completing I/O.
	 */
	spinlock_t lock;
	unsigned long *copied;		/* bitmap: region is COPIED */
	unsigned long *copying;		/* bitmap: region is COPYING */
	unsigned long nr_copied;
	unsigned long nr_copying;
	struct bio_list held;		/* writes to COPYING regions, FIFO */
	unsigned int nr_held;
	struct list_head inflight;	/* svm_io of issued writes, until end_io */
	struct list_head dst_inflight;	/* svm_dst RUNNING, oldest first */
	bool suspending;		/* presuspend .. resume: lock refused */

	/*
	 * @msg_mutex serialises messages, presuspend, the lock timeout and the
	 * failure handling: everything that changes COPYING state. It protects
	 * @locks and @nr_locks. Taken before @lock, never inside it.
	 */
	struct mutex msg_mutex;
	struct list_head locks;		/* svm_lock, in no particular order */
	unsigned int nr_locks;

	/* A lock message waits here for in-flight writes to its regions. */
	wait_queue_head_t inflight_wait;

	struct delayed_work expire_work;	/* the lock timeout */
	struct work_struct event_work;		/* failure handling, dm events */
	struct delayed_work dst_work;		/* the destination timeout */
	struct svm_hold *hold;			/* the destination, held open */

	unsigned long flags;		/* SVM_FAILED, atomic bitops */

	atomic64_t mirrored;		/* writes sent to both devices */
	atomic64_t dst_errors;		/* destination I/O errors */
	atomic64_t expired;		/* regions unlocked by the timeout */
	atomic64_t revoked;		/* regions unlocked by a suspend */
	atomic64_t dst_timeouts;	/* destination halves abandoned */

	/* Source halves of mirrored writes (svm_dst_bs has the others). */
	struct bio_set bs_src;
};

/*
 * Destination halves of every target, and the work queue that closes held
 * destinations and runs the destination timeout. Both outlive the targets:
 * module exit waits until @svm_nr_holds, the svm_hold not yet closed, is 0.
 */
static struct bio_set svm_dst_bs;
static struct workqueue_struct *svm_wq;
static atomic_t svm_nr_holds = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(svm_holds_wait);

static const char *svm_name(struct svm_target *svm)
{
	return dm_device_name(dm_table_get_md(svm->ti->table));
}

static bool svm_failed(struct svm_target *svm)
{
	return test_bit(SVM_FAILED, &svm->flags);
}

/* ------------------------------------------------------------------------
 * The I/O path
 * ------------------------------------------------------------------------
 */

enum svm_route {
	SVM_ROUTE_SRC,		/* source only */
	SVM_ROUTE_MIRROR,	/* source and destination */
	SVM_ROUTE_HOLD,		/* held until the region leaves COPYING */
};

static void svm_remap(struct svm_target *svm, struct bio *bio,
		      struct dm_dev *dev, sector_t start)
{
	bio_set_dev(bio, dev->bdev);
	bio->bi_iter.bi_sector = start +
		dm_target_offset(svm->ti, bio->bi_iter.bi_sector);
}

static void svm_mirror_put(struct svm_io *io)
{
	struct bio *bio;

	if (!atomic_dec_and_test(&io->pending))
		return;
	bio = dm_bio_from_per_bio_data(io, sizeof(*io));
	bio->bi_status = io->src_status;
	/*
	 * The destination cannot zero this range: report that the operation
	 * is not supported, so the guest falls back to writing zeroes, which
	 * are mirrored like any write.
	 */
	if (!bio->bi_status && io->dst_notsupp)
		bio->bi_status = BLK_STS_NOTSUPP;
	bio_endio(bio);
}

/*
 * The target fails one way to source only. Called with no locks held, from
 * any context; @abandoned: destination halves were given up (not an error).
 */
static void svm_dst_error(struct svm_target *svm, blk_status_t status,
			  unsigned int abandoned)
{
	char why[64];

	if (abandoned)
		atomic64_add(abandoned, &svm->dst_timeouts);
	else
		atomic64_inc(&svm->dst_errors);
	if (test_and_set_bit(SVM_FAILED, &svm->flags))
		return;
	if (abandoned)
		snprintf(why, sizeof(why), "destination write not done within %u ms",
			 svm->dst_timeout_ms);
	else
		snprintf(why, sizeof(why), "destination I/O error %d",
			 blk_status_to_errno(status));
	DMERR("%s: %s: mirroring stopped, the guest continues on the source",
	      svm_name(svm), why);
	schedule_work(&svm->event_work);
}

static void svm_hold_close(struct svm_hold *h)
{
	blkdev_put(h->bdev, h->mode);
	kfree(h);
	if (atomic_dec_and_test(&svm_nr_holds))
		wake_up(&svm_holds_wait);
}

static void svm_hold_work(struct work_struct *ws)
{
	svm_hold_close(container_of(ws, struct svm_hold, put_work));
}

/* Any context: the close itself may sleep, so it runs on svm_wq. */
static void svm_hold_put(struct svm_hold *h)
{
	if (refcount_dec_and_test(&h->ref))
		queue_work(svm_wq, &h->put_work);
}

static void svm_src_endio(struct bio *clone)
{
	struct svm_io *io = clone->bi_private;

	io->src_status = clone->bi_status;
	bio_put(clone);
	svm_mirror_put(io);
}

/* Drop the page references, the bio and the hold of a destination half. */
static void svm_dst_free(struct svm_dst *d)
{
	struct svm_hold *hold = d->hold;
	struct bvec_iter_all iter;
	struct bio_vec *bv;

	bio_for_each_segment_all(bv, &d->bio, iter)
		put_page(bv->bv_page);
	bio_put(&d->bio);
	svm_hold_put(hold);
}

static void svm_dst_endio(struct bio *bio)
{
	struct svm_dst *d = container_of(bio, struct svm_dst, bio);
	blk_status_t status = bio->bi_status;
	struct svm_target *svm = d->svm;
	struct svm_io *io = d->io;
	unsigned long flags;

	/* Module exit waits for this section (synchronize_rcu). */
	rcu_read_lock();
	if (atomic_cmpxchg(&d->state, SVM_DST_RUNNING, SVM_DST_DONE) !=
	    SVM_DST_RUNNING) {
		/* Abandoned: the guest's bio, even the target may be gone. */
		svm_dst_free(d);
		rcu_read_unlock();
		return;
	}
	spin_lock_irqsave(&svm->lock, flags);
	list_del_init(&d->list);
	spin_unlock_irqrestore(&svm->lock, flags);

	/*
	 * A destination that does not support an optional operation has not
	 * failed: a discard is advisory and is dropped, a write-zeroes is
	 * refused to the guest (see svm_mirror_put). Anything else fails.
	 */
	if (status == BLK_STS_NOTSUPP &&
	    (bio_op(bio) == REQ_OP_WRITE_ZEROES ||
	     bio_op(bio) == REQ_OP_DISCARD)) {
		if (bio_op(bio) == REQ_OP_WRITE_ZEROES)
			io->dst_notsupp = true;
		status = BLK_STS_OK;
	}
	if (status)
		svm_dst_error(svm, status, 0);
	svm_dst_free(d);
	svm_mirror_put(io);
	rcu_read_unlock();
}

/*
 * A destination half for what of @bio is left at @iter: as many bio_vecs as
 * one bio holds, @iter advanced past them. Each page gets a reference of its
 * own, so that an abandoned half never reads memory the guest got back.
 */
static struct svm_dst *svm_dst_alloc(struct svm_target *svm, struct bio *bio,
				     struct bvec_iter *iter)
{
	unsigned short nr = 0;
	struct bvec_iter it;
	struct bio_vec bv;
	struct svm_dst *d;
	struct bio *db;

	if (bio_has_data(bio)) {
		__bio_for_each_bvec(bv, bio, it, *iter)
			if (++nr == BIO_MAX_VECS)
				break;
	}
	/* GFP_NOIO allocations from a bio_set never fail. */
	db = bio_alloc_bioset(svm->dst->bdev, nr, bio->bi_opf, GFP_NOIO,
			      &svm_dst_bs);
	db->bi_iter.bi_sector = svm->dst_start +
		dm_target_offset(svm->ti, iter->bi_sector);
	db->bi_ioprio = bio->bi_ioprio;
	bio_clone_blkg_association(db, bio);
	db->bi_end_io = svm_dst_endio;

	if (!nr) {
		/* No data: a flush, discard or write-zeroes. */
		db->bi_iter.bi_size = iter->bi_size;
		iter->bi_size = 0;
	}
	while (nr--) {
		unsigned int off, i, pages;
		struct page *page;

		bv = mp_bvec_iter_bvec(bio->bi_io_vec, *iter);
		page = nth_page(bv.bv_page, bv.bv_offset >> PAGE_SHIFT);
		off = offset_in_page(bv.bv_offset);
		pages = DIV_ROUND_UP(off + bv.bv_len, PAGE_SIZE);
		for (i = 0; i < pages; i++)
			get_page(nth_page(page, i));
		__bio_add_page(db, page, bv.bv_len, off);
		bio_advance_iter_single(bio, iter, bv.bv_len);
	}

	d = container_of(db, struct svm_dst, bio);
	d->svm = svm;
	d->hold = svm->hold;
	refcount_inc(&d->hold->ref);
	atomic_set(&d->state, SVM_DST_RUNNING);
	INIT_LIST_HEAD(&d->list);
	return d;
}

/*
 * Send a write to both devices, or (@to_src false) a flush to the
 * destination. The bio completes, with the source half's status, once every
 * half has or the destination's are abandoned; a destination error only
 * fails the target.
 */
static void svm_mirror(struct svm_target *svm, struct bio *bio,
		       struct svm_io *io, bool to_src)
{
	unsigned long deadline = jiffies +
		msecs_to_jiffies(svm->dst_timeout_ms);
	struct bvec_iter iter = bio->bi_iter;
	struct bio_list dsts;
	struct bio *sc = NULL, *db;
	unsigned long flags;
	struct svm_dst *d;

	io->src_status = BLK_STS_OK;
	io->dst_notsupp = false;
	/* Our own reference, until every half is submitted. */
	atomic_set(&io->pending, 1);

	bio_list_init(&dsts);
	do {
		d = svm_dst_alloc(svm, bio, &iter);
		d->io = io;
		d->deadline = deadline;
		atomic_inc(&io->pending);
		bio_list_add(&dsts, &d->bio);
	} while (iter.bi_size);

	spin_lock_irqsave(&svm->lock, flags);
	bio_list_for_each(db, &dsts)
		list_add_tail(&container_of(db, struct svm_dst, bio)->list,
			      &svm->dst_inflight);
	spin_unlock_irqrestore(&svm->lock, flags);
	/* Pending already: then for an earlier deadline than this one. */
	if (svm->dst_timeout_ms)
		queue_delayed_work(svm_wq, &svm->dst_work,
				   msecs_to_jiffies(svm->dst_timeout_ms) + 1);

	if (to_src) {
		sc = bio_alloc_clone(svm->src->bdev, bio, GFP_NOIO,
				     &svm->bs_src);
		sc->bi_iter.bi_sector = svm->src_start +
			dm_target_offset(svm->ti, bio->bi_iter.bi_sector);
		sc->bi_end_io = svm_src_endio;
		sc->bi_private = io;
		atomic_inc(&io->pending);
		atomic64_inc(&svm->mirrored);
	}

	while ((db = bio_list_pop(&dsts)))
		submit_bio_noacct(db);
	if (sc)
		submit_bio_noacct(sc);
	svm_mirror_put(io);
}

/*
 * Decide where a write goes, holding it if its region is COPYING. A write
 * that is issued to the devices goes on the in-flight list, where it stays
 * until end_io, so that "lock" can wait for it. Held writes are not on it:
 * a lock waiting for in-flight writes to its regions must not wait for the
 * writes it holds itself. A write is routed here once when it is mapped and
 * again each time it is released while still held, so it is issued (and
 * put on the list) exactly once.
 */
static enum svm_route svm_route_write(struct svm_target *svm, struct bio *bio,
				      struct svm_io *io)
{
	enum svm_route route = SVM_ROUTE_SRC;
	unsigned long flags;

	spin_lock_irqsave(&svm->lock, flags);
	if (svm_failed(svm)) {
		route = SVM_ROUTE_SRC;
	} else if (test_bit(io->region, svm->copying)) {
		bio_list_add(&svm->held, bio);
		svm->nr_held++;
		route = SVM_ROUTE_HOLD;
		/* Pending already: then for an earlier deadline. */
		if (svm->dst_timeout_ms)
			queue_delayed_work(svm_wq, &svm->dst_work,
					   msecs_to_jiffies(svm->dst_timeout_ms) + 1);
	} else if (test_bit(io->region, svm->copied)) {
		route = SVM_ROUTE_MIRROR;
	}
	if (route != SVM_ROUTE_HOLD) {
		list_add_tail(&io->inflight, &svm->inflight);
		io->flags |= SVM_IO_TRACKED;
	}
	spin_unlock_irqrestore(&svm->lock, flags);
	return route;
}

/* Dispatch a write that is no longer held (process context). */
static void svm_dispatch_write(struct svm_target *svm, struct bio *bio)
{
	struct svm_io *io = dm_per_bio_data(bio, sizeof(*io));

	switch (svm_route_write(svm, bio, io)) {
	case SVM_ROUTE_SRC:
		svm_remap(svm, bio, svm->src, svm->src_start);
		dm_submit_bio_remap(bio, NULL);
		break;
	case SVM_ROUTE_MIRROR:
		svm_mirror(svm, bio, io, true);
		break;
	case SVM_ROUTE_HOLD:
		break;
	}
}

/* Re-route every held write after a state change (process context). */
static void svm_release_held(struct svm_target *svm)
{
	struct bio_list list;
	struct bio *bio;

	bio_list_init(&list);
	spin_lock_irq(&svm->lock);
	bio_list_merge(&list, &svm->held);
	bio_list_init(&svm->held);
	svm->nr_held = 0;
	spin_unlock_irq(&svm->lock);

	while ((bio = bio_list_pop(&list)))
		svm_dispatch_write(svm, bio);
}

static int svm_map(struct dm_target *ti, struct bio *bio)
{
	struct svm_target *svm = ti->private;
	struct svm_io *io = dm_per_bio_data(bio, sizeof(*io));
	sector_t offset, left;

	io->svm = svm;
	io->flags = 0;
	io->mapped = jiffies;

	/*
	 * Empty flushes: device-mapper sends two, one for each device. The
	 * destination's is a half of our own, bounded like a write's.
	 */
	if (bio->bi_opf & REQ_PREFLUSH) {
		if (dm_bio_get_target_bio_nr(bio) == 1 && !svm_failed(svm)) {
			svm_mirror(svm, bio, io, false);
			return DM_MAPIO_SUBMITTED;
		}
		bio_set_dev(bio, svm->src->bdev);
		return DM_MAPIO_REMAPPED;
	}

	if (bio_op(bio) == REQ_OP_READ) {
		svm_remap(svm, bio, svm->src, svm->src_start);
		return DM_MAPIO_REMAPPED;
	}

	offset = dm_target_offset(ti, bio->bi_iter.bi_sector);

	/*
	 * Ordinary I/O is split at region boundaries by device-mapper
	 * (max_io_len); discards and write-zeroes are not, so split them here.
	 */
	left = svm->region_sectors - (offset & (svm->region_sectors - 1));
	if (bio_sectors(bio) > left)
		dm_accept_partial_bio(bio, left);

	io->region = offset >> svm->region_shift;

	switch (svm_route_write(svm, bio, io)) {
	case SVM_ROUTE_SRC:
		svm_remap(svm, bio, svm->src, svm->src_start);
		return DM_MAPIO_REMAPPED;
	case SVM_ROUTE_MIRROR:
		svm_mirror(svm, bio, io, true);
		return DM_MAPIO_SUBMITTED;
	case SVM_ROUTE_HOLD:
	default:
		return DM_MAPIO_SUBMITTED;
	}
}

static int svm_end_io(struct dm_target *ti, struct bio *bio,
		      blk_status_t *error)
{
	struct svm_target *svm = ti->private;
	struct svm_io *io = dm_per_bio_data(bio, sizeof(*io));
	unsigned long flags;
	bool wake;

	if (!(io->flags & SVM_IO_TRACKED))
		return DM_ENDIO_DONE;

	spin_lock_irqsave(&svm->lock, flags);
	list_del(&io->inflight);
	/* Only a lock message waiting on this region cares. */
	wake = test_bit(io->region, svm->copying);
	spin_unlock_irqrestore(&svm->lock, flags);

	if (wake)
		wake_up(&svm->inflight_wait);
	return DM_ENDIO_DONE;
}

/* ------------------------------------------------------------------------
 * Region state changes: lock, commit, unlock, timeout, suspend, failure
 * ------------------------------------------------------------------------
 */

/* Is a write to [first, end) issued and not yet complete? */
static bool svm_range_busy(struct svm_target *svm, unsigned long first,
			   unsigned long end)
{
	struct svm_io *io;
	bool busy = false;

	spin_lock_irq(&svm->lock);
	list_for_each_entry(io, &svm->inflight, inflight) {
		if (io->region >= first && io->region < end) {
			busy = true;
			break;
		}
	}
	spin_unlock_irq(&svm->lock);
	return busy;
}

/*
 * Remove [first, first + count) from the lock ranges, trimming or splitting
 * them. @spare is used for a split; it is consumed (set to NULL) if used.
 * Caller holds msg_mutex; every region of the range is COPYING.
 */
static void svm_trim_locks(struct svm_target *svm, unsigned long first,
			   unsigned long count, struct svm_lock **spare)
{
	unsigned long end = first + count;
	struct svm_lock *l, *tmp;

	lockdep_assert_held(&svm->msg_mutex);
	list_for_each_entry_safe(l, tmp, &svm->locks, list) {
		unsigned long l_end = l->first + l->count;

		if (l_end <= first || l->first >= end)
			continue;
		if (l->first >= first && l_end <= end) {
			list_del(&l->list);
			svm->nr_locks--;
			kfree(l);
		} else if (l->first < first && l_end > end) {
			struct svm_lock *tail = *spare;

			*spare = NULL;
			tail->first = end;
			tail->count = l_end - end;
			tail->deadline = l->deadline;
			list_add(&tail->list, &svm->locks);
			svm->nr_locks++;
			l->count = first - l->first;
		} else if (l->first < first) {
			l->count = first - l->first;
		} else {
			l->count = l_end - end;
			l->first = end;
		}
	}
}

/* Does [first, end) fall strictly inside one lock range (needs a split)? */
static bool svm_needs_split(struct svm_target *svm, unsigned long first,
			    unsigned long end)
{
	struct svm_lock *l;

	list_for_each_entry(l, &svm->locks, list)
		if (l->first < first && l->first + l->count > end)
			return true;
	return false;
}

/*
 * Drop every lock range: all COPYING regions become NOT_COPIED. Returns the
 * number of regions unlocked. Caller holds msg_mutex and releases held
 * writes afterwards.
 */
static unsigned long svm_drop_all_locks(struct svm_target *svm)
{
	struct svm_lock *l, *tmp;
	unsigned long n = 0;

	lockdep_assert_held(&svm->msg_mutex);
	spin_lock_irq(&svm->lock);
	list_for_each_entry(l, &svm->locks, list) {
		bitmap_clear(svm->copying, l->first, l->count);
		n += l->count;
	}
	svm->nr_copying -= n;
	spin_unlock_irq(&svm->lock);

	list_for_each_entry_safe(l, tmp, &svm->locks, list) {
		list_del(&l->list);
		kfree(l);
	}
	svm->nr_locks = 0;
	return n;
}

/*
 * The target unlocks @l itself (timeout): its regions are NOT_COPIED again,
 * counted as expired, and @l is freed. Caller holds msg_mutex and releases
 * held writes afterwards.
 */
static void svm_expire_lock(struct svm_target *svm, struct svm_lock *l)
{
	lockdep_assert_held(&svm->msg_mutex);
	spin_lock_irq(&svm->lock);
	bitmap_clear(svm->copying, l->first, l->count);
	svm->nr_copying -= l->count;
	spin_unlock_irq(&svm->lock);
	atomic64_add(l->count, &svm->expired);
	list_del(&l->list);
	svm->nr_locks--;
	kfree(l);
}

static void svm_expire_work(struct work_struct *ws)
{
	struct svm_target *svm = container_of(to_delayed_work(ws),
					      struct svm_target, expire_work);
	unsigned long now = jiffies, next = 0;
	struct svm_lock *l, *tmp;
	bool any = false, released = false;

	mutex_lock(&svm->msg_mutex);
	list_for_each_entry_safe(l, tmp, &svm->locks, list) {
		if (time_before(now, l->deadline)) {
			if (!any || time_before(l->deadline, next))
				next = l->deadline;
			any = true;
			continue;
		}
		DMWARN("%s: lock on regions %lu+%lu expired after %u ms: commit will be refused",
		       svm_name(svm), l->first, l->count, svm->lock_timeout_ms);
		svm_expire_lock(svm, l);
		released = true;
	}
	/* A lock message may have queued us for later: the earliest wins. */
	if (any)
		mod_delayed_work(system_wq, &svm->expire_work, next - now);
	mutex_unlock(&svm->msg_mutex);

	if (released)
		svm_release_held(svm);
}

/*
 * Give up the destination halves past their deadline, or (@all) every one:
 * their guest bios complete with the source half's status. The target fails
 * before the first such bio completes, so nothing is ever COPIED or switched
 * over on a destination that missed a write. Process context.
 */
static void svm_abandon(struct svm_target *svm, bool all)
{
	unsigned long now = jiffies;
	struct svm_dst *d;
	struct svm_io *io;

	spin_lock_irq(&svm->lock);
	while ((d = list_first_entry_or_null(&svm->dst_inflight,
					     struct svm_dst, list))) {
		if (!all && time_before(now, d->deadline))
			break;
		/* Done with @d before it can be freed under us. */
		list_del_init(&d->list);
		io = d->io;
		if (atomic_cmpxchg(&d->state, SVM_DST_RUNNING,
				   SVM_DST_ABANDONED) != SVM_DST_RUNNING)
			continue;	/* its end_io is on the way */
		spin_unlock_irq(&svm->lock);
		/* Counted; the first fails the target (before the put). */
		svm_dst_error(svm, BLK_STS_TIMEOUT, 1);
		svm_mirror_put(io);
		spin_lock_irq(&svm->lock);
	}
	spin_unlock_irq(&svm->lock);
}

/*
 * A write held in a COPYING region for longer than dst_timeout_ms revokes
 * the lock on that region: the write goes on, and the mover's commit of the
 * range is refused so that it copies it again. The guest must not wait for
 * a copy that may be stuck on a dead destination. Process context; returns
 * false if a message holds msg_mutex (try again soon).
 */
static bool svm_revoke_held(struct svm_target *svm)
{
	unsigned long bound = msecs_to_jiffies(svm->dst_timeout_ms);
	unsigned long now = jiffies, region = 0;
	bool found, released = false;
	struct svm_lock *l;
	struct svm_io *io;
	struct bio *bio;

	if (!mutex_trylock(&svm->msg_mutex))
		return false;
	do {
		found = false;
		spin_lock_irq(&svm->lock);
		bio_list_for_each(bio, &svm->held) {
			io = dm_per_bio_data(bio, sizeof(*io));
			if (time_before(now, io->mapped + bound) ||
			    !test_bit(io->region, svm->copying))
				continue;
			region = io->region;
			found = true;
			break;
		}
		spin_unlock_irq(&svm->lock);
		if (!found)
			break;

		/* Every COPYING region belongs to one lock (see svm_lock). */
		found = false;
		list_for_each_entry(l, &svm->locks, list) {
			if (region < l->first || region >= l->first + l->count)
				continue;
			DMWARN("%s: write held %u ms in region %lu: lock %lu+%lu revoked",
			       svm_name(svm), svm->dst_timeout_ms, region,
			       l->first, l->count);
			svm_expire_lock(svm, l);
			found = true;
			released = true;
			break;
		}
	} while (found);
	mutex_unlock(&svm->msg_mutex);

	if (released)
		svm_release_held(svm);
	return true;
}

/* The destination timeout: abandoned halves and held writes, on svm_wq. */
static void svm_dst_work(struct work_struct *ws)
{
	struct svm_target *svm = container_of(to_delayed_work(ws),
					      struct svm_target, dst_work);
	unsigned long bound = msecs_to_jiffies(svm->dst_timeout_ms);
	unsigned long now, next = 0;
	struct svm_dst *d;
	struct svm_io *io;
	struct bio *bio;
	bool any = false;

	svm_abandon(svm, svm_failed(svm));
	if (!svm_revoke_held(svm)) {
		any = true;
		next = jiffies + msecs_to_jiffies(10);
	}

	/* Next round: the oldest half, or the oldest held write. */
	now = jiffies;
	spin_lock_irq(&svm->lock);
	d = list_first_entry_or_null(&svm->dst_inflight, struct svm_dst, list);
	if (d && (!any || time_before(d->deadline, next))) {
		next = d->deadline;
		any = true;
	}
	bio_list_for_each(bio, &svm->held) {
		io = dm_per_bio_data(bio, sizeof(*io));
		if (!any || time_before(io->mapped + bound, next)) {
			next = io->mapped + bound;
			any = true;
		}
	}
	spin_unlock_irq(&svm->lock);
	if (any)
		mod_delayed_work(svm_wq, &svm->dst_work,
				 time_after(next, now) ? next - now + 1 : 1);
}

/* Failure handling and dm events, in process context. */
static void svm_event_work(struct work_struct *ws)
{
	struct svm_target *svm = container_of(ws, struct svm_target,
					      event_work);

	if (svm_failed(svm)) {
		/* Source only now: nothing waits for the destination. */
		if (svm->dst_timeout_ms)
			svm_abandon(svm, true);
		mutex_lock(&svm->msg_mutex);
		svm_drop_all_locks(svm);
		mutex_unlock(&svm->msg_mutex);
		svm_release_held(svm);
	}
	dm_table_event(svm->ti->table);
}

/* First region in [first, end) whose bit in @map is @set, or end. */
static unsigned long svm_find(const unsigned long *map, unsigned long first,
			      unsigned long end, bool set)
{
	return set ? find_next_bit(map, end, first) :
		     find_next_zero_bit(map, end, first);
}

/* Why a lock of [first, end) must be refused, or 0. Caller holds lock. */
static int svm_lock_refused(struct svm_target *svm, unsigned long first,
			    unsigned long end)
{
	unsigned long bad;

	if (svm_failed(svm)) {
		DMWARN("%s: lock refused: the target has failed (destination error)",
		       svm_name(svm));
		return -EIO;
	}
	if (svm->suspending) {
		DMWARN("%s: lock refused: the device is suspended",
		       svm_name(svm));
		return -EBUSY;
	}
	if (svm->nr_locks >= SVM_MAX_LOCKS) {
		DMWARN("%s: lock refused: %u lock ranges already outstanding",
		       svm_name(svm), svm->nr_locks);
		return -EBUSY;
	}
	bad = svm_find(svm->copying, first, end, true);
	if (bad < end) {
		DMWARN("%s: lock refused: region %lu is already COPYING",
		       svm_name(svm), bad);
		return -EBUSY;
	}
	bad = svm_find(svm->copied, first, end, true);
	if (bad < end) {
		DMWARN("%s: lock refused: region %lu is already COPIED",
		       svm_name(svm), bad);
		return -EBUSY;
	}
	return 0;
}

static int svm_msg_lock(struct svm_target *svm, unsigned long first,
			unsigned long count)
{
	unsigned long end = first + count;
	unsigned long timeout = msecs_to_jiffies(svm->lock_timeout_ms);
	struct svm_lock *l;
	long left;
	int r = 0;

	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l)
		return -ENOMEM;

	spin_lock_irq(&svm->lock);
	r = svm_lock_refused(svm, first, end);
	if (!r) {
		bitmap_set(svm->copying, first, count);
		svm->nr_copying += count;
	}
	spin_unlock_irq(&svm->lock);
	if (r) {
		kfree(l);
		return r;
	}

	/* New writes are held now; wait for those already issued. */
	left = wait_event_killable_timeout(svm->inflight_wait,
					   !svm_range_busy(svm, first, end),
					   timeout);
	if (left <= 0) {
		spin_lock_irq(&svm->lock);
		bitmap_clear(svm->copying, first, count);
		svm->nr_copying -= count;
		spin_unlock_irq(&svm->lock);
		kfree(l);
		svm_release_held(svm);
		if (left == 0) {
			DMWARN("%s: lock %lu+%lu: in-flight writes not done within %u ms",
			       svm_name(svm), first, count,
			       svm->lock_timeout_ms);
			return -ETIMEDOUT;
		}
		return -EINTR;
	}

	l->first = first;
	l->count = count;
	l->deadline = jiffies + timeout;
	list_add_tail(&l->list, &svm->locks);
	svm->nr_locks++;
	schedule_delayed_work(&svm->expire_work, timeout + 1);
	return 0;
}

/* commit (@commit true) or unlock a range of COPYING regions. */
static int svm_msg_release(struct svm_target *svm, unsigned long first,
			   unsigned long count, bool commit)
{
	const char *what = commit ? "commit" : "unlock";
	unsigned long end = first + count, bad;
	struct svm_lock *spare = NULL;
	bool synced = false;

	if (svm_failed(svm)) {
		DMWARN("%s: %s refused: the target has failed (destination error)",
		       svm_name(svm), what);
		return -EIO;
	}

	if (svm_needs_split(svm, first, end)) {
		if (svm->nr_locks >= SVM_MAX_LOCKS) {
			DMWARN("%s: %s refused: splitting a lock range would exceed %u ranges",
			       svm_name(svm), what, SVM_MAX_LOCKS);
			return -EBUSY;
		}
		spare = kzalloc(sizeof(*spare), GFP_KERNEL);
		if (!spare)
			return -ENOMEM;
	}

	spin_lock_irq(&svm->lock);
	bad = svm_find(svm->copying, first, end, false);
	if (bad < end) {
		bool copied = test_bit(bad, svm->copied);

		spin_unlock_irq(&svm->lock);
		kfree(spare);
		DMWARN("%s: %s refused: region %lu is %s, not COPYING (lock missing or revoked)",
		       svm_name(svm), what, bad,
		       copied ? "COPIED" : "NOT_COPIED");
		return -EBUSY;
	}
	bitmap_clear(svm->copying, first, count);
	svm->nr_copying -= count;
	if (commit) {
		bitmap_set(svm->copied, first, count);
		svm->nr_copied += count;
		synced = svm->nr_copied == svm->nr_regions;
	}
	spin_unlock_irq(&svm->lock);

	svm_trim_locks(svm, first, count, &spare);
	kfree(spare);
	svm_release_held(svm);
	if (synced)
		schedule_work(&svm->event_work);
	return 0;
}

/*
 * A plain decimal number: digits only (kstrtoull alone would also take a
 * leading '+'), no overflow.
 */
static int svm_parse_u64(const char *s, u64 *v)
{
	unsigned long long tmp;

	if (!isdigit(*s) || kstrtoull(s, 10, &tmp))
		return -EINVAL;
	*v = tmp;
	return 0;
}

static int svm_parse_ulong(const char *s, unsigned long *v)
{
	u64 tmp;

	if (svm_parse_u64(s, &tmp) || tmp != (unsigned long)tmp)
		return -EINVAL;
	*v = tmp;
	return 0;
}

static int svm_message(struct dm_target *ti, unsigned int argc, char **argv,
		       char *result, unsigned int maxlen)
{
	struct svm_target *svm = ti->private;
	unsigned long first, count;
	int r;

	if (!argc) {
		DMWARN("%s: empty message", svm_name(svm));
		return -EINVAL;
	}
	if (strcmp(argv[0], "lock") && strcmp(argv[0], "commit") &&
	    strcmp(argv[0], "unlock")) {
		DMWARN("%s: unknown message \"%s\" (expected lock, commit or unlock)",
		       svm_name(svm), argv[0]);
		return -EINVAL;
	}
	if (argc != 3) {
		DMWARN("%s: %s takes 2 arguments: <first_region> <count>",
		       svm_name(svm), argv[0]);
		return -EINVAL;
	}
	if (svm_parse_ulong(argv[1], &first) ||
	    svm_parse_ulong(argv[2], &count)) {
		DMWARN("%s: %s: invalid region number or count", svm_name(svm),
		       argv[0]);
		return -EINVAL;
	}
	if (!count) {
		DMWARN("%s: %s: count must be at least 1", svm_name(svm),
		       argv[0]);
		return -EINVAL;
	}
	if (first >= svm->nr_regions || count > svm->nr_regions - first) {
		DMWARN("%s: %s: regions %lu+%lu out of range (%lu regions)",
		       svm_name(svm), argv[0], first, count, svm->nr_regions);
		return -EINVAL;
	}

	mutex_lock(&svm->msg_mutex);
	if (!strcmp(argv[0], "lock"))
		r = svm_msg_lock(svm, first, count);
	else
		r = svm_msg_release(svm, first, count,
				    !strcmp(argv[0], "commit"));
	mutex_unlock(&svm->msg_mutex);
	return r;
}

/* ------------------------------------------------------------------------
 * Suspend and resume
 * ------------------------------------------------------------------------
 */

/*
 * Before device-mapper waits for in-flight I/O, give up every lock so that
 * held writes are issued to the source: a suspend (flush or noflush) waits
 * only for I/O already issued to the devices. Later commits of the revoked
 * regions are refused, so the mover copies them again.
 */
static void svm_presuspend(struct dm_target *ti)
{
	struct svm_target *svm = ti->private;
	unsigned long n;

	mutex_lock(&svm->msg_mutex);
	spin_lock_irq(&svm->lock);
	svm->suspending = true;
	spin_unlock_irq(&svm->lock);
	n = svm_drop_all_locks(svm);
	mutex_unlock(&svm->msg_mutex);

	if (n) {
		atomic64_add(n, &svm->revoked);
		DMINFO("%s: suspend revoked the lock on %lu regions",
		       svm_name(svm), n);
	}
	svm_release_held(svm);
}

static void svm_resume_locks(struct dm_target *ti)
{
	struct svm_target *svm = ti->private;

	spin_lock_irq(&svm->lock);
	svm->suspending = false;
	spin_unlock_irq(&svm->lock);
}

/* ------------------------------------------------------------------------
 * Status
 * ------------------------------------------------------------------------
 */

/*
 * INFO:
 *   <region_sectors> <copied>/<total> <copying> <held_writes>
 *   <mirrored_writes> <dst_errors> <expired_locks> <revoked_locks>
 *   <dst_timeouts> <state>
 *
 *   state is "copying" (not every region COPIED), "synced" (every region
 *   COPIED, every write mirrored) or "failed" (destination error or
 *   timeout: writes go to the source only).
 *
 * TABLE:
 *   <src_dev> <src_offset> <dst_dev> <dst_offset> <region_sectors>
 *   [<#features> [lock_timeout_ms <ms>] [dst_timeout_ms <ms>]]
 */
static void svm_status(struct dm_target *ti, status_type_t type,
		       unsigned int status_flags, char *result,
		       unsigned int maxlen)
{
	struct svm_target *svm = ti->private;
	unsigned long copied, copying;
	unsigned int held;
	const char *state;
	unsigned int sz = 0;

	switch (type) {
	case STATUSTYPE_INFO:
		spin_lock_irq(&svm->lock);
		copied = svm->nr_copied;
		copying = svm->nr_copying;
		held = svm->nr_held;
		spin_unlock_irq(&svm->lock);
		if (svm_failed(svm))
			state = "failed";
		else if (copied == svm->nr_regions)
			state = "synced";
		else
			state = "copying";
		DMEMIT("%llu %lu/%lu %lu %u %lld %lld %lld %lld %lld %s",
		       (unsigned long long)svm->region_sectors, copied,
		       svm->nr_regions, copying, held,
		       (long long)atomic64_read(&svm->mirrored),
		       (long long)atomic64_read(&svm->dst_errors),
		       (long long)atomic64_read(&svm->expired),
		       (long long)atomic64_read(&svm->revoked),
		       (long long)atomic64_read(&svm->dst_timeouts), state);
		break;

	case STATUSTYPE_TABLE:
		DMEMIT("%s %llu %s %llu %llu", svm->src->name,
		       (unsigned long long)svm->src_start, svm->dst->name,
		       (unsigned long long)svm->dst_start,
		       (unsigned long long)svm->region_sectors);
		if (svm->lock_timeout_given || svm->dst_timeout_given)
			DMEMIT(" %u", 2 * (svm->lock_timeout_given +
					   svm->dst_timeout_given));
		if (svm->lock_timeout_given)
			DMEMIT(" lock_timeout_ms %u", svm->lock_timeout_ms);
		if (svm->dst_timeout_given)
			DMEMIT(" dst_timeout_ms %u", svm->dst_timeout_ms);
		break;

	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",src_device_name=%s,src_start=%llu",
		       svm->src->name, (unsigned long long)svm->src_start);
		DMEMIT(",dst_device_name=%s,dst_start=%llu",
		       svm->dst->name, (unsigned long long)svm->dst_start);
		DMEMIT(",region_sectors=%llu,dst_timeout_ms=%u;",
		       (unsigned long long)svm->region_sectors,
		       svm->dst_timeout_ms);
		break;
	}
}

/* ------------------------------------------------------------------------
 * Construction and destruction
 * ------------------------------------------------------------------------
 */

static int svm_iterate_devices(struct dm_target *ti,
			       iterate_devices_callout_fn fn, void *data)
{
	struct svm_target *svm = ti->private;
	int r;

	r = fn(ti, svm->src, svm->src_start, ti->len, data);
	if (!r)
		r = fn(ti, svm->dst, svm->dst_start, ti->len, data);
	return r;
}

static int svm_parse_sector(const char *s, sector_t *v)
{
	u64 tmp;

	if (svm_parse_u64(s, &tmp) || tmp != (sector_t)tmp)
		return -EINVAL;
	*v = tmp;
	return 0;
}

/* Does the extent fit its device? */
static int svm_check_extent(struct dm_target *ti, struct dm_dev *dev,
			    sector_t start, const char *which)
{
	sector_t size = bdev_nr_sectors(dev->bdev);

	if (start > size || ti->len > size - start) {
		DMERR("%s extent %llu+%llu runs past the end of %s (%llu sectors)",
		      which, (unsigned long long)start,
		      (unsigned long long)ti->len, dev->name,
		      (unsigned long long)size);
		return -EINVAL;
	}
	return 0;
}

/* Do the two extents share sectors of one disk (partitions included)? */
static bool svm_extents_overlap(struct svm_target *svm, sector_t len)
{
	struct block_device *s = svm->src->bdev, *d = svm->dst->bdev;
	sector_t s0, d0;

	if (bdev_whole(s) != bdev_whole(d))
		return false;
	s0 = get_start_sect(s) + svm->src_start;
	d0 = get_start_sect(d) + svm->dst_start;
	return s0 < d0 + len && d0 < s0 + len;
}

/* One "<name> <ms>" feature; 0 is allowed for dst_timeout_ms alone. */
static int svm_parse_ms(struct dm_arg_set *as, unsigned int min, unsigned int max, bool zero,
			unsigned int *v, bool *given, char **error)
{
	u64 ms;

	if (*given) {
		*error = "A feature is given twice";
		return -EINVAL;
	}
	if (!as->argc) {
		*error = "A feature needs a value";
		return -EINVAL;
	}
	if (svm_parse_u64(dm_shift_arg(as), &ms) ||
	    (ms < min && !(zero && ms == 0)) || ms > max) {
		*error = zero ? "dst_timeout_ms must be 0 or 100 to 600000" :
				"lock_timeout_ms must be 100 to 600000";
		return -EINVAL;
	}
	*v = ms;
	*given = true;
	return 0;
}

static int svm_parse_features(struct svm_target *svm, struct dm_arg_set *as,
			      char **error)
{
	static const struct dm_arg feature_args = {
		0, 4, "Invalid number of feature arguments"
	};
	unsigned int nr;
	const char *name;
	int r;

	if (!as->argc)
		return 0;
	r = dm_read_arg_group(&feature_args, as, &nr, error);
	if (r)
		return r;
	if (nr % 2) {
		*error = "Each feature takes one value";
		return -EINVAL;
	}
	/* dm_read_arg_group checked that @nr arguments are there. */
	while (nr) {
		struct dm_arg_set value = { .argc = 1, .argv = as->argv + 1 };

		name = dm_shift_arg(as);
		dm_shift_arg(as);
		nr -= 2;
		if (!strcasecmp(name, "lock_timeout_ms")) {
			r = svm_parse_ms(&value, SVM_MIN_LOCK_TIMEOUT_MS,
					 SVM_MAX_LOCK_TIMEOUT_MS, false,
					 &svm->lock_timeout_ms,
					 &svm->lock_timeout_given, error);
		} else if (!strcasecmp(name, "dst_timeout_ms")) {
			r = svm_parse_ms(&value, SVM_MIN_DST_TIMEOUT_MS,
					 SVM_MAX_DST_TIMEOUT_MS, true,
					 &svm->dst_timeout_ms,
					 &svm->dst_timeout_given, error);
		} else {
			*error = "Unknown feature (expected lock_timeout_ms or dst_timeout_ms)";
			r = -EINVAL;
		}
		if (r)
			return r;
	}
	if (as->argc) {
		*error = "Unexpected arguments after the features";
		return -EINVAL;
	}
	return 0;
}

/*
 * Hold the destination open on our own (shared, not exclusive), for the
 * halves that may outlive the table's reference.
 */
static int svm_hold_open(struct svm_target *svm, fmode_t mode)
{
	struct svm_hold *h = kzalloc(sizeof(*h), GFP_KERNEL);

	if (!h)
		return -ENOMEM;
	h->mode = mode & (FMODE_READ | FMODE_WRITE);
	h->bdev = blkdev_get_by_dev(svm->dst->bdev->bd_dev, h->mode, NULL);
	if (IS_ERR(h->bdev)) {
		int r = PTR_ERR(h->bdev);

		kfree(h);
		return r;
	}
	refcount_set(&h->ref, 1);
	INIT_WORK(&h->put_work, svm_hold_work);
	atomic_inc(&svm_nr_holds);
	svm->hold = h;
	return 0;
}

static void svm_free(struct svm_target *svm)
{
	bioset_exit(&svm->bs_src);
	kvfree(svm->copying);
	kvfree(svm->copied);
	kfree(svm);
}

/*
 * <src_dev> <src_offset> <dst_dev> <dst_offset> <region_sectors>
 * [<#features> <feature args>...]
 */
static int svm_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	fmode_t mode = dm_table_get_mode(ti->table);
	struct svm_target *svm;
	unsigned long long regions;
	sector_t region;
	int r;

	if (argc < 5) {
		ti->error = "Too few arguments: <src> <offset> <dst> <offset> <region_sectors>";
		return -EINVAL;
	}

	svm = kzalloc(sizeof(*svm), GFP_KERNEL);
	if (!svm) {
		ti->error = "Cannot allocate target context";
		return -ENOMEM;
	}
	svm->ti = ti;
	svm->lock_timeout_ms = SVM_DEFAULT_LOCK_TIMEOUT_MS;
	svm->dst_timeout_ms = SVM_DEFAULT_DST_TIMEOUT_MS;
	spin_lock_init(&svm->lock);
	bio_list_init(&svm->held);
	INIT_LIST_HEAD(&svm->inflight);
	INIT_LIST_HEAD(&svm->dst_inflight);
	mutex_init(&svm->msg_mutex);
	INIT_LIST_HEAD(&svm->locks);
	init_waitqueue_head(&svm->inflight_wait);
	INIT_DELAYED_WORK(&svm->expire_work, svm_expire_work);
	INIT_WORK(&svm->event_work, svm_event_work);
	INIT_DELAYED_WORK(&svm->dst_work, svm_dst_work);
	atomic64_set(&svm->mirrored, 0);
	atomic64_set(&svm->dst_timeouts, 0);
	atomic64_set(&svm->dst_errors, 0);
	atomic64_set(&svm->expired, 0);
	atomic64_set(&svm->revoked, 0);

	r = -EINVAL;
	if (svm_parse_sector(argv[1], &svm->src_start)) {
		ti->error = "Invalid source offset";
		goto bad;
	}
	if (svm_parse_sector(argv[3], &svm->dst_start)) {
		ti->error = "Invalid destination offset";
		goto bad;
	}
	if (svm_parse_sector(argv[4], &region) ||
	    !is_power_of_2(region) || region < SVM_MIN_REGION_SECTORS ||
	    region > SVM_MAX_REGION_SECTORS) {
		ti->error = "Region size must be a power of two, 128 to 2097152 sectors";
		goto bad;
	}
	svm->region_sectors = region;
	svm->region_shift = __ffs(region);

	dm_consume_args(&as, 5);
	r = svm_parse_features(svm, &as, &ti->error);
	if (r)
		goto bad;

	if (!ti->len) {
		r = -EINVAL;
		ti->error = "Zero-length target";
		goto bad;
	}
	regions = DIV_ROUND_UP_ULL((unsigned long long)ti->len, region);
	if (regions > SVM_MAX_REGIONS) {
		r = -EINVAL;
		ti->error = "Too many regions: use a larger region size";
		goto bad;
	}
	svm->nr_regions = regions;

	r = dm_get_device(ti, argv[0], mode, &svm->src);
	if (r) {
		ti->error = "Source device lookup failed";
		goto bad;
	}
	r = dm_get_device(ti, argv[2], mode, &svm->dst);
	if (r) {
		ti->error = "Destination device lookup failed";
		goto bad_src;
	}

	r = -EINVAL;
	if (svm_check_extent(ti, svm->src, svm->src_start, "source")) {
		ti->error = "Source extent runs past the end of its device";
		goto bad_dst;
	}
	if (svm_check_extent(ti, svm->dst, svm->dst_start, "destination")) {
		ti->error = "Destination extent runs past the end of its device";
		goto bad_dst;
	}
	if (svm_extents_overlap(svm, ti->len)) {
		ti->error = "Source and destination extents overlap on one device";
		goto bad_dst;
	}

	r = -ENOMEM;
	svm->copied = kvcalloc(BITS_TO_LONGS(svm->nr_regions),
			       sizeof(unsigned long), GFP_KERNEL);
	svm->copying = kvcalloc(BITS_TO_LONGS(svm->nr_regions),
				sizeof(unsigned long), GFP_KERNEL);
	if (!svm->copied || !svm->copying) {
		ti->error = "Cannot allocate region bitmaps";
		goto bad_dst;
	}
	if (bioset_init(&svm->bs_src, BIO_POOL_SIZE, 0, 0)) {
		ti->error = "Cannot allocate bio sets";
		goto bad_dst;
	}
	r = svm_hold_open(svm, mode);
	if (r) {
		ti->error = "Cannot hold the destination open";
		goto bad_dst;
	}

	r = dm_set_target_max_io_len(ti, svm->region_sectors);
	if (r)
		goto bad_hold;

	ti->num_flush_bios = 2;
	ti->num_discard_bios = 1;
	ti->num_write_zeroes_bios = 1;
	ti->per_io_data_size = sizeof(struct svm_io);
	ti->private = svm;
	return 0;

bad_hold:
	refcount_set(&svm->hold->ref, 0);
	svm_hold_close(svm->hold);
bad_dst:
	dm_put_device(ti, svm->dst);
bad_src:
	dm_put_device(ti, svm->src);
bad:
	svm_free(svm);
	return r;
}

static void svm_dtr(struct dm_target *ti)
{
	struct svm_target *svm = ti->private;
	struct svm_lock *l, *tmp;

	/* dst_work may schedule event_work (a timeout), not the reverse. */
	cancel_delayed_work_sync(&svm->expire_work);
	cancel_delayed_work_sync(&svm->dst_work);
	cancel_work_sync(&svm->event_work);
	if (!bio_list_empty(&svm->held))
		DMERR("%s: destroyed with held writes", svm_name(svm));
	if (!list_empty(&svm->dst_inflight))
		DMERR("%s: destroyed with destination writes in flight",
		      svm_name(svm));
	/* Abandoned halves still in flight keep the destination open. */
	if (refcount_dec_and_test(&svm->hold->ref))
		svm_hold_close(svm->hold);
	list_for_each_entry_safe(l, tmp, &svm->locks, list)
		kfree(l);
	dm_put_device(ti, svm->dst);
	dm_put_device(ti, svm->src);
	svm_free(svm);
}

static struct target_type svm_target = {
	.name = "svmotion",
	.version = {1, 1, 0},
	.module = THIS_MODULE,
	.ctr = svm_ctr,
	.dtr = svm_dtr,
	.map = svm_map,
	.end_io = svm_end_io,
	.presuspend = svm_presuspend,
	.presuspend_undo = svm_resume_locks,
	.resume = svm_resume_locks,
	.status = svm_status,
	.message = svm_message,
	.iterate_devices = svm_iterate_devices,
};

static int __init dm_svmotion_init(void)
{
	int r;

	r = bioset_init(&svm_dst_bs, BIO_POOL_SIZE,
			offsetof(struct svm_dst, bio), BIOSET_NEED_BVECS);
	if (r)
		return r;
	svm_wq = alloc_workqueue("dm-svmotion", WQ_MEM_RECLAIM, 0);
	if (!svm_wq) {
		r = -ENOMEM;
		goto bad_bs;
	}
	r = dm_register_target(&svm_target);
	if (r < 0) {
		DMERR("register failed %d", r);
		goto bad_wq;
	}
	return 0;

bad_wq:
	destroy_workqueue(svm_wq);
bad_bs:
	bioset_exit(&svm_dst_bs);
	return r;
}

/*
 * Every target is gone, but abandoned destination halves may still be in
 * flight: wait for each to complete and its device to be closed, then for
 * the end of every svm_dst_endio (an RCU read-side section).
 */
static void __exit dm_svmotion_exit(void)
{
	dm_unregister_target(&svm_target);
	if (atomic_read(&svm_nr_holds))
		DMINFO("waiting for abandoned destination writes to complete");
	wait_event(svm_holds_wait, !atomic_read(&svm_nr_holds));
	destroy_workqueue(svm_wq);
	synchronize_rcu();
	bioset_exit(&svm_dst_bs);
}

module_init(dm_svmotion_init);
module_exit(dm_svmotion_exit);

MODULE_DESCRIPTION(DM_NAME " live storage migration mirror (svmotion)");
MODULE_AUTHOR("svmotion developers");
MODULE_LICENSE("GPL");
