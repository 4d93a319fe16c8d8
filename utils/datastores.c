// SPDX-License-Identifier: GPL-2.0
/*
 * datastores.c - svmotion datastores [--json] [DATASTORE...]: what each
 * datastore is (lib/svm-ds: a local filesystem, an NFS mount, a block
 * device, an iSCSI LUN), its capacity, free space, block size, the offloads
 * it offers, the migrations running on it against its limit and the
 * attached disks with extents on it. Without DATASTORE: every datastore an
 * attached disk (or its migration's destination) has extents on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "migrate.h"
#include "svm-ds.h"
#include "svm-ep.h"
#include "svmotion.h"

#define MAX_LIST	256
#define MAX_DISKS	64

struct dsent {
	char *name;			/* as given, or derived from an extent */
	struct svm_ds_info info;
	int ret;			/* the probe's */
	char err[600];
	char disk[MAX_DISKS][SVM_NAME_MAX + 1];	/* attached disks on it */
	const char *role[MAX_DISKS];	/* "source", "destination" */
	size_t nd;
	int slots;			/* migrations holding a slot, or -1 */
};

static void usage_datastores(FILE *f)
{
	fprintf(f,
		"usage: %s datastores [--json] [DATASTORE...]\n"
		"\n"
		"What each datastore is, before choosing a destination: a local\n"
		"filesystem (its type and device), a kernel NFS mount (server:/export,\n"
		"version, hard or soft), a block device or an iSCSI LUN (target IQN,\n"
		"portal, LUN, from sysfs); its capacity, free space and block size; the\n"
		"offloads it offers:\n"
		"  reflink   clones within the filesystem (FICLONERANGE), tried on an\n"
		"            unnamed O_TMPFILE file that vanishes on close\n"
		"  punch     hole punching (thin destinations), tried the same way\n"
		"  nfs-copy  NFSv4.2 server-side COPY (copy_file_range on the mount), as\n"
		"            the protocol offers it; the server may still refuse\n"
		"  unmap     discard (UNMAP/TRIM) on a block device\n"
		"  xcopy     SCSI EXTENDED COPY, with its segment limits (SG_IO)\n"
		"the migrations running on it against its limit (%d per datastore,\n"
		"counted on the datastore, so every host sharing it counts the same),\n"
		"and the attached disks with extents on it. Nothing is written.\n"
		"\n"
		"DATASTORE is a directory or a block device; without one, every\n"
		"datastore an attached disk or a running migration has extents on.\n"
		"A URL (nfs://, iscsi://) is for cold copies: the answer says how to\n"
		"mount it or log in to it for a live migration.\n"
		"\n"
		"  --json     one JSON array, an object per datastore\n",
		g_prog, DS_MAX);
}

/* Cut path (absolute) to its directory. */
static void to_dir(char *path)
{
	char *slash = strrchr(path, '/');

	if (slash == path)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
}

/* In a child: the resolved datastore of the extent file arg into out. */
static int ext_ds_child(void *arg, void *out)
{
	char *real = out;
	struct stat st;

	if (!realpath(arg, real) || stat(real, &st))
		return -errno;
	if (!S_ISBLK(st.st_mode))
		to_dir(real);
	return 0;
}

/*
 * The datastore an extent is on: a block device itself, a file's
 * directory. When its storage does not answer, the directory the state
 * recorded (the probe then says it does not answer).
 */
static char *ext_ds(const char *file)
{
	char real[PATH_MAX] = "";
	int ret;

	ret = bounded_fill(ext_ds_child, (void *)file, real, sizeof(real), BOUNDED_MS);
	if (ret == -ETIMEDOUT && file[0] == '/' && strlen(file) < sizeof(real)) {
		strcpy(real, file);
		to_dir(real);
	} else if (ret) {
		return NULL;
	}
	return strdup(real);
}

static bool listed(struct dsent *e, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(e[i].name, name))
			return true;
	return false;
}

/* Every datastore an attached disk has extents on (sources, destinations). */
static int from_disks(struct dsent *e, size_t *n)
{
	char **names;
	size_t nn, i, k;
	int ret = state_list(&names, &nn);

	if (ret)
		return ret;
	for (i = 0; i < nn; i++) {
		struct svm_state *st;

		if (state_load(names[i], &st))
			continue;
		for (k = 0; k < st->nr_src + (st->mig ? st->mig->nr_dst : 0); k++) {
			const struct svm_ext *x = k < st->nr_src ? &st->src[k] :
						  &st->mig->dst[k - st->nr_src];
			char *ds = ext_ds(x->file);

			if (ds && !listed(e, *n, ds) && *n < MAX_LIST)
				e[(*n)++].name = ds;
			else
				free(ds);
		}
		state_free(st);
	}
	for (i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return 0;
}

/* Whether file is on datastore ds (resolved): the device, or below the dir. */
static bool on_ds(const char *file, const struct svm_ds_info *ds)
{
	char real[PATH_MAX];
	size_t l = strlen(ds->path);

	if (!realpath(file, real))
		return false;
	if (ds->kind == SVM_DS_BLOCK)
		return !strcmp(real, ds->path);
	return !strncmp(real, ds->path, l) && real[l] == '/';
}

static void add_disk(struct dsent *e, const char *name, const char *role)
{
	size_t i;

	for (i = 0; i < e->nd; i++)
		if (!strcmp(e->disk[i], name) && !strcmp(e->role[i], role))
			return;
	if (e->nd == MAX_DISKS)
		return;
	snprintf(e->disk[e->nd], sizeof(e->disk[e->nd]), "%s", name);
	e->role[e->nd++] = role;
}

/* The attached disks with extents on each probed datastore. */
static void disks_on(struct dsent *e, size_t n)
{
	char **names;
	size_t nn, i, k, d;

	if (state_list(&names, &nn))
		return;
	for (i = 0; i < nn; i++) {
		struct svm_state *st;

		if (state_load(names[i], &st))
			continue;
		for (d = 0; d < n; d++) {
			if (e[d].ret)
				continue;
			for (k = 0; k < st->nr_src; k++)
				if (on_ds(st->src[k].file, &e[d].info))
					add_disk(&e[d], st->name, "source");
			for (k = 0; st->mig && k < st->mig->nr_dst; k++)
				if (on_ds(st->mig->dst[k].file, &e[d].info))
					add_disk(&e[d], st->name, "destination");
		}
		state_free(st);
	}
	for (i = 0; i < nn; i++)
		free(names[i]);
	free(names);
}

/* In a child (bounded_fill): out is the whole dsent array. */
static int disks_child(void *arg, void *out)
{
	disks_on(out, *(size_t *)arg);
	return 0;
}

/*
 * What e->name is, and the migrations on it, in a child: a hard NFS mount
 * whose server is gone, or a path that no longer answers, hangs statvfs,
 * the probes and the slot locks for as long as it is gone.
 */
static int probe_child(void *arg, void *out)
{
	struct dsent *e = out;

	(void)arg;
	e->ret = svm_ds_probe(e->name, &e->info, e->err, sizeof(e->err));
	if (!e->ret && e->info.kind != SVM_DS_BLOCK)
		e->slots = slots_in_use(e->info.path, DS_MAX);
	return 0;
}

static void probe_bounded(struct dsent *e)
{
	int ret = bounded_fill(probe_child, NULL, e, sizeof(*e), BOUNDED_MS);

	if (ret == -ETIMEDOUT) {
		e->ret = -ETIMEDOUT;
		snprintf(e->err, sizeof(e->err),
			 "%s: not answering within %d s (an NFS server gone or hung, a lost iSCSI path?)",
			 e->name, BOUNDED_MS / 1000);
	} else if (ret) {
		e->ret = ret;
		snprintf(e->err, sizeof(e->err), "%s: cannot probe: %s", e->name,
			 strerror(-ret));
	}
}

static json_object *entry_json(const struct dsent *e)
{
	const struct svm_ds_info *i = &e->info;
	json_object *o = json_object_new_object(), *off;
	char buf[600];
	unsigned int b;

	json_object_object_add(o, "datastore", json_object_new_string(e->name));
	if (e->ret) {
		json_object_object_add(o, "error", json_object_new_string(e->err));
		return o;
	}
	json_object_object_add(o, "path", json_object_new_string(i->path));
	json_object_object_add(o, "kind", json_object_new_string(svm_ds_kind_name(i->kind)));
	json_object_object_add(o, "description",
			       json_object_new_string(svm_ds_describe(i, buf, sizeof(buf))));
	if (i->kind != SVM_DS_BLOCK) {
		json_object_object_add(o, "fstype", json_object_new_string(i->mnt.fstype));
		json_object_object_add(o, "mountpoint", json_object_new_string(i->mnt.point));
		json_object_object_add(o, "source", json_object_new_string(i->mnt.source));
		json_object_object_add(o, "read_only", json_object_new_boolean(i->mnt.ro));
	}
	if (i->kind == SVM_DS_NFS) {
		json_object *n = json_object_new_object();

		json_object_object_add(n, "server", json_object_new_string(i->nfs.server));
		json_object_object_add(n, "export", json_object_new_string(i->nfs.export));
		json_object_object_add(n, "version", json_object_new_string(i->nfs.vers));
		json_object_object_add(n, "addr", json_object_new_string(i->nfs.addr));
		json_object_object_add(n, "rsize", json_object_new_int64(i->nfs.rsize));
		json_object_object_add(n, "wsize", json_object_new_int64(i->nfs.wsize));
		json_object_object_add(n, "hard", json_object_new_boolean(!i->nfs.soft));
		json_object_object_add(o, "nfs", n);
	}
	if (i->has_dev) {
		snprintf(buf, sizeof(buf), "/dev/%s", i->dev);
		json_object_object_add(o, "device", json_object_new_string(buf));
	}
	if (i->is_iscsi) {
		json_object *s = json_object_new_object();

		json_object_object_add(s, "target", json_object_new_string(i->iscsi.iqn));
		json_object_object_add(s, "portal", json_object_new_string(i->iscsi.portal));
		json_object_object_add(s, "lun", json_object_new_int64(i->iscsi.lun));
		json_object_object_add(s, "session", json_object_new_int64(i->iscsi.session));
		json_object_object_add(o, "iscsi", s);
	}
	json_object_object_add(o, "capacity", json_object_new_int64((int64_t)i->total));
	json_object_object_add(o, "free", json_object_new_int64((int64_t)i->avail));
	json_object_object_add(o, "block_size", json_object_new_int64(i->block_size));
	off = json_object_new_array();
	for (b = 1; b <= SVM_DS_OFF_XCOPY; b <<= 1)
		if (i->offloads & b)
			json_object_array_add(off, json_object_new_string(
				svm_ds_offload_names(b, buf, sizeof(buf))));
	json_object_object_add(o, "offloads", off);
	json_object_object_add(o, "offloads_probed", json_object_new_boolean(i->offloads_probed));
	if (i->offloads & SVM_DS_OFF_XCOPY) {
		json_object *x = json_object_new_object();

		json_object_object_add(x, "max_segment_descriptors",
				       json_object_new_int64(i->xcopy.max_segment_desc));
		json_object_object_add(x, "max_segment_bytes",
				       json_object_new_int64(i->xcopy.max_segment_len));
		json_object_object_add(x, "max_target_descriptors",
				       json_object_new_int64(i->xcopy.max_target_desc));
		json_object_object_add(o, "xcopy", x);
	} else if (i->kind == SVM_DS_BLOCK && i->xcopy_why[0]) {
		json_object_object_add(o, "xcopy_unavailable", json_object_new_string(i->xcopy_why));
	}
	if (e->slots >= 0) {
		json_object_object_add(o, "migrations", json_object_new_int(e->slots));
		json_object_object_add(o, "migration_limit", json_object_new_int(DS_MAX));
	}
	off = json_object_new_array();
	for (b = 0; b < e->nd; b++) {
		json_object *d = json_object_new_object();

		json_object_object_add(d, "disk", json_object_new_string(e->disk[b]));
		json_object_object_add(d, "role", json_object_new_string(e->role[b]));
		json_object_array_add(off, d);
	}
	json_object_object_add(o, "disks", off);
	return o;
}

static void entry_print(const struct dsent *e)
{
	const struct svm_ds_info *i = &e->info;
	char d[600], a[32], b[32], off[128];
	size_t k;

	if (e->ret) {
		printf("%s: %s\n\n", e->name, e->err);
		return;
	}
	printf("%s: %s\n", e->name, svm_ds_describe(i, d, sizeof(d)));
	if (strcmp(e->name, i->path))
		printf("  path        %s\n", i->path);
	if (i->kind != SVM_DS_BLOCK)
		printf("  mount       %s %s on %s%s\n", i->mnt.fstype, i->mnt.source,
		       i->mnt.point, i->mnt.ro ? " (read-only)" : "");
	if (i->kind == SVM_DS_BLOCK)
		printf("  capacity    %s, block size %u\n",
		       fmt_size(i->total, a, sizeof(a)), i->block_size);
	else
		printf("  capacity    %s, %s free, block size %u\n",
		       fmt_size(i->total, a, sizeof(a)), fmt_size(i->avail, b, sizeof(b)),
		       i->block_size);
	svm_ds_offload_names(i->offloads, off, sizeof(off));
	printf("  offloads    %s%s%s%s\n", off[0] ? off : "none",
	       i->kind == SVM_DS_NFS ? " (what NFS v" : "",
	       i->kind == SVM_DS_NFS ? i->nfs.vers : "",
	       i->kind == SVM_DS_NFS ? " offers; the server may refuse)" :
	       !i->offloads_probed && i->kind == SVM_DS_DIR ? " (not probed: read-only or no O_TMPFILE)" : "");
	if (i->offloads & SVM_DS_OFF_XCOPY)
		printf("  xcopy       up to %u segments of %u bytes, %u targets\n",
		       i->xcopy.max_segment_desc, i->xcopy.max_segment_len,
		       i->xcopy.max_target_desc);
	else if (i->kind == SVM_DS_BLOCK && i->xcopy_why[0])
		printf("  xcopy       no: %s\n", i->xcopy_why);
	if (e->slots >= 0)
		printf("  migrations  %d of %d\n", e->slots, DS_MAX);
	printf("  disks       ");
	for (k = 0; k < e->nd; k++)
		printf("%s%s (%s)", k ? ", " : "", e->disk[k], e->role[k]);
	printf("%s\n\n", e->nd ? "" : "none attached");
}

int cmd_datastores(int argc, char **argv)
{
	struct dsent *e = calloc(MAX_LIST, sizeof(*e));
	json_object *arr;
	size_t n = 0, i;
	int a, rc = EX_OK;

	if (!e) {
		msg("out of memory");
		return EX_FAILED;
	}
	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--json")) {
			g_json = true;
		} else if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help")) {
			usage_datastores(stdout);
			free(e);
			return EX_OK;
		} else if (!strcmp(argv[a], "--")) {
			a++;
			break;
		} else if (argv[a][0] == '-' && argv[a][1]) {
			msg("datastores: unknown option %s", argv[a]);
			usage_datastores(stderr);
			free(e);
			return EX_USAGE;
		} else {
			break;
		}
	}
	for (; a < argc; a++) {
		if (n == MAX_LIST) {
			msg("at most %d datastores per command", MAX_LIST);
			rc = EX_USAGE;
			goto out;
		}
		e[n++].name = strdup(argv[a]);
	}
	if (!n && from_disks(e, &n) == 0 && !n && !g_json) {
		info("no attached disk has extents anywhere yet; name a datastore: %s datastores DIR|DEVICE",
		     g_prog);
	}
	for (i = 0; i < n; i++) {
		e[i].slots = -1;
		if (!e[i].name) {
			msg("out of memory");
			rc = EX_FAILED;
			goto out;
		}
		if (svm_ep_is_url(e[i].name)) {
			e[i].ret = -EOPNOTSUPP;
			remote_live_words(e[i].name, e[i].err, sizeof(e[i].err));
			rc = EX_FAILED;
			continue;
		}
		probe_bounded(&e[i]);
		if (e[i].ret)
			rc = EX_FAILED;
	}
	if (bounded_fill(disks_child, &n, e, n * sizeof(*e), BOUNDED_MS) == -ETIMEDOUT)
		msg("the disks on each datastore are not shown: a disk's extent is on storage that does not answer within %d s",
		    BOUNDED_MS / 1000);
	if (g_json) {
		arr = json_object_new_array();
		for (i = 0; i < n; i++)
			json_object_array_add(arr, entry_json(&e[i]));
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
		json_object_put(arr);
	} else {
		for (i = 0; i < n; i++)
			entry_print(&e[i]);
	}
out:
	for (i = 0; i < n; i++)
		free(e[i].name);
	free(e);
	return rc;
}
