#!/usr/bin/env bash
# hatun demo: a client with two access links (a "DSL" and an "LTE" line)
# reaching a server through the network-side concentrator, all inside
# network namespaces on this machine (nothing leaves it).
#
#   sudo bash scripts/demo.sh        (Debian 12, root; about 2 minutes)
#
# Steps: install dependencies, Release build (build/release), build the
# testbed topology (docs/TESTBED.md) with the link emulator on both access
# links, then show the topology, ping and iperf3 over each link, a link cut,
# the hatun tunnel (stream mode) carrying curl and iperf3 through a
# SOCKS5 entry point and an -L forward, and datagram mode (TUN devices on
# both ends) carrying ping and curl.  Everything is removed at the end, also
# on Ctrl-C.
#
#   DEMO_SKIP_BUILD=1   reuse an existing build/release (no apt, no cmake)
#   TB_VERBOSE=1        trace every testbed command
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# Access links: one-way delay (ms) and rate (Mbit/s) of each.
DSL_DELAY=20 DSL_RATE=50
LTE_DELAY=50 LTE_RATE=20
IPERF_SECONDS=3

BOLD="" RESET=""
if [ -t 1 ]; then
	BOLD=$(tput bold 2>/dev/null || true)
	RESET=$(tput sgr0 2>/dev/null || true)
fi

heading() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$RESET"; }
say() { printf '   %s\n' "$*"; }

# ---- preparation --------------------------------------------------------------

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "demo: needs root (network namespaces, packages): sudo bash scripts/demo.sh" >&2
		exit 1
	fi
}

install_and_build() {
	if [ "${DEMO_SKIP_BUILD:-0}" = 1 ]; then
		heading "Using the existing build in build/release (DEMO_SKIP_BUILD=1)"
		return 0
	fi
	heading "Installing dependencies (Debian packages)"
	bash scripts/install-deps.sh
	heading "Building hatun (Release) into build/release"
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build/release -j"$(nproc)" >/dev/null
	say "done: build/release"
}

# ---- the testbed --------------------------------------------------------------

start_testbed() {
	export HATUN_BUILD_DIR=$ROOT/build/release HATUN_SOURCE_DIR=$ROOT
	# shellcheck source=tests/netns/lib.sh
	. "$ROOT/tests/netns/lib.sh"
	tb_init
	heading "Building the testbed (network namespaces)"
	if [ -z "$TB_LINKEM" ]; then
		echo "demo: the link emulator build/release/tools/linkem/linkem is missing" >&2
		exit 1
	fi
	tb_topology_standard \
		--delay "0:$DSL_DELAY" --rate "0:$DSL_RATE" \
		--delay "1:$LTE_DELAY" --rate "1:$LTE_RATE"
	say "namespaces $TB_PREFIX-*: client, access0 (DSL), access1 (LTE), concentrator, server"
}

show_topology() {
	heading "Topology"
	cat <<-EOF
	 client          access0 "DSL": ${DSL_DELAY} ms each way, ${DSL_RATE} Mbit/s
	┌──────┐       ┌──────────────────────────────┐       ┌──────────────┐         ┌────────┐
	│ wan0 ╞═══════╡ lkc ─linkem─ lkr ═══ lan  up ╞═══════╡ acc0         │         │ server │
	│      │       └──────────────────────────────┘       │ concentrator │         │ "the   │
	│      │       ┌──────────────────────────────┐       │         inet ╞═════════╡ Inter- │
	│ wan1 ╞═══════╡ lkc ─linkem─ lkr ═══ lan  up ╞═══════╡ acc1         │         │ net"   │
	└──────┘       └──────────────────────────────┘       └──────────────┘         └────────┘
	                 access1 "LTE": ${LTE_DELAY} ms each way, ${LTE_RATE} Mbit/s
	   each box is a network namespace ($TB_PREFIX-<name>); ═══ is a virtual cable (veth);
	   linkem, the link emulator, adds the delay inside each access router.

	   client   wan0  $TB_CLIENT_WAN0_V4  $TB_CLIENT_WAN0_V6   (via access0 $TB_ACCESS0_LAN_V4)
	            wan1  $TB_CLIENT_WAN1_V4  $TB_CLIENT_WAN1_V6   (via access1 $TB_ACCESS1_LAN_V4)
	   access0  up    $TB_ACCESS0_UP_V4  $TB_ACCESS0_UP_V6
	   access1  up    $TB_ACCESS1_UP_V4  $TB_ACCESS1_UP_V6
	   concentrator   $TB_CONC_V4  $TB_CONC_V6   (service address)
	   server         $TB_SERVER_V4  $TB_SERVER_V6
	EOF
	heading "The client's routing: each source address leaves by its own link"
	tb_exec client ip rule show | sed 's/^/   /'
	tb_exec client ip route show table 100 | sed 's/^/   table 100: /'
	tb_exec client ip route show table 101 | sed 's/^/   table 101: /'
}

# ping_link LINK NAME: prints the ping summary over one access link.
ping_link() {
	local n=$1 name=$2 fam src dst out
	for fam in IPv4 IPv6; do
		src=${TB_CLIENT_V4[n]} dst=$TB_SERVER_V4
		if [ "$fam" = IPv6 ]; then
			src=${TB_CLIENT_V6[n]} dst=$TB_SERVER_V6
		fi
		out=$(tb_ping_stats client "$src" "$dst" 10 0.1)
		read -r sent recv loss min avg max <<<"$out"
		printf '   %-4s %s  %s -> %s: %s/%s answered, rtt min/avg/max %s/%s/%s ms\n' \
			"$name" "$fam" "$src" "$dst" "$recv" "$sent" "$min" "$avg" "$max"
		: "$loss"
	done
}

show_ping() {
	heading "Ping from the client to the server over each link (expect ~$((2 * DSL_DELAY)) and ~$((2 * LTE_DELAY)) ms)"
	ping_link 0 DSL
	ping_link 1 LTE
}

show_iperf() {
	local n name up down
	heading "iperf3 from the client to the server over each link (${IPERF_SECONDS} s each way)"
	tb_iperf_server server
	for n in 0 1; do
		name=DSL
		[ "$n" = 1 ] && name=LTE
		up=$(tb_iperf client "${TB_CLIENT_V4[n]}" "$TB_SERVER_V4" "$IPERF_SECONDS")
		down=$(tb_iperf client "${TB_CLIENT_V4[n]}" "$TB_SERVER_V4" "$IPERF_SECONDS" -R)
		printf '   %s: upload %s Mbit/s, download %s Mbit/s\n' "$name" "$up" "$down"
	done
}

# Four pings a second over DSL for 6 s; the link is cut after 2 s and
# restored 2 s later.  Each ping is shown at the time it was sent.
show_link_cut() {
	local log=$TB_DIR/cut.log t0 tdown tup
	heading "Cutting the DSL link for 2 seconds (linkem: link down, then up)"
	t0=$EPOCHREALTIME
	tb_bg --log "$log" client ping -n -D -O -i 0.25 -c 24 -W 1 -I "$TB_CLIENT_WAN0_V4" "$TB_SERVER_V4"
	# Between two pings, so that none is in flight at the cut.
	sleep 2.1
	tb_link_down 0
	tdown=$EPOCHREALTIME
	sleep 2
	tb_link_up 0
	tup=$EPOCHREALTIME
	wait "$TB_LAST_PID" || true
	awk -v t0="$t0" -v down="$tdown" -v up="$tup" '
		function mark(t) {
			if (!cut && t >= down - t0) { printf "   ---- t=%4.2f s  DSL link cut\n", down - t0; cut = 1 }
			if (!back && t >= up - t0) { printf "   ---- t=%4.2f s  DSL link restored\n", up - t0; back = 1 }
		}
		/icmp_seq=/ {
			match($0, /icmp_seq=[0-9]+/); seq = substr($0, RSTART + 9, RLENGTH - 9) + 0
			ts = substr($1, 2, length($1) - 2)
			if (seq > n) n = seq
			if ($0 ~ /no answer/) {
				# Printed just before the next ping is sent.
				res[seq] = "no answer"; sent[seq] = ts - 0.25 - t0
			} else {
				split($0, a, "time="); res[seq] = "reply after " a[2]
				sent[seq] = ts - a[2] / 1000 - t0
			}
		}
		END {
			for (i = 1; i <= n; i++) {
				if (!(i in res)) continue
				mark(sent[i])
				printf "   ping %2d sent at t=%4.2f s  %s\n", i, sent[i], res[i]
			}
		}' "$log"
	ping_link 0 DSL
}

# hatun stream mode across the same topology: the concentrator on its
# service address, the client (over its default route, the DSL line) with a
# SOCKS5 entry point and an -L forward; then what crosses the tunnel.
show_tunnel() {
	local hatun=$ROOT/build/release/src/cli/hatun sfp cfp out code ttfb mbit
	heading "hatun: TCP connections carried on QUIC streams through the concentrator"
	mkdir -p "$TB_DIR/conc" "$TB_DIR/cli" "$TB_DIR/www"
	sfp=$("$hatun" genkey "$TB_DIR/conc")
	cfp=$("$hatun" genkey "$TB_DIR/cli")
	say "concentrator identity $sfp"
	say "client identity       $cfp"
	head -c 1048576 /dev/urandom >"$TB_DIR/www/file"
	tb_bg --port tcp:8080 server python3 -m http.server --bind "$TB_SERVER_V4" \
		--directory "$TB_DIR/www" 8080
	local web_log=$TB_LAST_LOG
	ln -sf "$web_log" "$TB_DIR/web.log"

	tb_bg --port udp:443 concentrator "$hatun" concentrator --listen "$TB_CONC_V4:443" \
		--cert "$TB_DIR/conc/hatun.crt" --key "$TB_DIR/conc/hatun.key" --allow "$cfp"
	local conc_log=$TB_LAST_LOG
	tb_bg --port tcp:1080 client "$hatun" client --server "$TB_CONC_V4:443" --pin "$sfp" \
		--cert "$TB_DIR/cli/hatun.crt" --key "$TB_DIR/cli/hatun.key" \
		--socks 127.0.0.1:1080 -L "127.0.0.1:5201:$TB_SERVER_V4:$TB_IPERF_PORT"
	local cli_log=$TB_LAST_LOG
	say "hatun concentrator --listen $TB_CONC_V4:443 --allow <client> ..."
	say "hatun client --server $TB_CONC_V4:443 --pin <concentrator> --socks 127.0.0.1:1080 -L 5201:$TB_SERVER_V4:$TB_IPERF_PORT"

	out=$(tb_exec client curl -sS -o "$TB_DIR/got" -w '%{http_code} %{time_starttransfer}' \
		--socks5 127.0.0.1:1080 "http://$TB_SERVER_V4:8080/file")
	read -r code ttfb <<<"$out"
	if cmp -s "$TB_DIR/got" "$TB_DIR/www/file"; then
		say "curl --socks5 → http://$TB_SERVER_V4:8080/file: HTTP $code, 1 MiB intact, first byte after $(awk -v t="$ttfb" 'BEGIN{printf "%.0f", t*1000}') ms"
	else
		say "curl --socks5: HTTP $code, but the file differs!"
	fi
	say "the server saw the request come from: $(awk '/GET \/file/{print $1; exit}' "$web_log") (the concentrator)"
	out=$(tb_exec client curl -sS --socks5 127.0.0.1:1080 "http://$TB_SERVER_V4:9/" 2>&1 || true)
	say "a closed port answers with its real reason: ${out#curl: }"

	out=$(tb_exec client iperf3 -c 127.0.0.1 -p 5201 -t "$IPERF_SECONDS" -O 1 -J)
	mbit=$(python3 -c 'import json,sys; print("%.1f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e6))' <<<"$out")
	say "iperf3 through -L over the DSL line: $mbit Mbit/s (the line itself: $DSL_RATE)"
	say "client log, one line per tunnelled connection:"
	grep -E 'closed' "$cli_log" | tail -n 3 | sed 's/^/     /'
	say "concentrator log:"
	grep -E 'accepted|closed' "$conc_log" | tail -n 3 | sed 's/^/     /'
}

# hatun datagram mode: a second concentrator instance with a TUN device and
# address pools, the client with its own TUN; ping and curl to the server
# go through QUIC DATAGRAM frames, from the address the concentrator gave.
show_datagram() {
	local hatun=$ROOT/build/release/src/cli/hatun sfp cfp log inner inner6 out
	local ctun=hdc$TB_PREFIX stun=hds$TB_PREFIX
	heading "hatun datagram mode: a VPN, IP packets in QUIC DATAGRAM frames (TUN devices)"
	sfp=$("$hatun" fingerprint "$TB_DIR/conc/hatun.crt")
	cfp=$("$hatun" fingerprint "$TB_DIR/cli/hatun.crt")
	tb_bg --port udp:4434 concentrator "$hatun" concentrator --listen "$TB_CONC_V4:4434" \
		--cert "$TB_DIR/conc/hatun.crt" --key "$TB_DIR/conc/hatun.key" --allow "$cfp" \
		--tun "$stun" --pool 4:192.0.2.64/27 --pool 6:2001:db8:50::/64
	log=$TB_DIR/dgram-client.log
	tb_bg --log "$log" --until "grep -q '$ctun: address 2001' '$log'" client \
		"$hatun" client --server "$TB_CONC_V4:4434" --pin "$sfp" \
		--cert "$TB_DIR/cli/hatun.crt" --key "$TB_DIR/cli/hatun.key" --tun "$ctun" \
		--route "$TB_SERVER_V4/32" --route "$TB_SERVER_V6/128"
	say "hatun concentrator ... --tun $stun --pool 4:192.0.2.64/27 --pool 6:2001:db8:50::/64"
	say "hatun client ... --tun $ctun --route $TB_SERVER_V4/32 --route $TB_SERVER_V6/128"
	inner=$(grep -o "$ctun: address 192\.0\.2\.[0-9]*" "$log" | tail -1 | cut -d' ' -f3)
	inner6=$(grep -o "$ctun: address 2001:db8:50:[0-9a-f:]*" "$log" | tail -1 | cut -d' ' -f3)
	say "the client's tunnel device: $(tb_exec client ip -o addr show dev "$ctun" | awk '{print $4}' | tr '\n' ' ')(MTU $(tb_exec client cat "/sys/class/net/$ctun/mtu"))"
	out=$(tb_ping_stats client "$inner" "$TB_SERVER_V4" 5 0.2)
	read -r sent recv loss min avg max <<<"$out"
	say "ping $TB_SERVER_V4 from $inner through the tunnel: $recv/$sent answered, rtt avg $avg ms"
	out=$(tb_ping_stats client "$inner6" "$TB_SERVER_V6" 5 0.2)
	read -r sent recv loss min avg max <<<"$out"
	say "ping $TB_SERVER_V6 from $inner6: $recv/$sent answered, rtt avg $avg ms"
	: "$loss" "$min" "$max"
	if tb_exec client curl -sS -o "$TB_DIR/got2" "http://$TB_SERVER_V4:8080/file" &&
		cmp -s "$TB_DIR/got2" "$TB_DIR/www/file"; then
		say "curl http://$TB_SERVER_V4:8080/file through the TUN: 1 MiB intact"
	else
		say "curl through the TUN failed!"
	fi
	say "the server saw it come from: $(awk '/GET \/file/{a=$1} END{print a}' "$TB_DIR/web.log") (the client's tunnel address: routed, not NAT'd)"
}

main() {
	need_root
	install_and_build
	start_testbed
	show_topology
	show_ping
	show_iperf
	show_link_cut
	show_tunnel
	show_datagram
	heading "Cleaning up"
	tb_cleanup
	say "no namespace or process left"
	printf '\n%sdemo complete%s\n' "$BOLD" "$RESET"
}

main "$@"
