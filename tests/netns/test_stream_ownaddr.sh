#!/usr/bin/env bash
# hatun concentrator: addresses it gains after start are refused as
# destinations at once, addresses it loses are not any more (issue 3,
# docs/POLICY.md; rtnetlink RTM_NEWADDR / RTM_DELADDR, src/tunnel/ownaddr.c).
#   - a listener in the concentrator's namespace on all addresses (what a
#     management port looks like);
#   - 203.0.113.5 (and 2001:db8:40::5) added to the concentrator after it
#     started: a tunnelled connection to it is refused by policy
#     ("deny-own"), the listener sees nothing;
#   - the addresses removed again: the refusal stops (the connection now
#     fails for lack of a host, not by policy).
# Root only (else SKIP, exit 77).
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
tb_require_root
tb_require_cmd python3
HATUN=${HATUN_BUILD_DIR:-build}/src/cli/hatun
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
tb_init
tb_topology_standard --no-linkem
PORT=4433
NEW4=203.0.113.5
NEW6=2001:db8:40::5

mkdir -p "$TB_DIR/c" "$TB_DIR/s"
CFP=$("$HATUN" genkey "$TB_DIR/c") || tb_fail "genkey client"
SFP=$("$HATUN" genkey "$TB_DIR/s") || tb_fail "genkey concentrator"
# The "management port": every address of the concentrator, port 9100.
cat >"$TB_DIR/mgmt.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(('::', 9100)); s.listen(16)
while True:
    c, a = s.accept()
    print('accepted from', a, flush=True)
    c.sendall(b'secret\n'); c.close()
PY
tb_bg --port tcp:9100 --log "$TB_DIR/mgmt.log" concentrator python3 "$TB_DIR/mgmt.py"
tb_bg --port udp:$PORT --log "$TB_DIR/conc.log" concentrator "$HATUN" concentrator \
	--listen "$TB_CONC_V4:$PORT" --cert "$TB_DIR/s/hatun.crt" --key "$TB_DIR/s/hatun.key" \
	--allow "$CFP" --connect-timeout 1 --log-level debug
tb_bg --port tcp:8001 --log "$TB_DIR/client.log" client "$HATUN" client \
	--server "$TB_CONC_V4:$PORT" --pin "$SFP" --cert "$TB_DIR/c/hatun.crt" \
	--key "$TB_DIR/c/hatun.key" --ticket-file none \
	-L "8001:$NEW4:9100" -L "8006:[$NEW6]:9100"
tb_wait 10 grep -q "tunnel to .* up" "$TB_DIR/client.log" || tb_fail "tunnel not up"
# ask PORT: what a connection through -L PORT gets: the secret, eof or reset.
ask() {
	tb_exec client python3 - "$1" <<'PY'
import socket, sys
try:
    # The reset may come before connect() returns (loaded machine).
    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)
    b = s.recv(100)
    print(b.decode().strip() if b else 'eof')
except (ConnectionResetError, socket.timeout) as e:
    print('reset' if isinstance(e, ConnectionResetError) else 'timeout')
PY
}
refusals() { grep -c "refused by policy (deny-own)" "$TB_DIR/conc.log"; }

tb_exec concentrator ip addr add "$NEW4/28" dev inet || tb_fail "ip addr add"
tb_exec concentrator ip addr add "$NEW6/64" dev inet nodad || tb_fail "ip -6 addr add"
tb_wait 5 grep -q "addresses changed" "$TB_DIR/conc.log" ||
	{ tb__tail "$TB_DIR/conc.log"; tb_fail "the concentrator did not notice the new addresses"; }
n0=$(refusals)
for p in 8001 8006; do
	got=$(ask $p)
	[ "$got" = reset ] || tb_fail "to a new own address via $p: '$got'"
done
[ "$(refusals)" -ge $((n0 + 2)) ] || { tb__tail "$TB_DIR/conc.log"; tb_fail "no deny-own refusals"; }
grep -q accepted "$TB_DIR/mgmt.log" && tb_fail "the management port was reached"
tb_ok "addresses added after start ($NEW4, $NEW6) are refused: '$(grep -o "refused by policy (deny-own)" "$TB_DIR/conc.log" | head -1)', management port untouched"

changes() { grep -c "addresses changed" "$TB_DIR/conc.log"; }
c0=$(changes)
tb_exec concentrator ip addr del "$NEW6/64" dev inet || tb_fail "ip -6 addr del"
tb_wait 5 test "$(changes)" -gt "$c0" || tb_fail "the concentrator did not notice the IPv6 removal"
c0=$(changes)
tb_exec concentrator ip addr del "$NEW4/28" dev inet || tb_fail "ip addr del"
tb_wait 5 test "$(changes)" -gt "$c0" ||
	{ tb__tail "$TB_DIR/conc.log"; tb_fail "the concentrator did not notice the removal"; }
n1=$(refusals)
got=$(ask 8001)
[ "$(refusals)" = "$n1" ] || tb_fail "still refused by policy after the address was removed"
tb_ok "after removal: no policy refusal any more (the connection got '$got': nobody has $NEW4 now)"
tb_ok "stream own-address test passed"
