#!/usr/bin/env bash
# Builds the Lambda functions' release binaries as SAM does (from functions/aws, whose
# .cargo/config.toml sets the functions' release profile) and prints a table of their
# sizes. Release builds take minutes; on a shared machine run it under the cargo lock.
#
#   infra/scripts/function-sizes.sh           # x86_64 (this machine), cargo build --release
#   infra/scripts/function-sizes.sh --arm64   # as deployed: cargo lambda build --release --arm64
#                                             # (pip install cargo-lambda ziglang;
#                                             #  rustup target add aarch64-unknown-linux-gnu)
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
# The SDK clients a binary links, read off the source paths its panic messages carry
# (they survive stripping): each function's main names the AWS services it calls
# (run::lambda::Calls), and the linker leaves the others out.
sdks() {
    strings -n 8 "$1" | grep -oE 'aws-sdk-[a-z0-9]+-[0-9]+\.[0-9]+' |
        sed -E 's/^aws-sdk-//; s/-[0-9]+\.[0-9]+$//' | sort -u | paste -sd, - | sed 's/,/, /g'
}
printf '| function | %s release binary | AWS SDK clients linked |\n|---|---|---|\n' "$arch"
for b in $bins; do
    printf '| %s | %s MB | %s |\n' "$b" \
        "$(stat -c %s "$(binary "$b")" | awk '{printf "%.1f", $1 / 1e6}')" "$(sdks "$(binary "$b")")"
done
