# shellcheck shell=bash
# tests/netns/lib.sh — hatun's network-namespace testbed.
#
# Sourced by every netns test, benchmark and the demo:
#
#     . "$HATUN_SOURCE_DIR/tests/netns/lib.sh"
#     tb_require_root            # SKIP (exit 77) unless root
#     tb_init                    # unique prefix + EXIT trap that tears down
#     tb_topology_standard       # client, access0/1, concentrator, server
#     tb_exec client ping -c1 "$TB_SERVER_V4"
#
# Everything is created inside network namespaces named "<prefix>-<role>"
# (prefix "ht" + 4 hex digits, unique per run); nothing touches the root
# namespace.  Every wait is bounded.  Setup is quiet unless it fails;
# TB_VERBOSE=1 traces every command.  See docs/TESTBED.md for the picture.
#
# Environment (all optional):
#   TB_VERBOSE=1       trace every setup command on stderr
#   TB_TIMEOUT=S       bound of every tb_exec, in seconds (default 30)
#   TB_KEEP=1          keep the log directory ($TB_DIR) after cleanup
#   TB_LINKEM=PATH     link emulator (default $HATUN_BUILD_DIR/tools/linkem/linkem)
#   HATUN_BUILD_DIR    build tree (set by ctest)
#
# Standard topology (roles; interfaces in brackets):
#
#   client [wan0] ══ [lan] access0 [up] ══ [acc0]
#                                                concentrator [inet] ══ [inet] server
#   client [wan1] ══ [lan] access1 [up] ══ [acc1]
#
#   With a linkem wire on access link N, accessN holds
#   [lkc] ==linkem== [lkr] ══ [lan]: client:wanN ══ accessN:lkc, linkem
#   forwards frames lkc <-> lkr, and the veth lkr ══ lan carries the router.
#
# Address plan (variables below; arrays are indexed by access link 0/1):
#
#   segment                     IPv4              IPv6               hosts
#   lan0  client:wan0-access0   192.0.2.0/28      2001:db8:10::/64   access0 .1 ::1, client .2 ::2
#   lan1  client:wan1-access1   192.0.2.16/28     2001:db8:11::/64   access1 .17 ::1, client .18 ::2
#   up0   access0-concentrator  198.51.100.0/28   2001:db8:20::/64   conc .1 ::1, access0 .2 ::2
#   up1   access1-concentrator  198.51.100.16/28  2001:db8:21::/64   conc .17 ::1, access1 .18 ::2
#   svc   concentrator lo       203.0.113.17/32   2001:db8:30::1/128 concentrator service address
#   inet  concentrator-server   203.0.113.0/28    2001:db8:40::/64   conc .1 ::1, server .2 ::2
#   free for tests (tunnel inner addresses...): 192.0.2.64/26, 2001:db8:50::/48
#
#   client: main table default via lan0 (wan0); policy routing: "from
#   <wanN address> lookup 100+N" (table 100+N: lanN subnet + default via
#   accessN), so each source address leaves by its own link.
#   accessN: default via concentrator.  concentrator: routes to lanN via
#   accessN.  server: default via concentrator.
#
# Functions (NAME = role name such as "client" or a full namespace name):
#   Basics
#     tb_require_root                  SKIP "<test> needs root" (exit 77) unless uid 0
#     tb_require_cmd CMD...            SKIP unless every CMD is installed
#     tb_init                          pick a unique prefix, make $TB_DIR, reap the
#                                      namespaces of killed runs, install the trap
#     tb_ns NAME                       print the real namespace name of role NAME
#     tb_exec NAME CMD...              run CMD in NAME, bounded by TB_TIMEOUT
#     tb_bg [--port P:N] [--until SH] [--log F] NAME CMD...
#                                      start CMD in background in NAME; pid in
#                                      $TB_LAST_PID, log in $TB_LAST_LOG; --port
#                                      tcp:5201 waits until it listens, --until
#                                      waits until shell condition SH holds
#     tb_stop PID...                   TERM, then KILL after 3 s
#     tb_wait SECONDS CMD...           poll CMD every 50 ms until it succeeds
#     tb_wait_port NAME tcp|udp PORT [SECONDS]   wait until something listens
#     tb_cleanup                       kill, delete, verify nothing of ours is left
#     tb_log/tb_ok/tb_fail/tb_skip MSG output helpers (fail exits 1, skip 77)
#   Building blocks (custom topologies)
#     tb_netns_add NAME [router]       new namespace (router: forwarding on)
#     tb_veth NAME1 IF1 NAME2 IF2      veth pair (both ends may share a namespace)
#     tb_addr NAME IF ADDR/LEN...      add addresses (IPv6 without DAD), set IF up
#     tb_wire_if NAME IF               prepare IF as a linkem port (no IP, no ARP,
#                                      no offloads, up)
#   Standard topology
#     tb_topology_standard [--nat LINK] [--nat66] [--linkem|--no-linkem]
#                          [--delay LINK:UP[:DOWN]] [--rate LINK:UP[:DOWN]] [--no-wait]
#     tb_linkem LINK [LINKEM OPTIONS...]   (re)start the linkem wire of LINK
#     tb_link_delay LINK UP_MS DOWN_MS [JITTER_MS]   restart linkem with delays
#     tb_link_down LINK [carrier]      cut LINK (linkem SIGUSR1; "carrier" or no
#                                      linkem: access-side interface down)
#     tb_link_up LINK                  restore LINK
#     tb_link_rate LINK UP [DOWN]      tbf on client:wanN (up) and accessN:lan (down)
#     tb_link_counter LINK up|down     packets forwarded by accessN from/to the client
#     tb_link_counters                 all four: "up0 down0 up1 down1"
#     tb_wait_reachable                wait (10 s) until the server answers every
#                                      client address (after a link change)
#     tb_nat LINK [v6]                 CPE masquerade on accessN's upstream side
#     tb_nat_rebind LINK               NAT on LINK maps the client to a new port
#   Impairments on any interface
#     tb_shape_rate NAME IF MBIT [LATENCY_MS]   tbf on IF egress (0 removes;
#                                      no effect on linkem ports lkc/lkr)
#     tb_loss NAME IF PCT [out|in|both]  random drop (nftables numgen), 0 removes
#   Measurements
#     tb_ping_ok NAME SRC DST          one ping answered within 1 s
#     tb_ping_stats NAME SRC DST COUNT [INTERVAL]  "sent recv loss% min avg max"
#     tb_iperf_server NAME [PORT]      persistent iperf3 server (sets TB_IPERF_PORT)
#     tb_iperf NAME SRC DST [SECONDS] [IPERF3 ARGS...]  prints Mbit/s received
#                                      (1 s omitted; -R: server sends)
#     tb_whoami_server NAME PORT       TCP+UDP: replies "<peer addr> <peer port>"
#     tb_whoami NAME SRC DST PORT [tcp|udp]  prints what the server saw
#     tb_web_file MIB                  MIB MiB of random bytes served as
#                                      http://SERVER_V4:8080/file (sets
#                                      TB_WEB_SHA256)
#   a LAN behind the client
#     tb_lan_tproxy PORT               namespace "lan" routed through the client
#                                      (LAN_GW4/LAN_H4 192.0.2.65/.66 /26,
#                                      LAN_GW6/LAN_H6 2001:db8:50::1/::2 /64);
#                                      its TCP is steered by nftables TPROXY to
#                                      the client's PORT (README, "Transparent
#                                      proxy")
#   hatun's multipath client
#     tb_path_state HATUN SOCK NAME    the state `hatun status` shows for a path
#     tb_wait_path HATUN SOCK NAME STATE SECONDS  until the path is in STATE
#   Convert (MPTCP + TCP Fast Open)
#     tb_mptcp_tfo [--subflow]         MPTCP + TFO on (else skip); --subflow: a
#                                      second client subflow from wan1
#
# Globals set for tests: TB_PREFIX, TB_DIR (logs), TB_LINKEM (path or ""),
# TB_WIRE[LINK] (1 when LINK has a linkem wire), TB_LAST_PID, TB_LAST_LOG.

if [ -n "${TB_LIB_LOADED:-}" ]; then
	return 0
fi
TB_LIB_LOADED=1

: "${TB_VERBOSE:=0}"
: "${TB_TIMEOUT:=30}"
: "${TB_KEEP:=0}"
TB_NAME=${TB_NAME:-$(basename "$0" .sh)}
TB_PREFIX=""
TB_DIR=""
TB_PIDS=()
TB_NS_INODES=()
TB_LAST_PID=""
TB_LAST_LOG=""
TB_LINKEM=""
TB_WIRE=(0 0)
TB_LINKEM_PID=("" "")
TB_LINK_STATE=(up up)
TB_NAT_ON=(0 0)
TB_NAT_V6=(0 0)
TB_NAT_GEN=(0 0)
TB_IPERF_PORT=5201

# ---- address plan ------------------------------------------------------------
TB_CLIENT_WAN0_V4=192.0.2.2
TB_CLIENT_WAN1_V4=192.0.2.18
TB_ACCESS0_LAN_V4=192.0.2.1
TB_ACCESS1_LAN_V4=192.0.2.17
TB_ACCESS0_UP_V4=198.51.100.2
TB_ACCESS1_UP_V4=198.51.100.18
TB_CONC_ACC0_V4=198.51.100.1
TB_CONC_ACC1_V4=198.51.100.17
TB_CONC_V4=203.0.113.17
TB_CONC_INET_V4=203.0.113.1
TB_SERVER_V4=203.0.113.2

TB_CLIENT_WAN0_V6=2001:db8:10::2
TB_CLIENT_WAN1_V6=2001:db8:11::2
TB_ACCESS0_LAN_V6=2001:db8:10::1
TB_ACCESS1_LAN_V6=2001:db8:11::1
TB_ACCESS0_UP_V6=2001:db8:20::2
TB_ACCESS1_UP_V6=2001:db8:21::2
TB_CONC_ACC0_V6=2001:db8:20::1
TB_CONC_ACC1_V6=2001:db8:21::1
TB_CONC_V6=2001:db8:30::1
TB_CONC_INET_V6=2001:db8:40::1
TB_SERVER_V6=2001:db8:40::2

# The same, indexed by access link.
TB_CLIENT_V4=("$TB_CLIENT_WAN0_V4" "$TB_CLIENT_WAN1_V4")
TB_CLIENT_V6=("$TB_CLIENT_WAN0_V6" "$TB_CLIENT_WAN1_V6")
TB_LAN_V4=("$TB_ACCESS0_LAN_V4" "$TB_ACCESS1_LAN_V4")
TB_LAN_V6=("$TB_ACCESS0_LAN_V6" "$TB_ACCESS1_LAN_V6")
TB_UP_V4=("$TB_ACCESS0_UP_V4" "$TB_ACCESS1_UP_V4")
TB_UP_V6=("$TB_ACCESS0_UP_V6" "$TB_ACCESS1_UP_V6")
TB_CONC_ACC_V4=("$TB_CONC_ACC0_V4" "$TB_CONC_ACC1_V4")
TB_CONC_ACC_V6=("$TB_CONC_ACC0_V6" "$TB_CONC_ACC1_V6")
TB_LAN_NET_V4=(192.0.2.0/28 192.0.2.16/28)
TB_LAN_NET_V6=(2001:db8:10::/64 2001:db8:11::/64)

# ---- output --------------------------------------------------------------------

tb_log() { printf '%s\n' "$*"; }
tb_ok() { printf 'ok   %s\n' "$*"; }
tb_fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}
tb_skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}
tb__dbg() {
	local m
	if [ "$TB_VERBOSE" = 1 ]; then
		m=${*//$'\n'/ }
		[ ${#m} -le 160 ] || m="${m:0:150} ..."
		printf '+ %s\n' "$m" >&2
	fi
	return 0
}
tb__err() { printf 'tb: %s\n' "$*" >&2; }

# tb__x CMD...: run a setup command; silent unless it fails (or TB_VERBOSE=1).
tb__x() {
	local err
	tb__dbg "$*"
	if ! err=$("$@" 2>&1 >/dev/null); then
		tb__err "command failed: $*"
		[ -z "$err" ] || printf '%s\n' "$err" >&2
		return 1
	fi
}

# tb__nsx NAME CMD...: tb__x inside namespace NAME.
tb__nsx() {
	local ns
	tb__ns "$1" || return 1
	ns=$TB__NS
	shift
	tb__x ip netns exec "$ns" "$@"
}

# ---- basics --------------------------------------------------------------------

tb_require_root() {
	if [ "$(id -u)" != 0 ]; then
		printf 'SKIP: %s needs root\n' "$TB_NAME"
		exit 77
	fi
}

tb_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || tb_skip "$TB_NAME needs $c (bash scripts/install-deps.sh)"
	done
}

tb_init() {
	local hex
	tb_require_root
	tb_require_cmd ip nft tc timeout ss ethtool python3
	[ -z "$TB_PREFIX" ] || { tb__err "tb_init called twice"; return 1; }
	for _ in 1 2 3 4 5 6 7 8; do
		hex=$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
		# mkdir is the atomic reservation of the prefix between concurrent runs.
		mkdir -m 0700 "/tmp/hatun-tb.ht$hex" 2>/dev/null || continue
		if ip netns list | grep -q "^ht$hex-"; then
			rmdir "/tmp/hatun-tb.ht$hex"
			continue
		fi
		TB_PREFIX=ht$hex
		TB_DIR=/tmp/hatun-tb.ht$hex
		break
	done
	[ -n "$TB_PREFIX" ] || { tb__err "tb_init: no free namespace prefix"; return 1; }
	tb__starttime $$ >"$TB_DIR/owner"
	tb__reap_stale
	tb__find_linkem
	# The trap may run while a command's output is redirected (e.g. to
	# /dev/null); it writes to the original stdout/stderr.
	exec {TB__OUT}>&1 {TB__ERR}>&2
	trap tb__on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	tb__dbg "tb_init: prefix $TB_PREFIX, dir $TB_DIR, linkem ${TB_LINKEM:-none}"
}

# tb__starttime PID: prints "PID STARTTIME" (clock ticks after boot), which
# identifies a process even if its PID is reused later.
tb__starttime() {
	local st
	read -r -a st 2>/dev/null <"/proc/$1/stat" || return 1
	printf '%s %s\n' "$1" "${st[21]}"
}

# Testbeds whose owner died without cleaning up (SIGKILL, e.g. a ctest
# timeout) would leave namespaces behind: kill what runs in them, delete
# them.  Their log directory is kept (without "owner") for inspection.
tb__reap_stale() {
	local d owner now p ns pids
	for d in /tmp/hatun-tb.ht*; do
		[ -f "$d/owner" ] || continue
		read -r owner <"$d/owner" || continue
		now=$(tb__starttime "${owner%% *}") || now=""
		[ "$now" != "$owner" ] || continue
		p=${d#/tmp/hatun-tb.}
		for ns in $(ip netns list | awk -v p="$p-" 'index($1, p) == 1 { print $1 }'); do
			pids=$(ip netns pids "$ns" 2>/dev/null)
			# shellcheck disable=SC2086 # a list of PIDs
			[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
			timeout 10 ip netns del "$ns" 2>/dev/null
		done
		rm -f "$d/owner"
		tb__err "removed the stale testbed $p (its owner, PID ${owner%% *}, is gone)"
	done
}

tb__find_linkem() {
	local p=${TB_LINKEM:-}
	if [ -z "$p" ] && [ -n "${HATUN_BUILD_DIR:-}" ]; then
		p=$HATUN_BUILD_DIR/tools/linkem/linkem
	fi
	if [ -n "$p" ] && [ -x "$p" ]; then
		TB_LINKEM=$p
	else
		TB_LINKEM=""
	fi
}

tb_ns() {
	tb__ns "$1" && printf '%s\n' "$TB__NS"
}

# tb__ns NAME: like tb_ns, into TB__NS (no subshell: forks are slow).
tb__ns() {
	[ -n "$TB_PREFIX" ] || { tb__err "call tb_init first"; return 1; }
	case $1 in
	"$TB_PREFIX"-*) TB__NS=$1 ;;
	*) TB__NS=$TB_PREFIX-$1 ;;
	esac
}

tb_exec() {
	local ns
	tb__ns "$1" || return 1
	ns=$TB__NS
	shift
	tb__dbg "[$ns] $*"
	timeout -k 2 "$TB_TIMEOUT" ip netns exec "$ns" "$@"
}

tb_wait() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

tb__listening() { # NS PROTO PORT
	local opt=-Htln
	[ "$2" = udp ] && opt=-Huln
	[ -n "$(ss -N "$1" "$opt" "sport = :$3" 2>/dev/null)" ]
}

tb_wait_port() {
	local ns
	tb__ns "$1" || return 1
	ns=$TB__NS
	tb_wait "${4:-10}" tb__listening "$ns" "$2" "$3" && return 0
	tb__err "tb_wait_port: nothing listens on $3/$2 in $1 after ${4:-10} s"
	return 1
}

# tb__alive_and PID CMD...: CMD succeeds; fails early when PID has died.
tb__alive_and() {
	local pid=$1
	shift
	if ! kill -0 "$pid" 2>/dev/null; then
		return 2
	fi
	"$@"
}

# tb__wait_pid SECONDS PID CMD...: like tb_wait, but gives up when PID exits.
tb__wait_pid() {
	local deadline=$((SECONDS + $1)) pid=$2 rc
	shift 2
	while :; do
		if tb__alive_and "$pid" "$@"; then
			return 0
		else
			rc=$?
		fi
		[ "$rc" != 2 ] || return 2
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

tb_bg() {
	local port="" until="" log="" ns name
	while [ $# -gt 0 ]; do
		case $1 in
		--port) port=$2; shift 2 ;;
		--until) until=$2; shift 2 ;;
		--log) log=$2; shift 2 ;;
		*) break ;;
		esac
	done
	name=$1
	shift
	tb__ns "$name" || return 1
	ns=$TB__NS
	[ -n "$log" ] || log=$TB_DIR/bg$((${#TB_PIDS[@]} + 1)).$name.log
	tb__dbg "[$ns] $* &  (log $log)"
	ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null {TB__OUT}>&- {TB__ERR}>&- &
	TB_LAST_PID=$!
	# shellcheck disable=SC2034 # for the caller
	TB_LAST_LOG=$log
	TB_PIDS+=("$TB_LAST_PID")
	if [ -n "$port" ]; then
		if ! tb__wait_pid 10 "$TB_LAST_PID" tb__listening "$ns" "${port%%:*}" "${port#*:}"; then
			tb__err "tb_bg: $1 in $name does not listen on $port"
			tb__tail "$log"
			return 1
		fi
	fi
	if [ -n "$until" ]; then
		if ! tb__wait_pid 10 "$TB_LAST_PID" bash -c "$until"; then
			tb__err "tb_bg: $1 in $name: condition never held: $until"
			tb__tail "$log"
			return 1
		fi
	fi
}

tb__tail() {
	[ -s "$1" ] || return 0
	printf -- '--- %s (last lines)\n' "$1" >&2
	tail -n 20 "$1" >&2
}

tb_stop() {
	local pid
	for pid in "$@"; do
		kill -TERM "$pid" 2>/dev/null || continue
		for _ in $(seq 60); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	return 0
}

# ---- cleanup -------------------------------------------------------------------

tb__our_ns() {
	ip netns list 2>/dev/null | awk -v p="$TB_PREFIX-" 'index($1, p) == 1 { print $1 }'
}

# PIDs of every process whose network namespace is one of ours (by inode,
# so it still works after the names are gone).
tb__our_pids() {
	[ ${#TB_NS_INODES[@]} -gt 0 ] || return 0
	# One stat(1) for all processes: forking per process is slow.
	# stat fails for processes that exit meanwhile; that is expected.
	{ QUOTING_STYLE=literal stat -c %N /proc/[0-9]*/ns/net 2>/dev/null || true; } |
		awk -v inos="${TB_NS_INODES[*]}" '
			BEGIN { n = split(inos, a, " "); for (i = 1; i <= n; i++) want["net:[" a[i] "]"] = 1 }
			$3 in want { split($1, p, "/"); print p[3] }'
}

# Remembers the inode of every namespace of ours, so that processes can be
# found even after the names are deleted.
tb__collect_inodes() {
	local ino
	[ -e "/run/netns/$TB_PREFIX-client" ] || compgen -G "/run/netns/$TB_PREFIX-*" >/dev/null || return 0
	for ino in $(stat -L -c %i /run/netns/"$TB_PREFIX"-* 2>/dev/null); do
		TB_NS_INODES+=("$ino")
	done
}

tb__kill_ours() { # SIG
	local pids
	pids=$(tb__our_pids)
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086 # word splitting of the PID list is wanted
	kill "-$1" $pids 2>/dev/null || true
}

tb_cleanup() {
	local rc=0 ns pid left
	[ -n "$TB_PREFIX" ] || return 0
	tb__dbg "tb_cleanup: $TB_PREFIX"
	tb__collect_inodes
	tb__kill_ours TERM
	tb_wait 3 tb__no_pids_left || tb__kill_ours KILL
	# A killed process can take a while to leave the kernel (closing
	# MPTCP sockets on a loaded machine): give it 10 s before calling it
	# a leak.
	tb_wait 10 tb__no_pids_left || true
	for pid in "${TB_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	for ns in $(tb__our_ns); do
		timeout 10 ip netns del "$ns" 2>/dev/null || tb__err "tb_cleanup: cannot delete $ns"
	done
	left=$(tb__our_ns)
	if [ -n "$left" ]; then
		tb__err "FAIL: cleanup: namespaces left: ${left//$'\n'/ }"
		rc=1
	fi
	left=$(tb__our_pids)
	if [ -n "$left" ]; then
		tb__err "FAIL: cleanup: processes left in our namespaces: ${left//$'\n'/ }"
		ps -o pid,stat,wchan:32,etime,args -p "${left//$'\n'/,}" >&2 2>/dev/null || true
		rc=1
	fi
	if [ "$rc" = 0 ] && [ "$TB_KEEP" != 1 ]; then
		rm -rf -- "$TB_DIR"
	else
		rm -f -- "$TB_DIR/owner"
		tb__err "logs kept in $TB_DIR"
	fi
	TB_PREFIX=""
	TB_PIDS=()
	return "$rc"
}

tb__no_pids_left() { [ -z "$(tb__our_pids)" ]; }

tb__on_exit() {
	local rc=$? f
	set +eu
	trap - EXIT INT TERM HUP
	exec 1>&"$TB__OUT" 2>&"$TB__ERR"
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -n "$TB_DIR" ] && [ -d "$TB_DIR" ]; then
		for f in "$TB_DIR"/*.log; do
			[ -e "$f" ] && tb__tail "$f"
		done
		TB_KEEP=1
	fi
	if ! tb_cleanup; then
		if [ "$rc" = 0 ] || [ "$rc" = 77 ]; then
			rc=1
		fi
	fi
	exit "$rc"
}

# ---- building blocks -----------------------------------------------------------

tb_netns_add() {
	local ns sys
	tb__ns "$1" || return 1
	ns=$TB__NS
	tb__x ip netns add "$ns" || return 1
	# Before any interface exists, so that every new one inherits "default".
	sys=(net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
		net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
		net.ipv6.conf.all.keep_addr_on_down=1
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0)
	if [ "${2:-}" = router ]; then
		sys+=(net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1)
	fi
	tb__x ip netns exec "$ns" sysctl -qw "${sys[@]}" || return 1
	tb__x ip -n "$ns" link set dev lo up
}

tb_veth() {
	local ns1 ns2
	tb__ns "$1" || return 1
	ns1=$TB__NS
	tb__ns "$3" || return 1
	ns2=$TB__NS
	tb__x ip -n "$ns1" link add name "$2" type veth peer name "$4" netns "$ns2"
}

tb_addr() {
	local ns ifc a
	tb__ns "$1" || return 1
	ns=$TB__NS
	ifc=$2
	shift 2
	for a in "$@"; do
		case $a in
		*:*) printf 'addr add %s dev %s nodad\n' "$a" "$ifc" ;;
		*) printf 'addr add %s dev %s\n' "$a" "$ifc" ;;
		esac
	done | tb__x ip -n "$ns" -b - || return 1
	tb__x ip -n "$ns" link set dev "$ifc" up
}

# tb__ipb NAME [IP OPTIONS]: run the ip(8) batch on stdin in namespace NAME.
tb__ipb() {
	tb__ns "$1" || return 1
	shift
	tb__x ip -n "$TB__NS" "$@" -b -
}

# A linkem port: no IPv6, no ARP replies (else the router would answer ARP
# for its own address on this port and the client would bypass the wire),
# promiscuous, offloads off (linkem copies frames, so checksums and segments
# must be complete), up.
tb_wire_if() {
	local ns
	tb__ns "$1" || return 1
	ns=$TB__NS
	tb__x ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" \
		"net.ipv4.conf.$2.arp_ignore=8" || return 1
	tb__x ip -n "$ns" link set dev "$2" arp off promisc on || return 1
	tb__offloads_off "$1" "$2" || return 1
	tb__x ip -n "$ns" link set dev "$2" up
}

tb__offloads_off() {
	tb__nsx "$1" ethtool -K "$2" gro off gso off tso off tx off
}

# ---- standard topology ---------------------------------------------------------

tb__link_check() {
	case ${1:-} in
	0 | 1) return 0 ;;
	*) tb__err "access link must be 0 or 1, not '${1:-}'"; return 1 ;;
	esac
}

tb_topology_standard() {
	local linkem=auto nat66=0 wait=1 n spec
	local nat=() delays=() rates=()
	while [ $# -gt 0 ]; do
		case $1 in
		--nat)
			if [ "$2" = all ]; then nat+=(0 1); else nat+=("$2"); fi
			shift 2 ;;
		--nat66) nat66=1; shift ;;
		--linkem) linkem=yes; shift ;;
		--no-linkem) linkem=no; shift ;;
		--delay) delays+=("$2"); shift 2 ;;
		--rate) rates+=("$2"); shift 2 ;;
		--no-wait) wait=0; shift ;;
		*) tb__err "tb_topology_standard: unknown option $1"; return 1 ;;
		esac
	done
	case $linkem in
	yes) [ -n "$TB_LINKEM" ] || { tb__err "linkem required but not built"; return 1; } ;;
	no) ;;
	auto) [ -n "$TB_LINKEM" ] && linkem=yes ;;
	esac
	if [ ${#delays[@]} -gt 0 ] && [ "$linkem" != yes ]; then
		tb__err "tb_topology_standard: --delay needs linkem (${HATUN_BUILD_DIR:-<build>}/tools/linkem/linkem)"
		return 1
	fi

	for n in client access0 access1 concentrator server; do
		case $n in
		client | server) tb_netns_add "$n" ;;
		*) tb_netns_add "$n" router ;;
		esac || return 1
	done
	tb__topo_links "$linkem" | tb__x ip -b - || return 1
	for n in 0 1; do
		tb__topo_access "$n" "$linkem" || return 1
	done
	tb__topo_core || return 1
	tb__topo_client "$linkem" || return 1

	for n in "${nat[@]}"; do
		if [ "$nat66" = 1 ]; then tb_nat "$n" v6; else tb_nat "$n"; fi || return 1
	done
	if [ "$linkem" = yes ]; then
		for n in 0 1; do
			spec=$(tb__opt_for "$n" "${delays[@]}")
			if [ -n "$spec" ]; then
				tb_link_delay "$n" "${spec%%:*}" "${spec#*:}" || return 1
			else
				tb_linkem "$n" || return 1
			fi
		done
	fi
	for n in 0 1; do
		spec=$(tb__opt_for "$n" "${rates[@]}")
		[ -z "$spec" ] || tb_link_rate "$n" "${spec%%:*}" "${spec#*:}" || return 1
	done
	if [ "$wait" = 1 ]; then
		tb_wait_reachable || return 1
	fi
}

# tb__opt_for LINK SPEC...: of "LINK:A[:B]" specs print "A:B" for LINK (B defaults to A).
tb__opt_for() {
	local link=$1 s rest
	shift
	for s in "$@"; do
		[ "${s%%:*}" = "$link" ] || continue
		rest=${s#*:}
		case $rest in
		*:*) printf '%s\n' "$rest" ;;
		*) printf '%s:%s\n' "$rest" "$rest" ;;
		esac
	done
}

# All veth pairs of the standard topology, in one ip(8) batch.
tb__topo_links() {
	local linkem=$1 p=$TB_PREFIX n
	for n in 0 1; do
		if [ "$linkem" = yes ]; then
			echo "link add name wan$n netns $p-client type veth peer name lkc netns $p-access$n"
			echo "link add name lkr netns $p-access$n type veth peer name lan netns $p-access$n"
		else
			echo "link add name wan$n netns $p-client type veth peer name lan netns $p-access$n"
		fi
		echo "link add name up netns $p-access$n type veth peer name acc$n netns $p-concentrator"
	done
	echo "link add name inet netns $p-concentrator type veth peer name inet netns $p-server"
}

tb__topo_access() {
	local n=$1 linkem=$2 acc="access$1" i
	TB_WIRE[n]=0
	if [ "$linkem" = yes ]; then
		TB_WIRE[n]=1
		tb__nsx "$acc" sysctl -qw net.ipv6.conf.lkc.disable_ipv6=1 \
			net.ipv6.conf.lkr.disable_ipv6=1 net.ipv4.conf.lkc.arp_ignore=8 \
			net.ipv4.conf.lkr.arp_ignore=8 || return 1
		for i in lkc lkr lan; do
			tb__offloads_off "$acc" "$i" || return 1
		done
	fi
	{
		if [ "$linkem" = yes ]; then
			echo "link set dev lkc arp off promisc on up"
			echo "link set dev lkr arp off promisc on up"
		fi
		echo "addr add ${TB_LAN_V4[n]}/28 dev lan"
		echo "addr add ${TB_LAN_V6[n]}/64 dev lan nodad"
		echo "addr add ${TB_UP_V4[n]}/28 dev up"
		echo "addr add ${TB_UP_V6[n]}/64 dev up nodad"
		echo "link set dev lan up"
		echo "link set dev up up"
		echo "route add default via ${TB_CONC_ACC_V4[n]}"
		echo "route add default via ${TB_CONC_ACC_V6[n]}"
	} | tb__ipb "$acc" || return 1
	tb__nsx "$acc" nft -f - <<-'EOF'
		table inet tb_count {
			counter up { }
			counter down { }
			chain count {
				type filter hook forward priority -10; policy accept;
				iifname "lan" counter name "up"
				oifname "lan" counter name "down"
			}
		}
	EOF
}

tb__topo_core() {
	local n
	{
		for n in 0 1; do
			echo "addr add ${TB_CONC_ACC_V4[n]}/28 dev acc$n"
			echo "addr add ${TB_CONC_ACC_V6[n]}/64 dev acc$n nodad"
			echo "link set dev acc$n up"
		done
		echo "addr add $TB_CONC_INET_V4/28 dev inet"
		echo "addr add $TB_CONC_INET_V6/64 dev inet nodad"
		echo "link set dev inet up"
		echo "addr add $TB_CONC_V4/32 dev lo"
		echo "addr add $TB_CONC_V6/128 dev lo nodad"
		for n in 0 1; do
			echo "route add ${TB_LAN_NET_V4[n]} via ${TB_UP_V4[n]}"
			echo "route add ${TB_LAN_NET_V6[n]} via ${TB_UP_V6[n]}"
		done
	} | tb__ipb concentrator || return 1
	{
		echo "addr add $TB_SERVER_V4/28 dev inet"
		echo "addr add $TB_SERVER_V6/64 dev inet nodad"
		echo "link set dev inet up"
		echo "route add default via $TB_CONC_INET_V4"
		echo "route add default via $TB_CONC_INET_V6"
	} | tb__ipb server
}

tb__topo_client() {
	local n t linkem=$1
	if [ "$linkem" = yes ]; then
		for n in 0 1; do
			tb__offloads_off client "wan$n" || return 1
		done
	fi
	{
		for n in 0 1; do
			t=$((100 + n))
			echo "addr add ${TB_CLIENT_V4[n]}/28 dev wan$n"
			echo "addr add ${TB_CLIENT_V6[n]}/64 dev wan$n nodad"
			echo "link set dev wan$n up"
			echo "route add ${TB_LAN_NET_V4[n]} dev wan$n table $t"
			echo "route add default via ${TB_LAN_V4[n]} dev wan$n table $t"
			echo "route add ${TB_LAN_NET_V6[n]} dev wan$n table $t"
			echo "route add default via ${TB_LAN_V6[n]} dev wan$n table $t"
		done
		echo "route add default via $TB_ACCESS0_LAN_V4 dev wan0"
		echo "route add default via $TB_ACCESS0_LAN_V6 dev wan0"
	} | tb__ipb client || return 1
	# Rules do not infer the family from the address in batch mode.
	for n in 0 1; do
		echo "rule add from ${TB_CLIENT_V4[n]} table $((100 + n)) pref $((100 + n))"
	done | tb__ipb client -4 || return 1
	for n in 0 1; do
		echo "rule add from ${TB_CLIENT_V6[n]} table $((100 + n)) pref $((100 + n))"
	done | tb__ipb client -6
}

# Pings the server from each client address until it answers (fills the
# neighbour caches, so that the first measured ping is not an ND/ARP one).
tb_wait_reachable() {
	local n a dst
	for n in 0 1; do
		for a in "${TB_CLIENT_V4[n]}" "${TB_CLIENT_V6[n]}"; do
			dst=$TB_SERVER_V4
			case $a in *:*) dst=$TB_SERVER_V6 ;; esac
			if ! tb_wait 10 tb_ping_ok client "$a" "$dst"; then
				tb__err "topology: $dst unreachable from client $a"
				return 1
			fi
		done
	done
}

tb_ping_ok() {
	tb_exec "$1" ping -n -q -c 1 -W 1 -I "$2" "$3" >/dev/null 2>&1
}

# ---- linkem ---------------------------------------------------------------------

tb__linkem_alive() {
	local pid=${TB_LINKEM_PID[$1]}
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

tb_linkem() {
	local link=$1 pidf log
	tb__link_check "$link" || return 1
	shift
	if [ -z "$TB_LINKEM" ] || [ "${TB_WIRE[link]}" != 1 ]; then
		tb__err "tb_linkem: access link $link has no linkem wire"
		return 1
	fi
	tb_stop "${TB_LINKEM_PID[link]}"
	pidf=$TB_DIR/linkem$link.pid
	log=$TB_DIR/linkem$link.log
	rm -f "$pidf"
	tb_bg --log "$log" "access$link" "$TB_LINKEM" "$@" --pidfile "$pidf" \
		--stats "$TB_DIR/linkem$link.stats" lkc lkr || return 1
	TB_LINKEM_PID[link]=$TB_LAST_PID
	if ! tb__wait_pid 5 "$TB_LAST_PID" test -s "$pidf"; then
		tb__err "tb_linkem: linkem on access link $link did not start: $*"
		tb__tail "$log"
		return 1
	fi
	TB_LINK_STATE[link]=up
}

tb_link_delay() {
	local link=$1 up=$2 down=$3 jit=${4:-}
	if [ -n "$jit" ]; then
		tb_linkem "$link" --delay "$up:$down" --jitter "$jit:$jit"
	else
		tb_linkem "$link" --delay "$up:$down"
	fi
}

# The interface on the access side of the client's wanN cable.
tb__access_port() {
	if [ "${TB_WIRE[$1]}" = 1 ]; then echo lkc; else echo lan; fi
}

tb_link_down() {
	local link=$1 mode=${2:-auto}
	tb__link_check "$link" || return 1
	if [ "$mode" != carrier ] && tb__linkem_alive "$link"; then
		kill -USR1 "${TB_LINKEM_PID[link]}" || return 1
		TB_LINK_STATE[link]=signal
	else
		tb__x ip -n "$TB_PREFIX-access$link" link set dev "$(tb__access_port "$link")" down || return 1
		TB_LINK_STATE[link]=carrier
	fi
}

tb_link_up() {
	local link=$1
	tb__link_check "$link" || return 1
	case ${TB_LINK_STATE[link]} in
	signal) kill -USR2 "${TB_LINKEM_PID[link]}" || return 1 ;;
	carrier)
		tb__x ip -n "$TB_PREFIX-access$link" link set dev "$(tb__access_port "$link")" up || return 1
		;;
	esac
	TB_LINK_STATE[link]=up
}

# ---- shaping, loss -------------------------------------------------------------

tb_shape_rate() {
	local ns ifc=$2 mbit=$3 lat=${4:-100} burst
	tb__ns "$1" || return 1
	ns=$TB__NS
	if [ "$mbit" = 0 ]; then
		tb__dbg "[$ns] tc qdisc del dev $ifc root"
		ip -n "$ns" link show "$ifc" >/dev/null 2>&1 || return 1
		tc -n "$ns" qdisc del dev "$ifc" root >/dev/null 2>&1 || true
		return 0
	fi
	# Burst: 4 ms worth of bytes, at least 4 full frames.
	burst=$(awk -v m="$mbit" 'BEGIN { b = m * 1e6 / 8 * 0.004; if (b < 6056) b = 6056; printf "%d", b }')
	tb__x tc -n "$ns" qdisc replace dev "$ifc" root tbf rate "${mbit}mbit" \
		burst "$burst" latency "${lat}ms"
}

tb_link_rate() {
	local link=$1 up=$2 down=${3:-$2}
	tb__link_check "$link" || return 1
	tb_shape_rate client "wan$link" "$up" || return 1
	tb_shape_rate "access$link" lan "$down"
}

tb_loss() {
	local name=$1 ifc=$2 pct=$3 dir=${4:-out} n table
	table=tb_loss_$ifc
	n=$(awk -v p="$pct" 'BEGIN { printf "%d", p * 100 + 0.5 }')
	tb__nsx "$name" nft "delete table inet $table" 2>/dev/null || true
	[ "$n" -gt 0 ] || return 0
	{
		printf 'table inet %s {\n' "$table"
		if [ "$dir" = out ] || [ "$dir" = both ]; then
			printf '\tchain out { type filter hook postrouting priority -150; policy accept;\n'
			printf '\t\toifname "%s" numgen random mod 10000 < %d counter drop\n\t}\n' "$ifc" "$n"
		fi
		if [ "$dir" = in ] || [ "$dir" = both ]; then
			printf '\tchain in { type filter hook prerouting priority -350; policy accept;\n'
			printf '\t\tiifname "%s" numgen random mod 10000 < %d counter drop\n\t}\n' "$ifc" "$n"
		fi
		printf '}\n'
	} | tb__nsx "$name" nft -f -
}

tb_link_counter() {
	local out
	tb__link_check "$1" || return 1
	out=$(tb_exec "access$1" nft list counter inet tb_count "$2") || return 1
	printf '%s\n' "$out" | awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# tb_link_counters: prints "up0 down0 up1 down1" (one nft call per router).
tb_link_counters() {
	local n out
	for n in 0 1; do
		out=$(tb_exec "access$n" nft list counters table inet tb_count) || return 1
		printf '%s\n' "$out" | awk '
			/counter up/ { c = "up" } /counter down/ { c = "down" }
			/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") v[c] = $(i + 1) }
			END { printf "%s %s ", v["up"], v["down"] }'
	done
	echo
}

# ---- NAT -------------------------------------------------------------------------

# tb__nat_rules LINK RANGE: the nft script of accessN's masquerade.
tb__nat_rules() {
	local fam="meta nfproto ipv4 " to=""
	[ "${TB_NAT_V6[$1]}" = 1 ] && fam=""
	[ -z "$2" ] || to=" to :$2"
	printf 'table inet tb_nat {\n'
	printf '\tchain post { type nat hook postrouting priority srcnat; policy accept; }\n}\n'
	printf 'flush chain inet tb_nat post\n'
	# A port range needs an L4 protocol match; ICMP etc. take the second rule.
	[ -z "$to" ] || printf 'add rule inet tb_nat post oifname "up" %smeta l4proto { tcp, udp } masquerade%s\n' "$fam" "$to"
	printf 'add rule inet tb_nat post oifname "up" %smasquerade\n' "$fam"
}

tb_nat() {
	local link=$1
	tb__link_check "$link" || return 1
	TB_NAT_V6[link]=0
	[ "${2:-}" = v6 ] && TB_NAT_V6[link]=1
	tb__nat_rules "$link" "" | tb__nsx "access$link" nft -f - || return 1
	TB_NAT_ON[link]=1
	TB_NAT_GEN[link]=0
}

tb_nat_rebind() {
	local link=$1 gen range
	tb__link_check "$link" || return 1
	[ "${TB_NAT_ON[link]}" = 1 ] || { tb__err "tb_nat_rebind: no NAT on link $link"; return 1; }
	# Alternate between two disjoint port ranges (both below the client's
	# ephemeral range), so that every rebind yields a different port.
	gen=$((TB_NAT_GEN[link] + 1))
	range=10000-19999
	[ $((gen % 2)) = 0 ] && range=20000-29999
	tb__nat_rules "$link" "$range" | tb__nsx "access$link" nft -f - || return 1
	tb__nsx "access$link" python3 -c "$TB__PY_CT_FLUSH" || return 1
	TB_NAT_GEN[link]=$gen
}

# Flushes the conntrack table of the current namespace through ctnetlink
# (IPCTNL_MSG_CT_DELETE without a tuple = flush), so conntrack(8) is not needed.
TB__PY_CT_FLUSH='
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
s.bind((0, 0))
msg_type = (1 << 8) | 2        # NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE
body = struct.pack("=BBH", 0, 0, 0)  # nfgenmsg: AF_UNSPEC, version 0, res_id
hdr = struct.pack("=IHHII", 16 + len(body), msg_type, 1 | 4, 1, 0)  # REQUEST|ACK
s.send(hdr + body)
rep = s.recv(4096)
if struct.unpack("=H", rep[4:6])[0] == 2:  # NLMSG_ERROR
    err = struct.unpack("=i", rep[16:20])[0]
    if err not in (0, -2):   # -ENOENT: table already empty
        raise SystemExit("conntrack flush: errno %d" % -err)
'

# ---- measurements ----------------------------------------------------------------

tb_ping_stats() {
	local name=$1 src=$2 dst=$3 count=$4 ival=${5:-0.2} out
	# ping fails when packets are lost; the summary is what matters.
	out=$(tb_exec "$name" ping -n -q -c "$count" -i "$ival" -W 2 -I "$src" "$dst" 2>&1) || true
	printf '%s\n' "$out" |
		awk '/packets transmitted/ { sent = $1; recv = $4 }
		     /^rtt|^round-trip/ { split($4, r, "/") }
		     END { if (sent == "") exit 1
		           printf "%d %d %.1f %s %s %s\n", sent, recv, sent ? 100 * (sent - recv) / sent : 100,
		                  r[1] == "" ? "-" : r[1], r[2] == "" ? "-" : r[2], r[3] == "" ? "-" : r[3] }'
}

tb_iperf_server() {
	TB_IPERF_PORT=${2:-$TB_IPERF_PORT}
	tb_bg --port "tcp:$TB_IPERF_PORT" "$1" iperf3 -s -p "$TB_IPERF_PORT"
}

tb_iperf() {
	local name=$1 src=$2 dst=$3 secs=${4:-3} out
	shift 3
	[ $# -eq 0 ] || shift
	out=$(tb_exec "$name" iperf3 -c "$dst" -B "$src" -p "$TB_IPERF_PORT" -t "$secs" -O 1 -J "$@") || {
		tb__err "tb_iperf: iperf3 failed"
		printf '%s\n' "$out" | tail -n 5 >&2
		return 1
	}
	printf '%s\n' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("%.1f" % (d["end"]["sum_received"]["bits_per_second"] / 1e6))'
}

TB__PY_WHOAMI_SERVER='
import socket, sys, threading
port = int(sys.argv[1])
def serve(fam, kind):
    s = socket.socket(fam, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", port))
    if kind == socket.SOCK_STREAM:
        s.listen(64)
        while True:
            c, a = s.accept()
            c.sendall(("%s %d\n" % (a[0], a[1])).encode())
            c.close()
    while True:
        _, a = s.recvfrom(2048)
        s.sendto(("%s %d\n" % (a[0], a[1])).encode(), a)
ts = [threading.Thread(target=serve, args=(f, k), daemon=True)
      for f in (socket.AF_INET, socket.AF_INET6)
      for k in (socket.SOCK_STREAM, socket.SOCK_DGRAM)]
for t in ts: t.start()
for t in ts: t.join()
'

TB__PY_WHOAMI='
import socket, sys
src, dst, port, proto = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
s.bind((src, 0))
s.settimeout(1)
if proto == "udp":
    for _ in range(5):
        s.sendto(b"?", (dst, port))
        try:
            print(s.recv(256).decode().strip()); break
        except socket.timeout:
            pass
    else:
        raise SystemExit("no UDP answer")
else:
    s.settimeout(5)
    s.connect((dst, port))
    print(s.makefile().readline().strip())
'

tb_whoami_server() {
	tb__ns "$1" || return 1
	tb_bg --port "tcp:$2" --until "[ -n \"\$(ss -N $TB__NS -Huln 'sport = :$2')\" ]" \
		"$1" python3 -c "$TB__PY_WHOAMI_SERVER" "$2"
}

tb_whoami() {
	tb_exec "$1" python3 -c "$TB__PY_WHOAMI" "$2" "$3" "$4" "${5:-tcp}"
}

tb_web_file() {
	mkdir -p "$TB_DIR/www" || return 1
	head -c $(($1 * 1048576)) /dev/urandom >"$TB_DIR/www/file" || return 1
	# shellcheck disable=SC2034 # read by the tests
	TB_WEB_SHA256=$(sha256sum <"$TB_DIR/www/file" | cut -d' ' -f1)
	tb_bg --port tcp:8080 server python3 -m http.server 8080 --bind "$TB_SERVER_V4" \
		--directory "$TB_DIR/www"
}

# ---- a LAN behind the client ----------------------------------------------------------

tb_lan_tproxy() {
	local port=$1
	LAN_GW4=192.0.2.65 LAN_H4=192.0.2.66 LAN_GW6=2001:db8:50::1 LAN_H6=2001:db8:50::2
	tb_netns_add lan || return 1
	tb_veth client lan0 lan eth0 || return 1
	tb_addr client lan0 "$LAN_GW4/26" "$LAN_GW6/64" || return 1
	tb_addr lan eth0 "$LAN_H4/26" "$LAN_H6/64" || return 1
	tb_exec lan ip route add default via "$LAN_GW4" || return 1
	tb_exec lan ip -6 route add default via "$LAN_GW6" || return 1
	# Mark and steer TCP from the LAN to the local socket; marked packets
	# are routed to the local stack.
	tb_exec client nft -f - <<EOF || return 1
table inet hatun_tproxy {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		iifname "lan0" meta l4proto tcp ip daddr 0.0.0.0/0 tproxy ip to :$port meta mark set 1 accept
		iifname "lan0" meta l4proto tcp ip6 daddr ::/0 tproxy ip6 to :$port meta mark set 1 accept
	}
}
EOF
	tb_exec client ip -4 rule add fwmark 1 lookup 200 pref 50 || return 1
	tb_exec client ip -6 rule add fwmark 1 lookup 200 pref 50 || return 1
	tb_exec client ip -4 route add local 0.0.0.0/0 dev lo table 200 || return 1
	tb_exec client ip -6 route add local ::/0 dev lo table 200
}

# ---- hatun's multipath client -----------------------------------------------------

# tb_path_state HATUN SOCK NAME: the state `hatun status` (control socket
# SOCK, in the client namespace) shows for path NAME ("active", "failed", ...).
tb_path_state() {
	tb_exec client "$1" status --control "$2" 2>/dev/null |
		awk -v p="$3" '$1 == "path" && $2 == p ":" { s = $5; gsub(/[()]/, "", s); print s }'
}

# tb_wait_path HATUN SOCK NAME STATE SECONDS: until path NAME is in STATE.
tb_wait_path() {
	local i
	for i in $(seq 1 $(($5 * 10))); do
		[ "$(tb_path_state "$1" "$2" "$3")" = "$4" ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- MPTCP + TCP Fast Open (Convert, issue 6) ----------------------------------------

# tb_mptcp_tfo [--subflow]: MPTCP and TCP Fast Open (client and server
# side) on in the client, concentrator and server namespaces, or skip the
# test.  --subflow: both ends accept 2 subflows and the client's path
# manager opens one from wan1 besides the initial one (wan0).
tb_mptcp_tfo() {
	local ns
	for ns in client concentrator server; do
		tb_exec "$ns" sysctl -qw net.mptcp.enabled=1 net.ipv4.tcp_fastopen=3 \
			|| tb_skip "no MPTCP / TFO sysctl"
	done
	[ "${1:-}" = --subflow ] || return 0
	tb_exec client ip mptcp limits set subflows 2 add_addr_accepted 2 &&
		tb_exec concentrator ip mptcp limits set subflows 2 add_addr_accepted 2 &&
		tb_exec client ip mptcp endpoint add "$TB_CLIENT_WAN1_V4" dev wan1 subflow
}
