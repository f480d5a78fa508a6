#!/bin/bash
# Benchmark of tools/linkem: delay accuracy under load.
#
# Topology as tests/netns/test_linkem.sh (A --veth-- M: linkem --veth-- B,
# sender offloads off so every frame is one 1514-byte packet). For each
# offered rate, iperf3 pushes UDP (1472-byte payload = 1514-byte frames)
# through linkem --delay $DELAY in one direction, then in both (--bidir),
# while ping measures RTT every 10 ms. Reported per run:
#   delay error = ping RTT - 2 x delay (p50 / p99 / max, ms)
#   UDP loss    = frames iperf3 sent that did not arrive, %, end to end;
#                 with the receive-buffer overflows at the receivers (a
#                 CPU-starved iperf3 on a busy 2-core machine)
#   linkem loss = frames linkem itself dropped (ring overflow, send
#                 refused, queue full) / frames it received, %: linkem is
#                 configured lossless and unlimited, so all are unintended
#   linkem's own departure lateness p99 and ring/tx drops
# The ceiling is the highest rate with p99 error <= 1 ms and linkem loss
# < 0.1 %.
#
# usage: bench/linkem.sh [RATES...]     (root; default 100 200 400 800 1000)
# env:   DELAY (ms, default 4: ping prints RTTs under 10 ms to 0.01 ms), SECS (per run, default 5), BUILD (dir,
#        default build/release, built here with -DCMAKE_BUILD_TYPE=Release)
set -u

if [ "$(id -u)" != 0 ]; then
	echo "needs root" >&2
	exit 77
fi
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build/release}
DELAY=${DELAY:-4}
SECS=${SECS:-5}
RATES=("$@")
[ ${#RATES[@]} -gt 0 ] || RATES=(100 200 400 800 1000)

cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
	cmake --build "$BUILD" --target linkem -j2 >/dev/null || exit 1
LINKEM=$BUILD/tools/linkem/linkem

P=lkb$$
NA=${P}a NM=${P}m NB=${P}b
TMP=$(mktemp -d /tmp/${P}.XXXXXX)
PIDS=()

cleanup() {
	local p n
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for n in "$NA" "$NM" "$NB"; do
		timeout 10 ip netns pids "$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		timeout 10 ip netns del "$n" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

set -e
for n in "$NA" "$NM" "$NB"; do timeout 10 ip netns add "$n"; done
timeout 10 ip link add a0 netns "$NA" type veth peer name m0 netns "$NM"
timeout 10 ip link add b0 netns "$NB" type veth peer name m1 netns "$NM"
timeout 10 ip netns exec "$NM" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
timeout 10 ip -n "$NM" link set dev m0 up
timeout 10 ip -n "$NM" link set dev m1 up
timeout 10 ip -n "$NA" addr add 192.0.2.1/24 dev a0
timeout 10 ip -n "$NB" addr add 192.0.2.2/24 dev b0
for x in "$NA:a0" "$NB:b0"; do
	timeout 10 ip netns exec "${x%%:*}" ethtool -K "${x#*:}" tso off gso off gro off tx off >/dev/null
	timeout 10 ip -n "${x%%:*}" link set dev lo up
	timeout 10 ip -n "${x%%:*}" link set dev "${x#*:}" up
done
set +e

# one run: rate mode(one|both) -> prints a table row
run() {
	local rate=$1 mode=$2 bidir="" lk spid
	rm -f "$TMP/pid" "$TMP/stats"
	ip netns exec "$NM" timeout 120 "$LINKEM" --delay "$DELAY" --seed 1 \
		--pidfile "$TMP/pid" --stats "$TMP/stats" m0 m1 2>"$TMP/lk.err" &
	lk=$!
	PIDS+=("$lk")
	for _ in $(seq 100); do [ -s "$TMP/pid" ] && break; sleep 0.05; done
	ip netns exec "$NA" timeout 5 ping -c 1 -W 3 192.0.2.2 >/dev/null
	ip netns exec "$NA" nstat -n; ip netns exec "$NB" nstat -n
	ip netns exec "$NB" timeout $((SECS + 20)) iperf3 -s -1 -B 192.0.2.2 >/dev/null 2>&1 &
	spid=$!
	PIDS+=("$spid")
	sleep 0.3
	[ "$mode" = both ] && bidir=--bidir
	ip netns exec "$NA" timeout $((SECS + 20)) iperf3 -c 192.0.2.2 -u -b "${rate}M" \
		-l 1472 -t "$SECS" $bidir -J >"$TMP/iperf.json" 2>/dev/null &
	local cpid=$!
	sleep 0.5
	ip netns exec "$NA" timeout $((SECS + 10)) ping -i 0.01 -c $(((SECS - 1) * 100)) \
		192.0.2.2 >"$TMP/ping.txt" 2>&1
	wait "$cpid"
	wait "$spid"
	kill -TERM "$(cat "$TMP/pid")" 2>/dev/null
	wait "$lk"
	# Receive-buffer overflows at the iperf3/ping ends (CPU-starved
	# receivers), not linkem's doing.
	# (-z: a counter that stayed 0 is printed too, so the sum never sees "")
	local ra rb
	ra=$(ip netns exec "$NA" nstat -az UdpRcvbufErrors | awk '/UdpRcvbufErrors/ { print $2; exit }')
	rb=$(ip netns exec "$NB" nstat -az UdpRcvbufErrors | awk '/UdpRcvbufErrors/ { print $2; exit }')
	rcvbuf=$(( ${ra:-0} + ${rb:-0} ))
	python3 - "$rate" "$mode" "$DELAY" "$TMP/ping.txt" "$TMP/iperf.json" "$TMP/stats" "${rcvbuf:-0}" <<'EOF'
import json, re, sys
rate, mode, delay, pingf, iperff, statf, rcvbuf = sys.argv[1:]
rtts = sorted(float(m.group(1)) for m in re.finditer(r"time=([\d.]+) ms", open(pingf).read()))
err = [r - 2 * float(delay) for r in rtts]
def pct(p):
    return err[min(len(err) - 1, int(p * len(err)))] if err else float("nan")
st = dict(l.strip().split("=", 1) for l in open(statf) if "=" in l)
try:
    j = json.load(open(iperff))["end"]
    sums = [j["sum"]] + ([j["sum_bidir_reverse"]] if "sum_bidir_reverse" in j else [])
    lost = sum(s["lost_packets"] for s in sums)
    pk = sum(s["packets"] for s in sums)
    got = [s["bits_per_second"] * (1 - s["lost_percent"] / 100) / 1e6 for s in sums]
except Exception:
    lost, pk, got = 0, 0, []
lossp = 100.0 * lost / pk if pk else float("nan")
late = max(int(st.get("a2b_late_p99_us", 0)), int(st.get("b2a_late_p99_us", 0)))
drops = sum(int(st.get(f"{d}_{k}", 0)) for d in ("a2b", "b2a")
            for k in ("drop_ring", "drop_tx", "drop_queue"))
rx = sum(int(st.get(f"{d}_rx", 0)) for d in ("a2b", "b2a"))
lkloss = 100.0 * drops / rx if rx else float("nan")
ok = pct(0.99) <= 1.0 and lkloss < 0.1 and len(rtts) > 0
print(f"| {rate} | {mode} | {'/'.join(f'{g:.0f}' for g in got) or '-'} | "
      f"{pct(0.5):.3f} | {pct(0.99):.3f} | {err[-1] if err else float('nan'):.3f} | "
      f"{lossp:.3f} | {rcvbuf} | {lkloss:.3f} | {late} | {'yes' if ok else 'no'} |")
EOF
}

echo "linkem benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, kernel $(uname -r)," \
	"load $(cut -d' ' -f1-3 /proc/loadavg), delay ${DELAY} ms, ${SECS} s per run"
echo "command: bench/linkem.sh ${RATES[*]} (DELAY=$DELAY SECS=$SECS)"
echo
echo "| offered Mbit/s | dirs | received Mbit/s | err p50 ms | err p99 ms | err max ms | UDP loss % | of which rcvbuf overflows | linkem loss % | linkem late p99 us | ok |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for r in "${RATES[@]}"; do
	for m in one both; do
		run "$r" "$m"
	done
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
