-- Uploads and style training. An upload is an accepted, cleaned image under a random blob
-- key with two WebP thumbnails; images that arrived together in one archive share a batch
-- id. A training is the row beside its job (same id): the parameters, the images it used,
-- its log and where its weights are kept. Status, progress and times live on the job.

-- +goose Up
CREATE TABLE uploads (
    id           TEXT    PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    batch_id     TEXT    NOT NULL DEFAULT '',
    display_name TEXT    NOT NULL DEFAULT '',
    format       TEXT    NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    size_bytes   BIGINT  NOT NULL,
    blob_key     TEXT    NOT NULL,
    thumb_key    TEXT    NOT NULL,
    preview_key  TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX uploads_user ON uploads (user_id, created_at);
CREATE INDEX uploads_batch ON uploads (batch_id);

CREATE TABLE trainings (
    id            TEXT    PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    backend       TEXT    NOT NULL,
    trigger_word  TEXT    NOT NULL,
    steps         INTEGER NOT NULL,
    create_masks  BOOLEAN NOT NULL DEFAULT FALSE,
    is_style      BOOLEAN NOT NULL DEFAULT FALSE,
    image_count   INTEGER NOT NULL,
    logs          TEXT    NOT NULL DEFAULT '',
    profile       TEXT    NOT NULL DEFAULT '',
    weights_key   TEXT    NOT NULL DEFAULT '',
    weights_name  TEXT    NOT NULL DEFAULT '',
    weights_bytes BIGINT  NOT NULL DEFAULT 0,
    config_key    TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL
);
CREATE INDEX trainings_user ON trainings (user_id, created_at);

CREATE TABLE training_images (
    training_id TEXT    NOT NULL REFERENCES trainings (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    upload_id   TEXT    NOT NULL,
    PRIMARY KEY (training_id, position)
);

-- +goose Down
DROP TABLE training_images;
DROP TABLE trainings;
DROP TABLE uploads;
