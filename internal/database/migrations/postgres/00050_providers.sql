-- Requests submitted to image providers (issue 5): the handle a provider returned (for FAL
-- its request id and the status, response and cancel URLs it named), so that a job resumed
-- after a restart follows the same request instead of paying for a second one, and so that
-- a provider's webhook finds its job. A webhook only marks the request as notified, once;
-- the worker then fetches the result itself.

-- +goose Up
CREATE TABLE provider_requests (
    job_id          TEXT   PRIMARY KEY,
    provider        TEXT   NOT NULL,
    request_id      TEXT   NOT NULL,
    handle          TEXT   NOT NULL,
    notified_status TEXT   NOT NULL DEFAULT '',
    notified_at     BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL
);
CREATE INDEX provider_requests_request ON provider_requests (provider, request_id);

-- +goose Down
DROP TABLE provider_requests;
