#!/usr/bin/env bash
# The project's one test command: the format and lint checks, then every unit,
# integration and end-to-end test, on SQLite and on PostgreSQL, and the AWS adapters
# against moto's server. Extra arguments go to `cargo test` (and skip the lints), e.g.
#   infra/scripts/test.sh -p greenlight-tests --test api
# CARGO_TARGET_DIR is honoured when set.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "Rust toolchain"
if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "test.sh: cargo not found. Install a Rust toolchain (https://rustup.rs), then run this again." >&2
    exit 1
fi
cargo --version >&2

step "PostgreSQL at 127.0.0.1:5432"
bash infra/scripts/ensure-postgres.sh

step "Test tools: the AWS emulator (moto) at 127.0.0.1:5000, the Standard Webhooks library, cfn-lint, SAM CLI, schemathesis"
GREENLIGHT_TEST_PYTHON="$(bash infra/scripts/ensure-test-tools.sh)"
export GREENLIGHT_TEST_PYTHON
export GREENLIGHT_TEST_AWS_ENDPOINT="${GREENLIGHT_TEST_AWS_ENDPOINT:-http://127.0.0.1:5000}"

step "The dashboard's browser test: Debian's Chromium and playwright-core"
GREENLIGHT_TEST_CHROMIUM="$(bash infra/scripts/ensure-browser.sh)"
export GREENLIGHT_TEST_CHROMIUM

step "template.yaml: cfn-lint and sam validate --lint"
TOOLS="$(dirname "$GREENLIGHT_TEST_PYTHON")"
"$TOOLS/cfn-lint" template.yaml
SAM_CLI_TELEMETRY=0 "$TOOLS/sam" validate --lint --region us-east-1

step "Dropping leftover test databases (gl_test_*)"
# Every PostgreSQL test makes its own database; they are not dropped afterwards.
leftovers="$(psql -w -h 127.0.0.1 -U postgres -d postgres -Atc \
    "select datname from pg_database where datname like 'gl\_test\_%'" 2>/dev/null || true)"
dropped=0
for db in $leftovers; do
    [[ "$db" =~ ^gl_test_[A-Za-z0-9_]+$ ]] || continue
    if psql -w -h 127.0.0.1 -U postgres -d postgres -qAtc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1; then
        dropped=$((dropped + 1))
    fi
done
echo "dropped $dropped" >&2

step "Test database server"
export GREENLIGHT_TEST_DATABASE_URL="${GREENLIGHT_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# Shown without any password it may carry.
echo "GREENLIGHT_TEST_DATABASE_URL=$(printf '%s' "$GREENLIGHT_TEST_DATABASE_URL" | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#')" >&2

# The whole suite (no arguments) also holds the code to its format and lints; a run of
# a few tests does not, to stay quick.
if [ "$#" -eq 0 ]; then
    step "cargo fmt --check and cargo clippy -D warnings"
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
        echo "test.sh: rustfmt and clippy are needed (rustup component add rustfmt clippy)." >&2
        exit 1
    fi
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --locked -- -D warnings
fi

step "cargo test --workspace --locked $* (target: ${CARGO_TARGET_DIR:-target})"
exec cargo test --workspace --locked "$@"
