#!/usr/bin/env bash
# Makes sure the local AWS emulator (moto's server) answers at 127.0.0.1:5000, where
# the AWS adapter tests point the real AWS SDK.
#
# Already answering → nothing to do. Otherwise: install `moto[server]` into a venv under
# ~/.cache/greenlight (once; about a minute), start it in the background, and wait until
# it answers. Its log is ~/.cache/greenlight/moto.log.
set -euo pipefail

HOST=127.0.0.1
PORT="${GREENLIGHT_MOTO_PORT:-5000}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/greenlight"
VENV="$CACHE/moto-venv"
# Pinned so a new moto release cannot change the emulator under the tests.
MOTO_SPEC='moto[server]==5.1.*'
WAIT_SECONDS=30

log() { echo "ensure-moto: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}

answers() {
    curl -fsS -o /dev/null --max-time 2 "http://$HOST:$PORT/moto-api/" 2>/dev/null
}

if answers; then
    log "moto already answers at $HOST:$PORT"
    exit 0
fi

command -v python3 >/dev/null 2>&1 || die "python3 is needed to run moto (Debian: apt-get install python3 python3-venv)"
command -v curl >/dev/null 2>&1 || die "curl is needed to check moto (Debian: apt-get install curl)"

mkdir -p "$CACHE"
if [ ! -x "$VENV/bin/moto_server" ]; then
    log "installing $MOTO_SPEC into $VENV"
    python3 -m venv "$VENV" || die "could not create a venv (Debian: apt-get install python3-venv)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "$MOTO_SPEC" ||
        die "pip could not install $MOTO_SPEC"
fi

log "starting moto at $HOST:$PORT"
nohup "$VENV/bin/moto_server" -H "$HOST" -p "$PORT" >"$CACHE/moto.log" 2>&1 &

for _ in $(seq 1 "$WAIT_SECONDS"); do
    if answers; then
        log "moto answers at $HOST:$PORT"
        exit 0
    fi
    sleep 1
done
tail -20 "$CACHE/moto.log" >&2 || true
die "moto did not answer at $HOST:$PORT within ${WAIT_SECONDS}s"
