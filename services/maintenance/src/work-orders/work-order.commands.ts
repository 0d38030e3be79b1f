import {
  type EventDefinition,
  type EventEnvelope,
  WorkOrderAssigned,
  WorkOrderCreated,
  type WorkOrderPriority,
  WorkOrderPriorityChanged,
  type WorkOrderSource,
  WorkOrderStatusChanged,
} from '@assetops/contracts';
import {
  advisoryLockKey,
  appendToOutbox,
  type Clock,
  createEvent,
  type IdGenerator,
  IllegalStateError,
  NotFoundError,
  type PoolClient,
  PreconditionFailedError,
} from '@assetops/platform';
import { chooseTechnician, manualAssignmentNote } from '../assignment/assignment.js';
import { loadAssignmentCandidates, loadCandidate } from '../technicians/technician.store.js';
import {
  decide,
  evolve,
  illegalTransition,
  isTerminal,
  type WorkOrderCommand,
  type WorkOrderEvent,
  type WorkOrderState,
} from './work-order.decide.js';
import type { SlaPolicy } from './work-order.sla.js';
import {
  insertHistory,
  insertNote,
  insertWorkOrder,
  loadWorkOrderForUpdate,
  updateWorkOrder,
} from './work-order.store.js';

export interface WorkOrderDeps {
  clock: Clock;
  ids: IdGenerator;
  sla: SlaPolicy;
}

/**
 * Where a change came from, carried into its events: a request (correlation, trace context) or the
 * event that caused it.
 */
export interface ChangeOrigin {
  correlationId?: string | undefined;
  traceparent?: string | undefined;
  causedBy?: EventEnvelope | undefined;
}

const published: Record<Exclude<WorkOrderEvent['type'], 'WorkOrderNoteAdded'>, EventDefinition> = {
  WorkOrderCreated,
  WorkOrderAssigned,
  WorkOrderStatusChanged,
  WorkOrderPriorityChanged,
};

/** A new work order, as a person, an alert or a plan asks for it. */
export interface NewWorkOrder {
  assetId: string;
  title: string;
  description: string | null;
  priority: WorkOrderPriority;
  source: WorkOrderSource;
  sourceRef: string | null;
  requiredSkill: string | null;
  /** When the work is due, if not the priority's SLA from now (a plan's occurrence). */
  dueAt?: string | undefined;
}

/**
 * Opens a work order in the caller's transaction: the row, its first history entry and
 * WorkOrderCreated in the outbox. Returns null, changing nothing, when the work order of the same
 * alert exists already — the guarantee of one work order per alert episode however often (and
 * under whatever event id) the alert is delivered.
 */
export async function openWorkOrder(
  tx: PoolClient,
  deps: WorkOrderDeps,
  input: NewWorkOrder,
  origin: ChangeOrigin = {},
): Promise<WorkOrderState | null> {
  const events = decide(
    { kind: 'CreateWorkOrder', workOrderId: deps.ids.next(), ...input },
    null,
    context(deps),
  );
  const created = events.reduce<WorkOrderState | null>(evolve, null)!;
  if (!(await insertWorkOrder(tx, created))) return null;
  await record(tx, deps, created, events, origin);
  return created;
}

/**
 * Loads and locks a work order for a change: 404 when it does not exist, 412 when the caller saw
 * another version (`If-Match`).
 */
export async function lockWorkOrder(
  tx: PoolClient,
  workOrderId: string,
  expectedVersion?: number | undefined,
): Promise<WorkOrderState> {
  const current = await loadWorkOrderForUpdate(tx, workOrderId);
  if (!current) throw new NotFoundError('WORK_ORDER_NOT_FOUND', `work order ${workOrderId} does not exist`);
  if (expectedVersion !== undefined && expectedVersion !== current.version) {
    throw new PreconditionFailedError(
      'WORK_ORDER_VERSION_MISMATCH',
      `work order ${workOrderId} is at version ${current.version}, not ${expectedVersion}`,
      { currentVersion: current.version },
    );
  }
  return current;
}

/**
 * Runs one command on a work order locked by {@link lockWorkOrder}: decide, evolve, save, and
 * append its events to the outbox — in the caller's transaction, so the change and its events are
 * never apart. A command that changes nothing returns the state as it was.
 */
export async function applyCommand(
  tx: PoolClient,
  deps: WorkOrderDeps,
  current: WorkOrderState,
  command: WorkOrderCommand,
  origin: ChangeOrigin = {},
): Promise<WorkOrderState> {
  const events = decide(command, current, context(deps));
  if (events.length === 0) return current;
  const next = events.reduce<WorkOrderState | null>(evolve, current)!;
  await updateWorkOrder(tx, next);
  await record(tx, deps, next, events, origin);
  return next;
}

export type AssignmentOutcome =
  | { assigned: true; state: WorkOrderState; reason: string }
  | { assigned: false; state: WorkOrderState; reason: string };

// Every assignment takes this lock (after its work order's row lock): loads are counted after the
// previous assignment committed, so two work orders assigned at the same moment do not both land on
// the technician who was the least busy before either.
const ASSIGNMENT_LOCK = advisoryLockKey('assetops.maintenance.assignment');

/**
 * Assigns a locked work order: to `technicianId` (a manual override of every rule — only an
 * inactive technician is refused, 409 `TECHNICIAN_INACTIVE`), or automatically (see
 * `chooseTechnician`). When no technician fits, nothing changes and the outcome says why; the
 * caller decides whether that is a refusal (an explicit request) or a note (a new work order).
 */
export async function assignWorkOrder(
  tx: PoolClient,
  deps: WorkOrderDeps,
  current: WorkOrderState,
  technicianId: string | undefined,
  origin: ChangeOrigin = {},
): Promise<AssignmentOutcome> {
  if (isTerminal(current.status)) throw illegalTransition(current, 'assigned');
  await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [ASSIGNMENT_LOCK]);
  const need = { requiredSkill: current.requiredSkill, at: deps.clock.now() };
  let command: Extract<WorkOrderCommand, { kind: 'AssignWorkOrder' }>;
  if (technicianId !== undefined) {
    const technician = await loadCandidate(tx, technicianId, current.id);
    if (!technician)
      throw new NotFoundError('TECHNICIAN_NOT_FOUND', `technician ${technicianId} does not exist`);
    if (!technician.active) {
      throw new IllegalStateError('TECHNICIAN_INACTIVE', `technician ${technicianId} is deactivated`, {
        technicianId,
      });
    }
    command = {
      kind: 'AssignWorkOrder',
      technicianId,
      mode: 'manual',
      note: manualAssignmentNote(technician, need),
    };
  } else {
    const choice = chooseTechnician(
      await loadAssignmentCandidates(tx, { requiredSkill: current.requiredSkill, workOrderId: current.id }),
      need,
    );
    if (!choice.technician) return { assigned: false, state: current, reason: choice.reason };
    command = {
      kind: 'AssignWorkOrder',
      technicianId: choice.technician.id,
      mode: 'auto',
      note: choice.reason,
    };
  }
  const state = await applyCommand(tx, deps, current, command, origin);
  return { assigned: true, state, reason: command.note };
}

/**
 * Assigns a new work order automatically; when nobody fits it stays open with a note saying why,
 * for a dispatcher to pick up.
 */
export async function assignOrExplain(
  tx: PoolClient,
  deps: WorkOrderDeps,
  current: WorkOrderState,
  origin: ChangeOrigin = {},
): Promise<WorkOrderState> {
  const outcome = await assignWorkOrder(tx, deps, current, undefined, origin);
  if (outcome.assigned) return outcome.state;
  return applyCommand(
    tx,
    deps,
    outcome.state,
    { kind: 'AddNote', text: `not assigned: ${outcome.reason}`, author: null, key: null },
    origin,
  );
}

function context(deps: WorkOrderDeps) {
  return { now: deps.clock.now(), sla: deps.sla };
}

/** Writes what the events say besides the row: history entries, notes, and the outbox. */
async function record(
  tx: PoolClient,
  deps: WorkOrderDeps,
  state: WorkOrderState,
  events: readonly WorkOrderEvent[],
  origin: ChangeOrigin,
): Promise<void> {
  const outgoing: EventEnvelope[] = [];
  for (const event of events) {
    switch (event.type) {
      case 'WorkOrderCreated':
        await insertHistory(tx, {
          workOrderId: state.id,
          version: 1,
          from: null,
          to: 'open',
          at: event.data.createdAt,
          reason: null,
          assigneeId: null,
        });
        break;
      case 'WorkOrderStatusChanged':
        await insertHistory(tx, {
          workOrderId: state.id,
          version: event.data.version,
          from: event.data.from,
          to: event.data.to,
          at: event.data.changedAt,
          reason: event.data.reason,
          assigneeId: event.data.assigneeId,
        });
        break;
      case 'WorkOrderNoteAdded':
        await insertNote(tx, {
          id: deps.ids.next(),
          workOrderId: state.id,
          at: event.data.at,
          author: event.data.author,
          text: event.data.text,
          key: event.data.key,
        });
        continue;
      default:
        break;
    }
    outgoing.push(
      createEvent(published[event.type], event.data, {
        subject: state.assetId,
        clock: deps.clock,
        ids: deps.ids,
        causedBy: origin.causedBy,
        correlationId: origin.correlationId,
        traceparent: origin.traceparent,
      }),
    );
  }
  await appendToOutbox(tx, outgoing);
}
