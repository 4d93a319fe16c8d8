// SPDX-License-Identifier: GPL-2.0
/*
 * status.c - svmotion abort and status, and the rollback that abort and a
 * failed migrate share: back to linear(source), the destination extents
 * detached and removed, the migration's record cleared.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "migrate.h"
#include "svm-dm.h"
#include "svm-ep.h"
#include "svm-vmdk.h"
#include "svmotion.h"

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
	/* "rolling back": the table is svmotion or already linear(source) */
	if (n == 0 && strcmp(st->mig->phase, "copying") &&
	    strcmp(st->mig->phase, "rolling back")) {
		snprintf(err, errlen,
			 "%s was interrupted in the middle of its switchover: its table has no svmotion segment left; check 'dmsetup table %s' before anything else",
			 st->name, st->dm);
		return -EUCLEAN;
	}
	/* what abort, from another shell, looks at to tell a rollback under way */
	free(st->mig->phase);
	st->mig->phase = strdup("rolling back");
	if (!st->mig->phase)
		return -ENOMEM;
	state_save(st);
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


/* ---- abort and status -------------------------------------------------------- */

/* How long abort waits for migrate to begin its rollback before saying why not. */
#define STUCK_S		15

/*
 * Does a thread of process pid wait in the kernel (state D: typically I/O
 * to storage that does not answer)? Its wait channel into wchan.
 */
static bool in_uninterruptible_wait(pid_t pid, char *wchan, size_t len)
{
	char path[64], buf[512], *p;
	struct dirent *d;
	bool stuck = false;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while (!stuck && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/stat", (int)pid, d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (!p || p[1] != ' ' || p[2] != 'D')
			continue;
		stuck = true;
		snprintf(wchan, len, "?");
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/wchan", (int)pid, d->d_name);
		f = fopen(path, "r");
		if (f) {
			if (fgets(buf, sizeof(buf), f) && buf[0] && strcmp(buf, "0"))
				snprintf(wchan, len, "%.100s", buf);
			fclose(f);
		}
	}
	closedir(dir);
	return stuck;
}

/* Has NAME's migrate begun its rollback (its record says so)? */
static bool rolling_back(const char *name)
{
	struct svm_state *st;
	bool yes;

	if (state_find(name, &st))
		return true;		/* gone: not stuck */
	yes = !st->mig || strcmp(st->mig->phase, "copying");
	state_free(st);
	return yes;
}

/* migrate was told to stop STUCK_S s ago and has not begun to roll back. */
static void stuck_msg(const char *name, pid_t pid)
{
	char wchan[128], where[200] = "";

	if (in_uninterruptible_wait(pid, wchan, sizeof(wchan)))
		snprintf(where, sizeof(where), " (a thread waits in the kernel: %s)", wchan);
	msg("%s: migrate (pid %d) has not begun to roll back %d s after it was told to stop: its copy waits for I/O that does not complete%s, typically to a datastore that stopped answering (a hard NFS mount whose server is gone, a lost iSCSI path). The guest does not wait for it (the target gives up on the destination after dst_timeout_ms). migrate rolls back by itself once that I/O returns or fails; follow it with: %s status",
	    name, (int)pid, STUCK_S, where, g_prog);
}

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
		       "Refused once the switchover has begun. If migrate does not stop because\n"
		       "its I/O hangs (storage that stopped answering), abort says so after\n"
		       "15 s; migrate rolls back once that I/O returns.\n"
		       "Exit status: 0 aborted, 1 migrate did not stop (the message says why),\n"
		       "3 nothing to abort or too late, 5 could not roll back.\n");
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
			if (i == STUCK_S * 10 && !rolling_back(st->name)) {
				stuck_msg(st->name, st->mig->pid);
				state_free(st);
				return EX_FAILED;
			}
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
