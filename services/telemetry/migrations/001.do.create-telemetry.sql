-- The Telemetry service's own list of assets, kept from AssetRegistered / AssetStatusChanged
-- events (never read from the Asset database). Readings for an asset not here, or not accepting,
-- are rejected with a reason.
CREATE TABLE known_assets (
  asset_id    uuid        PRIMARY KEY,
  asset_type  text        NOT NULL,
  status      text        NOT NULL,
  -- false while ingestion is closed for the asset (decommissioning); set by sagas later.
  accepting   boolean     NOT NULL DEFAULT true,
  version     integer     NOT NULL,
  updated_at  timestamptz NOT NULL
);

-- Retention classes: one row per distinct set of tier retentions in use (the global default and
-- each asset type with its own). Every reading and roll-up row carries its series' class, and each
-- table is partitioned by class first, then by time, so retention drops whole partitions.
CREATE TABLE retention_classes (
  class_id    smallint    GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  raw_ms      bigint      NOT NULL,
  m1_ms       bigint      NOT NULL,
  h1_ms       bigint      NOT NULL,
  d1_ms       bigint      NOT NULL,
  UNIQUE (raw_ms, m1_ms, h1_ms, d1_ms)
);

-- One series per (asset, metric): readings refer to it by a 4-byte id, which keeps them small.
-- A series keeps the retention class it was created with.
CREATE TABLE series (
  series_id   integer     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  asset_id    uuid        NOT NULL,
  metric      text        NOT NULL,
  class_id    smallint    NOT NULL REFERENCES retention_classes (class_id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (asset_id, metric)
);

-- Raw readings: LIST by class, then RANGE by day (partitions created ahead by the service).
-- 48 bytes of tuple + 24 of primary key; the key makes a re-sent reading a no-op.
CREATE TABLE readings (
  series_id   integer          NOT NULL,
  class_id    smallint         NOT NULL,
  ts          timestamptz      NOT NULL,
  value       double precision NOT NULL,
  PRIMARY KEY (series_id, class_id, ts)
) PARTITION BY LIST (class_id);

-- Compacted raw readings: one row per series and hour, holding millisecond offsets from `hour`
-- and the values, in time order. Raw day partitions older than the compaction age are moved here.
CREATE TABLE readings_packed (
  series_id   integer            NOT NULL,
  class_id    smallint           NOT NULL,
  hour        timestamptz        NOT NULL,
  offsets_ms  integer[]          NOT NULL,
  vals        double precision[] NOT NULL,
  PRIMARY KEY (series_id, class_id, hour)
) PARTITION BY LIST (class_id);

-- Roll-up tiers: everything needed to merge buckets exactly (any coarser avg/min/max/sum/count/
-- first/last). `sum` is numeric so that the order readings arrive in cannot change it.
CREATE TABLE rollup_1m (
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
  last        double precision NOT NULL,
  PRIMARY KEY (series_id, class_id, bucket)
) PARTITION BY LIST (class_id);

CREATE TABLE rollup_1h (LIKE rollup_1m INCLUDING ALL) PARTITION BY LIST (class_id);
CREATE TABLE rollup_1d (LIKE rollup_1m INCLUDING ALL) PARTITION BY LIST (class_id);

-- Latest value per series; an older reading arriving late never overwrites a newer one.
CREATE TABLE latest (
  series_id   integer          PRIMARY KEY,
  ts          timestamptz      NOT NULL,
  value       double precision NOT NULL,
  updated_at  timestamptz      NOT NULL DEFAULT now()
);

-- Aggregates of accepted readings not yet announced as TelemetryAggregated, per series and
-- event-time window. The feed publisher moves them into the outbox in one transaction.
CREATE TABLE feed_pending (
  series_id    integer          NOT NULL,
  window_start timestamptz      NOT NULL,
  count        integer          NOT NULL,
  sum          numeric          NOT NULL,
  min          double precision NOT NULL,
  max          double precision NOT NULL,
  first_ts     timestamptz      NOT NULL,
  first        double precision NOT NULL,
  last_ts      timestamptz      NOT NULL,
  last         double precision NOT NULL,
  PRIMARY KEY (series_id, window_start)
);
