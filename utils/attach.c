// SPDX-License-Identifier: GPL-2.0
/*
 * attach.c - svmotion attach/detach/list: a disk's extents become a
 * dm-linear device /dev/mapper/svm-<name> (loop devices with direct I/O
 * for files), the device the hypervisor opens.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "svm-dm.h"
#include "svm-vmdk.h"
#include "svmotion.h"

unsigned int blk_lbs(const char *dev)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC), lbs = 512;

	if (fd >= 0) {
		if (ioctl(fd, BLKSSZGET, &lbs) || lbs <= 0)
			lbs = 512;
		close(fd);
	}
	return lbs;
}

/* Whether an aligned O_DIRECT read of file succeeds. */
static bool dio_works(const char *file)
{
	void *buf = NULL;
	bool ok = false;
	int fd;

	fd = open(file, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (!posix_memalign(&buf, 4096, 4096))
		ok = pread(fd, buf, 4096, 0) >= 0;
	free(buf);
	close(fd);
	return ok;
}

int loop_attach(const char *file, bool direct, char *dev, size_t len,
		bool *got_direct)
{
	struct loop_config cfg;
	int ctl, fd, lfd, nr, tries, ret = -EBUSY;

	*got_direct = false;
	fd = open(file, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/*
	 * Ask for direct I/O only where a direct read of the file works: the
	 * loop driver trusts the filesystem's direct_IO hook, and overlayfs
	 * over tmpfs has one while tmpfs refuses O_DIRECT (every read of the
	 * loop device would then fail with EIO).
	 */
	if (direct && !dio_works(file))
		direct = false;
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	for (tries = 0; tries < 16 && ret == -EBUSY; tries++) {
		nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0) {
			ret = -errno;
			break;
		}
		snprintf(dev, len, "/dev/loop%d", nr);
		lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0) {
			ret = -errno;
			break;
		}
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = fd;
		cfg.info.lo_flags = direct ? LO_FLAGS_DIRECT_IO : 0;
		ret = ioctl(lfd, LOOP_CONFIGURE, &cfg) ? -errno : 0;
		if (ret == -EINVAL && direct) {
			/* no O_DIRECT on this filesystem (tmpfs): buffered */
			cfg.info.lo_flags = 0;
			ret = ioctl(lfd, LOOP_CONFIGURE, &cfg) ? -errno : 0;
		} else if (!ret && direct) {
			*got_direct = true;
		}
		close(lfd);
	}
	close(ctl);
	close(fd);
	return ret;
}

int loop_detach(const char *dev)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC), ret = 0, i;

	if (fd < 0)
		return -errno;
	for (i = 0; i < 50; i++) {
		ret = ioctl(fd, LOOP_CLR_FD, 0) ? -errno : 0;
		if (ret != -EBUSY)
			break;
		usleep(20000);
	}
	close(fd);
	return ret == -ENXIO ? 0 : ret;
}

char *linear_table(const struct svm_ext *e, size_t n)
{
	size_t cap = 256 * (n + 1), used = 0, i;
	uint64_t start = 0;
	char *t = malloc(cap);

	if (!t)
		return NULL;
	t[0] = 0;
	for (i = 0; i < n; i++) {
		used += snprintf(t + used, cap - used, "%s%llu %llu linear %s %llu",
				 i ? "\n" : "", (unsigned long long)start,
				 (unsigned long long)(e[i].length / 512), e[i].dev,
				 (unsigned long long)(e[i].offset / 512));
		start += e[i].length / 512;
	}
	return t;
}

static void usage_attach(FILE *f)
{
	fprintf(f,
		"usage: svmotion attach DISK [--name NAME]\n"
		"\n"
		"Expose DISK as /dev/mapper/svm-NAME, the device the hypervisor opens, e.g.\n"
		"  qemu-system-x86_64 ... -drive file=/dev/mapper/svm-NAME,format=raw,cache=none,aio=native\n"
		"\n"
		"DISK is a VMDK descriptor with FLAT extents (monolithicFlat, or several\n"
		"'RW <sectors> FLAT \"<file>\" <offset>' lines), a raw image file or a block\n"
		"device. Files get a loop device with direct I/O (without, on filesystems\n"
		"that lack O_DIRECT such as tmpfs); the device maps the extents end to end\n"
		"with dm-linear.\n"
		"\n"
		"  --name NAME  the device name (default: DISK's base name without\n"
		"               .vmdk/.img/.raw)\n"
		"\n"
		"Exit status: 0 attached, 3 refused (malformed disk, already attached, name\n"
		"taken), 1 failed (nothing left behind).\n");
}

/* Undo a partial attach: loops set up so far. */
static int loop_detach_fn(void *dev)
{
	return loop_detach(dev);
}

static void undo_loops(struct svm_ext *e, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		bool first = true;

		if (!e[i].loop || !e[i].dev)
			continue;
		for (j = 0; j < i; j++)
			if (e[j].dev && !strcmp(e[j].dev, e[i].dev))
				first = false;
		if (first && bounded_run(loop_detach_fn, e[i].dev, BOUNDED_MS) == -ETIMEDOUT)
			msg("loop device %s (over %s) not detached: its storage does not answer within %d s; detach it with losetup -d %s once it is back",
			    e[i].dev, e[i].file, BOUNDED_MS / 1000, e[i].dev);
	}
}

/*
 * Map extents ext[0..n) (files get loop devices; two extents of one file
 * share one) into e[].dev. 0 or -errno (undone).
 */
int map_extents(struct svm_ext *e, size_t n)
{
	size_t i, j;
	int ret;

	for (i = 0; i < n; i++) {
		struct stat sb;
		char dev[64];
		bool direct;

		if (stat(e[i].file, &sb)) {
			ret = -errno;
			msg("%s: %s", e[i].file, strerror(errno));
			undo_loops(e, i);
			return ret;
		}
		if (S_ISBLK(sb.st_mode)) {
			e[i].dev = strdup(e[i].file);
			e[i].loop = false;
			continue;
		}
		for (j = 0; j < i; j++)
			if (e[j].loop && !strcmp(e[j].file, e[i].file))
				break;
		if (j < i) {
			e[i].dev = strdup(e[j].dev);
			e[i].loop = true;
			continue;
		}
		ret = loop_attach(e[i].file, true, dev, sizeof(dev), &direct);
		if (ret) {
			msg("loop device for %s: %s", e[i].file, strerror(-ret));
			undo_loops(e, i);
			return ret;
		}
		e[i].dev = strdup(dev);
		e[i].loop = true;
	}
	return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode))
		return a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* An extent of d overlapping one of an attached disk (or its migration)? */
static bool extents_in_use(const struct svm_disk *d)
{
	char **names;
	size_t n, i, k, e;
	bool busy = false;

	if (state_list(&names, &n))
		return false;
	for (i = 0; i < n; i++) {
		struct svm_state *st;

		if (!busy && !state_load(names[i], &st)) {
			for (k = 0; k < d->nr_extents && !busy; k++) {
				const struct svm_disk_extent *x = &d->extents[k];
				struct stat a, b;

				if (stat(x->file, &a))
					continue;
				for (e = 0; e < st->nr_src + (st->mig ? st->mig->nr_dst : 0) && !busy; e++) {
					const struct svm_ext *y = e < st->nr_src ? &st->src[e] :
								  &st->mig->dst[e - st->nr_src];

					if (stat(y->file, &b) || !same_file(&a, &b))
						continue;
					if (x->offset < y->offset + y->length &&
					    y->offset < x->offset + x->length) {
						msg("%s: extent %s [%llu, +%llu) is in use by the attached disk %s",
						    d->path, x->file,
						    (unsigned long long)x->offset,
						    (unsigned long long)x->length, st->name);
						busy = true;
					}
				}
			}
			state_free(st);
		}
		free(names[i]);
	}
	free(names);
	return busy;
}

int cmd_attach(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct svm_state *st = NULL, *other = NULL;
	struct svm_disk *d = NULL;
	char err[512], real[PATH_MAX], *table = NULL;
	const char *name = NULL;
	struct svm_dm_info dmi;
	int o, ret, rc = EX_FAILED;
	size_t i;

	optind = 1;
	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (o) {
		case 'n':
			name = optarg;
			break;
		case 'h':
			usage_attach(stdout);
			return EX_OK;
		default:
			usage_attach(stderr);
			return EX_USAGE;
		}
	}
	if (optind + 1 != argc) {
		usage_attach(stderr);
		return EX_USAGE;
	}
	if (state_dir_ensure())
		return EX_FAILED;
	ret = svm_disk_open(argv[optind], &d, err, sizeof(err));
	if (ret) {
		msg("cannot attach %s: %s", argv[optind], err);
		return EX_REFUSED;
	}
	if (!realpath(argv[optind], real)) {
		msg("%s: %s", argv[optind], strerror(errno));
		goto refused;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		goto out;
	if (name) {
		if (strlen(name) > SVM_NAME_MAX || !*name ||
		    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") != strlen(name) ||
		    name[0] == '.') {
			msg("name %s: use 1 to %d of [A-Za-z0-9._+-], not starting with '.'",
			    name, SVM_NAME_MAX);
			goto refused;
		}
		strcpy(st->name, name);
	} else if (disk_name(real, st->name, sizeof(st->name))) {
		msg("%s: no usable name in its file name: give --name", real);
		goto refused;
	}
	if (!state_find(real, &other)) {
		msg("%s is already attached as /dev/mapper/%s", real, other->dm);
		goto refused;
	}
	if (!state_load(st->name, &other)) {
		msg("the name %s is taken by %s: give --name", st->name, other->disk);
		goto refused;
	}
	if (extents_in_use(d))
		goto refused;
	st->disk = strdup(real);
	st->raw = !d->is_descriptor;
	if (asprintf(&st->dm, "svm-%s", st->name) < 0)
		goto out;
	if (!svm_dm_info(st->dm, &dmi, NULL, 0) && dmi.exists) {
		msg("/dev/mapper/%s exists already (not attached by svmotion)", st->dm);
		goto refused;
	}
	st->size = d->size;
	st->nr_src = d->nr_extents;
	st->src = calloc(d->nr_extents, sizeof(*st->src));
	if (!st->src)
		goto out;
	for (i = 0; i < d->nr_extents; i++) {
		st->src[i].file = strdup(d->extents[i].file);
		st->src[i].offset = d->extents[i].offset;
		st->src[i].length = d->extents[i].length;
	}
	if (map_extents(st->src, st->nr_src))
		goto out;
	table = linear_table(st->src, st->nr_src);
	ret = table ? svm_dm_create(st->dm, table, err, sizeof(err)) : -ENOMEM;
	if (ret) {
		msg("creating /dev/mapper/%s: %s", st->dm, err);
		undo_loops(st->src, st->nr_src);
		goto out;
	}
	if (state_save(st)) {
		svm_dm_remove(st->dm, NULL, 0);
		undo_loops(st->src, st->nr_src);
		goto out;
	}
	if (g_json)
		printf("{\"event\":\"attached\",\"disk\":\"%s\",\"device\":\"/dev/mapper/%s\",\"size\":%llu}\n",
		       st->name, st->dm, (unsigned long long)st->size);
	else
		printf("/dev/mapper/%s\n", st->dm);
	rc = EX_OK;
	goto out;
refused:
	rc = EX_REFUSED;
out:
	free(table);
	state_free(other);
	state_free(st);
	svm_disk_free(d);
	return rc;
}

static void usage_detach(FILE *f)
{
	fprintf(f,
		"usage: svmotion detach DISK\n"
		"\n"
		"Remove /dev/mapper/svm-NAME and its loop devices. DISK is the disk's name,\n"
		"its /dev/mapper path or its descriptor/image path. Refused while the device\n"
		"is open (the hypervisor still uses it) or a migration is in progress.\n"
		"Exit status: 0 detached, 3 refused, 1 failed.\n");
}

void detach_extents(struct svm_ext *e, size_t n)
{
	undo_loops(e, n);
}

int cmd_detach(int argc, char **argv)
{
	struct svm_state *st = NULL;
	struct svm_dm_info dmi;
	char err[512];
	int ret, lockfd;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage_detach(stdout);
		return EX_OK;
	}
	if (argc != 2 || argv[1][0] == '-') {
		usage_detach(stderr);
		return EX_USAGE;
	}
	ret = state_find(argv[1], &st);
	if (ret) {
		msg("%s is not attached", argv[1]);
		return EX_REFUSED;
	}
	lockfd = state_lock(st->name, false);
	if (lockfd < 0 || st->mig) {
		msg("%s: a migration is in progress: wait for it or run svmotion abort %s",
		    st->name, st->name);
		if (lockfd >= 0)
			close(lockfd);
		state_free(st);
		return EX_REFUSED;
	}
	if (!svm_dm_info(st->dm, &dmi, NULL, 0) && dmi.exists && dmi.open_count) {
		msg("/dev/mapper/%s is open (%d): stop the hypervisor's use of it first",
		    st->dm, dmi.open_count);
		close(lockfd);
		state_free(st);
		return EX_REFUSED;
	}
	ret = dmi.exists ? svm_dm_remove(st->dm, err, sizeof(err)) : 0;
	if (ret) {
		msg("removing /dev/mapper/%s: %s", st->dm, err);
		close(lockfd);
		state_free(st);
		return ret == -EBUSY ? EX_REFUSED : EX_FAILED;
	}
	undo_loops(st->src, st->nr_src);
	state_remove(st->name);
	close(lockfd);
	state_free(st);
	return EX_OK;
}

static void usage_list(FILE *f)
{
	fprintf(f,
		"usage: svmotion list [--json]\n"
		"\n"
		"Every attached disk: name, device, size, state (attached, or the phase of\n"
		"its migration) and disk path. --json: one JSON array.\n");
}

int cmd_list(int argc, char **argv)
{
	json_object *arr = json_object_new_array();
	char **names, sz[32];
	size_t n, i;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage_list(stdout);
		json_object_put(arr);
		return EX_OK;
	}
	if (argc == 2 && !strcmp(argv[1], "--json"))
		g_json = true;
	else if (argc != 1) {
		usage_list(stderr);
		json_object_put(arr);
		return EX_USAGE;
	}
	if (state_list(&names, &n)) {
		json_object_put(arr);
		return EX_FAILED;
	}
	if (!g_json)
		printf("%-20s %-28s %10s %-10s %s\n", "NAME", "DEVICE", "SIZE",
		       "STATE", "DISK");
	for (i = 0; i < n; i++) {
		struct svm_state *st;

		if (!state_load(names[i], &st)) {
			const char *state = st->mig ? st->mig->phase : "attached";

			if (g_json) {
				json_object *o = json_object_new_object();

				json_object_object_add(o, "name", json_object_new_string(st->name));
				json_object_object_add(o, "device", json_object_new_string(st->dm));
				json_object_object_add(o, "size", json_object_new_int64(st->size));
				json_object_object_add(o, "state", json_object_new_string(state));
				json_object_object_add(o, "disk", json_object_new_string(st->disk));
				json_object_array_add(arr, o);
			} else {
				char dev[80];

				snprintf(dev, sizeof(dev), "/dev/mapper/%s", st->dm);
				printf("%-20s %-28s %10s %-10s %s\n", st->name, dev,
				       fmt_size(st->size, sz, sizeof(sz)), state, st->disk);
			}
			state_free(st);
		}
		free(names[i]);
	}
	free(names);
	if (g_json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
	return EX_OK;
}
