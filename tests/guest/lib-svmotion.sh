# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# tests/guest/lib-svmotion.sh - helpers of the svmotion command's guest
# tests (sourced after tests/lib/tap.sh and lib-live.sh): running the
# command, checking its exit status and message, VMDK descriptors, what a
# disk's device maps, allocated sizes, and cleaning up.
#
# The sourcing test defines work (scratch dir) and repo; this file sets SVM
# (the command), SVMOTION_STATE_DIR ($work/state) and QMPPY (the QMP helper).

# shellcheck disable=SC2317,SC2154

SVM=$repo/utils/svmotion
# shellcheck disable=SC2034 # used by the sourcing tests
QMPPY=$repo/tests/guest/svmotion-qmp.py
export SVMOTION_STATE_DIR=$work/state
bgpids=()

# svm ARGS...: run svmotion; stdout in $work/svm.out, stderr in
# $work/svm.err, exit status in RC.
RC=0
svm() {
	"$SVM" "$@" > "$work/svm.out" 2> "$work/svm.err" < /dev/null
	RC=$?
}

# show_svm: the last command's output as diagnostics.
show_svm() {
	local f l
	for f in svm.out svm.err; do
		[ -s "$work/$f" ] || continue
		tap_diag "--- $f:"
		tail -n 20 "$work/$f" | while IFS= read -r l; do tap_diag "  $l"; done
	done
}

# expect WANT_RC DESC [SUBSTRING]: one TAP line: the last svm exited WANT_RC
# (and printed SUBSTRING on stdout or stderr).
expect() {
	local want=$1 desc=$2 sub=${3:-}
	if [ "$RC" = "$want" ] &&
		{ [ -z "$sub" ] || grep -qF -- "$sub" "$work/svm.out" "$work/svm.err"; }; then
		tap_ok "$desc"
		return 0
	fi
	tap_fail "$desc"
	failures=$((failures + 1))
	tap_diag "exit status $RC (expected $want)${sub:+, expected message: $sub}"
	show_svm
	return 1
}

# mkdesc DESC "RW N FLAT \"file\" OFF"...: a VMDK descriptor with these
# extent lines.
mkdesc() {
	local desc=$1 l
	shift
	{
		printf '# Disk DescriptorFile\nversion=1\nCID=0badcafe\n'
		printf 'parentCID=ffffffff\ncreateType="monolithicFlat"\n\n'
		printf '# Extent description\n'
		for l in "$@"; do printf '%s\n' "$l"; done
		printf '\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = "4"\n'
		printf 'ddb.geometry.cylinders = "16"\nddb.geometry.heads = "16"\n'
		printf 'ddb.geometry.sectors = "63"\nddb.adapterType = "ide"\n'
	} > "$desc"
}

# randfile FILE MIB: MIB MiB of random data.
randfile() {
	dd if=/dev/urandom of="$1" bs=1M count="$2" status=none
}

# sparsefile FILE MIB DATA_AT_MIB DATA_MIB: a sparse file with random data
# in one place.
sparsefile() {
	truncate -s "${2}M" "$1" &&
		dd if=/dev/urandom of="$1" bs=1M seek="$3" count="$4" conv=notrunc status=none
}

# allocated FILE: bytes allocated.
allocated() {
	echo $(( $(stat -c %b "$1") * $(stat -c %B "$1") ))
}

# mapping NAME: "TARGET FILE" for each line of svm-NAME's table (FILE: the
# backing file of a loop device, else the device).
mapping() {
	local target dev rest f
	dmsetup table "svm-$1" | while read -r _ _ target dev rest; do
		f=$(cat "/sys/dev/block/$dev/loop/backing_file" 2>/dev/null) || f=$dev
		echo "$target $f"
	done
}

# maps_to NAME "TARGET FILE"...: svm-NAME's table is exactly these lines.
maps_to() {
	local name=$1 want got
	shift
	want=$(printf '%s\n' "$@")
	got=$(mapping "$name" 2>&1)
	echo "table of svm-$name:"
	dmsetup table "svm-$name"
	echo "maps: $got"
	echo "expected: $want"
	[ "$got" = "$want" ]
}

# json_lines FILE: every line of FILE parses as one JSON object.
json_lines() {
	local l n=0
	cat "$1"
	while IFS= read -r l; do
		n=$((n + 1))
		jq -e 'type == "object"' <<<"$l" > /dev/null || {
			echo "line $n is not a JSON object: $l"
			return 1
		}
	done < "$1"
	[ "$n" -gt 0 ]
}

# has_event FILE FILTER: some line (JSON object) of FILE satisfies the jq
# FILTER.
has_event() {
	jq -s -e "map(select($2)) | length > 0" "$1" > /dev/null || {
		echo "no event with $2 in:"
		cat "$1"
		return 1
	}
}

# wait_phase NAME PHASE [SECONDS]: until svmotion status --json shows
# NAME in PHASE.
wait_phase() {
	local i
	for ((i = 0; i < ${3:-30} * 5; i++)); do
		"$SVM" status --json 2>/dev/null |
			jq -e --arg n "$1" --arg p "$2" \
				'.[] | select(.disk == $n and .state == $p)' > /dev/null &&
			return 0
		sleep 0.2
	done
	echo "$1 never reached $2:"
	"$SVM" status
	return 1
}

# svm_cleanup: stop background processes, abort and detach every disk,
# remove what is left.
svm_cleanup() {
	local p n d l
	for p in "${bgpids[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	bgpids=()
	if [ -x "$SVM" ] && [ -d "$SVMOTION_STATE_DIR" ]; then
		for n in $("$SVM" list --json 2>/dev/null | jq -r '.[].name' 2>/dev/null); do
			"$SVM" abort "$n" > /dev/null 2>&1
			"$SVM" detach "$n" > /dev/null 2>&1 ||
				tap_diag "cleanup: cannot detach $n"
		done
	fi
	for d in $(dmsetup ls 2>/dev/null | awk '/^svm-/ {print $1}'); do
		dmsetup remove "$d" > /dev/null 2>&1 || tap_diag "cleanup: cannot remove $d"
	done
	for l in $(losetup -a 2>/dev/null | grep -F "$work" | cut -d: -f1); do
		losetup -d "$l" 2>/dev/null || tap_diag "cleanup: cannot detach $l"
	done
}

# snapshot_all: the dm tables, the loop devices, the files and directories
# of the datastores $work/ds* and the state files (not the lock files
# migrate opens) (names, types, sizes,
# modification times with nanoseconds, inodes: a write, a new file or a
# replacement shows; checksums would be slow under TCG), to compare
# before/after a refusal. Few processes: each costs under TCG.
snapshot_all() {
	dmsetup table 2>&1
	losetup -a 2>&1
	find "$work"/ds* -printf '%p %y %s %T@ %i\n' 2>&1
	find "$SVMOTION_STATE_DIR" -name '*.json' -printf '%p %s %T@ %i\n' 2>&1
}

# unchanged BEFORE_FILE: the snapshot equals BEFORE_FILE.
unchanged() {
	local now
	now=$(snapshot_all)
	[ "$now" = "$(< "$1")" ] && return 0
	echo "changed:"
	diff -u "$1" - <<<"$now"
	return 1
}

# now_ms: the time in milliseconds
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# regions_copied NAME: regions COPIED so far in svm-NAME's first segment
# (0 when its table is not svmotion)
regions_copied() {
	local s
	s=$(dmsetup status "svm-$1" 2>/dev/null) || { echo 0; return; }
	# shellcheck disable=SC2086
	set -- $s
	[ "$3" = svmotion ] || { echo 0; return; }
	echo "${5%/*}"
}
