#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# 81-servers.sh - the storage servers of tests/guest/lib-servers.sh work,
# with the clients the tests use: the kernel's NFS server (v3, v4.0, v4.2)
# and LIO's iSCSI target on 127.0.0.1.
#
# NFS: the server is up (threads, versions, rpcbind registrations, the
# exports); kernel mounts with vers=3 and vers=4.2 carry a file byte-exact
# to the server's ext4; qemu-img (create, info, convert) and libnfs
# (nfs-cp, nfs-ls) with the URL forms of the library's header, and the
# other forms refused; the read-only export refuses writes (v3 and v4); the
# root_squash export squashes (refused in the root-owned directory, files
# of uid 65534 in the open one); pause stops the service, resume brings it
# back; a second start is a no-op; nfs_stop leaves nothing.
#
# iSCSI: two targets, four LUNs of different sizes, LUN 2 with emulate_3pc=0
# and emulate_tpu=0; qemu-img info sees every LUN with its size; the
# open-iscsi login gives a disk per LUN with its size; writes through the
# disks reach the backing files; the INQUIRY 3PC bit (LIO has no
# Third-Party Copy VPD page 0x8f) and RECEIVE COPY RESULTS; sg_xcopy within
# a target works, across the targets LIO aborts it; the logical block
# provisioning VPD page (0xb2); UNMAP through a disk deallocates the backing
# file; a disabled portal refuses logins and drops the session, an enabled
# one takes the session back; a second start and login are no-ops;
# iscsi_stop leaves nothing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"
# shellcheck source=lib-servers.sh
. "$here/lib-servers.sh"

tmp=$(mktemp -d "${SVM_TEST_TMPDIR:-/tmp}/svm-81.XXXXXX") || exit 1
MNT3=$tmp/mnt3
MNT4=$tmp/mnt4

# shellcheck disable=SC2317 # runs from the EXIT trap
cleanup() {
	srv_stop_all
	rm -rf "$tmp"
}
trap cleanup EXIT

for p in rpcbind rpc.mountd exportfs mount.nfs iscsid iscsiadm qemu-img nfs-cp nfs-ls \
	 sg_inq sg_vpd sg_xcopy sg_copy_results blkdiscard; do
	if ! command -v "$p" >/dev/null; then
		echo "1..0 # SKIP $p not installed (scripts/setup)"
		exit 0
	fi
done

tap_plan 25

# elapsed START: sets REPLY to the seconds since START ($EPOCHREALTIME).
elapsed() {
	local d=$(( (${EPOCHREALTIME/./} - ${1/./}) / 10000 ))
	printf -v REPLY '%d.%02d' $((d / 100)) $((d % 100))
}

# procs_named NAME...: sets REPLY to "pid:name" of the processes with these
# names (from /proc, no process started).
procs_named() {
	local f c n
	REPLY=
	for f in /proc/[0-9]*/comm; do
		read -r c 2>/dev/null < "$f" || continue
		for n in "$@"; do
			[ "$c" = "$n" ] && { f=${f#/proc/}; REPLY+="${f%/comm}:$c "; }
		done
	done
	[ -n "$REPLY" ]
}

# loops_attached: sets REPLY to the attached loop devices (sysfs).
loops_attached() {
	local f
	REPLY=
	for f in /sys/block/loop*/loop/backing_file; do
		[ -e "$f" ] && { f=${f#/sys/block/}; REPLY+="${f%%/*} "; }
	done
	[ -n "$REPLY" ]
}

# state_left: fails, naming them, if files are left in $SRV_STATE.
state_left() {
	local f left=()
	for f in "$SRV_STATE"/* "$SRV_STATE"/.[!.]*; do
		[ -e "$f" ] && left+=("${f##*/}")
	done
	[ "${#left[@]}" -eq 0 ] || { echo "left in $SRV_STATE: ${left[*]}"; return 1; }
}

# One MiB of random data, the payload of most transfers; its first 3000
# bytes for libnfs's NFSv4 writes.
data=$tmp/data
small=$tmp/small
head -c $((1 << 20)) /dev/urandom > "$data"
head -c 3000 "$data" > "$small"

# --- NFS ---------------------------------------------------------------------

t0=$EPOCHREALTIME
if out=$(nfs_start 256 2>&1) && nfs_start; then	# (again: the variables here)
	elapsed "$t0"
	tap_ok "nfs_start: ext4 on $NFS_LOOP exported from $NFS_ROOT (${REPLY} s)"
	nfs_up=1
else
	tap_fail "nfs_start"
	tap_diag "$out"
	nfs_up=0
fi

# nfsd_up: threads, versions, the RPC registrations and the exports.
nfsd_up() {
	local n v r l e=0
	read -r n < /proc/fs/nfsd/threads && [ "$n" -gt 0 ] ||
		{ echo "no nfsd threads"; return 1; }
	read -r v < /proc/fs/nfsd/versions
	[[ " $v " == *" +3 "* && " $v " == *" +4 "* && " $v " == *" +4.2 "* ]] ||
		{ echo "versions: $v"; return 1; }
	r=$(rpcinfo -p 127.0.0.1) || return 1
	echo "threads $n, versions $v"
	echo "$r"
	for l in "100003 *3 *tcp *2049 *nfs" "100003 *4 *tcp *2049 *nfs" \
		 "100005 *3 *tcp .*mountd"; do
		[[ $r =~ $l ]] || { echo "not registered: $l"; return 1; }
	done
	while read -r l; do
		case "$l" in "$NFS_ROOT"*) e=$((e + 1)) ;; esac
	done < /var/lib/nfs/etab
	[ "$e" = 5 ] || { echo "$e exports in /var/lib/nfs/etab, not 5"; return 1; }
}

# kmount_roundtrip VERS EXPORT MNT: a kernel mount; a file written through
# it (closed: the client flushes at close) is byte-exact on the server; the
# mount's options name the version.
kmount_roundtrip() {
	local vers=$1 ds=$2 mnt=$3 dev m type opts _r o=
	nfs_mount "$vers" "$ds" "$mnt" || return 1
	while read -r dev m type opts _r; do
		[ "$m" = "$mnt" ] && echo "$dev on $m type $type ($opts)" && o=$opts
	done < /proc/mounts
	[[ ,$o, == *",vers=$vers,"* ]] || { echo "not a vers=$vers mount"; return 1; }
	cp "$data" "$mnt/k$vers.bin" || return 1
	cmp "$data" "$NFS_ROOT/$ds/k$vers.bin" || return 1
	nfs_umount "$mnt"
}

# qemu_nfs: qemu-img create, info and convert on the v3 URL of ds1; the
# created image is sparse on the server's ext4.
qemu_nfs() {
	local u b out
	u=$(nfs_url 3 ds1 q.raw)
	qemu-img create -q -f raw "$u" 64M || return 1
	out=$(qemu-img info "$u") || return 1
	echo "$out"
	[[ $out == *"virtual size: 64 MiB (67108864 bytes)"* ]] ||
		{ echo "qemu-img info: not 64 MiB"; return 1; }
	b=$(nfs_file_blocks ds1/q.raw) || return 1
	echo "q.raw: $b blocks allocated on the server"
	[ "$b" -lt 64 ] || { echo "q.raw not sparse"; return 1; }
	qemu-img convert -f raw -O raw "$data" "$(nfs_url 3 ds1 conv.raw)" || return 1
	cmp "$data" "$NFS_DS1/conv.raw" || return 1
	b=$(nfs_file_blocks "$NFS_DS1/conv.raw")
	echo "conv.raw: $b blocks"
	[ "$b" -ge 2048 ]
}

# libnfs_forms: nfs-cp writes to the v3 URL forms of ds2 (with and without
# ?version=3) and to the v4 form (a small file: libnfs 4.0's limit, see
# lib-servers.sh), byte-exact on the server; the 1 MiB file read back
# through the v4 form; nfs-ls lists the v4 directory.
libnfs_forms() {
	local u
	for u in "$(nfs_url 3 ds2 l3.bin)" "$(nfs_url 3 ds2 l3v.bin)?version=3"; do
		echo "nfs-cp to $u"
		nfs-cp "$data" "$u" || return 1
	done
	cmp "$data" "$NFS_DS2/l3.bin" && cmp "$data" "$NFS_DS2/l3v.bin" || return 1
	nfs-cp "$small" "$(nfs_url 4 ds2 l4.bin)" && cmp "$small" "$NFS_DS2/l4.bin" ||
		return 1
	nfs-cp "$(nfs_url 4 ds2 l3.bin)" "$tmp/l3.back" && cmp "$data" "$tmp/l3.back" ||
		return 1
	nfs-ls "nfs://$NFS_SERVER/ds2?version=4" | grep ' l4.bin$'
}

# refused CMD...: CMD fails (prints its message).
refused() {
	if "$@" 2>&1; then
		echo "accepted: $*"
		return 1
	fi
	return 0
}

# other_forms: the forms the header says do not work fail.
other_forms() {
	refused nfs-ls "nfs://$NFS_SERVER$NFS_DS1?version=4" &&
		refused nfs-ls "nfs://$NFS_SERVER/ds1" &&
		refused qemu-img info "nfs://$NFS_SERVER/ds1/q.raw?version=4"
}

# ro_export: writes to ds_ro are refused (qemu-img v3, libnfs v4), nothing
# appears on the server.
ro_export() {
	refused qemu-img create -q -f raw "$(nfs_url 3 ds_ro x.raw)" 1M &&
		refused nfs-cp "$data" "$(nfs_url 4 ds_ro y.bin)" || return 1
	[ ! -e "$NFS_DS_RO/x.raw" ] && [ ! -e "$NFS_DS_RO/y.bin" ]
}

# squash_export: root is squashed on ds_squash: refused in its root-owned
# 0755 directory, files made in open/ belong to 65534 (v3 and v4).
squash_export() {
	local u
	refused nfs-cp "$data" "$(nfs_url 3 ds_squash x.bin)" &&
		refused nfs-cp "$data" "$(nfs_url 4 ds_squash x4.bin)" || return 1
	nfs-cp "$data" "$(nfs_url 3 ds_squash open/y3.bin)" &&
		nfs-cp "$small" "$(nfs_url 4 ds_squash open/y4.bin)" || return 1
	u=$(stat -c '%u:%g %n' "$NFS_DS_SQUASH"/open/y3.bin "$NFS_DS_SQUASH"/open/y4.bin)
	echo "$u"
	[ "$u" = "65534:65534 $NFS_DS_SQUASH/open/y3.bin"$'\n'"65534:65534 $NFS_DS_SQUASH/open/y4.bin" ] &&
		[ ! -e "$NFS_DS_SQUASH/x.bin" ]
}

# pause_resume: paused, v3 and v4 clients are refused; resumed (and the
# new grace period ended), both read a file again.
pause_resume() {
	nfs_server_pause || return 1
	refused nfs-ls "$(nfs_url 3 ds1)" &&
		refused nfs-ls "$(nfs_url 4 ds1)" || { nfs_server_resume; return 1; }
	nfs_server_resume && nfs_end_grace || return 1
	nfs-cp "$(nfs_url 3 ds1 conv.raw)" "$tmp/p3" && cmp "$data" "$tmp/p3" &&
		nfs-cp "$(nfs_url 4 ds1 conv.raw)" "$tmp/p4" && cmp "$data" "$tmp/p4"
}

# nfs_gone: nothing of the NFS server is left.
nfs_gone() {
	local dev mnt type _r l bad=0
	while read -r dev mnt type _r; do
		case "$type:$mnt" in
		nfs*|nfsd:*|*:"$NFS_ROOT"*|*:"$SRV_STATE"*)
			echo "still mounted: $dev on $mnt ($type)"; bad=1 ;;
		esac
	done < /proc/mounts
	loops_attached && { echo "loop devices: $REPLY"; bad=1; }
	procs_named rpcbind rpc.mountd && { echo "processes: $REPLY"; bad=1; }
	while read -r l; do
		echo "exported: $l"
		bad=1
	done < /var/lib/nfs/etab
	[ ! -e /etc/exports.d/svm-servers.exports ] || { echo "exports file left"; bad=1; }
	[ ! -e "$NFS_ROOT" ] || { echo "$NFS_ROOT left"; bad=1; }
	state_left || bad=1
	return $bad
}

if [ "$nfs_up" = 1 ]; then
	tap_check "nfsd is up: threads, v3/v4/v4.2, rpcbind has nfs and mountd, 5 exports" nfsd_up
	tap_check "kernel mount vers=3 of $NFS_DS1: a file written through it is byte-exact on the server" \
		kmount_roundtrip 3 ds1 "$MNT3"
	tap_check "kernel mount vers=4.2 of /ds2: a file written through it is byte-exact on the server" \
		kmount_roundtrip 4.2 ds2 "$MNT4"
	tap_check "qemu-img create/info/convert with $(nfs_url 3 ds1 FILE) (sparse, byte-exact)" qemu_nfs
	tap_check "libnfs (nfs-cp, nfs-ls): $(nfs_url 3 ds2 FILE)[?version=3] and $(nfs_url 4 ds2 FILE)" \
		libnfs_forms
	tap_check "the other URL forms fail: v4 full path, v3 root-relative path, qemu-img ?version=" \
		other_forms
	tap_check "ds_ro refuses writes (qemu-img v3, libnfs v4)" ro_export
	tap_check "ds_squash squashes root (refused in the 0755 root dir; open/ files owned by 65534; v3 and v4)" \
		squash_export
	tap_check "nfs_server_pause refuses v3 and v4 clients; nfs_server_resume serves them again" \
		pause_resume
	out=$(nfs-cp "$data" "$(nfs_url 4 ds1 big4.bin)" 2>&1)
	tap_diag "libnfs NFSv4 write of 1 MiB (status $?): $out"
	t0=$EPOCHREALTIME
	nfs_start
	rc=$?
	elapsed "$t0"
	dt=$REPLY
	if [ "$rc" = 0 ] && nfs_running && [ "${dt%.*}" -lt 2 ]; then
		tap_ok "nfs_start again is a no-op ($dt s)"
	else
		tap_fail "nfs_start again is a no-op (status $rc, $dt s)"
	fi
	# A kernel mount and a paused server: nfs_stop copes with both.
	nfs_mount 3 ds1 "$MNT3" && nfs_server_pause
	t0=$EPOCHREALTIME
	out=$(nfs_stop 2>&1)
	rc=$?
	elapsed "$t0"
	tap_diag "nfs_stop: ${REPLY} s"
	[ -n "$out" ] && tap_diag "$out"
	if [ "$rc" = 0 ]; then
		tap_check "nfs_stop (paused, a kernel mount) leaves nothing (mounts, loop, daemons, exports, files)" \
			nfs_gone
	else
		tap_fail "nfs_stop leaves nothing (status $rc)"
	fi
else
	for d in "nfsd is up" "kernel mount vers=3" "kernel mount vers=4.2" \
		 "qemu-img with nfs://" "libnfs URL forms" "other URL forms fail" \
		 "ds_ro refuses writes" "ds_squash squashes" "pause and resume" \
		 "nfs_start again" "nfs_stop leaves nothing"; do
		tap_skip "$d" "no NFS server"
	done
fi

# --- iSCSI -------------------------------------------------------------------

export ISCSI_LUN_MIBS="32 40 16 24" ISCSI_3PC="1 1 0 1" ISCSI_TPU="1 1 0 1" \
	ISCSI_LBPRZ="0 1 0 0"
t0=$EPOCHREALTIME
if out=$(iscsi_start 3 32 1 2>&1) && iscsi_start; then
	elapsed "$t0"
	tap_ok "iscsi_start: $ISCSI_IQN (3 LUNs) and $ISCSI_IQN2 (1 LUN) on $ISCSI_PORTAL (${REPLY} s)"
	iscsi_up=1
else
	tap_fail "iscsi_start"
	tap_diag "$out"
	iscsi_up=0
fi

# qemu_iscsi: qemu-img info sees every LUN with its size.
qemu_iscsi() {
	local i out
	for ((i = 0; i < ISCSI_N; i++)); do
		out=$(qemu-img info "${ISCSI_URL[i]}") || return 1
		echo "${ISCSI_URL[i]}: ${out//$'\n'/ }"
		[[ $out == *"virtual size: "*"($((ISCSI_MIB[i] << 20)) bytes)"* ]] ||
			{ echo "LUN $i: not ${ISCSI_MIB[i]} MiB"; return 1; }
	done
}

# disks_sized: every ISCSI_DEV[i] has LUN i's size; the sessions have the
# library's replacement timeout.
disks_sized() {
	local i s t
	for ((i = 0; i < ISCSI_N; i++)); do
		read -r s < "/sys/block/${ISCSI_DEV[i]#/dev/}/size" || return 1
		echo "LUN $i (${ISCSI_LUN_IQN[i]} lun ${ISCSI_LUN[i]}): ${ISCSI_DEV[i]}, $s sectors"
		[ "$s" = $((ISCSI_MIB[i] << 11)) ] || return 1
	done
	for s in /sys/class/iscsi_session/session*; do
		read -r t < "$s/recovery_tmo" || return 1
		echo "${s##*/}: recovery_tmo $t"
		[ "$t" = "${ISCSI_REPLACEMENT_TIMEOUT:-15}" ] || return 1
	done
}

# disk_writes: 1 MiB written at 1 MiB through LUN 1's and LUN 3's disks
# (O_DIRECT) is in their backing files; LUN 2 (never written) has nothing
# allocated.
disk_writes() {
	local i b
	for i in 1 3; do
		dd if="$data" of="${ISCSI_DEV[i]}" bs=1M seek=1 oflag=direct conv=fsync \
			status=none || return 1
		cmp -n $((1 << 20)) -i 0:$((1 << 20)) "$data" "${ISCSI_BACKING[i]}" || return 1
		b=$(iscsi_lun_blocks "$i") || return 1
		echo "LUN $i: $b blocks allocated"
		[ "$b" -ge 2048 ] || return 1
	done
	b=$(iscsi_lun_blocks 2) || return 1
	echo "LUN 2: $b blocks allocated"
	[ "$b" = 0 ]
}

# xcopy_bits: INQUIRY's 3PC bit for LUN 0 (emulate_3pc=1), not for LUN 2
# (0); RECEIVE COPY RESULTS (operating parameters) on LUN 0.
xcopy_bits() {
	local a b
	a=$(sg_inq "${ISCSI_DEV[0]}") && b=$(sg_inq "${ISCSI_DEV[2]}") || return 1
	[[ $a == *" 3PC=1 "* ]] || { echo "LUN 0: no 3PC bit"; return 1; }
	[[ $b == *" 3PC=0 "* ]] || { echo "LUN 2: 3PC bit set"; return 1; }
	sg_copy_results --params "${ISCSI_DEV[0]}"
}

# sg_of DISK: sets REPLY to the /dev/sgN of /dev/sdX DISK.
sg_of() {
	local g n
	REPLY=
	for g in /sys/block/"${1#/dev/}"/device/scsi_generic/*; do
		[ -e "$g/dev" ] || continue
		if [ ! -c "/dev/${g##*/}" ]; then
			read -r n < "$g/dev" && mknod "/dev/${g##*/}" c "${n%%:*}" "${n##*:}" ||
				return 1
		fi
		REPLY=/dev/${g##*/}
		return 0
	done
	return 1
}

# xcopy_targets: sg_xcopy from LUN 0 to LUN 1 (one target, one session)
# copies byte-exact; from LUN 0 to LUN 3 (the other target) LIO aborts it
# and writes nothing.
xcopy_targets() {
	local s0 s1 s3 before
	modprobe sg || return 1
	sg_of "${ISCSI_DEV[0]}" && s0=$REPLY && sg_of "${ISCSI_DEV[1]}" && s1=$REPLY &&
		sg_of "${ISCSI_DEV[3]}" && s3=$REPLY || { echo "no sg devices"; return 1; }
	dd if="$data" of="${ISCSI_DEV[0]}" bs=1M seek=4 oflag=direct status=none &&
		sg_xcopy if="$s0" of="$s1" bs=512 skip=8192 seek=16384 count=2048 &&
		cmp -n $((1 << 20)) -i 0:$((8 << 20)) "$data" "${ISCSI_BACKING[1]}" || return 1
	before=$(iscsi_lun_blocks 3)
	refused sg_xcopy if="$s0" of="$s3" bs=512 skip=8192 seek=16384 count=2048 &&
		[ "$(iscsi_lun_blocks 3)" = "$before" ]
}

# lbp_vpd: the logical block provisioning VPD page: UNMAP and WRITE SAME
# with unmap for LUN 0 (emulate_tpu/tpws=1), no UNMAP for LUN 2 (tpu=0);
# LBPRZ for LUN 1 (unmap_zeroes_data=1), not for LUN 0.
lbp_vpd() {
	local a b c
	a=$(sg_vpd -p lbpv "${ISCSI_DEV[0]}") && b=$(sg_vpd -p lbpv "${ISCSI_DEV[2]}") &&
		c=$(sg_vpd -p lbpv "${ISCSI_DEV[1]}") || return 1
	echo "LUN 0: ${a//$'\n'/ }"
	[[ $a == *"(LBPU): 1"* && $a == *"(LBPWS): 1"* && $a == *"(LBPRZ): 0"* ]] || return 1
	[[ $b == *"(LBPU): 0"* ]] || { echo "LUN 2: ${b//$'\n'/ }"; return 1; }
	[[ $c == *"(LBPRZ): 1"* ]] || { echo "LUN 1: ${c//$'\n'/ }"; return 1; }
}

# unmap: discarding the MiB written at 1 MiB of LUN 1 through its disk
# deallocates it in the backing file.
unmap() {
	local a b
	a=$(iscsi_lun_blocks 1) || return 1
	blkdiscard -o $((1 << 20)) -l $((1 << 20)) "${ISCSI_DEV[1]}" || return 1
	b=$(iscsi_lun_blocks 1) || return 1
	echo "LUN 1: $a blocks before the discard, $b after"
	[ $((a - b)) -ge 2048 ]
}

# session_state IQN: sets REPLY to the state of the open-iscsi session of IQN.
session_state() {
	local s tn
	REPLY=none
	for s in /sys/class/iscsi_session/session*; do
		[ -r "$s/targetname" ] && read -r tn < "$s/targetname" &&
			[ "$tn" = "$1" ] && read -r REPLY < "$s/state" && return 0
	done
	return 1
}

# wait_state IQN STATE SECONDS: wait until IQN's session is in STATE.
wait_state() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		session_state "$1" && [ "$REPLY" = "$2" ] && return 0
		srv_nap 0.1
	done
	session_state "$1"
	echo "session of $1: $REPLY, not $2"
	return 1
}

# portal_off: disabled, the portal refuses libiscsi's login to that target
# (the other target still answers), and the kernel session drops.
portal_off() {
	iscsi_portal_disable || return 1
	refused qemu-img info "${ISCSI_URL[0]}" || return 1
	qemu-img info "${ISCSI_URL[3]}" >/dev/null || return 1
	wait_state "$ISCSI_IQN" FAILED 30
}

# portal_on: enabled again, libiscsi logs in, the kernel session comes back
# and a read through the disk completes.
portal_on() {
	iscsi_portal_enable || return 1
	qemu-img info "${ISCSI_URL[0]}" >/dev/null || return 1
	wait_state "$ISCSI_IQN" LOGGED_IN 30 || return 1
	dd if="${ISCSI_DEV[1]}" bs=1M skip=1 count=1 iflag=direct status=none |
		cmp - "${ISCSI_BACKING[1]}" -n $((1 << 20)) -i 0:$((1 << 20))
}

# iscsi_gone: nothing of the target or the initiator is left.
iscsi_gone() {
	local f bad=0
	for f in /sys/class/iscsi_session/session* "$_SRV_CFS"/iscsi/iqn.* \
		 "$_SRV_CFS"/core/fileio_* /etc/iscsi/nodes /etc/iscsi/send_targets; do
		[ -e "$f" ] && { echo "left: $f"; bad=1; }
	done
	for f in "${ISCSI_DEV[@]}"; do
		[ -e "/sys/block/${f#/dev/}" ] && { echo "disk left: $f"; bad=1; }
	done
	procs_named iscsid && { echo "processes: $REPLY"; bad=1; }
	_srv_mounted "$SRV_STATE/iscsi" && { echo "$SRV_STATE/iscsi mounted"; bad=1; }
	state_left || bad=1
	return $bad
}

if [ "$iscsi_up" = 1 ]; then
	tap_check "qemu-img info sees the 4 LUNs with their sizes (iscsi://$ISCSI_HOST/IQN/LUN)" \
		qemu_iscsi
	t0=$EPOCHREALTIME
	if out=$(iscsi_login 2>&1) && iscsi_login; then
		elapsed "$t0"
		tap_ok "iscsi_login: ${ISCSI_DEV[*]} (${REPLY} s)"
		login=1
	else
		tap_fail "iscsi_login"
		tap_diag "$out"
		login=0
	fi
	if [ "$login" = 1 ]; then
		tap_check "every LUN's disk has the LUN's size; replacement timeout ${ISCSI_REPLACEMENT_TIMEOUT:-15} s" \
			disks_sized
		tap_check "writes through the disks reach the backing files (iscsi_lun_blocks)" disk_writes
		tap_check "EXTENDED COPY advertised: 3PC bit with emulate_3pc=1, not with 0; RECEIVE COPY RESULTS" \
			xcopy_bits
		tap_check "EXTENDED COPY (sg_xcopy) within a target copies; across the two targets LIO aborts it" \
			xcopy_targets
		tap_check "logical block provisioning VPD page: LBPU, LBPWS, LBPRZ as set by emulate_tpu/tpws, unmap_zeroes_data" \
			lbp_vpd
		tap_check "UNMAP (blkdiscard) through the disk deallocates the backing file" unmap
		tap_check "iscsi_portal_disable: logins refused, the kernel session fails" portal_off
		tap_check "iscsi_portal_enable: logins accepted, the session recovers, reads complete" \
			portal_on
		t0=$EPOCHREALTIME
		iscsi_start && iscsi_login
		rc=$?
		elapsed "$t0"
		dt=$REPLY
		if [ "$rc" = 0 ] && iscsi_running && [ "${dt%.*}" -lt 2 ]; then
			tap_ok "iscsi_start and iscsi_login again are no-ops ($dt s)"
		else
			tap_fail "iscsi_start and iscsi_login again are no-ops (status $rc, $dt s)"
		fi
	else
		for d in "disk sizes" "writes reach the backing files" \
			 "EXTENDED COPY bits" "EXTENDED COPY across targets" \
			 "LBP VPD page" "UNMAP" "portal disable" "portal enable" \
			 "no-op restart"; do
			tap_skip "$d" "no login"
		done
	fi
	# Logged in and the portal disabled: iscsi_stop copes with both.
	iscsi_portal_disable
	t0=$EPOCHREALTIME
	out=$(iscsi_stop 2>&1)
	rc=$?
	elapsed "$t0"
	tap_diag "iscsi_stop: ${REPLY} s"
	[ -n "$out" ] && tap_diag "$out"
	if [ "$rc" = 0 ]; then
		tap_check "iscsi_stop (portal disabled, logged in) leaves nothing (sessions, disks, configfs, iscsid, files)" \
			iscsi_gone
	else
		tap_fail "iscsi_stop leaves nothing (status $rc)"
	fi
else
	for d in "qemu-img info" "iscsi_login" "disk sizes" "writes reach the backing files" \
		 "EXTENDED COPY bits" "EXTENDED COPY across targets" "LBP VPD page" "UNMAP" "portal disable" "portal enable" \
		 "no-op restart" "iscsi_stop leaves nothing"; do
		tap_skip "$d" "no iSCSI target"
	done
fi

tap_done
