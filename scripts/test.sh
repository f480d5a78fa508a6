#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. install dependencies (Debian packages only);
#   2. a Release build with gcc (-Werror) to prove the tree builds warning-free;
#   3. a clang build with AddressSanitizer + UndefinedBehaviorSanitizer and
#      the libFuzzer harnesses, in which ctest runs every test: unit tests,
#      CLI tests, bounded fuzzing, and the network-namespace tests (these
#      need root and are skipped, with a message, without it).
# CTest's summary is the last thing printed.
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
exec ctest --output-on-failure -j "$jobs" --timeout 600
