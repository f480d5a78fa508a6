#!/usr/bin/env bash
# Multipath sessions in datagram mode (issue 5): the concentrator's side
# (src/tunnel/dgsess.c) with the multipath client, on the standard testbed
# with linkem on both access links (10 ms and 20 ms one way, 10 Mbit/s each,
# so that one flow fills a link and the fast path's RTT grows until the
# scheduler spills over to the other):
# `hatun client --path name=dsl,src=WAN0 --path name=lte,src=WAN1 --tun`.
#   - both paths join one session; the Address Request is answered with the
#     session's address; `hatun status` at the concentrator shows both
#     connections in the same session (path 0 and 1);
#   - ping through the TUN; a download (curl) and an upload (socat) of
#     MP_MB MiB each through the TUN arrive with the right SHA-256, the
#     download spread over both links by the concentrator's scheduler
#     (both access routers forward a share towards the client), and the
#     session's reorder buffer at the concentrator counted the upload;
#   - link 0, then link 1, is cut in the middle of a download: it completes
#     with the right SHA-256 (the other link carries on); restored, the
#     path rejoins;
#   - both links down for 3 s: the paths come back in the same session (no
#     new one, whether they reconnected and joined or revived), with the
#     same address, and traffic flows;
#   - the client stops: the session expires after its linger
#     (HATUN_SESSION_LINGER_MS=3000 here) and its address returns to the
#     pool; a new session of the same identity gets it again;
#   - that second client runs --full-tunnel with both paths (each still
#     reaches the concentrator over its own link), and has lte as a
#     backup path: its Path Preference
#     reaches the concentrator, which sends nothing down lte while dsl
#     works, and everything once dsl is cut;
#   - SIGTERM: both exit 0 (ASan: no leaks).
# Root only (else SKIP, exit 77).
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd curl python3 sha256sum socat

BUILD=${HATUN_BUILD_DIR:-build}
HATUN=$BUILD/src/cli/hatun
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
[ -c /dev/net/tun ] || tb_skip "no /dev/net/tun"
PORT=4433
MB=${MP_MB:-8}
POOL4=192.0.2.64/26
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

tb_init
[ -n "$TB_LINKEM" ] || tb_skip "no linkem (tools/linkem)"
tb_topology_standard --linkem --delay 0:10 --delay 1:20 --rate 0:10 --rate 1:10 ||
	tb_fail "topology"
SV=$TB_SERVER_V4

mkdir -p "$TB_DIR/c" "$TB_DIR/s"
CFP=$("$HATUN" genkey "$TB_DIR/c") || tb_fail "genkey client"
SFP=$("$HATUN" genkey "$TB_DIR/s") || tb_fail "genkey concentrator"
tb_web_file "$MB" || tb_fail "http server"
want=$TB_WEB_SHA256

tb_bg --port udp:$PORT --log "$TB_DIR/conc.log" concentrator \
	env HATUN_SESSION_LINGER_MS=3000 "$HATUN" concentrator --listen "$TB_CONC_V4:$PORT" --cert "$TB_DIR/s/hatun.crt" \
	--key "$TB_DIR/s/hatun.key" --allow "$CFP" --tun hd0 --pool 4:$POOL4 \
	--control "$TB_DIR/conc.sock" --log-level debug || tb_fail "concentrator"
CONC=$TB_LAST_PID

start_client() { # LOG [LTE_EXTRA: e.g. ",backup"] [MORE CLIENT OPTIONS...]
	CLOG=$TB_DIR/$1
	local lte=${2:-}
	shift
	[ $# -gt 0 ] && shift
	tb_bg --log "$CLOG" client \
		"$HATUN" client --server "$TB_CONC_V4:$PORT" --pin "$SFP" \
		--cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" --ticket-file none \
		--path "name=dsl,src=$TB_CLIENT_WAN0_V4" --path "name=lte,src=$TB_CLIENT_WAN1_V4$lte" \
		--tun hc0 --route "$SV/32" --control "$TB_DIR/client.sock" --log-level debug "$@" ||
		tb_fail "client"
	CLI=$TB_LAST_PID
}
start_client client.log

cstatus() { tb_exec client "$HATUN" status --control "$TB_DIR/client.sock" 2>/dev/null; }
conc_json() { "$HATUN" status --json --control "$TB_DIR/conc.sock"; }

wait_state() { tb_wait_path "$HATUN" "$TB_DIR/client.sock" "$@"; } # NAME STATE SECONDS

down_pkts() { tb_link_counters | awk -v l="$1" '{ print $(2 + 2 * l) }'; }

download() { # TAG
	tb_exec client curl -sS --max-time 90 "http://$SV:8080/file" -o "$TB_DIR/dl-$1" \
		2>"$TB_DIR/dl-$1.err" || { tb_log "download $1: $(cat "$TB_DIR/dl-$1.err")"; return 1; }
	[ "$(sha256sum <"$TB_DIR/dl-$1" | cut -d' ' -f1)" = "$want" ] ||
		{ tb_log "download $1: sha256 mismatch"; return 1; }
	rm -f "$TB_DIR/dl-$1"
}

wait_state dsl active 10 || { cstatus; tb__tail "$CLOG"; tb_fail "path dsl not active"; }
wait_state lte active 10 || { cstatus; tb_fail "path lte not active"; }
tb_wait 5 grep -q "joined: 2 connections" "$TB_DIR/conc.log" ||
	tb_fail "the concentrator did not see a session of 2 connections"
tb_wait 10 grep -q "hc0: address 192\.0\.2\." "$CLOG" ||
	{ tb__tail "$CLOG"; tb_fail "no configuration on hc0"; }
A4=$(grep -o "hc0: address 192\.0\.2\.[0-9]*" "$CLOG" | tail -1 | cut -d' ' -f3)
conc_json >"$TB_DIR/st0.json" || tb_fail "hatun status (concentrator)"
python3 - "$TB_DIR/st0.json" "$A4" <<'PY' || tb_fail "concentrator status: one session of two connections"
import json, sys
s = json.load(open(sys.argv[1]))
c = s["connections"]
assert len(c) == 2, c
ids = {x["session"]["id"] for x in c}
assert len(ids) == 1 and 0 not in ids, ids
assert sorted(x["session"]["path"] for x in c) == [0, 1], c
assert all(x["session"]["connections"] == 2 for x in c), c
assert all(x["addresses"] == sys.argv[2] for x in c), c
PY
tb_ok "two paths in one session, the session's address $A4 on both connections"

tb_exec client ping -c 3 -i 0.2 -W 2 "$SV" >/dev/null || tb_fail "ping $SV through the tunnel"
tb_ok "ping through the TUN"

# ---- download spread over both links, upload reordered ------------------------------
d0=$(down_pkts 0)
d1=$(down_pkts 1)
download spread || tb_fail "download over two paths"
d0=$(($(down_pkts 0) - d0))
d1=$(($(down_pkts 1) - d1))
if [ "$d0" -le 100 ] || [ "$d1" -le 100 ]; then
	tb_fail "download not spread over both links (packets down: $d0 / $d1)"
fi
tb_ok "$MB MiB download through the TUN, sha256 match, spread over both links ($d0 / $d1 packets)"

tb_bg --port tcp:9000 server socat -u TCP-LISTEN:9000,bind="$SV" \
	"CREATE:$TB_DIR/upload" || tb_fail "upload sink"
tb_exec client socat -u "FILE:$TB_DIR/www/file" "TCP:$SV:9000" || tb_fail "upload"
tb_wait 10 sh -c "[ \"\$(sha256sum <'$TB_DIR/upload' | cut -d' ' -f1)\" = '$want' ]" ||
	tb_fail "upload: sha256 mismatch"
conc_json >"$TB_DIR/st1.json" || tb_fail "hatun status (concentrator)"
ro=$(python3 - "$TB_DIR/st1.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["connections"]
r = c[0]["session"]["reorder"]
picks = [x["session"]["picks"] for x in c]
assert r["in_order"] + r["reordered"] > 1000, r
assert all(p > 0 for p in picks), picks
print("in order %d, reordered %d, late %d, lost %d, timed out %d; downstream picks %s" %
      (r["in_order"], r["reordered"], r["late"], r["lost"], r["timed_out"], picks))
PY
) || tb_fail "concentrator status after the transfers"
tb_ok "$MB MiB upload through the TUN, sha256 match; concentrator: $ro"

# ---- cut each link during a download -------------------------------------------------
for L in 0 1; do
	name=$([ "$L" = 0 ] && echo dsl || echo lte)
	download "cut$L" &
	dl=$!
	sleep 1
	tb_link_down "$L" || tb_fail "link $L down"
	wait "$dl" || { tb__tail "$TB_DIR/conc.log"; tb_fail "download lost when link $L was cut"; }
	tb_ok "link $L cut during a download: complete and correct"
	tb_link_up "$L" || tb_fail "link $L up"
	wait_state "$name" active 20 || { cstatus; tb_fail "path $name did not come back"; }
	tb_exec client ping -c 2 -i 0.2 -W 2 "$SV" >/dev/null || tb_fail "ping after link $L restored"
	tb_ok "link $L restored: path $name active again, ping through the TUN"
done
# ---- both links down at once, back within the linger ---------------------------------
tb_link_down 0 || tb_fail "link 0 down"
tb_link_down 1 || tb_fail "link 1 down"
sleep 3
tb_link_up 0 || tb_fail "link 0 up"
tb_link_up 1 || tb_fail "link 1 up"
wait_state dsl active 20 || { cstatus; tb_fail "path dsl did not come back"; }
wait_state lte active 20 || { cstatus; tb_fail "path lte did not come back"; }
tb_exec client ping -c 2 -i 0.2 -W 2 "$SV" >/dev/null || tb_fail "ping after both links came back"
grep -q "session #2 created" "$TB_DIR/conc.log" && tb_fail "a new session instead of the old one"
A4b=$(grep -o "hc0: address 192\.0\.2\.[0-9]*" "$CLOG" | tail -1 | cut -d' ' -f3)
[ "$A4b" = "$A4" ] || tb_fail "address changed: $A4 -> $A4b"
download back || tb_fail "download after both links came back"
tb_ok "both links down for 3 s: still session #1 (no new one), same address $A4, ping and download"

grep -q "session #[0-9]*: path [01] failed" "$TB_DIR/conc.log" &&
	tb_log "the concentrator saw a path fail: $(grep -c 'path [01] failed' "$TB_DIR/conc.log") time(s)"

# ---- the session ends: its linger (3 s here) after the client left --------------------
tb_stop "$CLI" || tb_fail "client exit status (ASan?)"
# (connections whose link was cut under them leave only at their idle
# timeout, 30 s, so the linger may start that late)
tb_wait 45 grep -q "session #1 expired" "$TB_DIR/conc.log" ||
	{ tb__tail "$TB_DIR/conc.log"; tb_fail "session #1 did not expire"; }
start_client client2.log ,backup --full-tunnel
wait_state dsl active 10 || { cstatus; tb_fail "path dsl not active (second client)"; }
tb_wait 10 grep -q "hc0: address 192\.0\.2\." "$CLOG" || tb_fail "no configuration (second client)"
A4c=$(grep -o "hc0: address 192\.0\.2\.[0-9]*" "$CLOG" | tail -1 | cut -d' ' -f3)
[ "$A4c" = "$A4" ] || tb_fail "a new session of the same identity got $A4c, not $A4"
tb_exec client ping -c 2 -i 0.2 -W 2 "$SV" >/dev/null || tb_fail "ping in the new session"
tb_ok "session #1 expired 3 s after its last connection (leases back to the pool); a new session got $A4 again"

# ---- the second client: --full-tunnel with both paths ------------------------------------
# (the /1 routes into hc0; each path still reaches the concentrator over
# its own link: the host route on wan0, the policy table for lte's source)
wait_state lte standby 10 || { cstatus; tb_fail "path lte (backup) not standby (second client, full tunnel)"; }
tb_exec client ip route get 198.51.100.200 | grep -q "dev hc0" || tb_fail "--full-tunnel: no /1 routes"
tb_exec client ip route get "$TB_CONC_V4" | grep -q "dev wan0" ||
	tb_fail "--full-tunnel: no host route to the concentrator on wan0"
tb_exec client ip route get "$TB_CONC_V4" from "$TB_CLIENT_WAN1_V4" | grep -q "dev wan1" ||
	tb_fail "--full-tunnel: lte's packets to the concentrator do not leave by wan1"
grep -q "would reach the concentrator through" "$CLOG" && tb_fail "a path routed into the tunnel"
tb_ok "--full-tunnel with two paths: /1 routes into hc0, the concentrator reached by wan0 and by wan1 (lte's source)"

# ---- the second client's lte is a backup path: the concentrator is told ------------------
# (Path Preference, sessions.md) and sends nothing down it while dsl works
tb_wait 10 grep -q "path [01] prefers min-rtt, backup" "$TB_DIR/conc.log" ||
	{ tb__tail "$TB_DIR/conc.log"; tb_fail "no Path Preference (backup) at the concentrator"; }
d0=$(down_pkts 0)
d1=$(down_pkts 1)
download backup-idle || tb_fail "download with lte as backup"
d0=$(($(down_pkts 0) - d0))
d1=$(($(down_pkts 1) - d1))
# lte still gets its keep-alives and ACKs: a few dozen packets at most
if [ "$d0" -le 1000 ] || [ "$d1" -ge 100 ]; then
	tb_fail "backup path used while the primary works (packets down: $d0 / $d1)"
fi
download backup-cut &
dl=$!
sleep 1
tb_link_down 0 || tb_fail "link 0 down"
wait "$dl" || { tb__tail "$TB_DIR/conc.log"; tb_fail "download lost when dsl was cut (lte backup)"; }
tb_link_up 0 || tb_fail "link 0 up"
tb_ok "lte as backup: the concentrator keeps it idle ($d0 / $d1 packets down), and it carries the download when dsl is cut"

tb_stop "$CLI" || tb_fail "client exit status (ASan?)"
tb_stop "$CONC" || tb_fail "concentrator exit status (ASan?)"
grep -q "ERROR: AddressSanitizer\\|runtime error" "$TB_DIR/conc.log" &&
	tb_fail "sanitizer report in the concentrator log"
tb_ok "both exit 0 on SIGTERM"
tb_ok "multipath_dgram"
