#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/guest/93-svmotion-switchover.sh - the switchover's hypervisor handoff
# through exec:COMMAND and the failure paths around it (guest test).
# timeout: 300
#
#   order        exec handoff: "pause" runs while the device still has its
#                svmotion table and is not suspended, "resume" once the
#                linear table on the destination is live; nothing else runs
#   pause-fails  the pause command fails: no switch, exit 1, the disk back
#                on linear(source), destination files removed, data intact
#   resume-fails the resume command fails after the switch: exit 6, the disk
#                runs on its destination with its descriptor rewritten
#   dst-error    a block-device datastore that fails writes (dm "error" in
#                its middle): the copy fails, exit 1, rolled back, nothing lost

# shellcheck disable=SC2317
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"

SV=$repo/utils/svmotion
work=$(mktemp -d /tmp/svm93.XXXXXX)
export SVMOTION_STATE_DIR=$work/state
BAD=svm93bad
loops=()

cleanup() {
	local n
	for n in $("$SV" list --json 2>/dev/null | jq -r '.[].name' 2>/dev/null); do
		"$SV" abort "$n" >/dev/null 2>&1
		"$SV" detach "$n" >/dev/null 2>&1 || tap_diag "cleanup: cannot detach $n"
	done
	dmsetup remove "$BAD" >/dev/null 2>&1
	for l in "${loops[@]}"; do
		losetup -d "$l" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT

out=$work/out
# run DESC EXPECTED_RC CMD...: one TAP line; output in $out, shown on failure.
run() {
	local desc=$1 want=$2 rc
	shift 2
	"$@" > "$out" 2>&1
	rc=$?
	if [ "$rc" = "$want" ]; then
		tap_ok "$desc"
	else
		tap_fail "$desc (exit $rc, expected $want)"
		while IFS= read -r l; do tap_diag "  | $l"; done < "$out"
	fi
}
# check DESC CMD...: one TAP line.
check() {
	local desc=$1
	shift
	if "$@" > "$work/check.out" 2>&1; then
		tap_ok "$desc"
	else
		tap_fail "$desc"
		while IFS= read -r l; do tap_diag "  | $l"; done < "$work/check.out"
	fi
}

# mkdisk NAME: a 16 MiB monolithicFlat disk of random data in $work/ds1,
# attached; its content saved as NAME.ref.
mkdisk() {
	mkdir -p "$work/ds1" "$work/ds2"
	dd if=/dev/urandom of="$work/ds1/$1-flat.vmdk" bs=1M count=16 status=none
	cp "$work/ds1/$1-flat.vmdk" "$work/$1.ref"
	cat > "$work/ds1/$1.vmdk" <<EOF
# Disk DescriptorFile
version=1
CID=0000abcd
parentCID=ffffffff
createType="monolithicFlat"
RW 32768 FLAT "$1-flat.vmdk" 0
EOF
	"$SV" attach "$work/ds1/$1.vmdk" >/dev/null
}

# The hook: logs "<arg> <table targets> <suspended?>" of svm-$DISK, then
# exits with $FAIL_ON's status when the arg matches.
hook=$work/hook
cat > "$hook" <<'EOF'
#!/bin/bash
dev=svm-$HOOK_DISK
echo "$1 $(dmsetup table "$dev" | awk '{print $3}' | sort -u | tr '\n' ' ')$(dmsetup info -c --noheadings -o attr "$dev")" >> "$HOOK_LOG"
[ "$1" = "${FAIL_ON:-}" ] && exit 7
exit 0
EOF
chmod +x "$hook"

tap_plan 17

# --- order ---------------------------------------------------------------------
mkdisk vmo
export HOOK_DISK=vmo HOOK_LOG=$work/hook.log
: > "$HOOK_LOG"
run "order: migrate with --handoff exec: exit 0" 0 \
	"$SV" migrate vmo --to "$work/ds2" --handoff "exec:$hook"
check "order: the stun time is reported" grep -q 'stun time [0-9.]* ms' "$out"
check "order: pause ran first, on the svmotion table, device not suspended" \
	grep -qx 'pause svmotion LI-w' "$HOOK_LOG"
check "order: resume ran second, on the linear table, device live" \
	bash -c "sed -n 2p '$HOOK_LOG' | grep -qx 'resume linear L--w' && [ \$(wc -l < '$HOOK_LOG') = 2 ]"
cat "$HOOK_LOG" >&2
check "order: the data arrived" cmp "$work/vmo.ref" "$work/ds2/vmo-flat.vmdk"

# --- pause fails ---------------------------------------------------------------
mkdisk vmp
export HOOK_DISK=vmp FAIL_ON=pause
run "pause-fails: exit 1" 1 "$SV" migrate vmp --to "$work/ds2" --handoff "exec:$hook"
check "pause-fails: the reason is named" grep -q "handoff command .*pause' failed" "$out"
check "pause-fails: the disk is back on linear(source)" \
	bash -c "dmsetup table svm-vmp | grep -q ' linear ' && ! dmsetup table svm-vmp | grep -q svmotion"
check "pause-fails: destination removed, descriptor unchanged" \
	bash -c "[ ! -e '$work/ds2/vmp-flat.vmdk' ] && grep -q '\"vmp-flat.vmdk\"' '$work/ds1/vmp.vmdk'"
check "pause-fails: the disk reads as before" cmp "$work/vmp.ref" /dev/mapper/svm-vmp
check "pause-fails: not migrating any more" \
	bash -c "'$SV' list | grep -q '^vmp .* attached '"

# --- resume fails ----------------------------------------------------------------
mkdisk vmr
export HOOK_DISK=vmr FAIL_ON=resume
run "resume-fails: exit 6" 6 "$SV" migrate vmr --to "$work/ds2" --handoff "exec:$hook"
check "resume-fails: 'resume it by hand'" grep -q 'resume it by hand' "$out"
check "resume-fails: the disk runs on its destination, descriptor rewritten" \
	bash -c "grep -q '$work/ds2/vmr-flat.vmdk' '$work/ds1/vmr.vmdk' && cmp '$work/vmr.ref' /dev/mapper/svm-vmr"
unset FAIL_ON

# --- destination error -------------------------------------------------------------
mkdisk vme
truncate -s 32M "$work/bad.img"
l=$(losetup -f --show "$work/bad.img")
loops+=("$l")
dmsetup create "$BAD" --table "0 16384 linear $l 0
16384 64 error
16448 49088 linear $l 16448"
run "dst-error: migrate to a block device that fails writes: exit 1" 1 \
	"$SV" migrate vme --to "/dev/mapper/$BAD"
check "dst-error: the failing write is named" grep -q 'writing .* Input/output error' "$out"
check "dst-error: rolled back to the source, data intact" \
	bash -c "! dmsetup table svm-vme | grep -q svmotion && cmp '$work/vme.ref' /dev/mapper/svm-vme"
tap_done
