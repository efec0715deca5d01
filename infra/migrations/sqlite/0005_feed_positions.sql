-- The live stream checks which feed positions are taken across all tenants, to hold
-- back past a position a transaction has taken but not yet committed.
CREATE INDEX approval_events_feed_global ON approval_events (feed_seq);
