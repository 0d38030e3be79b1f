-- Trimming the journal (src/journal/journal.trim.ts): a telemetry window is superseded once its
-- asset and metric has a newer one journaled, and a replay of the rest builds the same read model.

-- A keyed event always has a time to be superseded by.
ALTER TABLE journal ADD CONSTRAINT journal_compact_ts_present
  CHECK (compact_key IS NULL OR compact_ts IS NOT NULL);

-- The newest event of a key is this index's first entry for it: newest time, then the lowest
-- position (among equal times the first applied wins, as in a replay).
DROP INDEX journal_compact_idx;
CREATE INDEX journal_newest_idx ON journal (compact_key, compact_ts DESC, position)
  WHERE compact_key IS NOT NULL;

-- How far trimming has examined the journal: every row up to `examined_through` has been checked
-- against the newest row of its key. One row.
CREATE TABLE journal_trim (
  singleton        boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  examined_through bigint NOT NULL DEFAULT 0,
  trimmed_total    bigint NOT NULL DEFAULT 0,
  trimmed_at       timestamptz
);
INSERT INTO journal_trim DEFAULT VALUES;
