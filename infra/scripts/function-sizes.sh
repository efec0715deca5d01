#!/usr/bin/env bash
# Builds the Lambda functions' release binaries as SAM does (from functions/aws, whose
# .cargo/config.toml sets the functions' release profile) and prints a table of their
# sizes. Release builds take minutes; on a shared machine run it under the cargo lock.
#
#   infra/scripts/function-sizes.sh           # x86_64 (this machine), cargo build --release
#   infra/scripts/function-sizes.sh --arm64   # as deployed: cargo lambda build --release --arm64
#                                             # (pip install cargo-lambda ziglang)
set -euo pipefail
cd "$(dirname "$0")/../../functions/aws"
target=${CARGO_TARGET_DIR:-target}
# The [[bin]] names of functions/aws/Cargo.toml.
bins=$(awk '/^\[\[bin\]\]/ {b = 1; next} b && /^name = / {gsub(/"/, "", $3); print $3; b = 0}' Cargo.toml)
if [ "${1:-}" = --arm64 ]; then
    cargo lambda build --release --arm64 --locked
    binary() { echo "$target/lambda/$1/bootstrap"; }
    arch=arm64
else
    cargo build --release --locked -p greenlight-functions
    binary() { echo "$target/release/$1"; }
    arch=$(uname -m)
fi
printf '| function | %s release binary |\n|---|---|\n' "$arch"
for b in $bins; do
    printf '| %s | %s MB |\n' "$b" "$(stat -c %s "$(binary "$b")" | awk '{printf "%.1f", $1 / 1e6}')"
done
