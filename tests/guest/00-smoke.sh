#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# 00-smoke.sh - the test VM works: device-mapper is usable (a linear device
# over a loop device carries data to the right place) and the svmotion target
# is registered. Runs in the guest (tests/run-tests guest).

set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

name=svm-smoke-$$
tmp=$(mktemp -d /tmp/svm-smoke.XXXXXX)
loop=
dm_created=0

# shellcheck disable=SC2317 # runs from the EXIT trap
cleanup() {
	if [ "$dm_created" = 1 ]; then
		dmsetup remove "$name" >/dev/null 2>&1
	fi
	if [ -n "$loop" ]; then
		losetup -d "$loop" >/dev/null 2>&1
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

tap_plan 10

# 1-2: device-mapper core
tap_check "dm-mod is loaded" test -d /sys/module/dm_mod
tap_check "dmsetup version talks to the kernel" dmsetup version

# 3: a 64 MiB loop device over a tmpfs file (tmpfs: no --direct-io)
backing=$tmp/backing.img
loop_ok=0
if truncate -s 64M "$backing" && loop=$(losetup -f --show "$backing" 2>&1) &&
   [ -b "$loop" ]; then
	tap_ok "loop device $loop over a tmpfs file"
	loop_ok=1
else
	tap_fail "loop device over a tmpfs file"
	tap_diag "losetup: $loop"
	loop=
fi

# 4-7: a linear device at an offset of 1 MiB into the loop device
offset=2048				# sectors
sectors=$((64 * 2048 - offset))
if [ "$loop_ok" = 1 ] &&
   tap_check "dmsetup create linear $name" \
	dmsetup create "$name" --table "0 $sectors linear $loop $offset"; then
	dm_created=1
	dev=/dev/mapper/$name
	size=$(blockdev --getsz "$dev" 2>&1)
	if [ "$size" = "$sectors" ]; then
		tap_ok "$dev exists with $sectors sectors"
	else
		tap_fail "$dev exists with $sectors sectors"
		tap_diag "blockdev --getsz $dev: $size"
	fi

	# 4 MiB of random data at 1 MiB into the mapped device.
	head -c 4M /dev/urandom > "$tmp/data"
	dd if="$tmp/data" of="$dev" bs=1M seek=1 conv=fsync status=none
	dd if="$dev" of="$tmp/back" bs=1M skip=1 count=4 iflag=direct status=none
	tap_check "data written through $dev reads back" cmp "$tmp/data" "$tmp/back"

	# ... is at 1 MiB + 1 MiB on the loop device.
	dd if="$loop" of="$tmp/raw" bs=1M skip=2 count=4 iflag=direct status=none
	tap_check "data landed at the linear offset on $loop" cmp "$tmp/data" "$tmp/raw"
else
	[ "$loop_ok" = 1 ] || tap_skip "dmsetup create linear $name" "no loop device"
	tap_skip "/dev/mapper/$name size" "no linear device"
	tap_skip "data reads back" "no linear device"
	tap_skip "data at the linear offset" "no linear device"
fi

# 8-9: teardown
if [ "$dm_created" = 1 ]; then
	if tap_check "dmsetup remove $name" dmsetup remove "$name"; then
		dm_created=0
	fi
else
	tap_skip "dmsetup remove $name" "no linear device"
fi
if [ -n "$loop" ]; then
	if tap_check "losetup -d $loop" losetup -d "$loop"; then
		loop=
	fi
else
	tap_skip "losetup -d" "no loop device"
fi

# 10: the module under test registered its target (never a skip: the guest
# loads kmod/dm-svmotion.ko unless SVM_NO_KMOD=1)
targets=$(dmsetup targets 2>&1)
if printf '%s\n' "$targets" | grep -q '^svmotion[[:space:]]'; then
	tap_ok "svmotion target is registered"
else
	tap_fail "svmotion target is registered"
	tap_diag "dmsetup targets:" "$targets"
fi

tap_done
