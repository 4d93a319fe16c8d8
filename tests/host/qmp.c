// SPDX-License-Identifier: GPL-2.0
/*
 * qmp.c - the QMP client (svm-qmp.h).
 *
 * Against fake QMP servers (a unix listener and a thread per scenario): no
 * greeting, a greeting that is not one, a server that never answers
 * (timeout), a late reply after a timeout (discarded by its id), replies
 * with a wrong id, an error reply without id, garbage and non-object JSON,
 * a reply over the size cap, a message split over many writes and several
 * in one write, events before a reply and after it, an event flood beyond
 * the queue, the server closing mid-command and before a send (no SIGPIPE),
 * request encoding (quotes, backslashes, UTF-8 echoed back), socket paths
 * too long or missing.
 *
 * Against a real QEMU (qemu-system-x86_64 -machine none, TCG, no guest):
 * negotiation, query-status, stop/cont with their STOP/RESUME events, a
 * generic command with arguments, CommandNotFound and a bad argument,
 * HMP commands (good, unknown, failing), qemu-io writes and reads through
 * HMP checked on QEMU's stdout and in the image file itself, a stopped
 * (SIGSTOP) QEMU timing out and the late reply discarded after SIGCONT,
 * QEMU killed during a call; and the round trip of stop+cont (p50 of 50)
 * printed for the stun-time work.
 *
 * QEMU is given the listening socket (created here, -chardev socket,fd=N)
 * so that connecting never races its startup: no polling for the socket.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "tap.h"
#include "svm-qmp.h"

#define KiB 1024

static char tmpdir[64];
static pid_t qemu_pid = -1;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* s on one line for a message: CR/LF as spaces, trailing ones cut. */
static const char *flat(char *s)
{
	size_t n;

	if (!s)
		return "(null)";
	for (char *p = s; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	n = strlen(s);
	while (n && s[n - 1] == ' ')
		s[--n] = 0;
	return s;
}

static const char *tpath(const char *name)
{
	static char buf[4][sizeof(tmpdir) + 260];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

static void qemu_kill(void)
{
	if (qemu_pid > 0) {
		kill(qemu_pid, SIGKILL);
		waitpid(qemu_pid, NULL, 0);
		qemu_pid = -1;
	}
}

static void cleanup(void)
{
	DIR *d;
	struct dirent *de;

	qemu_kill();
	if (!tmpdir[0])
		return;
	d = opendir(tmpdir);
	if (d) {
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unlink(tpath(de->d_name));
		closedir(d);
	}
	rmdir(tmpdir);
	tmpdir[0] = 0;
}

/* --- Fake QMP servers ---------------------------------------------------- */

typedef void (*fake_fn)(int cfd);

struct fake {
	int lfd;
	pthread_t th;
	fake_fn fn;
	char path[256];
};

static void *fake_thread(void *arg)
{
	struct fake *f = arg;
	int cfd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);

	if (cfd >= 0) {
		f->fn(cfd);
		close(cfd);
	}
	return NULL;
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 4)) {
		diag("listen %s: %s", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static const char *fake_start(struct fake *f, const char *name, fake_fn fn)
{
	snprintf(f->path, sizeof(f->path), "%s", tpath(name));
	f->lfd = listen_at(f->path);
	f->fn = fn;
	if (pthread_create(&f->th, NULL, fake_thread, f)) {
		diag("pthread_create failed");
		exit(1);
	}
	return f->path;
}

/* After the client closed its handle: the scenario ends at EOF. */
static void fake_end(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);	/* wakes an accept() nobody came to */
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->path);
}

static void fake_send(int cfd, const char *s)
{
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t n = send(cfd, s + off, len - off, MSG_NOSIGNAL);

		if (n <= 0)
			return;		/* the client went away: fine */
		off += n;
	}
}

__attribute__((format(printf, 2, 3)))
static void fake_sendf(int cfd, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s)
		fake_send(cfd, s);
	free(s);
}

/* Read until the client closes. */
static void fake_drain(int cfd)
{
	char buf[4096];

	while (read(cfd, buf, sizeof(buf)) > 0)
		;
}

/*
 * Read one request line: returns it parsed (json_object_put() it) with its
 * id in *id, or NULL at EOF.
 */
static json_object *fake_cmd(int cfd, long long *id)
{
	char line[4096];
	size_t len = 0;
	json_object *req, *jid;

	while (len < sizeof(line) - 1) {
		ssize_t n = read(cfd, line + len, 1);

		if (n <= 0)
			return NULL;
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = 0;
	req = json_tokener_parse(line);
	*id = -1;
	if (req && json_object_object_get_ex(req, "id", &jid))
		*id = json_object_get_int64(jid);
	return req;
}

static const char *req_execute(json_object *req)
{
	json_object *e;

	if (req && json_object_object_get_ex(req, "execute", &e))
		return json_object_get_string(e);
	return "";
}

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 9}, \"package\": \"fake\"}, \"capabilities\": []}}\n"
#define RUNNING "{\"status\": \"running\", \"singlestep\": false, \"running\": true}"
#define PAUSED "{\"status\": \"paused\", \"singlestep\": false, \"running\": false}"

/* Greeting and qmp_capabilities; returns false if the client left. */
static bool fake_handshake(int cfd)
{
	json_object *req;
	long long id;

	fake_send(cfd, GREETING);
	req = fake_cmd(cfd, &id);
	if (!req)
		return false;
	fake_sendf(cfd, "{\"return\": {}, \"id\": %lld}\n", id);
	json_object_put(req);
	return true;
}

/* Read a request and forget it; its id in *id. */
static bool fake_skip_cmd(int cfd, long long *id)
{
	json_object *req = fake_cmd(cfd, id);

	json_object_put(req);
	return req != NULL;
}

static void fs_silent(int cfd)
{
	fake_drain(cfd);
}

static void fs_bad_greeting(int cfd)
{
	fake_send(cfd, "{\"return\": {}}\n");
	fake_drain(cfd);
}

static void fs_hangs(int cfd)
{
	long long id;

	if (fake_handshake(cfd) && fake_skip_cmd(cfd, &id))
		fake_drain(cfd);
}

/*
 * The first command is answered only after the second arrives (the client
 * timed out on the first): both replies in one write, the late one first,
 * saying "paused" where the awaited one says "running".
 */
static void fs_late(int cfd)
{
	long long id1, id2;

	if (!fake_handshake(cfd) || !fake_skip_cmd(cfd, &id1) ||
	    !fake_skip_cmd(cfd, &id2))
		return;
	fake_sendf(cfd, "{\"return\": " PAUSED ", \"id\": %lld}\n"
		   "{\"return\": " RUNNING ", \"id\": %lld}\n", id1, id2);
	fake_drain(cfd);
}

static void fs_garbage(int cfd)
{
	long long id;

	if (fake_handshake(cfd) && fake_skip_cmd(cfd, &id)) {
		fake_send(cfd, "hello world\n");
		fake_drain(cfd);
	}
}

static void fs_array(int cfd)
{
	long long id;

	if (fake_handshake(cfd) && fake_skip_cmd(cfd, &id)) {
		fake_send(cfd, "[1, 2, 3]\n");
		fake_drain(cfd);
	}
}

/* A 48 KiB reply, then a 200 KiB one (the client caps at 64 KiB). */
static void fs_big(int cfd)
{
	size_t sizes[] = { 48 * KiB, 200 * KiB };
	long long id;
	char *s;

	if (!fake_handshake(cfd))
		return;
	for (int i = 0; i < 2; i++) {
		if (!fake_skip_cmd(cfd, &id))
			return;
		s = malloc(sizes[i] + 1);
		memset(s, 'x', sizes[i]);
		s[sizes[i]] = 0;
		fake_sendf(cfd, "{\"return\": \"%s\", \"id\": %lld}\n", s, id);
		free(s);
	}
	fake_drain(cfd);
}

/*
 * An event and the first half of the reply in one write, the rest a few
 * bytes at a time; then a second reply preceded by two events and a stray
 * reply, all in one write.
 */
static void fs_split(int cfd)
{
	char *reply;
	long long id;
	size_t half, len;

	if (!fake_handshake(cfd) || !fake_skip_cmd(cfd, &id))
		return;
	if (asprintf(&reply, "{\"return\": " PAUSED ", \"id\": %lld}\n", id) < 0)
		return;
	len = strlen(reply);
	half = len / 2;
	fake_sendf(cfd, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\n%.*s",
		   (int)half, reply);
	for (size_t off = half; off < len; off += 3) {
		char piece[4] = { 0 };

		memcpy(piece, reply + off, len - off < 3 ? len - off : 3);
		usleep(1000);
		fake_send(cfd, piece);
	}
	free(reply);
	if (!fake_skip_cmd(cfd, &id))
		return;
	fake_sendf(cfd, "{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 3, \"microseconds\": 4}}\r\n"
		   "{\"return\": {}, \"id\": 12345}\n"
		   "{\"event\": \"BLOCK_JOB_READY\", \"data\": {\"device\": \"j0\"}}"
		   "{\"return\": " RUNNING ", \"id\": %lld}\n", id);
	fake_drain(cfd);
}

/*
 * Replies with a wrong id (a number, a string) before the right one; then a
 * command answered only with a wrong id.
 */
static void fs_wrong_id(int cfd)
{
	long long id;

	if (!fake_handshake(cfd) || !fake_skip_cmd(cfd, &id))
		return;
	fake_sendf(cfd, "{\"return\": " PAUSED ", \"id\": %lld}\n", id + 7);
	fake_sendf(cfd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"not yours\"}, \"id\": \"%lld\"}\n", id);
	fake_sendf(cfd, "{\"return\": " RUNNING ", \"id\": %lld}\n", id);
	if (!fake_skip_cmd(cfd, &id))
		return;
	fake_sendf(cfd, "{\"return\": " RUNNING ", \"id\": %lld}\n", id + 1);
	fake_drain(cfd);
}

/* QEMU's answer to a request it could not parse has no id. */
static void fs_error_noid(int cfd)
{
	long long id;

	if (fake_handshake(cfd) && fake_skip_cmd(cfd, &id)) {
		fake_send(cfd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid keyword\"}}\n");
		fake_drain(cfd);
	}
}

static void fs_close_mid(int cfd)
{
	long long id;

	if (fake_handshake(cfd) && fake_skip_cmd(cfd, &id))
		fake_send(cfd, "{\"return\": {\"sta");	/* and close */
}

static void fs_close_early(int cfd)
{
	fake_handshake(cfd);
}

/*
 * 100 events E0..E99 then the reply; the next command's reply, and 50 ms
 * later a STOP event on its own.
 */
static void fs_flood(int cfd)
{
	long long id;
	char *s = NULL;
	size_t len = 0;
	FILE *m;

	if (!fake_handshake(cfd) || !fake_skip_cmd(cfd, &id))
		return;
	m = open_memstream(&s, &len);
	for (int i = 0; i < 100; i++)
		fprintf(m, "{\"event\": \"E%d\", \"data\": {\"n\": %d}}\n", i, i);
	fprintf(m, "{\"return\": {}, \"id\": %lld}\n", id);
	fclose(m);
	fake_send(cfd, s);
	free(s);
	if (!fake_skip_cmd(cfd, &id))
		return;
	fake_sendf(cfd, "{\"return\": {}, \"id\": %lld}\n", id);
	usleep(50 * 1000);
	fake_send(cfd, "{\"event\": \"STOP\", \"data\": {\"late\": true}}\n");
	fake_drain(cfd);
}

/* human-monitor-command: the command line is echoed as the reply. */
static void fs_echo(int cfd)
{
	json_object *req, *args, *cl;
	long long id;

	if (!fake_handshake(cfd))
		return;
	while ((req = fake_cmd(cfd, &id))) {
		const char *text = "";

		if (!strcmp(req_execute(req), "human-monitor-command") &&
		    json_object_object_get_ex(req, "arguments", &args) &&
		    json_object_object_get_ex(args, "command-line", &cl))
			text = json_object_to_json_string_ext(cl, JSON_C_TO_STRING_PLAIN);
		else
			text = "\"no command-line\"";
		fake_sendf(cfd, "{\"return\": %s, \"id\": %lld}\n", text, id);
		json_object_put(req);
	}
}

/* --- Fake-server tests ------------------------------------------------------- */

static struct svm_qmp *fake_connect(const char *path)
{
	struct svm_qmp *q = NULL;
	char err[256];
	int ret = svm_qmp_connect(path, 5000, &q, err, sizeof(err));

	if (ret)
		diag("connect %s: %d: %s", path, ret, err);
	return q;
}

static void test_connect_refusals(void)
{
	struct svm_qmp *q = (struct svm_qmp *)1;
	char err[256], longp[200];
	double t;
	struct fake f;
	int ret;

	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	ret = svm_qmp_connect(longp, 1000, &q, err, sizeof(err));
	ok(ret == -ENAMETOOLONG && !q && strstr(err, "longer than"),
	   "socket path of 199 bytes refused: %s", err);
	ret = svm_qmp_connect(tpath("nobody-here"), 1000, &q, err, sizeof(err));
	ok(ret == -ENOENT && strstr(err, "nobody-here"),
	   "missing socket: %d: %s", ret, err);

	fake_start(&f, "silent.sock", fs_silent);
	t = now_ms();
	ret = svm_qmp_connect(f.path, 300, &q, err, sizeof(err));
	t = now_ms() - t;
	ok(ret == -ETIMEDOUT && !q && strstr(err, "no QMP greeting within 300 ms") &&
	   t >= 290 && t < 3000,
	   "no greeting: -ETIMEDOUT after %.0f ms: %s", t, err);
	fake_end(&f);

	fake_start(&f, "badgreet.sock", fs_bad_greeting);
	ret = svm_qmp_connect(f.path, 2000, &q, err, sizeof(err));
	ok(ret == -EPROTO && strstr(err, "no greeting"),
	   "a greeting that is not one: %d: %s", ret, err);
	fake_end(&f);
}

static void test_timeouts(void)
{
	struct svm_qmp *q;
	char err[256], status[32];
	bool running = false;
	struct fake f;
	double t;
	int ret;

	q = fake_connect(fake_start(&f, "hangs.sock", fs_hangs));
	ok(q && !strcmp(svm_qmp_version(q), "9.2.0") &&
	   svm_qmp_get_timeout(q) == 5000,
	   "connected to a fake: version %s, timeout %d ms",
	   q ? svm_qmp_version(q) : "-", q ? svm_qmp_get_timeout(q) : 0);
	if (q) {
		int fl = fcntl(svm_qmp_fd(q), F_GETFD);

		ok(fl >= 0 && (fl & FD_CLOEXEC), "the socket is close-on-exec");
		svm_qmp_set_timeout(q, 300);
		t = now_ms();
		ret = svm_qmp_stop(q, err, sizeof(err));
		t = now_ms() - t;
		ok(ret == -ETIMEDOUT && strstr(err, "svm-qmp: stop: no reply within 300 ms") &&
		   t >= 290 && t < 3000,
		   "no reply: -ETIMEDOUT after %.0f ms: %s", t, err);
		svm_qmp_set_timeout(q, 0);
		ok(svm_qmp_get_timeout(q) == SVM_QMP_DEFAULT_TIMEOUT_MS,
		   "timeout 0 restores the default (%d ms)", svm_qmp_get_timeout(q));
	}
	svm_qmp_close(q);
	fake_end(&f);

	q = fake_connect(fake_start(&f, "late.sock", fs_late));
	if (q) {
		svm_qmp_set_timeout(q, 200);
		ret = svm_qmp_query_status(q, &running, status, sizeof(status),
					   err, sizeof(err));
		ok(ret == -ETIMEDOUT, "first query-status times out: %s", err);
		svm_qmp_set_timeout(q, 5000);
		ret = svm_qmp_query_status(q, &running, status, sizeof(status),
					   err, sizeof(err));
		ok(!ret && running && !strcmp(status, "running"),
		   "after a timeout the late reply is discarded by id: %d %s %s",
		   ret, running ? "running" : "not running", ret ? err : status);
	}
	svm_qmp_close(q);
	fake_end(&f);
}

static void test_garbage(void)
{
	struct svm_qmp *q;
	char err[256], *text = NULL;
	struct fake f;
	int ret;

	q = fake_connect(fake_start(&f, "garbage.sock", fs_garbage));
	if (q) {
		ret = svm_qmp_stop(q, err, sizeof(err));
		ok(ret == -EPROTO && strstr(err, "svm-qmp: stop: not QMP: not JSON"),
		   "garbage: -EPROTO: %s", err);
		ret = svm_qmp_cont(q, err, sizeof(err));
		ok(ret == -EPROTO && strstr(err, "svm-qmp: cont: connection unusable: not QMP"),
		   "and the handle refuses further commands: %s", err);
	}
	svm_qmp_close(q);
	fake_end(&f);

	q = fake_connect(fake_start(&f, "array.sock", fs_array));
	if (q) {
		ret = svm_qmp_stop(q, err, sizeof(err));
		ok(ret == -EPROTO && strstr(err, "a JSON array, not an object"),
		   "a JSON array: -EPROTO: %s", err);
	}
	svm_qmp_close(q);
	fake_end(&f);

	q = fake_connect(fake_start(&f, "big.sock", fs_big));
	if (q) {
		svm_qmp_set_max_reply(q, 64 * KiB);
		ret = svm_qmp_hmp(q, "info big", &text, err, sizeof(err));
		ok(!ret && text && strlen(text) == 48 * KiB &&
		   strspn(text, "x") == 48 * KiB,
		   "a 48 KiB reply under a 64 KiB cap: %d, %zu bytes", ret,
		   text ? strlen(text) : 0);
		free(text);
		ret = svm_qmp_hmp(q, "info bigger", &text, err, sizeof(err));
		ok(ret == -EMSGSIZE && !text && strstr(err, "longer than 65536 bytes"),
		   "a 200 KiB reply over the cap: -EMSGSIZE: %s", err);
	}
	svm_qmp_close(q);
	fake_end(&f);

	q = fake_connect(fake_start(&f, "noid.sock", fs_error_noid));
	if (q) {
		ret = svm_qmp_stop(q, err, sizeof(err));
		ok(ret == -EIO && !strcmp(err, "svm-qmp: stop: GenericError: JSON parse error, invalid keyword") &&
		   !strcmp(svm_qmp_error_class(q), "GenericError"),
		   "an error without id answers the command: %s", err);
	}
	svm_qmp_close(q);
	fake_end(&f);
}

static void test_framing(void)
{
	json_object *ev = NULL, *data;
	char err[256], status[32];
	bool running = true;
	struct svm_qmp *q;
	struct fake f;
	int ret;

	q = fake_connect(fake_start(&f, "split.sock", fs_split));
	if (q) {
		ret = svm_qmp_query_status(q, &running, status, sizeof(status),
					   err, sizeof(err));
		ok(!ret && !running && !strcmp(status, "paused") &&
		   svm_qmp_events_pending(q) == 1,
		   "a reply split over 3-byte writes after an event: %s, %u event queued",
		   ret ? err : status, svm_qmp_events_pending(q));
		ret = svm_qmp_query_status(q, &running, status, sizeof(status),
					   err, sizeof(err));
		ok(!ret && running && !strcmp(status, "running") &&
		   svm_qmp_events_pending(q) == 3,
		   "events, a stray reply and the reply in one write: %s, %u events queued",
		   ret ? err : status, svm_qmp_events_pending(q));
		ret = svm_qmp_wait_event(q, "BLOCK_JOB_READY", 1, &ev, err, sizeof(err));
		ok(!ret && ev && json_object_object_get_ex(ev, "data", &data) &&
		   json_object_object_get_ex(data, "device", &data) &&
		   !strcmp(json_object_get_string(data), "j0") &&
		   svm_qmp_events_pending(q) == 2,
		   "a queued event taken out of order with its data: %s",
		   ret ? err : json_object_to_json_string(ev));
		json_object_put(ev);
		ret = svm_qmp_wait_event(q, "STOP", 1, NULL, err, sizeof(err));
		ok(!ret && svm_qmp_events_pending(q) == 1,
		   "the STOP event that came before the reply is queued");
	}
	svm_qmp_close(q);
	fake_end(&f);

	q = fake_connect(fake_start(&f, "wrongid.sock", fs_wrong_id));
	if (q) {
		ret = svm_qmp_query_status(q, &running, status, sizeof(status),
					   err, sizeof(err));
		ok(!ret && running && !strcmp(status, "running") &&
		   !svm_qmp_error_class(q)[0],
		   "replies with a wrong id (number, string) skipped: %s",
		   ret ? err : status);
		svm_qmp_set_timeout(q, 200);
		ret = svm_qmp_cont(q, err, sizeof(err));
		ok(ret == -ETIMEDOUT,
		   "only a wrong id: -ETIMEDOUT: %s", err);
	}
	svm_qmp_close(q);
	fake_end(&f);

	q = fake_connect(fake_start(&f, "flood.sock", fs_flood));
	if (q) {
		unsigned int pending;
		double t;

		ret = svm_qmp_stop(q, err, sizeof(err));
		ok(!ret && svm_qmp_events_pending(q) == SVM_QMP_MAX_EVENTS &&
		   svm_qmp_events_dropped(q) == 100 - SVM_QMP_MAX_EVENTS,
		   "100 events before a reply: %u queued, %lu dropped",
		   svm_qmp_events_pending(q), svm_qmp_events_dropped(q));
		ret = svm_qmp_wait_event(q, "E99", 1, NULL, err, sizeof(err)) ||
		      svm_qmp_wait_event(q, "E36", 1, NULL, err, sizeof(err));
		ok(!ret && svm_qmp_events_pending(q) == SVM_QMP_MAX_EVENTS - 2,
		   "the newest and the oldest kept are there");
		t = now_ms();
		ret = svm_qmp_wait_event(q, "E35", 150, NULL, err, sizeof(err));
		t = now_ms() - t;
		ok(ret == -ETIMEDOUT && strstr(err, "no E35 event within 150 ms") &&
		   t >= 140,
		   "a dropped one is not: %.0f ms: %s", t, err);
		svm_qmp_clear_events(q);
		ret = svm_qmp_cont(q, err, sizeof(err));
		pending = svm_qmp_events_pending(q);
		t = now_ms();
		if (!ret)
			ret = svm_qmp_wait_event(q, "STOP", 5000, &ev, err, sizeof(err));
		t = now_ms() - t;
		ok(!ret && ev && !pending && svm_qmp_events_pending(q) == 0,
		   "an event arriving later is waited for (%.0f ms): %s", t,
		   ret ? err : json_object_to_json_string(ev));
		json_object_put(ev);
	}
	svm_qmp_close(q);
	fake_end(&f);
}

static void test_hangup(void)
{
	struct pollfd pfd;
	char err[256];
	struct svm_qmp *q;
	struct fake f;
	int ret;

	q = fake_connect(fake_start(&f, "closemid.sock", fs_close_mid));
	if (q) {
		ret = svm_qmp_stop(q, err, sizeof(err));
		ok(ret == -ECONNRESET &&
		   strstr(err, "svm-qmp: stop: QEMU closed the connection in the middle of a message"),
		   "closed in the middle of a reply: -ECONNRESET: %s", err);
		ret = svm_qmp_stop(q, err, sizeof(err));
		ok(ret == -ECONNRESET && strstr(err, "connection unusable: QEMU closed"),
		   "and stays so: %s", err);
	}
	svm_qmp_close(q);
	fake_end(&f);

	q = fake_connect(fake_start(&f, "closeearly.sock", fs_close_early));
	if (q) {
		/* wait for the hangup, then send into it: no SIGPIPE */
		pfd.fd = svm_qmp_fd(q);
		pfd.events = POLLIN;
		poll(&pfd, 1, 5000);
		ret = svm_qmp_cont(q, err, sizeof(err));
		ok((ret == -EPIPE || ret == -ECONNRESET) &&
		   strstr(err, "svm-qmp: cont: QEMU closed the connection"),
		   "sending after the server closed: %d, no SIGPIPE: %s", ret, err);
	}
	svm_qmp_close(q);
	fake_end(&f);
}

static void test_encoding(void)
{
	const char *line = "qemu-io d0 \"write -P 0xab 0 4k\" \\ caf\xc3\xa9 \t{}";
	char err[256], *text = NULL;
	json_object *args, *ret_obj = NULL;
	struct svm_qmp *q;
	struct fake f;
	int ret;

	q = fake_connect(fake_start(&f, "echo.sock", fs_echo));
	if (q) {
		ret = svm_qmp_hmp(q, line, &text, err, sizeof(err));
		ok(!ret && text && !strcmp(text, line),
		   "an HMP command line with quotes, backslash, UTF-8, tab goes and comes back intact: %s",
		   ret ? err : text);
		free(text);
		args = json_object_new_object();
		json_object_object_add(args, "command-line", json_object_new_string("x"));
		ret = svm_qmp_execute(q, "human-monitor-command", args, &ret_obj,
				      err, sizeof(err));
		ok(!ret && ret_obj && !strcmp(json_object_get_string(ret_obj), "x") &&
		   json_object_get_type(args) == json_type_object,
		   "svm_qmp_execute() with arguments; the caller keeps args");
		json_object_put(ret_obj);
		json_object_put(args);
	}
	svm_qmp_close(q);
	fake_end(&f);
}

/* --- Real QEMU ------------------------------------------------------------------ */

static char img_path[sizeof(tmpdir) + 16];
static off_t out_seen;

/* What QEMU printed on its stdout since the last call (malloc()ed). */
static char *qemu_new_output(void)
{
	int fd = open(tpath("qemu.out"), O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *s;
	ssize_t n = 0;

	if (fd < 0 || fstat(fd, &st)) {
		s = strdup("");
	} else {
		s = calloc(1, st.st_size - out_seen + 1);
		if (s && st.st_size > out_seen)
			n = pread(fd, s, st.st_size - out_seen, out_seen);
		if (n > 0)
			out_seen += n;
	}
	if (fd >= 0)
		close(fd);
	return s;
}

static void qemu_diag_stderr(void)
{
	char buf[2048];
	int fd = open(tpath("qemu.err"), O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (n > 0) {
		buf[n] = 0;
		diag("qemu stderr: %s", buf);
	}
	if (fd >= 0)
		close(fd);
}

/* Where QEMU's threads are (for a QEMU that does not answer). */
static void qemu_diag_threads(void)
{
	char path[320], line[256], wchan[64], sc[128];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)qemu_pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		line[0] = wchan[0] = sc[0] = 0;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)qemu_pid, de->d_name);
		f = fopen(path, "re");
		if (f && fgets(line, sizeof(line), f))
			line[strcspn(line, "\n")] = 0;
		if (f)
			fclose(f);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/wchan", (int)qemu_pid, de->d_name);
		f = fopen(path, "re");
		if (f && fgets(wchan, sizeof(wchan), f))
			wchan[strcspn(wchan, "\n")] = 0;
		if (f)
			fclose(f);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/syscall", (int)qemu_pid, de->d_name);
		f = fopen(path, "re");
		if (f && fgets(sc, sizeof(sc), f))
			sc[strcspn(sc, "\n")] = 0;
		if (f)
			fclose(f);
		diag("qemu thread %s (%s): wchan %s, syscall %s", de->d_name, line, wchan, sc);
	}
	if (d)
		closedir(d);
}

static bool qemu_found(void)
{
	const char *p = getenv("PATH");
	char dir[4096], exe[4200];

	while (p && *p) {
		size_t n = strcspn(p, ":");

		snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
		snprintf(exe, sizeof(exe), "%s/qemu-system-x86_64", dir);
		if (!access(exe, X_OK))
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

/* Start QEMU on a listening socket made here; returns the socket's path. */
static const char *qemu_start(const char *cache)
{
	const char *sock = tpath("qemu-qmp.sock");
	char chardev[128], drive[512];
	int lfd, out, errfd;

	lfd = listen_at(sock);
	out = open(tpath("qemu.out"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	errfd = open(tpath("qemu.err"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	out_seen = 0;
	snprintf(chardev, sizeof(chardev), "socket,id=qmp,fd=%d,server=on,wait=off", lfd);
	snprintf(drive, sizeof(drive), "if=none,id=d0,file=%s,format=raw,cache=%s",
		 img_path, cache);
	fflush(stdout);
	qemu_pid = fork();
	if (qemu_pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, 0);
		dup2(out, 1);
		dup2(errfd, 2);
		fcntl(lfd, F_SETFD, 0);
		execlp("qemu-system-x86_64", "qemu-system-x86_64",
		       "-machine", "none", "-nodefaults", "-display", "none",
		       "-chardev", chardev, "-mon", "chardev=qmp,mode=control",
		       "-drive", drive, (char *)NULL);
		_exit(127);
	}
	close(lfd);
	close(out);
	close(errfd);
	return sock;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define ROUNDS 50

static void diag_percentiles(const char *what, double *v)
{
	qsort(v, ROUNDS, sizeof(v[0]), cmp_double);
	diag("%s round trip over %d rounds: p50 %.3f ms, p90 %.3f ms, min %.3f ms, max %.3f ms",
	     what, ROUNDS, v[ROUNDS / 2], v[ROUNDS * 9 / 10], v[0], v[ROUNDS - 1]);
}

static void *killer(void *arg)
{
	(void)arg;
	usleep(100 * 1000);
	kill(qemu_pid, SIGKILL);
	return NULL;
}

#define QEMU_TESTS 22

static void test_qemu(void)
{
	char err[256], status[32], *text = NULL, *out;
	json_object *args, *ret_obj = NULL, *ev = NULL;
	double t, rt[ROUNDS], rt_stop[ROUNDS], rt_cont[ROUNDS];
	unsigned char buf[64 * KiB + 1];
	const char *cache = "none", *sock;
	bool running = false;
	struct svm_qmp *q = NULL;
	pthread_t th;
	int ret, fd, i;

	if (!qemu_found()) {
		ok(0, "qemu-system-x86_64 not found: run scripts/setup");
		return;
	}
	snprintf(img_path, sizeof(img_path), "%s/disk.img", tmpdir);
	fd = open(img_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, 1 << 20)) {
		ok(0, "creating %s: %s", img_path, strerror(errno));
		return;
	}
	close(fd);
	fd = open(img_path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		diag("no O_DIRECT on %s (%s): cache=writeback", tmpdir, strerror(errno));
		cache = "writeback";
	} else {
		close(fd);
	}

	sock = qemu_start(cache);
	t = now_ms();
	ret = svm_qmp_connect(sock, 20000, &q, err, sizeof(err));
	t = now_ms() - t;
	if (!ok(!ret && q, "connected to QEMU %s in %.1f ms (greeting, qmp_capabilities)",
		q ? svm_qmp_version(q) : err, t)) {
		qemu_diag_stderr();
		qemu_diag_threads();
		qemu_kill();
		return;
	}
	svm_qmp_set_timeout(q, 10000);

	ret = svm_qmp_query_status(q, &running, status, sizeof(status), err, sizeof(err));
	ok(!ret && running && !strcmp(status, "running"),
	   "query-status: %s", ret ? err : status);

	svm_qmp_clear_events(q);
	ret = svm_qmp_stop(q, err, sizeof(err));
	ok(!ret, "stop: %s", ret ? err : "ok");
	ret = svm_qmp_wait_event(q, "STOP", 5000, &ev, err, sizeof(err));
	ok(!ret && ev && json_object_object_get_ex(ev, "timestamp", NULL),
	   "STOP event: %s", ret ? err : json_object_to_json_string(ev));
	json_object_put(ev);
	ret = svm_qmp_query_status(q, &running, status, sizeof(status), err, sizeof(err));
	ok(!ret && !running && !strcmp(status, "paused"),
	   "query-status after stop: %s", ret ? err : status);
	ret = svm_qmp_cont(q, err, sizeof(err));
	ok(!ret && !svm_qmp_wait_event(q, "RESUME", 5000, NULL, err, sizeof(err)),
	   "cont and its RESUME event: %s", ret ? err : "ok");
	ret = svm_qmp_query_status(q, &running, status, sizeof(status), err, sizeof(err));
	ok(!ret && running && !strcmp(status, "running"),
	   "query-status after cont: %s", ret ? err : status);

	args = json_object_new_object();
	json_object_object_add(args, "path", json_object_new_string("/machine"));
	json_object_object_add(args, "property", json_object_new_string("type"));
	ret = svm_qmp_execute(q, "qom-get", args, &ret_obj, err, sizeof(err));
	ok(!ret && json_object_is_type(ret_obj, json_type_string) &&
	   !strcmp(json_object_get_string(ret_obj), "none-machine"),
	   "qom-get /machine type through svm_qmp_execute(): %s",
	   ret ? err : json_object_get_string(ret_obj));
	json_object_put(ret_obj);
	json_object_put(args);

	ret = svm_qmp_execute(q, "no-such-command", NULL, &ret_obj, err, sizeof(err));
	ok(ret == -EIO && !ret_obj &&
	   strstr(err, "svm-qmp: no-such-command: CommandNotFound: ") &&
	   !strcmp(svm_qmp_error_class(q), "CommandNotFound"),
	   "an unknown command: -EIO: %s", err);
	args = json_object_new_object();
	json_object_object_add(args, "bogus", json_object_new_int(1));
	ret = svm_qmp_execute(q, "stop", args, NULL, err, sizeof(err));
	json_object_put(args);
	ok(ret == -EIO && strstr(err, "svm-qmp: stop: GenericError: ") &&
	   strstr(err, "bogus"),
	   "a bad argument: -EIO: %s", err);

	ret = svm_qmp_hmp(q, "info status", &text, err, sizeof(err));
	ok(!ret && text && strstr(text, "VM status: running"),
	   "HMP info status: %s", ret ? err : flat(text));
	free(text);
	ret = svm_qmp_hmp(q, "frobnicate", &text, err, sizeof(err));
	ok(!ret && text && strstr(text, "unknown command: 'frobnicate'"),
	   "an unknown HMP command comes back as text: %s", ret ? err : flat(text));
	free(text);
	ret = svm_qmp_hmp(q, "qemu-io nosuchdrive \"read 0 4k\"", &text, err, sizeof(err));
	ok(!ret && text && strstr(text, "nosuchdrive"),
	   "qemu-io on a missing drive fails as text: %s", ret ? err : flat(text));
	free(text);

	ret = svm_qmp_hmp(q, "qemu-io d0 \"write -P 0xab 0 64k\"", &text, err, sizeof(err));
	out = qemu_new_output();
	ok(!ret && text && !text[0] && out &&
	   strstr(out, "wrote 65536/65536 bytes at offset 0"),
	   "qemu-io write -P 0xab 0 64k: QEMU's stdout says: %s", flat(out));
	free(text);
	free(out);
	fd = open(img_path, O_RDONLY | O_CLOEXEC);
	memset(buf, 0x55, sizeof(buf));
	ok(fd >= 0 && pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf) &&
	   buf[0] == 0xab && !memcmp(buf, buf + 1, 64 * KiB - 1) &&
	   buf[64 * KiB] == 0,
	   "the image holds 64 KiB of 0xab then zeros (pread)");
	if (fd >= 0)
		close(fd);
	ret = svm_qmp_hmp(q, "qemu-io d0 \"read -P 0xab 0 64k\"", &text, err, sizeof(err));
	out = qemu_new_output();
	ok(!ret && out && strstr(out, "read 65536/65536 bytes at offset 0") &&
	   !strstr(out, "Pattern verification failed"),
	   "qemu-io read -P 0xab: verified: %s", flat(out));
	free(text);
	free(out);
	ret = svm_qmp_hmp(q, "qemu-io d0 \"read -P 0xcd 0 64k\"", &text, err, sizeof(err));
	out = qemu_new_output();
	ok(!ret && out && strstr(out, "Pattern verification failed"),
	   "qemu-io read -P 0xcd: a mismatch shows on QEMU's stdout: %s", flat(out));
	free(text);
	free(out);

	/* the stun-time figure: stop + cont round trips on a kept connection */
	for (i = 0; i < ROUNDS; i++) {
		t = now_ms();
		ret = svm_qmp_stop(q, err, sizeof(err));
		rt_stop[i] = now_ms() - t;
		if (!ret)
			ret = svm_qmp_cont(q, err, sizeof(err));
		rt[i] = now_ms() - t;
		rt_cont[i] = rt[i] - rt_stop[i];
		svm_qmp_clear_events(q);
		if (ret)
			break;
	}
	if (ok(!ret, "%d rounds of stop+cont: %s", ROUNDS, ret ? err : "ok")) {
		diag_percentiles("stop+cont", rt);
		diag_percentiles("stop alone", rt_stop);
		diag_percentiles("cont alone", rt_cont);
	}

	/* a stopped QEMU times out; the late reply is discarded afterwards */
	kill(qemu_pid, SIGSTOP);
	svm_qmp_set_timeout(q, 300);
	t = now_ms();
	ret = svm_qmp_stop(q, err, sizeof(err));
	t = now_ms() - t;
	ok(ret == -ETIMEDOUT && strstr(err, "no reply within 300 ms") && t < 3000,
	   "QEMU stopped (SIGSTOP): -ETIMEDOUT in %.0f ms: %s", t, err);
	kill(qemu_pid, SIGCONT);
	svm_qmp_set_timeout(q, 10000);
	ret = svm_qmp_query_status(q, &running, status, sizeof(status), err, sizeof(err));
	ok(!ret && !running && !strcmp(status, "paused"),
	   "after SIGCONT: the late stop took effect and its reply was skipped: %s",
	   ret ? err : status);

	/* killed during a call */
	pthread_create(&th, NULL, killer, NULL);
	t = now_ms();
	ret = svm_qmp_wait_event(q, "NEVER", 10000, NULL, err, sizeof(err));
	t = now_ms() - t;
	pthread_join(th, NULL);
	ok(ret == -ECONNRESET && strstr(err, "QEMU closed the connection") && t < 5000,
	   "QEMU killed during a wait: -ECONNRESET after %.0f ms: %s", t, err);
	ret = svm_qmp_cont(q, err, sizeof(err));
	ok(ret == -ECONNRESET && strstr(err, "svm-qmp: cont: connection unusable"),
	   "and later calls fail cleanly: %s", err);
	svm_qmp_close(q);
	qemu_kill();
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/var/tmp/svm-qmp.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp %s: %s\n", tmpdir, strerror(errno));
		return 1;
	}
	atexit(cleanup);

	tap_plan(4 + 6 + 6 + 10 + 3 + 2 + QEMU_TESTS);
	test_connect_refusals();
	test_timeouts();
	test_garbage();
	test_framing();
	test_hangup();
	test_encoding();
	test_qemu();
	cleanup();
	return tap_done();
}
