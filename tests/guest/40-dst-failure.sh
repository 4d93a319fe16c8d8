#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/guest/40-dst-failure.sh - destination and source I/O errors (guest test)
# timeout: 600
#
# Run inside the test VM: scripts/vm-run tests/guest/40-dst-failure.sh
#
# A. The destination fails mid-copy. Source: a loop device. Destination: a
#    dm device, linear over a loop device, reloaded with an "error" table once
#    half of the regions are COPIED. Then:
#    - every guest write through the svmotion device succeeds, in COPIED,
#      COPYING (held, then released), NOT_COPIED regions and across them;
#    - the status turns "failed" with dst_errors > 0, no region COPYING and
#      no write held;
#    - a dm event is raised (event number incremented; "dmsetup wait" with
#      the old number returns at once);
#    - lock and commit are refused;
#    - after switching the device to linear on the source, the source holds
#      every byte written.
# B. The source fails (a dm device over a loop, part of it reloaded as
#    "error"). Writes and reads in the failing range fail exactly as they do
#    through dm-linear over the same source, in NOT_COPIED and COPIED
#    regions; I/O elsewhere works; the target does not turn failed.

set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/tap.sh
. "$here/../lib/tap.sh"
# shellcheck source=lib-dm.sh
. "$here/lib-dm.sh"

BGPID=
cleanup() {
	if [ -n "$BGPID" ]; then
		kill "$BGPID" 2>/dev/null
	fi
	dm_cleanup
}
trap cleanup EXIT

tap_plan 48

dm_init || { echo "Bail out! cannot set up the scratch directory"; exit 1; }

LEN=2048	# sectors: 1 MiB
REG=128		# sectors: 64 KiB, 16 regions
RB=$((REG * 512))	# region bytes

# Random data: the source's initial contents and the patterns written later
# (each write takes the next unused slice of the pool).
POOL=$DM_WORK/pool
EXP=$DM_WORK/expected
head -c 4M /dev/urandom > "$POOL"
pool_off=$((LEN * 512))

# wr DEV EXPFILE SECTOR NSECT: write NSECT sectors of fresh pool data at
# SECTOR of DEV with O_DIRECT (one write), and the same into EXPFILE unless
# it is "-". Sets WR_OUT to dd's messages. Returns dd's status.
wr() {
	local dev=$1 exp=$2 sector=$3 n=$4 rc
	WR_OUT=$(dd if="$POOL" of="$dev" bs=$((n * 512)) count=1 \
		skip="$pool_off" seek=$((sector * 512)) \
		iflag=skip_bytes oflag=direct,seek_bytes conv=notrunc status=none 2>&1)
	rc=$?
	if [ "$exp" != - ]; then
		dd if="$POOL" of="$exp" bs=$((n * 512)) count=1 \
			skip="$pool_off" seek=$((sector * 512)) \
			iflag=skip_bytes oflag=seek_bytes conv=notrunc status=none
	fi
	pool_off=$((pool_off + n * 512))
	return $rc
}

# rd DEV SECTOR NSECT OUTFILE: O_DIRECT read. Sets RD_OUT to dd's messages.
rd() {
	RD_OUT=$(dd if="$1" of="$4" bs=$(($3 * 512)) count=1 skip=$(($2 * 512)) \
		iflag=direct,skip_bytes status=none 2>&1)
}

msg() { # DEV ARGS...
	local dev=$1
	shift
	dmsetup message "$dev" 0 -- "$@"
}

# status_is DEV EXPECTED DESC: the status line (without "<start> <len>
# svmotion ") is EXPECTED.
status_is() {
	dm_status "$1"
	[ "$DM_ST" = "$2" ]
	tap_result $? "$3"
	[ "$DM_ST" = "$2" ] || tap_diag "status:   $DM_ST" "expected: $2"
}

# Status fields: 1 region_sectors, 2 copied/total, 3 copying, 4 held_writes,
# 5 mirrored_writes, 6 dst_errors, 7 expired_locks, 8 revoked_locks,
# 9 dst_timeouts, 10 state.
st_field() {
	local f
	read -r -a f <<<"$DM_ST"
	echo "${f[$(($1 - 1))]}"
}

# =============================================================================
# A. Destination failure
# =============================================================================

mkloop SRC src 4 || { echo "Bail out! losetup failed"; exit 1; }
mkloop DLOOP dst 4 || { echo "Bail out! losetup failed"; exit 1; }
SVM=svm40
DSTDM=svm40dst
DST=/dev/mapper/$DSTDM

# Source contents: the first LEN sectors of the pool.
dd if="$POOL" of="$SRC" bs=1M count=1 oflag=direct conv=notrunc status=none
dd if="$POOL" of="$EXP" bs=1M count=1 status=none

tap_check "destination: linear over $DLOOP" \
	dm_create "$DSTDM" "0 $LEN linear $DLOOP 0"
tap_check "svmotion device $SVM from $SRC to $DST" \
	dm_create "$SVM" "0 $LEN svmotion $SRC 0 $DST 0 $REG 2 lock_timeout_ms 600000"

# Copy regions 0-7 as a mover would: lock, copy, commit.
ok=0
msg "$SVM" lock 0 8 &&
	dd if="$SRC" of="$DST" bs=$RB count=8 iflag=direct oflag=direct status=none &&
	msg "$SVM" commit 0 8 && ok=1
[ "$ok" = 1 ]
tap_result $? "lock, copy and commit regions 0-7"
status_is "$SVM" "$REG 8/16 0 0 0 0 0 0 0 copying" "status: 8/16 COPIED"

# A mirrored write while the destination works.
wr "/dev/mapper/$SVM" "$EXP" $((2 * REG)) $REG
tap_result $? "write to COPIED region 2 before the failure"
rd "$DST" $((2 * REG)) $REG "$DM_WORK/r2"
cmp -s "$DM_WORK/r2" <(dd if="$EXP" bs=$RB skip=2 count=1 status=none)
tap_result $? "the write reached the destination too"
dm_status "$SVM"
[ "$(st_field 5)" = 1 ] && [ "$(st_field 6)" = 0 ]
tap_result $? "status: 1 mirrored write, 0 destination errors"

ev0=$(dm_event_nr "$SVM")
tap_diag "event number before the failure: $ev0"

# The destination starts failing.
tap_check "destination reloaded with an error table" \
	dm_reload "$DSTDM" "0 $LEN error"

# Region 9 goes COPYING (the target has not seen an error yet) and a write
# to it is held.
tap_check "lock region 9 (target not failed yet)" msg "$SVM" lock 9 1
wr "/dev/mapper/$SVM" "$EXP" $((9 * REG + 8)) 16 &
BGPID=$!
pool_off=$((pool_off + 16 * 512))	# used by the background wr
held=
for _ in $(seq 200); do
	dm_status "$SVM"
	held=$(st_field 4)
	[ "$held" = 1 ] && break
	nap 0.05
done
[ "$held" = 1 ]
tap_result $? "the write to COPYING region 9 is held"
[ "$held" = 1 ] || tap_diag "status: $DM_ST"

kmsg_mark
# A mirrored write: its destination half fails.
wr "/dev/mapper/$SVM" "$EXP" $((3 * REG)) $REG
tap_result $? "write to COPIED region 3 succeeds although the destination fails"
[ -z "$WR_OUT" ] || tap_diag "$WR_OUT"

# The held write is released to the source.
bg_rc=timeout
for _ in $(seq 200); do
	if ! kill -0 "$BGPID" 2>/dev/null; then
		wait "$BGPID"
		bg_rc=$?
		break
	fi
	nap 0.05
done
[ "$bg_rc" = 0 ]
tap_result $? "the held write to region 9 completes successfully"
[ "$bg_rc" = 0 ] || tap_diag "background write: $bg_rc"
[ "$bg_rc" = timeout ] || BGPID=

wr "/dev/mapper/$SVM" "$EXP" $((12 * REG)) $REG
tap_result $? "write to NOT_COPIED region 12 succeeds"
wr "/dev/mapper/$SVM" "$EXP" $((4 * REG)) $REG
tap_result $? "write to COPIED region 4 after the failure succeeds"
wr "/dev/mapper/$SVM" "$EXP" $((6 * REG + 17)) $((4 * REG))
tap_result $? "write across regions 6-10 (COPIED, NOT_COPIED, unlocked) succeeds"
wr "/dev/mapper/$SVM" "$EXP" $((15 * REG + 120)) 8
tap_result $? "write to the last sectors (region 15) succeeds"
out=$(dd if=/dev/zero of="/dev/mapper/$SVM" bs=4096 count=1 seek=1 \
	oflag=direct conv=notrunc,fsync status=none 2>&1) &&
	dd if=/dev/zero of="$EXP" bs=4096 count=1 seek=1 conv=notrunc status=none
tap_result $? "write + flush (fsync) to COPIED region 0 succeeds"
[ -z "$out" ] || tap_diag "$out"

dm_status "$SVM"
tap_diag "status after the failure: $DM_ST"
[ "$(st_field 10)" = failed ]
tap_result $? "status: state failed"
[ "$(st_field 6)" -gt 0 ] 2>/dev/null
tap_result $? "status: dst_errors > 0 ($(st_field 6))"
[ "$(st_field 3)" = 0 ] && [ "$(st_field 4)" = 0 ]
tap_result $? "status: no region COPYING, no write held"

kmsg_new
log_has "svmotion: .*destination I/O error"
tap_result $? "kernel log: destination I/O error, mirroring stopped"
log_has "svmotion: .*destination I/O error" || tap_diag "new kernel log lines:" "${KMSG_NEW:-(none)}"

# The event (raised from a work item: give it a moment).
ev1=
for _ in $(seq 100); do
	ev1=$(dm_event_nr "$SVM")
	[ -n "$ev1" ] && [ -n "$ev0" ] && [ "$ev1" -gt "$ev0" ] && break
	nap 0.05
done
[ -n "$ev1" ] && [ -n "$ev0" ] && [ "$ev1" -gt "$ev0" ]
tap_result $? "dm event raised: event number $ev0 -> $ev1"
start=$SECONDS
timeout 20 dmsetup wait "$SVM" "${ev0:-0}" >/dev/null 2>&1
rc=$?
[ "$rc" = 0 ] && [ $((SECONDS - start)) -le 10 ]
tap_result $? "dmsetup wait $SVM $ev0 returns at once"
[ "$rc" = 0 ] || tap_diag "dmsetup wait: status $rc after $((SECONDS - start)) s"

dm_status "$SVM"
st_failed=$DM_ST
kmsg_mark
msg "$SVM" lock 13 1 >/dev/null 2>&1
rc=$?
kmsg_new
[ "$rc" != 0 ]
tap_result $? "lock refused after the failure"
log_has "svmotion: .*lock refused: the target has failed"
tap_result $? "kernel log: lock refused: the target has failed"
kmsg_mark
msg "$SVM" commit 0 1 >/dev/null 2>&1
rc=$?
kmsg_new
[ "$rc" != 0 ] && log_has "svmotion: .*commit refused: the target has failed"
tap_result $? "commit refused after the failure, reason logged"
status_is "$SVM" "$st_failed" "refused messages changed nothing"

# The guest goes back to the source alone.
tap_check "switch $SVM to linear on the source" \
	dm_reload "$SVM" "0 $LEN linear $SRC 0"
rd "/dev/mapper/$SVM" 0 $LEN "$DM_WORK/back"
cmp "$DM_WORK/back" "$EXP" >/dev/null 2>&1
tap_result $? "$SVM (linear on the source) reads back every byte written"
cmp -n $((LEN * 512)) "$SRC" "$EXP" >/dev/null 2>&1
tap_result $? "the source holds every byte written"
if ! cmp -n $((LEN * 512)) "$SRC" "$EXP" >/dev/null 2>&1; then
	tap_diag "$(cmp -l -n $((LEN * 512)) "$SRC" "$EXP" 2>&1 | head -n 5)"
fi
tap_check "remove $SVM" dmsetup remove "$SVM"

# =============================================================================
# B. Source errors
# =============================================================================

mkloop SRC2 src2 4 || { echo "Bail out! losetup failed"; exit 1; }
mkloop DLOOP2 dst2 4 || { echo "Bail out! losetup failed"; exit 1; }
SRCDM=svm40src
SRCDEV=/dev/mapper/$SRCDM
SVMS=svm40s
LIN=svm40lin	# dm-linear over the same source, the reference

dd if="$POOL" of="$SRC2" bs=1M count=1 oflag=direct conv=notrunc status=none
tap_check "source: linear over $SRC2" dm_create "$SRCDM" "0 $LEN linear $SRC2 0"
tap_check "svmotion device $SVMS from $SRCDEV to $DLOOP2" \
	dm_create "$SVMS" "0 $LEN svmotion $SRCDEV 0 $DLOOP2 0 $REG 2 lock_timeout_ms 600000"
tap_check "reference: dm-linear $LIN over $SRCDEV" \
	dm_create "$LIN" "0 $LEN linear $SRCDEV 0"

ok=0
msg "$SVMS" lock 9 1 &&
	dd if="$SRCDEV" of="$DLOOP2" bs=$RB count=1 skip=9 seek=9 \
		iflag=direct oflag=direct status=none &&
	msg "$SVMS" commit 9 1 && ok=1
[ "$ok" = 1 ]
tap_result $? "lock, copy and commit region 9"

# Sectors 1024-1279 (regions 8 and 9) of the source fail from now on.
ok=0
dmsetup suspend "$SRCDM" &&
	printf '0 1024 linear %s 0\n1024 256 error\n1280 768 linear %s 1280\n' \
		"$SRC2" "$SRC2" | dmsetup load "$SRCDM" &&
	dmsetup resume "$SRCDM" && ok=1
[ "$ok" = 1 ]
tap_result $? "source reloaded: sectors 1024-1279 fail"

# same_failure DESC OP SECTOR NSECT: OP (wr or rd) through the svmotion
# device fails, and exactly as the same OP through dm-linear.
same_failure() {
	local desc=$1 op=$2 sector=$3 n=$4 rc_s rc_l out_s out_l
	if [ "$op" = wr ]; then
		wr "/dev/mapper/$SVMS" - "$sector" "$n"
		rc_s=$? out_s=$WR_OUT
		pool_off=$((pool_off - n * 512))	# the same data again
		wr "/dev/mapper/$LIN" - "$sector" "$n"
		rc_l=$? out_l=$WR_OUT
	else
		rd "/dev/mapper/$SVMS" "$sector" "$n" "$DM_WORK/rs"
		rc_s=$? out_s=$RD_OUT
		rd "/dev/mapper/$LIN" "$sector" "$n" "$DM_WORK/rl"
		rc_l=$? out_l=$RD_OUT
	fi
	out_s=${out_s//$SVMS/DEV}
	out_l=${out_l//$LIN/DEV}
	[ "$rc_s" != 0 ]
	tap_result $? "$desc fails"
	[ "$rc_s" = "$rc_l" ] && [ "$out_s" = "$out_l" ]
	tap_result $? "$desc fails as through dm-linear"
	if [ "$rc_s" != "$rc_l" ] || [ "$out_s" != "$out_l" ]; then
		tap_diag "svmotion: status $rc_s: $out_s" "dm-linear: status $rc_l: $out_l"
	fi
}

dm_status "$SVMS"
m0=$(st_field 5)
same_failure "write to NOT_COPIED region 8 (failing source)" wr $((8 * REG)) $REG
same_failure "write to COPIED region 9 (failing source)" wr $((9 * REG)) $REG
same_failure "read of region 8 (failing source)" rd $((8 * REG)) $REG
same_failure "read of COPIED region 9 (failing source)" rd $((9 * REG)) 8

wr "/dev/mapper/$SVMS" - $((4 * REG)) $REG
tap_result $? "write to region 4 (working source) succeeds"
rd "/dev/mapper/$SVMS" $((4 * REG)) $REG "$DM_WORK/r4"
tap_result $? "read of region 4 (working source) succeeds"

dm_status "$SVMS"
tap_diag "status after the source errors: $DM_ST"
[ "$(st_field 10)" = copying ] && [ "$(st_field 6)" = 0 ]
tap_result $? "a source error does not fail the target (state copying, 0 dst_errors)"
[ "$(st_field 5)" = $((m0 + 1)) ]
tap_result $? "the write to COPIED region 9 was mirrored (mirrored_writes $m0 -> $(st_field 5))"

tap_done
