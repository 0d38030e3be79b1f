-- The Alert service's own list of assets (from AssetRegistered / AssetStatusChanged): type-wide
-- rules apply by type, maintenance suppresses, decommissioned assets raise nothing.
CREATE TABLE known_assets (
  asset_id    uuid        PRIMARY KEY,
  asset_type  text        NOT NULL,
  status      text        NOT NULL,
  version     integer     NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX known_assets_type_idx ON known_assets (asset_type) WHERE status <> 'decommissioned';

-- Alert rules: one asset (asset_id) or every asset of a type (asset_type), one metric.
CREATE TABLE rules (
  id              uuid        PRIMARY KEY,
  name            text        NOT NULL,
  asset_id        uuid,
  asset_type      text,
  metric          text        NOT NULL,
  condition       jsonb       NOT NULL,
  severity        text        NOT NULL CHECK (severity IN ('info', 'warning', 'major', 'critical')),
  for_ms          bigint      NOT NULL DEFAULT 0,
  clear           jsonb,
  keep_firing_ms  bigint      NOT NULL DEFAULT 0,
  escalation      jsonb,
  enabled         boolean     NOT NULL DEFAULT true,
  origin          text        NOT NULL DEFAULT 'user',
  version         integer     NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  CHECK ((asset_id IS NULL) <> (asset_type IS NULL))
);
CREATE INDEX rules_asset_metric_idx ON rules (asset_id, metric) WHERE asset_id IS NOT NULL;
CREATE INDEX rules_type_metric_idx ON rules (asset_type, metric) WHERE asset_type IS NOT NULL;

-- Alerts: one active (pending, firing, acknowledged or suppressed) per rule and asset; a clear and
-- a new crossing start a new episode (a new row).
CREATE TABLE alerts (
  id               uuid        PRIMARY KEY,
  rule_id          uuid        NOT NULL,
  rule_name        text        NOT NULL,
  asset_id         uuid        NOT NULL,
  metric           text        NOT NULL,
  status           text        NOT NULL CHECK (status IN ('pending', 'firing', 'acknowledged', 'cleared', 'suppressed')),
  severity         text        NOT NULL,
  episode          integer     NOT NULL,
  value            double precision,
  started_at       timestamptz NOT NULL,
  raised_at        timestamptz,
  acknowledged_at  timestamptz,
  acknowledged_by  text,
  ack_comment      text,
  cleared_at       timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alerts_one_active_idx ON alerts (rule_id, asset_id)
  WHERE status IN ('pending', 'firing', 'acknowledged', 'suppressed');
CREATE INDEX alerts_status_idx ON alerts (status, id);
CREATE INDEX alerts_asset_idx ON alerts (asset_id, id);

-- Every transition of an alert, with its (event) time, value and cause.
CREATE TABLE alert_history (
  alert_id     uuid             NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  seq          integer          NOT NULL,
  status       text             NOT NULL,
  at           timestamptz      NOT NULL,
  value        double precision,
  cause        text             NOT NULL,
  severity     text             NOT NULL,
  recorded_at  timestamptz      NOT NULL DEFAULT now(),
  PRIMARY KEY (alert_id, seq)
);

-- Evaluation state of each rule on each asset, committed with the inbox record of the event that
-- changed it: a restart loses no pending timer and a redelivered event changes nothing.
CREATE TABLE eval_state (
  rule_id       uuid        NOT NULL,
  asset_id      uuid        NOT NULL,
  state         jsonb       NOT NULL,
  alert_id      uuid,
  episodes      integer     NOT NULL DEFAULT 0,
  -- Wall-clock time data was last seen (or watching began): the clock of no-data rules.
  last_seen_at  timestamptz NOT NULL,
  PRIMARY KEY (rule_id, asset_id)
);
