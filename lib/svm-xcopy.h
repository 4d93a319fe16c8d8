/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-xcopy.h - libsvmotion: the SCSI layer of the XCOPY backend.
 *
 * SCSI EXTENDED COPY (LID1: opcode 0x83, service action 0x00), so that a
 * storage array copies blocks between two of its LUNs itself. The commands
 * reach a LUN over a SCSI transport (struct svm_scsi_dev): the SG_IO ioctl
 * on a block device file descriptor (struct svm_scsi_sg), or an iSCSI
 * session through libiscsi (svm_ep_iscsi_scsi(), svm-ep-iscsi.h).
 *
 *   svm_xcopy_identify_dev()  INQUIRY VPD page 0x83 (the LUN's NAA
 *                             designator) and READ CAPACITY(16) (block size,
 *                             capacity)
 *   svm_xcopy_limits_dev()    RECEIVE COPY RESULTS (0x84), service action
 *                             0x03 OPERATING PARAMETERS
 *   svm_xcopy_copy_dev()      one or more EXTENDED COPY commands, each with
 *                             two identification target descriptors (0xE4)
 *                             and block-to-block segment descriptors (0x02)
 *                             within the limits
 *
 * svm_xcopy_identify(), svm_xcopy_limits() and svm_xcopy_copy() are the same
 * over SG_IO on file descriptors.
 *
 * The byte-level work (parsing responses, encoding parameter lists, planning
 * how a range is split, decoding sense data) is in pure functions, declared
 * at the end, which the host unit test tests/host/xcopy-build.c exercises
 * without any SCSI device; both transports share them. READ CAPACITY(16),
 * OPERATING PARAMETERS and sense data are decoded by libiscsi's decoders
 * (scsi_datain_unmarshall, scsi_parse_sense_data) after a length check;
 * VPD page 0x83 is walked here: libiscsi's decoder trusts the page and
 * designator lengths (it copies past a short response) and reverses the
 * designators' order.
 *
 * Conventions: functions return 0 or a negative errno and fill err (errlen
 * bytes, may be NULL/0) with one line "svm-xcopy: <dev>: <reason>", where
 * <dev> is the transport's name (the path behind a file descriptor, an
 * iscsi:// URL). The errors the copy engine acts on:
 *
 *   -ENOTTY      not a SCSI device (SG_IO not supported, a partition, or
 *                no NAA designator in VPD page 0x83): XCOPY does not apply
 *   -EOPNOTSUPP  the target refused the copy (ILLEGAL REQUEST, COPY
 *                ABORTED, limits that cannot carry a copy, differing block
 *                sizes): fall back to another mode for the range
 *   other        a failure (-EIO for a medium/hardware error or a transport
 *                failure, -EAGAIN for UNIT ATTENTION/BUSY, -EROFS for DATA
 *                PROTECT, -ERANGE for a range outside a device, -EINVAL for
 *                bad arguments, -ETIMEDOUT for an iSCSI command unanswered
 *                within its timeout)
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

/* --- SCSI transports ----------------------------------------------------- */

struct svm_xcopy_sense;

/* Direction of a command's data. */
enum svm_scsi_dir {
	SVM_SCSI_NONE,
	SVM_SCSI_FROM_DEV,	/* data-in: buf receives up to len bytes */
	SVM_SCSI_TO_DEV,	/* data-out: the len bytes of buf are sent */
};

/* One way of sending CDBs to one LUN. */
struct svm_scsi_dev {
	/*
	 * Send the cdb_len bytes of cdb with len bytes of data in buf and
	 * wait for its status, at most timeout_ms. 0 on GOOD status, *resid
	 * (may be NULL) then the data-in bytes not transferred. Otherwise a
	 * negative errno with the reason in why (whylen bytes, without the
	 * transport's name) and, when the device returned sense data, *sense
	 * decoded (zeroed otherwise); the errno of a sense is
	 * svm_xcopy_sense_errno()'s (svm_scsi_sense_result()). -ENOTTY: the
	 * transport cannot carry SCSI commands at all (not a SCSI device, a
	 * partition); -EIO a transport failure; -ETIMEDOUT no status within
	 * timeout_ms (an iSCSI session is then dropped).
	 */
	int (*cmd)(struct svm_scsi_dev *d, const uint8_t *cdb,
		   unsigned int cdb_len, enum svm_scsi_dir dir, void *buf,
		   uint32_t len, unsigned int timeout_ms, uint32_t *resid,
		   struct svm_xcopy_sense *sense, char *why, size_t whylen);
	const char *name;	/* for messages: a device path, a URL */
};

#define SVM_SCSI_NAME_MAX	4096

/* SG_IO on a file descriptor (not owned: never closed here). */
struct svm_scsi_sg {
	struct svm_scsi_dev dev;
	int fd;
	const char *refuse;	/* why no command is sent (a partition), or NULL */
	char path[SVM_SCSI_NAME_MAX];	/* dev.name: the path behind fd */
};

/*
 * Make sg the SG_IO transport of fd. Every command on a partition fails
 * with -ENOTTY (SG_IO would address the whole disk); a file or a device
 * without SG_IO fails with -ENOTTY "not a SCSI device" at the first
 * command.
 */
void svm_scsi_sg_init(struct svm_scsi_sg *sg, int fd);

/*
 * For transports: the result of a CHECK CONDITION with sense s, or of a
 * status other than GOOD without sense data (BUSY, TASK SET FULL: -EAGAIN;
 * RESERVATION CONFLICT: -EBUSY; others -EIO), with the reason in why.
 * Never 0 (a recovered error with CHECK CONDITION is -EIO).
 */
int svm_scsi_sense_result(const struct svm_xcopy_sense *s, char *why,
			  size_t whylen);
int svm_scsi_status_result(int status, char *why, size_t whylen);

/* --- EXTENDED COPY over a transport --------------------------------------- */

/*
 * Identify the SCSI disk behind d: its NAA designator (VPD page 0x83:
 * designator type 3, association 0 (the logical unit), code set binary;
 * the 16-byte IEEE Registered Extended form is preferred), its logical
 * block size and its capacity (READ CAPACITY(16)). -ENOTTY when d cannot
 * carry SCSI commands or the LUN reports no such designator.
 */
int svm_xcopy_identify_dev(struct svm_scsi_dev *d, struct svm_xcopy_id *id,
			   char *err, size_t errlen);

/*
 * 0 when the standard INQUIRY of the LUN behind d sets 3PC (a copy manager
 * is addressable through it), -EOPNOTSUPP when not, with the reason in
 * err. Asked before RECEIVE COPY RESULTS: a target may answer that for a
 * LUN that refuses EXTENDED COPY (LIO with emulate_3pc=0 does).
 */
int svm_xcopy_3pc_dev(struct svm_scsi_dev *d, char *err, size_t errlen);

/*
 * The copy limits of the LUN behind d (RECEIVE COPY RESULTS, service action
 * OPERATING PARAMETERS). -EOPNOTSUPP when it does not implement the command
 * (ILLEGAL REQUEST), -ENOTTY when d cannot carry SCSI commands.
 */
int svm_xcopy_limits_dev(struct svm_scsi_dev *d, struct svm_xcopy_limits *lim,
			 char *err, size_t errlen);

/*
 * Copy nr_blocks blocks from src_lba of the LUN src to dst_lba of the LUN
 * dst with EXTENDED COPY commands sent through dst_dev, as many as the
 * limits lim (of the LUN receiving them) require: every segment stays
 * within max_segment_len and the 16-bit block count of a segment
 * descriptor, every command within max_segment_desc, max_target_desc and
 * max_desc_list_len. Both LUNs must have one block size. Commands are
 * issued in order; st (may be NULL) tells how far the copy got, so a
 * caller can fall back for the rest of the range only. src_dev only names
 * the source in messages (may be NULL): the array finds the source LUN by
 * its designator.
 */
int svm_xcopy_copy_dev(struct svm_scsi_dev *src_dev,
		       const struct svm_xcopy_id *src, uint64_t src_lba,
		       struct svm_scsi_dev *dst_dev,
		       const struct svm_xcopy_id *dst, uint64_t dst_lba,
		       uint64_t nr_blocks, const struct svm_xcopy_limits *lim,
		       struct svm_xcopy_stats *st, char *err, size_t errlen);

/* --- The same over SG_IO on file descriptors ------------------------------ */

/*
 * svm_xcopy_identify_dev() of the SCSI disk open on fd; -ENOTTY also when
 * fd is a partition.
 */
int svm_xcopy_identify(int fd, struct svm_xcopy_id *id,
		       char *err, size_t errlen);

/* svm_xcopy_limits_dev() of the device on fd. */
int svm_xcopy_limits(int fd, struct svm_xcopy_limits *lim,
		     char *err, size_t errlen);

/*
 * svm_xcopy_copy_dev() with the commands sent to dst_fd; src_fd is used
 * only to tell its name in messages (may be -1).
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

/*
 * Decode fixed (0x70/0x71) or descriptor (0x72/0x73) sense of len bytes
 * (libiscsi's scsi_parse_sense_data over the bytes the sense says it has).
 * 0 or -EINVAL.
 */
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
