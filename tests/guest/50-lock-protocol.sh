#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The lock/commit/unlock protocol and everything that ends a lock:
# held writes released by commit (mirrored) and unlock (source only), by a
# suspend (flush and noflush) and by the lock timeout; lock waits for writes
# already in flight; partial commit/unlock of a lock range; the synced event.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"

SECT=16384		# 8 MiB disk
REG=128			# 64 KiB regions -> 128 regions
work=$(mktemp -d /tmp/svm50.XXXXXX)
loops=()
devs=()
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for d in "${devs[@]}"; do dmsetup remove "$d" >/dev/null 2>&1; done
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

newloop() { truncate -s "$2" "$1" && losetup -f --show "$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# field DEV N: field N of the svmotion status line (1 = region_sectors)
field() { dmsetup status "$1" | awk -v n="$2" '{print $(n + 3)}'; }
# region_is DEV REGION FILE: region REGION of DEV holds FILE's 64 KiB
region_is() {
	cmp -s <(dd if="$1" bs=64k skip="$2" count=1 iflag=direct status=none) "$3"
}
# bgwrite FILE DEV REGION: start an O_DIRECT write of FILE into REGION
bgwrite() {
	dd if="$1" of="$2" bs=64k seek="$3" count=1 oflag=direct status=none &
	bgpid=$!
	pids+=("$bgpid")
}
running() { kill -0 "$1" 2>/dev/null; }
# wait_blocked PID: wait (up to 60 s) until PID sleeps in the kernel (state D),
# i.e. its O_DIRECT write has been issued and is waiting for completion
wait_blocked() {
	local i
	for i in $(seq 600); do
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = D ] && return 0
		sleep 0.1
	done
	return 1
}
not() { ! "$@"; }
# src_only PAT_FILE SRC DST REGION: the pattern is on the source, not the destination
src_only() { region_is "$2" "$4" "$1" && ! region_is "$3" "$4" "$1"; }
relock() { dmsetup message "$1" 0 lock "$2" "$3" && dmsetup message "$1" 0 unlock "$2" "$3"; }

for p in A B C E F G; do
	dd if=/dev/urandom of="$work/pat$p" bs=64k count=1 status=none
done

tap_plan 34

S=$(newloop "$work/src" 8M); loops+=("$S")
D=$(newloop "$work/dst" 8M); loops+=("$D")
tap_check "create with lock_timeout_ms 30000" \
	dmsetup create svm50 --table "0 $SECT svmotion $S 0 $D 0 $REG 4 lock_timeout_ms 30000 dst_timeout_ms 0"
devs+=(svm50)
SVM=/dev/mapper/svm50

# --- commit releases held writes, mirrored ------------------------------
dmsetup message svm50 0 lock 5 1
bgwrite "$work/patA" $SVM 5
sleep 1
if running "$bgpid" && [ "$(field svm50 4)" = 1 ]; then
	tap_ok "a write to a COPYING region is held (held_writes 1)"
else
	tap_fail "a write to a COPYING region is held (held_writes $(field svm50 4))"
fi
tap_check "commit of the locked region succeeds" dmsetup message svm50 0 commit 5 1
wait "$bgpid"; rc=$?
tap_check "the held write completes after commit" test "$rc" = 0
tap_check "... and reached the source" region_is "$S" 5 "$work/patA"
tap_check "... and the destination (mirrored)" region_is "$D" 5 "$work/patA"

# --- unlock releases held writes to the source only ---------------------
dmsetup message svm50 0 lock 6 1
bgwrite "$work/patB" $SVM 6
sleep 1
tap_check "a second write is held" running "$bgpid"
tap_check "unlock of the locked region succeeds" dmsetup message svm50 0 unlock 6 1
wait "$bgpid"; rc=$?
tap_check "the held write completes after unlock" test "$rc" = 0
tap_check "... and reached the source" region_is "$S" 6 "$work/patB"
tap_check "... and not the destination" not region_is "$D" 6 "$work/patB"

# --- suspend revokes locks and releases held writes ---------------------
dmsetup message svm50 0 lock 7 1
bgwrite "$work/patC" $SVM 7
sleep 1
t0=$(now_ms)
dmsetup suspend svm50
dt=$(($(now_ms) - t0))
if [ $dt -lt 10000 ]; then
	tap_ok "suspend with a held write returns at once (${dt} ms, lock timeout 30 s)"
else
	tap_fail "suspend with a held write returns at once (${dt} ms, lock timeout 30 s)"
fi
wait "$bgpid"; rc=$?
tap_check "the held write completed during the suspend" test "$rc" = 0
tap_check "lock is refused while suspended" not dmsetup message svm50 0 lock 9 1
dmsetup resume svm50
tap_check "status counts 1 revoked lock, 0 COPYING" \
	test "$(field svm50 8)" = 1 -a "$(field svm50 3)" = 0
tap_check "commit of the revoked region is refused" not dmsetup message svm50 0 commit 7 1
tap_check "the released write went to the source only" src_only "$work/patC" "$S" "$D" 7

dmsetup message svm50 0 lock 8 1
bgwrite "$work/patE" $SVM 8
sleep 1
t0=$(now_ms)
dmsetup suspend --noflush svm50
dt=$(($(now_ms) - t0))
if [ $dt -lt 10000 ] && wait "$bgpid"; then
	tap_ok "noflush suspend with a held write returns at once (${dt} ms) and the write completes"
else
	tap_fail "noflush suspend with a held write returns at once (${dt} ms) and the write completes"
fi
dmsetup resume svm50
tap_check "after resume: 2 revoked locks" test "$(field svm50 8)" = 2
tap_check "after resume: lock works again" relock svm50 8 1

# --- partial commit and unlock of one lock range ------------------------
dmsetup message svm50 0 lock 10 10
tap_check "commit of the middle of a lock range (split)" dmsetup message svm50 0 commit 13 2
tap_check "unlock of its head" dmsetup message svm50 0 unlock 10 3
tap_check "commit of its tail" dmsetup message svm50 0 commit 15 5
tap_check "status: 8 COPIED (5, 13-19), 0 COPYING" \
	test "$(field svm50 2)" = "8/128" -a "$(field svm50 3)" = 0
tap_check "the unlocked head can be locked again" relock svm50 10 3

# --- the lock timeout ---------------------------------------------------
S2=$(newloop "$work/src2" 8M); loops+=("$S2")
D2=$(newloop "$work/dst2" 8M); loops+=("$D2")
dmsetup create svm50t --table "0 $SECT svmotion $S2 0 $D2 0 $REG 4 lock_timeout_ms 1000 dst_timeout_ms 0"
devs+=(svm50t)
dmsetup message svm50t 0 lock 3 1
bgwrite "$work/patF" /dev/mapper/svm50t 3
t0=$(now_ms)
wait "$bgpid"; rc=$?
dt=$(($(now_ms) - t0))
if [ $rc = 0 ] && [ $dt -ge 500 ] && [ $dt -lt 8000 ]; then
	tap_ok "a write held by a stuck lock completes after the 1 s timeout (${dt} ms)"
else
	tap_fail "a write held by a stuck lock completes after the 1 s timeout (rc $rc, ${dt} ms)"
fi
tap_check "status counts 1 expired lock" test "$(field svm50t 7)" = 1
tap_check "commit of the expired region is refused" not dmsetup message svm50t 0 commit 3 1
tap_check "the expiry is logged" sh -c "dmesg | grep -q 'svmotion: .*lock on regions 3+1 expired'"
tap_check "the write went to the source" region_is "$S2" 3 "$work/patF"

# --- lock waits for writes already in flight ----------------------------
S3=$(newloop "$work/src3" 8M); loops+=("$S3")
D3=$(newloop "$work/dst3" 8M); loops+=("$D3")
modprobe dm-delay
dmsetup create del50 --table "0 $SECT delay $S3 0 0 $S3 0 6000"
devs=(svm50d "${devs[@]}" del50)
dmsetup create svm50d --table "0 $SECT svmotion /dev/mapper/del50 0 $D3 0 $REG 4 lock_timeout_ms 30000 dst_timeout_ms 0"
bgwrite "$work/patG" /dev/mapper/svm50d 2
wait_blocked "$bgpid"
t0=$(now_ms)
dmsetup message svm50d 0 lock 2 1
dt=$(($(now_ms) - t0))
tap_check "lock waits for the write in flight to its region: when it returns (${dt} ms) the write is on the source" \
	region_is "$S3" 2 "$work/patG"
wait "$bgpid"
bgwrite "$work/patA" /dev/mapper/svm50d 6
wait_blocked "$bgpid"
t0=$(now_ms)
dmsetup message svm50d 0 lock 4 1
dt=$(($(now_ms) - t0))
if running "$bgpid"; then
	tap_ok "lock of another region does not wait for that write (${dt} ms)"
else
	tap_fail "lock of another region does not wait for that write (${dt} ms)"
fi
wait "$bgpid"
dmsetup message svm50d 0 unlock 2 1
dmsetup message svm50d 0 unlock 4 1

# --- synced state and its event -----------------------------------------
ev0=$(dmsetup info -c --noheadings -o events svm50t | tr -d ' ')
dmsetup message svm50t 0 lock 0 128 && dmsetup message svm50t 0 commit 0 128
sleep 0.5
ev1=$(dmsetup info -c --noheadings -o events svm50t | tr -d ' ')
tap_check "all regions committed: state synced" test "$(field svm50t 10)" = synced
tap_check "a dm event was raised when the device became synced ($ev0 -> $ev1)" \
	test "$ev1" -gt "$ev0"
tap_done
