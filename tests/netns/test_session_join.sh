#!/usr/bin/env bash
# Multipath sessions (issue 5), the concentrator's side of the negotiation
# (quic-tunnel-01 §6-7.1, docs/protocol/sessions.md), end to end from a raw
# client (tests/tools/qt_rawclient.c --uni) with two allowed identities A
# and B, under ALPN qt-01 (control streams FIN'd after their TLV) and qt:
#   - A's New Session is answered with a 16-byte Session ID, then FIN;
#   - A joins that session from a second connection: bare FIN (qt-01), the
#     ID echoed in a Session ID TLV with the stream left open (qt);
#   - B names A's session: RESET_STREAM UNKNOWN_SESSION_ID (0x1), the same
#     answer as a forged ID, and the concentrator logs whose it is;
#   - a forged 16-byte ID and a 5-byte ID: UNKNOWN_SESSION_ID;
#   - qt: New Session then Join on one connection (a second negotiation):
#     CONFLICTING_STATE (0x2), then the connection is closed;
#   - control TLVs on data streams (bidirectional, beside a joined control
#     stream or alone): Error 0x2 Malformed TLV + End + FIN under qt (the
#     stream-mode parser reads them), reset 0x0 under qt-01 (no stream
#     mode); the session table is untouched;
#   - a session full of 8 connections that went silent (SIGKILLed clients):
#     a ninth Join gets in, the stalest connection closed to make room;
#   - the concentrator exits 0 on SIGTERM (ASan: no leak).
# Root only (else SKIP, exit 77).
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root

BUILD=${HATUN_BUILD_DIR:-build}
HATUN=$BUILD/src/cli/hatun
RAW=$BUILD/src/cli/qt_rawclient
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
[ -x "$RAW" ] || tb_skip "no qt_rawclient at $RAW"
PORT=4433
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

tb_init
tb_topology_standard --no-linkem

mkdir -p "$TB_DIR/a" "$TB_DIR/b" "$TB_DIR/s"
AFP=$("$HATUN" genkey "$TB_DIR/a") || tb_fail "genkey A"
BFP=$("$HATUN" genkey "$TB_DIR/b") || tb_fail "genkey B"
SFP=$("$HATUN" genkey "$TB_DIR/s") || tb_fail "genkey concentrator"

tb_bg --port udp:$PORT --log "$TB_DIR/conc.log" concentrator \
	"$HATUN" concentrator --listen "$TB_CONC_V4:$PORT" --cert "$TB_DIR/s/hatun.crt" \
	--key "$TB_DIR/s/hatun.key" --allow "$AFP" --allow "$BFP" --log-level debug
CONC_PID=$TB_LAST_PID

raw() { # WHO ALPN HEX [options]
	local who=$1 alpn=$2
	shift 2
	tb_exec client "$RAW" "$TB_CONC_V4:$PORT" "$SFP" "$TB_DIR/$who/hatun.crt" \
		"$TB_DIR/$who/hatun.key" --uni --alpn "$alpn" --wait 3 "$@"
}

expect() { # WHAT OUTPUT PATTERN
	if grep -qE "$3" <<<"$2"; then
		tb_ok "$1"
	else
		printf '%s\n' "$2" >&2
		tb__tail "$TB_DIR/conc.log"
		tb_fail "$1: expected /$3/"
	fi
}

# A: New Session (00 00) + FIN -> Session ID TLV (01 10 <16 bytes>) + FIN.
out=$(raw a qt-01 0000 --fin)
expect "New Session answered with a 16-byte Session ID" "$out" '^stream 3 data 0110[0-9a-f]{32}$'
expect "concentrator control stream FIN'd (qt-01)" "$out" '^stream 3 fin$'
ID=$(sed -n 's/^stream 3 data 0110\([0-9a-f]*\)$/\1/p' <<<"$out")

# A again, on a new connection: Join Session (02 10 <ID>) -> bare FIN.
out=$(raw a qt-01 "0210$ID" --fin)
expect "A joins its session: bare FIN" "$out" '^stream 3 fin$'
grep -q "stream 3 data" <<<"$out" && tb_fail "a Join must be answered by a bare FIN"
tb_wait 5 grep -q "session #1 joined" "$TB_DIR/conc.log" || tb_fail "no 'joined' log line"
tb_ok "the join is logged"

# B names A's session: refused exactly like an unknown ID.
out=$(raw b qt-01 "0210$ID" --fin)
expect "B cannot join A's session: UNKNOWN_SESSION_ID" "$out" '^stream 3 reset 1$'
tb_wait 5 grep -q "Join Session refused: session #1 belongs to ${AFP}, not to ${BFP}" \
	"$TB_DIR/conc.log" || { tb__tail "$TB_DIR/conc.log"; tb_fail "no log line naming both"; }
tb_ok "the refused join is logged with both identities"

forged=00112233445566778899aabbccddeeff
[ "$forged" != "$ID" ] || forged=ffeeddccbbaa99887766554433221100
out=$(raw a qt-01 "0210$forged" --fin)
expect "forged Session ID: UNKNOWN_SESSION_ID" "$out" '^stream 3 reset 1$'
out=$(raw a qt-01 "02050102030405" --fin)
expect "5-byte Session ID: UNKNOWN_SESSION_ID" "$out" '^stream 3 reset 1$'

# qt: the control stream stays open, so the Join is confirmed by the
# joined ID echoed in a Session ID TLV, and the stream stays open.
out=$(raw a qt "0210$ID")
expect "qt: A joins its session: the ID echoed" "$out" "^stream 3 data 0110$ID\$"
expect "qt: the control stream stays open" "$out" '^stream 3 open$'

# qt: a second negotiation is refused
# (HT_ERR_ORDER: RESET_STREAM / STOP_SENDING CONFLICTING_STATE), and the
# concentrator then closes the connection (datagram-config.md §3), so the
# reset may not reach the client before the CONNECTION_CLOSE does.
out=$(raw a qt "0000 0210$ID")
expect "qt: second negotiation on one connection: stream reset 2 or connection closed" \
	"$out" '^(stream 3 reset 2|conn closed peer)'
tb_wait 5 grep -q "control stream 2: element out of order" "$TB_DIR/conc.log" ||
	tb_fail "no log line for the second negotiation"
tb_ok "qt: the second negotiation is logged as out of order"

# Control TLVs on a data stream (quic-tunnel-01 §6: they MUST NOT be sent
# on any stream but the control streams). hatun does not parse them as
# control TLVs there (quic-tunnel.md §3): a bidirectional stream is a
# stream-mode stream, its bytes go through the stream-mode parser, and
# types 0x00-0x02 are TCP Connect / Extended Connect / Connect OK there
# with fixed lengths 18 / 36 / 0. New Session (00 00), a Session ID (01 10
# <16 bytes>) and a Join Session (02 10 <16 bytes>) are Malformed TLVs:
# Error 0x2 + End + FIN, the stream-mode reaction. Nothing happens to the
# session table: no session created, nothing joined, no second
# negotiation (which would close the connection).
ERR2=03020002ff00
created=$(grep -c "session #[0-9]* created" "$TB_DIR/conc.log")
joins=$(grep -c "session #1 joined" "$TB_DIR/conc.log")
data_streams_ok() { # WHAT OUTPUT SID...: each stream got Error 0x2 + End + FIN
	local what=$1 out=$2 sid
	shift 2
	for sid in "$@"; do
		grep -qx "stream $sid data $ERR2" <<<"$out" && grep -qx "stream $sid fin" <<<"$out" && continue
		printf '%s\n' "$out" >&2
		tb__tail "$TB_DIR/conc.log"
		tb_fail "$what: stream $sid: expected Error 0x2 (Malformed TLV) + End + FIN"
	done
	tb_ok "$what: each got Error 0x2 (Malformed TLV) + End + FIN"
}
out=$(raw a qt "bidi:0000" "bidi:0110$ID" "bidi:0210$ID")
data_streams_ok "qt, no negotiation: New Session, Session ID, Join Session on data streams" "$out" 0 4 8
out=$(raw a qt "0210$ID" "bidi:0000" "bidi:0210$ID")
expect "qt: the Join on the control stream beside them succeeds" "$out" "^stream 3 data 0110$ID\$"
data_streams_ok "qt, joined: New Session and Join Session on data streams" "$out" 0 4
expect "qt: the joined connection stays up (no second negotiation)" "$out" '^stream 3 open$'
grep -q "^conn closed peer" <<<"$out" && { printf '%s\n' "$out"; tb_fail "the connection was closed"; }
# qt-01 has no stream mode: every bidirectional stream is reset 0x0
# (quic-tunnel.md §2.5), control TLVs or not; the Join beside it stands.
out=$(raw a qt-01 "0210$ID" "bidi:0000" "bidi:0210$ID" --fin)
expect "qt-01: the Join on the control stream: bare FIN" "$out" '^stream 3 fin$'
expect "qt-01: New Session on a data stream: reset 0x0" "$out" '^stream 0 reset 0$'
expect "qt-01: Join Session on a data stream: reset 0x0" "$out" '^stream 4 reset 0$'
tb_wait 5 sh -c "[ \$(grep -c 'session #1 joined' '$TB_DIR/conc.log') -ge $((joins + 2)) ]" ||
	tb_fail "the two Joins on control streams were not logged"
sleep 0.5
[ "$(grep -c "session #[0-9]* created" "$TB_DIR/conc.log")" = "$created" ] ||
	tb_fail "a control TLV on a data stream created a session"
[ "$(grep -c "session #1 joined" "$TB_DIR/conc.log")" = $((joins + 2)) ] ||
	tb_fail "a control TLV on a data stream joined a session"
tb_ok "control TLVs on data streams: no session created, only the two control-stream Joins joined"

# A full session: eight connections join A's session and then vanish
# without a word (SIGKILL: no CONNECTION_CLOSE, as over a dead access link);
# once they have been silent for 2 s a ninth Join gets in, the stalest
# connection being closed to make room.
pids=()
for i in 1 2 3 4 5 6 7 8; do
	tb_exec client timeout -s KILL 4 "$RAW" "$TB_CONC_V4:$PORT" "$SFP" "$TB_DIR/a/hatun.crt" \
		"$TB_DIR/a/hatun.key" --uni --alpn qt --wait 30 "0210$ID" >/dev/null 2>&1 &
	pids+=($!)
done
tb_wait 10 grep -q "session #1 joined: 8 connections" "$TB_DIR/conc.log" ||
	{ tb__tail "$TB_DIR/conc.log"; tb_fail "eight connections did not join"; }
for pid in "${pids[@]}"; do wait "$pid"; done
sleep 2.5
out=$(raw a qt "0210$ID")
expect "a ninth Join to a session of 8 silent connections: accepted" "$out" "^stream 3 data 0110$ID\$"
grep -q "session #1 is full: its connection on path [0-7], silent for [0-9.]* s, closed for the new one" \
	"$TB_DIR/conc.log" || tb_fail "no log line for the connection closed to make room"
tb_ok "the stalest connection was closed to make room (logged)"

kill -TERM "$CONC_PID"
wait "$CONC_PID"; rc=$?
[ "$rc" = 0 ] || { tb__tail "$TB_DIR/conc.log"; tb_fail "concentrator exit status $rc after SIGTERM"; }
grep -q "ERROR: AddressSanitizer\\|runtime error" "$TB_DIR/conc.log" && tb_fail "sanitizer report in the concentrator log"
tb_ok "SIGTERM: concentrator exits 0, no sanitizer report"
tb_ok "session_join"

