-- A job's credits are squared after it reaches its final state. settled_at records that
-- this happened, so that a crash between the two steps is noticed and repaired.

-- +goose Up
ALTER TABLE jobs ADD COLUMN settled_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX jobs_unsettled ON jobs (settled_at, status);

-- +goose Down
DROP INDEX jobs_unsettled;
ALTER TABLE jobs DROP COLUMN settled_at;
