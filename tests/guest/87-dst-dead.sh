#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 600
#
# A destination that dies in the middle of a live migration never freezes
# the guest: a LUN whose portal goes away (LIO TPG disabled) and an NFSv4.2
# hard mount whose server stops answering (its exported ext4 frozen: every
# nfsd thread waits in a write, as when the server's own storage hangs;
# stopping the nfsd threads is no use here: "echo 0 > /proc/fs/nfsd/threads"
# itself waits while clients keep writing).
#
# A 48 MiB disk (a raw image on a local directory, 12 regions of 4 MiB) is
# migrated at 2 MiB/s, with fio writing through /dev/mapper/svm-NAME (4 KiB
# random writes, O_DIRECT, 40 a second, into the first half, with its own
# verification afterwards). Once 3 regions are COPIED the destination is
# killed. Then:
#   - every fio write succeeds, the slowest under the bound (iSCSI: the
#     target's default dst_timeout_ms, 1000 ms; NFS: migrate --dst-timeout
#     500, seen in the table) plus a margin (1500 ms; 400 ms for NFS, so
#     that the default bound would fail there), while fio kept
#     writing for at least 5 s after the kill;
#   - the kernel log says the destination write was abandoned;
#   - svmotion migrate exits 1 (failed, rolled back) and says the disk is
#     back on its source; svmotion list shows it attached there, and its
#     table is linear on the source;
#   - fio's verification of what it wrote passes, and the half it did not
#     write still holds the original data.
# iSCSI: the session's replacement timeout is lib-servers' 15 s, so the
# mover's own stuck writes to the LUN fail after that. NFS: the hard mount
# waits for ever; the server's filesystem is thawed once fio is done, and
# the mover then finds the target failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"
# shellcheck source=lib-servers.sh
. "$here/lib-servers.sh"

SVM=$repo/utils/svmotion
work=${SVM_TEST_TMPDIR:-/tmp}/87
M=$work/mnt
export SVMOTION_STATE_DIR=$work/state
bgpids=()
failures=0
# shellcheck source=lib-svmotion.sh
. "$here/lib-svmotion.sh"

cleanup() {
	[ -n "${NFS_ROOT:-}" ] && fsfreeze -u "$NFS_ROOT" >/dev/null 2>&1
	svm_cleanup
	for d in "$M"/*; do
		mountpoint -q "$d" 2>/dev/null && umount -l "$d" 2>/dev/null
	done
	srv_stop_all >/dev/null 2>&1
	mountpoint -q "$work/ds0" && umount "$work/ds0"
	rm -rf "$work"
}
trap cleanup EXIT

tap_plan 20
mkdir -p "$work/ds0" "$M" "$SVMOTION_STATE_DIR"
mount -t tmpfs -o size=128m tmpfs "$work/ds0"


# run_case TAG DST KILL REVIVE [BOUND MARGIN]: attach a fresh disk TAG, migrate it
# to DST with fio writing (with --dst-timeout BOUND if given), run KILL once
# 3 regions are COPIED and (if not "-") REVIVE once fio is done; then check
# the outcome (10 TAP lines).
run_case() {
	local tag=$1 dst=$2 kill=$3 revive=$4 img=$work/ds0/$1.img
	local BOUND=${5:-1000} opt=${5:+--dst-timeout $5} MARGIN=${6:-1500}
	local mpid fpid t_kill t_fio_end i rc frc max_ms before after

	head -c 48M /dev/urandom > "$img"
	before=$(dd if="$img" bs=1M skip=24 count=24 status=none | md5sum)
	"$SVM" attach "$img" > "$work/attach.out" 2>&1 || {
		tap_diag "$(cat "$work/attach.out")"
		echo "Bail out! $tag: attach failed"
		exit 1
	}
	fio --name="$tag" --filename="/dev/mapper/svm-$tag" --rw=randwrite \
		--bs=4k --direct=1 --ioengine=psync --size=24M --number_ios=1200 \
		--rate_iops=40 --verify=crc32c --verify_fatal=1 \
		--output-format=json --output="$work/$tag.fio.json" \
		> "$work/$tag.fio.out" 2>&1 &
	fpid=$!
	bgpids+=("$fpid")
	# shellcheck disable=SC2086
	"$SVM" migrate "$tag" --to "$dst" --rate 2M --json $opt \
		> "$work/$tag.mig.json" 2> "$work/$tag.mig.err" < /dev/null &
	mpid=$!
	bgpids+=("$mpid")

	for ((i = 0; i < 600; i++)); do
		[ "$(regions_copied "$tag")" -ge 3 ] && break
		kill -0 "$mpid" 2>/dev/null || break
		srv_nap 0.1
	done
	tap_diag "$tag: $(regions_copied "$tag") regions COPIED after $i polls: $(dmsetup status "svm-$tag" 2>&1)"
	if [ -n "$opt" ]; then
		dmsetup table "svm-$tag" | grep -q " 2 dst_timeout_ms $BOUND\$"
	else
		dmsetup table "svm-$tag" | grep -q " svmotion [^ ]* [0-9]* [^ ]* [0-9]* 8192\$"
	fi
	tap_result $? "$tag: the table's bound is ${opt:-the default (none in the table)}"
	$kill
	t_kill=$(now_ms)
	tap_check "$tag: the destination is killed with 3 of 12 regions COPIED, the migration running" \
		kill -0 "$mpid"

	wait "$fpid"
	frc=$?
	t_fio_end=$(now_ms)
	[ "$revive" != - ] && $revive
	for ((i = 0; i < 900; i++)); do
		kill -0 "$mpid" 2>/dev/null || break
		srv_nap 0.1
	done
	wait "$mpid"
	rc=$?

	max_ms=$(jq '.jobs[0].write.clat_ns.max / 1000000 | floor' \
		"$work/$tag.fio.json" 2>/dev/null)
	tap_check "$tag: every fio write succeeded and its verification passed" \
		test "$frc" = 0
	[ "$frc" = 0 ] || tap_diag "$(tail -5 "$work/$tag.fio.out")"
	tap_check "$tag: fio went on writing for $(((t_fio_end - t_kill) / 1000)) s after the kill" \
		test $((t_fio_end - t_kill)) -ge 5000
	tap_check "$tag: the slowest write took ${max_ms:-?} ms (< $BOUND + $MARGIN)" \
		test "${max_ms:-999999}" -lt $((BOUND + MARGIN))
	tap_check "$tag: the kernel log says a destination write was abandoned" \
		sh -c "dmesg | grep -q 'destination write not done within $BOUND ms'"
	RC=$rc
	cp "$work/$tag.mig.err" "$work/svm.err"
	cp "$work/$tag.mig.json" "$work/svm.out"
	expect 1 "$tag: migrate fails and rolls back (exit 1)" "back on its source"
	tap_check "$tag: list shows it attached on its source" \
		sh -c "'$SVM' list --json | jq -e --arg p '$img' '.[] | select(.name == \"$tag\" and .disk == \$p and .state == \"attached\")'"
	tap_check "$tag: its table is linear on the source" \
		sh -c "dmsetup table svm-$tag | grep -q ' linear '"
	after=$(dd if="/dev/mapper/svm-$tag" bs=1M skip=24 count=24 iflag=direct status=none | md5sum)
	tap_check "$tag: the half fio did not write holds the original data" \
		test "$before" = "$after"
	"$SVM" detach "$tag" > /dev/null 2>&1
	dmesg -C
}

# --- iSCSI: the portal goes away ------------------------------------------------
if iscsi_start 1 64 > "$work/err" 2>&1 && iscsi_login >> "$work/err" 2>&1; then
	dmesg -C
	run_case lun "${ISCSI_DEV[0]}" iscsi_portal_disable -
	iscsi_portal_enable
	iscsi_stop > /dev/null 2>&1
else
	tap_diag "$(cat "$work/err")"
	echo "Bail out! the iSCSI target or the login did not come up"
	exit 1
fi

# --- NFS: the server stops ------------------------------------------------------
nfs_freeze() { fsfreeze -f "$NFS_ROOT"; }
nfs_thaw() { fsfreeze -u "$NFS_ROOT"; }
if nfs_start 256 > "$work/err" 2>&1 && nfs_mount 4.2 ds1 "$M/v42" >> "$work/err" 2>&1; then
	# margin 400: under 1000 ms, so the default bound would not pass
	run_case nfs "$M/v42" nfs_freeze nfs_thaw 500 400
else
	tap_diag "$(cat "$work/err")"
	echo "Bail out! the NFS server or its mount did not come up"
	exit 1
fi

tap_done
