import type {
  LeadTime,
  PlanInterval,
  PlanOccurrenceReason,
  PlanUsage,
  WorkOrderPriority,
} from '@assetops/contracts';
import { type FieldIssue, ValidationError } from '@assetops/platform';
import { addIntervals, leadTimeMs, nextDue, shortestIntervalMs, stepAfter } from './plan.schedule.js';

/** The Maintenance service's state of one preventive plan (without its occurrences). */
export interface PlanState {
  id: string;
  assetId: string;
  title: string;
  description: string | null;
  priority: WorkOrderPriority;
  requiredSkill: string | null;
  interval: PlanInterval | null;
  usage: PlanUsage | null;
  leadTime: LeadTime;
  active: boolean;
  startsAt: string;
  /** Due dates are `scheduleAnchor + k × interval`; `scheduleStep` is k of the next one. */
  scheduleAnchor: string;
  scheduleStep: number;
  /** Derived from the schedule (null without an interval), stored for the timer's index. */
  nextDueAt: string | null;
  opensAt: string | null;
  usageSinceLast: number;
  lastCounterValue: number | null;
  countedUntil: string | null;
  occurrences: number;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** What a plan is: its triggers, whichever comes first. */
export interface PlanDefinition {
  interval: PlanInterval | null;
  usage: PlanUsage | null;
  leadTime: LeadTime;
}

/**
 * Refuses a definition that can never or would always be due: 400 `PLAN_TRIGGER_REQUIRED` without
 * an interval or a usage trigger, 400 `LEAD_TIME_TOO_LONG` when the lead time is not shorter than
 * the interval (each work order would open before the previous due date). `at` is where the
 * fields are in the request (`/body`).
 */
export function checkDefinition(definition: PlanDefinition, at = '/body'): void {
  const issues: (FieldIssue & { code: string })[] = [];
  if (!definition.interval && !definition.usage) {
    issues.push({
      code: 'PLAN_TRIGGER_REQUIRED',
      path: `${at}/interval`,
      message: 'give an interval, a usage trigger, or both (whichever comes first)',
    });
  }
  if (definition.interval && leadTimeMs(definition.leadTime) >= shortestIntervalMs(definition.interval)) {
    issues.push({
      code: 'LEAD_TIME_TOO_LONG',
      path: `${at}/leadTime`,
      message: `must be shorter than the interval (every ${definition.interval.every} ${definition.interval.unit})`,
    });
  }
  const [first] = issues;
  if (first) {
    throw new ValidationError(
      first.code,
      issues.map((i) => `${i.path} ${i.message}`).join('; '),
      issues.map(({ path, message }) => ({ path, message })),
    );
  }
}

/** A plan with `nextDueAt` / `opensAt` recomputed from its schedule. */
export function withSchedule(plan: PlanState): PlanState {
  if (!plan.interval) return { ...plan, nextDueAt: null, opensAt: null };
  const { dueAt, opensAt } = nextDue({
    anchor: new Date(plan.scheduleAnchor),
    step: plan.scheduleStep,
    interval: plan.interval,
    lead: plan.leadTime,
  });
  return { ...plan, nextDueAt: dueAt.toISOString(), opensAt: opensAt.toISOString() };
}

/**
 * What makes a plan due at `now`: its time (the opening time of the next due date passed) or its
 * usage (`usageSinceLast` reached `every`). Both at once count as time: the scheduled date is the
 * better-known of the two.
 */
export function dueTrigger(plan: PlanState, now: Date): PlanOccurrenceReason | null {
  if (!plan.active) return null;
  if (plan.opensAt !== null && Date.parse(plan.opensAt) <= now.getTime()) return 'time';
  if (plan.usage && plan.usageSinceLast >= plan.usage.every) return 'usage';
  return null;
}

/** One occurrence to open, and the plan after it. */
export interface OccurrenceDecision {
  occurrence: number;
  reason: PlanOccurrenceReason;
  /** The scheduled due date (time), or the moment the usage was found reached (usage). */
  dueAt: string;
  /** The usage counted since the previous occurrence (null without a usage trigger). */
  usage: number | null;
  /** Due dates folded into this occurrence because the timer did not run in time for them. */
  folded: number;
  next: PlanState;
}

/**
 * Opens the next occurrence of a due plan. Whichever trigger fired, both restart from the
 * occurrence: the usage counts from 0 again, and the time schedule continues from the occurrence's
 * due date — for time, the next date of the same schedule (`anchor + (k+1) × interval`, so month
 * ends do not drift); for usage, `now + interval` (the schedule is re-anchored at `now`). The work
 * order opened by usage stands for the service the interval would have asked for later.
 */
export function decideOccurrence(
  plan: PlanState,
  reason: PlanOccurrenceReason,
  now: Date,
): OccurrenceDecision {
  const at = now.toISOString();
  let anchor = plan.scheduleAnchor;
  let step = 1;
  let dueAt = at;
  let folded = 0;
  if (reason === 'time' && plan.interval && plan.nextDueAt) {
    dueAt = plan.nextDueAt;
    step = stepAfter(
      { anchor: new Date(anchor), step: plan.scheduleStep, interval: plan.interval, lead: plan.leadTime },
      now,
    );
    folded = step - plan.scheduleStep - 1;
  } else {
    anchor = at;
  }
  const next = withSchedule({
    ...plan,
    scheduleAnchor: anchor,
    scheduleStep: step,
    usageSinceLast: 0,
    occurrences: plan.occurrences + 1,
    updatedAt: at,
  });
  return {
    occurrence: next.occurrences,
    reason,
    dueAt,
    usage: plan.usage ? plan.usageSinceLast : null,
    folded,
    next,
  };
}

/** A change of a plan through the API; `null` removes an optional field or trigger. */
export interface PlanChanges {
  title?: string | undefined;
  description?: string | null | undefined;
  priority?: WorkOrderPriority | undefined;
  requiredSkill?: string | null | undefined;
  interval?: PlanInterval | null | undefined;
  usage?: PlanUsage | null | undefined;
  leadTime?: LeadTime | undefined;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The plan after a change (400 when the result is not a valid definition); the plan itself when
 * nothing changes, so a retried request keeps the version.
 * - A new interval continues from the last due date of the old one (or the schedule's anchor), so
 *   an interval made shorter may make the plan due at once.
 * - A new metric or kind restarts the usage count (from the next window, as for a new plan); a new
 *   `every` keeps the usage counted (the timer opens the occurrence if it is reached already).
 */
export function changePlan(plan: PlanState, changes: PlanChanges, now: Date): PlanState {
  const next: PlanState = {
    ...plan,
    title: changes.title ?? plan.title,
    description: changes.description === undefined ? plan.description : changes.description,
    priority: changes.priority ?? plan.priority,
    requiredSkill: changes.requiredSkill === undefined ? plan.requiredSkill : changes.requiredSkill,
    interval: changes.interval === undefined ? plan.interval : changes.interval,
    usage: changes.usage === undefined ? plan.usage : changes.usage,
    leadTime: changes.leadTime ?? plan.leadTime,
  };
  if (same(next, plan)) return plan;
  checkDefinition(next);
  if (!same(next.interval, plan.interval)) {
    const lastDue =
      plan.interval && plan.scheduleStep > 1
        ? addIntervals(new Date(plan.scheduleAnchor), plan.interval, plan.scheduleStep - 1).toISOString()
        : plan.scheduleAnchor;
    next.scheduleAnchor = lastDue;
    next.scheduleStep = 1;
  }
  if (next.usage?.metric !== plan.usage?.metric || next.usage?.kind !== plan.usage?.kind) {
    Object.assign(next, restartedUsage(next.usage, now));
  }
  return withSchedule({ ...next, version: plan.version + 1, updatedAt: now.toISOString() });
}

/**
 * Deactivates a plan (it opens nothing more), or reactivates one: it then starts afresh at `now`,
 * as a new plan would — an interval from now, usage from the next window — rather than making up at
 * once for the time it was off.
 */
export function setActive(plan: PlanState, active: boolean, now: Date): PlanState {
  if (plan.active === active) return plan;
  const at = now.toISOString();
  const restarted = active ? { scheduleAnchor: at, scheduleStep: 1, ...restartedUsage(plan.usage, now) } : {};
  return withSchedule({ ...plan, ...restarted, active, version: plan.version + 1, updatedAt: at });
}

/** A usage count starting at `now`: windows from before are not counted (see `countCounterUsage`). */
export function restartedUsage(
  usage: PlanUsage | null,
  now: Date,
): Pick<PlanState, 'usageSinceLast' | 'lastCounterValue' | 'countedUntil'> {
  return { usageSinceLast: 0, lastCounterValue: null, countedUntil: usage ? now.toISOString() : null };
}
