#!/usr/bin/env bash
# bench/ttfb.sh — time to first byte of a small HTTP request through each
# alternative, with 20 ms one-way delay on the access link and 20 ms between
# the concentrator and the server.
#
# usage: bench/ttfb.sh [--count N] [--access-delay MS] [--inet-delay MS]
#                      [--only NAME,NAME...]
#   --count N         measured requests per alternative (default 20, after
#                     one warm-up request that is not counted)
#   --access-delay MS one-way delay of access link 0 (linkem, default 20)
#   --inet-delay MS   one-way delay concentrator <-> server (default 20;
#                     0 = plain veth)
#   --only LIST       subset of: direct dante shadowsocks hatun_stream
#                     hatun_convert
# env: HATUN_BUILD_DIR (linkem; default build/bench, built on demand)
#
# Each request is a new `curl` process and a new TCP connection (no reuse):
# curl -w %{time_starttransfer} against python3 -m http.server in the server
# namespace.  Direct: curl -> server over access link 0.  dante: curl's own
# SOCKS5 client (--socks5, no authentication: greeting + CONNECT = 2 round
# trips to the concentrator before the request).  shadowsocks: curl ->
# ss-tunnel on the client (127.0.0.1, a port forward like hatun -L) ->
# ss-server on the concentrator -> server.
#
# TCP Fast Open (RFC 7413): the server namespace accepts it
# (net.ipv4.tcp_fastopen=3 and a listener with TCP_FASTOPEN: the HTTP server
# here is python3's http.server with that option set), the concentrator's
# namespace may send it (bit 1).  hatun's concentrator puts the client's
# first bytes in its upstream SYN once the kernel holds a cookie for the
# server (--no-upstream-tfo turns that off); the uncounted warm-up request
# through each alternative fetches the cookie, so the measured requests are
# warm.  curl itself does not use TFO (no --tcp-fastopen): "direct" stays
# plain TCP, and so do dante and ss-server (not started with --fast-open).
#
# The concentrator-server delay: tests/netns/lib.sh delays only the access
# links (tb_topology_standard --delay / tb_link_delay).  This script rebuilds
# the concentrator-server segment out of the library's building blocks
# (tb_netns_add, tb_veth, tb_wire_if, tb_addr) as
#     concentrator [inet] ══ [lkc] inetwire [lkr] ══ [inet] server
# and runs linkem --delay on the "inetwire" namespace's two ports, with the
# same addresses and routes as the standard topology.
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
COUNT=20
ADELAY=20
IDELAY=20
ONLY=""
ALL=(direct dante shadowsocks hatun_stream hatun_convert)

while [ $# -gt 0 ]; do
	case $1 in
	--count) COUNT=$2; shift 2 ;;
	--access-delay) ADELAY=$2; shift 2 ;;
	--inet-delay) IDELAY=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	-h | --help) sed -n '2,42p' "$0"; exit 0 ;;
	*) echo "ttfb.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

# shellcheck source=tests/netns/lib.sh
. "$SRC/tests/netns/lib.sh"
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"

tb_require_root
tb_require_cmd curl iperf3 python3 awk

ALTS=("${ALL[@]}")
if [ -n "$ONLY" ]; then
	IFS=, read -r -a ALTS <<<"$ONLY"
fi

bench_need_linkem "$SRC" || exit 1

# inet_delay MS: put a linkem wire with MS one-way delay between the
# concentrator and the server (see the header).
inet_delay() {
	local ms=$1 pidf=$TB_DIR/linkem-inet.pid n
	tb_exec concentrator ip link del inet || return 1
	tb_netns_add inetwire || return 1
	tb_veth concentrator inet inetwire lkc || return 1
	tb_veth inetwire lkr server inet || return 1
	tb_wire_if inetwire lkc || return 1
	tb_wire_if inetwire lkr || return 1
	# linkem copies frames: checksums and segments must be complete.
	for n in concentrator server; do
		tb_exec "$n" ethtool -K inet gro off gso off tso off tx off >/dev/null || return 1
	done
	tb_addr concentrator inet "$TB_CONC_INET_V4/28" "$TB_CONC_INET_V6/64" || return 1
	tb_addr server inet "$TB_SERVER_V4/28" "$TB_SERVER_V6/64" || return 1
	tb_exec server ip route add default via "$TB_CONC_INET_V4" || return 1
	tb_exec server ip -6 route add default via "$TB_CONC_INET_V6" || return 1
	tb_bg --log "$TB_DIR/linkem-inet.log" inetwire "$TB_LINKEM" --delay "$ms:$ms" \
		--pidfile "$pidf" --stats "$TB_DIR/linkem-inet.stats" lkc lkr || return 1
	tb_wait 5 test -s "$pidf" || { tb__err "linkem on the inet segment did not start"; return 1; }
	tb_wait 10 tb_exec concentrator ping -n -q -c 1 -W 1 "$TB_SERVER_V4" >/dev/null 2>&1
}

tb_init
tb_topology_standard --linkem --delay "0:$ADELAY" || tb_fail "topology"
if [ "$IDELAY" != 0 ]; then
	inet_delay "$IDELAY" || tb_fail "delay on the concentrator-server segment"
fi
tb_wait 10 tb_exec client ping -n -q -c 1 -W 1 "$TB_SERVER_V4" >/dev/null 2>&1 || tb_fail "server unreachable"
bench_start_iperf_servers || tb_fail "iperf3 servers"
# http_server_tfo: bench_start_http_server with a TFO listener.
http_server_tfo() {
	local d=$TB_DIR/www
	mkdir -p "$d"
	printf 'hello from the server namespace\n' >"$d/index.html"
	tb_exec server sysctl -qw net.ipv4.tcp_fastopen=3 || return 1
	tb_exec concentrator sysctl -qw net.ipv4.tcp_fastopen=1 || return 1
	cat >"$TB_DIR/http_tfo.py" <<-'EOF'
		import functools, http.server, socket, sys
		class Server(http.server.ThreadingHTTPServer):
		    def server_bind(self):
		        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 256)
		        super().server_bind()
		h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[3])
		Server((sys.argv[1], int(sys.argv[2])), h).serve_forever()
	EOF
	tb_bg --port "tcp:$BENCH_HTTP_PORT" server \
		python3 "$TB_DIR/http_tfo.py" "$TB_SERVER_V4" "$BENCH_HTTP_PORT" "$d"
}
http_server_tfo || tb_fail "HTTP server"

# The reference: RTT client -> concentrator (access link 0) and RTT
# concentrator -> server, by ping (median-ish: average of 10).
rtt_a=$(tb_ping_stats client "$TB_CLIENT_WAN0_V4" "$TB_CONC_V4" 10 0.05 | awk '{ print $5 }')
rtt_b=$(tb_ping_stats concentrator "$TB_CONC_INET_V4" "$TB_SERVER_V4" 10 0.05 | awk '{ print $5 }')
rtt_sum=$(awk -v a="$rtt_a" -v b="$rtt_b" 'BEGIN { printf "%.1f", a + b }')
echo "RTT client-concentrator $rtt_a ms, concentrator-server $rtt_b ms, sum $rtt_sum ms" >&2

# ttfb_run: COUNT+1 requests through the current alternative; prints
# "median min max connect_median" in ms (the first request is a warm-up).
ttfb_run() {
	local i out
	: >"$BENCH_KDIR/ttfb"
	for i in $(seq 0 "$COUNT"); do
		out=$(tb_exec client curl -sS -o /dev/null --max-time 10 "${BENCH_CURL[@]}" \
			-w '%{time_connect} %{time_starttransfer}\n' "$BENCH_HTTP_URL") || {
			tb__err "$BENCH_NAME: curl failed: $out"
			return 1
		}
		[ "$i" = 0 ] || printf '%s\n' "$out" >>"$BENCH_KDIR/ttfb"
	done
	python3 - "$BENCH_KDIR/ttfb" <<-'EOF'
		import statistics, sys
		rows = [tuple(float(x) * 1000 for x in l.split()) for l in open(sys.argv[1]) if l.strip()]
		t = [r[1] for r in rows]
		c = [r[0] for r in rows]
		print("%.1f %.1f %.1f %.1f" % (statistics.median(t), min(t), max(t), statistics.median(c)))
	EOF
}

ROWS=()
NOTES=()
DIRECT=""
ratio() {
	awk -v v="$1" -v r="$2" 'BEGIN { if (r > 0 && v != "") printf "%.2f", v / r; else printf "-" }'
}

# TCPFastOpenActive of the concentrator's namespace: SYNs whose data the
# server accepted.
tfo_active() {
	tb_exec concentrator cat /proc/net/netstat | awk '
		$1 == "TcpExt:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		$1 == "TcpExt:" && h { print $col["TCPFastOpenActive"]; exit }'
}

run_one() {
	local name=$1 rc med mn mx con tfo0
	echo "== $name" >&2
	"bench_$name"
	rc=$?
	if [ "$rc" = 2 ]; then
		echo "   skipped: $BENCH_SKIP" >&2
		ROWS+=("| ${BENCH_NAME:-$name} | skipped: $BENCH_SKIP | | | | | |")
		bench_stop
		return 0
	fi
	tfo0=$(tfo_active)
	if [ "$rc" != 0 ] || ! read -r med mn mx con < <(ttfb_run); then
		echo "   FAILED" >&2
		ROWS+=("| ${BENCH_NAME:-$name} | failed (see stderr) | | | | | |")
		bench_stop
		return 0
	fi
	bench_stop
	NOTES+=("- **$BENCH_NAME**: $BENCH_NOTE; curl ${BENCH_CURL[*]} $BENCH_HTTP_URL")
	echo "   median $med ms (min $mn, max $mx), connect $con ms;" \
		"concentrator SYNs with data accepted: $(($(tfo_active) - tfo0))" >&2
	[ "$name" != direct ] || DIRECT=$med
	ROWS+=("| $BENCH_NAME | $med | $mn | $mx | $con | $(ratio "$med" "$rtt_sum") | $(ratio "$med" "$DIRECT") |")
}

have_direct=0
for a in "${ALTS[@]}"; do [ "$a" = direct ] && have_direct=1; done
[ "$have_direct" = 1 ] || ALTS=(direct "${ALTS[@]}")
run_one direct
for a in "${ALTS[@]}"; do
	[ "$a" = direct ] && continue
	if ! declare -F "bench_$a" >/dev/null; then
		echo "ttfb.sh: no alternative '$a'" >&2
		continue
	fi
	run_one "$a"
done

echo
echo "Time to first byte of a small HTTP GET (new TCP connection each, median of $COUNT after 1 warm-up), one-way delay ${ADELAY} ms on access link 0 (linkem) and ${IDELAY} ms concentrator-server (linkem); measured RTTs: client-concentrator $rtt_a ms, concentrator-server $rtt_b ms (sum $rtt_sum ms)."
echo
echo "| alternative | TTFB median ms | min ms | max ms | curl connect median ms | median / RTT sum | ratio to direct |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
printf '%s\n' "${NOTES[@]}"
echo "- 'curl connect' is the TCP handshake to what curl connects to (the server, danted, or ss-tunnel on 127.0.0.1)."
