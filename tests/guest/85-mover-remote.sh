#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 900
#
# The data mover (tests/tools/svm-cp over lib/svm-copy) between every kind
# of endpoint, against the real servers of lib-servers.sh: a local file, a
# loop device, a file on the kernel nfsd through libnfs (nfs://, v3 and
# v4), a LUN of the LIO target through libiscsi (iscsi://).
#
# Checked: every pair of kinds byte-exact (the NFS files read on the
# server's ext4, the LUNs in their backing files), with the backend that
# ran (stream for a remote end, xcopy between two LUNs of one target);
# EXTENDED COPY through libiscsi moving no data through the host (the
# bytes sent on lo during the copy against the disk's size) and, on a LUN without
# emulate_3pc, the fallback to the stream with its reason; formats thin and
# thick-eager onto NFS and onto a LUN with the allocation checked (st_blocks
# on the server's ext4; allocated blocks of the backing file); a source on
# NFS found all data (no SEEK_HOLE in libnfs 4.0) with its zeros still
# skipped in thin; nfsd stopped mid-copy and the portal disabled mid-copy
# fail within the timeout with the offset, the source intact; out of space
# on the export.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"
# shellcheck source=lib-servers.sh
. "$here/lib-servers.sh"

CP=$repo/tests/tools/svm-cp
T=${SVM_TEST_TMPDIR:-/tmp}/85
MIB=24
SIZE=$((MIB << 20))
LOOP=

cleanup() {
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	nfs_stop >/dev/null 2>&1
	iscsi_stop >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

# A MIB-MiB source: data in the odd MiBs (random), holes in the even ones,
# except MiB 2, which is data that is all zeros.
make_source() {
	local i
	truncate -s "$SIZE" "$1"
	for ((i = 1; i < MIB; i += 2)); do
		head -c 1048576 /dev/urandom |
			dd of="$1" bs=1M seek="$i" conv=notrunc status=none
	done
	dd if=/dev/zero of="$1" bs=1M seek=2 count=1 conv=notrunc status=none
}

# same_bytes A B [LEN]: the first LEN (default SIZE) bytes of A and B equal.
same_bytes() {
	cmp -n "${3:-$SIZE}" "$1" "$2" >/dev/null 2>&1
}

out=
rc=0
# run_cp ARGS...: svm-cp, its summary line in $out, status in $rc
run_cp() {
	out=$("$CP" --timeout 5000 "$@" 2>&1)
	rc=$?
}

# field NAME: NAME=VALUE of svm-cp's summary line ("" if absent)
field() {
	local f
	for f in $out; do
		case "$f" in "$1="*) echo "${f#*=}"; return ;; esac
	done
}

# num NAME: the field as a number (0 if absent)
num() {
	local v
	v=$(field "$1")
	[[ $v =~ ^[0-9]+$ ]] && echo "$v" || echo 0
}

# copy_check DESC SRC DST CMP_SRC CMP_DST BACKEND [svm-cp options]
copy_check() {
	local desc=$1 src=$2 dst=$3 a=$4 b=$5 want=$6
	shift 6
	run_cp "$@" "$src" "$dst"
	if [ "$rc" = 0 ] && same_bytes "$a" "$b" && [ "$(field backends)" = "$want" ]; then
		tap_ok "$desc: byte-exact, backends=$want"
	else
		tap_fail "$desc: rc=$rc backends=$(field backends) (want $want)"
		tap_diag "$out"
	fi
}

tap_plan 24

mkdir -p "$T"
make_source "$T/src"
# LUN 2 reports that unmapped blocks read zeros (LBPRZ); LUN 3 has no
# EXTENDED COPY; LUN 4 neither, with LBPRZ; LUN 5 is on a second target
nfs_start 512 >/dev/null &&
	ISCSI_3PC="1 1 1 0 0 1" ISCSI_LBPRZ="0 0 1 0 1 0" iscsi_start 5 "$MIB" 1 >/dev/null
tap_result $? "servers up: nfsd (ds1, ds2); 5 LUNs of $MIB MiB on one target (LUNs 3 and 4 without EXTENDED COPY), one on another"
LOOP=$(losetup -f --show "$T/src")

V3=$(nfs_url 3 ds1 a.img)
V4=$(nfs_url 4 ds2 b.img)
L0=${ISCSI_URL[0]} L1=${ISCSI_URL[1]} L2=${ISCSI_URL[2]} L3=${ISCSI_URL[3]}
L4=${ISCSI_URL[4]} L5=${ISCSI_URL[5]}

# --- every kind to every other ------------------------------------------
copy_check "file -> nfs v3" "$T/src" "$V3" "$T/src" "$NFS_DS1/a.img" stream
copy_check "nfs v3 -> nfs v4 (two exports)" "$V3" "$V4" "$T/src" "$NFS_DS2/b.img" stream
copy_check "nfs v4 -> file" "$V4" "$T/back" "$T/src" "$T/back" stream
copy_check "block device -> iscsi" "$LOOP" "$L0" "$T/src" "${ISCSI_BACKING[0]}" stream
copy_check "iscsi -> block device" "$L0" "$LOOP" "$T/src" "${ISCSI_BACKING[0]}" stream
copy_check "nfs -> iscsi" "$V3" "$L2" "$T/src" "${ISCSI_BACKING[2]}" stream
rm -f "$NFS_DS1/c.img"
copy_check "iscsi -> nfs" "$L2" "$(nfs_url 3 ds1 c.img)" "$T/src" "$NFS_DS1/c.img" stream
copy_check "iscsi -> file" "$L2" "$T/back2" "$T/src" "$T/back2" stream

# --- EXTENDED COPY through libiscsi --------------------------------------
copy_check "iscsi LUN 0 -> LUN 1 (one target), auto" "$L0" "$L1" \
	"${ISCSI_BACKING[0]}" "${ISCSI_BACKING[1]}" xcopy
moved=$(num lo_tx)
if [ "$rc" = 0 ] && [ "$moved" -lt $((SIZE / 16)) ]; then
	tap_ok "xcopy: $moved bytes crossed the host for a $SIZE-byte copy"
else
	tap_fail "xcopy: $moved bytes crossed the host for a $SIZE-byte copy"
fi
run_cp "$L0" "$L3"
if [ "$rc" = 0 ] && same_bytes "${ISCSI_BACKING[0]}" "${ISCSI_BACKING[3]}" &&
   [ "$(field backends)" = stream ] && [[ $out == *"fallback: "*"xcopy"* ]] &&
   [ "$(num lo_tx)" -ge "$SIZE" ]; then
	tap_ok "LUN without emulate_3pc: the stream copies, the fallback says why, the data crossed the host"
else
	tap_fail "LUN without emulate_3pc: rc=$rc"
	tap_diag "$out"
fi
# the 3PC bit of the LUN that would receive the EXTENDED COPY is asked
# first: refused there, the cold copy unmaps the whole destination up
# front and its zero runs cost nothing (found only by a refused first
# EXTENDED COPY, every zero run was unmapped by itself)
dd if=/dev/urandom of="${ISCSI_BACKING[4]}" bs=1M count="$MIB" conv=notrunc status=none
run_cp "$L0" "$L4"
if [ "$rc" = 0 ] && same_bytes "${ISCSI_BACKING[0]}" "${ISCSI_BACKING[4]}" &&
   [ "$(field backends)" = stream ] && [[ $out == *"fallback: "*"3PC not set"* ]] &&
   [ "$(num zeroed_upfront)" = "$SIZE" ]; then
	tap_ok "LUN without emulate_3pc, with LBPRZ: refused by its INQUIRY's 3PC bit, the destination unmapped up front (zeroed_upfront=$SIZE), byte-exact"
else
	tap_fail "LUN without emulate_3pc, with LBPRZ: rc=$rc zeroed_upfront=$(num zeroed_upfront) (want $SIZE)"
	tap_diag "$out"
fi
run_cp "$L0" "$L5"
if [ "$rc" = 0 ] && same_bytes "${ISCSI_BACKING[0]}" "${ISCSI_BACKING[5]}" &&
   [ "$(field backends)" = stream ] && [[ $out == *"fallback: "*"xcopy"* ]]; then
	tap_ok "LUNs of two targets: EXTENDED COPY refused (LIO: one session only), the stream copies"
else
	tap_fail "LUNs of two targets: rc=$rc backends=$(field backends)"
	tap_diag "$out"
fi
# without LBPRZ an UNMAP does not promise zeros: thin writes the zeros
dd if=/dev/urandom of="${ISCSI_BACKING[3]}" bs=1M count="$MIB" conv=notrunc status=none
run_cp --format thin "$T/src" "$L3"
if [ "$rc" = 0 ] && same_bytes "$T/src" "${ISCSI_BACKING[3]}"; then
	tap_ok "thin onto a LUN without LBPRZ: the zeros written, byte-exact"
else
	tap_fail "thin onto a LUN without LBPRZ: rc=$rc"
	tap_diag "$out"
fi

# --- formats and allocation ----------------------------------------------
data_blocks=$(( (MIB / 2) * 2048 ))	# the odd MiBs, in 512-byte blocks
rm -f "$NFS_DS1/thin.img" "$NFS_DS1/eager.img"
run_cp --format thin "$T/src" "$(nfs_url 3 ds1 thin.img)"
b=$(nfs_file_blocks "$NFS_DS1/thin.img")
if [ "$rc" = 0 ] && same_bytes "$T/src" "$NFS_DS1/thin.img" &&
   [ "$b" -ge "$data_blocks" ] && [ "$b" -le $((data_blocks + 2048)) ]; then
	tap_ok "thin onto nfs: $b blocks allocated on the server for $data_blocks of data"
else
	tap_fail "thin onto nfs: rc=$rc, $b blocks allocated for $data_blocks of data"
	tap_diag "$out"
fi
run_cp --format thick-eager "$T/src" "$(nfs_url 3 ds1 eager.img)"
b=$(nfs_file_blocks "$NFS_DS1/eager.img")
if [ "$rc" = 0 ] && same_bytes "$T/src" "$NFS_DS1/eager.img" && [ "$b" -ge $((SIZE / 512)) ]; then
	tap_ok "thick-eager onto nfs: every block allocated ($b)"
else
	tap_fail "thick-eager onto nfs: rc=$rc, $b blocks"
fi
run_cp --format thin "$V3" "$T/fromnfs"
if [ "$rc" = 0 ] && same_bytes "$T/src" "$T/fromnfs" &&
   [ "$(num skipped)" -ge $(( (MIB / 2) << 20 )) ]; then
	tap_ok "thin from nfs (all data to libnfs 4.0): zeros detected, $(field skipped) bytes skipped"
else
	tap_fail "thin from nfs: rc=$rc skipped=$(field skipped)"
fi
dd if=/dev/urandom of="${ISCSI_BACKING[2]}" bs=1M count="$MIB" conv=notrunc status=none
run_cp --format thin "$T/src" "$L2"
b=$(iscsi_lun_blocks 2)
if [ "$rc" = 0 ] && same_bytes "$T/src" "${ISCSI_BACKING[2]}" &&
   [ "$b" -le $((data_blocks + 2048)) ]; then
	tap_ok "thin onto a LUN (UNMAP): $b blocks of the backing file allocated for $data_blocks of data"
else
	tap_fail "thin onto a LUN: rc=$rc, $b blocks for $data_blocks of data"
	tap_diag "$out"
fi
run_cp --format thick-eager "$T/src" "$L2"
b=$(iscsi_lun_blocks 2)
if [ "$rc" = 0 ] && same_bytes "$T/src" "${ISCSI_BACKING[2]}" && [ "$b" -ge $((SIZE / 512)) ]; then
	tap_ok "thick-eager onto a LUN: every block allocated ($b)"
else
	tap_fail "thick-eager onto a LUN: rc=$rc, $b blocks"
fi

# --- faults ---------------------------------------------------------------
big=$T/big
truncate -s 64M "$big"
head -c 64M /dev/urandom | dd of="$big" conv=notrunc status=none 2>/dev/null
big_sum=$(md5sum <"$big")
# kill_mid_copy NAP BREAK SVM-CP-ARGS...: svm-cp in the background, BREAK
# (a function) NAP seconds in; $rc, $out: its status and output, $took: the
# seconds it still ran after BREAK
kill_mid_copy() {
	local nap=$1 brk=$2 cpid t0
	shift 2
	( "$CP" --timeout 3000 "$@" >"$T/dead.out" 2>&1; echo $? >"$T/dead.rc" ) &
	cpid=$!
	srv_nap "$nap"
	"$brk"
	t0=$SECONDS
	wait "$cpid"
	took=$((SECONDS - t0))
	rc=$(cat "$T/dead.rc")
	out=$(cat "$T/dead.out")
}

rm -f "$NFS_DS1/dead.img"
kill_mid_copy 3 nfs_server_pause --rate 8M "$big" "$(nfs_url 3 ds1 dead.img)"
nfs_server_resume >/dev/null 2>&1
nfs_end_grace >/dev/null 2>&1
if [ "$rc" = 1 ] && [ "$took" -le 20 ] && [[ $out == *offset* && $out == *nfs://* ]]; then
	tap_ok "nfsd stopped mid-copy: failed after ${took}s with the offset and the URL"
else
	tap_fail "nfsd stopped mid-copy: rc=$rc after ${took}s"
	tap_diag "$out"
fi
[ "$(md5sum <"$big")" = "$big_sum" ]
tap_result $? "nfsd stopped mid-copy: the source is intact"

kill_mid_copy 2 iscsi_portal_disable --rate 4M "$big:0:${MIB}M" "$L1"
iscsi_portal_enable
if [ "$rc" = 1 ] && [ "$took" -le 20 ] && [[ $out == *offset* ]]; then
	tap_ok "portal disabled mid-copy: failed after ${took}s with the offset"
else
	tap_fail "portal disabled mid-copy: rc=$rc after ${took}s"
	tap_diag "$out"
fi

# out of space: the export filled on the server, 8 MiB left for a bigger copy
free_kib=$(df -k --output=avail "$NFS_DS1" | tail -n 1)
fallocate -l $(( (free_kib - 8192) * 1024 )) "$NFS_DS1/filler"
rm -f "$NFS_DS1/full.img"
run_cp --format thick-eager "$T/src" "$(nfs_url 3 ds1 full.img)"
if [ "$rc" = 1 ] && [[ $out == *"out of space"* || $out == *"No space"* || $out == *"NOSPC"* ]]; then
	tap_ok "out of space on the export: failed, the message says so"
else
	tap_fail "out of space on the export: rc=$rc"
	tap_diag "$out"
fi
rm -f "$NFS_DS1/full.img" "$NFS_DS1/filler"

tap_done
