// SPDX-License-Identifier: GPL-2.0
/*
 * svm-vmdk.c - VM disks: VMDK descriptors with flat extents, raw images and
 * block devices (see svm-vmdk.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#include "svm-util.h"
#include "svm-vmdk.h"

#define SECTOR 512ULL

/* A descriptor line, kept for a rewrite. */
enum line_kind {
	LINE_TEXT,		/* verbatim */
	LINE_CID,
	LINE_PARENT_CID,
	LINE_CREATE_TYPE,
	LINE_EXTENTS,		/* where the block of extent lines goes */
};

struct desc_line {
	enum line_kind kind;
	char *text;		/* LINE_TEXT only */
};

struct svm_disk_priv {
	struct desc_line *lines;
	size_t nr_lines;
	char *dir;		/* absolute directory of d->path */
};

/* ------------------------------------------------------------------------
 * Strings and paths
 */

static char *xstrndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

__attribute__((format(printf, 1, 2)))
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* "a/b" + "c" -> "a/b/c"; "c" absolute -> "c"; "." -> "a/b". */
static char *path_join(const char *dir, const char *name)
{
	size_t l = strlen(dir);

	if (name[0] == '/')
		return strdup(name);
	if (!strcmp(name, "."))
		return strdup(dir);
	if (l && dir[l - 1] == '/')
		return xasprintf("%s%s", dir, name);
	return xasprintf("%s/%s", dir, name);
}

/* The directory part of path ("." if none, "/" for "/x"). */
static char *dir_part(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	while (slash > path && slash[-1] == '/')
		slash--;
	if (slash == path)
		return strdup("/");
	return xstrndup(path, slash - path);
}

static const char *base_part(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/*
 * The absolute directory of path: realpath() of its directory when that
 * exists, else the directory made absolute by hand.
 */
static char *abs_dir_of(const char *path)
{
	char *dir = dir_part(path), *real, *cwd, *ret;

	if (!dir)
		return NULL;
	real = realpath(dir, NULL);
	if (real || dir[0] == '/') {
		if (real)
			free(dir);
		return real ? real : dir;
	}
	cwd = getcwd(NULL, 0);
	if (!cwd) {
		free(dir);
		return NULL;
	}
	ret = path_join(cwd, dir);
	free(cwd);
	free(dir);
	return ret;
}

/* path made absolute (not resolved). */
static char *abs_path(const char *path)
{
	char *cwd, *ret;

	if (path[0] == '/')
		return strdup(path);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	ret = path_join(cwd, path);
	free(cwd);
	return ret;
}

/* ------------------------------------------------------------------------
 * Disks
 */

static void free_extents(struct svm_disk_extent *e, size_t n)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < n; i++) {
		free(e[i].file);
		free(e[i].file_as_written);
	}
	free(e);
}

static void free_priv(struct svm_disk_priv *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nr_lines; i++)
		free(p->lines[i].text);
	free(p->lines);
	free(p->dir);
	free(p);
}

void svm_disk_free(struct svm_disk *d)
{
	if (!d)
		return;
	free(d->path);
	free(d->cid);
	free(d->parent_cid);
	free(d->create_type);
	free_extents(d->extents, d->nr_extents);
	free_priv(d->priv);
	free(d);
}

static struct svm_disk *disk_alloc(const char *path)
{
	struct svm_disk *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->priv = calloc(1, sizeof(*d->priv));
	d->path = strdup(path);
	if (d->priv)
		d->priv->dir = abs_dir_of(path);
	if (!d->priv || !d->path || !d->priv->dir) {
		svm_disk_free(d);
		return NULL;
	}
	return d;
}

static int add_line(struct svm_disk_priv *p, enum line_kind kind,
		    const char *text, size_t len)
{
	struct desc_line *l;

	l = realloc(p->lines, (p->nr_lines + 1) * sizeof(*l));
	if (!l)
		return -ENOMEM;
	p->lines = l;
	l += p->nr_lines;
	l->kind = kind;
	l->text = NULL;
	if (kind == LINE_TEXT) {
		l->text = xstrndup(text, len);
		if (!l->text)
			return -ENOMEM;
	}
	p->nr_lines++;
	return 0;
}

static int add_text(struct svm_disk_priv *p, const char *text)
{
	return add_line(p, LINE_TEXT, text, strlen(text));
}

static char *new_cid(void)
{
	uint32_t v = 0;

	do {
		if (getrandom(&v, sizeof(v), 0) != sizeof(v))
			v = (uint32_t)random() ^ (uint32_t)getpid() ^
			    (uint32_t)time(NULL);
	} while (v == 0xffffffff);
	return xasprintf("%08x", v);
}

static const char *const adapter_types[] = {
	"ide", "buslogic", "lsilogic", "legacyESX", "lsisas1068", "pvscsi",
};

/*
 * The lines of a descriptor written from scratch, as qemu-img create writes
 * them (block/vmdk.c: geometry from 63 sectors and 16 heads for ide, 255
 * otherwise).
 */
static int template_lines(struct svm_disk *d, const char *adapter)
{
	struct svm_disk_priv *p = d->priv;
	unsigned int heads = strcmp(adapter, "ide") ? 255 : 16;
	uint64_t cyl = d->size / (63ULL * heads * SECTOR);
	char buf[128];
	int ret = 0;

	if (!cyl)
		cyl = 1;
	d->cid = new_cid();
	d->parent_cid = strdup("ffffffff");
	if (!d->cid || !d->parent_cid)
		return -ENOMEM;
	ret |= add_text(p, "# Disk DescriptorFile");
	ret |= add_text(p, "version=1");
	ret |= add_line(p, LINE_CID, NULL, 0);
	ret |= add_line(p, LINE_PARENT_CID, NULL, 0);
	ret |= add_line(p, LINE_CREATE_TYPE, NULL, 0);
	ret |= add_text(p, "");
	ret |= add_text(p, "# Extent description");
	ret |= add_line(p, LINE_EXTENTS, NULL, 0);
	ret |= add_text(p, "");
	ret |= add_text(p, "# The Disk Data Base");
	ret |= add_text(p, "#DDB");
	ret |= add_text(p, "");
	ret |= add_text(p, "ddb.virtualHWVersion = \"4\"");
	snprintf(buf, sizeof(buf), "ddb.geometry.cylinders = \"%llu\"",
		 (unsigned long long)cyl);
	ret |= add_text(p, buf);
	snprintf(buf, sizeof(buf), "ddb.geometry.heads = \"%u\"", heads);
	ret |= add_text(p, buf);
	ret |= add_text(p, "ddb.geometry.sectors = \"63\"");
	snprintf(buf, sizeof(buf), "ddb.adapterType = \"%s\"", adapter);
	ret |= add_text(p, buf);
	return ret ? -ENOMEM : 0;
}

/* ------------------------------------------------------------------------
 * Parsing
 */

struct parser {
	const char *path;
	unsigned int line;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3)))
static int perr(struct parser *ps, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (ps->line)
		svm_set_err(ps->err, ps->errlen, "svm-vmdk: %s:%u: %s",
			    ps->path, ps->line, reason);
	else
		svm_set_err(ps->err, ps->errlen, "svm-vmdk: %s: %s",
			    ps->path, reason);
	return -EINVAL;
}

/*
 * Decimal digits at *s into *v: 0, -ERANGE above UINT64_MAX, -EINVAL if no
 * digit. *s moves past the digits.
 */
static int parse_u64(const char **s, uint64_t *v)
{
	const char *p = *s;
	uint64_t x = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int dig = *p - '0';

		if (x > (UINT64_MAX - dig) / 10) {
			while (*p >= '0' && *p <= '9')
				p++;
			*s = p;
			return -ERANGE;
		}
		x = x * 10 + dig;
	}
	*s = p;
	*v = x;
	return 0;
}

/* A number field ending at whitespace or the end of the line. */
static int number_field(struct parser *ps, const char **s, const char *what,
			uint64_t *v)
{
	const char *p = *s;
	int ret;

	if (*p == '-')
		return perr(ps, "negative %s", what);
	ret = parse_u64(&p, v);
	if (ret == -ERANGE)
		return perr(ps, "%s too large", what);
	if (ret || (*p && !is_ws(*p)))
		return perr(ps, "%s is not a number", what);
	*s = p;
	return 0;
}

static const char *skip_ws(const char *s)
{
	while (is_ws(*s))
		s++;
	return s;
}

enum ext_access { ACC_RW, ACC_RDONLY, ACC_NOACCESS };

static const char *const access_names[] = { "RW", "RDONLY", "NOACCESS" };

enum ext_type {
	T_FLAT, T_VMFS, T_ZERO, T_SPARSE, T_VMFSSPARSE, T_SESPARSE,
	T_VMFSRDM, T_VMFSRAW, T_COUNT
};

static const char *const type_names[T_COUNT] = {
	"FLAT", "VMFS", "ZERO", "SPARSE", "VMFSSPARSE", "SESPARSE",
	"VMFSRDM", "VMFSRAW",
};

/* Is the line (leading whitespace skipped) an extent line? */
static int extent_access(const char *s)
{
	size_t i, l;

	for (l = 0; s[l] && !is_ws(s[l]); l++)
		;
	for (i = 0; i < 3; i++)
		if (strlen(access_names[i]) == l &&
		    !strncmp(s, access_names[i], l))
			return i;
	return -1;
}

/*
 * Validate one extent's numbers and name (sizes in bytes); used for parsed
 * and for given extents.
 */
static int check_extent(struct parser *ps, const char *name, uint64_t offset,
			uint64_t length)
{
	const char *c;

	if (!name || !name[0])
		return perr(ps, "empty file name");
	for (c = name; *c; c++) {
		if (is_ctl(*c))
			return perr(ps, "control character 0x%02x in file name",
				    (unsigned char)*c);
		if (*c == '"')
			return perr(ps, "double quote in file name");
	}
	if (c[-1] == '/')
		return perr(ps, "file name \"%s\" ends with '/'", name);
	if (c - name >= PATH_MAX)
		return perr(ps, "file name longer than %d bytes", PATH_MAX - 1);
	if (!length)
		return perr(ps, "zero-length extent");
	if (length % SECTOR || offset % SECTOR)
		return perr(ps, "extent offset %llu or length %llu is not a multiple of 512",
			    (unsigned long long)offset,
			    (unsigned long long)length);
	if (length > SVM_DISK_MAX_SIZE)
		return perr(ps, "extent of %llu bytes is larger than the 64 TiB maximum",
			    (unsigned long long)length);
	if (offset > SVM_DISK_MAX_END || SVM_DISK_MAX_END - offset < length)
		return perr(ps, "extent ends beyond 64 PiB in its file (offset %llu, length %llu)",
			    (unsigned long long)offset,
			    (unsigned long long)length);
	return 0;
}

/* Overlaps between extents of the same absolute name; n <= 1024. */
static int check_name_overlaps(struct parser *ps,
			       const struct svm_disk_extent *e, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++) {
			if (strcmp(e[i].file, e[j].file))
				continue;
			if (e[i].offset < e[j].offset + e[j].length &&
			    e[j].offset < e[i].offset + e[i].length) {
				ps->line = e[i].line;
				return perr(ps, "extent %zu overlaps extent %zu in %s",
					    i + 1, j + 1, e[i].file);
			}
		}
	return 0;
}

/* Parse an extent line (leading whitespace skipped) into e. */
static int parse_extent(struct parser *ps, const char *s, const char *dir,
			struct svm_disk_extent *e)
{
	const char *p = s, *q;
	uint64_t sectors, offset = 0;
	int acc = extent_access(s), ret;
	bool has_offset = false;
	unsigned int t;
	size_t l;

	p += strlen(access_names[acc]);
	p = skip_ws(p);
	if (!*p)
		return perr(ps, "extent line without a sector count");
	ret = number_field(ps, &p, "sector count", &sectors);
	if (ret)
		return ret;
	p = skip_ws(p);
	if (!*p)
		return perr(ps, "extent line without a type");
	for (l = 0; p[l] && !is_ws(p[l]); l++)
		;
	for (t = 0; t < T_COUNT; t++)
		if (strlen(type_names[t]) == l && !strncmp(p, type_names[t], l))
			break;
	if (t == T_COUNT)
		return perr(ps, "unknown extent type \"%.*s\"",
			    (int)(l > 32 ? 32 : l), p);
	p = skip_ws(p + l);
	if (t == T_ZERO) {
		if (*p)
			return perr(ps, "trailing garbage after a ZERO extent");
	} else {
		if (!*p)
			return perr(ps, "extent line without a file name");
		if (*p != '"')
			return perr(ps, "file name not in double quotes");
		q = strchr(p + 1, '"');
		if (!q)
			return perr(ps, "unterminated quote in file name");
		if (q == p + 1)
			return perr(ps, "empty file name");
		e->file_as_written = xstrndup(p + 1, q - p - 1);
		if (!e->file_as_written)
			return -ENOMEM;
		p = q + 1;
		if (*p && !is_ws(*p))
			return perr(ps, "trailing garbage after the file name");
		p = skip_ws(p);
		if (*p) {
			if (*p == '-')
				return perr(ps, "negative offset");
			ret = number_field(ps, &p, "offset", &offset);
			if (ret)
				return ret;
			has_offset = true;
			p = skip_ws(p);
			if (*p)
				return perr(ps, "trailing garbage after the offset");
		}
	}
	if (acc != ACC_RW)
		return perr(ps, "%s extent: svmotion moves only RW extents (QEMU ignores the others)",
			    access_names[acc]);
	if (t != T_FLAT && t != T_VMFS)
		return perr(ps, "%s extent: svmotion moves only FLAT and VMFS extents",
			    type_names[t]);
	if (t == T_FLAT && !has_offset)
		return perr(ps, "FLAT extent without an offset");
	if (t == T_VMFS && has_offset)
		return perr(ps, "VMFS extent with an offset (QEMU refuses it)");
	if (!sectors)
		return perr(ps, "zero-length extent");
	if (sectors > SVM_DISK_MAX_SIZE / SECTOR)
		return perr(ps, "extent of %llu sectors is larger than the 64 TiB maximum",
			    (unsigned long long)sectors);
	if (offset > SVM_DISK_MAX_END / SECTOR)
		return perr(ps, "extent ends beyond 64 PiB in its file (offset %llu sectors)",
			    (unsigned long long)offset);
	e->type = t == T_VMFS ? SVM_EXTENT_VMFS : SVM_EXTENT_FLAT;
	e->offset = offset * SECTOR;
	e->length = sectors * SECTOR;
	ret = check_extent(ps, e->file_as_written, e->offset, e->length);
	if (ret)
		return ret;
	e->file = path_join(dir, e->file_as_written);
	return e->file ? 0 : -ENOMEM;
}

/*
 * "key = value" (value optionally in double quotes). Returns 1 with the key
 * and value spans, 0 if the line is not of that form, <0 on an error.
 */
static int parse_kv(struct parser *ps, const char *s, const char **key,
		    size_t *klen, const char **val, size_t *vlen)
{
	const char *p = s, *v, *end;

	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	       (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
	       *p == '-')
		p++;
	if (p == s)
		return 0;
	*key = s;
	*klen = p - s;
	p = skip_ws(p);
	if (*p != '=')
		return 0;
	v = skip_ws(p + 1);
	end = v + strlen(v);
	while (end > v && is_ws(end[-1]))
		end--;
	if (*v == '"') {
		const char *q = memchr(v + 1, '"', end - v - 1);

		if (!q)
			return perr(ps, "unterminated quote in the value of %.*s",
				    (int)*klen, s);
		if (q + 1 != end)
			return perr(ps, "trailing garbage after the value of %.*s",
				    (int)*klen, s);
		v++;
		end = q;
	}
	*val = v;
	*vlen = end - v;
	return 1;
}

static bool key_is(const char *key, size_t klen, const char *name)
{
	return strlen(name) == klen && !strncmp(key, name, klen);
}

static bool is_hex_cid(const char *v, size_t l)
{
	size_t i;

	if (!l || l > 8)
		return false;
	for (i = 0; i < l; i++)
		if (!((v[i] >= '0' && v[i] <= '9') ||
		      (v[i] >= 'a' && v[i] <= 'f') ||
		      (v[i] >= 'A' && v[i] <= 'F')))
			return false;
	return true;
}

static const char *const sparse_types[] = {
	"monolithicSparse", "twoGbMaxExtentSparse", "vmfsSparse", "seSparse",
	"streamOptimized",
};

static const char *const rdm_types[] = {
	"vmfsRawDeviceMap", "vmfsPassthroughRawDeviceMap",
};

static int key_line(struct parser *ps, struct svm_disk *d, const char *key,
		    size_t klen, const char *v, size_t vl, unsigned int *seen)
{
	static const char *const owned[] = {
		"CID", "parentCID", "createType"
	};
	static const enum line_kind kinds[] = {
		LINE_CID, LINE_PARENT_CID, LINE_CREATE_TYPE
	};
	char **field[] = { &d->cid, &d->parent_cid, &d->create_type };
	unsigned int i;

	if (key_is(key, klen, "parentFileNameHint"))
		return perr(ps, "a snapshot child (parentFileNameHint): svmotion moves flat disks only");
	for (i = 0; i < 3; i++)
		if (key_is(key, klen, owned[i]))
			break;
	if (i == 3)
		return 1;	/* kept verbatim */
	if (*seen & (1u << i))
		return perr(ps, "duplicate %s", owned[i]);
	*seen |= 1u << i;
	if (i == 0 && !is_hex_cid(v, vl))
		return perr(ps, "CID \"%.*s\" is not 1 to 8 hex digits",
			    (int)(vl > 32 ? 32 : vl), v);
	if (i == 1 && (vl != 8 || strncasecmp(v, "ffffffff", 8)))
		return perr(ps, "parentCID %.*s: a snapshot child; svmotion moves flat disks only (parentCID ffffffff)",
			    (int)(vl > 32 ? 32 : vl), v);
	if (i == 2 && !vl)
		return perr(ps, "empty createType");
	*field[i] = xstrndup(v, vl);
	if (!*field[i] || add_line(d->priv, kinds[i], NULL, 0))
		return -ENOMEM;
	return 0;
}

static int check_create_type(struct parser *ps, const char *ct)
{
	size_t i;

	for (i = 0; i < sizeof(sparse_types) / sizeof(*sparse_types); i++)
		if (!strcmp(ct, sparse_types[i]))
			return perr(ps, "createType %s is a sparse format: svmotion moves flat disks only",
				    ct);
	for (i = 0; i < sizeof(rdm_types) / sizeof(*rdm_types); i++)
		if (!strcmp(ct, rdm_types[i]))
			return perr(ps, "createType %s is a raw device mapping: not supported",
				    ct);
	return 0;
}

static int parse_lines(struct parser *ps, struct svm_disk *d,
		       const char *text, size_t len)
{
	struct svm_disk_priv *p = d->priv;
	const char *pos = text, *end = text + len;
	unsigned int seen = 0, ct_line = 0;
	bool prev_blank = false, have_extents = false;
	size_t cap = 0;
	char *line = NULL;
	int ret = 0;

	ps->line = 0;
	while (pos < end) {
		const char *nl = memchr(pos, '\n', end - pos);
		const char *le = nl ? nl : end, *s, *key = NULL, *val = NULL;
		size_t ll = le - pos, klen = 0, vlen = 0;
		int acc;

		ps->line++;
		if (ll > SVM_DISK_MAX_LINE) {
			ret = perr(ps, "line longer than %d bytes",
				   SVM_DISK_MAX_LINE);
			break;
		}
		if (ll && pos[ll - 1] == '\r')
			ll--;
		free(line);
		line = xstrndup(pos, ll);
		if (!line) {
			ret = -ENOMEM;
			break;
		}
		pos = nl ? nl + 1 : end;
		s = skip_ws(line);
		if (!*s || *s == '#') {
			ret = add_line(p, LINE_TEXT, line, ll);
			if (ret)
				break;
			prev_blank = !*s;
			continue;
		}
		acc = extent_access(s);
		if (acc >= 0) {
			struct svm_disk_extent *e;

			if (prev_blank) {
				ret = perr(ps, "an empty line right before an extent line (QEMU reads that extent twice)");
				break;
			}
			if (d->nr_extents == SVM_DISK_MAX_EXTENTS) {
				ret = perr(ps, "more than %d extents",
					   SVM_DISK_MAX_EXTENTS);
				break;
			}
			if (d->nr_extents == cap) {
				cap = cap ? 2 * cap : 4;
				e = realloc(d->extents, cap * sizeof(*e));
				if (!e) {
					ret = -ENOMEM;
					break;
				}
				d->extents = e;
			}
			e = &d->extents[d->nr_extents++];
			memset(e, 0, sizeof(*e));
			e->line = ps->line;
			ret = parse_extent(ps, s, p->dir, e);
			if (ret)
				break;
			if (SVM_DISK_MAX_SIZE - d->size < e->length) {
				ret = perr(ps, "disk larger than the 64 TiB maximum");
				break;
			}
			d->size += e->length;
			if (!have_extents) {
				have_extents = true;
				ret = add_line(p, LINE_EXTENTS, NULL, 0);
				if (ret)
					break;
			}
			continue;
		}
		prev_blank = false;
		ret = parse_kv(ps, s, &key, &klen, &val, &vlen);
		if (ret < 0)
			break;
		if (!ret) {
			ret = perr(ps, "unrecognized line (neither a comment, key = value nor an extent)");
			break;
		}
		if (key_is(key, klen, "createType"))
			ct_line = ps->line;
		ret = key_line(ps, d, key, klen, val, vlen, &seen);
		if (ret < 0)
			break;
		if (ret) {
			ret = add_line(p, LINE_TEXT, line, ll);
			if (ret)
				break;
		}
	}
	free(line);
	if (ret)
		return ret;
	if (!d->nr_extents)
		return perr(ps, "no extent lines");
	if (!d->create_type)
		return perr(ps, "no createType");
	ps->line = ct_line;
	ret = check_create_type(ps, d->create_type);
	if (ret)
		return ret;
	return check_name_overlaps(ps, d->extents, d->nr_extents);
}

int svm_disk_parse(const char *text, size_t len, const char *path,
		   struct svm_disk **out, char *err, size_t errlen)
{
	struct parser ps = { .path = path, .err = err, .errlen = errlen };
	const char *nul;
	struct svm_disk *d;
	int ret;

	*out = NULL;
	if (len > SVM_DISK_MAX_DESC)
		return perr(&ps, "descriptor larger than %d bytes",
			    SVM_DISK_MAX_DESC);
	/*
	 * QEMU pads what it rewrites with NULs to a sector: the text ends at
	 * the first NUL. It rewrites the CID in place (block/vmdk.c,
	 * vmdk_write_cid, which writes its whole buffer back): when the new
	 * CID is shorter than the old one, the old text's last bytes stay
	 * right after that NUL. Such a remnant (at most 16 bytes, equal to the
	 * end of the text before the NUL, then only NULs) is ignored, as QEMU
	 * ignores it; anything else after a NUL is refused.
	 */
	nul = memchr(text, 0, len);
	if (nul) {
		const char *c = nul + 1, *r = c;
		size_t n;

		while (c < text + len && *c)
			c++;
		n = c - r;
		if (n && (n > 16 || n > (size_t)(nul - text) ||
			  memcmp(r, nul - n, n)))
			c = r;		/* not a remnant: refused below */
		for (; c < text + len && !*c; c++)
			;
		if (c < text + len) {
			ps.line = 1;
			for (c = text; c < nul; c++)
				ps.line += *c == '\n';
			return perr(&ps, "NUL byte in the descriptor (only NUL padding at its end is allowed)");
		}
		len = nul - text;
	}
	d = disk_alloc(path);
	if (!d) {
		svm_set_err(err, errlen, "svm-vmdk: %s: out of memory", path);
		return -ENOMEM;
	}
	d->is_descriptor = true;
	ret = parse_lines(&ps, d, text, len);
	if (ret) {
		if (ret == -ENOMEM)
			svm_set_err(err, errlen, "svm-vmdk: %s: out of memory",
				    path);
		svm_disk_free(d);
		return ret;
	}
	*out = d;
	return 0;
}

/* ------------------------------------------------------------------------
 * Opening and checking
 */

static int dev_size(int fd, const struct stat *st, uint64_t *size)
{
	if (S_ISBLK(st->st_mode))
		return ioctl(fd, BLKGETSIZE64, size) ? -errno : 0;
	*size = st->st_size;
	return 0;
}

/* Size of a regular file or block device at path. */
static int path_size(const char *path, struct stat *st, uint64_t *size)
{
	int fd, ret;

	if (stat(path, st))
		return -errno;
	if (!S_ISBLK(st->st_mode)) {
		*size = st->st_size;
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = dev_size(fd, st, size);
	close(fd);
	return ret;
}

int svm_disk_check(const struct svm_disk *d, char *err, size_t errlen)
{
	struct parser ps = { .path = d->path, .err = err, .errlen = errlen };
	struct stat *sts, dst;
	bool have_desc;
	size_t i, j;
	int ret = 0;

	sts = calloc(d->nr_extents ? d->nr_extents : 1, sizeof(*sts));
	if (!sts)
		return -ENOMEM;
	have_desc = d->is_descriptor && !stat(d->path, &dst);
	for (i = 0; i < d->nr_extents && !ret; i++) {
		const struct svm_disk_extent *e = &d->extents[i];
		uint64_t size;

		ps.line = e->line;
		ret = path_size(e->file, &sts[i], &size);
		if (ret) {
			perr(&ps, "%s: %s", e->file, strerror(-ret));
			break;
		}
		if (!S_ISREG(sts[i].st_mode) && !S_ISBLK(sts[i].st_mode)) {
			ret = perr(&ps, "%s is neither a regular file nor a block device",
				   e->file);
			break;
		}
		if (have_desc && S_ISREG(sts[i].st_mode) &&
		    sts[i].st_dev == dst.st_dev && sts[i].st_ino == dst.st_ino) {
			ret = perr(&ps, "extent file %s is the descriptor itself",
				   e->file);
			break;
		}
		if (size < e->offset + e->length) {
			ret = perr(&ps, "%s is %llu bytes, shorter than the extent's end at %llu",
				   e->file, (unsigned long long)size,
				   (unsigned long long)(e->offset + e->length));
			break;
		}
		for (j = 0; j < i; j++) {
			const struct svm_disk_extent *f = &d->extents[j];
			bool same;

			if (S_ISBLK(sts[i].st_mode))
				same = S_ISBLK(sts[j].st_mode) &&
				       sts[i].st_rdev == sts[j].st_rdev;
			else
				same = S_ISREG(sts[j].st_mode) &&
				       sts[i].st_dev == sts[j].st_dev &&
				       sts[i].st_ino == sts[j].st_ino;
			if (same && e->offset < f->offset + f->length &&
			    f->offset < e->offset + e->length) {
				ret = perr(&ps, "extent %zu (%s) overlaps extent %zu (%s): same file",
					   i + 1, e->file, j + 1, f->file);
				break;
			}
		}
	}
	free(sts);
	return ret;
}

/* Leading bytes of image formats that are not raw disks. */
static const struct {
	size_t off;
	size_t len;
	const char *magic;
	const char *what;
} magics[] = {
	{ 0, 4, "KDMV", "a sparse VMDK (KDMV magic)" },
	{ 0, 4, "COWD", "a VMware 3 sparse disk (COWD magic)" },
	{ 0, 4, "QFI\xfb", "a qcow/qcow2 image" },
	{ 0, 4, "QED\0", "a QED image" },
	{ 0, 8, "vhdxfile", "a VHDX image" },
	{ 0, 8, "conectix", "a VHD image" },
	{ 64, 4, "\x7f\x10\xda\xbe", "a VDI image" },
};

const char *svm_disk_image_format(const void *buf, size_t n)
{
	const unsigned char *b = buf;
	size_t i;

	for (i = 0; i < sizeof(magics) / sizeof(*magics); i++)
		if (n >= magics[i].off + magics[i].len &&
		    !memcmp(b + magics[i].off, magics[i].magic, magics[i].len))
			return magics[i].what;
	return NULL;
}

bool svm_disk_is_descriptor(const char *buf, size_t n)
{
	static const char hdr[] = "# Disk DescriptorFile";
	const char *p = buf, *end = buf + n;

	if (n >= sizeof(hdr) - 1 && !memcmp(buf, hdr, sizeof(hdr) - 1))
		return true;
	/* QEMU's vmdk_probe: skip blank and comment lines, then "version=" */
	while (p < end) {
		while (p < end && (is_ws(*p) || *p == '\r' || *p == '\n'))
			p++;
		if (p < end && *p == '#') {
			while (p < end && *p != '\n')
				p++;
			continue;
		}
		break;
	}
	return end - p >= 8 && !memcmp(p, "version=", 8);
}

/* Read at most max bytes from fd at 0 into a new buffer. */
static int read_head(int fd, size_t max, char **out, size_t *len)
{
	char *buf = malloc(max ? max : 1);
	size_t n = 0;

	if (!buf)
		return -ENOMEM;
	while (n < max) {
		ssize_t r = pread(fd, buf + n, max - n, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -errno;
		}
		if (!r)
			break;
		n += r;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int open_raw(const char *path, const struct stat *st, uint64_t size,
		    struct svm_disk **out, char *err, size_t errlen)
{
	struct svm_disk_extent *e;
	struct svm_disk *d;
	int ret;

	if (!size) {
		svm_set_err(err, errlen, "svm-vmdk: %s: empty disk", path);
		return -EINVAL;
	}
	if (size % SECTOR) {
		svm_set_err(err, errlen,
			    "svm-vmdk: %s: raw disk of %llu bytes, not a multiple of 512",
			    path, (unsigned long long)size);
		return -EINVAL;
	}
	if (size > SVM_DISK_MAX_SIZE) {
		svm_set_err(err, errlen,
			    "svm-vmdk: %s: raw disk of %llu bytes is larger than the 64 TiB maximum",
			    path, (unsigned long long)size);
		return -EINVAL;
	}
	d = disk_alloc(path);
	if (!d)
		goto nomem;
	d->is_block_device = S_ISBLK(st->st_mode);
	d->extents = e = calloc(1, sizeof(*e));
	if (!e)
		goto nomem;
	d->nr_extents = 1;
	e->file = abs_path(path);
	e->file_as_written = strdup(path);
	e->length = size;
	d->size = size;
	d->create_type = strdup("monolithicFlat");
	if (!e->file || !e->file_as_written || !d->create_type)
		goto nomem;
	ret = template_lines(d, "ide");
	if (ret)
		goto nomem;
	*out = d;
	return 0;
nomem:
	svm_disk_free(d);
	svm_set_err(err, errlen, "svm-vmdk: %s: out of memory", path);
	return -ENOMEM;
}

int svm_disk_open_flags(const char *path, unsigned int flags,
			struct svm_disk **out, char *err, size_t errlen)
{
	struct svm_disk *d = NULL;
	char *buf = NULL;
	const char *fmt;
	struct stat st;
	uint64_t size;
	size_t n = 0;
	int fd, ret;

	*out = NULL;
	if ((flags & SVM_DISK_RAW) && (flags & SVM_DISK_DESCRIPTOR)) {
		svm_set_err(err, errlen,
			    "svm-vmdk: %s: SVM_DISK_RAW and SVM_DISK_DESCRIPTOR both given",
			    path);
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		svm_set_err(err, errlen, "svm-vmdk: %s: %s", path,
			    strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) || dev_size(fd, &st, &size)) {
		ret = -errno;
		svm_set_err(err, errlen, "svm-vmdk: %s: %s", path,
			    strerror(-ret));
		goto out;
	}
	ret = -EINVAL;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		svm_set_err(err, errlen,
			    "svm-vmdk: %s: neither a regular file nor a block device",
			    path);
		goto out;
	}
	if (S_ISBLK(st.st_mode) || (flags & SVM_DISK_RAW)) {
		if (flags & SVM_DISK_DESCRIPTOR) {
			svm_set_err(err, errlen,
				    "svm-vmdk: %s: a block device, not a descriptor",
				    path);
			goto out;
		}
		ret = open_raw(path, &st, size, &d, err, errlen);
		goto out;
	}
	/* a regular file: probe its first 4 KiB */
	ret = read_head(fd, 4096, &buf, &n);
	if (ret) {
		svm_set_err(err, errlen, "svm-vmdk: %s: %s", path,
			    strerror(-ret));
		goto out;
	}
	ret = -EINVAL;
	fmt = svm_disk_image_format(buf, n);
	if (fmt) {
		svm_set_err(err, errlen,
			    "svm-vmdk: %s: %s: svmotion moves flat VMDK descriptors and raw disks only",
			    path, fmt);
		goto out;
	}
	if (!svm_disk_is_descriptor(buf, n)) {
		if (flags & SVM_DISK_DESCRIPTOR) {
			svm_set_err(err, errlen,
				    "svm-vmdk: %s: not a VMDK descriptor (no \"# Disk DescriptorFile\" header)",
				    path);
			goto out;
		}
		ret = open_raw(path, &st, size, &d, err, errlen);
		goto out;
	}
	/* a descriptor: read it whole (one byte more tells it is too long) */
	free(buf);
	buf = NULL;
	ret = read_head(fd, SVM_DISK_MAX_DESC + 1, &buf, &n);
	if (ret) {
		svm_set_err(err, errlen, "svm-vmdk: %s: %s", path,
			    strerror(-ret));
		goto out;
	}
	ret = svm_disk_parse(buf, n, path, &d, err, errlen);
	if (ret)
		goto out;
	if (!(flags & SVM_DISK_NO_CHECK))
		ret = svm_disk_check(d, err, errlen);
out:
	free(buf);
	close(fd);
	if (ret)
		svm_disk_free(d);
	else
		*out = d;
	return ret;
}

int svm_disk_open(const char *path, struct svm_disk **out,
		  char *err, size_t errlen)
{
	return svm_disk_open_flags(path, 0, out, err, errlen);
}

/* ------------------------------------------------------------------------
 * New extents
 */

/* Validate and copy n given extents (files resolved against dir). */
static int copy_extents(struct parser *ps, const char *dir,
			const struct svm_disk_extent *ext, size_t n,
			struct svm_disk_extent **out, uint64_t *total)
{
	struct svm_disk_extent *e;
	uint64_t sum = 0;
	size_t i;
	int ret;

	ps->line = 0;
	if (!n)
		return perr(ps, "no extents");
	if (n > SVM_DISK_MAX_EXTENTS)
		return perr(ps, "more than %d extents", SVM_DISK_MAX_EXTENTS);
	e = calloc(n, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		ret = check_extent(ps, ext[i].file, ext[i].offset,
				   ext[i].length);
		if (ret)
			goto fail;
		if (SVM_DISK_MAX_SIZE - sum < ext[i].length) {
			ret = perr(ps, "disk larger than the 64 TiB maximum");
			goto fail;
		}
		sum += ext[i].length;
		e[i].file = path_join(dir, ext[i].file);
		if (!e[i].file) {
			ret = -ENOMEM;
			goto fail;
		}
		e[i].offset = ext[i].offset;
		e[i].length = ext[i].length;
		e[i].type = ext[i].type == SVM_EXTENT_VMFS ? SVM_EXTENT_VMFS :
			    SVM_EXTENT_FLAT;
	}
	ret = check_name_overlaps(ps, e, n);
	if (ret)
		goto fail;
	*out = e;
	*total = sum;
	return 0;
fail:
	free_extents(e, n);
	return ret;
}

int svm_disk_set_extents(struct svm_disk *d, const struct svm_disk_extent *ext,
			 size_t n, char *err, size_t errlen)
{
	struct parser ps = { .path = d->path, .err = err, .errlen = errlen };
	struct svm_disk_extent *e;
	char *ct = NULL;
	uint64_t total;
	int ret;

	ret = copy_extents(&ps, d->priv->dir, ext, n, &e, &total);
	if (ret == -ENOMEM)
		svm_set_err(err, errlen, "svm-vmdk: %s: out of memory", d->path);
	if (ret)
		return ret;
	if (total != d->size) {
		free_extents(e, n);
		return perr(&ps, "new extents add up to %llu bytes, the disk is %llu",
			    (unsigned long long)total,
			    (unsigned long long)d->size);
	}
	if (n > 1 && d->create_type &&
	    !strcmp(d->create_type, "monolithicFlat")) {
		ct = strdup("twoGbMaxExtentFlat");
		if (!ct) {
			free_extents(e, n);
			svm_set_err(err, errlen, "svm-vmdk: %s: out of memory",
				    d->path);
			return -ENOMEM;
		}
		free(d->create_type);
		d->create_type = ct;
	}
	free_extents(d->extents, d->nr_extents);
	d->extents = e;
	d->nr_extents = n;
	return 0;
}

int svm_disk_new(const char *desc_path, const struct svm_disk_extent *ext,
		 size_t n, const char *adapter_type, struct svm_disk **out,
		 char *err, size_t errlen)
{
	struct parser ps = { .path = desc_path, .err = err, .errlen = errlen };
	struct svm_disk *d;
	const char *ct;
	size_t i;
	int ret;

	*out = NULL;
	if (!adapter_type)
		adapter_type = "ide";
	for (i = 0; i < sizeof(adapter_types) / sizeof(*adapter_types); i++)
		if (!strcmp(adapter_type, adapter_types[i]))
			break;
	if (i == sizeof(adapter_types) / sizeof(*adapter_types))
		return perr(&ps, "unknown adapter type \"%s\"", adapter_type);
	d = disk_alloc(desc_path);
	if (!d) {
		ret = -ENOMEM;
		goto fail;
	}
	d->is_descriptor = true;
	ret = copy_extents(&ps, d->priv->dir, ext, n, &d->extents, &d->size);
	if (ret)
		goto fail;
	d->nr_extents = n;
	if (n > 1)
		ct = "twoGbMaxExtentFlat";
	else if (d->extents[0].type == SVM_EXTENT_VMFS)
		ct = "vmfs";
	else
		ct = "monolithicFlat";
	d->create_type = strdup(ct);
	ret = d->create_type ? template_lines(d, adapter_type) : -ENOMEM;
	if (ret)
		goto fail;
	*out = d;
	return 0;
fail:
	if (ret == -ENOMEM)
		svm_set_err(err, errlen, "svm-vmdk: %s: out of memory",
			    desc_path);
	svm_disk_free(d);
	return ret;
}

/* ------------------------------------------------------------------------
 * Formatting and writing
 */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	char *np;
	int n;

	if (sb->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(sb->p + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			sb->oom = true;
			return;
		}
		if (sb->len + n < sb->cap) {
			sb->len += n;
			return;
		}
		np = realloc(sb->p, 2 * (sb->len + n + 1));
		if (!np) {
			sb->oom = true;
			return;
		}
		sb->p = np;
		sb->cap = 2 * (sb->len + n + 1);
	}
}

/*
 * The name of extent file f as written in a descriptor in directory dir
 * (absolute, resolved): relative when f is in dir or below it.
 */
static char *name_as_written(const char *dir, const char *f)
{
	char *fdir = dir_part(f), *real, *canon, *ret;
	size_t dl = strlen(dir);

	if (!fdir)
		return NULL;
	real = realpath(fdir, NULL);
	free(fdir);
	canon = real ? path_join(real, base_part(f)) : strdup(f);
	free(real);
	if (!canon)
		return NULL;
	if (dl && dir[dl - 1] == '/')
		dl--;
	if (!strncmp(canon, dir, dl) && canon[dl] == '/' && canon[dl + 1])
		ret = strdup(canon + dl + 1);
	else
		ret = strdup(f);
	free(canon);
	return ret;
}

int svm_disk_format_descriptor(const struct svm_disk *d, const char *desc_path,
			       char **out, size_t *len,
			       char *err, size_t errlen)
{
	const char *path = desc_path ? desc_path : d->path;
	struct parser ps = { .path = path, .err = err, .errlen = errlen };
	struct sbuf sb = { .p = malloc(4096), .cap = 4096 };
	char *dir = abs_dir_of(path), *name = NULL;
	size_t i, j;
	int ret = 0;

	*out = NULL;
	if (!sb.p || !dir) {
		ret = -ENOMEM;
		goto done;
	}
	sb.p[0] = 0;
	for (i = 0; i < d->priv->nr_lines && !ret; i++) {
		const struct desc_line *l = &d->priv->lines[i];

		switch (l->kind) {
		case LINE_TEXT:
			sb_printf(&sb, "%s\n", l->text);
			break;
		case LINE_CID:
			if (d->cid)
				sb_printf(&sb, "CID=%s\n", d->cid);
			break;
		case LINE_PARENT_CID:
			if (d->parent_cid)
				sb_printf(&sb, "parentCID=%s\n",
					  d->parent_cid);
			break;
		case LINE_CREATE_TYPE:
			if (d->create_type)
				sb_printf(&sb, "createType=\"%s\"\n",
					  d->create_type);
			break;
		case LINE_EXTENTS:
			for (j = 0; j < d->nr_extents; j++) {
				const struct svm_disk_extent *e =
					&d->extents[j];

				free(name);
				name = name_as_written(dir, e->file);
				if (!name) {
					ret = -ENOMEM;
					break;
				}
				if (strlen(name) > SVM_DISK_MAX_NAME) {
					ret = perr(&ps, "extent file name of %zu bytes (QEMU reads at most %d): %.40s...",
						   strlen(name),
						   SVM_DISK_MAX_NAME, name);
					break;
				}
				if (e->type == SVM_EXTENT_VMFS && !e->offset)
					sb_printf(&sb, "RW %llu VMFS \"%s\"\n",
						  (unsigned long long)(e->length / SECTOR),
						  name);
				else
					sb_printf(&sb, "RW %llu FLAT \"%s\" %llu\n",
						  (unsigned long long)(e->length / SECTOR),
						  name,
						  (unsigned long long)(e->offset / SECTOR));
			}
			break;
		}
	}
	if (!ret && sb.oom)
		ret = -ENOMEM;
	if (!ret && sb.len > SVM_DISK_MAX_DESC)
		ret = perr(&ps, "descriptor of %zu bytes is larger than %d",
			   sb.len, SVM_DISK_MAX_DESC);
done:
	if (ret == -ENOMEM)
		svm_set_err(err, errlen, "svm-vmdk: %s: out of memory", path);
	free(name);
	free(dir);
	if (ret) {
		free(sb.p);
		return ret;
	}
	*out = sb.p;
	if (len)
		*len = sb.len;
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * Only a descriptor is ever replaced: never a directory, a device, a raw
 * image or an extent file given by mistake.
 */
static int replaceable(const char *target, const struct stat *st,
		       const char **what)
{
	char *head = NULL;
	size_t n = 0;
	int fd, ret;

	if (S_ISDIR(st->st_mode)) {
		*what = "is a directory: not replaced";
		return -EISDIR;
	}
	if (!S_ISREG(st->st_mode) || st->st_size > SVM_DISK_MAX_DESC) {
		*what = "exists and is not a VMDK descriptor: not replaced";
		return -EEXIST;
	}
	fd = open(target, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*what = "cannot read the descriptor it replaces";
		return -errno;
	}
	ret = read_head(fd, 4096, &head, &n);
	close(fd);
	if (ret) {
		*what = "cannot read the descriptor it replaces";
		return ret;
	}
	ret = 0;
	if (!svm_disk_is_descriptor(head, n)) {
		*what = "exists and is not a VMDK descriptor: not replaced";
		ret = -EEXIST;
	}
	free(head);
	return ret;
}

int svm_disk_write_descriptor(const struct svm_disk *d, const char *path,
			      char *err, size_t errlen)
{
	char *text = NULL, *target = NULL, *dir = NULL, *tmp = NULL;
	const char *what = "write";
	bool have_old, plain = false;
	struct stat st;
	size_t len;
	int fd = -1, dfd, ret;

	if (!path && !d->is_descriptor) {
		svm_set_err(err, errlen,
			    "svm-vmdk: %s: a raw disk: its descriptor needs a path of its own",
			    d->path);
		return -EINVAL;
	}
	if (!path)
		path = d->path;
	ret = svm_disk_format_descriptor(d, path, &text, &len, err, errlen);
	if (ret)
		return ret;
	target = realpath(path, NULL);
	if (!target)
		target = strdup(path);
	dir = target ? dir_part(target) : NULL;
	tmp = dir ? xasprintf("%s/.%s.tmp-XXXXXX", dir, base_part(target)) :
		    NULL;
	if (!tmp) {
		ret = -ENOMEM;
		what = "out of memory";
		goto fail;
	}
	have_old = !stat(target, &st);
	if (have_old) {
		ret = replaceable(target, &st, &what);
		if (ret) {
			free(tmp);
			tmp = NULL;
			plain = true;
			goto fail;
		}
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		what = "creating a temporary file";
		free(tmp);
		tmp = NULL;
		goto fail;
	}
	ret = write_all(fd, text, len);
	if (ret)
		goto fail;
	if (fchmod(fd, have_old ? (st.st_mode & 07777) : 0644)) {
		ret = -errno;
		what = "fchmod";
		goto fail;
	}
	if (have_old && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid) && errno != EPERM) {
		ret = -errno;
		what = "fchown";
		goto fail;
	}
	if (fsync(fd)) {
		ret = -errno;
		what = "fsync";
		goto fail;
	}
	ret = close(fd) ? -errno : 0;
	fd = -1;
	if (ret) {
		what = "close";
		goto fail;
	}
	if (rename(tmp, target)) {
		ret = -errno;
		what = "rename";
		goto fail;
	}
	free(tmp);
	tmp = NULL;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd)) {
		ret = -errno;
		what = "fsync of the directory (the new descriptor is in place)";
	}
	if (dfd >= 0)
		close(dfd);
	if (!ret)
		goto out;
fail:
	if (plain)
		svm_set_err(err, errlen, "svm-vmdk: %s: %s", path, what);
	else
		svm_set_err(err, errlen, "svm-vmdk: %s: %s: %s", path, what,
			    strerror(-ret));
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
out:
	free(tmp);
	free(dir);
	free(target);
	free(text);
	return ret;
}
