// SPDX-License-Identifier: GPL-2.0
/*
 * ep-iscsi - host tests of lib/svm-ep-iscsi (the iscsi:// endpoint) without
 * an iSCSI target: malformed URLs, a portal nobody listens on (refused at
 * once), a listener that never answers (bounded by the timeout), one that
 * closes at once, a fake target rejecting the login (target not found,
 * authentication failure), no fd left open; and the SG_IO transport of
 * lib/svm-xcopy refusing a regular file. tests/guest/83-ep-iscsi.sh covers
 * a real target (LIO).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "svm-ep.h"
#include "svm-ep-iscsi.h"
#include "svm-xcopy.h"
#include "tap.h"

#define IQN "iqn.2026-12.org.svmotion:test"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* A listening socket on 127.0.0.1, its port in *port. */
static int listener(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(fd, 4) || getsockname(fd, (struct sockaddr *)&a, &len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* A port on 127.0.0.1 where nothing listens (bound, then closed). */
static int free_port(void)
{
	int port = 0, fd = listener(&port);

	if (fd < 0)
		return -1;
	close(fd);
	return port;
}

/* --- A fake target, one connection in a thread ---------------------------- */

enum fake_mode {
	FAKE_SILENT,		/* accept, never answer */
	FAKE_CLOSE,		/* accept, close at once */
	FAKE_REJECT,		/* answer the login with status */
};

struct fake {
	int lfd;
	enum fake_mode mode;
	uint16_t status;	/* FAKE_REJECT: class << 8 | detail */
	pthread_t thread;
	int got_login;		/* a login request arrived */
};

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

/* Read until the client goes away. */
static void drain(int fd)
{
	char buf[512];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void *fake_run(void *arg)
{
	struct fake *f = arg;
	uint8_t hdr[48], rsp[48] = { 0 }, data[8192];
	int c = accept(f->lfd, NULL, NULL);
	size_t dlen;

	if (c < 0)
		return NULL;
	if (f->mode == FAKE_CLOSE) {
		close(c);
		return NULL;
	}
	if (read_full(c, hdr, sizeof(hdr)) == 0 && (hdr[0] & 0x3f) == 0x03) {
		f->got_login = 1;
		dlen = ((size_t)hdr[5] << 16 | hdr[6] << 8 | hdr[7]);
		dlen = (dlen + 3) & ~(size_t)3;
		if (dlen <= sizeof(data) && read_full(c, data, dlen) == 0 &&
		    f->mode == FAKE_REJECT) {
			rsp[0] = 0x23;		/* login response */
			memcpy(rsp + 16, hdr + 16, 4);	/* initiator task tag */
			rsp[36] = f->status >> 8;
			rsp[37] = f->status & 0xff;
			if (send(c, rsp, sizeof(rsp), MSG_NOSIGNAL) !=
			    sizeof(rsp))
				f->got_login = -1;
		}
	}
	drain(c);
	close(c);
	return NULL;
}

static int fake_start(struct fake *f, enum fake_mode mode, uint16_t status,
		      int *port)
{
	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->status = status;
	f->lfd = listener(port);
	if (f->lfd < 0)
		return -1;
	if (pthread_create(&f->thread, NULL, fake_run, f)) {
		close(f->lfd);
		return -1;
	}
	return 0;
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->lfd);
}

/* --- A fake target that logs in and emulates a small disk ---------------- */

#define FT_BLOCKS	16384		/* 8 MiB of 512-byte blocks */
#define FT_SLOTS	256
#define FT_MAX_XFER	2048		/* blocks: 1 MiB */
#define FT_MAX_WS	1024
#define FT_CHUNK	128		/* GET LBA STATUS granule, blocks */

struct ft_write {			/* a write waiting for its data-out */
	bool used;
	uint32_t itt, len, got;
	uint8_t cdb[16];
	uint8_t *buf;
};

struct ftgt {
	int lfd, port;
	pthread_t thread;
	uint8_t *disk;
	/* set before ft_start */
	int pdt, wp, lbprz, nluns;
	/* knobs, changed while it runs */
	_Atomic int stop;
	_Atomic int stall;		/* read SCSI commands, answer none */
	_Atomic int down;		/* drop the connection, refuse new ones */
	_Atomic int drop_after;		/* close after N more commands (-1) */
	_Atomic int ua_count;		/* UNIT ATTENTION to the next N */
	_Atomic int fail_count;		/* fail the next N READ/WRITE(16) */
	_Atomic int fail_sense;		/* key << 16 | asc << 8 | ascq */
	_Atomic int close_on_r2t;	/* close once the next R2T is sent */
	_Atomic int conns;		/* connections served */
	_Atomic int cmds;		/* SCSI commands seen */
	/* the connection */
	uint32_t statsn, expcmdsn;
	struct ft_write w[FT_SLOTS];
};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static int ft_send(int c, uint8_t *h, const void *data, uint32_t len)
{
	static const uint8_t pad[4];

	h[5] = len >> 16;
	h[6] = len >> 8;
	h[7] = len;
	if (send(c, h, 48, MSG_NOSIGNAL) != 48 ||
	    (len && send(c, data, len, MSG_NOSIGNAL) != (ssize_t)len) ||
	    ((len & 3) &&
	     send(c, pad, 4 - (len & 3), MSG_NOSIGNAL) != 4 - (len & 3)))
		return -1;
	return 0;
}

/* The sequence numbers every target PDU carries. */
static void ft_serials(struct ftgt *t, uint8_t *h, bool statsn)
{
	put32(h + 24, statsn ? t->statsn++ : t->statsn);
	put32(h + 28, t->expcmdsn);
	put32(h + 32, t->expcmdsn + 63);
}

/* The value of key in a login or text data segment, or NULL. */
static const char *ft_key(const uint8_t *data, uint32_t len, const char *key)
{
	size_t kl = strlen(key);
	uint32_t o = 0;

	while (o < len) {
		const char *p = (const char *)data + o;
		size_t n = strnlen(p, len - o);

		if (n > kl && !strncmp(p, key, kl) && p[kl] == '=')
			return p + kl + 1;
		o += n + 1;
	}
	return NULL;
}

/*
 * Log in at once (no authentication); like LIO, a normal session for
 * another target name is refused with "service unavailable".
 */
static int ft_login(struct ftgt *t, int c, const uint8_t *req,
		    uint8_t *data, uint32_t dlen)
{
	static const char keys[] =
		"HeaderDigest=None\0DataDigest=None\0"
		"MaxRecvDataSegmentLength=262144\0ImmediateData=No\0"
		"InitialR2T=Yes\0MaxBurstLength=16776192\0"
		"FirstBurstLength=262144\0";
	const char *type, *name;
	uint8_t h[48] = { 0x23 };

	if (dlen)
		data[dlen - 1] = 0;
	type = ft_key(data, dlen, "SessionType");
	name = ft_key(data, dlen, "TargetName");
	memcpy(h + 8, req + 8, 6);		/* ISID */
	memcpy(h + 16, req + 16, 4);		/* ITT */
	t->expcmdsn = get32(req + 24);
	if ((!type || strcmp(type, "Discovery")) && name && strcmp(name, IQN)) {
		ft_serials(t, h, true);
		h[36] = 3;
		h[37] = 1;
		ft_send(c, h, NULL, 0);
		return -1;
	}
	h[1] = 0x80 | (req[1] & 0x0c) | 3;	/* transit to full feature */
	h[15] = 1;				/* TSIH */
	ft_serials(t, h, true);
	return ft_send(c, h, keys, sizeof(keys) - 1);
}

/* SendTargets=All */
static int ft_text(struct ftgt *t, int c, const uint8_t *req)
{
	uint8_t h[48] = { 0x24, 0x80 };
	char d[256];
	int n;

	n = snprintf(d, sizeof(d), "TargetName=%s%cTargetAddress=127.0.0.1:%d,1",
		     IQN, 0, t->port);
	memcpy(h + 16, req + 16, 4);
	put32(h + 20, 0xffffffff);
	ft_serials(t, h, true);
	return ft_send(c, h, d, (uint32_t)n + 1);
}

static int ft_status(struct ftgt *t, int c, const uint8_t *req, int status,
		     int sense)
{
	uint8_t h[48] = { 0x21, 0x80 }, sb[20] = { 0 };

	h[3] = status;
	memcpy(h + 16, req + 16, 4);
	ft_serials(t, h, true);
	if (status != 2)
		return ft_send(c, h, NULL, 0);
	sb[1] = 18;
	sb[2] = 0x70;
	sb[4] = sense >> 16;
	sb[9] = 10;
	sb[14] = sense >> 8;
	sb[15] = sense;
	return ft_send(c, h, sb, sizeof(sb));
}

#define CC(t, c, req, key, asc, ascq) \
	ft_status(t, c, req, 2, (key) << 16 | (asc) << 8 | (ascq))

/* Data-in of len bytes (at most alloc), in PDUs of 256 KiB, status GOOD. */
static int ft_datain(struct ftgt *t, int c, const uint8_t *req,
		     const uint8_t *data, uint32_t len)
{
	uint32_t alloc = get32(req + 20), off = 0, sn = 0;

	if (len > alloc)
		len = alloc;
	do {
		uint8_t h[48] = { 0x25 };
		uint32_t n = len - off < (256u << 10) ? len - off : 256u << 10;
		bool last = off + n == len;

		memcpy(h + 16, req + 16, 4);
		put32(h + 20, 0xffffffff);
		ft_serials(t, h, last);
		put32(h + 36, sn++);
		put32(h + 40, off);
		if (last) {
			h[1] = 0x81;			/* F, S */
			if (alloc > len) {
				h[1] |= 0x02;		/* underflow */
				put32(h + 44, alloc - len);
			}
		}
		if (ft_send(c, h, data + off, n))
			return -1;
		off += n;
	} while (off < len);
	return 0;
}

static int ft_inquiry(struct ftgt *t, int c, const uint8_t *req,
		      const uint8_t *cdb)
{
	uint8_t d[64] = { 0 };
	uint32_t len;

	if (!(cdb[1] & 1)) {
		d[0] = t->pdt;
		d[2] = 6;
		d[3] = 2;
		d[4] = 31;
		memcpy(d + 8, "SVMFAKE fake disk       0001", 28);
		return ft_datain(t, c, req, d, 36);
	}
	d[1] = cdb[2];
	switch (cdb[2]) {
	case 0x00:
		d[3] = 4;
		d[4] = 0x00;
		d[5] = 0x83;
		d[6] = 0xb0;
		d[7] = 0xb2;
		len = 8;
		break;
	case 0x83:
		d[3] = 20;
		d[4] = 0x01;
		d[5] = 0x03;
		d[7] = 16;
		memcpy(d + 8, "\x60\x01\x40\x5f\x1f\x2e\x3d\x4c"
		       "\x00\x11\x22\x33\x44\x55\x66\x77", 16);
		len = 24;
		break;
	case 0xb0:
		d[3] = 0x3c;
		put32(d + 8, FT_MAX_XFER);
		put32(d + 12, 256);
		put32(d + 20, 2048);
		put32(d + 24, 1);
		put32(d + 28, 1);
		put32(d + 40, FT_MAX_WS);
		len = 64;
		break;
	case 0xb2:
		d[3] = 4;
		d[5] = 0x80 | 0x40 | (t->lbprz ? 0x04 : 0);
		d[6] = 2;
		len = 8;
		break;
	default:
		return CC(t, c, req, 5, 0x24, 0);
	}
	return ft_datain(t, c, req, d, len);
}

/* GET LBA STATUS: the granule at lba, deallocated when it is all zeros. */
static int ft_lba_status(struct ftgt *t, int c, const uint8_t *req,
			 uint64_t lba)
{
	uint8_t d[24] = { 0 };
	uint64_t first = lba / FT_CHUNK * FT_CHUNK;
	const uint8_t *p = t->disk + first * 512;
	bool zero = true;

	for (size_t i = 0; i < FT_CHUNK * 512 && zero; i++)
		zero = !p[i];
	put32(d, 20);
	put32(d + 8, (uint32_t)(first >> 32));
	put32(d + 12, (uint32_t)first);
	put32(d + 16, FT_CHUNK);
	d[20] = zero ? 1 : 0;
	return ft_datain(t, c, req, d, sizeof(d));
}

/* A command with data-out: ask for it all (R2T) and keep it. */
static int ft_want_data(struct ftgt *t, int c, const uint8_t *req)
{
	uint32_t len = get32(req + 20);
	uint8_t h[48] = { 0x31, 0x80 };
	int i;

	for (i = 0; i < FT_SLOTS && t->w[i].used; i++)
		;
	if (i == FT_SLOTS || len > (16u << 20))
		return ft_status(t, c, req, 0x28, 0);	/* TASK SET FULL */
	t->w[i].buf = calloc(1, len ? len : 1);
	if (!t->w[i].buf)
		return -1;
	t->w[i].used = true;
	t->w[i].itt = get32(req + 16);
	t->w[i].len = len;
	t->w[i].got = 0;
	memcpy(t->w[i].cdb, req + 32, 16);
	memcpy(h + 16, req + 16, 4);
	put32(h + 20, i + 1);			/* target transfer tag */
	ft_serials(t, h, false);
	put32(h + 44, len);
	if (ft_send(c, h, NULL, 0))
		return -1;
	if (t->close_on_r2t) {
		t->close_on_r2t = 0;
		return -1;
	}
	return 0;
}

static void ft_zero(struct ftgt *t, uint64_t lba, uint64_t n)
{
	if (lba < FT_BLOCKS && n <= FT_BLOCKS - lba)
		memset(t->disk + lba * 512, 0, n * 512);
}

/* The data of write w has all arrived: do it. */
static int ft_execute(struct ftgt *t, int c, struct ft_write *w)
{
	const uint8_t *cdb = w->cdb;
	uint8_t req[48] = { 0 };
	uint64_t lba = get64(cdb + 2);
	uint32_t n = get32(cdb + 10);
	int ret = 0;

	put32(req + 16, w->itt);
	if (cdb[0] == 0x42) {			/* UNMAP: one descriptor */
		if (w->len >= 24)
			ft_zero(t, get64(w->buf + 8), get32(w->buf + 16));
	} else if (lba >= FT_BLOCKS || n > FT_BLOCKS - lba) {
		ret = CC(t, c, req, 5, 0x21, 0);
	} else if (cdb[0] == 0x93) {		/* WRITE SAME(16) */
		for (uint32_t i = 0; i < n; i++)
			memcpy(t->disk + (lba + i) * 512, w->buf, 512);
	} else {
		memcpy(t->disk + lba * 512, w->buf, w->len);
	}
	free(w->buf);
	w->buf = NULL;
	w->used = false;
	return ret ? ret : ft_status(t, c, req, 0, 0);
}

static int ft_dataout(struct ftgt *t, int c, const uint8_t *h,
		      const uint8_t *data, uint32_t dlen)
{
	uint32_t ttt = get32(h + 20), off = get32(h + 40);
	struct ft_write *w;

	if (ttt < 1 || ttt > FT_SLOTS || !t->w[ttt - 1].used)
		return -1;
	w = &t->w[ttt - 1];
	if (off > w->len || dlen > w->len - off)
		return -1;
	memcpy(w->buf + off, data, dlen);
	w->got += dlen;
	if ((h[1] & 0x80) && w->got >= w->len)
		return ft_execute(t, c, w);
	return 0;
}

static int ft_read16(struct ftgt *t, int c, const uint8_t *req,
		     const uint8_t *cdb)
{
	uint64_t lba = get64(cdb + 2);
	uint32_t n = get32(cdb + 10);

	if (lba >= FT_BLOCKS || n > FT_BLOCKS - lba)
		return CC(t, c, req, 5, 0x21, 0);
	return ft_datain(t, c, req, t->disk + lba * 512, n * 512);
}

static int ft_cmd_data(struct ftgt *t, int c, const uint8_t *req,
		       const uint8_t *cdb)
{
	uint8_t d[32] = { 0 };

	switch (cdb[0]) {
	case 0x00:				/* TEST UNIT READY */
	case 0x91:				/* SYNCHRONIZE CACHE(16) */
		return ft_status(t, c, req, 0, 0);
	case 0x12:
		return ft_inquiry(t, c, req, cdb);
	case 0x1a:				/* MODE SENSE(6) */
		d[0] = 3;
		d[2] = t->wp ? 0x80 : 0;
		return ft_datain(t, c, req, d, 4);
	case 0x88:
		return ft_read16(t, c, req, cdb);
	case 0x8a:				/* WRITE(16) */
	case 0x93:				/* WRITE SAME(16) */
	case 0x42:				/* UNMAP */
		return ft_want_data(t, c, req);
	case 0x9e:
		if ((cdb[1] & 0x1f) == 0x12)
			return ft_lba_status(t, c, req, get64(cdb + 2));
		if ((cdb[1] & 0x1f) != 0x10)
			break;
		put32(d, 0);
		put32(d + 4, FT_BLOCKS - 1);
		put32(d + 8, 512);
		d[14] = 0x80 | (t->lbprz ? 0x40 : 0);
		return ft_datain(t, c, req, d, 32);
	case 0xa0: {				/* REPORT LUNS */
		uint8_t l[8 + 8 * 4] = { 0 };

		put32(l, 8 * t->nluns);
		for (int i = 0; i < t->nluns; i++)
			l[8 + 8 * i + 1] = i;
		return ft_datain(t, c, req, l, 8 + 8 * t->nluns);
	}
	}
	return CC(t, c, req, 5, 0x20, 0);	/* invalid operation code */
}

static int ft_scsi(struct ftgt *t, int c, const uint8_t *req)
{
	const uint8_t *cdb = req + 32;
	int lun = (req[8] << 8 | req[9]) & 0x3fff, k;

	if (!(req[0] & 0x40))
		t->expcmdsn = get32(req + 24) + 1;
	t->cmds++;
	if (t->stall)
		return 0;
	if (t->drop_after >= 0 && t->drop_after-- == 0)
		return -1;
	if (lun >= t->nluns && cdb[0] != 0xa0)
		return CC(t, c, req, 5, 0x25, 0);
	if (t->ua_count > 0 && cdb[0] != 0x12 && cdb[0] != 0xa0) {
		t->ua_count--;
		return CC(t, c, req, 6, 0x29, 0);
	}
	if ((cdb[0] == 0x88 || cdb[0] == 0x8a) && t->fail_count > 0) {
		t->fail_count--;
		k = t->fail_sense;
		return CC(t, c, req, k >> 16, (k >> 8) & 0xff, k & 0xff);
	}
	return ft_cmd_data(t, c, req, cdb);
}

static void ft_forget_writes(struct ftgt *t)
{
	for (int i = 0; i < FT_SLOTS; i++) {
		free(t->w[i].buf);
		t->w[i].buf = NULL;
		t->w[i].used = false;
	}
}

/* One connection, until it ends, a knob ends it, or it breaks. */
static void ft_serve(struct ftgt *t, int c)
{
	uint8_t h[48], *data = malloc((256u << 10) + 4);
	int ret = 0;

	t->statsn = 1;
	while (data && !ret && !t->stop && !t->down) {
		struct pollfd p = { .fd = c, .events = POLLIN };
		uint32_t dlen;

		if (poll(&p, 1, 20) <= 0)
			continue;
		if (read_full(c, h, 48))
			break;
		dlen = (uint32_t)h[5] << 16 | h[6] << 8 | h[7];
		if (dlen > (256u << 10) ||
		    read_full(c, data, (dlen + 3) & ~3u))
			break;
		switch (h[0] & 0x3f) {
		case 0x03:
			ret = ft_login(t, c, h, data, dlen);
			break;
		case 0x04:
			ret = ft_text(t, c, h);
			break;
		case 0x01:
			ret = ft_scsi(t, c, h);
			break;
		case 0x05:
			ret = ft_dataout(t, c, h, data, dlen);
			break;
		case 0x06: {			/* logout */
			uint8_t r[48] = { 0x26, 0x80 };

			memcpy(r + 16, h + 16, 4);
			ft_serials(t, r, true);
			ft_send(c, r, NULL, 0);
			ret = -1;
			break;
		}
		default:
			ret = -1;
		}
	}
	free(data);
	ft_forget_writes(t);
	close(c);
}

static void *ft_run(void *arg)
{
	struct ftgt *t = arg;

	while (!t->stop) {
		struct pollfd p = { .fd = t->lfd, .events = POLLIN };
		int c;

		if (t->down || poll(&p, 1, 20) <= 0) {
			if (t->down)
				poll(NULL, 0, 20);
			continue;
		}
		c = accept(t->lfd, NULL, NULL);
		if (c < 0)
			continue;
		t->conns++;
		ft_serve(t, c);
	}
	return NULL;
}

static struct ftgt *ft_start(int pdt, int wp, int lbprz, int nluns)
{
	struct ftgt *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->pdt = pdt;
	t->wp = wp;
	t->lbprz = lbprz;
	t->nluns = nluns;
	t->drop_after = -1;
	t->disk = calloc(FT_BLOCKS, 512);
	t->lfd = listener(&t->port);
	if (!t->disk || t->lfd < 0 ||
	    pthread_create(&t->thread, NULL, ft_run, t)) {
		if (t->lfd >= 0)
			close(t->lfd);
		free(t->disk);
		free(t);
		return NULL;
	}
	return t;
}

static void ft_stop(struct ftgt *t)
{
	if (!t)
		return;
	t->stop = 1;
	pthread_join(t->thread, NULL);
	close(t->lfd);
	free(t->disk);
	free(t);
}

/* --- Tests ----------------------------------------------------------------- */

struct result {
	int ret;
	double secs;
	char err[512];
};

static void try_open(const char *url, int timeout_ms, struct result *r)
{
	struct svm_ep_params p = { .timeout_ms = timeout_ms };
	struct svm_ep *ep = NULL;
	double t0 = now();

	r->ret = svm_ep_iscsi_open(url, SVM_EP_WRITE, &p, &ep, r->err,
				   sizeof(r->err));
	r->secs = now() - t0;
	if (ep) {
		svm_ep_close(ep);
		if (!r->ret)
			r->ret = 9999;	/* opened: not expected here */
	}
}

static void test_urls(void)
{
	static const char *const bad[] = {
		"iscsi://127.0.0.1/" IQN,		/* no LUN */
		"iscsi://127.0.0.1/" IQN "/0/extra",
		"iscsi://127.0.0.1/" IQN "/x",
		"iscsi://127.0.0.1:99999/" IQN "/0",
		"iscsi:///" IQN "/0",
		"iscsi://127.0.0.1/notaniqn/0",
		"",
	};
	struct result r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		try_open(bad[i], 1000, &r);
		ok(r.ret == -EINVAL && r.err[0] && r.secs < 0.5,
		   "malformed URL \"%s\" refused: %d %s", bad[i], r.ret, r.err);
	}
	try_open("nfs://127.0.0.1/export/file", 1000, &r);
	ok(r.ret == -EINVAL && strstr(r.err, "iscsi://"),
	   "an nfs:// URL is not the iSCSI endpoint's: %s", r.err);
	try_open("iscsi://alice%s3cr3t@127.0.0.1/" IQN, 1000, &r);
	ok(r.ret == -EINVAL && !strstr(r.err, "s3cr3t"),
	   "the CHAP password is never in a message: %s", r.err);
}

static void test_refused(void)
{
	char url[256], portal[64];
	int port = free_port();
	struct result r;

	snprintf(portal, sizeof(portal), "127.0.0.1:%d", port);
	snprintf(url, sizeof(url), "iscsi://alice%%s3cr3t@%s/%s/0", portal,
		 IQN);
	try_open(url, 10000, &r);
	ok(r.ret == -ECONNREFUSED && r.secs < 1.0 && strstr(r.err, portal) &&
	   strstr(r.err, "refused") && !strstr(r.err, "s3cr3t"),
	   "nothing listening on %s: -ECONNREFUSED in %.3f s naming the portal (%s)",
	   portal, r.secs, r.err);
}

static void test_refused_v6(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
	socklen_t len = sizeof(a);
	char url[256];
	struct result r;
	int port;

	a.sin6_addr = in6addr_loopback;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		if (fd >= 0)
			close(fd);
		ok(1, "IPv6 portal refused # SKIP no IPv6 loopback");
		return;
	}
	port = ntohs(a.sin6_port);
	close(fd);
	snprintf(url, sizeof(url), "iscsi://[::1]:%d/%s/0", port, IQN);
	try_open(url, 10000, &r);
	ok(r.ret == -ECONNREFUSED && strstr(r.err, "[::1]:"),
	   "IPv6 portal refused: %s", r.err);
}

static void test_silent(void)
{
	char url[256], portal[64];
	struct result r;
	struct fake f;
	int port;

	if (fake_start(&f, FAKE_SILENT, 0, &port)) {
		ok(0, "fake listener: %s", strerror(errno));
		return;
	}
	snprintf(portal, sizeof(portal), "127.0.0.1:%d", port);
	snprintf(url, sizeof(url), "iscsi://%s/%s/0", portal, IQN);
	try_open(url, 1000, &r);
	fake_stop(&f);
	ok(r.ret == -ETIMEDOUT && r.secs >= 0.9 && r.secs < 3.0 &&
	   strstr(r.err, portal),
	   "a listener that never answers: -ETIMEDOUT in %.2f s with timeout_ms 1000 (%s)",
	   r.secs, r.err);
	ok(f.got_login == 1, "... after it received the login request");
}

static void test_closing(void)
{
	char url[256], portal[64];
	struct result r;
	struct fake f;
	int port;

	if (fake_start(&f, FAKE_CLOSE, 0, &port)) {
		ok(0, "fake listener: %s", strerror(errno));
		return;
	}
	snprintf(portal, sizeof(portal), "127.0.0.1:%d", port);
	snprintf(url, sizeof(url), "iscsi://%s/%s/0", portal, IQN);
	try_open(url, 5000, &r);
	fake_stop(&f);
	ok(r.ret == -ECONNRESET && r.secs < 1.0 && strstr(r.err, portal),
	   "a listener that closes at once: -ECONNRESET in %.3f s (%s)",
	   r.secs, r.err);
}

static void test_reject(uint16_t status, int want, const char *words,
			const char *desc)
{
	char url[256], portal[64];
	struct result r;
	struct fake f;
	int port;

	if (fake_start(&f, FAKE_REJECT, status, &port)) {
		ok(0, "fake target: %s", strerror(errno));
		return;
	}
	snprintf(portal, sizeof(portal), "127.0.0.1:%d", port);
	snprintf(url, sizeof(url), "iscsi://%s/%s/3", portal, IQN);
	try_open(url, 5000, &r);
	fake_stop(&f);
	ok(r.ret == want && r.secs < 1.0 && strstr(r.err, words) &&
	   strstr(r.err, portal),
	   "login answered %s (0x%04x): %s (%s)", desc, status,
	   strerror(-want), r.err);
}

static void test_sg_file(void)
{
	struct svm_xcopy_limits lim;
	struct svm_xcopy_sense s;
	struct svm_xcopy_id id;
	struct svm_scsi_sg sg;
	uint8_t cdb[6] = { 0 }, buf[36];
	char path[] = "/tmp/ep-iscsi-XXXXXX", err[512] = "", why[200] = "";
	int fd = mkstemp(path), ret;

	if (fd < 0) {
		ok(0, "mkstemp: %s", strerror(errno));
		return;
	}
	unlink(path);
	svm_scsi_sg_init(&sg, fd);
	ok(!strncmp(sg.dev.name, "/tmp/ep-iscsi-", 14),
	   "SG_IO transport of a file is named by its path (%s)", sg.dev.name);
	cdb[0] = 0x12;
	cdb[4] = sizeof(buf);
	ret = sg.dev.cmd(&sg.dev, cdb, 6, SVM_SCSI_FROM_DEV, buf, sizeof(buf),
			 1000, NULL, &s, why, sizeof(why));
	ok(ret == -ENOTTY && strstr(why, "not a SCSI device") && s.key == 0,
	   "SG_IO transport: INQUIRY on a regular file -> -ENOTTY (%s)", why);
	ret = svm_xcopy_identify_dev(&sg.dev, &id, err, sizeof(err));
	ok(ret == -ENOTTY && strstr(err, "not a SCSI device") &&
	   strstr(err, sg.dev.name),
	   "svm_xcopy_identify_dev over SG_IO on a file -> -ENOTTY (%s)", err);
	ret = svm_xcopy_limits_dev(&sg.dev, &lim, err, sizeof(err));
	ok(ret == -ENOTTY && strstr(err, "not a SCSI device"),
	   "svm_xcopy_limits_dev over SG_IO on a file -> -ENOTTY (%s)", err);
	ret = svm_xcopy_identify(fd, &id, err, sizeof(err));
	ok(ret == -ENOTTY && strstr(err, "not a SCSI device"),
	   "svm_xcopy_identify(fd) of a file, the fd wrapper -> -ENOTTY (%s)",
	   err);
	close(fd);
}

/* --- The endpoint against the fake target ---------------------------------- */

struct req {
	struct svm_ep_io io;
	int done, err;
};

static void req_done(struct svm_ep_io *io, int err)
{
	struct req *r = io->opaque;

	r->done = 1;
	r->err = err;
}

/*
 * n requests of len bytes from off (buf + i * len) queued at once, waited
 * for: 0 or the first error, its message (io->msg) in msg.
 */
static int batch(struct svm_ep *ep, bool write, uint8_t *buf, uint64_t off,
		 uint32_t len, int n, char *msg, size_t msglen)
{
	struct req r[64];
	int ret = 0, queued = 0;

	msg[0] = 0;
	for (int i = 0; i < n && i < 64; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].io.off = off + (uint64_t)i * len;
		r[i].io.len = len;
		r[i].io.buf = buf + (size_t)i * len;
		r[i].io.done = req_done;
		r[i].io.opaque = &r[i];
		ret = write ? svm_ep_write(ep, &r[i].io) :
		      svm_ep_read(ep, &r[i].io);
		if (ret) {
			snprintf(msg, msglen, "%s", ep->msg);
			break;
		}
		queued++;
	}
	if (svm_ep_drain(ep, 60000) && !ret) {
		snprintf(msg, msglen, "%s", ep->msg);
		return -ETIMEDOUT;
	}
	for (int i = 0; i < queued && !ret; i++) {
		if (!r[i].done) {
			ret = -EINPROGRESS;
		} else if (r[i].err) {
			ret = r[i].err;
			snprintf(msg, msglen, "%s", r[i].io.msg);
		}
	}
	return ret;
}

static struct svm_ep *ft_open(struct ftgt *t, int lun, unsigned int flags,
			      int timeout_ms, int *ret, char *err, size_t len)
{
	struct svm_ep_params p = { .timeout_ms = timeout_ms };
	struct svm_ep *ep = NULL;
	char url[256];

	snprintf(url, sizeof(url), "iscsi://127.0.0.1:%d/%s/%d", t->port, IQN,
		 lun);
	*ret = svm_ep_iscsi_open(url, flags, &p, &ep, err, len);
	return ep;
}

static struct svm_ep *ft_open_iqn(struct ftgt *t, const char *iqn, int *ret,
				  char *err, size_t len)
{
	struct svm_ep_params p = { .timeout_ms = 5000 };
	struct svm_ep *ep = NULL;
	char url[256];

	snprintf(url, sizeof(url), "iscsi://127.0.0.1:%d/%s/0", t->port, iqn);
	*ret = svm_ep_iscsi_open(url, 0, &p, &ep, err, len);
	return ep;
}

static void fill_random(uint8_t *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		buf[i] = seed >> 16;
	}
}

static void test_fake_io(void)
{
	const size_t size = (size_t)FT_BLOCKS * 512;
	uint8_t *src = malloc(size), *back = malloc(size);
	struct ftgt *t = ft_start(0, 0, 1, 1);
	struct svm_ep_iscsi *e;
	struct svm_ep *ep = NULL;
	char err[512] = "", msg[512];
	uint64_t run = 0;
	bool data = true;
	int ret;

	if (!t || !src || !back) {
		ok(0, "fake target: %s", strerror(errno));
		goto out;
	}
	ep = ft_open(t, 0, SVM_EP_WRITE, 5000, &ret, err, sizeof(err));
	e = svm_ep_iscsi(ep);
	ok(ep && e && ep->size == size && ep->block_size == 512 &&
	   ep->max_io == FT_MAX_XFER * 512 &&
	   ep->caps == (SVM_EP_CAP_HOLES | SVM_EP_CAP_UNMAP | SVM_EP_CAP_ZERO) &&
	   ep->fresh_from == UINT64_MAX && e->info.max_ws == FT_MAX_WS &&
	   e->info.lbprz && svm_ep_iscsi_scsi(ep) == &e->scsi,
	   "fake target: opened (8 MiB, max_io 1 MiB from VPD 0xB0, caps holes,unmap,zero) %s",
	   err);
	if (!ep)
		goto out;
	fill_random(src, size, 1);
	ret = batch(ep, true, src, 0, 256 << 10, 32, msg, sizeof(msg));
	ok(!ret && !memcmp(t->disk, src, size),
	   "32 writes of 256 KiB in flight at once reach the disk (%d %s)", ret,
	   msg);
	memset(back, 0, size);
	ret = batch(ep, false, back, 0, 256 << 10, 32, msg, sizeof(msg));
	ok(!ret && !memcmp(back, src, size),
	   "32 reads of 256 KiB in flight at once read it back (%d %s)", ret,
	   msg);

	ret = ep->ops->zero(ep, 1 << 20, 1 << 20, SVM_EP_ZERO_UNMAP);
	memset(src + (1 << 20), 0, 1 << 20);
	ok(!ret && !memcmp(t->disk, src, size),
	   "zero UNMAP of 1 MiB (WRITE SAME(16) with UNMAP) zeroes it (%d %s)",
	   ret, ep->msg);
	ret = ep->ops->extent(ep, 1 << 20, 4 << 20, &data, &run);
	ok(!ret && !data && run == FT_CHUNK * 512,
	   "extent: GET LBA STATUS says the zeroed range is a hole (%d %d %llu)",
	   ret, data, (unsigned long long)run);
	ret = ep->ops->extent(ep, 512, 4 << 20, &data, &run);
	ok(!ret && data && run == FT_CHUNK * 512 - 512,
	   "extent: data up to the end of its granule (%d %d %llu)", ret, data,
	   (unsigned long long)run);
	ret = ep->ops->zero(ep, 3 << 20, 64 << 10, SVM_EP_ZERO_ALLOC);
	memset(src + (3 << 20), 0, 64 << 10);
	ok(!ret && !memcmp(t->disk, src, size),
	   "zero ALLOC (WRITE SAME(16)) of 64 KiB (%d %s)", ret, ep->msg);
	ok(ep->ops->flush(ep) == 0, "flush (SYNCHRONIZE CACHE(16)): %s",
	   ep->msg);

	/* sense data -> errno, with the offset in the message */
	t->fail_sense = 3 << 16 | 0x11 << 8;
	t->fail_count = 1;
	ret = batch(ep, false, back, 4096, 4096, 1, msg, sizeof(msg));
	ok(ret == -EIO && strstr(msg, "READ at offset 4096") &&
	   strstr(msg, "MEDIUM ERROR: unrecovered read error"),
	   "MEDIUM ERROR -> -EIO naming the offset (%s)", msg);
	t->fail_sense = 7 << 16 | 0x27 << 8;
	t->fail_count = 1;
	ret = batch(ep, true, src, 8192, 4096, 1, msg, sizeof(msg));
	ok(ret == -EROFS && strstr(msg, "WRITE at offset 8192") &&
	   strstr(msg, "write protected"),
	   "DATA PROTECT, write protected -> -EROFS (%s)", msg);
	t->fail_sense = 7 << 16 | 0x27 << 8 | 0x07;
	t->fail_count = 1;
	ret = batch(ep, true, src, 8192, 4096, 1, msg, sizeof(msg));
	ok(ret == -ENOSPC, "DATA PROTECT, space allocation failed -> -ENOSPC (%s)",
	   msg);
	t->fail_sense = 6 << 16 | 0x38 << 8 | 0x07;
	t->fail_count = 1;
	ret = batch(ep, true, src, 8192, 4096, 1, msg, sizeof(msg));
	ok(ret == -ENOSPC,
	   "UNIT ATTENTION, thin provisioning soft threshold -> -ENOSPC (%s)",
	   msg);
	t->ua_count = 2;
	ret = batch(ep, false, back, 0, 4096, 1, msg, sizeof(msg));
	ok(!ret && !memcmp(back, src, 4096),
	   "two UNIT ATTENTIONs are retried, then the read succeeds (%d %s)",
	   ret, msg);

	/* refused before anything is sent */
	ret = batch(ep, false, back, 100, 512, 1, msg, sizeof(msg));
	ok(ret == -EINVAL && strstr(msg, "not a multiple of the 512-byte block"),
	   "a read off a block boundary: -EINVAL (%s)", msg);
	ret = batch(ep, false, back, size - 512, 1024, 1, msg, sizeof(msg));
	ok(ret == -EINVAL && strstr(msg, "beyond the end"),
	   "a read beyond the end: -EINVAL (%s)", msg);
	ret = batch(ep, false, back, 0, 2 << 20, 1, msg, sizeof(msg));
	ok(ret == -EINVAL && strstr(msg, "more than the"),
	   "a read above max_io: -EINVAL (%s)", msg);
out:
	svm_ep_close(ep);
	ft_stop(t);
	free(src);
	free(back);
}

static void test_fake_xcopy(void)
{
	struct ftgt *t = ft_start(0, 0, 0, 1);
	struct svm_xcopy_limits lim;
	struct svm_scsi_dev *d;
	struct svm_xcopy_id id;
	struct svm_ep *ep = NULL;
	char err[512] = "";
	int ret;

	if (t)
		ep = ft_open(t, 0, 0, 5000, &ret, err, sizeof(err));
	d = svm_ep_iscsi_scsi(ep);
	if (!d) {
		ok(0, "fake target: %s", err);
		ok(0, "(skipped)");
		goto out;
	}
	ret = svm_xcopy_identify_dev(d, &id, err, sizeof(err));
	ok(!ret && id.naa_len == 16 && id.naa[0] == 0x60 &&
	   id.block_size == 512 && id.nr_blocks == FT_BLOCKS && id.pdt == 0,
	   "XCOPY identify over the iSCSI transport: NAA, 512-byte blocks, %u blocks (%s)",
	   FT_BLOCKS, err);
	ret = svm_xcopy_limits_dev(d, &lim, err, sizeof(err));
	ok(ret == -EOPNOTSUPP && strstr(err, "ILLEGAL REQUEST") &&
	   strstr(err, "iscsi://127.0.0.1:"),
	   "RECEIVE COPY RESULTS refused over iSCSI: -EOPNOTSUPP, a refusal (%s)",
	   err);
	ok(ep->caps == SVM_EP_CAP_ZERO,
	   "LBPRZ 0: no unmap, no holes, zero by WRITE SAME (caps 0x%x)",
	   ep->caps);
	ret = ep->ops->zero(ep, 0, 4096, SVM_EP_ZERO_UNMAP);
	ok(ret == -EBADF, "zero on an endpoint not open for writing: -EBADF (%s)",
	   ep->msg);
out:
	svm_ep_close(ep);
	ft_stop(t);
}

static void test_fake_session(void)
{
	uint8_t *buf = calloc(1, 1 << 20), *back = calloc(1, 1 << 20);
	struct ftgt *t = ft_start(0, 0, 1, 1);
	struct svm_ep *ep = NULL;
	char err[512] = "", msg[512], portal[64];
	double t0;
	int ret;

	if (t)
		ep = ft_open(t, 0, SVM_EP_WRITE, 1000, &ret, err, sizeof(err));
	if (!ep || !buf || !back) {
		ok(0, "fake target: %s", err);
		goto out;
	}
	snprintf(portal, sizeof(portal), "127.0.0.1:%d", t->port);
	fill_random(buf, 1 << 20, 2);
	memcpy(t->disk, buf, 1 << 20);

	/* a target that stops answering: bounded, then a new session */
	t->stall = 1;
	t0 = now();
	ret = batch(ep, false, back, 0, 64 << 10, 4, msg, sizeof(msg));
	t0 = now() - t0;
	ok(ret == -ETIMEDOUT && t0 >= 0.9 && t0 < 3.0 &&
	   strstr(msg, "no answer from") && strstr(msg, portal) &&
	   strstr(msg, "READ at offset"),
	   "a target that stops answering: reads fail with -ETIMEDOUT in %.2f s (timeout 1 s): %s",
	   t0, msg);
	t->stall = 0;
	ret = batch(ep, false, back, 0, 64 << 10, 16, msg, sizeof(msg));
	ok(!ret && !memcmp(back, buf, 1 << 20) && t->conns == 2,
	   "... once it answers again, the endpoint logs in again (%d connections) and reads work (%d %s)",
	   t->conns, ret, msg);

	/* a dropped connection: what was in flight is sent again */
	t->drop_after = 5;
	memset(back, 0, 1 << 20);
	ret = batch(ep, false, back, 0, 64 << 10, 16, msg, sizeof(msg));
	ok(!ret && !memcmp(back, buf, 1 << 20) && t->conns == 3,
	   "a connection dropped with 16 reads in flight: sent again on a new session, all byte-exact (%d connections, %d %s)",
	   t->conns, ret, msg);
	fill_random(buf, 1 << 20, 3);
	t->drop_after = 3;
	ret = batch(ep, true, buf, 0, 64 << 10, 16, msg, sizeof(msg));
	ok(!ret && !memcmp(t->disk, buf, 1 << 20) && t->conns == 4,
	   "... and with 16 writes in flight (%d connections, %d %s)", t->conns,
	   ret, msg);

	/* closed once the target asked for the data */
	fill_random(buf, 1 << 20, 4);
	t->close_on_r2t = 1;
	ret = batch(ep, true, buf, 0, 256 << 10, 4, msg, sizeof(msg));
	ok(!ret && !memcmp(t->disk, buf, 1 << 20) && t->conns == 5,
	   "a connection closed by the target right after its R2T: the writes are sent again (%d connections, %d %s)",
	   t->conns, ret, msg);

	/* the portal goes away for good */
	t->down = 1;
	t0 = now();
	ret = batch(ep, true, buf, 0, 64 << 10, 8, msg, sizeof(msg));
	t0 = now() - t0;
	ok(ret == -ETIMEDOUT && t0 < 3.0 && strstr(msg, "lost connection to") &&
	   strstr(msg, portal),
	   "the portal gone: writes fail with -ETIMEDOUT in %.2f s: %s", t0,
	   msg);
	t->down = 0;
	ret = batch(ep, false, back, 0, 64 << 10, 4, msg, sizeof(msg));
	ok(!ret && !memcmp(back, buf, 256 << 10),
	   "... and it is back: reads work again (%d %s)", ret, msg);

	/* closing with requests in flight abandons them */
	t->stall = 1;
	{
		struct req r = { .io = { .off = 0, .len = 4096, .buf = back,
					 .done = req_done } };

		r.io.opaque = &r;
		ret = svm_ep_read(ep, &r.io);
		svm_ep_close(ep);
		ep = NULL;
		ok(!ret && !r.done,
		   "closing with a request in flight abandons it (done() not run)");
	}
out:
	svm_ep_close(ep);
	ft_stop(t);
	free(buf);
	free(back);
}

static void test_fake_refusals(void)
{
	struct ftgt *t;
	struct svm_ep *ep;
	char err[512];
	int ret;

	t = ft_start(0, 0, 0, 1);
	ep = t ? ft_open(t, 1, 0, 5000, &ret, err, sizeof(err)) : NULL;
	ok(t && !ep && ret == -ENXIO &&
	   strstr(err, "LUN 1 does not exist on target " IQN " (its LUNs: 0)"),
	   "a LUN the target does not report: -ENXIO (%s)", t ? err : "");
	svm_ep_close(ep);

	ep = t ? ft_open_iqn(t, IQN "x", &ret, err, sizeof(err)) : NULL;
	ok(t && !ep && ret == -ENOENT &&
	   strstr(err, "target " IQN "x not found on 127.0.0.1:") &&
	   strstr(err, "(it has: " IQN ")"),
	   "a target name the portal refuses with \"service unavailable\" (as LIO does): a discovery says -ENOENT (%s)",
	   t ? err : "");
	svm_ep_close(ep);
	ft_stop(t);

	t = ft_start(5, 0, 0, 1);
	ep = t ? ft_open(t, 0, 0, 5000, &ret, err, sizeof(err)) : NULL;
	ok(t && !ep && ret == -ENOTBLK && strstr(err, "not a disk"),
	   "a LUN that is not a disk (peripheral device type 5): -ENOTBLK (%s)",
	   t ? err : "");
	svm_ep_close(ep);
	ft_stop(t);

	t = ft_start(0, 1, 0, 1);
	ep = t ? ft_open(t, 0, SVM_EP_WRITE, 5000, &ret, err, sizeof(err)) :
	     NULL;
	ok(t && !ep && ret == -EROFS && strstr(err, "write-protected"),
	   "a write-protected LUN opened for writing: -EROFS (%s)",
	   t ? err : "");
	svm_ep_close(ep);
	ep = t ? ft_open(t, 0, 0, 5000, &ret, err, sizeof(err)) : NULL;
	ok(ep && !ep->writable, "... and opened for reading (%s)",
	   ep ? "ok" : err);
	svm_ep_close(ep);
	ft_stop(t);
}

int main(void)
{
	int fds;

	tap_plan(56);
	fds = count_fds();
	test_urls();
	test_refused();
	test_refused_v6();
	test_silent();
	test_closing();
	test_reject(0x0203, -ENOENT, "target " IQN " not found on",
		    "target not found");
	test_reject(0x0201, -EACCES, "authentication failed",
		    "authentication failure");
	test_sg_file();
	test_fake_io();
	test_fake_xcopy();
	test_fake_session();
	test_fake_refusals();
	ok(svm_ep_iscsi(NULL) == NULL && svm_ep_iscsi_scsi(NULL) == NULL,
	   "no endpoint: no iSCSI endpoint, no SCSI transport");
	ok(count_fds() == fds, "no file descriptor left open (%d before, %d after)",
	   fds, count_fds());
	return tap_done();
}
