import {
  type Alert,
  AlertAcknowledged,
  AlertCleared,
  type AlertStatus,
  type EventEnvelope,
  type Severity,
} from '@assetops/contracts';
import {
  appendToOutbox,
  type Clock,
  type CommandMeta,
  ConflictError,
  createEvent,
  type IdGenerator,
  IllegalStateError,
  NotFoundError,
  type Pool,
  type PoolClient,
  withTransaction,
} from '@assetops/platform';
import { initialState } from '../evaluation/engine.js';
import { appendHistory } from '../evaluation/evaluator.js';
import { silentAtSql } from '../rules/rule.model.js';
import { ALERT_COLUMNS, type AlertRow, findAlert } from './alert.store.js';

export interface AlertCommandDeps {
  pool: Pool;
  clock: Clock;
  ids: IdGenerator;
}

const eventMeta = (deps: Pick<AlertCommandDeps, 'clock' | 'ids'>, subject: string, meta: CommandMeta) => ({
  subject,
  clock: deps.clock,
  ids: deps.ids,
  ...(meta.correlationId ? { correlationId: meta.correlationId } : {}),
  ...(meta.traceparent ? { traceparent: meta.traceparent } : {}),
});

/**
 * Acknowledges a firing alert: who and when (the clock's time) on the alert, an `acknowledged`
 * history entry, and AlertAcknowledged in the outbox — one transaction. Acknowledging again by the
 * same person changes nothing; by someone else, or an alert that is not firing, is a 409.
 * The evaluator keeps treating an acknowledged alert as firing: it still escalates and clears.
 */
export async function acknowledgeAlert(
  deps: AlertCommandDeps,
  alertId: string,
  ack: { by: string; comment?: string | undefined },
  meta: CommandMeta = {},
): Promise<Alert> {
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<AlertRow>(
      `SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = $1 FOR UPDATE`,
      [alertId],
    );
    const alert = rows[0];
    if (!alert) throw new NotFoundError('ALERT_NOT_FOUND', `alert ${alertId} does not exist`);
    if (alert.status === 'acknowledged') {
      if (alert.acknowledged_by === ack.by) return (await findAlert(tx, alertId))!;
      throw new ConflictError(
        'ALERT_ALREADY_ACKNOWLEDGED',
        `alert ${alertId} was already acknowledged by ${alert.acknowledged_by}`,
        { acknowledgedBy: alert.acknowledged_by },
      );
    }
    if (alert.status !== 'firing') {
      throw new IllegalStateError(
        'ALERT_NOT_ACKNOWLEDGEABLE',
        `alert ${alertId} is ${alert.status}: only a firing alert can be acknowledged`,
        { alertStatus: alert.status },
      );
    }
    const now = deps.clock.now();
    const comment = ack.comment ?? null;
    await tx.query(
      `UPDATE alerts SET status = 'acknowledged', acknowledged_at = $2, acknowledged_by = $3, ack_comment = $4
        WHERE id = $1`,
      [alertId, now, ack.by, comment],
    );
    await appendHistory(tx, alertId, {
      status: 'acknowledged',
      at: now,
      value: alert.value,
      cause: comment ? `acknowledged by ${ack.by}: ${comment}` : `acknowledged by ${ack.by}`,
      severity: alert.severity,
    });
    await appendToOutbox(tx, [
      createEvent(
        AlertAcknowledged,
        {
          alertId,
          ruleId: alert.rule_id,
          assetId: alert.asset_id,
          severity: alert.severity,
          by: ack.by,
          comment,
          at: now.toISOString(),
        },
        eventMeta(deps, alert.asset_id, meta),
      ),
    ]);
    return (await findAlert(tx, alertId))!;
  });
}

/** Every status of an alert that is not over. */
const OPEN_STATUSES: readonly AlertStatus[] = ['pending', 'firing', 'acknowledged', 'suppressed'];

/**
 * Sets the no-data deadlines of a rule's evaluation rows again from their last-seen times (after
 * its `for` time changed without a reset): a firing alert keeps none.
 */
export async function refreshSilenceDeadlines(tx: PoolClient, ruleId: string): Promise<void> {
  await tx.query(
    `UPDATE eval_state e SET silent_at = CASE WHEN e.state->>'phase' <> 'firing' THEN ${silentAtSql('e.last_seen_at')} END
       FROM rules r
      WHERE r.id = e.rule_id AND e.rule_id = $1`,
    [ruleId],
  );
}

/**
 * Ends a rule's open alerts (`cause`: 'rule deleted', 'rule disabled', 'rule changed') and its
 * evaluation on every asset: `delete` removes the evaluation rows (the rule is gone), `reset` puts
 * them back to idle and restarts the no-data clock at now (the episode count is kept, so a later
 * alert continues the numbering). Raised alerts (firing, acknowledged) get an AlertCleared.
 *
 * Locks the rule's evaluation rows before its alerts — the order the evaluator takes them in — so a
 * concurrent evaluation waits instead of deadlocking.
 */
export async function clearAlertsOfRule(
  tx: PoolClient,
  deps: Pick<AlertCommandDeps, 'clock' | 'ids'>,
  ruleId: string,
  cause: string,
  evaluation: 'delete' | 'reset',
  meta: CommandMeta = {},
): Promise<number> {
  const now = deps.clock.now();
  await tx.query('SELECT 1 FROM eval_state WHERE rule_id = $1 ORDER BY asset_id FOR UPDATE', [ruleId]);
  const { rows } = await tx.query<{
    id: string;
    asset_id: string;
    status: AlertStatus;
    severity: Severity;
    value: number | null;
  }>(
    `UPDATE alerts a SET status = 'cleared', cleared_at = $3
       FROM (SELECT id, status AS old_status FROM alerts
              WHERE rule_id = $1 AND status = ANY($2::text[]) ORDER BY id FOR UPDATE) o
      WHERE a.id = o.id
      RETURNING a.id, a.asset_id, o.old_status AS status, a.severity, a.value`,
    [ruleId, OPEN_STATUSES, now],
  );
  const events: EventEnvelope[] = [];
  for (const a of rows) {
    await appendHistory(tx, a.id, { status: 'cleared', at: now, value: null, cause, severity: a.severity });
    if (a.status === 'firing' || a.status === 'acknowledged') {
      events.push(
        createEvent(
          AlertCleared,
          {
            alertId: a.id,
            ruleId,
            assetId: a.asset_id,
            severity: a.severity,
            value: a.value,
            cause,
            at: now.toISOString(),
          },
          eventMeta(deps, a.asset_id, meta),
        ),
      );
    }
  }
  if (evaluation === 'delete') {
    await tx.query('DELETE FROM eval_state WHERE rule_id = $1', [ruleId]);
  } else {
    await tx.query(
      `UPDATE eval_state e SET state = $2, alert_id = NULL, last_seen_at = $3, silent_at = ${silentAtSql('$3::timestamptz')}
         FROM rules r
        WHERE r.id = e.rule_id AND e.rule_id = $1`,
      [ruleId, JSON.stringify(initialState()), now],
    );
  }
  await appendToOutbox(tx, events);
  return rows.length;
}
