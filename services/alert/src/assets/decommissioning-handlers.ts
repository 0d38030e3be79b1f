import {
  AssetAlertingDisabled,
  AssetAlertingRestored,
  DecommissioningCompensationRequested,
  DecommissioningStepRequested,
} from '@assetops/contracts';
import {
  appendToOutbox,
  type Clock,
  createEvent,
  type EventHandlers,
  eventHandler,
  type IdGenerator,
} from '@assetops/platform';
import { clearAlertsOfRule } from '../alerts/alert.commands.js';
import { closeAlerts } from './asset-handlers.js';

export interface DecommissioningDeps {
  clock: Clock;
  ids: IdGenerator;
  /** Told about rules enabled again, so that the windows they watch are not filtered out meanwhile. */
  onRulesEnabled?: (rules: { assetId: string; metric: string }[]) => void;
}

const CAUSE = 'asset decommissioning';

/**
 * Alert's part in the decommissioning saga the Asset service runs.
 *
 * Action (DecommissioningStepRequested, step alert): the asset's own enabled rules are disabled and
 * marked with the saga's id; their open alerts, and the asset's alerts of type-wide rules, are
 * cleared (AlertCleared, cause `asset decommissioning`). Type-wide rules stay enabled: they watch
 * other assets too. Answers AssetAlertingDisabled with every rule this saga disabled, so a repeated
 * request is confirmed again with the same list.
 *
 * Compensation: exactly the rules this saga disabled are enabled again (their evaluation starts
 * afresh, as for a rule enabled by hand) — not the ones a person had disabled before. Idempotent:
 * a second compensation finds nothing left to enable and still answers AssetAlertingRestored.
 */
export function decommissioningHandlers(deps: DecommissioningDeps): EventHandlers {
  return {
    ...eventHandler(DecommissioningStepRequested, async (tx, event) => {
      const d = event.data;
      if (d.step !== 'alert') return;
      const meta = { correlationId: event.correlationid };
      // The rule first, then its evaluation rows and alerts: the order deleteRule and the
      // onboarding compensation take, so the evaluator waits instead of deadlocking.
      const { rows: enabled } = await tx.query<{ id: string }>(
        'SELECT id FROM rules WHERE asset_id = $1 AND enabled ORDER BY id FOR UPDATE',
        [d.assetId],
      );
      const now = deps.clock.now();
      let cleared = 0;
      for (const rule of enabled) {
        await tx.query(
          `UPDATE rules SET enabled = false, disabled_by_saga = $2, version = version + 1, updated_at = $3
            WHERE id = $1`,
          [rule.id, d.sagaId, now],
        );
        cleared += await clearAlertsOfRule(tx, deps, rule.id, CAUSE, 'reset', meta);
      }
      // What is left: alerts of the rules of the asset's type.
      cleared += await closeAlerts(
        tx,
        deps,
        d.assetId,
        ['pending', 'firing', 'acknowledged', 'suppressed'],
        CAUSE,
        event,
      );
      const { rows: disabled } = await tx.query<{ id: string }>(
        'SELECT id FROM rules WHERE asset_id = $1 AND disabled_by_saga = $2 ORDER BY id',
        [d.assetId, d.sagaId],
      );
      await appendToOutbox(tx, [
        createEvent(
          AssetAlertingDisabled,
          {
            assetId: d.assetId,
            sagaId: d.sagaId,
            ruleIds: disabled.map((r) => r.id),
            clearedAlerts: cleared,
            at: now.toISOString(),
          },
          { subject: d.assetId, clock: deps.clock, ids: deps.ids, causedBy: event },
        ),
      ]);
    }),
    ...eventHandler(DecommissioningCompensationRequested, async (tx, event) => {
      const d = event.data;
      if (d.step !== 'alert') return;
      const { rows } = await tx.query<{ id: string; metric: string }>(
        'SELECT id, metric FROM rules WHERE asset_id = $1 AND disabled_by_saga = $2 ORDER BY id FOR UPDATE',
        [d.assetId, d.sagaId],
      );
      const now = deps.clock.now();
      for (const rule of rows) {
        await tx.query(
          `UPDATE rules SET enabled = true, disabled_by_saga = NULL, version = version + 1, updated_at = $2
            WHERE id = $1`,
          [rule.id, now],
        );
        // As for a rule enabled by hand: its evaluation starts afresh, the no-data clock from now.
        await clearAlertsOfRule(tx, deps, rule.id, 'rule enabled', 'reset', {
          correlationId: event.correlationid,
        });
      }
      deps.onRulesEnabled?.(rows.map((r) => ({ assetId: d.assetId, metric: r.metric })));
      await appendToOutbox(tx, [
        createEvent(
          AssetAlertingRestored,
          { assetId: d.assetId, sagaId: d.sagaId, ruleIds: rows.map((r) => r.id), at: now.toISOString() },
          { subject: d.assetId, clock: deps.clock, ids: deps.ids, causedBy: event },
        ),
      ]);
    }),
  };
}
