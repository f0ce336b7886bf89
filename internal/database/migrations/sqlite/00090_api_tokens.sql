-- Personal API tokens: a script sends one as a bearer token instead of a session cookie
-- (internal/apitoken). Only the SHA-256 of a token is kept; the owner sees the token once.

-- +goose Up
CREATE TABLE api_tokens (
    id           TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT  NOT NULL DEFAULT 0,
    last_used_ip TEXT    NOT NULL DEFAULT '',
    expires_at   BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- +goose Down
DROP TABLE api_tokens;
