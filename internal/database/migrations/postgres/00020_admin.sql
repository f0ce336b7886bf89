-- The admin panel: provider entries with their API keys sealed at rest (AES-256-GCM under
-- API_KEY_ENCRYPTION_KEY, the key id beside each ciphertext, never the key itself), the
-- administrators' choices per image model, and indexes for the user list and the reports.

-- +goose Up
CREATE TABLE providers (
    id             TEXT    PRIMARY KEY,
    name           TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    base_url       TEXT    NOT NULL DEFAULT '',
    key_ciphertext TEXT    NOT NULL DEFAULT '',
    key_id         TEXT    NOT NULL DEFAULT '',
    key_last4      TEXT    NOT NULL DEFAULT '',
    key_set_at     BIGINT  NOT NULL DEFAULT 0,
    key_set_by     BIGINT  NOT NULL DEFAULT 0,
    enabled        BOOLEAN NOT NULL DEFAULT FALSE,
    sort_order     INTEGER NOT NULL DEFAULT 0,
    check_status   TEXT    NOT NULL DEFAULT '',
    check_message  TEXT    NOT NULL DEFAULT '',
    checked_at     BIGINT  NOT NULL DEFAULT 0,
    updated_at     BIGINT  NOT NULL DEFAULT 0,
    updated_by     BIGINT  NOT NULL DEFAULT 0
);

INSERT INTO providers (id, name, kind, enabled, sort_order) VALUES
    ('builtin', 'Built-in offline engine', 'image', TRUE, 1),
    ('fal', 'FAL', 'image', FALSE, 2),
    ('openai', 'OpenAI', 'image,text', FALSE, 3),
    ('gemini', 'Google Gemini', 'image,text', FALSE, 4),
    ('anthropic', 'Anthropic', 'text', FALSE, 5),
    ('groq', 'Groq', 'text', FALSE, 6),
    ('xai', 'xAI', 'text', FALSE, 7),
    ('cerebras', 'Cerebras', 'text', FALSE, 8),
    ('openrouter', 'OpenRouter', 'text', FALSE, 9),
    ('openai_compatible', 'OpenAI-compatible server', 'image,text', FALSE, 10),
    ('a1111', 'AUTOMATIC1111 / Forge', 'image', FALSE, 11),
    ('comfyui', 'ComfyUI', 'image', FALSE, 12);

CREATE TABLE model_settings (
    model_id   TEXT    PRIMARY KEY,
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    cost       BIGINT  NOT NULL DEFAULT 0 CHECK (cost >= 0),
    plans      TEXT    NOT NULL DEFAULT '*',
    updated_at BIGINT  NOT NULL DEFAULT 0,
    updated_by BIGINT  NOT NULL DEFAULT 0
);

CREATE INDEX users_status ON users (status, role);
CREATE INDEX images_created ON images (created_at);
CREATE INDEX credit_ledger_created ON credit_ledger (created_at);

-- +goose Down
DROP INDEX credit_ledger_created;
DROP INDEX images_created;
DROP INDEX users_status;
DROP TABLE model_settings;
DROP TABLE providers;
