# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# tests/guest/lib-servers.sh - real storage servers inside the test guest,
# for the guest tests (sourced; bash): the kernel's NFS server (v3, v4.0,
# v4.1, v4.2) and LIO's iSCSI target on 127.0.0.1, and the kernel's clients
# of both (NFS mounts, the open-iscsi initiator). Every function is
# idempotent, says on stderr what failed and returns non-zero then. The
# state is kept in /run/svm-servers, so that a stop works from any shell (an
# EXIT trap, a subshell, another test); the start functions set the
# variables below (and read them back from there when the server is up
# already). The daemons are not children of the caller (a test's "wait"
# does not wait for them).
#
# NFS
#   nfs_start [MIB]      ext4 of MIB MiB (sparse; default $NFS_SIZE_MIB or
#                        3072) on a loop device over a file in a tmpfs of its
#                        own, mounted on $NFS_ROOT and exported with fsid=0;
#                        below it the datastores, exports of their own (each
#                        bind-mounted on itself, so that NFSv4 lookups from
#                        the root cross into it and get its options):
#                          ds1 ds2    rw, no_root_squash
#                          ds_ro      ro
#                          ds_squash  rw, root_squash; the directory is
#                                     root's, 0755 (a squashed root cannot
#                                     write there), with ds_squash/open 1777
#                                     (what it makes there is uid 65534's)
#                        all "insecure,no_subtree_check,sync" (NFS_SYNC=async
#                        for async), to every client; rpcbind, rpc.mountd,
#                        nfsd ($NFS_THREADS threads, default 8) with v3, v4.0,
#                        v4.1, v4.2, lease and grace time 10 s, the first
#                        grace period ended at once (no client has anything
#                        to reclaim), lockd's grace (which holds back v4
#                        locks too) 3 s, max_block_size $NFS_MAX_BLOCK_SIZE
#                        (default 1048576, as on a large server; empty: the
#                        kernel's choice from the guest's RAM, 256 KiB for
#                        2 GiB)
#   nfs_stop             resume a paused server, unmount every NFS client mount
#                        of the server, unexport, stop nfsd, mountd and
#                        rpcbind, unmount the ext4 (which detaches the loop
#                        device) and its tmpfs: nothing left behind
#   nfs_server_pause     stop the nfsd threads: connections are closed, new
#                        ones refused ("Program is not available" from
#                        rpcbind); all NFSv4 state is lost as in a crash;
#                        mountd and rpcbind stay
#   nfs_server_resume    start the threads again. A new 10 s grace period
#                        begins, as after a reboot: NFSv4 OPENs get
#                        NFS4ERR_GRACE meanwhile (libnfs gives up on it);
#                        nfs_end_grace cuts it short
#   nfs_end_grace        end the current NFSv4 grace period now
#   nfs_mount VERS EXPORT MOUNTPOINT [OPTIONS]
#                        kernel NFS mount; VERS 3, 4, 4.0, 4.1 or 4.2; EXPORT a
#                        datastore name (ds1) or its server path ($NFS_DS1);
#                        v3 mounts are "nolock" (no rpc.statd); OPTIONS are
#                        added to -o
#   nfs_umount MOUNTPOINT
#   nfs_url VERS EXPORT [FILE]
#                        prints the nfs:// URL of FILE in a datastore, in the
#                        form that works for VERS (below)
#   nfs_file_blocks FILE allocated 512-byte blocks of FILE on the server's ext4
#                        (a path under $NFS_ROOT, or relative to it)
#   nfs_running          is the NFS server up?
#
#   NFS_SERVER=127.0.0.1  NFS_ROOT=/srv/svm  NFS_DS1 NFS_DS2 NFS_DS_RO
#   NFS_DS_SQUASH (server paths: $NFS_ROOT/ds1 ...)  NFS_LOOP (/dev/loopN)
#   NFS_IMG (the ext4 image file)
#
# URL forms (nfs://SERVER[:PORT]/EXPORT/PATH[?version=3|4], QEMU's syntax),
# checked by 81-servers.sh with libnfs 4.0 (nfs-cp, nfs-ls) and qemu-img 7.2:
#   NFSv3: the full server path: nfs://127.0.0.1/srv/svm/ds1/FILE, with or
#          without ?version=3 for libnfs (3 is its default). qemu-img takes
#          no version parameter at all ("Unknown NFS parameter name") and
#          always speaks v3. The path relative to the fsid=0 root
#          (nfs://127.0.0.1/ds1/FILE) does not work with v3: mountd knows
#          full paths only (MNT3ERR_ACCES).
#   NFSv4: ?version=4 (libnfs 4.0 speaks NFSv4.0 only) and the path relative
#          to the fsid=0 root: nfs://127.0.0.1/ds1/FILE?version=4. The full
#          server path does not exist in the v4 namespace (NFS4ERR_NOENT).
#          libnfs 4.0's v4 WRITE cannot encode more than about 3900 bytes
#          of data in one call ("ZDR error: Failed to encode COMPOUND4args",
#          a client bug: nfs-cp to a v4 URL of a larger file leaves it
#          empty); v4 reads of any size work.
#   The kernel client: 127.0.0.1:/srv/svm/ds1 with vers=3,
#          127.0.0.1:/ds1 with vers=4.x (nfs_mount does this).
#
# iSCSI (LIO through configfs, portal 127.0.0.1:3260, no authentication,
# dynamic ACLs: any initiator may log in and write)
#   iscsi_start [N] [MIB] [N2]
#                        target $ISCSI_IQN with N LUNs (default 4) of MIB MiB
#                        (default 64), and with N2 > 0 (default 0) a second
#                        target $ISCSI_IQN2 with N2 more; fileio backstores
#                        over sparse files in a tmpfs of their own (and
#                        crc32c, which LIO's login needs and the guest's
#                        kernel cannot load by itself). LUN i
#                        (0-based over both targets) gets, from the i-th word
#                        of these variables (missing words: the default):
#                          ISCSI_LUN_MIBS    size in MiB (MIB)
#                          ISCSI_BLOCK_SIZES logical block size (512)
#                          ISCSI_3PC         emulate_3pc, EXTENDED COPY (1)
#                          ISCSI_TPU         emulate_tpu, UNMAP (1)
#                          ISCSI_TPWS        emulate_tpws, WRITE SAME (1)
#                          ISCSI_LBPRZ       unmap_zeroes_data: unmapped
#                                            blocks read zeros (LBPRZ) (0)
#                        and a unit serial whose first 8 hex digits are
#                        unique (LIO derives the NAA designator from them).
#                        LIO performs EXTENDED COPY only between LUNs the
#                        session sees (since the fix of CVE-2020-28374): a
#                        copy between the two targets ends in "Copy aborted"
#                        sense. LIO has no Third-Party Copy VPD page (0x8f):
#                        emulate_3pc shows as the 3PC bit of the standard
#                        INQUIRY (and RECEIVE COPY RESULTS answers either way)
#   iscsi_stop           enable a disabled portal, log out, tear the targets and
#                        backstores down, remove the backing files: no
#                        configfs object left
#   iscsi_portal_disable [IQN]  TPG enable=0 (default $ISCSI_IQN): sessions
#                        are dropped, logins refused ("Service unavailable")
#   iscsi_portal_enable [IQN]   TPG enable=1 (the kernel session comes back
#                        within about a second)
#   iscsi_login          open-iscsi: iscsid -f (in the background), discovery on
#                        the portal, login to every target, wait for the
#                        disks; sets ISCSI_DEV[i]=/dev/sdX. The session
#                        replacement timeout is $ISCSI_REPLACEMENT_TIMEOUT
#                        (default 15 s: how long I/O waits for a dropped
#                        session before it fails)
#   iscsi_logout         log out (the disks go), forget the node records, stop
#                        iscsid
#   iscsi_find_devs      set ISCSI_DEV[i] from sysfs
#   iscsi_backstore I    sets REPLY to LUN I's backstore in configfs
#                        (/sys/kernel/config/target/core/fileio_I/svm_lunI)
#   iscsi_lun_blocks I   allocated 512-byte blocks of LUN I's backing file
#   iscsi_running        is the target up?
#
#   ISCSI_HOST=127.0.0.1  ISCSI_PORT=3260  ISCSI_PORTAL=127.0.0.1:3260
#   ISCSI_IQN=iqn.2026-12.org.svmotion:test  ISCSI_IQN2=...:test2
#   ISCSI_INITIATOR=iqn.2026-12.org.svmotion:guest (open-iscsi's name)
#   ISCSI_N (number of LUNs), and per LUN i: ISCSI_LUN_IQN[i] (its target),
#   ISCSI_LUN[i] (its LUN number there), ISCSI_URL[i]
#   (iscsi://127.0.0.1/IQN/LUN, for qemu-img and libiscsi),
#   ISCSI_BACKING[i] (the file), ISCSI_MIB[i], ISCSI_BS[i],
#   ISCSI_SERIAL[i], ISCSI_DEV[i] (after iscsi_login)
#
#   /dev/sdX discovery: /sys/class/iscsi_session/session*/targetname is the
#   IQN; the session's SCSI devices are .../session*/device/target*/H:C:T:L,
#   L the LUN, with the disk in H:C:T:L/block/sdX (devtmpfs makes the node;
#   there is no udev).
#
# Both
#   srv_stop_all         nfs_stop and iscsi_stop (for an EXIT trap)
#   srv_blocks FILE      allocated 512-byte blocks of any file
#   srv_nap SECONDS      sleep without starting a process
#
# Costs under TCG on the shared 2-core host (they vary 3x with its load):
# nfs_start 10 to 25 s (mostly loading nfsd, sunrpc and ext4), the first
# nfs_mount up to 9 s more (the client modules), iscsi_start 3 to 15 s,
# iscsi_login 6 to 8 s, each stop 2 to 10 s. The backing files cost guest
# RAM only for what is written (the tmpfs mounts are sized to them, not
# filled). Needs (scripts/setup): nfs-kernel-server, rpcbind, nfs-common,
# open-iscsi, e2fsprogs; lo up (scripts/vm-init does it).

SRV_STATE=/run/svm-servers

NFS_SERVER=127.0.0.1
NFS_ROOT=/srv/svm
NFS_DS1=$NFS_ROOT/ds1
NFS_DS2=$NFS_ROOT/ds2
NFS_DS_RO=$NFS_ROOT/ds_ro
NFS_DS_SQUASH=$NFS_ROOT/ds_squash
NFS_IMG=$SRV_STATE/nfs/ext4.img
NFS_LOOP=

ISCSI_HOST=127.0.0.1
ISCSI_PORT=3260
ISCSI_PORTAL=$ISCSI_HOST:$ISCSI_PORT
ISCSI_IQN=iqn.2026-12.org.svmotion:test
ISCSI_IQN2=iqn.2026-12.org.svmotion:test2
ISCSI_INITIATOR=iqn.2026-12.org.svmotion:guest
ISCSI_N=0
ISCSI_LUN_IQN=()
ISCSI_LUN=()
ISCSI_URL=()
ISCSI_BACKING=()
ISCSI_MIB=()
ISCSI_BS=()
ISCSI_SERIAL=()
ISCSI_DEV=()

_SRV_CFS=/sys/kernel/config/target
_SRV_NAP_FD=

# (Every program started in the TCG guest costs 0.1 to 1 s: the functions
# use bash builtins, /proc and /sys wherever they can, and batch the rest.)

# _srv_err FUNC MESSAGE...: say what failed, on stderr; returns 1.
_srv_err() {
	local f=$1
	shift
	printf '%s: %s\n' "$f" "$*" >&2
	return 1
}

# srv_nap SECONDS: sleep without starting a process ("read -t" on a FIFO
# that nobody writes; made once per shell).
srv_nap() {
	local f
	if [ -z "$_SRV_NAP_FD" ]; then
		f=$SRV_STATE/nap.$BASHPID
		if [ -d "$SRV_STATE" ] || mkdir -p "$SRV_STATE"; then
			mkfifo "$f" 2>/dev/null && exec {_SRV_NAP_FD}<>"$f"
			rm -f "$f"
		fi
		[ -n "$_SRV_NAP_FD" ] || { sleep "$1"; return 0; }
	fi
	read -r -t "$1" -u "$_SRV_NAP_FD" _ 2>/dev/null
	return 0
}

# _srv_mounted DIR: is DIR a mount point? (/proc/mounts; sets REPLY to the
# mounted device)
_srv_mounted() {
	local dev mnt _r
	while read -r dev mnt _r; do
		if [ "$mnt" = "$1" ]; then
			REPLY=$dev
			return 0
		fi
	done < /proc/mounts
	return 1
}

# _srv_alive PIDFILE: is the process of PIDFILE running (and not a zombie)?
_srv_alive() {
	local pid st
	[ -r "$1" ] && read -r pid < "$1" && [ -n "$pid" ] &&
		read -r _ _ st _ 2>/dev/null < "/proc/$pid/stat" && [ "$st" != Z ]
}

# _srv_kill PIDFILE: TERM the process of PIDFILE, wait up to 5 s for it to
# end, KILL it after that.
_srv_kill() {
	local pid i
	_srv_alive "$1" || return 0
	read -r pid < "$1"
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		_srv_alive "$1" || return 0
		srv_nap 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	for ((i = 0; i < 20; i++)); do
		_srv_alive "$1" || return 0
		srv_nap 0.05
	done
	_srv_err "${FUNCNAME[1]}" "process $pid ($1) does not end"
}

# _srv_daemon NAME CMD...: start CMD (a daemon in foreground mode) in the
# background: not a child of the caller (a test's "wait" must not wait for
# it), in a process group of its own (iscsid -f signals its whole group
# when it stops), output to $SRV_STATE/NAME.log, pid in $SRV_STATE/NAME.pid.
_srv_daemon() {
	local name=$1
	shift
	(
		set -m
		"$@" </dev/null >>"$SRV_STATE/$name.log" 2>&1 &
		echo $! > "$SRV_STATE/$name.pid"
	)
}

# _srv_log NAME: the last lines of daemon NAME's log, for a message.
_srv_log() {
	local l out=
	[ -s "$SRV_STATE/$1.log" ] || return 0
	while IFS= read -r l; do
		out+=" | $l"
	done < "$SRV_STATE/$1.log"
	printf ' (%s log:%s)' "$1" "${out: -600}"
}

# _srv_lo FUNC: make sure the loopback interface is up (scripts/vm-init
# brings it up).
_srv_lo() {
	local flags=0
	read -r flags 2>/dev/null < /sys/class/net/lo/flags
	if (( (flags & 1) == 0 )); then
		ip link set lo up || _srv_err "$1" "cannot bring up lo"
	fi
}

# _srv_modules FUNC MODULE...: load the modules that are not loaded.
_srv_modules() {
	local f=$1 m out missing=0
	shift
	for m in "$@"; do
		[ -d "/sys/module/$m" ] || missing=1
	done
	[ "$missing" = 0 ] && return 0
	out=$(modprobe -a "$@" 2>&1) || _srv_err "$f" "modprobe $*: $out"
}

# _srv_crypto NAME: does the kernel have the crypto algorithm NAME?
_srv_crypto() {
	local k v
	while IFS=': ' read -r k v; do
		[ "$k" = name ] && [ "$v" = "$1" ] && return 0
	done < /proc/crypto
	return 1
}

# _srv_save FILE VAR...: write VARs (scalars or indexed arrays) to FILE as
# bash assignments, for a start in another shell to read back.
_srv_save() {
	local f=$1 v out=
	shift
	for v in "$@"; do
		local -n _srv_v=$v
		if [[ ${_srv_v@a} == *a* ]]; then
			out+="$v=(${_srv_v[*]@Q})"$'\n'
		else
			out+="$v=${_srv_v@Q}"$'\n'
		fi
		unset -n _srv_v
	done
	printf '%s' "$out" > "$f"
}

# srv_blocks FILE: allocated 512-byte blocks of FILE.
srv_blocks() {
	local b
	b=$(stat -c '%b %B' -- "$1") || return 1
	echo $(( ${b% *} * ${b#* } / 512 ))
}

# srv_stop_all: nfs_stop and iscsi_stop (for an EXIT trap).
srv_stop_all() {
	local rc=0
	nfs_stop || rc=1
	iscsi_stop || rc=1
	return $rc
}

# --- NFS ---------------------------------------------------------------------

# nfs_running: is the NFS server up (nfsd threads, mountd, rpcbind, the
# ext4)?
nfs_running() {
	local n=0
	[ -f "$SRV_STATE/nfs.vars" ] &&
		read -r n 2>/dev/null < /proc/fs/nfsd/threads && [ "$n" -gt 0 ] &&
		_srv_alive "$SRV_STATE/mountd.pid" &&
		_srv_alive "$SRV_STATE/rpcbind.pid" && _srv_mounted "$NFS_ROOT"
}

# _nfs_exports: the exports, in exports(5) syntax.
_nfs_exports() {
	local o="insecure,no_subtree_check,${NFS_SYNC:-sync}"
	printf '%s *(%s)\n' \
		"$NFS_ROOT" "fsid=0,rw,no_root_squash,$o" \
		"$NFS_DS1" "fsid=1,rw,no_root_squash,$o" \
		"$NFS_DS2" "fsid=2,rw,no_root_squash,$o" \
		"$NFS_DS_RO" "fsid=3,ro,no_root_squash,$o" \
		"$NFS_DS_SQUASH" "fsid=4,rw,root_squash,$o"
}

# _nfs_mountd_ready: has rpc.mountd opened the kernel's export cache
# channel? (It registers with rpcbind before that.)
_nfs_mountd_ready() {
	local pid fd
	read -r pid < "$SRV_STATE/mountd.pid" || return 1
	for fd in /proc/"$pid"/fd/*; do
		[ "$fd" -ef /proc/net/rpc/nfsd.export/channel ] && return 0
	done
	return 1
}

# nfs_start [MIB]: the NFS server (see the header).
nfs_start() {
	local mib=${1:-${NFS_SIZE_MIB:-3072}} out i

	if nfs_running; then
		# shellcheck source=/dev/null
		. "$SRV_STATE/nfs.vars"
		return 0
	fi
	[[ $mib =~ ^[0-9]+$ ]] && [ "$mib" -ge 16 ] ||
		{ _srv_err nfs_start "bad size $mib (MiB, at least 16)"; return 1; }
	# Half up (a failed start, a server stopped from outside): clean first.
	nfs_stop 2>/dev/null
	_srv_lo nfs_start || return 1
	_srv_modules nfs_start nfsd ext4 loop || return 1
	mkdir -p "$SRV_STATE/nfs" "$NFS_ROOT" /run/rpcbind /etc/exports.d \
		/var/lib/nfs/v4recovery ||
		{ _srv_err nfs_start "mkdir failed"; return 1; }
	# rpcbind first: it starts while the filesystem is made.
	_srv_daemon rpcbind rpcbind -f

	# The exported filesystem: ext4 over a loop device (mount -o loop,
	# with autoclear: umount detaches it) over a sparse file in a tmpfs.
	mount -t tmpfs -o "size=$((mib + 1))m,mode=0700" svm-servers "$SRV_STATE/nfs" ||
		{ _srv_err nfs_start "cannot mount a tmpfs on $SRV_STATE/nfs"; nfs_stop; return 1; }
	# Lazy inode tables and journal: the zeroes are already there.
	out=$(mkfs.ext4 -q -F -m 0 -E lazy_itable_init=1,lazy_journal_init=1,nodiscard \
		"$NFS_IMG" "${mib}M" 2>&1) ||
		{ _srv_err nfs_start "mkfs.ext4 $NFS_IMG: $out"; nfs_stop; return 1; }
	out=$(mount -t ext4 -o loop,noinit_itable "$NFS_IMG" "$NFS_ROOT" 2>&1) ||
		{ _srv_err nfs_start "mount $NFS_IMG on $NFS_ROOT: $out"; nfs_stop; return 1; }
	_srv_mounted "$NFS_ROOT" && NFS_LOOP=$REPLY
	mkdir "$NFS_DS1" "$NFS_DS2" "$NFS_DS_RO" "$NFS_DS_SQUASH" &&
		mkdir -m 1777 "$NFS_DS_SQUASH/open" ||
		{ _srv_err nfs_start "cannot make the datastores"; nfs_stop; return 1; }
	# Each datastore a mount point of its own (bind-mounted on itself):
	# NFSv4 lookups from the fsid=0 root cross into a datastore's export,
	# with its options, only at a mount point.
	printf '%s %s none bind 0 0\n' "$NFS_DS1" "$NFS_DS1" "$NFS_DS2" "$NFS_DS2" \
		"$NFS_DS_RO" "$NFS_DS_RO" "$NFS_DS_SQUASH" "$NFS_DS_SQUASH" \
		> "$SRV_STATE/nfs.fstab"
	out=$(mount -a -T "$SRV_STATE/nfs.fstab" 2>&1) ||
		{ _srv_err nfs_start "bind mounts of the datastores: $out"; nfs_stop; return 1; }

	if ! _srv_mounted /proc/fs/nfsd; then
		mount -t nfsd nfsd /proc/fs/nfsd ||
			{ _srv_err nfs_start "cannot mount the nfsd filesystem"; nfs_stop; return 1; }
	fi
	# lockd's grace period (NLM, v3) holds back NFSv4 LOCKs too: by
	# default 5 x nlm_timeout = 50 s after nfsd starts, which the first
	# fcntl lock on a v4 mount then waits (plus the client's back-off),
	# and v4_end_grace does not end it. 3 s: nlm_grace_period rounded up
	# to a multiple of nlm_timeout.
	{ echo 3 > /proc/sys/fs/nfs/nlm_timeout &&
	  echo 3 > /proc/sys/fs/nfs/nlm_grace_period; } 2>/dev/null ||
		{ _srv_err nfs_start "cannot set lockd's grace period"; nfs_stop; return 1; }
	{ echo 10 > /proc/fs/nfsd/nfsv4leasetime &&
	  echo 10 > /proc/fs/nfsd/nfsv4gracetime &&
	  echo "-2 +3 +4 +4.0 +4.1 +4.2" > /proc/fs/nfsd/versions; } 2>/dev/null ||
		{ _srv_err nfs_start "cannot set the nfsd lease time and versions"; nfs_stop; return 1; }
	if [ -n "${NFS_MAX_BLOCK_SIZE-1048576}" ]; then
		echo "${NFS_MAX_BLOCK_SIZE-1048576}" > /proc/fs/nfsd/max_block_size 2>/dev/null ||
			{ _srv_err nfs_start "max_block_size ${NFS_MAX_BLOCK_SIZE-1048576} refused"; nfs_stop; return 1; }
	fi
	_nfs_exports > /etc/exports.d/svm-servers.exports
	out=$(exportfs -r 2>&1) ||
		{ _srv_err nfs_start "exportfs -r: $out"; nfs_stop; return 1; }

	# mountd and nfsd register with rpcbind: wait for it.
	for ((i = 0; i < 200; i++)); do
		[ -S /run/rpcbind.sock ] && break
		_srv_alive "$SRV_STATE/rpcbind.pid" || break
		srv_nap 0.05
	done
	[ -S /run/rpcbind.sock ] ||
		{ _srv_err nfs_start "rpcbind did not start$(_srv_log rpcbind)"; nfs_stop; return 1; }
	_srv_daemon mountd rpc.mountd -F
	echo "${NFS_THREADS:-8}" > /proc/fs/nfsd/threads ||
		{ _srv_err nfs_start "cannot start the nfsd threads"; nfs_stop; return 1; }
	nfs_end_grace || { nfs_stop; return 1; }
	for ((i = 0; i < 300; i++)); do
		_nfs_mountd_ready && break
		_srv_alive "$SRV_STATE/mountd.pid" || break
		srv_nap 0.05
	done
	_nfs_mountd_ready ||
		{ _srv_err nfs_start "rpc.mountd did not start$(_srv_log mountd)"; nfs_stop; return 1; }
	_srv_save "$SRV_STATE/nfs.vars" NFS_LOOP
}

# nfs_end_grace: end the NFSv4 grace period now.
nfs_end_grace() {
	[ -e /proc/fs/nfsd/v4_end_grace ] || return 0
	echo Y > /proc/fs/nfsd/v4_end_grace 2>/dev/null ||
		_srv_err nfs_end_grace "cannot write /proc/fs/nfsd/v4_end_grace"
}

# nfs_server_pause: stop the nfsd threads (see the header).
nfs_server_pause() {
	[ -e /proc/fs/nfsd/threads ] ||
		{ _srv_err nfs_server_pause "nfsd is not running"; return 1; }
	echo 0 > /proc/fs/nfsd/threads ||
		_srv_err nfs_server_pause "cannot stop the nfsd threads"
}

# nfs_server_resume: start the nfsd threads again (see the header).
nfs_server_resume() {
	local n=0
	[ -e /proc/fs/nfsd/threads ] ||
		{ _srv_err nfs_server_resume "nfsd is not set up (nfs_start)"; return 1; }
	read -r n < /proc/fs/nfsd/threads
	[ "$n" -gt 0 ] && return 0
	echo "${NFS_THREADS:-8}" > /proc/fs/nfsd/threads ||
		_srv_err nfs_server_resume "cannot start the nfsd threads"
}

# _nfs_path VERS EXPORT: sets REPLY to the path of EXPORT (a datastore name
# or a server path) in the namespace of NFS version VERS.
_nfs_path() {
	local p=$2
	[[ $p == /* ]] || p=$NFS_ROOT/$p
	[ "$p" = / ] || p=${p%/}
	case "$1" in
	3) REPLY=$p ;;
	4|4.[0-2])
		if [ "$p" = "$NFS_ROOT" ]; then
			REPLY=/
		elif [[ $p == "$NFS_ROOT"/* ]]; then
			REPLY=${p#"$NFS_ROOT"}
		else
			REPLY=$p
		fi
		;;
	*) return 1 ;;
	esac
}

# nfs_url VERS EXPORT [FILE]: print the nfs:// URL of FILE (see the header).
nfs_url() {
	local q=
	_nfs_path "$1" "$2" || { _srv_err nfs_url "bad NFS version $1"; return 1; }
	case "$1" in 4*) q='?version=4' ;; esac
	REPLY=${REPLY%/}
	echo "nfs://$NFS_SERVER$REPLY${3:+/$3}$q"
}

# nfs_mount VERS EXPORT MOUNTPOINT [OPTIONS]: a kernel NFS mount.
nfs_mount() {
	local vers=$1 opts out
	[ $# -ge 3 ] ||
		{ _srv_err nfs_mount "usage: nfs_mount VERS EXPORT MOUNTPOINT [OPTIONS]"; return 1; }
	case "$vers" in
	3) opts=vers=3,nolock ;;
	4|4.[0-2]) opts=vers=$vers ;;
	*) _srv_err nfs_mount "bad NFS version $vers"; return 1 ;;
	esac
	_nfs_path "$vers" "$2"
	# (The guest's mount(2) cannot load the client itself.)
	_srv_modules nfs_mount nfs nfsv3 nfsv4 || return 1
	if _srv_mounted "$3"; then
		_srv_err nfs_mount "$3 is a mount point already"
		return 1
	fi
	[ -d "$3" ] || mkdir -p "$3" || return 1
	out=$(mount -t nfs -o "$opts${4:+,$4}" "$NFS_SERVER:$REPLY" "$3" 2>&1) ||
		_srv_err nfs_mount "mount -t nfs -o $opts${4:+,$4} $NFS_SERVER:$REPLY $3: $out"
}

# nfs_umount MOUNTPOINT: unmount a kernel NFS mount (forced, then lazily,
# when the server does not answer).
nfs_umount() {
	_srv_mounted "$1" || return 0
	umount "$1" 2>/dev/null || umount -f "$1" 2>/dev/null || umount -l "$1" ||
		_srv_err nfs_umount "cannot unmount $1"
}

# nfs_file_blocks FILE: allocated blocks of a file on the server's ext4.
nfs_file_blocks() {
	local f=$1
	[[ $f == /* ]] || f=$NFS_ROOT/$f
	srv_blocks "$f"
}

# nfs_stop: stop everything NFS (see the header). Starts no process when
# there is nothing to stop.
nfs_stop() {
	local dev mnt type _r i f n=1 rc=0 mnts=() rms=()

	# The kernel's mounts of our server first: they hang without it (and a
	# paused server could not answer their unmount).
	if [ -f "$SRV_STATE/nfs.vars" ] && [ -e /proc/fs/nfsd/threads ]; then
		read -r n < /proc/fs/nfsd/threads
		[ "$n" = 0 ] && echo "${NFS_THREADS:-8}" > /proc/fs/nfsd/threads 2>/dev/null
	fi
	while read -r dev mnt type _r; do
		case "$type" in nfs|nfs4) ;; *) continue ;; esac
		case "$dev" in "$NFS_SERVER:"*) mnts=("$mnt" "${mnts[@]}") ;; esac
	done < /proc/mounts
	if [ "${#mnts[@]}" -gt 0 ]; then
		umount "${mnts[@]}" 2>/dev/null
		for mnt in "${mnts[@]}"; do
			nfs_umount "$mnt" || rc=1
		done
	fi
	if [ -f /etc/exports.d/svm-servers.exports ]; then
		exportfs -ua 2>/dev/null
		rms+=(/etc/exports.d/svm-servers.exports)
	fi
	if [ -e /proc/fs/nfsd/threads ]; then
		echo 0 > /proc/fs/nfsd/threads 2>/dev/null
	fi
	_srv_kill "$SRV_STATE/mountd.pid" || rc=1
	_srv_kill "$SRV_STATE/rpcbind.pid" || rc=1

	# Unmount nfsd's filesystem, the datastores, the ext4 (detaching its
	# loop device) and the tmpfs, in one umount; the export cache may
	# hold the ext4 for a moment.
	for ((i = 0; i < 50; i++)); do
		mnts=()
		for mnt in /proc/fs/nfsd "$NFS_DS_SQUASH" "$NFS_DS_RO" "$NFS_DS2" \
			   "$NFS_DS1" "$NFS_ROOT" "$SRV_STATE/nfs"; do
			_srv_mounted "$mnt" && mnts+=("$mnt")
		done
		[ "${#mnts[@]}" -eq 0 ] && break
		[ "$i" -gt 0 ] && srv_nap 0.1
		umount "${mnts[@]}" 2>/dev/null
	done
	if [ "${#mnts[@]}" -gt 0 ]; then
		_srv_err nfs_stop "cannot unmount ${mnts[*]}"
		rc=1
	fi
	for f in "$SRV_STATE"/{nfs.vars,nfs.fstab,mountd.pid,mountd.log,rpcbind.pid,rpcbind.log}; do
		[ -e "$f" ] && rms+=("$f")
	done
	for f in "$SRV_STATE/nfs" "$NFS_ROOT"; do
		[ -d "$f" ] && ! _srv_mounted "$f" && rms+=("$f")
	done
	# nfsd's records of its NFSv4 clients (legacy client tracking)
	for f in /var/lib/nfs/v4recovery/*; do
		[ -e "$f" ] && rms+=("$f")
	done
	if [ "${#rms[@]}" -gt 0 ]; then
		rm -rf "${rms[@]}" || rc=1
	fi
	NFS_LOOP=
	return $rc
}

# --- iSCSI -------------------------------------------------------------------

# iscsi_running: is the target up?
iscsi_running() {
	[ -f "$SRV_STATE/iscsi.vars" ] && [ -d "$_SRV_CFS/iscsi/$ISCSI_IQN/tpgt_1" ]
}

# _srv_word I LIST DEFAULT: sets REPLY to the I-th word (0-based) of LIST,
# or DEFAULT.
_srv_word() {
	local w
	read -r -a w <<<"$2"
	REPLY=${w[$1]:-$3}
}

# iscsi_start [N] [MIB] [N2]: the LIO iSCSI target(s) (see the header).
iscsi_start() {
	local n=${1:-4} mib=${2:-64} n2=${3:-0} out i l iqn d tpg total=0 sz
	local dirs=() links=()
	local -A bysize=()

	if iscsi_running; then
		# shellcheck source=/dev/null
		. "$SRV_STATE/iscsi.vars"
		return 0
	fi
	[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [[ $n2 =~ ^[0-9]+$ ]] &&
		[[ $mib =~ ^[0-9]+$ ]] && [ "$mib" -ge 1 ] ||
		{ _srv_err iscsi_start "usage: iscsi_start [N>=1] [MIB>=1] [N2>=0]"; return 1; }
	iscsi_stop 2>/dev/null
	_srv_lo iscsi_start || return 1
	# LIO's login needs crc32c (for digests), which the guest's kernel
	# cannot load by itself (no modprobe in the initramfs root, where its
	# usermode helpers run): without it every login is closed.
	_srv_crypto crc32c || _srv_modules iscsi_start crc32c_generic || return 1
	_srv_modules iscsi_start target_core_mod target_core_file iscsi_target_mod ||
		return 1
	if ! _srv_mounted /sys/kernel/config; then
		mount -t configfs configfs /sys/kernel/config ||
			{ _srv_err iscsi_start "cannot mount configfs"; return 1; }
	fi

	ISCSI_N=$((n + n2))
	ISCSI_LUN_IQN=() ISCSI_LUN=() ISCSI_URL=() ISCSI_BACKING=() ISCSI_MIB=()
	ISCSI_BS=() ISCSI_SERIAL=() ISCSI_DEV=()
	dirs=("$SRV_STATE/iscsi")
	for ((i = 0; i < ISCSI_N; i++)); do
		if [ "$i" -lt "$n" ]; then
			ISCSI_LUN_IQN[i]=$ISCSI_IQN
			ISCSI_LUN[i]=$i
		else
			ISCSI_LUN_IQN[i]=$ISCSI_IQN2
			ISCSI_LUN[i]=$((i - n))
		fi
		ISCSI_URL[i]=iscsi://$ISCSI_HOST/${ISCSI_LUN_IQN[i]}/${ISCSI_LUN[i]}
		_srv_word "$i" "${ISCSI_LUN_MIBS:-}" "$mib"
		ISCSI_MIB[i]=$REPLY
		_srv_word "$i" "${ISCSI_BLOCK_SIZES:-}" 512
		ISCSI_BS[i]=$REPLY
		ISCSI_BACKING[i]=$SRV_STATE/iscsi/lun$i.img
		# LIO builds the NAA designator from the serial's leading hex
		# digits: the first 8 are unique.
		printf -v 'ISCSI_SERIAL[i]' '%02x%02x%02x%02x-5356-4d00-8000-%012x' \
			$((i + 1)) $((i + 1)) $((i + 1)) $((i + 1)) $((i + 1))
		total=$((total + ISCSI_MIB[i]))
		bysize[${ISCSI_MIB[i]}]+=" ${ISCSI_BACKING[i]}"
		dirs+=("$_SRV_CFS/core/fileio_$i/svm_lun$i"
		       "$_SRV_CFS/iscsi/${ISCSI_LUN_IQN[i]}/tpgt_1/lun/lun_${ISCSI_LUN[i]}")
		links+=("$_SRV_CFS/core/fileio_$i/svm_lun$i"
			"$_SRV_CFS/iscsi/${ISCSI_LUN_IQN[i]}/tpgt_1/lun/lun_${ISCSI_LUN[i]}/svm_port")
	done
	dirs+=("$_SRV_CFS/iscsi/$ISCSI_IQN/tpgt_1/np/$ISCSI_PORTAL")
	[ "$n2" -gt 0 ] && dirs+=("$_SRV_CFS/iscsi/$ISCSI_IQN2/tpgt_1/np/$ISCSI_PORTAL")

	# Every directory (state, backstores, targets, TPGs, LUNs, portals) in
	# one mkdir, the backing files in one truncate per size.
	out=$(mkdir -p "${dirs[@]}" 2>&1) ||
		{ _srv_err iscsi_start "mkdir: $out"; iscsi_stop; return 1; }
	mount -t tmpfs -o "size=$((total + 1))m,mode=0700" svm-servers "$SRV_STATE/iscsi" ||
		{ _srv_err iscsi_start "cannot mount a tmpfs on $SRV_STATE/iscsi"; iscsi_stop; return 1; }
	for sz in "${!bysize[@]}"; do
		# shellcheck disable=SC2086 # the list of files
		truncate -s "${sz}M" ${bysize[$sz]} ||
			{ _srv_err iscsi_start "truncate failed"; iscsi_stop; return 1; }
	done
	_srv_save "$SRV_STATE/iscsi.vars" ISCSI_N ISCSI_LUN_IQN ISCSI_LUN ISCSI_URL \
		ISCSI_BACKING ISCSI_MIB ISCSI_BS ISCSI_SERIAL

	# Backstores
	for ((i = 0; i < ISCSI_N; i++)); do
		d=$_SRV_CFS/core/fileio_$i/svm_lun$i
		{ echo "fd_dev_name=${ISCSI_BACKING[i]},fd_dev_size=$((ISCSI_MIB[i] << 20))" \
			> "$d/control" &&
		  echo "${ISCSI_SERIAL[i]}" > "$d/wwn/vpd_unit_serial" &&
		  echo 1 > "$d/enable"; } 2>/dev/null ||
			{ _srv_err iscsi_start "backstore fileio_$i over ${ISCSI_BACKING[i]}"; iscsi_stop; return 1; }
		if [ "${ISCSI_BS[i]}" != 512 ]; then
			echo "${ISCSI_BS[i]}" > "$d/attrib/block_size" 2>/dev/null ||
				{ _srv_err iscsi_start "LUN $i: block_size ${ISCSI_BS[i]} refused"; iscsi_stop; return 1; }
		fi
		# (unmap_zeroes_data needs UNMAP or WRITE SAME, and cannot
		# change once the LUN is exported)
		for l in 3pc:emulate_3pc tpu:emulate_tpu tpws:emulate_tpws \
			 lbprz:unmap_zeroes_data; do
			case "${l%%:*}" in
			3pc)   _srv_word "$i" "${ISCSI_3PC:-}" 1 ;;
			tpu)   _srv_word "$i" "${ISCSI_TPU:-}" 1 ;;
			tpws)  _srv_word "$i" "${ISCSI_TPWS:-}" 1 ;;
			lbprz) _srv_word "$i" "${ISCSI_LBPRZ:-}" 0 ;;
			esac
			echo "$REPLY" > "$d/attrib/${l#*:}" 2>/dev/null ||
				{ _srv_err iscsi_start "LUN $i: ${l#*:} $REPLY refused"; iscsi_stop; return 1; }
		done
	done
	# LUNs (configfs links need one ln each), open access, enable
	for ((i = 0; i < ${#links[@]}; i += 2)); do
		out=$(ln -s "${links[i]}" "${links[i + 1]}" 2>&1) ||
			{ _srv_err iscsi_start "LUN link ${links[i + 1]}: $out"; iscsi_stop; return 1; }
	done
	for iqn in "$ISCSI_IQN" "$ISCSI_IQN2"; do
		tpg=$_SRV_CFS/iscsi/$iqn/tpgt_1
		[ -d "$tpg" ] || continue
		{ echo 1 > "$tpg/attrib/generate_node_acls" &&
		  echo 1 > "$tpg/attrib/cache_dynamic_acls" &&
		  echo 0 > "$tpg/attrib/demo_mode_write_protect" &&
		  echo 0 > "$tpg/attrib/authentication" &&
		  echo 1 > "$tpg/enable"; } 2>/dev/null ||
			{ _srv_err iscsi_start "TPG attributes of $iqn"; iscsi_stop; return 1; }
	done
}

# iscsi_portal_disable [IQN]: TPG enable=0.
iscsi_portal_disable() {
	local tpg=$_SRV_CFS/iscsi/${1:-$ISCSI_IQN}/tpgt_1
	[ -d "$tpg" ] || { _srv_err iscsi_portal_disable "no target ${1:-$ISCSI_IQN}"; return 1; }
	echo 0 > "$tpg/enable" ||
		_srv_err iscsi_portal_disable "cannot disable $tpg"
}

# iscsi_portal_enable [IQN]: TPG enable=1.
iscsi_portal_enable() {
	local tpg=$_SRV_CFS/iscsi/${1:-$ISCSI_IQN}/tpgt_1 e=0
	[ -d "$tpg" ] || { _srv_err iscsi_portal_enable "no target ${1:-$ISCSI_IQN}"; return 1; }
	read -r e < "$tpg/enable"
	[ "$e" = 1 ] && return 0
	echo 1 > "$tpg/enable" ||
		_srv_err iscsi_portal_enable "cannot enable $tpg"
}

# iscsi_backstore I: sets REPLY to the configfs directory of LUN I's
# backstore (its attrib/ holds LIO's attributes).
iscsi_backstore() {
	REPLY=$_SRV_CFS/core/fileio_$1/svm_lun$1
	[ -d "$REPLY" ] || _srv_err iscsi_backstore "no LUN $1"
}

# iscsi_lun_blocks I: allocated blocks of LUN I's backing file.
iscsi_lun_blocks() {
	[ -n "${ISCSI_BACKING[$1]:-}" ] ||
		{ _srv_err iscsi_lun_blocks "no LUN $1"; return 1; }
	srv_blocks "${ISCSI_BACKING[$1]}"
}

# iscsi_find_devs: set ISCSI_DEV[i] from sysfs (see the header); fails
# unless every LUN has its disk.
iscsi_find_devs() {
	local s tn d lun blk i n missing=0

	ISCSI_DEV=()
	for s in /sys/class/iscsi_session/session*; do
		[ -r "$s/targetname" ] || continue
		read -r tn < "$s/targetname" || continue
		for d in "$s"/device/target*/*:*:*:*; do
			lun=${d##*:}
			for blk in "$d"/block/*; do
				[ -e "$blk/dev" ] || continue
				blk=${blk##*/}
				for ((i = 0; i < ISCSI_N; i++)); do
					[ "${ISCSI_LUN_IQN[i]}" = "$tn" ] &&
						[ "${ISCSI_LUN[i]}" = "$lun" ] || continue
					if [ ! -b "/dev/$blk" ]; then
						read -r n < "/sys/block/$blk/dev" &&
							mknod "/dev/$blk" b "${n%%:*}" "${n##*:}"
					fi
					ISCSI_DEV[i]=/dev/$blk
				done
			done
		done
	done
	for ((i = 0; i < ISCSI_N; i++)); do
		[ -n "${ISCSI_DEV[i]:-}" ] || missing=1
	done
	return $missing
}

# _iscsi_iscsid_ready: does iscsid listen on its abstract socket?
_iscsi_iscsid_ready() {
	local l
	while IFS= read -r l; do
		[[ $l == *@ISCSIADM_ABSTRACT_NAMESPACE* ]] && return 0
	done < /proc/net/unix
	return 1
}

# iscsi_login: open-iscsi logs in to every target (see the header).
iscsi_login() {
	local out i

	if [ "$ISCSI_N" -eq 0 ] && [ -f "$SRV_STATE/iscsi.vars" ]; then
		# shellcheck source=/dev/null
		. "$SRV_STATE/iscsi.vars"
	fi
	[ "$ISCSI_N" -gt 0 ] || { _srv_err iscsi_login "no target (iscsi_start)"; return 1; }
	iscsi_find_devs && return 0
	_srv_modules iscsi_login iscsi_tcp sd_mod || return 1
	if ! _srv_alive "$SRV_STATE/iscsid.pid"; then
		[ -d /run/lock/iscsi ] || mkdir -p /run/lock/iscsi
		echo "InitiatorName=$ISCSI_INITIATOR" > "$SRV_STATE/initiatorname.iscsi"
		_srv_daemon iscsid iscsid -f -n -i "$SRV_STATE/initiatorname.iscsi"
		for ((i = 0; i < 200; i++)); do
			_iscsi_iscsid_ready && break
			_srv_alive "$SRV_STATE/iscsid.pid" || break
			srv_nap 0.05
		done
		_iscsi_iscsid_ready ||
			{ _srv_err iscsi_login "iscsid did not start$(_srv_log iscsid)"; iscsi_logout; return 1; }
	fi
	out=$(iscsiadm -m discovery -t st -p "$ISCSI_PORTAL" 2>&1) ||
		{ _srv_err iscsi_login "discovery on $ISCSI_PORTAL: $out"; iscsi_logout; return 1; }
	out=$(iscsiadm -m node -p "$ISCSI_PORTAL" -o update \
		-n node.session.timeo.replacement_timeout \
		-v "${ISCSI_REPLACEMENT_TIMEOUT:-15}" 2>&1) ||
		{ _srv_err iscsi_login "iscsiadm -o update: $out"; iscsi_logout; return 1; }
	out=$(iscsiadm -m node -p "$ISCSI_PORTAL" --login 2>&1) ||
		{ _srv_err iscsi_login "login: $out"; iscsi_logout; return 1; }
	# The SCSI scan and sd's probe run after the login has returned.
	for ((i = 0; i < 300; i++)); do
		iscsi_find_devs && return 0
		srv_nap 0.1
	done
	_srv_err iscsi_login "not every LUN's disk appeared: ${ISCSI_DEV[*]:-none}"
}

# iscsi_logout: log out, forget the node records, stop iscsid. Starts no
# process when there is nothing to do.
iscsi_logout() {
	local rc=0 out i s=() f rms=()

	s=(/sys/class/iscsi_session/session*)
	if [ -e "${s[0]}" ] && _srv_alive "$SRV_STATE/iscsid.pid"; then
		out=$(iscsiadm -m session -u 2>&1) ||
			{ _srv_err iscsi_logout "logout: $out"; rc=1; }
	fi
	for ((i = 0; i < 100; i++)); do
		s=(/sys/class/iscsi_session/session*)
		[ -e "${s[0]}" ] || break
		srv_nap 0.1
	done
	if [ -e "${s[0]}" ]; then
		_srv_err iscsi_logout "sessions left: ${s[*]}"
		rc=1
	fi
	_srv_kill "$SRV_STATE/iscsid.pid" || rc=1
	for f in /etc/iscsi/nodes /etc/iscsi/send_targets \
		 "$SRV_STATE"/{iscsid.pid,iscsid.log,initiatorname.iscsi}; do
		[ -e "$f" ] && rms+=("$f")
	done
	if [ "${#rms[@]}" -gt 0 ]; then
		rm -rf "${rms[@]}" || rc=1
	fi
	ISCSI_DEV=()
	return $rc
}

# iscsi_stop: log out and tear the targets down (see the header). Starts no
# process when there is nothing to stop.
iscsi_stop() {
	local rc=0 iqn tpg l f d e links=() dirs=()

	# A disabled portal first comes back, for a clean logout.
	for tpg in "$_SRV_CFS"/iscsi/iqn.2026-12.org.svmotion:*/tpgt_1; do
		[ -r "$tpg/enable" ] && read -r e < "$tpg/enable" && [ "$e" = 0 ] &&
			echo 1 > "$tpg/enable" 2>/dev/null
	done
	iscsi_logout || rc=1
	for iqn in "$_SRV_CFS"/iscsi/iqn.2026-12.org.svmotion:*; do
		[ -d "$iqn" ] || continue
		for tpg in "$iqn"/tpgt_*; do
			[ -d "$tpg" ] || continue
			echo 0 > "$tpg/enable" 2>/dev/null
			for l in "$tpg"/lun/lun_*; do
				[ -d "$l" ] || continue
				for f in "$l"/*; do
					[ -L "$f" ] && links+=("$f")
				done
				dirs+=("$l")
			done
			for f in "$tpg"/np/*; do
				[ -d "$f" ] && dirs+=("$f")
			done
			dirs+=("$tpg")
		done
		dirs+=("$iqn")
	done
	for d in "$_SRV_CFS"/core/fileio_*/svm_lun*; do
		[ -d "$d" ] && dirs+=("$d" "${d%/*}")
	done
	if [ "${#links[@]}" -gt 0 ]; then
		rm -f "${links[@]}" || rc=1
	fi
	if [ "${#dirs[@]}" -gt 0 ]; then
		rmdir "${dirs[@]}" || rc=1
	fi
	if _srv_mounted "$SRV_STATE/iscsi"; then
		umount "$SRV_STATE/iscsi" || rc=1
	fi
	dirs=()
	[ -d "$SRV_STATE/iscsi" ] && ! _srv_mounted "$SRV_STATE/iscsi" &&
		dirs+=("$SRV_STATE/iscsi")
	[ -e "$SRV_STATE/iscsi.vars" ] && dirs+=("$SRV_STATE/iscsi.vars")
	if [ "${#dirs[@]}" -gt 0 ]; then
		rm -fd "${dirs[@]}" || rc=1
	fi
	[ "$rc" = 0 ] || _srv_err iscsi_stop "could not remove everything (see above)"
	return $rc
}
