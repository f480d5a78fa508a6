#!/usr/bin/env bash
# Proves the standard testbed topology (tests/netns/lib.sh, docs/TESTBED.md):
#   - the server answers ping from both client addresses, IPv4 and IPv6;
#   - each source address leaves by its own access link (forward counters of
#     the access routers), the default route is access link 0;
#   - CPE NAT on access link 1 (the server sees access1's address, link 0 is
#     not translated) and tb_nat_rebind gives a UDP flow a new mapped port;
#   - with linkem: 20 ms / 50 ms one-way delays show in the RTT, delays can
#     be changed at run time;
#   - tb_link_rate (tbf) caps iperf3 throughput, tb_loss (nftables) drops the
#     configured share of packets, tb_link_down/up cut and restore a link;
#   - cleanup leaves no namespace and no process behind.
# Root only (else SKIP, exit 77).  About 60 s.
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd iperf3 ping

# between VALUE LOW HIGH: LOW <= VALUE <= HIGH (decimals allowed).
between() {
	awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "-" && v + 0 >= lo && v + 0 <= hi) }'
}

# lines_ge FILE N: FILE has at least N lines.
lines_ge() { [ "$(wc -l <"$1")" -ge "$2" ]; }

# ping_check LINK FAMILY COUNT INTERVAL: sets S_RECV S_LOSS S_MIN S_AVG S_MAX.
ping_check() {
	local src=${TB_CLIENT_V4[$1]} dst=$TB_SERVER_V4 out
	if [ "$2" = 6 ]; then
		src=${TB_CLIENT_V6[$1]}
		dst=$TB_SERVER_V6
	fi
	out=$(tb_ping_stats client "$src" "$dst" "$3" "$4") || tb_fail "ping from $src to $dst did not run"
	read -r _ S_RECV S_LOSS S_MIN S_AVG S_MAX <<<"$out"
}

check_reachability() {
	local n f
	for n in 0 1; do
		for f in 4 6; do
			ping_check "$n" "$f" 5 0.05
			[ "$S_RECV" = 5 ] || tb_fail "link $n IPv$f: $S_RECV/5 pings answered"
			tb_ok "link $n IPv$f: server answers 5/5, rtt avg $S_AVG ms"
		done
	done
}

# Ping from the address of link N; the forward counters of the access
# routers must show the packets on link N only, in both directions.
check_paths() {
	local n f o c0 c1 du dd
	for n in 0 1; do
		o=$((1 - n))
		for f in 4 6; do
			read -r -a c0 <<<"$(tb_link_counters)"
			ping_check "$n" "$f" 10 0.02
			[ "$S_RECV" = 10 ] || tb_fail "link $n IPv$f: $S_RECV/10 answered"
			read -r -a c1 <<<"$(tb_link_counters)"
			du=$((c1[2 * n] - c0[2 * n]))
			dd=$((c1[2 * n + 1] - c0[2 * n + 1]))
			{ [ "$du" -ge 10 ] && [ "$dd" -ge 10 ]; } ||
				tb_fail "link $n IPv$f: access$n forwarded $du up / $dd down, expected >= 10"
			{ [ "${c1[2 * o]}" = "${c0[2 * o]}" ] && [ "${c1[2 * o + 1]}" = "${c0[2 * o + 1]}" ]; } ||
				tb_fail "link $n IPv$f: traffic leaked through access$o"
			tb_ok "link $n IPv$f: source address leaves by access$n ($du up, $dd down), none via access$o"
		done
	done
	read -r -a c0 <<<"$(tb_link_counters)"
	tb_exec client ping -n -q -c 5 -i 0.02 -W 2 "$TB_SERVER_V4" >/dev/null || tb_fail "default route: no answer"
	tb_exec client ping -n -q -c 5 -i 0.02 -W 2 "$TB_SERVER_V6" >/dev/null || tb_fail "default route v6: no answer"
	read -r -a c1 <<<"$(tb_link_counters)"
	{ [ $((c1[0] - c0[0])) -ge 10 ] && [ "${c1[2]}" = "${c0[2]}" ]; } ||
		tb_fail "default route does not use access link 0"
	tb_ok "default route (no source address) is access link 0, IPv4 and IPv6"
}

# whoami_is LINK FAMILY PROTO EXPECTED_ADDR: what the server sees.
whoami_is() {
	local src=${TB_CLIENT_V4[$1]} dst=$TB_SERVER_V4 seen
	if [ "$2" = 6 ]; then
		src=${TB_CLIENT_V6[$1]}
		dst=$TB_SERVER_V6
	fi
	seen=$(tb_whoami client "$src" "$dst" 7777 "$3") || tb_fail "whoami $3 from $src failed"
	[ "${seen% *}" = "$4" ] || tb_fail "link $1 IPv$2 $3: server sees $seen, expected $4"
	tb_ok "link $1 IPv$2 $3: server sees $seen"
}

# One UDP socket sends before and after tb_nat_rebind; the mapped port changes.
PY_UDP_TWICE='
import os, socket, sys, time
src, dst, port, trigger = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
s.settimeout(1)
def ask():
    for _ in range(5):
        s.sendto(b"?", (dst, port))
        try:
            print(s.recv(256).decode().strip(), flush=True); return
        except socket.timeout:
            pass
    raise SystemExit("no answer")
ask()
deadline = time.time() + 20
while not os.path.exists(trigger) and time.time() < deadline:
    time.sleep(0.02)
ask()
'

check_nat() {
	local log trig first second pid
	tb_whoami_server server 7777 || tb_fail "whoami server did not start"
	whoami_is 0 4 tcp "$TB_CLIENT_WAN0_V4"
	whoami_is 1 4 tcp "$TB_ACCESS1_UP_V4"
	whoami_is 1 4 udp "$TB_ACCESS1_UP_V4"
	whoami_is 0 6 tcp "$TB_CLIENT_WAN0_V6"
	whoami_is 1 6 udp "$TB_CLIENT_WAN1_V6"

	trig=$TB_DIR/rebind.go
	log=$TB_DIR/udp-twice.log
	tb_bg --log "$log" client python3 -c "$PY_UDP_TWICE" "$TB_CLIENT_WAN1_V4" "$TB_SERVER_V4" 7777 "$trig"
	pid=$TB_LAST_PID
	tb_wait 10 grep -q . "$log" || tb_fail "UDP probe: no first answer"
	tb_nat_rebind 1 || tb_fail "tb_nat_rebind failed"
	touch "$trig"
	tb_wait 10 lines_ge "$log" 2 || tb_fail "UDP probe: no answer after rebind"
	wait "$pid" 2>/dev/null
	first=$(sed -n 1p "$log") second=$(sed -n 2p "$log")
	{ [ "${first% *}" = "$TB_ACCESS1_UP_V4" ] && [ "${second% *}" = "$TB_ACCESS1_UP_V4" ]; } ||
		tb_fail "NAT rebind: unexpected addresses: '$first' then '$second'"
	[ "${first#* }" != "${second#* }" ] || tb_fail "NAT rebind: mapped port unchanged ($first)"
	tb_ok "NAT rebind on link 1: same UDP socket mapped to $first, then $second"
}

# delay_check LINK FAMILY ONE_WAY_MS
delay_check() {
	local rtt=$(($3 * 2))
	ping_check "$1" "$2" 20 0.05
	[ "$S_RECV" = 20 ] || tb_fail "link $1 IPv$2: $S_RECV/20 answered"
	{ between "$S_MIN" "$rtt" $((rtt + 10)) && between "$S_AVG" "$rtt" $((rtt + 15)); } ||
		tb_fail "link $1 IPv$2: rtt min/avg $S_MIN/$S_AVG ms, expected ~$rtt ms"
	tb_ok "link $1 IPv$2: ${3} ms one-way -> rtt min/avg/max $S_MIN/$S_AVG/$S_MAX ms"
}

check_delay() {
	if [ "${TB_WIRE[0]}" != 1 ]; then
		tb_log "skip delay checks: linkem not built (${HATUN_BUILD_DIR:-?}/tools/linkem/linkem)"
		return 0
	fi
	delay_check 0 4 20
	delay_check 0 6 20
	delay_check 1 4 50
	delay_check 1 6 50
	tb_link_delay 0 5 5 || tb_fail "tb_link_delay 0 5 5"
	tb_wait_reachable || tb_fail "link 0 does not come back after tb_link_delay"
	delay_check 0 4 5
	tb_link_delay 0 20 20 10 || tb_fail "tb_link_delay with jitter"
	tb_wait_reachable || tb_fail "link 0 does not come back after tb_link_delay"
	ping_check 0 4 20 0.05
	{ between "$S_MIN" 40 70 && between "$S_MAX" 40 75; } ||
		tb_fail "link 0 with 20+-10 ms jitter: rtt $S_MIN/$S_AVG/$S_MAX"
	tb_ok "link 0: 20 ms + 0..10 ms jitter -> rtt min/avg/max $S_MIN/$S_AVG/$S_MAX ms"
	tb_link_delay 0 20 20 || tb_fail "tb_link_delay 0 20 20"
	tb_wait_reachable || tb_fail "link 0 does not come back after tb_link_delay"
}

check_rate() {
	local up down
	tb_iperf_server server || tb_fail "iperf3 server did not start"
	tb_link_rate 0 20 || tb_fail "tb_link_rate 0 20"
	up=$(tb_iperf client "$TB_CLIENT_WAN0_V4" "$TB_SERVER_V4" 2) || tb_fail "iperf3 up"
	down=$(tb_iperf client "$TB_CLIENT_WAN0_V4" "$TB_SERVER_V4" 2 -R) || tb_fail "iperf3 down"
	{ between "$up" 15 21 && between "$down" 15 21; } ||
		tb_fail "link 0 capped at 20 Mbit/s: measured up $up, down $down Mbit/s"
	tb_ok "link 0 capped at 20 Mbit/s: iperf3 up $up, down $down Mbit/s"
	tb_link_rate 0 0 || tb_fail "tb_link_rate 0 0"
}

# 20 % loss on 600 pings: the standard deviation of the measured loss is
# 1.6 points, so [10, 30] is more than 6 sigmas wide on each side.
check_loss() {
	tb_loss access0 up 20 || tb_fail "tb_loss access0 up 20"
	ping_check 0 4 600 0.005
	between "$S_LOSS" 10 30 || tb_fail "20 % loss on link 0: measured $S_LOSS %"
	tb_ok "tb_loss 20 % on access0:up: $S_LOSS % of 600 pings lost"
	tb_loss access0 up 0 || tb_fail "tb_loss access0 up 0"
	ping_check 0 4 100 0.01
	between "$S_LOSS" 0 1 || tb_fail "loss removed, but $S_LOSS % lost"
	tb_ok "tb_loss removed: $S_LOSS % of 100 pings lost"
}

# link_cut_check LINK [carrier]
link_cut_check() {
	local mode=${2:-} how
	tb_link_down "$1" ${mode:+"$mode"} || tb_fail "tb_link_down $1 $mode"
	how=${TB_LINK_STATE[$1]}
	ping_check "$1" 4 3 0.2
	[ "$S_RECV" = 0 ] || tb_fail "link $1 down${mode:+ ($mode)}: $S_RECV/3 pings answered"
	ping_check $((1 - $1)) 4 3 0.05
	[ "$S_RECV" = 3 ] || tb_fail "link $1 down: the other link lost pings too"
	if [ "$mode" = carrier ]; then
		tb_exec client ip link show dev "wan$1" | grep -q NO-CARRIER ||
			tb_fail "link $1 carrier down: client's wan$1 still has carrier"
	fi
	tb_link_up "$1" || tb_fail "tb_link_up $1"
	tb_wait 5 tb_ping_ok client "${TB_CLIENT_V4[$1]}" "$TB_SERVER_V4" ||
		tb_fail "link $1 not restored after tb_link_up"
	tb_wait 5 tb_ping_ok client "${TB_CLIENT_V6[$1]}" "$TB_SERVER_V6" ||
		tb_fail "link $1 IPv6 not restored after tb_link_up"
	tb_ok "tb_link_down $1${mode:+ $mode} (by $how): 0/3 pings, other link 3/3; tb_link_up restores IPv4+IPv6"
}

check_cleanup() {
	local prefix=$TB_PREFIX inos left
	inos=$(stat -L -c %i /run/netns/"$prefix"-* | tr '\n' ' ')
	tb_cleanup || tb_fail "tb_cleanup reported leftovers"
	left=$(ip netns list | grep "^$prefix-") && tb_fail "namespaces left: $left"
	left=$(QUOTING_STYLE=literal stat -c %N /proc/[0-9]*/ns/net 2>/dev/null |
		awk -v inos="$inos" 'BEGIN { n = split(inos, a, " "); for (i = 1; i <= n; i++) w["net:[" a[i] "]"] = 1 }
			$3 in w { print $1 }')
	[ -z "$left" ] || tb_fail "processes left in our namespaces: $left"
	[ ! -e "/tmp/hatun-tb.$prefix" ] || tb_fail "log directory left: /tmp/hatun-tb.$prefix"
	tb_ok "cleanup: no namespace, process or file of $prefix left"
}

# timed CMD...: runs CMD, then says how long it took (TB_VERBOSE=1 only).
timed() {
	local t=$EPOCHREALTIME
	"$@"
	if [ "$TB_VERBOSE" = 1 ]; then
		printf '     (%s: %.1f s)\n' "$*" "$(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"
	fi
}

main() {
	local t0=$SECONDS opts=(--nat 1)
	tb_init
	if [ -n "$TB_LINKEM" ]; then
		opts+=(--delay 0:20 --delay 1:50)
	fi
	tb_topology_standard "${opts[@]}" || tb_fail "tb_topology_standard ${opts[*]}"
	tb_ok "standard topology $TB_PREFIX-* (linkem: ${TB_LINKEM:-none}) in $((SECONDS - t0)) s"
	timed check_reachability
	timed check_paths
	timed check_nat
	timed check_delay
	timed check_rate
	timed check_loss
	timed link_cut_check 0
	timed link_cut_check 1 carrier
	timed check_cleanup
	tb_log "PASS: test_topology in $((SECONDS - t0)) s"
}

main "$@"
