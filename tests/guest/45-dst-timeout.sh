#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/guest/45-dst-timeout.sh - a destination that stops answering never
# holds the guest's I/O for longer than dst_timeout_ms (guest test)
# timeout: 600
#
# Run inside the test VM: scripts/vm-run tests/guest/45-dst-timeout.sh
#
# The destination is a dm-linear device that the test suspends: its I/O then
# waits in device-mapper, as it does behind a lost iSCSI portal or a hard NFS
# mount whose server is gone. Or a dm-delay device (slow, not dead).
#
# A. Default table (no feature: 1000 ms), regions 0-7 COPIED, destination
#    suspended. A write to a COPIED region completes OK in about a second
#    (900 ms <= t < 1000 ms + margin), its data on the source. The target
#    is "failed" with dst_timeouts 1 and says why in the kernel log; the
#    next write (source only) is quick; lock is refused. Resumed, the
#    destination completes the abandoned write.
# B. A flush of the device with the destination suspended returns within
#    the bound, and fails the target.
# C. A write held in a COPYING region (a mover that locked it and hangs)
#    goes on within the bound, to the source only; the lock is revoked
#    (expired 1), its commit refused; the target is not failed.
# D. dst_timeout_ms 0: the write waits for the destination for as long as
#    it takes (still waiting after 3 s), then completes mirrored.
# E. The target removed while an abandoned write is in flight: the
#    destination stays open until that write completes, then closes; rmmod
#    waits for it too and returns once it has completed.
# F. A slow destination (dm-delay, 3 s) with dst_timeout_ms 500: the write
#    returns within the bound; the abandoned half, completed 3 s later,
#    writes the guest's data (its own page references kept the buffer).

set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/tap.sh
. "$here/../lib/tap.sh"
# shellcheck source=lib-dm.sh
. "$here/lib-dm.sh"

BGPIDS=()
cleanup() {
	local p

	for p in "${BGPIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	dmsetup resume svm45dst >/dev/null 2>&1
	dm_cleanup
	dm_module_ensure
}
trap cleanup EXIT

tap_plan 46

dm_init || { echo "Bail out! cannot set up the scratch directory"; exit 1; }

LEN=2048	# sectors: 1 MiB
REG=128		# sectors: 64 KiB, 16 regions
RB=$((REG * 512))
MARGIN=1000	# ms above the bound allowed for the work queue and TCG

now_ms() { echo $(($(date +%s%N) / 1000000)); }
not_ok() { ! "$@"; }

for p in A B C D E F; do
	head -c "$RB" /dev/urandom > "$DM_WORK/pat$p"
done

# wr_timed DEV REGION PAT: one O_DIRECT write of pattern PAT into REGION;
# sets WR_MS to how long it took and WR_RC to dd's status.
wr_timed() {
	local t0

	t0=$(now_ms)
	dd if="$DM_WORK/pat$3" of="$1" bs="$RB" count=1 seek="$2" \
		oflag=direct conv=notrunc status=none
	WR_RC=$?
	WR_MS=$(($(now_ms) - t0))
}

# bg_write DEV REGION PAT: the same in the background (BGPID).
bg_write() {
	dd if="$DM_WORK/pat$3" of="$1" bs="$RB" count=1 seek="$2" \
		oflag=direct conv=notrunc status=none &
	BGPID=$!
	BGPIDS+=("$BGPID")
}

# region_is DEV REGION PAT: REGION of DEV holds pattern PAT
region_is() {
	cmp -s <(dd if="$1" bs="$RB" skip="$2" count=1 iflag=direct status=none) \
		"$DM_WORK/pat$3"
}

# field DEV N: field N of the status line (1 region_sectors, 2 copied/total,
# 3 copying, 4 held, 5 mirrored, 6 dst_errors, 7 expired, 8 revoked,
# 9 dst_timeouts, 10 state)
field() {
	local f

	dm_status "$1"
	read -r -a f <<<"$DM_ST"
	echo "${f[$(($2 - 1))]}"
}

open_count() {
	dmsetup info -c --noheadings -o open "$1" 2>/dev/null | tr -d ' '
}

# wait_until SECONDS CMD...: poll CMD every 0.1 s
wait_until() {
	local i n=$(($1 * 10))

	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		nap 0.1
	done
	return 1
}

# setup NAME FEATURES: a fresh source loop, a destination linear over a
# fresh loop (svm45dst), the svmotion device NAME over them with regions
# 0-7 COPIED (locked, copied and committed as the mover does).
setup() {
	local name=$1 feat=$2

	mkloop SRC "src$name" 2 && mkloop DLOOP "dst$name" 2 || return 1
	dm_create svm45dst "0 $LEN linear $DLOOP 0" || return 1
	dm_create "$name" "0 $LEN svmotion $SRC 0 /dev/mapper/svm45dst 0 $REG$feat" ||
		return 1
	dmsetup message "$name" 0 lock 0 8 &&
		dd if="$SRC" of=/dev/mapper/svm45dst bs="$RB" count=8 \
			iflag=direct oflag=direct status=none &&
		dmsetup message "$name" 0 commit 0 8
}

teardown() {
	dmsetup resume svm45dst >/dev/null 2>&1
	dmsetup remove "$1" >/dev/null 2>&1
	wait_until 10 test "$(open_count svm45dst)" = 0
	dmsetup remove svm45dst >/dev/null 2>&1
}

# =============================================================================
# A. The default bound, a write to a COPIED region
# =============================================================================
setup svm45a ""
tap_result $? "A: default table, regions 0-7 COPIED"
tap_check "A: the table line shows no feature (the default bound applies)" \
	test "$(dmsetup table svm45a | wc -w)" = 8
A_MM=$(dm_devnum /dev/mapper/svm45a)
dmsetup suspend svm45dst
kmsg_mark
wr_timed /dev/mapper/svm45a 3 A
tap_check "A: write to a COPIED region with the destination gone succeeds" \
	test "$WR_RC" = 0
if [ "$WR_MS" -ge 900 ] && [ "$WR_MS" -lt $((1000 + MARGIN)) ]; then
	tap_ok "A: ... after the 1000 ms bound (${WR_MS} ms)"
else
	tap_fail "A: ... after the 1000 ms bound (${WR_MS} ms)"
fi
tap_check "A: state failed, dst_timeouts 1, no dst_errors" \
	test "$(field svm45a 10)/$(field svm45a 9)/$(field svm45a 6)" = failed/1/0
kmsg_new
re="svmotion: $A_MM: destination write not done within 1000 ms: mirroring stopped"
log_has "$re"
tap_result $? "A: the kernel log says the destination write timed out"
log_has "$re" || tap_diag "kernel log: $KMSG_NEW"
wr_timed /dev/mapper/svm45a 4 B
# (a dd costs up to a few hundred ms under TCG; the bound is 1000 ms)
tap_check "A: the next write (source only now) does not wait for the bound (${WR_MS} ms)" \
	test "$WR_RC" = 0 -a "$WR_MS" -lt 900
tap_check "A: lock is refused once failed" \
	not_ok dmsetup message svm45a 0 lock 9 1
tap_check "A: the source holds both writes" \
	eval 'region_is /dev/mapper/svm45a 3 A && region_is "$SRC" 3 A && region_is "$SRC" 4 B'
dmsetup resume svm45dst
tap_check "A: resumed, the destination gets the abandoned write" \
	wait_until 10 region_is /dev/mapper/svm45dst 3 A
tap_check "A: ... but not the later one (source only)" \
	not_ok region_is /dev/mapper/svm45dst 4 B
teardown svm45a

# =============================================================================
# B. A flush
# =============================================================================
setup svm45b " 2 dst_timeout_ms 500"
tap_result $? "B: dst_timeout_ms 500"
dmsetup suspend svm45dst
t0=$(now_ms)
dd if=/dev/null of=/dev/mapper/svm45b conv=fsync,notrunc status=none
rc=$?
ms=$(($(now_ms) - t0))
tap_check "B: a flush with the destination gone returns OK within the bound (${ms} ms)" \
	test "$rc" = 0 -a "$ms" -lt $((500 + MARGIN))
tap_check "B: ... and fails the target (dst_timeouts 1)" \
	test "$(field svm45b 10)/$(field svm45b 9)" = failed/1
teardown svm45b

# =============================================================================
# C. A write held in a COPYING region of a stuck mover
# =============================================================================
setup svm45c " 4 lock_timeout_ms 600000 dst_timeout_ms 500"
tap_result $? "C: dst_timeout_ms 500, lock_timeout_ms 600000"
tap_check "C: the mover locks region 10 (and hangs)" \
	dmsetup message svm45c 0 lock 10 1
wr_timed /dev/mapper/svm45c 10 C
tap_check "C: a write to it goes on within the bound (${WR_MS} ms)" \
	test "$WR_RC" = 0 -a "$WR_MS" -ge 400 -a "$WR_MS" -lt $((500 + MARGIN))
tap_check "C: the lock is revoked: 0 COPYING, expired 1, not failed" \
	test "$(field svm45c 3)/$(field svm45c 7)/$(field svm45c 10)" = 0/1/copying
tap_check "C: the mover's commit is refused" \
	not_ok dmsetup message svm45c 0 commit 10 1
tap_check "C: the write is on the source only" \
	eval 'region_is "$SRC" 10 C && ! region_is /dev/mapper/svm45dst 10 C'
tap_check "C: the region can be locked again (the mover copies it anew)" \
	dmsetup message svm45c 0 lock 10 1
tap_check "C: ... and committed in time" dmsetup message svm45c 0 commit 10 1
wr_timed /dev/mapper/svm45c 10 D
tap_check "C: a write to it now is mirrored, not held (still 1 expired, ${WR_MS} ms)" \
	eval 'test "$WR_RC" = 0 -a "$(field svm45c 7)" = 1 && region_is /dev/mapper/svm45dst 10 D'
teardown svm45c

# =============================================================================
# D. dst_timeout_ms 0: wait for the destination
# =============================================================================
setup svm45d " 2 dst_timeout_ms 0"
tap_result $? "D: dst_timeout_ms 0"
tap_check "D: the table line shows it" \
	eval 'dmsetup table svm45d | grep -q " 2 dst_timeout_ms 0$"'
dmsetup suspend svm45dst
bg_write /dev/mapper/svm45d 5 D
nap 3
tap_check "D: the write still waits for the destination after 3 s" \
	kill -0 "$BGPID"
dmsetup resume svm45dst
wait "$BGPID"
rc=$?
tap_check "D: resumed, it completes OK" test "$rc" = 0
tap_check "D: ... mirrored, the target not failed" \
	eval 'region_is /dev/mapper/svm45dst 5 D && test "$(field svm45d 10)/$(field svm45d 9)" = copying/0'
teardown svm45d

# =============================================================================
# E. Abandoned writes outlive the target and hold back rmmod
# =============================================================================
setup svm45e " 2 dst_timeout_ms 300"
tap_result $? "E: dst_timeout_ms 300"
dmsetup suspend svm45dst
wr_timed /dev/mapper/svm45e 6 E
tap_check "E: a write is abandoned (${WR_MS} ms, dst_timeouts $(field svm45e 9))" \
	test "$WR_RC" = 0 -a "$(field svm45e 9)" = 1
tap_check "E: the svmotion device is removed while it is in flight" \
	dmsetup remove svm45e
tap_check "E: the destination is still held open (open count $(open_count svm45dst))" \
	test "$(open_count svm45dst)" = 1
rmmod dm_svmotion &
rmpid=$!
BGPIDS+=("$rmpid")
nap 2
tap_check "E: rmmod waits for the abandoned write" kill -0 "$rmpid"
dmsetup resume svm45dst
wait "$rmpid"
rc=$?
tap_check "E: resumed, the write completes and rmmod returns OK" test "$rc" = 0
tap_check "E: the destination is closed" \
	wait_until 10 test "$(open_count svm45dst)" = 0
tap_check "E: the abandoned write reached the destination" \
	region_is /dev/mapper/svm45dst 6 E
tap_check "E: the module loads again" insmod "$DM_KO"
dmsetup remove svm45dst >/dev/null 2>&1

# =============================================================================
# F. A slow destination
# =============================================================================
mkloop SRC srcf 2 && mkloop DLOOP dstf 2
modprobe dm-delay
tap_check "F: destination dm-delay, 3 s on writes" \
	dm_create svm45slow "0 $LEN delay $DLOOP 0 0 $DLOOP 0 3000"
tap_check "F: svmotion with dst_timeout_ms 500 over it" \
	dm_create svm45f "0 $LEN svmotion $SRC 0 /dev/mapper/svm45slow 0 $REG 2 dst_timeout_ms 500"
tap_check "F: regions 0-7 COPIED" \
	eval 'dmsetup message svm45f 0 lock 0 8 && dmsetup message svm45f 0 commit 0 8'
t0=$(now_ms)
# The writer's buffer is gone when dd exits, long before the delayed half.
head -c "$RB" "$DM_WORK/patF" | dd of=/dev/mapper/svm45f bs="$RB" count=1 \
	seek=2 oflag=direct iflag=fullblock conv=notrunc status=none
rc=$?
ms=$(($(now_ms) - t0))
tap_check "F: the write returns OK within the bound (${ms} ms)" \
	test "$rc" = 0 -a "$ms" -lt $((500 + MARGIN))
tap_check "F: failed, dst_timeouts 1" \
	test "$(field svm45f 10)/$(field svm45f 9)" = failed/1
tap_check "F: the source has the data" region_is "$SRC" 2 F
tap_check "F: 3 s later the abandoned half wrote the same data to the destination" \
	wait_until 10 region_is "$DLOOP" 2 F
tap_check "F: the device is removed and the destination closed" \
	eval 'dmsetup remove svm45f && wait_until 10 test "$(open_count svm45slow)" = 0'

kmsg_new
tap_check "no warning, oops or lockdep report in the kernel log" \
	not_ok log_has "WARNING|BUG|Oops|lockdep|circular locking|use-after-free"

tap_done
