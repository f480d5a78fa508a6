#!/usr/bin/env bash
# NAT rebinding on the access links of a multipath session (issue 5): the
# standard testbed with a CPE NAT on both access links (tb_nat) and linkem
# (10 ms and 20 ms one way, 20 Mbit/s each);
# `hatun client --path name=dsl,src=WAN0 --path name=lte,src=WAN1 --socks
# ... --tun hc0`, so one session carries stream mode and datagram mode.
#   - both paths join one session; the concentrator sees each connection
#     from its NAT's address (access0 / access1 upstream);
#   - during four downloads through SOCKS (stream mode, spread over both
#     paths) and one through the TUN (datagram mode, every packet
#     scheduled), NAT 0 maps the client to a new port (tb_nat_rebind 0:
#     new port range + conntrack flush), then NAT 1: every download
#     completes with the right SHA-256 (no tunnelled connection reset, the
#     inner TCP of the TUN download never broke);
#   - afterwards the concentrator still has one session of two connections
#     (paths 0 and 1), each now seen from its new mapped port (the QUIC
#     connection followed the rebinding: RFC 9000 §9.3), no second session
#     was created; the client shows both paths active;
#   - the rebound paths carry traffic again: new downloads are spread over
#     both links;
#   - SIGTERM: both exit 0 (ASan: no leaks).
# Root only (else SKIP, exit 77).
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd curl python3 sha256sum

BUILD=${HATUN_BUILD_DIR:-build}
HATUN=$BUILD/src/cli/hatun
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
[ -c /dev/net/tun ] || tb_skip "no /dev/net/tun"
PORT=4433
MB=${MP_MB:-10} # per download: 5 x 10 MiB over 2 x 20 Mbit/s last >= 10 s
POOL4=192.0.2.64/26
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

tb_init
[ -n "$TB_LINKEM" ] || tb_skip "no linkem (tools/linkem)"
tb_topology_standard --linkem --nat all --delay 0:10 --delay 1:20 --rate 0:20 --rate 1:20 ||
	tb_fail "topology"
SV=$TB_SERVER_V4

mkdir -p "$TB_DIR/c" "$TB_DIR/s"
CFP=$("$HATUN" genkey "$TB_DIR/c") || tb_fail "genkey client"
SFP=$("$HATUN" genkey "$TB_DIR/s") || tb_fail "genkey concentrator"
tb_web_file "$MB" || tb_fail "http server"
want=$TB_WEB_SHA256

tb_bg --port udp:$PORT --log "$TB_DIR/conc.log" concentrator \
	"$HATUN" concentrator --listen "$TB_CONC_V4:$PORT" --cert "$TB_DIR/s/hatun.crt" \
	--key "$TB_DIR/s/hatun.key" --allow "$CFP" --tun hd0 --pool 4:$POOL4 \
	--control "$TB_DIR/conc.sock" --log-level debug || tb_fail "concentrator"
CONC=$TB_LAST_PID

CLOG=$TB_DIR/client.log
tb_bg --port tcp:1080 --log "$CLOG" client \
	"$HATUN" client --server "$TB_CONC_V4:$PORT" --pin "$SFP" \
	--cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" --ticket-file none \
	--path "name=dsl,src=$TB_CLIENT_WAN0_V4" --path "name=lte,src=$TB_CLIENT_WAN1_V4" \
	--socks 127.0.0.1:1080 --tun hc0 --route "$SV/32" \
	--control "$TB_DIR/client.sock" --log-level debug || tb_fail "client"
CLI=$TB_LAST_PID

cstatus() { tb_exec client "$HATUN" status --control "$TB_DIR/client.sock" 2>/dev/null; }
conc_json() { "$HATUN" status --json --control "$TB_DIR/conc.sock"; }
wait_state() { tb_wait_path "$HATUN" "$TB_DIR/client.sock" "$@"; } # NAME STATE SECONDS
down_pkts() { tb_link_counters | awk -v l="$1" '{ print $(2 + 2 * l) }'; }

# One session of two connections (paths 0 and 1); prints "PEER0 PEER1"
# (the concentrator's view of each path's address and port).
session_peers() {
	conc_json >"$TB_DIR/st.json" || return 1
	python3 - "$TB_DIR/st.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["connections"]
assert len(c) == 2, c
assert len({x["session"]["id"] for x in c}) == 1, c
assert all(x["session"]["connections"] == 2 for x in c), c
by = {x["session"]["path"]: x["peer"] for x in c}
assert sorted(by) == [0, 1], c
print(by[0], by[1])
PY
}

# get TAG [socks]: one download through SOCKS (stream mode) or the TUN.
get() {
	local via=()
	[ "${2:-}" = socks ] && via=(--socks5 127.0.0.1:1080)
	tb_exec client curl -sS --max-time 60 "${via[@]}" "http://$SV:8080/file" \
		-o "$TB_DIR/dl-$1" -w "$1 %{time_total}\n" >>"$TB_DIR/times" 2>"$TB_DIR/dl-$1.err" ||
		{ tb_log "download $1: $(cat "$TB_DIR/dl-$1.err")"; return 1; }
	[ "$(sha256sum <"$TB_DIR/dl-$1" | cut -d' ' -f1)" = "$want" ] ||
		{ tb_log "download $1: sha256 mismatch"; return 1; }
	rm -f "$TB_DIR/dl-$1"
}

# downloads TAG: four through SOCKS and one through the TUN at once.
downloads() {
	local i pids=() bad=0
	for i in 1 2 3 4; do
		get "$1-s$i" socks &
		pids+=($!)
	done
	get "$1-tun" &
	pids+=($!)
	for i in "${pids[@]}"; do wait "$i" || bad=$((bad + 1)); done
	return "$bad"
}

wait_state dsl active 10 || { cstatus; tb__tail "$CLOG"; tb_fail "path dsl not active"; }
wait_state lte active 10 || { cstatus; tb_fail "path lte not active"; }
tb_wait 5 grep -q "joined: 2 connections" "$TB_DIR/conc.log" ||
	tb_fail "the concentrator did not see a session of 2 connections"
tb_wait 10 grep -q "hc0: address 192\.0\.2\." "$CLOG" ||
	{ tb__tail "$CLOG"; tb_fail "no configuration on hc0"; }
read -r p0 p1 < <(session_peers) || tb_fail "concentrator status: one session of two connections"
case "$p0 $p1" in
"${TB_UP_V4[0]}:"*" ${TB_UP_V4[1]}:"*) ;;
*) tb_fail "the concentrator sees the paths from $p0 and $p1, not through the NATs" ;;
esac
tb_ok "two paths behind NAT in one session: the concentrator sees $p0 and $p1"

# ---- rebind each NAT during the downloads -------------------------------------------
d0=$(down_pkts 0)
d1=$(down_pkts 1)
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
t0=$EPOCHREALTIME
downloads during &
dl=$!
sleep 1
tb_nat_rebind 0 || tb_fail "rebind NAT 0"
r0=$(since "$t0")
sleep 1
if ! kill -0 "$dl" 2>/dev/null; then
	wait "$dl" || { tb__tail "$CLOG"; tb_fail "downloads lost after the first rebind"; }
	tb_fail "the downloads ended before the second rebind at $(since "$t0") s (first at $r0 s; raise MP_MB)"
fi
tb_nat_rebind 1 || tb_fail "rebind NAT 1"
r1=$(since "$t0")
wait "$dl" || { tb__tail "$CLOG"; tb__tail "$TB_DIR/conc.log"; tb_fail "downloads lost across the rebinds"; }
d0=$(($(down_pkts 0) - d0))
d1=$(($(down_pkts 1) - d1))
if [ "$d0" -le 100 ] || [ "$d1" -le 100 ]; then
	tb_fail "the downloads were not spread over both links ($d0 / $d1 packets down)"
fi
tb_ok "NAT 0 then NAT 1 rebound ($r0 s, $r1 s) during 4 SOCKS + 1 TUN downloads of $MB MiB (ended at $(since "$t0") s, $d0 / $d1 packets down): all complete, sha256 match"

# The QUIC connections followed their paths to the new mapped ports (the
# rebinding tool maps into 10000-19999 the first time).
ok=0
for _ in $(seq 1 50); do
	read -r q0 q1 < <(session_peers) || tb_fail "concentrator status after the rebinds"
	case "$q0 $q1" in
	"${TB_UP_V4[0]}:1"????" ${TB_UP_V4[1]}:1"????) ok=1; break ;;
	esac
	sleep 0.1
done
[ "$ok" = 1 ] || tb_fail "after the rebinds the concentrator sees $q0 and $q1 (before: $p0 $p1)"
grep -q "session #2 created" "$TB_DIR/conc.log" && tb_fail "a new session instead of the old one"
# Operators see the rebinding: ngtcp2's path validation is logged.
grep -q "peer ${TB_UP_V4[0]}:1.* validated, its address changed" "$TB_DIR/conc.log" ||
	tb_fail "no log line for NAT 0's new mapping"
wait_state dsl active 10 || { cstatus; tb_fail "path dsl not active after the rebinds"; }
wait_state lte active 10 || { cstatus; tb_fail "path lte not active after the rebinds"; }
fails=$(grep -c "path [a-z]* failed" "$CLOG")
tb_ok "still session #1 of two connections, now seen from $q0 and $q1; both paths active (client declared $fails path failure(s))"

d0=$(down_pkts 0)
d1=$(down_pkts 1)
downloads after || tb_fail "downloads after the rebinds"
d0=$(($(down_pkts 0) - d0))
d1=$(($(down_pkts 1) - d1))
if [ "$d0" -le 100 ] || [ "$d1" -le 100 ]; then
	tb_fail "after the rebinds, not spread over both links ($d0 / $d1 packets)"
fi
tb_ok "after the rebinds: new downloads use both paths ($d0 / $d1 packets down)"

tb_stop "$CLI" || tb_fail "client exit status (ASan?)"
tb_stop "$CONC" || tb_fail "concentrator exit status (ASan?)"
grep -q "ERROR: AddressSanitizer\\|runtime error" "$TB_DIR/conc.log" "$CLOG" &&
	tb_fail "sanitizer report in a log"
tb_ok "both exit 0 on SIGTERM"
tb_ok "multipath_rebind"
