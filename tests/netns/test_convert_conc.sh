#!/usr/bin/env bash
# One process for both ways of bonding (issue 6): `hatun concentrator
# --convert-listen` runs a Transport Converter in the concentrator's event
# loop beside its QUIC listener, on the standard testbed (no linkem).
#   - a QUIC tunnel client (stream mode, -L) and a convert client
#     (`hatun client --transport convert`, -L) in the client namespace, at
#     the same time: curl through each, then a CONC_MB MiB download through
#     each in parallel, SHA-256 checked;
#   - the converter uses the concentrator's policy: a --deny-dest prefix and
#     the concentrator's own address are refused with Not Authorized (32)
#     (raw Convert client, tests/tools/cv_rawclient.py); a client outside
#     --convert-allow-client gets 32 from a second concentrator;
#   - `hatun status` of the concentrator: its QUIC connection and the
#     converter's part (listen address, converted connections, refusals by
#     code), text and JSON;
#   - SIGTERM: every process exits 0 (ASan: no leaks).
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd python3 curl sha256sum
SRC=${HATUN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HATUN=${HATUN_BUILD_DIR:-build}/src/cli/hatun
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
RAW=$SRC/tests/tools/cv_rawclient.py
MB=${CONC_MB:-16}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
CONC=$TB_CONC_V4
SRV=$TB_SERVER_V4

tb_init
tb_topology_standard --no-linkem
tb_mptcp_tfo --subflow || tb_fail "MPTCP subflow set-up"

mkdir -p "$TB_DIR/c" "$TB_DIR/s" "$TB_DIR/www"
CFP=$("$HATUN" genkey "$TB_DIR/c") || tb_fail "genkey client"
SFP=$("$HATUN" genkey "$TB_DIR/s") || tb_fail "genkey concentrator"
head -c $((MB * 1024 * 1024)) /dev/urandom >"$TB_DIR/www/big.bin"
echo hello >"$TB_DIR/www/index.html"
sum=$(sha256sum <"$TB_DIR/www/big.bin" | cut -d' ' -f1)
tb_bg --port tcp:8080 server python3 -m http.server -d "$TB_DIR/www" -b "$SRV" 8080

tb_bg --port tcp:5124 concentrator "$HATUN" concentrator --listen "$CONC:4433" \
	--cert "$TB_DIR/s/hatun.crt" --key "$TB_DIR/s/hatun.key" --allow "$CFP" \
	--deny-dest 203.0.113.8/29 --convert-listen "$CONC:5124" --control "$TB_DIR/conc.sock"
KPID=$TB_LAST_PID KLOG=$TB_LAST_LOG
grep -q "converter: listening on $CONC:5124 (MPTCP" "$KLOG" \
	|| tb_fail "no converter in the concentrator: $(cat "$KLOG")"
# A second one, whose converter admits only 198.51.100.0/24 (not the client).
tb_bg --port tcp:5125 concentrator "$HATUN" concentrator --listen "$CONC:4434" \
	--cert "$TB_DIR/s/hatun.crt" --key "$TB_DIR/s/hatun.key" --allow "$CFP" \
	--convert-listen "$CONC:5125" --convert-allow-client 198.51.100.0/24 \
	--control "$TB_DIR/conc2.sock"
K2PID=$TB_LAST_PID

tb_bg --log "$TB_DIR/quic.log" client "$HATUN" client --server "$CONC:4433" --pin "$SFP" \
	--cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" -L "127.0.0.1:8001:$SRV:8080" \
	--control "$TB_DIR/quic.sock"
QPID=$TB_LAST_PID
tb_wait 10 grep -q "tunnel to .* up" "$TB_DIR/quic.log" || tb_fail "QUIC tunnel not up"
tb_bg --log "$TB_DIR/cvc.log" --port tcp:8101 client "$HATUN" client --transport convert \
	--converter "$CONC:5124" -L "127.0.0.1:8101:$SRV:8080" --control "$TB_DIR/cvc.sock"
CVPID=$TB_LAST_PID
tb_wait 10 grep -q "bootstrapped" "$TB_DIR/cvc.log" || tb_fail "convert client: no bootstrap"
tb_ok "one concentrator process: QUIC on $CONC:4433/udp, converter on $CONC:5124/tcp; both clients up"

cx() { tb_exec client curl -sS --max-time 20 "$@"; }
[ "$(cx http://127.0.0.1:8001/)" = hello ] || tb_fail "curl through the QUIC tunnel"
[ "$(cx http://127.0.0.1:8101/)" = hello ] || tb_fail "curl through the converter"
grep -q "converter: .* -> $SRV:8080: open (client MPTCP" "$KLOG" \
	|| tb_fail "the concentrator's log has no converted connection"
tb_ok "curl through the QUIC tunnel and through the concentrator's converter"

# ---- both at once ---------------------------------------------------------------------
TB_TIMEOUT=$((60 + MB)) tb_exec client curl -sS --max-time $((30 + MB)) \
	-o "$TB_DIR/quic.recv" http://127.0.0.1:8001/big.bin &
C1=$!
TB_TIMEOUT=$((60 + MB)) tb_exec client curl -sS --max-time $((30 + MB)) \
	-o "$TB_DIR/cvc.recv" http://127.0.0.1:8101/big.bin &
C2=$!
wait "$C1" || tb_fail "download through the QUIC tunnel"
wait "$C2" || tb_fail "download through the converter"
[ "$(sha256sum <"$TB_DIR/quic.recv" | cut -d' ' -f1)" = "$sum" ] || tb_fail "QUIC download: SHA-256 differs"
[ "$(sha256sum <"$TB_DIR/cvc.recv" | cut -d' ' -f1)" = "$sum" ] || tb_fail "Convert download: SHA-256 differs"
tb_ok "$MB MiB through each at the same time, SHA-256 matches"

# ---- the concentrator's policy ---------------------------------------------------------------
raw() { tb_exec client python3 "$RAW" "$@"; }
expect32() { # NAME PORT IP DPORT
	local out
	out=$(raw --mptcp "$CONC" "$2" connect "$3" "$4") || tb_fail "$1: client failed"
	printf '%s\n' "$out" | grep -qx "error 32 00" || tb_fail "$1: $(tr '\n' '|' <<<"$out")"
}
expect32 "--deny-dest 203.0.113.8/29" 5124 203.0.113.9 80
expect32 "the concentrator's own address" 5124 "$CONC" 4433
expect32 "outside --convert-allow-client" 5125 "$SRV" 8080
tb_ok "converter refusals: --deny-dest and own address (the concentrator's policy), --convert-allow-client -> 32"

# ---- hatun status ------------------------------------------------------------------------------
"$HATUN" status --control "$TB_DIR/conc.sock" >"$TB_DIR/st.txt" || tb_fail "hatun status"
grep -q "^role: concentrator" "$TB_DIR/st.txt" && grep -q "^quic connections: 1" "$TB_DIR/st.txt" \
	&& grep -q "^converter $CONC:5124 (MPTCP + TFO)" "$TB_DIR/st.txt" \
	&& grep -q "refused 2: Not Authorized (32) 2" "$TB_DIR/st.txt" \
	|| tb_fail "hatun status: $(cat "$TB_DIR/st.txt")"
"$HATUN" status --json --control "$TB_DIR/conc.sock" >"$TB_DIR/st.json" || tb_fail "hatun status --json"
python3 - "$TB_DIR/st.json" "$CFP" <<'PY' || tb_fail "hatun status --json: $(cat "$TB_DIR/st.json")"
import json, sys
j = json.load(open(sys.argv[1]))
v = j["converter"]
ok = (j["role"] == "concentrator" and len(j["connections"]) == 1
      and j["connections"][0]["fingerprint"] == sys.argv[2] and j["tcp"]["total"] >= 2
      and v["converted"] >= 2 and v["bytes_down"] > 0 and v["refused"] == 2
      and {e["code"]: e["count"] for e in v["errors"]}[32] == 2)
sys.exit(0 if ok else 1)
PY
tb_ok "hatun status (text, JSON): the QUIC client and the converter's counters in one snapshot"

# ---- shutdown -----------------------------------------------------------------------------------
for p in "$CVPID" "$QPID" "$KPID" "$K2PID"; do
	kill -TERM "$p"
	wait "$p"; rc=$?
	[ "$rc" = 0 ] || tb_fail "exit status $rc after SIGTERM"
done
grep -l "AddressSanitizer\|LeakSanitizer" "$TB_DIR"/*.log && tb_fail "sanitizer report"
tb_ok "convert_conc"
