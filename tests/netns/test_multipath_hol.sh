#!/usr/bin/env bash
# Head-of-line blocking in a multipath session's reorder buffer (issue 5:
# "Reordering must not let one lost packet stall unrelated flows"),
# datagram mode, on the standard testbed with linkem on both access links
# (10 ms and 20 ms one way, 20 Mbit/s each).
#
# The client schedules with `--scheduler weighted` (equal weights), which
# it signals to the concentrator (Path Preference), so packets alternate
# between the paths even at a low rate both ways: each receiver's reorder
# buffer (the concentrator's for uploads, the client's for downloads)
# holds every packet that overtook one still on the slower path. Flow A
# is an iperf3 UDP transfer at 8 Mbit/s in packets as large as the tunnel
# takes (each fills a QUIC packet of its own); flow B is a ping every
# 20 ms through the same session. Four phases in one run: upload without
# loss (baseline), upload with HOL_LOSS per mille (default 50) of the big
# QUIC packets from the client dropped as they enter access router 1,
# then the same two for a download (dropped as they arrive at the client
# from link 1). nftables matches the QUIC packets' size, so only
# flow A's datagrams are lost (ping's QUIC packets are small). Every lost
# datagram is a Packet Tag gap the receiver must give up; the watermark
# rule does it as soon as the slow path delivers a later tag (one packet
# interval on that path), else the deadline (~1.25 x the delay difference
# the buffer measured). Checked:
#   - flow B loses nothing, and its RTT grows by at most HOL_P50_MS /
#     HOL_P95_MS / HOL_MAX_MS (default 4 / 12 / 60 ms: median / p95 / max)
#     over the baseline of the same direction. A wait of about the RTT
#     difference (20 ms) per loss, at ~8 losses a second, would stall ~16%
#     of the time and raise the p95 by ~15 ms; a wait grown to wait_max
#     (200 ms; what happened before reorder.c stopped growing the deadline
#     for packets the watermark had given up) shows in the max. What
#     remains is the lossy path's own slowness: its congestion window
#     shrinks, its packets wait for pacing, and the reorder buffer waits
#     for them (~+5 ms at p95);
#   - the reorder counters (`hatun status --json` at both ends): at least
#     2/3 of the gaps were given up by the watermark ("lost"), not the
#     deadline ("timed out"; the rest: the lossy path's next big packet
#     came later than the wait, paced after the loss: 8-24 % per phase in
#     4 ASan runs, 2026-11-30, up to 36 % while pings did not count for
#     the watermark; the bound was 3/4 until CI met 25.3 %), the
#     concentrator's for the upload, the
#     client's for the download, and each end's hold time for a gap (its
#     "wait") is at most HOL_WAIT_MS (150 ms) after each phase, below the
#     200 ms ceiling it ran into before the fixes (it follows the fill
#     delays it measures: 12-42 ms here, 73 ms once after a 50 ms stall of
#     the loaded machine).
# Root only (else SKIP, exit 77).
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd iperf3 python3 nft

BUILD=${HATUN_BUILD_DIR:-build}
HATUN=$BUILD/src/cli/hatun
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
[ -c /dev/net/tun ] || tb_skip "no /dev/net/tun"
PORT=4433
POOL4=192.0.2.64/26
LOSS=${HOL_LOSS:-50}     # per mille of flow A's QUIC packets on link 1
P50_MS=${HOL_P50_MS:-4}  # allowed growth of flow B's RTT median
P95_MS=${HOL_P95_MS:-12} # and of its 95th percentile
MAX_MS=${HOL_MAX_MS:-60} # and of its maximum (a stall at wait_max, 200 ms)
WAIT_MS=${HOL_WAIT_MS:-150} # the reorder buffers' hold time after each phase (ceiling 200)
PINGS=${HOL_PINGS:-400}  # 20 ms apart: 8 s per phase
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

tb_init
[ -n "$TB_LINKEM" ] || tb_skip "no linkem (tools/linkem)"
tb_topology_standard --linkem --delay 0:10 --delay 1:20 --rate 0:20 --rate 1:20 ||
	tb_fail "topology"
SV=$TB_SERVER_V4

mkdir -p "$TB_DIR/c" "$TB_DIR/s"
CFP=$("$HATUN" genkey "$TB_DIR/c") || tb_fail "genkey client"
SFP=$("$HATUN" genkey "$TB_DIR/s") || tb_fail "genkey concentrator"
tb_bg --port tcp:5201 server iperf3 -s -B "$SV" -p 5201 || tb_fail "iperf3 server"

tb_bg --port udp:$PORT --log "$TB_DIR/conc.log" concentrator \
	"$HATUN" concentrator --listen "$TB_CONC_V4:$PORT" --cert "$TB_DIR/s/hatun.crt" \
	--key "$TB_DIR/s/hatun.key" --allow "$CFP" --tun hd0 --pool 4:$POOL4 \
	--control "$TB_DIR/conc.sock" || tb_fail "concentrator"
CONC=$TB_LAST_PID
CLOG=$TB_DIR/client.log
tb_bg --log "$CLOG" client \
	"$HATUN" client --server "$TB_CONC_V4:$PORT" --pin "$SFP" \
	--cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" --ticket-file none \
	--path "name=dsl,src=$TB_CLIENT_WAN0_V4" --path "name=lte,src=$TB_CLIENT_WAN1_V4" \
	--scheduler weighted --tun hc0 --route "$SV/32" --control "$TB_DIR/client.sock" ||
	tb_fail "client"
CLI=$TB_LAST_PID

cstatus() { tb_exec client "$HATUN" status --control "$TB_DIR/client.sock" 2>/dev/null; }
wait_state() { tb_wait_path "$HATUN" "$TB_DIR/client.sock" "$@"; } # NAME STATE SECONDS
# The session's reorder counters at the concentrator and at the client
# (on the connection that carries them), as one JSON line.
reorder() {
	{ "$HATUN" status --json --control "$TB_DIR/conc.sock" &&
		"$HATUN" status --json --control "$TB_DIR/client.sock"; } | python3 -c '
import json, sys
conc, cli = [json.loads(x) for x in sys.stdin.read().splitlines() if x.strip()]
ro = lambda st: [c["session"]["reorder"] for c in st["connections"] if "session" in c][0]
print(json.dumps({"conc": ro(conc), "client": ro(cli)}))'
}

wait_state dsl active 10 || { cstatus; tb__tail "$CLOG"; tb_fail "path dsl not active"; }
wait_state lte active 10 || { cstatus; tb_fail "path lte not active"; }
tb_wait 10 grep -q "hc0: address 192\.0\.2\." "$CLOG" ||
	{ tb__tail "$CLOG"; tb_fail "no configuration on hc0"; }
MTU=$(tb_exec client cat /sys/class/net/hc0/mtu) || tb_fail "hc0 mtu"
LEN=$((MTU - 28)) # flow A's UDP payload: IP packets of the tunnel's MTU
tb_exec client ping -c 3 -i 0.2 -W 2 "$SV" >/dev/null || tb_fail "ping through the TUN"
tb_ok "two paths active, scheduler weighted, tunnel MTU $MTU"

# phase NAME [-R]: flow A (iperf3 UDP upload, or download with -R) with
# flow B (ping) in the middle of it; ping's output in $TB_DIR/ping-NAME,
# the concentrator's reorder counters before and after in
# $TB_DIR/ro-NAME, the access routers' counters in $TB_DIR/links-NAME.
phase() {
	local ipf
	reorder >"$TB_DIR/ro-$1" || return 1
	tb_link_counters >"$TB_DIR/links-$1" || return 1
	tb_exec client iperf3 -c "$SV" -p 5201 -u -b 8M -l "$LEN" -t $((PINGS / 50 + 2)) \
		${2:+"$2"} >"$TB_DIR/iperf-$1" 2>&1 &
	ipf=$!
	sleep 1
	tb_exec client ping -n -i 0.02 -c "$PINGS" -W 1 "$SV" >"$TB_DIR/ping-$1" 2>&1
	wait "$ipf" || { cat "$TB_DIR/iperf-$1"; return 1; }
	reorder >>"$TB_DIR/ro-$1"
	tb_link_counters >>"$TB_DIR/links-$1"
}

# drop_big up|down|off: drop LOSS per mille of the big QUIC packets on
# link 1: from the client as they enter access router 1 (up), or towards
# the client as they reach it from link 1 (down). Both where linkem has
# already split GSO batches into single packets (a rule at access1's
# output would see the concentrator's GSO batches whole and drop a small
# ping reply with the big packets batched ahead of it). "off" removes the
# rule and prints how many it dropped.
HOL_NS=access1
drop_big() {
	local ifc=lan port=dport
	if [ "$1" = off ]; then
		tb_exec "$HOL_NS" nft list table inet tb_hol |
			awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
		tb__nsx "$HOL_NS" nft delete table inet tb_hol
		return
	fi
	HOL_NS=access1
	[ "$1" = down ] && { HOL_NS=client; ifc=wan1; port=sport; }
	tb__nsx "$HOL_NS" nft -f - <<EOF
table inet tb_hol {
	chain c {
		type filter hook prerouting priority -350; policy accept;
		iifname "$ifc" udp $port $PORT meta length > 1000 numgen random mod 1000 < $LOSS counter drop
	}
}
EOF
}

phase base || tb_fail "baseline phase (upload)"
drop_big up || tb_fail "drop rule (upload)"
phase loss || tb_fail "loss phase (upload)"
dropped=$(drop_big off) || tb_fail "remove the drop rule"
phase base-down -R || tb_fail "baseline phase (download)"
drop_big down || tb_fail "drop rule (download)"
phase loss-down -R || tb_fail "loss phase (download)"
dropped_down=$(drop_big off) || tb_fail "remove the drop rule"
for n in base loss base-down loss-down; do
	tb_log "$n: packets up link 0 / 1, down link 0 / 1: $(python3 -c '
import sys
a, b = [[int(x) for x in l.split()] for l in open(sys.argv[1])]
print("%d / %d, %d / %d" % (b[0] - a[0], b[2] - a[2], b[1] - a[1], b[3] - a[3]))' "$TB_DIR/links-$n")"
done

python3 - "$TB_DIR" "$P50_MS" "$P95_MS" "$MAX_MS" "$WAIT_MS" "$dropped" "$dropped_down" <<'PY' ||
import json, re, sys
d, p50_max, p95_max, max_max, wait_max = [sys.argv[1]] + [float(x) for x in sys.argv[2:6]]
dropped = {"loss": int(sys.argv[6]), "loss-down": int(sys.argv[7])}

def rtts(name):
    text = open("%s/ping-%s" % (d, name)).read()
    r = sorted(float(x) for x in re.findall(r"time=([0-9.]+) ms", text))
    sent = int(re.search(r"(\d+) packets transmitted", text).group(1))
    return r, sent

def pct(r, p):
    return r[min(len(r) - 1, int(p / 100.0 * len(r)))]

# A reorder buffer over a phase: the concentrator's (uploads) or the
# client's (downloads).
def ro(name, who):
    a, b = [json.loads(x)[who] for x in open("%s/ro-%s" % (d, name)).read().split("\n") if x]
    c = {k: b[k] - a[k] for k in ("in_order", "reordered", "late", "lost", "timed_out")}
    c["wait_ms"] = b["wait_ms"]
    return c

ok = True
res = {}
for name in ("base", "loss", "base-down", "loss-down"):
    r, sent = rtts(name)
    res[name] = (pct(r, 50), pct(r, 95), max(r))
    print("%-9s: flow B %d/%d answered, rtt median %.1f ms, p95 %.1f ms, max %.1f ms"
          % (name, len(r), sent, res[name][0], res[name][1], res[name][2]))
    for who in ("conc", "client"):
        c = ro(name, who)
        print("%-9s  %-6s reorder: in order %d, reordered %d, late %d, lost %d,"
              " timed out %d, wait now %.1f ms"
              % ("", who, c["in_order"], c["reordered"], c["late"], c["lost"],
                 c["timed_out"], c["wait_ms"]))
        if c["wait_ms"] > wait_max:
            print("the %s's reorder wait grew to %.1f ms (allowed %.0f): every gap the"
                  " watermark cannot settle holds the whole session that long"
                  % (who, c["wait_ms"], wait_max))
            ok = False
    if len(r) != sent:
        print("flow B lost %d of %d pings in phase %s" % (sent - len(r), sent, name))
        ok = False
for base, loss, what in (("base", "loss", "upload"), ("base-down", "loss-down", "download")):
    d50 = res[loss][0] - res[base][0]
    d95 = res[loss][1] - res[base][1]
    dmax = res[loss][2] - res[base][2]
    print("%s: %d of flow A's QUIC packets dropped on link 1; flow B's rtt grew by %.1f ms"
          " (median, allowed %.0f), %.1f ms (p95, allowed %.0f), %.1f ms (max, allowed %.0f)"
          % (what, dropped[loss], d50, p50_max, d95, p95_max, dmax, max_max))
    if dropped[loss] < 30:
        print("too few losses to show anything")
        ok = False
    if d50 > p50_max or d95 > p95_max or dmax > max_max:
        ok = False
for loss, who, what in (("loss", "conc", "upload"), ("loss-down", "client", "download")):
    c = ro(loss, who)
    gaps = c["lost"] + c["timed_out"]
    print("%s: gaps given up by the %s: %d by the watermark, %d by the deadline"
          % (what, who, c["lost"], c["timed_out"]))
    if gaps < 30:
        print("too few gaps to show anything")
        ok = False
    if c["timed_out"] * 3 > gaps:
        print("more than a third of the gaps waited for the deadline")
        ok = False
sys.exit(0 if ok else 1)
PY
	{ grep -h "failed" "$CLOG" "$TB_DIR/conc.log" | head; tb_fail "flow B stalled behind flow A's losses (numbers above)"; }
n=$(cat "$CLOG" "$TB_DIR/conc.log" | grep -c "failed")
[ "$n" = 0 ] || tb_log "path failures declared: $(grep -h "failed" "$CLOG" "$TB_DIR/conc.log" | head -5)"
tb_ok "flow A lost $dropped (upload) and $dropped_down (download) packets on one path; flow B (ping every 20 ms) lost nothing and its RTT stayed within +$P50_MS ms (median) / +$P95_MS ms (p95) / +$MAX_MS ms (max)"

tb_stop "$CLI" || tb_fail "client exit status (ASan?)"
tb_stop "$CONC" || tb_fail "concentrator exit status (ASan?)"
grep -q "ERROR: AddressSanitizer\\|runtime error" "$TB_DIR/conc.log" "$CLOG" &&
	tb_fail "sanitizer report in a log"
tb_ok "both exit 0 on SIGTERM"
tb_ok "multipath_hol"
