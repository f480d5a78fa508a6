#!/usr/bin/env bash
# Per-destination transport in ONE client process (issue 6): `hatun client
# --server ... --converter ... --convert-dest SRV:8080`, the concentrator
# running the converter too (--convert-listen), on the standard testbed.
#   - -L and SOCKS to SRV:8080 take the converter (rule 1), to SRV:8081 the
#     QUIC tunnel (the default): curl through each; the concentrator's
#     `hatun status --json` counts exactly those converted connections and
#     tunnelled streams; the client's debug lines say which and why;
#   - a SOCKS request with a host name for port 8080 takes the tunnel (the
#     concentrator resolves through --dns; the converter takes addresses
#     only);
#   - CP_MB MiB downloaded through each transport at once, SHA-256 checked;
#   - the client's `hatun status` (text, JSON): the tunnel's part, the
#     rules with their hits, the convert client's part;
#   - the converter black-holed (nft drop, --convert-timeout 1): three
#     convert-routed connections fail, the converter is disabled, and the
#     next convert-routed connections (-L and SOCKS) work through the
#     tunnel ("rule 1: converter disabled"), none reaching the converter;
#   - a second client with --transport convert (the converter by default)
#     and --tunnel-dest rules, one IPv6 with a port: -L to an IPv6 server
#     and --transparent (TPROXY from a LAN host) to the IPv4 one, each
#     where its rule says;
#   - SIGTERM: every process exits 0 (ASan: no leaks).
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd python3 curl sha256sum nft
SRC=${HATUN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HATUN=${HATUN_BUILD_DIR:-build}/src/cli/hatun
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
MB=${CP_MB:-8}
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
tb_bg --port tcp:8081 server python3 -m http.server -d "$TB_DIR/www" -b "$SRV" 8081
tb_bg --port tcp:53 server python3 "$SRC/tests/tools/dns_tcp_server.py" "$SRV" 53 \
	"www.example.com=$SRV"

tb_bg --port tcp:5124 --log "$TB_DIR/conc.log" concentrator "$HATUN" concentrator \
	--listen "$CONC:4433" --cert "$TB_DIR/s/hatun.crt" --key "$TB_DIR/s/hatun.key" \
	--allow "$CFP" --convert-listen "$CONC:5124" --control "$TB_DIR/conc.sock"
KPID=$TB_LAST_PID

tb_bg --log "$TB_DIR/client.log" --port tcp:1080 client "$HATUN" client \
	--server "$CONC:4433" --pin "$SFP" --cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" \
	--converter "$CONC:5124" --convert-dest "$SRV:8080" --convert-timeout 1 \
	-L "127.0.0.1:8001:$SRV:8080" -L "127.0.0.1:8002:$SRV:8081" --socks 127.0.0.1:1080 \
	--dns "$SRV" --log-level debug --control "$TB_DIR/client.sock"
CPID=$TB_LAST_PID
CLOG=$TB_DIR/client.log
tb_wait 10 grep -q "tunnel to .* up" "$CLOG" || tb_fail "QUIC tunnel not up: $(tail -n 5 "$CLOG")"
tb_wait 10 grep -q "bootstrapped" "$CLOG" || tb_fail "converter not bootstrapped: $(tail -n 5 "$CLOG")"
tb_ok "one client process: QUIC tunnel up and converter bootstrapped"

cx() { tb_exec client curl -sS --max-time 20 "$@"; }
kj() { # PYTHON-EXPR over the concentrator's status JSON (j)
	"$HATUN" status --json --control "$TB_DIR/conc.sock" >"$TB_DIR/k.json" || return 1
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$TB_DIR/k.json" "$1"
}
vias() { grep -c -- "-> $SRV:$1: via $2" "$CLOG"; }

[ "$(cx http://127.0.0.1:8001/)" = hello ] || tb_fail "curl -L to :8080 (converter)"
[ "$(cx http://127.0.0.1:8002/)" = hello ] || tb_fail "curl -L to :8081 (tunnel)"
[ "$(cx --socks5 127.0.0.1:1080 "http://$SRV:8080/")" = hello ] || tb_fail "SOCKS to :8080"
[ "$(cx --socks5 127.0.0.1:1080 "http://$SRV:8081/")" = hello ] || tb_fail "SOCKS to :8081"
[ "$(vias 8080 "the converter (rule 1)")" = 2 ] || tb_fail "log: not 2 via the converter (rule 1)"
[ "$(vias 8081 "the tunnel (default)")" = 2 ] || tb_fail "log: not 2 via the tunnel (default)"
[ "$(kj 'j["converter"]["converted"]')" = 2 ] || tb_fail "converter: not 2 converted: $(cat "$TB_DIR/k.json")"
[ "$(kj 'j["tcp"]["total"]')" = 2 ] || tb_fail "concentrator: not 2 streams: $(cat "$TB_DIR/k.json")"
tb_ok "-L and SOCKS: :8080 through the converter (rule 1), :8081 through the tunnel (default);" \
	"the concentrator counts 2 converted, 2 streams"

# A host name takes the tunnel whatever the port (the concentrator
# resolves, through --dns: one more stream for the lookup).
[ "$(cx --socks5-hostname 127.0.0.1:1080 http://www.example.com:8080/)" = hello ] \
	|| tb_fail "SOCKS with a host name"
grep -q "www.example.com:8080: via the tunnel (host name)" "$CLOG" || tb_fail "log: host name not via the tunnel"
[ "$(kj 'j["converter"]["converted"]')" = 2 ] || tb_fail "the host name reached the converter"
[ "$(kj 'j["tcp"]["total"]')" = 4 ] || tb_fail "host name: not 2 more streams (DNS + HTTP): $(cat "$TB_DIR/k.json")"
tb_ok "SOCKS www.example.com:8080 (a host name): through the tunnel"

# ---- both transports at once -----------------------------------------------------------
TB_TIMEOUT=$((60 + MB)) tb_exec client curl -sS --max-time $((30 + MB)) \
	-o "$TB_DIR/cv.recv" http://127.0.0.1:8001/big.bin &
D1=$!
TB_TIMEOUT=$((60 + MB)) tb_exec client curl -sS --max-time $((30 + MB)) \
	-o "$TB_DIR/qt.recv" http://127.0.0.1:8002/big.bin &
D2=$!
wait "$D1" || tb_fail "download through the converter"
wait "$D2" || tb_fail "download through the tunnel"
[ "$(sha256sum <"$TB_DIR/cv.recv" | cut -d' ' -f1)" = "$sum" ] || tb_fail "converter download: SHA-256 differs"
[ "$(sha256sum <"$TB_DIR/qt.recv" | cut -d' ' -f1)" = "$sum" ] || tb_fail "tunnel download: SHA-256 differs"
[ "$(kj 'j["converter"]["converted"]')" = 3 ] || tb_fail "converter: not 3 converted"
[ "$(kj 'j["converter"]["bytes_down"] >= '$((MB * 1048576)))" = True ] || tb_fail "converter: bytes_down < $MB MiB"
tb_ok "$MB MiB through the converter and through the tunnel at once, SHA-256 matches"

# ---- the client's status ---------------------------------------------------------------
"$HATUN" status --control "$TB_DIR/client.sock" >"$TB_DIR/c.txt" || tb_fail "hatun status (client)"
grep -q "^routing: 4 through the tunnel, 3 through the converter; 0 of the converter's through the tunnel (disabled), 1 host names" "$TB_DIR/c.txt" \
	&& grep -q "^  rule 1  convert  $SRV/32:8080  3 hits" "$TB_DIR/c.txt" \
	&& grep -q "^  default tunnel   3 hits" "$TB_DIR/c.txt" \
	&& grep -q "^transport: convert, converter $CONC:5124 (in use)" "$TB_DIR/c.txt" \
	&& grep -q "^quic connections: 1" "$TB_DIR/c.txt" \
	|| tb_fail "client status: $(cat "$TB_DIR/c.txt")"
"$HATUN" status --json --control "$TB_DIR/client.sock" >"$TB_DIR/c.json" || tb_fail "hatun status --json (client)"
python3 - "$TB_DIR/c.json" "$SRV" <<'PY' || tb_fail "client status --json: $(cat "$TB_DIR/c.json")"
import json, sys
j = json.load(open(sys.argv[1]))
r, c = j["routing"], j["convert"]
ok = (j["role"] == "client" and len(j["connections"]) == 1 and j["tcp"]["total"] >= 4
      and r["default"] == "tunnel" and r["default_hits"] == 3 and r["tunnel"] == 4
      and r["convert"] == 3 and r["fallback"] == 0 and r["names"] == 1
      and r["rules"] == [{"spec": sys.argv[2] + "/32:8080", "via": "convert", "hits": 3}]
      and c["converted"] == 3 and not c["disabled"] and c["bootstrapped"])
sys.exit(0 if ok else 1)
PY
tb_ok "client status (text, JSON): the tunnel, the rules with their hits, the convert client"

# ---- the converter black-holed: its destinations take the tunnel ------------------------
tb_exec concentrator nft -f - <<EOF2 || tb_fail "nft black hole"
table inet tb_cpbh {
	chain in { type filter hook input priority 0; policy accept;
		tcp dport 5124 counter drop
	}
}
EOF2
for i in 1 2 3; do
	cx --max-time 5 http://127.0.0.1:8001/ >/dev/null 2>&1 && tb_fail "-L through a black-holed converter succeeded"
	tb_wait 3 grep -q "no Convert reply in time ($i in a row)" "$CLOG" || tb_fail "no timeout $i"
done
tb_wait 3 grep -q "converter $CONC:5124 disabled after 3 suspect connections in a row (last: no Convert reply in time); its destinations go through the QUIC tunnel" \
	"$CLOG" || tb_fail "converter not disabled: $(grep disabled "$CLOG")"
[ "$(grep -c "disabled after" "$CLOG")" = 1 ] || tb_fail "the disable line is not logged once"
[ "$(cx http://127.0.0.1:8001/)" = hello ] || tb_fail "-L to :8080 after the converter was disabled"
[ "$(cx --socks5 127.0.0.1:1080 "http://$SRV:8080/")" = hello ] || tb_fail "SOCKS to :8080 after the disable"
[ "$(vias 8080 "the tunnel (rule 1: converter disabled)")" = 2 ] || tb_fail "log: not 2 via the tunnel (rule 1: converter disabled)"
[ "$(kj 'j["converter"]["converted"]')" = 3 ] || tb_fail "a connection reached the converter"
[ "$(kj 'j["tcp"]["total"]')" = 7 ] || tb_fail "the tunnel did not carry them: $(cat "$TB_DIR/k.json")"
"$HATUN" status --control "$TB_DIR/client.sock" >"$TB_DIR/c2.txt" || tb_fail "hatun status (client)"
grep -q "(DISABLED: interference or no reply, its destinations take the tunnel)" "$TB_DIR/c2.txt" \
	&& grep -q "2 of the converter's through the tunnel (disabled)" "$TB_DIR/c2.txt" \
	|| tb_fail "client status after the disable: $(cat "$TB_DIR/c2.txt")"
tb_exec concentrator nft delete table inet tb_cpbh
tb_ok "black-holed converter: 3 timeouts -> disabled (logged once), then -L and SOCKS to :8080" \
	"through the tunnel"

# ---- a second client: the converter by default, IPv6 rules, --transparent ----------------
# --transport convert with --server: unmatched destinations take the
# converter; --tunnel-dest rules (one IPv6 with a port, one IPv4) take the
# tunnel.  Entry points: -L to the IPv6 server, and TPROXY from a LAN host
# (an unmodified curl) to the IPv4 server.
SRV6=$TB_SERVER_V6
mkdir -p "$TB_DIR/c2"
CFP2=$("$HATUN" genkey "$TB_DIR/c2") || tb_fail "genkey client 2"
tb_bg --port tcp:8090 server python3 -m http.server -d "$TB_DIR/www" -b "$SRV6" 8090
tb_bg --port tcp:8091 server python3 -m http.server -d "$TB_DIR/www" -b "$SRV6" 8091
tb_bg --port udp:4434 --log "$TB_DIR/conc2.log" concentrator "$HATUN" concentrator \
	--listen "$CONC:4434" --cert "$TB_DIR/s/hatun.crt" --key "$TB_DIR/s/hatun.key" \
	--allow "$CFP2" --control "$TB_DIR/conc2.sock"
K2PID=$TB_LAST_PID
tb_bg --log "$TB_DIR/client2.log" --port tcp:8300 client "$HATUN" client \
	--server "$CONC:4434" --pin "$SFP" --cert "$TB_DIR/c2/hatun.crt" --key "$TB_DIR/c2/hatun.key" \
	--converter "$CONC:5124" --transport convert \
	--tunnel-dest "[$SRV6]:8091" --tunnel-dest "$SRV:8081" \
	-L "127.0.0.1:8011:[$SRV6]:8090" -L "127.0.0.1:8012:[$SRV6]:8091" --transparent 8300 \
	--log-level debug --control "$TB_DIR/client2.sock"
C2PID=$TB_LAST_PID
C2LOG=$TB_DIR/client2.log
tb_wait 10 grep -q "tunnel to .* up" "$C2LOG" || tb_fail "client 2: tunnel not up: $(tail -n 5 "$C2LOG")"
tb_wait 10 grep -q "bootstrapped" "$C2LOG" || tb_fail "client 2: no bootstrap: $(tail -n 5 "$C2LOG")"
tb_lan_tproxy 8300 || tb_fail "LAN + TPROXY"
lx() { tb_exec lan curl -sS --max-time 20 "$@"; }
k2() { "$HATUN" status --json --control "$TB_DIR/conc2.sock" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tcp"]["total"])'; }
conv0=$(kj 'j["converter"]["converted"]')
[ "$(cx http://127.0.0.1:8011/)" = hello ] || tb_fail "client 2: -L to [$SRV6]:8090"
[ "$(cx http://127.0.0.1:8012/)" = hello ] || tb_fail "client 2: -L to [$SRV6]:8091"
[ "$(lx "http://$SRV:8080/")" = hello ] || tb_fail "client 2: TPROXY to $SRV:8080"
[ "$(lx "http://$SRV:8081/")" = hello ] || tb_fail "client 2: TPROXY to $SRV:8081"
grep -q -- "-> \[$SRV6\]:8090: via the converter (default)" "$C2LOG" \
	&& grep -q -- "-> \[$SRV6\]:8091: via the tunnel (rule 1)" "$C2LOG" \
	&& grep -q "tproxy $LAN_H4:[0-9]* -> $SRV:8080: via the converter (default)" "$C2LOG" \
	&& grep -q "tproxy $LAN_H4:[0-9]* -> $SRV:8081: via the tunnel (rule 2)" "$C2LOG" \
	|| tb_fail "client 2: routing lines: $(grep via "$C2LOG")"
[ "$(kj 'j["converter"]["converted"]')" = $((conv0 + 2)) ] || tb_fail "client 2: not 2 more converted"
[ "$(k2)" = 2 ] || tb_fail "client 2: not 2 streams at its concentrator"
tb_ok "client 2 (--transport convert + --tunnel-dest): -L to [$SRV6]:8090 and TPROXY to $SRV:8080" \
	"converted (default), [$SRV6]:8091 (IPv6 rule) and $SRV:8081 tunnelled"

# ---- shutdown ----------------------------------------------------------------------------
for p in "$C2PID" "$K2PID" "$CPID" "$KPID"; do
	kill -TERM "$p"
	wait "$p"; rc=$?
	[ "$rc" = 0 ] || tb_fail "exit status $rc after SIGTERM"
done
grep -l "AddressSanitizer\|LeakSanitizer\|runtime error" "$TB_DIR"/*.log && tb_fail "sanitizer report"
tb_ok "convert_policy"
