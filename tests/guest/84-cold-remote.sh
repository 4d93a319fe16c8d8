#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 900
#
# 84-cold-remote.sh - svmotion cold with URLs, against the guest's own
# servers (tests/guest/lib-servers.sh): the kernel's nfsd and LIO's iSCSI
# target on 127.0.0.1, reached through libnfs and libiscsi (no mount, no
# login).
#
# A 16 MiB disk (data at [0,2M), [6M,7M) and [14M,16M), holes between)
# is copied between every pair of kinds, both ways: a file, a block device
# (a loop device), NFS (nfs://.../ds1 and ds2 as directories), iSCSI (LUNs
# of 16 MiB): 16 pairs, each byte-exact (cmp through the server's files:
# the ext4 under the exports, the LUNs' backing files). Then:
#   formats   thin, same, thick-lazy, thick-eager onto NFS and thin and
#             thick-eager onto a LUN (with LBPRZ), allocation read on the server side
#             (st_blocks of the ext4 file, of the LUN's backing file);
#   split     over an NFS directory (8M) and a LUN: the descriptor on the
#             NFS server names the LUN by URL; that descriptor as a source
#             again, to a local directory (qemu-img compare);
#   vmdk      a descriptor on NFS as source and destination (v3 -> v4), the
#             new descriptor read back from the server's ext4, the source's
#             unchanged; a local descriptor to NFS;
#   refusals  a destination file that exists (then --force), a LUN holding
#             data (then --force), a LUN smaller than the disk, a missing
#             directory, a read-only export: exit 3, nothing changed;
#   faults    nfsd stopped mid-copy, the iSCSI portal disabled mid-copy:
#             exit 1 with the offset, the NFS file removed, the LUN's first
#             MiB zeroed (after the server came back), the source intact.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"
# shellcheck source=lib-servers.sh
. "$here/lib-servers.sh"

SV=$repo/utils/svmotion
MIB=16
BYTES=$((MIB << 20))
HALF=$((BYTES / 2))
work=$(mktemp -d "${SVM_TEST_TMPDIR:-/tmp}/cold-remote.XXXXXX")
export SVMOTION_STATE_DIR=$work/state
ref=$work/ref.img
out=$work/out
LOOPS=()
RC=0

# shellcheck disable=SC2317 # runs from the EXIT trap
cleanup() {
	local l
	for l in "${LOOPS[@]}"; do
		losetup -d "$l" 2>/dev/null
	done
	nfs_stop >/dev/null 2>&1
	iscsi_stop >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

# sv ARGS...: svmotion, output in $out, exit status in RC.
sv() {
	"$SV" "$@" --progress none >"$out" 2>&1
	RC=$?
}

# expect DESC CMD...: ok if CMD succeeds, else not ok with svmotion's last output.
expect() {
	local d=$1
	shift
	if "$@"; then
		tap_ok "$d"
	else
		tap_fail "$d"
		tap_diag "exit status $RC" "$(tail -n 15 "$out")"
	fi
}

rc_is() { [ "$RC" = "$1" ]; }
said() { grep -q -- "$1" "$out"; }
# same FILE: the first $MIB MiB of FILE equal the reference
same() { cmp -s -n "$BYTES" "$ref" "$1"; }
blocks() { srv_blocks "$1"; }
# the first MiB of FILE is all zeros
head_zero() { cmp -s -n 1048576 /dev/zero "$1"; }
sum() { md5sum < "$1" | cut -d' ' -f1; }

# --- servers and the disk ------------------------------------------------------

if ! modprobe -n -q -a nfsd target_core_file iscsi_target_mod 2>/dev/null; then
	echo "1..0 # SKIP nfsd or LIO iSCSI modules not available"
	exit 0
fi
tap_plan 44

# LUN 0 the source, LUN 1 the destination (LBPRZ: thin may leave it
# unmapped), LUN 2 too small, LUN 3 half a disk for the split
ISCSI_LUN_MIBS="$MIB $MIB $((MIB / 2)) $((MIB / 2))"
ISCSI_LBPRZ="0 1 0 1"
if ! nfs_start 512 >"$out" 2>&1 || ! iscsi_start 4 "$MIB" >>"$out" 2>&1; then
	echo "Bail out! servers: $(tr '\n' ' ' < "$out")"
	exit 1
fi
mkdir -p "$work/src" "$work/dstf" "$SVMOTION_STATE_DIR"
tap_diag "servers up in $SECONDS s"

# 16 MiB, data at [0,2M) [6M,7M) [14M,16M), holes between
truncate -s "${MIB}M" "$ref"
dd if=/dev/urandom of="$ref" bs=1M count=2 conv=notrunc status=none
dd if=/dev/urandom of="$ref" bs=1M seek=6 count=1 conv=notrunc status=none
dd if=/dev/urandom of="$ref" bs=1M seek=14 count=2 conv=notrunc status=none
DATA=$((5 << 20))

# loop_new FILE: a loop device over FILE, its path in REPLY
loop_new() {
	REPLY=$(losetup -f --show "$1") || return 1
	LOOPS+=("$REPLY")
}

# sources
FSRC=$work/src/fsrc.img
cp --sparse=always "$ref" "$FSRC"
cp --sparse=always "$ref" "$work/src/bsrc.img"
loop_new "$work/src/bsrc.img" || { echo "Bail out! losetup"; exit 1; }
BSRC=$REPLY
cp --sparse=always "$ref" "$NFS_DS1/nsrc.img"
NSRC=$(nfs_url 3 ds1 nsrc.img)
dd if="$ref" of="${ISCSI_BACKING[0]}" bs=1M conv=notrunc status=none
ISRC=${ISCSI_URL[0]}
# what each source's copy is called in a directory
declare -A NAME=([file]=fsrc.img [blk]=$(basename "$BSRC") [nfs]=nsrc.img [iscsi]=test-lun0.img)
declare -A SRC=([file]=$FSRC [blk]=$BSRC [nfs]=$NSRC [iscsi]=$ISRC)

# destinations
truncate -s "${MIB}M" "$work/bdst.img"
loop_new "$work/bdst.img" || { echo "Bail out! losetup"; exit 1; }
BDST=$REPLY
NDS2=$(nfs_url 3 ds2)
LUN1=${ISCSI_URL[1]}
declare -A DST=([file]=$work/dstf [blk]=$BDST [nfs]=$NDS2 [iscsi]=$LUN1)

# result KIND SRCKIND: where the copy of SRCKIND's disk is, to read back
result() {
	case $1 in
	file) echo "$work/dstf/${NAME[$2]}" ;;
	blk) echo "$BDST" ;;
	nfs) echo "$NFS_DS2/${NAME[$2]}" ;;
	iscsi) echo "${ISCSI_BACKING[1]}" ;;
	esac
}

# reset KIND SRCKIND: make the destination empty again
reset() {
	case $1 in
	file) rm -f "$work/dstf/${NAME[$2]}" ;;
	blk) dd if=/dev/zero of="$BDST" bs=1M count=1 conv=fsync status=none ;;
	nfs) rm -f "$NFS_DS2/${NAME[$2]}" ;;
	iscsi) fallocate -p -o 0 -l "$BYTES" "${ISCSI_BACKING[1]}" ;;
	esac
}

# --- every pair ------------------------------------------------------------------

t0=$SECONDS
for s in file blk nfs iscsi; do
	for d in file blk nfs iscsi; do
		sv cold "${SRC[$s]}" --to "${DST[$d]}"
		r=$(result "$d" "$s")
		expect "cold $s -> $d: exit 0, byte-exact ($r)" \
			eval 'rc_is 0 && same "$r" && said "now at"'
		reset "$d" "$s"
	done
done
tap_diag "16 pairs in $((SECONDS - t0)) s"

# --- formats, allocation read on the servers ----------------------------------------

t0=$SECONDS
for f in thin same thick-lazy thick-eager; do
	sv cold "$FSRC" --to "$NDS2" --format "$f"
	r=$NFS_DS2/fsrc.img
	b=$(( $(blocks "$r" 2>/dev/null || echo 0) * 512 ))
	case $f in
	thin|same) want="data only: ${b} <= $((DATA + (1 << 20)))"
		alloc_ok() { [ "$b" -le $((DATA + (1 << 20))) ] && [ "$b" -ge "$DATA" ]; } ;;
	*) want="allocated: ${b} >= $BYTES"
		alloc_ok() { [ "$b" -ge "$BYTES" ]; } ;;
	esac
	expect "--format $f onto NFS: equal, $want" eval 'rc_is 0 && same "$r" && alloc_ok'
	rm -f "$r"
done
# LBPRZ (LIO's unmap_zeroes_data): only then may thin leave a LUN unmapped;
# without it the zeros must be written (WRITE SAME), as on any device
lbprz=0
iscsi_backstore 1 && read -r lbprz < "$REPLY/attrib/unmap_zeroes_data"
for f in thin thick-eager; do
	reset iscsi file
	sv cold "$FSRC" --to "$LUN1" --format "$f"
	b=$(( $(iscsi_lun_blocks 1) * 512 ))
	case $f in
	thin) if [ "$lbprz" = 1 ]; then
			want="LBPRZ 1, data only: ${b} <= $((DATA + (1 << 20)))"
			alloc_ok() { [ "$b" -le $((DATA + (1 << 20))) ]; }
		else
			want="LBPRZ 0 (unmapped blocks not known to read zeros): zeros written, ${b} >= $BYTES"
			alloc_ok() { [ "$b" -ge "$BYTES" ]; }
		fi ;;
	*) want="allocated: ${b} >= $BYTES"
		alloc_ok() { [ "$b" -ge "$BYTES" ]; } ;;
	esac
	expect "--format $f onto a LUN: equal, $want" \
		eval 'rc_is 0 && same "${ISCSI_BACKING[1]}" && alloc_ok'
done
reset iscsi file
tap_diag "formats in $((SECONDS - t0)) s"

# --- split over an NFS directory and a LUN ----------------------------------------------

t0=$SECONDS
NDS1=$(nfs_url 3 ds1)
sv cold "$FSRC" --to "$NDS1:$((MIB / 2))M,${ISCSI_URL[3]}"
expect "split over nfs ds1:$((MIB / 2))M and LUN 3: exit 0, both parts equal" \
	eval 'rc_is 0 && cmp -s -n $HALF "$ref" "$NFS_DS1/fsrc-s001-flat.vmdk" &&
	      cmp -s -n $HALF -i $HALF:0 "$ref" "${ISCSI_BACKING[3]}"'
expect "split: the descriptor on the server names the NFS part by name, the LUN by URL" \
	eval 'grep -q "^RW $((HALF / 512)) FLAT \"fsrc-s001-flat.vmdk\" 0$" "$NFS_DS1/fsrc.vmdk" &&
	      grep -q "^RW $((HALF / 512)) FLAT \"${ISCSI_URL[3]}\" 0$" "$NFS_DS1/fsrc.vmdk"'
sv cold "$NDS1/fsrc.vmdk" --to "$work/dstf"
expect "that descriptor (NFS extent + LUN extent) as a source to a local directory: qemu-img compare equal" \
	eval 'rc_is 0 && qemu-img compare -q -f vmdk -F raw "$work/dstf/fsrc.vmdk" "$ref"'
rm -f "$work/dstf/fsrc.vmdk" "$work/dstf/fsrc-flat.vmdk" "$NFS_DS1/fsrc.vmdk" \
	"$NFS_DS1/fsrc-s001-flat.vmdk"
fallocate -p -o 0 -l $HALF "${ISCSI_BACKING[3]}"

# --- VMDK descriptors on NFS ---------------------------------------------------------------

cp --sparse=always "$ref" "$NFS_DS1/vmd-flat.vmdk"
printf '# Disk DescriptorFile\nversion=1\nCID=1234abcd\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\n# Extent description\nRW %d FLAT "vmd-flat.vmdk" 0\n\n# The Disk Data Base\n#DDB\n\nddb.adapterType = "lsilogic"\nddb.uuid = "60 00 c2 9a"\n' \
	$((BYTES / 512)) > "$NFS_DS1/vmd.vmdk"
cp "$NFS_DS1/vmd.vmdk" "$work/vmd.before"
sv cold "$(nfs_url 3 ds1 vmd.vmdk)" --to "$(nfs_url 4 ds2)"
expect "descriptor on NFS (v3) -> NFS (v4): exit 0, the new flat file equal" \
	eval 'rc_is 0 && same "$NFS_DS2/vmd-flat.vmdk"'
expect "the new descriptor read back from the server: its extent, the ddb lines kept; qemu-img compare equal" \
	eval 'grep -q "^RW $((BYTES / 512)) FLAT \"vmd-flat.vmdk\" 0$" "$NFS_DS2/vmd.vmdk" &&
	      grep -q "^ddb.uuid = \"60 00 c2 9a\"$" "$NFS_DS2/vmd.vmdk" &&
	      qemu-img compare -q -f vmdk -F raw "$NFS_DS2/vmd.vmdk" "$ref"'
expect "the source descriptor and its extent are unchanged" \
	eval 'cmp -s "$work/vmd.before" "$NFS_DS1/vmd.vmdk" && same "$NFS_DS1/vmd-flat.vmdk"'
rm -f "$NFS_DS2/vmd.vmdk" "$NFS_DS2/vmd-flat.vmdk"

cp --sparse=always "$ref" "$work/src/ld-flat.vmdk"
sed 's/vmd-flat/ld-flat/' "$work/vmd.before" > "$work/src/ld.vmdk"
cp "$work/src/ld.vmdk" "$work/ld.before"
sv cold "$work/src/ld.vmdk" --to "$NDS2" --format thin
expect "a local descriptor to NFS: its descriptor and flat file on the server, qemu-img compare equal" \
	eval 'rc_is 0 && grep -q "\"ld-flat.vmdk\" 0$" "$NFS_DS2/ld.vmdk" &&
	      qemu-img compare -q -f vmdk -F raw "$NFS_DS2/ld.vmdk" "$ref"'
expect "the local descriptor stays as it was (a URL destination never changes the source)" \
	cmp -s "$work/ld.before" "$work/src/ld.vmdk"
rm -f "$NFS_DS2/ld.vmdk" "$NFS_DS2/ld-flat.vmdk"

tap_diag "split and descriptors in $((SECONDS - t0)) s"

# --- refusals ------------------------------------------------------------------------------

t0=$SECONDS
echo "old data" > "$NFS_DS2/fsrc.img"
sv cold "$FSRC" --to "$NDS2"
expect "NFS destination file exists: exit 3, 'exists already', the file untouched" \
	eval 'rc_is 3 && said "exists already" && [ "$(cat "$NFS_DS2/fsrc.img")" = "old data" ]'
sv cold "$FSRC" --to "$NDS2" --force
expect "... with --force: exit 0, replaced by the copy" \
	eval 'rc_is 0 && same "$NFS_DS2/fsrc.img" && [ "$(stat -c %s "$NFS_DS2/fsrc.img")" = "$BYTES" ]'
rm -f "$NFS_DS2/fsrc.img"

dd if=/dev/urandom of="${ISCSI_BACKING[1]}" bs=4k count=1 seek=100 conv=notrunc status=none
before=$(sum "${ISCSI_BACKING[1]}")
sv cold "$FSRC" --to "$LUN1"
expect "LUN whose first MiB is not zero: exit 3, 'holds data', LUN unchanged" \
	eval 'rc_is 3 && said "holds data (first MiB not zero): --force to overwrite" &&
	      [ "$(sum "${ISCSI_BACKING[1]}")" = "$before" ]'
sv cold "$FSRC" --to "$LUN1" --force
expect "... with --force: exit 0, the LUN holds the disk" eval 'rc_is 0 && same "${ISCSI_BACKING[1]}"'
reset iscsi file

dd if=/dev/urandom of="${ISCSI_BACKING[2]}" bs=4k count=1 seek=1500 conv=notrunc status=none
before=$(sum "${ISCSI_BACKING[2]}")
sv cold "$FSRC" --to "${ISCSI_URL[2]}" --force
expect "LUN of $((MIB / 2)) MiB for a $MIB MiB disk: exit 3 before anything was written (even with --force)" \
	eval 'rc_is 3 && said "needed: refused before anything was written" &&
	      [ "$(sum "${ISCSI_BACKING[2]}")" = "$before" ]'

sv cold "$FSRC" --to "$NDS2/nosuch"
expect "NFS directory that does not exist: exit 3, named, nothing created" \
	eval 'rc_is 3 && said "nosuch" && [ -z "$(ls -A "$NFS_DS2")" ]'
sv cold "$FSRC" --to "$(nfs_url 3 ds_ro)"
expect "read-only export: exit 3, said, nothing created" \
	eval 'rc_is 3 && said "read-only" && [ ! -e "$NFS_DS_RO/fsrc.img" ]'

tap_diag "refusals in $((SECONDS - t0)) s"

# --- faults mid-copy --------------------------------------------------------------------------

t0=$SECONDS
# wait_alloc FILE BYTES: until FILE has BYTES allocated (at most 60 s)
wait_alloc() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(( $(srv_blocks "$1" 2>/dev/null || echo 0) * 512 ))" -ge "$2" ] && return 0
		srv_nap 0.1
	done
	return 1
}

"$SV" cold "$FSRC" --to "$NDS2" --rate 2M --timeout 3 --format thick-eager \
	--progress none >"$out" 2>&1 &
pid=$!
wait_alloc "$NFS_DS2/fsrc.img" $((2 << 20))
nfs_server_pause
srv_nap 5
nfs_server_resume
wait "$pid"
RC=$?
tap_diag "$(cat "$out")"
expect "nfsd stopped mid-copy: exit 1, the failure with its source offset" \
	eval 'rc_is 1 && grep -Eq "at source offset [0-9]+" "$out"'
expect "... the NFS file it created is removed (once the server is back)" \
	eval '[ ! -e "$NFS_DS2/fsrc.img" ]'
expect "... the source is intact" same "$FSRC"

reset iscsi file
"$SV" cold "$FSRC" --to "$LUN1" --rate 2M --timeout 3 --format thick-eager \
	--progress none >"$out" 2>&1 &
pid=$!
wait_alloc "${ISCSI_BACKING[1]}" $((2 << 20))
iscsi_portal_disable
srv_nap 5
iscsi_portal_enable
wait "$pid"
RC=$?
tap_diag "$(cat "$out")"
expect "iSCSI portal disabled mid-copy: exit 1, the failure with its source offset" \
	eval 'rc_is 1 && grep -Eq "at source offset [0-9]+" "$out"'
expect "... the LUN's first MiB is zeroed again (once the portal is back)" \
	head_zero "${ISCSI_BACKING[1]}"
expect "... the source is intact" same "$FSRC"

tap_diag "faults in $((SECONDS - t0)) s"
expect "no svmotion left running, the NFS datastores hold nothing of ours" \
	eval '! pgrep -x svmotion >/dev/null && [ -z "$(ls -A "$NFS_DS2")" ] &&
	      [ "$(ls -A "$NFS_DS1" | sort | tr "\n" " ")" = "nsrc.img vmd-flat.vmdk vmd.vmdk " ]'
tap_diag "run time $SECONDS s"
tap_done
