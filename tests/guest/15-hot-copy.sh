#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/guest/15-hot-copy.sh - the data mover's hot copy (libsvmotion,
# svm_copy_run() with opts.dm_name) through the dm-svmotion lock/commit
# protocol, under a concurrent stamped-block writer (guest test).
# timeout: 900
#
# Live cases: the source is stamped with generation 0; the svmotion device is
# created over it; stampwrite writes random stamped 4 KiB blocks through the
# device (O_DIRECT, QD 8, 10% RWF_DSYNC) while `svm-cp --hot` copies every
# region; then: svm-cp succeeded and committed every region, the status is
# synced, the writer is stopped and reports no error, the source holds every
# acknowledged write, the device is switched over to linear on the
# destination(s), and every block read through the device and on the
# destination(s) holds exactly the last acknowledged write.
#   fast-64k       mode fast, 64 KiB regions (one I/O per region, 16 in flight)
#   buffered-1m    mode buffered: page-cache reads and writes, written back
#                  before each commit
#   auto-thin-split  two segments onto two destinations (partial last region,
#                  a destination offset), format thin, units of 8 regions,
#                  3 in flight
#   revoke         suspend/resume cycles during the copy revoke locks; the
#                  mover copies those regions again (recopied = revoked +
#                  expired locks)
# Failure cases (nothing reported done that was not, no region left locked):
#   src-error      an unreadable source block (dm "error" target beneath the
#                  source): hot and cold copies fail naming the source and
#                  the offset; no region stays COPYING; the regions committed
#                  are exactly those reported
#   cancel         SIGTERM during a rate-limited hot copy: "cancelled", exit
#                  1, bytes reported = regions committed; a second hot copy of
#                  the half-copied segment is refused with the reason; after
#                  a table reload it completes
#   refusals       a pair that is not a segment of the device; a device with
#                  no svmotion segment; files instead of block devices

# shellcheck disable=SC2317
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"

SW=$repo/tests/tools/stampwrite
CTL=$repo/tests/tools/svm-dmctl
CP=$repo/tests/tools/svm-cp
DEV=svm15
MAP=/dev/mapper/$DEV
ERRDEV=svm15err
WRITE_RATE=${SVM_WRITE_RATE:-1000}

work=$(mktemp -d /tmp/svm15.XXXXXX)
loops=()
writer=
failures=0

# shellcheck source-path=SCRIPTDIR source=lib-live.sh
. "$here/lib-live.sh"

cleanup() {
	local d l
	if [ -n "$writer" ]; then
		kill -KILL "$writer" 2>/dev/null
		wait "$writer" 2>/dev/null
	fi
	writer=
	for d in "$DEV" "$ERRDEV"; do
		if dmsetup info "$d" >/dev/null 2>&1; then
			dmsetup resume "$d" >/dev/null 2>&1
			dmsetup remove "$d" >/dev/null 2>&1 ||
				tap_diag "cleanup: cannot remove $d"
		fi
	done
	for l in "${loops[@]}"; do
		losetup -d "$l" 2>/dev/null || tap_diag "cleanup: cannot detach $l"
	done
	loops=()
	rm -f "$work"/*.img "$work"/*.state "$work"/*.out
}
trap 'cleanup; rm -rf "$work"' EXIT

# case_end FAILURES_BEFORE: kernel log after a failed case; tear down.
case_end() {
	if [ "$failures" != "$1" ]; then
		dmesg | grep -i 'svmotion' | tail -n 15 | while IFS= read -r l; do
			tap_diag "  kernel: $l"
		done
	fi
	cleanup
}

# field KEY FILE: KEY=value of svm-cp's summary line in FILE.
field() {
	sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" "$2" | tail -n 1
}

# hot_ok OUT TOTAL_BYTES SEGS...: svm-cp's summary says every byte was
# copied and every unit committed; the status (snapshot) agrees.
hot_ok() {
	local out=$1 bytes=$2 units=$3
	cat "$out"
	[ "$(( $(field copied "$out") + $(field skipped "$out") ))" = "$bytes" ] &&
		[ "$(field regions "$out")" = "$units" ]
}

# --- live cases ---------------------------------------------------------------

# live_case NAME SEED REGION_SECTORS MIB VIA MODE SVM_CP_ARGS...
# VIA: "files" if the copy is to go between the loop devices' files (then
# the copy from files works with the devices' own page caches), "devices"
# if through the loop devices, "devices-forced" through them with
# SVM_COPY_VIA_DEVICES=1; MODE: the mode the copy is to report.
live_case() {
	local name=$1 seed=$2 region=$3 mib=$4 via=$5 mode=$6
	shift 6
	local sectors=$((mib * 2048)) blocks=$((mib * 256)) src='' dst='' rc
	local state=$work/$name.state failed_before=$failures env=() want=0

	tap_diag "[${SECONDS}s] case $name: $mib MiB, regions of $region sectors, svm-cp $*"
	newloop src "$mib" && src=$REPLY
	newloop dst "$mib" && dst=$REPLY
	check "$name: source stamped with generation 0" \
		"$SW" write --dev "$src" --blocks "$blocks" --state "$state" \
		--seed "$seed" --init --ops 0 --odirect
	check "$name: create $DEV (svmotion $src -> $dst)" \
		dmsetup create "$DEV" --table "0 $sectors svmotion $src 0 $dst 0 $region"
	# the loop devices' own page caches hold the destination's old data
	check "$name: destination device read (cached) before the copy" \
		cmp -s "$dst" /dev/zero -n $((mib << 20))
	case $via in
	files) want=1 ;;
	devices-forced) env=(SVM_COPY_VIA_DEVICES=1) ;;
	esac
	start_writer "$seed" "$state"
	env "${env[@]}" timeout 300 "$CP" --hot "$DEV" "$@" > "$work/cp.out" 2>&1
	rc=$?
	verdict "$rc" "$name: svm-cp --hot copies every region under the writer" \
		"$work/cp.out"
	check "$name: writer was still running after the copy" kill -0 "$writer"
	# the coordinator only asks whether a mode applies (its workers copy):
	# it must not take queue_depth x io_size of buffers (32 x 4 MiB)
	check "$name: peak RSS $(field maxrss_kib "$work/cp.out") KiB, below the 128 MiB of a full queue of buffers" \
		test "$(field maxrss_kib "$work/cp.out")" -gt 0 \
		-a "$(field maxrss_kib "$work/cp.out")" -lt 131072
	check "$name: copied $( [ $want = 1 ] && echo between the files behind the loop devices || echo through the loop devices), mode $mode" \
		test "$(field via_files "$work/cp.out")" = "$want" \
		-a "$(field mode "$work/cp.out")" = "$mode"
	snapshot
	check "$name: status synced, all regions copied, no destination error" \
		synced 1
	check "$name: every byte counted, every region committed ($(field regions "$work/cp.out"))" \
		hot_ok "$work/cp.out" $((mib << 20)) "$(seg_field 1 total)"
	check "$name: guest writes were mirrored ($(seg_field 1 mirrored))" \
		test "$(seg_field 1 mirrored)" -gt 0
	stop_and_switch "$name" "$sectors" "$src" "$dst" "$state"
	check "$name: the destination device holds every acknowledged write" \
		verify "$dst" "$state"
	check "$name: ... and reads the same through its page cache" \
		cached_equal "$dst"
	case_end "$failed_before"
}
PER_LIVE=16

# cached_equal DEV: DEV read through its page cache equals DEV read O_DIRECT
cached_equal() {
	dd if="$1" bs=1M iflag=direct status=none | cmp - "$1"
}

# A sparse source file (3000 stamped 4 KiB blocks scattered over 64 MiB of
# holes): the copy goes between the files and finds the holes with
# SEEK_DATA/SEEK_HOLE while the writer keeps filling some of them; the
# destination must equal the source byte for byte (holes read as zeros on
# both) and keep holes of its own.
sparse_case() {
	local name=sparse-files seed=16 mib=64 region=2048
	local sectors=$((mib * 2048)) blocks=$((mib * 256)) src='' dst='' rc
	local state=$work/sparse.state failed_before=$failures kib

	tap_diag "[${SECONDS}s] case $name: $mib MiB sparse source, regions of $region sectors, svm-cp --mode auto"
	newloop src "$mib" && src=$REPLY
	newloop dst "$mib" && dst=$REPLY
	check "$name: 3000 stamped blocks scattered over the source" \
		"$SW" write --dev "$src" --blocks "$blocks" --state "$state" \
		--seed "$seed" --ops 3000 --odirect
	check "$name: create $DEV (svmotion $src -> $dst)" \
		dmsetup create "$DEV" --table "0 $sectors svmotion $src 0 $dst 0 $region"
	start_writer "$seed" "$state"
	timeout 300 "$CP" --hot "$DEV" --mode auto > "$work/cp.out" 2>&1
	rc=$?
	verdict "$rc" "$name: svm-cp --hot copies every region under the writer" \
		"$work/cp.out"
	check "$name: copied between the files, holes skipped ($(field skipped "$work/cp.out") bytes)" \
		test "$(field via_files "$work/cp.out")" = 1 \
		-a "$(field skipped "$work/cp.out")" -gt $((8 << 20))
	snapshot
	check "$name: every byte counted, every region committed" \
		hot_ok "$work/cp.out" $((mib << 20)) "$(seg_field 1 total)"
	stop_and_switch "$name" "$sectors" "$src" "$dst" "$state"
	check "$name: destination equals source byte for byte (O_DIRECT reads)" \
		cmp <(dd if="$src" bs=1M iflag=direct status=none) \
		<(dd if="$dst" bs=1M iflag=direct status=none)
	kib=$(du -k "$work/dst.img" | cut -f1)
	check "$name: the destination file kept holes (${kib} KiB allocated of $((mib << 10)))" \
		test "$kib" -lt $((mib << 9))
	case_end "$failed_before"
}
PER_SPARSE=11


# Two segments: A = 40 MiB + 12 KiB at 1 MiB regions onto dst1 at 0, B = the
# rest of 96 MiB at 4 MiB regions onto dst2 at sector 2048; thin format,
# units of 8 MiB (A: 6 units, the last partial; B: 2 units of 4 MiB regions).
split_case() {
	local name=auto-thin-split seed=15 mib=96
	local sectors=$((96 * 2048)) a=$((40 * 2048 + 24)) b blocks=$((96 * 256))
	local src='' d1='' d2='' rc state=$work/split.state failed_before=$failures
	b=$((sectors - a))

	tap_diag "[${SECONDS}s] case $name: two segments, thin, --region 8M --regions 3"
	newloop src "$mib" && src=$REPLY
	newloop dst1 41 && d1=$REPLY
	newloop dst2 57 && d2=$REPLY
	check "$name: source stamped with generation 0" \
		"$SW" write --dev "$src" --blocks "$blocks" --state "$state" \
		--seed "$seed" --init --ops 0 --odirect
	check "$name: create $DEV with two svmotion segments" \
		dmsetup create "$DEV" --table "0 $a svmotion $src 0 $d1 0 2048
$a $b svmotion $src $a $d2 2048 8192"
	start_writer "$seed" "$state"
	timeout 300 "$CP" --hot "$DEV" --format thin --region 8M --regions 3 \
		> "$work/cp.out" 2>&1
	rc=$?
	verdict "$rc" "$name: svm-cp --hot copies both segments under the writer" \
		"$work/cp.out"
	snapshot
	check "$name: both segments synced" synced 1 2
	check "$name: every byte counted, 6 + 7 units of 8 MiB committed" \
		hot_ok "$work/cp.out" $((mib << 20)) 13
	check "$name: writer stopped by SIGTERM: exit 0, no write error" stop_writer
	check "$name: switch over to linear on both destinations" \
		switch_svmctl "0 $a linear $d1 0
$a $b linear $d2 2048"
	check "$name: every block read through $MAP holds its last acknowledged write" \
		verify "$MAP" "$state"
	case_end "$failed_before"
}
PER_SPLIT=8

switch_svmctl() {
	"$CTL" suspend --noflush "$DEV" &&
		"$CTL" reload "$DEV" "$1" &&
		"$CTL" resume "$DEV"
}

# Suspend/resume cycles while the hot copy runs (96 MiB in 128 KiB units):
# locks are revoked, the mover copies those regions again.
revoke_case() {
	local name=revoke seed=21 mib=96 region=256
	local sectors=$((mib * 2048)) blocks=$((mib * 256)) src='' dst='' rc i cp
	local state=$work/revoke.state failed_before=$failures lost recopied

	tap_diag "[${SECONDS}s] case $name: suspend/resume cycles during the copy"
	newloop src "$mib" && src=$REPLY
	newloop dst "$mib" && dst=$REPLY
	check "$name: source stamped with generation 0" \
		"$SW" write --dev "$src" --blocks "$blocks" --state "$state" \
		--seed "$seed" --init --ops 0 --odirect
	check "$name: create $DEV" \
		dmsetup create "$DEV" --table "0 $sectors svmotion $src 0 $dst 0 $region"
	start_writer "$seed" "$state"
	# no rate limit: every worker holds a region lock nearly all the time,
	# so a suspend finds some to revoke
	"$CP" --hot "$DEV" > "$work/cp.out" 2>&1 &
	cp=$!
	for ((i = 0; i < 40; i++)); do
		kill -0 "$cp" 2>/dev/null || break
		dmsetup suspend "$DEV" && dmsetup resume "$DEV"
		sleep 0.05
	done
	wait "$cp"
	rc=$?
	verdict "$rc" "$name: svm-cp --hot completes across $i suspend/resume cycles" \
		"$work/cp.out"
	snapshot
	check "$name: status synced" synced 1
	lost=$(( $(seg_field 1 revoked_locks) + $(seg_field 1 expired_locks) ))
	recopied=$(field recopied "$work/cp.out")
	check "$name: locks revoked under the copy ($lost) = regions copied again ($recopied), at least one" \
		test "$lost" = "$recopied" -a "$lost" -gt 0
	check "$name: every byte counted once, every region committed" \
		hot_ok "$work/cp.out" $((mib << 20)) "$(seg_field 1 total)"
	check "$name: writer stopped by SIGTERM: exit 0, no write error" stop_writer
	check "$name: switch over to linear on $dst" \
		switch_dmsetup "$sectors" "$dst"
	check "$name: every block read through $MAP holds its last acknowledged write" \
		verify "$MAP" "$state"
	case_end "$failed_before"
}
PER_REVOKE=9

# --- failure cases -------------------------------------------------------------

# An unreadable source block: $ERRDEV = linear / 8 sectors of "error" at
# 20 MiB + 4 KiB / linear, over a loop device; svmotion over $ERRDEV.
src_error_case() {
	local name=src-error mib=32 src='' dst='' dst2='' rc bad=$((20 * 2048 + 8))
	local sectors=$((32 * 2048)) failed_before=$failures off
	local errdev

	tap_diag "[${SECONDS}s] case $name: dm error target beneath the source"
	newloop src "$mib" && src=$REPLY
	newloop dst "$mib" && dst=$REPLY
	newloop dst2 "$mib" && dst2=$REPLY
	check "$name: source filled" \
		dd if=/dev/urandom of="$src" bs=1M count="$mib" oflag=direct status=none
	check "$name: create $ERRDEV with an unreadable block at sector $bad" \
		dmsetup create "$ERRDEV" --table "0 $bad linear $src 0
$bad 8 error
$((bad + 8)) $((sectors - bad - 8)) linear $src $((bad + 8))"
	errdev=/dev/dm-$(dmsetup info -c --noheadings -o minor "$ERRDEV" | tr -d ' ')
	check "$name: create $DEV (svmotion $ERRDEV -> $dst, 1 MiB regions)" \
		dmsetup create "$DEV" --table "0 $sectors svmotion /dev/mapper/$ERRDEV 0 $dst 0 2048"

	timeout 120 "$CP" --hot "$DEV" > "$work/cp.out" 2>&1
	rc=$?
	cat "$work/cp.out" > "$work/hot.out"
	off=$(sed -n 's/.*error at source offset \([0-9]*\).*/\1/p' "$work/hot.out")
	check "$name: hot copy fails: exit 1" test "$rc" = 1
	check "$name: the message names the source read and the error" \
		grep -E "reading $errdev at [0-9]+: Input/output error" "$work/hot.out"
	check "$name: error offset ${off:-?} is the unreadable block's ($((bad * 512)))" \
		test "${off:-0}" = $((bad * 512))
	snapshot
	check "$name: no region left COPYING (every lock given back)" \
		test "$(seg_field 1 copying)" = 0
	check "$name: bytes reported = regions committed ($(seg_field 1 copied)) x 1 MiB, fewer than all" \
		test "$(field copied "$work/hot.out")" = $(( $(seg_field 1 copied) << 20 )) \
		-a "$(seg_field 1 copied)" -lt "$(seg_field 1 total)" \
		-a "$(field regions "$work/hot.out")" = "$(seg_field 1 copied)"
	check "$name: the region with the bad block is NOT_COPIED: it can be locked" \
		"$CTL" message "$DEV" 0 lock 20 1
	check "$name: ... and given back" "$CTL" message "$DEV" 0 unlock 20 1
	check "$name: target not failed (a source error is the guest's)" \
		test "$(seg_field 1 state)" = copying
	timeout 120 "$CP" --mode buffered "$errdev" "$dst2" > "$work/cold.out" 2>&1
	rc=$?
	off=$(sed -n 's/.*error at source offset \([0-9]*\).*/\1/p' "$work/cold.out")
	check "$name: cold copy (buffered) fails: exit 1, reading error named" \
		test "$rc" = 1 -a -n "$(grep -E "reading $errdev at [0-9]+: Input/output error" "$work/cold.out")"
	check "$name: cold error offset ${off:-?} is the bad block's, bytes done below it" \
		test "${off:-0}" = $((bad * 512)) \
		-a "$(( $(field copied "$work/cold.out") + $(field skipped "$work/cold.out") ))" -le "${off:-0}"
	cat "$work/cold.out" >&2
	case_end "$failed_before"
}
PER_SRC_ERROR=13

cancel_case() {
	local name=cancel mib=64 src='' dst='' rc cp sectors=$((64 * 2048)) off
	local failed_before=$failures

	tap_diag "[${SECONDS}s] case $name: SIGTERM during a rate-limited hot copy"
	newloop src "$mib" && src=$REPLY
	newloop dst "$mib" && dst=$REPLY
	check "$name: source filled" \
		dd if=/dev/urandom of="$src" bs=1M count="$mib" oflag=direct status=none
	check "$name: create $DEV (1 MiB regions)" \
		dmsetup create "$DEV" --table "0 $sectors svmotion $src 0 $dst 0 2048"
	"$CP" --hot "$DEV" --rate 8M > "$work/cp.out" 2>&1 &
	cp=$!
	sleep 2
	kill -TERM "$cp"
	wait "$cp"
	rc=$?
	cat "$work/cp.out"
	check "$name: exit 1, \"cancelled\"" \
		test "$rc" = 1 -a -n "$(grep cancelled "$work/cp.out")"
	snapshot
	check "$name: no region left COPYING" test "$(seg_field 1 copying)" = 0
	check "$name: bytes reported = regions committed ($(seg_field 1 copied)), some but not all" \
		test "$(field copied "$work/cp.out")" = $(( $(seg_field 1 copied) << 20 )) \
		-a "$(seg_field 1 copied)" -gt 0 -a "$(seg_field 1 copied)" -lt 64
	# regions complete out of order: everything before the reported
	# offset (the first region not done) is on the destination
	off=$(sed -n 's/.*error at source offset \([0-9]*\).*/\1/p' "$work/cp.out")
	check "$name: all before the reported offset (${off:-?}) is on the destination" \
		test -n "$off" -a "${off:-0}" -gt 0 -a "${off:-0}" -le $(( $(seg_field 1 copied) << 20 ))
	check "$name: ... byte for byte" cmp -n "${off:-1}" "$src" "$dst"
	"$CP" --hot "$DEV" > "$work/again.out" 2>&1
	rc=$?
	check "$name: a second hot copy is refused: regions COPIED already" \
		test "$rc" = 1 -a -n "$(grep 'COPIED already' "$work/again.out")"
	check "$name: table reloaded (every region NOT_COPIED)" \
		dm_reload_table "0 $sectors svmotion $src 0 $dst 0 2048"
	check "$name: the hot copy then completes" "$CP" --hot "$DEV"
	check "$name: destination equals source" cmp "$src" "$dst"
	case_end "$failed_before"
}
PER_CANCEL=11

dm_reload_table() {
	dmsetup suspend "$DEV" && dmsetup load "$DEV" --table "$1" &&
		dmsetup resume "$DEV"
}

refusals_case() {
	local name=refusals src='' dst='' rc
	local failed_before=$failures

	tap_diag "[${SECONDS}s] case $name"
	newloop src 8 && src=$REPLY
	newloop dst 8 && dst=$REPLY
	check "$name: create $DEV" \
		dmsetup create "$DEV" --table "0 16384 svmotion $src 0 $dst 0 2048"
	"$CP" --hot "$DEV" "$src:0:4M" "$dst:0:4M" > "$work/r.out" 2>&1
	rc=$?
	check "$name: half a segment refused: not a svmotion segment" \
		test "$rc" = 1 -a -n "$(grep 'is not a svmotion segment' "$work/r.out")"
	"$CP" --hot "$DEV" "$dst:0:8M" "$src:0:8M" > "$work/r.out" 2>&1
	rc=$?
	check "$name: source and destination swapped refused" \
		test "$rc" = 1 -a -n "$(grep 'is not a svmotion segment' "$work/r.out")"
	"$CP" --hot "$DEV" "$work/src.img" "$work/x.img" > "$work/r.out" 2>&1
	rc=$?
	check "$name: files refused: must be block devices" \
		test "$rc" = 1 -a -n "$(grep 'must be block devices' "$work/r.out")"
	snapshot
	check "$name: nothing was locked or copied by the refused runs" \
		test "$(seg_field 1 copied)" = 0 -a "$(seg_field 1 copying)" = 0
	check "$name: switch to linear" switch_dmsetup 16384 "$dst"
	"$CP" --hot "$DEV" > "$work/r.out" 2>&1
	rc=$?
	check "$name: a device with no svmotion segment refused" \
		test "$rc" = 1 -a -n "$(grep 'has no svmotion segment' "$work/r.out")"
	"$CP" --hot nosuchdev "$src:0:8M" "$dst:0:8M" > "$work/r.out" 2>&1
	rc=$?
	check "$name: a missing device refused" \
		test "$rc" = 1 -a -n "$(grep 'No such device' "$work/r.out")"
	cat "$work/r.out" >&2
	case_end "$failed_before"
}
PER_REFUSALS=8

tap_plan $((4 * PER_LIVE + PER_SPARSE + PER_SPLIT + PER_REVOKE + PER_SRC_ERROR + PER_CANCEL + PER_REFUSALS))
# files on tmpfs: no O_DIRECT (fast keeps the devices); the buffered
# kernel copy goes between the files
live_case fast-64k 11 128 32 devices fast --mode fast
live_case buffered-1m 12 2048 48 files buffered --mode buffered
live_case auto-same-4m 13 8192 64 files buffered --mode auto --qd 32
live_case auto-same-dev 14 8192 64 devices-forced fast --mode auto --qd 32
sparse_case
split_case
revoke_case
src_error_case
cancel_case
refusals_case
tap_done
