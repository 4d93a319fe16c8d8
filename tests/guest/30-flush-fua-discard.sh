#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Flush, FUA, discard and write-zeroes reach the devices the region rules say.
#
# dm-log-writes sits beneath each side of an svmotion device and records
# every write, flush, FUA and discard it receives; tests/tools/lwdump prints
# the logs. Regions 0-9 are COPIED, the rest NOT_COPIED. Write-zeroes is
# checked by content on plain loop devices (log-writes does not pass it).
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"
LWDUMP=$repo/tests/tools/lwdump

SECT=32768		# 16 MiB disk
REG=128			# 64 KiB regions -> 256 regions
work=$(mktemp -d /tmp/svm30.XXXXXX)
loops=()
cleanup() {
	dmsetup remove svm30 svm30z lws30 lwd30 >/dev/null 2>&1
	umount "$work/mnt" 2>/dev/null
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

newloop() {	# newloop FILE SIZE -> prints the loop device
	truncate -s "$2" "$1" && losetup -f --show "$1"
}

tap_plan 27

modprobe dm-log-writes || { tap_diag "dm-log-writes not available"; exit 1; }
S=$(newloop "$work/src" 16M); loops+=("$S")
D=$(newloop "$work/dst" 16M); loops+=("$D")
SL=$(newloop "$work/srclog" 64M); loops+=("$SL")
DL=$(newloop "$work/dstlog" 64M); loops+=("$DL")
dmsetup create lws30 --table "0 $SECT log-writes $S $SL" &&
dmsetup create lwd30 --table "0 $SECT log-writes $D $DL" &&
dmsetup create svm30 --table "0 $SECT svmotion /dev/mapper/lws30 0 /dev/mapper/lwd30 0 $REG" &&
dmsetup message svm30 0 lock 0 10 && dmsetup message svm30 0 commit 0 10
tap_check "svmotion over two log-writes devices, regions 0-9 COPIED" \
	dmsetup status svm30
SVM=/dev/mapper/svm30

# Writes: A plain/COPIED, B FUA/COPIED, C plain/NOT_COPIED, D FUA/NOT_COPIED,
# H 256 KiB spanning regions 4-7 (COPIED). Discards: E region 3 (COPIED),
# F region 150 (NOT_COPIED), G regions 8-11 (8, 9 COPIED; 10, 11 not).
w() { dd if=/dev/urandom of=$SVM bs=4k count=1 "$@" status=none; }
w seek=17 oflag=direct &&		# A: sector 136
w seek=33 oflag=direct,dsync &&		# B: sector 264
w seek=1600 oflag=direct &&		# C: sector 12800
w seek=1616 oflag=direct,dsync &&	# D: sector 12928
dd if=/dev/urandom of=$SVM bs=256k count=1 seek=1 oflag=direct status=none &&
blkdiscard -o $((3 * 65536)) -l 65536 $SVM &&
blkdiscard -o $((150 * 65536)) -l 65536 $SVM &&
blkdiscard -o $((8 * 65536)) -l $((4 * 65536)) $SVM
tap_check "writes, FUA writes and discards through the svmotion device" true
dmsetup message lws30 0 mark pre && dmsetup message lwd30 0 mark pre
# An explicit flush (fsync of the block device) after the "pre" mark.
dd of=$SVM if=/dev/null count=0 conv=fsync status=none
dmsetup message lws30 0 mark post && dmsetup message lwd30 0 mark post

blockdev --flushbufs "$SL" "$DL"
"$LWDUMP" "$SL" > "$work/src.log" &&
"$LWDUMP" "$DL" > "$work/dst.log"
tap_check "both logs readable" test -s "$work/src.log" -a -s "$work/dst.log"
tap_diag "source log: $(wc -l < "$work/src.log") entries, destination log: $(wc -l < "$work/dst.log")"

# entry LOG SECTOR LEN FLAGS: an entry with exactly these fields exists
entry() { awk -v s="$2" -v n="$3" -v f="$4" '$2==s && $3==n && $4==f {x=1} END {exit !x}' "$1"; }
# none LOG FROM TO: no write or discard entry touches [FROM, TO)
none() { awk -v a="$2" -v b="$3" '$3>0 && $2<b && $2+$3>a {x=1} END {exit x}' "$1"; }
# covered LOG FROM TO: discard entries cover [FROM, TO) exactly
covered() {
	awk -v a="$2" -v b="$3" '$4 ~ /D/ && $2>=a && $2+$3<=b {n+=$3} END {exit n!=b-a}' "$1"
}
# no_crossing LOG: no entry crosses a region boundary
no_crossing() {
	awk -v r=$REG '$3>0 && int($2/r) != int(($2+$3-1)/r) {print "crossing: " $0; x=1} END {exit x}' "$1"
}

tap_check "A: plain write to a COPIED region reaches the source" entry "$work/src.log" 136 8 -
tap_check "A: plain write to a COPIED region reaches the destination" entry "$work/dst.log" 136 8 -
tap_check "B: FUA write to a COPIED region is FUA on the source" entry "$work/src.log" 264 8 U
tap_check "B: FUA write to a COPIED region is FUA on the destination" entry "$work/dst.log" 264 8 U
tap_check "C: write to a NOT_COPIED region reaches the source" entry "$work/src.log" 12800 8 -
tap_check "C: write to a NOT_COPIED region does not reach the destination" none "$work/dst.log" 12800 12808
tap_check "D: FUA write to a NOT_COPIED region is FUA on the source only" \
	sh -c "awk '\$2==12928 && \$4==\"U\" {x=1} END {exit !x}' $work/src.log && ! awk '\$2==12928 {x=1} END {exit !x}' $work/dst.log"
tap_check "H: 256 KiB write across regions 4-7 reaches both devices in full" \
	sh -c "awk '\$2>=512 && \$2+\$3<=1024 && \$4==\"-\" {n+=\$3} END {exit n<512}' $work/src.log && awk '\$2>=512 && \$2+\$3<=1024 && \$4==\"-\" {n+=\$3} END {exit n<512}' $work/dst.log"
tap_check "E: discard of a COPIED region reaches the source" covered "$work/src.log" 384 512
tap_check "E: discard of a COPIED region reaches the destination" covered "$work/dst.log" 384 512
tap_check "F: discard of a NOT_COPIED region reaches the source" covered "$work/src.log" 19200 19328
tap_check "F: discard of a NOT_COPIED region does not reach the destination" none "$work/dst.log" 19200 19328
tap_check "G: discard across regions 8-11 reaches the source in full" covered "$work/src.log" 1024 1536
tap_check "G: ... and the destination for the COPIED regions 8-9 only" \
	sh -c "awk -v a=1024 -v b=1280 '\$4 ~ /D/ && \$2>=a && \$2+\$3<=b {n+=\$3} END {exit n!=b-a}' $work/dst.log && awk '\$4 ~ /D/ && \$2+\$3>1280 && \$2<1536 {x=1} END {exit x}' $work/dst.log"
tap_check "no bio crosses a region boundary on the source" no_crossing "$work/src.log"
tap_check "no bio crosses a region boundary on the destination" no_crossing "$work/dst.log"
flush_between() { awk '$4=="M" && $5=="pre" {p=1} $4=="M" && $5=="post" {p=0} p && $4 ~ /F/ {x=1} END {exit !x}' "$1"; }
tap_check "a flush of the svmotion device reaches the source" flush_between "$work/src.log"
tap_check "a flush of the svmotion device reaches the destination" flush_between "$work/dst.log"

# Write-zeroes, by content, on plain loop devices. fallocate --punch-hole on
# a block device is a write-zeroes without fallback, so its success shows the
# operation went down as REQ_OP_WRITE_ZEROES (loop over tmpfs punches holes).
fill() { tr '\0' '\377' < /dev/zero | dd of="$1" bs=64k count=16 iflag=fullblock oflag=direct status=none; }
zeros() { cmp -s -n "$3" <(dd if="$1" bs=64k skip="$2" count=$(($3 / 65536)) iflag=direct status=none) /dev/zero; }
# zeroed_as_rules SRC DST: regions 0-3 zero on SRC, 0-1 zero on DST, 2-3 not
zeroed_as_rules() { zeros "$1" 0 262144 && zeros "$2" 0 131072 && ! zeros "$2" 2 65536 && ! zeros "$2" 3 65536; }
ZS=$(newloop "$work/zsrc" 1M); loops+=("$ZS")
ZD=$(newloop "$work/zdst" 1M); loops+=("$ZD")
fill "$ZS"; fill "$ZD"
dmsetup create svm30z --table "0 2048 svmotion $ZS 0 $ZD 0 $REG" &&
dmsetup message svm30z 0 lock 0 2 && dmsetup message svm30z 0 commit 0 2
minor=$(dmsetup info -c --noheadings -o minor svm30z | tr -d ' ')
wz=$(cat "/sys/block/dm-$minor/queue/write_zeroes_max_bytes" 2>/dev/null || echo 0)
tap_check "write-zeroes is advertised when both devices support it ($wz bytes)" test "$wz" -gt 0
tap_check "write-zeroes (no fallback) across regions 0-3 succeeds" \
	fallocate --punch-hole -o 0 -l $((4 * 65536)) /dev/mapper/svm30z
tap_check "write-zeroes: source zeroed in full, destination in COPIED regions only" \
	zeroed_as_rules "$ZS" "$ZD"
dmsetup remove svm30z

# A destination that refuses write-zeroes (ZERO_RANGE on tmpfs) while the
# source accepts it (a file on ext4): the guest is told "not supported" and
# falls back to writing zeroes, which are mirrored; the target does not fail.
modprobe ext4 2>/dev/null
X=$(newloop "$work/ext4img" 64M); loops+=("$X")
mkdir -p "$work/mnt"
if mkfs.ext4 -q "$X" && mount -t ext4 "$X" "$work/mnt"; then
	ES=$(newloop "$work/mnt/src" 1M); loops=("$ES" "${loops[@]}")
	fill "$ES"; fill "$ZD"
	dmsetup create svm30z --table "0 2048 svmotion $ES 0 $ZD 0 $REG" &&
	dmsetup message svm30z 0 lock 0 2 && dmsetup message svm30z 0 commit 0 2
	tap_check "BLKZEROOUT with a destination that cannot zero succeeds (fallback)" \
		blkdiscard -z -o 0 -l $((4 * 65536)) /dev/mapper/svm30z
	tap_check "... source zeroed in full, destination in COPIED regions only" \
		zeroed_as_rules "$ES" "$ZD"
	tap_check "... and the target did not fail" \
		sh -c "dmsetup status svm30z | grep -q ' copying\$'"
	dmsetup remove svm30z
	losetup -d "$ES"
	umount "$work/mnt"
else
	tap_fail "ext4 scratch filesystem for the write-zeroes fallback case"
	tap_fail "... source zeroed"
	tap_fail "... target did not fail"
fi
tap_done
