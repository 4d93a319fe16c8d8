/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-ep.h - libsvmotion: one endpoint of a copy behind one ops table.
 *
 * An endpoint is what the mover reads from or writes to: a regular file or
 * a block device the kernel sees (svm-ep-file.c), a file on an NFS server
 * reached through libnfs (nfs://, svm-ep-nfs.c), or a LUN of an iSCSI
 * target reached through libiscsi (iscsi://, svm-ep-iscsi.c). The copy
 * loop (svm-copy-stream.c) sees only the ops below, as libnbd's nbdcopy
 * sees only its rw_ops; what an endpoint knows (fds, a libnfs context, a
 * LUN's limits, whether UNMAP works) stays in its own struct, which embeds
 * struct svm_ep first.
 *
 * I/O is asynchronous: read() and write() queue a request and return; its
 * completion is delivered by svm_ep_service() (never from inside read() or
 * write()), which the caller runs when the endpoint's fd is ready, or at
 * once when svm_ep_ready() says completions are waiting, and at least every
 * SVM_EP_TICK_MS (timeouts are checked there). Many requests may be in
 * flight on one endpoint; nothing here is thread-safe: one endpoint, one
 * thread.
 *
 * Conventions: bytes, offsets from the endpoint's start; functions return 0
 * or a negative errno, and an endpoint that fails says why in ep->msg
 * ("<what>: <reason>", without the endpoint's name, which callers add).
 */
#ifndef SVM_EP_H
#define SVM_EP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct svm_ep;

/* Poll at least this often while requests are in flight. */
#define SVM_EP_TICK_MS 100
/* Default bound on one remote request or connect (svm_ep_params.timeout_ms). */
#define SVM_EP_DEFAULT_TIMEOUT_MS 30000

/* One request. The caller owns it and its buffer until done() has run. */
struct svm_ep_io {
	uint64_t off;
	uint32_t len;
	void *buf;
	/* err: 0, or a negative errno with the reason in ep->msg */
	void (*done)(struct svm_ep_io *io, int err);
	void *opaque;
	/* set by svm_ep_complete(): ep->msg when io failed, the reason */
	char msg[160];
	/* private to the endpoint and svm_ep_complete() */
	int err;
	double deadline;
	struct svm_ep_io *next;
};

/* What zero() may do to make [off, off + len) read zeros. */
enum svm_ep_zero_how {
	SVM_EP_ZERO_ALLOC,	/* keep or allocate the space (thick) */
	SVM_EP_ZERO_UNMAP,	/* may deallocate (thin): only where unmapped
				 * blocks are known to read zeros */
};

/* Capabilities (svm_ep.caps). */
#define SVM_EP_CAP_HOLES	(1u << 0) /* extent() knows holes */
#define SVM_EP_CAP_UNMAP	(1u << 1) /* zero(UNMAP) deallocates, reads 0 */
#define SVM_EP_CAP_ZERO		(1u << 2) /* zero(ALLOC) without writing
					   * the zeros through the host */
#define SVM_EP_CAP_GROWS	(1u << 3) /* a file: set_size() grows it */
#define SVM_EP_CAP_LOCAL	(1u << 4) /* a kernel fd: svm_ep_file */

struct svm_ep_ops {
	const char *kind;	/* "file", "block", "nfs", "iscsi" */
	/* Queue io; 0, or -errno (not queued, done() will not run). */
	int (*read)(struct svm_ep *ep, struct svm_ep_io *io);
	int (*write)(struct svm_ep *ep, struct svm_ep_io *io);
	/*
	 * Make [off, off + len) read zeros, synchronously. -EOPNOTSUPP when
	 * the endpoint cannot do it other than by writing zeros (the caller
	 * then writes them).
	 */
	int (*zero)(struct svm_ep *ep, uint64_t off, uint64_t len,
		    enum svm_ep_zero_how how);
	/*
	 * Allocation at off: *data says whether [off, off + *run) is data or
	 * a hole, *run at most len and at least one byte. Endpoints without
	 * SVM_EP_CAP_HOLES say data for all of len.
	 */
	int (*extent)(struct svm_ep *ep, uint64_t off, uint64_t len,
		      bool *data, uint64_t *run);
	/* Make every completed write durable (fsync, COMMIT, SYNCHRONIZE CACHE). */
	int (*flush)(struct svm_ep *ep);
	/* Grow a file endpoint to size bytes (never shrinks); may be NULL. */
	int (*set_size)(struct svm_ep *ep, uint64_t size);
	/* Capacity and free space of the datastore holding it; may be NULL. */
	int (*space)(struct svm_ep *ep, uint64_t *total, uint64_t *avail);
	/* The fd to poll and its events, or -1 (nothing to poll). */
	int (*poll_fd)(struct svm_ep *ep, short *events);
	/*
	 * Process revents of poll_fd (0: none, the tick); fail requests past
	 * their deadline (-ETIMEDOUT). Completions are queued with
	 * svm_ep_complete(); svm_ep_service() then runs their done().
	 * 0, or -errno when the endpoint is broken (every request in flight
	 * then completes with an error).
	 */
	int (*service)(struct svm_ep *ep, short revents);
	/* Release everything; requests still in flight are abandoned. */
	void (*close)(struct svm_ep *ep);
	/*
	 * Remove the file the endpoint is open on (a file: unlink; NFS:
	 * REMOVE of its path); the endpoint stays open and is closed as
	 * usual. May be NULL: not supported (a device, a LUN).
	 */
	int (*remove)(struct svm_ep *ep);
};

struct svm_ep {
	const struct svm_ep_ops *ops;
	char *name;		/* as given (path or URL), for messages */
	uint64_t size;		/* bytes */
	uint32_t block_size;	/* I/O offsets and lengths are multiples */
	uint32_t max_io;	/* the largest request it takes; 0: any */
	bool writable;
	unsigned int caps;	/* SVM_EP_CAP_* */
	/*
	 * Reads zeros from here on: never written (a file beyond its size at
	 * open, or grown since by set_size()); UINT64_MAX: nowhere known.
	 */
	uint64_t fresh_from;
	unsigned int in_flight;	/* requests queued, done() not yet run */
	int timeout_ms;		/* bound on one request (remote endpoints) */
	char msg[256];		/* the last failure, in words */
	/* completions waiting for svm_ep_service() (svm_ep_complete) */
	struct svm_ep_io *done_head, *done_tail;
};

/* Open flags. */
#define SVM_EP_WRITE	(1u << 0)	/* open for writing */
#define SVM_EP_CREATE	(1u << 1)	/* a file: create if missing */
#define SVM_EP_EXCL	(1u << 2)	/* a file: must not exist yet */

struct svm_ep_params {
	int timeout_ms;		/* connect and per request; 0: default */
};

/* Whether s is a URL ("scheme://...") rather than a path. */
bool svm_ep_is_url(const char *s);
/*
 * Open the endpoint spec names: nfs://..., iscsi://..., or a path. 0 or
 * -errno with "<spec>: <reason>" in err: -EINVAL a malformed URL or an
 * unknown scheme, -ECONNREFUSED, -ETIMEDOUT, -ENOENT, -EACCES, -EROFS,
 * -EEXIST (SVM_EP_EXCL), ...
 */
int svm_ep_open(const char *spec, unsigned int flags,
		const struct svm_ep_params *params, struct svm_ep **out,
		char *err, size_t errlen);
void svm_ep_close(struct svm_ep *ep);

/* Queue io (sets its deadline, counts it in flight). */
int svm_ep_read(struct svm_ep *ep, struct svm_ep_io *io);
int svm_ep_write(struct svm_ep *ep, struct svm_ep_io *io);
/*
 * For endpoints: io has completed with err (the reason in ep->msg, which
 * is copied to io->msg); its done() runs from service.
 */
void svm_ep_complete(struct svm_ep *ep, struct svm_ep_io *io, int err);
/* Completions are waiting: service at once, without polling. */
bool svm_ep_ready(const struct svm_ep *ep);
/* ops->service(revents), then the done() of every completion waiting. */
int svm_ep_service(struct svm_ep *ep, short revents);
/*
 * Wait (poll) until every request in flight on ep has completed, servicing
 * it; at most timeout_ms overall. 0 or -ETIMEDOUT. For synchronous helpers.
 */
int svm_ep_drain(struct svm_ep *ep, int timeout_ms);
/* Synchronous read/write of a whole buffer (descriptors, probes). */
int svm_ep_pread(struct svm_ep *ep, void *buf, size_t len, uint64_t off);
int svm_ep_pwrite(struct svm_ep *ep, const void *buf, size_t len, uint64_t off);

/* ops->remove (ep->msg says why it failed), or -EOPNOTSUPP when it has none. */
static inline int svm_ep_remove(struct svm_ep *ep)
{
	return ep->ops->remove ? ep->ops->remove(ep) : -EOPNOTSUPP;
}

/* CLOCK_MONOTONIC in seconds: deadlines of requests. */
double svm_ep_now(void);
/* Record a failure in ep->msg (printf-style); returns err. */
__attribute__((format(printf, 3, 4)))
int svm_ep_fail(struct svm_ep *ep, int err, const char *fmt, ...);

/* Endpoint constructors (svm_ep_open dispatches to them). */
int svm_ep_file_open(const char *path, unsigned int flags,
		     const struct svm_ep_params *params, struct svm_ep **out,
		     char *err, size_t errlen);
int svm_ep_nfs_open(const char *url, unsigned int flags,
		    const struct svm_ep_params *params, struct svm_ep **out,
		    char *err, size_t errlen);
int svm_ep_iscsi_open(const char *url, unsigned int flags,
		      const struct svm_ep_params *params, struct svm_ep **out,
		      char *err, size_t errlen);

/*
 * The fileid of the file an NFS endpoint is open on (GETATTR now): what a
 * kernel NFS mount reports as st_ino for the same file, so that a caller can
 * check that a URL reaches the very file a mount shows. -EINVAL for an
 * endpoint that is not NFS; else 0 or -errno (ep->msg).
 */
int svm_ep_nfs_fileid(struct svm_ep *ep, uint64_t *fileid);

#endif /* SVM_EP_H */
