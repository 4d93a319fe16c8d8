// SPDX-License-Identifier: GPL-2.0
/*
 * migrate.c - svmotion migrate, cold, abort, status.
 *
 * migrate, per command (one or more disks):
 *   1. plan each disk's destination extents over its datastores and check
 *      everything before changing anything (refusal: exit 3);
 *   2. take the concurrency slots (waiting in line);
 *   3. per disk: create the destination files, map them (loop devices),
 *      record the migration in the state file, swap the live table to
 *      dm-svmotion (one reload + suspend/resume, source -> destination
 *      segments where source and destination extents intersect);
 *   4. per disk: the hot copy (libsvmotion) through lock/commit;
 *   5. switchover, every disk in one pause: load linear(destination) into
 *      every inactive slot, pause the hypervisor, suspend every disk, resume
 *      every disk (the new tables go live), resume the hypervisor;
 *   6. rewrite descriptors atomically, release the source loop devices,
 *      delete the source with --delete-source.
 * Any failure (or abort) before step 5 completes rolls every disk back to
 * linear(source) and removes the destination extents it created.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "svm-dm.h"
#include "svm-ep.h"
#include "svm-vmdk.h"
#include "svmotion.h"

#define REGION_SECTORS	8192		/* 4 MiB regions in the svmotion table */
#define SPLIT_ALIGN	(1ULL << 20)	/* split sizes are rounded to 1 MiB */
#define HOST_MAX	2		/* vSphere: 2 Storage vMotions per host */
#define DS_MAX		8		/* ... and 8 per datastore */

static volatile sig_atomic_t g_abort;
static struct svm_copy *volatile g_copy;

static void on_signal(int sig)
{
	(void)sig;
	g_abort = 1;
	if (g_copy)
		svm_copy_cancel(g_copy);
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static void block_signals(bool block)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGHUP);
	sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &s, NULL);
}

/* ---- JSON events ----------------------------------------------------------- */

static void emit(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(o);
}

static double g_t0;	/* when the command started (now_s) */

static json_object *event(const char *name)
{
	json_object *o = json_object_new_object();

	if (!g_t0)
		g_t0 = now_s();
	json_object_object_add(o, "event", json_object_new_string(name));
	/* seconds since the command started, to the millisecond */
	json_object_object_add(o, "t",
			       json_object_new_double((double)(long long)((now_s() - g_t0) * 1000) / 1000));
	return o;
}

/* ---- planning ------------------------------------------------------------------ */

/*
 * "DS[:SIZE][,DS[:SIZE]...]" into parts: 0, -EINVAL (usage), -EPERM
 * (refused: a URL datastore for migrate).
 */
static int parse_ds_list(const char *spec, struct ds_part *ds, size_t *n,
			 bool cold)
{
	char *copy = strdup(spec), *save = NULL, *tok;
	size_t k = 0;
	int ret;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = ds_size_colon(tok), shown[512];
		uint64_t sz = 0;

		if (k == MAX_DS) {
			msg("at most %d datastores per disk", MAX_DS);
			*n = k;
			free(copy);
			return -EINVAL;
		}
		if (colon && !parse_size(colon + 1, &sz)) {
			if (!sz) {
				msg("datastore %s: size 0", url_show(tok, shown, sizeof(shown)));
				*n = k;
				free(copy);
				return -EINVAL;
			}
			*colon = 0;
		} else if (colon) {
			msg("datastore %s: '%s' is not a size (e.g. 512M, 4G)%s",
			    url_show(tok, shown, sizeof(shown)), colon + 1,
			    svm_ep_is_url(tok) ? "; after a URL, :SIZE comes last (nfs://SERVER/EXPORT/DIR?version=4:4G)" : "");
			*n = k;
			free(copy);
			return -EINVAL;
		}
		if (!*tok) {
			msg("empty datastore in '%s'", url_show(spec, shown, sizeof(shown)));
			*n = k;
			free(copy);
			return -EINVAL;
		}
		memset(&ds[k], 0, sizeof(ds[k]));
		ds[k].path = strdup(tok);
		ds[k].size = sz;
		ds[k].avail = UINT64_MAX;
		k++;
		if (svm_ep_is_url(tok)) {
			ret = remote_ds_parse(&ds[k - 1], cold);
			if (ret) {
				*n = k;
				free(copy);
				return ret;
			}
		}
	}
	free(copy);
	if (!k) {
		msg("no datastore in '%s'", spec);
		return -EINVAL;
	}
	*n = k;
	return 0;
}

/* Bytes of file allocated within [off, off + len). */
static uint64_t allocated(const char *file, uint64_t off, uint64_t len)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	uint64_t pos = off, end = off + len, total = 0;
	struct stat sb;

	if (fd < 0)
		return len;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		close(fd);
		return len;
	}
	while (pos < end) {
		off_t d = lseek(fd, pos, SEEK_DATA), h;

		if (d < 0 || (uint64_t)d >= end)
			break;
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0 || (uint64_t)h > end)
			h = end;
		total += h - d;
		pos = h;
	}
	close(fd);
	return total;
}

static uint64_t blkdev_size(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t sz = 0;

	if (fd >= 0) {
		if (ioctl(fd, BLKGETSIZE64, &sz))
			sz = 0;
		close(fd);
	}
	return sz;
}

static const char *format_name(const char *f)
{
	return f ? f : "same";
}

/*
 * Plan job j's destination extents over its datastores and check them.
 * Returns 0 or -1 (message printed).
 */
static int plan(struct job *j, const struct opts *o)
{
	uint64_t rest, given = 0, off = 0, alloc = 0;
	size_t i, k, nfree = 0;
	char shown[512];

	for (i = 0; i < j->nr_src; i++)
		alloc += svm_ep_is_url(j->src[i].file) ? j->src[i].length :
			 allocated(j->src[i].file, j->src[i].offset,
				   j->src[i].length);
	j->sparse_src = alloc < j->size;
	for (k = 0; k < j->nds; k++) {
		struct stat sb;
		char real[PATH_MAX];

		if (j->ds[k].kind == DS_NFS || j->ds[k].kind == DS_LUN) {
			j->remote = true;
			snprintf(real, sizeof(real), "%s",
				 url_show(j->ds[k].path, shown, sizeof(shown)));
		} else if (stat(j->ds[k].path, &sb)) {
			msg("datastore %s: %s", j->ds[k].path, strerror(errno));
			return -1;
		} else if (!realpath(j->ds[k].path, real)) {
			msg("datastore %s: %s", j->ds[k].path, strerror(errno));
			return -1;
		} else {
			free(j->ds[k].path);
			j->ds[k].path = strdup(real);
			if (S_ISBLK(sb.st_mode)) {
				j->ds[k].blk = true;
				j->ds[k].kind = DS_BLK;
			} else if (!S_ISDIR(sb.st_mode)) {
				msg("datastore %s is neither a directory nor a block device",
				    real);
				return -1;
			} else if (access(real, W_OK | X_OK)) {
				msg("datastore %s is not writable: %s", real, strerror(errno));
				return -1;
			}
		}
		if (j->ds[k].size % 512) {
			msg("datastore %s: size %llu is not a multiple of 512", real,
			    (unsigned long long)j->ds[k].size);
			return -1;
		}
		given += j->ds[k].size;
		if (!j->ds[k].size)
			nfree++;
	}
	for (i = 0; i < j->nr_src; i++)
		j->remote |= svm_ep_is_url(j->src[i].file);
	if (!nfree && given != j->size) {
		/* every size given: the last datastore takes the rest */
		given -= j->ds[j->nds - 1].size;
		j->ds[j->nds - 1].size = 0;
		nfree = 1;
	}
	if (nfree && given >= j->size) {
		msg("%s: the sizes given (%llu bytes) leave nothing for the last datastore of a %llu-byte disk",
		    j->name, (unsigned long long)given,
		    (unsigned long long)j->size);
		return -1;
	}
	rest = j->size - given;
	j->dst = calloc(j->nds, sizeof(*j->dst));
	if (!j->dst)
		return -1;
	j->nr_dst = j->nds;
	for (k = 0; k < j->nds; k++) {
		uint64_t len = j->ds[k].size;
		char path[PATH_MAX], fname[PATH_MAX];

		if (!len) {
			nfree--;
			len = nfree ? (rest / (nfree + 1)) / SPLIT_ALIGN * SPLIT_ALIGN : rest;
			if (!len)
				len = rest;
			rest -= len;
		}
		if (!len) {
			msg("%s: datastore %s would get nothing", j->name,
			    url_show(j->ds[k].path, shown, sizeof(shown)));
			return -1;
		}
		if (j->nds == 1 && j->raw_name)
			snprintf(fname, sizeof(fname), "%s", j->raw_name);
		else if (j->nds == 1)
			snprintf(fname, sizeof(fname), "%s-flat.vmdk", j->name);
		else
			snprintf(fname, sizeof(fname), "%s-s%03zu-flat.vmdk",
				 j->name, k + 1);
		if (j->ds[k].blk)
			snprintf(path, sizeof(path), "%s", j->ds[k].path);
		else if (ds_join(&j->ds[k], fname, path, sizeof(path)))
			return -1;
		j->dst[k].file = strdup(path);
		j->dst[k].offset = 0;
		j->dst[k].length = len;
		j->dst[k].created = !j->ds[k].blk;
		off += len;
	}
	if (off != j->size) {
		msg("%s: internal error: planned %llu of %llu bytes", j->name,
		    (unsigned long long)off, (unsigned long long)j->size);
		return -1;
	}
	/* checks of each destination extent */
	for (k = 0; k < j->nr_dst; k++) {
		struct svm_ext *d = &j->dst[k];

		for (i = 0; i < j->nr_src; i++) {
			char rs[PATH_MAX];

			if (!strcmp(j->src[i].file, d->file) ||
			    (realpath(j->src[i].file, rs) && !strcmp(rs, d->file))) {
				msg("%s: destination %s is the source itself", j->name,
				    url_show(d->file, shown, sizeof(shown)));
				return -1;
			}
		}
		if (j->ds[k].kind == DS_NFS || j->ds[k].kind == DS_LUN) {
			if (remote_check_dst(j, k, o))
				return -1;
		} else if (j->ds[k].blk) {
			uint64_t sz = blkdev_size(d->file);
			int fd;

			if (sz < d->length) {
				msg("%s: block device %s holds %llu bytes, %llu needed",
				    j->name, d->file, (unsigned long long)sz,
				    (unsigned long long)d->length);
				return -1;
			}
			fd = open(d->file, O_RDONLY | O_EXCL | O_CLOEXEC);
			if (fd < 0) {
				msg("%s: block device %s is in use: %s", j->name,
				    d->file, strerror(errno));
				return -1;
			}
			close(fd);
			if (!j->st && remote_check_dst(j, k, o))
				return -1;
		} else if (!access(d->file, F_OK)) {
			if (j->st || !o->force) {
				msg("%s: destination %s exists already: move it away or choose another datastore%s",
				    j->name, d->file, j->st ? "" : " (--force overwrites it)");
				return -1;
			}
			j->replace[k] = true;
		}
		if (j->st) {
			char dev[PATH_MAX];
			unsigned int slbs, dlbs;

			snprintf(dev, sizeof(dev), "/dev/mapper/%s", j->st->dm);
			slbs = blk_lbs(dev);
			dlbs = j->ds[k].blk ? blk_lbs(d->file) : 512;
			if (dlbs > slbs) {
				msg("%s: %s has %u-byte logical blocks, the disk %u: the guest's I/O would not fit",
				    j->name, d->file, dlbs, slbs);
				return -1;
			}
		}
	}
	/* room */
	for (k = 0; k < j->nr_dst; k++) {
		struct statvfs sv;
		uint64_t need, avail, share;
		const char *f = format_name(o->format);

		if (j->ds[k].blk)
			continue;
		share = j->size ? (uint64_t)((double)alloc * j->dst[k].length / j->size)
				: 0;
		need = !strcmp(f, "thin") || (!strcmp(f, "same") && j->sparse_src) ?
		       share : j->dst[k].length;
		j->need[k] = need;
		if (j->ds[k].kind == DS_NFS) {
			if (j->ds[k].avail == UINT64_MAX)
				continue;
			avail = j->ds[k].avail;
		} else if (statvfs(j->ds[k].path, &sv)) {
			continue;
		} else {
			avail = (uint64_t)sv.f_bavail * sv.f_frsize;
		}
		if (need > avail) {
			char a[32], b[32];

			msg("%s: datastore %s has %s free, %s needed for format %s",
			    j->name, url_show(j->ds[k].path, shown, sizeof(shown)),
			    fmt_size(avail, a, sizeof(a)),
			    fmt_size(need, b, sizeof(b)), f);
			return -1;
		}
	}
	if (j->remote && remote_plan_desc(j, o))
		return -1;
	return 0;
}

/* Several disks on one datastore: their needs add up, and names must differ. */
static int check_jobs(struct job *jobs, size_t n)
{
	size_t a, b, x, y;

	for (a = 0; a < n; a++) {
		for (x = 0; x < jobs[a].nds; x++) {
			const char *ds = jobs[a].ds[x].path;
			uint64_t total = 0, avail;
			struct statvfs sv;
			bool first = true;

			if (jobs[a].ds[x].blk)
				continue;
			/* count each datastore once, at its first use */
			for (b = 0; b <= a && first; b++)
				for (y = 0; y < (b == a ? x : jobs[b].nds); y++)
					if (!strcmp(jobs[b].ds[y].path, ds)) {
						first = false;
						break;
					}
			if (!first)
				continue;
			if (jobs[a].ds[x].kind == DS_NFS) {
				if (jobs[a].ds[x].avail == UINT64_MAX)
					continue;
				avail = jobs[a].ds[x].avail;
			} else if (statvfs(ds, &sv)) {
				continue;
			} else {
				avail = (uint64_t)sv.f_bavail * sv.f_frsize;
			}
			for (b = 0; b < n; b++)
				for (y = 0; y < jobs[b].nds; y++)
					if (!strcmp(jobs[b].ds[y].path, ds))
						total += jobs[b].need[y];
			if (total > avail) {
				char t1[32], t2[32], sh[512];

				msg("datastore %s has %s free, %s needed by the disks of this command together",
				    url_show(ds, sh, sizeof(sh)), fmt_size(avail, t1, sizeof(t1)),
				    fmt_size(total, t2, sizeof(t2)));
				return -1;
			}
		}
	}

	for (a = 0; a < n; a++)
		for (b = a; b < n; b++)
			for (x = 0; x < jobs[a].nr_dst; x++)
				for (y = 0; y < jobs[b].nr_dst; y++) {
					if (a == b && x == y)
						continue;
					if (!strcmp(jobs[a].dst[x].file, jobs[b].dst[y].file)) {
						char sh[512];

						msg("%s and %s would both go to %s",
						    jobs[a].name, jobs[b].name,
						    url_show(jobs[a].dst[x].file, sh, sizeof(sh)));
						return -1;
					}
				}
	for (a = 0; a < n; a++)
		for (b = a + 1; b < n; b++)
			if (!strcmp(jobs[a].name, jobs[b].name)) {
				msg("disk %s is given twice", jobs[a].name);
				return -1;
			}
	return 0;
}

/* ---- destination files ----------------------------------------------------- */

static void remove_created(struct svm_ext *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (d[i].created && d[i].file && !svm_ep_is_url(d[i].file))
			unlink(d[i].file);
}

/* Create job j's destination files (thin: sparse; thick: allocated). */
static int create_dst(struct job *j, const struct opts *o)
{
	bool thick = j->fmt == SVM_FORMAT_THICK_LAZY ||
		     j->fmt == SVM_FORMAT_THICK_EAGER;
	size_t k;

	for (k = 0; k < j->nr_dst; k++) {
		struct svm_ext *d = &j->dst[k];
		int fd;

		if (!d->created)
			continue;
		if (svm_ep_is_url(d->file)) {
			if (remote_create(j, k, o))
				goto fail;
			continue;
		}
		if (j->replace[k] && unlink(d->file) && errno != ENOENT) {
			msg("replacing %s: %s", d->file, strerror(errno));
			d->created = false;
			goto fail;
		}
		fd = open(d->file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0) {
			msg("creating %s: %s", d->file, strerror(errno));
			d->created = false;
			goto fail;
		}
		d->made = true;
		if (ftruncate(fd, d->length) ||
		    (thick && fallocate(fd, 0, 0, d->length) && errno != EOPNOTSUPP)) {
			msg("creating %s (%llu bytes): %s%s", d->file,
			    (unsigned long long)d->length, strerror(errno),
			    errno == ENOSPC ? " (datastore out of space)" : "");
			close(fd);
			goto fail;
		}
		if (fsync(fd)) {
			msg("creating %s: %s", d->file, strerror(errno));
			close(fd);
			goto fail;
		}
		close(fd);
	}
	return 0;
fail:
	remove_created(j->dst, j->nr_dst);
	return -1;
}

/* ---- tables and pairs -------------------------------------------------------- */

/*
 * Walk source and destination extents together: one piece per intersection.
 * fn(opaque, start_bytes, len, src_ext, src_off, dst_ext, dst_off).
 */
typedef int (*piece_fn)(void *opaque, uint64_t start, uint64_t len,
			const struct svm_ext *s, uint64_t soff,
			const struct svm_ext *d, uint64_t doff);

static int pieces(const struct job *j, piece_fn fn, void *opaque)
{
	size_t si = 0, di = 0;
	uint64_t so = 0, dof = 0, pos = 0;
	int ret;

	while (si < j->nr_src && di < j->nr_dst) {
		const struct svm_ext *s = &j->src[si], *d = &j->dst[di];
		uint64_t n = s->length - so < d->length - dof ? s->length - so
							      : d->length - dof;

		ret = fn(opaque, pos, n, s, s->offset + so, d, d->offset + dof);
		if (ret)
			return ret;
		pos += n;
		so += n;
		dof += n;
		if (so == s->length) {
			si++;
			so = 0;
		}
		if (dof == d->length) {
			di++;
			dof = 0;
		}
	}
	return 0;
}

struct tbuf {
	char *t;
	size_t len, cap;
	struct svm_extent_pair *pairs;
	size_t np;
	bool files;	/* pairs over files (cold), else devices */
};

static int add_svm_line(void *opaque, uint64_t start, uint64_t len,
			const struct svm_ext *s, uint64_t soff,
			const struct svm_ext *d, uint64_t doff)
{
	struct tbuf *b = opaque;
	char line[512];
	int n;

	n = snprintf(line, sizeof(line), "%s%llu %llu svmotion %s %llu %s %llu %d",
		     b->len ? "\n" : "", (unsigned long long)(start / 512),
		     (unsigned long long)(len / 512), s->dev,
		     (unsigned long long)(soff / 512), d->dev,
		     (unsigned long long)(doff / 512), REGION_SECTORS);
	if (b->len + n + 1 > b->cap) {
		char *t = realloc(b->t, b->cap * 2 + n + 1);

		if (!t)
			return -ENOMEM;
		b->t = t;
		b->cap = b->cap * 2 + n + 1;
	}
	memcpy(b->t + b->len, line, n + 1);
	b->len += n;
	return 0;
}

static int add_pair(void *opaque, uint64_t start, uint64_t len,
		    const struct svm_ext *s, uint64_t soff,
		    const struct svm_ext *d, uint64_t doff)
{
	struct tbuf *b = opaque;
	struct svm_extent_pair *p;

	(void)start;
	p = realloc(b->pairs, (b->np + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	b->pairs = p;
	p = &b->pairs[b->np++];
	p->src.path = b->files ? s->file : s->dev;
	p->src.offset = soff;
	p->src.length = len;
	p->dst.path = b->files ? d->file : d->dev;
	p->dst.offset = doff;
	p->dst.length = len;
	return 0;
}

/* ---- progress ------------------------------------------------------------------ */

struct prog {
	struct job *j;
	size_t disk_idx, ndisks;
	double last_print, last_save;
	int last_pct;
	bool tty;
	bool quiet;
};

static void progress(const struct svm_copy_progress *p, void *opaque)
{
	struct prog *pr = opaque;
	double now = now_s();
	double rate = p->elapsed > 0 ? p->bytes_done / p->elapsed : 0;
	double eta = rate > 0 ? (p->bytes_total - p->bytes_done) / rate : 0;
	int pct = p->bytes_total ? (int)(100.0 * p->bytes_done / p->bytes_total) : 100;
	struct svm_state *st = pr->j->st;

	if (st && st->mig && now - pr->last_save >= 1.0) {
		st->mig->bytes_done = p->bytes_done;
		st->mig->bytes_total = p->bytes_total;
		st->mig->rate = rate;
		state_save(st);
		pr->last_save = now;
	}
	if (g_json) {
		json_object *o;

		if (now - pr->last_print < 0.5 && p->bytes_done != p->bytes_total)
			return;
		o = event("progress");
		json_object_object_add(o, "disk", json_object_new_string(pr->j->name));
		json_object_object_add(o, "bytes_done", json_object_new_int64(p->bytes_done));
		json_object_object_add(o, "bytes_total", json_object_new_int64(p->bytes_total));
		json_object_object_add(o, "bytes_per_s", json_object_new_double(rate));
		json_object_object_add(o, "eta_s", json_object_new_double(eta));
		emit(o);
	} else if (pr->quiet) {
		return;
	} else if (pr->tty) {
		char bar[31];
		int fill = pct * 30 / 100, i;

		if (now - pr->last_print < 0.2 && p->bytes_done != p->bytes_total)
			return;
		for (i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[30] = 0;
		fprintf(stderr, "\r%s [%zu/%zu] [%s] %3d%% %8.1f MiB/s ETA %d:%02d ",
			pr->j->name, pr->disk_idx + 1, pr->ndisks, bar, pct,
			rate / 1048576, (int)eta / 60, (int)eta % 60);
	} else {
		if (pct / 10 == pr->last_pct / 10 && p->bytes_done != p->bytes_total)
			return;
		fprintf(stderr, "%s: %d%% copied, %.1f MiB/s, ETA %d s\n",
			pr->j->name, pct, rate / 1048576, (int)eta);
	}
	pr->last_print = now;
	pr->last_pct = pct;
}

/* ---- rollback ------------------------------------------------------------------ */

int rollback(struct svm_state *st, char *err, size_t errlen)
{
	struct svm_seg_table seg;
	char *table;
	int n, ret = 0;

	if (!st->mig)
		return 0;
	n = svm_dm_table(st->dm, &seg, 1, err, errlen);
	if (n < 0 && n != -ENXIO)
		return n;
	if (n == 0 && strcmp(st->mig->phase, "copying")) {
		snprintf(err, errlen,
			 "%s was interrupted in the middle of its switchover: its table has no svmotion segment left; check 'dmsetup table %s' before anything else",
			 st->name, st->dm);
		return -EUCLEAN;
	}
	if (n > 0) {
		/* the source has every write (mirrored ones too): back to it */
		table = linear_table(st->src, st->nr_src);
		if (!table)
			return -ENOMEM;
		svm_dm_clear(st->dm, NULL, 0);
		ret = svm_dm_reload(st->dm, table, err, errlen);
		if (!ret)
			ret = svm_dm_suspend(st->dm, 0, err, errlen);
		if (!ret)
			ret = svm_dm_resume(st->dm, err, errlen);
		free(table);
		if (ret) {
			svm_dm_resume(st->dm, NULL, 0);
			return ret;
		}
	}
	detach_extents(st->mig->dst, st->mig->nr_dst);
	remove_created(st->mig->dst, st->mig->nr_dst);
	free(st->mig->phase);
	free(st->mig->format);
	free(st->mig->mover);
	svm_ext_free(st->mig->dst, st->mig->nr_dst);
	free(st->mig);
	st->mig = NULL;
	return state_save(st);
}

/* ---- the migrate command ------------------------------------------------------ */

static void usage_migrate(FILE *f, bool cold)
{
	fprintf(f,
		"usage: svmotion %s DISK... --to DATASTORE[:SIZE][,DATASTORE[:SIZE]...]\n"
		"         [--place DISK=DATASTORE[:SIZE][,...]]... [--format thin|thick-lazy|thick-eager|same]\n"
		"         [--mover auto|xcopy|fast|buffered] [--rate BYTES/s]%s\n"
		"         [--delete-source] [--no-wait] [--progress bar|lines|none] [--json]%s\n"
		"\n",
		cold ? "cold" : "migrate", cold ? "" : " [--handoff none|qmp:SOCKET|exec:COMMAND]",
		cold ? "\n         [--force] [--timeout SECONDS]" : "");
	if (cold) {
		fprintf(f,
			"Copy powered-off disks (not attached) to other datastores: the mover\n"
			"alone, same formats and splitting as migrate. DISK is a VMDK descriptor\n"
			"or a raw image (a path or nfs://...), a block device, or an iSCSI LUN\n"
			"(iscsi://..., a raw disk of the LUN's size, named IQNTAIL-lunN).\n"
			"\n");
		remote_usage(f);
	} else {
		fprintf(f,
			"Move attached, running disks to other datastores with no interruption:\n"
			"the disk's table becomes dm-svmotion (guest writes go to both sides as\n"
			"regions are copied), the mover copies region by region, and every disk\n"
			"of the command switches to its destination in one short pause of the\n"
			"hypervisor, whose length (the stun time) is reported.\n\n");
	}
	fprintf(f,
		"  --to DS[:SIZE],...  destination datastores: directories (local, NFS) or\n"
		"                      block devices. Several split the disk: SIZE bytes\n"
		"                      (K/M/G/T suffixes) go to each; those without SIZE share\n"
		"                      the rest (the last one takes what is left).\n"
		"  --place DISK=DS     this DISK goes to DS instead (one per disk of a VM).\n"
		"  --format F          destination allocation: thin (zeros and holes not\n"
		"                      written), thick-lazy (allocated, zeros not written),\n"
		"                      thick-eager (every block written), same (default:\n"
		"                      thin when the source is sparse, else thick-eager).\n"
		"  --mover M           auto (default), xcopy (array offload), fast (O_DIRECT),\n"
		"                      buffered.\n"
		"  --rate BYTES/s      limit the copy rate.\n");
	if (!cold)
		fprintf(f,
			"  --handoff H         pause the hypervisor around the switchover: none\n"
			"                      (default), qmp:SOCKET (QEMU: stop, then cont),\n"
			"                      exec:COMMAND (runs 'COMMAND pause' and 'COMMAND resume').\n");
	fprintf(f,
		"  --delete-source     remove the source extent files once %s.\n"
		"  --no-wait           fail instead of waiting when %d migrations run on this\n"
		"                      host or %d on a datastore.\n"
		"  --progress P        bar (default on a terminal: rate and ETA), lines (one\n"
		"                      line per 10%%, the default otherwise) or none.\n"
		"  --json              one JSON object per line on stdout (progress, copied,\n"
		"                      switchover with stun_ms, done, message, error).\n"
		"%s"
		"\n"
		"Before changing anything, svmotion checks the datastores (reachable,\n"
		"writable, room for the format), the block sizes, that the destination\n"
		"extents don't exist%s. Destination files are\n"
		"<DS>/<name>-flat.vmdk (<name>-sNNN-flat.vmdk when split; a raw image keeps\n"
		"its file name); the descriptor is rewritten in place, atomically.\n"
		"%s"
		"\n"
		"Exit status: 0 done; 1 failed, rolled back to the source; 2 usage (also a\n"
		"malformed URL); 3 refused before any change (also an unreachable server,\n"
		"a missing export, file or LUN); 4 aborted (svmotion abort, SIGINT/SIGTERM),\n"
		"rolled back; 5 failed and could not roll back (see the message); 6 switched\n"
		"over but the hypervisor did not resume.\n",
		cold ? "copied" : "switched", HOST_MAX, DS_MAX,
		cold ? "  --force             overwrite a destination file that exists, or a block\n"
		       "                      device or LUN whose first MiB is not all zeros.\n"
		       "  --timeout SECONDS   bound on connecting to a server and on each remote\n"
		       "                      request (default 30).\n" : "",
		cold ? " and the disk is not attached" :
		", the disk is attached and not migrating already",
		cold ? remote_usage_note : remote_usage_live);
}

static enum svm_copy_format fmt_for(const char *f, bool sparse, bool hot)
{
	if (!strcmp(f, "thin"))
		return SVM_FORMAT_THIN;
	if (!strcmp(f, "thick-lazy"))
		return SVM_FORMAT_THICK_LAZY;
	if (!strcmp(f, "thick-eager"))
		return SVM_FORMAT_THICK_EAGER;
	/* same: a hot copy sees the source as a device (no holes) */
	if (!hot)
		return SVM_FORMAT_SAME;
	return sparse ? SVM_FORMAT_THIN : SVM_FORMAT_THICK_EAGER;
}

static int parse_opts(int argc, char **argv, struct opts *o, bool cold,
		      int *first)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "place", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "mover", required_argument, NULL, 'm' },
		{ "rate", required_argument, NULL, 'r' },
		{ "handoff", required_argument, NULL, 'H' },
		{ "delete-source", no_argument, NULL, 'd' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "progress", required_argument, NULL, 'P' },
		{ "force", no_argument, NULL, 'F' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, m;

	memset(o, 0, sizeof(*o));
	o->progress = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 't':
			o->to = optarg;
			break;
		case 'p':
			if (o->nplace == 64 || !strchr(optarg, '=')) {
				msg("--place %s: use DISK=DATASTORE", optarg);
				return EX_USAGE;
			}
			o->place[o->nplace++] = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "thin") && strcmp(optarg, "thick-lazy") &&
			    strcmp(optarg, "thick-eager") && strcmp(optarg, "same")) {
				msg("--format %s: use thin, thick-lazy, thick-eager or same",
				    optarg);
				return EX_USAGE;
			}
			o->format = optarg;
			break;
		case 'm':
			for (m = 0; m < SVM_MODE_COUNT; m++)
				if (!strcmp(optarg, svm_copy_mode_name(m)))
					break;
			if (m == SVM_MODE_COUNT) {
				msg("--mover %s: use auto, xcopy, fast or buffered", optarg);
				return EX_USAGE;
			}
			o->mover = m;
			break;
		case 'r':
			if (parse_size(optarg, &o->rate) || !o->rate) {
				msg("--rate %s: a number of bytes per second (K/M/G suffixes)",
				    optarg);
				return EX_USAGE;
			}
			break;
		case 'H':
			if (cold) {
				msg("cold copies have no hypervisor to hand off: no --handoff");
				return EX_USAGE;
			}
			o->handoff = optarg;
			break;
		case 'd':
			o->delete_source = true;
			break;
		case 'F':
		case 'T':
			if (!cold) {
				msg("--%s is for svmotion cold", c == 'F' ? "force" : "timeout");
				return EX_USAGE;
			}
			if (c == 'F') {
				o->force = true;
				break;
			}
			{
				char *end;
				long v;

				errno = 0;
				v = strtol(optarg, &end, 10);
				if (errno || end == optarg || *end || v < 1 || v > 3600) {
					msg("--timeout %s: a number of seconds, 1 to 3600", optarg);
					return EX_USAGE;
				}
				o->timeout_ms = (int)v * 1000;
			}
			break;
		case 'n':
			o->no_wait = true;
			break;
		case 'j':
			g_json = true;
			break;
		case 'P':
			if (!strcmp(optarg, "none"))
				o->progress = 0;
			else if (!strcmp(optarg, "lines"))
				o->progress = 1;
			else if (!strcmp(optarg, "bar"))
				o->progress = 2;
			else {
				msg("--progress %s: use bar, lines or none", optarg);
				return EX_USAGE;
			}
			break;
		case 'h':
			usage_migrate(stdout, cold);
			return -1;
		default:
			usage_migrate(stderr, cold);
			return EX_USAGE;
		}
	}
	*first = optind;
	return 0;
}

/* Options and disks, in any order (getopt_long permutes). */
static int collect(int argc, char **argv, struct opts *o, bool cold,
		   const char **disks, size_t *nd)
{
	int ret, first;

	*nd = 0;
	ret = parse_opts(argc, argv, o, cold, &first);
	if (ret)
		return ret;
	for (; first < argc; first++) {
		if (*nd == 64) {
			msg("at most 64 disks per command");
			return EX_USAGE;
		}
		disks[(*nd)++] = argv[first];
	}
	if (!*nd) {
		msg("no disk given");
		usage_migrate(stderr, cold);
		return EX_USAGE;
	}
	return 0;
}

/* Every --place must name a disk of the command (as given, or its name). */
static int check_places(const struct opts *o, const struct job *jobs, size_t nd)
{
	size_t i, k;

	for (i = 0; i < o->nplace; i++) {
		const char *eq = strchr(o->place[i], '=');
		size_t l = eq - o->place[i];
		bool found = false;

		for (k = 0; k < nd && !found; k++)
			found = (strlen(jobs[k].arg) == l &&
				 !strncmp(o->place[i], jobs[k].arg, l)) ||
				(strlen(jobs[k].name) == l &&
				 !strncmp(o->place[i], jobs[k].name, l));
		if (!found) {
			msg("--place %s: %.*s is not a disk of this command", o->place[i],
			    (int)l, o->place[i]);
			return -1;
		}
	}
	return 0;
}

/* The datastores of disk arg: its --place, else --to. */
static const char *ds_spec(const struct opts *o, const struct job *j)
{
	size_t i;

	for (i = 0; i < o->nplace; i++) {
		const char *eq = strchr(o->place[i], '=');
		size_t l = eq - o->place[i];

		if ((strlen(j->arg) == l && !strncmp(o->place[i], j->arg, l)) ||
		    (strlen(j->name) == l && !strncmp(o->place[i], j->name, l)))
			return eq + 1;
	}
	return o->to;
}

static void jobs_free(struct job *jobs, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		struct job *j = &jobs[i];

		for (k = 0; k < j->nds; k++)
			free(j->ds[k].path);
		if (!j->st)
			svm_ext_free(j->src, j->nr_src);
		if (j->lockfd > 0)
			close(j->lockfd);
		state_free(j->st);
		svm_disk_free(j->disk);
		svm_ext_free(j->dst, j->nr_dst);
		free(j->new_path);
		free(j->raw_name);
		free(j->src_text);
		free(j->desc_out);
	}
	free(jobs);
}

/* Rewrite the disk's descriptor to point at its new extents (or, for a raw
 * disk moved to one file, nothing to write: the new path is the disk). */
static int rewrite_disk(struct job *j, const struct opts *o)
{
	struct svm_disk_extent *e;
	char err[512];
	size_t k;
	int ret;

	if (j->remote)
		return remote_finish(j, o);
	/* a raw disk moved whole: the new file is the disk (cold: the new
	 * device too; a hot move to a device gets a descriptor below) */
	if (!j->disk->is_descriptor && j->nr_dst == 1 && (!j->ds[0].blk || !j->st)) {
		j->new_path = strdup(j->dst[0].file);
		return 0;
	}
	e = calloc(j->nr_dst, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (k = 0; k < j->nr_dst; k++) {
		e[k].file = j->dst[k].file;
		e[k].offset = j->dst[k].offset;
		e[k].length = j->dst[k].length;
		e[k].type = SVM_EXTENT_FLAT;
	}
	if (j->disk->is_descriptor) {
		ret = svm_disk_set_extents(j->disk, e, j->nr_dst, err, sizeof(err));
		if (!ret)
			ret = svm_disk_write_descriptor(j->disk, NULL, err, sizeof(err));
		j->new_path = strdup(j->disk->path);
	} else {
		/* a raw disk now in several extents (or on a device) gets a
		 * descriptor next to its first extent */
		struct svm_disk *nd = NULL;
		char path[PATH_MAX];

		if (j->ds[0].blk) {
			/* next to the raw image it replaces */
			const char *sl = strrchr(j->disk->path, '/');

			snprintf(path, sizeof(path), "%.*s/%s.vmdk",
				 sl ? (int)(sl - j->disk->path) : 1,
				 sl ? j->disk->path : ".", j->name);
		} else {
			snprintf(path, sizeof(path), "%s/%s.vmdk", j->ds[0].path,
				 j->name);
		}
		ret = svm_disk_new(path, e, j->nr_dst, NULL, &nd, err, sizeof(err));
		if (!ret)
			ret = svm_disk_write_descriptor(nd, NULL, err, sizeof(err));
		svm_disk_free(nd);
		if (!ret) {
			char real[PATH_MAX];

			j->new_path = strdup(realpath(path, real) ? real : path);
		}
	}
	free(e);
	if (ret)
		msg("%s: rewriting the descriptor: %s", j->name, err);
	return ret;
}

static void delete_source(struct job *j, const struct opts *o)
{
	size_t i;

	if (j->remote) {
		remote_delete_source(j, o);
		return;
	}

	for (i = 0; i < j->nr_src; i++) {
		struct stat sb;

		if (!stat(j->src[i].file, &sb) && S_ISREG(sb.st_mode) &&
		    unlink(j->src[i].file) && errno != ENOENT)
			msg("%s: removing source %s: %s", j->name, j->src[i].file,
			    strerror(errno));
	}
	if (!j->disk->is_descriptor)
		return;	/* the raw image was the extent */
}

/* Open, plan and check every disk. */
static int prepare(struct job *jobs, size_t nd, const char **disks,
		   const struct opts *o, bool cold)
{
	char err[512];
	size_t i, k;
	int ret;

	if (!cold) {
		ret = remote_refuse_live(o);
		if (ret)
			return ret;
	}
	for (i = 0; i < nd; i++) {
		struct job *j = &jobs[i];
		const char *spec;
		bool urls = false;

		j->arg = disks[i];
		if (!cold) {
			ret = state_find(disks[i], &j->st);
			if (ret) {
				msg("%s is not attached (svmotion attach %s first; a powered-off disk: svmotion cold)",
				    disks[i], disks[i]);
				return -1;
			}
			strcpy(j->name, j->st->name);
			j->lockfd = state_lock(j->name, false);
			if (j->lockfd < 0 || j->st->mig) {
				if (j->lockfd < 0)
					j->lockfd = 0;
				msg("%s is being migrated already (svmotion status; svmotion abort %s)",
				    j->name, j->name);
				return -1;
			}
			ret = svm_disk_open(j->st->disk, &j->disk, err, sizeof(err));
			if (ret) {
				msg("%s: %s", j->name, err);
				return -1;
			}
			j->src = j->st->src;
			j->nr_src = j->st->nr_src;
			j->size = j->st->size;
			if (j->disk->size != j->size) {
				msg("%s: %s now describes %llu bytes, attached with %llu: detach and attach again",
				    j->name, j->st->disk, (unsigned long long)j->disk->size,
				    (unsigned long long)j->size);
				return -1;
			}
		} else if (svm_ep_is_url(disks[i])) {
			ret = remote_open_disk(j, o);
			if (ret)
				return ret;
		} else {
			struct svm_state *st = NULL;

			if (!state_find(disks[i], &st)) {
				msg("%s is attached as /dev/mapper/%s: a running disk moves with svmotion migrate (or detach it first)",
				    disks[i], st->dm);
				state_free(st);
				return -1;
			}
			/* extents named by URL (written by a cold copy) are checked
			 * by remote.c, the others as svm_disk_open() does */
			ret = svm_disk_open_flags(disks[i], SVM_DISK_NO_CHECK, &j->disk,
						  err, sizeof(err));
			for (k = 0; !ret && k < j->disk->nr_extents; k++)
				urls |= j->disk->extents[k].file_as_written &&
					svm_ep_is_url(j->disk->extents[k].file_as_written);
			if (!ret && !urls)
				ret = svm_disk_check(j->disk, err, sizeof(err));
			if (ret) {
				msg("%s", err);
				return -1;
			}
			{
				char real[PATH_MAX];

				if (disk_name(realpath(disks[i], real) ? real : disks[i],
					      j->name, sizeof(j->name))) {
					msg("%s: no usable name in its file name", disks[i]);
					return -1;
				}
			}
			j->nr_src = j->disk->nr_extents;
			j->src = calloc(j->nr_src, sizeof(*j->src));
			if (!j->src)
				return -1;
			for (k = 0; k < j->nr_src; k++) {
				const struct svm_disk_extent *e = &j->disk->extents[k];
				const char *f = e->file_as_written &&
						svm_ep_is_url(e->file_as_written) ?
						e->file_as_written : e->file;

				j->src[k].file = strdup(f);
				j->src[k].dev = strdup(f);
				j->src[k].offset = e->offset;
				j->src[k].length = e->length;
			}
			j->size = j->disk->size;
			if (urls) {
				ret = remote_check_extents(j, o);
				if (ret)
					return ret;
			}
		}
		if (j->disk && !j->disk->is_descriptor && !j->raw_name) {
			const char *b = strrchr(j->disk->path, '/');

			j->raw_name = strdup(b ? b + 1 : j->disk->path);
		}
		spec = ds_spec(o, j);
		if (!spec) {
			msg("%s: no destination: give --to DATASTORE (or --place %s=DATASTORE)",
			    j->name, j->name);
			return -2;
		}
		ret = parse_ds_list(spec, j->ds, &j->nds, cold);
		if (ret)
			return ret == -EPERM ? -1 : -2;
		if (plan(j, o))
			return -1;
		j->fmt = fmt_for(format_name(o->format), j->sparse_src, !cold);
		/* NFS (libnfs, no ALLOCATE) allocates only what is written:
		 * thick-lazy there is thick-eager */
		for (k = 0; k < j->nds && j->fmt == SVM_FORMAT_THICK_LAZY; k++)
			if (j->ds[k].kind == DS_NFS)
				j->fmt = SVM_FORMAT_THICK_EAGER;
	}
	if (check_places(o, jobs, nd))
		return -2;
	return check_jobs(jobs, nd);
}

/* Start the migration of job j: files, loops, state, svmotion table. */
static int start_job(struct job *j, const struct opts *o)
{
	struct tbuf tb = { 0 };
	char err[512];
	int ret;

	if (create_dst(j, o))
		return -1;
	if (map_extents(j->dst, j->nr_dst)) {
		remove_created(j->dst, j->nr_dst);
		return -1;
	}
	j->st->mig = calloc(1, sizeof(*j->st->mig));
	if (!j->st->mig)
		goto undo;
	j->st->mig->phase = strdup("copying");
	j->st->mig->pid = getpid();
	j->st->mig->started = (double)time(NULL);
	j->st->mig->format = strdup(format_name(o->format));
	j->st->mig->mover = strdup(svm_copy_mode_name(o->mover));
	j->st->mig->bytes_total = j->size;
	/* the state owns a copy of the destination extents */
	j->st->mig->dst = calloc(j->nr_dst, sizeof(struct svm_ext));
	if (!j->st->mig->dst)
		goto undo;
	j->st->mig->nr_dst = j->nr_dst;
	for (size_t k = 0; k < j->nr_dst; k++) {
		j->st->mig->dst[k] = j->dst[k];
		j->st->mig->dst[k].file = strdup(j->dst[k].file);
		j->st->mig->dst[k].dev = strdup(j->dst[k].dev);
	}
	if (state_save(j->st))
		goto undo;
	tb.cap = 1024;
	tb.t = malloc(tb.cap);
	if (!tb.t)
		goto undo;
	tb.t[0] = 0;
	ret = pieces(j, add_svm_line, &tb);
	if (!ret)
		ret = svm_dm_reload(j->st->dm, tb.t, err, sizeof(err));
	if (!ret) {
		ret = svm_dm_suspend(j->st->dm, 0, err, sizeof(err));
		if (!ret)
			ret = svm_dm_resume(j->st->dm, err, sizeof(err));
		if (ret) {
			svm_dm_clear(j->st->dm, NULL, 0);
			svm_dm_resume(j->st->dm, NULL, 0);
		}
	}
	free(tb.t);
	if (ret) {
		msg("%s: loading the svmotion table: %s", j->name, err);
		svm_dm_clear(j->st->dm, NULL, 0);
		goto undo;
	}
	return 0;
undo:
	if (rollback(j->st, err, sizeof(err)))
		msg("%s: %s", j->name, err);
	return -1;
}

/* Run the mover over job j (hot: through dm; cold: files). */
static int copy_job(struct job *j, const struct opts *o, size_t idx, size_t n,
		    bool cold)
{
	struct prog pr = { .j = j, .disk_idx = idx, .ndisks = n,
			   .tty = o->progress == 2 || (o->progress < 0 && isatty(2)),
			   .quiet = o->progress == 0, .last_pct = -10 };
	struct svm_copy_opts co = { 0 };
	struct svm_copy_result res;
	struct tbuf tb = { .files = cold };
	struct svm_copy *c = NULL;
	char err[512];
	int ret;

	ret = pieces(j, add_pair, &tb);
	if (ret)
		return ret;
	co.mode = o->mover;
	co.format = j->fmt;
	co.rate_limit = o->rate;
	co.progress = progress;
	co.opaque = &pr;
	co.dm_name = cold ? NULL : j->st->dm;
	co.timeout_ms = o->timeout_ms;
	ret = svm_copy_new(&c, &co, tb.pairs, tb.np, err, sizeof(err));
	if (ret) {
		msg("%s: %s", j->name, err);
		free(tb.pairs);
		return ret;
	}
	g_copy = c;
	if (g_abort)
		svm_copy_cancel(c);
	ret = svm_copy_run(c, &res);
	g_copy = NULL;
	if (pr.tty && !g_json)
		fputc('\n', stderr);
	if (ret && ret != -ECANCELED)
		msg("%s: copy failed: %s (at source offset %llu)", j->name,
		    res.message, (unsigned long long)res.error_offset);
	else if (!ret && g_json) {
		json_object *ev = event("copied");

		json_object_object_add(ev, "disk", json_object_new_string(j->name));
		json_object_object_add(ev, "bytes_copied", json_object_new_int64(res.bytes_copied));
		json_object_object_add(ev, "bytes_skipped", json_object_new_int64(res.bytes_skipped));
		json_object_object_add(ev, "mode", json_object_new_string(svm_copy_mode_name(res.mode_used)));
		json_object_object_add(ev, "seconds", json_object_new_double(res.elapsed));
		if (!cold)
			json_object_object_add(ev, "extents_via_files",
					       json_object_new_int(res.pairs_via_files));
		emit(ev);
	}
	if (!ret && o->mover == SVM_MODE_XCOPY &&
	    res.bytes_by_mode[SVM_MODE_XCOPY] < res.bytes_copied) {
		char a[32];

		info("%s: --mover xcopy could not offload %s (%s): copied by mover fast instead",
		     j->name, fmt_size(res.bytes_copied - res.bytes_by_mode[SVM_MODE_XCOPY],
				       a, sizeof(a)),
		     res.fallback[0] ? res.fallback : "refused");
	}
	if (!ret && !g_json) {
		char a[32], b[32];

		info("%s: copied %s, skipped %s (holes, zeros) in %.1f s with mover %s%s%s%s%s",
		     j->name, fmt_size(res.bytes_copied, a, sizeof(a)),
		     fmt_size(res.bytes_skipped, b, sizeof(b)), res.elapsed,
		     svm_copy_mode_name(res.mode_used),
		     j->remote && res.backends[0] ? " (" : "",
		     j->remote ? res.backends : "", j->remote && res.backends[0] ? ")" : "",
		     res.pairs_via_files ?
		     ", between the files behind the loop devices" : "");
	}
	svm_copy_free(c);
	free(tb.pairs);
	return ret;
}

/* Every segment of j's device synced? */
static bool synced(struct job *j, char *err, size_t errlen)
{
	struct svm_seg_status st[64];
	int n, i;

	n = svm_dm_status(j->st->dm, st, 64, err, errlen);
	if (n <= 0 || n > 64) {
		if (n >= 0)
			snprintf(err, errlen, "%d svmotion segments", n);
		return false;
	}
	for (i = 0; i < n; i++)
		if (st[i].state != SVM_STATE_SYNCED) {
			snprintf(err, errlen, "segment at sector %llu is %s (%llu/%llu regions)",
				 (unsigned long long)st[i].start,
				 svm_state_name(st[i].state),
				 (unsigned long long)st[i].copied,
				 (unsigned long long)st[i].total);
			return false;
		}
	return true;
}

/*
 * The switchover of every job in one pause. 0: every disk on its
 * destination; <0: every disk still on (or back on) svmotion, nothing lost.
 */
static int switchover(struct job *jobs, size_t n, struct handoff *h,
		      double *stun_ms, double *io_ms, char *err, size_t errlen)
{
	size_t i, suspended = 0, resumed = 0;
	double t0, t1, t2, t3;
	int ret = 0;

	for (i = 0; i < n && !ret; i++) {
		char *t = linear_table(jobs[i].dst, jobs[i].nr_dst);

		ret = t ? svm_dm_reload(jobs[i].st->dm, t, err, errlen) : -ENOMEM;
		free(t);
	}
	if (ret)
		goto clear;
	t0 = now_s();
	ret = handoff_pause(h, err, errlen);
	if (ret)
		goto clear;
	t1 = now_s();
	for (i = 0; i < n && !ret; i++) {
		ret = svm_dm_suspend(jobs[i].st->dm, 0, err, errlen);
		if (!ret)
			suspended++;
	}
	for (i = 0; i < n && !ret; i++) {
		char e2[256];

		/* still svmotion and synced while suspended? then go */
		if (!synced(&jobs[i], e2, sizeof(e2))) {
			snprintf(err, errlen, "%s: not synced at the switchover: %s",
				 jobs[i].name, e2);
			ret = -EAGAIN;
		}
	}
	for (i = 0; i < n && !ret; i++) {
		ret = svm_dm_resume(jobs[i].st->dm, err, errlen);
		if (!ret) {
			resumed++;
			jobs[i].switched = true;
		}
	}
	if (ret) {
		/* back: disks resumed on the destination return to svmotion
		 * mode (nothing was written: the hypervisor is paused) */
		for (i = 0; i < n; i++) {
			if (jobs[i].switched) {
				struct tbuf tb = { .cap = 1024 };

				tb.t = malloc(tb.cap);
				if (tb.t) {
					tb.t[0] = 0;
					pieces(&jobs[i], add_svm_line, &tb);
					svm_dm_reload(jobs[i].st->dm, tb.t, NULL, 0);
					svm_dm_suspend(jobs[i].st->dm, 0, NULL, 0);
				}
				free(tb.t);
				jobs[i].switched = false;
			} else {
				svm_dm_clear(jobs[i].st->dm, NULL, 0);
			}
			if (i < suspended || jobs[i].switched == false)
				svm_dm_resume(jobs[i].st->dm, NULL, 0);
		}
		handoff_resume(h, NULL, 0);
		(void)resumed;
		return ret;
	}
	t2 = now_s();
	ret = handoff_resume(h, err, errlen);
	t3 = now_s();
	*stun_ms = (t3 - t0) * 1000;
	*io_ms = (t2 - t1) * 1000;
	return ret ? 1 : 0;
clear:
	for (i = 0; i < n; i++)
		svm_dm_clear(jobs[i].st->dm, NULL, 0);
	return ret;
}

/* After the switchover: descriptors, state, source loops, --delete-source. */
static int finish_job(struct job *j)
{
	struct svm_state *st = j->st;
	int ret;

	ret = rewrite_disk(j, NULL);
	/* the disk now lives on its destination extents */
	detach_extents(st->src, st->nr_src);
	svm_ext_free(st->src, st->nr_src);
	st->src = st->mig->dst;
	st->nr_src = st->mig->nr_dst;
	for (size_t k = 0; k < st->nr_src; k++)
		st->src[k].created = false;
	st->mig->dst = NULL;
	st->mig->nr_dst = 0;
	free(st->mig->phase);
	free(st->mig->format);
	free(st->mig->mover);
	free(st->mig);
	st->mig = NULL;
	if (j->new_path) {
		free(st->disk);
		st->disk = strdup(j->new_path);
		st->raw = !j->disk->is_descriptor && j->nr_dst == 1 && !j->ds[0].blk;
	}
	state_save(st);
	j->src = NULL;
	j->nr_src = 0;
	return ret;
}

static int do_migrate(int argc, char **argv, bool cold)
{
	const char *disks[64], *dss[64 * MAX_DS];
	struct job *jobs = NULL;
	struct handoff *h = NULL;
	struct slots *sl = NULL;
	struct opts o;
	char err[512];
	size_t nd = 0, i, k, nds = 0, started = 0;
	struct svm_ext **old = NULL;
	size_t *nold = NULL;
	double stun = 0, io = 0;
	int ret, rc = EX_FAILED;
	size_t undo_from = 0;	/* cold: the jobs to undo on failure */
	bool undone = false;

	ret = collect(argc, argv, &o, cold, disks, &nd);
	if (ret)
		return ret < 0 ? EX_OK : ret;
	if (state_dir_ensure())
		return EX_FAILED;
	jobs = calloc(nd, sizeof(*jobs));
	if (!jobs)
		return EX_FAILED;
	ret = prepare(jobs, nd, disks, &o, cold);
	if (ret) {
		if (cold)
			cold_undo(jobs, nd, &o);	/* what the checks made */
		jobs_free(jobs, nd);
		return ret == -2 ? EX_USAGE : EX_REFUSED;
	}
	if (!cold) {
		ret = handoff_open(o.handoff, &h, err, sizeof(err));
		if (ret) {
			msg("--handoff %s: %s", o.handoff, err);
			jobs_free(jobs, nd);
			return ret == -EINVAL ? EX_USAGE : EX_REFUSED;
		}
	}
	for (i = 0; i < nd; i++)
		for (k = 0; k < jobs[i].nds; k++)
			if (jobs[i].ds[k].kind == DS_DIR)
				dss[nds++] = jobs[i].ds[k].path;
	catch_signals();
	ret = slots_take(dss, nds, HOST_MAX, DS_MAX, o.no_wait, &g_abort, &sl,
			 err, sizeof(err));
	if (ret) {
		msg("%s%s", err, ret == -ECANCELED ? ": nothing changed" : "");
		rc = ret == -EBUSY ? EX_REFUSED : ret == -ECANCELED ? EX_ABORTED :
		     EX_FAILED;
		goto out;
	}
	if (g_abort) {
		rc = EX_ABORTED;
		goto out;
	}
	/* keep the source extents for --delete-source */
	old = calloc(nd, sizeof(*old));
	nold = calloc(nd, sizeof(*nold));
	if (!old || !nold)
		goto out;
	for (i = 0; i < nd; i++) {
		old[i] = calloc(jobs[i].nr_src, sizeof(struct svm_ext));
		if (!old[i])
			goto out;
		for (k = 0; k < jobs[i].nr_src; k++)
			old[i][k].file = strdup(jobs[i].src[k].file);
		nold[i] = jobs[i].nr_src;
	}

	if (cold) {
		for (i = 0; i < nd; i++) {
			for (k = 0; k < jobs[i].nr_dst; k++)
				jobs[i].dst[k].dev = strdup(jobs[i].dst[k].file);
			if (create_dst(&jobs[i], &o))
				break;
			jobs[i].copying = true;
			ret = copy_job(&jobs[i], &o, i, nd, true);
			if (ret)
				break;
		}
		if (i < nd) {
			int zeroed = cold_undo(jobs, nd, &o);

			undone = true;
			rc = g_abort ? EX_ABORTED : EX_FAILED;
			if (zeroed)
				msg("%s: the destination files were removed and the first MiB of each device or LUN written zeroed; the source is unchanged",
				    g_abort ? "aborted" : "failed");
			else
				msg("%s: nothing changed, the destination files were removed",
				    g_abort ? "aborted" : "failed");
			goto out;
		}
		for (i = 0; i < nd; i++) {
			if (rewrite_disk(&jobs[i], &o)) {
				/* the disks before it are done: they stay */
				undo_from = i;
				msg("%s: not moved, its destination files were removed",
				    jobs[i].name);
				rc = EX_FAILED;
				goto out;
			}
		}
		undo_from = nd;
		for (i = 0; i < nd; i++) {
			if (o.delete_source) {
				struct job tmp = jobs[i];

				tmp.src = old[i];
				tmp.nr_src = nold[i];
				delete_source(&tmp, &o);
			}
			if (g_json) {
				json_object *ev = event("done");

				json_object_object_add(ev, "disk", json_object_new_string(jobs[i].name));
				json_object_object_add(ev, "path", json_object_new_string(jobs[i].new_path));
				emit(ev);
			} else {
				char sh[512];

				info("%s: now at %s", jobs[i].name,
				     url_show(jobs[i].new_path, sh, sizeof(sh)));
			}
		}
		rc = EX_OK;
		goto out;
	}

	/* hot: swap each disk to svmotion, copy, switch all in one pause */
	for (i = 0; i < nd && !g_abort; i++) {
		if (start_job(&jobs[i], &o))
			break;
		started = i + 1;
	}
	if (started < nd)
		goto roll;
	for (i = 0; i < nd && !g_abort; i++)
		if (copy_job(&jobs[i], &o, i, nd, false))
			break;
	if (i < nd || g_abort)
		goto roll;
	block_signals(true);
	for (i = 0; i < nd; i++) {
		free(jobs[i].st->mig->phase);
		jobs[i].st->mig->phase = strdup("switching");
		jobs[i].st->mig->bytes_done = jobs[i].size;
		state_save(jobs[i].st);
	}
	ret = switchover(jobs, nd, h, &stun, &io, err, sizeof(err));
	if (ret < 0) {
		msg("switchover failed, every disk stays on its source: %s", err);
		for (i = 0; i < nd; i++) {
			free(jobs[i].st->mig->phase);
			jobs[i].st->mig->phase = strdup("copying");
		}
		block_signals(false);
		goto roll;
	}
	if (ret > 0)
		msg("switched over, but the hypervisor did not resume: %s: resume it by hand",
		    err);
	rc = ret > 0 ? EX_RESUME : EX_OK;
	for (i = 0; i < nd; i++) {
		if (finish_job(&jobs[i]))
			rc = EX_FAILED;	/* the descriptor could not be rewritten */
		if (o.delete_source) {
			struct job tmp = jobs[i];

			tmp.src = old[i];
			tmp.nr_src = nold[i];
			delete_source(&tmp, &o);
		}
	}
	block_signals(false);
	if (g_abort)
		info("the abort came after the switchover: the disks are on their destination");
	if (g_json) {
		json_object *ev = event("switchover"), *arr = json_object_new_array();

		for (i = 0; i < nd; i++)
			json_object_array_add(arr, json_object_new_string(jobs[i].name));
		json_object_object_add(ev, "disks", arr);
		json_object_object_add(ev, "stun_ms", json_object_new_double(stun));
		json_object_object_add(ev, "io_suspended_ms", json_object_new_double(io));
		json_object_object_add(ev, "handoff", json_object_new_string(o.handoff ? o.handoff : "none"));
		emit(ev);
		for (i = 0; i < nd; i++) {
			ev = event("done");
			json_object_object_add(ev, "disk", json_object_new_string(jobs[i].name));
			json_object_object_add(ev, "path", json_object_new_string(jobs[i].new_path ? jobs[i].new_path : jobs[i].st->disk));
			emit(ev);
		}
	} else {
		for (i = 0; i < nd; i++)
			info("%s: now at %s", jobs[i].name,
			     jobs[i].new_path ? jobs[i].new_path : jobs[i].st->disk);
		printf("switched over %zu disk%s in one pause: stun time %.3f ms (I/O suspended %.3f ms)\n",
		       nd, nd == 1 ? "" : "s", stun, io);
	}
	goto out;
roll:
	rc = g_abort ? EX_ABORTED : EX_FAILED;
	for (i = 0; i < started; i++) {
		if (rollback(jobs[i].st, err, sizeof(err))) {
			msg("%s: rolling back failed: %s", jobs[i].name, err);
			rc = EX_STUCK;
		}
	}
	if (rc != EX_STUCK)
		msg("%s: every disk is back on its source, destination extents removed",
		    g_abort ? "aborted" : "failed");
out:
	if (cold && rc != EX_OK && !undone && undo_from < nd)
		cold_undo(jobs + undo_from, nd - undo_from, &o);
	for (i = 0; old && i < nd; i++)
		svm_ext_free(old[i], nold[i]);
	free(old);
	free(nold);
	slots_release(sl);
	handoff_close(h);
	jobs_free(jobs, nd);
	return rc;
}

/* With --json, every run ends in a "done" event per disk or one "error". */
static int json_end(int rc)
{
	if (g_json && rc != EX_OK) {
		json_object *ev = event("error");

		json_object_object_add(ev, "exit", json_object_new_int(rc));
		emit(ev);
	}
	return rc;
}

int cmd_migrate(int argc, char **argv)
{
	g_t0 = now_s();
	return json_end(do_migrate(argc, argv, false));
}

int cmd_cold(int argc, char **argv)
{
	g_t0 = now_s();
	return json_end(do_migrate(argc, argv, true));
}

/* ---- abort and status -------------------------------------------------------- */

int cmd_abort(int argc, char **argv)
{
	struct svm_state *st = NULL;
	char err[512];
	int fd, i, ret;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: svmotion abort DISK\n\n"
		       "Stop DISK's migration: the disk goes back to linear(source) at once and\n"
		       "the destination extents are removed; nothing is lost (the source has\n"
		       "every write). Works from another shell while migrate runs (it is told\n"
		       "to stop and rolls back itself) and after migrate was killed.\n"
		       "Refused once the switchover has begun.\n"
		       "Exit status: 0 aborted, 3 nothing to abort or too late, 5 could not roll back.\n");
		return EX_OK;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: svmotion abort DISK\n");
		return EX_USAGE;
	}
	if (state_find(argv[1], &st)) {
		msg("%s is not attached", argv[1]);
		return EX_REFUSED;
	}
	if (!st->mig) {
		msg("%s is not being migrated", st->name);
		state_free(st);
		return EX_REFUSED;
	}
	fd = state_lock(st->name, false);
	if (fd == -EBUSY) {
		/* a live migrate: ask it to stop, wait for its rollback */
		if (strcmp(st->mig->phase, "copying")) {
			msg("%s: too late, the switchover has begun", st->name);
			state_free(st);
			return EX_REFUSED;
		}
		if (st->mig->pid > 0 && kill(st->mig->pid, SIGTERM) && errno != ESRCH) {
			msg("%s: signalling migrate (pid %d): %s", st->name,
			    st->mig->pid, strerror(errno));
			state_free(st);
			return EX_FAILED;
		}
		for (i = 0; i < 1200; i++) {
			fd = state_lock(st->name, false);
			if (fd >= 0)
				break;
			usleep(100000);
		}
		state_free(st);
		st = NULL;
		if (fd < 0) {
			msg("%s: migrate did not stop within 120 s", argv[1]);
			return EX_FAILED;
		}
		if (state_find(argv[1], &st)) {
			close(fd);
			return EX_OK;
		}
		if (!st->mig) {
			info("%s: aborted: back on its source", st->name);
			close(fd);
			state_free(st);
			return EX_OK;
		}
	} else if (fd < 0) {
		msg("%s: lock: %s", st->name, strerror(-fd));
		state_free(st);
		return EX_FAILED;
	}
	/* no migrate running (killed): roll back here */
	ret = rollback(st, err, sizeof(err));
	close(fd);
	if (ret) {
		msg("%s: rolling back: %s", st->name, err);
		state_free(st);
		return ret == -EUCLEAN ? EX_STUCK : EX_STUCK;
	}
	info("%s: aborted: back on its source, destination extents removed", st->name);
	state_free(st);
	return EX_OK;
}

int cmd_status(int argc, char **argv)
{
	json_object *arr = json_object_new_array();
	char **names;
	size_t n, i, shown = 0;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: svmotion status [--json]\n\n"
		       "Every migration in progress: disk, source, destinations, regions copied\n"
		       "of total (from the kernel), rate, ETA, state (copying, switching,\n"
		       "synced, failed; \"orphaned\" when its migrate process is gone: run\n"
		       "svmotion abort). --json: one JSON array.\n");
		json_object_put(arr);
		return EX_OK;
	}
	if (argc == 2 && !strcmp(argv[1], "--json")) {
		g_json = true;
	} else if (argc != 1) {
		fprintf(stderr, "usage: svmotion status [--json]\n");
		json_object_put(arr);
		return EX_USAGE;
	}
	if (state_list(&names, &n)) {
		json_object_put(arr);
		return EX_FAILED;
	}
	for (i = 0; i < n; i++) {
		struct svm_seg_status seg[64];
		struct svm_state *st;
		uint64_t copied = 0, total = 0;
		const char *state;
		double eta = 0;
		int ns, k, fd;
		bool failed = false, all_synced = true;

		if (state_load(names[i], &st) || !st->mig) {
			if (st)
				state_free(st);
			free(names[i]);
			continue;
		}
		ns = svm_dm_status(st->dm, seg, 64, NULL, 0);
		for (k = 0; k < ns && k < 64; k++) {
			copied += seg[k].copied;
			total += seg[k].total;
			failed |= seg[k].state == SVM_STATE_FAILED;
			all_synced &= seg[k].state == SVM_STATE_SYNCED;
		}
		state = st->mig->phase;
		if (ns > 0 && failed)
			state = "failed";
		else if (ns > 0 && all_synced && !strcmp(state, "copying"))
			state = "synced";
		fd = state_lock(st->name, false);
		if (fd >= 0) {
			state = "orphaned";
			close(fd);
		}
		if (st->mig->rate > 0 && st->mig->bytes_total > st->mig->bytes_done)
			eta = (st->mig->bytes_total - st->mig->bytes_done) / st->mig->rate;
		if (g_json) {
			json_object *o = json_object_new_object(), *d = json_object_new_array();

			json_object_object_add(o, "disk", json_object_new_string(st->name));
			json_object_object_add(o, "device", json_object_new_string(st->dm));
			json_object_object_add(o, "source", json_object_new_string(st->src[0].file));
			for (k = 0; k < (int)st->mig->nr_dst; k++)
				json_object_array_add(d, json_object_new_string(st->mig->dst[k].file));
			json_object_object_add(o, "destinations", d);
			json_object_object_add(o, "regions_copied", json_object_new_int64(copied));
			json_object_object_add(o, "regions_total", json_object_new_int64(total));
			json_object_object_add(o, "bytes_per_s", json_object_new_double(st->mig->rate));
			json_object_object_add(o, "eta_s", json_object_new_double(eta));
			json_object_object_add(o, "state", json_object_new_string(state));
			json_object_object_add(o, "pid", json_object_new_int(st->mig->pid));
			json_object_array_add(arr, o);
		} else {
			if (!shown)
				printf("%-16s %-10s %15s %10s %7s  %s -> %s\n", "DISK", "STATE",
				       "REGIONS", "MiB/s", "ETA", "SOURCE", "DESTINATIONS");
			char etas[16];

			if (st->mig->rate > 0)
				snprintf(etas, sizeof(etas), "%ds", (int)eta);
			else
				snprintf(etas, sizeof(etas), "-");
			printf("%-16s %-10s %7llu/%-7llu %10.1f %7s  %s%s ->", st->name,
			       state, (unsigned long long)copied,
			       (unsigned long long)total, st->mig->rate / 1048576,
			       etas, st->src[0].file, st->nr_src > 1 ? ",..." : "");
			for (k = 0; k < (int)st->mig->nr_dst; k++)
				printf("%s%s", k ? "," : " ", st->mig->dst[k].file);
			printf("\n");
		}
		shown++;
		state_free(st);
		free(names[i]);
	}
	free(names);
	if (g_json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	else if (!shown)
		printf("no migration in progress\n");
	json_object_put(arr);
	return EX_OK;
}
