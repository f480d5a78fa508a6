#!/usr/bin/env bash
# hatun stream mode: reconnection and idle timeouts (issue 3), short timers
# (--quic-idle-timeout 3 --keepalive 1):
#   - a tunnelled TCP connection idle longer than --idle-timeout is reset,
#     with an "idle timeout" log line at the end whose timer fired (the
#     concentrator first, then the client), a reset at the other;
#   - the concentrator is killed (SIGKILL, no CONNECTION_CLOSE) and started
#     again with the same identity: the client notices (QUIC idle timeout),
#     reconnects within its backoff, a new -L connection works and
#     `hatun status` on both ends shows the new connection;
#   - the same after a graceful restart (SIGTERM: CONNECTION_CLOSE);
#   - the client's access link is cut (carrier down) longer than the QUIC
#     idle timeout: the client declares the tunnel lost, and reconnects
#     once the link is back.
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
QT="--quic-idle-timeout 3 --keepalive 1"

tb_init
tb_topology_standard --no-linkem

mkdir -p "$TB_DIR/c" "$TB_DIR/s" "$TB_DIR/www"
CFP=$("$HATUN" genkey "$TB_DIR/c") || tb_fail "genkey client"
SFP=$("$HATUN" genkey "$TB_DIR/s") || tb_fail "genkey concentrator"
SV=$TB_SERVER_V4
echo "hello through the tunnel" >"$TB_DIR/www/index.html"
tb_bg --port tcp:8080 server python3 -m http.server 8080 --bind "$SV" --directory "$TB_DIR/www"
cat >"$TB_DIR/echo.py" <<'EOF'
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(16)
def serve(c):
    try:
        while True:
            b = c.recv(65536)
            if not b: break
            c.sendall(b)
    except OSError:
        pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
tb_bg --port tcp:9007 server python3 "$TB_DIR/echo.py" "$SV" 9007
# idle.py PORT WAIT: one echo round trip, then silence for WAIT s; prints
# what the silence ended with.
cat >"$TB_DIR/idle.py" <<'EOF'
import socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)
s.sendall(b'ping'); assert s.recv(10) == b'ping'
s.settimeout(float(sys.argv[2]))
t0 = time.time()
try:
    b = s.recv(10)
    print('eof' if not b else 'data', '%.1f' % (time.time() - t0))
except ConnectionResetError:
    print('reset', '%.1f' % (time.time() - t0))
except socket.timeout:
    print('still-open')
EOF

NCONC=0
conc_start() { # extra options...; each run logs to its own file, $TB_DIR/conc.log links to it
	NCONC=$((NCONC + 1))
	ln -sf "conc$NCONC.log" "$TB_DIR/conc.log"
	tb_bg --port udp:$PORT --log "$TB_DIR/conc$NCONC.log" concentrator \
		"$HATUN" concentrator --listen "$TB_CONC_V4:$PORT" --cert "$TB_DIR/s/hatun.crt" \
		--key "$TB_DIR/s/hatun.key" --allow "$CFP" $QT \
		--control "$TB_DIR/ctl/concentrator.sock" "$@"
	CONC_PID=$TB_LAST_PID
}
ups() { grep -c "tunnel to .* up" "$TB_DIR/client.log"; }
more_ups() { [ "$(ups)" -gt "$1" ]; }
more_lost() { [ "$(grep -c "tunnel to .* lost" "$TB_DIR/client.log")" -gt "$1" ]; }
curl_ok() {
	[ "$(tb_exec client curl -sS --max-time 3 http://127.0.0.1:8001/)" = "hello through the tunnel" ]
}
status_check() { # WHAT OLD_PEER: the client's status: one connection up; the
	# concentrator's: our fingerprint, from a client port other than OLD_PEER
	"$HATUN" status --json --control "$TB_DIR/ctl/client.sock" >"$TB_DIR/stc.json" ||
		tb_fail "$1: hatun status (client)"
	"$HATUN" status --json --control "$TB_DIR/ctl/concentrator.sock" >"$TB_DIR/sts.json" ||
		tb_fail "$1: hatun status (concentrator)"
	python3 - "$TB_DIR/stc.json" "$TB_DIR/sts.json" "$CFP" "$2" <<'PY' || tb_fail "$1: status"
import json, sys
c = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
assert len(c['connections']) == 1 and c['connections'][0]['state'] == 'up', c
assert len(s['connections']) == 1 and s['connections'][0]['fingerprint'] == sys.argv[3], s
assert s['connections'][0]['peer'] != sys.argv[4], (s, sys.argv[4])
print(s['connections'][0]['peer'])
PY
}
conc_peer() {
	"$HATUN" status --json --control "$TB_DIR/ctl/concentrator.sock" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["connections"][0]["peer"])'
}

conc_start --idle-timeout 2
# After the carrier cut the client's first RTT samples come from packets
# held in the neighbour queue (seconds), so its last connection's closing
# period (3 PTO) can outlive the 3 s the CLI waits at exit: the CLI then
# frees it (ht_qconn_reap_closed) and LeakSanitizer must stay quiet.
tb_bg --port tcp:8001 --log "$TB_DIR/client.log" client \
	"$HATUN" client --server "$TB_CONC_V4:$PORT" --pin "$SFP" \
	--cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" $QT --idle-timeout 4 \
	-L "8001:$SV:8080" -L "8009:$SV:9007" --control "$TB_DIR/ctl/client.sock"
CLIENT_PID=$TB_LAST_PID
tb_wait 10 grep -q "tunnel to .* up" "$TB_DIR/client.log" || {
	tb__tail "$TB_DIR/client.log"; tb__tail "$TB_DIR/conc.log"; tb_fail "tunnel not up"; }
curl_ok || tb_fail "first curl"
tb_ok "tunnel up, curl through -L works"

# ---- idle tunnelled connections ------------------------------------------------------
got=$(tb_exec client python3 "$TB_DIR/idle.py" 8009 8)
case $got in reset*) ;; *) tb_fail "idle (concentrator 2 s): the application saw '$got'" ;; esac
tb_wait 3 grep -q "stream .*-> $SV:9007 closed: .*idle timeout" "$TB_DIR/conc.log" ||
	{ tb__tail "$TB_DIR/conc.log"; tb_fail "no idle-timeout line at the concentrator"; }
tb_ok "TCP idle > concentrator --idle-timeout 2: reset after ${got#reset } s; conc: '$(grep -o 'closed: .*idle timeout' "$TB_DIR/conc.log" | tail -1)'; client: '$(grep "$SV:9007 closed" "$TB_DIR/client.log" | tail -1 | grep -o 'closed: .*')'"

# ---- concentrator killed, restarted ---------------------------------------------------
old=$(conc_peer)
n=$(ups)
kill -KILL "$CONC_PID"; wait "$CONC_PID" 2>/dev/null
t0=$(date +%s.%N)
conc_start
tb_wait 20 more_ups "$n" || { tb__tail "$TB_DIR/client.log"; tb_fail "no reconnect after SIGKILL + restart"; }
t1=$(date +%s.%N)
curl_ok || tb_fail "curl after the restart"
peer=$(status_check "after SIGKILL" "$old")
tb_ok "concentrator SIGKILLed and restarted: client back up after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s ($(grep -o 'tunnel to .* lost: [^;]*' "$TB_DIR/client.log" | tail -1)), curl OK, status: new connection from $peer (was $old)"

# ---- idle at the client's end now (concentrator default 600 s) ------------------------
got=$(tb_exec client python3 "$TB_DIR/idle.py" 8009 10)
case $got in reset*) ;; *) tb_fail "idle (client 4 s): the application saw '$got'" ;; esac
tb_wait 3 grep -q "127.0.0.1:[0-9]* -> $SV:9007 closed: .*idle timeout" "$TB_DIR/client.log" ||
	{ tb__tail "$TB_DIR/client.log"; tb_fail "no idle-timeout line at the client"; }
tb_ok "TCP idle > client --idle-timeout 4: reset after ${got#reset } s; client: '$(grep -o 'closed: .*idle timeout' "$TB_DIR/client.log" | tail -1)'; conc: '$(grep "$SV:9007 closed" "$TB_DIR/conc.log" | tail -1 | grep -o 'closed: .*')'"

# ---- graceful restart ------------------------------------------------------------------
old=$peer
n=$(ups)
kill -TERM "$CONC_PID"; wait "$CONC_PID"; rc=$?
[ "$rc" = 0 ] || tb_fail "concentrator exit $rc after SIGTERM"
t0=$(date +%s.%N)
conc_start
tb_wait 20 more_ups "$n" || { tb__tail "$TB_DIR/client.log"; tb_fail "no reconnect after SIGTERM + restart"; }
t1=$(date +%s.%N)
curl_ok || tb_fail "curl after the graceful restart"
peer=$(status_check "after SIGTERM" "$old")
tb_ok "concentrator restarted gracefully: client back up after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s, curl OK, status: connection from $peer"

# ---- access link cut longer than the QUIC idle timeout ----------------------------------
n=$(ups)
lost=$(grep -c "tunnel to .* lost" "$TB_DIR/client.log")
tb_link_down 0 carrier || tb_fail "link down"
tb_wait 8 more_lost "$lost" ||
	{ tb_link_up 0; tb__tail "$TB_DIR/client.log"; tb_fail "link cut: the client did not notice"; }
sleep 2
tb_link_up 0 || tb_fail "link up"
t0=$(date +%s.%N)
tb_wait 20 more_ups "$n" || { tb__tail "$TB_DIR/client.log"; tb_fail "no reconnect after the link came back"; }
t1=$(date +%s.%N)
curl_ok || tb_fail "curl after the link came back"
tb_ok "access link down > QUIC idle timeout ('$(grep -o 'tunnel to .* lost: [^;]*' "$TB_DIR/client.log" | tail -1)'); up again $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s after the link returned, curl OK"

kill -TERM "$CLIENT_PID"; wait "$CLIENT_PID"; rc=$?
[ "$rc" = 0 ] || { tb__tail "$TB_DIR/client.log"; tb_fail "client exit $rc"; }
kill -TERM "$CONC_PID"; wait "$CONC_PID"; rc=$?
[ "$rc" = 0 ] || { tb__tail "$TB_DIR/conc.log"; tb_fail "concentrator exit $rc"; }
tb_ok "SIGTERM: both exit 0"
