#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Memory: at most 2 bits per region plus constant overhead. A 16 TiB disk at
# 4 MiB regions (4 Mi regions) may cost at most 1 MiB of region state; at
# 64 KiB regions (256 Mi regions, the most the target accepts) 64 MiB.
# Source and destination are 16 TiB dm "zero" devices. Memory is measured
# two ways: the vmalloc areas the constructor allocated (/proc/vmallocinfo
# names svm_ctr as their caller; the bitmaps go there when kmalloc cannot
# serve them), and the drop of MemFree around "dmsetup create", which also
# counts kmalloc'ed memory, against the same for a linear device
# (device-mapper's own cost for a device is not the target's). The constant
# part (two bio sets, device-mapper's per-table pools for a larger per-bio
# area) is allowed up to 512 KiB on top of the bitmaps.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"

TIB16=$((16 << 31))	# 16 TiB in sectors
cleanup() { for d in svm70 z70a z70b; do dmsetup remove $d >/dev/null 2>&1; done; }
trap cleanup EXIT

memfree_kib() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	awk '/^MemFree:/ {print $2}' /proc/meminfo
}
# vmalloc_kib: KiB of vmalloc areas allocated by svm_ctr (guard pages excluded)
vmalloc_kib() {
	awk '/svm_ctr/ {for (i = 1; i <= NF; i++) if ($i ~ /^pages=/) {sub("pages=", "", $i); p += $i}} END {print p * 4}' /proc/vmallocinfo
}
# cost TABLE: KiB of MemFree a device with this 16 TiB table takes, the
# least of five, in cost_kib; also sets vm_kib. The least, not the median:
# other activity only adds to a drop (pages parked in per-CPU lists, other
# allocations; one CI run saw 1024 1024 2032 2084 2784 KiB for a device
# whose bitmaps are 1024 KiB, and 0 0 0 240 1260 for dm-linear).
cost() {
	local i before after
	: > /tmp/svm70.samples
	for i in 1 2 3 4 5; do
		before=$(memfree_kib)
		dmsetup create svm70 --table "0 $TIB16 $1" || return 1
		after=$(memfree_kib)
		vm_kib=$(vmalloc_kib)
		dmsetup remove svm70 || return 1
		echo $((before - after)) >> /tmp/svm70.samples
	done
	tap_diag "MemFree drops (KiB): $(sort -n /tmp/svm70.samples | tr '\n' ' ')"
	cost_kib=$(sort -n /tmp/svm70.samples | sed -n 1p)
}

tap_plan 4
modprobe dm-zero
dmsetup create z70a --table "0 $TIB16 zero" && dmsetup create z70b --table "0 $TIB16 zero"
tap_check "two 16 TiB zero devices" test -b /dev/mapper/z70b

vm_kib=
cost_kib=
cost "linear /dev/mapper/z70a 0"
base=$cost_kib
cost "svmotion /dev/mapper/z70a 0 /dev/mapper/z70b 0 8192"
small=$((cost_kib - base))
tap_diag "16 TiB at 4 MiB regions (4194304 regions): vmalloc ${vm_kib} KiB, MemFree -${cost_kib} KiB, a linear device -${base} KiB"
tap_check "16 TiB at 4 MiB regions costs at most 1 MiB of bitmaps plus 512 KiB more than dm-linear (${small} KiB)" \
	test "$small" -le 1536 -a "${vm_kib:-99999}" -le 1024
cost "svmotion /dev/mapper/z70a 0 /dev/mapper/z70b 0 128"
big=$cost_kib
tap_diag "16 TiB at 64 KiB regions (268435456 regions, 64 MiB of bitmaps): vmalloc ${vm_kib} KiB, MemFree -${big} KiB"
tap_check "16 TiB at 64 KiB regions is accepted; its bitmaps are 2 bits per region, 64 MiB (${vm_kib} KiB vmalloc)" \
	test "${vm_kib:-0}" -ge 65536 -a "${vm_kib:-0}" -le 66560
tap_check "a 32 TiB device at 64 KiB regions (2^29 regions) is refused with a reason" \
	sh -c "dmsetup remove z70a z70b && dmsetup create z70a --table '0 $((TIB16 * 2)) zero' && dmsetup create z70b --table '0 $((TIB16 * 2)) zero' && ! dmsetup create svm70 --table '0 $((TIB16 * 2)) svmotion /dev/mapper/z70a 0 /dev/mapper/z70b 0 128' 2>/dev/null && dmesg | tail -n 5 | grep -q 'svmotion: Too many regions'"
tap_done
