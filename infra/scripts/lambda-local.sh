#!/usr/bin/env bash
# Sets up what the Lambda functions need to run on this machine under `cargo lambda
# watch`, with events/local.env: the AWS resources in moto's server (queues, the timer
# schedule group, the secrets, the verified email sender) and the store, migrated,
# with an admin API key, which it prints. The store is GREENLIGHT_DATABASE_URL from events/local.env, or the first
# argument (a postgres:// URL; dynamodb:// once that store exists).
#
#   moto_server -H 127.0.0.1 -p 5000 &          # or: infra/scripts/ensure-test-tools.sh
#   infra/scripts/lambda-local.sh
#   cd functions/aws && cargo lambda watch --env-file ../../events/local.env
#   cargo lambda invoke api --data-file events/api-health.json
set -euo pipefail
cd "$(dirname "$0")/../.."

env_file=events/local.env
db=${1:-$(sed -n 's/^GREENLIGHT_DATABASE_URL=//p' "$env_file")}
endpoint=$(sed -n 's/^AWS_ENDPOINT_URL=//p' "$env_file")
python=${GREENLIGHT_TEST_PYTHON:-$HOME/.cache/greenlight/test-venv/bin/python}
if ! "$python" -c 'import boto3' 2>/dev/null; then
    echo "needs Python with boto3 (infra/scripts/ensure-test-tools.sh installs it): $python" >&2
    exit 1
fi
if ! curl -fsS -o /dev/null "$endpoint/moto-api/"; then
    echo "moto's server is not answering at $endpoint: moto_server -H 127.0.0.1 -p 5000 &" >&2
    exit 1
fi

# The names events/local.env gives; creating what exists already changes nothing.
AWS_ENDPOINT_URL=$endpoint AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing \
AWS_SECRET_ACCESS_KEY=testing "$python" - <<'PY'
import json
import secrets

import boto3

sqs = boto3.client("sqs")
for name in ("greenlight-outbox", "greenlight-delivery", "greenlight-timers",
             "greenlight-dead-letters"):
    sqs.create_queue(QueueName=name)
scheduler = boto3.client("scheduler")
try:
    scheduler.create_schedule_group(Name="greenlight-timers")
except scheduler.exceptions.ConflictException:
    pass
# The sender of approval emails (moto's SES sends only from verified identities).
boto3.client("sesv2").create_email_identity(EmailIdentity="approvals@example.com")
sm = boto3.client("secretsmanager")
for name, text in (("greenlight-links", secrets.token_hex(32)),
                   ("greenlight-audit", secrets.token_hex(32)),
                   ("greenlight-slack", json.dumps({"signingSecret": "", "botToken": ""}))):
    try:
        sm.create_secret(Name=name, SecretString=text)
    except sm.exceptions.ResourceExistsException:
        pass
PY

# The local binary migrates the store as it opens it, and makes the key.
case "$db" in
postgres://* | postgresql://*)
    admin=${db%/*}/postgres
    name=${db##*/}
    if command -v psql >/dev/null; then
        psql -q "$admin" -tc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1 ||
            psql -q "$admin" -c "CREATE DATABASE $name"
    fi
    ;;
esac
export GREENLIGHT_DATABASE_URL=$db
# The default tenant, unless an earlier run made it.
cargo run -q -p greenlight-local -- tenant create --name Default --id default >/dev/null 2>&1 || true
echo "An admin key of the default tenant, for the events' Authorization headers ($db):" >&2
cargo run -q -p greenlight-local -- key create --role admin --name lambda-local
