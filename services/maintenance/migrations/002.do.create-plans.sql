-- Preventive maintenance plans: a time trigger (every N days, weeks or calendar months), a usage
-- trigger (every N units of a counter metric of the asset, from TelemetryAggregated), or both —
-- whichever comes first. Each due occurrence opens one work order (source 'plan').
--
-- The time schedule is `schedule_anchor + k × interval` with k = `schedule_step` for the next due
-- date (kept apart rather than as a running date so that month ends do not drift: Jan 31 → Feb 28
-- → Mar 31). `next_due_at` and `opens_at` (next_due_at minus the lead time) are derived from them
-- and stored for the timer's index; both are NULL without an interval.
--
-- Usage: `usage_since_last` counts the units since the previous occurrence; `counter_last_value` /
-- `counter_last_at` are the last counter reading taken into account (NULL until the first one),
-- the baseline of the next window and the filter of late windows.
CREATE TABLE maintenance_plans (
  id                  uuid             PRIMARY KEY,
  asset_id            uuid             NOT NULL,
  title               text             NOT NULL,
  description         text,
  priority            text             NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
  required_skill      text,
  interval_every      integer          CHECK (interval_every > 0),
  interval_unit       text             CHECK (interval_unit IN ('day', 'week', 'month')),
  usage_metric        text,
  usage_every         double precision CHECK (usage_every > 0),
  usage_kind          text             CHECK (usage_kind IN ('counter')),
  lead_amount         integer          NOT NULL DEFAULT 0 CHECK (lead_amount >= 0),
  lead_unit           text             NOT NULL DEFAULT 'day' CHECK (lead_unit IN ('hour', 'day', 'week')),
  active              boolean          NOT NULL DEFAULT true,
  starts_at           timestamptz      NOT NULL,
  schedule_anchor     timestamptz      NOT NULL,
  schedule_step       integer          NOT NULL DEFAULT 1 CHECK (schedule_step >= 1),
  next_due_at         timestamptz,
  opens_at            timestamptz,
  usage_since_last    double precision NOT NULL DEFAULT 0,
  counter_last_value  double precision,
  counter_last_at     timestamptz,
  occurrences         integer          NOT NULL DEFAULT 0,
  version             integer          NOT NULL DEFAULT 1,
  created_at          timestamptz      NOT NULL,
  updated_at          timestamptz      NOT NULL,
  CHECK ((interval_every IS NULL) = (interval_unit IS NULL)),
  CHECK ((usage_metric IS NULL) = (usage_every IS NULL) AND (usage_metric IS NULL) = (usage_kind IS NULL)),
  CHECK (interval_every IS NOT NULL OR usage_metric IS NOT NULL),
  CHECK ((interval_every IS NULL) = (next_due_at IS NULL) AND (next_due_at IS NULL) = (opens_at IS NULL))
);
-- Ids are UUIDv7: lists page by id (newest first) within each filter.
CREATE INDEX maintenance_plans_asset_idx ON maintenance_plans (asset_id, id);
-- The timer's question: which active plans open a work order by now.
CREATE INDEX maintenance_plans_opens_idx ON maintenance_plans (opens_at) WHERE active AND opens_at IS NOT NULL;
-- The telemetry handler's question, asked for every TelemetryAggregated: which active plans count
-- this asset's metric.
CREATE INDEX maintenance_plans_usage_idx ON maintenance_plans (asset_id, usage_metric)
  WHERE active AND usage_metric IS NOT NULL;

-- Every due occurrence of a plan and the work order it opened, in the same transaction. The primary
-- key (plan_id, occurrence) is the guarantee of exactly one work order per due occurrence: a second
-- attempt at the same occurrence fails and rolls back its work order with it.
CREATE TABLE plan_occurrences (
  plan_id        uuid             NOT NULL REFERENCES maintenance_plans (id),
  occurrence     integer          NOT NULL CHECK (occurrence >= 1),
  work_order_id  uuid             NOT NULL REFERENCES work_orders (id),
  due_at         timestamptz      NOT NULL,
  reason         text             NOT NULL CHECK (reason IN ('time', 'usage')),
  usage          double precision,
  created_at     timestamptz      NOT NULL,
  PRIMARY KEY (plan_id, occurrence)
);
CREATE UNIQUE INDEX plan_occurrences_work_order_idx ON plan_occurrences (work_order_id);

-- The same guarantee seen from the work orders: one per `<plan id>:<occurrence>`.
CREATE UNIQUE INDEX work_orders_one_per_plan_occurrence_idx ON work_orders (source_ref) WHERE source = 'plan';
