#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers at 127.0.0.1:5432 for the user `postgres`
# with trust authentication (no password), which is what the test suite expects.
#
# Already answering → nothing to do. Otherwise (Debian, as root): install the
# `postgresql` package if no server is installed, make the packaged cluster trust
# local and 127.0.0.1 connections, start it, and wait until it answers.
set -euo pipefail

HOST=127.0.0.1
PORT=5432
WAIT_SECONDS=30

log() { echo "ensure-postgres: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}

answers() {
    command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$HOST" -p "$PORT" >/dev/null 2>&1
}

# Runs a command as root: directly when we are root, else through sudo if it is there.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

if answers; then
    log "PostgreSQL already answers at $HOST:$PORT"
    exit 0
fi
log "nothing answers at $HOST:$PORT; setting up PostgreSQL"

# 1. A server must be installed.
if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
    command -v apt-get >/dev/null 2>&1 ||
        die "no PostgreSQL server is installed and apt-get is not available; install PostgreSQL yourself"
    log "no PostgreSQL server installed; installing the postgresql package"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
fi

command -v pg_lsclusters >/dev/null 2>&1 ||
    die "pg_lsclusters not found (Debian's postgresql-common); start PostgreSQL on $HOST:$PORT yourself"

# 2. Pick the cluster: the one on our port if there is one, else `main` of the newest
#    installed version (created if the package did not create it).
cluster_line() {
    # Columns: version cluster port status owner datadir logfile
    pg_lsclusters -h 2>/dev/null | awk -v port="$PORT" '$3 == port { print; exit }'
}
line="$(cluster_line)"
if [ -z "$line" ]; then
    newest="$(compgen -G '/usr/lib/postgresql/*/bin/postgres' | sed -E 's#^/usr/lib/postgresql/([^/]+)/.*#\1#' | sort -V | tail -n 1)"
    [ -n "$newest" ] || die "no PostgreSQL server found after installation"
    line="$(pg_lsclusters -h 2>/dev/null | awk -v v="$newest" '$1 == v && $2 == "main" { print; exit }')"
    if [ -z "$line" ]; then
        log "no cluster for PostgreSQL $newest; creating $newest/main on port $PORT"
        as_root pg_createcluster --port "$PORT" "$newest" main >&2
        line="$(pg_lsclusters -h 2>/dev/null | awk -v v="$newest" '$1 == v && $2 == "main" { print; exit }')"
        [ -n "$line" ] || die "pg_createcluster did not create $newest/main"
    fi
fi
read -r version cluster port status _ <<<"$line"
log "using cluster $version/$cluster (port $port, $status)"

if [ "$port" != "$PORT" ]; then
    log "moving cluster $version/$cluster from port $port to $PORT"
    as_root pg_conftool "$version" "$cluster" set port "$PORT"
    if [ "$status" = online ]; then
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" stop >&2 || true
        status=down
    fi
fi

# 3. Trust for local socket connections and for 127.0.0.1 (and ::1). pg_hba.conf is
#    first-match, so every `local` line and every host line for those addresses gets
#    the method `trust` (options after the method are dropped: trust takes none).
hba="/etc/postgresql/$version/$cluster/pg_hba.conf"
[ -f "$hba" ] || die "$hba not found"
wanted="$(mktemp)"
trap 'rm -f "$wanted"' EXIT
awk '
    /^[[:space:]]*(#|$)/ { print; next }
    $1 == "local" && NF >= 4 { print $1, $2, $3, "trust"; next }
    $1 ~ /^host/ && NF >= 5 && ($4 == "127.0.0.1/32" || $4 == "::1/128") { print $1, $2, $3, $4, "trust"; next }
    { print }
' "$hba" >"$wanted"
# A file with no such lines at all gets them, in front.
if ! grep -Eq '^[[:space:]]*host[a-z]*[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$wanted"; then
    { printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n'; cat "$hba"; } >"$wanted"
fi
hba_changed=false
if ! cmp -s "$wanted" "$hba"; then
    log "setting trust authentication in $hba"
    as_root cp "$hba" "$hba.before-ensure-postgres"
    as_root sh -c 'cat "$1" > "$2"' sh "$wanted" "$hba"
    hba_changed=true
fi

# 4. Start it (or reload it so it reads the new pg_hba.conf).
if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1; then
    # The socket directory lives on a tmpfs in containers and may be gone.
    install -d -o postgres -g postgres -m 2775 /var/run/postgresql
fi
if [ "$status" = online ]; then
    if $hba_changed; then
        log "reloading cluster $version/$cluster"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" reload >&2
    fi
else
    log "starting cluster $version/$cluster"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start >&2 ||
        log "pg_ctlcluster start failed; see /var/log/postgresql/postgresql-$version-$cluster.log"
fi

# 5. Wait until it answers.
for _ in $(seq "$WAIT_SECONDS"); do
    if answers; then
        log "PostgreSQL $version answers at $HOST:$PORT"
        exit 0
    fi
    sleep 1
done
die "PostgreSQL did not answer at $HOST:$PORT within ${WAIT_SECONDS}s; see /var/log/postgresql/postgresql-$version-$cluster.log"
