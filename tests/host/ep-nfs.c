// SPDX-License-Identifier: GPL-2.0
/*
 * ep-nfs.c - the NFS endpoint (lib/svm-ep-nfs.c) against servers that are
 * not NFS servers, so that no NFS server is needed: a port nobody listens
 * on fails at once with -ECONNREFUSED naming server and port; a listener
 * that accepts and never answers, and one whose accept queue is full (the
 * SYN is dropped: the TCP connect itself hangs), fail within the timeout
 * with -ETIMEDOUT; a server that closes the connection at once fails at
 * once; malformed URLs are refused by the parser with -EINVAL. NFSv4 goes
 * to the URL's port (2049 by default); NFSv3 asks the portmapper on port
 * 111 first, whatever the port: those cases run where port 111 is free
 * (and, to listen on it, as root). No file descriptor is left open, and
 * tests/run-tests runs this under ASan/UBSan and valgrind too.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "svm-ep.h"
#include "tap.h"

#define LOCALHOST "127.0.0.1"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the DIR's own */
}

/* A TCP socket on 127.0.0.1:port (0: any), listening with backlog. */
static int listener(int port, int backlog, int *bound)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, LOCALHOST, &sin.sin_addr);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(fd, backlog) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len)) {
		close(fd);
		return -1;
	}
	*bound = ntohs(sin.sin_port);
	return fd;
}

/* A port nobody listens on: bound once, closed. */
static int free_port(void)
{
	int port = 0, fd = listener(0, 1, &port);

	if (fd < 0)
		return 0;
	close(fd);
	return port;
}

static int connect_to(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, LOCALHOST, &sin.sin_addr);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Is anything listening on 127.0.0.1:port? */
static bool listening(int port)
{
	int fd = connect_to(port);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

struct attempt {
	int ret;
	double secs;
	char err[512];
	struct svm_ep *ep;
};

static void try_open(const char *url, int timeout_ms, struct attempt *a)
{
	struct svm_ep_params p = { .timeout_ms = timeout_ms };
	double t0 = now();

	a->err[0] = 0;
	a->ret = svm_ep_open(url, SVM_EP_WRITE, &p, &a->ep, a->err,
			     sizeof(a->err));
	a->secs = now() - t0;
	if (a->ep) {
		svm_ep_close(a->ep);
		a->ep = NULL;
		a->ret = 0;
	}
}

static bool has(const char *s, const char *what)
{
	return strstr(s, what) != NULL;
}

static void test_refused(void)
{
	char url[256], port_s[32];
	struct attempt a;
	int port = free_port();

	snprintf(url, sizeof(url), "nfs://" LOCALHOST ":%d/export/disk.img?version=4",
		 port);
	snprintf(port_s, sizeof(port_s), "port %d", port);
	try_open(url, 5000, &a);
	ok(a.ret == -ECONNREFUSED && a.secs < 1.0 && has(a.err, LOCALHOST) &&
	   has(a.err, port_s) && has(a.err, "refused") && has(a.err, url),
	   "NFSv4, nothing on port %d: -ECONNREFUSED at once (%.3f s): %s",
	   port, a.secs, a.err);
}

/* NFSv3 asks the portmapper first: refused there when nobody is on 111. */
static void test_refused_v3(void)
{
	char url[256];
	struct attempt a;
	int i, port = free_port();

	if (listening(111)) {
		for (i = 0; i < 2; i++)
			ok(1, "# SKIP something listens on port 111 here");
		return;
	}
	for (i = 0; i < 2; i++) {
		if (i)
			snprintf(url, sizeof(url),
				 "nfs://" LOCALHOST ":%d/export/disk.img", port);
		else
			snprintf(url, sizeof(url),
				 "nfs://" LOCALHOST "/export/disk.img?version=3");
		try_open(url, 5000, &a);
		ok(a.ret == -ECONNREFUSED && a.secs < 1.0 &&
		   has(a.err, LOCALHOST " port 111 (portmapper)") &&
		   has(a.err, "refused"),
		   "NFSv3%s, nothing on port 111: -ECONNREFUSED at the portmapper at once (%.3f s): %s",
		   i ? " with an NFS port" : "", a.secs, a.err);
	}
}

/* Accepts (the kernel does, from the listen queue) and never answers. */
static void test_silent(void)
{
	char url[256], port_s[32];
	struct attempt a;
	int port = 0, fd = listener(0, 16, &port);

	snprintf(url, sizeof(url), "nfs://" LOCALHOST ":%d/export/disk.img?version=4",
		 port);
	snprintf(port_s, sizeof(port_s), "port %d", port);
	try_open(url, 1000, &a);
	ok(fd >= 0 && a.ret == -ETIMEDOUT && a.secs >= 0.9 && a.secs < 3.0 &&
	   has(a.err, port_s) && has(a.err, "did not answer within 1000 ms"),
	   "NFSv4, a listener that never answers: -ETIMEDOUT in %.3f s (timeout 1 s): %s",
	   a.secs, a.err);
	if (fd >= 0)
		close(fd);
}

/* The same on the portmapper's port, for NFSv3 (needs port 111). */
static void test_silent_v3(void)
{
	struct attempt a;
	int port = 0, fd = -1;

	if (!listening(111))
		fd = listener(111, 16, &port);
	if (fd < 0) {
		ok(1, "# SKIP cannot listen on port 111 (in use, or not root)");
		return;
	}
	try_open("nfs://" LOCALHOST "/export/disk.img", 1000, &a);
	ok(a.ret == -ETIMEDOUT && a.secs >= 0.9 && a.secs < 3.0 &&
	   has(a.err, "port 111 (portmapper)") && has(a.err, "did not answer"),
	   "NFSv3, a portmapper that never answers: -ETIMEDOUT in %.3f s: %s",
	   a.secs, a.err);
	close(fd);
}

/*
 * A listener whose accept queue is full: Linux drops the SYN, so the
 * connect itself never completes (no RPC is sent at all).
 */
static void test_syn_dropped(void)
{
	char url[256], port_s[32];
	struct attempt a;
	int port = 0, fd = listener(0, 0, &port), c1 = -1;

	if (fd >= 0)
		c1 = connect_to(port);	/* backlog 0 holds one: full */
	snprintf(url, sizeof(url), "nfs://" LOCALHOST ":%d/export/disk.img?version=4",
		 port);
	snprintf(port_s, sizeof(port_s), "port %d", port);
	try_open(url, 1000, &a);
	ok(fd >= 0 && c1 >= 0 && a.ret == -ETIMEDOUT && a.secs >= 0.9 &&
	   a.secs < 3.0 && has(a.err, port_s) &&
	   (has(a.err, "cannot connect") || has(a.err, "did not answer")),
	   "NFSv4, the SYN dropped (accept queue full): -ETIMEDOUT in %.3f s: %s",
	   a.secs, a.err);
	if (c1 >= 0)
		close(c1);
	if (fd >= 0)
		close(fd);
}

struct closer {
	int fd;
	pthread_t t;
};

/* Accept every connection and close it at once. */
static void *closer_main(void *arg)
{
	struct closer *c = arg;
	int s;

	while ((s = accept(c->fd, NULL, NULL)) >= 0)
		close(s);
	return NULL;
}

static void test_closed_at_once(void)
{
	struct closer c = { .fd = -1 };
	char url[256], port_s[32];
	struct attempt a;
	int port = 0, ret = -1;

	c.fd = listener(0, 16, &port);
	if (c.fd >= 0)
		ret = pthread_create(&c.t, NULL, closer_main, &c);
	snprintf(url, sizeof(url), "nfs://" LOCALHOST ":%d/export/disk.img?version=4",
		 port);
	snprintf(port_s, sizeof(port_s), "port %d", port);
	try_open(url, 5000, &a);
	ok(!ret && a.ret < 0 && a.ret != -ETIMEDOUT && a.secs < 1.0 &&
	   has(a.err, LOCALHOST) && has(a.err, port_s),
	   "NFSv4, a server that closes every connection: fails at once (%s, %.3f s): %s",
	   strerror(-a.ret), a.secs, a.err);
	if (!ret) {
		shutdown(c.fd, SHUT_RDWR);	/* ends accept() */
		pthread_join(c.t, NULL);
	}
	if (c.fd >= 0)
		close(c.fd);
}

static void test_bad_urls(void)
{
	static const char *const bad[] = {
		"nfs://",
		"nfs://" LOCALHOST,
		"nfs://" LOCALHOST "/",
		"nfs://" LOCALHOST "/disk.img",
		"nfs://" LOCALHOST "/export/disk.img?version=2",
		"nfs://" LOCALHOST "/export/disk.img?vers=4",
		"nfs://" LOCALHOST ":99999/export/disk.img",
		"nfs://" LOCALHOST "/export/../disk.img",
	};
	struct svm_ep *ep;
	char err[512];
	size_t i;
	int ret;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		double t0 = now();

		err[0] = 0;
		ep = NULL;
		ret = svm_ep_nfs_open(bad[i], 0, NULL, &ep, err, sizeof(err));
		ok(ret == -EINVAL && !ep && err[0] && now() - t0 < 0.5,
		   "malformed %s: -EINVAL from the parser: %s", bad[i], err);
		if (ep)
			svm_ep_close(ep);
	}
	err[0] = 0;
	ret = svm_ep_nfs_open("iscsi://" LOCALHOST "/iqn.2000-01.org.example:t/0",
			      0, NULL, &ep, err, sizeof(err));
	ok(ret == -EINVAL && !ep && err[0],
	   "an iscsi:// URL given to the NFS endpoint: -EINVAL: %s", err);
}

int main(void)
{
	int fds = open_fds();

	tap_plan(1 + 2 + 1 + 1 + 1 + 1 + 8 + 1 + 1);
	test_refused();
	test_refused_v3();
	test_silent();
	test_silent_v3();
	test_syn_dropped();
	test_closed_at_once();
	test_bad_urls();
	ok(open_fds() == fds, "no file descriptor left open (%d before, %d after)",
	   fds, open_fds());
	return tap_done();
}
