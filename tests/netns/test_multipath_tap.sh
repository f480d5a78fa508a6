#!/usr/bin/env bash
# Multipath sessions with TAP devices (issue 5): two L2 segments bridged
# through a session of two paths (linkem: 10 ms and 20 ms one way,
# 10 Mbit/s each), the concentrator's MAC table pointing at the session.
#   segA [eth0] ══ [sa] brA (concentrator ns) hd0 ~~ 2 paths ~~ hc0 brB
#   (client ns) [sb] ══ [eth0] segB
#   - both paths join one session; arping and ping cross the bridge;
#   - MP_MB MiB (default 8) from segment A to segment B (socat) arrive with
#     the right SHA-256, the frames spread over both connections of the
#     session by the concentrator (hatun status: both sent frames);
#   - link 0 is cut during a second transfer: it completes and is correct;
#   - SIGTERM: both exit 0 (ASan: no leaks).
# Root only (else SKIP, exit 77).
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd arping python3 sha256sum socat

HATUN=${HATUN_BUILD_DIR:-build}/src/cli/hatun
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
[ -c /dev/net/tun ] || tb_skip "no /dev/net/tun"
PORT=4433
MB=${MP_MB:-8}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

tb_init
[ -n "$TB_LINKEM" ] || tb_skip "no linkem (tools/linkem)"
tb_topology_standard --linkem --delay 0:10 --delay 1:20 --rate 0:10 --rate 1:10 ||
	tb_fail "topology"

mkdir -p "$TB_DIR/c" "$TB_DIR/s"
CFP=$("$HATUN" genkey "$TB_DIR/c") || tb_fail "genkey client"
SFP=$("$HATUN" genkey "$TB_DIR/s") || tb_fail "genkey concentrator"
head -c $((MB * 1048576)) /dev/urandom >"$TB_DIR/file"
want=$(sha256sum <"$TB_DIR/file" | cut -d' ' -f1)

tb_bg --port udp:$PORT --log "$TB_DIR/conc.log" concentrator \
	"$HATUN" concentrator --listen "$TB_CONC_V4:$PORT" --cert "$TB_DIR/s/hatun.crt" \
	--key "$TB_DIR/s/hatun.key" --allow "$CFP" --tap hd0 \
	--control "$TB_DIR/conc.sock" --log-level debug || tb_fail "concentrator"
CONC=$TB_LAST_PID
tb_bg --log "$TB_DIR/client.log" client \
	"$HATUN" client --server "$TB_CONC_V4:$PORT" --pin "$SFP" \
	--cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" --ticket-file none \
	--path "name=dsl,src=$TB_CLIENT_WAN0_V4" --path "name=lte,src=$TB_CLIENT_WAN1_V4" \
	--tap hc0 --control "$TB_DIR/client.sock" --log-level debug || tb_fail "client"
CLI=$TB_LAST_PID
tb_wait 10 grep -q "hc0: bridged through the tunnel, mtu" "$TB_DIR/client.log" || {
	tb__tail "$TB_DIR/client.log"; tb__tail "$TB_DIR/conc.log"; tb_fail "no TAP configuration"; }
tb_wait 10 grep -q "joined: 2 connections" "$TB_DIR/conc.log" ||
	tb_fail "the concentrator did not see a session of 2 connections"
MTU=$(tb_exec client cat /sys/class/net/hc0/mtu)

for side in A B; do
	if [ $side = A ]; then host=concentrator dev=hd0 port=sa addr=66; else host=client dev=hc0 port=sb addr=67; fi
	tb_netns_add seg$side
	tb_veth seg$side eth0 "$host" "$port"
	tb_exec "$host" ip link add br$side type bridge || tb_fail "bridge on $host"
	tb_exec "$host" ip link set "$port" master br$side up || tb_fail "$port into br$side"
	tb_exec "$host" ip link set "$dev" master br$side || tb_fail "$dev into br$side"
	tb_exec "$host" ip link set br$side up || tb_fail "br$side up"
	tb_exec seg$side ip link set eth0 mtu "$MTU" || tb_fail "seg$side mtu"
	tb_addr seg$side eth0 192.0.2.$addr/26
done
tb_exec segB arping -c 2 -w 3 -I eth0 192.0.2.66 >"$TB_DIR/arping.out" 2>&1 ||
	{ cat "$TB_DIR/arping.out"; tb_fail "arping across the tunnel"; }
tb_exec segB ping -c 2 -i 0.2 -W 2 192.0.2.66 >/dev/null || tb_fail "ping across the tunnel"
tb_ok "two paths in one session, TAP mtu $MTU: arping and ping across the bridge"

transfer() { # TAG: segment A sends the file to segment B
	rm -f "$TB_DIR/got-$1"
	tb_bg --port tcp:9000 segB socat -u TCP-LISTEN:9000,bind=192.0.2.67 \
		"CREATE:$TB_DIR/got-$1" || return 1
	tb_exec segA socat -u "FILE:$TB_DIR/file" TCP:192.0.2.67:9000 || return 1
	tb_wait 10 sh -c "[ \"\$(sha256sum <'$TB_DIR/got-$1' | cut -d' ' -f1)\" = '$want' ]"
}

transfer spread || tb_fail "transfer across the bridge"
"$HATUN" status --json --control "$TB_DIR/conc.sock" >"$TB_DIR/st.json" || tb_fail "status"
sent=$(python3 - "$TB_DIR/st.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["connections"]
assert len(c) == 2 and c[0]["session"]["id"] == c[1]["session"]["id"], c
s = [x["datagrams"]["sent"] for x in c]
assert all(n > 100 for n in s), s
print("%d / %d" % tuple(s))
PY
) || tb_fail "frames not spread over both connections"
tb_ok "$MB MiB from segment A to B, sha256 match; frames sent by the concentrator per connection: $sent"

transfer cut &
xfer=$!
sleep 1
tb_link_down 0 || tb_fail "link 0 down"
wait "$xfer" || { tb__tail "$TB_DIR/conc.log"; tb_fail "transfer lost when link 0 was cut"; }
tb_link_up 0 || tb_fail "link 0 up"
tb_ok "link 0 cut during a transfer: complete and correct"

tb_stop "$CLI" || tb_fail "client exit status (ASan?)"
tb_stop "$CONC" || tb_fail "concentrator exit status (ASan?)"
tb_ok "multipath_tap"
