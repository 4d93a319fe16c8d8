// SPDX-License-Identifier: GPL-2.0
/*
 * xcopy-build - unit tests of the pure parts of lib/svm-xcopy: VPD page 0x83,
 * READ CAPACITY(16) and OPERATING PARAMETERS parsing, the split plan, the
 * EXTENDED COPY parameter list encoding and sense decoding. No SCSI device
 * is needed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "svm-xcopy.h"
#include "tap.h"

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}
static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static const uint8_t naa16[16] = {
	0x60, 0x01, 0x40, 0x51, 0x11, 0x11, 0x11, 0x10,
	0x00, 0x04, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00,
};

static void test_vpd83(void)
{
	/* T10 vendor id, NAA of the target port (assoc 1), an 8-byte NAA of
	 * the LU, an ASCII "NAA" (code set 2), the 16-byte NAA of the LU. */
	uint8_t page[128] = { 0x00, 0x83 };
	size_t off = 4;
	struct svm_xcopy_id id;
	int ret;

	page[off++] = 0x02; page[off++] = 0x01; page[off++] = 0;
	page[off++] = 8; memcpy(page + off, "LIO-ORG ", 8); off += 8;
	page[off++] = 0x01; page[off++] = 0x13; page[off++] = 0;
	page[off++] = 8; memset(page + off, 0xaa, 8); off += 8;
	page[off++] = 0x01; page[off++] = 0x03; page[off++] = 0;
	page[off++] = 8; memset(page + off, 0x55, 8); off += 8;
	page[off++] = 0x02; page[off++] = 0x03; page[off++] = 0;
	page[off++] = 4; memcpy(page + off, "6001", 4); off += 4;
	page[off++] = 0x01; page[off++] = 0x03; page[off++] = 0;
	page[off++] = 16; memcpy(page + off, naa16, 16); off += 16;
	page[2] = (uint8_t)((off - 4) >> 8);
	page[3] = (uint8_t)(off - 4);

	memset(&id, 0, sizeof(id));
	ret = svm_xcopy_parse_vpd83(page, off, &id);
	ok(ret == 0 && id.naa_len == 16 && !memcmp(id.naa, naa16, 16) &&
	   id.pdt == 0,
	   "vpd83: the 16-byte binary NAA of the LU is picked (ret %d len %u)",
	   ret, id.naa_len);

	/* Only the 8-byte one (page cut before the 16-byte designator). */
	page[3] = (uint8_t)(off - 4 - 20 - 8);
	ret = svm_xcopy_parse_vpd83(page, off - 20 - 8, &id);
	ok(ret == 0 && id.naa_len == 8 && id.naa[0] == 0x55,
	   "vpd83: an 8-byte NAA is accepted when it is the only one");

	/* No NAA of the LU: vendor id and target port NAA only. */
	page[3] = 24;
	ok(svm_xcopy_parse_vpd83(page, 28, &id) == -ENOTTY,
	   "vpd83: no NAA of the logical unit -> -ENOTTY");

	page[1] = 0x80;
	ok(svm_xcopy_parse_vpd83(page, 28, &id) == -EINVAL,
	   "vpd83: another page -> -EINVAL");
	page[1] = 0x83;

	/* A descriptor running past the page. */
	page[3] = 14;
	page[4 + 3] = 40;
	ok(svm_xcopy_parse_vpd83(page, 18, &id) == -EINVAL,
	   "vpd83: a descriptor longer than the page -> -EINVAL");
}

static void test_readcap(void)
{
	uint8_t rc[32] = { 0, 0, 0, 0, 0, 0x01, 0xff, 0xff,	/* last LBA */
			   0, 0, 0x10, 0 };			/* 4096 */
	struct svm_xcopy_id id;

	memset(&id, 0, sizeof(id));
	ok(svm_xcopy_parse_readcap16(rc, sizeof(rc), &id) == 0 &&
	   id.nr_blocks == 0x20000 && id.block_size == 4096,
	   "readcap16: last LBA + 1 blocks of 4096 bytes");
	rc[10] = 0;
	ok(svm_xcopy_parse_readcap16(rc, sizeof(rc), &id) == -EINVAL,
	   "readcap16: block size 0 -> -EINVAL");
	ok(svm_xcopy_parse_readcap16(rc, 8, &id) == -EINVAL,
	   "readcap16: short response -> -EINVAL");
}

/* What LIO (Linux 6.1) answers to OPERATING PARAMETERS. */
static const uint8_t lio_opparams[46] = {
	0, 0, 0, 42,		/* available data */
	1, 0, 0, 0,		/* SNLID */
	0, 2,			/* max target descriptors */
	0, 1,			/* max segment descriptors */
	0, 0, 0x04, 0,		/* max descriptor list length 1024 */
	0x10, 0, 0, 0,		/* max segment length 256 MiB */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 1,		/* total concurrent copies */
	1, 9, 9, 9,		/* max concurrent, granularities */
	0, 0, 0, 2,		/* implemented descriptor list length */
	0x02, 0xe4,
};

static void test_limits(void)
{
	struct svm_xcopy_limits l;

	ok(svm_xcopy_parse_limits(lio_opparams, sizeof(lio_opparams), &l) == 0 &&
	   l.snlid == 1 && l.max_target_desc == 2 && l.max_segment_desc == 1 &&
	   l.max_desc_list_len == 1024 && l.max_segment_len == 268435456 &&
	   l.total_concurrent_copies == 1 && l.max_concurrent_copies == 1 &&
	   l.data_seg_granularity == 9 && l.nr_impl_desc == 2 &&
	   l.impl_desc[0] == 0x02 && l.impl_desc[1] == 0xe4,
	   "limits: LIO's operating parameters");
	ok(svm_xcopy_parse_limits(lio_opparams, 40, &l) == -EINVAL,
	   "limits: short response -> -EINVAL");
}

static void test_plan(void)
{
	struct svm_xcopy_limits l;
	uint32_t sb = 0, sp = 0;
	const char *why;

	svm_xcopy_parse_limits(lio_opparams, sizeof(lio_opparams), &l);
	ok(svm_xcopy_plan(&l, 512, &sb, &sp, &why) == 0 && sb == 65535 &&
	   sp == 1,
	   "plan: LIO, 512-byte blocks: 65535 blocks a segment (16-bit count), 1 a command (%u %u)",
	   sb, sp);
	l.max_segment_len = 1 << 20;
	ok(svm_xcopy_plan(&l, 4096, &sb, &sp, &why) == 0 && sb == 256,
	   "plan: 1 MiB segments of 4 KiB blocks: 256 blocks");
	l.max_segment_len = 0;
	ok(svm_xcopy_plan(&l, 512, &sb, &sp, &why) == 0 && sb == 65535,
	   "plan: no maximum segment length: 65535 blocks");
	l.max_segment_desc = 100;
	ok(svm_xcopy_plan(&l, 512, &sb, &sp, &why) == 0 && sp == 34,
	   "plan: 100 segments allowed, but 1024 bytes of descriptors hold 34 (%u)",
	   sp);
	l.max_desc_list_len = 0;
	ok(svm_xcopy_plan(&l, 512, &sb, &sp, &why) == 0 && sp == 100,
	   "plan: no descriptor list limit: max segment descriptors");
	l.max_segment_len = 100;
	ok(svm_xcopy_plan(&l, 512, &sb, &sp, &why) == -EOPNOTSUPP && why,
	   "plan: a segment shorter than a block -> -EOPNOTSUPP (%s)",
	   why ? why : "?");
	l.max_segment_len = 0;
	l.max_target_desc = 1;
	ok(svm_xcopy_plan(&l, 512, &sb, &sp, &why) == -EOPNOTSUPP,
	   "plan: one target descriptor -> -EOPNOTSUPP");
	l.max_target_desc = 2;
	l.max_desc_list_len = 80;
	ok(svm_xcopy_plan(&l, 512, &sb, &sp, &why) == -EOPNOTSUPP,
	   "plan: a descriptor list too short for 2 targets + 1 segment -> -EOPNOTSUPP");
}

static void make_ids(struct svm_xcopy_id *s, struct svm_xcopy_id *d)
{
	memset(s, 0, sizeof(*s));
	memset(d, 0, sizeof(*d));
	s->naa_len = d->naa_len = 16;
	memcpy(s->naa, naa16, 16);
	memcpy(d->naa, naa16, 16);
	d->naa[4] = 0x22;
	s->block_size = d->block_size = 512;
	s->nr_blocks = d->nr_blocks = 1ull << 40;
}

static void test_build(void)
{
	struct svm_xcopy_id s, d;
	uint8_t buf[1024], cdb[16];
	uint64_t blocks = 0;
	const uint8_t *t, *g;
	int len;

	make_ids(&s, &d);
	len = svm_xcopy_build(buf, sizeof(buf), &s, 0x0102030405060708ull,
			      &d, 0x1112131415161718ull, 10, 4, 8, &blocks);
	ok(len == 16 + 64 + 3 * 28 && blocks == 10,
	   "build: 10 blocks in 4-block segments: 3 segments, %d bytes", len);
	ok(buf[0] == 0 && buf[1] == 0x18 && be16(buf + 2) == 64 &&
	   be32(buf + 4) == 0 && be32(buf + 8) == 3 * 28 && be32(buf + 12) == 0,
	   "build: header (list id unused, 64 bytes of targets, 84 of segments, no inline data)");
	t = buf + 16;
	ok(t[0] == 0xe4 && t[1] == 0 && be16(t + 2) == 0 && t[4] == 0x01 &&
	   t[5] == 0x03 && t[6] == 0 && t[7] == 16 && !memcmp(t + 8, naa16, 16) &&
	   t[24] == 0 && t[27] == 0 && t[28] == 0 &&
	   t[29] == 0 && t[30] == 0x02 && t[31] == 0x00,
	   "build: source identification target descriptor 0xE4 (binary NAA of the LU, block length 512)");
	t = buf + 48;
	ok(t[0] == 0xe4 && t[7] == 16 && t[8 + 4] == 0x22 && t[30] == 0x02,
	   "build: destination target descriptor carries the destination's NAA");
	g = buf + 80;
	ok(g[0] == 0x02 && g[1] == 0 && be16(g + 2) == 24 && be16(g + 4) == 0 &&
	   be16(g + 6) == 1 && be16(g + 8) == 0 && be16(g + 10) == 4 &&
	   be64(g + 12) == 0x0102030405060708ull &&
	   be64(g + 20) == 0x1112131415161718ull,
	   "build: first segment 0x02, descriptors 0 -> 1, 4 blocks, big-endian LBAs");
	g = buf + 80 + 28;
	ok(be16(g + 10) == 4 && be64(g + 12) == 0x0102030405060708ull + 4 &&
	   be64(g + 20) == 0x1112131415161718ull + 4,
	   "build: second segment follows the first");
	g = buf + 80 + 56;
	ok(be16(g + 10) == 2 && be64(g + 12) == 0x0102030405060708ull + 8 &&
	   be64(g + 20) == 0x1112131415161718ull + 8,
	   "build: last segment carries the remaining 2 blocks");

	len = svm_xcopy_build(buf, sizeof(buf), &s, 0, &d, 0, 10, 4, 2,
			      &blocks);
	ok(len == 16 + 64 + 56 && blocks == 8,
	   "build: 2 segments a command cover 8 of 10 blocks");
	ok(svm_xcopy_build(buf, 100, &s, 0, &d, 0, 10, 4, 8, &blocks) ==
	   -ENOSPC, "build: a buffer too small -> -ENOSPC");
	ok(svm_xcopy_build(buf, sizeof(buf), &s, 0, &d, 0, 10, 0x10000, 8,
			   &blocks) == -EINVAL,
	   "build: more than 65535 blocks a segment -> -EINVAL");
	ok(svm_xcopy_build(buf, sizeof(buf), &s, 0, &d, 0, 0, 4, 8,
			   &blocks) == -EINVAL, "build: 0 blocks -> -EINVAL");

	/* A whole range as svm_xcopy_copy() walks it, with LIO's limits. */
	{
		uint64_t total = 200000, done = 0, cmds = 0;
		int contiguous = 1;

		while (done < total) {
			len = svm_xcopy_build(buf, sizeof(buf), &s, 7 + done,
					      &d, 1000 + done, total - done,
					      65535, 1, &blocks);
			if (len != 16 + 64 + 28 ||
			    be64(buf + 80 + 12) != 7 + done ||
			    be64(buf + 80 + 20) != 1000 + done ||
			    be16(buf + 80 + 10) != blocks) {
				contiguous = 0;
				break;
			}
			done += blocks;
			cmds++;
		}
		ok(contiguous && done == total && cmds == 4,
		   "build: 200000 blocks with LIO's limits: 4 contiguous commands (%llu)",
		   (unsigned long long)cmds);
	}

	svm_xcopy_cdb_xcopy(cdb, 0x01020304);
	ok(cdb[0] == 0x83 && cdb[1] == 0 && be32(cdb + 10) == 0x01020304 &&
	   cdb[15] == 0 && cdb[2] == 0,
	   "cdb: EXTENDED COPY (LID1) with the parameter list length at 10..13");
	svm_xcopy_cdb_rcr_opparams(cdb, 256);
	ok(cdb[0] == 0x84 && cdb[1] == 0x03 && be32(cdb + 10) == 256,
	   "cdb: RECEIVE COPY RESULTS, OPERATING PARAMETERS");
}

static void test_sense(void)
{
	uint8_t fixed[18] = { 0x70, 0, 0x0a, 0, 0, 0, 0, 10,
			      0, 0, 0, 0, 0x0d, 0x02 };
	uint8_t desc[8] = { 0x72, 0x05, 0x20, 0x00 };
	struct svm_xcopy_sense s;
	char str[160];

	ok(svm_xcopy_sense_decode(fixed, sizeof(fixed), &s) == 0 &&
	   s.key == 0x0a && s.asc == 0x0d && s.ascq == 0x02,
	   "sense: fixed format, COPY ABORTED 0x0d/0x02");
	svm_xcopy_sense_str(&s, str, sizeof(str));
	ok(svm_xcopy_sense_errno(&s) == -EOPNOTSUPP &&
	   !strcmp(str, "COPY ABORTED: copy target device not reachable (asc 0x0d ascq 0x02)"),
	   "sense: COPY ABORTED is a refusal: %s", str);
	ok(svm_xcopy_sense_decode(desc, sizeof(desc), &s) == 0 &&
	   s.key == 5 && s.asc == 0x20 && svm_xcopy_sense_errno(&s) == -EOPNOTSUPP,
	   "sense: descriptor format, ILLEGAL REQUEST is a refusal");
	svm_xcopy_sense_str(&s, str, sizeof(str));
	ok(!strcmp(str, "ILLEGAL REQUEST: invalid command operation code (asc 0x20 ascq 0x00)"),
	   "sense: %s", str);
	fixed[0] = 0xf0;	/* VALID bit set */
	fixed[2] = 0x03;
	fixed[12] = 0x11;
	fixed[13] = 0;
	ok(svm_xcopy_sense_decode(fixed, sizeof(fixed), &s) == 0 &&
	   svm_xcopy_sense_errno(&s) == -EIO,
	   "sense: MEDIUM ERROR -> -EIO");
	s.key = 6;
	ok(svm_xcopy_sense_errno(&s) == -EAGAIN, "sense: UNIT ATTENTION -> -EAGAIN");
	s.key = 7;
	ok(svm_xcopy_sense_errno(&s) == -EROFS, "sense: DATA PROTECT -> -EROFS");
	s.key = 1;
	ok(svm_xcopy_sense_errno(&s) == 0, "sense: RECOVERED ERROR -> 0");
	s.key = 0xe;
	ok(svm_xcopy_sense_errno(&s) == -EILSEQ, "sense: MISCOMPARE -> -EILSEQ");
	s.key = 4; s.asc = 0x99; s.ascq = 0x01;
	svm_xcopy_sense_str(&s, str, sizeof(str));
	ok(!strcmp(str, "HARDWARE ERROR: unknown additional sense (asc 0x99 ascq 0x01)"),
	   "sense: unknown asc/ascq shown in hex: %s", str);
	fixed[0] = 0x70;
	fixed[7] = 0;	/* no additional sense bytes */
	ok(svm_xcopy_sense_decode(fixed, 8, &s) == 0 && s.key == 3 &&
	   s.asc == 0, "sense: fixed format without additional bytes");
	desc[0] = 0x12;
	ok(svm_xcopy_sense_decode(desc, sizeof(desc), &s) == -EINVAL,
	   "sense: unknown response code -> -EINVAL");
	ok(svm_xcopy_sense_decode(desc, 0, &s) == -EINVAL,
	   "sense: empty -> -EINVAL");
}

/* svm_xcopy_copy()'s checks before any SG_IO, and SG_IO on a file. */
static void test_copy_checks(void)
{
	struct svm_xcopy_limits l;
	struct svm_xcopy_id s, d;
	struct svm_xcopy_stats st;
	char err[256] = "";
	FILE *f;
	int ret;

	svm_xcopy_parse_limits(lio_opparams, sizeof(lio_opparams), &l);
	make_ids(&s, &d);
	s.nr_blocks = d.nr_blocks = 1000;
	ret = svm_xcopy_copy(-1, &s, 990, -1, &d, 0, 20, &l, &st, err,
			     sizeof(err));
	ok(ret == -ERANGE && strstr(err, "beyond the source") &&
	   st.blocks_done == 0, "copy: beyond the source -> -ERANGE (%s)", err);
	ret = svm_xcopy_copy(-1, &s, 0, -1, &d, 995, 20, &l, &st, err,
			     sizeof(err));
	ok(ret == -ERANGE && strstr(err, "beyond the destination"),
	   "copy: beyond the destination -> -ERANGE (%s)", err);
	d.block_size = 4096;
	ret = svm_xcopy_copy(-1, &s, 0, -1, &d, 0, 20, &l, &st, err,
			     sizeof(err));
	ok(ret == -EOPNOTSUPP && strstr(err, "block sizes differ"),
	   "copy: differing block sizes -> -EOPNOTSUPP (%s)", err);
	d.block_size = 512;
	l.max_target_desc = 1;
	ret = svm_xcopy_copy(-1, &s, 0, -1, &d, 0, 20, &l, &st, err,
			     sizeof(err));
	ok(ret == -EOPNOTSUPP, "copy: limits without room -> -EOPNOTSUPP (%s)",
	   err);
	l.max_target_desc = 2;
	ok(svm_xcopy_copy(-1, &s, 0, -1, &d, 0, 0, &l, &st, err,
			  sizeof(err)) == 0, "copy: 0 blocks is a no-op");
	f = tmpfile();
	if (f) {
		ret = svm_xcopy_copy(-1, &s, 0, fileno(f), &d, 0, 20, &l, &st,
				     err, sizeof(err));
		ok(ret == -ENOTTY && strstr(err, "not a SCSI device"),
		   "copy: SG_IO on a file -> -ENOTTY (%s)", err);
		fclose(f);
	} else {
		ok(0, "tmpfile: %s", strerror(errno));
	}
}

int main(void)
{
	tap_plan(51);
	test_vpd83();
	test_readcap();
	test_limits();
	test_plan();
	test_build();
	test_sense();
	test_copy_checks();
	return tap_done();
}
