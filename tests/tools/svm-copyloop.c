// SPDX-License-Identifier: GPL-2.0
/*
 * svm-copyloop - a simple hot-copy loop over a dm-svmotion segment, for the
 * tests (the real data mover is the svmotion command).
 *
 *   svm-copyloop --dm NAME --seg-start S --src PATH --src-offset SECTORS
 *                --dst PATH --dst-offset SECTORS [--regions-per-lock K]
 *                [--start-region R] [--count C] [--delay-ms D]
 *                [--stall-ms T] [--attempts A] [-v]
 *
 * Learns the region size and count of the segment starting at sector S of
 * device NAME from its status, then for regions R .. R+C-1, K at a time:
 * lock, read the source (O_DIRECT), write the destination (O_DIRECT),
 * fdatasync it, commit.  On an error the range is unlocked and the tool
 * exits 1.  A range whose lock or commit is refused with EBUSY (e.g. the
 * target revoked the lock because of a suspend or its lock timeout) is
 * copied again, up to A attempts in all (default 5).  D ms pause between
 * ranges; --stall-ms sleeps T ms between the copy and the commit of the
 * first range's first attempt, to play a stuck mover against
 * lock_timeout_ms.  The final status of the segment is printed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "svm-dm.h"

#define SECTOR		512ULL
#define CHUNK_BYTES	(1024 * 1024)	/* I/O size of the copy */
#define MAX_SEGS	64

struct copy {
	/* options */
	const char *dm, *src, *dst;
	uint64_t seg_start, src_off, dst_off;	/* sectors */
	uint64_t per_lock, first, count;
	uint64_t delay_ms, stall_ms, attempts;
	bool has_count, verbose;
	/* from the segment's status */
	uint64_t seg_len, region, total;
	/* runtime */
	int src_fd, dst_fd;
	char *buf;
	char err[512];
};

static void usage(FILE *f)
{
	fputs("usage: svm-copyloop --dm NAME --seg-start S --src PATH --src-offset SECTORS\n"
	      "                    --dst PATH --dst-offset SECTORS [--regions-per-lock K]\n"
	      "                    [--start-region R] [--count C] [--delay-ms D]\n"
	      "                    [--stall-ms T] [--attempts A] [-v]\n", f);
}

static int opt_u64(const char *name, const char *s, uint64_t min, uint64_t *val)
{
	char *end;

	errno = 0;
	if (s[0] >= '0' && s[0] <= '9') {
		*val = strtoull(s, &end, 10);
		if (!errno && !*end && *val >= min)
			return 0;
	}
	fprintf(stderr, "svm-copyloop: --%s: expected a number >= %" PRIu64
		", got \"%s\"\n", name, min, s);
	return -1;
}

static const struct option long_opts[] = {
	{ "dm", required_argument, NULL, 'm' },
	{ "seg-start", required_argument, NULL, 'S' },
	{ "src", required_argument, NULL, 's' },
	{ "src-offset", required_argument, NULL, 'o' },
	{ "dst", required_argument, NULL, 'd' },
	{ "dst-offset", required_argument, NULL, 'O' },
	{ "regions-per-lock", required_argument, NULL, 'k' },
	{ "start-region", required_argument, NULL, 'r' },
	{ "count", required_argument, NULL, 'c' },
	{ "delay-ms", required_argument, NULL, 'D' },
	{ "stall-ms", required_argument, NULL, 'T' },
	{ "attempts", required_argument, NULL, 'a' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_one(struct copy *c, int opt, const char *arg)
{
	switch (opt) {
	case 'm': c->dm = arg; return 0;
	case 's': c->src = arg; return 0;
	case 'd': c->dst = arg; return 0;
	case 'S': return opt_u64("seg-start", arg, 0, &c->seg_start);
	case 'o': return opt_u64("src-offset", arg, 0, &c->src_off);
	case 'O': return opt_u64("dst-offset", arg, 0, &c->dst_off);
	case 'k': return opt_u64("regions-per-lock", arg, 1, &c->per_lock);
	case 'r': return opt_u64("start-region", arg, 0, &c->first);
	case 'c': c->has_count = true;
		return opt_u64("count", arg, 1, &c->count);
	case 'D': return opt_u64("delay-ms", arg, 0, &c->delay_ms);
	case 'T': return opt_u64("stall-ms", arg, 0, &c->stall_ms);
	case 'a': return opt_u64("attempts", arg, 1, &c->attempts);
	case 'v': c->verbose = true; return 0;
	case 'h': usage(stdout); exit(0);
	}
	usage(stderr);
	return -1;
}

static int parse_opts(int argc, char **argv, struct copy *c)
{
	int opt;

	c->per_lock = 1;
	c->attempts = 5;
	while ((opt = getopt_long(argc, argv, "v", long_opts, NULL)) != -1)
		if (parse_one(c, opt, optarg))
			return -1;
	if (optind != argc) {
		fprintf(stderr, "svm-copyloop: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (!c->dm || !c->src || !c->dst) {
		fprintf(stderr, "svm-copyloop: --dm, --src and --dst are required\n");
		usage(stderr);
		return -1;
	}
	return 0;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Read the segment's status; fills *st. */
static int seg_status(struct copy *c, struct svm_seg_status *st)
{
	struct svm_seg_status segs[MAX_SEGS];
	int i, n;

	n = svm_dm_status(c->dm, segs, MAX_SEGS, c->err, sizeof(c->err));
	if (n < 0) {
		fprintf(stderr, "svm-copyloop: %s\n", c->err);
		return -1;
	}
	for (i = 0; i < n && i < MAX_SEGS; i++) {
		if (segs[i].start == c->seg_start) {
			*st = segs[i];
			return 0;
		}
	}
	fprintf(stderr, "svm-copyloop: %s has no svmotion segment starting at sector %"
		PRIu64 "\n", c->dm, c->seg_start);
	return -1;
}

/* Learn the geometry and check the requested region range. */
static int setup_range(struct copy *c)
{
	struct svm_seg_status st;

	if (seg_status(c, &st))
		return -1;
	c->seg_len = st.len;
	c->region = st.region_sectors;
	c->total = st.total;
	if (!c->has_count)
		c->count = c->first < c->total ? c->total - c->first : 0;
	if (c->first >= c->total || c->count > c->total - c->first) {
		fprintf(stderr, "svm-copyloop: regions %" PRIu64 "+%" PRIu64
			" are outside the segment's %" PRIu64 " regions\n",
			c->first, c->count, c->total);
		return -1;
	}
	return 0;
}

static int open_devs(struct copy *c)
{
	c->src_fd = open(c->src, O_RDONLY | O_DIRECT);
	if (c->src_fd < 0) {
		fprintf(stderr, "svm-copyloop: open source %s (O_DIRECT): %s\n",
			c->src, strerror(errno));
		return -1;
	}
	c->dst_fd = open(c->dst, O_WRONLY | O_DIRECT);
	if (c->dst_fd < 0) {
		fprintf(stderr, "svm-copyloop: open destination %s (O_DIRECT): %s\n",
			c->dst, strerror(errno));
		return -1;
	}
	if (posix_memalign((void **)&c->buf, 4096, CHUNK_BYTES)) {
		fprintf(stderr, "svm-copyloop: out of memory\n");
		return -1;
	}
	return 0;
}

/* Copy len bytes at segment byte offset off from source to destination. */
static int copy_bytes(struct copy *c, uint64_t off, uint64_t len)
{
	uint64_t src = c->src_off * SECTOR + off, dst = c->dst_off * SECTOR + off;
	size_t n;
	ssize_t r;

	for (; len; len -= n, src += n, dst += n) {
		n = len < CHUNK_BYTES ? (size_t)len : CHUNK_BYTES;
		r = pread(c->src_fd, c->buf, n, (off_t)src);
		if (r != (ssize_t)n) {
			fprintf(stderr, "svm-copyloop: read %s at byte %" PRIu64 ": %s\n",
				c->src, src, r < 0 ? strerror(errno) : "short read");
			return -1;
		}
		r = pwrite(c->dst_fd, c->buf, n, (off_t)dst);
		if (r != (ssize_t)n) {
			fprintf(stderr, "svm-copyloop: write %s at byte %" PRIu64 ": %s\n",
				c->dst, dst, r < 0 ? strerror(errno) : "short write");
			return -1;
		}
	}
	return 0;
}

/* Copy regions [first, first + n) (the last one may be short) durably. */
static int copy_regions(struct copy *c, uint64_t first, uint64_t n)
{
	uint64_t off = first * c->region, sectors = n * c->region;

	if (sectors > c->seg_len - off)
		sectors = c->seg_len - off;
	if (copy_bytes(c, off * SECTOR, sectors * SECTOR))
		return -1;
	if (fdatasync(c->dst_fd)) {
		fprintf(stderr, "svm-copyloop: fdatasync %s: %s\n", c->dst,
			strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * One attempt at a range: lock, copy, commit.  Returns 0, -EAGAIN when
 * the target refused the lock or the commit with EBUSY (worth another
 * attempt), or -1 on a hard error (after unlocking).
 */
static int attempt_range(struct copy *c, uint64_t first, uint64_t n, bool stall)
{
	int ret;

	ret = svm_dm_lock(c->dm, c->seg_start, first, n, c->err, sizeof(c->err));
	if (ret == -EBUSY)
		return -EAGAIN;
	if (ret) {
		/* A refused lock changed nothing: there is nothing to undo. */
		fprintf(stderr, "svm-copyloop: %s\n", c->err);
		return -1;
	}
	if (copy_regions(c, first, n)) {
		if (svm_dm_unlock(c->dm, c->seg_start, first, n, c->err, sizeof(c->err)))
			fprintf(stderr, "svm-copyloop: %s\n", c->err);
		return -1;
	}
	if (stall) {
		fprintf(stderr, "svm-copyloop: stalling %" PRIu64 " ms before commit\n",
			c->stall_ms);
		sleep_ms(c->stall_ms);
	}
	ret = svm_dm_commit(c->dm, c->seg_start, first, n, c->err, sizeof(c->err));
	if (!ret)
		return 0;
	/*
	 * Refused: the lock was revoked (suspend) or expired.  There is
	 * nothing to unlock: unlock, like commit, wants every region COPYING,
	 * and any region of the range still COPYING expires by itself (the
	 * next lock attempt is refused with EBUSY until then).
	 */
	if (ret == -EBUSY)
		return -EAGAIN;
	fprintf(stderr, "svm-copyloop: %s\n", c->err);
	svm_dm_unlock(c->dm, c->seg_start, first, n, NULL, 0);
	return -1;
}

/* Copy one range, retrying it while the target refuses with EBUSY. */
static int copy_range(struct copy *c, uint64_t first, uint64_t n, bool stall)
{
	uint64_t attempt;
	int ret;

	for (attempt = 1; attempt <= c->attempts; attempt++) {
		ret = attempt_range(c, first, n, stall && attempt == 1);
		if (ret != -EAGAIN)
			return ret;
		fprintf(stderr, "svm-copyloop: regions %" PRIu64 "+%" PRIu64
			": attempt %" PRIu64 " of %" PRIu64 " refused: %s\n",
			first, n, attempt, c->attempts, c->err);
		sleep_ms(100 * attempt);
	}
	fprintf(stderr, "svm-copyloop: regions %" PRIu64 "+%" PRIu64
		": giving up after %" PRIu64 " attempts\n", first, n, c->attempts);
	return -1;
}

static int copy_all(struct copy *c)
{
	uint64_t r, n, end = c->first + c->count;

	for (r = c->first; r < end; r += n) {
		n = end - r < c->per_lock ? end - r : c->per_lock;
		if (copy_range(c, r, n, c->stall_ms && r == c->first))
			return -1;
		if (c->verbose)
			printf("svm-copyloop: regions %" PRIu64 "-%" PRIu64 " of %"
			       PRIu64 " copied\n", r, r + n - 1, c->total);
		if (c->delay_ms && r + n < end)
			sleep_ms(c->delay_ms);
	}
	return 0;
}

static int print_status(struct copy *c)
{
	struct svm_seg_status st;
	char line[256];

	if (seg_status(c, &st))
		return -1;
	svm_status_format(&st, line, sizeof(line));
	printf("svm-copyloop: %s %" PRIu64 " %" PRIu64 " svmotion %s\n", c->dm,
	       st.start, st.len, line);
	return 0;
}

int main(int argc, char **argv)
{
	struct copy c = { .src_fd = -1, .dst_fd = -1 };
	int ret = 1;

	if (parse_opts(argc, argv, &c))
		return 2;
	if (setup_range(&c) || open_devs(&c))
		goto out;
	if (!copy_all(&c))
		ret = 0;
	if (print_status(&c))
		ret = 1;
out:
	if (c.src_fd >= 0)
		close(c.src_fd);
	if (c.dst_fd >= 0)
		close(c.dst_fd);
	free(c.buf);
	return ret;
}
