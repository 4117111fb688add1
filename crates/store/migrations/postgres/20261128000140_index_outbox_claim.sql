-- Delivery workers claim due messages in (urgent first, next_at, id) order with a LIMIT. With a
-- million queued rows (a red alert to a district) the old (state, next_at) index made every claim
-- sort all of them; this partial index is read in order and stops at the LIMIT. It also serves
-- the count of messages still to deliver, so it replaces the old one.
DROP INDEX outbox_due;
CREATE INDEX outbox_claim ON outbox(urgent DESC, next_at, id) WHERE state IN ('queued','failed');
