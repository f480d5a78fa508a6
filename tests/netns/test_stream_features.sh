#!/usr/bin/env bash
# hatun stream mode, the client's other entry points and the status socket
# (issue 3), on the standard testbed without linkem:
#   - names THROUGH the tunnel: a DNS-over-TCP server in the server namespace
#     (tests/tools/dns_tcp_server.py), `hatun client --dns`; curl
#     --socks5-hostname to a name, an NXDOMAIN name -> REP 4, -L to a name,
#     an IPv6-only name, and no query ever made from the client namespace;
#   - without --dns a name gets REP 1 and one log line;
#   - `hatun status` and `hatun status --json` against both ends while a
#     transfer runs (fields checked, JSON validated); the control sockets
#     are 0600 and removed at exit;
#   - --transparent: a LAN namespace behind the client, nftables TPROXY in
#     the client namespace; curl from the LAN to the server's IPv4 and IPv6
#     address goes through the tunnel (the server sees the concentrator).
# Root only (else SKIP, exit 77).
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd curl python3 nft

HATUN=${HATUN_BUILD_DIR:-build}/src/cli/hatun
TOOLS=$(cd "$(dirname "$0")/../tools" && pwd)
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
PORT=4433
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

tb_init
tb_topology_standard --no-linkem

# A LAN behind the client (the client namespace is its router), its TCP
# steered to the client's --transparent port.
TPORT=8300
tb_lan_tproxy "$TPORT" || tb_fail "LAN + TPROXY"

mkdir -p "$TB_DIR/c" "$TB_DIR/s"
CFP=$("$HATUN" genkey "$TB_DIR/c") || tb_fail "genkey client"
SFP=$("$HATUN" genkey "$TB_DIR/s") || tb_fail "genkey concentrator"

SV=$TB_SERVER_V4
SV6=$TB_SERVER_V6
mkdir -p "$TB_DIR/www"
echo "hello from the server" >"$TB_DIR/www/index.html"
# The HTTP server logs the address each request came from.
tb_bg --port tcp:80 --log "$TB_DIR/http.log" server python3 -m http.server 80 --bind "::" \
	--directory "$TB_DIR/www"
tb_bg --port tcp:53 server python3 "$TOOLS/dns_tcp_server.py" "$SV" 53 \
	"www.example.com=$SV,$SV6" "v6only.example.com=$SV6" "nov4nov6.example.com=" \
	--log "$TB_DIR/dns.log"

tb_bg --port udp:$PORT --log "$TB_DIR/conc.log" concentrator \
	"$HATUN" concentrator --listen "$TB_CONC_V4:$PORT" --cert "$TB_DIR/s/hatun.crt" \
	--key "$TB_DIR/s/hatun.key" --allow "$CFP" --connect-timeout 2 \
	--control "$TB_DIR/ctl/concentrator.sock"
CONC_PID=$TB_LAST_PID
tb_bg --port tcp:1080 --log "$TB_DIR/client.log" client \
	"$HATUN" client --server "$TB_CONC_V4:$PORT" --pin "$SFP" \
	--cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" \
	--socks 127.0.0.1:1080 --dns "$SV" -L 8001:www.example.com:80 \
	-L 8002:nosuch.example.com:80 --control "$TB_DIR/ctl/client.sock" --transparent $TPORT
CLIENT_PID=$TB_LAST_PID
tb_wait 10 grep -q "tunnel to .* up" "$TB_DIR/client.log" || {
	tb__tail "$TB_DIR/client.log"; tb__tail "$TB_DIR/conc.log"; tb_fail "tunnel not up"; }
tb_ok "tunnel up"

# Every DNS packet the client namespace might send on its own: none allowed.
tb_exec client nft -f - <<EOF2 || tb_fail "nft"
table inet hatun_dnswatch {
	chain out {
		type filter hook output priority 0;
		udp dport 53 counter
		tcp dport 53 counter
	}
}
EOF2

socks_rep() { # NAME PORT -> the SOCKS REP for a CONNECT to a domain name
	tb_exec client python3 - "$@" <<'PY'
import socket, struct, sys
s = socket.create_connection(('127.0.0.1', 1080), timeout=20)
s.sendall(b'\x05\x01\x00'); assert s.recv(2) == b'\x05\x00'
n = sys.argv[1].encode()
s.sendall(b'\x05\x01\x00\x03' + bytes([len(n)]) + n + struct.pack('!H', int(sys.argv[2])))
r = s.recv(262)
print(r[1] if len(r) >= 2 else 'none')
PY
}

# ---- names through the tunnel ----------------------------------------------------
got=$(tb_exec client curl -sS --max-time 20 --socks5-hostname 127.0.0.1:1080 \
	http://www.example.com/index.html) || tb_fail "curl --socks5-hostname www.example.com failed"
[ "$got" = "hello from the server" ] || tb_fail "curl --socks5-hostname: got '$got'"
grep -q "^www.example.com 1$" "$TB_DIR/dns.log" || tb_fail "the DNS server saw no A query"
tail -1 "$TB_DIR/http.log" | grep -q "$TB_CONC_INET_V4" ||
	tb_fail "the HTTP request did not come from the concentrator: $(tail -1 "$TB_DIR/http.log")"
tb_ok "curl --socks5-hostname www.example.com: resolved through the tunnel, page served to the concentrator"
got=$(socks_rep nosuch.example.com 80)
[ "$got" = 4 ] || tb_fail "SOCKS to an NXDOMAIN name: REP $got"
grep -q "cannot resolve nosuch.example.com: A NXDOMAIN" "$TB_DIR/client.log" ||
	tb_fail "NXDOMAIN: no clear log line"
tb_ok "SOCKS to an NXDOMAIN name: REP 4 (host unreachable), log: $(grep -o 'cannot resolve nosuch[^;]*' "$TB_DIR/client.log" | head -1)"
got=$(socks_rep nov4nov6.example.com 80)
[ "$got" = 4 ] || tb_fail "SOCKS to a name without addresses: REP $got"
tb_ok "SOCKS to a name with no A and no AAAA: REP 4"
got=$(tb_exec client curl -sS --max-time 20 http://127.0.0.1:8001/index.html) ||
	tb_fail "curl through -L 8001:www.example.com:80 failed"
[ "$got" = "hello from the server" ] || tb_fail "-L to a name: got '$got'"
tb_ok "-L 8001:www.example.com:80 works"
got=$(tb_exec client curl -sS --max-time 20 --socks5-hostname 127.0.0.1:1080 \
	http://v6only.example.com/index.html) || tb_fail "curl to an IPv6-only name failed"
[ "$got" = "hello from the server" ] || tb_fail "IPv6-only name: got '$got'"
tail -1 "$TB_DIR/http.log" | grep -q "$TB_CONC_INET_V6" ||
	tb_fail "IPv6-only name: request not from the concentrator's IPv6 address"
tb_ok "an IPv6-only name (AAAA only) is reached over IPv6"
n1=$(grep -c "^www.example.com 1$" "$TB_DIR/dns.log")
for _ in 1 2 3; do
	tb_exec client curl -sS --max-time 20 --socks5-hostname 127.0.0.1:1080 \
		http://www.example.com/index.html >/dev/null || tb_fail "repeat curl failed"
done
n2=$(grep -c "^www.example.com 1$" "$TB_DIR/dns.log")
[ "$n1" = "$n2" ] || tb_fail "cache: $((n2 - n1)) more A queries for a cached name"
tb_ok "cache: 3 more requests for www.example.com, no new query"
# (a cached answer resets at once, possibly before connect() returns)
got=$(tb_exec client python3 -c 'import socket
try:
    s = socket.create_connection(("127.0.0.1", 8002), timeout=20)
    print("eof" if not s.recv(100) else "data")
except ConnectionResetError:
    print("reset")')
[ "$got" = reset ] || tb_fail "-L to an NXDOMAIN name: '$got'"
tb_ok "-L to an NXDOMAIN name: the connection is reset"
pk=$(tb_exec client nft list table inet hatun_dnswatch | grep -o 'packets [0-9]*' | awk '{s += $2} END {print s}')
[ "$pk" = 0 ] || tb_fail "the client namespace sent $pk DNS packets itself"
tb_ok "no DNS packet left the client namespace (everything went through the tunnel)"

# ---- no --dns: names refused -------------------------------------------------------
tb_bg --port tcp:1081 --log "$TB_DIR/nodns.log" client \
	"$HATUN" client --server "$TB_CONC_V4:$PORT" --pin "$SFP" \
	--cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" --socks 127.0.0.1:1081
NODNS=$TB_LAST_PID
tb_wait 10 grep -q "tunnel to .* up" "$TB_DIR/nodns.log" || tb_fail "second client: tunnel not up"
got=$(tb_exec client curl -sS --max-time 20 --socks5-hostname 127.0.0.1:1081 \
	http://www.example.com/ 2>&1)
grep -q "host names need --dns" "$TB_DIR/nodns.log" || tb_fail "no --dns: no log line"
tb_stop "$NODNS"
tb_ok "without --dns: refused (curl: $(echo "$got" | tail -1 | cut -c1-60)...), log: 'host names need --dns'"

# ---- hatun status during a transfer -----------------------------------------------
# one refusal at the concentrator (a closed port) for the counters
tb_exec client curl -sS --max-time 10 --socks5 127.0.0.1:1080 "http://$SV:9999/" 2>/dev/null &&
	tb_fail "curl to a closed port succeeded"
# 24 MiB read at 3 MB/s: still running when status asks after 2 s, even
# when the kernel's socket buffers on the way (loopback rcvbuf up to 6 MiB,
# sndbuf, the stream window) have swallowed ~11 MiB ahead of curl.
head -c $((24 * 1048576)) /dev/urandom >"$TB_DIR/www/big"
tb_exec client curl -sS --max-time 60 --limit-rate 3M -o /dev/null \
	http://127.0.0.1:8001/big &
CURL=$!
sleep 2
[ "$(stat -c %a "$TB_DIR/ctl/client.sock")" = 600 ] || tb_fail "client control socket not 0600"
[ "$(stat -c %a "$TB_DIR/ctl")" = 700 ] || tb_fail "control directory not 0700"
"$HATUN" status --control "$TB_DIR/ctl/client.sock" >"$TB_DIR/st.txt" || tb_fail "hatun status (client)"
cat "$TB_DIR/st.txt"
for pat in "^role: client" "^uptime: " "tunnelled tcp: [1-9][0-9]* open" "peer $TB_CONC_V4:$PORT (up)" \
	"fingerprint $SFP" "alpn qt" "srtt [0-9.]* ms  cwnd [1-9]" "received [0-9.]* MiB" "streams [1-9]"; do
	grep -q "$pat" "$TB_DIR/st.txt" || tb_fail "hatun status (client): no '$pat'"
done
tb_ok "hatun status (client): role, uptime, peer, fingerprint, ALPN, RTT, cwnd, bytes, streams"
"$HATUN" status --json --control "$TB_DIR/ctl/concentrator.sock" >"$TB_DIR/st.json" ||
	tb_fail "hatun status --json (concentrator)"
python3 - "$TB_DIR/st.json" "$CFP" <<'PY' || tb_fail "hatun status --json (concentrator): bad JSON or fields"
import json, sys
st = json.load(open(sys.argv[1]))
assert st['role'] == 'concentrator', st
assert st['uptime_s'] > 0 and st['tcp']['open'] >= 1 and st['tcp']['total'] >= 5, st
assert st['tcp']['refused'] >= 1, st       # the closed port above
c = st['connections']
assert len(c) == 1 and c[0]['fingerprint'] == sys.argv[2], c
assert c[0]['peer'].startswith('192.0.2.2:') and c[0]['alpn'].startswith('qt'), c
assert c[0]['srtt_ms'] > 0 and c[0]['cwnd'] > 0 and c[0]['bytes_sent'] > 1000000, c
assert c[0]['streams'] >= 1 and 'lost_packets' in c[0], c
print('concentrator: %d client, srtt %.2f ms, sent %d bytes, %d streams, tcp %s' % (
    len(c), c[0]['srtt_ms'], c[0]['bytes_sent'], c[0]['streams'], st['tcp']))
PY
tb_ok "hatun status --json (concentrator): valid JSON, client fingerprint, peer, RTT, cwnd, bytes, streams"
"$HATUN" status --json --control "$TB_DIR/ctl/client.sock" | python3 -c 'import json, sys
st = json.load(sys.stdin); assert st["role"] == "client" and st["dns"]["lookups"] >= 4, st' ||
	tb_fail "hatun status --json (client)"
"$HATUN" status --control "$TB_DIR/ctl/concentrator.sock" | grep -q "fingerprint $CFP" ||
	tb_fail "hatun status (concentrator text)"
tb_ok "hatun status --json (client) and text (concentrator) too"
wait "$CURL" || tb_fail "the transfer under status failed"

# ---- transparent proxy ---------------------------------------------------------------
for dst in "$SV" "[$SV6]"; do
	got=$(tb_exec lan curl -sS --max-time 20 "http://$dst/index.html") ||
		tb_fail "curl from the LAN to $dst failed"
	[ "$got" = "hello from the server" ] || tb_fail "curl from the LAN to $dst: got '$got'"
	from=$(tail -1 "$TB_DIR/http.log" | cut -d' ' -f1)
	case $from in
	*"$TB_CONC_INET_V4" | "$TB_CONC_INET_V6") ;;
	*) tb_fail "transparent $dst: the server saw $from, not the concentrator" ;;
	esac
	d=${dst#[}; d=${d%]}
	tb_wait 5 grep -qE "tproxy \[?($LAN_H4|$LAN_H6)\]?:[0-9]+ -> \[?$d\]?:80 closed" \
		"$TB_DIR/client.log" || tb_fail "transparent $dst: no tunnelled connection in the client log"
	tb_ok "transparent proxy: curl from the LAN to http://$dst/ tunnelled (server saw $from; client log: $(grep -oE "tproxy [^ ]* -> \[?$d\]?:80 opened" "$TB_DIR/client.log" | tail -1))"
done

# ---- shutdown -----------------------------------------------------------------------
kill -TERM "$CLIENT_PID"
wait "$CLIENT_PID"; rc=$?
[ "$rc" = 0 ] || { tb__tail "$TB_DIR/client.log"; tb_fail "client exit status $rc after SIGTERM"; }
kill -TERM "$CONC_PID"
wait "$CONC_PID"; rc=$?
[ "$rc" = 0 ] || { tb__tail "$TB_DIR/conc.log"; tb_fail "concentrator exit status $rc after SIGTERM"; }
tb_ok "SIGTERM: client and concentrator exit 0 (no leaks under ASan)"
[ -e "$TB_DIR/ctl/client.sock" ] && tb_fail "client control socket left behind"
[ -e "$TB_DIR/ctl/concentrator.sock" ] && tb_fail "concentrator control socket left behind"
tb_ok "control sockets removed at exit"
