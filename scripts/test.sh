#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. install dependencies (Debian packages only);
#   2. a Release build with gcc (-Werror) to prove the tree builds warning-free;
#   3. a clang build with AddressSanitizer + UndefinedBehaviorSanitizer and
#      the libFuzzer harnesses, in which ctest runs every test: unit tests,
#      CLI tests, bounded fuzzing, and the network-namespace tests (these
#      need root and are skipped, with a message, without it).
# CTest's summary is the last thing printed.  A failed network-namespace test
# gets one more run alone (see the end), and is named as flaky.
#   HATUN_FUZZ_SECONDS=N  seconds per fuzz harness (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/install-deps.sh

echo "== Release build (gcc)"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc >/dev/null
cmake --build build/release -j "$jobs" >/dev/null

echo "== ASan+UBSan build (clang) with fuzz harnesses"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	-DHATUN_SANITIZE=ON -DHATUN_FUZZ=ON \
	-DHATUN_FUZZ_SECONDS="${HATUN_FUZZ_SECONDS:-15}" >/dev/null
cmake --build build/asan -j "$jobs" >/dev/null

cd build/asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if ctest --output-on-failure -j "$jobs" --timeout 600; then
	exit 0
fi
# A network-namespace test that fails once on a loaded machine is run once
# more, alone, and named as flaky either way: those tests drive real kernels,
# real tools and timers (the kernel's MPTCP has its own rare data corruption,
# docs/protocol/convert.md), and one miss must not hide the rest of the
# result.  A unit, CLI, lint or fuzz failure is never rerun.
failed=Testing/Temporary/LastTestsFailed.log
if [ ! -s "$failed" ] || grep -qv ':netns\.' "$failed"; then
	exit 1
fi
echo "== FLAKY? these network-namespace tests failed; running them once more, alone:"
sed 's/^[0-9]*:/   /' "$failed"
exec ctest --rerun-failed --output-on-failure --timeout 600
