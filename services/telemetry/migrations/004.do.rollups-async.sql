-- Roll-ups and latest values leave the ingest transaction. Each ingest appends the minute
-- aggregates of the readings it inserted here (a plain append: no index, no upsert, no row lock
-- shared with another batch), and the roll-up aggregator (one leader per database, every ~250 ms)
-- claims them, merges them per series and minute, and upserts the 1m/1h/1d tiers and `latest` —
-- once for all the batches of the interval instead of once per batch. Queries read these rows
-- beside the tiers and `latest`, in the same statement, so their answers stay exact meanwhile.
-- `sum` is numeric like the tiers', so the order of merging cannot change it.
CREATE TABLE rollup_pending (
  series_id   integer          NOT NULL,
  class_id    smallint         NOT NULL,
  bucket      timestamptz      NOT NULL,
  count       integer          NOT NULL,
  sum         numeric          NOT NULL,
  min         double precision NOT NULL,
  max         double precision NOT NULL,
  first_ts    timestamptz      NOT NULL,
  first       double precision NOT NULL,
  last_ts     timestamptz      NOT NULL,
  last        double precision NOT NULL
);
