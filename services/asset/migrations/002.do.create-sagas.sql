-- Asset-level sagas the Asset service orchestrates (onboarding), with their state and history.
-- `steps` holds each step's status ({"telemetry": "done", "alert": "pending"}); `step` is the step
-- the saga waits on, `attempts` how often that wait's request went out and `deadline` when it times
-- out (NULL when nothing is awaited: over, or waiting for a person in needs_attention).
CREATE TABLE sagas (
  id              uuid        PRIMARY KEY,
  type            text        NOT NULL CHECK (type IN ('onboarding')),
  asset_id        uuid        NOT NULL REFERENCES assets (id),
  status          text        NOT NULL CHECK (status IN (
                    'running', 'compensating', 'completed', 'failed', 'needs_attention')),
  step            text,
  steps           jsonb       NOT NULL,
  attempts        integer     NOT NULL,
  deadline        timestamptz,
  reason          text,
  attention       text,
  correlation_id  text,
  version         integer     NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  CHECK ((deadline IS NULL) = (status NOT IN ('running', 'compensating')))
);

-- At most one unfinished onboarding per asset: replies that carry no saga id find theirs by asset.
CREATE UNIQUE INDEX sagas_open_onboarding_idx ON sagas (asset_id)
  WHERE type = 'onboarding' AND status IN ('running', 'compensating', 'needs_attention');
CREATE INDEX sagas_deadline_idx ON sagas (deadline) WHERE deadline IS NOT NULL;
CREATE INDEX sagas_asset_id_idx ON sagas (asset_id, id);
CREATE INDEX sagas_status_id_idx ON sagas (status, id);

-- Every step of every saga, in order: what was requested, confirmed, timed out, retried or skipped.
CREATE TABLE saga_steps (
  saga_id  uuid        NOT NULL REFERENCES sagas (id),
  seq      integer     NOT NULL,
  step     text        NOT NULL,
  action   text        NOT NULL,
  outcome  text        NOT NULL,
  at       timestamptz NOT NULL,
  detail   jsonb,
  PRIMARY KEY (saga_id, seq)
);
