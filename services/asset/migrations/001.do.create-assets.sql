-- The Asset service's own view of an asset: identity, metadata and lifecycle state.
-- `version` increases with every change (optimistic concurrency through ETag / If-Match).
CREATE TABLE assets (
  id            uuid        PRIMARY KEY,
  name          text        NOT NULL,
  type          text        NOT NULL,
  location      text,
  metadata      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  status        text        NOT NULL CHECK (status IN (
                  'commissioning', 'commissioning_failed', 'active', 'maintenance',
                  'decommissioning', 'decommissioned')),
  status_reason text,
  version       integer     NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL
);

-- Ids are UUIDv7 (time-ordered): listing pages by id keeps registration order and a stable cursor.
CREATE INDEX assets_status_id_idx ON assets (status, id);
CREATE INDEX assets_type_id_idx ON assets (type, id);
