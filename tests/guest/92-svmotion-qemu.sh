#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/guest/92-svmotion-qemu.sh - svmotion migrate with a real QEMU
# (TCG, -machine none) holding the disk open, and the hypervisor handoffs
# (guest test).
# timeout: 600
#
#   qemu-qmp     QEMU opens /dev/mapper/svm-q1 (cache=none); detach is
#                refused while it does; migrate --handoff qmp:SOCK --json
#                while QEMU writes through the disk (qemu-io over HMP, one
#                region already copied, one not yet); QEMU runs during the
#                copy, is stopped exactly once, around the switchover (its
#                STOP/RESUME events, on a second QMP monitor), and runs
#                after; it reads its writes back; the destination holds the
#                data and QEMU's writes
#   qemu-none    a second migration of the same running QEMU disk with
#                --handoff none (the dm suspend alone holds the I/O), QEMU
#                reads back; after QEMU quits, detach succeeds
#   exec-fail    --handoff exec:CMD whose pause fails: rolled back (exit 1,
#                source table, no destination); whose resume fails: exit 6,
#                the disk is on its destination
#
# A small Python helper (svmotion-qmp.py, standard library only) talks QMP:
# the guest has no socat.

# shellcheck disable=SC2317,SC2016 # functions run via check; jq programs
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"

work=$(mktemp -d "${SVM_TEST_TMPDIR:-/tmp}/svm92.XXXXXX")
failures=0
loops=()
qemu=
evpid=

# shellcheck source-path=SCRIPTDIR source=lib-live.sh
. "$here/lib-live.sh"
# shellcheck source-path=SCRIPTDIR source=lib-svmotion.sh
. "$here/lib-svmotion.sh"

PY=/usr/bin/python3
qmp() { "$PY" "$QMPPY" "$@"; }

stop_qemu() {
	local i
	[ -n "$evpid" ] && kill "$evpid" 2>/dev/null && wait "$evpid" 2>/dev/null
	evpid=
	[ -n "$qemu" ] || return 0
	qmp quit "$work/cmd.sock" > /dev/null 2>&1
	for ((i = 0; i < 100; i++)); do
		kill -0 "$qemu" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$qemu" 2>/dev/null
	wait "$qemu" 2>/dev/null
	qemu=
}

cleanup() {
	stop_qemu
	svm_cleanup
}
trap 'cleanup; rm -rf "$work"' EXIT

ds0=$work/ds0 ds1=$work/ds1 ds2=$work/ds2
mkdir -p "$ds0" "$ds1" "$ds2"

# pattern FILE BYTE_OCTAL: 64 KiB of one byte.
pattern() {
	head -c 65536 /dev/zero | tr '\0' "\\$2" > "$1"
}

# start_qemu NAME: QEMU with the disk as drive d0 and three QMP monitors:
# svm.sock (svmotion's handoff), ev.sock (the event listener), cmd.sock
# (the test's commands).
start_qemu() {
	qemu-system-x86_64 -machine none -nodefaults -display none \
		-drive "if=none,id=d0,file=/dev/mapper/svm-$1,format=raw,cache=none" \
		-qmp "unix:$work/svm.sock,server=on,wait=off" \
		-qmp "unix:$work/ev.sock,server=on,wait=off" \
		-qmp "unix:$work/cmd.sock,server=on,wait=off" \
		> "$work/qemu.out" 2>&1 < /dev/null &
	qemu=$!
	qmp status "$work/cmd.sock" | grep -x running || {
		cat "$work/qemu.out"
		return 1
	}
}

# start_events: the event listener, its lines in $work/ev.log.
start_events() {
	local i
	qmp events "$work/ev.sock" > "$work/ev.log" 2>&1 &
	evpid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q ready "$work/ev.log" && return 0
		sleep 0.1
	done
	cat "$work/ev.log"
	return 1
}

# hmp_io 'qemu-io command': run it in QEMU; the output lands in QEMU's
# stdout ($work/qemu.out).
hmp_io() {
	qmp hmp "$work/cmd.sock" "qemu-io d0 \"$1\""
}

# qemu_said TEXT: QEMU's stdout has TEXT and no failed pattern check.
qemu_said() {
	cat "$work/qemu.out"
	grep -qF "$1" "$work/qemu.out" &&
		! grep -q 'Pattern verification failed' "$work/qemu.out"
}

both_read() {
	qemu_said 'read 65536/65536 bytes at offset 1048576' &&
		qemu_said 'read 65536/65536 bytes at offset 31457280'
}

# paused_around_switch T_WRITES STUN_MS: exactly one STOP then one RESUME,
# the STOP after T_WRITES (QEMU ran during the copy and our writes), the
# pause no longer than the stun time + 1 s.
paused_around_switch() {
	local stop resume
	cat "$work/ev.log"
	[ "$(grep -c ' STOP$' "$work/ev.log")" = 1 ] &&
		[ "$(grep -c ' RESUME$' "$work/ev.log")" = 1 ] || return 1
	stop=$(awk '$2 == "STOP" {print $1}' "$work/ev.log")
	resume=$(awk '$2 == "RESUME" {print $1}' "$work/ev.log")
	echo "writes done at $1, STOP at $stop, RESUME at $resume, stun $2 ms"
	awk -v w="$1" -v s="$stop" -v r="$resume" -v stun="$2" \
		'BEGIN { exit !(s > w && r >= s && (r - s) * 1000 <= stun + 1000) }'
}

# --- QEMU, QMP handoff -------------------------------------------------------------

qemu_qmp() {
	local pid rc t_writes stun
	tap_diag "[${SECONDS}s] qemu-qmp"
	randfile "$ds0/q1.img" 32
	cp "$ds0/q1.img" "$work/q1.exp"
	pattern "$work/p5a" 132
	pattern "$work/pa5" 245
	dd if="$work/p5a" of="$work/q1.exp" bs=64k seek=16 conv=notrunc status=none
	dd if="$work/pa5" of="$work/q1.exp" bs=64k seek=480 conv=notrunc status=none
	svm attach "$ds0/q1.img"
	expect 0 "attach q1" "/dev/mapper/svm-q1"
	check "QEMU (TCG, -machine none) opens /dev/mapper/svm-q1 and runs" start_qemu q1
	check "QEMU's event listener connected" start_events
	svm detach q1
	expect 3 "detach refused while QEMU holds the device open" "is open"
	"$SVM" migrate q1 --to "$ds1" --rate 1M --handoff "qmp:$work/svm.sock" --json \
		> "$work/m.out" 2> "$work/m.err" &
	pid=$!
	bgpids+=("$pid")
	check "migrate --handoff qmp:SOCK --rate 1M: copying" wait_phase q1 copying 30
	check "QEMU writes 64 KiB of 0x5a at 1 MiB during the copy" hmp_io "write -P 0x5a 1M 64k"
	check "QEMU writes 64 KiB of 0xa5 at 30 MiB during the copy" hmp_io "write -P 0xa5 30M 64k"
	t_writes=$(date +%s.%N)
	check "QEMU reports both writes done" \
		sh -c "grep -q 'wrote 65536/65536 bytes at offset 1048576' '$work/qemu.out' && grep -q 'wrote 65536/65536 bytes at offset 31457280' '$work/qemu.out' || { cat '$work/qemu.out'; false; }"
	check "QEMU is running during the copy" \
		sh -c "'$PY' '$QMPPY' status '$work/cmd.sock' | grep -x running"
	check "q1 was still copying after QEMU's writes" \
		sh -c "'$SVM' status --json | tee /dev/stderr | jq -e '.[] | select(.disk == \"q1\" and .state == \"copying\")'"
	wait "$pid"
	rc=$?
	check "migrate exited 0" sh -c "cat '$work/m.err'; test $rc = 0"
	check "--json: every stdout line is a JSON object" json_lines "$work/m.out"
	check "--json: a switchover event, handoff qmp, with stun_ms" \
		has_event "$work/m.out" '.event == "switchover" and (.handoff | startswith("qmp:")) and (.stun_ms | type) == "number"'
	stun=$(jq -s -r 'map(select(.event == "switchover"))[0].stun_ms // 0' "$work/m.out")
	check "QEMU runs after the migration (query-status)" \
		sh -c "'$PY' '$QMPPY' status '$work/cmd.sock' | grep -x running"
	sleep 0.3	# let the listener print RESUME
	check "QEMU was paused once, only around the switchover (STOP/RESUME events, stun ${stun} ms)" \
		paused_around_switch "$t_writes" "$stun"
	check "svm-q1 is linear on $ds1/q1.img" maps_to q1 "linear $ds1/q1.img"
	check "QEMU reads back 0x5a at 1 MiB through the switched disk" hmp_io "read -P 0x5a 1M 64k"
	check "QEMU reads back 0xa5 at 30 MiB" hmp_io "read -P 0xa5 30M 64k"
	check "QEMU: read 65536/65536 bytes at both offsets, no pattern failure" \
		both_read
	check "the destination holds the data and QEMU's two writes" cmp "$ds1/q1.img" "$work/q1.exp"
	check "the source has QEMU's writes too (mirrored or copied from it)" \
		sh -c "dd if='$ds0/q1.img' bs=64k skip=16 count=1 status=none | cmp - '$work/p5a' && dd if='$ds0/q1.img' bs=64k skip=480 count=1 status=none | cmp - '$work/pa5'"
	svm detach q1
	expect 3 "detach still refused while QEMU holds the migrated device" "is open"
}

# --- QEMU, no handoff ---------------------------------------------------------------

qemu_none() {
	local pid rc
	tap_diag "[${SECONDS}s] qemu-none"
	"$SVM" migrate q1 --to "$ds2" --rate 8M > "$work/m.out" 2>&1 &
	pid=$!
	bgpids+=("$pid")
	check "migrate --handoff none (default) of QEMU's disk: copying" wait_phase q1 copying 30
	check "QEMU writes 64 KiB of 0xa5 at 1 MiB during the copy" hmp_io "write -P 0xa5 1M 64k"
	wait "$pid"
	rc=$?
	check "migrate exited 0, one pause" \
		sh -c "cat '$work/m.out'; test $rc = 0 && grep -q 'switched over 1 disk in one pause' '$work/m.out'"
	dd if="$work/pa5" of="$work/q1.exp" bs=64k seek=16 conv=notrunc status=none
	check "QEMU runs (no handoff: never stopped)" \
		sh -c "'$PY' '$QMPPY' status '$work/cmd.sock' | grep -x running"
	check "QEMU reads back 0xa5 at 1 MiB" hmp_io "read -P 0xa5 1M 64k"
	check "QEMU: the read matched" \
		sh -c "grep -c 'read 65536/65536 bytes at offset 1048576' '$work/qemu.out' | grep -qx 2 && ! grep -q 'Pattern verification failed' '$work/qemu.out' || { cat '$work/qemu.out'; false; }"
	check "the destination $ds2/q1.img holds the data and QEMU's writes" \
		cmp "$ds2/q1.img" "$work/q1.exp"
	stop_qemu
	svm detach q1
	expect 0 "detach once QEMU has quit"
}

# --- exec handoff failures ------------------------------------------------------------

exec_fail() {
	tap_diag "[${SECONDS}s] exec-fail"
	randfile "$ds0/e1.img" 16
	cp "$ds0/e1.img" "$work/e1.exp"
	printf '#!/bin/sh\n[ "$1" != %s ]\n' pause > "$work/nopause"
	printf '#!/bin/sh\n[ "$1" != %s ]\n' resume > "$work/noresume"
	chmod +x "$work/nopause" "$work/noresume"
	svm attach "$ds0/e1.img"
	expect 0 "attach e1"
	svm migrate e1 --to "$ds1" --handoff "exec:$work/nopause"
	expect 1 "a handoff whose pause fails: exit 1, rolled back" "back on its source"
	check "e1: linear on its source, destination removed, data intact" \
		sh -c "test ! -e '$ds1/e1.img' && cmp /dev/mapper/svm-e1 '$work/e1.exp' && test \"\$(dmsetup table svm-e1 | cut -d' ' -f3)\" = linear"
	check "e1: back on $ds0/e1.img" maps_to e1 "linear $ds0/e1.img"
	svm migrate e1 --to "$ds1" --handoff "exec:$work/noresume"
	expect 6 "a handoff whose resume fails: exit 6" "did not resume"
	check "e1: switched over to $ds1/e1.img all the same" maps_to e1 "linear $ds1/e1.img"
	check "e1: data intact on the destination and the device" \
		sh -c "cmp '$ds1/e1.img' '$work/e1.exp' && cmp /dev/mapper/svm-e1 '$work/e1.exp'"
	svm status
	expect 0 "status: no migration left in progress" "no migration in progress"
}

tap_plan 38
qemu_qmp
qemu_none
exec_fail
cleanup
tap_done
