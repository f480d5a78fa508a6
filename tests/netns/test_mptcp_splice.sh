#!/usr/bin/env bash
# Uploads over MPTCP with two subflows, byte for byte, by how the sender
# writes (send / sendfile / MSG_MORE / splice) and with or without hatun's
# converter in the path (relay splicing or copying): the reproducer of
# docs/NEXT.md issue 6 (uploads through the converter with 15,696 bytes at
# the wrong offset).  tests/tools/mptcp_splice_check.py does the I/O and
# compares every byte with the file; findings in docs/protocol/convert.md,
# "Corrupted uploads over two subflows".
#
# Standard testbed without linkem, each access link shaped to SPLICE_RATE
# Mbit/s, the client with an MPTCP subflow endpoint on wan1 (as
# test_convert.sh).  Each case makes SPLICE_RUNS connections of SPLICE_MB
# MiB and counts those with wrong bytes ("bad") and those that stalled past
# the per-connection bound ("stalled": the two-subflow receive-window stall
# of docs/protocol/convert.md).  Cases (SPLICE_CASES):
#   direct-send        client send()            -> server recv(), MPTCP end to end
#   direct-sendfile    client sendfile()        -> server
#   direct-sendmore    client send(MSG_MORE)    -> server (64 KiB writes)
#   direct-splice      client file->pipe->socket splice, non-blocking -> server
#   direct-spliceout   client send() -> server splice() out of its socket
#   conc-nbrecv        client sendfile(), Convert message in the SYN -> a
#                      receiver where the converter runs, reading as it does
#                      (recv(MSG_DONTWAIT) 64 KiB, poll), no converter
#   conv-send          client send() -> converter (its default relay: copy
#                      into MPTCP sockets, splice into TCP ones) -> server
#   conv-splice        client splice, non-blocking (as hatun's relay spliced
#                      before) -> converter (default relay)
#   conv-sendfile      client sendfile() -> converter splicing (HATUN_CONVERT_COPY=0)
#   conv-sendfile-copy client sendfile() -> converter copying (HATUN_CONVERT_COPY=1)
#   conv-sendmore      client send(MSG_MORE) -> converter (default relay)
#   conv-sendfile-py   client sendfile() -> a converter's upload path in
#                      Python (mptcp_splice_check.py relay), no hatun
#   conv-down          server sendfile() -> converter (default relay: it
#                      copies into the client's MPTCP socket) -> client recv()
#   conv-down-splice   the same, the converter splicing (HATUN_CONVERT_COPY=0)
#   down-slowread-auto server sendfile() -> client recv() at SPLICE_READ_RATE
#                      MiB/s with the kernel's receive-buffer autotuning
#                      (--rcvbuf 0), MPTCP end to end, no hatun: the
#                      two-subflow receive-window stall of 6.18 (a kernel
#                      report's reproducer; docs/protocol/convert.md)
#   down-slowread      the same with hatun's fixed 4 MiB SO_RCVBUF (the
#                      workaround): should never stall
# (every conv-* and conc-* client sends a Convert Connect message in its SYN).
# SPLICE_CASES default: the baseline and what hatun does (direct-send,
# conv-send, conv-down) and the kernel bug (conv-splice, conv-sendfile,
# conv-sendfile-copy). Wrong bytes and stalls are reported, not failed on:
# the corruption is the kernel's and hits plain send() end to end too (a CI
# run of 2026-11-29: direct-send 1 of 20, no hatun in the path), so no
# count here can tell hatun apart from it. The test fails when a case got
# no upload through at all (the tool, the converter or the testbed broke).
# SPLICE_EXPECT=strict also fails when direct-send, conv-send or conv-down
# delivers wrong bytes (for a kernel that is believed fixed).
#   SPLICE_RUNS=20 SPLICE_MB=1 SPLICE_RATE=100 (0: unshaped)
#   SPLICE_NETLOAD=1  a bulk MPTCP transfer (iperf3, two subflows) in two more
#                     namespaces meanwhile: the condition that shows the bug
#                     (~0.5 % of sendfile uploads through the converter)
# The long run: SPLICE_NETLOAD=1 SPLICE_RUNS=300 SPLICE_CASES="conv-sendfile ..."
# The receive-window stall: SPLICE_CASES="down-slowread-auto down-slowread"
#   SPLICE_MB=32 SPLICE_RUNS=16 (SPLICE_READ_RATE=8 MiB/s by default)
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd python3 nstat
SRC=${HATUN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HATUN=${HATUN_BUILD_DIR:-build}/src/cli/hatun
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
CHECK=$SRC/tests/tools/mptcp_splice_check.py
RUNS=${SPLICE_RUNS:-20}
MB=${SPLICE_MB:-1}
RATE=${SPLICE_RATE:-100}
NETLOAD=${SPLICE_NETLOAD:-0}
CASES=${SPLICE_CASES:-direct-send conv-send conv-splice conv-down conv-sendfile conv-sendfile-copy}
EXPECT=${SPLICE_EXPECT:-report}
READ_RATE=${SPLICE_READ_RATE:-8}
MUST_PASS="direct-send conv-send conv-down"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
CONV=$TB_CONC_V4
SRV=$TB_SERVER_V4
# Bound of every call of a connection: its bytes at RATE, doubled, + 5 s.
PER=$((MB * 8 * 2 / (RATE > 0 ? RATE : 1000) + 5))
case " $CASES " in *" down-slowread"*)
	slow=$((MB * 2 / READ_RATE + 5))
	[ "$slow" -le "$PER" ] || PER=$slow ;;
esac
# shellcheck disable=SC2034 # read by lib.sh (tb_exec bound)
TB_TIMEOUT=$((RUNS * PER + 30))

tb_init
tb_topology_standard --no-linkem
for ns in client concentrator server; do
	tb_exec "$ns" sysctl -qw net.mptcp.enabled=1 net.ipv4.tcp_fastopen=3 \
		|| tb_skip "no MPTCP / TFO sysctl"
	tb_exec "$ns" ip mptcp limits set subflows 2 add_addr_accepted 2
done
tb_exec client ip mptcp endpoint add "$TB_CLIENT_WAN1_V4" dev wan1 subflow
if [ "$RATE" != 0 ]; then
	tb_link_rate 0 "$RATE" || tb_fail "cannot shape access link 0"
	tb_link_rate 1 "$RATE" || tb_fail "cannot shape access link 1"
fi
head -c $((MB * 1024 * 1024)) /dev/urandom >"$TB_DIR/data.bin"

if [ "$NETLOAD" = 1 ]; then
	tb_require_cmd iperf3 mptcpize
	tb_netns_add lda
	tb_netns_add ldb
	tb_veth lda e0 ldb e0
	tb_veth lda e1 ldb e1
	tb_addr lda e0 198.51.100.34/28
	tb_addr ldb e0 198.51.100.35/28
	tb_addr lda e1 198.51.100.50/28
	tb_addr ldb e1 198.51.100.51/28
	for ns in lda ldb; do
		tb_exec "$ns" sysctl -qw net.mptcp.enabled=1
		tb_exec "$ns" ip mptcp limits set subflows 2 add_addr_accepted 2
	done
	tb_exec lda ip mptcp endpoint add 198.51.100.50 dev e1 subflow
	tb_bg --port tcp:5201 ldb mptcpize run iperf3 -s -B 198.51.100.35
	tb_bg lda mptcpize run iperf3 -c 198.51.100.35 -t 100000 -b 2G
fi

# counters NS: the non-zero MPTCP / TFO / retransmission counters since the last call.
counters() {
	NSTAT_HISTORY=$TB_DIR/nstat.$1 tb_exec "$1" nstat 'MPTcp*' 'TcpExtTCPFastOpenPassive' \
		'TcpExtTCPFastOpenActive' 'TcpRetransSegs' \
		| awk 'NR > 1 && $2 != 0 { sub("MPTcpExt", "", $1); sub("TcpExt", "", $1); printf "%s=%s ", $1, $2 }'
}

port=7000
declare -A BAD OK
# run_case NAME SENDER HOW VIA [RECEIVER_OPT...]
#   SENDER client|server (who streams the file; the other end checks it)
#   HOW    the sender's --how
#   VIA    direct | conc (receiver in the converter's place) | default |
#          splice | copy (hatun converter, relay mode) | py (Python relay)
run_case() {
	local name=$1 sender=$2 how=$3 via=$4 sns=server saddr=$SRV
	shift 4
	local cpid="" clog="" target bad stalled sdir cdir
	local sopts=(--mptcp) copts=(--mptcp)
	port=$((port + 1))
	if [ "$sender" = client ]; then
		sdir=recv cdir=send
		sopts+=(--how recv "$@")
		copts+=(--how "$how")
	else
		sdir=send cdir=recv
		sopts+=(--how "$how")
		copts+=(--how recv "$@")
	fi
	if [ "$via" = conc ]; then
		sns=concentrator saddr=$CONV
		sopts+=(--tfo --skip-convert)
	fi
	tb_bg --port tcp:$port "$sns" python3 "$CHECK" listen "$saddr" $port "$sdir" \
		"$TB_DIR/data.bin" "${sopts[@]}" --count "$RUNS" --timeout "$PER"
	local spid=$TB_LAST_PID slog=$TB_LAST_LOG
	target=("$saddr" "$port")
	case $via in
	default | splice | copy)
		local copy=(-u HATUN_CONVERT_COPY)
		[ "$via" = copy ] && copy=(HATUN_CONVERT_COPY=1)
		[ "$via" = splice ] && copy=(HATUN_CONVERT_COPY=0)
		tb_bg --port tcp:$((port + 1000)) concentrator env "${copy[@]}" \
			"$HATUN" converter --listen "$CONV:$((port + 1000))"
		cpid=$TB_LAST_PID clog=$TB_LAST_LOG ;;
	py)
		tb_bg --port tcp:$((port + 1000)) concentrator python3 "$CHECK" relay "$CONV" $((port + 1000)) \
			"$SRV" $port --mptcp --tfo --count "$RUNS" --timeout "$PER"
		cpid=$TB_LAST_PID ;;
	esac
	[ -z "$cpid" ] || target=("$CONV" $((port + 1000)))
	[ "$via" = direct ] || copts+=(--tfo --convert "$SRV" "$port")
	counters client >/dev/null
	counters "$sns" >/dev/null
	tb_exec client python3 "$CHECK" connect "${target[@]}" "$cdir" "$TB_DIR/data.bin" \
		"${copts[@]}" --count "$RUNS" --timeout "$PER" >"$TB_DIR/$name.client" 2>&1
	local cc sc
	cc=$(counters client)
	sc=$(counters "$sns")
	tb__wait_pid 10 "$spid" false
	tb_stop "$spid"
	[ -z "$cpid" ] || tb_stop "$cpid"
	cat "$slog" "$TB_DIR/$name.client" >"$TB_DIR/$name.all"
	bad=$(grep -c '^bad' "$TB_DIR/$name.all")
	OK[$name]=$(grep -c '^ok' "$TB_DIR/$name.all")
	stalled=$(grep -c '^error' "$TB_DIR/$name.all")
	tb_log "$name: $bad bad, $stalled stalled/failed of $RUNS (${MB} MiB each)"
	grep '^bad\|^error' "$TB_DIR/$name.all" | sort | uniq -c | head -n 5 | sed 's/^/    /'
	tb_log "    counters client: $cc"
	tb_log "    counters $sns: $sc"
	[ -z "$clog" ] || grep -o 'relay up [a-z]* down [a-z]*' "$clog" | sort | uniq -c \
		| sed 's/^/    converter: /'
	BAD[$name]=$bad
}

for c in $CASES; do
	case $c in
	direct-send) run_case "$c" client send direct ;;
	direct-sendfile) run_case "$c" client sendfile direct ;;
	direct-sendmore) run_case "$c" client sendmore direct ;;
	direct-splice) run_case "$c" client splice direct ;;
	direct-spliceout) run_case "$c" client send direct --how splice ;;
	conc-nbrecv) run_case "$c" client sendfile conc --how nbrecv ;;
	conv-send) run_case "$c" client send default ;;
	conv-splice) run_case "$c" client splice default ;;
	conv-sendfile) run_case "$c" client sendfile splice ;;
	conv-sendfile-copy) run_case "$c" client sendfile copy ;;
	conv-sendmore) run_case "$c" client sendmore default ;;
	conv-sendfile-py) run_case "$c" client sendfile py ;;
	conv-down) run_case "$c" server sendfile default ;;
	conv-down-splice) run_case "$c" server sendfile splice ;;
	down-slowread-auto) run_case "$c" server sendfile direct --read-rate "$READ_RATE" --rcvbuf 0 ;;
	down-slowread) run_case "$c" server sendfile direct --read-rate "$READ_RATE" ;;
	*) tb_fail "unknown case $c" ;;
	esac
done

for c in $CASES; do
	[ "${OK[$c]:-0}" -gt 0 ] || tb_fail "$c: no connection delivered its bytes (see the logs above)"
done
if [ "$EXPECT" = strict ]; then
	for c in $MUST_PASS; do
		[ "${BAD[$c]:-0}" = 0 ] || tb_fail "$c: ${BAD[$c]} of $RUNS connections delivered wrong bytes"
	done
fi
tb_ok "transfers over two MPTCP subflows checked byte for byte (wrong bytes reported above, the kernel's)"
