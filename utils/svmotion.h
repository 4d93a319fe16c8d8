/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svmotion.h - the svmotion command's parts (utils/ (one file per part)).
 *
 *   svmotion.c  main, global options, help, exit codes, messages
 *   state.c     svmotion's own state: one JSON file per attached disk in the
 *               state directory, written atomically; per-disk locks
 *   attach.c    attach/detach/list: loop devices and the dm-linear table
 *   migrate.c   migrate and cold, the run: slots, the svmotion table
 *               loaded, the mover, the switchover, the finish (migrate.h
 *               joins it with the next three)
 *   migrate-opts.c  migrate and cold's command line: --help, options, disks
 *   plan.c      the plan: datastores, destination extents, checks,
 *               destination files, the table's segments and copy pairs
 *   status.c    rollback, abort, status
 *   datastores.c  svmotion datastores: what each datastore is (lib/svm-ds)
 *   bounded.c   operations on storage that may hang, run with a bound
 *   handoff.c   pausing the hypervisor: none, qmp:SOCKET, exec:COMMAND
 *   slots.c     concurrency limits: per host and per datastore
 *   remote.c    cold copies with URLs (nfs://, iscsi://): datastore and
 *               disk URLs, their checks, remote files and descriptors
 */
#ifndef SVMOTION_H
#define SVMOTION_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
	bool made;		/* cold: this command made the file (not saved) */
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

#define MAX_DS		16

enum ds_kind {
	DS_DIR = 0,		/* a local directory (or an NFS mount) */
	DS_BLK,			/* a local block device */
	DS_NFS,			/* nfs://SERVER/EXPORT/DIR: a directory over libnfs */
	DS_LUN,			/* iscsi://PORTAL/IQN/LUN over libiscsi */
};

/* A datastore and how much of a disk goes there (0: its share of the rest). */
struct ds_part {
	char *path;		/* directory, device or URL, without :SIZE */
	uint64_t size;
	bool blk;		/* a device or a LUN: used from offset 0 */
	enum ds_kind kind;
	uint64_t avail;		/* DS_NFS: free bytes seen by the checks,
				 * UINT64_MAX: unknown */
	char what[320];		/* DS_DIR, DS_BLK: what it is (svm-ds), for
				 * messages: "NFS srv:/ds2 (v4.2, hard)" */
};

struct svm_disk;

struct job {
	const char *arg;		/* DISK as given */
	struct svm_state *st;		/* hot: the attached disk */
	struct svm_disk *disk;		/* the parsed disk (descriptor to rewrite);
					 * NULL for a raw disk given as a URL */
	int lockfd;
	struct ds_part ds[MAX_DS];
	size_t nds;
	struct svm_ext *dst;		/* destination extents (files / devices) */
	size_t nr_dst;
	struct svm_ext *src;		/* source extents (st->src, or the disk's) */
	size_t nr_src;
	uint64_t size;
	char name[SVM_NAME_MAX + 1];
	enum svm_copy_format fmt;	/* what the mover is asked for */
	bool sparse_src;
	char *new_path;			/* the disk's path after the move */
	bool switched;
	uint64_t need[MAX_DS];		/* bytes each destination needs */
	/* what the mover did (after the copy): bytes per backend, offloaded */
	uint64_t by_backend[SVM_BACKEND_COUNT];
	uint64_t copied, skipped, offloaded;
	/* cold */
	char *raw_name;			/* a raw source's file name, for its copy */
	bool remote;			/* a URL among the disk and datastores */
	bool replace[MAX_DS];		/* --force: an existing file replaced */
	bool copying;			/* the mover has begun writing */
	char *src_text;			/* remote: the source descriptor's text */
	size_t src_len;
	char *desc_out;			/* remote: the descriptor to write, or NULL */
	bool desc_replace, desc_made;
	int dst_timeout_ms;		/* the table's; -1: the target's default */
	/* live: the mover's own way to each extent (via.c), NULL: the kernel's */
	char **src_via, **dst_via;
	bool via_direct;		/* the direct way was chosen */
	bool via_trial;			/* auto: the copy tries both ways */
	bool via_tried;			/* ... and did: via_phases, via_bytes */
	unsigned int via_phases;
	int via_given_up;		/* the way the trial gave up, or -1 */
	bool via_offload_kept;		/* the kernel's way offloaded: kept */
	uint64_t via_phase_bytes;
	uint64_t via_bytes[2];		/* copied each way: kernel, direct */
	char via_why[1200];		/* why, in words */
	double via_rate[2];		/* measured bytes/s: kernel, direct */
	uint64_t via_sample;		/* bytes sampled (both ways) */
	bool via_offloaded;		/* the kernel's sample was offloaded */
};

/* migrate --via: how the mover reaches each end (via.c) */
enum via_mode { VIA_AUTO, VIA_KERNEL, VIA_DIRECT };

struct opts {
	const char *to;
	const char *place[64];
	size_t nplace;
	const char *format;
	enum svm_copy_mode mover;
	uint64_t rate;
	const char *handoff;
	bool delete_source;
	bool no_wait;
	int progress;		/* -1 default (bar on a terminal), 0 none, 1 lines, 2 bar */
	bool force;		/* cold: overwrite destinations holding data */
	int timeout_ms;		/* cold: remote connect and request bound, 0 default */
	int dst_timeout_ms;	/* live: the target's bound; -1 its default */
	enum via_mode via;	/* live: the mover's way to the storage */
	bool via_given;
};

int cmd_migrate(int argc, char **argv);
int cmd_cold(int argc, char **argv);
int cmd_abort(int argc, char **argv);
int cmd_status(int argc, char **argv);

/* ---- bounded.c -------------------------------------------------------------- */

/* How long an operation on a datastore may take in abort and rollback. */
#define BOUNDED_MS	10000

/*
 * fn(arg) in a child process, waited for at most timeout_ms: its result
 * (0 or -errno), or -ETIMEDOUT (the child is left to finish).
 */
int bounded_run(int (*fn)(void *), void *arg, int timeout_ms);
/*
 * fn(arg, out) in a child process that fills out (len bytes, starting from
 * its current content) for the parent, waited for at most timeout_ms. out
 * is updated unless the result is -ETIMEDOUT; fn returns 0 or -errno.
 */
int bounded_fill(int (*fn)(void *arg, void *out), void *arg, void *out,
		 size_t len, int timeout_ms);
/* unlink(path), bounded (BOUNDED_MS); says what it left on a timeout */
int bounded_unlink(const char *path);

/* ---- datastores.c --------------------------------------------------------- */

int cmd_datastores(int argc, char **argv);
/* Roll disk st back to linear(source), remove destinations; 0 or -errno. */
int rollback(struct svm_state *st, char *err, size_t errlen);

/* ---- remote.c ----------------------------------------------------------- */

/*
 * In a --to token DS[:SIZE], the ':' that begins SIZE, or NULL. A path:
 * its last ':'. A URL: its last ':' after the host and port, when what
 * follows holds no '/' and is empty or begins with a digit (SIZE comes
 * last, after a ?version=).
 */
char *ds_size_colon(char *tok);
/*
 * A URL datastore: its kind and syntax (ds->path as given). 0, -EINVAL a
 * malformed URL (usage), -EPERM refused (migrate: not mounted); message
 * printed.
 */
int remote_ds_parse(struct ds_part *ds, bool cold);
/*
 * migrate: a URL datastore in --to or --place refused with the mount or
 * login that would do: 0 none, -1 refused, -2 a malformed URL (usage).
 */
int remote_refuse_live(const struct opts *o);
/*
 * Why URL datastore tok cannot take a live migration, and the mount or
 * iscsiadm login that would make it usable, into buf. NULL (buf: the
 * reason) when tok is not a valid URL.
 */
const char *remote_live_words(const char *tok, char *buf, size_t len);
/* "scheme://...": the URL without a password, for messages. */
const char *url_show(const char *spec, char *buf, size_t len);
/*
 * cold: open a disk given as a URL (raw NFS file, NFS descriptor, LUN), or
 * check the URL extents of a local descriptor (j->disk parsed already):
 * 0, -1 refused, -2 usage (malformed URL); message printed.
 */
int remote_open_disk(struct job *j, const struct opts *o);
int remote_check_extents(struct job *j, const struct opts *o);
/* A destination in DS ds named fname (a file name, not escaped). */
int ds_join(const struct ds_part *ds, const char *fname, char *out, size_t len);
/* cold: check destination k of j (remote kinds; a device's first MiB). */
int remote_check_dst(struct job *j, size_t k, const struct opts *o);
/* cold, with j->remote: where the descriptor goes, checked. */
int remote_plan_desc(struct job *j, const struct opts *o);
/* Create remote destination k (NFS), replacing it with --force. */
int remote_create(struct job *j, size_t k, const struct opts *o);
/* Remove the file spec names (a path or an NFS URL): 0 or -errno. */
int remote_remove(const char *spec, int timeout_ms, char *err, size_t errlen);
/* cold, with j->remote: write the descriptor, set j->new_path. */
int remote_finish(struct job *j, const struct opts *o);
/* cold, with j->remote: --delete-source. */
void remote_delete_source(struct job *j, const struct opts *o);
/*
 * cold failed or was refused: remove what the command made (files,
 * remote files, descriptors) and zero the first MiB of the devices and
 * LUNs it began writing. Returns how many devices were zeroed.
 */
int cold_undo(struct job *jobs, size_t n, const struct opts *o);
/* Help: the URL forms (cold), the notes at the end of cold's and migrate's. */
void remote_usage(FILE *f);
extern const char remote_usage_note[], remote_usage_live[];

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
/* How many of ds's max slots are held now (by any host), read-only. */
int slots_in_use(const char *ds, unsigned int max);

#endif /* SVMOTION_H */
