// SPDX-License-Identifier: GPL-2.0
/*
 * svm-xcopy-tool - drive lib/svm-xcopy (SCSI EXTENDED COPY over SG_IO) from
 * the command line, for the guest tests.
 *
 *   svm-xcopy-tool identify DEV
 *       naa=<hex> block_size=<n> blocks=<n> pdt=<n>
 *   svm-xcopy-tool limits DEV
 *       one key=value a line (max_target_desc, max_segment_desc, ...)
 *   svm-xcopy-tool copy SRC DST [--src-lba N] [--dst-lba N] [--blocks N]
 *                               [--max-seg-bytes N] [--max-segs N]
 *       EXTENDED COPY sent to DST; --blocks defaults to the rest of SRC;
 *       --max-seg-bytes/--max-segs lower the limits DST reports (to force
 *       splitting). Prints "copied=<blocks> commands=<n> segments=<n>".
 *
 * Exit status: 0 done; 1 failure; 2 usage; 3 refused by the target
 * (-EOPNOTSUPP: the engine falls back); 4 not a SCSI device (-ENOTTY).
 * Errors go to stderr as "svm-xcopy: <dev>: <reason>".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "svm-xcopy.h"

static int status_of(int ret)
{
	if (ret == 0)
		return 0;
	if (ret == -EOPNOTSUPP)
		return 3;
	if (ret == -ENOTTY)
		return 4;
	return 1;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: svm-xcopy-tool identify DEV\n"
		"       svm-xcopy-tool limits DEV\n"
		"       svm-xcopy-tool copy SRC DST [--src-lba N] [--dst-lba N] [--blocks N]\n"
		"                                   [--max-seg-bytes N] [--max-segs N]\n");
	return 2;
}

static int open_dev(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0)
		fprintf(stderr, "svm-xcopy-tool: %s: %s\n", path,
			strerror(errno));
	return fd;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return (errno || end == s || *end || *s == '-') ? -1 : 0;
}

static int cmd_identify(const char *dev)
{
	struct svm_xcopy_id id;
	char err[512];
	int fd, ret;

	fd = open_dev(dev, O_RDONLY);
	if (fd < 0)
		return 1;
	ret = svm_xcopy_identify(fd, &id, err, sizeof(err));
	close(fd);
	if (ret) {
		fprintf(stderr, "%s\n", err);
		return status_of(ret);
	}
	printf("naa=");
	for (int i = 0; i < id.naa_len; i++)
		printf("%02x", id.naa[i]);
	printf(" block_size=%u blocks=%llu pdt=%u\n", id.block_size,
	       (unsigned long long)id.nr_blocks, id.pdt);
	return 0;
}

static int cmd_limits(const char *dev)
{
	struct svm_xcopy_limits l;
	char err[512];
	int fd, ret;

	fd = open_dev(dev, O_RDONLY);
	if (fd < 0)
		return 1;
	ret = svm_xcopy_limits(fd, &l, err, sizeof(err));
	close(fd);
	if (ret) {
		fprintf(stderr, "%s\n", err);
		return status_of(ret);
	}
	printf("snlid=%d\n", l.snlid);
	printf("max_target_desc=%u\n", l.max_target_desc);
	printf("max_segment_desc=%u\n", l.max_segment_desc);
	printf("max_desc_list_len=%u\n", l.max_desc_list_len);
	printf("max_segment_len=%u\n", l.max_segment_len);
	printf("max_inline_data=%u\n", l.max_inline_data);
	printf("held_data_limit=%u\n", l.held_data_limit);
	printf("max_stream_transfer=%u\n", l.max_stream_transfer);
	printf("total_concurrent_copies=%u\n", l.total_concurrent_copies);
	printf("max_concurrent_copies=%u\n", l.max_concurrent_copies);
	printf("data_seg_granularity=%u\n", l.data_seg_granularity);
	printf("inline_data_granularity=%u\n", l.inline_data_granularity);
	printf("held_data_granularity=%u\n", l.held_data_granularity);
	printf("impl_desc=");
	for (int i = 0; i < l.nr_impl_desc; i++)
		printf("%s%02x", i ? "," : "", l.impl_desc[i]);
	printf("\n");
	return 0;
}

static int cmd_copy(int argc, char **argv)
{
	uint64_t src_lba = 0, dst_lba = 0, blocks = 0, max_seg = 0, max_segs = 0;
	int have_blocks = 0, sfd, dfd, ret;
	struct svm_xcopy_id sid, did;
	struct svm_xcopy_limits lim;
	struct svm_xcopy_stats st;
	char err[512];

	if (argc < 4)
		return usage();
	for (int i = 4; i < argc; i += 2) {
		uint64_t *v;

		if (!strcmp(argv[i], "--src-lba"))
			v = &src_lba;
		else if (!strcmp(argv[i], "--dst-lba"))
			v = &dst_lba;
		else if (!strcmp(argv[i], "--blocks"))
			v = &blocks, have_blocks = 1;
		else if (!strcmp(argv[i], "--max-seg-bytes"))
			v = &max_seg;
		else if (!strcmp(argv[i], "--max-segs"))
			v = &max_segs;
		else
			return usage();
		if (i + 1 >= argc || parse_u64(argv[i + 1], v))
			return usage();
	}

	sfd = open_dev(argv[2], O_RDONLY);
	if (sfd < 0)
		return 1;
	dfd = open_dev(argv[3], O_RDWR);
	if (dfd < 0) {
		close(sfd);
		return 1;
	}
	ret = svm_xcopy_identify(sfd, &sid, err, sizeof(err));
	if (!ret)
		ret = svm_xcopy_identify(dfd, &did, err, sizeof(err));
	if (!ret)
		ret = svm_xcopy_limits(dfd, &lim, err, sizeof(err));
	if (ret)
		goto out;
	if (max_seg && (!lim.max_segment_len || max_seg < lim.max_segment_len))
		lim.max_segment_len = (uint32_t)max_seg;
	if (max_segs && max_segs < lim.max_segment_desc)
		lim.max_segment_desc = (uint16_t)max_segs;
	if (!have_blocks)
		blocks = src_lba < sid.nr_blocks ? sid.nr_blocks - src_lba : 0;
	ret = svm_xcopy_copy(sfd, &sid, src_lba, dfd, &did, dst_lba, blocks,
			     &lim, &st, err, sizeof(err));
	printf("copied=%llu commands=%llu segments=%llu\n",
	       (unsigned long long)st.blocks_done,
	       (unsigned long long)st.commands,
	       (unsigned long long)st.segments);
out:
	if (ret)
		fprintf(stderr, "%s\n", err);
	close(sfd);
	close(dfd);
	return status_of(ret);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "identify"))
		return cmd_identify(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "limits"))
		return cmd_limits(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "copy"))
		return cmd_copy(argc, argv);
	return usage();
}
