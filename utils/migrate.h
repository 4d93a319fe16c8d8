/* SPDX-License-Identifier: GPL-2.0 */
/*
 * migrate.h - the parts of svmotion migrate and cold, between their files:
 * migrate-opts.c (the command line), plan.c (the plan, checks, destination
 * files, the table and the copy's pairs), migrate.c (the run: slots, start,
 * copy, switchover, finish), status.c (rollback, abort, status).
 */
#ifndef SVM_MIGRATE_H
#define SVM_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "svmotion.h"

#define REGION_SECTORS	8192		/* 4 MiB regions in the svmotion table */
#define SPLIT_ALIGN	(1ULL << 20)	/* split sizes are rounded to 1 MiB */
#define HOST_MAX	2		/* vSphere: 2 Storage vMotions per host */
#define DS_MAX		8		/* ... and 8 per datastore */

/* migrate-opts.c */
void usage_migrate(FILE *f, bool cold);
/* the mover's format for --format F ("same" when F is NULL) */
enum svm_copy_format fmt_for(const char *f, bool sparse, bool hot);
/* options and disks (at most 64): 0 or an exit status (message printed) */
int collect(int argc, char **argv, struct opts *o, bool cold,
	    const char **disks, size_t *nd);
/* every --place names a disk of jobs[0, nd): 0, else -1 (message printed) */
int check_places(const struct opts *o, const struct job *jobs, size_t nd);
/* the datastores of disk j: its --place, else --to */
const char *ds_spec(const struct opts *o, const struct job *j);

/* plan.c */
int parse_ds_list(const char *spec, struct ds_part *ds, size_t *n, bool cold);
const char *format_name(const char *f);
/* j's destination extents over its datastores, checked: 0 or -1 (printed) */
int plan(struct job *j, const struct opts *o);
/* checks across the jobs of one command: 0 or -1 (message printed) */
int check_jobs(struct job *jobs, size_t n);
/* create j's destination files: 0 or -1 (message printed, none left) */
int create_dst(struct job *j, const struct opts *o);
/* remove the destination files a migration created */
void remove_created(struct svm_ext *d, size_t n);
/* j's dm-svmotion table, one segment per source/destination piece (malloc'd;
 * NULL: out of memory) */
char *job_svm_table(const struct job *j);
/* j's copy pairs over files (cold) or devices: 0 or -ENOMEM */
int job_pairs(const struct job *j, bool files, struct svm_extent_pair **pairs,
	      size_t *np);

/* via.c */
const char *via_name(enum via_mode m);
/*
 * Live: the mover's way to j's extents by o->via (auto measures), with the
 * reason in j->via_why; j->src_via/dst_via set when it is the direct way.
 * 0, or -1 (message printed: --via direct with no other way).
 */
int via_choose(struct job *j, const struct opts *o);
void via_free(struct job *j);
/*
 * After the live copy of a job whose way the copy tried (j->via_trial):
 * the outcome (res->trial) into j's via fields and reason; the URLs freed
 * if the kernel's way was kept.
 */
void via_settle(struct job *j, const struct svm_copy_result *res);
/*
 * --via direct that cannot be: nothing on NFS or iSCSI, or a local
 * destination and no source reachable but through the kernel (a loop device
 * without direct I/O, at an offset): -1 (printed), before any change.
 */
int via_precheck(const struct job *j, const struct opts *o);

#endif
