#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/guest/91-svmotion-refusals.sh - the svmotion command refuses bad
# input with a clear message and the right exit status (3 refused, 2 usage)
# and changes nothing: no dm device or table, no loop device, no file on a
# datastore, no state (guest test).
# timeout: 600
#
#   attach      malformed and hostile descriptors (missing fields, huge
#               sizes, overlapping extents, extents past the end of their
#               file or pointing at no file, at the descriptor itself, at a
#               character device, snapshot children, sparse extents), raw
#               images that are not raw disks, a disk attached twice, a name
#               taken, a bad name
#   migrate     unknown disk, destination = source, missing datastore, a
#               file as datastore, a destination file that exists, split
#               sizes that leave nothing or are not sector multiples, bad
#               options (exit 2), an unreachable QMP socket, the same disk
#               twice, a descriptor changed or garbled behind svmotion's back
#   others      cold of an attached disk, abort of a disk not migrating,
#               detach of an unknown disk and of a disk held open
# After every refusal: the snapshot of dm tables, loop devices, datastore
# files (with checksums), svmotion list and state files is unchanged.

# shellcheck disable=SC2317,SC2016 # functions run via check; jq programs
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"

work=$(mktemp -d "${SVM_TEST_TMPDIR:-/tmp}/svm91.XXXXXX")
failures=0
loops=()

# shellcheck source-path=SCRIPTDIR source=lib-live.sh
. "$here/lib-live.sh"
# shellcheck source-path=SCRIPTDIR source=lib-svmotion.sh
. "$here/lib-svmotion.sh"

cleanup() {
	exec 9<&- 2>/dev/null
	svm_cleanup
}
trap 'cleanup; rm -rf "$work"' EXIT

ds0=$work/ds0 ds1=$work/ds1 ds2=$work/ds2 bad=$work/ds0/bad
mkdir -p "$ds0" "$ds1" "$ds2" "$bad"

# desc FILE CREATETYPE EXTENT_LINE...: a descriptor (no createType line when
# CREATETYPE is empty).
desc() {
	local f=$1 ct=$2
	shift 2
	{
		printf '# Disk DescriptorFile\nversion=1\nCID=0badcafe\nparentCID=ffffffff\n'
		[ -z "$ct" ] || printf 'createType="%s"\n' "$ct"
		printf '\n# Extent description\n'
		printf '%s\n' "$@"
	} > "$f"
}

# refused RC DESC SUBSTRING ARGS...: svmotion ARGS exits RC printing
# SUBSTRING, and nothing changed since the snapshot in $work/before.snap.
refused() {
	local rc=$1 desc=$2 sub=$3
	shift 3
	svm "$@"
	expect "$rc" "$desc: exit $rc, \"$sub\"" "$sub"
	check "$desc: nothing changed" unchanged "$work/before.snap"
}

# --- the disks and the bad input ---------------------------------------------------

randfile "$ds0/good.img" 16
randfile "$ds0/gd-flat.vmdk" 16
truncate -s 16M "$bad/x-flat.vmdk"
desc "$ds0/gd.vmdk" monolithicFlat 'RW 32768 FLAT "gd-flat.vmdk" 0'
desc "$bad/nosector.vmdk" monolithicFlat 'RW FLAT "x-flat.vmdk" 0'
desc "$bad/nooffset.vmdk" monolithicFlat 'RW 32768 FLAT "x-flat.vmdk"'
desc "$bad/nofile.vmdk" monolithicFlat 'RW 32768 FLAT'
desc "$bad/notype.vmdk" '' 'RW 32768 FLAT "x-flat.vmdk" 0'
desc "$bad/huge.vmdk" monolithicFlat 'RW 99999999999999999999 FLAT "x-flat.vmdk" 0'
desc "$bad/64t.vmdk" monolithicFlat 'RW 137438953473 FLAT "x-flat.vmdk" 0'
desc "$bad/farout.vmdk" monolithicFlat 'RW 32768 FLAT "x-flat.vmdk" 144115188075855872'
desc "$bad/past.vmdk" monolithicFlat 'RW 65536 FLAT "x-flat.vmdk" 0'
desc "$bad/past2.vmdk" monolithicFlat 'RW 16384 FLAT "x-flat.vmdk" 24576'
desc "$bad/overlap.vmdk" monolithicFlat 'RW 16384 FLAT "x-flat.vmdk" 0' \
	'RW 16384 FLAT "x-flat.vmdk" 8192'
desc "$bad/missing.vmdk" monolithicFlat 'RW 32768 FLAT "nosuch-flat.vmdk" 0'
desc "$bad/self.vmdk" monolithicFlat 'RW 1 FLAT "self.vmdk" 0'
desc "$bad/passwd.vmdk" monolithicFlat 'RW 8 FLAT "../../../../../../../../etc/passwd" 0'
desc "$bad/chardev.vmdk" monolithicFlat 'RW 8 FLAT "/dev/zero" 0'
desc "$bad/negative.vmdk" monolithicFlat 'RW 32768 FLAT "x-flat.vmdk" -8'
desc "$bad/rdonly.vmdk" monolithicFlat 'RDONLY 32768 FLAT "x-flat.vmdk" 0'
desc "$bad/sparse.vmdk" monolithicSparse 'RW 32768 SPARSE "x-flat.vmdk"'
desc "$bad/child.vmdk" monolithicFlat 'RW 32768 FLAT "x-flat.vmdk" 0'
sed -i 's/^parentCID=ffffffff/parentCID=12345678/' "$bad/child.vmdk"
printf 'QFI\xfb' > "$bad/qcow.img" && truncate -s 1M "$bad/qcow.img"
truncate -s 1000 "$bad/odd.img"
printf '# Disk DescriptorFile\n' > "$bad/fake.img" && truncate -s 2M "$bad/fake.img"
: > "$bad/empty.img"
: > "$ds2/good.img"	# a destination that exists already

tap_plan 136
svm attach "$ds0/good.img"
expect 0 "attach good (raw, 16 MiB)"
svm attach "$ds0/gd.vmdk"
expect 0 "attach gd (descriptor, 16 MiB)"
cp "$ds0/good.img" "$work/good.exp"
snapshot_all > "$work/before.snap"

# --- attach ----------------------------------------------------------------------------

tap_diag "[${SECONDS}s] attach refusals"
refused 3 "attach: extent without a sector count" "sector count is not a number" \
	attach "$bad/nosector.vmdk"
refused 3 "attach: FLAT extent without an offset" "FLAT extent without an offset" \
	attach "$bad/nooffset.vmdk"
refused 3 "attach: extent without a file name" "without a file name" \
	attach "$bad/nofile.vmdk"
refused 3 "attach: no createType" "no createType" attach "$bad/notype.vmdk"
refused 3 "attach: a 20-digit sector count" "sector count too large" \
	attach "$bad/huge.vmdk"
refused 3 "attach: an extent above 64 TiB" "larger than the 64 TiB maximum" \
	attach "$bad/64t.vmdk"
refused 3 "attach: an extent ending beyond 64 PiB in its file" "beyond 64 PiB" \
	attach "$bad/farout.vmdk"
refused 3 "attach: an extent longer than its file" "shorter than the extent's end" \
	attach "$bad/past.vmdk"
refused 3 "attach: an extent past the end of its file (offset)" "shorter than the extent's end" \
	attach "$bad/past2.vmdk"
refused 3 "attach: two extents of one file that overlap" "overlaps extent 1" \
	attach "$bad/overlap.vmdk"
refused 3 "attach: an extent file that does not exist" "No such file or directory" \
	attach "$bad/missing.vmdk"
refused 3 "attach: an extent that is the descriptor itself" "is the descriptor itself" \
	attach "$bad/self.vmdk"
refused 3 "attach: a ../ path out to /etc/passwd" "shorter than the extent's end" \
	attach "$bad/passwd.vmdk"
refused 3 "attach: an extent on a character device" "neither a regular file nor a block device" \
	attach "$bad/chardev.vmdk"
refused 3 "attach: a negative offset" "negative offset" attach "$bad/negative.vmdk"
refused 3 "attach: an RDONLY extent" "svmotion moves only RW extents" \
	attach "$bad/rdonly.vmdk"
refused 3 "attach: a sparse extent" "moves only FLAT and VMFS extents" \
	attach "$bad/sparse.vmdk"
refused 3 "attach: a snapshot child" "snapshot child" attach "$bad/child.vmdk"
refused 3 "attach: a qcow2 image" "qcow" attach "$bad/qcow.img"
refused 3 "attach: a raw image of 1000 bytes" "not a multiple of 512" \
	attach "$bad/odd.img"
refused 3 "attach: a 2 MiB \"raw\" image that starts like a descriptor" \
	"descriptor larger than" attach "$bad/fake.img"
refused 3 "attach: an empty image" "empty disk" attach "$bad/empty.img"
refused 3 "attach: a path that does not exist" "No such file" \
	attach "$work/nosuch.img"
refused 3 "attach: the same disk twice" "already attached" attach "$ds0/good.img"
refused 3 "attach: a name taken" "taken" attach --name good "$bad/x-flat.vmdk"
refused 3 "attach: a name with a slash" "use 1 to 64" attach --name ../x "$bad/x-flat.vmdk"
refused 2 "attach: no disk (usage)" "usage" attach

# --- migrate -------------------------------------------------------------------------

tap_diag "[${SECONDS}s] migrate refusals"
refused 3 "migrate: unknown disk" "nosuch is not attached" migrate nosuch --to "$ds1"
refused 3 "migrate: a raw image onto its own datastore (destination = source)" \
	"is the source itself" migrate good --to "$ds0"
refused 3 "migrate: a descriptor disk onto its own datastore (destination = its extent)" \
	"is the source itself" migrate gd --to "$ds0"
refused 3 "migrate: a missing datastore" "No such file or directory" \
	migrate good --to "$work/nosuch"
refused 3 "migrate: a datastore that is a file" "neither a directory nor a block device" \
	migrate good --to "$ds0/gd-flat.vmdk"
refused 3 "migrate: a destination file that exists" "exists already" \
	migrate good --to "$ds2"
refused 3 "migrate: split sizes that leave nothing for the last datastore" \
	"leave nothing" migrate good --to "$ds1:64M,$ds2"
refused 3 "migrate: a split size that is not a multiple of 512" "not a multiple of 512" \
	migrate good --to "$ds1:1000,$ds2"
refused 3 "migrate: one missing datastore of three" "No such file or directory" \
	migrate good --to "$ds1:4M,$work/nosuch:4M,$ds2"
refused 3 "migrate: the same disk twice" "good" migrate good good --to "$ds1"
refused 3 "migrate: an unreachable QMP socket" "qmp" \
	migrate good --to "$ds1" --handoff "qmp:$work/nosuch.sock"
refused 2 "migrate: no --to" "no destination" migrate good
refused 2 "migrate: no disk" "no disk given" migrate --to "$ds1"
refused 2 "migrate: --format bogus" "use thin, thick-lazy, thick-eager or same" \
	migrate good --to "$ds1" --format bogus
refused 2 "migrate: --mover bogus" "use auto, xcopy, fast or buffered" \
	migrate good --to "$ds1" --mover bogus
refused 2 "migrate: --rate 0" "bytes per second" migrate good --to "$ds1" --rate 0
refused 2 "migrate: --rate fast" "bytes per second" migrate good --to "$ds1" --rate fast
refused 2 "migrate: --handoff bogus" "use none, qmp:SOCKET or exec:COMMAND" \
	migrate good --to "$ds1" --handoff bogus
refused 2 "migrate: a size that is not a size" "is not a size" \
	migrate good --to "$ds1:lots,$ds2"
refused 2 "migrate: a size that overflows 64 bits" "is not a size" \
	migrate good --to "$ds1:99999999999T,$ds2"
refused 2 "migrate: --place without =" "use DISK=DATASTORE" \
	migrate good --to "$ds1" --place "$ds2"
refused 2 "migrate: an unknown option" "usage" migrate good --to "$ds1" --bogus
svm migrate nosuch --to "$ds1" --json
expect 3 "migrate --json of an unknown disk: exit 3" "not attached"
check "migrate --json refusal: every stdout line is a JSON object" json_lines "$work/svm.out"
check "migrate --json refusal: an error event with exit 3 (the events end in done or error)" \
	has_event "$work/svm.out" '.event == "error" and .exit == 3'

# --- cold, abort, detach, status ---------------------------------------------------------

tap_diag "[${SECONDS}s] other commands"
refused 3 "cold: an attached disk" "is attached as /dev/mapper/svm-good" \
	cold "$ds0/good.img" --to "$ds1"
refused 2 "cold: --handoff" "no --handoff" cold "$ds0/good.img" --to "$ds1" --handoff none
refused 3 "abort: a disk not migrating" "is not being migrated" abort good
refused 3 "abort: an unknown disk" "is not attached" abort nosuch
refused 3 "detach: an unknown disk" "is not attached" detach nosuch
exec 9< /dev/mapper/svm-good
refused 3 "detach: a disk held open" "is open" detach good
exec 9<&-
refused 2 "an unknown command" "unknown command" frobnicate
refused 2 "a relative --state-dir" "absolute path" --state-dir relative list
svm status
expect 0 "status after all that: no migration in progress" "no migration in progress"
check "good: still linear on its source with its data" \
	sh -c "dmsetup table svm-good | grep -q ' linear ' && cmp /dev/mapper/svm-good '$work/good.exp'"

# --- a descriptor changed behind svmotion's back ---------------------------------------

tap_diag "[${SECONDS}s] changed descriptors"
cp "$ds0/gd.vmdk" "$work/gd.vmdk.orig"
desc "$ds0/gd.vmdk" monolithicFlat 'RW 16384 FLAT "gd-flat.vmdk" 0'
snapshot_all > "$work/before.snap"
refused 3 "migrate: the descriptor now describes another size" "detach and attach again" \
	migrate gd --to "$ds1"
printf 'garbage\n' > "$ds0/gd.vmdk"
snapshot_all > "$work/before.snap"
refused 3 "migrate: the descriptor garbled" "gd" migrate gd --to "$ds1"
cp "$work/gd.vmdk.orig" "$ds0/gd.vmdk"
svm detach gd
expect 0 "detach gd"
svm detach "$ds0/good.img"
expect 0 "detach good by its image path"
check "nothing left: no svm device, no loop device, no state" \
	sh -c "! dmsetup ls | grep svm- && ! losetup -a | grep -F '$work' && test \"\$('$SVM' list --json)\" = '[]'"


# --- a --place that names no disk of the command (last: if it is ignored,
# the disk moves)
svm attach "$ds0/good.img"
expect 0 "attach good again"

# --- the extents of an attached disk, reached by another descriptor or a
# hard link: two devices over one file would let two VMs write it
desc "$bad/shared.vmdk" monolithicFlat 'RW 32768 FLAT "../good.img" 0'
ln "$ds0/good.img" "$bad/hardlink.img"
snapshot_all > "$work/before.snap"
svm attach "$bad/shared.vmdk"
expect 3 "attach: a descriptor whose extent is the image of the attached disk good" "good"
check "attach of a descriptor sharing good's image: nothing changed" unchanged "$work/before.snap"
[ "$RC" = 0 ] && "$SVM" detach shared > /dev/null 2>&1
svm attach "$bad/hardlink.img"
expect 3 "attach: a hard link to the image of the attached disk good" "good"
check "attach of a hard link to good's image: nothing changed" unchanged "$work/before.snap"
[ "$RC" = 0 ] && "$SVM" detach hardlink > /dev/null 2>&1
rm -f "$bad/shared.vmdk" "$bad/hardlink.img"
snapshot_all > "$work/before.snap"
svm migrate good --to "$ds1" --place "typo=$ds2"
check "migrate: --place naming no disk of the command: refused (exit $RC), the message names it" \
	sh -c "cat '$work/svm.err'; test $RC = 2 -o $RC = 3 && grep -q typo '$work/svm.err'"
check "migrate: --place naming no disk of the command: nothing changed" \
	unchanged "$work/before.snap"
svm detach good
expect 0 "detach good (by name)"
tap_done
