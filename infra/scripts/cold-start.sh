#!/usr/bin/env bash
# The Lambda functions' cold starts: process start to first answer, each binary started
# as Lambda starts it and fed its first event through a Lambda Runtime API loop
# (functions/aws/tests/runtime_loop.rs), on DynamoDB at the AWS emulator (moto). Runs it
# `runs` times (default 5) over the release binaries and prints, per function, the
# median and the range, with the binary's size.
#
#   infra/scripts/function-sizes.sh        # builds the release binaries first
#   infra/scripts/cold-start.sh 5
#
# It runs infra/scripts/test.sh, which builds the test itself (a debug build): on a
# shared machine run it under the cargo lock.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
dir=${GREENLIGHT_FUNCTIONS_DIR:-${CARGO_TARGET_DIR:-$PWD/functions/aws/target}/release}
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
for _ in $(seq "$runs"); do
    # The test prints "| name | size MB | ready ms | answered ms | rss MB |" per function.
    GREENLIGHT_FUNCTIONS_DIR=$dir infra/scripts/test.sh -p greenlight-functions \
        --test runtime_loop every_function_answers_its_sample_events_on_dynamodb \
        -- --exact --nocapture 2>/dev/null |
        grep -E '^\| [a-z-]+ \| [0-9.]+ MB \| [0-9]+ ms \| [0-9]+ ms \|' >>"$rows"
done
# The median and range of column `col` of function `f`'s rows.
median() {
    awk -v f="$1" -v c="$2" '$2 == f {print $c}' "$rows" | sort -n | awk '
        {v[NR] = $1}
        END {
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%s ms (%s-%s)", m, v[1], v[NR]
        }'
}
printf '| function | binary | start-up, median of %s (range) | cold start to the first answer, median of %s (range) |\n|---|---|---|---|\n' "$runs" "$runs"
for f in $(awk '{print $2}' "$rows" | sort -u); do
    size=$(awk -v f="$f" '$2 == f {print $4; exit}' "$rows")
    printf '| %s | %s MB | %s | %s |\n' "$f" "$size" "$(median "$f" 7)" "$(median "$f" 10)"
done
