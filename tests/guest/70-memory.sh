#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Memory: at most 2 bits per region plus constant overhead. A 16 TiB disk at
# 4 MiB regions (4 Mi regions) may cost at most 1 MiB of region state; at
# 64 KiB regions (256 Mi regions, the most the target accepts) 64 MiB.
# Source and destination are 16 TiB dm "zero" devices. Memory is measured as
# the drop of MemFree around "dmsetup create", the largest case first to show
# the measurement sees the bitmaps at all.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"

TIB16=$((16 << 31))	# 16 TiB in sectors
cleanup() { dmsetup remove svm70 z70a z70b >/dev/null 2>&1; }
trap cleanup EXIT

memfree_kib() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	awk '/^MemFree:/ {print $2}' /proc/meminfo
}
# cost REGION_SECTORS: KiB of MemFree an svmotion device over the 16 TiB
# zero devices takes (best of three: other activity only adds noise)
cost() {
	local best="" i before after d
	for i in 1 2 3; do
		before=$(memfree_kib)
		dmsetup create svm70 --table "0 $TIB16 svmotion /dev/mapper/z70a 0 /dev/mapper/z70b 0 $1" || return 1
		after=$(memfree_kib)
		dmsetup remove svm70 || return 1
		d=$((before - after))
		if [ -z "$best" ] || [ "$d" -lt "$best" ]; then best=$d; fi
	done
	echo "$best"
}

tap_plan 4
modprobe dm-zero
dmsetup create z70a --table "0 $TIB16 zero" && dmsetup create z70b --table "0 $TIB16 zero"
tap_check "two 16 TiB zero devices" test -b /dev/mapper/z70b

big=$(cost 128)
tap_diag "16 TiB at 64 KiB regions (268435456 regions, 64 MiB of bitmaps): ${big} KiB"
tap_check "16 TiB at 64 KiB regions is accepted and costs about 64 MiB (${big} KiB)" \
	test "${big:-0}" -ge 60000 -a "${big:-0}" -le 80000
small=$(cost 8192)
tap_diag "16 TiB at 4 MiB regions (4194304 regions): ${small} KiB"
tap_check "16 TiB at 4 MiB regions costs at most 1 MiB plus 512 KiB of slack (${small} KiB)" \
	test -n "$small" -a "${small:-99999}" -le 1536
tap_check "a 32 TiB device at 64 KiB regions (2^29 regions) is refused with a reason" \
	sh -c "dmsetup remove z70a z70b && dmsetup create z70a --table '0 $((TIB16 * 2)) zero' && dmsetup create z70b --table '0 $((TIB16 * 2)) zero' && ! dmsetup create svm70 --table '0 $((TIB16 * 2)) svmotion /dev/mapper/z70a 0 /dev/mapper/z70b 0 128' 2>/dev/null && dmesg | tail -n 5 | grep -q 'svmotion: Too many regions'"
tap_done
