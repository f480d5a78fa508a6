#!/usr/bin/env bash
# The CLI contract: --help exits 0 on stdout; unknown flags, commands and
# arguments print one line naming the offender on stderr and exit 2.
set -u
hatun=$1
fail=0

expect() { # expect CODE PATTERN -- ARGS...
	local want=$1 pat=$2; shift 3
	local out rc
	out=$("$hatun" "$@" 2>&1); rc=$?
	if [ "$rc" != "$want" ] || ! grep -qE -- "$pat" <<<"$out"; then
		echo "FAIL: hatun $* -> rc=$rc (want $want), output: $out"
		fail=1
	else
		echo "ok: hatun $* -> $rc"
	fi
}
one_line() { # the error must be exactly one line
	local n
	n=$("$hatun" "$@" 2>&1 >/dev/null | wc -l)
	if [ "$n" != 1 ]; then echo "FAIL: hatun $* printed $n error lines"; fail=1; fi
}

expect 0 '^usage: hatun' -- --help
expect 0 'version' -- help
expect 0 '^hatun [0-9]+\.[0-9]+\.[0-9]+' -- version
expect 0 '^hatun [0-9]' -- --version
expect 0 '^usage: hatun version' -- version --help
expect 2 "unknown command 'frobnicate'" -- frobnicate
expect 2 "unknown option '--bogus'" -- --bogus
expect 2 "unknown option '--bogus'" -- version --bogus
expect 2 "unexpected argument 'extra'" -- version extra
expect 2 'usage' --
one_line frobnicate
one_line version --bogus
exit $fail
