#!/usr/bin/env bash
# hatun client --transport convert (issue 6) on the standard testbed, no
# linkem: `hatun converter` in the concentrator namespace, `hatun client
# --transport convert` in the client namespace (two access links, an MPTCP
# subflow endpoint on wan1), HTTP servers in the server namespace (one plain
# TCP, one MPTCP via mptcpize).
#   - bootstrap once; curl through -L and through SOCKS5;
#   - tcpdump on access0 (the router of the first link) shows the Convert
#     header + Connect TLV + curl's HTTP request in the payload of one SYN
#     after bootstrap;
#   - CONVERT_MB MiB downloaded through SOCKS with matching SHA-256, the
#     client connection with two subflows (converter log);
#   - iperf3 (3 s up, 3 s down with -R) through -L: a non-zero rate each
#     way and both access links carrying a real share of each direction's
#     packets (nft counters on the access routers), i.e. both subflows;
#   - an MPTCP server is detected from the Extended TCP Header and the next
#     connection to it goes directly (no new converter line);
#   - converter errors -> SOCKS REP (refused port -> 5, own address -> 2),
#     -L to a refused port -> reset;
#   - --transparent: curl on a LAN behind the client, steered by TPROXY,
#     to an IPv4 and an IPv6 server through the (IPv4) converter, and to a
#     refused port (reset);
#   - IPv6 end to end: a second converter on the concentrator's IPv6
#     service address, a second client reaching it over IPv6 (-L and SOCKS
#     on ::1), the HTTP server over IPv6: curl, then CONVERT_MB MiB with
#     SHA-256, both access links carrying the download;
#   - --convert-timeout: that converter black-holed (nft drop): a SOCKS
#     connection fails with REP 1 after the timeout (1 s), -L connections
#     are reset, 3 timeouts in a row disable the converter and the next
#     connections go directly to the server and work;
#   - middlebox interference (§6): the converter's TFO server side turned
#     off (its kernel then ignores SYN data, as if a middlebox stripped the
#     option) -> after 3 suspect replies the client disables the converter
#     and connects directly;
#   - `hatun status` of the client: converted connections listed during
#     the download, the MPTCP server in its cache, then the converter
#     DISABLED.
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd python3 curl mptcpize sha256sum tcpdump iperf3 nft
HATUN=${HATUN_BUILD_DIR:-build}/src/cli/hatun
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
MB=${CONVERT_MB:-32}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
CONV=$TB_CONC_V4
SRV=$TB_SERVER_V4

tb_init
tb_topology_standard --no-linkem
tb_mptcp_tfo --subflow || tb_fail "MPTCP subflow set-up"

mkdir -p "$TB_DIR/www"
head -c $((MB * 1024 * 1024)) /dev/urandom >"$TB_DIR/www/big.bin"
echo hello >"$TB_DIR/www/index.html"
tb_bg --port tcp:8080 server python3 -m http.server -d "$TB_DIR/www" -b "$SRV" 8080
tb_bg --port tcp:8081 server mptcpize run python3 -m http.server -d "$TB_DIR/www" -b "$SRV" 8081
tb_bg --port tcp:5124 concentrator "$HATUN" converter --listen "$CONV:5124" --control "$TB_DIR/cv.sock"
CPID=$TB_LAST_PID CLOG=$TB_LAST_LOG
# The capture: SYNs towards the converter, as they cross access0.
tb_bg --log "$TB_DIR/tcpdump.log" --until "grep -q listening '$TB_DIR/tcpdump.log'" \
	access0 tcpdump -n -i up -U --immediate-mode -w "$TB_DIR/syn.pcap" \
	"tcp[tcpflags] & tcp-syn != 0 and dst port 5124"
DPID=$TB_LAST_PID
tb_bg --port tcp:1080 client "$HATUN" client --transport convert --converter "$CONV:5124" \
	-L "127.0.0.1:8001:$SRV:8080" -L "127.0.0.1:8002:$SRV:8081" -L "127.0.0.1:8009:$SRV:9" \
	-L "127.0.0.1:5201:$SRV:5201" \
	--socks 127.0.0.1:1080 --transparent 8300 --log-level debug --control "$TB_DIR/cl.sock"
KPID=$TB_LAST_PID KLOG=$TB_LAST_LOG
tb_wait 5 grep -q "bootstrapped" "$KLOG" || tb_fail "client: no bootstrap ($(cat "$KLOG"))"
tb_ok "bootstrap: $(grep -o 'converter .* bootstrapped.*' "$KLOG")"

cx() { tb_exec client curl -sS --max-time 20 "$@"; }
st() { "$HATUN" status --control "$TB_DIR/cl.sock" "$@"; }

# ---- curl through -L and SOCKS -----------------------------------------------------------
[ "$(cx http://127.0.0.1:8001/)" = hello ] || tb_fail "curl through -L"
[ "$(cx --socks5 127.0.0.1:1080 "http://$SRV:8080/")" = hello ] || tb_fail "curl through SOCKS5"
# curl's request rode in the SYN with the Convert message: still counted up.
tb_wait 3 grep -q "client: 127.0.0.1:[0-9]* -> $SRV:8080: closed (.*), [1-9][0-9]* bytes up" "$KLOG" \
	|| tb_fail "-L connection: the request sent in the SYN not counted ($(grep closed "$KLOG"))"
tb_ok "curl through -L and SOCKS5 (converted)"

# ---- the Convert header in a SYN, on the wire ----------------------------------------------
sleep 0.5
kill -INT "$DPID"
wait "$DPID" 2>/dev/null
# Fixed header 01 06|07 00 00, Connect TLV 0a 06 1f 90 (port 8080): in a SYN.
tb_exec access0 tcpdump -n -r "$TB_DIR/syn.pcap" -X >"$TB_DIR/syn.txt" 2>/dev/null
hexes=$(awk '/0x[0-9a-f]+:/ {for (i = 2; i <= 9; i++) printf "%s", $i} /^[0-9]/ {print ""}' \
	"$TB_DIR/syn.txt")
printf '%s\n' "$hexes" | grep -q '010700000a061f90' \
	|| tb_fail "no SYN carrying the Convert header + Connect to :8080 ($(grep -c Flags "$TB_DIR/syn.txt") SYNs captured)"
# -L waits FIRST_BYTES_WAIT for curl's request: it rides in the same SYN.
printf '%s\n' "$hexes" | grep -q '010700000a061f90.*474554202f20485454502f' \
	|| tb_fail "no SYN carrying the Convert message and the HTTP request together"
tb_ok "tcpdump on access0: a SYN carries 01 07 00 00 | 0a 06 1f 90 ... (Convert header + Connect) + 'GET / HTTP/'"

# ---- big download through SOCKS, two subflows ------------------------------------------------
sum=$(sha256sum <"$TB_DIR/www/big.bin" | cut -d' ' -f1)
# 100 Mbit/s per access link: the download lasts long enough (~1.5 s) to
# be seen in `hatun status`, and one link alone is not enough.
tb_link_rate 0 100
tb_link_rate 1 100
TB_TIMEOUT=$((60 + MB)) tb_exec client curl -sS --max-time $((30 + MB)) --socks5 127.0.0.1:1080 \
	-o "$TB_DIR/big.recv" "http://$SRV:8080/big.bin" &
CURL=$!
# While it runs, the client's status lists it: through the converter, MPTCP.
live() {
	st >"$TB_DIR/st.txt" 2>/dev/null && grep -q -- "-> $SRV:8080  relay" "$TB_DIR/st.txt" &&
		grep -q "via the converter (MPTCP, [12] subflows*)  up [^ ]* [^ ]*  down [1-9]" "$TB_DIR/st.txt"
}
tb_wait 30 live || tb_fail "client status during the download: $(cat "$TB_DIR/st.txt")"
grep -q "^transport: convert, converter $CONV:5124 (in use)" "$TB_DIR/st.txt" \
	|| tb_fail "client status: $(cat "$TB_DIR/st.txt")"
tb_ok "client status during the download: $SRV:8080 via the converter over MPTCP, bytes down"
wait "$CURL" || tb_fail "download through SOCKS"
[ "$(sha256sum <"$TB_DIR/big.recv" | cut -d' ' -f1)" = "$sum" ] || tb_fail "download: SHA-256 differs"
tb_wait 5 grep -q "8080: closed.*client subflows 2" "$CLOG" \
	|| tb_fail "no converted connection with 2 subflows in the converter log"
tb_ok "$MB MiB through SOCKS + converter, SHA-256 matches, client connection on 2 subflows"

# ---- iperf3 through -L, both ways, over both access links ----------------------------------
# An unmodified TCP application: iperf3's control and data connections
# are both converted (the server is plain TCP).  Links still at
# 100 Mbit/s each; 3 s per direction (first second omitted).  Each
# direction's packets through the access routers: both links carried a
# real share (as in test_convert.sh), so both subflows carried data.
tb_iperf_server server 5201
# share_ok A B [MIN]: both counts at least MIN (500) and within 5x of each other.
share_ok() {
	[ "$1" -ge "${3:-500}" ] && [ "$2" -ge "${3:-500}" ] && [ $(($1 * 5)) -ge "$2" ] && [ $(($2 * 5)) -ge "$1" ]
}
# iperf_dir LABEL [-R]: sets RATE (Mbit/s) and PK ("up0 down0 up1 down1" packets).
iperf_dir() {
	local before after
	before=$(tb_link_counters)
	RATE=$(TB_TIMEOUT=30 tb_iperf client 127.0.0.1 127.0.0.1 3 "$@") || tb_fail "iperf3 $* through -L"
	after=$(tb_link_counters)
	PK=$(paste <(tr ' ' '\n' <<<"$after") <(tr ' ' '\n' <<<"$before") \
		| awk 'NF == 2 {printf "%d ", $1 - $2}')
	awk -v r="$RATE" 'BEGIN { exit !(r > 0) }' || tb_fail "iperf3 $*: rate $RATE Mbit/s"
}
iperf_dir
read -r u0 _ u1 _ <<<"$PK"
share_ok "$u0" "$u1" || tb_fail "iperf3 upload: one access link carried (almost) nothing: up $u0 / $u1 packets"
up_rate=$RATE
iperf_dir -R
read -r _ d0 _ d1 <<<"$PK"
share_ok "$d0" "$d1" || tb_fail "iperf3 download: one access link carried (almost) nothing: down $d0 / $d1 packets"
n=$(grep -c -- "-> $SRV:5201: open" "$CLOG")
[ "$n" -ge 4 ] || tb_fail "iperf3: $n of 4 connections through the converter"
tb_ok "iperf3 through -L + converter: up $up_rate Mbit/s (packets access0 $u0, access1 $u1), down $RATE Mbit/s (access0 $d0, access1 $d1)"

# ---- MPTCP server: detected, then reached directly ------------------------------------------
[ "$(cx http://127.0.0.1:8002/)" = hello ] || tb_fail "curl to the MPTCP server (1)"
grep -q "8081: open (client MPTCP, server MPTCP" "$CLOG" || tb_fail "converter: server not MPTCP"
tb_wait 5 grep -q "server speaks MPTCP" "$KLOG" || tb_fail "client did not learn the server speaks MPTCP"
n1=$(grep -c "8081: open" "$CLOG")
[ "$(cx http://127.0.0.1:8002/)" = hello ] || tb_fail "curl to the MPTCP server (2)"
n2=$(grep -c "8081: open" "$CLOG")
[ "$n1" = "$n2" ] || tb_fail "second connection to the MPTCP server went through the converter"
grep -q "8081: direct (server speaks MPTCP)" "$KLOG" || tb_fail "client log: no direct connection"
st --json >"$TB_DIR/st.json" || tb_fail "client status --json"
python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))["convert"]
sys.exit(0 if c["mptcp_destinations"][0]["destination"] == sys.argv[2] and c["direct"] >= 1
	and c["converted"] >= 4 and not c["disabled"] else 1)' "$TB_DIR/st.json" "$SRV:8081" \
	|| tb_fail "client status --json: $(cat "$TB_DIR/st.json")"
tb_ok "MPTCP server detected from the Extended TCP Header, next connection direct (in status)"

# ---- errors -> entry points -----------------------------------------------------------
out=$(cx --socks5 127.0.0.1:1080 "http://$SRV:9/" 2>&1) && tb_fail "SOCKS to a refused port succeeded"
grep -q "converter refused: error 96 (SOCKS REP 5)" "$KLOG" || tb_fail "refused port: $out"
out=$(cx --socks5 127.0.0.1:1080 "http://$CONV:5124/" 2>&1) && tb_fail "SOCKS to the converter itself succeeded"
grep -q "converter refused: error 32 (SOCKS REP 2)" "$KLOG" || tb_fail "own address: $out"
out=$(cx http://127.0.0.1:8009/ 2>&1) && tb_fail "-L to a refused port succeeded"
tb_ok "converter errors: refused port -> SOCKS REP 5, own address -> REP 2, -L -> reset ($out)"

# ---- --transparent: a LAN behind the client, TPROXY ------------------------------------------
# The client namespace routes a LAN (as in test_stream_features.sh); TCP
# from it is steered by nftables TPROXY to the client's --transparent
# listeners (IPv4 and IPv6).  An unmodified curl on the LAN host: to the
# IPv4 server through the converter, to the IPv6 server through the same
# (IPv4) converter — the Connect TLV carries an IPv6 destination — and to
# a refused port: reset.
tb_lan_tproxy 8300 || tb_fail "LAN + TPROXY"
tb_bg --port tcp:8090 server python3 -m http.server -d "$TB_DIR/www" -b "$TB_SERVER_V6" 8090
lx() { tb_exec lan curl -sS --max-time 20 "$@"; }
[ "$(lx "http://$SRV:8080/")" = hello ] || tb_fail "curl from the LAN (transparent) to $SRV:8080"
grep -q -- "-> $SRV:8080: open (client MPTCP" "$CLOG" || tb_fail "transparent: not through the converter"
tb_wait 3 grep -q "client: $LAN_H4:[0-9]* -> $SRV:8080: closed (.*), [1-9][0-9]* bytes up" "$KLOG" \
	|| tb_fail "transparent: no converted connection from $LAN_H4 in the client log"
[ "$(lx "http://[$TB_SERVER_V6]:8090/")" = hello ] || tb_fail "curl from the LAN (transparent) to [$TB_SERVER_V6]:8090"
grep -q -- "-> \[$TB_SERVER_V6\]:8090: open (client MPTCP" "$CLOG" \
	|| tb_fail "transparent IPv6: not through the converter"
grep -q "client: \[$LAN_H6\]:[0-9]* -> \[$TB_SERVER_V6\]:8090: converted" "$KLOG" \
	|| tb_fail "transparent IPv6: no converted connection from $LAN_H6 in the client log"
out=$(lx "http://$SRV:9/" 2>&1) && tb_fail "transparent to a refused port succeeded"
grep -q "$LAN_H4:[0-9]* -> $SRV:9: converter refused: error 96" "$KLOG" || tb_fail "transparent refused: $out"
tb_ok "--transparent (TPROXY from a LAN): curl to $SRV:8080 and to [$TB_SERVER_V6]:8090 (IPv6" \
	"destination through the IPv4 converter) converted, refused port -> reset ($out)"

# ---- IPv6 end to end --------------------------------------------------------------------------
# A second converter on the concentrator's IPv6 service address, a second
# client reaching it over IPv6 (subflow endpoint on wan1's IPv6 address
# too), the HTTP server over IPv6: client -> converter -> server all IPv6,
# the entry points on ::1.
SRV6=$TB_SERVER_V6
CONV6=$TB_CONC_V6
tb_exec client ip mptcp endpoint add "$TB_CLIENT_WAN1_V6" dev wan1 subflow || tb_fail "IPv6 subflow endpoint"
tb_bg --port tcp:5125 concentrator "$HATUN" converter --listen "[$CONV6]:5125" \
	--control "$TB_DIR/cv6.sock"
C6PID=$TB_LAST_PID C6LOG=$TB_LAST_LOG
tb_bg --port tcp:1081 client "$HATUN" client --transport convert --converter "[$CONV6]:5125" \
	-L "[::1]:8011:[$SRV6]:8090" --socks "[::1]:1081" --convert-timeout 1 --log-level debug \
	--control "$TB_DIR/cl6.sock"
K6PID=$TB_LAST_PID K6LOG=$TB_LAST_LOG
tb_wait 5 grep -q "bootstrapped" "$K6LOG" || tb_fail "IPv6 client: no bootstrap ($(cat "$K6LOG"))"
[ "$(cx "http://[::1]:8011/")" = hello ] || tb_fail "curl through -L over IPv6 ($(tail -n 5 "$K6LOG"))"
grep -q -- "-> \[$SRV6\]:8090: open (client MPTCP" "$C6LOG" \
	|| tb_fail "IPv6 converter: no converted connection to [$SRV6]:8090 ($(cat "$C6LOG"))"
before=$(tb_link_counters)
TB_TIMEOUT=$((60 + MB)) cx --max-time $((30 + MB)) --socks5 "[::1]:1081" -o "$TB_DIR/big6.recv" \
	"http://[$SRV6]:8090/big.bin" || tb_fail "download through SOCKS over IPv6"
after=$(tb_link_counters)
[ "$(sha256sum <"$TB_DIR/big6.recv" | cut -d' ' -f1)" = "$sum" ] || tb_fail "IPv6 download: SHA-256 differs"
read -r _ d0 _ d1 <<<"$(paste <(tr ' ' '\n' <<<"$after") <(tr ' ' '\n' <<<"$before") \
	| awk 'NF == 2 {printf "%d ", $1 - $2}')"
# GRO makes a download's packets few and large (~900 per link for 32 MiB).
share_ok "$d0" "$d1" 100 || tb_fail "IPv6 download: one access link carried (almost) nothing: $d0 / $d1 packets"
n=$(grep -c -- "-> \[$SRV6\]:8090: open (client MPTCP" "$C6LOG")
[ "$n" = 2 ] || tb_fail "IPv6 converter: $n of 2 connections converted"
tb_ok "IPv6 end to end: curl via -L [::1], $MB MiB via SOCKS [::1] with SHA-256," \
	"converter [$CONV6]:5125, server [$SRV6]:8090, both links (down packets $d0 / $d1)"

# ---- --convert-timeout: the converter black-holed ---------------------------------------
# The IPv6 converter goes silent (nftables drops everything to its port in
# the concentrator namespace; the client's --convert-timeout is 1 s).  As
# documented: a connection without a Convert reply in time fails (SOCKS
# REP 1, -L reset) and makes the converter suspect, the next goes without
# SYN data, and after 3 in a row the converter is disabled: connections
# then go directly to the destination, and work.
tb_exec concentrator nft -f - <<EOF || tb_fail "nft black hole"
table inet tb_cvbh {
	chain in { type filter hook input priority 0; policy accept;
		tcp dport 5125 counter drop
	}
}
EOF
t0=$(date +%s%N)
out=$(cx --socks5 "[::1]:1081" "http://[$SRV6]:8090/" 2>&1) && tb_fail "SOCKS through a black-holed converter succeeded"
t1=$(date +%s%N)
grep -q "no Convert reply in time (1 in a row)" "$K6LOG" || tb_fail "no timeout line ($(tail -n 3 "$K6LOG"))"
grep -q "socks .*: no Convert reply in time" "$K6LOG" || tb_fail "SOCKS connection not failed on the timeout"
printf '%s\n' "$out" | grep -q "SOCKS5.*(1)\\|general" || tb_fail "SOCKS: not REP 1: $out"
ms=$(((t1 - t0) / 1000000))
[ "$ms" -ge 900 ] && [ "$ms" -le 5000 ] || tb_fail "SOCKS failure after $ms ms, not --convert-timeout 1 s"
for i in 2 3; do
	cx "http://[::1]:8011/" >/dev/null 2>&1 && tb_fail "-L through a black-holed converter succeeded"
	tb_wait 3 grep -q "no Convert reply in time ($i in a row)" "$K6LOG" || tb_fail "no timeout $i"
done
tb_wait 3 grep -q "converter \\[$CONV6\\]:5125 disabled after 3 suspect connections in a row" \
	"$K6LOG" || tb_fail "black-holed converter not disabled"
grep -q "disabled after .*(last: no Convert reply in time)" "$K6LOG" \
	|| tb_fail "disable line does not name the timeout: $(grep disabled "$K6LOG")"
[ "$(cx "http://[::1]:8011/")" = hello ] || tb_fail "-L after the converter was disabled"
[ "$(cx --socks5 "[::1]:1081" "http://[$SRV6]:8090/")" = hello ] || tb_fail "SOCKS after the converter was disabled"
n=$(grep -c "8090: direct (converter disabled)" "$K6LOG")
[ "$n" = 2 ] || tb_fail "$n of 2 connections direct after disabling ($(tail -n 4 "$K6LOG"))"
n=$(grep -c -- "-> \\[$SRV6\\]:8090: open" "$C6LOG")
[ "$n" = 2 ] || tb_fail "the black-holed converter saw connections ($n open lines, 2 before)"
tb_exec concentrator nft delete table inet tb_cvbh
tb_ok "--convert-timeout 1: black-holed converter -> SOCKS REP 1 after $ms ms, -L reset," \
	"3 timeouts -> disabled, then -L and SOCKS direct"

# ---- middlebox interference -----------------------------------------------------------------
# The converter's kernel stops accepting SYN data (client side of TFO
# only): SYN payloads go unacknowledged, as with a middlebox that strips
# the TFO option.
tb_exec concentrator sysctl -qw net.ipv4.tcp_fastopen=1
# Each suspect TFO connection is followed by a plain one (no data in the
# SYN), then TFO is tried again: 3 suspects take 5 connections.
for _ in 1 2 3 4 5; do
	[ "$(cx http://127.0.0.1:8001/)" = hello ] || tb_fail "curl while the converter ignores SYN data"
done
grep -q "fell back to TCP on the way\|SYN payload not acknowledged" "$KLOG" \
	|| tb_fail "client did not notice the SYN data was refused"
tb_wait 5 grep -q "disabled after 3 suspect connections in a row (last: " "$KLOG" \
	|| tb_fail "converter not disabled"
n1=$(grep -c ": open" "$CLOG")
[ "$(cx http://127.0.0.1:8001/)" = hello ] || tb_fail "curl after the converter was disabled"
n2=$(grep -c ": open" "$CLOG")
[ "$n1" = "$n2" ] || tb_fail "a connection still went through the disabled converter"
st | grep -q "(DISABLED: interference or no reply, connecting directly)" \
	|| tb_fail "client status: converter not shown disabled: $(st)"
tb_ok "§6: SYN data refused 3 times (MPTCP fallback / not acked) -> converter disabled, connections direct"

# ---- shutdown ------------------------------------------------------------------------------
for p in "$KPID" "$CPID" "$K6PID" "$C6PID"; do
	kill -TERM "$p"
	wait "$p"; rc=$?
	[ "$rc" = 0 ] || tb_fail "exit status $rc after SIGTERM"
done
grep -l "AddressSanitizer\|LeakSanitizer" "$KLOG" "$CLOG" "$K6LOG" "$C6LOG" && tb_fail "sanitizer report"
tb_ok "convert_client"
