-- The foundation: plans, users, credits, sessions, settings, audit, jobs and images.
-- Times are Unix milliseconds in BIGINT columns, the same in both dialects.
-- Credits are integers of milli-credits.

-- +goose Up
CREATE TABLE plans (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    slug            TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    monthly_credits BIGINT  NOT NULL CHECK (monthly_credits >= 0),
    price_cents     INTEGER NOT NULL DEFAULT 0,
    features        TEXT    NOT NULL DEFAULT '',
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    sort_order      INTEGER NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL
);

INSERT INTO plans (slug, name, monthly_credits, price_cents, features, sort_order, created_at)
VALUES ('free', 'Free', 3000, 0, 'Built-in offline engine', 1, 0),
       ('premium', 'Premium', 100000, 1900, 'All models,API access', 2, 0),
       ('professional', 'Professional', 1000000, 9900, 'All models,API access,Style training', 3, 0);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    email          TEXT    NOT NULL UNIQUE,
    username       TEXT    NOT NULL DEFAULT '',
    password_hash  TEXT    NOT NULL DEFAULT '',
    role           TEXT    NOT NULL DEFAULT 'user',
    status         TEXT    NOT NULL DEFAULT 'active',
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    plan_id        INTEGER REFERENCES plans (id),
    credits        BIGINT  NOT NULL DEFAULT 0 CHECK (credits >= 0),
    next_reset_at  BIGINT  NOT NULL DEFAULT 0,
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   BIGINT  NOT NULL DEFAULT 0,
    last_login_at  BIGINT  NOT NULL DEFAULT 0,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);

CREATE TABLE credit_ledger (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       BIGINT  NOT NULL,
    kind          TEXT    NOT NULL,
    amount        BIGINT  NOT NULL,
    balance_after BIGINT  NOT NULL,
    job_id        TEXT    NOT NULL DEFAULT '',
    actor_id      BIGINT  NOT NULL DEFAULT 0,
    reason        TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL
);
CREATE INDEX credit_ledger_user ON credit_ledger (user_id, id);
CREATE INDEX credit_ledger_job ON credit_ledger (job_id);

CREATE TABLE sessions (
    token_hash   TEXT    PRIMARY KEY,
    public_id    TEXT    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    ip_address   TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE setup_tokens (
    token_hash TEXT   PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE settings (
    key        TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, hash) VALUES (1, '');

CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at BIGINT  NOT NULL,
    event_type TEXT    NOT NULL,
    user_id    BIGINT  NOT NULL DEFAULT 0,
    ip_address TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    details    TEXT    NOT NULL DEFAULT '{}',
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
);
CREATE INDEX audit_events_type ON audit_events (event_type, id);
CREATE INDEX audit_events_user ON audit_events (user_id, id);

CREATE TABLE jobs (
    id                  TEXT    PRIMARY KEY,
    user_id             BIGINT  NOT NULL,
    kind                TEXT    NOT NULL,
    provider            TEXT    NOT NULL,
    model               TEXT    NOT NULL,
    input               TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    progress            INTEGER NOT NULL DEFAULT 0,
    message             TEXT    NOT NULL DEFAULT '',
    provider_request_id TEXT    NOT NULL DEFAULT '',
    attempts            INTEGER NOT NULL DEFAULT 0,
    cost_reserved       BIGINT  NOT NULL DEFAULT 0,
    cost_settled        BIGINT  NOT NULL DEFAULT 0,
    result              TEXT    NOT NULL DEFAULT '',
    error               TEXT    NOT NULL DEFAULT '',
    worker              TEXT    NOT NULL DEFAULT '',
    lease_until         BIGINT  NOT NULL DEFAULT 0,
    created_at          BIGINT  NOT NULL,
    started_at          BIGINT  NOT NULL DEFAULT 0,
    finished_at         BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX jobs_status ON jobs (status, created_at);
CREATE INDEX jobs_user ON jobs (user_id, created_at);

CREATE TABLE images (
    id              TEXT    PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    job_id          TEXT    NOT NULL DEFAULT '',
    prompt          TEXT    NOT NULL,
    negative_prompt TEXT    NOT NULL DEFAULT '',
    model           TEXT    NOT NULL,
    engine          TEXT    NOT NULL,
    style           TEXT    NOT NULL DEFAULT '',
    width           INTEGER NOT NULL,
    height          INTEGER NOT NULL,
    seed            BIGINT  NOT NULL,
    format          TEXT    NOT NULL,
    blob_key        TEXT    NOT NULL,
    thumb_key       TEXT    NOT NULL,
    size_bytes      BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX images_user ON images (user_id, created_at DESC, id);

-- +goose Down
DROP TABLE images;
DROP TABLE jobs;
DROP TABLE audit_events;
DROP TABLE audit_head;
DROP TABLE settings;
DROP TABLE setup_tokens;
DROP TABLE sessions;
DROP TABLE credit_ledger;
DROP TABLE users;
DROP TABLE plans;
