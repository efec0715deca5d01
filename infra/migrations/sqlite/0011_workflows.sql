-- Workflows (issue 14): definitions with immutable versions, and runs with their
-- hash-chained event logs. Every row carries its tenant.

CREATE TABLE workflows (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    id              TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    latest_version  INTEGER NOT NULL,
    deleted         INTEGER NOT NULL,
    state           TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX workflows_by_created ON workflows (tenant_id, created_at DESC, id DESC) WHERE deleted = 0;

-- Never updated: a run pins the version it started on.
CREATE TABLE workflow_versions (
    tenant_id    TEXT NOT NULL,
    workflow_id  TEXT NOT NULL,
    version      INTEGER NOT NULL,
    definition   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, workflow_id, version),
    FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id)
);

CREATE TABLE workflow_runs (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    id              TEXT NOT NULL,
    workflow_id     TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    last_event_hash TEXT NOT NULL,
    head_seal       TEXT NOT NULL,
    state           TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX workflow_runs_by_created ON workflow_runs (tenant_id, created_at DESC, id DESC);
CREATE INDEX workflow_runs_by_workflow ON workflow_runs (tenant_id, workflow_id, created_at DESC, id DESC);

-- JSON kept as text, byte for byte as hashed. `feed_seq` is the event's place in one
-- order over the requests' and the runs' events, which the live stream reads.
CREATE TABLE workflow_run_events (
    tenant_id    TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    id           TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL,
    data         TEXT NOT NULL,
    snapshot     TEXT NOT NULL,
    actor        TEXT NOT NULL,
    occurred_at  INTEGER NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    feed_seq     INTEGER,
    PRIMARY KEY (tenant_id, run_id, seq),
    FOREIGN KEY (tenant_id, run_id) REFERENCES workflow_runs (tenant_id, id)
);
CREATE INDEX workflow_run_events_feed ON workflow_run_events (tenant_id, feed_seq);
CREATE INDEX workflow_run_events_feed_global ON workflow_run_events (feed_seq);

-- Both logs take their feed positions from one counter, carried on from the requests'
-- (their rowids until now). SQLite has one writer, so the counter's order is the
-- commit order; each trigger keeps only the counter's last row.
CREATE TABLE feed_counter (pos INTEGER PRIMARY KEY AUTOINCREMENT);
INSERT INTO feed_counter (pos) SELECT COALESCE(MAX(feed_seq), 0) FROM approval_events;
DROP TRIGGER approval_events_feed_seq;
CREATE TRIGGER approval_events_feed_seq AFTER INSERT ON approval_events
BEGIN
    INSERT INTO feed_counter (pos) VALUES (NULL);
    UPDATE approval_events SET feed_seq = last_insert_rowid() WHERE rowid = NEW.rowid;
    DELETE FROM feed_counter WHERE pos < last_insert_rowid();
END;
CREATE TRIGGER workflow_run_events_feed_seq AFTER INSERT ON workflow_run_events
BEGIN
    INSERT INTO feed_counter (pos) VALUES (NULL);
    UPDATE workflow_run_events SET feed_seq = last_insert_rowid() WHERE rowid = NEW.rowid;
    DELETE FROM feed_counter WHERE pos < last_insert_rowid();
END;

CREATE TABLE run_idempotency_keys (
    tenant_id     TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    run_id        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
