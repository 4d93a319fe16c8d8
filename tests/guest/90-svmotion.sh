#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/guest/90-svmotion.sh - the svmotion command end to end (issue 4):
# attach, list, migrate with each of its flags, status, abort, the
# concurrency limit, a destination without room, and a live migration under
# the stamped writer (guest test).
# timeout: 900
#
# Datastores are directories on the guest's tmpfs ($work/ds0 .. ds3, sparse
# files and fallocate work there) and, for "no room", a small tmpfs mount.
#   raw-thick-eager  a sparse raw image: attach, list, migrate --format
#                    thick-eager --mover fast --json (every line is JSON:
#                    progress, switchover with stun_ms, done); allocated size,
#                    data, table
#   desc-thin        a thick descriptor disk: migrate --format thin --mover
#                    buffered --delete-source; allocated size, source removed,
#                    descriptor rewritten
#   lazy-exec        --format thick-lazy --handoff exec:CMD (pause, resume)
#   split3           --to DS:SIZE,DS:SIZE,DS over three datastores: byte for
#                    byte, and read back by qemu-img compare through the
#                    rewritten descriptor
#   two-disks        --place: two disks switched in one pause
#   abort            status/list during a copy, detach and a second migrate
#                    refused, abort from another process (exit 4), abort
#                    after kill -9 (orphaned), --rate
#   slots            two rate-limited migrations run; a third waits in line,
#                    or with --no-wait exits 3
#   no-room          a full datastore: refused before any change
#   xcopy            --mover xcopy on loop-backed files: refused or falls back
#                    with a clear message
#   stamped          stampwrite through the device during the migration:
#                    every block holds its last acknowledged write on the
#                    device and on the destination

# shellcheck disable=SC2317,SC2016 # functions run via check; jq programs in single quotes
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"

SW=$repo/tests/tools/stampwrite
CTL=$repo/tests/tools/svm-dmctl
DEV=
MAP=
WRITE_RATE=${SVM_WRITE_RATE:-500}

work=$(mktemp -d "${SVM_TEST_TMPDIR:-/tmp}/svm90.XXXXXX")
loops=()
writer=
failures=0

# shellcheck source-path=SCRIPTDIR source=lib-live.sh
. "$here/lib-live.sh"
# shellcheck source-path=SCRIPTDIR source=lib-svmotion.sh
. "$here/lib-svmotion.sh"

small=$work/small
cleanup() {
	if [ -n "$writer" ]; then
		kill -KILL "$writer" 2>/dev/null
		wait "$writer" 2>/dev/null
	fi
	svm_cleanup
	mountpoint -q "$small" && umount "$small"
}
trap 'cleanup; rm -rf "$work"' EXIT

ds0=$work/ds0 ds1=$work/ds1 ds2=$work/ds2 ds3=$work/ds3
mkdir -p "$ds0" "$ds1" "$ds2" "$ds3" "$work/exp"

# --- attach, list, migrate a raw image thin -> thick-eager, --json ---------------

raw_thick_eager() {
	tap_diag "[${SECONDS}s] raw-thick-eager"
	sparsefile "$ds0/vm1.img" 32 8 4
	cp --sparse=always "$ds0/vm1.img" "$work/exp/vm1"
	svm attach "$ds0/vm1.img"
	expect 0 "attach a raw image: prints /dev/mapper/svm-vm1" "/dev/mapper/svm-vm1"
	check "vm1: svm-vm1 is linear on the image" maps_to vm1 "linear $ds0/vm1.img"
	svm list
	expect 0 "list shows vm1 attached" "attached"
	check "list --json: vm1, state attached, 32 MiB" \
		sh -c "'$SVM' list --json | jq -e '.[] | select(.name == \"vm1\" and .state == \"attached\" and .size == 33554432)'"
	check "vm1: the source is sparse ($(allocated "$ds0/vm1.img") bytes allocated)" \
		test "$(allocated "$ds0/vm1.img")" -lt $((32 << 20))
	svm migrate vm1 --to "$ds1" --format thick-eager --mover fast --json
	expect 0 "migrate vm1 --format thick-eager --mover fast --json: exit 0"
	check "--json: every stdout line is a JSON object" json_lines "$work/svm.out"
	check "--json: a progress event for vm1" \
		has_event "$work/svm.out" '.event == "progress" and .disk == "vm1" and .bytes_total == 33554432 and (.bytes_done | type) == "number"'
	check "--json: a switchover event with a numeric stun_ms" \
		has_event "$work/svm.out" '.event == "switchover" and (.stun_ms | type) == "number" and .disks == ["vm1"]'
	check "--json: a done event with the new path" \
		has_event "$work/svm.out" ".event == \"done\" and .disk == \"vm1\" and .path == \"$ds1/vm1.img\""
	check "--json: copied by mover fast through the loop devices (no O_DIRECT on the files)" \
		has_event "$work/svm.out" '.event == "copied" and .disk == "vm1" and .mode == "fast" and .extents_via_files == 0 and .bytes_copied + .bytes_skipped == 33554432'
	check "vm1: svm-vm1 is linear on $ds1/vm1.img (a raw image keeps its name)" \
		maps_to vm1 "linear $ds1/vm1.img"
	check "vm1: destination holds the data" cmp "$ds1/vm1.img" "$work/exp/vm1"
	check "vm1: thick-eager destination fully allocated ($(allocated "$ds1/vm1.img") bytes)" \
		test "$(allocated "$ds1/vm1.img")" -ge $((32 << 20))
	check "vm1: the device reads the data" cmp /dev/mapper/svm-vm1 "$work/exp/vm1"
	check "vm1: the source stays without --delete-source" cmp "$ds0/vm1.img" "$work/exp/vm1"
	check "list --json: vm1's disk is now $ds1/vm1.img" \
		sh -c "'$SVM' list --json | jq -e --arg p '$ds1/vm1.img' '.[] | select(.name == \"vm1\" and .disk == \$p and .state == \"attached\")'"
	svm detach vm1
	expect 0 "detach vm1"
	check "vm1: device gone, no loop device left on its files" \
		sh -c "! dmsetup info svm-vm1 >/dev/null 2>&1 && ! losetup -a | grep -F '$work/ds'"
}

# --- a thick descriptor disk -> thin, buffered, --delete-source -----------------

desc_thin() {
	tap_diag "[${SECONDS}s] desc-thin"
	fallocate -l 32M "$ds0/vm2-flat.vmdk"
	dd if=/dev/urandom of="$ds0/vm2-flat.vmdk" bs=1M count=4 conv=notrunc status=none
	cp "$ds0/vm2-flat.vmdk" "$work/exp/vm2"
	mkdesc "$ds0/vm2.vmdk" 'RW 65536 FLAT "vm2-flat.vmdk" 0'
	svm attach "$ds0/vm2.vmdk"
	expect 0 "attach a descriptor: /dev/mapper/svm-vm2" "/dev/mapper/svm-vm2"
	svm migrate "$ds0/vm2.vmdk" --to "$ds2" --format thin --mover buffered --delete-source
	expect 0 "migrate vm2 --format thin --mover buffered --delete-source: one pause" \
		"switched over 1 disk in one pause"
	check "vm2: destination $ds2/vm2-flat.vmdk holds the data" \
		cmp "$ds2/vm2-flat.vmdk" "$work/exp/vm2"
	check "vm2: thin destination: only the 4 MiB of data allocated ($(allocated "$ds2/vm2-flat.vmdk" 2>/dev/null) bytes)" \
		test "$(allocated "$ds2/vm2-flat.vmdk")" -le $((8 << 20))
	check "vm2: --delete-source removed the source extent" test ! -e "$ds0/vm2-flat.vmdk"
	check "vm2: descriptor rewritten in place: one extent on $ds2/vm2-flat.vmdk" \
		sh -c "grep -c '^RW ' '$ds0/vm2.vmdk' | grep -qx 1 && grep -F 'RW 65536 FLAT \"$ds2/vm2-flat.vmdk\" 0' '$ds0/vm2.vmdk' || { cat '$ds0/vm2.vmdk'; false; }"
	check "vm2: svm-vm2 is linear on $ds2/vm2-flat.vmdk" \
		maps_to vm2 "linear $ds2/vm2-flat.vmdk"
	check "vm2: the device reads the data" cmp /dev/mapper/svm-vm2 "$work/exp/vm2"
}

# --- thick-lazy and the exec handoff -------------------------------------------------

lazy_exec() {
	tap_diag "[${SECONDS}s] lazy-exec"
	sparsefile "$ds0/vm3.img" 16 2 2
	cp --sparse=always "$ds0/vm3.img" "$work/exp/vm3"
	cat > "$work/hv" <<EOF
#!/bin/sh
echo "\$1 \$(dmsetup info -c --noheadings -o suspended svm-vm3) \$(dmsetup table svm-vm3 | cut -d' ' -f3)" >> "$work/hv.log"
EOF
	chmod +x "$work/hv"
	svm attach "$ds0/vm3.img"
	expect 0 "attach vm3"
	svm migrate vm3 --to "$ds3" --format thick-lazy --handoff "exec:$work/hv"
	expect 0 "migrate vm3 --format thick-lazy --handoff exec:CMD" "switched over 1 disk in one pause"
	check "vm3: 'CMD pause' ran on the live svmotion table, then 'CMD resume' on the live linear one" \
		sh -c "cat '$work/hv.log'; test \"\$(cat '$work/hv.log')\" = 'pause Active svmotion
resume Active linear'"
	check "vm3: thick-lazy destination fully allocated ($(allocated "$ds3/vm3.img") bytes)" \
		test "$(allocated "$ds3/vm3.img")" -ge $((16 << 20))
	check "vm3: destination holds the data" cmp "$ds3/vm3.img" "$work/exp/vm3"
	check "vm3: svm-vm3 linear on $ds3/vm3.img" maps_to vm3 "linear $ds3/vm3.img"
}

# --- split over three datastores -------------------------------------------------------

split3() {
	tap_diag "[${SECONDS}s] split3"
	randfile "$ds0/vm4-flat.vmdk" 48
	cp "$ds0/vm4-flat.vmdk" "$work/exp/vm4"
	mkdesc "$ds0/vm4.vmdk" 'RW 98304 FLAT "vm4-flat.vmdk" 0'
	svm attach "$ds0/vm4.vmdk"
	expect 0 "attach vm4 (48 MiB)"
	svm migrate vm4 --to "$ds1:16M,$ds2:8M,$ds3"
	expect 0 "migrate vm4 --to DS1:16M,DS2:8M,DS3" "switched over 1 disk in one pause"
	check "vm4: three extents of 16, 8 and 24 MiB" \
		sh -c "stat -c '%n %s' '$ds1/vm4-s001-flat.vmdk' '$ds2/vm4-s002-flat.vmdk' '$ds3/vm4-s003-flat.vmdk' &&
			test \$(stat -c %s '$ds1/vm4-s001-flat.vmdk') = $((16 << 20)) &&
			test \$(stat -c %s '$ds2/vm4-s002-flat.vmdk') = $((8 << 20)) &&
			test \$(stat -c %s '$ds3/vm4-s003-flat.vmdk') = $((24 << 20))"
	check "vm4: the three extents end to end equal the source byte for byte" \
		sh -c "cat '$ds1/vm4-s001-flat.vmdk' '$ds2/vm4-s002-flat.vmdk' '$ds3/vm4-s003-flat.vmdk' | cmp - '$work/exp/vm4'"
	check "vm4: the descriptor has three extent lines" \
		sh -c "cat '$ds0/vm4.vmdk'; test \$(grep -c '^RW ' '$ds0/vm4.vmdk') = 3"
	check "vm4: qemu-img compare reads the rewritten descriptor as the source" \
		qemu-img compare -f vmdk -F raw "$ds0/vm4.vmdk" "$work/exp/vm4"
	check "vm4: svm-vm4 is linear on the three extents" maps_to vm4 \
		"linear $ds1/vm4-s001-flat.vmdk" "linear $ds2/vm4-s002-flat.vmdk" \
		"linear $ds3/vm4-s003-flat.vmdk"
	check "vm4: the device reads the data" cmp /dev/mapper/svm-vm4 "$work/exp/vm4"
}

# --- two disks in one pause --------------------------------------------------------

two_disks() {
	tap_diag "[${SECONDS}s] two-disks"
	randfile "$ds0/vm5a.img" 16
	randfile "$ds0/vm5b-flat.vmdk" 16
	cp "$ds0/vm5a.img" "$work/exp/vm5a"
	cp "$ds0/vm5b-flat.vmdk" "$work/exp/vm5b"
	mkdesc "$ds0/vm5b.vmdk" 'RW 32768 FLAT "vm5b-flat.vmdk" 0'
	svm attach "$ds0/vm5a.img"
	expect 0 "attach vm5a (raw)"
	svm attach "$ds0/vm5b.vmdk"
	expect 0 "attach vm5b (descriptor)"
	printf '#!/bin/sh\necho "$1" >> "%s"\n' "$work/hv2.log" > "$work/hv2"
	chmod +x "$work/hv2"
	svm migrate vm5a vm5b --to "$ds1" --place "vm5b=$ds2" --handoff "exec:$work/hv2"
	expect 0 "migrate vm5a vm5b --place vm5b=DS2: switched over 2 disks in one pause" \
		"switched over 2 disks in one pause"
	check "two disks: the hypervisor was paused once and resumed once" \
		sh -c "cat '$work/hv2.log'; test \"\$(cat '$work/hv2.log')\" = 'pause
resume'"
	check "vm5a: on $ds1, data intact" \
		sh -c "cmp '$ds1/vm5a.img' '$work/exp/vm5a' && cmp /dev/mapper/svm-vm5a '$work/exp/vm5a'"
	check "vm5b: on $ds2 (--place), data intact" \
		sh -c "cmp '$ds2/vm5b-flat.vmdk' '$work/exp/vm5b' && cmp /dev/mapper/svm-vm5b '$work/exp/vm5b'"
	check "vm5a: svm-vm5a linear on $ds1/vm5a.img" maps_to vm5a "linear $ds1/vm5a.img"
	check "vm5b: svm-vm5b linear on $ds2/vm5b-flat.vmdk" \
		maps_to vm5b "linear $ds2/vm5b-flat.vmdk"
}

# --- status, refusals during a copy, abort, kill -9, --rate --------------------------

abort_case() {
	local pid rc t0 t1
	tap_diag "[${SECONDS}s] abort"
	randfile "$ds0/vm6.img" 32
	cp "$ds0/vm6.img" "$work/exp/vm6"
	svm attach "$ds0/vm6.img"
	expect 0 "attach vm6"
	"$SVM" migrate vm6 --to "$ds1" --rate 2M > "$work/m6.out" 2> "$work/m6.err" &
	pid=$!
	bgpids+=("$pid")
	check "vm6: migrate --rate 2M reaches state copying" wait_phase vm6 copying 30
	"$SVM" status --json > "$work/st.json" 2>&1
	check "status --json: vm6 copying, 8 regions in total, fewer copied, destination listed" \
		jq -e --arg d "$ds1/vm6.img" '.[] | select(.disk == "vm6" and .state == "copying" and .regions_total == 8 and .regions_copied < 8 and .destinations == [$d])' "$work/st.json"
	svm status
	expect 0 "status (text): vm6 copying" "copying"
	check "list --json: vm6 in state copying" \
		sh -c "'$SVM' list --json | jq -e '.[] | select(.name == \"vm6\" and .state == \"copying\")'"
	check "vm6: its table is svmotion during the copy" \
		sh -c "dmsetup table svm-vm6 | grep ' svmotion '"
	svm detach vm6
	expect 3 "detach refused while a migration runs" "migration is in progress"
	svm migrate vm6 --to "$ds2"
	expect 3 "a second migrate of vm6 refused" "being migrated already"
	svm abort vm6
	expect 0 "abort vm6 from another process: exit 0"
	wait "$pid"
	rc=$?
	check "vm6: migrate exited 4 (aborted)" \
		sh -c "cat '$work/m6.err'; test $rc = 4"
	check "vm6: back on linear(source)" maps_to vm6 "linear $ds0/vm6.img"
	check "vm6: the destination file was removed" test ! -e "$ds1/vm6.img"
	check "vm6: source and device hold the data" \
		sh -c "cmp '$ds0/vm6.img' '$work/exp/vm6' && cmp /dev/mapper/svm-vm6 '$work/exp/vm6'"
	svm status
	expect 0 "status: no migration in progress" "no migration in progress"

	"$SVM" migrate vm6 --to "$ds1" --rate 2M > "$work/m6.out" 2> "$work/m6.err" &
	pid=$!
	bgpids+=("$pid")
	check "vm6: migrate again, reaches copying" wait_phase vm6 copying 30
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	svm status
	expect 0 "after kill -9 of migrate, status says orphaned" "orphaned"
	check "vm6: the device still works (svmotion table, readable)" \
		sh -c "dmsetup table svm-vm6 | grep -q ' svmotion ' && cmp /dev/mapper/svm-vm6 '$work/exp/vm6'"
	svm abort vm6
	expect 0 "abort of the orphaned migration: exit 0"
	check "vm6: back on linear(source)" maps_to vm6 "linear $ds0/vm6.img"
	check "vm6: the destination file was removed" test ! -e "$ds1/vm6.img"
	check "vm6: data intact, list shows attached" \
		sh -c "cmp /dev/mapper/svm-vm6 '$work/exp/vm6' && '$SVM' list --json | jq -e '.[] | select(.name == \"vm6\" and .state == \"attached\")'"

	"$SVM" migrate vm6 --to "$ds1" --rate 2M > "$work/m6.out" 2> "$work/m6.err" &
	pid=$!
	bgpids+=("$pid")
	check "vm6: migrate again, reaches copying" wait_phase vm6 copying 30
	kill -INT "$pid"
	wait "$pid"
	rc=$?
	check "vm6: SIGINT: migrate exits 4, rolled back" \
		sh -c "cat '$work/m6.err'; test $rc = 4 && grep -q 'back on its source' '$work/m6.err'"
	check "vm6: after SIGINT: linear(source), destination removed, data intact" \
		sh -c "test ! -e '$ds1/vm6.img' && cmp /dev/mapper/svm-vm6 '$work/exp/vm6' && test \"\$(dmsetup table svm-vm6 | cut -d' ' -f3)\" = linear"

	t0=$SECONDS
	svm migrate vm6 --to "$ds1" --rate 8M
	t1=$SECONDS
	expect 0 "migrate vm6 --rate 8M completes"
	check "vm6: --rate 8M: 32 MiB took at least 3 s ($((t1 - t0)) s)" test $((t1 - t0)) -ge 3
	check "vm6: on $ds1, data intact" \
		sh -c "cmp '$ds1/vm6.img' '$work/exp/vm6' && cmp /dev/mapper/svm-vm6 '$work/exp/vm6'"
}

# waits_in_line OUT PID: OUT says "waiting in line" within 10 s while PID
# runs, its disk vm7c is untouched and the two others still copy.
waits_in_line() {
	local i
	for ((i = 0; i < 50; i++)); do
		grep -q 'waiting in line' "$1" && break
		sleep 0.2
	done
	cat "$1"
	grep -q 'waiting in line' "$1" && kill -0 "$2" &&
		dmsetup table svm-vm7c | grep ' linear ' &&
		"$SVM" status --json | jq -e '[.[] | select(.state == "copying") | .disk] == ["vm7a", "vm7b"]'
}

# term_waiting PID OUT: PID (a migrate of vm7c) says "waiting in line";
# SIGTERM ends it within 3 s with exit 4 (aborted), vm7c untouched.
term_waiting() {
	local i rc
	for ((i = 0; i < 50; i++)); do
		grep -q 'waiting in line' "$2" && break
		sleep 0.2
	done
	kill -TERM "$1"
	for ((i = 0; i < 15; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$1" 2>/dev/null; then
		echo "still running 3 s after SIGTERM:"
		cat "$2"
		"$SVM" status
		kill -KILL "$1"
		wait "$1"
		return 1
	fi
	wait "$1"
	rc=$?
	cat "$2"
	echo "exit status $rc"
	[ "$rc" = 4 ] && test ! -e "$ds3/vm7c.img" &&
		dmsetup table svm-vm7c | grep ' linear '
}

both_copying() {
	wait_phase "$1" copying 30 && wait_phase "$2" copying 30
}

# --- the concurrency limit -------------------------------------------------------------

slots_case() {
	local a b c rca rcb rcc i
	tap_diag "[${SECONDS}s] slots"
	for i in a b c; do
		randfile "$ds0/vm7$i.img" 8
		cp "$ds0/vm7$i.img" "$work/exp/vm7$i"
		svm attach "$ds0/vm7$i.img"
		expect 0 "attach vm7$i"
	done
	"$SVM" migrate vm7a --to "$ds1" --rate 256K > "$work/m7a.out" 2>&1 &
	a=$!
	"$SVM" migrate vm7b --to "$ds2" --rate 256K > "$work/m7b.out" 2>&1 &
	b=$!
	bgpids+=("$a" "$b")
	check "two migrations (--rate 256K) copying" both_copying vm7a vm7b
	svm migrate vm7c --to "$ds3" --no-wait
	expect 3 "a third with --no-wait: exit 3" "2 migrations already run on this host"
	"$SVM" migrate vm7c --to "$ds3" > "$work/m7c.out" 2>&1 &
	c=$!
	bgpids+=("$c")
	check "SIGTERM to a migrate waiting in line: it stops within 3 s, exit 4" \
		term_waiting "$c" "$work/m7c.out"
	check "vm7c: nothing created, still linear on its source" \
		sh -c "test ! -e '$ds3/vm7c.img' && dmsetup table svm-vm7c | grep -q ' linear '"
	"$SVM" migrate vm7c --to "$ds3" > "$work/m7c.out" 2>&1 &
	c=$!
	bgpids+=("$c")
	check "a third without --no-wait waits in line (vm7c still linear, vm7a and vm7b copying)" \
		waits_in_line "$work/m7c.out" "$c"
	svm abort vm7a
	expect 0 "abort vm7a: frees a slot"
	svm abort vm7b
	expect 0 "abort vm7b"
	wait "$a"
	rca=$?
	wait "$b"
	rcb=$?
	wait "$c"
	rcc=$?
	check "vm7a and vm7b aborted (exit $rca, $rcb), vm7c completed (exit $rcc)" \
		sh -c "cat '$work/m7a.out' '$work/m7b.out' '$work/m7c.out'; test $rca$rcb$rcc = 440"
	check "the third started once a slot was free; every disk holds its data" \
		sh -c "grep -q 'slot is free' '$work/m7c.out' && cmp /dev/mapper/svm-vm7a '$work/exp/vm7a' && cmp /dev/mapper/svm-vm7b '$work/exp/vm7b' && cmp '$ds3/vm7c.img' '$work/exp/vm7c' && cmp /dev/mapper/svm-vm7c '$work/exp/vm7c'"
}

# --- a destination without room ---------------------------------------------------------

no_room() {
	tap_diag "[${SECONDS}s] no-room"
	mkdir -p "$small"
	check "an 8 MiB tmpfs datastore" mount -t tmpfs -o size=8M tmpfs "$small"
	randfile "$ds0/vm8.img" 16
	svm attach "$ds0/vm8.img"
	expect 0 "attach vm8 (16 MiB)"
	dmsetup table > "$work/t.before"
	svm migrate vm8 --to "$small" --format thick-eager
	expect 3 "migrate to a datastore without room: refused, exit 3" "needed"
	check "no room: table unchanged" sh -c "dmsetup table | diff '$work/t.before' -"
	check "no room: nothing created on the datastore" \
		sh -c "ls -A '$small'; test -z \"\$(ls -A '$small')\""
	check "no room: vm8 still attached, not migrating" \
		sh -c "'$SVM' list --json | jq -e '.[] | select(.name == \"vm8\" and .state == \"attached\")'"
	umount "$small"
	check "a 24 MiB tmpfs datastore" mount -t tmpfs -o size=24M tmpfs "$small"
	randfile "$ds0/vm8b.img" 16
	svm attach "$ds0/vm8b.img"
	expect 0 "attach vm8b (16 MiB)"
	dmsetup table > "$work/t.before"
	svm migrate vm8 vm8b --to "$small" --format thick-eager
	expect 3 "two 16 MiB disks to 24 MiB: each fits, both don't: refused, exit 3" "needed"
	check "no room for both: tables unchanged" sh -c "dmsetup table | diff '$work/t.before' -"
	check "no room for both: nothing created on the datastore" \
		sh -c "ls -A '$small'; test -z \"\$(ls -A '$small')\""
	umount "$small"
}

# --- xcopy on loop devices -----------------------------------------------------------------

xcopy_case() {
	tap_diag "[${SECONDS}s] xcopy"
	svm migrate vm8 --to "$ds1" --mover xcopy
	check "--mover xcopy on loop-backed files: a clear message that xcopy was not used (exit $RC)" \
		sh -c "cat '$work/svm.out' '$work/svm.err'; grep -iE 'xcopy|extended copy|offload' '$work/svm.out' '$work/svm.err' | grep -viE 'copied .* with mover'"
	if [ "$RC" = 0 ]; then
		check "--mover xcopy fell back: vm8 on $ds1, data intact" \
			sh -c "cmp '$ds1/vm8.img' '$ds0/vm8.img' && cmp /dev/mapper/svm-vm8 '$ds0/vm8.img'"
	else
		check "--mover xcopy refused (exit $RC): vm8 still on its source, no destination file" \
			sh -c "test $RC != 2 && test ! -e '$ds1/vm8.img' && dmsetup table svm-vm8 | grep -q ' linear '"
	fi
}

# --- extents: one file twice (in reverse order) and another, odd sizes, split
# across them; a raw image split (gets a descriptor); a block device datastore

extents_case() {
	local blk cwd=$work/cwd
	tap_diag "[${SECONDS}s] extents"
	randfile "$ds0/vm10-a.bin" 8
	randfile "$ds0/vm10-b.bin" 6
	# disk = a[4M, 8M) + b[0, 5M + 512) + a[0, 4M - 1024)
	mkdesc "$ds0/vm10.vmdk" 'RW 8192 FLAT "vm10-a.bin" 8192' \
		'RW 10241 FLAT "vm10-b.bin" 0' 'RW 8190 FLAT "vm10-a.bin" 0'
	{
		dd if="$ds0/vm10-a.bin" bs=512 skip=8192 count=8192 status=none
		dd if="$ds0/vm10-b.bin" bs=512 count=10241 status=none
		dd if="$ds0/vm10-a.bin" bs=512 count=8190 status=none
	} > "$work/exp/vm10"
	svm attach "$ds0/vm10.vmdk"
	expect 0 "attach vm10: three extents, one file twice, odd sizes"
	check "vm10: the device reads the extents end to end" cmp /dev/mapper/svm-vm10 "$work/exp/vm10"
	svm migrate vm10 --to "$ds1:6M,$ds2" --format thin
	expect 0 "migrate vm10 --to DS1:6M,DS2 (pieces cross the source extents)" \
		"switched over 1 disk in one pause"
	check "vm10: the two extents end to end equal the disk" \
		sh -c "cat '$ds1/vm10-s001-flat.vmdk' '$ds2/vm10-s002-flat.vmdk' | cmp - '$work/exp/vm10'"
	check "vm10: qemu-img compare through the rewritten descriptor" \
		qemu-img compare -f vmdk -F raw "$ds0/vm10.vmdk" "$work/exp/vm10"
	check "vm10: the device reads the data" cmp /dev/mapper/svm-vm10 "$work/exp/vm10"

	sparsefile "$ds0/vm11.img" 12 3 3
	cp --sparse=always "$ds0/vm11.img" "$work/exp/vm11"
	svm attach "$ds0/vm11.img"
	expect 0 "attach vm11 (raw)"
	svm migrate vm11 --to "$ds1:4M,$ds2"
	expect 0 "migrate the raw image vm11 split over two datastores"
	check "vm11: now a descriptor, $ds1/vm11.vmdk, that qemu-img reads as the disk" \
		qemu-img compare -f vmdk -F raw "$ds1/vm11.vmdk" "$work/exp/vm11"
	check "vm11: list shows the descriptor as its disk" \
		sh -c "'$SVM' list --json | jq -e --arg p '$ds1/vm11.vmdk' '.[] | select(.name == \"vm11\" and .disk == \$p)'"
	check "vm11: the device reads the data" cmp /dev/mapper/svm-vm11 "$work/exp/vm11"

	truncate -s 20M "$work/blk.img"
	blk=$(losetup -f --show "$work/blk.img")
	mkdir -p "$cwd"
	sparsefile "$ds0/vm12.img" 16 1 2
	cp --sparse=always "$ds0/vm12.img" "$work/exp/vm12"
	svm attach "$ds0/vm12.img"
	expect 0 "attach vm12 (raw)"
	cd "$cwd" || return
	svm migrate vm12 --to "$blk" --format thick-eager
	cd "$repo" || return
	expect 0 "migrate vm12 to a block device datastore ($blk)"
	check "vm12: svm-vm12 is linear on $blk" maps_to vm12 "linear $work/blk.img"
	check "vm12: the block device holds the data" \
		sh -c "head -c $((16 << 20)) '$blk' | cmp - '$work/exp/vm12'"
	check "vm12: nothing written in svmotion's working directory" \
		sh -c "ls -A '$cwd'; test -z \"\$(ls -A '$cwd')\""
	check "vm12: list's disk path reads as the disk" \
		sh -c "p=\$('$SVM' list --json | jq -r '.[] | select(.name == \"vm12\") | .disk'); echo \"disk: \$p\"; test -n \"\$p\" && test -e \"\$p\" && qemu-img compare -F raw \"\$p\" '$work/exp/vm12'"
	svm detach vm12
	expect 0 "detach vm12"
	losetup -d "$blk"
}

# --- live migration under the stamped writer ----------------------------------------------

stamped() {
	local state=$work/vm9.state
	tap_diag "[${SECONDS}s] stamped"
	truncate -s 32M "$ds0/vm9-flat.vmdk"
	mkdesc "$ds0/vm9.vmdk" 'RW 65536 FLAT "vm9-flat.vmdk" 0'
	svm attach "$ds0/vm9.vmdk"
	expect 0 "attach vm9"
	DEV=svm-vm9
	MAP=/dev/mapper/$DEV
	check "vm9: stamped with generation 0 through the device" \
		"$SW" write --dev "$MAP" --blocks 8192 --state "$state" --seed 9 \
		--init --ops 0 --odirect
	start_writer 9 "$state"
	svm migrate vm9 --to "$ds3" --rate 8M --format thick-eager
	expect 0 "migrate vm9 while the writer runs" "switched over 1 disk in one pause"
	check "vm9: copied between the files behind the loop devices (mover buffered)" \
		grep -q "with mover buffered, between the files behind the loop devices" "$work/svm.err"
	check "vm9: the writer was still running after the switchover" kill -0 "$writer"
	check "vm9: writer stopped: exit 0, no write error" stop_writer
	check "vm9: every block read through the device holds its last acknowledged write" \
		verify "$MAP" "$state"
	check "vm9: the destination file holds every acknowledged write" \
		verify "$ds3/vm9-flat.vmdk" "$state"
	check "vm9: svm-vm9 linear on $ds3/vm9-flat.vmdk" maps_to vm9 "linear $ds3/vm9-flat.vmdk"
}

# The same, format thin, mover buffered, split over two datastores.
stamped_split() {
	local state=$work/vm13.state
	tap_diag "[${SECONDS}s] stamped-split"
	truncate -s 24M "$ds0/vm13.img"
	svm attach "$ds0/vm13.img"
	expect 0 "attach vm13 (raw, 24 MiB)"
	DEV=svm-vm13
	MAP=/dev/mapper/$DEV
	check "vm13: stamped with generation 0 through the device" \
		"$SW" write --dev "$MAP" --blocks 6144 --state "$state" --seed 13 \
		--init --ops 0 --odirect
	start_writer 13 "$state"
	svm migrate vm13 --to "$ds1:10M,$ds2" --rate 8M --format thin --mover buffered
	expect 0 "migrate vm13 --format thin --mover buffered over two datastores while the writer runs" \
		"switched over 1 disk in one pause"
	check "vm13: writer stopped: exit 0, no write error" stop_writer
	check "vm13: every block read through the device holds its last acknowledged write" \
		verify "$MAP" "$state"
	check "vm13: the two destination extents end to end equal the device" \
		sh -c "cat '$ds1/vm13-s001-flat.vmdk' '$ds2/vm13-s002-flat.vmdk' | cmp - '$MAP'"
	check "vm13: svm-vm13 linear on its two extents" maps_to vm13 \
		"linear $ds1/vm13-s001-flat.vmdk" "linear $ds2/vm13-s002-flat.vmdk"
}

tap_plan 135
raw_thick_eager
desc_thin
lazy_exec
split3
two_disks
abort_case
slots_case
no_room
xcopy_case
extents_case
stamped
stamped_split
cleanup
tap_done
