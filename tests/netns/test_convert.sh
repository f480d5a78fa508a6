#!/usr/bin/env bash
# hatun converter (issue 6) on the standard testbed, no linkem: the
# converter runs in the concentrator namespace on the service address,
# servers in the server namespace, raw Convert clients
# (tests/tools/cv_rawclient.py: real sockets, any bytes) in the client
# namespace, which has two access links and an MPTCP subflow endpoint on
# the second.
#   - Bootstrap -> Supported TCP Extension Services listing 30 (MPTCP);
#   - Connect carried in the SYN (TFO): the converter's
#     TcpExtTCPFastOpenPassive grows, the HTTP answer comes back;
#   - CONVERT_MB MiB each way over MPTCP with SHA-256 match, to an MPTCP
#     server (mptcpize socat): the Extended TCP Header lists MPTCP (30),
#     and both access links carried the bytes (nft counters on the access
#     routers, each link shaped to 100 Mbit/s so one alone is not enough);
#   - RFC 8803 header form answered in the same form;
#   - the download again with access link 1 cut 1 s in: completes, SHA-256
#     intact (MPTCP carries on over link 0);
#   - `hatun status` (converter's control socket): the counters after the
#     first connections, and while the upload runs the connection with
#     its destination, 2 client subflows, server MPTCP, bytes;
#   - a destination that answered MPTCP as TCP: the next connections to it
#     go upstream over plain TCP (with TFO), log and status say so.
# The error codes from real causes are in test_convert_errors.sh.
#   CONVERT_MB=64 (default); CONVERT_MB=1024 for the issue's 1 GiB.
#   CONVERT_BULK=0 skips the two bulk parts (transfer over two subflows, link
#   cut). The uploads that arrived with 15,696 bytes at the wrong offset came
#   from the client's sendfile() (MSG_MORE) into MPTCP, a kernel bug
#   (docs/protocol/convert.md, "Corrupted uploads over two subflows"); the
#   raw client sends with sendall().
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd python3 socat mptcpize sha256sum nstat
SRC=${HATUN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HATUN=${HATUN_BUILD_DIR:-build}/src/cli/hatun
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
RAW=$SRC/tests/tools/cv_rawclient.py
MB=${CONVERT_MB:-64}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
CONV=$TB_CONC_V4
PORT=5124
SRV=$TB_SERVER_V4

tb_init
tb_topology_standard --no-linkem
tb_mptcp_tfo --subflow || tb_fail "MPTCP subflow set-up"

tb_bg --port tcp:$PORT concentrator "$HATUN" converter --listen "$CONV:$PORT" \
	--control "$TB_DIR/conv.sock"
CPID=$TB_LAST_PID
CLOG=$TB_LAST_LOG
tb_bg --port tcp:8080 server python3 -m http.server -b "$SRV" 8080

raw() { tb_exec client python3 "$RAW" "$@"; }
# jcheck FILE EXPR: true when the Python expression holds for the
# converter's `hatun status --json` object j in FILE (its "converter"
# part: v).
jcheck() {
	python3 -c 'import json, sys
j = json.load(open(sys.argv[1])); v = j["converter"]
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$1" "$2"
}

# ---- bootstrap ------------------------------------------------------------------
out=$(raw --mptcp --tfo "$CONV" $PORT bootstrap) || tb_fail "bootstrap: client failed"
printf '%s\n' "$out" | grep -q '^tlv 15 1502000004081e22$' \
	|| tb_fail "bootstrap: no Supported Services (4 8 30 34): $out"
printf '%s\n' "$out" | grep -q '^end eof$' || tb_fail "bootstrap: not closed with FIN: $out"
tb_ok "bootstrap: Supported TCP Extension Services 4 8 30 34, then FIN"

# ---- Connect in the SYN ----------------------------------------------------------------
NSTAT_HISTORY=$TB_DIR/nstat.conc tb_exec concentrator nstat -n >/dev/null
out=$(raw --mptcp --tfo --data $'GET / HTTP/1.0\r\n\r\n' "$CONV" $PORT connect "$SRV" 8080) \
	|| tb_fail "connect: client failed"
printf '%s\n' "$out" | grep -q '^tlv 14 ' || tb_fail "connect: no Extended TCP Header: $out"
printf '%s\n' "$out" | grep -q '^data [0-9]* HTTP/1.0 200' || tb_fail "connect: no HTTP answer: $out"
passive=$(NSTAT_HISTORY=$TB_DIR/nstat.conc tb_exec concentrator nstat -z TcpExtTCPFastOpenPassive \
	| awk '$1 == "TcpExtTCPFastOpenPassive" {print $2}')
[ "${passive:-0}" -ge 1 ] || tb_fail "connect: the converter saw no SYN data (TFO passive ${passive:-0})"
tb_ok "Connect + HTTP request in the SYN (TFO passive $passive), HTTP 200 relayed"

# ---- RFC 8803 form ------------------------------------------------------------------
out=$(raw --rfc8803 --data $'GET / HTTP/1.0\r\n\r\n' "$CONV" $PORT connect "$SRV" 8080)
printf '%s\n' "$out" | grep -q '^convert 0107 *2263' || printf '%s\n' "$out" | grep -q '^convert 01..2263' \
	|| tb_fail "RFC 8803 form not answered in kind: $out"
tb_ok "RFC 8803 header (magic 0x2263) answered in the same form"

# ---- hatun status: counters ----------------------------------------------------------
"$HATUN" status --json --control "$TB_DIR/conv.sock" >"$TB_DIR/st.json" || tb_fail "hatun status --json"
jcheck "$TB_DIR/st.json" 'j["role"] == "converter" and v["mptcp"] and v["accepted"] >= 3 and v["bootstraps"] == 1
	and v["converted"] == 2 and v["refused"] == 0 and "tcp" not in j' \
	|| tb_fail "hatun status --json: $(cat "$TB_DIR/st.json")"
"$HATUN" status --control "$TB_DIR/conv.sock" >"$TB_DIR/st.txt" || tb_fail "hatun status (text)"
grep -q "^converter $CONV:$PORT (MPTCP + TFO)" "$TB_DIR/st.txt" \
	&& grep -q "bootstraps 1  converted 2" "$TB_DIR/st.txt" \
	|| tb_fail "hatun status (text): $(cat "$TB_DIR/st.txt")"
tb_ok "hatun status: role converter, accepted/bootstraps/converted counted, no refusals"

# ---- a destination known not to speak MPTCP -----------------------------------------------
# The first MPTCP connect to the plain-TCP HTTP server fell back to TCP
# (above); the next ones go over plain TCP from the start (--tcp-cache-ttl),
# still with TCP Fast Open.  A second HTTP server, listening after the
# server's kernel was told to give TFO cookies without the socket option
# (0x400): its first connection falls back and fetches the cookie, the
# second is plain TCP, the third plain TCP with its data in the SYN (the
# Connect lists 30 and 34: MPTCP and TFO asked).
grep -q -- "-> $SRV:8080: open (client MPTCP, server TCP (MPTCP fell back)" "$CLOG" \
	|| tb_fail "the first connection to $SRV:8080 did not fall back"
tb_exec server sysctl -qw net.ipv4.tcp_fastopen=1027 || tb_fail "server TFO sysctl"
tb_bg --port tcp:8082 server python3 -m http.server -b "$SRV" 8082
tb_exec server sysctl -qw net.ipv4.tcp_fastopen=3
for _ in 1 2 3; do
	out=$(raw --mptcp --tfo --data $'GET / HTTP/1.0\r\n\r\n' "$CONV" $PORT connect "$SRV" 8082 1e022202) \
		|| tb_fail "known TCP-only destination: client failed"
	printf '%s\n' "$out" | grep -q '^data [0-9]* HTTP/1.0 200' \
		|| tb_fail "known TCP-only destination: no HTTP answer: $out"
done
opens=$(grep -- "-> $SRV:8082: open" "$CLOG")
n=$(grep -c "(client MPTCP, server TCP (known not to speak MPTCP)" <<<"$opens")
[ "$n" = 2 ] || tb_fail "plain-TCP upstream: $n of 2 open lines say so: $opens"
grep -q "(client MPTCP, server TCP (known not to speak MPTCP), TFO, .*relay up splice down copy)" \
	<<<"$opens" || tb_fail "plain-TCP upstream without SYN data or not splicing: $opens"
"$HATUN" status --control "$TB_DIR/conv.sock" >"$TB_DIR/st.txt" || tb_fail "hatun status (text)"
grep -q "plain-TCP upstreams 2 (destinations known not to speak MPTCP: 2 now)" "$TB_DIR/st.txt" \
	|| tb_fail "hatun status: $(cat "$TB_DIR/st.txt")"
tb_ok "known TCP-only destination: plain-TCP upstream (TFO data in the SYN, splice up), shown in the log and status"

if [ "${CONVERT_BULK:-1}" = 1 ]; then
# ---- transfer over MPTCP, two subflows, to an MPTCP server ------------------------------
head -c $((MB * 1024 * 1024)) /dev/urandom >"$TB_DIR/up.bin"
head -c $((MB * 1024 * 1024)) /dev/urandom >"$TB_DIR/down.bin"
up_sum=$(sha256sum <"$TB_DIR/up.bin" | cut -d' ' -f1)
down_sum=$(sha256sum <"$TB_DIR/down.bin" | cut -d' ' -f1)
tb_link_rate 0 100
tb_link_rate 1 100
tb_bg --port tcp:9000 server mptcpize run socat -u TCP-LISTEN:9000,bind="$SRV",reuseaddr \
	CREATE:"$TB_DIR/up.recv"
tb_bg --port tcp:9001 server mptcpize run socat -u OPEN:"$TB_DIR/down.bin" \
	TCP-LISTEN:9001,bind="$SRV",reuseaddr
before=$(tb_link_counters)
TB_TIMEOUT=$((60 + MB)) raw --mptcp --tfo --timeout $((30 + MB)) --send-file "$TB_DIR/up.bin" \
	"$CONV" $PORT connect "$SRV" 9000 1e02 >"$TB_DIR/up.out" &
RAWPID=$!
# While it runs: the connection in `hatun status`, with its two subflows,
# the server reached over MPTCP and bytes going up.  Polled with the
# text form (python3 takes a second to start on a loaded machine), the
# JSON snapshot taken at once and checked after.
live() {
	"$HATUN" status --control "$TB_DIR/conv.sock" >"$TB_DIR/st.txt" 2>/dev/null &&
		grep -q -- "-> $SRV:9000  relay" "$TB_DIR/st.txt" &&
		grep -q "client MPTCP, 2 subflows  server MPTCP  up [1-9]" "$TB_DIR/st.txt" &&
		"$HATUN" status --json --control "$TB_DIR/conv.sock" >"$TB_DIR/live.json"
}
tb_wait 30 live || tb_fail "hatun status during the upload: $(cat "$TB_DIR/st.txt")"
jcheck "$TB_DIR/live.json" 'v["relaying"] >= 1 and any(c["destination"] == "'$SRV':9000" and c["state"] == "relay"
	and c["client_mptcp"] and c["subflows"] == 2 and c["server"] == "MPTCP"
	and c["bytes_up"] > 0 and c["age_s"] > 0 for c in v["connections"])' \
	|| tb_fail "hatun status --json during the upload: $(cat "$TB_DIR/live.json")"
tb_ok "hatun status during the upload: $SRV:9000, client MPTCP with 2 subflows, server MPTCP, bytes"
wait "$RAWPID" || tb_fail "upload failed"
grep -q '^end eof$' "$TB_DIR/up.out" || tb_fail "upload: $(cat "$TB_DIR/up.out")"
grep -q '^tlv 14 .*1e040101' "$TB_DIR/up.out" \
	|| tb_fail "upload: Extended TCP Header without MPTCP: $(grep tlv "$TB_DIR/up.out")"
tb_wait 10 test -f "$TB_DIR/up.recv"
tb_wait 10 bash -c "[ \$(stat -c %s '$TB_DIR/up.recv') -ge $((MB * 1024 * 1024)) ]"
[ "$(sha256sum <"$TB_DIR/up.recv" | cut -d' ' -f1)" = "$up_sum" ] ||
	tb_fail "upload: SHA-256 differs ($(stat -c %s "$TB_DIR/up.recv") bytes; $(cmp "$TB_DIR/up.bin" "$TB_DIR/up.recv" 2>&1 | head -n 1); docs/NEXT.md issue 6)"
TB_TIMEOUT=$((60 + MB)) raw --mptcp --tfo --shut --timeout $((30 + MB)) --save "$TB_DIR/down.recv" \
	"$CONV" $PORT connect "$SRV" 9001 1e02 >"$TB_DIR/down.out" || tb_fail "download failed"
[ "$(sha256sum <"$TB_DIR/down.recv" | cut -d' ' -f1)" = "$down_sum" ] \
	|| tb_fail "download: SHA-256 differs ($(cat "$TB_DIR/down.out"))"
after=$(tb_link_counters)
read -r u0 d0 u1 d1 <<<"$(paste <(tr ' ' '\n' <<<"$after") <(tr ' ' '\n' <<<"$before") \
	| awk 'NF == 2 {printf "%d ", $1 - $2}')"
tb_log "packets through access0 up/down $u0/$d0, access1 $u1/$d1"
# Packet counts (GSO/GRO make them uneven in size): each link carried a
# real share, at least a fifth of the other's, both ways.
share_ok() { [ "$1" -ge 500 ] && [ "$2" -ge 500 ] && [ $(($1 * 5)) -ge "$2" ] && [ $(($2 * 5)) -ge "$1" ]; }
share_ok "$u0" "$u1" && share_ok "$d0" "$d1" \
	|| tb_fail "one access link carried (almost) nothing: $u0/$d0 $u1/$d1"
grep -q "client subflows 2" "$CLOG" || tb_fail "converter log: the client connection never had 2 subflows"
tb_ok "$MB MiB up and down over MPTCP (two subflows) with matching SHA-256; server reached over MPTCP"
grep -q "open (client MPTCP, server MPTCP" "$CLOG" || tb_fail "converter log: no MPTCP open line"

# ---- one access link cut mid-transfer ----------------------------------------------------
# The download again; 1 s in, access link 1 goes down (carrier): the
# connection must survive on link 0 with every byte intact.
rm -f "$TB_DIR/down.recv"
tb_bg --port tcp:9002 server mptcpize run socat -u OPEN:"$TB_DIR/down.bin" \
	TCP-LISTEN:9002,bind="$SRV",reuseaddr
TB_TIMEOUT=$((90 + MB)) raw --mptcp --tfo --shut --timeout $((60 + MB)) --save "$TB_DIR/down.recv" \
	"$CONV" $PORT connect "$SRV" 9002 1e02 >"$TB_DIR/cut.out" &
RAWPID=$!
sleep 1
tb_link_down 1 || tb_fail "cannot cut link 1"
wait "$RAWPID" || tb_fail "download with a link cut: client failed"
tb_link_up 1
[ "$(sha256sum <"$TB_DIR/down.recv" | cut -d' ' -f1)" = "$down_sum" ] \
	|| tb_fail "download with link 1 cut: SHA-256 differs ($(tr '\n' '|' <"$TB_DIR/cut.out"))"
tb_ok "$MB MiB download with access link 1 cut after 1 s: complete, SHA-256 matches"

else
	tb_log "skipped: bulk transfers over two subflows (CONVERT_BULK=0)"
fi

# ---- shutdown -------------------------------------------------------------------------
kill -TERM "$CPID"
wait "$CPID"; rc=$?
[ "$rc" = 0 ] || { tail -20 "$CLOG"; tb_fail "converter exit status $rc"; }
grep -q "ERROR: AddressSanitizer\|LeakSanitizer" "$CLOG" && tb_fail "sanitizer report in the converter log"
tb_ok "convert"
