#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 600
#
# svmotion datastores against the real servers of lib-servers.sh, checked
# against the servers' own view: an NFSv4.2 and an NFSv3 kernel mount
# (server, export, version, hard; capacity as the server's ext4 says;
# NFS server-side copy offered by v4.2 only), two iSCSI LUNs logged in
# with open-iscsi (target IQN, portal and LUN as configfs has them, size as
# the backstore's, EXTENDED COPY with its limits where emulate_3pc=1 and
# not where 0, UNMAP from emulate_tpu), ext4 on a third LUN (a directory
# datastore on an iSCSI LUN), ext4 on a loop device; a slot lock held
# through one mount of an export counted through another (two "hosts");
# cold refusing a datastore without room with what it is, and warning of a
# soft mount; a cold copy within a v4.2 mount a server-side COPY proven by
# the mount's counters (and within a v3 mount not, said so) with the done
# event's movers and bytes offloaded.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"
# shellcheck source=lib-servers.sh
. "$here/lib-servers.sh"

SVM=$repo/utils/svmotion
T=${SVM_TEST_TMPDIR:-/tmp}/86
M=$T/mnt
LOOP=
HOLDER=
export SVMOTION_STATE_DIR=$T/state

cleanup() {
	[ -n "$HOLDER" ] && pkill -P "$HOLDER" sleep 2>/dev/null
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null && wait "$HOLDER" 2>/dev/null
	for d in "$M"/*; do
		mountpoint -q "$d" 2>/dev/null && umount -l "$d" 2>/dev/null
	done
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	nfs_stop >/dev/null 2>&1
	iscsi_stop >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

tap_plan 17
mkdir -p "$T" "$M" "$SVMOTION_STATE_DIR"

# ds_json PATH: sets J to svmotion datastores --json PATH's entry
ds_json() {
	J=$("$SVM" datastores --json "$1" 2>"$T/err" | jq -c '.[0]' 2>/dev/null)
	[ -n "$J" ] && [ "$J" != null ]
}
# jv FILTER: the value of FILTER in J
jv() { jq -r "$1" <<<"$J"; }

if ! nfs_start 256 >"$T/err" 2>&1 || ! nfs_mount 4.2 ds1 "$M/v42" >>"$T/err" 2>&1 ||
	! nfs_mount 3 ds2 "$M/v3" >>"$T/err" 2>&1 ||
	! nfs_mount 4.2 ds1 "$M/v42b" nosharecache >>"$T/err" 2>&1; then
	tap_diag "$(cat "$T/err")"
	echo "Bail out! the NFS server or its mounts did not come up"
	exit 1
fi
ISCSI_3PC="1 0 1" iscsi_start 3 32 >"$T/err" 2>&1 && iscsi_login >>"$T/err" 2>&1 || {
	tap_diag "$(cat "$T/err")"
	echo "Bail out! the iSCSI target or the login did not come up"
	exit 1
}

# --- NFS -----------------------------------------------------------------------
read -r sblocks sbsize < <(stat -f -c '%b %S' "$NFS_ROOT")
if ds_json "$M/v42"; then
	cap=$(jv .capacity)
	want=$((sblocks * sbsize))
	if [ "$(jv .kind)" = nfs ] && [ "$(jv .nfs.server)" = 127.0.0.1 ] &&
		[ "$(jv .nfs.export)" = /ds1 ] && [ "$(jv .nfs.version)" = 4.2 ] &&
		[ "$(jv .nfs.hard)" = true ] &&
		[ "$(jv '.offloads | index("nfs-copy") != null')" = true ]; then
		tap_ok "v4.2 mount: nfs, 127.0.0.1:/ds1, version 4.2, hard, nfs-copy offered"
	else
		tap_fail "v4.2 mount recognised"
		tap_diag "$J"
	fi
	# the server's ext4 as the server sees it (within 1 %: NFS rounds)
	if [ $(( (cap > want ? cap - want : want - cap) * 100 )) -le "$want" ]; then
		tap_ok "v4.2 mount: capacity $cap, the server's ext4 $want"
	else
		tap_fail "v4.2 mount: capacity $cap, the server's ext4 $want"
	fi
else
	tap_fail "datastores --json on the v4.2 mount"
	tap_fail "v4.2 mount: capacity"
	tap_diag "$(cat "$T/err")"
fi
if ds_json "$M/v3" && [ "$(jv .nfs.version)" = 3 ] &&
	[ "$(jv .nfs.export)" = "$NFS_DS2" ] &&
	[ "$(jv '.offloads | index("nfs-copy") == null')" = true ]; then
	tap_ok "v3 mount: version 3, the full server path $NFS_DS2, no server-side copy"
else
	tap_fail "v3 mount recognised"
	tap_diag "$J" "$(cat "$T/err")"
fi
out=$("$SVM" datastores "$M/v42" 2>&1)
if grep -q "NFS 127.0.0.1:/ds1 (v4.2, hard)" <<<"$out"; then
	tap_ok "described as NFS 127.0.0.1:/ds1 (v4.2, hard)"
else
	tap_fail "the v4.2 mount described"
	tap_diag "$out"
fi

# a slot held through one mount, counted through the other (another
# client's view of the same export, as from another host)
mkdir -p "$M/v42/.svmotion"
# -o: only flock itself holds the lock (not its sleep), so that killing it
# releases the slot
flock -o -x "$M/v42/.svmotion/slot.5" sleep 600 &
HOLDER=$!
srv_nap 2
if ds_json "$M/v42b" && [ "$(jv .migrations)" = 1 ] && [ "$(jv .migration_limit)" = 8 ]; then
	tap_ok "a slot locked through one mount counts through the other: 1 of 8"
else
	tap_fail "a slot locked through one mount counts through the other"
	tap_diag "$J"
fi
pkill -P "$HOLDER" sleep 2>/dev/null
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null
HOLDER=
srv_nap 1
if ds_json "$M/v42b" && [ "$(jv .migrations)" = 0 ]; then
	tap_ok "released: 0 of 8"
else
	tap_fail "released: 0 of 8"
	tap_diag "$J"
fi

# migrate and cold use the same facts: what the datastore is, in the refusal
truncate -s 1G "$T/big.img"
out=$("$SVM" cold "$T/big.img" --to "$M/v42" --format thick-eager 2>&1)
rc=$?
if [ "$rc" = 3 ] && grep -q "datastore $M/v42 (NFS 127.0.0.1:/ds1 (v4.2, hard)) has .* free" <<<"$out" &&
	[ ! -e "$M/v42/big.img" ]; then
	tap_ok "no room: the refusal says what the datastore is (exit 3, nothing written)"
else
	tap_fail "no room on the NFS datastore: refused, naming it"
	tap_diag "exit $rc" "$out"
fi
rm -f "$T/big.img"
# a soft mount: a warning before the copy
head -c 1M /dev/urandom > "$T/small.img"
if nfs_mount 3 ds2 "$M/soft" soft >"$T/err" 2>&1 &&
	out=$("$SVM" cold "$T/small.img" --to "$M/soft" 2>&1) &&
	grep -q "is a soft NFS mount" <<<"$out" && cmp -s "$T/small.img" "$M/soft/small.img"; then
	tap_ok "a soft NFS mount: warned, and the copy made"
else
	tap_fail "a soft NFS mount: warned"
	tap_diag "$out" "$(cat "$T/err")"
fi
rm -f "$M/soft/small.img"

# offload proven, not assumed: cold within one NFS mount. v4.2: a
# server-side COPY (the mount's WRITE bytes do not grow, its COPY calls
# do; the done event says copy_file_range and offloaded); v3: through this
# host, and said so
# nfs_ops MOUNTPOINT: REPLY="WRITE_BYTES COPY_CALLS" from /proc/self/mountstats
nfs_ops() {
	REPLY=$(awk -v mp="$1" '$1 == "device" { inm = ($5 == mp) }
		inm && $1 == "WRITE:" { w = $5 } inm && $1 == "COPY:" { c = $2 }
		END { print (w == "" ? 0 : w) + 0, (c == "" ? 0 : c) + 0 }' /proc/self/mountstats)
}
for v in v42 v3; do
	mkdir -p "$M/$v/src" "$M/$v/out"
	head -c 32M /dev/urandom > "$M/$v/src/d.img"
	sync
	nfs_ops "$M/$v"; read -r w0 c0 <<<"$REPLY"
	out=$("$SVM" cold --json "$M/$v/src/d.img" --to "$M/$v/out" 2>&1)
	rc=$?
	nfs_ops "$M/$v"; read -r w1 c1 <<<"$REPLY"
	done=$(grep '"event":"done"' <<<"$out")
	cfr=$(jq -r '.movers.copy_file_range // 0' <<<"$done" 2>/dev/null)
	off=$(jq -r '.bytes_offloaded // -1' <<<"$done" 2>/dev/null)
	thru=$(jq -r '.bytes_through_host // -1' <<<"$done" 2>/dev/null)
	same=no
	cmp -s "$M/$v/src/d.img" "$M/$v/out/d.img" && same=yes
	if [ "$v" = v42 ]; then
		if [ "$rc" = 0 ] && [ "$same" = yes ] && [ "$cfr" = $((32 << 20)) ] &&
			[ "$off" = $((32 << 20)) ] && [ "$thru" = 0 ] &&
			[ $((c1 - c0)) -ge 1 ] && [ $((w1 - w0)) -lt $((1 << 20)) ]; then
			tap_ok "v4.2: a server-side COPY, proven: $((c1 - c0)) COPY calls, $((w1 - w0)) bytes written through the mount; the done event says copy_file_range, 32 MiB offloaded"
		else
			tap_fail "v4.2: cold within the mount is a server-side COPY"
			tap_diag "exit $rc, equal $same, COPY calls $((c1 - c0)), WRITE bytes $((w1 - w0))" "$out"
		fi
	else
		if [ "$rc" = 0 ] && [ "$same" = yes ] && [ "$cfr" = 0 ] && [ "$off" = 0 ] &&
			[ "$thru" = $((32 << 20)) ] && [ $((w1 - w0)) -ge $((32 << 20)) ]; then
			tap_ok "v3: no COPY in the protocol: through this host ($((w1 - w0)) bytes written), and the done event says so"
		else
			tap_fail "v3: cold within the mount goes through the host, said so"
			tap_diag "exit $rc, equal $same, WRITE bytes $((w1 - w0))" "$out"
		fi
	fi
	rm -rf "$M/$v/src" "$M/$v/out"
done

# --- iSCSI -------------------------------------------------------------------------
# lun_check I 3PC: LUN I's disk against configfs
lun_check() {
	local i=$1 want3pc=$2 bs size lun
	iscsi_backstore "$i"
	bs=$REPLY
	size=$(( ISCSI_MIB[i] << 20 ))
	lun=${ISCSI_LUN[i]}
	if ! ds_json "${ISCSI_DEV[i]}"; then
		tap_fail "LUN $i: datastores --json ${ISCSI_DEV[i]}"
		tap_diag "$(cat "$T/err")"
		return
	fi
	if [ "$(jv .kind)" = block ] && [ "$(jv .iscsi.target)" = "${ISCSI_LUN_IQN[i]}" ] &&
		[ "$(jv .iscsi.lun)" = "$lun" ] && [ "$(jv .iscsi.portal)" = "$ISCSI_PORTAL" ] &&
		[ "$(jv .capacity)" = "$size" ] &&
		[ "$(jv .block_size)" = "$(cat "$bs/attrib/block_size")" ] &&
		[ "$(jv '.offloads | index("unmap") != null')" = "$([ "$(cat "$bs/attrib/emulate_tpu")" = 1 ] && echo true || echo false)" ]; then
		tap_ok "LUN $i (${ISCSI_DEV[i]}): target, LUN $lun, portal, size and block size as configfs says, unmap as emulate_tpu"
	else
		tap_fail "LUN $i (${ISCSI_DEV[i]}) against configfs"
		tap_diag "$J" "backstore $bs: size $size, lun $lun"
	fi
	if [ "$want3pc" = 1 ]; then
		if [ "$(jv '.offloads | index("xcopy") != null')" = true ] &&
			[ "$(jv .xcopy.max_segment_descriptors)" -ge 1 ]; then
			tap_ok "LUN $i: emulate_3pc=1: xcopy, up to $(jv .xcopy.max_segment_descriptors) segment(s) of $(jv .xcopy.max_segment_bytes) bytes"
		else
			tap_fail "LUN $i: emulate_3pc=1 shows xcopy"
			tap_diag "$J"
		fi
	else
		if [ "$(jv '.offloads | index("xcopy") == null')" = true ] &&
			[ -n "$(jv '.xcopy_unavailable // empty')" ]; then
			tap_ok "LUN $i: emulate_3pc=0: no xcopy ($(jv .xcopy_unavailable))"
		else
			tap_fail "LUN $i: emulate_3pc=0 shows no xcopy, with the reason"
			tap_diag "$J"
		fi
	fi
}
lun_check 0 1
lun_check 1 0

# ext4 on LUN 2: a directory datastore on an iSCSI LUN
mkdir -p "$M/lun2"
if mkfs.ext4 -q -F "${ISCSI_DEV[2]}" >"$T/err" 2>&1 && mount "${ISCSI_DEV[2]}" "$M/lun2" 2>>"$T/err" &&
	ds_json "$M/lun2" && [ "$(jv .kind)" = dir ] && [ "$(jv .fstype)" = ext4 ] &&
	[ "$(jv .device)" = "${ISCSI_DEV[2]}" ] && [ "$(jv .iscsi.lun)" = "${ISCSI_LUN[2]}" ] &&
	[ "$(jv '.offloads | index("punch") != null')" = true ]; then
	tap_ok "ext4 on LUN 2: a directory on ${ISCSI_DEV[2]}, that LUN, punch"
else
	tap_fail "ext4 on LUN 2 recognised"
	tap_diag "$J" "$(cat "$T/err")"
fi

# --- local -------------------------------------------------------------------------
truncate -s 64M "$T/local.img"
mkdir -p "$M/local"
if LOOP=$(losetup -f --show "$T/local.img") && mkfs.ext4 -q -F "$LOOP" >"$T/err" 2>&1 &&
	mount "$LOOP" "$M/local" 2>>"$T/err" && ds_json "$M/local" &&
	[ "$(jv .kind)" = dir ] && [ "$(jv .device)" = "$LOOP" ] &&
	[ "$(jv '.iscsi // empty')" = "" ] &&
	[ "$(jv .capacity)" = "$(stat -f -c '%b*%S' "$M/local" | bc)" ]; then
	tap_ok "ext4 on $LOOP: a local directory, not iSCSI, capacity as statfs"
else
	tap_fail "ext4 on a loop device recognised"
	tap_diag "$J" "$(cat "$T/err")"
fi
umount "$M/local" 2>/dev/null

# a URL: how to make it usable live
out=$("$SVM" datastores "${ISCSI_URL[0]}" 2>&1)
if [ $? = 1 ] && grep -q "iscsiadm -m node -T ${ISCSI_LUN_IQN[0]} -p 127.0.0.1:3260 --login" <<<"$out"; then
	tap_ok "an iscsi:// URL: the iscsiadm login that makes it a datastore"
else
	tap_fail "an iscsi:// URL answered with the login"
	tap_diag "$out"
fi
umount "$M/lun2" 2>/dev/null
tap_done
