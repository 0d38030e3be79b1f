-- What Maintenance did for each decommissioning saga (the Asset service's), so that its answer to a
-- repeated request is the same and its compensation undoes exactly that: the work orders it
-- cancelled and the plans it deactivated. `withdrawn_at` is NULL while nothing was done (refused,
-- or not yet asked); `restored_at` is set once compensated — also when the compensation came
-- first, so that a late request does nothing.
CREATE TABLE asset_decommissions (
  saga_id                uuid        PRIMARY KEY,
  asset_id               uuid        NOT NULL,
  forced                 boolean     NOT NULL DEFAULT false,
  cancelled_work_orders  uuid[]      NOT NULL DEFAULT '{}',
  deactivated_plans      uuid[]      NOT NULL DEFAULT '{}',
  withdrawn_at           timestamptz,
  restored_at            timestamptz
);
CREATE INDEX asset_decommissions_asset_idx ON asset_decommissions (asset_id);
