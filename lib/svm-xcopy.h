/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-xcopy.h - libsvmotion: the SCSI layer of the XCOPY backend.
 *
 * SCSI EXTENDED COPY (LID1: opcode 0x83, service action 0x00) sent with the
 * SG_IO ioctl on block device file descriptors, so that a storage array
 * copies blocks between two of its LUNs itself:
 *
 *   svm_xcopy_identify()  INQUIRY VPD page 0x83 (the LUN's NAA designator)
 *                         and READ CAPACITY(16) (block size, capacity)
 *   svm_xcopy_limits()    RECEIVE COPY RESULTS (0x84), service action 0x03
 *                         OPERATING PARAMETERS
 *   svm_xcopy_copy()      one or more EXTENDED COPY commands, each with two
 *                         identification target descriptors (0xE4) and
 *                         block-to-block segment descriptors (0x02) within
 *                         the limits
 *
 * The byte-level work (parsing responses, encoding parameter lists, planning
 * how a range is split, decoding sense data) is in pure functions, declared
 * at the end, which the host unit test tests/host/xcopy-build.c exercises
 * without any SCSI device.
 *
 * Conventions: functions return 0 or a negative errno and fill err (errlen
 * bytes, may be NULL/0) with one line "svm-xcopy: <dev>: <reason>", where
 * <dev> is the path behind the file descriptor. The errors the copy engine
 * acts on:
 *
 *   -ENOTTY      not a SCSI device (SG_IO not supported, or no NAA
 *                designator in VPD page 0x83): XCOPY does not apply
 *   -EOPNOTSUPP  the target refused the copy (ILLEGAL REQUEST, COPY
 *                ABORTED, limits that cannot carry a copy, differing block
 *                sizes): fall back to another mode for the range
 *   other        a failure (-EIO for a medium/hardware error or a transport
 *                failure, -EAGAIN for UNIT ATTENTION/BUSY, -EROFS for DATA
 *                PROTECT, -ERANGE for a range outside a device, -EINVAL for
 *                bad arguments)
 */
#ifndef SVM_XCOPY_H
#define SVM_XCOPY_H

#include <stddef.h>
#include <stdint.h>

/* Longest designator an identification target descriptor (0xE4) carries. */
#define SVM_XCOPY_DESIG_MAX	20

/* A LUN as EXTENDED COPY names it. */
struct svm_xcopy_id {
	uint8_t pdt;			/* peripheral device type (0: disk) */
	uint8_t naa_len;		/* 8 or 16 bytes */
	uint8_t naa[SVM_XCOPY_DESIG_MAX]; /* the NAA designator, as reported */
	uint32_t block_size;		/* logical block size, bytes */
	uint64_t nr_blocks;		/* capacity, logical blocks */
};

/* RECEIVE COPY RESULTS / OPERATING PARAMETERS (SPC-3 6.18.4). */
struct svm_xcopy_limits {
	int snlid;			/* supports no list identifier */
	uint16_t max_target_desc;	/* max CSCD (target) descriptors */
	uint16_t max_segment_desc;	/* max segment descriptors */
	uint32_t max_desc_list_len;	/* max descriptor list length, bytes */
	uint32_t max_segment_len;	/* max bytes one segment copies */
	uint32_t max_inline_data;
	uint32_t held_data_limit;
	uint32_t max_stream_transfer;
	uint16_t total_concurrent_copies;
	uint8_t max_concurrent_copies;
	uint8_t data_seg_granularity;	/* log2 */
	uint8_t inline_data_granularity; /* log2 */
	uint8_t held_data_granularity;	/* log2 */
	uint8_t nr_impl_desc;		/* descriptor type codes reported */
	uint8_t impl_desc[32];
};

/* What svm_xcopy_copy() did, also on failure. */
struct svm_xcopy_stats {
	uint64_t commands;	/* EXTENDED COPY commands that completed */
	uint64_t segments;	/* segment descriptors they carried */
	uint64_t blocks_done;	/* blocks copied from the start of the range */
};

/*
 * Identify the SCSI disk open on fd: its NAA designator (VPD page 0x83:
 * designator type 3, association 0 (the logical unit), code set binary;
 * the 16-byte IEEE Registered Extended form is preferred), its logical
 * block size and its capacity (READ CAPACITY(16)). -ENOTTY when fd is not
 * a SCSI device, is a partition (SG_IO would address the whole disk), or
 * reports no such designator.
 */
int svm_xcopy_identify(int fd, struct svm_xcopy_id *id,
		       char *err, size_t errlen);

/*
 * The copy limits of the device on fd (RECEIVE COPY RESULTS, service action
 * OPERATING PARAMETERS). -EOPNOTSUPP when the device does not implement the
 * command (ILLEGAL REQUEST), -ENOTTY when it is not a SCSI device.
 */
int svm_xcopy_limits(int fd, struct svm_xcopy_limits *lim,
		     char *err, size_t errlen);

/*
 * Copy nr_blocks blocks from src_lba of the LUN src (open on src_fd) to
 * dst_lba of the LUN dst (open on dst_fd) with EXTENDED COPY commands sent
 * to dst_fd, as many as the limits lim (of the device receiving them)
 * require: every segment stays within max_segment_len and the 16-bit block
 * count of a segment descriptor, every command within max_segment_desc,
 * max_target_desc and max_desc_list_len. Both LUNs must have one block
 * size. Commands are issued in order; st (may be NULL) tells how far the
 * copy got, so a caller can fall back for the rest of the range only.
 * src_fd is used only to tell its name in messages (may be -1).
 */
int svm_xcopy_copy(int src_fd, const struct svm_xcopy_id *src, uint64_t src_lba,
		   int dst_fd, const struct svm_xcopy_id *dst, uint64_t dst_lba,
		   uint64_t nr_blocks, const struct svm_xcopy_limits *lim,
		   struct svm_xcopy_stats *st, char *err, size_t errlen);

/* --- Pure functions (no I/O), for the host unit tests ------------------- */

/* Sizes of the parameter list's parts. */
#define SVM_XCOPY_HDR_LEN	16	/* parameter list header */
#define SVM_XCOPY_TDESC_LEN	32	/* identification target descriptor */
#define SVM_XCOPY_SEG_LEN	28	/* block-to-block segment descriptor */
#define SVM_XCOPY_SEG_MAX_BLOCKS 0xffffu /* 16-bit NUMBER OF BLOCKS */

/*
 * Parse an INQUIRY VPD page 0x83 response into id->naa/naa_len/pdt.
 * 0, or -ENOTTY when there is no binary NAA designator of the logical unit,
 * -EINVAL when the page is malformed.
 */
int svm_xcopy_parse_vpd83(const uint8_t *buf, size_t len,
			  struct svm_xcopy_id *id);
/* Parse a READ CAPACITY(16) response into id->block_size/nr_blocks. */
int svm_xcopy_parse_readcap16(const uint8_t *buf, size_t len,
			      struct svm_xcopy_id *id);
/* Parse an OPERATING PARAMETERS response. 0 or -EINVAL. */
int svm_xcopy_parse_limits(const uint8_t *buf, size_t len,
			   struct svm_xcopy_limits *lim);

/*
 * How a copy is split: at most *seg_blocks blocks per segment descriptor
 * and *segs_per_cmd segments per command, for LUNs of block_size bytes.
 * -EOPNOTSUPP (with the reason in why, may be NULL) when the limits cannot
 * carry any copy (fewer than 2 target descriptors, no segment, a maximum
 * segment length below one block, a descriptor list too short).
 */
int svm_xcopy_plan(const struct svm_xcopy_limits *lim, uint32_t block_size,
		   uint32_t *seg_blocks, uint32_t *segs_per_cmd,
		   const char **why);

/*
 * Encode the parameter list of one EXTENDED COPY (LID1) command into buf
 * (buflen bytes): header, the target descriptors of src (index 0) and dst
 * (index 1), then up to segs_per_cmd segments of at most seg_blocks blocks
 * covering the start of the range. Returns the list's length in bytes and
 * the number of blocks it covers in *blocks, or -ENOSPC if buf is too
 * small, -EINVAL for bad arguments.
 */
int svm_xcopy_build(uint8_t *buf, size_t buflen,
		    const struct svm_xcopy_id *src, uint64_t src_lba,
		    const struct svm_xcopy_id *dst, uint64_t dst_lba,
		    uint64_t nr_blocks, uint32_t seg_blocks,
		    uint32_t segs_per_cmd, uint64_t *blocks);

/* The 16-byte CDBs. */
void svm_xcopy_cdb_xcopy(uint8_t cdb[16], uint32_t param_len);
void svm_xcopy_cdb_rcr_opparams(uint8_t cdb[16], uint32_t alloc_len);

/* Decoded sense data. */
struct svm_xcopy_sense {
	uint8_t key, asc, ascq;
};

/* Decode fixed (0x70/0x71) or descriptor (0x72/0x73) sense. 0 or -EINVAL. */
int svm_xcopy_sense_decode(const uint8_t *sb, size_t len,
			   struct svm_xcopy_sense *s);
/*
 * The negative errno for a sense: 0 for NO SENSE/RECOVERED ERROR,
 * -EOPNOTSUPP for ILLEGAL REQUEST and COPY ABORTED (refusals), -EIO,
 * -EAGAIN, -EROFS, -EILSEQ (MISCOMPARE) for the others.
 */
int svm_xcopy_sense_errno(const struct svm_xcopy_sense *s);
/*
 * The sense in words, e.g. "COPY ABORTED: copy target device not reachable
 * (asc 0x0d ascq 0x02)".
 */
void svm_xcopy_sense_str(const struct svm_xcopy_sense *s, char *buf,
			 size_t len);
const char *svm_xcopy_sense_key_name(uint8_t key);

#endif /* SVM_XCOPY_H */
