import type {
  CreateMaintenancePlanBody,
  MaintenancePlan,
  PlanUsageBody,
  UpdateMaintenancePlanBody,
} from '@assetops/contracts';
import {
  type CommandMeta,
  NotFoundError,
  type Pool,
  type PoolClient,
  PreconditionFailedError,
  withTransaction,
} from '@assetops/platform';
import { findKnownAsset, requireMaintainableAsset } from '../assets/known-assets.js';
import {
  assignOrExplain,
  type ChangeOrigin,
  openWorkOrder,
  type WorkOrderDeps,
} from '../work-orders/work-order.commands.js';
import {
  changePlan,
  checkDefinition,
  decideOccurrence,
  type OccurrenceDecision,
  type PlanState,
  restartedUsage,
  setActive,
  withSchedule,
} from './plan.decide.js';
import { findPlan, insertOccurrence, insertPlan, loadPlanForUpdate, updatePlan } from './plan.store.js';

export interface PlanDeps extends WorkOrderDeps {
  pool: Pool;
}

const usageOf = (usage: PlanUsageBody | null | undefined) =>
  usage ? { metric: usage.metric, every: usage.every, kind: usage.kind ?? 'counter' } : usage;

/**
 * Creates a plan for an asset maintenance knows and that is not decommissioned (404
 * `UNKNOWN_ASSET`, 409 `ASSET_DECOMMISSIONED`). Its schedule counts from `startsAt` (default now; a
 * past one — the last service — may make it due at once) and its usage from the next telemetry
 * window.
 */
export async function createPlan(deps: PlanDeps, body: CreateMaintenancePlanBody): Promise<MaintenancePlan> {
  const now = deps.clock.now();
  const at = now.toISOString();
  const definition = {
    interval: body.interval ?? null,
    usage: usageOf(body.usage) ?? null,
    leadTime: body.leadTime ?? { amount: 0, unit: 'day' as const },
  };
  checkDefinition(definition);
  const startsAt = body.startsAt === undefined ? at : new Date(body.startsAt).toISOString();
  const plan = withSchedule({
    id: deps.ids.next(),
    assetId: body.assetId,
    title: body.title,
    description: body.description ?? null,
    priority: body.priority,
    requiredSkill: body.requiredSkill ?? null,
    ...definition,
    active: true,
    startsAt,
    scheduleAnchor: startsAt,
    scheduleStep: 1,
    nextDueAt: null,
    opensAt: null,
    ...restartedUsage(definition.usage, now),
    occurrences: 0,
    version: 1,
    createdAt: at,
    updatedAt: at,
  });
  return withTransaction(deps.pool, async (tx) => {
    await requireMaintainableAsset(tx, body.assetId);
    await insertPlan(tx, plan);
    return (await findPlan(tx, plan.id))!;
  });
}

/** Changes a plan's definition (`If-Match` optional, 412 on a mismatch); see `changePlan`. */
export async function changePlanDefinition(
  deps: PlanDeps,
  id: string,
  changes: UpdateMaintenancePlanBody,
  meta: CommandMeta,
): Promise<MaintenancePlan> {
  return withTransaction(deps.pool, async (tx) => {
    const current = await lockPlan(tx, id, meta.expectedVersion);
    const next = changePlan(current, { ...changes, usage: usageOf(changes.usage) }, deps.clock.now());
    if (next !== current) await updatePlan(tx, next);
    return (await findPlan(tx, id))!;
  });
}

/**
 * Deactivates or reactivates a plan; reactivating needs a maintainable asset (409
 * `ASSET_DECOMMISSIONED`).
 */
export async function changePlanActive(
  deps: PlanDeps,
  id: string,
  active: boolean,
  meta: CommandMeta,
): Promise<MaintenancePlan> {
  return withTransaction(deps.pool, async (tx) => {
    const current = await lockPlan(tx, id, meta.expectedVersion);
    if (active && !current.active) await requireMaintainableAsset(tx, current.assetId);
    const next = setActive(current, active, deps.clock.now());
    if (next !== current) await updatePlan(tx, next);
    return (await findPlan(tx, id))!;
  });
}

async function lockPlan(tx: PoolClient, id: string, expectedVersion: number | undefined): Promise<PlanState> {
  const current = await loadPlanForUpdate(tx, id);
  if (!current) throw new NotFoundError('PLAN_NOT_FOUND', `maintenance plan ${id} does not exist`);
  if (expectedVersion !== undefined && expectedVersion !== current.version) {
    throw new PreconditionFailedError(
      'PLAN_VERSION_MISMATCH',
      `maintenance plan ${id} is at version ${current.version}, not ${expectedVersion}`,
      { currentVersion: current.version },
    );
  }
  return current;
}

/**
 * Opens the due occurrence of a plan locked by the caller, in the caller's transaction: the work
 * order (source `plan`, `sourceRef` `<planId>:<occurrence>`) through the same path as every other
 * — WorkOrderCreated in the outbox, then automatic assignment or a note saying why not — the
 * occurrence row, and the plan with both triggers restarted. The occurrence's primary key makes a
 * second work order for the same occurrence impossible: its insert fails and takes the work order
 * down with it.
 *
 * A plan whose asset was decommissioned meanwhile is deactivated instead (nothing left to maintain);
 * returns null then.
 */
export async function openOccurrence(
  tx: PoolClient,
  deps: WorkOrderDeps,
  plan: PlanState,
  reason: OccurrenceDecision['reason'],
  now: Date,
  origin: ChangeOrigin = {},
): Promise<OccurrenceDecision | null> {
  const asset = await findKnownAsset(tx, plan.assetId);
  if (asset?.status === 'decommissioned') {
    await updatePlan(tx, setActive(plan, false, now));
    return null;
  }
  const decision = decideOccurrence(plan, reason, now);
  const created = await openWorkOrder(
    tx,
    deps,
    {
      assetId: plan.assetId,
      title: plan.title,
      description: describe(plan, decision),
      priority: plan.priority,
      source: 'plan',
      sourceRef: `${plan.id}:${decision.occurrence}`,
      requiredSkill: plan.requiredSkill,
      // A time-based occurrence is due on the plan's date (opened `leadTime` before it); a usage
      // threshold just reached is due now, so the priority's SLA applies.
      ...(decision.reason === 'time' ? { dueAt: decision.dueAt } : {}),
    },
    origin,
  );
  // openWorkOrder returns null only for a second work order of the same alert.
  if (!created)
    throw new Error(`plan ${plan.id}: work order of occurrence ${decision.occurrence} not opened`);
  await insertOccurrence(tx, {
    planId: plan.id,
    occurrence: decision.occurrence,
    workOrderId: created.id,
    dueAt: decision.dueAt,
    reason: decision.reason,
    usage: decision.usage,
    createdAt: now.toISOString(),
  });
  await updatePlan(tx, decision.next);
  await assignOrExplain(tx, deps, created, origin);
  return decision;
}

const MAX_DESCRIPTION = 5000;

function describe(plan: PlanState, o: OccurrenceDecision): string {
  const why =
    o.reason === 'time'
      ? `due ${o.dueAt} (every ${plan.interval?.every} ${plan.interval?.unit})`
      : `usage reached: ${round(o.usage ?? 0)} ${plan.usage?.metric} since the previous occurrence (every ${plan.usage?.every})`;
  const folded =
    o.folded > 0 ? ` ${o.folded} earlier due date(s) passed while the plan was not checked; folded in.` : '';
  const text =
    `Preventive maintenance, plan ${plan.id}, occurrence ${o.occurrence}: ${why}.${folded}` +
    (plan.description ? `\n\n${plan.description}` : '');
  return text.length <= MAX_DESCRIPTION ? text : `${text.slice(0, MAX_DESCRIPTION - 1)}…`;
}

const round = (n: number) => Math.round(n * 1000) / 1000;
