// SPDX-License-Identifier: GPL-2.0
/*
 * ep-file - the file endpoint's ops (lib/svm-ep-file.c) through the generic
 * endpoint API (lib/svm-ep.h), on files of the host: open flags and
 * refusals, size and capabilities, requests queued and completed through
 * svm_ep_service (many in flight), the allocation map, zeroing that
 * deallocates or keeps the space, growing, free space, and svm_ep_open
 * telling paths from URLs.
 */
#include <errno.h>
#include <fcntl.h>
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

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	tap_plan(24);
	test_open();
	test_io();
	unlink(path("new"));
	unlink(path("io"));
	rmdir(dir);
	return tap_done();
}
