import {
  type WorkOrderAssignedData,
  type WorkOrderCreatedData,
  type WorkOrderPriority,
  type WorkOrderPriorityChangedData,
  type WorkOrderSource,
  type WorkOrderStatus,
  type WorkOrderStatusChangedData,
  WorkOrderStatuses,
} from '@assetops/contracts';
import { ConflictError, IllegalStateError } from '@assetops/platform';
import { comparePriority, dueAt, type SlaPolicy } from './work-order.sla.js';

/** The Maintenance service's state of one work order (without its notes and history). */
export interface WorkOrderState {
  id: string;
  assetId: string;
  title: string;
  description: string | null;
  priority: WorkOrderPriority;
  source: WorkOrderSource;
  sourceRef: string | null;
  requiredSkill: string | null;
  status: WorkOrderStatus;
  assigneeId: string | null;
  dueAt: string;
  startedAt: string | null;
  completedAt: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export type WorkOrderCommand =
  | {
      kind: 'CreateWorkOrder';
      workOrderId: string;
      assetId: string;
      title: string;
      description: string | null;
      priority: WorkOrderPriority;
      source: WorkOrderSource;
      sourceRef: string | null;
      requiredSkill: string | null;
      /** A due time of its own (a preventive plan's due date); else the priority's SLA from now. */
      dueAt?: string | undefined;
    }
  | { kind: 'AssignWorkOrder'; technicianId: string; mode: 'auto' | 'manual'; note: string }
  | { kind: 'StartWork' }
  | { kind: 'HoldWork'; reason: string | null }
  | { kind: 'ResumeWork' }
  | { kind: 'CompleteWork'; note: string | null; author: string | null }
  | { kind: 'CancelWorkOrder'; reason: string }
  | { kind: 'RaisePriority'; priority: WorkOrderPriority; reason: string; noteKey: string | null }
  | { kind: 'AddNote'; text: string; author: string | null; key: string | null };

/**
 * A note decided along with a change. It is not published: notes are the work order's own record
 * (shown by the API), not something other services react to. `key` makes a note written in
 * reaction to an event idempotent.
 */
export interface WorkOrderNoteAddedData {
  workOrderId: string;
  text: string;
  author: string | null;
  key: string | null;
  version: number;
  at: string;
}

export type WorkOrderEvent =
  | { type: 'WorkOrderCreated'; data: WorkOrderCreatedData }
  | { type: 'WorkOrderAssigned'; data: WorkOrderAssignedData }
  | { type: 'WorkOrderStatusChanged'; data: WorkOrderStatusChangedData }
  | { type: 'WorkOrderPriorityChanged'; data: WorkOrderPriorityChangedData }
  | { type: 'WorkOrderNoteAdded'; data: WorkOrderNoteAddedData };

/** What decide needs besides the command and the state: the time, and the SLA of each priority. */
export interface DecideContext {
  now: Date;
  sla: SlaPolicy;
}

/**
 * The status machine. `open → assigned → in_progress → completed`, `in_progress ⇄ on_hold`, and
 * `cancelled` from every state that is not over; `completed` and `cancelled` are terminal.
 * Reassigning a work order that is assigned, in progress or on hold changes its assignee only.
 */
export const transitions: Readonly<Record<WorkOrderStatus, readonly WorkOrderStatus[]>> = {
  open: ['assigned', 'cancelled'],
  assigned: ['in_progress', 'cancelled'],
  in_progress: ['on_hold', 'completed', 'cancelled'],
  on_hold: ['in_progress', 'cancelled'],
  completed: [],
  cancelled: [],
};

// Guard against a status added to the contracts but forgotten here.
for (const status of WorkOrderStatuses) {
  if (!transitions[status]) throw new Error(`no transitions defined for status ${status}`);
}

/** Whether the status machine allows `from → to`. */
export function canTransition(from: WorkOrderStatus, to: WorkOrderStatus): boolean {
  return transitions[from].includes(to);
}

/** Whether a work order in this status is over (nothing more happens to it but notes). */
export function isTerminal(status: WorkOrderStatus): boolean {
  return transitions[status].length === 0;
}

/**
 * The move each transition command makes: where it goes and from where. Start and resume both lead
 * to `in_progress` but from different states, so each names its own source.
 */
const moves = {
  StartWork: { from: ['assigned'], to: 'in_progress' },
  HoldWork: { from: ['in_progress'], to: 'on_hold' },
  ResumeWork: { from: ['on_hold'], to: 'in_progress' },
  CompleteWork: { from: ['in_progress'], to: 'completed' },
  CancelWorkOrder: { from: ['open', 'assigned', 'in_progress', 'on_hold'], to: 'cancelled' },
} as const satisfies Record<string, { from: readonly WorkOrderStatus[]; to: WorkOrderStatus }>;

/** Statuses in which a work order may be (re)assigned. */
const ASSIGNABLE: readonly WorkOrderStatus[] = ['open', 'assigned', 'in_progress', 'on_hold'];

/**
 * Decides which events a command produces on the current state (null: the work order does not
 * exist). Pure: time and the SLA come in through `ctx`. A command whose effect is already there
 * (start what is in progress, assign to the current assignee) produces no event, so a retried
 * request is harmless; a move the status machine does not allow is a 409
 * `WORK_ORDER_ILLEGAL_TRANSITION`.
 */
export function decide(
  command: WorkOrderCommand,
  state: WorkOrderState | null,
  ctx: DecideContext,
): WorkOrderEvent[] {
  const at = ctx.now.toISOString();
  if (command.kind === 'CreateWorkOrder') {
    if (state) {
      throw new ConflictError(
        'WORK_ORDER_ALREADY_EXISTS',
        `work order ${command.workOrderId} already exists`,
      );
    }
    return [
      {
        type: 'WorkOrderCreated',
        data: {
          workOrderId: command.workOrderId,
          assetId: command.assetId,
          title: command.title,
          description: command.description,
          priority: command.priority,
          source: command.source,
          sourceRef: command.sourceRef,
          requiredSkill: command.requiredSkill,
          status: 'open',
          dueAt: command.dueAt ?? dueAt(ctx.now, command.priority, ctx.sla).toISOString(),
          createdAt: at,
        },
      },
    ];
  }

  const current = mustExist(state);
  const version = current.version + 1;
  const note = (text: string, author: string | null = null, key: string | null = null): WorkOrderEvent => ({
    type: 'WorkOrderNoteAdded',
    data: { workOrderId: current.id, text, author, key, version, at },
  });
  const statusChanged = (to: WorkOrderStatus, reason: string | null, assigneeId = current.assigneeId) =>
    ({
      type: 'WorkOrderStatusChanged',
      data: {
        workOrderId: current.id,
        assetId: current.assetId,
        from: current.status,
        to,
        reason,
        assigneeId,
        version,
        changedAt: at,
      },
    }) as const satisfies WorkOrderEvent;

  switch (command.kind) {
    case 'AssignWorkOrder': {
      if (!ASSIGNABLE.includes(current.status)) throw illegalTransition(current, 'assigned');
      if (current.assigneeId === command.technicianId) return [];
      const events: WorkOrderEvent[] = [
        {
          type: 'WorkOrderAssigned',
          data: {
            workOrderId: current.id,
            assetId: current.assetId,
            technicianId: command.technicianId,
            previousTechnicianId: current.assigneeId,
            mode: command.mode,
            version,
            at,
          },
        },
      ];
      if (current.status === 'open')
        events.push(statusChanged('assigned', command.note, command.technicianId));
      events.push(note(command.note));
      return events;
    }
    case 'StartWork':
    case 'HoldWork':
    case 'ResumeWork':
    case 'CompleteWork':
    case 'CancelWorkOrder': {
      const move = moves[command.kind];
      if (current.status === move.to) return [];
      if (!(move.from as readonly WorkOrderStatus[]).includes(current.status))
        throw illegalTransition(current, move.to);
      const reason =
        command.kind === 'HoldWork' || command.kind === 'CancelWorkOrder' ? command.reason : null;
      const events: WorkOrderEvent[] = [statusChanged(move.to, reason)];
      if (command.kind === 'CompleteWork' && command.note !== null) {
        events.push(note(command.note, command.author));
      }
      return events;
    }
    case 'RaisePriority': {
      // A work order that is over keeps the priority it was done (or dropped) with.
      if (isTerminal(current.status) || comparePriority(command.priority, current.priority) <= 0) return [];
      const slaDue = dueAt(current.createdAt, command.priority, ctx.sla);
      // The SLA runs from creation; raising the priority never moves the due time later.
      const due = new Date(Math.min(slaDue.getTime(), Date.parse(current.dueAt))).toISOString();
      return [
        {
          type: 'WorkOrderPriorityChanged',
          data: {
            workOrderId: current.id,
            assetId: current.assetId,
            from: current.priority,
            to: command.priority,
            dueAt: due,
            reason: command.reason,
            version,
            at,
          },
        },
        note(
          `priority raised from ${current.priority} to ${command.priority}: ${command.reason}; ` +
            `now due ${due} (the ${command.priority} SLA counted from the work order's creation)`,
          null,
          command.noteKey,
        ),
      ];
    }
    case 'AddNote':
      return [note(command.text, command.author, command.key)];
  }
}

/** Applies an event to the state. */
export function evolve(state: WorkOrderState | null, event: WorkOrderEvent): WorkOrderState {
  if (event.type === 'WorkOrderCreated') {
    const d = event.data;
    return {
      id: d.workOrderId,
      assetId: d.assetId,
      title: d.title,
      description: d.description,
      priority: d.priority,
      source: d.source,
      sourceRef: d.sourceRef,
      requiredSkill: d.requiredSkill,
      status: d.status,
      assigneeId: null,
      dueAt: d.dueAt,
      startedAt: null,
      completedAt: null,
      version: 1,
      createdAt: d.createdAt,
      updatedAt: d.createdAt,
    };
  }
  const current = mustExist(state);
  switch (event.type) {
    case 'WorkOrderAssigned':
      return {
        ...current,
        assigneeId: event.data.technicianId,
        version: event.data.version,
        updatedAt: event.data.at,
      };
    case 'WorkOrderStatusChanged': {
      const d = event.data;
      return {
        ...current,
        status: d.to,
        startedAt: d.to === 'in_progress' && current.startedAt === null ? d.changedAt : current.startedAt,
        completedAt: d.to === 'completed' ? d.changedAt : current.completedAt,
        version: d.version,
        updatedAt: d.changedAt,
      };
    }
    case 'WorkOrderPriorityChanged':
      return {
        ...current,
        priority: event.data.to,
        dueAt: event.data.dueAt,
        version: event.data.version,
        updatedAt: event.data.at,
      };
    case 'WorkOrderNoteAdded':
      return { ...current, version: event.data.version, updatedAt: event.data.at };
  }
}

/** The 409 of a move the status machine does not allow. */
export function illegalTransition(current: WorkOrderState, to: WorkOrderStatus): IllegalStateError {
  return new IllegalStateError(
    'WORK_ORDER_ILLEGAL_TRANSITION',
    `work order ${current.id} cannot go from ${current.status} to ${to}`,
    { from: current.status, to, allowed: transitions[current.status] },
  );
}

function mustExist(state: WorkOrderState | null): WorkOrderState {
  // The commands load the work order before deciding and answer 404 themselves; reaching here is a bug.
  if (!state) throw new Error('command on a work order that was not loaded');
  return state;
}
