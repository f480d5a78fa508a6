#!/usr/bin/env bash
# hatun concentrator --allow-ca: the PKI alternative to pinned client
# fingerprints (issue 3).  A CA made with GnuTLS certtool signs one client's
# key; that client gets through with no --allow entry, a self-signed client
# and a client signed by another CA are refused with a log line naming their
# fingerprint and the reason; a bad CA file is refused at start.
set -u
. "${HATUN_SOURCE_DIR:-$(dirname "$0")/../..}/tests/netns/lib.sh"
tb_require_root
tb_require_cmd certtool curl python3
HATUN=${HATUN_BUILD_DIR:-build}/src/cli/hatun
[ -x "$HATUN" ] || tb_skip "no hatun binary at $HATUN"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
tb_init
tb_topology_standard --no-linkem
PORT=4433 SV=$TB_SERVER_V4

# ca NAME: a CA key + self-signed CA certificate in $TB_DIR/NAME.
ca() {
	printf 'cn = "hatun test %s"\nca\ncert_signing_key\nexpiration_days = 2\n' "$1" >"$TB_DIR/$1.tmpl"
	certtool --generate-privkey --key-type=ecdsa --outfile "$TB_DIR/$1.key" 2>/dev/null &&
		certtool --generate-self-signed --load-privkey "$TB_DIR/$1.key" \
			--template "$TB_DIR/$1.tmpl" --outfile "$TB_DIR/$1.crt" 2>/dev/null
}
# sign DIR CA: replace DIR/hatun.crt by a certificate for DIR/hatun.key signed by CA.
sign() {
	printf 'cn = "client"\ntls_www_client\nsigning_key\nexpiration_days = 2\n' >"$TB_DIR/leaf.tmpl"
	certtool --generate-certificate --load-privkey "$1/hatun.key" \
		--load-ca-certificate "$TB_DIR/$2.crt" --load-ca-privkey "$TB_DIR/$2.key" \
		--template "$TB_DIR/leaf.tmpl" --outfile "$1/hatun.crt" 2>/dev/null
}
ca ca1 || tb_fail "certtool: CA"
ca ca2 || tb_fail "certtool: second CA"
mkdir -p "$TB_DIR/s" "$TB_DIR/good" "$TB_DIR/other" "$TB_DIR/self"
SFP=$("$HATUN" genkey "$TB_DIR/s") || tb_fail "genkey concentrator"
GFP=$("$HATUN" genkey "$TB_DIR/good") && sign "$TB_DIR/good" ca1 || tb_fail "signing the good client"
OFP=$("$HATUN" genkey "$TB_DIR/other") && sign "$TB_DIR/other" ca2 || tb_fail "signing the other client"
SELF=$("$HATUN" genkey "$TB_DIR/self") || tb_fail "genkey self-signed client"
[ "$("$HATUN" fingerprint "$TB_DIR/good/hatun.crt")" = "$GFP" ] ||
	tb_fail "a CA-signed certificate must keep the key's fingerprint"

# A bad CA file is refused before anything starts.
echo junk >"$TB_DIR/junk.pem"
out=$(tb_exec concentrator "$HATUN" concentrator --listen "$TB_CONC_V4:$PORT" \
	--cert "$TB_DIR/s/hatun.crt" --key "$TB_DIR/s/hatun.key" --allow-ca "$TB_DIR/junk.pem" 2>&1)
rc=$?
[ "$rc" != 0 ] && grep -q "junk.pem" <<<"$out" || tb_fail "a junk --allow-ca file: rc $rc, '$out'"
tb_ok "a CA file without a certificate is refused at start: $(tail -1 <<<"$out" | cut -c1-90)"

tb_bg --port tcp:8080 server python3 -m http.server --bind "$SV" 8080
tb_bg --port udp:$PORT --log "$TB_DIR/conc.log" concentrator "$HATUN" concentrator \
	--listen "$TB_CONC_V4:$PORT" --cert "$TB_DIR/s/hatun.crt" --key "$TB_DIR/s/hatun.key" \
	--allow-ca "$TB_DIR/ca1.crt" --control "$TB_DIR/conc.sock"

# client NAME LPORT: start a client with identity NAME and an -L on LPORT.
client() {
	tb_bg --log "$TB_DIR/$1.log" client "$HATUN" client --server "$TB_CONC_V4:$PORT" \
		--pin "$SFP" --cert "$TB_DIR/$1/hatun.crt" --key "$TB_DIR/$1/hatun.key" \
		-L "$2:$SV:8080" --control "$TB_DIR/$1.sock"
}
client good 8001
tb_wait 10 grep -q "tunnel to .* up" "$TB_DIR/good.log" || tb_fail "CA-signed client: no tunnel"
code=$(tb_exec client curl -sS -o /dev/null -w '%{http_code}' --max-time 10 http://127.0.0.1:8001/)
[ "$code" = 200 ] || tb_fail "CA-signed client: HTTP '$code'"
tb_ok "a client signed by the --allow-ca CA gets through with no --allow entry (HTTP $code)"

for who in self other; do
	fp=$SELF
	[ "$who" = other ] && fp=$OFP
	client "$who" 8002
	tb_wait 10 grep -q "refused client certificate $fp" "$TB_DIR/conc.log" ||
		tb_fail "$who: no refusal naming $fp in the concentrator log"
	grep -q "tunnel to .* up" "$TB_DIR/$who.log" && tb_fail "$who: tunnel came up"
	tb_ok "$who-signed client refused: $(grep "refused client certificate $fp" "$TB_DIR/conc.log" |
		head -1 | sed 's/.*refused/refused/' | cut -c1-120)"
	tb_stop "$TB_LAST_PID"
done
tb_cleanup
echo "PASS: test_stream_ca"
