// SPDX-License-Identifier: GPL-2.0
/*
 * migrate.c - svmotion migrate and cold: the run (the command line is
 * migrate-opts.c's, the plan plan.c's, rollback, abort and status status.c's).
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
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "migrate.h"
#include "svm-dm.h"
#include "svm-ep.h"
#include "svm-vmdk.h"
#include "svmotion.h"


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

/* ---- the migrate command ------------------------------------------------------ */

static void jobs_free(struct job *jobs, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		struct job *j = &jobs[i];

		via_free(j);
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
		if (!cold && via_precheck(j, o))
			return -1;
		j->fmt = fmt_for(format_name(o->format), j->sparse_src, !cold);
		j->dst_timeout_ms = o->dst_timeout_ms;
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
	char *table, err[512];
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
	table = job_svm_table(j);
	if (!table) {
		msg("%s: building the svmotion table: out of memory", j->name);
		goto undo;
	}
	ret = svm_dm_reload(j->st->dm, table, err, sizeof(err));
	if (!ret) {
		ret = svm_dm_suspend(j->st->dm, 0, err, sizeof(err));
		if (!ret)
			ret = svm_dm_resume(j->st->dm, err, sizeof(err));
		if (ret) {
			svm_dm_clear(j->st->dm, NULL, 0);
			svm_dm_resume(j->st->dm, NULL, 0);
		}
	}
	free(table);
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

/*
 * What the mover did for job j, into event ev: bytes copied and skipped
 * (zeros), bytes per backend ("movers"), and of the copied bytes those
 * whose data did not cross this host (EXTENDED COPY, an NFS COPY the
 * server did, a reflink clone) and those that did.
 */
static void add_movers(json_object *ev, const struct job *j)
{
	json_object *m = json_object_new_object();
	int b;

	json_object_object_add(ev, "bytes_copied", json_object_new_int64(j->copied));
	json_object_object_add(ev, "bytes_skipped", json_object_new_int64(j->skipped));
	for (b = 0; b < SVM_BACKEND_COUNT; b++)
		if (j->by_backend[b])
			json_object_object_add(m, svm_copy_backend_name(b),
					       json_object_new_int64(j->by_backend[b]));
	json_object_object_add(ev, "movers", m);
	json_object_object_add(ev, "bytes_offloaded", json_object_new_int64(j->offloaded));
	json_object_object_add(ev, "bytes_through_host",
			       json_object_new_int64(j->copied - j->offloaded));
}

/* The mover's way to j's storage (via.c), into ev or as a line. */
static void add_via(json_object *ev, const struct job *j)
{
	json_object *v = json_object_new_object(), *u = json_object_new_array();
	size_t i;

	json_object_object_add(v, "chosen", json_object_new_string(j->via_direct ? "direct" : "kernel"));
	json_object_object_add(v, "why", json_object_new_string(j->via_why));
	for (i = 0; j->src_via && i < j->nr_src; i++)
		if (j->src_via[i])
			json_object_array_add(u, json_object_new_string(j->src_via[i]));
	for (i = 0; j->dst_via && i < j->nr_dst; i++)
		if (j->dst_via[i])
			json_object_array_add(u, json_object_new_string(j->dst_via[i]));
	json_object_object_add(v, "urls", u);
	if (j->via_sample) {
		json_object_object_add(v, "sample_bytes", json_object_new_int64(j->via_sample));
		json_object_object_add(v, "kernel_bytes_per_s", json_object_new_double(j->via_rate[0]));
		json_object_object_add(v, "direct_bytes_per_s", json_object_new_double(j->via_rate[1]));
		json_object_object_add(v, "kernel_offloaded", json_object_new_boolean(j->via_offloaded));
	}
	if (j->via_tried) {
		json_object *t = json_object_new_object();

		json_object_object_add(t, "phases", json_object_new_int((int)j->via_phases));
		json_object_object_add(t, "phase_bytes", json_object_new_int64(j->via_phase_bytes));
		json_object_object_add(t, "kernel_bytes", json_object_new_int64(j->via_bytes[0]));
		json_object_object_add(t, "direct_bytes", json_object_new_int64(j->via_bytes[1]));
		json_object_object_add(t, "given_up", j->via_given_up < 0 ? NULL :
				       json_object_new_string(j->via_given_up ? "direct" : "kernel"));
		json_object_object_add(t, "offload_kept",
				       json_object_new_boolean(j->via_offload_kept));
		json_object_object_add(v, "trial", t);
	}
	json_object_object_add(ev, "via", v);
}

static void report_via(const struct job *j)
{
	json_object *ev;
	size_t i;

	if (g_json) {
		ev = event("via");
		json_object_object_add(ev, "disk", json_object_new_string(j->name));
		add_via(ev, j);
		emit(ev);
		return;
	}
	if (!j->via_direct) {
		info("%s: the mover goes through the kernel: %s", j->name, j->via_why);
		return;
	}
	info("%s: the mover goes its own way: %s", j->name, j->via_why);
	for (i = 0; i < j->nr_src; i++)
		if (j->src_via[i])
			info("%s:   reading %s as %s", j->name, j->src[i].file, j->src_via[i]);
	for (i = 0; i < j->nr_dst; i++)
		if (j->dst_via[i])
			info("%s:   writing %s as %s", j->name, j->dst[i].file, j->dst_via[i]);
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
	struct svm_extent_pair *pairs;
	size_t np;
	struct svm_copy *c = NULL;
	char err[512];
	int ret;

	if (!cold) {
		if (via_choose(j, o))
			return -EINVAL;
		if (!j->via_trial)
			report_via(j);
		else if (!g_json)
			info("%s: the mover tries the kernel's way and its own on the first regions, and keeps the faster", j->name);
	}
	ret = job_pairs(j, cold, &pairs, &np);
	if (ret)
		return ret;
	co.mode = o->mover;
	co.format = j->fmt;
	co.rate_limit = o->rate;
	co.progress = progress;
	co.opaque = &pr;
	co.dm_name = cold ? NULL : j->st->dm;
	co.timeout_ms = o->timeout_ms;
	co.via_trial = !cold && j->via_trial;
	ret = svm_copy_new(&c, &co, pairs, np, err, sizeof(err));
	if (ret) {
		msg("%s: %s", j->name, err);
		free(pairs);
		return ret;
	}
	g_copy = c;
	if (g_abort)
		svm_copy_cancel(c);
	ret = svm_copy_run(c, &res);
	g_copy = NULL;
	if (pr.tty && !g_json)
		fputc('\n', stderr);
	if (co.via_trial) {
		via_settle(j, &res);
		report_via(j);
	}
	if (ret && ret != -ECANCELED)
		msg("%s: copy failed: %s (at source offset %llu)", j->name,
		    res.message, (unsigned long long)res.error_offset);
	if (!ret) {
		memcpy(j->by_backend, res.bytes_by_backend, sizeof(j->by_backend));
		j->copied = res.bytes_copied;
		j->skipped = res.bytes_skipped;
		j->offloaded = res.bytes_offloaded;
	}
	if (!ret && g_json) {
		json_object *ev = event("copied");

		json_object_object_add(ev, "disk", json_object_new_string(j->name));
		add_movers(ev, j);
		json_object_object_add(ev, "mode", json_object_new_string(svm_copy_mode_name(res.mode_used)));
		json_object_object_add(ev, "seconds", json_object_new_double(res.elapsed));
		if (!cold) {
			json_object_object_add(ev, "extents_via_files",
					       json_object_new_int(res.pairs_via_files));
			json_object_object_add(ev, "extents_via_url",
					       json_object_new_int(res.pairs_via_url));
			json_object_object_add(ev, "regions_recopied",
					       json_object_new_int64(res.regions_recopied));
			json_object_object_add(ev, "regions_at_once",
					       json_object_new_int(res.regions_at_once));
			json_object_object_add(ev, "regions_at_once_end",
					       json_object_new_int(res.regions_at_once_end));
			add_via(ev, j);
		}
		emit(ev);
	}
	if (!ret && !cold && res.regions_at_once_end < res.regions_at_once)
		info("%s: regions copied at once cut from %u to %u: a region's copy outlived the target's lock timeout (the storage is slower than it can take in parallel)",
		     j->name, res.regions_at_once, res.regions_at_once_end);
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
	free(pairs);
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
				char *table = job_svm_table(&jobs[i]);

				if (table) {
					svm_dm_reload(jobs[i].st->dm, table, NULL, 0);
					svm_dm_suspend(jobs[i].st->dm, 0, NULL, 0);
				}
				free(table);
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
				add_movers(ev, &jobs[i]);
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
			add_movers(ev, &jobs[i]);
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

