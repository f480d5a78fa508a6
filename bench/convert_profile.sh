#!/usr/bin/env bash
# bench/convert_profile.sh — where the Convert relay's time goes (issue 6,
# relay cost): one unshaped path (standard testbed, no linkem), iperf3 in
# the client namespace to the server, directly or through `hatun client
# --transport convert -L` and `hatun converter`, in the same run:
#
#   direct        TCP end to end
#   direct-mptcp  MPTCP end to end (mptcpize iperf3 both sides): MPTCP's own cost
#   conv          through both relays, as deployed (MPTCP client <-> converter,
#                 the converter's upstream MPTCP falling back to TCP; relay
#                 copying into MPTCP sockets, splicing into TCP ones)
#   conv-splice   the same, every relay direction splicing (HATUN_CONVERT_COPY=0)
#   conv-copy     the same, every relay direction copying (HATUN_CONVERT_COPY=1)
#   conv-tcp      through both relays with MPTCP off in the client and
#                 concentrator namespaces: plain TCP on every leg (the relays'
#                 cost without MPTCP's)
#
# usage: bench/convert_profile.sh [--seconds S] [--reps N] [--perf DIR] [MODE...]
#   --perf DIR   perf record -g the converter during each conv* run
#                (DIR/perf.MODE.N.data; `perf report -i ... --children`)
# Prints one line per run: Mbit/s and the CPU time (s) and CPU s/GiB of the
# converter and the client.  Speed numbers mean something only on an idle
# machine; on a shared one compare modes of the same run.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/netns/lib.sh
. "$SRC/tests/netns/lib.sh"
HATUN=${HATUN_BUILD_DIR:-$SRC/build/release}/src/cli/hatun
SECS=5
REPS=3
PERFDIR=""
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) SECS=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	--perf) PERFDIR=$2; shift 2 ;;
	-h | --help) sed -n '2,26p' "$0"; exit 0 ;;
	--*) echo "convert_profile.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
MODES=("$@")
[ ${#MODES[@]} -gt 0 ] || MODES=(direct direct-mptcp conv conv-splice conv-copy conv-tcp)
tb_require_cmd iperf3 mptcpize
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
[ -z "$PERFDIR" ] || { tb_require_cmd perf; mkdir -p "$PERFDIR"; }

tb_init
tb_topology_standard --no-linkem
port=5300

# cpu_ticks PID: user + system clock ticks of PID so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# iperf_mbit NS DST PORT [mptcpize]: Mbit/s received, SECS seconds, 1 s omitted.
iperf_mbit() {
	local wrap=()
	[ "${4:-}" = mptcpize ] && wrap=(mptcpize run)
	tb_exec "$1" "${wrap[@]}" iperf3 -c "$2" -p "$3" -t "$SECS" -O 1 -J \
		| python3 -c 'import json, sys
d = json.load(sys.stdin)
print("%.0f" % (d["end"]["sum_received"]["bits_per_second"] / 1e6) if "end" in d and "sum_received" in d["end"] else "fail")'
}

run_mode() {
	local mode=$1 rep=$2 mp=1 env=() wrap=() spid cpid lpid c0 l0 c1 l1 mbit
	port=$((port + 1))
	case $mode in
	conv-tcp) mp=0 ;;
	conv-splice) env=(HATUN_CONVERT_COPY=0) ;;
	conv-copy) env=(HATUN_CONVERT_COPY=1) ;;
	esac
	for n in client concentrator server; do
		tb_exec "$n" sysctl -qw net.mptcp.enabled=$mp net.ipv4.tcp_fastopen=3
	done
	[ "$mode" = direct-mptcp ] && wrap=(mptcpize run)
	tb_bg --port tcp:$port server "${wrap[@]}" iperf3 -s -p $port
	spid=$TB_LAST_PID
	case $mode in
	direct | direct-mptcp)
		mbit=$(iperf_mbit client "$TB_SERVER_V4" $port "${wrap[0]:+mptcpize}")
		printf '%-12s %2d  %6s Mbit/s\n' "$mode" "$rep" "$mbit"
		tb_stop "$spid"
		return ;;
	esac
	tb_bg --port tcp:$((port + 1000)) concentrator env "${env[@]}" "$HATUN" converter \
		--listen "$TB_CONC_V4:$((port + 1000))" --log-level warn
	cpid=$TB_LAST_PID
	tb_bg --port tcp:$((port + 2000)) client env "${env[@]}" "$HATUN" client --transport convert \
		--converter "$TB_CONC_V4:$((port + 1000))" --log-level warn \
		-L "$((port + 2000)):$TB_SERVER_V4:$port"
	lpid=$TB_LAST_PID
	c0=$(cpu_ticks "$cpid")
	l0=$(cpu_ticks "$lpid")
	local prec=""
	if [ -n "$PERFDIR" ]; then
		perf record -g -o "$PERFDIR/perf.$mode.$rep.data" -p "$cpid" -- sleep "$SECS" \
			>/dev/null 2>&1 &
		prec=$!
	fi
	mbit=$(iperf_mbit client 127.0.0.1 $((port + 2000)))
	[ -z "$prec" ] || wait "$prec"
	c1=$(cpu_ticks "$cpid")
	l1=$(cpu_ticks "$lpid")
	tb_stop "$lpid" "$cpid" "$spid"
	awk -v m="$mode" -v r="$rep" -v b="$mbit" -v c=$((c1 - c0)) -v l=$((l1 - l0)) \
		-v s="$SECS" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		gib = (b == "fail" ? 0 : b * 1e6 * (s + 1) / 8 / 2^30)
		printf "%-12s %2d  %6s Mbit/s  converter %.2f s (%.2f s/GiB)  client %.2f s (%.2f s/GiB)\n",
			m, r, b, c / hz, gib ? c / hz / gib : 0, l / hz, gib ? l / hz / gib : 0 }'
}

for rep in $(seq "$REPS"); do
	for m in "${MODES[@]}"; do
		run_mode "$m" "$rep"
	done
done
