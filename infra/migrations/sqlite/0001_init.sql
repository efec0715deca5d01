-- Greenlight schema, SQLite (timestamps in microseconds since the epoch, JSON as text). Every row carries its tenant.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Only the SHA-256 of each key is kept.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

-- One row per request: its full state as JSON, and the columns that are queried.
CREATE TABLE approvals (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    id              TEXT NOT NULL,
    status          TEXT NOT NULL,
    agent_id        TEXT NOT NULL,
    action_type     TEXT NOT NULL,
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    last_event_hash TEXT NOT NULL,
    state           TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX approvals_by_created ON approvals (tenant_id, created_at DESC, id DESC);
CREATE INDEX approvals_by_status ON approvals (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX approvals_pending_expiry ON approvals (expires_at) WHERE status = 'PENDING';

-- The audit trail, its JSON kept as text, byte for byte as written.
CREATE TABLE approval_events (
    tenant_id    TEXT NOT NULL,
    approval_id  TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    id           TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL,
    data         TEXT NOT NULL,
    snapshot     TEXT NOT NULL,
    actor        TEXT NOT NULL,
    source       TEXT NOT NULL,
    occurred_at  INTEGER NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, approval_id, seq),
    FOREIGN KEY (tenant_id, approval_id) REFERENCES approvals (tenant_id, id)
);

-- The outbox: follow-up work written with the change that needs it.
CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    run_at        INTEGER NOT NULL,
    attempts      INTEGER NOT NULL,
    max_attempts  INTEGER NOT NULL,
    status        TEXT NOT NULL,
    lease_owner   TEXT,
    lease_until   INTEGER,
    last_error    TEXT
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE status = 'pending';

CREATE TABLE idempotency_keys (
    tenant_id     TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    approval_id   TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
