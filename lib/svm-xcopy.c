// SPDX-License-Identifier: GPL-2.0
/*
 * svm-xcopy.c - libsvmotion: SCSI EXTENDED COPY (LID1) over SG_IO.
 * See svm-xcopy.h. References: SPC-3 6.3 (EXTENDED COPY), 6.18.4 (RECEIVE
 * COPY RESULTS, OPERATING PARAMETERS), 7.6.3 (VPD page 0x83), SBC-3 5.16
 * (READ CAPACITY(16)).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <scsi/sg.h>

#include "svm-xcopy.h"
#include "svm-util.h"

#define XCOPY_TIMEOUT_MS	(120 * 1000)
#define SHORT_TIMEOUT_MS	(30 * 1000)
#define SENSE_LEN		64

/* --- Big-endian helpers -------------------------------------------------- */

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, (uint32_t)v);
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* --- Pure functions ------------------------------------------------------ */

int svm_xcopy_parse_vpd83(const uint8_t *buf, size_t len,
			  struct svm_xcopy_id *id)
{
	size_t end, off;
	int found = 0;

	if (len < 4 || buf[1] != 0x83)
		return -EINVAL;
	end = 4 + (size_t)get_be16(buf + 2);
	if (end > len)
		end = len;	/* truncated: use what we have */
	id->pdt = buf[0] & 0x1f;
	for (off = 4; off + 4 <= end; off += 4 + (size_t)buf[off + 3]) {
		const uint8_t *d = buf + off;
		uint8_t dlen = d[3];

		if (off + 4 + dlen > end)
			return -EINVAL;
		if ((d[0] & 0x0f) != 1 ||		/* code set binary */
		    (d[1] & 0x30) != 0 ||		/* association: LU */
		    (d[1] & 0x0f) != 3)			/* NAA */
			continue;
		if (dlen != 8 && dlen != 16)
			continue;
		/* Prefer the 16-byte IEEE Registered Extended form. */
		if (found && dlen <= id->naa_len)
			continue;
		memset(id->naa, 0, sizeof(id->naa));
		memcpy(id->naa, d + 4, dlen);
		id->naa_len = dlen;
		found = 1;
	}
	return found ? 0 : -ENOTTY;
}

int svm_xcopy_parse_readcap16(const uint8_t *buf, size_t len,
			      struct svm_xcopy_id *id)
{
	uint64_t last;

	if (len < 12)
		return -EINVAL;
	last = get_be64(buf);
	id->block_size = get_be32(buf + 8);
	if (id->block_size == 0 || last == UINT64_MAX)
		return -EINVAL;
	id->nr_blocks = last + 1;
	return 0;
}

int svm_xcopy_parse_limits(const uint8_t *buf, size_t len,
			   struct svm_xcopy_limits *lim)
{
	size_t n;

	memset(lim, 0, sizeof(*lim));
	if (len < 44)
		return -EINVAL;
	if ((size_t)get_be32(buf) + 4 < 44)
		return -EINVAL;
	lim->snlid = buf[4] & 1;
	lim->max_target_desc = get_be16(buf + 8);
	lim->max_segment_desc = get_be16(buf + 10);
	lim->max_desc_list_len = get_be32(buf + 12);
	lim->max_segment_len = get_be32(buf + 16);
	lim->max_inline_data = get_be32(buf + 20);
	lim->held_data_limit = get_be32(buf + 24);
	lim->max_stream_transfer = get_be32(buf + 28);
	lim->total_concurrent_copies = get_be16(buf + 34);
	lim->max_concurrent_copies = buf[36];
	lim->data_seg_granularity = buf[37];
	lim->inline_data_granularity = buf[38];
	lim->held_data_granularity = buf[39];
	n = buf[43];
	if (n > len - 44)
		n = len - 44;
	if (n > sizeof(lim->impl_desc))
		n = sizeof(lim->impl_desc);
	memcpy(lim->impl_desc, buf + 44, n);
	lim->nr_impl_desc = (uint8_t)n;
	return 0;
}

int svm_xcopy_plan(const struct svm_xcopy_limits *lim, uint32_t block_size,
		   uint32_t *seg_blocks, uint32_t *segs_per_cmd,
		   const char **why)
{
	const char *dummy;
	uint64_t b;
	uint32_t room;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (block_size == 0) {
		*why = "block size 0";
		return -EINVAL;
	}
	if (lim->max_target_desc < 2) {
		*why = "the target takes fewer than 2 target descriptors";
		return -EOPNOTSUPP;
	}
	if (lim->max_segment_desc < 1) {
		*why = "the target takes no segment descriptor";
		return -EOPNOTSUPP;
	}
	/* A maximum segment length of 0 means no limit (SPC-3). */
	b = lim->max_segment_len ? lim->max_segment_len / block_size :
	    SVM_XCOPY_SEG_MAX_BLOCKS;
	if (b == 0) {
		*why = "the maximum segment length is shorter than a block";
		return -EOPNOTSUPP;
	}
	if (b > SVM_XCOPY_SEG_MAX_BLOCKS)
		b = SVM_XCOPY_SEG_MAX_BLOCKS;
	*seg_blocks = (uint32_t)b;

	if (lim->max_desc_list_len) {
		if (lim->max_desc_list_len <
		    2 * SVM_XCOPY_TDESC_LEN + SVM_XCOPY_SEG_LEN) {
			*why = "the maximum descriptor list length is too short";
			return -EOPNOTSUPP;
		}
		room = (lim->max_desc_list_len - 2 * SVM_XCOPY_TDESC_LEN) /
		       SVM_XCOPY_SEG_LEN;
	} else {
		room = UINT32_MAX;
	}
	*segs_per_cmd = lim->max_segment_desc < room ?
			lim->max_segment_desc : room;
	return 0;
}

/* Identification target descriptor (0xE4) of a block device LUN. */
static void put_tdesc(uint8_t *d, const struct svm_xcopy_id *id)
{
	memset(d, 0, SVM_XCOPY_TDESC_LEN);
	d[0] = 0xe4;
	d[1] = id->pdt & 0x1f;		/* NUL 0, peripheral device type */
	/* 2-3: relative initiator port identifier 0 */
	d[4] = 0x01;			/* code set: binary */
	d[5] = 0x03;			/* association LU (0), type NAA (3) */
	d[7] = id->naa_len;
	memcpy(d + 8, id->naa, id->naa_len);
	/* 28-31: block device parameters: PAD 0, disk block length. */
	d[29] = id->block_size >> 16;
	d[30] = id->block_size >> 8;
	d[31] = id->block_size;
}

int svm_xcopy_build(uint8_t *buf, size_t buflen,
		    const struct svm_xcopy_id *src, uint64_t src_lba,
		    const struct svm_xcopy_id *dst, uint64_t dst_lba,
		    uint64_t nr_blocks, uint32_t seg_blocks,
		    uint32_t segs_per_cmd, uint64_t *blocks)
{
	uint64_t done = 0;
	uint32_t nseg = 0;
	size_t need, off;

	if (!nr_blocks || !seg_blocks || !segs_per_cmd ||
	    seg_blocks > SVM_XCOPY_SEG_MAX_BLOCKS ||
	    !src->naa_len || src->naa_len > SVM_XCOPY_DESIG_MAX ||
	    !dst->naa_len || dst->naa_len > SVM_XCOPY_DESIG_MAX)
		return -EINVAL;
	/* Segments this command carries. */
	{
		uint64_t want = (nr_blocks + seg_blocks - 1) / seg_blocks;

		nseg = want < segs_per_cmd ? (uint32_t)want : segs_per_cmd;
	}
	need = SVM_XCOPY_HDR_LEN + 2 * SVM_XCOPY_TDESC_LEN +
	       (size_t)nseg * SVM_XCOPY_SEG_LEN;
	if (need > buflen)
		return -ENOSPC;
	if (need > INT_MAX)
		return -EINVAL;

	memset(buf, 0, need);
	/* Header: list identifier 0, LIST ID USAGE 11b (none), priority 0. */
	buf[1] = 0x18;
	put_be16(buf + 2, 2 * SVM_XCOPY_TDESC_LEN);
	put_be32(buf + 8, nseg * SVM_XCOPY_SEG_LEN);
	/* 12-15: inline data length 0 */
	put_tdesc(buf + SVM_XCOPY_HDR_LEN, src);
	put_tdesc(buf + SVM_XCOPY_HDR_LEN + SVM_XCOPY_TDESC_LEN, dst);

	off = SVM_XCOPY_HDR_LEN + 2 * SVM_XCOPY_TDESC_LEN;
	for (uint32_t i = 0; i < nseg; i++, off += SVM_XCOPY_SEG_LEN) {
		uint8_t *s = buf + off;
		uint64_t n = nr_blocks - done;

		if (n > seg_blocks)
			n = seg_blocks;
		s[0] = 0x02;			/* block device to block device */
		s[1] = 0x00;			/* DC 0, CAT 0 */
		put_be16(s + 2, SVM_XCOPY_SEG_LEN - 4);
		put_be16(s + 4, 0);		/* source: descriptor 0 */
		put_be16(s + 6, 1);		/* destination: descriptor 1 */
		put_be16(s + 10, (uint16_t)n);
		put_be64(s + 12, src_lba + done);
		put_be64(s + 20, dst_lba + done);
		done += n;
	}
	*blocks = done;
	return (int)need;
}

void svm_xcopy_cdb_xcopy(uint8_t cdb[16], uint32_t param_len)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x83;		/* EXTENDED COPY */
	cdb[1] = 0x00;		/* service action: LID1 */
	put_be32(cdb + 10, param_len);
}

void svm_xcopy_cdb_rcr_opparams(uint8_t cdb[16], uint32_t alloc_len)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x84;		/* RECEIVE COPY RESULTS */
	cdb[1] = 0x03;		/* OPERATING PARAMETERS */
	put_be32(cdb + 10, alloc_len);
}

int svm_xcopy_sense_decode(const uint8_t *sb, size_t len,
			   struct svm_xcopy_sense *s)
{
	uint8_t rc;

	memset(s, 0, sizeof(*s));
	if (len < 1)
		return -EINVAL;
	rc = sb[0] & 0x7f;
	if (rc == 0x72 || rc == 0x73) {
		if (len < 4)
			return -EINVAL;
		s->key = sb[1] & 0x0f;
		s->asc = sb[2];
		s->ascq = sb[3];
		return 0;
	}
	if (rc == 0x70 || rc == 0x71) {
		if (len < 3)
			return -EINVAL;
		s->key = sb[2] & 0x0f;
		if (len >= 14 && sb[7] >= 6) {
			s->asc = sb[12];
			s->ascq = sb[13];
		}
		return 0;
	}
	return -EINVAL;
}

int svm_xcopy_sense_errno(const struct svm_xcopy_sense *s)
{
	switch (s->key) {
	case 0x0:	/* NO SENSE */
	case 0x1:	/* RECOVERED ERROR */
		return 0;
	case 0x2:	/* NOT READY */
	case 0x6:	/* UNIT ATTENTION */
	case 0xb:	/* ABORTED COMMAND */
		return -EAGAIN;
	case 0x5:	/* ILLEGAL REQUEST */
	case 0xa:	/* COPY ABORTED */
		return -EOPNOTSUPP;
	case 0x7:	/* DATA PROTECT */
		return -EROFS;
	case 0xe:	/* MISCOMPARE */
		return -EILSEQ;
	default:	/* MEDIUM ERROR, HARDWARE ERROR, ... */
		return -EIO;
	}
}

const char *svm_xcopy_sense_key_name(uint8_t key)
{
	static const char *const names[16] = {
		"NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR",
		"HARDWARE ERROR", "ILLEGAL REQUEST", "UNIT ATTENTION",
		"DATA PROTECT", "BLANK CHECK", "VENDOR SPECIFIC",
		"COPY ABORTED", "ABORTED COMMAND", "RESERVED (0xc)",
		"VOLUME OVERFLOW", "MISCOMPARE", "COMPLETED",
	};

	return names[key & 0x0f];
}

static const struct {
	uint8_t asc, ascq;
	const char *text;
} asc_names[] = {
	{ 0x04, 0x00, "logical unit not ready" },
	{ 0x0c, 0x00, "write error" },
	{ 0x0d, 0x00, "error detected by third party temporary initiator" },
	{ 0x0d, 0x01, "third party device failure" },
	{ 0x0d, 0x02, "copy target device not reachable" },
	{ 0x0d, 0x03, "incorrect copy target device type" },
	{ 0x0d, 0x04, "copy target device data underrun" },
	{ 0x0d, 0x05, "copy target device data overrun" },
	{ 0x11, 0x00, "unrecovered read error" },
	{ 0x1a, 0x00, "parameter list length error" },
	{ 0x20, 0x00, "invalid command operation code" },
	{ 0x21, 0x00, "logical block address out of range" },
	{ 0x24, 0x00, "invalid field in CDB" },
	{ 0x25, 0x00, "logical unit not supported" },
	{ 0x26, 0x00, "invalid field in parameter list" },
	{ 0x26, 0x01, "parameter not supported" },
	{ 0x26, 0x02, "parameter value invalid" },
	{ 0x26, 0x04, "invalid release of persistent reservation" },
	{ 0x26, 0x06, "too many target descriptors" },
	{ 0x26, 0x07, "unsupported target descriptor type code" },
	{ 0x26, 0x08, "too many segment descriptors" },
	{ 0x26, 0x09, "unsupported segment descriptor type code" },
	{ 0x26, 0x0a, "unexpected inexact segment" },
	{ 0x26, 0x0b, "inline data length exceeded" },
	{ 0x26, 0x0c, "invalid operation for copy source or destination" },
	{ 0x26, 0x0d, "copy segment granularity violation" },
	{ 0x27, 0x00, "write protected" },
	{ 0x29, 0x00, "power on, reset, or bus device reset occurred" },
	{ 0x2a, 0x01, "mode parameters changed" },
	{ 0x2c, 0x00, "command sequence error" },
	{ 0x3f, 0x0e, "reported luns data has changed" },
	{ 0x55, 0x03, "insufficient resources" },
};

void svm_xcopy_sense_str(const struct svm_xcopy_sense *s, char *buf,
			 size_t len)
{
	const char *text = NULL;

	for (size_t i = 0; i < sizeof(asc_names) / sizeof(asc_names[0]); i++)
		if (asc_names[i].asc == s->asc && asc_names[i].ascq == s->ascq)
			text = asc_names[i].text;
	if (!text && s->asc == 0 && s->ascq == 0)
		text = "no additional sense information";
	snprintf(buf, len, "%s: %s (asc 0x%02x ascq 0x%02x)",
		 svm_xcopy_sense_key_name(s->key),
		 text ? text : "unknown additional sense", s->asc, s->ascq);
}

/* --- SG_IO --------------------------------------------------------------- */

/* The path behind fd, for messages. */
static void fd_name(int fd, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	if (fd < 0) {
		snprintf(buf, len, "(fd %d)", fd);
		return;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	if (n <= 0) {
		snprintf(buf, len, "fd %d", fd);
		return;
	}
	buf[n] = '\0';
}

/*
 * Send one CDB. 0 on GOOD status; otherwise a negative errno and a reason
 * in why ("SG_IO: ...", the decoded sense, ...).
 */
static int sg_cmd_once(int fd, const uint8_t *cdb, int cdb_len, int dir,
		       void *data, uint32_t data_len, unsigned int timeout_ms,
		       uint32_t *resid, char *why, size_t whylen, int *ua)
{
	uint8_t sense[SENSE_LEN];
	struct sg_io_hdr io;
	struct svm_xcopy_sense s;
	char sstr[160];
	int ret;

	memset(&io, 0, sizeof(io));
	memset(sense, 0, sizeof(sense));
	io.interface_id = 'S';
	io.cmd_len = (unsigned char)cdb_len;
	io.cmdp = (unsigned char *)cdb;
	io.dxfer_direction = data_len ? dir : SG_DXFER_NONE;
	io.dxferp = data;
	io.dxfer_len = data_len;
	io.mx_sb_len = sizeof(sense);
	io.sbp = sense;
	io.timeout = timeout_ms;

	if (ioctl(fd, SG_IO, &io) < 0) {
		ret = -errno;
		if (ret == -ENOTTY || ret == -EINVAL ||
		    ret == -EOPNOTSUPP) {
			snprintf(why, whylen, "not a SCSI device (SG_IO: %s)",
				 strerror(-ret));
			return -ENOTTY;
		}
		snprintf(why, whylen, "SG_IO: %s", strerror(-ret));
		return ret;
	}
	if (resid)
		*resid = io.resid > 0 ? (uint32_t)io.resid : 0;
	if (io.host_status || (io.driver_status & 0x0f) == 0x06 /* timeout */) {
		snprintf(why, whylen,
			 "transport failure (host status 0x%x, driver status 0x%x)",
			 io.host_status, io.driver_status);
		return -EIO;
	}
	if (io.status == 0 && !(io.info & SG_INFO_CHECK))
		return 0;
	if (io.sb_len_wr > 0 &&
	    svm_xcopy_sense_decode(sense, io.sb_len_wr, &s) == 0) {
		ret = svm_xcopy_sense_errno(&s);
		*ua = s.key == 0x6;
		if (ret == 0 && io.status == 0)
			return 0;	/* recovered */
		svm_xcopy_sense_str(&s, sstr, sizeof(sstr));
		snprintf(why, whylen, "%s", sstr);
		return ret ? ret : -EIO;
	}
	switch (io.status) {
	case 0x08:	/* BUSY */
	case 0x28:	/* TASK SET FULL */
		snprintf(why, whylen, "device busy (SCSI status 0x%02x)",
			 io.status);
		return -EAGAIN;
	case 0x18:
		snprintf(why, whylen, "reservation conflict");
		return -EBUSY;
	case 0:
		snprintf(why, whylen, "failed (driver status 0x%x)",
			 io.driver_status);
		return -EIO;
	default:
		snprintf(why, whylen, "SCSI status 0x%02x without sense data",
			 io.status);
		return -EIO;
	}
}

/*
 * sg_cmd_once, retried a few times on UNIT ATTENTION: a unit attention
 * (e.g. "reported luns data has changed" after LUNs were added) reports an
 * event, the command was not executed, and the next attempt proceeds.
 */
static int sg_cmd(int fd, const uint8_t *cdb, int cdb_len, int dir,
		  void *data, uint32_t data_len, unsigned int timeout_ms,
		  uint32_t *resid, char *why, size_t whylen)
{
	int ret = 0;

	for (int i = 0; i < 5; i++) {
		int ua = 0;

		ret = sg_cmd_once(fd, cdb, cdb_len, dir, data, data_len,
				  timeout_ms, resid, why, whylen, &ua);
		if (!ret || !ua)
			break;
	}
	return ret;
}

int svm_xcopy_identify(int fd, struct svm_xcopy_id *id,
		       char *err, size_t errlen)
{
	uint8_t cdb[16], buf[512];
	char name[PATH_MAX], why[200];
	uint32_t resid = 0;
	struct stat stb;
	int ret;

	memset(id, 0, sizeof(*id));
	fd_name(fd, name, sizeof(name));

	/*
	 * A partition passes SG_IO to its disk, whose LBAs are not the
	 * partition's: XCOPY does not apply.
	 */
	if (fstat(fd, &stb) == 0 && S_ISBLK(stb.st_mode)) {
		char sys[96];

		snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/partition",
			 major(stb.st_rdev), minor(stb.st_rdev));
		if (access(sys, F_OK) == 0) {
			svm_set_err(err, errlen,
				"svm-xcopy: %s: a partition: EXTENDED COPY addresses the whole disk",
				name);
			return -ENOTTY;
		}
	}

	/* INQUIRY, EVPD 1, page 0x83 */
	memset(cdb, 0, 6);
	cdb[0] = 0x12;
	cdb[1] = 0x01;
	cdb[2] = 0x83;
	put_be16(cdb + 3, sizeof(buf));
	memset(buf, 0, sizeof(buf));
	ret = sg_cmd(fd, cdb, 6, SG_DXFER_FROM_DEV, buf, sizeof(buf),
		     SHORT_TIMEOUT_MS, &resid, why, sizeof(why));
	if (ret) {
		svm_set_err(err, errlen, "svm-xcopy: %s: INQUIRY VPD 0x83: %s",
			name, why);
		return ret;
	}
	ret = svm_xcopy_parse_vpd83(buf, sizeof(buf) - resid, id);
	if (ret == -ENOTTY) {
		svm_set_err(err, errlen,
			"svm-xcopy: %s: no NAA designator of the logical unit in VPD page 0x83",
			name);
		return ret;
	}
	if (ret) {
		svm_set_err(err, errlen, "svm-xcopy: %s: malformed VPD page 0x83",
			name);
		return ret;
	}

	/* READ CAPACITY(16): SERVICE ACTION IN(16), service action 0x10 */
	memset(cdb, 0, 16);
	cdb[0] = 0x9e;
	cdb[1] = 0x10;
	put_be32(cdb + 10, 32);
	memset(buf, 0, 32);
	ret = sg_cmd(fd, cdb, 16, SG_DXFER_FROM_DEV, buf, 32,
		     SHORT_TIMEOUT_MS, &resid, why, sizeof(why));
	if (ret) {
		svm_set_err(err, errlen, "svm-xcopy: %s: READ CAPACITY(16): %s",
			name, why);
		return ret;
	}
	ret = svm_xcopy_parse_readcap16(buf, 32 - resid, id);
	if (ret) {
		svm_set_err(err, errlen,
			"svm-xcopy: %s: READ CAPACITY(16): malformed response",
			name);
		return ret;
	}
	return 0;
}

int svm_xcopy_limits(int fd, struct svm_xcopy_limits *lim,
		     char *err, size_t errlen)
{
	uint8_t cdb[16], buf[256];
	char name[PATH_MAX], why[200];
	uint32_t resid = 0;
	int ret;

	memset(lim, 0, sizeof(*lim));
	fd_name(fd, name, sizeof(name));
	svm_xcopy_cdb_rcr_opparams(cdb, sizeof(buf));
	memset(buf, 0, sizeof(buf));
	ret = sg_cmd(fd, cdb, 16, SG_DXFER_FROM_DEV, buf, sizeof(buf),
		     SHORT_TIMEOUT_MS, &resid, why, sizeof(why));
	if (ret) {
		svm_set_err(err, errlen,
			"svm-xcopy: %s: RECEIVE COPY RESULTS (operating parameters): %s",
			name, why);
		return ret;
	}
	ret = svm_xcopy_parse_limits(buf, sizeof(buf) - resid, lim);
	if (ret)
		svm_set_err(err, errlen,
			"svm-xcopy: %s: RECEIVE COPY RESULTS: malformed operating parameters",
			name);
	return ret;
}

int svm_xcopy_copy(int src_fd, const struct svm_xcopy_id *src, uint64_t src_lba,
		   int dst_fd, const struct svm_xcopy_id *dst, uint64_t dst_lba,
		   uint64_t nr_blocks, const struct svm_xcopy_limits *lim,
		   struct svm_xcopy_stats *st, char *err, size_t errlen)
{
	char name[PATH_MAX], sname[PATH_MAX], why[200];
	struct svm_xcopy_stats dummy;
	uint32_t seg_blocks, segs, plen;
	const char *reason;
	uint64_t done = 0;
	size_t buflen;
	uint8_t *buf;
	int ret;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	fd_name(dst_fd, name, sizeof(name));
	if (nr_blocks == 0)
		return 0;
	if (src->block_size != dst->block_size) {
		svm_set_err(err, errlen,
			"svm-xcopy: %s: block sizes differ (source %u, destination %u bytes)",
			name, src->block_size, dst->block_size);
		return -EOPNOTSUPP;
	}
	if (src_lba > src->nr_blocks || nr_blocks > src->nr_blocks - src_lba) {
		fd_name(src_fd, sname, sizeof(sname));
		svm_set_err(err, errlen,
			"svm-xcopy: %s: blocks %llu+%llu beyond the source's %llu",
			sname, (unsigned long long)src_lba,
			(unsigned long long)nr_blocks,
			(unsigned long long)src->nr_blocks);
		return -ERANGE;
	}
	if (dst_lba > dst->nr_blocks || nr_blocks > dst->nr_blocks - dst_lba) {
		svm_set_err(err, errlen,
			"svm-xcopy: %s: blocks %llu+%llu beyond the destination's %llu",
			name, (unsigned long long)dst_lba,
			(unsigned long long)nr_blocks,
			(unsigned long long)dst->nr_blocks);
		return -ERANGE;
	}
	ret = svm_xcopy_plan(lim, dst->block_size, &seg_blocks, &segs, &reason);
	if (ret) {
		svm_set_err(err, errlen, "svm-xcopy: %s: %s", name, reason);
		return ret;
	}
	/* Never more segments per command than a short range needs. */
	{
		uint64_t need = (nr_blocks + seg_blocks - 1) / seg_blocks;

		if (need < segs)
			segs = (uint32_t)need;
	}
	buflen = SVM_XCOPY_HDR_LEN + 2 * SVM_XCOPY_TDESC_LEN +
		 (size_t)segs * SVM_XCOPY_SEG_LEN;
	buf = malloc(buflen);
	if (!buf) {
		svm_set_err(err, errlen, "svm-xcopy: %s: out of memory", name);
		return -ENOMEM;
	}
	while (done < nr_blocks) {
		uint8_t cdb[16];
		uint64_t blocks;
		int len;

		len = svm_xcopy_build(buf, buflen, src, src_lba + done,
				      dst, dst_lba + done, nr_blocks - done,
				      seg_blocks, segs, &blocks);
		if (len < 0) {
			ret = len;
			svm_set_err(err, errlen,
				"svm-xcopy: %s: cannot encode the parameter list: %s",
				name, strerror(-ret));
			break;
		}
		plen = (uint32_t)len;
		svm_xcopy_cdb_xcopy(cdb, plen);
		ret = sg_cmd(dst_fd, cdb, 16, SG_DXFER_TO_DEV, buf, plen,
			     XCOPY_TIMEOUT_MS, NULL, why, sizeof(why));
		if (ret) {
			svm_set_err(err, errlen,
				"svm-xcopy: %s: EXTENDED COPY of blocks %llu+%llu to %llu %s: %s",
				name, (unsigned long long)(src_lba + done),
				(unsigned long long)blocks,
				(unsigned long long)(dst_lba + done),
				ret == -EOPNOTSUPP ? "refused" : "failed",
				why);
			break;
		}
		done += blocks;
		st->commands++;
		st->segments += (blocks + seg_blocks - 1) / seg_blocks;
		st->blocks_done = done;
	}
	free(buf);
	return ret;
}
