-- The Dashboard read model (CQRS): denormalized views built from every service's events. Nothing
-- here is a source of truth; it can all be rebuilt from the journal.

-- Generations of the projection tables. Readers and live handlers use the `active` one; a rebuild
-- fills a `building` one from the journal and switches it to active in one transaction.
CREATE TABLE generations (
  generation   integer PRIMARY KEY,
  state        text NOT NULL CHECK (state IN ('active', 'building', 'retired')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  activated_at timestamptz
);
CREATE UNIQUE INDEX generations_one_active ON generations ((true)) WHERE state = 'active';
CREATE UNIQUE INDEX generations_one_building ON generations ((true)) WHERE state = 'building';
INSERT INTO generations (generation, state, activated_at) VALUES (1, 'active', now());

-- The generation a live handler (requested NULL) or a replay (requested = its generation) writes.
-- STABLE: evaluated with the calling statement's snapshot.
CREATE FUNCTION target_generation(requested integer) RETURNS integer
  LANGUAGE sql STABLE
  AS $$ SELECT coalesce(requested, (SELECT generation FROM generations WHERE state = 'active')) $$;

-- Append-only journal of every event the dashboard consumed, written in the transaction that
-- applies it: the retained history a rebuild replays. `compact_key` marks events superseded by a
-- later one of the same key (telemetry: asset and metric), which compaction may delete.
CREATE TABLE journal (
  position    bigserial PRIMARY KEY,
  event_id    uuid NOT NULL UNIQUE,
  type        text NOT NULL,
  subject     text,
  event_time  timestamptz NOT NULL,
  compact_key text,
  compact_ts  timestamptz,
  event       jsonb NOT NULL
);
CREATE INDEX journal_compact_idx ON journal (compact_key, compact_ts) WHERE compact_key IS NOT NULL;

-- Every change of an asset's view takes the next position: the SSE stream's monotonic event id.
CREATE SEQUENCE change_position;

CREATE TABLE assets (
  generation       integer NOT NULL,
  asset_id         uuid NOT NULL,
  -- Until AssetRegistered arrived (events of other services can come first) the asset is not shown.
  registered       boolean NOT NULL DEFAULT false,
  name             text,
  type             text,
  location         text,
  status           text,
  status_reason    text,
  -- The asset version each field was last set at: an older event never overwrites a newer value.
  name_version     integer NOT NULL DEFAULT 0,
  location_version integer NOT NULL DEFAULT 0,
  status_version   integer NOT NULL DEFAULT 0,
  last_seen_at     timestamptz,
  alerts_info      integer NOT NULL DEFAULT 0,
  alerts_warning   integer NOT NULL DEFAULT 0,
  alerts_major     integer NOT NULL DEFAULT 0,
  alerts_critical  integer NOT NULL DEFAULT 0,
  -- critical, major, warning, info counts as one sortable number (see projection.rules.ts).
  alert_score      bigint NOT NULL DEFAULT 0,
  open_work_orders integer NOT NULL DEFAULT 0,
  updated_at       timestamptz NOT NULL,
  position         bigint NOT NULL,
  PRIMARY KEY (generation, asset_id)
);
CREATE INDEX assets_position_idx ON assets (generation, position);
CREATE INDEX assets_name_idx ON assets (generation, lower(name), asset_id);
CREATE INDEX assets_alerts_idx ON assets (generation, alert_score, asset_id);

CREATE TABLE asset_metrics (
  generation integer NOT NULL,
  asset_id   uuid NOT NULL,
  metric     text NOT NULL,
  value      double precision NOT NULL,
  ts         timestamptz NOT NULL,
  PRIMARY KEY (generation, asset_id, metric)
);

-- Alerts by id. A cleared alert stays as a tombstone, so an AlertRaised arriving after its
-- AlertCleared leaves no ghost active alert.
CREATE TABLE alerts (
  generation integer NOT NULL,
  alert_id   uuid NOT NULL,
  asset_id   uuid NOT NULL,
  severity   text NOT NULL,
  title      text,
  metric     text,
  state      text NOT NULL CHECK (state IN ('firing', 'acknowledged', 'cleared')),
  raised_at  timestamptz,
  PRIMARY KEY (generation, alert_id)
);
CREATE INDEX alerts_active_idx ON alerts (generation, asset_id) WHERE state <> 'cleared';

CREATE TABLE work_orders (
  generation    integer NOT NULL,
  work_order_id uuid NOT NULL,
  asset_id      uuid NOT NULL,
  status        text NOT NULL,
  version       integer NOT NULL,
  PRIMARY KEY (generation, work_order_id)
);
CREATE INDEX work_orders_asset_idx ON work_orders (generation, asset_id);

CREATE TABLE rebuilds (
  id            uuid PRIMARY KEY,
  generation    integer NOT NULL,
  state         text NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
  total         bigint NOT NULL,
  replayed      bigint NOT NULL DEFAULT 0,
  last_position bigint NOT NULL DEFAULT 0,
  started_at    timestamptz NOT NULL,
  heartbeat_at  timestamptz NOT NULL,
  finished_at   timestamptz,
  error         text
);
