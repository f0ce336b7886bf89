-- Abuse protection: prompts refused by the content policy, kept for review, and the alerts
-- shown to administrators until acknowledged.

-- +goose Up
CREATE TABLE flagged_prompts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  BIGINT  NOT NULL,
    user_id     BIGINT  NOT NULL DEFAULT 0,
    ip_address  TEXT    NOT NULL DEFAULT '',
    prompt      TEXT    NOT NULL,
    term        TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'approved', 'dismissed')),
    reviewed_at BIGINT  NOT NULL DEFAULT 0,
    reviewed_by BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX flagged_prompts_status ON flagged_prompts (status, id);
CREATE INDEX flagged_prompts_user ON flagged_prompts (user_id, created_at);

CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      BIGINT  NOT NULL,
    last_seen_at    BIGINT  NOT NULL,
    alert_type      TEXT    NOT NULL,
    subject         TEXT    NOT NULL DEFAULT '',
    message         TEXT    NOT NULL,
    occurrences     INTEGER NOT NULL DEFAULT 1,
    notified        BOOLEAN NOT NULL DEFAULT FALSE,
    acknowledged_at BIGINT  NOT NULL DEFAULT 0,
    acknowledged_by BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX alerts_open ON alerts (acknowledged_at, id);
CREATE INDEX alerts_subject ON alerts (alert_type, subject, created_at);

-- +goose Down
DROP TABLE alerts;
DROP TABLE flagged_prompts;
