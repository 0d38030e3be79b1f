-- The pending minute roll-ups a write appends become ONE row per write statement, holding them as
-- parallel arrays (like feed_pending, migration 005), instead of one row per series and minute.
-- The roll-up aggregator unnests, merges and deletes them; queries unnest them beside the tiers
-- (they scanned every pending row before too: the table has no index). STORAGE EXTERNAL: large
-- rows go to TOAST uncompressed.
ALTER TABLE rollup_pending RENAME TO rollup_pending_rows;

CREATE TABLE rollup_pending (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  series_ids  integer[]            NOT NULL,
  class_ids   smallint[]           NOT NULL,
  buckets     timestamptz[]        NOT NULL,
  counts      integer[]            NOT NULL,
  sums        numeric[]            NOT NULL,
  mins        double precision[]   NOT NULL,
  maxs        double precision[]   NOT NULL,
  first_tss   timestamptz[]        NOT NULL,
  firsts      double precision[]   NOT NULL,
  last_tss    timestamptz[]        NOT NULL,
  lasts       double precision[]   NOT NULL
);
ALTER TABLE rollup_pending
  ALTER COLUMN series_ids SET STORAGE EXTERNAL, ALTER COLUMN class_ids SET STORAGE EXTERNAL,
  ALTER COLUMN buckets SET STORAGE EXTERNAL, ALTER COLUMN counts SET STORAGE EXTERNAL,
  ALTER COLUMN sums SET STORAGE EXTERNAL, ALTER COLUMN mins SET STORAGE EXTERNAL,
  ALTER COLUMN maxs SET STORAGE EXTERNAL, ALTER COLUMN first_tss SET STORAGE EXTERNAL,
  ALTER COLUMN firsts SET STORAGE EXTERNAL, ALTER COLUMN last_tss SET STORAGE EXTERNAL,
  ALTER COLUMN lasts SET STORAGE EXTERNAL;

-- Roll-ups appended before this migration and not merged yet: carried over.
INSERT INTO rollup_pending (series_ids, class_ids, buckets, counts, sums, mins, maxs, first_tss, firsts, last_tss, lasts)
SELECT array_agg(series_id), array_agg(class_id), array_agg(bucket), array_agg(count), array_agg(sum),
       array_agg(min), array_agg(max), array_agg(first_ts), array_agg(first), array_agg(last_ts), array_agg(last)
  FROM rollup_pending_rows
HAVING count(*) > 0;

DROP TABLE rollup_pending_rows;
