-- Outbound webhooks (SQLite: timestamps in microseconds since the epoch): endpoints per tenant, one delivery per (event, receiver), and
-- every attempt of each delivery.

-- A receiver. The secret signs what is sent, so it is kept as given (it is shown to
-- the tenant once, at creation or rotation). During a rotation's overlap the previous
-- secret still signs too.
CREATE TABLE webhook_endpoints (
    tenant_id                 TEXT NOT NULL REFERENCES tenants(id),
    id                        TEXT NOT NULL,
    url                       TEXT NOT NULL,
    description               TEXT NOT NULL,
    events                    TEXT NOT NULL,
    active                    INTEGER NOT NULL,
    secret                    TEXT NOT NULL,
    previous_secret           TEXT,
    previous_secret_until     INTEGER,
    failing_since             INTEGER,
    disabled_reason           TEXT,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- The secret a tenant's callbacks and executor calls are signed with.
ALTER TABLE tenants ADD COLUMN callback_secret TEXT;

-- One message to one receiver: a webhook endpoint, a request's callbackUrl, or its
-- executor. The body is fixed when the delivery is made, so every retry sends the same
-- bytes under the same id.
CREATE TABLE webhook_deliveries (
    tenant_id        TEXT NOT NULL,
    id               TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    endpoint_id      TEXT,
    url              TEXT NOT NULL,
    approval_id      TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    event_seq        INTEGER NOT NULL,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER,
    last_status      INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (tenant_id, endpoint_id, created_at DESC, id DESC);

CREATE TABLE webhook_attempts (
    tenant_id      TEXT NOT NULL,
    delivery_id    TEXT NOT NULL,
    attempt        INTEGER NOT NULL,
    at             INTEGER NOT NULL,
    status_code    INTEGER,
    latency_ms     INTEGER NOT NULL,
    response       TEXT,
    error          TEXT,
    PRIMARY KEY (tenant_id, delivery_id, attempt)
);

-- The live stream's cursor: one order over every event, for Last-Event-ID. SQLite has
-- one writer, so the rowid order is the commit order; a trigger copies it over.
ALTER TABLE approval_events ADD COLUMN feed_seq INTEGER;
UPDATE approval_events SET feed_seq = rowid;
CREATE TRIGGER approval_events_feed_seq AFTER INSERT ON approval_events
BEGIN
    UPDATE approval_events SET feed_seq = NEW.rowid WHERE rowid = NEW.rowid;
END;
CREATE INDEX approval_events_feed ON approval_events (tenant_id, feed_seq);
