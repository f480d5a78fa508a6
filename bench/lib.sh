# shellcheck shell=bash
# shellcheck disable=SC2034 # BENCH_* variables are for the scripts that source this
# bench/lib.sh — the alternatives hatun is measured against, on the testbed.
#
# Sourced after tests/netns/lib.sh, once tb_init and tb_topology_standard
# have run:
#
#     . "$SRC/tests/netns/lib.sh"
#     . "$SRC/bench/lib.sh"
#     tb_init; tb_topology_standard --no-linkem
#     bench_start_iperf_servers
#     bench_wireguard || echo "skipped: $BENCH_SKIP"
#     bench_iperf 1 && echo "$BENCH_GBPS Gbit/s, $BENCH_SPG CPU s/GiB"
#     bench_stop
#
# Every alternative runs between the client and the concentrator over access
# link 0 (client:wan0 - access0 - concentrator:acc0); the concentrator then
# reaches the server namespace ("the Internet"), where iperf3 and the HTTP
# server run.  A function per alternative (bench_direct, bench_mptcp,
# bench_wireguard, bench_openvpn, bench_shadowsocks, bench_dante, and the
# hatun placeholders) starts it and sets:
#
#   BENCH_NAME        row label
#   BENCH_DST         where the iperf3 client connects (address)
#   BENCH_PORT        ... and on which port
#   BENCH_SRC         source address for iperf3 -B ("" = none)
#   BENCH_WRAP=()     command prefix for the client-side application
#                     (proxychains4 ..., mptcpize run)
#   BENCH_PIDS=()     tunnel/proxy processes on both ends whose CPU is counted
#                     (with all their descendants)
#   BENCH_HTTP_URL    URL that reaches the server's HTTP server through it
#   BENCH_CURL=()     extra curl options for it (e.g. --socks5 ...)
#   BENCH_NOTE        one line describing the setup
#   BENCH_SKIP        why it cannot run (function returned 2)
#
# A function returns 0 when the alternative is up and verified (one TCP
# connection through it to the server succeeded), 2 when it is skipped (a
# package is missing: BENCH_SKIP says which), 1 when it failed.  bench_stop
# stops the current alternative and undoes its routes; whatever is left is
# removed by the testbed's teardown (tb_cleanup kills every process in our
# namespaces and deletes them; all files live under $TB_DIR).
#
# Address plan of the tunnels (inside the testbed's free 192.0.2.64/26):
#   wireguard-go  192.0.2.64/29: client .65, concentrator .70; client table 110
#   OpenVPN       192.0.2.72/29: client .73, concentrator .78; client table 111
# The client sends only traffic *from* the tunnel address into the tunnel
# (policy rule "from <inner> lookup 11x", table: default dev <tun>), so the
# testbed's own routes are untouched; the concentrator routes the inner
# subnet to its TUN and the server answers through its default route.
#
# CPU accounting (bench_cpu_ticks): utime+stime+cutime+cstime from
# /proc/PID/stat of BENCH_PIDS and all their descendants, summed over both
# ends, before and after the iperf3 run.  This is user and system time of the
# tunnel/proxy processes, including the kernel work done in their syscalls
# (TUN read/write, UDP/TCP send and receive, copies, in-kernel crypto if any)
# and, since this kernel has CONFIG_IRQ_TIME_ACCOUNTING off and
# tick-based accounting, softirq work (packet receive, veth) that happened
# to run while one of them was on the CPU.  Not counted: softirq work run in
# ksoftirqd or in other processes' context (iperf3's own, linkem's), and
# the iperf3 endpoints themselves.  Kernel-only alternatives (direct TCP,
# kernel MPTCP) therefore show no CPU figure.
#
# Environment:
#   BENCH_SECONDS      iperf3 duration per run (default 10)
#   BENCH_IPERF_ARGS   extra iperf3 client arguments (e.g. "-R" for download)

: "${BENCH_SECONDS:=10}"
: "${BENCH_IPERF_ARGS:=}"

BENCH_IPERF_PORT=5201       # plain TCP iperf3 server in the server namespace
BENCH_IPERF_MPTCP_PORT=5202 # MPTCP iperf3 server (mptcpize) in the server namespace
BENCH_HTTP_PORT=8080        # python3 http.server in the server namespace
BENCH_SS_PORT=8388          # ss-server on the concentrator
BENCH_SS_IPERF=5301         # ss-tunnel on the client -> server:5201
BENCH_SS_HTTP=5302          # ss-tunnel on the client -> server:8080
BENCH_SOCKS_PORT=1080       # danted on the concentrator
BENCH_WG_PORT=51820         # wireguard-go on the concentrator
BENCH_OVPN_PORT=1194        # openvpn on the concentrator

BENCH_WG_CLIENT=192.0.2.65
BENCH_WG_CONC=192.0.2.70
BENCH_WG_NET=192.0.2.64/29
BENCH_OVPN_CLIENT=192.0.2.73
BENCH_OVPN_CONC=192.0.2.78
# wireguard-go's control socket is /var/run/wireguard/<ifname>.sock, shared
# by all namespaces: the interface names carry the testbed prefix.
BENCH_WG_IFC=""
BENCH_WG_IFS=""

BENCH_NAME=""
BENCH_DST=""
BENCH_PORT=""
BENCH_SRC=""
BENCH_WRAP=()
BENCH_PIDS=()
BENCH_UNDO=()
BENCH_HTTP_URL=""
BENCH_CURL=()
BENCH_NOTE=""
BENCH_SKIP=""
BENCH_KDIR=""

# ---- helpers -----------------------------------------------------------------

# bench_need_linkem SRC: tools/linkem/linkem under $HATUN_BUILD_DIR (default
# SRC/build/bench, exported), built there (Release) when it is missing.
bench_need_linkem() {
	: "${HATUN_BUILD_DIR:=$1/build/bench}"
	export HATUN_BUILD_DIR
	[ -x "$HATUN_BUILD_DIR/tools/linkem/linkem" ] && return 0
	echo "building linkem in $HATUN_BUILD_DIR" >&2
	cmake -S "$1" -B "$HATUN_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
		cmake --build "$HATUN_BUILD_DIR" --target linkem -j2 >/dev/null
}

bench__reset() {
	BENCH_NAME=$1
	BENCH_DST=$TB_SERVER_V4
	BENCH_PORT=$BENCH_IPERF_PORT
	BENCH_SRC=""
	BENCH_WRAP=()
	BENCH_PIDS=()
	BENCH_UNDO=()
	BENCH_HTTP_URL="http://$TB_SERVER_V4:$BENCH_HTTP_PORT/"
	BENCH_CURL=()
	BENCH_NOTE=""
	BENCH_SKIP=""
	BENCH_KDIR=$TB_DIR/bench-$1
	mkdir -p "$BENCH_KDIR"
}

# bench_need CMD:PACKAGE...: sets BENCH_SKIP and fails unless every CMD exists.
bench_need() {
	local s miss=()
	for s in "$@"; do
		command -v "${s%%:*}" >/dev/null 2>&1 || miss+=("${s#*:}")
	done
	[ ${#miss[@]} -eq 0 ] && return 0
	BENCH_SKIP="Debian package missing: ${miss[*]}"
	return 1
}

# bench__bg NAME CMD...: tb_bg, remembering the PID for CPU accounting.
bench__bg() {
	tb_bg "$@" || return 1
	BENCH_PIDS+=("$TB_LAST_PID")
}

# bench__probe: one TCP connection through the alternative to the server's
# iperf3 port must work (iperf3 itself, 1 s), else the setup failed.
bench__probe() {
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		if TB_TIMEOUT=15 tb_exec client "${BENCH_WRAP[@]}" iperf3 -c "$BENCH_DST" \
			-p "$BENCH_PORT" ${BENCH_SRC:+-B "$BENCH_SRC"} -n 64K >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.5
	done
	tb__err "$BENCH_NAME: no iperf3 connection through it to $BENCH_DST:$BENCH_PORT"
	return 1
}

# Stops the current alternative: its processes (and their descendants), then
# the undo commands (routes, rules, interfaces).
bench_stop() {
	local pids c
	if [ ${#BENCH_PIDS[@]} -gt 0 ]; then
		pids=$(python3 -c "$BENCH__PY_TREE" "${BENCH_PIDS[@]}")
		tb_stop "${BENCH_PIDS[@]}"
		# shellcheck disable=SC2086 # PID list
		[ -z "$pids" ] || kill -TERM $pids 2>/dev/null || true
	fi
	for c in "${BENCH_UNDO[@]}"; do
		eval "$c" >/dev/null 2>&1 || true
	done
	BENCH_PIDS=()
	BENCH_UNDO=()
}

# PIDs given and all their descendants (one per line).
BENCH__PY_TREE='
import os, sys
kids = {}
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        with open("/proc/%s/stat" % p) as f:
            s = f.read()
    except OSError:
        continue
    ppid = int(s[s.rindex(")") + 2:].split()[1])
    kids.setdefault(ppid, []).append(int(p))
todo = [int(a) for a in sys.argv[1:]]
seen = set()
while todo:
    p = todo.pop()
    if p in seen:
        continue
    seen.add(p)
    todo.extend(kids.get(p, []))
for p in sorted(seen):
    if os.path.exists("/proc/%d" % p):
        print(p)
'

# "PID TICKS" for each of PIDS and their descendants; ticks = utime + stime +
# cutime + cstime (clock ticks, see getconf CLK_TCK).
BENCH__PY_TICKS='
import os, sys
kids = {}
ticks = {}
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        with open("/proc/%s/stat" % p) as f:
            s = f.read()
    except OSError:
        continue
    f = s[s.rindex(")") + 2:].split()
    kids.setdefault(int(f[1]), []).append(int(p))
    ticks[int(p)] = sum(int(x) for x in f[11:15])
todo = [int(a) for a in sys.argv[1:]]
seen = set()
while todo:
    p = todo.pop()
    if p in seen:
        continue
    seen.add(p)
    todo.extend(kids.get(p, []))
for p in sorted(seen):
    if p in ticks:
        print(p, ticks[p])
'

# bench_cpu_ticks: snapshot of the alternative's CPU ticks ("PID TICKS" lines).
bench_cpu_ticks() {
	[ ${#BENCH_PIDS[@]} -gt 0 ] || return 0
	python3 -c "$BENCH__PY_TICKS" "${BENCH_PIDS[@]}"
}

# Parses iperf3 -J output on stdin, plus the CPU snapshots before/after in
# files $1 and $2: prints "Gbit/s bytes retransmits cpu_seconds".
BENCH__PY_IPERF='
import json, os, sys
d = json.load(sys.stdin)
if "error" in d:
    raise SystemExit("iperf3: " + d["error"])
e = d["end"]
rx = e["sum_received"]
tx = e.get("sum_sent", {})
def snap(path):
    r = {}
    with open(path) as f:
        for line in f:
            p, t = line.split()
            r[p] = int(t)
    return r
b, a = snap(sys.argv[1]), snap(sys.argv[2])
hz = os.sysconf("SC_CLK_TCK")
cpu = sum(max(0, t - b.get(p, 0)) for p, t in a.items()) / hz
print("%.3f %d %s %.2f" % (rx["bits_per_second"] / 1e9, rx["bytes"],
      tx.get("retransmits", "-"), cpu))
if os.environ.get("BENCH_INTERVALS"):
    per = ["%.0f" % (i["sum"]["bits_per_second"] / 1e6) for i in d.get("intervals", [])]
    print("   per second (Mbit/s, sender):", " ".join(per))
'

# bench_iperf FLOWS: one iperf3 TCP run through the current alternative.
# BENCH_INTERVALS=1 also prints the sender's rate per second (stderr).
# Sets BENCH_GBPS, BENCH_BYTES, BENCH_RETR, BENCH_CPU (s), BENCH_SPG (CPU
# s/GiB, "-" when no process is accounted), BENCH_PATHS (client packets sent
# over access link 0 / 1 during the run).
bench_iperf() {
	local flows=$1 out res l0 l1 m0 m1
	local args=(-c "$BENCH_DST" -p "$BENCH_PORT" -t "$BENCH_SECONDS" -J -P "$flows")
	[ -z "$BENCH_SRC" ] || args+=(-B "$BENCH_SRC")
	# shellcheck disable=SC2206 # user-supplied extra arguments
	args+=($BENCH_IPERF_ARGS)
	BENCH_GBPS="" BENCH_BYTES="" BENCH_RETR="" BENCH_CPU="" BENCH_SPG="" BENCH_PATHS=""
	l0=$(tb_link_counter 0 up) l1=$(tb_link_counter 1 up)
	mkdir -p "$BENCH_KDIR"
	bench_cpu_ticks >"$BENCH_KDIR/cpu.before"
	out=$(TB_TIMEOUT=$((BENCH_SECONDS + 30)) tb_exec client "${BENCH_WRAP[@]}" iperf3 "${args[@]}" 2>&1)
	bench_cpu_ticks >"$BENCH_KDIR/cpu.after"
	m0=$(tb_link_counter 0 up) m1=$(tb_link_counter 1 up)
	printf '%s\n' "$out" >"$BENCH_KDIR/iperf-P$flows.json"
	if ! res=$(printf '%s\n' "$out" | python3 -c "$BENCH__PY_IPERF" \
		"$BENCH_KDIR/cpu.before" "$BENCH_KDIR/cpu.after" 2>&1); then
		tb__err "$BENCH_NAME: iperf3 -P $flows failed: $(printf '%s\n' "$res" | tail -n 1)"
		return 1
	fi
	read -r BENCH_GBPS BENCH_BYTES BENCH_RETR BENCH_CPU <<<"$res"
	[ -z "${BENCH_INTERVALS:-}" ] || sed -n '2,$p' <<<"$res" >&2
	BENCH_PATHS="$((m0 - l0))/$((m1 - l1))"
	if [ ${#BENCH_PIDS[@]} -gt 0 ] && [ "$BENCH_BYTES" -gt 0 ]; then
		BENCH_SPG=$(awk -v c="$BENCH_CPU" -v b="$BENCH_BYTES" 'BEGIN { printf "%.2f", c / (b / 1073741824) }')
	else
		BENCH_SPG="-"
	fi
}

# ---- servers in the "Internet" -------------------------------------------------

# iperf3 (TCP 5201, MPTCP 5202 when mptcpize is there) and a tiny HTTP server
# in the server namespace.
bench_start_iperf_servers() {
	tb_iperf_server server "$BENCH_IPERF_PORT" || return 1
	if command -v mptcpize >/dev/null 2>&1; then
		tb_bg --port "tcp:$BENCH_IPERF_MPTCP_PORT" server \
			mptcpize run iperf3 -s -p "$BENCH_IPERF_MPTCP_PORT" || return 1
	fi
}

bench_start_http_server() {
	local d=$TB_DIR/www
	mkdir -p "$d"
	printf 'hello from the server namespace\n' >"$d/index.html"
	tb_bg --port "tcp:$BENCH_HTTP_PORT" server \
		python3 -m http.server --bind "$TB_SERVER_V4" --directory "$d" "$BENCH_HTTP_PORT"
}

# ---- the alternatives ------------------------------------------------------------

# Plain routed TCP: client (wan0) -> access0 -> concentrator -> server.
bench_direct() {
	bench__reset direct
	BENCH_SRC=$TB_CLIENT_WAN0_V4
	BENCH_NOTE="plain routed TCP, client wan0 -> access0 -> concentrator -> server"
	bench__probe
}

# Kernel MPTCP between client and server over both access links: the client
# announces wan1 as a subflow endpoint; iperf3 on both ends through mptcpize
# (LD_PRELOAD: socket(IPPROTO_TCP) -> IPPROTO_MPTCP; Debian's iperf3 3.12
# has no --mptcp).  The server's MPTCP iperf3 listens on 5202.
bench_mptcp() {
	bench__reset mptcp
	bench_need mptcpize:mptcpize || return 2
	tb_exec client sysctl -qw net.mptcp.enabled=1 || return 1
	tb_exec server sysctl -qw net.mptcp.enabled=1 || return 1
	tb_exec client ip mptcp limits set subflow 2 add_addr_accepted 2 || return 1
	tb_exec server ip mptcp limits set subflow 2 add_addr_accepted 2 || return 1
	tb_exec client ip mptcp endpoint flush || return 1
	tb_exec client ip mptcp endpoint add "$TB_CLIENT_WAN1_V4" dev wan1 id 2 subflow || return 1
	BENCH_UNDO+=("tb_exec client ip mptcp endpoint flush")
	BENCH_SRC=$TB_CLIENT_WAN0_V4
	BENCH_PORT=$BENCH_IPERF_MPTCP_PORT
	BENCH_WRAP=(mptcpize run)
	BENCH_NOTE="kernel MPTCP, initial subflow wan0, second subflow wan1 (in-kernel path manager, endpoint 'subflow'), mptcpize run iperf3 on both ends"
	bench__probe
}

# wireguard-go (Debian) on TUN in the client and in the concentrator.
bench_wireguard() {
	local d ck cp sk sp ic is
	bench__reset wireguard
	bench_need wireguard-go:wireguard-go wg:wireguard-tools || return 2
	d=$BENCH_KDIR
	(umask 077 && wg genkey >"$d/client.key" && wg genkey >"$d/conc.key") || return 1
	wg pubkey <"$d/client.key" >"$d/client.pub" && wg pubkey <"$d/conc.key" >"$d/conc.pub" || return 1
	ck=$d/client.key sk=$d/conc.key cp=$(cat "$d/client.pub") sp=$(cat "$d/conc.pub")
	BENCH_WG_IFC=wc$TB_PREFIX BENCH_WG_IFS=ws$TB_PREFIX
	ic=$BENCH_WG_IFC is=$BENCH_WG_IFS
	# Debian's wireguard-go refuses to run when the kernel has WireGuard
	# unless told; this kernel has none, but say it anyway.
	bench__bg --until "ip -n $TB_PREFIX-concentrator link show $is >/dev/null 2>&1" concentrator \
		env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$is" || return 1
	bench__bg --until "ip -n $TB_PREFIX-client link show $ic >/dev/null 2>&1" client \
		env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$ic" || return 1
	BENCH_UNDO+=("tb_exec client ip rule del pref 110" "tb_exec client ip route flush table 110"
		"tb_exec client ip link del $ic" "tb_exec concentrator ip link del $is")
	tb_exec concentrator wg set "$is" private-key "$sk" listen-port "$BENCH_WG_PORT" \
		peer "$cp" allowed-ips "$BENCH_WG_CLIENT/32" || return 1
	tb_exec client wg set "$ic" private-key "$ck" \
		peer "$sp" endpoint "$TB_CONC_V4:$BENCH_WG_PORT" allowed-ips 0.0.0.0/0 || return 1
	tb_addr concentrator "$is" "$BENCH_WG_CONC/29" || return 1
	tb_addr client "$ic" "$BENCH_WG_CLIENT/29" || return 1
	tb_exec client ip route add default dev "$ic" table 110 || return 1
	tb_exec client ip rule add from "$BENCH_WG_CLIENT" table 110 pref 110 || return 1
	BENCH_SRC=$BENCH_WG_CLIENT
	BENCH_NOTE="wireguard-go $(dpkg-query -W -f='${Version}' wireguard-go 2>/dev/null) (userspace, TUN, MTU $(ip -n "$TB_PREFIX-client" -o link show "$ic" | sed -n 's/.* mtu \([0-9]*\).*/\1/p')), UDP to $TB_CONC_V4:$BENCH_WG_PORT"
	bench__probe
}

# OpenVPN 2.6, UDP, TLS (self-signed EC certificates generated here, pinned
# with --peer-fingerprint), data channel AES-128-GCM, TUN, point-to-point.
bench_openvpn() {
	local d n common=()
	bench__reset openvpn
	bench_need openvpn:openvpn openssl:openssl || return 2
	d=$BENCH_KDIR
	for n in conc client; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-days 2 -subj "/CN=bench-$n" -keyout "$d/$n.key" -out "$d/$n.crt" \
			>/dev/null 2>&1 || { tb__err "openssl req failed"; return 1; }
		openssl x509 -in "$d/$n.crt" -noout -fingerprint -sha256 |
			sed 's/.*=//' >"$d/$n.fp" || return 1
	done
	common=(--dev ovb0 --dev-type tun --proto udp --disable-dco --dh none
		--data-ciphers AES-128-GCM --data-ciphers-fallback AES-128-GCM
		--ping 1 --verb 3 --script-security 0)
	bench__bg --port "udp:$BENCH_OVPN_PORT" \
		--log "$d/conc.log" concentrator openvpn "${common[@]}" --tls-server \
		--local "$TB_CONC_V4" --lport "$BENCH_OVPN_PORT" \
		--ifconfig "$BENCH_OVPN_CONC" "$BENCH_OVPN_CLIENT" \
		--cert "$d/conc.crt" --key "$d/conc.key" --peer-fingerprint "$(cat "$d/client.fp")" || return 1
	bench__bg --until "grep -q 'Initialization Sequence Completed' $d/client.log" \
		--log "$d/client.log" client openvpn "${common[@]}" --tls-client --nobind \
		--remote "$TB_CONC_V4" "$BENCH_OVPN_PORT" \
		--ifconfig "$BENCH_OVPN_CLIENT" "$BENCH_OVPN_CONC" \
		--cert "$d/client.crt" --key "$d/client.key" --peer-fingerprint "$(cat "$d/conc.fp")" || return 1
	# The server logs "Initialization Sequence Completed" only after the
	# handshake: wait for it now that the client runs.
	tb_wait 15 grep -q 'Initialization Sequence Completed' "$d/conc.log" || {
		tb__err "openvpn: concentrator never completed"; tb__tail "$d/conc.log"; return 1; }
	if ! grep -q "Data Channel: cipher 'AES-128-GCM'" "$d/client.log"; then
		tb__err "openvpn: data channel is not AES-128-GCM"
		grep 'Data Channel' "$d/client.log" >&2
		return 1
	fi
	tb_exec client ip route add default dev ovb0 table 111 || return 1
	tb_exec client ip rule add from "$BENCH_OVPN_CLIENT" table 111 pref 111 || return 1
	BENCH_UNDO+=("tb_exec client ip rule del pref 111" "tb_exec client ip route flush table 111")
	BENCH_SRC=$BENCH_OVPN_CLIENT
	BENCH_NOTE="OpenVPN $(openvpn --version | awk 'NR == 1 { print $2 }') (userspace, DCO off), UDP, TLS p2p with pinned self-signed certs, AES-128-GCM, TUN MTU $(ip -n "$TB_PREFIX-client" -o link show ovb0 | sed -n 's/.* mtu \([0-9]*\).*/\1/p')"
	bench__probe
}

# shadowsocks-libev: ss-server on the concentrator, ss-tunnel on the client
# as port forwards (like hatun -L) to the server's iperf3 and HTTP ports.
bench_shadowsocks() {
	local key
	bench__reset shadowsocks
	bench_need ss-server:shadowsocks-libev ss-tunnel:shadowsocks-libev || return 2
	key=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	bench__bg --port "tcp:$BENCH_SS_PORT" concentrator \
		ss-server -s "$TB_CONC_V4" -p "$BENCH_SS_PORT" -k "$key" -m aes-128-gcm || return 1
	bench__bg --port "tcp:$BENCH_SS_IPERF" client ss-tunnel -s "$TB_CONC_V4" -p "$BENCH_SS_PORT" \
		-k "$key" -m aes-128-gcm -b 127.0.0.1 -l "$BENCH_SS_IPERF" \
		-L "$TB_SERVER_V4:$BENCH_IPERF_PORT" || return 1
	bench__bg --port "tcp:$BENCH_SS_HTTP" client ss-tunnel -s "$TB_CONC_V4" -p "$BENCH_SS_PORT" \
		-k "$key" -m aes-128-gcm -b 127.0.0.1 -l "$BENCH_SS_HTTP" \
		-L "$TB_SERVER_V4:$BENCH_HTTP_PORT" || return 1
	BENCH_DST=127.0.0.1
	BENCH_PORT=$BENCH_SS_IPERF
	BENCH_HTTP_URL="http://127.0.0.1:$BENCH_SS_HTTP/"
	BENCH_NOTE="shadowsocks-libev $(dpkg-query -W -f='${Version}' shadowsocks-libev 2>/dev/null), aes-128-gcm, ss-tunnel (client, 127.0.0.1:$BENCH_SS_IPERF) -> ss-server ($TB_CONC_V4:$BENCH_SS_PORT) -> server"
	bench__probe
}

# dante: danted on the concentrator (SOCKS5, no authentication); the client
# application is run under proxychains4 (LD_PRELOAD that turns connect() into
# a SOCKS5 CONNECT through danted, then leaves the socket to the application:
# no extra hop and no per-read/write interposition on the client).  curl uses
# its own SOCKS5 client (--socks5).
bench_dante() {
	local d
	bench__reset dante
	bench_need danted:dante-server proxychains4:proxychains4 || return 2
	d=$BENCH_KDIR
	cat >"$d/danted.conf" <<-EOF
		logoutput: stderr
		internal: $TB_CONC_V4 port = $BENCH_SOCKS_PORT
		external: $TB_CONC_INET_V4
		clientmethod: none
		socksmethod: none
		user.privileged: root
		user.unprivileged: nobody
		client pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }
		socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 command: connect }
	EOF
	cat >"$d/proxychains.conf" <<-EOF
		strict_chain
		quiet_mode
		tcp_read_time_out 15000
		tcp_connect_time_out 8000
		[ProxyList]
		socks5 $TB_CONC_V4 $BENCH_SOCKS_PORT
	EOF
	bench__bg --port "tcp:$BENCH_SOCKS_PORT" concentrator \
		danted -f "$d/danted.conf" -p "$d/danted.pid" || return 1
	BENCH_WRAP=(proxychains4 -q -f "$d/proxychains.conf")
	BENCH_CURL=(--socks5 "$TB_CONC_V4:$BENCH_SOCKS_PORT")
	BENCH_NOTE="dante $(dpkg-query -W -f='${Version}' dante-server 2>/dev/null) danted ($TB_CONC_V4:$BENCH_SOCKS_PORT, SOCKS5, no auth); iperf3 under proxychains4, curl --socks5"
	bench__probe
}

# ---- hatun ------------------------------------------------------------------------
#
# hatun stream mode: `hatun concentrator` on the concentrator's service address
# (UDP 4433), `hatun client` in the client namespace with two -L forwards,
# 127.0.0.1:5401 -> iperf3 and 127.0.0.1:5402 -> the HTTP server.  The binary
# is $BENCH_HATUN, else $HATUN_BUILD_DIR/src/cli/hatun, else build/release.
# bench__hatun_keys: the hatun binary (HATUN_BIN) and a client and a
# concentrator identity in $BENCH_KDIR/hc, /hs (fingerprints HATUN_CFP,
# HATUN_SFP).  Returns 2 with BENCH_SKIP set when there is no binary.
bench__hatun_keys() {
	HATUN_BIN=${BENCH_HATUN:-${HATUN_BUILD_DIR:-build/release}/src/cli/hatun}
	if [ ! -x "$HATUN_BIN" ]; then
		BENCH_SKIP="no hatun binary at $HATUN_BIN (set BENCH_HATUN or HATUN_BUILD_DIR)"
		return 2
	fi
	mkdir -p "$BENCH_KDIR/hc" "$BENCH_KDIR/hs"
	HATUN_CFP=$("$HATUN_BIN" genkey --force "$BENCH_KDIR/hc") || return 1
	HATUN_SFP=$("$HATUN_BIN" genkey --force "$BENCH_KDIR/hs") || return 1
}

bench_hatun_stream() {
	local d hatun cfp sfp
	bench__reset hatun-stream
	bench__hatun_keys || return $?
	hatun=$HATUN_BIN cfp=$HATUN_CFP sfp=$HATUN_SFP d=$BENCH_KDIR
	bench__bg --port udp:4433 concentrator "$hatun" concentrator \
		--listen "$TB_CONC_V4:4433" --cert "$d/hs/hatun.crt" --key "$d/hs/hatun.key" \
		--allow "$cfp" --log-level warn || return 1
	bench__bg --port tcp:5402 client "$hatun" client --server "$TB_CONC_V4:4433" \
		--pin "$sfp" --cert "$d/hc/hatun.crt" --key "$d/hc/hatun.key" --log-level warn \
		-L "5401:$TB_SERVER_V4:$BENCH_IPERF_PORT" -L "5402:$TB_SERVER_V4:$BENCH_HTTP_PORT" ||
		return 1
	BENCH_DST=127.0.0.1
	BENCH_PORT=5401
	BENCH_HTTP_URL="http://127.0.0.1:5402/"
	BENCH_NOTE="hatun $("$hatun" version | head -1 | cut -d' ' -f2) stream mode: client -L 127.0.0.1:5401 -> QUIC ($TB_CONC_V4:4433, one stream per TCP connection) -> concentrator -> server"
	bench__probe
}

# hatun datagram mode: `hatun concentrator --tun` with an IPv4 pool
# 192.0.2.80/29 (the concentrator's TUN holds .81, the client gets one of
# .82-.86 over the control stream), `hatun client --tun`; like
# bench_wireguard the client sends only traffic from its tunnel address
# into the tunnel (policy rule "from <inner> lookup 112", table: default
# dev <tun>), so the testbed's routes are untouched.
BENCH_HD_POOL=192.0.2.80/29
BENCH_HD_CLIENT_ARGS=() # more client options (multipath.sh: the --paths)
bench_hatun_datagram() {
	local d hatun cfp sfp inner
	bench__reset hatun-datagram
	bench__hatun_keys || return $?
	hatun=$HATUN_BIN cfp=$HATUN_CFP sfp=$HATUN_SFP d=$BENCH_KDIR
	bench__bg --port udp:4434 concentrator "$hatun" concentrator \
		--listen "$TB_CONC_V4:4434" --cert "$d/hs/hatun.crt" --key "$d/hs/hatun.key" \
		--allow "$cfp" --tun "hds$TB_PREFIX" --pool "4:$BENCH_HD_POOL" || return 1
	bench__bg --log "$d/client.log" \
		--until "grep -q 'hdc$TB_PREFIX: address 192' $d/client.log" client \
		"$hatun" client --server "$TB_CONC_V4:4434" --pin "$sfp" \
		--cert "$d/hc/hatun.crt" --key "$d/hc/hatun.key" --tun "hdc$TB_PREFIX" \
		"${BENCH_HD_CLIENT_ARGS[@]}" || return 1
	inner=$(grep -o "hdc$TB_PREFIX: address 192\.0\.2\.[0-9]*" "$d/client.log" | tail -1 | cut -d' ' -f3)
	[ -n "$inner" ] || { tb__err "hatun datagram: no address assigned"; return 1; }
	tb_exec client ip route add default dev "hdc$TB_PREFIX" table 112 || return 1
	tb_exec client ip rule add from "$inner" table 112 pref 112 || return 1
	BENCH_UNDO+=("tb_exec client ip rule del pref 112" "tb_exec client ip route flush table 112")
	BENCH_SRC=$inner
	BENCH_NOTE="hatun $("$hatun" version | head -1 | cut -d' ' -f2) datagram mode: client TUN $inner (MTU $(ip -n "$TB_PREFIX-client" -o link show "hdc$TB_PREFIX" | sed -n 's/.* mtu \([0-9]*\).*/\1/p')) -> QUIC DATAGRAM frames ($TB_CONC_V4:4434) -> concentrator TUN -> server"
	bench__probe
}

# hatun converter on the concentrator's service address, hatun client
# --transport convert on the client with -L for iperf3 and HTTP: MPTCP +
# TFO from the client to the converter (BENCH_CONVERT_SUBFLOW=1 adds an
# MPTCP subflow endpoint on wan1, for aggregation), MPTCP (falling back to
# TCP) from the converter to the server.
bench_hatun_convert() {
	local hatun n
	bench__reset hatun-convert
	hatun=${BENCH_HATUN:-${HATUN_BUILD_DIR:-build/release}/src/cli/hatun}
	if [ ! -x "$hatun" ]; then
		BENCH_SKIP="no hatun binary at $hatun (set BENCH_HATUN or HATUN_BUILD_DIR)"
		return 2
	fi
	for n in client concentrator; do
		tb_exec "$n" sysctl -qw net.mptcp.enabled=1 net.ipv4.tcp_fastopen=3 || return 1
		tb_exec "$n" ip mptcp limits set subflows 2 add_addr_accepted 2 || return 1
	done
	tb_exec client ip mptcp endpoint flush || return 1
	BENCH_UNDO+=("tb_exec client ip mptcp endpoint flush")
	if [ "${BENCH_CONVERT_SUBFLOW:-0}" = 1 ]; then
		tb_exec client ip mptcp endpoint add "$TB_CLIENT_WAN1_V4" dev wan1 id 2 subflow || return 1
	fi
	bench__bg --port tcp:5124 concentrator "$hatun" converter --listen "$TB_CONC_V4:5124" \
		--log-level warn || return 1
	bench__bg --port tcp:5402 client "$hatun" client --transport convert \
		--converter "$TB_CONC_V4:5124" --log-level warn \
		-L "5401:$TB_SERVER_V4:$BENCH_IPERF_PORT" -L "5402:$TB_SERVER_V4:$BENCH_HTTP_PORT" ||
		return 1
	BENCH_DST=127.0.0.1
	BENCH_PORT=5401
	BENCH_HTTP_URL="http://127.0.0.1:5402/"
	BENCH_NOTE="hatun $("$hatun" version | head -1 | cut -d' ' -f2) Convert: client -L 127.0.0.1:5401 -> MPTCP+TFO, Convert message in the SYN -> converter ($TB_CONC_V4:5124, relay copying into MPTCP) -> server$([ "${BENCH_CONVERT_SUBFLOW:-0}" = 1 ] && echo ", second subflow on wan1")"
	bench__probe
}
