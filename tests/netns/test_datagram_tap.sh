#!/usr/bin/env bash
# hatun datagram mode with TAP devices (issue 4): Ethernet frames in QUIC
# DATAGRAM frames (Protocol Type 0x6558) bridge two L2 segments.
#   segA [eth0] ══ [sa] br0 (concentrator ns) hd0 ~~ tunnel ~~ hc0 br1
#   (client ns) [sb] ══ [eth0] segB
# Both segments share 192.0.2.64/26 and 2001:db8:50::/64: ARP (arping),
# ping and ping6 (neighbour discovery) cross the tunnel; an iperf3 TCP
# flow runs across; the frame counters show in hatun status.
# Root only (else SKIP, exit 77).
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd arping iperf3 python3

HATUN=${HATUN_BUILD_DIR:-build}/src/cli/hatun
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
[ -c /dev/net/tun ] || tb_skip "no /dev/net/tun"
PORT=4433
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

tb_init
tb_topology_standard --no-linkem

mkdir -p "$TB_DIR/c" "$TB_DIR/s" "$TB_DIR/ctl"
CFP=$("$HATUN" genkey "$TB_DIR/c") || tb_fail "genkey client"
SFP=$("$HATUN" genkey "$TB_DIR/s") || tb_fail "genkey concentrator"

tb_bg --port udp:$PORT --log "$TB_DIR/conc.log" concentrator \
	"$HATUN" concentrator --listen "$TB_CONC_V4:$PORT" --cert "$TB_DIR/s/hatun.crt" \
	--key "$TB_DIR/s/hatun.key" --allow "$CFP" --tap hd0 \
	--control "$TB_DIR/ctl/concentrator.sock"
CONC_PID=$TB_LAST_PID
tb_bg --log "$TB_DIR/client.log" client \
	"$HATUN" client --server "$TB_CONC_V4:$PORT" --pin "$SFP" \
	--cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" \
	--tap hc0 --control "$TB_DIR/ctl/client.sock"
CLIENT_PID=$TB_LAST_PID
tb_wait 10 grep -q "hc0: bridged through the tunnel, mtu" "$TB_DIR/client.log" || {
	tb__tail "$TB_DIR/client.log"; tb__tail "$TB_DIR/conc.log"; tb_fail "no TAP configuration"; }
MTU=$(tb_exec client cat /sys/class/net/hc0/mtu)

# Two segments, each bridged to its end's TAP device.
for side in A B; do
	if [ $side = A ]; then host=concentrator dev=hd0 port=sa addr=66; else host=client dev=hc0 port=sb addr=67; fi
	tb_netns_add seg$side
	tb_veth seg$side eth0 "$host" "$port"
	tb_exec "$host" ip link add br$side type bridge || tb_fail "bridge on $host"
	tb_exec "$host" ip link set "$port" master br$side up || tb_fail "$port into br$side"
	tb_exec "$host" ip link set "$dev" master br$side || tb_fail "$dev into br$side"
	tb_exec "$host" ip link set br$side up || tb_fail "br$side up"
	tb_exec seg$side ip link set eth0 mtu "$MTU" || tb_fail "seg$side mtu"
	tb_addr seg$side eth0 192.0.2.$addr/26 2001:db8:50::$addr/64
done

tb_exec segB arping -c 2 -w 3 -I eth0 192.0.2.66 >"$TB_DIR/arping.out" 2>&1 ||
	{ cat "$TB_DIR/arping.out"; tb_fail "arping across the tunnel"; }
tb_exec segB ping -c 2 -i 0.2 -W 2 192.0.2.66 >/dev/null || tb_fail "ping across the tunnel"
tb_exec segB ping -6 -c 2 -i 0.2 -W 2 2001:db8:50::66 >/dev/null || tb_fail "ping6 across the tunnel"
mac=$(tb_exec segA cat /sys/class/net/eth0/address)
tb_exec segB ip neigh show 192.0.2.66 | grep -qi "$mac" || tb_fail "segB did not learn segA's MAC"
tb_ok "TAP mtu $MTU: arping, ping and ping6 from segment B to segment A ($mac learned across)"

tb_iperf_server segA
t=$(tb_iperf segB 192.0.2.67 192.0.2.66 2) || tb_fail "iperf3 TCP across the bridge"
"$HATUN" status --json --control "$TB_DIR/ctl/concentrator.sock" | python3 -c '
import json, sys
d = json.load(sys.stdin)["connections"][0]["datagrams"]
assert d["sent"] > 100 and d["received"] > 100, d
print(d["sent"], d["received"])' >"$TB_DIR/frames" || tb_fail "frame counters"
tb_ok "iperf3 TCP across the bridged segments: $t Mbit/s (functional only); frames sent/received by the concentrator: $(cat "$TB_DIR/frames")"

# One client inventing source MACs: at most 256 are learned (the table is
# shared by all clients), and its own bridged traffic goes on.
tb_exec segB python3 -c '
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
for i in range(300):
    src = bytes([2, 0, 0, 0x5e, i >> 8, i & 0xff])
    s.send(b"\xff" * 6 + src + b"\x88\xb5" + bytes(46))
' || tb_fail "frames from invented MACs"
tb_wait 5 grep -q "reached 256 MAC addresses" "$TB_DIR/conc.log" ||
	tb_fail "no MAC limit after 300 invented source MACs"
tb_exec segB ping -c 2 -i 0.2 -W 2 192.0.2.66 >/dev/null || tb_fail "ping across after the MAC limit"
tb_ok "300 invented source MACs from one client: 256 learned (limit logged), ping across still works"

tb_stop "$CLIENT_PID" "$CONC_PID"
for f in client conc; do
	! grep -q "ERROR\|LeakSanitizer\|runtime error" "$TB_DIR/$f.log" || {
		tb__tail "$TB_DIR/$f.log"; tb_fail "errors in $f.log"; }
done
tb_ok "datagram mode, TAP"
