// SPDX-License-Identifier: GPL-2.0
/*
 * lwdump - print the entries of a dm-log-writes log device, one per line:
 *
 *   <index> <sector> <nr_sectors> <flags>
 *
 * sector and nr_sectors are in 512-byte sectors; flags is a string of
 * F (flush), U (FUA), D (discard), M (mark), T (metadata) or "-". For a mark
 * the mark's text follows. The on-disk format is the one documented in
 * drivers/md/dm-log-writes.c: a super block in the first block, then per
 * entry one block holding the entry followed by the data written.
 *
 * The log's super block is written on FUA and mark entries only, so the
 * writer of a log should end it with "dmsetup message <lw> 0 mark <text>".
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_FLUSH_FLAG		(1 << 0)
#define LOG_FUA_FLAG		(1 << 1)
#define LOG_DISCARD_FLAG	(1 << 2)
#define LOG_MARK_FLAG		(1 << 3)
#define LOG_METADATA_FLAG	(1 << 4)

#define WRITE_LOG_MAGIC		0x6a736677736872ULL
#define WRITE_LOG_VERSION	1ULL

struct log_write_super {
	uint64_t magic;
	uint64_t version;
	uint64_t nr_entries;
	uint32_t sectorsize;
} __attribute__((packed));

struct log_write_entry {
	uint64_t sector;
	uint64_t nr_sectors;
	uint64_t flags;
	uint64_t data_len;
} __attribute__((packed));

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int main(int argc, char **argv)
{
	struct log_write_super super;
	unsigned char block[4096];
	uint64_t i, nr, off, ss, shift;
	int fd, r;

	if (argc != 2) {
		fprintf(stderr, "usage: lwdump LOGDEV\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "lwdump: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	r = read_at(fd, &super, sizeof(super), 0);
	if (r) {
		fprintf(stderr, "lwdump: %s: reading super: %s\n", argv[1],
			strerror(-r));
		return 1;
	}
	if (le64toh(super.magic) != WRITE_LOG_MAGIC ||
	    le64toh(super.version) != WRITE_LOG_VERSION) {
		fprintf(stderr, "lwdump: %s: not a dm-log-writes log\n",
			argv[1]);
		return 1;
	}
	ss = le32toh(super.sectorsize);
	if (ss < 512 || ss > sizeof(block) || (ss & (ss - 1))) {
		fprintf(stderr, "lwdump: %s: bad sector size %" PRIu64 "\n",
			argv[1], ss);
		return 1;
	}
	shift = (uint64_t)__builtin_ctzll(ss) - 9;
	nr = le64toh(super.nr_entries);
	off = ss;
	for (i = 0; i < nr; i++) {
		struct log_write_entry e;
		uint64_t flags, sectors;
		char fl[8], *p = fl;

		r = read_at(fd, block, ss, off);
		if (r) {
			fprintf(stderr, "lwdump: %s: entry %" PRIu64 ": %s\n",
				argv[1], i, strerror(-r));
			return 1;
		}
		memcpy(&e, block, sizeof(e));
		flags = le64toh(e.flags);
		sectors = le64toh(e.nr_sectors);
		if (flags & LOG_FLUSH_FLAG)
			*p++ = 'F';
		if (flags & LOG_FUA_FLAG)
			*p++ = 'U';
		if (flags & LOG_DISCARD_FLAG)
			*p++ = 'D';
		if (flags & LOG_MARK_FLAG)
			*p++ = 'M';
		if (flags & LOG_METADATA_FLAG)
			*p++ = 'T';
		if (p == fl)
			*p++ = '-';
		*p = '\0';
		printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " %s", i,
		       le64toh(e.sector) << shift, sectors << shift, fl);
		if (flags & LOG_MARK_FLAG) {
			uint64_t len = le64toh(e.data_len);

			if (len > ss - sizeof(e))
				len = ss - sizeof(e);
			printf(" %.*s", (int)len, (char *)block + sizeof(e));
		}
		printf("\n");
		off += ss;
		if (!(flags & LOG_DISCARD_FLAG))
			off += sectors * ss;
	}
	close(fd);
	return 0;
}
