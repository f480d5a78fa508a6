#!/usr/bin/env bash
# hatun genkey / fingerprint: files, modes, refusal to overwrite, and the
# fingerprint checked against an independent tool (GnuTLS certtool's
# "Public Key ID" sha256, i.e. SHA-256 over the SubjectPublicKeyInfo).
set -u
hatun=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
# check MESSAGE COMMAND...: the command's status decides.
check() {
	local msg=$1; shift
	if "$@"; then echo "ok: $msg"; else echo "FAIL: $msg"; fail=1; fi
}
# certtool's "Public Key ID" sha256 line of a certificate (-i) or key (-k).
certtool_keyid() {
	certtool "$1" --infile "$2" 2>/dev/null |
		awk '/Public Key ID:/{f=1;next} f && /sha256:/{print $1; exit}'
}

fp=$("$hatun" genkey "$dir"); rc=$?
check "genkey exits 0" test "$rc" = 0
check "genkey prints sha256:<64 hex> ($fp)" grep -qE '^sha256:[0-9a-f]{64}$' <<<"$fp"
check "key file is mode 0600" test "$(stat -c %a "$dir/hatun.key")" = 600
check "certificate written" test -s "$dir/hatun.crt"
check "fingerprint CERT prints the same value" \
	test "$("$hatun" fingerprint "$dir/hatun.crt")" = "$fp"

if command -v certtool >/dev/null; then
	want=$(certtool_keyid -i "$dir/hatun.crt")
	check "certtool agrees ($want)" test "$want" = "$fp"
	check "the private key matches the certificate" \
		test "$(certtool_keyid -k "$dir/hatun.key")" = "$fp"
else
	echo "note: certtool (gnutls-bin) not installed, independent check skipped"
fi

"$hatun" genkey "$dir" 2>"$dir/err"; rc=$?
check "genkey refuses to overwrite" test "$rc" = 1
check "... saying to use --force, in one line" \
	test "$(grep -c 'use --force' "$dir/err")/$(wc -l <"$dir/err")" = 1/1
fp2=$("$hatun" genkey --force "$dir")
check "genkey --force makes a new identity" test "$fp2" != "$fp"
check "... and fingerprint reads it" test "$("$hatun" fingerprint "$dir/hatun.crt")" = "$fp2"

"$hatun" genkey "$dir/nonexistent" 2>/dev/null; rc=$?
check "genkey on a missing directory exits 2" test "$rc" = 2
"$hatun" genkey 2>/dev/null; rc=$?
check "genkey without DIR exits 2" test "$rc" = 2
echo junk >"$dir/junk.pem"
"$hatun" fingerprint "$dir/junk.pem" 2>"$dir/err"; rc=$?
check "fingerprint of junk exits 1" test "$rc" = 1
check "... saying it is not a certificate" grep -q "not a certificate" "$dir/err"
"$hatun" fingerprint "$dir/missing.pem" 2>/dev/null; rc=$?
check "fingerprint of a missing file exits 1" test "$rc" = 1
exit $fail
