# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# tests/guest/lib-live.sh - helpers of the live-copy guest tests (sourced):
# TAP verdicts with the output of a failed step, loop devices over tmpfs
# files, the status snapshot of an svmotion device, the stamped background
# writer and its verifier.
#
# The sourcing test defines: work (scratch dir), loops=() (loop devices it
# detaches), writer= (the writer's pid), failures=0 (TAP failures so far),
# SW (tests/tools/stampwrite), CTL (tests/tools/svm-dmctl), DEV (dm name),
# MAP (/dev/mapper/$DEV) and WRITE_RATE (writes per second of the writer).

# The check helpers are run through check() ("$@"), which shellcheck
# cannot follow:
# shellcheck disable=SC2317,SC2154

# verdict RC DESC [OUTPUT_FILE...]: one TAP line; on failure show the files.
verdict() {
	local rc=$1 desc=$2 f
	shift 2
	if [ "$rc" = 0 ]; then
		tap_ok "$desc"
		return 0
	fi
	tap_fail "$desc"
	failures=$((failures + 1))
	for f in "$@"; do
		[ -s "$f" ] || continue
		tap_diag "--- $(basename "$f"):"
		tail -n 25 "$f" | while IFS= read -r l; do tap_diag "  $l"; done
	done
	return 1
}

# check DESC CMD...: run CMD (output to $work/cmd.out); one TAP line.
check() {
	local desc=$1
	shift
	"$@" > "$work/cmd.out" 2>&1
	verdict $? "$desc" "$work/cmd.out"
}

# newloop NAME MIB: loop device over a tmpfs file, in $REPLY.
newloop() {
	truncate -s "${2}M" "$work/$1.img" &&
		REPLY=$(losetup -f --show "$work/$1.img") &&
		loops+=("$REPLY")
}

# snapshot: read the status of $DEV once, through libsvmotion (which parses
# and validates every svmotion line), into SNAP (one line per segment:
# "start=... len=... region_sectors=... copied=... total=... copying=...
# held=... mirrored=... dst_errors=... expired_locks=... revoked_locks=...
# state=...").  Status checks read the snapshot: no process per field.
SNAP=()
snapshot() {
	mapfile -t SNAP < <("$CTL" status "$DEV" 2>&1)
}

# seg_field N KEY: field KEY of segment N (1-based) in the snapshot.
seg_field() {
	local line=" ${SNAP[$1 - 1]:-} " v
	v=${line#* "$2"=}
	[ "$v" != "$line" ] && echo "${v%% *}"
}

# synced N...: in the snapshot, each segment N is synced, every region
# copied, none COPYING, no destination error.
synced() {
	local n
	printf '%s\n' "${SNAP[@]}"
	for n in "$@"; do
		[ "$(seg_field "$n" state)" = synced ] &&
			[ "$(seg_field "$n" copied)" = "$(seg_field "$n" total)" ] &&
			[ "$(seg_field "$n" copying)" = 0 ] &&
			[ "$(seg_field "$n" dst_errors)" = 0 ] || return 1
	done
}

# start_writer SEED STATE: stampwrite through the device, in the background.
start_writer() {
	"$SW" write --dev "$MAP" --state "$2" --seed "$1" --qd 8 --dsync 10 \
		--rate "$WRITE_RATE" --odirect > "$work/writer.out" 2>&1 &
	writer=$!
	sleep 0.5	# let writes be in flight before the first lock
}

# stop_writer: SIGTERM, wait (at most 60 s); true if it exited 0 having
# written something and reported no error.
stop_writer() {
	local i rc writes
	kill -0 "$writer" 2>/dev/null || echo "writer exited before SIGTERM"
	kill -TERM "$writer" 2>/dev/null
	for ((i = 0; i < 600; i++)); do
		kill -0 "$writer" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$writer" 2>/dev/null; then
		echo "writer still running 60 s after SIGTERM"
		kill -KILL "$writer"
	fi
	wait "$writer"
	rc=$?
	writer=
	cat "$work/writer.out"
	writes=$(sed -n 's/.*: \([0-9]*\) writes (.*/\1/p' "$work/writer.out")
	[ "$rc" = 0 ] && grep -q 'no errors$' "$work/writer.out" &&
		[ "${writes:-0}" -gt 0 ]
}

# verify PATH STATE: stampwrite verify, 0 mismatches.
verify() {
	local out rc
	out=$(timeout 120 "$SW" verify --dev "$1" --state "$2" 2>&1)
	rc=$?
	echo "$out"
	[ "$rc" = 0 ] && grep -q '^mismatches: 0$' <<<"$out"
}

# switch_dmsetup SECTORS DST: the documented switchover of $DEV with dmsetup:
# suspend, load linear on DST, resume.
switch_dmsetup() {
	dmsetup suspend "$DEV" &&
		dmsetup load "$DEV" --table "0 $1 linear $2 0" &&
		dmsetup resume "$DEV" &&
		dmsetup table "$DEV" | grep "^0 $1 linear "
}

# stop_and_switch NAME SECTORS SRC DST STATE: four checks at the end of a
# live copy: the writer stops cleanly, SRC holds every acknowledged write,
# $DEV switches over to linear on DST, and every block read through $MAP
# holds its last acknowledged write.
stop_and_switch() {
	local name=$1 sectors=$2 src=$3 dst=$4 state=$5

	check "$name: writer stopped by SIGTERM: exit 0, no write error" stop_writer
	check "$name: source holds every acknowledged write" verify "$src" "$state"
	check "$name: switch over to linear on $dst" \
		switch_dmsetup "$sectors" "$dst"
	check "$name: every block read through $MAP holds its last acknowledged write" \
		verify "$MAP" "$state"
}
