#!/usr/bin/env bash
# bench/datagram.sh — hatun datagram mode against the other full-tunnel VPNs
# (issue 4): wireguard-go and OpenVPN (UDP, AES-128-GCM), all on TUN, same
# topology, same run.
#
# usage: bench/datagram.sh [--seconds S] [--only NAME,NAME...] [--no-latency]
#                          [--no-throughput]
#   --seconds S   iperf3 duration per run (default $BENCH_SECONDS or 10)
#   --only LIST   subset of: wireguard openvpn hatun_datagram (direct is
#                 always measured first, as the reference)
#   --no-latency  skip part 2
#   --no-throughput  skip part 1
# env: HATUN_BUILD_DIR (hatun and linkem; default build/release),
#      BENCH_HATUN, BENCH_SECONDS, PING_SECONDS (part 2, default 10)
#
# Part 1 — throughput (bench/throughput.sh's method): iperf3 TCP with 1 and
# 4 flows through each tunnel over access link 0 (plain veth), Gbit/s and
# CPU seconds per GiB of the tunnel processes on both ends (bench/lib.sh).
# Part 2 — latency under load: access link 0 through linkem at 10 ms each
# way and tbf 50 Mbit/s both ways (20 ms RTT); per tunnel, ping from the
# tunnel address to the server for PING_SECONDS idle, then again while an
# iperf3 TCP upload saturates the link: median and p90 RTT, added delay =
# loaded median - idle median (target for hatun: <= 10 ms).
#
# Prints progress on stderr, markdown tables on stdout.  Root only; all in
# the testbed's namespaces, removed at exit.  Numbers are only meaningful
# on a quiet machine: do not record a run made beside other CPU load.
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
ONLY=""
LATENCY=yes
THROUGHPUT=yes
ALL=(wireguard openvpn hatun_datagram)

while [ $# -gt 0 ]; do
	case $1 in
	--seconds) BENCH_SECONDS=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	--no-latency) LATENCY=no; shift ;;
	--no-throughput) THROUGHPUT=no; shift ;;
	-h | --help) sed -n '2,28p' "$0"; exit 0 ;;
	*) echo "datagram.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
: "${BENCH_SECONDS:=10}"
: "${PING_SECONDS:=10}"
: "${HATUN_BUILD_DIR:=$SRC/build/release}"
export BENCH_SECONDS HATUN_BUILD_DIR

ALTS=("${ALL[@]}")
if [ -n "$ONLY" ]; then
	IFS=, read -r -a ALTS <<<"$ONLY"
fi

# ---- part 1: throughput and CPU --------------------------------------------------------
only=direct
for a in "${ALTS[@]}"; do only+=",$a"; done
if [ "$THROUGHPUT" = yes ]; then
	echo "## Throughput: iperf3 TCP through each full-tunnel VPN (plain veth, ${BENCH_SECONDS} s per run)"
	echo
	bash "$SRC/bench/throughput.sh" --seconds "$BENCH_SECONDS" --only "$only" || exit 1
fi
[ "$LATENCY" = yes ] || exit 0

# ---- part 2: latency under load -------------------------------------------------------------
# shellcheck source=tests/netns/lib.sh
. "$SRC/tests/netns/lib.sh"
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"

tb_require_root
tb_require_cmd iperf3 python3 ping

tb_init
[ -n "$TB_LINKEM" ] || tb_skip "latency under load needs linkem: build $HATUN_BUILD_DIR/tools/linkem"
tb_topology_standard --linkem --delay 0:10:10 --rate 0:50:50 || tb_fail "topology"
bench_start_iperf_servers || tb_fail "iperf3 servers"

# ping_stats SRC SECONDS: "median p90" RTT in ms of pings from SRC to the server.
ping_stats() {
	TB_TIMEOUT=$(($2 + 10)) tb_exec client ping -n -i 0.1 -w "$2" -I "$1" "$TB_SERVER_V4" 2>/dev/null |
		python3 -c '
import re, sys
r = sorted(float(m.group(1)) for m in re.finditer(r"time=([0-9.]+)", sys.stdin.read()))
if not r:
    print("- -"); raise SystemExit
print("%.1f %.1f" % (r[len(r) // 2], r[min(len(r) - 1, int(len(r) * 0.9))]))'
}

echo
echo "## Latency under load: 50 Mbit/s, 10 ms each way (20 ms RTT), ping every 100 ms for ${PING_SECONDS} s"
echo
echo "| tunnel | idle median ms | idle p90 | loaded median ms | loaded p90 | added delay (median) ms | iperf3 Mbit/s while loaded |"
echo "|---|---|---|---|---|---|---|"
for name in direct "${ALTS[@]}"; do
	echo "== latency: $name" >&2
	"bench_$name"
	rc=$?
	if [ "$rc" != 0 ]; then
		echo "| ${BENCH_NAME:-$name} | ${BENCH_SKIP:-setup failed} | | | | | |"
		bench_stop
		continue
	fi
	src=${BENCH_SRC:-$TB_CLIENT_WAN0_V4}
	read -r i50 i90 <<<"$(ping_stats "$src" "$PING_SECONDS")"
	TB_TIMEOUT=$((PING_SECONDS + 30)) tb_exec client iperf3 -c "$BENCH_DST" -p "$BENCH_PORT" \
		-B "$src" -t $((PING_SECONDS + 3)) -J >"$BENCH_KDIR/load.json" 2>&1 &
	load=$!
	sleep 2
	read -r l50 l90 <<<"$(ping_stats "$src" "$PING_SECONDS")"
	wait "$load"
	mbit=$(python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))' \
		"$BENCH_KDIR/load.json" 2>/dev/null || echo -)
	added=$(awk -v a="$l50" -v b="$i50" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.1f", a - b }')
	echo "   idle $i50 / $i90 ms, loaded $l50 / $l90 ms, +$added ms, $mbit Mbit/s" >&2
	echo "| $BENCH_NAME | $i50 | $i90 | $l50 | $l90 | $added | $mbit |"
	bench_stop
done
