// SPDX-License-Identifier: GPL-2.0
/*
 * state.c - svmotion's own state: one JSON file per attached disk,
 * <state-dir>/<name>.json, replaced atomically (write, fsync, rename), plus
 * <name>.lock, the per-disk operation lock (an OFD lock: held by migrate for
 * its whole run, so abort can tell a live migrate from a killed one).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "svmotion.h"

int state_dir_ensure(void)
{
	if (mkdir(g_state_dir, 0700) && errno != EEXIST) {
		msg("state directory %s: %s", g_state_dir, strerror(errno));
		return -errno;
	}
	return 0;
}

void state_path(char *buf, size_t len, const char *name, const char *suffix)
{
	snprintf(buf, len, "%s/%s%s", g_state_dir, name, suffix);
}

void svm_ext_free(struct svm_ext *e, size_t n)
{
	size_t i;

	for (i = 0; e && i < n; i++) {
		free(e[i].file);
		free(e[i].dev);
	}
	free(e);
}

void state_free(struct svm_state *st)
{
	if (!st)
		return;
	free(st->disk);
	free(st->dm);
	svm_ext_free(st->src, st->nr_src);
	if (st->mig) {
		free(st->mig->phase);
		free(st->mig->format);
		free(st->mig->mover);
		svm_ext_free(st->mig->dst, st->mig->nr_dst);
		free(st->mig);
	}
	free(st);
}

static json_object *ext_json(const struct svm_ext *e, size_t n)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "file", json_object_new_string(e[i].file));
		json_object_object_add(o, "dev", json_object_new_string(e[i].dev ? e[i].dev : ""));
		json_object_object_add(o, "offset", json_object_new_int64(e[i].offset));
		json_object_object_add(o, "length", json_object_new_int64(e[i].length));
		json_object_object_add(o, "created", json_object_new_boolean(e[i].created));
		json_object_object_add(o, "loop", json_object_new_boolean(e[i].loop));
		json_object_array_add(a, o);
	}
	return a;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool jnum(json_object *o, const char *key, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

static bool jbool(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static int ext_parse(json_object *a, struct svm_ext **out, size_t *n)
{
	size_t i, len;
	struct svm_ext *e;

	if (!a || !json_object_is_type(a, json_type_array))
		return -EINVAL;
	len = json_object_array_length(a);
	if (!len || len > SVM_MAX_EXT)
		return -EINVAL;
	e = calloc(len, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		json_object *o = json_object_array_get_idx(a, i);
		const char *f = jstr(o, "file"), *d = jstr(o, "dev");
		int64_t off, l;

		if (!f || !d || !jnum(o, "offset", &off) || !jnum(o, "length", &l) ||
		    off < 0 || l <= 0) {
			svm_ext_free(e, len);
			return -EINVAL;
		}
		e[i].file = strdup(f);
		e[i].dev = *d ? strdup(d) : NULL;
		e[i].offset = off;
		e[i].length = l;
		e[i].created = jbool(o, "created");
		e[i].loop = jbool(o, "loop");
	}
	*out = e;
	*n = len;
	return 0;
}

int state_save(const struct svm_state *st)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	json_object *o = json_object_new_object();
	const char *text;
	int fd, ret = 0;
	size_t len;

	json_object_object_add(o, "name", json_object_new_string(st->name));
	json_object_object_add(o, "disk", json_object_new_string(st->disk));
	json_object_object_add(o, "raw", json_object_new_boolean(st->raw));
	json_object_object_add(o, "dm", json_object_new_string(st->dm));
	json_object_object_add(o, "size", json_object_new_int64(st->size));
	json_object_object_add(o, "src", ext_json(st->src, st->nr_src));
	if (st->mig) {
		json_object *m = json_object_new_object();

		json_object_object_add(m, "phase", json_object_new_string(st->mig->phase));
		json_object_object_add(m, "pid", json_object_new_int(st->mig->pid));
		json_object_object_add(m, "started", json_object_new_double(st->mig->started));
		json_object_object_add(m, "format", json_object_new_string(st->mig->format));
		json_object_object_add(m, "mover", json_object_new_string(st->mig->mover));
		json_object_object_add(m, "dst", ext_json(st->mig->dst, st->mig->nr_dst));
		json_object_object_add(m, "bytes_done", json_object_new_int64(st->mig->bytes_done));
		json_object_object_add(m, "bytes_total", json_object_new_int64(st->mig->bytes_total));
		json_object_object_add(m, "rate", json_object_new_double(st->mig->rate));
		json_object_object_add(o, "migration", m);
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	len = strlen(text);
	state_path(path, sizeof(path), st->name, ".json");
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) || close(fd) || rename(tmp, path)) {
		ret = -errno;
		msg("saving state %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
	}
	json_object_put(o);
	return ret;
}

int state_load(const char *name, struct svm_state **out)
{
	char path[PATH_MAX];
	json_object *o, *m;
	struct svm_state *st;
	const char *s;
	int64_t v;
	int ret = -EINVAL;

	*out = NULL;
	state_path(path, sizeof(path), name, ".json");
	if (access(path, F_OK))
		return -ENOENT;
	o = json_object_from_file(path);
	if (!o) {
		msg("state %s is unreadable: %s", path, json_util_get_last_err());
		return -EINVAL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		goto out;
	s = jstr(o, "name");
	if (!s || strlen(s) > SVM_NAME_MAX || strcmp(s, name))
		goto bad;
	strcpy(st->name, s);
	if (!(s = jstr(o, "disk")) || !(st->disk = strdup(s)))
		goto bad;
	if (!(s = jstr(o, "dm")) || !(st->dm = strdup(s)))
		goto bad;
	st->raw = jbool(o, "raw");
	if (!jnum(o, "size", &v) || v <= 0)
		goto bad;
	st->size = v;
	if (!json_object_object_get_ex(o, "src", &m) ||
	    ext_parse(m, &st->src, &st->nr_src))
		goto bad;
	if (json_object_object_get_ex(o, "migration", &m)) {
		json_object *d;
		double t;

		st->mig = calloc(1, sizeof(*st->mig));
		if (!st->mig || !(s = jstr(m, "phase")) ||
		    !(st->mig->phase = strdup(s)))
			goto bad;
		st->mig->pid = jnum(m, "pid", &v) ? (int)v : 0;
		t = json_object_object_get_ex(m, "started", &d) ?
		    json_object_get_double(d) : 0;
		st->mig->started = t;
		st->mig->format = strdup((s = jstr(m, "format")) ? s : "same");
		st->mig->mover = strdup((s = jstr(m, "mover")) ? s : "auto");
		if (!json_object_object_get_ex(m, "dst", &d) ||
		    ext_parse(d, &st->mig->dst, &st->mig->nr_dst))
			goto bad;
		if (jnum(m, "bytes_done", &v))
			st->mig->bytes_done = v;
		if (jnum(m, "bytes_total", &v))
			st->mig->bytes_total = v;
		if (json_object_object_get_ex(m, "rate", &d))
			st->mig->rate = json_object_get_double(d);
	}
	*out = st;
	ret = 0;
	goto out;
bad:
	msg("state %s is malformed", path);
	state_free(st);
out:
	json_object_put(o);
	return ret;
}

int state_remove(const char *name)
{
	char path[PATH_MAX];

	state_path(path, sizeof(path), name, ".json");
	if (unlink(path) && errno != ENOENT)
		return -errno;
	state_path(path, sizeof(path), name, ".lock");
	unlink(path);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int state_list(char ***names, size_t *n)
{
	DIR *d = opendir(g_state_dir);
	struct dirent *de;
	char **v = NULL;
	size_t cnt = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char **nv;

		if (l <= 5 || strcmp(de->d_name + l - 5, ".json") ||
		    de->d_name[0] == '.')
			continue;
		nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[cnt] = strndup(de->d_name, l - 5);
		if (v[cnt])
			cnt++;
	}
	closedir(d);
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), cmp_names);
	*names = v;
	*n = cnt;
	return 0;
}

static int state_match(const char *path, struct svm_state **out);

int state_find(const char *arg, struct svm_state **out)
{
	char real[PATH_MAX];
	const char *base = arg;
	int ret;

	*out = NULL;
	if (!strncmp(base, "/dev/mapper/svm-", 16))
		base += 16;
	if (strlen(base) <= SVM_NAME_MAX && !strchr(base, '/')) {
		ret = state_load(base, out);
		if (ret != -ENOENT)
			return ret;
	}
	/*
	 * The path as recorded first, without asking its filesystem (a hung
	 * NFS mount would hang realpath); then resolved.
	 */
	ret = arg[0] == '/' ? state_match(arg, out) : -ENOENT;
	if (ret != -ENOENT)
		return ret;
	if (!realpath(arg, real))
		return -ENOENT;
	return state_match(real, out);
}

/* The attached disk whose recorded (absolute) path is path. */
static int state_match(const char *path, struct svm_state **out)
{
	char **names;
	size_t n, i;
	int ret;

	ret = state_list(&names, &n);
	if (ret)
		return ret;
	ret = -ENOENT;
	for (i = 0; i < n; i++) {
		struct svm_state *st;

		if (ret == -ENOENT && !state_load(names[i], &st)) {
			if (!strcmp(st->disk, path)) {
				*out = st;
				ret = 0;
			} else {
				state_free(st);
			}
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int state_lock(const char *name, bool wait)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[PATH_MAX];
	int fd;

	state_path(path, sizeof(path), name, ".lock");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl)) {
		int e = errno;

		close(fd);
		return e == EAGAIN || e == EACCES ? -EBUSY : -e;
	}
	return fd;
}

int disk_name(const char *path, char *out, size_t len)
{
	const char *b = strrchr(path, '/');
	static const char *const ext[] = { ".vmdk", ".img", ".raw" };
	size_t l, i;

	b = b ? b + 1 : path;
	l = strlen(b);
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t el = strlen(ext[i]);

		if (l > el && !strcmp(b + l - el, ext[i])) {
			l -= el;
			break;
		}
	}
	if (!l || l > SVM_NAME_MAX || l >= len)
		return -EINVAL;
	for (i = 0; i < l; i++) {
		char c = b[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			 c == '+' || c == '-' ? c : '_';
	}
	out[l] = 0;
	if (out[0] == '.')
		out[0] = '_';
	return 0;
}
