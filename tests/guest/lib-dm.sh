# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# tests/guest/lib-dm.sh - bash helpers shared by the guest tests (sourced).
#
# Loop devices over tmpfs files, device-mapper devices, the kernel log and
# cleanup. Everything created through these helpers is torn down by
# dm_cleanup, which the tests call from their EXIT trap.
#
#   dm_init                 scratch directory $DM_WORK (under $SVM_TEST_TMPDIR
#                           or /tmp) and the kernel log reader
#   mkloop VAR NAME MIB     loop device over $DM_WORK/NAME.img (MIB MiB);
#                           sets VAR to /dev/loopN
#   dm_track NAME           remove dm device NAME on cleanup
#   dm_create NAME TABLE    dmsetup create NAME (tracked, also from a
#                           subshell); dmsetup's status
#   dm_reload NAME TABLE    suspend, load, resume
#   dm_exists NAME          does dm device NAME exist?
#   dm_list                 sets DM_LIST to the dm devices in sysfs and the
#                           nodes in /dev/mapper (no process started)
#   dm_status NAME          sets DM_ST to the status line without the
#                           "<start> <len> <target> " prefix; dmsetup's status
#   dm_event_nr NAME        prints the device's event counter
#   dm_devnum DEV           prints major:minor of block device DEV
#   log_has ERE             does a line of KMSG_NEW match ERE?
#   kmsg_mark               start collecting the kernel log from now
#   kmsg_new                sets KMSG_NEW to the kernel log messages logged
#                           since the last kmsg_mark/kmsg_new, one a line
#   nap SECONDS             sleep without starting a process
#   dm_cleanup              remove the tracked dm devices, loops and files
#
# Starting a process is expensive in the TCG guest (the root filesystem is
# virtio-9p), so the kernel log is followed by one background reader of
# /dev/kmsg instead of running dmesg for every check: kmsg_mark and kmsg_new
# write a sentinel line to /dev/kmsg and read the reader's output up to it,
# so they see every record logged before they were called, and nothing
# later. Needs bash, dmsetup, losetup; DM_DISABLE_UDEV=1 (scripts/vm-run).

DM_WORK=
DM_LOOPS=()
DM_DEVS=()

# The repository root: tests/guest/ is two levels below it.
DM_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DM_KO=$DM_REPO/kmod/dm-svmotion.ko

_KMSG_PID=
_KMSG_SEQ=0
_KMSG_DEVKMSG=
KMSG_NEW=

dm_init() {
	DM_WORK=$(mktemp -d "${SVM_TEST_TMPDIR:-/tmp}/svmtest.XXXXXX") || return 1

	# A FIFO nobody writes: "read -t" on it is a sleep without a process.
	mkfifo "$DM_WORK/nap" || return 1
	exec {_DM_NAP_FD}<>"$DM_WORK/nap"

	# Sentinels are written to /dev/kmsg, which rate-limits writers to 10
	# lines per 5 s by default: lift the limit while the test runs.
	read -r _KMSG_DEVKMSG < /proc/sys/kernel/printk_devkmsg
	if [ "$_KMSG_DEVKMSG" = ratelimit ]; then
		echo on > /proc/sys/kernel/printk_devkmsg
	fi
	: > "$DM_WORK/kmsg"
	cat /dev/kmsg >> "$DM_WORK/kmsg" 2>/dev/null &
	_KMSG_PID=$!
	exec {_DM_KMSG_FD}<"$DM_WORK/kmsg"
	kmsg_mark
}

nap() {
	read -r -t "$1" -u "$_DM_NAP_FD" _ 2>/dev/null
	return 0
}

# Write a sentinel to the kernel log and read the reader's output up to it,
# collecting the messages before it in KMSG_NEW. /dev/kmsg records are
# "<prio>,<seq>,<usec>,<flags>;<message>"; continuation lines of a record
# (its dictionary) start with a space and are skipped.
_kmsg_sync() {
	local tag line partial= waited=0

	_KMSG_SEQ=$((_KMSG_SEQ + 1))
	tag="svmtest-sync $BASHPID $_KMSG_SEQ"
	KMSG_NEW=
	echo "$tag" > /dev/kmsg || return 1
	while :; do
		if IFS= read -r -u "$_DM_KMSG_FD" line; then
			line=$partial$line
			partial=
			case "$line" in
			" "*) continue ;;
			esac
			line=${line#*;}
			if [ "$line" = "$tag" ]; then
				return 0
			fi
			case "$line" in
			"svmtest-sync "*) ;;
			*) KMSG_NEW+=$line$'\n' ;;
			esac
		else
			# At the end of what the reader wrote so far (a partial
			# last line is kept for the next read).
			partial+=$line
			if [ "$waited" -ge 1000 ]; then
				echo "lib-dm: kernel log sentinel not seen in 20 s" >&2
				return 1
			fi
			nap 0.02
			waited=$((waited + 1))
		fi
	done
}

kmsg_mark() {
	_kmsg_sync
}

kmsg_new() {
	_kmsg_sync
	KMSG_NEW=${KMSG_NEW%$'\n'}
}

mkloop() {
	local -n _mkloop_var=$1
	local img=$DM_WORK/$2.img dev

	truncate -s "${3}M" "$img" || return 1
	dev=$(losetup -f --show "$img") || return 1
	DM_LOOPS+=("$dev")
	_mkloop_var=$dev
}

# The tracked names are kept in a file, not only in a variable, so that
# dm_create also tracks when it runs in a subshell (e.g. under tap_check).
dm_track() {
	local d

	for d in "${DM_DEVS[@]}"; do
		[ "$d" = "$1" ] && return 0
	done
	DM_DEVS+=("$1")
	echo "$1" >> "$DM_WORK/devs"
}

dm_create() {
	dm_track "$1"
	dmsetup create "$1" --table "$2"
}

dm_reload() {
	dmsetup suspend "$1" &&
		dmsetup load "$1" --table "$2" &&
		dmsetup resume "$1"
}

dm_exists() {
	dmsetup info "$1" >/dev/null 2>&1
}

# The dm devices the kernel has (sysfs) and the nodes in /dev/mapper, as one
# string, without starting a process.
dm_list() {
	local f n

	DM_LIST=
	for f in /sys/block/dm-*/dm/name; do
		[ -e "$f" ] || continue
		read -r n < "$f"
		f=${f#/sys/block/}
		DM_LIST+="${f%%/*}=$n "
	done
	DM_LIST+="|"
	for f in /dev/mapper/*; do
		[ "$f" = /dev/mapper/control ] && continue
		[ -e "$f" ] && DM_LIST+=" ${f#/dev/mapper/}"
	done
}

dm_status() {
	local s

	DM_ST=
	s=$(dmsetup status "$1" 2>&1) || { DM_ST=$s; return 1; }
	# "<start> <len> <target> <rest>": drop the first three words.
	read -r _ _ _ DM_ST <<<"$s"
}

dm_event_nr() {
	local l

	while IFS= read -r l; do
		case "$l" in
		"Event number:"*) l=${l#*:}; echo "${l//[[:space:]]/}"; return 0 ;;
		esac
	done < <(dmsetup info "$1" 2>/dev/null)
	return 1
}

dm_devnum() {
	local n

	case "$1" in
	/dev/mapper/*)
		dmsetup info -c --noheadings -o major,minor --separator : \
			"${1#/dev/mapper/}" | tr -d ' '
		;;
	*)
		n=${1##*/}
		read -r n < "/sys/class/block/$n/dev" && echo "$n"
		;;
	esac
}

# log_has ERE: does one line of KMSG_NEW match ERE?
log_has() {
	local l

	while IFS= read -r l; do
		[[ $l =~ $1 ]] && return 0
	done <<<"$KMSG_NEW"
	return 1
}

# dm_module_loaded: is dm_svmotion loaded?
dm_module_loaded() {
	local m
	while read -r m _; do
		[ "$m" = dm_svmotion ] && return 0
	done < /proc/modules
	return 1
}

# dm_module_ensure: load kmod/dm-svmotion.ko if a test left it unloaded
# (later tests expect it loaded)
dm_module_ensure() {
	dm_module_loaded || insmod "$DM_KO" 2>/dev/null
}

dm_cleanup() {
	local i d devs=() seen=" "

	if [ -n "$DM_WORK" ] && [ -f "$DM_WORK/devs" ]; then
		mapfile -t devs < "$DM_WORK/devs"
	fi
	# Newest first: later devices may sit on top of earlier ones.
	for ((i = ${#devs[@]} - 1; i >= 0; i--)); do
		d=${devs[i]}
		[[ $seen == *" $d "* ]] && continue
		seen+="$d "
		dm_exists "$d" || continue
		dmsetup resume "$d" >/dev/null 2>&1
		dmsetup remove "$d" >/dev/null 2>&1 ||
			dmsetup remove --force "$d" >/dev/null 2>&1 ||
			echo "# cleanup: cannot remove dm device $d" >&2
	done
	DM_DEVS=()
	for d in "${DM_LOOPS[@]}"; do
		losetup -d "$d" 2>/dev/null ||
			echo "# cleanup: cannot detach $d" >&2
	done
	DM_LOOPS=()
	if [ -n "$_KMSG_PID" ]; then
		kill "$_KMSG_PID" 2>/dev/null
		wait "$_KMSG_PID" 2>/dev/null
		_KMSG_PID=
	fi
	if [ "$_KMSG_DEVKMSG" = ratelimit ]; then
		echo ratelimit > /proc/sys/kernel/printk_devkmsg
		_KMSG_DEVKMSG=
	fi
	if [ -n "$DM_WORK" ]; then
		rm -rf "$DM_WORK"
		DM_WORK=
	fi
}
