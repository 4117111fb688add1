-- Workers claim due messages channel by channel (see `outbox::claim`), so that the million
-- household SMS of a red alert never hold back webhooks or in-app messages queued after them.
-- The claim index therefore leads with the channel; it still serves the pending count.
DROP INDEX outbox_claim;
CREATE INDEX outbox_claim ON outbox(channel, urgent DESC, next_at, id) WHERE state IN ('queued','failed');
