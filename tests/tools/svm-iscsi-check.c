// SPDX-License-Identifier: GPL-2.0
/*
 * svm-iscsi-check - what the iscsi:// endpoint (lib/svm-ep-iscsi) adds to
 * the generic I/O of svm-ep-io, for tests/guest/83-ep-iscsi.sh.
 *
 *   svm-iscsi-check [OPTS] info URL
 *       key=value lines: size block_size max_io caps, the LUN's VPD 0xB0
 *       and 0xB2 figures (max_xfer opt_xfer opt_gran max_unmap
 *       max_unmap_bdc unmap_gran max_ws lbpme lbprz lbpu lbpws anc_sup
 *       prov_type ws16 lba_status), the initiator name
 *   svm-iscsi-check [OPTS] read URL OFF LEN FILE FOFF
 *       LEN bytes at OFF with --qd requests of --io bytes in flight,
 *       compared with FILE at FOFF: "bytes= seconds= MiB/s= qd= io="
 *   svm-iscsi-check [OPTS] zero URL OFF LEN unmap|alloc
 *   svm-iscsi-check [OPTS] extent URL OFF LEN      "data=0|1 run=N"
 *   svm-iscsi-check [OPTS] xcopy SRC DST SOFF DOFF LEN
 *       EXTENDED COPY through the sessions (svm_xcopy_*_dev over
 *       svm_ep_iscsi_scsi()): "copied= commands= segments=" and what crossed
 *       this host meanwhile: rchar= wchar= (/proc/self/io) tcp_in= tcp_out=
 *       (TCP_INFO bytes received and acked, both sessions)
 *   svm-iscsi-check [OPTS] hostcopy SRC DST SOFF DOFF LEN
 *       the same range read and written through this host (the control of
 *       those counters)
 *
 * Options: --timeout MS, --qd N (default 1), --io BYTES (default max_io, at
 * most 1 MiB). Exit status: 0 ok, 1 failure, 2 usage, 3 refused
 * (-EOPNOTSUPP: what the engine falls back on). Failures print
 * "svm-iscsi-check: <reason> (errno NAME)" on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>

#include "svm-ep.h"
#include "svm-ep-iscsi.h"
#include "svm-xcopy.h"

#define PROG "svm-iscsi-check"

struct opts {
	struct svm_ep_params params;
	unsigned int qd;
	uint64_t io;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: " PROG " [--timeout MS] info URL\n"
		"       " PROG " [--timeout MS] [--qd N] [--io B] read URL OFF LEN FILE FOFF\n"
		"       " PROG " [--timeout MS] zero URL OFF LEN unmap|alloc\n"
		"       " PROG " [--timeout MS] extent URL OFF LEN\n"
		"       " PROG " [--timeout MS] xcopy|hostcopy SRC DST SOFF DOFF LEN\n");
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t number(const char *s)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end != s && (*end == 'K' || *end == 'M' || *end == 'G')) {
		shift = *end == 'K' ? 10 : *end == 'M' ? 20 : 30;
		end++;
	}
	if (end == s || *end || errno || s[0] == '-' ||
	    (shift && v > (UINT64_MAX >> shift))) {
		fprintf(stderr, PROG ": bad number \"%s\"\n", s);
		usage();
	}
	return (uint64_t)v << shift;
}

static int status_of(int err)
{
	return !err ? 0 : err == -EOPNOTSUPP ? 3 : 1;
}

static int fail(const char *msg, int err)
{
	const char *name = strerrorname_np(-err);

	fprintf(stderr, PROG ": %s (errno %s)\n", msg[0] ? msg : strerror(-err),
		name ? name : "?");
	return status_of(err);
}

static struct svm_ep *open_ep(const char *url, unsigned int flags,
			      const struct opts *o, int *ret)
{
	struct svm_ep *ep = NULL;
	char err[512];

	*ret = svm_ep_open(url, flags, &o->params, &ep, err, sizeof(err));
	if (*ret) {
		*ret = fail(err, *ret);
		return NULL;
	}
	if (!svm_ep_iscsi(ep)) {
		svm_ep_close(ep);
		*ret = fail("not an iscsi:// endpoint", -EINVAL);
		return NULL;
	}
	return ep;
}

static int ep_fail(struct svm_ep *ep, int err)
{
	int st = fail(ep->msg, err);

	svm_ep_close(ep);
	return st;
}

static void print_caps(unsigned int caps)
{
	static const char *const names[] = { "holes", "unmap", "zero",
					     "grows", "local" };
	const char *sep = "";

	printf("caps=");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (caps & (1u << i)) {
			printf("%s%s", sep, names[i]);
			sep = ",";
		}
	}
	printf("%s\n", sep[0] ? "" : "none");
}

static int cmd_info(const char *url, const struct opts *o)
{
	struct svm_ep *ep;
	struct svm_ep_iscsi *e;
	const struct svm_iscsi_info *i;
	int ret;

	ep = open_ep(url, 0, o, &ret);
	if (!ep)
		return ret;
	e = svm_ep_iscsi(ep);
	i = &e->info;
	printf("size=%" PRIu64 "\nblock_size=%u\nmax_io=%u\n", ep->size,
	       ep->block_size, ep->max_io);
	print_caps(ep->caps);
	printf("vpd_b0=%d\nmax_xfer=%u\nopt_xfer=%u\nopt_gran=%u\n"
	       "max_unmap=%u\nmax_unmap_bdc=%u\nunmap_gran=%u\nmax_ws=%" PRIu64 "\n",
	       i->vpd_b0, i->max_xfer, i->opt_xfer, i->opt_gran, i->max_unmap,
	       i->max_unmap_bdc, i->unmap_gran, i->max_ws);
	printf("vpd_b2=%d\nlbpme=%d\nlbprz=%d\nlbpu=%d\nlbpws=%d\nanc_sup=%d\n"
	       "prov_type=%d\nws16=%d\nlba_status=%d\n",
	       i->vpd_b2, i->lbpme, i->lbprz, i->lbpu, i->lbpws, i->anc_sup,
	       i->prov_type, i->ws16, e->can_lba_status);
	printf("initiator=%s\nportal=%s\n", e->initiator, e->portal);
	svm_ep_close(ep);
	return 0;
}

/* --- read with a queue depth ---------------------------------------------- */

enum slot_state { FREE, BUSY, DONE };

struct slot {
	struct svm_ep_io io;
	enum slot_state state;
	uint64_t foff;		/* where the file holds what it reads */
	int *err;
	char *msg;
	struct svm_ep *ep;
};

static void slot_done(struct svm_ep_io *io, int err)
{
	struct slot *s = io->opaque;

	s->state = DONE;
	if (err && !*s->err) {
		*s->err = err;
		snprintf(s->msg, 256, "%s", io->msg);
	}
}

static int wait_some(struct svm_ep *ep)
{
	struct pollfd p = { .fd = -1 };

	if (!svm_ep_ready(ep)) {
		p.fd = ep->ops->poll_fd(ep, &p.events);
		poll(&p, p.fd >= 0 ? 1 : 0, SVM_EP_TICK_MS);
	}
	return svm_ep_service(ep, p.fd >= 0 ? p.revents : 0);
}

static uint32_t io_size(const struct svm_ep *ep, const struct opts *o)
{
	uint64_t io = o->io ? o->io : (1u << 20);

	if (io > ep->max_io)
		io = ep->max_io;
	io -= io % ep->block_size;
	return io ? (uint32_t)io : ep->block_size;
}

/* Compare what the slot read with fd at s->foff. */
static int compare(const struct slot *s, int fd, char *buf, char *msg)
{
	ssize_t n = pread(fd, buf, s->io.len, (off_t)s->foff);

	if (n != (ssize_t)s->io.len) {
		snprintf(msg, 256, "reading the file at %" PRIu64 ": %s",
			 s->foff, n < 0 ? strerror(errno) : "short");
		return -EIO;
	}
	for (uint32_t k = 0; k < s->io.len; k++) {
		if (((char *)s->io.buf)[k] != buf[k]) {
			snprintf(msg, 256, "differs at offset %" PRIu64,
				 s->io.off + k);
			return -EILSEQ;
		}
	}
	return 0;
}

/* Check a completed slot, then queue the next piece in it. */
static int step(struct slot *s, int fd, char *cmp, uint64_t *next,
		uint64_t end, uint64_t *fnext, uint32_t io, uint64_t *done)
{
	int err = 0;

	if (s->state == DONE) {
		err = compare(s, fd, cmp, s->msg);
		*done += s->io.len;
		s->state = FREE;
	}
	if (err || s->state != FREE || *next >= end)
		return err;
	s->io.off = *next;
	s->io.len = end - *next < io ? (uint32_t)(end - *next) : io;
	s->foff = *fnext;
	err = svm_ep_read(s->ep, &s->io);
	if (err) {
		snprintf(s->msg, 256, "%s", s->ep->msg);
		return err;
	}
	s->state = BUSY;
	*next += s->io.len;
	*fnext += s->io.len;
	return 0;
}

static int cmd_read(char **av, const struct opts *o)
{
	uint64_t off = number(av[1]), len = number(av[2]), fnext = number(av[4]);
	uint64_t next = off, end = off + len, done = 0;
	struct slot *slots;
	struct svm_ep *ep;
	char msg[256] = "", *cmp;
	int err = 0, ret, fd;
	double t0, secs;
	uint32_t io;

	fd = open(av[3], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, sizeof(msg), "%s: %s", av[3], strerror(errno));
		return fail(msg, -errno);
	}
	ep = open_ep(av[0], 0, o, &ret);
	if (!ep) {
		close(fd);
		return ret;
	}
	io = io_size(ep, o);
	slots = calloc(o->qd, sizeof(*slots));
	cmp = malloc(io);
	for (unsigned int i = 0; slots && i < o->qd; i++) {
		slots[i].io.buf = malloc(io);
		slots[i].io.opaque = &slots[i];
		slots[i].io.done = slot_done;
		slots[i].err = &err;
		slots[i].msg = msg;
		slots[i].ep = ep;
		if (!slots[i].io.buf)
			err = -ENOMEM;
	}
	if (!slots || !cmp)
		err = -ENOMEM;
	t0 = now();
	while (!err) {
		for (unsigned int i = 0; !err && i < o->qd; i++) {
			ret = step(&slots[i], fd, cmp, &next, end, &fnext, io,
				   &done);
			if (ret && !err)
				err = ret;
		}
		if (err || (!ep->in_flight && next >= end))
			break;
		wait_some(ep);
	}
	secs = now() - t0;
	if (ep->in_flight)
		svm_ep_drain(ep, 2 * ep->timeout_ms);
	if (!err)
		printf("bytes=%" PRIu64 " seconds=%.3f MiB/s=%.1f qd=%u io=%u\n",
		       done, secs, secs > 0 ? done / secs / (1 << 20) : 0.0,
		       o->qd, io);
	svm_ep_close(ep);
	for (unsigned int i = 0; slots && i < o->qd; i++)
		free(slots[i].io.buf);
	free(slots);
	free(cmp);
	close(fd);
	return err ? fail(msg[0] ? msg : strerror(-err), err) : 0;
}

/* --- zero, extent ---------------------------------------------------------- */

static int cmd_zero(char **av, const struct opts *o)
{
	enum svm_ep_zero_how how;
	struct svm_ep *ep;
	int ret;

	if (!strcmp(av[3], "unmap"))
		how = SVM_EP_ZERO_UNMAP;
	else if (!strcmp(av[3], "alloc"))
		how = SVM_EP_ZERO_ALLOC;
	else
		usage();
	ep = open_ep(av[0], SVM_EP_WRITE, o, &ret);
	if (!ep)
		return ret;
	ret = ep->ops->zero(ep, number(av[1]), number(av[2]), how);
	if (ret)
		return ep_fail(ep, ret);
	print_caps(ep->caps);
	svm_ep_close(ep);
	return 0;
}

static int cmd_extent(char **av, const struct opts *o)
{
	struct svm_ep *ep;
	uint64_t run = 0;
	bool data = false;
	int ret;

	ep = open_ep(av[0], 0, o, &ret);
	if (!ep)
		return ret;
	ret = ep->ops->extent(ep, number(av[1]), number(av[2]), &data, &run);
	if (ret)
		return ep_fail(ep, ret);
	printf("data=%d run=%" PRIu64 "\n", data, run);
	svm_ep_close(ep);
	return 0;
}

/* --- what crossed the host ------------------------------------------------- */

struct counters {
	uint64_t rchar, wchar, tcp_in, tcp_out;
};

static void proc_io(struct counters *c)
{
	FILE *f = fopen("/proc/self/io", "re");
	char line[128];
	unsigned long long v;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "rchar: %llu", &v) == 1)
			c->rchar = v;
		else if (sscanf(line, "wchar: %llu", &v) == 1)
			c->wchar = v;
	}
	fclose(f);
}

static void tcp_bytes(struct svm_ep *ep, struct counters *c)
{
	struct svm_ep_iscsi *e = svm_ep_iscsi(ep);
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int fd = e && e->iscsi ? iscsi_get_fd(e->iscsi) : -1;

	memset(&ti, 0, sizeof(ti));
	if (fd >= 0 && !getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len)) {
		c->tcp_in += ti.tcpi_bytes_received;
		c->tcp_out += ti.tcpi_bytes_acked;
	}
}

static void sample(struct svm_ep *a, struct svm_ep *b, struct counters *c)
{
	memset(c, 0, sizeof(*c));
	proc_io(c);
	tcp_bytes(a, c);
	tcp_bytes(b, c);
}

static void print_delta(const struct counters *x, const struct counters *y)
{
	printf("rchar=%" PRIu64 " wchar=%" PRIu64 " tcp_in=%" PRIu64
	       " tcp_out=%" PRIu64 "\n", y->rchar - x->rchar,
	       y->wchar - x->wchar, y->tcp_in - x->tcp_in,
	       y->tcp_out - x->tcp_out);
}

static int open_pair(char **av, const struct opts *o, struct svm_ep **s,
		     struct svm_ep **d)
{
	int ret;

	*s = open_ep(av[0], 0, o, &ret);
	if (!*s)
		return ret;
	*d = open_ep(av[1], SVM_EP_WRITE, o, &ret);
	if (!*d) {
		svm_ep_close(*s);
		return ret;
	}
	return 0;
}

static int cmd_xcopy(char **av, const struct opts *o)
{
	uint64_t soff = number(av[2]), doff = number(av[3]), len = number(av[4]);
	struct svm_xcopy_id sid, did;
	struct svm_xcopy_limits lim;
	struct svm_xcopy_stats st = { 0 };
	struct svm_scsi_dev *sd, *dd;
	struct counters c0, c1;
	struct svm_ep *s, *d;
	char err[512] = "";
	uint32_t bs;
	int ret;

	ret = open_pair(av, o, &s, &d);
	if (ret)
		return ret;
	sd = svm_ep_iscsi_scsi(s);
	dd = svm_ep_iscsi_scsi(d);
	bs = d->block_size;
	if (soff % bs || doff % bs || len % bs) {
		ret = -EINVAL;
		snprintf(err, sizeof(err), "offsets and length must be multiples of %u", bs);
		goto out;
	}
	sample(s, d, &c0);
	ret = svm_xcopy_identify_dev(sd, &sid, err, sizeof(err));
	if (!ret)
		ret = svm_xcopy_identify_dev(dd, &did, err, sizeof(err));
	if (!ret)
		ret = svm_xcopy_limits_dev(dd, &lim, err, sizeof(err));
	if (!ret)
		ret = svm_xcopy_copy_dev(sd, &sid, soff / bs, dd, &did,
					 doff / bs, len / bs, &lim, &st, err,
					 sizeof(err));
	sample(s, d, &c1);
	printf("copied=%" PRIu64 " commands=%" PRIu64 " segments=%" PRIu64 " ",
	       st.blocks_done * bs, st.commands, st.segments);
	print_delta(&c0, &c1);
out:
	svm_ep_close(s);
	svm_ep_close(d);
	return ret ? fail(err, ret) : 0;
}

static int cmd_hostcopy(char **av, const struct opts *o)
{
	uint64_t soff = number(av[2]), doff = number(av[3]), len = number(av[4]);
	struct counters c0, c1;
	struct svm_ep *s, *d;
	char msg[256] = "";
	uint64_t done = 0;
	uint32_t io;
	char *buf;
	int ret;

	ret = open_pair(av, o, &s, &d);
	if (ret)
		return ret;
	io = io_size(d, o);
	buf = malloc(io);
	sample(s, d, &c0);
	while (buf && !ret && done < len) {
		uint32_t n = len - done < io ? (uint32_t)(len - done) : io;

		ret = svm_ep_pread(s, buf, n, soff + done);
		if (ret) {
			snprintf(msg, sizeof(msg), "%s", s->msg);
			break;
		}
		ret = svm_ep_pwrite(d, buf, n, doff + done);
		if (ret)
			snprintf(msg, sizeof(msg), "%s", d->msg);
		done += n;
	}
	sample(s, d, &c1);
	printf("copied=%" PRIu64 " ", ret ? 0 : done);
	print_delta(&c0, &c1);
	free(buf);
	svm_ep_close(s);
	svm_ep_close(d);
	return ret ? fail(msg, ret) : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "qd", required_argument, NULL, 'q' },
		{ "io", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .qd = 1 };
	const char *cmd;
	int c, n;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o.params.timeout_ms = (int)number(optarg);
			break;
		case 'q':
			o.qd = (unsigned int)number(optarg);
			if (!o.qd || o.qd > 1024)
				usage();
			break;
		case 'i':
			o.io = number(optarg);
			break;
		default:
			usage();
		}
	}
	n = argc - optind - 1;
	if (n < 1)
		usage();
	cmd = argv[optind];
	argv += optind + 1;
	if (!strcmp(cmd, "info") && n == 1)
		return cmd_info(argv[0], &o);
	if (!strcmp(cmd, "read") && n == 5)
		return cmd_read(argv, &o);
	if (!strcmp(cmd, "zero") && n == 4)
		return cmd_zero(argv, &o);
	if (!strcmp(cmd, "extent") && n == 3)
		return cmd_extent(argv, &o);
	if (!strcmp(cmd, "xcopy") && n == 5)
		return cmd_xcopy(argv, &o);
	if (!strcmp(cmd, "hostcopy") && n == 5)
		return cmd_hostcopy(argv, &o);
	usage();
}
