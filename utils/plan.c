// SPDX-License-Identifier: GPL-2.0
/*
 * plan.c - svmotion migrate and cold, the plan: datastore lists parsed,
 * each disk's destination extents planned over its datastores and checked
 * before anything changes, the destination files created (and removed again
 * on a rollback), the pieces where source and destination extents meet (the
 * svmotion table's segments, the copy's pairs).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "migrate.h"
#include "svm-dm.h"
#include "svm-ds.h"
#include "svm-ep.h"
#include "svm-vmdk.h"
#include "svmotion.h"

/* ---- planning ------------------------------------------------------------------ */

/*
 * "DS[:SIZE][,DS[:SIZE]...]" into parts: 0, -EINVAL (usage), -EPERM
 * (refused: a URL datastore for migrate).
 */
int parse_ds_list(const char *spec, struct ds_part *ds, size_t *n,
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

const char *format_name(const char *f)
{
	return f ? f : "same";
}

/*
 * What local datastore d is, for messages (lib/svm-ds); a soft NFS mount is
 * worth a warning: a slow server fails its writes where a hard mount waits,
 * and the migration then falls back to the source.
 */
static void ds_what(struct ds_part *d)
{
	struct svm_ds_info *i = malloc(sizeof(*i));

	d->what[0] = 0;
	if (!i)
		return;
	if (!svm_ds_probe(d->path, i, NULL, 0)) {
		svm_ds_describe(i, d->what, sizeof(d->what));
		if (i->kind == SVM_DS_NFS && i->nfs.soft)
			info("datastore %s is a soft NFS mount (%s): a slow server fails its writes, and the migration then falls back to the source; a hard mount waits",
			     d->path, d->what);
	}
	free(i);
}

/*
 * Plan job j's destination extents over its datastores and check them.
 * Returns 0 or -1 (message printed).
 */
int plan(struct job *j, const struct opts *o)
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
			ds_what(&j->ds[k]);
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

			msg("%s: datastore %s%s%s%s has %s free, %s needed for format %s",
			    j->name, url_show(j->ds[k].path, shown, sizeof(shown)),
			    j->ds[k].what[0] ? " (" : "", j->ds[k].what,
			    j->ds[k].what[0] ? ")" : "",
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
int check_jobs(struct job *jobs, size_t n)
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

void remove_created(struct svm_ext *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (d[i].created && d[i].file && !svm_ep_is_url(d[i].file))
			bounded_unlink(d[i].file);
}

/* Create job j's destination files (thin: sparse; thick: allocated). */
int create_dst(struct job *j, const struct opts *o)
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

/* what the pieces are gathered into: table text or pairs */
struct tbuf {
	char *t;
	size_t len, cap;
	struct svm_extent_pair *pairs;
	size_t np;
	bool files;	/* pairs over files (cold), else devices */
	const struct job *j;	/* pairs over devices: its src_via, dst_via */
	int dst_timeout_ms;	/* svmotion lines: -1 the target's default */
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
	if (n > 0 && b->dst_timeout_ms >= 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - n, " 2 dst_timeout_ms %d",
			      b->dst_timeout_ms);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -ENAMETOOLONG;
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
	p->src_via = p->dst_via = NULL;
	if (!b->files && b->j->src_via)
		p->src_via = b->j->src_via[s - b->j->src];
	if (!b->files && b->j->dst_via)
		p->dst_via = b->j->dst_via[d - b->j->dst];
	return 0;
}

char *job_svm_table(const struct job *j)
{
	struct tbuf tb = { .cap = 1024, .dst_timeout_ms = j->dst_timeout_ms };

	tb.t = malloc(tb.cap);
	if (!tb.t)
		return NULL;
	tb.t[0] = 0;
	if (pieces(j, add_svm_line, &tb)) {
		free(tb.t);
		return NULL;
	}
	return tb.t;
}

int job_pairs(const struct job *j, bool files, struct svm_extent_pair **pairs,
	      size_t *np)
{
	struct tbuf tb = { .files = files, .j = j };
	int ret = pieces(j, add_pair, &tb);

	if (ret) {
		free(tb.pairs);
		return ret;
	}
	*pairs = tb.pairs;
	*np = tb.np;
	return 0;
}
