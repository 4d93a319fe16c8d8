// SPDX-License-Identifier: GPL-2.0
/*
 * svm-cp - copy extents with the libsvmotion data mover.
 *
 *   svm-cp [-v] [--mode auto|xcopy|fast|buffered]
 *          [--format same|thin|thick-lazy|thick-eager] [--qd N]
 *          [--io-size BYTES] [--rate BYTES_PER_S] [--region BYTES]
 *          [--regions N] [--hot DM_NAME] [--timeout MS]
 *          [SRC[:OFF:LEN] DST[:OFF:LEN]]...
 *
 * SRC and DST are paths or nfs:// and iscsi:// URLs (svm-ep.h); --timeout
 * bounds a remote endpoint's connect and requests.
 *
 * --hot copies the segments of a live dm-svmotion device through its
 * lock/commit protocol; without extent pairs, the pairs are the device's
 * svmotion segments as its table maps them (devices found through
 * /sys/dev/block/MAJ:MIN/uevent).
 *
 * Without :OFF:LEN a source is copied whole (from 0, its size) and a
 * destination gets the source's length at offset 0. Sizes take K/M/G
 * suffixes (powers of 1024). -v prints progress on stderr. Prints one summary
 * line on stdout:
 *   copied=N skipped=N mode=M fast=N buffered=N xcopy=N libaio=0|1
 *   elapsed=S MiB/s=R regions=N recopied=N via_files=N maxrss_kib=N
 *   backends=B[,B...] host_rchar=N host_wchar=N lo_tx=N offloaded=N
 *   by_backend=xcopy:N,copy_file_range:N,fast:N,buffered:N,stream:N
 * (host_*: bytes this process's read and write system calls moved, from
 * /proc/self/io, files only; lo_tx: bytes sent on the loopback interface
 * during the copy, every process's: what crossed the host to servers on
 * 127.0.0.1; offloaded: of the bytes copied, those EXTENDED COPY, an NFS
 * COPY the server was seen doing, or a reflink clone moved without this host)
 * and on stderr why the mode's first backend handed ranges on, if it did
 * ("svm-cp: fallback: ...").
 * Exit status 0 on success, 1 on failure (the message on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "svm-copy.h"
#include "svm-dm.h"
#include "svm-ep.h"

static struct svm_copy *g_copy;

static void on_signal(int sig)
{
	(void)sig;
	if (g_copy)
		svm_copy_cancel(g_copy);
}

/*
 * This process's rchar and wchar (/proc/self/io): the bytes its read and
 * write system calls moved (files; not recv/send on sockets).
 */
static void host_io(unsigned long long *rchar, unsigned long long *wchar)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];

	*rchar = *wchar = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "rchar: %llu", rchar);
		sscanf(line, "wchar: %llu", wchar);
	}
	fclose(f);
}

/* Bytes sent on the loopback interface so far (0 if unknown). */
static unsigned long long lo_tx(void)
{
	FILE *f = fopen("/sys/class/net/lo/statistics/tx_bytes", "r");
	unsigned long long n = 0;

	if (f) {
		if (fscanf(f, "%llu", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

static int parse_size(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -1;
	switch (*end) {
	case 'k': case 'K': n <<= 10; end++; break;
	case 'm': case 'M': n <<= 20; end++; break;
	case 'g': case 'G': n <<= 30; end++; break;
	default: break;
	}
	if (*end)
		return -1;
	*v = n;
	return 0;
}

static int path_size(const char *path, uint64_t *size)
{
	struct stat st;
	int fd, ret = 0;

	if (svm_ep_is_url(path)) {
		struct svm_ep *ep;
		char err[256];

		ret = svm_ep_open(path, 0, NULL, &ep, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "svm-cp: %s\n", err);
			errno = -ret;
			return -1;
		}
		*size = ep->size;
		svm_ep_close(ep);
		return 0;
	}
	if (stat(path, &st))
		return -1;
	if (!S_ISBLK(st.st_mode)) {
		*size = st.st_size;
		return 0;
	}
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (ioctl(fd, BLKGETSIZE64, size))
		ret = -1;
	close(fd);
	return ret;
}

/* "PATH[:OFF:LEN]"; *has_range says whether OFF:LEN was given. */
static int parse_extent(char *arg, struct svm_extent *e, bool *has_range)
{
	char *c2 = strrchr(arg, ':'), *c1;

	*has_range = false;
	e->path = arg;
	e->offset = 0;
	e->length = 0;
	if (!c2)
		return 0;
	*c2 = 0;
	c1 = strrchr(arg, ':');
	if (!c1) {
		*c2 = ':';
		return 0;
	}
	*c1 = 0;
	if (parse_size(c1 + 1, &e->offset) || parse_size(c2 + 1, &e->length)) {
		/* not a range: colons of a URL (nfs://h:2049/..., an IQN) */
		*c1 = *c2 = ':';
		return svm_ep_is_url(arg) ? 0 : -1;
	}
	*has_range = true;
	return 0;
}

/* /dev/<DEVNAME> of block device maj:min, from sysfs (no udev needed). */
static char *dev_path(unsigned int maj, unsigned int min)
{
	char path[64], line[256], *res = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", maj, min);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "DEVNAME=", 8)) {
			line[strcspn(line, "\n")] = 0;
			if (asprintf(&res, "/dev/%s", line + 8) < 0)
				res = NULL;
			break;
		}
	fclose(f);
	return res;
}

/* The pairs of every svmotion segment of dm device name. */
static int pairs_from_table(const char *name, struct svm_extent_pair **out,
			    size_t *nout)
{
	struct svm_seg_table *t;
	struct svm_extent_pair *pp;
	char err[256];
	int n, i;

	n = svm_dm_table(name, NULL, 0, err, sizeof(err));
	if (n <= 0) {
		if (n)
			fprintf(stderr, "%s\n", err);
		else
			fprintf(stderr, "svm-cp: %s has no svmotion segment\n", name);
		return -1;
	}
	t = calloc(n, sizeof(*t));
	pp = calloc(n, sizeof(*pp));
	if (!t || !pp || svm_dm_table(name, t, n, err, sizeof(err)) != n) {
		fprintf(stderr, "svm-cp: reading the table of %s failed\n", name);
		free(t);
		free(pp);
		return -1;
	}
	for (i = 0; i < n; i++) {
		pp[i].src.path = dev_path(t[i].src_major, t[i].src_minor);
		pp[i].dst.path = dev_path(t[i].dst_major, t[i].dst_minor);
		if (!pp[i].src.path || !pp[i].dst.path) {
			fprintf(stderr, "svm-cp: no device node for %u:%u or %u:%u\n",
				t[i].src_major, t[i].src_minor, t[i].dst_major,
				t[i].dst_minor);
			return -1;	/* exits: the memory goes with it */
		}
		pp[i].src.offset = t[i].src_start * 512;
		pp[i].dst.offset = t[i].dst_start * 512;
		pp[i].src.length = pp[i].dst.length = t[i].len * 512;
	}
	free(t);
	*out = pp;
	*nout = n;
	return 0;
}

static void progress(const struct svm_copy_progress *p, void *opaque)
{
	(void)opaque;
	fprintf(stderr, "\r%llu/%llu bytes (%llu copied, %llu skipped) %.1f s",
		(unsigned long long)p->bytes_done,
		(unsigned long long)p->bytes_total,
		(unsigned long long)p->bytes_copied,
		(unsigned long long)p->bytes_skipped, p->elapsed);
}

static int parse_mode(const char *s)
{
	int m;

	for (m = 0; m < SVM_MODE_COUNT; m++)
		if (!strcmp(s, svm_copy_mode_name(m)))
			return m;
	return -1;
}

static int parse_format(const char *s)
{
	int f;

	for (f = 0; f <= SVM_FORMAT_THICK_EAGER; f++)
		if (!strcmp(s, svm_copy_format_name(f)))
			return f;
	return -1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: svm-cp [-v] [--mode auto|xcopy|fast|buffered] [--format same|thin|thick-lazy|thick-eager]\n"
		"              [--qd N] [--io-size B] [--rate B] [--region B] [--regions N]\n"
		"              [--hot DM_NAME] [--timeout MS] [SRC[:OFF:LEN] DST[:OFF:LEN]]...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "format", required_argument, NULL, 'f' },
		{ "qd", required_argument, NULL, 'q' },
		{ "io-size", required_argument, NULL, 'i' },
		{ "rate", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "region", required_argument, NULL, 'R' },
		{ "regions", required_argument, NULL, 'n' },
		{ "hot", required_argument, NULL, 'H' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct svm_copy_opts opts = { 0 };
	struct svm_copy_result res;
	struct svm_extent_pair *pairs;
	struct sigaction sa;
	struct rusage ru;
	unsigned long long rchar, wchar, lo0;
	char err[256];
	size_t n, i;
	uint64_t v;
	int o, ret, m;

	while ((o = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
		switch (o) {
		case 'm':
			m = parse_mode(optarg);
			if (m < 0)
				usage();
			opts.mode = m;
			break;
		case 'f':
			m = parse_format(optarg);
			if (m < 0)
				usage();
			opts.format = m;
			break;
		case 'q':
			if (parse_size(optarg, &v) || v > 4096)
				usage();
			opts.queue_depth = v;
			break;
		case 'i':
			if (parse_size(optarg, &v) || v > UINT32_MAX)
				usage();
			opts.io_size = v;
			break;
		case 'r':
			if (parse_size(optarg, &v))
				usage();
			opts.rate_limit = v;
			break;
		case 'v':
			opts.progress = progress;
			break;
		case 'R':
			if (parse_size(optarg, &v))
				usage();
			opts.region_bytes = v;
			break;
		case 'n':
			if (parse_size(optarg, &v) || v > 4096)
				usage();
			opts.regions_in_flight = v;
			break;
		case 'H':
			opts.dm_name = optarg;
			break;
		case 't':
			if (parse_size(optarg, &v) || v > INT32_MAX)
				usage();
			opts.timeout_ms = v;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if ((argc < 2 && !(opts.dm_name && !argc)) || argc % 2)
		usage();
	n = argc / 2;
	if (!n) {
		if (pairs_from_table(opts.dm_name, &pairs, &n))
			return 1;
	} else {
		pairs = calloc(n, sizeof(*pairs));
	}
	if (!pairs)
		return 1;
	for (i = 0; i < (size_t)argc / 2; i++) {
		bool sr, dr;

		if (parse_extent(argv[2 * i], &pairs[i].src, &sr) ||
		    parse_extent(argv[2 * i + 1], &pairs[i].dst, &dr)) {
			fprintf(stderr, "svm-cp: bad extent in pair %zu\n", i);
			return 2;
		}
		if (!sr && path_size(pairs[i].src.path, &pairs[i].src.length)) {
			fprintf(stderr, "svm-cp: %s: %s\n", pairs[i].src.path,
				strerror(errno));
			return 1;
		}
		if (!dr)
			pairs[i].dst.length = pairs[i].src.length;
	}
	ret = svm_copy_new(&g_copy, &opts, pairs, n, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s\n", err);
		free(pairs);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	lo0 = lo_tx();
	ret = svm_copy_run(g_copy, &res);
	if (opts.progress)
		fputc('\n', stderr);
	/* peak resident size, for the tests: what the copy's buffers cost */
	host_io(&rchar, &wchar);
	if (getrusage(RUSAGE_SELF, &ru))
		ru.ru_maxrss = -1;
	printf("copied=%llu skipped=%llu mode=%s fast=%llu buffered=%llu xcopy=%llu libaio=%d elapsed=%.3f MiB/s=%.1f regions=%llu recopied=%llu via_files=%u maxrss_kib=%ld backends=%s host_rchar=%llu host_wchar=%llu lo_tx=%llu",
	       (unsigned long long)res.bytes_copied,
	       (unsigned long long)res.bytes_skipped,
	       svm_copy_mode_name(res.mode_used),
	       (unsigned long long)res.bytes_by_mode[SVM_MODE_FAST],
	       (unsigned long long)res.bytes_by_mode[SVM_MODE_BUFFERED],
	       (unsigned long long)res.bytes_by_mode[SVM_MODE_XCOPY],
	       res.libaio_fallback, res.elapsed,
	       res.elapsed > 0 ? (res.bytes_copied + res.bytes_skipped) /
				 res.elapsed / 1048576.0 : 0.0,
	       (unsigned long long)res.regions_committed,
	       (unsigned long long)res.regions_recopied, res.pairs_via_files,
	       (long)ru.ru_maxrss, res.backends[0] ? res.backends : "none",
	       rchar, wchar, lo_tx() - lo0);
	/* what each backend copied; of it, what no data crossed this host for */
	printf(" offloaded=%llu zeroed_upfront=%llu by_backend=",
	       (unsigned long long)res.bytes_offloaded,
	       (unsigned long long)res.bytes_zeroed_upfront);
	for (int b = 0; b < SVM_BACKEND_COUNT; b++)
		printf("%s%s:%llu", b ? "," : "", svm_copy_backend_name(b),
		       (unsigned long long)res.bytes_by_backend[b]);
	putchar('\n');
	if (res.fallback[0])
		fprintf(stderr, "svm-cp: fallback: %s\n", res.fallback);
	if (ret)
		fprintf(stderr, "%s (error at source offset %llu)\n", res.message,
			(unsigned long long)res.error_offset);
	{
		struct svm_copy *c = g_copy;

		g_copy = NULL;
		svm_copy_free(c);
	}
	if (!argc) {
		for (i = 0; i < n; i++) {
			free((char *)pairs[i].src.path);
			free((char *)pairs[i].dst.path);
		}
	}
	free(pairs);
	return ret ? 1 : 0;
}
