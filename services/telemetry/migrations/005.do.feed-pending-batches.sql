-- The feed windows a write appends become ONE row per write statement, holding the windows as
-- parallel arrays, instead of one row per series and window. Only the feed publisher reads them
-- (it unnests, merges and deletes them), so nothing needs them indexed by series: a batch of
-- 1,000 readings of 1,000 devices appended 1,000 rows and index entries (and the publisher
-- deleted, and vacuum removed, as many); it now appends one. STORAGE EXTERNAL: large rows go to
-- TOAST uncompressed (compressing them cost more than it saved for a row that lives ~100 ms).
ALTER TABLE feed_pending RENAME TO feed_pending_rows;

CREATE TABLE feed_pending (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  series_ids     integer[]            NOT NULL,
  window_starts  timestamptz[]        NOT NULL,
  counts         integer[]            NOT NULL,
  sums           numeric[]            NOT NULL,
  mins           double precision[]   NOT NULL,
  maxs           double precision[]   NOT NULL,
  first_tss      timestamptz[]        NOT NULL,
  firsts         double precision[]   NOT NULL,
  last_tss       timestamptz[]        NOT NULL,
  lasts          double precision[]   NOT NULL
);
ALTER TABLE feed_pending
  ALTER COLUMN series_ids SET STORAGE EXTERNAL, ALTER COLUMN window_starts SET STORAGE EXTERNAL,
  ALTER COLUMN counts SET STORAGE EXTERNAL, ALTER COLUMN sums SET STORAGE EXTERNAL,
  ALTER COLUMN mins SET STORAGE EXTERNAL, ALTER COLUMN maxs SET STORAGE EXTERNAL,
  ALTER COLUMN first_tss SET STORAGE EXTERNAL, ALTER COLUMN firsts SET STORAGE EXTERNAL,
  ALTER COLUMN last_tss SET STORAGE EXTERNAL, ALTER COLUMN lasts SET STORAGE EXTERNAL;

-- Windows appended before this migration and not announced yet: carried over, in their order.
INSERT INTO feed_pending (series_ids, window_starts, counts, sums, mins, maxs, first_tss, firsts, last_tss, lasts)
SELECT array_agg(series_id ORDER BY id), array_agg(window_start ORDER BY id), array_agg(count ORDER BY id),
       array_agg(sum ORDER BY id), array_agg(min ORDER BY id), array_agg(max ORDER BY id),
       array_agg(first_ts ORDER BY id), array_agg(first ORDER BY id), array_agg(last_ts ORDER BY id),
       array_agg(last ORDER BY id)
  FROM feed_pending_rows
HAVING count(*) > 0;

DROP TABLE feed_pending_rows;
