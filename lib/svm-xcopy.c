// SPDX-License-Identifier: GPL-2.0
/*
 * svm-xcopy.c - libsvmotion: SCSI EXTENDED COPY (LID1) over a SCSI
 * transport, and the SG_IO transport. See svm-xcopy.h. References: SPC-3
 * 6.3 (EXTENDED COPY), 6.18.4 (RECEIVE COPY RESULTS, OPERATING PARAMETERS),
 * 7.6.3 (VPD page 0x83), SBC-3 5.16 (READ CAPACITY(16)).
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

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
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

/*
 * buf[0..len) as the data-in of task (a copy the task owns), decoded by
 * libiscsi's scsi_datain_unmarshall(), whose readers of fixed fields stop
 * at the data's end. NULL when it cannot be decoded (or task is NULL).
 */
static void *lib_decode(struct scsi_task *task, const uint8_t *buf, size_t len)
{
	if (!task || !len || len > INT_MAX)
		return NULL;
	task->datain.data = malloc(len);
	if (!task->datain.data)
		return NULL;
	memcpy(task->datain.data, buf, len);
	task->datain.size = (int)len;
	return scsi_datain_unmarshall(task);
}

int svm_xcopy_parse_readcap16(const uint8_t *buf, size_t len,
			      struct svm_xcopy_id *id)
{
	struct scsi_readcapacity16 *rc;
	struct scsi_task *task;
	int ret = -EINVAL;

	if (len < 12)
		return -EINVAL;
	task = scsi_cdb_readcapacity16();
	if (!task)
		return -ENOMEM;
	rc = lib_decode(task, buf, len);
	if (rc && rc->block_length && rc->returned_lba != UINT64_MAX) {
		id->block_size = rc->block_length;
		id->nr_blocks = rc->returned_lba + 1;
		ret = 0;
	}
	scsi_free_scsi_task(task);
	return ret;
}

int svm_xcopy_parse_limits(const uint8_t *buf, size_t len,
			   struct svm_xcopy_limits *lim)
{
	struct scsi_copy_results_op_params *op;
	struct scsi_task *task;
	size_t n;

	memset(lim, 0, sizeof(*lim));
	if (len < 44 || len > INT_MAX)
		return -EINVAL;
	task = scsi_cdb_receive_copy_results(SCSI_COPY_RESULTS_OP_PARAMS, 0,
					     (int)len);
	if (!task)
		return -ENOMEM;
	/* NULL also when the available data is shorter than the page */
	op = lib_decode(task, buf, len);
	if (!op) {
		scsi_free_scsi_task(task);
		return -EINVAL;
	}
	lim->snlid = buf[4] & 1;	/* libiscsi does not decode it */
	lim->max_target_desc = op->max_target_desc_count;
	lim->max_segment_desc = op->max_segment_desc_count;
	lim->max_desc_list_len = op->max_desc_list_length;
	lim->max_segment_len = op->max_segment_length;
	lim->max_inline_data = op->max_inline_data_length;
	lim->held_data_limit = op->held_data_limit;
	lim->max_stream_transfer = op->max_stream_device_transfer_size;
	lim->total_concurrent_copies = op->total_concurrent_copies;
	lim->max_concurrent_copies = op->max_concurrent_copies;
	lim->data_seg_granularity = op->data_segment_granularity;
	lim->inline_data_granularity = op->inline_data_granularity;
	lim->held_data_granularity = op->held_data_granularity;
	/* the codes the response holds, not all it announces */
	n = op->impl_desc_list_length;
	if (n > len - 44)
		n = len - 44;
	if (n > sizeof(lim->impl_desc))
		n = sizeof(lim->impl_desc);
	memcpy(lim->impl_desc, op->imp_desc_type_codes, n);
	lim->nr_impl_desc = (uint8_t)n;
	scsi_free_scsi_task(task);
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
	/*
	 * scsi_parse_sense_data() reads by format, not by length: it gets
	 * the bytes the sense says it has (8 + ADDITIONAL SENSE LENGTH, at
	 * most len) followed by zeros, room for its reads past the end.
	 */
	uint8_t b[8 + 255 + 9] = { 0 };
	struct scsi_sense ls;
	uint8_t rc;
	size_t n;

	memset(s, 0, sizeof(*s));
	if (len < 1)
		return -EINVAL;
	rc = sb[0] & 0x7f;
	if (rc == 0x72 || rc == 0x73) {
		if (len < 4)
			return -EINVAL;
	} else if (rc == 0x70 || rc == 0x71) {
		if (len < 3)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	n = len >= 8 ? 8 + (size_t)sb[7] : len;
	if (n > len)
		n = len;
	memcpy(b, sb, n);
	memset(&ls, 0, sizeof(ls));
	scsi_parse_sense_data(&ls, b);
	s->key = ls.key & 0x0f;
	s->asc = (uint8_t)(ls.ascq >> 8);
	s->ascq = (uint8_t)ls.ascq;
	return 0;
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
	{ 0x27, 0x07, "space allocation failed write protect" },
	{ 0x29, 0x00, "power on, reset, or bus device reset occurred" },
	{ 0x2a, 0x01, "mode parameters changed" },
	{ 0x2c, 0x00, "command sequence error" },
	{ 0x38, 0x07, "thin provisioning soft threshold reached" },
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

/* --- Transport helpers --------------------------------------------------- */

int svm_scsi_sense_result(const struct svm_xcopy_sense *s, char *why,
			  size_t whylen)
{
	int ret = svm_xcopy_sense_errno(s);

	svm_xcopy_sense_str(s, why, whylen);
	return ret ? ret : -EIO;
}

int svm_scsi_status_result(int status, char *why, size_t whylen)
{
	switch (status) {
	case 0x08:	/* BUSY */
	case 0x28:	/* TASK SET FULL */
		snprintf(why, whylen, "device busy (SCSI status 0x%02x)",
			 status);
		return -EAGAIN;
	case 0x18:
		snprintf(why, whylen, "reservation conflict");
		return -EBUSY;
	default:
		snprintf(why, whylen, "SCSI status 0x%02x without sense data",
			 status);
		return -EIO;
	}
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

static int sg_dxfer(enum svm_scsi_dir dir, uint32_t len)
{
	if (!len || dir == SVM_SCSI_NONE)
		return SG_DXFER_NONE;
	return dir == SVM_SCSI_TO_DEV ? SG_DXFER_TO_DEV : SG_DXFER_FROM_DEV;
}

/* struct svm_scsi_dev.cmd over SG_IO. */
static int sg_cmd(struct svm_scsi_dev *d, const uint8_t *cdb,
		  unsigned int cdb_len, enum svm_scsi_dir dir, void *data,
		  uint32_t data_len, unsigned int timeout_ms, uint32_t *resid,
		  struct svm_xcopy_sense *s, char *why, size_t whylen)
{
	struct svm_scsi_sg *sg = (struct svm_scsi_sg *)d;
	uint8_t sense[SENSE_LEN];
	struct sg_io_hdr io;
	int ret;

	memset(s, 0, sizeof(*s));
	if (sg->refuse) {
		snprintf(why, whylen, "%s", sg->refuse);
		return -ENOTTY;
	}
	memset(&io, 0, sizeof(io));
	memset(sense, 0, sizeof(sense));
	io.interface_id = 'S';
	io.cmd_len = (unsigned char)cdb_len;
	io.cmdp = (unsigned char *)cdb;
	io.dxfer_direction = sg_dxfer(dir, data_len);
	io.dxferp = data;
	io.dxfer_len = data_len;
	io.mx_sb_len = sizeof(sense);
	io.sbp = sense;
	io.timeout = timeout_ms;

	if (ioctl(sg->fd, SG_IO, &io) < 0) {
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
	    svm_xcopy_sense_decode(sense, io.sb_len_wr, s) == 0) {
		if (io.status == 0 && svm_xcopy_sense_errno(s) == 0)
			return 0;	/* recovered */
		return svm_scsi_sense_result(s, why, whylen);
	}
	memset(s, 0, sizeof(*s));
	if (io.status == 0) {
		snprintf(why, whylen, "failed (driver status 0x%x)",
			 io.driver_status);
		return -EIO;
	}
	return svm_scsi_status_result(io.status, why, whylen);
}

void svm_scsi_sg_init(struct svm_scsi_sg *sg, int fd)
{
	struct stat stb;

	sg->dev.cmd = sg_cmd;
	sg->dev.name = sg->path;
	sg->fd = fd;
	sg->refuse = NULL;
	fd_name(fd, sg->path, sizeof(sg->path));
	/*
	 * A partition passes SG_IO to its disk, whose LBAs are not the
	 * partition's.
	 */
	if (fd >= 0 && fstat(fd, &stb) == 0 && S_ISBLK(stb.st_mode)) {
		char sys[96];

		snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/partition",
			 major(stb.st_rdev), minor(stb.st_rdev));
		if (access(sys, F_OK) == 0)
			sg->refuse =
				"a partition: EXTENDED COPY addresses the whole disk";
	}
}

/* --- Over any transport ------------------------------------------------ */

/*
 * d->cmd, retried a few times on UNIT ATTENTION: a unit attention (e.g.
 * "reported luns data has changed" after LUNs were added) reports an event,
 * the command was not executed, and the next attempt proceeds.
 */
static int scsi_cmd(struct svm_scsi_dev *d, const uint8_t *cdb,
		    unsigned int cdb_len, enum svm_scsi_dir dir, void *data,
		    uint32_t data_len, unsigned int timeout_ms, uint32_t *resid,
		    char *why, size_t whylen)
{
	struct svm_xcopy_sense s;
	int ret = 0;

	for (int i = 0; i < 5; i++) {
		if (resid)
			*resid = 0;
		ret = d->cmd(d, cdb, cdb_len, dir, data, data_len, timeout_ms,
			     resid, &s, why, whylen);
		if (!ret || s.key != 0x6)
			break;
	}
	return ret;
}

/* A failure of command what: -ENOTTY names no command (nothing applies). */
static int cmd_fail(struct svm_scsi_dev *d, int ret, const char *what,
		    const char *why, char *err, size_t errlen)
{
	if (ret == -ENOTTY)
		svm_set_err(err, errlen, "svm-xcopy: %s: %s", d->name, why);
	else
		svm_set_err(err, errlen, "svm-xcopy: %s: %s: %s", d->name,
			    what, why);
	return ret;
}

int svm_xcopy_identify_dev(struct svm_scsi_dev *d, struct svm_xcopy_id *id,
			   char *err, size_t errlen)
{
	uint8_t cdb[16], buf[512];
	uint32_t resid = 0;
	char why[200];
	int ret;

	memset(id, 0, sizeof(*id));

	/* INQUIRY, EVPD 1, page 0x83 */
	memset(cdb, 0, 6);
	cdb[0] = 0x12;
	cdb[1] = 0x01;
	cdb[2] = 0x83;
	put_be16(cdb + 3, sizeof(buf));
	memset(buf, 0, sizeof(buf));
	ret = scsi_cmd(d, cdb, 6, SVM_SCSI_FROM_DEV, buf, sizeof(buf),
		       SHORT_TIMEOUT_MS, &resid, why, sizeof(why));
	if (ret)
		return cmd_fail(d, ret, "INQUIRY VPD 0x83", why, err, errlen);
	ret = svm_xcopy_parse_vpd83(buf, sizeof(buf) - resid, id);
	if (ret == -ENOTTY) {
		svm_set_err(err, errlen,
			"svm-xcopy: %s: no NAA designator of the logical unit in VPD page 0x83",
			d->name);
		return ret;
	}
	if (ret) {
		svm_set_err(err, errlen, "svm-xcopy: %s: malformed VPD page 0x83",
			d->name);
		return ret;
	}

	/* READ CAPACITY(16): SERVICE ACTION IN(16), service action 0x10 */
	memset(cdb, 0, 16);
	cdb[0] = 0x9e;
	cdb[1] = 0x10;
	put_be32(cdb + 10, 32);
	memset(buf, 0, 32);
	ret = scsi_cmd(d, cdb, 16, SVM_SCSI_FROM_DEV, buf, 32,
		       SHORT_TIMEOUT_MS, &resid, why, sizeof(why));
	if (ret)
		return cmd_fail(d, ret, "READ CAPACITY(16)", why, err, errlen);
	ret = svm_xcopy_parse_readcap16(buf, 32 - resid, id);
	if (ret) {
		svm_set_err(err, errlen,
			"svm-xcopy: %s: READ CAPACITY(16): malformed response",
			d->name);
		return ret;
	}
	return 0;
}

int svm_xcopy_3pc_dev(struct svm_scsi_dev *d, char *err, size_t errlen)
{
	static const uint8_t cdb[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t buf[36] = { 0 };
	uint32_t resid = 0;
	char why[200];
	int ret;

	ret = scsi_cmd(d, cdb, sizeof(cdb), SVM_SCSI_FROM_DEV, buf, sizeof(buf),
		       SHORT_TIMEOUT_MS, &resid, why, sizeof(why));
	if (ret)
		return cmd_fail(d, ret, "INQUIRY", why, err, errlen);
	if (sizeof(buf) - resid < 6 || !(buf[5] & 0x08)) {
		svm_set_err(err, errlen,
			    "svm-xcopy: %s does not offer EXTENDED COPY (INQUIRY: 3PC not set)",
			    d->name);
		return -EOPNOTSUPP;
	}
	return 0;
}

int svm_xcopy_limits_dev(struct svm_scsi_dev *d, struct svm_xcopy_limits *lim,
			 char *err, size_t errlen)
{
	uint8_t cdb[16], buf[256];
	uint32_t resid = 0;
	char why[200];
	int ret;

	memset(lim, 0, sizeof(*lim));
	svm_xcopy_cdb_rcr_opparams(cdb, sizeof(buf));
	memset(buf, 0, sizeof(buf));
	ret = scsi_cmd(d, cdb, 16, SVM_SCSI_FROM_DEV, buf, sizeof(buf),
		       SHORT_TIMEOUT_MS, &resid, why, sizeof(why));
	if (ret)
		return cmd_fail(d, ret,
				"RECEIVE COPY RESULTS (operating parameters)",
				why, err, errlen);
	ret = svm_xcopy_parse_limits(buf, sizeof(buf) - resid, lim);
	if (ret)
		svm_set_err(err, errlen,
			"svm-xcopy: %s: RECEIVE COPY RESULTS: malformed operating parameters",
			d->name);
	return ret;
}

/* The checks before any command: 0, or the refusal. */
static int copy_check(struct svm_scsi_dev *src_dev,
		      const struct svm_xcopy_id *src, uint64_t src_lba,
		      struct svm_scsi_dev *dst_dev,
		      const struct svm_xcopy_id *dst, uint64_t dst_lba,
		      uint64_t nr_blocks, char *err, size_t errlen)
{
	if (src->block_size != dst->block_size) {
		svm_set_err(err, errlen,
			"svm-xcopy: %s: block sizes differ (source %u, destination %u bytes)",
			dst_dev->name, src->block_size, dst->block_size);
		return -EOPNOTSUPP;
	}
	if (src_lba > src->nr_blocks || nr_blocks > src->nr_blocks - src_lba) {
		svm_set_err(err, errlen,
			"svm-xcopy: %s: blocks %llu+%llu beyond the source's %llu",
			src_dev ? src_dev->name : "source",
			(unsigned long long)src_lba,
			(unsigned long long)nr_blocks,
			(unsigned long long)src->nr_blocks);
		return -ERANGE;
	}
	if (dst_lba > dst->nr_blocks || nr_blocks > dst->nr_blocks - dst_lba) {
		svm_set_err(err, errlen,
			"svm-xcopy: %s: blocks %llu+%llu beyond the destination's %llu",
			dst_dev->name, (unsigned long long)dst_lba,
			(unsigned long long)nr_blocks,
			(unsigned long long)dst->nr_blocks);
		return -ERANGE;
	}
	return 0;
}

int svm_xcopy_copy_dev(struct svm_scsi_dev *src_dev,
		       const struct svm_xcopy_id *src, uint64_t src_lba,
		       struct svm_scsi_dev *dst_dev,
		       const struct svm_xcopy_id *dst, uint64_t dst_lba,
		       uint64_t nr_blocks, const struct svm_xcopy_limits *lim,
		       struct svm_xcopy_stats *st, char *err, size_t errlen)
{
	struct svm_xcopy_stats dummy;
	uint32_t seg_blocks, segs, plen;
	const char *name = dst_dev->name;
	const char *reason;
	uint64_t done = 0;
	char why[200];
	size_t buflen;
	uint8_t *buf;
	int ret;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (nr_blocks == 0)
		return 0;
	ret = copy_check(src_dev, src, src_lba, dst_dev, dst, dst_lba,
			 nr_blocks, err, errlen);
	if (ret)
		return ret;
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
		ret = scsi_cmd(dst_dev, cdb, 16, SVM_SCSI_TO_DEV, buf, plen,
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

/* --- File descriptor wrappers ------------------------------------------ */

int svm_xcopy_identify(int fd, struct svm_xcopy_id *id,
		       char *err, size_t errlen)
{
	struct svm_scsi_sg sg;

	svm_scsi_sg_init(&sg, fd);
	return svm_xcopy_identify_dev(&sg.dev, id, err, errlen);
}

int svm_xcopy_limits(int fd, struct svm_xcopy_limits *lim,
		     char *err, size_t errlen)
{
	struct svm_scsi_sg sg;

	svm_scsi_sg_init(&sg, fd);
	return svm_xcopy_limits_dev(&sg.dev, lim, err, errlen);
}

int svm_xcopy_copy(int src_fd, const struct svm_xcopy_id *src, uint64_t src_lba,
		   int dst_fd, const struct svm_xcopy_id *dst, uint64_t dst_lba,
		   uint64_t nr_blocks, const struct svm_xcopy_limits *lim,
		   struct svm_xcopy_stats *st, char *err, size_t errlen)
{
	struct svm_scsi_sg s, d;

	svm_scsi_sg_init(&s, src_fd);
	svm_scsi_sg_init(&d, dst_fd);
	return svm_xcopy_copy_dev(&s.dev, src, src_lba, &d.dev, dst, dst_lba,
				  nr_blocks, lim, st, err, errlen);
}
