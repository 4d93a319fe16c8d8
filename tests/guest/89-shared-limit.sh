#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 600
#
# The per-datastore limit (8 migrations) holds across hosts sharing an NFS
# export. Five "hosts": five state directories (svmotion's own records and
# host slots, 2 migrations each) and five kernel mounts of one v4.2 export
# (nosharecache: a client of its own each, as from another host). Hosts 1-4
# run 2 live migrations each onto the export, slowly. Then:
#   - host 5 sees 8 of 8 on the datastore through its own mount;
#   - its migrate --no-wait is refused (exit 3), naming the datastore and
#     the limit, and changes nothing;
#   - its migrate without --no-wait says it waits in line and does not
#     start while 8 run;
#   - once host 1 aborts one of its migrations, it starts and completes;
#   - the other 7 complete (exit 0), the aborted one exits 4.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"
# shellcheck source=lib-servers.sh
. "$here/lib-servers.sh"

SVM=$repo/utils/svmotion
work=${SVM_TEST_TMPDIR:-/tmp}/89
M=$work/mnt
export SVMOTION_STATE_DIR=$work/state1
bgpids=()
failures=0
# shellcheck source=lib-svmotion.sh
. "$here/lib-svmotion.sh"

cleanup() {
	local h

	for h in 1 2 3 4 5; do
		SVMOTION_STATE_DIR=$work/state$h svm_cleanup
	done
	for d in "$M"/*; do
		mountpoint -q "$d" 2>/dev/null && umount -l "$d" 2>/dev/null
	done
	srv_stop_all >/dev/null 2>&1
	mountpoint -q "$work/ds0" && umount "$work/ds0"
	rm -rf "$work"
}
trap cleanup EXIT

tap_plan 10
mkdir -p "$work/ds0" "$M"
mount -t tmpfs -o size=256m tmpfs "$work/ds0"

# on HOST CMD...: run CMD as host HOST (its state directory)
on() {
	local h=$1
	shift
	SVMOTION_STATE_DIR=$work/state$h "$@"
}

if ! nfs_start 512 > "$work/err" 2>&1; then
	tap_diag "$(cat "$work/err")"
	echo "Bail out! the NFS server did not come up"
	exit 1
fi
for h in 1 2 3 4 5; do
	mkdir -p "$work/state$h"
	opt=
	[ "$h" -gt 1 ] && opt=nosharecache
	nfs_mount 4.2 ds1 "$M/h$h" $opt >> "$work/err" 2>&1 || {
		tap_diag "$(cat "$work/err")"
		echo "Bail out! mount $h failed"
		exit 1
	}
done

# 8 migrations, 2 per host on hosts 1-4: 8 MiB each at 128 KiB/s (64 s)
declare -A MPID
for h in 1 2 3 4; do
	for k in 1 2; do
		n=h${h}d$k
		head -c 8M /dev/urandom > "$work/ds0/$n.img"
		on "$h" "$SVM" attach "$work/ds0/$n.img" > /dev/null 2>&1
		on "$h" "$SVM" migrate "$n" --to "$M/h$h" --rate 128K \
			> "$work/$n.out" 2>&1 < /dev/null &
		MPID[$n]=$!
		bgpids+=("$!")
	done
done

# in_use: migrations on the datastore as host 5 sees it
in_use() {
	on 5 "$SVM" datastores --json "$M/h5" 2>/dev/null | jq -r '.[0].migrations'
}
for ((i = 0; i < 300; i++)); do
	[ "$(in_use)" = 8 ] && break
	srv_nap 0.2
done
tap_check "host 5 sees 8 of 8 migrations on the export through its own mount" \
	test "$(in_use)" = 8

head -c 8M /dev/urandom > "$work/ds0/h5d1.img"
on 5 "$SVM" attach "$work/ds0/h5d1.img" > /dev/null 2>&1
before=$(ls -a "$M/h5")
on 5 "$SVM" migrate h5d1 --to "$M/h5" --no-wait > "$work/svm.out" 2> "$work/svm.err" < /dev/null
RC=$?
expect 3 "host 5: migrate --no-wait is refused (exit 3), naming the limit" \
	"8 migrations already run on $M/h5 (the limit)"
tap_check "host 5: ... and nothing was created on the datastore" \
	test "$before" = "$(ls -a "$M/h5")"

on 5 "$SVM" migrate h5d1 --to "$M/h5" > "$work/h5d1.out" 2>&1 < /dev/null &
p5=$!
bgpids+=("$p5")
srv_nap 4
tap_check "host 5: migrate waits in line while 8 run" \
	eval 'kill -0 "$p5" && grep -q "waiting in line: 8 migrations already run on" "$work/h5d1.out"'
tap_check "host 5: ... and has not started (its disk is not migrating)" \
	eval 'on 5 "$SVM" status | grep -q "no migration in progress"'

on 1 "$SVM" abort h1d1 > "$work/abort.out" 2>&1
tap_check "host 1 aborts one of its migrations" grep -q "aborted" "$work/abort.out"
wait "${MPID[h1d1]}"
rc=$?
tap_check "... which exits 4" test "$rc" = 4

wait "$p5"
rc5=$?
tap_check "host 5's migration then starts and completes (exit $rc5)" \
	eval 'test "$rc5" = 0 && grep -q "a migration slot is free: starting" "$work/h5d1.out"'
[ "$rc5" = 0 ] || tap_diag "$(tail -5 "$work/h5d1.out")"

bad=
for n in "${!MPID[@]}"; do
	[ "$n" = h1d1 ] && continue
	wait "${MPID[$n]}" || bad+=" $n"
done
tap_check "the other 7 migrations complete${bad:+ (failed:$bad)}" test -z "$bad"
tap_check "no slot is held any more" test "$(in_use)" = 0

tap_done
