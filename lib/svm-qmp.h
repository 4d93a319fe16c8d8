/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-qmp.h - libsvmotion: a small QMP (QEMU Machine Protocol) client.
 *
 * The svmotion command pauses the guest around a storage switchover, so the
 * client is built for latency: one connection kept open for the whole
 * session, one command in flight at a time, no sleeps and no polling with
 * fixed delays (every wait is a poll() on the socket bounded by a deadline).
 *
 *   svm_qmp_connect()       connect to QEMU's QMP unix socket (QEMU started
 *                           with e.g. -qmp unix:SOCK,server=on,wait=off),
 *                           read the greeting, negotiate qmp_capabilities
 *   svm_qmp_execute()       any command: {"execute", "arguments", "id"}
 *   svm_qmp_stop/cont()     pause / resume the guest's vCPUs
 *   svm_qmp_query_status()  running or not, and the run state's name
 *   svm_qmp_hmp()           a human monitor command line and its reply text
 *   svm_qmp_wait_event()    wait for an asynchronous event by name
 *
 * Protocol handling:
 *   - Each command carries a numeric "id" (a counter per handle); a reply
 *     whose id is not the one awaited (a late reply to a command that timed
 *     out, or a bogus one) is discarded, so a handle stays usable after a
 *     timeout. A reply with no id at all is taken as the answer to the
 *     command in flight only when it is an error (QEMU answers that way a
 *     request it could not parse); otherwise it is discarded.
 *   - Asynchronous events ({"event": ...}) arriving before a reply or
 *     between commands are set aside in a queue of SVM_QMP_MAX_EVENTS (the
 *     oldest is dropped, and counted, when it is full), where
 *     svm_qmp_wait_event() finds them.
 *   - Framing: QEMU sends one JSON object per line, but the stream is read
 *     in chunks through a json_tokener, so partial reads and several objects
 *     per read both work. One message may be at most max_reply bytes
 *     (default SVM_QMP_DEFAULT_MAX_REPLY, see svm_qmp_set_max_reply()).
 *   - Sockets are SOCK_CLOEXEC; sends use MSG_NOSIGNAL (no SIGPIPE).
 *
 * Errors: functions return 0 or a negative errno and fill an error line
 * "svm-qmp: <command>: <reason>" where err is given:
 *   -EIO           QEMU answered {"error": {"class", "desc"}}: err reads
 *                  "svm-qmp: <cmd>: <class>: <desc>" (the class is also
 *                  kept, see svm_qmp_error_class())
 *   -ETIMEDOUT     no answer within the handle's timeout (the handle stays
 *                  usable: the late reply is discarded by its id)
 *   -ECONNRESET    QEMU closed the connection (or reset it) while we waited
 *   -EPIPE         QEMU had closed the connection when we sent
 *   -EPROTO        not QMP: garbage (not JSON), a message that is not a JSON
 *                  object, no greeting, a reply with neither "return" nor
 *                  "error", a reply of an unexpected shape
 *   -EMSGSIZE      a message longer than max_reply bytes
 *   -ENAMETOOLONG  a socket path that does not fit in sun_path (107 bytes)
 *   -EINVAL        a NULL handle or name
 *   -ENOMEM        out of memory
 *   -errno         of a failed socket()/connect()
 * After -ECONNRESET, -EPIPE, -EPROTO, -EMSGSIZE (and a timeout in the
 * middle of sending a command) the stream cannot be trusted any more: every
 * later call on the handle fails at once with the same code and a message
 * "svm-qmp: <cmd>: connection unusable: <first failure>". Close it and
 * connect again.
 *
 * A handle is not thread-safe: one thread at a time.
 */
#ifndef SVM_QMP_H
#define SVM_QMP_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;	/* json-c's json_object */
struct svm_qmp;

#define SVM_QMP_DEFAULT_TIMEOUT_MS	10000
#define SVM_QMP_DEFAULT_MAX_REPLY	(16u << 20)
#define SVM_QMP_MAX_EVENTS		64

/*
 * Connect to the QMP unix socket at path, read QEMU's greeting and leave
 * capabilities negotiation mode (qmp_capabilities). timeout_ms bounds each
 * step (connect, greeting, negotiation) and becomes the handle's timeout
 * for every later call; <= 0 means SVM_QMP_DEFAULT_TIMEOUT_MS. On success
 * *out is the handle (free it with svm_qmp_close()). -ETIMEDOUT when QEMU
 * sends no greeting in time, -EPROTO when it sends something else.
 */
int svm_qmp_connect(const char *path, int timeout_ms, struct svm_qmp **out,
		    char *err, size_t errlen);
/* Close the connection, drop queued events and free q (NULL is fine). */
void svm_qmp_close(struct svm_qmp *q);

/* The per-call timeout in ms; <= 0 restores SVM_QMP_DEFAULT_TIMEOUT_MS. */
void svm_qmp_set_timeout(struct svm_qmp *q, int timeout_ms);
int svm_qmp_get_timeout(const struct svm_qmp *q);
/* The largest message accepted, in bytes; 0 restores the default. */
void svm_qmp_set_max_reply(struct svm_qmp *q, size_t bytes);
/*
 * The socket, for poll()ing for events in an event loop (POLLIN: call
 * svm_qmp_wait_event() with a short timeout). Do not read or write it.
 */
int svm_qmp_fd(const struct svm_qmp *q);
/* QEMU's version from the greeting, e.g. "7.2.22" (static per handle). */
const char *svm_qmp_version(const struct svm_qmp *q);
/*
 * The class of the QMP error reply (e.g. "CommandNotFound") that failed the
 * last command, or "" when it did not fail that way.
 */
const char *svm_qmp_error_class(const struct svm_qmp *q);

/*
 * Run the QMP command cmd with the arguments args (a JSON object, or NULL
 * for none; not consumed: the caller still owns its reference) and wait for
 * its reply. On success, when ret is not NULL, *ret is the reply's
 * "return" value (a new reference: json_object_put() it); on failure *ret
 * is NULL.
 */
int svm_qmp_execute(struct svm_qmp *q, const char *cmd,
		    struct json_object *args, struct json_object **ret,
		    char *err, size_t errlen);

/* "stop": pause the vCPUs (QEMU emits STOP; a no-op when already paused). */
int svm_qmp_stop(struct svm_qmp *q, char *err, size_t errlen);
/* "cont": resume the vCPUs (QEMU emits RESUME). */
int svm_qmp_cont(struct svm_qmp *q, char *err, size_t errlen);
/*
 * "query-status": *running (when not NULL) and the run state's name, e.g.
 * "running", "paused", "prelaunch" (copied into status, len bytes, when
 * status is not NULL; truncated if it does not fit).
 */
int svm_qmp_query_status(struct svm_qmp *q, bool *running, char *status,
			 size_t len, char *err, size_t errlen);
/*
 * "human-monitor-command": run the HMP command line cmdline; *out_text (when
 * out_text is not NULL) is its output, malloc()ed (free() it). HMP reports
 * its own failures as text ("unknown command: ...", "Error: ...") in a
 * successful reply: they return 0 and the text, which the caller inspects.
 * Note that some commands print elsewhere: qemu-io prints its results on
 * QEMU's stdout, not in the reply.
 */
int svm_qmp_hmp(struct svm_qmp *q, const char *cmdline, char **out_text,
		char *err, size_t errlen);

/*
 * Wait up to timeout_ms (<= 0: the handle's timeout) for an event named
 * name (e.g. "STOP", "RESUME"). The oldest matching event already queued is
 * taken first; otherwise messages are read until one arrives: other events
 * are queued, stray replies discarded. On success, when event is not NULL,
 * *event is the whole event object ({"event", "data", "timestamp"}; a new
 * reference: json_object_put() it). -ETIMEDOUT when none came in time (the
 * handle stays usable).
 */
int svm_qmp_wait_event(struct svm_qmp *q, const char *name, int timeout_ms,
		       struct json_object **event, char *err, size_t errlen);
/* Events queued and not yet taken; events dropped because the queue was full. */
unsigned int svm_qmp_events_pending(const struct svm_qmp *q);
unsigned long svm_qmp_events_dropped(const struct svm_qmp *q);
/* Drop every queued event (e.g. before a command whose event is awaited). */
void svm_qmp_clear_events(struct svm_qmp *q);

#endif /* SVM_QMP_H */
