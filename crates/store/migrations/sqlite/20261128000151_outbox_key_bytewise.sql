-- Twin of the PostgreSQL migration that makes outbox idempotency keys compare bytewise. SQLite's
-- default collation (BINARY) already does: nothing to change.
SELECT 1;
