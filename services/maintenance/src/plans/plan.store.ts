import type {
  LeadTime,
  MaintenancePlan,
  PlanIntervalUnit,
  PlanOccurrence,
  PlanOccurrenceReason,
  PlanUsageKind,
  WorkOrderPriority,
} from '@assetops/contracts';
import { decodeCursor, encodeCursor, type Queryable } from '@assetops/platform';
import type { PlanState } from './plan.decide.js';

interface PlanRow {
  id: string;
  asset_id: string;
  title: string;
  description: string | null;
  priority: WorkOrderPriority;
  required_skill: string | null;
  interval_every: number | null;
  interval_unit: PlanIntervalUnit | null;
  usage_metric: string | null;
  usage_every: number | null;
  usage_kind: PlanUsageKind | null;
  lead_amount: number;
  lead_unit: LeadTime['unit'];
  active: boolean;
  starts_at: Date;
  schedule_anchor: Date;
  schedule_step: number;
  next_due_at: Date | null;
  opens_at: Date | null;
  usage_since_last: number;
  counter_last_value: number | null;
  counter_last_at: Date | null;
  occurrences: number;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, asset_id, title, description, priority, required_skill, interval_every, interval_unit,
  usage_metric, usage_every, usage_kind, lead_amount, lead_unit, active, starts_at, schedule_anchor,
  schedule_step, next_due_at, opens_at, usage_since_last, counter_last_value, counter_last_at, occurrences,
  version, created_at, updated_at`;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function fromRow(row: PlanRow): PlanState {
  return {
    id: row.id,
    assetId: row.asset_id,
    title: row.title,
    description: row.description,
    priority: row.priority,
    requiredSkill: row.required_skill,
    interval:
      row.interval_every !== null && row.interval_unit !== null
        ? { every: row.interval_every, unit: row.interval_unit }
        : null,
    usage:
      row.usage_metric !== null && row.usage_every !== null && row.usage_kind !== null
        ? { metric: row.usage_metric, every: row.usage_every, kind: row.usage_kind }
        : null,
    leadTime: { amount: row.lead_amount, unit: row.lead_unit },
    active: row.active,
    startsAt: row.starts_at.toISOString(),
    scheduleAnchor: row.schedule_anchor.toISOString(),
    scheduleStep: row.schedule_step,
    nextDueAt: iso(row.next_due_at),
    opensAt: iso(row.opens_at),
    usageSinceLast: row.usage_since_last,
    lastCounterValue: row.counter_last_value,
    countedUntil: iso(row.counter_last_at),
    occurrences: row.occurrences,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** A plan as the API shows it: the schedule's internals left out, usage null without a trigger. */
export function toMaintenancePlan(plan: PlanState): MaintenancePlan {
  const { scheduleAnchor: _anchor, scheduleStep: _step, ...shown } = plan;
  return {
    ...shown,
    usageSinceLast: plan.usage ? plan.usageSinceLast : null,
    lastCounterValue: plan.usage ? plan.lastCounterValue : null,
    countedUntil: plan.usage ? plan.countedUntil : null,
  };
}

function values(p: PlanState): unknown[] {
  return [
    p.id,
    p.assetId,
    p.title,
    p.description,
    p.priority,
    p.requiredSkill,
    p.interval?.every ?? null,
    p.interval?.unit ?? null,
    p.usage?.metric ?? null,
    p.usage?.every ?? null,
    p.usage?.kind ?? null,
    p.leadTime.amount,
    p.leadTime.unit,
    p.active,
    p.startsAt,
    p.scheduleAnchor,
    p.scheduleStep,
    p.nextDueAt,
    p.opensAt,
    p.usageSinceLast,
    p.lastCounterValue,
    p.countedUntil,
    p.occurrences,
    p.version,
    p.createdAt,
    p.updatedAt,
  ];
}

export async function insertPlan(db: Queryable, plan: PlanState): Promise<void> {
  await db.query(
    `INSERT INTO maintenance_plans (${COLUMNS})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
             $22, $23, $24, $25, $26)`,
    values(plan),
  );
}

/** Writes a plan back whole (the caller holds its row lock). */
export async function updatePlan(db: Queryable, plan: PlanState): Promise<void> {
  await db.query(
    `UPDATE maintenance_plans SET asset_id = $2, title = $3, description = $4, priority = $5,
            required_skill = $6, interval_every = $7, interval_unit = $8, usage_metric = $9, usage_every = $10,
            usage_kind = $11, lead_amount = $12, lead_unit = $13, active = $14, starts_at = $15,
            schedule_anchor = $16, schedule_step = $17, next_due_at = $18, opens_at = $19,
            usage_since_last = $20, counter_last_value = $21, counter_last_at = $22, occurrences = $23,
            version = $24, created_at = $25, updated_at = $26
      WHERE id = $1`,
    values(plan),
  );
}

/**
 * Loads a plan and locks its row until the transaction ends: every change of a plan — the API, the
 * timer, the usage count — goes through this lock, so occurrences are numbered one at a time.
 * `skipLocked`: null rather than waiting when another transaction holds it (the timer moves on).
 */
export async function loadPlanForUpdate(
  tx: Queryable,
  id: string,
  opts: { skipLocked?: boolean } = {},
): Promise<PlanState | null> {
  const { rows } = await tx.query<PlanRow>(
    `SELECT ${COLUMNS} FROM maintenance_plans WHERE id = $1 FOR UPDATE${opts.skipLocked ? ' SKIP LOCKED' : ''}`,
    [id],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

/**
 * The active plans counting an asset's metric, locked in id order (two transactions locking the
 * same plans never wait for each other in a cycle).
 */
export async function loadUsagePlansForUpdate(
  tx: Queryable,
  assetId: string,
  metric: string,
): Promise<PlanState[]> {
  const { rows } = await tx.query<PlanRow>(
    `SELECT ${COLUMNS} FROM maintenance_plans
      WHERE asset_id = $1 AND usage_metric = $2 AND active
      ORDER BY id
        FOR UPDATE`,
    [assetId, metric],
  );
  return rows.map(fromRow);
}

/**
 * Ids of the active plans due at `now`: their next work order opens by then, or their usage is
 * reached (after `every` was lowered, for instance). The list is read without locks; each plan is
 * locked and checked again before anything is opened.
 */
export async function duePlanIds(db: Queryable, now: Date, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM maintenance_plans
      WHERE active AND (opens_at <= $1 OR usage_since_last >= usage_every)
      ORDER BY opens_at NULLS FIRST, id
      LIMIT $2`,
    [now, limit],
  );
  return rows.map((r) => r.id);
}

export interface OccurrenceRecord {
  planId: string;
  occurrence: number;
  workOrderId: string;
  dueAt: string;
  reason: PlanOccurrenceReason;
  usage: number | null;
  createdAt: string;
}

/**
 * Records an occurrence and its work order. A second record of the same (plan, occurrence) fails on
 * the primary key, and rolls back the transaction with the work order it opened.
 */
export async function insertOccurrence(db: Queryable, o: OccurrenceRecord): Promise<void> {
  await db.query(
    `INSERT INTO plan_occurrences (plan_id, occurrence, work_order_id, due_at, reason, usage, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [o.planId, o.occurrence, o.workOrderId, o.dueAt, o.reason, o.usage, o.createdAt],
  );
}

const RECENT_OCCURRENCES = 20;

/** A plan with its most recent occurrences (newest first). */
export async function findPlan(db: Queryable, id: string): Promise<MaintenancePlan | null> {
  const { rows } = await db.query<PlanRow>(`SELECT ${COLUMNS} FROM maintenance_plans WHERE id = $1`, [id]);
  if (!rows[0]) return null;
  const occurrences = await db.query<{
    occurrence: number;
    work_order_id: string;
    reason: PlanOccurrenceReason;
    due_at: Date;
    usage: number | null;
    created_at: Date;
  }>(
    `SELECT occurrence, work_order_id, reason, due_at, usage, created_at FROM plan_occurrences
      WHERE plan_id = $1 ORDER BY occurrence DESC LIMIT $2`,
    [id, RECENT_OCCURRENCES],
  );
  const recentOccurrences: PlanOccurrence[] = occurrences.rows.map((o) => ({
    occurrence: o.occurrence,
    workOrderId: o.work_order_id,
    reason: o.reason,
    dueAt: o.due_at.toISOString(),
    usage: o.usage,
    createdAt: o.created_at.toISOString(),
  }));
  return { ...toMaintenancePlan(fromRow(rows[0])), recentOccurrences };
}

export interface PlanFilter {
  assetId?: string | undefined;
  active?: boolean | undefined;
  cursor?: string | undefined;
  limit: number;
}

/** One page of plans, newest first (UUIDv7 ids); the cursor is the last id of the page. */
export async function listPlans(
  db: Queryable,
  filter: PlanFilter,
): Promise<{ items: MaintenancePlan[]; nextCursor: string | null }> {
  const before = filter.cursor === undefined ? null : decodeCursor(filter.cursor);
  const { rows } = await db.query<PlanRow>(
    `SELECT ${COLUMNS} FROM maintenance_plans
      WHERE ($1::uuid IS NULL OR asset_id = $1)
        AND ($2::boolean IS NULL OR active = $2)
        AND ($3::uuid IS NULL OR id < $3)
      ORDER BY id DESC
      LIMIT $4`,
    [filter.assetId ?? null, filter.active ?? null, before, filter.limit + 1],
  );
  const items = rows.slice(0, filter.limit).map((row) => toMaintenancePlan(fromRow(row)));
  const nextCursor = rows.length > filter.limit ? encodeCursor(items[items.length - 1]!.id) : null;
  return { items, nextCursor };
}
