#!/usr/bin/env bash
# hatun client --transport convert --path ... --mptcp-endpoints (issue 6):
# hatun sets up the kernel's MPTCP path manager itself.  Standard testbed,
# no linkem; `hatun converter` in the concentrator namespace; the client
# namespace starts with NO endpoint and limits 0 / 0.
#   - usage: --path without --mptcp-endpoints -> exit 2 with the hint;
#   - without CAP_NET_ADMIN (capsh, if present) -> exit 1, "needs
#     CAP_NET_ADMIN", nothing left behind;
#   - --path src=WAN0 --path src=WAN1 --mptcp-endpoints: the endpoint
#     "WAN1 ... subflow" listed by `ip mptcp endpoint show` with the id
#     the log names, limits raised to 1 / 1; CONVERT_MB MiB through -L
#     with SHA-256, both access links carrying the download (nft counters
#     on the access routers) and the converter seeing 2 client subflows;
#     SIGTERM -> exit 0, endpoint gone, limits back to 0 / 0;
#   - an endpoint that existed before (WAN1 subflow, added with `ip
#     mptcp`), options from a config file (path = ..., mptcp-endpoints):
#     kept, logged as existing; a download on both links; after SIGTERM
#     still there, limits back to 0 / 0;
#   - --path src=WAN1 first although the default route leaves by wan0:
#     the converter sees the connection from WAN1 (hatun binds to the
#     first path's address), WAN0 is the endpoint, both links carry it;
#   - the mixed mode (--server + --converter --transport convert, the
#     --paths the tunnel's too): the same endpoint set-up and clean-up, a
#     download through the converter on 2 subflows.
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
tb_require_cmd python3 curl sha256sum nft
HATUN=${HATUN_BUILD_DIR:-build}/src/cli/hatun
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
MB=${CONVERT_MB:-16}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
CONV=$TB_CONC_V4
SRV=$TB_SERVER_V4
WAN0=$TB_CLIENT_WAN0_V4
WAN1=$TB_CLIENT_WAN1_V4

tb_init
tb_topology_standard --no-linkem
tb_mptcp_tfo
# The converter's side accepts the joins; the client's side starts bare.
tb_exec concentrator ip mptcp limits set subflows 2 add_addr_accepted 2 || tb_fail "converter limits"
tb_exec client ip mptcp endpoint flush || tb_fail "endpoint flush"
tb_exec client ip mptcp limits set subflows 0 add_addr_accepted 0 || tb_fail "client limits"

mkdir -p "$TB_DIR/www"
head -c $((MB * 1024 * 1024)) /dev/urandom >"$TB_DIR/www/big.bin"
sum=$(sha256sum <"$TB_DIR/www/big.bin" | cut -d' ' -f1)
tb_bg --port tcp:8080 server python3 -m http.server -d "$TB_DIR/www" -b "$SRV" 8080
tb_bg --port tcp:5124 concentrator "$HATUN" converter --listen "$CONV:5124"
CPID=$TB_LAST_PID CLOG=$TB_LAST_LOG

eps() { tb_exec client ip mptcp endpoint show; }
limits() { tb_exec client ip mptcp limits show | tr -s ' \n' ' ' | sed 's/ $//'; }
[ -z "$(eps)" ] && [ "$(limits)" = "add_addr_accepted 0 subflows 0" ] \
	|| tb_fail "client namespace not bare: $(eps) / $(limits)"

# ---- refusals: usage, no CAP_NET_ADMIN ------------------------------------------------------
out=$(tb_exec client "$HATUN" client --transport convert --converter "$CONV:5124" \
	-L "127.0.0.1:8001:$SRV:8080" --path "src=$WAN0" --path "src=$WAN1" 2>&1)
rc=$?
[ "$rc" = 2 ] && grep -q "add --mptcp-endpoints" <<<"$out" \
	|| tb_fail "--path without --mptcp-endpoints: exit $rc: $out"
tb_ok "--path without --mptcp-endpoints: usage error (exit 2): $out"
if command -v capsh >/dev/null; then
	out=$(tb_exec client capsh --drop=cap_net_admin -- -c "exec '$HATUN' client --transport convert \
		--converter '$CONV:5124' -L '127.0.0.1:8001:$SRV:8080' --path 'src=$WAN0' \
		--path 'src=$WAN1' --mptcp-endpoints" 2>&1)
	rc=$?
	[ "$rc" = 1 ] && grep -q "needs CAP_NET_ADMIN" <<<"$out" \
		|| tb_fail "without CAP_NET_ADMIN: exit $rc: $out"
	[ -z "$(eps)" ] && [ "$(limits)" = "add_addr_accepted 0 subflows 0" ] \
		|| tb_fail "without CAP_NET_ADMIN: left behind: $(eps) / $(limits)"
	tb_ok "without CAP_NET_ADMIN: exit 1: $out"
else
	tb_log "skip the CAP_NET_ADMIN check: no capsh"
fi

# ---- a download over both links: counters, SHA-256, subflows -----------------------------
# 100 Mbit/s per access link: one link alone is not enough for the
# download to end before the second subflow joins.
tb_link_rate 0 100
tb_link_rate 1 100
share_ok() { # A B MIN: both at least MIN and within 5x of each other
	[ "$1" -ge "$3" ] && [ "$2" -ge "$3" ] && [ $(($1 * 5)) -ge "$2" ] && [ $(($2 * 5)) -ge "$1" ]
}
# download NAME: through -L 127.0.0.1:8001; sets D0 D1 (packets down per link).
download() {
	local before after
	before=$(tb_link_counters)
	TB_TIMEOUT=$((60 + MB)) tb_exec client curl -sS --max-time $((30 + MB)) \
		-o "$TB_DIR/$1.recv" "http://127.0.0.1:8001/big.bin" || tb_fail "$1: download"
	after=$(tb_link_counters)
	[ "$(sha256sum <"$TB_DIR/$1.recv" | cut -d' ' -f1)" = "$sum" ] || tb_fail "$1: SHA-256 differs"
	read -r _ D0 _ D1 <<<"$(paste <(tr ' ' '\n' <<<"$after") <(tr ' ' '\n' <<<"$before") \
		| awk 'NF == 2 {printf "%d ", $1 - $2}')"
	# GRO makes a download's packets few and large (~900 per link for 32 MiB).
	share_ok "$D0" "$D1" 50 || tb_fail "$1: one access link carried (almost) nothing: $D0 / $D1 packets"
}
# stop PID: SIGTERM, exit status 0 within 10 s.
stop() {
	local rc
	kill -TERM "$1"
	tb_wait 10 bash -c "! kill -0 $1 2>/dev/null" || tb_fail "no exit 10 s after SIGTERM"
	wait "$1"
	rc=$?
	[ "$rc" = 0 ] || tb_fail "exit status $rc after SIGTERM"
}

tb_bg --port tcp:8001 client "$HATUN" client --transport convert --converter "$CONV:5124" \
	-L "127.0.0.1:8001:$SRV:8080" --path "src=$WAN0" --path "src=$WAN1" --mptcp-endpoints
KPID=$TB_LAST_PID KLOG=$TB_LAST_LOG
id=$(sed -n "s/.*mptcp: endpoint $WAN1 subflow added (id \([0-9]*\))$/\1/p" "$KLOG")
[ -n "$id" ] || tb_fail "no 'endpoint $WAN1 subflow added' line: $(cat "$KLOG")"
eps | grep -q "^$WAN1 id $id subflow" || tb_fail "ip mptcp endpoint show: $(eps)"
[ "$(limits)" = "add_addr_accepted 1 subflows 1" ] || tb_fail "limits not raised: $(limits)"
grep -q "mptcp: limits raised: subflows 0 -> 1, add_addr_accepted 0 -> 1" "$KLOG" \
	|| tb_fail "no 'limits raised' line: $(cat "$KLOG")"
tb_ok "started: endpoint '$(eps | head -n 1)', limits '$(limits)'"
download first
tb_wait 5 grep -q "8080: closed.*client subflows 2" "$CLOG" \
	|| tb_fail "first: the converter saw no connection with 2 client subflows: $(grep closed "$CLOG")"
tb_ok "$MB MiB through -L + converter, SHA-256 matches, 2 client subflows, packets down access0 $D0, access1 $D1"
stop "$KPID"
[ -z "$(eps)" ] || tb_fail "endpoint left after exit: $(eps)"
[ "$(limits)" = "add_addr_accepted 0 subflows 0" ] || tb_fail "limits not restored: $(limits)"
grep -q "mptcp: endpoint $WAN1 removed (id $id)" "$KLOG" && grep -q "mptcp: limits restored: subflows 0, add_addr_accepted 0" "$KLOG" \
	|| tb_fail "no removal / restore lines: $(cat "$KLOG")"
tb_ok "SIGTERM: exit 0, endpoint removed, limits back to 0 / 0"

# ---- an endpoint that was there before: kept; options from a config file ------------------
tb_exec client ip mptcp endpoint add "$WAN1" dev wan1 subflow || tb_fail "ip mptcp endpoint add"
before_ep=$(eps)
cat >"$TB_DIR/client.conf" <<EOF
transport = convert
converter = $CONV:5124
forward = 127.0.0.1:8001:$SRV:8080
path = src=$WAN0
path = src=$WAN1,dev=wan1
mptcp-endpoints
EOF
tb_bg --port tcp:8001 client "$HATUN" client -c "$TB_DIR/client.conf"
KPID=$TB_LAST_PID KLOG=$TB_LAST_LOG
grep -q "mptcp: endpoint $WAN1 dev wan1 exists already (id [0-9]*, subflow), kept as it is" "$KLOG" \
	|| tb_fail "existing endpoint not reported: $(cat "$KLOG")"
[ "$(limits)" = "add_addr_accepted 1 subflows 1" ] || tb_fail "config file: limits not raised: $(limits)"
download second
stop "$KPID"
[ "$(eps)" = "$before_ep" ] || tb_fail "the existing endpoint changed: '$(eps)' (was '$before_ep')"
[ "$(limits)" = "add_addr_accepted 0 subflows 0" ] || tb_fail "config file: limits not restored: $(limits)"
tb_ok "existing endpoint kept (before and after), config file keys path / mptcp-endpoints, download on both links ($D0 / $D1 packets), limits restored"

# ---- the first --path is the initial subflow's source, even against the routes -------------
# The main table's default route leaves by wan0; with WAN1 first, hatun
# binds the connections to WAN1 (the initial subflow leaves by wan1) and
# WAN0 becomes the endpoint.
tb_exec client ip mptcp endpoint flush || tb_fail "endpoint flush"
tb_bg --port tcp:8001 client "$HATUN" client --transport convert --converter "$CONV:5124" \
	-L "127.0.0.1:8001:$SRV:8080" --path "src=$WAN1" --path "src=$WAN0" --mptcp-endpoints
KPID=$TB_LAST_PID KLOG=$TB_LAST_LOG
eps | grep -q "^$WAN0 id [0-9]* subflow" || tb_fail "reversed: ip mptcp endpoint show: $(eps)"
n1=$(grep -c "^.* $WAN1:[0-9]* -> $SRV:8080: open" "$CLOG")
download third
n2=$(grep -c "^.* $WAN1:[0-9]* -> $SRV:8080: open" "$CLOG")
[ "$n2" -gt "$n1" ] || tb_fail "reversed: the converter saw no connection from $WAN1: $(grep -- "-> $SRV:8080: open" "$CLOG" | tail -n 2)"
tb_wait 5 bash -c "[ \$(grep -c '8080: closed.*client subflows 2' '$CLOG') -ge 3 ]" \
	|| tb_fail "reversed: no second subflow: $(grep closed "$CLOG" | tail -n 1)"
stop "$KPID"
[ -z "$(eps)" ] && [ "$(limits)" = "add_addr_accepted 0 subflows 0" ] \
	|| tb_fail "reversed: left behind: $(eps) / $(limits)"
tb_ok "--path src=$WAN1 first: connections from $WAN1 (bound), endpoint $WAN0, download on both links ($D0 / $D1 packets), 2 subflows, cleaned up"

# ---- the mixed mode: a QUIC tunnel (its --paths) and the converter ----------------------
# `--transport convert` with --server: every destination goes through the
# converter; the --paths are the tunnel's and, with --mptcp-endpoints,
# the converter connections' too.
mkdir -p "$TB_DIR/c" "$TB_DIR/s"
"$HATUN" genkey "$TB_DIR/c" >/dev/null || tb_fail "genkey client"
SFP=$("$HATUN" genkey "$TB_DIR/s") || tb_fail "genkey concentrator"
CFP=$("$HATUN" fingerprint "$TB_DIR/c/hatun.crt") || tb_fail "fingerprint client"
tb_bg concentrator "$HATUN" concentrator --listen "$CONV:4433" --cert "$TB_DIR/s/hatun.crt" \
	--key "$TB_DIR/s/hatun.key" --allow "$CFP"
QCPID=$TB_LAST_PID
tb_bg --port tcp:8001 client "$HATUN" client --server "$CONV:4433" --pin "$SFP" \
	--cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" --converter "$CONV:5124" \
	--transport convert -L "127.0.0.1:8001:$SRV:8080" --path "src=$WAN0" --path "src=$WAN1" \
	--mptcp-endpoints
KPID=$TB_LAST_PID KLOG=$TB_LAST_LOG
eps | grep -q "^$WAN1 id [0-9]* subflow" || tb_fail "mixed: ip mptcp endpoint show: $(eps)"
[ "$(limits)" = "add_addr_accepted 1 subflows 1" ] || tb_fail "mixed: limits not raised: $(limits)"
n1=$(grep -c "8080: closed.*client subflows 2" "$CLOG")
download fourth
tb_wait 5 bash -c "[ \$(grep -c '8080: closed.*client subflows 2' '$CLOG') -gt $n1 ]" \
	|| tb_fail "mixed: not through the converter on 2 subflows: $(grep closed "$CLOG" | tail -n 1)"
stop "$KPID"
[ -z "$(eps)" ] && [ "$(limits)" = "add_addr_accepted 0 subflows 0" ] \
	|| tb_fail "mixed: left behind: $(eps) / $(limits)"
stop "$QCPID"
tb_ok "mixed mode (--server + --converter): endpoint + limits, download through the converter on both links ($D0 / $D1 packets), 2 subflows, cleaned up"

stop "$CPID"
grep -l "AddressSanitizer\|LeakSanitizer\|runtime error" "$TB_DIR"/*.log && tb_fail "sanitizer report"
tb_ok "convert_mptcp_endpoints"
