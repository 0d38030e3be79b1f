import type { AlertRule, Condition, CreateRuleBody, UpdateRuleBody } from '@assetops/contracts';
import {
  type Clock,
  type CommandMeta,
  type IdGenerator,
  NotFoundError,
  type Pool,
  type PoolClient,
  PreconditionFailedError,
  withTransaction,
} from '@assetops/platform';
import { clearAlertsOfRule, refreshSilenceDeadlines } from '../alerts/alert.commands.js';
import { RULE_COLUMNS, type RuleRow, toRule } from './rule.model.js';
import { loadRuleForUpdate } from './rule.queries.js';
import { insertRule, validateRule } from './rule.store.js';

export interface RuleCommandDeps {
  pool: Pool;
  clock: Clock;
  ids: IdGenerator;
}

/** Creates a user rule (validated: 400 INVALID_RULE naming the fields). */
export async function createRule(deps: RuleCommandDeps, input: CreateRuleBody): Promise<AlertRule> {
  return insertRule(deps.pool, deps.ids.next(), input, 'user', deps.clock.now());
}

/**
 * Changes a rule; the merged rule is validated as a whole and its version goes up. What the
 * change does to the rule's alerts and evaluation, in the same transaction:
 * - disabled: its open alerts are cleared ('rule disabled') and its evaluation reset;
 * - a new condition: the same, with 'rule changed' — an alert raised on the old condition says
 *   nothing about the new one, and a pending period under the old one must not count;
 * - enabled again: its evaluation starts afresh (the no-data clock from now);
 * - anything else (name, severity, periods, hysteresis, escalation) applies from the next sample,
 *   and an open alert keeps its severity.
 */
export async function updateRule(
  deps: RuleCommandDeps,
  ruleId: string,
  changes: UpdateRuleBody,
  meta: CommandMeta = {},
): Promise<AlertRule> {
  return retryOnDeadlock(() =>
    withTransaction(deps.pool, async (tx) => {
      const current = await lockRule(tx, ruleId, meta);
      const merged: CreateRuleBody = {
        name: changes.name ?? current.name,
        assetId: current.assetId,
        assetType: current.assetType,
        metric: current.metric,
        condition: changes.condition ?? current.condition,
        severity: changes.severity ?? current.severity,
        forSeconds: changes.forSeconds ?? current.forSeconds,
        clear: changes.clear !== undefined ? changes.clear : current.clear,
        keepFiringSeconds: changes.keepFiringSeconds ?? current.keepFiringSeconds,
        escalation: changes.escalation !== undefined ? changes.escalation : current.escalation,
        enabled: changes.enabled ?? current.enabled,
      };
      validateRule(merged);
      const { rows } = await tx.query<RuleRow>(
        `UPDATE rules SET name = $2, condition = $3, severity = $4, for_ms = $5, clear = $6,
                keep_firing_ms = $7, escalation = $8, enabled = $9, version = version + 1, updated_at = $10
          WHERE id = $1
          RETURNING ${RULE_COLUMNS}`,
        [
          ruleId,
          merged.name,
          JSON.stringify(merged.condition),
          merged.severity,
          Math.round((merged.forSeconds ?? 0) * 1000),
          merged.clear ? JSON.stringify(merged.clear) : null,
          Math.round((merged.keepFiringSeconds ?? 0) * 1000),
          merged.escalation ? JSON.stringify(merged.escalation) : null,
          merged.enabled,
          deps.clock.now(),
        ],
      );
      if (current.enabled && !merged.enabled) {
        await clearAlertsOfRule(tx, deps, ruleId, 'rule disabled', 'reset', meta);
      } else if (merged.enabled && !sameCondition(current.condition, merged.condition)) {
        await clearAlertsOfRule(tx, deps, ruleId, 'rule changed', 'reset', meta);
      } else if (!current.enabled && merged.enabled) {
        await clearAlertsOfRule(tx, deps, ruleId, 'rule enabled', 'reset', meta);
      } else if (merged.condition.kind === 'no_data') {
        await refreshSilenceDeadlines(tx, ruleId); // its `for` time may have changed
      }
      return toRule(rows[0]!);
    }),
  );
}

/** Deletes a rule: its open alerts are cleared ('rule deleted') and its evaluation rows removed. */
export async function deleteRule(
  deps: RuleCommandDeps,
  ruleId: string,
  meta: CommandMeta = {},
): Promise<void> {
  await retryOnDeadlock(() =>
    withTransaction(deps.pool, async (tx) => {
      await lockRule(tx, ruleId, meta);
      await clearAlertsOfRule(tx, deps, ruleId, 'rule deleted', 'delete', meta);
      await tx.query('DELETE FROM rules WHERE id = $1', [ruleId]);
    }),
  );
}

async function lockRule(tx: PoolClient, ruleId: string, meta: CommandMeta): Promise<AlertRule> {
  const current = await loadRuleForUpdate(tx, ruleId);
  if (!current) throw new NotFoundError('RULE_NOT_FOUND', `rule ${ruleId} does not exist`);
  if (meta.expectedVersion !== undefined && meta.expectedVersion !== current.version) {
    throw new PreconditionFailedError(
      'RULE_VERSION_MISMATCH',
      `rule ${ruleId} is at version ${current.version}, not ${meta.expectedVersion}`,
      { currentVersion: current.version },
    );
  }
  return current;
}

/** Conditions as values: jsonb gives the keys back in its own order. */
function sameCondition(a: Condition, b: Condition): boolean {
  const canonical = (c: Condition) => JSON.stringify(Object.entries(c).sort(([x], [y]) => (x < y ? -1 : 1)));
  return canonical(a) === canonical(b);
}

const DEADLOCK = '40P01';

/**
 * Clearing a rule's alerts locks evaluation rows, then alerts; the asset handlers (decommission)
 * take an asset's alerts first. The rare deadlock between the two is resolved by PostgreSQL
 * aborting one side: the API side simply runs again.
 */
async function retryOnDeadlock<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { code?: unknown }).code !== DEADLOCK || attempt >= attempts) throw err;
    }
  }
}
