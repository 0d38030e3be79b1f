import {
  AssetMaintenanceRestored,
  AssetMaintenanceWithdrawalRefused,
  AssetMaintenanceWithdrawn,
  DecommissioningCompensationRequested,
  DecommissioningStepRequested,
  type DecommissioningStepRequestedData,
  type EventData,
  type EventEnvelope,
} from '@assetops/contracts';
import {
  appendToOutbox,
  createEvent,
  type EventHandlers,
  eventHandler,
  type PoolClient,
} from '@assetops/platform';
import { setActive } from '../plans/plan.decide.js';
import { loadPlanForUpdate, updatePlan } from '../plans/plan.store.js';
import { applyCommand, lockWorkOrder, type WorkOrderDeps } from '../work-orders/work-order.commands.js';

interface DecommissionRecord {
  forced: boolean;
  cancelledWorkOrders: string[];
  deactivatedPlans: string[];
  withdrawnAt: Date | null;
  restoredAt: Date | null;
}

/**
 * Maintenance's part in the decommissioning saga the Asset service runs.
 *
 * Action (DecommissioningStepRequested, step maintenance): the asset's unfinished work orders
 * (open, assigned, on hold) are cancelled and its active plans deactivated, in one transaction —
 * unless work is in progress on it: then nothing changes and the answer is a refusal
 * (`WORK_IN_PROGRESS`, naming the work orders), or, with `force`, those are cancelled too. What was
 * done is recorded per saga, so a repeated request is answered with the same lists.
 *
 * Compensation: the plans this saga deactivated are active again (their schedules restart from
 * now, like any plan reactivated). The work orders it cancelled stay cancelled — a cancelled work
 * order is final in the status machine and its history should say what happened — but each gets
 * a note that the decommissioning was called off, so a dispatcher can open again what is still
 * needed; the open alerts behind alert work orders were cleared, and a condition that still holds
 * raises a new alert and so a new work order once the rules are back. Idempotent.
 */
export function decommissioningHandlers(deps: WorkOrderDeps): EventHandlers {
  return {
    ...eventHandler(DecommissioningStepRequested, async (tx, event) => {
      const d = event.data;
      if (d.step !== 'maintenance') return;
      const record = await lockRecord(tx, d.sagaId, d.assetId, d.force);
      // Compensated already (its request overtaken): nothing to do, nobody waits for an answer.
      if (record.restoredAt) return;
      if (!record.withdrawnAt) {
        const refusal = await withdraw(tx, deps, d, record, event);
        if (refusal) {
          await answer(tx, deps, event, AssetMaintenanceWithdrawalRefused, d.assetId, {
            sagaId: d.sagaId,
            code: 'WORK_IN_PROGRESS',
            reason: refusal.reason,
            workOrderIds: refusal.workOrderIds,
          });
          return;
        }
      }
      await answer(tx, deps, event, AssetMaintenanceWithdrawn, d.assetId, {
        sagaId: d.sagaId,
        cancelledWorkOrderIds: record.cancelledWorkOrders,
        deactivatedPlanIds: record.deactivatedPlans,
        forced: record.forced,
      });
    }),
    ...eventHandler(DecommissioningCompensationRequested, async (tx, event) => {
      const d = event.data;
      if (d.step !== 'maintenance') return;
      const record = await lockRecord(tx, d.sagaId, d.assetId, false);
      let reactivated: string[] = [];
      if (!record.restoredAt) {
        reactivated = await restore(tx, deps, d.sagaId, d.reason, record, event);
      }
      await answer(tx, deps, event, AssetMaintenanceRestored, d.assetId, {
        sagaId: d.sagaId,
        reactivatedPlanIds: reactivated,
        cancelledWorkOrderIds: record.cancelledWorkOrders,
      });
    }),
  };
}

/** The saga's record, created if new, locked: two deliveries of one saga's messages take turns. */
async function lockRecord(
  tx: PoolClient,
  sagaId: string,
  assetId: string,
  force: boolean,
): Promise<DecommissionRecord> {
  await tx.query(
    `INSERT INTO asset_decommissions (saga_id, asset_id, forced) VALUES ($1, $2, $3)
     ON CONFLICT (saga_id) DO NOTHING`,
    [sagaId, assetId, force],
  );
  const { rows } = await tx.query<{
    forced: boolean;
    cancelled_work_orders: string[];
    deactivated_plans: string[];
    withdrawn_at: Date | null;
    restored_at: Date | null;
  }>(
    `SELECT forced, cancelled_work_orders, deactivated_plans, withdrawn_at, restored_at
       FROM asset_decommissions WHERE saga_id = $1 FOR UPDATE`,
    [sagaId],
  );
  const row = rows[0]!;
  return {
    forced: row.forced,
    cancelledWorkOrders: row.cancelled_work_orders,
    deactivatedPlans: row.deactivated_plans,
    withdrawnAt: row.withdrawn_at,
    restoredAt: row.restored_at,
  };
}

/**
 * Cancels the asset's unfinished work orders and deactivates its plans, filling `record`; or, when
 * work is in progress and the saga is not forced, changes nothing and says why.
 */
async function withdraw(
  tx: PoolClient,
  deps: WorkOrderDeps,
  d: DecommissioningStepRequestedData,
  record: DecommissionRecord,
  cause: EventEnvelope,
): Promise<{ reason: string; workOrderIds: string[] } | undefined> {
  const { rows: unfinished } = await tx.query<{ id: string; status: string }>(
    `SELECT id, status FROM work_orders
      WHERE asset_id = $1 AND status IN ('open', 'assigned', 'in_progress', 'on_hold')
      ORDER BY id FOR UPDATE`,
    [d.assetId],
  );
  const inProgress = unfinished.filter((w) => w.status === 'in_progress').map((w) => w.id);
  if (inProgress.length > 0 && !d.force) {
    return {
      reason: `${inProgress.length === 1 ? 'a work order is' : `${inProgress.length} work orders are`} in progress on the asset (${inProgress.join(', ')}); finish or cancel ${inProgress.length === 1 ? 'it' : 'them'} first, or decommission with force`,
      workOrderIds: inProgress,
    };
  }
  const reason = `asset decommissioned (saga ${d.sagaId})${d.note ? `: ${d.note}` : ''}`.slice(0, 2000);
  const origin = { causedBy: cause };
  for (const { id } of unfinished) {
    const current = await lockWorkOrder(tx, id);
    await applyCommand(tx, deps, current, { kind: 'CancelWorkOrder', reason }, origin);
  }
  const { rows: plans } = await tx.query<{ id: string }>(
    'SELECT id FROM maintenance_plans WHERE asset_id = $1 AND active ORDER BY id',
    [d.assetId],
  );
  const now = deps.clock.now();
  const deactivated: string[] = [];
  for (const { id } of plans) {
    const plan = await loadPlanForUpdate(tx, id);
    if (!plan?.active) continue;
    await updatePlan(tx, setActive(plan, false, now));
    deactivated.push(id);
  }
  record.forced = d.force;
  record.cancelledWorkOrders = unfinished.map((w) => w.id);
  record.deactivatedPlans = deactivated;
  record.withdrawnAt = now;
  await tx.query(
    `UPDATE asset_decommissions
        SET forced = $2, cancelled_work_orders = $3, deactivated_plans = $4, withdrawn_at = $5
      WHERE saga_id = $1`,
    [d.sagaId, d.force, record.cancelledWorkOrders, deactivated, now],
  );
  return undefined;
}

/** Reactivates the plans the saga deactivated and notes the call-off on the work orders it cancelled. */
async function restore(
  tx: PoolClient,
  deps: WorkOrderDeps,
  sagaId: string,
  reason: string,
  record: DecommissionRecord,
  cause: EventEnvelope,
): Promise<string[]> {
  const now = deps.clock.now();
  const reactivated: string[] = [];
  for (const id of record.deactivatedPlans) {
    const plan = await loadPlanForUpdate(tx, id);
    // Deleted, or reactivated by a person meanwhile: nothing to undo.
    if (!plan || plan.active) continue;
    await updatePlan(tx, setActive(plan, true, now));
    reactivated.push(id);
  }
  const text = `decommissioning called off (${reason || 'no reason given'}); this work order was cancelled by it: open a new one if the work is still needed`;
  for (const id of record.cancelledWorkOrders) {
    const current = await lockWorkOrder(tx, id);
    await applyCommand(
      tx,
      deps,
      current,
      { kind: 'AddNote', text: text.slice(0, 2000), author: null, key: `decommissioning-undone:${sagaId}` },
      { causedBy: cause },
    );
  }
  await tx.query('UPDATE asset_decommissions SET restored_at = $2 WHERE saga_id = $1', [sagaId, now]);
  return reactivated;
}

type Answer =
  | typeof AssetMaintenanceWithdrawn
  | typeof AssetMaintenanceWithdrawalRefused
  | typeof AssetMaintenanceRestored;

/** Appends a participant's answer to the saga, caused by its request. */
async function answer<TDef extends Answer>(
  tx: PoolClient,
  deps: WorkOrderDeps,
  cause: EventEnvelope,
  def: TDef,
  assetId: string,
  data: Omit<EventData<TDef>, 'assetId' | 'at'>,
): Promise<void> {
  const full = { ...data, assetId, at: deps.clock.now().toISOString() } as unknown as EventData<TDef>;
  await appendToOutbox(tx, [
    createEvent(def, full, { subject: assetId, clock: deps.clock, ids: deps.ids, causedBy: cause }),
  ]);
}
