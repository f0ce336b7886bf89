-- Share links: an owner may open one image to anyone holding its link (internal/gallery,
-- share.go). The link's token is the row's key; deleting the image, or the row, ends it.

-- +goose Up
CREATE TABLE image_shares (
    token       TEXT    PRIMARY KEY,
    image_id    TEXT    NOT NULL UNIQUE REFERENCES images (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    show_prompt BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX image_shares_user ON image_shares (user_id);

-- +goose Down
DROP TABLE image_shares;
