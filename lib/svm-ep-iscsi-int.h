/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-ep-iscsi-int.h - libsvmotion: the iSCSI endpoint's parts between its
 * files: svm-ep-iscsi.c (session, commands, operations, open and close) and
 * svm-ep-iscsi-probe.c (what the LUN is, asked once at open).
 */
#ifndef SVM_EP_ISCSI_INT_H
#define SVM_EP_ISCSI_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "svm-ep-iscsi.h"

#define DEFAULT_INITIATOR	"iqn.2026-12.org.svmotion:initiator"
#define INITIATOR_FILE		"/etc/iscsi/initiatorname.iscsi"
#define DEFAULT_MAX_IO		(1u << 20)	/* no MAXIMUM TRANSFER LENGTH */
#define MAX_IO_CAP		(32u << 20)
#define WS_CAP_BYTES		(256ull << 20)	/* one WRITE SAME, unlimited */
#define UNMAP_CAP_BLOCKS	0x400000u	/* one UNMAP, unlimited */
#define RETRY_MS		500	/* between login attempts */
#define LOGOUT_MS		1000	/* bound on the logout at close */
#define MAX_RETRIES		5	/* unit attention, busy */
#define PROBE_UA_RETRIES	10
#define ISCSI_PORT		3260

struct iscsi_cmd {
	struct svm_ep_iscsi *e;
	struct iscsi_cmd *prev, *next;	/* on *on: e->cmds or e->pending */
	struct iscsi_cmd **on;
	struct scsi_task *task;		/* submitted, or NULL */
	int status;			/* libiscsi's, once answered */
	bool finished;			/* a synchronous command: answered or
					 * failed (err) */
	int err;			/* failed without an answer */
	bool starting, early;		/* libiscsi called back while submitting */
	int early_status;
	double deadline;
	int timeout_ms;			/* what deadline came from */
	unsigned int retries;
	int lun;
	/* a READ(16)/WRITE(16) of a request */
	struct svm_ep_io *io;
	bool write;
	struct scsi_iovec iov;
	/* any other command: the CDB (a libiscsi-built task), its data */
	struct scsi_task *proto;
	const void *out;
	uint32_t out_len;
	void *in;			/* data-in buffer, or NULL: libiscsi's */
	uint32_t in_len;
};

/* svm-ep-iscsi.c */
void svm_iscsi_cmd_free(struct iscsi_cmd *c);
/*
 * Run the CDB of proto (built by libiscsi; consumed) on lun with out_len
 * bytes of data-out, retrying unit attentions. 0 with *cp (may be NULL) the
 * answered command (its data-in in (*cp)->task; svm_iscsi_cmd_free() it),
 * else -errno with "<what>: <reason>" in e->ep.msg and the sense, if any,
 * in *s (may be NULL).
 */
int svm_iscsi_run(struct svm_ep_iscsi *e, int lun, struct scsi_task *proto,
		  const char *what, const void *out, uint32_t out_len,
		  struct iscsi_cmd **cp, struct svm_xcopy_sense *s);
/* The data-in of an answered command, decoded by libiscsi, or NULL. */
void *svm_iscsi_decode(struct iscsi_cmd *c, int min_len);

/* svm-ep-iscsi-probe.c */
/* e->ep.msg prefixed: "<words>: <what it said>". Returns err. */
__attribute__((format(printf, 3, 4)))
int svm_iscsi_refail(struct svm_ep_iscsi *e, int err, const char *fmt, ...);
/* e->ep.caps from what the LUN was found to do (and what failed since) */
void svm_iscsi_caps_update(struct svm_ep_iscsi *e);
/* Ask the LUN what it is (at open): 0, else -errno with e->ep.msg set. */
int svm_iscsi_probe(struct svm_ep_iscsi *e);

#endif
