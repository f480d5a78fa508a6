#!/usr/bin/env bash
# bench/memory.sh — memory per idle tunnelled TCP connection (issue 3).
#
# usage: bench/memory.sh [N]      (default 10000 connections; root)
# env:   HATUN_BUILD_DIR (default build/release)
#
# Standard testbed, no linkem.  A python3 server in the server namespace
# accepts and holds connections; the client opens N TCP connections to a
# `hatun client -L` forward, each tunnelled on its own QUIC stream to the
# concentrator and on to the server, sends one byte and waits.  Prints the
# RSS (VmRSS) of hatun concentrator and hatun client before and with the N
# connections open, and the difference per connection.  User-space memory
# only: the kernel's socket buffers are not in RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
export HATUN_BUILD_DIR=${HATUN_BUILD_DIR:-$PWD/build/release} HATUN_SOURCE_DIR=$PWD
HATUN=$HATUN_BUILD_DIR/src/cli/hatun
[ -x "$HATUN" ] || { echo "no hatun binary at $HATUN" >&2; exit 1; }
# shellcheck source=tests/netns/lib.sh
. tests/netns/lib.sh
tb_require_root
# Each process holds about N sockets (plus the server's listen backlog).
want=$((N + 1024)) hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
	echo "bench/memory.sh: $N connections need $want open files; the hard limit is $hard" >&2
	exit 1
fi
ulimit -n "$want"
tb_init
tb_topology_standard --no-linkem >/dev/null

mkdir -p "$TB_DIR/c" "$TB_DIR/s"
CFP=$("$HATUN" genkey "$TB_DIR/c")
SFP=$("$HATUN" genkey "$TB_DIR/s")
HOLD='
import socket, sys, select
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 7000)); s.listen(4096)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
'
tb_bg --port tcp:7000 server python3 -c "$HOLD" "$TB_SERVER_V4"
tb_bg --port udp:4433 concentrator "$HATUN" concentrator --listen "$TB_CONC_V4:4433" \
	--cert "$TB_DIR/s/hatun.crt" --key "$TB_DIR/s/hatun.key" --allow "$CFP" \
	--max-streams $((N + 100)) --log-level warn --control "$TB_DIR/conc.sock"
CONC=$TB_LAST_PID
tb_bg --port tcp:7000 client "$HATUN" client --server "$TB_CONC_V4:4433" --pin "$SFP" \
	--cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" --log-level warn \
	-L "127.0.0.1:7000:$TB_SERVER_V4:7000" --control "$TB_DIR/cli.sock"
CLI=$TB_LAST_PID
sleep 1

# The processes started by ip netns exec: find the hatun children.
rss() { awk '/VmRSS/ { print $2 }' "/proc/$(pgrep -P "$1" -x hatun || echo "$1")/status"; }
c0=$(rss "$CONC") l0=$(rss "$CLI")

OPEN='
import socket, sys, time
n = int(sys.argv[1]); socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", 7000)); s.send(b"x"); socks.append(s)
print("open", n, flush=True)
time.sleep(3600)
'
tb_bg --until "grep -q '^open' $TB_DIR/open.log" --log "$TB_DIR/open.log" client \
	python3 -c "$OPEN" "$N" || true
tb_wait 120 grep -q '^open' "$TB_DIR/open.log"
# Until the concentrator reports them all open.
for _ in $(seq 600); do
	open=$("$HATUN" status --json --control "$TB_DIR/conc.sock" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["tcp"]["open"])')
	[ "$open" -ge "$N" ] && break
	sleep 0.2
done
sleep 1
c1=$(rss "$CONC") l1=$(rss "$CLI")
python3 - "$N" "$open" "$c0" "$c1" "$l0" "$l1" <<'PY'
import sys
n, opened, c0, c1, l0, l1 = map(int, sys.argv[1:])
print(f"{n} idle tunnelled connections ({opened} open at the concentrator)")
print("| process | RSS before KiB | RSS with connections KiB | per connection KiB |")
print("|---|---:|---:|---:|")
print(f"| hatun concentrator | {c0} | {c1} | {(c1 - c0) / n:.2f} |")
print(f"| hatun client | {l0} | {l1} | {(l1 - l0) / n:.2f} |")
PY
tb_cleanup >/dev/null
