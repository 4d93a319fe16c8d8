#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 1200
#
# 82-ep-nfs.sh - the nfs:// endpoint (lib/svm-ep-nfs.c, libnfs 4.0, through
# tests/tools/svm-ep-io) against the kernel's NFS server on 127.0.0.1
# (tests/guest/lib-servers.sh), with NFSv3 and NFSv4 URLs.
#
# Checked, for each version: info (kind, size, block size, max_io = nfsd's
# max_block_size, caps, fresh_from, space = the server's ext4); writes at
# queue depth 1 and 32 read back byte-exact and equal to the file on the
# server's ext4 (throughputs in the diagnostics); a read across the end of
# the file ends in zeros; --excl on an existing file (-EEXIST, untouched),
# --excl creating one, a missing file without --create (-ENOENT, not
# created); grow (set_size) leaves the file sparse on the server (st_blocks)
# and reading zeros, fresh_from the old size; the read-only export refuses
# writing at open (-EROFS: "read-only export") and still reads; the
# root_squash export: "permission denied (root squashed?)" for a root-owned
# file and for creating in a root-owned directory, files created in a 1777
# one belong to 65534; an export the server does not have ("not exported
# by"); flush; remove. Then the server stopped in the middle of a write (nfsd
# threads 0): the write fails within the timeout, naming the offset (NFSv3:
# no reply, -ETIMEDOUT; NFSv4: connection lost, -EIO), no hang; after the
# server is back a new write works. A short outage within the timeout:
# NFSv3 reconnects and the write completes byte-exact; NFSv4 (libnfs 4.0
# does not reconnect it) fails at once with "connection ... lost".
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"
# shellcheck source=lib-servers.sh
. "$here/lib-servers.sh"

IO=${SVM_EP_IO:-$repo/tests/tools/svm-ep-io}
MIB=4			# each of the two writes
tmp=$(mktemp -d "${SVM_TEST_TMPDIR:-/tmp}/svm-82.XXXXXX") || exit 1

# shellcheck disable=SC2317 # runs from the EXIT trap
cleanup() {
	nfs_server_resume >/dev/null 2>&1
	nfs_stop
	rm -rf "$tmp"
}

for p in rpcbind rpc.mountd exportfs mkfs.ext4; do
	if ! command -v "$p" >/dev/null; then
		echo "1..0 # SKIP $p not installed (scripts/setup)"
		exit 0
	fi
done
if [ ! -x "$IO" ]; then
	echo "1..0 # SKIP $IO not built (make)"
	exit 0
fi
trap cleanup EXIT

PER=20			# results of one_version
tap_plan $((1 + 2 * PER))

# kv KEY TEXT: sets REPLY to the value of KEY=... in TEXT (lines or words).
kv() {
	local w
	REPLY=
	for w in $2; do
		case "$w" in "$1="*) REPLY=${w#"$1="}; return 0 ;; esac
	done
	return 1
}

# elapsed START: sets REPLY to the seconds since START ($EPOCHREALTIME),
# 0 if START is later.
elapsed() {
	local d=$(( (${EPOCHREALTIME/./} - ${1/./}) / 10000 ))
	((d < 0)) && d=0
	printf -v REPLY '%d.%02d' $((d / 100)) $((d % 100))
}

# refused DESC PATTERN CMD...: CMD fails with exit status 1 and says PATTERN.
refused() {
	local desc=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" = 1 ] && [[ $out == *"$pat"* ]]; then
		tap_ok "$desc: $out"
	else
		tap_fail "$desc"
		tap_diag "command: $*" "exit status $rc (want 1), want \"$pat\" in:" "$out"
	fi
}

# back: nfsd's threads running again, the NFSv4 grace period over (quiet:
# there may be none to end).
back() {
	nfs_server_resume && nfs_end_grace 2>/dev/null
	return 0
}

# same FILE1 FILE2: byte-exact (cmp, quietly).
same() {
	cmp -s "$1" "$2"
}

if ! tap_check "NFS server up (ext4 on a loop device, exports ds1 ds2 ds_ro ds_squash)" nfs_start 1024; then
	for ((i = 0; i < 2 * PER; i++)); do
		tap_skip "NFS endpoint" "the NFS server did not start"
	done
	tap_done
fi
nfs_start 1024	# again in this shell: its variables
read -r maxblk < /proc/fs/nfsd/max_block_size
head -c $((2 * MIB << 20)) /dev/urandom > "$tmp/src"
head -c $((MIB << 20)) "$tmp/src" > "$tmp/a"
tail -c $((MIB << 20)) "$tmp/src" > "$tmp/b"
# a file made on the server, of an odd size
head -c $((3 << 20)) /dev/urandom > "$tmp/odd"
printf 'tail' >> "$tmp/odd"
oddsize=$(( (3 << 20) + 4 ))
read -r -a fs <<<"$(stat -f -c '%b %a %S' "$NFS_ROOT")"
fs_total=$((fs[0] * fs[2]))

# one_version V: the checks for NFS version V ($PER results)
one_version() {
	local v=$1 u out rc w1 w32 t0 secs sz blocks pid zrc want

	# --- info --------------------------------------------------------
	# NFSv4 requests are capped at 64 KiB (sent 3.5 KiB at a time)
	local want_max=$maxblk
	[ "$v" = 4 ] && [ "$maxblk" -gt 65536 ] && want_max=65536
	cp "$tmp/odd" "$NFS_DS1/odd$v.img"
	u=$(nfs_url "$v" ds1 "odd$v.img")
	out=$("$IO" info "$u" 2>&1)
	rc=$?
	tap_diag "v$v info $u: ${out//$'\n'/ }"
	kv space_total "$out"
	if [ "$rc" = 0 ] && [[ $'\n'$out$'\n' == *$'\nkind=nfs\n'* ]] &&
	   [[ $out == *$'\n'"size=$oddsize"$'\n'* ]] &&
	   [[ $out == *$'\nblock_size=1\n'* ]] &&
	   [[ $out == *$'\n'"max_io=$want_max"$'\n'* ]] &&
	   [[ $out == *$'\ncaps=grows\n'* ]] &&
	   [[ $out == *$'\n'"fresh_from=$oddsize"$'\n'* ]] &&
	   [ "$REPLY" = "$fs_total" ]; then
		tap_ok "v$v info: kind nfs, size $oddsize, block size 1, max_io $want_max (nfsd's max_block_size, 64 KiB at most over v4), caps grows, fresh_from the size, space_total the server's ext4 ($fs_total)"
	else
		tap_fail "v$v info: kind, size, block size, max_io $maxblk, caps, fresh_from, space (ext4 $fs_total) (rc $rc)"
	fi
	out=$("$IO" read "$u" 0 2>"$tmp/err" | cmp - "$tmp/odd" 2>&1)
	tap_result $? "v$v read of a file made on the server (odd size) is byte-exact $out$(cat "$tmp/err")"

	# --- writes at queue depth 1 and 32 ------------------------------
	u=$(nfs_url "$v" ds1 "w$v.img")
	out=$("$IO" --create --qd 1 write "$u" 0 < "$tmp/a" 2>&1)
	rc=$?
	tap_diag "v$v write qd 1: $out"
	kv MiB/s "$out"; w1=$REPLY
	out=$("$IO" --qd 32 write "$u" $((MIB << 20)) < "$tmp/b" 2>&1)
	rc=$((rc | $?))
	tap_diag "v$v write qd 32: $out"
	kv MiB/s "$out"; w32=$REPLY
	"$IO" read "$u" 0 > "$tmp/r" 2>"$tmp/err"
	if [ "$rc" = 0 ] && same "$tmp/r" "$tmp/src" &&
	   same "$NFS_DS1/w$v.img" "$tmp/src"; then
		tap_ok "v$v: $MIB MiB written at queue depth 1 ($w1 MiB/s) and $MIB MiB at 32 ($w32 MiB/s) read back byte-exact, and so is the file on the server's ext4"
	else
		tap_fail "v$v: writes at queue depth 1 and 32 read back byte-exact (rc $rc) $(cat "$tmp/err")"
	fi
	"$IO" read "$u" $(( (2 * MIB << 20) - 100 )) 4096 > "$tmp/r" 2>"$tmp/err"
	rc=$?
	{ tail -c 100 "$tmp/src"; head -c 3996 /dev/zero; } > "$tmp/want"
	if [ "$rc" = 0 ] && same "$tmp/r" "$tmp/want"; then
		tap_ok "v$v: a read across the end of the file gets its last 100 bytes, then zeros"
	else
		tap_fail "v$v: a read across the end of the file (rc $rc) $(cat "$tmp/err")"
	fi

	# --- create, excl, missing ---------------------------------------
	refused "v$v --excl on an existing file: -EEXIST" "exists already" \
		"$IO" --excl write "$u" 0
	out=$("$IO" --excl write "$(nfs_url "$v" ds1 "x$v.img")" 0 < "$tmp/a" 2>&1)
	rc=$?
	if [ "$rc" = 0 ] && same "$NFS_DS1/x$v.img" "$tmp/a" &&
	   same "$NFS_DS1/w$v.img" "$tmp/src"; then
		tap_ok "v$v --excl creates a new file (and the existing one was left alone)"
	else
		tap_fail "v$v --excl creates a new file (rc $rc): $out"
	fi
	refused "v$v a missing file without --create: -ENOENT" "no such file" \
		"$IO" write "$(nfs_url "$v" ds1 "missing$v.img")" 0
	if [ -e "$NFS_DS1/missing$v.img" ]; then
		tap_fail "v$v the missing file was not created"
	else
		tap_ok "v$v the missing file was not created"
	fi

	# --- grow: sparse on the server ----------------------------------
	out=$("$IO" grow "$u" 64M 2>&1)
	rc=$?
	sz=$(stat -c %s "$NFS_DS1/w$v.img")
	blocks=$(nfs_file_blocks "ds1/w$v.img")
	"$IO" read "$u" $((60 << 20)) 1M 2>/dev/null | cmp -s - <(head -c 1M /dev/zero)
	zrc="${PIPESTATUS[0]}${PIPESTATUS[1]}"
	if [ "$rc" = 0 ] && [ "$sz" = $((64 << 20)) ] &&
	   [[ $out == *"fresh_from=$((2 * MIB << 20))"* ]] &&
	   [ "$blocks" -le $(( (2 * MIB << 20) / 512 + 256 )) ] &&
	   [ "$zrc" = 00 ]; then
		tap_ok "v$v grow to 64 MiB: sparse on the server ($blocks blocks for $((2 * MIB)) MiB of data), reads zeros, fresh_from the old size"
	else
		tap_fail "v$v grow to 64 MiB: size $sz, $blocks blocks (rc $rc): ${out//$'\n'/ }"
	fi

	# --- read-only export, root squash, no such export ---------------
	cp "$tmp/a" "$NFS_DS_RO/ro$v.img"
	refused "v$v the read-only export refuses writing at open (-EROFS)" \
		"read-only export" "$IO" write "$(nfs_url "$v" ds_ro "ro$v.img")" 0
	"$IO" read "$(nfs_url "$v" ds_ro "ro$v.img")" 0 2>/dev/null | cmp -s - "$tmp/a"
	tap_result $? "v$v the read-only export still reads"
	cp "$tmp/a" "$NFS_DS_SQUASH/root$v.img"
	refused "v$v root_squash, a root-owned file: -EACCES" \
		"permission denied (root squashed?)" \
		"$IO" write "$(nfs_url "$v" ds_squash "root$v.img")" 0
	refused "v$v root_squash, creating in a root-owned directory: -EACCES" \
		"permission denied (root squashed?)" \
		"$IO" --create write "$(nfs_url "$v" ds_squash "new$v.img")" 0
	"$IO" --create write "$(nfs_url "$v" ds_squash "open/new$v.img")" 0 \
		< "$tmp/a" >/dev/null 2>"$tmp/err"
	rc=$?
	if [ "$rc" = 0 ] && [ "$(stat -c %u "$NFS_DS_SQUASH/open/new$v.img")" = 65534 ] &&
	   same "$NFS_DS_SQUASH/open/new$v.img" "$tmp/a"; then
		tap_ok "v$v root_squash: a file created in the 1777 directory belongs to 65534, byte-exact"
	else
		tap_fail "v$v root_squash: creating in the 1777 directory (rc $rc) $(cat "$tmp/err")"
	fi
	if [ "$v" = 3 ]; then
		u=nfs://$NFS_SERVER/srv/nothere/x.img
	else
		u="nfs://$NFS_SERVER/nothere/x.img?version=4"
	fi
	refused "v$v an export the server does not have" \
		"not exported by $NFS_SERVER" "$IO" info "$u"
	tap_check "v$v flush (COMMIT)" "$IO" flush "$(nfs_url "$v" ds1 "w$v.img")"
	"$IO" remove "$(nfs_url "$v" ds1 "x$v.img")" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = 0 ] && [ ! -e "$NFS_DS1/x$v.img" ]; then
		tap_ok "v$v remove (REMOVE): the file is gone from the server"
	else
		tap_fail "v$v remove (rc $rc) $(cat "$tmp/err")"
	fi

	# --- the server stopped in the middle of a write -----------------
	u=$(nfs_url "$v" ds1 "p$v.img")
	rm -f "$tmp/paused"
	( srv_nap 1.5; nfs_server_pause; echo "$EPOCHREALTIME" > "$tmp/paused" ) &
	pid=$!
	# (more than this guest writes in 1.5 s: under TCG a few MiB/s)
	out=$(head -c 512M /dev/zero |
	      "$IO" --timeout 3000 --create --qd 8 write "$u" 0 2>&1)
	rc=$?
	wait "$pid"
	# from the moment the threads were gone (that takes a while)
	read -r t0 < "$tmp/paused"
	elapsed "$t0"; secs=$REPLY
	if [ "$v" = 3 ]; then
		want="no reply from $NFS_SERVER within 3000 ms"
	else
		want="connection to $NFS_SERVER lost"
	fi
	if [ "$rc" = 1 ] && [[ $out == *"$want"* ]] &&
	   [[ $out =~ (writing|reading)\ [0-9]+\ bytes\ at\ [0-9]+ ]] &&
	   (( ${secs%.*} < 3 + 2 )); then
		tap_ok "v$v nfsd stopped in the middle of a write: it fails $secs s after (timeout 3 s), naming the offset: $out"
	else
		tap_fail "v$v nfsd stopped in the middle of a write: rc $rc, $secs s after: $out"
	fi
	back
	out=$("$IO" --timeout 10000 write "$u" 0 < "$tmp/a" 2>&1)
	rc=$?
	if [ "$rc" = 0 ] && same <(head -c $((MIB << 20)) "$NFS_DS1/p$v.img") "$tmp/a"; then
		tap_ok "v$v after the server is back, a new write works"
	else
		tap_fail "v$v after the server is back, a new write (rc $rc): $out"
	fi

	# --- a short outage within the timeout ----------------------------
	u=$(nfs_url "$v" ds1 "o$v.img")
	rm -f "$tmp/paused"
	( srv_nap 1.5; nfs_server_pause; echo "$EPOCHREALTIME" > "$tmp/paused"
	  srv_nap 2; back ) &
	pid=$!
	t0=$EPOCHREALTIME
	out=$(head -c 48M /dev/zero |
	      "$IO" --timeout 10000 --create --qd 8 write "$u" 0 2>&1)
	rc=$?
	elapsed "$t0"; secs=$REPLY
	wait "$pid"
	read -r t0 < "$tmp/paused"
	elapsed "$t0"	# NFSv4: from the moment the threads were gone
	if [ "$v" = 3 ]; then
		if [ "$rc" = 0 ] && [ "$(stat -c %s "$NFS_DS1/o$v.img")" = $((48 << 20)) ] &&
		   cmp -s "$NFS_DS1/o$v.img" <(head -c 48M /dev/zero); then
			tap_ok "v3 a 2 s outage within the timeout: reconnected, the write completes byte-exact ($secs s)"
		else
			tap_fail "v3 a 2 s outage within the timeout: rc $rc after $secs s: $out"
		fi
	elif [ "$rc" = 1 ] && [[ $out == *"connection to $NFS_SERVER lost"* ]] &&
	     (( ${REPLY%.*} < 6 )); then
		tap_ok "v4 a 2 s outage: fails at once ($REPLY s after), libnfs 4.0 does not reconnect NFSv4: $out"
	else
		tap_fail "v4 a 2 s outage: rc $rc, $REPLY s after: $out"
	fi
	back
	rm -f "$NFS_DS1"/[poxw]"$v".img "$NFS_DS1/odd$v.img"
}

one_version 3
one_version 4
tap_done
