/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svmotion.h - the svmotion command's parts (utils/ (one file per part)).
 *
 *   svmotion.c  main, global options, help, exit codes, messages
 *   state.c     svmotion's own state: one JSON file per attached disk in the
 *               state directory, written atomically; per-disk locks
 *   attach.c    attach/detach/list: loop devices and the dm-linear table
 *   migrate.c   migrate, cold, abort, status: plan, checks, the svmotion
 *               table, the mover, the switchover, rollback
 *   handoff.c   pausing the hypervisor: none, qmp:SOCKET, exec:COMMAND
 *   slots.c     concurrency limits: per host and per datastore
 */
#ifndef SVMOTION_H
#define SVMOTION_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "svm-copy.h"

/* Exit codes (svmotion(8), EXIT STATUS). */
enum {
	EX_OK = 0,
	EX_FAILED = 1,		/* failed; rolled back to the source */
	EX_USAGE = 2,		/* bad command line */
	EX_REFUSED = 3,		/* refused by the checks: nothing changed */
	EX_ABORTED = 4,		/* aborted (svmotion abort, a signal): rolled back */
	EX_STUCK = 5,		/* failed and could not roll back: see the message,
				 * run svmotion abort */
	EX_RESUME = 6,		/* switched over, but the hypervisor did not
				 * resume: resume it by hand */
};

#define SVM_NAME_MAX 64
#define SVM_MAX_EXT 1024

/* Global options. */
extern const char *g_prog;
extern const char *g_state_dir;
extern bool g_json;

/* Messages: "svmotion: <fmt>" on stderr (or a JSON error event). */
__attribute__((format(printf, 1, 2))) void msg(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void info(const char *fmt, ...);
/* Sizes: "4G", "512M", "1048576"; 0 or -1. */
int parse_size(const char *s, uint64_t *out);
/* "1.5 GiB" */
const char *fmt_size(uint64_t b, char *buf, size_t len);
double now_s(void);

/* ---- state.c ------------------------------------------------------------ */

/* One extent of a disk as the dm table maps it. */
struct svm_ext {
	char *file;		/* file or block device */
	char *dev;		/* block device mapped (loop device of file) */
	uint64_t offset;	/* bytes into file */
	uint64_t length;	/* bytes */
	bool created;		/* svmotion created file (a destination) */
	bool loop;		/* dev is a loop device svmotion set up */
};

struct svm_mig {
	char *phase;		/* "copying", "switching", "switched" */
	int pid;		/* migrate process */
	double started;		/* unix time */
	char *format, *mover;
	size_t nr_dst;
	struct svm_ext *dst;
	uint64_t bytes_done, bytes_total;
	double rate;		/* bytes/s, from the mover */
};

struct svm_state {
	char name[SVM_NAME_MAX + 1];
	char *disk;		/* descriptor or raw image as attached (absolute) */
	bool raw;		/* no descriptor */
	char *dm;		/* dm device name: svm-<name> */
	uint64_t size;
	size_t nr_src;
	struct svm_ext *src;
	struct svm_mig *mig;	/* a migration in progress, or NULL */
};

int state_dir_ensure(void);
/* Path of a file in the state dir: "<dir>/<name><suffix>". */
void state_path(char *buf, size_t len, const char *name, const char *suffix);
int state_load(const char *name, struct svm_state **out);	/* -ENOENT */
int state_save(const struct svm_state *st);
int state_remove(const char *name);
void state_free(struct svm_state *st);
/* All attached disks' names (free the array and strings). */
int state_list(char ***names, size_t *n);
/* Find a disk by name, /dev/mapper/svm-<name> or disk path; -ENOENT. */
int state_find(const char *arg, struct svm_state **out);
/*
 * The per-disk operation lock (an OFD lock on <name>.lock): held by migrate
 * for its whole run. Returns an fd (keep it open) or -EBUSY if held.
 */
int state_lock(const char *name, bool wait);
void svm_ext_free(struct svm_ext *e, size_t n);
/* Name for a disk path: basename without .vmdk/.img/.raw, [A-Za-z0-9._+-]. */
int disk_name(const char *path, char *out, size_t len);

/* ---- attach.c ----------------------------------------------------------- */

/* Loop device over file (direct I/O when the filesystem allows). */
int loop_attach(const char *file, bool direct, char *dev, size_t len,
		bool *got_direct);
int loop_detach(const char *dev);
/* Map extents to block devices: loop devices for files (one per file). */
int map_extents(struct svm_ext *e, size_t n);
/* Detach the loop devices of extents e (each once). */
void detach_extents(struct svm_ext *e, size_t n);
/* The dm-linear table of n extents. */
char *linear_table(const struct svm_ext *e, size_t n);
/* Logical block size of a block device, or 512. */
unsigned int blk_lbs(const char *dev);

int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_list(int argc, char **argv);

/* ---- migrate.c ---------------------------------------------------------- */

int cmd_migrate(int argc, char **argv);
int cmd_cold(int argc, char **argv);
int cmd_abort(int argc, char **argv);
int cmd_status(int argc, char **argv);
/* Roll disk st back to linear(source), remove destinations; 0 or -errno. */
int rollback(struct svm_state *st, char *err, size_t errlen);

/* ---- handoff.c ---------------------------------------------------------- */

struct handoff;
/* "none", "qmp:SOCKET", "exec:COMMAND"; connects qmp now. */
int handoff_open(const char *spec, struct handoff **out, char *err,
		 size_t errlen);
int handoff_pause(struct handoff *h, char *err, size_t errlen);
int handoff_resume(struct handoff *h, char *err, size_t errlen);
void handoff_close(struct handoff *h);

/* ---- slots.c ------------------------------------------------------------ */

struct slots;
/*
 * Take a host slot (limit host_max) and one slot on each datastore
 * directory (limit ds_max, kept in <ds>/.svmotion/ so every host sharing it
 * counts), waiting in line and saying so unless no_wait (then -EBUSY);
 * -ECANCELED as soon as *stop is set while waiting.
 */
int slots_take(const char *const *ds, size_t n, unsigned int host_max,
	       unsigned int ds_max, bool no_wait, volatile sig_atomic_t *stop,
	       struct slots **out, char *err, size_t errlen);
void slots_release(struct slots *s);

#endif /* SVMOTION_H */
