#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The svmotion device's queue limits honour both devices: the larger logical
# block size wins, discard and write-zeroes are advertised only when both
# sides have them, and a volatile write cache on either side is advertised.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"

work=$(mktemp -d /tmp/svm35.XXXXXX)
loops=()
cleanup() {
	dmsetup remove svm35 >/dev/null 2>&1
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

# newloop NAME [losetup options]: a 16 MiB loop device over a tmpfs file
newloop() {
	local f=$work/$1
	shift
	truncate -s 16M "$f" && losetup -f --show "$@" "$f"
}
# q ATTR: queue attribute of the svm35 device
q() {
	local minor
	minor=$(dmsetup info -c --noheadings -o minor svm35 | tr -d ' ')
	cat "/sys/block/dm-$minor/queue/$1"
}
mk() { dmsetup remove svm35 >/dev/null 2>&1; dmsetup create svm35 --table "0 32768 svmotion $1 0 $2 0 128"; }

tap_plan 7
A=$(newloop a); loops+=("$A")
B=$(newloop b --sector-size 4096); loops+=("$B")
C=$(newloop c); loops+=("$C")

mk "$A" "$B"
tap_check "512-byte source, 4 KiB destination: logical block size 4096 ($(q logical_block_size))" \
	test "$(q logical_block_size)" = 4096
mk "$B" "$A"
tap_check "4 KiB source, 512-byte destination: logical block size 4096" \
	test "$(q logical_block_size)" = 4096
mk "$A" "$C"
tap_check "both sides discard: discard advertised ($(q discard_max_bytes))" \
	test "$(q discard_max_bytes)" -gt 0
tap_check "both sides write-zeroes: write-zeroes advertised ($(q write_zeroes_max_bytes))" \
	test "$(q write_zeroes_max_bytes)" -gt 0
tap_check "a loop device has a volatile write cache: so does the svmotion device ($(q write_cache))" \
	test "$(q write_cache)" = "write back"

# Take discard away from the destination: the svmotion device must not
# advertise it (nor write-zeroes, which loop derives from the same support).
echo 0 > "/sys/block/${C#/dev/}/queue/discard_max_bytes"
mk "$A" "$C"
tap_check "destination without discard: discard not advertised ($(q discard_max_bytes))" \
	test "$(q discard_max_bytes)" = 0
mk "$C" "$A"
tap_check "source without discard: discard not advertised ($(q discard_max_bytes))" \
	test "$(q discard_max_bytes)" = 0
tap_done
