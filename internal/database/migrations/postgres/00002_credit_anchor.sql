-- Credits: the moment a plan was assigned, which fixes the day of month (and time of day, in
-- UTC) of every later monthly reset, so that a plan started on the 31st resets on the last day
-- of shorter months and on the 31st again afterwards; and one reservation, settlement and
-- refund row at most per job, so that retries can never reserve or refund a job twice.

-- +goose Up
ALTER TABLE users ADD COLUMN plan_started_at BIGINT NOT NULL DEFAULT 0;

CREATE UNIQUE INDEX credit_ledger_job_once ON credit_ledger (job_id, kind)
    WHERE job_id <> '' AND kind IN ('reserve', 'settle', 'refund');

-- +goose Down
DROP INDEX credit_ledger_job_once;
ALTER TABLE users DROP COLUMN plan_started_at;
