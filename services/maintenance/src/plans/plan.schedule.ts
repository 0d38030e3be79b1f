import type { LeadTime, PlanInterval } from '@assetops/contracts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const LEAD_UNIT_MS: Readonly<Record<LeadTime['unit'], number>> = { hour: HOUR, day: DAY, week: 7 * DAY };

/**
 * `from` plus `times` intervals, in UTC. Days and weeks are fixed lengths; months are calendar
 * months, and a day of the month the target month does not have lands on its last day (Jan 31 + 1
 * month = Feb 28). Always computed from the schedule's anchor, never from the previous due date, so
 * the 31st comes back in the months that have one.
 */
export function addIntervals(from: Date, interval: PlanInterval, times: number): Date {
  const count = times * interval.every;
  switch (interval.unit) {
    case 'day':
      return new Date(from.getTime() + count * DAY);
    case 'week':
      return new Date(from.getTime() + count * 7 * DAY);
    case 'month': {
      const year = from.getUTCFullYear();
      const month = from.getUTCMonth() + count;
      // Day 0 of the month after is the last day of `month` (Date.UTC carries months into years).
      const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
      return new Date(
        Date.UTC(
          year,
          month,
          Math.min(from.getUTCDate(), lastDay),
          from.getUTCHours(),
          from.getUTCMinutes(),
          from.getUTCSeconds(),
          from.getUTCMilliseconds(),
        ),
      );
    }
  }
}

export function leadTimeMs(lead: LeadTime): number {
  return lead.amount * LEAD_UNIT_MS[lead.unit];
}

/** The shortest an interval can last (a month has at least 28 days): the lead time must be shorter. */
export function shortestIntervalMs(interval: PlanInterval): number {
  const unit = interval.unit === 'day' ? DAY : interval.unit === 'week' ? 7 * DAY : 28 * DAY;
  return interval.every * unit;
}

/** Where a plan's time schedule stands: due dates are `anchor + k × interval`, `step` is the next k. */
export interface TimeSchedule {
  anchor: Date;
  step: number;
  interval: PlanInterval;
  lead: LeadTime;
}

/** The due date of the schedule's next occurrence, and when its work order opens (lead time before). */
export function nextDue(schedule: TimeSchedule): { dueAt: Date; opensAt: Date } {
  const dueAt = addIntervals(schedule.anchor, schedule.interval, schedule.step);
  return { dueAt, opensAt: new Date(dueAt.getTime() - leadTimeMs(schedule.lead)) };
}

/**
 * The first step after the current one whose work order opens after `now`. Due dates whose opening
 * time also passed (the timer did not run for longer than an interval) are folded into the
 * occurrence being opened rather than each opening a work order for the same overdue job.
 */
export function stepAfter(schedule: TimeSchedule, now: Date): number {
  let step = schedule.step + 1;
  while (nextDue({ ...schedule, step }).opensAt.getTime() <= now.getTime()) step++;
  return step;
}
