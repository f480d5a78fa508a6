#!/usr/bin/env bash
# bench/throughput.sh — bulk TCP throughput (iperf3, 1 and 4 flows) and CPU
# cost of every alternative to hatun, on one path of the standard testbed.
#
# usage: bench/throughput.sh [--linkem] [--rate MBIT] [--seconds S]
#                            [--only NAME,NAME...] [--reverse]
#   --linkem     access links through tools/linkem (no delay) instead of
#                plain veth; the client's wan interfaces then have offloads off
#   --rate MBIT  tbf on both access links (both directions)
#   --seconds S  iperf3 duration per run (default $BENCH_SECONDS or 10)
#   --only LIST  comma-separated subset of: direct mptcp wireguard openvpn
#                shadowsocks dante hatun_stream hatun_datagram hatun_convert
#   --reverse    iperf3 -R (server -> client, a download)
# env: HATUN_BUILD_DIR (for linkem; default build/bench, built on demand
#      with --linkem), BENCH_SECONDS, BENCH_IPERF_ARGS
#
# Prints progress on stderr and a markdown table on stdout: Gbit/s with 1
# and 4 flows, CPU seconds per GiB of the tunnel/proxy processes on both
# ends (see bench/lib.sh for exactly what is counted), the ratio to direct
# TCP in the same run, and the client packets sent over access link 0/1.
# An alternative whose Debian package is missing is skipped with a note.
# Needs root; everything runs in the testbed's namespaces and is removed.
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
LINKEM=no
RATE=""
ONLY=""
ALL=(direct mptcp wireguard openvpn shadowsocks dante hatun_stream hatun_datagram hatun_convert)

while [ $# -gt 0 ]; do
	case $1 in
	--linkem) LINKEM=yes; shift ;;
	--rate) RATE=$2; shift 2 ;;
	--seconds) BENCH_SECONDS=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	--reverse) BENCH_IPERF_ARGS="${BENCH_IPERF_ARGS:-} -R"; shift ;;
	-h | --help) sed -n '2,22p' "$0"; exit 0 ;;
	*) echo "throughput.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
: "${BENCH_SECONDS:=10}"
export BENCH_SECONDS

# shellcheck source=tests/netns/lib.sh
. "$SRC/tests/netns/lib.sh"
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"

tb_require_root
tb_require_cmd iperf3 python3 awk

ALTS=("${ALL[@]}")
if [ -n "$ONLY" ]; then
	IFS=, read -r -a ALTS <<<"$ONLY"
fi

topo=()
if [ "$LINKEM" = yes ]; then
	bench_need_linkem "$SRC" || exit 1
	topo+=(--linkem)
else
	topo+=(--no-linkem)
fi
[ -z "$RATE" ] || topo+=(--rate "0:$RATE" --rate "1:$RATE")

tb_init
tb_topology_standard "${topo[@]}" || tb_fail "topology"
bench_start_iperf_servers || tb_fail "iperf3 servers"

ROWS=()
NOTES=()
DIRECT1="" DIRECT4=""

ratio() { # VALUE REFERENCE
	awk -v v="$1" -v r="$2" 'BEGIN { if (r > 0 && v != "") printf "%.3f", v / r; else printf "-" }'
}

run_one() { # NAME
	local name=$1 rc g1 g4 c1 c4 p1 p4
	echo "== $name" >&2
	"bench_$name"
	rc=$?
	if [ "$rc" = 2 ]; then
		echo "   skipped: $BENCH_SKIP" >&2
		ROWS+=("| ${BENCH_NAME:-$name} | skipped: $BENCH_SKIP | | | | | | |")
		bench_stop
		return 0
	fi
	if [ "$rc" != 0 ]; then
		echo "   FAILED to start" >&2
		ROWS+=("| $BENCH_NAME | setup failed (see stderr) | | | | | | |")
		bench_stop
		return 0
	fi
	NOTES+=("- **$BENCH_NAME**: $BENCH_NOTE")
	g1=- g4=- c1=- c4=- p1=- p4=-
	if bench_iperf 1; then
		g1=$BENCH_GBPS c1=$BENCH_SPG p1=$BENCH_PATHS
		echo "   1 flow:  $g1 Gbit/s, CPU ${BENCH_CPU} s ($c1 s/GiB), retransmits $BENCH_RETR, packets link0/link1 $p1" >&2
	fi
	if bench_iperf 4; then
		g4=$BENCH_GBPS c4=$BENCH_SPG p4=$BENCH_PATHS
		echo "   4 flows: $g4 Gbit/s, CPU ${BENCH_CPU} s ($c4 s/GiB), retransmits $BENCH_RETR, packets link0/link1 $p4" >&2
	fi
	bench_stop
	if [ "$name" = direct ]; then
		DIRECT1=$g1 DIRECT4=$g4
	fi
	ROWS+=("| $BENCH_NAME | $g1 | $g4 | $c1 | $c4 | $(ratio "$g1" "$DIRECT1") | $(ratio "$g4" "$DIRECT4") | $p1 |")
}

# Direct TCP first: it is every other row's reference.
have_direct=0
for a in "${ALTS[@]}"; do [ "$a" = direct ] && have_direct=1; done
[ "$have_direct" = 1 ] || ALTS=(direct "${ALTS[@]}")
run_one direct
for a in "${ALTS[@]}"; do
	[ "$a" = direct ] && continue
	if ! declare -F "bench_$a" >/dev/null; then
		echo "throughput.sh: no alternative '$a'" >&2
		continue
	fi
	run_one "$a"
done

path="one unshaped veth path (access link 0)"
[ "$LINKEM" = yes ] && path="access link 0 through linkem (no delay, offloads off on the client's wan interfaces)"
[ -z "$RATE" ] || path="$path, tbf $RATE Mbit/s on each access link"
echo
echo "Throughput, iperf3 TCP client -> server${BENCH_IPERF_ARGS:+ (extra iperf3 args:$BENCH_IPERF_ARGS)}, ${BENCH_SECONDS} s per run, $path; MPTCP uses both access links."
echo
echo "| alternative | Gbit/s (1 flow) | Gbit/s (4 flows) | CPU s/GiB (1 flow) | CPU s/GiB (4 flows) | ratio to direct (1 flow) | ratio to direct (4 flows) | client packets link0/link1 (1 flow) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
printf '%s\n' "${NOTES[@]}"
echo "- CPU: user+system time of the tunnel/proxy processes on both ends (and their children), from /proc/PID/stat around each run; '-' = nothing in user space to count (kernel only)."
