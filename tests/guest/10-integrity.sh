#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/guest/10-integrity.sh - issue "Integrity": a live copy through
# dm-svmotion loses no acknowledged write (guest test).
#
# Run inside the test VM: scripts/vm-run tests/guest/10-integrity.sh
#
# For each case: loop devices over tmpfs files for the source and the
# destination(s); the source is stamped with generation 0 (stampwrite
# --init); the svmotion device is created over them; stampwrite writes random
# stamped 4 KiB blocks (O_DIRECT, QD 8, 10% RWF_DSYNC, about 1000/s) through
# the device while svm-copyloop copies every region with lock/copy/commit; the
# status must say synced with no destination error; the writer is stopped
# (SIGTERM) and must report no write error; the source must hold every
# acknowledged write; the device is switched over to "linear" on the
# destination (suspend, load, resume); then every block, read through the
# device and on the destination device itself, must hold exactly the last
# acknowledged write.
#
# Cases: 64 KiB, 1 MiB and 4 MiB regions with different seeds and lock range
# sizes; a disk split in two segments (different region sizes, partial last
# regions, a destination offset) onto two destination devices, copied by two
# movers at once and driven through libsvmotion (svm-dmctl); and a small
# lock_timeout_ms with a mover that stalls past it on its first range.

# The check helpers below are run through check() ("$@"), which shellcheck
# cannot follow:
# shellcheck disable=SC2317
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"

SW=$repo/tests/tools/stampwrite
COPY=$repo/tests/tools/svm-copyloop
CTL=$repo/tests/tools/svm-dmctl
DEV=svm10
MAP=/dev/mapper/$DEV

# Writes per second of the background writer (QD 8): enough to keep every
# region busy, little enough to leave the emulated CPUs to the copy.
WRITE_RATE=${SVM_WRITE_RATE:-1000}

# TAP lines per case (see run_case and run_two_segments).
PER_CASE=12
PER_TWO_SEG=12

work=$(mktemp -d /tmp/svm10.XXXXXX)
loops=()
writer=
failures=0	# TAP failures so far

cleanup() {
	if [ -n "$writer" ]; then
		kill -KILL "$writer" 2>/dev/null
		wait "$writer" 2>/dev/null
	fi
	writer=
	if dmsetup info "$DEV" >/dev/null 2>&1; then
		dmsetup resume "$DEV" >/dev/null 2>&1
		dmsetup remove "$DEV" >/dev/null 2>&1 ||
			tap_diag "cleanup: cannot remove $DEV"
	fi
	for l in "${loops[@]}"; do
		losetup -d "$l" 2>/dev/null || tap_diag "cleanup: cannot detach $l"
	done
	loops=()
	rm -f "$work"/*.img "$work"/*.state "$work"/*.out
}
trap 'cleanup; rm -rf "$work"' EXIT

# --- helpers ---------------------------------------------------------------

# verdict, check, newloop, snapshot, seg_field, synced, start_writer,
# stop_writer, verify: shared with the other live-copy tests.
# shellcheck source-path=SCRIPTDIR source=lib-live.sh
. "$here/lib-live.sh"

# case_end FAILURES_BEFORE: after a failed case, show the target's kernel
# log; then tear the case down.
case_end() {
	if [ "$failures" != "$1" ]; then
		dmesg | grep -i 'svmotion' | tail -n 15 | while IFS= read -r l; do
			tap_diag "  kernel: $l"
		done
	fi
	cleanup
}

# no_lost_locks: no lock of segment 1 expired or was revoked.
no_lost_locks() {
	[ "$(seg_field 1 expired_locks)" = 0 ] &&
		[ "$(seg_field 1 revoked_locks)" = 0 ]
}

# lock_expired_and_retried: segment 1 counts an expired lock and the mover
# saw its commit refused (and copied the range again, since it succeeded).
lock_expired_and_retried() {
	[ "$(seg_field 1 expired_locks)" -gt 0 ] &&
		grep -q 'refused' "$work/copy.out"
}

# mirrored_in_all N: each of segments 1..N mirrored some writes.
mirrored_in_all() {
	local i
	for ((i = 1; i <= $1; i++)); do
		[ "$(seg_field "$i" mirrored)" -gt 0 ] || return 1
	done
}


# switch_svmctl TABLE: the same through libsvmotion, with a noflush suspend.
switch_svmctl() {
	"$CTL" suspend --noflush "$DEV" &&
		"$CTL" reload "$DEV" "$1" &&
		"$CTL" resume "$DEV"
}

# only_linear N: the live table is N linear targets, no svmotion segment.
only_linear() {
	dmsetup table "$DEV"
	[ "$(dmsetup table "$DEV" | grep -c ' linear ')" = "$1" ] &&
		[ -z "$("$CTL" status "$DEV")" ]
}

# remove_svmctl: remove through libsvmotion; the node must go too.
remove_svmctl() {
	"$CTL" remove "$DEV" && [ ! -e "$MAP" ]
}

# geometry_two A: segment 1 has 41 regions, segment 2 starts at A with 14.
geometry_two() {
	printf '%s\n' "${SNAP[@]}"
	[ "$(seg_field 1 total)" = 41 ] && [ "$(seg_field 2 start)" = "$1" ] &&
		[ "$(seg_field 2 total)" = 14 ]
}

# --- one segment -----------------------------------------------------------

# run_case NAME SEED REGION_SECTORS MIB REGIONS_PER_LOCK FEATURES [COPY_ARGS...]
# FEATURES: "" or the feature args of the table line ("2 lock_timeout_ms 500").
run_case() {
	local name=$1 seed=$2 region=$3 mib=$4 k=$5 features=$6
	shift 6
	local sectors=$((mib * 2048)) blocks=$((mib * 256)) src='' dst='' rc
	local state=$work/$name.state failed_before=$failures

	tap_diag "[${SECONDS}s] case $name: ${mib} MiB, regions of $region sectors, $k per lock, seed $seed${features:+, features $features}"
	newloop src "$mib" && src=$REPLY
	newloop dst "$mib" && dst=$REPLY
	check "$name: source stamped with generation 0" \
		"$SW" write --dev "$src" --blocks "$blocks" --state "$state" \
		--seed "$seed" --init --ops 0 --odirect
	check "$name: create $DEV (svmotion $src -> $dst)" \
		dmsetup create "$DEV" --table \
		"0 $sectors svmotion $src 0 $dst 0 $region${features:+ $features}"

	start_writer "$seed" "$state"
	timeout 300 "$COPY" --dm "$DEV" --seg-start 0 --src "$src" --src-offset 0 \
		--dst "$dst" --dst-offset 0 --regions-per-lock "$k" "$@" \
		> "$work/copy.out" 2>&1
	rc=$?
	verdict "$rc" "$name: svm-copyloop copies every region under the writer" \
		"$work/copy.out"
	check "$name: writer was still running after the copy" \
		kill -0 "$writer"
	snapshot
	check "$name: status synced, all regions copied, no destination error" \
		synced 1
	check "$name: guest writes were mirrored ($(seg_field 1 mirrored))" \
		mirrored_in_all 1
	if [ -n "$features" ]; then
		check "$name: lock expired ($(seg_field 1 expired_locks)) and the range was copied again" \
			lock_expired_and_retried
	else
		check "$name: no lock expired or revoked" no_lost_locks
	fi
	stop_and_switch "$name" "$sectors" "$src" "$dst" "$state"
	check "$name: the destination device holds every acknowledged write" \
		verify "$dst" "$state"
	case_end "$failed_before"
}

# --- two segments, driven through libsvmotion ------------------------------

# 96 MiB disk: segment A = 40 MiB + 12 KiB at 1 MiB regions onto dst1 at 0;
# segment B = the rest at 4 MiB regions onto dst2 at sector 2048.  Both end
# in a partial region.
run_two_segments() {
	local name=two-segments seed=5 mib=96
	local sectors=$((mib * 2048)) blocks=$((mib * 256))
	local a=$((40 * 2048 + 24)) b
	local state=$work/$name.state src='' d1='' d2='' rc1 rc2 p1 p2
	local failed_before=$failures
	b=$((sectors - a))

	tap_diag "[${SECONDS}s] case $name: segment A $a sectors (1 MiB regions), segment B $b sectors (4 MiB regions), seed $seed"
	newloop src "$mib" && src=$REPLY
	newloop dst1 41 && d1=$REPLY
	newloop dst2 58 && d2=$REPLY
	check "$name: source stamped with generation 0" \
		"$SW" write --dev "$src" --blocks "$blocks" --state "$state" \
		--seed "$seed" --init --ops 0 --odirect
	check "$name: create $DEV with two svmotion segments (svm-dmctl)" \
		"$CTL" create "$DEV" "0 $a svmotion $src 0 $d1 0 2048
$a $b svmotion $src $a $d2 2048 8192"
	snapshot
	check "$name: status has both segments with the right geometry" \
		geometry_two "$a"

	start_writer "$seed" "$state"
	timeout 300 "$COPY" --dm "$DEV" --seg-start 0 --src "$src" --src-offset 0 \
		--dst "$d1" --dst-offset 0 --regions-per-lock 3 > "$work/copy1.out" 2>&1 &
	p1=$!
	timeout 300 "$COPY" --dm "$DEV" --seg-start "$a" --src "$src" --src-offset "$a" \
		--dst "$d2" --dst-offset 2048 > "$work/copy2.out" 2>&1 &
	p2=$!
	wait "$p1"; rc1=$?
	wait "$p2"; rc2=$?
	verdict $((rc1 | rc2)) "$name: two movers copy both segments at once under the writer" \
		"$work/copy1.out" "$work/copy2.out"
	snapshot
	check "$name: both segments synced, no destination error" synced 1 2
	check "$name: guest writes were mirrored in both segments" \
		mirrored_in_all 2
	check "$name: writer stopped by SIGTERM: exit 0, no write error" stop_writer
	check "$name: source holds every acknowledged write" verify "$src" "$state"
	check "$name: noflush suspend, load linear on both destinations, resume (svm-dmctl)" \
		switch_svmctl "0 $a linear $d1 0
$a $b linear $d2 2048"
	check "$name: table is linear on both destinations" only_linear 2
	check "$name: every block read through $MAP holds its last acknowledged write" \
		verify "$MAP" "$state"
	check "$name: remove $DEV (svm-dmctl) removes its node" remove_svmctl
	case_end "$failed_before"
}

# --- main ------------------------------------------------------------------

for t in "$SW" "$COPY" "$CTL"; do
	if [ ! -x "$t" ]; then
		echo "Bail out! $t is not built (make user)"
		exit 1
	fi
done

tap_plan $((5 * PER_CASE + PER_TWO_SEG))

#        name       seed region sectors MiB per-lock features copy args
run_case r64k-s1    1    128            64  8        ""
run_case r1m-s2     2    2048           64  2        ""
run_case r4m-s3     3    8192           64  1        "" --delay-ms 50
run_case r64k-s4    4    128            32  1        ""
run_case timeout-s6 6    2048           64  1        "2 lock_timeout_ms 500" \
	--stall-ms 1500 --attempts 8
run_two_segments

tap_diag "[${SECONDS}s] done"
tap_done
