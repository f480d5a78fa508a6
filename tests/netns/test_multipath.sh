#!/usr/bin/env bash
# Multipath sessions in stream mode (issue 5) on the standard testbed with
# linkem on both access links (10 ms and 20 ms one way, 40 Mbit/s each):
# `hatun client --path name=dsl,src=WAN0 --path name=lte,src=WAN1 --socks`.
#   - both paths come up in one session (New Session on one, Join on the
#     other; the concentrator logs "2 connections"), `hatun status` lists
#     both paths active;
#   - eight downloads at once through SOCKS are spread over both paths
#     (each access router forwards a share of the bytes) and arrive with the
#     right SHA-256;
#   - link 0 is cut in the middle of eight more downloads: the client logs
#     the failure and the migration of the path's streams, every download
#     still completes with the right SHA-256 (no tunnelled connection
#     reset); the link comes back: the path reconnects and joins again, new
#     connections use it;
#   - the same with link 1;
#   - start-up with link 0 dead: the session starts on link 1 and a
#     download works at once; link 0 restored: it joins;
#   - MP_FLAP=1: both links flap every few seconds for a minute during
#     downloads (off in CI for time);
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
PORT=4433
MB=${MP_MB:-8} # per download
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

tb_init
[ -n "$TB_LINKEM" ] || tb_skip "no linkem (tools/linkem)"
tb_topology_standard --linkem --delay 0:10 --delay 1:20 --rate 0:40 --rate 1:40 ||
	tb_fail "topology"

mkdir -p "$TB_DIR/c" "$TB_DIR/s"
CFP=$("$HATUN" genkey "$TB_DIR/c") || tb_fail "genkey client"
SFP=$("$HATUN" genkey "$TB_DIR/s") || tb_fail "genkey concentrator"
tb_web_file "$MB" || tb_fail "http server"
want=$TB_WEB_SHA256

start_concentrator() {
	tb_bg --port udp:$PORT --log "$TB_DIR/conc.log" concentrator \
		"$HATUN" concentrator --listen "$TB_CONC_V4:$PORT" --cert "$TB_DIR/s/hatun.crt" \
		--key "$TB_DIR/s/hatun.key" --allow "$CFP" --control "$TB_DIR/conc.sock" \
		--log-level debug || tb_fail "concentrator"
	CONC=$TB_LAST_PID
}

start_client() { # LOG
	CLOG=$TB_DIR/$1
	tb_bg --port tcp:1080 --log "$CLOG" client \
		"$HATUN" client --server "$TB_CONC_V4:$PORT" --pin "$SFP" \
		--cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" --ticket-file none \
		--path "name=dsl,src=$TB_CLIENT_WAN0_V4" --path "name=lte,src=$TB_CLIENT_WAN1_V4" \
		--socks 127.0.0.1:1080 --control "$TB_DIR/client.sock" --log-level debug ||
		tb_fail "client"
	CLI=$TB_LAST_PID
}

status() { tb_exec client "$HATUN" status --control "$TB_DIR/client.sock" 2>/dev/null; }

wait_state() { tb_wait_path "$HATUN" "$TB_DIR/client.sock" "$@"; } # NAME STATE SECONDS

# downloads N TAG: N downloads at once through SOCKS; every one must match.
downloads() {
	local n=$1 tag=$2 i pids=() bad=0
	for i in $(seq 1 "$n"); do
		tb_exec client curl -sS --max-time 90 --socks5 127.0.0.1:1080 \
			"http://$TB_SERVER_V4:8080/file" -o "$TB_DIR/dl-$tag-$i" \
			2>"$TB_DIR/dl-$tag-$i.err" &
		pids+=($!)
	done
	for i in $(seq 1 "$n"); do
		if ! wait "${pids[i - 1]}"; then
			tb_log "download $tag-$i failed: $(cat "$TB_DIR/dl-$tag-$i.err")"
			bad=$((bad + 1))
			continue
		fi
		if [ "$(sha256sum <"$TB_DIR/dl-$tag-$i" | cut -d' ' -f1)" != "$want" ]; then
			tb_log "download $tag-$i: sha256 mismatch"
			bad=$((bad + 1))
		fi
		rm -f "$TB_DIR/dl-$tag-$i"
	done
	return "$bad"
}

# down_bytes LINK: bytes... packets forwarded towards the client on LINK.
down_pkts() { tb_link_counters | awk -v l="$1" '{ print $(2 + 2 * l) }'; }

start_concentrator
start_client client.log
wait_state dsl active 10 || { status; tb_fail "path dsl not active"; }
wait_state lte active 10 || { status; tb_fail "path lte not active"; }
tb_wait 5 grep -q "joined: 2 connections" "$TB_DIR/conc.log" ||
	tb_fail "the concentrator did not see a session of 2 connections"
tb_ok "two paths in one session (New Session + Join), both active"

# ---- spread --------------------------------------------------------------------
d0=$(down_pkts 0)
d1=$(down_pkts 1)
downloads 8 spread || tb_fail "downloads over two paths"
d0=$(($(down_pkts 0) - d0))
d1=$(($(down_pkts 1) - d1))
if [ "$d0" -le 100 ] || [ "$d1" -le 100 ]; then
	tb_fail "downloads not spread over both links (packets down: $d0 / $d1)"
fi
tb_ok "8 x $MB MiB at once, sha256 match, spread over both links ($d0 / $d1 packets)"

# ---- cut each link in the middle of downloads ------------------------------------
for L in 0 1; do
	name=$([ "$L" = 0 ] && echo dsl || echo lte)
	other=$([ "$L" = 0 ] && echo lte || echo dsl)
	fails=$(grep -c "path $name failed" "$TB_DIR/client.log")
	downloads 8 "cut$L" &
	dl=$!
	sleep 1
	tb_link_down "$L" || tb_fail "link $L down"
	tb_wait 10 sh -c "[ \$(grep -c 'path $name failed' '$TB_DIR/client.log') -gt $fails ]" ||
		tb_fail "path $name: failure not detected"
	wait "$dl" || { tail -20 "$TB_DIR/client.log"; tb_fail "downloads lost when link $L was cut"; }
	grep -q "path $name: its [0-9]* streams move to path $other" "$TB_DIR/client.log" ||
		tb_log "note: no streams were on $name when it failed"
	tb_ok "link $L cut during 8 downloads: failure detected, every download complete and correct"
	tb_link_up "$L" || tb_fail "link $L up"
	wait_state "$name" active 20 || { status; tb_fail "path $name did not come back"; }
	tb_ok "link $L restored: path $name reconnected and joined again"
done

# A new connection uses the restored paths again.
d0=$(down_pkts 0)
d1=$(down_pkts 1)
downloads 8 after || tb_fail "downloads after the cuts"
d0=$(($(down_pkts 0) - d0))
d1=$(($(down_pkts 1) - d1))
if [ "$d0" -le 100 ] || [ "$d1" -le 100 ]; then
	tb_fail "after the cuts, not spread over both links ($d0 / $d1 packets)"
fi
tb_ok "after both cuts: new connections use both paths again ($d0 / $d1 packets)"

# ---- flapping (MP_FLAP=1) --------------------------------------------------------------
if [ "${MP_FLAP:-0}" = 1 ]; then
	end=$(($(date +%s) + 60))
	(
		while [ "$(date +%s)" -lt "$end" ]; do
			tb_link_down 0
			sleep 2
			tb_link_up 0
			sleep 1
			tb_link_down 1
			sleep 2
			tb_link_up 1
			sleep 1
		done
	) &
	flap=$!
	n=0
	while [ "$(date +%s)" -lt "$end" ]; do
		downloads 4 "flap$n" || tb_fail "downloads lost while the links flapped"
		n=$((n + 1))
	done
	wait "$flap"
	tb_ok "both links flapping for 60 s: $n rounds of 4 downloads, all complete and correct"
fi

# ---- start-up with a dead path ------------------------------------------------------
tb_stop "$CLI" || tb_fail "client exit status"
tb_link_down 0 || tb_fail "link 0 down"
start_client client2.log
t0=$(date +%s.%N)
wait_state lte active 10 || { status; tb_fail "the session did not start on lte"; }
downloads 1 dead0 || tb_fail "download with link 0 dead"
t1=$(date +%s.%N)
tb_ok "start-up with link 0 dead: session on lte, first download done in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f s", b - a }')"
tb_link_up 0 || tb_fail "link 0 up"
wait_state dsl active 30 || { status; tb_fail "path dsl did not join after start-up"; }
tb_ok "link 0 restored: path dsl joined"

tb_stop "$CLI" || tb_fail "client exit status (ASan?)"
tb_stop "$CONC" || tb_fail "concentrator exit status (ASan?)"
tb_ok "both exit 0 on SIGTERM"
