-- Workflows (issue 14): definitions with immutable versions, and runs with their
-- hash-chained event logs. Every row carries its tenant.

CREATE TABLE workflows (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    id              TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    latest_version  INTEGER NOT NULL,
    deleted         BOOLEAN NOT NULL,
    state           JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX workflows_by_created ON workflows (tenant_id, created_at DESC, id DESC) WHERE NOT deleted;

-- Never updated: a run pins the version it started on.
CREATE TABLE workflow_versions (
    tenant_id    TEXT NOT NULL,
    workflow_id  TEXT NOT NULL,
    version      INTEGER NOT NULL,
    definition   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, workflow_id, version),
    FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id)
);

CREATE TABLE workflow_runs (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    id              TEXT NOT NULL,
    workflow_id     TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    seq             BIGINT NOT NULL,
    last_event_hash TEXT NOT NULL,
    head_seal       TEXT NOT NULL,
    state           JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX workflow_runs_by_created ON workflow_runs (tenant_id, created_at DESC, id DESC);
CREATE INDEX workflow_runs_by_workflow ON workflow_runs (tenant_id, workflow_id, created_at DESC, id DESC);

-- JSON kept as text, byte for byte as hashed. `feed_seq` takes its position from the
-- same sequence as the requests' events: the live stream reads one order over both.
CREATE TABLE workflow_run_events (
    tenant_id    TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    id           TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL,
    data         TEXT NOT NULL,
    snapshot     TEXT NOT NULL,
    actor        TEXT NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    feed_seq     BIGINT NOT NULL DEFAULT nextval('approval_events_feed_seq_seq'),
    PRIMARY KEY (tenant_id, run_id, seq),
    FOREIGN KEY (tenant_id, run_id) REFERENCES workflow_runs (tenant_id, id)
);
CREATE INDEX workflow_run_events_feed ON workflow_run_events (tenant_id, feed_seq);
CREATE INDEX workflow_run_events_feed_global ON workflow_run_events (feed_seq);

CREATE TABLE run_idempotency_keys (
    tenant_id     TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    run_id        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
