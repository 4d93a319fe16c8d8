// SPDX-License-Identifier: GPL-2.0
/*
 * svm-ep-nfs.c - libsvmotion: a file on an NFS server reached through
 * libnfs 4.0 (Debian 12): nfs://SERVER[:PORT]/EXPORT/PATH[?version=3|4].
 *
 * Everything goes through libnfs's asynchronous API and our own poll loop,
 * so that every wait is bounded by the endpoint's timeout: libnfs's own
 * timeouts (nfs_set_timeout) are left off. They do not cover a TCP connect
 * at all, and when one fires on a request the socket is still writing,
 * libnfs drops it from its queue half sent, so the next request's bytes
 * would complete the record.
 *
 * libnfs cannot cancel a request. One that is past its deadline therefore
 * breaks the endpoint: every request in flight completes with an error,
 * later calls fail at once, and libnfs is not serviced any more (nothing
 * more is sent or received). Each request is a struct nfs_call of ours;
 * one given up on is an orphan, freed by its libnfs callback when that
 * comes (at the latest from nfs_destroy_context(), which cancels every
 * request) or after nfs_destroy_context() when it never will (a connect
 * in progress).
 *
 * What libnfs 4.0 does not have, and what follows from it:
 *  - no SEEK_HOLE and no DEALLOCATE: no SVM_EP_CAP_HOLES, no UNMAP, no
 *    zero(); a file grown by set_size() (SETATTR size) is sparse on the
 *    server and reads zeros beyond its old end (fresh_from);
 *  - no nfs_set_nfsport(): the port goes in as a libnfs URL argument
 *    (nfs_parse_url_incomplete() of "nfs:///?nfsport=N", nothing else);
 *  - NFSv4 is 4.0 only, with no reconnect and no state recovery: a lost
 *    connection breaks the endpoint; NFSv3 reconnects by itself (requests
 *    are sent again), bounded by their deadlines;
 *  - nfs_get_readmax()/nfs_get_writemax() are 0 under NFSv4: the server's
 *    maxread/maxwrite are asked with a GETATTR on the root (raw compound);
 *  - NFSv4 COMPOUNDs are encoded into a fixed 4 KiB buffer: a WRITE of
 *    more than about 3.8 KiB cannot be sent at all. NFSv4 writes go out
 *    NFS_V4_WRITE bytes at a time, one after the other per request, and
 *    max_io (reads too: it is one limit) is at most NFS_V4_REQ_MAX so
 *    that a request ends well within its deadline;
 *  - NFSv4 O_CREAT always creates EXCLUSIVE4 (libnfs tests "flags|O_EXCL"):
 *    a file is opened first and created O_EXCL only when missing;
 *  - an NFSv3 open for writing on a read-only export fails ACCESS with
 *    EACCES, as root squashing does: a WRITE of 0 bytes through a
 *    read-only handle tells them apart (NFS3ERR_ROFS or NFS3ERR_ACCES);
 *  - write verifiers are not exposed: data acknowledged UNSTABLE and lost
 *    by a server reboot before flush()'s COMMIT goes unnoticed (NFSv3).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-nfs4.h>

#include "svm-ep.h"
#include "svm-url.h"

#define PMAP_PORT	111
#define NFS_PORT	2049
/* libnfs 4.0 refuses replies over 1 MiB + 4 KiB */
#define NFS_IO_MAX	(1024 * 1024)
/* NFSv4 when the server does not say its maxread/maxwrite */
#define NFS_IO_V4_DEFAULT (64 * 1024)
/*
 * The most an NFSv4 WRITE carries: libnfs 4.0 encodes a COMPOUND into 4 KiB
 * (ZDR_ENCODEBUF_MINSIZE), and RPC header, AUTH_UNIX, PUTFH (up to 128
 * bytes of handle) and the WRITE arguments take about 256.
 */
#define NFS_V4_WRITE	3584
/* the largest request over NFSv4 (NFS_V4_WRITE pieces each) */
#define NFS_V4_REQ_MAX	(64 * 1024)
/* after a socket error: NFSv3 reconnects at most this often (s) */
#define NFS_BACKOFF	0.1
#define NFS_PEERS	8
/* an OPEN answered NFS4ERR_DELAY is sent again after this, doubling */
#define OPEN_DELAY_MS_MIN 50
#define OPEN_DELAY_MS_MAX 1000

enum call_kind {
	CALL_READ,
	CALL_WRITE,
	CALL_OP,	/* waited for by op_wait() */
};

/* One libnfs request of ours (see the header comment). */
struct nfs_call {
	struct svm_ep_nfs *n;
	struct nfs_call *prev, *next;	/* in n->calls, or n->orphans */
	bool orphan;
	enum call_kind kind;
	/*
	 * libnfs's message when the request was queued: libnfs does not
	 * always set one for a failure (a lost connection), and a message
	 * still the same is not about this request.
	 */
	const char *err_ptr;
	char err_was[96];
	/* CALL_READ, CALL_WRITE */
	struct svm_ep_io *io;
	uint32_t done;			/* bytes of io done */
	/* CALL_OP */
	bool finished;
	int status;			/* 0 or -errno */
	char msg[200];			/* libnfs's words on failure */
	union {
		struct nfsfh *fh;
		struct nfs_stat_64 st;
		struct nfs_statvfs_64 sv;
		struct {
			uint64_t rmax, wmax;
		} v4;
	} r;
};

struct svm_ep_nfs {
	struct svm_ep ep;
	struct nfs_context *nfs;
	struct nfsfh *fh;
	char server[SVM_URL_HOST_MAX];
	char export_[SVM_URL_PATH_MAX];
	char path[SVM_URL_PATH_MAX + 1];	/* "/" + the file */
	int version;			/* 3 or 4 */
	int port;			/* as given, 0: none */
	uint64_t eof;			/* the file's end as we know it */
	struct nfs_call *calls;		/* in flight */
	struct nfs_call *orphans;	/* given up on */
	bool broken;
	int broken_err;
	int sock_err;			/* the socket's last error, -errno */
	char last_io[64];		/* the last request that failed */
	double backoff_until;
	/* while opening: the peer ports connected to, in order (messages) */
	bool opening;
	int peers[NFS_PEERS];
	int npeers;
};

static const struct svm_ep_ops nfs_ops;

static struct svm_ep_nfs *N(struct svm_ep *ep)
{
	return (struct svm_ep_nfs *)ep;
}

/* ---- calls -------------------------------------------------------------- */

static void list_add(struct nfs_call **head, struct nfs_call *c)
{
	c->prev = NULL;
	c->next = *head;
	if (*head)
		(*head)->prev = c;
	*head = c;
}

static void list_del(struct nfs_call **head, struct nfs_call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		*head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* c is (about to be) queued to libnfs: remember its message now. */
static void call_queued(struct nfs_call *c)
{
	const char *s = c->n->nfs ? nfs_get_error(c->n->nfs) : NULL;

	c->err_ptr = s;
	snprintf(c->err_was, sizeof(c->err_was), "%s", s ? s : "");
}

/* libnfs's message if it is new since c was queued, else "". */
static const char *call_msg(struct nfs_call *c, struct nfs_context *nfs)
{
	const char *s = nfs_get_error(nfs);

	if (!s || (s == c->err_ptr &&
		   !strncmp(s, c->err_was, sizeof(c->err_was) - 1)))
		return "";
	return s;
}

static struct nfs_call *call_new(struct svm_ep_nfs *n, enum call_kind kind)
{
	struct nfs_call *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->n = n;
	c->kind = kind;
	call_queued(c);
	list_add(&n->calls, c);
	return c;
}

static void call_free(struct nfs_call *c)
{
	list_del(c->orphan ? &c->n->orphans : &c->n->calls, c);
	free(c);
}

/* Give up on c, not finished: its callback (or close) frees it. */
static void call_orphan(struct nfs_call *c)
{
	if (c->orphan)
		return;
	list_del(&c->n->calls, c);
	c->orphan = true;
	list_add(&c->n->orphans, c);
}

/* A callback's first step: an orphan is freed and the callback ends. */
static bool call_gone(struct nfs_call *c)
{
	if (!c->orphan)
		return false;
	call_free(c);
	return true;
}

/* ---- errors ------------------------------------------------------------- */

/* libnfs's words m after a message, in brackets, when it said anything */
#define DETAIL_FMT "%s%s%s"
#define DETAIL(m) (m)[0] ? " [" : "", (m), (m)[0] ? "]" : ""

static const char *nfs_msg(struct svm_ep_nfs *n)
{
	const char *s = n->nfs ? nfs_get_error(n->nfs) : NULL;

	return s ? s : "";
}

/* The last "(N)" in libnfs's message ("NFS3ERR_ROFS(-30)"), as -errno. */
static int msg_errno(const char *s)
{
	int e = 0, v;
	const char *p;

	for (p = s; (p = strchr(p, '(')); p++)
		if (sscanf(p, "(%d)", &v) == 1 && v && v > -4096 && v < 4096)
			e = v < 0 ? v : -v;
	return e;
}

/*
 * libnfs's err as -errno: its own when it has one; -EFAULT (an RPC or
 * NFS error) and -EINTR (cancelled) carry the errno in the message, if
 * at all.
 */
static int nfs_err(int err, const char *msg)
{
	int e;

	if (err != -EFAULT && err != -EINTR && err < 0)
		return err;
	e = msg_errno(msg);
	if (e)
		return e;
	return err == -EINTR ? -ECANCELED : -EIO;
}

/* err in words, with what it usually means on NFS. */
static const char *err_words(int err)
{
	switch (err) {
	case -EACCES:
	case -EPERM:
		return "permission denied (root squashed?)";
	case -EROFS:
		return "read-only export";
	case -ENOSPC:
		return "out of space on the server";
	case -EDQUOT:
		return "over quota on the server";
	case -ESTALE:
		return "stale file handle (removed on the server?)";
	default:
		return strerror(-err);
	}
}

/*
 * A request failed: ep->msg says what, where, why, and libnfs's own words.
 */
static int io_fail(struct svm_ep_nfs *n, struct svm_ep_io *io, bool write,
		   int err, const char *detail)
{
	snprintf(n->last_io, sizeof(n->last_io), "%s %u bytes at %llu",
		 write ? "writing" : "reading", io->len,
		 (unsigned long long)io->off);
	return svm_ep_fail(&n->ep, err, "%s: %s" DETAIL_FMT, n->last_io,
			   err_words(err), DETAIL(detail));
}

/*
 * The endpoint is broken: every request in flight completes with err,
 * libnfs is not serviced any more, later calls fail with err.
 */
__attribute__((format(printf, 3, 4)))
static int nfs_break(struct svm_ep_nfs *n, int err, const char *fmt, ...)
{
	struct nfs_call *c, *next;
	va_list ap;

	if (n->broken)
		return n->broken_err;
	va_start(ap, fmt);
	vsnprintf(n->ep.msg, sizeof(n->ep.msg), fmt, ap);
	va_end(ap);
	n->broken = true;
	n->broken_err = err;
	for (c = n->calls; c; c = next) {
		next = c->next;
		if (c->finished)
			continue;	/* an operation's result: still ours */
		call_orphan(c);
		if (c->io)
			svm_ep_complete(&n->ep, c->io, err);
	}
	return err;
}

/* ---- the poll loop ------------------------------------------------------ */

/* While opening: remember which port the socket is connected to. */
static void note_peer(struct svm_ep_nfs *n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = nfs_get_fd(n->nfs), port;

	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len))
		return;
	if (ss.ss_family == AF_INET)
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		return;
	if (n->npeers && n->peers[n->npeers - 1] == port)
		return;
	if (n->npeers < NFS_PEERS)
		n->peers[n->npeers++] = port;
}

static int nfsep_poll_fd(struct svm_ep *ep, short *events)
{
	struct svm_ep_nfs *n = N(ep);
	int fd;

	*events = 0;
	if (n->broken || !n->nfs || svm_ep_now() < n->backoff_until)
		return -1;
	fd = nfs_get_fd(n->nfs);
	if (fd < 0)
		return -1;
	*events = nfs_which_events(n->nfs);
	return fd;
}

/* The first request in flight past its deadline, or NULL. */
static struct nfs_call *expired(struct svm_ep_nfs *n)
{
	double t = svm_ep_now();
	struct nfs_call *c;

	for (c = n->calls; c; c = c->next)
		if (c->io && c->io->deadline > 0 && t > c->io->deadline)
			return c;
	return NULL;
}

/*
 * The socket's error, kept: libnfs reads it too, but then overwrites its
 * message ("Connection refused(111)") with "Socket failed with POLLHUP".
 */
static void note_sock_err(struct svm_ep_nfs *n)
{
	int fd = nfs_get_fd(n->nfs), e = 0;
	socklen_t len = sizeof(e);

	if (fd >= 0 && !getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) && e)
		n->sock_err = -e;
}

/* The request in flight at the lowest offset, or NULL. */
static struct nfs_call *lowest(struct svm_ep_nfs *n)
{
	struct nfs_call *c, *low = NULL;

	for (c = n->calls; c; c = c->next)
		if (c->io && (!low || c->io->off < low->io->off))
			low = c;
	return low;
}

/*
 * libnfs gave up on the connection (NFSv4 never reconnects): broken,
 * naming the request in flight at the lowest offset, or the one libnfs
 * failed last.
 */
static int conn_lost(struct svm_ep_nfs *n)
{
	struct nfs_call *c = lowest(n);
	char at[96] = "";

	if (c)
		snprintf(at, sizeof(at), "%s %u bytes at %llu: ",
			 c->kind == CALL_WRITE ? "writing" : "reading",
			 c->io->len, (unsigned long long)c->io->off);
	else if (n->last_io[0])
		snprintf(at, sizeof(at), "%s: ", n->last_io);
	return nfs_break(n, -EIO, "%sconnection to %s lost (%s)", at,
			 n->server, n->sock_err ? strerror(-n->sock_err) :
			 "closed by the server");
}

static int nfsep_service(struct svm_ep *ep, short revents)
{
	struct svm_ep_nfs *n = N(ep);
	struct nfs_call *c;

	if (n->broken)
		return n->broken_err;
	if (revents & (POLLERR | POLLHUP))
		note_sock_err(n);
	if (nfs_service(n->nfs, revents) < 0)
		return conn_lost(n);
	if (n->opening)
		note_peer(n);
	/* a refused reconnect returns at once: do not spin on it */
	if (revents & (POLLERR | POLLHUP))
		n->backoff_until = svm_ep_now() + NFS_BACKOFF;
	c = expired(n);
	if (c)
		return nfs_break(n, -ETIMEDOUT,
				 "%s %u bytes at %llu: no reply from %s within %d ms",
				 c->kind == CALL_WRITE ? "writing" : "reading",
				 c->io->len, (unsigned long long)c->io->off,
				 n->server, n->ep.timeout_ms);
	return 0;
}

/* Poll and service once, for at most ms. */
static void poll_once(struct svm_ep_nfs *n, int ms)
{
	struct pollfd pfd = { .fd = -1 };

	pfd.fd = nfsep_poll_fd(&n->ep, &pfd.events);
	if (poll(&pfd, pfd.fd >= 0 ? 1 : 0, ms) < 0)
		pfd.revents = 0;
	nfsep_service(&n->ep, pfd.fd >= 0 ? pfd.revents : 0);
}

/*
 * Wait for operation c until end (absolute). 0 and c still ours, or
 * -errno and c given up on (its callback frees it): -ETIMEDOUT breaks the
 * endpoint.
 */
static int op_wait(struct svm_ep_nfs *n, struct nfs_call *c, double end,
		   const char *what)
{
	double left;

	while (!c->finished) {
		if (n->broken) {
			call_orphan(c);
			return n->broken_err;
		}
		left = end - svm_ep_now();
		if (left <= 0) {
			call_orphan(c);
			return nfs_break(n, -ETIMEDOUT,
					 "%s: no reply from %s within %d ms",
					 what, n->server, n->ep.timeout_ms);
		}
		poll_once(n, left * 1000 < SVM_EP_TICK_MS ?
			     (int)(left * 1000) + 1 : SVM_EP_TICK_MS);
	}
	return 0;
}

/* An operation that finished: its status, and it is freed. */
static int op_end(struct nfs_call *c)
{
	int status = c->status;

	call_free(c);
	return status;
}

/* Callbacks of operations. */
static void op_finish(struct nfs_call *c, int err, struct nfs_context *nfs)
{
	c->finished = true;
	if (err < 0) {
		snprintf(c->msg, sizeof(c->msg), "%s", call_msg(c, nfs));
		c->status = nfs_err(err, c->msg);
	}
}

static void op_cb(int err, struct nfs_context *nfs, void *data, void *priv)
{
	struct nfs_call *c = priv;

	(void)data;
	if (!call_gone(c))
		op_finish(c, err, nfs);
}

static void open_cb(int err, struct nfs_context *nfs, void *data, void *priv)
{
	struct nfs_call *c = priv;

	if (call_gone(c))
		return;
	if (!err)
		c->r.fh = data;
	op_finish(c, err, nfs);
}

static void stat_cb(int err, struct nfs_context *nfs, void *data, void *priv)
{
	struct nfs_call *c = priv;

	if (call_gone(c))
		return;
	if (!err)
		c->r.st = *(struct nfs_stat_64 *)data;
	op_finish(c, err, nfs);
}

static void statvfs_cb(int err, struct nfs_context *nfs, void *data,
		       void *priv)
{
	struct nfs_call *c = priv;

	if (call_gone(c))
		return;
	if (!err)
		c->r.sv = *(struct nfs_statvfs_64 *)data;
	op_finish(c, err, nfs);
}

/*
 * Wait for operation c, queued already (submitted: the queueing function's
 * 0 or -1), at most the timeout; 0 or -errno with c->msg saying why. The
 * caller then reads c->r and frees c with op_end(), unless c->orphan (it
 * timed out, or the endpoint broke: ep->msg says why).
 */
static int op_run(struct svm_ep_nfs *n, struct nfs_call *c, int submitted,
		  const char *what)
{
	int ret;

	if (submitted < 0 && !c->finished) {
		snprintf(c->msg, sizeof(c->msg), "%s", call_msg(c, n->nfs));
		c->status = nfs_err(-EFAULT, c->msg);
		c->finished = true;
	}
	ret = op_wait(n, c, svm_ep_now() + n->ep.timeout_ms / 1000.0, what);
	return ret ? ret : c->status;
}

/* ---- requests ----------------------------------------------------------- */

static void read_cb(int err, struct nfs_context *nfs, void *data, void *priv);
static void write_cb(int err, struct nfs_context *nfs, void *data, void *priv);

static int submit(struct nfs_call *c)
{
	struct svm_ep_nfs *n = c->n;
	struct svm_ep_io *io = c->io;
	uint64_t off = io->off + c->done;
	uint32_t len = io->len - c->done;

	if (c->kind == CALL_WRITE) {
		if (n->version == 4 && len > NFS_V4_WRITE)
			len = NFS_V4_WRITE;	/* the rest as for a short write */
		return nfs_pwrite_async(n->nfs, n->fh, off, len,
					(char *)io->buf + c->done, write_cb, c);
	}
	return nfs_pread_async(n->nfs, n->fh, off, len, read_cb, c);
}

/* The rest of a short request, again; false when it cannot be sent. */
static bool resubmit(struct nfs_call *c)
{
	call_queued(c);
	return submit(c) == 0;
}

static void io_complete(struct nfs_call *c, int err)
{
	struct svm_ep_nfs *n = c->n;
	struct svm_ep_io *io = c->io;

	if (!err && c->kind == CALL_WRITE && io->off + io->len > n->eof)
		n->eof = io->off + io->len;
	call_free(c);
	svm_ep_complete(&n->ep, io, err);
}

static void io_error(struct nfs_call *c, int err, struct nfs_context *nfs)
{
	const char *s = call_msg(c, nfs);
	int e = nfs_err(err, s);

	io_fail(c->n, c->io, c->kind == CALL_WRITE, e, s);
	io_complete(c, e);
}

/*
 * A read returned got bytes at io->off + c->done. Short: zeros at and
 * after the end of the file, else the rest is asked again (NFSv4 servers
 * may return less than asked); nothing at all before the end is -EIO.
 */
static void read_cb(int err, struct nfs_context *nfs, void *data, void *priv)
{
	struct nfs_call *c = priv;
	struct svm_ep_io *io;
	uint32_t got;

	if (call_gone(c))
		return;
	if (err < 0) {
		io_error(c, err, nfs);
		return;
	}
	io = c->io;
	got = (uint32_t)err;
	if (got > io->len - c->done)
		got = io->len - c->done;
	if (got)
		memcpy((char *)io->buf + c->done, data, got);
	c->done += got;
	if (c->done == io->len) {
		io_complete(c, 0);
		return;
	}
	if (io->off + c->done >= c->n->eof) {
		memset((char *)io->buf + c->done, 0, io->len - c->done);
		io_complete(c, 0);
		return;
	}
	if (got && resubmit(c))
		return;
	svm_ep_fail(&c->n->ep, -EIO,
		    "reading %u bytes at %llu: short read, %u bytes before the end of the file at %llu",
		    io->len, (unsigned long long)io->off, c->done,
		    (unsigned long long)c->n->eof);
	io_complete(c, -EIO);
}

/* A write wrote put bytes; a short one is sent again for the rest. */
static void write_cb(int err, struct nfs_context *nfs, void *data, void *priv)
{
	struct nfs_call *c = priv;
	struct svm_ep_io *io;
	uint32_t put;

	(void)data;
	if (call_gone(c))
		return;
	if (err < 0) {
		io_error(c, err, nfs);
		return;
	}
	io = c->io;
	put = (uint32_t)err;
	if (put > io->len - c->done)
		put = io->len - c->done;
	c->done += put;
	if (c->done == io->len) {
		io_complete(c, 0);
		return;
	}
	if (put && resubmit(c))
		return;
	svm_ep_fail(&c->n->ep, -EIO,
		    "writing %u bytes at %llu: short write, %u bytes written",
		    io->len, (unsigned long long)io->off, c->done);
	io_complete(c, -EIO);
}

static int queue_io(struct svm_ep *ep, struct svm_ep_io *io, bool write)
{
	struct svm_ep_nfs *n = N(ep);
	struct nfs_call *c;

	if (n->broken)
		return n->broken_err;
	if (ep->max_io && io->len > ep->max_io)
		return svm_ep_fail(ep, -EINVAL,
				   "%s %u bytes at %llu: larger than the server's %u",
				   write ? "writing" : "reading", io->len,
				   (unsigned long long)io->off, ep->max_io);
	c = call_new(n, write ? CALL_WRITE : CALL_READ);
	if (!c)
		return svm_ep_fail(ep, -ENOMEM, "out of memory");
	c->io = io;
	if (submit(c)) {
		call_free(c);
		return svm_ep_fail(ep, -EIO, "%s %u bytes at %llu: %s",
				   write ? "writing" : "reading", io->len,
				   (unsigned long long)io->off, nfs_msg(n));
	}
	return 0;
}

static int nfsep_read(struct svm_ep *ep, struct svm_ep_io *io)
{
	return queue_io(ep, io, false);
}

static int nfsep_write(struct svm_ep *ep, struct svm_ep_io *io)
{
	return queue_io(ep, io, true);
}

/* ---- other ops ---------------------------------------------------------- */

static int nfsep_zero(struct svm_ep *ep, uint64_t off, uint64_t len,
		    enum svm_ep_zero_how how)
{
	(void)ep;
	(void)off;
	(void)len;
	(void)how;
	return -EOPNOTSUPP;
}

static int nfsep_extent(struct svm_ep *ep, uint64_t off, uint64_t len,
		      bool *data, uint64_t *run)
{
	(void)ep;
	(void)off;
	*data = true;
	*run = len;
	return 0;
}

/* A synchronous operation's failure in ep->msg (unless it broke it). */
static int op_fail(struct svm_ep_nfs *n, int err, const char *what,
		   const char *msg)
{
	if (n->broken)
		return err;
	return svm_ep_fail(&n->ep, err, "%s: %s" DETAIL_FMT, what,
			   err_words(err), DETAIL(msg));
}

static int nfsep_flush(struct svm_ep *ep)
{
	struct svm_ep_nfs *n = N(ep);
	struct nfs_call *c;
	int ret;

	if (n->broken)
		return n->broken_err;
	c = call_new(n, CALL_OP);
	if (!c)
		return svm_ep_fail(ep, -ENOMEM, "out of memory");
	ret = op_run(n, c, nfs_fsync_async(n->nfs, n->fh, op_cb, c),
		     "flushing (COMMIT)");
	if (ret && !c->orphan)
		op_fail(n, ret, "flushing (COMMIT)", c->msg);
	if (!c->orphan)
		op_end(c);
	return ret;
}

/* The file's attributes now; 0 or -errno (ep->msg). */
static int nfs_getattr(struct svm_ep_nfs *n, struct nfs_stat_64 *st)
{
	struct nfs_call *c = call_new(n, CALL_OP);
	int ret;

	if (!c)
		return svm_ep_fail(&n->ep, -ENOMEM, "out of memory");
	ret = op_run(n, c, nfs_fstat64_async(n->nfs, n->fh, stat_cb, c),
		     "stat");
	if (c->orphan)
		return ret;
	if (ret)
		op_fail(n, ret, "stat", c->msg);
	else
		*st = c->r.st;
	op_end(c);
	return ret;
}

int svm_ep_nfs_fileid(struct svm_ep *ep, uint64_t *fileid)
{
	struct nfs_stat_64 st;
	int ret;

	if (!ep || ep->ops != &nfs_ops)
		return -EINVAL;
	if (N(ep)->broken)
		return N(ep)->broken_err;
	ret = nfs_getattr(N(ep), &st);
	if (!ret)
		*fileid = st.nfs_ino;
	return ret;
}

static int nfsep_set_size(struct svm_ep *ep, uint64_t size)
{
	struct svm_ep_nfs *n = N(ep);
	struct nfs_stat_64 st;
	struct nfs_call *c;
	char what[64];
	int ret;

	if (n->broken)
		return n->broken_err;
	ret = nfs_getattr(n, &st);
	if (ret)
		return ret;
	if (st.nfs_size >= size)
		return 0;
	c = call_new(n, CALL_OP);
	if (!c)
		return svm_ep_fail(ep, -ENOMEM, "out of memory");
	snprintf(what, sizeof(what), "extending to %llu",
		 (unsigned long long)size);
	ret = op_run(n, c, nfs_ftruncate_async(n->nfs, n->fh, size, op_cb, c),
		     what);
	if (c->orphan)
		return ret;
	if (ret) {
		op_fail(n, ret, what, c->msg);
		return op_end(c);
	}
	op_end(c);
	if (ep->fresh_from > st.nfs_size)
		ep->fresh_from = st.nfs_size;
	ep->size = size;
	if (n->eof < size)
		n->eof = size;
	return 0;
}

static int nfsep_space(struct svm_ep *ep, uint64_t *total, uint64_t *avail)
{
	struct svm_ep_nfs *n = N(ep);
	struct nfs_call *c;
	int ret;

	if (n->broken)
		return n->broken_err;
	c = call_new(n, CALL_OP);
	if (!c)
		return svm_ep_fail(ep, -ENOMEM, "out of memory");
	ret = op_run(n, c, nfs_statvfs64_async(n->nfs, n->path, statvfs_cb, c),
		     "statvfs");
	if (c->orphan)
		return ret;
	if (ret) {
		op_fail(n, ret, "statvfs", c->msg);
	} else {
		*total = c->r.sv.f_blocks * c->r.sv.f_frsize;
		*avail = c->r.sv.f_bavail * c->r.sv.f_frsize;
	}
	op_end(c);
	return ret;
}

/* REMOVE the file's path; the handle stays open (NFS: reads may go on). */
static int nfsep_remove(struct svm_ep *ep)
{
	struct svm_ep_nfs *n = N(ep);
	struct nfs_call *c;
	char what[80];
	int ret;

	if (n->broken)
		return n->broken_err;
	c = call_new(n, CALL_OP);
	if (!c)
		return svm_ep_fail(ep, -ENOMEM, "out of memory");
	snprintf(what, sizeof(what), "removing %.60s", n->path + 1);
	ret = op_run(n, c, nfs_unlink_async(n->nfs, n->path, op_cb, c), what);
	if (c->orphan)
		return ret;
	if (ret)
		op_fail(n, ret, what, c->msg);
	op_end(c);
	return ret;
}

/*
 * Close fh; waited for (bounded) when wait, else left to
 * nfs_destroy_context(), which cancels it and frees fh.
 */
static void close_fh(struct svm_ep_nfs *n, struct nfsfh *fh, bool wait)
{
	struct nfs_call *c = call_new(n, CALL_OP);

	if (!c)
		return;
	if (nfs_close_async(n->nfs, fh, op_cb, c))
		c->finished = true;	/* not queued (fh leaks) */
	if (wait && !n->broken)
		op_wait(n, c, svm_ep_now() + n->ep.timeout_ms / 1000.0, "closing");
	if (c->finished)
		op_end(c);
	else
		call_orphan(c);
}

/* The socket is connected now (a peer), rather than connecting. */
static bool connected(struct svm_ep_nfs *n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = nfs_get_fd(n->nfs);

	return fd >= 0 && !getpeername(fd, (struct sockaddr *)&ss, &len);
}

/*
 * Tear down: requests still in flight are abandoned; a healthy endpoint
 * with none closes its file first (NFSv3: COMMIT if written, NFSv4:
 * CLOSE), bounded by the timeout.
 */
static void nfs_teardown(struct svm_ep_nfs *n)
{
	bool idle = !n->calls && !n->broken;

	while (n->calls)
		call_orphan(n->calls);
	if (n->fh) {
		close_fh(n, n->fh, idle);
		n->fh = NULL;
	}
	if (n->nfs) {
		/*
		 * A connect in progress has no request to cancel: libnfs
		 * would leak its state. POLLERR fails it (its callbacks run).
		 */
		if (n->opening && nfs_get_fd(n->nfs) >= 0 && !connected(n))
			nfs_service(n->nfs, POLLERR);
		nfs_destroy_context(n->nfs);
		n->nfs = NULL;
	}
	while (n->orphans)
		call_free(n->orphans);
}

static void nfsep_close(struct svm_ep *ep)
{
	struct svm_ep_nfs *n = N(ep);

	nfs_teardown(n);
	free(ep->name);
	free(n);
}

static const struct svm_ep_ops nfs_ops = {
	.kind = "nfs",
	.read = nfsep_read,
	.write = nfsep_write,
	.zero = nfsep_zero,
	.extent = nfsep_extent,
	.flush = nfsep_flush,
	.set_size = nfsep_set_size,
	.space = nfsep_space,
	.poll_fd = nfsep_poll_fd,
	.service = nfsep_service,
	.close = nfsep_close,
	.remove = nfsep_remove,
};

/* ---- opening ------------------------------------------------------------ */

/*
 * What an NFSv3 mount connects to next, from the ports it was connected
 * to so far: the portmapper (111), MOUNT, the portmapper again unless the
 * NFS port is given, NFS.
 */
static const char *v3_next(struct svm_ep_nfs *n, int *port)
{
	int i, other = 0, last = n->npeers ? n->peers[n->npeers - 1] : 0;

	for (i = 0; i < n->npeers; i++)
		if (n->peers[i] != PMAP_PORT)
			other++;
	*port = 0;
	if (!n->npeers) {
		*port = PMAP_PORT;
		return "portmapper";
	}
	if (!other)
		return "MOUNT, port from the portmapper";
	if (other == 1 && last != PMAP_PORT && !n->port) {
		*port = PMAP_PORT;
		return "portmapper";
	}
	*port = n->port;
	return n->port ? "NFS" : "NFS, port from the portmapper";
}

/* The service being connected to (or talked to) now, and its port. */
static const char *target(struct svm_ep_nfs *n, bool conn, int *port)
{
	int i, other = 0;

	if (n->version == 4) {
		*port = n->port ? n->port : NFS_PORT;
		return "NFSv4";
	}
	if (!conn || !n->npeers)
		return v3_next(n, port);
	*port = n->peers[n->npeers - 1];
	if (*port == PMAP_PORT)
		return "portmapper";
	for (i = 0; i < n->npeers; i++)
		if (n->peers[i] != PMAP_PORT)
			other++;
	return other > 1 ? "NFS" : "MOUNT";
}

/* "SERVER port P (what)" for messages. */
static void where(struct svm_ep_nfs *n, bool conn, char *buf, size_t len)
{
	int port;
	const char *what = target(n, conn, &port);

	if (port)
		snprintf(buf, len, "%s port %d (%s)", n->server, port, what);
	else
		snprintf(buf, len, "%s (%s)", n->server, what);
}

/* Mount failed with err (libnfs's words in msg): ep->msg says why. */
static int mount_fail(struct svm_ep_nfs *n, int err, const char *msg)
{
	char w[SVM_URL_HOST_MAX + 96];

	if ((err == -EIO || err == -EFAULT) && n->sock_err)
		err = n->sock_err;
	switch (err) {
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
		where(n, false, w, sizeof(w));
		return svm_ep_fail(&n->ep, err, "cannot connect to %s: %s",
				   w, strerror(-err));
	case -ECONNRESET:
	case -EPIPE:
		where(n, n->npeers > 0, w, sizeof(w));
		return svm_ep_fail(&n->ep, err, "%s closed the connection: %s",
				   w, strerror(-err));
	case -EACCES:
	case -EPERM:
	case -ENOENT:
		if (n->version == 3 && strstr(msg, "Mount failed"))
			return svm_ep_fail(&n->ep, err,
					   "export %s not exported by %s (or not to this host)" DETAIL_FMT,
					   n->export_, n->server, DETAIL(msg));
		if (err == -ENOENT)
			return svm_ep_fail(&n->ep, err,
					   "export %s not exported by %s (or not to this host; NFSv4 paths start at the server's NFSv4 root)" DETAIL_FMT,
					   n->export_, n->server, DETAIL(msg));
		return svm_ep_fail(&n->ep, err,
				   "export %s on %s: permission denied (not exported to this host?)" DETAIL_FMT,
				   n->export_, n->server, DETAIL(msg));
	default:
		where(n, connected(n), w, sizeof(w));
		return svm_ep_fail(&n->ep, err, "mounting %s from %s: %s" DETAIL_FMT,
				   n->export_, w, strerror(-err), DETAIL(msg));
	}
}

static int nfs_mount_export(struct svm_ep_nfs *n)
{
	double end = svm_ep_now() + n->ep.timeout_ms / 1000.0;
	struct nfs_call *c = call_new(n, CALL_OP);
	char w[SVM_URL_HOST_MAX + 96];
	int ret;

	if (!c)
		return svm_ep_fail(&n->ep, -ENOMEM, "out of memory");
	if (nfs_mount_async(n->nfs, n->server, n->export_, op_cb, c)) {
		ret = mount_fail(n, nfs_err(-EFAULT, nfs_msg(n)), nfs_msg(n));
		call_free(c);
		return ret;
	}
	ret = op_wait(n, c, end, "mounting");
	if (ret == -ETIMEDOUT) {
		bool conn = connected(n);

		where(n, conn, w, sizeof(w));
		return svm_ep_fail(&n->ep, ret, conn ?
				   "%s accepted the connection but did not answer within %d ms" :
				   "cannot connect to %s: no answer within %d ms",
				   w, n->ep.timeout_ms);
	}
	if (ret)	/* the connection was lost */
		return mount_fail(n, n->sock_err ? n->sock_err : ret, "");
	ret = c->status;
	if (ret)
		ret = mount_fail(n, ret, c->msg);
	op_end(c);
	return ret;
}

/*
 * NFSv4: the server's maxread and maxwrite, from GETATTR of the root.
 * libnfs's XDR decoder leaves its results only 4-byte aligned: they are
 * copied out before they are looked at.
 */
static void v4_max_cb(struct rpc_context *rpc, int status, void *data,
		      void *priv)
{
	struct nfs_call *c = priv;
	COMPOUND4res res;
	nfs_resop4 op;
	GETATTR4resok *ok;
	unsigned char vals[16];
	uint32_t mask;
	int i, k, j = 0;

	(void)rpc;
	if (call_gone(c))
		return;
	c->finished = true;
	c->status = -EIO;
	if (status != RPC_STATUS_SUCCESS || !data)
		return;
	memcpy(&res, data, sizeof(res));
	if (res.status != NFS4_OK || res.resarray.resarray_len < 2)
		return;
	memcpy(&op, (const char *)res.resarray.resarray_val + sizeof(op),
	       sizeof(op));
	ok = &op.nfs_resop4_u.opgetattr.GETATTR4res_u.resok4;
	if (op.nfs_resop4_u.opgetattr.status != NFS4_OK ||
	    !ok->obj_attributes.attrmask.bitmap4_len)
		return;
	memcpy(&mask, ok->obj_attributes.attrmask.bitmap4_val, sizeof(mask));
	if ((mask & ~(3u << FATTR4_MAXREAD)) ||
	    ok->obj_attributes.attr_vals.attrlist4_len !=
	    8u * __builtin_popcount(mask))
		return;
	memcpy(vals, ok->obj_attributes.attr_vals.attrlist4_val,
	       ok->obj_attributes.attr_vals.attrlist4_len);
	/* XDR: the attributes in bit order, each a big-endian uint64 */
	for (k = FATTR4_MAXREAD; k <= FATTR4_MAXWRITE; k++) {
		uint64_t v = 0;

		if (!(mask & (1u << k)))
			continue;
		for (i = 0; i < 8; i++)
			v = v << 8 | vals[j++];
		if (k == FATTR4_MAXREAD)
			c->r.v4.rmax = v;
		else
			c->r.v4.wmax = v;
	}
	c->status = 0;
}

static uint64_t v4_max_io(struct svm_ep_nfs *n)
{
	uint32_t mask = (1u << FATTR4_MAXREAD) | (1u << FATTR4_MAXWRITE);
	COMPOUND4args args;
	nfs_argop4 op[2];
	struct nfs_call *c = call_new(n, CALL_OP);
	uint64_t max = 0;
	int ret;

	if (!c)
		return 0;
	memset(&args, 0, sizeof(args));
	memset(op, 0, sizeof(op));
	op[0].argop = OP_PUTROOTFH;
	op[1].argop = OP_GETATTR;
	op[1].nfs_argop4_u.opgetattr.attr_request.bitmap4_len = 1;
	op[1].nfs_argop4_u.opgetattr.attr_request.bitmap4_val = &mask;
	args.argarray.argarray_len = 2;
	args.argarray.argarray_val = op;
	ret = rpc_nfs4_compound_async(nfs_get_rpc_context(n->nfs), v4_max_cb,
				      &args, c);
	if (ret) {
		call_free(c);
		return 0;
	}
	if (op_wait(n, c, svm_ep_now() + n->ep.timeout_ms / 1000.0,
		    "GETATTR maxread/maxwrite"))
		return 0;
	if (!c->status && c->r.v4.rmax && c->r.v4.wmax)
		max = c->r.v4.rmax < c->r.v4.wmax ? c->r.v4.rmax : c->r.v4.wmax;
	op_end(c);
	return max;
}

/* The largest request: the server's, at most libnfs's, in 4 KiB. */
static int set_max_io(struct svm_ep_nfs *n)
{
	uint64_t max;

	if (n->version == 4) {
		max = v4_max_io(n);
		if (n->broken)
			return n->broken_err;
		if (!max)
			max = NFS_IO_V4_DEFAULT;
		/*
		 * a v4 request is written NFS_V4_WRITE bytes at a time, one
		 * after the other: keep each small enough to finish within
		 * its deadline while many are in flight
		 */
		if (max > NFS_V4_REQ_MAX)
			max = NFS_V4_REQ_MAX;
	} else {
		max = nfs_get_readmax(n->nfs);
		if (nfs_get_writemax(n->nfs) < max)
			max = nfs_get_writemax(n->nfs);
	}
	if (max > NFS_IO_MAX)
		max = NFS_IO_MAX;
	if (max >= 8192)
		max &= ~4095ull;
	n->ep.max_io = max ? max : 4096;
	return 0;
}

/* nfs_open2_async(flags) waited for: the handle in *fh, or -errno. */
static int open_once(struct svm_ep_nfs *n, int flags, struct nfsfh **fh,
		     char *msg, size_t msglen)
{
	struct nfs_call *c = call_new(n, CALL_OP);
	int ret;

	if (!c)
		return -ENOMEM;
	ret = op_run(n, c, nfs_open2_async(n->nfs, n->path, flags, 0644,
					   open_cb, c), "opening");
	if (c->orphan)
		return ret;
	if (!ret)
		*fh = c->r.fh;
	snprintf(msg, msglen, "%s", c->msg);
	op_end(c);
	return ret;
}

/*
 * open_once(), again while the server answers NFS4ERR_DELAY (-EAGAIN), as
 * RFC 7530 asks of a client: it does so while it recalls a delegation of
 * the file from another client — the kernel's mount that has just created
 * or written it. Bounded by the endpoint's timeout.
 */
static int open_file(struct svm_ep_nfs *n, int flags, struct nfsfh **fh,
		     char *msg, size_t msglen)
{
	double give_up = svm_ep_now() + n->ep.timeout_ms / 1000.0;
	struct timespec ts;
	long ms = OPEN_DELAY_MS_MIN;
	int ret;

	for (;;) {
		ret = open_once(n, flags, fh, msg, msglen);
		if (ret != -EAGAIN || n->broken ||
		    svm_ep_now() + ms / 1000.0 > give_up)
			return ret;
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = ms % 1000 * 1000000L;
		nanosleep(&ts, NULL);
		ms = ms * 2 > OPEN_DELAY_MS_MAX ? OPEN_DELAY_MS_MAX : ms * 2;
	}
}

/*
 * NFSv3 refused opening for writing (ACCESS): a read-only export, or a
 * permission? A WRITE of 0 bytes through a read-only handle says which
 * (-EROFS, -EACCES), or 0 when it went through.
 */
static int v3_write_probe(struct svm_ep_nfs *n, char *msg, size_t msglen)
{
	struct nfsfh *fh = NULL;
	struct nfs_call *c;
	int ret = open_file(n, O_RDONLY, &fh, msg, msglen);

	if (ret)
		return ret;
	ret = -ENOMEM;
	c = call_new(n, CALL_OP);
	if (c) {
		ret = op_run(n, c, nfs_pwrite_async(n->nfs, fh, 0, 0, "",
						    op_cb, c), "writing");
		if (!c->orphan) {
			snprintf(msg, msglen, "%s", c->msg);
			op_end(c);
		}
	}
	close_fh(n, fh, true);
	return ret;
}

/* ep->msg for a failed open of the file. */
static int open_fail(struct svm_ep_nfs *n, int err, const char *msg)
{
	const char *f = n->path + 1;

	if (n->broken)
		return err;
	switch (err) {
	case -ENOENT:
		return svm_ep_fail(&n->ep, err, "%s: no such file in %s:%s", f,
				   n->server, n->export_);
	case -EEXIST:
		return svm_ep_fail(&n->ep, err, "%s exists already", f);
	case -EROFS:
		return svm_ep_fail(&n->ep, err,
				   "opening %s for writing: read-only export %s:%s" DETAIL_FMT,
				   f, n->server, n->export_, DETAIL(msg));
	case -EACCES:
	case -EPERM:
		return svm_ep_fail(&n->ep, err,
				   "opening %s: permission denied (root squashed?)" DETAIL_FMT,
				   f, DETAIL(msg));
	default:
		return svm_ep_fail(&n->ep, err, "opening %s: %s" DETAIL_FMT, f,
				   strerror(-err), DETAIL(msg));
	}
}

/*
 * Open an existing file; NFSv3's EACCES for writing is told apart from a
 * read-only export.
 */
static int open_existing(struct svm_ep_nfs *n, int mode, char *msg,
			 size_t msglen)
{
	char pmsg[200];
	int ret = open_file(n, mode, &n->fh, msg, msglen), probe;

	if (ret != -EACCES || mode != O_RDWR || n->version != 3)
		return ret;
	probe = v3_write_probe(n, pmsg, sizeof(pmsg));
	if (probe != -EROFS && probe != -EACCES && probe != -EPERM)
		return ret;
	snprintf(msg, msglen, "%s", pmsg);
	return probe;
}

/* Open (and create) the file as flags say. */
static int nfs_open_file(struct svm_ep_nfs *n, unsigned int flags)
{
	int mode = (flags & (SVM_EP_WRITE | SVM_EP_CREATE)) ? O_RDWR : O_RDONLY;
	char msg[200] = "";
	int ret = -ENOENT, i;

	/* create O_EXCL only when missing (NFSv4: see the header comment) */
	for (i = 0; i < 2; i++) {
		if (!(flags & SVM_EP_EXCL)) {
			ret = open_existing(n, mode, msg, sizeof(msg));
			if (ret != -ENOENT || !(flags & SVM_EP_CREATE))
				break;
		}
		ret = open_file(n, O_RDWR | O_CREAT | O_EXCL, &n->fh, msg,
				sizeof(msg));
		if (ret != -EEXIST || (flags & SVM_EP_EXCL))
			break;
	}
	return ret ? open_fail(n, ret, msg) : 0;
}

static int nfs_stat_file(struct svm_ep_nfs *n)
{
	struct nfs_stat_64 st;
	int ret = nfs_getattr(n, &st);

	if (ret)
		return ret;
	if (!S_ISREG(st.nfs_mode))
		return svm_ep_fail(&n->ep, -EINVAL, "%s is not a regular file",
				   n->path + 1);
	n->ep.size = st.nfs_size;
	n->ep.fresh_from = st.nfs_size;
	n->eof = st.nfs_size;
	return 0;
}

/*
 * An NFSv4.0 client identity of this context's own: libnfs names every
 * context of a process alike, and the server takes a second SETCLIENTID of
 * one name as a reboot of that client, expiring the first one's state
 * (NFS4ERR_EXPIRED), where a hot copy opens a connection per worker.
 * libnfs 4.0 copies the name and drops its default one without freeing it
 * (~30 bytes per context; tests/lsan.supp and tests/valgrind.supp name it).
 */
static void v4_identity(struct nfs_context *nfs)
{
	static atomic_uint seq;
	char host[64] = "", id[160], verf[8];
	unsigned int k = atomic_fetch_add(&seq, 1);
	struct timespec ts;

	gethostname(host, sizeof(host) - 1);
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(id, sizeof(id), "svmotion.%s.%d.%u.%lld", host, (int)getpid(),
		 k, (long long)ts.tv_sec);
	nfs4_set_client_name(nfs, id);
	memcpy(verf, &ts.tv_nsec, 4);
	memcpy(verf + 4, &k, 4);
	nfs4_set_verifier(nfs, verf);
}

/* A libnfs context set up as the URL says. */
static int nfs_setup(struct svm_ep_nfs *n)
{
	char args[80];
	struct nfs_url *nu;

	n->nfs = nfs_init_context();
	if (!n->nfs)
		return svm_ep_fail(&n->ep, -ENOMEM, "cannot create a libnfs context");
	if (nfs_set_version(n->nfs, n->version))
		return svm_ep_fail(&n->ep, -EINVAL, "NFS version %d: %s",
				   n->version, nfs_msg(n));
	if (n->version == 4)
		v4_identity(n->nfs);
	/* libnfs 4.0 takes the port only as a URL argument; no traversal of
	 * nested exports (more MOUNT calls, for nothing) */
	if (n->port)
		snprintf(args, sizeof(args),
			 "nfs:///?auto-traverse-mounts=0&nfsport=%d", n->port);
	else
		snprintf(args, sizeof(args), "nfs:///?auto-traverse-mounts=0");
	nu = nfs_parse_url_incomplete(n->nfs, args);
	if (!nu)
		return svm_ep_fail(&n->ep, -EINVAL, "libnfs arguments: %s",
				   nfs_msg(n));
	nfs_destroy_url(nu);
	return 0;
}

static int nfs_open_url(struct svm_ep_nfs *n, const struct svm_url *u,
			unsigned int flags)
{
	int ret;

	snprintf(n->server, sizeof(n->server), "%s", u->host);
	snprintf(n->export_, sizeof(n->export_), "%s", u->export_);
	snprintf(n->path, sizeof(n->path), "/%s", u->file);
	n->version = u->nfs_version == 4 ? 4 : 3;
	n->port = u->port;
	n->opening = true;
	ret = nfs_setup(n);
	if (!ret)
		ret = nfs_mount_export(n);
	if (!ret)
		ret = set_max_io(n);
	if (!ret)
		ret = nfs_open_file(n, flags);
	if (!ret)
		ret = nfs_stat_file(n);
	if (!ret)
		n->opening = false;	/* kept for the teardown on failure */
	return ret;
}

int svm_ep_nfs_open(const char *url, unsigned int flags,
		    const struct svm_ep_params *params, struct svm_ep **out,
		    char *err, size_t errlen)
{
	struct svm_url *u = malloc(sizeof(*u));
	struct svm_ep_nfs *n = calloc(1, sizeof(*n));
	char name[SVM_URL_HOST_MAX + 2 * SVM_URL_PATH_MAX + 32];
	int ret;

	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	if (!u || !n || !(n->ep.name = strdup(url))) {
		snprintf(err, errlen, "%s: out of memory", url);
		ret = -ENOMEM;
		goto out;
	}
	ret = svm_url_parse(url, u, n->ep.msg, sizeof(n->ep.msg));
	if (!ret && u->scheme != SVM_URL_NFS) {
		snprintf(n->ep.msg, sizeof(n->ep.msg), "not an nfs:// URL");
		ret = -EINVAL;
	}
	if (ret) {
		snprintf(err, errlen, "%s: %s", url, n->ep.msg);
		goto out;
	}
	n->ep.ops = &nfs_ops;
	n->ep.block_size = 1;
	n->ep.writable = flags & SVM_EP_WRITE;
	n->ep.caps = SVM_EP_CAP_GROWS;
	n->ep.timeout_ms = params && params->timeout_ms > 0 ?
			   params->timeout_ms : SVM_EP_DEFAULT_TIMEOUT_MS;
	ret = nfs_open_url(n, u, flags);
	if (ret) {
		svm_url_format(u, name, sizeof(name));
		snprintf(err, errlen, "%s: %s", name, n->ep.msg);
		goto out;
	}
	n->ep.msg[0] = 0;
	*out = &n->ep;
	free(u);
	return 0;
out:
	if (n && n->ep.ops) {
		nfsep_close(&n->ep);
	} else if (n) {
		free(n->ep.name);
		free(n);
	}
	free(u);
	return ret;
}
