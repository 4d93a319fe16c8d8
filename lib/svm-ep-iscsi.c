// SPDX-License-Identifier: GPL-2.0
/*
 * svm-ep-iscsi.c - libsvmotion: the endpoint of a LUN of an iSCSI target,
 * iscsi://[USER[%PASSWORD]@]PORTAL[:PORT]/TARGET-IQN/LUN, through libiscsi
 * (see svm-ep-iscsi.h, svm-ep.h). What the LUN is, asked at open, is
 * svm-ep-iscsi-probe.c's.
 *
 * Everything is asynchronous underneath: connect and login, the probes at
 * open, zero/flush/extent and the XCOPY transport's commands are libiscsi
 * tasks waited for by a poll loop of our own, bounded by the timeout; reads
 * and writes are READ(16)/WRITE(16) tasks straight into the caller's
 * buffer, many in flight. Each command sits on one list (in flight on the
 * session, or pending a session); libiscsi's callback moves it.
 *
 * libiscsi's own reconnect is off: by 1.19's source, once a reconnect's
 * connect() fails at once, iscsi_get_fd() names a closed fd and
 * iscsi_tcp_service() returns before any retry, and nothing bounds it
 * otherwise; it could be neither bounded nor polled safely. Instead a
 * lost connection cancels the commands in flight (libiscsi calls back with
 * SCSI_STATUS_CANCELLED), which wait for a new session; one is tried at
 * once and then every RETRY_MS while commands wait. A command past its
 * deadline fails with -ETIMEDOUT; one in flight past it drops the session
 * (no single task is cancelled: a half-sent PDU would break the stream),
 * so that the others are sent again on a new one. Nothing libiscsi holds
 * points into a caller's buffer once its request has completed: a task is
 * freed only after libiscsi called back, or after the context went away.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svm-ep-iscsi-int.h"
#include "svm-util.h"

static const struct svm_ep_ops iscsi_ops;

static struct svm_ep_iscsi *E(struct svm_ep *ep)
{
	return (struct svm_ep_iscsi *)ep;
}

struct svm_ep_iscsi *svm_ep_iscsi(struct svm_ep *ep)
{
	return ep && ep->ops == &iscsi_ops ? E(ep) : NULL;
}

struct svm_scsi_dev *svm_ep_iscsi_scsi(struct svm_ep *ep)
{
	struct svm_ep_iscsi *e = svm_ep_iscsi(ep);

	return e ? &e->scsi : NULL;
}

/* ------------------------------------------------------------------------
 * Command lists
 */

static void list_add(struct iscsi_cmd **head, struct iscsi_cmd *c)
{
	struct iscsi_cmd *t = *head;

	c->on = head;
	c->next = NULL;
	c->prev = NULL;
	if (!t) {
		*head = c;
		return;
	}
	while (t->next)
		t = t->next;
	t->next = c;
	c->prev = t;
}

/* Take c off the list it is on, if any. */
static void list_del(struct iscsi_cmd *c)
{
	if (!c->on)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		*c->on = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	c->on = NULL;
}

void svm_iscsi_cmd_free(struct iscsi_cmd *c)
{
	scsi_free_scsi_task(c->task);
	scsi_free_scsi_task(c->proto);
	free(c);
}

/* ------------------------------------------------------------------------
 * Results
 */

static void sense_of(const struct scsi_task *t, struct svm_xcopy_sense *s)
{
	s->key = t->sense.key & 0x0f;
	s->asc = (uint8_t)(t->sense.ascq >> 8);
	s->ascq = (uint8_t)t->sense.ascq;
}

/* The errno of a CHECK CONDITION for the endpoint's own commands. */
static int sense_errno(const struct svm_xcopy_sense *s)
{
	unsigned int q = (unsigned int)s->asc << 8 | s->ascq;

	switch (s->key) {
	case SCSI_SENSE_RECOVERED_ERROR:
		return 0;
	case SCSI_SENSE_ILLEGAL_REQUEST:
		if (s->asc == 0x20)	/* invalid command operation code */
			return -EOPNOTSUPP;
		if (s->asc == 0x25)	/* logical unit not supported */
			return -ENXIO;
		return -EINVAL;
	case SCSI_SENSE_UNIT_ATTENTION:
		/* thin provisioning soft threshold reached */
		return q == 0x3807 ? -ENOSPC : -EIO;
	case SCSI_SENSE_DATA_PROTECTION:
		/* space allocation failed write protect */
		return q == 0x2707 ? -ENOSPC : -EROFS;
	case SCSI_SENSE_MISCOMPARE:
		return -EILSEQ;
	default:	/* NOT READY, MEDIUM/HARDWARE ERROR, ABORTED, ... */
		return -EIO;
	}
}

/*
 * The outcome of an answered command: 0, or -errno with the reason in why;
 * *retry when sending it again may help (a unit attention, busy).
 */
static int answer(struct iscsi_cmd *c, struct svm_xcopy_sense *s, bool *retry,
		  char *why, size_t whylen)
{
	struct scsi_task *t = c->task;

	memset(s, 0, sizeof(*s));
	*retry = false;
	why[0] = 0;
	switch (c->status) {
	case SCSI_STATUS_GOOD:
	case SCSI_STATUS_CONDITION_MET:
		return 0;
	case SCSI_STATUS_CHECK_CONDITION:
		sense_of(t, s);
		*retry = (s->key == SCSI_SENSE_UNIT_ATTENTION &&
			  !(s->asc == 0x38 && s->ascq == 0x07)) ||
			 s->key == SCSI_SENSE_COMMAND_ABORTED;
		svm_xcopy_sense_str(s, why, whylen);
		return sense_errno(s);
	case SCSI_STATUS_BUSY:
	case SCSI_STATUS_TASK_SET_FULL:
	case SCSI_STATUS_TASK_ABORTED:
		*retry = true;
		svm_set_err(why, whylen, "target busy (SCSI status 0x%02x)",
			    c->status);
		return -EAGAIN;
	case SCSI_STATUS_RESERVATION_CONFLICT:
		svm_set_err(why, whylen, "reservation conflict");
		return -EBUSY;
	case SCSI_STATUS_TIMEOUT:
		svm_set_err(why, whylen, "timed out");
		return -ETIMEDOUT;
	default:
		svm_set_err(why, whylen, "%s",
			    c->e->iscsi ? iscsi_get_error(c->e->iscsi) :
			    "iSCSI error");
		return -EIO;
	}
}

static const char *io_what(const struct iscsi_cmd *c)
{
	return c->write ? "WRITE" : "READ";
}

/* Complete the request of c with err and forget c. */
static void io_finish(struct svm_ep_iscsi *e, struct iscsi_cmd *c, int err)
{
	struct svm_ep_io *io = c->io;

	svm_iscsi_cmd_free(c);
	svm_ep_complete(&e->ep, io, err);
}

/* ------------------------------------------------------------------------
 * Submitting
 */

static void cmd_cb(struct iscsi_context *iscsi, int status, void *data,
		   void *priv);

static int start_rw(struct svm_ep_iscsi *e, struct iscsi_cmd *c)
{
	struct svm_ep_io *io = c->io;
	uint64_t lba = io->off / e->ep.block_size;
	struct scsi_task *t;

	c->iov.iov_base = io->buf;
	c->iov.iov_len = io->len;
	if (c->write)
		t = iscsi_write16_iov_task(e->iscsi, c->lun, lba, NULL, io->len,
					   e->ep.block_size, 0, 0, 0, 0, 0,
					   cmd_cb, c, &c->iov, 1);
	else
		t = iscsi_read16_iov_task(e->iscsi, c->lun, lba, io->len,
					  e->ep.block_size, 0, 0, 0, 0, 0,
					  cmd_cb, c, &c->iov, 1);
	if (!t)
		return -EIO;
	c->task = t;
	return 0;
}

static int start_sync(struct svm_ep_iscsi *e, struct iscsi_cmd *c)
{
	struct iscsi_data d = { .size = c->out_len,
				.data = (unsigned char *)c->out };
	struct scsi_task *p = c->proto, *t;

	t = scsi_create_task(p->cdb_size, p->cdb, p->xfer_dir, p->expxferlen);
	if (!t)
		return -ENOMEM;
	if (c->in && scsi_task_add_data_in_buffer(t, c->in_len, c->in)) {
		scsi_free_scsi_task(t);
		return -ENOMEM;
	}
	c->task = t;
	if (iscsi_scsi_command_async(e->iscsi, c->lun, t, cmd_cb,
				     c->out ? &d : NULL, c)) {
		c->task = NULL;
		scsi_free_scsi_task(t);
		return -EIO;
	}
	return 0;
}

static void cmd_event(struct iscsi_cmd *c, int status);

/*
 * Send c on the session (it must be READY). 0, or -errno (c is on no list
 * then, its reason in e->ep.msg).
 */
static int cmd_start(struct svm_ep_iscsi *e, struct iscsi_cmd *c)
{
	int ret;

	list_add(&e->cmds, c);
	c->starting = true;
	ret = c->io ? start_rw(e, c) : start_sync(e, c);
	c->starting = false;
	if (ret) {
		list_del(c);
		return svm_ep_fail(&e->ep, ret, "sending a command to %s: %s",
				   e->portal, iscsi_get_error(e->iscsi));
	}
	if (c->early) {
		c->early = false;
		cmd_event(c, c->early_status);
	}
	return 0;
}

/* Send c now, or keep it until there is a session. */
static int cmd_submit(struct svm_ep_iscsi *e, struct iscsi_cmd *c)
{
	if (e->state == SVM_ISCSI_READY)
		return cmd_start(e, c);
	list_add(&e->pending, c);
	return 0;
}

/* c was cancelled (lost connection, session dropped): wait for a new one. */
static void cmd_requeue(struct svm_ep_iscsi *e, struct iscsi_cmd *c)
{
	list_del(c);
	scsi_free_scsi_task(c->task);
	c->task = NULL;
	if (e->closing)
		svm_iscsi_cmd_free(c);
	else
		list_add(&e->pending, c);
}

/* A request's command answered: done, or sent again. */
static void io_answered(struct svm_ep_iscsi *e, struct iscsi_cmd *c)
{
	struct scsi_task *t = c->task;
	struct svm_xcopy_sense s;
	char why[200];
	bool retry;
	int err;

	err = answer(c, &s, &retry, why, sizeof(why));
	if (!err && t->residual_status == SCSI_RESIDUAL_UNDERFLOW &&
	    t->residual) {
		svm_set_err(why, sizeof(why), "%zu bytes short", t->residual);
		err = -EIO;
	}
	if (err && retry && c->retries < MAX_RETRIES && svm_ep_now() < c->deadline) {
		c->retries++;
		scsi_free_scsi_task(c->task);
		c->task = NULL;
		if (!cmd_submit(e, c))
			return;
		io_finish(e, c, -EIO);
		return;
	}
	if (err)
		svm_ep_fail(&e->ep, err, "%s at offset %llu (%u bytes): %s",
			    io_what(c), (unsigned long long)c->io->off,
			    c->io->len, why);
	io_finish(e, c, err);
}

static void cmd_event(struct iscsi_cmd *c, int status)
{
	struct svm_ep_iscsi *e = c->e;

	if (status == SCSI_STATUS_CANCELLED) {
		if (!e->resetting && !e->closing)
			e->conn_lost = true;
		cmd_requeue(e, c);
		return;
	}
	list_del(c);
	c->status = status;
	if (e->closing) {
		svm_iscsi_cmd_free(c);
		return;
	}
	if (c->io)
		io_answered(e, c);
	else
		c->finished = true;
}

static void cmd_cb(struct iscsi_context *iscsi, int status, void *data,
		   void *priv)
{
	struct iscsi_cmd *c = priv;

	(void)iscsi;
	if (data)
		c->task = data;
	if (c->starting) {
		c->early = true;
		c->early_status = status;
		return;
	}
	cmd_event(c, status);
}

/* A request or synchronous command failed without an answer. */
static void cmd_fail(struct svm_ep_iscsi *e, struct iscsi_cmd *c, int err)
{
	if (c->io) {
		io_finish(e, c, err);
		return;
	}
	c->err = err;
	c->finished = true;
}

/* ------------------------------------------------------------------------
 * The session
 */

/* -errno of libiscsi's words "...<strerror(e)>(<e>)...", or 0. */
static int lib_errno(const char *msg)
{
	static const int errs[] = {
		ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH,
		ECONNRESET, ECONNABORTED, EPIPE, EADDRNOTAVAIL, ENETDOWN,
	};
	char pat[96];

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		svm_set_err(pat, sizeof(pat), "%s(%d)", strerror(errs[i]),
			    errs[i]);
		if (strstr(msg, pat))
			return -errs[i];
	}
	return 0;
}

/* The login status of libiscsi's "Status: <words>(<n>)", or -1. */
static int login_status(const char *msg)
{
	const char *p = strstr(msg, "Status: ");
	const char *q = p ? strchr(p, '(') : NULL;

	return q ? (int)strtol(q + 1, NULL, 10) : -1;
}

/* Why a connect and login attempt failed: -errno, words in e->conn_why. */
static int conn_reason(struct svm_ep_iscsi *e, const char *lib)
{
	int st = login_status(lib), err = lib_errno(lib);
	size_t n = sizeof(e->conn_why);
	char *w = e->conn_why;

	e->conn_login = st;
	if (st == 0x0203 || st == 0x0204) {
		svm_set_err(w, n, "target %s not found on %s", e->iqn, e->portal);
		return -ENOENT;
	}
	if (st == 0x0201) {
		svm_set_err(w, n, "authentication failed for target %s on %s%s",
			    e->iqn, e->portal,
			    e->user[0] ? "" : " (no CHAP user in the URL)");
		return -EACCES;
	}
	if (st == 0x0202) {
		svm_set_err(w, n, "initiator %s is not authorized for target %s on %s",
			    e->initiator, e->iqn, e->portal);
		return -EACCES;
	}
	if (st > 0) {
		const char *a = strstr(lib, "Status: ") + 8, *b = strrchr(a, '(');

		svm_set_err(w, n, "login to target %s on %s refused: %.*s (status 0x%04x)",
			    e->iqn, e->portal, (int)(b ? b - a : 0), a, st);
		return -EIO;
	}
	if (strstr(lib, "log in")) {
		svm_set_err(w, n, "login to target %s on %s failed: %s", e->iqn,
			    e->portal, lib);
		return -EIO;
	}
	if (err == -ECONNREFUSED) {
		svm_set_err(w, n, "connection refused by %s", e->portal);
		return err;
	}
	if (err) {
		svm_set_err(w, n, "connecting to %s: %s", e->portal,
			    strerror(-err));
		return err;
	}
	if (strstr(lib, "resolv")) {
		svm_set_err(w, n, "cannot resolve %s", e->portal);
		return -EHOSTUNREACH;
	}
	svm_set_err(w, n, "%s closed the connection during login", e->portal);
	return -ECONNRESET;
}

static struct iscsi_context *ctx_new(struct svm_ep_iscsi *e)
{
	struct iscsi_context *i = iscsi_create_context(e->initiator);

	if (!i)
		return NULL;
	if (iscsi_set_targetname(i, e->iqn) ||
	    iscsi_set_session_type(i, ISCSI_SESSION_NORMAL) ||
	    iscsi_set_header_digest(i, ISCSI_HEADER_DIGEST_NONE_CRC32C) ||
	    (e->user[0] &&
	     iscsi_set_initiator_username_pwd(i, e->user, e->password))) {
		iscsi_destroy_context(i);
		return NULL;
	}
	iscsi_set_noautoreconnect(i, 1);
	iscsi_set_tcp_user_timeout(i, e->ep.timeout_ms);
	return i;
}

/* Tear the context down; its commands wait for another session. */
static void ctx_drop(struct svm_ep_iscsi *e)
{
	struct iscsi_context *i = e->iscsi;

	if (!i)
		return;
	e->resetting = true;
	e->iscsi = NULL;
	iscsi_destroy_context(i);	/* cancels (calls back) what it can */
	while (e->cmds)			/* dropped without a callback */
		cmd_requeue(e, e->cmds);
	e->resetting = false;
	e->conn_lost = false;
}

/* A login attempt failed (reason in e->conn_why): DOWN, retry later. */
static int sess_failed(struct svm_ep_iscsi *e, int err)
{
	ctx_drop(e);
	e->conn_err = err;
	e->state = SVM_ISCSI_DOWN;
	e->retry_at = svm_ep_now() + RETRY_MS / 1000.0;
	return err;
}

/* The attempt ended (status: libiscsi's), in the callbacks below. */
static void sess_answer(struct svm_ep_iscsi *e, struct iscsi_context *iscsi,
			int status)
{
	e->conn_answer = true;
	e->conn_status = status;
	if (status != SCSI_STATUS_GOOD)
		svm_set_err(e->conn_lib, sizeof(e->conn_lib), "%s",
			    iscsi_get_error(iscsi));
}

static void connect_cb(struct iscsi_context *iscsi, int status, void *data,
		       void *priv);

static void login_cb(struct iscsi_context *iscsi, int status, void *data,
		     void *priv)
{
	struct svm_ep_iscsi *e = priv;
	const char *to = iscsi_get_target_address(iscsi);

	(void)data;
	/* "target moved": log in where it says, as libiscsi would */
	if (status == SCSI_STATUS_REDIRECT && to && to[0] &&
	    e->redirects++ < 3) {
		iscsi_disconnect(iscsi);
		if (!iscsi_connect_async(iscsi, to, connect_cb, e))
			return;
		status = SCSI_STATUS_ERROR;
	}
	sess_answer(e, iscsi, status);
}

static void connect_cb(struct iscsi_context *iscsi, int status, void *data,
		       void *priv)
{
	struct svm_ep_iscsi *e = priv;

	(void)data;
	if (status == SCSI_STATUS_GOOD &&
	    iscsi_login_async(iscsi, login_cb, e))
		status = SCSI_STATUS_ERROR;
	if (status != SCSI_STATUS_GOOD)
		sess_answer(e, iscsi, status);
}

/*
 * Begin connect and login: CONNECTING, or DOWN with the reason. (Not
 * iscsi_full_connect_async(): it leaks its state when the attempt is
 * abandoned, and its reconnect bookkeeping is not needed here.)
 */
static int sess_start(struct svm_ep_iscsi *e)
{
	e->iscsi = ctx_new(e);
	if (!e->iscsi) {
		svm_set_err(e->conn_why, sizeof(e->conn_why),
			    "cannot create an iSCSI context (out of memory?)");
		return sess_failed(e, -ENOMEM);
	}
	e->state = SVM_ISCSI_CONNECTING;
	e->conn_answer = false;
	e->conn_lib[0] = 0;
	e->conn_login = -1;
	e->redirects = 0;
	e->connect_deadline = svm_ep_now() + e->ep.timeout_ms / 1000.0;
	if (iscsi_connect_async(e->iscsi, e->portal, connect_cb, e)) {
		svm_set_err(e->conn_lib, sizeof(e->conn_lib), "%s",
			    iscsi_get_error(e->iscsi));
		return sess_failed(e, conn_reason(e, e->conn_lib));
	}
	return 0;
}

/* READY: send what waited. */
static void sess_ready(struct svm_ep_iscsi *e)
{
	struct iscsi_cmd *c;

	e->state = SVM_ISCSI_READY;
	e->conn_err = 0;
	e->conn_why[0] = 0;
	e->down_why[0] = 0;
	while (e->state == SVM_ISCSI_READY && (c = e->pending)) {
		list_del(c);
		if (cmd_start(e, c))
			cmd_fail(e, c, -EIO);
	}
}

/* After iscsi_service() while CONNECTING (r: what it returned). */
static void sess_progress(struct svm_ep_iscsi *e, int r)
{
	if (e->conn_answer) {
		if (e->conn_status == SCSI_STATUS_GOOD)
			sess_ready(e);
		else
			sess_failed(e, conn_reason(e, e->conn_lib));
		return;
	}
	if (r < 0) {
		svm_set_err(e->conn_lib, sizeof(e->conn_lib), "%s",
			    iscsi_get_error(e->iscsi));
		sess_failed(e, conn_reason(e, e->conn_lib));
		return;
	}
	if (svm_ep_now() >= e->connect_deadline) {
		svm_set_err(e->conn_why, sizeof(e->conn_why),
			    "no answer from %s within %d ms (connect and login)",
			    e->portal, e->ep.timeout_ms);
		sess_failed(e, -ETIMEDOUT);
	}
}

/* The session is gone (reason in e->down_why): log in again at once. */
__attribute__((format(printf, 2, 3)))
static void sess_lost(struct svm_ep_iscsi *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->down_why, sizeof(e->down_why), fmt, ap);
	va_end(ap);
	ctx_drop(e);
	e->state = SVM_ISCSI_DOWN;
	e->conn_why[0] = 0;
	e->retry_at = svm_ep_now();
}

/* Why commands wait, for messages. */
static void down_reason(struct svm_ep_iscsi *e, char *buf, size_t len)
{
	const char *d = e->down_why[0] ? e->down_why : "no session";

	if (e->conn_why[0])
		svm_set_err(buf, len, "%s (login again: %s)", d, e->conn_why);
	else
		svm_set_err(buf, len, "%s", d);
}

static void cmd_expired(struct svm_ep_iscsi *e, struct iscsi_cmd *c)
{
	char why[600];

	down_reason(e, why, sizeof(why));
	if (c->io)
		svm_ep_fail(&e->ep, -ETIMEDOUT,
			    "%s at offset %llu (%u bytes) not done within %d ms: %s",
			    io_what(c), (unsigned long long)c->io->off,
			    c->io->len, e->ep.timeout_ms, why);
	else
		svm_ep_fail(&e->ep, -ETIMEDOUT, "not done within %d ms: %s",
			    c->timeout_ms, why);
	cmd_fail(e, c, -ETIMEDOUT);
}

/*
 * Commands past their deadline: one in flight means the session does not
 * answer (dropped; the others are sent again on a new one); waiting ones
 * fail.
 */
static void expire(struct svm_ep_iscsi *e)
{
	double t = svm_ep_now();
	struct iscsi_cmd *c, *next;

	for (c = e->cmds; c; c = c->next)
		if (t >= c->deadline)
			break;
	if (c)
		sess_lost(e, "no answer from %s within %d ms", e->portal,
			  c->timeout_ms);
	for (c = e->pending; c; c = next) {
		next = c->next;
		if (t < c->deadline)
			continue;
		list_del(c);
		cmd_expired(e, c);
	}
}

static int iscsi_poll_fd(struct svm_ep *ep, short *events)
{
	struct svm_ep_iscsi *e = E(ep);
	int fd, ev;

	*events = 0;
	if (!e->iscsi)
		return -1;
	fd = iscsi_get_fd(e->iscsi);
	ev = iscsi_which_events(e->iscsi);
	if (fd < 0 || !ev)
		return -1;
	*events = (short)ev;
	return fd;
}

/*
 * libiscsi sends data-out with writev(), which raises SIGPIPE when the
 * target has closed the connection: SIGPIPE is held while it writes, and
 * one it raised is dropped (one pending before is left alone).
 */
static bool sigpipe_hold(sigset_t *old)
{
	sigset_t s, p;

	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	sigpending(&p);
	pthread_sigmask(SIG_BLOCK, &s, old);
	return sigismember(&p, SIGPIPE);
}

static void sigpipe_release(const sigset_t *old, bool was_pending)
{
	struct timespec zero = { 0, 0 };
	sigset_t s, p;

	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	if (!was_pending && !sigpending(&p) && sigismember(&p, SIGPIPE))
		sigtimedwait(&s, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* iscsi_service(); it writes to the socket only for POLLOUT. */
static int lib_service(struct iscsi_context *i, short revents)
{
	sigset_t old;
	bool pending;
	int r;

	if (!(revents & POLLOUT))
		return iscsi_service(i, revents);
	pending = sigpipe_hold(&old);
	r = iscsi_service(i, revents);
	sigpipe_release(&old, pending);
	return r;
}

static int iscsi_service_op(struct svm_ep *ep, short revents)
{
	struct svm_ep_iscsi *e = E(ep);

	if (e->iscsi) {
		int r = lib_service(e->iscsi, revents);

		if (e->state == SVM_ISCSI_CONNECTING)
			sess_progress(e, r);
		else if (r < 0 || e->conn_lost)
			sess_lost(e, "lost connection to %s", e->portal);
	}
	if (e->state == SVM_ISCSI_DOWN && e->pending && svm_ep_now() >= e->retry_at)
		sess_start(e);
	expire(e);
	return 0;
}

/* Poll and service once, at most max_ms; done() callbacks do not run. */
static void pump(struct svm_ep_iscsi *e, int max_ms)
{
	struct pollfd p = { .fd = -1 };

	p.fd = iscsi_poll_fd(&e->ep, &p.events);
	if (poll(&p, p.fd >= 0 ? 1 : 0, max_ms) <= 0)
		p.revents = 0;
	iscsi_service_op(&e->ep, p.fd >= 0 ? p.revents : 0);
}

/* ------------------------------------------------------------------------
 * Synchronous commands
 */

static struct iscsi_cmd *cmd_new(struct svm_ep_iscsi *e, int lun,
				 struct scsi_task *proto)
{
	struct iscsi_cmd *c;

	if (!proto)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		scsi_free_scsi_task(proto);
		return NULL;
	}
	c->e = e;
	c->lun = lun;
	c->proto = proto;
	return c;
}

/*
 * Send c and wait for it, at most timeout_ms: 0 when answered (c->status,
 * c->task), else -errno with the reason in e->ep.msg.
 */
static int cmd_run(struct svm_ep_iscsi *e, struct iscsi_cmd *c, int timeout_ms)
{
	int ret;

	c->timeout_ms = timeout_ms;
	c->deadline = svm_ep_now() + timeout_ms / 1000.0;
	c->finished = false;
	c->err = 0;
	ret = cmd_submit(e, c);
	if (ret)
		return ret;
	while (!c->finished)
		pump(e, SVM_EP_TICK_MS);
	return c->err;
}

/* svm-ep-iscsi-int.h */
int svm_iscsi_run(struct svm_ep_iscsi *e, int lun, struct scsi_task *proto,
		  const char *what, const void *out, uint32_t out_len,
		  struct iscsi_cmd **cp, struct svm_xcopy_sense *s)
{
	struct iscsi_cmd *c = cmd_new(e, lun, proto);
	struct svm_xcopy_sense dummy;
	char why[sizeof(e->ep.msg)];
	bool retry;
	int ret;

	if (!s)
		s = &dummy;
	memset(s, 0, sizeof(*s));
	if (cp)
		*cp = NULL;
	if (!c)
		return svm_ep_fail(&e->ep, -ENOMEM, "%s: out of memory", what);
	c->out = out;
	c->out_len = out_len;
	for (unsigned int i = 0;; i++) {
		ret = cmd_run(e, c, e->ep.timeout_ms);
		if (ret) {
			svm_set_err(why, sizeof(why), "%s", e->ep.msg);
			svm_ep_fail(&e->ep, ret, "%s: %s", what, why);
			break;
		}
		ret = answer(c, s, &retry, why, sizeof(why));
		if (!ret)
			break;
		if (!retry || i >= PROBE_UA_RETRIES) {
			svm_ep_fail(&e->ep, ret, "%s: %s", what, why);
			break;
		}
		scsi_free_scsi_task(c->task);
		c->task = NULL;
	}
	if (ret || !cp)
		svm_iscsi_cmd_free(c);
	else
		*cp = c;
	return ret;
}

/* svm-ep-iscsi-int.h */
void *svm_iscsi_decode(struct iscsi_cmd *c, int min_len)
{
	if (!c || !c->task || c->task->datain.size < min_len)
		return NULL;
	return scsi_datain_unmarshall(c->task);
}

/* ------------------------------------------------------------------------
 * The SCSI transport of the XCOPY layer
 */

static enum scsi_xfer_dir xfer_dir(enum svm_scsi_dir dir, uint32_t len)
{
	if (!len || dir == SVM_SCSI_NONE)
		return SCSI_XFER_NONE;
	return dir == SVM_SCSI_TO_DEV ? SCSI_XFER_WRITE : SCSI_XFER_READ;
}

static int scsi_dev_cmd(struct svm_scsi_dev *d, const uint8_t *cdb,
			unsigned int cdb_len, enum svm_scsi_dir dir, void *buf,
			uint32_t len, unsigned int timeout_ms, uint32_t *resid,
			struct svm_xcopy_sense *s, char *why, size_t whylen)
{
	struct svm_ep_iscsi *e = (struct svm_ep_iscsi *)
		((char *)d - offsetof(struct svm_ep_iscsi, scsi));
	enum scsi_xfer_dir x = xfer_dir(dir, len);
	struct iscsi_cmd *c;
	struct scsi_task *t;
	int ret;

	memset(s, 0, sizeof(*s));
	if (resid)
		*resid = 0;
	if (cdb_len > SCSI_CDB_MAX_SIZE || len > INT32_MAX ||
	    timeout_ms > INT32_MAX) {
		svm_set_err(why, whylen, "invalid command");
		return -EINVAL;
	}
	t = scsi_create_task(cdb_len, (unsigned char *)cdb, x, (int)len);
	c = cmd_new(e, e->wire_lun, t);
	if (!c) {
		svm_set_err(why, whylen, "out of memory");
		return -ENOMEM;
	}
	if (x == SCSI_XFER_WRITE) {
		c->out = buf;
		c->out_len = len;
	} else if (x == SCSI_XFER_READ) {
		c->in = buf;
		c->in_len = len;
	}
	ret = cmd_run(e, c, (int)timeout_ms);
	if (ret) {
		svm_set_err(why, whylen, "%s", e->ep.msg);
	} else if (c->status == SCSI_STATUS_GOOD ||
		   c->status == SCSI_STATUS_CONDITION_MET) {
		const struct scsi_task *t = c->task;

		if (resid && t->residual_status == SCSI_RESIDUAL_UNDERFLOW)
			*resid = t->residual > len ? len : (uint32_t)t->residual;
	} else if (c->status == SCSI_STATUS_CHECK_CONDITION) {
		sense_of(c->task, s);
		ret = svm_scsi_sense_result(s, why, whylen);
	} else if (c->status >= 0 && c->status < 0x100) {
		ret = svm_scsi_status_result(c->status, why, whylen);
	} else {
		svm_set_err(why, whylen, "%s", e->iscsi ?
			    iscsi_get_error(e->iscsi) : "iSCSI error");
		ret = -EIO;
	}
	svm_iscsi_cmd_free(c);
	return ret;
}

/* ------------------------------------------------------------------------
 * Operations
 */

static int check_range(struct svm_ep_iscsi *e, const char *what, uint64_t off,
		       uint64_t len)
{
	uint32_t bs = e->ep.block_size;

	if (off % bs || len % bs)
		return svm_ep_fail(&e->ep, -EINVAL,
				   "%s at offset %llu (%llu bytes): not a multiple of the %u-byte block",
				   what, (unsigned long long)off,
				   (unsigned long long)len, bs);
	if (off > e->ep.size || len > e->ep.size - off)
		return svm_ep_fail(&e->ep, -EINVAL,
				   "%s at offset %llu (%llu bytes): beyond the end of the LUN (%llu bytes)",
				   what, (unsigned long long)off,
				   (unsigned long long)len,
				   (unsigned long long)e->ep.size);
	return 0;
}

static int iscsi_rw(struct svm_ep *ep, struct svm_ep_io *io, bool write)
{
	struct svm_ep_iscsi *e = E(ep);
	const char *what = write ? "WRITE" : "READ";
	struct iscsi_cmd *c;
	int ret;

	ret = check_range(e, what, io->off, io->len);
	if (ret)
		return ret;
	if (io->len > ep->max_io)
		return svm_ep_fail(ep, -EINVAL,
				   "%s at offset %llu (%u bytes): more than the %u bytes one command takes",
				   what, (unsigned long long)io->off, io->len,
				   ep->max_io);
	if (!io->len) {
		svm_ep_complete(ep, io, 0);
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return svm_ep_fail(ep, -ENOMEM, "%s: out of memory", what);
	c->e = e;
	c->io = io;
	c->write = write;
	c->lun = e->wire_lun;
	c->timeout_ms = ep->timeout_ms;
	c->deadline = io->deadline > 0 ? io->deadline :
		      svm_ep_now() + ep->timeout_ms / 1000.0;
	ret = cmd_submit(e, c);
	if (ret)
		free(c);
	return ret;
}

static int iscsi_read(struct svm_ep *ep, struct svm_ep_io *io)
{
	return iscsi_rw(ep, io, false);
}

static int iscsi_write(struct svm_ep *ep, struct svm_ep_io *io)
{
	return iscsi_rw(ep, io, true);
}

/* A capability refused: off for good. */
static int learned_off(struct svm_ep_iscsi *e, bool *can, const char *what)
{
	*can = false;
	svm_iscsi_caps_update(e);
	return svm_iscsi_refail(e, -EOPNOTSUPP,
		      "%s refused by the target (not tried again)", what);
}

/* WRITE SAME(16) of zero blocks over nblocks at lba, the UNMAP bit unmap. */
static int zero_ws(struct svm_ep_iscsi *e, uint64_t lba, uint64_t nblocks,
		   bool unmap)
{
	const char *what = unmap ? "WRITE SAME(16) with UNMAP" : "WRITE SAME(16)";
	bool *can = unmap ? &e->can_ws_unmap : &e->can_ws;
	uint32_t bs = e->ep.block_size;
	uint64_t max = WS_CAP_BYTES / bs;
	struct svm_xcopy_sense s;
	int ret;

	if (e->info.max_ws && e->info.max_ws < max)
		max = e->info.max_ws;
	while (nblocks) {
		uint64_t k = nblocks < max ? nblocks : max;

		if (!*can)
			return svm_ep_fail(&e->ep, -EOPNOTSUPP,
					   "%s: not supported by the target",
					   what);
		ret = svm_iscsi_run(e, e->wire_lun,
			  scsi_cdb_writesame16(0, 0, unmap, lba, 0,
					       (uint32_t)k, bs),
			  what, e->zero_block, bs, NULL, &s);
		if (ret && s.key == SCSI_SENSE_ILLEGAL_REQUEST)
			return learned_off(e, can, what);
		if (ret)
			return svm_iscsi_refail(e, ret, "zeroing at offset %llu",
				      (unsigned long long)lba * bs);
		lba += k;
		nblocks -= k;
	}
	return 0;
}

/* UNMAP of nblocks at lba, one descriptor a command. */
static int unmap_cmds(struct svm_ep_iscsi *e, uint64_t lba, uint64_t nblocks)
{
	uint32_t max = UNMAP_CAP_BLOCKS;
	struct svm_xcopy_sense s;
	unsigned char list[24];
	int ret;

	if (e->info.max_unmap && e->info.max_unmap < max)
		max = e->info.max_unmap;
	while (nblocks) {
		uint32_t k = nblocks < max ? (uint32_t)nblocks : max;

		if (!e->can_unmap)
			return svm_ep_fail(&e->ep, -EOPNOTSUPP,
					   "UNMAP: not supported by the target");
		memset(list, 0, sizeof(list));
		scsi_set_uint16(list, sizeof(list) - 2);
		scsi_set_uint16(list + 2, 16);
		scsi_set_uint64(list + 8, lba);
		scsi_set_uint32(list + 16, k);
		ret = svm_iscsi_run(e, e->wire_lun, scsi_cdb_unmap(0, 0, sizeof(list)),
			  "UNMAP", list, sizeof(list), NULL, &s);
		if (ret && s.key == SCSI_SENSE_ILLEGAL_REQUEST)
			return learned_off(e, &e->can_unmap, "UNMAP");
		if (ret)
			return svm_iscsi_refail(e, ret, "unmapping at offset %llu",
				      (unsigned long long)lba *
				      e->ep.block_size);
		lba += k;
		nblocks -= k;
	}
	return 0;
}

/*
 * UNMAP only deallocates whole granules (others may keep their data):
 * the unaligned head and tail are written with WRITE SAME instead.
 */
static int zero_by_unmap(struct svm_ep_iscsi *e, uint64_t lba, uint64_t n)
{
	uint64_t g = e->info.unmap_gran > 1 ? e->info.unmap_gran : 1;
	uint64_t a = e->info.unmap_align % g, end = lba + n, s0, e0;
	int ret;

	s0 = lba <= a ? a : a + (lba - a + g - 1) / g * g;
	e0 = end < a ? 0 : a + (end - a) / g * g;
	if (s0 >= e0)
		return zero_ws(e, lba, n, false);
	if (s0 > lba && (ret = zero_ws(e, lba, s0 - lba, false)))
		return ret;
	if (end > e0 && (ret = zero_ws(e, e0, end - e0, false)))
		return ret;
	return unmap_cmds(e, s0, e0 - s0);
}

static int iscsi_zero(struct svm_ep *ep, uint64_t off, uint64_t len,
		      enum svm_ep_zero_how how)
{
	struct svm_ep_iscsi *e = E(ep);
	uint64_t lba = off / ep->block_size, n = len / ep->block_size;
	int ret;

	if (!ep->writable)
		return svm_ep_fail(ep, -EBADF, "not open for writing");
	ret = check_range(e, "zeroing", off, len);
	if (ret || !len)
		return ret;
	if (how == SVM_EP_ZERO_ALLOC)
		return zero_ws(e, lba, n, false);
	if (!(e->info.lbpme && e->info.lbprz))
		return svm_ep_fail(ep, -EOPNOTSUPP,
				   "unmapped blocks are not known to read zeros (LBPME %d, LBPRZ %d)",
				   e->info.lbpme, e->info.lbprz);
	/* WRITE SAME with UNMAP reads zeros whether it unmaps or writes */
	if (e->can_ws_unmap) {
		ret = zero_ws(e, lba, n, true);
		if (ret != -EOPNOTSUPP)
			return ret;
	}
	if (e->can_unmap)
		return zero_by_unmap(e, lba, n);
	return svm_ep_fail(ep, -EOPNOTSUPP,
			   "neither UNMAP nor WRITE SAME with UNMAP");
}

/* GET LBA STATUS at off: the descriptor holding it. */
static int iscsi_extent(struct svm_ep *ep, uint64_t off, uint64_t len,
			bool *data, uint64_t *runlen)
{
	struct svm_ep_iscsi *e = E(ep);
	uint32_t bs = ep->block_size;
	uint64_t lba = off / bs, end;
	struct scsi_get_lba_status *gls;
	struct svm_xcopy_sense s;
	struct iscsi_cmd *c;
	int ret;

	*data = true;
	*runlen = len;
	if (!(ep->caps & SVM_EP_CAP_HOLES) || !len || off >= ep->size)
		return 0;
	ret = svm_iscsi_run(e, e->wire_lun, scsi_cdb_get_lba_status(lba, 8 + 16 * 64),
		  "GET LBA STATUS", NULL, 0, &c, &s);
	if (ret && s.key == SCSI_SENSE_ILLEGAL_REQUEST) {
		e->can_lba_status = false;
		svm_iscsi_caps_update(e);
		return 0;
	}
	if (ret)
		return svm_iscsi_refail(e, ret, "allocation at offset %llu",
			      (unsigned long long)off);
	gls = svm_iscsi_decode(c, 8);
	for (uint32_t i = 0; gls && i < gls->num_descriptors; i++) {
		const struct scsi_lba_status_descriptor *d;

		d = &gls->descriptors[i];

		if (d->lba > lba || lba - d->lba >= d->num_blocks)
			continue;
		end = (d->lba + d->num_blocks) * bs;
		*data = d->provisioning == SCSI_PROVISIONING_TYPE_MAPPED;
		*runlen = end - off < len ? end - off : len;
		break;
	}
	svm_iscsi_cmd_free(c);
	if (!*runlen)
		*runlen = len < bs ? len : bs;
	return 0;
}

static int iscsi_flush(struct svm_ep *ep)
{
	struct svm_ep_iscsi *e = E(ep);
	struct svm_xcopy_sense s;
	int ret;

	if (e->can_sync16) {
		ret = svm_iscsi_run(e, e->wire_lun,
			  scsi_cdb_synchronizecache16(0, 0, 0, 0),
			  "SYNCHRONIZE CACHE(16)", NULL, 0, NULL, &s);
		if (!ret || s.key != SCSI_SENSE_ILLEGAL_REQUEST ||
		    s.asc != 0x20)
			return ret;
		e->can_sync16 = false;
	}
	return svm_iscsi_run(e, e->wire_lun, scsi_cdb_synchronizecache10(0, 0, 0, 0),
		   "SYNCHRONIZE CACHE(10)", NULL, 0, NULL, NULL);
}

static int iscsi_space(struct svm_ep *ep, uint64_t *total, uint64_t *avail)
{
	*total = ep->size;
	*avail = ep->size;
	return 0;
}

static void logout_cb(struct iscsi_context *iscsi, int status, void *data,
		      void *priv)
{
	bool *done = priv;

	(void)iscsi;
	(void)status;
	(void)data;
	*done = true;
}

/* A logout, at most LOGOUT_MS, when nothing is in flight. */
static void sess_logout(struct svm_ep_iscsi *e)
{
	int ms = e->ep.timeout_ms < LOGOUT_MS ? e->ep.timeout_ms : LOGOUT_MS;
	double end = svm_ep_now() + ms / 1000.0;
	bool done = false;

	if (!e->iscsi || e->state != SVM_ISCSI_READY || e->cmds ||
	    iscsi_logout_async(e->iscsi, logout_cb, &done))
		return;
	while (!done && e->iscsi && svm_ep_now() < end)
		pump(e, 20);
	ctx_drop(e);	/* before done goes out of scope */
}

static void iscsi_close(struct svm_ep *ep)
{
	struct svm_ep_iscsi *e = E(ep);
	struct iscsi_cmd *c;

	e->closing = true;
	sess_logout(e);
	ctx_drop(e);
	while ((c = e->pending)) {
		list_del(c);
		svm_iscsi_cmd_free(c);
	}
	free(e->zero_block);
	free(ep->name);
	explicit_bzero(e->password, sizeof(e->password));
	free(e);
}

static const struct svm_ep_ops iscsi_ops = {
	.kind = "iscsi",
	.read = iscsi_read,
	.write = iscsi_write,
	.zero = iscsi_zero,
	.extent = iscsi_extent,
	.flush = iscsi_flush,
	.set_size = NULL,
	.space = iscsi_space,
	.poll_fd = iscsi_poll_fd,
	.service = iscsi_service_op,
	.close = iscsi_close,
};

/* ------------------------------------------------------------------------
 * Opening
 */

/* The host's initiator name (open-iscsi's file), else ours. */
static void initiator_name(char *buf, size_t len)
{
	FILE *f = fopen(INITIATOR_FILE, "re");
	char line[512];

	svm_set_err(buf, len, "%s", DEFAULT_INITIATOR);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v = line + 14;
		size_t n;
		bool ok = true;

		if (strncmp(line, "InitiatorName=", 14))
			continue;
		n = strcspn(v, " \t\r\n");
		v[n] = 0;
		for (size_t i = 0; i < n; i++)
			ok = ok && v[i] > 0x20 && v[i] < 0x7f;
		if (ok && n > 4 && n < len &&
		    (!strncmp(v, "iqn.", 4) || !strncmp(v, "eui.", 4) ||
		     !strncmp(v, "naa.", 4)))
			svm_set_err(buf, len, "%s", v);
		break;
	}
	fclose(f);
}

static struct svm_ep_iscsi *ep_new(const struct svm_url *u, unsigned int flags,
				   const struct svm_ep_params *params)
{
	struct svm_ep_iscsi *e = calloc(1, sizeof(*e));
	char name[4096];

	if (!e)
		return NULL;
	svm_url_format(u, name, sizeof(name));
	e->ep.name = strdup(name);
	if (!e->ep.name) {
		free(e);
		return NULL;
	}
	e->ep.ops = &iscsi_ops;
	e->ep.writable = flags & SVM_EP_WRITE;
	e->ep.fresh_from = UINT64_MAX;
	e->ep.timeout_ms = params && params->timeout_ms > 0 ?
			   params->timeout_ms : SVM_EP_DEFAULT_TIMEOUT_MS;
	e->state = SVM_ISCSI_DOWN;
	e->lun = u->lun;
	e->wire_lun = u->lun < 256 ? (int)u->lun : (int)(0x4000 | u->lun);
	svm_set_err(e->portal, sizeof(e->portal), u->ipv6 ? "[%s]:%u" : "%s:%u",
		    u->host, u->port ? u->port : ISCSI_PORT);
	svm_set_err(e->iqn, sizeof(e->iqn), "%s", u->iqn);
	svm_set_err(e->user, sizeof(e->user), "%s", u->user);
	svm_set_err(e->password, sizeof(e->password), "%s", u->password);
	initiator_name(e->initiator, sizeof(e->initiator));
	e->can_sync16 = true;
	e->scsi.cmd = scsi_dev_cmd;
	e->scsi.name = e->ep.name;
	return e;
}

/* A SendTargets discovery: does the portal have the target? */
struct disc {
	const char *iqn;
	bool done, listed, found;
	char have[128];
};

static void disc_list_cb(struct iscsi_context *iscsi, int status, void *data,
			 void *priv)
{
	struct iscsi_discovery_address *a = data;
	struct disc *d = priv;
	size_t o = 0;

	(void)iscsi;
	d->done = true;
	if (status != SCSI_STATUS_GOOD)
		return;
	d->listed = true;
	for (; a; a = a->next) {
		if (!a->target_name)
			continue;
		d->found = d->found || !strcmp(a->target_name, d->iqn);
		if (o + strlen(a->target_name) + 6 < sizeof(d->have))
			o += snprintf(d->have + o, sizeof(d->have) - o, "%s%s",
				      o ? " " : "", a->target_name);
		else if (o + 4 < sizeof(d->have))
			o += snprintf(d->have + o, sizeof(d->have) - o, "...");
	}
}

static void disc_login_cb(struct iscsi_context *iscsi, int status, void *data,
			  void *priv)
{
	struct disc *d = priv;

	(void)data;
	if (status != SCSI_STATUS_GOOD ||
	    iscsi_discovery_async(iscsi, disc_list_cb, d))
		d->done = true;
}

static void disc_connect_cb(struct iscsi_context *iscsi, int status,
			    void *data, void *priv)
{
	struct disc *d = priv;

	(void)data;
	if (status != SCSI_STATUS_GOOD ||
	    iscsi_login_async(iscsi, disc_login_cb, d))
		d->done = true;
}

/* 0 with d filled, -1 when the portal did not list its targets in time. */
static int discover(struct svm_ep_iscsi *e, struct disc *d)
{
	double end = svm_ep_now() + e->ep.timeout_ms / 1000.0;
	struct iscsi_context *i = iscsi_create_context(e->initiator);
	int ret = -1;

	if (!i)
		return -1;
	if (iscsi_set_session_type(i, ISCSI_SESSION_DISCOVERY) ||
	    iscsi_set_header_digest(i, ISCSI_HEADER_DIGEST_NONE_CRC32C) ||
	    (e->user[0] &&
	     iscsi_set_initiator_username_pwd(i, e->user, e->password)))
		goto out;
	iscsi_set_noautoreconnect(i, 1);
	if (iscsi_connect_async(i, e->portal, disc_connect_cb, d))
		goto out;
	while (!d->done && svm_ep_now() < end) {
		struct pollfd p = { .fd = iscsi_get_fd(i) };

		p.events = (short)iscsi_which_events(i);
		if (p.fd < 0 || !p.events)
			p.fd = -1;
		if (poll(&p, p.fd >= 0 ? 1 : 0, SVM_EP_TICK_MS) <= 0)
			p.revents = 0;
		if (lib_service(i, p.fd >= 0 ? p.revents : 0) < 0)
			break;
	}
	ret = d->listed ? 0 : -1;
out:
	iscsi_destroy_context(i);	/* may call back: d is still there */
	return ret;
}

/* The first connect and login: its failure is the open's. */
static int connect_first(struct svm_ep_iscsi *e)
{
	struct disc d = { .iqn = e->iqn };

	sess_start(e);
	while (e->state == SVM_ISCSI_CONNECTING)
		pump(e, SVM_EP_TICK_MS);
	if (e->state == SVM_ISCSI_READY)
		return 0;
	/*
	 * LIO answers an unknown target name with "service unavailable"
	 * (0x0301), not "not found": ask the portal what it has.
	 */
	if (e->conn_login >> 8 == 3 && !discover(e, &d) && !d.found)
		return svm_ep_fail(&e->ep, -ENOENT,
				   "target %s not found on %s (it has: %s)",
				   e->iqn, e->portal,
				   d.have[0] ? d.have : "none");
	return svm_ep_fail(&e->ep, e->conn_err ? e->conn_err : -EIO, "%s",
			   e->conn_why);
}

int svm_ep_iscsi_open(const char *url, unsigned int flags,
		      const struct svm_ep_params *params, struct svm_ep **out,
		      char *err, size_t errlen)
{
	struct svm_ep_iscsi *e;
	struct svm_url *u;
	int ret;

	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	u = calloc(1, sizeof(*u));
	if (!u) {
		svm_set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = svm_url_parse(url ? url : "", u, err, errlen);
	if (!ret && u->scheme != SVM_URL_ISCSI) {
		svm_set_err(err, errlen, "not an iscsi:// URL");
		ret = -EINVAL;
	}
	e = ret ? NULL : ep_new(u, flags, params);
	explicit_bzero(u->password, sizeof(u->password));
	free(u);
	if (ret)
		return ret;
	if (!e) {
		svm_set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = connect_first(e);
	if (!ret)
		ret = svm_iscsi_probe(e);
	if (ret) {
		svm_set_err(err, errlen, "%s: %s", e->ep.name, e->ep.msg);
		iscsi_close(&e->ep);
		return ret;
	}
	*out = &e->ep;
	return 0;
}
