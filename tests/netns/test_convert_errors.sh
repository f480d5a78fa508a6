#!/usr/bin/env bash
# hatun converter (issue 6): every Error TLV from a real cause, each
# answered as docs/protocol/convert.md says (Error TLV, then a reset), with
# raw clients (tests/tools/cv_rawclient.py) on real sockets.
#   - upstream: refused port -> 96; the server namespace routes
#     192.0.2.96/27 as a router (forwarding on): "unreachable" -> ICMP host
#     unreachable -> 97 value 1, "prohibit" -> ICMP code 13 -> 97 value 13
#     (plain TCP upstream, error queue), the same over MPTCP -> 97 value 1
#     (an MPTCP socket has no error queue: errno only), "blackhole" ->
#     connect timeout -> 65;
#   - message: version 2 -> 0 (value 01), truncated header -> 1 (echo),
#     duplicated TLV -> 1, unknown TLV (RFC 8803 Cookie) -> 2, a TLV only a
#     converter sends -> 2, bad magic -> reset without reply;
#   - policy: TCP-AO asked -> 33 (value 29); loopback -> 1 (forbidden on
#     the wire), our own address and a --deny-dest prefix -> 32; a client
#     outside --allow-client -> 32;
#   - caps: --max-pending-per-client 1 and --max-conns 2 -> 64;
#   - --error-rate 1: beyond the burst, refusals are bare resets;
#   - `hatun status --json`: the refusals counted by Error code and cap.
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd python3 socat
SRC=${HATUN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HATUN=${HATUN_BUILD_DIR:-build}/src/cli/hatun
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
RAW=$SRC/tests/tools/cv_rawclient.py
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
CONV=$TB_CONC_V4
SRV=$TB_SERVER_V4

tb_init
tb_topology_standard --no-linkem
tb_mptcp_tfo
# The server namespace as a router for 192.0.2.96/27.
# No ICMP rate limit on this router: the tests send its errors back to back.
tb_exec server sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0
tb_exec concentrator ip route add 192.0.2.96/27 via "$SRV"
tb_exec server ip route add unreachable 192.0.2.96/28
tb_exec server ip route add prohibit 192.0.2.112/29
tb_exec server ip route add blackhole 192.0.2.120/29

start_conv() { # PORT OPTIONS...
	local port=$1
	shift
	tb_bg --port "tcp:$port" concentrator "$HATUN" converter --listen "$CONV:$port" "$@" \
		|| tb_fail "converter $*"
}
start_conv 5124 --connect-timeout 2 --deny-dest 203.0.113.8/29 --control "$TB_DIR/c1.sock"
P1=$TB_LAST_PID L1=$TB_LAST_LOG
start_conv 5125 --allow-client 198.51.100.0/24
P2=$TB_LAST_PID
start_conv 5126 --max-conns 2 --max-pending-per-client 1 --connect-timeout 4 \
	--control "$TB_DIR/c3.sock"
P3=$TB_LAST_PID L3=$TB_LAST_LOG
start_conv 5127 --error-rate 1
P4=$TB_LAST_PID
tb_bg --port tcp:9100 server socat TCP-LISTEN:9100,bind="$SRV",reuseaddr,fork SYSTEM:'sleep 20'

raw() { tb_exec client python3 "$RAW" "$@"; }

# expect NAME "ERROR-LINE" RAW-ARGS...: the reply holds that error line and
# the connection ends with a reset.  Echoed messages are shown with the
# Error TLV's zero padding.
expect() {
	local name=$1 want=$2 out
	shift 2
	out=$(raw "$@") || tb_fail "$name: client failed: $out"
	printf '%s\n' "$out" | grep -qx "$want" || tb_fail "$name: want '$want', got: $(tr '\n' '|' <<<"$out")"
	printf '%s\n' "$out" | grep -qx 'end rst' || tb_fail "$name: not reset: $(tr '\n' '|' <<<"$out")"
	tb_ok "$name -> $want, reset"
}

# ---- upstream failures ---------------------------------------------------------------
expect "refused port (TCP)" "error 96 00" "$CONV" 5124 connect "$SRV" 9
expect "refused port (MPTCP)" "error 96 00" --mptcp "$CONV" 5124 connect "$SRV" 9
expect "ICMP host unreachable from a router (TCP)" "error 97 01" "$CONV" 5124 connect 192.0.2.97 80
expect "ICMP admin prohibited from a router (TCP)" "error 97 0d" "$CONV" 5124 connect 192.0.2.113 80
expect "ICMP admin prohibited from a router (MPTCP: errno only)" "error 97 01" \
	--mptcp "$CONV" 5124 connect 192.0.2.114 80
expect "black hole: connect timeout" "error 65 00" "$CONV" 5124 connect 192.0.2.121 80
grep -q "Destination Unreachable .*ICMP" "$L1" || tb_fail "no ICMP refusal line in the log"

# ---- malformed and unsupported messages -------------------------------------------------
expect "version 2" "error 0 01" --version 2 "$CONV" 5124 connect "$SRV" 8080
expect "truncated header (EOF)" "error 1 0106000000" --shut "$CONV" 5124 raw 01060000
expect "duplicated TLV" "error 1 01030000010100000101000000" "$CONV" 5124 raw 010300000101000001010000
expect "unknown TLV (RFC 8803 Cookie)" "error 2 010200001601000000" "$CONV" 5124 raw 0102000016010000
expect "TLV only a converter sends" "error 2 01030000150200001e00000000" \
	"$CONV" 5124 raw 01030000150200001e000000
out=$(raw "$CONV" 5124 raw 0102000101010000)
printf '%s\n' "$out" | grep -q '^convert' && tb_fail "bad magic answered: $out"
printf '%s\n' "$out" | grep -qx 'end rst' || tb_fail "bad magic: not reset: $out"
tb_ok "bad magic -> reset, no Convert bytes"

# ---- policy -----------------------------------------------------------------------------
expect "TCP-AO asked" "error 33 1d" "$CONV" 5124 connect "$SRV" 8080 1d02
expect "loopback destination" "error 1 010600000a05005000000000000000000000ffff7f00000100" \
	"$CONV" 5124 connect 127.0.0.1 80
expect "converter's own address" "error 32 00" "$CONV" 5124 connect "$CONV" 5124
expect "--deny-dest 203.0.113.8/29" "error 32 00" "$CONV" 5124 connect 203.0.113.9 80
expect "client outside --allow-client" "error 32 00" "$CONV" 5125 connect "$SRV" 8080

# ---- caps -------------------------------------------------------------------------------
# One connect pending to the black hole (4 s), the second is one too many.
raw --timeout 8 "$CONV" 5126 connect 192.0.2.122 80 >"$TB_DIR/pend1.out" &
PEND=$!
syn_sent() { tb_exec concentrator ss -Htn state syn-sent dst 192.0.2.122 | grep -q .; }
tb_wait 10 syn_sent || tb_fail "the first connect never became pending"
expect "--max-pending-per-client 1" "error 64 01" "$CONV" 5126 connect 192.0.2.123 80
wait "$PEND"
grep -qx "error 65 00" "$TB_DIR/pend1.out" || tb_fail "pending connect: $(cat "$TB_DIR/pend1.out")"
# Two relayed connections held open by the server, the third is refused.
# One after the other: while the first one's connect to the server is
# still pending, a second one is over --max-pending-per-client 1 (a CI run
# on a loaded machine saw exactly that: error 64 for the second).
raw --timeout 15 "$CONV" 5126 connect "$SRV" 9100 >/dev/null &
H1=$!
tb_wait 15 bash -c "[ \$(grep -c ': open' '$L3') -ge 1 ]" || tb_fail "first held connection not open"
raw --timeout 15 "$CONV" 5126 connect "$SRV" 9100 >/dev/null &
H2=$!
tb_wait 15 bash -c "[ \$(grep -c ': open' '$L3') -ge 2 ]" || tb_fail "held connections not open"
expect "--max-conns 2" "error 64 01" "$CONV" 5126 connect "$SRV" 9100
kill "$H1" "$H2" 2>/dev/null
wait "$H1" "$H2" 2>/dev/null

# ---- error rate limit ----------------------------------------------------------------------
# Burst 2, then 1 a second: 20 refusals back to back (a few seconds even on
# a loaded machine) cannot all be answered.
replied=$(TB_TIMEOUT=60 raw --repeat 20 --version 2 "$CONV" 5127 connect "$SRV" 8080 | grep -c '^error 0')
[ "$replied" -ge 1 ] && [ "$replied" -le 12 ] || tb_fail "--error-rate 1: $replied of 20 answered"
tb_ok "--error-rate 1: $replied of 20 refusals answered, the rest bare resets"

# ---- hatun status: the refusals above, counted ---------------------------------------------
"$HATUN" status --json --control "$TB_DIR/c1.sock" >"$TB_DIR/c1.json" || tb_fail "status (5124)"
"$HATUN" status --json --control "$TB_DIR/c3.sock" >"$TB_DIR/c3.json" || tb_fail "status (5126)"
python3 - "$TB_DIR/c1.json" "$TB_DIR/c3.json" <<'PY' || tb_fail "hatun status counters (above)"
import json, sys
c1 = json.load(open(sys.argv[1]))["converter"]
c3 = json.load(open(sys.argv[2]))["converter"]
e = {x["code"]: x["count"] for x in c1["errors"]}
# code: refusals sent to 5124 above
want = {96: 2, 97: 3, 65: 1, 0: 1, 1: 3, 2: 2, 33: 1, 32: 2}
bad = {k: (e.get(k), n) for k, n in want.items() if e.get(k) != n}
if bad or c1["refused"] != sum(want.values()) or c1["not_convert"] != 1 or c1["open"] != 0:
    print("5124:", bad, json.dumps(c1), file=sys.stderr)
    sys.exit(1)
if c3["refused_max_pending_per_client"] != 1 or c3["refused_max_conns"] != 1 \
        or {x["code"]: x["count"] for x in c3["errors"]}[64] != 2:
    print("5126:", json.dumps(c3), file=sys.stderr)
    sys.exit(1)
PY
tb_ok "hatun status: refusals by Error code (96 x2, 97 x3, 65, 0, 1 x3, 2 x2, 33, 32 x2), bad magic, caps"

for p in "$P1" "$P2" "$P3" "$P4"; do
	kill -TERM "$p"
	wait "$p"; rc=$?
	[ "$rc" = 0 ] || tb_fail "converter exit status $rc"
done
grep -l "AddressSanitizer\|LeakSanitizer" "$TB_DIR"/*.log && tb_fail "sanitizer report"
tb_ok "convert_errors"
