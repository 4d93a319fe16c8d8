// SPDX-License-Identifier: GPL-2.0
/*
 * svm-ds.c - libsvmotion: what a datastore is (see svm-ds.h): the mount
 * table, sysfs, statvfs and probes that change nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "svm-ds.h"
#include "svm-util.h"

#define MOUNTINFO	"/proc/self/mountinfo"
#define SYSFS		"/sys"
#define TABLE_MAX	(4u << 20)	/* a mount table longer is refused */

const char *svm_ds_kind_name(enum svm_ds_kind k)
{
	switch (k) {
	case SVM_DS_DIR:
		return "dir";
	case SVM_DS_NFS:
		return "nfs";
	case SVM_DS_BLOCK:
		return "block";
	}
	return "?";
}

/* ---- the mount table ------------------------------------------------------ */

/*
 * The next space-separated field of *s into out (len bytes), \NNN octal
 * escapes decoded. -EINVAL if there is none, it does not fit, or it has a
 * bad escape or a NUL byte from one.
 */
static int field(const char **s, char *out, size_t len)
{
	const char *p = *s;
	size_t o = 0;

	while (*p == ' ')
		p++;
	if (!*p || *p == '\n')
		return -EINVAL;
	for (; *p && *p != ' ' && *p != '\n'; p++) {
		int c = (unsigned char)*p;

		if (c == '\\') {
			if (p[1] < '0' || p[1] > '3' || p[2] < '0' || p[2] > '7' ||
			    p[3] < '0' || p[3] > '7')
				return -EINVAL;
			c = (p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0');
			if (!c)
				return -EINVAL;
			p += 3;
		}
		if (o + 1 >= len)
			return -EINVAL;
		out[o++] = (char)c;
	}
	out[o] = 0;
	*s = p;
	return 0;
}

/* An unsigned decimal of at most 10 digits, all of s. */
static bool dec_u32(const char *s, unsigned int *v)
{
	unsigned long long n = 0;
	size_t i;

	if (!*s)
		return false;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 10)
			return false;
		n = n * 10 + (s[i] - '0');
	}
	if (n > UINT32_MAX)
		return false;
	*v = (unsigned int)n;
	return true;
}

/* Whether the comma-separated option list has word (or word=...). */
static const char *opt_find(const char *opts, const char *word)
{
	size_t wl = strlen(word);
	const char *p = opts;

	while (p && *p) {
		if (!strncmp(p, word, wl) && (!p[wl] || p[wl] == ',' || p[wl] == '='))
			return p + wl;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return NULL;
}

/* The value of word=VALUE in opts into out; false if absent or too long. */
static bool opt_value(const char *opts, const char *word, char *out, size_t len)
{
	const char *v = opt_find(opts, word);
	size_t n;

	if (!v || *v != '=')
		return false;
	v++;
	n = strcspn(v, ",");
	if (n >= len)
		return false;
	memcpy(out, v, n);
	out[n] = 0;
	return true;
}

int svm_ds_parse_mountinfo_line(const char *line, struct svm_ds_mount *m)
{
	char tmp[PATH_MAX], *colon;
	const char *s = line;
	bool sep = false;
	int i;

	memset(m, 0, sizeof(*m));
	/* mount ID, parent ID */
	for (i = 0; i < 2; i++) {
		unsigned int v;

		if (field(&s, tmp, sizeof(tmp)) || !dec_u32(tmp, &v))
			return -EINVAL;
	}
	if (field(&s, tmp, sizeof(tmp)))
		return -EINVAL;
	colon = strchr(tmp, ':');
	if (!colon)
		return -EINVAL;
	*colon = 0;
	if (!dec_u32(tmp, &m->major) || !dec_u32(colon + 1, &m->minor))
		return -EINVAL;
	if (field(&s, m->root, sizeof(m->root)) || m->root[0] != '/' ||
	    field(&s, m->point, sizeof(m->point)) || m->point[0] != '/' ||
	    field(&s, tmp, sizeof(tmp)))
		return -EINVAL;
	m->ro = opt_find(tmp, "ro") != NULL;
	/* optional fields, up to the separator */
	while (!field(&s, tmp, sizeof(tmp))) {
		if (!strcmp(tmp, "-")) {
			sep = true;
			break;
		}
	}
	if (!sep || field(&s, m->fstype, sizeof(m->fstype)) ||
	    field(&s, m->source, sizeof(m->source)))
		return -EINVAL;
	/* super options: may be absent on old kernels */
	if (field(&s, m->opts, sizeof(m->opts)))
		m->opts[0] = 0;
	return 0;
}

/* Whether mount point mp is path or one of its parent directories. */
static size_t covers(const char *mp, const char *path)
{
	size_t n = strlen(mp);

	if (!strcmp(mp, "/"))
		return 1;
	if (strncmp(mp, path, n) || (path[n] && path[n] != '/'))
		return 0;
	return n;
}

int svm_ds_find_mount(const char *table, unsigned int major,
		      unsigned int minor, const char *path,
		      struct svm_ds_mount *m)
{
	struct svm_ds_mount *cur = malloc(sizeof(*cur));
	const char *line = table;
	size_t best = 0, bestp = 0;
	bool found = false;
	struct svm_ds_mount *byp;

	if (!cur)
		return -ENOMEM;
	byp = malloc(sizeof(*byp));
	if (!byp) {
		free(cur);
		return -ENOMEM;
	}
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t n;

		if (!svm_ds_parse_mountinfo_line(line, cur)) {
			n = covers(cur->point, path);
			if (n && cur->major == major && cur->minor == minor &&
			    n >= best) {
				*m = *cur;
				best = n;
				found = true;
			}
			/* st_dev can differ (btrfs subvolumes): by path */
			if (n && n >= bestp) {
				*byp = *cur;
				bestp = n;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	if (!found && bestp) {
		*m = *byp;
		found = true;
	}
	free(cur);
	free(byp);
	return found ? 0 : -ENOENT;
}

int svm_ds_parse_nfs(const struct svm_ds_mount *m, struct svm_ds_nfs *n)
{
	const char *src = m->source, *exp;
	char v[16];
	size_t hl;

	memset(n, 0, sizeof(*n));
	if (strcmp(m->fstype, "nfs") && strcmp(m->fstype, "nfs4"))
		return -EINVAL;
	if (src[0] == '[') {
		exp = strstr(src, "]:");
		if (!exp)
			return -EINVAL;
		src++;
		hl = exp - src;
		exp += 2;
	} else {
		exp = strchr(src, ':');
		if (!exp)
			return -EINVAL;
		hl = exp - src;
		exp++;
	}
	if (!hl || hl >= sizeof(n->server) || exp[0] != '/' ||
	    strlen(exp) >= sizeof(n->export))
		return -EINVAL;
	memcpy(n->server, src, hl);
	n->server[hl] = 0;
	strcpy(n->export, exp);
	if (!opt_value(m->opts, "vers", n->vers, sizeof(n->vers)))
		strcpy(n->vers, strcmp(m->fstype, "nfs4") ? "3" : "4");
	if (!opt_value(m->opts, "addr", n->addr, sizeof(n->addr)))
		n->addr[0] = 0;
	if (opt_value(m->opts, "rsize", v, sizeof(v)))
		dec_u32(v, &n->rsize);
	if (opt_value(m->opts, "wsize", v, sizeof(v)))
		dec_u32(v, &n->wsize);
	n->soft = opt_find(m->opts, "soft") || opt_find(m->opts, "softerr");
	return 0;
}

/* ---- sysfs ------------------------------------------------------------------ */

/* dir/name into out; -ENAMETOOLONG if it does not fit. */
static int path_join(char *out, size_t len, const char *dir,
			 const char *name)
{
	size_t a = strlen(dir), b = strlen(name);

	if (a + b + 2 > len)
		return -ENAMETOOLONG;
	memcpy(out, dir, a);
	out[a] = '/';
	memcpy(out + a + 1, name, b + 1);
	return 0;
}

/* The first line of file dir/name into buf (trailing newline cut). */
static bool read_attr(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return true;
}

static bool read_u64(const char *dir, const char *name, uint64_t *v)
{
	char buf[32], *end;

	if (!read_attr(dir, name, buf, sizeof(buf)) || !buf[0])
		return false;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	return !errno && !*end && buf[0] != '-';
}

/* "H:C:T:L", all of s */
static bool hctl(const char *s, struct svm_ds_iscsi *i)
{
	unsigned int v[4];
	char part[4][16];
	const char *p = s;
	int k;

	for (k = 0; k < 4; k++) {
		size_t n = strcspn(p, ":");

		if (!n || n >= sizeof(part[k]) || (k < 3 && p[n] != ':') ||
		    (k == 3 && p[n]))
			return false;
		memcpy(part[k], p, n);
		part[k][n] = 0;
		if (!dec_u32(part[k], &v[k]))
			return false;
		p += n + (k < 3);
	}
	i->host = v[0];
	i->channel = v[1];
	i->target = v[2];
	i->lun = v[3];
	return true;
}

/* The session's target name and first connection's portal. */
static void iscsi_session(const char *sysfs, struct svm_ds_iscsi *i)
{
	char dir[PATH_MAX], pre[64], addr[64], port[16];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/class/iscsi_session/session%u", sysfs,
		 i->session);
	if (!read_attr(dir, "targetname", i->iqn, sizeof(i->iqn)))
		i->iqn[0] = 0;
	snprintf(dir, sizeof(dir), "%s/class/iscsi_connection", sysfs);
	snprintf(pre, sizeof(pre), "connection%u:", i->session);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char cdir[PATH_MAX];

		if (strncmp(de->d_name, pre, strlen(pre)))
			continue;
		if (path_join(cdir, sizeof(cdir), dir, de->d_name))
			continue;
		if ((read_attr(cdir, "persistent_address", addr, sizeof(addr)) ||
		     read_attr(cdir, "address", addr, sizeof(addr))) &&
		    (read_attr(cdir, "persistent_port", port, sizeof(port)) ||
		     read_attr(cdir, "port", port, sizeof(port))) && addr[0]) {
			snprintf(i->portal, sizeof(i->portal),
				 strchr(addr, ':') ? "[%s]:%s" : "%s:%s", addr, port);
			break;
		}
	}
	closedir(d);
}

/* Whether dev's sysfs path (resolved) is below an iSCSI session. */
static bool iscsi_of(const char *sysfs, const char *disk, struct svm_ds_iscsi *i)
{
	char copy[PATH_MAX], *save = NULL, *tok, *prev = NULL;
	bool in_session = false, found = false;

	memset(i, 0, sizeof(*i));
	snprintf(copy, sizeof(copy), "%s", disk);
	for (tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		unsigned int s;

		if (!strncmp(tok, "session", 7) && dec_u32(tok + 7, &s)) {
			i->session = s;
			in_session = true;
		}
		if (!strcmp(tok, "block") && prev && in_session && hctl(prev, i))
			found = true;
		prev = tok;
	}
	if (found)
		iscsi_session(sysfs, i);
	return found;
}

int svm_ds_sysfs_dev(const char *sysfs, unsigned int major,
		     unsigned int minor, struct svm_ds_info *ds)
{
	char link[PATH_MAX], real[PATH_MAX], disk[PATH_MAX], q[PATH_MAX + 8];
	const char *name;
	uint64_t v;

	if (snprintf(link, sizeof(link), "%s/dev/block/%u:%u", sysfs, major,
		     minor) >= (int)sizeof(link))
		return -ENAMETOOLONG;
	if (!realpath(link, real))
		return -errno;
	name = strrchr(real, '/');
	name = name ? name + 1 : real;
	if (strlen(name) >= sizeof(ds->dev))
		return -ENAMETOOLONG;
	strcpy(ds->dev, name);
	ds->major = major;
	ds->minor = minor;
	ds->has_dev = true;
	snprintf(disk, sizeof(disk), "%s", real);
	ds->partition = read_u64(real, "partition", &v);
	if (ds->partition) {
		char *slash = strrchr(disk, '/');

		if (slash)
			*slash = 0;
	}
	snprintf(q, sizeof(q), "%s/queue", disk);
	if (read_u64(q, "logical_block_size", &v) && v && v <= UINT32_MAX)
		ds->block_size = (uint32_t)v;
	if (read_u64(q, "discard_max_bytes", &v) && v)
		ds->offloads |= SVM_DS_OFF_UNMAP;
	if (read_u64(real, "size", &v) && v <= UINT64_MAX / 512)
		ds->total = v * 512;
	ds->is_iscsi = iscsi_of(sysfs, disk, &ds->iscsi);
	return 0;
}

/* ---- probing ------------------------------------------------------------------ */

static int read_table(const char *path, char **out)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (!buf || fd < 0) {
		int e = fd < 0 ? -errno : -ENOMEM;

		free(buf);
		if (fd >= 0)
			close(fd);
		return e;
	}
	for (;;) {
		if (len + 1 >= cap) {
			char *b;

			if (cap >= TABLE_MAX) {
				close(fd);
				free(buf);
				return -EFBIG;
			}
			b = realloc(buf, cap * 2);
			if (!b) {
				close(fd);
				free(buf);
				return -ENOMEM;
			}
			buf = b;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	if (n < 0) {
		free(buf);
		return -errno;
	}
	buf[len] = 0;
	*out = buf;
	return 0;
}

/*
 * Reflink and hole punching, tried on two unnamed files (O_TMPFILE) in
 * the directory: nothing is left behind, whatever happens. false when the
 * directory takes no O_TMPFILE (read-only, NFS, permissions).
 */
static bool probe_files(const char *dir, uint32_t bs, unsigned int *off)
{
	int a = open(dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600), b;
	size_t n = bs && bs <= (1u << 20) ? bs : 4096;
	struct file_clone_range fcr = { 0 };
	char *zero;

	if (a < 0)
		return false;
	b = open(dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	zero = calloc(1, n);
	if (b >= 0 && zero && pwrite(a, zero, n, 0) == (ssize_t)n) {
		fcr.src_fd = a;
		fcr.src_length = n;
		if (!ioctl(b, FICLONERANGE, &fcr))
			*off |= SVM_DS_OFF_REFLINK;
		if (!fallocate(a, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, n))
			*off |= SVM_DS_OFF_PUNCH;
	}
	free(zero);
	if (b >= 0)
		close(b);
	close(a);
	return true;
}

static void probe_xcopy(const char *path, struct svm_ds_info *ds)
{
	struct svm_scsi_sg sg;
	int fd;

	if (strncmp(ds->dev, "sd", 2)) {
		snprintf(ds->xcopy_why, sizeof(ds->xcopy_why),
			 "not a SCSI disk");
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		svm_set_err(ds->xcopy_why, sizeof(ds->xcopy_why),
			    "opening %s: %s", path, strerror(errno));
		return;
	}
	/*
	 * The standard INQUIRY's 3PC bit first: a target may answer RECEIVE
	 * COPY RESULTS for a LUN that refuses EXTENDED COPY (LIO with
	 * emulate_3pc=0 does)
	 */
	svm_scsi_sg_init(&sg, fd);
	if (!svm_xcopy_3pc_dev(&sg.dev, ds->xcopy_why, sizeof(ds->xcopy_why)) &&
	    !svm_xcopy_limits(fd, &ds->xcopy, ds->xcopy_why,
			      sizeof(ds->xcopy_why)))
		ds->offloads |= SVM_DS_OFF_XCOPY;
	close(fd);
}

static int probe_block(const struct svm_ds_roots *r, const struct stat *st,
		       struct svm_ds_info *ds, char *err, size_t errlen)
{
	uint64_t size = 0;
	int fd, ret;

	ds->kind = SVM_DS_BLOCK;
	ret = svm_ds_sysfs_dev(r->sysfs, major(st->st_rdev), minor(st->st_rdev), ds);
	if (ret) {
		svm_set_err(err, errlen, "datastore %s: block device %u:%u: not in %s/dev/block: %s",
			    ds->path, major(st->st_rdev), minor(st->st_rdev),
			    r->sysfs, strerror(-ret));
		return ret;
	}
	/* the device's own answer, where it can be opened */
	fd = open(ds->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		int bs;

		if (!ioctl(fd, BLKGETSIZE64, &size))
			ds->total = size;
		if (!ioctl(fd, BLKSSZGET, &bs) && bs > 0)
			ds->block_size = bs;
		close(fd);
	}
	ds->avail = ds->total;
	if (!ds->partition)
		probe_xcopy(ds->path, ds);
	else
		snprintf(ds->xcopy_why, sizeof(ds->xcopy_why),
			 "a partition (EXTENDED COPY addresses whole LUNs)");
	ds->offloads_probed = true;
	return 0;
}

static int probe_dir(const struct svm_ds_roots *r, const struct stat *st,
		     struct svm_ds_info *ds, char *err, size_t errlen)
{
	struct statvfs sv;
	char *table = NULL;
	int ret;

	ret = read_table(r->mountinfo, &table);
	if (ret) {
		svm_set_err(err, errlen, "datastore %s: reading %s: %s", ds->path,
			    r->mountinfo, strerror(-ret));
		return ret;
	}
	ret = svm_ds_find_mount(table, major(st->st_dev), minor(st->st_dev),
				ds->path, &ds->mnt);
	free(table);
	if (ret) {
		svm_set_err(err, errlen, "datastore %s: no mount in %s covers it",
			    ds->path, r->mountinfo);
		return ret;
	}
	if (!svm_ds_parse_nfs(&ds->mnt, &ds->nfs)) {
		ds->kind = SVM_DS_NFS;
	} else {
		ds->kind = SVM_DS_DIR;
		/* the filesystem's device (none for tmpfs, overlay, 9p ...) */
		if (ds->mnt.major)
			svm_ds_sysfs_dev(r->sysfs, ds->mnt.major, ds->mnt.minor, ds);
		/* a filesystem's offloads are its own, not its disk's */
		ds->offloads &= ~SVM_DS_OFF_UNMAP;
	}
	if (statvfs(ds->path, &sv)) {
		ret = -errno;
		svm_set_err(err, errlen, "datastore %s: statvfs: %s", ds->path,
			    strerror(errno));
		return ret;
	}
	ds->total = (uint64_t)sv.f_blocks * sv.f_frsize;
	ds->avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	ds->block_size = sv.f_bsize > UINT32_MAX ? 0 : (uint32_t)sv.f_bsize;
	if (ds->kind == SVM_DS_NFS) {
		/* what the protocol version offers; the server may refuse */
		if (!strcmp(ds->nfs.vers, "4.2"))
			ds->offloads |= SVM_DS_OFF_NFS_COPY | SVM_DS_OFF_PUNCH;
		ds->offloads_probed = false;
	} else if (!ds->mnt.ro) {
		ds->offloads_probed = probe_files(ds->path, ds->block_size,
						  &ds->offloads);
	}
	return 0;
}

int svm_ds_probe_at(const struct svm_ds_roots *roots, const char *path,
		    struct svm_ds_info *ds, char *err, size_t errlen)
{
	struct svm_ds_roots r = {
		.mountinfo = roots && roots->mountinfo ? roots->mountinfo : MOUNTINFO,
		.sysfs = roots && roots->sysfs ? roots->sysfs : SYSFS,
	};
	struct stat st;
	int ret;

	memset(ds, 0, sizeof(*ds));
	if (!path || !*path) {
		svm_set_err(err, errlen, "datastore: empty path");
		return -EINVAL;
	}
	if (!realpath(path, ds->path)) {
		ret = -errno;
		svm_set_err(err, errlen, "datastore %s: %s", path, strerror(errno));
		return ret;
	}
	if (stat(ds->path, &st)) {
		ret = -errno;
		svm_set_err(err, errlen, "datastore %s: %s", path, strerror(errno));
		return ret;
	}
	if (S_ISBLK(st.st_mode))
		return probe_block(&r, &st, ds, err, errlen);
	if (S_ISDIR(st.st_mode))
		return probe_dir(&r, &st, ds, err, errlen);
	svm_set_err(err, errlen,
		    "datastore %s: not a directory or a block device", path);
	return -ENOTDIR;
}

int svm_ds_probe(const char *path, struct svm_ds_info *ds, char *err,
		 size_t errlen)
{
	return svm_ds_probe_at(NULL, path, ds, err, errlen);
}

int svm_ds_mount_of(const char *path, struct svm_ds_mount *m)
{
	char real[PATH_MAX], *table = NULL;
	struct stat st;
	int ret;

	if (!realpath(path, real) || stat(real, &st))
		return -errno;
	ret = read_table(MOUNTINFO, &table);
	if (ret)
		return ret;
	ret = svm_ds_find_mount(table, major(st.st_dev), minor(st.st_dev), real, m);
	free(table);
	return ret;
}

/* ---- NFS operation counters --------------------------------------------------- */

/* "  NAME: n0 n1 n2 n3 n4 ...": the name and the first five numbers. */
static bool op_line(const char *line, char *name, size_t nlen, uint64_t v[5])
{
	const char *p = line;
	size_t n;
	int k;

	while (*p == ' ' || *p == '\t')
		p++;
	n = strcspn(p, ":\n ");
	if (!n || n >= nlen || p[n] != ':')
		return false;
	memcpy(name, p, n);
	name[n] = 0;
	p += n + 1;
	for (k = 0; k < 5; k++) {
		char *end;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			return false;
		errno = 0;
		v[k] = strtoull(p, &end, 10);
		if (errno)
			return false;
		p = end;
	}
	return true;
}

int svm_ds_parse_mountstats(const char *text, const char *mountpoint,
			    struct svm_nfs_ops *o)
{
	const char *line = text;
	bool in = false, perop = false, found = false;

	memset(o, 0, sizeof(*o));
	while (line && *line) {
		const char *nl = strchr(line, '\n');

		if (!strncmp(line, "device ", 7)) {
			const char *on = strstr(line, " mounted on ");
			char mp[PATH_MAX];
			const char *q;

			if (in)
				break;		/* the next mount: done */
			if (on && (!nl || on < nl) && (q = on + 12) &&
			    !field(&q, mp, sizeof(mp)) &&
			    !strcmp(mp, mountpoint) &&
			    strstr(q, " with fstype nfs") == q) {
				in = found = true;
			}
		} else if (in) {
			char name[32];
			uint64_t v[5];

			size_t ll = nl ? (size_t)(nl - line) : strlen(line);

			if (memmem(line, ll, "per-op statistics", 17))
				perop = true;
			else if (perop && op_line(line, name, sizeof(name), v)) {
				if (!strcmp(name, "READ")) {
					o->read_ops = v[0];
					o->read_bytes = v[4];
				} else if (!strcmp(name, "WRITE")) {
					o->write_ops = v[0];
					o->write_bytes = v[3];
				} else if (!strcmp(name, "COPY")) {
					o->copy_ops = v[0];
				} else if (!strcmp(name, "CLONE")) {
					o->clone_ops = v[0];
				}
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	if (!found)
		return -ENOENT;
	return perop ? 0 : -EINVAL;
}

int svm_ds_nfs_ops(const char *mountpoint, struct svm_nfs_ops *o)
{
	char *text = NULL;
	int ret = read_table("/proc/self/mountstats", &text);

	if (ret)
		return ret;
	ret = svm_ds_parse_mountstats(text, mountpoint, o);
	free(text);
	return ret;
}

/* ---- words ------------------------------------------------------------------ */

const char *svm_ds_describe(const struct svm_ds_info *ds, char *buf,
			    size_t len)
{
	char lun[600] = "";

	if (ds->is_iscsi)
		snprintf(lun, sizeof(lun), "iSCSI LUN %u of %s%s%s",
			 ds->iscsi.lun, ds->iscsi.iqn[0] ? ds->iscsi.iqn : "?",
			 ds->iscsi.portal[0] ? " at " : "", ds->iscsi.portal);
	switch (ds->kind) {
	case SVM_DS_NFS:
		snprintf(buf, len, "NFS %s:%s (v%s, %s)", ds->nfs.server,
			 ds->nfs.export, ds->nfs.vers,
			 ds->nfs.soft ? "soft" : "hard");
		break;
	case SVM_DS_BLOCK:
		if (ds->is_iscsi)
			snprintf(buf, len, "%s (%s)", lun, ds->dev);
		else
			snprintf(buf, len, "block device %s", ds->dev);
		break;
	case SVM_DS_DIR:
		if (ds->is_iscsi)
			snprintf(buf, len, "%s on %s, %s", ds->mnt.fstype,
				 ds->dev, lun);
		else if (ds->has_dev)
			snprintf(buf, len, "%s on %s", ds->mnt.fstype, ds->dev);
		else
			snprintf(buf, len, "%s", ds->mnt.fstype);
		break;
	}
	return buf;
}

const char *svm_ds_offload_names(unsigned int offloads, char *buf,
				 size_t len)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {
		{ SVM_DS_OFF_REFLINK, "reflink" },
		{ SVM_DS_OFF_NFS_COPY, "nfs-copy" },
		{ SVM_DS_OFF_PUNCH, "punch" },
		{ SVM_DS_OFF_UNMAP, "unmap" },
		{ SVM_DS_OFF_XCOPY, "xcopy" },
	};
	size_t o = 0, i;

	if (len)
		buf[0] = 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(offloads & names[i].bit))
			continue;
		int n = snprintf(buf + o, len > o ? len - o : 0, "%s%s",
				 o ? "," : "", names[i].name);

		if (n < 0 || o + n >= len) {
			if (len)
				buf[o] = 0;	/* whole words only */
			break;
		}
		o += n;
	}
	return buf;
}
