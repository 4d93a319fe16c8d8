#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The XCOPY backend's SCSI layer (lib/svm-xcopy, through
# tests/tools/svm-xcopy-tool) against Linux's LIO target: three fileio
# backstores over tmpfs files, exported as LUNs of one tcm_loop target, so
# that three SCSI disks appear. LUN 0 and LUN 1 have emulate_3pc=1, LUN 2
# emulate_3pc=0. The unit serials differ in their first hex digit: LIO
# derives the NAA designator from the leading digits of the serial.
#
# Checked: the disks appear; identify (NAA, block size, capacity); limits;
# a 16 MiB copy LUN 0 -> LUN 1 byte-exact (backing files and an O_DIRECT
# read back); splitting by a lowered segment limit and beyond 65535 blocks;
# a cross-check with sg3-utils' sg_xcopy; a copy within one LUN; a range
# beyond the end; a loop device refused as not SCSI (tool status 4); the
# emulate_3pc=0 LUN refused either way (status 3, what the engine falls back
# on); a teardown that leaves nothing.
#
# Configfs recipe (no targetcli):
#   core/fileio_N/diskN: mkdir; control "fd_dev_name=F,fd_dev_size=B";
#     wwn/vpd_unit_serial; enable 1; attrib/emulate_3pc
#   loopback/naa.X/tpgt_1: mkdir; nexus "naa.Y" (before the LUNs, or the
#     scan finds no nexus); lun/lun_N: mkdir, symlink to the backstore
#   teardown: LUN symlinks, lun dirs, nexus "NULL", tpgt, wwn, backstores
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"
# shellcheck source=lib-dm.sh
. "$here/lib-dm.sh"

TOOL=$repo/tests/tools/svm-xcopy-tool
T=/sys/kernel/config/target
WWN=naa.5001405aaaaaaaa1
TPG=$T/loopback/$WWN/tpgt_1
NEXUS=naa.5001405aaaaaaaa2
MIB=64
BS=512
SERIAL=(11111111-0000-4000-8000-000000000001
	22222222-0000-4000-8000-000000000001
	33333333-0000-4000-8000-000000000001)
EMULATE_3PC=(1 1 0)
DISK=()			# /dev/sdX of LUN 0, 1, 2
loop=

lio_teardown() {
	local i

	for i in 0 1 2; do
		rm -f "$TPG/lun/lun_$i/port" 2>/dev/null
		rmdir "$TPG/lun/lun_$i" 2>/dev/null
	done
	if [ -e "$TPG/nexus" ]; then
		echo NULL > "$TPG/nexus" 2>/dev/null
	fi
	rmdir "$TPG" "$T/loopback/$WWN" 2>/dev/null
	for i in 0 1 2; do
		rmdir "$T/core/fileio_$i/disk$i" "$T/core/fileio_$i" 2>/dev/null
	done
}

cleanup() {
	lio_teardown
	dm_cleanup
}
trap cleanup EXIT

if ! modprobe -n -q -a target_core_mod target_core_file tcm_loop sd_mod; then
	echo "1..0 # SKIP LIO modules (target_core_file, tcm_loop) not available"
	exit 0
fi
tap_plan 18
dm_init || exit 1

# The SCSI disk of LUN $1 of our tcm_loop host: sets REPLY to /dev/sdX.
lun_disk() {
	local d blk n

	REPLY=
	for d in /sys/class/scsi_device/*; do
		[ -e "$d/device/block" ] || continue
		case "${d##*/}" in
		*:*:*:"$1") ;;
		*) continue ;;
		esac
		read -r n < "$d/device/vendor" || continue
		[ "$n" = LIO-ORG ] || continue
		for blk in "$d"/device/block/*; do
			blk=${blk##*/}
			if [ ! -b "/dev/$blk" ]; then
				read -r n < "/sys/block/$blk/dev" || return 1
				mknod "/dev/$blk" b "${n%%:*}" "${n##*:}" || return 1
			fi
			REPLY=/dev/$blk
			return 0
		done
	done
	return 1
}

lio_setup() {
	local i d
	modprobe configfs 2>/dev/null
	mountpoint -q /sys/kernel/config ||
		mount -t configfs none /sys/kernel/config || return 1
	modprobe -a target_core_mod target_core_file tcm_loop sd_mod || return 1
	modprobe sg 2>/dev/null	# for the sg_xcopy cross-check
	for i in 0 1 2; do
		d=$T/core/fileio_$i/disk$i
		mkdir -p "$d" || return 1
		echo "fd_dev_name=$DM_WORK/lun$i.img,fd_dev_size=$((MIB << 20))" \
			> "$d/control" || return 1
		echo "${SERIAL[i]}" > "$d/wwn/vpd_unit_serial" || return 1
		echo 1 > "$d/enable" || return 1
		echo "${EMULATE_3PC[i]}" > "$d/attrib/emulate_3pc" || return 1
	done
	mkdir -p "$TPG" || return 1
	echo "$NEXUS" > "$TPG/nexus" || return 1
	for i in 0 1 2; do
		mkdir "$TPG/lun/lun_$i" || return 1
		ln -s "$T/core/fileio_$i/disk$i" "$TPG/lun/lun_$i/port" || return 1
	done
}

# The backing files: LUN 0 random, LUN 1 and 2 a pattern that is not zero,
# so that a copy that did nothing is caught.
head -c $((MIB << 20)) /dev/urandom > "$DM_WORK/lun0.img"
for i in 1 2; do
	head -c $((MIB << 20)) /dev/zero | tr '\0' 'x' > "$DM_WORK/lun$i.img"
done

if ! lio_setup; then
	tap_fail "LIO: fileio backstores exported through tcm_loop"
	tap_diag "$(find $T 2>&1 | head -40)"
	tap_done
fi

# Wait for sd to attach the three disks (asynchronous probing).
for _ in $(seq 100); do
	DISK=()
	for i in 0 1 2; do
		lun_disk "$i" && DISK+=("$REPLY")
	done
	[ "${#DISK[@]}" = 3 ] && break
	nap 0.1
done
if [ "${#DISK[@]}" = 3 ]; then
	tap_ok "three LIO disks appear: ${DISK[*]}"
else
	tap_fail "three LIO disks appear (found: ${DISK[*]})"
	tap_done
fi

# identify
declare -A naa
ok=0
for i in 0 1; do
	out=$("$TOOL" identify "${DISK[i]}" 2>&1) || ok=1
	tap_diag "LUN $i ${DISK[i]}: $out"
	naa[$i]=${out%% *}
	[[ $out == *"block_size=$BS blocks=$(((MIB << 20) / BS)) pdt=0" ]] || ok=1
done
tap_result "$ok" "identify: block size and capacity of both LUNs"
if [[ ${naa[0]} =~ ^naa=6[0-9a-f]{31}$ ]] && [ "${naa[0]}" != "${naa[1]}" ]; then
	tap_ok "identify: two different 16-byte NAA designators"
else
	tap_fail "identify: two different 16-byte NAA designators (${naa[0]} ${naa[1]})"
fi

# limits
out=$("$TOOL" limits "${DISK[1]}" 2>&1)
rc=$?
tap_diag "LIO operating parameters: ${out//$'\n'/ }"
declare -A L
while IFS='=' read -r k v; do L[$k]=$v; done <<<"$out"
if [ "$rc" = 0 ] && [ "${L[max_target_desc]:-0}" -ge 2 ] &&
   [ "${L[max_segment_desc]:-0}" -ge 1 ] &&
   [ "${L[max_desc_list_len]:-0}" -ge 92 ] &&
   [ "${L[max_segment_len]:-0}" -ge "$BS" ]; then
	tap_ok "limits: RECEIVE COPY RESULTS operating parameters parse sanely"
else
	tap_fail "limits: RECEIVE COPY RESULTS operating parameters parse sanely (rc $rc)"
fi

# same_range SRCFILE SRCOFF DSTFILE DSTOFF LEN (bytes): byte-exact compare
same_range() {
	cmp -n "$5" -i "$2:$4" "$1" "$3"
}

# A 16 MiB copy from LUN 0 (at 1 MiB) to LUN 1 (at 8 MiB). The backing files
# are compared (LIO writes them through the page cache of tmpfs), and LUN 1
# is also read back through the disk with O_DIRECT.
blocks=$(((16 << 20) / BS))
out=$("$TOOL" copy "${DISK[0]}" "${DISK[1]}" --src-lba $(((1 << 20) / BS)) \
	--dst-lba $(((8 << 20) / BS)) --blocks $blocks 2>&1)
rc=$?
tap_diag "copy 16 MiB: $out"
tap_result "$rc" "EXTENDED COPY of 16 MiB from LUN 0 to LUN 1 completes"
tap_check "the copied range matches byte for byte" \
	same_range "$DM_WORK/lun0.img" $((1 << 20)) "$DM_WORK/lun1.img" $((8 << 20)) $((16 << 20))
direct_check() {
	dd if="${DISK[1]}" bs=1M skip=8 count=16 iflag=direct status=none |
		cmp - <(dd if="$DM_WORK/lun0.img" bs=1M skip=1 count=16 status=none)
}
tap_check "LUN 1 read back with O_DIRECT matches" direct_check
tap_check "the bytes around the copy are untouched" \
	bash -c "cmp -n $((8 << 20)) '$DM_WORK/lun1.img' '$DM_WORK/lun2.img' &&
		 cmp -i $((24 << 20)) '$DM_WORK/lun1.img' '$DM_WORK/lun2.img'"

# Splitting: segments of at most 1 MiB (below LIO's limit) and a range of
# 40 MiB + 7 blocks, beyond the 16-bit block count of one segment.
seg_blocks=$(((1 << 20) / BS))
out=$("$TOOL" copy "${DISK[0]}" "${DISK[1]}" --src-lba 3 --dst-lba 5 \
	--blocks $((seg_blocks * 3 + 7)) --max-seg-bytes $((1 << 20)) 2>&1)
rc=$?
tap_diag "copy split by 1 MiB segments: $out"
segs_max=${L[max_segment_desc]:-1}
want_segs=4
want_cmds=$(((want_segs + segs_max - 1) / segs_max))
if [ "$rc" = 0 ] && [ "$out" = "copied=$((seg_blocks * 3 + 7)) commands=$want_cmds segments=$want_segs" ] &&
   same_range "$DM_WORK/lun0.img" $((3 * BS)) "$DM_WORK/lun1.img" $((5 * BS)) $(((seg_blocks * 3 + 7) * BS)); then
	tap_ok "a copy beyond a lowered segment limit is split into $want_segs segments and matches"
else
	tap_fail "a copy beyond a lowered segment limit is split into $want_segs segments and matches (rc $rc)"
fi
big=$(((40 << 20) / BS + 7))
out=$("$TOOL" copy "${DISK[0]}" "${DISK[1]}" --src-lba 11 --dst-lba 0 \
	--blocks $big 2>&1)
rc=$?
tap_diag "copy of $big blocks: $out"
if [ "$rc" = 0 ] && [[ $out == "copied=$big "* ]] && [[ $out != *" segments=1" ]] &&
   same_range "$DM_WORK/lun0.img" $((11 * BS)) "$DM_WORK/lun1.img" 0 $((big * BS)); then
	tap_ok "a copy beyond 65535 blocks is split into several segments and matches"
else
	tap_fail "a copy beyond 65535 blocks is split into several segments and matches (rc $rc)"
fi

# Cross-check with sg3-utils' sg_xcopy: it finds the LUNs by the same
# designators; 2048 blocks from LUN 0 block 40000 to LUN 1 block 100000.
# sg_node DISK: sets REPLY to the /dev/sgN of /dev/sdX DISK (sg_xcopy needs
# the SCSI generic devices).
sg_node() {
	local g n

	REPLY=
	for g in /sys/block/"${1#/dev/}"/device/scsi_generic/*; do
		[ -e "$g/dev" ] || continue
		if [ ! -c "/dev/${g##*/}" ]; then
			read -r n < "$g/dev" || return 1
			mknod "/dev/${g##*/}" c "${n%%:*}" "${n##*:}" || return 1
		fi
		REPLY=/dev/${g##*/}
		return 0
	done
	return 1
}
if command -v sg_xcopy >/dev/null && sg_node "${DISK[0]}" && sg0=$REPLY &&
   sg_node "${DISK[1]}" && sg1=$REPLY; then
	out=$(sg_xcopy if="$sg0" of="$sg1" bs=$BS skip=40000 \
		seek=100000 count=2048 2>&1)
	rc=$?
	if [ "$rc" = 0 ] && same_range "$DM_WORK/lun0.img" $((40000 * BS)) \
		"$DM_WORK/lun1.img" $((100000 * BS)) $((2048 * BS)); then
		tap_ok "cross-check: sg_xcopy between the same LUNs works and matches"
	else
		tap_fail "cross-check: sg_xcopy between the same LUNs works and matches (rc $rc)"
		tap_diag "$out"
	fi
else
	tap_skip "cross-check with sg_xcopy" "sg_xcopy or the sg driver not available"
fi

# Within one LUN (both target descriptors name LUN 0).
out=$("$TOOL" copy "${DISK[0]}" "${DISK[0]}" --src-lba 0 --dst-lba 120000 \
	--blocks 2048 2>&1)
rc=$?
tap_diag "copy within LUN 0: $out"
if [ "$rc" = 0 ] && same_range "$DM_WORK/lun0.img" 0 "$DM_WORK/lun0.img" \
	$((120000 * BS)) $((2048 * BS)); then
	tap_ok "a copy within one LUN completes and matches"
else
	tap_fail "a copy within one LUN completes and matches (rc $rc)"
fi

# Beyond the end of the destination: a failure (status 1) before any command.
out=$("$TOOL" copy "${DISK[0]}" "${DISK[1]}" --dst-lba 131000 --blocks 100 2>&1)
rc=$?
tap_diag "copy beyond the end: status $rc: $out"
if [ "$rc" = 1 ] && [[ $out == *"beyond the destination"* ]] &&
   [[ $out == *"commands=0"* ]]; then
	tap_ok "a copy beyond the destination's end fails with a reason (status 1)"
else
	tap_fail "a copy beyond the destination's end fails with a reason (status 1, got $rc)"
fi

# A loop device is not a SCSI disk: refused with a reason (status 4).
mkloop loop plain 16
out=$("$TOOL" copy "${DISK[0]}" "$loop" --blocks 8 2>&1)
rc=$?
tap_diag "copy to $loop: status $rc: $out"
if [ "$rc" = 4 ] && [[ $out == *"svm-xcopy: $loop: "*"not a SCSI device"* ]]; then
	tap_ok "a copy to a loop device is refused as not SCSI (status 4)"
else
	tap_fail "a copy to a loop device is refused as not SCSI (status 4, got $rc)"
fi

# LUN 2 has emulate_3pc=0: the target refuses, as a refusal (status 3), both
# when LUN 2 receives the command and when it is the other end.
before=$(cksum < "$DM_WORK/lun2.img")
out=$("$TOOL" copy "${DISK[0]}" "${DISK[2]}" --blocks 64 2>&1)
rc=$?
tap_diag "copy to the emulate_3pc=0 LUN: status $rc: $out"
out2=$("$TOOL" copy "${DISK[2]}" "${DISK[1]}" --blocks 64 2>&1)
rc2=$?
tap_diag "copy from the emulate_3pc=0 LUN: status $rc2: $out2"
if [ "$rc" = 3 ] && [[ $out == *refused* ]] && [ "$rc2" = 3 ] &&
   [[ $out2 == *refused* ]] && [ "$before" = "$(cksum < "$DM_WORK/lun2.img")" ]; then
	tap_ok "copies involving an emulate_3pc=0 LUN are reported as refused (status 3)"
else
	tap_fail "copies involving an emulate_3pc=0 LUN are reported as refused (status 3; got $rc, $rc2)"
fi

# The data mover (svm-cp) with the xcopy backend: LUN 0 -> LUN 1 is
# offloaded (every byte counted as xcopy); LUN 0 -> the emulate_3pc=0 LUN is
# refused by the target and falls back to the fast mode, byte-exact.
CP=$repo/tests/tools/svm-cp
out=$("$CP" --mode xcopy "${DISK[0]}:0:8388608" "${DISK[1]}:33554432:8388608" 2>&1)
rc=$?
tap_diag "svm-cp --mode xcopy LUN 0 -> LUN 1: status $rc: $out"
if [ "$rc" = 0 ] && [[ $out == *"mode=xcopy"* ]] && [[ $out == *"xcopy=8388608"* ]] &&
   cmp -s -n 8388608 "$DM_WORK/lun0.img" <(dd if="$DM_WORK/lun1.img" bs=1M skip=32 count=8 status=none); then
	tap_ok "svm-cp --mode xcopy between two LUNs of one array offloads every byte, byte-exact"
else
	tap_fail "svm-cp --mode xcopy between two LUNs of one array offloads every byte, byte-exact"
fi
out=$("$CP" --mode xcopy "${DISK[0]}:0:4194304" "${DISK[2]}:0:4194304" 2>&1)
rc=$?
tap_diag "svm-cp --mode xcopy LUN 0 -> emulate_3pc=0 LUN: status $rc: $out"
if [ "$rc" = 0 ] && [[ $out == *"mode=fast"* ]] && [[ $out == *"xcopy=0"* ]] &&
   cmp -s -n 4194304 "$DM_WORK/lun0.img" "$DM_WORK/lun2.img"; then
	tap_ok "svm-cp --mode xcopy falls back to fast when the target refuses, byte-exact"
else
	tap_fail "svm-cp --mode xcopy falls back to fast when the target refuses, byte-exact"
fi

# Teardown leaves no SCSI disk and no configfs object behind.
kmsg_new
lio_teardown
left=$(ls /sys/class/scsi_device/ 2>/dev/null
	ls -d "$T/loopback/$WWN" "$T"/core/fileio_* 2>/dev/null)
if [ -z "$left" ]; then
	tap_ok "teardown removes the LUNs, nexus, target and backstores"
else
	tap_fail "teardown removes the LUNs, nexus, target and backstores"
	tap_diag "left: $left"
fi
tap_done
