-- Accounts complete: email verification and address changes, password reset codes, two-factor
-- sign-in with recovery codes, OpenID Connect identities and sign-in flows, and the mail
-- outbox. Secrets are stored only as hashes, except the TOTP secret and OAuth client secrets,
-- which are sealed with the key ring because they must be read back.

-- +goose Up
ALTER TABLE users ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;

CREATE TABLE email_tokens (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, created_at);

CREATE TABLE password_resets (
    request_hash TEXT    PRIMARY KEY,
    user_id      BIGINT  NOT NULL DEFAULT 0,
    code_hash    TEXT    NOT NULL,
    tries        INTEGER NOT NULL DEFAULT 0,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    used_at      BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX password_resets_user ON password_resets (user_id, created_at);
CREATE INDEX password_resets_expiry ON password_resets (expires_at);

CREATE TABLE recovery_codes (
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT    NOT NULL,
    used_at   BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE login_challenges (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method     TEXT    NOT NULL,
    next_path  TEXT    NOT NULL DEFAULT '',
    tries      INTEGER NOT NULL DEFAULT 0,
    expires_at BIGINT  NOT NULL
);

CREATE TABLE identities (
    provider     TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email        TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX identities_user ON identities (user_id);

CREATE TABLE pending_links (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    expires_at BIGINT  NOT NULL
);

CREATE TABLE oidc_flows (
    state_hash TEXT   PRIMARY KEY,
    provider   TEXT   NOT NULL,
    nonce      TEXT   NOT NULL,
    verifier   TEXT   NOT NULL,
    next_path  TEXT   NOT NULL DEFAULT '',
    expires_at BIGINT NOT NULL
);

CREATE TABLE oidc_providers (
    slug          TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    issuer_url    TEXT    NOT NULL,
    client_id     TEXT    NOT NULL,
    client_secret TEXT    NOT NULL DEFAULT '',
    enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at    BIGINT  NOT NULL,
    updated_by    BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE account_notices (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind    TEXT    NOT NULL,
    sent_at BIGINT  NOT NULL
);
CREATE INDEX account_notices_user ON account_notices (user_id, kind, sent_at);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    template        TEXT    NOT NULL,
    text_body       TEXT    NOT NULL,
    html_body       TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL DEFAULT 0,
    lease_until     BIGINT  NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    sent_at         BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_created ON outbox (created_at);

-- +goose Down
DROP TABLE outbox;
DROP TABLE account_notices;
DROP TABLE oidc_providers;
DROP TABLE oidc_flows;
DROP TABLE pending_links;
DROP TABLE identities;
DROP TABLE login_challenges;
DROP TABLE recovery_codes;
DROP TABLE password_resets;
DROP TABLE email_tokens;
ALTER TABLE users DROP COLUMN totp_last_step;
ALTER TABLE users DROP COLUMN totp_enabled;
ALTER TABLE users DROP COLUMN totp_secret;
