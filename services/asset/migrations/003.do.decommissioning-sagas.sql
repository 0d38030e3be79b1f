-- The decommissioning saga joins onboarding in the saga tables. `input` is what a saga was started
-- with (decommissioning: {"force", "note", "formerStatus"}); NULL for onboarding.
ALTER TABLE sagas DROP CONSTRAINT sagas_type_check;
ALTER TABLE sagas ADD CONSTRAINT sagas_type_check CHECK (type IN ('onboarding', 'decommissioning'));
ALTER TABLE sagas ADD COLUMN input jsonb;

-- At most one unfinished decommissioning per asset: a second request is a 409, and the replies of
-- the participants name their saga.
CREATE UNIQUE INDEX sagas_open_decommissioning_idx ON sagas (asset_id)
  WHERE type = 'decommissioning' AND status IN ('running', 'compensating', 'needs_attention');
