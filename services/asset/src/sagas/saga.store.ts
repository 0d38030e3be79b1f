import {
  DecommissioningSteps,
  OnboardingSteps,
  type Saga,
  type SagaDetail,
  type SagaHistoryEntry,
  type SagaStatus,
  type SagaStepStatus,
  type SagaType,
} from '@assetops/contracts';
import { decodeCursor, encodeCursor, type Queryable } from '@assetops/platform';
import {
  type DecommissioningHistoryItem,
  type DecommissioningInput,
  type DecommissioningSaga,
  decommissioningActions,
} from './decommissioning.saga.js';
import { type OnboardingSaga, type SagaHistoryItem, sagaActions } from './onboarding.saga.js';

/** A saga of any type the Asset service runs, as stored. */
export type StoredSaga = OnboardingSaga | DecommissioningSaga;

interface SagaRow {
  id: string;
  type: SagaType;
  asset_id: string;
  status: SagaStatus;
  step: string | null;
  steps: Record<string, SagaStepStatus>;
  attempts: number;
  deadline: Date | null;
  reason: string | null;
  attention: string | null;
  correlation_id: string | null;
  input: Record<string, unknown> | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS =
  'id, type, asset_id, status, step, steps, attempts, deadline, reason, attention, correlation_id, input, version, created_at, updated_at';

function fromRow(row: SagaRow): StoredSaga {
  const common = {
    id: row.id,
    assetId: row.asset_id,
    status: row.status,
    attempts: row.attempts,
    deadline: row.deadline?.toISOString() ?? null,
    reason: row.reason,
    attention: row.attention,
    correlationId: row.correlation_id,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
  // The row's type says which saga's step names and input its JSON columns hold.
  if (row.type === 'decommissioning') {
    return {
      ...common,
      type: 'decommissioning',
      step: row.step as DecommissioningSaga['step'],
      steps: row.steps as DecommissioningSaga['steps'],
      input: row.input as unknown as DecommissioningInput,
    };
  }
  return {
    ...common,
    type: 'onboarding',
    step: row.step as OnboardingSaga['step'],
    steps: row.steps as OnboardingSaga['steps'],
  };
}

/** The saga as the API shows it. */
export function toApiSaga(saga: StoredSaga): Saga {
  const steps =
    saga.type === 'decommissioning'
      ? DecommissioningSteps.map((name) => ({ name, status: saga.steps[name] }))
      : OnboardingSteps.map((name) => ({ name, status: saga.steps[name] }));
  return {
    id: saga.id,
    type: saga.type,
    assetId: saga.assetId,
    status: saga.status,
    step: saga.step,
    steps,
    attempts: saga.attempts,
    deadline: saga.deadline,
    reason: saga.reason,
    attention: saga.attention,
    input: saga.type === 'decommissioning' ? { ...saga.input } : null,
    actions: saga.type === 'decommissioning' ? decommissioningActions(saga) : sagaActions(saga),
    version: saga.version,
    createdAt: saga.createdAt,
    updatedAt: saga.updatedAt,
  };
}

export async function insertSaga(db: Queryable, saga: StoredSaga): Promise<void> {
  await db.query(
    `INSERT INTO sagas (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    [
      saga.id,
      saga.type,
      saga.assetId,
      saga.status,
      saga.step,
      JSON.stringify(saga.steps),
      saga.attempts,
      saga.deadline,
      saga.reason,
      saga.attention,
      saga.correlationId,
      saga.type === 'decommissioning' ? JSON.stringify(saga.input) : null,
      saga.version,
      saga.createdAt,
      saga.updatedAt,
    ],
  );
}

export async function updateSaga(db: Queryable, saga: StoredSaga): Promise<void> {
  await db.query(
    `UPDATE sagas SET status = $2, step = $3, steps = $4, attempts = $5, deadline = $6, reason = $7,
            attention = $8, version = $9, updated_at = $10
      WHERE id = $1`,
    [
      saga.id,
      saga.status,
      saga.step,
      JSON.stringify(saga.steps),
      saga.attempts,
      saga.deadline,
      saga.reason,
      saga.attention,
      saga.version,
      saga.updatedAt,
    ],
  );
}

/** Appends history entries after the saga's last one; the caller holds the saga's row lock. */
export async function appendSagaHistory(
  db: Queryable,
  sagaId: string,
  items: readonly (SagaHistoryItem | DecommissioningHistoryItem)[],
  at: string,
): Promise<void> {
  if (items.length === 0) return;
  await db.query(
    `INSERT INTO saga_steps (saga_id, seq, step, action, outcome, at, detail)
     SELECT $1, last.seq + u.ord, u.step, u.action, u.outcome, $2, u.detail
       FROM unnest($3::text[], $4::text[], $5::text[], $6::jsonb[]) WITH ORDINALITY AS u(step, action, outcome, detail, ord),
            (SELECT coalesce(max(seq), 0) AS seq FROM saga_steps WHERE saga_id = $1) last`,
    [
      sagaId,
      at,
      items.map((i) => i.step),
      items.map((i) => i.action),
      items.map((i) => i.outcome),
      items.map((i) => (i.detail === null ? null : JSON.stringify(i.detail))),
    ],
  );
}

export async function loadSagaForUpdate(tx: Queryable, id: string): Promise<StoredSaga | null> {
  const { rows } = await tx.query<SagaRow>(`SELECT ${COLUMNS} FROM sagas WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/** The asset a saga belongs to (read without a lock: it never changes). */
export async function sagaAssetId(db: Queryable, id: string): Promise<string | null> {
  return (await sagaIdentity(db, id))?.assetId ?? null;
}

/** A saga's asset and type (read without a lock: neither ever changes). */
export async function sagaIdentity(
  db: Queryable,
  id: string,
): Promise<{ assetId: string; type: SagaType } | null> {
  const { rows } = await db.query<{ asset_id: string; type: SagaType }>(
    'SELECT asset_id, type FROM sagas WHERE id = $1',
    [id],
  );
  return rows[0] ? { assetId: rows[0].asset_id, type: rows[0].type } : null;
}

/** The asset's decommissioning saga that is not over, if any (at most one: a unique index). */
export async function findOpenDecommissioning(db: Queryable, assetId: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM sagas
      WHERE asset_id = $1 AND type = 'decommissioning' AND status IN ('running', 'compensating', 'needs_attention')`,
    [assetId],
  );
  return rows[0]?.id ?? null;
}

/** The asset's onboarding saga that is not over, if any (at most one: a unique index). */
export async function findOpenOnboarding(db: Queryable, assetId: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM sagas
      WHERE asset_id = $1 AND type = 'onboarding' AND status IN ('running', 'compensating', 'needs_attention')`,
    [assetId],
  );
  return rows[0]?.id ?? null;
}

export async function findSagaDetail(db: Queryable, id: string): Promise<SagaDetail | null> {
  const { rows } = await db.query<SagaRow>(`SELECT ${COLUMNS} FROM sagas WHERE id = $1`, [id]);
  if (!rows[0]) return null;
  const history = await db.query<{
    seq: number;
    step: string;
    action: string;
    outcome: string;
    at: Date;
    detail: Record<string, unknown> | null;
  }>('SELECT seq, step, action, outcome, at, detail FROM saga_steps WHERE saga_id = $1 ORDER BY seq', [id]);
  return {
    ...toApiSaga(fromRow(rows[0])),
    history: history.rows.map(
      (h): SagaHistoryEntry => ({
        seq: h.seq,
        step: h.step,
        action: h.action,
        outcome: h.outcome,
        at: h.at.toISOString(),
        detail: h.detail,
      }),
    ),
  };
}

export interface SagaFilter {
  assetId?: string | undefined;
  status?: SagaStatus | undefined;
  type?: SagaType | undefined;
  cursor?: string | undefined;
  limit: number;
}

/** One page of sagas, newest first (ids are UUIDv7); the cursor is the last id of the page. */
export async function listSagas(
  db: Queryable,
  filter: SagaFilter,
): Promise<{ items: Saga[]; nextCursor: string | null }> {
  const before = filter.cursor === undefined ? null : decodeCursor(filter.cursor);
  const { rows } = await db.query<SagaRow>(
    `SELECT ${COLUMNS} FROM sagas
      WHERE ($1::uuid IS NULL OR asset_id = $1)
        AND ($2::text IS NULL OR status = $2)
        AND ($3::text IS NULL OR type = $3)
        AND ($4::uuid IS NULL OR id < $4)
      ORDER BY id DESC
      LIMIT $5`,
    [filter.assetId ?? null, filter.status ?? null, filter.type ?? null, before, filter.limit + 1],
  );
  const items = rows.slice(0, filter.limit).map((row) => toApiSaga(fromRow(row)));
  const nextCursor = rows.length > filter.limit ? encodeCursor(items[items.length - 1]!.id) : null;
  return { items, nextCursor };
}

/** Ids of the sagas of one type whose deadline has passed, earliest first. */
export async function dueSagas(db: Queryable, type: SagaType, now: Date, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM sagas WHERE deadline <= $1 AND type = $3 ORDER BY deadline LIMIT $2',
    [now, limit, type],
  );
  return rows.map((r) => r.id);
}

/** The earliest deadline still ahead, if any. */
export async function nextDeadline(db: Queryable): Promise<Date | null> {
  const { rows } = await db.query<{ next: Date | null }>(
    'SELECT min(deadline) AS next FROM sagas WHERE deadline IS NOT NULL',
  );
  return rows[0]?.next ?? null;
}

/** How many sagas of each type are in each state (the pairs that have none are absent). */
export async function countSagasByState(
  db: Queryable,
): Promise<{ type: SagaType; status: SagaStatus; sagas: number }[]> {
  const { rows } = await db.query<{ type: SagaType; status: SagaStatus; sagas: number }>(
    'SELECT type, status, count(*)::int AS sagas FROM sagas GROUP BY type, status',
  );
  return rows;
}
