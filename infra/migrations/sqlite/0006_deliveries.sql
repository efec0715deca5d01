-- Messages to approvers (SQLite: timestamps in microseconds since the epoch): one row per approver per channel per occasion (the request
-- reaching them, or a reminder), with its attempts and where it landed. An approval
-- link names its row, which records when the link decided, so a link decides once.
CREATE TABLE deliveries (
    tenant_id      TEXT NOT NULL,
    id             TEXT NOT NULL,
    approval_id    TEXT NOT NULL,
    event_seq      INTEGER NOT NULL,
    purpose        TEXT NOT NULL,
    level          INTEGER NOT NULL,
    channel        TEXT NOT NULL,
    recipient      TEXT NOT NULL,
    approver       TEXT NOT NULL,
    status         TEXT NOT NULL,
    attempts       INTEGER NOT NULL,
    max_attempts   INTEGER NOT NULL,
    next_retry_at  INTEGER,
    last_error     TEXT,
    slack_channel  TEXT,
    slack_ts       TEXT,
    message_id     TEXT,
    link_code      TEXT NOT NULL,
    link_used_at   INTEGER,
    created_at     INTEGER NOT NULL,
    sent_at        INTEGER,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX deliveries_by_approval ON deliveries (tenant_id, approval_id, created_at, id);
-- SES and SNS report on a message by its id alone.
CREATE INDEX deliveries_by_message ON deliveries (message_id);
-- SMS links are short: /s/{code} finds the row.
CREATE UNIQUE INDEX deliveries_by_link_code ON deliveries (link_code);

-- Secrets the deployment makes for itself on first start (the approval-link key when
-- none is configured), so links stay valid across restarts.
CREATE TABLE deployment_secrets (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
