// SPDX-License-Identifier: GPL-2.0
/*
 * svm-ep.c - libsvmotion: what every endpoint shares: opening by spec, the
 * completion queue, synchronous helpers over the asynchronous ops.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svm-ep.h"
#include "svm-url.h"

double svm_ep_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

bool svm_ep_is_url(const char *s)
{
	return s && svm_url_has_scheme(s);
}

int svm_ep_fail(struct svm_ep *ep, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ep->msg, sizeof(ep->msg), fmt, ap);
	va_end(ap);
	return err;
}

int svm_ep_open(const char *spec, unsigned int flags,
		const struct svm_ep_params *params, struct svm_ep **out,
		char *err, size_t errlen)
{
	struct svm_url u;
	int ret;

	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	if (!spec || !spec[0]) {
		snprintf(err, errlen, "empty path");
		return -EINVAL;
	}
	if (!svm_ep_is_url(spec))
		return svm_ep_file_open(spec, flags, params, out, err, errlen);
	/* the scheme decides; the endpoint parses the whole URL again */
	ret = svm_url_parse(spec, &u, err, errlen);
	if (ret)
		return ret;
	if (u.scheme == SVM_URL_NFS)
		return svm_ep_nfs_open(spec, flags, params, out, err, errlen);
	return svm_ep_iscsi_open(spec, flags, params, out, err, errlen);
}

void svm_ep_close(struct svm_ep *ep)
{
	if (ep)
		ep->ops->close(ep);
}

static int submit(struct svm_ep *ep, struct svm_ep_io *io, bool write)
{
	int ret;

	io->err = 0;
	io->next = NULL;
	io->deadline = ep->timeout_ms > 0 ? svm_ep_now() + ep->timeout_ms / 1000.0 : 0;
	ep->in_flight++;
	ret = write ? ep->ops->write(ep, io) : ep->ops->read(ep, io);
	if (ret)
		ep->in_flight--;
	return ret;
}

int svm_ep_read(struct svm_ep *ep, struct svm_ep_io *io)
{
	return submit(ep, io, false);
}

int svm_ep_write(struct svm_ep *ep, struct svm_ep_io *io)
{
	if (!ep->writable)
		return svm_ep_fail(ep, -EBADF, "not open for writing");
	return submit(ep, io, true);
}

void svm_ep_complete(struct svm_ep *ep, struct svm_ep_io *io, int err)
{
	io->err = err;
	io->next = NULL;
	if (err)
		snprintf(io->msg, sizeof(io->msg), "%.*s", (int)sizeof(io->msg) - 1,
			 ep->msg);
	else
		io->msg[0] = 0;
	if (ep->done_tail)
		ep->done_tail->next = io;
	else
		ep->done_head = io;
	ep->done_tail = io;
}

bool svm_ep_ready(const struct svm_ep *ep)
{
	return ep->done_head != NULL;
}

int svm_ep_service(struct svm_ep *ep, short revents)
{
	struct svm_ep_io *io;
	int ret = ep->ops->service(ep, revents);

	while ((io = ep->done_head)) {
		ep->done_head = io->next;
		if (!ep->done_head)
			ep->done_tail = NULL;
		ep->in_flight--;
		io->done(io, io->err);
	}
	return ret;
}

int svm_ep_drain(struct svm_ep *ep, int timeout_ms)
{
	double end = svm_ep_now() + timeout_ms / 1000.0;

	while (ep->in_flight) {
		struct pollfd pfd = { .fd = -1 };
		int ret;

		if (!svm_ep_ready(ep)) {
			pfd.fd = ep->ops->poll_fd(ep, &pfd.events);
			if (poll(&pfd, pfd.fd >= 0 ? 1 : 0, SVM_EP_TICK_MS) < 0 &&
			    errno != EINTR)
				return svm_ep_fail(ep, -errno, "poll: %s",
						   strerror(errno));
		}
		ret = svm_ep_service(ep, pfd.fd >= 0 ? pfd.revents : 0);
		if (ret && ep->in_flight && !svm_ep_ready(ep))
			return ret;
		if (ep->in_flight && svm_ep_now() > end)
			return svm_ep_fail(ep, -ETIMEDOUT,
					   "%u requests still in flight after %d ms",
					   ep->in_flight, timeout_ms);
	}
	return 0;
}

struct sync_io {
	struct svm_ep_io io;
	bool done;
};

static void sync_done(struct svm_ep_io *io, int err)
{
	struct sync_io *s = io->opaque;

	io->err = err;
	s->done = true;
}

/* One request at a time, up to max_io each, waited for. */
static int sync_rw(struct svm_ep *ep, void *buf, size_t len, uint64_t off,
		   bool write)
{
	uint32_t chunk = ep->max_io ? ep->max_io : (1u << 20);
	int bound = ep->timeout_ms > 0 ? ep->timeout_ms * 2 : 3600000;

	while (len) {
		struct sync_io s = { .io = { .off = off, .buf = buf,
					     .done = sync_done } };
		int ret;

		s.io.opaque = &s;
		s.io.len = len < chunk ? len : chunk;
		ret = submit(ep, &s.io, write);
		if (ret)
			return ret;
		ret = svm_ep_drain(ep, bound);
		if (ret && !s.done)
			return ret;
		if (s.io.err)
			return s.io.err;
		buf = (char *)buf + s.io.len;
		off += s.io.len;
		len -= s.io.len;
	}
	return 0;
}

int svm_ep_pread(struct svm_ep *ep, void *buf, size_t len, uint64_t off)
{
	return sync_rw(ep, buf, len, off, false);
}

int svm_ep_pwrite(struct svm_ep *ep, const void *buf, size_t len, uint64_t off)
{
	if (!ep->writable)
		return svm_ep_fail(ep, -EBADF, "not open for writing");
	return sync_rw(ep, (void *)buf, len, off, true);
}
