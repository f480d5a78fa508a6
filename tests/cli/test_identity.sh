#!/usr/bin/env bash
# hatun genkey / fingerprint: files, modes, refusal to overwrite, and the
# fingerprint checked against an independent tool (GnuTLS certtool's
# "Public Key ID" sha256, i.e. SHA-256 over the SubjectPublicKeyInfo).
set -u
hatun=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
check() { if eval "$1"; then echo "ok: $2"; else echo "FAIL: $2"; fail=1; fi; }

fp=$("$hatun" genkey "$dir"); rc=$?
check '[ $rc = 0 ]' "genkey exits 0"
check '[[ $fp =~ ^sha256:[0-9a-f]{64}$ ]]' "genkey prints sha256:<64 hex> ($fp)"
check '[ "$(stat -c %a "$dir/hatun.key")" = 600 ]' "key file is mode 0600"
check '[ -s "$dir/hatun.crt" ]' "certificate written"
check '[ "$("$hatun" fingerprint "$dir/hatun.crt")" = "$fp" ]' "fingerprint CERT prints the same value"

if command -v certtool >/dev/null; then
	want=$(certtool --certificate-info --infile "$dir/hatun.crt" 2>/dev/null |
		awk '/Public Key ID:/{f=1;next} f && /sha256:/{print $1; exit}')
	check '[ "$want" = "$fp" ]' "certtool agrees ($want)"
	keyid=$(certtool -k --infile "$dir/hatun.key" 2>/dev/null |
		awk '/Public Key ID:/{f=1;next} f && /sha256:/{print $1; exit}')
	check '[ "$keyid" = "$fp" ]' "the private key matches the certificate"
else
	echo "note: certtool (gnutls-bin) not installed, independent check skipped"
fi

"$hatun" genkey "$dir" 2>"$dir/err"; rc=$?
check '[ $rc = 1 ] && grep -q "use --force" "$dir/err" && [ $(wc -l <"$dir/err") = 1 ]' \
	"genkey refuses to overwrite, one line"
fp2=$("$hatun" genkey --force "$dir")
check '[ "$fp2" != "$fp" ] && [ "$("$hatun" fingerprint "$dir/hatun.crt")" = "$fp2" ]' \
	"genkey --force makes a new identity"

"$hatun" genkey "$dir/nonexistent" 2>/dev/null; rc=$?
check '[ $rc = 2 ]' "genkey on a missing directory exits 2"
"$hatun" genkey 2>/dev/null; rc=$?
check '[ $rc = 2 ]' "genkey without DIR exits 2"
echo junk >"$dir/junk.pem"
"$hatun" fingerprint "$dir/junk.pem" 2>"$dir/err"; rc=$?
check '[ $rc = 1 ] && grep -q "not a certificate" "$dir/err"' "fingerprint of junk fails clearly"
"$hatun" fingerprint "$dir/missing.pem" 2>/dev/null; rc=$?
check '[ $rc = 1 ]' "fingerprint of a missing file fails"
exit $fail
