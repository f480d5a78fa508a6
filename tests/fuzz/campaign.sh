#!/usr/bin/env bash
# Long fuzzing campaign over every harness, for the record in
# docs/BENCHMARKS.md ("Fuzzing").
#   tests/fuzz/campaign.sh [SECONDS_EACH] [PARALLEL] [HARNESS...]
# Builds build/fuzz (clang, ASan+UBSan, libFuzzer), runs each harness for
# SECONDS_EACH (default 600) with PARALLEL (default: nproc) at a time, on a
# scratch corpus seeded from tests/fuzz/corpus/NAME, and prints one line per
# harness: name, seconds, executions, final corpus size, and crashes.
# Crash reproducers are kept in build/fuzz/campaign/NAME/.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-600}
par=${2:-$(nproc)}
shift $(( $# > 2 ? 2 : $# ))

cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	-DHATUN_SANITIZE=ON -DHATUN_FUZZ=ON >/dev/null
if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for f in tests/fuzz/fuzz_*.c; do
		f=${f##*/fuzz_}
		names+=("${f%.c}")
	done
fi
targets=()
for n in "${names[@]}"; do targets+=("fuzz_$n"); done
cmake --build build/fuzz -j"$(nproc)" --target "${targets[@]}" >/dev/null

run_one() {
	local n=$1 dir=build/fuzz/campaign/$1
	rm -rf "$dir" && mkdir -p "$dir/corpus"
	(cd "$dir" && ../../fuzz_"$n" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix=./ corpus \
		"$PWD/../../../../tests/fuzz/corpus/$n" >log 2>&1) || true
	local execs crashes corpus
	execs=$(awk '/stat::number_of_executed_units/{print $2}' "$dir/log")
	corpus=$(find "$dir/corpus" -type f | wc -l)
	crashes=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
		-o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
	printf '%-12s %6ss %12s execs %6s corpus %3s findings\n' "$n" "$secs" "${execs:-?}" \
		"$corpus" "$crashes"
}

export -f run_one
export secs
printf '%s\n' "${names[@]}" | xargs -P "$par" -I{} bash -c 'run_one {}'
