#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 1200
#
# 83-ep-iscsi.sh - the iscsi:// endpoint (lib/svm-ep-iscsi, through
# tests/tools/svm-ep-io and tests/tools/svm-iscsi-check) against LIO's iSCSI
# target on 127.0.0.1 (tests/guest/lib-servers.sh): four fileio LUNs of
# 64 MiB; LUN 2 with emulate_3pc=0; LUN 3 with unmap_zeroes_data=1 (LBPRZ:
# unmapped blocks read zeros).
#
# Checked: what the endpoint reports (size, block size, max_io from VPD
# 0xB0, the provisioning bits of VPD 0xB2 and READ CAPACITY(16), caps)
# against LIO's own attributes; writes at queue depth 1 and 32 and reads
# back at 1 and 32 byte-exact against the backing file (throughputs in the
# diagnostics); zero with UNMAP deallocates the backing file and reads
# zeros, and is refused where LBPRZ is 0; zero with WRITE SAME writes zeros
# in place; EXTENDED COPY between two LUNs through the iSCSI sessions,
# byte-exact, with what crossed this host counted (/proc/self/io and the
# sockets' TCP_INFO, against a copy through the host as the control); the
# emulate_3pc=0 LUN refuses it as a refusal (exit 3, -EOPNOTSUPP); a LUN
# out of range (-ENXIO), an unknown IQN (-ENOENT), a closed port
# (-ECONNREFUSED), a request off a block boundary (-EINVAL); a short portal
# outage in the middle of a write is ridden out, a long one fails the write
# within the timeout ("lost connection to 127.0.0.1:3260"), and the target
# takes new sessions afterwards; CHAP from the URL (none or a wrong secret:
# -EACCES); a copy beyond one segment; extent and flush.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$repo/tests/lib/tap.sh"
# shellcheck source=lib-servers.sh
. "$here/lib-servers.sh"

IO=$repo/tests/tools/svm-ep-io
CK=$repo/tests/tools/svm-iscsi-check
MIB=64
tmp=$(mktemp -d "${SVM_TEST_TMPDIR:-/tmp}/svm-83.XXXXXX") || exit 1

# shellcheck disable=SC2317 # runs from the EXIT trap
cleanup() {
	srv_stop_all
	rm -rf "$tmp"
}
trap cleanup EXIT

if ! modprobe -n -q -a target_core_mod target_core_file iscsi_target_mod; then
	echo "1..0 # SKIP LIO modules (target_core_file, iscsi_target_mod) not available"
	exit 0
fi
for t in "$IO" "$CK"; do
	if [ ! -x "$t" ]; then
		echo "1..0 # SKIP $t not built (make)"
		exit 0
	fi
done

tap_plan 27

# elapsed START: sets REPLY to the seconds since START ($EPOCHREALTIME).
elapsed() {
	local d=$(( (${EPOCHREALTIME/./} - ${1/./}) / 10000 ))
	printf -v REPLY '%d.%02d' $((d / 100)) $((d % 100))
}

# kv KEY TEXT: sets REPLY to the value of KEY= in TEXT (lines or words).
kv() {
	local w
	REPLY=
	for w in $2; do
		case "$w" in "$1="*) REPLY=${w#*=}; return 0 ;; esac
	done
	return 1
}

# lun_port I: sets REPLY to the configfs link that exports LUN I (from the
# LUN's directory in its TPG, whatever lib-servers.sh names things).
lun_port() {
	local f

	REPLY=
	for f in "$_SRV_CFS/iscsi/${ISCSI_LUN_IQN[$1]}/tpgt_1/lun/lun_${ISCSI_LUN[$1]}"/*; do
		[ -L "$f" ] && { REPLY=$f; return 0; }
	done
	return 1
}

# lun_store I: sets REPLY to the backstore directory of LUN I.
lun_store() {
	lun_port "$1" || return 1
	REPLY=$(readlink -f "$REPLY")
	[ -d "$REPLY/attrib" ]
}

# attr I NAME: sets REPLY to LIO's attribute NAME of LUN I's backstore.
attr() {
	lun_store "$1" && read -r REPLY < "$REPLY/attrib/$2"
}

# set_lbprz I: unmap_zeroes_data=1 on LUN I. LIO refuses to change it
# while the LUN is exported: the LUN's port link goes and comes back.
set_lbprz() {
	local p d

	lun_port "$1" || return 1
	p=$REPLY
	lun_store "$1" || return 1
	d=$REPLY
	rm "$p" && echo 1 > "$d/attrib/unmap_zeroes_data" && ln -s "$d" "$p"
}

# range_is FILE OFF LEN SRC SOFF: FILE[OFF, OFF+LEN) equals SRC[SOFF, ...).
range_is() {
	cmp -s -n "$3" -i "$2:$5" "$1" "$4"
}

# LIO's login allocates a crc32c hash (for digests) and the guest does not
# load crypto modules on demand: without it every login is closed.
modprobe -q crc32c 2>/dev/null || modprobe -q crc32c_generic 2>/dev/null
# shellcheck disable=SC2034 # read by iscsi_start
ISCSI_3PC="1 1 0 1"
if iscsi_start 4 "$MIB" && set_lbprz 3; then
	tap_ok "LIO target $ISCSI_IQN with 4 LUNs of $MIB MiB on $ISCSI_PORTAL (LUN 2 emulate_3pc=0, LUN 3 LBPRZ)"
else
	tap_fail "LIO target with 4 LUNs on $ISCSI_PORTAL"
	tap_done
fi
U=("${ISCSI_URL[@]}")
B=("${ISCSI_BACKING[@]}")
head -c $((32 << 20)) /dev/urandom > "$tmp/src"
head -c $((16 << 20)) "$tmp/src" > "$tmp/a"
tail -c $((16 << 20)) "$tmp/src" > "$tmp/b"

# --- What the endpoint reports -------------------------------------------

out=$("$IO" info "${U[0]}" 2>&1)
rc=$?
tap_diag "svm-ep-io info LUN 0: ${out//$'\n'/ }"
if [ "$rc" = 0 ] && [[ $'\n'$out$'\n' == *$'\nkind=iscsi\n'* ]] &&
   [[ $out == *"size=$((MIB << 20))"* ]] && [[ $out == *"block_size=512"* ]] &&
   [[ $out == *"fresh_from=none"* ]] && [[ $out == *"space_total=$((MIB << 20))"* ]]; then
	tap_ok "svm-ep-io info: kind iscsi, $MIB MiB, 512-byte blocks, content unknown (fresh_from none), space = size"
else
	tap_fail "svm-ep-io info: kind iscsi, $MIB MiB, 512-byte blocks (rc $rc)"
fi

info0=$("$CK" info "${U[0]}" 2>&1)
rc=$?
tap_diag "svm-iscsi-check info LUN 0: ${info0//$'\n'/ }"
attr 0 hw_max_sectors; hw=${REPLY:-unknown}
attr 0 max_write_same_len; wsl=${REPLY:-unknown}
attr 0 max_unmap_lba_count; mul=${REPLY:-unknown}
want_io=unknown
[[ $hw =~ ^[0-9]+$ ]] && want_io=$((hw * 512 > (32 << 20) ? (32 << 20) : hw * 512))
ok=0
for kw in "max_xfer=$hw" "max_io=$want_io" "max_ws=$wsl" "max_unmap=$mul" \
	  lbpme=1 lbprz=0 lbpu=1 lbpws=1 ws16=1 lba_status=0 caps=zero; do
	[[ $'\n'$info0$'\n' == *$'\n'"$kw"$'\n'* ]] || { ok=1; tap_diag "missing $kw"; }
done
tap_result "$((rc | ok))" "LUN 0: VPD 0xB0 limits as LIO's attributes (max transfer $hw blocks -> max_io $want_io, WRITE SAME $wsl, UNMAP $mul), LBPU/LBPWS 1, LBPRZ 0, no GET LBA STATUS: caps zero"

info3=$("$CK" info "${U[3]}" 2>&1)
rc=$?
tap_diag "svm-iscsi-check info LUN 3: ${info3//$'\n'/ }"
if [ "$rc" = 0 ] && [[ $info3 == *$'\nlbprz=1\n'* ]] &&
   [[ $info3 == *$'\ncaps=unmap,zero\n'* ]]; then
	tap_ok "LUN 3 (unmap_zeroes_data=1): LBPRZ 1, caps unmap,zero"
else
	tap_fail "LUN 3 (unmap_zeroes_data=1): LBPRZ 1, caps unmap,zero (rc $rc)"
fi

# --- Writes and reads, queue depth 1 and 32 ------------------------------

out=$("$IO" --qd 1 write "${U[1]}" 0 < "$tmp/a" 2>&1)
rc=$?
tap_diag "write qd 1: $out"
kv MiB/s "$out"; w1=$REPLY
out2=$("$IO" --qd 32 write "${U[1]}" $((16 << 20)) < "$tmp/b" 2>&1)
rc2=$?
tap_diag "write qd 32: $out2"
kv MiB/s "$out2"; w32=$REPLY
if [ "$rc" = 0 ] && [ "$rc2" = 0 ] && range_is "${B[1]}" 0 $((32 << 20)) "$tmp/src" 0; then
	tap_ok "16 MiB written at queue depth 1 and 16 MiB at 32 reach the backing file byte-exact ($w1 and $w32 MiB/s)"
else
	tap_fail "writes at queue depth 1 and 32 reach the backing file byte-exact (rc $rc $rc2)"
fi

out=$("$CK" --qd 1 read "${U[1]}" 0 32M "$tmp/src" 0 2>&1)
rc=$?
tap_diag "read qd 1: $out"
kv MiB/s "$out"; r1=$REPLY
out2=$("$CK" --qd 32 read "${U[1]}" 0 32M "$tmp/src" 0 2>&1)
rc2=$?
tap_diag "read qd 32: $out2"
kv MiB/s "$out2"; r32=$REPLY
out=$("$CK" --qd 1 --io 64K read "${U[1]}" 0 16M "$tmp/src" 0 2>&1)
rc3=$?
tap_diag "read qd 1, 64 KiB requests: $out"
kv MiB/s "$out"; s1=$REPLY
out=$("$CK" --qd 32 --io 64K read "${U[1]}" 0 16M "$tmp/src" 0 2>&1)
rc4=$?
tap_diag "read qd 32, 64 KiB requests: $out"
kv MiB/s "$out"; s32=$REPLY
tap_result "$((rc | rc2 | rc3 | rc4))" "32 MiB read back at queue depth 1 ($r1 MiB/s) and 32 ($r32 MiB/s) in 1 MiB requests, 16 MiB in 64 KiB ones ($s1 and $s32 MiB/s), byte-exact"
tap_diag "queue depth 32 / 1: writes $w32 / $w1 MiB/s, reads $r32 / $r1 MiB/s (1 MiB requests), $s32 / $s1 MiB/s (64 KiB)"

"$IO" read "${U[1]}" $((5 << 20)) $((1 << 20)) > "$tmp/r" 2>"$tmp/err"
rc=$?
if [ "$rc" = 0 ] && range_is "$tmp/r" 0 $((1 << 20)) "$tmp/src" $((5 << 20)); then
	tap_ok "svm-ep-io read (svm_ep_pread) of 1 MiB at 5 MiB is byte-exact"
else
	tap_fail "svm-ep-io read (svm_ep_pread) of 1 MiB at 5 MiB is byte-exact (rc $rc)"
	tap_diag "$(cat "$tmp/err")"
fi

# --- zero ------------------------------------------------------------------

"$IO" --qd 8 write "${U[3]}" $((8 << 20)) < "$tmp/a" >/dev/null 2>&1
before=$(srv_blocks "${B[3]}")
out=$("$CK" zero "${U[3]}" $((8 << 20)) $((16 << 20)) unmap 2>&1)
rc=$?
after=$(srv_blocks "${B[3]}")
tap_diag "zero unmap LUN 3: $out; backing blocks $before -> $after"
if [ "$rc" = 0 ] && [ "$((before - after))" -ge $(((16 << 20) / 512 - 64)) ] &&
   range_is "${B[3]}" $((8 << 20)) $((16 << 20)) /dev/zero 0 &&
   "$CK" read "${U[3]}" 8M 16M /dev/zero 0 >/dev/null 2>&1; then
	tap_ok "zero UNMAP of 16 MiB on the LBPRZ LUN: backing file $before -> $after blocks, reads zeros through the target"
else
	tap_fail "zero UNMAP of 16 MiB on the LBPRZ LUN deallocates and reads zeros (rc $rc, $before -> $after blocks)"
fi

out=$("$CK" zero "${U[1]}" 0 $((1 << 20)) unmap 2>&1)
rc=$?
tap_diag "zero unmap LUN 1 (LBPRZ 0): status $rc: $out"
if [ "$rc" = 3 ] && [[ $out == *"not known to read zeros"*"EOPNOTSUPP"* ]] &&
   range_is "${B[1]}" 0 $((1 << 20)) "$tmp/src" 0; then
	tap_ok "zero UNMAP where LBPRZ is 0 is refused (-EOPNOTSUPP, exit 3), the data untouched"
else
	tap_fail "zero UNMAP where LBPRZ is 0 is refused (-EOPNOTSUPP, exit 3; got $rc)"
fi

before=$(srv_blocks "${B[1]}")
out=$("$CK" zero "${U[1]}" $((4 << 20)) $((4 << 20)) alloc 2>&1)
rc=$?
after=$(srv_blocks "${B[1]}")
tap_diag "zero alloc LUN 1: $out; backing blocks $before -> $after"
if [ "$rc" = 0 ] && range_is "${B[1]}" $((4 << 20)) $((4 << 20)) /dev/zero 0 &&
   range_is "${B[1]}" 0 $((4 << 20)) "$tmp/src" 0 &&
   range_is "${B[1]}" $((8 << 20)) $((24 << 20)) "$tmp/src" $((8 << 20)) &&
   [ "$after" -ge "$((before - 64))" ]; then
	tap_ok "zero ALLOC (WRITE SAME(16)) of 4 MiB writes zeros in place: the range reads zeros, stays allocated, its neighbours untouched"
else
	tap_fail "zero ALLOC (WRITE SAME(16)) of 4 MiB writes zeros in place (rc $rc, $before -> $after blocks)"
fi

# --- EXTENDED COPY through the sessions --------------------------------------

dd if="$tmp/b" of="${B[0]}" conv=notrunc status=none
out=$("$CK" xcopy "${U[0]}" "${U[1]}" 0 $((32 << 20)) $((16 << 20)) 2>&1)
rc=$?
tap_diag "xcopy LUN 0 -> LUN 1, 16 MiB: $out"
kv tcp_in "$out"; xin=${REPLY:-0}
kv tcp_out "$out"; xout=${REPLY:-0}
kv rchar "$out"; xr=${REPLY:-0}
kv wchar "$out"; xw=${REPLY:-0}
if [ "$rc" = 0 ] && [[ $out == "copied=$((16 << 20)) "* ]] &&
   range_is "${B[1]}" $((32 << 20)) $((16 << 20)) "$tmp/b" 0; then
	tap_ok "EXTENDED COPY of 16 MiB from LUN 0 to LUN 1 through libiscsi completes byte-exact"
else
	tap_fail "EXTENDED COPY of 16 MiB from LUN 0 to LUN 1 through libiscsi completes byte-exact (rc $rc)"
fi
if [ "$rc" = 0 ] && [ "$((xin + xout))" -lt $((256 << 10)) ] &&
   [ "$((xr + xw))" -lt $((256 << 10)) ]; then
	tap_ok "... and no data crossed the host: $xin bytes in, $xout out on the sockets, rchar $xr, wchar $xw"
else
	tap_fail "... and no data crossed the host ($xin in, $xout out, rchar $xr, wchar $xw)"
fi
out=$("$CK" hostcopy "${U[0]}" "${U[1]}" 0 $((48 << 20)) $((8 << 20)) 2>&1)
rc=$?
tap_diag "the control, 8 MiB through the host: $out"
kv tcp_in "$out"; hin=${REPLY:-0}
kv tcp_out "$out"; hout=${REPLY:-0}
if [ "$rc" = 0 ] && [ "$hin" -ge $((8 << 20)) ] && [ "$hout" -ge $((8 << 20)) ] &&
   range_is "${B[1]}" $((48 << 20)) $((8 << 20)) "$tmp/b" 0; then
	tap_ok "the control: 8 MiB copied through the host shows on the same counters ($hin in, $hout out)"
else
	tap_fail "the control: 8 MiB copied through the host shows on the same counters (rc $rc)"
fi

before=$(cksum < "${B[2]}")
out=$("$CK" xcopy "${U[0]}" "${U[2]}" 0 0 1M 2>&1)
rc=$?
tap_diag "xcopy to the emulate_3pc=0 LUN: status $rc: $out"
out2=$("$CK" xcopy "${U[2]}" "${U[1]}" 0 0 1M 2>&1)
rc2=$?
tap_diag "xcopy from the emulate_3pc=0 LUN: status $rc2: $out2"
if [ "$rc" = 3 ] && [ "$rc2" = 3 ] && [[ $out == *refused*EOPNOTSUPP* ]] &&
   [[ $out2 == *refused*EOPNOTSUPP* ]] && [ "$before" = "$(cksum < "${B[2]}")" ]; then
	tap_ok "EXTENDED COPY to or from the emulate_3pc=0 LUN is refused (-EOPNOTSUPP, what the engine falls back on)"
else
	tap_fail "EXTENDED COPY to or from the emulate_3pc=0 LUN is refused (-EOPNOTSUPP; got $rc, $rc2)"
fi

# --- What cannot be opened ---------------------------------------------------

out=$("$CK" info "iscsi://$ISCSI_HOST/$ISCSI_IQN/9" 2>&1)
rc=$?
tap_diag "LUN 9: status $rc: $out"
if [ "$rc" = 1 ] && [[ $out == *"LUN 9 does not exist on target $ISCSI_IQN"*"ENXIO"* ]]; then
	tap_ok "a LUN out of range: -ENXIO \"LUN 9 does not exist on target $ISCSI_IQN\""
else
	tap_fail "a LUN out of range: -ENXIO (got $rc)"
fi
out=$("$CK" info "iscsi://$ISCSI_HOST/iqn.2026-12.org.svmotion:nosuch/0" 2>&1)
rc=$?
tap_diag "unknown IQN: status $rc: $out"
if [ "$rc" = 1 ] && [[ $out == *"target iqn.2026-12.org.svmotion:nosuch not found on $ISCSI_PORTAL (it has: "*"$ISCSI_IQN"*"ENOENT"* ]]; then
	tap_ok "an unknown IQN (LIO: \"service unavailable\"; a discovery tells): -ENOENT \"target ... not found on $ISCSI_PORTAL\""
else
	tap_fail "an unknown IQN: -ENOENT (got $rc)"
fi
t0=$EPOCHREALTIME
out=$("$CK" info "iscsi://$ISCSI_HOST:3261/$ISCSI_IQN/0" 2>&1)
rc=$?
elapsed "$t0"
tap_diag "port 3261: status $rc in $REPLY s: $out"
if [ "$rc" = 1 ] && [[ $out == *"connection refused by $ISCSI_HOST:3261"*"ECONNREFUSED"* ]]; then
	tap_ok "a port nobody listens on: -ECONNREFUSED naming the portal ($REPLY s, the tool's start included)"
else
	tap_fail "a port nobody listens on: -ECONNREFUSED (got $rc)"
fi
out=$("$CK" read "${U[0]}" 3 512 /dev/zero 0 2>&1)
rc=$?
tap_diag "read at offset 3: status $rc: $out"
if [ "$rc" = 1 ] && [[ $out == *"not a multiple of the 512-byte block"*"EINVAL"* ]]; then
	tap_ok "a request not on a block boundary is refused (-EINVAL) with a reason"
else
	tap_fail "a request not on a block boundary is refused (-EINVAL; got $rc)"
fi

# --- Portal outages during a write -----------------------------------------

# outage SECONDS TIMEOUT_MS: a write of 32 MiB at queue depth 8 to LUN 1 at
# 32 MiB, the portal disabled once the first 16 MiB went into the pipe (the
# writer has up to 8 requests in flight then), enabled again after SECONDS
# (never when SECONDS is "never"). Sets OUT_RC, OUT_MSG and OUT_SECS (from
# the disable to the write's end).
outage() {
	local mark=$tmp/disabled
	rm -f "$mark"
	OUT_MSG=$({
		cat "$tmp/a"
		iscsi_portal_disable "$ISCSI_IQN"
		echo "$EPOCHREALTIME" > "$mark"
		if [ "$1" != never ]; then
			srv_nap "$1"
			iscsi_portal_enable "$ISCSI_IQN"
		fi
		cat "$tmp/b"
	} 2>/dev/null | "$IO" --timeout "$2" --qd 8 write "${U[1]}" $((32 << 20)) 2>&1)
	OUT_RC=$?
	OUT_SECS=never
	if [ -s "$mark" ]; then
		elapsed "$(cat "$mark")"
		OUT_SECS=$REPLY
	fi
}

outage 1 20000
tap_diag "portal down for 1 s, timeout 20 s: status $OUT_RC, $OUT_SECS s after the disable: $OUT_MSG"
if [ "$OUT_RC" = 0 ] && range_is "${B[1]}" $((32 << 20)) $((32 << 20)) "$tmp/src" 0; then
	tap_ok "a portal down for 1 s in the middle of a write: the endpoint logs in again and the write completes byte-exact"
else
	tap_fail "a portal down for 1 s in the middle of a write is ridden out (status $OUT_RC)"
fi

outage never 3000
tap_diag "portal down for good, timeout 3 s: status $OUT_RC, $OUT_SECS s after the disable: $OUT_MSG"
if [ "$OUT_RC" = 1 ] && [[ $OUT_MSG == *"lost connection to $ISCSI_PORTAL"* ]] &&
   [ "${OUT_SECS%.*}" != never ] && [ "${OUT_SECS%.*}" -lt 8 ]; then
	tap_ok "a portal down for good in the middle of a write: the write fails in $OUT_SECS s (timeout 3 s) with \"lost connection to $ISCSI_PORTAL\""
else
	tap_fail "a portal down for good fails the write within the timeout with \"lost connection\" (status $OUT_RC, $OUT_SECS s)"
fi

iscsi_portal_enable "$ISCSI_IQN"
out=$("$IO" info "${U[1]}" 2>&1)
rc=$?
tap_result "$rc" "the portal enabled again takes new sessions"
[ "$rc" = 0 ] || tap_diag "$out"

# --- CHAP: the TPG's demo-mode credentials -----------------------------------

tpg=$_SRV_CFS/iscsi/$ISCSI_IQN/tpgt_1
secret=s3cr3tpassw0rd
# (LIO keeps a trailing newline as part of the name: printf, not echo)
if printf %s alice > "$tpg/auth/userid" && printf %s "$secret" > "$tpg/auth/password" &&
   echo 1 > "$tpg/attrib/authentication"; then
	out=$("$CK" info "${U[1]}" 2>&1)
	rc=$?
	out2=$("$CK" info "iscsi://alice%wrongpassw0rd@$ISCSI_HOST/$ISCSI_IQN/1" 2>&1)
	rc2=$?
	tap_diag "CHAP required, none given: status $rc: $out" \
		"CHAP required, a wrong secret: status $rc2: $out2"
	if [ "$rc" = 1 ] && [[ $out == *"authentication failed"*"(no CHAP user in the URL)"*EACCES* ]] &&
	   [ "$rc2" = 1 ] && [[ $out2 == *"authentication failed"*EACCES* ]] &&
	   [[ $out2 != *wrongpassw0rd* ]]; then
		tap_ok "a target that requires CHAP: none or a wrong secret -> -EACCES (the secret never in the message)"
	else
		tap_fail "a target that requires CHAP: none or a wrong secret -> -EACCES (got $rc, $rc2)"
	fi
	out=$("$CK" info "iscsi://alice%$secret@$ISCSI_HOST/$ISCSI_IQN/1" 2>&1)
	rc=$?
	tap_result "$rc" "... the right user and secret from the URL log in"
	[ "$rc" = 0 ] || tap_diag "$out"
else
	tap_fail "CHAP: the TPG's auth attributes"
	tap_fail "CHAP: login"
fi
echo 0 > "$tpg/attrib/authentication"

# --- The XCOPY layer over SG_IO is still what 80-xcopy-lio checks; here
# the same builder over the iSCSI transport split by a segment limit.
# (svm_xcopy_copy_dev with LIO's limits: 65535 blocks a segment.)
out=$("$CK" xcopy "${U[0]}" "${U[1]}" 512 0 $(((40 << 20) + 4096)) 2>&1)
rc=$?
tap_diag "xcopy of 40 MiB + 4 KiB: $out"
kv segments "$out"
if [ "$rc" = 0 ] && [ "${REPLY:-0}" -ge 2 ] &&
   range_is "${B[1]}" 0 $(((40 << 20) + 4096)) "${B[0]}" 512; then
	tap_ok "an EXTENDED COPY beyond 65535 blocks is split ($REPLY segments) and matches, at unaligned LBAs"
else
	tap_fail "an EXTENDED COPY beyond 65535 blocks is split and matches (rc $rc)"
fi

extent=$("$CK" extent "${U[3]}" 0 1M 2>&1)
rc=$?
if [ "$rc" = 0 ] && [ "$extent" = "data=1 run=1048576" ]; then
	tap_ok "extent without GET LBA STATUS: all data ($extent)"
else
	tap_fail "extent without GET LBA STATUS: all data (rc $rc: $extent)"
fi

flush=$("$IO" flush "${U[1]}" 2>&1)
tap_result "$?" "flush (SYNCHRONIZE CACHE(16)) succeeds"
[ -z "$flush" ] || tap_diag "$flush"

iscsi_stop
left=$(ls -d "$_SRV_CFS"/iscsi/iqn.2026-12.org.svmotion:* "$_SRV_CFS"/core/fileio_* 2>/dev/null)
if [ -z "$left" ]; then
	tap_ok "iscsi_stop leaves no target or backstore"
else
	tap_fail "iscsi_stop leaves no target or backstore"
	tap_diag "left: $left"
fi
tap_done
