#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/guest/20-badinput.sh - malformed table lines and messages (guest test)
# timeout: 600
#
# Run inside the test VM: scripts/vm-run tests/guest/20-badinput.sh
#
# 1. Malformed svmotion table lines: each must be refused by "dmsetup create",
#    leave no device behind ("dmsetup info" fails, the dm devices in sysfs and
#    /dev/mapper unchanged; "dmsetup ls" unchanged after the series) and log a
#    meaningful "svmotion: <reason>" line in the kernel log.
# 2. Good table lines are accepted and "dmsetup table" prints them back as
#    documented (major:minor devices, the features only when given).
# 3. Malformed or refused messages on a live device: each makes "dmsetup
#    message" fail, logs a reason and leaves the status line unchanged.
# 4. No module reference leak: with every device removed, dm_svmotion can be
#    unloaded and loaded again.

set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/tap.sh
. "$here/../lib/tap.sh"
# shellcheck source=lib-dm.sh
. "$here/lib-dm.sh"

cleanup() {
	dm_cleanup
	dm_module_ensure
}
trap cleanup EXIT

# --- Devices -----------------------------------------------------------------

dm_init || { echo "Bail out! cannot set up the scratch directory"; exit 1; }
mkloop SRC src 8 || { echo "Bail out! losetup failed"; exit 1; }
mkloop DST dst 8 || { echo "Bail out! losetup failed"; exit 1; }
SRC_MM=$(dm_devnum "$SRC")
DST_MM=$(dm_devnum "$DST")
S=$SRC
D=$DST
# 8 MiB loops: 16384 sectors each. Tables below map 2048 sectors.

# Block majors that no driver has registered: major:minor lookups must fail.
DM_MAJOR= FREE_MAJOR= used=" " blk=0
while read -r num drv; do
	if [ "$num" = Block ]; then
		blk=1
	elif [ "$blk" = 1 ]; then
		used+="$num "
		[ "$drv" = device-mapper ] && DM_MAJOR=$num
	fi
done < /proc/devices
for m in {240..254}; do
	if [[ $used != *" $m "* ]]; then
		FREE_MAJOR=$m
		break
	fi
done
: "${FREE_MAJOR:=240}"

U64_MAX=18446744073709551615

# --- Table cases --------------------------------------------------------------
#
# T_DESC[i], T_RE[i] (ERE matched after "svmotion: " in the new kernel log
# lines), T_TABLE[i] (the full table line).

T_DESC=() T_RE=() T_TABLE=()
tcase() {
	T_DESC+=("$1")
	T_RE+=("$2")
	T_TABLE+=("$3")
}

few='Too few arguments'
tcase "0 arguments"                "$few" "0 2048 svmotion"
tcase "1 argument"                 "$few" "0 2048 svmotion $S"
tcase "2 arguments"                "$few" "0 2048 svmotion $S 0"
tcase "3 arguments"                "$few" "0 2048 svmotion $S 0 $D"
tcase "4 arguments (no region)"    "$few" "0 2048 svmotion $S 0 $D 0"
tcase "empty source argument (4 args)" "$few" "0 2048 svmotion  0 $D 0 128"

tcase "missing source device path" 'Source device lookup failed' \
	"0 2048 svmotion /dev/svm-no-such-disk 0 $D 0 128"
tcase "missing destination device path" 'Destination device lookup failed' \
	"0 2048 svmotion $S 0 /dev/svm-no-such-disk 0 128"
tcase "source is a non-existent dm minor" 'Source device lookup failed' \
	"0 2048 svmotion $DM_MAJOR:999 0 $D 0 128"
tcase "destination on an unregistered major" 'Destination device lookup failed' \
	"0 2048 svmotion $S 0 $FREE_MAJOR:7 0 128"
tcase "source device is an escaped blank string" 'Source device lookup failed' \
	"0 2048 svmotion \\  0 $D 0 128"
tcase "source device is not a block device" 'Source device lookup failed' \
	"0 2048 svmotion /dev/null 0 $D 0 128"

ovl='overlap'
tcase "same device, same offset"   "$ovl" "0 2048 svmotion $S 0 $S 0 128"
tcase "same device as major:minor and path" "$ovl" \
	"0 2048 svmotion $SRC_MM 0 $S 0 128"
tcase "same device, destination overlaps source end" "$ovl" \
	"0 2048 svmotion $S 0 $S 1024 128"
tcase "same device, destination overlaps source start" "$ovl" \
	"0 2048 svmotion $S 3000 $S 1000 128"
tcase "same device, extents one sector apart from touching" "$ovl" \
	"0 2048 svmotion $S 0 $S 2047 128"

past='extent runs past the end'
tcase "source extent past the device end"       "Source $past" \
	"0 2048 svmotion $S 15000 $D 0 128"
tcase "destination extent past the device end"  "Destination $past" \
	"0 2048 svmotion $S 0 $D 14337 128"
tcase "source offset exactly the device size"   "Source $past" \
	"0 2048 svmotion $S 16384 $D 0 128"
tcase "source offset 2^64-1"                    "Source $past" \
	"0 2048 svmotion $S $U64_MAX $D 0 128"
tcase "destination offset 2^64-1"               "Destination $past" \
	"0 2048 svmotion $S 0 $D $U64_MAX 128"
tcase "length larger than both devices"         "Source $past" \
	"0 20000 svmotion $S 0 $D 0 128"

reg='Region size must be a power of two'
tcase "region 100 (not a power of two)" "$reg" "0 2048 svmotion $S 0 $D 0 100"
tcase "region 192 (not a power of two)" "$reg" "0 2048 svmotion $S 0 $D 0 192"
tcase "region 64 (too small)"          "$reg" "0 2048 svmotion $S 0 $D 0 64"
tcase "region 4194304 (too large)"     "$reg" "0 2048 svmotion $S 0 $D 0 4194304"
tcase "region 0"                       "$reg" "0 2048 svmotion $S 0 $D 0 0"
tcase "region -128"                    "$reg" "0 2048 svmotion $S 0 $D 0 -128"
tcase "region 0x80 (hex)"              "$reg" "0 2048 svmotion $S 0 $D 0 0x80"
tcase "region 128abc (trailing garbage)" "$reg" "0 2048 svmotion $S 0 $D 0 128abc"
tcase "region +128 (sign)"             "$reg" "0 2048 svmotion $S 0 $D 0 +128"
tcase "region overflowing 2^64"        "$reg" \
	"0 2048 svmotion $S 0 $D 0 18446744073709551744"
tcase "region 2^32+128 (wraps to 128 in 32 bits)" "$reg" \
	"0 2048 svmotion $S 0 $D 0 4294967424"

tcase "source offset with trailing garbage" 'Invalid source offset' \
	"0 2048 svmotion $S 0abc $D 0 128"
tcase "destination offset with trailing garbage" 'Invalid destination offset' \
	"0 2048 svmotion $S 0 $D 12x 128"
tcase "source offset overflowing (99999999999999999999999)" 'Invalid source offset' \
	"0 2048 svmotion $S 99999999999999999999999 $D 0 128"
tcase "destination offset overflowing (2^64)" 'Invalid destination offset' \
	"0 2048 svmotion $S 0 $D 18446744073709551616 128"
tcase "negative source offset" 'Invalid source offset' \
	"0 2048 svmotion $S -1 $D 0 128"
tcase "hex destination offset" 'Invalid destination offset' \
	"0 2048 svmotion $S 0 $D 0x800 128"
tcase "source offset with a plus sign" 'Invalid source offset' \
	"0 2048 svmotion $S +0 $D 0 128"
tcase "lock_timeout_ms with a plus sign" 'lock_timeout_ms must be' \
	"0 2048 svmotion $S 0 $D 0 128 2 lock_timeout_ms +1000"

nfa='Invalid number of feature arguments'
tcase "feature count 1 with lock_timeout_ms and no value" 'Each feature takes one value' \
	"0 2048 svmotion $S 0 $D 0 128 1 lock_timeout_ms"
tcase "feature count 1 with lock_timeout_ms 1000" 'Each feature takes one value' \
	"0 2048 svmotion $S 0 $D 0 128 1 lock_timeout_ms 1000"
tcase "feature count 2 with only one feature argument" "$nfa" \
	"0 2048 svmotion $S 0 $D 0 128 2 lock_timeout_ms"
tcase "feature count non-numeric" "$nfa" \
	"0 2048 svmotion $S 0 $D 0 128 two lock_timeout_ms 1000"
tcase "feature count 3" 'Each feature takes one value' \
	"0 2048 svmotion $S 0 $D 0 128 3 lock_timeout_ms 1000 x"
tcase "feature count 4 with three feature arguments" "$nfa" \
	"0 2048 svmotion $S 0 $D 0 128 4 lock_timeout_ms 1000 dst_timeout_ms"
tcase "feature count 6" "$nfa" \
	"0 2048 svmotion $S 0 $D 0 128 6 lock_timeout_ms 1000 dst_timeout_ms 1000 x y"
tcase "dst_timeout_ms 99 (boundary)" 'dst_timeout_ms must be 0 or 100 to 600000' \
	"0 2048 svmotion $S 0 $D 0 128 2 dst_timeout_ms 99"
tcase "dst_timeout_ms 1" 'dst_timeout_ms must be 0 or 100 to 600000' \
	"0 2048 svmotion $S 0 $D 0 128 2 dst_timeout_ms 1"
tcase "dst_timeout_ms 600001 (boundary)" 'dst_timeout_ms must be 0 or 100 to 600000' \
	"0 2048 svmotion $S 0 $D 0 128 2 dst_timeout_ms 600001"
tcase "dst_timeout_ms non-numeric" 'dst_timeout_ms must be 0 or 100 to 600000' \
	"0 2048 svmotion $S 0 $D 0 128 2 dst_timeout_ms 1s"
tcase "dst_timeout_ms negative" 'dst_timeout_ms must be 0 or 100 to 600000' \
	"0 2048 svmotion $S 0 $D 0 128 2 dst_timeout_ms -1"
tcase "dst_timeout_ms given twice" 'A feature is given twice' \
	"0 2048 svmotion $S 0 $D 0 128 4 dst_timeout_ms 1000 dst_timeout_ms 2000"
tcase "lock_timeout_ms given twice" 'A feature is given twice' \
	"0 2048 svmotion $S 0 $D 0 128 4 lock_timeout_ms 1000 LOCK_TIMEOUT_MS 2000"
tcase "a feature value where a name belongs" 'Unknown feature' \
	"0 2048 svmotion $S 0 $D 0 128 4 1000 lock_timeout_ms dst_timeout_ms 100"
tcase "feature count -2" "$nfa" \
	"0 2048 svmotion $S 0 $D 0 128 -2 lock_timeout_ms 1000"
tcase "unknown feature" 'Unknown feature' \
	"0 2048 svmotion $S 0 $D 0 128 2 frobnicate 1000"
tcase "lock_timeout_ms 50 (below 100)" 'lock_timeout_ms must be 100 to 600000' \
	"0 2048 svmotion $S 0 $D 0 128 2 lock_timeout_ms 50"
tcase "lock_timeout_ms 99 (boundary)" 'lock_timeout_ms must be 100 to 600000' \
	"0 2048 svmotion $S 0 $D 0 128 2 lock_timeout_ms 99"
tcase "lock_timeout_ms 600001 (boundary)" 'lock_timeout_ms must be 100 to 600000' \
	"0 2048 svmotion $S 0 $D 0 128 2 lock_timeout_ms 600001"
tcase "lock_timeout_ms 700000" 'lock_timeout_ms must be 100 to 600000' \
	"0 2048 svmotion $S 0 $D 0 128 2 lock_timeout_ms 700000"
tcase "lock_timeout_ms non-numeric" 'lock_timeout_ms must be 100 to 600000' \
	"0 2048 svmotion $S 0 $D 0 128 2 lock_timeout_ms soon"
tcase "lock_timeout_ms with trailing garbage" 'lock_timeout_ms must be 100 to 600000' \
	"0 2048 svmotion $S 0 $D 0 128 2 lock_timeout_ms 1000ms"
tcase "lock_timeout_ms 2^32+1000 (wraps in 32 bits)" 'lock_timeout_ms must be 100 to 600000' \
	"0 2048 svmotion $S 0 $D 0 128 2 lock_timeout_ms 4294968296"
tcase "extra argument after the features" 'Unexpected arguments after the features' \
	"0 2048 svmotion $S 0 $D 0 128 2 lock_timeout_ms 1000 extra"
tcase "extra argument after a zero feature count" 'Unexpected arguments after the features' \
	"0 2048 svmotion $S 0 $D 0 128 0 extra"
tcase "extra argument without features" "$nfa" \
	"0 2048 svmotion $S 0 $D 0 128 extra"
tcase "too many regions for the length" 'Too many regions' \
	"0 34359738496 svmotion $S 0 $D 0 128"

# --- Good table lines: "<table>" and what "dmsetup table" must print ----------

G_DESC=() G_TABLE=() G_EXPECT=()
gcase() {
	G_DESC+=("$1")
	G_TABLE+=("$2")
	G_EXPECT+=("$3")
}
gcase "lock_timeout_ms 1234" \
	"0 2048 svmotion $S 0 $D 0 128 2 lock_timeout_ms 1234" \
	"0 2048 svmotion $SRC_MM 0 $DST_MM 0 128 2 lock_timeout_ms 1234"
gcase "no features" \
	"0 2048 svmotion $S 8 $D 16 256" \
	"0 2048 svmotion $SRC_MM 8 $DST_MM 16 256"
gcase "zero feature count" \
	"0 2048 svmotion $S 0 $D 0 128 0" \
	"0 2048 svmotion $SRC_MM 0 $DST_MM 0 128"
gcase "major:minor devices, largest region, largest timeout" \
	"0 2048 svmotion $SRC_MM 0 $DST_MM 14336 2097152 2 lock_timeout_ms 600000" \
	"0 2048 svmotion $SRC_MM 0 $DST_MM 14336 2097152 2 lock_timeout_ms 600000"
gcase "dst_timeout_ms 250" \
	"0 2048 svmotion $S 0 $D 0 128 2 dst_timeout_ms 250" \
	"0 2048 svmotion $SRC_MM 0 $DST_MM 0 128 2 dst_timeout_ms 250"
gcase "dst_timeout_ms 0 (wait for the destination)" \
	"0 2048 svmotion $S 0 $D 0 128 2 dst_timeout_ms 0" \
	"0 2048 svmotion $SRC_MM 0 $DST_MM 0 128 2 dst_timeout_ms 0"
gcase "both features, printed in canonical order" \
	"0 2048 svmotion $S 0 $D 0 128 4 dst_timeout_ms 600000 lock_timeout_ms 7000" \
	"0 2048 svmotion $SRC_MM 0 $DST_MM 0 128 4 lock_timeout_ms 7000 dst_timeout_ms 600000"
gcase "smallest timeout" \
	"0 2048 svmotion $S 0 $D 0 128 2 lock_timeout_ms 100" \
	"0 2048 svmotion $SRC_MM 0 $DST_MM 0 128 2 lock_timeout_ms 100"
gcase "same device, adjacent extents" \
	"0 2048 svmotion $S 0 $S 2048 128" \
	"0 2048 svmotion $SRC_MM 0 $SRC_MM 2048 128"
gcase "extents ending exactly at the device end" \
	"0 2048 svmotion $S 14336 $D 14336 128" \
	"0 2048 svmotion $SRC_MM 14336 $DST_MM 14336 128"

# --- Message cases (run in order on one live device) ---------------------------

MSG_DEV=svmmsg
# Each msg_bad and msg_good call below prints 3 TAP lines; count the calls.
MSG_N=$(grep -c '^msg_bad ' "$0")
MSG_OK=$(grep -c '^msg_good ' "$0")
# Other lines: dmsetup ls after the table cases, the device list check,
# create + initial status, suspend + resume, remove + refcount + rmmod +
# insmod.
OTHER=10

tap_plan $((4 * ${#T_DESC[@]} + 3 * ${#G_DESC[@]} + 3 * (MSG_N + MSG_OK) + OTHER))

# --- 1. Malformed table lines ---------------------------------------------------

BAD=svmbad
# "dmsetup ls" is compared once for the whole series: starting dmsetup costs
# about 0.4 s in the TCG guest. Each case compares the device list in sysfs
# and /dev/mapper instead.
ls_before=$(dmsetup ls 2>&1)
dm_list
list_before=$DM_LIST
for i in "${!T_DESC[@]}"; do
	desc=${T_DESC[i]} re="svmotion: .*(${T_RE[i]})" table=${T_TABLE[i]}
	kmsg_mark
	out=$(dmsetup create "$BAD" --table "$table" 2>&1)
	rc=$?
	kmsg_new
	[ "$rc" != 0 ]
	tap_result $? "table refused: $desc"
	if [ "$rc" = 0 ]; then
		tap_diag "accepted: $table"
	fi
	! dm_exists "$BAD"
	tap_result $? "no device left: $desc"
	dm_list
	[ "$list_before" = "$DM_LIST" ]
	tap_result $? "dm device list (sysfs, /dev/mapper) unchanged: $desc"
	if [ "$list_before" != "$DM_LIST" ]; then
		tap_diag "before: $list_before" "after:  $DM_LIST"
	fi
	if log_has "$re"; then
		tap_ok "kernel log gives the reason (${T_RE[i]}): $desc"
	else
		tap_fail "kernel log gives the reason (${T_RE[i]}): $desc"
		tap_diag "table: $table" "dmsetup: $out" \
			"new kernel log lines:" "${KMSG_NEW:-(none)}"
	fi
	# Keep the next case clean even if this one was wrongly accepted.
	if [ "$rc" = 0 ]; then
		dmsetup remove --force "$BAD" >/dev/null 2>&1
	fi
	dm_list
	list_before=$DM_LIST
done
ls_after=$(dmsetup ls 2>&1)
[ "$ls_before" = "$ls_after" ]
tap_result $? "dmsetup ls unchanged after all ${#T_DESC[@]} refused tables"
[ "$ls_before" = "$ls_after" ] || tap_diag "before: $ls_before" "after:  $ls_after"

# --- 2. Good table lines ---------------------------------------------------------

GOOD=svmgood
for i in "${!G_DESC[@]}"; do
	desc=${G_DESC[i]} table=${G_TABLE[i]} expect=${G_EXPECT[i]}
	dm_track "$GOOD"
	out=$(dmsetup create "$GOOD" --table "$table" 2>&1)
	tap_result $? "table accepted: $desc"
	[ -n "$out" ] && tap_diag "$out"
	if [ "$i" = 0 ]; then
		# The device list used by the refused cases does see a device.
		dm_list
		[[ $DM_LIST == *"=$GOOD "*"| "*"$GOOD"* ]]
		tap_result $? "the sysfs and /dev/mapper device list shows a live device"
		tap_diag "device list: $DM_LIST"
	fi
	got=$(dmsetup table "$GOOD" 2>&1)
	[ "$got" = "$expect" ]
	tap_result $? "dmsetup table prints it back: $desc"
	if [ "$got" != "$expect" ]; then
		tap_diag "expected: $expect" "got:      $got"
	fi
	dmsetup remove "$GOOD" >/dev/null 2>&1
	tap_result $? "device removed: $desc"
done

# --- 3. Malformed and refused messages --------------------------------------------

tap_check "create the message test device (8 regions)" \
	dm_create "$MSG_DEV" "0 1024 svmotion $S 0 $D 0 128 2 lock_timeout_ms 600000"
MSG_MM=$(dm_devnum "/dev/mapper/$MSG_DEV")
st=$(dmsetup status "$MSG_DEV" 2>&1)
[ "$st" = "0 1024 svmotion 128 0/8 0 0 0 0 0 0 0 copying" ]
tap_result $? "initial status: 0/8 COPIED, state copying"
[ "$st" = "0 1024 svmotion 128 0/8 0 0 0 0 0 0 0 copying" ] || tap_diag "status: $st"

# msg_bad DESC REGEX ARGS...: the message must fail, log REGEX (ERE, matched
# against each new kernel log line) and leave the status line ($st, the
# exact "dmsetup status" output) as it was.
msg_bad() {
	local desc=$1 re=$2 out rc after
	shift 2
	kmsg_mark
	out=$(dmsetup message "$MSG_DEV" 0 -- "$@" 2>&1)
	rc=$?
	kmsg_new
	[ "$rc" != 0 ]
	tap_result $? "message refused: $desc"
	if log_has "$re"; then
		tap_ok "kernel log gives the reason: $desc"
	else
		tap_fail "kernel log gives the reason: $desc"
		tap_diag "message: $*" "expected a log line matching: $re" \
			"new kernel log lines:" "${KMSG_NEW:-(none)}"
	fi
	after=$(dmsetup status "$MSG_DEV" 2>&1)
	[ "$st" = "$after" ]
	tap_result $? "status unchanged: $desc"
	if [ "$st" != "$after" ]; then
		tap_diag "before: $st" "after:  $after"
	fi
	st=$after
}

# msg_good DESC EXPECTED_STATUS ARGS...: the message must succeed, log no
# svmotion line, and leave the status line EXPECTED_STATUS (without the
# "<start> <len> svmotion " prefix).
msg_good() {
	local desc=$1 expect="0 1024 svmotion $2" out rc
	shift 2
	kmsg_mark
	out=$(dmsetup message "$MSG_DEV" 0 -- "$@" 2>&1)
	rc=$?
	kmsg_new
	tap_result $rc "message accepted: $desc"
	[ "$rc" = 0 ] || tap_diag "$out"
	! log_has "svmotion"
	tap_result $? "nothing logged: $desc"
	log_has "svmotion" && tap_diag "$KMSG_NEW"
	st=$(dmsetup status "$MSG_DEV" 2>&1)
	[ "$st" = "$expect" ]
	tap_result $? "status after: $desc"
	[ "$st" = "$expect" ] || tap_diag "status: $st" "expected: $expect"
}

# The kernel names the device by major:minor (dm_device_name()).
P="svmotion: ($MSG_DEV|$MSG_MM): "
msg_bad "unknown verb"                 "${P}unknown message \"frobnicate\"" frobnicate 0 1
msg_bad "verb in upper case"           "${P}unknown message \"LOCK\"" LOCK 0 1
msg_bad "garbage words"                "${P}unknown message \"hello\"" hello world
msg_bad "verb only (lock)"             "${P}lock takes 2 arguments" lock
msg_bad "verb only (commit)"           "${P}commit takes 2 arguments" commit
msg_bad "missing count"                "${P}lock takes 2 arguments" lock 0
msg_bad "extra argument"               "${P}lock takes 2 arguments" lock 0 1 1
msg_bad "extra argument (unlock)"      "${P}unlock takes 2 arguments" unlock 0 1 x
msg_bad "non-numeric first region"     "${P}lock: invalid region number or count" lock x 1
msg_bad "non-numeric count"            "${P}lock: invalid region number or count" lock 0 y
msg_bad "negative first region"        "${P}lock: invalid region number or count" lock -1 1
msg_bad "negative count"               "${P}lock: invalid region number or count" lock 0 -1
msg_bad "hex first region"             "${P}lock: invalid region number or count" lock 0x1 1
msg_bad "hex count"                    "${P}unlock: invalid region number or count" unlock 0 0x2
msg_bad "first region with a plus sign" "${P}lock: invalid region number or count" lock +0 1
msg_bad "first region with trailing garbage" "${P}lock: invalid region number or count" lock 1abc 1
msg_bad "overflowing first region"     "${P}lock: invalid region number or count" \
	lock 99999999999999999999999 1
msg_bad "overflowing count"            "${P}commit: invalid region number or count" \
	commit 0 18446744073709551616
msg_bad "count 0"                      "${P}lock: count must be at least 1" lock 0 0
msg_bad "first region out of range"    "${P}lock: regions 8\\+1 out of range \\(8 regions\\)" lock 8 1
msg_bad "first+count past the end"     "${P}lock: regions 7\\+2 out of range" lock 7 2
msg_bad "huge count"                   "${P}lock: regions 0\\+$U64_MAX out of range" lock 0 $U64_MAX
msg_bad "first+count wraps around"     "${P}lock: regions 1\\+$U64_MAX out of range" lock 1 $U64_MAX
msg_bad "huge first region"            "${P}lock: regions $U64_MAX\\+1 out of range" lock $U64_MAX 1
msg_bad "commit without lock"          "${P}commit refused: region 0 is NOT_COPIED" commit 0 1
msg_bad "unlock without lock"          "${P}unlock refused: region 2 is NOT_COPIED" unlock 2 3
msg_bad "empty string"                 "device-mapper: ioctl: Empty message" ""

msg_good "lock 0 1" "128 0/8 1 0 0 0 0 0 0 copying" lock 0 1
msg_bad "double lock (lock 0 1 again)" "${P}lock refused: region 0 is already COPYING" lock 0 1
msg_bad "lock overlapping a locked range" "${P}lock refused: region 0 is already COPYING" lock 0 3
msg_bad "commit of a partly locked range" "${P}commit refused: region 1 is NOT_COPIED" commit 0 2
msg_good "commit 0 1" "128 1/8 0 0 0 0 0 0 0 copying" commit 0 1
msg_bad "lock of a COPIED region"      "${P}lock refused: region 0 is already COPIED" lock 0 1
msg_bad "commit twice"                 "${P}commit refused: region 0 is COPIED, not COPYING" commit 0 1
msg_bad "unlock of a COPIED region"    "${P}unlock refused: region 0 is COPIED, not COPYING" unlock 0 1

# lock while suspended: refused until resume.
tap_check "suspend the message test device" dmsetup suspend "$MSG_DEV"
msg_bad "lock while suspended"         "${P}lock refused: the device is suspended" lock 2 1
tap_check "resume the message test device" dmsetup resume "$MSG_DEV"

# --- 4. Module reference count ------------------------------------------------------

tap_check "remove the message test device" dmsetup remove "$MSG_DEV"
refs=
while read -r mod _ nref _; do
	[ "$mod" = dm_svmotion ] && refs=$nref
done < /proc/modules
[ "$refs" = 0 ]
tap_result $? "dm_svmotion reference count is 0 with no devices (is ${refs:-not loaded})"
tap_check "rmmod dm_svmotion" rmmod dm_svmotion
tap_check "insmod dm-svmotion.ko again" insmod "$DM_KO"

tap_done
