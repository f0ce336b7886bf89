-- Indexes for choosing the next job (job.Store.pick): the users with queued jobs, each
-- user's running count and oldest queued job, and the user's queued jobs in order come from
-- (status, user_id, created_at); when the user last had a job started comes from
-- (user_id, started_at). Without them each claim read every job the user ever had.

-- +goose Up
CREATE INDEX jobs_status_user ON jobs (status, user_id, created_at);
CREATE INDEX jobs_user_started ON jobs (user_id, started_at);

-- +goose Down
DROP INDEX jobs_user_started;
DROP INDEX jobs_status_user;
