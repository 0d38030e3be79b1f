import { type ConfigOf, duration, integer } from '@assetops/platform';

/** The Asset service's settings (environment variables), validated at start. */
export const assetConfigSpec = {
  ASSET_SAGA_STEP_TIMEOUT: duration({
    default: 30_000,
    description:
      'how long a saga (onboarding, decommissioning) waits for a step (or a compensation) before asking again; each retry waits twice as long, at most 8×',
  }),
  ASSET_SAGA_MAX_ATTEMPTS: integer({
    default: 3,
    min: 1,
    max: 20,
    description: 'requests per step before a saga compensates (or, for a compensation, asks for attention)',
  }),
};

export type AssetConfig = ConfigOf<typeof assetConfigSpec>;
