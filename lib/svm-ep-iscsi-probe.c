// SPDX-License-Identifier: GPL-2.0
/*
 * svm-ep-iscsi-probe.c - libsvmotion: the iSCSI endpoint's probe, what the
 * LUN is, asked once at open (svm-ep-iscsi.c): the LUN found in REPORT
 * LUNS, INQUIRY (a direct-access disk), READ CAPACITY(16), the block limits
 * and provisioning VPD pages, which commands it supports (REPORT SUPPORTED
 * OPERATION CODES, else trying), write protection; from these the
 * endpoint's geometry, largest request and capabilities.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svm-ep-iscsi-int.h"
#include "svm-util.h"

/* svm-ep-iscsi-int.h */
int svm_iscsi_refail(struct svm_ep_iscsi *e, int err, const char *fmt, ...)
{
	char pre[300], was[sizeof(e->ep.msg)];
	va_list ap;

	svm_set_err(was, sizeof(was), "%s", e->ep.msg);
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	return svm_ep_fail(&e->ep, err, "%s: %s", pre, was);
}

void svm_iscsi_caps_update(struct svm_ep_iscsi *e)
{
	const struct svm_iscsi_info *i = &e->info;
	unsigned int caps = 0;

	if (i->lbpme && i->lbprz && (e->can_ws_unmap || e->can_unmap))
		caps |= SVM_EP_CAP_UNMAP;
	if (e->can_ws)
		caps |= SVM_EP_CAP_ZERO;
	if (e->can_lba_status && i->lbprz)
		caps |= SVM_EP_CAP_HOLES;
	e->ep.caps = caps;
}

/* The LUN number in a REPORT LUNS entry (its first two bytes), or -1. */
static int lun_of(uint16_t v)
{
	if (v >> 14 == 1)		/* flat space */
		return v & 0x3fff;
	if (v >> 8 == 0)		/* peripheral, bus 0 */
		return v & 0xff;
	return -1;
}

/* REPORT LUNS, to LUN 0: -ENXIO when it lacks ours; else 0 (no answer too). */
static int probe_luns(struct svm_ep_iscsi *e)
{
	struct scsi_reportluns_list *l;
	struct iscsi_cmd *c;
	bool found = false;
	char have[80] = "";
	size_t o = 0;
	uint32_t n;

	if (svm_iscsi_run(e, 0, scsi_reportluns_cdb(SCSI_REPORTLUNS_REPORT_ALL_LUNS,
					  4096),
		"REPORT LUNS", NULL, 0, &c, NULL))
		return 0;
	l = svm_iscsi_decode(c, 8);
	if (!l) {
		svm_iscsi_cmd_free(c);
		return 0;
	}
	/* libiscsi reads the entries of a truncated list as zeros */
	n = l->num;
	if (n > (uint32_t)(c->task->datain.size - 8) / 8)
		n = (uint32_t)(c->task->datain.size - 8) / 8;
	for (uint32_t i = 0; i < n; i++) {
		int lun = lun_of(l->luns[i]);

		if (lun < 0)
			continue;
		if ((uint32_t)lun == e->lun)
			found = true;
		if (o + 12 < sizeof(have))
			o += snprintf(have + o, sizeof(have) - o, "%s%d",
				      o ? " " : "", lun);
		else if (o + 4 < sizeof(have))
			o += snprintf(have + o, sizeof(have) - o, "...");
	}
	svm_iscsi_cmd_free(c);
	e->info.luns_seen = 1;
	if (found)
		return 0;
	return svm_ep_fail(&e->ep, -ENXIO,
			   "LUN %u does not exist on target %s (its LUNs: %s)",
			   e->lun, e->iqn, o ? have : "none");
}

/* Standard INQUIRY: there is a LUN, and it is a disk. */
static int probe_inquiry(struct svm_ep_iscsi *e)
{
	struct scsi_inquiry_standard *inq;
	struct iscsi_cmd *c;
	int ret, q, t;

	ret = svm_iscsi_run(e, e->wire_lun, scsi_cdb_inquiry(0, 0, 96), "INQUIRY",
		  NULL, 0, &c, NULL);
	if (ret == -ENXIO)
		return svm_iscsi_refail(e, ret, "LUN %u does not exist on target %s",
			      e->lun, e->iqn);
	if (ret)
		return ret;
	inq = svm_iscsi_decode(c, 36);
	if (!inq) {
		svm_iscsi_cmd_free(c);
		return svm_ep_fail(&e->ep, -EIO,
				   "INQUIRY: short or malformed answer");
	}
	q = inq->qualifier;
	t = inq->device_type;
	svm_iscsi_cmd_free(c);
	if (q != SCSI_INQUIRY_PERIPHERAL_QUALIFIER_CONNECTED)
		return svm_ep_fail(&e->ep, -ENXIO,
				   "LUN %u does not exist on target %s (peripheral qualifier %d)",
				   e->lun, e->iqn, q);
	if (t != SCSI_INQUIRY_PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS)
		return svm_ep_fail(&e->ep, -ENOTBLK,
				   "LUN %u of target %s is not a disk: %s (peripheral device type 0x%02x)",
				   e->lun, e->iqn, scsi_devtype_to_str(t), t);
	return 0;
}

static int set_geometry(struct svm_ep_iscsi *e, uint32_t bs, uint64_t blocks)
{
	if (bs < 512 || bs > 65536 || (bs & (bs - 1)))
		return svm_ep_fail(&e->ep, -EINVAL,
				   "LUN %u of target %s: unsupported block size %u",
				   e->lun, e->iqn, bs);
	if (!blocks || blocks > UINT64_MAX / bs)
		return svm_ep_fail(&e->ep, -EOVERFLOW,
				   "LUN %u of target %s: capacity of %llu blocks",
				   e->lun, e->iqn, (unsigned long long)blocks);
	e->ep.block_size = bs;
	e->ep.size = blocks * bs;
	return 0;
}

/* READ CAPACITY(16), or (10) where (16) is refused. */
static int probe_capacity(struct svm_ep_iscsi *e)
{
	struct scsi_readcapacity16 *rc16;
	struct scsi_readcapacity10 *rc10;
	struct svm_xcopy_sense s;
	struct iscsi_cmd *c;
	int ret;

	ret = svm_iscsi_run(e, e->wire_lun, scsi_cdb_readcapacity16(),
		  "READ CAPACITY(16)", NULL, 0, &c, &s);
	if (!ret) {
		rc16 = svm_iscsi_decode(c, 12);
		if (rc16 && rc16->returned_lba < UINT64_MAX) {
			e->info.lbpme = rc16->lbpme;
			e->info.lbprz = rc16->lbprz;
			ret = set_geometry(e, rc16->block_length,
					   rc16->returned_lba + 1);
		} else {
			ret = svm_ep_fail(&e->ep, -EIO,
					  "READ CAPACITY(16): malformed answer");
		}
		svm_iscsi_cmd_free(c);
		return ret;
	}
	if (s.key != SCSI_SENSE_ILLEGAL_REQUEST)
		return ret;
	ret = svm_iscsi_run(e, e->wire_lun, scsi_cdb_readcapacity10(0, 0),
		  "READ CAPACITY(10)", NULL, 0, &c, NULL);
	if (ret)
		return ret;
	rc10 = svm_iscsi_decode(c, 8);
	if (rc10)
		ret = set_geometry(e, rc10->block_size, (uint64_t)rc10->lba + 1);
	else
		ret = svm_ep_fail(&e->ep, -EIO,
				  "READ CAPACITY(10): malformed answer");
	svm_iscsi_cmd_free(c);
	return ret;
}

/* VPD page 0x00: whether page is listed. */
static bool vpd_listed(struct iscsi_cmd *c, uint8_t page)
{
	struct scsi_inquiry_supported_pages *sp;
	const struct scsi_task *t = c->task;

	/* libiscsi copies data[3] page codes without looking at the size */
	if (t->datain.size < 4 || t->datain.size < 4 + t->datain.data[3])
		return false;
	sp = svm_iscsi_decode(c, 4);
	for (int i = 0; sp && i < sp->num_pages; i++)
		if (sp->pages[i] == page)
			return true;
	return false;
}

static void probe_b0(struct svm_ep_iscsi *e)
{
	struct scsi_inquiry_block_limits *bl;
	struct svm_iscsi_info *i = &e->info;
	struct iscsi_cmd *c;

	if (svm_iscsi_run(e, e->wire_lun, scsi_cdb_inquiry(1, 0xb0, 64),
		"INQUIRY VPD 0xb0", NULL, 0, &c, NULL))
		return;
	bl = svm_iscsi_decode(c, 8);
	if (bl) {
		i->vpd_b0 = true;
		i->max_xfer = bl->max_xfer_len;
		i->opt_xfer = bl->opt_xfer_len;
		i->opt_gran = bl->opt_gran;
		i->max_unmap = bl->max_unmap;
		i->max_unmap_bdc = bl->max_unmap_bdc;
		i->unmap_gran = bl->opt_unmap_gran;
		i->ugavalid = bl->ugavalid;
		i->unmap_align = bl->ugavalid ? bl->unmap_gran_align : 0;
		i->max_ws = bl->max_ws_len;
	}
	svm_iscsi_cmd_free(c);
}

static void probe_b2(struct svm_ep_iscsi *e)
{
	struct scsi_inquiry_logical_block_provisioning *lbp;
	struct svm_iscsi_info *i = &e->info;
	struct iscsi_cmd *c;

	if (svm_iscsi_run(e, e->wire_lun, scsi_cdb_inquiry(1, 0xb2, 64),
		"INQUIRY VPD 0xb2", NULL, 0, &c, NULL))
		return;
	lbp = svm_iscsi_decode(c, 8);
	if (lbp) {
		i->vpd_b2 = true;
		i->lbpu = lbp->lbpu;
		i->lbpws = lbp->lbpws;
		i->lbprz = i->lbprz || lbp->lbprz;
		i->anc_sup = lbp->anc_sup;
		i->prov_type = lbp->provisioning_type;
	}
	svm_iscsi_cmd_free(c);
}

/* Pages 0xB0 (block limits) and 0xB2 (provisioning), where listed. */
static void probe_vpd(struct svm_ep_iscsi *e)
{
	struct iscsi_cmd *c;
	bool b0, b2;

	if (svm_iscsi_run(e, e->wire_lun, scsi_cdb_inquiry(1, 0x00, 255),
		"INQUIRY VPD 0x00", NULL, 0, &c, NULL))
		return;
	b0 = vpd_listed(c, 0xb0);
	b2 = vpd_listed(c, 0xb2);
	svm_iscsi_cmd_free(c);
	if (b0)
		probe_b0(e);
	if (b2)
		probe_b2(e);
}

/*
 * REPORT SUPPORTED OPERATION CODES for one command (sa < 0: none): 1
 * supported, 0 not, -1 unknown (the target does not say).
 */
static int rsoc(struct svm_ep_iscsi *e, int opcode, int sa)
{
	struct scsi_report_supported_op_codes_one_command *one;
	const struct scsi_task *t;
	struct scsi_task *p;
	struct iscsi_cmd *c;
	int ret = -1;

	p = scsi_cdb_report_supported_opcodes(0, sa < 0 ?
					      SCSI_REPORT_SUPPORTING_OPCODE :
					      SCSI_REPORT_SUPPORTING_SERVICEACTION,
					      opcode, sa < 0 ? 0 : sa, 64);
	if (svm_iscsi_run(e, e->wire_lun, p, "REPORT SUPPORTED OPERATION CODES", NULL, 0,
		&c, NULL))
		return -1;
	t = c->task;
	/* libiscsi copies the CDB usage data without looking at the size */
	if (t->datain.size >= 4 &&
	    t->datain.size >= 4 + (t->datain.data[2] ? 16 :
				   (t->datain.data[3] > 16 ? 16 :
				    t->datain.data[3]))) {
		one = svm_iscsi_decode(c, 4);
		/* 1: not supported; 3: as the standard says, 5: vendor */
		if (one && one->support == 1)
			ret = 0;
		else if (one && (one->support == 3 || one->support == 5))
			ret = 1;
	}
	svm_iscsi_cmd_free(c);
	return ret;
}

/* WRITE SAME(16) without UNMAP: LBPWS, or REPORT SUPPORTED OPERATION CODES. */
static bool probe_ws16(struct svm_ep_iscsi *e)
{
	return e->info.lbpws || rsoc(e, SCSI_OPCODE_WRITE_SAME16, -1) == 1;
}

/*
 * GET LBA STATUS works: tried unless REPORT SUPPORTED OPERATION CODES says
 * it is not there (LIO: which also logs every one it refuses).
 */
static bool probe_lba_status(struct svm_ep_iscsi *e)
{
	if (!e->info.lbpme ||
	    !rsoc(e, SCSI_OPCODE_SERVICE_ACTION_IN, SCSI_GET_LBA_STATUS))
		return false;
	return !svm_iscsi_run(e, e->wire_lun, scsi_cdb_get_lba_status(0, 24),
		    "GET LBA STATUS", NULL, 0, NULL, NULL);
}

/* MODE SENSE(6): the WP bit of the device-specific parameter. */
static bool probe_wp(struct svm_ep_iscsi *e)
{
	struct scsi_mode_sense *ms;
	struct iscsi_cmd *c;
	bool wp = false;

	if (svm_iscsi_run(e, e->wire_lun,
		scsi_cdb_modesense6(1, SCSI_MODESENSE_PC_CURRENT,
				    SCSI_MODEPAGE_RETURN_ALL_PAGES, 0, 255),
		"MODE SENSE(6)", NULL, 0, &c, NULL))
		return false;
	ms = svm_iscsi_decode(c, 4);
	wp = ms && (ms->device_specific_parameter & 0x80);
	svm_iscsi_cmd_free(c);
	return wp;
}

static uint32_t pick_max_io(const struct svm_ep_iscsi *e)
{
	uint32_t bs = e->ep.block_size;
	uint64_t m = e->info.max_xfer ? (uint64_t)e->info.max_xfer * bs :
		     DEFAULT_MAX_IO;

	if (m > MAX_IO_CAP)
		m = MAX_IO_CAP;
	m -= m % bs;
	return m < bs ? bs : (uint32_t)m;
}

int svm_iscsi_probe(struct svm_ep_iscsi *e)
{
	struct svm_iscsi_info *i = &e->info;
	int ret;

	ret = probe_luns(e);
	if (!ret)
		ret = probe_inquiry(e);
	if (!ret) {
		ret = svm_iscsi_run(e, e->wire_lun, scsi_cdb_testunitready(),
			  "TEST UNIT READY", NULL, 0, NULL, NULL);
		if (ret)
			ret = svm_iscsi_refail(e, ret, "LUN %u of target %s is not ready",
				     e->lun, e->iqn);
	}
	if (!ret)
		ret = probe_capacity(e);
	if (ret)
		return ret;
	probe_vpd(e);
	i->ws16 = probe_ws16(e);
	e->can_ws = i->ws16;
	e->can_ws_unmap = i->lbpme && i->lbpws;
	e->can_unmap = i->lbpme && i->lbpu;
	e->can_lba_status = probe_lba_status(e);
	if (e->ep.writable) {
		i->write_protected = probe_wp(e);
		if (i->write_protected)
			return svm_ep_fail(&e->ep, -EROFS,
					   "LUN %u of target %s is write-protected",
					   e->lun, e->iqn);
	}
	e->zero_block = calloc(1, e->ep.block_size);
	if (!e->zero_block)
		return svm_ep_fail(&e->ep, -ENOMEM, "out of memory");
	e->ep.max_io = pick_max_io(e);
	svm_iscsi_caps_update(e);
	e->ep.msg[0] = 0;
	return 0;
}
