import type { CreateTechnicianBody, ShiftWindow, Technician } from '@assetops/contracts';
import {
  type Clock,
  type IdGenerator,
  NotFoundError,
  type Pool,
  PreconditionFailedError,
  withTransaction,
} from '@assetops/platform';
import { normalizeShifts } from './technician.shift.js';
import {
  findTechnician,
  insertTechnician,
  loadTechnicianForUpdate,
  type TechnicianState,
  updateTechnician,
} from './technician.store.js';

export interface TechnicianDeps {
  pool: Pool;
  clock: Clock;
  ids: IdGenerator;
}

/** Adds a technician: active, available unless said otherwise, on call when no shifts are given. */
export async function addTechnician(deps: TechnicianDeps, body: CreateTechnicianBody): Promise<Technician> {
  const at = deps.clock.now().toISOString();
  const technician: TechnicianState = {
    id: deps.ids.next(),
    name: body.name,
    skills: body.skills ?? [],
    shifts: normalizeShifts(body.shifts ?? []),
    available: body.available ?? true,
    active: true,
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
  await insertTechnician(deps.pool, technician);
  return { ...technician, openWorkOrders: 0 };
}

export interface TechnicianChanges {
  name?: string | undefined;
  skills?: string[] | undefined;
  shifts?: ShiftWindow[] | undefined;
  available?: boolean | undefined;
  active?: boolean | undefined;
}

/**
 * Changes a technician's fields (`If-Match` optional, 412 on a mismatch). Fields equal to the current
 * ones change nothing, and a request that changes nothing keeps the version: a retry is harmless.
 * Deactivating leaves the technician's work orders with them; a dispatcher reassigns them (the
 * technician's `openWorkOrders` says how many).
 */
export async function changeTechnician(
  deps: TechnicianDeps,
  id: string,
  changes: TechnicianChanges,
  expectedVersion?: number | undefined,
): Promise<Technician> {
  return withTransaction(deps.pool, async (tx) => {
    const current = await loadTechnicianForUpdate(tx, id);
    if (!current) throw new NotFoundError('TECHNICIAN_NOT_FOUND', `technician ${id} does not exist`);
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      throw new PreconditionFailedError(
        'TECHNICIAN_VERSION_MISMATCH',
        `technician ${id} is at version ${current.version}, not ${expectedVersion}`,
        { currentVersion: current.version },
      );
    }
    const next: TechnicianState = {
      ...current,
      name: changes.name ?? current.name,
      skills: changes.skills ?? current.skills,
      shifts: changes.shifts ? normalizeShifts(changes.shifts) : current.shifts,
      available: changes.available ?? current.available,
      active: changes.active ?? current.active,
    };
    if (JSON.stringify(next) !== JSON.stringify(current)) {
      await updateTechnician(tx, {
        ...next,
        version: current.version + 1,
        updatedAt: deps.clock.now().toISOString(),
      });
    }
    return (await findTechnician(tx, id))!;
  });
}
