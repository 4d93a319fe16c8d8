// SPDX-License-Identifier: GPL-2.0
/*
 * remote.c - svmotion cold with URLs: disks and datastores on NFS servers
 * (nfs://, through libnfs) and iSCSI targets (iscsi://, through libiscsi),
 * mixed freely with paths. migrate.c plans and copies as for paths; this
 * file knows what a URL is:
 *
 *   datastores  nfs://SERVER[:PORT]/EXPORT/DIR[?version=3|4] is a directory
 *               (the disk's files are created in it, exclusively);
 *               iscsi://[USER[%PASSWORD]@]PORTAL[:PORT]/IQN/LUN is a LUN
 *               used from offset 0, like a block device. A :SIZE suffix
 *               follows the URL (ds_size_colon).
 *   disks       nfs://.../FILE is a VMDK descriptor (probed as svm-vmdk
 *               probes a file; its relative extent names are files in the
 *               same NFS directory, names that are URLs are URLs, absolute
 *               names are paths here, as QEMU reads them) or a raw image;
 *               iscsi://... is a raw disk of the LUN's size, named
 *               "<IQN's part after its last ':'>-lun<N>".
 *   checks      before anything is written: every server reachable, the
 *               disk's files present and long enough; a destination file
 *               (local or NFS) must not exist and a device or LUN must read
 *               zeros in its first MiB, unless --force; a LUN must hold its
 *               share; NFS room through the endpoint's space() (statvfs
 *               over NFS). To learn the room and that the directory is
 *               writable the checks create the NFS destination files
 *               (exclusively, empty); a refusal removes them again.
 *   output      with a URL anywhere the source is never changed: a
 *               descriptor (when the disk was one, or is split) is written
 *               as <DS>/<NAME>.vmdk in the first directory datastore (local
 *               or NFS), extents named relative to it where they are in it,
 *               else by path or URL (iSCSI URLs without the password). A raw
 *               disk copied to one file, device or LUN gets none; a disk
 *               split over devices and LUNs only has nowhere to put one and
 *               is refused.
 *   failure     what the command made is removed (NFS files through the
 *               endpoint's remove op, or libnfs directly where the endpoint
 *               has none), devices and LUNs it wrote get their first MiB
 *               zeroed, so that nothing looks like a disk.
 *
 * Exit codes: a URL that does not parse is a usage error (2), with the
 * parser's reason; whatever is found by asking a server (unreachable,
 * missing export, file or LUN, no room, data present) is a refusal (3).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nfsc/libnfs.h>

#include "svm-ep.h"
#include "svm-url.h"
#include "svm-vmdk.h"
#include "svmotion.h"

#define HEAD_BYTES	(1u << 20)	/* a destination's first MiB */
#define PROBE_BYTES	4096
/* where a descriptor on NFS is formatted (never touched: names only) */
#define REMOTE_DIR	"/nonexistent/.svmotion-remote"

static struct svm_ep_params params(const struct opts *o)
{
	struct svm_ep_params p = { .timeout_ms = o ? o->timeout_ms : 0 };

	return p;
}

static bool is_scheme(const char *s, const char *scheme)
{
	size_t n = strlen(scheme);

	return !strncasecmp(s, scheme, n) && !strncmp(s + n, "://", 3);
}

/* Where the URL's path begins (after scheme, user, host and port). */
static const char *url_path(const char *s)
{
	const char *a = strstr(s, "://");

	a = a ? a + 3 : s;
	return a + strcspn(a, "/?");
}

const char *url_show(const char *spec, char *buf, size_t len)
{
	const char *a, *path, *at, *pct;

	if (!spec || !svm_ep_is_url(spec)) {
		snprintf(buf, len, "%s", spec ? spec : "");
		return buf;
	}
	a = strstr(spec, "://") + 3;
	path = url_path(spec);
	at = memchr(a, '@', path - a);
	pct = at ? memchr(a, '%', at - a) : NULL;
	if (!pct) {
		snprintf(buf, len, "%s", spec);
		return buf;
	}
	/* the user stays, the password goes */
	snprintf(buf, len, "%.*s%s", (int)(pct - spec), spec, at);
	return buf;
}

char *ds_size_colon(char *tok)
{
	char *path, *colon, *tail;

	if (!svm_ep_is_url(tok))
		return strrchr(tok, ':');
	path = (char *)url_path(tok);
	colon = strrchr(path, ':');
	if (!colon)
		return NULL;
	tail = colon + 1;
	if (strchr(tail, '/'))
		return NULL;	/* in an IQN or a path */
	if (*tail && (*tail < '0' || *tail > '9'))
		return NULL;	/* a name such as "dir:abc" */
	return colon;		/* "dir:4G?version=4" too: not a size, said so */
}

/* Percent-escape name for a URL path ('/' kept when slash). */
static int escape(const char *name, bool slash, char *out, size_t len)
{
	static const char keep[] = "-._~!$&'()*+;=@";
	size_t o = 0;

	for (; *name; name++) {
		unsigned char c = *name;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || strchr(keep, c) ||
			     (slash && c == '/');

		if (c && plain) {
			if (o + 2 > len)
				return -ENAMETOOLONG;
			out[o++] = c;
		} else {
			if (o + 4 > len)
				return -ENAMETOOLONG;
			snprintf(out + o, 4, "%%%02X", c);
			o += 3;
		}
	}
	if (o + 1 > len)
		return -ENAMETOOLONG;
	out[o] = 0;
	return 0;
}

/* nfs://h/e/dir[?q] + name -> nfs://h/e/dir/NAME[?q]; 0 or -ENAMETOOLONG. */
static int nfs_child(const char *dir, const char *name, bool slash, char *out,
		     size_t len)
{
	const char *q = strchr(url_path(dir), '?');
	size_t bl = q ? (size_t)(q - dir) : strlen(dir);
	char esc[PATH_MAX * 3];
	int n;

	if (escape(name, slash, esc, sizeof(esc)))
		return -ENAMETOOLONG;
	n = snprintf(out, len, "%.*s/%s%s", (int)bl, dir, esc, q ? q : "");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The NFS URL's directory (everything before its file) and query. */
static void nfs_parent(const char *url, char *dir, size_t len, const char **query)
{
	const char *q = strchr(url_path(url), '?');
	size_t bl = q ? (size_t)(q - url) : strlen(url);
	const char *sl = memrchr(url, '/', bl);

	*query = q ? q : "";
	if (!sl || sl < url_path(url))
		sl = url + bl;
	snprintf(dir, len, "%.*s", (int)(sl - url), url);
}

int ds_join(const struct ds_part *ds, const char *fname, char *out, size_t len)
{
	int n;

	if (ds->kind == DS_NFS) {
		if (!nfs_child(ds->path, fname, false, out, len))
			return 0;
	} else {
		n = snprintf(out, len, "%s/%s", ds->path, fname);
		if (n >= 0 && (size_t)n < len)
			return 0;
	}
	msg("datastore %s: the path of %s would be too long", ds->path, fname);
	return -1;
}

/* ---- datastores ---------------------------------------------------------- */

/* The NFS datastore dir parsed as the URL of a file in it. */
static int nfs_ds_url(const char *dir, struct svm_url *u, char *err, size_t errlen)
{
	char probe[SVM_URL_PATH_MAX * 2];

	if (nfs_child(dir, "x", false, probe, sizeof(probe))) {
		snprintf(err, errlen, "URL too long");
		return -ENAMETOOLONG;
	}
	return svm_url_parse(probe, u, err, errlen);
}

/*
 * The refusal of a live migrate to a URL datastore, with the mount or login
 * that would make it a path: -1, or -2 for a URL that does not parse.
 */
const char *remote_live_words(const char *tok, char *buf, size_t len)
{
	struct svm_url *u = calloc(1, sizeof(*u));
	char shown[512], err[256], host[SVM_URL_HOST_MAX + 2];
	const char *mnt;
	int ret;

	url_show(tok, shown, sizeof(shown));
	if (!u) {
		snprintf(buf, len, "datastore %s: out of memory", shown);
		return buf;
	}
	ret = is_scheme(tok, "nfs") ? nfs_ds_url(tok, u, err, sizeof(err)) :
	      svm_url_parse(tok, u, err, sizeof(err));
	if (ret) {
		snprintf(buf, len, "datastore %s: %s", shown, err);
		free(u);
		return NULL;
	}
	snprintf(host, sizeof(host), u->ipv6 ? "[%s]" : "%s", u->host);
	if (u->scheme == SVM_URL_NFS) {
		char opt[32];

		mnt = strrchr(u->export_, '/');
		mnt = mnt && mnt[1] ? mnt + 1 : "svm";
		if (u->port)
			snprintf(opt, sizeof(opt), "vers=%d,port=%u",
				 u->nfs_version == 4 ? 4 : 3, u->port);
		else
			snprintf(opt, sizeof(opt), "vers=%d", u->nfs_version == 4 ? 4 : 3);
		snprintf(buf, len, "datastore %s is not mounted here: a running disk moves through the kernel's NFS client: mount -t nfs -o %s %s:%s /mnt/%s and use --to /mnt/%s, or svmotion cold for a powered-off disk",
			 shown, opt, host, u->export_, mnt, mnt);
	} else {
		char portal[SVM_URL_HOST_MAX + 16];

		snprintf(portal, sizeof(portal), "%s:%u", host,
			 u->port ? u->port : 3260);
		snprintf(buf, len, "datastore %s: a running disk moves through the kernel's iSCSI initiator: log in with iscsiadm -m discovery -t sendtargets -p %s && iscsiadm -m node -T %s -p %s --login and use the /dev/sdX of LUN %u it gives, or svmotion cold for a powered-off disk",
			 shown, portal, u->iqn, portal, u->lun);
	}
	free(u);
	return buf;
}

static int live_hint(const char *tok)
{
	char buf[2048];
	bool ok = remote_live_words(tok, buf, sizeof(buf)) != NULL;

	msg("%s", buf);
	return ok ? -1 : -2;
}

int remote_ds_parse(struct ds_part *ds, bool cold)
{
	struct svm_url *u;
	char err[256], shown[512];
	size_t l;
	int ret;

	url_show(ds->path, shown, sizeof(shown));
	if (!cold)
		return live_hint(ds->path) == -2 ? -EINVAL : -EPERM;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	if (is_scheme(ds->path, "nfs")) {
		char *p = (char *)url_path(ds->path), *q = strchr(p, '?');

		/* "nfs://h/e/dir/" is the directory "nfs://h/e/dir" */
		l = q ? (size_t)(q - ds->path) : strlen(ds->path);
		while (l > (size_t)(p - ds->path) + 1 && ds->path[l - 1] == '/') {
			memmove(ds->path + l - 1, ds->path + l, strlen(ds->path + l) + 1);
			l--;
		}
		ds->kind = DS_NFS;
		q = strchr(p, '?');
		if (p == q || !*p || ((p[0] == '/' && (p + 1 == q || !p[1])))) {
			msg("datastore %s: no export: expected nfs://SERVER/EXPORT[/DIR][?version=3|4]",
			    shown);
			free(u);
			return -EINVAL;
		}
		/* the URL's own faults first; then as the directory of a file */
		ret = svm_url_parse(ds->path, u, err, sizeof(err));
		if (ret && !nfs_ds_url(ds->path, u, NULL, 0))
			ret = 0;	/* nfs://SERVER/EXPORT: the export's root */
	} else {
		ds->kind = DS_LUN;
		ds->blk = true;
		ret = svm_url_parse(ds->path, u, err, sizeof(err));
	}
	free(u);
	if (ret) {
		msg("datastore %s: %s", shown, err);
		return -EINVAL;
	}
	return 0;
}

int remote_refuse_live(const struct opts *o)
{
	const char *specs[65];
	size_t n = 0, i;

	if (o->to)
		specs[n++] = o->to;
	for (i = 0; i < o->nplace; i++)
		specs[n++] = strchr(o->place[i], '=') + 1;
	for (i = 0; i < n; i++) {
		char *copy = strdup(specs[i]), *save = NULL, *tok;

		if (!copy)
			return -1;
		for (tok = strtok_r(copy, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			char *colon;
			int ret;

			if (!svm_ep_is_url(tok))
				continue;
			colon = ds_size_colon(tok);
			if (colon)
				*colon = 0;
			ret = live_hint(tok);
			free(copy);
			return ret;
		}
		free(copy);
	}
	return 0;
}

/* ---- helpers over endpoints -------------------------------------------- */

/* Open spec for reading; on failure a message "what: err" and -errno. */
static int open_ro(const char *spec, const struct opts *o, struct svm_ep **ep,
		   char *err, size_t errlen)
{
	struct svm_ep_params p = params(o);

	return svm_ep_open(spec, 0, &p, ep, err, errlen);
}

/* Whether [0, n) of ep reads all zeros: 1 yes, 0 no, -errno. */
static int head_is_zero(struct svm_ep *ep, uint64_t n)
{
	unsigned char *buf;
	size_t i;
	int ret;

	if (n > HEAD_BYTES)
		n = HEAD_BYTES;
	if (ep->block_size > 1)
		n -= n % ep->block_size;
	if (!n)
		return 1;
	buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	ret = svm_ep_pread(ep, buf, n, 0);
	if (!ret) {
		ret = 1;
		for (i = 0; i < n; i++)
			if (buf[i]) {
				ret = 0;
				break;
			}
	}
	free(buf);
	return ret;
}

/* Decoded last component of an NFS URL (its file name). */
static int url_file(const char *url, char *out, size_t len)
{
	struct svm_url *u = calloc(1, sizeof(*u));
	int ret = -ENOMEM;

	if (u) {
		ret = svm_url_parse(url, u, NULL, 0);
		if (!ret)
			snprintf(out, len, "%s", u->file);
	}
	free(u);
	return ret;
}

/* An iSCSI URL as written into a descriptor: without the password. */
static void url_for_desc(const char *url, char *out, size_t len)
{
	struct svm_url *u = calloc(1, sizeof(*u));

	if (u && is_scheme(url, "iscsi") && !svm_url_parse(url, u, NULL, 0))
		svm_url_format(u, out, len);
	else
		snprintf(out, len, "%s", url);
	free(u);
}

/* libnfs directly: unlink the file of an NFS URL (endpoints without remove). */
static int nfs_unlink_url(const char *url, int timeout_ms, char *err,
			  size_t errlen)
{
	struct svm_url *u = calloc(1, sizeof(*u));
	struct nfs_context *nfs = NULL;
	char args[64], path[SVM_URL_PATH_MAX + 2];
	int ret;

	if (!u)
		return -ENOMEM;
	ret = svm_url_parse(url, u, err, errlen);
	if (ret)
		goto out;
	ret = -ENOMEM;
	nfs = nfs_init_context();
	if (!nfs)
		goto out;
	nfs_set_version(nfs, u->nfs_version == 4 ? 4 : 3);
	nfs_set_timeout(nfs, timeout_ms > 0 ? timeout_ms : SVM_EP_DEFAULT_TIMEOUT_MS);
	/* libnfs 4.0 takes the port only as a URL argument (as svm-ep-nfs.c) */
	if (u->port)
		snprintf(args, sizeof(args),
			 "nfs:///?auto-traverse-mounts=0&nfsport=%u", u->port);
	else
		snprintf(args, sizeof(args), "nfs:///?auto-traverse-mounts=0");
	{
		struct nfs_url *nu = nfs_parse_url_incomplete(nfs, args);

		if (nu)
			nfs_destroy_url(nu);
	}
	ret = nfs_mount(nfs, u->host, u->export_);
	if (ret) {
		snprintf(err, errlen, "mounting %s:%s: %s", u->host, u->export_,
			 nfs_get_error(nfs));
		ret = ret < 0 ? ret : -EIO;
		goto out;
	}
	snprintf(path, sizeof(path), "/%s", u->file);
	ret = nfs_unlink(nfs, path);
	if (ret == -ENOENT)
		ret = 0;
	else if (ret)
		snprintf(err, errlen, "removing %s: %s", u->file, nfs_get_error(nfs));
out:
	if (nfs)
		nfs_destroy_context(nfs);
	memset(u, 0, sizeof(*u));
	free(u);
	return ret;
}

int remote_remove(const char *spec, int timeout_ms, char *err, size_t errlen)
{
	struct svm_ep_params p = { .timeout_ms = timeout_ms };
	struct svm_ep *ep = NULL;
	int ret;

	if (err && errlen)
		err[0] = 0;
	if (!svm_ep_is_url(spec)) {
		if (unlink(spec) && errno != ENOENT) {
			ret = -errno;
			snprintf(err, errlen, "%s", strerror(errno));
			return ret;
		}
		return 0;
	}
	if (!is_scheme(spec, "nfs")) {
		snprintf(err, errlen, "not a file");
		return -EOPNOTSUPP;
	}
	ret = svm_ep_open(spec, 0, &p, &ep, err, errlen);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	ret = svm_ep_remove(ep);
	if (ret && ret != -EOPNOTSUPP)
		snprintf(err, errlen, "%s", ep->msg);
	svm_ep_close(ep);
	if (ret == -EOPNOTSUPP)
		ret = nfs_unlink_url(spec, timeout_ms, err, errlen);
	return ret;
}

/* ---- disks given as URLs -------------------------------------------------- */

static int set_name(struct job *j, const char *base, const char *shown)
{
	if (disk_name(base, j->name, sizeof(j->name))) {
		msg("%s: no usable name in its file name", shown);
		return -1;
	}
	return 0;
}

static int one_extent(struct job *j, const char *spec, uint64_t size)
{
	j->src = calloc(1, sizeof(*j->src));
	if (!j->src)
		return -1;
	j->nr_src = 1;
	j->src[0].file = strdup(spec);
	j->src[0].dev = strdup(spec);
	j->src[0].length = size;
	j->size = size;
	return j->src[0].file && j->src[0].dev ? 0 : -1;
}

static int raw_size_ok(uint64_t size, const char *shown)
{
	if (!size)
		msg("%s: empty disk", shown);
	else if (size % 512)
		msg("%s: raw disk of %llu bytes, not a multiple of 512", shown,
		    (unsigned long long)size);
	else if (size > SVM_DISK_MAX_SIZE)
		msg("%s: raw disk of %llu bytes is larger than the 64 TiB maximum",
		    shown, (unsigned long long)size);
	else
		return 0;
	return -1;
}

/* A descriptor on NFS: its extents as URLs (or paths), checked. */
static int nfs_descriptor(struct job *j, const struct opts *o, char *text,
			  size_t len, const char *shown)
{
	char err[512], dir[SVM_URL_PATH_MAX * 2];
	const char *query;
	size_t k;
	int ret;

	ret = svm_disk_parse(text, len, j->arg, &j->disk, err, sizeof(err));
	if (ret) {
		msg("%s", err);
		return -1;
	}
	nfs_parent(j->arg, dir, sizeof(dir), &query);
	j->nr_src = j->disk->nr_extents;
	j->src = calloc(j->nr_src, sizeof(*j->src));
	if (!j->src)
		return -1;
	for (k = 0; k < j->nr_src; k++) {
		const struct svm_disk_extent *e = &j->disk->extents[k];
		const char *w = e->file_as_written;
		char url[SVM_URL_PATH_MAX * 3], base[sizeof(dir) + 4];

		if (svm_ep_is_url(w) || w[0] == '/') {
			snprintf(url, sizeof(url), "%s", w);
		} else {
			snprintf(base, sizeof(base), "%s%s", dir, query);
			if (nfs_child(base, w, true, url, sizeof(url))) {
				msg("%s:%u: extent name too long for a URL", shown,
				    e->line);
				return -1;
			}
		}
		j->src[k].file = strdup(url);
		j->src[k].dev = strdup(url);
		j->src[k].offset = e->offset;
		j->src[k].length = e->length;
		if (!j->src[k].file || !j->src[k].dev)
			return -1;
		if (!strcmp(url, j->arg)) {
			msg("%s:%u: the extent is the descriptor itself", shown, e->line);
			return -1;
		}
	}
	j->size = j->disk->size;
	j->src_text = text;
	j->src_len = len;
	return remote_check_extents(j, o);
}

int remote_open_disk(struct job *j, const struct opts *o)
{
	struct svm_url *u = calloc(1, sizeof(*u));
	struct svm_ep *ep = NULL;
	char err[512], shown[512], base[SVM_URL_PATH_MAX];
	char *text = NULL;
	size_t i;
	int ret = -1;

	j->remote = true;
	url_show(j->arg, shown, sizeof(shown));
	if (!u)
		return -1;
	if (svm_url_parse(j->arg, u, err, sizeof(err))) {
		msg("%s: %s", shown, err);
		free(u);
		return -2;
	}
	if (open_ro(j->arg, o, &ep, err, sizeof(err))) {
		msg("%s", err);
		goto out;
	}
	if (u->scheme == SVM_URL_ISCSI) {
		const char *c = strrchr(u->iqn, ':');

		if (!c)
			c = strrchr(u->iqn, '.');
		snprintf(base, sizeof(base), "%s-lun%u", c ? c + 1 : u->iqn, u->lun);
		if (raw_size_ok(ep->size, shown) || set_name(j, base, shown) ||
		    one_extent(j, j->arg, ep->size))
			goto out;
		snprintf(base, sizeof(base), "%s.img", j->name);
		j->raw_name = strdup(base);
		ret = 0;
		goto out;
	}
	/* nfs: a descriptor or a raw image, probed */
	text = malloc(PROBE_BYTES);
	if (!text)
		goto out;
	{
		size_t n = ep->size < PROBE_BYTES ? ep->size : PROBE_BYTES;
		const char *fmt;

		if (n && svm_ep_pread(ep, text, n, 0)) {
			msg("%s: reading: %s", shown, ep->msg);
			goto out;
		}
		fmt = svm_disk_image_format(text, n);
		if (fmt) {
			msg("%s: %s: svmotion moves flat VMDK descriptors and raw disks only",
			    shown, fmt);
			goto out;
		}
		if (set_name(j, u->file, shown))
			goto out;
		if (!svm_disk_is_descriptor(text, n)) {
			if (raw_size_ok(ep->size, shown) || one_extent(j, j->arg, ep->size))
				goto out;
			j->raw_name = strdup(u->file);
			ret = 0;
			goto out;
		}
	}
	if (ep->size > SVM_DISK_MAX_DESC) {
		msg("%s: descriptor larger than %d bytes", shown, SVM_DISK_MAX_DESC);
		goto out;
	}
	free(text);
	text = malloc(ep->size + 1);
	if (!text)
		goto out;
	if (svm_ep_pread(ep, text, ep->size, 0)) {
		msg("%s: reading: %s", shown, ep->msg);
		goto out;
	}
	text[ep->size] = 0;
	i = ep->size;
	svm_ep_close(ep);
	ep = NULL;
	ret = nfs_descriptor(j, o, text, i, shown);
out:
	if (text != j->src_text)
		free(text);
	svm_ep_close(ep);
	free(u);
	return ret;
}

int remote_check_extents(struct job *j, const struct opts *o)
{
	char err[512], shown[512];
	size_t k;

	j->remote = true;
	for (k = 0; k < j->nr_src; k++) {
		const struct svm_ext *e = &j->src[k];
		uint64_t end = e->offset + e->length, size = 0;
		struct svm_ep *ep = NULL;
		uint32_t bs = 1;

		url_show(e->file, shown, sizeof(shown));
		if (svm_ep_is_url(e->file)) {
			struct svm_url *u = calloc(1, sizeof(*u));
			int bad = !u ? -ENOMEM : svm_url_parse(e->file, u, err, sizeof(err));

			free(u);
			if (bad) {
				msg("%s: extent %zu: %s: %s", j->name, k + 1, shown, err);
				return -2;
			}
		}
		if (open_ro(e->file, o, &ep, err, sizeof(err))) {
			msg("%s: extent %zu: %s", j->name, k + 1, err);
			return -1;
		}
		size = ep->size;
		bs = ep->block_size;
		svm_ep_close(ep);
		if (size < end) {
			msg("%s: extent %zu: %s holds %llu bytes, the extent ends at %llu",
			    j->name, k + 1, shown, (unsigned long long)size,
			    (unsigned long long)end);
			return -1;
		}
		if (bs > 1 && (e->offset % bs || e->length % bs)) {
			msg("%s: extent %zu: %s has %u-byte blocks: offset %llu and length %llu must be multiples",
			    j->name, k + 1, shown, bs, (unsigned long long)e->offset,
			    (unsigned long long)e->length);
			return -1;
		}
	}
	return 0;
}

/* ---- destinations ------------------------------------------------------------ */

/* A device or LUN destination: long enough, aligned, zeros in its first MiB. */
static int check_device(struct job *j, size_t k, const struct opts *o)
{
	struct svm_ext *d = &j->dst[k];
	struct svm_ep *ep = NULL;
	char err[512], shown[512];
	int ret;

	url_show(d->file, shown, sizeof(shown));
	if (open_ro(d->file, o, &ep, err, sizeof(err))) {
		msg("%s: %s", j->name, err);
		return -1;
	}
	ret = -1;
	if (ep->size < d->offset + d->length) {
		char a[32], b[32];

		msg("%s: %s holds %s (%llu bytes), %s (%llu bytes) needed: refused before anything was written",
		    j->name, shown, fmt_size(ep->size, a, sizeof(a)),
		    (unsigned long long)ep->size,
		    fmt_size(d->length, b, sizeof(b)), (unsigned long long)d->length);
		goto out;
	}
	if (ep->block_size > 1 && (d->offset % ep->block_size ||
				   d->length % ep->block_size)) {
		msg("%s: %s has %u-byte blocks: its part of the disk (%llu bytes at %llu) is not a multiple",
		    j->name, shown, ep->block_size, (unsigned long long)d->length,
		    (unsigned long long)d->offset);
		goto out;
	}
	ret = head_is_zero(ep, d->length);
	if (ret < 0) {
		msg("%s: %s: reading its first MiB: %s", j->name, shown, ep->msg);
		ret = -1;
		goto out;
	}
	if (!ret && !o->force) {
		msg("%s: %s holds data (first MiB not zero): --force to overwrite",
		    j->name, shown);
		ret = -1;
		goto out;
	}
	ret = 0;
out:
	svm_ep_close(ep);
	return ret;
}

/* Record the room of NFS datastore k as ep sees it. */
static void note_room(struct job *j, size_t k, struct svm_ep *ep)
{
	uint64_t total, avail;

	if (ep->ops->space && !ep->ops->space(ep, &total, &avail) &&
	    (j->ds[k].avail == UINT64_MAX || avail < j->ds[k].avail))
		j->ds[k].avail = avail;
}

/* An NFS destination file: made now (exclusively) or, with --force, replaced later. */
static int check_nfs_file(struct job *j, size_t k, const struct opts *o)
{
	struct svm_ext *d = &j->dst[k];
	struct svm_ep_params p = params(o);
	struct svm_ep *ep = NULL;
	char err[512];
	int ret;

	ret = svm_ep_open(d->file, SVM_EP_WRITE | SVM_EP_CREATE | SVM_EP_EXCL,
			  &p, &ep, err, sizeof(err));
	if (!ret) {
		d->made = true;
		note_room(j, k, ep);
		svm_ep_close(ep);
		return 0;
	}
	if (ret != -EEXIST) {
		msg("%s: %s", j->name, err);
		return -1;
	}
	if (!o->force) {
		msg("%s: destination %s exists already: move it away, choose another datastore or --force to overwrite",
		    j->name, d->file);
		return -1;
	}
	if (open_ro(d->file, o, &ep, err, sizeof(err))) {
		msg("%s: %s", j->name, err);
		return -1;
	}
	note_room(j, k, ep);
	svm_ep_close(ep);
	j->replace[k] = true;
	return 0;
}

int remote_check_dst(struct job *j, size_t k, const struct opts *o)
{
	switch (j->ds[k].kind) {
	case DS_NFS:
		return check_nfs_file(j, k, o);
	case DS_LUN:
	case DS_BLK:
		return check_device(j, k, o);
	default:
		return 0;
	}
}

/* Whether the file spec exists: 1, 0, or -1 (a message said why not known). */
static int exists(struct job *j, const char *spec, const struct opts *o)
{
	struct svm_ep *ep = NULL;
	char err[512];
	int ret;

	if (!svm_ep_is_url(spec))
		return !access(spec, F_OK);
	ret = open_ro(spec, o, &ep, err, sizeof(err));
	svm_ep_close(ep);
	if (!ret)
		return 1;
	if (ret == -ENOENT)
		return 0;
	msg("%s: %s", j->name, err);
	return -1;
}

int remote_plan_desc(struct job *j, const struct opts *o)
{
	bool desc = (j->disk && j->disk->is_descriptor) || j->nr_dst > 1;
	char path[PATH_MAX * 2], fname[SVM_NAME_MAX + 8], shown[512];
	size_t k;
	int e;

	if (!desc)
		return 0;
	for (k = 0; k < j->nds; k++)
		if (j->ds[k].kind == DS_DIR || j->ds[k].kind == DS_NFS)
			break;
	if (k == j->nds) {
		if (j->nr_dst == 1)
			return 0;	/* the disk becomes the device or LUN */
		msg("%s: split over devices and LUNs only: its descriptor needs a directory datastore (local or nfs://) among them",
		    j->name);
		return -1;
	}
	snprintf(fname, sizeof(fname), "%s.vmdk", j->name);
	if (ds_join(&j->ds[k], fname, path, sizeof(path)))
		return -1;
	url_show(path, shown, sizeof(shown));
	if (!strcmp(path, j->arg) || (j->disk && !strcmp(path, j->disk->path))) {
		msg("%s: the descriptor %s would replace the source's own: choose another datastore",
		    j->name, shown);
		return -1;
	}
	if (!svm_ep_is_url(path)) {
		char a[PATH_MAX], b[PATH_MAX];

		if (realpath(path, a) && realpath(j->arg, b) && !strcmp(a, b)) {
			msg("%s: the descriptor %s would replace the source's own: choose another datastore",
			    j->name, shown);
			return -1;
		}
	}
	for (size_t i = 0; i < j->nr_dst; i++)
		if (!strcmp(j->dst[i].file, path)) {
			msg("%s: %s would be both its descriptor and an extent", j->name,
			    shown);
			return -1;
		}
	e = exists(j, path, o);
	if (e < 0)
		return -1;
	if (e && !o->force) {
		msg("%s: destination %s exists already: move it away, choose another datastore or --force to overwrite",
		    j->name, shown);
		return -1;
	}
	j->desc_replace = e;
	j->desc_out = strdup(path);
	return j->desc_out ? 0 : -1;
}

int remote_create(struct job *j, size_t k, const struct opts *o)
{
	struct svm_ext *d = &j->dst[k];
	struct svm_ep_params p = params(o);
	struct svm_ep *ep = NULL;
	char err[512];

	if (d->made)
		return 0;	/* made by the checks */
	if (j->replace[k] && remote_remove(d->file, o->timeout_ms, err, sizeof(err))) {
		msg("%s: replacing %s: %s", j->name, d->file, err);
		return -1;
	}
	if (svm_ep_open(d->file, SVM_EP_WRITE | SVM_EP_CREATE | SVM_EP_EXCL, &p,
			&ep, err, sizeof(err))) {
		msg("%s: creating %s", j->name, err);
		return -1;
	}
	d->made = true;
	svm_ep_close(ep);
	return 0;
}

/* ---- the descriptor ---------------------------------------------------------- */

/* Read a local file whole (a descriptor: at most SVM_DISK_MAX_DESC + 1). */
static int read_local(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return -errno;
	buf = malloc(SVM_DISK_MAX_DESC + 2);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, SVM_DISK_MAX_DESC + 1, f);
	fclose(f);
	buf[n] = 0;
	*text = buf;
	*len = n;
	return 0;
}

/* Write text as the new file url (NFS), exclusively. */
static int write_nfs(struct job *j, const char *url, const char *text,
		     size_t len, const struct opts *o, char *err, size_t errlen)
{
	struct svm_ep_params p = params(o);
	struct svm_ep *ep = NULL;
	int ret;

	if (j->desc_replace) {
		ret = remote_remove(url, o->timeout_ms, err, errlen);
		if (ret)
			return ret;
	}
	ret = svm_ep_open(url, SVM_EP_WRITE | SVM_EP_CREATE | SVM_EP_EXCL, &p,
			  &ep, err, errlen);
	if (ret)
		return ret;
	j->desc_made = true;
	ret = svm_ep_pwrite(ep, text, len, 0);
	if (!ret)
		ret = ep->ops->flush(ep);
	if (ret)
		snprintf(err, errlen, "%s", ep->msg);
	svm_ep_close(ep);
	return ret;
}

int remote_finish(struct job *j, const struct opts *o)
{
	struct svm_disk_extent *e = NULL;
	struct svm_disk *nd = NULL;
	char err[512] = "", shown[512], where[PATH_MAX];
	char (*names)[PATH_MAX * 2] = NULL;
	char *text = NULL;
	size_t k, home, len = 0;
	bool nfs;
	int ret = -ENOMEM;

	if (!j->desc_out) {
		j->new_path = strdup(url_show(j->dst[0].file, shown, sizeof(shown)));
		return j->new_path ? 0 : -ENOMEM;
	}
	url_show(j->desc_out, shown, sizeof(shown));
	nfs = svm_ep_is_url(j->desc_out);
	for (home = 0; home < j->nds; home++)
		if (j->ds[home].kind == DS_DIR || j->ds[home].kind == DS_NFS)
			break;
	if (nfs)
		snprintf(where, sizeof(where), "%s/%s.vmdk", REMOTE_DIR, j->name);
	else
		snprintf(where, sizeof(where), "%s", j->desc_out);
	e = calloc(j->nr_dst, sizeof(*e));
	names = calloc(j->nr_dst, sizeof(*names));
	if (!e || !names)
		goto out;
	for (k = 0; k < j->nr_dst; k++) {
		const char *f = j->dst[k].file;

		if (nfs && j->ds[k].kind == DS_NFS &&
		    !strcmp(j->ds[k].path, j->ds[home].path)) {
			ret = url_file(f, names[k], sizeof(names[k]));
			if (ret)
				goto out;
		} else if (svm_ep_is_url(f)) {
			url_for_desc(f, names[k], sizeof(names[k]));
		} else {
			snprintf(names[k], sizeof(names[k]), "%s", f);
		}
		e[k].file = names[k];
		e[k].offset = j->dst[k].offset;
		e[k].length = j->dst[k].length;
		e[k].type = SVM_EXTENT_FLAT;
	}
	if (j->disk && j->disk->is_descriptor) {
		if (!j->src_text) {
			ret = read_local(j->disk->path, &j->src_text, &j->src_len);
			if (ret) {
				snprintf(err, sizeof(err), "reading %s: %s", j->disk->path,
					 strerror(-ret));
				goto out;
			}
		}
		ret = svm_disk_parse(j->src_text, j->src_len, where, &nd, err,
				     sizeof(err));
		if (!ret)
			ret = svm_disk_set_extents(nd, e, j->nr_dst, err, sizeof(err));
	} else {
		ret = svm_disk_new(where, e, j->nr_dst, NULL, &nd, err, sizeof(err));
	}
	if (ret)
		goto out;
	if (nfs) {
		ret = svm_disk_format_descriptor(nd, NULL, &text, &len, err,
						 sizeof(err));
		if (!ret)
			ret = write_nfs(j, j->desc_out, text, len, o, err, sizeof(err));
	} else {
		if (j->desc_replace && unlink(j->desc_out) && errno != ENOENT) {
			ret = -errno;
			snprintf(err, sizeof(err), "%s", strerror(errno));
			goto out;
		}
		ret = svm_disk_write_descriptor(nd, NULL, err, sizeof(err));
		if (!ret)
			j->desc_made = true;
	}
	if (!ret)
		j->new_path = strdup(shown);
out:
	if (ret)
		msg("%s: writing the descriptor %s: %s", j->name, shown,
		    err[0] ? err : strerror(-ret));
	free(text);
	svm_disk_free(nd);
	free(names);
	free(e);
	return ret;
}

/* ---- after the copy ------------------------------------------------------------ */

void remote_delete_source(struct job *j, const struct opts *o)
{
	char err[512], shown[512];
	size_t i;

	for (i = 0; i < j->nr_src; i++) {
		const char *f = j->src[i].file;
		struct stat sb;

		url_show(f, shown, sizeof(shown));
		if (svm_ep_is_url(f) ? !is_scheme(f, "nfs") :
		    (stat(f, &sb) || !S_ISREG(sb.st_mode)))
			continue;	/* devices and LUNs stay */
		if (remote_remove(f, o->timeout_ms, err, sizeof(err)))
			msg("%s: removing source %s: %s", j->name, shown, err);
	}
	if (!j->disk || !j->disk->is_descriptor)
		return;
	url_show(j->arg, shown, sizeof(shown));
	if (remote_remove(svm_ep_is_url(j->arg) ? j->arg : j->disk->path,
			  o->timeout_ms, err, sizeof(err)))
		msg("%s: removing the source descriptor %s: %s", j->name, shown, err);
}

/* Zero [0, min(1 MiB, len)) of a device or LUN, once: 0 or -errno (err). */
static int zero_head_once(const struct svm_ext *d, const struct opts *o,
			  char *err, size_t errlen)
{
	struct svm_ep_params p = params(o);
	struct svm_ep *ep = NULL;
	uint64_t n = d->length < HEAD_BYTES ? d->length : HEAD_BYTES;
	void *zeros;
	int ret;

	ret = svm_ep_open(d->file, SVM_EP_WRITE, &p, &ep, err, errlen);
	if (ret)
		return ret;
	if (ep->block_size > 1)
		n -= n % ep->block_size;
	zeros = calloc(1, n ? n : 1);
	ret = zeros ? svm_ep_pwrite(ep, zeros, n, d->offset) : -ENOMEM;
	if (!ret)
		ret = ep->ops->flush(ep);
	if (ret)
		snprintf(err, errlen, "%s", ret == -ENOMEM ? "out of memory" : ep->msg);
	free(zeros);
	svm_ep_close(ep);
	return ret;
}

/* The same, a LUN tried again until deadline: 0 or -1 (said why). */
static int zero_head(struct job *j, const struct svm_ext *d, double deadline,
		     const struct opts *o)
{
	char err[512], shown[512];

	while (zero_head_once(d, o, err, sizeof(err))) {
		if (!svm_ep_is_url(d->file) || now_s() >= deadline) {
			msg("%s: could not zero the first MiB of %s: %s", j->name,
			    url_show(d->file, shown, sizeof(shown)), err);
			return -1;
		}
		usleep(500000);
	}
	return 0;
}

/*
 * Remove spec; a remote one is tried again (every 0.5 s) until deadline:
 * the server that failed the copy may be back by then.
 */
static void undo_remove(struct job *j, const char *spec, double deadline,
			const struct opts *o)
{
	char err[512], shown[512];

	while (remote_remove(spec, o->timeout_ms, err, sizeof(err))) {
		if (!svm_ep_is_url(spec) || now_s() >= deadline) {
			msg("%s: removing %s: %s", j->name,
			    url_show(spec, shown, sizeof(shown)), err);
			return;
		}
		usleep(500000);
	}
}

int cold_undo(struct job *jobs, size_t n, const struct opts *o)
{
	int window = o->timeout_ms > 0 ? o->timeout_ms : SVM_EP_DEFAULT_TIMEOUT_MS;
	double deadline = now_s() + (window < 5000 ? 5000 : window) / 1000.0;
	size_t i, k;
	int zeroed = 0;

	for (i = 0; jobs && i < n; i++) {
		struct job *j = &jobs[i];

		for (k = 0; j->dst && k < j->nr_dst; k++) {
			struct svm_ext *d = &j->dst[k];

			if (d->made && d->file) {
				undo_remove(j, d->file, deadline, o);
				d->made = false;
			}
			if (j->copying && k < j->nds && j->ds[k].blk &&
			    !zero_head(j, d, deadline, o))
				zeroed++;
		}
		j->copying = false;
		if (j->desc_made && j->desc_out) {
			undo_remove(j, j->desc_out, deadline, o);
			j->desc_made = false;
		}
	}
	return zeroed;
}

/* ---- help ------------------------------------------------------------------ */

void remote_usage(FILE *f)
{
	fprintf(f,
		"URLs, for a DISK and a datastore (no mount, no iscsiadm login needed):\n"
		"  nfs://SERVER[:PORT]/EXPORT/PATH[?version=3|4]\n"
		"      a file (DISK) or a directory (datastore) on an NFS export, through\n"
		"      libnfs; NFSv3 takes the server's full path, NFSv4 the path below\n"
		"      its root; the disk's files are created in the directory\n"
		"  iscsi://[USER[%%PASSWORD]@]PORTAL[:PORT]/TARGET-IQN/LUN\n"
		"      a LUN, through libiscsi; as a datastore it takes the disk's data\n"
		"      from offset 0, like a block device\n"
		"  A datastore's :SIZE comes last, after the URL and its ?version=\n"
		"  (nfs://h/e/dir:4G): a URL's last ':' is its SIZE when it comes after\n"
		"  the host and port and what follows is empty or starts with a digit and\n"
		"  holds no '/' (write a ':' or ',' of a path as %%3A, %%2C).\n"
		"  e.g. svmotion cold /ds1/vm.vmdk --to nfs://filer/srv/ds2\n"
		"       svmotion cold nfs://filer/srv/ds2/vm.vmdk --to iscsi://san/iqn.2026-01.com.example:t1/0\n"
		"       svmotion cold iscsi://san/iqn.2026-01.com.example:t1/0 --to nfs://filer/ds3?version=4:8G,/dev/sdc\n"
		"\n");
}

const char remote_usage_note[] =
	"\n"
	"With a URL for the disk or a datastore the source is left as it is: the\n"
	"descriptor (when the disk was one, or is split) is written anew as\n"
	"<DS>/<name>.vmdk in the first directory datastore (local or nfs://), its\n"
	"extents named relative to it, else by path or URL; a raw disk copied to one\n"
	"file, device or LUN gets none (the disk is that file, device or LUN). A\n"
	"destination file that exists, and a block device or LUN whose first MiB is\n"
	"not all zeros, is refused without --force. A failed copy removes the files\n"
	"it made (also on NFS) and zeroes the first MiB of the devices and LUNs it\n"
	"wrote; the source is never changed.\n";

const char remote_usage_live[] =
	"\n"
	"Datastores given as URLs (nfs://, iscsi://) are for cold copies only: a\n"
	"running disk needs an NFS mount or an iSCSI login (the refusal says how).\n";
