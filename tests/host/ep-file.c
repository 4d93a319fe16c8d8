// SPDX-License-Identifier: GPL-2.0
/*
 * ep-file - the file endpoint's ops (lib/svm-ep-file.c) through the generic
 * endpoint API (lib/svm-ep.h), on files of the host: open flags and
 * refusals, size and capabilities, requests queued and completed through
 * svm_ep_service (many in flight), the allocation map, zeroing that
 * deallocates or keeps the space, growing, free space, and svm_ep_open
 * telling paths from URLs; a duplicate of an endpoint driven by another
 * thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "svm-ep.h"
#include "svm-ep-file.h"
#include "tap.h"

#define MiB (1024 * 1024)

static char dir[] = "/var/tmp/svm-ep-file.XXXXXX";

static const char *path(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static uint64_t blocks(const char *p)
{
	struct stat st;

	return stat(p, &st) ? 0 : (uint64_t)st.st_blocks * 512;
}

static void test_open(void)
{
	struct svm_ep *ep = NULL;
	char err[256];
	int ret;

	ret = svm_ep_open(path("none"), 0, NULL, &ep, err, sizeof(err));
	ok(ret == -ENOENT && !ep && strstr(err, path("none")) &&
	   strstr(err, "opening source"),
	   "a missing source: -ENOENT naming it (%s)", err);
	ret = svm_ep_open(dir, 0, NULL, &ep, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "neither a regular file nor a block device"),
	   "a directory refused (%s)", err);
	ret = svm_ep_open("/dev/null", 0, NULL, &ep, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "/dev/null"),
	   "a character device refused (%s)", err);
	ret = svm_ep_open("", 0, NULL, &ep, err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "empty"), "an empty path refused (%s)", err);
	ret = svm_ep_open("nfs://", 0, NULL, &ep, err, sizeof(err));
	ok(ret == -EINVAL && !ep, "a malformed URL refused by the parser (%s)", err);
	ret = svm_ep_open("http://h/x", 0, NULL, &ep, err, sizeof(err));
	ok(ret == -EPROTONOSUPPORT, "an unknown scheme refused (%s)", err);

	ret = svm_ep_open(path("new"), SVM_EP_WRITE | SVM_EP_CREATE | SVM_EP_EXCL,
			  NULL, &ep, err, sizeof(err));
	ok(!ret && ep && !strcmp(ep->ops->kind, "file") && ep->size == 0 &&
	   ep->writable && (ep->caps & SVM_EP_CAP_LOCAL) &&
	   (ep->caps & SVM_EP_CAP_HOLES) && (ep->caps & SVM_EP_CAP_GROWS) &&
	   svm_ep_file(ep) && ep->fresh_from == 0,
	   "create, exclusive: a writable local file endpoint, size 0, reads zeros from 0");
	svm_ep_close(ep);
	ep = NULL;
	ret = svm_ep_open(path("new"), SVM_EP_WRITE | SVM_EP_CREATE | SVM_EP_EXCL,
			  NULL, &ep, err, sizeof(err));
	ok(ret == -EEXIST && !ep && strstr(err, "exists already"),
	   "exclusive create of an existing file: -EEXIST (%s)", err);
	ret = svm_ep_open(path("new"), 0, NULL, &ep, err, sizeof(err));
	ok(!ret && !ep->writable && svm_ep_write(ep, &(struct svm_ep_io){ 0 }) == -EBADF,
	   "opened for reading: a write is refused with -EBADF");
	svm_ep_close(ep);
}

struct counter {
	unsigned int done, failed;
};

static void count_done(struct svm_ep_io *io, int err)
{
	struct counter *c = io->opaque;

	c->done++;
	if (err)
		c->failed++;
}

static void test_io(void)
{
	enum { N = 16, LEN = 64 * 1024 };
	static unsigned char wbuf[N][LEN], rbuf[N][LEN];
	struct svm_ep_io io[N];
	struct counter cnt = { 0 };
	struct svm_ep *ep;
	char err[256];
	bool data;
	uint64_t run, total, avail;
	int i, ret, bad = 0;

	ret = svm_ep_open(path("io"), SVM_EP_WRITE | SVM_EP_CREATE, NULL, &ep,
			  err, sizeof(err));
	ok(!ret, "open io for writing (%s)", ret ? err : "ok");
	if (ret)
		return;
	ok(!ep->ops->set_size(ep, 8 * MiB) && ep->size == 8 * MiB &&
	   ep->fresh_from == 0 && blocks(path("io")) == 0,
	   "set_size grows the file to 8 MiB, sparse");
	for (i = 0; i < N; i++) {
		memset(wbuf[i], 'a' + i, LEN);
		io[i] = (struct svm_ep_io){ .off = (uint64_t)i * 2 * LEN, .len = LEN,
					    .buf = wbuf[i], .done = count_done,
					    .opaque = &cnt };
		bad |= svm_ep_write(ep, &io[i]);
	}
	ok(!bad && ep->in_flight == N && cnt.done == 0,
	   "%d writes queued (io_uring's workers do them): in flight, none completed before service", N);
	ret = svm_ep_drain(ep, 5000);
	ok(!ret && cnt.done == N && !cnt.failed && ep->in_flight == 0 &&
	   (svm_ep_file(ep)->ring || svm_ep_file(ep)->ring_failed),
	   "polling its fd and servicing completes all %d (%u done, %u failed; %s)", N,
	   cnt.done, cnt.failed, svm_ep_file(ep)->ring ? "io_uring" : "synchronous: no io_uring");
	ok(!ep->ops->flush(ep), "flush");
	memset(&cnt, 0, sizeof(cnt));
	for (i = 0; i < N; i++) {
		io[i] = (struct svm_ep_io){ .off = (uint64_t)i * 2 * LEN, .len = LEN,
					    .buf = rbuf[i], .done = count_done,
					    .opaque = &cnt };
		bad |= svm_ep_read(ep, &io[i]);
	}
	ret = svm_ep_drain(ep, 1000);
	for (i = 0; i < N; i++)
		bad |= memcmp(rbuf[i], wbuf[i], LEN);
	ok(!ret && !bad && cnt.done == N, "%d reads drained, each what was written", N);

	ret = ep->ops->extent(ep, 0, 8 * MiB, &data, &run);
	ok(!ret && data && run == LEN, "extent at 0: data for %llu bytes",
	   (unsigned long long)run);
	ret = ep->ops->extent(ep, LEN, 8 * MiB - LEN, &data, &run);
	ok(!ret && !data && run == LEN, "extent at %d: a hole of %llu bytes", LEN,
	   (unsigned long long)run);
	ok(!ep->ops->extent(ep, 2 * N * LEN, 8 * MiB - 2 * N * LEN, &data, &run) &&
	   !data && run == 8 * MiB - 2 * N * LEN, "a hole to the end");

	ok(!ep->ops->zero(ep, 0, LEN, SVM_EP_ZERO_UNMAP) &&
	   !ep->ops->extent(ep, 0, LEN, &data, &run) && !data,
	   "zero (unmap) makes a hole");
	ret = svm_ep_pread(ep, rbuf[0], LEN, 0);
	ok(!ret && rbuf[0][0] == 0 && !memcmp(rbuf[0], rbuf[0] + 1, LEN - 1),
	   "... that reads zeros");
	total = blocks(path("io"));
	ret = ep->ops->zero(ep, LEN, LEN, SVM_EP_ZERO_ALLOC);
	ok(!ret && blocks(path("io")) >= total + LEN,
	   "zero (alloc) over a hole allocates it (%llu -> %llu bytes)",
	   (unsigned long long)total, (unsigned long long)blocks(path("io")));
	ret = svm_ep_pread(ep, rbuf[0], LEN, 8 * MiB - 4096);
	ok(ret == -EIO && strstr(ep->msg, "ended at"),
	   "a read past the end fails: %s", ep->msg);
	ret = ep->ops->space(ep, &total, &avail);
	ok(!ret && total > 0 && avail <= total,
	   "space: %llu of %llu bytes free", (unsigned long long)avail,
	   (unsigned long long)total);
	ret = svm_ep_remove(ep);
	ok(!ret && access(path("io"), F_OK) && errno == ENOENT,
	   "remove unlinks the file");
	svm_ep_close(ep);
}

/* One thread's writes: N requests on its own endpoint, then drained. */
struct dup_job {
	struct svm_ep *ep;
	uint64_t base;
	unsigned char fill;
	int ret;
	struct counter cnt;
};

static void *dup_writer(void *arg)
{
	enum { N = 16, LEN = 64 * 1024 };
	struct dup_job *j = arg;
	struct svm_ep_io io[N];
	unsigned char *buf = malloc((size_t)N * LEN);
	int i;

	j->ret = -ENOMEM;
	if (!buf)
		return NULL;
	memset(buf, j->fill, (size_t)N * LEN);
	j->ret = 0;
	for (i = 0; i < N; i++) {
		io[i] = (struct svm_ep_io){ .off = j->base + (uint64_t)i * LEN,
					    .len = LEN, .buf = buf + (size_t)i * LEN,
					    .done = count_done, .opaque = &j->cnt };
		j->ret |= svm_ep_write(j->ep, &io[i]);
	}
	if (!j->ret)
		j->ret = svm_ep_drain(j->ep, 5000);
	free(buf);
	return NULL;
}

/*
 * svm_ep_file_dup: an endpoint on the same file with descriptors and an
 * io_uring ring of its own, so that two threads each drive one (the hot
 * copy's workers do, for the local end of a pair whose other is a URL).
 */
static void test_dup(void)
{
	static unsigned char rbuf[2 * MiB];
	struct dup_job a = { .base = 0, .fill = 'x' };
	struct dup_job b = { .base = MiB, .fill = 'y' };
	struct svm_ep *ep, *d;
	struct svm_ep_file *f, *g;
	pthread_t ta, tb;
	char err[256];
	int ret, bad = 0;
	size_t i;

	ret = svm_ep_open(path("dup"), SVM_EP_WRITE | SVM_EP_CREATE, NULL, &ep,
			  err, sizeof(err));
	ok(!ret && !ep->ops->set_size(ep, 2 * MiB), "open dup, 2 MiB (%s)",
	   ret ? err : "ok");
	if (ret)
		return;
	/* the original's ring exists: a request went through it */
	ret = svm_ep_pwrite(ep, rbuf, 4096, 0);
	f = svm_ep_file(ep);
	d = svm_ep_file_dup(f);
	g = svm_ep_file(d);
	ok(!ret && g && d != ep && g->fd != f->fd && g->fd >= 0 &&
	   (f->dfd < 0 || (g->dfd >= 0 && g->dfd != f->dfd)) && !g->ring &&
	   d->size == ep->size && d->caps == ep->caps &&
	   d->writable && !strcmp(d->name, ep->name) && d->name != ep->name &&
	   d->in_flight == 0,
	   "dup: same file, size and caps; descriptors and ring its own");
	if (!g) {
		svm_ep_close(ep);
		return;
	}
	a.ep = ep;
	b.ep = d;
	ret = pthread_create(&ta, NULL, dup_writer, &a);
	ret |= pthread_create(&tb, NULL, dup_writer, &b);
	ok(!ret, "two threads write 1 MiB each, 16 requests in flight, one endpoint each");
	if (!ret) {
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
	}
	ok(!a.ret && !b.ret && a.cnt.done == 16 && b.cnt.done == 16 &&
	   !a.cnt.failed && !b.cnt.failed,
	   "... every request completed on its own endpoint (%u + %u)",
	   a.cnt.done, b.cnt.done);
	svm_ep_close(ep);
	ret = svm_ep_pread(d, rbuf, 2 * MiB, 0);
	for (i = 0; i < 2 * MiB; i++)
		bad |= rbuf[i] != (i < MiB ? 'x' : 'y');
	ok(!ret && !bad, "the dup outlives the original and reads both halves");
	svm_ep_close(d);
	unlink(path("dup"));
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	tap_plan(29);
	test_open();
	test_io();
	test_dup();
	unlink(path("new"));
	unlink(path("io"));
	rmdir(dir);
	return tap_done();
}
