-- Set in the same transaction as the request's own changes: after a crash between that commit
-- and storing the response, a retry learns the change is saved instead of running it twice.
ALTER TABLE idempotency_keys ADD COLUMN committed BIGINT NOT NULL DEFAULT 0;
