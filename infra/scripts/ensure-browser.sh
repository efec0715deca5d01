#!/usr/bin/env bash
# What the dashboard's browser test needs: Debian's Chromium (headless) and
# playwright-core, which drives it, in tests/browser/node_modules (pinned by its
# package-lock.json). Installs what is missing; Chromium needs apt and root (or sudo).
# Prints Chromium's path for GREENLIGHT_TEST_CHROMIUM on stdout.
set -euo pipefail

cd "$(dirname "$0")/../.."
log() { echo "ensure-browser: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}

chromium="${GREENLIGHT_TEST_CHROMIUM:-}"
if [ -z "$chromium" ]; then
    chromium="$(command -v chromium || command -v chromium-browser || true)"
fi
if [ -z "$chromium" ]; then
    command -v apt-get >/dev/null 2>&1 || die "Chromium is missing and there is no apt-get; install Chromium and set GREENLIGHT_TEST_CHROMIUM"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    log "installing Debian's chromium (a minute or two)"
    $sudo apt-get install -y -q chromium >/dev/null ||
        { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium >/dev/null; } ||
        die "apt-get could not install chromium"
    chromium="$(command -v chromium)"
fi

command -v npm >/dev/null 2>&1 || die "npm is needed for playwright-core (Debian: apt-get install nodejs npm)"
if [ ! -d tests/browser/node_modules/playwright-core ]; then
    log "installing playwright-core into tests/browser"
    npm ci --prefix tests/browser --no-audit --no-fund --silent >&2 || die "npm could not install playwright-core"
fi
echo "$chromium"
