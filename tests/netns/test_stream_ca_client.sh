#!/usr/bin/env bash
# hatun client --ca: the client verifies the concentrator by a CA instead of
# a pinned fingerprint (issue 3, docs/QUIC.md "Authentication").  The name
# check: the concentrator's certificate must carry the --server host as a
# subjectAltName (here its IP address, 203.0.113.17, as an iPAddress SAN).
#   - a concentrator certificate signed by the CA for that address: up, curl
#     works, no --pin given;
#   - signed by the CA but for another address: refused, the log line names
#     the fingerprint and the name that did not match;
#   - signed by another CA: refused;
#   - --pin still works beside --ca (a self-signed concentrator).
# Root only (else SKIP, exit 77).
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
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
# sign DIR CA IP: DIR/hatun.crt becomes a server certificate for IP signed by CA.
sign() {
	printf 'cn = "concentrator"\ntls_www_server\nsigning_key\nip_address = "%s"\nexpiration_days = 2\n' \
		"$3" >"$TB_DIR/leaf.tmpl"
	certtool --generate-certificate --load-privkey "$1/hatun.key" \
		--load-ca-certificate "$TB_DIR/$2.crt" --load-ca-privkey "$TB_DIR/$2.key" \
		--template "$TB_DIR/leaf.tmpl" --outfile "$1/hatun.crt" 2>/dev/null
}
ca ca1 || tb_fail "certtool: CA"
ca ca2 || tb_fail "certtool: second CA"
mkdir -p "$TB_DIR/c" "$TB_DIR/good" "$TB_DIR/wrongname" "$TB_DIR/otherca" "$TB_DIR/self"
CFP=$("$HATUN" genkey "$TB_DIR/c") || tb_fail "genkey client"
GFP=$("$HATUN" genkey "$TB_DIR/good") && sign "$TB_DIR/good" ca1 "$TB_CONC_V4" || tb_fail "sign good"
WFP=$("$HATUN" genkey "$TB_DIR/wrongname") && sign "$TB_DIR/wrongname" ca1 203.0.113.99 ||
	tb_fail "sign wrongname"
OFP=$("$HATUN" genkey "$TB_DIR/otherca") && sign "$TB_DIR/otherca" ca2 "$TB_CONC_V4" || tb_fail "sign otherca"
SFP=$("$HATUN" genkey "$TB_DIR/self") || tb_fail "genkey self"
tb_bg --port tcp:8080 server python3 -m http.server --bind "$SV" 8080

conc() { # IDENTITY-DIR
	tb_bg --port udp:$PORT --log "$TB_DIR/conc-$1.log" concentrator "$HATUN" concentrator \
		--listen "$TB_CONC_V4:$PORT" --cert "$TB_DIR/$1/hatun.crt" --key "$TB_DIR/$1/hatun.key" \
		--allow "$CFP" --control "$TB_DIR/conc.sock"
	CONC_PID=$TB_LAST_PID
}
client() { # NAME client-options...
	local n=$1
	shift
	tb_bg --log "$TB_DIR/client-$n.log" client "$HATUN" client --server "$TB_CONC_V4:$PORT" \
		--cert "$TB_DIR/c/hatun.crt" --key "$TB_DIR/c/hatun.key" \
		-L "8001:$SV:8080" --control "$TB_DIR/client.sock" --ticket-file none "$@"
	CLIENT_PID=$TB_LAST_PID
}
stop() { kill "$@" 2>/dev/null; wait "$@" 2>/dev/null; }

conc good
client good --ca "$TB_DIR/ca1.crt"
tb_wait 10 grep -q "tunnel to .* up" "$TB_DIR/client-good.log" ||
	{ tb__tail "$TB_DIR/client-good.log"; tb_fail "CA-signed concentrator: no tunnel"; }
code=$(tb_exec client curl -sS -o /dev/null -w '%{http_code}' --max-time 10 http://127.0.0.1:8001/)
[ "$code" = 200 ] || tb_fail "CA-signed concentrator: HTTP '$code'"
# With no pin, 'hatun status' names the fingerprint the concentrator showed.
got=$("$HATUN" status --json --control "$TB_DIR/client.sock" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["connections"][0]["fingerprint"])')
[ "$got" = "$GFP" ] || tb_fail "status fingerprint '$got', expected $GFP"
tb_ok "concentrator certificate signed by the --ca CA for $TB_CONC_V4: up without --pin, HTTP $code"
stop "$CLIENT_PID"
# Resumption under --ca: the remembered chain and name are checked again.
client good-t1 --ca "$TB_DIR/ca1.crt" --ticket-file "$TB_DIR/c/ca.ticket"
tb_wait 10 test -s "$TB_DIR/c/ca.ticket" || tb_fail "--ca: no ticket saved"
stop "$CLIENT_PID"
client good-t2 --ca "$TB_DIR/ca1.crt" --ticket-file "$TB_DIR/c/ca.ticket"
tb_wait 10 grep -q "tunnel to .* up (alpn qt, 0-RTT accepted)" "$TB_DIR/client-good-t2.log" ||
	{ tb__tail "$TB_DIR/client-good-t2.log"; tb_fail "--ca: no resumption with 0-RTT"; }
tb_ok "--ca and a session ticket: the restarted client resumes with 0-RTT"
stop "$CLIENT_PID" "$CONC_PID"

for who in wrongname otherca; do
	fp=$WFP
	[ "$who" = otherca ] && fp=$OFP
	conc "$who"
	client "$who" --ca "$TB_DIR/ca1.crt"
	tb_wait 10 grep -q "refused server certificate $fp" "$TB_DIR/client-$who.log" ||
		{ tb__tail "$TB_DIR/client-$who.log"; tb_fail "$who: no refusal naming $fp"; }
	grep -q "tunnel to .* up" "$TB_DIR/client-$who.log" && tb_fail "$who: tunnel came up"
	line=$(grep -o "refused server certificate.*" "$TB_DIR/client-$who.log" | head -1)
	if [ "$who" = wrongname ]; then
		grep -q "name in the certificate does not match" <<<"$line" || tb_fail "wrongname: '$line'"
	else
		grep -q "signer\|issuer" <<<"$line" || tb_fail "otherca: '$line'"
	fi
	tb_ok "$who: ${line#refused server certificate sha256:}"
	stop "$CLIENT_PID" "$CONC_PID"
done

conc self
client self --ca "$TB_DIR/ca1.crt" --pin "$SFP"
tb_wait 10 grep -q "tunnel to .* up" "$TB_DIR/client-self.log" || tb_fail "--pin beside --ca: no tunnel"
tb_ok "--pin beside --ca: a pinned self-signed concentrator is accepted"
stop "$CLIENT_PID" "$CONC_PID"

out=$(tb_exec client "$HATUN" client --server "$TB_CONC_V4:$PORT" --cert "$TB_DIR/c/hatun.crt" \
	--key "$TB_DIR/c/hatun.key" -L "8001:$SV:8080" 2>&1)
rc=$?
[ "$rc" = 2 ] || tb_fail "neither --pin nor --ca: exit $rc ($out)"
tb_ok "neither --pin nor --ca: exit 2, '$(tail -1 <<<"$out")'"
tb_ok "stream client --ca test passed"
