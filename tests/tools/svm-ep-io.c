// SPDX-License-Identifier: GPL-2.0
/*
 * svm-ep-io - I/O on any endpoint (a path, nfs://..., iscsi://...) through
 * the generic svm_ep API, for tests and measurements.
 *
 *   svm-ep-io [OPTIONS] info SPEC          key=value lines: kind size
 *                                          block_size max_io caps fresh_from
 *                                          writable timeout_ms space_total
 *                                          space_avail
 *   svm-ep-io [OPTIONS] read SPEC OFF [LEN]
 *                                          LEN bytes at OFF (default: to the
 *                                          end) to stdout (svm_ep_pread)
 *   svm-ep-io [OPTIONS] write SPEC OFF     stdin to SPEC at OFF, --qd
 *                                          requests of --io bytes in flight,
 *                                          then a flush; prints bytes=
 *                                          seconds= MiB/s= qd= io=
 *   svm-ep-io [OPTIONS] grow SPEC SIZE     set_size(SIZE); prints size= and
 *                                          fresh_from= of the endpoint then
 *   svm-ep-io [OPTIONS] flush SPEC
 *   svm-ep-io [OPTIONS] remove SPEC        ops->remove (unlink, NFS REMOVE)
 *
 * Options: --timeout MS (svm_ep_params.timeout_ms), --create, --excl (write,
 * grow), --qd N (default 1), --io BYTES (default the endpoint's max_io, at
 * most 1 MiB), --no-flush (write). Numbers take K, M, G (binary) suffixes.
 * Exit status: 0 ok, 1 an error ("svm-ep-io: SPEC: reason" on stderr), 2
 * usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "svm-ep.h"

#define DEFAULT_IO (1u << 20)

static const char *prog = "svm-ep-io";

struct opts {
	struct svm_ep_params params;
	unsigned int flags;	/* SVM_EP_CREATE, SVM_EP_EXCL */
	unsigned int qd;
	uint64_t io;
	bool no_flush;
};

/* One request slot of write. */
struct slot {
	struct svm_ep_io io;
	bool busy;
	struct writer *w;
};

struct writer {
	struct svm_ep *ep;
	int err;		/* the first error */
	char msg[256];
	uint64_t done;		/* bytes acknowledged */
};

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [--timeout MS] info SPEC\n"
		"       %s [--timeout MS] read SPEC OFF [LEN]\n"
		"       %s [--timeout MS] [--create] [--excl] [--qd N] [--io BYTES] [--no-flush] write SPEC OFF\n"
		"       %s [--timeout MS] [--create] [--excl] grow SPEC SIZE\n"
		"       %s [--timeout MS] flush SPEC\n"
		"       %s [--timeout MS] remove SPEC\n",
		prog, prog, prog, prog, prog, prog);
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A byte count: decimal with an optional K, M or G (binary). */
static uint64_t number(const char *s, const char *what)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end != s) {
		switch (*end) {
		case 'K': case 'k': shift = 10; end++; break;
		case 'M': case 'm': shift = 20; end++; break;
		case 'G': case 'g': shift = 30; end++; break;
		}
	}
	if (end == s || *end || errno || s[0] == '-' ||
	    (shift && v > (UINT64_MAX >> shift))) {
		fprintf(stderr, "%s: bad %s \"%s\"\n", prog, what, s);
		usage();
	}
	return (uint64_t)v << shift;
}

static int fail(struct svm_ep *ep, const char *spec, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, spec,
		ep && ep->msg[0] ? ep->msg : strerror(-err));
	return 1;
}

static struct svm_ep *open_ep(const char *spec, unsigned int flags,
			      const struct opts *o)
{
	struct svm_ep *ep = NULL;
	char err[512];
	int ret;

	ret = svm_ep_open(spec, flags, &o->params, &ep, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s: %s\n", prog,
			err[0] ? err : strerror(-ret));
		return NULL;
	}
	return ep;
}

static void print_caps(unsigned int caps)
{
	static const char *const names[] = { "holes", "unmap", "zero",
					     "grows", "local" };
	bool first = true;
	size_t i;

	printf("caps=");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(caps & (1u << i)))
			continue;
		printf("%s%s", first ? "" : ",", names[i]);
		first = false;
	}
	printf("%s\n", first ? "none" : "");
}

static int cmd_info(const char *spec, const struct opts *o)
{
	struct svm_ep *ep = open_ep(spec, 0, o);
	uint64_t total = 0, avail = 0;
	int ret = 0;

	if (!ep)
		return 1;
	printf("kind=%s\nsize=%" PRIu64 "\nblock_size=%u\nmax_io=%u\n",
	       ep->ops->kind, ep->size, ep->block_size, ep->max_io);
	print_caps(ep->caps);
	if (ep->fresh_from == UINT64_MAX)
		printf("fresh_from=none\n");
	else
		printf("fresh_from=%" PRIu64 "\n", ep->fresh_from);
	printf("writable=%d\ntimeout_ms=%d\n", ep->writable, ep->timeout_ms);
	if (ep->ops->space) {
		ret = ep->ops->space(ep, &total, &avail);
		if (!ret)
			printf("space_total=%" PRIu64 "\nspace_avail=%" PRIu64 "\n",
			       total, avail);
	}
	ret = ret ? fail(ep, spec, ret) : 0;
	svm_ep_close(ep);
	return ret;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

static int cmd_read(const char *spec, uint64_t off, const char *len_s,
		    const struct opts *o)
{
	struct svm_ep *ep = open_ep(spec, 0, o);
	uint64_t len, chunk;
	char *buf;
	int ret = 0;

	if (!ep)
		return 1;
	len = len_s ? number(len_s, "length") :
	      ep->size > off ? ep->size - off : 0;
	chunk = ep->max_io ? ep->max_io : DEFAULT_IO;
	buf = malloc(chunk);
	if (!buf) {
		svm_ep_close(ep);
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	while (len && !ret) {
		size_t n = len < chunk ? len : chunk;

		ret = svm_ep_pread(ep, buf, n, off);
		if (!ret && write_all(STDOUT_FILENO, buf, n)) {
			fprintf(stderr, "%s: writing stdout: %s\n", prog,
				strerror(errno));
			free(buf);
			svm_ep_close(ep);
			return 1;
		}
		off += n;
		len -= n;
	}
	free(buf);
	ret = ret ? fail(ep, spec, ret) : 0;
	svm_ep_close(ep);
	return ret;
}

/* Up to len bytes of stdin (fewer only at its end); -1 on error. */
static ssize_t read_full(char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(STDIN_FILENO, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (!n)
			break;
		got += n;
	}
	return got;
}

static void slot_done(struct svm_ep_io *io, int err)
{
	struct slot *s = io->opaque;
	struct writer *w = s->w;

	s->busy = false;
	if (err && !w->err) {
		w->err = err;
		snprintf(w->msg, sizeof(w->msg), "%s", w->ep->msg);
	}
	if (!err)
		w->done += io->len;
}

/* Wait for completions (one poll, at most a tick). */
static int wait_some(struct svm_ep *ep)
{
	struct pollfd pfd = { .fd = -1 };

	if (!svm_ep_ready(ep)) {
		pfd.fd = ep->ops->poll_fd(ep, &pfd.events);
		if (poll(&pfd, pfd.fd >= 0 ? 1 : 0, SVM_EP_TICK_MS) < 0 &&
		    errno != EINTR)
			return -errno;
	}
	return svm_ep_service(ep, pfd.fd >= 0 ? pfd.revents : 0);
}

/* The io size: --io, else max_io (at most 1 MiB), in whole blocks. */
static uint32_t io_size(const struct svm_ep *ep, const struct opts *o)
{
	uint64_t io = o->io ? o->io : DEFAULT_IO;

	if (!o->io && ep->max_io && ep->max_io < io)
		io = ep->max_io;
	if (ep->max_io && io > ep->max_io)
		io = ep->max_io;
	if (ep->block_size > 1)
		io -= io % ep->block_size;
	return io ? io : ep->block_size;
}

/*
 * Fill free slots from stdin and queue them. false once stdin has ended
 * (or failed: *err).
 */
static bool refill(struct writer *w, struct slot *slots, unsigned int qd,
		   uint32_t io, uint64_t *off, int *err)
{
	unsigned int i;

	for (i = 0; i < qd && !w->err; i++) {
		struct slot *s = &slots[i];
		ssize_t n;

		if (s->busy)
			continue;
		n = read_full(s->io.buf, io);
		if (n < 0) {
			*err = -errno;
			snprintf(w->msg, sizeof(w->msg), "reading stdin: %s",
				 strerror(errno));
			return false;
		}
		if (!n)
			return false;
		if (n % w->ep->block_size) {
			*err = -EINVAL;
			snprintf(w->msg, sizeof(w->msg),
				 "input ends %zd bytes into a block of %u", n,
				 w->ep->block_size);
			return false;
		}
		s->io.off = *off;
		s->io.len = n;
		*err = svm_ep_write(w->ep, &s->io);
		if (*err) {
			snprintf(w->msg, sizeof(w->msg), "%s", w->ep->msg);
			return false;
		}
		s->busy = true;
		*off += n;
	}
	return true;
}

static unsigned int busy(const struct slot *slots, unsigned int qd)
{
	unsigned int i, n = 0;

	for (i = 0; i < qd; i++)
		n += slots[i].busy;
	return n;
}

static int cmd_write(const char *spec, uint64_t off, const struct opts *o)
{
	struct svm_ep *ep = open_ep(spec, SVM_EP_WRITE | o->flags, o);
	struct writer w = { .ep = ep };
	struct slot *slots;
	uint64_t start = off;
	bool more = true;
	double t0, secs;
	unsigned int i;
	uint32_t io;
	int err = 0, ret;

	if (!ep)
		return 1;
	io = io_size(ep, o);
	slots = calloc(o->qd, sizeof(*slots));
	for (i = 0; slots && i < o->qd; i++) {
		slots[i].w = &w;
		slots[i].io.opaque = &slots[i];
		slots[i].io.done = slot_done;
		slots[i].io.buf = malloc(io);
		if (!slots[i].io.buf)
			break;
	}
	if (!slots || i < o->qd) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	t0 = now();
	while ((more || busy(slots, o->qd)) && !w.err) {
		if (more && !err)
			more = refill(&w, slots, o->qd, io, &off, &err);
		if (err)
			break;
		if (busy(slots, o->qd)) {
			ret = wait_some(ep);
			if (ret && !svm_ep_ready(ep) && ep->in_flight && !w.err) {
				w.err = ret;
				snprintf(w.msg, sizeof(w.msg), "%s", ep->msg);
			}
		}
	}
	/* after an error: wait for the rest, bounded */
	if (ep->in_flight)
		svm_ep_drain(ep, ep->timeout_ms > 0 ? 2 * ep->timeout_ms : 60000);
	if (!err && !w.err && !o->no_flush) {
		err = ep->ops->flush(ep);
		if (err)
			snprintf(w.msg, sizeof(w.msg), "%s", ep->msg);
	}
	secs = now() - t0;
	if (!err)
		err = w.err;
	if (err)
		fprintf(stderr, "%s: %s: %s (%" PRIu64 " bytes written from %" PRIu64 ")\n",
			prog, spec, w.msg[0] ? w.msg : strerror(-err), w.done,
			start);
	else
		printf("bytes=%" PRIu64 " seconds=%.3f MiB/s=%.1f qd=%u io=%u\n",
		       w.done, secs, secs > 0 ? w.done / secs / (1 << 20) : 0.0,
		       o->qd, io);
	/* close abandons what is still in flight: then free the buffers */
	svm_ep_close(ep);
	for (i = 0; i < o->qd; i++)
		free(slots[i].io.buf);
	free(slots);
	return err ? 1 : 0;
}

static int cmd_grow(const char *spec, uint64_t size, const struct opts *o)
{
	struct svm_ep *ep = open_ep(spec, SVM_EP_WRITE | o->flags, o);
	int ret;

	if (!ep)
		return 1;
	ret = ep->ops->set_size ? ep->ops->set_size(ep, size) :
	      svm_ep_fail(ep, -EOPNOTSUPP, "a %s cannot grow", ep->ops->kind);
	if (!ret)
		printf("size=%" PRIu64 "\nfresh_from=%" PRIu64 "\n", ep->size,
		       ep->fresh_from);
	ret = ret ? fail(ep, spec, ret) : 0;
	svm_ep_close(ep);
	return ret;
}

static int cmd_flush(const char *spec, const struct opts *o)
{
	struct svm_ep *ep = open_ep(spec, SVM_EP_WRITE, o);
	int ret;

	if (!ep)
		return 1;
	ret = ep->ops->flush(ep);
	ret = ret ? fail(ep, spec, ret) : 0;
	svm_ep_close(ep);
	return ret;
}

static int cmd_remove(const char *spec, const struct opts *o)
{
	struct svm_ep *ep = open_ep(spec, SVM_EP_WRITE, o);
	int ret;

	if (!ep)
		return 1;
	ret = svm_ep_remove(ep);
	if (ret == -EOPNOTSUPP && !ep->ops->remove)
		svm_ep_fail(ep, ret, "a %s cannot be removed", ep->ops->kind);
	ret = ret ? fail(ep, spec, ret) : 0;
	svm_ep_close(ep);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "create", no_argument, NULL, 'c' },
		{ "excl", no_argument, NULL, 'x' },
		{ "qd", required_argument, NULL, 'q' },
		{ "io", required_argument, NULL, 'i' },
		{ "no-flush", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .qd = 1 };
	const char *cmd;
	int c, nargs;
	uint64_t v;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			v = number(optarg, "timeout");
			if (!v || v > 24 * 3600 * 1000)
				usage();
			o.params.timeout_ms = v;
			break;
		case 'c':
			o.flags |= SVM_EP_CREATE;
			break;
		case 'x':
			o.flags |= SVM_EP_CREATE | SVM_EP_EXCL;
			break;
		case 'q':
			v = number(optarg, "queue depth");
			if (!v || v > 1024)
				usage();
			o.qd = v;
			break;
		case 'i':
			v = number(optarg, "io size");
			if (!v || v > (64u << 20))
				usage();
			o.io = v;
			break;
		case 'n':
			o.no_flush = true;
			break;
		default:
			usage();
		}
	}
	nargs = argc - optind;
	if (nargs < 2)
		usage();
	cmd = argv[optind];
	argv += optind + 1;
	nargs--;
	if (!strcmp(cmd, "info") && nargs == 1)
		return cmd_info(argv[0], &o);
	if (!strcmp(cmd, "read") && (nargs == 2 || nargs == 3))
		return cmd_read(argv[0], number(argv[1], "offset"),
				nargs == 3 ? argv[2] : NULL, &o);
	if (!strcmp(cmd, "write") && nargs == 2)
		return cmd_write(argv[0], number(argv[1], "offset"), &o);
	if (!strcmp(cmd, "grow") && nargs == 2)
		return cmd_grow(argv[0], number(argv[1], "size"), &o);
	if (!strcmp(cmd, "flush") && nargs == 1)
		return cmd_flush(argv[0], &o);
	if (!strcmp(cmd, "remove") && nargs == 1)
		return cmd_remove(argv[0], &o);
	usage();
}
