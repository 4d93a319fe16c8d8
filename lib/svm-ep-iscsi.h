/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm-ep-iscsi.h - libsvmotion internals: the endpoint of a LUN of an iSCSI
 * target reached through libiscsi (iscsi://, svm-ep-iscsi.c), and the SCSI
 * transport it lends to the XCOPY layer (svm-xcopy.h).
 *
 * The session is libiscsi's with its own reconnect turned off: a dropped
 * connection (or a command unanswered within the timeout, which drops the
 * session) puts the commands in flight back in line, and the endpoint logs
 * in again, every 500 ms while commands wait; a command that is not done
 * within its timeout fails with -ETIMEDOUT ("lost connection to PORTAL").
 */
#ifndef SVM_EP_ISCSI_H
#define SVM_EP_ISCSI_H

#include <stdbool.h>
#include <stdint.h>

#include "svm-ep.h"
#include "svm-url.h"
#include "svm-xcopy.h"

struct iscsi_context;
struct iscsi_cmd;

/* What the LUN reported at open; lengths in logical blocks, 0: none given. */
struct svm_iscsi_info {
	bool vpd_b0, vpd_b2;	/* the pages were there */
	/* block limits (VPD 0xB0) */
	uint32_t max_xfer;	/* MAXIMUM TRANSFER LENGTH */
	uint32_t opt_xfer;	/* OPTIMAL TRANSFER LENGTH */
	uint16_t opt_gran;	/* OPTIMAL TRANSFER LENGTH GRANULARITY */
	uint32_t max_unmap;	/* MAXIMUM UNMAP LBA COUNT */
	uint32_t max_unmap_bdc;	/* MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT */
	uint32_t unmap_gran;	/* OPTIMAL UNMAP GRANULARITY */
	uint32_t unmap_align;	/* UNMAP GRANULARITY ALIGNMENT (ugavalid) */
	bool ugavalid;
	uint64_t max_ws;	/* MAXIMUM WRITE SAME LENGTH */
	/* logical block provisioning (VPD 0xB2, READ CAPACITY(16)) */
	bool lbpme;		/* provisioning management enabled */
	bool lbprz;		/* unmapped blocks read zeros */
	bool lbpu;		/* UNMAP */
	bool lbpws;		/* WRITE SAME(16) with UNMAP */
	bool anc_sup;		/* ANCHOR */
	int prov_type;		/* 0 full, 1 resource, 2 thin */
	bool ws16;		/* WRITE SAME(16) (LBPWS, or REPORT SUPPORTED
				 * OPERATION CODES) */
	bool write_protected;	/* MODE SENSE: WP */
	uint8_t luns_seen;	/* REPORT LUNS answered */
};

enum svm_iscsi_state {
	SVM_ISCSI_READY,	/* logged in */
	SVM_ISCSI_CONNECTING,	/* connect and login under way */
	SVM_ISCSI_DOWN,		/* no session; commands wait for one */
};

struct svm_ep_iscsi {
	struct svm_ep ep;
	struct iscsi_context *iscsi;	/* NULL when down */
	enum svm_iscsi_state state;
	uint32_t lun;			/* as in the URL */
	int wire_lun;			/* as sent (flat addressing from 256) */
	char portal[SVM_URL_HOST_MAX + 8];	/* "host:port", "[v6]:port" */
	char iqn[SVM_URL_IQN_MAX];
	char initiator[SVM_URL_IQN_MAX];
	char user[256], password[256];	/* CHAP, "" when none */
	struct svm_iscsi_info info;
	/* learned: an ILLEGAL REQUEST turns one off for good */
	bool can_ws;			/* WRITE SAME(16), UNMAP 0 */
	bool can_ws_unmap;		/* WRITE SAME(16), UNMAP 1 */
	bool can_unmap;			/* UNMAP */
	bool can_lba_status;		/* GET LBA STATUS */
	bool can_sync16;		/* SYNCHRONIZE CACHE(16), else (10) */
	/* the session */
	double connect_deadline;	/* CONNECTING */
	double retry_at;		/* DOWN: next login attempt */
	bool conn_answer;		/* CONNECTING: libiscsi's callback ran */
	int conn_status;
	unsigned int redirects;		/* login redirections followed */
	char conn_lib[256];		/* libiscsi's words for a failed login */
	int conn_err;			/* the last failed attempt: -errno */
	int conn_login;			/* ... its login status, or -1 */
	char conn_why[256];		/* ... in words */
	bool conn_lost;			/* libiscsi cancelled commands */
	char down_why[256];		/* why there is no session */
	bool resetting, closing;
	/* commands */
	struct iscsi_cmd *cmds;		/* in flight on the session */
	struct iscsi_cmd *pending;	/* waiting for a session */
	uint8_t *zero_block;		/* WRITE SAME data */
	struct svm_scsi_dev scsi;	/* svm_ep_iscsi_scsi() */
};

/* The iSCSI endpoint ep is, or NULL. */
struct svm_ep_iscsi *svm_ep_iscsi(struct svm_ep *ep);
/*
 * The SCSI transport of an iSCSI endpoint (its session, its LUN), for
 * svm_xcopy_identify_dev(), svm_xcopy_limits_dev() and svm_xcopy_copy_dev();
 * NULL for other endpoints. Valid until the endpoint is closed.
 */
struct svm_scsi_dev *svm_ep_iscsi_scsi(struct svm_ep *ep);

#endif /* SVM_EP_ISCSI_H */
