#!/usr/bin/env bash
# Every shell script in the tree passes shellcheck (warnings and errors;
# style notes are left to the author).  Skipped (77) without shellcheck.
set -u
cd "$(dirname "$0")/../.." || exit 1
command -v shellcheck >/dev/null || { echo "SKIP: shellcheck not installed"; exit 77; }
mapfile -t files < <(git ls-files '*.sh' .ci/run 2>/dev/null || find . -name '*.sh' -not -path './build/*')
[ ${#files[@]} -gt 0 ] || { echo "no scripts found"; exit 1; }
if shellcheck -x --severity=warning "${files[@]}"; then
	echo "shellcheck: ${#files[@]} scripts clean"
else
	exit 1
fi
