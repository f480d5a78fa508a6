#!/usr/bin/env bash
# Run one libFuzzer harness for a bounded time on a scratch copy of its seed
# corpus (the seeds in the tree are never modified).  Used by ctest; a crash
# leaves its reproducer as ./crash-* in the build directory.
#   run-fuzzer.sh HARNESS CORPUS_DIR SECONDS
set -euo pipefail
harness=$1 corpus=$2 secs=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$harness" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix=./ "$work" "$corpus"
