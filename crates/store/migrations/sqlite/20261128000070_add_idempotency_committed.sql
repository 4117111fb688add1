-- `committed` is set in the same transaction as the request's own changes: after a crash between
-- that commit and storing the response, a retry learns the change is saved instead of running it
-- twice. `location` keeps a redirect's target, so a resent form is answered with the same redirect.
ALTER TABLE idempotency_keys ADD COLUMN committed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE idempotency_keys ADD COLUMN location TEXT NOT NULL DEFAULT '';
