-- The Maintenance service's own list of assets (from AssetRegistered / AssetStatusChanged): work
-- orders are refused for assets it does not know or that are decommissioned. `version` is the
-- asset's version, so an older status change never overrides a newer one.
CREATE TABLE known_assets (
  asset_id    uuid        PRIMARY KEY,
  asset_type  text        NOT NULL,
  status      text        NOT NULL,
  version     integer     NOT NULL,
  updated_at  timestamptz NOT NULL
);

-- Technicians. `shifts` is a list of weekly windows in UTC ({days, start, end}); an empty list
-- means on call at any time. `available` is the day-to-day switch (sick, on leave), `active` false
-- once the technician left: neither kind is chosen by the automatic assignment.
CREATE TABLE technicians (
  id          uuid        PRIMARY KEY,
  name        text        NOT NULL,
  skills      text[]      NOT NULL DEFAULT '{}',
  shifts      jsonb       NOT NULL DEFAULT '[]'::jsonb,
  available   boolean     NOT NULL DEFAULT true,
  active      boolean     NOT NULL DEFAULT true,
  version     integer     NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX technicians_skills_idx ON technicians USING gin (skills) WHERE active;

-- Work orders. `due_at` is created_at plus the SLA of the priority (moved earlier when the priority
-- is raised). `source_ref` names what caused the work order: the alert id for source 'alert'.
CREATE TABLE work_orders (
  id              uuid        PRIMARY KEY,
  asset_id        uuid        NOT NULL,
  title           text        NOT NULL,
  description     text,
  priority        text        NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
  source          text        NOT NULL CHECK (source IN ('manual', 'alert', 'plan')),
  source_ref      text,
  status          text        NOT NULL CHECK (status IN (
                    'open', 'assigned', 'in_progress', 'on_hold', 'completed', 'cancelled')),
  assignee_id     uuid        REFERENCES technicians (id),
  required_skill  text,
  due_at          timestamptz NOT NULL,
  started_at      timestamptz,
  completed_at    timestamptz,
  version         integer     NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  CHECK (source = 'manual' OR source_ref IS NOT NULL),
  CHECK (status = 'open' OR status = 'cancelled' OR assignee_id IS NOT NULL)
);
-- One work order per alert episode (an alert id is one episode), however often its events are
-- delivered or replayed: the insert of a second one is a no-op (ON CONFLICT DO NOTHING).
CREATE UNIQUE INDEX work_orders_one_per_alert_idx ON work_orders (source_ref) WHERE source = 'alert';
-- Ids are UUIDv7: lists page by id (newest first) within each filter.
CREATE INDEX work_orders_status_idx ON work_orders (status, id);
CREATE INDEX work_orders_asset_idx ON work_orders (asset_id, id);
-- The load of each technician (assigned and in-progress work orders), counted by every assignment.
CREATE INDEX work_orders_assignee_idx ON work_orders (assignee_id, status) WHERE assignee_id IS NOT NULL;

-- Notes on a work order, by people (author) or by the service itself (author NULL). A note written
-- in reaction to an event carries a `dedupe_key`, so a replayed event adds it once.
CREATE TABLE work_order_notes (
  id             uuid        PRIMARY KEY,
  work_order_id  uuid        NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
  at             timestamptz NOT NULL,
  author         text,
  text           text        NOT NULL,
  dedupe_key     text,
  UNIQUE (work_order_id, dedupe_key)
);
CREATE INDEX work_order_notes_order_idx ON work_order_notes (work_order_id, at, id);

-- Every status of a work order, from its creation (from_status NULL), keyed by the work order's
-- version after the change.
CREATE TABLE work_order_history (
  work_order_id  uuid        NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
  version        integer     NOT NULL,
  from_status    text,
  to_status      text        NOT NULL,
  at             timestamptz NOT NULL,
  reason         text,
  assignee_id    uuid,
  PRIMARY KEY (work_order_id, version)
);
