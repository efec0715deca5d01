-- The web dashboard's people: approvers and admins of a tenant, signed in with an
-- email and a password (Argon2id, PHC string). Emails are unique across tenants, so
-- the sign-in form needs no tenant.
CREATE TABLE users (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    id             TEXT NOT NULL,
    email          TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- Signed-in browsers. Only a hash of the cookie's token is kept; each session has its
-- own CSRF token for the forms it posts.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    csrf_token  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

-- One-time links that let someone choose a password and join as the role given: an
-- admin's invitation, or the first admin's link printed at the first start.
CREATE TABLE invites (
    token_hash  TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    email       TEXT,
    role        TEXT NOT NULL,
    created_by  TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
