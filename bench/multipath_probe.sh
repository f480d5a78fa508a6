#!/usr/bin/env bash
# A diagnostic run of one datagram-mode multipath session, for looking
# *inside* what bench/multipath.sh only measures: two access links (50
# Mbit/s, 20 ms and D1 ms one way, linkem + tbf), one iperf3 run through
# the session, and on the side what the shapers, the processes and both
# ends' `hatun status` saw.
#
# usage: bench/multipath_probe.sh            (download: iperf3 -R)
#   env: P=flows (1)  T=seconds (10)  D1=far link delay ms (40)
#        UP=1 for the upload direction     CC=cubic|bbr (cubic)
#        B=build dir (build/release)       OMIT=seconds left out (iperf3 -O)
#        CONC_ENV / CLIENT_ENV="VAR=value" extra environment for hatun
# Prints: per 2 s the standing backlog of each link's shaper in the
# direction measured, the CPU of both hatun processes, the bytes each link
# carried and what its shaper dropped, iperf3's figures (total and per
# second), and the reorder / drop lines of both status reports.  Keeps
# everything (logs, status, ss -tin of the flows) in $OUT (/tmp/hatun-probe).
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/netns/lib.sh
. "$SRC/tests/netns/lib.sh"
export HATUN_BUILD_DIR=${B:-$SRC/build/release}
HATUN=$HATUN_BUILD_DIR/src/cli/hatun
OUT=${OUT:-/tmp/hatun-probe}
T=${T:-10}
mkdir -p "$OUT"
[ -x "$HATUN" ] || { echo "no $HATUN: build first" >&2; exit 1; }

tb_init
tb_topology_standard --linkem --delay 0:20 --delay "1:${D1:-40}" --rate 0:50 --rate 1:50 || exit 1
mkdir -p "$TB_DIR/c" "$TB_DIR/s"
CFP=$("$HATUN" genkey "$TB_DIR/c") || exit 1
SFP=$("$HATUN" genkey "$TB_DIR/s") || exit 1
tb_bg --port tcp:5201 server iperf3 -s -p 5201 -B "$TB_SERVER_V4"
tb_bg --port udp:4433 --log "$TB_DIR/conc.log" concentrator env ${CONC_ENV:-HT_PROBE=1} \
	"$HATUN" concentrator --listen "$TB_CONC_V4:4433" --cert "$TB_DIR/s/hatun.crt" \
	--key "$TB_DIR/s/hatun.key" --allow "$CFP" --log-level info --tun hds0 \
	--pool 4:192.0.2.80/29 --control "$TB_DIR/co.sock"
tb_bg --log "$TB_DIR/client.log" --until "grep -q 'hdc0: address 192' $TB_DIR/client.log" \
	client env ${CLIENT_ENV:-HT_PROBE=1} "$HATUN" client --server "$TB_CONC_V4:4433" \
	--pin "$SFP" --cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" --ticket-file none \
	--path "name=l0,src=$TB_CLIENT_WAN0_V4" --path "name=l1,src=$TB_CLIENT_WAN1_V4" \
	--tun hdc0 --control "$TB_DIR/cl.sock"
inner=$(grep -o "hdc0: address 192\.0\.2\.[0-9]*" "$TB_DIR/client.log" | tail -1 | cut -d' ' -f3)
tb_exec client ip route add default dev hdc0 table 112
tb_exec client ip rule add from "$inner" table 112 pref 112

# The shaper that is the bottleneck in the direction measured: the
# client's wanN for the upload, the access router's lan for the download.
shaper() {
	if [ -n "${UP:-}" ]; then
		tc -n "$TB_PREFIX-client" -s qdisc show dev "wan$1"
	else
		tc -n "$TB_PREFIX-access$1" -s qdisc show dev lan
	fi | awk '/Sent/ {s = $2; d = $7} /backlog/ {b = $2} END {gsub(",", "", d); print s, d, b}'
}
read -r s0 d0 _ <<<"$(shaper 0)"
read -r s1 d1 _ <<<"$(shaper 1)"
dir=-R
[ -n "${UP:-}" ] && dir=-4
tb_exec client iperf3 -c "$TB_SERVER_V4" -B "$inner" -p 5201 -t "$T" -P "${P:-1}" -i 1 \
	-C "${CC:-cubic}" $dir ${OMIT:+-O "$OMIT"} >"$TB_DIR/iperf.txt" 2>&1 &
ipf=$!
(for ((i = 2; i < T; i += 2)); do
	sleep 2
	echo "t=$i s  shaper backlog: link0 $(shaper 0 | cut -d' ' -f3)  link1 $(shaper 1 | cut -d' ' -f3)"
done) &
mon=$!
pids=$(pgrep -d, -f "hatun (concentrator|client) ")
echo "hatun pids (concentrator, client): $pids"
top -b -d $((T / 2)) -n 2 -p "$pids" | awk '/PID/ {n++} n == 2 && /hatun/ {print "CPU % of hatun pid", $1 ":", $9}' &
cpu=$!
sleep $((T / 2 + 1))
tb_exec client "$HATUN" status --control "$TB_DIR/cl.sock" >"$TB_DIR/client.status"
tb_exec concentrator "$HATUN" status --control "$TB_DIR/co.sock" >"$TB_DIR/conc.status"
tb_exec client ss -tin dst "$TB_SERVER_V4" >"$TB_DIR/ss-client.txt"
wait "$ipf" "$mon" "$cpu"
read -r s0b d0b _ <<<"$(shaper 0)"
read -r s1b d1b _ <<<"$(shaper 1)"
echo "links (Mbit/s on the wire): link0 $(((s0b - s0) * 8 / T / 1000000))" \
	"link1 $(((s1b - s1) * 8 / T / 1000000)); shaper drops: link0 $((d0b - d0)) link1 $((d1b - d1))"
grep -E "receiver" "$TB_DIR/iperf.txt" | tail -1
awk -v p="${P:-1}" '/sec/ && !/sender|receiver/ && (/SUM/ || p == 1) {
	for (i = 1; i <= NF; i++) if ($i ~ /bits\/sec/) printf "%s ", $(i - 1) } END {print ""}' \
	"$TB_DIR/iperf.txt"
grep -hE "reorder:|dropped:" "$TB_DIR/client.status" | sed 's/^/client /'
grep -hE "reorder:|dropped:" "$TB_DIR/conc.status" | sed 's/^/concentrator /'
cp "$TB_DIR"/*.status "$TB_DIR"/*.log "$TB_DIR"/iperf.txt "$TB_DIR"/ss-client.txt "$OUT"/
echo "kept in $OUT"
