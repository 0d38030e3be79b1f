-- A processed inbox row is only the duplicate filter (consumer, event_id), kept for the retention:
-- its body is dropped when it is processed (pending and dead rows keep theirs, for processing and
-- redrive). At high event rates the bodies were most of the inbox's size for a week.
ALTER TABLE inbox ALTER COLUMN event DROP NOT NULL;
