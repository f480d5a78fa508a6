#!/usr/bin/env bash
# hatun stream mode: every on-receipt rule of quic-tunnel.md §2.2, end to
# end against the real concentrator, from a raw test client
# (tests/tools/qt_rawclient.c) with its own allowed identity:
#   - each malformed header gets the documented Error TLV + End + FIN, and
#     the concentrator logs one "bad header" line for it;
#   - a good stream on the same QUIC connection as a bad one still works;
#   - a second client's -L download runs during all of it and completes
#     with the right SHA-256;
#   - ALPN qt-01 (raw client offering only qt-01): no stream mode, each
#     bidirectional stream is reset with 0x0 (quic-tunnel.md §2.5);
#   - SIGTERM: the concentrator exits 0 (ASan build: no leak, no crash).
# Root only (else SKIP, exit 77).
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd python3 socat sha256sum

BUILD=${HATUN_BUILD_DIR:-build}
HATUN=$BUILD/src/cli/hatun
RAW=$BUILD/src/cli/qt_rawclient
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
[ -x "$RAW" ] || tb_skip "no qt_rawclient at $RAW"
PORT=4433
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

tb_init
tb_topology_standard --no-linkem

mkdir -p "$TB_DIR/c" "$TB_DIR/s" "$TB_DIR/r"
CFP=$("$HATUN" genkey "$TB_DIR/c") || tb_fail "genkey client"
SFP=$("$HATUN" genkey "$TB_DIR/s") || tb_fail "genkey concentrator"
RFP=$("$HATUN" genkey "$TB_DIR/r") || tb_fail "genkey raw client"

SV=$TB_SERVER_V4
# A slow sender (32 MiB over ~6 s) so that the download spans the bad cases,
# and an echo server for the good streams of the raw client.
cat >"$TB_DIR/peer.py" <<'EOF'
import socket, sys, threading, time
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
def serve(c):
    if mode == 'slow':
        with open(sys.argv[4], 'rb') as f:
            while True:
                b = f.read(524288)
                if not b: break
                c.sendall(b); time.sleep(0.1)
    else:
        while True:
            b = c.recv(65536)
            if not b: break
            c.sendall(b)
    c.close()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port)); s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
head -c $((32 * 1048576)) /dev/urandom >"$TB_DIR/big"
bigsha=$(sha256sum <"$TB_DIR/big" | cut -d' ' -f1)
tb_bg --port tcp:9010 server python3 "$TB_DIR/peer.py" slow "$SV" 9010 "$TB_DIR/big"
tb_bg --port tcp:9007 server python3 "$TB_DIR/peer.py" echo "$SV" 9007

tb_bg --port udp:$PORT --log "$TB_DIR/conc.log" concentrator \
	"$HATUN" concentrator --listen "$TB_CONC_V4:$PORT" --cert "$TB_DIR/s/hatun.crt" \
	--key "$TB_DIR/s/hatun.key" --allow "$CFP" --allow "$RFP" --connect-timeout 2 \
	--control "$TB_DIR/ctl/concentrator.sock"
CONC_PID=$TB_LAST_PID
tb_bg --port tcp:8002 --log "$TB_DIR/client.log" client \
	"$HATUN" client --server "$TB_CONC_V4:$PORT" --pin "$SFP" \
	--cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" -L "8002:$SV:9010" \
	--control "$TB_DIR/ctl/client.sock"
CLIENT_PID=$TB_LAST_PID
tb_wait 10 grep -q "tunnel to .* up" "$TB_DIR/client.log" || {
	tb__tail "$TB_DIR/client.log"; tb__tail "$TB_DIR/conc.log"; tb_fail "tunnel not up"; }

# The second client's download, in the background during the bad cases.
tb_bg client sh -c "socat -u TCP:127.0.0.1:8002 - | sha256sum >$TB_DIR/dl.tmp && mv $TB_DIR/dl.tmp $TB_DIR/dl.sha"
sleep 0.5

raw() { tb_exec client "$RAW" "$TB_CONC_V4:$PORT" "$SFP" "$TB_DIR/r/hatun.crt" "$TB_DIR/r/hatun.key" "$@" 2>>"$TB_DIR/raw.log"; }

M=00000000000000000000ffff        # IPv4-mapped prefix
ECHO=0012232f${M}cb007102          # Connect 203.0.113.2:9007
ERR2=03020002ff00                  # Error 0x2 Malformed TLV, End
ERR4=03020004ff00                  # Error 0x4 Protocol Violation, End
nbad=0
# expect NAME WANT_REPLY_HEX [rawclient args...]: one bad stream, which must
# get exactly WANT_REPLY_HEX then FIN.
expect() {
	local name=$1 want=$2 out
	shift 2
	out=$(raw "$@") || tb_fail "$name: raw client failed"
	if ! grep -qx "stream 0 data $want" <<<"$out" || ! grep -qx "stream 0 fin" <<<"$out"; then
		printf '%s\n' "$out"
		tb__tail "$TB_DIR/conc.log"
		tb_fail "$name: expected $want + FIN"
	fi
	nbad=$((nbad + 1))
	tb_ok "$name -> $want + FIN"
}

[ -s "$TB_DIR/dl.sha" ] && tb_fail "the background download ended before the bad cases"
# Unknown type, with a good stream (Connect + End + data + FIN) on the same
# QUIC connection: the good one must still be answered and echoed.
out=$(raw 1000 "${ECHO}ff0068656c6c6f" --fin) || tb_fail "unknown TLV: raw client failed"
grep -qx "stream 0 data 0303000010ff00" <<<"$out" || { printf '%s\n' "$out"; tb_fail "unknown TLV 0x10"; }
grep -qx "stream 4 data 0200ff0068656c6c6f" <<<"$out" && grep -qx "stream 4 fin" <<<"$out" ||
	{ printf '%s\n' "$out"; tb_fail "good stream next to a bad one"; }
nbad=$((nbad + 1))
tb_ok "unknown TLV 0x10 -> Error 0x0 payload 10, End, FIN; the good stream 4 beside it: Connect OK, End, echo, FIN"
expect "unknown TLV 0x40 (hatun extension range, none defined)" 0303000040ff00 4000
expect "Connect with Length 17" $ERR2 "0011$(printf '00%.0s' $(seq 17))"
expect "Connect with Length 19" $ERR2 "0013$(printf '00%.0s' $(seq 19))"
expect "Connect OK with Length 1" $ERR2 020100
expect "Error with Length 1" $ERR2 030100
expect "Connect to 224.0.0.1 (multicast)" $ERR2 "00120050${M}e0000001ff00"
expect "Connect to ff02::1 (multicast)" $ERR2 "00120050ff020000000000000000000000000001ff00"
expect "Connect to 127.0.0.1 (loopback)" $ERR2 "00120050${M}7f000001ff00"
expect "Connect to ::1 (loopback)" $ERR2 "0012005000000000000000000000000000000001ff00"
expect "Connect to 0.0.0.0 (unspecified)" $ERR2 "00120050${M}00000000ff00"
expect "Connect to :: (unspecified)" $ERR2 "0012005000000000000000000000000000000000ff00"
expect "Connect to 255.255.255.255 (broadcast)" $ERR2 "00120050${M}ffffffffff00"
expect "Extended Connect, Local IP loopback" $ERR2 "0124232f${M}cb0071020050${M}7f000001ff00"
expect "Connect OK sent by the client on its own stream" $ERR4 0200ff00
expect "two Connects" $ERR4 "${ECHO}${ECHO}ff00"
expect "End without Connect" $ERR4 ff00
expect "FIN before End (after a whole Connect)" $ERR4 "$ECHO" --fin
expect "FIN inside the Connect TLV" $ERR4 0012232f --fin
expect "Connect after an Error TLV" $ERR4 "03020003${ECHO}ff00"
expect "bytes after Connect, Error, End (the sender must FIN)" $ERR4 "${ECHO}03020003ff0041"
# Connect, Error, End then FIN is legal (quic-tunnel.md §2.3), but the
# opener withdrew its request: nothing is connected, the stream is reset.
out=$(raw "${ECHO}03020003ff00" --fin-after 0.3) || tb_fail "Connect, Error, End: raw client failed"
grep -q "^stream 0 data" <<<"$out" && { printf '%s\n' "$out"; tb_fail "Connect, Error, End: answered"; }
grep -qx "stream 0 \(reset 0\|stop_sending 0\|stop_sending\)" <<<"$out" ||
	{ printf '%s\n' "$out"; tb_fail "Connect, Error, End: not reset"; }
grep -q "request carries Error 0x3 from the client; not connected" "$TB_DIR/conc.log" ||
	tb_fail "Connect, Error, End: no log line"
tb_ok "Connect, Error 0x3, End, FIN: accepted, not connected, stream reset 0x0 ($(grep '^stream 0' <<<"$out"))"

# qt-01 has no stream mode: the stream is reset, the connection stays.
out=$(raw "${ECHO}ff0068656c6c6f" --fin --alpn qt-01) || tb_fail "qt-01: raw client failed"
grep -qx "alpn qt-01" <<<"$out" || { printf '%s\n' "$out"; tb_fail "qt-01 not negotiated"; }
grep -q "^stream 0 data" <<<"$out" && { printf '%s\n' "$out"; tb_fail "qt-01: data came back"; }
grep -qx "stream 0 \(reset 0\|stop_sending 0\|stop_sending\)" <<<"$out" ||
	{ printf '%s\n' "$out"; tb_fail "qt-01: stream not reset"; }
grep -q "no stream mode under alpn qt-01" "$TB_DIR/conc.log" || tb_fail "qt-01: no log line"
tb_ok "ALPN qt-01: bidirectional stream reset with 0x0, no bytes relayed ($(grep '^stream 0' <<<"$out"))"

# One clear log line per bad stream.
got=$(grep -c "bad header" "$TB_DIR/conc.log")
[ "$got" -ge "$nbad" ] || tb_fail "concentrator logged $got bad-header lines for $nbad bad streams"
tb_ok "concentrator: $got 'bad header' lines for $nbad bad streams, e.g. '$(grep -m1 -o 'stream .*bad header.*' "$TB_DIR/conc.log")'"

# The other client's transfer, which ran through all of this.
tb_wait 60 test -s "$TB_DIR/dl.sha" || tb_fail "background download did not finish"
[ "$(cut -d' ' -f1 "$TB_DIR/dl.sha")" = "$bigsha" ] || tb_fail "background download: sha256 mismatch"
tb_ok "a second client's 32 MiB -L download during the bad cases: sha256 matches"
kill -0 "$CONC_PID" 2>/dev/null || tb_fail "concentrator died"

kill -TERM "$CLIENT_PID"
wait "$CLIENT_PID"; rc=$?
[ "$rc" = 0 ] || { tb__tail "$TB_DIR/client.log"; tb_fail "client exit status $rc"; }
kill -TERM "$CONC_PID"
wait "$CONC_PID"; rc=$?
[ "$rc" = 0 ] || { tb__tail "$TB_DIR/conc.log"; tb_fail "concentrator exit status $rc after SIGTERM"; }
grep -q "ERROR: AddressSanitizer\|runtime error" "$TB_DIR/conc.log" && tb_fail "sanitizer report in the concentrator log"
tb_ok "SIGTERM: concentrator exits 0, no sanitizer report"
