#!/usr/bin/env bash
# hatun stream mode: TCP Fast Open on the concentrator's upstream connect
# (issue 3, docs/protocol/quic-tunnel.md §2.7).
#   - the server namespace accepts TFO (net.ipv4.tcp_fastopen=3, a listener
#     with TCP_FASTOPEN); a client speaks first through -L: the first
#     connection gets the cookie, the next ones carry the client's bytes in
#     the SYN — the kernel's TCPFastOpenActive counter in the concentrator's
#     namespace grows, the server's TCPFastOpenPassive too, and the replies
#     are right;
#   - --no-upstream-tfo: same requests, no SYN carries data;
#   - a refused port and an unreachable host still give their errors
#     with TFO on (the SYN with data meets the RST / ICMP like any SYN).
# Root only (else SKIP, exit 77).
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd python3

HATUN=${HATUN_BUILD_DIR:-build}/src/cli/hatun
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
PORT=4433
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

tb_init
tb_topology_standard --no-linkem

mkdir -p "$TB_DIR/c" "$TB_DIR/s"
CFP=$("$HATUN" genkey "$TB_DIR/c") || tb_fail "genkey client"
SFP=$("$HATUN" genkey "$TB_DIR/s") || tb_fail "genkey concentrator"
SV=$TB_SERVER_V4
tb_exec server sysctl -qw net.ipv4.tcp_fastopen=3 || tb_skip "no net.ipv4.tcp_fastopen"
tb_exec concentrator sysctl -qw net.ipv4.tcp_fastopen=1 || tb_fail "client TFO sysctl"
# A server that accepts data in the SYN: answers each line with "echo: LINE".
cat >"$TB_DIR/tfo_server.py" <<'EOF'
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 64)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64)
def serve(c):
    f = c.makefile('rb')
    for line in f:
        c.sendall(b'echo: ' + line)
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
tb_bg --port tcp:9010 server python3 "$TB_DIR/tfo_server.py" "$SV" 9010
# A server that speaks first (TFO listener too): "banner" on accept.
cat >"$TB_DIR/banner.py" <<'EOF'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 64)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64)
while True:
    c, _ = s.accept()
    c.sendall(b'banner\n'); c.close()
EOF
tb_bg --port tcp:9013 server python3 "$TB_DIR/banner.py" "$SV" 9013
# Port 9012 answers the SYN with ICMP host unreachable, as a filter would.
tb_exec server nft -f - <<EOF || tb_fail "nft"
table inet hatun_tfo {
	chain in {
		type filter hook input priority 0;
		tcp dport 9012 reject with icmp type host-unreachable
	}
}
EOF
# ask.py PORT N: N connections through -L, each sends its line at once and
# waits for the answer.
cat >"$TB_DIR/ask.py" <<'EOF'
import socket, sys
for i in range(int(sys.argv[2])):
    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)
    s.sendall(b'hello %d\n' % i)
    got = b''
    while not got.endswith(b'\n'):
        b = s.recv(100)
        if not b: break
        got += b
    assert got == b'echo: hello %d\n' % i, got
    s.close()
print('ok')
EOF
counter() { # NS NAME: a TcpExt counter of that namespace
	tb_exec "$1" cat /proc/net/netstat | awk -v n="$2" '
		$1 == "TcpExt:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		$1 == "TcpExt:" && h { print $col[n]; exit }'
}

conc_start() {
	tb_bg --port udp:$PORT --log "$TB_DIR/conc.log" concentrator \
		"$HATUN" concentrator --listen "$TB_CONC_V4:$PORT" --cert "$TB_DIR/s/hatun.crt" \
		--key "$TB_DIR/s/hatun.key" --allow "$CFP" --log-level debug \
		--control "$TB_DIR/ctl/concentrator.sock" "$@"
	CONC_PID=$TB_LAST_PID
}
client_start() {
	: >"$TB_DIR/client.log"
	tb_bg --port tcp:8010 --log "$TB_DIR/client.log" client \
		"$HATUN" client --server "$TB_CONC_V4:$PORT" --pin "$SFP" \
		--cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" \
		-L "8010:$SV:9010" -L "8011:$SV:9011" -L "8012:$SV:9012" -L "8013:$SV:9013" \
		--control "$TB_DIR/ctl/client.sock"
	CLIENT_PID=$TB_LAST_PID
	tb_wait 10 grep -q "tunnel to .* up" "$TB_DIR/client.log" || {
		tb__tail "$TB_DIR/client.log"; tb__tail "$TB_DIR/conc.log"; tb_fail "tunnel not up"; }
}
stop_both() {
	kill "$CLIENT_PID" "$CONC_PID" 2>/dev/null
	wait "$CLIENT_PID" "$CONC_PID" 2>/dev/null
}

# ---- TFO on (the default) -------------------------------------------------------------
conc_start
client_start
a0=$(counter concentrator TCPFastOpenActive)
p0=$(counter server TCPFastOpenPassive)
tb_exec client python3 "$TB_DIR/ask.py" 8010 1 >/dev/null || tb_fail "first request (cookie)"
a1=$(counter concentrator TCPFastOpenActive)
N=10
tb_exec client python3 "$TB_DIR/ask.py" 8010 $N >/dev/null || tb_fail "requests with TFO"
a2=$(counter concentrator TCPFastOpenActive)
p2=$(counter server TCPFastOpenPassive)
insyn=$(grep -c "bytes in the SYN (TCP Fast Open)" "$TB_DIR/conc.log")
[ $((a2 - a1)) -ge $((N / 2)) ] || {
	tb__tail "$TB_DIR/conc.log"
	tb_fail "TFO: only $((a2 - a1)) of $N upstream SYNs carried accepted data"; }
[ $((p2 - p0)) -ge $((a2 - a1)) ] || tb_fail "server TCPFastOpenPassive $((p2 - p0)) < $((a2 - a1))"
tb_ok "TFO: cookie on the first connection (active $a0 -> $a1), then $((a2 - a1)) of $N SYNs with data accepted (server passive +$((p2 - p0)), $insyn 'in the SYN' log lines), answers right"

# The server speaks first: the client sends nothing, the SYN leaves
# without data after the short wait (TFO_WAIT), the banner arrives.
out=$(tb_exec client python3 - <<'EOF'
import socket, time
t = time.time()
s = socket.create_connection(('127.0.0.1', 8013), timeout=5)
print(s.makefile('rb').readline().decode().strip(), '%.0f' % ((time.time() - t) * 1000))
EOF
)
[ "${out% *}" = banner ] || tb_fail "server-first protocol with TFO: got '$out'"
tb_ok "server speaks first: banner after ${out#* } ms"

# Errors still map with data in the SYN: a closed port -> reset, an
# unreachable host -> ICMP Error TLV (the client resets -L connections).
out=$(tb_exec client python3 - <<'EOF'
import socket
for port in (8011, 8012):
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    s.sendall(b'hello\n')
    try:
        b = s.recv(10)
        print(port, 'eof' if not b else 'data')
    except ConnectionResetError:
        print(port, 'reset')
    except socket.timeout:
        print(port, 'timeout')
EOF
)
[ "$out" = "8011 reset
8012 reset" ] || tb_fail "errors with TFO: got '$out'"
tb_wait 5 grep -q "$SV:9011 failed: connection refused" "$TB_DIR/conc.log" ||
	{ tb__tail "$TB_DIR/conc.log"; tb_fail "no refused line"; }
tb_wait 5 grep -q "failed: ICMP type 3 .*sent Error 0x1" "$TB_DIR/conc.log" ||
	{ tb__tail "$TB_DIR/conc.log"; tb_fail "no ICMP line"; }
tb_ok "with TFO: refused port -> reset, unreachable host -> '$(grep -o 'failed: ICMP type 3.*' "$TB_DIR/conc.log" | head -1)'"
stop_both

# ---- --no-upstream-tfo ----------------------------------------------------------------
conc_start --no-upstream-tfo
client_start
a3=$(counter concentrator TCPFastOpenActive)
tb_exec client python3 "$TB_DIR/ask.py" 8010 $N >/dev/null || tb_fail "requests without TFO"
a4=$(counter concentrator TCPFastOpenActive)
[ "$a4" = "$a3" ] || tb_fail "--no-upstream-tfo: $((a4 - a3)) SYNs carried data"
tb_ok "--no-upstream-tfo: $N requests, no SYN with data"
stop_both
tb_ok "stream TFO test passed"
