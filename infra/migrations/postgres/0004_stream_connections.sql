-- Live-stream subscribers on AWS: the API Gateway WebSocket connections open now,
-- each with the filters it asked for. Removed on disconnect, or when a push finds the
-- connection gone.
CREATE TABLE stream_connections (
    connection_id  TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    approval_id    TEXT,
    agent_id       TEXT,
    types          TEXT,
    connected_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX stream_connections_by_tenant ON stream_connections (tenant_id);
