import {
  AlertCleared,
  AssetRegistered,
  AssetStatusChanged,
  type EventEnvelope,
  type Severity,
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
import { appendHistory } from '../evaluation/evaluator.js';
import type { ProfileRule } from '../rules/profiles.js';
import { silentAtSql } from '../rules/rule.model.js';
import { initializeThresholds } from './onboarding-handlers.js';

export interface AssetHandlerDeps {
  clock: Clock;
  ids: IdGenerator;
  profiles: Record<string, ProfileRule[]>;
}

/**
 * The Alert service's handlers of the asset events: its own list of assets, the default rules of a
 * new asset's type profile (ThresholdsInitialized), maintenance suppression ending, and the alerts
 * of a decommissioned asset cleared.
 */
export function assetHandlers(deps: AssetHandlerDeps): EventHandlers {
  return {
    ...eventHandler(AssetRegistered, async (tx, event) => {
      const d = event.data;
      const { rowCount } = await tx.query(
        `INSERT INTO known_assets (asset_id, asset_type, status, version, updated_at) VALUES ($1, $2, $3, 1, $4)
         ON CONFLICT (asset_id) DO NOTHING`,
        [d.assetId, d.type, d.status, d.registeredAt],
      );
      if (rowCount === 0) return;
      await initializeThresholds(tx, deps, { assetId: d.assetId, assetType: d.type }, event, null);
    }),
    ...eventHandler(AssetStatusChanged, async (tx, event) => {
      const d = event.data;
      const { rows } = await tx.query<{ status: string }>(
        `INSERT INTO known_assets AS k (asset_id, asset_type, status, version, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (asset_id) DO UPDATE SET status = excluded.status, version = excluded.version, updated_at = excluded.updated_at
          WHERE k.version < excluded.version
         RETURNING status`,
        [d.assetId, d.assetType, d.to, d.version, d.changedAt],
      );
      if (rows.length === 0) return; // an older change than the one already applied
      if (d.from === 'maintenance' && d.to !== 'maintenance') {
        await closeAlerts(tx, deps, d.assetId, ['suppressed'], 'maintenance ended', event);
      }
      if (d.to === 'decommissioned') {
        await closeAlerts(
          tx,
          deps,
          d.assetId,
          ['pending', 'firing', 'acknowledged', 'suppressed'],
          'asset decommissioned',
          event,
        );
        await tx.query('DELETE FROM eval_state WHERE asset_id = $1', [d.assetId]);
      }
    }),
  };
}

/**
 * Clears an asset's alerts in the given states and resets their rules' evaluation, so that a
 * condition still holding starts a new episode. Raised alerts get an AlertCleared.
 */
export async function closeAlerts(
  tx: PoolClient,
  deps: Pick<AssetHandlerDeps, 'clock' | 'ids'>,
  assetId: string,
  statuses: string[],
  cause: string,
  causedBy?: EventEnvelope,
): Promise<number> {
  const now = deps.clock.now();
  const { rows } = await tx.query<{
    id: string;
    rule_id: string;
    status: string;
    severity: Severity;
    value: number | null;
  }>(
    `UPDATE alerts a SET status = 'cleared', cleared_at = $3
       FROM (SELECT id, status AS old_status FROM alerts WHERE asset_id = $1 AND status = ANY($2::text[]) FOR UPDATE) o
      WHERE a.id = o.id
      RETURNING a.id, a.rule_id, o.old_status AS status, a.severity, a.value`,
    [assetId, statuses, now],
  );
  const events: EventEnvelope[] = [];
  for (const a of rows) {
    await appendHistory(tx, a.id, { status: 'cleared', at: now, value: null, cause, severity: a.severity });
    await tx.query(
      `UPDATE eval_state e SET alert_id = NULL,
              state = e.state || '{"phase": "idle", "since": null, "clearingSince": null, "escalated": false}'::jsonb,
              silent_at = ${silentAtSql('e.last_seen_at')}
         FROM rules r
        WHERE r.id = e.rule_id AND e.rule_id = $1 AND e.asset_id = $2`,
      [a.rule_id, assetId],
    );
    if (a.status === 'firing' || a.status === 'acknowledged') {
      events.push(
        createEvent(
          AlertCleared,
          {
            alertId: a.id,
            ruleId: a.rule_id,
            assetId,
            severity: a.severity,
            value: a.value,
            cause,
            at: now.toISOString(),
          },
          { subject: assetId, clock: deps.clock, ids: deps.ids, ...(causedBy ? { causedBy } : {}) },
        ),
      );
    }
  }
  await appendToOutbox(tx, events);
  return rows.length;
}
