#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 600
#
# svmotion migrate --via: the mover reaches an NFS file or an iSCSI LUN
# through the kernel (the devices the guest uses) or through its own
# libnfs/libiscsi connection to the same file or LUN, chosen by
# measurement (auto) and reported with the reason. With the real servers
# of lib-servers.sh (nfsd, NFSv4.2 mounts of ds1 and ds2; LIO with two
# LUNs, logged in with open-iscsi), a fio writer with verification on the
# disk during each migration:
#   deleg a file the kernel's mount holds a read delegation of opens for
#         writing through nfs:// (nfsd answers NFS4ERR_DELAY while it
#         recalls the delegation; the OPEN is sent again) and is written
#   nfs   NFS -> NFS --via direct: the 'via' event names the two nfs://
#         URLs of the very files; every byte went through the mover's own
#         connection (movers.stream, extents_via_url 1), and not through
#         the kernel's mounts (their READ/WRITE byte counts and COPY calls
#         in /proc/self/mountstats grow by far less than the disk)
#   lun   LUN -> LUN --via direct: two iscsi:// URLs; the copy is the
#         mover's reads and writes or an EXTENDED COPY sent on its own
#         sessions (LIO takes it: emulate_3pc); the destination SCSI disk's
#         own write counter (/sys/block/sdX/stat) grows by far less than the
#         disk, and the data arrived
#   l2lun local -> LUN --via direct, unthrottled: several regions copied
#         at once, each worker on its own session and its own descriptors
#         of the local source; every byte arrived
#   copy  NFS -> NFS --via kernel between the two mounts (two exports of one
#         server): the mover copies the loop devices' files with
#         copy_file_range, a server-side COPY: the ds2 mount's COPY calls
#         grow, its WRITE bytes and the host's own count (bytes_through_host)
#         stay far under the disk's size
#   offl  a 256 MiB disk, NFS -> NFS between the two mounts, --via auto:
#         the kernel's first phase offloaded (server-side COPY), so its way
#         is kept and the direct one not tried; nothing through this host
#   auto  a 256 MiB disk, local -> NFS, --via auto: the hot copy tried both
#         ways on its first regions (phases, both rates; all of them at
#         most an eighth of the disk), the choice
#         follows the rates as documented, the rest went that way, and
#         nothing was copied twice (the two ways' bytes add up to the disk)
#   small a 48 MiB disk, auto: not measured, the kernel's way, said so
#   local --via direct between local directories: refused before any
#         change (exit 3), with the reason
#   pcache an NFS disk whose loop device reads through the page cache (its
#         direct I/O turned off) to a local directory, --via direct: refused
#         before any change (exit 3): another connection to the file would
#         not see what the cache holds
# Each migration ends with fio's verification passing, the disk on its
# destination and the part fio did not write holding the original data.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"
# shellcheck source=lib-servers.sh
. "$here/lib-servers.sh"

SVM=$repo/utils/svmotion
work=${SVM_TEST_TMPDIR:-/tmp}/89v
M=$work/mnt
export SVMOTION_STATE_DIR=$work/state
bgpids=()
failures=0
# shellcheck source=lib-svmotion.sh
. "$here/lib-svmotion.sh"

cleanup() {
	svm_cleanup
	for d in "$M"/*; do
		mountpoint -q "$d" 2>/dev/null && umount -l "$d" 2>/dev/null
	done
	srv_stop_all >/dev/null 2>&1
	mountpoint -q "$work/ds0" && umount "$work/ds0"
	mountpoint -q "$work/ds9" && umount "$work/ds9"
	rm -rf "$work"
}
trap cleanup EXIT

tap_plan 63
mkdir -p "$work/ds0" "$work/ds9" "$M" "$SVMOTION_STATE_DIR"
mount -t tmpfs -o size=400m tmpfs "$work/ds0"
mount -t tmpfs -o size=100m tmpfs "$work/ds9"

# mnt_op MOUNTPOINT OP FIELD: a per-op counter of an NFS mount (FIELD 2:
# calls, 5: bytes sent, 6: bytes received), 0 if not listed.
mnt_op() {
	awk -v m="$1" -v op="$2:" -v f="$3" '
		$1 == "device" { inm = ($5 == m) }
		inm && $1 == op { print $f; found = 1; exit }
		END { if (!found) print 0 }' /proc/self/mountstats
}

# sectors written to block device DEV (/dev/sdX), from its stat
dev_written() {
	awk '{ print $7 * 512 }' "/sys/block/${1##*/}/stat"
}

# writer TAG: fio on svm-TAG, 4 KiB random writes into the first 24 MiB,
# 40 a second for 10 s, verified at the end (background; FPID)
writer() {
	fio --name="$1" --filename="/dev/mapper/svm-$1" --rw=randwrite \
		--bs=4k --direct=1 --ioengine=psync --size=24M --number_ios=400 \
		--rate_iops=40 --verify=crc32c --verify_fatal=1 \
		> "$work/$1.fio.out" 2>&1 &
	FPID=$!
	bgpids+=("$FPID")
}

# migrate_with_writer TAG ARGS...: migrate under the writer; RC, and the
# output in svm.out / svm.err (expect's files)
migrate_with_writer() {
	local tag=$1 frc
	shift
	writer "$tag"
	"$SVM" migrate "$tag" "$@" > "$work/svm.out" 2> "$work/svm.err" < /dev/null
	RC=$?
	wait "$FPID"
	frc=$?
	tap_check "$tag: fio's writes during the migration all succeeded and verified" \
		test "$frc" = 0
	[ "$frc" = 0 ] || tap_diag "$(tail -5 "$work/$tag.fio.out")"
}

# via_json FILTER: jq on the 'via' event of svm.out
via_json() {
	jq -r "select(.event == \"via\") | .via | $1" "$work/svm.out" 2>/dev/null
}
copied_json() {
	jq -r "select(.event == \"copied\") | $1" "$work/svm.out" 2>/dev/null
}

# the last 40 MiB of a 64 MiB disk (fio writes the first 24 MiB)
tail_md5() {
	dd if="$1" bs=1M skip=24 count=40 iflag=direct status=none | md5sum
}

servers_up=0
if nfs_start 1024 > "$work/err" 2>&1 &&
   nfs_mount 4.2 ds1 "$M/n1" >> "$work/err" 2>&1 &&
   nfs_mount 4.2 ds2 "$M/n2" >> "$work/err" 2>&1 &&
   iscsi_start 2 192 >> "$work/err" 2>&1 && iscsi_login >> "$work/err" 2>&1; then
	servers_up=1
fi
tap_check "nfsd (ds1, ds2 mounted v4.2) and LIO (2 LUNs, logged in) are up" \
	test $servers_up = 1
if [ $servers_up != 1 ]; then
	tap_diag "$(tail -20 "$work/err")"
	echo "Bail out! the servers did not come up"
	exit 1
fi

# --- deleg: a file the kernel's mount holds a delegation of ------------------------
# The kernel's client, reading a file it has open, holds a read delegation
# of it; an OPEN for writing from libnfs is answered NFS4ERR_DELAY while
# nfsd recalls it, and is sent again (the mover's destination is such a
# file when the kernel's mount has just created or read it).
head -c 8M /dev/urandom > "$M/n2/dl.img"
exec 3< "$M/n2/dl.img"
head -c 1M <&3 > /dev/null
tap_check "deleg: the kernel's mount holds a read delegation of ds2/dl.img" \
	sh -c "grep -h 'type: deleg' /proc/fs/nfsd/clients/*/states | grep -q 'ds2/dl.img'"
head -c 1M /dev/urandom > "$work/dl.data"
"$repo/tests/tools/svm-ep-io" write "$(nfs_url 4 ds2 dl.img)" 0 < "$work/dl.data" > "$work/dl.out" 2>&1
tap_result $? "deleg: nfs:// opens it for writing all the same (OPEN sent again after NFS4ERR_DELAY) and writes"
[ -s "$work/dl.out" ] && tap_diag "deleg: $(tail -2 "$work/dl.out")"
exec 3<&-
tap_check "deleg: what it wrote is in the file" \
	test "$(head -c 1M "$M/n2/dl.img" | md5sum)" = "$(md5sum < "$work/dl.data")"
rm -f "$M/n2/dl.img"

# --- nfs: NFS -> NFS, the mover's own connection --------------------------------
head -c 64M /dev/urandom > "$M/n1/nfs.img"
before=$(dd if="$M/n1/nfs.img" bs=1M skip=24 count=40 status=none | md5sum)
"$SVM" attach "$M/n1/nfs.img" > "$work/attach.out" 2>&1
tap_result $? "nfs: attached a 64 MiB raw disk on the ds1 mount"
r1=$(mnt_op "$M/n1" READ 6) w1=$(mnt_op "$M/n1" WRITE 5)
r2=$(mnt_op "$M/n2" READ 6) w2=$(mnt_op "$M/n2" WRITE 5) c2=$(mnt_op "$M/n2" COPY 2)
# the mounts are NFSv4.2; the mover's own connection is NFSv3 (libnfs 4.0
# writes NFSv4 in calls of under 4 KB), its paths found in the server's
# export list and proven by fileid
migrate_with_writer nfs --to "$M/n2" --via direct --rate 8M --dst-timeout 10000 --json
expect 0 "nfs: migrate --via direct to the ds2 mount succeeds"
u1="$(nfs_url 3 ds1 nfs.img)?version=3" u2="$(nfs_url 3 ds2 nfs.img)?version=3"
tap_check "nfs: the via event chose direct, through NFSv3 URLs of the v4.2 mounts' files: $u1 and $u2" \
	test "$(via_json '.chosen'),$(via_json '.urls | join(",")')" = "direct,$u1,$u2"
tap_check "nfs: all of the copy went through the mover's own connection (stream, 1 extent via URL)" \
	test "$(copied_json '.extents_via_url'),$(copied_json '(.movers.stream == .bytes_copied) and .bytes_copied >= 67108864')" = "1,true"
tap_diag "nfs: $(grep '"copied"' "$work/svm.out")"
dr1=$(( $(mnt_op "$M/n1" READ 6) - r1 )) dw1=$(( $(mnt_op "$M/n1" WRITE 5) - w1 ))
dr2=$(( $(mnt_op "$M/n2" READ 6) - r2 )) dw2=$(( $(mnt_op "$M/n2" WRITE 5) - w2 ))
dc2=$(( $(mnt_op "$M/n2" COPY 2) - c2 ))
tap_diag "nfs: through the mounts: ds1 read $dr1 written $dw1, ds2 read $dr2 written $dw2 bytes, $dc2 COPY calls"
tap_check "nfs: the kernel's mounts moved less than a quarter of the disk (the guest's own writes) and no COPY" \
	test $((dr1 + dw2)) -lt $((16 << 20)) -a "$dc2" = 0
tap_check "nfs: the disk is on ds2 (its table is linear on a loop device over ds2's file)" \
	sh -c "'$SVM' list --json | jq -e '.[] | select(.name == \"nfs\") | .disk | test(\"/n2/\")' >/dev/null"
tap_check "nfs: the part fio did not write is the original data" \
	test "$(tail_md5 /dev/mapper/svm-nfs)" = "$before"
"$SVM" detach nfs > /dev/null 2>&1

# --- lun: LUN -> LUN, the mover's own iSCSI session ----------------------------
S=${ISCSI_DEV[0]} D=${ISCSI_DEV[1]}
dd if=/dev/urandom of="$S" bs=1M count=64 oflag=direct status=none
before=$(dd if="$S" bs=1M skip=24 count=40 iflag=direct status=none | md5sum)
"$SVM" attach "$S" --name lun > "$work/attach.out" 2>&1
tap_result $? "lun: attached LUN 0 ($S) as a raw disk"
dw=$(dev_written "$D")
migrate_with_writer lun --to "$D" --via direct --rate 24M --json
expect 0 "lun: migrate --via direct to LUN 1 ($D) succeeds"
tap_check "lun: the via event chose direct, through two iscsi:// URLs of $ISCSI_IQN" \
	test "$(via_json '.chosen'),$(via_json "[.urls[] | select(startswith(\"iscsi://$ISCSI_PORTAL/$ISCSI_IQN/\"))] | length")" = "direct,2"
tap_check "lun: all of the copy went through the mover's own sessions (its reads and writes, or EXTENDED COPY sent on them; 1 extent via URL)" \
	test "$(copied_json '.extents_via_url'),$(copied_json '((.movers.stream // 0) + (.movers.xcopy // 0)) == .bytes_copied and .bytes_copied > 0')" = "1,true"
tap_diag "lun: $(grep '"copied"' "$work/svm.out")"
dw=$(( $(dev_written "$D") - dw ))
size=$(blockdev --getsize64 "$D")
tap_diag "lun: written through $D by the kernel: $dw bytes of a $size-byte disk"
tap_check "lun: the kernel's $D took less than a quarter of the disk's writes" \
	test "$dw" -lt $((size / 4))
tap_check "lun: the part fio did not write arrived on LUN 1" \
	test "$(dd if="$D" bs=1M skip=24 count=40 iflag=direct status=none | md5sum)" = "$before"
tap_check "lun: the disk is now LUN 1" \
	sh -c "dmsetup table svm-lun | grep -q ' $(cat /sys/block/${D##*/}/dev) 0\$'"
"$SVM" detach lun > /dev/null 2>&1

# --- l2lun: local -> LUN, the workers' own ends --------------------------------
# Unthrottled, so that the hot copy's workers copy regions at once: each
# drives its own iSCSI session and its own descriptors of the local source
# (an endpoint is one thread's: four workers on one io_uring ring crashed
# or lost completions, and the migration hung).
head -c 64M /dev/urandom > "$work/ds0/l2l.img"
before=$(dd if="$work/ds0/l2l.img" bs=1M skip=24 count=40 status=none | md5sum)
"$SVM" attach "$work/ds0/l2l.img" --name l2l > "$work/attach.out" 2>&1
tap_result $? "l2lun: attached a 64 MiB raw disk on a local tmpfs"
migrate_with_writer l2l --to "$S" --via direct --dst-timeout 10000 --json
expect 0 "l2lun: migrate --via direct to LUN 0 ($S), unthrottled, succeeds"
tap_diag "l2lun: $(grep '"copied"' "$work/svm.out")"
tap_check "l2lun: every byte through the mover's own session (stream, 1 extent via URL), several regions at once" \
	test "$(copied_json '.extents_via_url'),$(copied_json '.movers.stream == .bytes_copied and .bytes_copied >= 67108864 and .regions_at_once > 1')" = "1,true"
tap_check "l2lun: the part fio did not write arrived on LUN 0" \
	test "$(dd if="$S" bs=1M skip=24 count=40 iflag=direct status=none | md5sum)" = "$before"
"$SVM" detach l2l > /dev/null 2>&1
rm -f "$work/ds0/l2l.img"

# --- copy: the kernel's way between two mounts of one server ----------------------------
head -c 64M /dev/urandom > "$M/n1/cp.img"
before=$(dd if="$M/n1/cp.img" bs=1M skip=24 count=40 status=none | md5sum)
"$SVM" attach "$M/n1/cp.img" > "$work/attach.out" 2>&1
tap_result $? "copy: attached a 64 MiB raw disk on the ds1 mount"
w2=$(mnt_op "$M/n2" WRITE 5) c2=$(mnt_op "$M/n2" COPY 2)
migrate_with_writer cp --to "$M/n2" --via kernel --rate 16M --json
expect 0 "copy: migrate --via kernel to the ds2 mount succeeds"
tap_diag "copy: $(grep '"copied"' "$work/svm.out")"
dw2=$(( $(mnt_op "$M/n2" WRITE 5) - w2 )) dc2=$(( $(mnt_op "$M/n2" COPY 2) - c2 ))
tap_diag "copy: through the ds2 mount: $dw2 bytes written, $dc2 COPY calls"
tap_check "copy: every byte by copy_file_range, none through this host by the mover's count" \
	test "$(copied_json '(.movers.copy_file_range == .bytes_copied) and .bytes_copied >= 67108864 and .bytes_through_host == 0 and .bytes_offloaded == .bytes_copied')" = true
tap_check "copy: the server copied (COPY calls: $dc2), the ds2 mount wrote far less than the disk ($dw2 bytes: the guest's mirrored writes)" \
	test "$dc2" -gt 0 -a "$dw2" -lt $((16 << 20))
tap_check "copy: the part fio did not write is the original data, on ds2" \
	test "$(tail_md5 /dev/mapper/svm-cp)" = "$before" -a -e "$M/n2/cp.img"
"$SVM" detach cp > /dev/null 2>&1

# --- offl: auto between two mounts of one server: the offload kept -------------------
head -c 256M /dev/urandom > "$M/n1/offl.img"
before=$(dd if="$M/n1/offl.img" bs=1M skip=24 count=40 status=none | md5sum)
"$SVM" attach "$M/n1/offl.img" > "$work/attach.out" 2>&1
tap_result $? "offl: attached a 256 MiB raw disk on the ds1 mount"
w2=$(mnt_op "$M/n2" WRITE 5)
migrate_with_writer offl --to "$M/n2" --dst-timeout 10000 --json
expect 0 "offl: migrate (--via auto) to the ds2 mount succeeds"
tap_diag "offl: $(via_json '.why')"
tap_check "offl: the kernel's first phase offloaded, so its way was kept after one phase and the direct way not tried" \
	test "$(via_json '.chosen == "kernel" and .trial.offload_kept and .trial.phases == 1 and .trial.direct_bytes == 0 and .direct_bytes_per_s == 0 and .kernel_offloaded')" = true
tap_check "offl: every byte offloaded (server-side COPY), none through this host by the mover's count" \
	test "$(copied_json '.bytes_copied == 268435456 and .bytes_through_host == 0 and .bytes_offloaded == .bytes_copied')" = true
dw2=$(( $(mnt_op "$M/n2" WRITE 5) - w2 ))
tap_check "offl: the ds2 mount wrote far less than the disk ($dw2 bytes: the guest's mirrored writes; a direct phase would write 16 MiB)" \
	test "$dw2" -lt $((8 << 20))
tap_check "offl: the reason names the offload" \
	sh -c "jq -r 'select(.event == \"via\") | .via.why' '$work/svm.out' | grep -q 'offloaded every region of its first phase'"
tap_check "offl: the part fio did not write is the original data, on ds2" \
	test "$(tail_md5 /dev/mapper/svm-offl)" = "$before" -a -e "$M/n2/offl.img"
"$SVM" detach offl > /dev/null 2>&1
rm -f "$M/n1/offl.img" "$M/n2/offl.img"

# --- auto: measured ---------------------------------------------------------------
head -c 256M /dev/urandom > "$work/ds0/auto.img"
before=$(dd if="$work/ds0/auto.img" bs=1M skip=24 count=40 status=none | md5sum)
"$SVM" attach "$work/ds0/auto.img" > "$work/attach.out" 2>&1
tap_result $? "auto: attached a 256 MiB raw disk on a local tmpfs"
migrate_with_writer auto --to "$M/n2" --json
expect 0 "auto: migrate (--via auto, the default) to the ds2 mount succeeds"
chosen=$(via_json '.chosen')
kr=$(via_json '.kernel_bytes_per_s | floor') dr=$(via_json '.direct_bytes_per_s | floor')
tap_diag "auto: $(via_json '.why')"
tap_check "auto: both ways were tried on the copy's first regions (kernel $kr, direct $dr bytes/s)" \
	test "$(via_json '.sample_bytes > 0 and .trial.phases >= 2 and (.kernel_bytes_per_s > 0 or .trial.given_up == "kernel") and (.direct_bytes_per_s > 0 or .trial.given_up == "direct")')" = true
kb=$(via_json '.trial.kernel_bytes') db=$(via_json '.trial.direct_bytes')
tap_check "auto: nothing copied twice: kernel's $kb + direct $db bytes = the disk's $((256 << 20))" \
	test "$((kb + db))" = "$((256 << 20))"
tap_check "auto: the trial's phases ($(via_json '.trial.phases') of $(via_json '.trial.phase_bytes') bytes) are at most an eighth of the disk" \
	test "$(via_json '.trial.phases * .trial.phase_bytes')" -le "$((256 << 20 >> 3))"
tap_check "auto: the direct way offered is the destination's URL only (tmpfs has none)" \
	test "$(via_json '.urls | length')" = "$([ "$chosen" = direct ] && echo 1 || echo 0)"
given_up=$(via_json '.trial.given_up')
if [ "$given_up" = direct ]; then
	want=kernel		# a region's copy the direct way outlived the bound
elif [ "$given_up" = kernel ]; then
	want=direct
elif [ "$dr" -gt $((kr * 105 / 100)) ]; then
	want=direct
elif [ "$kr" -gt $((dr * 105 / 100)) ]; then
	want=kernel
elif [ "$(via_json '.kernel_offloaded')" = true ]; then
	want=kernel
else
	want=direct
fi
tap_check "auto: the faster way ($want) was chosen: $chosen" test "$chosen" = "$want"
tap_check "auto: the copy went the chosen way (extents via URL: $(copied_json '.extents_via_url'))" \
	test "$(copied_json '.extents_via_url')" = "$([ "$chosen" = direct ] && echo 1 || echo 0)"
other=$([ "$chosen" = direct ] && echo "$kb" || echo "$db")
tap_check "auto: after the trial nothing more went the other way ($other bytes, at most its phases)" \
	test "$(via_json "((.trial.phases + 1) / 2 | floor) * .trial.phase_bytes")" -ge "$other"
tap_check "auto: the reason is given in words" \
	sh -c "jq -r 'select(.event == \"via\") | .via.why' '$work/svm.out' | grep -q 'MB/s'"
tap_check "auto: the part fio did not write is the original data" \
	test "$(tail_md5 /dev/mapper/svm-auto)" = "$before"
"$SVM" detach auto > /dev/null 2>&1

# --- small: not measured ---------------------------------------------------------------
head -c 48M /dev/urandom > "$M/n1/small.img"
"$SVM" attach "$M/n1/small.img" > "$work/attach.out" 2>&1
tap_result $? "small: attached a 48 MiB raw disk on the ds1 mount"
migrate_with_writer small --to "${ISCSI_DEV[0]}"
expect 0 "small: migrate to LUN 0 succeeds" \
	"the mover goes through the kernel: not measured (the disk's pieces are under 256 MiB)"
"$SVM" detach small > /dev/null 2>&1

# --- local: nothing to go around -------------------------------------------------------
head -c 8M /dev/urandom > "$work/ds9/loc.img"
"$SVM" attach "$work/ds9/loc.img" > "$work/attach.out" 2>&1
tap_result $? "local: attached an 8 MiB raw disk on a local tmpfs"
"$SVM" migrate loc --to "$work/ds0" --via direct > "$work/svm.out" 2> "$work/svm.err" < /dev/null
RC=$?
expect 3 "local: --via direct between local directories is refused (exit 3)" \
	"neither its source nor its destination is on NFS or an iSCSI LUN"
tap_check "local: nothing changed (no destination file, still linear on the source)" \
	sh -c "! test -e '$work/ds0/loc.img' && dmsetup table svm-loc | grep -q ' linear '"
"$SVM" detach loc > /dev/null 2>&1

# --- pcache: the same file, but not the same bytes ---------------------------------------
head -c 8M /dev/urandom > "$M/n1/pc.img"
"$SVM" attach "$M/n1/pc.img" > "$work/attach.out" 2>&1
tap_result $? "pcache: attached an 8 MiB raw disk on the ds1 mount"
pcloop=$(dmsetup deps -o devname svm-pc 2>/dev/null | sed -n 's/.*(\(loop[0-9]*\)).*/\1/p')
losetup --direct-io=off "/dev/$pcloop" 2>/dev/null
tap_check "pcache: its loop device ($pcloop) now goes through the page cache (dio 0)" \
	test "$(cat "/sys/block/$pcloop/loop/dio" 2>/dev/null)" = 0
"$SVM" migrate pc --to "$work/ds0" --via direct > "$work/svm.out" 2> "$work/svm.err" < /dev/null
RC=$?
expect 3 "pcache: --via direct is refused before any change (exit 3), the page cache named" \
	"through this host's page cache (no direct I/O)"
tap_check "pcache: nothing changed (no destination file, still linear on the source)" \
	sh -c "! test -e '$work/ds0/pc.img' && dmsetup table svm-pc | grep -q ' linear '"
"$SVM" detach pc > /dev/null 2>&1

# --- usage --------------------------------------------------------------------------------
"$SVM" migrate --help > "$work/svm.out" 2>&1
tap_check "migrate --help explains --via" \
	sh -c "grep -q -- '--via V' '$work/svm.out' && grep -q 'fileid or NAA designator' '$work/svm.out'"
tap_check "the kernel log has no WARN, oops or lockdep report" \
	sh -c "! dmesg | grep -Eq 'WARNING:|BUG:|Oops|possible circular|lockdep'"
tap_done
