// SPDX-License-Identifier: GPL-2.0
/*
 * via.c - svmotion migrate --via: which way the mover reaches each end of
 * a live copy. The guest's I/O goes through the kernel (a loop device over
 * a file of an NFS mount, an open-iscsi SCSI disk); the mover can go the
 * same way, or through a connection of its own to the same storage
 * (libnfs to the same file, libiscsi to the same LUN), so that its copy
 * does not queue in the kernel's queue in front of the guest's I/O.
 *
 *   kernel   the devices (or the files behind two loop devices of one
 *            filesystem: copy_file_range, an NFS server-side COPY)
 *   direct   a URL for every end that has one (NFS file, iSCSI LUN); the
 *            URL is proven to reach the same storage first: an NFS file's
 *            fileid and size are the mount's st_ino and st_size, an iSCSI
 *            LUN's NAA designator (VPD page 0x83) is the SCSI disk's; a
 *            file of an NFSv4 mount goes through NFSv3 when the server
 *            offers it (nfs_v3_url)
 *   auto     the hot copy tries both on its first regions (phases of at
 *            least 16 MiB, alternately each way, with all its workers:
 *            svm-copy.h, opts.via_trial) and copies the rest the faster
 *            way; within 5 % the kernel's when it offloaded (nothing
 *            crossed this host), else the direct one. Nothing is copied
 *            twice. The choice and its reason are reported after the copy
 *            (text and --json).
 *
 * A loop device qualifies only with direct I/O at offset 0 over the file:
 * with the page cache in between, the mover's own connection would read
 * what the guest has not yet written back.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migrate.h"
#include "svm-copy.h"
#include "svm-ds.h"
#include "svm-ep.h"
#include "svm-ep-iscsi.h"
#include "svm-nfs-exports.h"
#include "svm-xcopy.h"

/*
 * A piece this long at least to be tried (svm-copy.h, opts.via_trial): two
 * phases of 16 MiB in an eighth of it.
 */
#define TRIAL_MIN	(256ULL << 20)

const char *via_name(enum via_mode m)
{
	switch (m) {
	case VIA_AUTO:
		return "auto";
	case VIA_KERNEL:
		return "kernel";
	case VIA_DIRECT:
		return "direct";
	}
	return "?";
}

/* s's first line of a sysfs attribute into buf; 0 or -errno. */
static int sysfs_read(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

/* Append s percent-encoded (a URL path) to buf at *n. */
static void url_put(char *buf, size_t len, size_t *n, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s && *n + 4 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if (isalnum(ch) || strchr("/._~-+", ch)) {
			buf[(*n)++] = (char)ch;
		} else {
			buf[(*n)++] = '%';
			buf[(*n)++] = hex[ch >> 4];
			buf[(*n)++] = hex[ch & 15];
		}
	}
	buf[*n] = 0;
}

/*
 * The loop device dev maps file at offset 0 with direct I/O? 0, or -1 with
 * the reason.
 */
static int loop_ok(const char *dev, const char *file, char *why, size_t wlen)
{
	const char *base = strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev;
	char p[256], v[4096], rf[4096], rb[4096];

	snprintf(p, sizeof(p), "/sys/block/%s/loop/dio", base);
	if (sysfs_read(p, v, sizeof(v)) || strcmp(v, "1")) {
		snprintf(why, wlen,
			 "%s reads and writes %s through this host's page cache (no direct I/O): another connection would not see the guest's latest writes",
			 dev, file);
		return -1;
	}
	snprintf(p, sizeof(p), "/sys/block/%s/loop/offset", base);
	if (sysfs_read(p, v, sizeof(v)) || strcmp(v, "0")) {
		snprintf(why, wlen, "%s maps %s at an offset", dev, file);
		return -1;
	}
	snprintf(p, sizeof(p), "/sys/block/%s/loop/backing_file", base);
	if (sysfs_read(p, v, sizeof(v)) || !realpath(v, rb) ||
	    !realpath(file, rf) || strcmp(rb, rf)) {
		snprintf(why, wlen, "%s is not a loop device over %s", dev, file);
		return -1;
	}
	return 0;
}

/* Candidate NFSv3 paths tried for a file of an NFSv4 mount, at most */
#define V3_CANDIDATES	8

/*
 * url (nfs://host PATH ?version=V) reaches the file st describes (fileid
 * and size)? 0; -1 with the reason.
 */
static int nfs_prove(const char *url, const struct stat *st, const char *file,
		     const struct opts *o, bool write, char *why, size_t wlen)
{
	struct svm_ep_params prm = { .timeout_ms = o->timeout_ms };
	struct svm_ep *ep;
	uint64_t fileid;
	char e[512];
	int ret;

	why[0] = 0;
	ret = svm_ep_open(url, write ? SVM_EP_WRITE : 0, &prm, &ep, e, sizeof(e));
	if (ret) {
		snprintf(why, wlen, "%s", e);
		return -1;
	}
	ret = svm_ep_nfs_fileid(ep, &fileid);
	if (ret)
		snprintf(why, wlen, "%.500s: %.250s", url, ep->msg);
	else if (fileid != (uint64_t)st->st_ino || ep->size != (uint64_t)st->st_size)
		snprintf(why, wlen,
			 "%.700s reaches another file (fileid %llu, %llu bytes) than %.200s (%llu, %llu bytes)",
			 url, (unsigned long long)fileid,
			 (unsigned long long)ep->size, file,
			 (unsigned long long)st->st_ino,
			 (unsigned long long)st->st_size);
	svm_ep_close(ep);
	return ret || why[0] ? -1 : 0;
}

static size_t nfs_url_of(char *url, size_t len, const char *host,
			 const char *path, const char *vers)
{
	size_t n = (size_t)snprintf(url, len, "nfs://%s%s%s",
				    strchr(host, ':') ? "[" : "", host,
				    strchr(host, ':') ? "]" : "");

	if (n >= len)
		return 0;
	url_put(url, len, &n, path);
	snprintf(url + n, len - n, "?version=%s", vers);
	return n;
}

/*
 * A file of an NFSv4 mount through NFSv3, when the server offers it: libnfs
 * speaks NFSv4.0 only, and sends its WRITEs in pieces of under 4 KiB
 * (svm-ep-nfs.c), while its NFSv3 writes take the server's wsize. v4path
 * is below the server's pseudo-root: the server's exports give the NFSv3
 * paths it may be (svm_nfs_v3_candidates), proven by fileid and size. 0
 * with url set; -1 (no NFSv3 way: the NFSv4 one then).
 */
static int nfs_v3_url(const char *host, const char *v4path,
		      const struct stat *st, const char *file,
		      const struct opts *o, bool write, char *url, size_t len)
{
	char **ex = NULL, *cand[V3_CANDIDATES], e[512], u[4096];
	size_t nex = 0, nc, i;
	int ret = -1;

	if (svm_nfs_exports(host, o->timeout_ms, &ex, &nex, e, sizeof(e)))
		return -1;
	nc = svm_nfs_v3_candidates(ex, nex, v4path, cand, V3_CANDIDATES);
	svm_nfs_exports_free(ex, nex);
	for (i = 0; i < nc; i++) {
		if (ret && nfs_url_of(u, sizeof(u), host, cand[i], "3") &&
		    !nfs_prove(u, st, file, o, write, e, sizeof(e))) {
			snprintf(url, len, "%s", u);
			ret = 0;
		}
		free(cand[i]);
	}
	return ret;
}

/* An NFS file: its URL, proven by fileid and size. */
static int nfs_url(const char *file, const struct svm_ds_info *ds,
		   const struct opts *o, bool write, char *url, size_t len,
		   char *why, size_t wlen)
{
	const char *host = ds->nfs.addr[0] ? ds->nfs.addr : ds->nfs.server;
	size_t pl = strlen(ds->mnt.point), n = 0;
	char rf[4096], path[4096];
	struct stat st;

	if (!realpath(file, rf) || stat(rf, &st) ||
	    strncmp(rf, ds->mnt.point, pl) || (rf[pl] != '/' && pl != 1)) {
		snprintf(why, wlen, "%.500s is not below its mount point %.400s", file,
			 ds->mnt.point);
		return -1;
	}
	path[0] = 0;
	if (strcmp(ds->nfs.export, "/"))
		n += (size_t)snprintf(path + n, sizeof(path) - n, "%s", ds->nfs.export);
	if (n < sizeof(path) && strcmp(ds->mnt.root, "/"))
		n += (size_t)snprintf(path + n, sizeof(path) - n, "%s", ds->mnt.root);
	if (n < sizeof(path))
		n += (size_t)snprintf(path + n, sizeof(path) - n, "%s",
				      pl == 1 ? rf : rf + pl);
	if (n >= sizeof(path)) {
		snprintf(why, wlen, "%.500s: the path on the server is too long", file);
		return -1;
	}
	if (ds->nfs.vers[0] != '3' &&
	    !nfs_v3_url(host, path, &st, file, o, write, url, len))
		return 0;
	if (!nfs_url_of(url, len, host, path, ds->nfs.vers[0] == '3' ? "3" : "4"))
		return -1;
	return nfs_prove(url, &st, file, o, write, why, wlen) ? -1 : 0;
}

/* An iSCSI LUN: its URL, proven by its NAA designator and size. */
static int iscsi_url(const char *dev, const struct svm_ds_info *ds,
		     const struct opts *o, bool write, char *url, size_t len,
		     char *why, size_t wlen)
{
	struct svm_ep_params prm = { .timeout_ms = o->timeout_ms };
	struct svm_xcopy_id kid, lid;
	struct svm_scsi_dev *sd;
	struct svm_ep *ep;
	char e[512];
	int fd, ret;

	if (ds->partition) {
		snprintf(why, wlen, "%s is a partition of the LUN (other offsets)", dev);
		return -1;
	}
	if (!ds->iscsi.portal[0]) {
		snprintf(why, wlen, "the portal of %s's session is not known", dev);
		return -1;
	}
	if ((size_t)snprintf(url, len, "iscsi://%s/%s/%u", ds->iscsi.portal,
			     ds->iscsi.iqn, ds->iscsi.lun) >= len)
		return -1;
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, wlen, "%s: %s", dev, strerror(errno));
		return -1;
	}
	ret = svm_xcopy_identify(fd, &kid, e, sizeof(e));
	close(fd);
	if (ret) {
		snprintf(why, wlen, "%s: %s", dev, e);
		return -1;
	}
	ret = svm_ep_open(url, write ? SVM_EP_WRITE : 0, &prm, &ep, e, sizeof(e));
	if (ret) {
		snprintf(why, wlen, "%s", e);
		return -1;
	}
	sd = svm_ep_iscsi_scsi(ep);
	ret = sd ? svm_xcopy_identify_dev(sd, &lid, e, sizeof(e)) : -ENOTTY;
	if (ret)
		snprintf(why, wlen, "%.400s: %.500s", url, sd ? e : "not a SCSI LUN");
	else if (lid.naa_len != kid.naa_len || memcmp(lid.naa, kid.naa, kid.naa_len) ||
		 lid.block_size != kid.block_size || lid.nr_blocks != kid.nr_blocks)
		snprintf(why, wlen,
			 "%.700s is another LUN than %.200s (its NAA designator or capacity differs)",
			 url, dev);
	svm_ep_close(ep);
	return ret || why[0] ? -1 : 0;
}

/*
 * The mover's own way to extent e (the destination if dst): a URL into
 * *out (malloc'd), proven to reach the same storage; NULL with the reason
 * when there is none.
 */
static void url_of(const struct svm_ext *e, bool dst, const struct opts *o,
		   char **out, char *why, size_t wlen)
{
	struct svm_ds_info *ds = calloc(1, sizeof(*ds));
	char url[8192], where[4096], *slash;

	*out = NULL;
	why[0] = 0;
	if (!ds) {
		snprintf(why, wlen, "out of memory");
		return;
	}
	if (e->loop) {
		snprintf(where, sizeof(where), "%s", e->file);
		slash = strrchr(where, '/');
		if (slash && slash != where)
			*slash = 0;
	} else {
		snprintf(where, sizeof(where), "%s", e->file);
	}
	if (svm_ds_probe(where, ds, why, wlen))
		goto out;
	why[0] = 0;
	if (e->loop && ds->kind == SVM_DS_NFS) {
		if (!loop_ok(e->dev, e->file, why, wlen))
			nfs_url(e->file, ds, o, dst, url, sizeof(url), why, wlen);
	} else if (!e->loop && ds->kind == SVM_DS_BLOCK && ds->is_iscsi) {
		iscsi_url(e->file, ds, o, dst, url, sizeof(url), why, wlen);
	} else {
		char d[256];

		snprintf(why, wlen, "%s is on %s: the kernel's is the only way",
			 e->file, svm_ds_describe(ds, d, sizeof(d)));
	}
	if (!why[0]) {
		*out = strdup(url);
		if (!*out)
			snprintf(why, wlen, "out of memory");
	}
out:
	free(ds);
}

/* Whether path (a directory or a block device) is NFS or an iSCSI LUN. */
static bool remote_kind(const char *path)
{
	struct svm_ds_info *ds = calloc(1, sizeof(*ds));
	bool r = false;

	if (ds && !svm_ds_probe(path, ds, NULL, 0))
		r = ds->kind == SVM_DS_NFS ||
		    (ds->kind == SVM_DS_BLOCK && ds->is_iscsi && !ds->partition);
	free(ds);
	return r;
}

int via_precheck(const struct job *j, const struct opts *o)
{
	char dir[4096], why[1024] = "", w[1024], *u, *slash;
	bool remote_src = false;
	size_t i;

	if (o->via != VIA_DIRECT)
		return 0;
	for (i = 0; i < j->nds; i++)
		if (remote_kind(j->ds[i].path))
			return 0;	/* the destination's URL: once it exists */
	for (i = 0; i < j->nr_src; i++) {
		snprintf(dir, sizeof(dir), "%s", j->src[i].file);
		slash = strrchr(dir, '/');
		if (j->src[i].loop && slash && slash != dir)
			*slash = 0;
		if (!remote_kind(dir))
			continue;
		remote_src = true;
		/* only the source can go around the kernel: it must, now */
		url_of(&j->src[i], false, o, &u, w, sizeof(w));
		if (u) {
			free(u);
			return 0;
		}
		if (!why[0])
			snprintf(why, sizeof(why), "%s", w);
	}
	if (remote_src)
		msg("%s: --via direct: the destination is not on NFS or an iSCSI LUN and the source cannot be reached other than through the kernel: %s",
		    j->name, why);
	else
		msg("%s: --via direct: neither its source nor its destination is on NFS or an iSCSI LUN, so the kernel's is the only way to them (use --via auto or kernel)",
		    j->name);
	return -1;
}

void via_free(struct job *j)
{
	size_t i;

	for (i = 0; j->src_via && i < j->nr_src; i++)
		free(j->src_via[i]);
	for (i = 0; j->dst_via && i < j->nr_dst; i++)
		free(j->dst_via[i]);
	free(j->src_via);
	free(j->dst_via);
	j->src_via = j->dst_via = NULL;
}

/* The files (cold) pair behind the longest piece. */
static int first_pair(const struct job *j, struct svm_extent_pair *out)
{
	struct svm_extent_pair *pairs;
	size_t np, k;

	if (job_pairs(j, true, &pairs, &np) || !np)
		return -1;
	*out = pairs[0];
	for (k = 1; k < np; k++)
		if (pairs[k].src.length > out->src.length)
			*out = pairs[k];
	free(pairs);
	return 0;
}

/* Has j a piece long enough to sample? */
static bool measurable(const struct job *j)
{
	struct svm_extent_pair p;

	return !first_pair(j, &p) && p.src.length >= TRIAL_MIN;
}

/* "52.1 MB/s" */
static const char *rate_s(double r, char *buf, size_t len)
{
	snprintf(buf, len, "%.1f MB/s", r / 1e6);
	return buf;
}

int via_choose(struct job *j, const struct opts *o)
{
	char why[1024];
	size_t i, nurl = 0;

	j->via_direct = false;
	j->via_why[0] = 0;
	if (o->via == VIA_KERNEL) {
		snprintf(j->via_why, sizeof(j->via_why), "--via kernel");
		return 0;
	}
	if (o->via == VIA_AUTO && !measurable(j)) {
		snprintf(j->via_why, sizeof(j->via_why),
			 "not measured (the disk's pieces are under %llu MiB): the kernel's",
			 (unsigned long long)(TRIAL_MIN >> 20));
		return 0;
	}
	j->src_via = calloc(j->nr_src, sizeof(char *));
	j->dst_via = calloc(j->nr_dst, sizeof(char *));
	if (!j->src_via || !j->dst_via) {
		msg("%s: out of memory", j->name);
		return -1;
	}
	why[0] = 0;
	for (i = 0; i < j->nr_src + j->nr_dst; i++) {
		bool dst = i >= j->nr_src;
		const struct svm_ext *e = dst ? &j->dst[i - j->nr_src] : &j->src[i];
		char **u = dst ? &j->dst_via[i - j->nr_src] : &j->src_via[i];
		char w[1024];

		url_of(e, dst, o, u, w, sizeof(w));
		if (*u)
			nurl++;
		else if (!why[0])
			snprintf(why, sizeof(why), "%s", w);
	}
	if (!nurl) {
		via_free(j);
		if (o->via == VIA_DIRECT) {
			msg("%s: --via direct: no end of the copy can be reached other than through the kernel: %s",
			    j->name, why);
			return -1;
		}
		snprintf(j->via_why, sizeof(j->via_why), "no other way: %s", why);
		return 0;
	}
	if (o->via == VIA_DIRECT) {
		j->via_direct = true;
		snprintf(j->via_why, sizeof(j->via_why), "--via direct%s%s",
			 why[0] ? "; not for every end: " : "", why);
		return 0;
	}
	j->via_trial = true;
	snprintf(j->via_why, sizeof(j->via_why),
		 "both ways tried on the copy's first regions%s%s",
		 why[0] ? "; not for every end: " : "", why);
	return 0;
}

void via_settle(struct job *j, const struct svm_copy_result *res)
{
	char a[32], b[32], n[32];

	if (!j->via_trial)
		return;
	j->via_trial = false;
	j->via_rate[0] = res->trial.rate[0];
	j->via_rate[1] = res->trial.rate[1];
	j->via_sample = res->trial.trial_bytes[0] + res->trial.trial_bytes[1];
	j->via_offloaded = res->trial.kernel_offloaded;
	j->via_tried = res->trial.tried;
	j->via_phases = res->trial.phases;
	j->via_given_up = res->trial.gave_up ? res->trial.given_up : -1;
	j->via_offload_kept = res->trial.offload_kept;
	j->via_phase_bytes = res->trial.phase_bytes;
	j->via_bytes[0] = res->trial.bytes[0];
	j->via_bytes[1] = res->trial.bytes[1];
	j->via_direct = res->trial.tried && res->trial.decided &&
			res->trial.chosen == 1;
	snprintf(n, sizeof(n), "%llu MiB",
		 (unsigned long long)(j->via_sample >> 20));
	if (!res->trial.tried) {
		snprintf(j->via_why, sizeof(j->via_why),
			 "not measured (too few regions to try both ways): the kernel's");
	} else if (res->trial.offload_kept) {
		snprintf(j->via_why, sizeof(j->via_why),
			 "the kernel's way offloaded every region of its first phase (%s at %s; nothing crossed this host): kept, the direct way not tried",
			 n, rate_s(j->via_rate[0], a, sizeof(a)));
	} else if (res->trial.gave_up) {
		snprintf(j->via_why, sizeof(j->via_why),
			 "the %s way was given up: a region's copy that way outlived the target's bound (--dst-timeout; measured so far: kernel's %s, direct %s)",
			 j->via_direct ? "kernel's" : "direct",
			 rate_s(j->via_rate[0], a, sizeof(a)),
			 rate_s(j->via_rate[1], b, sizeof(b)));
	} else if (!res->trial.decided) {
		snprintf(j->via_why, sizeof(j->via_why),
			 "the copy ended before both ways were tried (%s, kernel's %s, direct %s): the kernel's",
			 n, rate_s(j->via_rate[0], a, sizeof(a)),
			 rate_s(j->via_rate[1], b, sizeof(b)));
	} else if (j->via_rate[1] > j->via_rate[0] * SVM_COPY_TRIAL_TIE) {
		snprintf(j->via_why, sizeof(j->via_why),
			 "%s against the kernel's %s (tried on %s)",
			 rate_s(j->via_rate[1], a, sizeof(a)),
			 rate_s(j->via_rate[0], b, sizeof(b)), n);
	} else if (j->via_rate[0] > j->via_rate[1] * SVM_COPY_TRIAL_TIE) {
		snprintf(j->via_why, sizeof(j->via_why),
			 "%s%s against the direct way's %s (tried on %s)",
			 rate_s(j->via_rate[0], a, sizeof(a)),
			 j->via_offloaded ? " (offloaded)" : "",
			 rate_s(j->via_rate[1], b, sizeof(b)), n);
	} else if (j->via_offloaded) {
		snprintf(j->via_why, sizeof(j->via_why),
			 "%s, the direct way's %s (tried on %s): a tie, and the kernel's offloads (nothing crosses this host)",
			 rate_s(j->via_rate[0], a, sizeof(a)),
			 rate_s(j->via_rate[1], b, sizeof(b)), n);
	} else {
		snprintf(j->via_why, sizeof(j->via_why),
			 "%s, the kernel's %s (tried on %s): a tie, and the copy then does not queue in front of the guest's I/O",
			 rate_s(j->via_rate[1], a, sizeof(a)),
			 rate_s(j->via_rate[0], b, sizeof(b)), n);
	}
	if (!j->via_direct)
		via_free(j);
}
