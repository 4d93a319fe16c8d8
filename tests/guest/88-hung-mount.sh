#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 600
#
# Storage that stops answering under a running migration never hangs the
# commands an administrator reaches for, and a source that goes away ends
# the migration as it would end I/O under dm-linear.
#
# A. The destination, an NFSv4.2 hard mount, hangs mid-copy (the server's
#    exported ext4 frozen: every write waits). svmotion status and list
#    answer at once; datastores answers within its bounds, saying which
#    datastore does not answer (and still describing the local one); abort
#    says within about 15 s that migrate has not begun to roll back because
#    its copy waits for I/O, exit 1.
#    Thawed, migrate finishes the abort: exit 4, the disk on its source.
# B. The source, a raw image on a soft NFSv4.2 mount (timeo=10,retrans=1),
#    loses its server mid-copy (nfsd threads stopped). A direct read through
#    the disk fails with the same error as through dm-linear over the same
#    loop device; migrate fails (exit 1) and switches nothing: the disk is
#    attached on its source, its table linear on it. With the server back,
#    the disk reads the original data.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"
# shellcheck source=lib-servers.sh
. "$here/lib-servers.sh"

SVM=$repo/utils/svmotion
work=${SVM_TEST_TMPDIR:-/tmp}/88
M=$work/mnt
export SVMOTION_STATE_DIR=$work/state
bgpids=()
failures=0
# shellcheck source=lib-svmotion.sh
. "$here/lib-svmotion.sh"

cleanup() {
	[ -n "${NFS_ROOT:-}" ] && fsfreeze -u "$NFS_ROOT" >/dev/null 2>&1
	nfs_server_resume >/dev/null 2>&1
	dmsetup remove lin88 >/dev/null 2>&1
	svm_cleanup
	for d in "$M"/*; do
		mountpoint -q "$d" 2>/dev/null && umount -l "$d" 2>/dev/null
	done
	srv_stop_all >/dev/null 2>&1
	mountpoint -q "$work/ds0" && umount "$work/ds0"
	rm -rf "$work"
}
trap cleanup EXIT

tap_plan 16
mkdir -p "$work/ds0" "$M" "$SVMOTION_STATE_DIR"
mount -t tmpfs -o size=128m tmpfs "$work/ds0"


# timed CMD...: run CMD (stdout+stderr in $work/out); T_MS, T_RC
timed() {
	local t0

	t0=$(now_ms)
	"$@" > "$work/out" 2>&1 < /dev/null
	T_RC=$?
	T_MS=$(($(now_ms) - t0))
}

# start_migration NAME DST: migrate in the background (MPID) at 2 MiB/s,
# back once 3 regions are COPIED
start_migration() {
	local i

	"$SVM" migrate "$1" --to "$2" --rate 2M \
		> "$work/$1.mig.out" 2> "$work/$1.mig.err" < /dev/null &
	MPID=$!
	bgpids+=("$MPID")
	for ((i = 0; i < 600; i++)); do
		[ "$(regions_copied "$1")" -ge 3 ] && return 0
		kill -0 "$MPID" 2>/dev/null || return 1
		srv_nap 0.1
	done
	return 1
}

# wait_exit PID SECONDS: wait for PID (its status in W_RC), at most SECONDS
wait_exit() {
	local i

	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || break
		srv_nap 0.1
	done
	wait "$1"
	W_RC=$?
}

on_source() { # NAME IMG
	"$SVM" list --json | jq -e --arg p "$2" --arg n "$1" \
		'.[] | select(.name == $n and .disk == $p and .state == "attached")' > /dev/null &&
		dmsetup table "svm-$1" | grep -q ' linear '
}

if ! nfs_start 256 > "$work/err" 2>&1 || ! nfs_mount 4.2 ds1 "$M/v42" >> "$work/err" 2>&1 ||
	! nfs_mount 4.2 ds2 "$M/soft" soft,timeo=10,retrans=1 >> "$work/err" 2>&1; then
	tap_diag "$(cat "$work/err")"
	echo "Bail out! the NFS server or its mounts did not come up"
	exit 1
fi

# --- A. the destination hangs ---------------------------------------------------
img=$work/ds0/a88.img
head -c 48M /dev/urandom > "$img"
"$SVM" attach "$img" > /dev/null 2>&1
start_migration a88 "$M/v42"
tap_result $? "A: migrating to the v4.2 mount, 3 of 12 regions COPIED"
fsfreeze -f "$NFS_ROOT"
srv_nap 2

timed "$SVM" status
tap_check "A: status answers (${T_MS} ms) and shows the migration" \
	eval 'test "$T_RC" = 0 -a "$T_MS" -lt 5000 && grep -q "^a88 " "$work/out"'
timed "$SVM" list
tap_check "A: list answers (${T_MS} ms)" \
	eval 'test "$T_RC" = 0 -a "$T_MS" -lt 5000 && grep -q "^a88 " "$work/out"'
timed "$SVM" datastores
tap_check "A: datastores answers within its bounds (${T_MS} ms), exit 1" \
	test "$T_RC" = 1 -a "$T_MS" -lt 45000
tap_check "A: ... saying the NFS datastore does not answer" \
	grep -q "v42: not answering within 10 s" "$work/out"
tap_check "A: ... and describing the local one" \
	grep -q "^$work/ds0: tmpfs" "$work/out"
[ "$T_RC" = 1 ] || tap_diag "$(cat "$work/out")"
timed "$SVM" abort a88
tap_check "A: abort returns (${T_MS} ms, exit $T_RC) and says migrate waits for I/O" \
	eval 'test "$T_RC" = 1 -a "$T_MS" -lt 30000 && grep -q "has not begun to roll back" "$work/out"'
grep -q "has not begun to roll back" "$work/out" || tap_diag "$(cat "$work/out")"
fsfreeze -u "$NFS_ROOT"
wait_exit "$MPID" 90
tap_check "A: thawed, migrate finishes the abort (exit $W_RC)" test "$W_RC" = 4
tap_check "A: the disk is attached on its source, linear" on_source a88 "$img"
timed "$SVM" status
tap_check "A: no migration in progress" grep -q "no migration in progress" "$work/out"
"$SVM" detach a88 > /dev/null 2>&1

# --- B. the source's server goes away ---------------------------------------------
img=$M/soft/b88.img
head -c 48M /dev/urandom > "$work/b88.orig"
cp "$work/b88.orig" "$img"
sum0=$(md5sum < "$work/b88.orig")
"$SVM" attach "$img" > /dev/null 2>&1
loop=$(losetup -j "$img" | cut -d: -f1)
dmsetup create lin88 --table "0 98304 linear $loop 0"
start_migration b88 "$work/ds0"
tap_result $? "B: migrating from the soft mount, 3 of 12 regions COPIED"
nfs_server_pause
# Nothing of the image from the client's page cache: the reads go out.
echo 3 > /proc/sys/vm/drop_caches
# A region not copied yet and one copied: reads go to the source either way.
lin_err=$(dd if=/dev/mapper/lin88 of=/dev/null bs=64k count=1 skip=700 iflag=direct status=none 2>&1 >/dev/null)
lin_rc=$?
svm_err=$(dd if=/dev/mapper/svm-b88 of=/dev/null bs=64k count=1 skip=700 iflag=direct status=none 2>&1 >/dev/null)
svm_rc=$?
svm_err=${svm_err//svm-b88/DEV}
lin_err=${lin_err//lin88/DEV}
tap_check "B: a read through the disk fails as through dm-linear (rc $svm_rc/$lin_rc: ${svm_err%%$'\n'*})" \
	eval 'test "$svm_rc" != 0 -a "$svm_rc" = "$lin_rc" && test "$svm_err" = "$lin_err"'
wait_exit "$MPID" 120
tap_check "B: migrate fails (exit $W_RC)" test "$W_RC" = 1
tap_check "B: nothing switched: the disk on its source, linear" on_source b88 "$img"
nfs_server_resume
nfs_end_grace
dmsetup remove lin88 >/dev/null 2>&1
sum1=$(dd if=/dev/mapper/svm-b88 bs=1M iflag=direct status=none | md5sum)
tap_check "B: the server back, the disk reads its original data" test "$sum0" = "$sum1"
tap_check "B: no destination file left" test ! -e "$work/ds0/b88.img"

tap_done
