import { AppError, type ValidationError } from '@assetops/platform';
import { describe, expect, it } from 'vitest';
import {
  changePlan,
  checkDefinition,
  decideOccurrence,
  dueTrigger,
  type PlanState,
  setActive,
  withSchedule,
} from '../src/plans/plan.decide.js';
import { addIntervals } from '../src/plans/plan.schedule.js';
import { type CounterMemory, type CounterWindow, countCounterUsage } from '../src/plans/plan.usage.js';

const T0 = '2026-03-02T10:00:00.000Z';
const DAY = 86_400_000;
const at = (ms: number) => new Date(Date.parse(T0) + ms);

function plan(overrides: Partial<PlanState> = {}): PlanState {
  return withSchedule({
    id: '01900000-0000-7000-8000-000000000001',
    assetId: '01900000-0000-7000-8000-0000000000a1',
    title: 'Service',
    description: null,
    priority: 'medium',
    requiredSkill: null,
    interval: { every: 1, unit: 'week' },
    usage: null,
    leadTime: { amount: 1, unit: 'day' },
    active: true,
    startsAt: T0,
    scheduleAnchor: T0,
    scheduleStep: 1,
    nextDueAt: null,
    opensAt: null,
    usageSinceLast: 0,
    lastCounterValue: null,
    countedUntil: null,
    occurrences: 0,
    version: 1,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  });
}

describe('the time schedule', () => {
  it('adds calendar months from the anchor: the 31st lands on shorter months’ last day without drifting', () => {
    const jan31 = new Date('2026-01-31T08:00:00.000Z');
    const month = { every: 1, unit: 'month' } as const;
    expect([1, 2, 3, 13].map((k) => addIntervals(jan31, month, k).toISOString())).toEqual([
      '2026-02-28T08:00:00.000Z',
      '2026-03-31T08:00:00.000Z',
      '2026-04-30T08:00:00.000Z',
      '2027-02-28T08:00:00.000Z',
    ]);
    expect(addIntervals(new Date('2028-01-31T00:00:00Z'), month, 1).toISOString()).toBe(
      '2028-02-29T00:00:00.000Z',
    );
  });

  it('is due at start + k × interval and opens its work order the lead time before', () => {
    expect(plan()).toMatchObject({
      nextDueAt: at(7 * DAY).toISOString(),
      opensAt: at(6 * DAY).toISOString(),
    });
    expect(dueTrigger(plan(), at(6 * DAY - 1))).toBeNull();
    expect(dueTrigger(plan(), at(6 * DAY))).toBe('time');
    expect(dueTrigger(plan({ active: false }), at(6 * DAY))).toBeNull();
  });

  it('continues the same schedule after a time occurrence, folding due dates that were missed', () => {
    const onTime = decideOccurrence(plan(), 'time', at(6 * DAY));
    expect(onTime).toMatchObject({
      occurrence: 1,
      reason: 'time',
      dueAt: at(7 * DAY).toISOString(),
      folded: 0,
    });
    expect(onTime.next).toMatchObject({
      scheduleStep: 2,
      nextDueAt: at(14 * DAY).toISOString(),
      occurrences: 1,
    });
    // Nobody ran the timer for four weeks: one occurrence, the next due date after now.
    const late = decideOccurrence(plan(), 'time', at(29 * DAY));
    expect(late).toMatchObject({ dueAt: at(7 * DAY).toISOString(), folded: 3 });
    expect(late.next.nextDueAt).toBe(at(35 * DAY).toISOString());
  });

  it('restarts both triggers after a usage occurrence: the interval from now, the usage from 0', () => {
    const p = plan({ usage: { metric: 'run_hours', every: 100, kind: 'counter' }, usageSinceLast: 104 });
    expect(dueTrigger(p, at(DAY))).toBe('usage');
    const d = decideOccurrence(p, 'usage', at(3 * DAY));
    expect(d).toMatchObject({ reason: 'usage', dueAt: at(3 * DAY).toISOString(), usage: 104 });
    expect(d.next).toMatchObject({
      usageSinceLast: 0,
      scheduleAnchor: at(3 * DAY).toISOString(),
      nextDueAt: at(10 * DAY).toISOString(),
    });
  });
});

describe('plan definitions', () => {
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return err as ValidationError;
    }
    throw new Error('expected a refusal');
  };

  it('needs a trigger, and a lead time shorter than the interval', () => {
    const none = refusal(() =>
      checkDefinition({ interval: null, usage: null, leadTime: { amount: 0, unit: 'day' } }),
    );
    expect(none).toBeInstanceOf(AppError);
    expect(none).toMatchObject({ code: 'PLAN_TRIGGER_REQUIRED', issues: [{ path: '/body/interval' }] });
    const long = refusal(() =>
      checkDefinition({
        interval: { every: 1, unit: 'month' },
        usage: null,
        leadTime: { amount: 4, unit: 'week' },
      }),
    );
    expect(long).toMatchObject({ code: 'LEAD_TIME_TOO_LONG', issues: [{ path: '/body/leadTime' }] });
    expect(() =>
      checkDefinition({
        interval: { every: 1, unit: 'month' },
        usage: null,
        leadTime: { amount: 27, unit: 'day' },
      }),
    ).not.toThrow();
  });

  it('continues a new interval from the last due date, and changes nothing when nothing changes', () => {
    const after = decideOccurrence(plan(), 'time', at(6 * DAY)).next;
    const fortnightly = changePlan(after, { interval: { every: 2, unit: 'week' } }, at(6 * DAY));
    expect(fortnightly).toMatchObject({ version: 2, scheduleStep: 1, nextDueAt: at(21 * DAY).toISOString() });
    expect(changePlan(after, { title: 'Service' }, at(6 * DAY))).toBe(after);
  });

  it('restarts the schedule and the usage count when reactivated', () => {
    const p = plan({ usage: { metric: 'cycles', every: 10, kind: 'counter' }, usageSinceLast: 7 });
    const off = setActive(p, false, at(DAY));
    const on = setActive(off, true, at(20 * DAY));
    expect(on).toMatchObject({
      active: true,
      version: 3,
      usageSinceLast: 0,
      lastCounterValue: null,
      countedUntil: at(20 * DAY).toISOString(),
      nextDueAt: at(27 * DAY).toISOString(),
    });
  });
});

describe('counter usage', () => {
  const ts = (s: number) => at(s * 1000).toISOString();
  const w = (first: number, last: number, s: number, more: Partial<CounterWindow> = {}): CounterWindow => ({
    first,
    last,
    firstTs: ts(s),
    lastTs: ts(s + 0.5),
    min: Math.min(first, last),
    max: Math.max(first, last),
    ...more,
  });
  const count = (memory: CounterMemory, window: CounterWindow) => countCounterUsage(memory, window);

  it('counts the rise of the counter; the first window sets the baseline', () => {
    expect(count({ lastValue: null, countedUntil: ts(0) }, w(12_000, 12_004, 1))).toEqual({
      counted: true,
      usage: 4,
      lastValue: 12_004,
      countedUntil: ts(1.5),
    });
    expect(count({ lastValue: 12_004, countedUntil: ts(1.5) }, w(12_010, 12_011, 2))).toMatchObject({
      usage: 7,
    });
  });

  it('counts a reset between windows from 0: the new counter’s value', () => {
    expect(count({ lastValue: 1040, countedUntil: ts(1) }, w(5, 20, 2))).toMatchObject({
      usage: 20,
      lastValue: 20,
    });
  });

  it('counts a reset within a window: the rise to the peak before it, then the new counter', () => {
    // 30 → 50, reset, 0 → 10.
    expect(count({ lastValue: 20, countedUntil: ts(1) }, w(30, 10, 2, { min: 0, max: 50 }))).toMatchObject({
      usage: 10 + 20 + 10,
    });
    // 30, reset, 0 → 40: the rise before the reset is unknown and counts 0.
    expect(count({ lastValue: 30, countedUntil: ts(1) }, w(30, 40, 2, { min: 0, max: 40 }))).toMatchObject({
      usage: 40,
    });
  });

  it('ignores late windows and replays, and counts a window straddling the last reading as one step', () => {
    const memory = { lastValue: 100, countedUntil: ts(5.5) };
    expect(count(memory, w(90, 95, 3))).toEqual({ counted: false });
    expect(count(memory, w(98, 100, 5))).toEqual({ counted: false });
    expect(count(memory, { ...w(99, 103, 5), lastTs: ts(6) })).toMatchObject({ usage: 3, lastValue: 103 });
  });
});
