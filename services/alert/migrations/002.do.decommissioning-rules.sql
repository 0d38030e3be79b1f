-- The decommissioning saga disables an asset's rules; `disabled_by_saga` names the saga that did,
-- so that calling it off re-enables exactly those rules — not the ones a person had disabled.
ALTER TABLE rules ADD COLUMN disabled_by_saga uuid;
CREATE INDEX rules_disabled_by_saga_idx ON rules (disabled_by_saga) WHERE disabled_by_saga IS NOT NULL;
