// SPDX-License-Identifier: GPL-2.0
/*
 * stampwrite - integrity writer and verifier for a block device or file.
 *
 *   stampwrite write --dev PATH --blocks N --state FILE [--seed S] [--qd Q]
 *                    [--duration SEC | --ops N] [--dsync PCT] [--rate R]
 *                    [--init] [--odirect]
 *   stampwrite verify --dev PATH --state FILE [--blocks N] [--max-report M]
 *
 * write: Q threads issue random 4 KiB writes, each block stamped with its
 * address, a generation and the seed (see stamp.h); PCT percent of them are
 * RWF_DSYNC (FUA on an O_DIRECT block device); --rate caps the writes per
 * second (over all threads) so that a slow (emulated) machine keeps some
 * CPU for the rest of a test.  A block is never written by
 * two threads at once, so "the last acknowledged write" of every block is
 * well defined; the state file records its generation.  The run ends on
 * SIGTERM/SIGINT, after --duration seconds or --ops writes, waits for the
 * writes in flight, fsyncs and saves the state.  --init first writes
 * generation 0 to every block (sequentially); without it, blocks are
 * "unknown" until written, unless an existing state file is continued.
 * Any write error is reported with its offset and errno, and the exit
 * status is 1.
 *
 * verify: reads every block (O_DIRECT when the device allows it, so that no
 * page cache hides the device's content) and checks that it holds exactly
 * the stamp the state file expects.  Prints the first M mismatches, then
 * "mismatches: N"; exits 1 if N > 0.
 *
 * Exit status: 0 ok, 1 write error / mismatches, 2 usage or setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "stamp.h"

#define EXIT_MISMATCH	1
#define EXIT_SETUP	2
#define GEN_UNKNOWN	UINT64_MAX	/* content of the block not known */
#define CHUNK_BLOCKS	256		/* sequential I/O size: 1 MiB */
#define MAX_QD		256

/* ---- options ---------------------------------------------------------- */

struct opts {
	const char *dev;
	const char *state;
	uint64_t blocks;	/* 0: take from the state file */
	uint64_t seed;
	uint64_t ops;
	uint64_t duration;	/* seconds */
	uint64_t max_report;
	uint64_t rate;		/* writes per second over all threads, 0: no limit */
	unsigned int qd;
	unsigned int dsync_pct;
	bool has_ops, has_duration, init, odirect;
};

static void usage(FILE *f)
{
	fputs("usage: stampwrite write --dev PATH --blocks N --state FILE [--seed S]\n"
	      "                        [--qd Q] [--duration SEC | --ops N] [--dsync PCT]\n"
	      "                        [--rate R] [--init] [--odirect]\n"
	      "       stampwrite verify --dev PATH --state FILE [--blocks N] [--max-report M]\n",
	      f);
}

/* Strict unsigned decimal option value. */
static bool parse_u64(const char *s, uint64_t *val)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*val = strtoull(s, &end, 10);
	return !errno && !*end;
}

static int opt_u64(const char *name, const char *s, uint64_t min,
		   uint64_t max, uint64_t *val)
{
	if (!parse_u64(s, val) || *val < min || *val > max) {
		fprintf(stderr, "stampwrite: --%s: expected a number from %" PRIu64
			" to %" PRIu64 ", got \"%s\"\n", name, min, max, s);
		return -1;
	}
	return 0;
}

static const struct option long_opts[] = {
	{ "dev", required_argument, NULL, 'd' },
	{ "state", required_argument, NULL, 'S' },
	{ "blocks", required_argument, NULL, 'b' },
	{ "seed", required_argument, NULL, 's' },
	{ "qd", required_argument, NULL, 'q' },
	{ "duration", required_argument, NULL, 't' },
	{ "ops", required_argument, NULL, 'n' },
	{ "dsync", required_argument, NULL, 'y' },
	{ "max-report", required_argument, NULL, 'm' },
	{ "rate", required_argument, NULL, 'R' },
	{ "init", no_argument, NULL, 'i' },
	{ "odirect", no_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_one(struct opts *o, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case 'd': o->dev = arg; return 0;
	case 'S': o->state = arg; return 0;
	case 'b': return opt_u64("blocks", arg, 1, UINT64_MAX / STAMP_BLOCK, &o->blocks);
	case 's': return opt_u64("seed", arg, 0, UINT64_MAX, &o->seed);
	case 'n': o->has_ops = true;
		return opt_u64("ops", arg, 0, UINT64_MAX, &o->ops);
	case 't': o->has_duration = true;
		return opt_u64("duration", arg, 1, 86400 * 365, &o->duration);
	case 'm': return opt_u64("max-report", arg, 0, UINT64_MAX, &o->max_report);
	case 'R': return opt_u64("rate", arg, 0, 1000000000, &o->rate);
	case 'i': o->init = true; return 0;
	case 'o': o->odirect = true; return 0;
	case 'q':
		if (opt_u64("qd", arg, 1, MAX_QD, &v))
			return -1;
		o->qd = (unsigned int)v;
		return 0;
	case 'y':
		if (opt_u64("dsync", arg, 0, 100, &v))
			return -1;
		o->dsync_pct = (unsigned int)v;
		return 0;
	case 'h': usage(stdout); exit(0);
	}
	usage(stderr);
	return -1;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->seed = 1;
	o->qd = 8;
	o->dsync_pct = 10;
	o->max_report = 20;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1)
		if (parse_one(o, c, optarg))
			return -1;
	if (optind != argc) {
		fprintf(stderr, "stampwrite: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (!o->dev || !o->state) {
		fprintf(stderr, "stampwrite: --dev and --state are required\n");
		return -1;
	}
	return 0;
}

/* ---- per-block state and the state file ---------------------------------- */

struct blk_state {
	uint64_t gen;	/* last acknowledged generation, or GEN_UNKNOWN */
	uint64_t seed;	/* seed of the run that wrote it */
};

struct state {
	uint64_t nblocks;
	struct blk_state *blk;
};

/* State file: this header, then nblocks struct blk_state, host order. */
struct state_file_hdr {
	char magic[8];
	uint32_t block_size;
	uint32_t reserved;
	uint64_t nblocks;
};

static const char state_magic[8] = "SVMSTAT1";

static int state_alloc(struct state *st, uint64_t nblocks, uint64_t gen,
		       uint64_t seed)
{
	uint64_t i;

	st->nblocks = nblocks;
	st->blk = calloc(nblocks, sizeof(*st->blk));
	if (!st->blk) {
		fprintf(stderr, "stampwrite: out of memory for %" PRIu64 " blocks\n",
			nblocks);
		return -1;
	}
	for (i = 0; i < nblocks; i++) {
		st->blk[i].gen = gen;
		st->blk[i].seed = seed;
	}
	return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Load path into *st; returns -ENOENT if it does not exist. */
static int state_load(const char *path, struct state *st)
{
	struct state_file_hdr h;
	size_t bytes;
	int fd, ret = -1;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		fprintf(stderr, "stampwrite: open state %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (read_full(fd, &h, sizeof(h)) || memcmp(h.magic, state_magic, 8) ||
	    h.block_size != STAMP_BLOCK || !h.nblocks ||
	    h.nblocks > SIZE_MAX / sizeof(struct blk_state)) {
		fprintf(stderr, "stampwrite: %s: not a stampwrite state file\n", path);
		goto out;
	}
	if (state_alloc(st, h.nblocks, GEN_UNKNOWN, 0))
		goto out;
	bytes = h.nblocks * sizeof(struct blk_state);
	if (read_full(fd, st->blk, bytes)) {
		fprintf(stderr, "stampwrite: %s: truncated state file\n", path);
		free(st->blk);
		st->blk = NULL;
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Save *st to path atomically (temporary file, fsync, rename). */
static int state_save(const char *path, const struct state *st)
{
	struct state_file_hdr h = { .block_size = STAMP_BLOCK,
				    .nblocks = st->nblocks };
	char tmp[4096];
	int fd;

	memcpy(h.magic, state_magic, 8);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		goto fail;
	if (write_full(fd, &h, sizeof(h)) ||
	    write_full(fd, st->blk, st->nblocks * sizeof(*st->blk)) ||
	    fsync(fd)) {
		close(fd);
		unlink(tmp);
		goto fail;
	}
	if (close(fd) || rename(tmp, path)) {
		unlink(tmp);
		goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "stampwrite: save state %s: %s\n", path, strerror(errno));
	return -1;
}

/* ---- device ----------------------------------------------------------- */

/* Size in bytes of an open block device or regular file. */
static int dev_size(int fd, uint64_t *size)
{
	struct stat sb;

	if (fstat(fd, &sb))
		return -1;
	if (S_ISBLK(sb.st_mode))
		return ioctl(fd, BLKGETSIZE64, size);
	*size = (uint64_t)sb.st_size;
	return 0;
}

/*
 * Open the device or file for the given number of blocks.  A regular file
 * is created and extended as needed; a block device must be big enough.
 */
static int dev_open(const char *path, int flags, uint64_t nblocks)
{
	uint64_t need = nblocks * STAMP_BLOCK, size;
	struct stat sb;
	int fd;

	if ((flags & O_ACCMODE) != O_RDONLY &&
	    (stat(path, &sb) ? errno == ENOENT : S_ISREG(sb.st_mode)))
		flags |= O_CREAT;
	fd = open(path, flags, 0644);
	if (fd < 0) {
		fprintf(stderr, "stampwrite: open %s%s: %s\n", path,
			(flags & O_DIRECT) ? " (O_DIRECT)" : "", strerror(errno));
		return -1;
	}
	if (dev_size(fd, &size)) {
		fprintf(stderr, "stampwrite: size of %s: %s\n", path, strerror(errno));
		goto fail;
	}
	if (size < need && (flags & O_CREAT) && ftruncate(fd, (off_t)need)) {
		fprintf(stderr, "stampwrite: extend %s: %s\n", path, strerror(errno));
		goto fail;
	}
	if (size < need && !(flags & O_CREAT)) {
		fprintf(stderr, "stampwrite: %s has %" PRIu64 " bytes, %" PRIu64
			" blocks need %" PRIu64 "\n", path, size, nblocks, need);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static void *alloc_io(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, STAMP_BLOCK, len)) {
		fprintf(stderr, "stampwrite: out of memory\n");
		return NULL;
	}
	return p;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* ---- write: --init ---------------------------------------------------- */

/* Write generation 0 to every block, CHUNK_BLOCKS at a time. */
static int init_blocks(int fd, const char *path, uint64_t nblocks,
		       uint64_t seed)
{
	uint64_t b, i, n;
	char *buf = alloc_io(CHUNK_BLOCKS * STAMP_BLOCK);
	ssize_t done;
	int ret = 0;

	if (!buf)
		return -1;
	for (b = 0; b < nblocks && !ret; b += n) {
		n = min_u64(CHUNK_BLOCKS, nblocks - b);
		for (i = 0; i < n; i++)
			stamp_fill(buf + i * STAMP_BLOCK, b + i, 0, seed);
		done = pwrite(fd, buf, n * STAMP_BLOCK, (off_t)(b * STAMP_BLOCK));
		if (done != (ssize_t)(n * STAMP_BLOCK)) {
			fprintf(stderr, "stampwrite: init write %s at offset %" PRIu64
				": %s\n", path, b * STAMP_BLOCK,
				done < 0 ? strerror(errno) : "short write");
			ret = -1;
		}
	}
	free(buf);
	return ret;
}

/* ---- write: the random writers ---------------------------------------- */

/* Shared by the writer threads; counters and flags are atomics. */
struct run {
	const struct opts *o;
	const char *path;
	int fd;
	struct state *st;
	uint8_t *busy;		/* per block: a write is in flight */
	uint64_t issued;	/* ops claimed (for --ops) */
	uint64_t writes;	/* writes acknowledged */
	uint64_t dsyncs;	/* of which RWF_DSYNC */
	int stop;
	int failed;
	int running;		/* threads still running */
};

struct worker {
	struct run *run;
	pthread_t tid;
	unsigned int idx;
};

static bool stopping(struct run *r)
{
	return __atomic_load_n(&r->stop, __ATOMIC_ACQUIRE);
}

static void request_stop(struct run *r)
{
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
}

/* Pick a random block nobody is writing and mark it busy. */
static bool claim_block(struct run *r, uint64_t *rng, uint64_t *blk)
{
	unsigned int tries = 0;

	while (!stopping(r)) {
		uint64_t b = stamp_mix(rng) % r->st->nblocks;
		uint8_t idle = 0;

		if (__atomic_compare_exchange_n(&r->busy[b], &idle, 1, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			*blk = b;
			return true;
		}
		if (++tries % 64 == 0)
			sched_yield();
	}
	return false;
}

static void release_block(struct run *r, uint64_t b)
{
	__atomic_store_n(&r->busy[b], 0, __ATOMIC_RELEASE);
}

/*
 * Write the next generation of block b (claimed by this thread) and
 * record it once acknowledged.  On error the block becomes unknown.
 */
static bool write_block(struct run *r, void *buf, uint64_t b, bool dsync)
{
	struct blk_state *bs = &r->st->blk[b];
	uint64_t gen = bs->gen == GEN_UNKNOWN ? 1 : bs->gen + 1;
	struct iovec iov = { .iov_base = buf, .iov_len = STAMP_BLOCK };
	char ebuf[128];
	ssize_t n;
	int e;

	stamp_fill(buf, b, gen, r->o->seed);
	n = pwritev2(r->fd, &iov, 1, (off_t)(b * STAMP_BLOCK),
		     dsync ? RWF_DSYNC : 0);
	if (n != STAMP_BLOCK) {
		e = n < 0 ? errno : 0;
		fprintf(stderr, "stampwrite: write error: %s block %" PRIu64
			" offset %" PRIu64 "%s: %s (errno %d)\n", r->path, b,
			b * STAMP_BLOCK, dsync ? " (dsync)" : "",
			e ? strerror_r(e, ebuf, sizeof(ebuf)) : "short write", e);
		bs->gen = GEN_UNKNOWN;
		return false;
	}
	bs->gen = gen;
	bs->seed = r->o->seed;
	__atomic_add_fetch(&r->writes, 1, __ATOMIC_RELAXED);
	if (dsync)
		__atomic_add_fetch(&r->dsyncs, 1, __ATOMIC_RELAXED);
	return true;
}

/* Claim one op of the --ops budget; false once it is used up. */
static bool take_op(struct run *r)
{
	if (!r->o->has_ops)
		return true;
	return __atomic_fetch_add(&r->issued, 1, __ATOMIC_RELAXED) < r->o->ops;
}

/*
 * --rate: each of the qd threads issues one write every qd/rate seconds;
 * *next is this thread's next slot (0 before the first write).
 */
static void pace(const struct opts *o, struct timespec *next)
{
	uint64_t step_ns = o->qd * 1000000000ULL / o->rate;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (next->tv_sec == 0 || now.tv_sec > next->tv_sec + 1) {
		*next = now;	/* first write, or far behind: no burst */
		return;
	}
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL);
	next->tv_nsec += (long)(step_ns % 1000000000ULL);
	next->tv_sec += (time_t)(step_ns / 1000000000ULL) + next->tv_nsec / 1000000000L;
	next->tv_nsec %= 1000000000L;
}

static void *writer_thread(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	uint64_t rng = r->o->seed * 0x2545f4914f6cdd1dULL + w->idx + 1;
	void *buf = alloc_io(STAMP_BLOCK);
	struct timespec next = { 0, 0 };
	uint64_t b;

	while (buf && !stopping(r)) {
		bool dsync = stamp_mix(&rng) % 100 < r->o->dsync_pct;

		if (r->o->rate)
			pace(r->o, &next);	/* before claiming a block */
		if (stopping(r) || !take_op(r) || !claim_block(r, &rng, &b))
			break;

		if (!write_block(r, buf, b, dsync)) {
			__atomic_store_n(&r->failed, 1, __ATOMIC_RELAXED);
			request_stop(r);
		}
		release_block(r, b);
	}
	if (!buf) {
		__atomic_store_n(&r->failed, 1, __ATOMIC_RELAXED);
		request_stop(r);
	}
	free(buf);
	__atomic_sub_fetch(&r->running, 1, __ATOMIC_RELEASE);
	return NULL;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Wait, with SIGINT/SIGTERM blocked (mask sigs), until the writers are done:
 * a signal or the end of --duration asks them to stop.
 */
static void supervise(struct run *r, const sigset_t *sigs)
{
	const struct timespec tick = { .tv_sec = 0, .tv_nsec = 50 * 1000 * 1000 };
	double deadline = now_sec() + (double)r->o->duration;
	int sig;

	while (__atomic_load_n(&r->running, __ATOMIC_ACQUIRE) > 0) {
		sig = sigtimedwait(sigs, NULL, &tick);
		if (sig > 0 && !stopping(r)) {
			fprintf(stderr, "stampwrite: %s, stopping\n", strsignal(sig));
			request_stop(r);
		}
		if (r->o->has_duration && now_sec() >= deadline)
			request_stop(r);
	}
}

static int run_writers(struct run *r, const sigset_t *sigs)
{
	struct worker *w = calloc(r->o->qd, sizeof(*w));
	unsigned int i, started = 0;
	int ret = 0;

	r->busy = calloc(r->st->nblocks, 1);
	if (!w || !r->busy) {
		fprintf(stderr, "stampwrite: out of memory\n");
		ret = -1;
		goto out;
	}
	r->running = (int)r->o->qd;
	for (i = 0; i < r->o->qd; i++) {
		w[i].run = r;
		w[i].idx = i;
		if (pthread_create(&w[i].tid, NULL, writer_thread, &w[i])) {
			fprintf(stderr, "stampwrite: cannot start writer threads\n");
			r->failed = 1;
			request_stop(r);
			__atomic_sub_fetch(&r->running, (int)(r->o->qd - i), __ATOMIC_RELEASE);
			break;
		}
		started++;
	}
	supervise(r, sigs);
	for (i = 0; i < started; i++)
		pthread_join(w[i].tid, NULL);
out:
	free(w);
	free(r->busy);
	return ret;
}

/* ---- write command ---------------------------------------------------- */

/* Initial state: fresh for --init, else continued or all unknown. */
static int write_state_setup(const struct opts *o, struct state *st)
{
	int ret;

	if (o->init) {
		if (!o->blocks)
			goto need_blocks;
		return state_alloc(st, o->blocks, 0, o->seed);
	}
	ret = state_load(o->state, st);
	if (ret == -ENOENT) {
		if (!o->blocks)
			goto need_blocks;
		return state_alloc(st, o->blocks, GEN_UNKNOWN, 0);
	}
	if (ret)
		return ret;
	if (o->blocks && o->blocks != st->nblocks) {
		fprintf(stderr, "stampwrite: state %s is for %" PRIu64
			" blocks, not %" PRIu64 "\n", o->state, st->nblocks, o->blocks);
		free(st->blk);
		st->blk = NULL;
		return -1;
	}
	return 0;
need_blocks:
	fprintf(stderr, "stampwrite: --blocks is required\n");
	return -1;
}

static int cmd_write(const struct opts *o)
{
	struct run r = { .o = o, .path = o->dev, .fd = -1 };
	struct state st = { 0 };
	sigset_t sigs;
	int ret = EXIT_SETUP;

	/* Signals are handled synchronously by supervise(). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (write_state_setup(o, &st))
		return EXIT_SETUP;
	r.st = &st;
	r.fd = dev_open(o->dev, O_RDWR | (o->odirect ? O_DIRECT : 0), st.nblocks);
	if (r.fd < 0)
		goto out;
	if (o->init && init_blocks(r.fd, o->dev, st.nblocks, o->seed))
		r.failed = 1;
	else if (!(o->has_ops && o->ops == 0) && run_writers(&r, &sigs))
		goto out;
	if (fsync(r.fd)) {
		fprintf(stderr, "stampwrite: fsync %s: %s\n", o->dev, strerror(errno));
		r.failed = 1;
	}
	if (state_save(o->state, &st))
		goto out;
	printf("stampwrite: %s: %" PRIu64 " writes (%" PRIu64 " dsync) to %" PRIu64
	       " blocks, seed %" PRIu64 "%s, %s\n", o->dev, r.writes, r.dsyncs,
	       st.nblocks, o->seed, o->init ? ", after init" : "",
	       r.failed ? "FAILED" : "no errors");
	ret = r.failed ? EXIT_MISMATCH : 0;
out:
	if (r.fd >= 0)
		close(r.fd);
	free(st.blk);
	return ret;
}

/* ---- verify command --------------------------------------------------- */

struct verify_count {
	uint64_t checked, unknown, mismatches;
};

static void report_mismatch(uint64_t b, const struct blk_state *want,
			    enum stamp_result res, const struct stamp_hdr *got)
{
	printf("block %" PRIu64 " (offset %" PRIu64 "): expected gen %" PRIu64
	       " seed %" PRIu64 ", found ", b, b * STAMP_BLOCK, want->gen,
	       want->seed);
	if (res >= STAMP_BAD_ADDR)
		printf("gen %" PRIu64 " seed %" PRIu64 " of block %" PRIu64 " (%s)\n",
		       got->gen, got->seed, got->addr, stamp_result_name(res));
	else
		printf("%s\n", stamp_result_name(res));
}

/* Check n blocks read into buf, the first being block first. */
static void verify_chunk(const struct opts *o, const struct state *st,
			 const char *buf, uint64_t first, uint64_t n,
			 struct verify_count *vc)
{
	struct stamp_hdr got;
	enum stamp_result res;
	uint64_t i;

	for (i = 0; i < n; i++) {
		const struct blk_state *want = &st->blk[first + i];

		if (want->gen == GEN_UNKNOWN) {
			vc->unknown++;
			continue;
		}
		vc->checked++;
		res = stamp_check(buf + i * STAMP_BLOCK, first + i, want->gen,
				  want->seed, &got);
		if (res == STAMP_OK)
			continue;
		if (vc->mismatches++ < o->max_report)
			report_mismatch(first + i, want, res, &got);
	}
}

/* Open for reading, bypassing the page cache when the device allows it. */
static int verify_open(const char *path, uint64_t nblocks)
{
	int fd = open(path, O_RDONLY | O_DIRECT);

	if (fd < 0 && errno == EINVAL) {
		fprintf(stderr, "stampwrite: %s does not support O_DIRECT, reading through the page cache\n",
			path);
		return dev_open(path, O_RDONLY, nblocks);
	}
	if (fd >= 0)
		close(fd);
	return dev_open(path, O_RDONLY | O_DIRECT, nblocks);
}

static int cmd_verify(const struct opts *o)
{
	struct verify_count vc = { 0 };
	struct state st = { 0 };
	uint64_t b, n;
	ssize_t got;
	char *buf = NULL;
	int fd = -1, ret = EXIT_SETUP;

	if (state_load(o->state, &st)) {
		fprintf(stderr, "stampwrite: cannot load state %s\n", o->state);
		return EXIT_SETUP;
	}
	if (o->blocks && o->blocks != st.nblocks) {
		fprintf(stderr, "stampwrite: state %s is for %" PRIu64 " blocks, not %"
			PRIu64 "\n", o->state, st.nblocks, o->blocks);
		goto out;
	}
	fd = verify_open(o->dev, st.nblocks);
	buf = alloc_io(CHUNK_BLOCKS * STAMP_BLOCK);
	if (fd < 0 || !buf)
		goto out;
	for (b = 0; b < st.nblocks; b += n) {
		n = min_u64(CHUNK_BLOCKS, st.nblocks - b);
		got = pread(fd, buf, n * STAMP_BLOCK, (off_t)(b * STAMP_BLOCK));
		if (got != (ssize_t)(n * STAMP_BLOCK)) {
			fprintf(stderr, "stampwrite: read %s at offset %" PRIu64 ": %s\n",
				o->dev, b * STAMP_BLOCK,
				got < 0 ? strerror(errno) : "short read");
			goto out;
		}
		verify_chunk(o, &st, buf, b, n, &vc);
	}
	if (vc.mismatches > o->max_report)
		printf("... %" PRIu64 " more mismatches not shown\n",
		       vc.mismatches - o->max_report);
	printf("checked: %" PRIu64 " blocks, unknown (never written): %" PRIu64 "\n",
	       vc.checked, vc.unknown);
	printf("mismatches: %" PRIu64 "\n", vc.mismatches);
	ret = vc.mismatches ? EXIT_MISMATCH : 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(st.blk);
	return ret;
}

int main(int argc, char **argv)
{
	struct opts o;
	const char *cmd = argc > 1 ? argv[1] : "";

	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "write") && strcmp(cmd, "verify")) {
		usage(stderr);
		return EXIT_SETUP;
	}
	if (parse_opts(argc - 1, argv + 1, &o))
		return EXIT_SETUP;
	if (o.has_ops && o.has_duration) {
		fprintf(stderr, "stampwrite: give --duration or --ops, not both\n");
		return EXIT_SETUP;
	}
	return cmd[0] == 'w' ? cmd_write(&o) : cmd_verify(&o);
}
