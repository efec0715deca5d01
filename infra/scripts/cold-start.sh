#!/usr/bin/env bash
# The Lambda functions' cold starts: process start to first answer, each binary started
# as Lambda starts it and fed its first event through a Lambda Runtime API loop
# (functions/aws/tests/runtime_loop.rs), on the store and the AWS emulator that test
# uses. Runs it `runs` times (default 5) over the release binaries and prints, per
# function, the median and the range, with the binary's size.
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
    # The test prints "| name | size MB | cold ms | rss MB |" per function.
    GREENLIGHT_FUNCTIONS_DIR=$dir infra/scripts/test.sh -p greenlight-functions \
        --test runtime_loop -- --nocapture 2>/dev/null |
        grep -E '^\| [a-z-]+ \| [0-9.]+ MB \| [0-9]+ ms \|' >>"$rows"
done
printf '| function | binary | cold start, median of %s | range |\n|---|---|---|---|\n' "$runs"
for f in $(awk '{print $2}' "$rows" | sort -u); do
    awk -v f="$f" '$2 == f {print $7}' "$rows" | sort -n | awk -v f="$f" \
        -v size="$(awk -v f="$f" '$2 == f {print $4; exit}' "$rows")" '
        {v[NR] = $1}
        END {
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "| %s | %s MB | %s ms | %s-%s ms |\n", f, size, m, v[1], v[NR]
        }'
done
