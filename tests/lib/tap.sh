# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh disable=SC3043 # "local" is in dash, busybox sh and bash
#
# tests/lib/tap.sh - a tiny TAP 13 producer for shell test scripts
# (kselftest conventions). Source it, then:
#
#   tap_plan N              print "TAP version 13" and "1..N"; call it first
#   tap_ok "desc"           "ok K - desc"
#   tap_fail "desc"         "not ok K - desc"
#   tap_check "desc" CMD... run CMD (stdin /dev/null, output captured):
#                           ok if it succeeds, else not ok plus its output
#                           and exit status as diagnostics. Returns CMD's
#                           status, so later steps can depend on it
#                           (careful with set -e: use "tap_check ... || true"
#                           or "if tap_check ...").
#   tap_skip "desc" "why"   "ok K - desc # SKIP why" (a skip, never a pass)
#   tap_diag "text"...      each line of each argument as "# line"
#   tap_done                check that N results were printed, then exit:
#                           0 if all passed or skipped, 1 otherwise
#
# Works in bash and POSIX sh (dash). Results go to stdout; anything else a test prints must be diagnostics
# ("# ...") or go to stderr. The functions work under set -u; tap_ok,
# tap_fail, tap_skip and tap_diag always return 0, so set -e is fine for
# them. CMD in tap_check runs in a subshell: variables it sets are lost.

_tap_planned=-1
_tap_count=0
_tap_failed=0

tap_plan() {
	_tap_planned=$1
	echo "TAP version 13"
	echo "1..$1"
}

tap_diag() {
	local arg
	for arg in "$@"; do
		printf '%s\n' "$arg" | sed 's/^/# /'
	done
	return 0
}

tap_ok() {
	_tap_count=$((_tap_count + 1))
	echo "ok $_tap_count - $*"
}

tap_fail() {
	_tap_count=$((_tap_count + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_count - $*"
}

# tap_result RC DESC: one result line, ok iff RC is 0
tap_result() {
	if [ "$1" = 0 ]; then
		tap_ok "$2"
	else
		tap_fail "$2"
	fi
}

tap_skip() {
	_tap_count=$((_tap_count + 1))
	echo "ok $_tap_count - $1 # SKIP ${2:-}"
}

tap_check() {
	local desc="$1" out rc
	shift
	out=$("$@" </dev/null 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		tap_ok "$desc"
	else
		tap_fail "$desc"
		tap_diag "command: $*" "exit status: $rc"
		if [ -n "$out" ]; then
			tap_diag "$out"
		fi
	fi
	return "$rc"
}

tap_done() {
	if [ "$_tap_planned" -lt 0 ]; then
		tap_diag "tap_done: no plan (tap_plan was not called)"
		exit 1
	fi
	if [ "$_tap_count" -ne "$_tap_planned" ]; then
		tap_diag "tap_done: planned $_tap_planned tests but ran $_tap_count"
		exit 1
	fi
	if [ "$_tap_failed" -ne 0 ]; then
		tap_diag "$_tap_failed of $_tap_count tests failed"
		exit 1
	fi
	exit 0
}
