// SPDX-License-Identifier: GPL-2.0
/*
 * svm-qmp.c - libsvmotion: a small QMP client (see svm-qmp.h).
 *
 * One non-blocking unix stream socket; every wait is a poll() bounded by a
 * deadline on CLOCK_MONOTONIC. Incoming bytes go through a read buffer into
 * a json_tokener, which keeps its state across reads, so a message may be
 * split over any number of reads and a read may hold several messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "svm-qmp.h"
#include "svm-util.h"

#define QMP_RBUF	(64 * 1024)
#define QMP_DEPTH	64

struct svm_qmp {
	int fd;
	int timeout_ms;
	size_t max_reply;
	uint64_t next_id;

	json_tokener *tok;
	size_t msg_bytes;		/* fed to tok for the message in progress */
	size_t rpos, rlen;		/* unparsed bytes: rbuf[rpos, rlen) */

	int broken;			/* 0, or the error that made the stream
					 * unusable */
	char broken_msg[256];

	json_object *events[SVM_QMP_MAX_EVENTS];	/* ring, oldest first */
	unsigned int ev_head, ev_count;
	unsigned long ev_dropped;

	char version[32];
	char error_class[64];
	char rbuf[QMP_RBUF];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int effective_timeout(int timeout_ms)
{
	return timeout_ms > 0 ? timeout_ms : SVM_QMP_DEFAULT_TIMEOUT_MS;
}

/*
 * Mark the stream unusable with error ret (message already in err, or
 * built from why when err is not given) and return ret.
 */
static int qmp_break(struct svm_qmp *q, int ret, const char *why)
{
	if (!q->broken) {
		q->broken = ret;
		snprintf(q->broken_msg, sizeof(q->broken_msg), "%s", why);
	}
	return ret;
}

/* --- Event queue ----------------------------------------------------------- */

static void ev_push(struct svm_qmp *q, json_object *ev)
{
	unsigned int tail;

	if (q->ev_count == SVM_QMP_MAX_EVENTS) {
		json_object_put(q->events[q->ev_head]);
		q->events[q->ev_head] = NULL;
		q->ev_head = (q->ev_head + 1) % SVM_QMP_MAX_EVENTS;
		q->ev_count--;
		q->ev_dropped++;
	}
	tail = (q->ev_head + q->ev_count) % SVM_QMP_MAX_EVENTS;
	q->events[tail] = ev;
	q->ev_count++;
}

static bool ev_is(json_object *ev, const char *name)
{
	json_object *n;

	return json_object_object_get_ex(ev, "event", &n) &&
	       json_object_is_type(n, json_type_string) &&
	       !strcmp(json_object_get_string(n), name);
}

/* Take the oldest queued event named name out of the queue, or NULL. */
static json_object *ev_take(struct svm_qmp *q, const char *name)
{
	unsigned int i, j;

	for (i = 0; i < q->ev_count; i++) {
		unsigned int at = (q->ev_head + i) % SVM_QMP_MAX_EVENTS;
		json_object *ev = q->events[at];

		if (!ev_is(ev, name))
			continue;
		/* close the gap: shift the later ones down by one */
		for (j = i; j + 1 < q->ev_count; j++)
			q->events[(q->ev_head + j) % SVM_QMP_MAX_EVENTS] =
				q->events[(q->ev_head + j + 1) % SVM_QMP_MAX_EVENTS];
		q->events[(q->ev_head + q->ev_count - 1) % SVM_QMP_MAX_EVENTS] = NULL;
		q->ev_count--;
		return ev;
	}
	return NULL;
}

void svm_qmp_clear_events(struct svm_qmp *q)
{
	if (!q)
		return;
	while (q->ev_count) {
		json_object_put(q->events[q->ev_head]);
		q->events[q->ev_head] = NULL;
		q->ev_head = (q->ev_head + 1) % SVM_QMP_MAX_EVENTS;
		q->ev_count--;
	}
	q->ev_head = 0;
}

unsigned int svm_qmp_events_pending(const struct svm_qmp *q)
{
	return q ? q->ev_count : 0;
}

unsigned long svm_qmp_events_dropped(const struct svm_qmp *q)
{
	return q ? q->ev_dropped : 0;
}

/* --- Transport --------------------------------------------------------------- */

/* Wait for events on the socket until deadline: 1 ready, 0 timed out, -errno. */
static int wait_fd(struct svm_qmp *q, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = q->fd, .events = events };

	for (;;) {
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			left = 0;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 1;
		if (n == 0)
			return left ? (now_ms() >= deadline ? 0 : -EINTR) : 0;
		if (errno != EINTR)
			return -errno;
	}
}

static int send_all(struct svm_qmp *q, const char *what, const char *buf,
		    size_t len, int64_t deadline, char *err, size_t errlen)
{
	size_t sent = 0;

	while (sent < len) {
		ssize_t n = send(q->fd, buf + sent, len - sent, MSG_NOSIGNAL);
		int e = errno, r;

		if (n > 0) {
			sent += n;
			continue;
		}
		if (n < 0 && e == EINTR)
			continue;
		if (n < 0 && (e == EAGAIN || e == EWOULDBLOCK)) {
			r = wait_fd(q, POLLOUT, deadline);
			if (r == -EINTR)
				continue;
			if (r > 0)
				continue;
			if (r == 0) {
				svm_set_err(err, errlen,
					    "svm-qmp: %s: QEMU did not take the command within %d ms",
					    what, q->timeout_ms);
				/* half a command sent: the stream is lost */
				if (sent)
					qmp_break(q, -ETIMEDOUT,
						  "timed out in the middle of sending a command");
				return -ETIMEDOUT;
			}
			e = -r;
		}
		if (e == EPIPE || e == ECONNRESET || e == ENOTCONN) {
			svm_set_err(err, errlen,
				    "svm-qmp: %s: QEMU closed the connection (send: %s)",
				    what, strerror(e));
			return qmp_break(q, e == EPIPE ? -EPIPE : -ECONNRESET,
					 "QEMU closed the connection");
		}
		svm_set_err(err, errlen, "svm-qmp: %s: send: %s", what, strerror(e));
		return qmp_break(q, -e, strerror(e));
	}
	return 0;
}

/*
 * Read the next message (a JSON object) into *msg, waiting until deadline.
 * what names the command for messages; waiting describes what is awaited
 * ("a reply", "the greeting", ...) for the timeout message.
 */
static int read_msg(struct svm_qmp *q, const char *what, const char *waiting,
		    int timeout_ms, int64_t deadline, json_object **msg,
		    char *err, size_t errlen)
{
	char why[160];
	ssize_t n;
	int e;

	*msg = NULL;
	for (;;) {
		while (q->rpos < q->rlen) {
			size_t avail = q->rlen - q->rpos;
			enum json_tokener_error jerr;
			json_object *obj;
			size_t used;

			obj = json_tokener_parse_ex(q->tok, q->rbuf + q->rpos,
						    (int)avail);
			jerr = json_tokener_get_error(q->tok);
			used = json_tokener_get_parse_end(q->tok);
			if (used > avail)
				used = avail;
			q->rpos += used;
			q->msg_bytes += used;
			if (q->rpos == q->rlen)
				q->rpos = q->rlen = 0;
			if (q->msg_bytes > q->max_reply) {
				json_object_put(obj);
				snprintf(why, sizeof(why),
					 "a message longer than %zu bytes",
					 q->max_reply);
				svm_set_err(err, errlen, "svm-qmp: %s: %s",
					    what, why);
				return qmp_break(q, -EMSGSIZE, why);
			}
			if (obj) {
				q->msg_bytes = 0;
				if (!json_object_is_type(obj, json_type_object)) {
					snprintf(why, sizeof(why),
						 "not QMP: a JSON %s, not an object",
						 json_type_to_name(json_object_get_type(obj)));
					json_object_put(obj);
					svm_set_err(err, errlen,
						    "svm-qmp: %s: %s", what, why);
					return qmp_break(q, -EPROTO, why);
				}
				*msg = obj;
				return 0;
			}
			if (jerr == json_tokener_success) {
				/* a complete JSON null */
				snprintf(why, sizeof(why),
					 "not QMP: a JSON null, not an object");
				svm_set_err(err, errlen, "svm-qmp: %s: %s",
					    what, why);
				return qmp_break(q, -EPROTO, why);
			}
			if (jerr != json_tokener_continue) {
				snprintf(why, sizeof(why), "not QMP: not JSON (%s)",
					 json_tokener_error_desc(jerr));
				svm_set_err(err, errlen, "svm-qmp: %s: %s",
					    what, why);
				return qmp_break(q, -EPROTO, why);
			}
		}

		n = recv(q->fd, q->rbuf, sizeof(q->rbuf), 0);
		if (n > 0) {
			q->rpos = 0;
			q->rlen = n;
			continue;
		}
		if (n == 0 || errno == ECONNRESET) {
			svm_set_err(err, errlen,
				    "svm-qmp: %s: QEMU closed the connection%s",
				    what, q->msg_bytes ?
				    " in the middle of a message" : "");
			return qmp_break(q, -ECONNRESET,
					 "QEMU closed the connection");
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int r = wait_fd(q, POLLIN, deadline);

			if (r > 0 || r == -EINTR)
				continue;
			if (r == 0) {
				svm_set_err(err, errlen,
					    "svm-qmp: %s: no %s within %d ms",
					    what, waiting, timeout_ms);
				return -ETIMEDOUT;
			}
			errno = -r;
		}
		e = errno;
		svm_set_err(err, errlen, "svm-qmp: %s: recv: %s", what,
			    strerror(e));
		return qmp_break(q, -e, strerror(e));
	}
}

static int check_usable(struct svm_qmp *q, const char *what, char *err,
			size_t errlen)
{
	if (!q->broken)
		return 0;
	svm_set_err(err, errlen, "svm-qmp: %s: connection unusable: %s", what,
		    q->broken_msg);
	return q->broken;
}

/* --- Commands ------------------------------------------------------------------ */

static bool is_reply_to(json_object *msg, uint64_t id, bool *no_id)
{
	json_object *jid;

	*no_id = !json_object_object_get_ex(msg, "id", &jid);
	if (*no_id || !json_object_is_type(jid, json_type_int))
		return false;
	return (uint64_t)json_object_get_int64(jid) == id;
}

static int take_reply(struct svm_qmp *q, const char *cmd, json_object *msg,
		      json_object **ret, char *err, size_t errlen)
{
	json_object *r, *e, *cls, *desc;

	if (json_object_object_get_ex(msg, "return", &r)) {
		if (ret)
			*ret = json_object_get(r);
		return 0;
	}
	if (!json_object_object_get_ex(msg, "error", &e) ||
	    !json_object_is_type(e, json_type_object)) {
		svm_set_err(err, errlen,
			    "svm-qmp: %s: not QMP: a reply with neither return nor error",
			    cmd);
		return -EPROTO;
	}
	json_object_object_get_ex(e, "class", &cls);
	json_object_object_get_ex(e, "desc", &desc);
	snprintf(q->error_class, sizeof(q->error_class), "%s",
		 json_object_is_type(cls, json_type_string) ?
		 json_object_get_string(cls) : "?");
	svm_set_err(err, errlen, "svm-qmp: %s: %s: %s", cmd, q->error_class,
		    json_object_is_type(desc, json_type_string) ?
		    json_object_get_string(desc) : "(no description)");
	return -EIO;
}

int svm_qmp_execute(struct svm_qmp *q, const char *cmd,
		    struct json_object *args, struct json_object **ret,
		    char *err, size_t errlen)
{
	json_object *req, *msg;
	const char *text;
	uint64_t id;
	int64_t deadline;
	char *line;
	size_t len;
	int r;

	if (ret)
		*ret = NULL;
	if (!q || !cmd) {
		svm_set_err(err, errlen, "svm-qmp: %s: no handle or command",
			    cmd ? cmd : "execute");
		return -EINVAL;
	}
	r = check_usable(q, cmd, err, errlen);
	if (r)
		return r;
	q->error_class[0] = 0;

	id = q->next_id++;
	req = json_object_new_object();
	if (!req)
		goto nomem;
	json_object_object_add(req, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(req, "arguments", json_object_get(args));
	json_object_object_add(req, "id", json_object_new_int64((int64_t)id));
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	len = text ? strlen(text) : 0;
	line = text ? malloc(len + 2) : NULL;
	if (!line) {
		json_object_put(req);
		goto nomem;
	}
	memcpy(line, text, len);
	line[len++] = '\n';
	line[len] = 0;
	json_object_put(req);

	deadline = now_ms() + q->timeout_ms;
	r = send_all(q, cmd, line, len, deadline, err, errlen);
	free(line);
	if (r)
		return r;

	for (;;) {
		bool no_id;

		r = read_msg(q, cmd, "reply", q->timeout_ms, deadline, &msg,
			     err, errlen);
		if (r)
			return r;
		if (json_object_object_get_ex(msg, "event", NULL)) {
			ev_push(q, msg);
			continue;
		}
		if (is_reply_to(msg, id, &no_id) ||
		    (no_id && json_object_object_get_ex(msg, "error", NULL))) {
			r = take_reply(q, cmd, msg, ret, err, errlen);
			json_object_put(msg);
			return r;
		}
		/* a late reply to an earlier command, or not ours */
		json_object_put(msg);
	}

nomem:
	svm_set_err(err, errlen, "svm-qmp: %s: out of memory", cmd);
	return -ENOMEM;
}

int svm_qmp_stop(struct svm_qmp *q, char *err, size_t errlen)
{
	return svm_qmp_execute(q, "stop", NULL, NULL, err, errlen);
}

int svm_qmp_cont(struct svm_qmp *q, char *err, size_t errlen)
{
	return svm_qmp_execute(q, "cont", NULL, NULL, err, errlen);
}

int svm_qmp_query_status(struct svm_qmp *q, bool *running, char *status,
			 size_t len, char *err, size_t errlen)
{
	json_object *ret, *jr, *js;
	int r;

	r = svm_qmp_execute(q, "query-status", NULL, &ret, err, errlen);
	if (r)
		return r;
	if (!json_object_object_get_ex(ret, "running", &jr) ||
	    !json_object_is_type(jr, json_type_boolean) ||
	    !json_object_object_get_ex(ret, "status", &js) ||
	    !json_object_is_type(js, json_type_string)) {
		svm_set_err(err, errlen,
			    "svm-qmp: query-status: not QMP: no running/status in %s",
			    json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PLAIN));
		json_object_put(ret);
		return -EPROTO;
	}
	if (running)
		*running = json_object_get_boolean(jr);
	if (status && len)
		snprintf(status, len, "%s", json_object_get_string(js));
	json_object_put(ret);
	return 0;
}

int svm_qmp_hmp(struct svm_qmp *q, const char *cmdline, char **out_text,
		char *err, size_t errlen)
{
	json_object *args, *ret;
	int r;

	if (out_text)
		*out_text = NULL;
	if (!cmdline) {
		svm_set_err(err, errlen,
			    "svm-qmp: human-monitor-command: no command line");
		return -EINVAL;
	}
	args = json_object_new_object();
	if (!args) {
		svm_set_err(err, errlen,
			    "svm-qmp: human-monitor-command: out of memory");
		return -ENOMEM;
	}
	json_object_object_add(args, "command-line",
			       json_object_new_string(cmdline));
	r = svm_qmp_execute(q, "human-monitor-command", args, &ret, err, errlen);
	json_object_put(args);
	if (r)
		return r;
	if (!json_object_is_type(ret, json_type_string)) {
		svm_set_err(err, errlen,
			    "svm-qmp: human-monitor-command: not QMP: a reply that is not a string");
		json_object_put(ret);
		return -EPROTO;
	}
	if (out_text) {
		*out_text = strdup(json_object_get_string(ret));
		if (!*out_text) {
			json_object_put(ret);
			svm_set_err(err, errlen,
				    "svm-qmp: human-monitor-command: out of memory");
			return -ENOMEM;
		}
	}
	json_object_put(ret);
	return 0;
}

int svm_qmp_wait_event(struct svm_qmp *q, const char *name, int timeout_ms,
		       struct json_object **event, char *err, size_t errlen)
{
	char what[96], waiting[96];
	json_object *msg;
	int64_t deadline;
	int r;

	if (event)
		*event = NULL;
	if (!q || !name) {
		svm_set_err(err, errlen, "svm-qmp: wait-event: no handle or name");
		return -EINVAL;
	}
	msg = ev_take(q, name);
	if (msg)
		goto found;
	snprintf(what, sizeof(what), "wait-event %s", name);
	r = check_usable(q, what, err, errlen);
	if (r)
		return r;
	timeout_ms = timeout_ms > 0 ? timeout_ms : q->timeout_ms;
	snprintf(waiting, sizeof(waiting), "%s event", name);
	deadline = now_ms() + timeout_ms;
	for (;;) {
		r = read_msg(q, what, waiting, timeout_ms, deadline, &msg, err,
			     errlen);
		if (r)
			return r;
		if (ev_is(msg, name))
			goto found;
		if (json_object_object_get_ex(msg, "event", NULL))
			ev_push(q, msg);
		else
			json_object_put(msg);	/* a stray reply */
	}

found:
	if (event)
		*event = msg;
	else
		json_object_put(msg);
	return 0;
}

/* --- Connection -------------------------------------------------------------- */

static int read_greeting(struct svm_qmp *q, const char *what, char *err,
			 size_t errlen)
{
	json_object *msg, *qmp, *v;
	int r;

	r = read_msg(q, what, "QMP greeting", q->timeout_ms,
		     now_ms() + q->timeout_ms, &msg, err, errlen);
	if (r)
		return r;
	if (!json_object_object_get_ex(msg, "QMP", &qmp) ||
	    !json_object_is_type(qmp, json_type_object)) {
		svm_set_err(err, errlen,
			    "svm-qmp: %s: not QMP: no greeting but %.80s", what,
			    json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
		json_object_put(msg);
		return qmp_break(q, -EPROTO, "no QMP greeting");
	}
	if (json_object_object_get_ex(qmp, "version", &v) &&
	    json_object_object_get_ex(v, "qemu", &v)) {
		json_object *ma, *mi, *mc;

		if (json_object_object_get_ex(v, "major", &ma) &&
		    json_object_object_get_ex(v, "minor", &mi) &&
		    json_object_object_get_ex(v, "micro", &mc))
			snprintf(q->version, sizeof(q->version), "%d.%d.%d",
				 json_object_get_int(ma), json_object_get_int(mi),
				 json_object_get_int(mc));
	}
	json_object_put(msg);
	return 0;
}

int svm_qmp_connect(const char *path, int timeout_ms, struct svm_qmp **out,
		    char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char what[sizeof(sa.sun_path) + 16];
	struct timeval tv;
	struct svm_qmp *q;
	int r, fl;

	if (out)
		*out = NULL;
	if (!path || !out) {
		svm_set_err(err, errlen, "svm-qmp: connect: no path or handle");
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		svm_set_err(err, errlen,
			    "svm-qmp: connect %.40s...: socket path of %zu bytes, longer than a unix socket address holds (%zu)",
			    path, strlen(path), sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	snprintf(what, sizeof(what), "connect %s", path);

	q = calloc(1, sizeof(*q));
	if (!q) {
		svm_set_err(err, errlen, "svm-qmp: %s: out of memory", what);
		return -ENOMEM;
	}
	q->timeout_ms = effective_timeout(timeout_ms);
	q->max_reply = SVM_QMP_DEFAULT_MAX_REPLY;
	q->next_id = 1;
	q->tok = json_tokener_new_ex(QMP_DEPTH);
	if (!q->tok) {
		free(q);
		svm_set_err(err, errlen, "svm-qmp: %s: out of memory", what);
		return -ENOMEM;
	}
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0) {
		r = -errno;
		svm_set_err(err, errlen, "svm-qmp: %s: socket: %s", what,
			    strerror(-r));
		goto fail;
	}
	/* a unix connect() blocks while the listener's backlog is full:
	 * SO_SNDTIMEO bounds it (EAGAIN when it expires) */
	tv.tv_sec = q->timeout_ms / 1000;
	tv.tv_usec = (q->timeout_ms % 1000) * 1000;
	setsockopt(q->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		r = errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (r == -ETIMEDOUT)
			svm_set_err(err, errlen,
				    "svm-qmp: %s: not accepted within %d ms",
				    what, q->timeout_ms);
		else
			svm_set_err(err, errlen, "svm-qmp: %s: %s", what,
				    strerror(-r));
		goto fail;
	}
	fl = fcntl(q->fd, F_GETFL);
	if (fl < 0 || fcntl(q->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		r = -errno;
		svm_set_err(err, errlen, "svm-qmp: %s: fcntl: %s", what,
			    strerror(-r));
		goto fail;
	}

	r = read_greeting(q, what, err, errlen);
	if (r)
		goto fail;
	r = svm_qmp_execute(q, "qmp_capabilities", NULL, NULL, err, errlen);
	if (r)
		goto fail;
	*out = q;
	return 0;

fail:
	svm_qmp_close(q);
	return r;
}

void svm_qmp_close(struct svm_qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	svm_qmp_clear_events(q);
	json_tokener_free(q->tok);
	free(q);
}

void svm_qmp_set_timeout(struct svm_qmp *q, int timeout_ms)
{
	if (q)
		q->timeout_ms = effective_timeout(timeout_ms);
}

int svm_qmp_get_timeout(const struct svm_qmp *q)
{
	return q ? q->timeout_ms : 0;
}

void svm_qmp_set_max_reply(struct svm_qmp *q, size_t bytes)
{
	if (q)
		q->max_reply = bytes ? bytes : SVM_QMP_DEFAULT_MAX_REPLY;
}

int svm_qmp_fd(const struct svm_qmp *q)
{
	return q ? q->fd : -1;
}

const char *svm_qmp_version(const struct svm_qmp *q)
{
	return q ? q->version : "";
}

const char *svm_qmp_error_class(const struct svm_qmp *q)
{
	return q ? q->error_class : "";
}
