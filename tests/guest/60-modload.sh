#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/guest/60-modload.sh - load/use/unload cycles of dm-svmotion (guest test)
# timeout: 900
#
# Run inside the test VM: scripts/vm-run tests/guest/60-modload.sh
#
# $SVM_MODLOAD_ITERATIONS (default 100) times: insmod kmod/dm-svmotion.ko,
# create an svmotion device over two loop devices, lock and commit a region,
# read the status, remove the device, rmmod. One TAP line per phase with its
# failure count; then no dm or loop device may be left, the module must be
# gone, and it is loaded once more for the tests that follow. The slab size
# before and after is reported as a diagnostic.

set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/tap.sh
. "$here/../lib/tap.sh"
# shellcheck source=lib-dm.sh
. "$here/lib-dm.sh"

cleanup() {
	dm_cleanup
	dm_module_ensure
}
trap cleanup EXIT

slab_kb() {
	local k v
	while read -r k v _; do
		[ "$k" = Slab: ] && { echo "$v"; return; }
	done < /proc/meminfo
}

ITER=${SVM_MODLOAD_ITERATIONS:-100}
PHASES=(insmod create lock commit status remove rmmod)

tap_plan $((2 + ${#PHASES[@]} + 5))

dm_init || { echo "Bail out! cannot set up the scratch directory"; exit 1; }
loops_before=$(losetup -a 2>&1)
dm_before=$(dmsetup ls 2>&1)
mkloop L0 src 1 || { echo "Bail out! losetup failed"; exit 1; }
mkloop L1 dst 1 || { echo "Bail out! losetup failed"; exit 1; }
NAME=svm60
TABLE="0 1024 svmotion $L0 0 $L1 0 128"
EXPECT="0 1024 svmotion 128 1/8 0 0 0 0 0 0 0 copying"

tap_check "dm-svmotion.ko exists" test -f "$DM_KO"
if dm_module_loaded; then
	tap_check "initial rmmod dm_svmotion" rmmod dm_svmotion
else
	tap_ok "initial rmmod dm_svmotion (module was not loaded)"
fi

declare -A fails=()
declare -A first_err=()
for p in "${PHASES[@]}"; do
	fails[$p]=0
done

# fail PHASE ITERATION MESSAGE: count a failure, keep the first message.
fail() {
	fails[$1]=$((fails[$1] + 1))
	if [ -z "${first_err[$1]:-}" ]; then
		first_err[$1]="iteration $2: $3"
	fi
}

slab0=$(slab_kb)
start=$SECONDS
for ((i = 1; i <= ITER; i++)); do
	out=$(insmod "$DM_KO" 2>&1) || fail insmod "$i" "$out"

	if out=$(dmsetup create "$NAME" --table "$TABLE" 2>&1); then
		dm_track "$NAME"
		out=$(dmsetup message "$NAME" 0 lock 3 1 2>&1) ||
			fail lock "$i" "$out"
		out=$(dmsetup message "$NAME" 0 commit 3 1 2>&1) ||
			fail commit "$i" "$out"
		out=$(dmsetup status "$NAME" 2>&1)
		[ "$out" = "$EXPECT" ] || fail status "$i" "$out"
		out=$(dmsetup remove "$NAME" 2>&1) || {
			fail remove "$i" "$out"
			dmsetup remove --force "$NAME" >/dev/null 2>&1
		}
	else
		fail create "$i" "$out"
		for p in lock commit status remove; do
			fail "$p" "$i" "not run: no device"
		done
	fi

	out=$(rmmod dm_svmotion 2>&1) || fail rmmod "$i" "$out"
done
elapsed=$((SECONDS - start))
slab1=$(slab_kb)

for p in "${PHASES[@]}"; do
	desc="$p: $((ITER - fails[$p]))/$ITER succeeded"
	if [ "${fails[$p]}" = 0 ]; then
		tap_ok "$desc"
	else
		tap_fail "$desc"
		tap_diag "first failure: ${first_err[$p]}"
	fi
done
tap_diag "$ITER iterations in $elapsed s"

dm_after=$(dmsetup ls 2>&1)
[ "$dm_after" = "$dm_before" ]
verdict=$?
if [ "$verdict" = 0 ]; then tap_ok "no dm device leaked"; else
	tap_fail "no dm device leaked"
	tap_diag "before: $dm_before" "after:  $dm_after"
fi

ok=1
for l in "${DM_LOOPS[@]}"; do
	losetup -d "$l" || ok=0
done
DM_LOOPS=()
loops_after=$(losetup -a 2>&1)
if [ "$ok" = 1 ] && [ "$loops_after" = "$loops_before" ]; then
	tap_ok "no loop device leaked"
else
	tap_fail "no loop device leaked"
	tap_diag "before: $loops_before" "after:  $loops_after"
fi

if lsmod | grep -q '^dm_svmotion[[:space:]]'; then
	tap_fail "lsmod does not list dm_svmotion"
else
	tap_ok "lsmod does not list dm_svmotion"
fi

tap_check "insmod dm-svmotion.ko for the tests that follow" insmod "$DM_KO"
if dmsetup targets 2>/dev/null | grep -q '^svmotion[[:space:]]'; then
	tap_ok "svmotion target registered again"
else
	tap_fail "svmotion target registered again"
fi

tap_diag "Slab: ${slab0} kB before, ${slab1} kB after $ITER cycles ($((slab1 - slab0)) kB)"

tap_done
