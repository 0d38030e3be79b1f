-- The decommissioning saga holds an asset's readings back while it takes the asset out of service.
-- The hold is its own column, apart from `accepting` (onboarding's switch), and names the saga that
-- set it: calling the saga off lifts exactly its own hold and leaves what onboarding decided alone.
ALTER TABLE known_assets ADD COLUMN held_by_saga uuid;
