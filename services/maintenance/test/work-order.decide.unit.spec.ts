import type { WorkOrderStatus } from '@assetops/contracts';
import { WorkOrderStatuses } from '@assetops/contracts';
import { AppError } from '@assetops/platform';
import { describe, expect, it } from 'vitest';
import {
  canTransition,
  type DecideContext,
  decide,
  evolve,
  isTerminal,
  type WorkOrderCommand,
  type WorkOrderEvent,
  type WorkOrderState,
} from '../src/work-orders/work-order.decide.js';
import { defaultSla } from '../src/work-orders/work-order.sla.js';

const created = '2026-03-02T10:00:00.000Z';
const ctx: DecideContext = { now: new Date('2026-03-02T12:00:00.000Z'), sla: defaultSla };
const id = '01900000-0000-7000-8000-000000000001';
const assetId = '01900000-0000-7000-8000-0000000000a1';
const ann = '01900000-0000-7000-8000-0000000000b1';
const bob = '01900000-0000-7000-8000-0000000000b2';

/** given([...events]): the state they build. */
function given(events: WorkOrderEvent[]): WorkOrderState {
  return events.reduce<WorkOrderState | null>(evolve, null)!;
}

function opened(overrides: Partial<WorkOrderState> = {}): WorkOrderState {
  const events = decide(
    {
      kind: 'CreateWorkOrder',
      workOrderId: id,
      assetId,
      title: 'Replace seal',
      description: null,
      priority: 'high',
      source: 'manual',
      sourceRef: null,
      requiredSkill: null,
    },
    null,
    { ...ctx, now: new Date(created) },
  );
  return { ...given(events), ...overrides };
}

function inStatus(status: WorkOrderStatus): WorkOrderState {
  return opened({ status, assigneeId: status === 'open' ? null : ann });
}

function refusal(command: WorkOrderCommand, state: WorkOrderState): AppError {
  try {
    decide(command, state, ctx);
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected the command to be refused');
}

const commands: Record<string, WorkOrderCommand> = {
  assign: { kind: 'AssignWorkOrder', technicianId: bob, mode: 'manual', note: 'manually assigned to Bob' },
  start: { kind: 'StartWork' },
  hold: { kind: 'HoldWork', reason: 'waiting for parts' },
  resume: { kind: 'ResumeWork' },
  complete: { kind: 'CompleteWork', note: null, author: null },
  cancel: { kind: 'CancelWorkOrder', reason: 'duplicate' },
};

/**
 * Every command in every status: the status it leads to, `same` (already there: no event), or
 * `409`. Assigning keeps the status except from open.
 */
const expected: Record<WorkOrderStatus, Record<keyof typeof commands, WorkOrderStatus | 'same' | 409>> = {
  open: { assign: 'assigned', start: 409, hold: 409, resume: 409, complete: 409, cancel: 'cancelled' },
  assigned: {
    assign: 'assigned',
    start: 'in_progress',
    hold: 409,
    resume: 409,
    complete: 409,
    cancel: 'cancelled',
  },
  in_progress: {
    assign: 'in_progress',
    start: 'same',
    hold: 'on_hold',
    resume: 'same',
    complete: 'completed',
    cancel: 'cancelled',
  },
  on_hold: {
    assign: 'on_hold',
    start: 409,
    hold: 'same',
    resume: 'in_progress',
    complete: 409,
    cancel: 'cancelled',
  },
  completed: { assign: 409, start: 409, hold: 409, resume: 409, complete: 'same', cancel: 409 },
  cancelled: { assign: 409, start: 409, hold: 409, resume: 409, complete: 409, cancel: 'same' },
};

describe('work order status machine (decide/evolve)', () => {
  it('opens a work order due after the SLA of its priority', () => {
    const events = decide(
      {
        kind: 'CreateWorkOrder',
        workOrderId: id,
        assetId,
        title: 'Replace seal',
        description: 'leaking',
        priority: 'urgent',
        source: 'alert',
        sourceRef: 'alert-1',
        requiredSkill: 'mechanical',
      },
      null,
      ctx,
    );
    expect(events).toEqual([
      {
        type: 'WorkOrderCreated',
        data: {
          workOrderId: id,
          assetId,
          title: 'Replace seal',
          description: 'leaking',
          priority: 'urgent',
          source: 'alert',
          sourceRef: 'alert-1',
          requiredSkill: 'mechanical',
          status: 'open',
          dueAt: '2026-03-02T16:00:00.000Z',
          createdAt: '2026-03-02T12:00:00.000Z',
        },
      },
    ]);
    expect(given(events)).toMatchObject({ status: 'open', assigneeId: null, version: 1, startedAt: null });
  });

  for (const status of WorkOrderStatuses) {
    for (const [name, command] of Object.entries(commands)) {
      const outcome = expected[status][name]!;
      it(`${name} in ${status} → ${outcome === 'same' ? 'no change' : outcome}`, () => {
        const state = inStatus(status);
        if (outcome === 409) {
          const err = refusal(command, state);
          expect(err).toBeInstanceOf(AppError);
          expect(err.code).toBe('WORK_ORDER_ILLEGAL_TRANSITION');
          expect(err.status).toBe(409);
          expect(err.details).toMatchObject({ from: status });
          return;
        }
        const events = decide(command, state, ctx);
        if (outcome === 'same') {
          expect(events).toEqual([]);
          return;
        }
        const next = events.reduce<WorkOrderState | null>(evolve, state)!;
        expect(next.status).toBe(outcome);
        expect(next.version).toBe(state.version + 1);
        const changed = events.find((e) => e.type === 'WorkOrderStatusChanged');
        if (outcome === status) {
          expect(changed).toBeUndefined();
        } else {
          expect(changed?.data).toMatchObject({ from: status, to: outcome, version: state.version + 1 });
          expect(canTransition(status, outcome)).toBe(true);
        }
      });
    }
  }

  it('has completed and cancelled as its only terminal states', () => {
    expect(WorkOrderStatuses.filter(isTerminal)).toEqual(['completed', 'cancelled']);
  });

  it('walks open → assigned → in_progress ⇄ on_hold → completed, stamping start and completion', () => {
    let state = opened();
    const steps: [WorkOrderCommand, Date][] = [
      [
        { kind: 'AssignWorkOrder', technicianId: ann, mode: 'auto', note: 'auto' },
        new Date('2026-03-02T10:05:00Z'),
      ],
      [{ kind: 'StartWork' }, new Date('2026-03-02T11:00:00Z')],
      [{ kind: 'HoldWork', reason: null }, new Date('2026-03-02T12:00:00Z')],
      [{ kind: 'ResumeWork' }, new Date('2026-03-02T13:00:00Z')],
      [{ kind: 'CompleteWork', note: 'seal replaced', author: 'Ann' }, new Date('2026-03-02T14:00:00Z')],
    ];
    const seen: WorkOrderEvent['type'][] = [];
    for (const [command, now] of steps) {
      const events = decide(command, state, { ...ctx, now });
      seen.push(...events.map((e) => e.type));
      state = events.reduce<WorkOrderState | null>(evolve, state)!;
    }
    expect(seen).toEqual([
      'WorkOrderAssigned',
      'WorkOrderStatusChanged',
      'WorkOrderNoteAdded',
      'WorkOrderStatusChanged',
      'WorkOrderStatusChanged',
      'WorkOrderStatusChanged',
      'WorkOrderStatusChanged',
      'WorkOrderNoteAdded',
    ]);
    expect(state).toMatchObject({
      status: 'completed',
      assigneeId: ann,
      startedAt: '2026-03-02T11:00:00.000Z',
      completedAt: '2026-03-02T14:00:00.000Z',
      version: 6,
    });
  });

  it('reassigns without changing the status, and ignores an assignment to the current assignee', () => {
    const state = inStatus('in_progress');
    const events = decide(commands.assign!, state, ctx);
    expect(events.map((e) => e.type)).toEqual(['WorkOrderAssigned', 'WorkOrderNoteAdded']);
    expect(events[0]!.data).toMatchObject({ technicianId: bob, previousTechnicianId: ann, mode: 'manual' });
    expect(decide({ ...commands.assign!, technicianId: ann } as WorkOrderCommand, state, ctx)).toEqual([]);
  });

  it('records the reasons of a hold and a cancellation', () => {
    const held = decide(commands.hold!, inStatus('in_progress'), ctx);
    expect(held[0]!.data).toMatchObject({ to: 'on_hold', reason: 'waiting for parts' });
    const cancelled = decide(commands.cancel!, inStatus('open'), ctx);
    expect(cancelled[0]!.data).toMatchObject({ to: 'cancelled', reason: 'duplicate', assigneeId: null });
  });

  it('raises the priority with the due time of the new SLA from creation, never later, and never lowers it', () => {
    const state = inStatus('assigned');
    const events = decide(
      { kind: 'RaisePriority', priority: 'urgent', reason: 'alert escalated', noteKey: 'k' },
      state,
      ctx,
    );
    expect(events[0]).toEqual({
      type: 'WorkOrderPriorityChanged',
      data: {
        workOrderId: id,
        assetId,
        from: 'high',
        to: 'urgent',
        dueAt: '2026-03-02T14:00:00.000Z', // created 10:00 + 4 h, not now + 4 h
        reason: 'alert escalated',
        version: 2,
        at: ctx.now.toISOString(),
      },
    });
    expect(events[1]).toMatchObject({ type: 'WorkOrderNoteAdded', data: { key: 'k', author: null } });
    expect(evolve(state, events[0]!)).toMatchObject({
      priority: 'urgent',
      dueAt: '2026-03-02T14:00:00.000Z',
    });
    const raise = (priority: 'medium' | 'high' | 'urgent', s: WorkOrderState) =>
      decide({ kind: 'RaisePriority', priority, reason: 'r', noteKey: null }, s, ctx);
    expect(raise('medium', state)).toEqual([]);
    expect(raise('high', state)).toEqual([]);
    expect(raise('urgent', inStatus('completed'))).toEqual([]);
    // A due time already earlier than the new SLA's stays.
    const early = opened({ dueAt: '2026-03-02T11:00:00.000Z' });
    expect(raise('urgent', early)[0]!.data).toMatchObject({ dueAt: '2026-03-02T11:00:00.000Z' });
  });

  it('adds notes in any status', () => {
    for (const status of WorkOrderStatuses) {
      const events = decide(
        { kind: 'AddNote', text: 'checked', author: 'Ann', key: null },
        inStatus(status),
        ctx,
      );
      expect(events).toEqual([
        {
          type: 'WorkOrderNoteAdded',
          data: {
            workOrderId: id,
            text: 'checked',
            author: 'Ann',
            key: null,
            version: 2,
            at: ctx.now.toISOString(),
          },
        },
      ]);
    }
  });

  it('refuses creating an id twice', () => {
    const err = refusal(
      {
        kind: 'CreateWorkOrder',
        workOrderId: id,
        assetId,
        title: 'x',
        description: null,
        priority: 'low',
        source: 'manual',
        sourceRef: null,
        requiredSkill: null,
      },
      opened(),
    );
    expect(err.code).toBe('WORK_ORDER_ALREADY_EXISTS');
  });
});
