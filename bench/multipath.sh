#!/usr/bin/env bash
# bench/multipath.sh — bonding two access links (issue 5): aggregation and
# handover, for each single path alone, the kernel's MPTCP (two subflows)
# and hatun's multipath session, in the same run.
#
# usage: bench/multipath.sh [--seconds S] [--cuts N] [--unequal] [--cc NAME]
#                           [--omit S] [--reverse] [--only LIST]
#   default     two access links of 50 Mbit/s each (tbf, both directions),
#               20 ms one way on link 0 and 40 ms on link 1 (linkem)
#   --unequal   link 0: 50 Mbit/s, 10 ms; link 1: 10 Mbit/s, 80 ms
#   --seconds S iperf3 duration per run (default 10)
#   --cuts N    handover runs: the link under a download (link 0; for
#               stream mode the one its path uses) cut 2 s in, restored 3 s
#               later (default 3; the issue's figure is the median of 10)
#   --cc NAME   congestion control of the iperf3 TCP flows (iperf3 -C; also
#               the MPTCP subflows'); default: the client namespace's
#               default, printed with the results (Debian: cubic)
#   --reverse   the iperf3 flows run server -> client (iperf3 -R: the
#               download direction, scheduled by the concentrator and put
#               back in order by the client)
#   --omit S    leave each iperf3 run's first S seconds out of its figure
#               (iperf3 -O: the tunnelled flows' slow start; the run then
#               lasts S + --seconds), for the steady state; default 0
#   --only LIST comma-separated subset of: path0 path1 mptcp hatun_session
#               hatun_session_dgram
# env: HATUN_BUILD_DIR (linkem; default build/bench, built on demand)
#
# Prints progress on stderr and markdown on stdout: Mbit/s with 1 and 8
# iperf3 flows and their share of the 100 Mbit/s sum (60 with --unequal);
# for the bonding alternatives, the longest gap in received data when the
# active link is cut (tests/tools/gapmeter.py, 1 ms resolution) and the
# number of connections lost.  Needs root; everything runs in the testbed's
# namespaces and is removed.
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
CUTS=3
UNEQUAL=0
CC=""
OMIT=0
REVERSE=0
ONLY=""
ALL=(path0 path1 mptcp hatun_session hatun_session_dgram)
GAP_PORT=5401

while [ $# -gt 0 ]; do
	case $1 in
	--seconds) BENCH_SECONDS=$2; shift 2 ;;
	--cuts) CUTS=$2; shift 2 ;;
	--unequal) UNEQUAL=1; shift ;;
	--cc) CC=$2; shift 2 ;;
	--omit) OMIT=$2; shift 2 ;;
	--reverse) REVERSE=1; shift ;;
	--only) ONLY=$2; shift 2 ;;
	-h | --help) sed -n '2,28p' "$0"; exit 0 ;;
	*) echo "multipath.sh: unknown option $1" >&2; exit 2 ;;
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

bench_need_linkem "$SRC" || exit 1

if [ "$UNEQUAL" = 1 ]; then
	D0=10 D1=80 R0=50 R1=10
else
	D0=20 D1=40 R0=50 R1=50
fi
SUM=$((R0 + R1))
ALTS=("${ALL[@]}")
[ -z "$ONLY" ] || IFS=, read -r -a ALTS <<<"$ONLY"

tb_init
tb_topology_standard --linkem --delay "0:$D0" --delay "1:$D1" \
	--rate "0:$R0" --rate "1:$R1" || tb_fail "topology"
bench_start_iperf_servers || tb_fail "iperf3 servers"
# The tunnelled flows' own congestion control decides much of what one flow
# gets over two paths (docs/BENCHMARKS.md): name it in the results.
[ -n "$CC" ] || CC=$(tb_exec client sysctl -n net.ipv4.tcp_congestion_control)
BENCH_IPERF_ARGS="${BENCH_IPERF_ARGS:-} -C $CC"
[ "$OMIT" = 0 ] || BENCH_IPERF_ARGS="$BENCH_IPERF_ARGS -O $OMIT"
[ "$REVERSE" = 0 ] || BENCH_IPERF_ARGS="$BENCH_IPERF_ARGS -R"
tb_bg --port "tcp:$GAP_PORT" server python3 "$SRC/tests/tools/gapmeter.py" serve \
	"$TB_SERVER_V4" "$GAP_PORT" --mptcp || tb_fail "gapmeter server"

bench_path0() {
	bench_direct || return $?
	BENCH_NAME="path 0 alone"
	BENCH_NOTE="plain TCP over access link 0 only ($R0 Mbit/s, $D0 ms one way)"
}

bench_path1() {
	bench_direct || return $?
	BENCH_NAME="path 1 alone"
	BENCH_SRC=$TB_CLIENT_WAN1_V4
	BENCH_NOTE="plain TCP over access link 1 only ($R1 Mbit/s, $D1 ms one way)"
	bench__probe
}

# hatun's multipath session, stream mode: one QUIC connection per access
# link (--path src=WAN0, --path src=WAN1), joined into one session; iperf3
# through -L, the handover download through --socks.
bench_hatun_session() {
	local d hatun cfp sfp
	bench__reset "hatun session"
	bench__hatun_keys || return $?
	hatun=$HATUN_BIN cfp=$HATUN_CFP sfp=$HATUN_SFP d=$BENCH_KDIR
	bench__bg --port udp:4433 concentrator "$hatun" concentrator \
		--listen "$TB_CONC_V4:4433" --cert "$d/hs/hatun.crt" --key "$d/hs/hatun.key" \
		--allow "$cfp" --log-level warn || return 1
	bench__bg --port tcp:1080 --log "$d/client.log" client "$hatun" client \
		--server "$TB_CONC_V4:4433" --pin "$sfp" --cert "$d/hc/hatun.crt" \
		--key "$d/hc/hatun.key" --log-level info --ticket-file none \
		--path "name=link0,src=$TB_CLIENT_WAN0_V4" --path "name=link1,src=$TB_CLIENT_WAN1_V4" \
		${BENCH_SCHED:+--scheduler "$BENCH_SCHED"} \
		-L "5401:$TB_SERVER_V4:$BENCH_IPERF_PORT" --socks 127.0.0.1:1080 \
		--control "$d/client.sock" || return 1
	tb_wait 10 grep -q "joined the session" "$d/client.log" || {
		tb__err "hatun session: the second path did not join"
		return 1
	}
	BENCH_DST=127.0.0.1
	BENCH_PORT=5401
	BENCH_SOCKS=127.0.0.1:1080
	BENCH_CTL=$d/client.sock
	BENCH_NOTE="hatun $("$hatun" version | head -1 | cut -d' ' -f2) stream mode, two paths in one session (--path src=wan0, --path src=wan1, scheduler ${BENCH_SCHED:-min-rtt}): each TCP connection on one path's QUIC connection; a failed path's connection migrates to the other"
}

# The same session in datagram mode: iperf3 and the handover download from
# the client's tunnel address, every packet scheduled over both paths
# (min-rtt) and put back in order by Packet Tag at the other end.
bench_hatun_session_dgram() {
	local rc
	BENCH_HD_CLIENT_ARGS=(--ticket-file none
		--path "name=link0,src=$TB_CLIENT_WAN0_V4" --path "name=link1,src=$TB_CLIENT_WAN1_V4"
		${BENCH_SCHED:+--scheduler "$BENCH_SCHED"})
	bench_hatun_datagram
	rc=$?
	BENCH_HD_CLIENT_ARGS=()
	[ "$rc" = 0 ] || return "$rc"
	BENCH_NAME="hatun session, datagram mode"
	BENCH_NOTE="$BENCH_NOTE; two paths in one session (--path src=wan0, --path src=wan1, scheduler ${BENCH_SCHED:-min-rtt} at both ends), reorder by Packet Tag at both ends"
}

pct() { awk -v v="$1" -v s="$SUM" 'BEGIN { if (v != "-") printf "%.0f%%", 100 * v / s; else printf "-" }'; }
mbit() { awk -v g="$1" 'BEGIN { if (g != "") printf "%.1f", g * 1000; else printf "-" }'; }

# The link to cut: the one under the download.  Stream mode places each
# TCP connection on one path: ask the client which path carries it
# (otherwise a cut of the other link measures nothing).  Others: link 0,
# the one min-rtt fills first.
cut_link() {
	[ -n "${BENCH_CTL:-}" ] || { echo 0; return; }
	tb_exec client "$HATUN_BIN" status --json --control "$BENCH_CTL" |
		python3 -c 'import json, sys
c = [x for x in json.load(sys.stdin)["connections"] if x.get("tcp_open", 0) > 0 and x.get("path")]
print(1 if c and c[0]["path"].endswith("1") else 0)' 2>/dev/null || echo 0
}

# handover: CUTS downloads through the current alternative, the link under
# it cut 2 s in and restored 3 s later.  Prints "median_gap_ms max_gap_ms
# lost/CUTS".
handover() {
	local i out gaps=() lost=0 wrap=() src=() link
	[ "$BENCH_NAME" = mptcp ] && wrap=(--mptcp)
	[ -z "$BENCH_SRC" ] || src=(--src "$BENCH_SRC")
	[ -z "${BENCH_SOCKS:-}" ] || src=(--socks "$BENCH_SOCKS")
	for ((i = 0; i < CUTS; i++)); do
		tb_exec client python3 "$SRC/tests/tools/gapmeter.py" recv "$TB_SERVER_V4" \
			"$GAP_PORT" 7 "${wrap[@]}" "${src[@]}" >"$BENCH_KDIR/gap.$i" 2>&1 &
		local pid=$!
		sleep 2
		link=$(cut_link)
		tb_link_down "$link"
		sleep 3
		tb_link_up "$link"
		wait "$pid" || lost=$((lost + 1))
		out=$(cat "$BENCH_KDIR/gap.$i")
		echo "   cut $((i + 1)) (link $link): $out" >&2
		gaps+=("$(sed -n 's/.*max_gap_ms=\([0-9]*\).*/\1/p' <<<"$out")")
		tb_wait_reachable >/dev/null 2>&1 || true
		sleep 1
	done
	printf '%s\n' "${gaps[@]}" | sort -n | awk -v lost="$lost" -v n="$CUTS" '
		{ v[NR] = $1 } END { if (NR == 0) { print "- - " lost "/" n; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%d %d %d/%d\n", m, v[NR], lost, n }'
}

ROWS=()
NOTES=()
for a in "${ALTS[@]}"; do
	if ! declare -F "bench_$a" >/dev/null; then
		echo "multipath.sh: no alternative '$a'" >&2
		continue
	fi
	echo "== $a" >&2
	BENCH_SOCKS=""
	BENCH_CTL=""
	"bench_$a"
	rc=$?
	if [ "$rc" != 0 ]; then
		why="setup failed (see stderr)"
		[ "$rc" = 2 ] && why="skipped: $BENCH_SKIP"
		echo "   $why" >&2
		ROWS+=("| ${BENCH_NAME:-$a} | $why | | | | |")
		bench_stop
		continue
	fi
	NOTES+=("- **$BENCH_NAME**: $BENCH_NOTE")
	m1=- m8=- ho="- - -"
	if bench_iperf 1; then
		m1=$(mbit "$BENCH_GBPS")
		echo "   1 flow:  $m1 Mbit/s, packets link0/link1 $BENCH_PATHS" >&2
	fi
	if bench_iperf 8; then
		m8=$(mbit "$BENCH_GBPS")
		echo "   8 flows: $m8 Mbit/s, packets link0/link1 $BENCH_PATHS" >&2
	fi
	case $a in
	path0 | path1) ;;
	*) ho=$(handover) ;;
	esac
	read -r hmed hmax hlost <<<"$ho"
	bench_stop
	ROWS+=("| $BENCH_NAME | $m1 ($(pct "$m1")) | $m8 ($(pct "$m8")) | $hmed | $hmax | $hlost |")
done

echo
omitted=""
[ "$OMIT" = 0 ] || omitted=" after the first $OMIT s (omitted: slow start)"
dir="client -> server"
[ "$REVERSE" = 0 ] || dir="server -> client (iperf3 -R)"
echo "Bonding, iperf3 TCP $dir ($CC), ${BENCH_SECONDS} s per run$omitted; access link 0: $R0 Mbit/s, $D0 ms one way; link 1: $R1 Mbit/s, $D1 ms one way (tbf + linkem); sum $SUM Mbit/s. Handover: longest gap in a download when the link under it is cut (link 0; for stream mode the one its path uses), $CUTS cuts."
echo
echo "| alternative | Mbit/s 1 flow (share of sum) | Mbit/s 8 flows (share) | handover gap ms (median) | (max) | connections lost |"
echo "|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
printf '%s\n' "${NOTES[@]}"
