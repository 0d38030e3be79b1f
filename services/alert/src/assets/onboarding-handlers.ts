import {
  type EventEnvelope,
  OnboardingCompensationRequested,
  OnboardingStepRequested,
  ThresholdsInitialized,
  ThresholdsRemoved,
} from '@assetops/contracts';
import {
  appendToOutbox,
  type Clock,
  createEvent,
  type EventHandlers,
  eventHandler,
  type IdGenerator,
  type PoolClient,
} from '@assetops/platform';
import { clearAlertsOfRule } from '../alerts/alert.commands.js';
import type { ProfileRule } from '../rules/profiles.js';
import { insertRule } from '../rules/rule.store.js';

export interface OnboardingDeps {
  clock: Clock;
  ids: IdGenerator;
  profiles: Record<string, ProfileRule[]>;
}

/**
 * Alert's part in the onboarding saga the Asset service runs. Action: the asset's type profile
 * rules exist (ThresholdsInitialized) — created on AssetRegistered, or on a request of the saga when
 * the asset has none (its registration was missed, or an earlier onboarding was undone).
 * Compensation: the profile rules created for the asset are removed, their open alerts cleared
 * (ThresholdsRemoved). Both are idempotent and always answer, so a repeated request is confirmed
 * again rather than ignored.
 */
export function onboardingHandlers(deps: OnboardingDeps): EventHandlers {
  return {
    ...eventHandler(OnboardingStepRequested, async (tx, event) => {
      const d = event.data;
      if (d.step !== 'alert') return;
      // Known from now on, in the only status the saga asks in; a later status change overrides it.
      await tx.query(
        `INSERT INTO known_assets (asset_id, asset_type, status, version, updated_at)
         VALUES ($1, $2, 'commissioning', 1, $3)
         ON CONFLICT (asset_id) DO NOTHING`,
        [d.assetId, d.assetType, event.time],
      );
      await initializeThresholds(tx, deps, { assetId: d.assetId, assetType: d.assetType }, event, d.sagaId);
    }),
    ...eventHandler(OnboardingCompensationRequested, async (tx, event) => {
      const d = event.data;
      if (d.step !== 'alert') return;
      const ruleIds = await profileRuleIds(tx, d.assetId);
      for (const ruleId of ruleIds) {
        await clearAlertsOfRule(tx, deps, ruleId, 'onboarding undone', 'delete', {
          correlationId: event.correlationid,
        });
      }
      await tx.query('DELETE FROM rules WHERE id = ANY($1::uuid[])', [ruleIds]);
      await appendToOutbox(tx, [
        createEvent(
          ThresholdsRemoved,
          { assetId: d.assetId, sagaId: d.sagaId, ruleIds, at: deps.clock.now().toISOString() },
          { subject: d.assetId, clock: deps.clock, ids: deps.ids, causedBy: event },
        ),
      ]);
    }),
  };
}

/**
 * Makes sure the asset has its type profile's rules — creating them only when it has none — and
 * announces them (ThresholdsInitialized; `sagaId` null when answering AssetRegistered).
 */
export async function initializeThresholds(
  tx: PoolClient,
  deps: OnboardingDeps,
  asset: { assetId: string; assetType: string },
  cause: EventEnvelope,
  sagaId: string | null,
): Promise<void> {
  const profile = deps.profiles[asset.assetType];
  let ruleIds = await profileRuleIds(tx, asset.assetId);
  if (ruleIds.length === 0) {
    for (const rule of profile ?? []) {
      const created = await insertRule(
        tx,
        deps.ids.next(),
        { ...rule, assetId: asset.assetId },
        `profile:${asset.assetType}`,
        deps.clock.now(),
      );
      ruleIds = [...ruleIds, created.id];
    }
  }
  await appendToOutbox(tx, [
    createEvent(
      ThresholdsInitialized,
      {
        assetId: asset.assetId,
        assetType: asset.assetType,
        profile: profile ? asset.assetType : null,
        ruleIds,
        sagaId,
      },
      { subject: asset.assetId, clock: deps.clock, ids: deps.ids, causedBy: cause },
    ),
  ]);
}

/**
 * The rules created for the asset from a type profile (not the user's own), oldest first, locked:
 * the rule first is the order deleteRule takes (rule, evaluation rows, alerts).
 */
async function profileRuleIds(tx: PoolClient, assetId: string): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `SELECT id FROM rules WHERE asset_id = $1 AND origin LIKE 'profile:%' ORDER BY created_at, id FOR UPDATE`,
    [assetId],
  );
  return rows.map((r) => r.id);
}
