#!/usr/bin/env bash
# hatun stream mode: TLS session tickets and 0-RTT (issue 3, docs/QUIC.md
# "Session tickets and 0-RTT", docs/protocol/quic-tunnel.md §2.8).
# 20 ms one-way delay on the access link, so a request made right after the
# client starts is waiting when the handshake begins.
#   - first start: full handshake, a ticket file (0600) appears beside the
#     key, curl works;
#   - client restarted, curl at once: the request's stream goes in 0-RTT
#     (client: "0-RTT accepted"; concentrator: "connected (alpn qt, 0-RTT)"),
#     curl gets the page; `hatun status` says zero_rtt accepted;
#   - the client's first flight of such a restart, captured on wan0 and sent
#     again after the connection closed: "0-RTT replay refused", the request
#     is not made upstream a second time;
#   - concentrator restarted too (new ticket key): the client's 0-RTT is
#     rejected, the stream is sent again in 1-RTT ("streams sent again"),
#     curl still gets the page;
#   - a concentrator with --no-session-tickets: full handshake, curl works;
#   - a ticket from a server that is no longer pinned is not used.
# Root only (else SKIP, exit 77).
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd curl python3

HATUN=${HATUN_BUILD_DIR:-build}/src/cli/hatun
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
PORT=4433
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

tb_init
tb_topology_standard --linkem --delay "0:20" || tb_fail "topology"

mkdir -p "$TB_DIR/c" "$TB_DIR/s" "$TB_DIR/s2" "$TB_DIR/www"
CFP=$("$HATUN" genkey "$TB_DIR/c") || tb_fail "genkey client"
SFP=$("$HATUN" genkey "$TB_DIR/s") || tb_fail "genkey concentrator"
SFP2=$("$HATUN" genkey "$TB_DIR/s2") || tb_fail "genkey concentrator 2"
SV=$TB_SERVER_V4
TICKET=$TB_DIR/c/hatun.ticket
echo "hello through the tunnel" >"$TB_DIR/www/index.html"
tb_bg --port tcp:8080 server python3 -m http.server 8080 --bind "$SV" --directory "$TB_DIR/www"

NCONC=0
conc_start() { # DIR extra options...
	local d=$1
	shift
	NCONC=$((NCONC + 1))
	tb_bg --port udp:$PORT --log "$TB_DIR/conc$NCONC.log" concentrator \
		"$HATUN" concentrator --listen "$TB_CONC_V4:$PORT" --cert "$d/hatun.crt" \
		--key "$d/hatun.key" --allow "$CFP" --log-level debug "$@"
	CONC_PID=$TB_LAST_PID
	CONC_LOG=$TB_DIR/conc$NCONC.log
}
NCLI=0
client_start() { # PIN
	NCLI=$((NCLI + 1))
	CLI_LOG=$TB_DIR/client$NCLI.log
	tb_bg --port tcp:8001 --log "$CLI_LOG" client \
		"$HATUN" client --server "$TB_CONC_V4:$PORT" --pin "$1" \
		--cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" --log-level debug \
		-L "8001:$SV:8080" --control "$TB_DIR/client.sock"
	CLIENT_PID=$TB_LAST_PID
}
stop() { # PID...
	kill "$@" 2>/dev/null
	wait "$@" 2>/dev/null
}
curl_ok() {
	local got
	got=$(tb_exec client curl -sS --max-time 5 http://127.0.0.1:8001/) || return 1
	[ "$got" = "hello through the tunnel" ]
}
# early.py: connect to the -L port as soon as it listens (the client has
# not even sent its Initial then), send a GET, print the body.
cat >"$TB_DIR/early.py" <<'EOF'
import socket, sys, time
t0 = time.time(); t = t0 + 10; n = 0
open(sys.argv[1], 'w').close()  # polling now: start the client
while True:
    n += 1
    try:
        s = socket.create_connection(('127.0.0.1', 8001), timeout=5)
        break
    except OSError:
        if time.time() > t: raise
        time.sleep(0.001)
print('connected after %d tries, %.3f s' % (n, time.time() - t0), file=sys.stderr)
s.sendall(b'GET / HTTP/1.0\r\nHost: x\r\n\r\n')
d = b''
while True:
    b = s.recv(4096)
    if not b: break
    d += b
print(d.split(b'\r\n\r\n', 1)[-1].decode().strip())
EOF
# client_start_early PIN: start the client with early.py already waiting;
# 0 when early.py got the page.
client_start_early() {
	rm -f "$TB_DIR/early.ready"
	tb_exec client python3 "$TB_DIR/early.py" "$TB_DIR/early.ready" >"$TB_DIR/early.out" 2>&1 &
	local ep=$!
	tb_wait 10 test -e "$TB_DIR/early.ready" || return 1
	client_start "$1"
	wait "$ep"
	grep -q "^hello through the tunnel$" "$TB_DIR/early.out" && cat "$TB_DIR/early.out" >>"$TB_DIR/early.all"
}
up_line() { tb_wait 10 grep -q "tunnel to .* up" "$CLI_LOG" && grep -o "tunnel to .* up.*" "$CLI_LOG"; }

# ---- first start: full handshake, the ticket is saved ---------------------------------
conc_start "$TB_DIR/s"
client_start "$SFP"
curl_ok || { tb__tail "$CLI_LOG"; tb__tail "$CONC_LOG"; tb_fail "first curl"; }
line=$(up_line) || tb_fail "tunnel not up"
case $line in *0-RTT*) tb_fail "first start claims 0-RTT: $line" ;; esac
tb_wait 5 test -s "$TICKET" || { tb__tail "$CLI_LOG"; tb_fail "no ticket file at $TICKET"; }
mode=$(stat -c %a "$TICKET")
[ "$mode" = 600 ] || tb_fail "ticket file mode $mode, not 600"
tb_ok "first start: '$line', ticket file saved ($(stat -c %s "$TICKET") bytes, mode $mode)"

# ---- client restart: the first request goes in 0-RTT ---------------------------------
stop "$CLIENT_PID"
client_start_early "$SFP" ||
	{ tb__tail "$CLI_LOG"; tb__tail "$CONC_LOG"; tb_fail "request after the client restart: $(cat "$TB_DIR/early.out")"; }
line=$(up_line) || tb_fail "tunnel not up after the restart"
case $line in *"0-RTT accepted"*) ;; *) tb__tail "$CLI_LOG"; tb_fail "no 0-RTT: '$line'" ;; esac
grep -q "client $CFP connected (alpn qt, 0-RTT)" "$CONC_LOG" ||
	{ tb__tail "$CONC_LOG"; tb_fail "the concentrator did not accept on 0-RTT data"; }
z=$("$HATUN" status --json --control "$TB_DIR/client.sock" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["connections"][0]["zero_rtt"])')
[ "$z" = accepted ] || tb_fail "hatun status: zero_rtt '$z'"
tb_ok "client restarted, a request waiting at its start: '$line'; concentrator: '$(grep -o "connected (alpn qt, 0-RTT)" "$CONC_LOG" | head -1)'; status: zero_rtt $z"

# ---- a replayed first flight gets no early data ----------------------------------------
# Capture the client's first datagrams (Initial with the ticket + 0-RTT with
# the request) on wan0, let the connection finish and close, then send the
# same datagrams again from another socket: GnuTLS's anti-replay must see
# the binder again and refuse the early data, so the request is not
# repeated upstream.
cat >"$TB_DIR/capture.py" <<'EOF'
import socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))  # ETH_P_ALL: outgoing too
s.bind(('wan0', 0)); s.settimeout(0.2)
open(sys.argv[2], 'w').close()
out, end = [], time.time() + 8
while time.time() < end and len(out) < 3:
    try:
        p, a = s.recvfrom(65535)
    except socket.timeout:
        continue
    if a[1] != 0x0800 or a[2] != socket.PACKET_OUTGOING or p[9] != 17: continue
    ihl = (p[0] & 15) * 4
    if struct.unpack('!H', p[ihl + 2:ihl + 4])[0] != 4433: continue
    out.append(p[ihl + 8:])
with open(sys.argv[1], 'wb') as f:
    for d in out: f.write(struct.pack('!I', len(d)) + d)
EOF
cat >"$TB_DIR/replay.py" <<'EOF'
import socket, struct, sys
data = open(sys.argv[1], 'rb').read()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
i = 0
while i < len(data):
    n = struct.unpack('!I', data[i:i + 4])[0]
    s.sendto(data[i + 4:i + 4 + n], (sys.argv[2], 4433)); i += 4 + n
EOF
stop "$CLIENT_PID"
rm -f "$TB_DIR/cap.ready"
tb_exec client python3 "$TB_DIR/capture.py" "$TB_DIR/flight.bin" "$TB_DIR/cap.ready" &
cap=$!
tb_wait 5 test -e "$TB_DIR/cap.ready" || tb_fail "capture did not start"
client_start_early "$SFP" || tb_fail "request before the replay test"
wait "$cap"
up0=$(grep -c "stream 0 -> $SV:8080 opened" "$CONC_LOG")
stop "$CLIENT_PID"
sleep 1
tb_exec client python3 "$TB_DIR/replay.py" "$TB_DIR/flight.bin" "$TB_CONC_V4" ||
	tb_fail "replay"
tb_wait 5 grep -q "0-RTT replay refused" "$CONC_LOG" ||
	{ tb__tail "$CONC_LOG"; tb_fail "the replayed first flight was not refused early data"; }
sleep 1
[ "$(grep -c "stream 0 -> $SV:8080 opened" "$CONC_LOG")" = "$up0" ] ||
	tb_fail "the replayed request was connected upstream again"
tb_ok "a replayed first flight ($(stat -c %s "$TB_DIR/flight.bin") bytes): '$(grep -o "0-RTT replay refused.*" "$CONC_LOG" | head -1)', the request was not repeated"
client_start "$SFP"

# ---- concentrator restarted (new ticket key): 0-RTT rejected, streams resent ---------
stop "$CLIENT_PID" "$CONC_PID"
conc_start "$TB_DIR/s"
client_start_early "$SFP" ||
	{ tb__tail "$CLI_LOG"; tb__tail "$CONC_LOG"; tb_fail "request after 0-RTT rejection: $(cat "$TB_DIR/early.out")"; }
line=$(up_line) || tb_fail "tunnel not up after the concentrator restart"
case $line in *"0-RTT rejected"*) ;; *) tb__tail "$CLI_LOG"; tb_fail "not rejected: '$line'" ;; esac
resent=$(grep -o "0-RTT rejected by the server: [0-9]* streams sent again" "$CLI_LOG" | head -1)
case $resent in *": 0 streams"* | "") tb__tail "$CLI_LOG"; tb_fail "no stream was sent again: '$resent'" ;; esac
tb_ok "concentrator restarted: '$line', '$resent', curl works"
# The next restart resumes again with the new ticket.
stop "$CLIENT_PID"
client_start_early "$SFP" || tb_fail "request after the second client restart"
line=$(up_line) || tb_fail "tunnel not up"
case $line in *"0-RTT accepted"*) ;; *) tb_fail "no 0-RTT with the new ticket: '$line'" ;; esac
tb_ok "and the ticket the new concentrator issued works: '$line'"

# ---- --no-session-tickets ---------------------------------------------------------------
stop "$CLIENT_PID" "$CONC_PID"
conc_start "$TB_DIR/s" --no-session-tickets
client_start "$SFP"
curl_ok || tb_fail "curl with --no-session-tickets"
line=$(up_line) || tb_fail "tunnel not up"
case $line in *"0-RTT accepted"*) tb_fail "0-RTT accepted with --no-session-tickets" ;; esac
tb_ok "--no-session-tickets: '$line', curl works"

# ---- a ticket from a server no longer pinned is not used -----------------------------
stop "$CLIENT_PID" "$CONC_PID"
conc_start "$TB_DIR/s2"
client_start "$SFP2"
curl_ok || tb_fail "curl to the second concentrator"
grep -q "issued by a server that is not pinned now" "$CLI_LOG" ||
	{ tb__tail "$CLI_LOG"; tb_fail "old ticket used for another server"; }
line=$(up_line) || tb_fail "tunnel not up"
tb_ok "another concentrator (pin changed): the old ticket is ignored ('$line')"
stop "$CLIENT_PID" "$CONC_PID"
tb_ok "stream 0-RTT test passed"
