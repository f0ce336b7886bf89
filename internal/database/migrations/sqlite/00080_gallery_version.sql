-- Every change to a user's images counts up gallery_version in the same transaction, so a
-- listing cached under one version is never served once the images have changed, on any
-- instance (internal/gallery).

-- +goose Up
ALTER TABLE users ADD COLUMN gallery_version BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN gallery_version;
