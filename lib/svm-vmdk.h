/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-vmdk.h - libsvmotion: VM disks as svmotion moves them: VMDK
 * descriptors with flat extents, and raw images or block devices.
 *
 * A disk is a list of extents (file or block device, byte offset, byte
 * length) laid end to end. Two kinds of disk:
 *
 *   descriptor  a VMDK descriptor text file (VMware "Virtual Disk Format
 *               1.1", as QEMU's block/vmdk.c reads it) whose extent lines
 *               are all "RW <sectors> FLAT "<file>" <offset-sectors>" or
 *               "RW <sectors> VMFS "<file>"" (no offset, as QEMU wants);
 *               relative file names are relative to the descriptor's
 *               directory;
 *   raw         any other regular file, or a block device: one extent, the
 *               whole file or device.
 *
 * Probing (svm_disk_open() without SVM_DISK_RAW/SVM_DISK_DESCRIPTOR): a block
 * device is always raw; a regular file is a descriptor when it starts with
 * "# Disk DescriptorFile" or, as QEMU's probe has it, its first line that is
 * neither blank nor a comment starts with "version="; a file that starts with
 * the magic of another image format (sparse VMDK "KDMV" or "COWD", qcow/qcow2,
 * QED, VHDX, VHD, VDI) is refused; anything else is raw. Beware the classic
 * probing hazard: the first bytes of a raw image are written by its guest. A
 * guest-written fake descriptor is only ever followed when the image is at
 * most 1 MiB (a larger one is refused, never followed) - pass SVM_DISK_RAW
 * whenever the format is known (libvirt's <driver type='raw'/>).
 *
 * Parsing is strict. Every refusal of the text is -EINVAL with one line
 *   "svm-vmdk: <descriptor>:<line>: <reason>"
 * in err ("svm-vmdk: <path>: <reason>" when no line applies). Refused:
 *   - a descriptor larger than 1 MiB, a line longer than 8 KiB, a NUL byte
 *     other than NUL padding at the end (QEMU pads the descriptor with NULs
 *     to a sector when it rewrites it);
 *   - a line that is not blank, a comment, "key = value" or an extent line;
 *   - extent lines with a missing field, a sector count or offset that is
 *     not a plain decimal number (negative, "0x10", "12abc"), an unquoted,
 *     unterminated or empty file name, a control character in a file name,
 *     trailing garbage, a FLAT extent without an offset, a VMFS extent with
 *     one (QEMU refuses that), an unknown extent type;
 *   - extents svmotion cannot move: RDONLY or NOACCESS access (QEMU silently
 *     ignores those lines: its disk would differ from ours), ZERO extents,
 *     SPARSE, VMFSSPARSE, SESPARSE, VMFSRDM, VMFSRAW extents;
 *   - a zero-length extent; an extent above SVM_DISK_MAX_SIZE or ending
 *     beyond SVM_DISK_MAX_END in its file; a disk above SVM_DISK_MAX_SIZE;
 *     more than SVM_DISK_MAX_EXTENTS extents; no extent at all;
 *   - two extents of one file (same name; same inode or device in
 *     svm_disk_check()) that overlap;
 *   - an empty line right before an extent line: QEMU (7.2's
 *     vmdk_parse_extents) then reads that extent twice;
 *   - no createType, a sparse createType (monolithicSparse,
 *     twoGbMaxExtentSparse, vmfsSparse, seSparse, streamOptimized), a raw
 *     device mapping (vmfsRawDeviceMap, vmfsPassthroughRawDeviceMap); other
 *     createTypes are accepted since every extent is flat (QEMU itself only
 *     opens monolithicFlat, vmfs and twoGbMaxExtentFlat among flat ones);
 *   - a snapshot child: parentCID other than ffffffff, or a
 *     parentFileNameHint;
 *   - a duplicate CID, parentCID or createType line; a CID that is not 1 to
 *     8 hex digits.
 * Raw disks: refused when empty, not a multiple of 512 bytes or above
 * SVM_DISK_MAX_SIZE.
 *
 * A rewrite keeps every line it does not own (comments, version, encoding,
 * ddb.* entries, unknown keys) byte for byte, in order; it owns the CID,
 * parentCID and createType lines (written as QEMU parses them:
 * CID=xxxxxxxx, parentCID=ffffffff, createType="...") and the extent lines
 * (written as one block where the first one was). Lines end in "\n" (CRLF
 * descriptors are read, and rewritten with LF).
 *
 * QEMU and the descriptor of a running VM: on the guest's first write after
 * an open, QEMU 7.2 (block/vmdk.c, vmdk_write_cid) rewrites the descriptor
 * in place through the descriptor file it holds open, with a new random CID
 * and NUL padding to a 512-byte boundary. After svm_disk_write_descriptor()
 * (a rename) that write lands in the old, unlinked inode: the new file keeps
 * the CID written here, and QEMU still reads its extents from the files it
 * has open until it reopens the disk.
 *
 * Conventions: sizes and offsets in bytes (descriptors count 512-byte
 * sectors); functions return 0 or a negative errno and fill err (errlen
 * bytes; may be NULL/0). Not thread-safe on one struct svm_disk.
 */
#ifndef SVM_VMDK_H
#define SVM_VMDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SVM_DISK_MAX_SIZE	(64ULL << 40)	/* 64 TiB: a disk, an extent */
#define SVM_DISK_MAX_END	(1ULL << 56)	/* an extent's end in its file */
#define SVM_DISK_MAX_EXTENTS	1024
#define SVM_DISK_MAX_DESC	(1 << 20)	/* descriptor bytes */
#define SVM_DISK_MAX_LINE	8192		/* descriptor line bytes */
#define SVM_DISK_MAX_NAME	511		/* extent file name as written:
						 * QEMU reads at most 511 bytes */

/* Flags of svm_disk_open_flags(). */
#define SVM_DISK_RAW		(1u << 0)	/* path is a raw disk: no probe */
#define SVM_DISK_DESCRIPTOR	(1u << 1)	/* path must be a descriptor */
#define SVM_DISK_NO_CHECK	(1u << 2)	/* no svm_disk_check() */

enum svm_disk_extent_type {
	SVM_EXTENT_FLAT = 0,	/* RW <sectors> FLAT "<file>" <offset> */
	SVM_EXTENT_VMFS,	/* RW <sectors> VMFS "<file>": offset 0 */
};

struct svm_disk_extent {
	char *file;		/* absolute path (svm_disk_new() and
				 * svm_disk_set_extents() also take one
				 * relative to the descriptor's directory) */
	char *file_as_written;	/* the name in the descriptor (raw disk: the
				 * path as given; NULL for extents given to
				 * svm_disk_new()/svm_disk_set_extents()) */
	uint64_t offset;	/* bytes into file, a multiple of 512 */
	uint64_t length;	/* bytes, a multiple of 512, > 0 */
	enum svm_disk_extent_type type;	/* VMFS written as FLAT if offset */
	unsigned int line;	/* descriptor line number, 0 if none */
};

struct svm_disk_priv;

/* All fields are read-only to callers; change extents with the calls below. */
struct svm_disk {
	char *path;		/* the descriptor or raw disk, as given */
	bool is_descriptor;	/* false: raw file or block device */
	bool is_block_device;	/* raw disk on a block device */
	char *cid;		/* "1a2b3c4d" as written; raw or new disk: the
				 * fresh CID a descriptor for it gets; NULL
				 * if the descriptor has no CID line */
	char *parent_cid;	/* "ffffffff", or NULL if no such line */
	char *create_type;	/* "monolithicFlat", "vmfs", ... */
	size_t nr_extents;
	struct svm_disk_extent *extents;
	uint64_t size;		/* sum of the extents' lengths */
	struct svm_disk_priv *priv;	/* lines kept for a rewrite */
};

/*
 * Open a disk: probe (see above), parse, then svm_disk_check(). Errors:
 * -EINVAL with the reason (above), -errno of a failed open/read/stat.
 */
int svm_disk_open(const char *path, struct svm_disk **out,
		  char *err, size_t errlen);
/*
 * Same with SVM_DISK_* flags (SVM_DISK_RAW and SVM_DISK_DESCRIPTOR exclude
 * each other).
 */
int svm_disk_open_flags(const char *path, unsigned int flags,
			struct svm_disk **out, char *err, size_t errlen);
/*
 * Parse len bytes of descriptor text (no probe, no file touched) read from
 * path: path names the descriptor in messages and in d->path, and its
 * directory resolves relative extent names (symlinks in it resolved when it
 * exists).
 */
int svm_disk_parse(const char *text, size_t len, const char *path,
		   struct svm_disk **out, char *err, size_t errlen);
/*
 * Check the extents against the filesystem: each file exists, is a regular
 * file or a block device, is at least offset + length bytes long, is not
 * the descriptor itself, and no two extents of one inode or device overlap.
 * -errno of a failed stat/open ("svm-vmdk: <desc>:<line>: <file>: <why>"),
 * -EINVAL for the rest.
 */
int svm_disk_check(const struct svm_disk *d, char *err, size_t errlen);

/*
 * A new descriptor disk at desc_path (not written: see
 * svm_disk_write_descriptor()) over n extents (files relative to desc_path's
 * directory or absolute; file_as_written and line ignored): createType
 * "monolithicFlat" for one FLAT extent, "vmfs" for one VMFS extent,
 * "twoGbMaxExtentFlat" for several (what qemu-img writes for several FLAT
 * extents; QEMU reads extents of any size under it), a fresh random CID,
 * parentCID=ffffffff, ddb.virtualHWVersion, ddb.geometry.* and
 * ddb.adapterType as qemu-img writes them. adapter_type: "ide" (NULL),
 * "buslogic", "lsilogic", "legacyESX", "lsisas1068" or "pvscsi". Extents are
 * validated as by svm_disk_set_extents(), files are not checked.
 */
int svm_disk_new(const char *desc_path, const struct svm_disk_extent *ext,
		 size_t n, const char *adapter_type, struct svm_disk **out,
		 char *err, size_t errlen);
/*
 * Replace the extents (a move: the new extents must add up to d->size).
 * Files relative to d->path's directory or absolute; offsets and lengths
 * multiples of 512, lengths > 0; limits and the same-name overlap rule as
 * for parsing; no '"' or control character in a name. A monolithicFlat disk
 * given several extents becomes twoGbMaxExtentFlat. On failure d is
 * unchanged.
 */
int svm_disk_set_extents(struct svm_disk *d, const struct svm_disk_extent *ext,
			 size_t n, char *err, size_t errlen);
/*
 * The descriptor text for d as it would be written at desc_path (NULL:
 * d->path), NUL-terminated, in *out (free() it), its length in *len (may be
 * NULL). Extent names are relative to desc_path's directory when the file is
 * in it or below it (symlinks in both directories resolved), absolute
 * otherwise. -EINVAL if a name as written is longer than SVM_DISK_MAX_NAME
 * or the text would exceed SVM_DISK_MAX_DESC.
 */
int svm_disk_format_descriptor(const struct svm_disk *d, const char *desc_path,
			       char **out, size_t *len,
			       char *err, size_t errlen);
/*
 * Write the descriptor atomically at path (NULL: d->path; a symlink is
 * followed, so the link stays): format, write a temporary file
 * ".<name>.tmp-XXXXXX" in the same directory, fchmod/fchown it like the
 * file it replaces (0644 for a new one), fsync, rename over path, fsync the
 * directory. On failure the temporary file is removed and path is left as
 * it was (unless only the final directory fsync failed: then the new file is
 * in place). Only a descriptor is replaced: -EISDIR for a directory,
 * -EEXIST for an existing file that is not a descriptor (a raw image, an
 * extent file, a device), -EINVAL for a raw disk without a path (its
 * descriptor needs a path of its own). -errno of the failed call, or -EINVAL
 * as for formatting.
 */
int svm_disk_write_descriptor(const struct svm_disk *d, const char *path,
			      char *err, size_t errlen);

/* Free d and everything it owns (NULL is fine). */
void svm_disk_free(struct svm_disk *d);

/*
 * Probes of a disk's first bytes (4 KiB are enough): the name of an image
 * format svmotion does not move ("a qcow/qcow2 image", ...) or NULL; and
 * whether the text is a VMDK descriptor as QEMU's vmdk_probe tells one (the
 * "# Disk DescriptorFile" header, or "version=" after blank and comment
 * lines).
 */
const char *svm_disk_image_format(const void *buf, size_t n);
bool svm_disk_is_descriptor(const char *buf, size_t n);

#endif /* SVM_VMDK_H */
