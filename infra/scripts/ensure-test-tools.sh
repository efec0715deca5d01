#!/usr/bin/env bash
# The Python tools the tests use, in one venv under ~/.cache/greenlight (installed once,
# about a minute and a half):
#   - moto's server, the local AWS emulator the AWS adapter tests point the real AWS
#     SDK at: started at 127.0.0.1:5000 unless something answers there already (its
#     log is ~/.cache/greenlight/moto.log);
#   - `standardwebhooks`, the Standard Webhooks project's own Python library, which the
#     webhook tests verify Greenlight's signatures with;
#   - `cfn-lint` and the SAM CLI, which check template.yaml;
#   - schemathesis (`st`), which calls every route as the OpenAPI document describes it
#     and checks that the server answers as the document says.
# Prints the venv's python for GREENLIGHT_TEST_PYTHON on stdout.
set -euo pipefail

HOST=127.0.0.1
PORT="${GREENLIGHT_MOTO_PORT:-5000}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/greenlight"
VENV="$CACHE/test-venv"
# Pinned so a new release cannot change the tools under the tests.
PACKAGES=('moto[server]==5.1.*' 'standardwebhooks==1.*' 'cfn-lint==1.*' 'aws-sam-cli==1.*'
    'schemathesis==4.*')
WAIT_SECONDS=30

log() { echo "ensure-test-tools: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}

answers() {
    curl -fsS -o /dev/null --max-time 2 "http://$HOST:$PORT/moto-api/" 2>/dev/null
}

command -v python3 >/dev/null 2>&1 || die "python3 is needed for the test tools (Debian: apt-get install python3 python3-venv)"
command -v curl >/dev/null 2>&1 || die "curl is needed to check moto (Debian: apt-get install curl)"

mkdir -p "$CACHE"
if ! "$VENV/bin/python" -c 'import moto.server, standardwebhooks' >/dev/null 2>&1 ||
    [ ! -x "$VENV/bin/cfn-lint" ] || [ ! -x "$VENV/bin/sam" ] || [ ! -x "$VENV/bin/st" ]; then
    log "installing ${PACKAGES[*]} into $VENV"
    python3 -m venv "$VENV" || die "could not create a venv (Debian: apt-get install python3-venv)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PACKAGES[@]}" ||
        die "pip could not install ${PACKAGES[*]}"
fi

if answers; then
    log "moto already answers at $HOST:$PORT"
else
    log "starting moto at $HOST:$PORT"
    # moto's server, without its DynamoDB memory leak (see moto-server.py).
    nohup "$VENV/bin/python" "$(dirname "${BASH_SOURCE[0]}")/moto-server.py" -H "$HOST" -p "$PORT" \
        >"$CACHE/moto.log" 2>&1 &
    for _ in $(seq 1 "$WAIT_SECONDS"); do
        answers && break
        sleep 1
    done
    if ! answers; then
        tail -20 "$CACHE/moto.log" >&2 || true
        die "moto did not answer at $HOST:$PORT within ${WAIT_SECONDS}s"
    fi
    log "moto answers at $HOST:$PORT"
fi
echo "$VENV/bin/python"
