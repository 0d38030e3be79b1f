import type { WorkOrder, WorkOrderPriority, WorkOrderSource, WorkOrderStatus } from '@assetops/contracts';
import type { Queryable } from '@assetops/platform';
import { decodeCursor, encodeCursor } from '@assetops/platform';
import type { WorkOrderState } from './work-order.decide.js';

interface WorkOrderRow {
  id: string;
  asset_id: string;
  title: string;
  description: string | null;
  priority: WorkOrderPriority;
  source: WorkOrderSource;
  source_ref: string | null;
  status: WorkOrderStatus;
  assignee_id: string | null;
  required_skill: string | null;
  due_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, asset_id, title, description, priority, source, source_ref, status, assignee_id,
  required_skill, due_at, started_at, completed_at, version, created_at, updated_at`;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function fromRow(row: WorkOrderRow): WorkOrderState {
  return {
    id: row.id,
    assetId: row.asset_id,
    title: row.title,
    description: row.description,
    priority: row.priority,
    source: row.source,
    sourceRef: row.source_ref,
    requiredSkill: row.required_skill,
    status: row.status,
    assigneeId: row.assignee_id,
    dueAt: row.due_at.toISOString(),
    startedAt: iso(row.started_at),
    completedAt: iso(row.completed_at),
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * Inserts a new work order. Returns false, inserting nothing, when the work order of the same alert
 * already exists: the partial unique index on `source_ref` is what makes an alert's work order
 * exactly one, even for two deliveries racing in two transactions (the second waits for the first
 * to commit, then does nothing).
 */
export async function insertWorkOrder(db: Queryable, wo: WorkOrderState): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO work_orders (${COLUMNS})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
     ON CONFLICT (source_ref) WHERE source = 'alert' DO NOTHING`,
    [
      wo.id,
      wo.assetId,
      wo.title,
      wo.description,
      wo.priority,
      wo.source,
      wo.sourceRef,
      wo.status,
      wo.assigneeId,
      wo.requiredSkill,
      wo.dueAt,
      wo.startedAt,
      wo.completedAt,
      wo.version,
      wo.createdAt,
      wo.updatedAt,
    ],
  );
  return rowCount === 1;
}

export async function updateWorkOrder(db: Queryable, wo: WorkOrderState): Promise<void> {
  await db.query(
    `UPDATE work_orders SET priority = $2, status = $3, assignee_id = $4, due_at = $5, started_at = $6,
            completed_at = $7, version = $8, updated_at = $9
      WHERE id = $1`,
    [
      wo.id,
      wo.priority,
      wo.status,
      wo.assigneeId,
      wo.dueAt,
      wo.startedAt,
      wo.completedAt,
      wo.version,
      wo.updatedAt,
    ],
  );
}

/**
 * Loads a work order and locks its row until the transaction ends. Every change goes through this
 * lock, which serialises the changes of one work order and the order of its events in the outbox.
 */
export async function loadWorkOrderForUpdate(tx: Queryable, id: string): Promise<WorkOrderState | null> {
  const { rows } = await tx.query<WorkOrderRow>(
    `SELECT ${COLUMNS} FROM work_orders WHERE id = $1 FOR UPDATE`,
    [id],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

/** The work order an alert created (locked, for a change), if there is one. */
export async function loadWorkOrderOfAlertForUpdate(
  tx: Queryable,
  alertId: string,
): Promise<WorkOrderState | null> {
  const { rows } = await tx.query<WorkOrderRow>(
    `SELECT ${COLUMNS} FROM work_orders WHERE source = 'alert' AND source_ref = $1 FOR UPDATE`,
    [alertId],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

export interface HistoryEntry {
  workOrderId: string;
  version: number;
  from: WorkOrderStatus | null;
  to: WorkOrderStatus;
  at: string;
  reason: string | null;
  assigneeId: string | null;
}

export async function insertHistory(db: Queryable, entry: HistoryEntry): Promise<void> {
  await db.query(
    `INSERT INTO work_order_history (work_order_id, version, from_status, to_status, at, reason, assignee_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [entry.workOrderId, entry.version, entry.from, entry.to, entry.at, entry.reason, entry.assigneeId],
  );
}

export interface NoteRecord {
  id: string;
  workOrderId: string;
  at: string;
  author: string | null;
  text: string;
  /** Notes with the same key on one work order are written once. */
  key: string | null;
}

export async function insertNote(db: Queryable, note: NoteRecord): Promise<void> {
  await db.query(
    `INSERT INTO work_order_notes (id, work_order_id, at, author, text, dedupe_key)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (work_order_id, dedupe_key) DO NOTHING`,
    [note.id, note.workOrderId, note.at, note.author, note.text, note.key],
  );
}

/** Whether the work order has the note written under `key` (a reaction to an event) already. */
export async function hasNote(db: Queryable, workOrderId: string, key: string): Promise<boolean> {
  const { rows } = await db.query(
    'SELECT 1 FROM work_order_notes WHERE work_order_id = $1 AND dedupe_key = $2',
    [workOrderId, key],
  );
  return rows.length > 0;
}

/** A work order with its notes and its status history, in order. */
export async function findWorkOrder(db: Queryable, id: string): Promise<WorkOrder | null> {
  const { rows } = await db.query<WorkOrderRow>(`SELECT ${COLUMNS} FROM work_orders WHERE id = $1`, [id]);
  if (!rows[0]) return null;
  // One after the other: `db` may be a transaction's client, which runs one query at a time anyway.
  const notes = await db.query<{ id: string; at: Date; author: string | null; text: string }>(
    'SELECT id, at, author, text FROM work_order_notes WHERE work_order_id = $1 ORDER BY at, id',
    [id],
  );
  const history = await db.query<{
    from_status: WorkOrderStatus | null;
    to_status: WorkOrderStatus;
    at: Date;
    reason: string | null;
    assignee_id: string | null;
  }>(
    `SELECT from_status, to_status, at, reason, assignee_id FROM work_order_history
      WHERE work_order_id = $1 ORDER BY version`,
    [id],
  );
  return {
    ...fromRow(rows[0]),
    notes: notes.rows.map((n) => ({ id: n.id, at: n.at.toISOString(), author: n.author, text: n.text })),
    history: history.rows.map((h) => ({
      from: h.from_status,
      to: h.to_status,
      at: h.at.toISOString(),
      reason: h.reason,
      assigneeId: h.assignee_id,
    })),
  };
}

export interface WorkOrderFilter {
  /** Any of these statuses (none: every status). */
  statuses?: readonly WorkOrderStatus[] | undefined;
  assetId?: string | undefined;
  priority?: WorkOrderPriority | undefined;
  assigneeId?: string | undefined;
  source?: WorkOrderSource | undefined;
  cursor?: string | undefined;
  limit: number;
}

/**
 * One page of work orders, newest first (ids are UUIDv7, drawn at creation). The cursor is the last
 * id of the page; keyset pagination stays stable while new work orders arrive at the top.
 *
 * The statement is planned with its parameters (node-postgres sends it unnamed), so each absent
 * filter folds away and `status = ANY(…)` with open statuses only lets the planner prove the
 * partial index of open work orders per asset (migration 004) applies: the overview's question
 * reads an asset's open work orders and none of its closed history.
 */
export async function listWorkOrders(
  db: Queryable,
  filter: WorkOrderFilter,
): Promise<{ items: WorkOrder[]; nextCursor: string | null }> {
  const before = filter.cursor === undefined ? null : decodeCursor(filter.cursor);
  const { rows } = await db.query<WorkOrderRow>(
    `SELECT ${COLUMNS} FROM work_orders
      WHERE ($1::text[] IS NULL OR status = ANY($1::text[]))
        AND ($2::uuid IS NULL OR asset_id = $2)
        AND ($3::text IS NULL OR priority = $3)
        AND ($4::uuid IS NULL OR assignee_id = $4)
        AND ($5::text IS NULL OR source = $5)
        AND ($6::uuid IS NULL OR id < $6)
      ORDER BY id DESC
      LIMIT $7`,
    [
      filter.statuses ?? null,
      filter.assetId ?? null,
      filter.priority ?? null,
      filter.assigneeId ?? null,
      filter.source ?? null,
      before,
      filter.limit + 1,
    ],
  );
  const items = rows.slice(0, filter.limit).map(fromRow);
  const nextCursor = rows.length > filter.limit ? encodeCursor(items[items.length - 1]!.id) : null;
  return { items, nextCursor };
}
