import type { ShiftWindow, Technician } from '@assetops/contracts';
import type { Queryable } from '@assetops/platform';
import { decodeCursor, encodeCursor } from '@assetops/platform';
import type { AssignmentCandidate } from '../assignment/assignment.js';
import { normalizeShifts } from './technician.shift.js';

/** A technician's own fields (what a change writes back). */
export interface TechnicianState {
  id: string;
  name: string;
  skills: string[];
  shifts: ShiftWindow[];
  available: boolean;
  active: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

interface TechnicianRow {
  id: string;
  name: string;
  skills: string[];
  shifts: ShiftWindow[];
  available: boolean;
  active: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, skills, shifts, available, active, version, created_at, updated_at';

/**
 * The load of a technician: work orders they hold that are assigned or in progress (on hold ones
 * are parked and do not count).
 */
const LOAD = `(SELECT count(*)::int FROM work_orders w
   WHERE w.assignee_id = t.id AND w.status IN ('assigned', 'in_progress')) AS load`;

/**
 * The same, leaving out the work order being assigned (`$2`), so that reassigning it compares
 * everyone on the same footing.
 */
const LOAD_EXCEPT_PARAM2 = `(SELECT count(*)::int FROM work_orders w
   WHERE w.assignee_id = t.id AND w.status IN ('assigned', 'in_progress') AND w.id <> $2) AS load`;

function fromRow(row: TechnicianRow): TechnicianState {
  return {
    id: row.id,
    name: row.name,
    skills: row.skills,
    shifts: normalizeShifts(row.shifts),
    available: row.available,
    active: row.active,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function toTechnician(row: TechnicianRow & { load: number }): Technician {
  return { ...fromRow(row), openWorkOrders: row.load };
}

export async function insertTechnician(db: Queryable, t: TechnicianState): Promise<void> {
  await db.query(`INSERT INTO technicians (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
    t.id,
    t.name,
    t.skills,
    JSON.stringify(t.shifts),
    t.available,
    t.active,
    t.version,
    t.createdAt,
    t.updatedAt,
  ]);
}

export async function updateTechnician(db: Queryable, t: TechnicianState): Promise<void> {
  await db.query(
    `UPDATE technicians SET name = $2, skills = $3, shifts = $4, available = $5, active = $6, version = $7,
            updated_at = $8
      WHERE id = $1`,
    [t.id, t.name, t.skills, JSON.stringify(t.shifts), t.available, t.active, t.version, t.updatedAt],
  );
}

export async function loadTechnicianForUpdate(tx: Queryable, id: string): Promise<TechnicianState | null> {
  const { rows } = await tx.query<TechnicianRow>(
    `SELECT ${COLUMNS} FROM technicians WHERE id = $1 FOR UPDATE`,
    [id],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

/** A technician with their current load. */
export async function findTechnician(db: Queryable, id: string): Promise<Technician | null> {
  const { rows } = await db.query<TechnicianRow & { load: number }>(
    `SELECT ${COLUMNS}, ${LOAD} FROM technicians t WHERE id = $1`,
    [id],
  );
  return rows[0] ? toTechnician(rows[0]) : null;
}

export interface TechnicianFilter {
  skill?: string | undefined;
  /** Default true: people who left are listed only when asked for. */
  active?: boolean | undefined;
  available?: boolean | undefined;
  cursor?: string | undefined;
  limit: number;
}

/** One page of technicians in the order they were added (ids are UUIDv7); the cursor is the last id. */
export async function listTechnicians(
  db: Queryable,
  filter: TechnicianFilter,
): Promise<{ items: Technician[]; nextCursor: string | null }> {
  const after = filter.cursor === undefined ? null : decodeCursor(filter.cursor);
  const { rows } = await db.query<TechnicianRow & { load: number }>(
    `SELECT ${COLUMNS}, ${LOAD} FROM technicians t
      WHERE active = $1
        AND ($2::text IS NULL OR $2 = ANY(skills))
        AND ($3::boolean IS NULL OR available = $3)
        AND ($4::uuid IS NULL OR id > $4)
      ORDER BY id
      LIMIT $5`,
    [filter.active ?? true, filter.skill ?? null, filter.available ?? null, after, filter.limit + 1],
  );
  const items = rows.slice(0, filter.limit).map(toTechnician);
  const nextCursor = rows.length > filter.limit ? encodeCursor(items[items.length - 1]!.id) : null;
  return { items, nextCursor };
}

type CandidateRow = Pick<TechnicianRow, 'id' | 'name' | 'skills' | 'shifts' | 'available' | 'active'> & {
  load: number;
};

const toCandidate = (row: CandidateRow): AssignmentCandidate => ({
  id: row.id,
  name: row.name,
  skills: row.skills,
  shifts: row.shifts,
  available: row.available,
  active: row.active,
  load: row.load,
});

/**
 * The technicians the automatic assignment chooses from: active and available, with the skill when
 * one is required (the shift is checked by the pure choice), with their load not counting
 * `workOrderId`.
 */
export async function loadAssignmentCandidates(
  db: Queryable,
  need: { requiredSkill: string | null; workOrderId: string },
): Promise<AssignmentCandidate[]> {
  const { rows } = await db.query<CandidateRow>(
    `SELECT id, name, skills, shifts, available, active, ${LOAD_EXCEPT_PARAM2} FROM technicians t
      WHERE active AND available AND ($1::text IS NULL OR $1 = ANY(skills))`,
    [need.requiredSkill, need.workOrderId],
  );
  return rows.map(toCandidate);
}

/**
 * One technician as a candidate (for a manual assignment), whatever their state. The row is locked
 * (shared) so that a concurrent deactivation waits for the assignment, or the assignment sees it.
 */
export async function loadCandidate(
  db: Queryable,
  technicianId: string,
  workOrderId: string,
): Promise<AssignmentCandidate | null> {
  const { rows } = await db.query<CandidateRow>(
    `SELECT id, name, skills, shifts, available, active, ${LOAD_EXCEPT_PARAM2} FROM technicians t
      WHERE id = $1 FOR SHARE OF t`,
    [technicianId, workOrderId],
  );
  return rows[0] ? toCandidate(rows[0]) : null;
}
