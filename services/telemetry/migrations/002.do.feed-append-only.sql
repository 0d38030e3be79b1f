-- The feed windows become an append-only log: each ingest appends its per-window aggregates, and
-- the feed publisher merges and deletes them. Ingest then never waits for the publisher's row
-- locks (an upsert on a row the publisher is draining did), and the publisher's transaction may
-- take its time building events.
ALTER TABLE feed_pending DROP CONSTRAINT feed_pending_pkey;
ALTER TABLE feed_pending ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;

-- `latest` is updated in place on every batch: room on its pages keeps those updates HOT (no new
-- index entry per update).
ALTER TABLE latest SET (fillfactor = 70);
